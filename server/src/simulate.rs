//! The camera simulator: a fleet of video-analytics cameras that posts realistic alerts and
//! heartbeats through the real machine API (`POST /api/v1/alerts`,
//! `POST /api/v1/cameras/heartbeat`), so a demo is alive and load can be generated.
//!
//! Run on its own with `citylink simulate-cameras --rate 50 [--url http://127.0.0.1:3000]
//! [--key SECRET] [--seconds N]`, or inside `citylink serve` by setting
//! `CITYLINK_SIMULATE_RATE` (see `main.rs`).
//!
//! Keys and cameras:
//! - Without a key, the simulator needs the database: it creates one key per department that
//!   owns cameras (name "模拟器 simulator", source `simulator`, scopes alerts and heartbeats)
//!   and drives that department's cameras; it revokes these keys when it stops. A database
//!   without cameras gets simulated cameras `SIM-0001`… for the department that owns Sky Eye
//!   data.
//! - With a key, only that key is used. When the database is reachable and knows the key, the
//!   key's department's cameras are driven; otherwise the simulator registers its own cameras
//!   `SIM-0001`… through heartbeats (a heartbeat of an unknown camera with a name and a
//!   position inside the unit grids registers it).
//!
//! What it sends:
//! - Alerts, batched once a second: `--rate` per second on average over a day, shaped like
//!   street activity (busy by day, quiet at night; the type mix follows the hour: parking by
//!   day, vending in the evening, intrusion at night, smoke or fire rarely). About one camera
//!   in ten is noisy: its analytics misfire, repeating one type every few minutes, so grouping
//!   into incidents shows. Confidence 0.5 to 0.99; now and then a small generated snapshot
//!   (a PNG street scene with a detection box). External ids are `sim-<run>-<n>`, unique.
//! - Heartbeats: every camera every 60 s, so cameras stay online. Rarely a camera reports
//!   `tampered` for a few minutes, then `online` again. Cameras found offline at start stay
//!   silent (broken devices); cameras found tampered recover after a while.
//!
//! It honours 429 (waits `Retry-After`, then sends the same batch again: the API is
//! idempotent), retries a batch a few times on network errors or 5xx, and logs a line every
//! 10 s with what was sent, accepted, duplicated and rejected.
use app::db::skyeye::{self, KeyCheck};
use app::db::Store;
use base64::Engine;
use chrono::{FixedOffset, Timelike};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Source (integration name) of the keys the simulator creates.
pub const SOURCE: &str = "simulator";
/// Name of the keys the simulator creates.
pub const KEY_NAME: &str = "模拟器 simulator";
const HEARTBEAT_EVERY: Duration = Duration::from_secs(60);
const LOG_EVERY: Duration = Duration::from_secs(10);
/// Simulated cameras when there are none to drive.
const SIM_CAMERAS: usize = 48;
/// Attempts per batch on network errors and 5xx before it is given up.
const MAX_ATTEMPTS: u32 = 5;
/// Share of alerts from the noisy cameras, and how often a noisy camera repeats its type.
const NOISY_SHARE: f64 = 0.25;
const NOISY_REPEAT: f64 = 0.8;
/// Share of alerts carrying a snapshot (smoke or fire: half of them).
const SNAPSHOT_SHARE: f64 = 0.03;
/// Chance per heartbeat round (per key) that a camera starts reporting `tampered`.
const TAMPER_CHANCE: f64 = 0.04;

/// Alert types the simulated analytics detect, with the severity that colours their box.
const TYPES: [(&str, Severity); 7] = [
    ("illegal_parking", Severity::Minor),
    ("street_vending", Severity::Minor),
    ("garbage_overflow", Severity::Minor),
    ("road_obstruction", Severity::Major),
    ("crowding", Severity::Major),
    ("smoke_fire", Severity::Critical),
    ("intrusion", Severity::Major),
];

#[derive(Clone, Copy)]
enum Severity {
    Minor,
    Major,
    Critical,
}

