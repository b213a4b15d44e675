use crate::api::admin::list_departments;
use crate::api::skyeye::{list_api_keys, CreateApiKey, RevokeApiKey};
use crate::components::forms::{field_error_text, outcome, FieldErr, FormError, LoadError};
use crate::components::layout::{pick, Loading, RequireArea};
use crate::domain::Area;
use crate::error::FieldErrorKind;
use crate::i18n::*;
use crate::model::ApiKeyRow;
use crate::pages::admin::qp;
use crate::pages::admin::users::DepartmentSelect;
use leptos::prelude::*;
use leptos_meta::Title;

/// Keys of machine integrations (camera platforms sending alerts and heartbeats): the list,
/// a new key whose secret is shown once, and revoking with a confirmation step.
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let i18n = use_i18n();
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let confirm = qp("revoke");
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_api_keys(),
    );
    let depts = Resource::new(|| (), |_| list_departments());
    let revoked = outcome(revoke);
    view! {
        <Title text=move || t_string!(i18n, nav_keys).to_string() />
        <RequireArea area=Area::AdminKeys>
            <header class="page-head">
                <h1>{t!(i18n, nav_keys)}</h1>
                <p class="muted">{t!(i18n, keys_intro)}</p>
            </header>
            <FormError outcome=revoked />
            <Show when=move || matches!(revoked.get(), Some(Ok(())))>
                <p class="form-ok" role="status" data-testid="revoked">{t!(i18n, keys_revoked_ok)}</p>
            </Show>
            <Transition fallback=Loading>
                {move || {
                    let ask: Option<i64> = confirm().parse().ok();
                    Suspend::new(async move {
                    match keys.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(v) if v.is_empty() => view! { <p class="empty" data-testid="keys-empty">{t!(i18n, keys_empty)}</p> }.into_any(),
                        Ok(v) => {
                            view! {
                                <div class="table-wrap">
                                    <table class="table" data-testid="keys-table">
                                        <thead>
                                            <tr>
                                                <th scope="col">{t!(i18n, key_name)}</th>
                                                <th scope="col">{t!(i18n, key_source)}</th>
                                                <th scope="col">{t!(i18n, field_department)}</th>
                                                <th scope="col">{t!(i18n, key_scopes)}</th>
                                                <th scope="col">{t!(i18n, key_created)} " / " {t!(i18n, key_last_used)}</th>
                                                <th scope="col">{t!(i18n, field_status)}</th>
                                                <th scope="col"><span class="sr-only">{t!(i18n, actions)}</span></th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {v.into_iter().map(|k| view! { <KeyRow k ask revoke /> }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }
                    }
                })}}
            </Transition>
            <h2>{t!(i18n, keys_new)}</h2>
            <CreateForm create depts />
            // Right under the button that made it, where the administrator is looking.
            <NewSecret create />
        </RequireArea>
    }
}

fn scope_label(locale: Locale, s: &str) -> String {
    match s {
        "alerts" => td_string!(locale, scope_alerts).to_string(),
        "heartbeats" => td_string!(locale, scope_heartbeats).to_string(),
        "readings" => td_string!(locale, scope_readings).to_string(),
        "open311" => td_string!(locale, scope_open311).to_string(),
        other => other.to_string(),
    }
}

#[component]
fn KeyRow(k: ApiKeyRow, ask: Option<i64>, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    let i18n = use_i18n();
    let (zh, en) = (k.department_zh.clone(), k.department_en.clone());
    let scopes: Vec<String> = k
        .scopes
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let active = k.revoked_at.is_none();
    let asking = active && ask == Some(k.id);
    let name = k.name.clone();
    let name2 = k.name.clone();
    let action = if !active {
        ().into_any()
    } else if asking {
        view! { <span class="badge badge-bad">{t!(i18n, keys_revoke_asking)}</span> }.into_any()
    } else {
        view! {
            <a class="btn btn-quiet" href=format!("/admin/keys?revoke={0}#revoke-{0}", k.id) data-testid="revoke"
                aria-label=move || format!("{} {}", t_string!(i18n, keys_revoke), name2)>
                {t!(i18n, keys_revoke)}
            </a>
        }
        .into_any()
    };
    // Asked in a row of its own under the key, so the question and its warning read in full.
    let confirm = asking.then(|| {
        let id = k.id;
        view! {
            <tr class="confirm-row" id=format!("revoke-{id}")>
                <td colspan="7">
                    <div class="confirm" role="group" aria-labelledby=format!("confirm-{id}") data-testid="revoke-confirm">
                        <p id=format!("confirm-{id}")>
                            <strong>{t!(i18n, keys_revoke_confirm)}</strong> " " {name.clone()}
                            " · " <span class="mono">{k.prefix.clone()} "…"</span>
                        </p>
                        <p class="sub">{t!(i18n, keys_revoke_warning)}</p>
                        <div class="form-actions">
                            <ActionForm action=revoke attr:class="inline">
                                <input type="hidden" name="id" value=id />
                                <button type="submit" class="btn btn-danger" data-testid="revoke-yes"
                                    disabled=move || revoke.pending().get()>{t!(i18n, keys_revoke_yes)}</button>
                            </ActionForm>
                            <a class="btn btn-quiet" href="/admin/keys">{t!(i18n, cancel)}</a>
                        </div>
                    </div>
                </td>
            </tr>
        }
    });
    view! {
        <tr data-key-id=k.id class:revoked=!active class:asking=asking>
            <td>
                {k.name.clone()}
                <div class="sub">{t!(i18n, key_prefix)} " " <span class="mono">{k.prefix.clone()} "…"</span></div>
            </td>
            <td class="mono nowrap">{k.source.clone()}</td>
            <td>{move || pick(i18n.get_locale(), &zh, &en)}</td>
            <td>
                {scopes.into_iter().map(|s| view! { <span class="badge badge-info">{move || scope_label(i18n.get_locale(), &s)}</span> }).collect_view()}
            </td>
            <td class="nowrap">
                {k.created_at.clone()}
                <div class="sub">{t!(i18n, key_last_used)} " " {k.last_used.clone().unwrap_or_else(|| "—".into())}</div>
            </td>
            <td>
                {match k.revoked_at.clone() {
                    None => view! { <span class="badge badge-ok">{t!(i18n, key_active)}</span> }.into_any(),
                    Some(at) => view! {
                        <span class="badge badge-off">{t!(i18n, key_revoked)}</span>
                        <div class="sub nowrap">{at}</div>
                    }.into_any(),
                }}
            </td>
            <td class="actions">{action}</td>
        </tr>
        {confirm}
    }
}

/// The secret of the key just made, shown this once with a way to copy it.
#[component]
fn NewSecret(create: ServerAction<CreateApiKey>) -> impl IntoView {
    let i18n = use_i18n();
    let copied = RwSignal::new(None::<bool>);
    // Focus moves to the new secret, so it is seen (and read out) at once.
    let boxed = NodeRef::<leptos::html::Section>::new();
    Effect::new(move |_| {
        if let Some(el) = boxed.get() {
            let _ = el.focus();
        }
    });
    let secret = move || match create.value().get() {
        Some(Ok(k)) => Some(k.secret),
        _ => None,
    };
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(s) = secret() {
            use wasm_bindgen::JsCast;
            let nav = window().navigator();
            let cb = nav.clipboard();
            // Older browsers, or a page not served over HTTPS, have no clipboard.
            let v: &wasm_bindgen::JsValue = cb.unchecked_ref();
            if v.is_undefined() || v.is_null() {
                copied.set(Some(false));
            } else {
                let _ = cb.write_text(&s);
                copied.set(Some(true));
            }
        }
    };
    view! {
        <Show when=move || secret().is_some()>
            <section class="secret-box" role="alert" data-testid="new-secret" aria-labelledby="secret-h" tabindex="-1" node_ref=boxed>
                <h2 id="secret-h">{t!(i18n, keys_created)}</h2>
                <p class="secret-warning"><strong>{t!(i18n, keys_secret_once)}</strong></p>
                <pre class="secret" tabindex="0" aria-label=move || t_string!(i18n, keys_secret)><code data-testid="secret">{secret}</code></pre>
                <div class="form-actions">
                    <button type="button" class="btn btn-primary" on:click=copy>{t!(i18n, keys_copy)}</button>
                    <button type="button" class="btn btn-quiet" on:click=move |_| { create.value().set(None); copied.set(None); }>
                        {t!(i18n, keys_saved_it)}
                    </button>
                    <span role="status" class="muted">
                        {move || match copied.get() {
                            Some(true) => t_string!(i18n, keys_copied),
                            Some(false) => t_string!(i18n, keys_copy_manually),
                            None => "",
                        }}
                    </span>
                </div>
                <p class="help">{t!(i18n, keys_usage)}</p>
            </section>
        </Show>
    }
}

