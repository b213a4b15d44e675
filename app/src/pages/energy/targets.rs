//! Reduction targets (`/energy/targets`): every target with its baseline, target, the year
//! so far, the year-end forecast and a status; energy analysts of the owner department add,
//! change and delete targets here (the server checks that on every write).
use super::{num, type_label};
use crate::api::energy_targets::{
    get_energy_targets, CreateEnergyTarget, DeleteEnergyTarget, TargetRow, TargetsView,
    UpdateEnergyTarget,
};
use crate::components::forms::{error_text, field_error_text, outcome, LoadError, Outcome};
use crate::components::layout::{pick, Loading, RequireArea};
use crate::domain::Area;
use crate::error::{AppError, FieldErrorKind};
use crate::i18n::*;
use crate::pages::admin::qp;
use leptos::prelude::*;
use leptos_meta::Title;

pub fn metric_label(locale: Locale, code: &str) -> &'static str {
    match code {
        "carbon" => td_string!(locale, energy_tg_carbon),
        other => type_label(locale, other),
    }
}

fn status_label(locale: Locale, code: &str) -> &'static str {
    match code {
        "on_track" => td_string!(locale, energy_tg_on_track),
        "at_risk" => td_string!(locale, energy_tg_at_risk),
        "off_track" => td_string!(locale, energy_tg_off_track),
        _ => td_string!(locale, energy_tg_no_data),
    }
}

fn status_class(code: &str) -> &'static str {
    match code {
        "on_track" => "badge badge-ok",
        "at_risk" => "badge badge-warn",
        "off_track" => "badge badge-bad",
        _ => "badge badge-off",
    }
}

/// The message for a field of the target form, in the words of this form.
fn target_err(locale: Locale, field: &str, kind: FieldErrorKind) -> &'static str {
    match (field, kind) {
        ("scope", _) => td_string!(locale, energy_tg_err_scope),
        ("district_code", _) => td_string!(locale, energy_tg_err_district),
        ("entity_id", _) => td_string!(locale, energy_tg_err_entity),
        ("metric", _) => td_string!(locale, energy_tg_err_metric),
        ("baseline_year", FieldErrorKind::BadNumber) => td_string!(locale, energy_tg_err_baseline),
        ("target_year", FieldErrorKind::CodeTaken) => td_string!(locale, energy_tg_err_duplicate),
        ("target_year", FieldErrorKind::BadNumber) => td_string!(locale, energy_tg_err_target_year),
        ("reduction_pct", FieldErrorKind::BadNumber) => td_string!(locale, energy_tg_err_reduction),
        (_, k) => field_error_text(locale, k),
    }
}

/// The error under a field of the target form.
#[component]
fn TErr<T: Clone + Send + Sync + 'static>(
    outcome: Outcome<T>,
    field: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    let msg = move || match outcome.get() {
        Some(Err(e)) => e
            .for_field(field)
            .map(|k| target_err(i18n.get_locale(), field, k)),
        _ => None,
    };
    view! {
        <Show when=move || msg().is_some()>
            <p class="field-error" id=format!("{field}-error") role="alert">{msg}</p>
        </Show>
    }
}

/// An error about the whole form; a stale version says so in this page's words.
#[component]
pub fn TargetFormError<T: Clone + Send + Sync + 'static>(
    outcome: Outcome<T>,
    #[prop(optional)] conflict: Option<&'static str>,
) -> impl IntoView {
    let i18n = use_i18n();
    let msg = move || match outcome.get() {
        Some(Err(AppError::Invalid(_))) | None | Some(Ok(_)) => None,
        Some(Err(AppError::Conflict)) => Some(match conflict {
            Some(c) => c.to_string(),
            None => t_string!(i18n, energy_tg_conflict).to_string(),
        }),
        Some(Err(e)) => Some(error_text(i18n.get_locale(), &e)),
    };
    view! {
        <Show when=move || msg().is_some()>
            <div class="form-error" role="alert" data-testid="form-error">{msg}</div>
        </Show>
    }
}

fn pct(p: Option<f64>) -> String {
    p.map_or_else(
        || "–".into(),
        |p| format!("{}{:.1} %", if p >= 0.0 { "+" } else { "" }, p),
    )
}

