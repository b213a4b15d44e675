//! What the energy pages read: rollups only (and one meter's own readings for its hourly
//! chart, a range of its key), never a scan of raw readings.
//!
//! Who reads what: leaders, administrators and the energy office (the department owning the
//! energy data) read everything; a department head reads the city and district totals and
//! the entities and meters of their own department.
use super::{fmt_local, Store};
use crate::domain::energy::{self as e, EnergyType};
use crate::domain::Role;
use crate::error::AppError;
use crate::model::{CurrentUser, EntityRow, MeterRow};
use std::collections::HashMap;

/// `readings` and `energy_entity_hour` are keyed by UTC day first: `(ts / 86400000, meter_id,
/// ts)` and `(hour / 86400000, entity_id, energy_type, hour)` (SQLite migration 0015,
/// PostgreSQL 0016), so a live feed's batch (every meter's latest hours) adds to the few
/// adjacent index pages of the current day, not to one page per meter. A lookup by key names
/// its day too; a range of one meter or entity is one index seek per day (`key_days`).
pub const KEY_DAY_MS: i64 = 86_400_000;

/// SQL condition: `col`'s key day (`col / 86400000`, as in the index) is one of the UTC days
/// overlapping [since, until), written in as integers (computed here, never from input).
pub fn key_days(col: &str, since: i64, until: i64) -> String {
    if until <= since {
        return "1 = 0".into();
    }
    let days: Vec<String> = (since.div_euclid(KEY_DAY_MS)..=(until - 1).div_euclid(KEY_DAY_MS))
        .map(|d| d.to_string())
        .collect();
    format!("({col} / {KEY_DAY_MS}) IN ({})", days.join(", "))
}

/// `None`: reads every entity (leaders, administrators, the owning department, and a
/// department holding a grant in force on the energy dataset: each such read, named by
/// `what`, is audited as `data.read`). `Some(d)`: only entities of department `d`.
pub async fn scope(store: &Store, u: &CurrentUser, what: &str) -> sqlx::Result<Option<i64>> {
    if matches!(u.role, Role::Admin | Role::Leader) {
        return Ok(None);
    }
    let owner = super::energy_ingest::owner_department(store.pool()).await?;
    Ok(
        if owner == Some(u.department_id)
            || super::datasets::read_via_grant(store, u, crate::model::DATASET_ENERGY, what).await?
        {
            None
        } else {
            Some(u.department_id)
        },
    )
}

/// Energy analysts of the department owning the energy data edit (uploads, targets, factors,
/// anomaly decisions).
pub async fn may_edit(store: &Store, u: &CurrentUser) -> sqlx::Result<bool> {
    Ok(u.role == Role::EnergyAnalyst
        && super::energy_ingest::owner_department(store.pool()).await? == Some(u.department_id))
}

/// `yyyy-mm` to yyyymm; the current Shanghai month when empty or malformed.
pub fn month_key(s: &str, now: i64) -> i64 {
    let parsed = s.split_once('-').and_then(|(y, m)| {
        let (y, m) = (y.parse::<i64>().ok()?, m.parse::<i64>().ok()?);
        ((2000..=2100).contains(&y) && (1..=12).contains(&m)).then_some(y * 100 + m)
    });
    parsed.unwrap_or_else(|| e::month_of_day(e::local_day(now)))
}

pub fn month_label(m: i64) -> String {
    format!("{}-{:02}", m / 100, m % 100)
}

pub fn prev_month(m: i64) -> i64 {
    if m % 100 == 1 {
        (m / 100 - 1) * 100 + 12
    } else {
        m - 1
    }
}

/// Days (local day numbers) of month yyyymm.
pub fn month_days(m: i64) -> std::ops::Range<i64> {
    let first = e::month_first_day(m);
    let next = e::month_first_day(if m % 100 == 12 {
        (m / 100 + 1) * 100 + 1
    } else {
        m + 1
    });
    first..next
}

/// Daily totals of `ty` for `days`, of a district or the city.
pub async fn daily(
    store: &Store,
    district: Option<&str>,
    ty: EnergyType,
    days: std::ops::Range<i64>,
) -> sqlx::Result<HashMap<i64, (f64, f64)>> {
    let rows: Vec<(i64, f64, f64)> = sqlx::query_as(
        "SELECT day, SUM(value), SUM(carbon_kg) FROM energy_district_day \
         WHERE energy_type = $1 AND day >= $2 AND day < $3 AND ($4 = '' OR district_code = $4) GROUP BY day",
    )
    .bind(ty.code())
    .bind(days.start)
    .bind(days.end)
    .bind(district.unwrap_or(""))
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().map(|(d, v, c)| (d, (v, c))).collect())
}

