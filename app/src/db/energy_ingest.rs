//! Readings ingest: one path for the machine API (`POST /api/v1/readings`), CSV uploads and
//! the demo data. A batch of readings is one transaction that stores the new readings,
//! replaces corrected ones (keeping the old value in `reading_corrections`) and adds the
//! differences to every rollup (`domain::energy::Rollup`), so pages read rollups and never
//! rescan raw readings.
//!
//! Idempotency: a reading is identified by (meter, interval start). Sent again with the same
//! value it changes nothing; with another value it is a correction.
//!
//! Concurrency: on PostgreSQL a batch takes transaction advisory locks on the buckets of its
//! meters (meter id mod 1,024, in ascending order), so two batches touching one meter take
//! turns (a correction's difference is computed from the value stored before), while batches
//! of other meters proceed side by side. Rollup rows are written in key order, so batches
//! that share a district and hour wait for each other but never deadlock. SQLite has one
//! writer.
use super::ingest::positional;
use super::{values_sql, DbKind, Store, Tx};
use crate::domain::energy::{self as rules, EnergyType, MeterInfo, Outcome, Rollup};
use crate::domain::energy_rules::{pick_factor, Factor};
use serde_json::Value;
use std::collections::HashMap;

/// Most readings in one API batch.
pub const MAX_READINGS: usize = 10_000;
/// Setting naming the department that owns the city's energy data (its analysts edit,
/// its keys may send readings for any meter).
pub const OWNER_SETTING: &str = "energy.owner_department";
/// Setting naming the grid region of the city's emission factors.
pub const REGION_SETTING: &str = "energy.region";
/// Advisory lock class of meter buckets (PostgreSQL).
const LOCK_CLASS: i32 = 0x454E;
const LOCK_BUCKETS: i64 = 1024;
/// Rows per statement: SQLite binds at most 32,766 parameters.
const CHUNK: usize = 5000;

/// A meter as the ingest sees it.
#[derive(Debug, Clone)]
pub struct MeterRef {
    pub info: MeterInfo,
    pub code: String,
    /// The department that owns the meter's entity.
    pub department_id: i64,
    pub interval_minutes: i64,
}

/// One reading to store: consumption `value` during the interval starting at `ts`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadingRow {
    pub meter_id: i64,
    pub ts: i64,
    pub value: f64,
}

/// Meters by code (all of them when `codes` is None).
pub async fn load_meters(
    store: &Store,
    codes: Option<&[&str]>,
) -> sqlx::Result<HashMap<String, MeterRef>> {
    let base = "SELECT m.id, m.code, m.entity_id, e.district_code, m.energy_type, \
                CASE WHEN m.parent_id IS NULL THEN 0 ELSE 1 END, e.department_id, m.interval_minutes \
                FROM meters m JOIN energy_entities e ON e.id = m.entity_id";
    type Row = (i64, String, i64, String, String, i64, i64, i64);
    let mut rows: Vec<Row> = Vec::new();
    match codes {
        None => {
            rows = sqlx::query_as::<_, Row>(base)
                .fetch_all(store.pool())
                .await?
        }
        Some(codes) => {
            for chunk in codes.chunks(1000) {
                let ph: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                let sql = positional(
                    store.kind,
                    format!("{base} WHERE m.code IN ({})", ph.join(",")),
                );
                let mut q = sqlx::query_as::<_, Row>(&sql).persistent(false);
                for c in chunk {
                    q = q.bind(*c);
                }
                rows.extend(q.fetch_all(store.pool()).await?);
            }
        }
    }
    Ok(rows
        .into_iter()
        .filter_map(
            |(id, code, entity_id, district_code, ty, sub, dept, interval)| {
                Some((
                    code.clone(),
                    MeterRef {
                        info: MeterInfo {
                            id,
                            entity_id,
                            district_code,
                            energy_type: EnergyType::from_code(&ty)?,
                            is_sub_meter: sub != 0,
                        },
                        code,
                        department_id: dept,
                        interval_minutes: interval,
                    },
                ))
            },
        )
        .collect())
}

