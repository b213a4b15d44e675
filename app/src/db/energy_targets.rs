//! Reduction targets and their progress; emission factors, their revisions and the carbon
//! recomputation a revision brings.
//!
//! Progress reads monthly totals from the month rollups (carbon: the sum of `carbon_kg` over
//! the energy types; an energy metric: `value` of that type) and leaves the judgement to
//! `domain::energy_rules::progress`. Factors are versioned: a revision supersedes the factor
//! in force and, in the same transaction, the carbon of every rollup row it may change is
//! set again to value × the factor now in force (`pick_factor`).
use super::audit::{self, Actor};
use super::energy::{may_edit, month_days, scope};
use super::{fmt_local, now_ms, Store, Tx};
use crate::api::energy_targets::{
    EntityOption, FactorRow, FactorSaved, FactorsView, TargetRow, TargetsView,
};
use crate::domain::energy::{self as e, EnergyType, DAY_MS};
use crate::domain::energy_rules::{self as rules, Factor};
use crate::error::{AppError, FieldError, FieldErrorKind as K};
use crate::model::CurrentUser;

pub const METRICS: [&str; 5] = ["carbon", "electricity", "heat", "water", "gas"];
/// A target may lie at most this many years after its baseline.
pub const MAX_SPAN: i64 = 15;
const NOTE_MAX: usize = 500;
const SOURCE_MAX: usize = 200;

/// The target form as typed.
#[derive(Debug, Clone, Default)]
pub struct TargetInput {
    pub scope: String,
    pub district_code: String,
    pub entity_id: String,
    pub metric: String,
    pub baseline_year: String,
    pub target_year: String,
    pub reduction_pct: String,
    pub note: String,
}

/// A target that passed every check.
#[derive(Debug, Clone, PartialEq)]
struct Valid {
    scope: &'static str,
    district_code: Option<String>,
    entity_id: Option<i64>,
    metric: String,
    baseline_year: i64,
    target_year: i64,
    reduction_pct: f64,
    note: String,
}

/// Year, month (1–12) and the elapsed fraction of that month, in Shanghai, at `now`.
pub fn clock(now: i64) -> (i64, u32, f64) {
    let day = e::local_day(now);
    let (y, m, _) = e::civil(day);
    let days = month_days(i64::from(y) * 100 + i64::from(m));
    let len = ((days.end - days.start) * DAY_MS) as f64;
    let elapsed = (now - e::day_start(days.start)) as f64;
    (i64::from(y), m, (elapsed / len).clamp(0.0, 1.0))
}

fn unit_of(metric: &str) -> String {
    EnergyType::from_code(metric)
        .map_or("kg CO₂", EnergyType::unit)
        .to_string()
}

/// A district's names (zh, en), if the code is one of the city's.
fn district(code: &str) -> Option<(&'static str, &'static str)> {
    super::grids::DISTRICTS
        .iter()
        .find(|d| d.0 == code)
        .map(|d| (d.1, d.2))
}

/// Monthly totals of a district or an entity for the metric in `years`: year → 12 months,
/// `None` where the rollups hold nothing.
async fn monthly(
    store: &Store,
    t: &(String, String, i64, String),
    years: &[i64],
) -> sqlx::Result<std::collections::HashMap<i64, [Option<f64>; 12]>> {
    let (scope, district_code, entity_id, metric) = t;
    let col = if metric == "carbon" {
        "carbon_kg"
    } else {
        "value"
    };
    let mut out = std::collections::HashMap::new();
    for &y in years {
        let (from, to) = (y * 100 + 1, y * 100 + 12);
        let rows: Vec<(i64, f64)> = if scope == "district" {
            sqlx::query_as(&format!(
                "SELECT month, SUM({col}) FROM energy_district_month WHERE district_code = $1 \
                 AND ($2 = 'carbon' OR energy_type = $2) AND month >= $3 AND month <= $4 GROUP BY month"
            ))
            .bind(district_code.as_str())
            .bind(metric.as_str())
            .bind(from)
            .bind(to)
            .fetch_all(store.pool())
            .await?
        } else {
            sqlx::query_as(&format!(
                "SELECT month, SUM({col}) FROM energy_entity_month WHERE entity_id = $1 \
                 AND ($2 = 'carbon' OR energy_type = $2) AND month >= $3 AND month <= $4 GROUP BY month"
            ))
            .bind(*entity_id)
            .bind(metric.as_str())
            .bind(from)
            .bind(to)
            .fetch_all(store.pool())
            .await?
        };
        let mut months = [None; 12];
        for (m, v) in rows {
            let i = (m % 100 - 1).clamp(0, 11) as usize;
            months[i] = Some(v);
        }
        out.insert(y, months);
    }
    Ok(out)
}

