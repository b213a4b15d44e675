//! The public datasets' contents (`/data/{code}.csv|json`): monthly figures only, at district
//! level, with no personal data. Months are complete Shanghai calendar months: the current
//! month is left out until it is over.
//!
//! - `cases-monthly`: cases by month, district and minor class: reported (by `reported_at`),
//!   filed (`filed_at`), closed (`closed_at` of a closed case) and closed on time (closed, and
//!   the department's report-back of the closing assignment came by its handling deadline, as
//!   in the evaluation). Read from the case table grouped by day, summed to months here.
//! - `energy-monthly`: the monthly district rollups (main meters only), never raw readings.
//! - `rankings`: the published monthly assessments as stored when published.
use super::Store;
use crate::domain::energy as e;
use crate::model::EvaluationReport;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One column: its stable name (CSV header, JSON key), its headings and its type
/// (`string`, `integer`, `number`).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Field {
    pub name: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

const fn f(name: &'static str, zh: &'static str, en: &'static str, kind: &'static str) -> Field {
    Field { name, zh, en, kind }
}

pub const CASES_FIELDS: &[Field] = &[
    f("month", "月份", "Month", "string"),
    f("district_code", "区县代码", "District code", "string"),
    f("district_zh", "区县", "District (Chinese)", "string"),
    f("district_en", "区县（英文）", "District", "string"),
    f("class_kind", "类型", "Kind", "string"),
    f("class_code", "小类编码", "Class code", "string"),
    f("class_zh", "小类", "Class (Chinese)", "string"),
    f("class_en", "小类（英文）", "Class", "string"),
    f("reported", "上报数", "Reported", "integer"),
    f("filed", "立案数", "Filed", "integer"),
    f("closed", "结案数", "Closed", "integer"),
    f("closed_on_time", "按期结案数", "Closed on time", "integer"),
];

pub const ENERGY_FIELDS: &[Field] = &[
    f("month", "月份", "Month", "string"),
    f("district_code", "区县代码", "District code", "string"),
    f("district_zh", "区县", "District (Chinese)", "string"),
    f("district_en", "区县（英文）", "District", "string"),
    f("energy_type", "能源类型", "Energy type", "string"),
    f("unit", "单位", "Unit", "string"),
    f("value", "用量", "Use", "number"),
    f("carbon_kg", "碳排放（千克）", "Carbon (kg CO₂)", "number"),
];

pub const RANKING_FIELDS: &[Field] = &[
    f("month", "月份", "Month", "string"),
    f("rank", "排名", "Rank", "integer"),
    f("department_zh", "部门", "Department (Chinese)", "string"),
    f("department_en", "部门（英文）", "Department", "string"),
    f("score", "得分", "Score", "number"),
    f("due", "应处置数", "Due", "integer"),
    f("closed", "结案数", "Closed", "integer"),
    f("closed_on_time", "按期结案数", "Closed on time", "integer"),
    f("closure_rate", "结案率（%）", "Closure rate (%)", "number"),
    f(
        "on_time_closure_rate",
        "按期结案率（%）",
        "On-time closure rate (%)",
        "number",
    ),
    f(
        "handling_rate",
        "处置率（%）",
        "Handling rate (%)",
        "number",
    ),
    f("overdue", "超期数", "Overdue", "integer"),
    f("rework", "返工数", "Rework", "integer"),
    f("published_at", "发布时间", "Published", "string"),
];

/// The public datasets with contents here.
pub const PUBLIC: &[&str] = &["cases-monthly", "energy-monthly", "rankings"];

pub fn fields(code: &str) -> Option<&'static [Field]> {
    match code {
        "cases-monthly" => Some(CASES_FIELDS),
        "energy-monthly" => Some(ENERGY_FIELDS),
        "rankings" => Some(RANKING_FIELDS),
        _ => None,
    }
}

/// The contents of a public dataset: one array of values per row, in field order.
#[derive(Clone)]
pub struct Table {
    pub fields: &'static [Field],
    pub rows: Vec<Vec<Value>>,
}

