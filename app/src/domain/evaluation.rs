//! Department evaluation (综合评价) for a period, computed from case timelines.
//!
//! Three pure steps, each usable on its own:
//! 1. [`from_timeline`] turns one case's timeline into its [`Assignment`]s (one per dispatch)
//!    and its [`Filing`];
//! 2. [`count`] adds up the [`Counts`] of one department for a period `[from, to)`;
//! 3. [`indicators`] turns counts into rates and a score under a [`ScoringRule`], and
//!    [`rank`] ranks departments by score.
//!
//! All times are epoch milliseconds. The server computes the same [`Counts`] with one SQL
//! `GROUP BY` over stored assignment rows, so every field of [`Counts`] is defined exactly
//! below and must not drift from that query.
use crate::domain::workflow::Action;
use serde::{Deserialize, Serialize};

/// Milliseconds in an hour, for [`Indicators::mean_handling_hours`].
pub const MS_PER_HOUR: i64 = 3_600_000;

/// One step on a case's timeline, in time order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEvent {
    pub at: i64,
    pub action: TimelineAction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TimelineAction {
    /// Reported; the case must be filed by `filing_deadline`.
    Report { filing_deadline: i64 },
    /// Any workflow [`Action`] except `Dispatch`, `Hold` and `Resume` (those have their own
    /// variants and are ignored here), with the department of the user who took it.
    Step { action: Action, by_department: i64 },
    /// Dispatched to a department, to be handled by `deadline`. Opens a new [`Assignment`].
    Dispatch { department_id: i64, deadline: i64 },
    /// Put on hold (缓办).
    Hold,
    /// Resumed; `deadline` is the handling deadline moved by the time on hold.
    Resume { deadline: i64 },
}

/// One department's responsibility for one case, opened by a dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub department_id: i64,
    pub dispatched_at: i64,
    /// The handling deadline: the dispatch deadline, replaced by the latest resume's.
    pub deadline_at: i64,
    /// First accept (受理).
    pub accepted_at: Option<i64>,
    /// Returned (退单); ends the assignment.
    pub returned_at: Option<i64>,
    /// First report-back (处置反馈).
    pub first_handled_at: Option<i64>,
    /// Latest report-back (after rework this is the last one).
    pub handled_at: Option<i64>,
    /// Closed (结案) while this assignment was current.
    pub closed_at: Option<i64>,
    /// Reworks (返工) while this assignment was current.
    pub rework_count: i64,
    /// Put on hold without a later resume.
    pub on_hold: bool,
}

/// The filing (立案) of a case: who filed it, when, and by when it had to be filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filing {
    /// The department of the user who filed (Step `File`).
    pub department_id: i64,
    pub filed_at: i64,
    /// From the case's `Report`.
    pub filing_deadline: i64,
}

