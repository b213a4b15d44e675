//! Sessions live in the database so that any app server behind a balancer can serve any
//! request. The browser holds a random 256-bit token; the table holds only its SHA-256.
use super::{now_ms, Store, Tx};
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

#[derive(Debug, sqlx::FromRow)]
pub struct Session {
    pub user_id: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

/// The live session for a token: not past its absolute lifetime, not idle for longer than
/// `idle_ms`, and belonging to an active account. Anything else is deleted and `None`.
pub async fn resolve(store: &Store, token: &str, idle_ms: i64) -> sqlx::Result<Option<Session>> {
    let hash = hash_token(token);
    let row: Option<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT s.user_id, s.last_seen_at, s.expires_at, CASE WHEN u.active THEN 1 ELSE 0 END FROM sessions s \
         JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(store.pool())
    .await?;
    let Some((user_id, last_seen_at, expires_at, active)) = row else {
        return Ok(None);
    };
    let now = now_ms();
    if active == 0 || now >= expires_at || now - last_seen_at >= idle_ms {
        let mut tx = store.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Ok(None);
    }
    // Refresh the idle clock at most once a minute, not on every request.
    if now - last_seen_at > 60_000 {
        let mut tx = store.begin().await?;
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(Some(Session {
        user_id,
        last_seen_at,
        expires_at,
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
