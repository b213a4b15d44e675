use crate::http::{errors::server_fn_status, guard::origin_check, health::healthz};
use app::auth::session_middleware;
use app::db::{seed, Store, StoreError};
use app::security::CSP_NON_DOCUMENT;
use app::state::{AppState, Config};
use app::{shell, App};
use axum::body::Body;
use axum::http::{header, HeaderValue, Request};
use axum::routing::get;
use axum::{middleware, Extension, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;
use std::time::Duration;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// Largest request body accepted (forms and JSON).
pub const BODY_LIMIT: usize = 1024 * 1024;
/// Endpoints that take photos accept up to four of 2 MiB each, with room for the form.
pub const UPLOAD_LIMIT: usize = 9 * 1024 * 1024;
const UPLOAD_PATHS: &[&str] = &[
    "/api/cases/report",
    "/api/cases/step",
    "/api/energy/upload",
    "/api/public/report",
];
/// Alert batches may carry snapshots.
const ALERT_PATH: &str = crate::http::ingest::ALERTS_PATH;
/// Readings batches hold up to 10,000 readings.
const READINGS_PATH: &str = crate::http::ingest::READINGS_PATH;

/// Refuses bodies over the limit of their path: 413 at once when Content-Length says so,
/// otherwise the body stops being read at the limit.
async fn body_limit(req: Request<Body>, next: middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let limit = if UPLOAD_PATHS.contains(&req.uri().path()) {
        UPLOAD_LIMIT
    } else if req.uri().path() == ALERT_PATH {
        crate::http::ingest::ALERTS_BODY_LIMIT
    } else if req.uri().path() == READINGS_PATH {
        crate::http::ingest::READINGS_BODY_LIMIT
    } else {
        BODY_LIMIT
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        if req.uri().path().starts_with("/api/v1/") {
            // Machine clients get the API's JSON error with its message.
            return crate::http::ingest::too_large(req.headers());
        }
        return axum::http::StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let (parts, body) = req.into_parts();
    let body = Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}

/// Connects, migrates and (when demo data is on) seeds the database.
pub async fn build_state(
    config: Config,
    leptos_options: LeptosOptions,
) -> Result<AppState, StoreError> {
    let store = Store::connect(&config.database_url).await?;
    store.migrate().await?;
    // Demo data: as configured, or by default only for an embedded database created just now.
    let demo = config
        .demo
        .unwrap_or(store.created && store.kind == app::db::DbKind::Sqlite);
    let fresh = demo
        && match seed::demo(&store).await {
            Ok(true) => {
                tracing::info!("demo accounts written");
                true
            }
            Ok(false) => {
                tracing::info!("demo data skipped: accounts exist already");
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "demo data failed");
                false
            }
        };
    if let Err(e) = seed::reference(&store).await {
        tracing::error!(error = %e, "reference data failed");
    }
    if fresh {
        let t = std::time::Instant::now();
        match app::db::demo_cases::seed(&store, config.demo_cases, app::db::now_ms()).await {
            Ok(s) => tracing::info!(
                cases = s.cases,
                events = s.events,
                ms = t.elapsed().as_millis() as u64,
                "demo cases written"
            ),
            Err(e) => tracing::error!(error = %e, "demo cases failed"),
        }
    }
    if let Err(e) = app::db::skyeye_seed::reference(&store).await {
        tracing::error!(error = %e, "Sky Eye reference data failed");
    }
    if fresh && config.demo_cameras > 0 {
        let t = std::time::Instant::now();
        match app::db::skyeye_seed::demo(&store, config.demo_cameras, 14, app::db::now_ms()).await {
            Ok(s) => tracing::info!(
                cameras = s.cameras,
                alerts = s.alerts,
                incidents = s.incidents,
                escalated = s.escalated,
                ms = t.elapsed().as_millis() as u64,
                "demo Sky Eye data written"
            ),
            Err(e) => tracing::error!(error = %e, "demo Sky Eye data failed"),
        }
    }
    if let Err(e) = app::db::energy_seed::reference(&store).await {
        tracing::error!(error = %e, "energy reference data failed");
    }
    if fresh && config.demo_meters > 0 {
        match app::db::energy_seed::demo(
            &store,
            config.demo_meters,
            config.demo_energy_days,
            app::db::now_ms(),
        )
        .await
        {
            Ok(s) => tracing::info!(
                entities = s.entities,
                meters = s.meters,
                readings = s.readings,
                ms = s.ms,
                "demo energy data written"
            ),
            Err(e) => tracing::error!(error = %e, "demo energy data failed"),
        }
        match app::db::energy_targets::demo_targets(&store, app::db::now_ms()).await {
            Ok(n) => tracing::info!(targets = n, "demo energy targets written"),
            Err(e) => tracing::error!(error = %e, "demo energy targets failed"),
        }
        // The demo's last two weeks looked over once, as the detection job does for new data.
        let now = app::db::now_ms();
        match app::db::energy_anomalies::run(&store, now - 14 * 86_400_000, None, now).await {
            Ok(n) => tracing::info!(anomalies = n, "demo energy anomalies detected"),
            Err(e) => tracing::error!(error = %e, "energy anomaly detection failed"),
        }
    }
    let live = app::live::Live::start(&store, &config.database_url);
    Ok(AppState {
        leptos_options,
        store,
        config: Arc::new(config),
        live,
        overview: Default::default(),
    })
}

/// The whole application as one router, used by the binary and by the tests.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let ctx = {
        let s = state.clone();
        move || {
            provide_context(s.clone());
            app::security::provide_request_nonce();
        }
    };
    let opts = state.leptos_options.clone();
    let site_root = std::path::PathBuf::from(opts.site_root.as_ref());
    let request_span = |req: &Request<Body>| {
        let id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path())
    };
    // The machine endpoints and their OpenAPI document, from one registration.
    let (machine, api) = crate::http::openapi::machine_routes().split_for_parts();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/photos/{id}", get(crate::http::files::photo))
        .route(
            "/track/{code}/photos/{id}",
            get(crate::http::files::public_photo),
        )
        .route("/cases/export.csv", get(crate::http::files::export_csv))
        .route("/live", get(crate::http::live::events))
        .route("/snapshots/{id}", get(crate::http::live::snapshot))
        .merge(machine)
        .route(
            crate::http::openapi::PATH,
            crate::http::openapi::serve(&api),
        )
        .leptos_routes_with_context(&state, routes, ctx.clone(), {
            let opts = opts.clone();
            move || shell(opts.clone())
        })
        // Built files are served here, not by Leptos' file handler: that one reads response
        // options through whatever reactive owner its worker thread last saw, which let a
        // concurrent page's status and headers land on a static file. File names carry no
        // hash, so browsers revalidate (Last-Modified, 304) and never run a stale bundle.
        .nest_service(
            "/pkg",
            tower::ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-cache"),
                ))
                .service(ServeDir::new(site_root.join("pkg"))),
        )
        .route_service(
            "/favicon.svg",
            ServeFile::new(site_root.join("favicon.svg")),
        )
        // Anything else is a page the router does not know: the app renders its 404.
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(ctx, shell))
        .layer(Extension(crate::http::ingest::Limiter::new(
            state.config.api_rate,
        )))
        .layer(middleware::from_fn(server_fn_status))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session_middleware,
        ))
        .layer(middleware::from_fn(origin_check))
        .layer(middleware::from_fn(body_limit))
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn(app::security::csp_middleware))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP_NON_DOCUMENT),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(axum::middleware::map_request(drop_bad_request_id))
        .with_state(state)
}