/// Relative weights of `TYPES` at a local hour: parking by day, vending and crowds in the
/// evening, garbage in the morning, intrusion at night, smoke or fire rare at any time.
fn type_weights(hour: u32) -> [f64; 7] {
    let day = (7..=19).contains(&hour);
    let evening = (17..=22).contains(&hour);
    let night = hour <= 5 || hour >= 23;
    [
        if day {
            45.0
        } else if night {
            12.0
        } else {
            30.0
        },
        if evening {
            30.0
        } else if day {
            14.0
        } else {
            3.0
        },
        if (6..=10).contains(&hour) { 20.0 } else { 10.0 },
        8.0,
        if evening || (11..=13).contains(&hour) {
            12.0
        } else if night {
            2.0
        } else {
            6.0
        },
        1.0,
        if night { 10.0 } else { 2.0 },
    ]
}

/// Street activity by local hour; averages 1 over a day, so `--rate` is the daily mean.
const ACTIVITY: [f64; 24] = [
    0.30, 0.25, 0.20, 0.20, 0.25, 0.40, 0.60, 1.00, 1.40, 1.50, 1.50, 1.50, 1.40, 1.40, 1.40, 1.40,
    1.50, 1.60, 1.50, 1.30, 1.10, 0.90, 0.60, 0.40,
];

fn activity(hour: u32) -> f64 {
    let mean = ACTIVITY.iter().sum::<f64>() / 24.0;
    ACTIVITY[hour as usize % 24] / mean
}

/// China Standard Time (no daylight saving), the clock the cameras stamp alerts with.
fn local_now() -> chrono::DateTime<FixedOffset> {
    let cst = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    chrono::Utc::now().with_timezone(&cst)
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Base URL of the server.
    pub url: String,
    /// Alerts per second (daily mean).
    pub rate: f64,
    /// Use this key only (its secret); otherwise keys are created in the database.
    pub key: Option<String>,
    /// Stop after this many seconds; otherwise run until stopped.
    pub seconds: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            url: "http://127.0.0.1:3000".into(),
            rate: 5.0,
            key: None,
            seconds: None,
        }
    }
}

/// Totals of a run.
#[derive(Debug, Default)]
pub struct Stats {
    pub sent: AtomicU64,
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected: AtomicU64,
    /// Batches given up after network errors or server errors.
    pub failed: AtomicU64,
    /// 429 answers waited out.
    pub throttled: AtomicU64,
    pub heartbeats: AtomicU64,
    /// The latest reason an item was rejected, for the log.
    last_rejection: Mutex<Option<String>>,
}

impl Stats {
    fn line(&self) -> (u64, u64, u64, u64, u64, u64, u64) {
        (
            self.sent.load(Relaxed),
            self.accepted.load(Relaxed),
            self.duplicates.load(Relaxed),
            self.rejected.load(Relaxed),
            self.failed.load(Relaxed),
            self.throttled.load(Relaxed),
            self.heartbeats.load(Relaxed),
        )
    }

    fn log(&self, what: &str) {
        let (sent, accepted, duplicates, rejected, failed, throttled, heartbeats) = self.line();
        let reason = self
            .last_rejection
            .lock()
            .map(|mut r| r.take())
            .unwrap_or_default();
        tracing::info!(
            sent,
            accepted,
            duplicates,
            rejected,
            failed,
            throttled,
            heartbeats,
            last_rejection = reason.as_deref().unwrap_or("-"),
            "simulator {what}"
        );
    }
}

struct Camera {
    code: String,
    /// Name and position, sent with each heartbeat so an unknown camera registers itself.
    register: Option<(String, f64, f64)>,
    /// The type a noisy camera keeps raising.
    noisy: Option<usize>,
}

/// One key and the cameras it speaks for.
struct Feed {
    label: String,
    secret: String,
    cameras: Vec<Camera>,
    /// Per camera: heartbeat rounds left reporting `tampered` (0: fine).
    tampered: Mutex<Vec<u32>>,
    /// Cleared when the key may not send heartbeats.
    heartbeats: AtomicBool,
    /// The key's id when this run created it (it is revoked when the run ends).
    created: Option<i64>,
}

impl Feed {
    fn new(label: String, secret: String, cameras: Vec<Camera>, tampered: Vec<u32>) -> Feed {
        Feed {
            label,
            secret,
            cameras,
            tampered: Mutex::new(tampered),
            heartbeats: AtomicBool::new(true),
            created: None,
        }
    }

