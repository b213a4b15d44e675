//! The seven-stage case workflow of digital city management as a pure state machine:
//! report → file (or reject) → dispatch → accept (or return) → handle and report back →
//! verify on site → close (or send back for rework), with hold (缓办) beside it.
//! The server asks [`check`] before every step; nothing else decides what may happen.
use crate::domain::Role;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// 待立案: reported, waiting for the command centre.
    Reported,
    /// 不予立案: not filed. Final.
    Rejected,
    /// 待派遣: filed (or returned by a department), waiting for dispatch.
    Filed,
    /// 待受理: dispatched, waiting for the department to accept.
    Dispatched,
    /// 处置中: accepted (or sent back for rework), being handled.
    Handling,
    /// 待核查: handled and reported back, waiting for on-site verification.
    ReportedBack,
    /// 待结案: verified on site, waiting for the command centre to close or send back.
    Verified,
    /// 已结案: closed. Final.
    Closed,
}

impl State {
    pub const ALL: [State; 8] = [
        State::Reported,
        State::Rejected,
        State::Filed,
        State::Dispatched,
        State::Handling,
        State::ReportedBack,
        State::Verified,
        State::Closed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            State::Reported => "reported",
            State::Rejected => "rejected",
            State::Filed => "filed",
            State::Dispatched => "dispatched",
            State::Handling => "handling",
            State::ReportedBack => "reported_back",
            State::Verified => "verified",
            State::Closed => "closed",
        }
    }

    pub fn from_code(code: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Still needs work from someone.
    pub fn is_open(self) -> bool {
        !matches!(self, State::Rejected | State::Closed)
    }

    /// Who holds the case now: the supervision centre, the command centre or the department.
    pub fn holder(self) -> Holder {
        match self {
            State::Reported | State::Filed | State::Verified => Holder::CommandCentre,
            State::Dispatched | State::Handling => Holder::Department,
            State::ReportedBack => Holder::SupervisionCentre,
            State::Rejected | State::Closed => Holder::Nobody,
        }
    }

    /// The handling deadline runs in these states.
    pub fn with_department(self) -> bool {
        matches!(self, State::Dispatched | State::Handling)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Holder {
    CommandCentre,
    SupervisionCentre,
    Department,
    Nobody,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// 立案
    File,
    /// 不予立案
    Reject,
    /// 派遣 to a department
    Dispatch,
    /// 受理
    Accept,
    /// 退单: wrongly dispatched, back to the command centre
    Return,
    /// 处置反馈
    ReportBack,
    /// 核查通过
    VerifyPass,
    /// 核查未通过
    VerifyFail,
    /// 结案
    Close,
    /// 返工
    Rework,
    /// 缓办
    Hold,
    /// 恢复办理
    Resume,
}

impl Action {
    pub const ALL: [Action; 12] = [
        Action::File,
        Action::Reject,
        Action::Dispatch,
        Action::Accept,
        Action::Return,
        Action::ReportBack,
        Action::VerifyPass,
        Action::VerifyFail,
        Action::Close,
        Action::Rework,
        Action::Hold,
        Action::Resume,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Action::File => "file",
            Action::Reject => "reject",
            Action::Dispatch => "dispatch",
            Action::Accept => "accept",
            Action::Return => "return",
            Action::ReportBack => "report_back",
            Action::VerifyPass => "verify_pass",
            Action::VerifyFail => "verify_fail",
            Action::Close => "close",
            Action::Rework => "rework",
            Action::Hold => "hold",
            Action::Resume => "resume",
        }
    }

    pub fn from_code(code: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.code() == code)
    }

    /// Steps that must say why (shown on the timeline).
    pub fn needs_note(self) -> bool {
        matches!(
            self,
            Action::Reject
                | Action::Return
                | Action::ReportBack
                | Action::VerifyFail
                | Action::Rework
                | Action::Hold
        )
    }

    /// Steps whose form takes photos: the handler's result and the inspector's check.
    pub fn takes_photos(self) -> bool {
        matches!(
            self,
            Action::ReportBack | Action::VerifyPass | Action::VerifyFail
        )
    }
}

/// The facts about the caller and the case a step depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ctx {
    pub role: Role,
    /// The caller works in the department the case is dispatched to.
    pub own_department: bool,
    pub on_hold: bool,
    /// The last on-site verification passed.
    pub verified_ok: bool,
}

