//! Demo cases: thousands of cases over the last 90 days, simulated step by step through the
//! workflow with the real calendar and catalogue, so that timelines, assignments and the
//! evaluation agree. Deterministic (fixed seed) apart from "now".
use super::{calendar, catalogue, Store, Tx};
use crate::domain::calendar::{local_from_ms, ms_from_local, Calendar, LimitUnit};
use crate::domain::evaluation::{from_timeline, TimelineAction, TimelineEvent};
use crate::domain::workflow::{Action, State};
use crate::model::CaseClass;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// Taiyuan roads for demo addresses (also used by the benchmark's synthetic cases).
pub const ROADS: &[&str] = &[
    "长风街",
    "南内环街",
    "并州路",
    "迎泽大街",
    "府西街",
    "滨河东路",
    "解放路",
    "建设路",
    "体育路",
    "平阳路",
    "学府街",
    "龙城大街",
    "千峰路",
    "和平路",
    "晋祠路",
    "胜利街",
    "新建路",
    "五一路",
    "柳巷",
    "桥东街",
    "漪汾街",
    "长治路",
    "坞城路",
    "北大街",
];
const NAMES: &[&str] = &[
    "刘洋", "陈静", "杨帆", "黄磊", "周敏", "吴昊", "徐丽", "马超", "朱琳", "胡军", "郭婷", "何斌",
];

struct Actor {
    user_id: Option<i64>,
    name: String,
    dept: i64,
}

/// One simulated timeline entry.
struct Ev {
    at: i64,
    action: &'static str,
    from: Option<State>,
    to: State,
    actor: usize,
    dept: Option<i64>,
    deadline: Option<i64>,
    note: String,
}

struct Sim<'a> {
    rng: StdRng,
    now: i64,
    cal: &'a Calendar,
    actors: Vec<Actor>,
    /// department id → actor index of its handler
    handlers: HashMap<i64, usize>,
}

impl Sim<'_> {
    fn handler(&mut self, dept: i64) -> usize {
        if let Some(i) = self.handlers.get(&dept) {
            return *i;
        }
        let name = NAMES[self.handlers.len() % NAMES.len()].to_string();
        self.actors.push(Actor {
            user_id: None,
            name,
            dept,
        });
        let i = self.actors.len() - 1;
        self.handlers.insert(dept, i);
        i
    }
}

pub struct Summary {
    pub cases: usize,
    pub events: usize,
}

