//! The leadership overview: the city's cases, Sky Eye alerts and energy on one page.
//!
//! Every figure is read from the records (or the rollups the energy ingest keeps), with the
//! same figure one period earlier beside it:
//! - counts of events (cases reported today, energy today) against the same span yesterday
//!   or on the same weekday last week;
//! - open cases now against 24 hours ago, rebuilt exactly from the records: open now, less
//!   those reported since, plus those closed or rejected since that had been reported before;
//! - states that cannot be rebuilt from the records (overdue, critical alerts not yet
//!   acknowledged: holds and triage move them back and forth) against the hourly snapshot
//!   taken 24 hours earlier (`overview_snapshots`, written by [`take_snapshots`]); no snapshot
//!   yet, no previous figure;
//! - rates of this month so far against last month (as published, once it is).
use super::{fmt_local, Store};
use crate::domain::energy::{self as e, EnergyType, DAY_MS, HOUR_MS};
use crate::error::AppError;
use crate::model::{
    DistrictFigures, EvaluationReport, FeedItem, KeyFigure, Overview, Panel, RankRow, SourceStatus,
};
use std::collections::HashMap;

/// Snapshot figures.
pub const SNAP_OVERDUE: &str = "cases_overdue";
pub const SNAP_CRITICAL: &str = "alerts_critical_open";
/// A meter is late when its newest reading is older than its interval plus this.
pub const METER_GRACE_MS: i64 = HOUR_MS;

const OPEN: &str = "state NOT IN ('closed', 'rejected')";
const OVERDUE: &str =
    "state IN ('dispatched', 'handling') AND on_hold = FALSE AND deadline_at < $1";

/// Counts at one moment, for the snapshot job and the overview.
pub async fn overdue_now(store: &Store, now: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM cases WHERE {OVERDUE}"))
        .bind(now)
        .fetch_one(store.pool())
        .await
}

pub async fn critical_open_now(store: &Store) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM incidents WHERE state = 'new' AND severity = 'critical'",
    )
    .fetch_one(store.pool())
    .await
}

