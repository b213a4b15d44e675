use super::{state_label, CaseTable};
use crate::api::cases::{case_classes, department_options, districts, list_cases};
use crate::components::forms::{FieldErr, LoadError};
use crate::components::layout::{pick, Loading, RequireArea};
use crate::components::pager::Pager;
use crate::domain::workflow::State;
use crate::domain::Area;
use crate::i18n::*;
use crate::model::CaseFilter;
use crate::pages::admin::{qp, query_string};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;

/// Every case the caller may see, filtered on the server, paginated, exportable as CSV.
#[component]
pub fn CaseList() -> impl IntoView {
    let i18n = use_i18n();
    let (q, state, kind, class, district, grid, dept, from, to, overdue, page) = (
        qp("q"),
        qp("state"),
        qp("kind"),
        qp("class"),
        qp("district"),
        qp("grid"),
        qp("department"),
        qp("from"),
        qp("to"),
        qp("overdue"),
        qp("page"),
    );
    let filter = move || CaseFilter {
        q: q(),
        state: state(),
        kind: kind(),
        class_id: class().parse().ok(),
        district: district(),
        grid: grid(),
        department_id: dept().parse().ok(),
        from: from(),
        to: to(),
        overdue: overdue() == "1",
        page: page().parse().unwrap_or(1),
    };
    let query = move || {
        query_string(&[
            ("q", q()),
            ("state", state()),
            ("kind", kind()),
            ("class", class()),
            ("district", district()),
            ("grid", grid()),
            ("department", dept()),
            ("from", from()),
            ("to", to()),
            ("overdue", overdue()),
        ])
    };
    let cases = Resource::new(filter, list_cases);
    let classes = Resource::new(|| (), |_| case_classes());
    let dists = Resource::new(|| (), |_| districts());
    let depts = Resource::new(|| (), |_| department_options());
    let result = Signal::derive(move || cases.get().and_then(|r| r.err()).map(Err::<(), _>));
    view! {
        <Title text=move || t_string!(i18n, nav_cases).to_string() />
        <RequireArea area=Area::Cases>
            <header class="page-head row">
                <h1>{t!(i18n, nav_cases)}</h1>
                <a class="btn" data-testid="export-csv" href=move || {
                    let qs = query();
                    if qs.is_empty() { "/cases/export.csv".to_string() } else { format!("/cases/export.csv?{qs}") }
                } download>{t!(i18n, export_csv)}</a>
            </header>
            <Form method="GET" action="" attr:class="filters" attr:role="search">
                <input type="search" name="q" value=q
                    placeholder=move || t_string!(i18n, cases_search_placeholder)
                    aria-label=move || t_string!(i18n, cases_search_placeholder) />
                <select name="state" aria-label=move || t_string!(i18n, case_state)>
                    <option value="">{t!(i18n, all_states)}</option>
                    <option value="open" selected=move || state() == "open">{t!(i18n, state_open)}</option>
                    {State::ALL.into_iter().map(|s| view! {
                        <option value=s.code() selected=move || state() == s.code()>{move || state_label(i18n.get_locale(), s)}</option>
                    }).collect_view()}
                </select>
                <select name="kind" aria-label=move || t_string!(i18n, case_kind)>
                    <option value="">{t!(i18n, all_kinds)}</option>
                    <option value="component" selected=move || kind() == "component">{t!(i18n, kind_component)}</option>
                    <option value="event" selected=move || kind() == "event">{t!(i18n, kind_event)}</option>
                </select>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let list = classes.await.unwrap_or_default();
                        let sel = class();
                        view! {
                            <select name="class" aria-label=move || t_string!(i18n, case_class)>
                                <option value="">{t!(i18n, all_classes)}</option>
                                {list.into_iter().map(|c| {
                                    let selected = c.id.to_string() == sel;
                                    view! { <option value=c.id selected=selected>{c.code.clone()} " " {move || pick(i18n.get_locale(), &c.name_zh, &c.name_en)}</option> }
                                }).collect_view()}
                            </select>
                        }
                    })}
                </Transition>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let list = dists.await.unwrap_or_default();
                        let sel = district();
                        view! {
                            <crate::pages::cases::DistrictSelect list selected=sel />
                        }
                    })}
                </Transition>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let list = depts.await.unwrap_or_default();
                        let sel = dept();
                        view! { <DeptSelect name="department" list selected=sel all=true /> }
                    })}
                </Transition>
                <input type="text" name="grid" value=grid class="short mono" placeholder=move || t_string!(i18n, case_grid)
                    aria-label=move || t_string!(i18n, case_grid) />
                <label class="inline-field">{t!(i18n, period_from)}
                    <input type="date" name="from" value=from /></label>
                <label class="inline-field">{t!(i18n, period_to)}
                    <input type="date" name="to" value=to /></label>
                <label class="check">
                    <input type="checkbox" name="overdue" value="1" checked=move || overdue() == "1" />
                    {t!(i18n, only_overdue)}
                </label>
                <button type="submit" class="btn">{t!(i18n, filter_apply)}</button>
                <a class="btn btn-quiet" href="/cases">{t!(i18n, filter_clear)}</a>
            </Form>
            <FieldErr outcome=result field="from" />
            <FieldErr outcome=result field="to" />
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match cases.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(p) if p.items.is_empty() => view! {
                            <p class="empty" data-testid="empty">{t!(i18n, cases_empty)}</p>
                        }.into_any(),
                        Ok(p) => {
                            let pages = p.pages();
                            let (page, total, more) = (p.page, p.total, p.more);
                            view! {
                                <CaseTable rows=p.items />
                                <Pager base="/cases" query=query() page pages total more />
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

/// A select of departments by id; `all` adds an "all departments" first option.
#[component]
pub fn DeptSelect(
    name: &'static str,
    list: Vec<crate::model::DeptOption>,
    #[prop(into)] selected: String,
    #[prop(optional)] all: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <select id=name name=name aria-label=move || t_string!(i18n, case_department)>
            {all.then(|| view! { <option value="">{t!(i18n, all_departments)}</option> })}
            {list.into_iter().map(|d| {
                let sel = d.id.to_string() == selected;
                view! { <option value=d.id selected=sel>{move || pick(i18n.get_locale(), &d.name_zh, &d.name_en)}</option> }
            }).collect_view()}
        </select>
    }
}
