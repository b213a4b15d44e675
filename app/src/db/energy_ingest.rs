//! Readings ingest: one path for the machine API (`POST /api/v1/readings`), CSV uploads and
//! the demo data. A batch of readings is one transaction that stores the new readings,
//! replaces corrected ones (keeping the old value in `reading_corrections`) and adds the
//! differences to every rollup (`domain::energy::Rollup`), so pages read rollups and never
//! rescan raw readings.
//!
//! Idempotency: a reading is identified by (meter, interval start). Sent again with the same
//! value it changes nothing; with another value it is a correction.
//!
//! Concurrency: rows are handled in key order, (meter, interval start): one order for every
//! batch, which is what the reasoning below needs (the index's own order puts the day first,
//! `READINGS_KEY`; a batch of a few hours is in that order within each day). On PostgreSQL new
//! readings are inserted in that order (a batch waits for a concurrent batch's uncommitted
//! reading of the same key, never in a circle); a reading stored before is locked (`FOR NO
//! KEY UPDATE`, in key order) only when its value differs, so two batches correcting one
//! reading take turns and each moves the rollups by the difference to the value it replaced.
//! Rollup rows and meter rows are written in key order, so batches that share a district and
//! hour wait for each other but never deadlock. SQLite has one writer.
//!
//! Bulk rows travel as one parameter per column on PostgreSQL (an array literal, `unnest`ed)
//! and as one JSON parameter on SQLite (`json_each`), so each statement is prepared once. On
//! PostgreSQL an API batch first tries binary `COPY` of its readings and entity hours on a
//! native connection (`write_copied`), falling back to this path when a reading existed.
//! After the insert, the batch's other statements (corrections, rollups, meters) are one
//! `Script`: on PostgreSQL one text with the data written in as literals (numbers as Rust
//! prints them, strings quoted), one round trip, so a batch holding rows that other batches
//! wait for waits for nothing but the database (not for a busy app server to send the next
//! statement); on SQLite (one writer, in the process) prepared statements over chunks of
//! rows with parameters.
//!
//! Group commit (API batches, `ReadingsQueue`): batches that arrive while earlier ones are
//! being written wait and are written together next, in one transaction, and each answered
//! once it committed. Those whose every reading is new share one write of what they add
//! besides their readings (`Tally`): a live feed's batches of the same hours add to the same
//! meter, entity and district day and month rows and the same meters, written once per group
//! instead of once per batch; on SQLite they also share the current day's pages of the
//! readings and entity hour indexes, written and synced once per commit. SQLite writes one
//! group at a time, PostgreSQL `PG_TURNS`.
use super::{DbKind, Store, Tx};
use crate::domain::energy::{self as rules, EnergyType, MeterInfo, Outcome, Rollup};
use crate::domain::energy_rules::{pick_factor, Factor};
use serde_json::Value;
use sqlx::Executor as _;
use std::collections::HashMap;
use std::fmt::Write as _;

macro_rules! bind_all {
    ($q:expr, $params:expr) => {{
        let mut q = $q;
        for p in $params {
            q = q.bind(p);
        }
        q
    }};
}

/// Most readings in one API batch.
pub const MAX_READINGS: usize = 10_000;
/// Setting naming the department that owns the city's energy data (its analysts edit,
/// its keys may send readings for any meter).
pub const OWNER_SETTING: &str = "energy.owner_department";
/// Setting naming the grid region of the city's emission factors.
pub const REGION_SETTING: &str = "energy.region";
/// `api_keys.last_used_at` of a readings key is kept to this precision.
pub const KEY_USE_RESOLUTION_MS: i64 = 60_000;
/// Most rows per statement (each column is one parameter, whatever the rows).
const CHUNK: usize = 20_000;
/// The unique key of `readings` (day first: `super::energy::KEY_DAY_MS`), as an `ON CONFLICT`
/// target.
const READINGS_KEY: &str = "(ts / 86400000), meter_id, ts";
/// The unique key of `energy_entity_hour`, as an `ON CONFLICT` target.
const ENTITY_HOUR_KEY: &str = "(hour / 86400000), entity_id, energy_type, hour";

/// SQL condition: stored reading `r` (a table alias) is row `v`'s reading: their key, the day
/// too, so the index is used.
fn same_reading(r: &str, v: &str) -> String {
    format!(
        "{r}.ts / 86400000 = {v}.ts / 86400000 AND {r}.meter_id = {v}.meter_id AND {r}.ts = {v}.ts"
    )
}

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
    let rows: Vec<Row> = match codes {
        None => {
            sqlx::query_as::<_, Row>(base)
                .fetch_all(store.pool())
                .await?
        }
        Some(codes) => {
            // One parameter whatever the number of codes (a prepared statement).
            let (sql, param) = match store.kind {
                // A join, not `= ANY(array)`: that compares each meter with every code sent.
                DbKind::Postgres => (
                    format!("{base} JOIN unnest($1::text[]) AS c(code) ON c.code = m.code"),
                    Col::Text(codes.to_vec()).pg_literal(),
                ),
                DbKind::Sqlite => (
                    format!("{base} WHERE m.code IN (SELECT value FROM json_each($1))"),
                    Value::from(codes.to_vec()).to_string(),
                ),
            };
            sqlx::query_as::<_, Row>(&sql)
                .bind(param)
                .fetch_all(store.pool())
                .await?
        }
    };
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
///
/// The rows are handled in key order (meter, ts). The insert runs under a savepoint and is
/// kept when every reading was new (the usual case). Otherwise it is rolled back and, on
/// PostgreSQL, the readings go in with one `INSERT ... ON CONFLICT DO NOTHING`; the rows that
/// were stored before come back with the value the statement saw. A re-sent reading whose
/// stored value is the same is `unchanged` and takes no lock (nothing is written for it). The
/// others are locked (`FOR NO KEY UPDATE`, in key order) and decided on the value read under
/// the lock, so two batches correcting one reading take turns and each moves the rollups by
/// the difference to the value before it. On SQLite (one writer) the stored values are read
/// first, then the new readings inserted.
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
    let c = Context {
        kind,
        meters,
        factors,
        region,
        source,
        now,
        key_used: None,
    };
    store_impl(tx, &c, rows).await
}

/// What the rows of one batch are written with: the engine, their meters, the emission
/// factors and region, where they came from, when, and the API key that sent them (its use
/// is noted).
struct Context<'a> {
    kind: DbKind,
    meters: &'a HashMap<i64, MeterInfo>,
    factors: &'a [Factor],
    region: &'a str,
    source: &'a str,
    now: i64,
    key_used: Option<i64>,
}

