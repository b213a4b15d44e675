//! Energy anomalies: found by comparing each entity's hourly rollup with its own hour-of-week
//! history (`domain::energy_rules::detect`), kept in `energy_anomalies` (one row per entity,
//! type, kind and hour, so a detection run repeated finds nothing new), then read and
//! decided by the energy office.
use super::{fmt_local, Store};
use crate::domain::energy::{EnergyType, DAY_MS, HOUR_MS};
use crate::domain::energy_rules::{detect, Thresholds};
use crate::error::AppError;
use crate::model::{AnomalyRow, CurrentUser};

/// History read for a verdict: four earlier weeks and the days examined.
const HISTORY_MS: i64 = 35 * DAY_MS;

/// The smallest excess (in the type's unit per hour) worth reporting.
fn floor(t: EnergyType) -> f64 {
    match t {
        EnergyType::Electricity => 5.0,
        EnergyType::Heat => 0.05,
        EnergyType::Water => 0.5,
        EnergyType::Gas => 0.5,
    }
}

/// Runs detection over hours from `since` for the entities whose meters sent readings since
/// `changed_since` (every entity with data when None); returns how many anomalies are new.
pub async fn run(
    store: &Store,
    since: i64,
    changed_since: Option<i64>,
    now: i64,
) -> sqlx::Result<usize> {
    let pairs: Vec<(i64, String)> = sqlx::query_as(
        "SELECT DISTINCT m.entity_id, m.energy_type FROM meters m \
         WHERE m.parent_id IS NULL AND m.last_received_at IS NOT NULL AND ($1 = 0 OR m.last_received_at >= $1)",
    )
    .bind(changed_since.unwrap_or(0))
    .fetch_all(store.pool())
    .await?;
    let mut found = 0;
    for (entity, ty) in pairs {
        let Some(t) = EnergyType::from_code(&ty) else {
            continue;
        };
        let hours: Vec<(i64, f64)> = sqlx::query_as(
            "SELECT hour, value FROM energy_entity_hour WHERE entity_id = $1 AND energy_type = $2 AND hour >= $3 ORDER BY hour",
        )
        .bind(entity)
        .bind(ty.as_str())
        .bind(since - HISTORY_MS)
        .fetch_all(store.pool())
        .await?;
        let th = Thresholds {
            floor: floor(t),
            ..Thresholds::default()
        };
        // An hour that usually draws next to nothing (street lights by day, heat before the
        // season) has no load to depart from: lights coming on at a shifting dusk or the
        // heating season starting are not anomalies.
        let list: Vec<_> = detect(&hours, since, &th)
            .into_iter()
            .filter(|a| a.expected >= floor(t))
            .collect();
        if list.is_empty() {
            continue;
        }
        let mut tx = store.begin().await?;
        for a in list {
            let n = sqlx::query(
                "INSERT INTO energy_anomalies (entity_id, energy_type, kind, hour, observed, expected, state, detected_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'open', $7) ON CONFLICT (entity_id, energy_type, kind, hour) DO NOTHING",
            )
            .bind(entity)
            .bind(ty.as_str())
            .bind(a.kind.code())
            .bind(a.hour)
            .bind(a.observed)
            .bind(a.expected)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            found += n as usize;
        }
        tx.commit().await?;
    }
    Ok(found)
}

type Row = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    f64,
    f64,
    String,
    Option<i64>,
    i64,
);

fn row(r: Row) -> AnomalyRow {
    AnomalyRow {
        id: r.0,
        entity_id: r.1,
        entity_code: r.2,
        entity_zh: r.3,
        entity_en: r.4,
        energy_type: r.5.clone(),
        unit: EnergyType::from_code(&r.5)
            .map_or("", EnergyType::unit)
            .to_string(),
        kind: r.6,
        hour: fmt_local(r.7),
        hour_ms: r.7,
        observed: r.8,
        expected: r.9,
        state: r.10,
        case_id: r.11,
        detected_at: fmt_local(r.12),
    }
}

