use super::evaluation::AppealState;
use super::list::DeptSelect;
use super::CaseTable;
use crate::api::evaluation::get_scorecard;
use crate::components::forms::LoadError;
use crate::components::layout::{pick, Loading, RequireArea};
use crate::domain::Area;
use crate::i18n::*;
use crate::model::{DeptScore, Scorecard};
use crate::pages::admin::qp;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;

/// A rate or number this month against last month, and the change (positive is better
/// unless `lower_better`).
fn change(
    this: Option<f64>,
    last: Option<f64>,
    lower_better: bool,
    digits: usize,
) -> (String, String, &'static str) {
    let fmt = |v: Option<f64>| {
        v.map(|x| format!("{x:.digits$}"))
            .unwrap_or_else(|| "—".into())
    };
    let (delta, class) = match (this, last) {
        (Some(a), Some(b)) => {
            let d = a - b;
            let better = if lower_better { d < 0.0 } else { d > 0.0 };
            let class = if d.abs() < 1e-9 {
                "flat"
            } else if better {
                "up-good"
            } else {
                "down-bad"
            };
            (format!("{d:+.digits$}"), class)
        }
        _ => ("—".into(), "flat"),
    };
    (format!("{} / {}", fmt(this), fmt(last)), delta, class)
}

fn neutral((both, delta, _): (String, String, &'static str)) -> (String, String, &'static str) {
    (both, delta, "flat")
}

/// A department's scorecard (`/scorecard`): for a department head their own department,
/// for leaders any (`?dept=`).
#[component]
pub fn ScorecardPage() -> impl IntoView {
    let i18n = use_i18n();
    let dept = qp("dept");
    let data = Resource::new(dept, |d| get_scorecard(d.parse().ok()));
    view! {
        <Title text=move || t_string!(i18n, nav_scorecard).to_string() />
        <RequireArea area=Area::Scorecard>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(s) => view! { <Card s /> }.into_any(),
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

#[component]
fn Card(s: Scorecard) -> impl IntoView {
    let i18n = use_i18n();
    let (zh, en) = (s.name_zh.clone(), s.name_en.clone());
    let this = s.this.clone();
    let last = s.last.clone();
    let ind = |r: &Option<DeptScore>, f: fn(&DeptScore) -> Option<f64>| {
        r.as_ref().filter(|x| !x.limited).and_then(f)
    };
    let rows: Vec<(&'static str, (String, String, &'static str))> = vec![
        (
            "score",
            change(
                ind(&this, |r| {
                    (r.counts.dispatched > 0).then_some(r.indicators.score)
                }),
                ind(&last, |r| {
                    (r.counts.dispatched > 0).then_some(r.indicators.score)
                }),
                false,
                2,
            ),
        ),
        (
            "dispatched",
            // A volume, neither better nor worse.
            neutral(change(
                ind(&this, |r| Some(r.counts.dispatched as f64)),
                ind(&last, |r| Some(r.counts.dispatched as f64)),
                false,
                0,
            )),
        ),
        (
            "closure",
            change(
                ind(&this, |r| r.indicators.closure_rate),
                ind(&last, |r| r.indicators.closure_rate),
                false,
                1,
            ),
        ),
        (
            "on_time_closure",
            change(
                ind(&this, |r| r.indicators.on_time_closure_rate),
                ind(&last, |r| r.indicators.on_time_closure_rate),
                false,
                1,
            ),
        ),
        (
            "on_time_handling",
            change(
                ind(&this, |r| r.indicators.on_time_handling_rate),
                ind(&last, |r| r.indicators.on_time_handling_rate),
                false,
                1,
            ),
        ),
        (
            "accurate_dispatch",
            change(
                ind(&this, |r| r.indicators.accurate_dispatch_rate),
                ind(&last, |r| r.indicators.accurate_dispatch_rate),
                false,
                1,
            ),
        ),
        (
            "overdue",
            change(
                ind(&this, |r| Some(r.indicators.overdue as f64)),
                ind(&last, |r| Some(r.indicators.overdue as f64)),
                true,
                0,
            ),
        ),
        (
            "rework",
            change(
                ind(&this, |r| Some(r.indicators.rework as f64)),
                ind(&last, |r| Some(r.indicators.rework as f64)),
                true,
                0,
            ),
        ),
        (
            "mean_hours",
            change(
                ind(&this, |r| r.indicators.mean_handling_hours),
                ind(&last, |r| r.indicators.mean_handling_hours),
                true,
                1,
            ),
        ),
    ];
    let label = move |k: &str| match k {
        "score" => t_string!(i18n, eval_score),
        "dispatched" => t_string!(i18n, ind_dispatched),
        "closure" => t_string!(i18n, ind_closure),
        "on_time_closure" => t_string!(i18n, ind_on_time_closure),
        "on_time_handling" => t_string!(i18n, ind_on_time_handling),
        "accurate_dispatch" => t_string!(i18n, ind_accurate_dispatch),
        "overdue" => t_string!(i18n, ind_overdue),
        "rework" => t_string!(i18n, ind_rework),
        _ => t_string!(i18n, ind_mean_hours),
    };
    let rank = |r: &Option<DeptScore>, n: u32| match r.as_ref().map(|x| x.rank).filter(|k| *k > 0) {
        Some(k) => format!("{k} / {n}"),
        None => "—".into(),
    };
    let (rank_this, rank_last) = (rank(&this, s.ranked), rank(&last, s.ranked_last));
    let overdue_link = format!("/cases?state=open&overdue=1&department={}", s.department_id);
    view! {
        <header class="page-head">
            <h1 data-testid="scorecard-dept">{move || pick(i18n.get_locale(), &zh, &en)}</h1>
            <p class="muted">{t!(i18n, scorecard_intro)}</p>
        </header>
        {(!s.departments.is_empty()).then(|| view! {
            <Form method="GET" action="" attr:class="filters">
                <label class="inline-field">{t!(i18n, case_department)}
                    <DeptSelect name="dept" list=s.departments.clone() selected=s.department_id.to_string() />
                </label>
                <button type="submit" class="btn">{t!(i18n, filter_apply)}</button>
            </Form>
        })}
        <ul class="figures" data-testid="scorecard-figures">
            <li class="figure"><span class="figure-label">{t!(i18n, eval_rank)} " · " {s.month.clone()}</span>
                <span class="figure-value" data-testid="scorecard-rank">{rank_this}</span>
                <span class="figure-prev muted">{s.last_month.clone()} ": " {rank_last}</span></li>
            <li class="figure"><span class="figure-label">{t!(i18n, ind_overdue)} " · " {t!(i18n, scorecard_open_now)}</span>
                <span class="figure-value" data-testid="scorecard-overdue">{s.overdue_total}</span></li>
            <li class="figure"><span class="figure-label">{t!(i18n, scorecard_appeals)}</span>
                <span class="figure-value" data-testid="scorecard-appeals">{s.appeals.len()}</span></li>
        </ul>
        <div class="stack">
        <section class="card">
            <h2>{t!(i18n, scorecard_trend)}</h2>
            <div class="table-wrap"><table class="table compact" data-testid="scorecard-trend">
                <thead><tr>
                    <th scope="col">{t!(i18n, scorecard_indicator)}</th>
                    <th scope="col" class="num">{s.month.clone()} " / " {s.last_month.clone()}</th>
                    <th scope="col" class="num">{t!(i18n, scorecard_change)}</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|(k, (both, delta, class))| view! {
                        <tr data-indicator=k>
                            <th scope="row">{move || label(k)}</th>
                            <td class="num">{both}</td>
                            <td class=format!("num change {class}")>{delta}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table></div>
            <p class="muted">{t!(i18n, scorecard_month_so_far)}</p>
        </section>
        <section class="card">
            <h2>{t!(i18n, scorecard_overdue_cases)} " (" {s.overdue_total} ")"</h2>
            {if s.overdue.is_empty() {
                view! { <p class="empty">{t!(i18n, scorecard_no_overdue)}</p> }.into_any()
            } else {
                view! { <CaseTable rows=s.overdue.clone() testid="scorecard-overdue-table" /> <p><a href=overdue_link>{t!(i18n, scorecard_all_overdue)} " →"</a></p> }.into_any()
            }}
        </section>
        <section class="card">
            <h2>{t!(i18n, scorecard_appeals)}</h2>
            {if s.appeals.is_empty() {
                view! { <p class="empty">{t!(i18n, scorecard_no_appeals)}</p> }.into_any()
            } else {
                view! {
                    <ul class="plain" data-testid="scorecard-appeal-list">
                        {s.appeals.clone().into_iter().map(|a| view! {
                            <li><a class="mono" href=format!("/cases/{}", a.case_id)>{a.case_code.clone()}</a> " " <AppealState state=a.state.clone() /> " " <span class="muted">{a.filed_at.clone()}</span> " " {a.reason.clone()}</li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
        <section class="card">
            <h2>{t!(i18n, scorecard_published)}</h2>
            {if s.published.is_empty() {
                view! { <p class="empty">{t!(i18n, scorecard_none_published)}</p> }.into_any()
            } else {
                view! {
                    <table class="table compact" data-testid="scorecard-published">
                        <thead><tr>
                            <th scope="col">{t!(i18n, assessment_month)}</th>
                            <th scope="col" class="num">{t!(i18n, eval_rank)}</th>
                            <th scope="col" class="num">{t!(i18n, eval_score)}</th>
                        </tr></thead>
                        <tbody>
                            {s.published.clone().into_iter().map(|(m, rank, n, score)| view! {
                                <tr>
                                    <td><a class="mono" href=format!("/evaluation/monthly?month={m}")>{m.clone()}</a></td>
                                    <td class="num">{rank} " / " {n}</td>
                                    <td class="num">{format!("{score:.2}")}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
        </div>
    }
}