/// `store_in` in context `c`.
async fn store_impl(
    tx: &mut Tx,
    c: &Context<'_>,
    rows: &[ReadingRow],
) -> sqlx::Result<Vec<Outcome>> {
    let (kind, source, now) = (c.kind, c.source, c.now);
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut sorted: Vec<ReadingRow> = rows.to_vec();
    sorted.sort_unstable_by_key(|r| (r.meter_id, r.ts));
    // 1. Insert what is new; the value stored before of each row that was not new.
    let mut before: HashMap<(i64, i64), f64> = HashMap::new();
    let mut to_lock: Vec<(i64, i64)> = Vec::new();
    let mut savepoint_open = false;
    for chunk in sorted.chunks(CHUNK) {
        let (seen, open) = insert_new(tx, kind, chunk, source, now, savepoint_open).await?;
        savepoint_open = open;
        if seen.is_empty() {
            continue;
        }
        let sent: HashMap<(i64, i64), f64> = chunk
            .iter()
            .map(|r| ((r.meter_id, r.ts), r.value))
            .collect();
        for (m, ts, stored) in seen {
            match stored {
                Some(v) if rules::outcome(Some(v), sent[&(m, ts)]) == Outcome::Unchanged => {
                    before.insert((m, ts), v);
                }
                Some(v) if kind == DbKind::Sqlite => {
                    before.insert((m, ts), v);
                }
                _ => to_lock.push((m, ts)),
            }
        }
    }
    // 2. PostgreSQL: readings to correct (or committed by a concurrent batch after the insert
    // began) are locked in key order and read again.
    if !to_lock.is_empty() {
        to_lock.sort_unstable();
        for chunk in to_lock.chunks(CHUNK) {
            let (ms, ts): (Vec<i64>, Vec<i64>) = chunk.iter().copied().unzip();
            let cols = [Col::Int(ms), Col::Int(ts)];
            let sql = format!(
                "SELECT r.meter_id, r.ts, r.value FROM readings r JOIN {} ON {} \
                 ORDER BY r.meter_id, r.ts FOR NO KEY UPDATE OF r",
                bulk(kind, &cols, &["meter_id", "ts"], 1).0,
                same_reading("r", "v")
            );
            let q = bind_all!(
                sqlx::query_as::<_, (i64, i64, f64)>(&sql),
                bulk_params(kind, &cols)
            );
            for (m, ts, v) in q.fetch_all(&mut **tx).await? {
                before.insert((m, ts), v);
            }
        }
    }
    let mut tally = Tally::default();
    let outcomes = tally.add(c, rows, &before);
    tally.script(c, savepoint_open, true).run(tx, kind).await?;
    Ok(outcomes)
}

/// What batches of rows add to the database besides the readings themselves: the rollup,
/// the corrections, each meter's latest interval and the API keys used. One batch's, or
/// several all-new batches' merged (`write_group`), so rows they share (a meter's day, an
/// entity's day and month, the meter itself) are written once.
#[derive(Default, Clone)]
struct Tally {
    rollup: Rollup,
    corrections: Vec<(ReadingRow, f64)>,
    latest: HashMap<i64, i64>,
    keys: std::collections::BTreeSet<i64>,
}

impl Tally {
    /// Adds `rows` written in context `c`, given the value stored `before` of each row that
    /// was not new; the outcome of each row (in order).
    fn add(
        &mut self,
        c: &Context<'_>,
        rows: &[ReadingRow],
        before: &HashMap<(i64, i64), f64>,
    ) -> Vec<Outcome> {
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut factor_cache: HashMap<(EnergyType, i64), f64> = HashMap::new();
        for r in rows {
            let o = match before.get(&(r.meter_id, r.ts)) {
                None => Outcome::Created,
                Some(&old) => rules::outcome(Some(old), r.value),
            };
            if let Outcome::Corrected { old } = o {
                self.corrections.push((*r, old));
            }
            let d = rules::delta_of(o, r.value);
            if d != 0.0 || o == Outcome::Created {
                let m = &c.meters[&r.meter_id];
                let day = rules::local_day(r.ts);
                let year = rules::civil(day).0 as i64;
                let f = *factor_cache
                    .entry((m.energy_type, year))
                    .or_insert_with(|| factor_for(c.factors, c.region, m.energy_type, day));
                self.rollup.add(m, r.ts, d, f);
            }
            let e = self.latest.entry(r.meter_id).or_insert(r.ts);
            *e = (*e).max(r.ts);
            outcomes.push(o);
        }
        self.keys.extend(c.key_used);
        outcomes
    }

    /// The tallies of batches written together, as one.
    fn merged<'t>(parts: &[&'t Tally]) -> std::borrow::Cow<'t, Tally> {
        match parts {
            [one] => std::borrow::Cow::Borrowed(*one),
            _ => {
                let mut all = Tally::default();
                for t in parts {
                    all.merge(t);
                }
                std::borrow::Cow::Owned(all)
            }
        }
    }

    /// Adds `other`'s rows (a batch written with these).
    fn merge(&mut self, other: &Tally) {
        self.rollup.merge(&other.rollup);
        self.corrections.extend_from_slice(&other.corrections);
        for (&m, &ts) in &other.latest {
            let e = self.latest.entry(m).or_insert(ts);
            *e = (*e).max(ts);
        }
        self.keys.extend(&other.keys);
    }

    /// The statements writing everything but the new readings themselves (corrections,
    /// rollups, the meters' latest reading and the keys' use), with `c`'s engine, source and
    /// time. `savepoint_open`: first release the savepoint `readings_new`. `entity_hours`:
    /// write the entity hours (false: the caller does).
    fn script<'s>(
        &'s self,
        c: &Context<'s>,
        savepoint_open: bool,
        entity_hours: bool,
    ) -> Script<'s> {
        let (kind, source, now) = (c.kind, c.source, c.now);
        // Corrections, rollups of meters and entities, the meters' latest reading, then the
        // district rollups, which concurrent batches share most.
        let mut script = Script::default();
        if savepoint_open {
            script.push("RELEASE readings_new", Vec::new());
        }
        let mut corrections: Vec<&(ReadingRow, f64)> = self.corrections.iter().collect();
        corrections.sort_unstable_by_key(|(r, _)| (r.meter_id, r.ts));
        if !corrections.is_empty() {
            let cols = || {
                vec![
                    Col::Int(corrections.iter().map(|(r, _)| r.meter_id).collect()),
                    Col::Int(corrections.iter().map(|(r, _)| r.ts).collect()),
                    Col::Float(corrections.iter().map(|(_, old)| *old).collect()),
                    Col::Float(corrections.iter().map(|(r, _)| r.value).collect()),
                ]
            };
            let names = vec!["meter_id", "ts", "old_value", "new_value"];
            let args = vec![Arg::Text(source), Arg::Int(now)];
            script.push_rows(
                format!(
                    "INSERT INTO reading_corrections (meter_id, ts, old_value, new_value, source, at) \
                     SELECT v.meter_id, v.ts, v.old_value, v.new_value, ?, ? FROM {ROWS} WHERE true"
                ),
                args,
                names.clone(),
                cols(),
            );
            script.push_rows(
                format!(
                    "UPDATE readings SET value = v.new_value, received_at = ?, source = ? \
                     FROM {ROWS} WHERE {}",
                    same_reading("readings", "v")
                ),
                vec![Arg::Int(now), Arg::Text(source)],
                names,
                cols(),
            );
        }
        rollup_entities_sql(&mut script, kind, &self.rollup, entity_hours);
        // Each meter's latest interval and when it last sent (locked in id order).
        let mut latest: Vec<(i64, i64)> = self.latest.iter().map(|(m, t)| (*m, *t)).collect();
        latest.sort_unstable();
        let (ids, ts): (Vec<i64>, Vec<i64>) = latest.into_iter().unzip();
        let cols = || vec![Col::Int(ids.clone()), Col::Int(ts.clone())];
        if kind == DbKind::Postgres {
            script.push_rows(
                format!(
                    "SELECT m.id FROM meters m JOIN {ROWS} ON m.id = v.id ORDER BY m.id FOR NO KEY UPDATE OF m"
                ),
                Vec::new(),
                vec!["id", "ts"],
                cols(),
            );
        }
        script.push_rows(
            format!(
                "UPDATE meters SET last_reading_at = CASE WHEN last_reading_at IS NULL OR last_reading_at < v.ts \
                 THEN v.ts ELSE last_reading_at END, last_received_at = ? FROM {ROWS} WHERE meters.id = v.id"
            ),
            vec![Arg::Int(now)],
            vec!["id", "ts"],
            cols(),
        );
        rollup_districts_sql(&mut script, &self.rollup);
        for &key in &self.keys {
            // To the minute: a feed's batches do not all write (and on PostgreSQL wait for)
            // the key's one row.
            script.push(
                "UPDATE api_keys SET last_used_at = ? WHERE id = ? \
                 AND (last_used_at IS NULL OR last_used_at <= ?)",
                vec![
                    Arg::Int(now),
                    Arg::Int(key),
                    Arg::Int(now - KEY_USE_RESOLUTION_MS),
                ],
            );
        }
        script
    }
}

