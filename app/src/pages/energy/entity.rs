use super::overview::kind_label;
use super::{num, type_label, ChartBox, TypeTabs};
use crate::api::energy::{get_energy_entity, get_energy_meter};
use crate::components::forms::LoadError;
use crate::components::layout::{pick, Loading, RequireArea};
use crate::domain::Area;
use crate::i18n::*;
use crate::model::{EntityView, MeterView};
use crate::pages::admin::{qp, query_string};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

fn lang(l: Locale) -> String {
    if l == Locale::en { "en" } else { "zh" }.to_string()
}

/// An entity (`/energy/entities/:id`): its meters with sub-meters under their parent, and
/// its charts for one energy type.
#[component]
pub fn EntityPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let (ty, month) = (qp("type"), qp("month"));
    let data = Resource::new(
        move || (id(), ty(), month(), i18n.get_locale()),
        |(id, t, m, l)| get_energy_entity(id, t, m, lang(l)),
    );
    view! {
        <Title text=move || t_string!(i18n, energy_entity).to_string() />
        <RequireArea area=Area::Energy>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(v) => view! { <Entity v /> }.into_any(),
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

#[component]
fn Entity(v: EntityView) -> impl IntoView {
    let i18n = use_i18n();
    let e = v.entity.clone();
    let (zh, en) = (e.name_zh.clone(), e.name_en.clone());
    let (dzh, den) = (e.department_zh.clone(), e.department_en.clone());
    let kind = e.kind.clone();
    let month = v.month.clone();
    let id = e.id;
    let tab_month = month.clone();
    let href = Callback::new(move |t: String| {
        format!(
            "/energy/entities/{id}?{}",
            query_string(&[("type", t), ("month", tab_month.clone())])
        )
    });
    let district_link = format!("/energy/districts/{}", e.district_code);
    let unmetered = v.unmetered.clone();
    view! {
        <header class="page-head">
            <p class="crumbs"><a href="/energy">{t!(i18n, nav_energy)}</a> " › " <a href=district_link>{t!(i18n, district)}</a></p>
            <h1>{move || pick(i18n.get_locale(), &zh, &en)} " " <span class="muted mono">{e.code.clone()}</span></h1>
            <p class="muted">
                {move || kind_label(i18n.get_locale(), &kind)} " · "
                {t!(i18n, energy_maintained_by)} " " {move || pick(i18n.get_locale(), &dzh, &den)}
            </p>
        </header>
        <div class="toolbar row">
            <TypeTabs current=v.energy_type.clone() href />
            <form method="GET" action=format!("/energy/entities/{id}") class="filters inline">
                <input type="hidden" name="type" value=v.energy_type.clone() />
                <label>{t!(i18n, energy_month_label)} " "
                    <input type="month" name="month" value=month.clone() /></label>
                <button type="submit" class="btn">{t!(i18n, energy_show)}</button>
            </form>
        </div>
        <section aria-labelledby="meters-h">
            <h2 id="meters-h">{t!(i18n, energy_meters)}</h2>
            {if v.meters.is_empty() {
                view! { <p class="empty">{t!(i18n, energy_no_meters)}</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="data" data-testid="meter-table">
                            <thead><tr>
                                <th scope="col">{t!(i18n, energy_meter)}</th>
                                <th scope="col">{t!(i18n, energy_type)}</th>
                                <th scope="col" class="num">{t!(i18n, energy_interval_min)}</th>
                                <th scope="col" class="num">{t!(i18n, energy_this_month)}</th>
                                <th scope="col">{t!(i18n, energy_latest_reading)}</th>
                            </tr></thead>
                            <tbody>
                                {v.meters.into_iter().map(|m| {
                                    let sub = m.parent_id.is_some();
                                    let (zh, en) = (m.name_zh.clone(), m.name_en.clone());
                                    let ty = m.energy_type.clone();
                                    let rest = unmetered.iter().find(|(p, _)| *p == m.id).map(|(_, r)| *r);
                                    let unit = m.unit.clone();
                                    view! {
                                        <tr class:sub-row=sub>
                                            <th scope="row">
                                                {sub.then(|| view! { <span class="muted" aria-hidden="true">"└ "</span> })}
                                                <a href=format!("/energy/meters/{}", m.id)>{m.code.clone()}</a>
                                                " " {move || pick(i18n.get_locale(), &zh, &en)}
                                                {sub.then(|| view! { " " <span class="badge">{t!(i18n, energy_sub_meter)}</span> })}
                                            </th>
                                            <td>{move || type_label(i18n.get_locale(), &ty)}</td>
                                            <td class="num">{m.interval_minutes}</td>
                                            <td class="num">{num(m.month_value)} " " {unit.clone()}
                                                {rest.map(|r| view! { <br /><small class="muted">{t!(i18n, energy_unmetered)} " " {num(r)} " " {unit.clone()}</small> })}
                                            </td>
                                            <td>{m.last_reading.clone().unwrap_or_else(|| "–".into())}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <p class="help">{t!(i18n, energy_sub_meter_help)}</p>
                }.into_any()
            }}
        </section>
        <div class="chart-grid">
            {v.charts.into_iter().map(|c| view! { <ChartBox chart=c /> }).collect_view()}
        </div>
    }
}

/// One meter (`/energy/meters/:id`).
#[component]
pub fn MeterPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let data = Resource::new(
        move || (id(), i18n.get_locale()),
        |(id, l)| get_energy_meter(id, lang(l)),
    );
    view! {
        <Title text=move || t_string!(i18n, energy_meter).to_string() />
        <RequireArea area=Area::Energy>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(v) => view! { <Meter v /> }.into_any(),
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

#[component]
fn Meter(v: MeterView) -> impl IntoView {
    let i18n = use_i18n();
    let m = v.meter.clone();
    let (zh, en) = (m.name_zh.clone(), m.name_en.clone());
    let (ezh, een) = (v.entity_zh.clone(), v.entity_en.clone());
    let ty = m.energy_type.clone();
    view! {
        <header class="page-head">
            <p class="crumbs"><a href="/energy">{t!(i18n, nav_energy)}</a> " › "
                <a href=format!("/energy/entities/{}?type={}", v.entity_id, m.energy_type)>{move || pick(i18n.get_locale(), &ezh, &een)}</a></p>
            <h1>{m.code.clone()} " " <span class="muted">{move || pick(i18n.get_locale(), &zh, &en)}</span></h1>
            <p class="muted">
                {move || type_label(i18n.get_locale(), &ty)} " · " {m.unit.clone()} " · "
                {t!(i18n, energy_interval_min)} " " {m.interval_minutes}
                {v.parent_code.clone().map(|p| view! { " · " {t!(i18n, energy_sub_meter_of)} " " <span class="mono">{p}</span> })}
            </p>
        </header>
        <div class="chart-grid">
            {v.charts.into_iter().map(|c| view! { <ChartBox chart=c /> }).collect_view()}
        </div>
        <section aria-labelledby="corr-h">
            <h2 id="corr-h">{t!(i18n, energy_corrections)}</h2>
            {if v.corrections.is_empty() {
                view! { <p class="empty">{t!(i18n, energy_no_corrections)}</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="data">
                            <thead><tr>
                                <th scope="col">{t!(i18n, energy_interval)}</th>
                                <th scope="col" class="num">{t!(i18n, energy_old_value)}</th>
                                <th scope="col" class="num">{t!(i18n, energy_new_value)}</th>
                                <th scope="col">{t!(i18n, energy_corrected_at)}</th>
                                <th scope="col">{t!(i18n, energy_source)}</th>
                            </tr></thead>
                            <tbody>
                                {v.corrections.into_iter().map(|c| view! {
                                    <tr>
                                        <td>{c.interval}</td>
                                        <td class="num">{num(c.old_value)}</td>
                                        <td class="num">{num(c.new_value)}</td>
                                        <td>{c.at}</td>
                                        <td class="mono">{c.source}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}
