//! One storage layer over SQLite (embedded default) and PostgreSQL (shared deployment).
//!
//! Queries are written once in the SQL both engines accept (`$1` placeholders, `RETURNING`,
//! `BIGINT` milliseconds for instants) and run through sqlx's `Any` driver; the two migration
//! folders differ only where the engines' DDL does.
pub mod assessments;
pub mod audit;
pub mod calendar;
pub mod cases;
pub mod catalogue;
pub mod catalogue_seed;
pub mod citizen;
pub mod datasets;
pub mod demo_cases;
pub mod demo_snapshot;
pub mod departments;
pub mod energy;
pub mod energy_anomalies;
pub mod energy_csv;
pub mod energy_ingest;
pub mod energy_seed;
pub mod energy_targets;
pub mod evaluation;
pub mod grids;
pub mod ingest;
pub mod opendata;
pub mod overview;
pub mod scorecard;
pub mod seed;
pub mod sessions;
pub mod skyeye;
pub mod skyeye_seed;
pub mod users;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DbKind {
    Sqlite,
    Postgres,
}

impl DbKind {
    pub fn from_url(url: &str) -> Option<DbKind> {
        if url.starts_with("sqlite:") {
            Some(DbKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(DbKind::Postgres)
        } else {
            None
        }
    }
}

/// The shared database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    /// Reads (and, on PostgreSQL, writes).
    pool: AnyPool,
    /// Writes. On SQLite a single connection, so writers queue in order instead of failing
    /// with SQLITE_BUSY; on PostgreSQL the same pool as reads.
    writer: AnyPool,
    pub kind: DbKind,
    /// PostgreSQL: the same database through sqlx's native driver, for what the `Any` driver
    /// cannot do (binary `COPY` of readings batches: `energy_ingest`). Connects on first use.
    pub(crate) pg: Option<sqlx::PgPool>,
    /// True when this start created the embedded database file.
    pub created: bool,
    /// Readings API batches waiting for a turn, written together (SQLite: one group at a
    /// time; PostgreSQL: `energy_ingest::PG_TURNS`).
    pub(crate) readings_queue: std::sync::Arc<energy_ingest::ReadingsQueue>,
    /// Reads through data grants last audited, per (user, dataset, what): see
    /// `datasets::read_via_grant`.
    pub(crate) read_audits: datasets::ReadAudits,
    /// Public datasets as last computed: see `opendata::public_table`.
    pub(crate) open_data: opendata::Cache,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DATABASE_URL must start with sqlite: or postgres:// (got {0:?})")]
    BadUrl(String),
    #[error("cannot create the database directory {0}: {1}")]
    Dir(String, std::io::Error),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// SQLite durability: WAL journal, fsync on every commit (synchronous=FULL), foreign keys on,
/// and writers wait up to 5 s for the lock rather than failing.
const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                              PRAGMA synchronous = FULL;";

/// The writer only: a 64 MiB page cache; savepoint journals in memory (a readings batch's
/// savepoint journals every page it dirties: spilled to a temporary file, the writer wrote
/// each page a second time); and a checkpoint every 32,768 pages of WAL rather than 1,000 (a
/// live-feed batch of readings dirties every meter's last index page, about 4,000 pages:
/// with the default every commit was followed by a checkpoint writing those pages once more;
/// measured at 2,000,000 readings hour-major, 8,192 pages gave 66,000 readings/s, 32,768 gave
/// 76,000–78,000). Readings batches also start a checkpoint on a reading connection after
/// they commit (`ReadingsQueue`), so the writer rarely reaches its own.
const SQLITE_WRITER_PRAGMAS: &str =
    "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 32768; PRAGMA temp_store = MEMORY;";

impl Store {
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let kind = DbKind::from_url(url).ok_or_else(|| StoreError::BadUrl(url.to_string()))?;
        match kind {
            DbKind::Sqlite => {
                let path = sqlite_path(url);
                let created = match &path {
                    Some(p) => {
                        if let Some(dir) = std::path::Path::new(p).parent() {
                            if !dir.as_os_str().is_empty() {
                                std::fs::create_dir_all(dir)
                                    .map_err(|e| StoreError::Dir(dir.display().to_string(), e))?;
                            }
                        }
                        !std::path::Path::new(p).exists()
                    }
                    None => true,
                };
                let url = if url.contains("mode=") {
                    url.to_string()
                } else if url.contains('?') {
                    format!("{url}&mode=rwc")
                } else {
                    format!("{url}?mode=rwc")
                };
                let opts = AnyConnectOptions::from_str(&url)?;
                let writer = AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(|c, _| {
                        Box::pin(async move {
                            c.execute("PRAGMA journal_mode = WAL;").await?;
                            c.execute(SQLITE_PRAGMAS).await?;
                            c.execute(SQLITE_WRITER_PRAGMAS).await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts.clone())
                    .await?;
                // Make sure the file exists in WAL mode before readers open it.
                writer.acquire().await?;
                let pool = AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|c, _| {
                        Box::pin(async move {
                            c.execute(SQLITE_PRAGMAS).await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await?;
                Ok(Store {
                    pool,
                    writer,
                    kind,
                    pg: None,
                    created,
                    readings_queue: std::sync::Arc::new(energy_ingest::ReadingsQueue::new(1)),
                    read_audits: Default::default(),
                    open_data: Default::default(),
                })
            }
            DbKind::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect(url)
                    .await?;
                let pg = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_lazy(url)?;
                Ok(Store {
                    writer: pool.clone(),
                    pool,
                    kind,
                    pg: Some(pg),
                    created: false,
                    readings_queue: std::sync::Arc::new(energy_ingest::ReadingsQueue::new(
                        energy_ingest::PG_TURNS,
                    )),
                    read_audits: Default::default(),
                    open_data: Default::default(),
                })
            }
        }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.kind {
            DbKind::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.writer)
                    .await?
            }
            DbKind::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.writer)
                    .await?
            }
        }
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Begins a write transaction. Every write and its audit record go through one of these.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        self.writer.begin().await
    }