#[component]
pub fn TargetsPage() -> impl IntoView {
    let i18n = use_i18n();
    let create = ServerAction::<CreateEnergyTarget>::new();
    let update = ServerAction::<UpdateEnergyTarget>::new();
    let delete = ServerAction::<DeleteEnergyTarget>::new();
    let edit = qp("edit");
    let data = Resource::new(
        move || {
            (
                create.version().get(),
                update.version().get(),
                delete.version().get(),
            )
        },
        |_| get_energy_targets(),
    );
    let deleted = outcome(delete);
    view! {
        <Title text=move || t_string!(i18n, energy_targets).to_string() />
        <RequireArea area=Area::Energy>
            <header class="page-head row">
                <div>
                    <p class="crumbs"><a href="/energy">{t!(i18n, nav_energy)}</a></p>
                    <h1>{t!(i18n, energy_targets)}</h1>
                    <p class="muted">{t!(i18n, energy_tg_intro)}</p>
                </div>
                <div class="actions">
                    <a class="btn" href="/energy/factors" data-testid="factors-link">{t!(i18n, energy_ef_title)}</a>
                </div>
            </header>
            <Show when=move || matches!(deleted.get(), Some(Ok(())))>
                <p class="form-ok" role="status" data-testid="deleted">{t!(i18n, energy_tg_deleted)}</p>
            </Show>
            <TargetFormError outcome=deleted />
            <Transition fallback=Loading>
                {move || {
                    let editing: Option<i64> = edit().parse().ok();
                    Suspend::new(async move {
                        match data.await {
                            Err(e) => view! { <LoadError error=e /> }.into_any(),
                            Ok(v) => view! { <Targets v editing create update delete /> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </RequireArea>
    }
}

#[component]
fn Targets(
    v: TargetsView,
    editing: Option<i64>,
    create: ServerAction<CreateEnergyTarget>,
    update: ServerAction<UpdateEnergyTarget>,
    delete: ServerAction<DeleteEnergyTarget>,
) -> impl IntoView {
    let i18n = use_i18n();
    let can_edit = v.can_edit;
    let current = editing.and_then(|id| v.targets.iter().find(|t| t.id == id).cloned());
    let table = if v.targets.is_empty() {
        view! { <p class="empty" data-testid="targets-empty">{t!(i18n, energy_tg_empty)}</p> }
            .into_any()
    } else {
        view! {
            <div class="table-wrap">
                <table class="data" data-testid="targets-table">
                    <thead><tr>
                        <th scope="col">{t!(i18n, energy_tg_scope)}</th>
                        <th scope="col">{t!(i18n, energy_tg_metric)}</th>
                        <th scope="col" class="num">{t!(i18n, energy_tg_baseline)}</th>
                        <th scope="col" class="num">{t!(i18n, energy_tg_target)}</th>
                        <th scope="col" class="num">{t!(i18n, energy_tg_ytd)}</th>
                        <th scope="col" class="num">{t!(i18n, energy_tg_forecast)}</th>
                        <th scope="col" class="num">{t!(i18n, energy_tg_vs_target)}</th>
                        <th scope="col">{t!(i18n, energy_tg_status)}</th>
                        {can_edit.then(|| view! { <th scope="col"><span class="sr-only">{t!(i18n, actions)}</span></th> })}
                    </tr></thead>
                    <tbody>
                        {v.targets.iter().cloned().map(|t| { let on = editing == Some(t.id); view! { <Row t can_edit editing=on /> } }).collect_view()}
                    </tbody>
                </table>
            </div>
        }.into_any()
    };
    view! {
        {table}
        <p class="help" data-testid="targets-help">{t!(i18n, energy_tg_help)}</p>
        {can_edit.then(|| {
            let v = v.clone();
            match current {
                Some(t) => view! {
                    <section aria-labelledby="target-form-h" id="target-form">
                        <h2 id="target-form-h">{t!(i18n, energy_tg_edit)}</h2>
                        <EditForm v t update delete />
                    </section>
                }.into_any(),
                None => view! {
                    <section aria-labelledby="target-form-h" id="target-form">
                        <h2 id="target-form-h">{t!(i18n, energy_tg_new)}</h2>
                        <CreateForm v create />
                    </section>
                }.into_any(),
            }
        })}
    }
}

#[component]
fn Row(t: TargetRow, can_edit: bool, editing: bool) -> impl IntoView {
    let i18n = use_i18n();
    let (zh, en) = (t.scope_zh.clone(), t.scope_en.clone());
    let is_district = t.scope == "district";
    let metric = t.metric.clone();
    let status = t.status.clone();
    let unit = t.unit.clone();
    let link = if is_district {
        format!("/energy/districts/{}", t.district_code)
    } else {
        format!("/energy/entities/{}", t.entity_id.unwrap_or_default())
    };
    let note = t.note.clone();
    view! {
        <tr data-target-id=t.id data-status=t.status.clone() class:asking=editing>
            <th scope="row">
                <a href=link>{move || pick(i18n.get_locale(), &zh, &en)}</a>
                <div class="sub">
                    {move || if is_district { t_string!(i18n, energy_kind_district) } else { t_string!(i18n, energy_entity) }}
                    {(!note.is_empty()).then(|| view! { " · " {note.clone()} })}
                </div>
            </th>
            <td>
                {move || metric_label(i18n.get_locale(), &metric)}
                <div class="sub">"−" {format!("{}", t.reduction_pct)} " %"</div>
            </td>
            <td class="num">{num(t.baseline_total)} <div class="sub">{t.baseline_year} " · " {unit.clone()}</div></td>
            <td class="num">{num(t.target)} <div class="sub">{t.target_year}</div></td>
            <td class="num">{num(t.ytd_actual)}</td>
            <td class="num">{t.forecast.map(num).unwrap_or_else(|| "–".into())}</td>
            <td class="num">{pct(t.forecast_vs_target_pct)}</td>
            <td><span class=status_class(&t.status)>{move || status_label(i18n.get_locale(), &status)}</span></td>
            {can_edit.then(|| view! {
                <td class="actions">
                    <a class="btn btn-quiet" href=format!("/energy/targets?edit={}#target-form", t.id) data-testid="edit-target">{t!(i18n, energy_tg_edit_short)}</a>
                </td>
            })}
        </tr>
    }
}

/// The fields of a target, filled from `t` when editing.
#[component]
fn Fields<T: Clone + Send + Sync + 'static>(
    v: TargetsView,
    t: Option<TargetRow>,
    out: Outcome<T>,
) -> impl IntoView {
    let i18n = use_i18n();
    let scope = t
        .as_ref()
        .map_or("district".to_string(), |t| t.scope.clone());
    let dcode = t
        .as_ref()
        .filter(|t| t.scope == "district")
        .map(|t| t.district_code.clone())
        .unwrap_or_default();
    let entity = t.as_ref().and_then(|t| t.entity_id).unwrap_or(0);
    let metric = t
        .as_ref()
        .map_or("carbon".to_string(), |t| t.metric.clone());
    let by = t.as_ref().map_or((v.current_year - 1).to_string(), |t| {
        t.baseline_year.to_string()
    });
    let ty = t
        .as_ref()
        .map_or(v.current_year.to_string(), |t| t.target_year.to_string());
    let pct = t
        .as_ref()
        .map_or(String::new(), |t| format!("{}", t.reduction_pct));
    let note = t.as_ref().map_or(String::new(), |t| t.note.clone());
    let inv = move |f: &'static str| {
        move || match out.get() {
            Some(Err(e)) if e.for_field(f).is_some() => "true",
            _ => "false",
        }
    };
    let (max_base, max_target) = (
        v.current_year.to_string(),
        (v.current_year + 15).to_string(),
    );
    view! {
        <div class="field">
            <label for="tg-scope">{t!(i18n, energy_tg_scope)}</label>
            <select id="tg-scope" name="scope" aria-invalid=inv("scope") aria-describedby="scope-error">
                <option value="district" selected=scope == "district">{t!(i18n, energy_kind_district)}</option>
                <option value="entity" selected=scope == "entity">{t!(i18n, energy_entity)}</option>
            </select>
            <TErr outcome=out field="scope" />
        </div>
        <div class="field only-district">
            <label for="tg-district">{t!(i18n, district)}</label>
            <select id="tg-district" name="district_code" aria-invalid=inv("district_code") aria-describedby="district_code-error">
                <option value="">"—"</option>
                {v.districts.iter().cloned().map(|(code, zh, en)| {
                    let sel = code == dcode;
                    view! { <option value=code.clone() selected=sel>{move || pick(i18n.get_locale(), &zh, &en)}</option> }
                }).collect_view()}
            </select>
            <TErr outcome=out field="district_code" />
        </div>
        <div class="field only-entity">
            <label for="tg-entity">{t!(i18n, energy_entity)}</label>
            <select id="tg-entity" name="entity_id" aria-invalid=inv("entity_id") aria-describedby="entity_id-error">
                <option value="">"—"</option>
                {v.entities.iter().cloned().map(|e| {
                    let (zh, en) = (e.name_zh.clone(), e.name_en.clone());
                    let code = e.code.clone();
                    view! { <option value=e.id.to_string() selected=e.id == entity>{move || pick(i18n.get_locale(), &zh, &en)} " (" {code.clone()} ")"</option> }
                }).collect_view()}
            </select>
            <p class="help">{t!(i18n, energy_tg_scope_help)}</p>
            <TErr outcome=out field="entity_id" />
        </div>
        <div class="field">
            <label for="tg-metric">{t!(i18n, energy_tg_metric)}</label>
            <select id="tg-metric" name="metric" aria-invalid=inv("metric") aria-describedby="metric-error">
                {["carbon", "electricity", "heat", "water", "gas"].into_iter().map(|m| view! {
                    <option value=m selected=metric == m>{move || metric_label(i18n.get_locale(), m)}</option>
                }).collect_view()}
            </select>
            <TErr outcome=out field="metric" />
        </div>
        <div class="row-fields">
            <div class="field">
                <label for="tg-baseline">{t!(i18n, energy_tg_baseline_year)}</label>
                <input id="tg-baseline" name="baseline_year" type="number" inputmode="numeric" class="short"
                    min="2000" max=max_base value=by required aria-invalid=inv("baseline_year") aria-describedby="baseline_year-error" />
                <TErr outcome=out field="baseline_year" />
            </div>
            <div class="field">
                <label for="tg-target">{t!(i18n, energy_tg_target_year)}</label>
                <input id="tg-target" name="target_year" type="number" inputmode="numeric" class="short"
                    min="2001" max=max_target value=ty required aria-invalid=inv("target_year") aria-describedby="target_year-error" />
                <TErr outcome=out field="target_year" />
            </div>
            <div class="field">
                <label for="tg-pct">{t!(i18n, energy_tg_reduction)}</label>
                <input id="tg-pct" name="reduction_pct" inputmode="decimal" class="short" value=pct required
                    aria-invalid=inv("reduction_pct") aria-describedby="reduction_pct-error tg-pct-help" />
                <TErr outcome=out field="reduction_pct" />
            </div>
        </div>
        <p class="help" id="tg-pct-help">{t!(i18n, energy_tg_years_help)}</p>
        <div class="field">
            <label for="tg-note">{t!(i18n, energy_tg_note)}</label>
            <textarea id="tg-note" name="note" rows="2" maxlength="500" aria-invalid=inv("note") aria-describedby="note-error">{note}</textarea>
            <TErr outcome=out field="note" />
        </div>
    }
}

#[component]
fn CreateForm(v: TargetsView, create: ServerAction<CreateEnergyTarget>) -> impl IntoView {
    let i18n = use_i18n();
    let out = outcome(create);
    view! {
        <Show when=move || matches!(out.get(), Some(Ok(_)))>
            <p class="form-ok" role="status" data-testid="saved">{t!(i18n, energy_tg_created)}</p>
        </Show>
        <ActionForm action=create attr:class="form medium target-form" attr:data-testid="target-form">
            <Fields v t=None out />
            <TargetFormError outcome=out />
            <div class="form-actions">
                <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>{t!(i18n, energy_tg_create)}</button>
            </div>
        </ActionForm>
    }
}

#[component]
fn EditForm(
    v: TargetsView,
    t: TargetRow,
    update: ServerAction<UpdateEnergyTarget>,
    delete: ServerAction<DeleteEnergyTarget>,
) -> impl IntoView {
    let i18n = use_i18n();
    let out = outcome(update);
    let (id, version) = (t.id, t.version);
    view! {
        <Show when=move || matches!(out.get(), Some(Ok(())))>
            <p class="form-ok" role="status" data-testid="saved">{t!(i18n, saved_ok)}</p>
        </Show>
        <ActionForm action=update attr:class="form medium target-form" attr:data-testid="target-form">
            <input type="hidden" name="id" value=id />
            <input type="hidden" name="version" value=version />
            <Fields v t=Some(t) out />
            <TargetFormError outcome=out />
            <div class="form-actions">
                <button type="submit" class="btn btn-primary" disabled=move || update.pending().get()>{t!(i18n, save)}</button>
                <a class="btn btn-quiet" href="/energy/targets">{t!(i18n, cancel)}</a>
            </div>
        </ActionForm>
        <ActionForm action=delete attr:class="inline delete-target">
            <input type="hidden" name="id" value=id />
            <input type="hidden" name="version" value=version />
            <button type="submit" class="btn btn-danger" data-testid="delete-target"
                disabled=move || delete.pending().get()>{t!(i18n, energy_tg_delete)}</button>
        </ActionForm>
    }
}
