//! The case workflow through the real router, on SQLite and on PostgreSQL.
mod common;

use app::domain::evaluation::{count, from_timeline, TimelineAction, TimelineEvent};
use app::domain::workflow::Action;
use app::photos::TINY_PNG;
use axum::http::StatusCode;
use common::TestApp;
use std::collections::{BTreeMap, BTreeSet};

on_both!(
    reference_and_demo_data_are_consistent,
    full_lifecycle_from_report_to_closure,
    rework_path_counts_against_the_department,
    refusals_are_clear_and_audited,
    return_and_redispatch,
    hold_stops_the_clock,
    lists_filter_scope_and_export,
    appeals_remove_a_deduction,
    calendar_and_catalogue_are_administered,
    evaluation_matches_the_timelines,
);

/// Coordinates inside grid 140106xxxx (Yingze, city centre).
const LON: &str = "112.565";
const LAT: &str = "37.855";

async fn class_id(app: &TestApp, code: &str, kind: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT id FROM case_classes WHERE code = $1 AND kind = $2")
        .bind(code)
        .bind(kind)
        .fetch_one(app.pool())
        .await
        .unwrap()
}

async fn dept(app: &TestApp, code: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT id FROM departments WHERE code = $1")
        .bind(code)
        .fetch_one(app.pool())
        .await
        .unwrap()
}

/// Reports a case as the inspector with one photo; returns its id.
async fn report(app: &TestApp, class: i64) -> i64 {
    let c = app.session("inspector").await;
    let r = app
        .multipart(
            "cases/report",
            &[
                ("class_id", &class.to_string()),
                ("lon", LON),
                ("lat", LAT),
                ("address", "迎泽大街 100 号"),
                ("description", "井盖缺失，存在安全隐患"),
            ],
            &[("photos", TINY_PNG)],
            Some(&c),
        )
        .await;
    assert!(r.status.is_success(), "report: {} {}", r.status, r.body);
    r.body
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("id: {}", r.body))
}

async fn version(app: &TestApp, id: i64) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT version FROM cases WHERE id = $1")
        .bind(id)
        .fetch_one(app.pool())
        .await
        .unwrap()
}

async fn state(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar::<_, String>("SELECT state FROM cases WHERE id = $1")
        .bind(id)
        .fetch_one(app.pool())
        .await
        .unwrap()
}

/// Takes one step as `user`; returns the response.
async fn step(
    app: &TestApp,
    user: &str,
    id: i64,
    action: &str,
    extra: &[(&str, &str)],
    photo: bool,
) -> common::Resp {
    let c = app.session(user).await;
    let v = version(app, id).await.to_string();
    let ids = id.to_string();
    let mut fields: Vec<(&str, &str)> =
        vec![("case_id", &ids), ("action", action), ("version", &v)];
    fields.extend_from_slice(extra);
    let files: Vec<(&str, &[u8])> = if photo {
        vec![("photos", TINY_PNG)]
    } else {
        vec![]
    };
    app.multipart("cases/step", &fields, &files, Some(&c)).await
}

async fn ok_step(
    app: &TestApp,
    user: &str,
    id: i64,
    action: &str,
    extra: &[(&str, &str)],
    photo: bool,
) {
    let r = step(app, user, id, action, extra, photo).await;
    assert!(
        r.status.is_success(),
        "{user} {action}: {} {}",
        r.status,
        r.body
    );
}

/// Drives a new case of class 0101 (water manhole cover) to the water department, accepted.
async fn to_water(app: &TestApp) -> i64 {
    let id = report(app, class_id(app, "0101", "component").await).await;
    ok_step(app, "dispatcher", id, "file", &[], false).await;
    let w = dept(app, "water").await.to_string();
    ok_step(
        app,
        "dispatcher",
        id,
        "dispatch",
        &[("department_id", &w)],
        false,
    )
    .await;
    ok_step(app, "water", id, "accept", &[], false).await;
    id
}

