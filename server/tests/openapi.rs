//! The OpenAPI document at `/api/v1/openapi.json` against the real router, so that it
//! cannot drift from the endpoints it describes:
//!
//! 1. the served document parses as OpenAPI 3, equals the one built from the code, lists
//!    exactly the expected machine operations, and every `$ref` and security scheme it names
//!    exists;
//! 2. every documented operation answers on the real router (never 404 or 405);
//! 3. every documented status of every operation is provoked through the real router and
//!    its real body validated against the documented schema (response objects refuse unknown
//!    properties), its documented headers present; a status the document does not list fails
//!    too; the request bodies sent validate against the documented request schema;
//! 4. the document equals the committed `tests/openapi.snapshot.json` (a reviewable diff of
//!    every API change). Regenerate it with
//!    `UPDATE_OPENAPI=1 cargo test -p citylink-server --test openapi`.
//!
//! SQLite only: the document is built from code and the same on both backends; the
//! endpoints' behaviour on PostgreSQL is what `tests/skyeye.rs` and `tests/energy.rs` check.
mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chrono::{Duration, DurationRound, Utc};
use common::{Backend, Resp, TestApp};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Every machine operation the document must list, and nothing else: ingest, Open311 and
/// the open data downloads, all registered through `openapi::machine_routes`.
const EXPECTED: &[(&str, &str)] = &[
    ("post", "/api/v1/alerts"),
    ("post", "/api/v1/cameras/heartbeat"),
    ("post", "/api/v1/readings"),
    ("get", "/open311/discovery.json"),
    ("get", "/open311/discovery.xml"),
    ("get", "/open311/v2/services.json"),
    ("get", "/open311/v2/services.xml"),
    ("get", "/open311/v2/services/{file}"),
    ("get", "/open311/v2/requests.json"),
    ("post", "/open311/v2/requests.json"),
    ("get", "/open311/v2/requests.xml"),
    ("post", "/open311/v2/requests.xml"),
    ("get", "/open311/v2/requests/{file}"),
    ("get", "/data/{file}"),
];

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/openapi.snapshot.json");

fn generated() -> Value {
    serde_json::to_value(citylink_server::http::openapi::document()).expect("document serialises")
}

/// The (method, path) pairs of a document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ] {
            if item.get(method).is_some() {
                out.insert((method.to_string(), path.clone()));
            }
        }
    }
    out
}

/// Every `"$ref"` string in a value.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// Resolves a local JSON pointer reference (`#/components/...`).
fn resolve<'a>(doc: &'a Value, r: &str) -> Option<&'a Value> {
    doc.pointer(r.strip_prefix('#')?)
}

