//! Sky Eye ingest: alert batches and camera heartbeats from machine integrations, and the
//! camera-offline sweep. One batch is one transaction: the sender's acknowledgement (the
//! HTTP response) is built only after it commits.
//!
//! Idempotency: an alert is identified by (source, external_id), the source being the
//! integration its key belongs to. A retried batch finds its alerts stored and reports them
//! as duplicates; nothing is written twice. On PostgreSQL, batches of one source take a
//! transaction-scoped advisory lock, so two app servers receiving the same retry at once
//! still store it once; on SQLite the single writer already orders them.
use super::skyeye::{insert_event, ApiKey, EventIn};
use super::{values_sql, DbKind, Store, Tx};
use crate::domain::skyeye::{self as rules, Incoming, Open, Step, Target, Triage};
use crate::photos::Photo;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Most alerts (or heartbeats) in one batch.
pub const MAX_BATCH: usize = 1000;
/// Largest snapshot, decoded.
pub const MAX_SNAPSHOT: usize = 512 * 1024;
/// How far in the future an alert's time may lie (clock skew).
const FUTURE_SLACK_MS: i64 = 5 * 60_000;
/// Oldest alert accepted.
const MAX_AGE_MS: i64 = 30 * 86_400_000;

/// Why one item of a batch was refused. `code` is stable for programs; people read the
/// message in their language (see the API's `message`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ItemError {
    pub field: &'static str,
    pub code: &'static str,
}

fn err(field: &'static str, code: &'static str) -> ItemError {
    ItemError { field, code }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemStatus {
    Created { alert_id: i64, incident_id: i64 },
    Duplicate { alert_id: i64, incident_id: i64 },
    Rejected(Vec<ItemError>),
}

#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub items: Vec<(Option<String>, ItemStatus)>,
    /// Incidents created or changed (for the live view).
    pub incidents: Vec<i64>,
}

impl BatchOutcome {
    pub fn count(&self, f: impl Fn(&ItemStatus) -> bool) -> usize {
        self.items.iter().filter(|(_, s)| f(s)).count()
    }
}

struct Valid {
    index: usize,
    external_id: String,
    camera_id: i64,
    type_id: i64,
    at: i64,
    confidence: Option<f64>,
    snapshot: Option<Photo>,
}

struct CameraInfo {
    id: i64,
    department_id: i64,
    district_code: String,
}

struct TypeInfo {
    id: i64,
    severity: String,
    health: bool,
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Parses an RFC 3339 instant (with offset) into epoch milliseconds.
pub fn parse_instant(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.timestamp_millis())
}

fn decode_snapshot(v: &Value) -> Result<Option<Photo>, ItemError> {
    use base64::Engine;
    match v.get("snapshot") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            // Decoded size is about 3/4 of the text: refuse oversized ones before decoding.
            if s.len() > MAX_SNAPSHOT / 3 * 4 + 8 {
                return Err(err("snapshot", "snapshot_too_large"));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .map_err(|_| err("snapshot", "bad_base64"))?;
            if bytes.len() > MAX_SNAPSHOT {
                return Err(err("snapshot", "snapshot_too_large"));
            }
            crate::photos::sniff(bytes)
                .map(Some)
                .map_err(|_| err("snapshot", "bad_image"))
        }
        Some(_) => Err(err("snapshot", "bad_base64")),
    }
}

/// On SQLite, numbered placeholders (`$1`, `$2`, …) cost time quadratic in their number:
/// SQLite looks each one up by name in a list when it prepares the statement, and sqlx again
/// when it binds, which made one 500-row insert take some 60 ms. Plain `?` placeholders bind
/// in order at no such cost. This rewrites `$n` into `?` on SQLite for statements that use
/// each placeholder once, in order (left unchanged otherwise); PostgreSQL keeps `$n`.
///
/// Such statements, whose length follows the batch, are run unprepared (`persistent(false)`):
/// sqlx keeps up to 100 prepared statements per connection, and one prepared 1,000-row
/// insert holds some 4 MB in a PostgreSQL backend. Measured, preparing them each time costs
/// nothing noticeable on either engine, and PostgreSQL plans them with the values at hand.
///
/// On PostgreSQL the big writes of a batch (new incidents, grown incidents, alerts) take
/// their rows as one JSON parameter read by `json_to_recordset`: a fixed statement, prepared
/// once per connection, where a VALUES list is parsed and planned anew with up to 9,000
/// parameters (measured: 18,400 → 20,200 alerts/s). The open-incident look-up keeps its
/// VALUES list: fed from JSON, PostgreSQL took some 350 ms over it instead of a few.
pub(crate) fn positional(kind: DbKind, sql: String) -> String {
    if kind != DbKind::Sqlite {
        return sql;
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut expected = 1u32;
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            let mut n = 0u32;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                n = n.saturating_mul(10).saturating_add(d);
                chars.next();
            }
            if n != expected {
                return sql;
            }
            expected += 1;
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// Read before the batch's transaction (through the read pool): cameras and types change
/// rarely, and reading them outside keeps the serialised part of a batch short.
async fn load_cameras(store: &Store, codes: &[&str]) -> sqlx::Result<HashMap<String, CameraInfo>> {
    let mut out = HashMap::new();
    for chunk in codes.chunks(MAX_BATCH) {
        if chunk.is_empty() {
            continue;
        }
        let ph: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = positional(
            store.kind,
            format!(
                "SELECT code, id, department_id, district_code FROM cameras WHERE code IN ({})",
                ph.join(",")
            ),
        );
        let mut q = sqlx::query_as::<_, (String, i64, i64, String)>(&sql).persistent(false);
        for c in chunk {
            q = q.bind(*c);
        }
        for (code, id, department_id, district_code) in q.fetch_all(store.pool()).await? {
            out.insert(
                code,
                CameraInfo {
                    id,
                    department_id,
                    district_code,
                },
            );
        }
    }
    Ok(out)
}

async fn load_types(store: &Store) -> sqlx::Result<HashMap<String, TypeInfo>> {
    let rows: Vec<(String, i64, String, i64)> = sqlx::query_as(
        "SELECT code, id, severity, CASE WHEN health THEN 1 ELSE 0 END FROM alert_types WHERE active = TRUE",
    )
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(code, id, severity, h)| {
            (
                code,
                TypeInfo {
                    id,
                    severity,
                    health: h != 0,
                },
            )
        })
        .collect())
}

