//! The data catalogue: datasets with their owner and freshness, and the read grants between
//! departments.
use serde::{Deserialize, Serialize};

/// Codes of the restricted datasets whose grants the scope checks consult.
pub const DATASET_CASES: &str = "cases";
pub const DATASET_SKYEYE: &str = "skyeye";
pub const DATASET_ENERGY: &str = "energy";
/// The public dataset of published monthly rankings.
pub const DATASET_RANKINGS: &str = "rankings";

/// One dataset as the public page and the catalogue show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInfo {
    pub code: String,
    pub title_zh: String,
    pub title_en: String,
    pub description_zh: String,
    pub description_en: String,
    /// The owning department (empty when the rule names none).
    pub owner_id: Option<i64>,
    pub owner_zh: String,
    pub owner_en: String,
    pub public: bool,
    /// `monthly`, `daily`, `live`.
    pub frequency: String,
    pub licence: String,
    /// Download formats (`csv`, `json`) of a public dataset.
    pub formats: Vec<String>,
    /// The newest record behind it, Shanghai time (`None`: no data yet).
    pub last_update: Option<String>,
    /// Public monthly datasets: the newest complete month they hold (yyyy-mm).
    pub latest_month: Option<String>,
}

/// A column of a public dataset: stable name (CSV header, JSON key), headings, type
/// (`string`, `integer`, `number`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataField {
    pub name: String,
    pub zh: String,
    pub en: String,
    pub kind: String,
}

/// The public datasets page: each dataset with its columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicData {
    pub datasets: Vec<(DatasetInfo, Vec<DataField>)>,
    /// The current Shanghai month (yyyy-mm), left out of the downloads until it is over.
    pub current_month: String,
}

/// A read grant, in force or revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRow {
    pub id: i64,
    pub dataset_code: String,
    pub department_id: i64,
    pub department_zh: String,
    pub department_en: String,
    pub granted_at: String,
    pub granted_by: String,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
}

/// A dataset in the catalogue with who may read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    pub info: DatasetInfo,
    /// Who reads a restricted dataset besides the grantees, in words keyed for the page:
    /// always the owner, leaders and administrators.
    pub grants: Vec<GrantRow>,
    /// True when the caller may grant and revoke (owner's head, administrator).
    pub can_grant: bool,
    /// True when the caller's department reads it through a grant in force.
    pub granted_to_me: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueView {
    pub entries: Vec<CatalogueEntry>,
    /// Departments a grant may go to: (id, zh, en).
    pub departments: Vec<(i64, String, String)>,
}
