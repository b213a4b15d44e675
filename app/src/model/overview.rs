//! The leadership overview: key figures with their previous period, trends, districts, the
//! department ranking, and where each panel's data comes from and how fresh it is.
use super::Chart;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// When the figures were read, local time (yyyy-mm-dd HH:MM).
    pub generated_at: String,
    pub figures: Vec<KeyFigure>,
    pub panels: Vec<Panel>,
    /// Drawn on the server in the caller's language: `cases`, `alerts`, `energy`.
    pub trends: Vec<Chart>,
    pub districts: Vec<DistrictFigures>,
    /// The figure the map is shaded by (`open`, `overdue`, `new_month`, `alerts`).
    pub by: String,
    /// The unit grids drawn as SVG, each district shaded by `by` and linked to its list.
    pub map_svg: String,
    /// This month so far (yyyy-mm).
    pub ranking_month: String,
    pub ranking: Vec<RankRow>,
    /// The latest cases and alerts, newest first (the big screen's ticker).
    pub feed: Vec<FeedItem>,
}

/// One key figure and the same figure one period earlier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyFigure {
    /// `cases_new_today`, `cases_open`, `cases_overdue`, `on_time_closure`,
    /// `alerts_critical_open`, `false_positive_rate`, `energy_today`, `carbon_month`,
    /// `targets_on_track`.
    pub key: String,
    /// `cases`, `alerts` or `energy`: the panel it belongs to.
    pub panel: String,
    /// None: nothing to measure yet (a rate without any decided case).
    pub value: Option<f64>,
    pub previous: Option<f64>,
    /// What `previous` is: `yesterday`, `day_ago`, `last_month`, `last_week`,
    /// `last_month_days` or `targets_total` (for on-track targets: how many there are).
    pub previous_kind: String,
    /// `%`, `kWh`, `t` or empty for a count.
    pub unit: String,
    /// Some(true): lower is better; Some(false): higher is better; None: a volume.
    pub lower_better: Option<bool>,
    /// The list behind the figure.
    pub href: String,
}

/// Whose data a panel shows, how fresh it is, and the sources that have gone quiet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Panel {
    pub id: String,
    pub owner_zh: String,
    pub owner_en: String,
    /// The newest record shown (local time), if any.
    pub latest: Option<String>,
    pub sources: Vec<SourceStatus>,
}

/// A machine source of a panel: how many of its devices sent nothing for longer than
/// expected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// `cameras` or `meters`.
    pub kind: String,
    pub total: i64,
    pub silent: i64,
    /// How long a device may stay silent, in minutes.
    pub expected_minutes: i64,
    /// The newest message of any device (local time).
    pub newest: Option<String>,
    /// Nothing at all within the expected interval: the panel's figures are stale.
    pub stale: bool,
    pub href: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistrictFigures {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub open: i64,
    pub overdue: i64,
    pub new_month: i64,
    /// Incidents new or acknowledged.
    pub alerts: i64,
    /// Carbon this month so far, tonnes.
    pub carbon_t: f64,
    /// Cases of the district behind the chosen figure.
    pub href: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankRow {
    pub department_id: i64,
    pub name_zh: String,
    pub name_en: String,
    pub rank: u32,
    pub score: f64,
    pub dispatched: i64,
    pub on_time_closure_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedItem {
    /// `case` or `alert`.
    pub kind: String,
    /// Epoch milliseconds, for ordering and "new" marks.
    pub at_ms: i64,
    /// Local time HH:MM (today) or mm-dd HH:MM.
    pub at: String,
    pub code: String,
    pub title_zh: String,
    pub title_en: String,
    pub district_zh: String,
    pub district_en: String,
    /// `critical`, `major`, `minor` for alerts; empty for cases.
    pub severity: String,
    pub href: String,
}

/// The figures the district map can be shaded by.
pub const MAP_FIGURES: [&str; 4] = ["open", "overdue", "new_month", "alerts"];

/// The list behind a district's figure (`month_first`: yyyy-mm-dd, for this month's reports).
pub fn district_href(by: &str, code: &str, month_first: &str) -> String {
    match by {
        "overdue" => format!("/cases?state=open&overdue=1&district={code}"),
        "new_month" => format!("/cases?district={code}&from={month_first}"),
        "alerts" => format!("/alerts?state=open&district={code}"),
        _ => format!("/cases?state=open&district={code}"),
    }
}
