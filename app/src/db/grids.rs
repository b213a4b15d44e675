//! Unit grids (单元网格): a lattice of 0.01° cells over Taiyuan's six urban districts, each
//! with a code, district and street, and the lookup that places a case in one.
use super::{Store, Tx};
use crate::model::{GridCell, GridInfo};

pub use crate::domain::grid::{COLS, ORIGIN_LAT, ORIGIN_LON, ROWS, STEP};

/// (admin code, name zh, name en, four streets (zh, en) by quadrant NW, NE, SW, SE)
pub type District = (
    &'static str,
    &'static str,
    &'static str,
    [(&'static str, &'static str); 4],
);

pub const DISTRICTS: &[District] = &[
    (
        "140105",
        "小店区",
        "Xiaodian",
        [
            ("坞城街道", "Wucheng Subdistrict"),
            ("营盘街道", "Yingpan Subdistrict"),
            ("北营街道", "Beiying Subdistrict"),
            ("黄陵街道", "Huangling Subdistrict"),
        ],
    ),
    (
        "140106",
        "迎泽区",
        "Yingze",
        [
            ("柳巷街道", "Liuxiang Subdistrict"),
            ("文庙街道", "Wenmiao Subdistrict"),
            ("桥东街道", "Qiaodong Subdistrict"),
            ("老军营街道", "Laojunying Subdistrict"),
        ],
    ),
    (
        "140107",
        "杏花岭区",
        "Xinghualing",
        [
            ("巨轮街道", "Julun Subdistrict"),
            ("杨家峪街道", "Yangjiayu Subdistrict"),
            ("鼓楼街道", "Gulou Subdistrict"),
            ("三桥街道", "Sanqiao Subdistrict"),
        ],
    ),
    (
        "140108",
        "尖草坪区",
        "Jiancaoping",
        [
            ("上兰街道", "Shanglan Subdistrict"),
            ("汇丰街道", "Huifeng Subdistrict"),
            ("光社街道", "Guangshe Subdistrict"),
            ("尖草坪街道", "Jiancaoping Subdistrict"),
        ],
    ),
    (
        "140109",
        "万柏林区",
        "Wanbailin",
        [
            ("千峰街道", "Qianfeng Subdistrict"),
            ("兴华街道", "Xinghua Subdistrict"),
            ("下元街道", "Xiayuan Subdistrict"),
            ("和平街道", "Heping Subdistrict"),
        ],
    ),
    (
        "140110",
        "晋源区",
        "Jinyuan",
        [
            ("晋源街道", "Jinyuan Subdistrict"),
            ("罗城街道", "Luocheng Subdistrict"),
            ("晋祠镇", "Jinci Town"),
            ("金胜镇", "Jinsheng Town"),
        ],
    ),
];

/// The district a lattice cell lies in: Jiancaoping north, Wanbailin west, Xinghualing and
/// Yingze east of the Fen river, Jinyuan south-west, Xiaodian south-east (simplified).
pub fn district_of(col: i64, row: i64) -> usize {
    let lon = ORIGIN_LON + (col as f64 + 0.5) * STEP;
    let lat = ORIGIN_LAT + (row as f64 + 0.5) * STEP;
    let east = lon >= 112.54;
    if lat >= 37.92 {
        3
    } else if lat >= 37.82 {
        match (east, lat >= 37.87) {
            (false, _) => 4,
            (true, true) => 2,
            (true, false) => 1,
        }
    } else if east {
        0
    } else {
        5
    }
}

/// A generated cell, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCell {
    pub code: String,
    pub district: usize,
    pub street: usize,
    pub col: i64,
    pub row: i64,
}

