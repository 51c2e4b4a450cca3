//! What the telemetry endpoint sees of the running pipeline: level gauges
//! refreshed per scrape, readiness checks, and the per-source status view.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::mpsc;
use tracing::warn;

use super::{CleanPage, Context, Page};
use crate::article::ArticleJob;
use crate::schedule::PollRequest;
use crate::telemetry::metrics::{Metrics, OriginLabels, QueueLabels};
use crate::telemetry::server::{Check, Observed};
use crate::telemetry::status::{SourceCounts, SourceStatus, StatusReport};

/// The channels between stages, held weakly so that they still close when
/// their stages finish.
pub(super) struct Queues {
    pub(super) polls: mpsc::WeakSender<PollRequest>,
    pub(super) jobs: mpsc::WeakSender<ArticleJob>,
    pub(super) pages: mpsc::WeakSender<Page>,
    pub(super) articles: mpsc::WeakSender<CleanPage>,
}

/// Items waiting in a channel (0 once it is closed).
fn depth<T>(queue: &mpsc::WeakSender<T>) -> i64 {
    queue.upgrade().map_or(0, |tx| {
        i64::try_from(tx.max_capacity() - tx.capacity()).unwrap_or(i64::MAX)
    })
}

/// The pipeline as the telemetry endpoint sees it.
pub(super) struct Observer {
    pub(super) ctx: Arc<Context>,
    pub(super) queues: Queues,
}

/// Aborts a task when dropped (the endpoint, when the pipeline returns).
pub(super) struct AbortOnDrop(pub(super) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Observed for Observer {
    fn metrics(&self) -> &Metrics {
        &self.ctx.metrics
    }

    fn refresh(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let metrics = &self.ctx.metrics;
            let q = &self.queues;
            for (queue, depth) in [
                ("polls", depth(&q.polls)),
                ("jobs", depth(&q.jobs)),
                ("pages", depth(&q.pages)),
                ("articles", depth(&q.articles)),
            ] {
                metrics
                    .queue_depth
                    .get_or_create(&QueueLabels { queue })
                    .set(depth);
            }
            // Only origins blocked now: an expired block's series disappears.
            metrics.host_blocked_seconds.clear();
            for (origin, left) in self.ctx.fetcher.blocked_origins() {
                metrics
                    .host_blocked_seconds
                    .get_or_create(&OriginLabels { origin })
                    .set(left.as_secs_f64());
            }
            match self.ctx.state.pending_count().await {
                Ok(n) => {
                    metrics
                        .articles_pending
                        .set(i64::try_from(n).unwrap_or(i64::MAX));
                }
                Err(e) => warn!("metrics: cannot count pending articles: {e}"),
            }
        })
    }

    fn readiness(&self) -> BoxFuture<'_, Vec<Check>> {
        Box::pin(async move {
            let mut checks = vec![Check::from_result(
                "running",
                if self.ctx.shutdown.is_cancelled() {
                    Err("shutting down".to_string())
                } else {
                    Ok(())
                },
            )];
            // A read that works says little while writes fail (a full disk):
            // the store's last operation, whatever it was, decides too.
            let store = self.ctx.state.pending_count().await;
            let store = match self.ctx.state.health().failing() {
                Some(failing) => Err(failing),
                None => store.map(|_| ()).map_err(|e| e.to_string()),
            };
            checks.push(Check::from_result("state_store", store));
            for sink in &self.ctx.sinks {
                let result = sink.check().await.map_err(|e| e.to_string());
                checks.push(Check::from_result(
                    format!("output:{}", sink.name()),
                    result,
                ));
            }
            checks
        })
    }

    fn status(&self) -> BoxFuture<'_, StatusReport> {
        Box::pin(async move {
            let ctx = &self.ctx;
            let mut sources = Vec::new();
            for source in ctx.roster.sources() {
                let mut status = SourceStatus::from_store(&ctx.state, &source).await;
                status.next_poll_at = ctx.roster.next_poll(&source.name);
                status.since_start = Some(SourceCounts {
                    polls_ok: ctx.metrics.poll_count(&source.name, "ok")
                        + ctx.metrics.poll_count(&source.name, "not_modified"),
                    polls_failed: ctx.metrics.poll_count(&source.name, "failed"),
                    articles_written: Metrics::source_count(
                        &ctx.metrics.articles_written,
                        &source.name,
                    ),
                    duplicates: Metrics::source_count(&ctx.metrics.duplicates, &source.name),
                });
                sources.push(status);
            }
            StatusReport {
                version: env!("CARGO_PKG_VERSION").to_string(),
                started_at: Some(ctx.started_at),
                totals: Some(ctx.stats.snapshot()),
                sources,
                pending: None,
                outbox: None,
                outboxes: None,
            }
            .with_backlog(&ctx.state)
            .await
        })
    }
}
