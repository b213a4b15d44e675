use crate::api::account::ChangePassword;
use crate::components::forms::{invalid, outcome, FieldErr, FormError};
use crate::components::layout::RequireArea;
use crate::domain::Area;
use crate::i18n::*;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Account() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<ChangePassword>::new();
    let result = outcome(action);
    let changed = crate::pages::admin::qp("changed");
    let done = move || changed() == "1" || matches!(result.get(), Some(Ok(())));
    view! {
        <Title text=move || t_string!(i18n, nav_account).to_string() />
        <RequireArea area=Area::Account>
            <section class="page-head">
                <h1>{t!(i18n, account_change_password)}</h1>
                <p class="muted">{t!(i18n, password_policy)}</p>
            </section>
            <ActionForm action=action attr:class="form narrow">
                <div class="field">
                    <label for="current">{t!(i18n, field_current_password)}</label>
                    <input id="current" name="current" type="password" autocomplete="current-password" required
                        aria-invalid=invalid(result, "current") aria-describedby="current-error" />
                    <FieldErr outcome=result field="current" />
                </div>
                <div class="field">
                    <label for="password">{t!(i18n, field_new_password)}</label>
                    <input id="password" name="password" type="password" autocomplete="new-password" required
                        aria-invalid=invalid(result, "password") aria-describedby="password-error" />
                    <FieldErr outcome=result field="password" />
                </div>
                <div class="field">
                    <label for="password_confirm">{t!(i18n, field_password_confirm)}</label>
                    <input id="password_confirm" name="password_confirm" type="password" autocomplete="new-password" required
                        aria-invalid=invalid(result, "password_confirm") aria-describedby="password_confirm-error" />
                    <FieldErr outcome=result field="password_confirm" />
                </div>
                <FormError outcome=result />
                <Show when=done>
                    <p class="form-ok" role="status">{t!(i18n, account_password_changed)}</p>
                </Show>
                <button type="submit" class="btn btn-primary" disabled=move || action.pending().get()>
                    {t!(i18n, save)}
                </button>
            </ActionForm>
        </RequireArea>
    }
}
