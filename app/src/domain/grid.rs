//! The unit-grid lattice: a regular grid of 0.01° cells from a south-west origin, shared by
//! the server (placing cases) and the browser (picking a place on the map).

/// The demo lattice: 24 columns × 28 rows of 0.01° (about 0.9 × 1.1 km) from the south-west
/// corner below, covering the urban core around 37.87°N 112.55°E.
pub const ORIGIN_LON: f64 = 112.45;
pub const ORIGIN_LAT: f64 = 37.72;
pub const STEP: f64 = 0.01;
pub const COLS: i64 = 24;
pub const ROWS: i64 = 28;

/// The centre of a cell, (lon, lat).
pub fn centre(col: i64, row: i64) -> (f64, f64) {
    (
        ORIGIN_LON + (col as f64 + 0.5) * STEP,
        ORIGIN_LAT + (row as f64 + 0.5) * STEP,
    )
}
