//! Content-Security-Policy for rendered pages, with a fresh nonce per response.
//!
//! The nonce is made by [`csp_middleware`] before the app renders, handed to Leptos as its
//! [`Nonce`](leptos::nonce::Nonce) (so its inline hydration scripts carry it), and written into
//! the response's CSP header by the same middleware: one value, no dependence on render order.
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use http::{header, HeaderValue};
use rand::RngCore;

/// The nonce of the request being served.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

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

fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Gives every request a nonce and every HTML response the page policy with that nonce.
pub async fn csp_middleware(mut req: Request, next: Next) -> Response {
    let nonce = new_nonce();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        if let Ok(v) = HeaderValue::from_str(&csp(&nonce)) {
            res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    res
}

/// Called in the render context: makes the request's nonce the one Leptos puts on its scripts.
pub fn provide_request_nonce() {
    use leptos::prelude::{provide_context, use_context};
    if let Some(n) =
        use_context::<http::request::Parts>().and_then(|p| p.extensions.get::<CspNonce>().cloned())
    {
        provide_context(leptos::nonce::Nonce::from_value(n.0));
    }
}
