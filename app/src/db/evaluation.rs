//! Department evaluation (综合评价) over stored assignments, and appeals (申诉).
//! The counts are one GROUP BY over `case_assignments`, defined exactly as
//! `domain::evaluation::count` defines them on timelines (a test compares the two).
use super::{audit, fmt_local, now_ms, Flag, Store, Tx};
use crate::domain::evaluation::{indicators, rank, Counts, ScoringRule};
use crate::error::AppError;
use crate::model::{Appeal, Deduction, DeptScore, EvaluationReport};
use std::collections::BTreeMap;

/// Sums of the assignment columns per department, for `[from, to)` as of `now`.
const COUNTS: &str = "SELECT department_id, \
   CAST(SUM(CASE WHEN appealed THEN 0 ELSE 1 END) AS BIGINT) AS dispatched, \
   CAST(SUM(CASE WHEN NOT appealed AND returned_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS returned, \
   CAST(SUM(CASE WHEN NOT appealed AND returned_at IS NULL AND first_handled_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS handled, \
   CAST(SUM(CASE WHEN NOT appealed AND returned_at IS NULL AND first_handled_at <= deadline_at THEN 1 ELSE 0 END) AS BIGINT) AS handled_on_time, \
   CAST(SUM(CASE WHEN NOT appealed AND returned_at IS NULL AND closed_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS closed, \
   CAST(SUM(CASE WHEN NOT appealed AND returned_at IS NULL AND closed_at IS NOT NULL AND handled_at <= deadline_at THEN 1 ELSE 0 END) AS BIGINT) AS closed_on_time, \
   CAST(SUM(CASE WHEN NOT appealed AND returned_at IS NULL AND on_hold AND closed_at IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS on_hold, \
   CAST(SUM(CASE WHEN NOT appealed AND returned_at IS NULL AND (handled_at > deadline_at OR (handled_at IS NULL AND NOT on_hold AND deadline_at < $3)) THEN 1 ELSE 0 END) AS BIGINT) AS overdue, \
   CAST(SUM(CASE WHEN NOT appealed AND returned_at IS NULL THEN rework_count ELSE 0 END) AS BIGINT) AS rework, \
   CAST(SUM(CASE WHEN NOT appealed AND returned_at IS NULL AND first_handled_at IS NOT NULL THEN first_handled_at - dispatched_at ELSE 0 END) AS BIGINT) AS handling_ms, \
   CAST(SUM(CASE WHEN appealed THEN 1 ELSE 0 END) AS BIGINT) AS appealed \
   FROM case_assignments WHERE dispatched_at >= $1 AND dispatched_at < $2 GROUP BY department_id";

#[derive(sqlx::FromRow)]
struct CountRow {
    department_id: i64,
    dispatched: i64,
    returned: i64,
    handled: i64,
    handled_on_time: i64,
    closed: i64,
    closed_on_time: i64,
    on_hold: i64,
    overdue: i64,
    rework: i64,
    handling_ms: i64,
    appealed: i64,
}

/// Counts per department for `[from, to)` as of `now`.
pub async fn counts(
    store: &Store,
    from: i64,
    to: i64,
    now: i64,
) -> sqlx::Result<BTreeMap<i64, Counts>> {
    let rows: Vec<CountRow> = sqlx::query_as(COUNTS)
        .bind(from)
        .bind(to)
        .bind(now)
        .fetch_all(store.pool())
        .await?;
    let mut out: BTreeMap<i64, Counts> = BTreeMap::new();
    for r in rows {
        out.insert(
            r.department_id,
            Counts {
                dispatched: r.dispatched,
                returned: r.returned,
                due: r.dispatched - r.returned,
                handled: r.handled,
                handled_on_time: r.handled_on_time,
                closed: r.closed,
                closed_on_time: r.closed_on_time,
                on_hold: r.on_hold,
                overdue: r.overdue,
                rework: r.rework,
                handling_ms: r.handling_ms,
                appealed: r.appealed,
                ..Counts::default()
            },
        );
    }
    let filings: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT filed_department_id, COUNT(*), \
         CAST(SUM(CASE WHEN filed_at <= filing_deadline THEN 1 ELSE 0 END) AS BIGINT) \
         FROM cases WHERE filed_at >= $1 AND filed_at < $2 AND filed_department_id IS NOT NULL \
         GROUP BY filed_department_id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(store.pool())
    .await?;
    for (d, n, on_time) in filings {
        let c = out.entry(d).or_default();
        c.filed = n;
        c.filed_on_time = on_time;
    }
    Ok(out)
}

