//! Sky Eye rules as pure code: how repeated alerts fold into incidents, and which triage
//! step may follow which. The ingest and the triage server functions ask these; nothing
//! else decides.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    Major,
    Minor,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Critical, Severity::Major, Severity::Minor];
    pub fn code(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Major => "major",
            Severity::Minor => "minor",
        }
    }
    pub fn from_code(c: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.code() == c)
    }
}

/// Triage states of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Triage {
    New,
    Acknowledged,
    Dismissed,
    Escalated,
    Resolved,
}

impl Triage {
    pub const ALL: [Triage; 5] = [
        Triage::New,
        Triage::Acknowledged,
        Triage::Dismissed,
        Triage::Escalated,
        Triage::Resolved,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Triage::New => "new",
            Triage::Acknowledged => "acknowledged",
            Triage::Dismissed => "dismissed",
            Triage::Escalated => "escalated",
            Triage::Resolved => "resolved",
        }
    }
    pub fn from_code(c: &str) -> Option<Triage> {
        Triage::ALL.into_iter().find(|s| s.code() == c)
    }
    /// New alerts of the same kind on the same camera still fold into an incident in this
    /// state; a dismissed or resolved incident is finished, and a later alert opens a new one.
    pub fn absorbs(self) -> bool {
        matches!(self, Triage::New | Triage::Acknowledged | Triage::Escalated)
    }
}

/// Why an incident was dismissed. Dismissing keeps every alert and snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DismissReason {
    FalsePositive,
    Duplicate,
    NotActionable,
}

impl DismissReason {
    pub const ALL: [DismissReason; 3] = [
        DismissReason::FalsePositive,
        DismissReason::Duplicate,
        DismissReason::NotActionable,
    ];
    pub fn code(self) -> &'static str {
        match self {
            DismissReason::FalsePositive => "false_positive",
            DismissReason::Duplicate => "duplicate",
            DismissReason::NotActionable => "not_actionable",
        }
    }
    pub fn from_code(c: &str) -> Option<DismissReason> {
        DismissReason::ALL.into_iter().find(|s| s.code() == c)
    }
}

/// A triage step. `Resolve` is taken by the system: when the escalated case closes, or when
/// an offline camera sends a heartbeat again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Acknowledge,
    Dismiss,
    Escalate,
    Resolve,
}

impl Step {
    pub fn code(self) -> &'static str {
        match self {
            Step::Acknowledge => "acknowledge",
            Step::Dismiss => "dismiss",
            Step::Escalate => "escalate",
            Step::Resolve => "resolve",
        }
    }
    pub fn from_code(c: &str) -> Option<Step> {
        [
            Step::Acknowledge,
            Step::Dismiss,
            Step::Escalate,
            Step::Resolve,
        ]
        .into_iter()
        .find(|s| s.code() == c)
    }
}

/// The state a step leads to from `from`, or `None` when the step does not apply there.
/// Camera-health incidents (offline, tampered) are not escalated to cases: their owner
/// acknowledges, dismisses, or the camera's return resolves them.
pub fn next(from: Triage, step: Step, health: bool) -> Option<Triage> {
    use Triage::*;
    match (from, step) {
        (New, Step::Acknowledge) => Some(Acknowledged),
        (New | Acknowledged, Step::Dismiss) => Some(Dismissed),
        (New | Acknowledged, Step::Escalate) if !health => Some(Escalated),
        (Escalated, Step::Resolve) => Some(Resolved),
        (New | Acknowledged, Step::Resolve) if health => Some(Resolved),
        _ => None,
    }
}

/// An incident that may still absorb alerts, as loaded for one ingest batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open {
    pub id: i64,
    pub camera_id: i64,
    pub type_id: i64,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// One accepted alert of the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incoming {
    pub camera_id: i64,
    pub type_id: i64,
    pub at: i64,
}

/// Where an alert goes: an incident that exists, or the n-th new one of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Existing(i64),
    New(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewIncident {
    pub camera_id: i64,
    pub type_id: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub count: i64,
}

/// Growth of an existing incident: alerts added and the span they widen it to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grown {
    pub id: i64,
    pub added: i64,
    pub first_seen: i64,
    pub last_seen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// One target per incoming alert, in the order given.
    pub targets: Vec<Target>,
    pub new: Vec<NewIncident>,
    /// Existing incidents that absorbed alerts, by id.
    pub grown: Vec<Grown>,
}

