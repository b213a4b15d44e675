//! The signed-in user's own account.
use crate::error::AppError;
use leptos::prelude::*;

/// Changes the caller's password. Other sessions of the account end; this one stays.
#[server(endpoint = "account/password")]
pub async fn change_password(
    current: String,
    password: String,
    password_confirm: String,
) -> Result<(), AppError> {
    use crate::auth::{actor, caller, hash_password, state, user, verify_password};
    use crate::db::{audit, sessions, users};
    use crate::domain::validate as v;
    use crate::error::FieldErrorKind as K;

    let me = user()?;
    let st = state()?;
    let creds = users::credentials(&st.store, &me.username)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let check = async {
        if !verify_password(current, creds.password_hash.clone()).await {
            return Err(AppError::field("current", K::PasswordWrong));
        }
        v::password("password", &password).map_err(|e| AppError::Invalid(vec![e]))?;
        if password != password_confirm {
            return Err(AppError::field("password_confirm", K::PasswordMismatch));
        }
        Ok(())
    };
    if let Err(e) = check.await {
        // A wrong current password counts like a failed sign-in, so a borrowed session
        // cannot guess it without limit; the lock also ends every session of the account.
        let mut tx = st.store.begin().await?;
        let mut e = e;
        let mut detail = e.audit_detail();
        if e.for_field("current") == Some(K::PasswordWrong) {
            let cfg = &st.config;
            if users::record_failure(&mut tx, me.id, cfg.max_failed_logins, cfg.lock_ms)
                .await?
                .is_some()
            {
                let n = sessions::delete_for_user(&mut tx, me.id).await?;
                detail.push_str(&format!("; account locked, ended {n} sessions"));
                e = AppError::Locked {
                    minutes: cfg.lock_ms / 60_000,
                };
            }
        }
        audit::record(
            &mut tx,
            &actor(&me),
            audit::Event {
                action: "account.password",
                target_type: "user",
                target_id: Some(me.id.to_string()),
                outcome: audit::FAILED,
                detail,
            },
        )
        .await?;
        tx.commit().await?;
        return Err(e);
    }
    let hash = hash_password(password).await?;
    let token = caller()?.token;
    let mut tx = st.store.begin().await?;
    users::set_password(&mut tx, me.id, &hash).await?;
    sessions::delete_others(&mut tx, me.id, token.as_deref()).await?;
    audit::record(
        &mut tx,
        &actor(&me),
        audit::Event {
            action: "account.password",
            target_type: "user",
            target_id: Some(me.id.to_string()),
            outcome: audit::OK,
            detail: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    leptos_axum::redirect("/account?changed=1");
    Ok(())
}
