//! The leadership overview (`/overview`) and the command centre's big screen (`/wall`): the
//! same figures, one as a page that scrolls and drills down, one as a dark 1920×1080 wall
//! that rotates its panels and reloads when a case or alert comes in.
use crate::api::overview::get_overview;
use crate::components::forms::LoadError;
use crate::components::layout::{pick, use_auth, Loading, RequireArea};
use crate::domain::Area;
use crate::i18n::*;
use crate::model::{district_href, FeedItem, KeyFigure, Overview, Panel, RankRow, MAP_FIGURES};
use crate::pages::admin::qp;
use crate::pages::energy::{num, ChartBox};
use crate::pages::skyeye::{use_live, LiveIndicator};
use leptos::prelude::*;
use leptos_meta::Title;

fn lang(l: Locale) -> String {
    if l == Locale::en { "en" } else { "zh" }.into()
}

/// A figure's value for people: rates with one decimal and "%", counts grouped.
pub fn show(v: Option<f64>, unit: &str) -> String {
    match v {
        None => "—".into(),
        Some(x) if unit == "%" => format!("{x:.1} %"),
        // Counts are whole.
        Some(x) if unit.is_empty() => {
            let n = x.round();
            if n.abs() < 100.0 {
                format!("{n:.0}")
            } else {
                num(n)
            }
        }
        Some(x) => num(x),
    }
}

/// The change from the previous figure and whether it is good news: rates in percentage
/// points (`pt`, the unit in the page's language), volumes of energy and carbon in per cent,
/// counts as a difference. `targets_total` is not an earlier figure (it is how many targets
/// there are), so it has no change.
pub fn delta(f: &KeyFigure, pt: &str) -> Option<(String, &'static str)> {
    if f.previous_kind == "targets_total" {
        return None;
    }
    let (v, p) = (f.value?, f.previous?);
    let d = v - p;
    let text = match f.unit.as_str() {
        "%" => format!("{d:+.1} {pt}"),
        "kWh" | "t" => {
            if p.abs() < f64::EPSILON {
                return None;
            }
            format!("{:+.1} %", d / p * 100.0)
        }
        _ => format!("{:+}", d.round() as i64),
    };
    let class = if d.abs() < 1e-9 {
        "flat"
    } else {
        match f.lower_better {
            None => "flat",
            Some(lower) if (d < 0.0) == lower => "good",
            Some(_) => "bad",
        }
    };
    Some((text, class))
}

fn figure_label(l: Locale, key: &str) -> &'static str {
    match key {
        "cases_new_today" => td_string!(l, fig_cases_new_today),
        "cases_open" => td_string!(l, fig_cases_open),
        "cases_overdue" => td_string!(l, fig_cases_overdue),
        "on_time_closure" => td_string!(l, fig_on_time_closure),
        "alerts_critical_open" => td_string!(l, fig_alerts_critical_open),
        "false_positive_rate" => td_string!(l, fig_false_positive_rate),
        "energy_today" => td_string!(l, fig_energy_today),
        "carbon_month" => td_string!(l, fig_carbon_month),
        _ => td_string!(l, fig_targets_on_track),
    }
}

fn previous_label(l: Locale, kind: &str) -> &'static str {
    match kind {
        "yesterday" => td_string!(l, prev_yesterday),
        "day_ago" => td_string!(l, prev_day_ago),
        "last_month" => td_string!(l, prev_last_month),
        "last_week" => td_string!(l, prev_last_week),
        "last_month_days" => td_string!(l, prev_last_month_days),
        _ => td_string!(l, prev_targets_total),
    }
}

fn panel_title(l: Locale, id: &str) -> &'static str {
    match id {
        "cases" => td_string!(l, overview_panel_cases),
        "alerts" => td_string!(l, overview_panel_alerts),
        _ => td_string!(l, overview_panel_energy),
    }
}

