//! The working calendar that deadlines of city-management cases are computed from.
//!
//! All times are Asia/Shanghai local time (UTC+8, no daylight saving), held as
//! [`NaiveDateTime`]; [`local_from_ms`] and [`ms_from_local`] convert to and from epoch
//! milliseconds with the fixed offset. A working day is Monday–Friday unless
//! [`Calendar::special`] says otherwise (public holidays, make-up working days 调休), and
//! only the [`Calendar::periods`] of a working day count as working time.
//!
//! Degenerate calendars fall back to clock time instead of looping: when there are no
//! working periods, or when walking forward or backward meets more than 3,700 days in a
//! row without a working day, working minutes are counted as clock minutes (and a work
//! day as 24 hours). Long spans are skipped a week at a time wherever no special day
//! lies in between, so every computation takes at most a few thousand steps.
use std::collections::BTreeMap;

use chrono::{
    DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Weekday,
};
use serde::{Deserialize, Serialize};

/// Taiyuan municipal offices: 08:30-12:00, 14:30-18:00.
pub const DEFAULT_PERIODS: &str = "08:30-12:00,14:30-18:00";

/// UTC+8 in milliseconds.
const OFFSET_MS: i64 = 8 * 3_600 * 1_000;
/// Days in a row without a working day after which a walk gives up and uses clock time.
const MAX_IDLE_DAYS: i64 = 3_700;
const DAY_MINUTES: i64 = 24 * 60;

/// Local (UTC+8) time of an epoch-milliseconds instant. Saturates at the ends of chrono's range.
pub fn local_from_ms(ms: i64) -> NaiveDateTime {
    match DateTime::from_timestamp_millis(ms.saturating_add(OFFSET_MS)) {
        Some(t) => t.naive_utc(),
        None if ms < 0 => NaiveDateTime::MIN,
        None => NaiveDateTime::MAX,
    }
}

/// Epoch milliseconds of a local (UTC+8) time.
pub fn ms_from_local(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_millis() - OFFSET_MS
}

/// The clock a time limit runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitUnit {
    /// Hours around the clock: emergencies do not wait for office hours.
    EmergencyHours,
    /// Hours of working time.
    WorkHours,
    /// Working days, each worth [`Calendar::work_minutes_per_day`] working minutes.
    WorkDays,
    /// Calendar days of 24 hours.
    NaturalDays,
}

impl LimitUnit {
    pub const ALL: [LimitUnit; 4] = [
        LimitUnit::EmergencyHours,
        LimitUnit::WorkHours,
        LimitUnit::WorkDays,
        LimitUnit::NaturalDays,
    ];

    /// Stable code stored in the database and used in forms.
    pub fn code(self) -> &'static str {
        match self {
            LimitUnit::EmergencyHours => "emergency_hours",
            LimitUnit::WorkHours => "work_hours",
            LimitUnit::WorkDays => "work_days",
            LimitUnit::NaturalDays => "natural_days",
        }
    }

    pub fn from_code(s: &str) -> Option<LimitUnit> {
        LimitUnit::ALL.into_iter().find(|u| u.code() == s)
    }

    /// Whether the unit runs on working time (otherwise on clock time).
    fn is_working_time(self) -> bool {
        matches!(self, LimitUnit::WorkHours | LimitUnit::WorkDays)
    }
}

/// How a special day differs from the weekday rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A public holiday: a day off even on a weekday.
    Holiday,
    /// A make-up working day (调休): a working day even on a Saturday or Sunday.
    Workday,
}

impl DayKind {
    /// Stable code stored in the database: "holiday" or "workday".
    pub fn code(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Workday => "workday",
        }
    }

    pub fn from_code(s: &str) -> Option<DayKind> {
        [DayKind::Holiday, DayKind::Workday]
            .into_iter()
            .find(|k| k.code() == s)
    }
}

/// Why a working-periods string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeriodError {
    /// No periods at all.
    Empty,
    /// An item is not "HH:MM-HH:MM".
    Format,
    /// A period ends at or before its start, or periods overlap or are not in order.
    Order,
}

/// Working periods of a day plus the days that differ from the weekday rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    /// Working periods of a working day, sorted, non-overlapping, e.g. 08:30–12:00 and 14:30–18:00.
    /// Used at minute precision (seconds are ignored); a period cannot run to midnight.
    pub periods: Vec<(NaiveTime, NaiveTime)>,
    /// Days that differ from the weekday rule (Mon–Fri work, Sat/Sun off).
    pub special: BTreeMap<NaiveDate, DayKind>,
}

impl Default for Calendar {
    /// [`DEFAULT_PERIODS`] with the official days of [`CN_OFFICIAL_DAYS`].
    fn default() -> Calendar {
        let periods = Calendar::parse_periods(DEFAULT_PERIODS).expect("DEFAULT_PERIODS is valid");
        Calendar::new(periods, official_days())
    }
}