/// Carbon (kg) of every energy type over local days `from..to`, of a district or the city.
pub async fn carbon_between(
    store: &Store,
    district: Option<&str>,
    from: i64,
    to: i64,
) -> sqlx::Result<f64> {
    sqlx::query_scalar(
        "SELECT COALESCE(SUM(carbon_kg), 0.0) FROM energy_district_day \
         WHERE day >= $1 AND day < $2 AND ($3 = '' OR district_code = $3)",
    )
    .bind(from)
    .bind(to)
    .bind(district.unwrap_or(""))
    .fetch_one(store.pool())
    .await
}

/// Monthly totals of `ty` by district for months `from..=to` (yyyymm): (district, month) →
/// (value, carbon).
pub async fn monthly_by_district(
    store: &Store,
    ty: Option<EnergyType>,
    from: i64,
    to: i64,
) -> sqlx::Result<HashMap<(String, i64), (f64, f64)>> {
    let rows: Vec<(String, i64, f64, f64)> = sqlx::query_as(
        "SELECT district_code, month, SUM(value), SUM(carbon_kg) FROM energy_district_month \
         WHERE ($1 = '' OR energy_type = $1) AND month >= $2 AND month <= $3 GROUP BY district_code, month",
    )
    .bind(ty.map_or("", EnergyType::code))
    .bind(from)
    .bind(to)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(d, m, v, c)| ((d, m), (v, c)))
        .collect())
}

/// Hourly totals of `ty` from `since` (hour start) of a district or the city.
pub async fn hourly(
    store: &Store,
    district: Option<&str>,
    ty: EnergyType,
    since: i64,
    until: i64,
) -> sqlx::Result<HashMap<i64, f64>> {
    let rows: Vec<(i64, f64)> = sqlx::query_as(
        "SELECT hour, SUM(value) FROM energy_district_hour \
         WHERE energy_type = $1 AND hour >= $2 AND hour < $3 AND ($4 = '' OR district_code = $4) GROUP BY hour",
    )
    .bind(ty.code())
    .bind(since)
    .bind(until)
    .bind(district.unwrap_or(""))
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().collect())
}

/// Hourly totals of one entity.
pub async fn entity_hourly(
    store: &Store,
    entity: i64,
    ty: EnergyType,
    since: i64,
    until: i64,
) -> sqlx::Result<HashMap<i64, f64>> {
    let sql = format!(
        "SELECT hour, value FROM energy_entity_hour WHERE {} AND entity_id = $1 AND energy_type = $2 \
         AND hour >= $3 AND hour < $4",
        key_days("hour", since, until)
    );
    let rows: Vec<(i64, f64)> = sqlx::query_as(&sql)
        .bind(entity)
        .bind(ty.code())
        .bind(since)
        .bind(until)
        .fetch_all(store.pool())
        .await?;
    Ok(rows.into_iter().collect())
}

/// Daily totals of one entity.
pub async fn entity_daily(
    store: &Store,
    entity: i64,
    ty: EnergyType,
    days: std::ops::Range<i64>,
) -> sqlx::Result<HashMap<i64, f64>> {
    let rows: Vec<(i64, f64)> = sqlx::query_as(
        "SELECT day, value FROM energy_entity_day WHERE entity_id = $1 AND energy_type = $2 AND day >= $3 AND day < $4",
    )
    .bind(entity)
    .bind(ty.code())
    .bind(days.start)
    .bind(days.end)
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().collect())
}

const ENTITY_COLS: &str =
    "e.id, e.code, e.name_zh, e.name_en, e.kind, e.district_code, d.name_zh, d.name_en";
type EntityTuple = (i64, String, String, String, String, String, String, String);

fn entity_row(t: EntityTuple, value: f64, carbon_kg: f64) -> EntityRow {
    EntityRow {
        id: t.0,
        code: t.1,
        name_zh: t.2,
        name_en: t.3,
        kind: t.4,
        district_code: t.5,
        department_zh: t.6,
        department_en: t.7,
        value,
        carbon_kg,
    }
}

/// The entities of a month with the most consumption of `ty` (of a district, and of
/// department `scope` when set), largest first.
pub async fn top_entities(
    store: &Store,
    scope: Option<i64>,
    district: Option<&str>,
    ty: EnergyType,
    month: i64,
    limit: i64,
) -> sqlx::Result<Vec<EntityRow>> {
    let sql = format!(
        "SELECT {ENTITY_COLS}, m.value, m.carbon_kg FROM energy_entity_month m \
         JOIN energy_entities e ON e.id = m.entity_id JOIN departments d ON d.id = e.department_id \
         WHERE m.energy_type = $1 AND m.month = $2 AND ($3 = '' OR e.district_code = $3) \
         AND ($4 = 0 OR e.department_id = $4) ORDER BY m.value DESC, e.id LIMIT $5"
    );
    let rows: Vec<(
        i64,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        f64,
        f64,
    )> = sqlx::query_as(&sql)
        .bind(ty.code())
        .bind(month)
        .bind(district.unwrap_or(""))
        .bind(scope.unwrap_or(0))
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| entity_row((r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7), r.8, r.9))
        .collect())
}

