//! OpenAPI 3.1 document of the machine endpoints, served at `GET /api/v1/openapi.json`.
//!
//! One source for the router and the document: the machine routes are registered here,
//! through utoipa-axum's [`OpenApiRouter`], and `routes!` takes each handler's method and path
//! from its `#[utoipa::path]` annotation. [`machine_routes`] therefore yields the routes the
//! server answers and the operations the document lists together; `startup::router` merges
//! the routes and serves the document built from the same call. What the annotations cannot
//! enforce (the handlers build their JSON by hand) `tests/openapi.rs` checks: every
//! documented operation answers on the real router, every documented status of every
//! operation is provoked there and its real body validated against the documented schema
//! (response schemas refuse unknown properties, so a field added to a response without its
//! schema fails), and the whole document is compared with `tests/openapi.snapshot.json`.
//!
//! # Adding a machine endpoint (Open311, open data, ...)
//!
//! 1. Annotate the real handler with `#[utoipa::path(METHOD, path = "...", tag = TAG, ...)]`
//!    with `params(...)` for path and query parameters, `request_body = ...` if it takes
//!    one, and every status it answers in `responses(...)` with its body schema and content
//!    type (`content_type = "application/xml"` for XML, `body = String, content_type =
//!    "text/csv"` for CSV; list both `content(...)` entries when one path answers in either
//!    format). Public endpoints leave out `security(...)`; keyed ones take
//!    `security(("api_key" = []))` like the ingest handlers in `ingest.rs`.
//! 2. Describe its wire types with `#[derive(utoipa::ToSchema)]`: on the real request and
//!    response types when the handler (de)serialises typed structs (in the `app` crate behind
//!    `#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]`, so the WebAssembly build never
//!    sees utoipa), or as wire-format types below when it builds JSON by hand (as ingest does).
//!    Response objects carry `#[serde(deny_unknown_fields)]` so the document says
//!    `additionalProperties: false` and the test notices a field the schema lacks.
//! 3. Register it in [`machine_routes`] with `.routes(routes!(module::handler))` instead of
//!    `.route(...)` in `startup::router` (a handler answering several methods on one path:
//!    `routes!(get_x, post_x)`). Add a tag in [`ApiDoc`] for a new family.
//! 4. In `tests/openapi.rs`: add the method and path to `EXPECTED`, and a request provoking
//!    each documented status to `provoke` (the test fails while a documented status was
//!    never seen). Then regenerate the snapshot:
//!    `UPDATE_OPENAPI=1 cargo test -p citylink-server --test openapi` and commit it.
use crate::http::{ingest, opendata};
use app::state::AppState;
use axum::http::{header, HeaderValue};
use axum::routing::{get, MethodRouter};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Where the document is served.
pub const PATH: &str = "/api/v1/openapi.json";

/// Name of the bearer-key security scheme the keyed operations require.
pub const API_KEY: &str = "api_key";

/// The document's head: info, servers, tags, shared components and the security scheme.
/// Operations and their schemas come from the handlers registered in [`machine_routes`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "CityLink machine API",
        description = "Endpoints for machines of the CityLink city-operations platform \
            (Taiyuan): Sky Eye camera alerts and heartbeats, energy meter readings, Open311 \
            citizen reports and the open data downloads.\n\n\
            Keyed endpoints take `Authorization: Bearer <key>`; keys are created by an \
            administrator (`/admin/keys`), belong to one department and one source \
            (integration) and carry scopes (`alerts`, `heartbeats`, `readings`). Each item \
            of a batch is judged on its own: valid items are stored even when others are \
            refused, and a retried batch stores nothing twice. Messages follow \
            `Accept-Language` (Chinese unless English is asked for); the `error` and item \
            `code` values are stable for programs.",
    ),
    servers((url = "/", description = "This server")),
    tags(
        (name = "skyeye", description = "Sky Eye: video analytics platforms push alerts and camera heartbeats."),
        (name = "energy", description = "Energy and carbon: meter gateways push interval readings."),
        (name = "open311", description = "Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2): citizen services and requests, each resource as `.json` or `.xml`, errors as the spec's `[{code, description}]`. Posting takes the `api_key` form parameter (a key with the scope `open311`), not the bearer header."),
        (name = "open data", description = "The public datasets (`/data`): monthly figures at district level under CC BY 4.0, complete Shanghai months only, as CSV (UTF-8 with a byte-order mark) or JSON. Public, no key."),
    ),
    components(schemas(ApiError, ErrorCode, ItemErrorBody)),
    modifiers(&BearerKey),
)]
pub struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            API_KEY,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("CityLink API key")
                    .description(Some(
                        "An API key created by an administrator; the secret is shown once.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The machine routes with the document describing them. Every machine endpoint is
/// registered here and nowhere else.
pub fn machine_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(ingest::post_alerts))
        .routes(routes!(ingest::post_heartbeats))
        .routes(routes!(ingest::post_readings))
        .merge(crate::http::open311::routes())
        .routes(routes!(opendata::download))
}

