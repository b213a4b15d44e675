//! Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2) under `/open311/v2/`, so that
//! existing Open311 apps and client libraries report to the city and follow their reports
//! without changes.
//!
//! Resources (each in `.json` and `.xml`, chosen by the extension as the spec says):
//! - `GET /open311/discovery.{json,xml}` (also under `/open311/v2/`): the discovery document;
//! - `GET /open311/v2/services`: the citizen categories ([`app::domain::citizen::SERVICES`]
//!   whose catalogue class is active);
//! - `GET /open311/v2/services/{service_code}`: a service definition with its attributes;
//! - `POST /open311/v2/requests`: a new report (form-urlencoded or multipart), with the
//!   `api_key` parameter of a key carrying the scope `open311`;
//! - `GET /open311/v2/requests`: reports, newest first, filtered by `service_request_id`
//!   (comma list; overrides the other filters), `service_code` (comma list), `start_date` /
//!   `end_date` (W3C date-times; default the last 90 days, at most 90 days apart) and
//!   `status` (`open`, `closed`, comma list); at most 1,000;
//! - `GET /open311/v2/requests/{service_request_id}`: one report.
//!
//! `jurisdiction_id` is optional: absent or [`JURISDICTION_ID`] is this city, anything else
//! answers 404. Errors come in the spec's form, `[{"code": 400, "description": "…"}]` or
//! `<errors><error><code>…</code><description>…</description></error></errors>`, with the
//! same HTTP status: 400 for a missing or invalid parameter, 403 for a missing, unknown or
//! revoked key or one without the scope, 404 for an unknown service, request, jurisdiction
//! or resource, 429 (with `Retry-After`) when the key sends too fast.
//!
//! Decisions:
//! - The `service_request_id` is the citizen's tracking code (`TY-XXXX-XXXX`); requests are
//!   `realtime` (the id is answered at once), statuses `open` / `closed` (closed once the case
//!   is closed or not accepted), `status_notes` the newest note staff wrote for the public,
//!   `agency_responsible` the department handling it (before dispatch: the command centre),
//!   `expected_datetime` when the current stage is due (none once closed or on hold).
//! - Location privacy: a report's `lat` / `long` are the centre of its 0.01° unit grid and
//!   `address` the grid's district and street, `address_id` the grid code: the exact point
//!   and the typed address stay with staff. Contact details (`email`, `phone`, names,
//!   `device_id`, `account_id`) are stored for staff and never published.
//! - `lat` and `long` are required when posting: the server does not geocode, so an
//!   `address_string` alone is refused with 400 (with coordinates it is kept as the address
//!   staff read). `media_url` is accepted and ignored: the server fetches nothing from
//!   elsewhere and publishes no link it did not check; file parts of a multipart post are
//!   ignored too.
//! - Limits: the per-key [`Limiter`](crate::http::ingest::Limiter) of the machine APIs
//!   (`CITYLINK_API_RATE` requests per second) answers 429, and the citizen intake's hourly
//!   count runs per key with [`PER_KEY_PER_HOUR`] (an integration relays many people, so the
//!   web form's per-address limit does not fit).
//! - Language: names, descriptions and messages are Chinese unless the `locale` parameter
//!   (`en`, `en-US` …) or, without it, the first language of `Accept-Language` is English.
//! - Browsers: every Open311 response carries `Access-Control-Allow-Origin: *` and `OPTIONS`
//!   preflights are answered, and `/open311/` is exempt from the cross-origin write guard:
//!   the key in the form authenticates, no cookie does.
use crate::http::ingest::Limiter;
use app::auth::RequestMeta;
use app::db::audit::Actor;
use app::db::citizen::{self as intake, Channel, NewCitizenReport, RequestFilter};
use app::db::skyeye::{check_key, KeyCheck};
use app::domain::citizen::{self, Datatype, Service};
use app::error::{AppError, FieldError, FieldErrorKind as K};
use app::i18n::Locale;
use app::model::PublicStatus;
use app::state::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Extension;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This city's `jurisdiction_id`.
pub const JURISDICTION_ID: &str = "taiyuan.gov.cn";
/// Where the GeoReport v2 endpoint lives.
pub const BASE: &str = "/open311/v2";
/// The scope a key needs to post requests.
pub const SCOPE: &str = "open311";
/// Most requests one `GET requests` answers.
pub const MAX_REQUESTS: i64 = 1000;
/// Default and widest window of `GET requests`, in days.
pub const WINDOW_DAYS: i64 = 90;
/// Reports one key may post per hour (the citizen intake's count, per key).
pub const PER_KEY_PER_HOUR: i64 = 10_000;
/// Largest POST body (text fields only).
pub const BODY_LIMIT: usize = 1024 * 1024;
/// Who is responsible before a department is: the command centre.
pub const COMMAND_CENTRE: (&str, &str) = (
    "太原市数字化城市管理指挥中心",
    "Taiyuan Digital City Management Command Centre",
);
/// When this endpoint last changed (the discovery document's `changeset`).
const CHANGESET: &str = "2026-11-25T00:00:00+08:00";
const SPEC: &str = "http://wiki.open311.org/GeoReport_v2";
const DAY_MS: i64 = 86_400_000;

/// The routes with their OpenAPI operations (merged into `openapi::machine_routes`), with
/// CORS for browser clients. The resources with a path parameter take the format with it
/// (`{file}` is `pothole.json`): the router matches whole path segments only.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(discovery_json))
        .routes(routes!(discovery_xml))
        .route("/open311/v2/discovery.json", get(discovery_json))
        .route("/open311/v2/discovery.xml", get(discovery_xml))
        .routes(routes!(services_json))
        .routes(routes!(services_xml))
        .routes(routes!(service_definition))
        .routes(routes!(requests_json, post_json))
        .routes(routes!(requests_xml, post_xml))
        .routes(routes!(request_one))
        .route("/open311/{*rest}", get(not_found).post(not_found))
        .layer(axum::middleware::from_fn(cors))
}

// ---- Wire formats for the OpenAPI document ----
//
// The handlers build their answers as [`V`] values (one tree, written as JSON or XML); these
// types describe those bodies for `openapi.rs`, whose test holds them to the real answers.

/// OpenAPI tag of the Open311 operations.
pub const TAG: &str = "open311";

/// Parameters every Open311 resource takes.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documentation only: the handlers read the raw query.
pub struct CommonQuery {
    /// Left out or `taiyuan.gov.cn`; any other answers 404.
    pub jurisdiction_id: Option<String>,
    /// `en` (or `en-US` …) for English; otherwise Chinese, or the first language of
    /// `Accept-Language`.
    pub locale: Option<String>,
}

