//! Dataset grants through the real router, on SQLite and on PostgreSQL: a department never
//! granted reads only its own share; granted, it reads the whole dataset and every read is
//! audited; revoked, it is narrowed again. Only the owning department's head or an
//! administrator grants or revokes; anyone else is refused on the server with nothing changed.
mod common;

use axum::http::StatusCode;
use common::TestApp;

on_both!(
    case_records_follow_the_grants,
    sky_eye_and_energy_follow_the_grants,
    only_the_owner_head_or_an_administrator_grants,
);

/// A department head of the city management bureau (the owner of the case records), with
/// the demo password.
async fn cmb_head(app: &TestApp) -> String {
    app.exec("INSERT INTO users (username, display_name, password_hash, role, department_id, created_at, updated_at) \
         SELECT 'cmbhead', '城管负责人', password_hash, 'dept_head', department_id, created_at, updated_at \
         FROM users WHERE username = 'dispatcher'",
    )
    .await;
    app.session("cmbhead").await
}

async fn case_total(app: &TestApp, cookie: &str) -> i64 {
    let r = app
        .call("cases/list", &[("filter[page]", "1")], Some(cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["total"].as_i64().unwrap()
}

async fn grant(app: &TestApp, cookie: &str, dataset: &str, dept: i64) -> common::Resp {
    app.call(
        "data/grant",
        &[("dataset", dataset), ("department_id", &dept.to_string())],
        Some(cookie),
    )
    .await
}

async fn revoke(app: &TestApp, cookie: &str, id: i64) -> common::Resp {
    app.call("data/revoke", &[("id", &id.to_string())], Some(cookie))
        .await
}

async fn reads(app: &TestApp) -> i64 {
    app.audit_count("data.read", "success").await
}

async fn case_records_follow_the_grants(app: &TestApp) {
    let w = app.dept_id("water").await;
    let head = app.session("waterhead").await;
    let all = app.scalar("SELECT COUNT(*) FROM cases").await;
    let mine = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM cases c WHERE c.department_id = {w} \
             OR c.id IN (SELECT case_id FROM case_assignments WHERE department_id = {w})"
        ))
        .await;
    assert!(mine < all && all <= 1000);
    let other = app
        .scalar(&format!(
            "SELECT MIN(id) FROM cases c WHERE (c.department_id IS NULL OR c.department_id <> {w}) \
             AND c.id NOT IN (SELECT case_id FROM case_assignments WHERE department_id = {w})"
        ))
        .await;
    let get_other = || async {
        app.call("cases/get", &[("id", &other.to_string())], Some(&head))
            .await
            .json()
    };

    // Never granted: narrowed, and nothing audited as a read through a grant.
    assert_eq!(case_total(app, &head).await, mine);
    assert!(get_other().await.is_null());
    assert_eq!(reads(app).await, 0);

    // Granted by the owner's head: everything, each read audited with what was read.
    let cmb = cmb_head(app).await;
    let r = grant(app, &cmb, "cases", w).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.json().as_i64().unwrap();
    assert_eq!(app.audit_count("dataset.grant", "success").await, 1);
    assert_eq!(case_total(app, &head).await, all);
    assert_eq!(reads(app).await, 1);
    assert!(
        get_other().await["row"]["code"].is_string(),
        "reads another department's case"
    );
    assert_eq!(reads(app).await, 2);
    let details: Vec<String> = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'data.read' AND target_id = 'cases' ORDER BY id",
    )
    .fetch_all(app.pool())
    .await
    .unwrap();
    assert!(details[0].contains("case list"), "{details:?}");
    assert!(details[1].contains(&format!("case {other}")), "{details:?}");
    // The handler of the same department reads through the same grant.
    let handler = app.session("water").await;
    assert_eq!(case_total(app, &handler).await, all);
    // The catalogue shows it.
    let cat = app.call("data/catalogue", &[], Some(&head)).await.json();
    let cases = cat["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["info"]["code"] == "cases")
        .unwrap()
        .clone();
    assert_eq!(cases["granted_to_me"], true);
    assert_eq!(cases["can_grant"], false);
    assert_eq!(cases["info"]["owner_zh"], "城市管理局");

    // A second grant in force is a conflict; a grant to the owner itself says nothing.
    assert_eq!(
        grant(app, &cmb, "cases", w).await.status,
        StatusCode::CONFLICT
    );
    let own = app.dept_id("cmb").await;
    assert_eq!(
        grant(app, &cmb, "cases", own).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Revoked by an administrator: narrowed again, and no more reads audited.
    let admin = app.session("admin").await;
    let r = revoke(app, &admin, id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let before = reads(app).await;
    assert_eq!(case_total(app, &head).await, mine);
    assert!(get_other().await.is_null());
    assert_eq!(reads(app).await, before);
    // The history is kept: granted by the head, revoked by the administrator.
    let (by, rby): (i64, Option<i64>) =
        sqlx::query_as("SELECT granted_by, revoked_by FROM dataset_grants WHERE id = $1")
            .bind(id)
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!(by, app.user_id("cmbhead").await);
    assert_eq!(rby, Some(app.user_id("admin").await));
    assert_eq!(revoke(app, &admin, id).await.status, StatusCode::CONFLICT);
    // And it can be granted again.
    assert_eq!(grant(app, &admin, "cases", w).await.status, StatusCode::OK);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM dataset_grants WHERE dataset_code = 'cases'")
            .await,
        2
    );
}

async fn sky_eye_and_energy_follow_the_grants(app: &TestApp) {
    let w = app.dept_id("water").await;
    let head = app.session("waterhead").await;
    let admin = app.session("admin").await;

    // Sky Eye: incidents of the water bureau only (escalated to it, its own cameras).
    let all = app.scalar("SELECT COUNT(*) FROM incidents").await.min(1000);
    let mine = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM incidents i WHERE i.owner_department_id = {w} \
             OR i.type_id IN (SELECT type_id FROM alert_type_grants WHERE department_id = {w}) \
             OR i.case_id IN (SELECT id FROM cases WHERE department_id = {w}) \
             OR i.case_id IN (SELECT case_id FROM case_assignments WHERE department_id = {w})"
        ))
        .await
        .min(1000);
    assert!(mine < all, "{mine} < {all}");
    let total = |c: String| async move {
        let r = app
            .call("alerts/list", &[("filter[page]", "1")], Some(&c))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()["total"].as_i64().unwrap()
    };
    assert_eq!(total(head.clone()).await, mine);
    let r = grant(app, &admin, "skyeye", w).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let sky = r.json().as_i64().unwrap();
    assert_eq!(total(head.clone()).await, all);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'data.read' AND target_id = 'skyeye' \
             AND detail LIKE '%incident list%'"
        )
        .await,
        1
    );
    assert_eq!(revoke(app, &admin, sky).await.status, StatusCode::OK);
    assert_eq!(total(head.clone()).await, mine);

    // Energy: an entity of the housing bureau is not the water bureau's to read.
    let housing = app.dept_id("housing").await;
    app.exec(
        "INSERT INTO settings (key, value) VALUES ('energy.owner_department', 'ndrc') \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .await;
    app.exec(&format!(
            "INSERT INTO energy_entities (code, name_zh, name_en, kind, district_code, department_id, created_at) \
             VALUES ('G-BLD', '测试大楼', 'Test building', 'public_building', '140105', {housing}, 0)"
        ),
    )
    .await;
    let ent = app
        .scalar("SELECT id FROM energy_entities WHERE code = 'G-BLD'")
        .await;
    let entity = |c: String| async move {
        app.call("energy/entity", &[("id", &ent.to_string())], Some(&c))
            .await
            .status
    };
    assert_eq!(entity(head.clone()).await, StatusCode::NOT_FOUND);
    // The energy office's owner head is not in the demo; the administrator grants.
    let r = grant(app, &admin, "energy", w).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let en = r.json().as_i64().unwrap();
    assert_eq!(entity(head.clone()).await, StatusCode::OK);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'data.read' AND target_id = 'energy' \
             AND detail LIKE '%entity {ent}%'"
        ))
        .await,
        1
    );
    assert_eq!(revoke(app, &admin, en).await.status, StatusCode::OK);
    assert_eq!(entity(head.clone()).await, StatusCode::NOT_FOUND);
}

