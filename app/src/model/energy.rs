//! Records of the energy pages: the overview of the city or a district, an entity with its
//! meters, one meter. Charts come drawn (SVG from the server, in the caller's language) with
//! the numbers behind them, which the page also shows as a table and offers as CSV.
use serde::{Deserialize, Serialize};

/// A key figure with the same figure of the previous period beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// What it is: `month_total`, `month_carbon`, `ytd_carbon`, `yesterday`.
    pub key: String,
    pub value: f64,
    pub previous: Option<f64>,
    /// What `previous` is, in the caller's language ("2026-10", "same days of 2026-10"...).
    pub previous_label: String,
    /// kWh, GJ, m³ or t CO2.
    pub unit: String,
}

/// The numbers of a chart: one row per bucket or name, one column per series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ChartTable {
    pub columns: Vec<String>,
    pub rows: Vec<(String, Vec<Option<f64>>)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    /// Stable id (anchors, tests): `daily`, `compare`, `districts`, `top`, `heatmap`, `hourly`.
    pub id: String,
    pub title: String,
    pub svg: String,
    pub table: ChartTable,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistrictRow {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub value: f64,
    pub previous: f64,
    pub carbon_kg: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityRow {
    pub id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: String,
    pub district_code: String,
    pub department_zh: String,
    pub department_en: String,
    pub value: f64,
    pub carbon_kg: f64,
}

/// The city (no district) or one district, for one energy type and month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyOverview {
    /// The district shown, empty for the city.
    pub district: String,
    pub district_zh: String,
    pub district_en: String,
    pub energy_type: String,
    pub unit: String,
    /// yyyy-mm.
    pub month: String,
    pub previous_month: String,
    pub figures: Vec<Figure>,
    pub charts: Vec<Chart>,
    /// The city's districts (city view only).
    pub districts: Vec<DistrictRow>,
    /// The largest consumers of the month (the district's entities in a district view), of
    /// the entities the caller may open.
    pub entities: Vec<EntityRow>,
    /// The latest interval any meter reported, Shanghai time.
    pub latest_reading: Option<String>,
    /// Whether the caller may upload readings and edit targets.
    pub can_edit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeterRow {
    pub id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub energy_type: String,
    pub unit: String,
    pub parent_id: Option<i64>,
    pub interval_minutes: i64,
    /// This month's consumption.
    pub month_value: f64,
    pub last_reading: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityView {
    pub entity: EntityRow,
    pub month: String,
    /// Meters, each parent followed by its sub-meters.
    pub meters: Vec<MeterRow>,
    /// Per main meter with sub-meters: this month's part not measured by any sub-meter.
    pub unmetered: Vec<(i64, f64)>,
    pub charts: Vec<Chart>,
    pub energy_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    pub at: String,
    pub interval: String,
    pub old_value: f64,
    pub new_value: f64,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeterView {
    pub meter: MeterRow,
    pub entity_id: i64,
    pub entity_zh: String,
    pub entity_en: String,
    pub parent_code: Option<String>,
    pub charts: Vec<Chart>,
    pub corrections: Vec<Correction>,
}

// ---- CSV uploads of readings ----

/// Why a whole file was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvFileError {
    /// `empty_file`, `too_large`, `bad_encoding`, `missing_column`, `no_lines`.
    pub code: String,
    /// The line concerned (bad encoding), if any.
    pub line: Option<usize>,
    /// The missing column(s), if any.
    pub detail: String,
}

/// One refused line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvLineError {
    /// 1-based line number in the file (the header is line 1).
    pub line: usize,
    /// `meter`, `timestamp`, `value` or empty for the whole line.
    pub column: String,
    /// A stable code; the message is `api_err_<code>` in the user's language.
    pub code: String,
}

/// What a file holds, line by line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CsvReport {
    /// Data lines (the header and blank lines not counted).
    pub total_lines: usize,
    pub good_lines: usize,
    pub bad_lines: usize,
    /// The first refused lines (at most 500), in file order.
    pub errors: Vec<CsvLineError>,
    /// Header and first lines as read, for the preview.
    pub preview: Vec<Vec<String>>,
    /// Columns present but not used.
    pub ignored_columns: Vec<String>,
}

/// An upload as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadView {
    pub id: i64,
    pub filename: String,
    pub state: String,
    pub report: CsvReport,
    pub imported_lines: i64,
    pub created_at: String,
    pub uploader: String,
}

/// What an upload request gave: the stored upload, or why the file was refused whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UploadResult {
    Stored(UploadView),
    Refused(CsvFileError),
}

// ---- Anomalies ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyRow {
    pub id: i64,
    pub entity_id: i64,
    pub entity_code: String,
    pub entity_zh: String,
    pub entity_en: String,
    pub energy_type: String,
    pub unit: String,
    /// `spike` or `night_base`.
    pub kind: String,
    /// The hour (a night's first hour), Shanghai time.
    pub hour: String,
    pub hour_ms: i64,
    pub observed: f64,
    pub expected: f64,
    /// `open`, `case_opened` or `dismissed`.
    pub state: String,
    pub case_id: Option<i64>,
    pub detected_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyView {
    pub anomaly: AnomalyRow,
    /// The entity's hours around the anomaly against the same hours of the weeks before.
    pub evidence: Chart,
    pub can_edit: bool,
    /// The entity's maintaining department, where a case opened from it is routed.
    pub department_zh: String,
    pub department_en: String,
    /// The entity's unit grid; None outside the grids (no case can be opened there).
    pub grid_code: Option<String>,
    /// Classes a case may be opened with (filled only when the caller may open one now).
    pub classes: Vec<crate::model::CaseClass>,
    pub suggested_class: Option<i64>,
    /// The case opened from it: code and workflow state.
    pub case_code: Option<String>,
    pub case_state: Option<String>,
    /// The caller may open case pages (else the code is shown without a link).
    pub may_cases: bool,
}
