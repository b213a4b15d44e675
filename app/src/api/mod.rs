//! Server functions: the one way people's browsers reach data. Each is thin: it resolves
//! the caller on the server, checks role and department, then calls `db`.
pub mod account;
pub mod admin;
pub mod auth;
pub mod cases;
pub mod citizen;
pub mod datasets;
pub mod energy;
pub mod energy_targets;
pub mod energy_upload;
pub mod evaluation;
pub mod overview;
pub mod skyeye;
