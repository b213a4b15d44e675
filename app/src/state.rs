//! Server-side application state and configuration (never compiled into the wasm).
use crate::db::Store;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

/// Settings read from the environment at start; see README "Configuration".
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    /// Demo data: `Some(true/false)` when CITYLINK_DEMO is set, else decided by the database.
    pub demo: Option<bool>,
    pub session_idle_ms: i64,
    pub session_absolute_ms: i64,
    /// Adds `Secure` to the session cookie (set when served over HTTPS).
    pub secure_cookies: bool,
    pub max_failed_logins: i64,
    pub lock_ms: i64,
    /// How many demo cases a fresh demo database gets.
    pub demo_cases: usize,
    /// Demo cameras (their alerts come with them).
    pub demo_cameras: usize,
    /// Demo energy meters (0: no energy demo).
    pub demo_meters: usize,
    /// Days of demo energy readings, up to the last full hour.
    pub demo_energy_days: i64,
    /// Alerts of one type on one camera closer together than this fold into one incident.
    pub alert_window_ms: i64,
    /// A camera silent for this long is marked offline.
    pub camera_offline_ms: i64,
    /// Requests per second one API key may make (a burst of twice as many is allowed).
    pub api_rate: u32,
    /// Citizen reports one network address may submit per hour (report page and Open311).
    pub citizen_per_hour: i64,
    /// Proxies (load balancers) whose `X-Forwarded-For` is believed: behind them, the client
    /// is the right-most address of that header that is not one of them.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite:data/citylink.db".into(),
            demo: None,
            session_idle_ms: 30 * 60_000,
            session_absolute_ms: 12 * 3_600_000,
            secure_cookies: false,
            max_failed_logins: 5,
            lock_ms: 30 * 60_000,
            demo_cases: 3000,
            demo_cameras: 120,
            demo_meters: 300,
            demo_energy_days: 365,
            alert_window_ms: 10 * 60_000,
            camera_offline_ms: 5 * 60_000,
            api_rate: 50,
            citizen_per_hour: 5,
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{var}: {msg}")]
pub struct ConfigError {
    pub var: &'static str,
    pub msg: String,
}

impl Config {
    /// Reads the configuration through `get` (the process environment in production).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        if let Some(url) = get("DATABASE_URL").filter(|s| !s.trim().is_empty()) {
            if crate::db::DbKind::from_url(&url).is_none() {
                return Err(ConfigError {
                    var: "DATABASE_URL",
                    msg: "must start with sqlite: or postgres://".into(),
                });
            }
            c.database_url = url;
        }
        if let Some(v) = get("CITYLINK_DEMO") {
            c.demo = Some(parse_bool("CITYLINK_DEMO", &v)?);
        }
        if let Some(v) = get("CITYLINK_SESSION_IDLE_MINUTES") {
            c.session_idle_ms = parse_pos("CITYLINK_SESSION_IDLE_MINUTES", &v)? * 60_000;
        }
        if let Some(v) = get("CITYLINK_SESSION_MAX_HOURS") {
            c.session_absolute_ms = parse_pos("CITYLINK_SESSION_MAX_HOURS", &v)? * 3_600_000;
        }
        if let Some(v) = get("CITYLINK_DEMO_CASES") {
            c.demo_cases = v.trim().parse().map_err(|_| ConfigError {
                var: "CITYLINK_DEMO_CASES",
                msg: "must be a whole number".into(),
            })?;
        }
        if let Some(v) = get("CITYLINK_DEMO_CAMERAS") {
            c.demo_cameras = parse_pos("CITYLINK_DEMO_CAMERAS", &v)? as usize;
        }
        if let Some(v) = get("CITYLINK_DEMO_METERS") {
            c.demo_meters = v.trim().parse().map_err(|_| ConfigError {
                var: "CITYLINK_DEMO_METERS",
                msg: "must be a whole number".into(),
            })?;
        }
        if let Some(v) = get("CITYLINK_DEMO_ENERGY_DAYS") {
            c.demo_energy_days = parse_pos("CITYLINK_DEMO_ENERGY_DAYS", &v)?.min(5 * 365);
        }
        if let Some(v) = get("CITYLINK_ALERT_WINDOW_SECONDS") {
            c.alert_window_ms = parse_pos("CITYLINK_ALERT_WINDOW_SECONDS", &v)? * 1000;
        }
        if let Some(v) = get("CITYLINK_CAMERA_OFFLINE_SECONDS") {
            c.camera_offline_ms = parse_pos("CITYLINK_CAMERA_OFFLINE_SECONDS", &v)? * 1000;
        }
        if let Some(v) = get("CITYLINK_API_RATE") {
            c.api_rate = parse_pos("CITYLINK_API_RATE", &v)?.min(100_000) as u32;
        }
        if let Some(v) = get("CITYLINK_CITIZEN_PER_HOUR") {
            c.citizen_per_hour = parse_pos("CITYLINK_CITIZEN_PER_HOUR", &v)?.min(100_000);
        }
        if let Some(v) = get("CITYLINK_TRUSTED_PROXIES") {
            c.trusted_proxies = parse_proxies(&v)?;
        }
        if let Some(v) = get("CITYLINK_SECURE_COOKIES") {
            c.secure_cookies = parse_bool("CITYLINK_SECURE_COOKIES", &v)?;
        }
        Ok(c)
    }

    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }
}