/// The emission factors in force and the city's region.
pub async fn factors(store: &Store) -> sqlx::Result<(Vec<Factor>, String)> {
    let rows: Vec<(i64, String, String, f64)> = sqlx::query_as(
        "SELECT year, region, energy_type, kg_per_unit FROM emission_factors WHERE superseded_at IS NULL",
    )
    .fetch_all(store.pool())
    .await?;
    let region: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(REGION_SETTING)
        .fetch_optional(store.pool())
        .await?;
    Ok((
        rows.into_iter()
            .map(|(year, region, energy_type, kg_per_unit)| Factor {
                year: year as i32,
                region,
                energy_type,
                kg_per_unit,
            })
            .collect(),
        region.unwrap_or_else(|| "national".into()),
    ))
}

/// kg CO2 per unit for readings of `ty` in local `day`'s year (0 when no factor applies).
pub fn factor_for(factors: &[Factor], region: &str, ty: EnergyType, day: i64) -> f64 {
    let (year, _, _) = rules::civil(day);
    pick_factor(factors, year, region, ty.code()).map_or(0.0, |f| f.kg_per_unit)
}

/// The department owning the city's energy data.
pub async fn owner_department(pool: &sqlx::AnyPool) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT d.id FROM departments d JOIN settings s ON s.value = d.code WHERE s.key = $1",
    )
    .bind(OWNER_SETTING)
    .fetch_optional(pool)
    .await
}

/// Stores `rows` (at most one per (meter, ts): the caller refuses repeats within a batch)
/// in one transaction; the outcome of each row, in order. `meters` must hold every row's
/// meter. `source` says where the readings came from (`api:<integration>`, `csv:<upload>`).
pub async fn store_readings(
    store: &Store,
    rows: &[ReadingRow],
    meters: &HashMap<i64, MeterInfo>,
    source: &str,
    now: i64,
) -> sqlx::Result<Vec<Outcome>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let (factors, region) = factors(store).await?;
    let mut tx = store.begin().await?;
    let out = store_in(
        &mut tx, store.kind, rows, meters, &factors, &region, source, now,
    )
    .await?;
    tx.commit().await?;
    Ok(out)
}

