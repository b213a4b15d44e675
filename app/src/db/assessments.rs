//! Monthly assessments (月度考核): a month's department evaluation, published by the
//! leadership once the month is over and its appeals are decided, then frozen: the published
//! report is stored as it stood and read back from there (`assessments`, migration 0009),
//! and no appeal about a published month can be filed any more.
use super::{audit, fmt_local, local_day_start_ms, now_ms, DbKind, Store, Tx};
use crate::domain::assessment::{limit_to, may_publish, Month};
use crate::domain::Role;
use crate::error::{AppError, FieldErrorKind as K};
use crate::model::{AssessmentView, CurrentUser, EvaluationReport};
use chrono::Datelike;

/// PostgreSQL advisory lock class: publishing a month and filing an appeal about it take
/// turns (key: yyyymm), so no appeal slips in between the check and the publication.
const LOCK_CLASS: i32 = 0x4153;

/// The Shanghai month of an instant.
pub fn month_of(ms: i64) -> Month {
    let d = crate::domain::calendar::local_from_ms(ms).date();
    Month {
        year: d.year(),
        month: d.month(),
    }
}

/// Days (`yyyy-mm-dd`, inclusive) and instants `[from, to)` of a month.
fn bounds(m: Month) -> Result<(String, String, i64, i64), AppError> {
    let (f, t) = m.days();
    let a = local_day_start_ms(&f).ok_or(AppError::Internal)?;
    let b = local_day_start_ms(&m.next().days().0).ok_or(AppError::Internal)?;
    Ok((f, t, a, b))
}

/// Takes the month's turn on PostgreSQL (SQLite has one writer).
pub async fn lock_month(tx: &mut Tx, kind: DbKind, m: Month) -> sqlx::Result<()> {
    if kind == DbKind::Postgres {
        sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1, $2)) t")
            .bind(LOCK_CLASS)
            .bind(m.year * 100 + m.month as i32)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// True when the month is published (in a transaction, or on the pool).
pub async fn is_published<'e, E>(ex: E, m: Month) -> sqlx::Result<bool>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM assessments WHERE month = $1")
        .bind(m.code())
        .fetch_one(ex)
        .await?;
    Ok(n > 0)
}

const PENDING: &str = "SELECT COUNT(*) FROM appeals p JOIN case_assignments a ON a.id = p.assignment_id \
                       WHERE p.state = 'pending' AND a.dispatched_at >= $1 AND a.dispatched_at < $2";

/// The month's assessment as `u` may see it: the published report, or the live evaluation
/// of the month (the previous month when `month` is empty). A department head sees other
/// departments as rank and score only.
pub async fn view(store: &Store, u: &CurrentUser, month: &str) -> Result<AssessmentView, AppError> {
    let now = now_ms();
    let today = month_of(now);
    let m = if month.trim().is_empty() {
        today.prev()
    } else {
        Month::parse(month).ok_or_else(|| AppError::field("month", K::BadDate))?
    };
    let (_, _, a, b) = bounds(m)?;
    let (mut report, published) = month_report(store, m).await?;
    let (published_at, published_by) = published.unzip();
    if u.role == Role::DeptHead {
        limit_to(&mut report.rows, u.department_id);
    }
    let pending: i64 = sqlx::query_scalar(PENDING)
        .bind(a)
        .bind(b)
        .fetch_one(store.pool())
        .await?;
    let publisher = matches!(u.role, Role::Leader | Role::Admin);
    let refusal = may_publish(m, today, pending, published_at.is_some()).err();
    let published_months =
        sqlx::query_scalar("SELECT month FROM assessments ORDER BY month DESC LIMIT 36")
            .fetch_all(store.pool())
            .await?;
    Ok(AssessmentView {
        month: m.code(),
        report,
        published_at,
        published_by,
        pending_appeals: pending,
        refusal: if publisher { refusal } else { None },
        may_publish: publisher && refusal.is_none(),
        published_months,
    })
}

/// A month's evaluation: as published (with when and by whom), else computed now.
pub async fn month_report(
    store: &Store,
    m: Month,
) -> Result<(EvaluationReport, Option<(String, String)>), AppError> {
    let stored: Option<(String, i64, String)> = sqlx::query_as(
        "SELECT s.report, s.published_at, u.display_name FROM assessments s JOIN users u ON u.id = s.published_by \
         WHERE s.month = $1",
    )
    .bind(m.code())
    .fetch_optional(store.pool())
    .await?;
    match stored {
        Some((json, at, by)) => {
            let r: EvaluationReport = serde_json::from_str(&json).map_err(|e| {
                tracing::error!(error = %e, month = %m.code(), "stored assessment does not decode");
                AppError::Internal
            })?;
            Ok((r, Some((fmt_local(at), by))))
        }
        None => {
            let (f, t, a, b) = bounds(m)?;
            Ok((super::evaluation::report(store, &f, &t, a, b).await?, None))
        }
    }
}

/// Publishes (freezes) a month's assessment: leaders and administrators, once the month is
/// over, with no appeal about it pending, once.
pub async fn publish(
    store: &Store,
    u: &CurrentUser,
    actor: &audit::Actor,
    month: &str,
) -> Result<(), AppError> {
    let m = Month::parse(month).ok_or_else(|| AppError::field("month", K::BadDate))?;
    if !matches!(u.role, Role::Leader | Role::Admin) {
        audit::record_alone(
            store,
            actor,
            audit::Event {
                action: "assessment.publish",
                target_type: "assessment",
                target_id: Some(m.code()),
                outcome: audit::DENIED,
                detail: "role".into(),
            },
        )
        .await?;
        return Err(AppError::Forbidden);
    }
    let (f, t, a, b) = bounds(m)?;
    let now = now_ms();
    let mut tx = store.begin().await?;
    lock_month(&mut tx, store.kind, m).await?;
    let published = is_published(&mut *tx, m).await?;
    let pending: i64 = sqlx::query_scalar(PENDING)
        .bind(a)
        .bind(b)
        .fetch_one(&mut *tx)
        .await?;
    may_publish(m, month_of(now), pending, published).map_err(AppError::Refused)?;
    let report = super::evaluation::report(store, &f, &t, a, b).await?;
    let json = serde_json::to_string(&report).map_err(|_| AppError::Internal)?;
    sqlx::query(
        "INSERT INTO assessments (month, report, published_at, published_by) VALUES ($1, $2, $3, $4)",
    )
    .bind(m.code())
    .bind(&json)
    .bind(now)
    .bind(u.id)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        actor,
        audit::Event {
            action: "assessment.publish",
            target_type: "assessment",
            target_id: Some(m.code()),
            outcome: audit::OK,
            detail: format!("{} departments", report.rows.len()),
        },
    )
    .await?;
    tx.commit().await?;
    // The published rankings dataset shows the new month at once.
    super::opendata::forget(store, crate::model::DATASET_RANKINGS).await;
    Ok(())
}