/// A request id from a client or balancer is kept only when it looks like one (at most 64
/// letters, digits and dashes), so nothing odd reaches the logs or the audit table; otherwise
/// the server makes its own.
async fn drop_bad_request_id(mut req: Request<Body>) -> Request<Body> {
    let ok = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !ok {
        req.headers_mut().remove("x-request-id");
    }
    req
}

/// Periodic housekeeping: removes expired sessions, marks silent cameras offline, looks for
/// energy anomalies in new readings.
pub fn spawn_jobs(state: AppState) {
    {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(30));
            loop {
                tick.tick().await;
                match app::db::ingest::sweep_offline(
                    &state.store,
                    app::db::now_ms(),
                    state.config.camera_offline_ms,
                )
                .await
                {
                    Ok(ids) if !ids.is_empty() => {
                        tracing::info!(incidents = ids.len(), "cameras marked offline");
                        state.live.publish(&state.store, "incidents").await;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "camera sweep failed"),
                }
            }
        });
    }
    {
        // Energy anomalies: every 10 minutes, the last two days of the entities whose meters
        // sent readings since the previous run. Rows are unique per entity, type, kind and
        // hour, so runs on several app servers at once store each anomaly once.
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(600));
            let mut last = app::db::now_ms();
            loop {
                tick.tick().await;
                let now = app::db::now_ms();
                match app::db::energy_anomalies::run(
                    &state.store,
                    now - 2 * 86_400_000,
                    Some(last - 60_000),
                    now,
                )
                .await
                {
                    Ok(n) if n > 0 => {
                        tracing::info!(anomalies = n, "energy anomalies detected");
                        state.live.publish(&state.store, "energy").await;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "energy anomaly detection failed"),
                }
                last = now;
            }
        });
    }
    {
        // Hourly snapshots of the overview's state figures (overdue cases, critical alerts
        // not yet acknowledged), to compare with 24 hours later. Checked every 10 minutes;
        // the first run in an hour (on any app server) stores it.
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(600));
            loop {
                tick.tick().await;
                if let Err(e) =
                    app::db::overview::take_snapshots(&state.store, app::db::now_ms()).await
                {
                    tracing::warn!(error = %e, "overview snapshot failed");
                }
            }
        });
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            match app::db::sessions::purge_expired(&state.store, state.config.session_idle_ms).await
            {
                Ok(n) if n > 0 => tracing::info!(removed = n, "expired sessions purged"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "session purge failed"),
            }
        }
    });
}
