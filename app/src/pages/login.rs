use crate::components::forms::{invalid, outcome, FieldErr, FormError};
use crate::components::layout::use_auth;
use crate::i18n::*;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

/// Sign-in. Works before hydration and without JavaScript: the form posts to the server
/// function, which answers with a redirect (and the error in the URL when it fails).
#[component]
pub fn Login() -> impl IntoView {
    let i18n = use_i18n();
    let auth = use_auth();
    let query = use_query_map();
    let next =
        move || crate::domain::validate::safe_next(&query.read().get("next").unwrap_or_default());
    // Created inside the routes so that, without JavaScript, the error the server put in the
    // URL after a failed attempt is shown.
    let login = ServerAction::<crate::api::auth::Login>::new();
    let result = outcome(login);
    let pending = login.pending();
    let signed_in = move || auth.user.get().and_then(|r| r.ok()).flatten().is_some();
    view! {
        <Title text=move || t_string!(i18n, login_title).to_string() />
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let u = auth.user.await;
                matches!(u, Ok(Some(_))).then(|| view! { <Redirect path=next() /> })
            })}
        </Transition>
        <section class="auth-card" aria-labelledby="login-title">
            <h1 id="login-title">{t!(i18n, login_title)}</h1>
            <p class="muted">{t!(i18n, login_intro)}</p>
            <ActionForm action=login attr:class="form" attr:data-testid="login-form">
                <input type="hidden" name="next" value=next />
                <div class="field">
                    <label for="username">{t!(i18n, field_username)}</label>
                    <input
                        id="username"
                        name="username"
                        type="text"
                        autocomplete="username"
                        autocapitalize="none"
                        spellcheck="false"
                        required
                        aria-invalid=invalid(result, "username")
                        aria-describedby="username-error"
                    />
                    <FieldErr outcome=result field="username" />
                </div>
                <div class="field">
                    <label for="password">{t!(i18n, field_password)}</label>
                    <input
                        id="password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        required
                        aria-invalid=invalid(result, "password")
                        aria-describedby="password-error"
                    />
                    <FieldErr outcome=result field="password" />
                </div>
                <FormError outcome=result />
                <button type="submit" class="btn btn-primary btn-block" disabled=move || pending.get() || signed_in()>
                    {move || if pending.get() { t_string!(i18n, login_pending) } else { t_string!(i18n, login_submit) }}
                </button>
            </ActionForm>
            <p class="hint">{t!(i18n, login_hint)}</p>
        </section>
        <nav class="public-links" aria-labelledby="public-links-title" data-testid="public-links">
            <h2 id="public-links-title">{t!(i18n, pub_for_citizens)}</h2>
            <a class="btn" href="/report">{t!(i18n, pub_report_title)}</a>
            <a class="btn" href="/track">{t!(i18n, pub_track_title)}</a>
            <a class="btn" href="/data">{t!(i18n, pub_open_data)}</a>
        </nav>
    }
}
