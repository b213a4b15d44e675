//! Energy pages' server functions. Charts are drawn here (plotters, server only) in the
//! language the page asks for, and sent with their numbers.
use crate::error::AppError;
use crate::model::{EnergyOverview, EntityView, MeterView};

use leptos::server;

/// The city (empty `district`) or one district: figures, charts and consumers of `month`
/// (yyyy-mm, default this month) for `energy_type` (default electricity).
#[server(endpoint = "energy/overview")]
pub async fn get_energy_overview(
    #[server(default)] district: String,
    #[server(default)] energy_type: String,
    #[server(default)] month: String,
    #[server(default)] lang: String,
) -> Result<EnergyOverview, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Energy, "energy.overview").await?;
    let st = state()?;
    imp::overview(&st.store, &u, &district, &energy_type, &month, &lang).await
}

/// One entity: its meters (sub-meters under their parent) and charts.
#[server(endpoint = "energy/entity")]
pub async fn get_energy_entity(
    id: i64,
    #[server(default)] energy_type: String,
    #[server(default)] month: String,
    #[server(default)] lang: String,
) -> Result<EntityView, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Energy, "energy.entity").await?;
    let st = state()?;
    imp::entity(&st.store, &u, id, &energy_type, &month, &lang).await
}

/// One meter: its last seven days hour by hour, its days of the last year, its corrections.
#[server(endpoint = "energy/meter")]
pub async fn get_energy_meter(
    id: i64,
    #[server(default)] lang: String,
) -> Result<MeterView, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Energy, "energy.meter").await?;
    let st = state()?;
    imp::meter(&st.store, &u, id, &lang).await
}

#[cfg(feature = "ssr")]
mod imp {
    use crate::charts::{self, Labels, Series};
    use crate::db::energy as q;
    use crate::db::{fmt_local, now_ms, Store};
    use crate::domain::energy::{self as e, EnergyType, DAY_MS, HOUR_MS};
    use crate::error::AppError;
    use crate::i18n::Locale;
    use crate::model::{
        Chart, ChartTable, CurrentUser, DistrictRow, EnergyOverview, EntityView, Figure, MeterView,
    };
    use leptos_i18n::td_string;

    fn locale(lang: &str) -> Locale {
        crate::machine::locale(Some(lang))
    }

    fn energy_type(s: &str) -> EnergyType {
        EnergyType::from_code(s).unwrap_or(EnergyType::Electricity)
    }

    fn type_name(l: Locale, t: EnergyType) -> String {
        match t {
            EnergyType::Electricity => td_string!(l, energy_electricity),
            EnergyType::Heat => td_string!(l, energy_heat),
            EnergyType::Water => td_string!(l, energy_water),
            EnergyType::Gas => td_string!(l, energy_gas),
        }
        .to_string()
    }

    fn labels(l: Locale, title: String, x: &str, y: &str) -> Labels {
        Labels {
            title,
            x: x.to_string(),
            y: y.to_string(),
            empty: td_string!(l, energy_no_data).to_string(),
        }
    }

    /// `mm-dd` of a local day.
    fn day_label(day: i64) -> String {
        let (_, m, d) = e::civil(day);
        format!("{m:02}-{d:02}")
    }

    fn district_name(l: Locale, code: &str) -> String {
        crate::db::grids::DISTRICTS
            .iter()
            .find(|d| d.0 == code)
            .map(|d| if l == Locale::en { d.2 } else { d.1 })
            .unwrap_or(code)
            .to_string()
    }

    fn table(columns: Vec<String>, rows: Vec<(String, Vec<Option<f64>>)>) -> ChartTable {
        ChartTable { columns, rows }
    }

    /// One series over time buckets (`NaN`: no data), with its numbers.
    fn series_chart(
        id: &str,
        labels: Labels,
        x: Vec<String>,
        name: String,
        values: Vec<f64>,
    ) -> Chart {
        let svg = charts::time_series(
            &labels,
            &x,
            &[Series {
                name,
                values: values.clone(),
            }],
        );
        Chart {
            id: id.into(),
            title: labels.title,
            table: table(
                vec![labels.y.clone()],
                x.into_iter()
                    .zip(values.iter().map(|v| vec![(!v.is_nan()).then_some(*v)]))
                    .collect(),
            ),
            svg,
        }
    }

