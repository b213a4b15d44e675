//! The append-only audit log: who, when, what, which record, and how it ended.
use super::{
    bind_args, bind_scalar, fmt_local, like_pattern, local_day_start_ms, now_ms, Arg, Store, Tx,
    Where,
};
use crate::model::{AuditEntry, AuditFilter, Page, PER_PAGE};

/// Who acted, and from where. Built on the server from the session and the request.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

pub const OK: &str = "success";
pub const DENIED: &str = "denied";
pub const FAILED: &str = "failure";

pub struct Event<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<String>,
    pub outcome: &'a str,
    pub detail: String,
}

/// Writes one audit record inside the caller's transaction, so the change and its
/// record commit or roll back together.
pub async fn record(tx: &mut Tx, actor: &Actor, ev: Event<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, username, action, target_type, target_id, outcome, detail, ip, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(now_ms())
    .bind(actor.user_id)
    .bind(actor.username.as_deref())
    .bind(ev.action)
    .bind(ev.target_type)
    .bind(ev.target_id)
    .bind(ev.outcome)
    .bind(ev.detail)
    .bind(actor.ip.as_deref())
    .bind(actor.request_id.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records an attempt that changed nothing (refused or invalid) in a transaction of its own.
pub async fn record_alone(store: &Store, actor: &Actor, ev: Event<'_>) -> sqlx::Result<()> {
    let mut tx = store.begin().await?;
    record(&mut tx, actor, ev).await?;
    tx.commit().await
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    at: i64,
    username: Option<String>,
    action: String,
    target_type: String,
    target_id: Option<String>,
    outcome: String,
    detail: String,
    ip: Option<String>,
}

pub async fn list(store: &Store, f: &AuditFilter) -> sqlx::Result<Page<AuditEntry>> {
    let mut w = Where::default();
    if !f.username.trim().is_empty() {
        w.and(
            "LOWER(COALESCE(username, '')) LIKE ? ESCAPE '!'",
            [Arg::S(like_pattern(&f.username))],
        );
    }
    if !f.action.trim().is_empty() {
        w.and(
            "LOWER(action) LIKE ? ESCAPE '!'",
            [Arg::S(like_pattern(&f.action))],
        );
    }
    if !f.outcome.is_empty() {
        w.and("outcome = ?", [Arg::S(f.outcome.clone())]);
    }
    if let Some(ms) = local_day_start_ms(&f.from) {
        w.and("at >= ?", [Arg::I(ms)]);
    }
    if let Some(ms) = local_day_start_ms(&f.to) {
        w.and("at < ?", [Arg::I(ms + 86_400_000)]);
    }
    let count_sql = format!("SELECT COUNT(*) FROM audit_log{}", w.sql());
    let total: i64 = bind_scalar(sqlx::query_scalar(&count_sql), &w.args)
        .fetch_one(store.pool())
        .await?;
    let page = f.page.max(1);
    let sql = format!(
        "SELECT id, at, username, action, target_type, target_id, outcome, detail, ip FROM audit_log{} \
         ORDER BY id DESC LIMIT {} OFFSET {}",
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
    Ok(Page {
        items: rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at: fmt_local(r.at),
                username: r.username,
                action: r.action,
                target_type: r.target_type,
                target_id: r.target_id,
                outcome: r.outcome,
                detail: r.detail,
                ip: r.ip,
            })
            .collect(),
        total,
        page,
        per_page: PER_PAGE,
        more: false,
    })
}