/// Validates `instance` against a schema of the document (`$ref`s into its components).
fn check(doc: &Value, schema: &Value, instance: &Value, what: &str) {
    let mut root = schema.clone();
    let obj = root.as_object_mut().expect("schema is an object");
    obj.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    obj.insert("components".into(), doc["components"].clone());
    let validator = jsonschema::draft202012::new(&root)
        .unwrap_or_else(|e| panic!("{what}: the documented schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: the real body does not match the documented schema:\n  {}\nbody: {instance}\nschema: {schema}",
        errors.join("\n  ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_is_served_and_lists_the_machine_endpoints() {
    let app = TestApp::new(Backend::Sqlite).await;
    common::within_limit(async {
        let r = app.get("/api/v1/openapi.json", None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.headers[header::CONTENT_TYPE], "application/json");
        assert!(
            r.headers[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .starts_with("public"),
            "{:?}",
            r.headers
        );
        assert!(r.session_cookie().is_none(), "no session for a public file");

        // OpenAPI 3, in utoipa's own model of the specification.
        let parsed: utoipa::openapi::OpenApi =
            serde_json::from_str(&r.body).expect("the served document parses as OpenAPI");
        let doc = r.json();
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3."),
            "{}",
            doc["openapi"]
        );
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            doc,
            "the document survives a round trip through the OpenAPI model (nothing unknown in it)"
        );
        assert_eq!(doc, generated(), "served = built from the code");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(doc["info"]["title"], "CityLink machine API");
        assert_eq!(doc["servers"][0]["url"], "/", "servers are relative");

        // Exactly the expected operations.
        let expected: BTreeSet<(String, String)> = EXPECTED
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        assert_eq!(
            operations(&doc),
            expected,
            "documented operations (add a new machine endpoint to EXPECTED)"
        );

        // Every reference resolves; every security requirement names a scheme; every
        // operation has a summary, a tag known to the document and an answer for 200.
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in &all {
            assert!(resolve(&doc, r).is_some(), "dangling $ref {r}");
        }
        let tags: BTreeSet<&str> = doc["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        let schemes = doc["components"]["securitySchemes"]
            .as_object()
            .expect("security schemes");
        for (method, path) in &expected {
            let op = &doc["paths"][path][method];
            assert!(op["summary"].is_string(), "{method} {path}: summary");
            for t in op["tags"].as_array().expect("tags") {
                assert!(
                    tags.contains(t.as_str().unwrap()),
                    "{method} {path}: tag {t}"
                );
            }
            assert!(op["responses"]["200"].is_object(), "{method} {path}: 200");
            for req in op["security"].as_array().into_iter().flatten() {
                for name in req.as_object().unwrap().keys() {
                    assert!(schemes.contains_key(name), "{method} {path}: scheme {name}");
                }
            }
        }
        assert_eq!(schemes["api_key"]["type"], "http");
        assert_eq!(schemes["api_key"]["scheme"], "bearer");

        // Every documented operation exists on the real router: an empty request to it is
        // refused by the handler (401, 400, ...), never by routing.
        for (method, path) in &expected {
            // A path parameter of Open311 is a file name; an unknown request is the
            // handler's 404 (its description names the parameter), not the router's.
            let uri = path
                .replace("services/{file}", "services/manhole.json")
                .replace("requests/{file}", "requests/TY-2345-6789.json?locale=en")
                .replace("/data/{file}", "/data/cases-monthly.csv");
            let req = Request::builder()
                .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
                .uri(uri.as_str())
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::empty())
                .unwrap();
            let r = app.send(req).await;
            let handler_404 = r.status == StatusCode::NOT_FOUND
                && r.body
                    .contains("service_request_id 'TY-2345-6789' was not found");
            assert!(
                handler_404
                    || (r.status != StatusCode::NOT_FOUND
                        && r.status != StatusCode::METHOD_NOT_ALLOWED),
                "{method} {path} is documented but the router answers {}",
                r.status
            );
        }
    })
    .await;
    app.finish().await;
}

#[test]
fn document_matches_the_committed_snapshot() {
    let text = serde_json::to_string_pretty(&generated()).unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(SNAPSHOT, &text).expect("write the snapshot");
        return;
    }
    let committed = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    if committed != text {
        let first = committed
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(text.lines().count()));
        panic!(
            "The OpenAPI document changed (first difference at line {} of tests/openapi.snapshot.json:\n  \
             committed: {}\n  generated: {}).\nIf the API change is intended, regenerate the snapshot \
             and commit it with the change:\n  UPDATE_OPENAPI=1 cargo test -p citylink-server --test openapi",
            first + 1,
            committed.lines().nth(first).unwrap_or("<end>"),
            text.lines().nth(first).unwrap_or("<end>"),
        );
    }
}

// ---- every documented status, provoked and validated ----

/// Statuses seen per (method, path), with the request and response, for the schema checks.
#[derive(Default)]
struct Seen(BTreeMap<(String, String), Vec<(Option<Value>, Resp)>>);

impl Seen {
    fn add(&mut self, path: &str, request: Option<Value>, r: Resp) {
        self.add_op("post", path, request, r);
    }
    fn add_op(&mut self, method: &str, path: &str, request: Option<Value>, r: Resp) {
        self.0
            .entry((method.to_string(), path.to_string()))
            .or_default()
            .push((request, r));
    }
}

async fn dept(app: &TestApp, code: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT id FROM departments WHERE code = $1")
        .bind(code)
        .fetch_one(app.pool())
        .await
        .unwrap()
}

