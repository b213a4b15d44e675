//! Administration: users, departments and the audit log.
pub mod audit;
pub mod departments;
pub mod users;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// A query parameter from the URL, or empty.
pub fn qp(name: &'static str) -> impl Fn() -> String + Copy {
    let q = use_query_map();
    move || q.read().get(name).unwrap_or_default()
}

/// Encodes pairs as `a=1&b=2`, skipping empty values.
pub fn query_string(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", crate::components::layout::urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}