/// The assignments (one per dispatch, in dispatch order) and the filing of one case.
///
/// Rules, applied to the events in the order given:
/// - `Report` remembers the filing deadline (the latest report counts).
/// - Step `File` makes the [`Filing`] with the acting user's department; only the first
///   `File` counts, and a `File` with no `Report` before it gives no filing (no deadline to
///   judge it by).
/// - `Dispatch` opens a new assignment, which becomes the *current* one.
/// - Step `Accept` sets `accepted_at` (first only); step `ReportBack` sets
///   `first_handled_at` (first only) and `handled_at` (every time); step `Close` sets
///   `closed_at`; step `Rework` adds one to `rework_count`; `Hold` sets `on_hold`;
///   `Resume` clears `on_hold` and replaces `deadline_at`. All act on the current
///   assignment, whoever took the step, and are ignored when there is none.
/// - Step `Return` sets `returned_at` and ends the current assignment: nothing after it
///   touches that assignment; the next `Dispatch` opens another one.
/// - Steps `Reject`, `VerifyPass`, `VerifyFail` change nothing here; steps `Dispatch`,
///   `Hold`, `Resume` are ignored (they carry no data; the dedicated variants are used).
pub fn from_timeline(events: &[TimelineEvent]) -> (Vec<Assignment>, Option<Filing>) {
    let mut assignments: Vec<Assignment> = Vec::new();
    // Index of the current assignment in `assignments`.
    let mut current: Option<usize> = None;
    let mut filing_deadline: Option<i64> = None;
    let mut filing: Option<Filing> = None;

    for event in events {
        let at = event.at;
        match event.action {
            TimelineAction::Report {
                filing_deadline: deadline,
            } => filing_deadline = Some(deadline),
            TimelineAction::Dispatch {
                department_id,
                deadline,
            } => {
                assignments.push(Assignment {
                    department_id,
                    dispatched_at: at,
                    deadline_at: deadline,
                    accepted_at: None,
                    returned_at: None,
                    first_handled_at: None,
                    handled_at: None,
                    closed_at: None,
                    rework_count: 0,
                    on_hold: false,
                });
                current = Some(assignments.len() - 1);
            }
            TimelineAction::Hold => {
                if let Some(a) = current.map(|i| &mut assignments[i]) {
                    a.on_hold = true;
                }
            }
            TimelineAction::Resume { deadline } => {
                if let Some(a) = current.map(|i| &mut assignments[i]) {
                    a.on_hold = false;
                    a.deadline_at = deadline;
                }
            }
            TimelineAction::Step {
                action,
                by_department,
            } => {
                if action == Action::File {
                    if let (None, Some(deadline)) = (filing, filing_deadline) {
                        filing = Some(Filing {
                            department_id: by_department,
                            filed_at: at,
                            filing_deadline: deadline,
                        });
                    }
                    continue;
                }
                let Some(i) = current else { continue };
                let a = &mut assignments[i];
                match action {
                    Action::Accept => {
                        a.accepted_at.get_or_insert(at);
                    }
                    Action::Return => {
                        a.returned_at = Some(at);
                        current = None;
                    }
                    Action::ReportBack => {
                        a.first_handled_at.get_or_insert(at);
                        a.handled_at = Some(at);
                    }
                    Action::Close => a.closed_at = Some(at),
                    Action::Rework => a.rework_count += 1,
                    Action::File
                    | Action::Reject
                    | Action::VerifyPass
                    | Action::VerifyFail
                    | Action::Dispatch
                    | Action::Hold
                    | Action::Resume => {}
                }
            }
        }
    }
    (assignments, filing)
}

/// One department's figures for a period `[from, to)`.
///
/// An assignment belongs to the period when `from <= dispatched_at < to`; a filing when
/// `from <= filed_at < to`. Only the department's own assignments and filings count.
/// "Due" assignments are those in the period, not appealed away and not returned.
/// Assignments removed by an accepted appeal (申诉) count only in `appealed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Assignments in the period, not appealed away.
    pub dispatched: i64,
    /// Of `dispatched`, those returned (`returned_at` set; 退单).
    pub returned: i64,
    /// `dispatched - returned`: the assignments the department had to handle.
    pub due: i64,
    /// Due with a report-back (`first_handled_at` set).
    pub handled: i64,
    /// Due with `first_handled_at <= deadline_at`.
    pub handled_on_time: i64,
    /// Due and closed (`closed_at` set).
    pub closed: i64,
    /// Closed, with `handled_at` (the latest report-back) set and `<= deadline_at`.
    pub closed_on_time: i64,
    /// Due, `on_hold` and not closed.
    pub on_hold: i64,
    /// Due and either `handled_at > deadline_at`, or not handled, not on hold and
    /// `now > deadline_at`.
    pub overdue: i64,
    /// Sum of `rework_count` over due.
    pub rework: i64,
    /// Sum of `first_handled_at - dispatched_at` over handled, in milliseconds.
    pub handling_ms: i64,
    /// Filings by the department in the period.
    pub filed: i64,
    /// Of `filed`, those with `filed_at <= filing_deadline`.
    pub filed_on_time: i64,
    /// Assignments in the period removed by accepted appeals.
    pub appealed: i64,
}

/// Adds up the [`Counts`] of `department_id` for `[from, to)` as of `now`.
///
/// `assignments` pairs each assignment with whether an accepted appeal removed it.
pub fn count(
    department_id: i64,
    assignments: &[(Assignment, bool)],
    filings: &[Filing],
    from: i64,
    to: i64,
    now: i64,
) -> Counts {
    let in_period = |t: i64| from <= t && t < to;
    let mut c = Counts::default();

    for (a, appealed) in assignments {
        if a.department_id != department_id || !in_period(a.dispatched_at) {
            continue;
        }
        if *appealed {
            c.appealed += 1;
            continue;
        }
        c.dispatched += 1;
        if a.returned_at.is_some() {
            c.returned += 1;
            continue;
        }
        c.due += 1;
        let closed = a.closed_at.is_some();
        if let Some(first) = a.first_handled_at {
            c.handled += 1;
            c.handling_ms += first - a.dispatched_at;
            if first <= a.deadline_at {
                c.handled_on_time += 1;
            }
        }
        if closed {
            c.closed += 1;
            if a.handled_at.is_some_and(|h| h <= a.deadline_at) {
                c.closed_on_time += 1;
            }
        }
        if a.on_hold && !closed {
            c.on_hold += 1;
        }
        let overdue = match a.handled_at {
            Some(h) => h > a.deadline_at,
            None => !a.on_hold && now > a.deadline_at,
        };
        if overdue {
            c.overdue += 1;
        }
        c.rework += a.rework_count;
    }

    for f in filings {
        if f.department_id != department_id || !in_period(f.filed_at) {
            continue;
        }
        c.filed += 1;
        if f.filed_at <= f.filing_deadline {
            c.filed_on_time += 1;
        }
    }
    c
}

