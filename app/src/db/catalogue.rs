//! The classification catalogue: major and minor classes with conditions, time limits and
//! default departments. Seeded once, edited by administrators.
use super::catalogue_seed::{MAJORS, MINORS};
use super::{now_ms, Flag, Store, Tx};
use crate::model::{CaseClass, CaseMajor};

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    kind: String,
    code: String,
    major_code: String,
    major_zh: String,
    major_en: String,
    name_zh: String,
    name_en: String,
    filing_zh: String,
    filing_en: String,
    closing_zh: String,
    closing_en: String,
    limit_amount: i64,
    limit_unit: String,
    department_id: i64,
    department_zh: String,
    department_en: String,
    #[sqlx(try_from = "i64")]
    active: Flag,
}

impl From<Row> for CaseClass {
    fn from(r: Row) -> Self {
        CaseClass {
            id: r.id,
            kind: r.kind,
            code: r.code,
            major_code: r.major_code,
            major_zh: r.major_zh,
            major_en: r.major_en,
            name_zh: r.name_zh,
            name_en: r.name_en,
            filing_zh: r.filing_zh,
            filing_en: r.filing_en,
            closing_zh: r.closing_zh,
            closing_en: r.closing_en,
            limit_amount: r.limit_amount,
            limit_unit: r.limit_unit,
            department_id: r.department_id,
            department_zh: r.department_zh,
            department_en: r.department_en,
            active: r.active.0,
        }
    }
}

pub const SELECT: &str = "SELECT k.id, k.kind, k.code, k.major_code, m.name_zh AS major_zh, m.name_en AS major_en, \
     k.name_zh, k.name_en, k.filing_zh, k.filing_en, k.closing_zh, k.closing_en, k.limit_amount, k.limit_unit, \
     k.department_id, d.name_zh AS department_zh, d.name_en AS department_en, \
     CASE WHEN k.active THEN 1 ELSE 0 END AS active \
     FROM case_classes k JOIN case_majors m ON m.kind = k.kind AND m.code = k.major_code \
     JOIN departments d ON d.id = k.department_id";

/// Every class, components first, in code order.
pub async fn list(store: &Store) -> sqlx::Result<Vec<CaseClass>> {
    let rows: Vec<Row> = sqlx::query_as(&format!("{SELECT} ORDER BY k.kind, k.code"))
        .fetch_all(store.pool())
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn majors(store: &Store) -> sqlx::Result<Vec<CaseMajor>> {
    sqlx::query_as::<_, (String, String, String, String)>(
        "SELECT kind, code, name_zh, name_en FROM case_majors ORDER BY kind, code",
    )
    .fetch_all(store.pool())
    .await
    .map(|v| {
        v.into_iter()
            .map(|(kind, code, name_zh, name_en)| CaseMajor {
                kind,
                code,
                name_zh,
                name_en,
            })
            .collect()
    })
}

pub async fn get(tx: &mut Tx, id: i64) -> sqlx::Result<Option<CaseClass>> {
    let r: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE k.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(r.map(Into::into))
}

pub async fn get_ro(store: &Store, id: i64) -> sqlx::Result<Option<CaseClass>> {
    let r: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE k.id = $1"))
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    Ok(r.map(Into::into))
}

/// The fields an administrator edits.
#[derive(Debug, Clone)]
pub struct ClassEdit {
    pub name_zh: String,
    pub name_en: String,
    pub filing_zh: String,
    pub filing_en: String,
    pub closing_zh: String,
    pub closing_en: String,
    pub limit_amount: i64,
    pub limit_unit: String,
    pub department_id: i64,
    pub active: bool,
}

pub async fn update(tx: &mut Tx, id: i64, e: &ClassEdit) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE case_classes SET name_zh = $1, name_en = $2, filing_zh = $3, filing_en = $4, closing_zh = $5, \
         closing_en = $6, limit_amount = $7, limit_unit = $8, department_id = $9, active = $10, updated_at = $11 \
         WHERE id = $12",
    )
    .bind(&e.name_zh)
    .bind(&e.name_en)
    .bind(&e.filing_zh)
    .bind(&e.filing_en)
    .bind(&e.closing_zh)
    .bind(&e.closing_en)
    .bind(e.limit_amount)
    .bind(&e.limit_unit)
    .bind(e.department_id)
    .bind(e.active)
    .bind(now_ms())
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Writes the seeded catalogue. `dept` maps a department code to its id.
pub async fn seed(tx: &mut Tx, dept: impl Fn(&str) -> Option<i64>) -> sqlx::Result<usize> {
    for m in MAJORS {
        sqlx::query(
            "INSERT INTO case_majors (kind, code, name_zh, name_en) VALUES ($1, $2, $3, $4)",
        )
        .bind(m.kind)
        .bind(m.code)
        .bind(m.zh)
        .bind(m.en)
        .execute(&mut **tx)
        .await?;
    }
    let now = now_ms();
    for c in MINORS {
        let Some(d) = dept(c.dept) else {
            tracing::warn!(
                class = c.code,
                dept = c.dept,
                "catalogue: department missing, class skipped"
            );
            continue;
        };
        sqlx::query(
            "INSERT INTO case_classes (kind, code, major_code, name_zh, name_en, filing_zh, filing_en, closing_zh, \
             closing_en, limit_amount, limit_unit, department_id, active, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, TRUE, $13)",
        )
        .bind(c.kind)
        .bind(c.code)
        .bind(&c.code[..2])
        .bind(c.zh)
        .bind(c.en)
        .bind(c.filing_zh)
        .bind(c.filing_en)
        .bind(c.closing_zh)
        .bind(c.closing_en)
        .bind(c.limit)
        .bind(c.unit)
        .bind(d)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(MINORS.len())
}