/// A new key (the rate limit in this test is one request per second per key, bursts of two).
async fn key(app: &TestApp, dept_code: &str, scopes: &[&str]) -> String {
    let d = dept(app, dept_code).await;
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys")
        .fetch_one(app.pool())
        .await
        .unwrap();
    app::db::skyeye::create_key(
        &app.state.store,
        None,
        &app::db::audit::Actor::default(),
        "openapi test",
        &format!("openapi-{dept_code}-{n}"),
        d,
        &scopes,
    )
    .await
    .expect("create key")
    .secret
}

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql)
        .execute(app.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Posts `body` (JSON text) with an optional key and records the answer.
async fn post(
    app: &TestApp,
    seen: &mut Seen,
    path: &str,
    body: String,
    secret: Option<&str>,
) -> StatusCode {
    let request = serde_json::from_str::<Value>(&body).ok();
    let r = app.post_json(path, body, secret, Some("en")).await;
    let status = r.status;
    seen.add(path, request, r);
    status
}

/// The batch endpoints: (path, item array name, scope, department of a key that may post).
const BATCHES: &[(&str, &str, &str, &str)] = &[
    ("/api/v1/alerts", "alerts", "alerts", "psb"),
    (
        "/api/v1/cameras/heartbeat",
        "heartbeats",
        "heartbeats",
        "psb",
    ),
    ("/api/v1/readings", "readings", "readings", "ndrc"),
];

/// Provokes every status the ingest handlers answer, on each endpoint.
async fn provoke(app: &TestApp, seen: &mut Seen) {
    // A meter the energy owner may send for (as in tests/energy.rs).
    for sql in [
        "INSERT INTO settings (key, value) VALUES ('energy.owner_department', 'ndrc') ON CONFLICT (key) DO UPDATE SET value = excluded.value".to_string(),
        format!("INSERT INTO energy_entities (code, name_zh, name_en, kind, district_code, department_id, created_at) \
                 VALUES ('T-OA-BLD', '测试大楼', 'Test building', 'public_building', '140105', {}, 0)", dept(app, "housing").await),
        "INSERT INTO meters (code, entity_id, energy_type, interval_minutes, name_zh, name_en, created_at) \
         SELECT 'T-OA-MAIN', id, 'electricity', 60, '总表', 'Main', 0 FROM energy_entities WHERE code = 'T-OA-BLD'".to_string(),
    ] {
        exec(app, &sql).await;
    }
    let now = Utc::now();
    let alert_at = (now - Duration::minutes(10)).to_rfc3339();
    let hour = (now - Duration::days(2))
        .duration_trunc(Duration::hours(1))
        .unwrap();
    let good: BTreeMap<&str, Vec<Value>> = BTreeMap::from([
        (
            "alerts",
            vec![
                json!({"external_id": "oa-1", "camera": "T-OA-CAM", "type": "illegal_parking", "at": alert_at, "confidence": 0.9}),
                json!({"external_id": "oa-1", "camera": "T-OA-CAM", "type": "illegal_parking", "at": alert_at}),
                json!({"external_id": "oa-2", "camera": "NO-SUCH-CAM", "type": "illegal_parking", "at": alert_at}),
                json!({"camera": "T-OA-CAM", "type": "illegal_parking", "at": alert_at}),
            ],
        ),
        (
            "heartbeats",
            vec![
                json!({"camera": "T-OA-CAM", "status": "online"}),
                json!({"camera": "T-OA-NEW", "name": "测试 new", "lon": 112.565, "lat": 37.855}),
                json!({"camera": "NO-SUCH-CAM"}),
                json!({"status": "online"}),
            ],
        ),
        (
            "readings",
            vec![
                json!({"meter": "T-OA-MAIN", "at": hour.to_rfc3339(), "value": 12.5}),
                json!({"meter": "T-OA-MAIN", "at": (hour + Duration::hours(1)).to_rfc3339(), "value": 3}),
                json!({"meter": "NO-SUCH-METER", "at": hour.to_rfc3339(), "value": 1}),
                json!({"at": "yesterday", "value": -1}),
            ],
        ),
    ]);
    let bad: BTreeMap<&str, Value> = BTreeMap::from([
        (
            "alerts",
            json!({"external_id": "oa-bad", "camera": "NO-SUCH-CAM", "type": "illegal_parking", "at": alert_at}),
        ),
        ("heartbeats", json!({"camera": "NO-SUCH-CAM"})),
        (
            "readings",
            json!({"meter": "NO-SUCH-METER", "at": hour.to_rfc3339(), "value": 1}),
        ),
    ]);

    // The camera the alerts name, registered by a heartbeat of the same department.
    let psb = key(app, "psb", &["heartbeats"]).await;
    let beat = json!({"heartbeats": [{"camera": "T-OA-CAM", "name": "测试", "lon": 112.565, "lat": 37.855}]});
    assert_eq!(
        post(
            app,
            seen,
            "/api/v1/cameras/heartbeat",
            beat.to_string(),
            Some(&psb)
        )
        .await,
        StatusCode::OK
    );

    for &(path, field, scope, dept_code) in BATCHES {
        let batch = |items: Vec<Value>| json!({ field: items }).to_string();
        // 200 with created, duplicate and rejected items; 422 when none is accepted.
        let k = key(app, dept_code, &[scope]).await;
        let s = post(app, seen, path, batch(good[field].clone()), Some(&k)).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        let k = key(app, dept_code, &[scope]).await;
        let s = post(app, seen, path, batch(vec![bad[field].clone()]), Some(&k)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        // 400: not JSON, no item array, an empty one.
        let k = key(app, dept_code, &[scope]).await;
        let s = post(app, seen, path, "{\"".into(), Some(&k)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}");
        let s = post(app, seen, path, json!({"items": []}).to_string(), Some(&k)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}");
        let k = key(app, dept_code, &[scope]).await;
        let s = post(app, seen, path, batch(vec![]), Some(&k)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}");
        // 401: no key, an unknown key.
        let s = post(app, seen, path, batch(vec![]), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
        let s = post(app, seen, path, batch(vec![]), Some("clk_no_such_key")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
        // 403: a key of another scope.
        let other = if scope == "alerts" {
            "readings"
        } else {
            "alerts"
        };
        let k = key(app, dept_code, &[other]).await;
        let s = post(app, seen, path, batch(vec![]), Some(&k)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
        // 413: one item too many (checked before any item is), a body over the limit.
        let max = if field == "readings" { 10_000 } else { 1_000 };
        let k = key(app, dept_code, &[scope]).await;
        let s = post(app, seen, path, batch(vec![json!({}); max + 1]), Some(&k)).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        let huge = format!(
            "{{\"{field}\": [\"{}\"]}}",
            "x".repeat(ingest_limit(path) + 1)
        );
        let k = key(app, dept_code, &[scope]).await;
        let s = post(app, seen, path, huge, Some(&k)).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        // 429: a third request at once from one key.
        let k = key(app, dept_code, &[scope]).await;
        for _ in 0..2 {
            post(app, seen, path, batch(vec![]), Some(&k)).await;
        }
        let s = post(app, seen, path, batch(vec![]), Some(&k)).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{path}");
    }

    provoke_open311(app, seen).await;
    provoke_opendata(app, seen).await;

    // 503: the database is gone (the last step: the store is closed for good).
    let keys: Vec<String> = {
        let mut v = Vec::new();
        for &(_, _, scope, dept_code) in BATCHES {
            v.push(key(app, dept_code, &[scope]).await);
        }
        v
    };
    app.state.store.close().await;
    for (&(path, field, _, _), k) in BATCHES.iter().zip(&keys) {
        let s = post(app, seen, path, json!({ field: [] }).to_string(), Some(k)).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{path}");
    }
    open311_unavailable(app, seen).await;
    opendata_unavailable(app, seen).await;
}

/// One Open311 call (a form when `form` is given) recorded under its documented path.
async fn open311(
    app: &TestApp,
    seen: &mut Seen,
    method: &str,
    documented: &str,
    uri: &str,
    form: Option<&[(&str, &str)]>,
) -> StatusCode {
    let mut b = Request::builder()
        .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
        .uri(uri)
        .header(header::ACCEPT_LANGUAGE, "en");
    let body = match form {
        Some(f) => {
            b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            f.iter()
                .map(|(k, v)| format!("{}={}", common::enc(k), common::enc(v)))
                .collect::<Vec<_>>()
                .join("&")
        }
        None => String::new(),
    };
    let r = app.send(b.body(Body::from(body)).unwrap()).await;
    let status = r.status;
    seen.add_op(method, documented, None, r);
    status
}

/// Provokes every status the Open311 handlers answer but 500 (see `open311_unavailable`).
async fn provoke_open311(app: &TestApp, seen: &mut Seen) {
    let form = |key: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![
            ("api_key", key),
            ("service_code", "manhole"),
            ("lat", "37.8612"),
            ("long", "112.5487"),
            ("description", "井盖缺失"),
            ("attribute[danger]", "yes"),
        ]
    };
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let mut code = String::new();
    for f in ["json", "xml"] {
        let path = format!("/open311/discovery.{f}");
        assert_eq!(
            open311(app, seen, "get", &path, &path, None).await,
            StatusCode::OK
        );
        let bad = format!("{path}?jurisdiction_id=sf.gov");
        assert_eq!(
            open311(app, seen, "get", &path, &bad, None).await,
            StatusCode::NOT_FOUND
        );
        let path = format!("/open311/v2/services.{f}");
        assert_eq!(
            open311(app, seen, "get", &path, &path, None).await,
            StatusCode::OK
        );
        let bad = format!("{path}?jurisdiction_id=sf.gov");
        assert_eq!(
            open311(app, seen, "get", &path, &bad, None).await,
            StatusCode::NOT_FOUND
        );
        let def = "/open311/v2/services/{file}";
        let uri = format!("/open311/v2/services/manhole.{f}");
        assert_eq!(
            open311(app, seen, "get", def, &uri, None).await,
            StatusCode::OK
        );
        let uri = format!("/open311/v2/services/nope.{f}");
        assert_eq!(
            open311(app, seen, "get", def, &uri, None).await,
            StatusCode::NOT_FOUND
        );

        let path = format!("/open311/v2/requests.{f}");
        // 200, 400 (no place), 403 (no key), 404 (unknown service), 429 (a third at once).
        let k = leak(key(app, "cmb", &["open311"]).await);
        assert_eq!(
            open311(app, seen, "post", &path, &path, Some(&form(k))).await,
            StatusCode::OK
        );
        if f == "json" {
            let r = &seen.0[&("post".to_string(), path.clone())]
                .last()
                .unwrap()
                .1;
            code = r.json()[0]["service_request_id"]
                .as_str()
                .unwrap()
                .to_string();
        }
        let no_place: Vec<_> = form(k).into_iter().filter(|(n, _)| *n != "lat").collect();
        assert_eq!(
            open311(app, seen, "post", &path, &path, Some(&no_place)).await,
            StatusCode::BAD_REQUEST
        );
        let no_key: Vec<_> = form(k)
            .into_iter()
            .filter(|(n, _)| *n != "api_key")
            .collect();
        assert_eq!(
            open311(app, seen, "post", &path, &path, Some(&no_key)).await,
            StatusCode::FORBIDDEN
        );
        let k = leak(key(app, "cmb", &["open311"]).await);
        let mut ufo = form(k);
        ufo[1] = ("service_code", "ufo");
        assert_eq!(
            open311(app, seen, "post", &path, &path, Some(&ufo)).await,
            StatusCode::NOT_FOUND
        );
        open311(app, seen, "post", &path, &path, Some(&ufo)).await;
        assert_eq!(
            open311(app, seen, "post", &path, &path, Some(&ufo)).await,
            StatusCode::TOO_MANY_REQUESTS
        );
        // GET: 200, 400 (a bad date), 404 (another jurisdiction).
        assert_eq!(
            open311(app, seen, "get", &path, &path, None).await,
            StatusCode::OK
        );
        let bad = format!("{path}?start_date=soon");
        assert_eq!(
            open311(app, seen, "get", &path, &bad, None).await,
            StatusCode::BAD_REQUEST
        );
        let bad = format!("{path}?jurisdiction_id=sf.gov");
        assert_eq!(
            open311(app, seen, "get", &path, &bad, None).await,
            StatusCode::NOT_FOUND
        );
    }
    let one = "/open311/v2/requests/{file}";
    for f in ["json", "xml"] {
        let uri = format!("/open311/v2/requests/{code}.{f}");
        assert_eq!(
            open311(app, seen, "get", one, &uri, None).await,
            StatusCode::OK
        );
        let uri = format!("/open311/v2/requests/TY-2345-6789.{f}");
        assert_eq!(
            open311(app, seen, "get", one, &uri, None).await,
            StatusCode::NOT_FOUND
        );
    }
}

/// 500 from every Open311 resource that reads the database, once the store is closed.
async fn open311_unavailable(app: &TestApp, seen: &mut Seen) {
    for f in ["json", "xml"] {
        let path = format!("/open311/v2/services.{f}");
        let r = open311(app, seen, "get", &path, &path, None).await;
        assert_eq!(r, StatusCode::INTERNAL_SERVER_ERROR);
        let uri = format!("/open311/v2/services/manhole.{f}");
        let r = open311(app, seen, "get", "/open311/v2/services/{file}", &uri, None).await;
        assert_eq!(r, StatusCode::INTERNAL_SERVER_ERROR);
        let path = format!("/open311/v2/requests.{f}");
        let r = open311(app, seen, "get", &path, &path, None).await;
        assert_eq!(r, StatusCode::INTERNAL_SERVER_ERROR);
        let form = [("api_key", "clk_whatever"), ("service_code", "manhole")];
        let r = open311(app, seen, "post", &path, &path, Some(&form)).await;
        assert_eq!(r, StatusCode::INTERNAL_SERVER_ERROR);
        let uri = format!("/open311/v2/requests/TY-2345-6789.{f}");
        let r = open311(app, seen, "get", "/open311/v2/requests/{file}", &uri, None).await;
        assert_eq!(r, StatusCode::INTERNAL_SERVER_ERROR);
    }
}

/// One open data download recorded under its documented path.
async fn opendata(app: &TestApp, seen: &mut Seen, uri: &str) -> Resp {
    let r = app.get(uri, None).await;
    let copy = Resp {
        status: r.status,
        headers: r.headers.clone(),
        body: r.body.clone(),
    };
    seen.add_op("get", "/data/{file}", None, r);
    copy
}

/// Every status of the open data downloads but 500 (see `opendata_unavailable`): each public
/// dataset as JSON and CSV (the demo cases fill `cases-monthly`, so a non-empty table is
/// validated), headings by language, and the 404s.
async fn provoke_opendata(app: &TestApp, seen: &mut Seen) {
    for code in ["cases-monthly", "energy-monthly", "rankings"] {
        let j = opendata(app, seen, &format!("/data/{code}.json")).await;
        assert_eq!(j.status, StatusCode::OK, "{code}: {}", j.body);
        let j = j.json();
        let rows = j["rows"].as_array().expect("rows");
        if code == "cases-monthly" {
            assert!(!rows.is_empty(), "the demo cases fill {code}: {j}");
        }
        let names: Vec<&str> = j["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        for row in rows {
            let keys: Vec<&str> = row
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let mut want = names.clone();
            want.sort_unstable();
            let mut keys = keys;
            keys.sort_unstable();
            assert_eq!(keys, want, "{code}: a row has exactly the fields");
        }
        // CSV: the byte-order mark, the field names as header, as many rows as the JSON.
        let c = opendata(app, seen, &format!("/data/{code}.csv")).await;
        assert_eq!(c.status, StatusCode::OK, "{code}: {}", c.body);
        let body = c.body.strip_prefix('\u{feff}').expect("a byte-order mark");
        let mut csv = csv::Reader::from_reader(body.as_bytes());
        let head: Vec<String> = csv.headers().unwrap().iter().map(str::to_string).collect();
        assert_eq!(head, names, "{code}: CSV header = JSON field names");
        assert_eq!(csv.records().count(), rows.len(), "{code}: CSV rows");
        let en = opendata(app, seen, &format!("/data/{code}.csv?lang=en")).await;
        assert_eq!(en.status, StatusCode::OK);
        assert!(en.body.starts_with("\u{feff}Month,"), "{code}: {}", en.body);
    }
    // 404: unknown, restricted, another format, no format; JSON even for a CSV name.
    for uri in [
        "/data/nothing.json",
        "/data/cases.csv",
        "/data/cases-monthly.xml",
        "/data/cases-monthly",
    ] {
        let r = opendata(app, seen, uri).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}: {}", r.body);
        assert_eq!(r.json()["error"], "not_found", "{uri}");
    }
}

/// 500 from the open data downloads once the store is closed: no body. (The datasets
/// downloaded before are served from the app server's cache meanwhile; a name not cached
/// has to ask the database.)
async fn opendata_unavailable(app: &TestApp, seen: &mut Seen) {
    for uri in ["/data/not-cached.json", "/data/not-cached.csv"] {
        let r = opendata(app, seen, uri).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{uri}");
    }
}

fn ingest_limit(path: &str) -> usize {
    use citylink_server::http::ingest;
    match path {
        ingest::ALERTS_PATH => ingest::ALERTS_BODY_LIMIT,
        ingest::READINGS_PATH => ingest::READINGS_BODY_LIMIT,
        _ => citylink_server::startup::BODY_LIMIT,
    }
}

/// The batch `request` without the items its answer rejected (listed in `results` with
/// status `rejected`, or in `errors` by index).
fn accepted_items(request: &Value, answer: &Value) -> Value {
    let (field, items) = request
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("a batch");
    let rejected: BTreeSet<u64> = match (answer["results"].as_array(), answer["errors"].as_array())
    {
        (Some(results), _) => results
            .iter()
            .filter(|x| x["status"] == "rejected")
            .filter_map(|x| x["index"].as_u64())
            .collect(),
        (None, Some(errors)) => errors.iter().filter_map(|x| x["index"].as_u64()).collect(),
        (None, None) => panic!("no per-item answer: {answer}"),
    };
    let kept: Vec<Value> = items
        .as_array()
        .expect("items")
        .iter()
        .enumerate()
        .filter(|(i, _)| !rejected.contains(&(*i as u64)))
        .map(|(_, x)| x.clone())
        .collect();
    assert!(!kept.is_empty(), "a 200 accepted something: {answer}");
    json!({ field.as_str(): kept })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_answer_is_real_and_matches_its_schema() {
    let app = TestApp::with_config(Backend::Sqlite, |c| c.api_rate = 1).await;
    let mut seen = Seen::default();
    common::within_limit(provoke(&app, &mut seen)).await;
    let doc = generated();
    let mut missing = Vec::new();
    for (method, path) in operations(&doc) {
        let op = &doc["paths"][&path][&method];
        let answers = seen
            .0
            .get(&(method.clone(), path.clone()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        // Every answer is documented, and its body and headers are as documented.
        for (request, r) in answers {
            let what = format!("{} {method} {path}", r.status.as_u16());
            let documented = &op["responses"][r.status.as_str()];
            assert!(
                documented.is_object(),
                "{what}: the router answered a status the document does not list: {}",
                r.body
            );
            for name in documented["headers"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(n, _)| n)
            {
                assert!(
                    r.headers.contains_key(name.as_str()),
                    "{what}: header {name}"
                );
            }
            // A status documented without content answers with no body.
            let Some(content) = documented["content"].as_object() else {
                assert!(
                    r.body.is_empty(),
                    "{what}: a body the document does not list: {}",
                    r.body
                );
                continue;
            };
            let ty = r.headers[header::CONTENT_TYPE].to_str().unwrap();
            // The media type, without parameters (`; charset=utf-8`).
            let ty = ty.split(';').next().unwrap().trim();
            let media = content
                .get(ty)
                .unwrap_or_else(|| panic!("{what}: content type {ty} is not documented"));
            if ty == "text/xml" {
                // Open311's XML: well formed; its shape is checked in tests/open311.rs.
                roxmltree::Document::parse(&r.body)
                    .unwrap_or_else(|e| panic!("{what}: not XML ({e}): {}", r.body));
                continue;
            }
            if ty == "text/csv" {
                // CSV: a string (as documented) with a byte-order mark and a header line; its
                // columns are checked against the JSON fields in `provoke_opendata`.
                check(
                    &doc,
                    &media["schema"],
                    &Value::String(r.body.clone()),
                    &what,
                );
                let body = r
                    .body
                    .strip_prefix('\u{feff}')
                    .unwrap_or_else(|| panic!("{what}: CSV without a byte-order mark"));
                let head = body.lines().next().unwrap_or_default();
                assert!(
                    !head.is_empty() && head.contains(','),
                    "{what}: header line {head:?}"
                );
                continue;
            }
            check(&doc, &media["schema"], &r.json(), &what);
            // The items the server accepted conform to the documented request schema.
            if let (Some(req), true) = (request, r.status == StatusCode::OK) {
                let schema = &op["requestBody"]["content"]["application/json"]["schema"];
                check(
                    &doc,
                    schema,
                    &accepted_items(req, &r.json()),
                    &format!("{what} request"),
                );
            }
        }
        // Every documented status was provoked.
        let statuses: BTreeSet<&str> = answers.iter().map(|(_, r)| r.status.as_str()).collect();
        for status in op["responses"].as_object().unwrap().keys() {
            if !statuses.contains(status.as_str()) {
                missing.push(format!("{status} {method} {path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "documented but never provoked by this test (add a request for it to `provoke`): {missing:?}"
    );
    app.finish().await;
}
