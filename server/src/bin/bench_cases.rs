//! `bench-cases`: the case list and the department evaluation at scale.
//!
//! ```text
//! bench-cases --database-url URL [--cases 1000000] [--runs 50]
//! ```
//!
//! Migrates the database, writes the demo departments and accounts and the reference data,
//! then fills `cases` and `case_assignments` with synthetic cases spread over the last 365
//! days (reused when the database already holds at least that many), and times the queries
//! the pages run: `db::cases::list` for a set of realistic filtered pages, and
//! `db::evaluation::counts` / `report` for the last calendar month. Only the tables those
//! queries read are filled (no timelines, photos or appeals).
//!
//! For PostgreSQL the database named in the URL is created when it does not exist.
use app::db::{self, cases, evaluation, seed, DbKind, Store};
use app::domain::calendar::{local_from_ms, ms_from_local, Calendar, LimitUnit};
use app::model::{CaseClass, CaseFilter};
use std::time::{Duration, Instant};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// Asia/Shanghai has no daylight saving: local time is always UTC+8.
const OFFSET: i64 = 8 * HOUR;

/// p95 goals from the issue.
const LIST_GOAL_MS: f64 = 50.0;
const EVAL_GOAL_MS: f64 = 200.0;
const WARMUP: usize = 3;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Args {
    url: String,
    cases: usize,
    runs: usize,
}

fn usage() -> ! {
    eprintln!("usage: bench-cases --database-url URL [--cases 1000000] [--runs 50]");
    std::process::exit(2)
}

fn args() -> Args {
    let mut a = Args {
        url: String::new(),
        cases: 1_000_000,
        runs: 50,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let (key, inline) = match k.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (k, None),
        };
        let mut val = || {
            inline
                .clone()
                .or_else(|| it.next())
                .unwrap_or_else(|| usage())
        };
        match key.as_str() {
            "--database-url" => a.url = val(),
            "--cases" => a.cases = val().replace('_', "").parse().unwrap_or_else(|_| usage()),
            "--runs" => a.runs = val().parse().unwrap_or_else(|_| usage()),
            "-h" | "--help" => usage(),
            _ => usage(),
        }
    }
    if a.url.is_empty() {
        a.url = std::env::var("DATABASE_URL").unwrap_or_else(|_| usage());
    }
    if a.runs == 0 {
        usage()
    }
    a
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(args()).await {
        eprintln!("bench-cases: {e}");
        std::process::exit(1);
    }
}

