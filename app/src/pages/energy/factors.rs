//! Emission factors (`/energy/factors`): the factors in force, earlier versions folded away,
//! and for energy analysts of the owner department a form to add a factor or revise one.
//! Saving recomputes the carbon of every rollup the factor may change.
use super::type_label;
use crate::api::energy_targets::{
    get_emission_factors, FactorRow, FactorsView, SaveEmissionFactor,
};
use crate::components::forms::{outcome, FieldErr, FormError, LoadError};
use crate::components::layout::{Loading, RequireArea};
use crate::domain::energy::EnergyType;
use crate::domain::Area;
use crate::i18n::*;
use leptos::prelude::*;
use leptos_meta::Title;

fn unit(ty: &str) -> String {
    format!(
        "kg CO₂/{}",
        EnergyType::from_code(ty).map_or("", EnergyType::unit)
    )
}

#[component]
pub fn FactorsPage() -> impl IntoView {
    let i18n = use_i18n();
    let add = ServerAction::<SaveEmissionFactor>::new();
    let revise = ServerAction::<SaveEmissionFactor>::new();
    let data = Resource::new(
        move || (add.version().get(), revise.version().get()),
        |_| get_emission_factors(),
    );
    let revised = outcome(revise);
    view! {
        <Title text=move || t_string!(i18n, energy_ef_title).to_string() />
        <RequireArea area=Area::Energy>
            <header class="page-head">
                <p class="crumbs">
                    <a href="/energy">{t!(i18n, nav_energy)}</a> " › "
                    <a href="/energy/targets">{t!(i18n, energy_targets)}</a>
                </p>
                <h1>{t!(i18n, energy_ef_title)}</h1>
                <p class="muted">{t!(i18n, energy_ef_intro)}</p>
            </header>
            {move || match revised.get() {
                Some(Ok(s)) => Some(view! {
                    <p class="form-ok" role="status" data-testid="revised">
                        {t!(i18n, energy_ef_saved)} " " {s.recomputed_rows} " " {t!(i18n, energy_ef_rows)}
                    </p>
                }),
                _ => None,
            }}
            <FormError outcome=revised />
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(v) => view! { <Factors v add revise /> }.into_any(),
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

#[component]
fn Factors(
    v: FactorsView,
    add: ServerAction<SaveEmissionFactor>,
    revise: ServerAction<SaveEmissionFactor>,
) -> impl IntoView {
    let i18n = use_i18n();
    let can_edit = v.can_edit;
    let n_old = v.superseded.len();
    let region = v.region.clone();
    view! {
        <p class="help">{t!(i18n, energy_ef_region)} " " <span class="mono">{v.region.clone()}</span></p>
        {if v.current.is_empty() {
            view! { <p class="empty">{t!(i18n, energy_ef_empty)}</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap">
                    <table class="data" data-testid="factors-table">
                        <thead><tr>
                            <th scope="col">{t!(i18n, energy_ef_year)}</th>
                            <th scope="col">{t!(i18n, energy_ef_region_col)}</th>
                            <th scope="col">{t!(i18n, energy_type)}</th>
                            <th scope="col" class="num">{t!(i18n, energy_ef_kg)}</th>
                            <th scope="col">{t!(i18n, energy_source)}</th>
                            <th scope="col">{t!(i18n, energy_ef_since)}</th>
                            {can_edit.then(|| view! { <th scope="col"><span class="sr-only">{t!(i18n, actions)}</span></th> })}
                        </tr></thead>
                        <tbody>
                            {v.current.into_iter().map(|f| view! { <Current f can_edit revise /> }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
        {(n_old > 0).then(|| view! {
            <details class="superseded" data-testid="superseded">
                <summary>{t!(i18n, energy_ef_superseded)} " (" {n_old} ")"</summary>
                <div class="table-wrap">
                    <table class="data compact">
                        <thead><tr>
                            <th scope="col">{t!(i18n, energy_ef_year)}</th>
                            <th scope="col">{t!(i18n, energy_ef_region_col)}</th>
                            <th scope="col">{t!(i18n, energy_type)}</th>
                            <th scope="col" class="num">{t!(i18n, energy_ef_kg)}</th>
                            <th scope="col">{t!(i18n, energy_source)}</th>
                            <th scope="col">{t!(i18n, energy_ef_since)}</th>
                            <th scope="col">{t!(i18n, energy_ef_superseded_at)}</th>
                        </tr></thead>
                        <tbody>
                            {v.superseded.into_iter().map(|f| {
                                let ty = f.energy_type.clone();
                                view! {
                                    <tr>
                                        <td>{f.year}</td>
                                        <td class="mono">{f.region.clone()}</td>
                                        <td>{move || type_label(i18n.get_locale(), &ty)}</td>
                                        <td class="num">{format!("{}", f.kg_per_unit)} " " <small>{unit(&f.energy_type)}</small></td>
                                        <td>{f.source.clone()}</td>
                                        <td class="nowrap">{f.since.clone()}</td>
                                        <td class="nowrap">{f.superseded_at.clone().unwrap_or_default()}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
        })}
        {can_edit.then(|| view! { <AddForm add region /> })}
    }
}

#[component]
fn Current(
    f: FactorRow,
    can_edit: bool,
    revise: ServerAction<SaveEmissionFactor>,
) -> impl IntoView {
    let i18n = use_i18n();
    let ty = f.energy_type.clone();
    let kg_id = format!("kg-{}", f.id);
    let src_id = format!("src-{}", f.id);
    view! {
        <tr data-factor-id=f.id>
            <td>{f.year}</td>
            <td class="mono">{f.region.clone()}</td>
            <td>{move || type_label(i18n.get_locale(), &ty)}</td>
            <td class="num">{format!("{}", f.kg_per_unit)} " " <small>{unit(&f.energy_type)}</small></td>
            <td>{f.source.clone()}</td>
            <td class="nowrap">{f.since.clone()}</td>
            {can_edit.then(|| view! {
                <td class="actions">
                    <details class="revise">
                        <summary class="btn btn-quiet">{t!(i18n, energy_ef_revise)}</summary>
                        <ActionForm action=revise attr:class="form revise-form">
                            <input type="hidden" name="year" value=f.year />
                            <input type="hidden" name="region" value=f.region.clone() />
                            <input type="hidden" name="energy_type" value=f.energy_type.clone() />
                            <div class="field">
                                <label for=kg_id.clone()>{t!(i18n, energy_ef_kg)}</label>
                                <input id=kg_id name="kg_per_unit" inputmode="decimal" class="short" value=format!("{}", f.kg_per_unit) required />
                            </div>
                            <div class="field">
                                <label for=src_id.clone()>{t!(i18n, energy_source)}</label>
                                <input id=src_id name="source" maxlength="200" required />
                            </div>
                            <p class="help">{t!(i18n, energy_ef_revise_help)}</p>
                            <button type="submit" class="btn btn-primary" disabled=move || revise.pending().get()>{t!(i18n, energy_ef_revise_save)}</button>
                        </ActionForm>
                    </details>
                </td>
            })}
        </tr>
    }
}

#[component]
fn AddForm(add: ServerAction<SaveEmissionFactor>, region: String) -> impl IntoView {
    let i18n = use_i18n();
    let out = outcome(add);
    let inv = move |f: &'static str| {
        move || match out.get() {
            Some(Err(e)) if e.for_field(f).is_some() => "true",
            _ => "false",
        }
    };
    view! {
        <section aria-labelledby="factor-new-h">
            <h2 id="factor-new-h">{t!(i18n, energy_ef_new)}</h2>
            {move || match out.get() {
                Some(Ok(s)) => Some(view! {
                    <p class="form-ok" role="status" data-testid="saved">
                        {t!(i18n, energy_ef_saved)} " " {s.recomputed_rows} " " {t!(i18n, energy_ef_rows)}
                    </p>
                }),
                _ => None,
            }}
            <ActionForm action=add attr:class="form narrow" attr:data-testid="factor-form">
                <div class="row-fields">
                    <div class="field">
                        <label for="ef-year">{t!(i18n, energy_ef_year)}</label>
                        <input id="ef-year" name="year" type="number" min="2000" max="2100" class="short" required
                            aria-invalid=inv("year") aria-describedby="year-error" />
                        <FieldErr outcome=out field="year" />
                    </div>
                    <div class="field">
                        <label for="ef-region">{t!(i18n, energy_ef_region_col)}</label>
                        <input id="ef-region" name="region" value=region class="mono" maxlength="40"
                            aria-invalid=inv("region") aria-describedby="region-error" />
                        <FieldErr outcome=out field="region" />
                    </div>
                </div>
                <div class="field">
                    <label for="ef-type">{t!(i18n, energy_type)}</label>
                    <select id="ef-type" name="energy_type" aria-invalid=inv("energy_type")>
                        {EnergyType::ALL.into_iter().map(|t| view! {
                            <option value=t.code()>{move || type_label(i18n.get_locale(), t.code())} " (" {t.unit()} ")"</option>
                        }).collect_view()}
                    </select>
                    <FieldErr outcome=out field="energy_type" />
                </div>
                <div class="field">
                    <label for="ef-kg">{t!(i18n, energy_ef_kg)}</label>
                    <input id="ef-kg" name="kg_per_unit" inputmode="decimal" class="short" required
                        aria-invalid=inv("kg_per_unit") aria-describedby="kg_per_unit-error ef-kg-help" />
                    <p class="help" id="ef-kg-help">{t!(i18n, energy_ef_kg_help)}</p>
                    <FieldErr outcome=out field="kg_per_unit" />
                </div>
                <div class="field">
                    <label for="ef-source">{t!(i18n, energy_source)}</label>
                    <input id="ef-source" name="source" maxlength="200" required
                        aria-invalid=inv("source") aria-describedby="source-error" />
                    <FieldErr outcome=out field="source" />
                </div>
                <p class="help">{t!(i18n, energy_ef_revise_help)}</p>
                <FormError outcome=out />
                <div class="form-actions">
                    <button type="submit" class="btn btn-primary" disabled=move || add.pending().get()>{t!(i18n, save)}</button>
                </div>
            </ActionForm>
        </section>
    }
}
