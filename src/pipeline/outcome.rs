//! What becomes of a link: finished with an outcome, or queued for another
//! attempt (given up at the limit), with the failure counted.

use tracing::{debug, error, warn};

use super::Context;
use crate::article::ArticleJob;
use crate::plural::count;
use crate::state::{Outcome, Retry, RetryPolicy, Setback};
use crate::telemetry::Stats;

/// Schedules a failed job for another attempt, or gives it up at the limit.
pub(super) async fn retry_later(ctx: &Context, job: ArticleJob, reason: String, setback: Setback) {
    let policy = RetryPolicy {
        max_attempts: ctx.config.pipeline.max_article_attempts,
        backoff: ctx.config.pipeline.retry_backoff,
    };
    let (source, url) = (job.source.clone(), job.url.clone());
    let attempt = match setback {
        Setback::Attempt { .. } => job.failed_attempts + 1,
        Setback::Postpone => job.failed_attempts,
        Setback::Wait(_) => {
            // Waiting for a polite slot is routine, not a failure worth a warning.
            debug!("article {url}: {reason}; queued until the host takes requests");
            match ctx.state.retry_later(job, reason, policy, setback).await {
                Ok(Retry::At(at)) => ctx.retry_alarm.set(at),
                Ok(_) => {}
                Err(e) => error!(
                    "source {source:?}: article {url}: cannot queue it (it stays pending): {e}"
                ),
            }
            return;
        }
    };
    Stats::inc(&ctx.stats.failed);
    match ctx
        .state
        .retry_later(job, reason.clone(), policy, setback)
        .await
    {
        Ok(Retry::At(at)) => {
            ctx.retry_alarm.set(at);
            warn!(
                "source {source:?}: article {url}: {reason}; {attempt} of {} failed, retry at {}",
                count(policy.max_attempts, "attempt", "attempts"),
                at.format("%H:%M:%S UTC")
            )
        }
        Ok(Retry::GaveUp) => {
            warn!(
                "source {source:?}: article {url}: {reason}; giving up after {}",
                count(attempt, "attempt", "attempts")
            )
        }
        Ok(Retry::AlreadyFinished) => {
            debug!(
                "source {source:?}: article {url}: {reason}; already finished by another attempt"
            )
        }
        Err(e) => error!(
            "source {source:?}: article {url}: {reason}; cannot record the failure \
             (the article stays pending for the next start): {e}"
        ),
    }
}

/// Counts a failed article for `check-config` and the metrics; a failure to
/// count is only logged.
pub(super) async fn count_failure(ctx: &Context, source: &str, kind: &'static str) {
    ctx.metrics.failure(source, "article", kind);
    if let Err(e) = ctx.state.count_failure(source.to_string(), kind).await {
        debug!("cannot count a failure: {e}");
    }
}

/// Records a link's outcome; a failure here only means it is processed again later.
pub(super) async fn finish(ctx: &Context, key: String, outcome: Outcome) {
    if let Err(e) = ctx.state.complete(key, outcome).await {
        error!("cannot record article outcome (it will be processed again): {e}");
    }
}