async fn reference_and_demo_data_are_consistent(app: &TestApp) {
    assert_eq!(app.scalar("SELECT COUNT(*) FROM grids").await, 672);
    assert!(app.scalar("SELECT COUNT(*) FROM case_classes").await >= 70);
    assert!(
        app.scalar("SELECT COUNT(*) FROM case_majors WHERE kind = 'component'")
            .await
            >= 6
    );
    assert!(
        app.scalar("SELECT COUNT(*) FROM case_majors WHERE kind = 'event'")
            .await
            >= 5
    );
    assert!(
        app.scalar("SELECT COUNT(*) FROM calendar_days WHERE day LIKE '2026-%'")
            .await
            > 30
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM scoring_rules").await, 1);
    // 240 simulated cases, plus the few the Sky Eye demo escalated.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM cases WHERE source <> 'skyeye'")
            .await,
        240
    );
    // Every state occurs, and every case starts with its report.
    let states: BTreeSet<String> =
        sqlx::query_scalar::<_, String>("SELECT DISTINCT state FROM cases")
            .fetch_all(app.pool())
            .await
            .unwrap()
            .into_iter()
            .collect();
    // Which open states the newest cases are in depends on the hour the data is made.
    assert!(states.contains("closed"), "{states:?}");
    assert!(states.len() >= 4, "demo cases in few states: {states:?}");
    assert!(
        app.scalar("SELECT COUNT(*) FROM cases WHERE state NOT IN ('closed', 'rejected')")
            .await
            > 0
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.action = 'report')").await,
        0
    );
    // The number of closes equals the closed cases; some were reworked.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM case_events WHERE action = 'close'")
            .await,
        app.scalar("SELECT COUNT(*) FROM cases WHERE state = 'closed'")
            .await
    );
    assert!(
        app.scalar("SELECT COUNT(*) FROM cases WHERE rework_count > 0")
            .await
            > 0
    );
    // Every case lies in the grid its coordinates fall in.
    let rows: Vec<(f64, f64, f64, f64, f64, f64)> = sqlx::query_as(
        "SELECT c.lon, c.lat, g.min_lon, g.min_lat, g.max_lon, g.max_lat FROM cases c JOIN grids g ON g.id = c.grid_id",
    )
    .fetch_all(app.pool())
    .await
    .unwrap();
    for (lon, lat, a, b, c, d) in rows {
        assert!(lon >= a && lon < c && lat >= b && lat < d);
    }
    // The timeline is append-only.
    assert!(sqlx::query("UPDATE case_events SET note = 'x'")
        .execute(app.pool())
        .await
        .is_err());
    assert!(sqlx::query("DELETE FROM case_events")
        .execute(app.pool())
        .await
        .is_err());
}

