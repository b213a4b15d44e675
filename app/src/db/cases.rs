//! Cases: reports, the workflow steps, lists, queues and the detail with its timeline.
//! Every step is one transaction writing the case, a timeline entry, the department
//! assignment it touches and the audit record.
use super::{
    audit, bind_args, bind_scalar, calendar, catalogue, fmt_local, grids, like_pattern,
    local_day_start_ms, now_ms, Arg, Flag, Store, Tx, Where,
};
use crate::domain::calendar::{local_from_ms, ms_from_local, Calendar, LimitUnit};
use crate::domain::workflow::{self, Action, Ctx, State};
use crate::domain::Role;
use crate::error::{AppError, FieldError, FieldErrorKind as K};
use crate::model::{
    CaseDetail, CaseFilter, CaseRow, CurrentUser, DeptOption, Page, PhotoRef, QueueCounts,
    TimelineItem,
};
use crate::photos::Photo;

/// Departments see the cases dispatched to them (now or before), unless their department
/// holds a grant in force on the case records: then every case, and each such read (named by
/// `what`) is audited as `data.read`. The other case roles see every case.
pub async fn scope(store: &Store, u: &CurrentUser, what: &str) -> sqlx::Result<Option<i64>> {
    match u.role {
        Role::Handler | Role::DeptHead => {
            if super::datasets::read_via_grant(store, u, crate::model::DATASET_CASES, what).await? {
                Ok(None)
            } else {
                Ok(Some(u.department_id))
            }
        }
        _ => Ok(None),
    }
}

/// `+ 0` (same result: NULL + 0 is NULL) keeps SQLite from answering the OR through the
/// department index and then sorting all of the department's cases: the page query of a
/// handler's list took 1.4 s at 1,000,000 cases (`make bench`). Without an index on that term
/// it walks the cases newest first and stops after one page (17 ms). PostgreSQL filters this
/// OR without an index either way.
const SCOPE_COND: &str =
    "(c.department_id + 0 = ? OR c.id IN (SELECT a.case_id FROM case_assignments a WHERE a.department_id = ?))";

/// The deadline that runs in each state: filing before dispatch, handling afterwards.
const DUE_AT: &str = "CASE WHEN c.state IN ('reported', 'filed') THEN c.filing_deadline \
     WHEN c.state IN ('rejected', 'closed') THEN NULL ELSE c.deadline_at END";

fn row_select() -> String {
    format!(
        "SELECT c.id, c.code, c.state, CASE WHEN c.on_hold THEN 1 ELSE 0 END AS on_hold, k.kind, \
         k.code AS class_code, k.name_zh AS class_zh, k.name_en AS class_en, g.district_zh, g.district_en, \
         g.code AS grid_code, c.address, d.name_zh AS department_zh, d.name_en AS department_en, \
         c.reported_at, {DUE_AT} AS due_at \
         FROM cases c JOIN case_classes k ON k.id = c.class_id JOIN grids g ON g.id = c.grid_id \
         LEFT JOIN departments d ON d.id = c.department_id"
    )
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    code: String,
    state: String,
    #[sqlx(try_from = "i64")]
    on_hold: Flag,
    kind: String,
    class_code: String,
    class_zh: String,
    class_en: String,
    district_zh: String,
    district_en: String,
    grid_code: String,
    address: String,
    department_zh: Option<String>,
    department_en: Option<String>,
    reported_at: i64,
    due_at: Option<i64>,
}

impl Row {
    fn into_row(self, now: i64) -> CaseRow {
        let state = State::from_code(&self.state).unwrap_or(State::Reported);
        let minutes_left = match (self.on_hold.0, self.due_at) {
            (false, Some(d)) => Some((d - now).div_euclid(60_000)),
            _ => None,
        };
        CaseRow {
            id: self.id,
            code: self.code,
            state,
            on_hold: self.on_hold.0,
            kind: self.kind,
            class_code: self.class_code,
            class_zh: self.class_zh,
            class_en: self.class_en,
            district_zh: self.district_zh,
            district_en: self.district_en,
            grid_code: self.grid_code,
            address: self.address,
            department_zh: self.department_zh,
            department_en: self.department_en,
            reported_at: fmt_local(self.reported_at),
            due_at: self.due_at.map(fmt_local),
            minutes_left,
        }
    }
}

fn bad(field: &str, kind: K) -> AppError {
    AppError::field(field, kind)
}

