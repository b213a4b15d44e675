use crate::error::AppError;
use crate::model::CurrentUser;
use leptos::prelude::*;

/// Signs in. On success the old session (if any) is dropped, a new session id is issued,
/// and the browser is sent to `next` (a same-site path).
#[server(endpoint = "auth/login")]
pub async fn login(username: String, password: String, next: String) -> Result<(), AppError> {
    use crate::auth::{
        anonymous_actor, caller, safe_next, session_cookie, state, verify_password, DUMMY_HASH,
    };
    use crate::db::{audit, now_ms, sessions, users};
    use crate::error::{FieldError, FieldErrorKind};

    let st = state()?;
    let cfg = st.config.clone();
    let username = username.trim().to_string();
    let mut missing = Vec::new();
    if username.is_empty() {
        missing.push(FieldError::new("username", FieldErrorKind::Required));
    }
    if password.is_empty() {
        missing.push(FieldError::new("password", FieldErrorKind::Required));
    }
    if !missing.is_empty() {
        return Err(AppError::Invalid(missing));
    }
    let fail = |detail: &str, target: Option<String>| audit::Event {
        action: "auth.login",
        target_type: "user",
        target_id: target,
        outcome: audit::FAILED,
        detail: detail.to_string(),
    };
    let actor = anonymous_actor(Some(&username));
    let Some(c) = users::credentials(&st.store, &username).await? else {
        verify_password(password, DUMMY_HASH.clone()).await;
        audit::record_alone(&st.store, &actor, fail("unknown username", None)).await?;
        return Err(AppError::InvalidCredentials);
    };
    let actor = audit::Actor {
        user_id: Some(c.id),
        ..actor
    };
    let now = now_ms();
    if let Some(until) = c.locked_until.filter(|t| *t > now) {
        // Same work as a real check, so timing does not tell locked from unknown accounts.
        verify_password(password, DUMMY_HASH.clone()).await;
        audit::record_alone(
            &st.store,
            &actor,
            fail("account locked", Some(c.id.to_string())),
        )
        .await?;
        return Err(AppError::Locked {
            minutes: (until - now + 59_999) / 60_000,
        });
    }
    if !verify_password(password, c.password_hash.clone()).await {
        let mut tx = st.store.begin().await?;
        let locked =
            users::record_failure(&mut tx, c.id, cfg.max_failed_logins, cfg.lock_ms).await?;
        let detail = if locked.is_some() {
            "wrong password; account locked"
        } else {
            "wrong password"
        };
        audit::record(&mut tx, &actor, fail(detail, Some(c.id.to_string()))).await?;
        tx.commit().await?;
        return Err(match locked {
            Some(_) => AppError::Locked {
                minutes: cfg.lock_ms / 60_000,
            },
            None => AppError::InvalidCredentials,
        });
    }
    if !c.active.0 {
        audit::record_alone(
            &st.store,
            &actor,
            fail("account deactivated", Some(c.id.to_string())),
        )
        .await?;
        return Err(AppError::InvalidCredentials);
    }
    let meta = crate::auth::meta();
    let mut tx = st.store.begin().await?;
    users::record_success(&mut tx, c.id).await?;
    if let Some(old) = caller()?.token {
        sessions::delete(&mut tx, &old).await?;
    }
    let token = sessions::create(
        &mut tx,
        c.id,
        cfg.session_absolute_ms,
        meta.ip.as_deref(),
        meta.user_agent.as_deref(),
    )
    .await?;
    audit::record(
        &mut tx,
        &actor,
        audit::Event {
            action: "auth.login",
            target_type: "user",
            target_id: Some(c.id.to_string()),
            outcome: audit::OK,
            detail: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    let res = expect_context::<leptos_axum::ResponseOptions>();
    if let Ok(v) = http::HeaderValue::from_str(&session_cookie(
        &token,
        cfg.session_absolute_ms / 1000,
        cfg.secure_cookies,
    )) {
        res.append_header(http::header::SET_COOKIE, v);
    }
    leptos_axum::redirect(&safe_next(&next));
    Ok(())
}

/// Ends the current session and returns to the sign-in page.
#[server(endpoint = "auth/logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::auth::{actor, caller, clear_cookie, state};
    use crate::db::{audit, sessions};

    let st = state()?;
    let c = caller()?;
    if let (Some(u), Some(token)) = (c.user, c.token) {
        let mut tx = st.store.begin().await?;
        sessions::delete(&mut tx, &token).await?;
        audit::record(
            &mut tx,
            &actor(&u),
            audit::Event {
                action: "auth.logout",
                target_type: "user",
                target_id: Some(u.id.to_string()),
                outcome: audit::OK,
                detail: String::new(),
            },
        )
        .await?;
        tx.commit().await?;
    }
    let res = expect_context::<leptos_axum::ResponseOptions>();
    if let Ok(v) = http::HeaderValue::from_str(&clear_cookie(st.config.secure_cookies)) {
        res.append_header(http::header::SET_COOKIE, v);
    }
    leptos_axum::redirect("/login");
    Ok(())
}

/// The signed-in user, or `None`.
#[server(endpoint = "auth/me")]
pub async fn me() -> Result<Option<CurrentUser>, AppError> {
    Ok(crate::auth::caller()?.user)
}
