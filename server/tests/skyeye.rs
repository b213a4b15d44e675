//! Sky Eye through the real router, on SQLite and on PostgreSQL: the machine API (keys,
//! idempotent batches, refusals), grouping, camera health, triage, sharing between
//! departments, escalation to cases, snapshots and live notices.
mod common;

use app::db::audit::OK;
use app::photos::TINY_PNG;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{Backend, Resp, TestApp};
use serde_json::{json, Value};
use std::time::Duration;

on_both!(
    retries_are_idempotent_and_batches_partial,
    keys_and_bodies_are_checked,
    alerts_group_into_incidents_across_posts,
    heartbeats_register_cameras_and_raise_health,
    silent_cameras_are_swept_offline,
    triage_acknowledges_and_dismisses,
    departments_see_what_is_shared_with_them,
    escalation_opens_one_linked_case,
    changes_are_announced_live,
    lists_cameras_and_statistics_follow_the_data,
);

/// Coordinates inside grid 140106xxxx (Yingze, city centre).
const LON: f64 = 112.565;
const LAT: f64 = 37.855;
const MIN: i64 = 60_000;

// ---- helpers ----

fn now() -> i64 {
    app::db::now_ms()
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// An instant as RFC 3339 in Shanghai time (+08:00), as a camera platform in Taiyuan sends it.
fn rfc3339(ms: i64) -> String {
    let local = ms + 8 * 3_600_000;
    let secs = local.div_euclid(1000);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}+08:00",
        s / 3600,
        s % 3600 / 60,
        s % 60,
        local.rem_euclid(1000)
    )
}

fn b64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A PNG of about `size` bytes: the tiny one with a private chunk before its end.
fn big_png(size: usize) -> Vec<u8> {
    let (body, end) = TINY_PNG.split_at(TINY_PNG.len() - 12);
    let mut p = body.to_vec();
    let n = size.saturating_sub(TINY_PNG.len() + 12);
    p.extend_from_slice(&(n as u32).to_be_bytes());
    p.extend_from_slice(b"clNk");
    p.resize(p.len() + n, 7);
    p.extend_from_slice(&[0, 0, 0, 0]);
    p.extend_from_slice(end);
    p
}

async fn dept(app: &TestApp, code: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT id FROM departments WHERE code = $1")
        .bind(code)
        .fetch_one(app.pool())
        .await
        .unwrap()
}

/// A key of department `dept_code` for integration `source`; returns its secret.
async fn key(app: &TestApp, dept_code: &str, source: &str, scopes: &[&str]) -> String {
    let d = dept(app, dept_code).await;
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    app::db::skyeye::create_key(
        &app.state.store,
        None,
        &app::db::audit::Actor::default(),
        "test integration",
        source,
        d,
        &scopes,
    )
    .await
    .expect("create key")
    .secret
}

/// A psb key for alerts and heartbeats.
async fn psb_key(app: &TestApp) -> String {
    key(app, "psb", "test-vms", &["alerts", "heartbeats"]).await
}

fn alert(ext: &str, camera: &str, ty: &str, at: i64) -> Value {
    json!({"external_id": ext, "camera": camera, "type": ty, "at": rfc3339(at), "confidence": 0.8})
}

async fn post_alerts(app: &TestApp, secret: &str, items: Vec<Value>) -> Resp {
    app.post_json(
        "/api/v1/alerts",
        json!({ "alerts": items }).to_string(),
        Some(secret),
        None,
    )
    .await
}

async fn post_beats(app: &TestApp, secret: &str, items: Vec<Value>) -> Resp {
    app.post_json(
        "/api/v1/cameras/heartbeat",
        json!({ "heartbeats": items }).to_string(),
        Some(secret),
        None,
    )
    .await
}

/// Registers camera `code` of the key's department through a heartbeat.
async fn camera(app: &TestApp, secret: &str, code: &str) -> i64 {
    let r = post_beats(
        app,
        secret,
        vec![json!({"camera": code, "status": "online", "name": format!("测试 {code}"), "lon": LON, "lat": LAT})],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["results"][0]["status"], "registered", "{}", r.body);
    camera_id(app, code).await
}

async fn camera_id(app: &TestApp, code: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT id FROM cameras WHERE code = $1")
        .bind(code)
        .fetch_one(app.pool())
        .await
        .unwrap()
}

