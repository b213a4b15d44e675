//! Machine API of Sky Eye: `POST /api/v1/alerts` and `POST /api/v1/cameras/heartbeat`.
//!
//! Authentication: `Authorization: Bearer <key>` with a key an administrator created
//! (stored hashed, scoped to a department and to `alerts` / `heartbeats`, revocable).
//!
//! Body: `{"alerts": [...]}` or `{"heartbeats": [...]}`, 1 to 1,000 items.
//!
//! Statuses:
//! - 200: at least one item was stored or was already stored; `results` says what happened
//!   to each item (created, duplicate, rejected with its errors). Items are independent:
//!   refused items never stop valid ones, and a retry of the same batch stores nothing twice.
//! - 422: no item could be accepted; nothing was stored.
//! - 400: the body is not JSON or has no item array; 413: more than 1,000 items or a body
//!   over the limit; 401: key missing, unknown or revoked; 403: the key lacks the scope;
//!   429: too many requests for this key (see `Retry-After`).
//!
//! The response is sent only after the batch's transaction has committed.
use crate::http::openapi::{
    AlertBatch, AlertBatchResult, BatchRefusals, HeartbeatBatch, HeartbeatBatchResult,
    ReadingBatch, ReadingBatchResult,
};
use app::db::energy_ingest::{self, ReadingStatus};
use app::db::ingest::{self, BeatStatus, ItemStatus};
use app::db::skyeye::{check_key, ApiKey, KeyCheck};
use app::domain::energy::Outcome;
use app::i18n::Locale;
use app::machine::{locale, message};
use app::state::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::{json, Value};
use std::num::NonZeroU32;
use std::sync::Arc;

/// Paths of the endpoints (their `#[utoipa::path]` annotations register them: see `openapi.rs`).
pub const ALERTS_PATH: &str = "/api/v1/alerts";
pub const HEARTBEATS_PATH: &str = "/api/v1/cameras/heartbeat";
pub const READINGS_PATH: &str = "/api/v1/readings";

/// Largest alert batch body (snapshots included).
pub const ALERTS_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Requests per second per key, with bursts of twice as many.
#[derive(Clone)]
pub struct Limiter(pub Arc<DefaultKeyedRateLimiter<i64>>);

impl Limiter {
    pub fn new(per_second: u32) -> Limiter {
        let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(per_second.max(1).saturating_mul(2)).unwrap_or(rate);
        Limiter(Arc::new(RateLimiter::keyed(
            Quota::per_second(rate).allow_burst(burst),
        )))
    }
}

fn error(l: Locale, status: StatusCode, code: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": code, "message": message(l, code) })),
    )
        .into_response()
}

/// Resolves the key and checks scope and rate; the response to send otherwise.
async fn authorise(
    st: &AppState,
    limiter: &Limiter,
    headers: &HeaderMap,
    scope: &str,
    l: Locale,
) -> Result<ApiKey, Response> {
    let Some(secret) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme name is case-insensitive (RFC 9110 §11.1).
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, secret)| secret.trim())
        .filter(|s| !s.is_empty())
    else {
        return Err(unauthorised(l, "missing_key"));
    };
    let key = match check_key(&st.store, secret).await {
        Ok(KeyCheck::Valid(k)) => k,
        Ok(KeyCheck::Revoked) => return Err(unauthorised(l, "revoked_key")),
        Ok(KeyCheck::Unknown) => return Err(unauthorised(l, "unknown_key")),
        Err(e) => {
            tracing::error!(error = %e, "key lookup failed");
            return Err(error(l, StatusCode::SERVICE_UNAVAILABLE, "internal"));
        }
    };
    if !key.allows(scope) {
        return Err(error(l, StatusCode::FORBIDDEN, "scope_missing"));
    }
    if let Err(not_until) = limiter.0.check_key(&key.id) {
        use governor::clock::{Clock, DefaultClock};
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let mut r = error(l, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        r.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(wait.as_secs().max(1)),
        );
        return Err(r);
    }
    Ok(key)
}

/// 413 for a body whose declared length is over the limit, in the API's error format.
pub fn too_large(headers: &HeaderMap) -> Response {
    let l = locale(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    error(l, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
}

fn unauthorised(l: Locale, code: &str) -> Response {
    let mut r = error(l, StatusCode::UNAUTHORIZED, code);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"citylink\""),
    );
    r
}

/// Reads the body as `{field: [items]}` with 1 to 1,000 items.
async fn read_items(
    body: Body,
    limit: usize,
    field: &str,
    l: Locale,
) -> Result<Vec<Value>, Response> {
    read_batch(body, limit, field, ingest::MAX_BATCH, "batch_too_large", l).await
}

