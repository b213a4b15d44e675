//! Sky Eye reference data (alert types, the owning department, grants) and demo data:
//! cameras over the urban grids and two weeks of alerts fed through the real ingest, then
//! triaged the way duty officers would, so statistics and false-positive rates have substance.
use super::demo_cases::ROADS;
use super::skyeye::{self, ApiKey, OWNER_SETTING};
use super::{ingest, now_ms, Store};
use crate::domain::skyeye::{DismissReason, Step};
use crate::error::AppError;
use crate::model::CurrentUser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// code, 中文, English, severity, event class the escalation opens, health type,
/// departments granted to read it besides the owner.
pub type TypeDef = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    bool,
    &'static [&'static str],
);

pub const TYPES: &[TypeDef] = &[
    (
        "illegal_parking",
        "机动车违停",
        "Illegal parking",
        "minor",
        Some("0504"),
        false,
        &["cmb", "transport"],
    ),
    (
        "street_vending",
        "占道经营",
        "Street vending",
        "minor",
        Some("0501"),
        false,
        &["cmb"],
    ),
    (
        "garbage_overflow",
        "垃圾满溢",
        "Garbage overflow",
        "minor",
        Some("0102"),
        false,
        &["cmb"],
    ),
    (
        "road_obstruction",
        "道路障碍物",
        "Road obstruction",
        "major",
        Some("0108"),
        false,
        &["cmb", "transport"],
    ),
    (
        "crowding",
        "人员聚集",
        "Crowding",
        "major",
        None,
        false,
        &[],
    ),
    (
        "smoke_fire",
        "烟火",
        "Smoke or fire",
        "critical",
        Some("0107"),
        false,
        &["cmb"],
    ),
    (
        "intrusion",
        "区域入侵",
        "Intrusion",
        "major",
        None,
        false,
        &[],
    ),
    (
        "camera_offline",
        "摄像机离线",
        "Camera offline",
        "major",
        None,
        true,
        &[],
    ),
    (
        "camera_tampered",
        "摄像机遮挡或移位",
        "Camera tampered",
        "critical",
        None,
        true,
        &[],
    ),
];