    /// Daily chart of a month against the previous month, day by day.
    fn compare_chart(
        l: Locale,
        t: EnergyType,
        month: i64,
        cur: &std::collections::HashMap<i64, f64>,
        prev: &std::collections::HashMap<i64, f64>,
    ) -> Chart {
        let days = q::month_days(month);
        let pdays = q::month_days(q::prev_month(month));
        let n = (days.end - days.start).max(pdays.end - pdays.start);
        let x: Vec<String> = (1..=n).map(|d| d.to_string()).collect();
        let nan = f64::NAN;
        let cur_v: Vec<f64> = (0..n)
            .map(|i| cur.get(&(days.start + i)).copied().unwrap_or(nan))
            .collect();
        let prev_v: Vec<f64> = (0..n)
            .map(|i| prev.get(&(pdays.start + i)).copied().unwrap_or(nan))
            .collect();
        let title = format!(
            "{} · {}",
            td_string!(l, energy_chart_compare),
            type_name(l, t)
        );
        let cs = Series {
            name: q::month_label(month),
            values: cur_v.clone(),
        };
        let ps = Series {
            name: q::month_label(q::prev_month(month)),
            values: prev_v.clone(),
        };
        let svg = charts::compare(
            &labels(
                l,
                title.clone(),
                td_string!(l, energy_day_of_month),
                t.unit(),
            ),
            &x,
            &cs,
            &ps,
        );
        let some = |v: f64| (!v.is_nan()).then_some(v);
        Chart {
            id: "compare".into(),
            title,
            svg,
            table: table(
                vec![cs.name.clone(), ps.name.clone()],
                x.iter()
                    .enumerate()
                    .map(|(i, d)| (d.clone(), vec![some(cur_v[i]), some(prev_v[i])]))
                    .collect(),
            ),
        }
    }

