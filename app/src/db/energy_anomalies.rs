//! Energy anomalies: found by comparing each entity's hourly rollup with its own hour-of-week
//! history (`domain::energy_rules::detect`), kept in `energy_anomalies` (one row per entity,
//! type, kind and hour, so a detection run repeated finds nothing new), then read and
//! decided by the energy office.
use super::{fmt_local, Store};
use crate::domain::energy::{EnergyType, DAY_MS, HOUR_MS};
use crate::domain::energy_rules::{detect, Thresholds};
use crate::error::AppError;
use crate::model::{AnomalyRow, CurrentUser};

/// History read for a verdict: four earlier weeks and the days examined.
const HISTORY_MS: i64 = 35 * DAY_MS;

/// The smallest excess (in the type's unit per hour) worth reporting.
fn floor(t: EnergyType) -> f64 {
    match t {
        EnergyType::Electricity => 5.0,
        EnergyType::Heat => 0.05,
        EnergyType::Water => 0.5,
        EnergyType::Gas => 0.5,
    }
}

/// Runs detection over hours from `since` for the entities whose meters sent readings since
/// `changed_since` (every entity with data when None); returns how many anomalies are new.
pub async fn run(
    store: &Store,
    since: i64,
    changed_since: Option<i64>,
    now: i64,
) -> sqlx::Result<usize> {
    let pairs: Vec<(i64, String)> = sqlx::query_as(
        "SELECT DISTINCT m.entity_id, m.energy_type FROM meters m \
         WHERE m.parent_id IS NULL AND m.last_received_at IS NOT NULL AND ($1 = 0 OR m.last_received_at >= $1)",
    )
    .bind(changed_since.unwrap_or(0))
    .fetch_all(store.pool())
    .await?;
    let mut found = 0;
    for (entity, ty) in pairs {
        let Some(t) = EnergyType::from_code(&ty) else {
            continue;
        };
        // Readings end at most 5 minutes after they are received (`check_reading`).
        let sql = format!(
            "SELECT hour, value FROM energy_entity_hour WHERE {} AND entity_id = $1 AND energy_type = $2 \
             AND hour >= $3 ORDER BY hour",
            super::energy::key_days("hour", since - HISTORY_MS, now + DAY_MS)
        );
        let hours: Vec<(i64, f64)> = sqlx::query_as(&sql)
            .bind(entity)
            .bind(ty.as_str())
            .bind(since - HISTORY_MS)
            .fetch_all(store.pool())
            .await?;
        let th = Thresholds {
            floor: floor(t),
            ..Thresholds::default()
        };
        // An hour that usually draws next to nothing (street lights by day, heat before the
        // season) has no load to depart from: lights coming on at a shifting dusk or the
        // heating season starting are not anomalies.
        let list: Vec<_> = detect(&hours, since, &th)
            .into_iter()
            .filter(|a| a.expected >= floor(t))
            .collect();
        if list.is_empty() {
            continue;
        }
        let mut tx = store.begin().await?;
        for a in list {
            let n = sqlx::query(
                "INSERT INTO energy_anomalies (entity_id, energy_type, kind, hour, observed, expected, state, detected_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'open', $7) ON CONFLICT (entity_id, energy_type, kind, hour) DO NOTHING",
            )
            .bind(entity)
            .bind(ty.as_str())
            .bind(a.kind.code())
            .bind(a.hour)
            .bind(a.observed)
            .bind(a.expected)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            found += n as usize;
        }
        tx.commit().await?;
    }
    Ok(found)
}

type Row = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    f64,
    f64,
    String,
    Option<i64>,
    i64,
);

fn row(r: Row) -> AnomalyRow {
    AnomalyRow {
        id: r.0,
        entity_id: r.1,
        entity_code: r.2,
        entity_zh: r.3,
        entity_en: r.4,
        energy_type: r.5.clone(),
        unit: EnergyType::from_code(&r.5)
            .map_or("", EnergyType::unit)
            .to_string(),
        kind: r.6,
        hour: fmt_local(r.7),
        hour_ms: r.7,
        observed: r.8,
        expected: r.9,
        state: r.10,
        case_id: r.11,
        detected_at: fmt_local(r.12),
    }
}

const COLS: &str =
    "a.id, a.entity_id, e.code, e.name_zh, e.name_en, a.energy_type, a.kind, a.hour, a.observed, \
                    a.expected, a.state, a.case_id, a.detected_at";