/// How the score is computed, kept as data so a city can change it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoringRule {
    /// On-time closure rate (percent) at or above which nothing is deducted.
    pub threshold_pct: f64,
    /// Points a department starts with.
    pub base_points: f64,
    /// Points deducted per percentage point below the threshold.
    pub per_point_below: f64,
    /// Points deducted per rework.
    pub rework_penalty: f64,
}

impl Default for ScoringRule {
    /// DOMAIN.md: an on-time closure rate of 70% or more earns 50 points, minus 1 per point
    /// below; each rework −0.2.
    fn default() -> Self {
        ScoringRule {
            threshold_pct: 70.0,
            base_points: 50.0,
            per_point_below: 1.0,
            rework_penalty: 0.2,
        }
    }
}

/// The published indicators of one department. Rates are percentages (0–100), `None`
/// when their denominator is 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Indicators {
    /// 结案率: `closed / due`.
    pub closure_rate: Option<f64>,
    /// 按期结案率: `closed_on_time / (due - on_hold)`.
    pub on_time_closure_rate: Option<f64>,
    /// 处置率: `handled / due`.
    pub handling_rate: Option<f64>,
    /// 按期处置率: `handled_on_time / due`.
    pub on_time_handling_rate: Option<f64>,
    /// 按时立案率: `filed_on_time / filed`.
    pub on_time_filing_rate: Option<f64>,
    /// 准确派遣率: `(dispatched - returned) / dispatched`.
    pub accurate_dispatch_rate: Option<f64>,
    /// 超期数.
    pub overdue: i64,
    /// 返工数.
    pub rework: i64,
    /// 平均处置时长: `handling_ms / handled`, in hours.
    pub mean_handling_hours: Option<f64>,
    /// See [`indicators`].
    pub score: f64,
}

/// `100 * num / den`, or `None` when `den` is 0.
fn pct(num: i64, den: i64) -> Option<f64> {
    (den != 0).then(|| num as f64 * 100.0 / den as f64)
}

/// The indicators and score of one department.
///
/// Score: start at `base_points`; when the on-time closure rate is `Some(r)` with
/// `r < threshold_pct`, subtract `(threshold_pct - r) * per_point_below` (no deduction
/// when the rate is `None`); subtract `rework * rework_penalty`; a result at or below 0 is
/// 0; otherwise it is rounded to 2 decimals (half away from zero: `(x * 100).round() / 100`).
pub fn indicators(c: &Counts, rule: &ScoringRule) -> Indicators {
    let on_time_closure_rate = pct(c.closed_on_time, c.due - c.on_hold);

    let mut raw = rule.base_points;
    if let Some(r) = on_time_closure_rate {
        if r < rule.threshold_pct {
            raw -= (rule.threshold_pct - r) * rule.per_point_below;
        }
    }
    raw -= c.rework as f64 * rule.rework_penalty;
    let score = if raw > 0.0 {
        (raw * 100.0).round() / 100.0
    } else {
        0.0
    };

    Indicators {
        closure_rate: pct(c.closed, c.due),
        on_time_closure_rate,
        handling_rate: pct(c.handled, c.due),
        on_time_handling_rate: pct(c.handled_on_time, c.due),
        on_time_filing_rate: pct(c.filed_on_time, c.filed),
        accurate_dispatch_rate: pct(c.dispatched - c.returned, c.dispatched),
        overdue: c.overdue,
        rework: c.rework,
        mean_handling_hours: (c.handled != 0)
            .then(|| c.handling_ms as f64 / c.handled as f64 / MS_PER_HOUR as f64),
        score,
    }
}