/// Every lattice cell with its district, street quadrant and code (district code + 4 digits).
pub fn lattice() -> Vec<NewCell> {
    // Bounds of each district in lattice units, for the street quadrants.
    let mut bounds = vec![(i64::MAX, i64::MIN, i64::MAX, i64::MIN); DISTRICTS.len()];
    for row in 0..ROWS {
        for col in 0..COLS {
            let b = &mut bounds[district_of(col, row)];
            *b = (b.0.min(col), b.1.max(col), b.2.min(row), b.3.max(row));
        }
    }
    let mut seq = vec![0; DISTRICTS.len()];
    let mut out = Vec::with_capacity((ROWS * COLS) as usize);
    // North to south, west to east: codes read like a page.
    for row in (0..ROWS).rev() {
        for col in 0..COLS {
            let d = district_of(col, row);
            let (c0, c1, r0, r1) = bounds[d];
            let west = col * 2 <= c0 + c1;
            let north = row * 2 > r0 + r1;
            let street = match (north, west) {
                (true, true) => 0,
                (true, false) => 1,
                (false, true) => 2,
                (false, false) => 3,
            };
            seq[d] += 1;
            out.push(NewCell {
                code: format!("{}{:04}", DISTRICTS[d].0, seq[d]),
                district: d,
                street,
                col,
                row,
            });
        }
    }
    out
}

