//! Sessions live in the database so that any app server behind a balancer can serve any
//! request. The browser holds a random 256-bit token; the table holds only its SHA-256.
use super::{now_ms, Store, Tx};
use crate::domain::Role;
use crate::model::CurrentUser;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn hash_token(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn create(
    tx: &mut Tx,
    user_id: i64,
    absolute_ms: i64,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> sqlx::Result<String> {
    let token = new_token();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent) \
         VALUES ($1, $2, $3, $3, $4, $5, $6)",
    )
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(now)
    .bind(now + absolute_ms)
    .bind(ip)
    .bind(user_agent.map(|s| s.chars().take(255).collect::<String>()))
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

#[derive(sqlx::FromRow)]
struct Row {
    last_seen_at: i64,
    expires_at: i64,
    #[sqlx(try_from = "i64")]
    active: super::Flag,
    user_id: i64,
    username: String,
    display_name: String,
    role: String,
    department_id: i64,
    department_zh: String,
    department_en: String,
}

/// The user of the live session for a token, in one query: the session must not be past its
/// absolute lifetime nor idle for longer than `idle_ms`, and the account must be active.
/// Anything else is deleted and `None`.
pub async fn resolve(
    store: &Store,
    token: &str,
    idle_ms: i64,
) -> sqlx::Result<Option<CurrentUser>> {
    let hash = hash_token(token);
    let row: Option<Row> = sqlx::query_as(
        "SELECT s.last_seen_at, s.expires_at, CASE WHEN u.active THEN 1 ELSE 0 END AS active, \
         u.id AS user_id, u.username, u.display_name, u.role, u.department_id, \
         d.name_zh AS department_zh, d.name_en AS department_en \
         FROM sessions s JOIN users u ON u.id = s.user_id JOIN departments d ON d.id = u.department_id \
         WHERE s.token_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(store.pool())
    .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let now = now_ms();
    let role = Role::from_code(&r.role);
    if !r.active.0 || role.is_none() || now >= r.expires_at || now - r.last_seen_at >= idle_ms {
        let mut tx = store.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Ok(None);
    }
    // Refresh the idle clock at most once a minute, not on every request.
    if now - r.last_seen_at > 60_000 {
        let mut tx = store.begin().await?;
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(role.map(|role| CurrentUser {
        id: r.user_id,
        username: r.username,
        display_name: r.display_name,
        role,
        department_id: r.department_id,
        department_zh: r.department_zh,
        department_en: r.department_en,
    }))
}

pub async fn delete(tx: &mut Tx, token: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(hash_token(token))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Ends every session of a user (on deactivation or password change).
pub async fn delete_for_user(tx: &mut Tx, user_id: i64) -> sqlx::Result<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected())
}

pub async fn count_for_user(store: &Store, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(store.pool())
        .await
}

/// Deletes sessions past their absolute lifetime or idle limit. Run periodically.
pub async fn purge_expired(store: &Store, idle_ms: i64) -> sqlx::Result<u64> {
    let now = now_ms();
    let mut tx = store.begin().await?;
    let r = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
        .bind(now)
        .bind(now - idle_ms)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(r.rows_affected())
}

/// Ends every session of a user except the one holding `keep` (after a password change).
pub async fn delete_others(tx: &mut Tx, user_id: i64, keep: Option<&str>) -> sqlx::Result<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user_id)
        .bind(keep.map(hash_token).unwrap_or_default())
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected())
}