/// Writes `n` demo cases (does nothing when cases exist).
pub async fn seed(store: &Store, n: usize, now: i64) -> Result<Summary, crate::error::AppError> {
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases")
        .fetch_one(store.pool())
        .await?;
    if existing > 0 || n == 0 {
        return Ok(Summary {
            cases: 0,
            events: 0,
        });
    }
    let classes: Vec<CaseClass> = catalogue::list(store)
        .await?
        .into_iter()
        .filter(|c| c.active)
        .collect();
    let grids: Vec<(i64, String, f64, f64)> =
        sqlx::query_as("SELECT id, district_code, min_lon, min_lat FROM grids ORDER BY id")
            .fetch_all(store.pool())
            .await?;
    let users: Vec<(i64, String, String, i64)> =
        sqlx::query_as("SELECT id, username, display_name, department_id FROM users")
            .fetch_all(store.pool())
            .await?;
    let user = |name: &str| users.iter().find(|u| u.1 == name);
    let (Some(dispatcher), Some(inspector)) = (user("dispatcher"), user("inspector")) else {
        return Ok(Summary {
            cases: 0,
            events: 0,
        });
    };
    if classes.is_empty() || grids.is_empty() {
        return Ok(Summary {
            cases: 0,
            events: 0,
        });
    }
    let mut tx = store.begin().await?;
    let (cal, filing_minutes) = calendar::load(&mut tx).await?;
    let mut sim = Sim {
        rng: StdRng::seed_from_u64(20261124),
        now,
        cal: &cal,
        actors: vec![
            Actor {
                user_id: Some(dispatcher.0),
                name: dispatcher.2.clone(),
                dept: dispatcher.3,
            },
            Actor {
                user_id: Some(inspector.0),
                name: inspector.2.clone(),
                dept: inspector.3,
            },
        ],
        handlers: HashMap::new(),
    };
    for u in &users {
        if u.1 == "water" || u.1 == "landscape" {
            sim.actors.push(Actor {
                user_id: Some(u.0),
                name: u.2.clone(),
                dept: u.3,
            });
            let i = sim.actors.len() - 1;
            sim.handlers.insert(u.3, i);
        }
    }
    let handler_depts: Vec<i64> = {
        let mut v: Vec<i64> = classes.iter().map(|c| c.department_id).collect();
        v.sort();
        v.dedup();
        v
    };
    let mut case_rows = Vec::with_capacity(n);
    let mut all_events: Vec<(i64, Ev)> = Vec::with_capacity(n * 8);
    let mut all_assignments = Vec::with_capacity(n + n / 10);
    for i in 0..n {
        let id = i as i64 + 1;
        // Reports come in daytime mostly, over the last 90 days, a little more recently.
        let age_days = (sim.rng.random::<f64>().powf(1.3) * 90.0) as i64;
        let day_start = ms_from_local(
            local_from_ms(now - age_days * DAY)
                .date()
                .and_hms_opt(0, 0, 0)
                .expect("midnight"),
        );
        let mut reported_at = day_start + sim.rng.random_range(7 * HOUR..21 * HOUR);
        if reported_at > now - 5 * MIN {
            // Today, later than now: earlier today (or last night) instead.
            reported_at = now - sim.rng.random_range(5 * MIN..10 * HOUR);
        }
        let class = &classes[pick_class(&mut sim.rng, classes.len())];
        let grid = &grids[sim.rng.random_range(0..grids.len())];
        let lon = grid.2 + sim.rng.random_range(0.0005..0.0095);
        let lat = grid.3 + sim.rng.random_range(0.0005..0.0095);
        let road = ROADS[sim.rng.random_range(0..ROADS.len())];
        let address = format!("{road}{}号附近", sim.rng.random_range(1..400));
        let description = format!("{address}发现{}，{}", class.name_zh, class.filing_zh);
        let (events, row) = simulate(
            &mut sim,
            id,
            reported_at,
            class,
            filing_minutes,
            &handler_depts,
        );
        let timeline: Vec<TimelineEvent> = events
            .iter()
            .filter_map(|e| to_timeline(e, &sim.actors))
            .collect();
        let (assignments, _) = from_timeline(&timeline);
        for a in assignments {
            all_assignments.push((id, a));
        }
        case_rows.push(CaseSeed {
            id,
            code: super::cases::case_code(reported_at, id),
            class_id: class.id,
            grid_id: grid.0,
            district_code: grid.1.clone(),
            lon,
            lat,
            address,
            description,
            reporter: sim.actors[1].user_id,
            reported_at,
            row,
        });
        for e in events {
            all_events.push((id, e));
        }
    }
    insert_cases(&mut tx, &case_rows).await?;
    insert_events(&mut tx, &all_events, &sim.actors).await?;
    insert_assignments(&mut tx, &all_assignments).await?;
    if store.kind == super::DbKind::Postgres {
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT MAX(id) FROM cases))",
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Summary {
        cases: n,
        events: all_events.len(),
    })
}

/// Everyday classes (garbage, parking, covers) come up far more often than rare ones.
fn pick_class(rng: &mut StdRng, n: usize) -> usize {
    if rng.random::<f64>() < 0.5 {
        // A handful of frequent classes spread over the catalogue.
        [3, 7, 11, 44, 45, 47, 64, 70, 75, 80][rng.random_range(0..10)] % n
    } else {
        rng.random_range(0..n)
    }
}