/// Filters of `GET requests`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documentation only: the handlers read the raw query.
pub struct RequestsQuery {
    /// Request ids (case codes, e.g. `20261125-000123`), comma separated; overrides all else.
    pub service_request_id: Option<String>,
    /// Service codes, comma separated.
    pub service_code: Option<String>,
    /// Earliest `requested_datetime` (ISO 8601, e.g. `2026-11-01T00:00:00+08:00`).
    pub start_date: Option<String>,
    /// Latest `requested_datetime`; at most 90 days after `start_date`.
    pub end_date: Option<String>,
    /// `open`, `closed` or both, comma separated.
    pub status: Option<String>,
    pub jurisdiction_id: Option<String>,
    pub locale: Option<String>,
}

/// The body of `POST requests` (form fields).
#[derive(Serialize, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct PostForm {
    /// A key with the scope `open311` (`/admin/keys`).
    pub api_key: String,
    pub jurisdiction_id: Option<String>,
    #[schema(example = "manhole")]
    pub service_code: String,
    /// Latitude, WGS 84, inside the city's unit grids.
    #[schema(example = 37.8612)]
    pub lat: f64,
    /// Longitude, WGS 84.
    #[schema(example = 112.5487)]
    pub long: f64,
    /// Kept for staff with the coordinates; not enough alone (no geocoding).
    pub address_string: Option<String>,
    #[schema(max_length = 1000)]
    pub description: String,
    /// Stored for staff, never published; so are the names, phone and ids below.
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
    /// Accepted and ignored.
    pub media_url: Option<String>,
}

/// The discovery document.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(xml(name = "discovery"))]
pub struct Discovery {
    pub changeset: String,
    pub contact: String,
    pub key_service: String,
    pub endpoints: Vec<DiscoveryEndpoint>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(xml(name = "endpoint"))]
pub struct DiscoveryEndpoint {
    pub specification: String,
    /// Absolute address of `/open311/v2`.
    pub url: String,
    pub changeset: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub formats: Vec<String>,
}

/// A service (`<services><service>`).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(xml(name = "service"))]
pub struct ServiceOut {
    #[schema(example = "manhole")]
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    /// True when the service has attributes (see its definition).
    pub metadata: bool,
    /// Always `realtime`: the `service_request_id` is answered at once.
    #[serde(rename = "type")]
    pub kind: String,
    pub keywords: String,
    pub group: String,
}

/// A service's attributes (`<service_definition>`).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(xml(name = "service_definition"))]
pub struct ServiceDefinition {
    pub service_code: String,
    pub attributes: Vec<AttributeOut>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(xml(name = "attribute"))]
pub struct AttributeOut {
    pub variable: bool,
    /// The form field is `attribute[code]`.
    pub code: String,
    /// `string`, `text`, `number` or `singlevaluelist`.
    pub datatype: String,
    pub required: bool,
    #[schema(required = true)]
    pub datatype_description: Option<String>,
    pub order: i64,
    pub description: String,
    pub values: Vec<AttributeValue>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(xml(name = "value"))]
pub struct AttributeValue {
    pub key: String,
    pub name: String,
}

/// A service request as published (`<service_requests><request>`).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(xml(name = "request"))]
pub struct RequestOut {
    /// The tracking code.
    #[schema(example = "TY-4K7M-X2QD")]
    pub service_request_id: String,
    /// `open` or `closed`.
    pub status: String,
    /// The newest note staff wrote for the public.
    #[schema(required = true)]
    pub status_notes: Option<String>,
    pub service_name: String,
    pub service_code: String,
    #[schema(required = true)]
    pub description: Option<String>,
    /// The department handling it; before dispatch the command centre.
    pub agency_responsible: String,
    #[schema(required = true)]
    pub service_notice: Option<String>,
    #[schema(example = "2026-11-24T13:05:00+08:00")]
    pub requested_datetime: String,
    pub updated_datetime: String,
    /// When the current stage is due; null once closed or on hold.
    #[schema(required = true)]
    pub expected_datetime: Option<String>,
    /// District and street of the unit grid.
    pub address: String,
    /// The unit grid's code.
    pub address_id: String,
    #[schema(required = true)]
    pub zipcode: Option<String>,
    /// The unit grid's centre, not the exact place.
    pub lat: f64,
    pub long: f64,
    #[schema(required = true)]
    pub media_url: Option<String>,
}

/// The answer to a posted request (`<service_requests><request>`).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(xml(name = "request"))]
pub struct PostedOut {
    pub service_request_id: String,
    pub service_notice: String,
    /// Always null: no citizen accounts.
    #[schema(required = true)]
    pub account_id: Option<String>,
}

/// One error (`<errors><error>`); `code` repeats the HTTP status.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(xml(name = "error"))]
pub struct Open311Error {
    pub code: u16,
    pub description: String,
}

// ---- Formats: one value, written as JSON or XML ----

/// The two formats of the spec, chosen by the resource's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// `name.json` / `name.xml` → (name, format).
    pub fn split(file: &str) -> Option<(&str, Format)> {
        let (name, ext) = file.rsplit_once('.')?;
        let f = match ext.to_ascii_lowercase().as_str() {
            "json" => Format::Json,
            "xml" => Format::Xml,
            _ => return None,
        };
        (!name.is_empty()).then_some((name, f))
    }
}

/// A response value: objects keep their field order, lists name their XML item element.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Null,
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(String),
    Obj(Vec<(&'static str, V)>),
    List(&'static str, Vec<V>),
}

impl V {
    fn s(s: impl Into<String>) -> V {
        V::Str(s.into())
    }
    fn opt(s: Option<String>) -> V {
        s.filter(|s| !s.is_empty()).map(V::Str).unwrap_or(V::Null)
    }
}

impl serde::Serialize for V {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            V::Null => s.serialize_none(),
            V::Bool(b) => s.serialize_bool(*b),
            V::Int(i) => s.serialize_i64(*i),
            V::Num(n) => s.serialize_f64(*n),
            V::Str(t) => s.serialize_str(t),
            V::Obj(fields) => {
                let mut m = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            V::List(_, items) => {
                let mut q = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    q.serialize_element(v)?;
                }
                q.end()
            }
        }
    }
}

/// Text for XML character data: the five markup characters escaped, and characters XML 1.0
/// cannot carry (most control characters) left out.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

