use crate::api::cases::map_cells;
use crate::components::forms::LoadError;
use crate::components::layout::{pick, Loading, RequireArea};
use crate::domain::Area;
use crate::i18n::*;
use crate::model::GridCell;
use crate::pages::admin::qp;
use leptos::prelude::*;
use leptos_meta::Title;

/// Shades from pale to deep for 0..=max.
fn shade(v: i64, max: i64, overdue: bool) -> String {
    if v == 0 {
        return "#f1f4f8".into();
    }
    let t = (v as f64 / max.max(1) as f64).sqrt();
    let (h, s) = if overdue { (4.0, 75.0) } else { (214.0, 70.0) };
    let l = 88.0 - t * 50.0;
    format!("hsl({h} {s}% {l:.0}%)")
}

/// The unit grid drawn as SVG, each cell shaded by its open or overdue cases; a click opens
/// the case list filtered to that cell.
#[component]
pub fn MapPage() -> impl IntoView {
    let i18n = use_i18n();
    let metric = qp("metric");
    let cells = Resource::new(|| (), |_| map_cells());
    view! {
        <Title text=move || t_string!(i18n, nav_map).to_string() />
        <RequireArea area=Area::Cases>
            <header class="page-head row">
                <h1>{t!(i18n, nav_map)}</h1>
                <nav class="seg" aria-label=move || t_string!(i18n, map_metric)>
                    <a href="/cases/map" class:active=move || metric() != "overdue" data-testid="metric-open">{t!(i18n, map_open)}</a>
                    <a href="/cases/map?metric=overdue" class:active=move || metric() == "overdue" data-testid="metric-overdue">{t!(i18n, map_overdue)}</a>
                </nav>
            </header>
            <p class="muted">{t!(i18n, map_intro)}</p>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match cells.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(list) => view! { <GridMap list overdue=metric() == "overdue" /> }.into_any(),
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

#[component]
fn GridMap(list: Vec<GridCell>, overdue: bool) -> impl IntoView {
    let i18n = use_i18n();
    let rows = list.iter().map(|c| c.row).max().unwrap_or(0) + 1;
    let cols = list.iter().map(|c| c.col).max().unwrap_or(0) + 1;
    let value = move |c: &GridCell| if overdue { c.overdue } else { c.open };
    let max = list.iter().map(value).max().unwrap_or(0);
    const S: i64 = 10;
    let y = move |row: i64| (rows - 1 - row) * S;
    // District borders: an edge where the neighbour lies in another district (or outside).
    let district_at: std::collections::HashMap<(i64, i64), String> = list
        .iter()
        .map(|c| ((c.col, c.row), c.district_code.clone()))
        .collect();
    let mut border = String::new();
    for c in &list {
        let (x0, y0) = (c.col * S, y(c.row));
        let other =
            |dc: i64, dr: i64| district_at.get(&(c.col + dc, c.row + dr)) != Some(&c.district_code);
        if other(0, 1) {
            border.push_str(&format!("M{x0} {y0}h{S}"));
        }
        if other(0, -1) {
            border.push_str(&format!("M{x0} {}h{S}", y0 + S));
        }
        if other(-1, 0) {
            border.push_str(&format!("M{x0} {y0}v{S}"));
        }
        if other(1, 0) {
            border.push_str(&format!("M{} {y0}v{S}", x0 + S));
        }
    }
    // Per-district totals, as a table beside the map (the map's numbers for screen readers).
    let mut totals: Vec<(String, String, String, i64, i64, i64, i64)> = Vec::new();
    for c in &list {
        match totals.iter_mut().find(|t| t.0 == c.district_code) {
            Some(t) => {
                t.3 += c.open;
                t.4 += c.overdue;
                t.5 += 1;
                t.6 = t.6.min(c.col * 1000 - c.row);
            }
            None => totals.push((
                c.district_code.clone(),
                c.district_zh.clone(),
                c.district_en.clone(),
                c.open,
                c.overdue,
                1,
                0,
            )),
        }
    }
    // District labels at the centre of their cells.
    let labels: Vec<(f64, f64, String, String)> = totals
        .iter()
        .map(|t| {
            let mine: Vec<&GridCell> = list.iter().filter(|c| c.district_code == t.0).collect();
            let n = mine.len().max(1) as f64;
            let cx = mine.iter().map(|c| (c.col * S + S / 2) as f64).sum::<f64>() / n;
            let cy = mine.iter().map(|c| (y(c.row) + S / 2) as f64).sum::<f64>() / n;
            (cx, cy, t.1.clone(), t.2.clone())
        })
        .collect();
    let cells = list.into_iter().map(|c| {
        let v = value(&c);
        let fill = shade(v, max, overdue);
        let href = format!("/cases?grid={}&state=open{}", c.code, if overdue { "&overdue=1" } else { "" });
        let title = {
            let c = c.clone();
            move || format!(
                "{} · {} · {}\n{} {} · {} {}",
                c.code,
                pick(i18n.get_locale(), &c.district_zh, &c.district_en),
                pick(i18n.get_locale(), &c.street_zh, &c.street_en),
                t_string!(i18n, map_open), c.open, t_string!(i18n, map_overdue), c.overdue
            )
        };
        view! {
            <a href=href data-grid=c.code.clone() data-count=v>
                <rect x=c.col * S y=y(c.row) width=S height=S fill=fill class="cell"><title>{title}</title></rect>
            </a>
        }
    }).collect_view();
    let (w, h) = (cols * S, rows * S);
    view! {
        <div class="map-layout">
            <figure class="map-figure">
                <svg viewBox=format!("-2 -2 {} {}", w + 4, h + 4) role="img" class="grid-map" data-testid="grid-map"
                    aria-label=move || t_string!(i18n, nav_map)>
                    {cells}
                    <path d=border class="district-border" />
                    {labels.into_iter().map(|(x, y, zh, en)| view! {
                        <text x=x y=y class="district-label" text-anchor="middle">{move || pick(i18n.get_locale(), &zh, &en)}</text>
                    }).collect_view()}
                </svg>
                <figcaption class="legend">
                    <svg class="swatch" width="18" height="12" aria-hidden="true"><rect width="18" height="12" fill=shade(0, max, overdue) /></svg> "0"
                    <svg class="swatch" width="18" height="12" aria-hidden="true"><rect width="18" height="12" fill=shade((max / 4).max(1), max, overdue) /></svg>
                    <svg class="swatch" width="18" height="12" aria-hidden="true"><rect width="18" height="12" fill=shade((max / 2).max(1), max, overdue) /></svg>
                    <svg class="swatch" width="18" height="12" aria-hidden="true"><rect width="18" height="12" fill=shade(max, max, overdue) /></svg> {max}
                    " " {move || if overdue { t_string!(i18n, map_overdue) } else { t_string!(i18n, map_open) }}
                </figcaption>
            </figure>
            <table class="table compact" data-testid="district-totals">
                <thead><tr>
                    <th scope="col">{t!(i18n, case_district)}</th>
                    <th scope="col" class="num">{t!(i18n, map_cells)}</th>
                    <th scope="col" class="num">{t!(i18n, map_open)}</th>
                    <th scope="col" class="num">{t!(i18n, map_overdue)}</th>
                </tr></thead>
                <tbody>
                    {totals.into_iter().map(|t| view! {
                        <tr>
                            <td><a href=format!("/cases?district={}&state=open", t.0)>{move || pick(i18n.get_locale(), &t.1, &t.2)}</a></td>
                            <td class="num">{t.5}</td>
                            <td class="num">{t.3}</td>
                            <td class="num">{t.4}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