/// The filter as SQL over `cases c`. Refuses values that cannot be right with a field error.
pub fn filter_where(f: &CaseFilter, scope: Option<i64>, now: i64) -> Result<Where, AppError> {
    let mut w = Where::default();
    if let Some(d) = scope {
        w.and(SCOPE_COND, [Arg::I(d), Arg::I(d)]);
    }
    match f.state.trim() {
        "" => {}
        "open" => w.and("c.state NOT IN ('closed', 'rejected')", []),
        s => match State::from_code(s) {
            Some(st) => w.and("c.state = ?", [Arg::S(st.code().into())]),
            None => return Err(bad("state", K::Required)),
        },
    }
    match f.kind.trim() {
        "" => {}
        k @ ("component" | "event") => w.and(
            "c.class_id IN (SELECT id FROM case_classes WHERE kind = ?)",
            [Arg::S(k.into())],
        ),
        _ => return Err(bad("kind", K::UnknownClass)),
    }
    if let Some(id) = f.class_id {
        w.and("c.class_id = ?", [Arg::I(id)]);
    }
    if !f.district.trim().is_empty() {
        w.and("c.district_code = ?", [Arg::S(f.district.trim().into())]);
    }
    if !f.grid.trim().is_empty() {
        w.and(
            "c.grid_id IN (SELECT id FROM grids WHERE code = ?)",
            [Arg::S(f.grid.trim().into())],
        );
    }
    if let Some(d) = f.department_id {
        w.and("c.department_id = ?", [Arg::I(d)]);
    }
    if !f.from.trim().is_empty() {
        let ms = local_day_start_ms(&f.from).ok_or_else(|| bad("from", K::BadDate))?;
        w.and("c.reported_at >= ?", [Arg::I(ms)]);
    }
    if !f.to.trim().is_empty() {
        let ms = local_day_start_ms(&f.to).ok_or_else(|| bad("to", K::BadDate))?;
        w.and("c.reported_at < ?", [Arg::I(ms + 86_400_000)]);
    }
    if f.overdue {
        w.and(&format!("{OVERDUE} AND c.deadline_at < ?"), [Arg::I(now)]);
    }
    if !f.q.trim().is_empty() {
        let p = like_pattern(&f.q);
        w.and(
            "(LOWER(c.code) LIKE ? ESCAPE '!' OR LOWER(c.address) LIKE ? ESCAPE '!' OR LOWER(c.description) LIKE ? ESCAPE '!')",
            [Arg::S(p.clone()), Arg::S(p.clone()), Arg::S(p)],
        );
    }
    Ok(w)
}

/// A case is overdue while its department holds it past the deadline (not while on hold).
const OVERDUE: &str = "c.state IN ('dispatched', 'handling') AND c.on_hold = FALSE";

pub async fn list(
    store: &Store,
    f: &CaseFilter,
    scope: Option<i64>,
    per_page: u32,
) -> Result<Page<CaseRow>, AppError> {
    let now = now_ms();
    let w = filter_where(f, scope, now)?;
    // Counting stops at COUNT_CAP: past it, "1,000+" tells a person as much as the exact
    // figure, and counting a large department's every case took most of the page's time
    // at 1,000,000 cases (`make bench`).
    let mut count_args = w.args.clone();
    count_args.push(Arg::I(COUNT_CAP + 1));
    let counted: i64 = bind_scalar(
        sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM cases c{} LIMIT {}) t",
            w.sql(),
            w.next(1)
        )),
        &count_args,
    )
    .fetch_one(store.pool())
    .await?;
    let more = counted > COUNT_CAP;
    let total = counted.min(COUNT_CAP);
    let page = f.page.max(1);
    let sql = format!(
        "{}{} ORDER BY c.reported_at DESC, c.id DESC LIMIT {} OFFSET {}",
        row_select(),
        w.sql(),
        w.next(1),
        w.next(2)
    );
    let mut args = w.args.clone();
    args.push(Arg::I(per_page as i64));
    args.push(Arg::I(((page - 1) * per_page) as i64));
    let rows: Vec<Row> = bind_args(sqlx::query_as(&sql), &args)
        .fetch_all(store.pool())
        .await?;
    Ok(Page {
        items: rows.into_iter().map(|r| r.into_row(now)).collect(),
        total,
        page,
        per_page,
        more,
    })
}

/// The most matches a case list counts exactly.
pub const COUNT_CAP: i64 = 1_000;

/// Rows for the CSV export: the filtered list, newest first, up to `limit`.
pub async fn export(
    store: &Store,
    f: &CaseFilter,
    scope: Option<i64>,
    limit: i64,
) -> Result<Vec<CaseRow>, AppError> {
    let now = now_ms();
    let w = filter_where(f, scope, now)?;
    let sql = format!(
        "{}{} ORDER BY c.reported_at DESC, c.id DESC LIMIT {}",
        row_select(),
        w.sql(),
        w.next(1)
    );
    let mut args = w.args.clone();
    args.push(Arg::I(limit));
    let rows: Vec<Row> = bind_args(sqlx::query_as(&sql), &args)
        .fetch_all(store.pool())
        .await?;
    Ok(rows.into_iter().map(|r| r.into_row(now)).collect())
}

