use super::qp;
use crate::api::admin::{list_departments, SaveDepartment};
use crate::components::forms::{invalid, outcome, FieldErr, FormError, LoadError};
use crate::components::layout::{Loading, RequireArea};
use crate::domain::Area;
use crate::i18n::*;
use crate::model::Department;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn DepartmentList() -> impl IntoView {
    let i18n = use_i18n();
    let saved = qp("saved");
    let depts = Resource::new(|| (), |_| list_departments());
    view! {
        <Title text=move || t_string!(i18n, nav_departments).to_string() />
        <RequireArea area=Area::AdminDepartments>
            <header class="page-head row">
                <h1>{t!(i18n, nav_departments)}</h1>
                <a class="btn btn-primary" href="/admin/departments/new">{t!(i18n, departments_new)}</a>
            </header>
            <Show when=move || saved() == "1">
                <p class="form-ok" role="status" data-testid="saved">{t!(i18n, saved_ok)}</p>
            </Show>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match depts.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty">{t!(i18n, departments_empty)}</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap">
                                <table class="table" data-testid="departments-table">
                                    <thead>
                                        <tr>
                                            <th scope="col">{t!(i18n, field_code)}</th>
                                            <th scope="col">{t!(i18n, field_name_zh)}</th>
                                            <th scope="col">{t!(i18n, field_name_en)}</th>
                                            <th scope="col" class="num">{t!(i18n, departments_users)}</th>
                                            <th scope="col">{t!(i18n, field_status)}</th>
                                            <th scope="col"><span class="sr-only">{t!(i18n, actions)}</span></th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list.into_iter().map(|d| {
                                            let href = format!("/admin/departments/{}", d.id);
                                            view! {
                                                <tr>
                                                    <td class="mono">{d.code.clone()}</td>
                                                    <td lang="zh">{d.name_zh.clone()}</td>
                                                    <td lang="en">{d.name_en.clone()}</td>
                                                    <td class="num">{d.user_count}</td>
                                                    <td>
                                                        {if d.active {
                                                            view! { <span class="badge badge-ok">{t!(i18n, status_active)}</span> }.into_any()
                                                        } else {
                                                            view! { <span class="badge badge-off">{t!(i18n, status_inactive)}</span> }.into_any()
                                                        }}
                                                    </td>
                                                    <td class="actions"><a class="btn btn-quiet" href=href>{t!(i18n, edit)}</a></td>
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

/// Edits a department, or creates one at `/admin/departments/new`.
#[component]
pub fn DepartmentEdit() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let action = ServerAction::<SaveDepartment>::new();
    let result = outcome(action);
    let depts = Resource::new(|| (), |_| list_departments());
    view! {
        <Title text=move || t_string!(i18n, nav_departments).to_string() />
        <RequireArea area=Area::AdminDepartments>
            <nav class="crumbs"><a href="/admin/departments">{t!(i18n, nav_departments)}</a></nav>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    let id = id();
                    let list = match depts.await {
                        Ok(l) => l,
                        Err(e) => return view! { <LoadError error=e /> }.into_any(),
                    };
                    let d = if id == 0 {
                        Department { id: 0, code: String::new(), name_zh: String::new(), name_en: String::new(), active: true, user_count: 0 }
                    } else {
                        match list.into_iter().find(|d| d.id == id) {
                            Some(d) => d,
                            None => return view! { <crate::pages::not_found::NotFound /> }.into_any(),
                        }
                    };
                    view! {
                        <h1>{if id == 0 { t!(i18n, departments_new).into_any() } else { t!(i18n, departments_edit).into_any() }}</h1>
                        <ActionForm action=action attr:class="form narrow" attr:data-testid="department-form">
                            <input type="hidden" name="id" value=id />
                            <div class="field">
                                <label for="code">{t!(i18n, field_code)}</label>
                                <input id="code" name="code" required maxlength="32" value=d.code.clone()
                                    aria-invalid=invalid(result, "code") aria-describedby="code-error" />
                                <FieldErr outcome=result field="code" />
                            </div>
                            <div class="field">
                                <label for="name_zh">{t!(i18n, field_name_zh)}</label>
                                <input id="name_zh" name="name_zh" lang="zh" required maxlength="64" value=d.name_zh.clone()
                                    aria-invalid=invalid(result, "name_zh") aria-describedby="name_zh-error" />
                                <FieldErr outcome=result field="name_zh" />
                            </div>
                            <div class="field">
                                <label for="name_en">{t!(i18n, field_name_en)}</label>
                                <input id="name_en" name="name_en" lang="en" required maxlength="128" value=d.name_en.clone()
                                    aria-invalid=invalid(result, "name_en") aria-describedby="name_en-error" />
                                <FieldErr outcome=result field="name_en" />
                            </div>
                            <div class="field">
                                <label for="active">{t!(i18n, field_status)}</label>
                                <select id="active" name="active" aria-invalid=invalid(result, "active") aria-describedby="active-error">
                                    <option value="true" selected=d.active>{t!(i18n, status_active)}</option>
                                    <option value="false" selected=!d.active>{t!(i18n, status_inactive)}</option>
                                </select>
                                <FieldErr outcome=result field="active" />
                            </div>
                            <FormError outcome=result />
                            <div class="form-actions">
                                <button type="submit" class="btn btn-primary" disabled=move || action.pending().get()>{t!(i18n, save)}</button>
                                <a class="btn btn-quiet" href="/admin/departments">{t!(i18n, cancel)}</a>
                            </div>
                        </ActionForm>
                    }.into_any()
                })}
            </Transition>
        </RequireArea>
    }
}