/// Folds a batch into incidents. An alert joins an incident of its camera and type when it
/// lies within `window_ms` of the incident's span (before its first or after its last
/// alert); otherwise it opens a new incident, which later alerts of the batch may join.
/// Alerts are taken in time order, so a batch folds the same however it is sorted, and a
/// batch split into two posts folds the same as the whole.
pub fn fold(open: &[Open], incoming: &[Incoming], window_ms: i64) -> Plan {
    use std::collections::HashMap;
    #[derive(Clone, Copy)]
    struct Span {
        target: Target,
        first: i64,
        last: i64,
    }
    let mut spans: HashMap<(i64, i64), Vec<Span>> = HashMap::new();
    for o in open {
        spans
            .entry((o.camera_id, o.type_id))
            .or_default()
            .push(Span {
                target: Target::Existing(o.id),
                first: o.first_seen,
                last: o.last_seen,
            });
    }
    let mut order: Vec<usize> = (0..incoming.len()).collect();
    order.sort_by_key(|&i| (incoming[i].at, i));
    let mut plan = Plan {
        targets: vec![Target::New(0); incoming.len()],
        ..Plan::default()
    };
    let mut grown: HashMap<i64, Grown> = HashMap::new();
    for i in order {
        let a = incoming[i];
        let list = spans.entry((a.camera_id, a.type_id)).or_default();
        // The nearest span that the alert reaches.
        let hit = list
            .iter_mut()
            .filter(|s| a.at >= s.first - window_ms && a.at <= s.last + window_ms)
            .min_by_key(|s| {
                if a.at > s.last {
                    a.at - s.last
                } else if a.at < s.first {
                    s.first - a.at
                } else {
                    0
                }
            });
        let target = match hit {
            Some(s) => {
                s.first = s.first.min(a.at);
                s.last = s.last.max(a.at);
                match s.target {
                    Target::Existing(id) => {
                        let g = grown.entry(id).or_insert(Grown {
                            id,
                            added: 0,
                            first_seen: s.first,
                            last_seen: s.last,
                        });
                        g.added += 1;
                        g.first_seen = s.first;
                        g.last_seen = s.last;
                    }
                    Target::New(n) => {
                        let ni = &mut plan.new[n];
                        ni.count += 1;
                        ni.first_seen = s.first;
                        ni.last_seen = s.last;
                    }
                }
                s.target
            }
            None => {
                let t = Target::New(plan.new.len());
                plan.new.push(NewIncident {
                    camera_id: a.camera_id,
                    type_id: a.type_id,
                    first_seen: a.at,
                    last_seen: a.at,
                    count: 1,
                });
                list.push(Span {
                    target: t,
                    first: a.at,
                    last: a.at,
                });
                t
            }
        };
        plan.targets[i] = target;
    }
    let mut g: Vec<Grown> = grown.into_values().collect();
    g.sort_by_key(|g| g.id);
    plan.grown = g;
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn inc(camera_id: i64, type_id: i64, at: i64) -> Incoming {
        Incoming {
            camera_id,
            type_id,
            at,
        }
    }

    #[test]
    fn repeats_within_the_window_fold_into_one_incident() {
        // A flapping detector: an alert every 2 minutes for 20 minutes, window 5 minutes.
        let batch: Vec<_> = (0..=10).map(|k| inc(1, 7, k * 2 * MIN)).collect();
        let p = fold(&[], &batch, 5 * MIN);
        assert_eq!(p.new.len(), 1);
        assert_eq!(
            p.new[0],
            NewIncident {
                camera_id: 1,
                type_id: 7,
                first_seen: 0,
                last_seen: 20 * MIN,
                count: 11
            }
        );
        assert!(p.targets.iter().all(|t| *t == Target::New(0)));
        assert!(p.grown.is_empty());
    }

    #[test]
    fn a_gap_longer_than_the_window_opens_a_new_incident() {
        let batch = [inc(1, 7, 0), inc(1, 7, 5 * MIN), inc(1, 7, 10 * MIN + 1)];
        let p = fold(&[], &batch, 5 * MIN);
        assert_eq!(p.new.len(), 2);
        assert_eq!(
            p.targets,
            vec![Target::New(0), Target::New(0), Target::New(1)]
        );
        assert_eq!((p.new[0].count, p.new[1].count), (2, 1));
        // Exactly at the window's edge still folds.
        assert_eq!(p.new[0].last_seen, 5 * MIN);
    }

    #[test]
    fn other_cameras_and_types_never_fold_together() {
        let batch = [inc(1, 7, 0), inc(2, 7, 0), inc(1, 8, 0), inc(1, 7, MIN)];
        let p = fold(&[], &batch, 5 * MIN);
        assert_eq!(p.new.len(), 3);
        assert_eq!(p.targets[0], p.targets[3]);
    }

    #[test]
    fn alerts_join_an_open_incident_from_an_earlier_batch() {
        let open = [Open {
            id: 40,
            camera_id: 1,
            type_id: 7,
            first_seen: 0,
            last_seen: 10 * MIN,
        }];
        let batch = [
            inc(1, 7, 12 * MIN),
            inc(1, 7, 14 * MIN),
            inc(1, 7, 30 * MIN),
        ];
        let p = fold(&open, &batch, 5 * MIN);
        assert_eq!(
            p.targets,
            vec![Target::Existing(40), Target::Existing(40), Target::New(0)]
        );
        assert_eq!(
            p.grown,
            vec![Grown {
                id: 40,
                added: 2,
                first_seen: 0,
                last_seen: 14 * MIN
            }]
        );
        assert_eq!(p.new[0].first_seen, 30 * MIN);
    }

    #[test]
    fn late_alerts_widen_the_span_backwards() {
        let open = [Open {
            id: 3,
            camera_id: 1,
            type_id: 7,
            first_seen: 20 * MIN,
            last_seen: 25 * MIN,
        }];
        let p = fold(&open, &[inc(1, 7, 16 * MIN)], 5 * MIN);
        assert_eq!(p.grown[0].first_seen, 16 * MIN);
        assert_eq!(p.grown[0].last_seen, 25 * MIN);
    }

    #[test]
    fn order_within_the_batch_does_not_matter() {
        let a = [
            inc(1, 7, 0),
            inc(1, 7, 4 * MIN),
            inc(1, 7, 8 * MIN),
            inc(1, 7, 20 * MIN),
        ];
        let b = [a[3], a[1], a[2], a[0]];
        let pa = fold(&[], &a, 5 * MIN);
        let pb = fold(&[], &b, 5 * MIN);
        assert_eq!(pa.new, pb.new);
        // Reordering the batch moves the targets with their alerts.
        assert_eq!(pb.targets[0], pa.targets[3]);
        assert_eq!(pb.targets[3], pa.targets[0]);
    }

    #[test]
    fn splitting_a_batch_folds_the_same_as_the_whole() {
        let all: Vec<_> = [0, 3, 6, 15, 17]
            .iter()
            .map(|m| inc(1, 7, m * MIN))
            .collect();
        let whole = fold(&[], &all, 5 * MIN);
        let first = fold(&[], &all[..2], 5 * MIN);
        assert_eq!(first.new.len(), 1);
        let open = [Open {
            id: 1,
            camera_id: 1,
            type_id: 7,
            first_seen: first.new[0].first_seen,
            last_seen: first.new[0].last_seen,
        }];
        let second = fold(&open, &all[2..], 5 * MIN);
        assert_eq!(whole.new.len(), 2);
        assert_eq!(
            second.grown[0].added + first.new[0].count,
            whole.new[0].count
        );
        assert_eq!(second.new.len(), 1);
        assert_eq!(second.new[0].count, whole.new[1].count);
    }

    #[test]
    fn triage_transitions() {
        use Step::*;
        use Triage::*;
        assert_eq!(next(New, Acknowledge, false), Some(Acknowledged));
        assert_eq!(next(Acknowledged, Acknowledge, false), None);
        assert_eq!(next(New, Dismiss, false), Some(Dismissed));
        assert_eq!(next(Acknowledged, Dismiss, false), Some(Dismissed));
        assert_eq!(next(Acknowledged, Escalate, false), Some(Escalated));
        assert_eq!(next(New, Escalate, false), Some(Escalated));
        assert_eq!(next(Escalated, Resolve, false), Some(Resolved));
        // Finished incidents take no further step; nothing is ever reopened by triage.
        for s in [Acknowledge, Dismiss, Escalate, Resolve] {
            assert_eq!(next(Dismissed, s, false), None);
            assert_eq!(next(Resolved, s, false), None);
        }
        assert_eq!(next(Escalated, Dismiss, false), None);
        assert_eq!(next(New, Resolve, false), None);
        // Camera health: no case, but the camera's return resolves it.
        assert_eq!(next(New, Escalate, true), None);
        assert_eq!(next(Acknowledged, Resolve, true), Some(Resolved));
        assert!(New.absorbs() && Escalated.absorbs() && !Dismissed.absorbs());
        for t in Triage::ALL {
            assert_eq!(Triage::from_code(t.code()), Some(t));
        }
    }
}
