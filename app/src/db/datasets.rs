//! The data catalogue (migration 0012): datasets with their owner, freshness and licence, and
//! the read grants an owning department gives others. The scope checks of cases, Sky Eye and
//! energy (`cases::scope`, `skyeye::scope`, `energy::scope`) ask [`read_via_grant`]: a
//! department holding a grant in force reads the whole dataset, and every such read is
//! audited (`data.read`).
use super::{audit, fmt_local, now_ms, Flag, Store};
use crate::domain::Role;
use crate::error::{AppError, FieldErrorKind as K};
use crate::model::{CatalogueEntry, CatalogueView, CurrentUser, DatasetInfo, GrantRow};

pub const READ_ACTION: &str = "data.read";

#[derive(sqlx::FromRow)]
struct Row {
    code: String,
    title_zh: String,
    title_en: String,
    description_zh: String,
    description_en: String,
    owner_rule: String,
    #[sqlx(try_from = "i64")]
    public: Flag,
    frequency: String,
    licence: String,
    formats: String,
}

const SELECT: &str =
    "SELECT code, title_zh, title_en, description_zh, description_en, owner_rule, \
     CASE WHEN public THEN 1 ELSE 0 END AS public, frequency, licence, formats FROM datasets";

/// The department an owner rule names (see the migration): `dispatchers`, `setting:KEY` or
/// `department:CODE`.
pub async fn owner_of(store: &Store, rule: &str) -> sqlx::Result<Option<i64>> {
    let pool = store.pool();
    if rule == "dispatchers" {
        sqlx::query_scalar(
            "SELECT department_id FROM users WHERE role = 'dispatcher' AND active = TRUE \
             ORDER BY id LIMIT 1",
        )
        .fetch_optional(pool)
        .await
    } else if let Some(key) = rule.strip_prefix("setting:") {
        sqlx::query_scalar(
            "SELECT d.id FROM departments d JOIN settings s ON s.value = d.code WHERE s.key = $1",
        )
        .bind(key)
        .fetch_optional(pool)
        .await
    } else if let Some(code) = rule.strip_prefix("department:") {
        sqlx::query_scalar("SELECT id FROM departments WHERE code = $1")
            .bind(code)
            .fetch_optional(pool)
            .await
    } else {
        Ok(None)
    }
}

/// The newest record behind a dataset (epoch ms), read through indexes only.
async fn freshness(store: &Store, code: &str) -> sqlx::Result<Option<i64>> {
    let sql = match code {
        "cases" | "cases-monthly" => "SELECT MAX(at) FROM case_events",
        "skyeye" => "SELECT MAX(last_seen) FROM incidents",
        "energy" | "energy-monthly" => "SELECT MAX(last_received_at) FROM meters",
        "rankings" => "SELECT MAX(published_at) FROM assessments",
        _ => return Ok(None),
    };
    sqlx::query_scalar::<_, Option<i64>>(sql)
        .fetch_one(store.pool())
        .await
}

async fn dept_names(store: &Store, id: Option<i64>) -> sqlx::Result<(String, String)> {
    let Some(id) = id else {
        return Ok(Default::default());
    };
    Ok(
        sqlx::query_as("SELECT name_zh, name_en FROM departments WHERE id = $1")
            .bind(id)
            .fetch_optional(store.pool())
            .await?
            .unwrap_or_default(),
    )
}

async fn info(store: &Store, r: Row, now: i64) -> sqlx::Result<(DatasetInfo, String)> {
    let owner_id = owner_of(store, &r.owner_rule).await?;
    let (owner_zh, owner_en) = dept_names(store, owner_id).await?;
    let latest_month = if r.public.0 {
        super::opendata::latest_month(store, &r.code, now).await?
    } else {
        None
    };
    Ok((
        DatasetInfo {
            last_update: freshness(store, &r.code).await?.map(fmt_local),
            latest_month,
            owner_id,
            owner_zh,
            owner_en,
            public: r.public.0,
            formats: r
                .formats
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            code: r.code,
            title_zh: r.title_zh,
            title_en: r.title_en,
            description_zh: r.description_zh,
            description_en: r.description_en,
            frequency: r.frequency,
            licence: r.licence,
        },
        r.owner_rule,
    ))
}

/// Every dataset (or only the public ones), in catalogue order.
pub async fn list(store: &Store, public_only: bool) -> sqlx::Result<Vec<DatasetInfo>> {
    let sql = if public_only {
        format!("{SELECT} WHERE public = TRUE ORDER BY position, code")
    } else {
        format!("{SELECT} ORDER BY position, code")
    };
    let rows: Vec<Row> = sqlx::query_as(&sql).fetch_all(store.pool()).await?;
    let now = now_ms();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(info(store, r, now).await?.0);
    }
    Ok(out)
}

