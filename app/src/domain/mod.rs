//! Plain types and pure rules shared by the server and the browser.
//! Nothing here touches the database or the network, so everything is unit-tested directly.
pub mod assessment;
#[cfg(feature = "ssr")]
pub mod calendar;
pub mod citizen;
pub mod energy;
pub mod energy_rules;
pub mod evaluation;
pub mod grid;
pub mod roles;
pub mod skyeye;
pub mod validate;
pub mod workflow;

pub use roles::{Area, Role};