    fn is_tampered(&self, i: usize) -> bool {
        self.tampered
            .lock()
            .map(|t| t.get(i).is_some_and(|r| *r > 0))
            .unwrap_or(false)
    }
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|v| *v).await;
}

/// Runs the simulator until `stop` turns true or `opts.seconds` have passed. `store` is the
/// database, when reachable: needed to create keys, and to find the cameras of a given key.
pub async fn run(
    opts: Options,
    store: Option<Store>,
    mut stop: watch::Receiver<bool>,
) -> Result<Arc<Stats>, Error> {
    if !(opts.rate.is_finite() && opts.rate > 0.0) {
        return Err("the rate must be a positive number of alerts per second".into());
    }
    let url = opts.url.trim_end_matches('/').to_string();
    let mut rng = StdRng::from_os_rng();
    let run_id = format!("{:08x}", rng.random::<u32>());
    let feeds: Vec<Arc<Feed>> = feeds(&opts, store.as_ref(), &mut rng)
        .await?
        .into_iter()
        .map(Arc::new)
        .collect();
    let cameras: usize = feeds.iter().map(|f| f.cameras.len()).sum();
    if cameras == 0 {
        return Err("no cameras to simulate".into());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .user_agent("citylink-simulator")
        .build()?;
    let stats = Arc::new(Stats::default());
    tracing::info!(
        url = %url,
        rate = opts.rate,
        keys = feeds.len(),
        cameras,
        run = %run_id,
        "camera simulator starting"
    );
    // The first heartbeat round comes first, so simulated cameras exist before their alerts.
    let mut beats = JoinSet::new();
    let first_rounds = Arc::new(AtomicUsize::new(0));
    for feed in &feeds {
        let (client, url, feed, stats) = (client.clone(), url.clone(), feed.clone(), stats.clone());
        let (stop, first_rounds) = (stop.clone(), first_rounds.clone());
        let seed = rng.random::<u64>();
        beats.spawn(async move {
            heartbeat_loop(client, url, feed, stats, stop, first_rounds, seed).await
        });
    }
    while first_rounds.load(Relaxed) < feeds.len() && !beats.is_empty() {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            _ = stopped(&mut stop) => break,
        }
    }
    let snapshots = Snapshots::new();
    let deadline = opts
        .seconds
        .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut carry = 0.0;
    let mut seq: u64 = 0;
    let mut last_log = Instant::now();
    let result = loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped(&mut stop) => break Ok(()),
            _ = async { match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            } } => break Ok(()),
        }
        if beats.is_empty() {
            break Err("the heartbeat tasks ended".into());
        }
        let now = local_now();
        carry += opts.rate * activity(now.hour()) * rng.random_range(0.7..1.3);
        let n = carry.floor();
        carry -= n;
        let mut per_feed: Vec<Vec<Value>> = vec![Vec::new(); feeds.len()];
        let weights = type_weights(now.hour());
        let at = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
        for _ in 0..n as usize {
            let Some((f, c)) = pick_camera(&feeds, &mut rng) else {
                break;
            };
            seq += 1;
            per_feed[f].push(alert(
                &feeds[f].cameras[c],
                &weights,
                &at,
                format!("sim-{run_id}-{seq}"),
                &snapshots,
                &mut rng,
            ));
        }
        let mut posts = JoinSet::new();
        for (f, items) in per_feed.into_iter().enumerate() {
            for chunk in items.chunks(app::db::ingest::MAX_BATCH) {
                let body = json!({ "alerts": chunk });
                let (client, url, stats) = (client.clone(), url.clone(), stats.clone());
                let (secret, stop) = (feeds[f].secret.clone(), stop.clone());
                stats.sent.fetch_add(chunk.len() as u64, Relaxed);
                posts.spawn(async move {
                    post(
                        &client,
                        &format!("{url}/api/v1/alerts"),
                        &secret,
                        &body,
                        &stats,
                        stop,
                    )
                    .await
                });
            }
        }
        let mut fatal = None;
        while let Some(r) = posts.join_next().await {
            if let Ok(Posted::Refused(status, why)) = r {
                fatal = Some(format!("alerts refused ({status}): {why}"));
            }
        }
        if let Some(e) = fatal {
            break Err(e.into());
        }
        if last_log.elapsed() >= LOG_EVERY {
            last_log = Instant::now();
            stats.log("running");
        }
    };
    beats.abort_all();
    stats.log("stopped");
    if let Some(store) = &store {
        retire_keys(store, &feeds).await;
    }
    result.map(|_| stats)
}

