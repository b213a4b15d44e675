//! `bench-readings`: load benchmark of the readings API over HTTP, and of the energy dashboard
//! queries at scale, against the real app.
//!
//! ```text
//! bench-readings --database-url URL [--readings 2000000] [--shapes meter,hour] [--clients 4]
//!                [--meters 2000] [--retry-share 0.05] [--corrections 2000]
//!                [--query-readings 10000000] [--runs 200] [--warmup 20]
//! ```
//!
//! **Ingest** (skipped with `--readings 0`), once per shape: the whole application starts
//! in-process (`build_state` + `router`, served by axum on 127.0.0.1) on a fresh database (the
//! SQLite file deleted, the PostgreSQL database named in the URL dropped and created). In
//! plain SQL: `--meters` hourly meters (two per entity: electricity, and heat, water or gas in
//! turn), the entities spread over the ten districts, all owned by the NDRC, which owns the
//! city's energy data (`energy.owner_department`); national emission factors for the last six
//! years. One NDRC key with scope `readings`. Then `--readings` readings, in batches of 10,000,
//! are posted by `--clients` concurrent clients to `POST /api/v1/readings`, in one of two
//! shapes:
//!
//! - `meter`: meter-major, each batch a few meters' hourly series (a gateway catching up);
//! - `hour`: hour-major, each batch every meter's reading of a few hours (a live feed).
//!
//! About `--retry-share` of the batches are posted again (half while the original is in
//! flight, half a little later): every item must come back `unchanged`. `--corrections`
//! readings are sent again with another value, in posts of 100 after their original batch
//! was answered: each must come back `corrected`. It prints readings per second (created,
//! wall clock over the whole run, re-posts and corrections included) and the p50 / p99
//! latency of one post, then checks in the database: readings stored = unique (meter, hour)
//! sent; their sum = the sum of the values sent (corrections applied); the sums of
//! `energy_meter_day`, `energy_entity_month` and `energy_district_month` = the sum of the
//! readings (all meters are roots); the carbon of `energy_district_month` = Σ value × factor;
//! corrections logged = corrections sent.
//!
//! **Dashboard queries** (skipped with `--query-readings 0`): a fresh database with the same
//! meters is filled with `--query-readings` hourly readings ending at the last full hour, by
//! a *bulk load*, not the ingest path: one set-based `INSERT ... SELECT` over the meters and
//! the hours (PostgreSQL `generate_series`, SQLite a recursive CTE into a helper table), then
//! each rollup table built from the readings (or the finer rollup) with `INSERT ... SELECT ...
//! GROUP BY`, using the bucket arithmetic of `domain::energy` (hour = ts − ts mod 3,600,000;
//! local day = (ts + 28,800,000) / 86,400,000; month through a day → month table computed with
//! `domain::energy::month_of_day`). After the fill it checks Σ readings = Σ
//! `energy_meter_day` = Σ `energy_entity_hour` = Σ `energy_district_hour` = Σ
//! `energy_district_month` and runs `ANALYZE` (PostgreSQL: `VACUUM (ANALYZE)`). Then it times,
//! `--runs` times each after `--warmup` runs, through the app's `Store` pool (sqlx Any, so
//! the driver's work counts), the queries the energy pages run: the city overview (30 days
//! daily by type; this and last month by district and type), a district's last 7 days hourly,
//! an entity's 28 × 24 heatmap, the month's top 10 electricity consumers, and a meter's last
//! 7 days from the raw readings and its days of the year. Parameters rotate over districts,
//! entities and meters. It prints p50 / p95 / max per query against the goal (p95 ≤ 20 ms).
//!
//! Goals on a 2-core machine: 100,000 readings/s on SQLite, 200,000 on PostgreSQL; dashboard
//! p95 ≤ 20 ms at 10,000,000 readings (SQLite) and 50,000,000 (PostgreSQL). A missed goal is
//! reported, not an error; a failed check exits non-zero.
use app::db::{energy_ingest, skyeye, DbKind};
use app::domain::energy::{self as rules, EnergyType, HOUR_MS};
use app::state::Config;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use citylink_server::bench::readings::{bulk_fill, db_size, setup, Fleet, DISTRICTS};
use citylink_server::bench::{fresh_database, leptos_options, ms, pct, post_retrying, Res};