async fn full_lifecycle_from_report_to_closure(app: &TestApp) {
    let id = report(app, class_id(app, "0101", "component").await).await;
    assert_eq!(state(app, id).await, "reported");
    let code: String = sqlx::query_scalar("SELECT code FROM cases WHERE id = $1")
        .bind(id)
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert!(code.ends_with(&format!("{id:06}")), "{code}");
    // The grid is found from the coordinates.
    let grid: String = sqlx::query_scalar(
        "SELECT g.code FROM cases c JOIN grids g ON g.id = c.grid_id WHERE c.id = $1",
    )
    .bind(id)
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert!(grid.starts_with("140106"), "{grid}");
    // It waits in the dispatcher's queue, with a badge count.
    let d = app.session("dispatcher").await;
    let q = app.call("cases/queue", &[], Some(&d)).await;
    assert!(
        q.json().as_array().unwrap().iter().any(|r| r["id"] == id),
        "queue: {}",
        q.body
    );
    let counts = app.call("cases/counts", &[], Some(&d)).await.json();
    assert!(counts["cases"].as_i64().unwrap() >= 1);

    ok_step(app, "dispatcher", id, "file", &[], false).await;
    let w = dept(app, "water").await;
    ok_step(
        app,
        "dispatcher",
        id,
        "dispatch",
        &[("department_id", &w.to_string())],
        false,
    )
    .await;
    assert_eq!(state(app, id).await, "dispatched");
    // The deadline comes from the class's limit (2 emergency hours for 0101: clock time).
    let (dispatched, deadline): (i64, i64) = sqlx::query_as(
        "SELECT dispatched_at, deadline_at FROM case_assignments WHERE case_id = $1",
    )
    .bind(id)
    .fetch_one(app.pool())
    .await
    .unwrap();
    let (amount, unit): (i64, String) = sqlx::query_as("SELECT limit_amount, limit_unit FROM case_classes WHERE code = '0101' AND kind = 'component'")
        .fetch_one(app.pool())
        .await
        .unwrap();
    if unit == "emergency_hours" {
        assert_eq!(deadline - dispatched, amount * 3_600_000);
    } else {
        assert!(deadline > dispatched);
    }
    // The water handler sees it in the queue; the detail lists accept and return.
    let wc = app.session("water").await;
    let detail = app
        .call("cases/get", &[("id", &id.to_string())], Some(&wc))
        .await
        .json();
    assert_eq!(detail["actions"], serde_json::json!(["accept", "return"]));
    ok_step(app, "water", id, "accept", &[], false).await;
    // Reporting back needs a photo.
    let r = step(
        app,
        "water",
        id,
        "report_back",
        &[("note", "已更换井盖")],
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("PhotoRequired"));
    ok_step(
        app,
        "water",
        id,
        "report_back",
        &[("note", "已更换井盖")],
        true,
    )
    .await;
    ok_step(app, "inspector", id, "verify_pass", &[], true).await;
    ok_step(app, "dispatcher", id, "close", &[], false).await;
    assert_eq!(state(app, id).await, "closed");

    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM case_events WHERE case_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(app.pool())
            .await
            .unwrap();
    assert_eq!(
        actions,
        [
            "report",
            "file",
            "dispatch",
            "accept",
            "report_back",
            "verify_pass",
            "close"
        ]
    );
    // Each step left one audit record.
    for a in [
        "case.report",
        "case.file",
        "case.dispatch",
        "case.accept",
        "case.report_back",
        "case.verify_pass",
        "case.close",
    ] {
        assert!(app.audit_count(a, "success").await >= 1, "{a}");
    }
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM case_photos WHERE case_id = {id}"
        ))
        .await,
        3
    );
    // Photos: the water handler sees them, a handler of another department does not.
    let photo: i64 = app
        .scalar(&format!(
            "SELECT MIN(id) FROM case_photos WHERE case_id = {id}"
        ))
        .await;
    let r = app.get(&format!("/photos/{photo}"), Some(&wc)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "image/png");
    let lc = app.session("landscape").await;
    assert_eq!(
        app.get(&format!("/photos/{photo}"), Some(&lc)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/photos/{photo}"), None).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The detail shows the timeline and the photos before and after.
    let detail = app
        .call("cases/get", &[("id", &id.to_string())], Some(&d))
        .await
        .json();
    assert_eq!(detail["timeline"].as_array().unwrap().len(), 7);
    assert_eq!(detail["row"]["state"], "closed");
    assert_eq!(detail["actions"], serde_json::json!([]));
    let stages: Vec<&str> = detail["photos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["report", "handle", "verify"]);
    // The assignment records the whole handling.
    let a: (Option<i64>, Option<i64>, Option<i64>, i64) = sqlx::query_as(
        "SELECT accepted_at, handled_at, closed_at, rework_count FROM case_assignments WHERE case_id = $1",
    )
    .bind(id)
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert!(a.0.is_some() && a.1.is_some() && a.2.is_some());
    assert_eq!(a.3, 0);
}

async fn rework_path_counts_against_the_department(app: &TestApp) {
    let id = to_water(app).await;
    ok_step(app, "water", id, "report_back", &[("note", "已处理")], true).await;
    ok_step(
        app,
        "inspector",
        id,
        "verify_fail",
        &[("note", "井盖仍未复位")],
        true,
    )
    .await;
    // A failed verification cannot be closed.
    let r = step(app, "dispatcher", id, "close", &[], false).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("VerificationFailed"), "{}", r.body);
    ok_step(
        app,
        "dispatcher",
        id,
        "rework",
        &[("note", "退回返工")],
        false,
    )
    .await;
    assert_eq!(state(app, id).await, "handling");
    ok_step(
        app,
        "water",
        id,
        "report_back",
        &[("note", "返工完成")],
        true,
    )
    .await;
    ok_step(app, "inspector", id, "verify_pass", &[], true).await;
    ok_step(app, "dispatcher", id, "close", &[], false).await;
    assert_eq!(
        app.scalar(&format!("SELECT rework_count FROM cases WHERE id = {id}"))
            .await,
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT rework_count FROM case_assignments WHERE case_id = {id}"
        ))
        .await,
        1
    );
}

