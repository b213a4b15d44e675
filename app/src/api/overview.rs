//! The leadership overview and the big screen's server function. Trends and the district map
//! are drawn here, in the language the page asks for.
use crate::error::AppError;
use crate::model::Overview;
use leptos::server;

/// The city at a glance: key figures with their previous period, panels with owner and
/// freshness, trends, districts (the map shaded by `by`), ranking and the latest events.
/// Leaders and administrators.
#[server(endpoint = "overview")]
pub async fn get_overview(
    #[server(default)] by: String,
    #[server(default)] lang: String,
) -> Result<Overview, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Overview, "overview").await?;
    imp::cached(&state()?, &u, &by, &lang, crate::db::now_ms()).await
}

#[cfg(feature = "ssr")]
pub mod imp {
    use crate::charts::{self, Labels, MapDistrict, Series};
    use crate::db::overview as q;
    use crate::db::Store;
    use crate::domain::energy as e;
    use crate::error::AppError;
    use crate::i18n::Locale;
    use crate::model::{district_href, Chart, ChartTable, CurrentUser, Overview, MAP_FIGURES};
    use leptos_i18n::td_string;

    /// Everything the overview shows for `u` at `now`, read now and drawn in `lang`.
    pub async fn overview(
        store: &Store,
        u: &CurrentUser,
        by: &str,
        lang: &str,
        camera_offline_ms: i64,
        now: i64,
    ) -> Result<Overview, AppError> {
        let d = q::overview(
            store,
            q::Input {
                camera_offline_ms,
                leader: u,
            },
            now,
        )
        .await?;
        Ok(draw(d, by, lang))
    }

    /// As [`overview`], with the figures of the app server's cache (at most
    /// `db::overview::CACHE_MS` old, "as of" when they were read) and the feed read now.
    pub async fn cached(
        st: &crate::state::AppState,
        u: &CurrentUser,
        by: &str,
        lang: &str,
        now: i64,
    ) -> Result<Overview, AppError> {
        let input = q::Input {
            camera_offline_ms: st.config.camera_offline_ms,
            leader: u,
        };
        let c = st.overview.get(&st.store, input, now).await?;
        let mut d = (*c.data).clone();
        d.overview.feed = q::feed(&st.store, now).await?;
        Ok(draw(d, by, lang))
    }

    /// The charts and the map of `d` in `lang`, the map shaded by `by`.
    fn draw(d: q::Data, by: &str, lang: &str) -> Overview {
        let l = crate::machine::locale(Some(lang));
        let mut o = d.overview;
        let by = if MAP_FIGURES.contains(&by) {
            by
        } else {
            "open"
        };
        o.by = by.to_string();
        let month_first = format!("{}-01", o.ranking_month);
        for f in &mut o.districts {
            f.href = district_href(by, &f.code, &month_first);
        }
        let x: Vec<String> = d
            .days
            .iter()
            .map(|&day| {
                let (_, m, dd) = e::civil(day);
                format!("{m:02}-{dd:02}")
            })
            .collect();
        let labels = |title: &str, y: &str| Labels {
            title: title.to_string(),
            x: td_string!(l, overview_date).to_string(),
            y: y.to_string(),
            empty: td_string!(l, energy_no_data).to_string(),
        };
        let chart = |id: &str, title: &str, y: &str, series: Vec<Series>| {
            let svg = charts::time_series(&labels(title, y), &x, &series);
            Chart {
                id: id.into(),
                title: title.into(),
                svg,
                table: ChartTable {
                    columns: series.iter().map(|s| s.name.clone()).collect(),
                    rows: x
                        .iter()
                        .enumerate()
                        .map(|(i, b)| {
                            (
                                b.clone(),
                                series
                                    .iter()
                                    .map(|s| s.values.get(i).copied().filter(|v| !v.is_nan()))
                                    .collect(),
                            )
                        })
                        .collect(),
                },
            }
        };
        o.trends = vec![
            chart(
                "cases",
                td_string!(l, overview_trend_cases),
                td_string!(l, overview_unit_cases),
                vec![
                    Series {
                        name: td_string!(l, overview_series_new).into(),
                        values: d.new_cases,
                    },
                    Series {
                        name: td_string!(l, overview_series_closed).into(),
                        values: d.closed_cases,
                    },
                ],
            ),
            chart(
                "alerts",
                td_string!(l, overview_trend_alerts),
                td_string!(l, overview_unit_alerts),
                vec![
                    Series {
                        name: td_string!(l, overview_series_alerts).into(),
                        values: d.alerts,
                    },
                    Series {
                        name: td_string!(l, overview_series_critical).into(),
                        values: d.critical,
                    },
                ],
            ),
            chart(
                "energy",
                td_string!(l, overview_trend_energy),
                "kWh",
                vec![Series {
                    name: td_string!(l, energy_electricity).into(),
                    values: d.electricity,
                }],
            ),
        ];
        let en = l == Locale::en;
        let value = |f: &crate::model::DistrictFigures| match o.by.as_str() {
            "overdue" => f.overdue,
            "new_month" => f.new_month,
            "alerts" => f.alerts,
            _ => f.open,
        } as f64;
        let districts: Vec<MapDistrict> = o
            .districts
            .iter()
            .map(|f| MapDistrict {
                name: if en {
                    f.name_en.clone()
                } else {
                    f.name_zh.clone()
                },
                value: value(f),
                href: f.href.clone(),
            })
            .collect();
        let cells: Vec<(i64, i64, usize)> = crate::db::grids::lattice()
            .into_iter()
            .map(|c| (c.col, c.row, c.district))
            .collect();
        let title = format!(
            "{} · {}",
            td_string!(l, overview_map),
            crate::pages::overview::by_label(l, &o.by)
        );
        o.map_svg = charts::district_map(&title, "", &cells, &districts);
        o
    }
}