/// How many months of year `y` have readings of any energy type for the scope.
async fn measured_months(
    store: &Store,
    scope: &str,
    district: &str,
    entity: i64,
    y: i64,
) -> sqlx::Result<i64> {
    let sql = if scope == "district" {
        "SELECT COUNT(DISTINCT month) FROM energy_district_month WHERE district_code = $1 AND month >= $2 AND month <= $3"
    } else {
        "SELECT COUNT(DISTINCT month) FROM energy_entity_month WHERE entity_id = CAST($1 AS BIGINT) AND month >= $2 AND month <= $3"
    };
    let key = if scope == "district" {
        district.to_string()
    } else {
        entity.to_string()
    };
    sqlx::query_scalar(sql)
        .bind(key)
        .bind(y * 100 + 1)
        .bind(y * 100 + 12)
        .fetch_one(store.pool())
        .await
}

/// Progress of a target at `now`: a past target year is judged on its twelve months, the
/// current one on the months so far, a future one has no data yet.
pub fn judge(
    baseline: &[Option<f64>; 12],
    actual: &[Option<f64>; 12],
    reduction_pct: f64,
    target_year: i64,
    now: i64,
) -> rules::Progress {
    let base = baseline.map(|v| v.unwrap_or(0.0));
    let (year, month, fraction) = clock(now);
    if target_year > year {
        let none = [None; 12];
        // Nothing of the target year yet: progress says no data, with the target.
        return rules::progress(&base, reduction_pct, &none, 1, 0.0);
    }
    let (m, f) = if target_year < year {
        (12, 1.0)
    } else {
        (month, fraction)
    };
    rules::progress(&base, reduction_pct, actual, m, f)
}

type TargetTuple = (
    i64,
    String,
    String,
    i64,
    String,
    String,
    String,
    i64,
    i64,
    f64,
    String,
    i64,
);

/// Targets the caller may read (department heads: district targets and their own entities'),
/// with progress as of `now`.
pub async fn list(store: &Store, u: &CurrentUser, now: i64) -> sqlx::Result<Vec<TargetRow>> {
    let dept = scope(store, u, "energy targets").await?;
    let rows: Vec<TargetTuple> = sqlx::query_as(
        "SELECT t.id, t.scope, COALESCE(t.district_code, e.district_code, ''), COALESCE(t.entity_id, 0), \
         COALESCE(e.name_zh, ''), COALESCE(e.name_en, ''), t.metric, t.baseline_year, t.target_year, \
         t.reduction_pct, t.note, t.version \
         FROM energy_targets t LEFT JOIN energy_entities e ON e.id = t.entity_id \
         WHERE ($1 = 0 OR t.scope = 'district' OR e.department_id = $1) \
         ORDER BY t.target_year DESC, t.scope, COALESCE(t.district_code, e.district_code, ''), t.metric, t.id",
    )
    .bind(dept.unwrap_or(0))
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (id, scope, dcode, entity, ezh, een, metric, by, ty, pct, note, version) = r;
        let (zh, en) = if scope == "district" {
            district(&dcode).map_or((dcode.clone(), dcode.clone()), |(zh, en)| {
                (zh.to_string(), en.to_string())
            })
        } else {
            (ezh, een)
        };
        let key = (scope.clone(), dcode.clone(), entity, metric.clone());
        let m = monthly(store, &key, &[by, ty]).await?;
        // A baseline needs the whole year measured: the scope must have readings of some
        // type in each of its twelve months (a meter installed in November gives no baseline
        // for that year). Otherwise the target has no data rather than a forecast against a
        // fraction of a year.
        let measured = measured_months(store, &key.0, &key.1, key.2, by).await?;
        let p = if measured < 12 {
            judge(&[None; 12], &m[&ty], pct, ty, now)
        } else {
            judge(&m[&by], &m[&ty], pct, ty, now)
        };
        out.push(TargetRow {
            id,
            unit: unit_of(&metric),
            entity_id: (scope == "entity").then_some(entity),
            scope,
            district_code: dcode,
            scope_zh: zh,
            scope_en: en,
            metric,
            baseline_year: by,
            target_year: ty,
            reduction_pct: pct,
            note,
            version,
            baseline_total: m[&by].iter().flatten().sum(),
            target: p.target,
            ytd_actual: p.ytd_actual,
            forecast: p.forecast,
            forecast_vs_target_pct: p.forecast_vs_target_pct,
            status: p.status.code().to_string(),
        });
    }
    Ok(out)
}

