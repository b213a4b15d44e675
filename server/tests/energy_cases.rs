//! Cases opened from energy anomalies, on SQLite and on PostgreSQL: who may open one, what the
//! case carries (source, class, place, routing to the entity's maintaining department), the
//! anomaly's link to it, the refusals that store nothing, and the dispatcher finding the
//! routed department preselected.
mod common;

use axum::http::StatusCode;
use common::TestApp;

on_both!(anomaly_opens_a_routed_case, migrated_cases_keep_their_rows);

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

/// A landscaping-bureau park in a Xiaodian grid and a water-affairs pumping station outside
/// the grids, each with one open spike; returns (anomaly in a grid, anomaly outside).
async fn setup(app: &TestApp) -> (i64, i64) {
    exec(
        app,
        "INSERT INTO settings (key, value) VALUES ('energy.owner_department', 'ndrc') \
               ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .await;
    let landscape = id_of(app, "SELECT id FROM departments WHERE code = 'landscape'").await;
    let water = id_of(app, "SELECT id FROM departments WHERE code = 'water'").await;
    let grid = id_of(
        app,
        "SELECT MIN(id) FROM grids WHERE district_code = '140105'",
    )
    .await;
    exec(app, &format!(
        "INSERT INTO energy_entities (code, name_zh, name_en, kind, district_code, grid_id, department_id, created_at) \
         VALUES ('T-PARK', '测试公园', 'Test park', 'public_building', '140105', {grid}, {landscape}, 0)"
    )).await;
    exec(app, &format!(
        "INSERT INTO energy_entities (code, name_zh, name_en, kind, district_code, department_id, created_at) \
         VALUES ('T-FAR', '测试泵站', 'Far pumping station', 'pumping_station', '140123', {water}, 0)"
    )).await;
    let hour = 1_790_000_000_000_i64 - 1_790_000_000_000_i64 % 3_600_000;
    for code in ["T-PARK", "T-FAR"] {
        exec(app, &format!(
            "INSERT INTO energy_anomalies (entity_id, energy_type, kind, hour, observed, expected, state, detected_at) \
             SELECT id, 'electricity', 'spike', {hour}, 120.0, 10.0, 'open', 0 FROM energy_entities WHERE code = '{code}'"
        )).await;
    }
    let a = |code: &str| {
        format!("SELECT a.id FROM energy_anomalies a JOIN energy_entities e ON e.id = a.entity_id WHERE e.code = '{code}'")
    };
    (
        id_of(app, &a("T-PARK")).await,
        id_of(app, &a("T-FAR")).await,
    )
}

async fn anomaly_opens_a_routed_case(app: &TestApp) {
    let (near, far) = setup(app).await;
    let (near_s, far_s) = (near.to_string(), far.to_string());
    let landscape = id_of(app, "SELECT id FROM departments WHERE code = 'landscape'").await;
    // The catalogue has the energy class, defaulting to the energy office.
    let class = id_of(
        app,
        "SELECT id FROM case_classes WHERE kind = 'event' AND code = '0607'",
    )
    .await;
    let class_s = class.to_string();
    assert_eq!(
        id_of(
            app,
            &format!("SELECT department_id FROM case_classes WHERE id = {class}")
        )
        .await,
        id_of(app, "SELECT id FROM departments WHERE code = 'ndrc'").await
    );
    let analyst = app.session("energy").await;

    // The page offers the suggested class and names the department and grid.
    let r = app
        .call(
            "energy/anomaly",
            &[("id", &near_s), ("lang", "en")],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["suggested_class"].as_i64(), Some(class));
    assert_eq!(
        v["department_en"].as_str(),
        Some("Landscaping Bureau"),
        "{v}"
    );
    assert!(v["grid_code"].as_str().is_some_and(|g| !g.is_empty()));
    assert!(v["classes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"].as_i64() == Some(class)));
    let r = app
        .call(
            "energy/anomaly",
            &[("id", &far_s), ("lang", "en")],
            Some(&analyst),
        )
        .await;
    let v = r.json();
    assert!(
        v["grid_code"].is_null() && v["classes"].as_array().unwrap().is_empty(),
        "{v}"
    );

    let cases = || app.scalar("SELECT COUNT(*) FROM cases");
    let before = cases().await;
    let reports = app.audit_count("case.report", "success").await;
    // A department head reads the energy pages but may not open cases from them.
    let head = app.session("waterhead").await;
    let r = app
        .call(
            "energy/anomaly/case",
            &[("id", &near_s), ("class_id", &class_s)],
            Some(&head),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(
        app.audit_count("energy_anomaly.open_case", "denied").await,
        1
    );
    // An inspector does not reach the energy area at all.
    let inspector = app.session("inspector").await;
    let r = app
        .call(
            "energy/anomaly/case",
            &[("id", &near_s), ("class_id", &class_s)],
            Some(&inspector),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // No class; an unknown class; a description too long; an entity outside the grids;
    // an anomaly that does not exist.
    let r = app
        .call("energy/anomaly/case", &[("id", &near_s)], Some(&analyst))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("class_id") && r.body.contains("UnknownClass"),
        "{}",
        r.body
    );
    let r = app
        .call(
            "energy/anomaly/case",
            &[("id", &near_s), ("class_id", "999999")],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let long = "长".repeat(2001);
    let r = app
        .call(
            "energy/anomaly/case",
            &[
                ("id", &near_s),
                ("class_id", &class_s),
                ("description", &long),
            ],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("TooLong"), "{}", r.body);
    let r = app
        .call(
            "energy/anomaly/case",
            &[("id", &far_s), ("class_id", &class_s)],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("EntityOutsideGrids"), "{}", r.body);
    let r = app
        .call(
            "energy/anomaly/case",
            &[("id", "987654"), ("class_id", &class_s)],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(cases().await, before, "a refusal stores no case");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM energy_anomalies WHERE state = 'open'")
            .await,
        2
    );

    // Opened: one case, reported from the energy source, in the entity's grid, routed to
    // the landscaping bureau; the anomaly points at it.
    let r = app
        .call(
            "energy/anomaly/case",
            &[("id", &near_s), ("class_id", &class_s)],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let case: i64 = r.json().as_i64().expect("case id");
    assert_eq!(cases().await, before + 1);
    let (source, state, route, class_of, desc): (String, String, Option<i64>, i64, String) = sqlx::query_as(
        "SELECT source, state, route_department_id, class_id, description FROM cases WHERE id = $1",
    )
    .bind(case)
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!((source.as_str(), state.as_str()), ("energy", "reported"));
    assert_eq!((route, class_of), (Some(landscape), class));
    assert!(
        desc.contains(&format!("#{near}"))
            && desc.contains("T-PARK")
            && desc.contains("×12.0")
            && desc.contains("电 / electricity"),
        "{desc}"
    );
    assert_eq!(
        id_of(
            app,
            &format!("SELECT c.grid_id FROM cases c WHERE c.id = {case}")
        )
        .await,
        id_of(
            app,
            "SELECT grid_id FROM energy_entities WHERE code = 'T-PARK'"
        )
        .await,
        "placed in the entity's grid"
    );
    let (st, linked): (String, Option<i64>) =
        sqlx::query_as("SELECT state, case_id FROM energy_anomalies WHERE id = $1")
            .bind(near)
            .fetch_one(app.pool())
            .await
            .unwrap();
    assert_eq!((st.as_str(), linked), ("case_opened", Some(case)));
    assert_eq!(
        app.audit_count("energy_anomaly.open_case", "success").await,
        1
    );
    assert_eq!(app.audit_count("case.report", "success").await, reports + 1);
    // Once only; nor can it be dismissed now.
    let r = app
        .call(
            "energy/anomaly/case",
            &[("id", &near_s), ("class_id", &class_s)],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app
        .call("energy/anomaly/dismiss", &[("id", &near_s)], Some(&analyst))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(cases().await, before + 1);
    // The energy office follows the case from the anomaly.
    let r = app
        .call(
            "energy/anomaly",
            &[("id", &near_s), ("lang", "zh")],
            Some(&analyst),
        )
        .await;
    let v = r.json();
    assert_eq!(v["case_state"].as_str(), Some("reported"), "{v}");
    assert!(v["case_code"]
        .as_str()
        .is_some_and(|c| c.ends_with(&format!("{case:06}"))));
    assert_eq!(v["may_cases"].as_bool(), Some(false));

    // The dispatcher sees where it came from and where it is routed, files it, and finds the
    // landscaping bureau preselected for dispatch.
    let d = app.session("dispatcher").await;
    let r = app
        .call("cases/get", &[("id", &case.to_string())], Some(&d))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["anomaly_id"].as_i64(), Some(near), "{v}");
    assert_eq!(v["route_department"]["id"].as_i64(), Some(landscape));
    let version = v["version"].as_i64().unwrap().to_string();
    let r = app
        .multipart(
            "cases/step",
            &[
                ("case_id", &case.to_string()),
                ("action", "file"),
                ("version", &version),
            ],
            &[],
            Some(&d),
        )
        .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    let page = app.get(&format!("/cases/{case}"), Some(&d)).await;
    assert_eq!(page.status, StatusCode::OK);
    let selected = format!("<option value=\"{landscape}\" selected");
    assert!(
        page.body.contains(&selected),
        "dispatch preselects the routed department"
    );
    assert!(page.body.contains("data-testid=\"case-anomaly\""));
}

/// Migration 0007 rebuilt `cases` on SQLite: the rows written before keep their ids and
/// children, the new source is accepted, an unknown one is still refused, and a case with
/// children still cannot be deleted.
async fn migrated_cases_keep_their_rows(app: &TestApp) {
    let class = id_of(
        app,
        "SELECT id FROM case_classes WHERE kind = 'event' AND code = '0607'",
    )
    .await;
    let grid = id_of(app, "SELECT MIN(id) FROM grids").await;
    let insert = |source: &str| {
        format!(
            "INSERT INTO cases (code, source, class_id, grid_id, district_code, lon, lat, address, description, state, \
             reported_at, filing_deadline, updated_at) \
             VALUES ('T-{source}', '{source}', {class}, {grid}, '140105', 112.5, 37.8, 'a', 'd', 'reported', 0, 0, 0)"
        )
    };
    exec(app, &insert("energy")).await;
    assert!(
        sqlx::query(&insert("fax"))
            .execute(app.pool())
            .await
            .is_err(),
        "the source check still holds"
    );
    let id = id_of(app, "SELECT id FROM cases WHERE code = 'T-energy'").await;
    exec(app, &format!(
        "INSERT INTO case_events (case_id, at, action, to_state, actor_name, note) VALUES ({id}, 0, 'report', 'reported', 't', '')"
    )).await;
    assert!(
        sqlx::query(&format!("DELETE FROM cases WHERE id = {id}"))
            .execute(app.pool())
            .await
            .is_err(),
        "foreign keys from the timeline still hold"
    );
}

/// The SQLite rebuild of migration 0007 on a database holding cases: migrated to 0006, given
/// cases with timeline entries and an assignment (and the energy class removed, as in a
/// catalogue seeded before 0007), then migrated on. Every case keeps its id, code and
/// children, foreign keys check clean, new ids continue after the old ones, and the
/// migration adds the class back.
#[tokio::test]
async fn sqlite_rebuild_keeps_existing_cases() {
    sqlx::any::install_default_drivers();
    let path = common::temp_sqlite_path();
    let url = format!("sqlite:{}", path.display());
    let store = app::db::Store::connect(&url).await.expect("connect");
    common::sqlite_migrations_before(7)
        .run(store.pool())
        .await
        .expect("migrate to 0006");
    app::db::seed::demo(&store)
        .await
        .expect("departments and users");
    app::db::seed::reference(&store)
        .await
        .expect("catalogue and grids");
    let pool = store.pool();
    let q = |sql: String| async move {
        sqlx::query(&sql)
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    };
    q("DELETE FROM case_classes WHERE kind = 'event' AND code = '0607'".into()).await;
    for i in 1..=3 {
        q(format!(
            "INSERT INTO cases (code, source, class_id, grid_id, district_code, lon, lat, address, description, state, \
             department_id, reported_at, filing_deadline, updated_at) \
             SELECT 'OLD-{i}', 'inspector', MIN(c.id), MIN(g.id), '140105', 112.5, 37.8, '地址{i}', '描述{i}', 'dispatched', \
             (SELECT id FROM departments WHERE code = 'water'), {i}, {i}, {i} FROM case_classes c, grids g"
        ))
        .await;
    }
    // A gap in the ids, as deleted drafts would leave (none are deleted; the sequence moves).
    q("UPDATE sqlite_sequence SET seq = 10 WHERE name = 'cases'".into()).await;
    q(
        "INSERT INTO case_events (case_id, at, action, to_state, actor_name, note) \
       SELECT id, 0, 'report', 'reported', 't', '' FROM cases"
            .into(),
    )
    .await;
    q(
        "INSERT INTO case_assignments (case_id, department_id, dispatched_at, deadline_at) \
       SELECT id, department_id, 0, 0 FROM cases WHERE code = 'OLD-2'"
            .into(),
    )
    .await;
    let old: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, code, description FROM cases ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();

    store.migrate().await.expect("migrate on through 0007");

    let now: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, code, description FROM cases ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(now, old, "every case kept");
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_events")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(events, 3);
    let fk: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(pool)
        .await
        .unwrap();
    assert!(fk.is_empty(), "dangling references: {fk:?}");
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(ok, "ok");
    let classes: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM case_classes WHERE kind = 'event' AND code = '0607' AND name_en = 'Abnormal energy use'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(classes, 1, "the migration adds the energy class");
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO cases (code, source, class_id, grid_id, district_code, lon, lat, address, description, state, \
         reported_at, filing_deadline, updated_at, route_department_id) \
         SELECT 'NEW', 'energy', MIN(c.id), MIN(g.id), '140105', 112.5, 37.8, 'a', 'd', 'reported', 0, 0, 0, \
         (SELECT id FROM departments WHERE code = 'landscape') FROM case_classes c, grids g RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(id, 11, "ids continue after the old sequence");
    let indexes: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cases' AND name IN \
         ('cases_state_deadline_idx', 'cases_department_state_idx', 'cases_reported_idx', 'cases_grid_state_idx', \
          'cases_class_idx', 'cases_district_idx', 'cases_open_idx', 'cases_district_state_idx', \
          'cases_overdue_idx', 'cases_filed_idx')",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(indexes, 10, "the indexes of 0002 and 0003 are back");
    assert!(
        sqlx::query("DELETE FROM cases WHERE code = 'OLD-1'")
            .execute(pool)
            .await
            .is_err(),
        "the timeline's foreign key still holds"
    );
    store.close().await;
    common::remove_sqlite(&path);
}
