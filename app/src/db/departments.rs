use super::{now_ms, Flag, Store, Tx};
use crate::model::Department;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    code: String,
    name_zh: String,
    name_en: String,
    #[sqlx(try_from = "i64")]
    active: Flag,
    user_count: i64,
}

impl From<Row> for Department {
    fn from(r: Row) -> Self {
        Department {
            id: r.id,
            code: r.code,
            name_zh: r.name_zh,
            name_en: r.name_en,
            active: r.active.0,
            user_count: r.user_count,
        }
    }
}

const SELECT: &str =
    "SELECT d.id, d.code, d.name_zh, d.name_en, CASE WHEN d.active THEN 1 ELSE 0 END AS active, \
    (SELECT COUNT(*) FROM users u WHERE u.department_id = d.id AND u.active = TRUE) AS user_count \
    FROM departments d";

pub async fn list(store: &Store) -> sqlx::Result<Vec<Department>> {
    let rows: Vec<Row> = sqlx::query_as(&format!("{SELECT} ORDER BY d.id"))
        .fetch_all(store.pool())
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn code_taken(tx: &mut Tx, code: &str, except: Option<i64>) -> sqlx::Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM departments WHERE code = $1 AND id <> $2")
            .bind(code)
            .bind(except.unwrap_or(-1))
            .fetch_one(&mut **tx)
            .await?;
    Ok(n > 0)
}

pub async fn exists_active(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM departments WHERE id = $1 AND active = TRUE")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
    Ok(n > 0)
}

pub async fn insert(tx: &mut Tx, code: &str, name_zh: &str, name_en: &str) -> sqlx::Result<i64> {
    let now = now_ms();
    sqlx::query_scalar(
        "INSERT INTO departments (code, name_zh, name_en, active, created_at, updated_at) \
         VALUES ($1, $2, $3, TRUE, $4, $4) RETURNING id",
    )
    .bind(code)
    .bind(name_zh)
    .bind(name_en)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

pub async fn update(
    tx: &mut Tx,
    id: i64,
    code: &str,
    name_zh: &str,
    name_en: &str,
    active: bool,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE departments SET code = $1, name_zh = $2, name_en = $3, active = $4, updated_at = $5 WHERE id = $6",
    )
    .bind(code)
    .bind(name_zh)
    .bind(name_en)
    .bind(active)
    .bind(now_ms())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}
