use super::{
    camera_status_label, event_label, pct, reason_label, triage_label, use_live, CameraStatusBadge,
    LiveIndicator, SeverityBadge, TriageBadge,
};
use crate::api::skyeye::{escalation_classes, get_incident, EscalateIncident, TriageIncidents};
use crate::components::forms::{error_text, invalid, outcome, FieldErr, LoadError, Outcome};
use crate::components::layout::{pick, use_auth, Loading, RequireArea};
use crate::domain::skyeye::{next, DismissReason, Step, Triage};
use crate::domain::Area;
use crate::error::AppError;
use crate::i18n::*;
use crate::model::{CaseClass, IncidentDetail};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// What the officer types into the step forms. Kept outside the rendered incident so that a
/// live reload (new alerts folding in) does not wipe a half-written note.
#[derive(Clone, Copy)]
struct Drafts {
    reason: RwSignal<String>,
    note: RwSignal<String>,
    class: RwSignal<Option<String>>,
    description: RwSignal<String>,
}

/// One incident: facts, latest snapshot, alerts, triage history and the steps the caller may
/// take. Reloads by itself when incidents change.
#[component]
pub fn IncidentPage() -> impl IntoView {
    let i18n = use_i18n();
    let auth = use_auth();
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let live = use_live(&["incidents"]);
    let triage = ServerAction::<TriageIncidents>::new();
    let escalate = ServerAction::<EscalateIncident>::new();
    let reload = RwSignal::new(0u32);
    let incident = Resource::new(
        move || {
            (
                id(),
                reload.get(),
                triage.version().get(),
                escalate.version().get(),
            )
        },
        |(id, ..)| get_incident(id),
    );
    let classes = Resource::new(|| (), |_| escalation_classes());
    let drafts = Drafts {
        reason: RwSignal::new(String::new()),
        note: RwSignal::new(String::new()),
        class: RwSignal::new(None),
        description: RwSignal::new(String::new()),
    };
    // A live notice may concern any incident: look at this one, and render it again only when
    // it changed. While the officer is filling in a step form, wait until they leave it, so
    // the field being typed in keeps its focus; if someone else took a step meanwhile, say so
    // at once.
    let changed_by = RwSignal::new(None::<(String, Triage)>);
    let editing = RwSignal::new(false);
    let pending = RwSignal::new(false);
    Effect::new(move |prev: Option<u32>| {
        let tick = live.tick.get();
        if prev.is_some_and(|p| p != tick) {
            let id = untrack(id);
            leptos::task::spawn_local(async move {
                let Ok(d) = get_incident(id).await else {
                    return;
                };
                let Some(Ok(shown)) = incident.get_untracked() else {
                    return;
                };
                if shown.row.id != d.row.id || fingerprint(&shown) == fingerprint(&d) {
                    return;
                }
                if shown.row.version != d.row.version {
                    let me = auth
                        .user
                        .get_untracked()
                        .and_then(|r| r.ok())
                        .flatten()
                        .map(|u| u.display_name);
                    if let Some(e) = d.timeline.last().filter(|e| Some(&e.actor) != me.as_ref()) {
                        changed_by.set(Some((e.actor.clone(), d.row.state)));
                    }
                }
                if editing.get_untracked() {
                    pending.set(true);
                } else {
                    reload.update(|n| *n += 1);
                }
            });
        }
        tick
    });
    Effect::new(move |_| {
        if !editing.get() && pending.get_untracked() {
            pending.set(false);
            reload.update(|n| *n += 1);
        }
    });
    view! {
        <Title text=move || t_string!(i18n, incident_title).to_string() />
        <RequireArea area=Area::Alerts>
            <nav class="crumbs row-crumbs">
                <a href="/alerts">{t!(i18n, nav_alerts)}</a>
                <LiveIndicator live />
            </nav>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    let may_cases = matches!(auth.user.await, Ok(Some(ref u)) if u.role.may_open(Area::Cases));
                    let may_cameras = matches!(auth.user.await, Ok(Some(ref u)) if u.role.may_open(Area::Cameras));
                    let classes = classes.await.unwrap_or_default();
                    match incident.await {
                        Err(AppError::NotFound) => view! { <crate::pages::not_found::NotFound /> }.into_any(),
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(d) => view! {
                            <Detail d classes triage escalate drafts changed_by editing may_cases may_cameras />
                        }.into_any(),
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

/// An error of a triage step as a sentence; a conflict says plainly that someone was first.
#[component]
fn StepError<T: Clone + Send + Sync + 'static>(outcome: Outcome<T>) -> impl IntoView {
    let i18n = use_i18n();
    let msg = move || match outcome.get() {
        Some(Err(AppError::Conflict)) => Some(t_string!(i18n, incident_conflict).to_string()),
        Some(Err(AppError::Invalid(_))) | None | Some(Ok(_)) => None,
        Some(Err(e)) => Some(error_text(i18n.get_locale(), &e)),
    };
    view! {
        <Show when=move || msg().is_some()>
            <div class="form-error" role="alert" data-testid="step-error">{msg}</div>
        </Show>
    }
}

#[allow(clippy::too_many_arguments)]
#[component]
fn Detail(
    d: IncidentDetail,
    classes: Vec<CaseClass>,
    triage: ServerAction<TriageIncidents>,
    escalate: ServerAction<EscalateIncident>,
    drafts: Drafts,
    changed_by: RwSignal<Option<(String, Triage)>>,
    editing: RwSignal<bool>,
    may_cases: bool,
    may_cameras: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let r = d.row.clone();
    let id = r.id;
    let state = r.state;
    let (tzh, ten) = (r.type_zh.clone(), r.type_en.clone());
    let (tzh2, ten2) = (tzh.clone(), ten.clone());
    let (tzh3, ten3) = (tzh.clone(), ten.clone());
    let (dzh, den) = (r.district_zh.clone(), r.district_en.clone());
    let (dzh2, den2) = (dzh.clone(), den.clone());
    let (szh, sen) = (d.street_zh.clone(), d.street_en.clone());
    let (ozh, oen) = (d.owner_zh.clone(), d.owner_en.clone());
    let (ozh2, oen2) = (ozh.clone(), oen.clone());
    let cam_status = d.camera_status.clone();
    let tri = outcome(triage);
    let esc = outcome(escalate);
    let steps: Vec<Step> = [Step::Acknowledge, Step::Dismiss, Step::Escalate]
        .into_iter()
        .filter(|s| next(state, *s, d.health).is_some())
        .collect();
    let case_view = {
        let code = d.case_code.clone().unwrap_or_else(|| "—".into());
        r.case_id.map(move |cid| {
            if may_cases {
                view! { <a class="mono" href=format!("/cases/{cid}") data-testid="case-link">{code}</a> }.into_any()
            } else {
                view! { <span class="mono" data-testid="case-code">{code}</span> }.into_any()
            }
        })
    };
    let case_view2 = {
        let code = d.case_code.clone().unwrap_or_else(|| "—".into());
        r.case_id.map(move |cid| {
            if may_cases {
                view! { <a class="mono" href=format!("/cases/{cid}")>{code}</a> }.into_any()
            } else {
                view! { <span class="mono">{code}</span> }.into_any()
            }
        })
    };
    let shown = d.alerts.len();
    let alerts = d.alerts.clone();
    let timeline = d.timeline.clone();
    let count = r.alert_count;
    let cam_code = r.camera_code.clone();
    let snapshot = match r.snapshot_alert_id {
        Some(a) => view! {
            <figure class="snapshot-large">
                <a href=format!("/snapshots/{a}") target="_blank" rel="noopener">
                    <img src=format!("/snapshots/{a}") width="640" height="360"
                        alt=move || format!("{} · {} · {}", t_string!(i18n, snapshot_latest), pick(i18n.get_locale(), &tzh2, &ten2), cam_code) />
                </a>
                <figcaption class="muted">{t!(i18n, snapshot_latest)} " · " {r.last_seen.clone()}</figcaption>
            </figure>
        }
        .into_any(),
        None => view! { <p class="snapshot-none">{t!(i18n, snapshot_none_long)}</p> }.into_any(),
    };
    view! {
        <header class="page-head">
            <h1>
                <span class="mono">"#" {id}</span> " "
                {move || pick(i18n.get_locale(), &tzh, &ten)} " "
                <SeverityBadge severity=r.severity />
                <span data-testid="incident-state"><TriageBadge state=state /></span>
            </h1>
            <p class="muted">
                <span class="mono">{r.camera_code.clone()}</span> " " {r.camera_name.clone()} " · "
                {move || pick(i18n.get_locale(), &dzh, &den)}
            </p>
        </header>
        {move || changed_by.get().map(|(who, st)| view! {
            <p class="notice-inline" role="status" data-testid="changed-by-other">
                {t!(i18n, incident_changed_by)} " " <strong>{who}</strong> " → " {move || triage_label(i18n.get_locale(), st)}
            </p>
        })}
        {matches!(tri.get_untracked(), Some(Ok(_))).then(|| view! {
            <p class="form-ok" role="status" data-testid="done">
                {t!(i18n, step_done)} " " {move || triage_label(i18n.get_locale(), state)}
            </p>
        })}
        {matches!(esc.get_untracked(), Some(Ok(_))).then(|| view! {
            <p class="form-ok" role="status" data-testid="escalated">
                {t!(i18n, escalated_ok)} " " {case_view2}
            </p>
        })}
        <div class="incident-grid">
            <section class="card ig-snap">{snapshot}</section>
            <section class="card facts ig-facts">
                    <h2>{t!(i18n, incident_facts)}</h2>
                    <dl>
                        <dt>{t!(i18n, incident_type)}</dt>
                        <dd>{move || pick(i18n.get_locale(), &tzh3, &ten3)} " " <span class="mono muted">{r.type_code.clone()}</span></dd>
                        <dt>{t!(i18n, incident_severity)}</dt>
                        <dd><SeverityBadge severity=r.severity /></dd>
                        <dt>{t!(i18n, incident_state)}</dt>
                        <dd>
                            <TriageBadge state=state />
                            {d.dismiss_reason.map(|x| view! { <span class="muted">{move || reason_label(i18n.get_locale(), x)}</span> })}
                        </dd>
                        {case_view.map(|v| view! { <dt>{t!(i18n, incident_case)}</dt><dd>{v}</dd> })}
                        <dt>{t!(i18n, incident_camera)}</dt>
                        <dd>
                            <span class="mono">{r.camera_code.clone()}</span> " " {r.camera_name.clone()}
                            <div class="sub">
                                <a href=format!("/alerts?camera={}&state=all", crate::components::layout::urlencode(&r.camera_code))>{t!(i18n, camera_all_incidents)}</a>
                                {may_cameras.then(|| view! {
                                    " · " <a href=format!("/cameras?q={}#camera-list", crate::components::layout::urlencode(&r.camera_code))>{t!(i18n, camera_in_list)}</a>
                                })}
                            </div>
                        </dd>
                        <dt>{t!(i18n, camera_status)}</dt>
                        <dd>
                            <CameraStatusBadge status=cam_status.clone() />
                            <span class="sr-only">{move || camera_status_label(i18n.get_locale(), &cam_status)}</span>
                        </dd>
                        <dt>{t!(i18n, case_place)}</dt>
                        <dd>
                            {move || pick(i18n.get_locale(), &dzh2, &den2)} " · "
                            {move || pick(i18n.get_locale(), &szh, &sen)} " · "
                            <span class="mono">{d.grid_code.clone()}</span>
                            <div class="muted mono">{format!("{:.5}, {:.5}", d.lat, d.lon)}</div>
                        </dd>
                        <dt>{t!(i18n, incident_owner)}</dt>
                        <dd>{move || pick(i18n.get_locale(), &ozh, &oen)}</dd>
                        <dt>{t!(i18n, incident_alerts)}</dt>
                        <dd data-testid="alert-count">{count}</dd>
                        <dt>{t!(i18n, first_seen)}</dt>
                        <dd>{r.first_seen.clone()}</dd>
                        <dt>{t!(i18n, last_seen)}</dt>
                        <dd>{r.last_seen.clone()}</dd>
                        <dt>{t!(i18n, max_confidence)}</dt>
                        <dd>{pct(r.max_confidence)}</dd>
                    </dl>
            </section>
            <section class="card ig-act" data-testid="incident-actions"
                on:focusin=move |_| editing.set(true)
                on:focusout=move |ev| editing.set(focus_stays_inside(&ev))>
                <h2>{t!(i18n, incident_actions)}</h2>
                <StepError outcome=tri />
                <StepError outcome=esc />
                {if !d.may_triage {
                    view! {
                        <p class="muted" data-testid="no-actions">
                            {t!(i18n, incident_not_yours_before)} " "
                            <strong>{move || pick(i18n.get_locale(), &ozh2, &oen2)}</strong> " "
                            {t!(i18n, incident_not_yours_after)}
                        </p>
                    }.into_any()
                } else if steps.is_empty() && state == Triage::Escalated {
                    view! { <p class="muted" data-testid="no-actions">{t!(i18n, incident_escalated_wait)}</p> }.into_any()
                } else if steps.is_empty() {
                    view! { <p class="muted" data-testid="no-actions">{t!(i18n, incident_finished)}</p> }.into_any()
                } else {
                    let forms = steps.into_iter().map(|s| match s {
                        Step::Acknowledge => view! { <AckForm id triage /> }.into_any(),
                        Step::Dismiss => view! { <DismissForm id triage drafts /> }.into_any(),
                        _ => view! {
                            <EscalateForm id version=r.version class_id=d.class_id classes=classes.clone() escalate drafts />
                        }.into_any(),
                    }).collect_view();
                    view! { <div class="step-forms">{forms}</div> }.into_any()
                }}
            </section>
        </div>
        <section class="card">
            <h2>{t!(i18n, incident_alert_list)}</h2>
            <p class="muted">{move || td_string!(i18n.get_locale(), alerts_shown).replace("{shown}", &shown.to_string()).replace("{total}", &count.to_string())}</p>
            <div class="table-wrap">
                <table class="table compact" data-testid="alerts-table">
                    <thead>
                        <tr>
                            <th scope="col">{t!(i18n, incident_snapshot)}</th>
                            <th scope="col">{t!(i18n, alert_time)}</th>
                            <th scope="col" class="num">{t!(i18n, alert_confidence)}</th>
                            <th scope="col">{t!(i18n, alert_external_id)}</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || alerts.clone() key=|a| a.id children=move |a| {
                            let at = a.at.clone();
                            view! {
                                <tr>
                                    <td class="thumb-cell">
                                        {if a.has_snapshot {
                                            view! {
                                                <a href=format!("/snapshots/{}", a.id) target="_blank" rel="noopener">
                                                    <img class="thumb" src=format!("/snapshots/{}", a.id) loading="lazy" width="96" height="54"
                                                        alt=move || format!("{} {}", t_string!(i18n, snapshot_of), at) />
                                                </a>
                                            }.into_any()
                                        } else {
                                            view! { <span class="thumb thumb-none">{t!(i18n, snapshot_none)}</span> }.into_any()
                                        }}
                                    </td>
                                    <td class="nowrap">{a.at.clone()}</td>
                                    <td class="num">{pct(a.confidence)}</td>
                                    <td class="mono muted">{a.external_id.clone()}</td>
                                </tr>
                            }
                        } />
                    </tbody>
                </table>
            </div>
        </section>
        <section class="card">
            <h2>{t!(i18n, incident_timeline)}</h2>
            <ol class="timeline" data-testid="timeline">
                <li class="tl-first">
                    <div class="tl-head">
                        <strong>{t!(i18n, first_seen)}</strong>
                        <span class="muted">" " {r.first_seen.clone()}</span>
                    </div>
                    <div class="tl-body muted">{t!(i18n, incident_opened_by_camera)}</div>
                </li>
                {timeline.into_iter().map(|e| {
                    let code = e.action.clone();
                    let escalated = e.action == "escalate";
                    let to = Triage::from_code(&e.to_state);
                    let reason = e.reason.as_deref().and_then(DismissReason::from_code);
                    view! {
                        <li data-action=e.action.clone()>
                            <div class="tl-head">
                                <strong>{move || event_label(i18n.get_locale(), &code)}</strong>
                                <span class="muted">" " {e.at.clone()}</span>
                            </div>
                            <div class="tl-body">
                                {e.actor.clone()}
                                {to.map(|s| view! { " → " {move || triage_label(i18n.get_locale(), s)} })}
                                {reason.map(|x| view! { " · " {t!(i18n, dismiss_reason)} " " {move || reason_label(i18n.get_locale(), x)} })}
                            </div>
                            {(!e.note.is_empty()).then(|| if escalated {
                                view! { <p class="tl-note">{t!(i18n, incident_case)} " " <span class="mono">{e.note.clone()}</span></p> }.into_any()
                            } else {
                                view! { <p class="tl-note">{e.note.clone()}</p> }.into_any()
                            })}
                        </li>
                    }
                }).collect_view()}
            </ol>
        </section>
    }
}

#[component]
fn AckForm(id: i64, triage: ServerAction<TriageIncidents>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <ActionForm action=triage attr:class="step-form" attr:data-testid="step-acknowledge">
            <input type="hidden" name="ids" value=id />
            <input type="hidden" name="step" value="acknowledge" />
            <h3>{t!(i18n, step_acknowledge)}</h3>
            <p class="help">{t!(i18n, step_acknowledge_help)}</p>
            <button type="submit" class="btn btn-primary" disabled=move || triage.pending().get()>{t!(i18n, step_acknowledge)}</button>
        </ActionForm>
    }
}

#[component]
fn DismissForm(id: i64, triage: ServerAction<TriageIncidents>, drafts: Drafts) -> impl IntoView {
    let i18n = use_i18n();
    let out = outcome(triage);
    view! {
        <ActionForm action=triage attr:class="step-form" attr:data-testid="step-dismiss">
            <input type="hidden" name="ids" value=id />
            <input type="hidden" name="step" value="dismiss" />
            <h3>{t!(i18n, step_dismiss)}</h3>
            <p class="help">{t!(i18n, step_dismiss_help)}</p>
            <div class="field">
                <label for="dismiss-reason">{t!(i18n, dismiss_reason)}</label>
                <select id="dismiss-reason" name="reason" required
                    aria-invalid=invalid(out, "reason") aria-describedby="reason-error"
                    on:change=move |ev| drafts.reason.set(event_target_value(&ev))>
                    <option value="">{t!(i18n, dismiss_reason_choose_short)}</option>
                    {DismissReason::ALL.into_iter().map(|x| view! {
                        <option value=x.code() selected=move || drafts.reason.get_untracked() == x.code()>
                            {move || reason_label(i18n.get_locale(), x)}
                        </option>
                    }).collect_view()}
                </select>
                <FieldErr outcome=out field="reason" />
            </div>
            <div class="field">
                <label for="dismiss-note">{t!(i18n, step_note)}</label>
                <textarea id="dismiss-note" name="note" rows="2" maxlength="500"
                    aria-invalid=invalid(out, "note") aria-describedby="note-error"
                    prop:value=move || drafts.note.get_untracked()
                    on:input=move |ev| drafts.note.set(event_target_value(&ev))></textarea>
                <FieldErr outcome=out field="note" />
            </div>
            <button type="submit" class="btn btn-warn" disabled=move || triage.pending().get()>{t!(i18n, step_dismiss)}</button>
        </ActionForm>
    }
}

#[component]
fn EscalateForm(
    id: i64,
    version: i64,
    class_id: Option<i64>,
    classes: Vec<CaseClass>,
    escalate: ServerAction<EscalateIncident>,
    drafts: Drafts,
) -> impl IntoView {
    let i18n = use_i18n();
    let out = outcome(escalate);
    // The class as chosen here, else the one the alert type opens.
    let chosen = match drafts.class.get_untracked() {
        Some(s) => s.parse::<i64>().ok(),
        None => class_id,
    };
    view! {
        <ActionForm action=escalate attr:class="step-form" attr:data-testid="step-escalate">
            <input type="hidden" name="id" value=id />
            <input type="hidden" name="version" value=version />
            <h3>{t!(i18n, step_escalate)}</h3>
            <p class="help">{t!(i18n, step_escalate_help)}</p>
            <div class="field">
                <label for="class_id">{t!(i18n, case_class)}</label>
                <select id="class_id" name="class_id" required
                    aria-invalid=invalid(out, "class_id") aria-describedby="class_id-error"
                    on:change=move |ev| drafts.class.set(Some(event_target_value(&ev)))>
                    <crate::pages::cases::ClassOptions classes chosen=chosen />
                </select>
                <FieldErr outcome=out field="class_id" />
            </div>
            <div class="field">
                <label for="description">{t!(i18n, escalate_description)}</label>
                <textarea id="description" name="description" rows="3" maxlength="2000"
                    aria-invalid=invalid(out, "description") aria-describedby="description-help description-error"
                    prop:value=move || drafts.description.get_untracked()
                    on:input=move |ev| drafts.description.set(event_target_value(&ev))></textarea>
                <p class="help" id="description-help">{t!(i18n, escalate_description_help)}</p>
                <FieldErr outcome=out field="description" />
            </div>
            <button type="submit" class="btn btn-primary" disabled=move || escalate.pending().get()>{t!(i18n, step_escalate)}</button>
        </ActionForm>
    }
}

/// What a live reload would change on screen.
fn fingerprint(d: &IncidentDetail) -> (i64, i64, String, String, Option<i64>, Option<String>) {
    (
        d.row.version,
        d.row.alert_count,
        d.row.last_seen.clone(),
        d.camera_status.clone(),
        d.row.snapshot_alert_id,
        d.case_code.clone(),
    )
}

/// True when focus moves to another element of the same section (a form field to the next).
fn focus_stays_inside(ev: &leptos::ev::FocusEvent) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let section = ev
            .current_target()
            .and_then(|t| t.dyn_into::<web_sys::Node>().ok());
        let next = ev
            .related_target()
            .and_then(|t| t.dyn_into::<web_sys::Node>().ok());
        match (section, next) {
            (Some(s), Some(n)) => s.contains(Some(&n)),
            _ => false,
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        false
    }
}
