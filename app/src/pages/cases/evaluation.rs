use crate::api::evaluation::{deductions, get_evaluation};
use crate::components::forms::{FieldErr, LoadError};
use crate::components::layout::{pick, Loading, RequireArea};
use crate::domain::Area;
use crate::i18n::*;
use crate::model::{DeptScore, EvaluationReport};
use crate::pages::admin::qp;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}%")).unwrap_or_else(|| "—".into())
}

/// Department evaluation for any period: the indicators of DOMAIN.md computed from the
/// workflow, the score by the stored rule, the rank, and each department's deductions.
#[component]
pub fn EvaluationPage() -> impl IntoView {
    let i18n = use_i18n();
    let (from, to, dept) = (qp("from"), qp("to"), qp("dept"));
    let report = Resource::new(move || (from(), to()), |(f, t)| get_evaluation(f, t));
    // One department's deductions, when one is chosen (made here, not inside the Suspend).
    let deds = Resource::new(
        move || (from(), to(), dept()),
        |(f, t, d)| async move {
            match d.parse::<i64>() {
                Ok(d) => deductions(d, f, t).await.map(Some),
                Err(_) => Ok(None),
            }
        },
    );
    let result = Signal::derive(move || report.get().and_then(|r| r.err()).map(Err::<(), _>));
    view! {
        <Title text=move || t_string!(i18n, nav_evaluation).to_string() />
        <RequireArea area=Area::Evaluation>
            <header class="page-head">
                <h1>{t!(i18n, nav_evaluation)}</h1>
                <p class="muted">{t!(i18n, eval_intro)} " " <a href="/evaluation/monthly" data-testid="to-assessment">{t!(i18n, nav_assessment)} " →"</a></p>
            </header>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    let r = report.await;
                    let deds = deds.await;
                    let (f, t) = match &r { Ok(r) => (r.from.clone(), r.to.clone()), Err(_) => (from(), to()) };
                    view! {
                        <Form method="GET" action="" attr:class="filters">
                            <label class="inline-field">{t!(i18n, period_from)} <input type="date" name="from" value=f required /></label>
                            <label class="inline-field">{t!(i18n, period_to)} <input type="date" name="to" value=t required /></label>
                            <button type="submit" class="btn">{t!(i18n, filter_apply)}</button>
                        </Form>
                        <FieldErr outcome=result field="from" />
                        <FieldErr outcome=result field="to" />
                        {match r {
                            Err(e) => view! { <LoadError error=e /> }.into_any(),
                            Ok(r) if r.rows.is_empty() => view! { <p class="empty">{t!(i18n, eval_empty)}</p> }.into_any(),
                            Ok(r) => view! { <Scores r dept=dept() deds /> }.into_any(),
                        }}
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

#[component]
fn Scores(
    r: EvaluationReport,
    dept: String,
    deds: Result<Option<Vec<crate::model::Deduction>>, crate::error::AppError>,
) -> impl IntoView {
    let i18n = use_i18n();
    let rule = r.rule;
    let (from, to) = (r.from.clone(), r.to.clone());
    let chosen: Option<DeptScore> = dept
        .parse::<i64>()
        .ok()
        .and_then(|d| r.rows.iter().find(|x| x.department_id == d).cloned());
    view! {
        <p class="muted" data-testid="rule">
            {t!(i18n, eval_rule)} " "
            {move || match i18n.get_locale() {
                Locale::zh => format!(
                    "按期结案率 ≥ {}% 得 {} 分，每低 1 个百分点扣 {} 分；每次返工扣 {} 分；申诉成立的案件不计入。",
                    rule.threshold_pct, rule.base_points, rule.per_point_below, rule.rework_penalty
                ),
                Locale::en => format!(
                    "on-time closure rate ≥ {}% earns {} points, minus {} per percentage point below; minus {} per rework; cases with accepted appeals do not count.",
                    rule.threshold_pct, rule.base_points, rule.per_point_below, rule.rework_penalty
                ),
            }}
        </p>
        <ScoreTable rows=r.rows from to />
        {chosen.map(|s| view! { <Deductions s deds /> })}
    }
}

/// The ranking table: rank, department (linked to its deductions in the period), score and
/// indicators. A `limited` row (another department, to a department head) shows rank and
/// score only.
#[component]
pub fn ScoreTable(rows: Vec<DeptScore>, from: String, to: String) -> impl IntoView {
    let i18n = use_i18n();
    let dash = || "—".to_string();
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="evaluation-table">
                <thead><tr>
                    <th scope="col" class="num">{t!(i18n, eval_rank)}</th>
                    <th scope="col">{t!(i18n, case_department)}</th>
                    <th scope="col" class="num">{t!(i18n, eval_score)}</th>
                    <th scope="col" class="num">{t!(i18n, ind_dispatched)}</th>
                    <th scope="col" class="num">{t!(i18n, ind_closure)}</th>
                    <th scope="col" class="num">{t!(i18n, ind_on_time_closure)}</th>
                    <th scope="col" class="num">{t!(i18n, ind_handling)}</th>
                    <th scope="col" class="num">{t!(i18n, ind_on_time_handling)}</th>
                    <th scope="col" class="num">{t!(i18n, ind_on_time_filing)}</th>
                    <th scope="col" class="num">{t!(i18n, ind_accurate_dispatch)}</th>
                    <th scope="col" class="num">{t!(i18n, ind_overdue)}</th>
                    <th scope="col" class="num">{t!(i18n, ind_rework)}</th>
                    <th scope="col" class="num">{t!(i18n, ind_mean_hours)}</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|s| {
                        let i = s.indicators;
                        let href = format!("/evaluation?from={}&to={}&dept={}", from, to, s.department_id);
                        let (zh, en) = (s.name_zh.clone(), s.name_en.clone());
                        let full = !s.limited;
                        let pct = move |v: Option<f64>| if full { pct(v) } else { dash() };
                        let int = move |v: i64| if full { v.to_string() } else { dash() };
                        view! {
                            <tr data-dept=s.department_id>
                                <td class="num">{if s.rank > 0 { s.rank.to_string() } else { "—".into() }}</td>
                                <td>{if full {
                                    view! { <a href=href>{move || pick(i18n.get_locale(), &zh, &en)}</a> }.into_any()
                                } else {
                                    view! { <span>{move || pick(i18n.get_locale(), &zh, &en)}</span> }.into_any()
                                }}</td>
                                <td class="num strong" data-testid="score">{if s.counts.dispatched > 0 { format!("{:.2}", i.score) } else { "—".into() }}</td>
                                <td class="num">{int(s.counts.dispatched)}</td>
                                <td class="num">{pct(i.closure_rate)}</td>
                                <td class="num">{pct(i.on_time_closure_rate)}</td>
                                <td class="num">{pct(i.handling_rate)}</td>
                                <td class="num">{pct(i.on_time_handling_rate)}</td>
                                <td class="num">{pct(i.on_time_filing_rate)}</td>
                                <td class="num">{pct(i.accurate_dispatch_rate)}</td>
                                <td class="num">{int(i.overdue)}</td>
                                <td class="num">{int(i.rework)}</td>
                                <td class="num">{i.mean_handling_hours.filter(|_| full).map(|h| format!("{h:.1}")).unwrap_or_else(dash)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn Deductions(
    s: DeptScore,
    deds: Result<Option<Vec<crate::model::Deduction>>, crate::error::AppError>,
) -> impl IntoView {
    let i18n = use_i18n();
    let (zh, en) = (s.name_zh.clone(), s.name_en.clone());
    view! {
        <section class="card" data-testid="deductions">
            <h2>{move || pick(i18n.get_locale(), &zh, &en)} " · " {t!(i18n, eval_deductions)}</h2>
            <p class="muted">{t!(i18n, eval_appealed)} " " {s.counts.appealed}</p>
            {match deds.map(Option::unwrap_or_default) {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(v) if v.is_empty() => view! { <p class="empty">{t!(i18n, eval_no_deductions)}</p> }.into_any(),
                        Ok(v) => view! {
                            <div class="table-wrap"><table class="table compact">
                                <thead><tr>
                                    <th scope="col">{t!(i18n, case_code)}</th>
                                    <th scope="col">{t!(i18n, case_class)}</th>
                                    <th scope="col">{t!(i18n, eval_dispatched_at)}</th>
                                    <th scope="col">{t!(i18n, case_deadline)}</th>
                                    <th scope="col">{t!(i18n, eval_handled_at)}</th>
                                    <th scope="col">{t!(i18n, eval_reason)}</th>
                                    <th scope="col">{t!(i18n, nav_appeals)}</th>
                                </tr></thead>
                                <tbody>
                                    {v.into_iter().map(|x| {
                                        let (czh, cen) = (x.class_zh.clone(), x.class_en.clone());
                                        view! {
                                            <tr>
                                                <td><a class="mono" href=format!("/cases/{}", x.case_id)>{x.case_code.clone()}</a></td>
                                                <td>{move || pick(i18n.get_locale(), &czh, &cen)}</td>
                                                <td class="nowrap">{x.dispatched_at.clone()}</td>
                                                <td class="nowrap">{x.deadline.clone()}</td>
                                                <td class="nowrap">{x.handled_at.clone().unwrap_or_else(|| "—".into())}</td>
                                                <td>
                                                    {x.overdue.then(|| view! { <span class="badge badge-warn">{t!(i18n, ind_overdue)}</span> })}
                                                    {(x.rework_count > 0).then(|| view! { <span class="badge badge-wait">{t!(i18n, ind_rework)} " ×" {x.rework_count}</span> })}
                                                </td>
                                                <td>{x.appeal_state.clone().map(|st| view! { <AppealState state=st /> })}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any(),
                    }}
        </section>
    }
}

#[component]
pub fn AppealState(state: String) -> impl IntoView {
    let i18n = use_i18n();
    let class = match state.as_str() {
        "accepted" => "badge badge-ok",
        "rejected" => "badge badge-off",
        _ => "badge badge-wait",
    };
    let st = state.clone();
    view! {
        <span class=class data-appeal=state>{move || match st.as_str() {
            "accepted" => t_string!(i18n, appeal_accepted),
            "rejected" => t_string!(i18n, appeal_rejected),
            _ => t_string!(i18n, appeal_pending),
        }}</span>
    }
}