/// One entity, if the caller may read it; with this month's consumption of `ty`.
pub async fn entity(
    store: &Store,
    scope: Option<i64>,
    id: i64,
    ty: EnergyType,
    month: i64,
) -> Result<EntityRow, AppError> {
    let sql = format!(
        "SELECT {ENTITY_COLS}, e.department_id FROM energy_entities e JOIN departments d ON d.id = e.department_id WHERE e.id = $1"
    );
    let row: Option<(
        i64,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
    )> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    let Some(r) = row else {
        return Err(AppError::NotFound);
    };
    if scope.is_some_and(|d| d != r.8) {
        return Err(AppError::NotFound);
    }
    let (v, c): (f64, f64) = sqlx::query_as(
        "SELECT COALESCE(SUM(value), 0.0), COALESCE(SUM(carbon_kg), 0.0) FROM energy_entity_month \
         WHERE entity_id = $1 AND energy_type = $2 AND month = $3",
    )
    .bind(id)
    .bind(ty.code())
    .bind(month)
    .fetch_one(store.pool())
    .await?;
    Ok(entity_row((r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7), v, c))
}

/// The meters of an entity with their consumption in `month`, each parent before its
/// sub-meters.
pub async fn meters_of(store: &Store, entity: i64, month: i64) -> sqlx::Result<Vec<MeterRow>> {
    let days = month_days(month);
    let rows: Vec<(i64, String, String, String, String, Option<i64>, i64, f64, Option<i64>)> = sqlx::query_as(
        "SELECT m.id, m.code, m.name_zh, m.name_en, m.energy_type, m.parent_id, m.interval_minutes, \
         COALESCE((SELECT SUM(d.value) FROM energy_meter_day d WHERE d.meter_id = m.id AND d.day >= $2 AND d.day < $3), 0.0), \
         m.last_reading_at FROM meters m WHERE m.entity_id = $1 ORDER BY m.energy_type, m.code",
    )
    .bind(entity)
    .bind(days.start)
    .bind(days.end)
    .fetch_all(store.pool())
    .await?;
    let all: Vec<MeterRow> = rows
        .into_iter()
        .map(|r| MeterRow {
            id: r.0,
            code: r.1,
            name_zh: r.2,
            name_en: r.3,
            unit: EnergyType::from_code(&r.4)
                .map_or("", EnergyType::unit)
                .to_string(),
            energy_type: r.4,
            parent_id: r.5,
            interval_minutes: r.6,
            month_value: r.7,
            last_reading: r.8.map(fmt_local),
        })
        .collect();
    // Parents first, each followed by its sub-meters.
    let mut out = Vec::with_capacity(all.len());
    for m in all.iter().filter(|m| m.parent_id.is_none()) {
        out.push(m.clone());
        out.extend(all.iter().filter(|s| s.parent_id == Some(m.id)).cloned());
    }
    out.extend(
        all.iter()
            .filter(|m| m.parent_id.is_some_and(|p| !all.iter().any(|x| x.id == p)))
            .cloned(),
    );
    Ok(out)
}

/// Per meter with sub-meters: consumption the sub-meters do not account for.
pub fn unmetered(meters: &[MeterRow]) -> Vec<(i64, f64)> {
    meters
        .iter()
        .filter(|m| m.parent_id.is_none())
        .filter_map(|m| {
            let subs: Vec<&MeterRow> = meters
                .iter()
                .filter(|s| s.parent_id == Some(m.id))
                .collect();
            (!subs.is_empty()).then(|| {
                (
                    m.id,
                    m.month_value - subs.iter().map(|s| s.month_value).sum::<f64>(),
                )
            })
        })
        .collect()
}

/// A meter's readings from `since` to `until` (one key seek a day).
pub async fn meter_readings(
    store: &Store,
    meter: i64,
    since: i64,
    until: i64,
) -> sqlx::Result<Vec<(i64, f64)>> {
    let sql = format!(
        "SELECT ts, value FROM readings WHERE {} AND meter_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts",
        key_days("ts", since, until)
    );
    sqlx::query_as(&sql)
        .bind(meter)
        .bind(since)
        .bind(until)
        .fetch_all(store.pool())
        .await
}