/// Stores this hour's snapshot of the state figures, unless an app server already has.
pub async fn take_snapshots(store: &Store, now: i64) -> sqlx::Result<()> {
    let hour = e::hour_start(now);
    let overdue = overdue_now(store, now).await?;
    let critical = critical_open_now(store).await?;
    // Both figures or neither, through the writer (SQLite has one).
    let mut tx = store.begin().await?;
    for (figure, value) in [(SNAP_OVERDUE, overdue), (SNAP_CRITICAL, critical)] {
        sqlx::query(
            "INSERT INTO overview_snapshots (hour, figure, value, taken_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (hour, figure) DO NOTHING",
        )
        .bind(hour)
        .bind(figure)
        .bind(value as f64)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// The snapshot of `figure` taken in the hour 24 hours before `now`'s.
pub async fn day_ago(store: &Store, figure: &str, now: i64) -> sqlx::Result<Option<f64>> {
    sqlx::query_scalar("SELECT value FROM overview_snapshots WHERE hour = $1 AND figure = $2")
        .bind(e::hour_start(now - DAY_MS))
        .bind(figure)
        .fetch_optional(store.pool())
        .await
}

fn day_code(day: i64) -> String {
    let (y, m, d) = e::civil(day);
    format!("{y:04}-{m:02}-{d:02}")
}

async fn count(store: &Store, sql: &str, args: &[i64]) -> sqlx::Result<i64> {
    let mut q = sqlx::query_scalar::<_, i64>(sql);
    for a in args {
        q = q.bind(*a);
    }
    q.fetch_one(store.pool()).await
}

/// Cases reported and closed (or rejected) per local day over `days`, by day number.
pub async fn case_days(
    store: &Store,
    days: std::ops::Range<i64>,
) -> sqlx::Result<(HashMap<i64, i64>, HashMap<i64, i64>)> {
    let (from, to) = (e::day_start(days.start), e::day_start(days.end));
    let group = |col: &str| {
        format!(
            "SELECT ({col} + {off}) / {DAY_MS} AS d, COUNT(*) FROM cases \
             WHERE {col} >= $1 AND {col} < $2 GROUP BY ({col} + {off}) / {DAY_MS}",
            off = e::OFFSET_MS
        )
    };
    let new: Vec<(i64, i64)> = sqlx::query_as(&group("reported_at"))
        .bind(from)
        .bind(to)
        .fetch_all(store.pool())
        .await?;
    let closed: Vec<(i64, i64)> = sqlx::query_as(&group("closed_at"))
        .bind(from)
        .bind(to)
        .fetch_all(store.pool())
        .await?;
    Ok((new.into_iter().collect(), closed.into_iter().collect()))
}

/// Alerts received per local day over `days`: (all, critical).
pub async fn alert_days(
    store: &Store,
    days: std::ops::Range<i64>,
) -> sqlx::Result<HashMap<i64, (i64, i64)>> {
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(&format!(
        "SELECT (a.at + {off}) / {DAY_MS} AS d, COUNT(*), \
         CAST(SUM(CASE WHEN i.severity = 'critical' THEN 1 ELSE 0 END) AS BIGINT) \
         FROM alerts a JOIN incidents i ON i.id = a.incident_id \
         WHERE a.at >= $1 AND a.at < $2 GROUP BY (a.at + {off}) / {DAY_MS}",
        off = e::OFFSET_MS
    ))
    .bind(e::day_start(days.start))
    .bind(e::day_start(days.end))
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().map(|(d, a, c)| (d, (a, c))).collect())
}

/// City-wide on-time closure rate (%) of a report: closed on time of closed, over every
/// department.
pub fn on_time_closure(r: &EvaluationReport) -> Option<f64> {
    let (closed, on_time) = r.rows.iter().fold((0, 0), |(c, o), x| {
        (c + x.counts.closed, o + x.counts.closed_on_time)
    });
    (closed > 0).then(|| on_time as f64 * 100.0 / closed as f64)
}

/// The department of the command centre: where the dispatchers work.
async fn cases_owner(store: &Store) -> sqlx::Result<Option<(String, String)>> {
    sqlx::query_as(
        "SELECT d.name_zh, d.name_en FROM users u JOIN departments d ON d.id = u.department_id \
         WHERE u.role = 'dispatcher' AND u.active = TRUE ORDER BY u.id LIMIT 1",
    )
    .fetch_optional(store.pool())
    .await
}

async fn department_names(store: &Store, id: Option<i64>) -> sqlx::Result<(String, String)> {
    let Some(id) = id else {
        return Ok((String::new(), String::new()));
    };
    Ok(
        sqlx::query_as("SELECT name_zh, name_en FROM departments WHERE id = $1")
            .bind(id)
            .fetch_optional(store.pool())
            .await?
            .unwrap_or_default(),
    )
}

#[allow(clippy::too_many_arguments)] // one per field of a figure
fn figure(
    key: &str,
    panel: &str,
    value: Option<f64>,
    previous: Option<f64>,
    previous_kind: &str,
    unit: &str,
    lower_better: Option<bool>,
    href: String,
) -> KeyFigure {
    KeyFigure {
        key: key.into(),
        panel: panel.into(),
        value,
        previous,
        previous_kind: previous_kind.into(),
        unit: unit.into(),
        lower_better,
        href,
    }
}

/// What the overview needs besides the figures: the caller's role decides nothing here (the
/// server function lets only leaders and administrators in). The figure the map is shaded by
/// and the districts' links follow the request, when drawing (`api::overview`).
pub struct Input<'a> {
    pub camera_offline_ms: i64,
    pub leader: &'a crate::model::CurrentUser,
}

/// Everything on the overview except the drawn charts and map (see `api::overview`).
#[derive(Clone)]
pub struct Data {
    pub overview: Overview,
    /// Last 30 local days (day numbers) and per day: new cases, closed cases, alerts,
    /// critical alerts, electricity (kWh, NaN: no readings).
    pub days: Vec<i64>,
    pub new_cases: Vec<f64>,
    pub closed_cases: Vec<f64>,
    pub alerts: Vec<f64>,
    pub critical: Vec<f64>,
    pub electricity: Vec<f64>,
}

pub const TREND_DAYS: i64 = 30;

