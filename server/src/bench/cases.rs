//! Synthetic cases for the benchmarks at scale (`bench-cases`, `bench-overview`): `cases` and
//! `case_assignments` filled with cases spread over the last 365 days, as the case list, the
//! evaluation and the overview read them. Only those two tables (no timelines, photos or
//! appeals).
use app::db::{self, cases, DbKind, Store};
use app::domain::calendar::{local_from_ms, ms_from_local, Calendar, LimitUnit};
use app::model::CaseClass;
use std::time::{Duration, Instant};

use super::Res;

pub const MIN: i64 = 60_000;
pub const HOUR: i64 = 60 * MIN;
pub const DAY: i64 = 24 * HOUR;
/// Asia/Shanghai has no daylight saving: local time is always UTC+8.
pub const OFFSET: i64 = 8 * HOUR;

/// Small deterministic generator (SplitMix64): the same data on every engine and every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo) as u64) as i64
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.range(0, v.len() as i64) as usize]
    }
    fn chance(&mut self, p: f64) -> bool {
        self.f() < p
    }
}

use app::db::demo_cases::ROADS;

struct Grid {
    id: i64,
    district: String,
    lon: f64,
    lat: f64,
}

struct Reference {
    classes: Vec<CaseClass>,
    /// Indexes into `classes` of the everyday classes (garbage, parking, …): half the reports.
    frequent: Vec<usize>,
    grids: Vec<Grid>,
    /// Departments the catalogue dispatches to.
    depts: Vec<i64>,
    reporter: Option<i64>,
    filing_department: i64,
    cal: Calendar,
    filing_minutes: i64,
}

struct CaseRow {
    id: i64,
    code: String,
    source: &'static str,
    class_id: i64,
    grid_id: i64,
    district_code: String,
    lon: f64,
    lat: f64,
    address: String,
    description: String,
    state: &'static str,
    on_hold: bool,
    verified_ok: bool,
    department_id: Option<i64>,
    reporter_id: Option<i64>,
    reported_at: i64,
    filing_deadline: i64,
    filed_at: Option<i64>,
    filed_department_id: Option<i64>,
    deadline_at: Option<i64>,
    hold_remaining_min: Option<i64>,
    closed_at: Option<i64>,
    rework_count: i64,
    updated_at: i64,
    version: i64,
}

#[derive(Default)]
struct AssignmentRow {
    case_id: i64,
    department_id: i64,
    dispatched_at: i64,
    deadline_at: i64,
    accepted_at: Option<i64>,
    returned_at: Option<i64>,
    first_handled_at: Option<i64>,
    handled_at: Option<i64>,
    closed_at: Option<i64>,
    rework_count: i64,
    on_hold: bool,
    appealed: bool,
}

/// Where a case's simulation stops: a case stuck in an open state, or the natural end.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    Reported,
    Filed,
    Dispatched,
    Handling,
    ReportedBack,
    Verified,
    Closed,
    Rejected,
}

async fn reference(store: &Store) -> Res<Reference> {
    let classes: Vec<CaseClass> = app::db::catalogue::list(store)
        .await?
        .into_iter()
        .filter(|c| c.active)
        .collect();
    if classes.is_empty() {
        return Err("no active case classes".into());
    }
    let frequent = [3usize, 7, 11, 44, 45, 47, 64, 70, 75, 80]
        .iter()
        .map(|i| i % classes.len())
        .collect();
    let grids: Vec<Grid> = sqlx::query_as::<_, (i64, String, f64, f64)>(
        "SELECT id, district_code, min_lon, min_lat FROM grids ORDER BY id",
    )
    .fetch_all(store.pool())
    .await?
    .into_iter()
    .map(|(id, district, lon, lat)| Grid {
        id,
        district,
        lon,
        lat,
    })
    .collect();
    if grids.is_empty() {
        return Err("no grids".into());
    }
    let mut depts: Vec<i64> = classes.iter().map(|c| c.department_id).collect();
    depts.sort();
    depts.dedup();
    let reporter: Option<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE username = 'inspector'")
            .fetch_optional(store.pool())
            .await?;
    let filing_department: i64 = sqlx::query_scalar(
        "SELECT COALESCE((SELECT department_id FROM users WHERE username = 'dispatcher'), \
         (SELECT MIN(id) FROM departments))",
    )
    .fetch_one(store.pool())
    .await?;
    let mut tx = store.begin().await?;
    let (cal, filing_minutes) = db::calendar::load(&mut tx).await?;
    tx.rollback().await?;
    Ok(Reference {
        classes,
        frequent,
        grids,
        depts,
        reporter,
        filing_department,
        cal,
        filing_minutes,
    })
}

