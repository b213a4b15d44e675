//! Administration of users, departments and the audit log (administrators only).
use crate::error::AppError;
use crate::model::{AuditEntry, AuditFilter, Department, Page, UserFilter, UserSummary};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
mod server {
    use crate::auth::{actor, require};
    use crate::db::{audit, Tx};
    use crate::domain::Area;
    use crate::error::{AppError, FieldErrorKind};
    use crate::model::CurrentUser;

    pub async fn admin(action: &str) -> Result<CurrentUser, AppError> {
        require(Area::AdminUsers, action).await
    }

    pub async fn ok(
        tx: &mut Tx,
        u: &CurrentUser,
        action: &str,
        target: &str,
        id: i64,
        detail: String,
    ) -> Result<(), AppError> {
        audit::record(
            tx,
            &actor(u),
            audit::Event {
                action,
                target_type: target,
                target_id: Some(id.to_string()),
                outcome: audit::OK,
                detail,
            },
        )
        .await?;
        Ok(())
    }

    /// Records a refused write (invalid input) so the log shows attempts as well as changes.
    pub async fn invalid(
        u: &CurrentUser,
        action: &str,
        target: &str,
        id: Option<i64>,
        e: &AppError,
    ) -> Result<(), AppError> {
        let st = crate::auth::state()?;
        audit::record_alone(
            &st.store,
            &actor(u),
            audit::Event {
                action,
                target_type: target,
                target_id: id.map(|i| i.to_string()),
                outcome: audit::FAILED,
                detail: e.audit_detail(),
            },
        )
        .await?;
        Ok(())
    }

    /// An inactive account keeps no sessions: every write that sets `active` ends them here.
    pub async fn end_sessions_unless_active(
        tx: &mut Tx,
        id: i64,
        active: bool,
        detail: &mut String,
    ) -> Result<(), AppError> {
        if !active {
            let n = crate::db::sessions::delete_for_user(tx, id).await?;
            detail.push_str(&format!("; ended {n} sessions"));
        }
        Ok(())
    }

    /// A unique-constraint race (two admins at once) becomes a field error, not a 500.
    pub fn unique(e: sqlx::Error, field: &str, kind: FieldErrorKind) -> AppError {
        match e.as_database_error() {
            Some(d) if d.is_unique_violation() => AppError::field(field, kind),
            _ => e.into(),
        }
    }
}

#[server(endpoint = "admin/users")]
pub async fn list_users(filter: UserFilter) -> Result<Page<UserSummary>, AppError> {
    server::admin("admin.users.list").await?;
    let st = crate::auth::state()?;
    Ok(crate::db::users::list(&st.store, &filter).await?)
}

#[server(endpoint = "admin/user")]
pub async fn get_user(id: i64) -> Result<Option<UserSummary>, AppError> {
    server::admin("admin.users.get").await?;
    let st = crate::auth::state()?;
    Ok(crate::db::users::get(&st.store, id).await?)
}

#[server(endpoint = "admin/departments")]
pub async fn list_departments() -> Result<Vec<Department>, AppError> {
    server::admin("admin.departments.list").await?;
    let st = crate::auth::state()?;
    Ok(crate::db::departments::list(&st.store).await?)
}