fn element(out: &mut String, name: &str, v: &V) {
    match v {
        V::Null => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        }
        V::Obj(fields) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in fields {
                element(out, k, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        V::List(item, items) => {
            out.push_str(&format!("<{name}>"));
            for v in items {
                element(out, item, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        V::Bool(b) => out.push_str(&format!("<{name}>{b}</{name}>")),
        V::Int(i) => out.push_str(&format!("<{name}>{i}</{name}>")),
        V::Num(n) => out.push_str(&format!("<{name}>{n}</{name}>")),
        V::Str(t) => out.push_str(&format!("<{name}>{}</{name}>", escape(t))),
    }
}

/// The XML document of `v` under the root element `root`.
pub fn to_xml(root: &str, v: &V) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    element(&mut out, root, v);
    out.push('\n');
    out
}

fn respond(f: Format, status: StatusCode, root: &str, v: &V) -> Response {
    let (body, ct) = match f {
        Format::Json => (
            serde_json::to_string(v).unwrap_or_else(|_| "[]".into()),
            "application/json; charset=utf-8",
        ),
        Format::Xml => (to_xml(root, v), "text/xml; charset=utf-8"),
    };
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(ct))],
        body,
    )
        .into_response()
}

/// The spec's error answer: one `{code, description}` per problem, `code` the HTTP status.
fn errors(f: Format, status: StatusCode, descriptions: Vec<String>) -> Response {
    let items = descriptions
        .into_iter()
        .map(|d| {
            V::Obj(vec![
                ("code", V::Int(status.as_u16() as i64)),
                ("description", V::Str(d)),
            ])
        })
        .collect();
    respond(f, status, "errors", &V::List("error", items))
}

fn error(f: Format, status: StatusCode, description: String) -> Response {
    errors(f, status, vec![description])
}

// ---- Parameters, language, jurisdiction ----

/// Query or form parameters in their order; a name may repeat.
#[derive(Debug, Default, Clone)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    fn parse(raw: &[u8]) -> Option<Params> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(raw)
            .ok()
            .map(Params)
    }
    /// The first non-empty value of `name`, trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .find(|v| !v.is_empty())
    }
    /// Every value of `name`, split at commas (the spec's lists), trimmed, empty ones left out.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    }
}

/// English when `locale` says so, else when `Accept-Language` puts English first.
pub fn locale(p: &Params, headers: &HeaderMap) -> Locale {
    match p.get("locale") {
        Some(l) if l.to_ascii_lowercase().starts_with("en") => Locale::en,
        Some(_) => Locale::zh,
        None => app::machine::locale(
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        ),
    }
}

fn t(l: Locale, zh: &str, en: &str) -> String {
    match l {
        Locale::en => en.to_string(),
        _ => zh.to_string(),
    }
}

/// Absent or this city's: fine; another: 404 as the spec says.
#[allow(clippy::result_large_err)]
fn jurisdiction(f: Format, l: Locale, p: &Params) -> Result<(), Response> {
    match p.get("jurisdiction_id") {
        None => Ok(()),
        Some(j) if j.eq_ignore_ascii_case(JURISDICTION_ID) => Ok(()),
        Some(j) => Err(error(
            f,
            StatusCode::NOT_FOUND,
            t(
                l,
                &format!(
                    "jurisdiction_id “{j}”未找到，本服务的 jurisdiction_id 为 {JURISDICTION_ID}"
                ),
                &format!("jurisdiction_id '{j}' was not found; this server's is {JURISDICTION_ID}"),
            ),
        )),
    }
}

/// The query string's parameters, or 400.
#[allow(clippy::result_large_err)]
fn query(
    f: Format,
    headers: &HeaderMap,
    raw: Option<String>,
) -> Result<(Params, Locale), Response> {
    match Params::parse(raw.unwrap_or_default().as_bytes()) {
        Some(p) => {
            let l = locale(&p, headers);
            jurisdiction(f, l, &p)?;
            Ok((p, l))
        }
        None => {
            let l = locale(&Params::default(), headers);
            Err(error(
                f,
                StatusCode::BAD_REQUEST,
                t(l, "查询参数格式错误", "The query string is malformed"),
            ))
        }
    }
}

fn internal(f: Format, l: Locale, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "open311 request failed");
    error(
        f,
        StatusCode::INTERNAL_SERVER_ERROR,
        t(
            l,
            "服务暂时不可用，请稍后再试",
            "The service is unavailable; please try again later",
        ),
    )
}

// ---- Time ----

fn offset() -> chrono::FixedOffset {
    // Asia/Shanghai: UTC+8 all year (no daylight saving since 1991).
    chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// An instant as the spec's ISO 8601 with the city's offset: `2026-11-24T13:05:00+08:00`.
pub fn datetime(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&offset())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// A W3C date-time (`2026-11-01T00:00:00Z`, `…+08:00`, without seconds, or a date alone,
/// taken as midnight in the city), in epoch milliseconds. An offset's `+` that arrived as a
/// space (left unencoded in a query string) is read as `+`.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let mut s = s.trim().to_string();
    if s.len() > 6 && s.as_bytes()[s.len() - 6] == b' ' && s.contains('T') {
        let i = s.len() - 6;
        s.replace_range(i..=i, "+");
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(&s) {
        return Some(d.timestamp_millis());
    }
    for fmt in ["%Y-%m-%dT%H:%M%#z", "%Y-%m-%dT%H:%M%:z"] {
        if let Ok(d) = chrono::DateTime::parse_from_str(&s, fmt) {
            return Some(d.timestamp_millis());
        }
    }
    if let Some(no_z) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        if let Ok(n) = chrono::NaiveDateTime::parse_from_str(no_z, "%Y-%m-%dT%H:%M") {
            return Some(n.and_utc().timestamp_millis());
        }
    }
    let d = chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()?;
    d.and_hms_opt(0, 0, 0)?
        .and_local_timezone(offset())
        .single()
        .map(|d| d.timestamp_millis())
}

// ---- Discovery ----

#[utoipa::path(
    get,
    path = "/open311/discovery.json",
    tag = TAG,
    summary = "Discovery document (JSON)",
    description = "Where the GeoReport v2 endpoint is, its formats and how to get a key (also at `/open311/v2/discovery.{json,xml}`).",
    params(CommonQuery),
    responses(
        (status = 200, description = "The discovery document.", body = Discovery, content_type = "application/json"),
        (status = 404, description = "Another `jurisdiction_id`.", body = Vec<Open311Error>, content_type = "application/json"),
    ),
)]
async fn discovery_json(State(st): State<AppState>, headers: HeaderMap, q: RawQuery) -> Response {
    discovery(&st, &headers, q.0, Format::Json)
}

