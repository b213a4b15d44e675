//! What the load benchmarks (`src/bin/bench_*.rs`) share: a fresh database, Leptos options
//! for an in-process app, posting with retries, and percentiles; the synthetic cases
//! ([`cases`]) and the bulk-loaded readings ([`readings`]) of the benchmarks at scale.
pub mod cases;
pub mod readings;

use app::db::DbKind;
use leptos::prelude::LeptosOptions;
use std::time::Duration;

pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A fresh, empty database: the SQLite file (and its WAL) deleted, the PostgreSQL database
/// dropped and created again (through the server's `postgres` database).
pub async fn fresh_database(url: &str) -> Res<()> {
    match DbKind::from_url(url) {
        Some(DbKind::Sqlite) => {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or("")
                .split('?')
                .next()
                .unwrap_or("");
            if path.is_empty() || path == ":memory:" {
                return Ok(());
            }
            for suffix in ["", "-wal", "-shm"] {
                let p = format!("{path}{suffix}");
                if std::path::Path::new(&p).exists() {
                    std::fs::remove_file(&p)?;
                }
            }
            Ok(())
        }
        Some(DbKind::Postgres) => {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let (base, query) = match url.split_once('?') {
                Some((b, q)) => (b, format!("?{q}")),
                None => (url, String::new()),
            };
            let (server, name) = base.rsplit_once('/').ok_or("no database name in the URL")?;
            if name.is_empty()
                || name == "postgres"
                || !name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(format!(
                    "database name {name:?}: use a-z, 0-9 and _ (not postgres: it is dropped)"
                )
                .into());
            }
            let mut c = sqlx::AnyConnection::connect(&format!("{server}/postgres{query}")).await?;
            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut c)
                .await?;
            sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                .execute(&mut c)
                .await?;
            c.close().await?;
            Ok(())
        }
        None => Err("the URL must start with sqlite: or postgres://".into()),
    }
}

pub fn leptos_options() -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("citylink")
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .build()
}

/// Posts a JSON `body` with the key `secret`, trying again after a failure (an error status,
/// an answer that does not decode, a connection error) up to `attempts` times. Every try
/// goes to `record`: the decoded answer (None for a failure, which is printed after
/// `label`), its latency, and whether it was the last try.
pub async fn post_retrying<A: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    endpoint: &str,
    secret: &str,
    body: &[u8],
    label: &str,
    attempts: u32,
    mut record: impl FnMut(Option<A>, Duration, bool),
) {
    for attempt in 1..=attempts {
        let t = std::time::Instant::now();
        let r = client
            .post(endpoint)
            .bearer_auth(secret)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await;
        let answer = match r {
            Ok(r) if r.status().is_success() => r
                .bytes()
                .await
                .ok()
                .and_then(|bytes| serde_json::from_slice::<A>(&bytes).ok()),
            Ok(r) => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                eprintln!(
                    "{label}: {status} {}",
                    text.chars().take(300).collect::<String>()
                );
                None
            }
            Err(e) => {
                eprintln!("{label}: {e}");
                None
            }
        };
        let done = answer.is_some();
        record(answer, t.elapsed(), attempt == attempts);
        if done {
            return;
        }
    }
}

/// The command line as (`--flag`, value) pairs, from `--flag value` or `--flag=value`; the
/// `switches` take no value (theirs is empty). Anything else, or a missing value, calls `usage`.
pub fn flags(switches: &[&str], usage: fn() -> !) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        if !arg.starts_with("--") {
            usage()
        }
        match arg.split_once('=') {
            Some((k, v)) => out.push((k.to_string(), v.to_string())),
            None if switches.contains(&arg.as_str()) => out.push((arg, String::new())),
            None => {
                let v = it.next().unwrap_or_else(|| usage());
                out.push((arg, v))
            }
        }
    }
    out
}

/// The `p`-th percentile (nearest rank) of sorted durations.
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