/// Inserts `chunk` (in key order) where new; returns the rows that were stored before, each
/// with its stored value as far as it could be read without a lock (PostgreSQL: `None` for a
/// reading committed by a concurrent batch after this statement began), and whether the
/// savepoint `readings_new` is left open (`open`: by the previous chunk). The savepoint
/// holds an insert that created every row, released with the batch's later statements.
async fn insert_new(
    tx: &mut Tx,
    kind: DbKind,
    chunk: &[ReadingRow],
    source: &str,
    now: i64,
    open: bool,
) -> sqlx::Result<(Vec<(i64, i64, Option<f64>)>, bool)> {
    let cols = reading_cols(chunk);
    let (from, next) = bulk(kind, &cols, &READING_COLS, 1);
    let (received, src) = (format!("${next}"), format!("${}", next + 1));
    let insert = format!(
        "{} ON CONFLICT ({READINGS_KEY}) DO NOTHING",
        insert_readings_sql(kind, &from, &received, &src)
    );
    let mut prefix = String::new();
    if open {
        prefix.push_str("RELEASE readings_new;\n");
    }
    prefix.push_str("SAVEPOINT readings_new;");
    if kind == DbKind::Postgres {
        // Usually every reading is new: first a plain insert (one key lookup a row, where the
        // one below looks up, inserts speculatively and confirms: 1.5 against 4 µs a row).
        // Any reading stored before fails it with a unique violation, which undoes it.
        (&mut **tx).execute(prefix.as_str()).await?;
        let plain = insert_readings_sql(kind, &from, &received, &src);
        let q = bind_all!(sqlx::query(&plain), bulk_params(kind, &cols));
        match q.bind(now).bind(source).execute(&mut **tx).await {
            // Released with the rest of the batch's statements.
            Ok(_) => return Ok((Vec::new(), true)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                (&mut **tx)
                    .execute("ROLLBACK TO readings_new; RELEASE readings_new;")
                    .await?;
            }
            Err(e) => return Err(e),
        }
        // Inserted in key order: two batches waiting on each other's new rows cannot wait in
        // a circle. Only the rows not inserted come back.
        let sql = format!(
            "WITH v AS (SELECT * FROM {from}), \
             ins AS ({} RETURNING meter_id, ts) \
             SELECT c.meter_id, c.ts, r.value FROM \
             (SELECT v.meter_id, v.ts FROM v WHERE NOT EXISTS \
              (SELECT 1 FROM ins WHERE ins.meter_id = v.meter_id AND ins.ts = v.ts)) c \
             LEFT JOIN readings r ON {}",
            insert.replace(&format!("FROM {from}"), "FROM v"),
            same_reading("r", "c")
        );
        let q = bind_all!(
            sqlx::query_as::<_, (i64, i64, Option<f64>)>(&sql),
            bulk_params(kind, &cols)
        );
        return Ok((q.bind(now).bind(source).fetch_all(&mut **tx).await?, false));
    }
    // SQLite: usually every row is new; otherwise undo and read the stored values first.
    let data = json_rows(&cols);
    (&mut **tx).execute(prefix.as_str()).await?;
    let n = sqlx::query(&insert)
        .bind(data.as_str())
        .bind(now)
        .bind(source)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if n as usize == chunk.len() {
        // Released with the rest of the batch's statements.
        return Ok((Vec::new(), true));
    }
    (&mut **tx)
        .execute("ROLLBACK TO readings_new; RELEASE readings_new;")
        .await?;
    let sql = format!(
        "SELECT v.meter_id, v.ts, r.value FROM {from} CROSS JOIN readings r ON {}",
        same_reading("r", "v")
    );
    let stored: Vec<(i64, i64, f64)> = sqlx::query_as(&sql)
        .bind(data.as_str())
        .fetch_all(&mut **tx)
        .await?;
    sqlx::query(&insert)
        .bind(data.as_str())
        .bind(now)
        .bind(source)
        .execute(&mut **tx)
        .await?;
    Ok((
        stored
            .into_iter()
            .map(|(m, t, v)| (m, t, Some(v)))
            .collect(),
        false,
    ))
}

/// The columns of readings sent in bulk (`reading_cols`).
const READING_COLS: [&str; 3] = ["meter_id", "ts", "value"];

/// `rows` as bulk columns `READING_COLS`, in the order given.
fn reading_cols(rows: &[ReadingRow]) -> [Col<'static>; 3] {
    [
        Col::Int(rows.iter().map(|r| r.meter_id).collect()),
        Col::Int(rows.iter().map(|r| r.ts).collect()),
        Col::Float(rows.iter().map(|r| r.value).collect()),
    ]
}

/// `INSERT INTO readings ... SELECT` of the bulk rows `from` (columns `READING_COLS`) with
/// `received_at` and `source` given as SQL (parameters or literals); PostgreSQL inserts in
/// key order (two batches waiting on each other's new rows cannot wait in a circle).
fn insert_readings_sql(kind: DbKind, from: &str, received_at: &str, source: &str) -> String {
    format!(
        "INSERT INTO readings (meter_id, ts, value, received_at, source) \
         SELECT v.meter_id, v.ts, v.value, {received_at}, {source} FROM {from} {}",
        match kind {
            DbKind::Postgres => "ORDER BY v.meter_id, v.ts",
            DbKind::Sqlite => "WHERE true",
        }
    )
}

/// One column of bulk rows, sent as one parameter.
enum Col<'a> {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Text(Vec<&'a str>),
}