/// The current Shanghai month as yyyymm and the instant it began.
fn current_month(now: i64) -> (i64, i64) {
    let m = e::month_of_day(e::local_day(now));
    let start = e::day_start(e::month_first_day(m));
    (m, start)
}

fn month_code(yyyymm: i64) -> String {
    format!("{:04}-{:02}", yyyymm / 100, yyyymm % 100)
}

/// Names of a county-level division (zh, en) by admin code.
pub fn district_names(code: &str) -> (String, String) {
    super::energy_seed::DISTRICTS
        .iter()
        .find(|d| d.0 == code)
        .map(|d| (d.1.to_string(), d.2.to_string()))
        .unwrap_or_else(|| (code.to_string(), code.to_string()))
}

/// Rounded to 3 decimals (the rollups carry floating-point sums).
fn r3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// The newest complete month a public dataset holds (yyyy-mm).
pub async fn latest_month(store: &Store, code: &str, now: i64) -> sqlx::Result<Option<String>> {
    let (cur, start) = current_month(now);
    Ok(match code {
        "cases-monthly" => sqlx::query_scalar::<_, Option<i64>>(
            "SELECT MAX(reported_at) FROM cases WHERE reported_at < $1",
        )
        .bind(start)
        .fetch_one(store.pool())
        .await?
        .map(|ms| month_code(e::month_of_day(e::local_day(ms)))),
        "energy-monthly" => sqlx::query_scalar::<_, Option<i64>>(
            "SELECT MAX(month) FROM energy_district_month WHERE month < $1",
        )
        .bind(cur)
        .fetch_one(store.pool())
        .await?
        .map(month_code),
        "rankings" => {
            sqlx::query_scalar::<_, Option<String>>("SELECT MAX(month) FROM assessments")
                .fetch_one(store.pool())
                .await?
        }
        _ => None,
    })
}

/// The contents of public dataset `code` as of `now`; `None` for anything else.
pub async fn table(store: &Store, code: &str, now: i64) -> sqlx::Result<Option<Table>> {
    let Some(fields) = fields(code) else {
        return Ok(None);
    };
    let rows = match code {
        "cases-monthly" => cases_rows(store, now).await?,
        "energy-monthly" => energy_rows(store, now).await?,
        _ => ranking_rows(store).await?,
    };
    Ok(Some(Table { fields, rows }))
}

/// `SELECT day, district, class, count[, on time]` of the cases whose instant `col` falls
/// before `before`, grouped by Shanghai day.
fn by_day(col: &str, cond: &str, extra: &str) -> String {
    let day = format!("({col} + 28800000) / 86400000");
    format!(
        "SELECT {day} AS day, c.district_code, c.class_id, COUNT(*) AS n{extra} FROM cases c \
         WHERE {col} IS NOT NULL AND {col} < $1{cond} GROUP BY {day}, c.district_code, c.class_id"
    )
}

