//! Reduction targets and emission factors: the records the two pages show and their server
//! functions. Everyone who opens energy reads (department heads their own entities' targets
//! and all district targets); only energy analysts of the department owning the energy data
//! write, and the server checks that on every write whatever the page showed.
use crate::error::AppError;
use leptos::server;
use serde::{Deserialize, Serialize};

/// A target with its progress in the target year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetRow {
    pub id: i64,
    /// `district` or `entity`.
    pub scope: String,
    /// The district's code (district targets) or the entity's district (entity targets).
    pub district_code: String,
    pub entity_id: Option<i64>,
    /// The district's or the entity's name.
    pub scope_zh: String,
    pub scope_en: String,
    /// `carbon` or an energy type.
    pub metric: String,
    /// `kg CO₂`, `kWh`, `GJ`, `m³`.
    pub unit: String,
    pub baseline_year: i64,
    pub target_year: i64,
    pub reduction_pct: f64,
    pub note: String,
    pub version: i64,
    /// The baseline year's total.
    pub baseline_total: f64,
    /// baseline_total × (1 − r/100).
    pub target: f64,
    /// The target year so far (the whole year once it is over).
    pub ytd_actual: f64,
    pub forecast: Option<f64>,
    pub forecast_vs_target_pct: Option<f64>,
    /// `on_track`, `at_risk`, `off_track`, `no_data`.
    pub status: String,
}

/// An entity a target can be set for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityOption {
    pub id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetsView {
    pub targets: Vec<TargetRow>,
    pub can_edit: bool,
    /// The current year in Shanghai (the form's limits).
    pub current_year: i64,
    /// (code, zh, en).
    pub districts: Vec<(String, String, String)>,
    /// Entities the caller may set targets for (empty for readers).
    pub entities: Vec<EntityOption>,
}

/// An emission factor, current or superseded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorRow {
    pub id: i64,
    pub year: i64,
    pub region: String,
    pub energy_type: String,
    pub kg_per_unit: f64,
    pub source: String,
    /// When it was entered (Shanghai time).
    pub since: String,
    /// When a revision replaced it.
    pub superseded_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorsView {
    pub current: Vec<FactorRow>,
    pub superseded: Vec<FactorRow>,
    /// The city's region (`energy.region`), the default of the form.
    pub region: String,
    pub can_edit: bool,
}

/// What saving a factor did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorSaved {
    pub id: i64,
    /// True when it replaced a factor in force for the same year, region and type.
    pub revised: bool,
    /// Rollup rows whose carbon was recomputed.
    pub recomputed_rows: i64,
}

/// Every target the caller may read, with progress as of now.
#[server(endpoint = "energy/targets")]
pub async fn get_energy_targets() -> Result<TargetsView, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Energy, "energy.targets").await?;
    crate::db::energy_targets::view(&state()?.store, &u, crate::db::now_ms()).await
}

/// Creates a target. `scope` is `district` (with `district_code`) or `entity` (with
/// `entity_id`); years and the percentage arrive as typed so a bad number is a field error.
#[server(endpoint = "energy/targets/create")]
pub async fn create_energy_target(
    #[server(default)] scope: String,
    #[server(default)] district_code: String,
    #[server(default)] entity_id: String,
    #[server(default)] metric: String,
    #[server(default)] baseline_year: String,
    #[server(default)] target_year: String,
    #[server(default)] reduction_pct: String,
    #[server(default)] note: String,
) -> Result<i64, AppError> {
    use crate::auth::{actor, require, state};
    let u = require(crate::domain::Area::Energy, "energy_target.create").await?;
    let input = crate::db::energy_targets::TargetInput {
        scope,
        district_code,
        entity_id,
        metric,
        baseline_year,
        target_year,
        reduction_pct,
        note,
    };
    crate::db::energy_targets::create(&state()?.store, &u, &actor(&u), &input).await
}

/// Changes a target; `version` is the one the form was loaded with (a later change by
/// someone else is a conflict).
#[server(endpoint = "energy/targets/update")]
pub async fn update_energy_target(
    id: i64,
    version: i64,
    #[server(default)] scope: String,
    #[server(default)] district_code: String,
    #[server(default)] entity_id: String,
    #[server(default)] metric: String,
    #[server(default)] baseline_year: String,
    #[server(default)] target_year: String,
    #[server(default)] reduction_pct: String,
    #[server(default)] note: String,
) -> Result<(), AppError> {
    use crate::auth::{actor, require, state};
    let u = require(crate::domain::Area::Energy, "energy_target.update").await?;
    let input = crate::db::energy_targets::TargetInput {
        scope,
        district_code,
        entity_id,
        metric,
        baseline_year,
        target_year,
        reduction_pct,
        note,
    };
    crate::db::energy_targets::update(&state()?.store, &u, &actor(&u), id, version, &input).await
}

#[server(endpoint = "energy/targets/delete")]
pub async fn delete_energy_target(id: i64, version: i64) -> Result<(), AppError> {
    use crate::auth::{actor, require, state};
    let u = require(crate::domain::Area::Energy, "energy_target.delete").await?;
    crate::db::energy_targets::delete(&state()?.store, &u, &actor(&u), id, version).await
}

/// Current and superseded emission factors.
#[server(endpoint = "energy/factors")]
pub async fn get_emission_factors() -> Result<FactorsView, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Energy, "energy.factors").await?;
    crate::db::energy_targets::factors_view(&state()?.store, &u).await
}

/// Adds a factor, or revises the one in force for the same year, region and type; then
/// recomputes the carbon of every rollup it may change, in the same transaction.
/// `region` defaults to the city's region.
#[server(endpoint = "energy/factors/save")]
pub async fn save_emission_factor(
    #[server(default)] year: String,
    #[server(default)] region: String,
    #[server(default)] energy_type: String,
    #[server(default)] kg_per_unit: String,
    #[server(default)] source: String,
) -> Result<FactorSaved, AppError> {
    use crate::auth::{actor, require, state};
    let u = require(crate::domain::Area::Energy, "emission_factor.save").await?;
    crate::db::energy_targets::save_factor(
        &state()?.store,
        &u,
        &actor(&u),
        &year,
        &region,
        &energy_type,
        &kg_per_unit,
        &source,
        crate::db::now_ms(),
    )
    .await
}
