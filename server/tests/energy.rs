//! Energy readings through the real router, on SQLite and on PostgreSQL: the machine API
//! (keys, idempotent batches, corrections, refusals) and the rollups it maintains, checked
//! against sums computed here from what was sent.
mod common;

use axum::http::StatusCode;
use common::{Resp, TestApp};
use serde_json::{json, Value};

on_both!(
    readings_roll_up_idempotently,
    bad_readings_and_keys_are_refused,
    csv_uploads_import_good_lines_only,
    views_read_rollups_for_whom_may_see,
    anomalies_are_found_listed_and_dismissed,
);

const HOUR: i64 = 3_600_000;

// ---- helpers ----

async fn dept(app: &TestApp, code: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT id FROM departments WHERE code = $1")
        .bind(code)
        .fetch_one(app.pool())
        .await
        .unwrap()
}

async fn key(app: &TestApp, dept_code: &str, source: &str, scopes: &[&str]) -> String {
    let d = dept(app, dept_code).await;
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    app::db::skyeye::create_key(
        &app.state.store,
        None,
        &app::db::audit::Actor::default(),
        "meter gateway",
        source,
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

/// Two entities: a housing-bureau building in Xiaodian with a main electricity meter and two
/// sub-meters, and a water-affairs pumping station in Yingze with an hourly water meter.
/// Emission factors: national 2025 electricity 0.5703, the city's region (north_china) 2026
/// electricity 0.6 (and none for water).
async fn setup(app: &TestApp) {
    let housing = dept(app, "housing").await;
    let water = dept(app, "water").await;
    for sql in [
        "INSERT INTO settings (key, value) VALUES ('energy.region', 'north_china') ON CONFLICT (key) DO UPDATE SET value = excluded.value".to_string(),
        "INSERT INTO settings (key, value) VALUES ('energy.owner_department', 'ndrc') ON CONFLICT (key) DO UPDATE SET value = excluded.value".to_string(),
        format!("INSERT INTO energy_entities (code, name_zh, name_en, kind, district_code, department_id, created_at) \
                 VALUES ('T-BLD', '测试大楼', 'Test building', 'public_building', '140105', {housing}, 0)"),
        format!("INSERT INTO energy_entities (code, name_zh, name_en, kind, district_code, department_id, created_at) \
                 VALUES ('T-PUMP', '测试泵站', 'Test pumping station', 'pumping_station', '140106', {water}, 0)"),
        "INSERT INTO meters (code, entity_id, energy_type, interval_minutes, name_zh, name_en, created_at) \
         SELECT 'T-E-MAIN', id, 'electricity', 60, '总表', 'Main', 0 FROM energy_entities WHERE code = 'T-BLD'".to_string(),
        "INSERT INTO meters (code, entity_id, energy_type, parent_id, interval_minutes, name_zh, name_en, created_at) \
         SELECT 'T-E-SUB1', e.id, 'electricity', m.id, 15, '分表1', 'Sub 1', 0 FROM energy_entities e, meters m \
         WHERE e.code = 'T-BLD' AND m.code = 'T-E-MAIN'".to_string(),
        "INSERT INTO meters (code, entity_id, energy_type, parent_id, interval_minutes, name_zh, name_en, created_at) \
         SELECT 'T-E-SUB2', e.id, 'electricity', m.id, 60, '分表2', 'Sub 2', 0 FROM energy_entities e, meters m \
         WHERE e.code = 'T-BLD' AND m.code = 'T-E-MAIN'".to_string(),
        "INSERT INTO meters (code, entity_id, energy_type, interval_minutes, name_zh, name_en, created_at) \
         SELECT 'T-W-PUMP', id, 'water', 60, '水表', 'Water', 0 FROM energy_entities WHERE code = 'T-PUMP'".to_string(),
        "INSERT INTO emission_factors (year, region, energy_type, kg_per_unit, source, created_at) \
         VALUES (2025, 'national', 'electricity', 0.5703, 'MEE 2024 (2022 national grid average)', 0)".to_string(),
        "INSERT INTO emission_factors (year, region, energy_type, kg_per_unit, source, created_at) \
         VALUES (2026, 'north_china', 'electricity', 0.6, 'test', 0)".to_string(),
    ] {
        exec(app, &sql).await;
    }
}

/// Local Shanghai time `2026-MM-DD HH:00` as an RFC 3339 string.
fn at(month: u32, day: u32, hour: u32) -> String {
    format!("2026-{month:02}-{day:02}T{hour:02}:00:00+08:00")
}

fn reading(meter: &str, at: &str, value: f64) -> Value {
    json!({"meter": meter, "at": at, "value": value})
}

async fn post(app: &TestApp, secret: &str, items: Vec<Value>) -> Resp {
    app.post_json(
        "/api/v1/readings",
        json!({ "readings": items }).to_string(),
        Some(secret),
        Some("en"),
    )
    .await
}

async fn f64_of(app: &TestApp, sql: &str) -> f64 {
    sqlx::query_scalar::<_, f64>(sql)
        .fetch_optional(app.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or(0.0)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// Local day number of 2026-MM-DD.
fn day(month: u32, d: u32) -> i64 {
    let ms = chrono::DateTime::parse_from_rfc3339(&at(month, d, 0))
        .unwrap()
        .timestamp_millis();
    (ms + 8 * HOUR).div_euclid(24 * HOUR)
}

// ---- tests ----

async fn readings_roll_up_idempotently(app: &TestApp) {
    setup(app).await;
    let k = key(app, "ndrc", "gateway-1", &["readings"]).await;
    // 3 March 2026, 22:00 and 23:00 on the main meter; 23:00 on both sub-meters (sub 1 is
    // a 15-minute meter: four quarters); the pumping station's water at 23:00.
    let batch = vec![
        reading("T-E-MAIN", &at(3, 3, 22), 100.0),
        reading("T-E-MAIN", &at(3, 3, 23), 120.0),
        reading("T-E-SUB1", &at(3, 3, 23), 10.0),
        reading("T-E-SUB1", "2026-03-03 23:15", 10.0),
        reading("T-E-SUB1", "2026-03-03T23:30:00+08:00", 10.0),
        reading("T-E-SUB1", "2026-03-03 23:45:00", 10.0),
        reading("T-E-SUB2", &at(3, 3, 23), 50.0),
        reading("T-W-PUMP", &at(3, 3, 23), 8.5),
    ];
    let r = post(app, &k, batch.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(
        (
            v["created"].as_i64(),
            v["unchanged"].as_i64(),
            v["rejected"].as_i64()
        ),
        (Some(8), Some(0), Some(0)),
        "{v}"
    );
    let d3 = day(3, 3);
    let bld_day = format!(
        "SELECT d.value FROM energy_entity_day d JOIN energy_entities e ON e.id = d.entity_id \
         WHERE e.code = 'T-BLD' AND d.energy_type = 'electricity' AND d.day = {d3}"
    );
    // The building counts its main meter only: 220 kWh, not 220 + 40 + 50.
    assert!(close(f64_of(app, &bld_day).await, 220.0));
    let sub1 = format!(
        "SELECT d.value FROM energy_meter_day d JOIN meters m ON m.id = d.meter_id WHERE m.code = 'T-E-SUB1' AND d.day = {d3}"
    );
    assert!(close(f64_of(app, &sub1).await, 40.0));
    let district_month = "SELECT value FROM energy_district_month WHERE district_code = '140105' AND energy_type = 'electricity' AND month = 202603";
    assert!(close(f64_of(app, district_month).await, 220.0));
    // Carbon with the region's 2026 factor: 220 × 0.6 = 132 kg; water has no factor: 0.
    let carbon = "SELECT carbon_kg FROM energy_district_month WHERE district_code = '140105' AND energy_type = 'electricity' AND month = 202603";
    assert!(close(f64_of(app, carbon).await, 132.0));
    let water = format!("SELECT value FROM energy_district_day WHERE district_code = '140106' AND energy_type = 'water' AND day = {d3}");
    assert!(close(f64_of(app, &water).await, 8.5));
    let hour23 = chrono::DateTime::parse_from_rfc3339(&at(3, 3, 23))
        .unwrap()
        .timestamp_millis();
    let dh = format!("SELECT value FROM energy_district_hour WHERE district_code = '140105' AND energy_type = 'electricity' AND hour = {hour23}");
    assert!(close(f64_of(app, &dh).await, 120.0));

    // The same batch again (a retry): all unchanged, nothing moves.
    let r = post(app, &k, batch.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["unchanged"], 8, "{}", r.body);
    assert!(close(f64_of(app, &bld_day).await, 220.0));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM readings").await, 8);

    // A correction (23:00: 120 → 90) and a late reading (03:00 = 5) in one batch.
    let r = post(
        app,
        &k,
        vec![
            reading("T-E-MAIN", &at(3, 3, 23), 90.0),
            reading("T-E-MAIN", &at(3, 3, 3), 5.0),
        ],
    )
    .await;
    let v = r.json();
    assert_eq!(
        (v["corrected"].as_i64(), v["created"].as_i64()),
        (Some(1), Some(1)),
        "{v}"
    );
    // 220 − 30 + 5 = 195 kWh; carbon 195 × 0.6 = 117 kg.
    assert!(close(f64_of(app, &bld_day).await, 195.0));
    assert!(close(f64_of(app, district_month).await, 195.0));
    assert!(close(f64_of(app, carbon).await, 117.0));
    assert!(close(f64_of(app, &dh).await, 90.0));
    let (old, new): (f64, f64) = sqlx::query_as(
        "SELECT old_value, new_value FROM reading_corrections c JOIN meters m ON m.id = c.meter_id WHERE m.code = 'T-E-MAIN'",
    )
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!((old, new), (120.0, 90.0));
    let stored = format!("SELECT r.value FROM readings r JOIN meters m ON m.id = r.meter_id WHERE m.code = 'T-E-MAIN' AND r.ts = {hour23}");
    assert!(close(f64_of(app, &stored).await, 90.0));

    // 2025 readings take the national 2025 factor (the region has none for 2025):
    // 31 Dec 2025 23:00 local, 10 kWh → 5.703 kg, in month 202512.
    let r = post(
        app,
        &k,
        vec![reading("T-E-MAIN", "2025-12-31T23:00:00+08:00", 10.0)],
    )
    .await;
    assert_eq!(r.json()["created"], 1, "{}", r.body);
    let dec = "SELECT carbon_kg FROM energy_district_month WHERE district_code = '140105' AND energy_type = 'electricity' AND month = 202512";
    assert!(close(f64_of(app, dec).await, 5.703));

    // Every rollup equals the sum of the stored readings of meters without a parent.
    let raw = f64_of(
        app,
        "SELECT SUM(r.value) FROM readings r JOIN meters m ON m.id = r.meter_id WHERE m.parent_id IS NULL",
    )
    .await;
    for t in [
        "energy_entity_hour",
        "energy_entity_day",
        "energy_entity_month",
        "energy_district_hour",
        "energy_district_day",
        "energy_district_month",
    ] {
        let s = f64_of(app, &format!("SELECT SUM(value) FROM {t}")).await;
        assert!(close(s, raw), "{t}: {s} vs {raw}");
    }
    let all = f64_of(app, "SELECT SUM(value) FROM readings").await;
    assert!(close(
        f64_of(app, "SELECT SUM(value) FROM energy_meter_day").await,
        all
    ));
    // The meter knows its latest interval.
    assert_eq!(
        app.scalar("SELECT last_reading_at FROM meters WHERE code = 'T-E-MAIN'")
            .await,
        hour23
    );
}

async fn bad_readings_and_keys_are_refused(app: &TestApp) {
    setup(app).await;
    let ndrc = key(app, "ndrc", "gateway-1", &["readings"]).await;
    let housing = key(app, "housing", "bms", &["readings"]).await;
    let alerts_only = key(app, "psb", "vms", &["alerts"]).await;
    let ok = reading("T-E-MAIN", &at(3, 3, 10), 1.0);

    // Scope, key, body.
    let r = post(app, &alerts_only, vec![ok.clone()]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = post(app, "not-a-key", vec![ok.clone()]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app
        .post_json(
            "/api/v1/readings",
            "{\"readings\": [",
            Some(&ndrc),
            Some("zh"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"], "malformed_json");
    assert!(r.json()["message"].as_str().unwrap().contains("JSON"));
    let r = app
        .post_json(
            "/api/v1/readings",
            json!({"alerts": [ok]}).to_string(),
            Some(&ndrc),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let many: Vec<Value> = (0..10_001)
        .map(|i| reading("T-E-MAIN", &format!("2026-01-01T00:00:00+08:00#{i}"), 1.0))
        .collect();
    let r = post(app, &ndrc, many).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.json()["error"], "readings_batch_too_large");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM readings").await, 0);

    // Item by item: the good ones are stored beside the refused ones.
    let future = chrono::Utc::now().timestamp_millis() + 2 * HOUR;
    let future = chrono::DateTime::from_timestamp_millis(future - future.rem_euclid(HOUR))
        .unwrap()
        .to_rfc3339();
    let items = vec![
        ok.clone(),                                                             // 0 created
        reading("NOPE", &at(3, 3, 10), 1.0),                                    // 1 unknown meter
        json!({"meter": "T-E-MAIN", "value": 1.0}),                             // 2 no time
        reading("T-E-MAIN", "3 March", 1.0),                                    // 3 bad time
        reading("T-E-MAIN", "2026-03-03 10:30", 1.0), // 4 not an hourly start
        reading("T-E-MAIN", &at(3, 3, 11), -4.0),     // 5 negative
        json!({"meter": "T-E-MAIN", "at": at(3, 3, 12), "value": "12,5"}), // 6 bad number
        reading("T-E-MAIN", &future, 1.0),            // 7 not ended yet
        reading("T-E-MAIN", "2019-01-01 00:00", 1.0), // 8 too old
        json!("T-E-MAIN"),                            // 9 not an object
        reading("T-E-MAIN", &at(3, 3, 10), 1.0),      // 10 repeated in batch
        json!({"meter": "T-E-SUB1", "at": "2026-03-03 10:15", "value": "2.5"}), // 11 created (string number)
    ];
    let r = post(app, &ndrc, items).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(
        (v["created"].as_i64(), v["rejected"].as_i64()),
        (Some(2), Some(10)),
        "{v}"
    );
    let codes: Vec<(i64, String)> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["index"].as_i64().unwrap(),
                e["errors"][0]["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = [
        (1, "unknown_meter"),
        (2, "required"),
        (3, "bad_reading_time"),
        (4, "not_interval_start"),
        (5, "negative_value"),
        (6, "bad_number"),
        (7, "reading_in_future"),
        (8, "reading_too_old"),
        (9, "not_an_object"),
        (10, "duplicate_in_batch"),
    ];
    let expect: Vec<(i64, String)> = expect.iter().map(|(i, c)| (*i, c.to_string())).collect();
    assert_eq!(codes, expect);
    assert!(v["errors"][0]["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("meter"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM readings").await, 2);

    // A building's own department may send its meters, not another department's.
    let r = post(
        app,
        &housing,
        vec![
            reading("T-E-MAIN", &at(3, 4, 10), 3.0),
            reading("T-W-PUMP", &at(3, 4, 10), 3.0),
        ],
    )
    .await;
    let v = r.json();
    assert_eq!(v["created"], 1, "{v}");
    assert_eq!(v["errors"][0]["errors"][0]["code"], "meter_not_yours");
    // Nothing acceptable: 422, nothing stored, in Chinese when asked.
    let before = app.scalar("SELECT COUNT(*) FROM readings").await;
    let r = app
        .post_json(
            "/api/v1/readings",
            json!({"readings": [reading("T-W-PUMP", &at(3, 5, 1), 1.0)]}).to_string(),
            Some(&housing),
            Some("zh-CN"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.json()["errors"][0]["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("表计"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM readings").await, before);
    // Rollups hold exactly what was accepted: 1 + 3 kWh on the building.
    assert!(close(
        f64_of(
            app,
            "SELECT SUM(value) FROM energy_district_month WHERE district_code = '140105'"
        )
        .await,
        4.0
    ));
}

async fn csv_uploads_import_good_lines_only(app: &TestApp) {
    use app::db::energy_csv::{create_upload, import_step, Encoding};
    setup(app).await;
    let store = &app.state.store;
    let housing = dept(app, "housing").await;
    let user = app.user_id("energy").await;
    let now = chrono::Utc::now().timestamp_millis();
    // A file refused whole stores nothing: no upload, no readings.
    let (gbk, _, _) = encoding_rs::GBK.encode("表计编号,时间,用量\nT-E-MAIN,2026-03-03 08:00,1\n");
    let e = create_upload(
        store,
        user,
        housing,
        false,
        "x.csv",
        Encoding::Utf8,
        &gbk,
        now,
    )
    .await
    .unwrap()
    .unwrap_err();
    assert_eq!((e.code.as_str(), e.line), ("bad_encoding", Some(1)));
    let e = create_upload(
        store,
        user,
        housing,
        false,
        "x.csv",
        Encoding::Utf8,
        b"meter,value\nT-E-MAIN,1\n",
        now,
    )
    .await
    .unwrap()
    .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.detail.as_str()),
        ("missing_column", "timestamp")
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM energy_uploads").await, 0);

    // Seven hours on the building's main meter, one bad number, one meter of another
    // department: validated first, nothing stored until the import.
    let mut csv = String::from("meter,timestamp,value\n");
    for h in 0..7 {
        csv.push_str(&format!("T-E-MAIN,2026-03-10 {h:02}:00,{}\n", 10 + h));
    }
    csv.push_str("T-E-MAIN,2026-03-10 07:00,1O\n");
    csv.push_str("T-W-PUMP,2026-03-10 07:00,4\n");
    let up = create_upload(
        store,
        user,
        housing,
        false,
        "march.csv",
        Encoding::Utf8,
        csv.as_bytes(),
        now,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        (
            up.report.total_lines,
            up.report.good_lines,
            up.report.bad_lines
        ),
        (9, 7, 2)
    );
    let lines: Vec<(usize, &str)> = up
        .report
        .errors
        .iter()
        .map(|e| (e.line, e.code.as_str()))
        .collect();
    assert_eq!(lines, vec![(9, "bad_number"), (10, "meter_not_yours")]);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM readings").await, 0);
    // Another department cannot import it.
    assert!(
        import_step(store, up.id, dept(app, "water").await, false, 3, now)
            .await
            .unwrap()
            .is_none()
    );
    // Imported in steps of three: 3, 6, 7 lines; a repeated step stores nothing twice.
    let s1 = import_step(store, up.id, housing, false, 3, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((s1.state.as_str(), s1.imported_lines), ("importing", 3));
    let s2 = import_step(store, up.id, housing, false, 3, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s2.imported_lines, 6);
    let s3 = import_step(store, up.id, housing, false, 3, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((s3.state.as_str(), s3.imported_lines), ("imported", 7));
    let again = import_step(store, up.id, housing, false, 3, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (again.state.as_str(), again.imported_lines),
        ("imported", 7)
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM readings").await, 7);
    // 10 + 11 + ... + 16 = 91 kWh on the day, from the CSV source.
    let d = day(3, 10);
    let bld = format!(
        "SELECT d.value FROM energy_entity_day d JOIN energy_entities e ON e.id = d.entity_id WHERE e.code = 'T-BLD' AND d.day = {d}"
    );
    assert!(close(f64_of(app, &bld).await, 91.0));
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM readings WHERE source = 'csv:{}'",
            up.id
        ))
        .await,
        7
    );

    // Through the server functions, as the upload page does: only the energy office's
    // analysts may upload; the report comes back; import steps run to the end.
    let analyst = app.session("energy").await;
    let head = app.session("waterhead").await;
    let file = b"meter,timestamp,value\nT-W-PUMP,2026-03-11 01:00,2\nT-W-PUMP,2026-03-11 02:00,x\n";
    let r = app
        .multipart(
            "energy/upload",
            &[("encoding", "utf8")],
            &[("file", file)],
            Some(&head),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app
        .multipart(
            "energy/upload",
            &[("encoding", "utf8")],
            &[("file", file)],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    let stored = &v["Stored"];
    assert_eq!(
        (
            stored["report"]["good_lines"].as_i64(),
            stored["report"]["bad_lines"].as_i64()
        ),
        (Some(1), Some(1)),
        "{v}"
    );
    assert_eq!(stored["report"]["errors"][0]["line"], 3);
    let id = stored["id"].as_i64().unwrap().to_string();
    let r = app
        .call("energy/upload/import", &[("id", &id)], Some(&analyst))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["state"], "imported");
    // A file refused whole says why and stores nothing.
    let r = app
        .multipart(
            "energy/upload",
            &[("encoding", "utf8")],
            &[("file", b"\xff\xfe")],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.json()["Refused"]["code"], "bad_encoding", "{}", r.body);
    let r = app.call("energy/uploads", &[], Some(&analyst)).await;
    assert_eq!(r.json().as_array().unwrap().len(), 1, "{}", r.body);
    assert_eq!(app.audit_count("energy_upload.import", "success").await, 1);
}

async fn views_read_rollups_for_whom_may_see(app: &TestApp) {
    setup(app).await;
    let k = key(app, "ndrc", "gateway-1", &["readings"]).await;
    // March: 24 hours of 10 kWh on the building on the 2nd; the pump's water; February: 100.
    let mut items: Vec<Value> = (0..24)
        .map(|h| reading("T-E-MAIN", &at(3, 2, h), 10.0))
        .collect();
    items.push(reading("T-E-SUB2", &at(3, 2, 5), 4.0));
    items.push(reading("T-W-PUMP", &at(3, 2, 5), 7.0));
    items.push(reading("T-E-MAIN", &at(2, 10, 12), 100.0));
    let r = post(app, &k, items).await;
    assert_eq!(r.json()["created"], 27, "{}", r.body);

    let analyst = app.session("energy").await;
    let form = [
        ("energy_type", "electricity"),
        ("month", "2026-03"),
        ("lang", "en"),
    ];
    let r = app.call("energy/overview", &form, Some(&analyst)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    let fig = |v: &Value, k: &str| {
        v["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == k)
            .cloned()
            .unwrap()
    };
    // 240 kWh in March (the sub-meter not counted twice), 100 in February.
    assert_eq!(fig(&v, "month_total")["value"].as_f64(), Some(240.0));
    assert_eq!(fig(&v, "month_total")["previous"].as_f64(), Some(100.0));
    // Carbon of every type in tonnes, as the rollups hold it; electricity's part is
    // 240 × 0.6 kg = 144 kg.
    let all = f64_of(
        app,
        "SELECT SUM(carbon_kg) FROM energy_district_month WHERE month = 202603",
    )
    .await;
    assert!(close(
        fig(&v, "month_carbon")["value"].as_f64().unwrap(),
        all / 1000.0
    ));
    let el = f64_of(app, "SELECT SUM(carbon_kg) FROM energy_district_month WHERE month = 202603 AND energy_type = 'electricity'").await;
    assert!(close(el, 144.0), "{el}");
    let xiaodian = v["districts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "140105")
        .unwrap();
    assert_eq!(
        (xiaodian["value"].as_f64(), xiaodian["previous"].as_f64()),
        (Some(240.0), Some(100.0))
    );
    assert_eq!(v["entities"][0]["code"], "T-BLD");
    assert_eq!(v["can_edit"], true);
    let ids: Vec<&str> = v["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["compare", "districts", "top", "heatmap"]);
    let compare = &v["charts"][0];
    assert!(compare["svg"].as_str().unwrap().starts_with("<svg"));
    assert!(!compare["svg"].as_str().unwrap().contains("style="));
    // Day 2 of March holds 240, day 10 of February 100: the table behind the chart.
    assert_eq!(compare["table"]["rows"][1][1][0].as_f64(), Some(240.0));
    assert_eq!(compare["table"]["rows"][9][1][1].as_f64(), Some(100.0));
    // Chinese labels when asked.
    let r = app
        .call(
            "energy/overview",
            &[("month", "2026-03"), ("lang", "zh")],
            Some(&analyst),
        )
        .await;
    assert!(r.json()["charts"][0]["svg"]
        .as_str()
        .unwrap()
        .contains("本月与上月"));
    // A district view; an unknown district is not found.
    let r = app
        .call(
            "energy/overview",
            &[
                ("district", "140106"),
                ("energy_type", "water"),
                ("month", "2026-03"),
            ],
            Some(&analyst),
        )
        .await;
    let v = r.json();
    assert_eq!(fig(&v, "month_total")["value"].as_f64(), Some(7.0), "{v}");
    assert_eq!(v["entities"].as_array().unwrap().len(), 1);
    let r = app
        .call(
            "energy/overview",
            &[("district", "nowhere")],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The entity page: meters with the sub-meter under its parent and the part not
    // sub-metered (240 − 4 = 236 kWh).
    let bld = app
        .scalar("SELECT id FROM energy_entities WHERE code = 'T-BLD'")
        .await;
    let r = app
        .call(
            "energy/entity",
            &[("id", &bld.to_string()), ("month", "2026-03")],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    let codes: Vec<&str> = v["meters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["T-E-MAIN", "T-E-SUB1", "T-E-SUB2"]);
    assert_eq!(v["unmetered"][0][1].as_f64(), Some(236.0));
    // A department head reads their department's entities only: the water bureau's head
    // opens the pumping station, not the housing bureau's building.
    let head = app.session("waterhead").await;
    let r = app
        .call("energy/entity", &[("id", &bld.to_string())], Some(&head))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let pump = app
        .scalar("SELECT id FROM energy_entities WHERE code = 'T-PUMP'")
        .await;
    let r = app
        .call("energy/entity", &[("id", &pump.to_string())], Some(&head))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .call(
            "energy/overview",
            &[("energy_type", "electricity"), ("month", "2026-03")],
            Some(&head),
        )
        .await;
    let v = r.json();
    assert_eq!(
        v["entities"].as_array().unwrap().len(),
        0,
        "no other department's consumers"
    );
    assert_eq!(v["can_edit"], false);
    let main = app
        .scalar("SELECT id FROM meters WHERE code = 'T-E-MAIN'")
        .await;
    let r = app
        .call("energy/meter", &[("id", &main.to_string())], Some(&head))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .call("energy/meter", &[("id", &main.to_string())], Some(&analyst))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Other roles do not open energy at all.
    let inspector = app.session("inspector").await;
    let r = app.call("energy/overview", &[], Some(&inspector)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The page itself renders on the server with its charts.
    let r = app.get("/energy?month=2026-03", Some(&analyst)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("data-testid=\"chart-compare\""),
        "page renders its charts"
    );
}

async fn anomalies_are_found_listed_and_dismissed(app: &TestApp) {
    setup(app).await;
    let k = key(app, "ndrc", "gateway-1", &["readings"]).await;
    let now = chrono::Utc::now().timestamp_millis();
    let last = now - now.rem_euclid(HOUR) - HOUR;
    // Five weeks of a flat 10 kWh an hour, and 100 kWh six hours ago.
    let spike = last - 6 * HOUR;
    let items: Vec<Value> = (0..35 * 24)
        .map(|i| {
            let ts = last - i * HOUR;
            let at = chrono::DateTime::from_timestamp_millis(ts)
                .unwrap()
                .to_rfc3339();
            reading("T-E-MAIN", &at, if ts == spike { 100.0 } else { 10.0 })
        })
        .collect();
    let r = post(app, &k, items).await;
    assert_eq!(r.json()["created"], 840, "{}", r.body);
    let n = app::db::energy_anomalies::run(&app.state.store, now - 2 * 24 * HOUR, None, now)
        .await
        .unwrap();
    assert_eq!(n, 1, "one spike, nothing else");
    // Run again: nothing new.
    let n = app::db::energy_anomalies::run(&app.state.store, now - 2 * 24 * HOUR, None, now)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let analyst = app.session("energy").await;
    let r = app
        .call("energy/anomalies", &[("state", "open")], Some(&analyst))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    let a = &v[0];
    assert_eq!(
        (a["kind"].as_str(), a["entity_code"].as_str()),
        (Some("spike"), Some("T-BLD"))
    );
    assert_eq!(
        (
            a["observed"].as_f64(),
            a["expected"].as_f64(),
            a["hour_ms"].as_i64()
        ),
        (Some(100.0), Some(10.0), Some(spike))
    );
    let id = a["id"].as_i64().unwrap().to_string();
    let r = app
        .call(
            "energy/anomaly",
            &[("id", &id), ("lang", "en")],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert!(v["evidence"]["svg"].as_str().unwrap().contains("Observed"));
    let rows = v["evidence"]["table"]["rows"].as_array().unwrap();
    assert!(rows
        .iter()
        .any(|r| r[1][0].as_f64() == Some(100.0) && r[1][1].as_f64() == Some(10.0)));
    // The water bureau's head sees none of the housing bureau's anomalies, and cannot dismiss.
    let head = app.session("waterhead").await;
    let r = app.call("energy/anomalies", &[], Some(&head)).await;
    assert_eq!(r.json().as_array().unwrap().len(), 0);
    let r = app
        .call("energy/anomaly/dismiss", &[("id", &id)], Some(&head))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call("energy/anomaly/dismiss", &[("id", &id)], Some(&analyst))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .call("energy/anomaly/dismiss", &[("id", &id)], Some(&analyst))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "dismissed once only");
    let r = app
        .call(
            "energy/anomalies",
            &[("state", "dismissed")],
            Some(&analyst),
        )
        .await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    assert_eq!(
        app.audit_count("energy_anomaly.dismiss", "success").await,
        1
    );
}

on_both!(concurrent_batches_keep_rollups_exact);

/// Eight batches posted at once over the same readings, in different orders: some values as
/// stored, some corrected, each batch's corrections overlapping the others', and new readings
/// that several batches create at once with different values. No batch fails (on PostgreSQL
/// no deadlock: readings and rollup rows are locked in key order), every correction is logged
/// with the value it replaced (so per reading the logged differences add up to final − first
/// value) and every rollup level still equals the sum of the readings.
async fn concurrent_batches_keep_rollups_exact(app: &TestApp) {
    setup(app).await;
    let k = key(app, "ndrc", "gateway-1", &["readings"]).await;
    let meters = ["T-E-MAIN", "T-W-PUMP"];
    let first: Vec<Value> = meters
        .iter()
        .flat_map(|m| (0..24).map(move |h| reading(m, &at(3, 3, h), 10.0 + f64::from(h))))
        .collect();
    let r = post(app, &k, first).await;
    assert_eq!(r.json()["created"], 48, "{}", r.body);
    // Batch i: every reading of 3 March (hours with h % 8 == i corrected to a value of its
    // own, others as first sent, others corrected to a value shared with another batch), and
    // 4 March 0–5 h (new: several batches create them at once).
    let batch = |i: u32| -> Vec<Value> {
        let mut items: Vec<Value> = Vec::new();
        for m in meters {
            for h in 0..24u32 {
                let v = if h % 8 == i {
                    100.0 * f64::from(i + 1) + f64::from(h)
                } else if h % 3 == i % 3 {
                    1000.0 + f64::from(h)
                } else {
                    10.0 + f64::from(h)
                };
                items.push(reading(m, &at(3, 3, h), v));
            }
            for h in 0..6u32 {
                items.push(reading(m, &at(3, 4, h), f64::from(i % 2) + f64::from(h)));
            }
        }
        if i % 2 == 1 {
            items.reverse();
        }
        items
    };
    let (r0, r1, r2, r3, r4, r5, r6, r7) = tokio::join!(
        post(app, &k, batch(0)),
        post(app, &k, batch(1)),
        post(app, &k, batch(2)),
        post(app, &k, batch(3)),
        post(app, &k, batch(4)),
        post(app, &k, batch(5)),
        post(app, &k, batch(6)),
        post(app, &k, batch(7)),
    );
    let mut created = 0;
    let mut corrected = 0;
    for r in [r0, r1, r2, r3, r4, r5, r6, r7] {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let v = r.json();
        assert_eq!(v["rejected"], 0, "{}", r.body);
        assert_eq!(
            v["created"].as_i64().unwrap()
                + v["unchanged"].as_i64().unwrap()
                + v["corrected"].as_i64().unwrap(),
            60,
            "{}",
            r.body
        );
        created += v["created"].as_i64().unwrap();
        corrected += v["corrected"].as_i64().unwrap();
    }
    // Each new reading created exactly once.
    assert_eq!(created, 12);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM readings").await,
        60,
        "one row per (meter, hour)"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM reading_corrections").await,
        corrected,
        "every correction answered is logged"
    );
    // Per reading, the logged corrections chain from the first value to the stored one: the
    // first logged old value of a 3 March reading is the value first sent (10 + hour), and
    // the stored value = first old value + Σ (new − old) logged.
    let total = f64_of(app, "SELECT SUM(value) FROM readings").await;
    let march_4 = chrono::DateTime::parse_from_rfc3339(&at(3, 4, 0))
        .unwrap()
        .timestamp_millis();
    let mut chains = 0;
    for (m, ts, first_value) in sqlx::query_as::<_, (i64, i64, f64)>(
        "SELECT c.meter_id, c.ts, c.old_value FROM reading_corrections c \
         WHERE c.id = (SELECT MIN(id) FROM reading_corrections x WHERE x.meter_id = c.meter_id AND x.ts = c.ts)",
    )
    .fetch_all(app.pool())
    .await
    .unwrap()
    {
        let (stored, moved): (f64, f64) = sqlx::query_as(
            "SELECT r.value, (SELECT SUM(new_value - old_value) FROM reading_corrections c \
             WHERE c.meter_id = r.meter_id AND c.ts = r.ts) FROM readings r WHERE r.meter_id = $1 AND r.ts = $2",
        )
        .bind(m)
        .bind(ts)
        .fetch_one(app.pool())
        .await
        .unwrap();
        assert!(
            close(stored, first_value + moved),
            "meter {m} at {ts}: {first_value} + {moved} logged = {stored} stored"
        );
        if ts < march_4 {
            let h = (ts - (march_4 - 24 * HOUR)) / HOUR;
            assert!(close(first_value, 10.0 + h as f64), "meter {m} at {ts}: first {first_value}");
        }
        chains += 1;
    }
    assert!(chains > 0, "some readings were corrected");
    // Every rollup level = Σ readings (both meters are roots); carbon = Σ value × the
    // factor of the type (electricity: the region's 0.6; water: the national reference).
    for table in [
        "energy_meter_day",
        "energy_entity_hour",
        "energy_entity_day",
        "energy_entity_month",
        "energy_district_hour",
        "energy_district_day",
        "energy_district_month",
    ] {
        let s = f64_of(app, &format!("SELECT SUM(value) FROM {table}")).await;
        assert!(close(s, total), "Σ {table} {s} = Σ readings {total}");
    }
    let water_factor = f64_of(
        app,
        "SELECT kg_per_unit FROM emission_factors WHERE energy_type = 'water' AND year <= 2026 \
         AND superseded_at IS NULL AND region IN ('national', 'north_china') \
         ORDER BY year DESC, (region = 'north_china') DESC LIMIT 1",
    )
    .await;
    for (code, ty, factor) in [
        ("T-E-MAIN", "electricity", 0.6),
        ("T-W-PUMP", "water", water_factor),
    ] {
        let sum = f64_of(
            app,
            &format!(
                "SELECT SUM(r.value) FROM readings r JOIN meters m ON m.id = r.meter_id WHERE m.code = '{code}'"
            ),
        )
        .await;
        for table in ["energy_entity_month", "energy_district_month"] {
            let c = f64_of(
                app,
                &format!("SELECT SUM(carbon_kg) FROM {table} WHERE energy_type = '{ty}'"),
            )
            .await;
            assert!(
                close(c, sum * factor),
                "carbon of {ty} in {table} {c} = {sum} × {factor}"
            );
        }
    }
}

on_both!(entity_hours_of_two_feeds_add_up);

/// An entity with two main meters of one type whose readings come in separate batches, all
/// of them new readings: the second batch finds the entity's hour already there (on
/// PostgreSQL its copy of entity hours fails and it adds to the row instead), and every
/// level holds the sum of both meters.
async fn entity_hours_of_two_feeds_add_up(app: &TestApp) {
    setup(app).await;
    exec(
        app,
        "INSERT INTO meters (code, entity_id, energy_type, interval_minutes, name_zh, name_en, created_at) \
         SELECT 'T-E-MAIN2', id, 'electricity', 60, '总表二', 'Main 2', 0 FROM energy_entities WHERE code = 'T-BLD'",
    )
    .await;
    let k = key(app, "ndrc", "gateway-1", &["readings"]).await;
    let r = post(app, &k, vec![reading("T-E-MAIN", &at(3, 3, 10), 100.0)]).await;
    assert_eq!(r.json()["created"], 1, "{}", r.body);
    let r = post(
        app,
        &k,
        vec![
            reading("T-E-MAIN2", &at(3, 3, 10), 30.0),
            reading("T-E-MAIN2", &at(3, 3, 11), 5.0),
        ],
    )
    .await;
    assert_eq!(r.json()["created"], 2, "{}", r.body);
    let hour = |h: u32| {
        chrono::DateTime::parse_from_rfc3339(&at(3, 3, h))
            .unwrap()
            .timestamp_millis()
    };
    let entity_hour = |h: u32| {
        format!(
            "SELECT x.value FROM energy_entity_hour x JOIN energy_entities e ON e.id = x.entity_id \
             WHERE e.code = 'T-BLD' AND x.energy_type = 'electricity' AND x.hour = {}",
            hour(h)
        )
    };
    assert!(close(f64_of(app, &entity_hour(10)).await, 130.0));
    assert!(close(f64_of(app, &entity_hour(11)).await, 5.0));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM energy_entity_hour").await,
        2,
        "one row per entity hour"
    );
    let d3 = day(3, 3);
    let entity_day = format!(
        "SELECT d.value FROM energy_entity_day d JOIN energy_entities e ON e.id = d.entity_id \
         WHERE e.code = 'T-BLD' AND d.energy_type = 'electricity' AND d.day = {d3}"
    );
    assert!(close(f64_of(app, &entity_day).await, 135.0));
    let district_hour = format!(
        "SELECT value FROM energy_district_hour WHERE district_code = '140105' \
         AND energy_type = 'electricity' AND hour = {}",
        hour(10)
    );
    assert!(close(f64_of(app, &district_hour).await, 130.0));
}

on_both!(live_feed_batches_written_together_add_up);

/// A live feed: twelve batches of new readings posted at once, each every meter's readings of
/// two hours of one day, and the first batch posted a second time at the same moment. The
/// batches that wait for a turn are written together (their meter, entity and district day
/// rows and meters once for all of them); the re-post shares readings with a batch of its
/// group and is written on its own after it. Every reading is created once and every rollup
/// holds the sum of what was sent.
async fn live_feed_batches_written_together_add_up(app: &TestApp) {
    setup(app).await;
    let k = key(app, "ndrc", "gateway-1", &["readings"]).await;
    let meters = ["T-E-MAIN", "T-E-SUB1", "T-W-PUMP"];
    let value = |m: usize, h: u32| 1.0 + m as f64 * 100.0 + f64::from(h) * 0.25;
    let batch = |b: u32| -> Vec<Value> {
        let mut items = Vec::new();
        for h in [2 * b, 2 * b + 1] {
            for (i, m) in meters.iter().enumerate() {
                items.push(reading(m, &at(3, 3, h), value(i, h)));
            }
        }
        items
    };
    let posts: Vec<_> = (0..12)
        .map(batch)
        .chain(std::iter::once(batch(0)))
        .map(|items| post(app, &k, items))
        .collect();
    let answers = futures_util::future::join_all(posts).await;
    let (mut created, mut unchanged) = (0, 0);
    for r in &answers {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let v = r.json();
        assert_eq!(v["rejected"], 0, "{}", r.body);
        assert_eq!(v["corrected"], 0, "{}", r.body);
        created += v["created"].as_i64().unwrap();
        unchanged += v["unchanged"].as_i64().unwrap();
    }
    assert_eq!((created, unchanged), (72, 6), "each reading created once");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM readings").await, 72);
    let d3 = day(3, 3);
    let sent = |m: usize| (0..24).map(|h| value(m, h)).sum::<f64>();
    for (i, code) in meters.iter().enumerate() {
        let meter_day = format!(
            "SELECT d.value FROM energy_meter_day d JOIN meters m ON m.id = d.meter_id \
             WHERE m.code = '{code}' AND d.day = {d3}"
        );
        assert!(close(f64_of(app, &meter_day).await, sent(i)), "{code}");
        let last = app
            .scalar(&format!(
                "SELECT last_reading_at FROM meters WHERE code = '{code}'"
            ))
            .await;
        let h23 = chrono::DateTime::parse_from_rfc3339(&at(3, 3, 23))
            .unwrap()
            .timestamp_millis();
        assert_eq!(last, h23, "{code}: latest reading");
    }
    // The building counts its main meter only (the sub-meter is inside it); carbon at the
    // region's 2026 factor 0.6.
    let entity_day = format!(
        "SELECT d.value, d.carbon_kg FROM energy_entity_day d JOIN energy_entities e ON e.id = d.entity_id \
         WHERE e.code = 'T-BLD' AND d.energy_type = 'electricity' AND d.day = {d3}"
    );
    let (v, kg): (f64, f64) = sqlx::query_as(&entity_day)
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert!(close(v, sent(0)) && close(kg, sent(0) * 0.6), "{v} {kg}");
    let month = f64_of(
        app,
        "SELECT value FROM energy_entity_month WHERE energy_type = 'water' AND month = 202603",
    )
    .await;
    assert!(close(month, sent(2)), "{month}");
    let district_day = format!(
        "SELECT value FROM energy_district_day WHERE district_code = '140106' \
         AND energy_type = 'water' AND day = {d3}"
    );
    assert!(close(f64_of(app, &district_day).await, sent(2)));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM energy_entity_hour").await,
        48,
        "one row per entity hour"
    );
    assert!(close(
        f64_of(app, "SELECT SUM(value) FROM energy_district_hour").await,
        sent(0) + sent(2)
    ));
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM api_keys WHERE source = 'gateway-1' AND last_used_at IS NOT NULL"
        )
        .await,
        1,
        "the key's use is noted"
    );
}

/// SQLite migration 0015 rebuilds `readings` and `energy_entity_hour` keyed by UTC day first:
/// what a database held before keeps every row and value, the new keys still refuse a second
/// reading of a meter and interval, and a meter's range is read through the key, a seek a day.
#[tokio::test]
async fn day_first_keys_keep_what_was_stored() {
    use sqlx::Row as _;
    sqlx::any::install_default_drivers();
    let path = common::temp_sqlite_path();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite:{}?mode=rwc", path.display()))
        .await
        .unwrap();
    common::sqlite_migrations_before(15)
        .run(&pool)
        .await
        .unwrap();
    // Three meters over three days, hour by hour, and their entities' hours.
    let day = app::db::energy::KEY_DAY_MS;
    let t0 = 20_000 * day + 22 * HOUR;
    let mut sent = Vec::new();
    for h in 0..30 {
        for m in 1..=3i64 {
            let (ts, v) = (t0 + h * HOUR, (m * 100 + h) as f64 / 8.0);
            sqlx::query("INSERT INTO readings (meter_id, ts, value, received_at, source) VALUES ($1, $2, $3, $4, 'key:1')")
                .bind(m).bind(ts).bind(v).bind(ts + 60_000)
                .execute(&pool).await.unwrap();
            sqlx::query("INSERT INTO energy_entity_hour (entity_id, energy_type, hour, value) VALUES ($1, 'electricity', $2, $3)")
                .bind(m + 10).bind(ts).bind(v)
                .execute(&pool).await.unwrap();
            sent.push((m, ts, v));
        }
    }
    sqlx::migrate!("../app/migrations/sqlite")
        .run(&pool)
        .await
        .unwrap();
    sent.sort_by_key(|r| (r.0, r.1));
    let readings: Vec<(i64, i64, f64)> =
        sqlx::query_as("SELECT meter_id, ts, value FROM readings ORDER BY meter_id, ts")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(readings, sent);
    let hours: Vec<(i64, i64, f64)> = sqlx::query_as(
        "SELECT entity_id - 10, hour, value FROM energy_entity_hour ORDER BY entity_id, hour",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(hours, sent);
    // The key still holds: a second reading of meter 2 at t0 is refused, or skipped by the
    // ingest's conflict target.
    let again = "INSERT INTO readings (meter_id, ts, value, received_at, source) VALUES (2, $1, 9.0, 0, 'key:2')";
    let err = sqlx::query(again)
        .bind(t0)
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(
        err.as_database_error()
            .is_some_and(|e| e.is_unique_violation()),
        "{err}"
    );
    let skipped = sqlx::query(&format!(
        "{again} ON CONFLICT ((ts / 86400000), meter_id, ts) DO NOTHING"
    ))
    .bind(t0)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(skipped.rows_affected(), 0);
    let dup = "INSERT INTO energy_entity_hour (entity_id, energy_type, hour, value) VALUES (12, 'electricity', $1, 1.0)";
    assert!(sqlx::query(dup).bind(t0).execute(&pool).await.is_err());
    // A meter's range across midnight UTC is read through the key, one seek a day.
    let (since, until) = (t0, t0 + 30 * HOUR);
    let sql = format!(
        "SELECT ts, value FROM readings WHERE {} AND meter_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts",
        app::db::energy::key_days("ts", since, until)
    );
    let plan: Vec<String> = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
        .bind(3i64)
        .bind(since)
        .bind(until)
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(3))
        .collect();
    assert!(
        plan.iter()
            .any(|p| p.contains("USING INDEX readings_key") && p.contains("meter_id=?")),
        "{plan:?}"
    );
    let got: Vec<(i64, f64)> = sqlx::query_as(&sql)
        .bind(3i64)
        .bind(since)
        .bind(until)
        .fetch_all(&pool)
        .await
        .unwrap();
    let want: Vec<(i64, f64)> = sent
        .iter()
        .filter(|r| r.0 == 3)
        .map(|r| (r.1, r.2))
        .collect();
    assert_eq!(got, want);
    pool.close().await;
    common::remove_sqlite(&path);
}