async fn only_the_owner_head_or_an_administrator_grants(app: &TestApp) {
    let w = app.dept_id("water").await;
    let landscape = app.dept_id("landscape").await;
    let count = || async { app.scalar("SELECT COUNT(*) FROM dataset_grants").await };
    // A handler, another department's head, a leader, the owner's dispatcher: refused.
    for user in ["water", "waterhead", "leader", "dispatcher"] {
        let c = app.session(user).await;
        let r = grant(app, &c, "cases", landscape).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{user}: {}", r.body);
    }
    assert_eq!(count().await, 0);
    assert_eq!(app.audit_count("dataset.grant", "denied").await, 4);
    // The case owner's head may not grant Sky Eye data (owned by the public security bureau).
    let cmb = cmb_head(app).await;
    assert_eq!(
        grant(app, &cmb, "skyeye", w).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(count().await, 0);
    // Unknown dataset, unknown department.
    assert_eq!(
        grant(app, &cmb, "nothing", w).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        grant(app, &cmb, "cases", 999_999).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // The owner's head grants; another department's head may not revoke it.
    let r = grant(app, &cmb, "cases", landscape).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.json().as_i64().unwrap();
    let wh = app.session("waterhead").await;
    assert_eq!(revoke(app, &wh, id).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM dataset_grants WHERE id = {id} AND revoked_at IS NULL"
        ))
        .await,
        1
    );
    assert_eq!(app.audit_count("dataset.revoke", "denied").await, 1);
    // The owner's head revokes.
    assert_eq!(revoke(app, &cmb, id).await.status, StatusCode::OK);
    assert_eq!(app.audit_count("dataset.revoke", "success").await, 1);
    // Not signed in: refused before anything.
    let r = grant(app, "citylink_session=none", "cases", landscape).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Public datasets take no grants.
    let admin = app.session("admin").await;
    assert_eq!(
        grant(app, &admin, "cases-monthly", w).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(count().await, 1);
}