/// The rule in force for a period starting in month `yyyy-mm`.
pub async fn rule_for(store: &Store, month: &str) -> sqlx::Result<ScoringRule> {
    let r: Option<(f64, f64, f64, f64)> = sqlx::query_as(
        "SELECT threshold_pct, base_points, per_point_below, rework_penalty FROM scoring_rules \
         WHERE effective_from <= $1 ORDER BY effective_from DESC LIMIT 1",
    )
    .bind(month)
    .fetch_optional(store.pool())
    .await?;
    Ok(r.map(|(t, b, p, w)| ScoringRule {
        threshold_pct: t,
        base_points: b,
        per_point_below: p,
        rework_penalty: w,
    })
    .unwrap_or_default())
}

pub async fn seed_rule(tx: &mut Tx) -> sqlx::Result<()> {
    let r = ScoringRule::default();
    sqlx::query(
        "INSERT INTO scoring_rules (effective_from, threshold_pct, base_points, per_point_below, rework_penalty) \
         VALUES ('2000-01', $1, $2, $3, $4)",
    )
    .bind(r.threshold_pct)
    .bind(r.base_points)
    .bind(r.per_point_below)
    .bind(r.rework_penalty)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Indicators, score and rank of every department with work in `[from, to)` (local days,
/// inclusive). Departments with nothing dispatched and nothing filed are left out.
pub async fn report(
    store: &Store,
    from_day: &str,
    to_day: &str,
    from: i64,
    to: i64,
) -> sqlx::Result<EvaluationReport> {
    let now = now_ms();
    let rule = rule_for(store, &from_day[..7.min(from_day.len())]).await?;
    let counts = counts(store, from, to, now).await?;
    let names: BTreeMap<i64, (String, String)> =
        sqlx::query_as::<_, (i64, String, String)>("SELECT id, name_zh, name_en FROM departments")
            .fetch_all(store.pool())
            .await?
            .into_iter()
            .map(|(id, zh, en)| (id, (zh, en)))
            .collect();
    let mut rows: Vec<DeptScore> = counts
        .into_iter()
        .map(|(d, c)| {
            let (zh, en) = names.get(&d).cloned().unwrap_or_default();
            DeptScore {
                department_id: d,
                name_zh: zh,
                name_en: en,
                indicators: indicators(&c, &rule),
                counts: c,
                rank: 0,
                limited: false,
            }
        })
        .collect();
    // Only departments that handle cases are ranked; a filing-only centre has no score.
    let mut scores: Vec<(i64, f64)> = rows
        .iter()
        .filter(|r| r.counts.dispatched > 0)
        .map(|r| (r.department_id, r.indicators.score))
        .collect();
    let ranks: BTreeMap<i64, u32> = rank(&mut scores).into_iter().collect();
    for r in &mut rows {
        r.rank = ranks.get(&r.department_id).copied().unwrap_or(0);
    }
    rows.sort_by_key(|r| (r.rank == 0, r.rank, r.department_id));
    Ok(EvaluationReport {
        from: from_day.to_string(),
        to: to_day.to_string(),
        rule,
        rows,
    })
}

/// One department's assignments in the period with what each cost (overdue, rework, return),
/// deductions first.
pub async fn deductions(
    store: &Store,
    department_id: i64,
    from: i64,
    to: i64,
    limit: i64,
) -> sqlx::Result<Vec<Deduction>> {
    #[derive(sqlx::FromRow)]
    struct Rec {
        id: i64,
        case_id: i64,
        code: String,
        class_zh: String,
        class_en: String,
        dispatched_at: i64,
        deadline_at: i64,
        handled_at: Option<i64>,
        returned_at: Option<i64>,
        rework_count: i64,
        #[sqlx(try_from = "i64")]
        on_hold: Flag,
        appeal_state: Option<String>,
    }
    let now = now_ms();
    let rows: Vec<Rec> = sqlx::query_as(
        "SELECT a.id, a.case_id, c.code, k.name_zh AS class_zh, k.name_en AS class_en, a.dispatched_at, a.deadline_at, \
         a.handled_at, a.returned_at, a.rework_count, CASE WHEN a.on_hold THEN 1 ELSE 0 END AS on_hold, p.state AS appeal_state \
         FROM case_assignments a JOIN cases c ON c.id = a.case_id JOIN case_classes k ON k.id = c.class_id \
         LEFT JOIN appeals p ON p.assignment_id = a.id \
         WHERE a.department_id = $1 AND a.dispatched_at >= $2 AND a.dispatched_at < $3 \
         AND (a.rework_count > 0 OR a.handled_at > a.deadline_at OR (a.handled_at IS NULL AND a.returned_at IS NULL AND NOT a.on_hold AND a.deadline_at < $4)) \
         ORDER BY a.dispatched_at DESC LIMIT $5",
    )
    .bind(department_id)
    .bind(from)
    .bind(to)
    .bind(now)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let overdue = r.returned_at.is_none()
                && match r.handled_at {
                    Some(h) => h > r.deadline_at,
                    None => !r.on_hold.0 && r.deadline_at < now,
                };
            Deduction {
                assignment_id: r.id,
                case_id: r.case_id,
                case_code: r.code,
                class_zh: r.class_zh,
                class_en: r.class_en,
                dispatched_at: fmt_local(r.dispatched_at),
                deadline: fmt_local(r.deadline_at),
                handled_at: r.handled_at.map(fmt_local),
                overdue,
                rework_count: r.rework_count,
                returned: r.returned_at.is_some(),
                appeal_state: r.appeal_state,
            }
        })
        .collect())
}