/// What waits for the caller: the cases their role (and department) must act on next.
fn queue_where(u: &CurrentUser) -> Option<Where> {
    let mut w = Where::default();
    match u.role {
        Role::Dispatcher => w.and("c.state IN ('reported', 'filed', 'verified')", []),
        Role::Inspector => w.and("c.state = 'reported_back'", []),
        Role::Handler | Role::DeptHead => {
            w.and("c.state IN ('dispatched', 'handling')", []);
            w.and("c.department_id = ?", [Arg::I(u.department_id)]);
        }
        _ => return None,
    }
    Some(w)
}

/// The caller's queue, most urgent first.
pub async fn queue(store: &Store, u: &CurrentUser, limit: i64) -> Result<Vec<CaseRow>, AppError> {
    let Some(w) = queue_where(u) else {
        return Ok(Vec::new());
    };
    let now = now_ms();
    let sql = format!(
        "{}{} ORDER BY CASE WHEN c.on_hold THEN 1 ELSE 0 END, {DUE_AT}, c.id LIMIT {}",
        row_select(),
        w.sql(),
        w.next(1)
    );
    let mut args = w.args.clone();
    args.push(Arg::I(limit));
    let rows: Vec<Row> = bind_args(sqlx::query_as(&sql), &args)
        .fetch_all(store.pool())
        .await?;
    Ok(rows.into_iter().map(|r| r.into_row(now)).collect())
}

pub async fn queue_counts(store: &Store, u: &CurrentUser) -> Result<QueueCounts, AppError> {
    let cases = match queue_where(u) {
        Some(w) => {
            bind_scalar(
                sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM cases c{}", w.sql())),
                &w.args,
            )
            .fetch_one(store.pool())
            .await?
        }
        None => 0,
    };
    let appeals = if u.role == Role::Dispatcher {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM appeals WHERE state = 'pending'")
            .fetch_one(store.pool())
            .await?
    } else {
        0
    };
    Ok(QueueCounts { cases, appeals })
}

/// The state of one case a step needs, read inside the step's transaction.
#[derive(sqlx::FromRow, Debug)]
struct Current {
    id: i64,
    code: String,
    state: String,
    #[sqlx(try_from = "i64")]
    on_hold: Flag,
    #[sqlx(try_from = "i64")]
    verified_ok: Flag,
    department_id: Option<i64>,
    class_id: i64,
    deadline_at: Option<i64>,
    hold_remaining_min: Option<i64>,
    version: i64,
}

const CURRENT: &str = "SELECT id, code, state, CASE WHEN on_hold THEN 1 ELSE 0 END AS on_hold, \
     CASE WHEN verified_ok THEN 1 ELSE 0 END AS verified_ok, department_id, class_id, deadline_at, \
     hold_remaining_min, version FROM cases WHERE id = $1";

/// True when the caller may see this case at all.
pub async fn visible(store: &Store, u: &CurrentUser, id: i64) -> sqlx::Result<bool> {
    let count = |dept: Option<i64>| async move {
        let mut w = Where::default();
        w.and("c.id = ?", [Arg::I(id)]);
        if let Some(d) = dept {
            w.and(SCOPE_COND, [Arg::I(d), Arg::I(d)]);
        }
        bind_scalar(
            sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM cases c{}", w.sql())),
            &w.args,
        )
        .fetch_one(store.pool())
        .await
    };
    // A department's own case is its own: only another department's case is read through a
    // grant (and audited as such).
    if matches!(u.role, Role::Handler | Role::DeptHead) && count(Some(u.department_id)).await? > 0 {
        return Ok(true);
    }
    Ok(count(scope(store, u, &format!("case {id}")).await?).await? > 0)
}

pub fn ctx_for(
    u: &CurrentUser,
    department_id: Option<i64>,
    on_hold: bool,
    verified_ok: bool,
) -> Ctx {
    Ctx {
        role: u.role,
        own_department: department_id == Some(u.department_id),
        on_hold,
        verified_ok,
    }
}

/// A new report from the field.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub class_id: i64,
    pub lon: f64,
    pub lat: f64,
    pub address: String,
    pub description: String,
    pub source: &'static str,
    /// The department the source routes the case to (an energy anomaly's entity's), which
    /// the dispatcher finds preselected; None for the class's default.
    pub route_department_id: Option<i64>,
}

