//! Test harness: the real router over a fresh database on each backend.
//!
//! SQLite: a new file in the temp directory. PostgreSQL: a new database on the server named
//! by CITYLINK_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres), dropped at
//! the end. When PostgreSQL does not answer the tests fail; they never skip silently.
#![allow(dead_code)]
use app::state::{AppState, Config};
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use leptos::prelude::LeptosOptions;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};
use tower::ServiceExt;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub backend: Backend,
    cleanup: Cleanup,
}

/// What `finish` removes: the SQLite file (with its WAL and shared-memory files) or the
/// PostgreSQL database.
enum Cleanup {
    SqliteFile(std::path::PathBuf),
    PgDatabase { base: String, db: String },
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    /// The session token set by this response, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("citylink_session="))
            .map(|c| c.split(';').next().unwrap().to_string())
    }
}

pub fn pg_base_url() -> String {
    std::env::var("CITYLINK_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn leptos_options() -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("citylink")
        .site_root("../public") // holds the favicon, the one static file without a wasm build
        .site_pkg_dir("pkg")
        .build()
}

pub fn test_config(url: String) -> Config {
    Config {
        database_url: url,
        demo: Some(true),
        // Enough demo cases for every state and department, few enough to start fast.
        demo_cases: 240,
        // Sky Eye demo data is fed through the real ingest: a few cameras keep starts fast.
        demo_cameras: 24,
        // No energy demo by default: the energy tests count the readings they send. The
        // energy demo's own test turns it on (a few meters, five weeks).
        demo_meters: 0,
        demo_energy_days: 35,
        ..Config::default()
    }
}

impl TestApp {
    pub async fn new(backend: Backend) -> TestApp {
        Self::with_config(backend, |_| {}).await
    }

    pub async fn with_config(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
        sqlx::any::install_default_drivers();
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .try_init();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("citylink-test-{id}.db"));
                (
                    format!("sqlite:{}", path.display()),
                    Cleanup::SqliteFile(path),
                )
            }
            Backend::Postgres => {
                let base = pg_base_url();
                let admin = AnyPoolOptions::new().max_connections(1).connect(&base).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL at {base} does not answer ({e}). Start one or set CITYLINK_TEST_PG_URL; \
                         `make test` starts a throwaway cluster."
                    )
                });
                let db = format!("citylink_test_{id}");
                admin
                    .execute(format!("CREATE DATABASE {db}").as_str())
                    .await
                    .expect("create test database");
                admin.close().await;
                let (head, _) = base.rsplit_once('/').expect("database URL has a path");
                (format!("{head}/{db}"), Cleanup::PgDatabase { base, db })
            }
        };
        let mut config = test_config(url);
        tweak(&mut config);
        let state = citylink_server::build_state(config, leptos_options())
            .await
            .expect("start app");
        let router = citylink_server::router(state.clone());
        TestApp {
            router,
            state,
            backend,
            cleanup,
        }
    }

    pub fn pool(&self) -> &AnyPool {
        self.state.store.pool()
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        let res = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("router answers");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Resp {
        let mut b = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::ACCEPT, "text/html");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }

    /// Calls a server function as the hydrated app does (form-encoded body, JSON answer).
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)], cookie: Option<&str>) -> Resp {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/{endpoint}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "127.0.0.1:3000")
            .header("origin", "http://127.0.0.1:3000");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::from(body)).unwrap()).await
    }

    /// Calls a multipart server function: text fields and files (field name, bytes).
    pub async fn multipart(
        &self,
        endpoint: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &[u8])],
        cookie: Option<&str>,
    ) -> Resp {
        self.send(multipart_request(endpoint, fields, files, cookie))
            .await
    }
}

/// The request [`TestApp::multipart`] sends, for tests that add to it (the peer's address,
/// proxy headers).
pub fn multipart_request(
    endpoint: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &[u8])],
    cookie: Option<&str>,
) -> Request<Body> {
    {
        let boundary = "citylinkTestBoundary7MA4YWxk";
        let mut body: Vec<u8> = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        for (i, (k, bytes)) in files.iter().enumerate() {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"p{i}.png\"\r\n\
                     Content-Type: image/png\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/{endpoint}"))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header(header::ACCEPT, "application/json")
            .header(header::HOST, "127.0.0.1:3000")
            .header("origin", "http://127.0.0.1:3000");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        b.body(Body::from(body)).unwrap()
    }
}

