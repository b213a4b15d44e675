use super::{num, type_label, ChartBox};
use crate::api::energy::{dismiss_anomaly, get_anomaly, list_anomalies};
use crate::components::forms::LoadError;
use crate::components::layout::{pick, Loading, RequireArea};
use crate::domain::Area;
use crate::i18n::*;
use crate::model::{AnomalyRow, AnomalyView};
use crate::pages::admin::qp;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

fn kind_label(l: Locale, k: &str) -> &'static str {
    if k == "night_base" {
        td_string!(l, anomaly_kind_night_base)
    } else {
        td_string!(l, anomaly_kind_spike)
    }
}

fn state_label(l: Locale, s: &str) -> &'static str {
    match s {
        "case_opened" => td_string!(l, anomaly_state_case_opened),
        "dismissed" => td_string!(l, anomaly_state_dismissed),
        _ => td_string!(l, anomaly_state_open),
    }
}

fn ratio(a: &AnomalyRow) -> String {
    if a.expected > 0.0 {
        format!("× {:.1}", a.observed / a.expected)
    } else {
        "–".into()
    }
}

/// Anomalies found against each entity's own hour-of-week history (`/energy/anomalies`).
#[component]
pub fn AnomaliesPage() -> impl IntoView {
    let i18n = use_i18n();
    let state = qp("state");
    let list = Resource::new(state, list_anomalies);
    let tab = move |code: &'static str| {
        let href = if code.is_empty() {
            "/energy/anomalies".to_string()
        } else {
            format!("/energy/anomalies?state={code}")
        };
        view! {
            <a href=href class:active=move || state() == code
                aria-current=move || (state() == code).then_some("page")>
                {move || if code.is_empty() { t_string!(i18n, anomaly_all) } else { state_label(i18n.get_locale(), code) }}
            </a>
        }
    };
    view! {
        <Title text=move || t_string!(i18n, energy_anomalies).to_string() />
        <RequireArea area=Area::Energy>
            <header class="page-head">
                <p class="crumbs"><a href="/energy">{t!(i18n, nav_energy)}</a></p>
                <h1>{t!(i18n, energy_anomalies)}</h1>
                <p class="muted">{t!(i18n, anomaly_intro)}</p>
            </header>
            <nav class="tabs" aria-label=move || t_string!(i18n, anomaly_state)>
                {tab("open")} {tab("case_opened")} {tab("dismissed")} {tab("")}
            </nav>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(v) if v.is_empty() => view! { <p class="empty">{t!(i18n, anomaly_none)}</p> }.into_any(),
                        Ok(v) => view! {
                            <div class="table-wrap">
                                <table class="data" data-testid="anomaly-table">
                                    <thead><tr>
                                        <th scope="col">{t!(i18n, anomaly_when)}</th>
                                        <th scope="col">{t!(i18n, energy_entity)}</th>
                                        <th scope="col">{t!(i18n, anomaly_kind)}</th>
                                        <th scope="col" class="num">{t!(i18n, anomaly_observed)}</th>
                                        <th scope="col" class="num">{t!(i18n, anomaly_expected)}</th>
                                        <th scope="col" class="num">{t!(i18n, anomaly_ratio)}</th>
                                        <th scope="col">{t!(i18n, anomaly_state)}</th>
                                    </tr></thead>
                                    <tbody>
                                        {v.into_iter().map(|a| {
                                            let (zh, en) = (a.entity_zh.clone(), a.entity_en.clone());
                                            let (kind, st, ty) = (a.kind.clone(), a.state.clone(), a.energy_type.clone());
                                            let r = ratio(&a);
                                            view! {
                                                <tr>
                                                    <th scope="row"><a href=format!("/energy/anomalies/{}", a.id)>{a.hour.clone()}</a></th>
                                                    <td>{move || pick(i18n.get_locale(), &zh, &en)} " " <span class="muted">{move || type_label(i18n.get_locale(), &ty)}</span></td>
                                                    <td>{move || kind_label(i18n.get_locale(), &kind)}</td>
                                                    <td class="num">{num(a.observed)} " " {a.unit.clone()}</td>
                                                    <td class="num">{num(a.expected)}</td>
                                                    <td class="num">{r}</td>
                                                    <td>{move || state_label(i18n.get_locale(), &st)}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

/// One anomaly with its evidence (`/energy/anomalies/:id`).
#[component]
pub fn AnomalyPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let reload = RwSignal::new(0u32);
    let data = Resource::new(
        move || (id(), i18n.get_locale(), reload.get()),
        |(id, l, _)| {
            get_anomaly(
                id,
                if l == Locale::en {
                    "en".into()
                } else {
                    "zh".into()
                },
            )
        },
    );
    view! {
        <Title text=move || t_string!(i18n, energy_anomalies).to_string() />
        <RequireArea area=Area::Energy>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(v) => view! { <Anomaly v reload /> }.into_any(),
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

#[component]
fn Anomaly(v: AnomalyView, reload: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let a = v.anomaly.clone();
    let (zh, en) = (a.entity_zh.clone(), a.entity_en.clone());
    let (kind, st) = (a.kind.clone(), a.state.clone());
    let id = a.id;
    let failed = RwSignal::new(None::<crate::error::AppError>);
    let dismiss = move |_| {
        leptos::task::spawn_local(async move {
            match dismiss_anomaly(id).await {
                Ok(()) => reload.update(|n| *n += 1),
                Err(e) => failed.set(Some(e)),
            }
        });
    };
    let open = a.state == "open";
    view! {
        <header class="page-head">
            <p class="crumbs"><a href="/energy">{t!(i18n, nav_energy)}</a> " › " <a href="/energy/anomalies">{t!(i18n, energy_anomalies)}</a></p>
            <h1>{move || kind_label(i18n.get_locale(), &kind)} " · " {move || pick(i18n.get_locale(), &zh, &en)}</h1>
            <p class="muted">{a.hour.clone()} " · " {t!(i18n, anomaly_state)} " " <span data-testid="anomaly-state">{move || state_label(i18n.get_locale(), &st)}</span>
                " · " {t!(i18n, anomaly_detected)} " " {a.detected_at.clone()}</p>
        </header>
        <ul class="figures">
            <li class="figure"><span class="figure-label">{t!(i18n, anomaly_observed)}</span>
                <span class="figure-value">{num(a.observed)} " " <small>{a.unit.clone()}</small></span></li>
            <li class="figure"><span class="figure-label">{t!(i18n, anomaly_expected)}</span>
                <span class="figure-value">{num(a.expected)} " " <small>{a.unit.clone()}</small></span></li>
            <li class="figure"><span class="figure-label">{t!(i18n, anomaly_ratio)}</span>
                <span class="figure-value">{ratio(&a)}</span></li>
        </ul>
        <ChartBox chart=v.evidence />
        <p><a href=format!("/energy/entities/{}?type={}", a.entity_id, a.energy_type)>{t!(i18n, energy_entity)} " " {a.entity_code.clone()}</a></p>
        {move || failed.get().map(|e| view! { <LoadError error=e /> })}
        {(v.can_edit && open).then(|| view! {
            <div class="form-actions">
                <button type="button" class="btn" data-testid="anomaly-dismiss" on:click=dismiss>{t!(i18n, anomaly_dismiss)}</button>
            </div>
        })}
    }
}