#[utoipa::path(
    get,
    path = "/open311/discovery.xml",
    tag = TAG,
    summary = "Discovery document (XML)",
    description = "Where the GeoReport v2 endpoint is, its formats and how to get a key (also at `/open311/v2/discovery.{json,xml}`).",
    params(CommonQuery),
    responses(
        (status = 200, description = "The discovery document.", body = Discovery, content_type = "text/xml"),
        (status = 404, description = "Another `jurisdiction_id`.", body = Vec<Open311Error>, content_type = "text/xml"),
    ),
)]
async fn discovery_xml(State(st): State<AppState>, headers: HeaderMap, q: RawQuery) -> Response {
    discovery(&st, &headers, q.0, Format::Xml)
}

/// The endpoint's absolute address, from the request's `Host` (and `X-Forwarded-Proto`).
fn base_url(st: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.eq_ignore_ascii_case("https"))
        .unwrap_or(st.config.secure_cookies);
    format!("{}://{host}{BASE}", if https { "https" } else { "http" })
}

fn discovery(st: &AppState, headers: &HeaderMap, raw: Option<String>, f: Format) -> Response {
    let l = match query(f, headers, raw) {
        Ok((_, l)) => l,
        Err(r) => return r,
    };
    let endpoint = V::Obj(vec![
        ("specification", V::s(SPEC)),
        ("url", V::Str(base_url(st, headers))),
        ("changeset", V::s(CHANGESET)),
        ("type", V::s("production")),
        (
            "formats",
            V::List("format", vec![V::s("application/json"), V::s("text/xml")]),
        ),
    ]);
    let v = V::Obj(vec![
        ("changeset", V::s(CHANGESET)),
        (
            "contact",
            V::Str(t(
                l,
                "太原市数字化城市管理指挥中心，市民热线 12345",
                "Taiyuan Digital City Management Command Centre, citizen hotline 12345",
            )),
        ),
        (
            "key_service",
            V::Str(t(
                l,
                "提交请求需要 API 密钥（权限 open311），由系统管理员在“接口密钥”页面（/admin/keys）签发；查询无需密钥。jurisdiction_id 可省略，或为 taiyuan.gov.cn。",
                "Posting requests needs an API key with the scope open311, issued by the administrator on the API keys page (/admin/keys); reading needs none. jurisdiction_id may be left out or be taiyuan.gov.cn.",
            )),
        ),
        ("endpoints", V::List("endpoint", vec![endpoint])),
    ]);
    respond(f, StatusCode::OK, "discovery", &v)
}

// ---- Services ----

fn service_name(s: &Service, l: Locale) -> String {
    t(l, s.zh, s.en)
}

fn service_value(s: &Service, l: Locale) -> V {
    let (gzh, gen) = s.group.names();
    V::Obj(vec![
        ("service_code", V::s(s.code)),
        ("service_name", V::Str(service_name(s, l))),
        ("description", V::Str(t(l, s.about_zh, s.about_en))),
        ("metadata", V::Bool(!s.attributes.is_empty())),
        ("type", V::s("realtime")),
        ("keywords", V::s(s.keywords)),
        ("group", V::Str(t(l, gzh, gen))),
    ])
}

fn definition_value(s: &Service, l: Locale) -> V {
    let attributes = s
        .attributes
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let datatype_description = match a.datatype {
                Datatype::String => V::Str(t(l, "不超过 100 字", "At most 100 characters")),
                Datatype::Text => V::Str(t(l, "不超过 1000 字", "At most 1,000 characters")),
                Datatype::Number => V::Str(t(l, "数字", "A number")),
                Datatype::SingleValueList => V::Null,
            };
            let values = a
                .values
                .iter()
                .map(|(key, zh, en)| {
                    V::Obj(vec![("key", V::s(*key)), ("name", V::Str(t(l, zh, en)))])
                })
                .collect();
            V::Obj(vec![
                ("variable", V::Bool(true)),
                ("code", V::s(a.code)),
                ("datatype", V::s(a.datatype.code())),
                ("required", V::Bool(a.required)),
                ("datatype_description", datatype_description),
                ("order", V::Int(i as i64 + 1)),
                ("description", V::Str(t(l, a.zh, a.en))),
                ("values", V::List("value", values)),
            ])
        })
        .collect();
    V::Obj(vec![
        ("service_code", V::s(s.code)),
        ("attributes", V::List("attribute", attributes)),
    ])
}

#[utoipa::path(
    get,
    path = "/open311/v2/services.json",
    tag = TAG,
    summary = "Service list (JSON)",
    description = "The citizen categories whose catalogue class is active, in the caller's language.",
    params(CommonQuery),
    responses(
        (status = 200, description = "The services.", body = Vec<ServiceOut>, content_type = "application/json"),
        (status = 404, description = "Another `jurisdiction_id`.", body = Vec<Open311Error>, content_type = "application/json"),
        (status = 500, description = "The database did not answer.", body = Vec<Open311Error>, content_type = "application/json"),
    ),
)]
async fn services_json(State(st): State<AppState>, headers: HeaderMap, q: RawQuery) -> Response {
    services(&st, &headers, q.0, Format::Json).await
}

#[utoipa::path(
    get,
    path = "/open311/v2/services.xml",
    tag = TAG,
    summary = "Service list (XML)",
    description = "The citizen categories whose catalogue class is active, in the caller's language.",
    params(CommonQuery),
    responses(
        (status = 200, description = "The services.", body = Vec<ServiceOut>, content_type = "text/xml"),
        (status = 404, description = "Another `jurisdiction_id`.", body = Vec<Open311Error>, content_type = "text/xml"),
        (status = 500, description = "The database did not answer.", body = Vec<Open311Error>, content_type = "text/xml"),
    ),
)]
async fn services_xml(State(st): State<AppState>, headers: HeaderMap, q: RawQuery) -> Response {
    services(&st, &headers, q.0, Format::Xml).await
}

async fn services(st: &AppState, headers: &HeaderMap, raw: Option<String>, f: Format) -> Response {
    let l = match query(f, headers, raw) {
        Ok((_, l)) => l,
        Err(r) => return r,
    };
    match intake::services(&st.store).await {
        Ok(list) => {
            let items = list.into_iter().map(|s| service_value(s, l)).collect();
            respond(f, StatusCode::OK, "services", &V::List("service", items))
        }
        Err(e) => internal(f, l, e),
    }
}

/// An active service by code.
async fn active_service(st: &AppState, code: &str) -> sqlx::Result<Option<&'static Service>> {
    Ok(intake::services(&st.store)
        .await?
        .into_iter()
        .find(|s| s.code == code))
}

fn unknown_service(f: Format, l: Locale, code: &str) -> Response {
    error(
        f,
        StatusCode::NOT_FOUND,
        t(
            l,
            &format!("service_code “{code}”未找到"),
            &format!("service_code '{code}' was not found"),
        ),
    )
}