/// A camera for the next alert: a noisy one now and then, otherwise any; never a tampered one
/// (its picture is blocked).
fn pick_camera(feeds: &[Arc<Feed>], rng: &mut StdRng) -> Option<(usize, usize)> {
    let total: usize = feeds.iter().map(|f| f.cameras.len()).sum();
    let noisy: Vec<(usize, usize)> = if rng.random_bool(NOISY_SHARE) {
        feeds
            .iter()
            .enumerate()
            .flat_map(|(f, feed)| {
                feed.cameras
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.noisy.is_some())
                    .map(move |(c, _)| (f, c))
            })
            .collect()
    } else {
        Vec::new()
    };
    for _ in 0..8 {
        let (f, c) = if noisy.is_empty() {
            let mut k = rng.random_range(0..total);
            let mut f = 0;
            while k >= feeds[f].cameras.len() {
                k -= feeds[f].cameras.len();
                f += 1;
            }
            (f, k)
        } else {
            noisy[rng.random_range(0..noisy.len())]
        };
        if !feeds[f].is_tampered(c) {
            return Some((f, c));
        }
    }
    None
}

fn weighted(weights: &[f64], rng: &mut StdRng) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random_range(0.0..total);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

fn alert(
    cam: &Camera,
    weights: &[f64; 7],
    at: &str,
    external_id: String,
    snapshots: &Snapshots,
    rng: &mut StdRng,
) -> Value {
    let ty = match cam.noisy {
        Some(t) if rng.random_bool(NOISY_REPEAT) => t,
        _ => weighted(weights, rng),
    };
    // Misfiring analytics are unsure of themselves; the others mostly confident.
    let confidence: f64 = if cam.noisy.is_some() {
        rng.random_range(0.5..0.8)
    } else {
        0.99 - 0.49 * rng.random::<f64>().powi(2)
    };
    let mut a = json!({
        "external_id": external_id,
        "camera": cam.code,
        "type": TYPES[ty].0,
        "at": at,
        "confidence": (confidence * 100.0).round() / 100.0,
    });
    let share = if TYPES[ty].0 == "smoke_fire" {
        0.5
    } else {
        SNAPSHOT_SHARE
    };
    if rng.random_bool(share) {
        a["snapshot"] = Value::String(snapshots.0[ty].clone());
    }
    a
}

/// Heartbeats for every camera of `feed` every minute, with rare tampering episodes;
/// `first_rounds` counts the feeds whose first round is over.
async fn heartbeat_loop(
    client: reqwest::Client,
    url: String,
    feed: Arc<Feed>,
    stats: Arc<Stats>,
    mut stop: watch::Receiver<bool>,
    first_rounds: Arc<AtomicUsize>,
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut round = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped(&mut stop) => return,
        }
        if !feed.heartbeats.load(Relaxed) {
            continue;
        }
        let statuses: Vec<&'static str> = {
            let Ok(mut t) = feed.tampered.lock() else {
                return;
            };
            for r in t.iter_mut() {
                *r = r.saturating_sub(1);
            }
            if feed.cameras.len() >= 5 && rng.random_bool(TAMPER_CHANCE) {
                let i = rng.random_range(0..t.len());
                if t[i] == 0 {
                    t[i] = rng.random_range(3..=10);
                    tracing::info!(camera = %feed.cameras[i].code, "simulated camera tampered");
                }
            }
            t.iter()
                .map(|r| if *r > 0 { "tampered" } else { "online" })
                .collect()
        };
        let items: Vec<Value> = feed
            .cameras
            .iter()
            .zip(statuses)
            .map(|(c, status)| {
                let mut b = json!({ "camera": c.code, "status": status });
                if let Some((name, lon, lat)) = &c.register {
                    b["name"] = json!(name);
                    b["lon"] = json!(lon);
                    b["lat"] = json!(lat);
                }
                b
            })
            .collect();
        for chunk in items.chunks(app::db::ingest::MAX_BATCH) {
            let body = json!({ "heartbeats": chunk });
            let endpoint = format!("{url}/api/v1/cameras/heartbeat");
            match post(
                &client,
                &endpoint,
                &feed.secret,
                &body,
                &stats,
                stop.clone(),
            )
            .await
            {
                Posted::Done { accepted } => {
                    stats.heartbeats.fetch_add(accepted, Relaxed);
                }
                Posted::Refused(status, why) => {
                    tracing::warn!(key = %feed.label, %status, "heartbeats refused: {why}; sending alerts only");
                    feed.heartbeats.store(false, Relaxed);
                    break;
                }
                Posted::Failed | Posted::Stopped => {}
            }
        }
        if round == 0 {
            first_rounds.fetch_add(1, Relaxed);
        }
        round += 1;
    }
}

