//! Replay: pending links fed back to the fetch stage, those an earlier run
//! left and those whose retry time has come.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use super::{Context, send_job};
use crate::article::ArticleJob;
use crate::schedule::Mode;

/// Pending jobs are replayed in batches of this size to keep start-up memory flat.
const REPLAY_BATCH: usize = 256;

/// How often (at most) the continuous daemon looks for failed articles due for a retry.
const RETRY_SWEEP: Duration = Duration::from_secs(15);

/// The earliest retry scheduled since the retry sweep last looked, so a
/// server's `Retry-After: 2` is honoured in 2 s, not at the next sweep.
#[derive(Default)]
pub(super) struct RetryAlarm {
    earliest: std::sync::Mutex<Option<DateTime<Utc>>>,
    wake: tokio::sync::Notify,
}

impl RetryAlarm {
    /// Notes a retry due `at`.
    pub(super) fn set(&self, at: DateTime<Utc>) {
        let mut earliest = self.earliest.lock().unwrap_or_else(|e| e.into_inner());
        if earliest.is_none_or(|t| at < t) {
            *earliest = Some(at);
            self.wake.notify_one();
        }
    }

    /// How long the sweep may sleep, at most `max`: until the earliest
    /// retry noted, if that comes sooner (it is then forgotten: the sweep
    /// will have taken it).
    fn pause(&self, max: Duration) -> Duration {
        let mut earliest = self.earliest.lock().unwrap_or_else(|e| e.into_inner());
        let Some(at) = *earliest else { return max };
        let until = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        if until <= max {
            *earliest = None;
            // A little past the due time, so the job is due when looked for.
            until + Duration::from_millis(10)
        } else {
            max
        }
    }
}

/// Feeds pending jobs back into the fetch stage: first those left by an
/// earlier run, then (in continuous mode, every [`RETRY_SWEEP`] or
/// `pipeline.retry_backoff` if shorter) failed jobs whose retry time has come.
/// Retries do not wait for the feed to list the link again: an unchanged feed
/// answers 304 and lists nothing.
pub(super) async fn replay_pending(ctx: Arc<Context>, jobs: mpsc::Sender<ArticleJob>, mode: Mode) {
    match ctx.state.release_undelivered().await {
        Ok(0) => {}
        Ok(n) => info!(
            count = n,
            "articles a sink could not take in an earlier run are tried again now"
        ),
        Err(e) => warn!("cannot release undelivered articles (they wait for their retry): {e}"),
    }
    let mut after = None;
    let mut replayed = 0u64;
    loop {
        let batch = match ctx.state.pending_after(after.clone(), REPLAY_BATCH).await {
            Ok(batch) => batch,
            Err(e) => {
                error!("cannot replay pending articles: {e}");
                break;
            }
        };
        let Some(last) = batch.last() else { break };
        after = Some(last.key.clone());
        for job in batch {
            // Jobs accepted by this run are already on their way; jobs waiting
            // for a retry are handed out by the sweep below when due.
            let this_run = job.accepted_run == ctx.state.run();
            if this_run || job.retry_at.is_some() {
                continue;
            }
            if !send_job(&ctx, &jobs, job).await {
                return;
            }
            replayed += 1;
        }
    }
    if replayed > 0 {
        info!(
            count = replayed,
            "replayed articles left pending by an earlier run"
        );
    }
    loop {
        loop {
            let due = match ctx.state.take_due_retries(REPLAY_BATCH).await {
                Ok(due) => due,
                Err(e) => {
                    error!("cannot read articles due for a retry: {e}");
                    break;
                }
            };
            let complete = due.len() < REPLAY_BATCH;
            for job in due {
                debug!(source = %job.source, url = %job.url, attempt = job.failed_attempts + 1, "retrying article");
                if !send_job(&ctx, &jobs, job).await {
                    return;
                }
            }
            if complete {
                break;
            }
        }
        if mode == Mode::Once {
            return;
        }
        let pause = ctx
            .retry_alarm
            .pause(RETRY_SWEEP.min(ctx.config.pipeline.retry_backoff));
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
            // A retry due sooner than the pause was scheduled meanwhile.
            _ = ctx.retry_alarm.wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::outcome::retry_later;
    use crate::pipeline::testing::Bench;
    use crate::state::Setback;

    /// Runs the replay of a `once` run; the links it handed out, sorted.
    async fn replayed(bench: &Bench) -> Vec<String> {
        let (tx, mut rx) = mpsc::channel(16);
        replay_pending(Arc::clone(&bench.ctx), tx, Mode::Once).await;
        let mut urls = Vec::new();
        while let Some(job) = rx.recv().await {
            urls.push(job.url.path().to_string());
        }
        urls.sort();
        urls
    }

    #[test]
    fn a_retry_due_before_the_next_sweep_shortens_one_pause() {
        let alarm = RetryAlarm::default();
        let max = Duration::from_secs(15);
        assert_eq!(alarm.pause(max), max, "nothing noted");
        alarm.set(Utc::now() + chrono::Duration::seconds(60));
        assert_eq!(alarm.pause(max), max, "due after the sweep anyway");
        alarm.set(Utc::now() + chrono::Duration::seconds(2));
        let pause = alarm.pause(max);
        assert!(
            pause > Duration::from_secs(1) && pause <= Duration::from_secs(3),
            "{pause:?}"
        );
        assert_eq!(alarm.pause(max), max, "taken once");
    }

    #[tokio::test]
    async fn links_left_pending_by_an_earlier_run_are_replayed_not_those_of_this_run() {
        let bench = Bench::new("");
        bench.accepted("news", "https://gazette.example/left").await;
        let waiting = bench
            .accepted("news", "https://gazette.example/waiting")
            .await;
        let reason = "host busy".to_string();
        retry_later(
            &bench.ctx,
            waiting,
            reason,
            Setback::Wait(Duration::from_secs(3600)),
        )
        .await;

        let bench = bench.restart();
        bench.accepted("news", "https://gazette.example/new").await;
        assert_eq!(
            replayed(&bench).await,
            ["/left"],
            "the new link is on its way already; the other waits"
        );
    }

    #[tokio::test]
    async fn an_article_a_sink_refused_in_an_earlier_run_is_tried_again_at_the_next_start() {
        let bench = Bench::new("");
        let job = bench
            .accepted("news", "https://gazette.example/refused")
            .await;
        retry_later(
            &bench.ctx,
            job,
            "directory sink: disk full".into(),
            Setback::Postpone,
        )
        .await;
        assert!(
            replayed(&bench).await.is_empty(),
            "waits for its retry in this run"
        );

        let bench = bench.restart();
        assert_eq!(replayed(&bench).await, ["/refused"]);
    }
}