impl Col<'_> {
    fn len(&self) -> usize {
        match self {
            Col::Int(v) => v.len(),
            Col::Float(v) => v.len(),
            Col::Text(v) => v.len(),
        }
    }

    fn pg_type(&self) -> &'static str {
        match self {
            Col::Int(_) => "bigint",
            Col::Float(_) => "double precision",
            Col::Text(_) => "text",
        }
    }

    /// PostgreSQL array literal `{1,2}` / `{"a","b"}`. Numbers in Rust's shortest form that
    /// reads back to the same value (finite: readings are checked).
    fn pg_literal(&self) -> String {
        let mut s = String::with_capacity(self.len() * 14 + 2);
        s.push('{');
        for i in 0..self.len() {
            if i > 0 {
                s.push(',');
            }
            match self {
                Col::Int(v) => {
                    let _ = write!(s, "{}", v[i]);
                }
                Col::Float(v) => {
                    let _ = write!(s, "{}", v[i]);
                }
                Col::Text(v) => {
                    s.push('"');
                    for c in v[i].chars() {
                        if c == '"' || c == '\\' {
                            s.push('\\');
                        }
                        s.push(c);
                    }
                    s.push('"');
                }
            }
        }
        s.push('}');
        s
    }
}

/// SQLite: the columns as one JSON array of rows `[[a, b, ...], ...]`.
fn json_rows(cols: &[Col]) -> String {
    let n = cols.first().map_or(0, Col::len);
    let mut s = String::with_capacity(n * 16 * cols.len() + 2);
    s.push('[');
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push('[');
        for (j, c) in cols.iter().enumerate() {
            if j > 0 {
                s.push(',');
            }
            match c {
                Col::Int(v) => {
                    let _ = write!(s, "{}", v[i]);
                }
                Col::Float(v) => {
                    let _ = write!(s, "{}", v[i]);
                }
                Col::Text(v) => s.push_str(&Value::from(v[i]).to_string()),
            }
        }
        s.push(']');
    }
    s.push(']');
    s
}

/// A FROM item `v(names...)` over bulk rows whose parameters start at `$first`, and the
/// number of the next free parameter: PostgreSQL `unnest` of one typed array per column,
/// SQLite `json_each` over one JSON array of rows. Rows come out in the order given.
fn bulk(kind: DbKind, cols: &[Col], names: &[&str], first: usize) -> (String, usize) {
    match kind {
        DbKind::Postgres => {
            let args: Vec<String> = cols
                .iter()
                .enumerate()
                .map(|(i, c)| format!("${}::{}[]", first + i, c.pg_type()))
                .collect();
            (
                format!("unnest({}) AS v({})", args.join(", "), names.join(", ")),
                first + cols.len(),
            )
        }
        DbKind::Sqlite => {
            let sel: Vec<String> = names
                .iter()
                .enumerate()
                .map(|(i, n)| format!("j.value ->> {i} AS {n}"))
                .collect();
            (
                format!(
                    "(SELECT {} FROM json_each(${first}) AS j) AS v",
                    sel.join(", ")
                ),
                first + 1,
            )
        }
    }
}

/// A SQL string literal (quotes doubled; PostgreSQL's standard_conforming_strings is on).
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `bulk` with the data written into the statement as literals, for a script of several
/// statements sent at once (no parameters there).
fn bulk_inline(kind: DbKind, cols: &[Col], names: &[&str]) -> String {
    match kind {
        DbKind::Postgres => {
            let args: Vec<String> = cols
                .iter()
                .map(|c| format!("{}::{}[]", lit(&c.pg_literal()), c.pg_type()))
                .collect();
            format!("unnest({}) AS v({})", args.join(", "), names.join(", "))
        }
        DbKind::Sqlite => {
            let sel: Vec<String> = names
                .iter()
                .enumerate()
                .map(|(i, n)| format!("j.value ->> {i} AS {n}"))
                .collect();
            format!(
                "(SELECT {} FROM json_each({}) AS j) AS v",
                sel.join(", "),
                lit(&json_rows(cols))
            )
        }
    }
}

/// The parameters of `bulk`'s columns, in order.
fn bulk_params(kind: DbKind, cols: &[Col]) -> Vec<String> {
    match kind {
        DbKind::Postgres => cols.iter().map(Col::pg_literal).collect(),
        DbKind::Sqlite => vec![json_rows(cols)],
    }
}

/// Where a `Stmt`'s bulk rows go in its text: the FROM item `v(names...)`.
const ROWS: &str = "{rows}";

/// A parameter of a `Stmt`.
#[derive(Clone, Copy)]
enum Arg<'a> {
    Int(i64),
    Text(&'a str),
}

/// One statement of a `Script`: `sql`, whose `?` take `args` in order, and where `ROWS`
/// stands for bulk rows `cols` named `names` (if any; after the `?`s).
struct Stmt<'a> {
    sql: String,
    args: Vec<Arg<'a>>,
    names: Vec<&'static str>,
    cols: Vec<Col<'a>>,
}

/// Sizes of the chunks a SQLite `Stmt`'s rows are sent in, largest first: each size's
/// statement is prepared once (sqlx keeps it), then run with parameters.
const SQLITE_CHUNKS: [usize; 6] = [1024, 256, 64, 16, 4, 1];

/// Statements sent together. PostgreSQL: one text with the data written in as literals
/// (one round trip: a lock on a shared rollup row is held for the time the database needs,
/// not for round trips to a busy app server). SQLite (one writer, in the process): each
/// statement run in chunks of `SQLITE_CHUNKS` rows as a prepared `VALUES` list with
/// parameters. The same rows as a JSON literal taken apart by `json_each` cost about 2 µs a
/// row more (SQLite 3.46, measured: 4.1 against 2.2 µs a row inserted), and a statement
/// with the data written in is parsed again each time.
#[derive(Default)]
struct Script<'a>(Vec<Stmt<'a>>);

impl<'a> Script<'a> {
    /// A statement without bulk rows.
    fn push(&mut self, sql: impl Into<String>, args: Vec<Arg<'a>>) {
        self.push_rows(sql, args, Vec::new(), Vec::new());
    }

    /// A statement over bulk rows (`ROWS` in `sql`); none when there are no rows.
    fn push_rows(
        &mut self,
        sql: impl Into<String>,
        args: Vec<Arg<'a>>,
        names: Vec<&'static str>,
        cols: Vec<Col<'a>>,
    ) {
        if cols.first().is_some_and(|c| c.len() == 0) {
            return;
        }
        self.0.push(Stmt {
            sql: sql.into(),
            args,
            names,
            cols,
        });
    }

    /// The statements as one text, data and parameters written in.
    fn text(&self, kind: DbKind) -> String {
        let mut out = String::new();
        for st in &self.0 {
            // Only the statement's own text is searched for `?` and `ROWS`, never a value
            // written in (a key's source may hold either).
            let rows = (!st.cols.is_empty()).then(|| bulk_inline(kind, &st.cols, &st.names));
            let text = |part: &str| match &rows {
                Some(r) => part.replace(ROWS, r),
                None => part.to_string(),
            };
            let mut parts = st.sql.split('?');
            out.push_str(&text(parts.next().unwrap_or_default()));
            for (part, arg) in parts.zip(&st.args) {
                match arg {
                    Arg::Int(v) => {
                        let _ = write!(out, "{v}");
                    }
                    Arg::Text(t) => out.push_str(&lit(t)),
                }
                out.push_str(&text(part));
            }
            out.push_str(";\n");
        }
        out
    }

