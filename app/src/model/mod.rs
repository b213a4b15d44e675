//! Records exchanged between server functions and views.
use crate::domain::Role;
use serde::{Deserialize, Serialize};

/// Who is calling: resolved on the server from the session cookie, never from the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub department_id: i64,
    pub department_zh: String,
    pub department_en: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    pub id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub active: bool,
    pub user_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub department_id: i64,
    pub department_zh: String,
    pub department_en: String,
    pub active: bool,
    pub locked: bool,
    /// Last successful sign-in, formatted in Asia/Shanghai time.
    pub last_login: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserFilter {
    pub q: String,
    pub role: String,
    pub department_id: Option<i64>,
    /// "", "active" or "inactive"
    pub status: String,
    pub page: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    /// True when counting stopped at a cap: there are more than `total` matches.
    #[serde(default)]
    pub more: bool,
}

impl<T> Page<T> {
    pub fn pages(&self) -> u32 {
        let per = self.per_page.max(1) as i64;
        ((self.total + per - 1) / per).max(1) as u32
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// Formatted in Asia/Shanghai time.
    pub at: String,
    pub username: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub outcome: String,
    pub detail: String,
    pub ip: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditFilter {
    pub username: String,
    pub action: String,
    pub outcome: String,
    /// yyyy-mm-dd, Asia/Shanghai, inclusive
    pub from: String,
    pub to: String,
    pub page: u32,
}

pub const PER_PAGE: u32 = 25;

mod cases;
pub use cases::*;
mod skyeye;
pub use skyeye::*;
mod energy;
pub use energy::*;
mod overview;
pub use overview::*;
mod datasets;
pub use datasets::*;
mod citizen;
pub use citizen::*;
