use super::{bind_args, bind_scalar, fmt_local, like_pattern, now_ms, Arg, Flag, Store, Tx, Where};
use crate::domain::Role;
use crate::model::{Page, UserFilter, UserSummary, PER_PAGE};

/// What sign-in needs to know about an account.
#[derive(Debug, sqlx::FromRow)]
pub struct Credentials {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    #[sqlx(try_from = "i64")]
    pub active: Flag,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
}

pub async fn credentials(store: &Store, username: &str) -> sqlx::Result<Option<Credentials>> {
    sqlx::query_as(
        "SELECT id, username, password_hash, CASE WHEN active THEN 1 ELSE 0 END AS active, failed_logins, locked_until FROM users WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(store.pool())
    .await
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    username: String,
    display_name: String,
    role: String,
    department_id: i64,
    department_zh: String,
    department_en: String,
    #[sqlx(try_from = "i64")]
    active: Flag,
    locked_until: Option<i64>,
    last_login_at: Option<i64>,
}

const SELECT: &str = "SELECT u.id, u.username, u.display_name, u.role, u.department_id, \
    d.name_zh AS department_zh, d.name_en AS department_en, \
    CASE WHEN u.active THEN 1 ELSE 0 END AS active, u.locked_until, u.last_login_at \
    FROM users u JOIN departments d ON d.id = u.department_id";

fn summary(r: Row, now: i64) -> UserSummary {
    UserSummary {
        id: r.id,
        username: r.username,
        display_name: r.display_name,
        // Roles are written only through Role::code, so an unknown code means a damaged row.
        role: Role::from_code(&r.role).unwrap_or(Role::Handler),
        department_id: r.department_id,
        department_zh: r.department_zh,
        department_en: r.department_en,
        active: r.active.0,
        locked: r.locked_until.is_some_and(|t| t > now),
        last_login: r.last_login_at.map(fmt_local),
    }
}

pub async fn get(store: &Store, id: i64) -> sqlx::Result<Option<UserSummary>> {
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE u.id = $1"))
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    Ok(row.map(|r| summary(r, now_ms())))
}

pub async fn list(store: &Store, f: &UserFilter) -> sqlx::Result<Page<UserSummary>> {
    let mut w = Where::default();
    if !f.q.trim().is_empty() {
        let p = like_pattern(&f.q);
        w.and(
            "(LOWER(u.username) LIKE ? ESCAPE '!' OR LOWER(u.display_name) LIKE ? ESCAPE '!')",
            [Arg::S(p.clone()), Arg::S(p)],
        );
    }
    if let Some(role) = Role::from_code(&f.role) {
        w.and("u.role = ?", [Arg::S(role.code().to_string())]);
    }
    if let Some(d) = f.department_id {
        w.and("u.department_id = ?", [Arg::I(d)]);
    }
    match f.status.as_str() {
        "active" => w.and("u.active = TRUE", []),
        "inactive" => w.and("u.active = FALSE", []),
        _ => {}
    }
    let count_sql = format!("SELECT COUNT(*) FROM users u{}", w.sql());
    let total: i64 = bind_scalar(sqlx::query_scalar(&count_sql), &w.args)
        .fetch_one(store.pool())
        .await?;
    let page = f.page.max(1);
    let sql = format!(
        "{SELECT}{} ORDER BY u.username LIMIT {} OFFSET {}",
        w.sql(),
        w.next(1),
        w.next(2)
    );
    let mut args = w.args.clone();
    args.push(Arg::I(PER_PAGE as i64));
    args.push(Arg::I((page as i64 - 1) * PER_PAGE as i64));
    let rows: Vec<Row> = bind_args(sqlx::query_as(&sql), &args)
        .fetch_all(store.pool())
        .await?;
    let now = now_ms();
    Ok(Page {
        items: rows.into_iter().map(|r| summary(r, now)).collect(),
        total,
        page,
        per_page: PER_PAGE,
        more: false,
    })
}

pub async fn username_taken(tx: &mut Tx, username: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

pub async fn insert(
    tx: &mut Tx,
    username: &str,
    display_name: &str,
    password_hash: &str,
    role: Role,
    department_id: i64,
) -> sqlx::Result<i64> {
    let now = now_ms();
    sqlx::query_scalar(
        "INSERT INTO users (username, display_name, password_hash, role, department_id, active, failed_logins, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, TRUE, 0, $6, $6) RETURNING id",
    )
    .bind(username)
    .bind(display_name)
    .bind(password_hash)
    .bind(role.code())
    .bind(department_id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

pub async fn update(
    tx: &mut Tx,
    id: i64,
    display_name: &str,
    role: Role,
    department_id: i64,
    active: bool,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE users SET display_name = $1, role = $2, department_id = $3, active = $4, updated_at = $5 WHERE id = $6",
    )
    .bind(display_name)
    .bind(role.code())
    .bind(department_id)
    .bind(active)
    .bind(now_ms())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Sets a new password hash and clears any lock.
pub async fn set_password(tx: &mut Tx, id: i64, hash: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = NULL, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Activates or deactivates an account, touching nothing else.
pub async fn set_active(tx: &mut Tx, id: i64, active: bool) -> sqlx::Result<bool> {
    let r = sqlx::query("UPDATE users SET active = $1, updated_at = $2 WHERE id = $3")
        .bind(active)
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Counts a failed sign-in; returns the lock expiry when this failure locks the account.
pub async fn record_failure(
    tx: &mut Tx,
    id: i64,
    max_failures: i64,
    lock_ms: i64,
) -> sqlx::Result<Option<i64>> {
    let now = now_ms();
    let failures: i64 = sqlx::query_scalar(
        "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    if failures >= max_failures {
        let until = now + lock_ms;
        sqlx::query("UPDATE users SET locked_until = $1, failed_logins = 0 WHERE id = $2")
            .bind(until)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        return Ok(Some(until));
    }
    Ok(None)
}

pub async fn record_success(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $1 WHERE id = $2",
    )
    .bind(now_ms())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn count(store: &Store) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(store.pool())
        .await
}
