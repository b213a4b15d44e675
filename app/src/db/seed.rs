//! Demo data: the departments of DOMAIN.md and one account per role, all with password
//! `Demo@2026!`. Written only when demo data is switched on, in one transaction.
use super::{
    audit, calendar, catalogue, catalogue_seed, departments, evaluation, grids, users, Store,
};
use crate::domain::Role;

pub const DEMO_PASSWORD: &str = "Demo@2026!";

/// (code, Chinese name, English name)
pub const DEPARTMENTS: &[(&str, &str, &str)] = &[
    (
        "bigdata",
        "行政审批服务管理局（大数据中心）",
        "Administrative Approval Bureau (Big Data Centre)",
    ),
    ("cmb", "城市管理局", "City Management Bureau"),
    ("psb", "公安局", "Public Security Bureau"),
    (
        "housing",
        "住房和城乡建设局",
        "Housing and Urban-Rural Development Bureau",
    ),
    ("transport", "交通运输局", "Transport Bureau"),
    ("ecology", "生态环境局", "Ecology and Environment Bureau"),
    (
        "ndrc",
        "发展和改革委员会",
        "Development and Reform Commission",
    ),
    ("water", "水务局", "Water Affairs Bureau"),
    ("landscape", "园林局", "Landscaping Bureau"),
    ("hotline", "12345 市民热线", "12345 Citizen Hotline"),
    ("heating", "太原市热力公司", "Taiyuan Heating Company"),
    (
        "leadership",
        "智慧城市建设领导小组",
        "Smart City Leadership Group",
    ),
    (
        "gov-xiaodian",
        "小店区人民政府",
        "Xiaodian District Government",
    ),
    ("gov-yingze", "迎泽区人民政府", "Yingze District Government"),
    (
        "gov-xinghualing",
        "杏花岭区人民政府",
        "Xinghualing District Government",
    ),
    (
        "gov-jiancaoping",
        "尖草坪区人民政府",
        "Jiancaoping District Government",
    ),
    (
        "gov-wanbailin",
        "万柏林区人民政府",
        "Wanbailin District Government",
    ),
    (
        "gov-jinyuan",
        "晋源区人民政府",
        "Jinyuan District Government",
    ),
];

/// (username, display name, role, department code)
pub const USERS: &[(&str, &str, Role, &str)] = &[
    ("admin", "张伟", Role::Admin, "bigdata"),
    ("dispatcher", "赵敏", Role::Dispatcher, "cmb"),
    ("inspector", "钱进", Role::Inspector, "cmb"),
    ("water", "孙涛", Role::Handler, "water"),
    ("landscape", "李娜", Role::Handler, "landscape"),
    ("waterhead", "周强", Role::DeptHead, "water"),
    ("skyeye", "吴磊", Role::VideoOfficer, "psb"),
    ("energy", "郑洁", Role::EnergyAnalyst, "ndrc"),
    ("leader", "王刚", Role::Leader, "leadership"),
];

/// Fills an empty database with demo departments and accounts. Does nothing when any
/// account exists already, so a restart never duplicates or overwrites data.
pub async fn demo(store: &Store) -> Result<bool, crate::error::AppError> {
    if users::count(store).await? > 0 {
        return Ok(false);
    }
    let mut hashes = Vec::with_capacity(USERS.len());
    for _ in USERS {
        hashes.push(crate::auth::hash_password(DEMO_PASSWORD.to_string()).await?);
    }
    let mut tx = store.begin().await?;
    let mut ids = std::collections::HashMap::new();
    for (code, zh, en) in DEPARTMENTS {
        ids.insert(*code, departments::insert(&mut tx, code, zh, en).await?);
    }
    for ((username, name, role, dept), hash) in USERS.iter().zip(hashes) {
        users::insert(&mut tx, username, name, &hash, *role, ids[dept]).await?;
    }
    audit::record(
        &mut tx,
        &audit::Actor {
            username: Some("system".into()),
            ..Default::default()
        },
        audit::Event {
            action: "seed.demo",
            target_type: "database",
            target_id: None,
            outcome: audit::OK,
            detail: format!("{} departments, {} users", DEPARTMENTS.len(), USERS.len()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Creates an administrator (and, on an empty database, the platform department it
/// belongs to). For installations without demo data.
pub async fn create_admin(
    store: &Store,
    username: &str,
    password: &str,
) -> Result<i64, crate::error::AppError> {
    use crate::domain::validate;
    validate::collect([
        validate::username("username", username),
        validate::password("password", password),
    ])?;
    let hash = crate::auth::hash_password(password.to_string()).await?;
    let mut tx = store.begin().await?;
    if users::username_taken(&mut tx, username).await? {
        return Err(crate::error::AppError::field(
            "username",
            crate::error::FieldErrorKind::UsernameTaken,
        ));
    }
    let dept: Option<i64> = sqlx::query_scalar("SELECT id FROM departments WHERE code = $1")
        .bind("bigdata")
        .fetch_optional(&mut *tx)
        .await?;
    let dept = match dept {
        Some(d) => d,
        None => departments::insert(&mut tx, "bigdata", DEPARTMENTS[0].1, DEPARTMENTS[0].2).await?,
    };
    let id = users::insert(&mut tx, username, username, &hash, Role::Admin, dept).await?;
    audit::record(
        &mut tx,
        &audit::Actor {
            username: Some("system".into()),
            ..Default::default()
        },
        audit::Event {
            action: "admin.create",
            target_type: "user",
            target_id: Some(id.to_string()),
            outcome: audit::OK,
            detail: format!("username={username} (command line)"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Reference data every installation needs, written into empty tables at start: unit grids,
/// the working calendar, the scoring rule and the classification catalogue (with the
/// departments it dispatches to by default, created when missing).
pub async fn reference(store: &Store) -> Result<(), crate::error::AppError> {
    let count = |table: &'static str| async move {
        sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(store.pool())
            .await
    };
    let (g, s, r, m) = (
        count("grids").await?,
        count("settings").await?,
        count("scoring_rules").await?,
        count("case_majors").await?,
    );
    if g > 0 && s > 0 && r > 0 && m > 0 {
        return Ok(());
    }
    let mut tx = store.begin().await?;
    if g == 0 {
        grids::seed(&mut tx).await?;
    }
    if s == 0 {
        calendar::seed(&mut tx).await?;
    }
    if r == 0 {
        evaluation::seed_rule(&mut tx).await?;
    }
    if m == 0 {
        let mut ids = std::collections::HashMap::new();
        for code in catalogue_seed::DEPTS {
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM departments WHERE code = $1")
                .bind(*code)
                .fetch_optional(&mut *tx)
                .await?;
            let id = match (id, DEPARTMENTS.iter().find(|d| d.0 == *code)) {
                (Some(id), _) => Some(id),
                (None, Some((c, zh, en))) => Some(departments::insert(&mut tx, c, zh, en).await?),
                (None, None) => None,
            };
            if let Some(id) = id {
                ids.insert(code.to_string(), id);
            }
        }
        catalogue::seed(&mut tx, |c| ids.get(c).copied()).await?;
    }
    tx.commit().await?;
    Ok(())
}