async fn run(a: Args) -> Res<()> {
    if DbKind::from_url(&a.url) == Some(DbKind::Postgres) {
        ensure_pg_database(&a.url).await?;
    }
    let store = Store::connect(&a.url).await?;
    store.migrate().await?;
    seed::demo(&store)
        .await
        .map_err(|e| format!("demo data: {e}"))?;
    seed::reference(&store)
        .await
        .map_err(|e| format!("reference data: {e}"))?;
    let kind = match store.kind {
        DbKind::Sqlite => "sqlite",
        DbKind::Postgres => "postgres",
    };
    let now = db::now_ms();

    let generation = fill(&store, a.cases, now).await?;
    // Statistics for the planner (and, on PostgreSQL, the visibility map that index-only
    // scans need: a bulk-loaded table has none until (auto)vacuum has run).
    let t = Instant::now();
    match store.kind {
        DbKind::Sqlite => {
            sqlx::raw_sql("ANALYZE").execute(store.pool()).await?;
        }
        DbKind::Postgres => {
            sqlx::raw_sql("VACUUM (ANALYZE) cases, case_assignments")
                .execute(store.pool())
                .await?;
        }
    }
    let analyze = t.elapsed();
    // SQLite loads statistics with the schema: connections opened before ANALYZE (or before
    // the migrations added indexes) keep planning without them. Measure on new connections,
    // as a restarted app server would.
    store.close().await;
    let store = Store::connect(&a.url).await?;
    let total_cases: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases")
        .fetch_one(store.pool())
        .await?;
    let total_assignments: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_assignments")
        .fetch_one(store.pool())
        .await?;

    let queries = queries(&store, now).await?;
    println!();
    println!(
        "CityLink bench · {kind} · {total_cases} cases, {total_assignments} assignments · \
         {} runs after {WARMUP} warm-up runs",
        a.runs
    );
    match generation {
        Some((n, took)) => println!(
            "data: generated {n} cases in {:.1} s ({:.0} cases/s); {} {:.1} s",
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64().max(1e-9),
            if store.kind == DbKind::Sqlite {
                "ANALYZE"
            } else {
                "VACUUM ANALYZE"
            },
            analyze.as_secs_f64()
        ),
        None => println!(
            "data: reused the {total_cases} cases already in the database; {} {:.1} s",
            if store.kind == DbKind::Sqlite {
                "ANALYZE"
            } else {
                "VACUUM ANALYZE"
            },
            analyze.as_secs_f64()
        ),
    }
    println!();
    println!(
        "{:<40} {:>14} {:>9} {:>9} {:>9} {:>8}  verdict",
        "query", "rows/total", "p50 ms", "p95 ms", "max ms", "goal ms"
    );
    let mut misses = 0;
    for (name, q, goal) in &queries {
        let mut times = Vec::with_capacity(a.runs);
        let mut shape = (0, 0);
        for i in 0..WARMUP + a.runs {
            let t = Instant::now();
            shape = run_query(&store, q, now).await?;
            let d = t.elapsed();
            if i >= WARMUP {
                times.push(d);
            }
        }
        times.sort();
        let (p50, p95, max) = (
            ms(pct(&times, 50.0)),
            ms(pct(&times, 95.0)),
            ms(*times.last().expect("runs > 0")),
        );
        let ok = p95 <= *goal;
        if !ok {
            misses += 1;
        }
        println!(
            "{:<40} {:>14} {:>9.2} {:>9.2} {:>9.2} {:>8.0}  {}",
            name,
            format!("{}/{}", shape.0, shape.1),
            p50,
            p95,
            max,
            goal,
            if ok { "ok" } else { "MISSED" }
        );
    }
    println!();
    println!(
        "{} of {} queries within their p95 goal (list page ≤ {LIST_GOAL_MS:.0} ms, month's evaluation ≤ {EVAL_GOAL_MS:.0} ms)",
        queries.len() - misses,
        queries.len()
    );
    store.close().await;
    Ok(())
}

/// Nearest-rank percentile of sorted durations.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

enum Query {
    List(CaseFilter, Option<i64>),
    Counts {
        from: i64,
        to: i64,
    },
    Report {
        from_day: String,
        to_day: String,
        from: i64,
        to: i64,
    },
}

/// One run; returns (rows returned, total): page rows and the filter's total for lists,
/// departments and assignments dispatched for the evaluation.
async fn run_query(store: &Store, q: &Query, now: i64) -> Res<(usize, i64)> {
    Ok(match q {
        Query::List(f, scope) => {
            let page = cases::list(store, f, *scope, 25)
                .await
                .map_err(|e| format!("list: {e:?}"))?;
            (page.items.len(), page.total)
        }
        Query::Counts { from, to } => {
            let c = evaluation::counts(store, *from, *to, now).await?;
            (c.len(), c.values().map(|c| c.dispatched).sum())
        }
        Query::Report {
            from_day,
            to_day,
            from,
            to,
        } => {
            let r = evaluation::report(store, from_day, to_day, *from, *to).await?;
            (
                r.rows.len(),
                r.rows.iter().map(|r| r.counts.dispatched).sum(),
            )
        }
    })
}

