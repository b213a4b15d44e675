//! The monthly assessment on SQLite and PostgreSQL: a month's ranking from hand-made
//! assignments, published by a leader only once the month is over and its appeals are
//! decided, frozen afterwards (later changes and appeals do not reach it), and limited for
//! department heads.
mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::Value;

on_both!(a_month_is_published_once_and_stays_frozen);

const HOUR: i64 = 3_600_000;

async fn id_of(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(app.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql)
        .execute(app.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The Shanghai month before this one.
fn last_month() -> String {
    use chrono::Datelike;
    // Shanghai: UTC+8 all year.
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    if today.month() == 1 {
        format!("{:04}-12", today.year() - 1)
    } else {
        format!("{:04}-{:02}", today.year(), today.month() - 1)
    }
}

/// The month assessed: long over, and outside the demo cases of the test database.
const MONTH: &str = "2025-03";
/// 2025-03-10 12:00 in Shanghai.
const T0: i64 = 1_741_579_200_000;

fn row<'a>(v: &'a Value, dept: i64) -> &'a Value {
    v["report"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["department_id"].as_i64() == Some(dept))
        .unwrap_or_else(|| panic!("no row for {dept}: {v}"))
}

async fn a_month_is_published_once_and_stays_frozen(app: &TestApp) {
    let (month, t0) = (MONTH.to_string(), T0);
    let water = id_of(app, "SELECT id FROM departments WHERE code = 'water'").await;
    let landscape = id_of(app, "SELECT id FROM departments WHERE code = 'landscape'").await;
    let class = id_of(app, "SELECT MIN(id) FROM case_classes").await;
    let grid = id_of(app, "SELECT MIN(id) FROM grids").await;
    // Three closed cases of last month: landscaping handles its one on time; water handles
    // one on time and one a day late.
    let mut assignment = Vec::new();
    for (i, (dept, late)) in [(landscape, false), (water, false), (water, true)]
        .into_iter()
        .enumerate()
    {
        let (dispatched, deadline) = (t0 + i as i64 * HOUR, t0 + 48 * HOUR);
        let handled = if late {
            deadline + 24 * HOUR
        } else {
            dispatched + 2 * HOUR
        };
        exec(app, &format!(
            "INSERT INTO cases (code, source, class_id, grid_id, district_code, lon, lat, address, description, state, \
             department_id, reported_at, filing_deadline, filed_at, deadline_at, closed_at, updated_at) \
             VALUES ('A-{i}', 'inspector', {class}, {grid}, '140105', 112.5, 37.8, 'a', 'd', 'closed', {dept}, \
             {dispatched}, {dispatched}, {dispatched}, {deadline}, {handled}, {handled})"
        ))
        .await;
        exec(app, &format!(
            "INSERT INTO case_assignments (case_id, department_id, dispatched_at, deadline_at, accepted_at, \
             first_handled_at, handled_at, closed_at) \
             SELECT id, {dept}, {dispatched}, {deadline}, {dispatched}, {handled}, {handled}, {handled} \
             FROM cases WHERE code = 'A-{i}'"
        ))
        .await;
        assignment.push(
            id_of(app, &format!("SELECT a.id FROM case_assignments a JOIN cases c ON c.id = a.case_id WHERE c.code = 'A-{i}'"))
                .await,
        );
    }
    let leader = app.session("leader").await;
    let get = |who: String, m: String| async move {
        let r = app
            .call("assessment/get", &[("month", &m)], Some(&who))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()
    };

    // A draft: landscaping first (100 % on time), water second (one of two late).
    let draft = get(leader.clone(), month.clone()).await;
    assert!(draft["published_at"].is_null());
    assert_eq!(draft["may_publish"], true, "{draft}");
    assert_eq!(
        (
            row(&draft, landscape)["rank"].as_i64(),
            row(&draft, water)["rank"].as_i64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(row(&draft, water)["counts"]["dispatched"], 2);
    assert_eq!(
        row(&draft, water)["indicators"]["on_time_closure_rate"],
        50.0
    );
    // The empty month is the previous one; this month is not over.
    assert_eq!(
        get(leader.clone(), String::new()).await["month"],
        last_month().as_str()
    );
    let this_month = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m")
        .to_string();
    let now_view = get(leader.clone(), this_month.clone()).await;
    assert_eq!(
        (
            now_view["may_publish"].as_bool(),
            now_view["refusal"].as_str()
        ),
        (Some(false), Some("MonthNotOver"))
    );
    let r = app
        .call(
            "assessment/publish",
            &[("month", &this_month)],
            Some(&leader),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("MonthNotOver"), "{}", r.body);
    let r = app
        .call("assessment/get", &[("month", "2026-13")], Some(&leader))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Only leaders and administrators publish; the dispatcher reads but may not.
    let d = app.session("dispatcher").await;
    assert_eq!(get(d.clone(), month.clone()).await["may_publish"], false);
    let r = app
        .call("assessment/publish", &[("month", &month)], Some(&d))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.audit_count("assessment.publish", "denied").await, 1);
    let inspector = app.session("inspector").await;
    let r = app
        .call("assessment/get", &[("month", &month)], Some(&inspector))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // An appeal pending about the month holds the publication back until decided.
    let head = app.session("waterhead").await;
    let r = app
        .call(
            "appeals/file",
            &[
                ("assignment_id", &assignment[2].to_string()),
                ("reason", "停水抢修延误"),
            ],
            Some(&head),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let appeal = r.body.trim().to_string();
    let v = get(leader.clone(), month.clone()).await;
    assert_eq!(
        (v["pending_appeals"].as_i64(), v["refusal"].as_str()),
        (Some(1), Some("AppealsPending"))
    );
    let r = app
        .call("assessment/publish", &[("month", &month)], Some(&leader))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("AppealsPending"), "{}", r.body);
    let r = app
        .call(
            "appeals/decide",
            &[("id", &appeal), ("accept", "false"), ("note", "理由不成立")],
            Some(&d),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let before = get(leader.clone(), month.clone()).await;
    assert_eq!(before["refusal"], Value::Null);

    // Published: the same figures, who and when, once only.
    let r = app
        .call("assessment/publish", &[("month", &month)], Some(&leader))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let published = get(leader.clone(), month.clone()).await;
    assert_eq!(published["report"]["rows"], before["report"]["rows"]);
    assert_eq!(published["published_by"], "王刚");
    assert!(published["published_at"].is_string());
    assert_eq!(
        (
            published["may_publish"].as_bool(),
            published["refusal"].as_str()
        ),
        (Some(false), Some("MonthPublished"))
    );
    assert_eq!(published["published_months"], serde_json::json!([month]));
    let r = app
        .call("assessment/publish", &[("month", &month)], Some(&leader))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(app.audit_count("assessment.publish", "success").await, 1);

    // Later the late case turns out on time: the live evaluation moves, the published
    // ranking does not.
    exec(app, &format!(
        "UPDATE case_assignments SET first_handled_at = dispatched_at + {HOUR}, handled_at = dispatched_at + {HOUR} WHERE id = {}",
        assignment[2]
    ))
    .await;
    let (from, to) = (
        before["report"]["from"].as_str().unwrap().to_string(),
        before["report"]["to"].as_str().unwrap().to_string(),
    );
    let live = app
        .call(
            "evaluation/report",
            &[("from", &from), ("to", &to)],
            Some(&leader),
        )
        .await
        .json();
    let live_water = live["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["department_id"] == water)
        .unwrap();
    assert_eq!(
        live_water["indicators"]["on_time_closure_rate"], 100.0,
        "{live}"
    );
    let after = get(leader.clone(), month.clone()).await;
    assert_eq!(after["report"]["rows"], before["report"]["rows"], "frozen");
    assert_eq!(
        row(&after, water)["indicators"]["on_time_closure_rate"],
        50.0
    );
    // No appeal about a published month; the case page offers none.
    let r = app
        .call(
            "appeals/file",
            &[
                ("assignment_id", &assignment[1].to_string()),
                ("reason", "x"),
            ],
            Some(&head),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("MonthPublished"), "{}", r.body);
    // The database refuses to edit or withdraw it.
    for sql in [
        "UPDATE assessments SET report = '{}'",
        "DELETE FROM assessments",
    ] {
        assert!(sqlx::query(sql).execute(app.pool()).await.is_err(), "{sql}");
    }

    // A department head: own row in full, the others as rank and score.
    let hv = get(head.clone(), month.clone()).await;
    let own = row(&hv, water);
    assert_eq!(
        (
            own["limited"].as_bool(),
            own["counts"]["dispatched"].as_i64()
        ),
        (Some(false), Some(2))
    );
    let other = row(&hv, landscape);
    assert_eq!(other["limited"], true);
    assert_eq!(other["rank"], 1);
    assert_eq!(
        other["indicators"]["score"],
        row(&published, landscape)["indicators"]["score"]
    );
    assert!(other["indicators"]["on_time_closure_rate"].is_null());
    assert_eq!(other["counts"]["closed"], 0);
    assert!(hv["refusal"].is_null() && hv["may_publish"] == false);

    // The scorecard of 水务局: its rows of this and last month's evaluation, its overdue
    // cases and pending appeals counted from the tables, its rank in the published month.
    let sc = app.call("scorecard", &[], Some(&head)).await;
    assert_eq!(sc.status, StatusCode::OK, "{}", sc.body);
    let sc = sc.json();
    assert_eq!(sc["department_id"], water);
    assert_eq!(sc["month"], this_month.as_str());
    let (lf, lt) = {
        let m = last_month();
        let r = get(leader.clone(), m).await;
        (
            r["report"]["from"].as_str().unwrap().to_string(),
            r["report"]["to"].as_str().unwrap().to_string(),
        )
    };
    let live = app
        .call(
            "evaluation/report",
            &[("from", &lf), ("to", &lt)],
            Some(&leader),
        )
        .await
        .json();
    let expected = live["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["department_id"] == water)
        .cloned();
    assert_eq!(
        sc["last"],
        expected.unwrap_or(Value::Null),
        "last month's row"
    );
    let now = chrono::Utc::now().timestamp_millis();
    let overdue = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM cases WHERE department_id = {water} AND state IN ('dispatched', 'handling')              AND on_hold = FALSE AND deadline_at < {now}"
        ))
        .await;
    assert_eq!(sc["overdue_total"], overdue);
    assert!(sc["overdue"].as_array().unwrap().len() as i64 == overdue.min(10));
    let pending = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM appeals WHERE department_id = {water} AND state = 'pending'"
        ))
        .await;
    assert_eq!(sc["appeals"].as_array().unwrap().len() as i64, pending);
    let water_row = row(&published, water);
    assert_eq!(
        sc["published"][0],
        serde_json::json!([
            month,
            water_row["rank"],
            2,
            water_row["indicators"]["score"]
        ])
    );
    assert!(
        sc["departments"].as_array().unwrap().is_empty(),
        "no switching for a head"
    );
    // Not another department's; leaders any; not the dispatcher.
    let r = app
        .call(
            "scorecard",
            &[("department_id", &landscape.to_string())],
            Some(&head),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call(
            "scorecard",
            &[("department_id", &landscape.to_string())],
            Some(&leader),
        )
        .await;
    assert_eq!(r.json()["name_en"], "Landscaping Bureau");
    assert_eq!(r.json()["published"][0][1], 1);
    let r = app.call("scorecard", &[], Some(&d)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The page: published badge, and its CSV link.
    let page = app
        .get(&format!("/evaluation/monthly?month={month}"), Some(&leader))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-testid=\"assessment-published\""));
    assert!(page.body.contains("data:text/csv"));
}