/// Writes the alert types, the owner setting and the grants when they are missing.
pub async fn reference(store: &Store) -> Result<(), AppError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alert_types")
        .fetch_one(store.pool())
        .await?;
    if n > 0 {
        return Ok(());
    }
    let now = now_ms();
    let mut tx = store.begin().await?;
    let mut ids = std::collections::HashMap::new();
    for code in ["psb", "cmb", "transport"] {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM departments WHERE code = $1")
            .bind(code)
            .fetch_optional(&mut *tx)
            .await?;
        let id = match (id, super::seed::DEPARTMENTS.iter().find(|d| d.0 == code)) {
            (Some(id), _) => id,
            (None, Some((c, zh, en))) => super::departments::insert(&mut tx, c, zh, en).await?,
            (None, None) => continue,
        };
        ids.insert(code, id);
    }
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, 'psb') ON CONFLICT (key) DO NOTHING",
    )
    .bind(OWNER_SETTING)
    .execute(&mut *tx)
    .await?;
    for (code, zh, en, severity, class, health, grants) in TYPES {
        let class_id: Option<i64> = match class {
            Some(c) => {
                sqlx::query_scalar("SELECT id FROM case_classes WHERE kind = 'event' AND code = $1")
                    .bind(*c)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO alert_types (code, name_zh, name_en, severity, class_id, health) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(*code)
        .bind(*zh)
        .bind(*en)
        .bind(*severity)
        .bind(class_id)
        .bind(*health)
        .fetch_one(&mut *tx)
        .await?;
        for g in *grants {
            if let Some(d) = ids.get(g) {
                sqlx::query(
                    "INSERT INTO alert_type_grants (type_id, department_id, granted_at) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(*d)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Source name of the demo video platform's key.
pub const DEMO_SOURCE: &str = "demo-vms";

#[derive(Debug, Default)]
pub struct Summary {
    pub cameras: usize,
    pub alerts: usize,
    pub incidents: i64,
    pub escalated: usize,
}

async fn user(store: &Store, username: &str) -> Result<Option<CurrentUser>, AppError> {
    let r: Option<(i64, String, String, i64, String, String)> = sqlx::query_as(
        "SELECT u.id, u.display_name, u.role, u.department_id, d.name_zh, d.name_en FROM users u \
         JOIN departments d ON d.id = u.department_id WHERE u.username = $1",
    )
    .bind(username)
    .fetch_optional(store.pool())
    .await?;
    Ok(r.and_then(
        |(id, display_name, role, department_id, department_zh, department_en)| {
            Some(CurrentUser {
                id,
                username: username.into(),
                display_name,
                role: crate::domain::Role::from_code(&role)?,
                department_id,
                department_zh,
                department_en,
            })
        },
    ))
}

/// Demo cameras (`cameras` of them, most owned by the public security bureau, some by the
/// transport and city management bureaus) and `days` days of alerts through the ingest.
pub async fn demo(store: &Store, cameras: usize, days: i64, now: i64) -> Result<Summary, AppError> {
    let mut rng = StdRng::seed_from_u64(20261124);
    let mut sum = Summary::default();
    let depts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT code, id FROM departments WHERE code IN ('psb', 'transport', 'cmb')",
    )
    .fetch_all(store.pool())
    .await?;
    let dept = |c: &str| depts.iter().find(|d| d.0 == c).map(|d| d.1);
    let (Some(psb), Some(transport), Some(cmb)) = (dept("psb"), dept("transport"), dept("cmb"))
    else {
        return Ok(sum);
    };
    let grids: Vec<(i64, String, String, f64, f64, f64, f64)> = sqlx::query_as(
        "SELECT id, district_code, street_zh, min_lon, min_lat, max_lon, max_lat FROM grids ORDER BY id",
    )
    .fetch_all(store.pool())
    .await?;
    if grids.is_empty() {
        return Ok(sum);
    }
    let mut tx = store.begin().await?;
    let mut cams: Vec<(i64, String, i64)> = Vec::new();
    for k in 0..cameras {
        let g = &grids[rng.random_range(0..grids.len())];
        let owner = match k % 12 {
            0 => transport,
            1 if k % 24 == 1 => cmb,
            _ => psb,
        };
        let code = format!("TY-SE-{:04}", k + 1);
        let road = ROADS[rng.random_range(0..ROADS.len())];
        let name = format!("{}{}{}号杆", g.2, road, 1 + k % 40);
        let lon = g.3 + (g.5 - g.3) * rng.random_range(0.2..0.8);
        let lat = g.4 + (g.6 - g.4) * rng.random_range(0.2..0.8);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cameras (code, name, lon, lat, grid_id, district_code, department_id, source, status, \
             status_since, last_heartbeat_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'online', $9, $10, $9) \
             RETURNING id",
        )
        .bind(&code)
        .bind(&name)
        .bind(lon)
        .bind(lat)
        .bind(g.0)
        .bind(&g.1)
        .bind(owner)
        .bind(DEMO_SOURCE)
        .bind(now - days * 86_400_000)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        cams.push((id, code, owner));
    }
    tx.commit().await?;
    sum.cameras = cams.len();
    // The demo video platform's key: its secret is thrown away (administrators make real ones).
    let actor = super::audit::Actor {
        username: Some("system".into()),
        ..Default::default()
    };
    let mut keys = std::collections::HashMap::new();
    for (d, name) in [
        (psb, "演示视频平台 demo VMS"),
        (transport, "交通视频 demo traffic VMS"),
        (cmb, "城管视频 demo city VMS"),
    ] {
        let k = skyeye::create_key(
            store,
            None,
            &actor,
            name,
            DEMO_SOURCE,
            d,
            &["alerts".into(), "heartbeats".into()],
        )
        .await?;
        keys.insert(
            d,
            ApiKey {
                id: k.id,
                name: name.into(),
                source: DEMO_SOURCE.into(),
                department_id: d,
                scopes: vec!["alerts".into(), "heartbeats".into()],
            },
        );
    }
    // Alerts: busy daytime parking and vending, evening vending, rare smoke; a few noisy
    // cameras whose analytics misfire often.
    let weights: [(&str, u32); 7] = [
        ("illegal_parking", 40),
        ("street_vending", 22),
        ("garbage_overflow", 14),
        ("road_obstruction", 8),
        ("crowding", 8),
        ("smoke_fire", 3),
        ("intrusion", 5),
    ];
    let total_w: u32 = weights.iter().map(|w| w.1).sum();
    // Days start at midnight in Shanghai, so the hours below are local hours.
    let start = super::local_day_start_ms(&super::fmt_local(now - days * 86_400_000)[..10])
        .unwrap_or(now - days * 86_400_000);
    // A few stylised snapshots per type, shared by the alerts that carry one.
    let snaps: Vec<Vec<String>> = (0..weights.len())
        .map(|k| {
            (0..3)
                .map(|v| {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD
                        .encode(super::demo_snapshot::png(k, v))
                })
                .collect()
        })
        .collect();
    let per_day = 2 * cams.len();
    let mut batch: Vec<(i64, serde_json::Value)> = Vec::new();
    let mut seq = 0usize;
    for day in 0..days {
        for _ in 0..per_day {
            // Hour of day shaped like street activity.
            let hour = loop {
                let h = rng.random_range(0..24);
                let p = match h {
                    0..=5 => 0.15,
                    6..=8 => 0.6,
                    9..=19 => 1.0,
                    _ => 0.5,
                };
                if rng.random_bool(p) {
                    break h;
                }
            };
            let at = start + day * 86_400_000 + hour * 3_600_000 + rng.random_range(0..3_600_000);
            if at > now - 60_000 {
                continue;
            }
            let mut pick = rng.random_range(0..total_w);
            let kind = weights
                .iter()
                .position(|w| {
                    if pick < w.1 {
                        true
                    } else {
                        pick -= w.1;
                        false
                    }
                })
                .unwrap_or(0);
            let ty = weights[kind].0;
            // Noisy cameras (every 9th) raise more alerts.
            let noisy = rng.random_bool(0.25);
            let c = if noisy {
                &cams[(rng.random_range(0..cams.len() / 9 + 1) * 9).min(cams.len() - 1)]
            } else {
                &cams[rng.random_range(0..cams.len())]
            };
            // A detector often fires again on the same scene within minutes: these fold into
            // one incident.
            let repeats = if noisy || rng.random_bool(0.2) {
                rng.random_range(2..=5)
            } else {
                1
            };
            let mut t_at = at;
            for _ in 0..repeats {
                if t_at > now - 60_000 {
                    break;
                }
                seq += 1;
                let t = chrono::DateTime::from_timestamp_millis(t_at)
                    .unwrap_or_default()
                    .to_rfc3339();
                let mut item = json!({
                    "external_id": format!("demo-{seq:07}"),
                    "camera": c.1,
                    "type": ty,
                    "at": t,
                    "confidence": (rng.random_range(0.55..0.99f64) * 100.0).round() / 100.0,
                });
                if rng.random_bool(0.6) {
                    item["snapshot"] = json!(snaps[kind][rng.random_range(0..3)]);
                }
                batch.push((c.2, item));
                t_at += rng.random_range(40_000..240_000);
            }
        }
    }
    // One key per owner; in time order, 1,000 at a time.
    batch.sort_by_key(|b| b.1["at"].as_str().unwrap_or("").to_string());
    for (d, key) in &keys {
        let items: Vec<serde_json::Value> = batch
            .iter()
            .filter(|b| b.0 == *d)
            .map(|b| b.1.clone())
            .collect();
        for chunk in items.chunks(ingest::MAX_BATCH) {
            let out = ingest::alerts(store, key, chunk, 10 * 60_000, now).await?;
            sum.alerts += out.count(|s| matches!(s, ingest::ItemStatus::Created { .. }));
        }
    }
    // Triage what is older than two hours, as the duty officers would have.
    if let Some(officer) = user(store, "skyeye").await? {
        let old: Vec<(i64, String, String, i64)> = sqlx::query_as(
            "SELECT i.id, t.code, c.code, i.version FROM incidents i JOIN alert_types t ON t.id = i.type_id \
             JOIN cameras c ON c.id = i.camera_id WHERE i.last_seen < $1 AND t.health = FALSE ORDER BY i.id DESC",
        )
        .bind(now - 2 * 3_600_000)
        .fetch_all(store.pool())
        .await?;
        let mut fp = Vec::new();
        let mut dup = Vec::new();
        let mut na = Vec::new();
        let mut ack = Vec::new();
        let mut escalate = Vec::new();
        for (id, ty, cam, version) in old {
            let noisy = cam[6..].parse::<usize>().unwrap_or(1) % 9 == 1;
            let p_fp = match (ty.as_str(), noisy) {
                (_, true) => 0.7,
                ("crowding" | "intrusion", _) => 0.45,
                ("smoke_fire", _) => 0.3,
                _ => 0.18,
            };
            let r: f64 = rng.random();
            if r < p_fp {
                fp.push(id);
            } else if r < p_fp + 0.05 {
                dup.push(id);
            } else if r < p_fp + 0.12 {
                na.push(id);
            } else if r < p_fp + 0.16 && escalate.len() < 6 && ty != "crowding" && ty != "intrusion"
            {
                escalate.push((id, version));
            } else {
                ack.push(id);
            }
        }
        let a = super::audit::Actor {
            user_id: Some(officer.id),
            username: Some(officer.username.clone()),
            ..Default::default()
        };
        for (ids, step, reason) in [
            (&fp, Step::Dismiss, Some(DismissReason::FalsePositive)),
            (&dup, Step::Dismiss, Some(DismissReason::Duplicate)),
            (&na, Step::Dismiss, Some(DismissReason::NotActionable)),
            (&ack, Step::Acknowledge, None),
        ] {
            for chunk in ids.chunks(skyeye::BULK_MAX) {
                skyeye::triage(store, &officer, &a, chunk, step, reason, "").await?;
            }
        }
        for (id, version) in escalate {
            if skyeye::escalate(store, &officer, &a, id, None, "", version)
                .await
                .is_ok()
            {
                sum.escalated += 1;
            }
        }
    }
    // A few cameras out of order now: two offline, one tampered.
    let mut tx = store.begin().await?;
    for (k, (id, _, _)) in cams.iter().enumerate().skip(3).step_by(37).take(3) {
        let status = if k % 2 == 0 { "tampered" } else { "offline" };
        sqlx::query("UPDATE cameras SET status = $1, status_since = $2, last_heartbeat_at = $3 WHERE id = $4")
            .bind(status)
            .bind(now - 40 * 60_000)
            .bind(if status == "offline" { now - 45 * 60_000 } else { now })
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    for (k, (id, _, _)) in cams.iter().enumerate().skip(3).step_by(37).take(3) {
        let code = if k % 2 == 0 {
            "camera_tampered"
        } else {
            "camera_offline"
        };
        let mut tx = store.begin().await?;
        ingest::raise_health(&mut tx, *id, code, now - 40 * 60_000).await?;
        tx.commit().await?;
    }
    sum.incidents = sqlx::query_scalar("SELECT COUNT(*) FROM incidents")
        .fetch_one(store.pool())
        .await?;
    Ok(sum)
}
