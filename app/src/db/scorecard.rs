//! A department's scorecard: its evaluation this month so far against last month (as
//! published, once it is), its overdue cases, its pending appeals and its ranks in the published assessments.
use super::assessments::month_of;
use super::{local_day_start_ms, now_ms, Store};
use crate::domain::Role;
use crate::error::AppError;
use crate::model::{CaseFilter, CurrentUser, DeptOption, DeptScore, EvaluationReport, Scorecard};

const DAY_MS: i64 = 86_400_000;

/// The department's row of a report, and how many departments were ranked.
fn own(r: EvaluationReport, dept: i64) -> (Option<DeptScore>, u32) {
    let ranked = r.rows.iter().filter(|x| x.rank > 0).count() as u32;
    (r.rows.into_iter().find(|x| x.department_id == dept), ranked)
}

/// The scorecard of `dept` (a department head's own department, whatever is asked; leaders
/// and administrators any, their first department when None).
pub async fn scorecard(
    store: &Store,
    u: &CurrentUser,
    dept: Option<i64>,
) -> Result<Scorecard, AppError> {
    let departments: Vec<DeptOption> = super::departments::list(store)
        .await?
        .into_iter()
        .filter(|d| d.active)
        .map(|d| DeptOption {
            id: d.id,
            name_zh: d.name_zh,
            name_en: d.name_en,
        })
        .collect();
    let dept = match u.role {
        Role::DeptHead => match dept {
            Some(d) if d != u.department_id => return Err(AppError::Forbidden),
            _ => u.department_id,
        },
        Role::Leader | Role::Admin => match dept {
            Some(d) => d,
            None => departments
                .first()
                .map(|d| d.id)
                .ok_or(AppError::NotFound)?,
        },
        _ => return Err(AppError::Forbidden),
    };
    let names = departments
        .iter()
        .find(|d| d.id == dept)
        .cloned()
        .ok_or(AppError::NotFound)?;
    let now = now_ms();
    let this = month_of(now);
    let last = this.prev();
    let today = crate::domain::calendar::local_from_ms(now)
        .date()
        .format("%Y-%m-%d")
        .to_string();
    let (this_from, _) = this.days();
    let day = |d: &str| local_day_start_ms(d).ok_or(AppError::Internal);
    let this_rep = super::evaluation::report(
        store,
        &this_from,
        &today,
        day(&this_from)?,
        day(&today)? + DAY_MS,
    )
    .await?;
    // Last month as published (frozen), once it is.
    let (last_rep, _) = super::assessments::month_report(store, last).await?;
    let (this_row, ranked) = own(this_rep, dept);
    let (last_row, ranked_last) = own(last_rep, dept);
    let filter = CaseFilter {
        state: "open".into(),
        department_id: Some(dept),
        overdue: true,
        page: 1,
        ..Default::default()
    };
    let overdue = super::cases::list(store, &filter, Some(dept), 10).await?;
    let appeals = super::evaluation::appeals(store, Some(dept))
        .await?
        .into_iter()
        .filter(|a| a.state == "pending")
        .collect();
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT month, report FROM assessments ORDER BY month DESC LIMIT 12")
            .fetch_all(store.pool())
            .await?;
    let published = stored
        .into_iter()
        .filter_map(|(m, json)| {
            let r: EvaluationReport = serde_json::from_str(&json).ok()?;
            let (row, ranked) = own(r, dept);
            let row = row.filter(|x| x.rank > 0)?;
            Some((m, row.rank, ranked, row.indicators.score))
        })
        .collect();
    Ok(Scorecard {
        department_id: dept,
        name_zh: names.name_zh,
        name_en: names.name_en,
        month: this.code(),
        last_month: last.code(),
        this: this_row,
        ranked,
        last: last_row,
        ranked_last,
        overdue_total: overdue.total,
        overdue: overdue.items,
        appeals,
        published,
        departments: if u.role == Role::DeptHead {
            Vec::new()
        } else {
            departments
        },
    })
}