#[utoipa::path(
    get,
    path = "/open311/v2/services/{file}",
    tag = TAG,
    summary = "Service definition (JSON or XML)",
    description = "The questions (attributes) of one service.",
    params(("file" = String, Path, description = "`{service_code}.json` or `{service_code}.xml`", example = "manhole.json"), CommonQuery),
    responses(
        (status = 200, description = "The service definition.", content(
            (ServiceDefinition = "application/json"), (ServiceDefinition = "text/xml")
        )),
        (status = 404, description = "An unknown or switched-off service, or another `jurisdiction_id`.", content(
            (Vec<Open311Error> = "application/json"), (Vec<Open311Error> = "text/xml")
        )),
        (status = 500, description = "The database did not answer.", content(
            (Vec<Open311Error> = "application/json"), (Vec<Open311Error> = "text/xml")
        )),
    ),
)]
async fn service_definition(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    q: RawQuery,
) -> Response {
    let Some((code, f)) = Format::split(&file) else {
        return not_found_at(&headers, &file);
    };
    let l = match query(f, &headers, q.0) {
        Ok((_, l)) => l,
        Err(r) => return r,
    };
    match active_service(&st, code).await {
        Ok(Some(s)) => respond(
            f,
            StatusCode::OK,
            "service_definition",
            &definition_value(s, l),
        ),
        Ok(None) => unknown_service(f, l, code),
        Err(e) => internal(f, l, e),
    }
}

// ---- Requests ----

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// A report as the spec's `request`: only what may be published.
pub fn request_value(s: &PublicStatus, l: Locale) -> V {
    let service_name = citizen::service(&s.service_code)
        .map(|svc| service_name(svc, l))
        .unwrap_or_else(|| s.service_code.clone());
    let agency = match l {
        Locale::en => s.department_en.clone(),
        _ => s.department_zh.clone(),
    }
    .unwrap_or_else(|| t(l, COMMAND_CENTRE.0, COMMAND_CENTRE.1));
    let address = match l {
        Locale::en => format!("{}, {}", s.street_en, s.district_en),
        _ => format!("{}{}", s.district_zh, s.street_zh),
    };
    V::Obj(vec![
        ("service_request_id", V::Str(s.request_id.clone())),
        ("status", V::s(s.state.open311())),
        ("status_notes", V::opt(s.status_note.clone())),
        ("service_name", V::Str(service_name)),
        ("service_code", V::Str(s.service_code.clone())),
        ("description", V::opt(Some(s.description.clone()))),
        ("agency_responsible", V::Str(agency)),
        ("service_notice", V::Null),
        ("requested_datetime", V::Str(datetime(s.reported_at))),
        ("updated_datetime", V::Str(datetime(s.updated_at))),
        (
            "expected_datetime",
            s.expected_at
                .map(|e| V::Str(datetime(e)))
                .unwrap_or(V::Null),
        ),
        ("address", V::Str(address)),
        ("address_id", V::Str(s.grid_code.clone())),
        ("zipcode", V::Null),
        ("lat", V::Num(round6(s.lat))),
        ("long", V::Num(round6(s.lon))),
        ("media_url", V::Null),
    ])
}

fn bad(f: Format, description: String) -> Response {
    error(f, StatusCode::BAD_REQUEST, description)
}

/// The filter a `GET requests` query asks for, or the 400 to answer.
pub fn filter(p: &Params, l: Locale, now: i64) -> Result<RequestFilter, String> {
    let ids = p.list("service_request_id");
    if !ids.is_empty() {
        // The ids override every other filter (spec); an id that is not one matches none.
        return Ok(RequestFilter {
            ids: ids.iter().map(|c| c.trim().to_string()).collect(),
            limit: MAX_REQUESTS,
            ..Default::default()
        });
    }
    let date = |name: &str| -> Result<Option<i64>, String> {
        match p.get(name) {
            None => Ok(None),
            Some(v) => parse_datetime(v).map(Some).ok_or_else(|| {
                t(
                    l,
                    &format!("{name} “{v}”不是有效的日期时间，应为 ISO 8601 格式，如 2026-11-01T00:00:00+08:00"),
                    &format!("{name} '{v}' is not a valid date-time; use ISO 8601 (W3C), e.g. 2026-11-01T00:00:00+08:00"),
                )
            }),
        }
    };
    let window = WINDOW_DAYS * DAY_MS;
    let (start, end) = match (date("start_date")?, date("end_date")?) {
        (None, None) => (now - window, None),
        (Some(s), None) => (s, Some(s + window)),
        (None, Some(e)) => (e - window, Some(e)),
        (Some(s), Some(e)) => {
            if e < s {
                return Err(t(
                    l,
                    "end_date 早于 start_date",
                    "end_date is before start_date",
                ));
            }
            if e - s > window {
                return Err(t(
                    l,
                    &format!("start_date 与 end_date 相差不得超过 {WINDOW_DAYS} 天"),
                    &format!("start_date and end_date may not span more than {WINDOW_DAYS} days"),
                ));
            }
            (s, Some(e))
        }
    };
    let mut open = None;
    let statuses = p.list("status");
    for s in &statuses {
        let this = match s.to_ascii_lowercase().as_str() {
            "open" => true,
            "closed" => false,
            _ => {
                return Err(t(
                    l,
                    &format!("status “{s}”无效，可选 open、closed"),
                    &format!("status '{s}' is not valid; use open or closed"),
                ))
            }
        };
        open = match open {
            None => Some(Some(this)),
            Some(Some(o)) if o != this => Some(None),
            same => same,
        };
    }
    Ok(RequestFilter {
        ids: Vec::new(),
        service_codes: p.list("service_code"),
        start: Some(start),
        // end_date is the latest instant included.
        end: end.map(|e| e + 1),
        open: open.flatten(),
        limit: MAX_REQUESTS,
    })
}

#[utoipa::path(
    get,
    path = "/open311/v2/requests.json",
    tag = TAG,
    summary = "Service requests (JSON)",
    description = "Reports newest first, at most 1,000; the last 90 days unless dates are given. Only what may be published: the place as its unit grid, no contact details.",
    params(RequestsQuery),
    responses(
        (status = 200, description = "The requests.", body = Vec<RequestOut>, content_type = "application/json"),
        (status = 400, description = "A date that is not ISO 8601, dates more than 90 days apart or reversed, an unknown status.", body = Vec<Open311Error>, content_type = "application/json"),
        (status = 404, description = "Another `jurisdiction_id`.", body = Vec<Open311Error>, content_type = "application/json"),
        (status = 500, description = "The database did not answer.", body = Vec<Open311Error>, content_type = "application/json"),
    ),
)]
async fn requests_json(State(st): State<AppState>, headers: HeaderMap, q: RawQuery) -> Response {
    requests(&st, &headers, q.0, Format::Json).await
}