impl TestApp {
    /// Posts a JSON body to a machine API as an integration does: `Authorization: Bearer`
    /// when a key is given, `Accept-Language` when a language is, and the Content-Length.
    pub async fn post_json(
        &self,
        path: &str,
        body: impl Into<Vec<u8>>,
        bearer: Option<&str>,
        lang: Option<&str>,
    ) -> Resp {
        let body: Vec<u8> = body.into();
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, body.len());
        if let Some(k) = bearer {
            b = b.header(header::AUTHORIZATION, format!("Bearer {k}"));
        }
        if let Some(l) = lang {
            b = b.header(header::ACCEPT_LANGUAGE, l);
        }
        self.send(b.body(Body::from(body)).unwrap()).await
    }

    pub async fn login(&self, user: &str, pw: &str) -> Resp {
        self.call(
            "auth/login",
            &[("username", user), ("password", pw), ("next", "/")],
            None,
        )
        .await
    }

    /// Signs in and returns the cookie header value for later requests.
    pub async fn session(&self, user: &str) -> String {
        let r = self.login(user, app::db::seed::DEMO_PASSWORD).await;
        assert!(
            r.status.is_success() || r.status.is_redirection(),
            "login {user}: {} {}",
            r.status,
            r.body
        );
        r.session_cookie().expect("session cookie")
    }

    /// Calls the own-password change with the same new password twice.
    pub async fn change_password(&self, cookie: &str, current: &str, new: &str) -> Resp {
        let form = [
            ("current", current),
            ("password", new),
            ("password_confirm", new),
        ];
        self.call("account/password", &form, Some(cookie)).await
    }

    pub async fn me(&self, cookie: &str) -> serde_json::Value {
        let r = self.call("auth/me", &[], Some(cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()
    }

    /// Runs one statement of a test's own setup.
    pub async fn exec(&self, sql: &str) {
        sqlx::query(sql)
            .execute(self.pool())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The id of the department with this code.
    pub async fn dept_id(&self, code: &str) -> i64 {
        self.scalar(&format!("SELECT id FROM departments WHERE code = '{code}'"))
            .await
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(self.pool())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub async fn audit_count(&self, action: &str, outcome: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM audit_log WHERE action = $1 AND outcome = $2",
        )
        .bind(action)
        .bind(outcome)
        .fetch_one(self.pool())
        .await
        .unwrap()
    }

    pub async fn user_id(&self, username: &str) -> i64 {
        sqlx::query_scalar::<_, i64>("SELECT id FROM users WHERE username = $1")
            .bind(username)
            .fetch_one(self.pool())
            .await
            .unwrap()
    }

    pub async fn finish(self) {
        self.state.store.close().await;
        match self.cleanup {
            Cleanup::SqliteFile(path) => remove_sqlite(&path),
            Cleanup::PgDatabase { base, db } => {
                if let Ok(admin) = AnyPoolOptions::new()
                    .max_connections(1)
                    .connect(&base)
                    .await
                {
                    let _ = admin
                        .execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str())
                        .await;
                    admin.close().await;
                }
            }
        }
    }
}

/// A new SQLite file's path in the temp directory (`remove_sqlite` removes it).
pub fn temp_sqlite_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "citylink-test-{}.db",
        uuid::Uuid::new_v4().simple()
    ))
}

/// Removes a SQLite file with its WAL and shared-memory files.
pub fn remove_sqlite(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.to_path_buf().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

/// The app's SQLite migrations numbered below `version`: a database as an older release left
/// it, for a test of the migrations after.
pub fn sqlite_migrations_before(version: i64) -> sqlx::migrate::Migrator {
    let mut before = sqlx::migrate!("../app/migrations/sqlite");
    before.migrations = before
        .migrations
        .iter()
        .filter(|m| m.version < version)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    before
}

pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A test that takes longer than this has hung: it fails with a message instead of stalling CI.
pub async fn within_limit<F: std::future::Future<Output = ()>>(f: F) {
    if tokio::time::timeout(std::time::Duration::from_secs(90), f)
        .await
        .is_err()
    {
        panic!("test did not finish within 90 s");
    }
}

/// Runs `async fn NAME(app: TestApp)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::*;
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = common::TestApp::new(common::Backend::Sqlite).await;
                    common::within_limit(super::$name(&app)).await;
                    app.finish().await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let app = common::TestApp::new(common::Backend::Postgres).await;
                    common::within_limit(super::$name(&app)).await;
                    app.finish().await;
                }
            }
        )*
    };
}