    /// True when the database answers a trivial query within two seconds.
    pub async fn ping(&self) -> bool {
        let q = sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&self.pool);
        matches!(
            tokio::time::timeout(Duration::from_secs(2), q).await,
            Ok(Ok(1))
        )
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
        if let Some(pg) = &self.pg {
            pg.close().await;
        }
    }
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(path.to_string())
    }
}

/// `prefix` followed by `rows` groups of `cols` numbered placeholders: a multi-row INSERT.
pub fn values_sql(prefix: &str, rows: usize, cols: usize) -> String {
    let mut sql = String::from(prefix);
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 1..=cols {
            if c > 1 {
                sql.push(',');
            }
            sql.push_str(&format!("${}", r * cols + c));
        }
        sql.push(')');
    }
    sql
}

/// Milliseconds since the Unix epoch, the one representation of an instant in the database.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Formats an instant for people: Asia/Shanghai, `2026-11-24 13:05`.
pub fn fmt_local(ms: i64) -> String {
    use chrono::TimeZone;
    chrono_tz::Asia::Shanghai
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// Start of a local (Asia/Shanghai) calendar day `yyyy-mm-dd`, in epoch milliseconds.
pub fn local_day_start_ms(day: &str) -> Option<i64> {
    use chrono::{NaiveDate, TimeZone};
    let d = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").ok()?;
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
        .single()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_urls() {
        assert_eq!(DbKind::from_url("sqlite:data/x.db"), Some(DbKind::Sqlite));
        assert_eq!(
            DbKind::from_url("postgres://u@h/db"),
            Some(DbKind::Postgres)
        );
        assert_eq!(
            DbKind::from_url("postgresql://u@h/db"),
            Some(DbKind::Postgres)
        );
        assert_eq!(DbKind::from_url("mysql://h/db"), None);
        assert_eq!(
            sqlite_path("sqlite://data/citylink.db?mode=rwc").as_deref(),
            Some("data/citylink.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    #[test]
    fn local_time_is_shanghai() {
        // 2026-01-01 00:00 in Shanghai is 2025-12-31 16:00 UTC.
        let ms = local_day_start_ms("2026-01-01").unwrap();
        assert_eq!(ms, 1_767_196_800_000);
        assert_eq!(fmt_local(ms), "2026-01-01 00:00");
        assert_eq!(local_day_start_ms("2026-13-01"), None);
    }
}

/// SQLite's BOOLEAN columns cannot be decoded through the `Any` driver, so queries read
/// booleans as `CASE WHEN col THEN 1 ELSE 0 END` into this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl From<i64> for Flag {
    fn from(v: i64) -> Self {
        Flag(v != 0)
    }
}

/// The portable read of a boolean column, named after it.
/// A bound value for queries assembled at run time (filters).
#[derive(Debug, Clone)]
pub enum Arg {
    I(i64),
    S(String),
}

/// Builds a `WHERE` clause with `$n` placeholders, which both engines accept
/// (sqlx's own `QueryBuilder` writes `?` for the `Any` driver, which PostgreSQL rejects).
#[derive(Debug, Default)]
pub struct Where {
    conds: Vec<String>,
    pub args: Vec<Arg>,
}

impl Where {
    /// Adds a condition; each `?` in `cond` takes the next argument in `args`.
    pub fn and(&mut self, cond: &str, args: impl IntoIterator<Item = Arg>) {
        let mut out = String::new();
        let mut args = args.into_iter();
        for ch in cond.chars() {
            if ch == '?' {
                let a = args.next().expect("one argument per placeholder");
                self.args.push(a);
                out.push_str(&format!("${}", self.args.len()));
            } else {
                out.push(ch);
            }
        }
        self.conds.push(out);
    }

    pub fn sql(&self) -> String {
        if self.conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conds.join(" AND "))
        }
    }

    /// Placeholder for the next argument after the filter's own (LIMIT/OFFSET).
    pub fn next(&self, k: usize) -> String {
        format!("${}", self.args.len() + k)
    }
}

/// `LIKE` pattern matching `needle` anywhere, case-insensitively when compared with
/// `LOWER(column) LIKE ? ESCAPE '!'`. Only ASCII letters are folded: SQLite's `LOWER` folds
/// nothing else, so both engines match the same rows.
pub fn like_pattern(needle: &str) -> String {
    let mut p = String::from("%");
    for c in needle.trim().to_ascii_lowercase().chars() {
        if matches!(c, '%' | '_' | '!') {
            p.push('!');
        }
        p.push(c);
    }
    p.push('%');
    p
}

pub fn bind_args<'q, O>(
    mut q: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    args: &'q [Arg],
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::I(i) => q.bind(*i),
            Arg::S(s) => q.bind(s.as_str()),
        };
    }
    q
}

pub fn bind_scalar<'q, O>(
    mut q: sqlx::query::QueryScalar<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    args: &'q [Arg],
) -> sqlx::query::QueryScalar<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::I(i) => q.bind(*i),
            Arg::S(s) => q.bind(s.as_str()),
        };
    }
    q
}

#[cfg(test)]
mod where_tests {
    use super::*;

    #[test]
    fn numbers_placeholders_in_order() {
        let mut w = Where::default();
        w.and("a = ?", [Arg::I(1)]);
        w.and(
            "(b LIKE ? OR c LIKE ?)",
            [Arg::S("x".into()), Arg::S("y".into())],
        );
        assert_eq!(w.sql(), " WHERE a = $1 AND (b LIKE $2 OR c LIKE $3)");
        assert_eq!(w.next(1), "$4");
        assert_eq!(like_pattern(" 50%_A! "), "%50!%!_a!!%");
    }
}
