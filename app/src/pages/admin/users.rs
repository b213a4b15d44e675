use super::{qp, query_string};
use crate::api::admin::{
    get_user, list_departments, list_users, CreateUser, ResetPassword, SetUserActive, UpdateUser,
};
use crate::components::forms::{invalid, outcome, FieldErr, FormError, LoadError};
use crate::components::layout::{pick, role_label, Loading, RequireArea};
use crate::components::pager::Pager;
use crate::domain::{Area, Role};
use crate::i18n::*;
use crate::model::{Department, UserFilter, UserSummary};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_params_map;

#[component]
pub fn UserList() -> impl IntoView {
    let i18n = use_i18n();
    let (q, role, dept, status, page) = (
        qp("q"),
        qp("role"),
        qp("department"),
        qp("status"),
        qp("page"),
    );
    let filter = move || UserFilter {
        q: q(),
        role: role(),
        department_id: dept().parse().ok(),
        status: status(),
        page: page().parse().unwrap_or(1),
    };
    let toggle = ServerAction::<SetUserActive>::new();
    let toggled = outcome(toggle);
    let users = Resource::new(
        move || (filter(), toggle.version().get()),
        |(f, _)| list_users(f),
    );
    let depts = Resource::new(|| (), |_| list_departments());
    view! {
        <Title text=move || t_string!(i18n, nav_users).to_string() />
        <RequireArea area=Area::AdminUsers>
            <header class="page-head row">
                <h1>{t!(i18n, nav_users)}</h1>
                <a class="btn btn-primary" href="/admin/users/new" data-testid="new-user">
                    {t!(i18n, users_new)}
                </a>
            </header>
            <Form method="GET" action="" attr:class="filters" attr:role="search">
                <input
                    type="search"
                    name="q"
                    value=q
                    placeholder=move || t_string!(i18n, users_search_placeholder)
                    aria-label=move || t_string!(i18n, users_search_placeholder)
                />
                <select name="role" aria-label=move || t_string!(i18n, field_role)>
                    <option value="">{t!(i18n, all_roles)}</option>
                    {Role::ALL
                        .into_iter()
                        .map(|r| {
                            view! {
                                <option value=r.code() selected=move || role() == r.code()>
                                    {move || role_label(i18n.get_locale(), r)}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let list = depts.await.unwrap_or_default();
                        view! { <DepartmentSelect name="department" list selected=dept() with_all=true /> }
                    })}
                </Transition>
                <select name="status" aria-label=move || t_string!(i18n, field_status)>
                    <option value="">{t!(i18n, all_statuses)}</option>
                    <option value="active" selected=move || status() == "active">{t!(i18n, status_active)}</option>
                    <option value="inactive" selected=move || status() == "inactive">{t!(i18n, status_inactive)}</option>
                </select>
                <button type="submit" class="btn">{t!(i18n, filter_apply)}</button>
            </Form>
            <FormError outcome=toggled />
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match users.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(p) if p.items.is_empty() => view! {
                            <p class="empty" data-testid="empty">{t!(i18n, users_empty)}</p>
                        }.into_any(),
                        Ok(p) => {
                            let query = query_string(&[("q", q()), ("role", role()), ("department", dept()), ("status", status())]);
                            let pages = p.pages();
                            let (page, total) = (p.page, p.total);
                            view! {
                                <div class="table-wrap">
                                    <table class="table" data-testid="users-table">
                                        <thead>
                                            <tr>
                                                <th scope="col">{t!(i18n, field_username)}</th>
                                                <th scope="col">{t!(i18n, field_display_name)}</th>
                                                <th scope="col">{t!(i18n, field_role)}</th>
                                                <th scope="col">{t!(i18n, field_department)}</th>
                                                <th scope="col">{t!(i18n, field_status)}</th>
                                                <th scope="col">{t!(i18n, field_last_login)}</th>
                                                <th scope="col"><span class="sr-only">{t!(i18n, actions)}</span></th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {p.items.into_iter().map(|u| view! { <UserRow u toggle /> }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                <Pager base="/admin/users" query page pages total />
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

#[component]
fn UserRow(u: UserSummary, toggle: ServerAction<SetUserActive>) -> impl IntoView {
    let i18n = use_i18n();
    let role = u.role;
    let (zh, en) = (u.department_zh.clone(), u.department_en.clone());
    let href = format!("/admin/users/{}", u.id);
    let username = u.username.clone();
    view! {
        <tr data-username=u.username.clone()>
            <td><a href=href.clone()>{u.username.clone()}</a></td>
            <td>{u.display_name.clone()}</td>
            <td>{move || role_label(i18n.get_locale(), role)}</td>
            <td>{move || pick(i18n.get_locale(), &zh, &en)}</td>
            <td>
                {if u.active {
                    view! { <span class="badge badge-ok">{t!(i18n, status_active)}</span> }.into_any()
                } else {
                    view! { <span class="badge badge-off">{t!(i18n, status_inactive)}</span> }.into_any()
                }}
                {u.locked.then(|| view! { <span class="badge badge-warn">{t!(i18n, status_locked)}</span> })}
            </td>
            <td>{u.last_login.clone().unwrap_or_else(|| "—".into())}</td>
            <td class="actions">
                <a class="btn btn-quiet" href=href aria-label=move || format!("{} {}", t_string!(i18n, edit), username)>
                    {t!(i18n, edit)}
                </a>
                <ActionForm action=toggle attr:class="inline">
                    <input type="hidden" name="id" value=u.id />
                    <input type="hidden" name="active" value=(!u.active).to_string() />
                    <button type="submit" class="btn btn-quiet" data-testid="toggle-active">
                        {if u.active { t!(i18n, deactivate).into_any() } else { t!(i18n, activate).into_any() }}
                    </button>
                </ActionForm>
            </td>
        </tr>
    }
}

#[component]
pub fn DepartmentSelect(
    name: &'static str,
    list: Vec<Department>,
    #[prop(into)] selected: String,
    #[prop(optional)] with_all: bool,
    #[prop(optional)] invalid: Option<Signal<&'static str>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let options = list
        .into_iter()
        .filter(|d| d.active || d.id.to_string() == selected)
        .map(|d| {
            let sel = d.id.to_string() == selected;
            view! {
                <option value=d.id selected=sel>
                    {move || pick(i18n.get_locale(), &d.name_zh, &d.name_en)}
                </option>
            }
        })
        .collect_view();
    view! {
        <select
            id=name
            name=name
            aria-label=move || t_string!(i18n, field_department)
            aria-invalid=move || invalid.map(|s| s.get()).unwrap_or("false")
        >
            {with_all.then(|| view! { <option value="">{t!(i18n, all_departments)}</option> })}
            {options}
        </select>
    }
}

#[component]
fn RoleSelect(selected: Option<Role>, invalid: Signal<&'static str>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <select id="role" name="role" required aria-invalid=move || invalid.get() aria-describedby="role-error">
            {Role::ALL
                .into_iter()
                .map(|r| view! {
                    <option value=r.code() selected=selected == Some(r)>
                        {move || role_label(i18n.get_locale(), r)}
                    </option>
                })
                .collect_view()}
        </select>
    }
}

#[component]
pub fn UserNew() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<CreateUser>::new();
    let result = outcome(action);
    let depts = Resource::new(|| (), |_| list_departments());
    view! {
        <Title text=move || t_string!(i18n, users_new).to_string() />
        <RequireArea area=Area::AdminUsers>
            <nav class="crumbs"><a href="/admin/users">{t!(i18n, nav_users)}</a></nav>
            <h1>{t!(i18n, users_new)}</h1>
            <ActionForm action=action attr:class="form narrow" attr:data-testid="user-form">
                <div class="field">
                    <label for="username">{t!(i18n, field_username)}</label>
                    <input id="username" name="username" required autocomplete="off" autocapitalize="none"
                        aria-invalid=invalid(result, "username") aria-describedby="username-error username-help" />
                    <p class="help" id="username-help">{t!(i18n, username_rule)}</p>
                    <FieldErr outcome=result field="username" />
                </div>
                <div class="field">
                    <label for="display_name">{t!(i18n, field_display_name)}</label>
                    <input id="display_name" name="display_name" required maxlength="64"
                        aria-invalid=invalid(result, "display_name") aria-describedby="display_name-error" />
                    <FieldErr outcome=result field="display_name" />
                </div>
                <div class="field">
                    <label for="role">{t!(i18n, field_role)}</label>
                    <RoleSelect selected=None invalid=Signal::derive(invalid(result, "role")) />
                    <FieldErr outcome=result field="role" />
                </div>
                <div class="field">
                    <label for="department_id">{t!(i18n, field_department)}</label>
                    <Transition fallback=Loading>
                        {move || Suspend::new(async move {
                            match depts.await {
                                Ok(list) => view! {
                                    <DepartmentSelect name="department_id" list selected="" invalid=Signal::derive(invalid(result, "department_id")) />
                                }.into_any(),
                                Err(e) => view! { <LoadError error=e /> }.into_any(),
                            }
                        })}
                    </Transition>
                    <FieldErr outcome=result field="department_id" />
                </div>
                <div class="field">
                    <label for="password">{t!(i18n, field_password)}</label>
                    <input id="password" name="password" type="password" required autocomplete="new-password"
                        aria-invalid=invalid(result, "password") aria-describedby="password-error password-help" />
                    <p class="help" id="password-help">{t!(i18n, password_policy)}</p>
                    <FieldErr outcome=result field="password" />
                </div>
                <div class="field">
                    <label for="password_confirm">{t!(i18n, field_password_confirm)}</label>
                    <input id="password_confirm" name="password_confirm" type="password" required autocomplete="new-password"
                        aria-invalid=invalid(result, "password_confirm") aria-describedby="password_confirm-error" />
                    <FieldErr outcome=result field="password_confirm" />
                </div>
                <FormError outcome=result />
                <div class="form-actions">
                    <button type="submit" class="btn btn-primary" disabled=move || action.pending().get()>{t!(i18n, create)}</button>
                    <a class="btn btn-quiet" href="/admin/users">{t!(i18n, cancel)}</a>
                </div>
            </ActionForm>
        </RequireArea>
    }
}

#[component]
pub fn UserEdit() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let saved = qp("saved");
    let update = ServerAction::<UpdateUser>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let (upd, rst) = (outcome(update), outcome(reset));
    let user = Resource::new(
        move || (id(), update.version().get(), reset.version().get()),
        |(id, _, _)| get_user(id),
    );
    let depts = Resource::new(|| (), |_| list_departments());
    view! {
        <Title text=move || t_string!(i18n, users_edit).to_string() />
        <RequireArea area=Area::AdminUsers>
            <nav class="crumbs"><a href="/admin/users">{t!(i18n, nav_users)}</a></nav>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    let list = depts.await.unwrap_or_default();
                    match user.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(None) => view! { <crate::pages::not_found::NotFound /> }.into_any(),
                        Ok(Some(u)) => view! {
                            <h1>{t!(i18n, users_edit)} " " <span class="mono">{u.username.clone()}</span></h1>
                            <Show when=move || saved() == "1" || matches!(upd.get(), Some(Ok(())))>
                                <p class="form-ok" role="status" data-testid="saved">{t!(i18n, saved_ok)}</p>
                            </Show>
                            <ActionForm action=update attr:class="form narrow" attr:data-testid="user-form">
                                <input type="hidden" name="id" value=u.id />
                                <div class="field">
                                    <label for="display_name">{t!(i18n, field_display_name)}</label>
                                    <input id="display_name" name="display_name" required maxlength="64" value=u.display_name.clone()
                                        aria-invalid=invalid(upd, "display_name") aria-describedby="display_name-error" />
                                    <FieldErr outcome=upd field="display_name" />
                                </div>
                                <div class="field">
                                    <label for="role">{t!(i18n, field_role)}</label>
                                    <RoleSelect selected=Some(u.role) invalid=Signal::derive(invalid(upd, "role")) />
                                    <FieldErr outcome=upd field="role" />
                                </div>
                                <div class="field">
                                    <label for="department_id">{t!(i18n, field_department)}</label>
                                    <DepartmentSelect name="department_id" list selected=u.department_id.to_string()
                                        invalid=Signal::derive(invalid(upd, "department_id")) />
                                    <FieldErr outcome=upd field="department_id" />
                                </div>
                                <div class="field">
                                    <label for="active">{t!(i18n, field_status)}</label>
                                    <select id="active" name="active" aria-invalid=invalid(upd, "active") aria-describedby="active-error">
                                        <option value="true" selected=u.active>{t!(i18n, status_active)}</option>
                                        <option value="false" selected=!u.active>{t!(i18n, status_inactive)}</option>
                                    </select>
                                    <FieldErr outcome=upd field="active" />
                                </div>
                                <FormError outcome=upd />
                                <div class="form-actions">
                                    <button type="submit" class="btn btn-primary" disabled=move || update.pending().get()>{t!(i18n, save)}</button>
                                    <a class="btn btn-quiet" href="/admin/users">{t!(i18n, cancel)}</a>
                                </div>
                            </ActionForm>
                            <h2>{t!(i18n, users_reset_password)}</h2>
                            <p class="muted">{t!(i18n, users_reset_password_help)}</p>
                            <ActionForm action=reset attr:class="form narrow">
                                <input type="hidden" name="id" value=u.id />
                                <div class="field">
                                    <label for="new_password">{t!(i18n, field_new_password)}</label>
                                    <input id="new_password" name="password" type="password" required autocomplete="new-password"
                                        aria-invalid=invalid(rst, "password") aria-describedby="password-error" />
                                    <FieldErr outcome=rst field="password" />
                                </div>
                                <div class="field">
                                    <label for="new_password_confirm">{t!(i18n, field_password_confirm)}</label>
                                    <input id="new_password_confirm" name="password_confirm" type="password" required autocomplete="new-password"
                                        aria-invalid=invalid(rst, "password_confirm") aria-describedby="password_confirm-error" />
                                    <FieldErr outcome=rst field="password_confirm" />
                                </div>
                                <FormError outcome=rst />
                                <Show when=move || matches!(rst.get(), Some(Ok(())))>
                                    <p class="form-ok" role="status">{t!(i18n, saved_ok)}</p>
                                </Show>
                                <button type="submit" class="btn" disabled=move || reset.pending().get()>{t!(i18n, users_reset_password)}</button>
                            </ActionForm>
                        }.into_any(),
                    }
                })}
            </Transition>
        </RequireArea>
    }
}