/// Why a step is refused, shown to the user in their language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// This role never takes this step.
    Role,
    /// A department acts only on cases dispatched to it.
    Department,
    /// The case is not in a state where this step applies.
    State,
    /// The case is on hold: resume it first.
    OnHold,
    /// Only a case on hold can be resumed.
    NotOnHold,
    /// A case whose verification failed cannot be closed; send it back for rework.
    VerificationFailed,
    /// The month's assessment is published: it can no longer change.
    MonthPublished,
    /// A month is assessed once it is over.
    MonthNotOver,
    /// Appeals about the month are still pending: decide them first.
    AppealsPending,
}

/// The roles that take each step.
fn roles_for(action: Action) -> &'static [Role] {
    match action {
        Action::File
        | Action::Reject
        | Action::Dispatch
        | Action::Close
        | Action::Rework
        | Action::Hold
        | Action::Resume => &[Role::Dispatcher],
        Action::Accept | Action::Return | Action::ReportBack => &[Role::Handler, Role::DeptHead],
        Action::VerifyPass | Action::VerifyFail => &[Role::Inspector],
    }
}

/// Whether `action` may be taken on a case in `state`, and the state it leads to.
pub fn check(state: State, action: Action, ctx: Ctx) -> Result<State, Refusal> {
    if !roles_for(action).contains(&ctx.role) {
        return Err(Refusal::Role);
    }
    let department_step = matches!(action, Action::Accept | Action::Return | Action::ReportBack);
    if department_step && !ctx.own_department {
        return Err(Refusal::Department);
    }
    let next = match (action, state) {
        (Action::File, State::Reported) => State::Filed,
        (Action::Reject, State::Reported) => State::Rejected,
        (Action::Dispatch, State::Filed) => State::Dispatched,
        (Action::Accept, State::Dispatched) => State::Handling,
        (Action::Return, State::Dispatched) => State::Filed,
        (Action::ReportBack, State::Handling) => State::ReportedBack,
        (Action::VerifyPass | Action::VerifyFail, State::ReportedBack) => State::Verified,
        (Action::Close, State::Verified) => State::Closed,
        (Action::Rework, State::Verified) => State::Handling,
        (Action::Hold, s) if s.with_department() => s,
        (Action::Resume, s) if s.with_department() => s,
        _ => return Err(Refusal::State),
    };
    match action {
        Action::Resume if !ctx.on_hold => Err(Refusal::NotOnHold),
        Action::Resume => Ok(next),
        _ if ctx.on_hold => Err(Refusal::OnHold),
        Action::Close if !ctx.verified_ok => Err(Refusal::VerificationFailed),
        _ => Ok(next),
    }
}

