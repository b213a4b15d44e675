//! `bench-alerts`: load benchmark of the Sky Eye alert API, over HTTP, against the real app.
//!
//! ```text
//! bench-alerts --database-url URL [--alerts 200000] [--clients 4] [--cameras 2000]
//!              [--batch 1000] [--retry-share 0.1]
//! ```
//!
//! Starts the whole application in-process (`build_state` + `router`, served by axum on
//! 127.0.0.1 at a free port) on a fresh database: the SQLite file is deleted first, the
//! PostgreSQL database named in the URL is dropped and created again. Demo data is off and
//! the per-key rate limit is out of the way. Then, all through HTTP:
//!
//! 1. one key for the public security bureau (psb) registers `--cameras` cameras with
//!    heartbeats (`POST /api/v1/cameras/heartbeat`, name and position inside the grids);
//! 2. `--alerts` alerts (random cameras and types, times within the last hour, 1 % with a
//!    snapshot) are posted in batches of `--batch` by `--clients` concurrent clients;
//! 3. about `--retry-share` of the batches are posted again, as a client does when an
//!    acknowledgement is lost: half of them at the same moment as the original (two requests
//!    in flight), half a little later.
//!
//! It prints the accepted alerts per second (wall clock over the whole run, retries
//! included) and the p50 / p99 latency of one batch post, then checks in the database that
//! nothing was lost or stored twice and that incidents account for every alert. It exits
//! non-zero when a check fails. Goals on a 2-core machine: 10,000 alerts/s on SQLite,
//! 20,000 on PostgreSQL (a missed goal is reported, not an error).
use app::db::{skyeye, DbKind};
use app::state::Config;
use base64::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use citylink_server::bench::{fresh_database, leptos_options, ms, pct, post_retrying, Res};

const SOURCE: &str = "bench";
/// Alert types of the demo reference data that analytics raise (camera health ones excluded),
/// with their weights.
const TYPES: [(&str, u32); 7] = [
    ("illegal_parking", 40),
    ("street_vending", 22),
    ("garbage_overflow", 14),
    ("road_obstruction", 8),
    ("crowding", 8),
    ("smoke_fire", 2),
    ("intrusion", 6),
];
/// Server errors (5xx, connection failures) a client retries a post through.
const ATTEMPTS: u32 = 4;

struct Args {
    url: String,
    alerts: usize,
    clients: usize,
    cameras: usize,
    batch: usize,
    retry_share: f64,
}

fn usage() -> ! {
    eprintln!(
        "usage: bench-alerts --database-url URL [--alerts 200000] [--clients 4] [--cameras 2000] \
         [--batch 1000] [--retry-share 0.1]"
    );
    std::process::exit(2)
}

fn args() -> Args {
    let mut a = Args {
        url: String::new(),
        alerts: 200_000,
        clients: 4,
        cameras: 2000,
        batch: 1000,
        retry_share: 0.1,
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
        // Numbers may be written 200_000.
        fn num<T: std::str::FromStr>(v: String) -> T {
            v.replace('_', "").parse().unwrap_or_else(|_| usage())
        }
        match key.as_str() {
            "--database-url" => a.url = val(),
            "--alerts" => a.alerts = num(val()),
            "--clients" => a.clients = num(val()),
            "--cameras" => a.cameras = num(val()),
            "--batch" => a.batch = num(val()),
            "--retry-share" => a.retry_share = num(val()),
            _ => usage(),
        }
    }
    if a.url.is_empty() {
        a.url = std::env::var("DATABASE_URL").unwrap_or_else(|_| usage());
    }
    if a.alerts == 0
        || a.clients == 0
        || a.cameras == 0
        || !(1..=app::db::ingest::MAX_BATCH).contains(&a.batch)
        || !(0.0..=1.0).contains(&a.retry_share)
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
            eprintln!("bench-alerts: {e}");
            std::process::exit(1);
        }
    }
}

/// One planned post: a batch, posted once, or twice at the same moment.
#[derive(Clone, Copy)]
enum Job {
    Once(usize),
    Twice(usize),
}