/// Posts alerts that must all be created; returns (alert id, incident id) per item.
async fn created(app: &TestApp, secret: &str, items: Vec<Value>) -> Vec<(i64, i64)> {
    let n = items.len();
    let r = post_alerts(app, secret, items).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["accepted"], n, "{}", r.body);
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            assert_eq!(x["status"], "created", "{x}");
            (
                x["alert_id"].as_i64().unwrap(),
                x["incident_id"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[derive(Debug)]
struct Inc {
    state: String,
    count: i64,
    first_seen: i64,
    last_seen: i64,
    max_confidence: Option<f64>,
    snapshot: Option<i64>,
    case_id: Option<i64>,
    owner: i64,
    reason: Option<String>,
    version: i64,
    type_code: String,
}

async fn incident(app: &TestApp, id: i64) -> Inc {
    #[allow(clippy::type_complexity)]
    let r: (
        String,
        i64,
        i64,
        i64,
        Option<f64>,
        Option<i64>,
        Option<i64>,
        i64,
        Option<String>,
        i64,
        String,
    ) = sqlx::query_as(
        "SELECT i.state, i.alert_count, i.first_seen, i.last_seen, i.max_confidence, i.snapshot_alert_id, \
         i.case_id, i.owner_department_id, i.dismiss_reason, i.version, t.code \
         FROM incidents i JOIN alert_types t ON t.id = i.type_id WHERE i.id = $1",
    )
    .bind(id)
    .fetch_one(app.pool())
    .await
    .unwrap();
    Inc {
        state: r.0,
        count: r.1,
        first_seen: r.2,
        last_seen: r.3,
        max_confidence: r.4,
        snapshot: r.5,
        case_id: r.6,
        owner: r.7,
        reason: r.8,
        version: r.9,
        type_code: r.10,
    }
}

async fn count(app: &TestApp, sql: &str, id: i64) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .bind(id)
        .fetch_one(app.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Incident ids of camera `code` the caller's list shows.
async fn listed(app: &TestApp, cookie: &str, code: &str) -> Vec<i64> {
    let r = app
        .call(
            "alerts/list",
            &[("filter[camera]", code), ("filter[page]", "1")],
            Some(cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut ids: Vec<i64> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

async fn triage(app: &TestApp, cookie: &str, ids: &[i64], step: &str, reason: &str) -> Resp {
    let ids = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    app.call(
        "alerts/triage",
        &[
            ("ids", &ids),
            ("step", step),
            ("reason", reason),
            ("note", "checked on the video wall"),
        ],
        Some(cookie),
    )
    .await
}

async fn escalate(app: &TestApp, cookie: &str, id: i64, version: i64) -> Resp {
    app.call(
        "alerts/escalate",
        &[("id", &id.to_string()), ("version", &version.to_string())],
        Some(cookie),
    )
    .await
}

async fn case_step(app: &TestApp, user: &str, case_id: i64, action: &str, extra: &[(&str, &str)]) {
    let c = app.session(user).await;
    let v: i64 = count(app, "SELECT version FROM cases WHERE id = $1", case_id).await;
    let (id, v) = (case_id.to_string(), v.to_string());
    let mut fields: Vec<(&str, &str)> = vec![("case_id", &id), ("action", action), ("version", &v)];
    fields.extend_from_slice(extra);
    let r = app.multipart("cases/step", &fields, &[], Some(&c)).await;
    assert!(
        r.status.is_success(),
        "{user} {action}: {} {}",
        r.status,
        r.body
    );
}

/// Waits until a notice published through `state` comes back to its own subscribers (on
/// PostgreSQL: its LISTEN connection is up), then drains what arrived.
async fn live_ready(state: &app::state::AppState) -> tokio::sync::broadcast::Receiver<String> {
    let mut rx = state.live.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        state.live.publish(&state.store, "ping").await;
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "live notices never arrive"
        );
    }
    // Later pings of the loop may still be on their way.
    tokio::time::sleep(Duration::from_millis(100)).await;
    while rx.try_recv().is_ok() {}
    rx
}

/// The next notice of `kind` within two seconds.
async fn notice(rx: &mut tokio::sync::broadcast::Receiver<String>, kind: &str) {
    let want = json!({ "kind": kind }).to_string();
    let found = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match rx.recv().await {
                Ok(m) if m == want => return,
                Ok(_) => continue,
                Err(e) => panic!("live channel: {e}"),
            }
        }
    })
    .await;
    assert!(found.is_ok(), "no {kind} notice within 2 s");
}

// ---- tests ----

async fn retries_are_idempotent_and_batches_partial(app: &TestApp) {
    // The test's own clock formatting agrees with the server's parser.
    let t = now();
    assert_eq!(app::db::ingest::parse_instant(&rfc3339(t)), Some(t));
    let k = psb_key(app).await;
    camera(app, &k, "T-IDEM-1").await;
    let base = now() - 30 * MIN;
    let batch = vec![
        alert("idem-1", "T-IDEM-1", "illegal_parking", base),
        alert("idem-2", "T-IDEM-1", "illegal_parking", base + MIN),
        alert("idem-3", "T-IDEM-1", "street_vending", base + 2 * MIN),
    ];
    let first = created(app, &k, batch.clone()).await;
    let alerts = app.scalar("SELECT COUNT(*) FROM alerts").await;
    let incidents = app.scalar("SELECT COUNT(*) FROM incidents").await;
    // The same batch again (a retry after a lost response): nothing is written twice, and
    // each item names the alert it repeats.
    let r = post_alerts(app, &k, batch.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(
        (v["accepted"].as_i64(), v["duplicates"].as_i64()),
        (Some(0), Some(3))
    );
    for (i, x) in v["results"].as_array().unwrap().iter().enumerate() {
        assert_eq!(x["status"], "duplicate");
        assert_eq!(x["alert_id"].as_i64(), Some(first[i].0));
        assert_eq!(x["incident_id"].as_i64(), Some(first[i].1));
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM alerts").await, alerts);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM incidents").await,
        incidents
    );
    assert_eq!(incident(app, first[0].1).await.count, 2, "counted once");

    // Two servers receiving the same new batch at once still store it once.
    let twin = vec![
        alert("twin-1", "T-IDEM-1", "garbage_overflow", base),
        alert("twin-2", "T-IDEM-1", "garbage_overflow", base + MIN),
    ];
    let (a, b) = tokio::join!(
        post_alerts(app, &k, twin.clone()),
        post_alerts(app, &k, twin.clone())
    );
    assert_eq!(
        (a.status, b.status),
        (StatusCode::OK, StatusCode::OK),
        "{} {}",
        a.body,
        b.body
    );
    let accepted = a.json()["accepted"].as_i64().unwrap() + b.json()["accepted"].as_i64().unwrap();
    let dups = a.json()["duplicates"].as_i64().unwrap() + b.json()["duplicates"].as_i64().unwrap();
    assert_eq!((accepted, dups), (2, 2), "{} {}", a.body, b.body);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM alerts WHERE external_id LIKE 'twin-%'")
            .await,
        2
    );
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM incidents i JOIN alert_types t ON t.id = i.type_id \
             JOIN cameras c ON c.id = i.camera_id WHERE c.code = 'T-IDEM-1' AND t.code = 'garbage_overflow'"
        )
        .await,
        1
    );

    // A partial batch: the valid items are stored, each refused one says why.
    let alerts = app.scalar("SELECT COUNT(*) FROM alerts").await;
    let mut bad_conf = alert("part-4", "T-IDEM-1", "crowding", base);
    bad_conf["confidence"] = json!(1.5);
    let mut bad_snap = alert("part-7", "T-IDEM-1", "crowding", base);
    bad_snap["snapshot"] = json!("not base64 at all!");
    let mut not_image = alert("part-8", "T-IDEM-1", "crowding", base);
    not_image["snapshot"] = json!(b64(b"GIF89a definitely not a png"));
    let mut with_snap = alert("part-9", "T-IDEM-1", "crowding", base + 3 * MIN);
    with_snap["snapshot"] = json!(b64(TINY_PNG));
    let items = vec![
        alert("part-1", "T-IDEM-1", "crowding", base),
        alert("part-2", "T-IDEM-1", "no_such_type", base),
        alert("part-3", "NO-SUCH-CAM", "crowding", base),
        bad_conf,
        json!({"external_id": "part-5", "camera": "T-IDEM-1", "type": "crowding", "at": "yesterday"}),
        json!({"camera": "T-IDEM-1", "type": "crowding", "at": rfc3339(base)}),
        bad_snap,
        not_image,
        with_snap,
        alert("part-10", "T-IDEM-1", "crowding", now() + 60 * MIN),
        alert("part-11", "T-IDEM-1", "crowding", now() - 40 * 86_400_000),
        alert("part-12", "T-IDEM-1", "camera_offline", base),
        json!("just a string"),
        alert("part-1", "T-IDEM-1", "crowding", base),
    ];
    let r = app
        .post_json(
            "/api/v1/alerts",
            json!({ "alerts": items }).to_string(),
            Some(&k),
            Some("en-GB,en;q=0.9"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["accepted"], 2, "{}", r.body);
    assert_eq!(v["duplicates"], 1, "{}", r.body);
    assert_eq!(v["rejected"], 11, "{}", r.body);
    let res = v["results"].as_array().unwrap();
    let code = |i: usize| -> Vec<String> {
        res[i]["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("item {i}: {}", res[i]))
            .iter()
            .map(|e| e["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(res[0]["status"], "created");
    assert_eq!(code(1), ["unknown_type"]);
    assert_eq!(code(2), ["unknown_camera"]);
    assert_eq!(code(3), ["bad_confidence"]);
    assert_eq!(code(4), ["bad_time"]);
    assert_eq!(code(5), ["required"]);
    assert_eq!(res[5]["errors"][0]["field"], "external_id");
    assert_eq!(code(6), ["bad_base64"]);
    assert_eq!(code(7), ["bad_image"]);
    assert_eq!(res[8]["status"], "created");
    assert_eq!(code(9), ["in_future"]);
    assert_eq!(code(10), ["too_old"]);
    assert_eq!(
        code(11),
        ["unknown_type"],
        "health types are not sent by cameras"
    );
    assert_eq!(code(12), ["not_an_object"]);
    // A repeat inside the batch points at the alert it repeats.
    assert_eq!(res[13]["status"], "duplicate");
    assert_eq!(res[13]["alert_id"], res[0]["alert_id"]);
    // Messages in the language asked for.
    assert!(
        res[2]["errors"][0]["message"].as_str().unwrap().is_ascii(),
        "{}",
        res[2]
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM alerts").await, alerts + 2);
    let snap_alert = res[8]["alert_id"].as_i64().unwrap();
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM alert_snapshots WHERE alert_id = $1",
            snap_alert
        )
        .await,
        1
    );
    let inc = incident(app, res[8]["incident_id"].as_i64().unwrap()).await;
    assert_eq!(inc.snapshot, Some(snap_alert));

    // Nothing acceptable: 422, nothing stored, and the reason in Chinese by default.
    let alerts = app.scalar("SELECT COUNT(*) FROM alerts").await;
    let r = post_alerts(
        app,
        &k,
        vec![alert("none-1", "NO-SUCH-CAM", "crowding", base), json!(42)],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let v = r.json();
    assert_eq!(v["error"], "none_accepted");
    assert_eq!(v["rejected"], 2);
    assert!(!v["message"].as_str().unwrap().is_ascii(), "{}", r.body);
    assert!(
        !v["results"][0]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .is_ascii(),
        "{}",
        r.body
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM alerts").await, alerts);
    // The key remembers its last use.
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM api_keys WHERE source = 'test-vms' AND last_used_at IS NOT NULL"
        )
        .await,
        1
    );
}

async fn keys_and_bodies_are_checked(app: &TestApp) {
    let admin = app.session("admin").await;
    let psb = dept(app, "psb").await.to_string();
    // Only administrators make keys; the secret is shown once and stored hashed.
    let sk = app.session("skyeye").await;
    let r = app
        .call(
            "admin/keys/create",
            &[
                ("name", "x"),
                ("source", "x-vms"),
                ("department_id", &psb),
                ("scopes", "alerts"),
            ],
            Some(&sk),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app
        .call(
            "admin/keys/create",
            &[
                ("name", "VMS"),
                ("source", "Bad Source!"),
                ("department_id", &psb),
                ("scopes", "alerts,root"),
            ],
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("source") && r.body.contains("scopes"),
        "{}",
        r.body
    );
    let r = app
        .call(
            "admin/keys/create",
            &[
                ("name", "海康平台"),
                ("source", "hik-vms"),
                ("department_id", &psb),
                ("scopes", "alerts,heartbeats"),
            ],
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let new_key = r.json();
    let secret = new_key["secret"].as_str().unwrap().to_string();
    let key_id = new_key["id"].as_i64().unwrap();
    assert!(secret.len() >= 32, "{secret}");
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM api_keys WHERE id = $1 AND hash <> prefix",
            key_id
        )
        .await,
        1
    );
    let stored: String = sqlx::query_scalar("SELECT hash FROM api_keys WHERE id = $1")
        .bind(key_id)
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert!(!stored.contains(&secret[4..]), "the secret is not stored");
    let r = app.call("admin/keys", &[], Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("hik-vms") && !r.body.contains(&secret),
        "{}",
        r.body
    );
    assert_eq!(
        app.audit_count("api_key.create", OK).await,
        4,
        "3 demo keys and this one"
    );

    camera(app, &secret, "T-KEY-1").await;
    let ok = vec![alert(
        "key-1",
        "T-KEY-1",
        "illegal_parking",
        now() - 5 * MIN,
    )];
    let body = json!({ "alerts": ok }).to_string();
    let alerts = app.scalar("SELECT COUNT(*) FROM alerts").await;

    // No key, a wrong key, another scheme.
    let r = app
        .post_json("/api/v1/alerts", body.clone(), None, Some("en"))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"], "missing_key");
    assert!(r.headers.get(header::WWW_AUTHENTICATE).is_some());
    let r = app
        .post_json(
            "/api/v1/alerts",
            body.clone(),
            Some("clk_not-a-real-key"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"], "unknown_key");
    assert!(!r.json()["message"].as_str().unwrap().is_ascii());
    // The scheme name is case-insensitive (RFC 9110).
    let r = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/alerts")
                .header(header::AUTHORIZATION, format!("bearer {secret}"))
                .body(Body::from(body.clone()))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM alerts").await, alerts + 1);
    let alerts = alerts + 1;

    // A key without the scope.
    let beats_only = key(app, "psb", "beats-only", &["heartbeats"]).await;
    let r = app
        .post_json("/api/v1/alerts", body.clone(), Some(&beats_only), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"], "scope_missing");

    // Malformed bodies: a clear error and nothing stored.
    for (b, code) in [
        ("{\"alerts\": [", "malformed_json"),
        ("not json", "malformed_json"),
        ("{\"items\": []}", "missing_items"),
        ("{\"alerts\": {}}", "missing_items"),
        ("{\"alerts\": []}", "empty_batch"),
    ] {
        let r = app
            .post_json("/api/v1/alerts", b, Some(&secret), Some("en"))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {}", r.body);
        let v = r.json();
        assert_eq!(v["error"], code, "{b}");
        assert!(!v["message"].as_str().unwrap().is_empty());
        assert!(
            v["message"].as_str().unwrap().is_ascii(),
            "English asked for"
        );
    }
    let r = app
        .post_json("/api/v1/alerts", "{\"alerts\": [", Some(&secret), None)
        .await;
    assert!(
        !r.json()["message"].as_str().unwrap().is_ascii(),
        "Chinese by default"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM alerts").await, alerts);

    // Oversized: more than 1,000 items, a snapshot over 512 KiB, a body over 16 MiB
    // (declared, or found while reading), a heartbeat body over 1 MiB.
    let many: Vec<Value> = (0..1001)
        .map(|i| alert(&format!("many-{i}"), "T-KEY-1", "crowding", now() - 5 * MIN))
        .collect();
    let r = post_alerts(app, &secret, many).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["error"], "batch_too_large");
    let mut big = alert("big-1", "T-KEY-1", "crowding", now() - 5 * MIN);
    big["snapshot"] = json!(b64(&big_png(600 * 1024)));
    let r = post_alerts(app, &secret, vec![big]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.json()["results"][0]["errors"][0]["code"],
        "snapshot_too_large"
    );
    let huge = format!("{{\"alerts\": [\"{}\"]}}", "x".repeat(17 * 1024 * 1024));
    let r = app
        .post_json("/api/v1/alerts", huge.clone(), Some(&secret), None)
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        r.json()["error"],
        "body_too_large",
        "declared length: JSON error too"
    );
    let r = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/alerts")
                .header(header::AUTHORIZATION, format!("Bearer {secret}"))
                .header(header::ACCEPT_LANGUAGE, "en")
                .body(Body::from(huge))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["error"], "body_too_large");
    let beats = format!("{{\"heartbeats\": [\"{}\"]}}", "x".repeat(2 * 1024 * 1024));
    let r = app
        .post_json("/api/v1/cameras/heartbeat", beats, Some(&secret), None)
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["error"], "body_too_large");
    // Well under 16 MiB but over the general 1 MiB: alert batches with snapshots pass.
    let snaps: Vec<Value> = (0..12)
        .map(|i| {
            let mut a = alert(
                &format!("snap-{i}"),
                "T-KEY-1",
                "intrusion",
                now() - 20 * MIN + i * MIN,
            );
            a["snapshot"] = json!(b64(&big_png(120 * 1024)));
            a
        })
        .collect();
    created(app, &secret, snaps).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM alerts").await, alerts + 12);

    // Revoked: refused at once, and the revocation is audited.
    let r = app
        .call(
            "admin/keys/revoke",
            &[("id", &key_id.to_string())],
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.audit_count("api_key.revoke", OK).await, 1);
    let again = vec![alert(
        "key-2",
        "T-KEY-1",
        "illegal_parking",
        now() - 5 * MIN,
    )];
    let r = post_alerts(app, &secret, again).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"], "revoked_key");
    let r = post_beats(app, &secret, vec![json!({"camera": "T-KEY-1"})]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app
        .call(
            "admin/keys/revoke",
            &[("id", &key_id.to_string())],
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "revoked once");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM alerts").await, alerts + 12);
}

async fn alerts_group_into_incidents_across_posts(app: &TestApp) {
    let k = psb_key(app).await;
    camera(app, &k, "T-GRP-1").await;
    let t0 = now() - 120 * MIN;
    let snap = |mut a: Value| {
        a["snapshot"] = json!(b64(TINY_PNG));
        a
    };
    // First post: two alerts two minutes apart.
    let mut a1 = alert("grp-1", "T-GRP-1", "illegal_parking", t0);
    a1["confidence"] = json!(0.61);
    let first = created(
        app,
        &k,
        vec![
            snap(a1),
            alert("grp-2", "T-GRP-1", "illegal_parking", t0 + 2 * MIN),
        ],
    )
    .await;
    let inc = first[0].1;
    assert_eq!(first[1].1, inc, "one incident");
    // Second post: later and earlier alerts within the window join it; another type on the
    // same camera is another incident.
    let mut a3 = alert("grp-3", "T-GRP-1", "illegal_parking", t0 + 9 * MIN);
    a3["confidence"] = json!(0.93);
    let second = created(
        app,
        &k,
        vec![
            snap(a3),
            snap(alert("grp-4", "T-GRP-1", "illegal_parking", t0 - 4 * MIN)),
            alert("grp-5", "T-GRP-1", "crowding", t0 + MIN),
        ],
    )
    .await;
    assert_eq!((second[0].1, second[1].1), (inc, inc));
    assert_ne!(second[2].1, inc);
    let i = incident(app, inc).await;
    assert_eq!(i.snapshot, Some(second[0].0), "the latest snapshot");
    // An earlier alert with a snapshot, arriving later: counted, but the latest stays shown.
    let late = created(
        app,
        &k,
        vec![snap(alert("grp-7", "T-GRP-1", "illegal_parking", t0 + MIN))],
    )
    .await;
    assert_eq!(late[0].1, inc);
    let i = incident(app, inc).await;
    assert_eq!(i.count, 5);
    assert_eq!(i.first_seen, t0 - 4 * MIN);
    assert_eq!(i.last_seen, t0 + 9 * MIN);
    assert_eq!(i.max_confidence, Some(0.93));
    assert_eq!(i.state, "new");
    assert_eq!(
        i.owner,
        dept(app, "psb").await,
        "Sky Eye data belongs to psb"
    );
    // The snapshot shown is the latest alert's, even when an earlier one arrives later.
    assert_eq!(i.snapshot, Some(second[0].0));
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM alerts WHERE incident_id = $1",
            inc
        )
        .await,
        5
    );
    // Past the window after the last alert: a new incident.
    let third = created(
        app,
        &k,
        vec![alert("grp-6", "T-GRP-1", "illegal_parking", t0 + 25 * MIN)],
    )
    .await;
    assert_ne!(third[0].1, inc);
    assert_eq!(incident(app, third[0].1).await.count, 1);
    assert_eq!(incident(app, inc).await.count, 5);
    // The list shows them with their counts, newest first.
    let sk = app.session("skyeye").await;
    let r = app
        .call(
            "alerts/list",
            &[("filter[camera]", "T-GRP-1"), ("filter[page]", "1")],
            Some(&sk),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["total"], 3);
    assert_eq!(v["items"][0]["id"].as_i64(), Some(third[0].1));
    let row = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"].as_i64() == Some(inc))
        .unwrap();
    assert_eq!(row["alert_count"], 5);
    assert_eq!(row["snapshot_alert_id"].as_i64(), Some(second[0].0));

    // The camera and type its alerts refer to can be neither deleted nor renumbered (on
    // PostgreSQL this guard stands in for the alerts' foreign keys: migration 0005).
    let cam = camera_id(app, "T-GRP-1").await;
    let alerts_of = "SELECT COUNT(*) FROM alerts WHERE camera_id = $1";
    let before = count(app, alerts_of, cam).await;
    assert!(before >= 5);
    for sql in [
        "DELETE FROM cameras WHERE id = $1",
        "UPDATE cameras SET id = id + 100000 WHERE id = $1",
        "DELETE FROM alert_types WHERE id = (SELECT type_id FROM alerts WHERE camera_id = $1 LIMIT 1)",
        "UPDATE alert_types SET id = id + 100000 WHERE id = (SELECT type_id FROM alerts WHERE camera_id = $1 LIMIT 1)",
    ] {
        let e = sqlx::query(sql)
            .bind(cam)
            .execute(app.pool())
            .await
            .expect_err(sql);
        assert!(e.to_string().contains("never deleted"), "{sql}: {e}");
    }
    assert_eq!(count(app, alerts_of, cam).await, before);
}

async fn heartbeats_register_cameras_and_raise_health(app: &TestApp) {
    let k = psb_key(app).await;
    let psb = dept(app, "psb").await;
    // Unknown without a name and place: refused.
    let r = post_beats(
        app,
        &k,
        vec![json!({"camera": "T-HB-1", "status": "online"})],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.json()["results"][0]["errors"][0]["code"],
        "unknown_camera"
    );
    // With them: registered to the key's department, in the grid of its place.
    let r = post_beats(
        app,
        &k,
        vec![
            json!({"camera": "T-HB-1", "name": "迎泽大街东口", "lon": LON, "lat": LAT}),
            json!({"camera": "T-HB-2", "name": "北京某处", "lon": 116.40, "lat": 39.90}),
            json!({"camera": "T-HB-3", "status": "exploded", "name": "x", "lon": LON, "lat": LAT}),
            json!({"camera": "TY-SE-0001"}),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["accepted"], 1);
    assert_eq!(v["results"][0]["status"], "registered");
    assert_eq!(v["results"][1]["errors"][0]["code"], "outside_grids");
    assert_eq!(v["results"][2]["errors"][0]["code"], "bad_status");
    // TY-SE-0001 belongs to the transport bureau.
    assert_eq!(v["results"][3]["errors"][0]["code"], "camera_not_yours");
    let (name, lon, lat, dept_id, status, source): (String, f64, f64, i64, String, String) =
        sqlx::query_as(
            "SELECT name, lon, lat, department_id, status, source FROM cameras WHERE code = 'T-HB-1'",
        )
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(
        (
            name.as_str(),
            lon,
            lat,
            dept_id,
            status.as_str(),
            source.as_str()
        ),
        ("迎泽大街东口", LON, LAT, psb, "online", "test-vms")
    );
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM cameras c JOIN grids g ON g.id = c.grid_id WHERE c.code = 'T-HB-1' \
             AND c.lon BETWEEN g.min_lon AND g.max_lon AND c.lat BETWEEN g.min_lat AND g.max_lat"
        )
        .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM cameras WHERE code IN ('T-HB-2', 'T-HB-3')")
            .await,
        0
    );
    // Alerts for another department's camera are refused too.
    let r = post_alerts(
        app,
        &k,
        vec![alert("hb-x", "TY-SE-0001", "illegal_parking", now() - MIN)],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json()["results"][0]["errors"][0]["code"],
        "camera_not_yours"
    );
    // A known camera beats without name: ok.
    let r = post_beats(app, &k, vec![json!({"camera": "T-HB-1"})]).await;
    assert_eq!(r.json()["results"][0]["status"], "ok", "{}", r.body);

    // Tampered: a health incident for the camera's owner, once.
    let transport = key(app, "transport", "traffic-vms", &["heartbeats"]).await;
    let cam = camera_id(app, "TY-SE-0001").await;
    let open_sql = "SELECT COUNT(*) FROM incidents i JOIN alert_types t ON t.id = i.type_id \
                    WHERE i.camera_id = $1 AND t.code = 'camera_tampered' AND i.state = 'new'";
    assert_eq!(count(app, open_sql, cam).await, 0);
    let mut rx = live_ready(&app.state).await;
    for _ in 0..2 {
        let r = post_beats(
            app,
            &transport,
            vec![json!({"camera": "TY-SE-0001", "status": "tampered"})],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    notice(&mut rx, "incidents").await;
    assert_eq!(
        count(app, open_sql, cam).await,
        1,
        "one incident, not one per beat"
    );
    let (inc, owner, severity): (i64, i64, String) = sqlx::query_as(
        "SELECT i.id, i.owner_department_id, i.severity FROM incidents i JOIN alert_types t ON t.id = i.type_id \
         WHERE i.camera_id = $1 AND t.code = 'camera_tampered' AND i.state = 'new'",
    )
    .bind(cam)
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(
        owner,
        dept(app, "transport").await,
        "health belongs to the camera's owner"
    );
    assert_eq!(severity, "critical");
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM cameras WHERE id = $1 AND status = 'tampered'",
            cam
        )
        .await,
        1
    );
    // Back to normal: the incident is resolved by the system, with its event.
    let r = post_beats(
        app,
        &transport,
        vec![json!({"camera": "TY-SE-0001", "status": "online"})],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let i = incident(app, inc).await;
    assert_eq!(i.state, "resolved");
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM incident_events WHERE incident_id = $1 AND action = 'resolve' \
             AND from_state = 'new' AND to_state = 'resolved' AND user_id IS NULL",
            inc
        )
        .await,
        1
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM cameras WHERE id = $1 AND status = 'online'",
            cam
        )
        .await,
        1
    );
    // The psb officer reads it; a transport key's heartbeat made it, psb's key cannot.
    let sk = app.session("skyeye").await;
    let r = app
        .call("alerts/get", &[("id", &inc.to_string())], Some(&sk))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = r.json();
    assert_eq!(d["health"], true);
    assert_eq!(d["may_triage"], false, "another department's camera");
}