/// Reads the body as `{field: [items]}` with 1 to `max` items.
async fn read_batch(
    body: Body,
    limit: usize,
    field: &str,
    max: usize,
    too_many: &str,
    l: Locale,
) -> Result<Vec<Value>, Response> {
    let bytes = match to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return Err(error(l, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")),
    };
    let v: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return Err(error(l, StatusCode::BAD_REQUEST, "malformed_json")),
    };
    let Some(Value::Array(items)) = v.get(field).cloned() else {
        return Err(error(l, StatusCode::BAD_REQUEST, "missing_items"));
    };
    if items.is_empty() {
        return Err(error(l, StatusCode::BAD_REQUEST, "empty_batch"));
    }
    if items.len() > max {
        return Err(error(l, StatusCode::PAYLOAD_TOO_LARGE, too_many));
    }
    Ok(items)
}

fn item_errors(l: Locale, errs: &[ingest::ItemError]) -> Value {
    Value::Array(
        errs.iter()
            .map(|e| json!({ "field": e.field, "code": e.code, "message": message(l, e.code) }))
            .collect(),
    )
}

#[utoipa::path(
    post,
    path = ALERTS_PATH,
    tag = "skyeye",
    summary = "Push a batch of camera alerts",
    description = "1 to 1,000 alerts, body at most 16 MiB (snapshots included); scope `alerts`. \
        Each alert is `created`, `duplicate` (stored before under the key's source and \
        `external_id`, or repeated in the batch; with the alert and incident it repeats) or \
        `rejected` with its errors. Alerts of one type on one camera fold into an open \
        incident. The answer is sent after the batch's transaction committed: a sender that \
        got none sends the batch again.",
    request_body = AlertBatch,
    responses(
        (status = 200, description = "At least one alert was stored or already stored.", body = AlertBatchResult),
        (status = 422, description = "No alert could be accepted; nothing was stored (`error`: `none_accepted`).", body = AlertBatchResult),
        BatchRefusals,
    ),
    security(("api_key" = [])),
)]
pub async fn post_alerts(
    State(st): State<AppState>,
    Extension(limiter): Extension<Limiter>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let l = locale(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let key = match authorise(&st, &limiter, &headers, "alerts", l).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let items = match read_items(body, ALERTS_BODY_LIMIT, "alerts", l).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let now = app::db::now_ms();
    let out = match ingest::alerts(&st.store, &key, &items, st.config.alert_window_ms, now).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, source = %key.source, "alert batch failed");
            return error(l, StatusCode::SERVICE_UNAVAILABLE, "internal");
        }
    };
    if !out.incidents.is_empty() {
        st.live.publish(&st.store, "incidents").await;
    }
    let created = out.count(|s| matches!(s, ItemStatus::Created { .. }));
    let duplicates = out.count(|s| matches!(s, ItemStatus::Duplicate { .. }));
    let rejected = out.count(|s| matches!(s, ItemStatus::Rejected(_)));
    let results: Vec<Value> = out
        .items
        .iter()
        .enumerate()
        .map(|(i, (ext, s))| match s {
            ItemStatus::Created {
                alert_id,
                incident_id,
            } => json!({"index": i, "external_id": ext, "status": "created", "alert_id": alert_id, "incident_id": incident_id}),
            ItemStatus::Duplicate {
                alert_id,
                incident_id,
            } => json!({"index": i, "external_id": ext, "status": "duplicate", "alert_id": alert_id, "incident_id": incident_id}),
            ItemStatus::Rejected(errs) => json!({"index": i, "external_id": ext, "status": "rejected", "errors": item_errors(l, errs)}),
        })
        .collect();
    let status = if created + duplicates == 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut body = json!({
        "accepted": created,
        "duplicates": duplicates,
        "rejected": rejected,
        "results": results,
    });
    if status != StatusCode::OK {
        body["error"] = json!("none_accepted");
        body["message"] = json!(message(l, "none_accepted"));
    }
    (status, axum::Json(body)).into_response()
}