#[derive(serde::Deserialize)]
struct Answer {
    accepted: u64,
    duplicates: u64,
    rejected: u64,
}

/// What the clients saw.
#[derive(Default)]
struct Seen {
    latencies: Vec<Duration>,
    /// Per batch: (created, duplicates, rejected) summed over its posts.
    per_batch: Vec<(u64, u64, u64)>,
    posts: usize,
    /// Posts that failed for good (after `ATTEMPTS`), and 5xx / connection errors retried.
    failed: usize,
    server_errors: usize,
}

async fn run(a: Args) -> Res<bool> {
    fresh_database(&a.url).await?;
    let config = Config {
        database_url: a.url.clone(),
        demo: Some(false),
        api_rate: 100_000,
        ..Config::default()
    };
    let state = citylink_server::build_state(config, leptos_options()).await?;
    let store = state.store.clone();
    let kind = match store.kind {
        DbKind::Sqlite => "sqlite",
        DbKind::Postgres => "postgres",
    };
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

    // The key, and the cameras registered through heartbeats.
    let psb: i64 = sqlx::query_scalar("SELECT id FROM departments WHERE code = 'psb'")
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
        psb,
        &["alerts".into(), "heartbeats".into()],
    )
    .await
    .map_err(|e| format!("key: {e:?}"))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(2 * a.clients + 2)
        .build()?;
    let mut rng = StdRng::seed_from_u64(20261124);
    let codes: Vec<String> = (1..=a.cameras).map(|k| format!("BENCH-{k:05}")).collect();
    let t = Instant::now();
    for chunk in codes.chunks(app::db::ingest::MAX_BATCH) {
        use app::domain::grid::{COLS, ORIGIN_LAT, ORIGIN_LON, ROWS, STEP};
        let beats: Vec<serde_json::Value> = chunk
            .iter()
            .map(|code| {
                json!({
                    "camera": code,
                    "status": "online",
                    "name": format!("压测 {code}"),
                    "lon": ORIGIN_LON + rng.random_range(0.1..COLS as f64 - 0.1) * STEP,
                    "lat": ORIGIN_LAT + rng.random_range(0.1..ROWS as f64 - 0.1) * STEP,
                })
            })
            .collect();
        let r = client
            .post(format!("{base}/api/v1/cameras/heartbeat"))
            .bearer_auth(&key.secret)
            .json(&json!({ "heartbeats": beats }))
            .send()
            .await?;
        let status = r.status();
        let v: serde_json::Value = r.json().await?;
        let registered = v["results"]
            .as_array()
            .map(|r| r.iter().filter(|i| i["status"] == "registered").count())
            .unwrap_or(0);
        if !status.is_success() || registered != chunk.len() {
            return Err(format!(
                "registering cameras: {status}, {registered} of {} registered",
                chunk.len()
            )
            .into());
        }
    }
    let register_time = t.elapsed();

    // The alerts, serialised before the clock starts.
    let now = chrono::Utc::now();
    let total_w: u32 = TYPES.iter().map(|t| t.1).sum();
    let snapshot = base64::engine::general_purpose::STANDARD.encode(app::photos::TINY_PNG);
    let batches: Vec<(usize, Vec<u8>)> = (0..a.alerts.div_ceil(a.batch))
        .map(|b| {
            let n = a.batch.min(a.alerts - b * a.batch);
            let items: Vec<serde_json::Value> = (0..n)
                .map(|i| {
                    let mut w = rng.random_range(0..total_w);
                    let ty = TYPES
                        .iter()
                        .find(|t| {
                            if w < t.1 {
                                true
                            } else {
                                w -= t.1;
                                false
                            }
                        })
                        .map(|t| t.0)
                        .unwrap_or(TYPES[0].0);
                    let at = now - chrono::Duration::milliseconds(rng.random_range(0..3_600_000));
                    let mut item = json!({
                        "external_id": format!("bench-{b:06}-{i:04}"),
                        "camera": codes[rng.random_range(0..codes.len())],
                        "type": ty,
                        "at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        "confidence": rng.random_range(50..100) as f64 / 100.0,
                    });
                    if rng.random_bool(0.01) {
                        item["snapshot"] = json!(snapshot);
                    }
                    item
                })
                .collect();
            let body = serde_json::to_vec(&json!({ "alerts": items })).expect("JSON");
            (n, body)
        })
        .collect();
    // The plan: every batch once; a share of them again, half at the same moment as the
    // original, half a few posts later.
    let mut jobs: Vec<Job> = Vec::new();
    let mut later: Vec<(usize, usize)> = Vec::new();
    let mut retried = 0usize;
    let mut retried_items = 0usize;
    for (b, (n, _)) in batches.iter().enumerate() {
        if rng.random_bool(a.retry_share) {
            retried += 1;
            retried_items += n;
            if rng.random_bool(0.5) {
                jobs.push(Job::Twice(b));
                continue;
            }
            later.push((jobs.len() + rng.random_range(a.clients..=4 * a.clients), b));
        }
        jobs.push(Job::Once(b));
    }
    later.sort_unstable_by_key(|l| std::cmp::Reverse(l.0));
    for (at, b) in later {
        jobs.insert(at.min(jobs.len()), Job::Once(b));
    }

    let batches = Arc::new(batches);
    let jobs = Arc::new(jobs);
    let next = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Seen {
        per_batch: vec![(0, 0, 0); batches.len()],
        ..Seen::default()
    }));
    let endpoint = format!("{base}/api/v1/alerts");
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..a.clients {
        let (client, batches, jobs, next, seen) = (
            client.clone(),
            batches.clone(),
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
                let post = |b: usize| post(&client, &endpoint, &secret, &batches[b].1, &seen, b);
                match job {
                    Job::Once(b) => post(b).await,
                    Job::Twice(b) => {
                        tokio::join!(post(b), post(b));
                    }
                }
            }
        });
    }
    while clients.join_next().await.is_some() {}
    let wall = started.elapsed();

    // Checks, from what the clients saw and from the database.
    let seen = std::mem::take(&mut *seen.lock().expect("not poisoned"));
    let sent_unique: usize = batches.iter().map(|b| b.0).sum();
    let created: u64 = seen.per_batch.iter().map(|p| p.0).sum();
    let duplicates: u64 = seen.per_batch.iter().map(|p| p.1).sum();
    let rejected: u64 = seen.per_batch.iter().map(|p| p.2).sum();
    let once_each = seen
        .per_batch
        .iter()
        .zip(batches.iter())
        .all(|(p, b)| p.0 == b.0 as u64);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alerts WHERE source = $1")
        .bind(SOURCE)
        .fetch_one(store.pool())
        .await?;
    let twice: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT source, external_id FROM alerts \
         GROUP BY source, external_id HAVING COUNT(*) > 1) t",
    )
    .fetch_one(store.pool())
    .await?;
    let counted: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(i.alert_count), 0) AS BIGINT) FROM incidents i \
         JOIN alert_types t ON t.id = i.type_id WHERE t.health = FALSE",
    )
    .fetch_one(store.pool())
    .await?;
    let incidents: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM incidents i JOIN alert_types t ON t.id = i.type_id WHERE t.health = FALSE",
    )
    .fetch_one(store.pool())
    .await?;
    let miscounted: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM incidents i WHERE i.alert_count <> \
         (SELECT COUNT(*) FROM alerts a WHERE a.incident_id = i.id) \
         AND i.type_id IN (SELECT id FROM alert_types WHERE health = FALSE)",
    )
    .fetch_one(store.pool())
    .await?;
    let misfiled: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM alerts a JOIN incidents i ON i.id = a.incident_id \
         WHERE i.camera_id <> a.camera_id OR i.type_id <> a.type_id",
    )
    .fetch_one(store.pool())
    .await?;
    let snapshots: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alert_snapshots")
        .fetch_one(store.pool())
        .await?;

    let _ = stop_tx.send(());
    state.live.shutdown();
    let _ = server.await;
    store.close().await;

    // The report.
    let mut lat = seen.latencies.clone();
    lat.sort();
    let rate = created as f64 / wall.as_secs_f64().max(1e-9);
    let goal = match kind {
        "sqlite" => 10_000.0,
        _ => 20_000.0,
    };
    println!();
    println!(
        "CityLink alert bench · {kind} · {} alerts in {} batches of {} · {} clients · {} cameras",
        sent_unique,
        batches.len(),
        a.batch,
        a.clients,
        a.cameras
    );
    println!(
        "setup: {} cameras registered through the heartbeat API in {:.2} s",
        a.cameras,
        register_time.as_secs_f64()
    );
    println!();
    println!("{:<44} {:>14} {:>10}  verdict", "figure", "value", "goal");
    println!(
        "{:<44} {:>14.0} {:>10.0}  {}",
        "accepted alerts/s (wall clock, whole run)",
        rate,
        goal,
        if rate >= goal { "ok" } else { "MISSED" }
    );
    println!("{:<44} {:>14.2}", "wall clock s", wall.as_secs_f64());
    println!(
        "{:<44} {:>14}",
        "batch posts (retries included)", seen.posts
    );
    println!(
        "{:<44} {:>14.1}",
        "batch latency p50 ms",
        ms(pct(&lat, 50.0))
    );
    println!(
        "{:<44} {:>14.1}",
        "batch latency p99 ms",
        ms(pct(&lat, 99.0))
    );
    println!(
        "{:<44} {:>14.1}",
        "batch latency max ms",
        ms(lat.last().copied().unwrap_or_default())
    );
    println!("{:<44} {:>14}", "incidents (alerts grouped)", incidents);
    println!("{:<44} {:>14}", "snapshots stored", snapshots);
    println!(
        "{:<44} {:>14}",
        "server errors retried by the clients", seen.server_errors
    );
    println!();
    let checks: Vec<(String, bool)> = vec![
        (
            format!("alerts stored = unique external ids sent: {stored} = {sent_unique}"),
            stored == sent_unique as i64,
        ),
        (
            format!("(source, external_id) stored twice: {twice}"),
            twice == 0,
        ),
        (
            format!("sum(incidents.alert_count) = alerts stored: {counted} = {stored}"),
            counted == stored,
        ),
        (
            format!("incidents whose alert_count is not their alerts: {miscounted}"),
            miscounted == 0,
        ),
        (
            format!("alerts in an incident of another camera or type: {misfiled}"),
            misfiled == 0,
        ),
        (
            format!(
                "re-posted batches ({retried}, {retried_items} alerts) answered as duplicates: {duplicates}"
            ),
            duplicates == retried_items as u64,
        ),
        (
            format!("each alert created by exactly one post: {created} created"),
            once_each && created == sent_unique as u64,
        ),
        (
            format!("rejected items: {rejected}; posts failed for good: {}", seen.failed),
            rejected == 0 && seen.failed == 0,
        ),
    ];
    let mut ok = true;
    for (what, pass) in &checks {
        ok &= pass;
        println!("check  {:<4} {what}", if *pass { "ok" } else { "FAIL" });
    }
    println!();
    Ok(ok)
}

/// Posts one batch, retrying 5xx and connection errors.
async fn post(
    client: &reqwest::Client,
    endpoint: &str,
    secret: &str,
    body: &[u8],
    seen: &Mutex<Seen>,
    b: usize,
) {
    let record = |answer: Option<Answer>, took: Duration, last: bool| {
        let mut s = seen.lock().expect("not poisoned");
        s.posts += 1;
        match answer {
            Some(a) => {
                s.latencies.push(took);
                let p = &mut s.per_batch[b];
                p.0 += a.accepted;
                p.1 += a.duplicates;
                p.2 += a.rejected;
            }
            None => {
                s.server_errors += 1;
                s.failed += usize::from(last);
            }
        }
    };
    let label = format!("batch {b}");
    post_retrying(client, endpoint, secret, body, &label, ATTEMPTS, record).await
}