/// `store_readings` inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub async fn store_in(
    tx: &mut Tx,
    kind: DbKind,
    rows: &[ReadingRow],
    meters: &HashMap<i64, MeterInfo>,
    factors: &[Factor],
    region: &str,
    source: &str,
    now: i64,
) -> sqlx::Result<Vec<Outcome>> {
    if kind == DbKind::Postgres {
        let mut buckets: Vec<i64> = rows
            .iter()
            .map(|r| r.meter_id.rem_euclid(LOCK_BUCKETS))
            .collect();
        buckets.sort_unstable();
        buckets.dedup();
        let list = Value::from(buckets).to_string();
        sqlx::query(
            "SELECT COUNT(pg_advisory_xact_lock($1, b::int)) FROM \
             (SELECT b FROM json_array_elements_text($2::json) WITH ORDINALITY AS j(b, n) ORDER BY n) t",
        )
        .bind(LOCK_CLASS)
        .bind(list)
        .execute(&mut **tx)
        .await?;
    }
    // 1. Insert what is new; rows already stored come back as conflicts.
    let mut inserted: std::collections::HashSet<(i64, i64)> = std::collections::HashSet::new();
    for chunk in rows.chunks(CHUNK) {
        let ret: Vec<(i64, i64)> = if kind == DbKind::Postgres {
            let data: Vec<Value> = chunk
                .iter()
                .map(|r| serde_json::json!([r.meter_id, r.ts, r.value]))
                .collect();
            sqlx::query_as(
                "INSERT INTO readings (meter_id, ts, value, received_at, source) \
                 SELECT (x->>0)::bigint, (x->>1)::bigint, (x->>2)::double precision, $1, $2 \
                 FROM json_array_elements($3::json) AS x \
                 ON CONFLICT (meter_id, ts) DO NOTHING RETURNING meter_id, ts",
            )
            .bind(now)
            .bind(source)
            .bind(Value::Array(data).to_string())
            .fetch_all(&mut **tx)
            .await?
        } else {
            let sql = positional(
                kind,
                values_sql(
                    "INSERT INTO readings (meter_id, ts, value, received_at, source) VALUES ",
                    chunk.len(),
                    5,
                ) + " ON CONFLICT (meter_id, ts) DO NOTHING RETURNING meter_id, ts",
            );
            let mut q = sqlx::query_as::<_, (i64, i64)>(&sql).persistent(false);
            for r in chunk {
                q = q
                    .bind(r.meter_id)
                    .bind(r.ts)
                    .bind(r.value)
                    .bind(now)
                    .bind(source);
            }
            q.fetch_all(&mut **tx).await?
        };
        inserted.extend(ret);
    }
    // 2. The others were stored before: same value or a correction.
    let again: Vec<&ReadingRow> = rows
        .iter()
        .filter(|r| !inserted.contains(&(r.meter_id, r.ts)))
        .collect();
    let mut stored: HashMap<(i64, i64), f64> = HashMap::new();
    for chunk in again.chunks(1000) {
        let sql = positional(
            kind,
            values_sql(
                "SELECT r.meter_id, r.ts, r.value FROM (VALUES ",
                chunk.len(),
                2,
            ) + ") AS v JOIN readings r ON r.meter_id = v.column1 AND r.ts = v.column2",
        );
        let mut q = sqlx::query_as::<_, (i64, i64, f64)>(&sql).persistent(false);
        for r in chunk {
            q = q.bind(r.meter_id).bind(r.ts);
        }
        for (m, ts, v) in q.fetch_all(&mut **tx).await? {
            stored.insert((m, ts), v);
        }
    }
    let mut outcomes = Vec::with_capacity(rows.len());
    let mut rollup = Rollup::default();
    let mut corrections: Vec<(&ReadingRow, f64)> = Vec::new();
    let mut latest: HashMap<i64, i64> = HashMap::new();
    for r in rows {
        let o = if inserted.contains(&(r.meter_id, r.ts)) {
            Outcome::Created
        } else {
            rules::outcome(stored.get(&(r.meter_id, r.ts)).copied(), r.value)
        };
        if let Outcome::Corrected { old } = o {
            corrections.push((r, old));
        }
        let d = rules::delta_of(o, r.value);
        if d != 0.0 || o == Outcome::Created {
            let m = &meters[&r.meter_id];
            let f = factor_for(factors, region, m.energy_type, rules::local_day(r.ts));
            rollup.add(m, r.ts, d, f);
        }
        let e = latest.entry(r.meter_id).or_insert(r.ts);
        *e = (*e).max(r.ts);
        outcomes.push(o);
    }
    // 3. Corrections replace the value and are recorded.
    for chunk in corrections.chunks(1000) {
        let sql = positional(
            kind,
            values_sql(
                "INSERT INTO reading_corrections (meter_id, ts, old_value, new_value, source, at) VALUES ",
                chunk.len(),
                6,
            ),
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for (r, old) in chunk {
            q = q
                .bind(r.meter_id)
                .bind(r.ts)
                .bind(*old)
                .bind(r.value)
                .bind(source)
                .bind(now);
        }
        q.execute(&mut **tx).await?;
        let sql = positional(
            kind,
            values_sql(
                "UPDATE readings SET value = v.column3, received_at = v.column4, source = v.column5 FROM (VALUES ",
                chunk.len(),
                5,
            ) + ") AS v WHERE readings.meter_id = v.column1 AND readings.ts = v.column2",
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for (r, _) in chunk {
            q = q
                .bind(r.meter_id)
                .bind(r.ts)
                .bind(r.value)
                .bind(now)
                .bind(source);
        }
        q.execute(&mut **tx).await?;
    }
    // 4. Rollups.
    write_rollup(tx, kind, &rollup).await?;
    // 5. Each meter's latest interval and when it last sent.
    let mut latest: Vec<(i64, i64)> = latest.into_iter().collect();
    latest.sort_unstable();
    for chunk in latest.chunks(1000) {
        let sql = positional(
            kind,
            values_sql("UPDATE meters SET last_reading_at = CASE WHEN last_reading_at IS NULL OR last_reading_at < v.column2 \
                        THEN v.column2 ELSE last_reading_at END, last_received_at = v.column3 FROM (VALUES ", chunk.len(), 3)
                + ") AS v WHERE meters.id = v.column1",
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for (m, ts) in chunk {
            q = q.bind(*m).bind(*ts).bind(now);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(outcomes)
}

/// Adds a batch's differences to the rollup tables, each in key order.
pub async fn write_rollup(tx: &mut Tx, kind: DbKind, r: &Rollup) -> sqlx::Result<()> {
    let meter_day: Vec<(Value, Value, f64, f64)> = r
        .meter_day
        .iter()
        .map(|(&(m, d), &v)| (Value::from(m), Value::from(d), v, 0.0))
        .collect();
    upsert(
        tx,
        kind,
        "energy_meter_day",
        &["meter_id", "day"],
        false,
        &meter_day,
    )
    .await?;
    let key3 =
        |e: i64, t: EnergyType, b: i64| (Value::from(e), Value::from(t.code()), Value::from(b));
    let entity_hour: Vec<_> = r
        .entity_hour
        .iter()
        .map(|(&(e, t, h), &v)| (key3(e, t, h), v, 0.0))
        .collect();
    upsert3(
        tx,
        kind,
        "energy_entity_hour",
        &["entity_id", "energy_type", "hour"],
        false,
        &entity_hour,
    )
    .await?;
    for (table, map, col) in [
        ("energy_entity_day", &r.entity_day, "day"),
        ("energy_entity_month", &r.entity_month, "month"),
    ] {
        let rows: Vec<_> = map
            .iter()
            .map(|(&(e, t, b), d)| (key3(e, t, b), d.value, d.carbon_kg))
            .collect();
        upsert3(
            tx,
            kind,
            table,
            &["entity_id", "energy_type", col],
            true,
            &rows,
        )
        .await?;
    }
    let dkey =
        |d: &str, t: EnergyType, b: i64| (Value::from(d), Value::from(t.code()), Value::from(b));
    let district_hour: Vec<_> = r
        .district_hour
        .iter()
        .map(|((d, t, h), &v)| (dkey(d, *t, *h), v, 0.0))
        .collect();
    upsert3(
        tx,
        kind,
        "energy_district_hour",
        &["district_code", "energy_type", "hour"],
        false,
        &district_hour,
    )
    .await?;
    for (table, map, col) in [
        ("energy_district_day", &r.district_day, "day"),
        ("energy_district_month", &r.district_month, "month"),
    ] {
        let rows: Vec<_> = map
            .iter()
            .map(|((d, t, b), x)| (dkey(d, *t, *b), x.value, x.carbon_kg))
            .collect();
        upsert3(
            tx,
            kind,
            table,
            &["district_code", "energy_type", col],
            true,
            &rows,
        )
        .await?;
    }
    Ok(())
}

async fn upsert(
    tx: &mut Tx,
    kind: DbKind,
    table: &str,
    keys: &[&str; 2],
    carbon: bool,
    rows: &[(Value, Value, f64, f64)],
) -> sqlx::Result<()> {
    let rows: Vec<(Vec<Value>, f64, f64)> = rows
        .iter()
        .map(|(a, b, v, c)| (vec![a.clone(), b.clone()], *v, *c))
        .collect();
    upsert_n(tx, kind, table, keys, carbon, &rows).await
}

async fn upsert3(
    tx: &mut Tx,
    kind: DbKind,
    table: &str,
    keys: &[&str; 3],
    carbon: bool,
    rows: &[((Value, Value, Value), f64, f64)],
) -> sqlx::Result<()> {
    let rows: Vec<(Vec<Value>, f64, f64)> = rows
        .iter()
        .map(|((a, b, c), v, k)| (vec![a.clone(), b.clone(), c.clone()], *v, *k))
        .collect();
    upsert_n(tx, kind, table, keys, carbon, &rows).await
}

/// `INSERT ... ON CONFLICT (keys) DO UPDATE SET value = value + excluded.value [, carbon]`.
async fn upsert_n(
    tx: &mut Tx,
    kind: DbKind,
    table: &str,
    keys: &[&str],
    carbon: bool,
    rows: &[(Vec<Value>, f64, f64)],
) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut cols: Vec<&str> = keys.to_vec();
    cols.push("value");
    if carbon {
        cols.push("carbon_kg");
    }
    let set = if carbon {
        format!("value = {table}.value + excluded.value, carbon_kg = {table}.carbon_kg + excluded.carbon_kg")
    } else {
        format!("value = {table}.value + excluded.value")
    };
    let conflict = keys.join(", ");
    for chunk in rows.chunks(CHUNK / cols.len().max(1)) {
        if kind == DbKind::Postgres {
            // One JSON parameter: x = [key..., value, carbon].
            let casts: Vec<String> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    let ty = if *k == "district_code" || *k == "energy_type" {
                        "text"
                    } else {
                        "bigint"
                    };
                    format!("(x->>{i})::{ty}")
                })
                .collect();
            let n = keys.len();
            let mut sel = casts.join(", ");
            sel.push_str(&format!(", (x->>{n})::double precision"));
            if carbon {
                sel.push_str(&format!(", (x->>{})::double precision", n + 1));
            }
            let sql = format!(
                "INSERT INTO {table} ({}) SELECT {sel} FROM json_array_elements($1::json) AS x \
                 ON CONFLICT ({conflict}) DO UPDATE SET {set}",
                cols.join(", ")
            );
            let data: Vec<Value> = chunk
                .iter()
                .map(|(k, v, c)| {
                    let mut a = k.clone();
                    a.push(Value::from(*v));
                    if carbon {
                        a.push(Value::from(*c));
                    }
                    Value::Array(a)
                })
                .collect();
            sqlx::query(&sql)
                .bind(Value::Array(data).to_string())
                .execute(&mut **tx)
                .await?;
        } else {
            let sql = positional(
                kind,
                values_sql(
                    &format!("INSERT INTO {table} ({}) VALUES ", cols.join(", ")),
                    chunk.len(),
                    cols.len(),
                ) + &format!(" ON CONFLICT ({conflict}) DO UPDATE SET {set}"),
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for (k, v, c) in chunk {
                for key in k {
                    q = match key {
                        Value::String(s) => q.bind(s.clone()),
                        other => q.bind(other.as_i64().unwrap_or_default()),
                    };
                }
                q = q.bind(*v);
                if carbon {
                    q = q.bind(*c);
                }
            }
            q.execute(&mut **tx).await?;
        }
    }
    Ok(())
}

/// Oldest reading accepted (late meter data, a utility's back-fill).
pub const MAX_READING_AGE_MS: i64 = 5 * 366 * rules::DAY_MS;
/// Largest interval consumption accepted, in any unit (a typing error rather than a meter).
pub const MAX_VALUE: f64 = 1e9;

/// A reading's time: RFC 3339 with an offset, or a local Shanghai time `YYYY-MM-DD HH:MM[:SS]`
/// (also with `T`), as utilities export them.
pub fn parse_reading_time(s: &str) -> Option<i64> {
    use chrono::TimeZone;
    let s = s.trim();
    if let Some(ms) = super::ingest::parse_instant(s) {
        return Some(ms);
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y/%m/%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return chrono_tz::Asia::Shanghai
                .from_local_datetime(&t)
                .single()
                .map(|t| t.timestamp_millis());
        }
    }
    None
}

/// Why one reading was refused: the field and a stable code (messages `api_err_<code>`).
pub type ReadingError = super::ingest::ItemError;

fn rerr(field: &'static str, code: &'static str) -> ReadingError {
    ReadingError { field, code }
}

/// Checks one reading's fields: its meter (known, and one `department` may send for unless
/// it owns the energy data: `any_meter`), its time (an interval start of the meter, not in
/// the future, not older than five years) and its value (a number, 0 or more).
pub fn check_reading(
    meter: Option<&str>,
    at: Option<&str>,
    value: Option<&Value>,
    meters: &HashMap<String, MeterRef>,
    department: Option<i64>,
    now: i64,
) -> Result<(ReadingRow, i64), Vec<ReadingError>> {
    let mut errs = Vec::new();
    let m = match meter.map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            errs.push(rerr("meter", "required"));
            None
        }
        Some(code) => match meters.get(code) {
            None => {
                errs.push(rerr("meter", "unknown_meter"));
                None
            }
            Some(m) if department.is_some_and(|d| d != m.department_id) => {
                errs.push(rerr("meter", "meter_not_yours"));
                None
            }
            Some(m) => Some(m),
        },
    };
    let ts = match at.map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            errs.push(rerr("at", "required"));
            None
        }
        Some(s) => match parse_reading_time(s) {
            None => {
                errs.push(rerr("at", "bad_reading_time"));
                None
            }
            Some(ms) => Some(ms),
        },
    };
    let v = match value {
        None | Some(Value::Null) => {
            errs.push(rerr("value", "required"));
            None
        }
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        Some(_) => None,
    };
    let v = match (value, v) {
        (None | Some(Value::Null), _) => None,
        (_, None) => {
            errs.push(rerr("value", "bad_number"));
            None
        }
        (_, Some(x)) if x < 0.0 => {
            errs.push(rerr("value", "negative_value"));
            None
        }
        (_, Some(x)) if x > MAX_VALUE => {
            errs.push(rerr("value", "value_too_large"));
            None
        }
        (_, Some(x)) => Some(x),
    };
    if let (Some(m), Some(ts)) = (m, ts) {
        let step = m.interval_minutes * 60_000;
        if ts.rem_euclid(step) != 0 {
            errs.push(rerr("at", "not_interval_start"));
        } else if ts + step > now + 5 * 60_000 {
            errs.push(rerr("at", "reading_in_future"));
        } else if ts < now - MAX_READING_AGE_MS {
            errs.push(rerr("at", "reading_too_old"));
        }
    }
    match (m, ts, v) {
        (Some(m), Some(ts), Some(value)) if errs.is_empty() => Ok((
            ReadingRow {
                meter_id: m.info.id,
                ts,
                value,
            },
            m.info.id,
        )),
        _ => Err(errs),
    }
}

