use super::{change, num, ChartBox, Figures, TypeTabs};
use crate::api::energy::get_energy_overview;
use crate::components::forms::LoadError;
use crate::components::layout::{pick, Loading, RequireArea};
use crate::domain::Area;
use crate::i18n::*;
use crate::model::EnergyOverview;
use crate::pages::admin::{qp, query_string};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// The city's energy and carbon (`/energy`) or one district's (`/energy/districts/:code`).
#[component]
pub fn EnergyPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let district = move || params.read().get("code").unwrap_or_default();
    let (ty, month) = (qp("type"), qp("month"));
    let data = Resource::new(
        move || (district(), ty(), month(), i18n.get_locale()),
        |(d, t, m, l)| {
            get_energy_overview(
                d,
                t,
                m,
                if l == Locale::en {
                    "en".into()
                } else {
                    "zh".into()
                },
            )
        },
    );
    view! {
        <Title text=move || t_string!(i18n, nav_energy).to_string() />
        <RequireArea area=Area::Energy>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(o) => view! { <Overview o /> }.into_any(),
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

#[component]
fn Overview(o: EnergyOverview) -> impl IntoView {
    let i18n = use_i18n();
    let base = if o.district.is_empty() {
        "/energy".to_string()
    } else {
        format!("/energy/districts/{}", o.district)
    };
    let month = o.month.clone();
    let tab_base = base.clone();
    let tab_month = month.clone();
    let href = Callback::new(move |t: String| {
        format!(
            "{tab_base}?{}",
            query_string(&[("type", t), ("month", tab_month.clone())])
        )
    });
    let (dz, de) = (o.district_zh.clone(), o.district_en.clone());
    let is_city = o.district.is_empty();
    let ty = o.energy_type.clone();
    let unit = o.unit.clone();
    let latest = o.latest_reading.clone();
    let can_edit = o.can_edit;
    let type_for_form = ty.clone();
    view! {
        <header class="page-head row">
            <div>
                {if is_city {
                    view! { <h1>{t!(i18n, nav_energy)}</h1> }.into_any()
                } else {
                    view! {
                        <p class="crumbs"><a href="/energy">{t!(i18n, nav_energy)}</a></p>
                        <h1>{move || pick(i18n.get_locale(), &dz, &de)}</h1>
                    }.into_any()
                }}
                <p class="muted">
                    {t!(i18n, energy_owner_note)}
                    {latest.map(|l| view! { " · " {t!(i18n, energy_latest_reading)} " " <time>{l}</time> })}
                </p>
            </div>
            <div class="actions">
                <a class="btn" href="/energy/anomalies">{t!(i18n, energy_anomalies)}</a>
                <a class="btn" href="/energy/targets">{t!(i18n, energy_targets)}</a>
                {can_edit.then(|| view! { <a class="btn btn-primary" href="/energy/upload">{t!(i18n, energy_upload)}</a> })}
            </div>
        </header>
        <div class="toolbar row">
            <TypeTabs current=ty.clone() href />
            <form method="GET" action=base.clone() class="filters inline" data-testid="month-form">
                <input type="hidden" name="type" value=type_for_form />
                <label>
                    {t!(i18n, energy_month_label)} " "
                    <input type="month" name="month" value=month.clone() min="2020-01" max="2100-12" />
                </label>
                <button type="submit" class="btn">{t!(i18n, energy_show)}</button>
            </form>
        </div>
        <Figures figures=o.figures />
        <div class="chart-grid">
            {o.charts.into_iter().map(|c| view! { <ChartBox chart=c /> }).collect_view()}
        </div>
        {is_city.then(|| {
            let rows = o.districts.clone();
            let unit = unit.clone();
            let ty = ty.clone();
            let month = month.clone();
            view! {
                <section aria-labelledby="districts-h">
                    <h2 id="districts-h">{t!(i18n, energy_by_district)}</h2>
                    <div class="table-wrap">
                        <table class="data" data-testid="district-table">
                            <thead><tr>
                                <th scope="col">{t!(i18n, district)}</th>
                                <th scope="col" class="num">{t!(i18n, energy_this_month)} " (" {unit.clone()} ")"</th>
                                <th scope="col" class="num">{t!(i18n, energy_previous_month)}</th>
                                <th scope="col" class="num">{t!(i18n, energy_change)}</th>
                                <th scope="col" class="num">{t!(i18n, energy_carbon_t)}</th>
                            </tr></thead>
                            <tbody>
                                {rows.into_iter().map(|d| {
                                    let link = format!("/energy/districts/{}?{}", d.code, query_string(&[("type", ty.clone()), ("month", month.clone())]));
                                    let (zh, en) = (d.name_zh.clone(), d.name_en.clone());
                                    view! {
                                        <tr>
                                            <th scope="row"><a href=link>{move || pick(i18n.get_locale(), &zh, &en)}</a></th>
                                            <td class="num">{num(d.value)}</td>
                                            <td class="num">{num(d.previous)}</td>
                                            <td class="num">{change(d.value, d.previous).unwrap_or_else(|| "–".into())}</td>
                                            <td class="num">{num(d.carbon_kg / 1000.0)}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                </section>
            }
        })}
        <section aria-labelledby="entities-h">
            <h2 id="entities-h">{if is_city { t!(i18n, energy_top_entities).into_any() } else { t!(i18n, energy_entities).into_any() }}</h2>
            {if o.entities.is_empty() {
                view! { <p class="empty">{t!(i18n, energy_no_entities)}</p> }.into_any()
            } else {
                let ty = ty.clone();
                let month = month.clone();
                view! {
                    <div class="table-wrap">
                        <table class="data" data-testid="entity-table">
                            <thead><tr>
                                <th scope="col">{t!(i18n, energy_entity)}</th>
                                <th scope="col">{t!(i18n, energy_kind)}</th>
                                <th scope="col">{t!(i18n, department)}</th>
                                <th scope="col" class="num">{t!(i18n, energy_this_month)} " (" {unit.clone()} ")"</th>
                                <th scope="col" class="num">{t!(i18n, energy_carbon_t)}</th>
                            </tr></thead>
                            <tbody>
                                {o.entities.into_iter().map(|e| {
                                    let link = format!("/energy/entities/{}?{}", e.id, query_string(&[("type", ty.clone()), ("month", month.clone())]));
                                    let (zh, en) = (e.name_zh.clone(), e.name_en.clone());
                                    let (dzh, den) = (e.department_zh.clone(), e.department_en.clone());
                                    let kind = e.kind.clone();
                                    view! {
                                        <tr>
                                            <th scope="row"><a href=link>{move || pick(i18n.get_locale(), &zh, &en)}</a>
                                                " " <span class="muted mono">{e.code.clone()}</span></th>
                                            <td>{move || kind_label(i18n.get_locale(), &kind)}</td>
                                            <td>{move || pick(i18n.get_locale(), &dzh, &den)}</td>
                                            <td class="num">{num(e.value)}</td>
                                            <td class="num">{num(e.carbon_kg / 1000.0)}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

pub fn kind_label(locale: Locale, kind: &str) -> &'static str {
    match kind {
        "district" => td_string!(locale, energy_kind_district),
        "public_building" => td_string!(locale, energy_kind_public_building),
        "enterprise" => td_string!(locale, energy_kind_enterprise),
        "street_light" => td_string!(locale, energy_kind_street_light),
        "pumping_station" => td_string!(locale, energy_kind_pumping_station),
        _ => td_string!(locale, energy_kind_heating_station),
    }
}