async fn cases_rows(store: &Store, now: i64) -> sqlx::Result<Vec<Vec<Value>>> {
    let (_, start) = current_month(now);
    // (month, district, class) -> reported, filed, closed, closed on time
    let mut acc: BTreeMap<(i64, String, i64), [i64; 4]> = BTreeMap::new();
    for (i, col) in ["c.reported_at", "c.filed_at"].into_iter().enumerate() {
        let rows: Vec<(i64, String, i64, i64)> = sqlx::query_as(&by_day(col, "", ""))
            .bind(start)
            .fetch_all(store.pool())
            .await?;
        for (day, d, class, n) in rows {
            acc.entry((e::month_of_day(day), d, class)).or_default()[i] += n;
        }
    }
    let on_time = ", CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM case_assignments a WHERE a.case_id = c.id \
                   AND a.closed_at IS NOT NULL AND a.handled_at <= a.deadline_at) THEN 1 ELSE 0 END) AS BIGINT) AS t";
    let rows: Vec<(i64, String, i64, i64, i64)> =
        sqlx::query_as(&by_day("c.closed_at", " AND c.state = 'closed'", on_time))
            .bind(start)
            .fetch_all(store.pool())
            .await?;
    for (day, d, class, n, t) in rows {
        let a = acc.entry((e::month_of_day(day), d, class)).or_default();
        a[2] += n;
        a[3] += t;
    }
    let classes: Vec<(i64, String, String, String, String)> =
        sqlx::query_as("SELECT id, kind, code, name_zh, name_en FROM case_classes")
            .fetch_all(store.pool())
            .await?;
    let classes: BTreeMap<i64, (String, String, String, String)> = classes
        .into_iter()
        .map(|(id, k, c, zh, en)| (id, (k, c, zh, en)))
        .collect();
    let mut out: Vec<(i64, String, String, String, Vec<Value>)> = acc
        .into_iter()
        .map(|((m, d, class), n)| {
            let (kind, code, zh, en) = classes.get(&class).cloned().unwrap_or_default();
            let (dzh, den) = district_names(&d);
            let row = vec![
                json!(month_code(m)),
                json!(d),
                json!(dzh),
                json!(den),
                json!(kind),
                json!(code),
                json!(zh),
                json!(en),
                json!(n[0]),
                json!(n[1]),
                json!(n[2]),
                json!(n[3]),
            ];
            (m, d, kind, code, row)
        })
        .collect();
    out.sort_by(|a, b| (a.0, &a.1, &a.2, &a.3).cmp(&(b.0, &b.1, &b.2, &b.3)));
    Ok(out.into_iter().map(|r| r.4).collect())
}

async fn energy_rows(store: &Store, now: i64) -> sqlx::Result<Vec<Vec<Value>>> {
    let (cur, _) = current_month(now);
    let rows: Vec<(i64, String, String, f64, f64)> = sqlx::query_as(
        "SELECT month, district_code, energy_type, value, carbon_kg FROM energy_district_month \
         WHERE month < $1 ORDER BY month, district_code, energy_type",
    )
    .bind(cur)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(m, d, t, v, c)| {
            let (dzh, den) = district_names(&d);
            let unit = e::EnergyType::from_code(&t).map(|t| t.unit()).unwrap_or("");
            vec![
                json!(month_code(m)),
                json!(d),
                json!(dzh),
                json!(den),
                json!(t),
                json!(unit),
                json!(r3(v)),
                json!(r3(c)),
            ]
        })
        .collect())
}

fn rate(v: Option<f64>) -> Value {
    v.map(|x| json!((x * 100.0).round() / 100.0))
        .unwrap_or(Value::Null)
}

async fn ranking_rows(store: &Store) -> sqlx::Result<Vec<Vec<Value>>> {
    let stored: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT month, report, published_at FROM assessments ORDER BY month")
            .fetch_all(store.pool())
            .await?;
    let mut out = Vec::new();
    for (month, report, at) in stored {
        let Ok(r) = serde_json::from_str::<EvaluationReport>(&report) else {
            tracing::error!(%month, "stored assessment does not decode");
            continue;
        };
        let mut rows = r.rows;
        rows.sort_by_key(|x| x.rank);
        for x in rows {
            out.push(vec![
                json!(month),
                json!(x.rank),
                json!(x.name_zh),
                json!(x.name_en),
                json!((x.indicators.score * 100.0).round() / 100.0),
                json!(x.counts.due),
                json!(x.counts.closed),
                json!(x.counts.closed_on_time),
                rate(x.indicators.closure_rate),
                rate(x.indicators.on_time_closure_rate),
                rate(x.indicators.handling_rate),
                json!(x.indicators.overdue),
                json!(x.indicators.rework),
                json!(super::fmt_local(at)),
            ]);
        }
    }
    Ok(out)
}