/// Who a report comes from: a signed-in user, or a citizen without an account (no user,
/// no department; the timeline names them only as 市民 / citizen).
#[derive(Debug, Clone, Copy)]
pub struct Reporter<'a> {
    pub user_id: Option<i64>,
    pub name: &'a str,
    pub department_id: Option<i64>,
}

impl Reporter<'static> {
    pub const CITIZEN: Reporter<'static> = Reporter {
        user_id: None,
        name: crate::model::CITIZEN_NAME,
        department_id: None,
    };
}

impl<'a> From<&'a CurrentUser> for Reporter<'a> {
    fn from(u: &'a CurrentUser) -> Self {
        Reporter {
            user_id: Some(u.id),
            name: &u.display_name,
            department_id: Some(u.department_id),
        }
    }
}

/// Writes a report with its photos; returns the new case's id and code.
pub async fn report(
    store: &Store,
    u: &CurrentUser,
    actor: &audit::Actor,
    r: &NewReport,
    photos: Vec<Photo>,
) -> Result<(i64, String), AppError> {
    let mut tx = store.begin().await?;
    let r = report_in(&mut tx, u.into(), actor, r, photos, None).await?;
    tx.commit().await?;
    Ok(r)
}

/// Writes a report inside the caller's transaction (an escalated Sky Eye incident opens its
/// case in the same transaction as its own change). `alert_id` marks photos copied from a
/// Sky Eye snapshot.
pub async fn report_in(
    tx: &mut Tx,
    u: Reporter<'_>,
    actor: &audit::Actor,
    r: &NewReport,
    photos: Vec<Photo>,
    alert_id: Option<i64>,
) -> Result<(i64, String), AppError> {
    let now = now_ms();
    let mut errs = Vec::new();
    let class = catalogue::get(tx, r.class_id).await?;
    if !class.as_ref().is_some_and(|c| c.active) {
        errs.push(FieldError::new("class_id", K::UnknownClass));
    }
    let grid = grids::locate(tx, r.lon, r.lat).await?;
    if grid.is_none() {
        errs.push(FieldError::new("lon", K::OutsideGrids));
    }
    let (Some(_class), Some(grid)) = (class, grid) else {
        return Err(AppError::Invalid(errs));
    };
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let (cal, filing_minutes) = calendar::load(tx).await?;
    let filing_deadline = ms_from_local(cal.add_work_minutes(local_from_ms(now), filing_minutes));
    let placeholder = format!("new-{:016x}", rand::random::<u64>());
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO cases (code, source, class_id, grid_id, district_code, lon, lat, address, description, state, \
         reporter_id, reported_at, filing_deadline, updated_at, route_department_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'reported', $10, $11, $12, $11, $13) RETURNING id",
    )
    .bind(&placeholder)
    .bind(r.source)
    .bind(r.class_id)
    .bind(grid.id)
    .bind(&grid.district_code)
    .bind(r.lon)
    .bind(r.lat)
    .bind(&r.address)
    .bind(&r.description)
    .bind(u.user_id)
    .bind(now)
    .bind(filing_deadline)
    .bind(r.route_department_id)
    .fetch_one(&mut **tx)
    .await?;
    let code = case_code(now, id);
    sqlx::query("UPDATE cases SET code = $1 WHERE id = $2")
        .bind(&code)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let event = insert_event(
        tx,
        &EventRow {
            case_id: id,
            at: now,
            action: "report",
            from_state: None,
            to_state: State::Reported,
            user_id: u.user_id,
            actor_name: u.name,
            actor_department_id: u.department_id,
            department_id: None,
            deadline_at: Some(filing_deadline),
            note: "",
            public_note: "",
        },
    )
    .await?;
    insert_photos(tx, id, event, "report", u.user_id, now, photos, alert_id).await?;
    audit::record(
        tx,
        actor,
        audit::Event {
            action: "case.report",
            target_type: "case",
            target_id: Some(id.to_string()),
            outcome: audit::OK,
            detail: format!("code={code} class={} grid={}", r.class_id, grid.code),
        },
    )
    .await?;
    Ok((id, code))
}

/// A citizen's phone and e-mail for a call-back: only for the command centre (dispatchers)
/// and administrators, never for the departments.
async fn citizen_contact(store: &Store, u: &CurrentUser, id: i64) -> sqlx::Result<Option<String>> {
    if !matches!(u.role, Role::Dispatcher | Role::Admin) {
        return Ok(None);
    }
    let row: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT phone, email FROM citizen_reports WHERE case_id = $1")
            .bind(id)
            .fetch_optional(store.pool())
            .await?;
    Ok(row.and_then(|(phone, email)| {
        let parts: Vec<String> = phone.into_iter().chain(email).collect();
        (!parts.is_empty()).then(|| parts.join(" · "))
    }))
}