/// The document alone (the snapshot test and tools).
pub fn document() -> utoipa::openapi::OpenApi {
    machine_routes().into_openapi()
}

/// `GET /api/v1/openapi.json`: the document, serialised once. Public and cacheable for five
/// minutes; any origin may read it (API tools in a browser).
pub fn serve<S: Clone + Send + Sync + 'static>(api: &utoipa::openapi::OpenApi) -> MethodRouter<S> {
    let body = axum::body::Bytes::from(api.to_json().expect("the OpenAPI document serialises"));
    get(move || {
        let body = body.clone();
        async move {
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    ),
                    (
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("public, max-age=300"),
                    ),
                    (
                        header::ACCESS_CONTROL_ALLOW_ORIGIN,
                        HeaderValue::from_static("*"),
                    ),
                ],
                body,
            )
        }
    })
}

// ---- wire formats ----
//
// The ingest handlers read items as JSON values (each item is judged on its own, so one
// malformed item never refuses the batch) and build their answers with `json!`; these types
// describe those bodies for the document. The test holds them to the real answers.

/// Refusal of a whole request.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiError {
    pub error: ErrorCode,
    /// The refusal in the caller's language (`Accept-Language`).
    pub message: String,
}

/// Stable code of a refused request: 400 `malformed_json`, `missing_items`, `empty_batch`;
/// 401 `missing_key`, `unknown_key`, `revoked_key`; 403 `scope_missing`; 413
/// `batch_too_large` (over 1,000 alerts or heartbeats), `readings_batch_too_large` (over
/// 10,000 readings), `body_too_large`; 422 `none_accepted`; 429 `rate_limited`; 503
/// `internal`.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the body is not JSON.
    MalformedJson,
    /// 400: the body has no item array under the expected name.
    MissingItems,
    /// 400: the item array is empty.
    EmptyBatch,
    /// 401: no `Authorization: Bearer` key.
    MissingKey,
    /// 401: no such key.
    UnknownKey,
    /// 401: the key was revoked.
    RevokedKey,
    /// 403: the key lacks the endpoint's scope.
    ScopeMissing,
    /// 413: more than 1,000 alerts or heartbeats.
    BatchTooLarge,
    /// 413: more than 10,000 readings.
    ReadingsBatchTooLarge,
    /// 413: the body is over the endpoint's limit.
    BodyTooLarge,
    /// 422: no item of the batch could be accepted.
    NoneAccepted,
    /// 429: too many requests for this key.
    RateLimited,
    /// 503: the database did not answer; retry later.
    Internal,
}

/// Why one item was refused.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemErrorBody {
    /// The item's field at fault.
    #[schema(example = "camera")]
    pub field: String,
    /// Stable code, e.g. `required`, `unknown_camera`, `bad_time`, `bad_number`.
    #[schema(example = "unknown_camera")]
    pub code: String,
    /// The reason in the caller's language.
    pub message: String,
}

/// The refusals every batch endpoint shares.
#[derive(IntoResponses)]
#[allow(dead_code)] // documentation only: the handlers answer with `ingest::error`.
pub enum BatchRefusals {
    /// The body is not JSON, has no item array or an empty one.
    #[response(status = 400)]
    BadRequest(ApiError),
    /// Key missing, unknown or revoked.
    #[response(
        status = 401,
        headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"citylink\"`"))
    )]
    Unauthorized(ApiError),
    /// The key lacks the endpoint's scope.
    #[response(status = 403)]
    Forbidden(ApiError),
    /// Too many items, or a body over the endpoint's limit.
    #[response(status = 413)]
    PayloadTooLarge(ApiError),
    /// Too many requests for this key (`CITYLINK_API_RATE` per second, bursts of twice as many).
    #[response(
        status = 429,
        headers(("Retry-After" = u64, description = "Seconds to wait before the next request."))
    )]
    TooManyRequests(ApiError),
    /// The database did not answer; nothing was stored, send the batch again later.
    #[response(status = 503)]
    Unavailable(ApiError),
}

/// `POST /api/v1/alerts` body.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct AlertBatch {
    #[schema(min_items = 1, max_items = 1000)]
    pub alerts: Vec<AlertIn>,
}