/// One dataset by code.
pub async fn get(store: &Store, code: &str) -> sqlx::Result<Option<DatasetInfo>> {
    let r: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE code = $1"))
        .bind(code)
        .fetch_optional(store.pool())
        .await?;
    match r {
        Some(r) => Ok(Some(info(store, r, now_ms()).await?.0)),
        None => Ok(None),
    }
}

/// True when department `dept` holds a grant in force on `dataset`.
pub async fn granted(store: &Store, dataset: &str, dept: i64) -> sqlx::Result<bool> {
    // A department switched off since keeps its grant on record, but reads nothing by it.
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM dataset_grants g JOIN departments d ON d.id = g.department_id \
         WHERE g.dataset_code = $1 AND g.department_id = $2 AND g.revoked_at IS NULL AND d.active = TRUE",
    )
    .bind(dataset)
    .bind(dept)
    .fetch_one(store.pool())
    .await?;
    Ok(n > 0)
}

/// How often one user's reads of one thing (a list, a record) through a grant are
/// audited again: pages that follow live notices re-read their lists every few seconds.
pub const READ_AUDIT_EVERY_MS: i64 = 15 * 60_000;

/// When each (user, dataset, what) was last audited by this app server.
pub type ReadAudits =
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<(i64, String, String), i64>>>;

/// True when this read is to be written to the audit log: the first of its kind for this
/// user within [`READ_AUDIT_EVERY_MS`].
fn audit_due(seen: &ReadAudits, user: i64, dataset: &str, what: &str, now: i64) -> bool {
    let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    if seen.len() > 50_000 {
        seen.retain(|_, at| now - *at < READ_AUDIT_EVERY_MS);
    }
    let key = (user, dataset.to_string(), what.to_string());
    match seen.get(&key) {
        Some(at) if now - *at < READ_AUDIT_EVERY_MS => false,
        _ => {
            seen.insert(key, now);
            true
        }
    }
}

/// For the scope checks: true when `u`'s department reads all of restricted `dataset`
/// through a grant in force. Such reads are audited as `data.read`, naming the dataset and
/// `what` was read (a list, a record): each record's first read by a user, and a list again
/// after [`READ_AUDIT_EVERY_MS`], so that pages following live notices do not flood the log.
pub async fn read_via_grant(
    store: &Store,
    u: &CurrentUser,
    dataset: &str,
    what: &str,
) -> sqlx::Result<bool> {
    if !granted(store, dataset, u.department_id).await? {
        return Ok(false);
    }
    if !audit_due(&store.read_audits, u.id, dataset, what, now_ms()) {
        return Ok(true);
    }
    audit::record_alone(
        store,
        &crate::auth::actor(u),
        audit::Event {
            action: READ_ACTION,
            target_type: "dataset",
            target_id: Some(dataset.to_string()),
            outcome: audit::OK,
            detail: format!(
                "{dataset}: {what} (grant to department {})",
                u.department_id
            ),
        },
    )
    .await?;
    Ok(true)
}

/// The owning department's head or an administrator grants and revokes.
pub fn may_grant(u: &CurrentUser, owner: Option<i64>) -> bool {
    u.role == Role::Admin || (u.role == Role::DeptHead && owner == Some(u.department_id))
}

#[derive(sqlx::FromRow)]
struct GrantDb {
    id: i64,
    dataset_code: String,
    department_id: i64,
    department_zh: String,
    department_en: String,
    granted_at: i64,
    granted_by: String,
    revoked_at: Option<i64>,
    revoked_by: Option<String>,
}

async fn grants(store: &Store) -> sqlx::Result<Vec<GrantRow>> {
    let rows: Vec<GrantDb> = sqlx::query_as(
        "SELECT g.id, g.dataset_code, g.department_id, d.name_zh AS department_zh, d.name_en AS department_en, \
         g.granted_at, gu.display_name AS granted_by, g.revoked_at, ru.display_name AS revoked_by \
         FROM dataset_grants g JOIN departments d ON d.id = g.department_id \
         JOIN users gu ON gu.id = g.granted_by LEFT JOIN users ru ON ru.id = g.revoked_by \
         ORDER BY CASE WHEN g.revoked_at IS NULL THEN 0 ELSE 1 END, g.granted_at DESC, g.id DESC",
    )
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|g| GrantRow {
            id: g.id,
            dataset_code: g.dataset_code,
            department_id: g.department_id,
            department_zh: g.department_zh,
            department_en: g.department_en,
            granted_at: fmt_local(g.granted_at),
            granted_by: g.granted_by,
            revoked_at: g.revoked_at.map(fmt_local),
            revoked_by: g.revoked_by,
        })
        .collect())
}

