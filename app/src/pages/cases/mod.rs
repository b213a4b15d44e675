//! The case workflow screens: queue, list, detail, report, map, evaluation and appeals.
pub mod appeals;
pub mod assessment;
pub mod catalogue;
pub mod detail;
pub mod evaluation;
pub mod list;
pub mod map;
pub mod queue;
pub mod report;
pub mod scorecard;

use crate::components::layout::pick;
use crate::domain::workflow::{Action, State};
use crate::i18n::*;
use crate::model::CaseRow;
use leptos::prelude::*;

pub fn state_label(locale: Locale, s: State) -> &'static str {
    match s {
        State::Reported => td_string!(locale, state_reported),
        State::Rejected => td_string!(locale, state_rejected),
        State::Filed => td_string!(locale, state_filed),
        State::Dispatched => td_string!(locale, state_dispatched),
        State::Handling => td_string!(locale, state_handling),
        State::ReportedBack => td_string!(locale, state_reported_back),
        State::Verified => td_string!(locale, state_verified),
        State::Closed => td_string!(locale, state_closed),
    }
}

pub fn action_label(locale: Locale, a: Action) -> &'static str {
    match a {
        Action::File => td_string!(locale, act_file),
        Action::Reject => td_string!(locale, act_reject),
        Action::Dispatch => td_string!(locale, act_dispatch),
        Action::Accept => td_string!(locale, act_accept),
        Action::Return => td_string!(locale, act_return),
        Action::ReportBack => td_string!(locale, act_report_back),
        Action::VerifyPass => td_string!(locale, act_verify_pass),
        Action::VerifyFail => td_string!(locale, act_verify_fail),
        Action::Close => td_string!(locale, act_close),
        Action::Rework => td_string!(locale, act_rework),
        Action::Hold => td_string!(locale, act_hold),
        Action::Resume => td_string!(locale, act_resume),
    }
}

/// Timeline entries are stored by action code; "report" is the first one.
pub fn event_label(locale: Locale, code: &str) -> &'static str {
    match Action::from_code(code) {
        Some(a) => action_label(locale, a),
        None => td_string!(locale, act_report),
    }
}

pub fn unit_label(locale: Locale, unit: &str) -> &'static str {
    match unit {
        "emergency_hours" => td_string!(locale, unit_emergency_hours),
        "work_hours" => td_string!(locale, unit_work_hours),
        "work_days" => td_string!(locale, unit_work_days),
        _ => td_string!(locale, unit_natural_days),
    }
}

/// The catalogue's active classes as `<option>`s grouped by kind and major class, as
/// inspectors know them, after an empty "choose a class" option; `chosen` is preselected.
#[component]
pub fn ClassOptions(classes: Vec<crate::model::CaseClass>, chosen: Option<i64>) -> impl IntoView {
    let i18n = use_i18n();
    let mut groups: Vec<(String, String, String, Vec<crate::model::CaseClass>)> = Vec::new();
    for c in classes.into_iter().filter(|c| c.active) {
        let key = format!("{}{}", c.kind, c.major_code);
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.3.push(c),
            None => groups.push((key, c.major_zh.clone(), c.major_en.clone(), vec![c])),
        }
    }
    view! {
        <option value="" selected=chosen.is_none()>{t!(i18n, choose_class)}</option>
        {groups.into_iter().map(|(_, mzh, men, items)| {
            let kind = items[0].kind.clone();
            view! {
                <optgroup label=move || format!("{} · {}", kind_label(i18n.get_locale(), &kind), pick(i18n.get_locale(), &mzh, &men))>
                    {items.into_iter().map(|c| {
                        let sel = chosen == Some(c.id);
                        view! { <option value=c.id selected=sel>{c.code.clone()} " " {move || pick(i18n.get_locale(), &c.name_zh, &c.name_en)}</option> }
                    }).collect_view()}
                </optgroup>
            }
        }).collect_view()}
    }
}

pub fn kind_label(locale: Locale, kind: &str) -> &'static str {
    match kind {
        "component" => td_string!(locale, kind_component),
        _ => td_string!(locale, kind_event),
    }
}

/// "2 h 05 min" style durations, in the user's language.
pub fn fmt_minutes(locale: Locale, m: i64) -> String {
    let m = m.abs();
    let (d, h, min) = (m / 1440, (m % 1440) / 60, m % 60);
    let (ud, uh, um) = (
        td_string!(locale, dur_days),
        td_string!(locale, dur_hours),
        td_string!(locale, dur_minutes),
    );
    if d > 0 {
        format!("{d}{ud} {h}{uh}")
    } else if h > 0 {
        format!("{h}{uh} {min}{um}")
    } else {
        format!("{min}{um}")
    }
}

