//! The leadership overview on SQLite and PostgreSQL: every figure equals the same figure
//! computed here from the raw records (cases, incidents, cameras, meters and readings) of a
//! demo database with hand-made cases and alerts added; the previous figures follow their
//! definitions (24 hours ago rebuilt from the records, snapshots, the same hours a week ago);
//! the overview is for leaders and administrators only.
mod common;

use app::model::{CurrentUser, Overview};
use common::{Backend, TestApp};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;
const OFFSET: i64 = 8 * HOUR;
const OFFLINE_MS: i64 = 5 * 60_000;

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql)
        .execute(app.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn demo_app(backend: Backend) -> TestApp {
    TestApp::with_config(backend, |c| {
        c.demo_meters = 8;
        c.demo_energy_days = 10;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_match_the_records_sqlite() {
    let app = demo_app(Backend::Sqlite).await;
    common::within_limit(figures_match_the_records(&app)).await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_match_the_records_postgres() {
    let app = demo_app(Backend::Postgres).await;
    common::within_limit(figures_match_the_records(&app)).await;
    app.finish().await;
}

on_both!(
    only_leaders_and_administrators_see_the_overview,
    figures_are_cached_for_a_while_the_feed_is_not
);

fn fig<'a>(o: &'a Overview, key: &str) -> &'a app::model::KeyFigure {
    o.figures
        .iter()
        .find(|f| f.key == key)
        .unwrap_or_else(|| panic!("no figure {key}"))
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-6 * x.abs().max(y.abs()).max(1.0),
        (None, None) => true,
        _ => false,
    }
}

/// Local (Shanghai) midnight of the day holding `ms`.
fn day_start(ms: i64) -> i64 {
    (ms + OFFSET).div_euclid(DAY) * DAY - OFFSET
}

/// Local midnight of the first day of the month holding `ms`, and of the month before.
fn month_starts(ms: i64) -> (i64, i64) {
    use chrono::{Datelike, NaiveDate};
    let d = chrono::DateTime::from_timestamp_millis(ms + OFFSET)
        .unwrap()
        .date_naive();
    let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap();
    let prev = first.pred_opt().unwrap().with_day(1).unwrap();
    let ms_of =
        |n: NaiveDate| n.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis() - OFFSET;
    (ms_of(first), ms_of(prev))
}

async fn leader(app: &TestApp) -> CurrentUser {
    let (id, dept): (i64, i64) =
        sqlx::query_as("SELECT id, department_id FROM users WHERE username = 'leader'")
            .fetch_one(app.pool())
            .await
            .unwrap();
    CurrentUser {
        id,
        username: "leader".into(),
        display_name: "王刚".into(),
        role: app::domain::Role::Leader,
        department_id: dept,
        department_zh: String::new(),
        department_en: String::new(),
    }
}

type CaseRec = (i64, Option<i64>, String, i64, Option<i64>, String);

async fn figures_match_the_records(app: &TestApp) {
    let now = app::db::now_ms();
    let ago = now - DAY;
    let store = &app.state.store;
    let class = app.scalar("SELECT MIN(id) FROM case_classes").await;
    let grid = app
        .scalar("SELECT MIN(id) FROM grids WHERE district_code = '140106'")
        .await;
    let water = app
        .scalar("SELECT id FROM departments WHERE code = 'water'")
        .await;
    // Hand-made cases around the edges of each figure: reported an hour ago; reported 30
    // hours ago and closed 2 hours ago (open 24 hours ago, not now); rejected 2 hours ago
    // after 26 hours; dispatched and past its deadline (overdue); handling on hold and
    // past its deadline (not overdue); reported 25 hours ago, still open.
    let cases: [(&str, &str, i64, Option<i64>, i64, Option<i64>); 6] = [
        ("OV-1", "reported", now - HOUR, None, 0, None),
        (
            "OV-2",
            "closed",
            now - 30 * HOUR,
            Some(now - 2 * HOUR),
            0,
            None,
        ),
        (
            "OV-3",
            "rejected",
            now - 26 * HOUR,
            Some(now - 2 * HOUR),
            0,
            None,
        ),
        (
            "OV-4",
            "dispatched",
            now - 50 * HOUR,
            None,
            0,
            Some(now - HOUR),
        ),
        (
            "OV-5",
            "handling",
            now - 50 * HOUR,
            None,
            1,
            Some(now - HOUR),
        ),
        ("OV-6", "filed", now - 25 * HOUR, None, 0, None),
    ];
    for (code, state, reported, closed, hold, deadline) in cases {
        let opt = |v: Option<i64>| v.map_or("NULL".to_string(), |x| x.to_string());
        exec(
            app,
            &format!(
                "INSERT INTO cases (code, source, class_id, grid_id, district_code, lon, lat, address, description, state, \
                 on_hold, department_id, reported_at, filing_deadline, deadline_at, closed_at, updated_at) \
                 VALUES ('{code}', 'inspector', {class}, {grid}, '140106', 112.56, 37.85, 'a', 'd', '{state}', \
                 {}, {water}, {reported}, {reported}, {}, {}, {reported})",
                if hold == 1 { "TRUE" } else { "FALSE" },
                opt(deadline),
                opt(closed)
            ),
        )
        .await;
    }
    // Alerts: a critical incident not yet acknowledged; two decided this month, one of them a
    // false positive.
    for (sev, state, reason, decided) in [
        ("critical", "new", "NULL", "NULL".to_string()),
        (
            "major",
            "dismissed",
            "'false_positive'",
            (now - HOUR).to_string(),
        ),
        ("minor", "escalated", "NULL", (now - HOUR).to_string()),
    ] {
        exec(
            app,
            &format!(
                "INSERT INTO incidents (camera_id, type_id, owner_department_id, severity, district_code, state, \
                 alert_count, first_seen, last_seen, dismiss_reason, decided_at, created_at, updated_at) \
                 SELECT camera_id, type_id, owner_department_id, '{sev}', '140106', '{state}', 1, {now}, {now}, \
                 {reason}, {decided}, {now}, {now} FROM incidents ORDER BY id LIMIT 1"
            ),
        )
        .await;
    }
    // Snapshots: overdue 24 hours ago was 7; no snapshot of critical alerts then.
    let snap_hour = (ago).div_euclid(HOUR) * HOUR;
    exec(
        app,
        &format!(
            "INSERT INTO overview_snapshots (hour, figure, value, taken_at) VALUES ({snap_hour}, 'cases_overdue', 7, {ago})"
        ),
    )
    .await;

    let u = leader(app).await;
    let o = app::api::overview::imp::overview(store, &u, "overdue", "en", OFFLINE_MS, now)
        .await
        .expect("overview");

    // Cases, from the raw rows.
    let recs: Vec<CaseRec> = sqlx::query_as(
        "SELECT reported_at, closed_at, state, CASE WHEN on_hold THEN 1 ELSE 0 END, deadline_at, district_code FROM cases",
    )
    .fetch_all(app.pool())
    .await
    .unwrap();
    assert!(recs.len() > 200, "demo cases missing");
    let today = day_start(now);
    let is_open = |r: &CaseRec| r.2 != "closed" && r.2 != "rejected";
    let is_overdue = |r: &CaseRec| {
        (r.2 == "dispatched" || r.2 == "handling") && r.3 == 0 && r.4.is_some_and(|d| d < now)
    };
    let n = |f: &dyn Fn(&CaseRec) -> bool| Some(recs.iter().filter(|r| f(r)).count() as f64);
    let f = fig(&o, "cases_new_today");
    assert_eq!(f.value, n(&|r| r.0 >= today && r.0 <= now));
    assert_eq!(f.previous, n(&|r| r.0 >= today - DAY && r.0 <= ago));
    assert!(f.href.starts_with("/cases?from="));
    let f = fig(&o, "cases_open");
    assert_eq!(f.value, n(&is_open));
    assert_eq!(
        f.previous,
        n(&|r| r.0 <= ago && r.1.is_none_or(|c| c > ago)),
        "open 24 hours ago"
    );
    assert_eq!(f.href, "/cases?state=open");
    let f = fig(&o, "cases_overdue");
    assert_eq!(f.value, n(&is_overdue));
    assert_eq!(f.previous, Some(7.0), "the snapshot of 24 hours ago");
    // Per district, and the map shaded by overdue cases with links to each district's list.
    let (month_ms, last_month_ms) = month_starts(now);
    assert_eq!(o.districts.len(), 6);
    for d in &o.districts {
        let of = |r: &CaseRec| r.5 == d.code;
        assert_eq!(
            Some(d.open as f64),
            n(&|r| of(r) && is_open(r)),
            "{}",
            d.code
        );
        assert_eq!(
            Some(d.overdue as f64),
            n(&|r| of(r) && is_overdue(r)),
            "{}",
            d.code
        );
        assert_eq!(
            Some(d.new_month as f64),
            n(&|r| of(r) && r.0 >= month_ms),
            "{}",
            d.code
        );
        assert_eq!(
            d.href,
            format!("/cases?state=open&overdue=1&district={}", d.code)
        );
        assert!(
            o.map_svg.contains(&format!(
                "href=\"/cases?state=open&amp;overdue=1&amp;district={}\"",
                d.code
            )),
            "map links {}",
            d.code
        );
    }
    assert_eq!(o.map_svg.matches("<a href=").count(), 6);
    assert_eq!(o.by, "overdue");
    // On-time closure and ranking: the evaluation of this month so far.
    let report =
        app::db::evaluation::report(store, "2000-01-01", "2000-01-01", month_ms, today + DAY)
            .await
            .unwrap();
    let (closed, on_time) = report.rows.iter().fold((0, 0), |(c, t), r| {
        (c + r.counts.closed, t + r.counts.closed_on_time)
    });
    assert!(close(
        fig(&o, "on_time_closure").value,
        (closed > 0).then(|| on_time as f64 * 100.0 / closed as f64)
    ));
    let ranked: Vec<(i64, u32)> = report
        .rows
        .iter()
        .filter(|r| r.rank > 0)
        .map(|r| (r.department_id, r.rank))
        .collect();
    let shown: Vec<(i64, u32)> = o
        .ranking
        .iter()
        .map(|r| (r.department_id, r.rank))
        .collect();
    assert_eq!(shown, ranked);

    // Sky Eye, from the incidents.
    type Inc = (String, String, Option<String>, Option<i64>, String);
    let incs: Vec<Inc> = sqlx::query_as(
        "SELECT state, severity, dismiss_reason, decided_at, district_code FROM incidents",
    )
    .fetch_all(app.pool())
    .await
    .unwrap();
    let f = fig(&o, "alerts_critical_open");
    assert_eq!(
        f.value,
        Some(
            incs.iter()
                .filter(|i| i.0 == "new" && i.1 == "critical")
                .count() as f64
        )
    );
    assert_eq!(f.previous, None, "no snapshot 24 hours ago");
    let rate = |from: i64, to: i64| {
        let decided: Vec<_> = incs
            .iter()
            .filter(|i| i.3.is_some_and(|t| t >= from && t < to))
            .collect();
        let fp = decided
            .iter()
            .filter(|i| i.2.as_deref() == Some("false_positive"))
            .count();
        (!decided.is_empty()).then(|| fp as f64 * 100.0 / decided.len() as f64)
    };
    let f = fig(&o, "false_positive_rate");
    assert!(f.value.is_some());
    assert!(close(f.value, rate(month_ms, now + 1)), "{:?}", f.value);
    assert!(close(f.previous, rate(last_month_ms, month_ms)));
    for d in &o.districts {
        let open = incs
            .iter()
            .filter(|i| i.4 == d.code && (i.0 == "new" || i.0 == "acknowledged"))
            .count();
        assert_eq!(d.alerts as usize, open, "{}", d.code);
    }

    // Energy, from the readings of the main meters.
    // Complete hours: those that ended more than the meters' grace (an hour) ago.
    let hour_now = ((now - HOUR).div_euclid(HOUR) * HOUR).max(today);
    let kwh = |from: i64, to: i64| async move {
        let (n, v): (i64, f64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(r.value), 0.0) FROM readings r JOIN meters m ON m.id = r.meter_id \
             WHERE m.parent_id IS NULL AND m.energy_type = 'electricity' AND r.ts >= $1 AND r.ts < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_one(app.pool())
        .await
        .unwrap();
        (n > 0).then_some(v)
    };
    let f = fig(&o, "energy_today");
    let last_week = kwh(today - 7 * DAY, hour_now - 7 * DAY).await;
    // Early in the local day no hour is complete yet: nothing to compare, on either side.
    assert_eq!(
        last_week.is_some(),
        hour_now > today,
        "the demo has readings a week ago"
    );
    assert!(close(f.value, kwh(today, hour_now).await), "{:?}", f.value);
    assert!(close(f.previous, last_week));
    // Targets: how many district targets of this year are on track, of how many.
    let targets = app::db::energy_targets::list(store, &u, now).await.unwrap();
    let year = chrono::DateTime::from_timestamp_millis(now + OFFSET)
        .map(|d| chrono::Datelike::year(&d) as i64)
        .unwrap();
    let mine: Vec<_> = targets
        .iter()
        .filter(|t| t.scope == "district" && t.target_year == year)
        .collect();
    let f = fig(&o, "targets_on_track");
    assert_eq!(f.previous, Some(mine.len() as f64));
    assert_eq!(
        f.value,
        Some(mine.iter().filter(|t| t.status == "on_track").count() as f64)
    );

    // Panels: owners, freshness and quiet sources.
    let alerts = o.panels.iter().find(|p| p.id == "alerts").unwrap();
    assert_eq!(alerts.owner_en, "Public Security Bureau");
    let cams: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT status, last_heartbeat_at FROM cameras")
            .fetch_all(app.pool())
            .await
            .unwrap();
    let silent = cams
        .iter()
        .filter(|c| c.0 == "offline" || c.1.is_none_or(|t| t < now - OFFLINE_MS))
        .count() as i64;
    let s = &alerts.sources[0];
    assert_eq!(
        (s.kind.as_str(), s.total, s.silent),
        ("cameras", cams.len() as i64, silent)
    );
    let energy = o.panels.iter().find(|p| p.id == "energy").unwrap();
    assert_eq!(energy.owner_en, "Development and Reform Commission");
    let meters: Vec<(Option<i64>, i64)> =
        sqlx::query_as("SELECT last_reading_at, interval_minutes FROM meters WHERE active = TRUE")
            .fetch_all(app.pool())
            .await
            .unwrap();
    let late = meters
        .iter()
        .filter(|m| m.0.is_none_or(|t| t + m.1 * 60_000 + HOUR < now))
        .count() as i64;
    let s = &energy.sources[0];
    assert_eq!(
        (s.kind.as_str(), s.total, s.silent),
        ("meters", meters.len() as i64, late)
    );
    assert_eq!(s.stale, late == meters.len() as i64);
    let cases_panel = o.panels.iter().find(|p| p.id == "cases").unwrap();
    assert_eq!(cases_panel.owner_en, "City Management Bureau");
    assert!(cases_panel.latest.is_some());

    // The feed: newest first, cases and alerts, the hand-made ones on top.
    assert!(o.feed.len() <= 10 && !o.feed.is_empty());
    assert!(o.feed.windows(2).all(|w| w[0].at_ms >= w[1].at_ms));
    assert_eq!(o.feed[0].kind, "alert");
    assert_eq!(o.feed[0].at_ms, now);
    assert!(o.feed.iter().any(|i| i.kind == "case"));

    // Trends: 30 days of cases, alerts and electricity; their tables hold the numbers.
    assert_eq!(
        o.trends.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["cases", "alerts", "energy"]
    );
    let cases_chart = &o.trends[0];
    assert_eq!(cases_chart.table.rows.len(), 30);
    let today_row = &cases_chart.table.rows[29].1;
    assert_eq!(today_row[0], n(&|r| r.0 >= today && r.0 < today + DAY));
    assert_eq!(
        today_row[1],
        n(&|r| r.1.is_some_and(|c| c >= today && c < today + DAY))
    );

    // Snapshots: one per hour and figure, the first one kept.
    app::db::overview::take_snapshots(store, now).await.unwrap();
    exec(app, "UPDATE cases SET on_hold = TRUE WHERE code = 'OV-4'").await;
    app::db::overview::take_snapshots(store, now + 1000)
        .await
        .unwrap();
    let hour = now.div_euclid(HOUR) * HOUR;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM overview_snapshots WHERE hour = {hour}"
        ))
        .await,
        2
    );
    let v: f64 = sqlx::query_scalar(&format!(
        "SELECT value FROM overview_snapshots WHERE hour = {hour} AND figure = 'cases_overdue'"
    ))
    .fetch_one(app.pool())
    .await
    .unwrap();
    assert_eq!(Some(v), fig(&o, "cases_overdue").value);
}

