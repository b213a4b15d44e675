//! `GET /live`: server-sent events telling open pages that incidents or cameras changed, and
//! `GET /snapshots/{alert_id}`: a Sky Eye snapshot for a caller who may see its incident.
use app::auth::Caller;
use app::domain::Area;
use app::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

pub async fn events(State(st): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    match &caller.user {
        None => return StatusCode::UNAUTHORIZED.into_response(),
        Some(u)
            if !u.role.may_open(Area::Alerts)
                && !u.role.may_open(Area::Cameras)
                && !u.role.may_open(Area::Overview) =>
        {
            return StatusCode::FORBIDDEN.into_response()
        }
        Some(_) => {}
    }
    let rx = st.live.subscribe();
    let stop = st.live.stopping();
    let stream = futures_util::stream::unfold((rx, stop), |(mut rx, mut stop)| async move {
        if *stop.borrow() {
            return None;
        }
        let ev = tokio::select! {
            _ = stop.wait_for(|v| *v) => return None,
            m = rx.recv() => match m {
                Ok(payload) => Event::default().event("change").data(payload),
                // Missed notices: tell the page to reload everything.
                Err(RecvError::Lagged(_)) => Event::default().event("change").data("{\"kind\":\"all\"}"),
                Err(RecvError::Closed) => return None,
            }
        };
        Some((Ok::<_, Infallible>(ev), (rx, stop)))
    });
    let mut res = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Tell proxies such as nginx not to buffer the stream.
    res.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

pub async fn snapshot(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(meta): Extension<app::auth::RequestMeta>,
    Path(id): Path<i64>,
) -> Response {
    let u = match &caller.user {
        None => return StatusCode::UNAUTHORIZED.into_response(),
        Some(u) if !u.role.may_open(Area::Alerts) => return StatusCode::FORBIDDEN.into_response(),
        Some(u) => u.clone(),
    };
    let actor = app::db::audit::Actor {
        user_id: Some(u.id),
        username: Some(u.username.clone()),
        ip: meta.ip,
        request_id: meta.request_id,
    };
    match app::db::skyeye::snapshot(&st.store, &u, &actor, id).await {
        Ok(Some((mime, bytes))) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_str(&mime)
                        .unwrap_or(HeaderValue::from_static("application/octet-stream")),
                ),
                // Not cached: every view by another department must reach the audit log.
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-store"),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