/// The final state of a simulated case.
struct Final {
    state: State,
    on_hold: bool,
    verified_ok: bool,
    department_id: Option<i64>,
    filing_deadline: i64,
    filed_at: Option<i64>,
    filed_department_id: Option<i64>,
    deadline_at: Option<i64>,
    hold_remaining_min: Option<i64>,
    closed_at: Option<i64>,
    rework_count: i64,
    updated_at: i64,
    version: i64,
}

struct CaseSeed {
    id: i64,
    code: String,
    class_id: i64,
    grid_id: i64,
    district_code: String,
    lon: f64,
    lat: f64,
    address: String,
    description: String,
    reporter: Option<i64>,
    reported_at: i64,
    row: Final,
}

fn simulate(
    sim: &mut Sim,
    _id: i64,
    reported_at: i64,
    class: &CaseClass,
    filing_minutes: i64,
    depts: &[i64],
) -> (Vec<Ev>, Final) {
    let unit = LimitUnit::from_code(&class.limit_unit).unwrap_or(LimitUnit::WorkDays);
    let filing_deadline = ms_from_local(
        sim.cal
            .add_work_minutes(local_from_ms(reported_at), filing_minutes),
    );
    let mut f = Final {
        state: State::Reported,
        on_hold: false,
        verified_ok: false,
        department_id: None,
        filing_deadline,
        filed_at: None,
        filed_department_id: None,
        deadline_at: None,
        hold_remaining_min: None,
        closed_at: None,
        rework_count: 0,
        updated_at: reported_at,
        version: 1,
    };
    let mut ev = vec![Ev {
        at: reported_at,
        action: "report",
        from: None,
        to: State::Reported,
        actor: 1,
        dept: None,
        deadline: Some(filing_deadline),
        note: String::new(),
    }];
    let now = sim.now;
    let mut t = reported_at;
    // One step: advance the clock, stop when it passes now.
    macro_rules! step {
        ($delay:expr, $action:expr, $to:expr, $actor:expr, $dept:expr, $deadline:expr, $note:expr) => {{
            t += $delay;
            if t > now {
                return (ev, f);
            }
            ev.push(Ev {
                at: t,
                action: $action,
                from: Some(f.state),
                to: $to,
                actor: $actor,
                dept: $dept,
                deadline: $deadline,
                note: $note,
            });
            f.state = $to;
            f.updated_at = t;
            f.version += 1;
        }};
    }
    let file_delay = if sim.rng.random::<f64>() < 0.88 {
        sim.rng.random_range(5 * MIN..90 * MIN)
    } else {
        sim.rng.random_range(4 * HOUR..30 * HOUR)
    };
    if sim.rng.random::<f64>() < 0.04 {
        step!(
            file_delay,
            "reject",
            State::Rejected,
            0,
            None,
            None,
            "不属于受理范围，已告知上报人".to_string()
        );
        f.closed_at = Some(t);
        return (ev, f);
    }
    step!(
        file_delay,
        "file",
        State::Filed,
        0,
        None,
        None,
        String::new()
    );
    f.filed_at = Some(t);
    f.filed_department_id = Some(sim.actors[0].dept);
    let right = class.department_id;
    let wrong = if sim.rng.random::<f64>() < 0.06 && depts.len() > 1 {
        let mut d = depts[sim.rng.random_range(0..depts.len())];
        if d == right {
            d = depts[(depts.iter().position(|x| *x == d).unwrap_or(0) + 1) % depts.len()];
        }
        Some(d)
    } else {
        None
    };
    let mut dispatch_to = wrong.unwrap_or(right);
    loop {
        let delay = sim.rng.random_range(5 * MIN..60 * MIN);
        let deadline = ms_from_local(sim.cal.deadline(
            local_from_ms(t + delay),
            class.limit_amount,
            unit,
        ));
        step!(
            delay,
            "dispatch",
            State::Dispatched,
            0,
            Some(dispatch_to),
            Some(deadline),
            String::new()
        );
        f.department_id = Some(dispatch_to);
        f.deadline_at = Some(deadline);
        if Some(dispatch_to) == wrong {
            let h = sim.handler(dispatch_to);
            step!(
                sim.rng.random_range(HOUR..5 * HOUR),
                "return",
                State::Filed,
                h,
                None,
                None,
                "不属于本部门职责，申请改派".to_string()
            );
            f.department_id = None;
            f.deadline_at = None;
            dispatch_to = right;
            continue;
        }
        break;
    }
    let h = sim.handler(dispatch_to);
    step!(
        sim.rng.random_range(10 * MIN..120 * MIN),
        "accept",
        State::Handling,
        h,
        None,
        None,
        String::new()
    );
    let dispatched = ev
        .iter()
        .rev()
        .find(|e| e.action == "dispatch")
        .map(|e| e.at)
        .unwrap_or(t);
    // Hold (缓办) now and then: the clock stops, and the deadline moves on resume.
    if sim.rng.random::<f64>() < 0.03 {
        let deadline = f.deadline_at.unwrap_or(t);
        step!(
            sim.rng.random_range(HOUR..6 * HOUR),
            "hold",
            State::Handling,
            0,
            None,
            None,
            "需协调产权单位，申请缓办".to_string()
        );
        f.on_hold = true;
        let left = sim
            .cal
            .remaining_minutes(local_from_ms(t), local_from_ms(deadline), unit);
        f.hold_remaining_min = Some(left);
        let delay = sim.rng.random_range(DAY..4 * DAY);
        let new_deadline =
            ms_from_local(sim.cal.deadline_after(local_from_ms(t + delay), left, unit));
        step!(
            delay,
            "resume",
            State::Handling,
            0,
            None,
            Some(new_deadline),
            String::new()
        );
        f.on_hold = false;
        f.hold_remaining_min = None;
        f.deadline_at = Some(new_deadline);
    }
    let deadline = f.deadline_at.unwrap_or(t);
    let span = (deadline - dispatched).max(HOUR);
    let frac = if sim.rng.random::<f64>() < 0.78 {
        sim.rng.random_range(0.1..0.95)
    } else {
        sim.rng.random_range(1.05..2.5)
    };
    let handle_at = (dispatched as f64 + span as f64 * frac) as i64;
    step!(
        (handle_at - t).max(10 * MIN),
        "report_back",
        State::ReportedBack,
        h,
        None,
        None,
        "已按要求处置完毕，现场已恢复".to_string()
    );
    let mut reworked = false;
    loop {
        let pass = reworked || sim.rng.random::<f64>() > 0.09;
        let delay = sim.rng.random_range(HOUR..10 * HOUR);
        if pass {
            step!(
                delay,
                "verify_pass",
                State::Verified,
                1,
                None,
                None,
                String::new()
            );
            f.verified_ok = true;
            step!(
                sim.rng.random_range(10 * MIN..90 * MIN),
                "close",
                State::Closed,
                0,
                None,
                None,
                String::new()
            );
            f.closed_at = Some(t);
            return (ev, f);
        }
        step!(
            delay,
            "verify_fail",
            State::Verified,
            1,
            None,
            None,
            "现场核查未处置到位".to_string()
        );
        f.verified_ok = false;
        step!(
            sim.rng.random_range(10 * MIN..60 * MIN),
            "rework",
            State::Handling,
            0,
            None,
            None,
            "核查未通过，退回返工".to_string()
        );
        f.rework_count += 1;
        reworked = true;
        step!(
            sim.rng.random_range(2 * HOUR..30 * HOUR),
            "report_back",
            State::ReportedBack,
            h,
            None,
            None,
            "返工完成".to_string()
        );
    }
}

