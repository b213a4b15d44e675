//! The energy demo on SQLite and on PostgreSQL: entities over several districts named in both
//! languages, meters with sub-meters, readings for every meter, rollups that agree with the
//! readings, carbon from the reference emission factors, heat only in the heating season and
//! the injected anomalies findable by the anomaly rules.
mod common;

use app::db::energy_seed::{self, NIGHT_BASE_ENTITY, SPIKE_ENTITIES};
use app::domain::energy::{civil, hour_start, local_day, DAY_MS};
use app::domain::energy_rules::{detect, AnomalyKind, Thresholds};
use common::{Backend, TestApp};

on_both!(demo_energy_is_consistent);

/// The test demo: a few meters over five weeks (the anomaly rules need three earlier weeks
/// before the last two).
const METERS: usize = 12;
const DAYS: i64 = 35;

async fn f64_of(app: &TestApp, sql: &str) -> f64 {
    sqlx::query_scalar::<_, Option<f64>>(sql)
        .fetch_one(app.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or(0.0)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

async fn hours_of(app: &TestApp, code: &str) -> Vec<(i64, f64)> {
    sqlx::query_as::<_, (i64, f64)>(
        "SELECT h.hour, h.value FROM energy_entity_hour h JOIN energy_entities e ON e.id = h.entity_id \
         WHERE e.code = $1 AND h.energy_type = 'electricity' ORDER BY h.hour",
    )
    .bind(code)
    .fetch_all(app.pool())
    .await
    .unwrap()
}

async fn demo_energy_is_consistent(app: &TestApp) {
    let store = &app.state.store;
    // Reference data ran at start (and runs again harmlessly).
    energy_seed::reference(store).await.unwrap();
    energy_seed::reference(store).await.unwrap();
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM emission_factors").await,
        energy_seed::FACTORS.len() as i64
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM settings WHERE key IN ('energy.owner_department', 'energy.region')")
            .await,
        2
    );
    // The test configuration writes no energy demo at start: this test writes it.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM energy_entities").await, 0);
    let now = app::db::now_ms();
    let d = energy_seed::demo(store, METERS, DAYS, now).await.unwrap();
    assert_eq!(d.meters, METERS);
    assert!(d.entities >= 3, "{d:?}");
    // A second call writes nothing.
    let again = energy_seed::demo(store, METERS, DAYS, now).await.unwrap();
    assert_eq!((again.entities, again.readings), (0, 0));

    // Entities: several districts, both names, a grid in the urban districts.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM energy_entities").await,
        d.entities as i64
    );
    assert!(
        app.scalar("SELECT COUNT(DISTINCT district_code) FROM energy_entities")
            .await
            >= 3
    );
    let names: Vec<(String, String, String)> =
        sqlx::query_as("SELECT code, name_zh, name_en FROM energy_entities")
            .fetch_all(app.pool())
            .await
            .unwrap();
    for (code, zh, en) in &names {
        assert!(
            !zh.is_ascii() && !en.is_empty() && en.is_ascii(),
            "{code}: {zh} / {en}"
        );
    }
    assert!(
        app.scalar("SELECT COUNT(*) FROM energy_entities WHERE grid_id IS NOT NULL")
            .await
            > 0
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM energy_entities WHERE kind = 'public_building' AND floor_area_m2 IS NULL")
            .await,
        0
    );

    // Every meter has readings; the count is the demo's.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM meters").await,
        METERS as i64
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM meters m WHERE NOT EXISTS (SELECT 1 FROM readings r WHERE r.meter_id = m.id)")
            .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM readings").await,
        d.readings as i64
    );
    for ty in ["electricity", "heat", "water", "gas"] {
        assert!(
            app.scalar(&format!(
                "SELECT COUNT(*) FROM meters WHERE energy_type = '{ty}'"
            ))
            .await
                > 0,
            "no {ty} meter"
        );
    }
    assert!(
        app.scalar("SELECT COUNT(*) FROM meters WHERE interval_minutes = 15")
            .await
            > 0
    );

    // Sub-meters: under a main meter of the same entity and type, each day less than it.
    let subs = app
        .scalar("SELECT COUNT(*) FROM meters WHERE parent_id IS NOT NULL")
        .await;
    assert!(subs >= 2);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM meters s JOIN meters p ON p.id = s.parent_id \
             WHERE s.entity_id = p.entity_id AND s.energy_type = p.energy_type AND p.parent_id IS NULL"
        )
        .await,
        subs
    );
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM (SELECT m.parent_id, s.day, SUM(s.value) AS v FROM energy_meter_day s \
             JOIN meters m ON m.id = s.meter_id WHERE m.parent_id IS NOT NULL GROUP BY m.parent_id, s.day) x \
             JOIN energy_meter_day p ON p.meter_id = x.parent_id AND p.day = x.day WHERE x.v >= p.value"
        )
        .await,
        0
    );

    // Rollups agree with the readings of the meters without a parent, per type.
    for ty in ["electricity", "heat", "water", "gas"] {
        let readings = f64_of(
            app,
            &format!(
                "SELECT SUM(r.value) FROM readings r JOIN meters m ON m.id = r.meter_id \
                 WHERE m.parent_id IS NULL AND m.energy_type = '{ty}'"
            ),
        )
        .await;
        for table in [
            "energy_district_month",
            "energy_district_day",
            "energy_district_hour",
            "energy_entity_month",
            "energy_entity_hour",
        ] {
            let s = f64_of(
                app,
                &format!("SELECT SUM(value) FROM {table} WHERE energy_type = '{ty}'"),
            )
            .await;
            assert!(
                (s - readings).abs() <= 1e-6 * readings.max(1.0),
                "{table} {ty}: {s} vs {readings}"
            );
        }
    }
    let all = f64_of(app, "SELECT SUM(value) FROM readings").await;
    let meter_day = f64_of(app, "SELECT SUM(value) FROM energy_meter_day").await;
    assert!((all - meter_day).abs() <= 1e-6 * all.max(1.0));

    // Carbon: electricity at the national 2022 factor (the latest on file for the demo's years).
    let (kwh, kg) = sqlx::query_as::<_, (f64, f64)>(
        "SELECT SUM(value), SUM(carbon_kg) FROM energy_district_month WHERE energy_type = 'electricity'",
    )
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert!(kwh > 0.0 && kg > 0.0);
    assert!(close(kg / kwh, 0.5703), "{}", kg / kwh);

    // Heat: nothing outside the heating season (15 November to 15 March).
    let heat: Vec<(i64, f64)> = sqlx::query_as(
        "SELECT r.ts, r.value FROM readings r JOIN meters m ON m.id = r.meter_id WHERE m.energy_type = 'heat'",
    )
    .fetch_all(app.pool())
    .await
    .unwrap();
    assert!(!heat.is_empty());
    let mut in_season = 0.0;
    for (ts, v) in &heat {
        let (_, m, day) = civil(local_day(*ts));
        let season = matches!(
            (m, day),
            (11, 15..) | (12, _) | (1, _) | (2, _) | (3, ..=15)
        );
        if season {
            in_season += v;
        } else {
            assert_eq!(*v, 0.0, "heat at {ts} ({m}-{day})");
        }
    }
    if heat.iter().any(|(ts, _)| {
        let (_, m, day) = civil(local_day(*ts));
        matches!(
            (m, day),
            (11, 15..) | (12, _) | (1, _) | (2, _) | (3, ..=15)
        )
    }) {
        assert!(in_season > 0.0);
    }

    // The injected anomalies, found by the anomaly rules in the last two weeks.
    let since = hour_start(now) - 14 * DAY_MS;
    let t = Thresholds::default();
    let found = detect(&hours_of(app, NIGHT_BASE_ENTITY).await, since, &t);
    assert!(
        found.iter().any(|a| a.kind == AnomalyKind::NightBase),
        "{found:?}"
    );
    for code in SPIKE_ENTITIES {
        let found = detect(&hours_of(app, code).await, since, &t);
        assert!(
            found.iter().any(|a| a.kind == AnomalyKind::Spike),
            "{code}: {found:?}"
        );
    }
}

/// At start, a fresh demo database gets the energy demo as configured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_writes_the_energy_demo() {
    let app = TestApp::with_config(Backend::Sqlite, |c| {
        c.demo_meters = 8;
        c.demo_energy_days = 3;
    })
    .await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM meters").await, 8);
    assert!(app.scalar("SELECT COUNT(*) FROM readings").await > 8 * 60);
    app.finish().await;
}