/// The whole catalogue for a signed-in member of staff.
pub async fn catalogue(store: &Store, u: &CurrentUser) -> sqlx::Result<CatalogueView> {
    let all = list(store, false).await?;
    let mut grants = grants(store).await?;
    let mut entries = Vec::with_capacity(all.len());
    for info in all {
        let mine: Vec<GrantRow> = {
            let (m, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut grants)
                .into_iter()
                .partition(|g| g.dataset_code == info.code);
            grants = rest;
            m
        };
        let granted_to_me = mine
            .iter()
            .any(|g| g.revoked_at.is_none() && g.department_id == u.department_id);
        entries.push(CatalogueEntry {
            can_grant: !info.public && may_grant(u, info.owner_id),
            granted_to_me,
            grants: mine,
            info,
        });
    }
    let departments: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, name_zh, name_en FROM departments WHERE active = TRUE ORDER BY id",
    )
    .fetch_all(store.pool())
    .await?;
    Ok(CatalogueView {
        entries,
        departments,
    })
}

async fn deny(
    store: &Store,
    actor: &audit::Actor,
    action: &str,
    target: String,
    detail: String,
) -> Result<(), AppError> {
    audit::record_alone(
        store,
        actor,
        audit::Event {
            action,
            target_type: "dataset",
            target_id: Some(target),
            outcome: audit::DENIED,
            detail,
        },
    )
    .await?;
    Ok(())
}

/// Grants department `department_id` read access to restricted dataset `code`. The owning
/// department's head or an administrator; never to the owner itself; one grant in force per
/// dataset and department (a second is a conflict).
pub async fn grant(
    store: &Store,
    u: &CurrentUser,
    actor: &audit::Actor,
    code: &str,
    department_id: &str,
) -> Result<i64, AppError> {
    const ACTION: &str = "dataset.grant";
    let ds = get(store, code).await?.ok_or(AppError::NotFound)?;
    if !may_grant(u, ds.owner_id) {
        deny(
            store,
            actor,
            ACTION,
            code.to_string(),
            format!(
                "role {} of department {} may not grant {code}",
                u.role.code(),
                u.department_id
            ),
        )
        .await?;
        return Err(AppError::Forbidden);
    }
    if ds.public {
        return Err(AppError::BadRequest(
            "a public dataset needs no grant".into(),
        ));
    }
    let dept: i64 = department_id
        .trim()
        .parse()
        .map_err(|_| AppError::field("department_id", K::UnknownDepartment))?;
    let mut tx = store.begin().await?;
    if !super::departments::exists_active(&mut tx, dept).await? {
        return Err(AppError::field("department_id", K::UnknownDepartment));
    }
    if ds.owner_id == Some(dept) {
        // The owner reads its own data; a grant would say nothing.
        return Err(AppError::field("department_id", K::UnknownDepartment));
    }
    let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO dataset_grants (dataset_code, department_id, granted_at, granted_by) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(code)
    .bind(dept)
    .bind(now_ms())
    .bind(u.id)
    .fetch_one(&mut *tx)
    .await;
    let id = match inserted {
        Ok(id) => id,
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Err(AppError::Conflict),
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &mut tx,
        actor,
        audit::Event {
            action: ACTION,
            target_type: "dataset",
            target_id: Some(code.to_string()),
            outcome: audit::OK,
            detail: format!("grant {id}: read access to department {dept}"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Revokes grant `id` (kept, with who revoked it and when). Same people as [`grant`].
pub async fn revoke(
    store: &Store,
    u: &CurrentUser,
    actor: &audit::Actor,
    id: i64,
) -> Result<(), AppError> {
    const ACTION: &str = "dataset.revoke";
    let g: Option<(String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT dataset_code, department_id, revoked_at FROM dataset_grants WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    let (code, dept, revoked_at) = g.ok_or(AppError::NotFound)?;
    let ds = get(store, &code).await?.ok_or(AppError::NotFound)?;
    if !may_grant(u, ds.owner_id) {
        deny(
            store,
            actor,
            ACTION,
            code.clone(),
            format!(
                "role {} of department {} may not revoke grant {id}",
                u.role.code(),
                u.department_id
            ),
        )
        .await?;
        return Err(AppError::Forbidden);
    }
    if revoked_at.is_some() {
        return Err(AppError::Conflict);
    }
    let mut tx = store.begin().await?;
    let n = sqlx::query(
        "UPDATE dataset_grants SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(u.id)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::Conflict);
    }
    audit::record(
        &mut tx,
        actor,
        audit::Event {
            action: ACTION,
            target_type: "dataset",
            target_id: Some(code),
            outcome: audit::OK,
            detail: format!("grant {id}: read access of department {dept} revoked"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_through_a_grant_are_audited_once_per_period() {
        let seen = ReadAudits::default();
        assert!(audit_due(&seen, 7, "cases", "case list", 0));
        assert!(!audit_due(&seen, 7, "cases", "case list", 60_000));
        // Another record, another user, another dataset: each its own.
        assert!(audit_due(&seen, 7, "cases", "case 12", 60_000));
        assert!(audit_due(&seen, 8, "cases", "case list", 60_000));
        assert!(audit_due(&seen, 7, "energy", "case list", 60_000));
        // After the period, again.
        assert!(audit_due(
            &seen,
            7,
            "cases",
            "case list",
            READ_AUDIT_EVERY_MS
        ));
    }
}
