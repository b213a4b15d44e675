use super::{pct, use_live, CameraStatusBadge, LiveIndicator};
use crate::api::cases::districts;
use crate::api::skyeye::{camera_health, get_alert_stats, list_cameras};
use crate::components::forms::{FieldErr, LoadError};
use crate::components::layout::{pick, urlencode, Loading, RequireArea};
use crate::components::pager::Pager;
use crate::domain::Area;
use crate::i18n::*;
use crate::model::{AlertStats, CameraFilter, CameraRow, DeptHealth, TriageRate};
use crate::pages::admin::{qp, query_string};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;

/// Camera health by department, the camera list, and alert statistics for a period.
#[component]
pub fn CamerasPage() -> impl IntoView {
    let i18n = use_i18n();
    let (status, district, dept, q, page, from, to) = (
        qp("status"),
        qp("district"),
        qp("department"),
        qp("q"),
        qp("page"),
        qp("from"),
        qp("to"),
    );
    let filter = move || CameraFilter {
        status: status(),
        district: district(),
        department_id: dept().parse().ok(),
        q: q().trim().to_string(),
        page: page().parse().unwrap_or(1),
    };
    let query = move || {
        query_string(&[
            ("status", status()),
            ("district", district()),
            ("department", dept()),
            ("q", q()),
            ("from", from()),
            ("to", to()),
        ])
    };
    let live = use_live(&["cameras", "incidents"]);
    // Notices come with every heartbeat batch: look first, and render again only when what
    // the tables show changed (a status, an open incident), not for every heartbeat time.
    let (health_reload, list_reload) = (RwSignal::new(0u32), RwSignal::new(0u32));
    let health = Resource::new(move || health_reload.get(), |_| camera_health());
    let cams = Resource::new(
        move || (filter(), list_reload.get()),
        |(f, _)| list_cameras(f),
    );
    Effect::new(move |prev: Option<u32>| {
        let tick = live.tick.get();
        if prev.is_some_and(|p| p != tick) {
            let f = untrack(filter);
            leptos::task::spawn_local(async move {
                if let (Ok(h), Some(Ok(shown))) = (camera_health().await, health.get_untracked()) {
                    if h != shown {
                        health_reload.update(|n| *n += 1);
                    }
                }
                if let (Ok(p), Some(Ok(shown))) = (list_cameras(f).await, cams.get_untracked()) {
                    let key = |p: &crate::model::Page<CameraRow>| {
                        p.items
                            .iter()
                            .map(|c| (c.id, c.status.clone(), c.open_incidents))
                            .collect::<Vec<_>>()
                    };
                    if key(&p) != key(&shown) || p.total != shown.total {
                        list_reload.update(|n| *n += 1);
                    }
                }
            });
        }
        tick
    });
    let stats = Resource::new(move || (from(), to()), |(f, t)| get_alert_stats(f, t));
    let dists = Resource::new(|| (), |_| districts());
    let cams_err = Signal::derive(move || cams.get().and_then(|r| r.err()).map(Err::<(), _>));
    let stats_err = Signal::derive(move || stats.get().and_then(|r| r.err()).map(Err::<(), _>));
    // Each form keeps the other's parameters, so filtering one part keeps the other as it was.
    let keep = move |names: &'static [&'static str]| {
        names
            .iter()
            .filter_map(|n| {
                let v = qp_value(n, status, district, dept, q, from, to);
                (!v.is_empty()).then(|| view! { <input type="hidden" name=*n value=v /> })
            })
            .collect_view()
    };
    view! {
        <Title text=move || t_string!(i18n, nav_cameras).to_string() />
        <RequireArea area=Area::Cameras>
            <header class="page-head row">
                <div>
                    <h1>{t!(i18n, nav_cameras)}</h1>
                    <p class="muted">{t!(i18n, cameras_intro)}</p>
                </div>
                <LiveIndicator live />
            </header>
            <nav class="jump" aria-label=move || t_string!(i18n, cameras_sections)>
                <a href="#health">{t!(i18n, cameras_health)}</a>
                <a href="#camera-list">{t!(i18n, cameras_list)}</a>
                <a href="#stats">{t!(i18n, cameras_stats)}</a>
            </nav>

            <section id="health" aria-labelledby="health-h">
                <h2 id="health-h">{t!(i18n, cameras_health)}</h2>
                <Transition fallback=Loading>
                    {move || Suspend::new(async move {
                        match health.await {
                            Err(e) => view! { <LoadError error=e /> }.into_any(),
                            Ok(v) if v.is_empty() => view! { <p class="empty">{t!(i18n, cameras_none)}</p> }.into_any(),
                            Ok(v) => view! { <HealthTable rows=v /> }.into_any(),
                        }
                    })}
                </Transition>
            </section>

            <section id="camera-list" aria-labelledby="list-h">
                <h2 id="list-h">{t!(i18n, cameras_list)}</h2>
                <Form method="GET" action="" attr:class="filters" attr:role="search" attr:data-testid="camera-filters">
                    {move || keep(&["department", "from", "to"])}
                    <input type="search" name="q" value=q
                        placeholder=move || t_string!(i18n, cameras_search)
                        aria-label=move || t_string!(i18n, cameras_search) />
                    <select name="status" aria-label=move || t_string!(i18n, camera_status)>
                        <option value="">{t!(i18n, all_statuses)}</option>
                        {["online", "offline", "tampered"].into_iter().map(|s| view! {
                            <option value=s selected=move || status() == s>{move || super::camera_status_label(i18n.get_locale(), s)}</option>
                        }).collect_view()}
                    </select>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let list = dists.await.unwrap_or_default();
                            let sel = district();
                            view! {
                                <crate::pages::cases::DistrictSelect list selected=sel />
                            }
                        })}
                    </Transition>
                    <button type="submit" class="btn">{t!(i18n, filter_apply)}</button>
                    <a class="btn btn-quiet" href=move || {
                        let qs = query_string(&[("from", from()), ("to", to())]);
                        if qs.is_empty() { "/cameras#camera-list".to_string() } else { format!("/cameras?{qs}#camera-list") }
                    }>{t!(i18n, filter_clear)}</a>
                </Form>
                {move || (!dept().is_empty()).then(|| view! {
                    <p class="help">{t!(i18n, cameras_dept_filtered)}</p>
                })}
                <FieldErr outcome=cams_err field="status" />
                <Transition fallback=Loading>
                    {move || Suspend::new(async move {
                        match cams.await {
                            Err(e) => view! { <LoadError error=e /> }.into_any(),
                            Ok(p) if p.items.is_empty() => view! {
                                <p class="empty" data-testid="cameras-empty">{t!(i18n, cameras_empty)}</p>
                            }.into_any(),
                            Ok(p) => {
                                let pages = p.pages();
                                let (page, total, more) = (p.page, p.total, p.more);
                                view! {
                                    <CameraTable rows=p.items />
                                    <Pager base="/cameras" query=query() page pages total more />
                                }.into_any()
                            }
                        }
                    })}
                </Transition>
            </section>

            <section id="stats" aria-labelledby="stats-h">
                <h2 id="stats-h">{t!(i18n, cameras_stats)}</h2>
                <Form method="GET" action="" attr:class="filters" attr:data-testid="stats-filters">
                    {move || keep(&["status", "district", "department", "q"])}
                    <label class="inline-field">{t!(i18n, period_from)}
                        <input type="date" name="from" value=from /></label>
                    <label class="inline-field">{t!(i18n, period_to)}
                        <input type="date" name="to" value=to /></label>
                    <button type="submit" class="btn">{t!(i18n, filter_apply)}</button>
                    <span class="help">{t!(i18n, stats_period_help)}</span>
                </Form>
                <FieldErr outcome=stats_err field="from" />
                <FieldErr outcome=stats_err field="to" />
                <Transition fallback=Loading>
                    {move || Suspend::new(async move {
                        match stats.await {
                            Err(crate::error::AppError::Invalid(_)) => ().into_any(),
                            Err(e) => view! { <LoadError error=e /> }.into_any(),
                            Ok(s) => view! { <Stats s /> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </RequireArea>
    }
}

#[allow(clippy::too_many_arguments)]
fn qp_value(
    name: &str,
    status: impl Fn() -> String,
    district: impl Fn() -> String,
    dept: impl Fn() -> String,
    q: impl Fn() -> String,
    from: impl Fn() -> String,
    to: impl Fn() -> String,
) -> String {
    match name {
        "status" => status(),
        "district" => district(),
        "department" => dept(),
        "q" => q(),
        "from" => from(),
        "to" => to(),
        _ => String::new(),
    }
}

#[component]
fn HealthTable(rows: Vec<DeptHealth>) -> impl IntoView {
    let i18n = use_i18n();
    let (on, off, tam) = rows.iter().fold((0, 0, 0), |a, r| {
        (a.0 + r.online, a.1 + r.offline, a.2 + r.tampered)
    });
    let many = rows.len() > 1;
    // A count links to the cameras behind it, when there are any.
    let count = |n: i64, dept: i64, status: &'static str| {
        if n == 0 {
            view! { <span class="muted">"0"</span> }.into_any()
        } else {
            view! { <a href=format!("/cameras?department={dept}&status={status}#camera-list")>{n}</a> }.into_any()
        }
    };
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="health-table">
                <thead>
                    <tr>
                        <th scope="col">{t!(i18n, field_department)}</th>
                        <th scope="col" class="num">{t!(i18n, cam_online)}</th>
                        <th scope="col" class="num">{t!(i18n, cam_offline)}</th>
                        <th scope="col" class="num">{t!(i18n, cam_tampered)}</th>
                        <th scope="col" class="num">{t!(i18n, total)}</th>
                        <th scope="col" class="num">{t!(i18n, online_rate)}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|r| {
                        let total = r.online + r.offline + r.tampered;
                        let rate = (total > 0).then(|| r.online as f64 / total as f64);
                        let bad = r.offline + r.tampered > 0;
                        view! {
                            <tr class:attention=bad>
                                <th scope="row">
                                    <a href=format!("/cameras?department={}#camera-list", r.department_id)>
                                        {move || pick(i18n.get_locale(), &r.department_zh, &r.department_en)}
                                    </a>
                                </th>
                                <td class="num">{count(r.online, r.department_id, "online")}</td>
                                <td class="num">{count(r.offline, r.department_id, "offline")}</td>
                                <td class="num">{count(r.tampered, r.department_id, "tampered")}</td>
                                <td class="num">{total}</td>
                                <td class="num">{pct(rate)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
                {many.then(|| {
                    let total = on + off + tam;
                    let rate = (total > 0).then(|| on as f64 / total as f64);
                    view! {
                        <tfoot>
                            <tr>
                                <th scope="row">{t!(i18n, total)}</th>
                                <td class="num">{on}</td>
                                <td class="num">{off}</td>
                                <td class="num">{tam}</td>
                                <td class="num">{total}</td>
                                <td class="num">{pct(rate)}</td>
                            </tr>
                        </tfoot>
                    }
                })}
            </table>
        </div>
    }
}

#[component]
fn CameraTable(rows: Vec<CameraRow>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="cameras-table">
                <thead>
                    <tr>
                        <th scope="col">{t!(i18n, camera_code)}</th>
                        <th scope="col">{t!(i18n, camera_name)}</th>
                        <th scope="col">{t!(i18n, camera_status)}</th>
                        <th scope="col">{t!(i18n, camera_since)}</th>
                        <th scope="col">{t!(i18n, camera_heartbeat)}</th>
                        <th scope="col">{t!(i18n, case_place)}</th>
                        <th scope="col">{t!(i18n, field_department)}</th>
                        <th scope="col" class="num">{t!(i18n, camera_open_incidents)}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|c| {
                        let (dzh, den) = (c.district_zh.clone(), c.district_en.clone());
                        let (pzh, pen) = (c.department_zh.clone(), c.department_en.clone());
                        let open = c.open_incidents;
                        let href = format!("/alerts?camera={}", urlencode(&c.code));
                        let code = c.code.clone();
                        view! {
                            <tr data-code=c.code.clone()>
                                <td class="mono nowrap">{c.code.clone()}</td>
                                <td>{c.name.clone()}</td>
                                <td><CameraStatusBadge status=c.status.clone() /></td>
                                <td class="nowrap">{c.status_since.clone()}</td>
                                <td class="nowrap">{c.last_heartbeat.clone().unwrap_or_else(|| "—".into())}</td>
                                <td>
                                    {move || pick(i18n.get_locale(), &dzh, &den)}
                                    <span class="muted mono">" · " {c.grid_code.clone()}</span>
                                </td>
                                <td>{move || pick(i18n.get_locale(), &pzh, &pen)}</td>
                                <td class="num">
                                    {if open > 0 {
                                        view! {
                                            <a href=href aria-label=move || format!("{} {} {}", open, t_string!(i18n, camera_open_incidents), code)>{open}</a>
                                        }.into_any()
                                    } else {
                                        view! { <span class="muted">"0"</span> }.into_any()
                                    }}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Intensity class of a heatmap cell, 0 (none) to 5 (the busiest hour).
fn heat(v: i64, max: i64) -> &'static str {
    if v <= 0 || max <= 0 {
        return "heat-0";
    }
    match ((v as f64 / max as f64) * 5.0).ceil() as i64 {
        ..=1 => "heat-1",
        2 => "heat-2",
        3 => "heat-3",
        4 => "heat-4",
        _ => "heat-5",
    }
}

#[component]
fn Stats(s: AlertStats) -> impl IntoView {
    let i18n = use_i18n();
    let max = s
        .by_hour
        .iter()
        .flat_map(|r| r.iter().copied())
        .max()
        .unwrap_or(0);
    let all: i64 = s.by_hour.iter().flat_map(|r| r.iter().copied()).sum();
    let rows: Vec<_> = s
        .types
        .iter()
        .cloned()
        .zip(s.by_hour.iter().cloned())
        .collect();
    let hour_totals: Vec<i64> = (0..24)
        .map(|h| {
            s.by_hour
                .iter()
                .map(|r| r.get(h).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    view! {
        <p class="summary" data-testid="stats-period">
            {t!(i18n, stats_period)} " " <strong>{s.from.clone()}</strong> " – " <strong>{s.to.clone()}</strong>
            " · " {t!(i18n, stats_alerts_total)} " " <strong>{all}</strong>
        </p>
        <h3>{t!(i18n, stats_by_hour)}</h3>
        <div class="table-wrap">
            <table class="table heatmap" data-testid="heatmap">
                <caption class="sr-only">{t!(i18n, stats_by_hour)}</caption>
                <thead>
                    <tr>
                        <th scope="col">{t!(i18n, incident_type)}</th>
                        {(0..24).map(|h| view! { <th scope="col" class="num">{format!("{h:02}")}</th> }).collect_view()}
                        <th scope="col" class="num">{t!(i18n, total)}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|((code, zh, en), hours)| {
                        let sum: i64 = hours.iter().sum();
                        view! {
                            <tr data-type=code>
                                <th scope="row" class="nowrap">{move || pick(i18n.get_locale(), &zh, &en)}</th>
                                {hours.into_iter().map(|v| view! { <td class=heat(v, max)>{v}</td> }).collect_view()}
                                <td class="num strong">{sum}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
                <tfoot>
                    <tr>
                        <th scope="row">{t!(i18n, total)}</th>
                        {hour_totals.into_iter().map(|v| view! { <td class="num">{v}</td> }).collect_view()}
                        <td class="num strong">{all}</td>
                    </tr>
                </tfoot>
            </table>
        </div>
        <p class="legend" aria-hidden="true">
            {t!(i18n, heat_less)}
            <span class="swatch heat-1"></span><span class="swatch heat-2"></span><span class="swatch heat-3"></span>
            <span class="swatch heat-4"></span><span class="swatch heat-5"></span>
            {t!(i18n, heat_more)}
        </p>
        <p class="help">{t!(i18n, stats_hour_help)}</p>

        <h3>{t!(i18n, stats_fp_by_type)}</h3>
        <RateTable rows=s.by_type camera=false />
        <h3>{t!(i18n, stats_fp_by_camera)}</h3>
        <p class="help">{t!(i18n, stats_fp_by_camera_help)}</p>
        <RateTable rows=s.by_camera camera=true />
        <p class="help">{t!(i18n, stats_fp_help)}</p>
    }
}

#[component]
fn RateTable(rows: Vec<TriageRate>, camera: bool) -> impl IntoView {
    let i18n = use_i18n();
    if rows.is_empty() {
        return view! { <p class="empty">{t!(i18n, stats_none)}</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="table compact" data-testid=if camera { "fp-by-camera" } else { "fp-by-type" }>
                <thead>
                    <tr>
                        <th scope="col">{if camera { t!(i18n, incident_camera).into_any() } else { t!(i18n, incident_type).into_any() }}</th>
                        <th scope="col" class="num">{t!(i18n, stats_incidents)}</th>
                        <th scope="col" class="num">{t!(i18n, incident_alerts)}</th>
                        <th scope="col" class="num">{t!(i18n, stats_decided)}</th>
                        <th scope="col" class="num">{t!(i18n, reason_false_positive)}</th>
                        <th scope="col" class="num">{t!(i18n, triage_escalated)}</th>
                        <th scope="col" class="num">{t!(i18n, stats_fp_rate)}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|r| {
                        let name = if camera {
                            let href = format!("/alerts?camera={}&state=all", urlencode(&r.key));
                            view! {
                                <a class="mono" href=href>{r.key.clone()}</a>
                                <div class="sub">{r.name_zh.clone()}</div>
                            }.into_any()
                        } else {
                            let (zh, en) = (r.name_zh.clone(), r.name_en.clone());
                            view! { <span>{move || pick(i18n.get_locale(), &zh, &en)}</span> }.into_any()
                        };
                        view! {
                            <tr>
                                <th scope="row">{name}</th>
                                <td class="num">{r.incidents}</td>
                                <td class="num">{r.alerts}</td>
                                <td class="num">{r.decided}</td>
                                <td class="num">{r.false_positive}</td>
                                <td class="num">{r.escalated}</td>
                                <td class="num strong">{pct(r.fp_rate)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
