//! The data catalogue (`/catalogue`, staff): every dataset with owner, description, freshness
//! and who may read it; the owning department's head or an administrator grants and revokes
//! read access (the server checks role and department again).
use crate::api::datasets::{get_data_catalogue, GrantDataset, RevokeDatasetGrant};
use crate::components::forms::{outcome, FormError, LoadError};
use crate::components::layout::{pick, Loading, RequireArea};
use crate::domain::Area;
use crate::i18n::*;
use crate::model::{CatalogueEntry, GrantRow};
use crate::pages::data::frequency_label;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn CataloguePage() -> impl IntoView {
    let i18n = use_i18n();
    let grant = ServerAction::<GrantDataset>::new();
    let revoke = ServerAction::<RevokeDatasetGrant>::new();
    let view_data = Resource::new(
        move || (grant.version().get(), revoke.version().get()),
        |_| get_data_catalogue(),
    );
    let granted = outcome(grant);
    let revoked = outcome(revoke);
    view! {
        <Title text=move || t_string!(i18n, nav_data_catalogue).to_string() />
        <RequireArea area=Area::DataCatalogue>
            <header class="page-head">
                <h1>{t!(i18n, nav_data_catalogue)}</h1>
                <p class="muted">{t!(i18n, data_cat_intro)}</p>
                <p><a href="/data">{t!(i18n, data_cat_public_page)}</a></p>
            </header>
            <FormError outcome=granted />
            <FormError outcome=revoked />
            <Show when=move || matches!(granted.get(), Some(Ok(_)))>
                <p class="form-ok" role="status" data-testid="granted">{t!(i18n, data_cat_granted_ok)}</p>
            </Show>
            <Show when=move || matches!(revoked.get(), Some(Ok(())))>
                <p class="form-ok" role="status" data-testid="revoked">{t!(i18n, data_cat_revoked_ok)}</p>
            </Show>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match view_data.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(v) => {
                            let depts = v.departments.clone();
                            view! {
                                <div class="dataset-list">
                                    {v.entries.into_iter().map(|e| {
                                        let depts = depts.clone();
                                        view! { <Entry e depts grant revoke /> }
                                    }).collect_view()}
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

#[component]
fn Entry(
    e: CatalogueEntry,
    depts: Vec<(i64, String, String)>,
    grant: ServerAction<GrantDataset>,
    revoke: ServerAction<RevokeDatasetGrant>,
) -> impl IntoView {
    let i18n = use_i18n();
    let info = e.info;
    let code = info.code.clone();
    let (tzh, ten) = (info.title_zh.clone(), info.title_en.clone());
    let (dzh, den) = (info.description_zh.clone(), info.description_en.clone());
    let (ozh, oen) = (info.owner_zh.clone(), info.owner_en.clone());
    let freq = info.frequency.clone();
    let last = info.last_update.clone().unwrap_or_else(|| "—".to_string());
    let public = info.public;
    let can_grant = e.can_grant;
    let active: Vec<GrantRow> = e
        .grants
        .iter()
        .filter(|g| g.revoked_at.is_none())
        .cloned()
        .collect();
    let readers = if public {
        view! { <p data-testid="readers">{t!(i18n, data_cat_everyone)}</p> }.into_any()
    } else {
        let names = active
            .iter()
            .map(|g| {
                let (zh, en) = (g.department_zh.clone(), g.department_en.clone());
                view! { <li data-testid="grantee">{move || pick(i18n.get_locale(), &zh, &en)}</li> }
            })
            .collect_view();
        let none = active.is_empty();
        view! {
            <div data-testid="readers">
                <p>{t!(i18n, data_cat_base_readers)}</p>
                {if none {
                    view! { <p class="muted">{t!(i18n, data_cat_no_grants)}</p> }.into_any()
                } else {
                    view! { <p class="sub">{t!(i18n, data_cat_granted_to)}</p><ul class="grantees">{names}</ul> }.into_any()
                }}
            </div>
        }
        .into_any()
    };
    let history = (!public && !e.grants.is_empty()).then(|| {
        let rows = e
            .grants
            .iter()
            .cloned()
            .map(|g| {
                let (zh, en) = (g.department_zh.clone(), g.department_en.clone());
                let in_force = g.revoked_at.is_none();
                let id = g.id;
                let action = (in_force && can_grant).then(|| {
                    view! {
                        <ActionForm action=revoke attr:class="inline">
                            <input type="hidden" name="id" value=id />
                            <button type="submit" class="btn btn-quiet" data-testid="revoke"
                                disabled=move || revoke.pending().get()>{t!(i18n, data_cat_revoke)}</button>
                        </ActionForm>
                    }
                });
                view! {
                    <tr data-grant-id=id class:revoked=!in_force>
                        <td>{move || pick(i18n.get_locale(), &zh, &en)}</td>
                        <td class="nowrap">{g.granted_at.clone()} <div class="sub">{g.granted_by.clone()}</div></td>
                        <td class="nowrap">
                            {g.revoked_at.clone().unwrap_or_else(|| "—".into())}
                            <div class="sub">{g.revoked_by.clone().unwrap_or_default()}</div>
                        </td>
                        <td>
                            {if in_force {
                                view! { <span class="badge badge-ok">{t!(i18n, data_cat_in_force)}</span> }.into_any()
                            } else {
                                view! { <span class="badge badge-off">{t!(i18n, data_cat_revoked)}</span> }.into_any()
                            }}
                        </td>
                        <td class="actions">{action}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <details class="grant-history" open=can_grant>
                <summary>{t!(i18n, data_cat_history)}</summary>
                <div class="table-wrap">
                    <table class="table" data-testid="grants">
                        <thead>
                            <tr>
                                <th scope="col">{t!(i18n, data_cat_department)}</th>
                                <th scope="col">{t!(i18n, data_cat_granted_at)}</th>
                                <th scope="col">{t!(i18n, data_cat_revoked_at)}</th>
                                <th scope="col">{t!(i18n, data_cat_state)}</th>
                                <th scope="col"><span class="sr-only">{t!(i18n, actions)}</span></th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </details>
        }
    });
    let owner_id = info.owner_id;
    let grant_form = can_grant.then(|| {
        let options = depts
            .into_iter()
            .filter(|(id, _, _)| Some(*id) != owner_id && !active.iter().any(|g| g.department_id == *id))
            .map(|(id, zh, en)| view! { <option value=id>{move || pick(i18n.get_locale(), &zh, &en)}</option> })
            .collect_view();
        let select_id = format!("grant-{code}");
        view! {
            <ActionForm action=grant attr:class="form grant-form" attr:data-testid="grant-form">
                <input type="hidden" name="dataset" value=code.clone() />
                <div class="field">
                    <label for=select_id.clone()>{t!(i18n, data_cat_department)}</label>
                    <select id=select_id name="department_id" required data-testid="grant-department">
                        <option value="">{t!(i18n, data_cat_choose)}</option>
                        {options}
                    </select>
                </div>
                <div class="form-actions">
                    <button type="submit" class="btn btn-primary" data-testid="grant"
                        disabled=move || grant.pending().get()>{t!(i18n, data_cat_grant)}</button>
                </div>
            </ActionForm>
        }
    });
    let who_grants = (!public && !can_grant)
        .then(|| view! { <p class="help">{t!(i18n, data_cat_who_grants)}</p> });
    view! {
        <article class="dataset-card" data-testid=format!("catalogue-{}", info.code)>
            <div class="dataset-head">
                <h2>{move || pick(i18n.get_locale(), &tzh, &ten)}</h2>
                {if public {
                    view! { <span class="badge badge-ok">{t!(i18n, data_cat_public)}</span> }.into_any()
                } else {
                    view! { <span class="badge badge-warn">{t!(i18n, data_cat_restricted)}</span> }.into_any()
                }}
                {e.granted_to_me.then(|| view! { <span class="badge badge-info" data-testid="mine">{t!(i18n, data_cat_mine)}</span> })}
            </div>
            <p>{move || pick(i18n.get_locale(), &dzh, &den)}</p>
            <dl class="dataset-facts">
                <div><dt>{t!(i18n, data_cat_code)}</dt><dd class="mono">{info.code.clone()}</dd></div>
                <div><dt>{t!(i18n, data_owner)}</dt><dd data-testid="owner">{move || pick(i18n.get_locale(), &ozh, &oen)}</dd></div>
                <div><dt>{t!(i18n, data_frequency)}</dt><dd>{move || frequency_label(i18n.get_locale(), &freq)}</dd></div>
                <div><dt>{t!(i18n, data_last_update)}</dt><dd>{last}</dd></div>
                {public.then(|| view! { <div><dt>{t!(i18n, data_licence)}</dt><dd>{info.licence.clone()}</dd></div> })}
            </dl>
            <h3>{t!(i18n, data_cat_readers)}</h3>
            {readers}
            {history}
            {grant_form}
            {who_grants}
        </article>
    }
}
