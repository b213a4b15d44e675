//! Department evaluation, appeals, and the catalogue and calendar administration.
use crate::error::AppError;
use crate::model::{Appeal, CalendarSettings, Deduction, EvaluationReport};
use leptos::prelude::*;

/// Local days `yyyy-mm-dd` (inclusive) to epoch milliseconds `[from, to)`.
#[cfg(feature = "ssr")]
fn period(from: &str, to: &str) -> Result<(String, String, i64, i64), AppError> {
    use crate::db::local_day_start_ms;
    use crate::error::{FieldError, FieldErrorKind as K};
    // Empty means this month so far (Asia/Shanghai).
    let today = crate::domain::calendar::local_from_ms(crate::db::now_ms()).date();
    let month_start = today.format("%Y-%m-01").to_string();
    let today = today.format("%Y-%m-%d").to_string();
    let f = if from.trim().is_empty() {
        month_start.as_str()
    } else {
        from.trim()
    };
    let t = if to.trim().is_empty() {
        today.as_str()
    } else {
        to.trim()
    };
    let a = local_day_start_ms(f);
    let b = local_day_start_ms(t);
    let mut errs = Vec::new();
    if a.is_none() {
        errs.push(FieldError::new("from", K::BadDate));
    }
    if b.is_none() || b < a {
        errs.push(FieldError::new("to", K::BadDate));
    }
    match (a, b) {
        (Some(a), Some(b)) if errs.is_empty() => {
            Ok((f.to_string(), t.to_string(), a, b + 86_400_000))
        }
        _ => Err(AppError::Invalid(errs)),
    }
}

#[server(endpoint = "evaluation/report")]
pub async fn get_evaluation(from: String, to: String) -> Result<EvaluationReport, AppError> {
    use crate::auth::{require, state};
    require(crate::domain::Area::Evaluation, "evaluation.report").await?;
    let (f, t, a, b) = period(&from, &to)?;
    let st = state()?;
    Ok(crate::db::evaluation::report(&st.store, &f, &t, a, b).await?)
}

/// A month's assessment (`yyyy-mm`; the previous month when empty): frozen when published.
#[server(endpoint = "assessment/get")]
pub async fn get_assessment(
    #[server(default)] month: String,
) -> Result<crate::model::AssessmentView, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Evaluation, "assessment.get").await?;
    crate::db::assessments::view(&state()?.store, &u, &month).await
}

/// A department's scorecard: a department head's own, any for leaders and administrators.
#[server(endpoint = "scorecard")]
pub async fn get_scorecard(
    #[server(default)] department_id: Option<i64>,
) -> Result<crate::model::Scorecard, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Scorecard, "scorecard").await?;
    crate::db::scorecard::scorecard(&state()?.store, &u, department_id).await
}

/// Publishes (freezes) a month's assessment: leaders and administrators.
#[server(endpoint = "assessment/publish")]
pub async fn publish_assessment(month: String) -> Result<(), AppError> {
    use crate::auth::{actor, require, state};
    let u = require(crate::domain::Area::Evaluation, "assessment.publish").await?;
    crate::db::assessments::publish(&state()?.store, &u, &actor(&u), &month).await
}

/// A department's assignments that cost it points in the period. Department heads see
/// their own department only.
#[server(endpoint = "evaluation/deductions")]
pub async fn deductions(
    department_id: i64,
    from: String,
    to: String,
) -> Result<Vec<Deduction>, AppError> {
    use crate::auth::{require, state};
    use crate::domain::Role;
    let u = require(crate::domain::Area::Evaluation, "evaluation.deductions").await?;
    if u.role == Role::DeptHead && u.department_id != department_id {
        return Err(AppError::Forbidden);
    }
    let (_, _, a, b) = period(&from, &to)?;
    let st = state()?;
    Ok(crate::db::evaluation::deductions(&st.store, department_id, a, b, 500).await?)
}