impl Calendar {
    /// Builds a calendar. Periods are sorted, empty ones (end <= start) dropped and
    /// overlapping ones merged, so the result always satisfies the field's invariant.
    pub fn new(
        mut periods: Vec<(NaiveTime, NaiveTime)>,
        special: BTreeMap<NaiveDate, DayKind>,
    ) -> Calendar {
        periods.retain(|(s, e)| e > s);
        periods.sort();
        let mut merged: Vec<(NaiveTime, NaiveTime)> = Vec::with_capacity(periods.len());
        for (s, e) in periods {
            match merged.last_mut() {
                Some(last) if s < last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        Calendar {
            periods: merged,
            special,
        }
    }

    /// Parses "08:30-12:00,14:30-18:00" (spaces allowed around items). Sorted, non-overlapping, non-empty.
    /// Hours may have one or two digits, minutes must have two; touching periods are allowed.
    pub fn parse_periods(s: &str) -> Result<Vec<(NaiveTime, NaiveTime)>, PeriodError> {
        if s.trim().is_empty() {
            return Err(PeriodError::Empty);
        }
        let mut out: Vec<(NaiveTime, NaiveTime)> = Vec::new();
        for item in s.split(',') {
            let (a, b) = item.split_once('-').ok_or(PeriodError::Format)?;
            let (start, end) = (parse_hm(a)?, parse_hm(b)?);
            let overlaps = out.last().is_some_and(|&(_, prev_end)| start < prev_end);
            if end <= start || overlaps {
                return Err(PeriodError::Order);
            }
            out.push((start, end));
        }
        Ok(out)
    }

    /// Formats periods as "08:30-12:00,14:30-18:00", the inverse of [`Calendar::parse_periods`].
    pub fn format_periods(periods: &[(NaiveTime, NaiveTime)]) -> String {
        let items: Vec<String> = periods
            .iter()
            .map(|(s, e)| format!("{}-{}", s.format("%H:%M"), e.format("%H:%M")))
            .collect();
        items.join(",")
    }

    /// Special days first, then Monday–Friday.
    pub fn is_workday(&self, d: NaiveDate) -> bool {
        match self.special.get(&d) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// Working minutes of one working day (420 with [`DEFAULT_PERIODS`]); 0 without periods.
    pub fn work_minutes_per_day(&self) -> i64 {
        self.spans().map(|(s, e)| (e - s).num_minutes()).sum()
    }

    /// Moves forward `minutes` of working time from `start`. Time outside working periods does
    /// not count; a start outside working time begins at the next period. A result that lands
    /// exactly on the end of a period stays there (12:00, not 14:30). minutes <= 0 returns start.
    /// Without working time (see the module docs) this is clock time. Saturates at `NaiveDateTime::MAX`.
    pub fn add_work_minutes(&self, start: NaiveDateTime, minutes: i64) -> NaiveDateTime {
        if minutes <= 0 {
            return start;
        }
        self.walk_forward(start, minutes)
            .unwrap_or_else(|| clock(start, minutes))
    }

    /// Working minutes in [a, b) (0 when b <= a), whole minutes truncated.
    /// Clock minutes when the calendar has no working periods.
    pub fn work_minutes_between(&self, a: NaiveDateTime, b: NaiveDateTime) -> i64 {
        if b <= a {
            return 0;
        }
        let per_day = self.work_minutes_per_day();
        if per_day == 0 {
            return (b - a).num_minutes();
        }
        let mut total = TimeDelta::zero();
        let mut day = a.date();
        while day <= b.date() {
            if day > a.date() {
                // Whole weeks strictly before b's day and free of special days hold 5 working days each.
                let weeks = self.plain_weeks_from(day, (b.date() - day).num_days() / 7);
                if weeks > 0 {
                    total += TimeDelta::minutes(weeks * 5 * per_day);
                    day = day + Days::new(7 * weeks as u64);
                }
            }
            if self.is_workday(day) {
                let midnight = day.and_time(NaiveTime::MIN);
                for (s, e) in self.spans() {
                    let (from, to) = ((midnight + s).max(a), (midnight + e).min(b));
                    if to > from {
                        total += to - from;
                    }
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        total.num_minutes()
    }

    /// The deadline for a time limit counted from `start`:
    ///   EmergencyHours: `amount` hours around the clock (emergencies do not wait for office hours)
    ///   WorkHours: amount*60 working minutes
    ///   WorkDays: amount * work_minutes_per_day() working minutes (same time of day N working days later when started in working time)
    ///   NaturalDays: start + amount*24h
    ///
    /// A negative amount counts backwards (see [`Calendar::deadline_after`]).
    pub fn deadline(&self, start: NaiveDateTime, amount: i64, unit: LimitUnit) -> NaiveDateTime {
        let per_day = match self.work_minutes_per_day() {
            0 => DAY_MINUTES,
            n => n,
        };
        let minutes = match unit {
            LimitUnit::EmergencyHours | LimitUnit::WorkHours => amount.saturating_mul(60),
            LimitUnit::WorkDays => amount.saturating_mul(per_day),
            LimitUnit::NaturalDays => amount.saturating_mul(DAY_MINUTES),
        };
        self.deadline_after(start, minutes, unit)
    }

    /// What is left of a limit at `now` in the unit's own clock, in minutes (working minutes for
    /// WorkHours/WorkDays, clock minutes otherwise); negative when overdue. Used to pause the
    /// clock while a case is on hold and restart it afterwards: new deadline = deadline_after(resume, remaining, unit).
    /// Sub-minute parts are truncated toward zero.
    pub fn remaining_minutes(
        &self,
        now: NaiveDateTime,
        deadline: NaiveDateTime,
        unit: LimitUnit,
    ) -> i64 {
        if !unit.is_working_time() {
            (deadline - now).num_minutes()
        } else if deadline >= now {
            self.work_minutes_between(now, deadline)
        } else {
            -self.work_minutes_between(deadline, now)
        }
    }

    /// The deadline `minutes` later than `start` in the unit's clock (working minutes for
    /// WorkHours/WorkDays, clock minutes otherwise). Negative minutes (an overdue limit) count
    /// backwards, so a case that was overdue when paused stays overdue by as much after resuming;
    /// walking backwards, a result on the start of a period stays there (14:30, not 12:00).
    pub fn deadline_after(
        &self,
        start: NaiveDateTime,
        minutes: i64,
        unit: LimitUnit,
    ) -> NaiveDateTime {
        match (unit.is_working_time(), minutes < 0) {
            (false, _) => clock(start, minutes),
            (true, false) => self.add_work_minutes(start, minutes),
            (true, true) => self
                .walk_backward(start, minutes.saturating_neg())
                .unwrap_or_else(|| clock(start, minutes)),
        }
    }

    /// Periods as offsets from midnight at minute precision, empty ones skipped.
    fn spans(&self) -> impl DoubleEndedIterator<Item = (TimeDelta, TimeDelta)> + '_ {
        self.periods
            .iter()
            .map(|&(s, e)| (minute_of_day(s), minute_of_day(e)))
            .filter(|(s, e)| e > s)
    }

    /// How many of `wanted` whole weeks starting at `day` contain no special day.
    fn plain_weeks_from(&self, day: NaiveDate, wanted: i64) -> i64 {
        match self.special.range(day..).next() {
            Some((&next, _)) => wanted.min((next - day).num_days() / 7),
            None => wanted,
        }
    }

    /// How many of `wanted` whole weeks ending with `day` (inclusive) contain no special day.
    fn plain_weeks_to(&self, day: NaiveDate, wanted: i64) -> i64 {
        match self.special.range(..=day).next_back() {
            Some((&prev, _)) => wanted.min((day - prev).num_days() / 7),
            None => wanted,
        }
    }

    /// `minutes` (> 0) of working time forward from `start`; None when there is no working
    /// time to walk through (the caller falls back to clock time).
    fn walk_forward(&self, start: NaiveDateTime, minutes: i64) -> Option<NaiveDateTime> {
        let per_day = self.work_minutes_per_day();
        if per_day == 0 {
            return None;
        }
        let Some(mut left) = TimeDelta::try_minutes(minutes) else {
            return Some(NaiveDateTime::MAX);
        };
        let mut day = start.date();
        let mut pos = start.time() - NaiveTime::MIN;
        let mut idle = 0;
        loop {
            if pos.is_zero() {
                // Keep at least one week to walk, so the result is found inside the day loop.
                let weeks = self.plain_weeks_from(day, left.num_minutes() / (5 * per_day) - 1);
                if weeks > 0 {
                    let Some(d) = day.checked_add_days(Days::new(7 * weeks as u64)) else {
                        return Some(NaiveDateTime::MAX);
                    };
                    day = d;
                    left -= TimeDelta::minutes(weeks * 5 * per_day);
                }
            }
            if self.is_workday(day) {
                idle = 0;
                for (s, e) in self.spans() {
                    let from = pos.max(s);
                    if from >= e {
                        continue;
                    }
                    if left <= e - from {
                        return Some(day.and_time(NaiveTime::MIN) + from + left);
                    }
                    left -= e - from;
                }
            } else {
                idle += 1;
                if idle > MAX_IDLE_DAYS {
                    return None;
                }
            }
            let Some(next) = day.succ_opt() else {
                return Some(NaiveDateTime::MAX);
            };
            day = next;
            pos = TimeDelta::zero();
        }
    }

    /// The mirror image of [`Calendar::walk_forward`]: `minutes` (> 0) of working time back from `end`.
    fn walk_backward(&self, end: NaiveDateTime, minutes: i64) -> Option<NaiveDateTime> {
        let per_day = self.work_minutes_per_day();
        if per_day == 0 {
            return None;
        }
        let Some(mut left) = TimeDelta::try_minutes(minutes) else {
            return Some(NaiveDateTime::MIN);
        };
        let whole_day = TimeDelta::days(1);
        let mut day = end.date();
        let mut pos = end.time() - NaiveTime::MIN;
        let mut idle = 0;
        loop {
            if pos == whole_day {
                let weeks = self.plain_weeks_to(day, left.num_minutes() / (5 * per_day) - 1);
                if weeks > 0 {
                    let Some(d) = day.checked_sub_days(Days::new(7 * weeks as u64)) else {
                        return Some(NaiveDateTime::MIN);
                    };
                    day = d;
                    left -= TimeDelta::minutes(weeks * 5 * per_day);
                }
            }
            if self.is_workday(day) {
                idle = 0;
                for (s, e) in self.spans().rev() {
                    let to = pos.min(e);
                    if to <= s {
                        continue;
                    }
                    if left <= to - s {
                        return Some(day.and_time(NaiveTime::MIN) + (to - left));
                    }
                    left -= to - s;
                }
            } else {
                idle += 1;
                if idle > MAX_IDLE_DAYS {
                    return None;
                }
            }
            let Some(prev) = day.pred_opt() else {
                return Some(NaiveDateTime::MIN);
            };
            day = prev;
            pos = whole_day;
        }
    }
}

/// `start` plus `minutes` of clock time, saturating at the ends of chrono's range.
fn clock(start: NaiveDateTime, minutes: i64) -> NaiveDateTime {
    TimeDelta::try_minutes(minutes)
        .and_then(|d| start.checked_add_signed(d))
        .unwrap_or(if minutes < 0 {
            NaiveDateTime::MIN
        } else {
            NaiveDateTime::MAX
        })
}

fn minute_of_day(t: NaiveTime) -> TimeDelta {
    TimeDelta::minutes(i64::from(t.hour() * 60 + t.minute()))
}

/// "H:MM" or "HH:MM", surrounding spaces allowed.
fn parse_hm(s: &str) -> Result<NaiveTime, PeriodError> {
    let (h, m) = s.trim().split_once(':').ok_or(PeriodError::Format)?;
    let digits = |x: &str, lens: std::ops::RangeInclusive<usize>| {
        lens.contains(&x.len()) && x.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(h, 1..=2) || !digits(m, 2..=2) {
        return Err(PeriodError::Format);
    }
    let (h, m) = (
        h.parse().map_err(|_| PeriodError::Format)?,
        m.parse().map_err(|_| PeriodError::Format)?,
    );
    NaiveTime::from_hms_opt(h, m, 0).ok_or(PeriodError::Format)
}

/// [`CN_OFFICIAL_DAYS`] as the `special` map of a [`Calendar`].
pub fn official_days() -> BTreeMap<NaiveDate, DayKind> {
    CN_OFFICIAL_DAYS
        .iter()
        .filter_map(|&(d, kind, _, _)| Some((d.parse().ok()?, kind)))
        .collect()
}

/// The State Council's official public holidays and make-up working days for 2025 and 2026:
/// (date "YYYY-MM-DD", kind, name_zh, name_en), in date order. Every day of a holiday block
/// is listed, weekends included.
pub const CN_OFFICIAL_DAYS: &[(&str, DayKind, &str, &str)] = {
    use DayKind::{Holiday as H, Workday as W};
    const NEW_YEAR: (&str, &str) = ("元旦", "New Year's Day");
    const NEW_YEAR_W: (&str, &str) = ("元旦调休上班", "New Year's Day make-up working day");
    const SPRING: (&str, &str) = ("春节", "Spring Festival");
    const SPRING_W: (&str, &str) = ("春节调休上班", "Spring Festival make-up working day");
    const QINGMING: (&str, &str) = ("清明节", "Qingming Festival");
    const LABOUR: (&str, &str) = ("劳动节", "Labour Day");
    const LABOUR_W: (&str, &str) = ("劳动节调休上班", "Labour Day make-up working day");
    const DRAGON: (&str, &str) = ("端午节", "Dragon Boat Festival");
    const MID_AUTUMN: (&str, &str) = ("中秋节", "Mid-Autumn Festival");
    const NATIONAL: (&str, &str) = ("国庆节", "National Day");
    const NATIONAL_W: (&str, &str) = ("国庆节调休上班", "National Day make-up working day");
    const BOTH: (&str, &str) = ("国庆节、中秋节", "National Day and Mid-Autumn Festival");
    const BOTH_W: (&str, &str) = (
        "国庆节、中秋节调休上班",
        "National Day and Mid-Autumn Festival make-up working day",
    );
    &[
        // 2025
        ("2025-01-01", H, NEW_YEAR.0, NEW_YEAR.1),
        ("2025-01-26", W, SPRING_W.0, SPRING_W.1),
        ("2025-01-28", H, SPRING.0, SPRING.1),
        ("2025-01-29", H, SPRING.0, SPRING.1),
        ("2025-01-30", H, SPRING.0, SPRING.1),
        ("2025-01-31", H, SPRING.0, SPRING.1),
        ("2025-02-01", H, SPRING.0, SPRING.1),
        ("2025-02-02", H, SPRING.0, SPRING.1),
        ("2025-02-03", H, SPRING.0, SPRING.1),
        ("2025-02-04", H, SPRING.0, SPRING.1),
        ("2025-02-08", W, SPRING_W.0, SPRING_W.1),
        ("2025-04-04", H, QINGMING.0, QINGMING.1),
        ("2025-04-05", H, QINGMING.0, QINGMING.1),
        ("2025-04-06", H, QINGMING.0, QINGMING.1),
        ("2025-04-27", W, LABOUR_W.0, LABOUR_W.1),
        ("2025-05-01", H, LABOUR.0, LABOUR.1),
        ("2025-05-02", H, LABOUR.0, LABOUR.1),
        ("2025-05-03", H, LABOUR.0, LABOUR.1),
        ("2025-05-04", H, LABOUR.0, LABOUR.1),
        ("2025-05-05", H, LABOUR.0, LABOUR.1),
        ("2025-05-31", H, DRAGON.0, DRAGON.1),
        ("2025-06-01", H, DRAGON.0, DRAGON.1),
        ("2025-06-02", H, DRAGON.0, DRAGON.1),
        ("2025-09-28", W, BOTH_W.0, BOTH_W.1),
        ("2025-10-01", H, BOTH.0, BOTH.1),
        ("2025-10-02", H, BOTH.0, BOTH.1),
        ("2025-10-03", H, BOTH.0, BOTH.1),
        ("2025-10-04", H, BOTH.0, BOTH.1),
        ("2025-10-05", H, BOTH.0, BOTH.1),
        ("2025-10-06", H, BOTH.0, BOTH.1),
        ("2025-10-07", H, BOTH.0, BOTH.1),
        ("2025-10-08", H, BOTH.0, BOTH.1),
        ("2025-10-11", W, BOTH_W.0, BOTH_W.1),
        // 2026
        ("2026-01-01", H, NEW_YEAR.0, NEW_YEAR.1),
        ("2026-01-02", H, NEW_YEAR.0, NEW_YEAR.1),
        ("2026-01-03", H, NEW_YEAR.0, NEW_YEAR.1),
        ("2026-01-04", W, NEW_YEAR_W.0, NEW_YEAR_W.1),
        ("2026-02-14", W, SPRING_W.0, SPRING_W.1),
        ("2026-02-15", H, SPRING.0, SPRING.1),
        ("2026-02-16", H, SPRING.0, SPRING.1),
        ("2026-02-17", H, SPRING.0, SPRING.1),
        ("2026-02-18", H, SPRING.0, SPRING.1),
        ("2026-02-19", H, SPRING.0, SPRING.1),
        ("2026-02-20", H, SPRING.0, SPRING.1),
        ("2026-02-21", H, SPRING.0, SPRING.1),
        ("2026-02-22", H, SPRING.0, SPRING.1),
        ("2026-02-23", H, SPRING.0, SPRING.1),
        ("2026-02-28", W, SPRING_W.0, SPRING_W.1),
        ("2026-04-04", H, QINGMING.0, QINGMING.1),
        ("2026-04-05", H, QINGMING.0, QINGMING.1),
        ("2026-04-06", H, QINGMING.0, QINGMING.1),
        ("2026-05-01", H, LABOUR.0, LABOUR.1),
        ("2026-05-02", H, LABOUR.0, LABOUR.1),
        ("2026-05-03", H, LABOUR.0, LABOUR.1),
        ("2026-05-04", H, LABOUR.0, LABOUR.1),
        ("2026-05-05", H, LABOUR.0, LABOUR.1),
        ("2026-05-09", W, LABOUR_W.0, LABOUR_W.1),
        ("2026-06-19", H, DRAGON.0, DRAGON.1),
        ("2026-06-20", H, DRAGON.0, DRAGON.1),
        ("2026-06-21", H, DRAGON.0, DRAGON.1),
        ("2026-09-20", W, NATIONAL_W.0, NATIONAL_W.1),
        ("2026-09-25", H, MID_AUTUMN.0, MID_AUTUMN.1),
        ("2026-09-26", H, MID_AUTUMN.0, MID_AUTUMN.1),
        ("2026-09-27", H, MID_AUTUMN.0, MID_AUTUMN.1),
        ("2026-10-01", H, NATIONAL.0, NATIONAL.1),
        ("2026-10-02", H, NATIONAL.0, NATIONAL.1),
        ("2026-10-03", H, NATIONAL.0, NATIONAL.1),
        ("2026-10-04", H, NATIONAL.0, NATIONAL.1),
        ("2026-10-05", H, NATIONAL.0, NATIONAL.1),
        ("2026-10-06", H, NATIONAL.0, NATIONAL.1),
        ("2026-10-07", H, NATIONAL.0, NATIONAL.1),
        ("2026-10-10", W, NATIONAL_W.0, NATIONAL_W.1),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;
    use LimitUnit::*;

    /// Local time from "YYYY-MM-DD HH:MM".
    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn hm(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    /// Default periods (08:30–12:00, 14:30–18:00; 210 + 210 = 420 min a day) with the official days.
    fn cal() -> Calendar {
        Calendar::default()
    }

    #[test]
    fn four_work_hours_over_a_weekend() {
        // Fri 2026-11-20 16:00–18:00 = 120 min; Sat 21 and Sun 22 off;
        // Mon 23 08:30 + 120 min = 10:30.
        assert_eq!(
            cal().deadline(t("2026-11-20 16:00"), 4, WorkHours),
            t("2026-11-23 10:30")
        );
    }

    #[test]
    fn start_on_a_saturday_evening() {
        // Sat 2026-11-21 20:00 and all of Sunday are off; Mon 23 08:30 + 120 min = 10:30.
        assert_eq!(
            cal().deadline(t("2026-11-21 20:00"), 2, WorkHours),
            t("2026-11-23 10:30")
        );
    }

    #[test]
    fn start_before_opening() {
        // Mon 2026-11-23 07:00 begins at 08:30; + 60 min = 09:30.
        assert_eq!(
            cal().deadline(t("2026-11-23 07:00"), 1, WorkHours),
            t("2026-11-23 09:30")
        );
    }

    #[test]
    fn start_in_the_lunch_break() {
        // 12:30 begins at 14:30; + 60 min = 15:30.
        assert_eq!(
            cal().deadline(t("2026-11-23 12:30"), 1, WorkHours),
            t("2026-11-23 15:30")
        );
        // 3 h from 12:30: 14:30–18:00 = 210 min > 180, so 14:30 + 180 = 17:30.
        assert_eq!(
            cal().deadline(t("2026-11-23 12:30"), 3, WorkHours),
            t("2026-11-23 17:30")
        );
    }

    #[test]
    fn landing_on_the_end_of_a_period_stays_there() {
        let c = cal();
        // 09:00–12:00 is exactly 180 min: 12:00, not 14:30.
        assert_eq!(
            c.add_work_minutes(t("2026-11-23 09:00"), 180),
            t("2026-11-23 12:00")
        );
        // 08:30 + 420 min (one work day) = 18:00 the same day, not 08:30 the next.
        assert_eq!(
            c.deadline(t("2026-11-23 08:30"), 1, WorkDays),
            t("2026-11-23 18:00")
        );
        // Starting at 12:00 counts from 14:30: + 30 = 15:00.
        assert_eq!(
            c.add_work_minutes(t("2026-11-23 12:00"), 30),
            t("2026-11-23 15:00")
        );
        // One more minute past 12:00 goes to the afternoon: 14:31.
        assert_eq!(
            c.add_work_minutes(t("2026-11-23 09:00"), 181),
            t("2026-11-23 14:31")
        );
        // minutes <= 0 returns start, even outside working time.
        assert_eq!(
            c.add_work_minutes(t("2026-11-21 20:00"), 0),
            t("2026-11-21 20:00")
        );
        assert_eq!(
            c.add_work_minutes(t("2026-11-21 20:00"), -5),
            t("2026-11-21 20:00")
        );
    }

    #[test]
    fn three_work_days_across_national_day() {
        // 3 × 420 = 1260 min from Wed 2026-09-30 10:00:
        // Sep 30: 10:00–12:00 120 + 14:30–18:00 210 = 330, 930 left;
        // Oct 1–7 holidays; Thu Oct 8: 420, 510 left; Fri Oct 9: 420, 90 left;
        // Sat Oct 10 is a make-up working day: 08:30 + 90 = 10:00.
        assert_eq!(
            cal().deadline(t("2026-09-30 10:00"), 3, WorkDays),
            t("2026-10-10 10:00")
        );
    }

    #[test]
    fn make_up_sunday_works_and_weekday_holiday_does_not() {
        let c = cal();
        assert!(c.is_workday(d("2026-09-20"))); // Sunday, make-up day
        assert!(!c.is_workday(d("2026-06-19"))); // Friday, Dragon Boat Festival
        assert!(c.is_workday(d("2026-06-18"))); // ordinary Thursday
        assert!(!c.is_workday(d("2026-11-21"))); // ordinary Saturday
                                                 // Sat 2026-09-19 10:00 is off; Sun 20 08:30 + 60 = 09:30.
        assert_eq!(
            c.deadline(t("2026-09-19 10:00"), 1, WorkHours),
            t("2026-09-20 09:30")
        );
        // Thu 2026-06-18 17:00–18:00 = 60, 60 left; Fri 19 holiday, Sat 20, Sun 21 off;
        // Mon 22 08:30 + 60 = 09:30.
        assert_eq!(
            c.deadline(t("2026-06-18 17:00"), 2, WorkHours),
            t("2026-06-22 09:30")
        );
    }

    #[test]
    fn spring_festival_2026() {
        let c = cal();
        // 2 × 420 = 840 min from Fri 2026-02-13 16:00: Fri 16:00–18:00 120, 720 left;
        // Sat Feb 14 make-up day 420, 300 left; Feb 15–23 holidays;
        // Tue Feb 24: 08:30–12:00 210, 90 left; 14:30 + 90 = 16:00.
        assert_eq!(
            c.deadline(t("2026-02-13 16:00"), 2, WorkDays),
            t("2026-02-24 16:00")
        );
        // Only Sat Feb 14 (420 min) lies between Fri 18:00 and Tue 08:30.
        assert_eq!(
            c.work_minutes_between(t("2026-02-13 18:00"), t("2026-02-24 08:30")),
            420
        );
        // Fri Feb 27 17:00–18:00 60, 60 left; Sat Feb 28 is a make-up day: 08:30 + 60 = 09:30.
        assert_eq!(
            c.deadline(t("2026-02-27 17:00"), 2, WorkHours),
            t("2026-02-28 09:30")
        );
    }

    #[test]
    fn emergency_hours_and_natural_days_use_the_clock() {
        let c = cal();
        // 24 h around the clock from the evening before National Day: Oct 1 20:00.
        assert_eq!(
            c.deadline(t("2026-09-30 20:00"), 24, EmergencyHours),
            t("2026-10-01 20:00")
        );
        // 4 h across the night: 22:00 + 4 h = 02:00 on the holiday.
        assert_eq!(
            c.deadline(t("2026-09-30 22:00"), 4, EmergencyHours),
            t("2026-10-01 02:00")
        );
        // 10 natural days: Sep 30 + 10 = Oct 10, same time.
        assert_eq!(
            c.deadline(t("2026-09-30 10:00"), 10, NaturalDays),
            t("2026-10-10 10:00")
        );
        // Feb 13 + 15 days = Feb 28 (2026 is not a leap year).
        assert_eq!(
            c.deadline(t("2026-02-13 16:00"), 15, NaturalDays),
            t("2026-02-28 16:00")
        );
    }

    #[test]
    fn between_is_the_inverse_of_add() {
        let c = cal();
        // Fri 16:00–18:00 120 + Mon 08:30–10:30 120 = 240.
        assert_eq!(
            c.work_minutes_between(t("2026-11-20 16:00"), t("2026-11-23 10:30")),
            240
        );
        assert_eq!(
            c.work_minutes_between(t("2026-11-23 10:30"), t("2026-11-20 16:00")),
            0
        );
        for (start, minutes) in [
            ("2026-11-20 16:00", 240),
            ("2026-11-21 20:00", 1),
            ("2026-11-23 12:30", 60),
            ("2026-09-30 10:00", 1260),
            ("2026-02-13 16:00", 840),
            ("2025-12-31 17:59", 5000),
        ] {
            let end = c.add_work_minutes(t(start), minutes);
            assert_eq!(
                c.work_minutes_between(t(start), end),
                minutes,
                "{start} + {minutes}"
            );
        }
    }

    #[test]
    fn pause_and_resume() {
        let c = cal();
        // 2 work days from Mon 2026-11-23 09:00 = 840 min: Mon 09:00–12:00 180 + 210 = 390,
        // 450 left; Tue 420, 30 left; Wed 08:30 + 30 = 09:00.
        let due = c.deadline(t("2026-11-23 09:00"), 2, WorkDays);
        assert_eq!(due, t("2026-11-25 09:00"));
        // Paused Mon 11:00 after 120 working minutes: 840 − 120 = 720 left.
        let left = c.remaining_minutes(t("2026-11-23 11:00"), due, WorkDays);
        assert_eq!(left, 720);
        // Resumed immediately: the same deadline.
        assert_eq!(c.deadline_after(t("2026-11-23 11:00"), left, WorkDays), due);
        // Resumed Tue 11:00 after 60 + 210 + 150 = 420 paused working minutes: moved by one
        // work day. From Tue 11:00: 60 + 210 = 270, Wed 420 → 690, Thu 08:30 + 30 = 09:00.
        assert_eq!(
            c.deadline_after(t("2026-11-24 11:00"), left, WorkDays),
            t("2026-11-26 09:00")
        );

        // Clock units: 24 h from Sep 30 20:00 is due Oct 1 20:00; paused at 22:00 with
        // 22 h = 1320 min left; resumed Oct 1 03:00 (5 h later) → due Oct 2 01:00.
        let due = c.deadline(t("2026-09-30 20:00"), 24, EmergencyHours);
        let left = c.remaining_minutes(t("2026-09-30 22:00"), due, EmergencyHours);
        assert_eq!(left, 1320);
        assert_eq!(
            c.deadline_after(t("2026-09-30 22:00"), left, EmergencyHours),
            due
        );
        assert_eq!(
            c.deadline_after(t("2026-10-01 03:00"), left, EmergencyHours),
            t("2026-10-02 01:00")
        );
        // Natural days the same way: 1 day from Nov 20 10:00, paused after 6 h, resumed 2 days later.
        let due = c.deadline(t("2026-11-20 10:00"), 1, NaturalDays);
        let left = c.remaining_minutes(t("2026-11-20 16:00"), due, NaturalDays);
        assert_eq!(left, 18 * 60);
        assert_eq!(
            c.deadline_after(t("2026-11-22 16:00"), left, NaturalDays),
            t("2026-11-23 10:00")
        );
    }

    #[test]
    fn an_overdue_case_stays_overdue_across_a_pause() {
        let c = cal();
        // Due Mon 2026-11-23 10:00, paused at 11:00: 60 working minutes overdue.
        let due = t("2026-11-23 10:00");
        let left = c.remaining_minutes(t("2026-11-23 11:00"), due, WorkHours);
        assert_eq!(left, -60);
        // Resumed immediately: the same deadline.
        assert_eq!(
            c.deadline_after(t("2026-11-23 11:00"), left, WorkHours),
            due
        );
        // Resumed Tue 09:00: 60 working minutes back is Tue 08:30 (30) then Mon 18:00 − 30 = 17:30,
        // and it is still 60 minutes overdue.
        let new_due = c.deadline_after(t("2026-11-24 09:00"), left, WorkHours);
        assert_eq!(new_due, t("2026-11-23 17:30"));
        assert_eq!(
            c.remaining_minutes(t("2026-11-24 09:00"), new_due, WorkHours),
            -60
        );
        // Backwards, a result on the start of a period stays there: 15:00 − 30 = 14:30.
        assert_eq!(
            c.deadline_after(t("2026-11-23 15:00"), -30, WorkHours),
            t("2026-11-23 14:30")
        );
        // Clock units simply go back: 90 min overdue.
        assert_eq!(
            c.remaining_minutes(t("2026-11-23 11:30"), due, EmergencyHours),
            -90
        );
    }

    #[test]
    fn parse_periods_errors() {
        use PeriodError::*;
        assert_eq!(Calendar::parse_periods(""), Err(Empty));
        assert_eq!(Calendar::parse_periods("   "), Err(Empty));
        assert_eq!(Calendar::parse_periods("8:30"), Err(Format));
        assert_eq!(Calendar::parse_periods("08:30-12:00,"), Err(Format));
        assert_eq!(Calendar::parse_periods("08:30-12"), Err(Format));
        assert_eq!(Calendar::parse_periods("08:3-12:00"), Err(Format));
        assert_eq!(Calendar::parse_periods("24:00-25:00"), Err(Format));
        assert_eq!(Calendar::parse_periods("08:60-12:00"), Err(Format));
        assert_eq!(Calendar::parse_periods("+8:30-12:00"), Err(Format));
        assert_eq!(Calendar::parse_periods("12:00-08:30"), Err(Order));
        assert_eq!(Calendar::parse_periods("08:30-08:30"), Err(Order));
        assert_eq!(
            Calendar::parse_periods("08:30-12:00,11:00-14:00"),
            Err(Order)
        );
        assert_eq!(
            Calendar::parse_periods("14:30-18:00,08:30-12:00"),
            Err(Order)
        );
    }

    #[test]
    fn parse_and_format_round_trip() {
        let p = Calendar::parse_periods(" 08:30 - 12:00 , 14:30-18:00 ").unwrap();
        assert_eq!(
            p,
            vec![(hm("08:30"), hm("12:00")), (hm("14:30"), hm("18:00"))]
        );
        assert_eq!(Calendar::format_periods(&p), DEFAULT_PERIODS);
        assert_eq!(
            Calendar::parse_periods(&Calendar::format_periods(&p)),
            Ok(p)
        );
        // One-digit hours are accepted and formatted with two; touching periods are allowed.
        let p = Calendar::parse_periods("8:00-12:00,12:00-13:00").unwrap();
        assert_eq!(Calendar::format_periods(&p), "08:00-12:00,12:00-13:00");
        assert_eq!(cal().work_minutes_per_day(), 420);
    }

    #[test]
    fn new_normalizes_periods() {
        let c = Calendar::new(
            vec![
                (hm("14:00"), hm("18:00")),
                (hm("09:00"), hm("09:00")),
                (hm("08:00"), hm("12:00")),
                (hm("11:00"), hm("15:00")),
            ],
            BTreeMap::new(),
        );
        assert_eq!(c.periods, vec![(hm("08:00"), hm("18:00"))]);
        assert_eq!(c.work_minutes_per_day(), 600);
    }

    #[test]
    fn ms_conversions() {
        // 2026-01-01 00:00 UTC+8 = 2025-12-31 16:00 UTC = 1_767_225_600 s − 8 h = 1_767_196_800 s.
        assert_eq!(ms_from_local(t("2026-01-01 00:00")), 1_767_196_800_000);
        assert_eq!(local_from_ms(1_767_196_800_000), t("2026-01-01 00:00"));
        assert_eq!(local_from_ms(0), t("1970-01-01 08:00"));
        let odd = 1_767_196_800_000 + 123_456_789;
        assert_eq!(ms_from_local(local_from_ms(odd)), odd);
        assert_eq!(local_from_ms(i64::MAX), NaiveDateTime::MAX);
        assert_eq!(local_from_ms(i64::MIN), NaiveDateTime::MIN);
    }

    #[test]
    fn codes_round_trip() {
        let codes: Vec<&str> = LimitUnit::ALL.iter().map(|u| u.code()).collect();
        assert_eq!(
            codes,
            ["emergency_hours", "work_hours", "work_days", "natural_days"]
        );
        for u in LimitUnit::ALL {
            assert_eq!(LimitUnit::from_code(u.code()), Some(u));
        }
        for k in [DayKind::Holiday, DayKind::Workday] {
            assert_eq!(DayKind::from_code(k.code()), Some(k));
        }
        assert_eq!(DayKind::from_code("workday"), Some(DayKind::Workday));
        assert_eq!(LimitUnit::from_code("hours"), None);
        assert_eq!(DayKind::from_code(""), None);
    }

    #[test]
    fn official_days_table() {
        let days = official_days();
        assert_eq!(
            days.len(),
            CN_OFFICIAL_DAYS.len(),
            "dates parse and are unique"
        );
        let dates: Vec<NaiveDate> = CN_OFFICIAL_DAYS.iter().map(|e| d(e.0)).collect();
        assert!(dates.windows(2).all(|w| w[0] < w[1]), "in date order");
        for &(date, kind, zh, en) in CN_OFFICIAL_DAYS {
            let weekend = matches!(d(date).weekday(), Weekday::Sat | Weekday::Sun);
            if kind == DayKind::Workday {
                assert!(weekend, "make-up day {date} falls on a weekend");
                assert!(zh.ends_with("调休上班") && en.ends_with("make-up working day"));
            }
            assert!(!zh.is_empty() && !en.is_empty());
        }
        let count = |year: &str, kind| {
            CN_OFFICIAL_DAYS
                .iter()
                .filter(|e| e.0.starts_with(year) && e.1 == kind)
                .count()
        };
        // 2025: 1 + 8 + 3 + 5 + 3 + 8 = 28 holidays, 5 make-up days;
        // 2026: 3 + 9 + 3 + 5 + 3 + 3 + 7 = 33 holidays, 6 make-up days.
        assert_eq!(
            (
                count("2025", DayKind::Holiday),
                count("2025", DayKind::Workday)
            ),
            (28, 5)
        );
        assert_eq!(
            (
                count("2026", DayKind::Holiday),
                count("2026", DayKind::Workday)
            ),
            (33, 6)
        );
        assert!(CN_OFFICIAL_DAYS.contains(&(
            "2026-10-01",
            DayKind::Holiday,
            "国庆节",
            "National Day"
        )));
        assert!(CN_OFFICIAL_DAYS.contains(&(
            "2026-10-10",
            DayKind::Workday,
            "国庆节调休上班",
            "National Day make-up working day"
        )));
    }

    /// Whether the minute [m, m + 1 min) is working time, the definition the fast code must match.
    fn working_minute(c: &Calendar, m: NaiveDateTime) -> bool {
        c.is_workday(m.date())
            && c.periods
                .iter()
                .any(|&(s, e)| s <= m.time() && m.time() < e)
    }

    #[test]
    fn matches_a_minute_by_minute_count() {
        let c = cal();
        let one = TimeDelta::minutes(1);
        let base = t("2024-12-20 00:00");
        let mut seed: u64 = 0x2026_1001;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        for _ in 0..300 {
            let start = base + TimeDelta::minutes(next(760 * 1440) as i64);
            let minutes = 1 + next(3000) as i64;
            // Forward: the end of the `minutes`-th working minute.
            let (mut m, mut left) = (start, minutes);
            let end = loop {
                if working_minute(&c, m) {
                    left -= 1;
                    if left == 0 {
                        break m + one;
                    }
                }
                m += one;
            };
            assert_eq!(
                c.add_work_minutes(start, minutes),
                end,
                "{start} + {minutes}"
            );
            assert_eq!(
                c.work_minutes_between(start, end),
                minutes,
                "{start}..{end}"
            );
            // Backward: the start of the `minutes`-th working minute before `start`.
            let (mut m, mut left) = (start, minutes);
            let begin = loop {
                m -= one;
                if working_minute(&c, m) {
                    left -= 1;
                    if left == 0 {
                        break m;
                    }
                }
            };
            assert_eq!(
                c.deadline_after(start, -minutes, WorkHours),
                begin,
                "{start} - {minutes}"
            );
            // Between two arbitrary times.
            let other = base + TimeDelta::minutes(next(760 * 1440) as i64);
            let (a, b) = (start.min(other), start.max(other));
            if (b - a).num_days() < 40 {
                let mut count = 0;
                let mut m = a;
                while m < b {
                    count += i64::from(working_minute(&c, m));
                    m += one;
                }
                assert_eq!(c.work_minutes_between(a, b), count, "{a}..{b}");
            }
        }
    }

    #[test]
    fn long_spans_skip_weeks_correctly() {
        let c = cal();
        let start = t("2024-06-03 10:00");
        // One working day at a time (never skips a week) must agree with one big step (skips weeks).
        let mut stepped = start;
        for _ in 0..1500 {
            stepped = c.add_work_minutes(stepped, 420);
        }
        let jumped = c.add_work_minutes(start, 1500 * 420);
        assert_eq!(jumped, stepped);
        assert_eq!(c.work_minutes_between(start, jumped), 1500 * 420);
        assert_eq!(c.deadline_after(jumped, -1500 * 420, WorkDays), start);
        // From Mon 2027-01-04 08:30 (no special days after 2026), 26,000 work days are 5,200
        // whole weeks, ending on the Friday of the last week at 18:00:
        // 2027-01-04 + 5,200 × 7 − 3 days = 2126-08-30, a Friday.
        let far = c.deadline(t("2027-01-04 08:30"), 26_000, WorkDays);
        assert_eq!(far, t("2126-08-30 18:00"));
        assert_eq!(
            c.remaining_minutes(t("2027-01-04 08:30"), far, WorkDays),
            26_000 * 420
        );
    }

    #[test]
    fn degenerate_calendars_fall_back_to_clock_time() {
        let start = t("2026-11-20 16:00");
        // No working periods: everything runs on the clock, a work day is 24 h.
        let none = Calendar::new(Vec::new(), BTreeMap::new());
        assert_eq!(none.work_minutes_per_day(), 0);
        assert_eq!(none.deadline(start, 4, WorkHours), t("2026-11-20 20:00"));
        assert_eq!(none.deadline(start, 2, WorkDays), t("2026-11-22 16:00"));
        assert_eq!(
            none.deadline_after(start, -60, WorkHours),
            t("2026-11-20 15:00")
        );
        assert_eq!(none.work_minutes_between(start, t("2026-11-20 20:00")), 240);
        // Every day a holiday for 4,000 days: give up after 3,700 and use the clock
        // (16:00 + 4 h = 20:00), backwards too (midnight after the block − 1 h).
        let mut special = BTreeMap::new();
        let mut day = start.date();
        for _ in 0..4000 {
            special.insert(day, DayKind::Holiday);
            day = day.succ_opt().unwrap();
        }
        let idle = Calendar { special, ..cal() };
        assert_eq!(idle.deadline(start, 4, WorkHours), t("2026-11-20 20:00"));
        assert_eq!(
            idle.deadline_after(day.and_time(NaiveTime::MIN), -60, WorkHours),
            day.and_time(NaiveTime::MIN) - TimeDelta::hours(1)
        );
        // A holiday block shorter than 3,700 days is simply walked through: 3,000 holidays from
        // Fri 2026-11-20; 3,000 = 428 × 7 + 4, so the first working day is a Tuesday: 08:30 + 60 = 09:30.
        let mut special = BTreeMap::new();
        let mut day = start.date();
        for _ in 0..3000 {
            special.insert(day, DayKind::Holiday);
            day = day.succ_opt().unwrap();
        }
        let long = Calendar { special, ..cal() };
        assert_eq!(day.weekday(), Weekday::Tue);
        assert_eq!(long.add_work_minutes(start, 60), day.and_time(hm("09:30")));
    }

    #[test]
    fn huge_amounts_saturate_without_panicking() {
        let c = cal();
        let start = t("2026-11-20 16:00");
        assert_eq!(c.add_work_minutes(start, i64::MAX), NaiveDateTime::MAX);
        assert_eq!(
            c.add_work_minutes(start, i64::MAX / 120),
            NaiveDateTime::MAX
        );
        assert_eq!(c.deadline(start, i64::MAX, WorkDays), NaiveDateTime::MAX);
        assert_eq!(
            c.deadline(start, i64::MAX, EmergencyHours),
            NaiveDateTime::MAX
        );
        assert_eq!(c.deadline(start, i64::MIN, NaturalDays), NaiveDateTime::MIN);
        assert_eq!(
            c.deadline_after(start, i64::MIN, WorkHours),
            NaiveDateTime::MIN
        );
        assert!(c.work_minutes_between(NaiveDateTime::MIN, NaiveDateTime::MAX) > 0);
    }
}
