use app::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

/// `GET /healthz`: 200 with the database kind when the database answers, 503 when not.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let ok = state.store.ping().await;
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(json!({
            "status": if ok { "ok" } else { "unavailable" },
            "database": { "kind": state.store.kind, "status": if ok { "up" } else { "down" } },
            "version": env!("CARGO_PKG_VERSION"),
        })),
    )
}
