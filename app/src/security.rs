//! The Content-Security-Policy of rendered pages, bound to the per-response nonce that
//! Leptos puts on its own inline scripts.
use leptos::prelude::*;

pub fn csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; img-src 'self' data: blob:; font-src 'self'; \
         connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// The policy for everything that is not a rendered page (JSON, files): nothing may run.
pub const CSP_NON_DOCUMENT: &str = "default-src 'none'; frame-ancestors 'none'";

/// Called while rendering the document: sends the CSP with this response's nonce.
pub fn set_document_headers() {
    let Some(res) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    let nonce = leptos::nonce::use_nonce()
        .map(|n| n.to_string())
        .unwrap_or_default();
    if let Ok(v) = http::HeaderValue::from_str(&csp(&nonce)) {
        res.insert_header(http::header::CONTENT_SECURITY_POLICY, v);
    }
}
