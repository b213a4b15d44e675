//! Records of the case workflow exchanged between server functions and views.
use crate::domain::evaluation::{Counts, Indicators, ScoringRule};
use crate::domain::workflow::{Action, State};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridInfo {
    pub id: i64,
    pub code: String,
    pub district_code: String,
    pub district_zh: String,
    pub district_en: String,
    pub street_zh: String,
    pub street_en: String,
}

/// A map cell with its open and overdue case counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridCell {
    pub code: String,
    pub district_code: String,
    pub district_zh: String,
    pub district_en: String,
    pub street_zh: String,
    pub street_en: String,
    pub col: i64,
    pub row: i64,
    pub open: i64,
    pub overdue: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseMajor {
    pub kind: String,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

/// A minor class of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseClass {
    pub id: i64,
    /// "component" (部件) or "event" (事件)
    pub kind: String,
    pub code: String,
    pub major_code: String,
    pub major_zh: String,
    pub major_en: String,
    pub name_zh: String,
    pub name_en: String,
    pub filing_zh: String,
    pub filing_en: String,
    pub closing_zh: String,
    pub closing_en: String,
    pub limit_amount: i64,
    /// emergency_hours, work_hours, work_days or natural_days
    pub limit_unit: String,
    pub department_id: i64,
    pub department_zh: String,
    pub department_en: String,
    pub active: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CaseFilter {
    /// A state code, or "open" for every state that still needs work.
    pub state: String,
    /// "component" or "event"
    pub kind: String,
    pub class_id: Option<i64>,
    /// District admin code, e.g. 140105
    pub district: String,
    /// Grid code
    pub grid: String,
    pub department_id: Option<i64>,
    /// yyyy-mm-dd (Asia/Shanghai), inclusive, on the report date
    pub from: String,
    pub to: String,
    pub overdue: bool,
    /// Code, address or description
    pub q: String,
    pub page: u32,
}

/// A case in lists and queues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRow {
    pub id: i64,
    pub code: String,
    pub state: State,
    pub on_hold: bool,
    pub kind: String,
    pub class_code: String,
    pub class_zh: String,
    pub class_en: String,
    pub district_zh: String,
    pub district_en: String,
    pub grid_code: String,
    pub address: String,
    pub department_zh: Option<String>,
    pub department_en: Option<String>,
    /// Formatted in Asia/Shanghai time.
    pub reported_at: String,
    /// The deadline that runs now (filing while at the command centre before dispatch,
    /// handling afterwards), formatted.
    pub due_at: Option<String>,
    /// Minutes until `due_at` when the page was made; negative when overdue.
    pub minutes_left: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineItem {
    pub at: String,
    pub action: String,
    pub from_state: Option<State>,
    pub to_state: State,
    pub actor_name: String,
    pub actor_department_zh: Option<String>,
    pub actor_department_en: Option<String>,
    pub department_zh: Option<String>,
    pub department_en: Option<String>,
    pub deadline: Option<String>,
    pub note: String,
    /// Written for the citizen who reported (public status page, Open311 status_notes).
    pub public_note: String,
    pub photos: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoRef {
    pub id: i64,
    /// report, handle or verify
    pub stage: String,
    pub width: i64,
    pub height: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeptOption {
    pub id: i64,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseDetail {
    pub row: CaseRow,
    pub version: i64,
    pub source: String,
    pub description: String,
    pub lon: f64,
    pub lat: f64,
    pub street_zh: String,
    pub street_en: String,
    pub class: CaseClass,
    pub department_id: Option<i64>,
    pub reporter_name: Option<String>,
    pub filing_deadline: String,
    pub deadline: Option<String>,
    pub closed_at: Option<String>,
    pub rework_count: i64,
    pub verified_ok: bool,
    pub hold_reason: Option<String>,
    pub timeline: Vec<TimelineItem>,
    pub photos: Vec<PhotoRef>,
    /// The steps the caller may take now.
    pub actions: Vec<Action>,
    /// Departments a dispatcher may choose (only filled when dispatch is available).
    pub departments: Vec<DeptOption>,
    /// Assignment the caller's department may appeal, with its deduction reasons.
    pub appealable: Option<i64>,
    /// The Sky Eye incident this case was escalated from.
    #[serde(default)]
    pub incident_id: Option<i64>,
    /// The tracking code of a citizen report (public page or Open311).
    pub citizen_code: Option<String>,
    /// The citizen's phone and e-mail, for dispatchers and administrators only.
    pub citizen_contact: Option<String>,
    /// The energy anomaly this case was opened from.
    #[serde(default)]
    pub anomaly_id: Option<i64>,
    /// The department the source routed the case to: preselected for dispatch.
    #[serde(default)]
    pub route_department: Option<DeptOption>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueCounts {
    /// Cases waiting for the caller's role (and department).
    pub cases: i64,
    /// Appeals waiting for a decision (command centre only).
    pub appeals: i64,
}

/// One department's evaluation for a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeptScore {
    pub department_id: i64,
    pub name_zh: String,
    pub name_en: String,
    pub counts: Counts,
    pub indicators: Indicators,
    pub rank: u32,
    /// Shown as rank and score only (another department's row, to a department head).
    #[serde(default)]
    pub limited: bool,
}

/// One department's scorecard: this month so far against last month, its overdue cases,
/// its pending appeals and its published ranks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    pub department_id: i64,
    pub name_zh: String,
    pub name_en: String,
    /// yyyy-mm, this month and the one before
    pub month: String,
    pub last_month: String,
    /// Its row of the month's evaluation (None: nothing dispatched to it), and how many
    /// departments were ranked.
    pub this: Option<DeptScore>,
    pub ranked: u32,
    pub last: Option<DeptScore>,
    pub ranked_last: u32,
    /// Its open cases past their deadline (the first page) and how many there are.
    pub overdue: Vec<CaseRow>,
    pub overdue_total: i64,
    pub appeals: Vec<Appeal>,
    /// Published months, newest first: (month, rank, ranked, score).
    pub published: Vec<(String, u32, u32, f64)>,
    /// Departments a leader may switch to (empty for a department head).
    pub departments: Vec<DeptOption>,
}

/// A month's assessment: frozen when published, else the live evaluation of the month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentView {
    /// yyyy-mm
    pub month: String,
    pub report: EvaluationReport,
    /// When and by whom it was published; None while it is still a draft.
    pub published_at: Option<String>,
    pub published_by: Option<String>,
    /// Appeals about the month still pending.
    pub pending_appeals: i64,
    /// Why it cannot be published now (None: it can); only for those who publish.
    pub refusal: Option<crate::domain::workflow::Refusal>,
    pub may_publish: bool,
    /// Months published so far, newest first.
    pub published_months: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationReport {
    /// yyyy-mm-dd, inclusive
    pub from: String,
    pub to: String,
    pub rule: ScoringRule,
    pub rows: Vec<DeptScore>,
}

/// A department's assignment in the evaluation, with what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deduction {
    pub assignment_id: i64,
    pub case_id: i64,
    pub case_code: String,
    pub class_zh: String,
    pub class_en: String,
    pub dispatched_at: String,
    pub deadline: String,
    pub handled_at: Option<String>,
    pub overdue: bool,
    pub rework_count: i64,
    pub returned: bool,
    /// pending, accepted or rejected
    pub appeal_state: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appeal {
    pub id: i64,
    pub case_id: i64,
    pub case_code: String,
    pub department_zh: String,
    pub department_en: String,
    pub reason: String,
    pub state: String,
    pub filed_by: String,
    pub filed_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDay {
    pub day: String,
    /// holiday or workday
    pub kind: String,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarSettings {
    /// e.g. 08:30-12:00,14:30-18:00
    pub periods: String,
    /// Working minutes the command centre has to file a report.
    pub filing_limit_minutes: i64,
    pub days: Vec<CalendarDay>,
}
