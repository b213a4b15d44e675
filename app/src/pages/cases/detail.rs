use super::{action_label, event_label, kind_label, state_label, unit_label, StateBadge, TimeLeft};
use crate::api::cases::{case_step, get_case};
use crate::api::evaluation::FileAppeal;
use crate::components::forms::{invalid, outcome, FieldErr, FormError, LoadError, Upload};
use crate::components::layout::{pick, use_auth, Loading, RequireArea};
use crate::domain::workflow::{Action, Holder};
use crate::domain::Area;
use crate::error::AppError;
use crate::i18n::*;
use crate::model::{CaseDetail, PhotoRef};
use crate::pages::admin::qp;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// One case: facts, deadline, who holds it, photos before and after, the steps the caller
/// may take now, and the timeline.
#[component]
pub fn CaseDetailPage() -> impl IntoView {
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
    let done = qp("done");
    let step = Upload::<String>::new();
    let appeal = ServerAction::<FileAppeal>::new();
    // Loaded again after a step the server refused or found stale (the case changed under
    // the caller), but not after a form error: reloading rebuilds the forms in place, which
    // clears the photos already chosen. A step that succeeds navigates to `?done=`.
    let stale = move || {
        matches!(
            step.result.get(),
            Some(Err(AppError::Refused(_) | AppError::Conflict))
        )
    };
    let case = Resource::new(
        move || (id(), done(), stale(), appeal.version().get()),
        |(id, _, _, _)| get_case(id),
    );
    view! {
        <Title text=move || t_string!(i18n, case_title).to_string() />
        <RequireArea area=Area::Cases>
            <nav class="crumbs"><a href="/cases">{t!(i18n, nav_cases)}</a></nav>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    let role = auth.user.await.ok().flatten().map(|u| u.role);
                    let may_alerts = role.is_some_and(|r| r.may_open(Area::Alerts));
                    let may_energy = role.is_some_and(|r| r.may_open(Area::Energy));
                    match case.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(None) => view! { <crate::pages::not_found::NotFound /> }.into_any(),
                        Ok(Some(c)) => view! { <Detail c step appeal done=done() may_alerts may_energy /> }.into_any(),
                    }
                })}
            </Transition>
        </RequireArea>
    }
}

fn holder_text(locale: Locale, c: &CaseDetail) -> String {
    match c.row.state.holder() {
        Holder::CommandCentre => td_string!(locale, holder_command).to_string(),
        Holder::SupervisionCentre => td_string!(locale, holder_supervision).to_string(),
        Holder::Department => match (&c.row.department_zh, &c.row.department_en) {
            (Some(zh), Some(en)) => pick(locale, zh, en),
            _ => "—".into(),
        },
        Holder::Nobody => td_string!(locale, holder_nobody).to_string(),
    }
}