/// The steps the caller may take now, in the order a form shows them.
pub fn available(state: State, ctx: Ctx) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|a| check(state, *a, ctx).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(role: Role) -> Ctx {
        Ctx {
            role,
            own_department: true,
            on_hold: false,
            verified_ok: true,
        }
    }

    /// The complete table of allowed steps for a caller in their own department, no hold,
    /// verification passed: (state, action, role) → next state. Everything else is refused.
    const ALLOWED: &[(State, Action, Role, State)] = &[
        (
            State::Reported,
            Action::File,
            Role::Dispatcher,
            State::Filed,
        ),
        (
            State::Reported,
            Action::Reject,
            Role::Dispatcher,
            State::Rejected,
        ),
        (
            State::Filed,
            Action::Dispatch,
            Role::Dispatcher,
            State::Dispatched,
        ),
        (
            State::Dispatched,
            Action::Accept,
            Role::Handler,
            State::Handling,
        ),
        (
            State::Dispatched,
            Action::Accept,
            Role::DeptHead,
            State::Handling,
        ),
        (
            State::Dispatched,
            Action::Return,
            Role::Handler,
            State::Filed,
        ),
        (
            State::Dispatched,
            Action::Return,
            Role::DeptHead,
            State::Filed,
        ),
        (
            State::Handling,
            Action::ReportBack,
            Role::Handler,
            State::ReportedBack,
        ),
        (
            State::Handling,
            Action::ReportBack,
            Role::DeptHead,
            State::ReportedBack,
        ),
        (
            State::ReportedBack,
            Action::VerifyPass,
            Role::Inspector,
            State::Verified,
        ),
        (
            State::ReportedBack,
            Action::VerifyFail,
            Role::Inspector,
            State::Verified,
        ),
        (
            State::Verified,
            Action::Close,
            Role::Dispatcher,
            State::Closed,
        ),
        (
            State::Verified,
            Action::Rework,
            Role::Dispatcher,
            State::Handling,
        ),
        (
            State::Dispatched,
            Action::Hold,
            Role::Dispatcher,
            State::Dispatched,
        ),
        (
            State::Handling,
            Action::Hold,
            Role::Dispatcher,
            State::Handling,
        ),
    ];

    #[test]
    fn every_transition_for_every_role() {
        for state in State::ALL {
            for action in Action::ALL {
                for role in Role::ALL {
                    let got = check(state, action, ctx(role));
                    let want = ALLOWED
                        .iter()
                        .find(|(s, a, r, _)| *s == state && *a == action && *r == role)
                        .map(|t| t.3);
                    match want {
                        Some(next) => assert_eq!(got, Ok(next), "{state:?} {action:?} {role:?}"),
                        None => assert!(got.is_err(), "{state:?} {action:?} {role:?} allowed"),
                    }
                }
            }
        }
    }

    #[test]
    fn refusals_say_why() {
        // Wrong role comes first, whatever the state.
        assert_eq!(
            check(State::Reported, Action::File, ctx(Role::Handler)),
            Err(Refusal::Role)
        );
        assert_eq!(
            check(State::Closed, Action::File, ctx(Role::Admin)),
            Err(Refusal::Role)
        );
        // A handler of another department.
        let other = Ctx {
            own_department: false,
            ..ctx(Role::Handler)
        };
        assert_eq!(
            check(State::Dispatched, Action::Accept, other),
            Err(Refusal::Department)
        );
        assert_eq!(
            check(State::Handling, Action::ReportBack, other),
            Err(Refusal::Department)
        );
        // Right role, wrong state.
        assert_eq!(
            check(State::Closed, Action::Rework, ctx(Role::Dispatcher)),
            Err(Refusal::State)
        );
        assert_eq!(
            check(State::Reported, Action::Dispatch, ctx(Role::Dispatcher)),
            Err(Refusal::State)
        );
        // A failed verification cannot be closed, only sent back.
        let failed = Ctx {
            verified_ok: false,
            ..ctx(Role::Dispatcher)
        };
        assert_eq!(
            check(State::Verified, Action::Close, failed),
            Err(Refusal::VerificationFailed)
        );
        assert_eq!(
            check(State::Verified, Action::Rework, failed),
            Ok(State::Handling)
        );
    }

    #[test]
    fn hold_stops_the_department_until_resumed() {
        let held = |role| Ctx {
            on_hold: true,
            ..ctx(role)
        };
        assert_eq!(
            check(State::Handling, Action::ReportBack, held(Role::Handler)),
            Err(Refusal::OnHold)
        );
        assert_eq!(
            check(State::Dispatched, Action::Accept, held(Role::Handler)),
            Err(Refusal::OnHold)
        );
        assert_eq!(
            check(State::Handling, Action::Hold, held(Role::Dispatcher)),
            Err(Refusal::OnHold)
        );
        assert_eq!(
            check(State::Handling, Action::Resume, held(Role::Dispatcher)),
            Ok(State::Handling)
        );
        assert_eq!(
            check(State::Handling, Action::Resume, ctx(Role::Dispatcher)),
            Err(Refusal::NotOnHold)
        );
        assert_eq!(
            check(State::Filed, Action::Hold, ctx(Role::Dispatcher)),
            Err(Refusal::State)
        );
        assert_eq!(
            available(State::Handling, held(Role::Dispatcher)),
            vec![Action::Resume]
        );
    }

    #[test]
    fn codes_round_trip_and_holders() {
        for s in State::ALL {
            assert_eq!(State::from_code(s.code()), Some(s));
        }
        for a in Action::ALL {
            assert_eq!(Action::from_code(a.code()), Some(a));
        }
        assert_eq!(State::from_code("open"), None);
        assert_eq!(State::ReportedBack.holder(), Holder::SupervisionCentre);
        assert_eq!(State::Handling.holder(), Holder::Department);
        assert_eq!(State::Filed.holder(), Holder::CommandCentre);
        assert!(!State::Closed.is_open() && !State::Rejected.is_open());
        assert_eq!(
            available(State::Verified, ctx(Role::Dispatcher)),
            vec![Action::Close, Action::Rework]
        );
    }
}