/// Creates an account. Returns its id.
#[server(endpoint = "admin/user/create")]
pub async fn create_user(
    username: String,
    display_name: String,
    role: String,
    department_id: i64,
    password: String,
    password_confirm: String,
) -> Result<i64, AppError> {
    use crate::db::{departments, users};
    use crate::domain::{validate as v, Role};
    use crate::error::{FieldError, FieldErrorKind as K};

    let me = server::admin("admin.users.create").await?;
    let st = crate::auth::state()?;
    let username = username.trim().to_string();
    let display_name = display_name.trim().to_string();
    let run = async {
        let mut errs: Vec<FieldError> = [
            v::username("username", &username),
            v::text("display_name", &display_name, 64),
            v::password("password", &password),
        ]
        .into_iter()
        .filter_map(Result::err)
        .collect();
        if password != password_confirm && errs.iter().all(|e| e.field != "password") {
            errs.push(FieldError::new("password_confirm", K::PasswordMismatch));
        }
        let role = Role::from_code(&role);
        if role.is_none() {
            errs.push(FieldError::new("role", K::UnknownRole));
        }
        // Hash before the write transaction: on SQLite it holds the one writer connection.
        let hash = match errs.is_empty() {
            true => Some(crate::auth::hash_password(password.clone()).await?),
            false => None,
        };
        let mut tx = st.store.begin().await?;
        if errs.iter().all(|e| e.field != "username")
            && users::username_taken(&mut tx, &username).await?
        {
            errs.push(FieldError::new("username", K::UsernameTaken));
        }
        if !departments::exists_active(&mut tx, department_id).await? {
            errs.push(FieldError::new("department_id", K::UnknownDepartment));
        }
        if !errs.is_empty() {
            return Err(AppError::Invalid(errs));
        }
        let (role, hash) = role.zip(hash).ok_or(AppError::Internal)?;
        let id = users::insert(
            &mut tx,
            &username,
            &display_name,
            &hash,
            role,
            department_id,
        )
        .await
        .map_err(|e| server::unique(e, "username", K::UsernameTaken))?;
        server::ok(
            &mut tx,
            &me,
            "admin.users.create",
            "user",
            id,
            format!(
                "username={username} role={} department={department_id}",
                role.code()
            ),
        )
        .await?;
        tx.commit().await?;
        leptos_axum::redirect(&format!("/admin/users/{id}?saved=1"));
        Ok(id)
    };
    match run.await {
        Err(e @ AppError::Invalid(_)) => {
            server::invalid(&me, "admin.users.create", "user", None, &e).await?;
            Err(e)
        }
        r => r,
    }
}

/// Changes name, role, department and whether the account is active. Deactivating an
/// account ends all its sessions at once.
#[server(endpoint = "admin/user/update")]
pub async fn update_user(
    id: i64,
    display_name: String,
    role: String,
    department_id: i64,
    active: bool,
) -> Result<(), AppError> {
    use crate::db::{departments, users};
    use crate::domain::{validate as v, Role};
    use crate::error::{FieldError, FieldErrorKind as K};

    let me = server::admin("admin.users.update").await?;
    let st = crate::auth::state()?;
    let display_name = display_name.trim().to_string();
    let run = async {
        let before = users::get(&st.store, id).await?.ok_or(AppError::NotFound)?;
        let mut errs: Vec<FieldError> = v::text("display_name", &display_name, 64)
            .err()
            .into_iter()
            .collect();
        let role = Role::from_code(&role);
        if role.is_none() {
            errs.push(FieldError::new("role", K::UnknownRole));
        }
        if id == me.id && (!active || role != Some(Role::Admin)) {
            // An administrator cannot lock themselves out of administration.
            errs.push(FieldError::new("active", K::NotSelf));
        }
        let mut tx = st.store.begin().await?;
        if department_id != before.department_id
            && !departments::exists_active(&mut tx, department_id).await?
        {
            errs.push(FieldError::new("department_id", K::UnknownDepartment));
        }
        if !errs.is_empty() {
            return Err(AppError::Invalid(errs));
        }
        let role = role.ok_or(AppError::Internal)?;
        users::update(&mut tx, id, &display_name, role, department_id, active).await?;
        let mut detail = format!(
            "role={} department={department_id} active={active}",
            role.code()
        );
        server::end_sessions_unless_active(&mut tx, id, active, &mut detail).await?;
        server::ok(&mut tx, &me, "admin.users.update", "user", id, detail).await?;
        tx.commit().await?;
        leptos_axum::redirect(&format!("/admin/users/{id}?saved=1"));
        Ok(())
    };
    match run.await {
        Err(e @ AppError::Invalid(_)) => {
            server::invalid(&me, "admin.users.update", "user", Some(id), &e).await?;
            Err(e)
        }
        r => r,
    }
}

