//! The one error type every server function returns. It crosses the network with its
//! variant intact, and the browser turns it into a sentence in the user's language.
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldErrorKind {
    Required,
    TooLong,
    PasswordTooShort,
    PasswordWeak,
    PasswordMismatch,
    PasswordWrong,
    UsernameFormat,
    UsernameTaken,
    CodeFormat,
    CodeTaken,
    UnknownRole,
    UnknownDepartment,
    NotSelf,
    UnknownClass,
    /// The coordinates lie outside every unit grid.
    OutsideGrids,
    /// The thing a case would be about (an energy entity) lies in no unit grid.
    EntityOutsideGrids,
    /// Not a number, or out of range.
    BadNumber,
    BadDate,
    /// Working periods not in the form 08:30-12:00,14:30-18:00.
    BadPeriods,
    /// The file is not really a JPEG or PNG image.
    BadPhoto,
    PhotoTooLarge,
    TooManyPhotos,
    PhotoRequired,
    /// A citizen category (Open311 service) that does not exist or is switched off.
    UnknownService,
    /// An answer to a category's question not among its choices.
    BadAnswer,
    /// Not an e-mail address.
    BadEmail,
    /// Not a telephone number.
    BadPhone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub kind: FieldErrorKind,
}

impl FieldError {
    pub fn new(field: &str, kind: FieldErrorKind) -> Self {
        Self {
            field: field.to_string(),
            kind,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("sign-in required")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("account locked for {minutes} more minutes")]
    Locked { minutes: i64 },
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("request from another site refused")]
    CrossOrigin,
    /// A workflow step the case or the caller does not allow now.
    #[error("step refused: {0:?}")]
    Refused(crate::domain::workflow::Refusal),
    /// Someone else changed the record since it was loaded.
    #[error("changed by someone else")]
    Conflict,
    #[error("internal error")]
    Internal,
    /// The request could not be read (malformed arguments or body).
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("network or protocol error: {0}")]
    Transport(String),
    /// Too many submissions from this address; try again in `minutes`.
    #[error("too many requests; retry in {minutes} minutes")]
    TooManyRequests { minutes: i64 },
}

impl AppError {
    pub fn field(field: &str, kind: FieldErrorKind) -> Self {
        AppError::Invalid(vec![FieldError::new(field, kind)])
    }

    /// The error for a given form field, if any.
    pub fn for_field(&self, field: &str) -> Option<FieldErrorKind> {
        match self {
            AppError::Invalid(errs) => errs.iter().find(|e| e.field == field).map(|e| e.kind),
            _ => None,
        }
    }

    pub fn http_status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => 401,
            AppError::Forbidden | AppError::CrossOrigin => 403,
            AppError::Refused(_) | AppError::Conflict => 409,
            AppError::NotFound => 404,
            AppError::Locked { .. } => 423,
            AppError::TooManyRequests { .. } => 429,
            AppError::Invalid(_) => 422,
            AppError::BadRequest(_) => 400,
            AppError::Internal | AppError::Transport(_) => 500,
        }
    }
}

impl AppError {
    /// A short, stable description for the audit log, e.g. `invalid: username=UsernameTaken`.
    pub fn audit_detail(&self) -> String {
        match self {
            AppError::Invalid(errs) => {
                let fields: Vec<String> = errs
                    .iter()
                    .map(|e| format!("{}={:?}", e.field, e.kind))
                    .collect();
                format!("invalid: {}", fields.join(", "))
            }
            other => other.to_string(),
        }
    }
}

impl From<Vec<FieldError>> for AppError {
    fn from(v: Vec<FieldError>) -> Self {
        AppError::Invalid(v)
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m)
            | ServerFnErrorErr::MissingArg(m)
            | ServerFnErrorErr::Deserialization(m) => AppError::BadRequest(m),
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        AppError::Internal
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_audit_details() {
        let e = AppError::Invalid(vec![
            FieldError::new("username", FieldErrorKind::UsernameTaken),
            FieldError::new("password", FieldErrorKind::PasswordWeak),
        ]);
        assert_eq!(e.http_status(), 422);
        assert_eq!(e.for_field("password"), Some(FieldErrorKind::PasswordWeak));
        assert_eq!(e.for_field("role"), None);
        assert_eq!(
            e.audit_detail(),
            "invalid: username=UsernameTaken, password=PasswordWeak"
        );
        assert_eq!(AppError::Locked { minutes: 30 }.http_status(), 423);
        assert_eq!(AppError::Forbidden.http_status(), 403);
        assert_eq!(AppError::Unauthenticated.http_status(), 401);
        // The browser decodes exactly what the server encoded.
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<AppError>(&json).unwrap(), e);
        assert!(matches!(
            AppError::from_server_fn_error(ServerFnErrorErr::Args("missing field".into())),
            AppError::BadRequest(_)
        ));
    }
}