enum Posted {
    /// Answered 200 or 422; `accepted` items (for alerts, also counted into the stats).
    Done {
        accepted: u64,
    },
    /// The key may not do this (401, 403) or the request is malformed (400, 413).
    Refused(reqwest::StatusCode, String),
    /// Given up after network or server errors.
    Failed,
    Stopped,
}

/// Posts one batch, waiting out 429s and retrying network and server errors.
async fn post(
    client: &reqwest::Client,
    endpoint: &str,
    secret: &str,
    body: &Value,
    stats: &Stats,
    mut stop: watch::Receiver<bool>,
) -> Posted {
    let alerts = body.get("alerts").is_some();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let send = client.post(endpoint).bearer_auth(secret).json(body).send();
        let res = tokio::select! {
            r = send => r,
            _ = stopped(&mut stop) => return Posted::Stopped,
        };
        let wait = match res {
            Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                stats.throttled.fetch_add(1, Relaxed);
                let secs = r
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(1);
                // Throttling is not a failure: it does not use up an attempt.
                attempt -= 1;
                Duration::from_secs(secs.clamp(1, 60))
            }
            Ok(r) if r.status().is_success() || r.status().as_u16() == 422 => {
                let v: Value = r.json().await.unwrap_or(Value::Null);
                let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
                if alerts {
                    stats.accepted.fetch_add(n("accepted"), Relaxed);
                    stats.duplicates.fetch_add(n("duplicates"), Relaxed);
                    stats.rejected.fetch_add(n("rejected"), Relaxed);
                }
                if n("rejected") > 0 {
                    note_rejection(stats, &v);
                }
                return Posted::Done {
                    accepted: n("accepted"),
                };
            }
            Ok(r) if r.status().is_client_error() => {
                let status = r.status();
                let v: Value = r.json().await.unwrap_or(Value::Null);
                let why = v
                    .get("message")
                    .or_else(|| v.get("error"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                return Posted::Refused(status, why);
            }
            Ok(r) => {
                tracing::warn!(status = %r.status(), attempt, "server error; retrying the batch");
                Duration::from_secs(1 << attempt.min(4))
            }
            Err(e) => {
                tracing::warn!(error = %e, attempt, "request failed; retrying the batch");
                Duration::from_secs(1 << attempt.min(4))
            }
        };
        if attempt >= MAX_ATTEMPTS {
            stats.failed.fetch_add(1, Relaxed);
            return Posted::Failed;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped(&mut stop) => return Posted::Stopped,
        }
    }
}

fn note_rejection(stats: &Stats, v: &Value) {
    let first = v
        .get("results")
        .and_then(Value::as_array)
        .and_then(|r| {
            r.iter()
                .find(|i| i.get("status").and_then(Value::as_str) == Some("rejected"))
        })
        .map(|i| {
            let camera = i
                .get("camera")
                .or_else(|| i.get("external_id"))
                .and_then(Value::as_str)
                .unwrap_or("?");
            let code = i
                .pointer("/errors/0/code")
                .and_then(Value::as_str)
                .unwrap_or("?");
            format!("{camera}: {code}")
        });
    if let (Some(f), Ok(mut last)) = (first, stats.last_rejection.lock()) {
        *last = Some(f);
    }
}

// ---- Keys and cameras ----