/// Sorts `scores` by score descending, then department id ascending, and gives each
/// department its competition rank (1, 2, 2, 4): equal scores share the rank of the first
/// of them. Returns `(department id, rank)` in the sorted order. Scores are expected to be
/// finite (as [`indicators`] gives them); `-0.0` ties with `0.0`.
pub fn rank(scores: &mut [(i64, f64)]) -> Vec<(i64, u32)> {
    // `+ 0.0` turns -0.0 into 0.0 so that the order and the ties agree.
    let key = |s: f64| s + 0.0;
    scores.sort_by(|a, b| key(b.1).total_cmp(&key(a.1)).then(a.0.cmp(&b.0)));
    let mut ranks = Vec::with_capacity(scores.len());
    let mut current = 0u32;
    for (i, (dept, score)) in scores.iter().enumerate() {
        let tied = i > 0 && key(scores[i - 1].1).total_cmp(&key(*score)).is_eq();
        if !tied {
            current = i as u32 + 1;
        }
        ranks.push((*dept, current));
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = MS_PER_HOUR;
    /// The command centre, whose dispatchers file cases.
    const CENTRE: i64 = 1;
    /// A district sub-centre that also files.
    const DISTRICT: i64 = 2;
    /// Sanitation: the department under evaluation.
    const SANITATION: i64 = 10;
    /// Roads: receives a wrongly dispatched case and returns it.
    const ROADS: i64 = 20;

    const FROM: i64 = 0;
    const TO: i64 = 24 * H;
    const NOW: i64 = 30 * H;

    fn ev(at: i64, action: TimelineAction) -> TimelineEvent {
        TimelineEvent { at, action }
    }
    fn report(at: i64, filing_deadline: i64) -> TimelineEvent {
        ev(at, TimelineAction::Report { filing_deadline })
    }
    fn step(at: i64, action: Action, by_department: i64) -> TimelineEvent {
        ev(
            at,
            TimelineAction::Step {
                action,
                by_department,
            },
        )
    }
    fn dispatch(at: i64, department_id: i64, deadline: i64) -> TimelineEvent {
        ev(
            at,
            TimelineAction::Dispatch {
                department_id,
                deadline,
            },
        )
    }
    fn assignment(department_id: i64, dispatched_at: i64, deadline_at: i64) -> Assignment {
        Assignment {
            department_id,
            dispatched_at,
            deadline_at,
            accepted_at: None,
            returned_at: None,
            first_handled_at: None,
            handled_at: None,
            closed_at: None,
            rework_count: 0,
            on_hold: false,
        }
    }
    fn close_to(got: Option<f64>, want: Option<f64>) -> bool {
        match (got, want) {
            (Some(g), Some(w)) => (g - w).abs() < 1e-9,
            (None, None) => true,
            _ => false,
        }
    }
    fn assert_indicators(got: Indicators, want: Indicators) {
        let rates = [
            ("closure", got.closure_rate, want.closure_rate),
            (
                "on_time_closure",
                got.on_time_closure_rate,
                want.on_time_closure_rate,
            ),
            ("handling", got.handling_rate, want.handling_rate),
            (
                "on_time_handling",
                got.on_time_handling_rate,
                want.on_time_handling_rate,
            ),
            (
                "on_time_filing",
                got.on_time_filing_rate,
                want.on_time_filing_rate,
            ),
            (
                "accurate_dispatch",
                got.accurate_dispatch_rate,
                want.accurate_dispatch_rate,
            ),
            (
                "mean_handling_hours",
                got.mean_handling_hours,
                want.mean_handling_hours,
            ),
        ];
        for (name, g, w) in rates {
            assert!(close_to(g, w), "{name}: got {g:?}, want {w:?}");
        }
        assert_eq!(got.overdue, want.overdue, "overdue");
        assert_eq!(got.rework, want.rework, "rework");
        assert!(
            (got.score - want.score).abs() < 1e-9,
            "score: got {}, want {}",
            got.score,
            want.score
        );
    }

    /// Seven cases, times in hours. Period [0 h, 24 h), now = 30 h.
    fn cases() -> Vec<Vec<TimelineEvent>> {
        use Action::*;
        vec![
            // 1. Clean: filed on time, handled and closed within the deadline.
            vec![
                report(0, H),
                step(H / 2, File, CENTRE),
                dispatch(H, SANITATION, 5 * H),
                step(3 * H / 2, Accept, SANITATION),
                step(3 * H, ReportBack, SANITATION),
                step(4 * H, VerifyPass, 0),
                step(9 * H / 2, Close, CENTRE),
            ],
            // 2. Wrongly dispatched to Roads, returned, re-dispatched to Sanitation, which
            //    reports back late (10 h > deadline 8 h); closed anyway.
            vec![
                report(0, 2 * H),
                step(H, File, CENTRE),
                dispatch(2 * H, ROADS, 6 * H),
                step(3 * H, Return, ROADS),
                step(7 * H / 2, Close, CENTRE), // no current assignment: ignored
                dispatch(4 * H, SANITATION, 8 * H),
                step(5 * H, Accept, SANITATION),
                step(10 * H, ReportBack, SANITATION),
                step(11 * H, VerifyPass, 0),
                step(12 * H, Close, CENTRE),
            ],
            // 3. Filed late (2 h > 1 h). Held 5 h–7 h, the resume moves the deadline
            //    7 h → 9 h. First report-back at 8 h is on time only thanks to the move;
            //    verification fails, rework, second report-back at 11 h is late; closed.
            vec![
                report(0, H),
                step(2 * H, File, CENTRE),
                dispatch(3 * H, SANITATION, 7 * H),
                step(4 * H, Accept, SANITATION),
                ev(5 * H, TimelineAction::Hold),
                ev(7 * H, TimelineAction::Resume { deadline: 9 * H }),
                step(8 * H, ReportBack, SANITATION),
                step(9 * H, VerifyFail, 0),
                step(10 * H, Rework, CENTRE),
                step(11 * H, ReportBack, SANITATION),
                step(12 * H, VerifyPass, 0),
                step(13 * H, Close, CENTRE),
            ],
            // 4. Accepted, never handled: overdue at now (30 h > 25 h).
            vec![
                report(20 * H, 21 * H),
                step(41 * H / 2, File, CENTRE),
                dispatch(21 * H, SANITATION, 25 * H),
                step(22 * H, Accept, SANITATION),
            ],
            // 5. Filed late (21.5 h > 21 h); on hold at now, so not overdue though past 26 h.
            vec![
                report(20 * H, 21 * H),
                step(43 * H / 2, File, CENTRE),
                dispatch(22 * H, SANITATION, 26 * H),
                step(23 * H, Accept, SANITATION),
                ev(24 * H, TimelineAction::Hold),
            ],
            // 6. Filed by the district; never handled (would be overdue: 30 h > 24 h), but
            //    Sanitation's appeal is accepted.
            vec![
                report(22 * H, 23 * H),
                step(45 * H / 2, File, DISTRICT),
                dispatch(23 * H, SANITATION, 24 * H),
            ],
            // 7. Filed and dispatched at 24 h: outside the period (its end is excluded).
            vec![
                report(23 * H, 24 * H),
                step(24 * H, File, CENTRE),
                dispatch(24 * H, SANITATION, 28 * H),
            ],
        ]
    }

    /// All assignments of [`cases`] with the appeal flag (case 6 appealed away), and all
    /// filings.
    fn everything() -> (Vec<(Assignment, bool)>, Vec<Filing>) {
        let mut assignments = Vec::new();
        let mut filings = Vec::new();
        for (i, case) in cases().iter().enumerate() {
            let (a, f) = from_timeline(case);
            assignments.extend(a.into_iter().map(|a| (a, i == 5)));
            filings.extend(f);
        }
        (assignments, filings)
    }

    #[test]
    fn timelines_become_assignments_and_filings() {
        let got: Vec<_> = cases().iter().map(|c| from_timeline(c)).collect();
        let filing = |department_id, filed_at, filing_deadline| {
            Some(Filing {
                department_id,
                filed_at,
                filing_deadline,
            })
        };
        // 1. Clean.
        assert_eq!(
            got[0],
            (
                vec![Assignment {
                    accepted_at: Some(3 * H / 2),
                    first_handled_at: Some(3 * H),
                    handled_at: Some(3 * H),
                    closed_at: Some(9 * H / 2),
                    ..assignment(SANITATION, H, 5 * H)
                }],
                filing(CENTRE, H / 2, H),
            )
        );
        // 2. Returned by Roads, then Sanitation's assignment; the Close between them
        //    touches neither.
        assert_eq!(
            got[1],
            (
                vec![
                    Assignment {
                        returned_at: Some(3 * H),
                        ..assignment(ROADS, 2 * H, 6 * H)
                    },
                    Assignment {
                        accepted_at: Some(5 * H),
                        first_handled_at: Some(10 * H),
                        handled_at: Some(10 * H),
                        closed_at: Some(12 * H),
                        ..assignment(SANITATION, 4 * H, 8 * H)
                    },
                ],
                filing(CENTRE, H, 2 * H),
            )
        );
        // 3. Deadline moved to 9 h, first and latest report-back differ, one rework.
        assert_eq!(
            got[2],
            (
                vec![Assignment {
                    accepted_at: Some(4 * H),
                    first_handled_at: Some(8 * H),
                    handled_at: Some(11 * H),
                    closed_at: Some(13 * H),
                    rework_count: 1,
                    ..assignment(SANITATION, 3 * H, 9 * H)
                }],
                filing(CENTRE, 2 * H, H),
            )
        );
        // 4. Accepted only.
        assert_eq!(
            got[3],
            (
                vec![Assignment {
                    accepted_at: Some(22 * H),
                    ..assignment(SANITATION, 21 * H, 25 * H)
                }],
                filing(CENTRE, 41 * H / 2, 21 * H),
            )
        );
        // 5. On hold, deadline unchanged.
        assert_eq!(
            got[4],
            (
                vec![Assignment {
                    accepted_at: Some(23 * H),
                    on_hold: true,
                    ..assignment(SANITATION, 22 * H, 26 * H)
                }],
                filing(CENTRE, 43 * H / 2, 21 * H),
            )
        );
        // 6. and 7. Dispatched only.
        assert_eq!(
            got[5],
            (
                vec![assignment(SANITATION, 23 * H, 24 * H)],
                filing(DISTRICT, 45 * H / 2, 23 * H),
            )
        );
        assert_eq!(
            got[6],
            (
                vec![assignment(SANITATION, 24 * H, 28 * H)],
                filing(CENTRE, 24 * H, 24 * H),
            )
        );
    }

    #[test]
    fn timeline_edge_cases() {
        use Action::*;
        // Steps before any dispatch, a File without a Report, a second File, and the
        // data-less Step Dispatch/Hold/Resume are all ignored.
        let (a, f) = from_timeline(&[
            step(0, File, CENTRE),
            report(H, 3 * H),
            ev(H, TimelineAction::Hold),
            step(H, Accept, SANITATION),
            step(2 * H, File, CENTRE),
            step(2 * H, File, DISTRICT),
            dispatch(3 * H, SANITATION, 9 * H),
            step(4 * H, Hold, CENTRE),
            step(4 * H, Dispatch, CENTRE),
            step(4 * H, Accept, SANITATION),
            step(5 * H, Accept, SANITATION),
        ]);
        assert_eq!(
            a,
            vec![Assignment {
                accepted_at: Some(4 * H),
                ..assignment(SANITATION, 3 * H, 9 * H)
            }]
        );
        assert_eq!(
            f,
            Some(Filing {
                department_id: CENTRE,
                filed_at: 2 * H,
                filing_deadline: 3 * H
            })
        );
        assert_eq!(from_timeline(&[]), (vec![], None));
        // Re-dispatch without a return: the later dispatch becomes current.
        let (a, _) = from_timeline(&[
            dispatch(0, ROADS, 4 * H),
            dispatch(H, SANITATION, 5 * H),
            step(2 * H, ReportBack, SANITATION),
        ]);
        assert_eq!(a[0], assignment(ROADS, 0, 4 * H));
        assert_eq!(a[1].handled_at, Some(2 * H));
    }

    #[test]
    fn counts_for_sanitation() {
        let (assignments, filings) = everything();
        let got = count(SANITATION, &assignments, &filings, FROM, TO, NOW);
        // In [0 h, 24 h): cases 1, 2 (second assignment), 3, 4, 5; case 6 appealed away;
        // case 7 dispatched at 24 h is outside; case 2's first assignment is Roads'.
        let want = Counts {
            dispatched: 5, // cases 1, 2, 3, 4, 5
            returned: 0,
            due: 5,              // 5 - 0
            handled: 3,          // cases 1, 2, 3
            handled_on_time: 2,  // 1: 3 <= 5; 3: first 8 <= 9 (2: 10 > 8)
            closed: 3,           // cases 1, 2, 3
            closed_on_time: 1,   // 1: 3 <= 5 (2: 10 > 8; 3: latest 11 > 9)
            on_hold: 1,          // case 5
            overdue: 3,          // 2: 10 > 8; 3: 11 > 9; 4: unhandled, 30 > 25 (5 on hold)
            rework: 1,           // case 3
            handling_ms: 13 * H, // (3-1) + (10-4) + (8-3) = 2 + 6 + 5 = 13 h
            filed: 0,            // Sanitation files nothing
            filed_on_time: 0,
            appealed: 1, // case 6
        };
        assert_eq!(got, want);

        // Without the appeal, case 6 counts: due and overdue (30 > 24).
        let unappealed: Vec<_> = assignments.iter().map(|(a, _)| (*a, false)).collect();
        let got = count(SANITATION, &unappealed, &filings, FROM, TO, NOW);
        assert_eq!(
            got,
            Counts {
                dispatched: 6,
                due: 6,
                overdue: 4,
                appealed: 0,
                ..want
            }
        );

        // Earlier, at now = 24 h, case 4 (deadline 25 h) is not overdue yet.
        let got = count(SANITATION, &assignments, &filings, FROM, TO, 24 * H);
        assert_eq!(got.overdue, 2);
        // At exactly the deadline it is not overdue either (strictly after).
        let got = count(SANITATION, &assignments, &filings, FROM, TO, 25 * H);
        assert_eq!(got.overdue, 2);
    }

    #[test]
    fn counts_for_roads_and_filers() {
        let (assignments, filings) = everything();
        // Roads: case 2's first assignment, returned.
        assert_eq!(
            count(ROADS, &assignments, &filings, FROM, TO, NOW),
            Counts {
                dispatched: 1,
                returned: 1,
                due: 0, // 1 - 1
                ..Counts::default()
            }
        );
        // Command centre: filed cases 1 (0.5 <= 1), 2 (1 <= 2), 3 (2 > 1, late),
        // 4 (20.5 <= 21), 5 (21.5 > 21, late); case 7 filed at 24 h is outside.
        assert_eq!(
            count(CENTRE, &assignments, &filings, FROM, TO, NOW),
            Counts {
                filed: 5,
                filed_on_time: 3,
                ..Counts::default()
            }
        );
        // District: case 6 (22.5 <= 23).
        assert_eq!(
            count(DISTRICT, &assignments, &filings, FROM, TO, NOW),
            Counts {
                filed: 1,
                filed_on_time: 1,
                ..Counts::default()
            }
        );
        // The next period [24 h, 48 h) holds only case 7: dispatched, unhandled,
        // 30 > 28 so overdue; the centre filed it on time (24 <= 24).
        assert_eq!(
            count(SANITATION, &assignments, &filings, TO, 2 * TO, NOW),
            Counts {
                dispatched: 1,
                due: 1,
                overdue: 1,
                ..Counts::default()
            }
        );
        assert_eq!(
            count(CENTRE, &assignments, &filings, TO, 2 * TO, NOW),
            Counts {
                filed: 1,
                filed_on_time: 1,
                ..Counts::default()
            }
        );
    }

    #[test]
    fn indicators_for_sanitation() {
        let (assignments, filings) = everything();
        let c = count(SANITATION, &assignments, &filings, FROM, TO, NOW);
        let got = indicators(&c, &ScoringRule::default());
        assert_indicators(
            got,
            Indicators {
                closure_rate: Some(60.0),            // 3 / 5
                on_time_closure_rate: Some(25.0),    // 1 / (5 - 1)
                handling_rate: Some(60.0),           // 3 / 5
                on_time_handling_rate: Some(40.0),   // 2 / 5
                on_time_filing_rate: None,           // filed 0
                accurate_dispatch_rate: Some(100.0), // (5 - 0) / 5
                overdue: 3,
                rework: 1,
                mean_handling_hours: Some(13.0 / 3.0), // 13 h / 3
                // 50 - (70 - 25) * 1 - 1 * 0.2 = 50 - 45 - 0.2 = 4.8
                score: 4.8,
            },
        );
    }

    #[test]
    fn indicators_for_roads_and_centre() {
        let (assignments, filings) = everything();
        let rule = ScoringRule::default();
        // Roads: no due case, so every due-based rate is None and nothing is deducted.
        let roads = indicators(&count(ROADS, &assignments, &filings, FROM, TO, NOW), &rule);
        assert_indicators(
            roads,
            Indicators {
                closure_rate: None,
                on_time_closure_rate: None,
                handling_rate: None,
                on_time_handling_rate: None,
                on_time_filing_rate: None,
                accurate_dispatch_rate: Some(0.0), // (1 - 1) / 1
                overdue: 0,
                rework: 0,
                mean_handling_hours: None,
                score: 50.0,
            },
        );
        // Centre: only filings; 3 / 5 = 60 %.
        let centre = indicators(&count(CENTRE, &assignments, &filings, FROM, TO, NOW), &rule);
        assert_indicators(
            centre,
            Indicators {
                closure_rate: None,
                on_time_closure_rate: None,
                handling_rate: None,
                on_time_handling_rate: None,
                on_time_filing_rate: Some(60.0),
                accurate_dispatch_rate: None,
                overdue: 0,
                rework: 0,
                mean_handling_hours: None,
                score: 50.0,
            },
        );
    }

    #[test]
    fn no_due_case_scores_base_minus_rework() {
        // Hand-made counts: no due case but 3 reworks recorded.
        let c = Counts {
            rework: 3,
            ..Counts::default()
        };
        let got = indicators(&c, &ScoringRule::default());
        assert_eq!(got.closure_rate, None);
        assert_eq!(got.on_time_closure_rate, None);
        assert_eq!(got.handling_rate, None);
        assert_eq!(got.on_time_handling_rate, None);
        assert_eq!(got.on_time_filing_rate, None);
        assert_eq!(got.accurate_dispatch_rate, None);
        assert_eq!(got.mean_handling_hours, None);
        // 50 - 3 * 0.2 = 49.4
        assert!((got.score - 49.4).abs() < 1e-9, "{}", got.score);

        // All due cases on hold: due - on_hold = 0, so no on-time closure deduction.
        let c = Counts {
            dispatched: 2,
            due: 2,
            on_hold: 2,
            ..Counts::default()
        };
        let got = indicators(&c, &ScoringRule::default());
        assert_eq!(got.on_time_closure_rate, None);
        assert_eq!(got.closure_rate, Some(0.0));
        assert_eq!(got.score, 50.0);
    }

    #[test]
    fn score_threshold_rounding_and_floor() {
        let rule = ScoringRule::default();
        // Exactly at the threshold: 7 / 10 = 70 %, nothing deducted.
        let c = Counts {
            due: 10,
            closed: 7,
            closed_on_time: 7,
            ..Counts::default()
        };
        assert_eq!(indicators(&c, &rule).score, 50.0);
        // 2 / 3 = 66.666…%: 50 - 3.333… = 46.666… → 46.67.
        let c = Counts {
            due: 3,
            closed: 2,
            closed_on_time: 2,
            ..Counts::default()
        };
        let got = indicators(&c, &rule);
        assert!(close_to(got.on_time_closure_rate, Some(200.0 / 3.0)));
        assert!((got.score - 46.67).abs() < 1e-9, "{}", got.score);
        // 0 % on time and 100 reworks: 50 - 70 - 20 = -40 → 0.
        let c = Counts {
            dispatched: 10,
            due: 10,
            rework: 100,
            ..Counts::default()
        };
        assert_eq!(indicators(&c, &rule).score, 0.0);
        // 0 % on time alone: 50 - 70 = -20 → 0.
        let c = Counts {
            due: 1,
            ..Counts::default()
        };
        assert_eq!(indicators(&c, &rule).score, 0.0);
        // The rule is data: threshold 20 %, 100 base, 2 per point, 1 per rework.
        let custom = ScoringRule {
            threshold_pct: 20.0,
            base_points: 100.0,
            per_point_below: 2.0,
            rework_penalty: 1.0,
        };
        // 1 / 10 = 10 %: 100 - (20 - 10) * 2 - 5 * 1 = 75.
        let c = Counts {
            due: 10,
            closed: 1,
            closed_on_time: 1,
            rework: 5,
            ..Counts::default()
        };
        assert_eq!(indicators(&c, &custom).score, 75.0);
    }

    #[test]
    fn rank_shares_ties() {
        let mut scores = vec![(4, 30.0), (9, 50.0), (8, 45.0), (2, 45.0)];
        assert_eq!(rank(&mut scores), vec![(9, 1), (2, 2), (8, 2), (4, 4)]);
        assert_eq!(scores, vec![(9, 50.0), (2, 45.0), (8, 45.0), (4, 30.0)]);

        let mut scores = vec![(5, 40.0), (3, 48.5), (7, 48.5), (1, 40.0), (2, 12.0)];
        assert_eq!(
            rank(&mut scores),
            vec![(3, 1), (7, 1), (1, 3), (5, 3), (2, 5)]
        );
        // -0.0 ties with 0.0 and the ids decide the order.
        let mut scores = vec![(6, 0.0), (3, -0.0), (1, 1.0)];
        assert_eq!(rank(&mut scores), vec![(1, 1), (3, 2), (6, 2)]);
        assert_eq!(rank(&mut []), vec![]);
    }

    #[test]
    fn serde_derives_exist() {
        fn round_trip<T: Serialize + for<'de> Deserialize<'de>>() {}
        round_trip::<TimelineEvent>();
        round_trip::<Assignment>();
        round_trip::<Filing>();
        round_trip::<Counts>();
        round_trip::<ScoringRule>();
        round_trip::<Indicators>();
    }
}
