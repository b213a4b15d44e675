//! Reduction targets and emission factors through the real router, on SQLite and on
//! PostgreSQL: who may write, every refusal of the form, optimistic versions, progress
//! figures against sums worked out here by hand, and a factor revision recomputing carbon.
mod common;

use axum::http::StatusCode;
use common::{Resp, TestApp};
use serde_json::Value;

on_both!(
    targets_are_written_by_analysts_only_and_checked,
    progress_matches_hand_computed_figures,
    a_factor_revision_recomputes_carbon,
);

// ---- helpers ----

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql)
        .execute(app.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn f64_of(app: &TestApp, sql: &str) -> f64 {
    sqlx::query_scalar::<_, f64>(sql)
        .fetch_one(app.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// Two entities: a housing-bureau building in Xiaodian (140105) and a water-affairs pumping
/// station in Yingze (140106). The city's region is north_china; the NDRC owns energy data.
/// Factors: national 2025 electricity 0.5703, north_china 2026 electricity 0.6.
async fn setup(app: &TestApp) {
    let dept = |code: &'static str| async move {
        app.scalar(&format!("SELECT id FROM departments WHERE code = '{code}'"))
            .await
    };
    let housing = dept("housing").await;
    let water = dept("water").await;
    for sql in [
        "INSERT INTO settings (key, value) VALUES ('energy.region', 'north_china') ON CONFLICT (key) DO UPDATE SET value = excluded.value".to_string(),
        "INSERT INTO settings (key, value) VALUES ('energy.owner_department', 'ndrc') ON CONFLICT (key) DO UPDATE SET value = excluded.value".to_string(),
        format!("INSERT INTO energy_entities (code, name_zh, name_en, kind, district_code, department_id, created_at) \
                 VALUES ('T-BLD', '测试大楼', 'Test building', 'public_building', '140105', {housing}, 0)"),
        format!("INSERT INTO energy_entities (code, name_zh, name_en, kind, district_code, department_id, created_at) \
                 VALUES ('T-PUMP', '测试泵站', 'Test pumping station', 'pumping_station', '140106', {water}, 0)"),
        "INSERT INTO emission_factors (year, region, energy_type, kg_per_unit, source, created_at) \
         VALUES (2025, 'national', 'electricity', 0.5703, 'MEE 2024', 0)".to_string(),
        "INSERT INTO emission_factors (year, region, energy_type, kg_per_unit, source, created_at) \
         VALUES (2026, 'north_china', 'electricity', 0.6, 'test', 0)".to_string(),
    ] {
        exec(app, &sql).await;
    }
}

async fn entity(app: &TestApp, code: &str) -> i64 {
    app.scalar(&format!(
        "SELECT id FROM energy_entities WHERE code = '{code}'"
    ))
    .await
}

/// The field errors of a refused form, as (field, kind).
fn fields(r: &Resp) -> Vec<(String, String)> {
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    r.json()["Invalid"]
        .as_array()
        .unwrap_or_else(|| panic!("not field errors: {}", r.body))
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn has(errs: &[(String, String)], field: &str, kind: &str) -> bool {
    errs.iter().any(|(f, k)| f == field && k == kind)
}

/// A district target form.
fn district_form<'a>(
    code: &'a str,
    metric: &'a str,
    by: &'a str,
    ty: &'a str,
    pct: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("scope", "district"),
        ("district_code", code),
        ("metric", metric),
        ("baseline_year", by),
        ("target_year", ty),
        ("reduction_pct", pct),
        ("note", "测试 test"),
    ]
}

async fn targets(app: &TestApp, cookie: &str) -> Value {
    let r = app.call("energy/targets", &[], Some(cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

fn find<'a>(v: &'a Value, id: i64) -> Option<&'a Value> {
    v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"].as_i64() == Some(id))
}

// ---- tests ----

async fn targets_are_written_by_analysts_only_and_checked(app: &TestApp) {
    setup(app).await;
    let analyst = app.session("energy").await;
    let head = app.session("waterhead").await;
    let inspector = app.session("inspector").await;
    let leader = app.session("leader").await;

    // Relative counts: a demo seed may hold targets of its own.
    let before = app.scalar("SELECT COUNT(*) FROM energy_targets").await;
    let form = district_form("140105", "electricity", "2024", "2025", "10");
    let r = app
        .call("energy/targets/create", &form, Some(&analyst))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.json().as_i64().unwrap();
    assert_eq!(app.audit_count("energy_target.create", "success").await, 1);

    // A department head reads but does not write; an inspector does not even read.
    let r = app
        .call(
            "energy/targets/create",
            &district_form("140106", "water", "2024", "2025", "5"),
            Some(&head),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(app.audit_count("energy_target.create", "denied").await, 1);
    let r = app
        .call("energy/targets/create", &form, Some(&inspector))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.call("energy/targets", &[], Some(&inspector)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call("energy/targets/create", &form, Some(&leader))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM energy_targets").await,
        before + 1
    );

    // Every field checked, all errors at once.
    let bad = district_form("999999", "steam", "1999", "1999", "0");
    let errs = fields(
        &app.call("energy/targets/create", &bad, Some(&analyst))
            .await,
    );
    for (f, k) in [
        ("district_code", "Required"),
        ("metric", "Required"),
        ("baseline_year", "BadNumber"),
        ("target_year", "BadNumber"),
        ("reduction_pct", "BadNumber"),
    ] {
        assert!(has(&errs, f, k), "{f} {k}: {errs:?}");
    }
    // A baseline in the future; a target year before, equal to or too far after the baseline;
    // reductions of 100 % and of nothing readable.
    let next_year = (chrono::Utc::now()
        .format("%Y")
        .to_string()
        .parse::<i64>()
        .unwrap()
        + 1)
    .to_string();
    let errs = fields(
        &app.call(
            "energy/targets/create",
            &district_form("140105", "carbon", &next_year, "2040", "5"),
            Some(&analyst),
        )
        .await,
    );
    assert_eq!(
        errs,
        vec![("baseline_year".to_string(), "BadNumber".to_string())]
    );
    for ty in ["2023", "2024", "2040"] {
        let errs = fields(
            &app.call(
                "energy/targets/create",
                &district_form("140105", "carbon", "2024", ty, "5"),
                Some(&analyst),
            )
            .await,
        );
        assert_eq!(
            errs,
            vec![("target_year".to_string(), "BadNumber".to_string())],
            "{ty}"
        );
    }
    // 2024 + 15 = 2039 is the last year allowed.
    let r = app
        .call(
            "energy/targets/create",
            &district_form("140105", "carbon", "2024", "2039", "30"),
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for pct in ["100", "-3", "abc", ""] {
        let errs = fields(
            &app.call(
                "energy/targets/create",
                &district_form("140105", "heat", "2024", "2025", pct),
                Some(&analyst),
            )
            .await,
        );
        assert_eq!(
            errs,
            vec![("reduction_pct".to_string(), "BadNumber".to_string())],
            "{pct}"
        );
    }
    // An entity target needs an existing entity; a scope must be one of the two.
    let r = app
        .call(
            "energy/targets/create",
            &[
                ("scope", "entity"),
                ("entity_id", "999999"),
                ("metric", "gas"),
                ("baseline_year", "2024"),
                ("target_year", "2025"),
                ("reduction_pct", "3"),
            ],
            Some(&analyst),
        )
        .await;
    assert_eq!(
        fields(&r),
        vec![("entity_id".to_string(), "Required".to_string())]
    );
    let r = app
        .call(
            "energy/targets/create",
            &[
                ("scope", "city"),
                ("metric", "gas"),
                ("baseline_year", "2024"),
                ("target_year", "2025"),
                ("reduction_pct", "3"),
            ],
            Some(&analyst),
        )
        .await;
    assert!(has(&fields(&r), "scope", "Required"));
    // The same district, metric and target year again: a duplicate, said on the target year.
    let errs = fields(
        &app.call(
            "energy/targets/create",
            &district_form("140105", "electricity", "2023", "2025", "4"),
            Some(&analyst),
        )
        .await,
    );
    assert_eq!(
        errs,
        vec![("target_year".to_string(), "CodeTaken".to_string())]
    );
    assert!(app.audit_count("energy_target.create", "failure").await >= 9);

    // An entity target of the pumping station (water bureau).
    let pump = entity(app, "T-PUMP").await.to_string();
    let bld = entity(app, "T-BLD").await.to_string();
    let r = app
        .call(
            "energy/targets/create",
            &[
                ("scope", "entity"),
                ("entity_id", &pump),
                ("district_code", "ignored"),
                ("metric", "water"),
                ("baseline_year", "2024"),
                ("target_year", "2025"),
                ("reduction_pct", "2.5"),
            ],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let pump_target = r.json().as_i64().unwrap();
    let r = app
        .call(
            "energy/targets/create",
            &[
                ("scope", "entity"),
                ("entity_id", &bld),
                ("metric", "carbon"),
                ("baseline_year", "2024"),
                ("target_year", "2025"),
                ("reduction_pct", "5"),
            ],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let bld_target = r.json().as_i64().unwrap();

    // Readers: the water bureau's head sees the district targets and the pumping station's,
    // not the housing bureau's building; no forms.
    let v = targets(app, &head).await;
    assert_eq!(v["can_edit"], false);
    assert!(find(&v, id).is_some() && find(&v, pump_target).is_some());
    assert!(find(&v, bld_target).is_none());
    assert_eq!(v["entities"].as_array().unwrap().len(), 0);
    let v = targets(app, &leader).await;
    assert!(find(&v, bld_target).is_some());
    assert_eq!(v["can_edit"], false);
    let v = targets(app, &analyst).await;
    assert_eq!(v["can_edit"], true);
    let t = find(&v, id).unwrap();
    assert_eq!(
        (t["scope_zh"].as_str(), t["scope_en"].as_str()),
        (Some("小店区"), Some("Xiaodian"))
    );
    assert_eq!(
        find(&v, pump_target).unwrap()["scope_en"],
        "Test pumping station"
    );
    assert_eq!(find(&v, pump_target).unwrap()["district_code"], "140106");

    // Edit with the version read; the same version again is stale.
    let id_s = id.to_string();
    let mut upd = district_form("140105", "electricity", "2024", "2025", "12");
    upd.push(("id", &id_s));
    upd.push(("version", "1"));
    let r = app
        .call("energy/targets/update", &upd, Some(&analyst))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = targets(app, &analyst).await;
    let t = find(&v, id).unwrap();
    assert_eq!(
        (t["reduction_pct"].as_f64(), t["version"].as_i64()),
        (Some(12.0), Some(2))
    );
    let r = app
        .call("energy/targets/update", &upd, Some(&analyst))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("Conflict"));
    // An edit into another target's place is a duplicate; an edit of itself is not.
    let mut clash = district_form("140105", "carbon", "2024", "2039", "9");
    clash.push(("id", &id_s));
    clash.push(("version", "2"));
    let errs = fields(
        &app.call("energy/targets/update", &clash, Some(&analyst))
            .await,
    );
    assert_eq!(
        errs,
        vec![("target_year".to_string(), "CodeTaken".to_string())]
    );
    let r = app.call("energy/targets/update", &upd, Some(&head)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call(
            "energy/targets/update",
            &[
                ("id", "999999"),
                ("version", "1"),
                ("scope", "district"),
                ("district_code", "140105"),
                ("metric", "gas"),
                ("baseline_year", "2024"),
                ("target_year", "2030"),
                ("reduction_pct", "3"),
            ],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(app.audit_count("energy_target.update", "success").await, 1);

    // Delete: readers refused, a stale version refused, then gone.
    let r = app
        .call(
            "energy/targets/delete",
            &[("id", &id_s), ("version", "2")],
            Some(&head),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call(
            "energy/targets/delete",
            &[("id", &id_s), ("version", "1")],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app
        .call(
            "energy/targets/delete",
            &[("id", &id_s), ("version", "2")],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM energy_targets WHERE id = {id}"
        ))
        .await,
        0
    );
    assert_eq!(app.audit_count("energy_target.delete", "success").await, 1);

    // The pages render on the server: the table with its status help, the link to the
    // factors, and the form for the analyst only.
    let r = app.get("/energy/targets", Some(&analyst)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("data-testid=\"targets-table\""),
        "targets table"
    );
    assert!(r.body.contains("href=\"/energy/factors\""));
    assert!(r.body.contains("data-testid=\"target-form\""));
    assert!(r.body.contains("data-testid=\"targets-help\""));
    let r = app
        .get(
            &format!("/energy/targets?edit={pump_target}"),
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("data-testid=\"delete-target\""));
    let r = app.get("/energy/targets", Some(&head)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("data-testid=\"targets-table\""));
    assert!(!r.body.contains("data-testid=\"target-form\""));
    let r = app.get("/energy/factors", Some(&analyst)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("data-testid=\"factors-table\""));
    assert!(r.body.contains("data-testid=\"factor-form\""));

    // The demo targets: every district's carbon and one entity's electricity, once.
    let now = app::db::now_ms();
    app::db::energy_targets::demo_targets(&app.state.store, now)
        .await
        .unwrap();
    let year = app::db::energy_targets::clock(now).0;
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM energy_targets WHERE scope = 'district' AND metric = 'carbon' AND target_year = {year}")).await,
        app::db::grids::DISTRICTS.len() as i64
    );
    assert_eq!(
        app::db::energy_targets::demo_targets(&app.state.store, now)
            .await
            .unwrap(),
        0
    );
}

/// Monthly rollup rows: (table, key column, key, type, month, value, carbon).
async fn month_row(
    app: &TestApp,
    table: &str,
    key: &str,
    ty: &str,
    month: i64,
    value: f64,
    carbon: f64,
) {
    let (col, key) = if table == "energy_district_month" {
        ("district_code", format!("'{key}'"))
    } else {
        ("entity_id", key.to_string())
    };
    exec(
        app,
        &format!("INSERT INTO {table} ({col}, energy_type, month, value, carbon_kg) VALUES ({key}, '{ty}', {month}, {value}, {carbon})"),
    )
    .await;
}

async fn progress_matches_hand_computed_figures(app: &TestApp) {
    setup(app).await;
    let bld = entity(app, "T-BLD").await;
    // Xiaodian electricity: 100 kWh each month of 2024 (B = 1200), 95 each month of 2025
    // (1140). Target at 10 %: 1080. 2025 is over, so the forecast is the year: 1140, which
    // is (1140 − 1080) / 1080 = 5.56 % over → off track.
    for m in 1..=12 {
        month_row(
            app,
            "energy_district_month",
            "140105",
            "electricity",
            202400 + m,
            100.0,
            60.0,
        )
        .await;
        month_row(
            app,
            "energy_district_month",
            "140105",
            "electricity",
            202500 + m,
            95.0,
            57.0,
        )
        .await;
    }
    // The building's carbon: electricity 50 kg each month plus heat 10 kg in January of 2024
    // (B = 610); 45 kg a month plus the same 10 kg of heat in 2025 (550). Target at 10 %:
    // 549 → 550 is 0.18 % over → at risk. The values (kWh) must not count for carbon.
    for m in 1..=12 {
        month_row(
            app,
            "energy_entity_month",
            &bld.to_string(),
            "electricity",
            202400 + m,
            1000.0,
            50.0,
        )
        .await;
        month_row(
            app,
            "energy_entity_month",
            &bld.to_string(),
            "electricity",
            202500 + m,
            900.0,
            45.0,
        )
        .await;
    }
    month_row(
        app,
        "energy_entity_month",
        &bld.to_string(),
        "heat",
        202401,
        3.0,
        10.0,
    )
    .await;
    month_row(
        app,
        "energy_entity_month",
        &bld.to_string(),
        "heat",
        202501,
        3.0,
        10.0,
    )
    .await;
    // Yingze electricity, 2025 at 100 a month and 2026 at 90 a month January to June: judged
    // on 1 July 2026 (nothing of July gone) the ratio is 540 / 600 = 0.9, the forecast 540 +
    // 6 × 90 = 1080 = the target at 10 % → on track.
    for m in 1..=12 {
        month_row(
            app,
            "energy_district_month",
            "140106",
            "electricity",
            202500 + m,
            100.0,
            57.03,
        )
        .await;
    }
    for m in 1..=6 {
        month_row(
            app,
            "energy_district_month",
            "140106",
            "electricity",
            202600 + m,
            90.0,
            54.0,
        )
        .await;
    }
    for sql in [
        "INSERT INTO energy_targets (scope, district_code, metric, baseline_year, target_year, reduction_pct, created_at, updated_at) VALUES ('district', '140105', 'electricity', 2024, 2025, 10, 0, 0)".to_string(),
        format!("INSERT INTO energy_targets (scope, entity_id, metric, baseline_year, target_year, reduction_pct, created_at, updated_at) VALUES ('entity', {bld}, 'carbon', 2024, 2025, 10, 0, 0)"),
        "INSERT INTO energy_targets (scope, district_code, metric, baseline_year, target_year, reduction_pct, created_at, updated_at) VALUES ('district', '140106', 'electricity', 2025, 2026, 10, 0, 0)".to_string(),
        // No figures of the pumping station's district's water at all: no data.
        "INSERT INTO energy_targets (scope, district_code, metric, baseline_year, target_year, reduction_pct, created_at, updated_at) VALUES ('district', '140106', 'water', 2025, 2026, 10, 0, 0)".to_string(),
        // A target year still ahead: no data, though the target is known (B = 1200 → 1140).
        "INSERT INTO energy_targets (scope, district_code, metric, baseline_year, target_year, reduction_pct, created_at, updated_at) VALUES ('district', '140105', 'electricity', 2024, 2030, 5, 0, 0)".to_string(),
    ] {
        exec(app, &sql).await;
    }
    let analyst_id = app.user_id("energy").await;
    let ndrc = app
        .scalar("SELECT id FROM departments WHERE code = 'ndrc'")
        .await;
    let u = app::model::CurrentUser {
        id: analyst_id,
        username: "energy".into(),
        display_name: "郑洁".into(),
        role: app::domain::Role::EnergyAnalyst,
        department_id: ndrc,
        department_zh: String::new(),
        department_en: String::new(),
    };
    let now = app::db::local_day_start_ms("2026-07-01").unwrap();
    let rows = app::db::energy_targets::list(&app.state.store, &u, now)
        .await
        .unwrap();
    let get = |scope_key: &str, metric: &str, ty: i64| {
        rows.iter()
            .find(|t| {
                (t.district_code == scope_key
                    || t.entity_id.map(|e| e.to_string()).as_deref() == Some(scope_key))
                    && t.metric == metric
                    && t.target_year == ty
            })
            .unwrap_or_else(|| panic!("{scope_key} {metric} {ty}"))
    };
    let t = get("140105", "electricity", 2025);
    assert!(
        close(t.baseline_total, 1200.0) && close(t.target, 1080.0),
        "{t:?}"
    );
    assert!(close(t.ytd_actual, 1140.0) && close(t.forecast.unwrap(), 1140.0));
    assert!(close(
        t.forecast_vs_target_pct.unwrap(),
        60.0 / 1080.0 * 100.0
    ));
    assert_eq!((t.status.as_str(), t.unit.as_str()), ("off_track", "kWh"));

    let t = get(&bld.to_string(), "carbon", 2025);
    assert!(
        close(t.baseline_total, 610.0) && close(t.target, 549.0),
        "{t:?}"
    );
    assert!(close(t.forecast.unwrap(), 550.0));
    assert!(close(t.forecast_vs_target_pct.unwrap(), 100.0 / 549.0));
    assert_eq!(t.status, "at_risk");
    assert_eq!(t.district_code, "140105");

    let t = get("140106", "electricity", 2026);
    assert!(
        close(t.target, 1080.0) && close(t.ytd_actual, 540.0),
        "{t:?}"
    );
    assert!(close(t.forecast.unwrap(), 1080.0));
    assert_eq!(t.status, "on_track");

    let t = get("140106", "water", 2026);
    assert_eq!((t.status.as_str(), t.forecast), ("no_data", None));

    let t = get("140105", "electricity", 2030);
    assert_eq!(t.status, "no_data");
    assert!(close(t.target, 1140.0) && close(t.ytd_actual, 0.0));

    // The same figures through the server function (judged now, late 2026: the 2025
    // targets are over, so they do not depend on the day the test runs).
    let analyst = app.session("energy").await;
    let v = targets(app, &analyst).await;
    let t = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["district_code"] == "140105" && t["target_year"] == 2025)
        .unwrap();
    assert_eq!(t["status"], "off_track");
    assert_eq!(t["forecast"].as_f64(), Some(1140.0));
    let r = app.get("/energy/targets", Some(&analyst)).await;
    assert!(r.body.contains("data-status=\"at_risk\""));

    // Xinghualing was measured from November 2024 only: two months of 2024 are no baseline,
    // however the 2025 figures compare with them.
    for m in [202411, 202412] {
        month_row(
            app,
            "energy_district_month",
            "140107",
            "electricity",
            m,
            10.0,
            5.0,
        )
        .await;
    }
    for m in 202501..=202512 {
        month_row(
            app,
            "energy_district_month",
            "140107",
            "electricity",
            m,
            100.0,
            50.0,
        )
        .await;
    }
    exec(
        app,
        "INSERT INTO energy_targets (scope, district_code, metric, baseline_year, target_year, reduction_pct, \
         note, created_at, updated_at) VALUES ('district', '140107', 'electricity', 2024, 2025, 5, '', 0, 0)",
    )
    .await;
    let v = targets(app, &analyst).await;
    let t = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["district_code"] == "140107")
        .unwrap();
    assert_eq!(t["status"], "no_data", "{t}");
    assert_eq!(t["forecast"], Value::Null);
}

async fn a_factor_revision_recomputes_carbon(app: &TestApp) {
    setup(app).await;
    let bld = entity(app, "T-BLD").await;
    // 1,000 kWh on 2 March 2026 (north_china 2026: 0.6 → 600 kg) and on 2 March 2025
    // (national 2025: 0.5703 → 570.3 kg), in day and month rollups of entity and district;
    // 10 m³ of water in 2026 with no factor (0 kg).
    let d26 = app::domain::energy::days_from_civil(2026, 3, 2);
    let d25 = app::domain::energy::days_from_civil(2025, 3, 2);
    for (day, month, carbon) in [(d26, 202603, 600.0), (d25, 202503, 570.3)] {
        for sql in [
            format!("INSERT INTO energy_entity_day (entity_id, energy_type, day, value, carbon_kg) VALUES ({bld}, 'electricity', {day}, 1000, {carbon})"),
            format!("INSERT INTO energy_district_day (district_code, energy_type, day, value, carbon_kg) VALUES ('140105', 'electricity', {day}, 1000, {carbon})"),
            format!("INSERT INTO energy_entity_month (entity_id, energy_type, month, value, carbon_kg) VALUES ({bld}, 'electricity', {month}, 1000, {carbon})"),
            format!("INSERT INTO energy_district_month (district_code, energy_type, month, value, carbon_kg) VALUES ('140105', 'electricity', {month}, 1000, {carbon})"),
        ] {
            exec(app, &sql).await;
        }
    }
    exec(app, &format!("INSERT INTO energy_entity_month (entity_id, energy_type, month, value, carbon_kg) VALUES ({bld}, 'water', 202603, 10, 0)")).await;

    let analyst = app.session("energy").await;
    let head = app.session("waterhead").await;
    let revise = [
        ("year", "2026"),
        ("region", "north_china"),
        ("energy_type", "electricity"),
        ("kg_per_unit", "0.5"),
        ("source", "NCSC 2026 revision"),
    ];
    let r = app.call("energy/factors/save", &revise, Some(&head)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.audit_count("emission_factor.save", "denied").await, 1);

    // Refusals: out of range, no source, a year before 2000, an unknown type.
    let r = app
        .call(
            "energy/factors/save",
            &[
                ("year", "1999"),
                ("energy_type", "steam"),
                ("kg_per_unit", "100"),
                ("source", " "),
            ],
            Some(&analyst),
        )
        .await;
    let errs = fields(&r);
    for (f, k) in [
        ("year", "BadNumber"),
        ("energy_type", "Required"),
        ("kg_per_unit", "BadNumber"),
        ("source", "Required"),
    ] {
        assert!(has(&errs, f, k), "{f}: {errs:?}");
    }
    let r = app
        .call(
            "energy/factors/save",
            &[
                ("year", "2026"),
                ("energy_type", "gas"),
                ("kg_per_unit", "-0.1"),
                ("source", "x"),
            ],
            Some(&analyst),
        )
        .await;
    assert_eq!(
        fields(&r),
        vec![("kg_per_unit".to_string(), "BadNumber".to_string())]
    );

    let r = app
        .call("energy/factors/save", &revise, Some(&analyst))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["revised"], true);
    // Four electricity rows of 2026 (day and month, entity and district).
    assert_eq!(v["recomputed_rows"].as_i64(), Some(4));
    for table in ["energy_entity_day", "energy_district_day"] {
        let c = f64_of(
            app,
            &format!("SELECT carbon_kg FROM {table} WHERE day = {d26}"),
        )
        .await;
        assert!(close(c, 500.0), "{table} 2026: {c}");
        let c = f64_of(
            app,
            &format!("SELECT carbon_kg FROM {table} WHERE day = {d25}"),
        )
        .await;
        assert!(close(c, 570.3), "{table} 2025 untouched: {c}");
    }
    for table in ["energy_entity_month", "energy_district_month"] {
        let c = f64_of(app, &format!("SELECT carbon_kg FROM {table} WHERE month = 202603 AND energy_type = 'electricity'")).await;
        assert!(close(c, 500.0), "{table} 2026: {c}");
        let c = f64_of(
            app,
            &format!("SELECT carbon_kg FROM {table} WHERE month = 202503"),
        )
        .await;
        assert!(close(c, 570.3), "{table} 2025 untouched: {c}");
    }
    // The old factor is kept, superseded by the analyst; one factor in force for the key.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM emission_factors WHERE year = 2026 AND region = 'north_china' AND superseded_at IS NULL").await,
        1
    );
    let analyst_id = app.user_id("energy").await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM emission_factors WHERE kg_per_unit = 0.6 AND superseded_at IS NOT NULL").await,
        1
    );
    assert_eq!(
        app.scalar("SELECT superseded_by FROM emission_factors WHERE kg_per_unit = 0.6")
            .await,
        analyst_id
    );
    assert_eq!(
        app.audit_count("emission_factor.revise", "success").await,
        1
    );

    // A new national factor for 2024 changes nothing later (2025 has its own), nor water.
    let r = app
        .call(
            "energy/factors/save",
            &[
                ("year", "2024"),
                ("region", "national"),
                ("energy_type", "electricity"),
                ("kg_per_unit", "0.7"),
                ("source", "old"),
            ],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["revised"], false);
    let c = f64_of(
        app,
        "SELECT carbon_kg FROM energy_district_month WHERE month = 202503",
    )
    .await;
    assert!(close(c, 570.3));
    // A water factor for 2026 (empty region: the city's) gives the water its carbon.
    let r = app
        .call(
            "energy/factors/save",
            &[
                ("year", "2026"),
                ("energy_type", "water"),
                ("kg_per_unit", "0.25"),
                ("source", "test"),
            ],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let c = f64_of(
        app,
        "SELECT carbon_kg FROM energy_entity_month WHERE energy_type = 'water'",
    )
    .await;
    assert!(close(c, 2.5), "{c}");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM emission_factors WHERE energy_type = 'water' AND region = 'north_china'").await,
        1
    );
    assert_eq!(app.audit_count("emission_factor.add", "success").await, 2);

    // The list: current factors and the superseded one apart.
    let r = app.call("energy/factors", &[], Some(&head)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    let current = app
        .scalar("SELECT COUNT(*) FROM emission_factors WHERE superseded_at IS NULL")
        .await;
    assert_eq!(v["current"].as_array().unwrap().len() as i64, current);
    assert_eq!(v["superseded"].as_array().unwrap().len(), 1);
    assert_eq!(v["superseded"][0]["kg_per_unit"].as_f64(), Some(0.6));
    assert_eq!(
        (v["region"].as_str(), v["can_edit"].as_bool()),
        (Some("north_china"), Some(false))
    );
    let r = app.get("/energy/factors", Some(&head)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("data-testid=\"superseded\""));
    assert!(!r.body.contains("data-testid=\"factor-form\""));
}
