//! Case photos and the CSV export: plain HTTP downloads, checked like every server function
//! (signed in, role may open cases, case visible to the caller's department).
use app::auth::Caller;
use app::db::cases;
use app::domain::Area;
use app::model::{CaseFilter, CurrentUser};
use app::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use std::collections::HashMap;

fn allowed(caller: &Caller) -> Result<CurrentUser, StatusCode> {
    match &caller.user {
        None => Err(StatusCode::UNAUTHORIZED),
        Some(u) if u.role.may_open(Area::Cases) => Ok(u.clone()),
        Some(_) => Err(StatusCode::FORBIDDEN),
    }
}

/// `GET /photos/{id}`: the stored bytes with their checked type, private to the browser.
pub async fn photo(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(meta): Extension<app::auth::RequestMeta>,
    Path(id): Path<i64>,
) -> Response {
    let u = match allowed(&caller) {
        Ok(u) => u,
        Err(s) => return s.into_response(),
    };
    let actor = app::db::audit::Actor {
        user_id: Some(u.id),
        username: Some(u.username.clone()),
        ip: meta.ip,
        request_id: meta.request_id,
    };
    image(cases::photo(&st.store, &u, &actor, id).await)
}

/// `GET /track/{code}/photos/{id}`: a photo of a closed citizen report, public to whoever
/// holds its tracking code (the report's photo and the fix's; never verification photos).
pub async fn public_photo(
    State(st): State<AppState>,
    Path((code, id)): Path<(String, i64)>,
) -> Response {
    let found = app::db::citizen::public_photo(&st.store, &code, id).await;
    // Shown publicly without what the file says beyond its pixels (the camera's GPS
    // position and time in particular).
    let found = found.map(|p| {
        p.and_then(|(mime, bytes)| {
            app::photos::without_metadata(&mime, &bytes).map(|clean| (mime, clean))
        })
    });
    image(found)
}

/// A stored photo as a response, private to the browser (404 when there is none).
fn image<E>(found: Result<Option<(String, Vec<u8>)>, E>) -> Response {
    match found {
        Ok(Some((mime, bytes))) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_str(&mime)
                        .unwrap_or(HeaderValue::from_static("application/octet-stream")),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, max-age=86400, immutable"),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Rows in one export; the filter narrows larger lists.
pub const EXPORT_LIMIT: i64 = 100_000;

/// `GET /cases/export.csv?…`: the filtered case list as CSV (UTF-8 with BOM, so that
/// spreadsheet programs read Chinese correctly), headers in the user's language.
pub async fn export_csv(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let u = match allowed(&caller) {
        Ok(u) => u,
        Err(s) => return s.into_response(),
    };
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let num = |k: &str| -> Result<Option<i64>, ()> {
        let v = get(k);
        if v.trim().is_empty() {
            Ok(None)
        } else {
            v.trim().parse().map(Some).map_err(|_| ())
        }
    };
    let (Ok(class_id), Ok(department_id)) = (num("class"), num("department")) else {
        return (
            StatusCode::BAD_REQUEST,
            "class and department must be numbers",
        )
            .into_response();
    };
    let f = CaseFilter {
        q: get("q"),
        state: get("state"),
        kind: get("kind"),
        class_id,
        district: get("district"),
        grid: get("grid"),
        department_id,
        from: get("from"),
        to: get("to"),
        overdue: get("overdue") == "1",
        page: 1,
    };
    let scope = match cases::scope(&st.store, &u, "case export").await {
        Ok(s) => s,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let rows = match cases::export(&st.store, &f, scope, EXPORT_LIMIT).await {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
                e.audit_detail(),
            )
                .into_response()
        }
    };
    let zh = app::auth::cookie_value(&headers, "i18n_pref_locale").is_none_or(|l| l != "en");
    let head: [&str; 11] = if zh {
        [
            "案件编号",
            "类别编码",
            "类别",
            "状态",
            "缓办",
            "区县",
            "网格",
            "地址",
            "责任部门",
            "上报时间",
            "时限",
        ]
    } else {
        [
            "Case no.",
            "Class code",
            "Class",
            "State",
            "On hold",
            "District",
            "Grid",
            "Address",
            "Department",
            "Reported",
            "Deadline",
        ]
    };
    let pick = |a: &str, b: &str| if zh { a.to_string() } else { b.to_string() };
    let cells = rows.into_iter().map(|r| {
        [
            r.code,
            r.class_code,
            pick(&r.class_zh, &r.class_en),
            r.state.code().to_string(),
            if r.on_hold { "1".into() } else { "0".into() },
            pick(&r.district_zh, &r.district_en),
            r.grid_code,
            r.address,
            r.department_zh
                .zip(r.department_en)
                .map(|(a, b)| pick(&a, &b))
                .unwrap_or_default(),
            r.reported_at,
            r.due_at.unwrap_or_default(),
        ]
    });
    // Addresses are typed by citizens: every cell goes through the spreadsheet-safe writer.
    let body = match app::db::opendata::csv_bytes(&head, cells) {
        Ok(b) => b,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"cases.csv\""),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}
