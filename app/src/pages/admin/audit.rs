use super::{qp, query_string};
use crate::api::admin::list_audit;
use crate::components::forms::LoadError;
use crate::components::layout::{Loading, RequireArea};
use crate::components::pager::Pager;
use crate::domain::Area;
use crate::i18n::*;
use crate::model::AuditFilter;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;

fn outcome_label(locale: Locale, outcome: &str) -> &'static str {
    match outcome {
        "success" => td_string!(locale, outcome_success),
        "denied" => td_string!(locale, outcome_denied),
        _ => td_string!(locale, outcome_failure),
    }
}

/// The audit log, newest first. Read-only: the app has no way to change or delete entries,
/// and the database refuses it too.
#[component]
pub fn AuditLog() -> impl IntoView {
    let i18n = use_i18n();
    let (user, action, result, from, to, page) = (
        qp("user"),
        qp("action"),
        qp("outcome"),
        qp("from"),
        qp("to"),
        qp("page"),
    );
    let filter = move || AuditFilter {
        username: user(),
        action: action(),
        outcome: result(),
        from: from(),
        to: to(),
        page: page().parse().unwrap_or(1),
    };
    let entries = Resource::new(filter, list_audit);
    view! {
        <Title text=move || t_string!(i18n, nav_audit).to_string() />
        <RequireArea area=Area::AdminAudit>
            <header class="page-head">
                <h1>{t!(i18n, nav_audit)}</h1>
                <p class="muted">{t!(i18n, audit_intro)}</p>
            </header>
            <Form method="GET" action="" attr:class="filters" attr:role="search">
                <input type="search" name="user" value=user placeholder=move || t_string!(i18n, field_username)
                    aria-label=move || t_string!(i18n, field_username) />
                <input type="search" name="action" value=action placeholder=move || t_string!(i18n, audit_action)
                    aria-label=move || t_string!(i18n, audit_action) />
                <select name="outcome" aria-label=move || t_string!(i18n, audit_outcome)>
                    <option value="">{t!(i18n, all_outcomes)}</option>
                    {["success", "failure", "denied"].into_iter().map(|o| view! {
                        <option value=o selected=move || result() == o>{move || outcome_label(i18n.get_locale(), o)}</option>
                    }).collect_view()}
                </select>
                <label class="inline-label">{t!(i18n, date_from)}
                    <input type="date" name="from" value=from />
                </label>
                <label class="inline-label">{t!(i18n, date_to)}
                    <input type="date" name="to" value=to />
                </label>
                <button type="submit" class="btn">{t!(i18n, filter_apply)}</button>
            </Form>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match entries.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(p) if p.items.is_empty() => view! { <p class="empty">{t!(i18n, audit_empty)}</p> }.into_any(),
                        Ok(p) => {
                            let query = query_string(&[("user", user()), ("action", action()), ("outcome", result()), ("from", from()), ("to", to())]);
                            let (page, pages, total) = (p.page, p.pages(), p.total);
                            view! {
                                <div class="table-wrap">
                                    <table class="table" data-testid="audit-table">
                                        <thead>
                                            <tr>
                                                <th scope="col">{t!(i18n, audit_time)}</th>
                                                <th scope="col">{t!(i18n, field_username)}</th>
                                                <th scope="col">{t!(i18n, audit_action)}</th>
                                                <th scope="col">{t!(i18n, audit_target)}</th>
                                                <th scope="col">{t!(i18n, audit_outcome)}</th>
                                                <th scope="col">{t!(i18n, audit_detail)}</th>
                                                <th scope="col">{t!(i18n, audit_ip)}</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {p.items.into_iter().map(|e| {
                                                let cls = match e.outcome.as_str() { "success" => "badge badge-ok", "denied" => "badge badge-warn", _ => "badge badge-bad" };
                                                let o = e.outcome.clone();
                                                view! {
                                                    <tr>
                                                        <td class="nowrap">{e.at}</td>
                                                        <td>{e.username.unwrap_or_else(|| "—".into())}</td>
                                                        <td class="mono">{e.action}</td>
                                                        <td class="mono">{e.target_type} {e.target_id.map(|i| format!(" #{i}"))}</td>
                                                        <td><span class=cls>{move || outcome_label(i18n.get_locale(), &o)}</span></td>
                                                        <td class="detail">{e.detail}</td>
                                                        <td class="mono">{e.ip.unwrap_or_default()}</td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                <Pager base="/admin/audit" query page pages total />
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </RequireArea>
    }
}
