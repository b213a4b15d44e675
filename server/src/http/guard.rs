//! Refuses state-changing requests that come from another origin (CSRF), on top of the
//! SameSite session cookie.
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// True when a request with this method, `Origin`, `Sec-Fetch-Site` and `Host` may change state.
pub fn same_origin(
    method: &Method,
    origin: Option<&str>,
    fetch_site: Option<&str>,
    host: Option<&str>,
) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    if let Some(site) = fetch_site {
        if site != "same-origin" && site != "none" {
            return false;
        }
    }
    match (origin, host) {
        // Browsers send Origin on every cross-origin POST; "null" comes from sandboxed frames.
        (Some("null"), _) => false,
        (Some(o), Some(h)) => {
            let hostpart = o.split_once("://").map(|(_, rest)| rest).unwrap_or(o);
            hostpart.eq_ignore_ascii_case(h)
        }
        (Some(_), None) => false,
        // No Origin: not a browser form or fetch from another site (curl, machine clients).
        (None, _) => true,
    }
}

/// Paths whose writes are authenticated by a key in the request, never by the session
/// cookie, so any origin may send them: the Open311 API (browser-based Open311 clients).
pub fn exempt(path: &str) -> bool {
    path.starts_with("/open311/")
}

pub async fn origin_check(req: Request, next: Next) -> Response {
    let h = req.headers();
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok());
    let ok = exempt(req.uri().path())
        || same_origin(
            req.method(),
            get("origin"),
            get("sec-fetch-site"),
            get(header::HOST.as_str()),
        );
    if ok {
        return next.run(req).await;
    }
    tracing::warn!(method = %req.method(), path = %req.uri().path(), "cross-origin write refused");
    let body = serde_json::to_string(&app::error::AppError::CrossOrigin).unwrap_or_default();
    let mut res = (StatusCode::FORBIDDEN, Body::from(body)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_need_the_same_origin() {
        let post = Method::POST;
        assert!(same_origin(
            &Method::GET,
            Some("https://evil.example"),
            Some("cross-site"),
            Some("a")
        ));
        assert!(same_origin(
            &post,
            Some("http://127.0.0.1:3000"),
            Some("same-origin"),
            Some("127.0.0.1:3000")
        ));
        assert!(!same_origin(
            &post,
            Some("http://evil.example"),
            None,
            Some("127.0.0.1:3000")
        ));
        assert!(!same_origin(
            &post,
            None,
            Some("cross-site"),
            Some("127.0.0.1:3000")
        ));
        assert!(!same_origin(
            &post,
            None,
            Some("same-site"),
            Some("127.0.0.1:3000")
        ));
        assert!(!same_origin(
            &post,
            Some("null"),
            None,
            Some("127.0.0.1:3000")
        ));
        assert!(same_origin(&post, None, None, Some("127.0.0.1:3000")));
    }

    #[test]
    fn only_open311_is_exempt() {
        assert!(exempt("/open311/v2/requests.json"));
        assert!(exempt("/open311/discovery.xml"));
        for p in [
            "/api/cases/step",
            "/open311",
            "/api/v1/alerts",
            "/x/open311/v2/requests.json",
        ] {
            assert!(!exempt(p), "{p}");
        }
    }
}