/// Serialises batches of one source across app servers (PostgreSQL); a no-op on SQLite.
async fn lock_source(tx: &mut Tx, kind: DbKind, source: &str) -> sqlx::Result<()> {
    if kind == DbKind::Postgres {
        sqlx::query_scalar::<_, i32>(
            "SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext('skyeye:' || $1))) t",
        )
        .bind(source)
        .fetch_one(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn touch_key(tx: &mut Tx, key: &ApiKey, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(key.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Stores a batch of alerts sent with `key`. Items are independent: the valid ones are
/// stored, each refused one is listed with its reasons, and duplicates of alerts stored
/// before (or earlier in the same batch) are reported with the alert they repeat.
///
/// Alerts stored before are looked up before the batch takes its turn (see `lock_source`),
/// which keeps the serialised part short. An alert another post of the source stored in
/// between (a retry sent while the original was still in flight) makes the insert fail on
/// the (source, external_id) key: the batch is then rolled back and run again with the
/// look-up inside its turn, which stores it exactly.
pub async fn alerts(
    store: &Store,
    key: &ApiKey,
    items: &[Value],
    window_ms: i64,
    now: i64,
) -> sqlx::Result<BatchOutcome> {
    if let Some(out) = alerts_attempt(store, key, items, window_ms, now, false).await? {
        return Ok(out);
    }
    alerts_attempt(store, key, items, window_ms, now, true)
        .await?
        .ok_or_else(|| sqlx::Error::Protocol("alert batch conflicted inside its turn".into()))
}

/// PostgreSQL: index look-ups for the rest of the transaction. Every statement of a batch
/// touches a few rows per item through an index; PostgreSQL's default costs (made for
/// disks) rather scan whole tables for a 1,000-item batch (every alert of the source, every
/// open incident), a time growing with the tables and spent while other batches of the
/// source wait. A no-op on SQLite.
async fn prefer_indexes(tx: &mut Tx, kind: DbKind) -> sqlx::Result<()> {
    if kind == DbKind::Postgres {
        sqlx::query(
            "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_hashjoin', 'off', true), \
             set_config('enable_mergejoin', 'off', true)",
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The alerts of `source` with these external ids stored already: (alert id, incident id)
/// by external id.
async fn stored_alerts(
    tx: &mut Tx,
    kind: DbKind,
    source: &str,
    ids: &[&str],
) -> sqlx::Result<HashMap<String, (i64, i64)>> {
    let mut stored = HashMap::new();
    for chunk in ids.chunks(MAX_BATCH) {
        let ph: Vec<String> = (2..=chunk.len() + 1).map(|i| format!("${i}")).collect();
        let sql = positional(
            kind,
            format!(
                "SELECT external_id, id, incident_id FROM alerts WHERE source = $1 AND external_id IN ({})",
                ph.join(",")
            ),
        );
        // Unprepared (see `positional`): also, PostgreSQL's generic plan for a prepared one
        // cannot hash the list, and was seen to compare every alert of the source with each
        // item (100 ms and growing per batch at 20,000 alerts).
        let mut q = sqlx::query_as::<_, (String, i64, i64)>(&sql)
            .persistent(false)
            .bind(source);
        for id in chunk {
            q = q.bind(*id);
        }
        for (e, id, inc) in q.fetch_all(&mut **tx).await? {
            stored.insert(e, (id, inc));
        }
    }
    Ok(stored)
}

/// One attempt at `alerts`: `None` when, looking up stored alerts before its turn
/// (`exact` false), the batch met an alert stored in between; nothing is stored then.
async fn alerts_attempt(
    store: &Store,
    key: &ApiKey,
    items: &[Value],
    window_ms: i64,
    now: i64,
    exact: bool,
) -> sqlx::Result<Option<BatchOutcome>> {
    let codes: Vec<&str> = items
        .iter()
        .filter_map(|v| text(v, "camera"))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let cams = load_cameras(store, &codes).await?;
    let district_of: HashMap<i64, String> = cams
        .values()
        .map(|c| (c.id, c.district_code.clone()))
        .collect();
    let types = load_types(store).await?;
    let mut statuses: Vec<Option<ItemStatus>> = vec![None; items.len()];
    let mut valid: Vec<Valid> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut dup_in_batch: Vec<(usize, usize)> = Vec::new();
    for (index, v) in items.iter().enumerate() {
        if !v.is_object() {
            statuses[index] = Some(ItemStatus::Rejected(vec![err("", "not_an_object")]));
            continue;
        }
        let mut errs = Vec::new();
        let ext = match v.get("external_id") {
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 128 => {
                Some(s.trim().to_string())
            }
            Some(Value::String(s)) if s.len() > 128 => {
                errs.push(err("external_id", "too_long"));
                None
            }
            _ => {
                errs.push(err("external_id", "required"));
                None
            }
        };
        let cam = match text(v, "camera") {
            None => {
                errs.push(err("camera", "required"));
                None
            }
            Some(c) => match cams.get(c) {
                None => {
                    errs.push(err("camera", "unknown_camera"));
                    None
                }
                Some(ci) if ci.department_id != key.department_id => {
                    errs.push(err("camera", "camera_not_yours"));
                    None
                }
                Some(ci) => Some(ci),
            },
        };
        let ty = match text(v, "type") {
            None => {
                errs.push(err("type", "required"));
                None
            }
            Some(t) => match types.get(t) {
                Some(ti) if !ti.health => Some(ti),
                _ => {
                    errs.push(err("type", "unknown_type"));
                    None
                }
            },
        };
        let at = match text(v, "at").map(parse_instant) {
            None => {
                errs.push(err("at", "required"));
                None
            }
            Some(None) => {
                errs.push(err("at", "bad_time"));
                None
            }
            Some(Some(ms)) if ms > now + FUTURE_SLACK_MS => {
                errs.push(err("at", "in_future"));
                None
            }
            Some(Some(ms)) if ms < now - MAX_AGE_MS => {
                errs.push(err("at", "too_old"));
                None
            }
            Some(Some(ms)) => Some(ms),
        };
        let confidence = match v.get("confidence") {
            None | Some(Value::Null) => None,
            Some(c) => match c.as_f64() {
                Some(x) if (0.0..=1.0).contains(&x) => Some(x),
                _ => {
                    errs.push(err("confidence", "bad_confidence"));
                    None
                }
            },
        };
        let snapshot = decode_snapshot(v).unwrap_or_else(|e| {
            errs.push(e);
            None
        });
        match (ext, cam, ty, at) {
            (Some(external_id), Some(cam), Some(ty), Some(at)) if errs.is_empty() => {
                if let Some(&first) = seen.get(&external_id) {
                    dup_in_batch.push((index, first));
                    continue;
                }
                seen.insert(external_id.clone(), index);
                valid.push(Valid {
                    index,
                    external_id,
                    camera_id: cam.id,
                    type_id: ty.id,
                    at,
                    confidence,
                    snapshot,
                })
            }
            _ => statuses[index] = Some(ItemStatus::Rejected(errs)),
        }
    }
    let owner = if valid.is_empty() {
        key.department_id
    } else {
        super::skyeye::owner_department(store.pool())
            .await?
            .unwrap_or(key.department_id)
    };
    // Alerts stored by an earlier post of this source: looked up before the turn, unless
    // this is the exact attempt (see `alerts`).
    let ids: Vec<&str> = valid.iter().map(|v| v.external_id.as_str()).collect();
    let known = if exact || ids.is_empty() {
        None
    } else {
        let mut read = store.pool().begin().await?;
        prefer_indexes(&mut read, store.kind).await?;
        let known = stored_alerts(&mut read, store.kind, &key.source, &ids).await?;
        read.commit().await?;
        Some(known)
    };
    // From here on, batches of one source take turns (see `lock_source`).
    let mut tx = store.begin().await?;
    lock_source(&mut tx, store.kind, &key.source).await?;
    prefer_indexes(&mut tx, store.kind).await?;
    // A few of the alerts not found are looked up again inside the turn: a retry sent while
    // its original was in flight shows here, and is then looked up in full instead of
    // failing on the key after all the work (see `alerts`).
    let sample: Vec<&str> = match &known {
        Some(known) => {
            let unknown: Vec<&str> = ids
                .iter()
                .copied()
                .filter(|id| !known.contains_key(*id))
                .collect();
            let step = unknown.len().div_ceil(8).max(1);
            unknown.into_iter().step_by(step).collect()
        }
        None => Vec::new(),
    };
    let stored = match known {
        Some(known)
            if sample.is_empty()
                || stored_alerts(&mut tx, store.kind, &key.source, &sample)
                    .await?
                    .is_empty() =>
        {
            known
        }
        _ => stored_alerts(&mut tx, store.kind, &key.source, &ids).await?,
    };
    let mut fresh: Vec<Valid> = Vec::new();
    for v in valid {
        match stored.get(&v.external_id) {
            Some(&(alert_id, incident_id)) => {
                statuses[v.index] = Some(ItemStatus::Duplicate {
                    alert_id,
                    incident_id,
                })
            }
            None => fresh.push(v),
        }
    }
    let mut out = BatchOutcome::default();
    if !fresh.is_empty() {
        // Open incidents of the (camera, type) pairs in the batch: the only ones it can join.
        // Driven from the pairs, so each pair is looked up in incidents_open_idx rather than
        // every open incident of the window scanned: SQLite keeps the left side of a CROSS
        // JOIN as the outer loop (with a plain JOIN, SQLite 3.46 scanned the incidents and
        // the pairs for each, 350 ms a batch); PostgreSQL plans it as any inner join.
        // Per pair, only incidents within a window of its alerts: an incident no alert
        // reaches as it stands is never joined (a span grows only when an alert joins it).
        let mut reach: HashMap<(i64, i64), (i64, i64)> = HashMap::new();
        for v in &fresh {
            let r = reach
                .entry((v.camera_id, v.type_id))
                .or_insert((v.at, v.at));
            *r = (r.0.min(v.at), r.1.max(v.at));
        }
        let pairs_in: Vec<((i64, i64), (i64, i64))> = reach.into_iter().collect();
        let mut open: Vec<Open> = Vec::new();
        for chunk in pairs_in.chunks(MAX_BATCH) {
            // On PostgreSQL the rows are locked: an incident dismissed or resolved by another
            // transaction meanwhile is read again once it commits, and then left out, instead
            // of absorbing alerts after it ended. (SQLite has one writer: nothing changes.)
            // (A JSON parameter, as for the inserts below, made PostgreSQL take some 350 ms over
            // this look-up instead of a few: the VALUES list stays.)
            let sql = positional(
                store.kind,
                values_sql(
                    "SELECT i.id, i.camera_id, i.type_id, i.first_seen, i.last_seen FROM (VALUES ",
                    chunk.len(),
                    4,
                ) + &format!(
                    ") AS v CROSS JOIN incidents i WHERE i.camera_id = v.column1 AND i.type_id = v.column2 \
                     AND i.state IN ('new', 'acknowledged', 'escalated') AND i.last_seen >= v.column3 \
                     AND i.first_seen <= v.column4{}",
                    if store.kind == DbKind::Postgres {
                        " ORDER BY i.id FOR UPDATE OF i"
                    } else {
                        ""
                    }
                ),
            );
            let mut q = sqlx::query_as::<_, (i64, i64, i64, i64, i64)>(&sql).persistent(false);
            for ((camera_id, type_id), (first, last)) in chunk {
                q = q
                    .bind(*camera_id)
                    .bind(*type_id)
                    .bind(first - window_ms)
                    .bind(last + window_ms);
            }
            for (id, camera_id, type_id, first_seen, last_seen) in q.fetch_all(&mut *tx).await? {
                open.push(Open {
                    id,
                    camera_id,
                    type_id,
                    first_seen,
                    last_seen,
                });
            }
        }
        let incoming: Vec<Incoming> = fresh
            .iter()
            .map(|v| Incoming {
                camera_id: v.camera_id,
                type_id: v.type_id,
                at: v.at,
            })
            .collect();
        let plan = rules::fold(&open, &incoming, window_ms);
        // Per new incident: its highest confidence.
        let mut conf_new: Vec<Option<f64>> = vec![None; plan.new.len()];
        let mut conf_old: HashMap<i64, f64> = HashMap::new();
        for (v, t) in fresh.iter().zip(&plan.targets) {
            if let Some(c) = v.confidence {
                match *t {
                    Target::New(n) => conf_new[n] = Some(conf_new[n].map_or(c, |x: f64| x.max(c))),
                    Target::Existing(id) => {
                        let e = conf_old.entry(id).or_insert(c);
                        *e = e.max(c);
                    }
                }
            }
        }
        let severity: HashMap<i64, &str> = types
            .values()
            .map(|t| (t.id, t.severity.as_str()))
            .collect();
        // New incidents, mapped back by (camera, type, first seen): unique within a plan,
        // since two new incidents of one camera and type are more than a window apart.
        let mut new_ids: Vec<i64> = vec![0; plan.new.len()];
        let new_index: HashMap<(i64, i64, i64), usize> = plan
            .new
            .iter()
            .enumerate()
            .map(|(k, n)| ((n.camera_id, n.type_id, n.first_seen), k))
            .collect();
        for (ci, chunk) in plan.new.chunks(MAX_BATCH).enumerate() {
            let pg = store.kind == DbKind::Postgres;
            let sql = if pg {
                "INSERT INTO incidents (camera_id, type_id, owner_department_id, severity, district_code, state, \
                 alert_count, first_seen, last_seen, max_confidence, created_at, updated_at) \
                 SELECT x.c, x.t, $1, x.sev, x.d, $2, x.n, x.fs, x.ls, x.f, $3, $3 \
                 FROM json_to_recordset($4::json) AS x(c BIGINT, t BIGINT, sev TEXT, d TEXT, n BIGINT, \
                 fs BIGINT, ls BIGINT, f DOUBLE PRECISION) RETURNING id, camera_id, type_id, first_seen"
                    .to_string()
            } else {
                positional(
                    store.kind,
                    values_sql(
                        "INSERT INTO incidents (camera_id, type_id, owner_department_id, severity, district_code, state, \
                         alert_count, first_seen, last_seen, max_confidence, created_at, updated_at) VALUES ",
                        chunk.len(),
                        12,
                    ) + " RETURNING id, camera_id, type_id, first_seen",
                )
            };
            let sev = |n: &rules::NewIncident| severity.get(&n.type_id).copied().unwrap_or("minor");
            let district = |n: &rules::NewIncident| {
                district_of
                    .get(&n.camera_id)
                    .map(String::as_str)
                    .unwrap_or("")
            };
            let mut q = sqlx::query_as::<_, (i64, i64, i64, i64)>(&sql).persistent(pg);
            if pg {
                let rows: Vec<Value> = chunk
                    .iter()
                    .enumerate()
                    .map(|(j, n)| {
                        serde_json::json!({"c": n.camera_id, "t": n.type_id, "sev": sev(n), "d": district(n),
                            "n": n.count, "fs": n.first_seen, "ls": n.last_seen, "f": conf_new[ci * MAX_BATCH + j]})
                    })
                    .collect();
                q = q
                    .bind(owner)
                    .bind(Triage::New.code())
                    .bind(now)
                    .bind(Value::Array(rows).to_string());
            } else {
                for (j, n) in chunk.iter().enumerate() {
                    q = q
                        .bind(n.camera_id)
                        .bind(n.type_id)
                        .bind(owner)
                        .bind(sev(n))
                        .bind(district(n))
                        .bind(Triage::New.code())
                        .bind(n.count)
                        .bind(n.first_seen)
                        .bind(n.last_seen)
                        .bind(conf_new[ci * MAX_BATCH + j])
                        .bind(now)
                        .bind(now);
                }
            }
            let rows = q.fetch_all(&mut *tx).await?;
            for (id, camera_id, type_id, first_seen) in rows {
                if let Some(&k) = new_index.get(&(camera_id, type_id, first_seen)) {
                    new_ids[k] = id;
                }
            }
        }
        // Grown incidents: one UPDATE ... FROM (VALUES ...) per chunk.
        for chunk in plan.grown.chunks(MAX_BATCH) {
            let set = "UPDATE incidents SET alert_count = incidents.alert_count + v.column2, \
                 first_seen = CASE WHEN v.column3 < incidents.first_seen THEN v.column3 ELSE incidents.first_seen END, \
                 last_seen = CASE WHEN v.column4 > incidents.last_seen THEN v.column4 ELSE incidents.last_seen END, \
                 max_confidence = CASE WHEN v.column5 >= 0 AND (incidents.max_confidence IS NULL OR v.column5 > incidents.max_confidence) \
                 THEN v.column5 ELSE incidents.max_confidence END, \
                 updated_at = v.column6 FROM ";
            let pg = store.kind == DbKind::Postgres;
            let sql = if pg {
                format!(
                    "{set}json_to_recordset($1::json) AS v(column1 BIGINT, column2 BIGINT, column3 BIGINT, \
                     column4 BIGINT, column5 DOUBLE PRECISION, column6 BIGINT) WHERE incidents.id = v.column1"
                )
            } else {
                positional(
                    store.kind,
                    values_sql(&format!("{set}(VALUES "), chunk.len(), 6)
                        + ") AS v WHERE incidents.id = v.column1",
                )
            };
            let mut q = sqlx::query(&sql).persistent(pg);
            if pg {
                let rows: Vec<Value> = chunk
                    .iter()
                    .map(|g| {
                        serde_json::json!({"column1": g.id, "column2": g.added, "column3": g.first_seen,
                            "column4": g.last_seen, "column5": conf_old.get(&g.id).copied().unwrap_or(-1.0),
                            "column6": now})
                    })
                    .collect();
                q = q.bind(Value::Array(rows).to_string());
            } else {
                for g in chunk {
                    q = q
                        .bind(g.id)
                        .bind(g.added)
                        .bind(g.first_seen)
                        .bind(g.last_seen)
                        .bind(conf_old.get(&g.id).copied().unwrap_or(-1.0))
                        .bind(now);
                }
            }
            q.execute(&mut *tx).await?;
        }
        let incident_of = |t: &Target| match *t {
            Target::New(n) => new_ids[n],
            Target::Existing(id) => id,
        };
        // The alerts themselves.
        let mut alert_ids: HashMap<String, i64> = HashMap::new();
        let pairs: Vec<(&Valid, i64)> = fresh
            .iter()
            .zip(&plan.targets)
            .map(|(v, t)| (v, incident_of(t)))
            .collect();
        for chunk in pairs.chunks(MAX_BATCH) {
            let pg = store.kind == DbKind::Postgres;
            let sql = if pg {
                // One JSON parameter holding the rows: a fixed statement, prepared once per
                // connection, instead of 9,000 parameters parsed and planned per batch.
                "INSERT INTO alerts (source, external_id, camera_id, type_id, at, confidence, incident_id, \
                 has_snapshot, received_at) SELECT $1, x.e, x.c, x.t, x.a, x.f, x.i, x.s, $2 \
                 FROM json_to_recordset($3::json) AS x(e TEXT, c BIGINT, t BIGINT, a BIGINT, \
                 f DOUBLE PRECISION, i BIGINT, s BOOLEAN) RETURNING external_id, id"
                    .to_string()
            } else {
                positional(
                    store.kind,
                    values_sql(
                        "INSERT INTO alerts (source, external_id, camera_id, type_id, at, confidence, incident_id, \
                         has_snapshot, received_at) VALUES ",
                        chunk.len(),
                        9,
                    ) + " RETURNING external_id, id",
                )
            };
            let mut q = sqlx::query_as::<_, (String, i64)>(&sql).persistent(pg);
            if pg {
                let rows: Vec<Value> = chunk
                    .iter()
                    .map(|(v, inc)| {
                        serde_json::json!({"e": v.external_id, "c": v.camera_id, "t": v.type_id,
                            "a": v.at, "f": v.confidence, "i": inc, "s": v.snapshot.is_some()})
                    })
                    .collect();
                q = q
                    .bind(&key.source)
                    .bind(now)
                    .bind(Value::Array(rows).to_string());
            } else {
                for (v, inc) in chunk {
                    q = q
                        .bind(&key.source)
                        .bind(&v.external_id)
                        .bind(v.camera_id)
                        .bind(v.type_id)
                        .bind(v.at)
                        .bind(v.confidence)
                        .bind(*inc)
                        .bind(v.snapshot.is_some())
                        .bind(now);
                }
            }
            let rows = match q.fetch_all(&mut *tx).await {
                Ok(rows) => rows,
                // Stored in between by another post of this source (see `alerts`).
                Err(sqlx::Error::Database(e)) if !exact && e.is_unique_violation() => {
                    tx.rollback().await?;
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            for (e, id) in rows {
                alert_ids.insert(e, id);
            }
        }
        // Snapshots (many rows per statement), and each incident's latest one.
        let mut latest: HashMap<i64, (i64, i64)> = HashMap::new();
        let snaps: Vec<(i64, &Photo)> = pairs
            .iter()
            .filter_map(|(v, inc)| {
                let p = v.snapshot.as_ref()?;
                let aid = alert_ids[&v.external_id];
                let e = latest.entry(*inc).or_insert((v.at, aid));
                if v.at >= e.0 {
                    *e = (v.at, aid);
                }
                Some((aid, p))
            })
            .collect();
        for chunk in snaps.chunks(100) {
            let sql = positional(
                store.kind,
                values_sql(
                    "INSERT INTO alert_snapshots (alert_id, mime, width, height, size, bytes) VALUES ",
                    chunk.len(),
                    6,
                ),
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for (aid, p) in chunk {
                q = q
                    .bind(*aid)
                    .bind(p.mime)
                    .bind(p.width)
                    .bind(p.height)
                    .bind(p.bytes.len() as i64)
                    .bind(&p.bytes);
            }
            q.execute(&mut *tx).await?;
        }
        // An alert that arrives late (a retry, a platform catching up) does not replace the
        // snapshot of a later alert stored before.
        let latest: Vec<(i64, (i64, i64))> = latest.into_iter().collect();
        for chunk in latest.chunks(MAX_BATCH) {
            let sql = positional(
                store.kind,
                values_sql(
                    "UPDATE incidents SET snapshot_alert_id = v.column2 FROM (VALUES ",
                    chunk.len(),
                    3,
                ) + ") AS v WHERE incidents.id = v.column1 AND (incidents.snapshot_alert_id IS NULL \
                 OR NOT EXISTS (SELECT 1 FROM alerts s WHERE s.id = incidents.snapshot_alert_id AND s.at > v.column3))",
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for (inc, (at, aid)) in chunk {
                q = q.bind(*inc).bind(*aid).bind(*at);
            }
            q.execute(&mut *tx).await?;
        }
        for (v, inc) in &pairs {
            statuses[v.index] = Some(ItemStatus::Created {
                alert_id: alert_ids[&v.external_id],
                incident_id: *inc,
            });
        }
        let mut changed: Vec<i64> = pairs.iter().map(|p| p.1).collect();
        changed.sort_unstable();
        changed.dedup();
        out.incidents = changed;
    }
    // Repeats inside the batch point at the alert they repeat.
    for (index, first) in dup_in_batch {
        let st = match &statuses[first] {
            Some(ItemStatus::Created {
                alert_id,
                incident_id,
            })
            | Some(ItemStatus::Duplicate {
                alert_id,
                incident_id,
            }) => ItemStatus::Duplicate {
                alert_id: *alert_id,
                incident_id: *incident_id,
            },
            _ => ItemStatus::Rejected(vec![err("external_id", "duplicate_in_batch")]),
        };
        statuses[index] = Some(st);
    }
    touch_key(&mut tx, key, now).await?;
    tx.commit().await?;
    out.items = items
        .iter()
        .zip(statuses)
        .map(|(v, s)| {
            (
                text(v, "external_id").map(str::to_string),
                s.unwrap_or(ItemStatus::Rejected(vec![])),
            )
        })
        .collect();
    Ok(Some(out))
}

/// What a heartbeat did to its camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeatStatus {
    Ok,
    /// An unknown camera with a name and coordinates, registered to the key's department.
    Registered,
    Rejected(Vec<ItemError>),
}

#[derive(Debug, Default)]
pub struct BeatOutcome {
    pub items: Vec<(Option<String>, BeatStatus)>,
    pub incidents: Vec<i64>,
}

const SYSTEM: &str = "系统 system";

/// Opens a camera-health incident (offline or tampered) for the camera's owner unless one is
/// open already. Returns its id when it opened one.
pub async fn raise_health(
    tx: &mut Tx,
    camera_id: i64,
    type_code: &str,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    let ty: Option<(i64, String)> =
        sqlx::query_as("SELECT id, severity FROM alert_types WHERE code = $1")
            .bind(type_code)
            .fetch_optional(&mut **tx)
            .await?;
    let Some((type_id, severity)) = ty else {
        return Ok(None);
    };
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM incidents WHERE camera_id = $1 AND type_id = $2 AND state IN ('new', 'acknowledged')",
    )
    .bind(camera_id)
    .bind(type_id)
    .fetch_one(&mut **tx)
    .await?;
    if open > 0 {
        return Ok(None);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO incidents (camera_id, type_id, owner_department_id, severity, district_code, state, \
         alert_count, first_seen, last_seen, created_at, updated_at) \
         SELECT id, $1, department_id, $2, district_code, 'new', 1, $3, $3, $3, $3 FROM cameras WHERE id = $4 \
         RETURNING id",
    )
    .bind(type_id)
    .bind(&severity)
    .bind(now)
    .bind(camera_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Some(id))
}

/// Resolves the camera's open health incidents (it is back), or only those of type `only`.
/// Returns their ids.
async fn resolve_health(
    tx: &mut Tx,
    camera_id: i64,
    only: Option<&str>,
    now: i64,
) -> sqlx::Result<Vec<i64>> {
    let open: Vec<(i64, String)> = sqlx::query_as(
        "SELECT i.id, i.state FROM incidents i JOIN alert_types t ON t.id = i.type_id \
         WHERE i.camera_id = $1 AND t.health = TRUE AND i.state IN ('new', 'acknowledged') \
         AND ($2 = '' OR t.code = $2)",
    )
    .bind(camera_id)
    .bind(only.unwrap_or(""))
    .fetch_all(&mut **tx)
    .await?;
    let mut ids = Vec::new();
    for (id, state) in open {
        let from = Triage::from_code(&state).unwrap_or(Triage::New);
        let Some(to) = rules::next(from, Step::Resolve, true) else {
            continue;
        };
        sqlx::query(
            "UPDATE incidents SET state = $1, updated_at = $2, version = version + 1 WHERE id = $3",
        )
        .bind(to.code())
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        insert_event(
            tx,
            &EventIn {
                incident_id: id,
                at: now,
                step: Step::Resolve,
                from,
                to,
                user_id: None,
                actor_name: SYSTEM,
                reason: None,
                note: "heartbeat",
            },
        )
        .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// Records heartbeats: `{"camera": code, "status": "online" | "tampered"}`, and for a camera
/// not yet known also `name`, `lon` and `lat`. The server's clock stamps them, so a device
/// with a wrong clock cannot keep itself online.
pub async fn heartbeats(
    store: &Store,
    key: &ApiKey,
    items: &[Value],
    now: i64,
) -> sqlx::Result<BeatOutcome> {
    let mut tx = store.begin().await?;
    lock_source(&mut tx, store.kind, &key.source).await?;
    let mut out = BeatOutcome::default();
    for v in items {
        let code = text(v, "camera").map(str::trim).filter(|c| !c.is_empty());
        let ext = code.map(str::to_string);
        let mut errs = Vec::new();
        let status = match text(v, "status") {
            Some(s @ ("online" | "tampered")) => Some(s),
            None => Some("online"),
            Some(_) => {
                errs.push(err("status", "bad_status"));
                None
            }
        };
        let Some(code) = code else {
            errs.push(err("camera", "required"));
            out.items.push((ext, BeatStatus::Rejected(errs)));
            continue;
        };
        if code.len() > 40 {
            errs.push(err("camera", "too_long"));
        }
        let cam: Option<(i64, i64, String)> =
            sqlx::query_as("SELECT id, department_id, status FROM cameras WHERE code = $1")
                .bind(code)
                .fetch_optional(&mut *tx)
                .await?;
        let mut registered = false;
        let (camera_id, old) = match cam {
            Some((_, dept, _)) if dept != key.department_id => {
                errs.push(err("camera", "camera_not_yours"));
                out.items.push((ext, BeatStatus::Rejected(errs)));
                continue;
            }
            Some((id, _, old)) => (id, old),
            None => {
                let name = text(v, "name").map(str::trim).filter(|n| !n.is_empty());
                let lon = v.get("lon").and_then(Value::as_f64);
                let lat = v.get("lat").and_then(Value::as_f64);
                let (Some(name), Some(lon), Some(lat)) = (name, lon, lat) else {
                    errs.push(err("camera", "unknown_camera"));
                    out.items.push((ext, BeatStatus::Rejected(errs)));
                    continue;
                };
                if name.chars().count() > 80 {
                    errs.push(err("name", "too_long"));
                }
                let grid = super::grids::locate(&mut tx, lon, lat).await?;
                let Some(grid) = grid else {
                    errs.push(err("lon", "outside_grids"));
                    out.items.push((ext, BeatStatus::Rejected(errs)));
                    continue;
                };
                if !errs.is_empty() {
                    out.items.push((ext, BeatStatus::Rejected(errs)));
                    continue;
                }
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO cameras (code, name, lon, lat, grid_id, district_code, department_id, source, \
                     status, status_since, last_heartbeat_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'online', $9, $9, $9) RETURNING id",
                )
                .bind(code)
                .bind(name)
                .bind(lon)
                .bind(lat)
                .bind(grid.id)
                .bind(&grid.district_code)
                .bind(key.department_id)
                .bind(&key.source)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                registered = true;
                (id, "online".to_string())
            }
        };
        let Some(status) = status.filter(|_| errs.is_empty()) else {
            out.items.push((ext, BeatStatus::Rejected(errs)));
            continue;
        };
        sqlx::query(
            "UPDATE cameras SET last_heartbeat_at = $1, status = $2, \
             status_since = CASE WHEN status = $2 THEN status_since ELSE $1 END WHERE id = $3",
        )
        .bind(now)
        .bind(status)
        .bind(camera_id)
        .execute(&mut *tx)
        .await?;
        // A camera that beats is not offline, whatever the status said when this batch began
        // (a sweep may have marked it offline meanwhile): open health incidents it ends are
        // resolved on every beat, not only on a change. Tampering opens an incident once,
        // when the status turns to it.
        if status == "tampered" {
            out.incidents
                .extend(resolve_health(&mut tx, camera_id, Some("camera_offline"), now).await?);
            if old != "tampered" {
                out.incidents
                    .extend(raise_health(&mut tx, camera_id, "camera_tampered", now).await?);
            }
        } else {
            out.incidents
                .extend(resolve_health(&mut tx, camera_id, None, now).await?);
        }
        out.items.push((
            ext,
            if registered {
                BeatStatus::Registered
            } else {
                BeatStatus::Ok
            },
        ));
    }
    touch_key(&mut tx, key, now).await?;
    tx.commit().await?;
    Ok(out)
}

/// Marks cameras without a heartbeat for `after_ms` offline and opens an offline incident
/// for each camera's owner. Safe to run on several app servers at once: each camera changes
/// status in one UPDATE, which only one of them wins.
pub async fn sweep_offline(store: &Store, now: i64, after_ms: i64) -> sqlx::Result<Vec<i64>> {
    let mut tx = store.begin().await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "UPDATE cameras SET status = 'offline', status_since = $1 \
         WHERE status <> 'offline' AND COALESCE(last_heartbeat_at, created_at) < $2 RETURNING id",
    )
    .bind(now)
    .bind(now - after_ms)
    .fetch_all(&mut *tx)
    .await?;
    let mut incidents = Vec::new();
    for id in ids {
        incidents.extend(raise_health(&mut tx, id, "camera_offline", now).await?);
    }
    tx.commit().await?;
    Ok(incidents)
}
