//! Identity on the server: password hashes, the session cookie, and the checks every
//! server function makes before it touches data.
use crate::db::{self, audit::Actor, sessions};
use crate::domain::Area;
use crate::error::{AppError, AppResult};
use crate::model::CurrentUser;
use crate::state::AppState;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{header, HeaderMap, HeaderValue};

pub const COOKIE: &str = "citylink_session";

/// Argon2id with the crate's recommended parameters, off the async threads.
pub async fn hash_password(pw: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(pw.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|_| AppError::Internal)?
    .map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        AppError::Internal
    })
}

pub async fn verify_password(pw: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| Argon2::default().verify_password(pw.as_bytes(), &h).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password, verified against when the username is unknown so that the
/// answer takes as long as for a real account.
pub static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(sessions::new_token().as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Facts about the request, put into its extensions by [`session_middleware`].
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub user_agent: Option<String>,
}

/// The signed-in caller, if any, with the raw session token.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub user: Option<CurrentUser>,
    pub token: Option<String>,
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub fn session_cookie(token: &str, max_age_s: i64, secure: bool) -> String {
    format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_cookie(secure: bool) -> String {
    session_cookie("", 0, secure)
}

/// The client's address: the peer, or behind trusted proxies the right-most address of
/// `X-Forwarded-For` that is not a trusted proxy (the ones left of it are the client's own
/// say and may be forged). IPv4 addresses mapped into IPv6 are given as IPv4.
pub fn client_ip(
    peer: Option<std::net::IpAddr>,
    forwarded: &str,
    trusted: &[ipnet::IpNet],
) -> Option<std::net::IpAddr> {
    let peer = peer?.to_canonical();
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut client = peer;
    for hop in forwarded.rsplit(',') {
        let Ok(ip) = hop.trim().parse::<std::net::IpAddr>() else {
            // A hop that is not an address: stop at the last good one.
            break;
        };
        client = ip.to_canonical();
        if !is_trusted(&client) {
            break;
        }
    }
    Some(client)
}

/// Resolves the session cookie into a [`Caller`] for every request. An expired, idle or
/// revoked session is deleted and its cookie cleared.
pub async fn session_middleware(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let meta = RequestMeta {
        ip: client_ip(peer, &forwarded, &state.config.trusted_proxies).map(|ip| ip.to_string()),
        request_id: req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    let token = cookie_value(req.headers(), COOKIE).filter(|t| !t.is_empty());
    let mut caller = Caller::default();
    let mut clear = false;
    if let Some(t) = token {
        match sessions::resolve(&state.store, &t, state.config.session_idle_ms).await {
            Ok(Some(u)) => {
                caller.user = Some(u);
                caller.token = Some(t);
            }
            Ok(None) => clear = true,
            Err(e) => tracing::error!(error = %e, "resolving session"),
        }
    }
    req.extensions_mut().insert(meta);
    req.extensions_mut().insert(caller);
    let mut res = next.run(req).await;
    if clear && !res.headers().contains_key(header::SET_COOKIE) {
        if let Ok(v) = HeaderValue::from_str(&clear_cookie(state.config.secure_cookies)) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

/// The request parts of the server function or page being served.
fn parts() -> AppResult<http::request::Parts> {
    leptos::prelude::use_context::<http::request::Parts>().ok_or(AppError::Internal)
}

pub fn state() -> AppResult<AppState> {
    leptos::prelude::use_context::<AppState>().ok_or(AppError::Internal)
}

pub fn caller() -> AppResult<Caller> {
    Ok(parts()?
        .extensions
        .get::<Caller>()
        .cloned()
        .unwrap_or_default())
}

pub fn meta() -> RequestMeta {
    parts()
        .ok()
        .and_then(|p| p.extensions.get::<RequestMeta>().cloned())
        .unwrap_or_default()
}

/// The signed-in user, or `Unauthenticated`.
pub fn user() -> AppResult<CurrentUser> {
    caller()?.user.ok_or(AppError::Unauthenticated)
}

/// The signed-in user if their role may open `area`. A refusal is audited.
pub async fn require(area: Area, action: &str) -> AppResult<CurrentUser> {
    let u = user()?;
    if u.role.may_open(area) {
        return Ok(u);
    }
    let st = state()?;
    db::audit::record_alone(
        &st.store,
        &actor(&u),
        db::audit::Event {
            action,
            target_type: "area",
            target_id: Some(format!("{area:?}")),
            outcome: db::audit::DENIED,
            detail: format!("role {} may not open {area:?}", u.role.code()),
        },
    )
    .await?;
    Err(AppError::Forbidden)
}

pub fn actor(u: &CurrentUser) -> Actor {
    let m = meta();
    Actor {
        user_id: Some(u.id),
        username: Some(u.username.clone()),
        ip: m.ip,
        request_id: m.request_id,
    }
}

/// An actor known only by the name typed at sign-in (kept to 64 characters).
pub fn anonymous_actor(username: Option<&str>) -> Actor {
    let m = meta();
    Actor {
        user_id: None,
        username: username.map(|u| u.chars().take(64).collect()),
        ip: m.ip,
        request_id: m.request_id,
    }
}

pub use crate::domain::validate::safe_next;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_address_behind_trusted_proxies() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // No proxy trusted: the peer, whatever the header says.
        assert_eq!(
            client_ip(Some(ip("203.0.113.9")), "1.2.3.4", &[]),
            Some(ip("203.0.113.9"))
        );
        // A peer that is not a trusted proxy: its header is ignored.
        assert_eq!(
            client_ip(Some(ip("203.0.113.9")), "1.2.3.4", &trusted),
            Some(ip("203.0.113.9"))
        );
        // Behind the balancer: the right-most untrusted hop, not what the client prepended.
        assert_eq!(
            client_ip(
                Some(ip("10.0.0.2")),
                "6.6.6.6, 198.51.100.7, 10.0.0.5",
                &trusted
            ),
            Some(ip("198.51.100.7"))
        );
        // Only trusted hops (or none): the left-most one seen.
        assert_eq!(
            client_ip(Some(ip("10.0.0.2")), "", &trusted),
            Some(ip("10.0.0.2"))
        );
        // Garbage stops the walk at the last address read.
        assert_eq!(
            client_ip(Some(ip("10.0.0.2")), "nonsense, 198.51.100.7", &trusted),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            client_ip(Some(ip("10.0.0.2")), "198.51.100.7, nonsense", &trusted),
            Some(ip("10.0.0.2"))
        );
        // IPv4 mapped into IPv6 reads as IPv4.
        assert_eq!(
            client_ip(Some(ip("::ffff:203.0.113.9")), "", &[]),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(client_ip(None, "1.2.3.4", &trusted), None);
    }

    #[test]
    fn cookies() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; citylink_session=tok; b=2"),
        );
        assert_eq!(cookie_value(&h, COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie_value(&h, "c"), None);
        let c = session_cookie("t", 60, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.ends_with("; Secure"));
    }

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let h = hash_password("Demo@2026!".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("Demo@2026!".into(), h.clone()).await);
        assert!(!verify_password("demo@2026!".into(), h).await);
        assert!(!verify_password("x".into(), "not a hash".into()).await);
    }
}