async fn refusals_are_clear_and_audited(app: &TestApp) {
    let id = report(app, class_id(app, "0101", "component").await).await;
    // Wrong role.
    let r = step(app, "inspector", id, "file", &[], false).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("Role"), "{}", r.body);
    // Wrong state.
    let r = step(app, "dispatcher", id, "close", &[], false).await;
    assert!(r.body.contains("State"), "{}", r.body);
    // Reject needs a reason.
    let r = step(app, "dispatcher", id, "reject", &[], false).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("note"));
    // A stale version.
    let c = app.session("dispatcher").await;
    let stale = (version(app, id).await - 1).to_string();
    let r = app
        .multipart(
            "cases/step",
            &[
                ("case_id", &id.to_string()),
                ("action", "file"),
                ("version", &stale),
            ],
            &[],
            Some(&c),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("Conflict"), "{}", r.body);
    assert_eq!(state(app, id).await, "reported", "nothing changed");
    // Another department's handler.
    ok_step(app, "dispatcher", id, "file", &[], false).await;
    let w = dept(app, "water").await.to_string();
    ok_step(
        app,
        "dispatcher",
        id,
        "dispatch",
        &[("department_id", &w)],
        false,
    )
    .await;
    // Another department's case does not exist for a handler, not even as a refusal.
    let r = step(app, "landscape", id, "accept", &[], false).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(state(app, id).await, "dispatched");
    // Not signed in.
    let r = app
        .multipart("cases/step", &[("case_id", &id.to_string())], &[], None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Photos that are not really images, reports outside the grids.
    let i = app.session("inspector").await;
    let k = class_id(app, "0101", "component").await.to_string();
    let r = app
        .multipart(
            "cases/report",
            &[
                ("class_id", &k),
                ("lon", LON),
                ("lat", LAT),
                ("address", "x"),
                ("description", "y"),
            ],
            &[("photos", b"GIF89a not a png at all")],
            Some(&i),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("BadPhoto"), "{}", r.body);
    let r = app
        .multipart(
            "cases/report",
            &[
                ("class_id", &k),
                ("lon", "116.40"),
                ("lat", "39.90"),
                ("address", "x"),
                ("description", "y"),
            ],
            &[("photos", TINY_PNG)],
            Some(&i),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("OutsideGrids"), "{}", r.body);
    // Only inspectors report.
    let r = app
        .multipart(
            "cases/report",
            &[
                ("class_id", &k),
                ("lon", LON),
                ("lat", LAT),
                ("address", "x"),
                ("description", "y"),
            ],
            &[("photos", TINY_PNG)],
            Some(&c),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A handler cannot read another department's case.
    let lc = app.session("landscape").await;
    let r = app
        .call("cases/get", &[("id", &id.to_string())], Some(&lc))
        .await;
    assert_eq!(r.json(), serde_json::Value::Null);
}

async fn return_and_redispatch(app: &TestApp) {
    let id = report(app, class_id(app, "0101", "component").await).await;
    ok_step(app, "dispatcher", id, "file", &[], false).await;
    let l = dept(app, "landscape").await;
    ok_step(
        app,
        "dispatcher",
        id,
        "dispatch",
        &[("department_id", &l.to_string())],
        false,
    )
    .await;
    let r = step(app, "landscape", id, "return", &[], false).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a return says why"
    );
    ok_step(
        app,
        "landscape",
        id,
        "return",
        &[("note", "不属于园林职责")],
        false,
    )
    .await;
    assert_eq!(state(app, id).await, "filed");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM cases WHERE id = {id} AND department_id IS NULL"
        ))
        .await,
        1
    );
    let w = dept(app, "water").await;
    ok_step(
        app,
        "dispatcher",
        id,
        "dispatch",
        &[("department_id", &w.to_string())],
        false,
    )
    .await;
    let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT department_id, returned_at FROM case_assignments WHERE case_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(app.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, l);
    assert!(rows[0].1.is_some());
    assert_eq!((rows[1].0, rows[1].1), (w, None));
    // Landscape still sees the case it returned, but acting on it now is refused: it is
    // dispatched to another department.
    let r = step(app, "landscape", id, "accept", &[], false).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("Department"), "{}", r.body);
    assert!(app.audit_count("case.accept", "denied").await >= 1);
    assert_eq!(state(app, id).await, "dispatched");
    // Landscape still sees the case it had; the accurate dispatch rate counts the return.
    let now = app::db::now_ms();
    let counts =
        app::db::evaluation::counts(&app.state.store, now - 3_600_000, now + 3_600_000, now)
            .await
            .unwrap();
    assert_eq!(counts[&l].returned, 1);
    assert_eq!(counts[&w].dispatched, 1);
}