/// The key's source: readings are stored with source `api:bench`.
const SOURCE: &str = "bench";
/// Readings per post (the API's maximum).
const BATCH: usize = energy_ingest::MAX_READINGS;
/// Readings per correction post.
const CORRECTION_POST: usize = 100;
/// Server errors (5xx, connection failures) a client retries a post through.
const ATTEMPTS: u32 = 4;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Shape {
    /// Each batch: a few meters, all their hours.
    MeterMajor,
    /// Each batch: a few hours, all the meters.
    HourMajor,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::MeterMajor => "meter-major (gateway catching up)",
            Shape::HourMajor => "hour-major (live feed)",
        }
    }
}

struct Args {
    url: String,
    readings: usize,
    shapes: Vec<Shape>,
    clients: usize,
    meters: usize,
    retry_share: f64,
    corrections: usize,
    query_readings: usize,
    runs: usize,
    warmup: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: bench-readings --database-url URL [--readings 2000000] [--shapes meter,hour] \
         [--clients 4] [--meters 2000] [--retry-share 0.05] [--corrections 2000] \
         [--query-readings 10000000] [--runs 200] [--warmup 20]"
    );
    std::process::exit(2)
}

fn args() -> Args {
    let mut a = Args {
        url: String::new(),
        readings: 2_000_000,
        shapes: vec![Shape::MeterMajor, Shape::HourMajor],
        clients: 4,
        meters: 2000,
        retry_share: 0.05,
        corrections: 2000,
        query_readings: 10_000_000,
        runs: 200,
        warmup: 20,
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
        // Numbers may be written 2_000_000.
        fn num<T: std::str::FromStr>(v: String) -> T {
            v.replace('_', "").parse().unwrap_or_else(|_| usage())
        }
        match key.as_str() {
            "--database-url" => a.url = val(),
            "--readings" => a.readings = num(val()),
            "--shapes" => {
                a.shapes = val()
                    .split(',')
                    .map(|s| match s.trim() {
                        "meter" => Shape::MeterMajor,
                        "hour" => Shape::HourMajor,
                        _ => usage(),
                    })
                    .collect()
            }
            "--clients" => a.clients = num(val()),
            "--meters" => a.meters = num(val()),
            "--retry-share" => a.retry_share = num(val()),
            "--corrections" => a.corrections = num(val()),
            "--query-readings" => a.query_readings = num(val()),
            "--runs" => a.runs = num(val()),
            "--warmup" => a.warmup = num(val()),
            _ => usage(),
        }
    }
    if a.url.is_empty() {
        a.url = std::env::var("DATABASE_URL").unwrap_or_else(|_| usage());
    }
    if a.clients == 0
        || a.meters < 2
        || a.runs == 0
        || a.shapes.is_empty()
        || !(0.0..=1.0).contains(&a.retry_share)
        || (a.readings > 0 && a.corrections > a.readings)
        // Readings within the API's five years.
        || a.readings.div_ceil(a.meters) > 4 * 365 * 24
        || a.query_readings.div_ceil(a.meters) > 4 * 365 * 24
    {
        usage()
    }
    a
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match run(args()).await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("bench-readings: {e}");
            std::process::exit(1);
        }
    }
}

async fn run(a: Args) -> Res<bool> {
    let mut ok = true;
    let mut ingest = Vec::new();
    if a.readings > 0 {
        for shape in a.shapes.clone() {
            let (pass, figures) = ingest_run(&a, shape).await?;
            ok &= pass;
            ingest.push(figures);
        }
    }
    if a.query_readings > 0 {
        ok &= query_run(&a).await?;
    }
    if !ingest.is_empty() {
        println!("Ingest summary");
        for f in &ingest {
            println!("  {f}");
        }
        println!();
    }
    Ok(ok)
}

fn kind_name(kind: DbKind) -> &'static str {
    match kind {
        DbKind::Sqlite => "sqlite",
        DbKind::Postgres => "postgres",
    }
}

/// A fresh database and the app's state on it (demo data off, rate limit out of the way).
async fn fresh_state(url: &str) -> Res<app::state::AppState> {
    fresh_database(url).await?;
    let config = Config {
        database_url: url.to_string(),
        demo: Some(false),
        api_rate: 100_000,
        ..Config::default()
    };
    Ok(citylink_server::build_state(config, leptos_options()).await?)
}

// ---------------------------------------------------------------------------------------------
// 1. Ingest over HTTP
// ---------------------------------------------------------------------------------------------

/// One planned post.
#[derive(Clone, Copy)]
enum Job {
    Once(usize),
    /// The batch posted twice at the same moment.
    Twice(usize),
    /// Correction post `c`, once its original batch was answered.
    Correct(usize),
}

