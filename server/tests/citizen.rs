//! Citizen intake through the real router, on SQLite and PostgreSQL: the public report page's
//! server function, the status by tracking code, the public photos, the spam trap and the
//! per-address limit.
mod common;

use app::photos::TINY_PNG;
use axum::http::StatusCode;
use common::TestApp;

on_both!(
    a_citizen_report_reaches_the_dispatcher_and_its_status_follows,
    bad_reports_are_refused_and_store_nothing,
    spam_trap_and_rate_limit,
    addresses_are_counted_apart_and_concurrent_reports_wait,
    unknown_and_malformed_codes,
);

/// Inside a Yingze grid (city centre), away from its centre (which is what gets published).
const LON: &str = "112.5612";
const LAT: &str = "37.8521";
/// A typed landmark: kept for staff, never published.
const LANDMARK: &str = "幸福里小区3号楼门口";

async fn submit(app: &TestApp, fields: &[(&str, &str)], photo: bool) -> common::Resp {
    let files: Vec<(&str, &[u8])> = if photo {
        vec![("photos", TINY_PNG)]
    } else {
        vec![]
    };
    app.multipart("public/report", fields, &files, None).await
}

fn manhole<'a>(description: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("service_code", "manhole"),
        ("lon", LON),
        ("lat", LAT),
        ("address", LANDMARK),
        ("description", description),
        ("attribute[danger]", "yes"),
        ("phone", "138 0000 1234"),
        ("email", "resident@example.cn"),
        ("cl_leave_empty", ""),
    ]
}