/// The keys to use and the cameras each speaks for.
async fn feeds(
    opts: &Options,
    store: Option<&Store>,
    rng: &mut StdRng,
) -> Result<Vec<Feed>, Error> {
    if let Some(secret) = &opts.key {
        let key = match store {
            Some(s) => match skyeye::check_key(s, secret).await {
                Ok(KeyCheck::Valid(k)) => Some(k),
                Ok(KeyCheck::Revoked) => return Err("the key is revoked".into()),
                Ok(KeyCheck::Unknown) => {
                    tracing::warn!("the database does not know the key; simulating cameras SIM-…");
                    None
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot look the key up; simulating cameras SIM-…");
                    None
                }
            },
            None => None,
        };
        let (cams, tampered) = match (store, &key) {
            (Some(s), Some(k)) => department_cameras(s, k.department_id, rng).await?,
            _ => (Vec::new(), Vec::new()),
        };
        let label = key
            .as_ref()
            .map(|k| format!("key {}", k.id))
            .unwrap_or_else(|| "key".into());
        let feed = if cams.is_empty() {
            Feed::new(
                label,
                secret.clone(),
                sim_cameras(rng),
                vec![0; SIM_CAMERAS],
            )
        } else {
            Feed::new(label, secret.clone(), cams, tampered)
        };
        return Ok(vec![feed]);
    }
    let Some(store) = store else {
        return Err(
            "without --key the simulator creates keys in the database: set DATABASE_URL".into(),
        );
    };
    let mut depts: Vec<(i64, String)> = sqlx::query_as(
        "SELECT d.id, d.code FROM departments d WHERE d.active = TRUE \
         AND EXISTS (SELECT 1 FROM cameras c WHERE c.department_id = d.id) ORDER BY d.id",
    )
    .fetch_all(store.pool())
    .await?;
    let simulated = depts.is_empty();
    if simulated {
        let owner: Option<(i64, String)> = sqlx::query_as(
            "SELECT d.id, d.code FROM departments d JOIN settings s ON s.value = d.code \
             WHERE s.key = $1 AND d.active = TRUE",
        )
        .bind(skyeye::OWNER_SETTING)
        .fetch_optional(store.pool())
        .await?;
        depts.extend(owner);
    }
    if depts.is_empty() {
        return Err("no department owns cameras, and no Sky Eye owner department is set".into());
    }
    let actor = actor();
    let mut out = Vec::new();
    for (id, code) in depts {
        let (cams, tampered) = if simulated {
            (sim_cameras(rng), vec![0; SIM_CAMERAS])
        } else {
            department_cameras(store, id, rng).await?
        };
        if cams.is_empty() {
            continue;
        }
        let key = skyeye::create_key(
            store,
            None,
            &actor,
            KEY_NAME,
            SOURCE,
            id,
            &["alerts".into(), "heartbeats".into()],
        )
        .await
        .map_err(|e| format!("creating a key for department {code}: {e:?}"))?;
        tracing::info!(
            key = key.id,
            department = %code,
            cameras = cams.len(),
            "simulator key created"
        );
        out.push(Feed {
            created: Some(key.id),
            ..Feed::new(format!("key {}", key.id), key.secret, cams, tampered)
        });
    }
    Ok(out)
}

fn actor() -> app::db::audit::Actor {
    app::db::audit::Actor {
        username: Some("simulator".into()),
        ..Default::default()
    }
}

/// Revokes the keys this run created: their secrets were never shown to anyone, so nothing
/// else can use them, and a revoked key says in the key list that the simulator ran.
async fn retire_keys(store: &Store, feeds: &[Arc<Feed>]) {
    for id in feeds.iter().filter_map(|f| f.created) {
        let revoked = async {
            let mut tx = store.begin().await?;
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(app::db::now_ms())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            app::db::audit::record(
                &mut tx,
                &actor(),
                app::db::audit::Event {
                    action: "api_key.revoke",
                    target_type: "api_key",
                    target_id: Some(id.to_string()),
                    outcome: app::db::audit::OK,
                    detail: "simulator stopped".into(),
                },
            )
            .await?;
            tx.commit().await
        };
        match revoked.await {
            Ok(()) => tracing::info!(key = id, "simulator key revoked"),
            Err(e) => tracing::warn!(key = id, error = %e, "could not revoke the simulator key"),
        }
    }
}