#[derive(serde::Deserialize)]
struct Answer {
    created: u64,
    unchanged: u64,
    corrected: u64,
    rejected: u64,
}

/// What the clients saw.
#[derive(Default)]
struct Seen {
    latencies: Vec<Duration>,
    created: u64,
    unchanged: u64,
    corrected: u64,
    rejected: u64,
    posts: usize,
    failed: usize,
    server_errors: usize,
}

/// A body of readings `(meter index, hour index, value in thousandths)`.
fn body(fleet: &Fleet, hours: &[String], items: &[(u32, u32, u64)]) -> Vec<u8> {
    let mut s = String::with_capacity(items.len() * 80 + 16);
    s.push_str("{\"readings\":[");
    for (i, (m, h, v)) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            "{{\"meter\":\"{}\",\"at\":\"{}\",\"value\":{}.{:03}}}",
            fleet.codes[*m as usize],
            hours[*h as usize],
            v / 1000,
            v % 1000
        );
    }
    s.push_str("]}");
    s.into_bytes()
}

async fn ingest_run(a: &Args, shape: Shape) -> Res<(bool, String)> {
    let t_setup = Instant::now();
    let state = fresh_state(&a.url).await?;
    let store = state.store.clone();
    let kind = kind_name(store.kind);
    let now = app::db::now_ms();
    let fleet = setup(&store, a.meters, now).await?;
    let app = citylink_server::router(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stop_rx.await;
        })
        .await
    });
    let base = format!("http://{addr}");
    let ndrc: i64 = sqlx::query_scalar("SELECT id FROM departments WHERE code = 'ndrc'")
        .fetch_one(store.pool())
        .await?;
    let key = skyeye::create_key(
        &store,
        None,
        &app::db::audit::Actor {
            username: Some("bench".into()),
            ..Default::default()
        },
        "压测 bench",
        SOURCE,
        ndrc,
        &["readings".into()],
    )
    .await
    .map_err(|e| format!("key: {e:?}"))?;
    let setup_time = t_setup.elapsed();

    // The series: hours ending with the last full hour, as local Shanghai times.
    let t_gen = Instant::now();
    let m_count = fleet.meters.len();
    let h_count = a.readings.div_ceil(m_count);
    let last_hour = rules::hour_start(now) - HOUR_MS;
    let first_hour = last_hour - (h_count as i64 - 1) * HOUR_MS;
    let shanghai = chrono::FixedOffset::east_opt(8 * 3600).ok_or("offset")?;
    let hours: Vec<String> = (0..h_count)
        .map(|h| {
            chrono::DateTime::from_timestamp_millis(first_hour + h as i64 * HOUR_MS)
                .map(|t| t.with_timezone(&shanghai).to_rfc3339())
                .unwrap_or_default()
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(20261124);
    let mut items: Vec<(u32, u32, u64)> = Vec::with_capacity(a.readings);
    for i in 0..a.readings {
        let (m, h) = match shape {
            Shape::MeterMajor => (i / h_count, i % h_count),
            Shape::HourMajor => (i % m_count, i / m_count),
        };
        items.push((m as u32, h as u32, rng.random_range(500..150_000)));
    }
    let batches: Vec<Vec<u8>> = items
        .chunks(BATCH)
        .map(|c| body(&fleet, &hours, c))
        .collect();
    // The plan: every batch once; a share again, half at the same moment, half a few posts
    // later; the corrections spread over the run.
    let mut jobs: Vec<Job> = Vec::new();
    let mut later: Vec<(usize, Job)> = Vec::new();
    let mut retried_items = 0usize;
    let mut retried = 0usize;
    let mut reposted_later = vec![false; batches.len()];
    for b in 0..batches.len() {
        let n = BATCH.min(a.readings - b * BATCH);
        if rng.random_bool(a.retry_share) {
            retried += 1;
            retried_items += n;
            if rng.random_bool(0.5) {
                jobs.push(Job::Twice(b));
                continue;
            }
            later.push((
                jobs.len() + rng.random_range(a.clients..=4 * a.clients),
                Job::Once(b),
            ));
            reposted_later[b] = true;
        }
        jobs.push(Job::Once(b));
    }
    // Corrections: posts of 100 readings of one batch each, with another value, once every
    // post of that batch was answered (so only of batches not sent again later).
    let candidates: Vec<usize> = (0..batches.len()).filter(|b| !reposted_later[*b]).collect();
    let n_corr_posts = a.corrections.div_ceil(CORRECTION_POST);
    let mut corrections: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut final_value: HashMap<(u32, u32), u64> = HashMap::new();
    let mut corrected_items = 0usize;
    for c in 0..n_corr_posts {
        let b = candidates[rng.random_range(0..candidates.len())];
        let chunk = &items[b * BATCH..(b * BATCH + BATCH).min(items.len())];
        let want = CORRECTION_POST.min(a.corrections - c * CORRECTION_POST);
        let mut picked: Vec<(u32, u32, u64)> = Vec::new();
        for _ in 0..want * 4 {
            if picked.len() == want {
                break;
            }
            let it = chunk[rng.random_range(0..chunk.len())];
            if final_value.contains_key(&(it.0, it.1)) {
                continue;
            }
            let v = it.2 + rng.random_range(1..5_000);
            final_value.insert((it.0, it.1), v);
            picked.push((it.0, it.1, v));
        }
        corrected_items += picked.len();
        corrections.push((b, body(&fleet, &hours, &picked)));
    }
    for (c, (b, _)) in corrections.iter().enumerate() {
        let pos = jobs
            .iter()
            .position(|j| matches!(j, Job::Once(x) | Job::Twice(x) if *x == *b))
            .unwrap_or(0);
        later.push((pos + rng.random_range(1..=8 * a.clients), Job::Correct(c)));
    }
    later.sort_by_key(|l| std::cmp::Reverse(l.0));
    for (at, j) in later {
        jobs.insert(at.min(jobs.len()), j);
    }
    // Expected sums, corrections applied.
    let factors = energy_ingest::factors(&store).await?;
    let mut expected_sum = 0.0f64;
    let mut expected_carbon = 0.0f64;
    for it in &items {
        let v = *final_value.get(&(it.0, it.1)).unwrap_or(&it.2) as f64 / 1000.0;
        let ts = first_hour + i64::from(it.1) * HOUR_MS;
        let f = energy_ingest::factor_for(
            &factors.0,
            &factors.1,
            fleet.meters[it.0 as usize].2,
            rules::local_day(ts),
        );
        expected_sum += v;
        expected_carbon += v * f;
    }
    let gen_time = t_gen.elapsed();

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .pool_max_idle_per_host(2 * a.clients + 2)
        .build()?;
    let batches = Arc::new(batches);
    let corrections = Arc::new(corrections);
    let done: Arc<Vec<AtomicBool>> =
        Arc::new((0..batches.len()).map(|_| AtomicBool::new(false)).collect());
    let jobs = Arc::new(jobs);
    let next = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let endpoint = format!("{base}/api/v1/readings");
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..a.clients {
        let (client, batches, corrections, done, jobs, next, seen) = (
            client.clone(),
            batches.clone(),
            corrections.clone(),
            done.clone(),
            jobs.clone(),
            next.clone(),
            seen.clone(),
        );
        let (endpoint, secret) = (endpoint.clone(), key.secret.clone());
        clients.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i).copied() else {
                    break;
                };
                let send = |body: &[u8], label: String| {
                    let (client, endpoint, secret, seen) = (&client, &endpoint, &secret, &seen);
                    let body = body.to_vec();
                    async move { post(client, endpoint, secret, &body, seen, &label).await }
                };
                match job {
                    Job::Once(b) => {
                        send(&batches[b], format!("batch {b}")).await;
                        done[b].store(true, Ordering::Release);
                    }
                    Job::Twice(b) => {
                        tokio::join!(
                            send(&batches[b], format!("batch {b}")),
                            send(&batches[b], format!("batch {b} (again)"))
                        );
                        done[b].store(true, Ordering::Release);
                    }
                    Job::Correct(c) => {
                        let (b, body) = &corrections[c];
                        while !done[*b].load(Ordering::Acquire) {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        send(body, format!("correction {c}")).await;
                    }
                }
            }
        });
    }
    while clients.join_next().await.is_some() {}
    let wall = started.elapsed();

    // Checks.
    let pool = store.pool();
    let src = format!("api:{SOURCE}");
    let (stored, stored_sum): (i64, f64) =
        sqlx::query_as("SELECT COUNT(*), COALESCE(SUM(value), 0) FROM readings WHERE source = $1")
            .bind(&src)
            .fetch_one(pool)
            .await?;
    let all_readings: f64 = sqlx::query_scalar("SELECT COALESCE(SUM(value), 0) FROM readings")
        .fetch_one(pool)
        .await?;
    let sum_of = |table: &'static str, col: &'static str| {
        let sql = format!("SELECT COALESCE(SUM({col}), 0) FROM {table}");
        async move { sqlx::query_scalar::<_, f64>(&sql).fetch_one(pool).await }
    };
    let meter_day = sum_of("energy_meter_day", "value").await?;
    let entity_month = sum_of("energy_entity_month", "value").await?;
    let district_hour = sum_of("energy_district_hour", "value").await?;
    let district_month = sum_of("energy_district_month", "value").await?;
    let district_carbon = sum_of("energy_district_month", "carbon_kg").await?;
    let logged: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM reading_corrections WHERE source = $1")
            .bind(&src)
            .fetch_one(pool)
            .await?;
    let db_size = db_size(&store).await;

    let _ = stop_tx.send(());
    state.live.shutdown();
    let _ = server.await;
    store.close().await;

    let seen = std::mem::take(&mut *seen.lock().expect("not poisoned"));
    let mut lat = seen.latencies.clone();
    lat.sort();
    let rate = seen.created as f64 / wall.as_secs_f64().max(1e-9);
    let goal = match store.kind {
        DbKind::Sqlite => 100_000.0,
        DbKind::Postgres => 200_000.0,
    };
    println!();
    println!(
        "CityLink readings ingest · {kind} · {} · {} readings ({} meters × {} hours) in {} batches of {} · {} clients",
        shape.name(),
        a.readings,
        m_count,
        h_count,
        batches.len(),
        BATCH,
        a.clients
    );
    println!(
        "setup {:.2} s (fresh database, {} entities and {} meters in SQL, key); bodies generated in {:.2} s",
        setup_time.as_secs_f64(),
        fleet.entities.len(),
        m_count,
        gen_time.as_secs_f64()
    );
    println!();
    println!("{:<46} {:>14} {:>10}  verdict", "figure", "value", "goal");
    println!(
        "{:<46} {:>14.0} {:>10.0}  {}",
        "readings created/s (wall clock, whole run)",
        rate,
        goal,
        if rate >= goal { "ok" } else { "MISSED" }
    );
    println!("{:<46} {:>14.2}", "wall clock s", wall.as_secs_f64());
    println!(
        "{:<46} {:>14}",
        "posts (re-posts and corrections included)", seen.posts
    );
    println!(
        "{:<46} {:>14.1}",
        "post latency p50 ms",
        ms(pct(&lat, 50.0))
    );
    println!(
        "{:<46} {:>14.1}",
        "post latency p99 ms",
        ms(pct(&lat, 99.0))
    );
    println!(
        "{:<46} {:>14.1}",
        "post latency max ms",
        ms(lat.last().copied().unwrap_or_default())
    );
    if let Some(size) = db_size {
        println!("{:<46} {:>14.1}", "database size MB", size as f64 / 1e6);
    }
    println!(
        "{:<46} {:>14}",
        "server errors retried by the clients", seen.server_errors
    );
    println!();
    let unique = a.readings as i64;
    let checks: Vec<(String, bool)> = vec![
        (
            format!("readings stored = unique (meter, hour) sent: {stored} = {unique}"),
            stored == unique,
        ),
        (
            format!("created answers = unique readings: {} = {unique}", seen.created),
            seen.created == unique as u64,
        ),
        (
            format!(
                "re-posted batches ({retried}, {retried_items} readings) answered unchanged: {}",
                seen.unchanged
            ),
            seen.unchanged == retried_items as u64,
        ),
        (
            format!(
                "corrections sent {corrected_items} = answered corrected {} = logged {logged}",
                seen.corrected
            ),
            seen.corrected == corrected_items as u64 && logged == corrected_items as i64,
        ),
        (
            format!("Σ readings = Σ values sent, corrections applied: {stored_sum:.3} = {expected_sum:.3}"),
            close(stored_sum, expected_sum),
        ),
        (
            format!(
                "Σ energy_meter_day, energy_entity_month, energy_district_hour = Σ readings: \
                 {meter_day:.3}, {entity_month:.3}, {district_hour:.3} = {all_readings:.3}"
            ),
            close(meter_day, all_readings)
                && close(entity_month, all_readings)
                && close(district_hour, all_readings),
        ),
        (
            format!("Σ energy_district_month = Σ readings: {district_month:.3} = {all_readings:.3}"),
            close(district_month, all_readings),
        ),
        (
            format!(
                "Σ energy_district_month carbon = Σ value × factor: {district_carbon:.3} = {expected_carbon:.3}"
            ),
            close(district_carbon, expected_carbon),
        ),
        (
            format!(
                "rejected items: {}; posts failed for good: {}",
                seen.rejected, seen.failed
            ),
            seen.rejected == 0 && seen.failed == 0,
        ),
    ];
    let mut ok = true;
    for (what, pass) in &checks {
        ok &= pass;
        println!("check  {:<4} {what}", if *pass { "ok" } else { "FAIL" });
    }
    println!();
    let summary = format!(
        "{kind} {:<34} {:>9.0} readings/s (goal {:.0}: {}), p50 {:.0} ms, p99 {:.0} ms, wall {:.1} s, checks {}",
        shape.name(),
        rate,
        goal,
        if rate >= goal { "ok" } else { "MISSED" },
        ms(pct(&lat, 50.0)),
        ms(pct(&lat, 99.0)),
        wall.as_secs_f64(),
        if ok { "ok" } else { "FAILED" }
    );
    Ok((ok, summary))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-8 * a.abs().max(b.abs()).max(1.0)
}