#[component]
fn Detail(
    c: CaseDetail,
    step: Upload<String>,
    appeal: ServerAction<FileAppeal>,
    done: String,
    may_alerts: bool,
    may_energy: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let cls = c.class.clone();
    let (czh, cen) = (cls.name_zh.clone(), cls.name_en.clone());
    let (fzh, fen) = (cls.filing_zh.clone(), cls.filing_en.clone());
    let (lzh, len) = (cls.closing_zh.clone(), cls.closing_en.clone());
    let (dzh, den) = (c.row.district_zh.clone(), c.row.district_en.clone());
    let (szh, sen) = (c.street_zh.clone(), c.street_en.clone());
    let holder = {
        let c = c.clone();
        move || holder_text(i18n.get_locale(), &c)
    };
    let kind = cls.kind.clone();
    let unit = cls.limit_unit.clone();
    let done_action = Action::from_code(&done);
    let before: Vec<PhotoRef> = c
        .photos
        .iter()
        .filter(|p| p.stage == "report")
        .cloned()
        .collect();
    let after: Vec<PhotoRef> = c
        .photos
        .iter()
        .filter(|p| p.stage != "report")
        .cloned()
        .collect();
    let state = c.row.state;
    view! {
        <header class="page-head">
            <h1>
                <span class="mono" data-testid="case-code">{c.row.code.clone()}</span> " "
                <span data-testid="case-state"><StateBadge state=state on_hold=c.row.on_hold /></span>
            </h1>
            <p class="muted">{kind_label(i18n.get_locale(), &kind)} " · " <span class="mono">{cls.code.clone()}</span> " " {move || pick(i18n.get_locale(), &czh, &cen)}</p>
        </header>
        {(done == "report").then(|| view! { <p class="form-ok" role="status" data-testid="done">{t!(i18n, case_reported_ok)}</p> })}
        {done_action.map(|a| view! {
            <p class="form-ok" role="status" data-testid="done">
                {t!(i18n, step_done)} " " {move || action_label(i18n.get_locale(), a)} " → " {move || state_label(i18n.get_locale(), state)}
            </p>
        })}
        <div class="detail-grid">
            <section class="card facts">
                <h2>{t!(i18n, case_facts)}</h2>
                <dl>
                    <dt>{t!(i18n, case_holder)}</dt>
                    <dd data-testid="case-holder"><strong>{holder}</strong></dd>
                    <dt>{t!(i18n, case_deadline)}</dt>
                    <dd>
                        {c.row.due_at.clone().or(c.deadline.clone()).unwrap_or_else(|| "—".into())} " "
                        {c.row.state.is_open().then(|| view! { <TimeLeft minutes=c.row.minutes_left on_hold=c.row.on_hold /> })}
                    </dd>
                    <dt>{t!(i18n, case_limit)}</dt>
                    <dd>{cls.limit_amount} " " {move || unit_label(i18n.get_locale(), &unit)}</dd>
                    {c.hold_reason.clone().map(|r| view! { <dt>{t!(i18n, hold_reason)}</dt><dd>{r}</dd> })}
                    <dt>{t!(i18n, case_place)}</dt>
                    <dd>
                        {move || pick(i18n.get_locale(), &dzh, &den)} " · " {move || pick(i18n.get_locale(), &szh, &sen)}
                        " · " <a class="mono" href=format!("/cases?grid={}", c.row.grid_code)>{c.row.grid_code.clone()}</a>
                        <div>{c.row.address.clone()}</div>
                        <div class="muted mono">{format!("{:.5}, {:.5}", c.lat, c.lon)}</div>
                    </dd>
                    <dt>{t!(i18n, case_description)}</dt>
                    <dd class="prewrap">{c.description.clone()}</dd>
                    <dt>{t!(i18n, case_reported_at)}</dt>
                    <dd>{c.row.reported_at.clone()} {c.reporter_name.clone().map(|n| format!(" · {n}"))}</dd>
                    {c.citizen_code.clone().map(|code| view! {
                        <dt>{t!(i18n, case_source)}</dt>
                        <dd data-testid="case-citizen">{t!(i18n, case_from_citizen)} " " <a class="mono" href=format!("/track/{code}")>{code.clone()}</a></dd>
                    })}
                    {c.citizen_contact.clone().map(|contact| view! {
                        <dt>{t!(i18n, case_citizen_contact)}</dt>
                        <dd data-testid="case-citizen-contact">{contact}</dd>
                    })}
                    {c.incident_id.map(|n| view! {
                        <dt>{t!(i18n, case_source)}</dt>
                        <dd data-testid="case-incident">
                            {if may_alerts {
                                view! { <a href=format!("/alerts/{n}")>{t!(i18n, case_from_incident)} " #" {n}</a> }.into_any()
                            } else {
                                view! { <span>{t!(i18n, case_from_incident)} " #" {n}</span> }.into_any()
                            }}
                        </dd>
                    })}
                    {c.anomaly_id.map(|n| view! {
                        <dt>{t!(i18n, case_source)}</dt>
                        <dd data-testid="case-anomaly">
                            {if may_energy {
                                view! { <a href=format!("/energy/anomalies/{n}")>{t!(i18n, case_from_anomaly)} " #" {n}</a> }.into_any()
                            } else {
                                view! { <span>{t!(i18n, case_from_anomaly)} " #" {n}</span> }.into_any()
                            }}
                        </dd>
                    })}
                    {c.route_department.clone().map(|d| view! {
                        <dt>{t!(i18n, case_routed_to)}</dt>
                        <dd data-testid="case-route">{move || pick(i18n.get_locale(), &d.name_zh, &d.name_en)}</dd>
                    })}
                    <dt>{t!(i18n, case_filing_condition)}</dt>
                    <dd>{move || pick(i18n.get_locale(), &fzh, &fen)}</dd>
                    <dt>{t!(i18n, case_closing_condition)}</dt>
                    <dd>{move || pick(i18n.get_locale(), &lzh, &len)}</dd>
                    <dt>{t!(i18n, case_rework)}</dt>
                    <dd data-testid="rework-count">{c.rework_count}</dd>
                    {c.closed_at.clone().map(|t| view! { <dt>{t!(i18n, case_closed_at)}</dt><dd>{t}</dd> })}
                </dl>
            </section>
            <section class="card">
                <h2>{t!(i18n, case_actions)}</h2>
                // Outside the branch: a refused step reloads the case, which may leave the
                // caller nothing to do, and the reason must still show.
                <FormError outcome=step.outcome() />
                {if c.actions.is_empty() {
                    view! { <p class="muted" data-testid="no-actions">{t!(i18n, case_no_actions)}</p> }.into_any()
                } else {
                    let last = RwSignal::new(None::<Action>);
                    let forms = c.actions.iter().map(|a| view! { <StepForm c=c.clone() action=*a step last /> }).collect_view();
                    view! { <div class="step-forms">{forms}</div> }.into_any()
                }}
                {c.appealable.map(|assignment| view! { <AppealForm assignment appeal /> })}
            </section>
        </div>
        <section class="card">
            <h2>{t!(i18n, case_photos)}</h2>
            <div class="photo-cols">
                <div>
                    <h3>{t!(i18n, photos_before)}</h3>
                    <Photos list=before />
                </div>
                <div>
                    <h3>{t!(i18n, photos_after)}</h3>
                    <Photos list=after />
                </div>
            </div>
        </section>
        <section class="card">
            <h2>{t!(i18n, case_timeline)}</h2>
            <ol class="timeline" data-testid="timeline">
                {c.timeline.iter().cloned().map(|e| {
                    let dept = e.department_zh.clone().zip(e.department_en.clone());
                    let adept = e.actor_department_zh.clone().zip(e.actor_department_en.clone());
                    let code = e.action.clone();
                    view! {
                        <li data-action=e.action.clone()>
                            <div class="tl-head">
                                <strong>{move || event_label(i18n.get_locale(), &code)}</strong>
                                <span class="muted">" " {e.at.clone()}</span>
                            </div>
                            <div class="tl-body">
                                {if e.actor_name == crate::model::CITIZEN_NAME && e.actor_department_zh.is_none() { t!(i18n, citizen_actor).into_any() } else { e.actor_name.clone().into_any() }}
                                {move || adept.as_ref().map(|(zh, en)| format!("（{}）", pick(i18n.get_locale(), zh, en)))}
                                " → " {move || state_label(i18n.get_locale(), e.to_state)}
                                {move || dept.as_ref().map(|(zh, en)| format!(" · {} {}", t_string!(i18n, dispatched_to), pick(i18n.get_locale(), zh, en)))}
                                {e.deadline.clone().map(|d| view! { <span class="muted">" · " {t!(i18n, case_deadline)} " " {d}</span> })}
                            </div>
                            {(!e.note.is_empty()).then(|| view! { <p class="tl-note">{e.note.clone()}</p> })}
                            {(!e.public_note.is_empty()).then(|| view! { <p class="tl-note tl-public"><span class="tag">{t!(i18n, public_note_tag)}</span>" " {e.public_note.clone()}</p> })}
                            {(!e.photos.is_empty()).then(|| view! {
                                <div class="thumbs">
                                    {e.photos.iter().map(|p| view! { <a href=format!("/photos/{p}") target="_blank"><img src=format!("/photos/{p}") alt="" loading="lazy" /></a> }).collect_view()}
                                </div>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ol>
        </section>
    }
}

#[component]
fn Photos(list: Vec<PhotoRef>) -> impl IntoView {
    let i18n = use_i18n();
    if list.is_empty() {
        return view! { <p class="muted">{t!(i18n, photos_none)}</p> }.into_any();
    }
    view! {
        <div class="thumbs">
            {list.into_iter().map(|p| view! {
                <a href=format!("/photos/{}", p.id) target="_blank">
                    <img src=format!("/photos/{}", p.id) width=p.width.min(160) alt=move || t_string!(i18n, case_photo_alt) loading="lazy" />
                </a>
            }).collect_view()}
        </div>
    }
    .into_any()
}

/// The form for one step. Posted as multipart (photos); works without JavaScript too.
#[component]
fn StepForm(
    c: CaseDetail,
    action: Action,
    step: Upload<String>,
    last: RwSignal<Option<Action>>,
) -> impl IntoView {
    let i18n = use_i18n();
    // Field errors belong to the form that was sent, not to every form with that field.
    let result = step.result;
    let out: crate::components::forms::Outcome<String> = Signal::derive(move || {
        if last.get() == Some(action) {
            result.get()
        } else {
            None
        }
    });
    let submit = step.on_submit(case_step);
    let id = format!("step-{}", action.code());
    let primary = !matches!(
        action,
        Action::Reject | Action::Return | Action::VerifyFail | Action::Rework | Action::Hold
    );
    // The department the source routed the case to, else the class's default.
    let routed = c.route_department.is_some();
    let default_dept = c
        .route_department
        .as_ref()
        .map_or(c.class.department_id, |d| d.id);
    view! {
        <form method="post" action="/api/cases/step" enctype="multipart/form-data" class="step-form"
            data-testid=id.clone() on:submit=move |ev| {
                last.set(Some(action));
                submit(ev)
            }>
            <input type="hidden" name="case_id" value=c.row.id />
            <input type="hidden" name="version" value=c.version />
            <input type="hidden" name="action" value=action.code() />
            <h3>{move || action_label(i18n.get_locale(), action)}</h3>
            {(action == Action::Dispatch).then(|| {
                let list = c.departments.clone();
                view! {
                    <div class="field">
                        <label for="department_id">{t!(i18n, dispatch_to)}</label>
                        <crate::pages::cases::list::DeptSelect name="department_id" list selected=default_dept.to_string() />
                        <p class="help">{if routed { t!(i18n, dispatch_route_help).into_any() } else { t!(i18n, dispatch_default_help).into_any() }}</p>
                        <FieldErr outcome=out field="department_id" />
                    </div>
                }
            })}
            {(action.needs_note() || action == Action::Dispatch || action == Action::File).then(|| {
                let nid = format!("note-{}", action.code());
                view! {
                    <div class="field">
                        <label for=nid.clone()>{if action.needs_note() { t!(i18n, step_note_required).into_any() } else { t!(i18n, step_note).into_any() }}</label>
                        <textarea id=nid name="note" rows="2" maxlength="1000" required=action.needs_note()
                            aria-invalid=invalid(out, "note") aria-describedby="note-error"></textarea>
                        <FieldErr outcome=out field="note" />
                    </div>
                }
            })}
            {(c.source == "citizen").then(|| {
                let pid = format!("public-note-{}", action.code());
                view! {
                    <div class="field">
                        <label for=pid.clone()>{t!(i18n, step_public_note)}</label>
                        <textarea id=pid name="public_note" rows="2" maxlength="500"
                            aria-invalid=invalid(out, "public_note")></textarea>
                        <p class="help">{t!(i18n, step_public_note_help)}</p>
                        <FieldErr outcome=out field="public_note" />
                    </div>
                }
            })}
            {action.takes_photos().then(|| {
                let pid = format!("photos-{}", action.code());
                view! {
                    <div class="field">
                        <label for=pid.clone()>{t!(i18n, step_photos)}</label>
                        <input id=pid type="file" name="photos" accept="image/jpeg,image/png" multiple required
                            aria-invalid=invalid(out, "photos") aria-describedby="photos-error" />
                        <p class="help">{t!(i18n, photos_help)}</p>
                        <FieldErr outcome=out field="photos" />
                    </div>
                }
            })}
            <button type="submit" class=if primary { "btn btn-primary" } else { "btn" } disabled=move || step.pending.get()>
                {move || action_label(i18n.get_locale(), action)}
            </button>
        </form>
    }
}

#[component]
fn AppealForm(assignment: i64, appeal: ServerAction<FileAppeal>) -> impl IntoView {
    let i18n = use_i18n();
    let out = outcome(appeal);
    view! {
        <ActionForm action=appeal attr:class="step-form" attr:data-testid="appeal-form">
            <h3>{t!(i18n, appeal_file)}</h3>
            <p class="help">{t!(i18n, appeal_help)}</p>
            <input type="hidden" name="assignment_id" value=assignment />
            <div class="field">
                <label for="reason">{t!(i18n, appeal_reason)}</label>
                <textarea id="reason" name="reason" rows="2" maxlength="1000" required></textarea>
                <FieldErr outcome=out field="reason" />
            </div>
            <FormError outcome=out />
            <Show when=move || matches!(out.get(), Some(Ok(_)))>
                <p class="form-ok" role="status">{t!(i18n, appeal_filed)}</p>
            </Show>
            <button type="submit" class="btn" disabled=move || appeal.pending().get()>{t!(i18n, appeal_file)}</button>
        </ActionForm>
    }
}