    /// Runs the statements; the rows they changed.
    async fn run(&self, tx: &mut Tx, kind: DbKind) -> sqlx::Result<u64> {
        if self.0.is_empty() {
            return Ok(0);
        }
        if kind == DbKind::Postgres {
            return Ok((&mut **tx)
                .execute(self.text(kind).as_str())
                .await?
                .rows_affected());
        }
        let mut changed = 0;
        for st in &self.0 {
            let n = st.cols.first().map_or(0, Col::len);
            if st.cols.is_empty() {
                changed += st.query(&st.sql).execute(&mut **tx).await?.rows_affected();
                continue;
            }
            let mut at = 0;
            while at < n {
                let size = SQLITE_CHUNKS
                    .into_iter()
                    .find(|s| *s <= n - at)
                    .unwrap_or(1);
                let sql = st.sql.replace(ROWS, &values_rows(&st.names, size));
                let mut q = st.query(&sql);
                for i in at..at + size {
                    for c in &st.cols {
                        q = match c {
                            Col::Int(v) => q.bind(v[i]),
                            Col::Float(v) => q.bind(v[i]),
                            Col::Text(v) => q.bind(v[i]),
                        };
                    }
                }
                changed += q.execute(&mut **tx).await?.rows_affected();
                at += size;
            }
        }
        Ok(changed)
    }
}

impl<'a> Stmt<'a> {
    /// `sql` with this statement's `args` bound.
    fn query<'q>(
        &self,
        sql: &'q str,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>
    where
        'a: 'q,
    {
        let mut q = sqlx::query(sql);
        for a in &self.args {
            q = match *a {
                Arg::Int(v) => q.bind(v),
                Arg::Text(t) => q.bind(t),
            };
        }
        q
    }
}

/// SQLite: the FROM item `v(names...)` of `rows` rows of parameters.
fn values_rows(names: &[&str], rows: usize) -> String {
    let cols: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("column{} AS {n}", i + 1))
        .collect();
    let row = format!("({})", vec!["?"; names.len()].join(","));
    format!(
        "(SELECT {} FROM (VALUES {})) AS v",
        cols.join(", "),
        vec![row; rows].join(",")
    )
}

/// The statement adding to the entity hour rollup.
fn entity_hours_sql<'a>(script: &mut Script<'a>, kind: DbKind, r: &'a Rollup) {
    insert_or_upsert_sql(
        script,
        kind,
        "energy_entity_hour",
        &["entity_id", "energy_type", "hour"],
        ENTITY_HOUR_KEY,
        vec![
            Col::Int(r.entity_hour.keys().map(|k| k.0).collect()),
            Col::Text(r.entity_hour.keys().map(|k| k.1.code()).collect()),
            Col::Int(r.entity_hour.keys().map(|k| k.2).collect()),
        ],
        r.entity_hour.values().copied().collect(),
    );
}

/// The statements adding to the entity hour (unless `entity_hours` is false), meter day,
/// entity day and month rollups.
fn rollup_entities_sql<'a>(
    script: &mut Script<'a>,
    kind: DbKind,
    r: &'a Rollup,
    entity_hours: bool,
) {
    if entity_hours {
        entity_hours_sql(script, kind, r);
    }
    upsert_sql(
        script,
        "energy_meter_day",
        &["meter_id", "day"],
        vec![
            Col::Int(r.meter_day.keys().map(|k| k.0).collect()),
            Col::Int(r.meter_day.keys().map(|k| k.1).collect()),
        ],
        r.meter_day.values().copied().collect(),
        None,
    );
    for (table, map, col) in [
        ("energy_entity_day", &r.entity_day, "day"),
        ("energy_entity_month", &r.entity_month, "month"),
    ] {
        upsert_sql(
            script,
            table,
            &["entity_id", "energy_type", col],
            vec![
                Col::Int(map.keys().map(|k| k.0).collect()),
                Col::Text(map.keys().map(|k| k.1.code()).collect()),
                Col::Int(map.keys().map(|k| k.2).collect()),
            ],
            map.values().map(|d| d.value).collect(),
            Some(map.values().map(|d| d.carbon_kg).collect()),
        );
    }
}

/// The statements adding to the district hour, day and month rollups.
fn rollup_districts_sql<'a>(script: &mut Script<'a>, r: &'a Rollup) {
    upsert_sql(
        script,
        "energy_district_hour",
        &["district_code", "energy_type", "hour"],
        vec![
            Col::Text(r.district_hour.keys().map(|k| k.0.as_str()).collect()),
            Col::Text(r.district_hour.keys().map(|k| k.1.code()).collect()),
            Col::Int(r.district_hour.keys().map(|k| k.2).collect()),
        ],
        r.district_hour.values().copied().collect(),
        None,
    );
    for (table, map, col) in [
        ("energy_district_day", &r.district_day, "day"),
        ("energy_district_month", &r.district_month, "month"),
    ] {
        upsert_sql(
            script,
            table,
            &["district_code", "energy_type", col],
            vec![
                Col::Text(map.keys().map(|k| k.0.as_str()).collect()),
                Col::Text(map.keys().map(|k| k.1.code()).collect()),
                Col::Int(map.keys().map(|k| k.2).collect()),
            ],
            map.values().map(|d| d.value).collect(),
            Some(map.values().map(|d| d.carbon_kg).collect()),
        );
    }
}

/// Appends `INSERT ... ON CONFLICT (keys) DO UPDATE SET value = value + excluded.value [,
/// carbon]` of all rows, in the order given.
fn upsert_sql<'a>(
    script: &mut Script<'a>,
    table: &str,
    keys: &[&'static str],
    cols: Vec<Col<'a>>,
    value: Vec<f64>,
    carbon: Option<Vec<f64>>,
) {
    let target = keys.join(", ");
    if let Some((insert, conflict, names, cols)) =
        upsert_parts(table, keys, &target, cols, value, carbon)
    {
        script.push_rows(format!("{insert} {conflict}"), Vec::new(), names, cols);
    }
}

/// `upsert_sql` for rows that are usually new (an entity's hours: each reading of a meter
/// that is its entity's only one of its type makes one). PostgreSQL: a plain `INSERT`
/// first, and the upsert only if a row exists (a unique violation, in a PL/pgSQL block:
/// what the plain insert did is undone). A plain insert looks up the key once; the upsert
/// looks it up, inserts speculatively and confirms (measured: 2.5 against 3.5 µs a row).
fn insert_or_upsert_sql<'a>(
    script: &mut Script<'a>,
    kind: DbKind,
    table: &str,
    keys: &[&'static str],
    target: &str,
    cols: Vec<Col<'a>>,
    value: Vec<f64>,
) {
    let Some((insert, conflict, names, cols)) =
        upsert_parts(table, keys, target, cols, value, None)
    else {
        return;
    };
    let sql = match kind {
        DbKind::Postgres => format!(
            "DO $ingest$BEGIN {insert}; \
             EXCEPTION WHEN unique_violation THEN {insert} {conflict}; END$ingest$"
        ),
        DbKind::Sqlite => format!("{insert} {conflict}"),
    };
    script.push_rows(sql, Vec::new(), names, cols);
}