async fn only_leaders_and_administrators_see_the_overview(app: &TestApp) {
    for user in ["inspector", "waterhead", "dispatcher", "energy", "skyeye"] {
        let c = app.session(user).await;
        let r = app.call("overview", &[], Some(&c)).await;
        assert_eq!(r.status.as_u16(), 403, "{user}: {}", r.body);
    }
    let r = app.call("overview", &[], None).await;
    assert_eq!(r.status.as_u16(), 401, "{}", r.body);
    for user in ["leader", "admin"] {
        let c = app.session(user).await;
        let r = app
            .call("overview", &[("by", "nonsense"), ("lang", "zh")], Some(&c))
            .await;
        assert_eq!(r.status.as_u16(), 200, "{user}: {}", r.body);
        let o: Overview = serde_json::from_str(&r.body).unwrap();
        assert_eq!(o.figures.len(), 9);
        // An unknown figure falls back to open cases.
        assert_eq!(o.by, "open");
        assert!(o.map_svg.contains("小店区"));
        // Both pages render on the server with the sidebar entry.
        let page = app.get("/overview", Some(&c)).await;
        assert_eq!(page.status.as_u16(), 200);
        assert!(
            page.body.contains("data-testid=\"panel-cases\""),
            "{}",
            page.body
        );
        assert!(page.body.contains("href=\"/wall\""));
        let wall = app.get("/wall", Some(&c)).await;
        assert_eq!(wall.status.as_u16(), 200);
        assert!(wall.body.contains("data-testid=\"wall\""));
        assert!(wall.body.contains("data-testid=\"wall-panel-0\""));
    }
}

