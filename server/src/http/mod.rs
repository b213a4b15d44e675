//! Endpoints for machines and the middleware that guards every request.
pub mod errors;
pub mod files;
pub mod guard;
pub mod health;
pub mod ingest;
pub mod live;
pub mod open311;
pub mod openapi;
pub mod opendata;