/// Posts one body, retrying 5xx and connection errors.
async fn post(
    client: &reqwest::Client,
    endpoint: &str,
    secret: &str,
    body: &[u8],
    seen: &Mutex<Seen>,
    label: &str,
) {
    let record = |answer: Option<Answer>, took: Duration, last: bool| {
        let mut s = seen.lock().expect("not poisoned");
        s.posts += 1;
        match answer {
            Some(a) => {
                s.latencies.push(took);
                s.created += a.created;
                s.unchanged += a.unchanged;
                s.corrected += a.corrected;
                s.rejected += a.rejected;
            }
            None => {
                s.server_errors += 1;
                s.failed += usize::from(last);
            }
        }
    };
    post_retrying(client, endpoint, secret, body, label, ATTEMPTS, record).await
}

// ---------------------------------------------------------------------------------------------
// 2. Dashboard queries at scale
// ---------------------------------------------------------------------------------------------

/// A dashboard query: its name and one run with parameters chosen by the run number; the
/// number of rows it returned.
type QueryFn = Box<
    dyn Fn(
            usize,
        )
            -> std::pin::Pin<Box<dyn std::future::Future<Output = sqlx::Result<usize>> + Send>>
        + Send
        + Sync,
>;

fn query_fn<F, Fut>(f: F) -> QueryFn
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = sqlx::Result<usize>> + Send + 'static,
{
    Box::new(move |i| Box::pin(f(i)))
}