async fn status(app: &TestApp, code: &str) -> serde_json::Value {
    let r = app.call("public/status", &[("code", code)], None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

async fn version(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar::<_, i64>("SELECT version FROM cases WHERE id = $1")
        .bind(id)
        .fetch_one(app.pool())
        .await
        .unwrap()
        .to_string()
}

async fn step(
    app: &TestApp,
    user: &str,
    id: i64,
    action: &str,
    extra: &[(&str, &str)],
    photo: bool,
) {
    let c = app.session(user).await;
    let v = version(app, id).await;
    let ids = id.to_string();
    let mut fields: Vec<(&str, &str)> =
        vec![("case_id", &ids), ("action", action), ("version", &v)];
    fields.extend_from_slice(extra);
    let files: Vec<(&str, &[u8])> = if photo {
        vec![("photos", TINY_PNG)]
    } else {
        vec![]
    };
    let r = app.multipart("cases/step", &fields, &files, Some(&c)).await;
    assert!(
        r.status.is_success(),
        "{user} {action}: {} {}",
        r.status,
        r.body
    );
}

async fn a_citizen_report_reaches_the_dispatcher_and_its_status_follows(app: &TestApp) {
    let before = app.scalar("SELECT COUNT(*) FROM cases").await;
    let r = submit(app, &manhole("人行道上井盖缺失，晚上看不清"), true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let code = r.json()["code"].as_str().unwrap().to_string();
    assert_eq!(
        app::domain::citizen::normalise_code(&code).as_deref(),
        Some(code.as_str())
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM cases").await, before + 1);

    // An ordinary case: source citizen, no reporting user, the manhole class, in a grid.
    let id: i64 = sqlx::query_scalar("SELECT case_id FROM citizen_reports WHERE code = $1")
        .bind(&code)
        .fetch_one(app.pool())
        .await
        .unwrap();
    let (source, state, reporter, class, description, address): (
        String,
        String,
        Option<i64>,
        String,
        String,
        String,
    ) = sqlx::query_as(
        "SELECT c.source, c.state, c.reporter_id, k.code, c.description, c.address FROM cases c \
         JOIN case_classes k ON k.id = c.class_id WHERE c.id = $1",
    )
    .bind(id)
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(
        (source.as_str(), state.as_str(), reporter, class.as_str()),
        ("citizen", "reported", None, "0101")
    );
    assert!(description.starts_with("人行道上井盖缺失"), "{description}");
    assert!(
        description.contains("是否危及行人或车辆安全？ 是"),
        "{description}"
    );
    assert_eq!(address, LANDMARK);
    // Contact details kept for staff, the answers as JSON, the address only as a hash.
    let (phone, email, attrs, hash): (Option<String>, Option<String>, String, String) =
        sqlx::query_as(
            "SELECT phone, email, attributes, address_hash FROM citizen_reports WHERE case_id = $1",
        )
        .bind(id)
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(phone.as_deref(), Some("138 0000 1234"));
    assert_eq!(email.as_deref(), Some("resident@example.cn"));
    assert_eq!(attrs, r#"{"danger":"yes"}"#);
    assert_eq!(hash.len(), 64);
    assert_eq!(app.audit_count("citizen.report", "success").await, 1);

    // The dispatcher finds it in the queue; the detail names the source and the code.
    let d = app.session("dispatcher").await;
    let q = app.call("cases/queue", &[], Some(&d)).await;
    assert!(
        q.body.contains(&format!("\"id\":{id}")),
        "not queued: {}",
        q.body
    );
    let detail = app
        .call("cases/get", &[("id", &id.to_string())], Some(&d))
        .await
        .json();
    assert_eq!(detail["citizen_code"], code.as_str());
    assert_eq!(detail["timeline"][0]["actor_name"], "市民");

    // Received, with the filing deadline as the expected time; only the report step.
    let s = status(app, &code.to_lowercase().replace('-', "")).await;
    assert_eq!(s["code"], code.as_str());
    assert_eq!(s["state"], "received");
    assert!(s["expected_at"].is_i64());
    assert_eq!(s["timeline"].as_array().unwrap().len(), 1);
    assert!(
        s["photos_before"].as_array().unwrap().is_empty(),
        "photos before closing"
    );

    // Filed with a public note, then dispatched: accepted, then in progress at the water
    // department; the staff note and every staff name stay out.
    step(
        app,
        "dispatcher",
        id,
        "file",
        &[
            ("note", "内部：核实属实"),
            ("public_note", "已核实，将尽快处理"),
        ],
        false,
    )
    .await;
    let s = status(app, &code).await;
    assert_eq!(s["state"], "accepted");
    assert_eq!(s["status_note"], "已核实，将尽快处理");
    let water: i64 = sqlx::query_scalar("SELECT id FROM departments WHERE code = 'water'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    step(
        app,
        "dispatcher",
        id,
        "dispatch",
        &[("department_id", &water.to_string())],
        false,
    )
    .await;
    step(app, "water", id, "accept", &[], false).await;
    let s = status(app, &code).await;
    assert_eq!(s["state"], "in_progress");
    assert_eq!(s["department_zh"], "水务局");
    let body = s.to_string();
    let staff_names: Vec<String> = sqlx::query_scalar("SELECT display_name FROM users")
        .fetch_all(app.pool())
        .await
        .unwrap();
    for n in &staff_names {
        assert!(!body.contains(n.as_str()), "staff name {n} in {body}");
    }
    for private in [
        "内部：核实属实",
        "138 0000 1234",
        "resident@example.cn",
        LON,
        LAT,
    ] {
        assert!(!body.contains(private), "{private} published: {body}");
    }
    // The dispatch step names where it went.
    let steps: Vec<&str> = s["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["report", "file", "dispatch", "accept"]);
    assert_eq!(s["timeline"][2]["department_zh"], "水务局");

    // The report's photo is not public before the case is closed.
    let photo: i64 =
        sqlx::query_scalar("SELECT id FROM case_photos WHERE case_id = $1 AND stage = 'report'")
            .bind(id)
            .fetch_one(app.pool())
            .await
            .unwrap();
    let url = format!("/track/{code}/photos/{photo}");
    assert_eq!(app.get(&url, None).await.status, StatusCode::NOT_FOUND);

    // Fixed, verified, closed: before and after photos appear and are served.
    step(
        app,
        "water",
        id,
        "report_back",
        &[("note", "已更换井盖")],
        true,
    )
    .await;
    step(app, "inspector", id, "verify_pass", &[], true).await;
    step(
        app,
        "dispatcher",
        id,
        "close",
        &[("public_note", "井盖已更换，感谢您的反映")],
        false,
    )
    .await;
    let s = status(app, &code).await;
    assert_eq!(s["state"], "closed");
    assert!(s["expected_at"].is_null());
    assert_eq!(s["status_note"], "井盖已更换，感谢您的反映");
    assert_eq!(s["photos_before"], serde_json::json!([photo]));
    let after = s["photos_after"].as_array().unwrap();
    assert_eq!(after.len(), 1, "{s}");
    let got = app.get(&url, None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.headers["content-type"], "image/png");
    // Verification photos stay internal; another report's code does not open this photo.
    let verify: i64 =
        sqlx::query_scalar("SELECT id FROM case_photos WHERE case_id = $1 AND stage = 'verify'")
            .bind(id)
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(
        app.get(&format!("/track/{code}/photos/{verify}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/track/TY-2222-2222/photos/{photo}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The page itself renders on the server for anyone.
    let page = app.get(&format!("/track/{code}"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(&code) && page.body.contains("已办结"),
        "{}",
        &page.body[..page.body.len().min(400)]
    );
}

async fn bad_reports_are_refused_and_store_nothing(app: &TestApp) {
    let cases = app.scalar("SELECT COUNT(*) FROM cases").await;
    let fields = |errs: &serde_json::Value| -> Vec<(String, String)> {
        errs["Invalid"]
            .as_array()
            .unwrap_or_else(|| panic!("not invalid: {errs}"))
            .iter()
            .map(|e| {
                (
                    e["field"].as_str().unwrap().to_string(),
                    e["kind"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    // Unknown category, no coordinates, no description.
    let r = submit(
        app,
        &[
            ("service_code", "dragons"),
            ("lon", ""),
            ("lat", "x"),
            ("description", " "),
        ],
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let f = fields(&r.json());
    for want in [
        ("service_code", "UnknownService"),
        ("lon", "BadNumber"),
        ("lat", "BadNumber"),
        ("description", "Required"),
    ] {
        assert!(
            f.contains(&(want.0.into(), want.1.into())),
            "{want:?} missing in {f:?}"
        );
    }
    // The required question unanswered, then answered with something not offered.
    let mut no_answer = manhole("井盖缺失");
    no_answer.retain(|(k, _)| *k != "attribute[danger]");
    let r = submit(app, &no_answer, false).await;
    assert_eq!(
        fields(&r.json()),
        [("attribute[danger]".into(), "Required".into())]
    );
    let mut bad = manhole("井盖缺失");
    bad.retain(|(k, _)| *k != "attribute[danger]");
    bad.push(("attribute[danger]", "maybe"));
    let r = submit(app, &bad, false).await;
    assert_eq!(
        fields(&r.json()),
        [("attribute[danger]".into(), "BadAnswer".into())]
    );
    // Outside every grid.
    // Outside every grid, with a photo: found inside the report's transaction, which then
    // leaves neither case nor photo behind.
    let mut far = manhole("井盖缺失");
    far.retain(|(k, _)| *k != "lon");
    far.push(("lon", "116.40"));
    let r = submit(app, &far, true).await;
    assert_eq!(fields(&r.json()), [("lon".into(), "OutsideGrids".into())]);
    // A bad e-mail address and a text file posing as a photo.
    let mut mail = manhole("井盖缺失");
    mail.retain(|(k, _)| *k != "email");
    mail.push(("email", "not-an-address"));
    let r = submit(app, &mail, false).await;
    assert_eq!(fields(&r.json()), [("email".into(), "BadEmail".into())]);
    let r = app
        .multipart(
            "public/report",
            &manhole("井盖缺失"),
            &[("photos", b"hello")],
            None,
        )
        .await;
    assert_eq!(fields(&r.json()), [("photos".into(), "BadPhoto".into())]);
    // A category whose class is switched off disappears and is refused.
    sqlx::query("UPDATE case_classes SET active = FALSE WHERE kind = 'event' AND code = '0102'")
        .execute(app.pool())
        .await
        .unwrap();
    let list = app.call("public/services", &[], None).await.json();
    let codes: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        !codes.contains(&"garbage") && codes.contains(&"manhole"),
        "{codes:?}"
    );
    assert_eq!(codes.len(), app::domain::citizen::SERVICES.len() - 1);
    let r = submit(
        app,
        &[
            ("service_code", "garbage"),
            ("lon", LON),
            ("lat", LAT),
            ("description", "垃圾"),
        ],
        false,
    )
    .await;
    assert_eq!(
        fields(&r.json()),
        [("service_code".into(), "UnknownService".into())]
    );

    assert_eq!(app.scalar("SELECT COUNT(*) FROM cases").await, cases);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM citizen_reports").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM case_photos WHERE case_id > 0 AND stage = 'report' AND user_id IS NULL").await, 0);
}

async fn spam_trap_and_rate_limit(app: &TestApp) {
    // A filled trap field: refused, nothing stored, recorded.
    let mut trap = manhole("井盖缺失");
    trap.retain(|(k, _)| *k != "cl_leave_empty");
    trap.push(("cl_leave_empty", "http://cheap-pills.example"));
    let r = submit(app, &trap, false).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM citizen_reports").await, 0);
    assert_eq!(app.audit_count("citizen.report", "denied").await, 1);

    // Five an hour from one address; the sixth waits, and nothing of it is stored.
    let per_hour = app.state.config.citizen_per_hour;
    assert_eq!(per_hour, 5);
    for i in 0..per_hour {
        let d = format!("第 {i} 个井盖缺失");
        let r = submit(app, &manhole(&d), false).await;
        assert_eq!(r.status, StatusCode::OK, "report {i}: {}", r.body);
    }
    let cases = app.scalar("SELECT COUNT(*) FROM cases").await;
    let r = submit(app, &manhole("又一个"), false).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let minutes = r.json()["TooManyRequests"]["minutes"].as_i64().unwrap();
    assert!((1..=60).contains(&minutes), "{minutes}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM cases").await, cases);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM citizen_reports").await,
        per_hour
    );
    assert_eq!(app.audit_count("citizen.report", "denied").await, 2);
    // An hour later the address may report again.
    sqlx::query("UPDATE citizen_reports SET created_at = created_at - 3600000")
        .execute(app.pool())
        .await
        .unwrap();
    let r = submit(app, &manhole("一小时后"), false).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn unknown_and_malformed_codes(app: &TestApp) {
    for code in ["TY-2222-2222", "ty22222222", "nonsense", "", "TY-2222-222O"] {
        let r = app.call("public/status", &[("code", code)], None).await;
        assert_eq!(r.status, StatusCode::OK, "{code}: {}", r.body);
        assert!(r.json().is_null(), "{code}: {}", r.body);
    }
    let page = app.get("/track/TY-2222-2222", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("track-unknown"), "no empty state");
    // The public pages render without an account.
    let page = app.get("/report", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("citizen-form") && page.body.contains("井盖破损或丢失"));
}

/// Sends a report from `peer`, with an `X-Forwarded-For` header when given.
async fn submit_from(app: &TestApp, peer: &str, forwarded: Option<&str>, d: String) -> StatusCode {
    let fields = manhole(&d);
    let mut req = common::multipart_request("public/report", &fields, &[], None);
    let addr: std::net::SocketAddr = format!("{peer}:40000").parse().unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    if let Some(f) = forwarded {
        req.headers_mut()
            .insert("x-forwarded-for", f.parse().unwrap());
    }
    app.send(req).await.status
}

async fn addresses_are_counted_apart_and_concurrent_reports_wait(app: &TestApp) {
    // Five from one address; a sixth from it is refused, one from another address is not.
    for i in 0..5 {
        assert_eq!(
            submit_from(app, "203.0.113.9", None, format!("A{i}")).await,
            StatusCode::OK
        );
    }
    assert_eq!(
        submit_from(app, "203.0.113.9", None, "A5".into()).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        submit_from(app, "198.51.100.7", None, "B0".into()).await,
        StatusCode::OK
    );
    // No proxy is trusted here: a forged X-Forwarded-For does not buy a fresh address.
    assert_eq!(
        submit_from(app, "203.0.113.9", Some("192.0.2.44"), "A6".into()).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The address is kept only as a hash, in the audit log as well.
    let ips: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'citizen.report' AND ip IS NOT NULL")
        .await;
    assert_eq!(ips, 0);
    let raw: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE detail LIKE '%203.0.113.9%'")
        .await;
    assert_eq!(raw, 0);

    // Eight at once from a fresh address: exactly five get through, on either engine.
    let sends = (0..8).map(|i| submit_from(app, "192.0.2.200", None, format!("C{i}")));
    let statuses = futures_util::future::join_all(sends).await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((ok, limited), (5, 3), "{statuses:?}");
    // One audit record per refused address and hour, however many refusals.
    assert_eq!(app.audit_count("citizen.report", "denied").await, 2);
}