#[utoipa::path(
    get,
    path = "/open311/v2/requests.xml",
    tag = TAG,
    summary = "Service requests (XML)",
    description = "Reports newest first, at most 1,000; the last 90 days unless dates are given. Only what may be published: the place as its unit grid, no contact details.",
    params(RequestsQuery),
    responses(
        (status = 200, description = "The requests.", body = Vec<RequestOut>, content_type = "text/xml"),
        (status = 400, description = "A date that is not ISO 8601, dates more than 90 days apart or reversed, an unknown status.", body = Vec<Open311Error>, content_type = "text/xml"),
        (status = 404, description = "Another `jurisdiction_id`.", body = Vec<Open311Error>, content_type = "text/xml"),
        (status = 500, description = "The database did not answer.", body = Vec<Open311Error>, content_type = "text/xml"),
    ),
)]
async fn requests_xml(State(st): State<AppState>, headers: HeaderMap, q: RawQuery) -> Response {
    requests(&st, &headers, q.0, Format::Xml).await
}

async fn requests(st: &AppState, headers: &HeaderMap, raw: Option<String>, f: Format) -> Response {
    let (p, l) = match query(f, headers, raw) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let filter = match filter(&p, l, app::db::now_ms()) {
        Ok(x) => x,
        Err(d) => return bad(f, d),
    };
    match intake::requests(&st.store, &filter).await {
        Ok(list) => {
            let items = list.iter().map(|s| request_value(s, l)).collect();
            respond(
                f,
                StatusCode::OK,
                "service_requests",
                &V::List("request", items),
            )
        }
        Err(e) => internal(f, l, e),
    }
}

#[utoipa::path(
    get,
    path = "/open311/v2/requests/{file}",
    tag = TAG,
    summary = "One service request (JSON or XML)",
    description = "A report by its tracking code (any case, with or without dashes), as a list of one.",
    params(("file" = String, Path, description = "`{service_request_id}.json` or `.xml`", example = "TY-4K7M-X2QD.json"), CommonQuery),
    responses(
        (status = 200, description = "The request.", content(
            (Vec<RequestOut> = "application/json"), (Vec<RequestOut> = "text/xml")
        )),
        (status = 404, description = "No such request, or another `jurisdiction_id`.", content(
            (Vec<Open311Error> = "application/json"), (Vec<Open311Error> = "text/xml")
        )),
        (status = 500, description = "The database did not answer.", content(
            (Vec<Open311Error> = "application/json"), (Vec<Open311Error> = "text/xml")
        )),
    ),
)]
async fn request_one(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    q: RawQuery,
) -> Response {
    let Some((id, f)) = Format::split(&file) else {
        return not_found_at(&headers, &file);
    };
    let l = match query(f, &headers, q.0) {
        Ok((_, l)) => l,
        Err(r) => return r,
    };
    let one = RequestFilter {
        ids: vec![id.to_string()],
        limit: 1,
        ..Default::default()
    };
    match intake::requests(&st.store, &one)
        .await
        .map(|v| v.into_iter().next())
    {
        Ok(Some(s)) => respond(
            f,
            StatusCode::OK,
            "service_requests",
            &V::List("request", vec![request_value(&s, l)]),
        ),
        Ok(None) => error(
            f,
            StatusCode::NOT_FOUND,
            t(
                l,
                &format!("service_request_id “{id}”未找到"),
                &format!("service_request_id '{id}' was not found"),
            ),
        ),
        Err(e) => internal(f, l, e),
    }
}

// ---- Posting a request ----

#[utoipa::path(
    post,
    path = "/open311/v2/requests.json",
    tag = TAG,
    summary = "Post a service request (JSON answer)",
    description = "A report of a citizen through an Open311 app: a new case in the dispatcher's queue. Needs `api_key` (a key with the scope `open311`) and `lat`/`long` (no geocoding). Answer attributes as `attribute[code]=value`.",
    params(CommonQuery),
    request_body(content((PostForm = "application/x-www-form-urlencoded"), (PostForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "Created: the tracking code is the `service_request_id`.", body = Vec<PostedOut>, content_type = "application/json"),
        (status = 400, description = "A missing or invalid parameter; one error per field.", body = Vec<Open311Error>, content_type = "application/json"),
        (status = 403, description = "`api_key` missing, unknown, revoked or without the scope `open311`.", body = Vec<Open311Error>, content_type = "application/json"),
        (status = 404, description = "An unknown `service_code` or another `jurisdiction_id`.", body = Vec<Open311Error>, content_type = "application/json"),
        (status = 429, description = "Too many requests for this key (`CITYLINK_API_RATE` per second).", body = Vec<Open311Error>, content_type = "application/json", headers(("Retry-After" = u64, description = "Seconds to wait."))),
        (status = 500, description = "The database did not answer; nothing was stored.", body = Vec<Open311Error>, content_type = "application/json"),
    ),
)]
async fn post_json(
    State(st): State<AppState>,
    Extension(limiter): Extension<Limiter>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    q: RawQuery,
    body: Body,
) -> Response {
    post(&st, &limiter, meta, &headers, q.0, body, Format::Json).await
}

#[utoipa::path(
    post,
    path = "/open311/v2/requests.xml",
    tag = TAG,
    summary = "Post a service request (XML answer)",
    description = "A report of a citizen through an Open311 app: a new case in the dispatcher's queue. Needs `api_key` (a key with the scope `open311`) and `lat`/`long` (no geocoding). Answer attributes as `attribute[code]=value`.",
    params(CommonQuery),
    request_body(content((PostForm = "application/x-www-form-urlencoded"), (PostForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "Created: the tracking code is the `service_request_id`.", body = Vec<PostedOut>, content_type = "text/xml"),
        (status = 400, description = "A missing or invalid parameter; one error per field.", body = Vec<Open311Error>, content_type = "text/xml"),
        (status = 403, description = "`api_key` missing, unknown, revoked or without the scope `open311`.", body = Vec<Open311Error>, content_type = "text/xml"),
        (status = 404, description = "An unknown `service_code` or another `jurisdiction_id`.", body = Vec<Open311Error>, content_type = "text/xml"),
        (status = 429, description = "Too many requests for this key (`CITYLINK_API_RATE` per second).", body = Vec<Open311Error>, content_type = "text/xml", headers(("Retry-After" = u64, description = "Seconds to wait."))),
        (status = 500, description = "The database did not answer; nothing was stored.", body = Vec<Open311Error>, content_type = "text/xml"),
    ),
)]
async fn post_xml(
    State(st): State<AppState>,
    Extension(limiter): Extension<Limiter>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    q: RawQuery,
    body: Body,
) -> Response {
    post(&st, &limiter, meta, &headers, q.0, body, Format::Xml).await
}