/// What became of one item of an API batch.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadingStatus {
    Stored(Outcome),
    Rejected(Vec<ReadingError>),
}

/// An API batch: items `{"meter": code, "at": time, "value": number}` checked one by one
/// (the key's department must own the meter's entity unless it owns the energy data), the
/// valid ones stored in one transaction. The status of each item, in order.
pub async fn api_readings(
    store: &Store,
    key: &super::skyeye::ApiKey,
    items: &[Value],
    now: i64,
) -> sqlx::Result<Vec<ReadingStatus>> {
    let codes: Vec<&str> = {
        let mut c: Vec<&str> = items
            .iter()
            .filter_map(|v| v.get("meter").and_then(Value::as_str))
            .map(str::trim)
            .collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    let meters = load_meters(store, Some(&codes)).await?;
    let owner = owner_department(store.pool()).await?;
    let department = (owner != Some(key.department_id)).then_some(key.department_id);
    let mut statuses: Vec<Option<ReadingStatus>> = vec![None; items.len()];
    let mut rows: Vec<ReadingRow> = Vec::new();
    let mut at_row: Vec<usize> = Vec::new();
    let mut seen: std::collections::HashSet<(i64, i64)> = std::collections::HashSet::new();
    for (i, v) in items.iter().enumerate() {
        if !v.is_object() {
            statuses[i] = Some(ReadingStatus::Rejected(vec![rerr("", "not_an_object")]));
            continue;
        }
        match check_reading(
            v.get("meter").and_then(Value::as_str),
            v.get("at").and_then(Value::as_str),
            v.get("value"),
            &meters,
            department,
            now,
        ) {
            Ok((row, _)) if !seen.insert((row.meter_id, row.ts)) => {
                statuses[i] = Some(ReadingStatus::Rejected(vec![rerr(
                    "at",
                    "duplicate_in_batch",
                )]))
            }
            Ok((row, _)) => {
                rows.push(row);
                at_row.push(i);
            }
            Err(errs) => statuses[i] = Some(ReadingStatus::Rejected(errs)),
        }
    }
    let infos: HashMap<i64, MeterInfo> = meters
        .values()
        .map(|m| (m.info.id, m.info.clone()))
        .collect();
    let (factors, region) = factors(store).await?;
    let mut tx = store.begin().await?;
    let source = format!("api:{}", key.source);
    let outcomes = store_in(
        &mut tx, store.kind, &rows, &infos, &factors, &region, &source, now,
    )
    .await?;
    if !rows.is_empty() {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(key.id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    for (i, o) in at_row.into_iter().zip(outcomes) {
        statuses[i] = Some(ReadingStatus::Stored(o));
    }
    Ok(statuses
        .into_iter()
        .map(|s| s.unwrap_or(ReadingStatus::Rejected(Vec::new())))
        .collect())
}