fn to_timeline(e: &Ev, actors: &[Actor]) -> Option<TimelineEvent> {
    let action = match e.action {
        "report" => TimelineAction::Report {
            filing_deadline: e.deadline.unwrap_or(e.at),
        },
        "dispatch" => TimelineAction::Dispatch {
            department_id: e.dept?,
            deadline: e.deadline?,
        },
        "hold" => TimelineAction::Hold,
        "resume" => TimelineAction::Resume {
            deadline: e.deadline?,
        },
        code => TimelineAction::Step {
            action: Action::from_code(code)?,
            by_department: actors[e.actor].dept,
        },
    };
    Some(TimelineEvent { at: e.at, action })
}

async fn insert_cases(tx: &mut Tx, rows: &[CaseSeed]) -> sqlx::Result<()> {
    const COLS: usize = 25;
    for chunk in rows.chunks(200) {
        let q = super::values_sql(
            "INSERT INTO cases (id, code, source, class_id, grid_id, district_code, lon, lat, address, description, state, \
             on_hold, verified_ok, department_id, reporter_id, reported_at, filing_deadline, filed_at, filed_department_id, \
             deadline_at, hold_remaining_min, closed_at, rework_count, updated_at, version) VALUES ",
            chunk.len(),
            COLS,
        );
        let mut query = sqlx::query(&q);
        for c in chunk {
            let r = &c.row;
            query = query
                .bind(c.id)
                .bind(c.code.clone())
                .bind("inspector")
                .bind(c.class_id)
                .bind(c.grid_id)
                .bind(c.district_code.clone())
                .bind(c.lon)
                .bind(c.lat)
                .bind(c.address.clone())
                .bind(c.description.clone())
                .bind(r.state.code())
                .bind(r.on_hold)
                .bind(r.verified_ok)
                .bind(r.department_id)
                .bind(c.reporter)
                .bind(c.reported_at)
                .bind(r.filing_deadline)
                .bind(r.filed_at)
                .bind(r.filed_department_id)
                .bind(r.deadline_at)
                .bind(r.hold_remaining_min)
                .bind(r.closed_at)
                .bind(r.rework_count)
                .bind(r.updated_at)
                .bind(r.version);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn insert_events(tx: &mut Tx, rows: &[(i64, Ev)], actors: &[Actor]) -> sqlx::Result<()> {
    for chunk in rows.chunks(300) {
        let sql = super::values_sql(
            "INSERT INTO case_events (case_id, at, action, from_state, to_state, user_id, actor_name, \
             actor_department_id, department_id, deadline_at, note) VALUES ",
            chunk.len(),
            11,
        );
        let mut q = sqlx::query(&sql);
        for (case_id, e) in chunk {
            let a = &actors[e.actor];
            q = q
                .bind(*case_id)
                .bind(e.at)
                .bind(e.action)
                .bind(e.from.map(|s| s.code()))
                .bind(e.to.code())
                .bind(a.user_id)
                .bind(a.name.clone())
                .bind(a.dept)
                .bind(e.dept)
                .bind(e.deadline)
                .bind(e.note.clone());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn insert_assignments(
    tx: &mut Tx,
    rows: &[(i64, crate::domain::evaluation::Assignment)],
) -> sqlx::Result<()> {
    for chunk in rows.chunks(300) {
        let sql = super::values_sql(
            "INSERT INTO case_assignments (case_id, department_id, dispatched_at, deadline_at, accepted_at, returned_at, \
             first_handled_at, handled_at, closed_at, rework_count, on_hold) VALUES ",
            chunk.len(),
            11,
        );
        let mut q = sqlx::query(&sql);
        for (case_id, a) in chunk {
            q = q
                .bind(*case_id)
                .bind(a.department_id)
                .bind(a.dispatched_at)
                .bind(a.deadline_at)
                .bind(a.accepted_at)
                .bind(a.returned_at)
                .bind(a.first_handled_at)
                .bind(a.handled_at)
                .bind(a.closed_at)
                .bind(a.rework_count)
                .bind(a.on_hold);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}