/// Generates cases up to `n`; returns how many were written and how long it took, or None
/// when the database already held `n` cases.
pub async fn fill(store: &Store, n: usize, now: i64) -> Res<Option<(usize, Duration)>> {
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases")
        .fetch_one(store.pool())
        .await?;
    if existing as usize >= n {
        return Ok(None);
    }
    let missing = n - existing as usize;
    let first_id: i64 = sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM cases")
        .fetch_one(store.pool())
        .await?
        .unwrap_or(0)
        + 1;
    let r = reference(store).await?;
    let started = Instant::now();
    let mut rng = Rng(0x00C1_7711_4B0E_2026 ^ first_id as u64);
    // Report times over the last 365 days, mostly in the daytime, in id order.
    let mut times: Vec<i64> = (0..missing)
        .map(|_| {
            let day = (now + OFFSET).div_euclid(DAY) - rng.range(0, 365);
            let in_day = if rng.chance(0.9) {
                rng.range(7 * HOUR, 21 * HOUR)
            } else {
                rng.range(0, DAY)
            };
            (day * DAY - OFFSET + in_day).min(now - 5 * MIN)
        })
        .collect();
    times.sort_unstable();
    // Rows per INSERT. PostgreSQL: as many as its 65,535 bind parameters allow. SQLite
    // allows 32,766, but looking up a `$N` parameter by number costs time linear in the
    // statement's parameters (sqlite3_bind_parameter_name walks a list), so binding is
    // quadratic: 32,766 parameters bind ~50x slower per row than 2,500.
    let max_params = match store.kind {
        DbKind::Postgres => 65_535,
        DbKind::Sqlite => 2_500,
    };
    const CASE_COLS: usize = 25;
    const ASSIGNMENT_COLS: usize = 12;
    const PER_TX: usize = 50_000;
    let case_rows = max_params / CASE_COLS;
    let assignment_rows = max_params / ASSIGNMENT_COLS;
    let mut written = 0;
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    for (chunk_no, chunk) in times.chunks(PER_TX).enumerate() {
        let mut cases = Vec::with_capacity(chunk.len());
        let mut assignments = Vec::with_capacity(chunk.len() * 11 / 10);
        for (i, &at) in chunk.iter().enumerate() {
            let id = first_id + (chunk_no * PER_TX + i) as i64;
            let (c, a) = gen_case(&mut rng, &r, id, at, now);
            cases.push(c);
            assignments.extend(a);
        }
        let mut tx = store.begin().await?;
        insert_cases(&mut tx, cases, case_rows).await?;
        insert_assignments(&mut tx, assignments, assignment_rows).await?;
        tx.commit().await?;
        written += chunk.len();
        let rate = written as f64 / started.elapsed().as_secs_f64().max(1e-9);
        if tty {
            eprint!("\rgenerating cases: {written}/{missing} ({rate:.0} cases/s)   ");
        } else if written % 200_000 < PER_TX || written == missing {
            eprintln!("generating cases: {written}/{missing} ({rate:.0} cases/s)");
        }
    }
    if tty {
        eprintln!();
    }
    if store.kind == DbKind::Postgres {
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT MAX(id) FROM cases))",
        )
        .execute(store.pool())
        .await?;
    }
    Ok(Some((missing, started.elapsed())))
}