/// One detection of a video analytics platform.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct AlertIn {
    /// The sender's id of the alert: alerts are idempotent on (key's source, external_id).
    #[schema(max_length = 128, example = "vms-20260301-000123")]
    pub external_id: String,
    /// Camera code (registered by a heartbeat or by an administrator).
    #[schema(max_length = 40, example = "YZ-0001")]
    pub camera: String,
    /// Alert type code (`alert_types`).
    #[serde(rename = "type")]
    #[schema(example = "illegal_parking")]
    pub kind: String,
    /// When it was detected: RFC 3339 with an offset, not more than 5 minutes ahead nor
    /// more than 30 days old.
    #[schema(format = DateTime, example = "2026-03-01T09:30:00+08:00")]
    pub at: String,
    /// Detection confidence.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub confidence: Option<f64>,
    /// Base64 JPEG or PNG, at most 512 KiB decoded.
    #[schema(content_encoding = "base64")]
    pub snapshot: Option<String>,
}

/// Answer to an alert batch (200, or 422 with `error` when no item was accepted).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertBatchResult {
    /// Alerts stored now.
    pub accepted: u64,
    /// Alerts stored before (a retry) or repeated within the batch.
    pub duplicates: u64,
    pub rejected: u64,
    /// One entry per item, in order.
    pub results: Vec<AlertResult>,
    /// `none_accepted`, with 422 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<ErrorCode>,
    /// With 422 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub message: Option<String>,
}

/// What became of one alert.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertResult {
    /// Position of the item in the batch, from 0.
    pub index: u64,
    /// The item's `external_id` (null when it had none).
    #[schema(required = true)]
    pub external_id: Option<String>,
    pub status: AlertStatus,
    /// With `created` and `duplicate`: the stored alert.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub alert_id: Option<i64>,
    /// With `created` and `duplicate`: the incident the alert folded into.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub incident_id: Option<i64>,
    /// With `rejected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub errors: Option<Vec<ItemErrorBody>>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Created,
    Duplicate,
    Rejected,
}

/// `POST /api/v1/cameras/heartbeat` body.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct HeartbeatBatch {
    #[schema(min_items = 1, max_items = 1000)]
    pub heartbeats: Vec<HeartbeatIn>,
}

/// A camera's sign of life. An unknown camera with `name`, `lon` and `lat` inside the city's
/// grids is registered to the key's department.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct HeartbeatIn {
    #[schema(max_length = 40, example = "YZ-0001")]
    pub camera: String,
    /// `online` when left out; `tampered` opens a tampering incident.
    pub status: Option<CameraStatus>,
    /// Name, to register an unknown camera.
    #[schema(max_length = 80)]
    pub name: Option<String>,
    /// Longitude (WGS 84), to register an unknown camera.
    #[schema(example = 112.565)]
    pub lon: Option<f64>,
    /// Latitude (WGS 84), to register an unknown camera.
    #[schema(example = 37.855)]
    pub lat: Option<f64>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CameraStatus {
    Online,
    Tampered,
}

/// Answer to a heartbeat batch (200, or 422 with `error` when no item was accepted).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatBatchResult {
    pub accepted: u64,
    pub rejected: u64,
    /// One entry per item, in order.
    pub results: Vec<HeartbeatResult>,
    /// `none_accepted`, with 422 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<ErrorCode>,
    /// With 422 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub message: Option<String>,
}

/// What became of one heartbeat.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatResult {
    pub index: u64,
    /// The item's camera code (null when it had none).
    #[schema(required = true)]
    pub camera: Option<String>,
    pub status: HeartbeatStatus,
    /// With `rejected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub errors: Option<Vec<ItemErrorBody>>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HeartbeatStatus {
    /// A known camera's heartbeat was recorded.
    Ok,
    /// An unknown camera was registered.
    Registered,
    Rejected,
}

/// `POST /api/v1/readings` body.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReadingBatch {
    #[schema(min_items = 1, max_items = 10000)]
    pub readings: Vec<ReadingIn>,
}

/// One interval reading of a meter.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReadingIn {
    /// Meter code.
    #[schema(example = "XD-E-0001")]
    pub meter: String,
    /// Start of the meter's interval: RFC 3339 with an offset, or Shanghai local time
    /// `YYYY-MM-DD HH:MM[:SS]` (also with `T` or `/`); not in the future, at most five years
    /// old.
    #[schema(example = "2026-03-01T09:00:00+08:00")]
    pub at: String,
    /// Consumption in the interval, in the meter's unit: 0 to 1e9 (a numeric string is
    /// accepted too).
    #[schema(minimum = 0.0, maximum = 1e9, example = 12.5)]
    pub value: f64,
}

