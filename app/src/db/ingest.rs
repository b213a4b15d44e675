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

async fn load_cameras(tx: &mut Tx, codes: &[&str]) -> sqlx::Result<HashMap<String, CameraInfo>> {
    let mut out = HashMap::new();
    for chunk in codes.chunks(500) {
        if chunk.is_empty() {
            continue;
        }
        let ph: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT code, id, department_id, district_code FROM cameras WHERE code IN ({})",
            ph.join(",")
        );
        let mut q = sqlx::query_as::<_, (String, i64, i64, String)>(&sql);
        for c in chunk {
            q = q.bind(*c);
        }
        for (code, id, department_id, district_code) in q.fetch_all(&mut **tx).await? {
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

async fn load_types(tx: &mut Tx) -> sqlx::Result<HashMap<String, TypeInfo>> {
    let rows: Vec<(String, i64, String, i64)> = sqlx::query_as(
        "SELECT code, id, severity, CASE WHEN health THEN 1 ELSE 0 END FROM alert_types WHERE active = TRUE",
    )
    .fetch_all(&mut **tx)
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
pub async fn alerts(
    store: &Store,
    key: &ApiKey,
    items: &[Value],
    window_ms: i64,
    now: i64,
) -> sqlx::Result<BatchOutcome> {
    let mut tx = store.begin().await?;
    lock_source(&mut tx, store.kind, &key.source).await?;
    let codes: Vec<&str> = items
        .iter()
        .filter_map(|v| text(v, "camera"))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let cams = load_cameras(&mut tx, &codes).await?;
    let district_of: HashMap<i64, String> = cams
        .values()
        .map(|c| (c.id, c.district_code.clone()))
        .collect();
    let types = load_types(&mut tx).await?;
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
    // Alerts stored by an earlier post of this source.
    let mut stored: HashMap<String, (i64, i64)> = HashMap::new();
    for chunk in valid.chunks(500) {
        let ph: Vec<String> = (2..=chunk.len() + 1).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT external_id, id, incident_id FROM alerts WHERE source = $1 AND external_id IN ({})",
            ph.join(",")
        );
        let mut q = sqlx::query_as::<_, (String, i64, i64)>(&sql).bind(&key.source);
        for v in chunk {
            q = q.bind(&v.external_id);
        }
        for (e, id, inc) in q.fetch_all(&mut *tx).await? {
            stored.insert(e, (id, inc));
        }
    }
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
        // Open incidents of the cameras and types in the batch.
        let camera_ids: Vec<i64> = fresh
            .iter()
            .map(|v| v.camera_id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let min_at = fresh.iter().map(|v| v.at).min().unwrap_or(now) - window_ms;
        let mut open: Vec<Open> = Vec::new();
        for chunk in camera_ids.chunks(500) {
            let ph: Vec<String> = (2..=chunk.len() + 1).map(|i| format!("${i}")).collect();
            // On PostgreSQL the rows are locked: an incident dismissed or resolved by another
            // transaction meanwhile is read again once it commits, and then left out, instead
            // of absorbing alerts after it ended. (SQLite has one writer: nothing changes.)
            let sql = format!(
                "SELECT id, camera_id, type_id, first_seen, last_seen FROM incidents \
                 WHERE state IN ('new', 'acknowledged', 'escalated') AND last_seen >= $1 AND camera_id IN ({}){}",
                ph.join(","),
                if store.kind == DbKind::Postgres {
                    " ORDER BY id FOR UPDATE"
                } else {
                    ""
                }
            );
            let mut q = sqlx::query_as::<_, (i64, i64, i64, i64, i64)>(&sql).bind(min_at);
            for c in chunk {
                q = q.bind(*c);
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
        let owner = super::skyeye::owner_department(store.pool())
            .await?
            .unwrap_or(key.department_id);
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
        for (ci, chunk) in plan.new.chunks(400).enumerate() {
            let sql = values_sql(
                "INSERT INTO incidents (camera_id, type_id, owner_department_id, severity, district_code, state, \
                 alert_count, first_seen, last_seen, max_confidence, created_at, updated_at) VALUES ",
                chunk.len(),
                12,
            ) + " RETURNING id, camera_id, type_id, first_seen";
            let mut q = sqlx::query_as::<_, (i64, i64, i64, i64)>(&sql);
            for (j, n) in chunk.iter().enumerate() {
                q = q
                    .bind(n.camera_id)
                    .bind(n.type_id)
                    .bind(owner)
                    .bind(severity.get(&n.type_id).copied().unwrap_or("minor"))
                    .bind(
                        district_of
                            .get(&n.camera_id)
                            .map(String::as_str)
                            .unwrap_or(""),
                    )
                    .bind(Triage::New.code())
                    .bind(n.count)
                    .bind(n.first_seen)
                    .bind(n.last_seen)
                    .bind(conf_new[ci * 400 + j])
                    .bind(now)
                    .bind(now);
            }
            let rows = q.fetch_all(&mut *tx).await?;
            for (id, camera_id, type_id, first_seen) in rows {
                if let Some(k) = plan.new.iter().position(|n| {
                    n.camera_id == camera_id && n.type_id == type_id && n.first_seen == first_seen
                }) {
                    new_ids[k] = id;
                }
            }
        }
        // Grown incidents: one UPDATE ... FROM (VALUES ...) per chunk.
        for chunk in plan.grown.chunks(400) {
            let sql = values_sql(
                "UPDATE incidents SET alert_count = incidents.alert_count + v.column2, \
                 first_seen = CASE WHEN v.column3 < incidents.first_seen THEN v.column3 ELSE incidents.first_seen END, \
                 last_seen = CASE WHEN v.column4 > incidents.last_seen THEN v.column4 ELSE incidents.last_seen END, \
                 max_confidence = CASE WHEN v.column5 >= 0 AND (incidents.max_confidence IS NULL OR v.column5 > incidents.max_confidence) \
                 THEN v.column5 ELSE incidents.max_confidence END, \
                 updated_at = v.column6 FROM (VALUES ",
                chunk.len(),
                6,
            ) + ") AS v WHERE incidents.id = v.column1";
            let mut q = sqlx::query(&sql);
            for g in chunk {
                q = q
                    .bind(g.id)
                    .bind(g.added)
                    .bind(g.first_seen)
                    .bind(g.last_seen)
                    .bind(conf_old.get(&g.id).copied().unwrap_or(-1.0))
                    .bind(now);
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
        for chunk in pairs.chunks(500) {
            let sql = values_sql(
                "INSERT INTO alerts (source, external_id, camera_id, type_id, at, confidence, incident_id, \
                 has_snapshot, received_at) VALUES ",
                chunk.len(),
                9,
            ) + " RETURNING external_id, id";
            let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
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
            for (e, id) in q.fetch_all(&mut *tx).await? {
                alert_ids.insert(e, id);
            }
        }
        // Snapshots, and each incident's latest one.
        let mut latest: HashMap<i64, (i64, i64)> = HashMap::new();
        for (v, inc) in &pairs {
            let Some(p) = &v.snapshot else { continue };
            let aid = alert_ids[&v.external_id];
            sqlx::query(
                "INSERT INTO alert_snapshots (alert_id, mime, width, height, size, bytes) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(aid)
            .bind(p.mime)
            .bind(p.width)
            .bind(p.height)
            .bind(p.bytes.len() as i64)
            .bind(&p.bytes)
            .execute(&mut *tx)
            .await?;
            let e = latest.entry(*inc).or_insert((v.at, aid));
            if v.at >= e.0 {
                *e = (v.at, aid);
            }
        }
        // An alert that arrives late (a retry, a platform catching up) does not replace the
        // snapshot of a later alert stored before.
        for (inc, (at, aid)) in &latest {
            sqlx::query(
                "UPDATE incidents SET snapshot_alert_id = $1 WHERE id = $2 AND (snapshot_alert_id IS NULL \
                 OR NOT EXISTS (SELECT 1 FROM alerts s WHERE s.id = incidents.snapshot_alert_id AND s.at > $3))",
            )
            .bind(aid)
            .bind(inc)
            .bind(at)
            .execute(&mut *tx)
            .await?;
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
    Ok(out)
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
