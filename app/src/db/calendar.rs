//! The working calendar as data: working periods and the filing limit in `settings`, public
//! holidays and make-up working days in `calendar_days`. Deadlines are computed from it by
//! the pure code in `domain::calendar`.
use super::{Store, Tx};
use crate::domain::calendar::{Calendar, DayKind, CN_OFFICIAL_DAYS, DEFAULT_PERIODS};
use crate::model::{CalendarDay, CalendarSettings};
use chrono::NaiveDate;
use std::collections::BTreeMap;

pub const PERIODS_KEY: &str = "work_periods";
pub const FILING_KEY: &str = "filing_limit_minutes";
/// The command centre files a report within two working hours.
pub const DEFAULT_FILING_MINUTES: i64 = 120;

pub async fn setting(
    ex: impl sqlx::Executor<'_, Database = sqlx::Any>,
    key: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_optional(ex)
        .await
}

pub async fn set_setting(tx: &mut Tx, key: &str, value: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM settings WHERE key = $1")
        .bind(key)
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
        .bind(key)
        .bind(value)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn days(ex: impl sqlx::Executor<'_, Database = sqlx::Any>) -> sqlx::Result<Vec<CalendarDay>> {
    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT day, kind, name_zh, name_en FROM calendar_days ORDER BY day")
            .fetch_all(ex)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(day, kind, name_zh, name_en)| CalendarDay {
            day,
            kind,
            name_zh,
            name_en,
        })
        .collect())
}

pub async fn settings(store: &Store) -> sqlx::Result<CalendarSettings> {
    let periods = setting(store.pool(), PERIODS_KEY)
        .await?
        .unwrap_or_else(|| DEFAULT_PERIODS.to_string());
    let filing_limit_minutes = setting(store.pool(), FILING_KEY)
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_FILING_MINUTES);
    Ok(CalendarSettings {
        periods,
        filing_limit_minutes,
        days: days(store.pool()).await?,
    })
}

/// Builds the calendar from stored settings (inside a write transaction, so a step sees the
/// calendar as of its own commit).
pub async fn load(tx: &mut Tx) -> sqlx::Result<(Calendar, i64)> {
    let periods = setting(&mut **tx, PERIODS_KEY)
        .await?
        .and_then(|p| Calendar::parse_periods(&p).ok())
        .unwrap_or_else(|| Calendar::parse_periods(DEFAULT_PERIODS).expect("default periods"));
    let filing = setting(&mut **tx, FILING_KEY)
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_FILING_MINUTES);
    let special = special_days(days(&mut **tx).await?);
    Ok((Calendar::new(periods, special), filing))
}

pub fn special_days(days: Vec<CalendarDay>) -> BTreeMap<NaiveDate, DayKind> {
    days.into_iter()
        .filter_map(|d| {
            Some((
                NaiveDate::parse_from_str(&d.day, "%Y-%m-%d").ok()?,
                DayKind::from_code(&d.kind)?,
            ))
        })
        .collect()
}

pub async fn put_day(tx: &mut Tx, d: &CalendarDay) -> sqlx::Result<()> {
    delete_day(tx, &d.day).await?;
    sqlx::query("INSERT INTO calendar_days (day, kind, name_zh, name_en) VALUES ($1, $2, $3, $4)")
        .bind(&d.day)
        .bind(&d.kind)
        .bind(&d.name_zh)
        .bind(&d.name_en)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn delete_day(tx: &mut Tx, day: &str) -> sqlx::Result<u64> {
    Ok(sqlx::query("DELETE FROM calendar_days WHERE day = $1")
        .bind(day)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

/// The State Council's holidays and make-up days, the default periods and filing limit.
pub async fn seed(tx: &mut Tx) -> sqlx::Result<()> {
    for (day, kind, zh, en) in CN_OFFICIAL_DAYS {
        put_day(
            tx,
            &CalendarDay {
                day: day.to_string(),
                kind: kind.code().to_string(),
                name_zh: zh.to_string(),
                name_en: en.to_string(),
            },
        )
        .await?;
    }
    set_setting(tx, PERIODS_KEY, DEFAULT_PERIODS).await?;
    set_setting(tx, FILING_KEY, &DEFAULT_FILING_MINUTES.to_string()).await?;
    Ok(())
}
