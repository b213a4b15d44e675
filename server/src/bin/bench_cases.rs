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
use app::domain::calendar::local_from_ms;
use app::model::CaseFilter;
use citylink_server::bench::cases::{fill, DAY};
use citylink_server::bench::Res;
use std::time::{Duration, Instant};

/// p95 goals from the issue.
const LIST_GOAL_MS: f64 = 50.0;
const EVAL_GOAL_MS: f64 = 200.0;
const WARMUP: usize = 3;

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
