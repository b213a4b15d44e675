use super::evaluation::ScoreTable;
use crate::api::evaluation::{get_assessment, PublishAssessment};
use crate::components::forms::{outcome, refusal_text, FieldErr, FormError, LoadError};
use crate::components::layout::{pick, urlencode, Loading, RequireArea};
use crate::domain::Area;
use crate::i18n::*;
use crate::model::AssessmentView;
use crate::pages::admin::qp;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;

/// The ranking as CSV (with a byte-order mark, so spreadsheet programs read the Chinese).
fn csv(v: &AssessmentView, l: Locale) -> String {
    let esc = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let pct = |x: Option<f64>| x.map(|x| format!("{x:.1}")).unwrap_or_default();
    let mut out = String::from("\u{feff}");
    let head = [
        td_string!(l, eval_rank),
        td_string!(l, case_department),
        td_string!(l, eval_score),
        td_string!(l, ind_dispatched),
        td_string!(l, ind_closure),
        td_string!(l, ind_on_time_closure),
        td_string!(l, ind_handling),
        td_string!(l, ind_on_time_handling),
        td_string!(l, ind_on_time_filing),
        td_string!(l, ind_accurate_dispatch),
        td_string!(l, ind_overdue),
        td_string!(l, ind_rework),
        td_string!(l, ind_mean_hours),
    ];
    out.push_str(&head.map(esc).join(","));
    out.push_str("\r\n");
    for r in &v.report.rows {
        let i = &r.indicators;
        let scored = r.counts.dispatched > 0;
        let mut cells = vec![
            if r.rank > 0 {
                r.rank.to_string()
            } else {
                String::new()
            },
            esc(&pick(l, &r.name_zh, &r.name_en)),
            if scored {
                format!("{:.2}", i.score)
            } else {
                String::new()
            },
        ];
        if r.limited {
            cells.extend(std::iter::repeat_n(String::new(), 10));
        } else {
            cells.extend([
                r.counts.dispatched.to_string(),
                pct(i.closure_rate),
                pct(i.on_time_closure_rate),
                pct(i.handling_rate),
                pct(i.on_time_handling_rate),
                pct(i.on_time_filing_rate),
                pct(i.accurate_dispatch_rate),
                i.overdue.to_string(),
                i.rework.to_string(),
                i.mean_handling_hours
                    .map(|h| format!("{h:.1}"))
                    .unwrap_or_default(),
            ]);
        }
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The monthly assessment (`/evaluation/monthly?month=yyyy-mm`): a month's ranking, live
/// until the leadership publishes it, frozen after; printable, and as CSV.
#[component]
pub fn AssessmentPage() -> impl IntoView {
    let i18n = use_i18n();
    let month = qp("month");
    let publish = ServerAction::<PublishAssessment>::new();
    let data = Resource::new(
        move || (month(), publish.version().get()),
        |(m, _)| get_assessment(m),
    );
    view! {
        <Title text=move || t_string!(i18n, nav_assessment).to_string() />
        <RequireArea area=Area::Evaluation>
            <header class="page-head">
                <p class="crumbs"><a href="/evaluation">{t!(i18n, nav_evaluation)}</a></p>
                <h1>{t!(i18n, nav_assessment)}</h1>
                <p class="muted">{t!(i18n, assessment_intro)}</p>
            </header>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! {
                            <Form method="GET" action="" attr:class="filters">
                                <label class="inline-field">{t!(i18n, assessment_month)} <input type="month" name="month" value=month() required /></label>
                                <button type="submit" class="btn">{t!(i18n, filter_apply)}</button>
                            </Form>
                            <LoadError error=e />
                        }.into_any(),
                        Ok(v) => view! { <Assessment v publish /> }.into_any(),
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

#[component]
fn Assessment(v: AssessmentView, publish: ServerAction<PublishAssessment>) -> impl IntoView {
    let i18n = use_i18n();
    let done = outcome(publish);
    let for_csv = v.clone();
    let href = move || {
        format!(
            "data:text/csv;charset=utf-8,{}",
            urlencode(&csv(&for_csv, i18n.get_locale()))
        )
    };
    let print = move |_| {
        #[cfg(feature = "hydrate")]
        let _ = window().print();
    };
    let file = format!("assessment-{}.csv", v.month);
    let (from, to) = (v.report.from.clone(), v.report.to.clone());
    let frozen = v.published_at.is_some();
    let (m1, m2, m3) = (v.month.clone(), v.month.clone(), v.month.clone());
    view! {
        <Form method="GET" action="" attr:class="filters">
            <label class="inline-field">{t!(i18n, assessment_month)} <input type="month" name="month" value=m1 required /></label>
            <button type="submit" class="btn">{t!(i18n, filter_apply)}</button>
            {(!v.published_months.is_empty()).then(|| view! {
                <span class="muted">{t!(i18n, assessment_published_months)} " "
                    {v.published_months.iter().map(|m| view! { <a class="mono" href=format!("/evaluation/monthly?month={m}")>{m.clone()}</a> " " }).collect_view()}
                </span>
            })}
        </Form>
        <section class="card assessment-status" data-testid="assessment-status" data-frozen=frozen.to_string()>
            <h2>{m2} " · "
                {if frozen {
                    view! { <span class="badge badge-ok" data-testid="assessment-published">{t!(i18n, assessment_published)}</span> }.into_any()
                } else {
                    view! { <span class="badge badge-wait" data-testid="assessment-draft">{t!(i18n, assessment_draft)}</span> }.into_any()
                }}
            </h2>
            {match (v.published_at.clone(), v.published_by.clone()) {
                (Some(at), Some(by)) => view! { <p>{t!(i18n, assessment_published_at)} " " {at} " · " {by} " · " {t!(i18n, assessment_frozen_help)}</p> }.into_any(),
                _ => view! { <p class="muted">{t!(i18n, assessment_draft_help)}</p> }.into_any(),
            }}
            {(v.pending_appeals > 0).then(|| view! {
                <p class="notice-inline" data-testid="assessment-pending">{t!(i18n, assessment_pending)} " " <strong>{v.pending_appeals}</strong>
                    " · " <a href="/appeals">{t!(i18n, nav_appeals)}</a></p>
            })}
            <FormError outcome=done />
            <FieldErr outcome=done field="month" />
            <div class="actions">
                {v.refusal.map(|r| view! { <p class="muted" data-testid="assessment-refusal">{move || refusal_text(i18n.get_locale(), r)}</p> })}
                {v.may_publish.then(|| view! {
                    <ActionForm action=publish attr:class="inline-form" attr:data-testid="assessment-publish">
                        <input type="hidden" name="month" value=m3.clone() />
                        <button type="submit" class="btn btn-primary" disabled=move || publish.pending().get()>{t!(i18n, assessment_publish)}</button>
                    </ActionForm>
                })}
                <a class="btn" href=href download=file data-testid="assessment-csv">{t!(i18n, energy_download_csv)}</a>
                <button type="button" class="btn" on:click=print>{t!(i18n, assessment_print)}</button>
            </div>
            {v.may_publish.then(|| view! { <p class="help">{t!(i18n, assessment_publish_help)}</p> })}
        </section>
        {if v.report.rows.is_empty() {
            view! { <p class="empty">{t!(i18n, eval_empty)}</p> }.into_any()
        } else {
            view! { <ScoreTable rows=v.report.rows from to /> }.into_any()
        }}
    }
}