async fn query_run(a: &Args) -> Res<bool> {
    let t_setup = Instant::now();
    let state = fresh_state(&a.url).await?;
    let store = state.store.clone();
    let kind = kind_name(store.kind);
    let now = app::db::now_ms();
    let fleet = setup(&store, a.meters, now).await?;
    let setup_time = t_setup.elapsed();
    let n = a.query_readings / fleet.meters.len() * fleet.meters.len();
    let t_fill = Instant::now();
    let steps = bulk_fill(&store, n, fleet.meters.len(), now).await?;
    let fill_time = t_fill.elapsed();
    let pool = store.pool().clone();
    let one = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query_scalar::<_, f64>(sql).fetch_one(&pool).await }
    };
    let (readings_count, readings_sum): (i64, f64) =
        sqlx::query_as("SELECT COUNT(*), COALESCE(SUM(value), 0) FROM readings")
            .fetch_one(&pool)
            .await?;
    let meter_day = one("SELECT COALESCE(SUM(value), 0) FROM energy_meter_day").await?;
    let entity_hour = one("SELECT COALESCE(SUM(value), 0) FROM energy_entity_hour").await?;
    let district_hour = one("SELECT COALESCE(SUM(value), 0) FROM energy_district_hour").await?;
    let district_month = one("SELECT COALESCE(SUM(value), 0) FROM energy_district_month").await?;
    let size = db_size(&store).await;

    // The parameters: the last full hour, today, this and last month, this year.
    let last_hour = rules::hour_start(now) - HOUR_MS;
    let today = rules::local_day(last_hour);
    let month = rules::month_of_day(today);
    let prev_month = rules::month_of_day(rules::month_first_day(month) - 1);
    let (year, _, _) = rules::civil(today);
    let year_start = rules::days_from_civil(year, 1, 1);
    let year_end = rules::days_from_civil(year + 1, 1, 1);

    let meter_ids: Arc<Vec<i64>> = Arc::new(fleet.meters.iter().map(|m| m.0).collect());
    let electricity: Arc<Vec<(i64, i64)>> = Arc::new(
        fleet
            .meters
            .iter()
            .filter(|m| m.2 == EnergyType::Electricity)
            .map(|m| (m.0, m.1))
            .collect(),
    );
    let spread = |i: usize, len: usize| (i * 7919) % len.max(1);

    let mut queries: Vec<(&str, QueryFn)> = Vec::new();
    {
        let pool = pool.clone();
        queries.push((
            "city: 30 days daily by type (district_day)",
            query_fn(move |_| {
                let pool = pool.clone();
                async move {
                    sqlx::query_as::<_, (i64, String, f64, f64)>(
                        "SELECT day, energy_type, SUM(value), SUM(carbon_kg) FROM energy_district_day \
                         WHERE day >= $1 AND day <= $2 GROUP BY day, energy_type ORDER BY day, energy_type",
                    )
                    .bind(today - 29)
                    .bind(today)
                    .fetch_all(&pool)
                    .await
                    .map(|r| r.len())
                }
            }),
        ));
    }
    {
        let pool = pool.clone();
        queries.push((
            "city: month vs last by district (district_month)",
            query_fn(move |_| {
                let pool = pool.clone();
                async move {
                    sqlx::query_as::<_, (String, String, i64, f64, f64)>(
                        "SELECT district_code, energy_type, month, value, carbon_kg FROM energy_district_month \
                         WHERE month IN ($1, $2) ORDER BY district_code, energy_type, month",
                    )
                    .bind(prev_month)
                    .bind(month)
                    .fetch_all(&pool)
                    .await
                    .map(|r| r.len())
                }
            }),
        ));
    }
    {
        let pool = pool.clone();
        queries.push((
            "district: 7 days hourly by type (district_hour)",
            query_fn(move |i| {
                let pool = pool.clone();
                async move {
                    sqlx::query_as::<_, (i64, String, f64)>(
                        "SELECT hour, energy_type, value FROM energy_district_hour \
                         WHERE district_code = $1 AND hour >= $2 AND hour <= $3 ORDER BY hour, energy_type",
                    )
                    .bind(DISTRICTS[i % DISTRICTS.len()])
                    .bind(last_hour - (7 * 24 - 1) * HOUR_MS)
                    .bind(last_hour)
                    .fetch_all(&pool)
                    .await
                    .map(|r| r.len())
                }
            }),
        ));
    }
    {
        let (pool, electricity) = (pool.clone(), electricity.clone());
        queries.push((
            "heatmap: entity 28 days × 24 h (entity_hour)",
            query_fn(move |i| {
                let (pool, electricity) = (pool.clone(), electricity.clone());
                async move {
                    let entity = electricity[spread(i, electricity.len())].1;
                    let (since, until) = (rules::day_start(today - 27), rules::day_start(today + 1));
                    let sql = format!(
                        "SELECT hour, value FROM energy_entity_hour \
                         WHERE {} AND entity_id = $1 AND energy_type = $2 AND hour >= $3 AND hour < $4 ORDER BY hour",
                        app::db::energy::key_days("hour", since, until)
                    );
                    sqlx::query_as::<_, (i64, f64)>(&sql)
                    .bind(entity)
                    .bind("electricity")
                    .bind(since)
                    .bind(until)
                    .fetch_all(&pool)
                    .await
                    .map(|r| r.len())
                }
            }),
        ));
    }
    {
        let pool = pool.clone();
        queries.push((
            "top 10 electricity of a month (entity_month)",
            query_fn(move |i| {
                let pool = pool.clone();
                async move {
                    sqlx::query_as::<_, (i64, String, String, String, String, f64, f64)>(
                        "SELECT e.id, e.code, e.name_zh, e.name_en, e.district_code, m.value, m.carbon_kg \
                         FROM energy_entity_month m JOIN energy_entities e ON e.id = m.entity_id \
                         WHERE m.energy_type = $1 AND m.month = $2 ORDER BY m.value DESC LIMIT 10",
                    )
                    .bind("electricity")
                    .bind(if i % 2 == 0 { month } else { prev_month })
                    .fetch_all(&pool)
                    .await
                    .map(|r| r.len())
                }
            }),
        ));
    }
    {
        let (pool, meter_ids) = (pool.clone(), meter_ids.clone());
        queries.push((
            "meter: 7 days hourly (readings)",
            query_fn(move |i| {
                let (pool, meter_ids) = (pool.clone(), meter_ids.clone());
                async move {
                    let (since, until) = (last_hour - (7 * 24 - 1) * HOUR_MS, last_hour + 1);
                    let sql = format!(
                        "SELECT ts, value FROM readings WHERE {} AND meter_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts",
                        app::db::energy::key_days("ts", since, until)
                    );
                    sqlx::query_as::<_, (i64, f64)>(&sql)
                    .bind(meter_ids[spread(i, meter_ids.len())])
                    .bind(since)
                    .bind(until)
                    .fetch_all(&pool)
                    .await
                    .map(|r| r.len())
                }
            }),
        ));
    }
    {
        let (pool, meter_ids) = (pool.clone(), meter_ids.clone());
        queries.push((
            "meter: days of the year (meter_day)",
            query_fn(move |i| {
                let (pool, meter_ids) = (pool.clone(), meter_ids.clone());
                async move {
                    sqlx::query_as::<_, (i64, f64)>(
                        "SELECT day, value FROM energy_meter_day WHERE meter_id = $1 AND day >= $2 AND day < $3 ORDER BY day",
                    )
                    .bind(meter_ids[spread(i, meter_ids.len())])
                    .bind(year_start)
                    .bind(year_end)
                    .fetch_all(&pool)
                    .await
                    .map(|r| r.len())
                }
            }),
        ));
    }

    let goal = 20.0;
    let goal_size = match store.kind {
        DbKind::Sqlite => 10_000_000,
        DbKind::Postgres => 50_000_000,
    };
    println!();
    println!(
        "CityLink energy dashboards · {kind} · {} readings ({} meters × {} hours, {:.0} days) · {} runs after {} warm-ups",
        readings_count,
        fleet.meters.len(),
        n / fleet.meters.len(),
        (n / fleet.meters.len()) as f64 / 24.0,
        a.runs,
        a.warmup
    );
    println!(
        "setup {:.2} s; bulk load (set-based SQL, not the ingest path) {:.1} s{}",
        setup_time.as_secs_f64(),
        fill_time.as_secs_f64(),
        size.map(|s| format!("; database {:.0} MB", s as f64 / 1e6))
            .unwrap_or_default()
    );
    for (step, d) in &steps {
        println!("  {:<44} {:>8.1} s", step, d.as_secs_f64());
    }
    if (readings_count as usize) < goal_size {
        println!(
            "note: the goal is stated at {goal_size} readings on {kind}; this run has {readings_count}"
        );
    }
    println!();
    println!(
        "{:<50} {:>6} {:>8} {:>8} {:>8} {:>6}  verdict",
        "query", "rows", "p50 ms", "p95 ms", "max ms", "goal"
    );
    let mut slowest = 0.0f64;
    let mut failed = false;
    for (name, q) in &queries {
        let mut rows = 0;
        for i in 0..a.warmup {
            rows = q(i).await?;
        }
        let mut times = Vec::with_capacity(a.runs);
        for i in 0..a.runs {
            let t = Instant::now();
            rows = q(a.warmup + i).await?;
            times.push(t.elapsed());
        }
        times.sort();
        let p95 = ms(pct(&times, 95.0));
        slowest = slowest.max(p95);
        if rows == 0 {
            failed = true;
        }
        println!(
            "{:<50} {:>6} {:>8.2} {:>8.2} {:>8.2} {:>6.0}  {}",
            name,
            rows,
            ms(pct(&times, 50.0)),
            p95,
            ms(times.last().copied().unwrap_or_default()),
            goal,
            if p95 <= goal { "ok" } else { "MISSED" }
        );
    }
    println!();
    state.live.shutdown();
    store.close().await;
    let checks = vec![
        (
            format!("readings loaded: {readings_count} = {n}"),
            readings_count == n as i64,
        ),
        (
            format!(
                "Σ readings = Σ energy_meter_day = Σ energy_entity_hour = Σ energy_district_hour: \
                 {readings_sum:.3} = {meter_day:.3} = {entity_hour:.3} = {district_hour:.3}"
            ),
            close(readings_sum, meter_day)
                && close(readings_sum, entity_hour)
                && close(readings_sum, district_hour),
        ),
        (
            format!(
                "Σ readings = Σ energy_district_month: {readings_sum:.3} = {district_month:.3}"
            ),
            close(readings_sum, district_month),
        ),
        ("every query returned rows".to_string(), !failed),
    ];
    let mut ok = true;
    for (what, pass) in &checks {
        ok &= pass;
        println!("check  {:<4} {what}", if *pass { "ok" } else { "FAIL" });
    }
    println!(
        "slowest p95 {:.2} ms against {goal:.0} ms: {}",
        slowest,
        if slowest <= goal { "ok" } else { "MISSED" }
    );
    println!();
    Ok(ok)
}
