//! Pages for citizens, no account: report a problem (phone first) and follow it by its
//! tracking code. Nothing here shows a staff name or another person's report.
use crate::api::citizen::{
    citizen_report, citizen_status, public_cells, public_services, TRAP_FIELD,
};
use crate::components::forms::{invalid, FieldErr, FormError, LoadError, Upload};
use crate::components::layout::{pick, Loading};
use crate::domain::citizen::{self, Datatype, Group, Service};
use crate::i18n::*;
use crate::model::{PublicState, PublicStatus, Submitted};
use crate::pages::cases::report::{locate_me, GridPicker};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

pub fn state_label(l: Locale, s: PublicState) -> &'static str {
    match s {
        PublicState::Received => td_string!(l, pub_state_received),
        PublicState::Accepted => td_string!(l, pub_state_accepted),
        PublicState::InProgress => td_string!(l, pub_state_in_progress),
        PublicState::OnHold => td_string!(l, pub_state_on_hold),
        PublicState::Closed => td_string!(l, pub_state_closed),
        PublicState::NotAccepted => td_string!(l, pub_state_not_accepted),
    }
}

/// What a workflow step means to the person who reported.
pub fn step_label(l: Locale, action: &str) -> &'static str {
    match action {
        "report" => td_string!(l, pub_step_report),
        "file" => td_string!(l, pub_step_file),
        "reject" => td_string!(l, pub_step_reject),
        "dispatch" => td_string!(l, pub_step_dispatch),
        "accept" => td_string!(l, pub_step_accept),
        "return" => td_string!(l, pub_step_return),
        "report_back" => td_string!(l, pub_step_report_back),
        "verify_pass" => td_string!(l, pub_step_verify_pass),
        "verify_fail" => td_string!(l, pub_step_verify_fail),
        "close" => td_string!(l, pub_step_close),
        "rework" => td_string!(l, pub_step_rework),
        "hold" => td_string!(l, pub_step_hold),
        "resume" => td_string!(l, pub_step_resume),
        _ => td_string!(l, pub_step_other),
    }
}

fn service_name(l: Locale, code: &str) -> String {
    citizen::service(code).map_or_else(|| code.to_string(), |s| pick(l, s.zh, s.en))
}

