//! Form helpers: errors beside fields and above forms, in the user's language.
use crate::error::{AppError, FieldErrorKind};
use crate::i18n::*;
use leptos::prelude::*;

pub fn field_error_text(locale: Locale, kind: FieldErrorKind) -> &'static str {
    match kind {
        FieldErrorKind::Required => td_string!(locale, err_required),
        FieldErrorKind::TooLong => td_string!(locale, err_too_long),
        FieldErrorKind::PasswordTooShort => td_string!(locale, err_password_short),
        FieldErrorKind::PasswordWeak => td_string!(locale, err_password_weak),
        FieldErrorKind::PasswordMismatch => td_string!(locale, err_password_mismatch),
        FieldErrorKind::PasswordWrong => td_string!(locale, err_password_wrong),
        FieldErrorKind::UsernameFormat => td_string!(locale, err_username_format),
        FieldErrorKind::UsernameTaken => td_string!(locale, err_username_taken),
        FieldErrorKind::CodeFormat => td_string!(locale, err_code_format),
        FieldErrorKind::CodeTaken => td_string!(locale, err_code_taken),
        FieldErrorKind::UnknownRole => td_string!(locale, err_unknown_role),
        FieldErrorKind::UnknownDepartment => td_string!(locale, err_unknown_department),
        FieldErrorKind::NotSelf => td_string!(locale, err_not_self),
    }
}

/// A sentence for an error that is not about one field.
pub fn error_text(locale: Locale, e: &AppError) -> String {
    match e {
        AppError::Unauthenticated => td_string!(locale, err_unauthenticated).to_string(),
        AppError::Forbidden => td_string!(locale, err_forbidden).to_string(),
        AppError::NotFound => td_string!(locale, err_not_found).to_string(),
        AppError::InvalidCredentials => td_string!(locale, err_invalid_credentials).to_string(),
        AppError::Locked { minutes } => format!(
            "{}{}{}",
            td_string!(locale, err_locked_before),
            minutes,
            td_string!(locale, err_locked_after)
        ),
        AppError::Invalid(_) => td_string!(locale, err_invalid).to_string(),
        AppError::CrossOrigin => td_string!(locale, err_cross_origin).to_string(),
        AppError::Internal => td_string!(locale, err_internal).to_string(),
        AppError::BadRequest(_) => td_string!(locale, err_bad_request).to_string(),
        AppError::Transport(_) => td_string!(locale, err_network).to_string(),
    }
}

/// The result of the last submission of a form's action.
pub type Outcome<T> = Signal<Option<Result<T, AppError>>>;

pub fn outcome<T, S>(a: ServerAction<S>) -> Outcome<T>
where
    S: leptos::server_fn::ServerFn<Output = T, Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    let v = a.value();
    Signal::derive(move || v.get())
}

/// The message for `field` from the last submission, shown under its input.
#[component]
pub fn FieldErr<T: Clone + Send + Sync + 'static>(
    outcome: Outcome<T>,
    field: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    let msg = move || match outcome.get() {
        Some(Err(e)) => e
            .for_field(field)
            .map(|k| field_error_text(i18n.get_locale(), k)),
        _ => None,
    };
    view! {
        <Show when=move || msg().is_some()>
            <p class="field-error" id=format!("{field}-error") role="alert">
                {msg}
            </p>
        </Show>
    }
}

/// True when `field` has an error in the last submission (for `aria-invalid`).
pub fn invalid<T: Clone + Send + Sync + 'static>(
    outcome: Outcome<T>,
    field: &'static str,
) -> impl Fn() -> &'static str + Copy {
    move || match outcome.get() {
        Some(Err(e)) if e.for_field(field).is_some() => "true",
        _ => "false",
    }
}

/// An error about the whole form (wrong password, not allowed, network …).
#[component]
pub fn FormError<T: Clone + Send + Sync + 'static>(outcome: Outcome<T>) -> impl IntoView {
    let i18n = use_i18n();
    let msg = move || match outcome.get() {
        Some(Err(AppError::Invalid(_))) | None | Some(Ok(_)) => None,
        Some(Err(e)) => Some(error_text(i18n.get_locale(), &e)),
    };
    view! {
        <Show when=move || msg().is_some()>
            <div class="form-error" role="alert" data-testid="form-error">
                {msg}
            </div>
        </Show>
    }
}

/// An error loading a page's data.
#[component]
pub fn LoadError(error: AppError) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="form-error" role="alert">
            {move || error_text(i18n.get_locale(), &error)}
        </div>
    }
}