/// Answer to a readings batch (200, or 422 with `error` when no item was accepted).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingBatchResult {
    /// Readings stored now.
    pub created: u64,
    /// Sent before with the same value.
    pub unchanged: u64,
    /// Sent before with another value: replaced, the old value kept in the corrections log.
    pub corrected: u64,
    pub rejected: u64,
    /// The refused readings only (an answer to 10,000 readings stays small).
    pub errors: Vec<ReadingRejection>,
    /// `none_accepted`, with 422 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<ErrorCode>,
    /// With 422 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub message: Option<String>,
}

/// A refused reading.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingRejection {
    /// Position of the item in the batch, from 0.
    pub index: u64,
    /// The item's `meter` as sent (null when it had none).
    #[schema(required = true, schema_with = meter_as_sent)]
    pub meter: serde_json::Value,
    /// The item's `at` as sent (null when it had none).
    #[schema(required = true, schema_with = at_as_sent)]
    pub at: serde_json::Value,
    pub errors: Vec<ItemErrorBody>,
}

/// A value echoed as the client sent it: any JSON type. Spelt out as a list of types rather
/// than a typeless schema, which utoipa's own model cannot read back.
fn as_sent(description: &str) -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([
            Type::String,
            Type::Number,
            Type::Boolean,
            Type::Object,
            Type::Array,
            Type::Null,
        ]))
        .description(Some(description))
        .build()
}

fn meter_as_sent() -> utoipa::openapi::Object {
    as_sent("The item's `meter` as sent (null when it had none).")
}

fn at_as_sent() -> utoipa::openapi::Object {
    as_sent("The item's `at` as sent (null when it had none).")
}

// ---- open data ----
//
// `opendata::download` writes its JSON with `json!` (the rows are keyed by each dataset's
// own field names); these types describe it for the document.

/// Query of `GET /data/{file}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documentation only: the handler reads the raw query.
pub struct OpenDataQuery {
    /// CSV only: the header row in Chinese or English headings instead of the stable field
    /// names (any other value is ignored; JSON always keys rows by the field names).
    #[param(inline)]
    pub lang: Option<OpenDataLang>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpenDataLang {
    Zh,
    En,
}

/// A public dataset as JSON: what it is, its columns, its rows.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenDataset {
    pub dataset: OpenDatasetInfo,
    /// The columns, in CSV order.
    pub fields: Vec<OpenDataField>,
    /// One object per row, keyed by the `fields` names; a value is a string, a number or
    /// null (a rate with nothing to measure).
    #[schema(schema_with = open_data_rows)]
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// What a public dataset is (as the data catalogue describes it).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenDatasetInfo {
    #[schema(example = "cases-monthly")]
    pub code: String,
    pub title_zh: String,
    pub title_en: String,
    pub description_zh: String,
    pub description_en: String,
    /// The owning department (empty when the owner rule names none).
    pub owner_zh: String,
    pub owner_en: String,
    #[schema(example = "CC BY 4.0")]
    pub licence: String,
    /// `monthly`, `daily` or `live`.
    #[schema(example = "monthly")]
    pub frequency: String,
    /// The newest record behind it, Shanghai time; null with no data yet.
    #[schema(required = true)]
    pub last_update: Option<String>,
    /// The newest complete month it holds (`yyyy-mm`); null with no data yet.
    #[schema(required = true, example = "2026-10")]
    pub latest_month: Option<String>,
    /// Always true: the current month joins once it is over.
    pub complete_months_only: bool,
}

/// A column: stable name (CSV header, JSON key), headings and type.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenDataField {
    #[schema(example = "reported")]
    pub name: String,
    #[schema(example = "上报数")]
    pub zh: String,
    #[schema(example = "Reported")]
    pub en: String,
    #[serde(rename = "type")]
    pub kind: OpenDataFieldType,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpenDataFieldType {
    String,
    Integer,
    Number,
}

/// The refusal of an unknown or restricted dataset, or of another format.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenDataError {
    pub error: OpenDataErrorCode,
    /// In English, naming the dataset asked for.
    pub message: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpenDataErrorCode {
    NotFound,
}

/// `rows`: objects whose values are strings, numbers or null.
fn open_data_rows() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    let cell = ObjectBuilder::new().schema_type(SchemaType::from_iter([
        Type::String,
        Type::Number,
        Type::Null,
    ]));
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::Object))
                .additional_properties(Some(cell)),
        )
        .description(Some(
            "One object per row, keyed by the `fields` names; a value is a string, a number or \
             null (a rate with nothing to measure).",
        ))
        .build()
}
