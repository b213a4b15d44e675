//! What citizens see of their report: never staff names, never another person's report.
use serde::{Deserialize, Serialize};

/// The name a citizen's report carries in the staff timeline (shown translated).
pub const CITIZEN_NAME: &str = "市民";

/// The state a citizen reads, coarser than the workflow's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicState {
    /// Waiting for the command centre to check it.
    Received,
    /// Accepted as a case, waiting to be passed on.
    Accepted,
    /// With the responsible department.
    InProgress,
    /// Work paused with approval.
    OnHold,
    /// Fixed and closed.
    Closed,
    /// Checked and not taken up (duplicate, not a city matter …).
    NotAccepted,
}

impl PublicState {
    pub fn from_case(state: &str, on_hold: bool) -> PublicState {
        match state {
            "reported" => PublicState::Received,
            "rejected" => PublicState::NotAccepted,
            "closed" => PublicState::Closed,
            _ if on_hold => PublicState::OnHold,
            "filed" => PublicState::Accepted,
            _ => PublicState::InProgress,
        }
    }
    /// Open311: `open` or `closed`.
    pub fn open311(self) -> &'static str {
        match self {
            PublicState::Closed | PublicState::NotAccepted => "closed",
            _ => "open",
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            PublicState::Received => "received",
            PublicState::Accepted => "accepted",
            PublicState::InProgress => "in_progress",
            PublicState::OnHold => "on_hold",
            PublicState::Closed => "closed",
            PublicState::NotAccepted => "not_accepted",
        }
    }
}

/// One entry of the public timeline: what happened (the workflow action's code), when, to
/// which department it went (dispatch) and the note written for the public.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicEvent {
    pub at: i64,
    pub at_text: String,
    pub action: String,
    pub department_zh: Option<String>,
    pub department_en: Option<String>,
    pub note: String,
}

/// A citizen report as the public sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicStatus {
    /// The tracking code: known only to whoever reported (it opens the status page and its
    /// photos).
    pub code: String,
    /// The public id (the case code; Open311's service_request_id).
    pub request_id: String,
    pub service_code: String,
    pub state: PublicState,
    pub reported_at: i64,
    pub reported_text: String,
    pub updated_at: i64,
    /// When the current stage is due (filing, then handling); none once closed.
    pub expected_at: Option<i64>,
    pub expected_text: Option<String>,
    pub district_zh: String,
    pub district_en: String,
    pub street_zh: String,
    pub street_en: String,
    pub grid_code: String,
    /// The centre of the unit grid (the exact place is not published).
    pub lon: f64,
    pub lat: f64,
    pub description: String,
    /// The department responsible now (none before dispatch).
    pub department_zh: Option<String>,
    pub department_en: Option<String>,
    /// The newest public note, if any.
    pub status_note: Option<String>,
    pub timeline: Vec<PublicEvent>,
    /// Photo ids, shown once the case is closed: the report's and the fix's.
    pub photos_before: Vec<i64>,
    pub photos_after: Vec<i64>,
}

/// The answer to a submitted report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    pub code: String,
}