/// One case from its report to where it stops: the case row and its department assignments.
fn gen_case(
    rng: &mut Rng,
    r: &Reference,
    id: i64,
    reported_at: i64,
    now: i64,
) -> (CaseRow, Vec<AssignmentRow>) {
    let class = if rng.chance(0.5) {
        &r.classes[*rng.pick(&r.frequent)]
    } else {
        rng.pick(&r.classes)
    };
    let unit = LimitUnit::from_code(&class.limit_unit).unwrap_or(LimitUnit::WorkDays);
    let grid = rng.pick(&r.grids);
    let road = rng.pick(ROADS);
    let address = format!("{road}{}号附近", rng.range(1, 400));
    let description = format!("{address}发现{}，{}", class.name_zh, class.filing_zh);
    let source = match rng.range(0, 20) {
        0..=11 => "inspector",
        12..=14 => "citizen",
        15..=17 => "hotline",
        _ => "skyeye",
    };
    let deadline = |from: i64, cal: &Calendar| {
        ms_from_local(cal.deadline(local_from_ms(from), class.limit_amount, unit))
    };
    let filing_deadline = ms_from_local(
        r.cal
            .add_work_minutes(local_from_ms(reported_at), r.filing_minutes),
    );
    // Most cases run to the end (closed, or rejected at filing); a backlog stays open in
    // every state, larger among recent reports.
    let age_days = (now - reported_at) as f64 / DAY as f64;
    let stop = if rng.chance(0.03) {
        Stop::Rejected
    } else if rng.chance(0.08 + 0.3 * (-age_days / 30.0).exp()) {
        match rng.range(0, 100) {
            0..=7 => Stop::Reported,
            8..=14 => Stop::Filed,
            15..=34 => Stop::Dispatched,
            35..=79 => Stop::Handling,
            80..=91 => Stop::ReportedBack,
            _ => Stop::Verified,
        }
    } else {
        Stop::Closed
    };
    let mut c = CaseRow {
        id,
        code: cases::case_code(reported_at, id),
        source,
        class_id: class.id,
        grid_id: grid.id,
        district_code: grid.district.clone(),
        lon: grid.lon + 0.0005 + rng.f() * 0.009,
        lat: grid.lat + 0.0005 + rng.f() * 0.009,
        address,
        description,
        state: "reported",
        on_hold: false,
        verified_ok: false,
        department_id: None,
        reporter_id: r.reporter,
        reported_at,
        filing_deadline,
        filed_at: None,
        filed_department_id: None,
        deadline_at: None,
        hold_remaining_min: None,
        closed_at: None,
        rework_count: 0,
        updated_at: reported_at,
        version: 1,
    };
    let mut asg: Vec<AssignmentRow> = Vec::new();
    let mut t = reported_at;
    'sim: {
        // One step: advance the clock; a step that would lie in the future is not taken.
        macro_rules! step {
            ($delay:expr, $state:expr) => {{
                let next = t + $delay;
                if next > now {
                    break 'sim;
                }
                t = next;
                c.state = $state;
                c.updated_at = t;
                c.version += 1;
            }};
        }
        let file_delay = if rng.chance(0.88) {
            rng.range(5 * MIN, 90 * MIN)
        } else {
            rng.range(4 * HOUR, 30 * HOUR)
        };
        if stop == Stop::Rejected {
            step!(file_delay, "rejected");
            c.closed_at = Some(t);
            break 'sim;
        }
        if stop == Stop::Reported {
            break 'sim;
        }
        step!(file_delay, "filed");
        c.filed_at = Some(t);
        c.filed_department_id = Some(r.filing_department);
        // Now and then dispatched to the wrong department first, which returns it (退单).
        if rng.chance(0.06) && r.depts.len() > 1 {
            let mut wrong = *rng.pick(&r.depts);
            if wrong == class.department_id {
                let i = r.depts.iter().position(|d| *d == wrong).unwrap_or(0);
                wrong = r.depts[(i + 1) % r.depts.len()];
            }
            step!(rng.range(5 * MIN, 60 * MIN), "dispatched");
            let d = deadline(t, &r.cal);
            c.department_id = Some(wrong);
            c.deadline_at = Some(d);
            asg.push(AssignmentRow {
                case_id: id,
                department_id: wrong,
                dispatched_at: t,
                deadline_at: d,
                ..Default::default()
            });
            step!(rng.range(HOUR, 5 * HOUR), "filed");
            asg.last_mut().expect("just pushed").returned_at = Some(t);
            c.department_id = None;
            c.deadline_at = None;
        }
        if stop == Stop::Filed {
            break 'sim;
        }
        step!(rng.range(5 * MIN, 60 * MIN), "dispatched");
        let dispatched = t;
        let mut dl = deadline(t, &r.cal);
        c.department_id = Some(class.department_id);
        c.deadline_at = Some(dl);
        asg.push(AssignmentRow {
            case_id: id,
            department_id: class.department_id,
            dispatched_at: t,
            deadline_at: dl,
            ..Default::default()
        });
        let ai = asg.len() - 1;
        if stop == Stop::Dispatched {
            break 'sim;
        }
        step!(rng.range(10 * MIN, 120 * MIN), "handling");
        asg[ai].accepted_at = Some(t);
        // On hold (缓办) now and then: the clock stops, and the deadline moves on resume.
        if rng.chance(0.03) {
            step!(rng.range(HOUR, 6 * HOUR), "handling");
            let left = r
                .cal
                .remaining_minutes(local_from_ms(t), local_from_ms(dl), unit);
            c.on_hold = true;
            c.hold_remaining_min = Some(left);
            asg[ai].on_hold = true;
            if stop == Stop::Handling && rng.chance(0.5) {
                break 'sim;
            }
            step!(rng.range(DAY, 4 * DAY), "handling");
            dl = ms_from_local(r.cal.deadline_after(local_from_ms(t), left, unit));
            c.on_hold = false;
            c.hold_remaining_min = None;
            c.deadline_at = Some(dl);
            asg[ai].on_hold = false;
            asg[ai].deadline_at = dl;
        }
        if stop == Stop::Handling {
            break 'sim;
        }
        // Most report back within the limit; about a fifth late.
        let span = (dl - dispatched).max(HOUR);
        let frac = if rng.chance(0.78) {
            0.1 + rng.f() * 0.85
        } else {
            1.05 + rng.f() * 1.45
        };
        let handle_at = dispatched + (span as f64 * frac) as i64;
        step!((handle_at - t).max(10 * MIN), "reported_back");
        asg[ai].first_handled_at = Some(t);
        asg[ai].handled_at = Some(t);
        if stop == Stop::ReportedBack {
            break 'sim;
        }
        // Verification fails now and then: rework (返工) and a second report-back.
        if rng.chance(0.09) {
            step!(rng.range(HOUR, 10 * HOUR), "verified");
            c.verified_ok = false;
            step!(rng.range(10 * MIN, 60 * MIN), "handling");
            c.rework_count += 1;
            asg[ai].rework_count += 1;
            step!(rng.range(2 * HOUR, 2 * DAY), "reported_back");
            asg[ai].handled_at = Some(t);
        }
        step!(rng.range(HOUR, 10 * HOUR), "verified");
        c.verified_ok = true;
        if stop == Stop::Verified {
            break 'sim;
        }
        step!(rng.range(10 * MIN, 90 * MIN), "closed");
        c.closed_at = Some(t);
        asg[ai].closed_at = Some(t);
        // A few late assignments are appealed successfully and leave the evaluation.
        if asg[ai].handled_at.is_some_and(|h| h > dl) && rng.chance(0.05) {
            asg[ai].appealed = true;
        }
    }
    (c, asg)
}

