//! Energy and carbon pages: the city and district overview, an entity with its meters, one
//! meter. Charts arrive drawn by the server in the page's language; each has its numbers as
//! a table and a CSV file beside it.
pub mod anomalies;
pub mod entity;
pub mod factors;
pub mod overview;
pub mod targets;
pub mod upload;

use crate::domain::energy::EnergyType;
use crate::i18n::*;
use crate::model::{Chart, Figure};
use leptos::prelude::*;

pub fn type_label(locale: Locale, code: &str) -> &'static str {
    match code {
        "heat" => td_string!(locale, energy_heat),
        "water" => td_string!(locale, energy_water),
        "gas" => td_string!(locale, energy_gas),
        _ => td_string!(locale, energy_electricity),
    }
}

fn figure_label(locale: Locale, key: &str) -> &'static str {
    match key {
        "month_carbon" => td_string!(locale, energy_fig_month_carbon),
        "ytd_carbon" => td_string!(locale, energy_fig_ytd_carbon),
        _ => td_string!(locale, energy_fig_month_total),
    }
}

/// A number for people: no decimals from 100 up, thousands grouped.
pub fn num(v: f64) -> String {
    let digits = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 1.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.digits$}");
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(a, b)| (a, b));
    let (sign, int) = int.strip_prefix('-').map_or(("", int), |i| ("-", i));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// Change against the previous value, as a signed percentage.
pub fn change(v: f64, prev: f64) -> Option<String> {
    (prev.abs() > f64::EPSILON).then(|| {
        let p = (v - prev) / prev * 100.0;
        format!("{}{:.1} %", if p >= 0.0 { "+" } else { "" }, p)
    })
}

/// Key figures with the previous period beside them (each says which period that is).
#[component]
pub fn Figures(figures: Vec<Figure>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <ul class="figures" data-testid="energy-figures">
            {figures.into_iter().map(|f| {
                let key = f.key.clone();
                let attr = f.key.clone();
                let prev = f.previous;
                let ch = prev.and_then(|p| change(f.value, p));
                let previous_label = f.previous_label.clone();
                view! {
                    <li class="figure" data-figure=attr>
                        <span class="figure-label">{move || figure_label(i18n.get_locale(), &key)}</span>
                        <span class="figure-value">{num(f.value)} " " <small>{f.unit.clone()}</small></span>
                        {prev.map(|p| view! {
                            <span class="figure-prev muted">
                                {previous_label.clone()} " " {num(p)}
                                {ch.clone().map(|c| view! { " (" {c} ")" })}
                            </span>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// The tabs of the four energy types, as links keeping the other parameters.
#[component]
pub fn TypeTabs(current: String, href: Callback<String, String>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <nav class="tabs" aria-label=move || t_string!(i18n, energy_type)>
            {EnergyType::ALL.into_iter().map(|t| {
                let code = t.code();
                let on = current == code;
                view! {
                    <a href=href.run(code.to_string()) class:active=on
                        aria-current=if on { Some("page") } else { None }
                        data-testid=format!("type-{code}")>
                        {move || type_label(i18n.get_locale(), code)}
                    </a>
                }
            }).collect_view()}
        </nav>
    }
}

/// The chart's numbers as CSV (RFC 4180), for the download link.
pub fn chart_csv(c: &Chart, first: &str) -> String {
    let esc = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    out.push_str(&esc(first));
    for col in &c.table.columns {
        out.push(',');
        out.push_str(&esc(col));
    }
    out.push_str("\r\n");
    for (label, vals) in &c.table.rows {
        out.push_str(&esc(label));
        for v in vals {
            out.push(',');
            if let Some(v) = v {
                out.push_str(&format!("{v}"));
            }
        }
        out.push_str("\r\n");
    }
    out
}

/// A chart drawn by the server, with its numbers as a table (folded) and a CSV download.
#[component]
pub fn ChartBox(chart: Chart) -> impl IntoView {
    let i18n = use_i18n();
    let csv = chart_csv(&chart, "");
    let href = format!(
        "data:text/csv;charset=utf-8,{}",
        crate::components::layout::urlencode(&format!("\u{feff}{csv}"))
    );
    let file = format!("{}.csv", chart.id);
    let Chart {
        id,
        title,
        svg,
        table,
    } = chart;
    view! {
        <figure class="chart-box" id=format!("chart-{id}") data-testid=format!("chart-{id}")>
            <div class="chart-svg" inner_html=svg></div>
            <figcaption>
                <details>
                    <summary>{t!(i18n, energy_chart_numbers)}</summary>
                    <div class="table-wrap">
                        <table class="data compact">
                            <caption class="sr-only">{title.clone()}</caption>
                            <thead><tr>
                                <th scope="col"></th>
                                {table.columns.iter().map(|c| view! { <th scope="col">{c.clone()}</th> }).collect_view()}
                            </tr></thead>
                            <tbody>
                                {table.rows.into_iter().map(|(label, vals)| view! {
                                    <tr>
                                        <th scope="row">{label}</th>
                                        {vals.into_iter().map(|v| view! {
                                            <td class="num">{v.map(num).unwrap_or_else(|| "–".into())}</td>
                                        }).collect_view()}
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                </details>
                <a class="btn btn-small" href=href download=file>{t!(i18n, energy_download_csv)}</a>
            </figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(num(1234567.4), "1,234,567");
        assert_eq!(num(-1234.0), "-1,234");
        assert_eq!(num(12.34), "12.3");
        assert_eq!(num(0.256), "0.26");
        assert_eq!(num(100.0), "100");
        assert_eq!(change(110.0, 100.0).as_deref(), Some("+10.0 %"));
        assert_eq!(change(90.0, 100.0).as_deref(), Some("-10.0 %"));
        assert_eq!(change(5.0, 0.0), None);
    }

    #[test]
    fn csv_of_a_chart_quotes_what_it_must() {
        let c = Chart {
            id: "x".into(),
            title: "t".into(),
            svg: String::new(),
            table: crate::model::ChartTable {
                columns: vec!["a,b".into(), "kWh".into()],
                rows: vec![("01".into(), vec![Some(1.5), None])],
            },
        };
        assert_eq!(chart_csv(&c, "day"), "day,\"a,b\",kWh\r\n01,1.5,\r\n");
    }
}
