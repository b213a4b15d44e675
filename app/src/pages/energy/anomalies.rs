use super::{num, type_label, ChartBox};
use crate::api::energy::{get_anomaly, list_anomalies, DismissAnomaly, OpenAnomalyCase};
use crate::components::forms::{invalid, outcome, FieldErr, FormError, LoadError};
use crate::components::layout::{pick, Loading, RequireArea};
use crate::domain::workflow::State;
use crate::domain::Area;
use crate::i18n::*;
use crate::model::{AnomalyRow, AnomalyView};
use crate::pages::admin::qp;
use crate::pages::cases::{state_label as case_state_label, ClassOptions};
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
    let dismiss = ServerAction::<DismissAnomaly>::new();
    let open_case = ServerAction::<OpenAnomalyCase>::new();
    let data = Resource::new(
        move || {
            (
                id(),
                i18n.get_locale(),
                dismiss.version().get(),
                open_case.version().get(),
            )
        },
        |(id, l, ..)| {
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
                        Ok(v) => view! { <Anomaly v dismiss open_case /> }.into_any(),
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

#[component]
fn Anomaly(
    v: AnomalyView,
    dismiss: ServerAction<DismissAnomaly>,
    open_case: ServerAction<OpenAnomalyCase>,
) -> impl IntoView {
    let i18n = use_i18n();
    let a = v.anomaly.clone();
    let (zh, en) = (a.entity_zh.clone(), a.entity_en.clone());
    let (zh2, en2) = (zh.clone(), en.clone());
    let (kind, st) = (a.kind.clone(), a.state.clone());
    let (dzh, den) = (v.department_zh.clone(), v.department_en.clone());
    let dismissed = outcome(dismiss);
    let opened = outcome(open_case);
    let open = a.state == "open";
    let case_fact = v.case_code.clone().map(|code| {
        let link = match (v.may_cases, a.case_id) {
            (true, Some(cid)) => view! { <a class="mono" href=format!("/cases/{cid}")>{code}</a> }.into_any(),
            _ => view! { <span class="mono">{code}</span> }.into_any(),
        };
        let state = v.case_state.as_deref().and_then(State::from_code);
        view! {
            <dt>{t!(i18n, anomaly_case)}</dt>
            <dd data-testid="anomaly-case">{link} {state.map(|s| view! { " · " {move || case_state_label(i18n.get_locale(), s)} })}</dd>
        }
    });
    let grid = v.grid_code.clone();
    let edit = (v.can_edit && open).then(|| {
        let form = match grid.clone() {
            None => view! { <p class="notice-inline" data-testid="anomaly-no-grid">{t!(i18n, anomaly_no_grid)}</p> }.into_any(),
            Some(_) => view! {
                <ActionForm action=open_case attr:class="step-form" attr:data-testid="anomaly-open-case">
                    <input type="hidden" name="id" value=a.id />
                    <h3>{t!(i18n, anomaly_open_case)}</h3>
                    <p class="help">{t!(i18n, anomaly_open_case_help)}</p>
                    <div class="field">
                        <label for="class_id">{t!(i18n, case_class)}</label>
                        <select id="class_id" name="class_id" required
                            aria-invalid=invalid(opened, "class_id") aria-describedby="class_id-error">
                            <ClassOptions classes=v.classes.clone() chosen=v.suggested_class />
                        </select>
                        <FieldErr outcome=opened field="class_id" />
                    </div>
                    <div class="field">
                        <label for="description">{t!(i18n, escalate_description)}</label>
                        <textarea id="description" name="description" rows="3" maxlength="2000"
                            aria-invalid=invalid(opened, "description") aria-describedby="description-help description-error"></textarea>
                        <p class="help" id="description-help">{t!(i18n, anomaly_description_help)}</p>
                        <FieldErr outcome=opened field="description" />
                    </div>
                    <button type="submit" class="btn btn-primary" disabled=move || open_case.pending().get()>{t!(i18n, anomaly_open_case)}</button>
                </ActionForm>
            }.into_any(),
        };
        view! {
            <section class="card">
                <h2>{t!(i18n, case_actions)}</h2>
                <FormError outcome=opened />
                {form}
                <ActionForm action=dismiss attr:class="step-form" attr:data-testid="anomaly-dismiss-form">
                    <input type="hidden" name="id" value=a.id />
                    <FormError outcome=dismissed />
                    <button type="submit" class="btn" data-testid="anomaly-dismiss" disabled=move || dismiss.pending().get()>{t!(i18n, anomaly_dismiss)}</button>
                </ActionForm>
            </section>
        }
    });
    view! {
        <header class="page-head">
            <p class="crumbs"><a href="/energy">{t!(i18n, nav_energy)}</a> " › " <a href="/energy/anomalies">{t!(i18n, energy_anomalies)}</a></p>
            <h1>{move || kind_label(i18n.get_locale(), &kind)} " · " {move || pick(i18n.get_locale(), &zh, &en)}</h1>
            <p class="muted">{a.hour.clone()} " · " {t!(i18n, anomaly_state)} " " <span data-testid="anomaly-state">{move || state_label(i18n.get_locale(), &st)}</span>
                " · " {t!(i18n, anomaly_detected)} " " {a.detected_at.clone()}</p>
        </header>
        {matches!(opened.get_untracked(), Some(Ok(_))).then(|| view! {
            <p class="form-ok" role="status" data-testid="anomaly-case-opened">{t!(i18n, anomaly_case_opened_ok)}</p>
        })}
        <ul class="figures">
            <li class="figure"><span class="figure-label">{t!(i18n, anomaly_observed)}</span>
                <span class="figure-value">{num(a.observed)} " " <small>{a.unit.clone()}</small></span></li>
            <li class="figure"><span class="figure-label">{t!(i18n, anomaly_expected)}</span>
                <span class="figure-value">{num(a.expected)} " " <small>{a.unit.clone()}</small></span></li>
            <li class="figure"><span class="figure-label">{t!(i18n, anomaly_ratio)}</span>
                <span class="figure-value">{ratio(&a)}</span></li>
        </ul>
        <ChartBox chart=v.evidence />
        <div class="detail-grid">
            <section class="card facts">
                <h2>{t!(i18n, anomaly_facts)}</h2>
                <dl>
                    <dt>{t!(i18n, energy_entity)}</dt>
                    <dd><a href=format!("/energy/entities/{}?type={}", a.entity_id, a.energy_type)>{a.entity_code.clone()}</a>
                        " " {move || pick(i18n.get_locale(), &zh2, &en2)}</dd>
                    <dt>{t!(i18n, anomaly_department)}</dt>
                    <dd data-testid="anomaly-department">{move || pick(i18n.get_locale(), &dzh, &den)}</dd>
                    <dt>{t!(i18n, anomaly_grid)}</dt>
                    <dd class="mono">{grid.unwrap_or_else(|| "—".into())}</dd>
                    {case_fact}
                </dl>
            </section>
            {edit}
        </div>
    }
}
