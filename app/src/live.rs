//! Change notices for live pages. A page subscribes (server-sent events) and reloads its
//! data when told something changed. With PostgreSQL the notice travels through
//! LISTEN/NOTIFY, so a change made through any app server reaches the pages of every other;
//! with SQLite there is one process and the notice stays in memory.
use crate::db::{DbKind, Store};
use std::sync::Arc;
use tokio::sync::{broadcast, watch};

pub const CHANNEL: &str = "citylink_live";

#[derive(Clone)]
pub struct Live {
    tx: broadcast::Sender<String>,
    stop: Arc<watch::Sender<bool>>,
}

impl Default for Live {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(256);
        let (stop, _) = watch::channel(false);
        Live {
            tx,
            stop: Arc::new(stop),
        }
    }
}

impl Live {
    /// Starts the PostgreSQL listener when the database is PostgreSQL.
    pub fn start(store: &Store, database_url: &str) -> Live {
        let live = Live::default();
        if store.kind == DbKind::Postgres {
            let tx = live.tx.clone();
            let mut stop = live.stop.subscribe();
            let url = database_url.to_string();
            tokio::spawn(async move {
                loop {
                    match sqlx::postgres::PgListener::connect(&url).await {
                        Ok(mut l) => {
                            if let Err(e) = l.listen(CHANNEL).await {
                                tracing::warn!(error = %e, "LISTEN failed");
                            } else {
                                loop {
                                    tokio::select! {
                                        _ = stop.wait_for(|v| *v) => return,
                                        m = l.recv() => match m {
                                            Ok(n) => { let _ = tx.send(n.payload().to_string()); }
                                            Err(e) => {
                                                tracing::warn!(error = %e, "live listener lost its connection");
                                                break;
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "live listener cannot connect"),
                    }
                    tokio::select! {
                        _ = stop.wait_for(|v| *v) => return,
                        _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                    }
                }
            });
        }
        live
    }

    /// Tells every live page (on every app server) that `kind` changed.
    pub async fn publish(&self, store: &Store, kind: &str) {
        let payload = serde_json::json!({ "kind": kind }).to_string();
        if store.kind == DbKind::Postgres {
            let r = sqlx::query_scalar::<_, i32>("SELECT 1 FROM (SELECT pg_notify($1, $2)) t")
                .bind(CHANNEL)
                .bind(&payload)
                .fetch_one(store.pool())
                .await;
            if let Err(e) = r {
                tracing::warn!(error = %e, "NOTIFY failed");
            }
        } else {
            let _ = self.tx.send(payload);
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.tx.subscribe()
    }

    /// Resolves when the server is shutting down, so open event streams end.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }
}