    /// Hour-by-day heatmap of the last 28 days to `until` (exclusive, a day start).
    fn heatmap_chart(
        l: Locale,
        t: EnergyType,
        last_day: i64,
        hours: &std::collections::HashMap<i64, f64>,
    ) -> Chart {
        let days: Vec<i64> = (last_day - 27..=last_day).collect();
        let rows: Vec<Vec<Option<f64>>> = days
            .iter()
            .map(|d| {
                (0..24)
                    .map(|h| hours.get(&(e::day_start(*d) + h * HOUR_MS)).copied())
                    .collect()
            })
            .collect();
        let weekday = |d: i64| -> String {
            // Day 0 (1970-01-01) was a Thursday.
            let w = (d + 3).rem_euclid(7) as usize;
            if l == Locale::en {
                ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][w].to_string()
            } else {
                ["周一", "周二", "周三", "周四", "周五", "周六", "周日"][w].to_string()
            }
        };
        let row_labels: Vec<String> = days
            .iter()
            .map(|d| format!("{} {}", day_label(*d), weekday(*d)))
            .collect();
        let title = format!(
            "{} · {}",
            td_string!(l, energy_chart_heatmap),
            type_name(l, t)
        );
        let svg = charts::heatmap(
            &labels(
                l,
                title.clone(),
                td_string!(l, energy_hour_of_day),
                t.unit(),
            ),
            &row_labels,
            &rows,
        );
        Chart {
            id: "heatmap".into(),
            title,
            svg,
            table: table(
                (0..24).map(|h| format!("{h:02}")).collect(),
                row_labels.into_iter().zip(rows).collect(),
            ),
        }
    }

    pub async fn overview(
        store: &Store,
        u: &CurrentUser,
        district: &str,
        ty: &str,
        month: &str,
        lang: &str,
    ) -> Result<EnergyOverview, AppError> {
        let l = locale(lang);
        let t = energy_type(ty);
        let now = now_ms();
        let scope = q::scope(store, u, "energy overview").await?;
        let district = if crate::db::grids::DISTRICTS.iter().any(|d| d.0 == district) {
            Some(district)
        } else if district.is_empty() {
            None
        } else {
            return Err(AppError::NotFound);
        };
        let month = q::month_key(month, now);
        let prev = q::prev_month(month);
        let days = q::month_days(month);
        let pdays = q::month_days(prev);
        let cur = q::daily(store, district, t, days.clone()).await?;
        let before = q::daily(store, district, t, pdays.clone()).await?;
        let total = |m: &std::collections::HashMap<i64, (f64, f64)>| -> (f64, f64) {
            m.values().fold((0.0, 0.0), |a, v| (a.0 + v.0, a.1 + v.1))
        };
        // A month still under way is compared with the same days of the month before (and the
        // year so far with the same days of last year), not with whole periods.
        let today = e::local_day(now);
        let elapsed = if days.contains(&today) {
            today - days.start + 1
        } else {
            days.end - days.start
        };
        let partial = elapsed < days.end - days.start;
        let (cur_total, _) = total(&cur);
        let prev_total: f64 = before
            .iter()
            .filter(|(d, _)| !partial || **d < pdays.start + elapsed)
            .map(|(_, v)| v.0)
            .sum();
        // Carbon of every energy type, from the daily rollups.
        let until = days.start + elapsed;
        let (y, _, _) = e::civil(days.start);
        let jan1 = e::days_from_civil(y, 1, 1);
        let (_, m_end, d_end) = e::civil(until - 1);
        let last_year_until = e::days_from_civil(y - 1, m_end, d_end.min(28))
            + i64::from(d_end.saturating_sub(28))
            + 1;
        let carbon = |from: i64, to: i64| q::carbon_between(store, district, from, to);
        let month_carbon = carbon(days.start, until).await? / 1000.0;
        let prev_carbon = carbon(
            pdays.start,
            if partial {
                pdays.start + elapsed
            } else {
                pdays.end
            },
        )
        .await?
            / 1000.0;
        let ytd = carbon(jan1, until).await? / 1000.0;
        let ytd_prev = carbon(e::days_from_civil(y - 1, 1, 1), last_year_until).await? / 1000.0;
        let prev_label = if partial {
            format!(
                "{} ({})",
                td_string!(l, energy_same_days_last_month),
                q::month_label(prev)
            )
        } else {
            q::month_label(prev)
        };
        let figures = vec![
            Figure {
                key: "month_total".into(),
                value: cur_total,
                previous: Some(prev_total),
                previous_label: prev_label.clone(),
                unit: t.unit().into(),
            },
            Figure {
                key: "month_carbon".into(),
                value: month_carbon,
                previous: Some(prev_carbon),
                previous_label: prev_label,
                unit: "t CO₂".into(),
            },
            Figure {
                key: "ytd_carbon".into(),
                value: ytd,
                previous: Some(ytd_prev),
                previous_label: td_string!(l, energy_same_period_last_year).to_string(),
                unit: "t CO₂".into(),
            },
        ];
        let mut charts = Vec::new();
        // This month against the previous one, day by day.
        let cur_v: std::collections::HashMap<i64, f64> =
            cur.iter().map(|(d, v)| (*d, v.0)).collect();
        let prev_v: std::collections::HashMap<i64, f64> =
            before.iter().map(|(d, v)| (*d, v.0)).collect();
        charts.push(compare_chart(l, t, month, &cur_v, &prev_v));
        // Twelve months by district, stacked.
        let first = {
            let mut m = month;
            for _ in 0..11 {
                m = q::prev_month(m);
            }
            m
        };
        let by_district = q::monthly_by_district(store, Some(t), first, month).await?;
        let mut months = vec![first];
        while *months.last().unwrap_or(&month) < month {
            let m = *months.last().unwrap_or(&month);
            months.push(if m % 100 == 12 {
                (m / 100 + 1) * 100 + 1
            } else {
                m + 1
            });
        }
        let x: Vec<String> = months.iter().map(|m| q::month_label(*m)).collect();
        let shown: Vec<&crate::db::grids::District> = crate::db::grids::DISTRICTS
            .iter()
            .filter(|d| district.is_none_or(|x| x == d.0))
            .collect();
        let series: Vec<Series> = shown
            .iter()
            .map(|d| Series {
                name: if l == Locale::en { d.2 } else { d.1 }.to_string(),
                values: months
                    .iter()
                    .map(|m| by_district.get(&(d.0.to_string(), *m)).map_or(0.0, |v| v.0))
                    .collect(),
            })
            .collect();
        let title = format!(
            "{} · {}",
            td_string!(l, energy_chart_districts),
            type_name(l, t)
        );
        let svg = charts::stacked_bars(
            &labels(l, title.clone(), td_string!(l, energy_month), t.unit()),
            &x,
            &series,
        );
        charts.push(Chart {
            id: "districts".into(),
            title,
            svg,
            table: table(
                series.iter().map(|s| s.name.clone()).collect(),
                x.iter()
                    .enumerate()
                    .map(|(i, m)| {
                        (
                            m.clone(),
                            series.iter().map(|s| Some(s.values[i])).collect(),
                        )
                    })
                    .collect(),
            ),
        });
        // Top consumers.
        let top = q::top_entities(store, scope, district, t, month, 10).await?;
        let names: Vec<String> = top
            .iter()
            .map(|x| {
                if l == Locale::en {
                    x.name_en.clone()
                } else {
                    x.name_zh.clone()
                }
            })
            .collect();
        let values: Vec<f64> = top.iter().map(|x| x.value).collect();
        let title = format!("{} · {}", td_string!(l, energy_chart_top), type_name(l, t));
        let svg = charts::top_bars(
            &labels(l, title.clone(), &q::month_label(month), t.unit()),
            &names,
            &values,
        );
        charts.push(Chart {
            id: "top".into(),
            title,
            svg,
            table: table(
                vec![t.unit().to_string()],
                names
                    .iter()
                    .cloned()
                    .zip(values.iter().map(|v| vec![Some(*v)]))
                    .collect(),
            ),
        });
        // The last 28 days hour by hour, up to the end of the month shown (or today).
        let today = e::local_day(now);
        let last_day = (days.end - 1).min(today);
        let since = e::day_start(last_day - 27);
        let hours = q::hourly(store, district, t, since, e::day_start(last_day + 1)).await?;
        charts.push(heatmap_chart(l, t, last_day, &hours));
        let districts = if district.is_none() {
            let prev_by = q::monthly_by_district(store, Some(t), prev, prev).await?;
            crate::db::grids::DISTRICTS
                .iter()
                .map(|d| {
                    let (v, c) = by_district
                        .get(&(d.0.to_string(), month))
                        .copied()
                        .unwrap_or((0.0, 0.0));
                    DistrictRow {
                        code: d.0.into(),
                        name_zh: d.1.into(),
                        name_en: d.2.into(),
                        value: v,
                        previous: prev_by.get(&(d.0.to_string(), prev)).map_or(0.0, |x| x.0),
                        carbon_kg: c,
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let entities = if district.is_some() {
            q::top_entities(store, scope, district, t, month, 200).await?
        } else {
            top
        };
        let (dz, de) = district.map_or((String::new(), String::new()), |d| {
            (district_name(Locale::zh, d), district_name(Locale::en, d))
        });
        Ok(EnergyOverview {
            district: district.unwrap_or("").into(),
            district_zh: dz,
            district_en: de,
            energy_type: t.code().into(),
            unit: t.unit().into(),
            month: q::month_label(month),
            previous_month: q::month_label(prev),
            figures,
            charts,
            districts,
            entities,
            latest_reading: q::latest_reading(store, scope).await?.map(fmt_local),
            can_edit: q::may_edit(store, u).await?,
        })
    }

    pub async fn entity(
        store: &Store,
        u: &CurrentUser,
        id: i64,
        ty: &str,
        month: &str,
        lang: &str,
    ) -> Result<EntityView, AppError> {
        let l = locale(lang);
        let now = now_ms();
        let scope = q::scope(store, u, &format!("entity {id}")).await?;
        let month = q::month_key(month, now);
        let meters = q::meters_of(store, id, month).await?;
        // The type shown: the one asked for, else the entity's first meter's.
        let t = EnergyType::from_code(ty)
            .or_else(|| {
                meters
                    .first()
                    .and_then(|m| EnergyType::from_code(&m.energy_type))
            })
            .unwrap_or(EnergyType::Electricity);
        let ent = q::entity(store, scope, id, t, month).await?;
        let days = q::month_days(month);
        let today = e::local_day(now);
        let last_day = (days.end - 1).min(today);
        let mut charts = Vec::new();
        // The last seven days hour by hour.
        let since = e::day_start(last_day - 6);
        let until = e::day_start(last_day + 1);
        let hours = q::entity_hourly(store, id, t, e::day_start(last_day - 27), until).await?;
        let hs: Vec<i64> = (0..(until - since) / HOUR_MS)
            .map(|i| since + i * HOUR_MS)
            .collect();
        let x: Vec<String> = hs
            .iter()
            .map(|h| {
                let d = e::local_day(*h);
                format!("{} {:02}:00", day_label(d), e::local_hour(*h))
            })
            .collect();
        let vals: Vec<f64> = hs
            .iter()
            .map(|h| hours.get(h).copied().unwrap_or(f64::NAN))
            .collect();
        let title = format!(
            "{} · {}",
            td_string!(l, energy_chart_hourly),
            type_name(l, t)
        );
        charts.push(series_chart(
            "hourly",
            labels(l, title, td_string!(l, energy_hour), t.unit()),
            x,
            type_name(l, t),
            vals,
        ));
        let cur = q::entity_daily(store, id, t, days.clone()).await?;
        let prev = q::entity_daily(store, id, t, q::month_days(q::prev_month(month))).await?;
        charts.push(compare_chart(l, t, month, &cur, &prev));
        charts.push(heatmap_chart(l, t, last_day, &hours));
        let unmetered = q::unmetered(&meters);
        Ok(EntityView {
            entity: ent,
            month: q::month_label(month),
            meters,
            unmetered,
            charts,
            energy_type: t.code().into(),
        })
    }

    pub async fn anomaly(
        store: &Store,
        u: &CurrentUser,
        id: i64,
        lang: &str,
    ) -> Result<crate::model::AnomalyView, AppError> {
        let l = locale(lang);
        let (a, series) = crate::db::energy_anomalies::get(store, u, id).await?;
        let t = energy_type(&a.energy_type);
        let x: Vec<String> = series
            .iter()
            .map(|(h, _, _)| {
                format!(
                    "{} {:02}:00",
                    day_label(e::local_day(*h)),
                    e::local_hour(*h)
                )
            })
            .collect();
        let nan = f64::NAN;
        let seen: Vec<f64> = series.iter().map(|s| s.1.unwrap_or(nan)).collect();
        let usual: Vec<f64> = series.iter().map(|s| s.2.unwrap_or(nan)).collect();
        let title = format!(
            "{} · {}",
            td_string!(l, energy_chart_evidence),
            type_name(l, t)
        );
        let cur = Series {
            name: td_string!(l, energy_series_observed).to_string(),
            values: seen.clone(),
        };
        let prev = Series {
            name: td_string!(l, energy_series_usual).to_string(),
            values: usual.clone(),
        };
        let svg = charts::compare(
            &labels(l, title.clone(), td_string!(l, energy_hour), t.unit()),
            &x,
            &cur,
            &prev,
        );
        let some = |v: f64| (!v.is_nan()).then_some(v);
        let evidence = Chart {
            id: "evidence".into(),
            title,
            svg,
            table: table(
                vec![cur.name.clone(), prev.name.clone()],
                x.into_iter()
                    .enumerate()
                    .map(|(i, lbl)| (lbl, vec![some(seen[i]), some(usual[i])]))
                    .collect(),
            ),
        };
        let can_edit = q::may_edit(store, u).await?;
        let cx = crate::db::energy_anomalies::case_context(store, &a).await?;
        let classes = if can_edit && a.state == "open" && cx.grid_code.is_some() {
            crate::db::catalogue::list(store)
                .await?
                .into_iter()
                .filter(|c| c.active)
                .collect()
        } else {
            Vec::new()
        };
        let (case_code, case_state) = cx.case.unzip();
        Ok(crate::model::AnomalyView {
            anomaly: a,
            evidence,
            can_edit,
            department_zh: cx.department.1,
            department_en: cx.department.2,
            grid_code: cx.grid_code,
            classes,
            suggested_class: cx.suggested_class,
            case_code,
            case_state,
            may_cases: u.role.may_open(crate::domain::Area::Cases),
        })
    }

    pub async fn meter(
        store: &Store,
        u: &CurrentUser,
        id: i64,
        lang: &str,
    ) -> Result<MeterView, AppError> {
        let l = locale(lang);
        let now = now_ms();
        let scope = q::scope(store, u, &format!("meter {id}")).await?;
        let month = q::month_key("", now);
        let (row, entity_id, zh, en, parent_code) = q::meter(store, scope, id, month).await?;
        let t = energy_type(&row.energy_type);
        let step = row.interval_minutes.max(1) * 60_000;
        let until = now - now.rem_euclid(step);
        let since = e::hour_start(until - 7 * DAY_MS);
        let readings = q::meter_readings(store, id, since, until).await?;
        let mut charts = Vec::new();
        let map: std::collections::HashMap<i64, f64> = readings.iter().copied().collect();
        let ts: Vec<i64> = (0..(until - since) / step)
            .map(|i| since + i * step)
            .collect();
        let x: Vec<String> = ts
            .iter()
            .map(|s| {
                let d = e::local_day(*s);
                let mins = ((s + e::OFFSET_MS).rem_euclid(DAY_MS)) / 60_000;
                format!("{} {:02}:{:02}", day_label(d), mins / 60, mins % 60)
            })
            .collect();
        let vals: Vec<f64> = ts
            .iter()
            .map(|s| map.get(s).copied().unwrap_or(f64::NAN))
            .collect();
        charts.push(series_chart(
            "readings",
            labels(
                l,
                td_string!(l, energy_chart_readings).to_string(),
                td_string!(l, energy_interval),
                t.unit(),
            ),
            x,
            row.code.clone(),
            vals,
        ));
        let today = e::local_day(now);
        let daily = q::meter_daily(store, id, today - 365..today + 1).await?;
        let dd: Vec<i64> = (today - 365..=today).collect();
        let x: Vec<String> = dd
            .iter()
            .map(|d| {
                let (y, m, dd) = e::civil(*d);
                format!("{y}-{m:02}-{dd:02}")
            })
            .collect();
        let vals: Vec<f64> = dd
            .iter()
            .map(|d| daily.get(d).copied().unwrap_or(f64::NAN))
            .collect();
        charts.push(series_chart(
            "daily",
            labels(
                l,
                td_string!(l, energy_chart_daily_year).to_string(),
                td_string!(l, energy_day),
                t.unit(),
            ),
            x,
            row.code.clone(),
            vals,
        ));
        Ok(MeterView {
            corrections: q::corrections(store, id).await?,
            meter: row,
            entity_id,
            entity_zh: zh,
            entity_en: en,
            parent_code,
            charts,
        })
    }
}

/// Anomalies the caller may read, in `state` (open, case_opened, dismissed; all when empty).
#[server(endpoint = "energy/anomalies")]
pub async fn list_anomalies(
    #[server(default)] state: String,
) -> Result<Vec<crate::model::AnomalyRow>, AppError> {
    use crate::auth::{require, state as app_state};
    let u = require(crate::domain::Area::Energy, "energy.anomalies").await?;
    crate::db::energy_anomalies::list(&app_state()?.store, &u, &state).await
}

/// One anomaly with its evidence chart.
#[server(endpoint = "energy/anomaly")]
pub async fn get_anomaly(
    id: i64,
    #[server(default)] lang: String,
) -> Result<crate::model::AnomalyView, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Energy, "energy.anomaly").await?;
    imp::anomaly(&state()?.store, &u, id, &lang).await
}

/// Opens a case from an open anomaly (energy office analysts): the class chosen from the
/// catalogue, routed to the entity's maintaining department; returns the case's id.
#[server(endpoint = "energy/anomaly/case")]
pub async fn open_anomaly_case(
    id: i64,
    #[server(default)] class_id: Option<i64>,
    #[server(default)] description: String,
) -> Result<i64, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Energy, "energy.anomaly.case").await?;
    let (case_id, _) =
        crate::db::energy_anomalies::open_case(&state()?.store, &u, id, class_id, &description)
            .await?;
    Ok(case_id)
}

/// Dismisses an open anomaly (energy office analysts).
#[server(endpoint = "energy/anomaly/dismiss")]
pub async fn dismiss_anomaly(id: i64) -> Result<(), AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Energy, "energy.anomaly.dismiss").await?;
    crate::db::energy_anomalies::dismiss(&state()?.store, &u, id).await
}