async fn silent_cameras_are_swept_offline(app: &TestApp) {
    let k = psb_key(app).await;
    let quiet = camera(app, &k, "T-SW-1").await;
    let alive = camera(app, &k, "T-SW-2").await;
    let t = now();
    // T-SW-1 last spoke twenty minutes ago.
    sqlx::query("UPDATE cameras SET last_heartbeat_at = $1 WHERE id = $2")
        .bind(t - 20 * MIN)
        .bind(quiet)
        .execute(app.pool())
        .await
        .unwrap();
    let ids = app::db::ingest::sweep_offline(&app.state.store, t, 5 * MIN)
        .await
        .unwrap();
    let offline_sql = "SELECT COUNT(*) FROM incidents i JOIN alert_types t ON t.id = i.type_id \
                       WHERE i.camera_id = $1 AND t.code = 'camera_offline'";
    assert_eq!(count(app, offline_sql, quiet).await, 1);
    assert_eq!(count(app, offline_sql, alive).await, 0);
    let inc: i64 = sqlx::query_scalar(
        "SELECT i.id FROM incidents i JOIN alert_types t ON t.id = i.type_id \
         WHERE i.camera_id = $1 AND t.code = 'camera_offline'",
    )
    .bind(quiet)
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert!(ids.contains(&inc), "{ids:?}");
    let i = incident(app, inc).await;
    assert_eq!(
        (i.state.as_str(), i.type_code.as_str()),
        ("new", "camera_offline")
    );
    assert_eq!(i.owner, dept(app, "psb").await);
    let (status, since): (String, i64) =
        sqlx::query_as("SELECT status, status_since FROM cameras WHERE id = $1")
            .bind(quiet)
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!((status.as_str(), since), ("offline", t));
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM cameras WHERE id = $1 AND status = 'online'",
            alive
        )
        .await,
        1
    );
    // A second sweep finds it offline already: no second incident.
    let again = app::db::ingest::sweep_offline(&app.state.store, t + MIN, 5 * MIN)
        .await
        .unwrap();
    assert!(!again.contains(&inc));
    assert_eq!(count(app, offline_sql, quiet).await, 1);
    // Two app servers sweeping at once open one incident.
    sqlx::query("UPDATE cameras SET last_heartbeat_at = $1 WHERE id = $2")
        .bind(t - 20 * MIN)
        .bind(alive)
        .execute(app.pool())
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        app::db::ingest::sweep_offline(&app.state.store, t + MIN, 5 * MIN),
        app::db::ingest::sweep_offline(&app.state.store, t + MIN, 5 * MIN)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(count(app, offline_sql, alive).await, 1, "{a:?} {b:?}");
    // It comes back covered: no longer offline, but tampered.
    let open_sql = "SELECT COUNT(*) FROM incidents i JOIN alert_types t ON t.id = i.type_id \
                    WHERE i.camera_id = $1 AND t.health = TRUE AND i.state = 'new' AND t.code = ";
    let offline_open = format!("{open_sql}'camera_offline'");
    let tampered_open = format!("{open_sql}'camera_tampered'");
    assert_eq!(count(app, &offline_open, alive).await, 1);
    for _ in 0..2 {
        let r = post_beats(
            app,
            &k,
            vec![json!({"camera": "T-SW-2", "status": "tampered"})],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    assert_eq!(
        count(app, &offline_open, alive).await,
        0,
        "the camera speaks again"
    );
    assert_eq!(count(app, &tampered_open, alive).await, 1);
    let r = post_beats(
        app,
        &k,
        vec![json!({"camera": "T-SW-2", "status": "online"})],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(count(app, &tampered_open, alive).await, 0);
    // A camera reported online while a health incident is still open (a sweep raced its
    // beat): the next beat ends the incident.
    let stale = {
        let mut tx = app.state.store.begin().await.unwrap();
        let id = app::db::ingest::raise_health(&mut tx, alive, "camera_offline", now())
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        id
    };
    let r = post_beats(app, &k, vec![json!({"camera": "T-SW-2"})]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(incident(app, stale).await.state, "resolved");
    // The camera speaks again: its offline incident is resolved.
    let r = post_beats(app, &k, vec![json!({"camera": "T-SW-1"})]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(incident(app, inc).await.state, "resolved");
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM cameras WHERE id = $1 AND status = 'online'",
            quiet
        )
        .await,
        1
    );
}

async fn triage_acknowledges_and_dismisses(app: &TestApp) {
    let k = psb_key(app).await;
    camera(app, &k, "T-TRI-1").await;
    let t0 = now() - 90 * MIN;
    let snap = |mut a: Value| {
        a["snapshot"] = json!(b64(TINY_PNG));
        a
    };
    let made = created(
        app,
        &k,
        vec![
            snap(alert("tri-1", "T-TRI-1", "illegal_parking", t0)),
            alert("tri-2", "T-TRI-1", "illegal_parking", t0 + MIN),
            alert("tri-3", "T-TRI-1", "street_vending", t0),
            alert("tri-4", "T-TRI-1", "garbage_overflow", t0),
            alert("tri-5", "T-TRI-1", "road_obstruction", t0),
        ],
    )
    .await;
    let (i1, i2, i3, i4) = (made[0].1, made[2].1, made[3].1, made[4].1);
    let sk = app.session("skyeye").await;
    let officer = app.user_id("skyeye").await;
    // Opening an incident marks it reviewed by the caller.
    let r = app
        .call("alerts/get", &[("id", &i1.to_string())], Some(&sk))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = r.json();
    assert_eq!(d["may_triage"], true);
    assert_eq!(d["alerts"].as_array().unwrap().len(), 2);
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM incident_reviews WHERE incident_id = $1",
            i1
        )
        .await,
        1
    );
    // Acknowledge.
    let r = triage(app, &sk, &[i1], "acknowledge", "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["changed"], json!([i1]));
    assert_eq!(incident(app, i1).await.state, "acknowledged");
    assert!(app.audit_count("incident.acknowledge", OK).await > 0);
    // Dismissing needs a reason.
    let r = triage(app, &sk, &[i1], "dismiss", "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("reason"), "{}", r.body);
    let r = triage(app, &sk, &[i1], "dismiss", "it_looked_fine").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(incident(app, i1).await.state, "acknowledged");
    let alerts_before = count(
        app,
        "SELECT COUNT(*) FROM alerts WHERE incident_id = $1",
        i1,
    )
    .await;
    let snaps_before = count(
        app,
        "SELECT COUNT(*) FROM alert_snapshots s JOIN alerts a ON a.id = s.alert_id WHERE a.incident_id = $1",
        i1,
    )
    .await;
    let r = triage(app, &sk, &[i1], "dismiss", "false_positive").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let i = incident(app, i1).await;
    assert_eq!(
        (i.state.as_str(), i.reason.as_deref()),
        ("dismissed", Some("false_positive"))
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM incidents WHERE id = $1 AND decided_by IS NOT NULL",
            i1
        )
        .await,
        1
    );
    let who: i64 = count(app, "SELECT decided_by FROM incidents WHERE id = $1", i1).await;
    assert_eq!(who, officer);
    // Who decided what, in order.
    let events: Vec<(String, String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT action, from_state, to_state, reason, note FROM incident_events WHERE incident_id = $1 ORDER BY id",
    )
    .bind(i1)
    .fetch_all(app.pool())
    .await
    .unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1].0, "dismiss");
    assert_eq!(
        (events[1].1.as_str(), events[1].2.as_str()),
        ("acknowledged", "dismissed")
    );
    assert_eq!(events[1].3.as_deref(), Some("false_positive"));
    assert_eq!(events[1].4, "checked on the video wall");
    // Evidence is kept.
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM alerts WHERE incident_id = $1",
            i1
        )
        .await,
        alerts_before
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM alert_snapshots s JOIN alerts a ON a.id = s.alert_id WHERE a.incident_id = $1",
            i1
        )
        .await,
        snaps_before
    );
    assert_eq!(snaps_before, 1);
    let r = app
        .get(&format!("/snapshots/{}", made[0].0), Some(&sk))
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "a dismissed incident's snapshot is still served"
    );
    // The event log cannot be rewritten.
    assert!(
        sqlx::query("DELETE FROM incident_events WHERE incident_id = $1")
            .bind(i1)
            .execute(app.pool())
            .await
            .is_err()
    );
    // A finished incident takes no more steps and absorbs no more alerts.
    let r = triage(app, &sk, &[i1], "acknowledge", "").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let later = created(
        app,
        &k,
        vec![alert("tri-6", "T-TRI-1", "illegal_parking", t0 + 3 * MIN)],
    )
    .await;
    assert_ne!(later[0].1, i1, "a new incident after the dismissal");
    assert_eq!(incident(app, i1).await.count, 2);

    // Dismissed while a batch is being stored (another app server, at the same moment):
    // the batch's alert does not disappear into the finished incident.
    let racing = created(app, &k, vec![alert("tri-7", "T-TRI-1", "intrusion", t0)]).await[0].1;
    let mut tx = app.state.store.begin().await.unwrap();
    sqlx::query(
        "UPDATE incidents SET state = 'dismissed', dismiss_reason = 'false_positive', \
         version = version + 1 WHERE id = $1",
    )
    .bind(racing)
    .execute(&mut *tx)
    .await
    .unwrap();
    let (r, ()) = tokio::join!(
        post_alerts(
            app,
            &k,
            vec![alert("tri-8", "T-TRI-1", "intrusion", t0 + MIN)]
        ),
        async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            tx.commit().await.unwrap();
        }
    );
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_ne!(
        r.json()["results"][0]["incident_id"].as_i64(),
        Some(racing),
        "{}",
        r.body
    );
    assert_eq!(incident(app, racing).await.count, 1);

    // Bulk: changed and skipped, each checked on its own.
    let r = triage(app, &sk, &[i2, i3, i1, 99_999_999], "acknowledge", "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["changed"], json!([i2, i3]));
    assert_eq!(v["skipped"], json!([i1, 99_999_999]));
    let r = triage(app, &sk, &[i2, i3, i4], "dismiss", "duplicate").await;
    assert_eq!(r.json()["changed"], json!([i2, i3, i4]), "{}", r.body);
    for id in [i2, i3, i4] {
        assert_eq!(incident(app, id).await.reason.as_deref(), Some("duplicate"));
    }
    // Not a blind "mark all": at most 200 at once, and nothing else than the two steps.
    let many: Vec<i64> = (1..=201).collect();
    let r = triage(app, &sk, &many, "acknowledge", "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = triage(app, &sk, &[later[0].1], "escalate", "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app
        .call(
            "alerts/triage",
            &[("ids", "1,x"), ("step", "acknowledge")],
            Some(&sk),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // Another department may read a granted incident but not triage it.
    let denied = app.audit_count("incident.acknowledge", "denied").await;
    let dc = app.session("dispatcher").await;
    let r = triage(app, &dc, &[later[0].1], "acknowledge", "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(
        app.audit_count("incident.acknowledge", "denied").await,
        denied + 1
    );
    assert_eq!(incident(app, later[0].1).await.state, "new");
    // Roles outside Sky Eye: refused.
    let ic = app.session("inspector").await;
    let r = triage(app, &ic, &[later[0].1], "acknowledge", "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

async fn departments_see_what_is_shared_with_them(app: &TestApp) {
    let k = psb_key(app).await;
    camera(app, &k, "T-SH-1").await;
    let t0 = now() - 30 * MIN;
    let snap = |mut a: Value| {
        a["snapshot"] = json!(b64(TINY_PNG));
        a
    };
    let made = created(
        app,
        &k,
        vec![
            snap(alert("sh-1", "T-SH-1", "illegal_parking", t0)),
            snap(alert("sh-2", "T-SH-1", "crowding", t0)),
        ],
    )
    .await;
    let (park, crowd) = (made[0].1, made[1].1);
    let (park_snap, crowd_snap) = (made[0].0, made[1].0);
    let sk = app.session("skyeye").await;
    let dc = app.session("dispatcher").await;
    let wc = app.session("water").await;
    let lc = app.session("leader").await;
    // The owner and leaders see all; the city management bureau what is granted to it;
    // the water bureau nothing.
    assert_eq!(listed(app, &sk, "T-SH-1").await, vec![park, crowd]);
    assert_eq!(listed(app, &lc, "T-SH-1").await, vec![park, crowd]);
    // Who has opened what is kept per person.
    let r = app
        .call("alerts/get", &[("id", &park.to_string())], Some(&sk))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let reviewed = |cookie: String| async move {
        let r = app
            .call(
                "alerts/list",
                &[("filter[camera]", "T-SH-1"), ("filter[page]", "1")],
                Some(&cookie),
            )
            .await;
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"].as_i64() == Some(park))
            .unwrap()["reviewed"]
            .clone()
    };
    assert_eq!(reviewed(sk.clone()).await, json!(true));
    assert_eq!(reviewed(lc.clone()).await, json!(false));
    assert_eq!(listed(app, &dc, "T-SH-1").await, vec![park]);
    assert_eq!(listed(app, &wc, "T-SH-1").await, Vec::<i64>::new());
    let r = app
        .call("alerts/get", &[("id", &crowd.to_string())], Some(&dc))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app
        .call("alerts/get", &[("id", &park.to_string())], Some(&dc))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["may_triage"], false);
    let r = app
        .call("alerts/get", &[("id", &park.to_string())], Some(&wc))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // Snapshots: the owner's views are not audited, other departments' are.
    let views = app.audit_count("snapshot.view", OK).await;
    let r = app.get(&format!("/snapshots/{park_snap}"), Some(&sk)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(
        r.body,
        String::from_utf8_lossy(TINY_PNG),
        "the bytes as received"
    );
    assert!(r.headers[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("no-store"));
    assert_eq!(app.audit_count("snapshot.view", OK).await, views);
    let r = app.get(&format!("/snapshots/{park_snap}"), Some(&dc)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(app.audit_count("snapshot.view", OK).await, views + 1);
    let (target, user): (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT target_id, username FROM audit_log WHERE action = 'snapshot.view' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(target, Some(park_snap.to_string()));
    assert_eq!(user.as_deref(), Some("dispatcher"));
    let r = app
        .get(&format!("/snapshots/{crowd_snap}"), Some(&dc))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get(&format!("/snapshots/{park_snap}"), Some(&wc)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .get(&format!("/snapshots/{crowd_snap}"), Some(&lc))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        app.audit_count("snapshot.view", OK).await,
        views + 2,
        "leaders are another department"
    );
    let r = app.get(&format!("/snapshots/{park_snap}"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let ic = app.session("inspector").await;
    let r = app.get(&format!("/snapshots/{park_snap}"), Some(&ic)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.audit_count("snapshot.view", OK).await, views + 2);

    // Escalated and dispatched to the water bureau: now water sees it, and only it.
    let v = incident(app, park).await.version;
    let r = escalate(app, &sk, park, v).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let case_id: i64 = r.body.trim().parse().unwrap();
    assert_eq!(
        listed(app, &wc, "T-SH-1").await,
        Vec::<i64>::new(),
        "not dispatched yet"
    );
    case_step(app, "dispatcher", case_id, "file", &[]).await;
    let water = dept(app, "water").await.to_string();
    case_step(
        app,
        "dispatcher",
        case_id,
        "dispatch",
        &[("department_id", &water)],
    )
    .await;
    assert_eq!(listed(app, &wc, "T-SH-1").await, vec![park]);
    let r = app
        .call("alerts/get", &[("id", &park.to_string())], Some(&wc))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.get(&format!("/snapshots/{park_snap}"), Some(&wc)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(app.audit_count("snapshot.view", OK).await, views + 3);
    let r = app
        .get(&format!("/snapshots/{crowd_snap}"), Some(&wc))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The dispatcher still does not see crowding; cameras are not its page.
    assert_eq!(listed(app, &dc, "T-SH-1").await, vec![park]);
    let r = app
        .call("cameras/list", &[("filter[page]", "1")], Some(&dc))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

async fn escalation_opens_one_linked_case(app: &TestApp) {
    let k = psb_key(app).await;
    camera(app, &k, "T-ESC-1").await;
    let t0 = now() - 40 * MIN;
    let mut a = alert("esc-1", "T-ESC-1", "road_obstruction", t0);
    a["snapshot"] = json!(b64(TINY_PNG));
    let made = created(
        app,
        &k,
        vec![a, alert("esc-2", "T-ESC-1", "road_obstruction", t0 + MIN)],
    )
    .await;
    let (snap_alert, inc) = made[0];
    let sk = app.session("skyeye").await;
    let dc = app.session("dispatcher").await;
    let cases = app.scalar("SELECT COUNT(*) FROM cases").await;
    // Another department cannot escalate (and the refusal is audited).
    let v = incident(app, inc).await.version;
    let r = escalate(app, &dc, inc, v).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(app.audit_count("incident.escalate", "denied").await, 1);
    // Two officers escalating at once: one case.
    let (a, b) = tokio::join!(escalate(app, &sk, inc, v), escalate(app, &sk, inc, v));
    let oks: Vec<&Resp> = [&a, &b]
        .into_iter()
        .filter(|r| r.status == StatusCode::OK)
        .collect();
    assert_eq!(
        oks.len(),
        1,
        "{} {} / {} {}",
        a.status,
        a.body,
        b.status,
        b.body
    );
    let other = if a.status == StatusCode::OK { &b } else { &a };
    assert_eq!(other.status, StatusCode::CONFLICT, "{}", other.body);
    let case_id: i64 = oks[0].body.trim().parse().unwrap();
    assert_eq!(app.scalar("SELECT COUNT(*) FROM cases").await, cases + 1);
    // Again with the new version: the state does not allow it.
    let v2 = incident(app, inc).await.version;
    let r = escalate(app, &sk, inc, v2).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM cases").await, cases + 1);
    // Linked both ways.
    let i = incident(app, inc).await;
    assert_eq!((i.state.as_str(), i.case_id), ("escalated", Some(case_id)));
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM incidents WHERE case_id = $1",
            case_id
        )
        .await,
        1
    );
    let (source, state, class): (String, String, String) = sqlx::query_as(
        "SELECT c.source, c.state, k.code FROM cases c JOIN case_classes k ON k.id = c.class_id WHERE c.id = $1",
    )
    .bind(case_id)
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(
        (source.as_str(), state.as_str(), class.as_str()),
        ("skyeye", "reported", "0108")
    );
    // The snapshot is the case's report photo, remembered as a Sky Eye copy.
    let photo: (i64, String, Option<i64>) =
        sqlx::query_as("SELECT id, stage, alert_id FROM case_photos WHERE case_id = $1")
            .bind(case_id)
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!((photo.1.as_str(), photo.2), ("report", Some(snap_alert)));
    // In the dispatcher's queue, and the case shows its source and its incident.
    let r = app.call("cases/queue", &[], Some(&dc)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"].as_i64() == Some(case_id)),
        "escalated case not in the dispatcher's queue"
    );
    let r = app
        .call("cases/get", &[("id", &case_id.to_string())], Some(&dc))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = r.json();
    assert_eq!(d["source"], "skyeye");
    assert_eq!(d["incident_id"].as_i64(), Some(inc));
    assert_eq!(d["photos"].as_array().unwrap().len(), 1);
    assert!(
        d["description"].as_str().unwrap().contains("Sky Eye"),
        "{}",
        d["description"]
    );
    // The copy is audited like the snapshot when another department views it.
    let views = app.audit_count("snapshot.view", OK).await;
    let r = app.get(&format!("/photos/{}", photo.0), Some(&dc)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(app.audit_count("snapshot.view", OK).await, views + 1);
    // The escalation is in the incident's history and the audit log.
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM incident_events WHERE incident_id = $1 AND action = 'escalate' AND to_state = 'escalated'",
            inc
        )
        .await,
        1
    );
    assert!(app.audit_count("incident.escalate", OK).await >= 1);
    // More alerts of the same thing join the escalated incident.
    let more = created(
        app,
        &k,
        vec![alert("esc-3", "T-ESC-1", "road_obstruction", t0 + 5 * MIN)],
    )
    .await;
    assert_eq!(more[0].1, inc);
    assert_eq!(incident(app, inc).await.count, 3);
    // Health incidents are not escalated.
    let health: i64 = {
        let cam = camera_id(app, "T-ESC-1").await;
        let mut tx = app.state.store.begin().await.unwrap();
        let id = app::db::ingest::raise_health(&mut tx, cam, "camera_tampered", now())
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        id
    };
    let r = escalate(app, &sk, health, incident(app, health).await.version).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    // The dispatcher does not file it: the case ends, and so does the incident.
    let mut rx = live_ready(&app.state).await;
    case_step(
        app,
        "dispatcher",
        case_id,
        "reject",
        &[("note", "车辆已驶离，无需立案")],
    )
    .await;
    notice(&mut rx, "incidents").await;
    let i = incident(app, inc).await;
    assert_eq!(i.state, "resolved");
    assert_eq!(i.case_id, Some(case_id));
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM incident_events WHERE incident_id = $1 AND action = 'resolve' \
             AND from_state = 'escalated' AND to_state = 'resolved'",
            inc
        )
        .await,
        1
    );
    // A new alert after the end opens a new incident.
    let after = created(
        app,
        &k,
        vec![alert("esc-4", "T-ESC-1", "road_obstruction", t0 + 6 * MIN)],
    )
    .await;
    assert_ne!(after[0].1, inc);
}

async fn changes_are_announced_live(app: &TestApp) {
    let k = psb_key(app).await;
    let mut rx = live_ready(&app.state).await;
    camera(app, &k, "T-LIVE-1").await;
    notice(&mut rx, "cameras").await;
    post_alerts(
        app,
        &k,
        vec![alert("live-1", "T-LIVE-1", "smoke_fire", now() - MIN)],
    )
    .await;
    notice(&mut rx, "incidents").await;
    // A retry changes nothing and announces nothing.
    post_alerts(
        app,
        &k,
        vec![alert("live-1", "T-LIVE-1", "smoke_fire", now() - MIN)],
    )
    .await;
    let quiet = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await;
    assert!(quiet.is_err(), "unexpected notice {quiet:?}");
    // Triage is announced too.
    let inc: i64 = app
        .scalar("SELECT incident_id FROM alerts WHERE external_id = 'live-1'")
        .await;
    let sk = app.session("skyeye").await;
    let r = triage(app, &sk, &[inc], "acknowledge", "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    notice(&mut rx, "incidents").await;
    // The event stream needs a signed-in Sky Eye role.
    let r = app.get("/live", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let ic = app.session("inspector").await;
    let r = app.get("/live", Some(&ic)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn lists_cameras_and_statistics_follow_the_data(app: &TestApp) {
    let k = psb_key(app).await;
    camera(app, &k, "T-ST-1").await;
    let t0 = now() - 30 * MIN;
    let made = created(
        app,
        &k,
        vec![
            alert("st-1", "T-ST-1", "illegal_parking", t0),
            alert("st-2", "T-ST-1", "illegal_parking", t0 + MIN),
            alert("st-3", "T-ST-1", "illegal_parking", t0 + 2 * MIN),
            alert("st-4", "T-ST-1", "crowding", t0),
            alert("st-5", "T-ST-1", "smoke_fire", t0),
        ],
    )
    .await;
    let (park, crowd, fire) = (made[0].1, made[3].1, made[4].1);
    let sk = app.session("skyeye").await;
    let r = triage(app, &sk, &[crowd, fire], "dismiss", "false_positive").await;
    assert_eq!(r.json()["changed"], json!([crowd, fire]), "{}", r.body);
    // Incident list filters.
    let list = |filters: Vec<(&'static str, String)>| {
        let sk = sk.clone();
        async move {
            let mut form: Vec<(&str, String)> = vec![
                ("filter[camera]", "T-ST-1".into()),
                ("filter[page]", "1".into()),
            ];
            form.extend(filters);
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call("alerts/list", &form, Some(&sk)).await
        }
    };
    let ids = |r: &Resp| -> Vec<i64> {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let mut v: Vec<i64> = r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(
        ids(&list(vec![("filter[state]", "open".into())]).await),
        vec![park]
    );
    assert_eq!(
        ids(&list(vec![("filter[state]", "dismissed".into())]).await),
        vec![crowd, fire]
    );
    assert_eq!(
        ids(&list(vec![("filter[severity]", "critical".into())]).await),
        vec![fire]
    );
    let parking: i64 = app
        .scalar("SELECT id FROM alert_types WHERE code = 'illegal_parking'")
        .await;
    assert_eq!(
        ids(&list(vec![("filter[type_id]", parking.to_string())]).await),
        vec![park]
    );
    let today = rfc3339(now())[..10].to_string();
    let tomorrow = rfc3339(now() + 86_400_000)[..10].to_string();
    let yesterday = rfc3339(now() - 86_400_000)[..10].to_string();
    assert_eq!(
        ids(&list(vec![
            ("filter[from]", yesterday.clone()),
            ("filter[to]", tomorrow.clone())
        ])
        .await),
        vec![park, crowd, fire]
    );
    assert_eq!(
        ids(&list(vec![("filter[from]", tomorrow.clone())]).await),
        Vec::<i64>::new()
    );
    let r = list(vec![("filter[state]", "sleeping".into())]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = list(vec![("filter[from]", "2026-13-40".into())]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // Cameras: the owner sees all, with open incidents; a department head its own.
    let r = app
        .call(
            "cameras/list",
            &[("filter[q]", "t-st"), ("filter[page]", "1")],
            Some(&sk),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["total"], 1, "{}", r.body);
    assert_eq!(v["items"][0]["code"], "T-ST-1");
    assert_eq!(v["items"][0]["open_incidents"], 1);
    let r = app
        .call(
            "cameras/list",
            &[("filter[status]", "offline"), ("filter[page]", "1")],
            Some(&sk),
        )
        .await;
    let offline = app
        .scalar("SELECT COUNT(*) FROM cameras WHERE status = 'offline'")
        .await;
    assert_eq!(r.json()["total"].as_i64(), Some(offline), "{}", r.body);
    let r = app.call("cameras/health", &[], Some(&sk)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let total: i64 = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["online"].as_i64().unwrap()
                + d["offline"].as_i64().unwrap()
                + d["tampered"].as_i64().unwrap()
        })
        .sum();
    assert_eq!(total, app.scalar("SELECT COUNT(*) FROM cameras").await);
    let wh = app.session("waterhead").await;
    let r = app
        .call("cameras/list", &[("filter[page]", "1")], Some(&wh))
        .await;
    assert_eq!(r.json()["total"], 0, "{}", r.body);
    let r = app.call("cameras/health", &[], Some(&wh)).await;
    assert_eq!(r.json(), json!([]), "{}", r.body);

    // Statistics agree with the incidents of the period.
    let r = app
        .call(
            "cameras/stats",
            &[("from", &yesterday), ("to", &today)],
            Some(&sk),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let st = r.json();
    let start = app::db::local_day_start_ms(&yesterday).unwrap();
    let end = app::db::local_day_start_ms(&today).unwrap() + 86_400_000;
    let period = |sql: &str| {
        let sql = sql.to_string();
        async move {
            sqlx::query_scalar::<_, i64>(&sql)
                .bind(start)
                .bind(end)
                .fetch_one(app.pool())
                .await
                .unwrap()
        }
    };
    let incidents =
        period("SELECT COUNT(*) FROM incidents WHERE first_seen >= $1 AND first_seen < $2").await;
    let alerts = period(
        "SELECT COUNT(*) FROM alerts a JOIN incidents i ON i.id = a.incident_id WHERE i.first_seen >= $1 AND i.first_seen < $2",
    )
    .await;
    // Camera-health incidents count as one alert each but have no alert rows.
    let health = period(
        "SELECT COUNT(*) FROM incidents i JOIN alert_types t ON t.id = i.type_id \
         WHERE t.health = TRUE AND i.first_seen >= $1 AND i.first_seen < $2",
    )
    .await;
    let sum = |field: &str| -> i64 {
        st["by_type"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t[field].as_i64().unwrap())
            .sum()
    };
    assert_eq!(sum("incidents"), incidents);
    assert_eq!(sum("alerts"), alerts + health);
    let hours: i64 = st["by_hour"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|n| n.as_i64().unwrap()))
        .sum();
    assert_eq!(hours, alerts);
    let mine = st["by_camera"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "T-ST-1")
        .unwrap_or_else(|| panic!("T-ST-1 not among {}", st["by_camera"]));
    assert_eq!(mine["incidents"], 3);
    assert_eq!(mine["alerts"], 5);
    assert_eq!(mine["false_positive"], 2);
    assert_eq!(mine["fp_rate"].as_f64(), Some(1.0));
    let r = app
        .call(
            "cameras/stats",
            &[("from", &today), ("to", &yesterday)],
            Some(&sk),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let dc = app.session("dispatcher").await;
    let r = app.call("cameras/stats", &[], Some(&dc)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // An incident type without a case class needs one named to be escalated.
    let (crowd2, v) = {
        let c = created(app, &k, vec![alert("st-6", "T-ST-1", "intrusion", t0)]).await;
        (c[0].1, incident(app, c[0].1).await.version)
    };
    let r = escalate(app, &sk, crowd2, v).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("class_id"), "{}", r.body);
    // An empty choice from the form is no choice.
    let r = app
        .call(
            "alerts/escalate",
            &[
                ("id", &crowd2.to_string()),
                ("version", &v.to_string()),
                ("class_id", ""),
            ],
            Some(&sk),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("class_id"), "{}", r.body);
    assert_eq!(incident(app, crowd2).await.state, "new");
    let class: i64 = app
        .scalar("SELECT id FROM case_classes WHERE kind = 'event' AND code = '0108'")
        .await;
    let r = app
        .call(
            "alerts/escalate",
            &[
                ("id", &crowd2.to_string()),
                ("version", &v.to_string()),
                ("class_id", &class.to_string()),
                ("description", "夜间有人翻越围栏"),
            ],
            Some(&sk),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let case_id: i64 = r.body.trim().parse().unwrap();
    let (desc, photos): (String, i64) = sqlx::query_as(
        "SELECT description, (SELECT COUNT(*) FROM case_photos p WHERE p.case_id = c.id) FROM cases c WHERE c.id = $1",
    )
    .bind(case_id)
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(
        (desc.as_str(), photos),
        ("夜间有人翻越围栏", 0),
        "no snapshot, no photo"
    );

    // The event stream opens for Sky Eye roles.
    let req = Request::builder()
        .uri("/live")
        .header(header::COOKIE, &sk)
        .body(Body::empty())
        .unwrap();
    use tower::ServiceExt;
    let res = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
    drop(res);
    // An alert without a snapshot has none to show.
    let r = app
        .get(&format!("/snapshots/{}", made[0].0), Some(&sk))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// With PostgreSQL, a change made through one app server reaches the live pages of another
/// (LISTEN/NOTIFY): two states over one database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_notices_cross_app_servers_on_postgres() {
    let app = TestApp::new(Backend::Postgres).await;
    let mut config = common::test_config(app.state.config.database_url.clone());
    config.demo = Some(false);
    let other = citylink_server::build_state(config, common::leptos_options())
        .await
        .expect("second app server");
    common::within_limit(async {
        let k = psb_key(&app).await;
        camera(&app, &k, "T-X-1").await;
        let mut rx = live_ready(&other).await;
        let r = post_alerts(
            &app,
            &k,
            vec![alert("x-1", "T-X-1", "garbage_overflow", now() - MIN)],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        notice(&mut rx, "incidents").await;
        // And the other way round: a triage through the second server reaches the first.
        let mut rx_a = live_ready(&app.state).await;
        let inc: i64 = app
            .scalar("SELECT incident_id FROM alerts WHERE external_id = 'x-1'")
            .await;
        let b = citylink_server::router(other.clone());
        let login = {
            let form = format!(
                "username=skyeye&password={}&next=%2F",
                common::enc(app::db::seed::DEMO_PASSWORD)
            );
            let req = Request::builder()
                .method(Method::POST)
                .uri("/api/auth/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap();
            use tower::ServiceExt;
            b.clone().oneshot(req).await.unwrap()
        };
        let cookie = login
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("citylink_session="))
            .map(|c| c.split(';').next().unwrap().to_string())
            .expect("session on the second server");
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/alerts/triage")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookie)
            .body(Body::from(format!("ids={inc}&step=acknowledge")))
            .unwrap();
        use tower::ServiceExt;
        let res = b.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        notice(&mut rx_a, "incidents").await;
        assert_eq!(incident(&app, inc).await.state, "acknowledged");
    })
    .await;
    other.live.shutdown();
    other.store.close().await;
    app.finish().await;
}

/// Too many requests for one key: 429 with Retry-After; other keys are not held back.
mod rate_limit {
    use super::*;

    async fn run(backend: Backend) {
        let app = TestApp::with_config(backend, |c| c.api_rate = 1).await;
        common::within_limit(async {
            let k = psb_key(&app).await;
            let other = key(&app, "psb", "other-vms", &["heartbeats"]).await;
            camera(&app, &k, "T-RL-1").await;
            let mut statuses = Vec::new();
            for _ in 0..3 {
                let r = post_beats(&app, &k, vec![json!({"camera": "T-RL-1"})]).await;
                if r.status == StatusCode::TOO_MANY_REQUESTS {
                    assert_eq!(r.json()["error"], "rate_limited");
                    let wait: u64 = r.headers[header::RETRY_AFTER]
                        .to_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    assert!(wait >= 1);
                }
                statuses.push(r.status);
            }
            assert!(
                statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
                "{statuses:?}"
            );
            let r = post_beats(&app, &other, vec![json!({"camera": "T-RL-1"})]).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        })
        .await;
        app.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run(Backend::Postgres).await;
    }
}