/// The fields of a `multipart/form-data` body (file parts are skipped).
async fn multipart_fields(bytes: axum::body::Bytes, boundary: String) -> Option<Params> {
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes) });
    let mut m = multer::Multipart::new(stream, boundary);
    let mut out = Vec::new();
    while let Some(field) = m.next_field().await.ok()? {
        let Some(name) = field.name().map(str::to_string) else {
            continue;
        };
        if field.file_name().is_some() {
            continue;
        }
        out.push((name, field.text().await.ok()?));
    }
    Some(Params(out))
}

/// The body's parameters after the query string's (the spec posts a form; some clients put
/// parameters in the query string as well).
async fn post_params(headers: &HeaderMap, raw: Option<String>, body: Body) -> Option<Params> {
    let mut p = Params::parse(raw.unwrap_or_default().as_bytes())?;
    let bytes = to_bytes(body, BODY_LIMIT).await.ok()?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let from_body = if ct.to_ascii_lowercase().starts_with("multipart/form-data") {
        let boundary = multer::parse_boundary(ct).ok()?;
        multipart_fields(bytes, boundary).await?
    } else {
        Params::parse(&bytes)?
    };
    // Body values first, so they win over the query string's.
    let mut all = from_body.0;
    all.append(&mut p.0);
    p.0 = all;
    Some(p)
}

/// What a field error of the intake means, in the caller's language and the spec's names.
fn field_message(l: Locale, e: &FieldError) -> String {
    let param = match e.field.as_str() {
        "lon" => "long",
        "address" => "address_string",
        other => other,
    };
    let (zh, en) = match e.kind {
        K::OutsideGrids => (
            "位置不在太原市城区单元网格内",
            "the place lies outside the city's unit grids (urban Taiyuan)",
        ),
        K::BadNumber if param == "lat" || param == "long" => {
            ("应为十进制度数（WGS84）", "must be decimal degrees (WGS84)")
        }
        K::BadNumber => ("格式无效", "is not valid"),
        K::Required if param == "email" => {
            ("不是有效的电子邮件地址", "is not a valid email address")
        }
        K::Required => ("必填", "is required"),
        K::TooLong => ("过长", "is too long"),
        K::UnknownService => ("未找到该服务", "names no service"),
        K::BadAnswer => (
            "缺少或不是可选值之一（见服务定义）",
            "is missing or not one of its values (see the service definition)",
        ),
        K::TooManyPhotos => ("照片过多", "too many photos"),
        _ => ("无效", "is not valid"),
    };
    t(l, &format!("{param}：{zh}"), &format!("{param}: {en}"))
}

#[allow(clippy::too_many_arguments)]
async fn post(
    st: &AppState,
    limiter: &Limiter,
    meta: RequestMeta,
    headers: &HeaderMap,
    raw: Option<String>,
    body: Body,
    f: Format,
) -> Response {
    let Some(p) = post_params(headers, raw, body).await else {
        let l = locale(&Params::default(), headers);
        return bad(
            f,
            t(
                l,
                "请求体无法读取：应为 application/x-www-form-urlencoded 或 multipart/form-data，且不超过 1 MiB",
                "The body could not be read: send application/x-www-form-urlencoded or multipart/form-data of at most 1 MiB",
            ),
        );
    };
    let l = locale(&p, headers);
    if let Err(r) = jurisdiction(f, l, &p) {
        return r;
    }
    let forbidden = |zh: &str, en: &str| error(f, StatusCode::FORBIDDEN, t(l, zh, en));
    let Some(secret) = p.get("api_key") else {
        return forbidden("缺少 api_key", "api_key was not provided");
    };
    let key = match check_key(&st.store, secret).await {
        Ok(KeyCheck::Valid(k)) => k,
        Ok(KeyCheck::Revoked) => return forbidden("api_key 已被吊销", "api_key has been revoked"),
        Ok(KeyCheck::Unknown) => return forbidden("api_key 无效", "api_key is not valid"),
        Err(e) => return internal(f, l, e),
    };
    if !key.allows(SCOPE) {
        return forbidden(
            "该 api_key 无权提交 Open311 请求（需要权限 open311）",
            "This api_key may not post Open311 requests (it needs the scope open311)",
        );
    }
    if let Err(not_until) = limiter.0.check_key(&key.id) {
        use governor::clock::{Clock, DefaultClock};
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        return too_many(f, l, wait.as_secs().max(1));
    }
    let Some(code) = p.get("service_code") else {
        return bad(
            f,
            t(l, "缺少 service_code", "service_code was not provided"),
        );
    };
    match active_service(st, code).await {
        Ok(Some(_)) => {}
        Ok(None) => return unknown_service(f, l, code),
        Err(e) => return internal(f, l, e),
    }
    let (lat, long) = (p.get("lat"), p.get("long"));
    if lat.is_none() || long.is_none() {
        let has_address = p.get("address_string").is_some() || p.get("address_id").is_some();
        return bad(
            f,
            if has_address {
                t(
                    l,
                    "需要 lat 和 long：本服务不根据地址查找位置，仅有 address_string 或 address_id 不够",
                    "lat and long are required: this server does not look addresses up, so address_string or address_id alone is not enough",
                )
            } else {
                t(
                    l,
                    "需要 lat 和 long（十进制度数，WGS84）",
                    "lat and long are required (decimal degrees, WGS84)",
                )
            },
        );
    }
    let num = |v: Option<&str>| v.and_then(|v| v.parse::<f64>().ok());
    let answers = intake::answers_from(p.0.iter().map(|(k, v)| (k, v)));
    let text = |name: &str| p.get(name).unwrap_or("").to_string();
    let report = NewCitizenReport {
        service_code: code.to_string(),
        lon: num(long),
        lat: num(lat),
        address: text("address_string"),
        description: text("description"),
        answers,
        email: text("email"),
        phone: text("phone"),
        first_name: text("first_name"),
        last_name: text("last_name"),
        device_id: text("device_id"),
        account_id: text("account_id"),
        api_key_id: Some(key.id),
        photos: Vec::new(),
    };
    let actor = Actor {
        user_id: None,
        username: Some(format!("api-key:{}", key.source)),
        ip: meta.ip,
        request_id: meta.request_id,
    };
    let client = format!("open311-key-{}", key.id);
    match intake::submit(
        &st.store,
        &actor,
        Channel::Open311,
        &client,
        PER_KEY_PER_HOUR,
        report,
    )
    .await
    {
        Ok((_, request_id, tracking)) => {
            st.live.publish(&st.store, "cases").await;
            let notice = t(
                l,
                &format!("已收到，指挥中心将尽快核实立案。查询码 {tracking}，可在 /track/{tracking} 查看进度。"),
                &format!("Received: the command centre will check it shortly. Tracking code {tracking}; follow it at /track/{tracking}."),
            );
            let v = V::List(
                "request",
                vec![V::Obj(vec![
                    ("service_request_id", V::Str(request_id)),
                    ("service_notice", V::Str(notice)),
                    ("account_id", V::Null),
                ])],
            );
            respond(f, StatusCode::OK, "service_requests", &v)
        }
        Err(AppError::Invalid(errs)) => errors(
            f,
            StatusCode::BAD_REQUEST,
            errs.iter().map(|e| field_message(l, e)).collect(),
        ),
        Err(AppError::TooManyRequests { minutes }) => too_many(f, l, (minutes.max(1) * 60) as u64),
        Err(e) => internal(f, l, e),
    }
}

