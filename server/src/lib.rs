//! The CityLink HTTP server: the Leptos app, its server functions and the plain endpoints
//! for machines, behind one stack of security, tracing and compression layers.
pub mod bench;
pub mod http;
pub mod simulate;
pub mod startup;

pub use startup::{build_state, router};