/// Activates or deactivates an account (deactivation ends its sessions).
#[server(endpoint = "admin/user/active")]
pub async fn set_user_active(id: i64, active: bool) -> Result<(), AppError> {
    use crate::db::users;
    use crate::error::FieldErrorKind as K;

    let me = server::admin("admin.users.active").await?;
    let st = crate::auth::state()?;
    if id == me.id && !active {
        let e = AppError::field("active", K::NotSelf);
        server::invalid(&me, "admin.users.active", "user", Some(id), &e).await?;
        return Err(e);
    }
    let mut tx = st.store.begin().await?;
    if !users::set_active(&mut tx, id, active).await? {
        return Err(AppError::NotFound);
    }
    let mut detail = format!("active={active}");
    server::end_sessions_unless_active(&mut tx, id, active, &mut detail).await?;
    server::ok(&mut tx, &me, "admin.users.active", "user", id, detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Sets a new password for an account, unlocks it and ends its sessions.
#[server(endpoint = "admin/user/password")]
pub async fn reset_password(
    id: i64,
    password: String,
    password_confirm: String,
) -> Result<(), AppError> {
    use crate::db::{sessions, users};
    use crate::domain::validate as v;
    use crate::error::FieldErrorKind as K;

    let me = server::admin("admin.users.password").await?;
    let st = crate::auth::state()?;
    users::get(&st.store, id).await?.ok_or(AppError::NotFound)?;
    let check = v::password("password", &password)
        .map_err(|e| AppError::Invalid(vec![e]))
        .and_then(|_| {
            if password == password_confirm {
                Ok(())
            } else {
                Err(AppError::field("password_confirm", K::PasswordMismatch))
            }
        });
    if let Err(e) = check {
        server::invalid(&me, "admin.users.password", "user", Some(id), &e).await?;
        return Err(e);
    }
    let hash = crate::auth::hash_password(password).await?;
    let mut tx = st.store.begin().await?;
    users::set_password(&mut tx, id, &hash).await?;
    let n = sessions::delete_for_user(&mut tx, id).await?;
    server::ok(
        &mut tx,
        &me,
        "admin.users.password",
        "user",
        id,
        format!("ended {n} sessions"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Creates (`id` = 0) or updates a department.
#[server(endpoint = "admin/department/save")]
pub async fn save_department(
    id: i64,
    code: String,
    name_zh: String,
    name_en: String,
    active: bool,
) -> Result<i64, AppError> {
    use crate::db::departments;
    use crate::domain::validate as v;
    use crate::error::FieldErrorKind as K;

    let action = if id == 0 {
        "admin.departments.create"
    } else {
        "admin.departments.update"
    };
    let me = crate::auth::require(crate::domain::Area::AdminDepartments, action).await?;
    let st = crate::auth::state()?;
    let code = code.trim().to_string();
    let (name_zh, name_en) = (name_zh.trim().to_string(), name_en.trim().to_string());
    let run = async {
        let mut errs: Vec<_> = [
            v::code("code", &code),
            v::text("name_zh", &name_zh, 64),
            v::text("name_en", &name_en, 128),
        ]
        .into_iter()
        .filter_map(Result::err)
        .collect();
        let mut tx = st.store.begin().await?;
        if errs.iter().all(|e| e.field != "code")
            && departments::code_taken(&mut tx, &code, (id != 0).then_some(id)).await?
        {
            errs.push(crate::error::FieldError::new("code", K::CodeTaken));
        }
        if id != 0 && !active && id == me.department_id {
            errs.push(crate::error::FieldError::new("active", K::NotSelf));
        }
        if !errs.is_empty() {
            return Err(AppError::Invalid(errs));
        }
        let saved = if id == 0 {
            departments::insert(&mut tx, &code, &name_zh, &name_en)
                .await
                .map_err(|e| server::unique(e, "code", K::CodeTaken))?
        } else {
            let found = departments::update(&mut tx, id, &code, &name_zh, &name_en, active)
                .await
                .map_err(|e| server::unique(e, "code", K::CodeTaken))?;
            if !found {
                return Err(AppError::NotFound);
            }
            id
        };
        server::ok(
            &mut tx,
            &me,
            action,
            "department",
            saved,
            format!("code={code} active={active}"),
        )
        .await?;
        tx.commit().await?;
        leptos_axum::redirect("/admin/departments?saved=1");
        Ok(saved)
    };
    match run.await {
        Err(e @ AppError::Invalid(_)) => {
            server::invalid(&me, action, "department", (id != 0).then_some(id), &e).await?;
            Err(e)
        }
        r => r,
    }
}

#[server(endpoint = "admin/audit")]
pub async fn list_audit(filter: AuditFilter) -> Result<Page<AuditEntry>, AppError> {
    crate::auth::require(crate::domain::Area::AdminAudit, "admin.audit.list").await?;
    let st = crate::auth::state()?;
    Ok(crate::db::audit::list(&st.store, &filter).await?)
}