fn too_many(f: Format, l: Locale, wait_s: u64) -> Response {
    let mut r = error(
        f,
        StatusCode::TOO_MANY_REQUESTS,
        t(
            l,
            &format!("请求过于频繁，请 {wait_s} 秒后再试"),
            &format!("Too many requests; try again in {wait_s} s"),
        ),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait_s));
    r
}

// ---- Anything else under /open311/ ----

fn not_found_at(headers: &HeaderMap, path: &str) -> Response {
    let f = if path.to_ascii_lowercase().ends_with(".xml") {
        Format::Xml
    } else {
        Format::Json
    };
    let l = locale(&Params::default(), headers);
    error(
        f,
        StatusCode::NOT_FOUND,
        t(
            l,
            "没有这个 Open311 资源，请参阅 /open311/discovery.json",
            "No such Open311 resource; see /open311/discovery.json",
        ),
    )
}

async fn not_found(headers: HeaderMap, Path(rest): Path<String>) -> Response {
    not_found_at(&headers, &rest)
}

/// Any origin may call the Open311 API from a browser: the key, not a cookie, authenticates.
async fn cors(req: Request, next: Next) -> Response {
    let mut res = if req.method() == Method::OPTIONS {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Accept, Accept-Language, Content-Type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("86400"),
        );
        r
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Retry-After"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_is_escaped_and_shaped() {
        let v = V::List(
            "error",
            vec![V::Obj(vec![
                ("code", V::Int(400)),
                ("description", V::s("a < b & \"c\" > 'd'\u{1}")),
                ("none", V::Null),
            ])],
        );
        assert_eq!(
            to_xml("errors", &v),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<errors><error><code>400</code>\
             <description>a &lt; b &amp; &quot;c&quot; &gt; &apos;d&apos;</description>\
             <none/></error></errors>\n"
        );
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"[{"code":400,"description":"a < b & \"c\" > 'd'\u0001","none":null}]"#
        );
    }

    #[test]
    fn formats_come_from_the_extension() {
        assert_eq!(
            Format::split("TY-ABCD-EFGH.json"),
            Some(("TY-ABCD-EFGH", Format::Json))
        );
        assert_eq!(Format::split("pothole.XML"), Some(("pothole", Format::Xml)));
        assert_eq!(Format::split("pothole.html"), None);
        assert_eq!(Format::split("pothole"), None);
        assert_eq!(Format::split(".json"), None);
    }

    #[test]
    fn datetimes() {
        assert_eq!(datetime(0), "1970-01-01T08:00:00+08:00");
        let z = parse_datetime("2026-11-01T00:00:00Z").unwrap();
        assert_eq!(parse_datetime("2026-11-01T08:00:00+08:00"), Some(z));
        // A '+' sent unencoded arrives as a space.
        assert_eq!(parse_datetime("2026-11-01T08:00:00 08:00"), Some(z));
        assert_eq!(parse_datetime("2026-11-01T08:00+08:00"), Some(z));
        assert_eq!(parse_datetime("2026-11-01T00:00Z"), Some(z));
        assert_eq!(parse_datetime("2026-11-01T00:00:00.000Z"), Some(z));
        // A date alone: midnight in the city.
        assert_eq!(parse_datetime("2026-11-01"), Some(z - 8 * 3_600_000));
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-11-01T25:00:00Z",
            "11-01-2026",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn request_filters() {
        let p = |q: &str| Params::parse(q.as_bytes()).unwrap();
        let now = 1_000 * DAY_MS;
        let f = filter(&p(""), Locale::en, now).unwrap();
        assert_eq!(
            (f.start, f.end, f.open),
            (Some(now - 90 * DAY_MS), None, None)
        );
        assert_eq!(f.limit, 1000);
        let f = filter(&p("status=open,closed"), Locale::en, now).unwrap();
        assert_eq!(f.open, None);
        let f = filter(
            &p("status=closed&service_code=pothole,manhole"),
            Locale::en,
            now,
        )
        .unwrap();
        assert_eq!(f.open, Some(false));
        assert_eq!(f.service_codes, ["pothole", "manhole"]);
        let f = filter(&p("status=open&status=open"), Locale::en, now).unwrap();
        assert_eq!(f.open, Some(true));
        assert!(filter(&p("status=fixed"), Locale::en, now).is_err());
        assert!(filter(&p("start_date=soon"), Locale::en, now)
            .unwrap_err()
            .contains("start_date"));
        assert!(filter(
            &p("start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z"),
            Locale::en,
            now
        )
        .unwrap_err()
        .contains("90 days"));
        assert!(filter(
            &p("start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z"),
            Locale::en,
            now
        )
        .is_err());
        let f = filter(
            &p("end_date=2026-02-01T00:00:00Z&status=bogus&service_request_id=20261125-000123, 20261125-000124"),
            Locale::en,
            now,
        )
        .unwrap();
        // The ids override everything else, even an invalid status.
        assert_eq!(f.ids, ["20261125-000123", "20261125-000124"]);
        assert_eq!((f.start, f.end, f.open), (None, None, None));
    }

    #[test]
    fn params_and_locale() {
        let p = Params::parse(b"locale=en-US&a=1&a=2,3&b=").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.list("a"), ["1", "2", "3"]);
        let mut h = HeaderMap::new();
        assert_eq!(locale(&p, &h), Locale::en);
        assert_eq!(locale(&Params::default(), &h), Locale::zh);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("en-GB,en;q=0.8"),
        );
        assert_eq!(locale(&Params::default(), &h), Locale::en);
        let zh = Params::parse(b"locale=zh-CN").unwrap();
        assert_eq!(locale(&zh, &h), Locale::zh);
    }
}