/// A department head appeals the deduction on one of the department's assignments.
#[server(endpoint = "appeals/file")]
pub async fn file_appeal(assignment_id: i64, reason: String) -> Result<i64, AppError> {
    use crate::auth::{actor, require, state};
    use crate::domain::Role;
    let u = require(crate::domain::Area::Appeals, "appeal.file").await?;
    if u.role != Role::DeptHead {
        return Err(AppError::Forbidden);
    }
    let reason = reason.trim().to_string();
    crate::domain::validate::collect([crate::domain::validate::text("reason", &reason, 1000)])?;
    let st = state()?;
    crate::db::evaluation::file_appeal(
        &st.store,
        &actor(&u),
        u.id,
        u.department_id,
        assignment_id,
        &reason,
    )
    .await
}

/// The command centre decides an appeal: `accept` removes the assignment from the evaluation.
#[server(endpoint = "appeals/decide")]
pub async fn decide_appeal(id: i64, accept: bool, note: String) -> Result<(), AppError> {
    use crate::auth::{actor, require, state};
    use crate::domain::Role;
    let u = require(crate::domain::Area::Appeals, "appeal.decide").await?;
    if u.role != Role::Dispatcher {
        return Err(AppError::Forbidden);
    }
    let note = note.trim().to_string();
    if !accept {
        crate::domain::validate::collect([crate::domain::validate::text("note", &note, 1000)])?;
    }
    let st = state()?;
    crate::db::evaluation::decide_appeal(&st.store, &actor(&u), u.id, id, accept, &note).await
}

/// Appeals: all for the command centre, the own department's for a department head.
#[server(endpoint = "appeals/list")]
pub async fn list_appeals() -> Result<Vec<Appeal>, AppError> {
    use crate::auth::{require, state};
    use crate::domain::Role;
    let u = require(crate::domain::Area::Appeals, "appeal.list").await?;
    let st = state()?;
    let dept = (u.role == Role::DeptHead).then_some(u.department_id);
    Ok(crate::db::evaluation::appeals(&st.store, dept).await?)
}

#[server(endpoint = "admin/calendar")]
pub async fn get_calendar() -> Result<CalendarSettings, AppError> {
    use crate::auth::{require, state};
    require(crate::domain::Area::AdminCatalogue, "admin.calendar.get").await?;
    let st = state()?;
    Ok(crate::db::calendar::settings(&st.store).await?)
}

