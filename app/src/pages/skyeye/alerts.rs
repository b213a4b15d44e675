use super::{use_live, LiveIndicator, SeverityBadge, TriageBadge};
use crate::api::cases::districts;
use crate::api::skyeye::{alert_types, list_incidents, TriageIncidents};
use crate::components::forms::{outcome, FieldErr, FormError, LoadError};
use crate::components::layout::{pick, use_auth, Loading, RequireArea};
use crate::components::pager::Pager;
use crate::domain::skyeye::{DismissReason, Severity, Triage};
use crate::domain::{Area, Role};
use crate::i18n::*;
use crate::model::{IncidentFilter, IncidentRow, Page};
use crate::pages::admin::{qp, query_string};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;

/// Only the open states take a bulk step (acknowledge or dismiss).
fn selectable(t: Triage) -> bool {
    matches!(t, Triage::New | Triage::Acknowledged)
}

/// The state filter of the URL: empty means the default (open incidents), "all" means none.
fn state_filter(q: &str) -> String {
    match q {
        "" => "open".into(),
        "all" => String::new(),
        s => s.into(),
    }
}

/// Incidents the caller may see, newest activity first, filtered in the URL, updated live.
#[component]
pub fn AlertList() -> impl IntoView {
    let i18n = use_i18n();
    let auth = use_auth();
    let (state, severity, kind, district, camera, from, to, page) = (
        qp("state"),
        qp("severity"),
        qp("type"),
        qp("district"),
        qp("camera"),
        qp("from"),
        qp("to"),
        qp("page"),
    );
    let filter = move || IncidentFilter {
        state: state_filter(&state()),
        severity: severity(),
        type_id: kind().parse().ok(),
        district: district(),
        camera: camera().trim().to_string(),
        from: from(),
        to: to(),
        page: page().parse().unwrap_or(1),
    };
    let query = move || {
        query_string(&[
            ("state", state()),
            ("severity", severity()),
            ("type", kind()),
            ("district", district()),
            ("camera", camera()),
            ("from", from()),
            ("to", to()),
        ])
    };
    let live = use_live(&["incidents"]);
    let triage = ServerAction::<TriageIncidents>::new();
    // Loaded again when the filters change (the page is rendered anew). Live notices and
    // triage load the same page into `fresh` instead, which the table shows in place: rows
    // keep their DOM, so keyboard focus, ticked boxes and thumbnails (never cached) stay put
    // while incidents stream in.
    let incidents = Resource::new(filter, list_incidents);
    let fresh = RwSignal::new(None::<(IncidentFilter, Page<IncidentRow>)>);
    let refresh = move || {
        let f = untrack(filter);
        leptos::task::spawn_local(async move {
            if let Ok(p) = list_incidents(f.clone()).await {
                if untrack(filter) == f {
                    fresh.set(Some((f, p)));
                }
            }
        });
    };
    Effect::new(move |prev: Option<(u32, usize)>| {
        let now = (live.tick.get(), triage.version().get());
        if prev.is_some_and(|p| p != now) {
            refresh();
        }
        now
    });
    let types = Resource::new(|| (), |_| alert_types());
    let dists = Resource::new(|| (), |_| districts());
    let selected = RwSignal::new(Vec::<i64>::new());
    // The page on screen: the freshest copy for the current filters.
    let shown = move || -> Option<Page<IncidentRow>> {
        let f = filter();
        match fresh.get() {
            Some((ff, p)) if ff == f => Some(p),
            _ => incidents.get().and_then(|r| r.ok()),
        }
    };
    // A selection only ever holds rows on screen that a step applies to: when the list loads
    // again (filters, live notice, another officer's triage), the rest drop out.
    Effect::new(move |_| {
        if let Some(p) = shown() {
            let open: Vec<i64> = p
                .items
                .iter()
                .filter(|r| selectable(r.state))
                .map(|r| r.id)
                .collect();
            if selected.with_untracked(|s| s.iter().any(|id| !open.contains(id))) {
                selected.update(|s| s.retain(|id| open.contains(id)));
            }
        }
    });
    let result = Signal::derive(move || incidents.get().and_then(|r| r.err()).map(Err::<(), _>));
    let sel_state = move || match state().as_str() {
        "" => "open".to_string(),
        s => s.to_string(),
    };
    view! {
        <Title text=move || t_string!(i18n, nav_alerts).to_string() />
        <RequireArea area=Area::Alerts>
            <header class="page-head row">
                <div>
                    <h1>{t!(i18n, nav_alerts)}</h1>
                    <p class="muted">{t!(i18n, alerts_intro)}</p>
                </div>
                <LiveIndicator live />
            </header>
            <Form method="GET" action="" attr:class="filters" attr:role="search" attr:data-testid="alert-filters">
                <select name="state" aria-label=move || t_string!(i18n, incident_state)>
                    <option value="open" selected=move || sel_state() == "open">{t!(i18n, triage_open)}</option>
                    {Triage::ALL.into_iter().map(|s| view! {
                        <option value=s.code() selected=move || sel_state() == s.code()>{move || super::triage_label(i18n.get_locale(), s)}</option>
                    }).collect_view()}
                    <option value="all" selected=move || sel_state() == "all">{t!(i18n, all_states)}</option>
                </select>
                <select name="severity" aria-label=move || t_string!(i18n, incident_severity)>
                    <option value="">{t!(i18n, all_severities)}</option>
                    {Severity::ALL.into_iter().map(|s| view! {
                        <option value=s.code() selected=move || severity() == s.code()>{move || super::severity_label(i18n.get_locale(), s)}</option>
                    }).collect_view()}
                </select>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let list = types.await.unwrap_or_default();
                        let sel = kind();
                        view! {
                            <select name="type" aria-label=move || t_string!(i18n, incident_type)>
                                <option value="">{t!(i18n, all_alert_types)}</option>
                                {list.into_iter().map(|t| {
                                    let selected = t.id.to_string() == sel;
                                    view! { <option value=t.id selected=selected>{move || pick(i18n.get_locale(), &t.name_zh, &t.name_en)}</option> }
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
                <input type="text" name="camera" value=camera class="short mono" autocomplete="off"
                    placeholder=move || t_string!(i18n, camera_code)
                    aria-label=move || t_string!(i18n, camera_code) />
                <label class="inline-field">{t!(i18n, period_from)}
                    <input type="date" name="from" value=from /></label>
                <label class="inline-field">{t!(i18n, period_to)}
                    <input type="date" name="to" value=to /></label>
                <button type="submit" class="btn">{t!(i18n, filter_apply)}</button>
                <a class="btn btn-quiet" href="/alerts">{t!(i18n, filter_clear)}</a>
            </Form>
            <FieldErr outcome=result field="from" />
            <FieldErr outcome=result field="to" />
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    let bulk = matches!(auth.user.await, Ok(Some(u)) if matches!(u.role, Role::VideoOfficer | Role::DeptHead));
                    match incidents.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(first) => {
                            let f0 = untrack(filter);
                            // Read in the closures below, not here: a live reload updates them
                            // without rendering the whole result again.
                            let page = Signal::derive(move || match fresh.get() {
                                Some((f, p)) if f == f0 => p,
                                _ => first.clone(),
                            });
                            let rows = Signal::derive(move || page.with(|p| p.items.clone()));
                            view! {
                                <Show when=move || page.with(|p| !p.items.is_empty())
                                    fallback=move || view! {
                                        <div class="empty" data-testid="empty">
                                            <p>{t!(i18n, alerts_empty)}</p>
                                            {(sel_state() == "open").then(|| view! { <p class="help">{t!(i18n, alerts_empty_open_hint)}</p> })}
                                        </div>
                                    }>
                                    <IncidentTable rows bulk selected />
                                </Show>
                                {move || page.with(|p| {
                                    let pages = p.pages();
                                    let (page, total, more) = (p.page, p.total, p.more);
                                    (total > 0).then(|| view! { <Pager base="/alerts" query=query() page pages total more /> })
                                })}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            // After the rows (select, then act), and docked to the bottom of the window while
            // anything is selected.
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let bulk = matches!(auth.user.await, Ok(Some(u)) if matches!(u.role, Role::VideoOfficer | Role::DeptHead));
                    bulk.then(|| view! { <BulkBar selected triage /> })
                })}
            </Transition>
        </RequireArea>
    }
}

/// Acknowledge or dismiss the ticked incidents. Acts on exactly the rows ticked on screen,
/// never on "everything matching".
#[component]
fn BulkBar(selected: RwSignal<Vec<i64>>, triage: ServerAction<TriageIncidents>) -> impl IntoView {
    let i18n = use_i18n();
    let out = outcome(triage);
    let step = RwSignal::new("acknowledge");
    let reason = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let need_reason = RwSignal::new(false);
    let n = move || selected.with(|s| s.len());
    let idle = move || n() == 0 || triage.pending().get();
    Effect::new(move |_| {
        if let Some(Ok(_)) = triage.value().get() {
            selected.set(Vec::new());
            note.set(String::new());
            reason.set(String::new());
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let ids = selected.get_untracked();
        if ids.is_empty() || triage.pending().get_untracked() {
            return;
        }
        let step = step.get_untracked();
        let reason = if step == "dismiss" {
            reason.get_untracked()
        } else {
            String::new()
        };
        if step == "dismiss" && reason.is_empty() {
            need_reason.set(true);
            return;
        }
        need_reason.set(false);
        triage.dispatch(TriageIncidents {
            ids: ids
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(","),
            step: step.to_string(),
            reason,
            note: note.get_untracked().trim().to_string(),
        });
    };
    let result_text = move || match out.get() {
        Some(Ok(r)) => {
            let loc = i18n.get_locale();
            let mut s = td_string!(loc, bulk_changed).replace("{n}", &r.changed.len().to_string());
            if !r.skipped.is_empty() {
                s.push_str(
                    &td_string!(loc, bulk_skipped).replace("{n}", &r.skipped.len().to_string()),
                );
            }
            Some(s)
        }
        _ => None,
    };
    view! {
        <div class="bulk-dock" class:docked=move || selected.with(|s| !s.is_empty())>
        <Show when=move || need_reason.get()>
            <p class="field-error" id="bulk-reason-error" role="alert">{t!(i18n, dismiss_reason_needed)}</p>
        </Show>
        <FieldErr outcome=out field="reason" />
        <FieldErr outcome=out field="ids" />
        <FieldErr outcome=out field="note" />
        <FormError outcome=out />
        <Show when=move || result_text().is_some()>
            <p class="form-ok" role="status" data-testid="bulk-result">{result_text}</p>
        </Show>
        <form class="bulkbar" on:submit=submit data-testid="bulk-bar"
            aria-label=move || t_string!(i18n, bulk_label)>
            <span class="bulk-count" aria-live="polite" data-testid="bulk-count">
                {move || td_string!(i18n.get_locale(), bulk_selected).replace("{n}", &n().to_string())}
            </span>
            <select name="reason" aria-label=move || t_string!(i18n, dismiss_reason)
                aria-invalid=move || if need_reason.get() { "true" } else { "false" }
                aria-describedby="bulk-reason-error"
                prop:value=move || reason.get()
                on:change=move |ev| { reason.set(event_target_value(&ev)); need_reason.set(false); }>
                <option value="">{t!(i18n, dismiss_reason_choose)}</option>
                {DismissReason::ALL.into_iter().map(|r| view! {
                    <option value=r.code()>{move || super::reason_label(i18n.get_locale(), r)}</option>
                }).collect_view()}
            </select>
            <input name="note" maxlength="500" autocomplete="off" class="bulk-note"
                placeholder=move || t_string!(i18n, step_note)
                aria-label=move || t_string!(i18n, step_note)
                prop:value=move || note.get()
                on:input=move |ev| note.set(event_target_value(&ev)) />
            <button type="submit" class="btn" data-testid="bulk-ack" disabled=idle
                on:click=move |_| step.set("acknowledge")>{t!(i18n, bulk_acknowledge)}</button>
            <button type="submit" class="btn btn-warn" data-testid="bulk-dismiss" disabled=idle
                on:click=move |_| step.set("dismiss")>{t!(i18n, bulk_dismiss)}</button>
            <button type="button" class="btn btn-quiet" disabled=move || n() == 0
                on:click=move |_| selected.set(Vec::new())>{t!(i18n, bulk_clear)}</button>
        </form>
        </div>
    }
}

#[component]
fn IncidentTable(
    rows: Signal<Vec<IncidentRow>>,
    bulk: bool,
    selected: RwSignal<Vec<i64>>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="table-wrap">
            <table class="table incidents" data-testid="incidents-table">
                <thead>
                    <tr>
                        {bulk.then(|| view! { <th scope="col" class="sel"><span class="sr-only">{t!(i18n, bulk_select)}</span></th> })}
                        <th scope="col">{t!(i18n, incident_no)}</th>
                        <th scope="col">{t!(i18n, incident_snapshot)}</th>
                        <th scope="col">{t!(i18n, incident_severity)}</th>
                        <th scope="col">{t!(i18n, incident_type)}</th>
                        <th scope="col">{t!(i18n, incident_camera)}</th>
                        <th scope="col">{t!(i18n, case_district)}</th>
                        <th scope="col" class="num">{t!(i18n, incident_alerts)}</th>
                        <th scope="col">{t!(i18n, incident_seen)}</th>
                        <th scope="col">{t!(i18n, incident_state)}</th>
                    </tr>
                </thead>
                <tbody>
                    // Keyed: when a live reload shifts the rows, unchanged ones keep their DOM (and
                    // their thumbnails, which are not cached) instead of being rebuilt in place.
                    <For
                        each=move || rows.get()
                        key=|r| (r.id, r.version, r.alert_count, r.reviewed, r.snapshot_alert_id)
                        children=move |r| view! { <IncidentLine r bulk selected /> }
                    />
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn IncidentLine(r: IncidentRow, bulk: bool, selected: RwSignal<Vec<i64>>) -> impl IntoView {
    let i18n = use_i18n();
    let id = r.id;
    let href = format!("/alerts/{id}");
    let (tzh, ten) = (r.type_zh.clone(), r.type_en.clone());
    let (tzh2, ten2) = (tzh.clone(), ten.clone());
    let (dzh, den) = (r.district_zh.clone(), r.district_en.clone());
    let unread = !r.reviewed;
    let cam = r.camera_code.clone();
    let last = r.last_seen.clone();
    let thumb = match r.snapshot_alert_id {
        Some(a) => view! {
            <a href=href.clone() tabindex="-1" class="thumb-link">
                <img class="thumb" src=format!("/snapshots/{a}") loading="lazy" width="96" height="54"
                    alt=move || format!("{} · {} · {}", t_string!(i18n, snapshot_of), pick(i18n.get_locale(), &tzh2, &ten2), cam) />
            </a>
        }
        .into_any(),
        None => view! { <span class="thumb thumb-none">{t!(i18n, snapshot_none)}</span> }.into_any(),
    };
    let check = bulk.then(|| {
        let label = move || format!("{} #{id}", t_string!(i18n, bulk_select));
        view! {
            <td class="sel">
                {selectable(r.state).then(|| view! {
                    <input type="checkbox" aria-label=label data-testid="select-incident"
                        prop:checked=move || selected.with(|s| s.contains(&id))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            selected.update(|s| {
                                s.retain(|x| *x != id);
                                if on { s.push(id); }
                            });
                        } />
                })}
            </td>
        }
    });
    view! {
        <tr class:unread=unread class:picked=move || selected.with(|s| s.contains(&id)) data-id=id>
            {check}
            <td class="nowrap">
                {unread.then(|| view! {
                    <span class="unread-dot" title=move || t_string!(i18n, unread)></span>
                    <span class="sr-only">{t!(i18n, unread)} " "</span>
                })}
                <a href=href.clone() class="mono" data-testid="incident-link">"#" {id}</a>
            </td>
            <td class="thumb-cell">{thumb}</td>
            <td><SeverityBadge severity=r.severity /></td>
            <td><a href=href>{move || pick(i18n.get_locale(), &tzh, &ten)}</a></td>
            <td>
                <span class="mono">{r.camera_code.clone()}</span>
                <div class="sub">{r.camera_name.clone()}</div>
            </td>
            <td>{move || pick(i18n.get_locale(), &dzh, &den)}</td>
            <td class="num nowrap">
                <span aria-hidden="true">"×"{r.alert_count}</span>
                <span class="sr-only">{move || td_string!(i18n.get_locale(), alerts_count_sr).replace("{n}", &r.alert_count.to_string())}</span>
            </td>
            <td class="nowrap">
                <div>{last}</div>
                {(r.first_seen != r.last_seen).then(|| view! {
                    <div class="sub">{t!(i18n, first_seen_short)} " " {r.first_seen.clone()}</div>
                })}
            </td>
            <td><TriageBadge state=r.state /></td>
        </tr>
    }
}