/// `/report`: category, place, description, photo, optional contact; answers with the
/// tracking code on the status page.
#[component]
pub fn ReportPage() -> impl IntoView {
    let i18n = use_i18n();
    let up = Upload::<Submitted>::new();
    let out = up.outcome();
    let active = Resource::new(|| (), |_| public_services());
    let cells = Resource::new(|| (), |_| public_cells());
    let chosen = RwSignal::new(String::new());
    let lon = RwSignal::new(String::new());
    let lat = RwSignal::new(String::new());
    let locate = move |_| locate_me(lon, lat);
    view! {
        <Title text=move || t_string!(i18n, pub_report_title).to_string() />
        <div class="public">
            <header class="page-head">
                <h1>{t!(i18n, pub_report_title)}</h1>
                <p class="muted">{t!(i18n, pub_report_intro)}</p>
                <p><a href="/track">{t!(i18n, pub_track_link)}</a></p>
            </header>
            <form method="post" action="/api/public/report" enctype="multipart/form-data" class="form public-form"
                data-testid="citizen-form" on:submit=up.on_submit(citizen_report)>
                <fieldset class="field">
                    <legend>{t!(i18n, pub_step_what)}</legend>
                    <Transition fallback=Loading>
                        {move || Suspend::new(async move {
                            match active.await {
                                Err(e) => view! { <LoadError error=e /> }.into_any(),
                                Ok(codes) => view! { <Categories codes chosen /> }.into_any(),
                            }
                        })}
                    </Transition>
                    <FieldErr outcome=out field="service_code" />
                </fieldset>
                {move || citizen::service(&chosen.get()).filter(|s| !s.attributes.is_empty()).map(|s| view! { <Questions service=s out /> })}
                <fieldset class="field">
                    <legend>{t!(i18n, pub_step_where)}</legend>
                    <button type="button" class="btn btn-block" data-testid="locate" on:click=locate>{t!(i18n, use_my_location)}</button>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let list = cells.await.unwrap_or_default();
                            view! { <GridPicker list lon lat /> }
                        })}
                    </Transition>
                    <div class="row-fields">
                        <label>{t!(i18n, field_lat)}
                            <input name="lat" inputmode="decimal" required prop:value=lat on:input=move |e| lat.set(event_target_value(&e))
                                placeholder="37.8570" aria-invalid=invalid(out, "lat") /></label>
                        <label>{t!(i18n, field_lon)}
                            <input name="lon" inputmode="decimal" required prop:value=lon on:input=move |e| lon.set(event_target_value(&e))
                                placeholder="112.5600" aria-invalid=invalid(out, "lon") /></label>
                    </div>
                    <FieldErr outcome=out field="lat" />
                    <FieldErr outcome=out field="lon" />
                    <label for="address">{t!(i18n, pub_landmark)}</label>
                    <input id="address" name="address" maxlength="200" aria-invalid=invalid(out, "address") />
                    <FieldErr outcome=out field="address" />
                </fieldset>
                <div class="field">
                    <label for="description">{t!(i18n, pub_step_describe)}</label>
                    <textarea id="description" name="description" rows="4" required maxlength="1000"
                        aria-invalid=invalid(out, "description") aria-describedby="description-help"></textarea>
                    <p class="help" id="description-help">{t!(i18n, pub_describe_help)}</p>
                    <FieldErr outcome=out field="description" />
                </div>
                <div class="field">
                    <label for="photos">{t!(i18n, pub_photo)}</label>
                    <input id="photos" type="file" name="photos" accept="image/jpeg,image/png"
                        aria-invalid=invalid(out, "photos") />
                    <p class="help">{t!(i18n, pub_photo_help)}</p>
                    <FieldErr outcome=out field="photos" />
                </div>
                <details class="field">
                    <summary>{t!(i18n, pub_contact)}</summary>
                    <p class="help">{t!(i18n, pub_contact_help)}</p>
                    <label for="phone">{t!(i18n, pub_phone)}</label>
                    <input id="phone" name="phone" type="tel" autocomplete="tel" maxlength="30" aria-invalid=invalid(out, "phone") />
                    <FieldErr outcome=out field="phone" />
                    <label for="email">{t!(i18n, pub_email)}</label>
                    <input id="email" name="email" type="email" autocomplete="email" maxlength="200" aria-invalid=invalid(out, "email") />
                    <FieldErr outcome=out field="email" />
                </details>
                // A trap for robots: hidden from people and from screen readers, under a name
                // no browser autofills.
                <div class="trap" aria-hidden="true">
                    <label>{t!(i18n, pub_trap_label)} " " <input name=TRAP_FIELD tabindex="-1" autocomplete="off" /></label>
                </div>
                <FormError outcome=out />
                <div class="form-actions">
                    <button type="submit" class="btn btn-primary btn-block" data-testid="citizen-submit" disabled=move || up.pending.get()>
                        {move || if up.pending.get() { t_string!(i18n, pub_sending) } else { t_string!(i18n, pub_submit) }}
                    </button>
                </div>
            </form>
        </div>
    }
}

/// The categories as large radio cards, by group.
#[component]
fn Categories(codes: Vec<String>, chosen: RwSignal<String>) -> impl IntoView {
    let i18n = use_i18n();
    let on = move |s: &Service| codes.iter().any(|c| c == s.code);
    let groups = Group::ALL
        .into_iter()
        .map(|g| {
            let list: Vec<&'static Service> = citizen::SERVICES
                .iter()
                .filter(|s| s.group == g && on(s))
                .collect();
            (g, list)
        })
        .filter(|(_, l)| !l.is_empty())
        .map(|(g, list)| {
            let (gzh, gen) = g.names();
            view! {
                <div class="cat-group">
                    <h3>{move || pick(i18n.get_locale(), gzh, gen)}</h3>
                    <div class="cat-grid">
                        {list.into_iter().map(|s| {
                            let code = s.code;
                            view! {
                                <label class="cat" class:on=move || chosen.get() == code>
                                    <input type="radio" name="service_code" value=code required
                                        on:change=move |_| chosen.set(code.to_string()) />
                                    <span class="cat-name">{move || pick(i18n.get_locale(), s.zh, s.en)}</span>
                                    <span class="cat-about">{move || pick(i18n.get_locale(), s.about_zh, s.about_en)}</span>
                                </label>
                            }
                        }).collect_view()}
                    </div>
                </div>
            }
        })
        .collect_view();
    view! { <div data-testid="categories">{groups}</div> }
}