async fn insert_cases(tx: &mut db::Tx, rows: Vec<CaseRow>, per_stmt: usize) -> sqlx::Result<()> {
    const PREFIX: &str = "INSERT INTO cases (id, code, source, class_id, grid_id, district_code, lon, lat, \
         address, description, state, on_hold, verified_ok, department_id, reporter_id, reported_at, \
         filing_deadline, filed_at, filed_department_id, deadline_at, hold_remaining_min, closed_at, \
         rework_count, updated_at, version) VALUES ";
    let full = db::values_sql(PREFIX, per_stmt, 25);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<CaseRow> = rows.by_ref().take(per_stmt).collect();
        let sql = if chunk.len() == per_stmt {
            full.clone()
        } else {
            db::values_sql(PREFIX, chunk.len(), 25)
        };
        let mut q = sqlx::query(&sql);
        for c in chunk {
            q = q
                .bind(c.id)
                .bind(c.code)
                .bind(c.source)
                .bind(c.class_id)
                .bind(c.grid_id)
                .bind(c.district_code)
                .bind(c.lon)
                .bind(c.lat)
                .bind(c.address)
                .bind(c.description)
                .bind(c.state)
                .bind(c.on_hold)
                .bind(c.verified_ok)
                .bind(c.department_id)
                .bind(c.reporter_id)
                .bind(c.reported_at)
                .bind(c.filing_deadline)
                .bind(c.filed_at)
                .bind(c.filed_department_id)
                .bind(c.deadline_at)
                .bind(c.hold_remaining_min)
                .bind(c.closed_at)
                .bind(c.rework_count)
                .bind(c.updated_at)
                .bind(c.version);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn insert_assignments(
    tx: &mut db::Tx,
    rows: Vec<AssignmentRow>,
    per_stmt: usize,
) -> sqlx::Result<()> {
    const PREFIX: &str = "INSERT INTO case_assignments (case_id, department_id, dispatched_at, deadline_at, \
         accepted_at, returned_at, first_handled_at, handled_at, closed_at, rework_count, on_hold, appealed) VALUES ";
    let full = db::values_sql(PREFIX, per_stmt, 12);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<AssignmentRow> = rows.by_ref().take(per_stmt).collect();
        let sql = if chunk.len() == per_stmt {
            full.clone()
        } else {
            db::values_sql(PREFIX, chunk.len(), 12)
        };
        let mut q = sqlx::query(&sql);
        for a in chunk {
            q = q
                .bind(a.case_id)
                .bind(a.department_id)
                .bind(a.dispatched_at)
                .bind(a.deadline_at)
                .bind(a.accepted_at)
                .bind(a.returned_at)
                .bind(a.first_handled_at)
                .bind(a.handled_at)
                .bind(a.closed_at)
                .bind(a.rework_count)
                .bind(a.on_hold)
                .bind(a.appealed);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}
