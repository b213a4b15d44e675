//! `citylink`: serves the platform. `citylink create-admin NAME` creates the first
//! administrator of a database without demo data (password from CITYLINK_ADMIN_PASSWORD).
use app::state::Config;
use citylink_server::startup::{build_state, router, spawn_jobs};
use leptos::prelude::get_configuration;
use std::net::SocketAddr;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    if let Err(e) = run().await {
        tracing::error!("{e}");
        eprintln!("citylink: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => serve(config).await,
        Some("create-admin") => {
            let name = args.get(1).ok_or("usage: citylink create-admin USERNAME")?;
            let pw = std::env::var("CITYLINK_ADMIN_PASSWORD")
                .map_err(|_| "set CITYLINK_ADMIN_PASSWORD to the new administrator's password")?;
            let store = app::db::Store::connect(&config.database_url).await?;
            store.migrate().await?;
            let id = app::db::seed::create_admin(&store, name, &pw)
                .await
                .map_err(|e| format!("{e:?}"))?;
            println!("administrator {name} created (id {id})");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}; use serve or create-admin").into()),
    }
}

async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let leptos_options = get_configuration(None)?.leptos_options;
    let addr = leptos_options.site_addr;
    let kind = app::db::DbKind::from_url(&config.database_url);
    let state = build_state(config, leptos_options).await?;
    spawn_jobs(state.clone());
    let app = router(state.clone());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, database = ?kind, "CityLink listening on http://{addr}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown({
        let live = state.live.clone();
        async move {
            shutdown_signal().await;
            // Open event streams end, so their connections close.
            live.shutdown();
        }
    })
    .await?;
    state.store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C; the server then stops accepting and lets requests in flight finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}