fn parse_bool(var: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError {
            var,
            msg: format!("expected true or false, got {v:?}"),
        }),
    }
}

/// `10.0.0.0/8, 192.168.1.7, fd00::/8`: networks or single addresses.
fn parse_proxies(v: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError {
                    var: "CITYLINK_TRUSTED_PROXIES",
                    msg: format!("{s:?} is neither a network (10.0.0.0/8) nor an address"),
                })
        })
        .collect()
}

fn parse_pos(var: &'static str, v: &str) -> Result<i64, ConfigError> {
    match v.trim().parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ConfigError {
            var,
            msg: format!("expected a positive whole number, got {v:?}"),
        }),
    }
}

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: Store,
    pub config: Arc<Config>,
    /// Change notices for live pages (across app servers on PostgreSQL).
    pub live: crate::live::Live,
    /// The leadership overview's figures as last computed here.
    pub overview: Arc<crate::db::overview::Cache>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.database_url, "sqlite:data/citylink.db");
        assert_eq!(c.demo, None);
        assert_eq!(c.session_idle_ms, 30 * 60_000);
        assert_eq!(c.max_failed_logins, 5);
        assert_eq!(c.lock_ms, 30 * 60_000);
        assert_eq!(c.alert_window_ms, 600_000);
        assert_eq!(c.camera_offline_ms, 300_000);
        assert_eq!((c.demo_meters, c.demo_energy_days), (300, 365));
        let c = cfg(&[
            ("CITYLINK_DEMO_METERS", "0"),
            ("CITYLINK_DEMO_ENERGY_DAYS", "30"),
        ])
        .unwrap();
        assert_eq!((c.demo_meters, c.demo_energy_days), (0, 30));
        assert_eq!(
            cfg(&[("CITYLINK_DEMO_ENERGY_DAYS", "0")]).unwrap_err().var,
            "CITYLINK_DEMO_ENERGY_DAYS"
        );
        assert_eq!(
            cfg(&[("CITYLINK_DEMO_METERS", "many")]).unwrap_err().var,
            "CITYLINK_DEMO_METERS"
        );
        let c = cfg(&[
            ("CITYLINK_ALERT_WINDOW_SECONDS", "30"),
            ("CITYLINK_CAMERA_OFFLINE_SECONDS", "90"),
        ])
        .unwrap();
        assert_eq!((c.alert_window_ms, c.camera_offline_ms), (30_000, 90_000));
        assert_eq!(
            cfg(&[("CITYLINK_API_RATE", "x")]).unwrap_err().var,
            "CITYLINK_API_RATE"
        );
    }

    #[test]
    fn overrides_and_errors() {
        let c = cfg(&[
            ("DATABASE_URL", "postgres://u@localhost/c"),
            ("CITYLINK_DEMO", "off"),
            ("CITYLINK_SESSION_IDLE_MINUTES", "5"),
            ("CITYLINK_SESSION_MAX_HOURS", "2"),
        ])
        .unwrap();
        assert_eq!(c.demo, Some(false));
        assert_eq!(c.session_idle_ms, 300_000);
        assert_eq!(c.session_absolute_ms, 7_200_000);
        assert_eq!(
            cfg(&[("CITYLINK_DEMO", "maybe")]).unwrap_err().var,
            "CITYLINK_DEMO"
        );
        assert_eq!(
            cfg(&[("CITYLINK_SESSION_IDLE_MINUTES", "0")])
                .unwrap_err()
                .var,
            "CITYLINK_SESSION_IDLE_MINUTES"
        );
        assert_eq!(
            cfg(&[("DATABASE_URL", "mysql://x")]).unwrap_err().var,
            "DATABASE_URL"
        );
    }
}