/// The chosen category's questions (Open311 attributes), named `attribute[code]`.
#[component]
fn Questions(
    service: &'static Service,
    out: crate::components::forms::Outcome<Submitted>,
) -> impl IntoView {
    let i18n = use_i18n();
    service
        .attributes
        .iter()
        .map(|a| {
            let name = format!("attribute[{}]", a.code);
            let field = name.clone();
            let input = match a.datatype {
                Datatype::SingleValueList => view! {
                    <div class="choice-row" role="radiogroup">
                        {a.values.iter().map(|(key, zh, en)| view! {
                            <label class="choice"><input type="radio" name=name.clone() value=*key required=a.required />
                                " " {move || pick(i18n.get_locale(), zh, en)}</label>
                        }).collect_view()}
                    </div>
                }
                .into_any(),
                Datatype::Text => view! { <textarea name=name.clone() rows="2" maxlength="1000" required=a.required></textarea> }.into_any(),
                Datatype::Number => view! { <input name=name.clone() inputmode="decimal" required=a.required /> }.into_any(),
                Datatype::String => view! { <input name=name.clone() maxlength="100" required=a.required /> }.into_any(),
            };
            view! {
                <fieldset class="field" data-testid=format!("question-{}", a.code)>
                    <legend>{move || pick(i18n.get_locale(), a.zh, a.en)}</legend>
                    {input}
                    <FieldErr outcome=out field=field />
                </fieldset>
            }
        })
        .collect_view()
}

/// `/track`: type a tracking code.
#[component]
pub fn TrackForm() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let typed = move || query.read().get("code").unwrap_or_default();
    let bad = move || !typed().trim().is_empty() && citizen::normalise_code(&typed()).is_none();
    // A good code typed into the form goes to its page.
    let go = move || citizen::normalise_code(&typed());
    view! {
        <Title text=move || t_string!(i18n, pub_track_title).to_string() />
        {move || go().map(|c| view! { <leptos_router::components::Redirect path=format!("/track/{c}") /> })}
        <div class="public">
            <header class="page-head">
                <h1>{t!(i18n, pub_track_title)}</h1>
                <p class="muted">{t!(i18n, pub_track_intro)}</p>
            </header>
            <form method="get" action="/track" class="form public-form" data-testid="track-form">
                <div class="field">
                    <label for="code">{t!(i18n, pub_code)}</label>
                    <input id="code" name="code" required autocapitalize="characters" autocomplete="off" spellcheck="false"
                        placeholder="TY-XXXX-XXXX" prop:value=typed aria-invalid=move || bad().then_some("true") />
                    <Show when=bad>
                        <p class="field-error" role="alert">{t!(i18n, pub_code_bad)}</p>
                    </Show>
                </div>
                <button type="submit" class="btn btn-primary btn-block">{t!(i18n, pub_track_go)}</button>
            </form>
            <p><a href="/report">{t!(i18n, pub_report_link)}</a></p>
        </div>
    }
}