/// The `INSERT ... SELECT` of an upsert (from `ROWS`), its `ON CONFLICT (target)` clause
/// (`target`: the unique key, `keys` or an expression of them), and the names and columns of
/// its rows (None without rows).
#[allow(clippy::type_complexity)]
fn upsert_parts<'a>(
    table: &str,
    keys: &[&'static str],
    target: &str,
    mut cols: Vec<Col<'a>>,
    value: Vec<f64>,
    carbon: Option<Vec<f64>>,
) -> Option<(String, String, Vec<&'static str>, Vec<Col<'a>>)> {
    if value.is_empty() {
        return None;
    }
    let mut names: Vec<&'static str> = keys.to_vec();
    names.push("value");
    cols.push(Col::Float(value));
    let set = if let Some(c) = carbon {
        names.push("carbon_kg");
        cols.push(Col::Float(c));
        format!("value = {table}.value + excluded.value, carbon_kg = {table}.carbon_kg + excluded.carbon_kg")
    } else {
        format!("value = {table}.value + excluded.value")
    };
    let vcols: Vec<String> = names.iter().map(|n| format!("v.{n}")).collect();
    Some((
        format!(
            "INSERT INTO {table} ({}) SELECT {} FROM {ROWS} WHERE true",
            names.join(", "),
            vcols.join(", "),
        ),
        format!("ON CONFLICT ({target}) DO UPDATE SET {set}"),
        names,
        cols,
    ))
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
    let outcomes = if rows.is_empty() {
        Vec::new()
    } else {
        let mut batch = Batch {
            rows,
            meters: infos,
            factors,
            region,
            source: format!("api:{}", key.source),
            now,
            key: key.id,
            all_new: None,
        };
        batch.all_new = Some(AllNew::of(&batch, store.kind));
        store.readings_queue.write(store, batch).await?
    };
    for (i, o) in at_row.into_iter().zip(outcomes) {
        statuses[i] = Some(ReadingStatus::Stored(o));
    }
    Ok(statuses
        .into_iter()
        .map(|s| s.unwrap_or(ReadingStatus::Rejected(Vec::new())))
        .collect())
}

/// One API batch, checked, waiting to be written.
struct Batch {
    rows: Vec<ReadingRow>,
    meters: HashMap<i64, MeterInfo>,
    factors: Vec<Factor>,
    region: String,
    source: String,
    now: i64,
    key: i64,
    /// What it writes if every reading is new.
    all_new: Option<AllNew>,
}

impl Batch {
    fn context(&self, kind: DbKind) -> Context<'_> {
        Context {
            kind,
            meters: &self.meters,
            factors: &self.factors,
            region: &self.region,
            source: &self.source,
            now: self.now,
            key_used: Some(self.key),
        }
    }
}

/// What an API batch writes in the usual case that every reading is new, prepared before it
/// waits for its turn (`AllNew::of`): its outcomes (all created), its readings in key order
/// and its `Tally`.
#[derive(Clone)]
struct AllNew {
    outcomes: Vec<Outcome>,
    sorted: Vec<ReadingRow>,
    tally: Tally,
}

impl AllNew {
    fn of(b: &Batch, kind: DbKind) -> AllNew {
        let mut sorted = b.rows.clone();
        sorted.sort_unstable_by_key(|r| (r.meter_id, r.ts));
        let mut tally = Tally::default();
        let outcomes = tally.add(&b.context(kind), &b.rows, &HashMap::new());
        AllNew {
            outcomes,
            sorted,
            tally,
        }
    }
}

/// PostgreSQL binary `COPY` data (the format of
/// <https://www.postgresql.org/docs/current/sql-copy.html>, "Binary Format"): a header, then
/// each row as its number of fields and each field as its length and bytes in network order.
struct CopyRows(Vec<u8>);