/// Working periods and the filing limit. Deadlines already set stay; new steps use these.
#[server(endpoint = "admin/calendar/save")]
pub async fn save_calendar(periods: String, filing_limit_minutes: String) -> Result<(), AppError> {
    use crate::auth::{actor, require, state};
    use crate::db::{audit, calendar};
    use crate::domain::calendar::Calendar;
    use crate::error::{FieldError, FieldErrorKind as K};
    let u = require(crate::domain::Area::AdminCatalogue, "admin.calendar.save").await?;
    let mut errs = Vec::new();
    let parsed = Calendar::parse_periods(&periods);
    if parsed.is_err() {
        errs.push(FieldError::new("periods", K::BadPeriods));
    }
    let filing = filing_limit_minutes
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|m| (1..=10_000).contains(m));
    if filing.is_none() {
        errs.push(FieldError::new("filing_limit_minutes", K::BadNumber));
    }
    let (Ok(p), Some(filing)) = (parsed, filing) else {
        return Err(AppError::Invalid(errs));
    };
    let text = Calendar::format_periods(&p);
    let st = state()?;
    let mut tx = st.store.begin().await?;
    calendar::set_setting(&mut tx, calendar::PERIODS_KEY, &text).await?;
    calendar::set_setting(&mut tx, calendar::FILING_KEY, &filing.to_string()).await?;
    audit::record(
        &mut tx,
        &actor(&u),
        audit::Event {
            action: "admin.calendar.save",
            target_type: "calendar",
            target_id: None,
            outcome: audit::OK,
            detail: format!("periods={text} filing={filing}"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Adds or replaces a public holiday or make-up working day.
#[server(endpoint = "admin/calendar/day")]
pub async fn put_calendar_day(
    day: String,
    kind: String,
    name_zh: String,
    name_en: String,
) -> Result<(), AppError> {
    use crate::auth::{actor, require, state};
    use crate::db::{audit, calendar};
    use crate::domain::{calendar::DayKind, validate as v};
    use crate::error::{FieldError, FieldErrorKind as K};
    use crate::model::CalendarDay;
    let u = require(crate::domain::Area::AdminCatalogue, "admin.calendar.day").await?;
    let day = day.trim().to_string();
    let mut errs: Vec<FieldError> = [
        v::text("name_zh", &name_zh, 64),
        v::text("name_en", &name_en, 64),
    ]
    .into_iter()
    .filter_map(Result::err)
    .collect();
    if chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").is_err() {
        errs.push(FieldError::new("day", K::BadDate));
    }
    if DayKind::from_code(&kind).is_none() {
        errs.push(FieldError::new("kind", K::Required));
    }
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let st = state()?;
    let mut tx = st.store.begin().await?;
    calendar::put_day(
        &mut tx,
        &CalendarDay {
            day: day.clone(),
            kind: kind.clone(),
            name_zh: name_zh.trim().into(),
            name_en: name_en.trim().into(),
        },
    )
    .await?;
    audit::record(
        &mut tx,
        &actor(&u),
        audit::Event {
            action: "admin.calendar.day",
            target_type: "calendar_day",
            target_id: Some(day),
            outcome: audit::OK,
            detail: kind,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[server(endpoint = "admin/calendar/day/delete")]
pub async fn delete_calendar_day(day: String) -> Result<(), AppError> {
    use crate::auth::{actor, require, state};
    use crate::db::{audit, calendar};
    let u = require(
        crate::domain::Area::AdminCatalogue,
        "admin.calendar.day.delete",
    )
    .await?;
    let st = state()?;
    let mut tx = st.store.begin().await?;
    if calendar::delete_day(&mut tx, day.trim()).await? == 0 {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        &actor(&u),
        audit::Event {
            action: "admin.calendar.day.delete",
            target_type: "calendar_day",
            target_id: Some(day.trim().to_string()),
            outcome: audit::OK,
            detail: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An administrator edits a minor class: names, conditions, time limit, default department.
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "admin/class/update")]
pub async fn update_class(
    id: i64,
    name_zh: String,
    name_en: String,
    filing_zh: String,
    filing_en: String,
    closing_zh: String,
    closing_en: String,
    limit_amount: String,
    limit_unit: String,
    department_id: i64,
    active: bool,
) -> Result<(), AppError> {
    use crate::auth::{actor, require, state};
    use crate::db::{audit, catalogue, departments};
    use crate::domain::{calendar::LimitUnit, validate as v};
    use crate::error::{FieldError, FieldErrorKind as K};
    let u = require(crate::domain::Area::AdminCatalogue, "admin.class.update").await?;
    let t = |s: &str| s.trim().to_string();
    let e = catalogue::ClassEdit {
        name_zh: t(&name_zh),
        name_en: t(&name_en),
        filing_zh: t(&filing_zh),
        filing_en: t(&filing_en),
        closing_zh: t(&closing_zh),
        closing_en: t(&closing_en),
        limit_amount: limit_amount.trim().parse().unwrap_or(0),
        limit_unit: t(&limit_unit),
        department_id,
        active,
    };
    let mut errs: Vec<FieldError> = [
        v::text("name_zh", &e.name_zh, 64),
        v::text("name_en", &e.name_en, 100),
        v::text("filing_zh", &e.filing_zh, 300),
        v::text("filing_en", &e.filing_en, 300),
        v::text("closing_zh", &e.closing_zh, 300),
        v::text("closing_en", &e.closing_en, 300),
    ]
    .into_iter()
    .filter_map(Result::err)
    .collect();
    if !(1..=1000).contains(&e.limit_amount) {
        errs.push(FieldError::new("limit_amount", K::BadNumber));
    }
    if LimitUnit::from_code(&e.limit_unit).is_none() {
        errs.push(FieldError::new("limit_unit", K::Required));
    }
    let st = state()?;
    let mut tx = st.store.begin().await?;
    if !departments::exists_active(&mut tx, department_id).await? {
        errs.push(FieldError::new("department_id", K::UnknownDepartment));
    }
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    if catalogue::update(&mut tx, id, &e).await? == 0 {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        &actor(&u),
        audit::Event {
            action: "admin.class.update",
            target_type: "case_class",
            target_id: Some(id.to_string()),
            outcome: audit::OK,
            detail: format!(
                "limit={} {} department={} active={}",
                e.limit_amount, e.limit_unit, e.department_id, e.active
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
