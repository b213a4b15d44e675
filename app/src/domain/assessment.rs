//! The monthly assessment (月度考核): a month's department evaluation, published by the
//! leadership once the month is over and its appeals are decided, and frozen from then on.
//!
//! Pure rules: which month a string names, the days it spans, whether it may be published,
//! and what a department head may see of other departments' rows.
use crate::domain::workflow::Refusal;
use crate::model::DeptScore;
use serde::{Deserialize, Serialize};

/// A calendar month (Asia/Shanghai).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    /// `yyyy-mm`, years 2000–2100; None for anything else.
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let (year, month) = (y.parse::<i32>().ok()?, m.parse::<u32>().ok()?);
        ((2000..=2100).contains(&year) && (1..=12).contains(&month))
            .then_some(Month { year, month })
    }

    pub fn code(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    pub fn prev(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Its first and last day, `yyyy-mm-dd`.
    pub fn days(self) -> (String, String) {
        let last = match self.month {
            4 | 6 | 9 | 11 => 30,
            2 if (self.year % 4 == 0 && self.year % 100 != 0) || self.year % 400 == 0 => 29,
            2 => 28,
            _ => 31,
        };
        (
            format!("{}-01", self.code()),
            format!("{}-{last:02}", self.code()),
        )
    }
}

/// Whether `month` may be published now, in the month `today`: only once it is over, only
/// with no appeal about it still pending, and only once.
pub fn may_publish(
    month: Month,
    today: Month,
    pending_appeals: i64,
    published: bool,
) -> Result<(), Refusal> {
    if published {
        Err(Refusal::MonthPublished)
    } else if month >= today {
        Err(Refusal::MonthNotOver)
    } else if pending_appeals > 0 {
        Err(Refusal::AppealsPending)
    } else {
        Ok(())
    }
}

/// What a department head sees of the ranking: their own department in full, every other
/// only as rank and score (counts and indicators blanked, `limited` set).
pub fn limit_to(rows: &mut [DeptScore], own_department: i64) {
    for r in rows
        .iter_mut()
        .filter(|r| r.department_id != own_department)
    {
        let (score, dispatched) = (r.indicators.score, r.counts.dispatched > 0);
        r.counts = Default::default();
        // `dispatched` only says whether the department was scored at all.
        r.counts.dispatched = i64::from(dispatched);
        r.indicators = crate::domain::evaluation::Indicators {
            score,
            ..Default::default()
        };
        r.limited = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::evaluation::{Counts, Indicators};

    fn m(s: &str) -> Month {
        Month::parse(s).unwrap()
    }

    #[test]
    fn months_parse_strictly() {
        assert_eq!(
            Month::parse("2026-10"),
            Some(Month {
                year: 2026,
                month: 10
            })
        );
        assert_eq!(
            Month::parse(" 2026-01 ").map(Month::code),
            Some("2026-01".into())
        );
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-10",
            "2026/10",
            "",
            "abcd-ef",
            "1999-12",
            "2026-10-01",
        ] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn month_arithmetic_crosses_years_and_leap_days() {
        assert_eq!(m("2026-01").prev(), m("2025-12"));
        assert_eq!(m("2026-12").next(), m("2027-01"));
        assert_eq!(
            m("2024-02").days(),
            ("2024-02-01".into(), "2024-02-29".into())
        );
        assert_eq!(m("2100-02").days().1, "2100-02-28");
        assert_eq!(m("2000-02").days().1, "2000-02-29");
        assert_eq!(m("2026-11").days().1, "2026-11-30");
        assert_eq!(m("2026-10").days().1, "2026-10-31");
    }

    #[test]
    fn a_month_is_published_once_when_over_and_its_appeals_decided() {
        let today = m("2026-11");
        assert_eq!(may_publish(m("2026-10"), today, 0, false), Ok(()));
        assert_eq!(may_publish(m("2025-12"), today, 0, false), Ok(()));
        assert_eq!(
            may_publish(m("2026-11"), today, 0, false),
            Err(Refusal::MonthNotOver)
        );
        assert_eq!(
            may_publish(m("2027-01"), today, 0, false),
            Err(Refusal::MonthNotOver)
        );
        assert_eq!(
            may_publish(m("2026-10"), today, 1, false),
            Err(Refusal::AppealsPending)
        );
        // Published is final, whatever else holds.
        assert_eq!(
            may_publish(m("2026-10"), today, 0, true),
            Err(Refusal::MonthPublished)
        );
        assert_eq!(
            may_publish(m("2026-10"), today, 3, true),
            Err(Refusal::MonthPublished)
        );
    }

    fn row(id: i64, score: f64, dispatched: i64) -> DeptScore {
        DeptScore {
            department_id: id,
            name_zh: format!("部门{id}"),
            name_en: format!("Dept {id}"),
            counts: Counts {
                dispatched,
                closed: dispatched,
                overdue: 2,
                ..Default::default()
            },
            indicators: Indicators {
                score,
                overdue: 2,
                closure_rate: Some(90.0),
                ..Default::default()
            },
            rank: id as u32,
            limited: false,
        }
    }

    #[test]
    fn a_department_head_sees_others_as_rank_and_score_only() {
        let mut rows = vec![row(1, 98.5, 10), row(2, 91.0, 4), row(3, 0.0, 0)];
        limit_to(&mut rows, 2);
        assert_eq!(rows[1], row(2, 91.0, 4), "own row in full");
        assert!(rows[0].limited && rows[2].limited && !rows[1].limited);
        assert_eq!((rows[0].rank, rows[0].indicators.score), (1, 98.5));
        assert_eq!(rows[0].indicators.closure_rate, None);
        assert_eq!(
            (
                rows[0].indicators.overdue,
                rows[0].counts.overdue,
                rows[0].counts.closed
            ),
            (0, 0, 0)
        );
        // Whether a department was scored survives; its volume does not.
        assert_eq!(
            (rows[0].counts.dispatched, rows[2].counts.dispatched),
            (1, 0)
        );
    }
}