/// A meter's daily totals.
pub async fn meter_daily(
    store: &Store,
    meter: i64,
    days: std::ops::Range<i64>,
) -> sqlx::Result<HashMap<i64, f64>> {
    let rows: Vec<(i64, f64)> = sqlx::query_as(
        "SELECT day, value FROM energy_meter_day WHERE meter_id = $1 AND day >= $2 AND day < $3",
    )
    .bind(meter)
    .bind(days.start)
    .bind(days.end)
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().collect())
}

/// The latest interval any meter (of department `scope`) reported.
pub async fn latest_reading(store: &Store, scope: Option<i64>) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT MAX(m.last_reading_at) FROM meters m JOIN energy_entities e ON e.id = m.entity_id \
         WHERE ($1 = 0 OR e.department_id = $1)",
    )
    .bind(scope.unwrap_or(0))
    .fetch_one(store.pool())
    .await
}

/// One meter with its entity (for the scope check) and parent code.
pub async fn meter(
    store: &Store,
    scope: Option<i64>,
    id: i64,
    month: i64,
) -> Result<(MeterRow, i64, String, String, Option<String>), AppError> {
    let r: Option<(i64, i64, String, String, i64)> = sqlx::query_as(
        "SELECT m.entity_id, e.department_id, e.name_zh, e.name_en, COALESCE(m.parent_id, 0) \
         FROM meters m JOIN energy_entities e ON e.id = m.entity_id WHERE m.id = $1",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    let Some((entity, dept, zh, en, parent)) = r else {
        return Err(AppError::NotFound);
    };
    if scope.is_some_and(|d| d != dept) {
        return Err(AppError::NotFound);
    }
    let row = meters_of(store, entity, month)
        .await?
        .into_iter()
        .find(|m| m.id == id)
        .ok_or(AppError::NotFound)?;
    let parent_code: Option<String> = if parent == 0 {
        None
    } else {
        sqlx::query_scalar("SELECT code FROM meters WHERE id = $1")
            .bind(parent)
            .fetch_optional(store.pool())
            .await?
    };
    Ok((row, entity, zh, en, parent_code))
}

/// A meter's latest corrections.
pub async fn corrections(store: &Store, meter: i64) -> sqlx::Result<Vec<crate::model::Correction>> {
    let rows: Vec<(i64, i64, f64, f64, String)> = sqlx::query_as(
        "SELECT at, ts, old_value, new_value, source FROM reading_corrections WHERE meter_id = $1 ORDER BY id DESC LIMIT 20",
    )
    .bind(meter)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(at, ts, old_value, new_value, source)| crate::model::Correction {
                at: fmt_local(at),
                interval: fmt_local(ts),
                old_value,
                new_value,
                source,
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months() {
        assert_eq!(prev_month(202601), 202512);
        assert_eq!(prev_month(202611), 202610);
        assert_eq!(month_key("2026-02", 0), 202602);
        assert_eq!(month_key("2026-13", 0), e::month_of_day(e::local_day(0)));
        assert_eq!(month_label(202602), "2026-02");
        let feb = month_days(202602);
        assert_eq!(feb.end - feb.start, 28);
        assert_eq!(month_days(202612).end - month_days(202612).start, 31);
    }

    #[test]
    fn unmetered_is_the_parent_minus_its_subs() {
        let m = |id, parent, v| MeterRow {
            id,
            code: String::new(),
            name_zh: String::new(),
            name_en: String::new(),
            energy_type: "electricity".into(),
            unit: "kWh".into(),
            parent_id: parent,
            interval_minutes: 60,
            month_value: v,
            last_reading: None,
        };
        let rows = vec![
            m(1, None, 100.0),
            m(2, Some(1), 30.0),
            m(3, Some(1), 45.0),
            m(4, None, 9.0),
        ];
        assert_eq!(unmetered(&rows), vec![(1, 25.0)]);
    }

    #[test]
    fn key_days_name_every_utc_day_the_range_touches() {
        const D: i64 = KEY_DAY_MS;
        // Seven days from 08:00 Shanghai (00:00 UTC) on UTC day 20,000: days 20,000 to 20,006.
        assert_eq!(
            key_days("ts", 20_000 * D, 20_007 * D),
            "(ts / 86400000) IN (20000, 20001, 20002, 20003, 20004, 20005, 20006)"
        );
        // An end just past midnight UTC reaches into the next day; one just before does not.
        assert_eq!(
            key_days("hour", 5 * D - 1, 6 * D + 1),
            "(hour / 86400000) IN (4, 5, 6)"
        );
        assert_eq!(key_days("hour", 5 * D, 6 * D), "(hour / 86400000) IN (5)");
        // An empty range matches nothing.
        assert_eq!(key_days("ts", 6 * D, 6 * D), "1 = 0");
        assert_eq!(key_days("ts", 7 * D, 6 * D), "1 = 0");
    }
}
