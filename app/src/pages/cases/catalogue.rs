use super::{kind_label, unit_label};
use crate::api::cases::{case_classes, department_options};
use crate::api::evaluation::{
    get_calendar, DeleteCalendarDay, PutCalendarDay, SaveCalendar, UpdateClass,
};
use crate::components::forms::{invalid, outcome, FieldErr, FormError, LoadError};
use crate::components::layout::{pick, Loading, RequireArea};
use crate::domain::Area;
use crate::i18n::*;
use crate::pages::admin::qp;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

const UNITS: [&str; 4] = ["emergency_hours", "work_hours", "work_days", "natural_days"];

/// The classification catalogue: every minor class with its limit and default department.
#[component]
pub fn CatalogueList() -> impl IntoView {
    let i18n = use_i18n();
    let classes = Resource::new(|| (), |_| case_classes());
    view! {
        <Title text=move || t_string!(i18n, nav_catalogue).to_string() />
        <RequireArea area=Area::AdminCatalogue>
            <header class="page-head">
                <h1>{t!(i18n, nav_catalogue)}</h1>
                <p class="muted">{t!(i18n, catalogue_intro)}</p>
            </header>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match classes.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap"><table class="table compact" data-testid="catalogue-table">
                                <thead><tr>
                                    <th scope="col">{t!(i18n, case_kind)}</th>
                                    <th scope="col">{t!(i18n, catalogue_code)}</th>
                                    <th scope="col">{t!(i18n, catalogue_major)}</th>
                                    <th scope="col">{t!(i18n, catalogue_minor)}</th>
                                    <th scope="col">{t!(i18n, case_limit)}</th>
                                    <th scope="col">{t!(i18n, case_department)}</th>
                                    <th scope="col">{t!(i18n, field_status)}</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|c| {
                                        let kind = c.kind.clone();
                                        let unit = c.limit_unit.clone();
                                        view! {
                                            <tr data-class=c.code.clone()>
                                                <td>{move || kind_label(i18n.get_locale(), &kind)}</td>
                                                <td class="mono">{c.code.clone()}</td>
                                                <td>{move || pick(i18n.get_locale(), &c.major_zh, &c.major_en)}</td>
                                                <td><a href=format!("/admin/catalogue/{}", c.id)>{move || pick(i18n.get_locale(), &c.name_zh, &c.name_en)}</a></td>
                                                <td class="nowrap">{c.limit_amount} " " {move || unit_label(i18n.get_locale(), &unit)}</td>
                                                <td>{move || pick(i18n.get_locale(), &c.department_zh, &c.department_en)}</td>
                                                <td>{if c.active { view! { <span class="badge badge-ok">{t!(i18n, status_active)}</span> }.into_any() } else { view! { <span class="badge badge-off">{t!(i18n, status_inactive)}</span> }.into_any() }}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

#[component]
pub fn ClassEdit() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let update = ServerAction::<UpdateClass>::new();
    let out = outcome(update);
    let classes = Resource::new(move || update.version().get(), |_| case_classes());
    let depts = Resource::new(|| (), |_| department_options());
    view! {
        <Title text=move || t_string!(i18n, catalogue_edit).to_string() />
        <RequireArea area=Area::AdminCatalogue>
            <nav class="crumbs"><a href="/admin/catalogue">{t!(i18n, nav_catalogue)}</a></nav>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    let list = depts.await.unwrap_or_default();
                    let c = classes.await.map(|v| v.into_iter().find(|c| c.id == id()));
                    match c {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(None) => view! { <crate::pages::not_found::NotFound /> }.into_any(),
                        Ok(Some(c)) => {
                            let text = move |name: &'static str, label: String, value: String| view! {
                                <div class="field">
                                    <label for=name>{label}</label>
                                    <input id=name name=name value=value required aria-invalid=invalid(out, name) />
                                    <FieldErr outcome=out field=name />
                                </div>
                            };
                            let unit = c.limit_unit.clone();
                            view! {
                                <h1>{t!(i18n, catalogue_edit)} " " <span class="mono">{c.code.clone()}</span></h1>
                                <Show when=move || matches!(out.get(), Some(Ok(())))>
                                    <p class="form-ok" role="status" data-testid="saved">{t!(i18n, saved_ok)}</p>
                                </Show>
                                <ActionForm action=update attr:class="form narrow" attr:data-testid="class-form">
                                    <input type="hidden" name="id" value=c.id />
                                    {text("name_zh", t_string!(i18n, catalogue_name_zh).to_string(), c.name_zh.clone())}
                                    {text("name_en", t_string!(i18n, catalogue_name_en).to_string(), c.name_en.clone())}
                                    {text("filing_zh", t_string!(i18n, catalogue_filing_zh).to_string(), c.filing_zh.clone())}
                                    {text("filing_en", t_string!(i18n, catalogue_filing_en).to_string(), c.filing_en.clone())}
                                    {text("closing_zh", t_string!(i18n, catalogue_closing_zh).to_string(), c.closing_zh.clone())}
                                    {text("closing_en", t_string!(i18n, catalogue_closing_en).to_string(), c.closing_en.clone())}
                                    <div class="field">
                                        <label for="limit_amount">{t!(i18n, case_limit)}</label>
                                        <div class="row-fields">
                                            <input id="limit_amount" name="limit_amount" inputmode="numeric" class="short" value=c.limit_amount.to_string() aria-invalid=invalid(out, "limit_amount") />
                                            <select name="limit_unit" aria-label=move || t_string!(i18n, catalogue_unit)>
                                                {UNITS.into_iter().map(|u| view! { <option value=u selected=u == unit>{move || unit_label(i18n.get_locale(), u)}</option> }).collect_view()}
                                            </select>
                                        </div>
                                        <FieldErr outcome=out field="limit_amount" />
                                    </div>
                                    <div class="field">
                                        <label for="department_id">{t!(i18n, catalogue_default_dept)}</label>
                                        <crate::pages::cases::list::DeptSelect name="department_id" list selected=c.department_id.to_string() />
                                        <FieldErr outcome=out field="department_id" />
                                    </div>
                                    <div class="field">
                                        <label for="active">{t!(i18n, field_status)}</label>
                                        <select id="active" name="active">
                                            <option value="true" selected=c.active>{t!(i18n, status_active)}</option>
                                            <option value="false" selected=!c.active>{t!(i18n, status_inactive)}</option>
                                        </select>
                                    </div>
                                    <FormError outcome=out />
                                    <div class="form-actions">
                                        <button type="submit" class="btn btn-primary" disabled=move || update.pending().get()>{t!(i18n, save)}</button>
                                        <a class="btn btn-quiet" href="/admin/catalogue">{t!(i18n, cancel)}</a>
                                    </div>
                                </ActionForm>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

/// Working hours, the filing limit, public holidays and make-up working days.
#[component]
pub fn CalendarPage() -> impl IntoView {
    let i18n = use_i18n();
    let save = ServerAction::<SaveCalendar>::new();
    let put = ServerAction::<PutCalendarDay>::new();
    let del = ServerAction::<DeleteCalendarDay>::new();
    let (so, po, dout) = (outcome(save), outcome(put), outcome(del));
    let year = qp("year");
    let cal = Resource::new(
        move || {
            (
                save.version().get(),
                put.version().get(),
                del.version().get(),
            )
        },
        |_| get_calendar(),
    );
    view! {
        <Title text=move || t_string!(i18n, nav_calendar).to_string() />
        <RequireArea area=Area::AdminCatalogue>
            <header class="page-head">
                <h1>{t!(i18n, nav_calendar)}</h1>
                <p class="muted">{t!(i18n, calendar_intro)}</p>
            </header>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match cal.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(c) => {
                            let y = year();
                            let mut years: Vec<String> = c.days.iter().map(|d| d.day[..4.min(d.day.len())].to_string()).collect();
                            years.dedup();
                            let days: Vec<_> = c.days.into_iter().filter(|d| y.is_empty() || d.day.starts_with(&y)).collect();
                            let year_links = {
                                let y = y.clone();
                                view! {
                                    <nav class="seg" aria-label=move || t_string!(i18n, calendar_year)>
                                        <a href="/admin/calendar" class:active=y.is_empty()>{t!(i18n, calendar_all_years)}</a>
                                        {years.into_iter().map(|yr| {
                                            let active = yr == y;
                                            view! { <a href=format!("/admin/calendar?year={yr}") class:active=active>{yr.clone()}</a> }
                                        }).collect_view()}
                                    </nav>
                                }
                            };
                            view! {
                                <ActionForm action=save attr:class="form narrow" attr:data-testid="periods-form">
                                    <div class="field">
                                        <label for="periods">{t!(i18n, calendar_periods)}</label>
                                        <input id="periods" name="periods" value=c.periods.clone() required aria-invalid=invalid(so, "periods") class="mono" />
                                        <p class="help">{t!(i18n, calendar_periods_help)}</p>
                                        <FieldErr outcome=so field="periods" />
                                    </div>
                                    <div class="field">
                                        <label for="filing_limit_minutes">{t!(i18n, calendar_filing)}</label>
                                        <input id="filing_limit_minutes" name="filing_limit_minutes" inputmode="numeric" class="short"
                                            value=c.filing_limit_minutes.to_string() aria-invalid=invalid(so, "filing_limit_minutes") />
                                        <FieldErr outcome=so field="filing_limit_minutes" />
                                    </div>
                                    <FormError outcome=so />
                                    <Show when=move || matches!(so.get(), Some(Ok(())))>
                                        <p class="form-ok" role="status">{t!(i18n, saved_ok)}</p>
                                    </Show>
                                    <button type="submit" class="btn btn-primary">{t!(i18n, save)}</button>
                                </ActionForm>
                                <h2>{t!(i18n, calendar_days)}</h2>
                                {year_links}
                                <ActionForm action=put attr:class="filters" attr:data-testid="day-form">
                                    <input type="date" name="day" required aria-label=move || t_string!(i18n, calendar_day) aria-invalid=invalid(po, "day") />
                                    <select name="kind" aria-label=move || t_string!(i18n, calendar_kind)>
                                        <option value="holiday">{t!(i18n, calendar_holiday)}</option>
                                        <option value="workday">{t!(i18n, calendar_workday)}</option>
                                    </select>
                                    <input name="name_zh" required placeholder=move || t_string!(i18n, catalogue_name_zh) aria-label=move || t_string!(i18n, catalogue_name_zh) />
                                    <input name="name_en" required placeholder=move || t_string!(i18n, catalogue_name_en) aria-label=move || t_string!(i18n, catalogue_name_en) />
                                    <button type="submit" class="btn">{t!(i18n, calendar_add)}</button>
                                </ActionForm>
                                <FieldErr outcome=po field="day" />
                                <FieldErr outcome=po field="name_zh" />
                                <FieldErr outcome=po field="name_en" />
                                <FormError outcome=po />
                                <FormError outcome=dout />
                                <div class="table-wrap"><table class="table compact" data-testid="days-table">
                                    <thead><tr>
                                        <th scope="col">{t!(i18n, calendar_day)}</th>
                                        <th scope="col">{t!(i18n, calendar_kind)}</th>
                                        <th scope="col">{t!(i18n, calendar_name)}</th>
                                        <th scope="col"><span class="sr-only">{t!(i18n, actions)}</span></th>
                                    </tr></thead>
                                    <tbody>
                                        {days.into_iter().map(|d| {
                                            let holiday = d.kind == "holiday";
                                            let day = d.day.clone();
                                            view! {
                                                <tr data-day=d.day.clone()>
                                                    <td class="mono">{d.day.clone()}</td>
                                                    <td>{if holiday { view! { <span class="badge badge-off">{t!(i18n, calendar_holiday)}</span> }.into_any() } else { view! { <span class="badge badge-info">{t!(i18n, calendar_workday)}</span> }.into_any() }}</td>
                                                    <td>{move || pick(i18n.get_locale(), &d.name_zh, &d.name_en)}</td>

                                                    <td>
                                                        <ActionForm action=del attr:class="inline">
                                                            <input type="hidden" name="day" value=day />
                                                            <button type="submit" class="btn btn-quiet">{t!(i18n, calendar_remove)}</button>
                                                        </ActionForm>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table></div>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </RequireArea>
    }
}
