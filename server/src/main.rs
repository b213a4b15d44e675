//! `citylink`: serves the platform. `citylink create-admin NAME` creates the first
//! administrator of a database without demo data (password from CITYLINK_ADMIN_PASSWORD).
//!
//! `citylink simulate-cameras [--rate 5] [--url http://127.0.0.1:3000] [--key SECRET]
//! [--seconds N]` runs the camera simulator (`citylink_server::simulate`) against a server:
//! alerts (`--rate` per second, daily mean) and heartbeats through the machine API. Without
//! `--key` it creates one key per department that owns cameras in the database named by
//! DATABASE_URL, logs their ids, and revokes them when it stops.
//!
//! `citylink serve` with `CITYLINK_SIMULATE_RATE` set (alerts per second, e.g. `2`) also runs
//! the simulator in-process against its own address once the listener is up, with keys it
//! creates in its database (revoked again when it stops); it stops with the server.
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
        Some("simulate-cameras") => simulate_cameras(config, &args[1..]).await,
        Some(other) => Err(format!(
            "unknown command {other:?}; use serve, create-admin or simulate-cameras"
        )
        .into()),
    }
}

const SIMULATE_USAGE: &str = "usage: citylink simulate-cameras [--rate ALERTS_PER_SECOND] \
     [--url http://127.0.0.1:3000] [--key SECRET] [--seconds N]";

/// `citylink simulate-cameras`: the camera simulator as a command, until Ctrl-C or `--seconds`.
async fn simulate_cameras(
    config: Config,
    args: &[String],
) -> Result<(), Box<dyn std::error::Error>> {
    use citylink_server::simulate;
    let mut opts = simulate::Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or(SIMULATE_USAGE)
        };
        match flag {
            "--rate" => opts.rate = value()?.parse().map_err(|_| SIMULATE_USAGE)?,
            "--url" => opts.url = value()?,
            "--key" => opts.key = Some(value()?),
            "--seconds" => opts.seconds = Some(value()?.parse().map_err(|_| SIMULATE_USAGE)?),
            _ => return Err(SIMULATE_USAGE.into()),
        }
    }
    // The database: needed to create keys, optional with --key (it then names the key's
    // cameras). An SQLite file that does not exist is not created here.
    let missing_file = config
        .database_url
        .strip_prefix("sqlite://")
        .or_else(|| config.database_url.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or(""))
        .is_some_and(|p| !p.is_empty() && p != ":memory:" && !std::path::Path::new(p).exists());
    let store = if missing_file {
        None
    } else {
        match app::db::Store::connect(&config.database_url).await {
            Ok(s) => Some(s),
            Err(e) if opts.key.is_some() => {
                tracing::warn!(error = %e, "database not reachable; the simulator registers its own cameras");
                None
            }
            Err(e) => return Err(e.into()),
        }
    };
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
        // Keep the sender: a dropped sender would read as a stop as well.
        std::future::pending::<()>().await;
    });
    let stats = simulate::run(opts, store.clone(), stop)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(s) = store {
        s.close().await;
    }
    println!(
        "sent {} alerts: {} accepted, {} duplicates, {} rejected; {} heartbeats",
        stats.sent.load(std::sync::atomic::Ordering::Relaxed),
        stats.accepted.load(std::sync::atomic::Ordering::Relaxed),
        stats.duplicates.load(std::sync::atomic::Ordering::Relaxed),
        stats.rejected.load(std::sync::atomic::Ordering::Relaxed),
        stats.heartbeats.load(std::sync::atomic::Ordering::Relaxed),
    );
    Ok(())
}

/// `CITYLINK_SIMULATE_RATE`: alerts per second for the in-process simulator, if set.
fn simulate_rate() -> Result<Option<f64>, String> {
    match std::env::var("CITYLINK_SIMULATE_RATE") {
        Err(_) => Ok(None),
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => match v.trim().parse::<f64>() {
            Ok(r) if r.is_finite() && r > 0.0 => Ok(Some(r)),
            _ => Err(format!(
                "CITYLINK_SIMULATE_RATE: expected a positive number of alerts per second, got {v:?}"
            )),
        },
    }
}

/// Serves until SIGTERM or Ctrl-C. With `CITYLINK_SIMULATE_RATE` set (alerts per second),
/// the camera simulator also runs in-process against this server's own address, once the
/// listener is up, with keys it creates in the database (one per department that owns
/// cameras); it stops when the server begins its graceful shutdown, and revokes its keys.
async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let simulate = simulate_rate()?;
    let leptos_options = get_configuration(None)?.leptos_options;
    let addr = leptos_options.site_addr;
    let kind = app::db::DbKind::from_url(&config.database_url);
    let state = build_state(config, leptos_options).await?;
    spawn_jobs(state.clone());
    let app = router(state.clone());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, database = ?kind, "CityLink listening on http://{addr}");
    let simulator = if let Some(rate) = simulate {
        // The listener's own address; a wildcard bind is reached over loopback.
        let mut own = listener.local_addr()?;
        if own.ip().is_unspecified() {
            own.set_ip(match own {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        let opts = citylink_server::simulate::Options {
            url: format!("http://{own}"),
            rate,
            ..Default::default()
        };
        let (store, stop) = (state.store.clone(), state.live.stopping());
        Some(tokio::spawn(async move {
            if let Err(e) = citylink_server::simulate::run(opts, Some(store), stop).await {
                tracing::error!(error = %e, "camera simulator stopped");
            }
        }))
    } else {
        None
    };
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
    // The simulator stops with the shutdown notice; let it revoke its keys first.
    if let Some(sim) = simulator {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), sim).await;
    }
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