impl CopyRows {
    fn new(rows: usize, row_bytes: usize) -> Self {
        let mut b = Vec::with_capacity(19 + rows * row_bytes + 2);
        b.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        b.extend_from_slice(&0i32.to_be_bytes()); // flags: no OIDs
        b.extend_from_slice(&0i32.to_be_bytes()); // no header extension
        CopyRows(b)
    }
    fn row(&mut self, fields: i16) {
        self.0.extend_from_slice(&fields.to_be_bytes());
    }
    fn int(&mut self, v: i64) {
        self.0.extend_from_slice(&8i32.to_be_bytes());
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn float(&mut self, v: f64) {
        self.0.extend_from_slice(&8i32.to_be_bytes());
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn text(&mut self, s: &str) {
        self.0.extend_from_slice(&(s.len() as i32).to_be_bytes());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn finish(mut self) -> Vec<u8> {
        self.0.extend_from_slice(&(-1i16).to_be_bytes());
        self.0
    }
}

/// `COPY target FROM STDIN` of binary `data`; the rows copied.
async fn copy_in(conn: &mut sqlx::PgConnection, target: &str, data: Vec<u8>) -> sqlx::Result<u64> {
    let mut copy = conn
        .copy_in_raw(&format!("COPY {target} FROM STDIN (FORMAT binary)"))
        .await?;
    copy.send(data).await?;
    copy.finish().await
}

/// PostgreSQL, API batches `group` (one or more, no reading in two of them) in the usual case
/// that every reading is new, in one transaction on a native connection: the readings, then
/// the entity hours, go in by binary `COPY` (measured in psql at 500,000 rows: 0.8 µs a row
/// where the `INSERT` from array literals took 1.6), the rest is one script of the batches'
/// merged `Tally`. Rows and tables in the order of `store_impl` (key order), so the reasoning
/// against deadlocks holds. `None` when a reading was stored before (a unique violation):
/// nothing was written, and the caller writes the batches the general way. Entity hours that
/// exist (an entity's other meter of the type sent in another batch) are added to by the
/// upsert instead, after the copy is undone to a savepoint.
async fn write_copied(store: &Store, group: &[&Batch]) -> sqlx::Result<Option<Vec<Vec<Outcome>>>> {
    let (Some(pg), Some(last)) = (&store.pg, group.iter().max_by_key(|b| b.now)) else {
        return Ok(None);
    };
    let mut sorted: Vec<(&ReadingRow, &Batch)> = group
        .iter()
        .flat_map(|b| b.rows.iter().map(move |r| (r, *b)))
        .collect();
    sorted.sort_unstable_by_key(|(r, _)| (r.meter_id, r.ts));
    let mut data = CopyRows::new(sorted.len(), 60 + last.source.len());
    for (r, b) in &sorted {
        data.row(5);
        data.int(r.meter_id);
        data.int(r.ts);
        data.float(r.value);
        data.int(b.now);
        data.text(&b.source);
    }
    drop(sorted);
    let mut tx = pg.begin().await?;
    let target = "readings (meter_id, ts, value, received_at, source)";
    match copy_in(&mut tx, target, data.finish()).await {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            tx.rollback().await?;
            return Ok(None);
        }
        Err(e) => return Err(e),
    }
    let kind = DbKind::Postgres;
    let all_new: Vec<std::borrow::Cow<AllNew>> = group
        .iter()
        .map(|b| match &b.all_new {
            Some(a) => std::borrow::Cow::Borrowed(a),
            None => std::borrow::Cow::Owned(AllNew::of(b, kind)),
        })
        .collect();
    let tallies: Vec<&Tally> = all_new.iter().map(|a| &a.tally).collect();
    let tally = Tally::merged(&tallies);
    let rollup = &tally.rollup;
    if !rollup.entity_hour.is_empty() {
        let mut data = CopyRows::new(rollup.entity_hour.len(), 60);
        for ((entity, ty, hour), value) in &rollup.entity_hour {
            data.row(4);
            data.int(*entity);
            data.text(ty.code());
            data.int(*hour);
            data.float(*value);
        }
        (&mut *tx).execute("SAVEPOINT entity_hours").await?;
        let target = "energy_entity_hour (entity_id, energy_type, hour, value)";
        match copy_in(&mut tx, target, data.finish()).await {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                let mut upsert = Script::default();
                upsert.push("ROLLBACK TO entity_hours", Vec::new());
                entity_hours_sql(&mut upsert, kind, rollup);
                (&mut *tx).execute(upsert.text(kind).as_str()).await?;
            }
            Err(e) => return Err(e),
        }
    }
    let script = tally.script(&last.context(kind), false, false).text(kind);
    (&mut *tx).execute(script.as_str()).await?;
    tx.commit().await?;
    Ok(Some(all_new.iter().map(|a| a.outcomes.clone()).collect()))
}

/// PostgreSQL: one API batch, by `COPY` when every reading is new, else the general way.
async fn write_one(store: &Store, b: &Batch) -> sqlx::Result<Vec<Outcome>> {
    if let Some(mut outs) = write_copied(store, &[b]).await? {
        return Ok(outs.pop().unwrap_or_default());
    }
    Ok(write_batches(store, std::iter::once(b))
        .await?
        .pop()
        .unwrap_or_default())
}

/// PostgreSQL: a group of API batches. Those sharing no reading with an earlier one of the
/// group are written together (`write_copied`: their shared rollup rows once); the others
/// (a batch sent twice at once), and all of them if that fails, one by one after.
async fn write_group_pg(store: &Store, group: Vec<Waiting>) {
    let mut seen: std::collections::HashSet<(i64, i64)> = Default::default();
    let (together, apart): (Vec<Waiting>, Vec<Waiting>) = if group.len() == 1 {
        (group, Vec::new())
    } else {
        group.into_iter().partition(|(b, _)| {
            let fresh = b.rows.iter().all(|r| !seen.contains(&(r.meter_id, r.ts)));
            if fresh {
                seen.extend(b.rows.iter().map(|r| (r.meter_id, r.ts)));
            }
            fresh
        })
    };
    drop(seen);
    let batches: Vec<&Batch> = together.iter().map(|(b, _)| b).collect();
    let one_by_one = match write_copied(store, &batches).await {
        Ok(Some(outs)) => {
            for ((_, done), o) in together.into_iter().zip(outs) {
                let _ = done.send(Ok(o));
            }
            apart
        }
        Ok(None) if together.len() == 1 => {
            // Its readings were stored before: the general way at once.
            for (b, done) in together {
                let r = write_batches(store, std::iter::once(&b)).await;
                let _ = done.send(r.map(|mut o| o.pop().unwrap_or_default()));
            }
            apart
        }
        Ok(None) => together.into_iter().chain(apart).collect(),
        Err(e) => {
            tracing::warn!(error = %e, batches = batches.len(), "readings group failed, writing its batches one by one");
            together.into_iter().chain(apart).collect()
        }
    };
    for (b, done) in one_by_one {
        let _ = done.send(write_one(store, &b).await);
    }
}

/// PostgreSQL: groups of API batches written at once. Measured at 2,000,000 readings from 4
/// clients, readings/s (the machine varies by ±15 % from run to run): hour-major (live feed)
/// 1 turn 83,000–99,000, 2 turns 106,000–137,000, 3 turns 112,000, 4 turns (no groups with 4
/// clients) 93,000; meter-major 2 turns 121,000–155,000, 3 turns 149,000, 4 turns 128,000.
/// One turn leaves the database idle while a group is prepared and sent; more let batches of
/// one day wait on each other's rows again.
pub(crate) const PG_TURNS: usize = 2;

type Waiting = (
    Batch,
    tokio::sync::oneshot::Sender<sqlx::Result<Vec<Outcome>>>,
);

/// SQLite group commit of API batches: a batch that finds the writer busy waits in `pending`; the
/// next batch to get a turn writes every batch waiting then, one after the other in one
/// transaction (each sees the ones before it, so the outcomes are those of writing them in
/// turn), and answers each once it committed. The one writer's commit writes and syncs every
/// page the transaction dirtied; batches of the same hours share the current day's pages of the
/// readings index and the rollups, written once per commit instead of once per batch. If
/// the group fails, each of its batches is written on its own.
///
/// After a group commits, a checkpoint (copying the WAL's pages into the database file) starts
/// on a reading connection unless one is running: the pages a live feed dirties are written
/// twice, once to the WAL by the writer and once to the database by the checkpoint, and this
/// way the second write runs beside the writer, on another core, instead of inside a commit.
pub struct ReadingsQueue {
    pending: std::sync::Mutex<Vec<Waiting>>,
    /// Groups written at once.
    turns: tokio::sync::Semaphore,
    /// A checkpoint is running.
    checkpointing: std::sync::atomic::AtomicBool,
}

impl ReadingsQueue {
    /// A queue writing `turns` groups at once.
    pub(crate) fn new(turns: usize) -> Self {
        ReadingsQueue {
            pending: Default::default(),
            turns: tokio::sync::Semaphore::new(turns),
            checkpointing: Default::default(),
        }
    }

    async fn write(&self, store: &Store, batch: Batch) -> sqlx::Result<Vec<Outcome>> {
        let (done, mut answer) = tokio::sync::oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((batch, done));
        // A batch that another group took is answered there: its task leaves the queue for
        // the turn (before, each such task still took a turn in order and wrote what had
        // come since, mostly one batch: groups of one where there could be three).
        let turn = tokio::select! {
            biased;
            a = &mut answer => return a.unwrap_or(Err(sqlx::Error::WorkerCrashed)),
            t = self.turns.acquire() => t.map_err(|_| sqlx::Error::PoolClosed)?,
        };
        let group = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if !group.is_empty() {
            // On a task of its own (a client that hangs up does not cancel the others'
            // batches half-way), on the writers' thread.
            let _ = writers().spawn(write_group(store.clone(), group)).await;
        }
        drop(turn);
        answer.await.unwrap_or(Err(sqlx::Error::WorkerCrashed))
    }
}

/// The runtime driving the groups' writes, on a thread of its own. A group sends its
/// statements one after the other, and each waits for the task to send the next; on the
/// server's worker threads that task waited for a thread busy taking a 10,000-reading body
/// apart (tens of milliseconds, not preempted), while other batches waited for the group's
/// turn or for the rows it had locked. Measured at 2,000,000 readings hour-major on SQLite:
/// the writer was idle 28 % of the time.
fn writers() -> &'static tokio::runtime::Handle {
    static WRITERS: std::sync::OnceLock<tokio::runtime::Handle> = std::sync::OnceLock::new();
    WRITERS.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the readings writers");
        let handle = rt.handle().clone();
        std::thread::Builder::new()
            .name("readings-writers".into())
            .spawn(move || rt.block_on(std::future::pending::<()>()))
            .expect("a thread for the readings writers");
        handle
    })
}

