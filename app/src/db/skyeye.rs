//! Sky Eye incidents: who sees what, triage, escalation to cases, camera health, statistics
//! and the keys of machine integrations. Ingest is in `db::ingest`.
use super::{
    audit, bind_args, bind_scalar, cases, fmt_local, local_day_start_ms, now_ms, Arg, Flag, Store,
    Tx, Where,
};
use crate::domain::skyeye::{self as rules, DismissReason, Severity, Step, Triage};
use crate::domain::Role;
use crate::error::{AppError, FieldErrorKind as K};
use crate::model::{
    AlertItem, AlertStats, AlertType, ApiKeyRow, CameraFilter, CameraRow, CurrentUser, DeptHealth,
    IncidentDetail, IncidentFilter, IncidentRow, NewApiKey, Page, TriageEvent, TriageRate,
    TriageResult, PER_PAGE,
};

/// Settings key naming (by code) the department that owns Sky Eye data.
pub const OWNER_SETTING: &str = "skyeye.owner_department";
/// Counting a list stops here, as for cases.
const COUNT_CAP: i64 = 1000;
/// Most incidents one bulk triage may change.
pub const BULK_MAX: usize = 200;

/// The department that owns Sky Eye data (the public security bureau in the demo).
pub async fn owner_department(pool: &sqlx::AnyPool) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT d.id FROM departments d JOIN settings s ON s.value = d.code WHERE s.key = $1",
    )
    .bind(OWNER_SETTING)
    .fetch_optional(pool)
    .await
}

/// `None`: the caller reads every incident (leaders, administrators, the owning department,
/// and a department holding a grant in force on the Sky Eye dataset: each such read, named
/// by `what`, is audited as `data.read`). `Some(d)`: only incidents department `d` owns
/// (camera health), of types granted to it, or escalated to it as cases.
pub async fn scope(store: &Store, u: &CurrentUser, what: &str) -> sqlx::Result<Option<i64>> {
    if matches!(u.role, Role::Admin | Role::Leader) {
        return Ok(None);
    }
    let owner = owner_department(store.pool()).await?;
    Ok(
        if owner == Some(u.department_id)
            || super::datasets::read_via_grant(store, u, crate::model::DATASET_SKYEYE, what).await?
        {
            None
        } else {
            Some(u.department_id)
        },
    )
}

const SCOPE_COND: &str = "(i.owner_department_id = ? \
     OR i.type_id IN (SELECT type_id FROM alert_type_grants WHERE department_id = ?) \
     OR i.case_id IN (SELECT id FROM cases WHERE department_id = ?) \
     OR i.case_id IN (SELECT case_id FROM case_assignments WHERE department_id = ?))";

fn scoped(w: &mut Where, scope: Option<i64>) {
    if let Some(d) = scope {
        w.and(SCOPE_COND, [Arg::I(d), Arg::I(d), Arg::I(d), Arg::I(d)]);
    }
}

/// Only the owning department's video officers and head take triage steps.
fn may_triage(u: &CurrentUser, owner_department_id: i64) -> bool {
    matches!(u.role, Role::VideoOfficer | Role::DeptHead) && u.department_id == owner_department_id
}

fn row_select(user_id: i64) -> String {
    format!(
        "SELECT i.id, i.state, i.severity, t.code AS type_code, t.name_zh AS type_zh, t.name_en AS type_en, \
         c.code AS camera_code, c.name AS camera_name, g.district_zh, g.district_en, i.alert_count, \
         i.first_seen, i.last_seen, i.max_confidence, i.snapshot_alert_id, i.case_id, \
         CASE WHEN r.user_id IS NULL THEN 0 ELSE 1 END AS reviewed, i.version \
         FROM incidents i JOIN alert_types t ON t.id = i.type_id JOIN cameras c ON c.id = i.camera_id \
         JOIN grids g ON g.id = c.grid_id \
         LEFT JOIN incident_reviews r ON r.incident_id = i.id AND r.user_id = {user_id}"
    )
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    state: String,
    severity: String,
    type_code: String,
    type_zh: String,
    type_en: String,
    camera_code: String,
    camera_name: String,
    district_zh: String,
    district_en: String,
    alert_count: i64,
    first_seen: i64,
    last_seen: i64,
    max_confidence: Option<f64>,
    snapshot_alert_id: Option<i64>,
    case_id: Option<i64>,
    #[sqlx(try_from = "i64")]
    reviewed: Flag,
    version: i64,
}

impl From<Row> for IncidentRow {
    fn from(r: Row) -> Self {
        IncidentRow {
            id: r.id,
            state: Triage::from_code(&r.state).unwrap_or(Triage::New),
            severity: Severity::from_code(&r.severity).unwrap_or(Severity::Minor),
            type_code: r.type_code,
            type_zh: r.type_zh,
            type_en: r.type_en,
            camera_code: r.camera_code,
            camera_name: r.camera_name,
            district_zh: r.district_zh,
            district_en: r.district_en,
            alert_count: r.alert_count,
            first_seen: fmt_local(r.first_seen),
            last_seen: fmt_local(r.last_seen),
            max_confidence: r.max_confidence,
            snapshot_alert_id: r.snapshot_alert_id,
            case_id: r.case_id,
            reviewed: r.reviewed.0,
            version: r.version,
        }
    }
}