pub async fn view(store: &Store, u: &CurrentUser, now: i64) -> Result<TargetsView, AppError> {
    let can_edit = may_edit(store, u).await?;
    let entities = if can_edit {
        let rows: Vec<(i64, String, String, String)> =
            sqlx::query_as("SELECT id, code, name_zh, name_en FROM energy_entities ORDER BY code")
                .fetch_all(store.pool())
                .await?;
        rows.into_iter()
            .map(|(id, code, name_zh, name_en)| EntityOption {
                id,
                code,
                name_zh,
                name_en,
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(TargetsView {
        targets: list(store, u, now).await?,
        can_edit,
        current_year: clock(now).0,
        districts: super::grids::DISTRICTS
            .iter()
            .map(|d| (d.0.to_string(), d.1.to_string(), d.2.to_string()))
            .collect(),
        entities,
    })
}

/// Refuses a write by someone who may only read, and records the attempt.
async fn deny(store: &Store, actor: &Actor, action: &str, target: Option<String>) -> AppError {
    let _ = audit::record_alone(
        store,
        actor,
        audit::Event {
            action,
            target_type: "energy",
            target_id: target,
            outcome: audit::DENIED,
            detail: "not an energy analyst of the owner department".into(),
        },
    )
    .await;
    AppError::Forbidden
}

/// Records a write that was refused for its content (invalid, conflict).
async fn failed(store: &Store, actor: &Actor, action: &str, target: Option<String>, e: &AppError) {
    let _ = audit::record_alone(
        store,
        actor,
        audit::Event {
            action,
            target_type: "energy_target",
            target_id: target,
            outcome: audit::FAILED,
            detail: e.audit_detail(),
        },
    )
    .await;
}

fn parse_int(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

fn parse_num(s: &str) -> Option<f64> {
    let s = s.trim().trim_end_matches('%').trim().replace(',', ".");
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Every check of a target; `id` is the target being changed (left out of the duplicate
/// check).
async fn validate(tx: &mut Tx, input: &TargetInput, id: i64, now: i64) -> Result<Valid, AppError> {
    let mut errs = Vec::new();
    let current_year = clock(now).0;
    let scope: &'static str = match input.scope.trim() {
        "district" => "district",
        "entity" => "entity",
        _ => {
            errs.push(FieldError::new("scope", K::Required));
            ""
        }
    };
    let mut district_code = None;
    let mut entity_id = None;
    if scope == "district" {
        let code = input.district_code.trim();
        if district(code).is_some() {
            district_code = Some(code.to_string());
        } else {
            errs.push(FieldError::new("district_code", K::Required));
        }
    } else if scope == "entity" {
        let exists = match parse_int(&input.entity_id) {
            Some(id) => {
                sqlx::query_scalar::<_, i64>("SELECT id FROM energy_entities WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut **tx)
                    .await?
                    .is_some()
                    .then_some(id)
            }
            None => None,
        };
        match exists {
            Some(id) => entity_id = Some(id),
            None => errs.push(FieldError::new("entity_id", K::Required)),
        }
    }
    let metric = input.metric.trim();
    if !METRICS.contains(&metric) {
        errs.push(FieldError::new("metric", K::Required));
    }
    let baseline = parse_int(&input.baseline_year).filter(|y| (2000..=current_year).contains(y));
    if baseline.is_none() {
        errs.push(FieldError::new("baseline_year", K::BadNumber));
    }
    let target = parse_int(&input.target_year).filter(|y| match baseline {
        Some(b) => *y > b && *y <= b + MAX_SPAN,
        None => (2001..=current_year + MAX_SPAN).contains(y),
    });
    if target.is_none() {
        errs.push(FieldError::new("target_year", K::BadNumber));
    }
    let pct = parse_num(&input.reduction_pct).filter(|r| *r > 0.0 && *r < 100.0);
    if pct.is_none() {
        errs.push(FieldError::new("reduction_pct", K::BadNumber));
    }
    let note = input.note.trim();
    if note.chars().count() > NOTE_MAX {
        errs.push(FieldError::new("note", K::TooLong));
    }
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let v = Valid {
        scope,
        district_code,
        entity_id,
        metric: metric.to_string(),
        baseline_year: baseline.unwrap_or_default(),
        target_year: target.unwrap_or_default(),
        reduction_pct: pct.unwrap_or_default(),
        note: note.to_string(),
    };
    let dup: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM energy_targets WHERE scope = $1 AND COALESCE(district_code, '') = $2 \
         AND COALESCE(entity_id, 0) = $3 AND metric = $4 AND target_year = $5 AND id <> $6",
    )
    .bind(v.scope)
    .bind(v.district_code.clone().unwrap_or_default())
    .bind(v.entity_id.unwrap_or(0))
    .bind(v.metric.as_str())
    .bind(v.target_year)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    if dup.is_some() {
        return Err(AppError::field("target_year", K::CodeTaken));
    }
    Ok(v)
}

fn detail(v: &Valid) -> String {
    format!(
        "scope={} {} metric={} baseline={} target={} reduction={}%",
        v.scope,
        v.district_code
            .clone()
            .or(v.entity_id.map(|i| format!("entity#{i}")))
            .unwrap_or_default(),
        v.metric,
        v.baseline_year,
        v.target_year,
        v.reduction_pct
    )
}

/// A unique-index violation (a duplicate that slipped past the check in a race) as the same
/// field error the check gives.
fn dup_or(e: sqlx::Error) -> AppError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            AppError::field("target_year", K::CodeTaken)
        }
        _ => AppError::from(e),
    }
}

pub async fn create(
    store: &Store,
    u: &CurrentUser,
    actor: &Actor,
    input: &TargetInput,
) -> Result<i64, AppError> {
    const ACTION: &str = "energy_target.create";
    if !may_edit(store, u).await? {
        return Err(deny(store, actor, ACTION, None).await);
    }
    let now = now_ms();
    let mut tx = store.begin().await?;
    let v = match validate(&mut tx, input, 0, now).await {
        Ok(v) => v,
        Err(e) => {
            drop(tx);
            failed(store, actor, ACTION, None, &e).await;
            return Err(e);
        }
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO energy_targets (scope, district_code, entity_id, metric, baseline_year, target_year, \
         reduction_pct, note, created_by, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 1) RETURNING id",
    )
    .bind(v.scope)
    .bind(v.district_code.clone())
    .bind(v.entity_id)
    .bind(v.metric.as_str())
    .bind(v.baseline_year)
    .bind(v.target_year)
    .bind(v.reduction_pct)
    .bind(v.note.as_str())
    .bind(u.id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(dup_or)?;
    audit::record(
        &mut tx,
        actor,
        audit::Event {
            action: ACTION,
            target_type: "energy_target",
            target_id: Some(id.to_string()),
            outcome: audit::OK,
            detail: detail(&v),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Version check of a target: not found, or changed since `version` was read.
async fn stale(tx: &mut Tx, id: i64) -> Result<AppError, AppError> {
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT version FROM energy_targets WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(if exists.is_some() {
        AppError::Conflict
    } else {
        AppError::NotFound
    })
}

pub async fn update(
    store: &Store,
    u: &CurrentUser,
    actor: &Actor,
    id: i64,
    version: i64,
    input: &TargetInput,
) -> Result<(), AppError> {
    const ACTION: &str = "energy_target.update";
    if !may_edit(store, u).await? {
        return Err(deny(store, actor, ACTION, Some(id.to_string())).await);
    }
    let now = now_ms();
    let mut tx = store.begin().await?;
    let v = match validate(&mut tx, input, id, now).await {
        Ok(v) => v,
        Err(e) => {
            drop(tx);
            failed(store, actor, ACTION, Some(id.to_string()), &e).await;
            return Err(e);
        }
    };
    let n = sqlx::query(
        "UPDATE energy_targets SET scope = $1, district_code = $2, entity_id = $3, metric = $4, \
         baseline_year = $5, target_year = $6, reduction_pct = $7, note = $8, updated_at = $9, \
         version = version + 1 WHERE id = $10 AND version = $11",
    )
    .bind(v.scope)
    .bind(v.district_code.clone())
    .bind(v.entity_id)
    .bind(v.metric.as_str())
    .bind(v.baseline_year)
    .bind(v.target_year)
    .bind(v.reduction_pct)
    .bind(v.note.as_str())
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(&mut *tx)
    .await
    .map_err(dup_or)?
    .rows_affected();
    if n == 0 {
        let e = stale(&mut tx, id).await?;
        drop(tx);
        failed(store, actor, ACTION, Some(id.to_string()), &e).await;
        return Err(e);
    }
    audit::record(
        &mut tx,
        actor,
        audit::Event {
            action: ACTION,
            target_type: "energy_target",
            target_id: Some(id.to_string()),
            outcome: audit::OK,
            detail: format!("{} version={}", detail(&v), version + 1),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete(
    store: &Store,
    u: &CurrentUser,
    actor: &Actor,
    id: i64,
    version: i64,
) -> Result<(), AppError> {
    const ACTION: &str = "energy_target.delete";
    if !may_edit(store, u).await? {
        return Err(deny(store, actor, ACTION, Some(id.to_string())).await);
    }
    let mut tx = store.begin().await?;
    let n = sqlx::query("DELETE FROM energy_targets WHERE id = $1 AND version = $2")
        .bind(id)
        .bind(version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 0 {
        let e = stale(&mut tx, id).await?;
        drop(tx);
        failed(store, actor, ACTION, Some(id.to_string()), &e).await;
        return Err(e);
    }
    audit::record(
        &mut tx,
        actor,
        audit::Event {
            action: ACTION,
            target_type: "energy_target",
            target_id: Some(id.to_string()),
            outcome: audit::OK,
            detail: format!("version={version}"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Demo targets: every district's carbon 5 % below last year's in this year, and the first
/// entity with an electricity meter 8 % below last year's electricity. Idempotent (existing
/// targets are left as they are); the number of targets added.
pub async fn demo_targets(store: &Store, now: i64) -> sqlx::Result<u64> {
    let year = clock(now).0;
    let mut tx = store.begin().await?;
    let mut added = 0;
    for d in super::grids::DISTRICTS {
        added += sqlx::query(
            "INSERT INTO energy_targets (scope, district_code, metric, baseline_year, target_year, \
             reduction_pct, note, created_at, updated_at) \
             VALUES ('district', $1, 'carbon', $2, $3, 5.0, $4, $5, $5) ON CONFLICT DO NOTHING",
        )
        .bind(d.0)
        .bind(year - 1)
        .bind(year)
        .bind("碳排放较上年下降 5% · Carbon 5 % below last year")
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    let entity: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(entity_id) FROM meters WHERE energy_type = 'electricity' AND parent_id IS NULL",
    )
    .fetch_one(&mut *tx)
    .await?;
    if let Some(entity) = entity {
        added += sqlx::query(
            "INSERT INTO energy_targets (scope, entity_id, metric, baseline_year, target_year, \
             reduction_pct, note, created_at, updated_at) \
             VALUES ('entity', $1, 'electricity', $2, $3, 8.0, $4, $5, $5) ON CONFLICT DO NOTHING",
        )
        .bind(entity)
        .bind(year - 1)
        .bind(year)
        .bind("节能改造后用电下降 8% · Electricity 8 % lower after the retrofit")
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(added)
}

// ---------------------------------------------------------------------------------------------
// Emission factors
// ---------------------------------------------------------------------------------------------

pub async fn factors_view(store: &Store, u: &CurrentUser) -> Result<FactorsView, AppError> {
    let rows: Vec<(i64, i64, String, String, f64, String, i64, i64)> = sqlx::query_as(
        "SELECT id, year, region, energy_type, kg_per_unit, source, created_at, COALESCE(superseded_at, 0) \
         FROM emission_factors ORDER BY year DESC, region, energy_type, id DESC",
    )
    .fetch_all(store.pool())
    .await?;
    let (mut current, mut superseded) = (Vec::new(), Vec::new());
    for (id, year, region, energy_type, kg_per_unit, source, at, sup) in rows {
        let row = FactorRow {
            id,
            year,
            region,
            energy_type,
            kg_per_unit,
            source,
            since: fmt_local(at),
            superseded_at: (sup != 0).then(|| fmt_local(sup)),
        };
        if sup == 0 {
            current.push(row);
        } else {
            superseded.push(row);
        }
    }
    Ok(FactorsView {
        current,
        superseded,
        region: super::energy_ingest::factors(store).await?.1,
        can_edit: may_edit(store, u).await?,
    })
}

fn valid_region(r: &str) -> bool {
    (2..=40).contains(&r.len())
        && r.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Adds a factor or revises the one in force for its year, region and type, and recomputes
/// carbon, all in one transaction.
#[allow(clippy::too_many_arguments)]
pub async fn save_factor(
    store: &Store,
    u: &CurrentUser,
    actor: &Actor,
    year: &str,
    region: &str,
    energy_type: &str,
    kg_per_unit: &str,
    source: &str,
    now: i64,
) -> Result<FactorSaved, AppError> {
    const ACTION: &str = "emission_factor.save";
    if !may_edit(store, u).await? {
        return Err(deny(store, actor, ACTION, None).await);
    }
    let mut errs = Vec::new();
    let year = parse_int(year).filter(|y| (2000..=2100).contains(y));
    if year.is_none() {
        errs.push(FieldError::new("year", K::BadNumber));
    }
    let region = match region.trim() {
        "" => super::energy_ingest::factors(store).await?.1,
        r => r.to_ascii_lowercase(),
    };
    if !valid_region(&region) {
        errs.push(FieldError::new("region", K::CodeFormat));
    }
    let ty = EnergyType::from_code(energy_type.trim());
    if ty.is_none() {
        errs.push(FieldError::new("energy_type", K::Required));
    }
    let kg = parse_num(kg_per_unit).filter(|k| (0.0..100.0).contains(k));
    if kg.is_none() {
        errs.push(FieldError::new("kg_per_unit", K::BadNumber));
    }
    let source = source.trim();
    if source.is_empty() {
        errs.push(FieldError::new("source", K::Required));
    } else if source.chars().count() > SOURCE_MAX {
        errs.push(FieldError::new("source", K::TooLong));
    }
    let (Some(year), Some(ty), Some(kg), true) = (year, ty, kg, errs.is_empty()) else {
        let e = AppError::Invalid(errs);
        failed(store, actor, ACTION, None, &e).await;
        return Err(e);
    };
    let mut tx = store.begin().await?;
    let old: Option<(i64, f64)> = sqlx::query_as(
        "SELECT id, kg_per_unit FROM emission_factors WHERE year = $1 AND region = $2 \
         AND energy_type = $3 AND superseded_at IS NULL",
    )
    .bind(year)
    .bind(region.as_str())
    .bind(ty.code())
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((old_id, _)) = old {
        sqlx::query(
            "UPDATE emission_factors SET superseded_at = $1, superseded_by = $2 WHERE id = $3",
        )
        .bind(now)
        .bind(u.id)
        .bind(old_id)
        .execute(&mut *tx)
        .await?;
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO emission_factors (year, region, energy_type, kg_per_unit, source, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(year)
    .bind(region.as_str())
    .bind(ty.code())
    .bind(kg)
    .bind(source)
    .bind(u.id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let rows = recompute_carbon(&mut tx, ty, year).await?;
    audit::record(
        &mut tx,
        actor,
        audit::Event {
            action: if old.is_some() {
                "emission_factor.revise"
            } else {
                "emission_factor.add"
            },
            target_type: "emission_factor",
            target_id: Some(id.to_string()),
            outcome: audit::OK,
            detail: format!(
                "year={year} region={region} type={} kg_per_unit={kg} source={source}{} recomputed_rows={rows}",
                ty.code(),
                old.map(|(i, k)| format!(" supersedes=#{i} (was {k})"))
                    .unwrap_or_default()
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(FactorSaved {
        id,
        revised: old.is_some(),
        recomputed_rows: rows as i64,
    })
}

/// Sets carbon_kg = value × the factor in force, for every rollup row of `ty` from year
/// `from` on (a factor of year Y can only apply to consumption of Y and later), one
/// set-based UPDATE per table and year. Rows of years without any factor get 0, as the
/// ingest gives them. The number of rows updated.
pub async fn recompute_carbon(tx: &mut Tx, ty: EnergyType, from: i64) -> sqlx::Result<u64> {
    let rows: Vec<(i64, String, String, f64)> = sqlx::query_as(
        "SELECT year, region, energy_type, kg_per_unit FROM emission_factors \
         WHERE superseded_at IS NULL AND energy_type = $1",
    )
    .bind(ty.code())
    .fetch_all(&mut **tx)
    .await?;
    let factors: Vec<Factor> = rows
        .into_iter()
        .map(|(year, region, energy_type, kg_per_unit)| Factor {
            year: year as i32,
            region,
            energy_type,
            kg_per_unit,
        })
        .collect();
    let region: String =
        sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = $1")
            .bind(super::energy_ingest::REGION_SETTING)
            .fetch_optional(&mut **tx)
            .await?
            .unwrap_or_else(|| rules::NATIONAL.into());
    // The last year any rollup of this type holds.
    let mut last: Option<i64> = None;
    for table in ["energy_entity_month", "energy_district_month"] {
        let m: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT MAX(month) FROM {table} WHERE energy_type = $1"
        ))
        .bind(ty.code())
        .fetch_one(&mut **tx)
        .await?;
        last = last.max(m.map(|m| m / 100));
    }
    for table in ["energy_entity_day", "energy_district_day"] {
        let d: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT MAX(day) FROM {table} WHERE energy_type = $1"
        ))
        .bind(ty.code())
        .fetch_one(&mut **tx)
        .await?;
        last = last.max(d.map(|d| i64::from(e::civil(d).0)));
    }
    let Some(last) = last else { return Ok(0) };
    let mut n = 0;
    for year in from..=last {
        let kg = rules::pick_factor(&factors, year as i32, &region, ty.code())
            .map_or(0.0, |f| f.kg_per_unit);
        let days = (
            e::days_from_civil(year as i32, 1, 1),
            e::days_from_civil(year as i32 + 1, 1, 1),
        );
        for table in ["energy_entity_day", "energy_district_day"] {
            n += sqlx::query(&format!(
                "UPDATE {table} SET carbon_kg = value * $1 WHERE energy_type = $2 AND day >= $3 AND day < $4"
            ))
            .bind(kg)
            .bind(ty.code())
            .bind(days.0)
            .bind(days.1)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        }
        for table in ["energy_entity_month", "energy_district_month"] {
            n += sqlx::query(&format!(
                "UPDATE {table} SET carbon_kg = value * $1 WHERE energy_type = $2 AND month >= $3 AND month <= $4"
            ))
            .bind(kg)
            .bind(ty.code())
            .bind(year * 100 + 1)
            .bind(year * 100 + 12)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::energy_rules::Status;

    #[test]
    fn the_clock_is_shanghai() {
        // 2026-03-16 16:00 UTC = 2026-03-17 00:00 Shanghai: 16 of 31 days gone.
        let ms = crate::db::local_day_start_ms("2026-03-17").unwrap();
        let (y, m, f) = clock(ms);
        assert_eq!((y, m), (2026, 3));
        assert!((f - 16.0 / 31.0).abs() < 1e-9);
        // 2025-12-31 16:00 UTC is already 2026 in Shanghai.
        let (y, m, f) = clock(crate::db::local_day_start_ms("2026-01-01").unwrap());
        assert_eq!((y, m, f), (2026, 1, 0.0));
    }

    #[test]
    fn past_and_future_target_years() {
        let now = crate::db::local_day_start_ms("2026-07-01").unwrap();
        let base = [Some(100.0); 12];
        let actual = [Some(90.0); 12];
        // 2025 is over: twelve months of 90 = 1080 = the target at 10 % → on track.
        let p = judge(&base, &actual, 10.0, 2025, now);
        assert_eq!(p.status, Status::OnTrack);
        assert_eq!(p.forecast, Some(1080.0));
        // 2027 has not begun: no data, but the target is known.
        let p = judge(&base, &actual, 10.0, 2027, now);
        assert_eq!(p.status, Status::NoData);
        assert!((p.target - 1080.0).abs() < 1e-9);
        assert_eq!(parse_num(" 5,5 % "), Some(5.5));
        assert!(valid_region("north_china") && !valid_region("North China"));
    }
}