/// `20261124-000123`: the local report date and the case's id.
pub fn case_code(at: i64, id: i64) -> String {
    format!("{}-{id:06}", local_from_ms(at).format("%Y%m%d"))
}

pub struct EventRow<'a> {
    pub case_id: i64,
    pub at: i64,
    pub action: &'a str,
    pub from_state: Option<State>,
    pub to_state: State,
    pub user_id: Option<i64>,
    pub actor_name: &'a str,
    pub actor_department_id: Option<i64>,
    pub department_id: Option<i64>,
    pub deadline_at: Option<i64>,
    pub note: &'a str,
    /// Shown on the public status page (and as Open311 status_notes); may be empty.
    pub public_note: &'a str,
}

pub async fn insert_event(tx: &mut Tx, e: &EventRow<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO case_events (case_id, at, action, from_state, to_state, user_id, actor_name, \
         actor_department_id, department_id, deadline_at, note, public_note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(e.case_id)
    .bind(e.at)
    .bind(e.action)
    .bind(e.from_state.map(|s| s.code()))
    .bind(e.to_state.code())
    .bind(e.user_id)
    .bind(e.actor_name)
    .bind(e.actor_department_id)
    .bind(e.department_id)
    .bind(e.deadline_at)
    .bind(e.note)
    .bind(e.public_note)
    .fetch_one(&mut **tx)
    .await
}

async fn insert_photos(
    tx: &mut Tx,
    case_id: i64,
    event_id: i64,
    stage: &str,
    user_id: Option<i64>,
    at: i64,
    photos: Vec<Photo>,
    alert_id: Option<i64>,
) -> sqlx::Result<()> {
    for p in photos {
        sqlx::query(
            "INSERT INTO case_photos (case_id, event_id, stage, mime, width, height, size, bytes, user_id, at, alert_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(case_id)
        .bind(event_id)
        .bind(stage)
        .bind(p.mime)
        .bind(p.width)
        .bind(p.height)
        .bind(p.bytes.len() as i64)
        .bind(p.bytes)
        .bind(user_id)
        .bind(at)
        .bind(alert_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// One workflow step as submitted.
#[derive(Debug, Clone)]
pub struct StepInput {
    pub case_id: i64,
    pub action: Action,
    /// The version the caller saw; a step on a case changed since is refused (Conflict).
    pub version: i64,
    pub note: String,
    /// A note for the citizen who reported (public status page, Open311); may be empty.
    pub public_note: String,
    pub department_id: Option<i64>,
    pub photos: Vec<Photo>,
}

/// Checks the step against the workflow and applies it. A refused step is audited as denied.
pub async fn step(
    store: &Store,
    u: &CurrentUser,
    actor: &audit::Actor,
    input: StepInput,
) -> Result<State, AppError> {
    let now = now_ms();
    let action = input.action;
    let mut tx = store.begin().await?;
    let cur: Current = sqlx::query_as(CURRENT)
        .bind(input.case_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AppError::NotFound)?;
    let state = State::from_code(&cur.state).ok_or(AppError::Internal)?;
    let ctx = ctx_for(u, cur.department_id, cur.on_hold.0, cur.verified_ok.0);
    let next = match workflow::check(state, action, ctx) {
        Ok(n) => n,
        Err(refusal) => {
            drop(tx);
            audit::record_alone(
                store,
                actor,
                audit::Event {
                    action: &format!("case.{}", action.code()),
                    target_type: "case",
                    target_id: Some(cur.id.to_string()),
                    outcome: audit::DENIED,
                    detail: format!("{refusal:?} in state {}", state.code()),
                },
            )
            .await?;
            return Err(AppError::Refused(refusal));
        }
    };
    if cur.version != input.version {
        return Err(AppError::Conflict);
    }
    // Input the step needs.
    let note = input.note.trim().to_string();
    let mut errs = Vec::new();
    if action.needs_note() && note.is_empty() {
        errs.push(FieldError::new("note", K::Required));
    }
    if note.chars().count() > 1000 {
        errs.push(FieldError::new("note", K::TooLong));
    }
    let public_note = input.public_note.trim().to_string();
    if public_note.chars().count() > 500 {
        errs.push(FieldError::new("public_note", K::TooLong));
    }
    if action.takes_photos() && input.photos.is_empty() {
        errs.push(FieldError::new("photos", K::PhotoRequired));
    }
    if !action.takes_photos() && !input.photos.is_empty() {
        errs.push(FieldError::new("photos", K::TooManyPhotos));
    }
    let target = if action == Action::Dispatch {
        let ok = match input.department_id {
            Some(d) => super::departments::exists_active(&mut tx, d).await?,
            None => false,
        };
        if !ok {
            errs.push(FieldError::new("department_id", K::UnknownDepartment));
        }
        input.department_id
    } else {
        None
    };
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let (cal, _) = calendar::load(&mut tx).await?;
    let class = catalogue::get(&mut tx, cur.class_id)
        .await?
        .ok_or(AppError::Internal)?;
    let unit = LimitUnit::from_code(&class.limit_unit).unwrap_or(LimitUnit::WorkDays);
    let assignment: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM case_assignments WHERE case_id = $1 AND returned_at IS NULL ORDER BY id DESC LIMIT 1",
    )
    .bind(cur.id)
    .fetch_optional(&mut *tx)
    .await?;
    let mut event_department = None;
    let mut event_deadline = None;
    // The case row, then the assignment.
    let mut set: Vec<String> = vec![format!("state = '{}'", next.code())];
    let mut aset: Vec<String> = Vec::new();
    match action {
        Action::File => {
            set.push(format!("filed_at = {now}"));
            set.push(format!("filed_department_id = {}", u.department_id));
        }
        Action::Reject => set.push(format!("closed_at = {now}")),
        Action::Dispatch => {
            let dept = target.ok_or(AppError::Internal)?;
            let deadline =
                ms_from_local(cal.deadline(local_from_ms(now), class.limit_amount, unit));
            set.push(format!("department_id = {dept}"));
            set.push(format!("deadline_at = {deadline}"));
            set.push("verified_ok = FALSE".into());
            sqlx::query(
                "INSERT INTO case_assignments (case_id, department_id, dispatched_at, deadline_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(cur.id)
            .bind(dept)
            .bind(now)
            .bind(deadline)
            .execute(&mut *tx)
            .await?;
            event_department = Some(dept);
            event_deadline = Some(deadline);
        }
        Action::Accept => aset.push(format!("accepted_at = COALESCE(accepted_at, {now})")),
        Action::Return => {
            set.push("department_id = NULL".into());
            set.push("deadline_at = NULL".into());
            aset.push(format!("returned_at = {now}"));
        }
        Action::ReportBack => {
            aset.push(format!("handled_at = {now}"));
            aset.push(format!(
                "first_handled_at = COALESCE(first_handled_at, {now})"
            ));
        }
        Action::VerifyPass => set.push("verified_ok = TRUE".into()),
        Action::VerifyFail => set.push("verified_ok = FALSE".into()),
        Action::Close => {
            set.push(format!("closed_at = {now}"));
            aset.push(format!("closed_at = {now}"));
        }
        Action::Rework => {
            set.push("rework_count = rework_count + 1".into());
            set.push("verified_ok = FALSE".into());
            aset.push("rework_count = rework_count + 1".into());
        }
        Action::Hold => {
            let deadline = cur.deadline_at.ok_or(AppError::Internal)?;
            let left = cal.remaining_minutes(local_from_ms(now), local_from_ms(deadline), unit);
            set.push("on_hold = TRUE".into());
            set.push(format!("hold_remaining_min = {left}"));
            aset.push("on_hold = TRUE".into());
        }
        Action::Resume => {
            let left = cur.hold_remaining_min.unwrap_or(0);
            let deadline = ms_from_local(cal.deadline_after(local_from_ms(now), left, unit));
            set.push("on_hold = FALSE".into());
            set.push("hold_remaining_min = NULL".into());
            set.push(format!("deadline_at = {deadline}"));
            aset.push("on_hold = FALSE".into());
            aset.push(format!("deadline_at = {deadline}"));
            event_deadline = Some(deadline);
        }
    }
    set.push(format!("updated_at = {now}"));
    set.push("version = version + 1".into());
    // Only integers and fixed words are formatted into these statements; text is bound.
    let changed = sqlx::query(&format!(
        "UPDATE cases SET {} WHERE id = $1 AND version = $2",
        set.join(", ")
    ))
    .bind(cur.id)
    .bind(cur.version)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed != 1 {
        return Err(AppError::Conflict);
    }
    if !aset.is_empty() {
        let a = assignment.ok_or(AppError::Internal)?;
        sqlx::query(&format!(
            "UPDATE case_assignments SET {} WHERE id = $1",
            aset.join(", ")
        ))
        .bind(a)
        .execute(&mut *tx)
        .await?;
    }
    let event = insert_event(
        &mut tx,
        &EventRow {
            case_id: cur.id,
            at: now,
            action: action.code(),
            from_state: Some(state),
            to_state: next,
            user_id: Some(u.id),
            actor_name: &u.display_name,
            actor_department_id: Some(u.department_id),
            department_id: event_department,
            deadline_at: event_deadline,
            note: &note,
            public_note: &public_note,
        },
    )
    .await?;
    let stage = match action {
        Action::ReportBack => "handle",
        _ => "verify",
    };
    insert_photos(
        &mut tx,
        cur.id,
        event,
        stage,
        Some(u.id),
        now,
        input.photos,
        None,
    )
    .await?;
    // A Sky Eye incident escalated to this case ends with it.
    if matches!(next, State::Closed | State::Rejected) {
        super::skyeye::resolve_for_case(&mut tx, cur.id, now, u, &cur.code).await?;
    }
    audit::record(
        &mut tx,
        actor,
        audit::Event {
            action: &format!("case.{}", action.code()),
            target_type: "case",
            target_id: Some(cur.id.to_string()),
            outcome: audit::OK,
            detail: format!(
                "code={} {} -> {}{}",
                cur.code,
                state.code(),
                next.code(),
                event_department
                    .map(|d| format!(" department={d}"))
                    .unwrap_or_default()
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(next)
}

#[derive(sqlx::FromRow)]
struct DetailRow {
    version: i64,
    source: String,
    description: String,
    lon: f64,
    lat: f64,
    street_zh: String,
    street_en: String,
    class_id: i64,
    department_id: Option<i64>,
    reporter_name: Option<String>,
    filing_deadline: i64,
    deadline_at: Option<i64>,
    closed_at: Option<i64>,
    rework_count: i64,
    #[sqlx(try_from = "i64")]
    verified_ok: Flag,
    route_department_id: Option<i64>,
    route_zh: Option<String>,
    route_en: Option<String>,
}

/// The full case for its page, with the steps `u` may take. None when not visible to `u`.
pub async fn detail(
    store: &Store,
    u: &CurrentUser,
    id: i64,
) -> Result<Option<CaseDetail>, AppError> {
    if !visible(store, u, id).await? {
        return Ok(None);
    }
    let now = now_ms();
    let row: Option<Row> = sqlx::query_as(&format!("{} WHERE c.id = $1", row_select()))
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let d: DetailRow = sqlx::query_as(
        "SELECT c.version, c.source, c.description, c.lon, c.lat, g.street_zh, g.street_en, c.class_id, \
         c.department_id, u.display_name AS reporter_name, c.filing_deadline, c.deadline_at, c.closed_at, \
         c.rework_count, CASE WHEN c.verified_ok THEN 1 ELSE 0 END AS verified_ok, \
         c.route_department_id, r.name_zh AS route_zh, r.name_en AS route_en \
         FROM cases c JOIN grids g ON g.id = c.grid_id LEFT JOIN users u ON u.id = c.reporter_id \
         LEFT JOIN departments r ON r.id = c.route_department_id WHERE c.id = $1",
    )
    .bind(id)
    .fetch_one(store.pool())
    .await?;
    let class = catalogue::get_ro(store, d.class_id)
        .await?
        .ok_or(AppError::Internal)?;
    let row = row.into_row(now);
    let timeline = timeline(store, id).await?;
    let hold_reason = if row.on_hold {
        timeline
            .iter()
            .rev()
            .find(|e| e.action == "hold")
            .map(|e| e.note.clone())
    } else {
        None
    };
    let photos: Vec<(i64, String, i64, i64)> = sqlx::query_as(
        "SELECT id, stage, width, height FROM case_photos WHERE case_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    let ctx = ctx_for(u, d.department_id, row.on_hold, d.verified_ok.0);
    let actions = workflow::available(row.state, ctx);
    let departments = if actions.contains(&Action::Dispatch) {
        super::departments::list(store)
            .await?
            .into_iter()
            .filter(|x| x.active)
            .map(|x| DeptOption {
                id: x.id,
                name_zh: x.name_zh,
                name_en: x.name_en,
            })
            .collect()
    } else {
        Vec::new()
    };
    let appealable = if u.role == Role::DeptHead {
        super::evaluation::appealable(store, id, u.department_id, now).await?
    } else {
        None
    };
    Ok(Some(CaseDetail {
        row,
        version: d.version,
        source: d.source,
        description: d.description,
        lon: d.lon,
        lat: d.lat,
        street_zh: d.street_zh,
        street_en: d.street_en,
        class,
        department_id: d.department_id,
        reporter_name: d.reporter_name,
        filing_deadline: fmt_local(d.filing_deadline),
        deadline: d.deadline_at.map(fmt_local),
        closed_at: d.closed_at.map(fmt_local),
        rework_count: d.rework_count,
        verified_ok: d.verified_ok.0,
        hold_reason,
        timeline,
        photos: photos
            .into_iter()
            .map(|(id, stage, width, height)| PhotoRef {
                id,
                stage,
                width,
                height,
            })
            .collect(),
        actions,
        departments,
        appealable,
        incident_id: super::skyeye::incident_of_case(store, id).await?,
        citizen_code: sqlx::query_scalar("SELECT code FROM citizen_reports WHERE case_id = $1")
            .bind(id)
            .fetch_optional(store.pool())
            .await?,
        citizen_contact: citizen_contact(store, u, id).await?,
        anomaly_id: super::energy_anomalies::anomaly_of_case(store, id).await?,
        route_department: d.route_department_id.map(|id| DeptOption {
            id,
            name_zh: d.route_zh.unwrap_or_default(),
            name_en: d.route_en.unwrap_or_default(),
        }),
    }))
}

async fn timeline(store: &Store, id: i64) -> sqlx::Result<Vec<TimelineItem>> {
    #[derive(sqlx::FromRow)]
    struct E {
        id: i64,
        at: i64,
        action: String,
        from_state: Option<String>,
        to_state: String,
        actor_name: String,
        actor_department_zh: Option<String>,
        actor_department_en: Option<String>,
        department_zh: Option<String>,
        department_en: Option<String>,
        deadline_at: Option<i64>,
        note: String,
        public_note: String,
    }
    let rows: Vec<E> = sqlx::query_as(
        "SELECT e.id, e.at, e.action, e.from_state, e.to_state, e.actor_name, ad.name_zh AS actor_department_zh, \
         ad.name_en AS actor_department_en, d.name_zh AS department_zh, d.name_en AS department_en, e.deadline_at, e.note, e.public_note \
         FROM case_events e LEFT JOIN departments ad ON ad.id = e.actor_department_id \
         LEFT JOIN departments d ON d.id = e.department_id WHERE e.case_id = $1 ORDER BY e.at, e.id",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    let photos: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT event_id, id FROM case_photos WHERE case_id = $1 AND event_id IS NOT NULL ORDER BY id",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|e| TimelineItem {
            at: fmt_local(e.at),
            photos: photos
                .iter()
                .filter(|(ev, _)| *ev == e.id)
                .map(|(_, p)| *p)
                .collect(),
            action: e.action,
            from_state: e.from_state.as_deref().and_then(State::from_code),
            to_state: State::from_code(&e.to_state).unwrap_or(State::Reported),
            actor_name: e.actor_name,
            actor_department_zh: e.actor_department_zh,
            actor_department_en: e.actor_department_en,
            department_zh: e.department_zh,
            department_en: e.department_en,
            deadline: e.deadline_at.map(fmt_local),
            note: e.note,
            public_note: e.public_note,
        })
        .collect())
}

/// A photo's bytes and type, if `u` may see its case.
pub async fn photo(
    store: &Store,
    u: &CurrentUser,
    actor: &audit::Actor,
    id: i64,
) -> Result<Option<(String, Vec<u8>)>, AppError> {
    let r: Option<(i64, String, Vec<u8>, Option<i64>)> =
        sqlx::query_as("SELECT case_id, mime, bytes, alert_id FROM case_photos WHERE id = $1")
            .bind(id)
            .fetch_optional(store.pool())
            .await?;
    match r {
        Some((case_id, mime, bytes, alert)) if visible(store, u, case_id).await? => {
            // A copy of a Sky Eye snapshot: views by other departments than the owner are
            // audited like views of the snapshot itself.
            if let Some(alert_id) = alert {
                let owner = super::skyeye::owner_department(store.pool()).await?;
                if owner != Some(u.department_id) {
                    let incident: Option<i64> =
                        sqlx::query_scalar("SELECT incident_id FROM alerts WHERE id = $1")
                            .bind(alert_id)
                            .fetch_optional(store.pool())
                            .await?;
                    super::skyeye::audit_foreign_view(
                        store,
                        actor,
                        alert_id,
                        incident.unwrap_or(0),
                        u,
                    )
                    .await?;
                }
            }
            Ok(Some((mime, bytes)))
        }
        _ => Ok(None),
    }
}

/// Keeps the calendar type in the signature of callers that compute deadlines themselves.
pub fn deadline_ms(cal: &Calendar, from: i64, amount: i64, unit: LimitUnit) -> i64 {
    ms_from_local(cal.deadline(local_from_ms(from), amount, unit))
}
