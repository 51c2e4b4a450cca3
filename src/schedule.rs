//! The scheduler: decides when each source's feed is polled.
//!
//! One task holds a min-heap of due times. A source goes back into the heap
//! only when its poll has finished (the feed stage reports it), so one source
//! is never polled twice at once, and a slow feed simply polls less often.
//! Due times carry ±10 % jitter so sources configured alike drift apart
//! instead of hammering hosts in lock-step.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::SourceConfig;

/// The longest the first poll of a source is delayed to spread start-up load.
const MAX_START_SPREAD: Duration = Duration::from_secs(5);

/// A request to poll one source's feed.
#[derive(Debug, Clone)]
pub struct PollRequest {
    /// Position of the source in the scheduler's list; echoed back in [`PollDone`].
    pub slot: usize,
    /// The source to poll.
    pub source: Arc<SourceConfig>,
}

/// Sent by the feed stage when a poll has finished, successfully or not.
#[derive(Debug, Clone, Copy)]
pub struct PollDone {
    /// The [`PollRequest::slot`] of the finished poll.
    pub slot: usize,
    /// Poll again after this long instead of the source's interval (a
    /// failing source backing off).
    pub next_in: Option<Duration>,
}

/// Whether sources are polled forever or once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Poll every source once, right away, then stop (`thresher once`).
    Once,
    /// Poll every source on its interval until shutdown (`thresher run`).
    Continuous,
}

/// Emits [`PollRequest`]s on each source's interval.
pub struct Scheduler {
    sources: Vec<Arc<SourceConfig>>,
    polls: mpsc::Sender<PollRequest>,
    done: mpsc::UnboundedReceiver<PollDone>,
    shutdown: CancellationToken,
}

impl Scheduler {
    /// A scheduler for `sources`, sending to `polls`, told of finished polls through `done`.
    pub fn new(
        sources: Vec<Arc<SourceConfig>>,
        polls: mpsc::Sender<PollRequest>,
        done: mpsc::UnboundedReceiver<PollDone>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            sources,
            polls,
            done,
            shutdown,
        }
    }

    /// Runs until shutdown (continuous) or until every source was sent once (once).
    /// Dropping the returned future's sender closes the poll channel, which is
    /// how the stages downstream learn that no more work is coming.
    pub async fn run(mut self, mode: Mode) {
        if mode == Mode::Once {
            for (slot, source) in self.sources.iter().enumerate() {
                let request = PollRequest {
                    slot,
                    source: Arc::clone(source),
                };
                if !self.send(request).await {
                    return;
                }
            }
            return;
        }

        let now = Instant::now();
        let mut due: BinaryHeap<Reverse<(Instant, usize)>> = self
            .sources
            .iter()
            .enumerate()
            .map(|(slot, source)| {
                let spread = (source.interval / 10).min(MAX_START_SPREAD);
                Reverse((now + spread.mul_f64(rand::random::<f64>()), slot))
            })
            .collect();
        loop {
            let next = due.peek().map(|Reverse((at, _))| *at);
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                Some(PollDone { slot, next_in }) = self.done.recv() => {
                    if let Some(source) = self.sources.get(slot) {
                        let wait = next_in.unwrap_or(source.interval);
                        due.push(Reverse((Instant::now() + jittered(wait), slot)));
                    }
                }
                _ = sleep_until(next), if next.is_some() => {
                    if let Some(Reverse((_, slot))) = due.pop() {
                        let request = PollRequest { slot, source: Arc::clone(&self.sources[slot]) };
                        if !self.send(request).await {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Sends a request, waiting for room (backpressure); false on shutdown or closed channel.
    async fn send(&self, request: PollRequest) -> bool {
        tokio::select! {
            _ = self.shutdown.cancelled() => false,
            sent = self.polls.send(request) => sent.is_ok(),
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// `interval` ± 10 %, uniformly.
pub fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.9 + 0.2 * rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn source(name: &str, interval: Duration) -> Arc<SourceConfig> {
        Arc::new(SourceConfig {
            name: name.into(),
            url: Url::parse("https://n.example/feed").expect("url"),
            interval,
            rules: None,
            fetch: None,
        })
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let base = Duration::from_secs(100);
        for _ in 0..1000 {
            let d = jittered(base);
            assert!(
                d >= Duration::from_secs(90) && d <= Duration::from_secs(110),
                "{d:?}"
            );
        }
    }

    #[tokio::test]
    async fn once_mode_sends_every_source_once_then_closes() {
        let (tx, mut rx) = mpsc::channel(1);
        let (_done_tx, done_rx) = mpsc::unbounded_channel();
        let sources = vec![
            source("a", Duration::from_secs(60)),
            source("b", Duration::from_secs(60)),
        ];
        let scheduler = Scheduler::new(sources, tx, done_rx, CancellationToken::new());
        let task = tokio::spawn(scheduler.run(Mode::Once));
        let mut names = Vec::new();
        while let Some(request) = rx.recv().await {
            names.push(request.source.name.clone());
        }
        task.await.expect("scheduler");
        assert_eq!(names, ["a", "b"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_is_not_polled_again_before_its_poll_is_done() {
        let (tx, mut rx) = mpsc::channel(8);
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let shutdown = CancellationToken::new();
        let scheduler = Scheduler::new(
            vec![source("a", Duration::from_secs(10))],
            tx,
            done_rx,
            shutdown.clone(),
        );
        let task = tokio::spawn(scheduler.run(Mode::Continuous));
        let first = rx.recv().await.expect("first poll");
        // Far past the interval, but the first poll has not reported done.
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(rx.try_recv().is_err(), "no overlapping poll");
        let done_at = Instant::now();
        done_tx
            .send(PollDone {
                slot: first.slot,
                next_in: None,
            })
            .expect("done");
        rx.recv().await.expect("second poll");
        let waited = Instant::now() - done_at;
        assert!(
            waited >= Duration::from_secs(9) && waited <= Duration::from_secs(11),
            "{waited:?}"
        );
        shutdown.cancel();
        task.await.expect("scheduler stops on shutdown");
    }
}