pub async fn seed(tx: &mut Tx) -> sqlx::Result<usize> {
    let cells = lattice();
    for chunk in cells.chunks(100) {
        let sql = super::values_sql(
            "INSERT INTO grids (code, district_code, district_zh, district_en, street_zh, street_en, \
             col, row, min_lon, min_lat, max_lon, max_lat) VALUES ",
            chunk.len(),
            12,
        );
        let mut q = sqlx::query(&sql);
        for c in chunk {
            let (dcode, dzh, den, streets) = DISTRICTS[c.district];
            let (szh, sen) = streets[c.street];
            let lon = ORIGIN_LON + c.col as f64 * STEP;
            let lat = ORIGIN_LAT + c.row as f64 * STEP;
            q = q
                .bind(c.code.clone())
                .bind(dcode)
                .bind(dzh)
                .bind(den)
                .bind(szh)
                .bind(sen)
                .bind(c.col)
                .bind(c.row)
                .bind(lon)
                .bind(lat)
                .bind(lon + STEP)
                .bind(lat + STEP);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(cells.len())
}

/// The lattice cell of a coordinate, if it lies inside the covered area. Computed, not
/// searched: the lattice is regular, so the cell is (col, row) of the point.
pub fn cell_of(lon: f64, lat: f64) -> Option<(i64, i64)> {
    if !lon.is_finite() || !lat.is_finite() {
        return None;
    }
    // The small bias keeps a point on a cell's west or south edge in that cell despite
    // binary fractions (112.46 − 112.45 is 0.00999… in f64).
    let col = ((lon - ORIGIN_LON) / STEP + 1e-9).floor() as i64;
    let row = ((lat - ORIGIN_LAT) / STEP + 1e-9).floor() as i64;
    ((0..COLS).contains(&col) && (0..ROWS).contains(&row)).then_some((col, row))
}

#[derive(sqlx::FromRow)]
struct InfoRow {
    id: i64,
    code: String,
    district_code: String,
    district_zh: String,
    district_en: String,
    street_zh: String,
    street_en: String,
}

impl From<InfoRow> for GridInfo {
    fn from(r: InfoRow) -> Self {
        GridInfo {
            id: r.id,
            code: r.code,
            district_code: r.district_code,
            district_zh: r.district_zh,
            district_en: r.district_en,
            street_zh: r.street_zh,
            street_en: r.street_en,
        }
    }
}

const INFO: &str =
    "SELECT id, code, district_code, district_zh, district_en, street_zh, street_en FROM grids";

/// The stored grid containing a coordinate.
pub async fn locate(tx: &mut Tx, lon: f64, lat: f64) -> sqlx::Result<Option<GridInfo>> {
    let Some((col, row)) = cell_of(lon, lat) else {
        return Ok(None);
    };
    let r: Option<InfoRow> = sqlx::query_as(&format!("{INFO} WHERE col = $1 AND row = $2"))
        .bind(col)
        .bind(row)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(r.map(Into::into))
}

pub async fn by_code(store: &Store, code: &str) -> sqlx::Result<Option<GridInfo>> {
    let r: Option<InfoRow> = sqlx::query_as(&format!("{INFO} WHERE code = $1"))
        .bind(code)
        .fetch_optional(store.pool())
        .await?;
    Ok(r.map(Into::into))
}

#[derive(sqlx::FromRow)]
struct CellRow {
    code: String,
    district_code: String,
    district_zh: String,
    district_en: String,
    street_zh: String,
    street_en: String,
    col: i64,
    row: i64,
    open: i64,
    overdue: i64,
}

impl From<CellRow> for GridCell {
    fn from(r: CellRow) -> Self {
        GridCell {
            code: r.code,
            district_code: r.district_code,
            district_zh: r.district_zh,
            district_en: r.district_en,
            street_zh: r.street_zh,
            street_en: r.street_en,
            col: r.col,
            row: r.row,
            open: r.open,
            overdue: r.overdue,
        }
    }
}

const CELL_COLS: &str =
    "g.code, g.district_code, g.district_zh, g.district_en, g.street_zh, g.street_en, g.col, g.row";

/// Every cell with its open and overdue case counts, for the map. `dept` limits the counts
/// to one department's cases.
pub async fn map_cells(store: &Store, now: i64, dept: Option<i64>) -> sqlx::Result<Vec<GridCell>> {
    let dept_cond = if dept.is_some() {
        " AND c.department_id = $2"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {CELL_COLS}, COALESCE(x.open, 0) AS open, COALESCE(x.overdue, 0) AS overdue \
         FROM grids g LEFT JOIN ( \
           SELECT c.grid_id, COUNT(*) AS open, \
             SUM(CASE WHEN c.deadline_at < $1 AND c.state IN ('dispatched', 'handling') AND NOT c.on_hold THEN 1 ELSE 0 END) AS overdue \
           FROM cases c WHERE c.state NOT IN ('closed', 'rejected'){dept_cond} GROUP BY c.grid_id \
         ) x ON x.grid_id = g.id ORDER BY g.row DESC, g.col"
    );
    let mut q = sqlx::query_as::<_, CellRow>(&sql).bind(now);
    if let Some(d) = dept {
        q = q.bind(d);
    }
    Ok(q.fetch_all(store.pool())
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Every cell without case counts (the public place picker: no aggregation of cases).
pub async fn cells(store: &Store) -> sqlx::Result<Vec<GridCell>> {
    let sql = format!(
        "SELECT {CELL_COLS}, 0 AS open, 0 AS overdue FROM grids g ORDER BY g.row DESC, g.col"
    );
    Ok(sqlx::query_as::<_, CellRow>(&sql)
        .fetch_all(store.pool())
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lattice_covers_six_districts_with_unique_codes() {
        let cells = lattice();
        assert_eq!(cells.len(), 672);
        let mut codes: Vec<_> = cells.iter().map(|c| c.code.clone()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), 672);
        for d in 0..DISTRICTS.len() {
            let n = cells.iter().filter(|c| c.district == d).count();
            assert!(n >= 40, "district {d} has {n} cells");
            for s in 0..4 {
                assert!(
                    cells.iter().any(|c| c.district == d && c.street == s),
                    "district {d} street {s} empty"
                );
            }
        }
        // The city centre (Yingze, east of the river) and the first code of each district.
        let centre = cell_of(112.565, 37.855).unwrap();
        assert_eq!(DISTRICTS[district_of(centre.0, centre.1)].2, "Yingze");
        assert!(codes.contains(&"1401050001".to_string()));
    }

    #[test]
    fn coordinates_map_to_cells() {
        assert_eq!(cell_of(112.45, 37.72), Some((0, 0)));
        assert_eq!(cell_of(112.4599, 37.7299), Some((0, 0)));
        assert_eq!(cell_of(112.46, 37.73), Some((1, 1)));
        assert_eq!(cell_of(112.6899, 37.9999), Some((23, 27)));
        assert_eq!(cell_of(112.69, 37.9), None);
        assert_eq!(cell_of(112.5, 38.0), None);
        assert_eq!(cell_of(112.44, 37.8), None);
        assert_eq!(cell_of(f64::NAN, 37.8), None);
    }
}