/// `/track/:code`: the report's state, the steps taken and, once closed, before and after
/// photos.
#[component]
pub fn TrackPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let query = use_query_map();
    let code = move || params.read().get("code").unwrap_or_default();
    let is_new = move || query.read().get("new").is_some();
    let status = Resource::new(code, citizen_status);
    view! {
        <Title text=move || t_string!(i18n, pub_track_title).to_string() />
        <div class="public">
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match status.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(None) => view! {
                            <header class="page-head"><h1>{t!(i18n, pub_track_title)}</h1></header>
                            <p class="empty" data-testid="track-unknown">{t!(i18n, pub_code_unknown)}</p>
                            <p><a href="/track">{t!(i18n, pub_track_again)}</a></p>
                        }.into_any(),
                        Ok(Some(s)) => view! { <Status s is_new=is_new() /> }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

#[component]
fn Status(s: PublicStatus, is_new: bool) -> impl IntoView {
    let i18n = use_i18n();
    let l = move || i18n.get_locale();
    let st = s.state;
    let svc = s.service_code.clone();
    let (dzh, den, szh, sen) = (
        s.district_zh.clone(),
        s.district_en.clone(),
        s.street_zh.clone(),
        s.street_en.clone(),
    );
    let dept = s.department_zh.clone().zip(s.department_en.clone());
    let code = s.code.clone();
    let photo = move |id: i64| format!("/track/{}/photos/{id}", code);
    let photos = (!s.photos_before.is_empty() || !s.photos_after.is_empty()).then(|| {
        let before = s.photos_before.clone();
        let after = s.photos_after.clone();
        let photo2 = photo.clone();
        view! {
            <section class="card">
                <div class="photo-cols">
                    <div>
                        <h2>{t!(i18n, pub_photos_before)}</h2>
                        <div class="thumbs">{before.into_iter().map(|id| view! { <img src=photo(id) alt=move || t_string!(i18n, pub_photos_before) loading="lazy" /> }).collect_view()}</div>
                    </div>
                    <div>
                        <h2>{t!(i18n, pub_photos_after)}</h2>
                        <div class="thumbs">{after.into_iter().map(|id| view! { <img src=photo2(id) alt=move || t_string!(i18n, pub_photos_after) loading="lazy" /> }).collect_view()}</div>
                    </div>
                </div>
            </section>
        }
    });
    view! {
        {is_new.then(|| view! {
            <div class="notice ok" role="status" data-testid="track-new">
                <p>{t!(i18n, pub_thanks)}</p>
                <p class="code-big" data-testid="tracking-code">{s.code.clone()}</p>
                <p class="help">{t!(i18n, pub_keep_code)}</p>
            </div>
        })}
        <header class="page-head">
            <p class="muted mono">{s.code.clone()}</p>
            <h1>{move || service_name(l(), &svc)}</h1>
            <p><span class=format!("pub-state s-{}", st.code()) data-testid="track-state" data-state=st.code()>{move || state_label(l(), st)}</span></p>
        </header>
        <section class="card">
            <dl class="facts">
                <dt>{t!(i18n, pub_where)}</dt>
                <dd>{move || pick(l(), &dzh, &den)} " · " {move || pick(l(), &szh, &sen)}</dd>
                <dt>{t!(i18n, pub_reported)}</dt>
                <dd>{s.reported_text.clone()}</dd>
                {dept.map(|(zh, en)| view! { <dt>{t!(i18n, pub_department)}</dt><dd data-testid="track-department">{move || pick(l(), &zh, &en)}</dd> })}
                {s.expected_text.clone().map(|t| view! { <dt>{t!(i18n, pub_expected)}</dt><dd>{t}</dd> })}
                <dt>{t!(i18n, pub_description)}</dt>
                <dd class="prewrap">{s.description.clone()}</dd>
            </dl>
        </section>
        {photos}
        <section class="card">
            <h2>{t!(i18n, pub_progress)}</h2>
            <ol class="timeline" data-testid="track-timeline">
                {s.timeline.into_iter().rev().map(|e| {
                    let action = e.action.clone();
                    let dept = e.department_zh.clone().zip(e.department_en.clone());
                    view! {
                        <li data-action=e.action.clone()>
                            <div class="tl-head">
                                <strong>{move || step_label(l(), &action)}</strong>
                                {dept.map(|(zh, en)| view! { " " <span>{move || pick(l(), &zh, &en)}</span> })}
                                <span class="muted">" " {e.at_text.clone()}</span>
                            </div>
                            {(!e.note.is_empty()).then(|| view! { <p class="tl-note">{e.note.clone()}</p> })}
                        </li>
                    }
                }).collect_view()}
            </ol>
        </section>
        <p><a href="/report">{t!(i18n, pub_report_link)}</a> " · " <a href="/track">{t!(i18n, pub_track_again)}</a></p>
    }
}