/// How long a computed public dataset is served before it is computed again. Only complete
/// months are published, so a cached table is stale only after corrections to past months.
pub const CACHE_MS: i64 = 10 * 60_000;

/// Public datasets as last computed on this app server: (when, catalogue entry, table).
pub type Cache = std::sync::Arc<
    tokio::sync::Mutex<std::collections::HashMap<String, (i64, crate::model::DatasetInfo, Table)>>,
>;

/// A public dataset's catalogue entry and contents, computed at most every [`CACHE_MS`] per
/// app server and one at a time (a burst of anonymous downloads costs one computation).
/// None for an unknown or restricted dataset.
pub async fn public_table(
    store: &Store,
    code: &str,
    now: i64,
) -> sqlx::Result<Option<(crate::model::DatasetInfo, Table)>> {
    let mut cache = store.open_data.lock().await;
    if let Some((at, info, t)) = cache.get(code) {
        if now - at < CACHE_MS {
            return Ok(Some((info.clone(), t.clone())));
        }
    }
    let info = match super::datasets::get(store, code).await? {
        Some(d) if d.public => d,
        _ => return Ok(None),
    };
    let Some(t) = table(store, code, now).await? else {
        return Ok(None);
    };
    cache.insert(code.to_string(), (now, info.clone(), t.clone()));
    Ok(Some((info, t)))
}

/// Drops a dataset's cached table (after a change it must show at once, e.g. a month's
/// ranking published).
pub async fn forget(store: &Store, code: &str) {
    store.open_data.lock().await.remove(code);
}

/// A cell as a spreadsheet program may safely open it: text starting like a formula (`=`,
/// `+`, `-`, `@`, tab, carriage return) gets a leading apostrophe, so it is shown, never run.
pub fn csv_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// CSV bytes: a byte-order mark (so spreadsheet programs read Chinese), the header, then the
/// rows, every text cell through [`csv_cell`].
pub fn csv_bytes<I, R, S>(head: &[&str], rows: I) -> Result<Vec<u8>, csv::Error>
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record(head)?;
    for r in rows {
        let cells: Vec<String> = r
            .into_iter()
            .map(|c| csv_cell(c.as_ref()).into_owned())
            .collect();
        w.write_record(&cells)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The CSV of a table: headers in `lang` (`zh`, `en`) or the stable field names when none
/// is asked for.
pub fn to_csv(t: &Table, lang: Option<&str>) -> Result<Vec<u8>, csv::Error> {
    let head: Vec<&str> = t
        .fields
        .iter()
        .map(|f| match lang {
            Some("zh") => f.zh,
            Some("en") => f.en,
            _ => f.name,
        })
        .collect();
    // Numbers print as numbers (a negative one is not text, so it keeps its sign).
    let rows = t.rows.iter().map(|r| {
        r.iter()
            .map(|v| match v {
                Value::Null => String::new(),
                Value::String(s) => csv_cell(s).into_owned(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
    });
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record(&head)?;
    for r in rows {
        w.write_record(&r)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The JSON of a table: `{"dataset": {...}, "fields": [{name, type, zh, en}], "rows":
/// [{name: value}]}`.
pub fn to_json(t: &Table, dataset: Value) -> Value {
    let rows: Vec<Value> = t
        .rows
        .iter()
        .map(|r| {
            Value::Object(
                t.fields
                    .iter()
                    .zip(r)
                    .map(|(f, v)| (f.name.to_string(), v.clone()))
                    .collect(),
            )
        })
        .collect();
    json!({ "dataset": dataset, "fields": t.fields, "rows": rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreadsheet_formulas_are_defused() {
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        for s in ["+1", "-1+2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(s).starts_with('\''), "{s}");
        }
        assert_eq!(csv_cell("迎泽大街 1 号"), "迎泽大街 1 号");
        let b = csv_bytes(&["a", "b"], [["=1+1", "ok"]]).unwrap();
        assert_eq!(String::from_utf8(b).unwrap(), "\u{feff}a,b\n'=1+1,ok\n");
    }
}
