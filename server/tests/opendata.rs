//! Open data through the real router, on SQLite and on PostgreSQL: the downloads against
//! figures computed here from the raw rows (cases, readings, the stored assessment), CSV and
//! JSON agreeing cell by cell, complete months only, no personal columns, and restricted or
//! unknown datasets answering 404.
mod common;

use axum::http::{header, StatusCode};
use chrono::TimeZone;
use common::{Resp, TestApp};
use serde_json::{json, Value};
use std::collections::BTreeMap;

on_both!(
    case_figures_match_the_raw_cases,
    energy_figures_match_the_readings,
    rankings_are_the_published_months,
    restricted_and_unknown_datasets_are_not_served,
);

// ---- helpers ----

fn shanghai() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).unwrap()
}

/// Shanghai local time as epoch milliseconds.
fn sh(y: i32, m: u32, d: u32, h: u32, mi: u32) -> i64 {
    shanghai()
        .with_ymd_and_hms(y, m, d, h, mi, 0)
        .unwrap()
        .timestamp_millis()
}

/// The Shanghai month `yyyy-mm` of an instant.
fn month_of(ms: i64) -> String {
    shanghai()
        .timestamp_millis_opt(ms)
        .unwrap()
        .format("%Y-%m")
        .to_string()
}

fn this_month() -> String {
    month_of(chrono::Utc::now().timestamp_millis())
}

async fn get(app: &TestApp, path: &str) -> Resp {
    app.get(path, None).await
}