#[utoipa::path(
    post,
    path = HEARTBEATS_PATH,
    tag = "skyeye",
    summary = "Report camera heartbeats",
    description = "1 to 1,000 heartbeats, body at most 1 MiB; scope `heartbeats`. A camera \
        silent for longer than the offline limit is marked offline and a health incident \
        opened for its department; a later heartbeat resolves it. An unknown camera with \
        `name`, `lon` and `lat` inside the grids is registered to the key's department.",
    request_body = HeartbeatBatch,
    responses(
        (status = 200, description = "At least one heartbeat was recorded.", body = HeartbeatBatchResult),
        (status = 422, description = "No heartbeat could be recorded (`error`: `none_accepted`).", body = HeartbeatBatchResult),
        BatchRefusals,
    ),
    security(("api_key" = [])),
)]
pub async fn post_heartbeats(
    State(st): State<AppState>,
    Extension(limiter): Extension<Limiter>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let l = locale(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let key = match authorise(&st, &limiter, &headers, "heartbeats", l).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let items = match read_items(body, crate::startup::BODY_LIMIT, "heartbeats", l).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let out = match ingest::heartbeats(&st.store, &key, &items, app::db::now_ms()).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, source = %key.source, "heartbeat batch failed");
            return error(l, StatusCode::SERVICE_UNAVAILABLE, "internal");
        }
    };
    if !out.incidents.is_empty() {
        st.live.publish(&st.store, "incidents").await;
    }
    st.live.publish(&st.store, "cameras").await;
    let ok = out
        .items
        .iter()
        .filter(|(_, s)| !matches!(s, BeatStatus::Rejected(_)))
        .count();
    let results: Vec<Value> = out
        .items
        .iter()
        .enumerate()
        .map(|(i, (cam, s))| match s {
            BeatStatus::Ok => json!({"index": i, "camera": cam, "status": "ok"}),
            BeatStatus::Registered => json!({"index": i, "camera": cam, "status": "registered"}),
            BeatStatus::Rejected(errs) => json!({"index": i, "camera": cam, "status": "rejected", "errors": item_errors(l, errs)}),
        })
        .collect();
    let status = if ok == 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut body = json!({
        "accepted": ok,
        "rejected": out.items.len() - ok,
        "results": results,
    });
    if ok == 0 {
        body["error"] = json!("none_accepted");
        body["message"] = json!(message(l, "none_accepted"));
    }
    (status, axum::Json(body)).into_response()
}

/// Largest readings batch body (10,000 readings at about 100 bytes each, with room).
pub const READINGS_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// `POST /api/v1/readings`: `{"readings": [{"meter": code, "at": time, "value": number}]}`,
/// 1 to 10,000 items, scope `readings`. Each item is `created`, `unchanged` (sent before
/// with the same value), `corrected` (sent before with another value: replaced, the old
/// value kept in the corrections log) or `rejected` with its errors. 200 when anything was
/// stored or already stored, 422 when nothing could be; other statuses as for alerts.
#[utoipa::path(
    post,
    path = READINGS_PATH,
    tag = "energy",
    summary = "Push a batch of meter readings",
    description = "1 to 10,000 readings, body at most 4 MiB; scope `readings`. The key's \
        department must own the meter's entity unless it owns the energy data. Each reading \
        is `created`, `unchanged`, `corrected` or rejected; only rejected ones are listed.",
    request_body = ReadingBatch,
    responses(
        (status = 200, description = "At least one reading was stored or already stored.", body = ReadingBatchResult),
        (status = 422, description = "No reading could be accepted (`error`: `none_accepted`).", body = ReadingBatchResult),
        BatchRefusals,
    ),
    security(("api_key" = [])),
)]
pub async fn post_readings(
    State(st): State<AppState>,
    Extension(limiter): Extension<Limiter>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let l = locale(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let key = match authorise(&st, &limiter, &headers, "readings", l).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let items = match read_batch(
        body,
        READINGS_BODY_LIMIT,
        "readings",
        energy_ingest::MAX_READINGS,
        "readings_batch_too_large",
        l,
    )
    .await
    {
        Ok(i) => i,
        Err(r) => return r,
    };
    let out = match energy_ingest::api_readings(&st.store, &key, &items, app::db::now_ms()).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, source = %key.source, "readings batch failed");
            return error(l, StatusCode::SERVICE_UNAVAILABLE, "internal");
        }
    };
    let count = |f: &dyn Fn(&ReadingStatus) -> bool| out.iter().filter(|s| f(s)).count();
    let created = count(&|s| matches!(s, ReadingStatus::Stored(Outcome::Created)));
    let unchanged = count(&|s| matches!(s, ReadingStatus::Stored(Outcome::Unchanged)));
    let corrected = count(&|s| matches!(s, ReadingStatus::Stored(Outcome::Corrected { .. })));
    let rejected = out.len() - created - unchanged - corrected;
    if created + corrected > 0 {
        st.live.publish(&st.store, "energy").await;
    }
    // Only refused items are listed one by one: a 10,000-reading answer stays small.
    let errors: Vec<Value> = out
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            ReadingStatus::Rejected(errs) => Some(json!({
                "index": i,
                "meter": items[i].get("meter"),
                "at": items[i].get("at"),
                "errors": item_errors(l, errs),
            })),
            ReadingStatus::Stored(_) => None,
        })
        .collect();
    let status = if rejected == out.len() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut body = json!({
        "created": created,
        "unchanged": unchanged,
        "corrected": corrected,
        "rejected": rejected,
        "errors": errors,
    });
    if status != StatusCode::OK {
        body["error"] = json!("none_accepted");
        body["message"] = json!(message(l, "none_accepted"));
    }
    (status, axum::Json(body)).into_response()
}