/// Starts a passive checkpoint on a reading connection unless one is running (see
/// `ReadingsQueue`). It waits for nothing: it copies what readers no longer need.
fn checkpoint_behind(store: &Store) {
    use std::sync::atomic::Ordering;
    let queue = &store.readings_queue;
    if queue.checkpointing.swap(true, Ordering::AcqRel) {
        return;
    }
    let store = store.clone();
    tokio::spawn(async move {
        let r = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(store.pool())
            .await;
        if let Err(e) = r {
            tracing::debug!(error = %e, "background checkpoint failed");
        }
        store
            .readings_queue
            .checkpointing
            .store(false, Ordering::Release);
    });
}

async fn write_group(store: Store, group: Vec<Waiting>) {
    let t0 = std::time::Instant::now();
    let n = group.len();
    if store.kind == DbKind::Postgres {
        write_group_pg(&store, group).await;
        tracing::debug!(
            batches = n,
            ms = t0.elapsed().as_millis() as u64,
            "readings group"
        );
        return;
    }
    write_group_now(&store, group).await;
    tracing::debug!(
        batches = n,
        ms = t0.elapsed().as_millis() as u64,
        "readings group"
    );
    checkpoint_behind(&store);
}

async fn write_group_now(store: &Store, group: Vec<Waiting>) {
    if group.len() > 1 {
        match write_batches(store, group.iter().map(|(b, _)| b)).await {
            Ok(outs) => {
                for ((_, done), o) in group.into_iter().zip(outs) {
                    let _ = done.send(Ok(o));
                }
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, batches = group.len(), "readings group failed, writing its batches one by one")
            }
        }
    }
    for (b, done) in group {
        let r = write_batches(store, std::iter::once(&b)).await;
        let _ = done.send(r.map(|mut o| o.pop().unwrap_or_default()));
    }
}

/// Writes `batches` in one transaction; the outcomes of each, as if written in turn.
///
/// SQLite: each batch's readings are inserted where new (a savepoint each). A batch whose
/// every reading was new keeps its insert, and the rest of all such batches is written
/// once, from their merged `Tally` (a live feed's batches share their meters' and entities'
/// day and month rows and the meters: written once per group, not once per batch). A batch
/// with a reading stored before (a re-post, a correction, or a reading of an earlier batch
/// of the group) is undone to its savepoint and written after them the general way
/// (`store_impl`), which sees what they wrote.
async fn write_batches<'a>(
    store: &Store,
    batches: impl Iterator<Item = &'a Batch>,
) -> sqlx::Result<Vec<Vec<Outcome>>> {
    let kind = store.kind;
    let t0 = std::time::Instant::now();
    let mut tx = store.begin().await?;
    let batches: Vec<&Batch> = batches.collect();
    let mut outs: Vec<Option<Vec<Outcome>>> = vec![None; batches.len()];
    let mut written: Vec<(&Batch, &Tally)> = Vec::new();
    for (i, b) in batches.iter().enumerate() {
        // PostgreSQL: the caller tried the all-new way (`write_copied`) already.
        let Some(all_new) = b.all_new.as_ref().filter(|_| kind == DbKind::Sqlite) else {
            continue;
        };
        (&mut *tx).execute("SAVEPOINT readings_new").await?;
        let mut insert = Script::default();
        insert.push_rows(
            format!(
                "{} ON CONFLICT ({READINGS_KEY}) DO NOTHING",
                insert_readings_sql(kind, ROWS, "?", "?")
            ),
            vec![Arg::Int(b.now), Arg::Text(&b.source)],
            READING_COLS.to_vec(),
            reading_cols(&all_new.sorted).into(),
        );
        if insert.run(&mut tx, kind).await? == all_new.sorted.len() as u64 {
            (&mut *tx).execute("RELEASE readings_new").await?;
            outs[i] = Some(all_new.outcomes.clone());
            written.push((b, &all_new.tally));
        } else {
            (&mut *tx)
                .execute("ROLLBACK TO readings_new; RELEASE readings_new;")
                .await?;
        }
    }
    let t_insert = t0.elapsed();
    if let Some(&(last, _)) = written.last() {
        let tallies: Vec<&Tally> = written.iter().map(|(_, t)| *t).collect();
        let tally = Tally::merged(&tallies);
        let c = last.context(kind);
        tally.script(&c, false, true).run(&mut tx, kind).await?;
    }
    let t_tail = t0.elapsed();
    for (b, out) in batches.iter().zip(outs.iter_mut()) {
        if out.is_none() {
            *out = Some(store_impl(&mut tx, &b.context(kind), &b.rows).await?);
        }
    }
    let t_rest = t0.elapsed();
    tx.commit().await?;
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    tracing::debug!(
        batches = batches.len(),
        all_new = written.len(),
        insert_ms = ms(t_insert),
        tail_ms = ms(t_tail - t_insert),
        general_ms = ms(t_rest - t_tail),
        commit_ms = ms(t0.elapsed() - t_rest),
        "readings written"
    );
    Ok(outs.into_iter().map(Option::unwrap_or_default).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_text_writes_values_in_without_reading_them_as_sql() {
        // A source holding the placeholders: written in as a quoted literal, untouched.
        let source = "gw?{rows}'x";
        let mut script = Script::default();
        script.push_rows(
            format!("UPDATE readings SET source = ? FROM {ROWS} WHERE readings.ts = v.ts"),
            vec![Arg::Text(source)],
            vec!["ts"],
            vec![Col::Int(vec![1, 2])],
        );
        script.push(
            "UPDATE api_keys SET last_used_at = ? WHERE id = ?",
            vec![Arg::Int(5), Arg::Int(7)],
        );
        let text = script.text(DbKind::Postgres);
        assert_eq!(
            text,
            "UPDATE readings SET source = 'gw?{rows}''x' FROM unnest('{1,2}'::bigint[]) AS v(ts) \
             WHERE readings.ts = v.ts;\n\
             UPDATE api_keys SET last_used_at = 5 WHERE id = 7;\n"
        );
        // A statement without rows is left out.
        let mut empty = Script::default();
        empty.push_rows(
            format!("DELETE FROM {ROWS}"),
            Vec::new(),
            vec!["ts"],
            vec![Col::Int(vec![])],
        );
        assert_eq!(empty.text(DbKind::Postgres), "");
    }

    #[test]
    fn sqlite_rows_are_parameters_in_column_order() {
        assert_eq!(
            values_rows(&["meter_id", "ts"], 2),
            "(SELECT column1 AS meter_id, column2 AS ts FROM (VALUES (?,?),(?,?))) AS v"
        );
    }
}
