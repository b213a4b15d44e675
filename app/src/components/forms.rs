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
        FieldErrorKind::UnknownClass => td_string!(locale, err_unknown_class),
        FieldErrorKind::OutsideGrids => td_string!(locale, err_outside_grids),
        FieldErrorKind::EntityOutsideGrids => td_string!(locale, err_entity_outside_grids),
        FieldErrorKind::BadNumber => td_string!(locale, err_bad_number),
        FieldErrorKind::BadDate => td_string!(locale, err_bad_date),
        FieldErrorKind::BadPeriods => td_string!(locale, err_bad_periods),
        FieldErrorKind::BadPhoto => td_string!(locale, err_bad_photo),
        FieldErrorKind::PhotoTooLarge => td_string!(locale, err_photo_too_large),
        FieldErrorKind::TooManyPhotos => td_string!(locale, err_too_many_photos),
        FieldErrorKind::PhotoRequired => td_string!(locale, err_photo_required),
        FieldErrorKind::UnknownService => td_string!(locale, err_unknown_service),
        FieldErrorKind::BadAnswer => td_string!(locale, err_bad_answer),
        FieldErrorKind::BadEmail => td_string!(locale, err_bad_email),
        FieldErrorKind::BadPhone => td_string!(locale, err_bad_phone),
    }
}

pub fn refusal_text(locale: Locale, r: crate::domain::workflow::Refusal) -> &'static str {
    use crate::domain::workflow::Refusal;
    match r {
        Refusal::Role => td_string!(locale, refused_role),
        Refusal::Department => td_string!(locale, refused_department),
        Refusal::State => td_string!(locale, refused_state),
        Refusal::OnHold => td_string!(locale, refused_on_hold),
        Refusal::NotOnHold => td_string!(locale, refused_not_on_hold),
        Refusal::VerificationFailed => td_string!(locale, refused_verification_failed),
        Refusal::MonthPublished => td_string!(locale, refused_month_published),
        Refusal::MonthNotOver => td_string!(locale, refused_month_not_over),
        Refusal::AppealsPending => td_string!(locale, refused_appeals_pending),
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
        AppError::Refused(r) => refusal_text(locale, *r).to_string(),
        AppError::Conflict => td_string!(locale, err_conflict).to_string(),
        AppError::Internal => td_string!(locale, err_internal).to_string(),
        AppError::BadRequest(_) => td_string!(locale, err_bad_request).to_string(),
        AppError::Transport(_) => td_string!(locale, err_network).to_string(),
        AppError::TooManyRequests { minutes } => format!(
            "{}{}{}",
            td_string!(locale, err_too_many_before),
            minutes,
            td_string!(locale, err_too_many_after)
        ),
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
    /// A field name; `String` as well for names made at run time (`attribute[code]`).
    #[prop(into)]
    field: String,
) -> impl IntoView {
    let i18n = use_i18n();
    let id = format!("{field}-error");
    // Plain closures over an `Arc`, not a derived signal: a signal would belong to this
    // component's owner and could be read after a surrounding `Suspend` disposed it.
    let field: std::sync::Arc<str> = field.into();
    let msg = move || match outcome.get() {
        Some(Err(e)) => e
            .for_field(&field)
            .map(|k| field_error_text(i18n.get_locale(), k)),
        _ => None,
    };
    let shown = msg.clone();
    view! {
        <Show when=move || shown().is_some()>
            <p class="field-error" id=id.clone() role="alert">
                {msg.clone()}
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

/// A form sent as multipart (it carries photos): the last result and whether it is on its way.
pub struct Upload<T: Send + Sync + 'static> {
    pub result: RwSignal<Option<Result<T, AppError>>>,
    pub pending: RwSignal<bool>,
}

impl<T: Send + Sync + 'static> Clone for Upload<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Send + Sync + 'static> Copy for Upload<T> {}

impl<T: Clone + Send + Sync + 'static> Upload<T> {
    pub fn new() -> Self {
        Upload {
            result: RwSignal::new(None),
            pending: RwSignal::new(false),
        }
    }

    pub fn outcome(self) -> Outcome<T> {
        let r = self.result;
        Signal::derive(move || r.get())
    }

    /// The submit handler: with JavaScript, the form's data (files included) goes to `call`
    /// and the answer shows beside the fields; without, the browser posts the form itself.
    pub fn on_submit<Fut>(
        self,
        call: fn(leptos::server_fn::codec::MultipartData) -> Fut,
    ) -> impl Fn(leptos::ev::SubmitEvent) + Copy + 'static
    where
        Fut: std::future::Future<Output = Result<T, AppError>> + 'static,
    {
        move |ev: leptos::ev::SubmitEvent| {
            #[cfg(feature = "hydrate")]
            {
                use wasm_bindgen::JsCast;
                ev.prevent_default();
                if self.pending.get_untracked() {
                    return;
                }
                let Some(form) = ev
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
                else {
                    return;
                };
                let Ok(data) = web_sys::FormData::new_with_form(&form) else {
                    return;
                };
                self.pending.set(true);
                leptos::task::spawn_local(async move {
                    let r = call(data.into()).await;
                    // A form that went through starts empty: the page may show another form
                    // in its place, and what was typed must not carry over into it.
                    if r.is_ok() {
                        form.reset();
                    }
                    self.pending.set(false);
                    self.result.set(Some(r));
                });
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (ev, call);
        }
    }
}

impl<T: Clone + Send + Sync + 'static> Default for Upload<T> {
    fn default() -> Self {
        Self::new()
    }
}