#[component]
fn CreateForm(
    create: ServerAction<CreateApiKey>,
    depts: Resource<Result<Vec<crate::model::Department>, crate::error::AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let out = outcome(create);
    // The secret can only be shown by the page itself, so the form needs the app to be running
    // in the browser (a plain form post would create a key nobody ever sees).
    let ready = RwSignal::new(false);
    Effect::new(move |_| ready.set(true));
    // Emptied once the key exists (not on an error, which keeps what was typed).
    let form_ref = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let (Some(Ok(_)), Some(f)) = (create.value().get(), form_ref.get_untracked()) {
            f.reset();
        }
    });
    let inv = move |f: &'static str| {
        move || match out.get() {
            Some(Err(e)) if e.for_field(f).is_some() => "true",
            _ => "false",
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(form) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
            else {
                return;
            };
            let Ok(fd) = web_sys::FormData::new_with_form(&form) else {
                return;
            };
            let text = |n: &str| fd.get(n).as_string().unwrap_or_default();
            let scopes: Vec<String> = ["alerts", "heartbeats", "readings", "open311"]
                .into_iter()
                .filter(|s| !text(&format!("scope_{s}")).is_empty())
                .map(String::from)
                .collect();
            if create.pending().get_untracked() {
                return;
            }
            create.dispatch(CreateApiKey {
                name: text("name"),
                source: text("source").trim().to_string(),
                department_id: text("department_id").parse().ok(),
                scopes: scopes.join(","),
            });
        }
    };
    // The server's rule for a source is stricter than other codes: say it exactly.
    let source_err = move || match out.get() {
        Some(Err(e)) => e.for_field("source").map(|k| match k {
            FieldErrorKind::CodeFormat => t_string!(i18n, key_source_rule).to_string(),
            k => field_error_text(i18n.get_locale(), k).to_string(),
        }),
        _ => None,
    };
    view! {
        <form class="form narrow" on:submit=submit data-testid="key-form" node_ref=form_ref>
            <div class="field">
                <label for="key-name">{t!(i18n, key_name)}</label>
                <input id="key-name" name="name" required maxlength="80" autocomplete="off"
                    aria-invalid=inv("name") aria-describedby="name-error key-name-help" />
                <p class="help" id="key-name-help">{t!(i18n, key_name_help)}</p>
                <FieldErr outcome=out field="name" />
            </div>
            <div class="field">
                <label for="key-source">{t!(i18n, key_source)}</label>
                <input id="key-source" name="source" required minlength="2" maxlength="40" class="mono"
                    pattern="[a-z0-9_\\-]{2,40}" autocomplete="off" autocapitalize="none" spellcheck="false"
                    aria-invalid=inv("source") aria-describedby="source-error key-source-help" />
                <p class="help" id="key-source-help">{t!(i18n, key_source_rule)}</p>
                <Show when=move || source_err().is_some()>
                    <p class="field-error" id="source-error" role="alert">{source_err}</p>
                </Show>
            </div>
            <div class="field">
                <label for="department_id">{t!(i18n, field_department)}</label>
                <Transition fallback=Loading>
                    {move || Suspend::new(async move {
                        match depts.await {
                            Ok(list) => view! {
                                <DepartmentSelect name="department_id" list selected="" invalid=Signal::derive(inv("department_id")) />
                            }.into_any(),
                            Err(e) => view! { <LoadError error=e /> }.into_any(),
                        }
                    })}
                </Transition>
                <p class="help">{t!(i18n, key_department_help)}</p>
                <FieldErr outcome=out field="department_id" />
            </div>
            <fieldset class="field" aria-describedby="scopes-error">
                <legend>{t!(i18n, key_scopes)}</legend>
                <label class="check">
                    <input type="checkbox" name="scope_alerts" value="1" checked />
                    {t!(i18n, scope_alerts)} <span class="muted mono">" POST /api/v1/alerts"</span>
                </label>
                <label class="check">
                    <input type="checkbox" name="scope_heartbeats" value="1" checked />
                    {t!(i18n, scope_heartbeats)} <span class="muted mono">" POST /api/v1/cameras/heartbeat"</span>
                </label>
                <label class="check">
                    <input type="checkbox" name="scope_readings" value="1" />
                    {t!(i18n, scope_readings)} <span class="muted mono">" POST /api/v1/readings"</span>
                </label>
                <label class="check">
                    <input type="checkbox" name="scope_open311" value="1" />
                    {t!(i18n, scope_open311)} <span class="muted mono">" POST /open311/v2/requests"</span>
                </label>
                <FieldErr outcome=out field="scopes" />
            </fieldset>
            <FormError outcome=out />
            <noscript><p class="form-error">{t!(i18n, keys_needs_js)}</p></noscript>
            <div class="form-actions">
                <button type="submit" class="btn btn-primary" data-testid="key-create"
                    disabled=move || !ready.get() || create.pending().get()>{t!(i18n, keys_create)}</button>
            </div>
        </form>
    }
}