/// Downloads a dataset as JSON and as CSV and checks that both say the same, cell by cell;
/// returns the JSON.
async fn both(app: &TestApp, code: &str) -> Value {
    let j = get(app, &format!("/data/{code}.json")).await;
    assert_eq!(j.status, StatusCode::OK, "{}", j.body);
    assert_eq!(
        j.headers[header::CONTENT_TYPE],
        "application/json; charset=utf-8"
    );
    assert_eq!(
        j.headers[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"citylink-{code}.json\"").as_str()
    );
    let j = j.json();
    let c = get(app, &format!("/data/{code}.csv")).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    assert_eq!(c.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(
        c.headers[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"citylink-{code}.csv\"").as_str()
    );
    let body = c
        .body
        .strip_prefix('\u{feff}')
        .expect("CSV starts with a byte-order mark");
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let head: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let names: Vec<String> = j["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(head, names, "CSV header = JSON field names");
    let rows = j["rows"].as_array().unwrap();
    let recs: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(
        recs.len(),
        rows.len(),
        "{code}: as many CSV rows as JSON rows"
    );
    for (rec, row) in recs.iter().zip(rows) {
        for (i, name) in names.iter().enumerate() {
            let want = match &row[name] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            assert_eq!(rec.get(i).unwrap(), want, "{code} {name}");
        }
    }
    // Headings in Chinese when asked for.
    let zh = get(app, &format!("/data/{code}.csv?lang=zh")).await;
    assert!(zh.body.starts_with("\u{feff}月份,"), "{}", &zh.body[..40]);
    // Nothing personal, whatever the dataset.
    for bad in [
        "description",
        "address",
        "reporter",
        "name",
        "lon",
        "lat",
        "grid",
        "user",
        "phone",
    ] {
        assert!(
            !names
                .iter()
                .any(|n| n == bad || n.starts_with(&format!("{bad}_"))),
            "{code} has a column {bad}"
        );
    }
    j
}

// ---- tests ----

/// Hand-made cases in February and March 2025 (district 140105, one class) with known
/// figures, and every month of the download against a count of the raw cases done here.
async fn case_figures_match_the_raw_cases(app: &TestApp) {
    let grid = app
        .scalar("SELECT id FROM grids WHERE district_code = '140105' ORDER BY id LIMIT 1")
        .await;
    let class = app.scalar("SELECT MIN(id) FROM case_classes").await;
    let (kind, code): (String, String) =
        sqlx::query_as("SELECT kind, code FROM case_classes WHERE id = $1")
            .bind(class)
            .fetch_one(app.pool())
            .await
            .unwrap();
    let water = app.dept_id("water").await;
    // (code, state, reported, filed, closed, handled, deadline)
    let day = |m, d| sh(2025, m, d, 10, 0);
    let cases: [(&str, &str, i64, Option<i64>, Option<i64>, Option<i64>); 5] = [
        // closed in March, handled by the deadline: on time
        (
            "T-A",
            "closed",
            day(3, 5),
            Some(day(3, 5)),
            Some(day(3, 20)),
            Some(day(3, 8)),
        ),
        // closed in March, handled late
        (
            "T-B",
            "closed",
            day(3, 6),
            Some(day(3, 6)),
            Some(day(3, 25)),
            Some(day(3, 12)),
        ),
        // reported at 23:30 on the last of March, Shanghai: a March report (15:30 UTC)
        ("T-C", "reported", sh(2025, 3, 31, 23, 30), None, None, None),
        // reported and filed in February, closed on time in March
        (
            "T-D",
            "closed",
            day(2, 28),
            Some(day(2, 28)),
            Some(day(3, 2)),
            Some(day(3, 1)),
        ),
        // rejected in March: reported, never closed
        ("T-E", "rejected", day(3, 7), None, Some(day(3, 7)), None),
    ];
    for (c, state, reported, filed, closed, handled) in cases {
        let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or("NULL".into());
        let dep = if filed.is_some() {
            water.to_string()
        } else {
            "NULL".into()
        };
        app.exec(&format!(
                "INSERT INTO cases (code, source, class_id, grid_id, district_code, lon, lat, address, description, \
                 state, department_id, reported_at, filing_deadline, filed_at, deadline_at, closed_at, updated_at) \
                 VALUES ('{c}', 'inspector', {class}, {grid}, '140105', 112.55, 37.8, '私人地址-李四家', '私人描述-张三', \
                 '{state}', {dep}, {reported}, {reported}, {f}, {dl}, {cl}, {reported})",
                f = opt(filed),
                dl = opt(filed.map(|f| f + 5 * 86_400_000)),
                cl = opt(closed),
            ),
        )
        .await;
        if let (Some(f), Some(h)) = (filed, handled) {
            app.exec(&format!(
                    "INSERT INTO case_assignments (case_id, department_id, dispatched_at, deadline_at, accepted_at, \
                     first_handled_at, handled_at, closed_at) SELECT id, {water}, {f}, {dl}, {f}, {h}, {h}, {cl} \
                     FROM cases WHERE code = '{c}'",
                    dl = f + 5 * 86_400_000,
                    cl = opt(closed),
                ),
            )
            .await;
        }
    }
    // Also a case of this month, which is not over: it must not show.
    let now = chrono::Utc::now().timestamp_millis();
    app.exec(&format!(
            "INSERT INTO cases (code, source, class_id, grid_id, district_code, lon, lat, address, description, \
             state, reported_at, filing_deadline, updated_at) \
             VALUES ('T-NOW', 'inspector', {class}, {grid}, '140105', 112.55, 37.8, 'x', 'x', 'reported', {now}, {now}, {now})"
        ),
    )
    .await;

    let j = both(app, "cases-monthly").await;
    assert_eq!(j["dataset"]["code"], "cases-monthly");
    assert_eq!(j["dataset"]["licence"], "CC BY 4.0");
    assert_eq!(j["dataset"]["owner_zh"], "城市管理局");
    assert!(
        !j.to_string().contains("张三") && !j.to_string().contains("李四"),
        "no personal data"
    );
    let rows = j["rows"].as_array().unwrap();
    let find = |m: &str| {
        rows.iter()
            .find(|r| {
                r["month"] == m
                    && r["district_code"] == "140105"
                    && r["class_kind"] == kind.as_str()
                    && r["class_code"] == code.as_str()
            })
            .unwrap_or_else(|| panic!("no row for {m}"))
            .clone()
    };
    let march = find("2025-03");
    let figures = |r: &Value| {
        [
            r["reported"].as_i64().unwrap(),
            r["filed"].as_i64().unwrap(),
            r["closed"].as_i64().unwrap(),
            r["closed_on_time"].as_i64().unwrap(),
        ]
    };
    // A, B, C, E reported; A, B filed; A, B, D closed; A, D on time.
    assert_eq!(figures(&march), [4, 2, 3, 2]);
    assert_eq!(figures(&find("2025-02")), [1, 1, 0, 0]);
    assert_eq!(march["district_zh"], "小店区");
    assert!(
        !rows.iter().any(|r| r["month"] == "2025-04"),
        "nothing from these cases in April"
    );
    let current = this_month();
    assert!(
        !rows
            .iter()
            .any(|r| r["month"].as_str().unwrap() >= current.as_str()),
        "complete months only"
    );

    // Every month, district and class against a count of the raw cases (demo data included).
    type Raw = (
        i64,
        Option<i64>,
        Option<i64>,
        String,
        String,
        String,
        String,
        i64,
    );
    let raw: Vec<Raw> = sqlx::query_as(
        "SELECT c.reported_at, c.filed_at, c.closed_at, c.state, c.district_code, k.kind, k.code, \
         (SELECT COUNT(*) FROM case_assignments a WHERE a.case_id = c.id AND a.closed_at IS NOT NULL \
          AND a.handled_at <= a.deadline_at) FROM cases c JOIN case_classes k ON k.id = c.class_id",
    )
    .fetch_all(app.pool())
    .await
    .unwrap();
    let mut want: BTreeMap<(String, String, String, String), [i64; 4]> = BTreeMap::new();
    let mut add = |ms: i64, d: &str, k: &str, c: &str, i: usize| {
        let m = month_of(ms);
        if m < current {
            want.entry((m, d.into(), k.into(), c.into())).or_default()[i] += 1;
        }
    };
    for (rep, filed, closed, state, d, k, c, on_time) in &raw {
        add(*rep, d, k, c, 0);
        if let Some(f) = filed {
            add(*f, d, k, c, 1);
        }
        if let (Some(cl), "closed") = (closed, state.as_str()) {
            add(*cl, d, k, c, 2);
            if *on_time > 0 {
                add(*cl, d, k, c, 3);
            }
        }
    }
    let got: BTreeMap<(String, String, String, String), [i64; 4]> = rows
        .iter()
        .map(|r| {
            (
                (
                    r["month"].as_str().unwrap().to_string(),
                    r["district_code"].as_str().unwrap().to_string(),
                    r["class_kind"].as_str().unwrap().to_string(),
                    r["class_code"].as_str().unwrap().to_string(),
                ),
                figures(r),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert!(got.len() > 2, "the demo's earlier months are there too");
}

/// Readings posted through the API across the end of March 2025 and in this month; the
/// download's months against the sums of the stored readings of main meters.
async fn energy_figures_match_the_readings(app: &TestApp) {
    let housing = app.dept_id("housing").await;
    for sql in [
        "INSERT INTO settings (key, value) VALUES ('energy.owner_department', 'ndrc') ON CONFLICT (key) DO UPDATE SET value = excluded.value".to_string(),
        format!("INSERT INTO energy_entities (code, name_zh, name_en, kind, district_code, department_id, created_at) \
                 VALUES ('T-BLD', '测试大楼', 'Test building', 'public_building', '140105', {housing}, 0)"),
        "INSERT INTO meters (code, entity_id, energy_type, interval_minutes, name_zh, name_en, created_at) \
         SELECT 'T-E', id, 'electricity', 60, '总表', 'Main', 0 FROM energy_entities WHERE code = 'T-BLD'".to_string(),
        "INSERT INTO meters (code, entity_id, energy_type, parent_id, interval_minutes, name_zh, name_en, created_at) \
         SELECT 'T-E-SUB', e.id, 'electricity', m.id, 60, '分表', 'Sub', 0 FROM energy_entities e, meters m \
         WHERE e.code = 'T-BLD' AND m.code = 'T-E'".to_string(),
        "INSERT INTO meters (code, entity_id, energy_type, interval_minutes, name_zh, name_en, created_at) \
         SELECT 'T-W', id, 'water', 60, '水表', 'Water', 0 FROM energy_entities WHERE code = 'T-BLD'".to_string(),
        "INSERT INTO emission_factors (year, region, energy_type, kg_per_unit, source, created_at) \
         VALUES (2025, 'national', 'electricity', 0.5703, 'test', 0)".to_string(),
    ] {
        app.exec(&sql).await;
    }
    let ndrc = app.dept_id("ndrc").await;
    let key = app::db::skyeye::create_key(
        &app.state.store,
        None,
        &app::db::audit::Actor::default(),
        "gateway",
        "gw",
        ndrc,
        &["readings".to_string()],
    )
    .await
    .unwrap()
    .secret;
    let hour_ago = chrono::Utc::now()
        .with_timezone(&shanghai())
        .format("%Y-%m-%dT%H:00:00+08:00")
        .to_string();
    let items = json!([
        {"meter": "T-E", "at": "2025-03-31T22:00:00+08:00", "value": 10.5},
        {"meter": "T-E", "at": "2025-03-31T23:00:00+08:00", "value": 20.25},
        {"meter": "T-E", "at": "2025-04-01T00:00:00+08:00", "value": 7.0},
        {"meter": "T-E-SUB", "at": "2025-03-31T23:00:00+08:00", "value": 5.0},
        {"meter": "T-W", "at": "2025-03-15T08:00:00+08:00", "value": 3.0},
        {"meter": "T-E", "at": hour_ago, "value": 99.0},
    ]);
    let r = app
        .post_json(
            "/api/v1/readings",
            json!({ "readings": items }).to_string(),
            Some(&key),
            Some("en"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let j = both(app, "energy-monthly").await;
    let rows = j["rows"].as_array().unwrap();
    let current = this_month();
    assert!(
        rows.iter()
            .all(|r| r["month"].as_str().unwrap() < current.as_str()),
        "complete months only"
    );
    // From the raw readings of main meters.
    let raw: Vec<(i64, f64, String, String)> = sqlx::query_as(
        "SELECT r.ts, r.value, m.energy_type, e.district_code FROM readings r \
         JOIN meters m ON m.id = r.meter_id JOIN energy_entities e ON e.id = m.entity_id \
         WHERE m.parent_id IS NULL",
    )
    .fetch_all(app.pool())
    .await
    .unwrap();
    let mut want: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    for (ts, v, t, d) in raw {
        let m = month_of(ts);
        if m < current {
            *want.entry((m, d, t)).or_default() += v;
        }
    }
    assert_eq!(
        want.get(&("2025-03".into(), "140105".into(), "electricity".into())),
        Some(&30.75),
        "the sub-meter is not counted; April's hour is April's"
    );
    assert_eq!(rows.len(), want.len(), "{rows:?}");
    for r in rows {
        let k = (
            r["month"].as_str().unwrap().to_string(),
            r["district_code"].as_str().unwrap().to_string(),
            r["energy_type"].as_str().unwrap().to_string(),
        );
        let v = r["value"].as_f64().unwrap();
        assert!(
            (v - want[&k]).abs() < 1e-3,
            "{k:?}: {v} against {}",
            want[&k]
        );
        if k.2 == "electricity" {
            let c = r["carbon_kg"].as_f64().unwrap();
            assert!((c - want[&k] * 0.5703).abs() < 1e-3, "{k:?} carbon {c}");
            assert_eq!(r["unit"], "kWh");
        }
        assert_eq!(r["district_en"], "Xiaodian District");
    }
}

/// A month published by the leader appears as stored; draft months never do.
async fn rankings_are_the_published_months(app: &TestApp) {
    let j = both(app, "rankings").await;
    assert_eq!(j["rows"].as_array().unwrap().len(), 0, "nothing published");
    // Some work for the water bureau in March 2025, then the month is published.
    let grid = app
        .scalar("SELECT id FROM grids WHERE district_code = '140106' ORDER BY id LIMIT 1")
        .await;
    let class = app.scalar("SELECT MIN(id) FROM case_classes").await;
    let water = app.dept_id("water").await;
    for (i, late) in [(1, false), (2, true), (3, false)] {
        let f = sh(2025, 3, 3 + i, 9, 0);
        let h = if late {
            f + 9 * 86_400_000
        } else {
            f + 86_400_000
        };
        let cl = f + 10 * 86_400_000;
        let dl = f + 5 * 86_400_000;
        app.exec(&format!(
                "INSERT INTO cases (code, source, class_id, grid_id, district_code, lon, lat, address, description, \
                 state, department_id, reported_at, filing_deadline, filed_at, deadline_at, closed_at, updated_at) \
                 VALUES ('R-{i}', 'inspector', {class}, {grid}, '140106', 112.55, 37.8, 'x', 'x', \
                 'closed', {water}, {f}, {f}, {f}, {dl}, {cl}, {f})"
            ),
        )
        .await;
        app.exec(&format!(
                "INSERT INTO case_assignments (case_id, department_id, dispatched_at, deadline_at, accepted_at, \
                 first_handled_at, handled_at, closed_at) SELECT id, {water}, {f}, {dl}, {f}, {h}, {h}, {cl} \
                 FROM cases WHERE code = 'R-{i}'"
            ),
        )
        .await;
    }
    let leader = app.session("leader").await;
    let r = app
        .call("assessment/publish", &[("month", "2025-03")], Some(&leader))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let stored: String =
        sqlx::query_scalar("SELECT report FROM assessments WHERE month = '2025-03'")
            .fetch_one(app.pool())
            .await
            .unwrap();
    let stored: Value = serde_json::from_str(&stored).unwrap();
    let j = both(app, "rankings").await;
    let rows = j["rows"].as_array().unwrap();
    let srows = stored["rows"].as_array().unwrap();
    assert_eq!(rows.len(), srows.len());
    assert!(rows.iter().all(|r| r["month"] == "2025-03"));
    let w = rows
        .iter()
        .find(|r| r["department_zh"] == "水务局")
        .expect("the water bureau is ranked");
    let s = srows.iter().find(|r| r["department_id"] == water).unwrap();
    assert_eq!(w["rank"], s["rank"]);
    assert_eq!(
        (w["closed"].as_i64(), w["closed_on_time"].as_i64()),
        (Some(3), Some(2))
    );
    assert_eq!(w["due"], s["counts"]["due"]);
    let score = s["indicators"]["score"].as_f64().unwrap();
    assert!((w["score"].as_f64().unwrap() - score).abs() < 0.01);
    let ranks: Vec<i64> = rows.iter().map(|r| r["rank"].as_i64().unwrap()).collect();
    let mut sorted = ranks.clone();
    sorted.sort();
    assert_eq!(ranks, sorted, "in rank order");
}

async fn restricted_and_unknown_datasets_are_not_served(app: &TestApp) {
    for path in [
        "/data/cases.csv",
        "/data/cases.json",
        "/data/skyeye.json",
        "/data/energy.csv",
        "/data/nothing.json",
        "/data/cases-monthly.xml",
        "/data/cases-monthly",
    ] {
        let r = get(app, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
        assert_eq!(r.json()["error"], "not_found", "{path}");
    }
    // Even for a signed-in administrator: restricted data is not on the public path.
    let admin = app.session("admin").await;
    let r = app.get("/data/cases.json", Some(&admin)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The page is public.
    let r = get(app, "/data").await;
    assert_eq!(r.status, StatusCode::OK);
    for s in ["cases-monthly", "energy-monthly", "rankings", "CC BY 4.0"] {
        assert!(r.body.contains(s), "page shows {s}");
    }
    assert!(
        !r.body.contains("dataset-cases\""),
        "restricted datasets are not listed"
    );
    // The public list through its server function, anonymously.
    let r = app.call("data/public", &[], None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let codes: Vec<String> = r.json()["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d[0]["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes, ["cases-monthly", "energy-monthly", "rankings"]);
}