#[component]
pub fn StateBadge(state: State, #[prop(optional)] on_hold: bool) -> impl IntoView {
    let i18n = use_i18n();
    let class = match state {
        State::Closed => "badge badge-ok",
        State::Rejected => "badge badge-off",
        State::Dispatched | State::Handling => "badge badge-info",
        _ => "badge badge-wait",
    };
    view! {
        <span class=class data-state=state.code()>{move || state_label(i18n.get_locale(), state)}</span>
        {on_hold.then(|| view! { <span class="badge badge-warn">{t!(i18n, on_hold)}</span> })}
    }
}

/// Time left until the running deadline, or how long it is overdue.
#[component]
pub fn TimeLeft(minutes: Option<i64>, #[prop(optional)] on_hold: bool) -> impl IntoView {
    let i18n = use_i18n();
    match (on_hold, minutes) {
        (true, _) => view! { <span class="muted">{t!(i18n, clock_paused)}</span> }.into_any(),
        (false, None) => view! { <span class="muted">"—"</span> }.into_any(),
        (false, Some(m)) if m < 0 => view! {
            <span class="overdue" data-testid="overdue">
                {move || format!("{} {}", t_string!(i18n, overdue_by), fmt_minutes(i18n.get_locale(), m))}
            </span>
        }
        .into_any(),
        (false, Some(m)) => view! {
            <span class=if m < 120 { "due-soon" } else { "due-ok" }>
                {move || format!("{} {}", t_string!(i18n, time_left), fmt_minutes(i18n.get_locale(), m))}
            </span>
        }
        .into_any(),
    }
}

/// The table of cases shared by the list and the queue.
#[component]
pub fn CaseTable(rows: Vec<CaseRow>, #[prop(optional)] testid: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    let testid = if testid.is_empty() {
        "cases-table"
    } else {
        testid
    };
    view! {
        <div class="table-wrap">
            <table class="table" data-testid=testid>
                <thead>
                    <tr>
                        <th scope="col">{t!(i18n, case_code)}</th>
                        <th scope="col">{t!(i18n, case_class)}</th>
                        <th scope="col">{t!(i18n, case_place)}</th>
                        <th scope="col">{t!(i18n, case_state)}</th>
                        <th scope="col">{t!(i18n, case_department)}</th>
                        <th scope="col">{t!(i18n, case_reported_at)}</th>
                        <th scope="col">{t!(i18n, case_deadline)}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|r| {
                        let href = format!("/cases/{}", r.id);
                        let (czh, cen) = (r.class_zh.clone(), r.class_en.clone());
                        let (dzh, den) = (r.district_zh.clone(), r.district_en.clone());
                        let dept = r.department_zh.clone().zip(r.department_en.clone());
                        view! {
                            <tr data-code=r.code.clone()>
                                <td><a href=href class="mono nowrap">{r.code.clone()}</a></td>
                                <td>
                                    <span class="mono muted">{r.class_code.clone()}</span> " "
                                    {move || pick(i18n.get_locale(), &czh, &cen)}
                                </td>
                                <td>
                                    {move || pick(i18n.get_locale(), &dzh, &den)}
                                    <span class="muted mono">" · "{r.grid_code.clone()}</span>
                                    <div class="sub">{r.address.clone()}</div>
                                </td>
                                <td><StateBadge state=r.state on_hold=r.on_hold /></td>
                                <td>{move || dept.as_ref().map(|(zh, en)| pick(i18n.get_locale(), zh, en)).unwrap_or_else(|| "—".into())}</td>
                                <td class="nowrap">{r.reported_at.clone()}</td>
                                <td class="nowrap">
                                    <div>{r.due_at.clone().unwrap_or_else(|| "—".into())}</div>
                                    <TimeLeft minutes=r.minutes_left on_hold=r.on_hold />
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The district filter of the list pages: every urban district, or all of them.
#[component]
pub fn DistrictSelect(list: Vec<(String, String, String)>, selected: String) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <select name="district" aria-label=move || t_string!(i18n, case_district)>
            <option value="">{t!(i18n, all_districts)}</option>
            {list.into_iter().map(|(code, zh, en)| {
                let sel = code == selected;
                view! { <option value=code.clone() selected=sel>{move || pick(i18n.get_locale(), &zh, &en)}</option> }
            }).collect_view()}
        </select>
    }
}
