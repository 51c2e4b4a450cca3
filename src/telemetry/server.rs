//! The operations endpoint on `[telemetry] listen`: `/metrics` (Prometheus
//! text), `/healthz` (the process answers), `/readyz` (every readiness check
//! passes) and `/status` (per-source JSON).
//!
//! The endpoint knows nothing of the pipeline: it asks an [`Observed`], which
//! the pipeline implements. A new readiness check (a message broker's
//! connection, say) is one more [`Check`] in its answer.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use futures::future::BoxFuture;
use serde::Serialize;

use super::metrics::{CONTENT_TYPE, Metrics};
use super::status::StatusReport;

/// One readiness check's result.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    /// What was checked, e.g. `state_store`, `output:directory`.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// Why it failed (or a detail worth showing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Check {
    /// A check named `name` that passed when `result` is `Ok`.
    pub fn from_result(name: impl Into<String>, result: Result<(), String>) -> Self {
        Self {
            name: name.into(),
            ok: result.is_ok(),
            detail: result.err(),
        }
    }
}

/// What the endpoint asks of the running daemon.
pub trait Observed: Send + Sync + 'static {
    /// The metrics registry.
    fn metrics(&self) -> &Metrics;

    /// Brings level gauges (queue depths, blocked hosts, pending articles)
    /// up to date; called before each scrape.
    fn refresh(&self) -> BoxFuture<'_, ()>;

    /// Every readiness check; the daemon is ready when all pass.
    fn readiness(&self) -> BoxFuture<'_, Vec<Check>>;

    /// The per-source status view.
    fn status(&self) -> BoxFuture<'_, StatusReport>;
}

/// Binds `addr` now, so a taken port fails the start instead of a task later.
pub fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// The endpoint's routes.
pub fn router(observed: Arc<dyn Observed>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .with_state(observed)
}

/// Serves the endpoint on `listener` until the task is dropped or aborted.
pub async fn serve(listener: std::net::TcpListener, observed: Arc<dyn Observed>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("telemetry endpoint: cannot use the listening socket: {e}");
            return;
        }
    };
    if let Err(e) = axum::serve(listener, router(observed)).await {
        tracing::error!("telemetry endpoint stopped: {e}");
    }
}

async fn metrics(State(observed): State<Arc<dyn Observed>>) -> Response {
    observed.refresh().await;
    match observed.metrics().encode() {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode metrics: {e}\n"),
        )
            .into_response(),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// The `/readyz` body.
#[derive(Serialize)]
struct Readiness {
    ready: bool,
    checks: Vec<Check>,
}

async fn readyz(State(observed): State<Arc<dyn Observed>>) -> Response {
    let checks = observed.readiness().await;
    let ready = checks.iter().all(|c| c.ok);
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(Readiness { ready, checks })).into_response()
}

async fn status(State(observed): State<Arc<dyn Observed>>) -> Json<StatusReport> {
    Json(observed.status().await)
}
