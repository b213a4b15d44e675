//! Input rules for accounts and departments. The server applies them on every write;
//! the browser uses the same functions only to show errors early.
use crate::error::{FieldError, FieldErrorKind};

pub const PASSWORD_MIN_LEN: usize = 8;
pub const PASSWORD_MAX_LEN: usize = 128;

/// ≥ 8 characters drawn from at least three of: lower case, upper case, digits, other symbols.
pub fn password(field: &str, pw: &str) -> Result<(), FieldError> {
    let len = pw.chars().count();
    if len < PASSWORD_MIN_LEN {
        return Err(FieldError::new(field, FieldErrorKind::PasswordTooShort));
    }
    if len > PASSWORD_MAX_LEN {
        return Err(FieldError::new(field, FieldErrorKind::TooLong));
    }
    let classes = [
        pw.chars().any(|c| c.is_lowercase()),
        pw.chars().any(|c| c.is_uppercase()),
        pw.chars().any(|c| c.is_ascii_digit()),
        pw.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|b| **b).count() < 3 {
        return Err(FieldError::new(field, FieldErrorKind::PasswordWeak));
    }
    Ok(())
}

/// 3–32 characters: ASCII letters, digits, '.', '_' or '-', starting with a letter.
pub fn username(field: &str, name: &str) -> Result<(), FieldError> {
    let n = name.chars().count();
    if n == 0 {
        return Err(FieldError::new(field, FieldErrorKind::Required));
    }
    let first_ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !(3..=32).contains(&n) || !first_ok || !rest_ok {
        return Err(FieldError::new(field, FieldErrorKind::UsernameFormat));
    }
    Ok(())
}

/// Required free text with a maximum length in characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, FieldErrorKind::Required));
    }
    if v.chars().count() > max {
        return Err(FieldError::new(field, FieldErrorKind::TooLong));
    }
    Ok(())
}

/// Department codes: 2–32 characters of ASCII letters, digits, '_' or '-'.
pub fn code(field: &str, value: &str) -> Result<(), FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, FieldErrorKind::Required));
    }
    let ok = (2..=32).contains(&v.len())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if !ok {
        return Err(FieldError::new(field, FieldErrorKind::CodeFormat));
    }
    Ok(())
}

/// The page to open after sign-in: only a same-site absolute path. Anything that a browser
/// could read as another host (`//host`, `/\host`, control characters it strips) gives `/`.
pub fn safe_next(next: &str) -> String {
    let n = next.trim();
    let ok = n.starts_with('/')
        && !n.starts_with("//")
        && !n.starts_with("/api/")
        && !n.chars().any(|c| c.is_control() || c == '\\')
        && n.len() <= 512;
    if ok {
        n.to_string()
    } else {
        "/".to_string()
    }
}

/// Collects the first error of each field; `Ok` when every check passed.
pub fn collect(
    results: impl IntoIterator<Item = Result<(), FieldError>>,
) -> Result<(), Vec<FieldError>> {
    let errs: Vec<FieldError> = results.into_iter().filter_map(Result::err).collect();
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(r: Result<(), FieldError>) -> Option<FieldErrorKind> {
        r.err().map(|e| e.kind)
    }

    #[test]
    fn password_policy() {
        assert_eq!(kind(password("p", "Demo@2026!")), None);
        assert_eq!(
            kind(password("p", "abcDEF12")),
            None,
            "three classes, eight chars"
        );
        assert_eq!(
            kind(password("p", "Ab1!xyz")),
            Some(FieldErrorKind::PasswordTooShort)
        );
        assert_eq!(
            kind(password("p", "abcdefgh1")),
            Some(FieldErrorKind::PasswordWeak)
        );
        assert_eq!(
            kind(password("p", "ABCDEFGH!")),
            Some(FieldErrorKind::PasswordWeak)
        );
        assert_eq!(
            kind(password("p", "密码密码密码Ab1")),
            None,
            "non-ASCII letters count by characters"
        );
        assert_eq!(
            kind(password("p", &"Aa1!".repeat(40))),
            Some(FieldErrorKind::TooLong)
        );
    }

    #[test]
    fn usernames() {
        assert_eq!(kind(username("u", "water")), None);
        assert_eq!(kind(username("u", "li.ming_2")), None);
        assert_eq!(kind(username("u", "")), Some(FieldErrorKind::Required));
        assert_eq!(
            kind(username("u", "ab")),
            Some(FieldErrorKind::UsernameFormat)
        );
        assert_eq!(
            kind(username("u", "1abc")),
            Some(FieldErrorKind::UsernameFormat)
        );
        assert_eq!(
            kind(username("u", "张三丰")),
            Some(FieldErrorKind::UsernameFormat)
        );
        assert_eq!(
            kind(username("u", "a b c")),
            Some(FieldErrorKind::UsernameFormat)
        );
    }

    #[test]
    fn text_and_codes() {
        assert_eq!(kind(text("n", "  ", 10)), Some(FieldErrorKind::Required));
        assert_eq!(kind(text("n", "水务局", 3)), None);
        assert_eq!(
            kind(text("n", "水务局局", 3)),
            Some(FieldErrorKind::TooLong)
        );
        assert_eq!(kind(code("c", "water")), None);
        assert_eq!(kind(code("c", "w")), Some(FieldErrorKind::CodeFormat));
        assert_eq!(kind(code("c", "wa ter")), Some(FieldErrorKind::CodeFormat));
    }

    #[test]
    fn next_is_never_off_site() {
        assert_eq!(safe_next("/admin/users?q=a"), "/admin/users?q=a");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("/\t/evil.example"), "/");
        assert_eq!(safe_next("/\n/evil.example"), "/");
        assert_eq!(safe_next("/api/auth/logout"), "/");
        assert_eq!(safe_next(""), "/");
    }

    #[test]
    fn collect_keeps_every_field() {
        let r = collect([text("a", "", 5), Ok(()), code("b", "!")]);
        let errs = r.unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].field, "a");
        assert_eq!(errs[1].field, "b");
    }
}