/// The department's cameras that still work (offline ones are broken devices and stay
/// silent), with rounds left tampered for those tampered now.
async fn department_cameras(
    store: &Store,
    department_id: i64,
    rng: &mut StdRng,
) -> Result<(Vec<Camera>, Vec<u32>), Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT code, status FROM cameras WHERE department_id = $1 AND status <> 'offline' ORDER BY id",
    )
    .bind(department_id)
    .fetch_all(store.pool())
    .await?;
    let mut cams = Vec::new();
    let mut tampered = Vec::new();
    for (code, status) in rows {
        cams.push(Camera {
            code,
            register: None,
            noisy: None,
        });
        tampered.push(if status == "tampered" {
            rng.random_range(10..=30)
        } else {
            0
        });
    }
    make_noisy(&mut cams, rng);
    Ok((cams, tampered))
}

/// Cameras `SIM-0001`… spread over the unit grids, registered by their first heartbeat.
fn sim_cameras(rng: &mut StdRng) -> Vec<Camera> {
    use app::domain::grid::{COLS, ORIGIN_LAT, ORIGIN_LON, ROWS, STEP};
    let roads = app::db::demo_cases::ROADS;
    let mut cams: Vec<Camera> = (1..=SIM_CAMERAS)
        .map(|k| {
            let lon = ORIGIN_LON + rng.random_range(0.2..COLS as f64 - 0.2) * STEP;
            let lat = ORIGIN_LAT + rng.random_range(0.2..ROWS as f64 - 0.2) * STEP;
            let road = roads[rng.random_range(0..roads.len())];
            Camera {
                code: format!("SIM-{k:04}"),
                register: Some((
                    format!("{road}{}号杆（模拟）", 1 + k % 40),
                    (lon * 1e6).round() / 1e6,
                    (lat * 1e6).round() / 1e6,
                )),
                noisy: None,
            }
        })
        .collect();
    make_noisy(&mut cams, rng);
    cams
}

/// About one camera in ten misfires, each on a type of its own.
fn make_noisy(cams: &mut [Camera], rng: &mut StdRng) {
    if cams.len() < 3 {
        return;
    }
    let n = (cams.len() / 10).max(1);
    for _ in 0..n {
        let i = rng.random_range(0..cams.len());
        // Analytics misfire on parking, vending, crowds and shadows taken for intruders.
        cams[i].noisy = Some([0, 1, 4, 6][rng.random_range(0..4)]);
    }
}

// ---- Snapshots ----

/// One small PNG street scene per alert type, base64-encoded for the API.
struct Snapshots(Vec<String>);

impl Snapshots {
    fn new() -> Snapshots {
        Snapshots(
            (0..TYPES.len())
                .map(|t| base64::engine::general_purpose::STANDARD.encode(scene(t)))
                .collect(),
        )
    }
}

const W: u32 = 128;
const H: u32 = 72;

/// A 128×72 street scene (sky, buildings, pavement, road) with the detected object of type
/// `ty` and a detection box coloured by severity: a 16-colour PNG of under 5 KB.
fn scene(ty: usize) -> Vec<u8> {
    let object: [u8; 3] = match TYPES[ty].0 {
        "illegal_parking" => [40, 90, 200],
        "street_vending" => [230, 140, 40],
        "garbage_overflow" => [40, 140, 60],
        "road_obstruction" => [240, 90, 30],
        "crowding" => [120, 60, 140],
        "smoke_fire" => [150, 150, 150],
        _ => [150, 30, 30],
    };
    let boxc: [u8; 3] = match TYPES[ty].1 {
        Severity::Minor => [250, 220, 0],
        Severity::Major => [255, 140, 0],
        Severity::Critical => [230, 20, 20],
    };
    let palette: [[u8; 3]; 12] = [
        [170, 205, 235], // 0 sky
        [150, 190, 225], // 1 sky, lower
        [120, 120, 128], // 2 building
        [90, 92, 100],   // 3 building, dark
        [235, 215, 120], // 4 window
        [70, 72, 76],    // 5 road
        [230, 230, 230], // 6 lane mark
        [165, 160, 150], // 7 pavement
        object,          // 8 object
        boxc,            // 9 detection box
        [20, 20, 20],    // 10 time bar
        [250, 120, 20],  // 11 flame
    ];
    // The object's rectangle (x0, y0, x1, y1), by where such things are.
    let (x0, y0, x1, y1) = match TYPES[ty].0 {
        "illegal_parking" => (50, 52, 78, 62),
        "street_vending" => (30, 38, 48, 49),
        "garbage_overflow" => (90, 40, 98, 49),
        "road_obstruction" => (60, 54, 66, 64),
        "crowding" => (40, 38, 80, 49),
        "smoke_fire" => (70, 18, 92, 42),
        _ => (100, 36, 104, 48),
    };
    let building = |x: u32| 26 + (x / 14 * 7919 % 11);
    let pixel = |x: u32, y: u32| -> u8 {
        let on_box = (x + 2 == x0 || x == x1 + 2) && y + 2 >= y0 && y <= y1 + 2
            || (y + 2 == y0 || y == y1 + 2) && x + 2 >= x0 && x <= x1 + 2;
        if on_box {
            return 9;
        }
        let inside = (x0..=x1).contains(&x) && (y0..=y1).contains(&y);
        if inside {
            return match TYPES[ty].0 {
                // A plume over a flame.
                "smoke_fire" if y > y1 - 5 => 11,
                // People: a few figures, not a block.
                "crowding" if x % 4 == 3 || (y < y0 + 2 && x % 4 != 1) => {
                    background(x, y, building(x))
                }
                _ => 8,
            };
        }
        if y < 6 && x < 44 {
            return 10;
        }
        background(x, y, building(x))
    };
    png(W, H, &palette, pixel)
}