/// One key figure as a link to the list behind it.
#[component]
fn FigureCard(f: KeyFigure) -> impl IntoView {
    let i18n = use_i18n();
    let key = f.key.clone();
    let kind = f.previous_kind.clone();
    let d = delta(&f, &t_string!(i18n, overview_pt));
    let unit = if f.unit == "%" {
        String::new()
    } else {
        f.unit.clone()
    };
    let prev = f.previous;
    let prev_unit = f.unit.clone();
    view! {
        <li class="kf" data-figure=f.key.clone()>
            <a href=f.href.clone()>
                <span class="kf-label">{move || figure_label(i18n.get_locale(), &key)}</span>
                <span class="kf-value" data-testid=format!("fig-{}", f.key)>
                    {show(f.value, &f.unit)}
                    {(!unit.is_empty()).then(|| view! { " " <small>{unit.clone()}</small> })}
                </span>
                <span class="kf-prev">
                    {match prev {
                        Some(p) => {
                            let kind = kind.clone();
                            view! {
                                <span class="muted">{move || previous_label(i18n.get_locale(), &kind)} " " {show(Some(p), &prev_unit)}</span>
                                {d.clone().map(|(text, class)| view! { " " <span class=format!("kf-delta {class}")>{text}</span> })}
                            }.into_any()
                        }
                        None => view! { <span class="muted">{t!(i18n, prev_none)}</span> }.into_any(),
                    }}
                </span>
            </a>
        </li>
    }
}

/// Whose data a panel shows, its newest record and the sources that went quiet.
#[component]
fn Provenance(p: Panel) -> impl IntoView {
    let i18n = use_i18n();
    let (zh, en) = (p.owner_zh.clone(), p.owner_en.clone());
    let latest = p.latest.clone();
    view! {
        <p class="provenance" data-testid=format!("provenance-{}", p.id)>
            <span>{t!(i18n, overview_owner)} ": " <strong>{move || pick(i18n.get_locale(), &zh, &en)}</strong></span>
            " · "
            <span>{t!(i18n, overview_latest)} ": "
                {match latest {
                    Some(t) => view! { <time>{t}</time> }.into_any(),
                    None => view! { <span>{t!(i18n, overview_no_data_yet)}</span> }.into_any(),
                }}
            </span>
            {p.sources.into_iter().map(|s| {
                let class = flag_class(&s);
                view! {
                    " "
                    <a class=class href=s.href.clone() data-testid=format!("source-{}", s.kind) data-silent=s.silent data-stale=s.stale.to_string()>
                        {s.stale.then(|| view! { <strong>{t!(i18n, overview_stale)}</strong> " · " })}
                        <SourceText s=s.clone() />
                    </a>
                }
            }).collect_view()}
        </p>
    }
}

/// The badge of a source: stopped, some devices quiet, or all reporting.
fn flag_class(s: &crate::model::SourceStatus) -> &'static str {
    if s.stale {
        "flag flag-bad"
    } else if s.silent > 0 {
        "flag flag-warn"
    } else {
        "flag flag-ok"
    }
}

/// "2 / 120 cameras silent longer than expected", or "60 meters · all reporting on time".
#[component]
fn SourceText(s: crate::model::SourceStatus) -> impl IntoView {
    let i18n = use_i18n();
    let cameras = s.kind == "cameras";
    if s.silent > 0 {
        view! {
            {s.silent} " / " {s.total} " "
            {move || if cameras { t_string!(i18n, overview_cameras_silent) } else { t_string!(i18n, overview_meters_late) }}
        }
        .into_any()
    } else {
        view! {
            {s.total} " "
            {move || if cameras { t_string!(i18n, overview_cameras) } else { t_string!(i18n, overview_meters) }}
            " · " {t!(i18n, overview_on_time_sources)}
        }
        .into_any()
    }
}

fn figures_of(o: &Overview, panel: &str) -> Vec<KeyFigure> {
    o.figures
        .iter()
        .filter(|f| f.panel == panel)
        .cloned()
        .collect()
}