fn filter_where(f: &IncidentFilter, scope: Option<i64>) -> Result<Where, AppError> {
    let mut w = Where::default();
    scoped(&mut w, scope);
    match f.state.trim() {
        "" => {}
        "open" => w.and("i.state IN ('new', 'acknowledged')", []),
        s => match Triage::from_code(s) {
            Some(t) => w.and("i.state = ?", [Arg::S(t.code().into())]),
            None => return Err(AppError::field("state", K::Required)),
        },
    }
    match f.severity.trim() {
        "" => {}
        s => match Severity::from_code(s) {
            Some(v) => w.and("i.severity = ?", [Arg::S(v.code().into())]),
            None => return Err(AppError::field("severity", K::Required)),
        },
    }
    if let Some(t) = f.type_id {
        w.and("i.type_id = ?", [Arg::I(t)]);
    }
    if !f.district.trim().is_empty() {
        w.and("i.district_code = ?", [Arg::S(f.district.trim().into())]);
    }
    if !f.camera.trim().is_empty() {
        w.and(
            "i.camera_id IN (SELECT id FROM cameras WHERE code = ?)",
            [Arg::S(f.camera.trim().into())],
        );
    }
    if !f.from.trim().is_empty() {
        let ms = local_day_start_ms(&f.from).ok_or_else(|| AppError::field("from", K::BadDate))?;
        w.and("i.last_seen >= ?", [Arg::I(ms)]);
    }
    if !f.to.trim().is_empty() {
        let ms = local_day_start_ms(&f.to).ok_or_else(|| AppError::field("to", K::BadDate))?;
        w.and("i.first_seen < ?", [Arg::I(ms + 86_400_000)]);
    }
    Ok(w)
}

pub async fn list(
    store: &Store,
    u: &CurrentUser,
    f: &IncidentFilter,
) -> Result<Page<IncidentRow>, AppError> {
    let scope = scope(store, u, "incident list").await?;
    let w = filter_where(f, scope)?;
    let mut count_args = w.args.clone();
    count_args.push(Arg::I(COUNT_CAP + 1));
    let counted: i64 = bind_scalar(
        sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM incidents i{} LIMIT {}) t",
            w.sql(),
            w.next(1)
        )),
        &count_args,
    )
    .fetch_one(store.pool())
    .await?;
    let page = f.page.max(1);
    let mut args = w.args.clone();
    args.push(Arg::I(PER_PAGE as i64));
    args.push(Arg::I(((page - 1) * PER_PAGE) as i64));
    let rows: Vec<Row> = bind_args(
        sqlx::query_as(&format!(
            "{}{} ORDER BY i.last_seen DESC, i.id DESC LIMIT {} OFFSET {}",
            row_select(u.id),
            w.sql(),
            w.next(1),
            w.next(2)
        )),
        &args,
    )
    .fetch_all(store.pool())
    .await?;
    Ok(Page {
        items: rows.into_iter().map(Into::into).collect(),
        total: counted.min(COUNT_CAP),
        page,
        per_page: PER_PAGE,
        more: counted > COUNT_CAP,
    })
}

/// True when the caller may see incident `id`.
async fn visible(store: &Store, u: &CurrentUser, id: i64) -> Result<bool, AppError> {
    let mut w = Where::default();
    scoped(&mut w, scope(store, u, &format!("incident {id}")).await?);
    w.and("i.id = ?", [Arg::I(id)]);
    let n: i64 = bind_scalar(
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM incidents i{}", w.sql())),
        &w.args,
    )
    .fetch_one(store.pool())
    .await?;
    Ok(n == 1)
}