pub async fn overview(store: &Store, input: Input<'_>, now: i64) -> Result<Data, AppError> {
    let today = e::local_day(now);
    let today_ms = e::day_start(today);
    let ago = now - DAY_MS;
    let month_first = e::month_first_day(e::month_of_day(today));
    let month_ms = e::day_start(month_first);
    let this_month = super::assessments::month_of(now);
    let last_month = this_month.prev();
    let mut figures = Vec::new();

    // Cases.
    let new_today = count(
        store,
        "SELECT COUNT(*) FROM cases WHERE reported_at >= $1 AND reported_at <= $2",
        &[today_ms, now],
    )
    .await?;
    let new_yesterday = count(
        store,
        "SELECT COUNT(*) FROM cases WHERE reported_at >= $1 AND reported_at <= $2",
        &[today_ms - DAY_MS, ago],
    )
    .await?;
    let today_code = day_code(today);
    figures.push(figure(
        "cases_new_today",
        "cases",
        Some(new_today as f64),
        Some(new_yesterday as f64),
        "yesterday",
        "",
        None,
        format!("/cases?from={today_code}&to={today_code}"),
    ));
    // Open and overdue cases by district in one pass over the open cases' index.
    let by_district: Vec<(String, i64, i64)> = sqlx::query_as(&format!(
        "SELECT district_code, COUNT(*), \
         CAST(SUM(CASE WHEN {OVERDUE} THEN 1 ELSE 0 END) AS BIGINT) \
         FROM cases WHERE {OPEN} GROUP BY district_code"
    ))
    .bind(now)
    .fetch_all(store.pool())
    .await?;
    let open: i64 = by_district.iter().map(|r| r.1).sum();
    let overdue: i64 = by_district.iter().map(|r| r.2).sum();
    let opened_since = count(
        store,
        &format!("SELECT COUNT(*) FROM cases WHERE {OPEN} AND reported_at > $1"),
        &[ago],
    )
    .await?;
    let closed_since = count(
        store,
        "SELECT COUNT(*) FROM cases WHERE closed_at > $1 AND reported_at <= $1",
        &[ago],
    )
    .await?;
    figures.push(figure(
        "cases_open",
        "cases",
        Some(open as f64),
        Some((open - opened_since + closed_since) as f64),
        "day_ago",
        "",
        Some(true),
        "/cases?state=open".into(),
    ));
    figures.push(figure(
        "cases_overdue",
        "cases",
        Some(overdue as f64),
        day_ago(store, SNAP_OVERDUE, now).await?,
        "day_ago",
        "",
        Some(true),
        "/cases?state=open&overdue=1".into(),
    ));
    let this_report = super::evaluation::report(
        store,
        &day_code(month_first),
        &today_code,
        month_ms,
        today_ms + DAY_MS,
    )
    .await?;
    let (last_report, _) = super::assessments::month_report(store, last_month).await?;
    figures.push(figure(
        "on_time_closure",
        "cases",
        on_time_closure(&this_report),
        on_time_closure(&last_report),
        "last_month",
        "%",
        Some(false),
        format!("/evaluation/monthly?month={}", last_month.code()),
    ));

    // Sky Eye.
    let critical = critical_open_now(store).await?;
    figures.push(figure(
        "alerts_critical_open",
        "alerts",
        Some(critical as f64),
        day_ago(store, SNAP_CRITICAL, now).await?,
        "day_ago",
        "",
        Some(true),
        "/alerts?state=new&severity=critical".into(),
    ));
    let fp = |from: i64, to: i64| async move {
        let (decided, fp): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN dismiss_reason = 'false_positive' THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM incidents WHERE decided_at >= $1 AND decided_at < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_one(store.pool())
        .await?;
        Ok::<_, sqlx::Error>((decided > 0).then(|| fp as f64 * 100.0 / decided as f64))
    };
    let last_month_ms = e::day_start(e::month_first_day(e::month_of_day(month_first - 1)));
    figures.push(figure(
        "false_positive_rate",
        "alerts",
        fp(month_ms, now + 1).await?,
        fp(last_month_ms, month_ms).await?,
        "last_month",
        "%",
        Some(true),
        format!("/alerts?state=dismissed&from={}", day_code(month_first)),
    ));

    // Energy.
    let kwh = |from: i64, to: i64| async move {
        // The districts named (those of the entities, a small table): the rollup's key
        // starts with the district, so without them the hours are found by a full scan.
        sqlx::query_as::<_, (i64, f64)>(
            "SELECT COUNT(*), COALESCE(SUM(value), 0.0) FROM energy_district_hour \
             WHERE district_code IN (SELECT DISTINCT district_code FROM energy_entities) \
             AND energy_type = $1 AND hour >= $2 AND hour < $3",
        )
        .bind(EnergyType::Electricity.code())
        .bind(from)
        .bind(to)
        .fetch_one(store.pool())
        .await
        .map(|(n, v)| (n > 0).then_some(v))
    };
    // Hours complete so far today, against the same hours a week ago: hours that ended more
    // than the meters' grace ago, so late readings do not make today look lower.
    let hour_now = e::hour_start(now - METER_GRACE_MS).max(today_ms);
    figures.push(figure(
        "energy_today",
        "energy",
        kwh(today_ms, hour_now).await?,
        kwh(today_ms - 7 * DAY_MS, hour_now - 7 * DAY_MS).await?,
        "last_week",
        "kWh",
        Some(true),
        "/energy".into(),
    ));
    let elapsed = today - month_first + 1;
    let last_first = e::month_first_day(e::month_of_day(month_first - 1));
    let last_days = (month_first - last_first).min(elapsed);
    let carbon = super::energy::carbon_between(store, None, month_first, today + 1).await?;
    let carbon_prev =
        super::energy::carbon_between(store, None, last_first, last_first + last_days).await?;
    figures.push(figure(
        "carbon_month",
        "energy",
        Some(carbon / 1000.0),
        Some(carbon_prev / 1000.0),
        "last_month_days",
        "t",
        Some(true),
        "/energy".into(),
    ));
    let year = e::civil(today).0 as i64;
    let targets: Vec<_> = super::energy_targets::list(store, input.leader, now)
        .await?
        .into_iter()
        .filter(|t| t.scope == "district" && t.target_year == year)
        .collect();
    let on_track = targets.iter().filter(|t| t.status == "on_track").count();
    figures.push(figure(
        "targets_on_track",
        "energy",
        Some(on_track as f64),
        Some(targets.len() as f64),
        "targets_total",
        "",
        None,
        "/energy/targets".into(),
    ));

    // Panels: whose data, how fresh, which sources went quiet.
    let latest_case: Option<i64> = sqlx::query_scalar("SELECT MAX(reported_at) FROM cases")
        .fetch_one(store.pool())
        .await?;
    let (czh, cen) = cases_owner(store).await?.unwrap_or_default();
    let latest_alert: Option<i64> = sqlx::query_scalar("SELECT MAX(at) FROM alerts")
        .fetch_one(store.pool())
        .await?;
    let (azh, aen) =
        department_names(store, super::skyeye::owner_department(store.pool()).await?).await?;
    let (cams, silent_cams, newest_beat): (i64, i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), \
         CAST(COALESCE(SUM(CASE WHEN status = 'offline' OR last_heartbeat_at IS NULL OR last_heartbeat_at < $1 THEN 1 ELSE 0 END), 0) AS BIGINT), \
         MAX(last_heartbeat_at) FROM cameras",
    )
    .bind(now - input.camera_offline_ms)
    .fetch_one(store.pool())
    .await?;
    let (ezh, een) = department_names(
        store,
        super::energy_ingest::owner_department(store.pool()).await?,
    )
    .await?;
    let (meters, late_meters, newest_reading): (i64, i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), \
         CAST(COALESCE(SUM(CASE WHEN last_reading_at IS NULL \
           OR last_reading_at + interval_minutes * 60000 + $2 < $1 THEN 1 ELSE 0 END), 0) AS BIGINT), \
         MAX(last_reading_at) FROM meters WHERE active = TRUE",
    )
    .bind(now)
    .bind(METER_GRACE_MS)
    .fetch_one(store.pool())
    .await?;
    let panels = vec![
        Panel {
            id: "cases".into(),
            owner_zh: czh,
            owner_en: cen,
            latest: latest_case.map(fmt_local),
            sources: Vec::new(),
        },
        Panel {
            id: "alerts".into(),
            owner_zh: azh,
            owner_en: aen,
            latest: latest_alert.map(fmt_local),
            sources: (cams > 0)
                .then(|| SourceStatus {
                    kind: "cameras".into(),
                    total: cams,
                    silent: silent_cams,
                    expected_minutes: input.camera_offline_ms / 60_000,
                    newest: newest_beat.map(fmt_local),
                    stale: newest_beat.is_none_or(|t| t < now - input.camera_offline_ms),
                    href: "/cameras?status=offline".into(),
                })
                .into_iter()
                .collect(),
        },
        Panel {
            id: "energy".into(),
            owner_zh: ezh,
            owner_en: een,
            latest: newest_reading.map(fmt_local),
            sources: (meters > 0)
                .then(|| SourceStatus {
                    kind: "meters".into(),
                    total: meters,
                    silent: late_meters,
                    expected_minutes: METER_GRACE_MS / 60_000,
                    newest: newest_reading.map(fmt_local),
                    // Every meter late: nothing has arrived for the whole city.
                    stale: late_meters == meters,
                    href: "/energy".into(),
                })
                .into_iter()
                .collect(),
        },
    ];

    // Districts.
    let new_month_sql = super::grids::DISTRICTS
        .iter()
        .map(|d| {
            format!(
                "SELECT '{}' AS d, COUNT(*) AS n FROM cases WHERE district_code = '{}' AND reported_at >= $1",
                d.0, d.0
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let new_month: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(&new_month_sql)
        .bind(month_ms)
        .fetch_all(store.pool())
        .await?
        .into_iter()
        .collect();
    let alerts_open: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
        "SELECT district_code, COUNT(*) FROM incidents WHERE state IN ('new', 'acknowledged') GROUP BY district_code",
    )
    .fetch_all(store.pool())
    .await?
    .into_iter()
    .collect();
    let month = e::month_of_day(today);
    let carbon_by = super::energy::monthly_by_district(store, None, month, month).await?;
    let districts: Vec<DistrictFigures> = super::grids::DISTRICTS
        .iter()
        .map(|d| {
            let code = d.0;
            let (open, overdue) = by_district
                .iter()
                .find(|r| r.0 == code)
                .map_or((0, 0), |r| (r.1, r.2));
            DistrictFigures {
                code: code.into(),
                name_zh: d.1.into(),
                name_en: d.2.into(),
                open,
                overdue,
                new_month: new_month.get(code).copied().unwrap_or(0),
                alerts: alerts_open.get(code).copied().unwrap_or(0),
                carbon_t: carbon_by
                    .get(&(code.to_string(), month))
                    .map_or(0.0, |v| v.1 / 1000.0),
                href: String::new(),
            }
        })
        .collect();

    // Ranking: this month so far.
    let ranking = this_report
        .rows
        .iter()
        .filter(|r| r.rank > 0)
        .map(|r| RankRow {
            department_id: r.department_id,
            name_zh: r.name_zh.clone(),
            name_en: r.name_en.clone(),
            rank: r.rank,
            score: r.indicators.score,
            dispatched: r.counts.dispatched,
            on_time_closure_rate: r.indicators.on_time_closure_rate,
        })
        .collect();

    // Trends: the last 30 days, today included.
    let days: Vec<i64> = (today - TREND_DAYS + 1..=today).collect();
    let range = days[0]..today + 1;
    let (new_by_day, closed_by_day) = case_days(store, range.clone()).await?;
    let alerts_by_day = alert_days(store, range.clone()).await?;
    let kwh_by_day = super::energy::daily(store, None, EnergyType::Electricity, range).await?;
    let pick = |m: &HashMap<i64, i64>| -> Vec<f64> {
        days.iter()
            .map(|d| m.get(d).copied().unwrap_or(0) as f64)
            .collect()
    };
    let data = Data {
        new_cases: pick(&new_by_day),
        closed_cases: pick(&closed_by_day),
        alerts: days
            .iter()
            .map(|d| alerts_by_day.get(d).map_or(0.0, |v| v.0 as f64))
            .collect(),
        critical: days
            .iter()
            .map(|d| alerts_by_day.get(d).map_or(0.0, |v| v.1 as f64))
            .collect(),
        electricity: days
            .iter()
            .map(|d| kwh_by_day.get(d).map_or(f64::NAN, |v| v.0))
            .collect(),
        days,
        overview: Overview {
            generated_at: fmt_local(now),
            figures,
            panels,
            trends: Vec::new(),
            districts,
            by: String::new(),
            map_svg: String::new(),
            ranking_month: this_month.code(),
            ranking,
            feed: feed(store, now).await?,
        },
    };
    Ok(data)
}

/// The latest cases and alerts, newest first.
pub async fn feed(store: &Store, now: i64) -> sqlx::Result<Vec<FeedItem>> {
    const N: usize = 10;
    let district = |code: &str| {
        super::grids::DISTRICTS
            .iter()
            .find(|d| d.0 == code)
            .map_or((code.to_string(), code.to_string()), |d| {
                (d.1.to_string(), d.2.to_string())
            })
    };
    let at = |ms: i64| {
        let s = fmt_local(ms);
        if e::local_day(ms) == e::local_day(now) {
            s.get(11..16).unwrap_or(&s).to_string()
        } else {
            s.get(5..16).unwrap_or(&s).to_string()
        }
    };
    let cases: Vec<(i64, String, i64, String, String, String)> = sqlx::query_as(&format!(
        "SELECT c.id, c.code, c.reported_at, c.district_code, k.name_zh, k.name_en \
         FROM cases c JOIN case_classes k ON k.id = c.class_id ORDER BY c.reported_at DESC LIMIT {N}"
    ))
    .fetch_all(store.pool())
    .await?;
    let incidents: Vec<(i64, i64, String, String, String, String)> = sqlx::query_as(&format!(
        "SELECT i.id, i.last_seen, i.district_code, i.severity, t.name_zh, t.name_en \
         FROM incidents i JOIN alert_types t ON t.id = i.type_id ORDER BY i.last_seen DESC LIMIT {N}"
    ))
    .fetch_all(store.pool())
    .await?;
    let mut out: Vec<FeedItem> = cases
        .into_iter()
        .map(|(id, code, ms, d, zh, en)| {
            let (dzh, den) = district(&d);
            FeedItem {
                kind: "case".into(),
                at_ms: ms,
                at: at(ms),
                code,
                title_zh: zh,
                title_en: en,
                district_zh: dzh,
                district_en: den,
                severity: String::new(),
                href: format!("/cases/{id}"),
            }
        })
        .chain(incidents.into_iter().map(|(id, ms, d, sev, zh, en)| {
            let (dzh, den) = district(&d);
            FeedItem {
                kind: "alert".into(),
                at_ms: ms,
                at: at(ms),
                code: format!("#{id}"),
                title_zh: zh,
                title_en: en,
                district_zh: dzh,
                district_en: den,
                severity: sev,
                href: format!("/alerts/{id}"),
            }
        }))
        .collect();
    out.sort_by_key(|x| std::cmp::Reverse(x.at_ms));
    out.truncate(N);
    Ok(out)
}

/// How long computed overview figures are served before they are read again.
pub const CACHE_MS: i64 = 30_000;

/// The overview's figures as last computed on this app server. Reading them costs a few
/// hundred milliseconds at a million cases (`make bench-overview`), and they move slowly:
/// every viewer within [`CACHE_MS`] gets the same computation (one at a time: a second
/// request waits for the first instead of computing again). The feed of the latest cases and
/// alerts is read for every request, so new events show at once.
#[derive(Default)]
pub struct Cache {
    last: tokio::sync::Mutex<Option<(i64, std::sync::Arc<Data>)>>,
}

#[derive(Clone)]
pub struct Cached {
    pub data: std::sync::Arc<Data>,
    /// When the figures were computed (epoch ms).
    pub at: i64,
}

impl Cache {
    /// Forgets the figures: the next request reads them again (benchmarks).
    pub async fn clear(&self) {
        *self.last.lock().await = None;
    }

    pub async fn get(&self, store: &Store, input: Input<'_>, now: i64) -> Result<Cached, AppError> {
        let mut last = self.last.lock().await;
        if let Some((at, data)) = last.as_ref() {
            // A request that read the clock just before the one that filled the cache
            // (`now < at`) takes its figures too.
            if now - at < CACHE_MS {
                return Ok(Cached {
                    data: data.clone(),
                    at: *at,
                });
            }
        }
        let data = std::sync::Arc::new(overview(store, input, now).await?);
        *last = Some((now, data.clone()));
        Ok(Cached { data, at: now })
    }
}