async fn hold_stops_the_clock(app: &TestApp) {
    let id = to_water(app).await;
    let before = app
        .scalar(&format!("SELECT deadline_at FROM cases WHERE id = {id}"))
        .await;
    let r = step(app, "water", id, "hold", &[("note", "x")], false).await;
    assert!(r.body.contains("Role"), "handlers do not hold: {}", r.body);
    ok_step(
        app,
        "dispatcher",
        id,
        "hold",
        &[("note", "需协调产权单位")],
        false,
    )
    .await;
    let r = step(app, "water", id, "report_back", &[("note", "done")], true).await;
    assert!(r.body.contains("OnHold"), "{}", r.body);
    ok_step(app, "dispatcher", id, "resume", &[], false).await;
    let after = app
        .scalar(&format!("SELECT deadline_at FROM cases WHERE id = {id}"))
        .await;
    // Resumed at once: the deadline stays within a minute of where it was.
    assert!((after - before).abs() <= 60_000, "{before} -> {after}");
    assert_eq!(
        app.scalar(&format!(
            "SELECT deadline_at FROM case_assignments WHERE case_id = {id}"
        ))
        .await,
        after
    );
    ok_step(app, "water", id, "report_back", &[("note", "done")], true).await;
}

async fn lists_filter_scope_and_export(app: &TestApp) {
    let d = app.session("dispatcher").await;
    let all = app
        .call("cases/list", &[("filter[page]", "1")], Some(&d))
        .await
        .json();
    assert_eq!(all["total"], app.scalar("SELECT COUNT(*) FROM cases").await);
    assert_eq!(all["items"].as_array().unwrap().len(), 25);
    let open = app
        .scalar("SELECT COUNT(*) FROM cases WHERE state NOT IN ('closed', 'rejected')")
        .await;
    let r = app
        .call(
            "cases/list",
            &[("filter[state]", "open"), ("filter[page]", "1")],
            Some(&d),
        )
        .await
        .json();
    assert_eq!(r["total"], open);
    let overdue = app
        .call(
            "cases/list",
            &[("filter[overdue]", "true"), ("filter[page]", "1")],
            Some(&d),
        )
        .await
        .json();
    for row in overdue["items"].as_array().unwrap() {
        assert!(row["minutes_left"].as_i64().unwrap() < 0, "{row}");
    }
    // A grid from the map filters to that cell.
    let grid: String =
        sqlx::query_scalar("SELECT g.code FROM cases c JOIN grids g ON g.id = c.grid_id LIMIT 1")
            .fetch_one(app.pool())
            .await
            .unwrap();
    let n = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM cases c JOIN grids g ON g.id = c.grid_id WHERE g.code = '{grid}'"
        ))
        .await;
    let r = app
        .call(
            "cases/list",
            &[("filter[grid]", &grid), ("filter[page]", "1")],
            Some(&d),
        )
        .await
        .json();
    assert_eq!(r["total"], n);
    // Bad dates are refused with a field error.
    let r = app
        .call(
            "cases/list",
            &[("filter[from]", "2026-13-01"), ("filter[page]", "1")],
            Some(&d),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A handler sees only the department's cases.
    let w = dept(app, "water").await;
    let wc = app.session("water").await;
    let mine = app.scalar(&format!(
        "SELECT COUNT(*) FROM cases c WHERE c.department_id = {w} OR c.id IN (SELECT case_id FROM case_assignments WHERE department_id = {w})"
    ))
    .await;
    let r = app
        .call("cases/list", &[("filter[page]", "1")], Some(&wc))
        .await
        .json();
    assert_eq!(r["total"], mine);
    assert!(mine < app.scalar("SELECT COUNT(*) FROM cases").await);
    // Map counts add up to the open cases.
    let cells = app.call("cases/map", &[], Some(&d)).await.json();
    let sum: i64 = cells
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["open"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, open);
    // CSV export of the filtered list.
    let r = app.get("/cases/export.csv?state=open", Some(&d)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let body = r.body.trim_start_matches('\u{feff}');
    assert!(
        body.starts_with("案件编号,"),
        "{}",
        &body[..40.min(body.len())]
    );
    assert_eq!(body.lines().count() as i64, open + 1);
    assert_eq!(
        app.get("/cases/export.csv", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let e = app.session("energy").await;
    assert_eq!(
        app.get("/cases/export.csv", Some(&e)).await.status,
        StatusCode::FORBIDDEN
    );
    let r = app.get("/cases/export.csv?class=abc", Some(&d)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Pages render for the roles that use them.
    for (user, path) in [
        ("dispatcher", "/queue"),
        ("dispatcher", "/cases"),
        ("water", "/cases/map"),
        ("leader", "/evaluation"),
    ] {
        let c = app.session(user).await;
        let r = app.get(path, Some(&c)).await;
        assert_eq!(r.status, StatusCode::OK, "{user} {path}");
    }
    let r = app.get("/cases", Some(&e)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn appeals_remove_a_deduction(app: &TestApp) {
    // A water case reworked once: a deduction the department head can appeal.
    let id = to_water(app).await;
    ok_step(app, "water", id, "report_back", &[("note", "已处理")], true).await;
    ok_step(
        app,
        "inspector",
        id,
        "verify_fail",
        &[("note", "未到位")],
        true,
    )
    .await;
    ok_step(app, "dispatcher", id, "rework", &[("note", "返工")], false).await;
    let head = app.session("waterhead").await;
    let detail = app
        .call("cases/get", &[("id", &id.to_string())], Some(&head))
        .await
        .json();
    let assignment = detail["appealable"].as_i64().expect("appealable");
    // A handler cannot appeal; the head can, once.
    let wc = app.session("water").await;
    let r = app
        .call(
            "appeals/file",
            &[("assignment_id", &assignment.to_string()), ("reason", "x")],
            Some(&wc),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call(
            "appeals/file",
            &[
                ("assignment_id", &assignment.to_string()),
                ("reason", "井盖为燃气公司产权，非我局责任"),
            ],
            Some(&head),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let appeal: i64 = r.body.trim().parse().unwrap();
    let r = app
        .call(
            "appeals/file",
            &[
                ("assignment_id", &assignment.to_string()),
                ("reason", "again"),
            ],
            Some(&head),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // Only the command centre decides; a rejection needs a note.
    let r = app
        .call(
            "appeals/decide",
            &[
                ("id", &appeal.to_string()),
                ("accept", "true"),
                ("note", ""),
            ],
            Some(&head),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let d = app.session("dispatcher").await;
    assert_eq!(
        app.call("cases/counts", &[], Some(&d)).await.json()["appeals"],
        1
    );
    let r = app
        .call(
            "appeals/decide",
            &[
                ("id", &appeal.to_string()),
                ("accept", "false"),
                ("note", ""),
            ],
            Some(&d),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let now = app::db::now_ms();
    let w = dept(app, "water").await;
    let before =
        app::db::evaluation::counts(&app.state.store, now - 3_600_000, now + 3_600_000, now)
            .await
            .unwrap()[&w];
    assert_eq!(before.rework, 1);
    let r = app
        .call(
            "appeals/decide",
            &[
                ("id", &appeal.to_string()),
                ("accept", "true"),
                ("note", "情况属实"),
            ],
            Some(&d),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let after =
        app::db::evaluation::counts(&app.state.store, now - 3_600_000, now + 3_600_000, now)
            .await
            .unwrap()[&w];
    assert_eq!(after.rework, 0);
    assert_eq!(after.appealed, 1);
    assert_eq!(after.dispatched, before.dispatched - 1);
    assert_eq!(app.audit_count("appeal.decide", "success").await, 1);
    // The head sees the decision in the own list.
    let list = app.call("appeals/list", &[], Some(&head)).await.json();
    assert_eq!(list[0]["state"], "accepted");
}

async fn calendar_and_catalogue_are_administered(app: &TestApp) {
    let a = app.session("admin").await;
    let r = app
        .call(
            "admin/calendar/save",
            &[("periods", "12:00-08:30"), ("filing_limit_minutes", "120")],
            Some(&a),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("BadPeriods"));
    let r = app
        .call(
            "admin/calendar/save",
            &[
                ("periods", "09:00-12:00, 13:00-17:00"),
                ("filing_limit_minutes", "60"),
            ],
            Some(&a),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let s = app.call("admin/calendar", &[], Some(&a)).await.json();
    assert_eq!(s["periods"], "09:00-12:00,13:00-17:00");
    let r = app
        .call(
            "admin/calendar/day",
            &[
                ("day", "2026-12-31"),
                ("kind", "holiday"),
                ("name_zh", "测试假日"),
                ("name_en", "Test holiday"),
            ],
            Some(&a),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM calendar_days WHERE day = '2026-12-31'")
            .await,
        1
    );
    let r = app
        .call(
            "admin/calendar/day",
            &[
                ("day", "2026-02-30"),
                ("kind", "holiday"),
                ("name_zh", "x"),
                ("name_en", "x"),
            ],
            Some(&a),
        )
        .await;
    assert!(r.body.contains("BadDate"));
    let d = app.session("dispatcher").await;
    let r = app
        .call(
            "admin/calendar/day/delete",
            &[("day", "2026-12-31")],
            Some(&d),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Editing a class changes the deadline of the next dispatch.
    let k = class_id(app, "0101", "component").await;
    let w = dept(app, "water").await;
    let form = |limit: &str, unit: &str| {
        vec![
            ("id", k.to_string()),
            ("name_zh", "上水井盖".to_string()),
            ("name_en", "Water supply manhole cover".to_string()),
            ("filing_zh", "井盖破损".to_string()),
            ("filing_en", "Cover broken".to_string()),
            ("closing_zh", "已更换".to_string()),
            ("closing_en", "Replaced".to_string()),
            ("limit_amount", limit.to_string()),
            ("limit_unit", unit.to_string()),
            ("department_id", w.to_string()),
            ("active", "true".to_string()),
        ]
    };
    let bad = form("0", "fortnights");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let r = app.call("admin/class/update", &bad, Some(&a)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("limit_amount") && r.body.contains("limit_unit"));
    let good = form("3", "natural_days");
    let good: Vec<(&str, &str)> = good.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let r = app.call("admin/class/update", &good, Some(&a)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.call("admin/class/update", &good, Some(&d)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let id = report(app, k).await;
    ok_step(app, "dispatcher", id, "file", &[], false).await;
    ok_step(
        app,
        "dispatcher",
        id,
        "dispatch",
        &[("department_id", &w.to_string())],
        false,
    )
    .await;
    let (at, deadline): (i64, i64) = sqlx::query_as(
        "SELECT dispatched_at, deadline_at FROM case_assignments WHERE case_id = $1",
    )
    .bind(id)
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(deadline - at, 3 * 86_400_000);
}

/// The SQL evaluation over stored assignments equals the pure computation over the stored
/// timelines, for every department, on the demo data.
async fn evaluation_matches_the_timelines(app: &TestApp) {
    #[derive(sqlx::FromRow)]
    struct E {
        case_id: i64,
        at: i64,
        action: String,
        actor_department_id: Option<i64>,
        department_id: Option<i64>,
        deadline_at: Option<i64>,
    }
    let events: Vec<E> = sqlx::query_as(
        "SELECT case_id, at, action, actor_department_id, department_id, deadline_at FROM case_events ORDER BY case_id, at, id",
    )
    .fetch_all(app.pool())
    .await
    .unwrap();
    let mut by_case: BTreeMap<i64, Vec<TimelineEvent>> = BTreeMap::new();
    for e in events {
        let action = match e.action.as_str() {
            "report" => TimelineAction::Report {
                filing_deadline: e.deadline_at.unwrap(),
            },
            "dispatch" => TimelineAction::Dispatch {
                department_id: e.department_id.unwrap(),
                deadline: e.deadline_at.unwrap(),
            },
            "hold" => TimelineAction::Hold,
            "resume" => TimelineAction::Resume {
                deadline: e.deadline_at.unwrap(),
            },
            code => TimelineAction::Step {
                action: Action::from_code(code).unwrap(),
                by_department: e.actor_department_id.unwrap(),
            },
        };
        by_case
            .entry(e.case_id)
            .or_default()
            .push(TimelineEvent { at: e.at, action });
    }
    let mut assignments = Vec::new();
    let mut filings = Vec::new();
    for tl in by_case.values() {
        let (a, f) = from_timeline(tl);
        assignments.extend(a.into_iter().map(|x| (x, false)));
        filings.extend(f);
    }
    let now = app::db::now_ms();
    let (from, to) = (now - 40 * 86_400_000, now - 5 * 86_400_000);
    let sql = app::db::evaluation::counts(&app.state.store, from, to, now)
        .await
        .unwrap();
    let depts: BTreeSet<i64> = assignments
        .iter()
        .map(|(a, _)| a.department_id)
        .chain(filings.iter().map(|f| f.department_id))
        .collect();
    let mut compared = 0;
    for d in depts {
        let pure = count(d, &assignments, &filings, from, to, now);
        let stored = sql.get(&d).copied().unwrap_or_default();
        assert_eq!(stored, pure, "department {d}");
        compared += pure.dispatched;
    }
    assert!(
        compared > 50,
        "the period holds enough work to compare ({compared})"
    );
    // The report ranks departments and scores by the stored rule.
    let l = app.session("leader").await;
    let r = app
        .call("evaluation/report", &[("from", ""), ("to", "")], Some(&l))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .call(
            "evaluation/report",
            &[("from", "2026-01-31"), ("to", "2026-01-01")],
            Some(&l),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}