/// True once the browser knows the caller may not open the overview (signed out, or
/// another role): live notices and timers then stop asking the server, which would refuse
/// and audit each time.
fn refused() -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    let auth = use_auth();
    move || match auth.user.get_untracked() {
        Some(Ok(Some(u))) => !u.role.may_open(Area::Overview),
        Some(Ok(None)) => true,
        _ => false,
    }
}

/// A counter bumped every `secs` seconds in the browser (never on the server).
fn use_every(secs: u64) -> RwSignal<u32> {
    let n = RwSignal::new(0u32);
    Effect::new(move |_| {
        let h = set_interval_with_handle(
            move || n.update(|v| *v = v.wrapping_add(1)),
            std::time::Duration::from_secs(secs),
        );
        on_cleanup(move || {
            if let Ok(h) = h {
                h.clear();
            }
        });
    });
    n
}

/// Reads the overview unless the caller is known to be refused.
async fn load(
    refused: impl Fn() -> bool,
    by: String,
    lang: String,
) -> Result<Overview, crate::error::AppError> {
    if refused() {
        return Err(crate::error::AppError::Forbidden);
    }
    get_overview(by, lang).await
}

/// The leadership overview (`/overview?by=`).
#[component]
pub fn OverviewPage() -> impl IntoView {
    let i18n = use_i18n();
    let by = qp("by");
    let live = use_live(&["cases", "incidents", "energy"]);
    // Also every 30 s: the figures are cached for that long on the server, so a notice can
    // arrive before they move.
    let every = use_every(OVERVIEW_REFRESH_SECS);
    let refused = refused();
    let data = Resource::new(
        move || (by(), lang(i18n.get_locale()), live.tick.get(), every.get()),
        move |(b, l, _, _)| load(refused, b, l),
    );
    view! {
        <Title text=move || t_string!(i18n, nav_overview).to_string() />
        <RequireArea area=Area::Overview>
            <header class="page-head row">
                <div>
                    <h1>{t!(i18n, nav_overview)}</h1>
                    <p class="muted">{t!(i18n, overview_intro)}</p>
                </div>
                <div class="actions">
                    <LiveIndicator live />
                    <a class="btn" href="/wall" data-testid="open-wall">{t!(i18n, overview_open_wall)}</a>
                </div>
            </header>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(o) => view! { <OverviewBody o /> }.into_any(),
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

#[component]
fn OverviewBody(o: Overview) -> impl IntoView {
    let i18n = use_i18n();
    let panels = o.panels.clone();
    let by = o.by.clone();
    view! {
        <p class="muted small" data-testid="generated-at">{t!(i18n, overview_generated)} " " {o.generated_at.clone()}</p>
        <div class="ov-panels">
            {panels.into_iter().map(|p| {
                let figs = figures_of(&o, &p.id);
                let id = p.id.clone();
                let pid = p.id.clone();
                view! {
                    <section class="ov-panel card" data-testid=format!("panel-{pid}") aria-labelledby=format!("ov-{pid}")>
                        <h2 id=format!("ov-{pid}")>{move || panel_title(i18n.get_locale(), &id)}</h2>
                        <Provenance p />
                        <ul class="kfs">
                            {figs.into_iter().map(|f| view! { <FigureCard f /> }).collect_view()}
                        </ul>
                    </section>
                }
            }).collect_view()}
        </div>
        <div class="chart-grid">
            {o.trends.clone().into_iter().map(|c| view! { <ChartBox chart=c /> }).collect_view()}
        </div>
        <section aria-labelledby="ov-districts" class="ov-districts">
            <header class="row">
                <h2 id="ov-districts">{t!(i18n, overview_map)}</h2>
                <nav class="seg" aria-label=move || t_string!(i18n, overview_shade_by)>
                    {MAP_FIGURES.into_iter().map(|f| {
                        let on = by == f;
                        view! {
                            <a href=format!("/overview?by={f}") class:active=on aria-current=on.then_some("page") data-testid=format!("by-{f}")>
                                {move || by_label(i18n.get_locale(), f)}
                            </a>
                        }
                    }).collect_view()}
                </nav>
            </header>
            <p class="muted">{t!(i18n, overview_map_hint)}</p>
            <div class="ov-map-row">
                <div class="ov-map" data-testid="district-map" inner_html=o.map_svg.clone()></div>
                <DistrictTable o=o.clone() />
            </div>
        </section>
        <section aria-labelledby="ov-ranking">
            <h2 id="ov-ranking">{t!(i18n, overview_ranking)} " " <span class="muted">{o.ranking_month.clone()}</span></h2>
            <Ranking rows=o.ranking.clone() limit=None />
        </section>
    }
}

pub fn by_label(l: Locale, by: &str) -> &'static str {
    match by {
        "overdue" => td_string!(l, overview_by_overdue),
        "new_month" => td_string!(l, overview_by_new_month),
        "alerts" => td_string!(l, overview_by_alerts),
        _ => td_string!(l, overview_by_open),
    }
}

#[component]
fn DistrictTable(o: Overview) -> impl IntoView {
    let i18n = use_i18n();
    let month_first = format!("{}-01", o.ranking_month);
    view! {
        <div class="table-wrap">
            <table class="data wrap-head" data-testid="district-table">
                <thead><tr>
                    <th scope="col">{t!(i18n, overview_col_district)}</th>
                    <th scope="col" class="num">{t!(i18n, overview_by_open)}</th>
                    <th scope="col" class="num">{t!(i18n, overview_by_overdue)}</th>
                    <th scope="col" class="num">{t!(i18n, overview_by_new_month)}</th>
                    <th scope="col" class="num">{t!(i18n, overview_by_alerts)}</th>
                    <th scope="col" class="num">{t!(i18n, overview_col_carbon)}</th>
                </tr></thead>
                <tbody>
                    {o.districts.into_iter().map(|d| {
                        let (zh, en) = (d.name_zh.clone(), d.name_en.clone());
                        let c = d.code.clone();
                        let link = |by: &str| district_href(by, &c, &month_first);
                        view! {
                            <tr data-district=d.code.clone()>
                                <th scope="row"><a href=d.href.clone()>{move || pick(i18n.get_locale(), &zh, &en)}</a></th>
                                <td class="num"><a href=link("open")>{d.open}</a></td>
                                <td class="num"><a href=link("overdue")>{d.overdue}</a></td>
                                <td class="num"><a href=link("new_month")>{d.new_month}</a></td>
                                <td class="num"><a href=link("alerts")>{d.alerts}</a></td>
                                <td class="num"><a href=format!("/energy/districts/{}", d.code)>{num(d.carbon_t)}</a></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn Ranking(rows: Vec<RankRow>, limit: Option<usize>) -> impl IntoView {
    let i18n = use_i18n();
    if rows.is_empty() {
        return view! { <p class="empty">{t!(i18n, overview_no_ranking)}</p> }.into_any();
    }
    let rows: Vec<RankRow> = rows.into_iter().take(limit.unwrap_or(usize::MAX)).collect();
    view! {
        <div class="table-wrap">
            <table class="data" data-testid="ranking">
                <thead><tr>
                    <th scope="col" class="num">{t!(i18n, overview_col_rank)}</th>
                    <th scope="col">{t!(i18n, overview_col_dept)}</th>
                    <th scope="col" class="num">{t!(i18n, overview_col_score)}</th>
                    <th scope="col" class="num">{t!(i18n, overview_col_dispatched)}</th>
                    <th scope="col" class="num">{t!(i18n, overview_col_on_time)}</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| {
                        let (zh, en) = (r.name_zh.clone(), r.name_en.clone());
                        view! {
                            <tr>
                                <td class="num">{r.rank}</td>
                                <th scope="row"><a href=format!("/scorecard?dept={}", r.department_id)>{move || pick(i18n.get_locale(), &zh, &en)}</a></th>
                                <td class="num">{format!("{:.2}", r.score)}</td>
                                <td class="num">{r.dispatched}</td>
                                <td class="num">{show(r.on_time_closure_rate, "%")}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// Seconds each big-screen panel stays before the next.
pub const WALL_ROTATE_SECS: u64 = 15;
/// The overview reloads at least this often (the server's figures are up to 30 s old).
pub const OVERVIEW_REFRESH_SECS: u64 = 30;
/// The big screen reloads at least this often, for figures that move with the clock.
pub const WALL_REFRESH_SECS: u64 = 60;
const WALL_PANELS: usize = 3;

/// The command centre's big screen (`/wall`): dark, no scrolling, key figures always in
/// view, the main area rotating between trends, districts and ranking, the latest cases and
/// alerts beside it; live.
#[component]
pub fn WallPage() -> impl IntoView {
    let i18n = use_i18n();
    let live = use_live(&["cases", "incidents", "energy"]);
    let refresh = use_every(WALL_REFRESH_SECS);
    let refused = refused();
    let panel = RwSignal::new(0usize);
    // `?rotate=N`: seconds per panel (2 to 300), for walls that want it slower or faster.
    let rotate_q = qp("rotate");
    let paused = RwSignal::new(false);
    // Timers run in the browser only (effects do not run on the server).
    Effect::new(move |_| {
        let secs = rotate_q()
            .parse::<u64>()
            .map_or(WALL_ROTATE_SECS, |n| n.clamp(2, 300));
        let rotate = set_interval_with_handle(
            move || {
                if !paused.get_untracked() {
                    panel.update(|p| *p = (*p + 1) % WALL_PANELS);
                }
            },
            std::time::Duration::from_secs(secs),
        );
        on_cleanup(move || {
            if let Ok(h) = rotate {
                h.clear();
            }
        });
    });
    let data = Resource::new(
        move || (lang(i18n.get_locale()), live.tick.get(), refresh.get()),
        move |(l, _, _)| load(refused, String::new(), l),
    );
    view! {
        <Title text=move || t_string!(i18n, nav_wall).to_string() />
        <RequireArea area=Area::Overview>
            <div class="wall" data-testid="wall">
                <header class="wall-head">
                    <h1>{t!(i18n, wall_title)}</h1>
                    <div class="wall-meta">
                        <LiveIndicator live />
                        <button type="button" class="wall-btn" data-testid="wall-pause"
                            on:click=move |_| paused.update(|p| *p = !*p)
                            aria-pressed=move || paused.get().to_string()>
                            {move || if paused.get() { t_string!(i18n, wall_resume) } else { t_string!(i18n, wall_pause) }}
                        </button>
                        <a class="wall-btn" href="/overview">{t!(i18n, wall_exit)}</a>
                    </div>
                </header>
                <Transition fallback=Loading>
                    {move || Suspend::new(async move {
                        match data.await {
                            Err(e) => view! { <LoadError error=e /> }.into_any(),
                            Ok(o) => view! { <WallBody o panel /> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </RequireArea>
    }
}

#[component]
fn WallBody(o: Overview, panel: RwSignal<usize>) -> impl IntoView {
    let i18n = use_i18n();
    let figures = o.figures.clone();
    let trends = o.trends.clone();
    let map = o.map_svg.clone();
    let districts = o.districts.clone();
    let ranking = o.ranking.clone();
    let feed = o.feed.clone();
    let panels = o.panels.clone();
    let stale: Vec<_> = o
        .panels
        .iter()
        .flat_map(|p| {
            p.sources
                .iter()
                .filter(|s| s.silent > 0 || s.stale)
                .cloned()
        })
        .collect();
    let show_panel = move |i: usize| move || panel.get() == i;
    view! {
        <ul class="wall-kfs">
            {figures.into_iter().map(|f| {
                let key = f.key.clone();
                let d = delta(&f, &t_string!(i18n, overview_pt));
                let mut unit = if f.unit == "%" { String::new() } else { f.unit.clone() };
                if f.previous_kind == "targets_total" {
                    unit = format!("/ {}", show(f.previous, ""));
                }
                view! {
                    <li class="wall-kf" data-figure=f.key.clone()>
                        <span class="kf-label">{move || figure_label(i18n.get_locale(), &key)}</span>
                        <span class="kf-value">{show(f.value, &f.unit)} {(!unit.is_empty()).then(|| view! { " " <small>{unit.clone()}</small> })}</span>
                        <span class="kf-prev">{d.map(|(text, class)| view! { <span class=format!("kf-delta {class}")>{text}</span> })}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
        <div class="wall-main">
            <div class="wall-stage">
                <nav class="wall-dots" aria-label=move || t_string!(i18n, wall_panel)>
                    {(0..WALL_PANELS).map(|i| view! {
                        <button type="button" class="wall-dot" class:active=move || panel.get() == i
                            aria-label=move || format!("{} {}", t_string!(i18n, wall_panel), i + 1)
                            data-testid=format!("wall-dot-{i}")
                            on:click=move |_| panel.set(i)></button>
                    }).collect_view()}
                </nav>
                <section class="wall-panel wall-trends" class:active=show_panel(0) data-testid="wall-panel-0">
                    {trends.into_iter().map(|c| view! { <div class="wall-chart" inner_html=c.svg></div> }).collect_view()}
                    <div class="wall-sources" data-testid="wall-sources">
                        <h2>{t!(i18n, overview_owner)}</h2>
                        {panels.into_iter().map(|p| {
                            let id = p.id.clone();
                            let (zh, en) = (p.owner_zh.clone(), p.owner_en.clone());
                            view! {
                                <div class="wall-source">
                                    <h3>{move || panel_title(i18n.get_locale(), &id)}</h3>
                                    <p>{move || pick(i18n.get_locale(), &zh, &en)} " · " {t!(i18n, overview_latest)} " "
                                        {p.latest.clone().unwrap_or_else(|| "—".into())}</p>
                                    {p.sources.into_iter().map(|s| view! {
                                        <p class=flag_class(&s)>
                                            {s.stale.then(|| view! { <strong>{t!(i18n, overview_stale)}</strong> " · " })}
                                            <SourceText s=s.clone() />
                                        </p>
                                    }).collect_view()}
                                </div>
                            }
                        }).collect_view()}
                    </div>
                </section>
                <section class="wall-panel wall-districts" class:active=show_panel(1) data-testid="wall-panel-1">
                    <div class="wall-map" inner_html=map></div>
                    <table class="wall-table">
                        <thead><tr>
                            <th>{t!(i18n, overview_col_district)}</th>
                            <th class="num">{t!(i18n, overview_by_open)}</th>
                            <th class="num">{t!(i18n, overview_by_overdue)}</th>
                            <th class="num">{t!(i18n, overview_by_new_month)}</th>
                            <th class="num">{t!(i18n, overview_by_alerts)}</th>
                        </tr></thead>
                        <tbody>
                            {districts.into_iter().map(|d| {
                                let (zh, en) = (d.name_zh.clone(), d.name_en.clone());
                                view! { <tr>
                                    <th>{move || pick(i18n.get_locale(), &zh, &en)}</th>
                                    <td class="num">{d.open}</td><td class="num">{d.overdue}</td>
                                    <td class="num">{d.new_month}</td><td class="num">{d.alerts}</td>
                                </tr> }
                            }).collect_view()}
                        </tbody>
                    </table>
                </section>
                <section class="wall-panel wall-ranking" class:active=show_panel(2) data-testid="wall-panel-2">
                    <h2>{t!(i18n, overview_ranking)}</h2>
                    <Ranking rows=ranking limit=Some(14) />
                </section>
            </div>
            <aside class="wall-feed" aria-labelledby="wall-feed-h">
                <h2 id="wall-feed-h">{t!(i18n, overview_feed)}</h2>
                {stale.into_iter().map(|s| view! {
                    <p class=flag_class(&s)>
                        {s.stale.then(|| view! { <strong>{t!(i18n, overview_stale)}</strong> " · " })}
                        <SourceText s=s.clone() />
                    </p>
                }).collect_view()}
                <Feed items=feed />
            </aside>
        </div>
        <p class="wall-foot">{t!(i18n, overview_generated)} " " {o.generated_at.clone()}</p>
    }
}

#[component]
fn Feed(items: Vec<FeedItem>) -> impl IntoView {
    let i18n = use_i18n();
    if items.is_empty() {
        return view! { <p class="muted">{t!(i18n, overview_feed_empty)}</p> }.into_any();
    }
    view! {
        <ol class="feed" data-testid="wall-feed">
            {items.into_iter().map(|it| {
                let (tz, te) = (it.title_zh.clone(), it.title_en.clone());
                let (dz, de) = (it.district_zh.clone(), it.district_en.clone());
                let case = it.kind == "case";
                view! {
                    <li class=format!("feed-item feed-{} sev-{}", it.kind, it.severity) data-code=it.code.clone()>
                        <time>{it.at.clone()}</time>
                        <span class="feed-kind">{move || if case { t_string!(i18n, overview_feed_case) } else { t_string!(i18n, overview_feed_alert) }}</span>
                        <span class="feed-title">{move || pick(i18n.get_locale(), &tz, &te)}</span>
                        <span class="feed-where muted">{move || pick(i18n.get_locale(), &dz, &de)}</span>
                    </li>
                }
            }).collect_view()}
        </ol>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(value: Option<f64>, previous: Option<f64>, unit: &str, lower: Option<bool>) -> KeyFigure {
        KeyFigure {
            key: "k".into(),
            panel: "cases".into(),
            value,
            previous,
            previous_kind: "yesterday".into(),
            unit: unit.into(),
            lower_better: lower,
            href: "/".into(),
        }
    }

    #[test]
    fn deltas_say_whether_the_change_is_good() {
        assert_eq!(
            delta(&f(Some(12.0), Some(15.0), "", Some(true)), "pt"),
            Some(("-3".into(), "good"))
        );
        assert_eq!(
            delta(&f(Some(80.0), Some(82.5), "%", Some(false)), "pt"),
            Some(("-2.5 pt".into(), "bad"))
        );
        assert_eq!(
            delta(&f(Some(110.0), Some(100.0), "kWh", Some(true)), "pt"),
            Some(("+10.0 %".into(), "bad"))
        );
        // A volume is neither; no change is flat; nothing to compare, no delta.
        assert_eq!(
            delta(&f(Some(5.0), Some(3.0), "", None), "pt").unwrap().1,
            "flat"
        );
        assert_eq!(
            delta(&f(Some(5.0), Some(5.0), "", Some(true)), "pt")
                .unwrap()
                .1,
            "flat"
        );
        assert_eq!(delta(&f(Some(5.0), None, "", Some(true)), "pt"), None);
        assert_eq!(delta(&f(None, Some(5.0), "%", Some(true)), "pt"), None);
        assert_eq!(delta(&f(Some(5.0), Some(0.0), "t", Some(true)), "pt"), None);
        let mut t = f(Some(3.0), Some(6.0), "", None);
        t.previous_kind = "targets_total".into();
        assert_eq!(delta(&t, "pt"), None);
    }

    #[test]
    fn values_are_shown_with_their_unit() {
        assert_eq!(show(Some(87.456), "%"), "87.5 %");
        assert_eq!(show(Some(12345.0), "kWh"), "12,345");
        assert_eq!(show(None, "%"), "—");
        assert_eq!(show(Some(50.0), ""), "50");
        assert_eq!(show(Some(0.0), ""), "0");
        assert_eq!(show(Some(1234.0), ""), "1,234");
    }
}