fn background(x: u32, y: u32, building_top: u32) -> u8 {
    if y >= 50 {
        if (57..=58).contains(&y) && (x / 8).is_multiple_of(2) {
            6
        } else {
            5
        }
    } else if y >= 44 {
        7
    } else if y >= building_top {
        if x.is_multiple_of(14) {
            3
        } else if (x % 14) % 4 == 2 && y % 4 == 1 {
            4
        } else {
            2
        }
    } else if y > 18 {
        1
    } else {
        0
    }
}

/// A 4-bit indexed PNG with stored (uncompressed) deflate blocks.
fn png(width: u32, height: u32, palette: &[[u8; 3]], pixel: impl Fn(u32, u32) -> u8) -> Vec<u8> {
    let mut raw = Vec::with_capacity((width as usize / 2 + 2) * height as usize);
    for y in 0..height {
        raw.push(0); // filter: none
        for x in (0..width).step_by(2) {
            let hi = pixel(x, y) & 15;
            let lo = if x + 1 < width {
                pixel(x + 1, y) & 15
            } else {
                0
            };
            raw.push((hi << 4) | lo);
        }
    }
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, b) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = b.len() as u16;
        z.extend(len.to_le_bytes());
        z.extend((!len).to_le_bytes());
        z.extend_from_slice(b);
    }
    z.extend(adler32(&raw).to_be_bytes());
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([4, 3, 0, 0, 0]); // 4 bits per pixel, indexed colour
    let plte: Vec<u8> = palette.iter().flatten().copied().collect();
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (ty, data) in [
        (b"IHDR", &ihdr[..]),
        (b"PLTE", &plte[..]),
        (b"IDAT", &z[..]),
        (b"IEND", &[][..]),
    ] {
        out.extend((data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(ty);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend(crc.to_be_bytes());
    }
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for b in bytes {
        c ^= u32::from(*b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for x in bytes {
        a = (a + u32::from(*x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_are_valid_small_pngs() {
        for t in 0..TYPES.len() {
            let bytes = scene(t);
            assert!(bytes.len() < 6 * 1024, "{} bytes", bytes.len());
            let p = app::photos::sniff(bytes).expect("a valid PNG");
            assert_eq!((p.mime, p.width, p.height), ("image/png", 128, 72));
        }
        // The CRC of "IEND" every PNG ends with.
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn activity_averages_one_and_weights_pick_every_type() {
        let mean: f64 = (0..24).map(activity).sum::<f64>() / 24.0;
        assert!((mean - 1.0).abs() < 1e-9);
        let mut rng = StdRng::seed_from_u64(7);
        let mut seen = [0u32; 7];
        for _ in 0..20_000 {
            seen[weighted(&type_weights(14), &mut rng)] += 1;
        }
        assert!(seen.iter().all(|n| *n > 0));
        // Parking most, smoke or fire least.
        assert_eq!(seen.iter().max(), Some(&seen[0]));
        assert_eq!(seen.iter().min(), Some(&seen[5]));
    }
}