const COLS: &str =
    "a.id, a.entity_id, e.code, e.name_zh, e.name_en, a.energy_type, a.kind, a.hour, a.observed, \
                    a.expected, a.state, a.case_id, a.detected_at";

/// Anomalies in `state` (all when empty) the caller may read, newest first.
pub async fn list(
    store: &Store,
    u: &CurrentUser,
    state: &str,
) -> Result<Vec<AnomalyRow>, AppError> {
    let scope = super::energy::scope(store, u).await?;
    let sql = format!(
        "SELECT {COLS} FROM energy_anomalies a JOIN energy_entities e ON e.id = a.entity_id \
         WHERE ($1 = '' OR a.state = $1) AND ($2 = 0 OR e.department_id = $2) ORDER BY a.hour DESC, a.id DESC LIMIT 200"
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(state)
        .bind(scope.unwrap_or(0))
        .fetch_all(store.pool())
        .await?;
    Ok(rows.into_iter().map(row).collect())
}

/// One anomaly with the entity's hours around it (three days before to a day after) and the
/// same hours of the four weeks before, averaged: the evidence.
pub async fn get(
    store: &Store,
    u: &CurrentUser,
    id: i64,
) -> Result<(AnomalyRow, Vec<(i64, Option<f64>, Option<f64>)>), AppError> {
    let scope = super::energy::scope(store, u).await?;
    let sql = format!(
        "SELECT {COLS} FROM energy_anomalies a JOIN energy_entities e ON e.id = a.entity_id \
         WHERE a.id = $1 AND ($2 = 0 OR e.department_id = $2)"
    );
    let r: Option<Row> = sqlx::query_as(&sql)
        .bind(id)
        .bind(scope.unwrap_or(0))
        .fetch_optional(store.pool())
        .await?;
    let a = row(r.ok_or(AppError::NotFound)?);
    let from = a.hour_ms - 3 * DAY_MS;
    let to = a.hour_ms + DAY_MS;
    let hours: std::collections::HashMap<i64, f64> = sqlx::query_as::<_, (i64, f64)>(
        "SELECT hour, value FROM energy_entity_hour WHERE entity_id = $1 AND energy_type = $2 AND hour >= $3 AND hour < $4",
    )
    .bind(a.entity_id)
    .bind(&a.energy_type)
    .bind(from - 28 * DAY_MS)
    .bind(to)
    .fetch_all(store.pool())
    .await?
    .into_iter()
    .collect();
    let series = (0..(to - from) / HOUR_MS)
        .map(|i| {
            let h = from + i * HOUR_MS;
            let past: Vec<f64> = (1..=4)
                .filter_map(|k| hours.get(&(h - k * 7 * DAY_MS)).copied())
                .collect();
            let usual = (!past.is_empty()).then(|| past.iter().sum::<f64>() / past.len() as f64);
            (h, hours.get(&h).copied(), usual)
        })
        .collect();
    Ok((a, series))
}

/// Dismisses an open anomaly (analysts of the energy office).
pub async fn dismiss(store: &Store, u: &CurrentUser, id: i64) -> Result<(), AppError> {
    if !super::energy::may_edit(store, u).await? {
        return Err(AppError::Forbidden);
    }
    let now = super::now_ms();
    let mut tx = store.begin().await?;
    let n = sqlx::query(
        "UPDATE energy_anomalies SET state = 'dismissed', decided_by = $1, decided_at = $2 WHERE id = $3 AND state = 'open'",
    )
    .bind(u.id)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(AppError::Conflict);
    }
    super::audit::record(
        &mut tx,
        &crate::auth::actor(u),
        super::audit::Event {
            action: "energy_anomaly.dismiss",
            target_type: "energy_anomaly",
            target_id: Some(id.to_string()),
            outcome: super::audit::OK,
            detail: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
