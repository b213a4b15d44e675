//! Sky Eye (天眼) screens: the incident list with live updates and bulk triage, one
//! incident with its alerts and triage steps, camera health with alert statistics, and the
//! keys of machine integrations.
pub mod alerts;
pub mod cameras;
pub mod incident;
pub mod keys;

use crate::domain::skyeye::{DismissReason, Severity, Triage};
use crate::i18n::*;
use leptos::prelude::*;

pub fn severity_label(locale: Locale, s: Severity) -> &'static str {
    match s {
        Severity::Critical => td_string!(locale, sev_critical),
        Severity::Major => td_string!(locale, sev_major),
        Severity::Minor => td_string!(locale, sev_minor),
    }
}

pub fn triage_label(locale: Locale, t: Triage) -> &'static str {
    match t {
        Triage::New => td_string!(locale, triage_new),
        Triage::Acknowledged => td_string!(locale, triage_acknowledged),
        Triage::Dismissed => td_string!(locale, triage_dismissed),
        Triage::Escalated => td_string!(locale, triage_escalated),
        Triage::Resolved => td_string!(locale, triage_resolved),
    }
}

pub fn reason_label(locale: Locale, r: DismissReason) -> &'static str {
    match r {
        DismissReason::FalsePositive => td_string!(locale, reason_false_positive),
        DismissReason::Duplicate => td_string!(locale, reason_duplicate),
        DismissReason::NotActionable => td_string!(locale, reason_not_actionable),
    }
}

/// Triage steps as the timeline tells them ("acknowledge" → "Acknowledged", …).
pub fn event_label(locale: Locale, code: &str) -> &'static str {
    match code {
        "acknowledge" => td_string!(locale, ev_acknowledge),
        "dismiss" => td_string!(locale, ev_dismiss),
        "escalate" => td_string!(locale, ev_escalate),
        "resolve" => td_string!(locale, ev_resolve),
        _ => td_string!(locale, ev_other),
    }
}

pub fn camera_status_label(locale: Locale, s: &str) -> &'static str {
    match s {
        "online" => td_string!(locale, cam_online),
        "offline" => td_string!(locale, cam_offline),
        "tampered" => td_string!(locale, cam_tampered),
        _ => td_string!(locale, cam_unknown),
    }
}

/// A share in percent with one decimal, or a dash when nothing was decided.
pub fn pct(v: Option<f64>) -> String {
    match v {
        Some(r) => format!("{:.1}%", r * 100.0),
        None => "—".into(),
    }
}

/// Severity as colour and word (never colour alone).
#[component]
pub fn SeverityBadge(severity: Severity) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <span class=format!("badge sev sev-{}", severity.code()) data-severity=severity.code()>
            {move || severity_label(i18n.get_locale(), severity)}
        </span>
    }
}

#[component]
pub fn TriageBadge(state: Triage) -> impl IntoView {
    let i18n = use_i18n();
    let class = match state {
        Triage::New => "badge badge-warn",
        Triage::Acknowledged => "badge badge-info",
        Triage::Dismissed => "badge badge-off",
        Triage::Escalated => "badge badge-wait",
        Triage::Resolved => "badge badge-ok",
    };
    view! {
        <span class=class data-triage=state.code()>{move || triage_label(i18n.get_locale(), state)}</span>
    }
}

#[component]
pub fn CameraStatusBadge(#[prop(into)] status: String) -> impl IntoView {
    let i18n = use_i18n();
    let class = match status.as_str() {
        "online" => "badge badge-ok",
        "offline" => "badge badge-warn",
        _ => "badge badge-bad",
    };
    let s = status.clone();
    view! {
        <span class=class data-status=status>{move || camera_status_label(i18n.get_locale(), &s)}</span>
    }
}

/// The state of the live connection shown beside a page's title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveState {
    /// Not started (server render, or no JavaScript).
    Idle,
    Connecting,
    Live,
    /// Lost; the browser reconnects by itself.
    Reconnecting,
    /// Refused or given up: the page must be reloaded to see changes.
    Off,
}

