//! One module per screen.
pub mod account;
pub mod admin;
pub mod cases;
pub mod catalogue;
pub mod data;
pub mod energy;
pub mod home;
pub mod login;
pub mod not_found;
pub mod overview;
pub mod public;
pub mod skyeye;