/// The measured queries: realistic first pages of the case list, and last month's evaluation.
async fn queries(store: &Store, now: i64) -> Res<Vec<(String, Query, f64)>> {
    // Last calendar month (local time), [from, to).
    let ym = local_from_ms(now).format("%Y-%m").to_string();
    let (y, m): (i32, u32) = (ym[..4].parse()?, ym[5..].parse()?);
    let (py, pm) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
    let from_day = format!("{py:04}-{pm:02}-01");
    let from = db::local_day_start_ms(&from_day).ok_or("bad month")?;
    let to = db::local_day_start_ms(&format!("{y:04}-{m:02}-01")).ok_or("bad month")?;
    let to_day = local_from_ms(to - DAY).format("%Y-%m-%d").to_string();

    // The busiest class, a handler department (the demo's water bureau), a district.
    let class: (i64, String) = sqlx::query_as(
        "SELECT c.class_id, k.kind || ' ' || k.code FROM cases c JOIN case_classes k ON k.id = c.class_id \
         WHERE c.id <= 10000 GROUP BY c.class_id, k.kind, k.code ORDER BY COUNT(*) DESC, c.class_id LIMIT 1",
    )
    .fetch_one(store.pool())
    .await?;
    let water: i64 = sqlx::query_scalar("SELECT id FROM departments WHERE code = 'water'")
        .fetch_one(store.pool())
        .await?;
    let f = CaseFilter::default;
    let list = |f: CaseFilter| Query::List(f, None);
    Ok(vec![
        (
            "list: open".into(),
            list(CaseFilter {
                state: "open".into(),
                ..f()
            }),
            LIST_GOAL_MS,
        ),
        (
            "list: district 140106 + handling".into(),
            list(CaseFilter {
                district: "140106".into(),
                state: "handling".into(),
                ..f()
            }),
            LIST_GOAL_MS,
        ),
        (
            "list: handler scope (water)".into(),
            Query::List(f(), Some(water)),
            LIST_GOAL_MS,
        ),
        (
            "list: handler scope (water) + open".into(),
            Query::List(
                CaseFilter {
                    state: "open".into(),
                    ..f()
                },
                Some(water),
            ),
            LIST_GOAL_MS,
        ),
        (
            "list: overdue".into(),
            list(CaseFilter {
                overdue: true,
                ..f()
            }),
            LIST_GOAL_MS,
        ),
        (
            "list: search q=\"并州路12\"".into(),
            list(CaseFilter {
                q: "并州路12".into(),
                ..f()
            }),
            LIST_GOAL_MS,
        ),
        (
            format!("list: class {} in {}", class.1, &from_day[..7]),
            list(CaseFilter {
                class_id: Some(class.0),
                from: from_day.clone(),
                to: to_day.clone(),
                ..f()
            }),
            LIST_GOAL_MS,
        ),
        (
            "list: unfiltered, page 40".into(),
            list(CaseFilter { page: 40, ..f() }),
            LIST_GOAL_MS,
        ),
        (
            format!("evaluation counts {}", &from_day[..7]),
            Query::Counts { from, to },
            EVAL_GOAL_MS,
        ),
        (
            format!("evaluation report {}", &from_day[..7]),
            Query::Report {
                from_day,
                to_day,
                from,
                to,
            },
            EVAL_GOAL_MS,
        ),
    ])
}

/// Creates the database named in a PostgreSQL URL when it does not exist yet (through the
/// server's `postgres` database).
async fn ensure_pg_database(url: &str) -> Res<()> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let Some((server, name)) = base.rsplit_once('/') else {
        return Ok(());
    };
    if name.is_empty() || name == "postgres" || server.ends_with('/') {
        return Ok(());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!("database name {name:?}: use a-z, 0-9 and _").into());
    }
    let mut c = sqlx::AnyConnection::connect(&format!("{server}/postgres{query}")).await?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut c)
        .await?;
    if exists.is_none() {
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut c)
            .await?;
        println!("created database {name}");
    }
    c.close().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Synthetic cases.

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
async fn fill(store: &Store, n: usize, now: i64) -> Res<Option<(usize, Duration)>> {
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
