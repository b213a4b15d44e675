//! Server functions of Sky Eye. Each resolves the caller and its area here; what the caller's
//! department may see and change is decided in `db::skyeye` on every call.
use crate::error::AppError;
use crate::model::{
    AlertStats, AlertType, ApiKeyRow, CameraFilter, CameraRow, CaseClass, DeptHealth,
    IncidentDetail, IncidentFilter, IncidentRow, NewApiKey, Page, TriageResult,
};
use leptos::prelude::*;

#[server(endpoint = "alerts/list")]
pub async fn list_incidents(filter: IncidentFilter) -> Result<Page<IncidentRow>, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Alerts, "incidents.list").await?;
    crate::db::skyeye::list(&state()?.store, &u, &filter).await
}

#[server(endpoint = "alerts/get")]
pub async fn get_incident(id: i64) -> Result<IncidentDetail, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Alerts, "incidents.get").await?;
    crate::db::skyeye::detail(&state()?.store, &u, id).await
}

#[server(endpoint = "alerts/types")]
pub async fn alert_types() -> Result<Vec<AlertType>, AppError> {
    use crate::auth::{require, state};
    require(crate::domain::Area::Alerts, "incidents.types").await?;
    Ok(crate::db::skyeye::alert_types(&state()?.store).await?)
}

/// Case classes an escalation may open.
#[server(endpoint = "alerts/classes")]
pub async fn escalation_classes() -> Result<Vec<CaseClass>, AppError> {
    use crate::auth::{require, state};
    require(crate::domain::Area::Alerts, "incidents.classes").await?;
    Ok(crate::db::catalogue::list(&state()?.store)
        .await?
        .into_iter()
        .filter(|c| c.active)
        .collect())
}

/// Acknowledges or dismisses a selection of incidents (`ids` separated by commas, at most
/// 200). `step` is "acknowledge" or "dismiss"; a dismissal needs a reason.
#[server(endpoint = "alerts/triage")]
pub async fn triage_incidents(
    ids: String,
    step: String,
    #[server(default)] reason: String,
    #[server(default)] note: String,
) -> Result<TriageResult, AppError> {
    use crate::auth::{actor, require, state};
    use crate::domain::skyeye::{DismissReason, Step};
    use crate::error::FieldErrorKind as K;
    let u = require(crate::domain::Area::Alerts, "incidents.triage").await?;
    let st = state()?;
    let ids: Vec<i64> = ids
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(|_| AppError::field("ids", K::BadNumber))?;
    let step = match Step::from_code(step.trim()) {
        Some(s @ (Step::Acknowledge | Step::Dismiss)) => s,
        _ => return Err(AppError::field("step", K::Required)),
    };
    let reason = match reason.trim() {
        "" => None,
        r => Some(
            DismissReason::from_code(r).ok_or_else(|| AppError::field("reason", K::Required))?,
        ),
    };
    let out = crate::db::skyeye::triage(&st.store, &u, &actor(&u), &ids, step, reason, note.trim())
        .await?;
    if !out.changed.is_empty() {
        st.live.publish(&st.store, "incidents").await;
    }
    Ok(out)
}

/// Escalates an incident to a case; returns the case's id.
#[server(endpoint = "alerts/escalate")]
pub async fn escalate_incident(
    id: i64,
    version: i64,
    #[server(default)] class_id: Option<i64>,
    #[server(default)] description: String,
) -> Result<i64, AppError> {
    use crate::auth::{actor, require, state};
    let u = require(crate::domain::Area::Alerts, "incidents.escalate").await?;
    let st = state()?;
    let (case_id, _) = crate::db::skyeye::escalate(
        &st.store,
        &u,
        &actor(&u),
        id,
        class_id,
        &description,
        version,
    )
    .await?;
    st.live.publish(&st.store, "incidents").await;
    Ok(case_id)
}

#[server(endpoint = "cameras/list")]
pub async fn list_cameras(filter: CameraFilter) -> Result<Page<CameraRow>, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Cameras, "cameras.list").await?;
    crate::db::skyeye::cameras(&state()?.store, &u, &filter).await
}

#[server(endpoint = "cameras/health")]
pub async fn camera_health() -> Result<Vec<DeptHealth>, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Cameras, "cameras.health").await?;
    crate::db::skyeye::health(&state()?.store, &u).await
}

/// Alerts by type and hour and false-positive rates; dates are Shanghai days (default: the
/// last seven days).
#[server(endpoint = "cameras/stats")]
pub async fn get_alert_stats(
    #[server(default)] from: String,
    #[server(default)] to: String,
) -> Result<AlertStats, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Cameras, "cameras.stats").await?;
    crate::db::skyeye::stats(&state()?.store, &u, &from, &to).await
}

#[server(endpoint = "admin/keys")]
pub async fn list_api_keys() -> Result<Vec<ApiKeyRow>, AppError> {
    use crate::auth::{require, state};
    require(crate::domain::Area::AdminKeys, "api_keys.list").await?;
    Ok(crate::db::skyeye::list_keys(&state()?.store).await?)
}

/// Creates an integration key; `scopes` separated by commas (alerts, heartbeats, readings).
#[server(endpoint = "admin/keys/create")]
pub async fn create_api_key(
    name: String,
    source: String,
    department_id: Option<i64>,
    #[server(default)] scopes: String,
) -> Result<NewApiKey, AppError> {
    use crate::auth::{actor, require, state};
    use crate::error::FieldErrorKind as K;
    let u = require(crate::domain::Area::AdminKeys, "api_key.create").await?;
    let department_id =
        department_id.ok_or_else(|| AppError::field("department_id", K::UnknownDepartment))?;
    let scopes: Vec<String> = scopes
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    crate::db::skyeye::create_key(
        &state()?.store,
        Some(u.id),
        &actor(&u),
        &name,
        &source,
        department_id,
        &scopes,
    )
    .await
}

#[server(endpoint = "admin/keys/revoke")]
pub async fn revoke_api_key(id: i64) -> Result<(), AppError> {
    use crate::auth::{actor, require, state};
    let u = require(crate::domain::Area::AdminKeys, "api_key.revoke").await?;
    crate::db::skyeye::revoke_key(&state()?.store, u.id, &actor(&u), id).await
}
