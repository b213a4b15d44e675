//! Plain types and pure rules shared by the server and the browser.
//! Nothing here touches the database or the network, so everything is unit-tested directly.
pub mod roles;
pub mod validate;

pub use roles::{Area, Role};