/// The department's assignment on a case that carries a deduction and has no appeal yet,
/// unless its month's assessment is published.
pub async fn appealable(
    store: &Store,
    case_id: i64,
    department_id: i64,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    let a: Option<(i64, i64)> = sqlx::query_as(
        "SELECT a.id, a.dispatched_at FROM case_assignments a WHERE a.case_id = $1 AND a.department_id = $2 \
         AND a.returned_at IS NULL AND NOT EXISTS (SELECT 1 FROM appeals p WHERE p.assignment_id = a.id) \
         AND (a.rework_count > 0 OR a.handled_at > a.deadline_at OR (a.handled_at IS NULL AND NOT a.on_hold AND a.deadline_at < $3)) \
         ORDER BY a.id DESC LIMIT 1",
    )
    .bind(case_id)
    .bind(department_id)
    .bind(now)
    .fetch_optional(store.pool())
    .await?;
    let Some((id, dispatched_at)) = a else {
        return Ok(None);
    };
    let month = super::assessments::month_of(dispatched_at);
    let published = super::assessments::is_published(store.pool(), month).await?;
    Ok((!published).then_some(id))
}

/// Files an appeal against the deduction on an assignment of the caller's department.
pub async fn file_appeal(
    store: &Store,
    actor: &audit::Actor,
    user_id: i64,
    department_id: i64,
    assignment_id: i64,
    reason: &str,
) -> Result<i64, AppError> {
    let mut tx = store.begin().await?;
    let a: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT case_id, department_id, dispatched_at FROM case_assignments WHERE id = $1",
    )
    .bind(assignment_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((case_id, dept, dispatched_at)) = a else {
        return Err(AppError::NotFound);
    };
    if dept != department_id {
        drop(tx);
        audit::record_alone(
            store,
            actor,
            audit::Event {
                action: "appeal.file",
                target_type: "assignment",
                target_id: Some(assignment_id.to_string()),
                outcome: audit::DENIED,
                detail: format!("assignment of department {dept}"),
            },
        )
        .await?;
        return Err(AppError::Forbidden);
    }
    // The month's assessment, once published, no longer changes: no appeal about it.
    let month = super::assessments::month_of(dispatched_at);
    super::assessments::lock_month(&mut tx, store.kind, month).await?;
    if super::assessments::is_published(&mut *tx, month).await? {
        return Err(AppError::Refused(
            crate::domain::workflow::Refusal::MonthPublished,
        ));
    }
    let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM appeals WHERE assignment_id = $1")
        .bind(assignment_id)
        .fetch_one(&mut *tx)
        .await?;
    if exists > 0 {
        return Err(AppError::Conflict);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO appeals (assignment_id, case_id, department_id, reason, state, filed_by, filed_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5, $6) RETURNING id",
    )
    .bind(assignment_id)
    .bind(case_id)
    .bind(department_id)
    .bind(reason)
    .bind(user_id)
    .bind(now_ms())
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        actor,
        audit::Event {
            action: "appeal.file",
            target_type: "appeal",
            target_id: Some(id.to_string()),
            outcome: audit::OK,
            detail: format!("case={case_id} assignment={assignment_id}"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The command centre accepts (the assignment leaves the evaluation) or rejects an appeal.
pub async fn decide_appeal(
    store: &Store,
    actor: &audit::Actor,
    user_id: i64,
    id: i64,
    accept: bool,
    note: &str,
) -> Result<(), AppError> {
    let mut tx = store.begin().await?;
    let a: Option<(i64, String)> =
        sqlx::query_as("SELECT assignment_id, state FROM appeals WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((assignment, state)) = a else {
        return Err(AppError::NotFound);
    };
    if state != "pending" {
        return Err(AppError::Conflict);
    }
    let new_state = if accept { "accepted" } else { "rejected" };
    sqlx::query(
        "UPDATE appeals SET state = $1, decided_by = $2, decided_at = $3, decision_note = $4 WHERE id = $5 AND state = 'pending'",
    )
    .bind(new_state)
    .bind(user_id)
    .bind(now_ms())
    .bind(note)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if accept {
        sqlx::query("UPDATE case_assignments SET appealed = TRUE WHERE id = $1")
            .bind(assignment)
            .execute(&mut *tx)
            .await?;
    }
    audit::record(
        &mut tx,
        actor,
        audit::Event {
            action: "appeal.decide",
            target_type: "appeal",
            target_id: Some(id.to_string()),
            outcome: audit::OK,
            detail: format!("{new_state} assignment={assignment}"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Appeals, pending first; limited to one department when `department_id` is given.
pub async fn appeals(store: &Store, department_id: Option<i64>) -> sqlx::Result<Vec<Appeal>> {
    #[derive(sqlx::FromRow)]
    struct Rec {
        id: i64,
        case_id: i64,
        code: String,
        department_zh: String,
        department_en: String,
        reason: String,
        state: String,
        filed_by: String,
        filed_at: i64,
        decided_by: Option<String>,
        decided_at: Option<i64>,
        decision_note: String,
    }
    let (cond, bind) = match department_id {
        Some(d) => (" WHERE p.department_id = $1", Some(d)),
        None => ("", None),
    };
    let sql = format!(
        "SELECT p.id, p.case_id, c.code, d.name_zh AS department_zh, d.name_en AS department_en, p.reason, p.state, \
         f.display_name AS filed_by, p.filed_at, x.display_name AS decided_by, p.decided_at, p.decision_note \
         FROM appeals p JOIN cases c ON c.id = p.case_id JOIN departments d ON d.id = p.department_id \
         JOIN users f ON f.id = p.filed_by LEFT JOIN users x ON x.id = p.decided_by{cond} \
         ORDER BY CASE WHEN p.state = 'pending' THEN 0 ELSE 1 END, p.filed_at DESC LIMIT 200"
    );
    let mut q = sqlx::query_as::<_, Rec>(&sql);
    if let Some(d) = bind {
        q = q.bind(d);
    }
    Ok(q.fetch_all(store.pool())
        .await?
        .into_iter()
        .map(|r| Appeal {
            id: r.id,
            case_id: r.case_id,
            case_code: r.code,
            department_zh: r.department_zh,
            department_en: r.department_en,
            reason: r.reason,
            state: r.state,
            filed_by: r.filed_by,
            filed_at: fmt_local(r.filed_at),
            decided_by: r.decided_by,
            decided_at: r.decided_at.map(fmt_local),
            decision_note: r.decision_note,
        })
        .collect())
}