/// The incident with its alerts and triage history; opening it marks it reviewed by the caller.
pub async fn detail(store: &Store, u: &CurrentUser, id: i64) -> Result<IncidentDetail, AppError> {
    if !visible(store, u, id).await? {
        return Err(AppError::NotFound);
    }
    {
        let mut tx = store.begin().await?;
        sqlx::query(
            "INSERT INTO incident_reviews (incident_id, user_id, at) VALUES ($1, $2, $3) \
             ON CONFLICT (incident_id, user_id) DO NOTHING",
        )
        .bind(id)
        .bind(u.id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    let row: Row = sqlx::query_as(&format!("{} WHERE i.id = $1", row_select(u.id)))
        .bind(id)
        .fetch_one(store.pool())
        .await?;
    #[derive(sqlx::FromRow)]
    struct Extra {
        #[sqlx(try_from = "i64")]
        health: Flag,
        camera_status: String,
        grid_code: String,
        street_zh: String,
        street_en: String,
        lon: f64,
        lat: f64,
        owner_department_id: i64,
        owner_zh: String,
        owner_en: String,
        dismiss_reason: Option<String>,
        case_code: Option<String>,
        class_id: Option<i64>,
    }
    let x: Extra = sqlx::query_as(
        "SELECT CASE WHEN t.health THEN 1 ELSE 0 END AS health, c.status AS camera_status, g.code AS grid_code, \
         g.street_zh, g.street_en, c.lon, c.lat, i.owner_department_id, d.name_zh AS owner_zh, d.name_en AS owner_en, \
         i.dismiss_reason, k.code AS case_code, t.class_id \
         FROM incidents i JOIN alert_types t ON t.id = i.type_id JOIN cameras c ON c.id = i.camera_id \
         JOIN grids g ON g.id = c.grid_id JOIN departments d ON d.id = i.owner_department_id \
         LEFT JOIN cases k ON k.id = i.case_id WHERE i.id = $1",
    )
    .bind(id)
    .fetch_one(store.pool())
    .await?;
    let alerts: Vec<(i64, String, i64, Option<f64>, i64)> = sqlx::query_as(
        "SELECT id, external_id, at, confidence, CASE WHEN has_snapshot THEN 1 ELSE 0 END \
         FROM alerts WHERE incident_id = $1 ORDER BY at DESC, id DESC LIMIT 50",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    /// at, action, from, to, actor, reason, note
    type EventRow = (i64, String, String, String, String, Option<String>, String);
    let events: Vec<EventRow> = sqlx::query_as(
        "SELECT at, action, from_state, to_state, actor_name, reason, note FROM incident_events \
             WHERE incident_id = $1 ORDER BY at, id",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    Ok(IncidentDetail {
        row: row.into(),
        health: x.health.0,
        camera_status: x.camera_status,
        grid_code: x.grid_code,
        street_zh: x.street_zh,
        street_en: x.street_en,
        lon: x.lon,
        lat: x.lat,
        owner_zh: x.owner_zh,
        owner_en: x.owner_en,
        dismiss_reason: x
            .dismiss_reason
            .as_deref()
            .and_then(DismissReason::from_code),
        case_code: x.case_code,
        class_id: x.class_id,
        alerts: alerts
            .into_iter()
            .map(|(id, external_id, at, confidence, snap)| AlertItem {
                id,
                external_id,
                at: fmt_local(at),
                confidence,
                has_snapshot: snap != 0,
            })
            .collect(),
        timeline: events
            .into_iter()
            .map(
                |(at, action, from_state, to_state, actor, reason, note)| TriageEvent {
                    at: fmt_local(at),
                    action,
                    from_state,
                    to_state,
                    actor,
                    reason,
                    note,
                },
            )
            .collect(),
        may_triage: may_triage(u, x.owner_department_id),
    })
}

struct Current {
    state: Triage,
    owner: i64,
    health: bool,
    version: i64,
}

async fn current(tx: &mut Tx, id: i64) -> sqlx::Result<Option<Current>> {
    let r: Option<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT i.state, i.owner_department_id, CASE WHEN t.health THEN 1 ELSE 0 END, i.version \
         FROM incidents i JOIN alert_types t ON t.id = i.type_id WHERE i.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(r.map(|(s, owner, h, version)| Current {
        state: Triage::from_code(&s).unwrap_or(Triage::New),
        owner,
        health: h != 0,
        version,
    }))
}

pub struct EventIn<'a> {
    pub incident_id: i64,
    pub at: i64,
    pub step: Step,
    pub from: Triage,
    pub to: Triage,
    pub user_id: Option<i64>,
    pub actor_name: &'a str,
    pub reason: Option<&'a str>,
    pub note: &'a str,
}

pub async fn insert_event(tx: &mut Tx, e: &EventIn<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO incident_events (incident_id, at, action, from_state, to_state, user_id, actor_name, reason, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(e.incident_id)
    .bind(e.at)
    .bind(e.step.code())
    .bind(e.from.code())
    .bind(e.to.code())
    .bind(e.user_id)
    .bind(e.actor_name)
    .bind(e.reason)
    .bind(e.note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Acknowledges or dismisses the selected incidents, each checked on its own: incidents the
/// caller cannot see or change, or whose state the step does not apply to, are skipped and
/// listed. Nothing is deleted; dismissing records the reason and who decided.
pub async fn triage(
    store: &Store,
    u: &CurrentUser,
    actor: &audit::Actor,
    ids: &[i64],
    step: Step,
    reason: Option<DismissReason>,
    note: &str,
) -> Result<TriageResult, AppError> {
    if !matches!(step, Step::Acknowledge | Step::Dismiss) {
        return Err(AppError::BadRequest("only acknowledge or dismiss".into()));
    }
    if ids.is_empty() {
        return Err(AppError::field("ids", K::Required));
    }
    if ids.len() > BULK_MAX {
        return Err(AppError::field("ids", K::TooLong));
    }
    if step == Step::Dismiss && reason.is_none() {
        return Err(AppError::field("reason", K::Required));
    }
    if note.chars().count() > 500 {
        return Err(AppError::field("note", K::TooLong));
    }
    let scope = scope(store, u, "bulk triage").await?;
    let mut visible_ids = Vec::new();
    for &id in ids {
        let mut w = Where::default();
        scoped(&mut w, scope);
        w.and("i.id = ?", [Arg::I(id)]);
        let n: i64 = bind_scalar(
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM incidents i{}", w.sql())),
            &w.args,
        )
        .fetch_one(store.pool())
        .await?;
        if n == 1 {
            visible_ids.push(id);
        }
    }
    let now = now_ms();
    let mut out = TriageResult::default();
    let mut denied = 0;
    let mut tx = store.begin().await?;
    for &id in ids {
        if !visible_ids.contains(&id) {
            out.skipped.push(id);
            continue;
        }
        let Some(cur) = current(&mut tx, id).await? else {
            out.skipped.push(id);
            continue;
        };
        if !may_triage(u, cur.owner) {
            denied += 1;
            out.skipped.push(id);
            continue;
        }
        let Some(to) = rules::next(cur.state, step, cur.health) else {
            out.skipped.push(id);
            continue;
        };
        let changed = sqlx::query(
            "UPDATE incidents SET state = $1, dismiss_reason = $2, decided_by = $3, decided_at = $4, \
             updated_at = $4, version = version + 1 WHERE id = $5 AND version = $6",
        )
        .bind(to.code())
        .bind(reason.filter(|_| step == Step::Dismiss).map(|r| r.code()))
        .bind(u.id)
        .bind(now)
        .bind(id)
        .bind(cur.version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed != 1 {
            out.skipped.push(id);
            continue;
        }
        insert_event(
            &mut tx,
            &EventIn {
                incident_id: id,
                at: now,
                step,
                from: cur.state,
                to,
                user_id: Some(u.id),
                actor_name: &u.display_name,
                reason: reason.filter(|_| step == Step::Dismiss).map(|r| r.code()),
                note,
            },
        )
        .await?;
        audit::record(
            &mut tx,
            actor,
            audit::Event {
                action: &format!("incident.{}", step.code()),
                target_type: "incident",
                target_id: Some(id.to_string()),
                outcome: audit::OK,
                detail: format!(
                    "{} -> {}{}",
                    cur.state.code(),
                    to.code(),
                    reason
                        .map(|r| format!(" reason={}", r.code()))
                        .unwrap_or_default()
                ),
            },
        )
        .await?;
        out.changed.push(id);
    }
    if denied > 0 {
        audit::record(
            &mut tx,
            actor,
            audit::Event {
                action: &format!("incident.{}", step.code()),
                target_type: "incident",
                target_id: None,
                outcome: audit::DENIED,
                detail: format!("{denied} incidents of another department"),
            },
        )
        .await?;
    }
    tx.commit().await?;
    // One incident asked for and not changed: say why instead of an empty result.
    if ids.len() == 1 && out.changed.is_empty() {
        return Err(if !visible_ids.is_empty() && denied == 0 {
            AppError::Conflict
        } else if denied > 0 {
            AppError::Forbidden
        } else {
            AppError::NotFound
        });
    }
    Ok(out)
}

/// Escalates an incident: opens a case (class, place, description and the latest snapshot
/// filled in, source "skyeye") and links it both ways, in one transaction.
pub async fn escalate(
    store: &Store,
    u: &CurrentUser,
    actor: &audit::Actor,
    id: i64,
    class_id: Option<i64>,
    description: &str,
    version: i64,
) -> Result<(i64, String), AppError> {
    if !visible(store, u, id).await? {
        return Err(AppError::NotFound);
    }
    if description.chars().count() > 2000 {
        return Err(AppError::field("description", K::TooLong));
    }
    let now = now_ms();
    let mut tx = store.begin().await?;
    let cur = current(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if !may_triage(u, cur.owner) {
        drop(tx);
        audit::record_alone(
            store,
            actor,
            audit::Event {
                action: "incident.escalate",
                target_type: "incident",
                target_id: Some(id.to_string()),
                outcome: audit::DENIED,
                detail: "another department's incident".into(),
            },
        )
        .await?;
        return Err(AppError::Forbidden);
    }
    if cur.version != version {
        return Err(AppError::Conflict);
    }
    let to = rules::next(cur.state, Step::Escalate, cur.health).ok_or(AppError::Conflict)?;
    #[derive(sqlx::FromRow)]
    struct Info {
        type_zh: String,
        camera_code: String,
        camera_name: String,
        lon: f64,
        lat: f64,
        class_id: Option<i64>,
        alert_count: i64,
        first_seen: i64,
        last_seen: i64,
        snapshot_alert_id: Option<i64>,
    }
    let info: Info = sqlx::query_as(
        "SELECT t.name_zh AS type_zh, c.code AS camera_code, c.name AS camera_name, c.lon, c.lat, t.class_id, \
         i.alert_count, i.first_seen, i.last_seen, i.snapshot_alert_id \
         FROM incidents i JOIN alert_types t ON t.id = i.type_id JOIN cameras c ON c.id = i.camera_id WHERE i.id = $1",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let class_id = class_id
        .or(info.class_id)
        .ok_or_else(|| AppError::field("class_id", K::UnknownClass))?;
    let description = if description.trim().is_empty() {
        format!(
            "[天眼 Sky Eye #{id}] {} · {} {} · {} × {} – {}",
            info.type_zh,
            info.camera_code,
            info.camera_name,
            info.alert_count,
            fmt_local(info.first_seen),
            fmt_local(info.last_seen)
        )
    } else {
        description.trim().to_string()
    };
    let mut photos = Vec::new();
    if let Some(a) = info.snapshot_alert_id {
        let snap: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT bytes FROM alert_snapshots WHERE alert_id = $1")
                .bind(a)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((bytes,)) = snap {
            if let Ok(p) = crate::photos::sniff(bytes) {
                photos.push(p);
            }
        }
    }
    let report = cases::NewReport {
        class_id,
        lon: info.lon,
        lat: info.lat,
        address: format!("{} {}", info.camera_code, info.camera_name),
        description,
        source: "skyeye",
        route_department_id: None,
    };
    let (case_id, code) = cases::report_in(
        &mut tx,
        u.into(),
        actor,
        &report,
        photos,
        info.snapshot_alert_id,
    )
    .await?;
    let changed = sqlx::query(
        "UPDATE incidents SET state = $1, case_id = $2, decided_by = $3, decided_at = $4, updated_at = $4, \
         version = version + 1 WHERE id = $5 AND version = $6",
    )
    .bind(to.code())
    .bind(case_id)
    .bind(u.id)
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed != 1 {
        return Err(AppError::Conflict);
    }
    insert_event(
        &mut tx,
        &EventIn {
            incident_id: id,
            at: now,
            step: Step::Escalate,
            from: cur.state,
            to,
            user_id: Some(u.id),
            actor_name: &u.display_name,
            reason: None,
            note: &code,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        audit::Event {
            action: "incident.escalate",
            target_type: "incident",
            target_id: Some(id.to_string()),
            outcome: audit::OK,
            detail: format!("case={code}"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((case_id, code))
}

/// Resolves the incidents escalated to a case that has just ended (closed or not filed),
/// inside the step's transaction. Returns their ids.
pub async fn resolve_for_case(
    tx: &mut Tx,
    case_id: i64,
    now: i64,
    u: &CurrentUser,
    note: &str,
) -> sqlx::Result<Vec<i64>> {
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM incidents WHERE case_id = $1 AND state = 'escalated'")
            .bind(case_id)
            .fetch_all(&mut **tx)
            .await?;
    for &id in &ids {
        sqlx::query(
            "UPDATE incidents SET state = 'resolved', updated_at = $1, version = version + 1 WHERE id = $2",
        )
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
                from: Triage::Escalated,
                to: Triage::Resolved,
                user_id: Some(u.id),
                actor_name: &u.display_name,
                reason: None,
                note,
            },
        )
        .await?;
    }
    Ok(ids)
}

/// The incident escalated to a case, if any (shown on the case).
pub async fn incident_of_case(store: &Store, case_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM incidents WHERE case_id = $1 ORDER BY id LIMIT 1")
        .bind(case_id)
        .fetch_optional(store.pool())
        .await
}

/// A snapshot for a caller who may see its incident. A view by any department other than the
/// owner is audited.
pub async fn snapshot(
    store: &Store,
    u: &CurrentUser,
    actor: &audit::Actor,
    alert_id: i64,
) -> Result<Option<(String, Vec<u8>)>, AppError> {
    let r: Option<(i64, i64)> = sqlx::query_as(
        "SELECT a.incident_id, i.owner_department_id FROM alerts a JOIN incidents i ON i.id = a.incident_id \
         WHERE a.id = $1",
    )
    .bind(alert_id)
    .fetch_optional(store.pool())
    .await?;
    let Some((incident, owner)) = r else {
        return Ok(None);
    };
    if !visible(store, u, incident).await? {
        return Ok(None);
    }
    let s: Option<(String, Vec<u8>)> =
        sqlx::query_as("SELECT mime, bytes FROM alert_snapshots WHERE alert_id = $1")
            .bind(alert_id)
            .fetch_optional(store.pool())
            .await?;
    if s.is_some() && u.department_id != owner {
        audit_foreign_view(store, actor, alert_id, incident, u).await?;
    }
    Ok(s)
}

/// Records that a department other than the owner looked at a Sky Eye snapshot.
pub async fn audit_foreign_view(
    store: &Store,
    actor: &audit::Actor,
    alert_id: i64,
    incident_id: i64,
    u: &CurrentUser,
) -> sqlx::Result<()> {
    audit::record_alone(
        store,
        actor,
        audit::Event {
            action: "snapshot.view",
            target_type: "alert",
            target_id: Some(alert_id.to_string()),
            outcome: audit::OK,
            detail: format!("incident={incident_id} department={}", u.department_id),
        },
    )
    .await
}

pub async fn alert_types(store: &Store) -> sqlx::Result<Vec<AlertType>> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        i64,
        String,
        String,
        String,
        String,
        Option<i64>,
        Option<String>,
        i64,
    )> = sqlx::query_as(
        "SELECT t.id, t.code, t.name_zh, t.name_en, t.severity, t.class_id, k.code, \
             CASE WHEN t.health THEN 1 ELSE 0 END FROM alert_types t \
             LEFT JOIN case_classes k ON k.id = t.class_id WHERE t.active = TRUE ORDER BY t.id",
    )
    .fetch_all(store.pool())
    .await?;
    let grants: Vec<(i64, String)> = sqlx::query_as(
        "SELECT g.type_id, d.code FROM alert_type_grants g JOIN departments d ON d.id = g.department_id",
    )
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, code, name_zh, name_en, sev, class_id, class_code, health)| AlertType {
                id,
                code,
                name_zh,
                name_en,
                severity: Severity::from_code(&sev).unwrap_or(Severity::Minor),
                class_id,
                class_code,
                health: health != 0,
                granted: grants
                    .iter()
                    .filter(|g| g.0 == id)
                    .map(|g| g.1.clone())
                    .collect(),
            },
        )
        .collect())
}

/// Cameras the caller may see: all for the owner department, leaders and administrators;
/// otherwise the department's own.
pub async fn cameras(
    store: &Store,
    u: &CurrentUser,
    f: &CameraFilter,
) -> Result<Page<CameraRow>, AppError> {
    let mut w = Where::default();
    if let Some(d) = scope(store, u, "camera list").await? {
        w.and("c.department_id = ?", [Arg::I(d)]);
    }
    match f.status.trim() {
        "" => {}
        s @ ("online" | "offline" | "tampered") => w.and("c.status = ?", [Arg::S(s.into())]),
        _ => return Err(AppError::field("status", K::Required)),
    }
    if !f.district.trim().is_empty() {
        w.and("c.district_code = ?", [Arg::S(f.district.trim().into())]);
    }
    if let Some(d) = f.department_id {
        w.and("c.department_id = ?", [Arg::I(d)]);
    }
    if !f.q.trim().is_empty() {
        let p = super::like_pattern(&f.q);
        w.and(
            "(LOWER(c.code) LIKE ? ESCAPE '!' OR LOWER(c.name) LIKE ? ESCAPE '!')",
            [Arg::S(p.clone()), Arg::S(p)],
        );
    }
    let total: i64 = bind_scalar(
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM cameras c{}", w.sql())),
        &w.args,
    )
    .fetch_one(store.pool())
    .await?;
    let page = f.page.max(1);
    let mut args = w.args.clone();
    args.push(Arg::I(PER_PAGE as i64));
    args.push(Arg::I(((page - 1) * PER_PAGE) as i64));
    #[derive(sqlx::FromRow)]
    struct CamRow {
        id: i64,
        code: String,
        name: String,
        status: String,
        status_since: i64,
        last_heartbeat_at: Option<i64>,
        district_zh: String,
        district_en: String,
        grid_code: String,
        department_zh: String,
        department_en: String,
        open_incidents: i64,
    }
    let rows: Vec<CamRow> = bind_args(
        sqlx::query_as(&format!(
            "SELECT c.id, c.code, c.name, c.status, c.status_since, c.last_heartbeat_at, g.district_zh, \
             g.district_en, g.code AS grid_code, d.name_zh AS department_zh, d.name_en AS department_en, \
             (SELECT COUNT(*) FROM incidents i WHERE i.camera_id = c.id AND i.state IN ('new', 'acknowledged')) AS open_incidents \
             FROM cameras c JOIN grids g ON g.id = c.grid_id JOIN departments d ON d.id = c.department_id{} \
             ORDER BY CASE c.status WHEN 'tampered' THEN 0 WHEN 'offline' THEN 1 ELSE 2 END, c.code \
             LIMIT {} OFFSET {}",
            w.sql(),
            w.next(1),
            w.next(2)
        )),
        &args,
    )
    .fetch_all(store.pool())
    .await?;
    Ok(Page {
        items: rows
            .into_iter()
            .map(|r| CameraRow {
                id: r.id,
                code: r.code,
                name: r.name,
                status: r.status,
                status_since: fmt_local(r.status_since),
                last_heartbeat: r.last_heartbeat_at.map(fmt_local),
                district_zh: r.district_zh,
                district_en: r.district_en,
                grid_code: r.grid_code,
                department_zh: r.department_zh,
                department_en: r.department_en,
                open_incidents: r.open_incidents,
            })
            .collect(),
        total,
        page,
        per_page: PER_PAGE,
        more: false,
    })
}

/// Cameras by owning department and status.
pub async fn health(store: &Store, u: &CurrentUser) -> Result<Vec<DeptHealth>, AppError> {
    let mut w = Where::default();
    if let Some(d) = scope(store, u, "camera health").await? {
        w.and("c.department_id = ?", [Arg::I(d)]);
    }
    let rows: Vec<(i64, String, String, i64, i64, i64)> = bind_args(
        sqlx::query_as(&format!(
            "SELECT d.id, d.name_zh, d.name_en, \
             CAST(SUM(CASE WHEN c.status = 'online' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN c.status = 'offline' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN c.status = 'tampered' THEN 1 ELSE 0 END) AS BIGINT) \
             FROM cameras c JOIN departments d ON d.id = c.department_id{} \
             GROUP BY d.id, d.name_zh, d.name_en ORDER BY 5 DESC, 6 DESC, d.id",
            w.sql()
        )),
        &w.args,
    )
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(department_id, department_zh, department_en, online, offline, tampered)| DeptHealth {
                department_id,
                department_zh,
                department_en,
                online,
                offline,
                tampered,
            },
        )
        .collect())
}

/// Alerts by type and Shanghai hour of day, and triage outcomes by type and by camera, for
/// incidents first seen in the period.
pub async fn stats(
    store: &Store,
    u: &CurrentUser,
    from: &str,
    to: &str,
) -> Result<AlertStats, AppError> {
    let now = now_ms();
    let today = chrono::DateTime::from_timestamp_millis(now)
        .map(|t| {
            t.with_timezone(&chrono_tz::Asia::Shanghai)
                .date_naive()
                .to_string()
        })
        .unwrap_or_default();
    let to = if to.trim().is_empty() {
        today.clone()
    } else {
        to.trim().to_string()
    };
    let end =
        local_day_start_ms(&to).ok_or_else(|| AppError::field("to", K::BadDate))? + 86_400_000;
    let from = if from.trim().is_empty() {
        super::fmt_local(end - 7 * 86_400_000)[..10].to_string()
    } else {
        from.trim().to_string()
    };
    let start = local_day_start_ms(&from).ok_or_else(|| AppError::field("from", K::BadDate))?;
    if start >= end {
        return Err(AppError::field("to", K::BadDate));
    }
    let scope = scope(store, u, "alert statistics").await?;
    let mut w = Where::default();
    scoped(&mut w, scope);
    w.and(
        "i.first_seen >= ? AND i.first_seen < ?",
        [Arg::I(start), Arg::I(end)],
    );
    let types = alert_types(store).await?;
    // Alerts by type and hour.
    let hours: Vec<(i64, i64, i64)> = bind_args(
        sqlx::query_as(&format!(
            "SELECT a.type_id, ((a.at + 28800000) / 3600000) % 24 AS h, COUNT(*) \
             FROM alerts a JOIN incidents i ON i.id = a.incident_id{} GROUP BY a.type_id, h",
            w.sql()
        )),
        &w.args,
    )
    .fetch_all(store.pool())
    .await?;
    let mut by_hour = vec![vec![0i64; 24]; types.len()];
    for (t, h, n) in hours {
        if let Some(row) = types.iter().position(|x| x.id == t) {
            by_hour[row][(h.rem_euclid(24)) as usize] += n;
        }
    }
    let outcome = "COUNT(*), CAST(SUM(i.alert_count) AS BIGINT), \
         CAST(SUM(CASE WHEN i.dismiss_reason = 'false_positive' THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN i.case_id IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN i.state <> 'new' THEN 1 ELSE 0 END) AS BIGINT)";
    let rate = |key: String, zh: String, en: String, r: (i64, i64, i64, i64, i64)| TriageRate {
        key,
        name_zh: zh,
        name_en: en,
        incidents: r.0,
        alerts: r.1,
        false_positive: r.2,
        escalated: r.3,
        decided: r.4,
        fp_rate: (r.4 > 0).then(|| r.2 as f64 / r.4 as f64),
    };
    /// key, 中文, English, incidents, alerts, false positives, escalated, decided
    type RateRow = (String, String, String, i64, i64, i64, i64, i64);
    let by_type_rows: Vec<RateRow> = bind_args(
        sqlx::query_as(&format!(
            "SELECT t.code, t.name_zh, t.name_en, {outcome} FROM incidents i JOIN alert_types t ON t.id = i.type_id{} \
             GROUP BY t.id, t.code, t.name_zh, t.name_en ORDER BY t.id",
            w.sql()
        )),
        &w.args,
    )
    .fetch_all(store.pool())
    .await?;
    let by_camera_rows: Vec<RateRow> = bind_args(
        sqlx::query_as(&format!(
            "SELECT c.code, c.name, c.name, {outcome} FROM incidents i JOIN cameras c ON c.id = i.camera_id{} \
             GROUP BY c.id, c.code, c.name \
             HAVING SUM(CASE WHEN i.state <> 'new' THEN 1 ELSE 0 END) > 0",
            w.sql()
        )),
        &w.args,
    )
    .fetch_all(store.pool())
    .await?;
    let mut by_camera: Vec<TriageRate> = by_camera_rows
        .into_iter()
        .map(|r| rate(r.0, r.1, r.2, (r.3, r.4, r.5, r.6, r.7)))
        .collect();
    by_camera.sort_by(|a, b| {
        b.fp_rate
            .partial_cmp(&a.fp_rate)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.incidents.cmp(&a.incidents))
            .then(a.key.cmp(&b.key))
    });
    by_camera.truncate(20);
    Ok(AlertStats {
        from,
        to,
        types: types
            .iter()
            .map(|t| (t.code.clone(), t.name_zh.clone(), t.name_en.clone()))
            .collect(),
        by_hour,
        by_type: by_type_rows
            .into_iter()
            .map(|r| rate(r.0, r.1, r.2, (r.3, r.4, r.5, r.6, r.7)))
            .collect(),
        by_camera,
    })
}

// ---- Keys of machine integrations ----

/// Scopes a key may carry.
pub const SCOPES: [&str; 4] = ["alerts", "heartbeats", "readings", "open311"];

pub fn hash_secret(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

/// A verified key.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub source: String,
    pub department_id: i64,
    pub scopes: Vec<String>,
}

impl ApiKey {
    pub fn allows(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

pub enum KeyCheck {
    Valid(ApiKey),
    Revoked,
    Unknown,
}

/// Looks a presented secret up by its hash (keys are long random strings, so a fast hash is
/// the right tool: there is nothing to guess).
pub async fn check_key(store: &Store, secret: &str) -> sqlx::Result<KeyCheck> {
    let r: Option<(i64, String, String, i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT id, name, source, department_id, scopes, revoked_at FROM api_keys WHERE hash = $1",
    )
    .bind(hash_secret(secret))
    .fetch_optional(store.pool())
    .await?;
    Ok(match r {
        None => KeyCheck::Unknown,
        Some((.., Some(_))) => KeyCheck::Revoked,
        Some((id, name, source, department_id, scopes, None)) => KeyCheck::Valid(ApiKey {
            id,
            name,
            source,
            department_id,
            scopes: scopes.split(',').map(|s| s.trim().to_string()).collect(),
        }),
    })
}

fn valid_source(s: &str) -> bool {
    (2..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Creates a key; the secret is returned once and only its hash is kept.
#[allow(clippy::too_many_arguments)]
pub async fn create_key(
    store: &Store,
    by: Option<i64>,
    actor: &audit::Actor,
    name: &str,
    source: &str,
    department_id: i64,
    scopes: &[String],
) -> Result<NewApiKey, AppError> {
    use base64::Engine;
    let mut errs = Vec::new();
    let name = name.trim();
    if name.is_empty() {
        errs.push(crate::error::FieldError::new("name", K::Required));
    } else if name.chars().count() > 80 {
        errs.push(crate::error::FieldError::new("name", K::TooLong));
    }
    if !valid_source(source.trim()) {
        errs.push(crate::error::FieldError::new("source", K::CodeFormat));
    }
    if scopes.is_empty() || scopes.iter().any(|s| !SCOPES.contains(&s.as_str())) {
        errs.push(crate::error::FieldError::new("scopes", K::Required));
    }
    let mut tx = store.begin().await?;
    if !super::departments::exists_active(&mut tx, department_id).await? {
        errs.push(crate::error::FieldError::new(
            "department_id",
            K::UnknownDepartment,
        ));
    }
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let raw: [u8; 24] = rand::random();
    let secret = format!(
        "clk_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    );
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_keys (name, source, department_id, scopes, prefix, hash, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(name)
    .bind(source.trim())
    .bind(department_id)
    .bind(scopes.join(","))
    .bind(&secret[..10])
    .bind(hash_secret(&secret))
    .bind(by)
    .bind(now_ms())
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        actor,
        audit::Event {
            action: "api_key.create",
            target_type: "api_key",
            target_id: Some(id.to_string()),
            outcome: audit::OK,
            detail: format!(
                "name={name} source={} department={department_id} scopes={}",
                source.trim(),
                scopes.join(",")
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(NewApiKey { id, secret })
}

pub async fn revoke_key(
    store: &Store,
    by: i64,
    actor: &audit::Actor,
    id: i64,
) -> Result<(), AppError> {
    let mut tx = store.begin().await?;
    let n = sqlx::query(
        "UPDATE api_keys SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(by)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        actor,
        audit::Event {
            action: "api_key.revoke",
            target_type: "api_key",
            target_id: Some(id.to_string()),
            outcome: audit::OK,
            detail: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn list_keys(store: &Store) -> sqlx::Result<Vec<ApiKeyRow>> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(i64, String, String, String, String, String, String, i64, Option<i64>, Option<i64>)> =
        sqlx::query_as(
            "SELECT k.id, k.name, k.source, d.name_zh, d.name_en, k.scopes, k.prefix, k.created_at, \
             k.last_used_at, k.revoked_at FROM api_keys k JOIN departments d ON d.id = k.department_id \
             ORDER BY k.revoked_at IS NOT NULL, k.id DESC",
        )
        .fetch_all(store.pool())
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| ApiKeyRow {
            id: r.0,
            name: r.1,
            source: r.2,
            department_zh: r.3,
            department_en: r.4,
            scopes: r.5,
            prefix: r.6,
            created_at: fmt_local(r.7),
            last_used: r.8.map(fmt_local),
            revoked_at: r.9.map(fmt_local),
        })
        .collect())
}