async fn figures_are_cached_for_a_while_the_feed_is_not(app: &TestApp) {
    let u = leader(app).await;
    let now = app::db::now_ms();
    let first = app::api::overview::imp::cached(&app.state, &u, "open", "zh", now)
        .await
        .unwrap();
    // A case reported a second later.
    let class = app.scalar("SELECT MIN(id) FROM case_classes").await;
    let grid = app.scalar("SELECT MIN(id) FROM grids").await;
    let t = now + 1000;
    exec(
        app,
        &format!(
            "INSERT INTO cases (code, source, class_id, grid_id, district_code, lon, lat, address, description, state, \
             reported_at, filing_deadline, updated_at) VALUES ('OV-C', 'inspector', {class}, {grid}, '140105', 112.5, 37.8, \
             'a', 'd', 'reported', {t}, {t}, {t})"
        ),
    )
    .await;
    // Within the cache's time: the same figures (and "as of"), but the feed has the case.
    let later = now + 5_000;
    let second = app::api::overview::imp::cached(&app.state, &u, "overdue", "en", later)
        .await
        .unwrap();
    assert_eq!(second.generated_at, first.generated_at);
    assert_eq!(
        fig(&second, "cases_open").value,
        fig(&first, "cases_open").value
    );
    assert_eq!(second.feed[0].code, "OV-C");
    // The map follows the request, not the cached figures.
    assert_eq!(second.by, "overdue");
    assert!(second.districts[0].href.contains("overdue=1"));
    // Past it, the figures are read again.
    let third = app::api::overview::imp::cached(
        &app.state,
        &u,
        "open",
        "zh",
        now + app::db::overview::CACHE_MS + 1,
    )
    .await
    .unwrap();
    assert_eq!(
        fig(&third, "cases_open").value,
        fig(&first, "cases_open").value.map(|v| v + 1.0)
    );
}
