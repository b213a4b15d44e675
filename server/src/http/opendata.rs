//! Open data downloads: `GET /data/{code}.csv` and `GET /data/{code}.json`, public, no account.
//!
//! - CSV: UTF-8 with a byte-order mark (spreadsheet programs then read the Chinese names
//!   correctly; CSV readers that expect none skip it or see it as part of the first header),
//!   one header row of the stable field names, or of the headings in Chinese or English with
//!   `?lang=zh` / `?lang=en`.
//! - JSON: `{"dataset": {code, title_zh, title_en, description_zh, description_en, owner_zh,
//!   owner_en, licence, frequency, last_update, latest_month, complete_months_only: true},
//!   "fields": [{name, zh, en, type}], "rows": [{name: value, ...}]}`.
//!
//! Only complete Shanghai months are included. An unknown or restricted dataset answers 404
//! with `{"error": "not_found", "message": ...}` (a restricted dataset is not public, so it
//! is not there for this caller); an unknown format 404 too. A database failure answers 500
//! with no body.
//!
//! The endpoint is in the OpenAPI document (tag `open data`): registered through
//! `openapi::machine_routes`, its wire types in `openapi.rs`.
use app::db::{now_ms, opendata};
use app::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::collections::HashMap;

fn not_found(code: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({
            "error": "not_found",
            "message": format!("no public dataset {code:?}; see /data for the list"),
        })),
    )
        .into_response()
}

/// `GET /data/{code}.{csv|json}`.
#[utoipa::path(
    get,
    path = "/data/{file}",
    tag = "open data",
    operation_id = "open_data_download",
    summary = "Download a public dataset (CSV or JSON)",
    description = "A public dataset of the open data page (`/data`): `cases-monthly` (cases by month, district and minor class), `energy-monthly` (use and carbon by month, district and energy type) or `rankings` (the published monthly assessments). Complete Shanghai months only. CSV is UTF-8 with a byte-order mark and one header row; JSON is the dataset, its fields and its rows.",
    params(
        ("file" = String, Path, description = "`{code}.csv` or `{code}.json`; `code` is `cases-monthly`, `energy-monthly` or `rankings`.", example = "cases-monthly.csv"),
        crate::http::openapi::OpenDataQuery,
    ),
    responses(
        (status = 200, description = "The dataset: CSV (`.csv`) or JSON (`.json`), as a download.", content(
            (String = "text/csv"), (crate::http::openapi::OpenDataset = "application/json")
        ), headers(
            ("Content-Disposition" = String, description = "`attachment; filename=\"citylink-{code}.{csv|json}\"`"),
            ("Cache-Control" = String, description = "`public, max-age=300`"),
        )),
        (status = 404, description = "An unknown or restricted dataset, or another format (always JSON).", body = crate::http::openapi::OpenDataError, content_type = "application/json"),
        (status = 500, description = "The database did not answer; no body."),
    ),
)]
pub async fn download(
    State(st): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some((code, ext)) = file.rsplit_once('.') else {
        return not_found(&file);
    };
    if !matches!(ext, "csv" | "json") {
        return not_found(&file);
    }
    let (info, table) = match opendata::public_table(&st.store, code, now_ms()).await {
        Ok(Some((d, t))) if d.formats.iter().any(|f| f == ext) => (d, t),
        Ok(_) => return not_found(code),
        Err(e) => {
            tracing::error!(error = %e, dataset = code, "open data table");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let disposition = |ext: &str| {
        HeaderValue::from_str(&format!("attachment; filename=\"citylink-{code}.{ext}\""))
            .unwrap_or(HeaderValue::from_static("attachment"))
    };
    let cache = HeaderValue::from_static("public, max-age=300");
    if ext == "csv" {
        let lang = q.get("lang").map(String::as_str);
        let body = match opendata::to_csv(&table, lang.filter(|l| matches!(*l, "zh" | "en"))) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, dataset = code, "open data csv");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                ),
                (header::CONTENT_DISPOSITION, disposition("csv")),
                (header::CACHE_CONTROL, cache),
            ],
            body,
        )
            .into_response()
    } else {
        let dataset = json!({
            "code": info.code,
            "title_zh": info.title_zh,
            "title_en": info.title_en,
            "description_zh": info.description_zh,
            "description_en": info.description_en,
            "owner_zh": info.owner_zh,
            "owner_en": info.owner_en,
            "licence": info.licence,
            "frequency": info.frequency,
            "last_update": info.last_update,
            "latest_month": info.latest_month,
            "complete_months_only": true,
        });
        let body = opendata::to_json(&table, dataset).to_string();
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json; charset=utf-8"),
                ),
                (header::CONTENT_DISPOSITION, disposition("json")),
                (header::CACHE_CONTROL, cache),
            ],
            body,
        )
            .into_response()
    }
}