/// Anomalies in `state` (all when empty) the caller may read, newest first.
pub async fn list(
    store: &Store,
    u: &CurrentUser,
    state: &str,
) -> Result<Vec<AnomalyRow>, AppError> {
    let scope = super::energy::scope(store, u, "anomaly list").await?;
    let sql = format!(
        "SELECT {COLS} FROM energy_anomalies a JOIN energy_entities e ON e.id = a.entity_id \
         WHERE ($1 = '' OR a.state = $1) AND ($2 = 0 OR e.department_id = $2) ORDER BY a.hour DESC, a.id DESC LIMIT 200"
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(state)
        .bind(scope.unwrap_or(0))
        .fetch_all(store.pool())
        .await?;
    Ok(rows.into_iter().map(row).collect())
}

/// One anomaly with the entity's hours around it (three days before to a day after) and the
/// same hours of the four weeks before, averaged: the evidence.
pub async fn get(
    store: &Store,
    u: &CurrentUser,
    id: i64,
) -> Result<(AnomalyRow, Vec<(i64, Option<f64>, Option<f64>)>), AppError> {
    let scope = super::energy::scope(store, u, &format!("anomaly {id}")).await?;
    let sql = format!(
        "SELECT {COLS} FROM energy_anomalies a JOIN energy_entities e ON e.id = a.entity_id \
         WHERE a.id = $1 AND ($2 = 0 OR e.department_id = $2)"
    );
    let r: Option<Row> = sqlx::query_as(&sql)
        .bind(id)
        .bind(scope.unwrap_or(0))
        .fetch_optional(store.pool())
        .await?;
    let a = row(r.ok_or(AppError::NotFound)?);
    let from = a.hour_ms - 3 * DAY_MS;
    let to = a.hour_ms + DAY_MS;
    let sql = format!(
        "SELECT hour, value FROM energy_entity_hour WHERE {} AND entity_id = $1 AND energy_type = $2 \
         AND hour >= $3 AND hour < $4",
        super::energy::key_days("hour", from - 28 * DAY_MS, to)
    );
    let hours: std::collections::HashMap<i64, f64> = sqlx::query_as::<_, (i64, f64)>(&sql)
        .bind(a.entity_id)
        .bind(&a.energy_type)
        .bind(from - 28 * DAY_MS)
        .bind(to)
        .fetch_all(store.pool())
        .await?
        .into_iter()
        .collect();
    let series = (0..(to - from) / HOUR_MS)
        .map(|i| {
            let h = from + i * HOUR_MS;
            let past: Vec<f64> = (1..=4)
                .filter_map(|k| hours.get(&(h - k * 7 * DAY_MS)).copied())
                .collect();
            let usual = (!past.is_empty()).then(|| past.iter().sum::<f64>() / past.len() as f64);
            (h, hours.get(&h).copied(), usual)
        })
        .collect();
    Ok((a, series))
}

/// Dismisses an open anomaly (analysts of the energy office).
pub async fn dismiss(store: &Store, u: &CurrentUser, id: i64) -> Result<(), AppError> {
    if !super::energy::may_edit(store, u).await? {
        return Err(AppError::Forbidden);
    }
    let now = super::now_ms();
    let mut tx = store.begin().await?;
    let n = sqlx::query(
        "UPDATE energy_anomalies SET state = 'dismissed', decided_by = $1, decided_at = $2 WHERE id = $3 AND state = 'open'",
    )
    .bind(u.id)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(AppError::Conflict);
    }
    super::audit::record(
        &mut tx,
        &crate::auth::actor(u),
        super::audit::Event {
            action: "energy_anomaly.dismiss",
            target_type: "energy_anomaly",
            target_id: Some(id.to_string()),
            outcome: super::audit::OK,
            detail: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The catalogue class suggested for a case opened from an anomaly (event 0607, "abnormal
/// energy use", seeded by `catalogue_seed` and migration 0007).
pub const CASE_CLASS: (&str, &str) = ("event", "0607");

/// What the page needs to open a case from an anomaly, or to follow the one opened.
pub struct CaseContext {
    /// The entity's maintaining department, where the case is routed: (id, zh, en).
    pub department: (i64, String, String),
    /// The entity's grid (code); None when it lies outside the unit grids.
    pub grid_code: Option<String>,
    /// The suggested class's id, when the catalogue has it and it is active.
    pub suggested_class: Option<i64>,
    /// The case opened: (code, state).
    pub case: Option<(String, String)>,
}

pub async fn case_context(store: &Store, a: &AnomalyRow) -> sqlx::Result<CaseContext> {
    let (dept, zh, en, grid): (i64, String, String, Option<String>) = sqlx::query_as(
        "SELECT d.id, d.name_zh, d.name_en, g.code FROM energy_entities e JOIN departments d ON d.id = e.department_id \
         LEFT JOIN grids g ON g.id = e.grid_id WHERE e.id = $1",
    )
    .bind(a.entity_id)
    .fetch_one(store.pool())
    .await?;
    let suggested_class = sqlx::query_scalar(
        "SELECT id FROM case_classes WHERE kind = $1 AND code = $2 AND active = TRUE",
    )
    .bind(CASE_CLASS.0)
    .bind(CASE_CLASS.1)
    .fetch_optional(store.pool())
    .await?;
    let case = match a.case_id {
        Some(c) => {
            sqlx::query_as("SELECT code, state FROM cases WHERE id = $1")
                .bind(c)
                .fetch_optional(store.pool())
                .await?
        }
        None => None,
    };
    Ok(CaseContext {
        department: (dept, zh, en),
        grid_code: grid,
        suggested_class,
        case,
    })
}

/// The anomaly a case was opened from.
pub async fn anomaly_of_case(store: &Store, case_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM energy_anomalies WHERE case_id = $1 ORDER BY id LIMIT 1")
        .bind(case_id)
        .fetch_optional(store.pool())
        .await
}

/// Opens a case from an open anomaly (analysts of the energy office): class `class_id` from
/// the catalogue, placed at the centre of the entity's grid, with a description of the
/// evidence unless one is given, source `energy`, routed to the entity's maintaining
/// department (the dispatcher finds it preselected). The case enters the dispatcher's queue
/// like any report; the anomaly becomes `case_opened` and points at it, in one transaction.
/// Returns the case's id and code.
pub async fn open_case(
    store: &Store,
    u: &CurrentUser,
    id: i64,
    class_id: Option<i64>,
    description: &str,
) -> Result<(i64, String), AppError> {
    use crate::error::FieldErrorKind as K;
    let actor = crate::auth::actor(u);
    if !super::energy::may_edit(store, u).await? {
        super::audit::record_alone(
            store,
            &actor,
            super::audit::Event {
                action: "energy_anomaly.open_case",
                target_type: "energy_anomaly",
                target_id: Some(id.to_string()),
                outcome: super::audit::DENIED,
                detail: "not an analyst of the energy office".into(),
            },
        )
        .await?;
        return Err(AppError::Forbidden);
    }
    let description = description.trim();
    if description.chars().count() > 2000 {
        return Err(AppError::field("description", K::TooLong));
    }
    let Some(class_id) = class_id else {
        return Err(AppError::field("class_id", K::UnknownClass));
    };
    let mut tx = store.begin().await?;
    #[derive(sqlx::FromRow)]
    struct Info {
        state: String,
        entity_id: i64,
        energy_type: String,
        kind: String,
        hour: i64,
        observed: f64,
        expected: f64,
        code: String,
        name_zh: String,
        name_en: String,
        department_id: i64,
        min_lon: Option<f64>,
        min_lat: Option<f64>,
        max_lon: Option<f64>,
        max_lat: Option<f64>,
    }
    let info: Info = sqlx::query_as(
        "SELECT a.state, a.entity_id, a.energy_type, a.kind, a.hour, a.observed, a.expected, e.code, e.name_zh, \
         e.name_en, e.department_id, g.min_lon, g.min_lat, g.max_lon, g.max_lat \
         FROM energy_anomalies a JOIN energy_entities e ON e.id = a.entity_id LEFT JOIN grids g ON g.id = e.grid_id \
         WHERE a.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    if info.state != "open" {
        return Err(AppError::Conflict);
    }
    let (Some(x0), Some(y0), Some(x1), Some(y1)) =
        (info.min_lon, info.min_lat, info.max_lon, info.max_lat)
    else {
        return Err(AppError::field("class_id", K::EntityOutsideGrids));
    };
    let t = EnergyType::from_code(&info.energy_type);
    let unit = t.map_or("", EnergyType::unit);
    // The case's text is read by both languages' staff: names in both.
    let type_name = match t {
        Some(EnergyType::Electricity) => "电 / electricity",
        Some(EnergyType::Heat) => "热 / heat",
        Some(EnergyType::Water) => "水 / water",
        Some(EnergyType::Gas) => "燃气 / gas",
        None => info.energy_type.as_str(),
    };
    let description = if description.is_empty() {
        let (kzh, ken) = if info.kind == "night_base" {
            ("夜间基础负荷偏高", "raised night base load")
        } else {
            ("用能突增", "spike")
        };
        format!(
            "[能耗异常 Energy anomaly #{id}] {} {} / {} · {} · {kzh} / {ken} · {} · {:.1} {unit} / {:.1} {unit} (×{:.1})",
            info.code,
            info.name_zh,
            info.name_en,
            type_name,
            fmt_local(info.hour),
            info.observed,
            info.expected,
            if info.expected > 0.0 {
                info.observed / info.expected
            } else {
                0.0
            },
        )
    } else {
        description.to_string()
    };
    let report = super::cases::NewReport {
        class_id,
        lon: (x0 + x1) / 2.0,
        lat: (y0 + y1) / 2.0,
        address: format!("{} {}", info.code, info.name_zh),
        description,
        source: "energy",
        route_department_id: Some(info.department_id),
    };
    let (case_id, code) =
        super::cases::report_in(&mut tx, u.into(), &actor, &report, Vec::new(), None).await?;
    let n = sqlx::query(
        "UPDATE energy_anomalies SET state = 'case_opened', case_id = $1, decided_by = $2, decided_at = $3 \
         WHERE id = $4 AND state = 'open'",
    )
    .bind(case_id)
    .bind(u.id)
    .bind(super::now_ms())
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(AppError::Conflict);
    }
    super::audit::record(
        &mut tx,
        &actor,
        super::audit::Event {
            action: "energy_anomaly.open_case",
            target_type: "energy_anomaly",
            target_id: Some(id.to_string()),
            outcome: super::audit::OK,
            detail: format!(
                "case={code} entity={} department={}",
                info.entity_id, info.department_id
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((case_id, code))
}
