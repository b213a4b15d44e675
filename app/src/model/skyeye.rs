//! Records of Sky Eye exchanged between server functions and views.
use crate::domain::skyeye::{DismissReason, Severity, Triage};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertType {
    pub id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub severity: Severity,
    /// The case class an escalation opens (none for camera-health types).
    pub class_id: Option<i64>,
    pub class_code: Option<String>,
    pub health: bool,
    /// Departments besides the owner that read incidents of this type.
    pub granted: Vec<String>,
}

/// Filters of the incident list, all optional. Dates are Shanghai days, YYYY-MM-DD.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IncidentFilter {
    /// "", "open" (new or acknowledged), or one triage state.
    pub state: String,
    pub severity: String,
    pub type_id: Option<i64>,
    pub district: String,
    /// Camera code.
    pub camera: String,
    pub from: String,
    pub to: String,
    pub page: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRow {
    pub id: i64,
    pub state: Triage,
    pub severity: Severity,
    pub type_code: String,
    pub type_zh: String,
    pub type_en: String,
    pub camera_code: String,
    pub camera_name: String,
    pub district_zh: String,
    pub district_en: String,
    pub alert_count: i64,
    pub first_seen: String,
    pub last_seen: String,
    pub max_confidence: Option<f64>,
    /// Latest alert with a snapshot: its image is at `/snapshots/{id}`.
    pub snapshot_alert_id: Option<i64>,
    pub case_id: Option<i64>,
    /// The caller has opened this incident.
    pub reviewed: bool,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertItem {
    pub id: i64,
    pub external_id: String,
    pub at: String,
    pub confidence: Option<f64>,
    pub has_snapshot: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageEvent {
    pub at: String,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub actor: String,
    pub reason: Option<String>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentDetail {
    pub row: IncidentRow,
    pub health: bool,
    pub camera_status: String,
    pub grid_code: String,
    pub street_zh: String,
    pub street_en: String,
    pub lon: f64,
    pub lat: f64,
    pub owner_zh: String,
    pub owner_en: String,
    pub dismiss_reason: Option<DismissReason>,
    pub case_code: Option<String>,
    /// The class an escalation opens, from the alert type.
    pub class_id: Option<i64>,
    /// The latest alerts (at most 50) and how many there are.
    pub alerts: Vec<AlertItem>,
    pub timeline: Vec<TriageEvent>,
    /// The caller may acknowledge, dismiss and escalate it.
    pub may_triage: bool,
}

/// What a bulk triage did: incidents changed, and those skipped (not visible, not allowed,
/// or in a state the step does not apply to).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageResult {
    pub changed: Vec<i64>,
    pub skipped: Vec<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CameraFilter {
    /// "", online, offline or tampered
    pub status: String,
    pub district: String,
    pub department_id: Option<i64>,
    pub q: String,
    pub page: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CameraRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub status: String,
    pub status_since: String,
    pub last_heartbeat: Option<String>,
    pub district_zh: String,
    pub district_en: String,
    pub grid_code: String,
    pub department_zh: String,
    pub department_en: String,
    pub open_incidents: i64,
}

/// Cameras per owning department and status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeptHealth {
    pub department_id: i64,
    pub department_zh: String,
    pub department_en: String,
    pub online: i64,
    pub offline: i64,
    pub tampered: i64,
}

/// Incidents of one type (or camera) and how triage ended them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageRate {
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
    pub incidents: i64,
    pub alerts: i64,
    pub false_positive: i64,
    pub escalated: i64,
    /// Incidents triaged (no longer new): acknowledged, dismissed, escalated or resolved.
    pub decided: i64,
    /// false positives / decided, once any were decided.
    pub fp_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertStats {
    pub from: String,
    pub to: String,
    /// Alert types in the order of `by_hour` rows.
    pub types: Vec<(String, String, String)>,
    /// Alerts per type (rows, as `types`) and Shanghai hour of day (24 columns).
    pub by_hour: Vec<Vec<i64>>,
    pub by_type: Vec<TriageRate>,
    /// Cameras with the most decided incidents, worst false-positive rate first.
    pub by_camera: Vec<TriageRate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub source: String,
    pub department_zh: String,
    pub department_en: String,
    pub scopes: String,
    pub prefix: String,
    pub created_at: String,
    pub last_used: Option<String>,
    pub revoked_at: Option<String>,
}

/// A key just created: the secret is shown this once and never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub id: i64,
    pub secret: String,
}