/// Change notices from `GET /live` (server-sent events): `tick` goes up, at most about twice
/// a second, whenever one of `kinds` (or "all") changed, and once more after a lost connection
/// comes back (notices may have been missed meanwhile). Read `tick` in a resource's source to
/// load it again. Opened in the browser only, after hydration; closed with the page.
#[derive(Clone, Copy)]
pub struct Live {
    pub tick: RwSignal<u32>,
    pub state: RwSignal<LiveState>,
}

pub fn use_live(kinds: &'static [&'static str]) -> Live {
    let tick = RwSignal::new(0u32);
    let state = RwSignal::new(LiveState::Idle);
    // Effects run only in the browser and only after hydration, so the server render and the
    // first browser render agree.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        open_live(kinds, tick, state);
        #[cfg(not(feature = "hydrate"))]
        let _ = (kinds, tick, state);
    });
    Live { tick, state }
}

#[cfg(feature = "hydrate")]
fn open_live(kinds: &'static [&'static str], tick: RwSignal<u32>, state: RwSignal<LiveState>) {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::time::Duration;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    let Ok(es) = web_sys::EventSource::new("/live") else {
        state.set(LiveState::Off);
        return;
    };
    state.set(LiveState::Connecting);
    // Bursts of notices (an ingest batch, a bulk triage) load the page once.
    let pending = Rc::new(Cell::new(false));
    let bump = {
        let pending = pending.clone();
        move || {
            if pending.replace(true) {
                return;
            }
            let pending = pending.clone();
            set_timeout(
                move || {
                    pending.set(false);
                    let _ = tick.try_update(|n| *n = n.wrapping_add(1));
                },
                Duration::from_millis(500),
            );
        }
    };
    let on_change = {
        let bump = bump.clone();
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let data = ev.data().as_string().unwrap_or_default();
            if data.contains("\"all\"") || kinds.iter().any(|k| data.contains(k)) {
                bump();
            }
        })
    };
    let on_open = Closure::<dyn FnMut()>::new(move || {
        if state.try_get_untracked() == Some(LiveState::Reconnecting) {
            bump();
        }
        let _ = state.try_set(LiveState::Live);
    });
    let on_error = {
        let es = es.clone();
        Closure::<dyn FnMut()>::new(move || {
            // CLOSED: refused (signed out, not allowed); the browser does not try again.
            let s = if es.ready_state() == web_sys::EventSource::CLOSED {
                LiveState::Off
            } else {
                LiveState::Reconnecting
            };
            let _ = state.try_set(s);
        })
    };
    let _ = es.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
    es.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    es.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    // Held by the effect's owner: the cleanup below runs before it lets them go.
    let keep = StoredValue::new_local((es, on_change, on_open, on_error));
    on_cleanup(move || {
        keep.try_with_value(|(es, _, _, _)| {
            es.set_onopen(None);
            es.set_onerror(None);
            es.close();
        });
    });
}

/// "Live" / "reconnecting…" beside a page title, in words as well as colour.
#[component]
pub fn LiveIndicator(live: Live) -> impl IntoView {
    let i18n = use_i18n();
    let text = move || match live.state.get() {
        LiveState::Idle => "",
        LiveState::Connecting => t_string!(i18n, live_connecting),
        LiveState::Live => t_string!(i18n, live_on),
        LiveState::Reconnecting => t_string!(i18n, live_reconnecting),
        LiveState::Off => t_string!(i18n, live_off),
    };
    let class = move || match live.state.get() {
        LiveState::Idle => "live live-idle",
        LiveState::Connecting | LiveState::Reconnecting => "live live-wait",
        LiveState::Live => "live live-on",
        LiveState::Off => "live live-off",
    };
    view! {
        <span class=class role="status" data-testid="live-state">
            <span class="live-dot" aria-hidden="true"></span>
            {text}
        </span>
    }
}

/// The first error of a load about one of a filter's fields, as a sentence.
pub fn load_field_error<T>(
    r: Option<Result<T, crate::error::AppError>>,
) -> Option<Result<(), crate::error::AppError>> {
    r.and_then(|r| r.err()).map(Err)
}
