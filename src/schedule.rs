//! The scheduler: decides when each source's feed is polled.
//!
//! One task holds a min-heap of due times. A source goes back into the heap
//! only when its poll has finished (the feed stage reports it), so one source
//! is never polled twice at once, and a slow feed simply polls less often.
//! Due times carry ±10 % jitter so sources configured alike drift apart
//! instead of hammering hosts in lock-step.
//!
//! The sources come from the [`Roster`]; after a reload swapped it, a message
//! on the reload channel makes the scheduler reconcile its heap with it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::clock;
use crate::config::SourceConfig;
use crate::roster::Roster;

/// The longest the first poll of a source is delayed to spread start-up load.
const MAX_START_SPREAD: Duration = Duration::from_secs(5);

/// A request to poll one source's feed.
#[derive(Debug, Clone)]
pub struct PollRequest {
    /// The source to poll, with the settings current when the poll was due.
    pub source: Arc<SourceConfig>,
}

/// Sent by the feed stage when a poll has finished, successfully or not.
#[derive(Debug, Clone)]
pub struct PollDone {
    /// The name of the polled source.
    pub source: String,
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

/// Where a source is in its cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// Waiting in the heap for this time.
    Due(Instant),
    /// Its poll is running; it goes back into the heap when the poll is done.
    Polling,
}

#[derive(Debug)]
struct Slot {
    source: Arc<SourceConfig>,
    turn: Turn,
}

/// Emits [`PollRequest`]s on each source's interval.
pub struct Scheduler {
    roster: Arc<Roster>,
    polls: mpsc::Sender<PollRequest>,
    done: mpsc::UnboundedReceiver<PollDone>,
    reloads: mpsc::UnboundedReceiver<()>,
    shutdown: CancellationToken,
    slots: HashMap<String, Slot>,
    /// Due times; an entry that no longer matches its slot's turn is stale
    /// (the source was removed or rescheduled) and skipped when it comes up.
    heap: BinaryHeap<Reverse<(Instant, String)>>,
    /// Sources removed while their poll was running; if one comes back
    /// before that poll is done, it waits for it.
    removed_while_polling: HashSet<String>,
}

impl Scheduler {
    /// A scheduler for the sources of `roster`, sending to `polls`, told of
    /// finished polls through `done` and of a changed roster through `reloads`.
    pub fn new(
        roster: Arc<Roster>,
        polls: mpsc::Sender<PollRequest>,
        done: mpsc::UnboundedReceiver<PollDone>,
        reloads: mpsc::UnboundedReceiver<()>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            roster,
            polls,
            done,
            reloads,
            shutdown,
            slots: HashMap::new(),
            heap: BinaryHeap::new(),
            removed_while_polling: HashSet::new(),
        }
    }

    /// Runs until shutdown (continuous) or until every source was sent once (once).
    /// Dropping the returned future's sender closes the poll channel, which is
    /// how the stages downstream learn that no more work is coming.
    pub async fn run(mut self, mode: Mode) {
        if mode == Mode::Once {
            for source in self.roster.sources() {
                if !self.send(PollRequest { source }).await {
                    return;
                }
            }
            return;
        }

        self.reconcile();
        loop {
            let next = self.heap.peek().map(|Reverse((at, _))| *at);
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                Some(PollDone { source, next_in }) = self.done.recv() => self.finished(source, next_in),
                Some(()) = self.reloads.recv() => self.reconcile(),
                _ = sleep_until(next), if next.is_some() => {
                    let Some(Reverse((at, name))) = self.heap.pop() else { continue };
                    let Some(slot) = self.slots.get_mut(&name).filter(|s| s.turn == Turn::Due(at)) else {
                        continue; // stale entry
                    };
                    slot.turn = Turn::Polling;
                    let request = PollRequest { source: Arc::clone(&slot.source) };
                    self.roster.set_next_poll(&name, None);
                    if !self.send(request).await {
                        return;
                    }
                }
            }
        }
    }

    /// Puts `name` back in the heap after its poll.
    fn finished(&mut self, name: String, next_in: Option<Duration>) {
        self.removed_while_polling.remove(&name);
        if let Some(slot) = self.slots.get(&name)
            && slot.turn == Turn::Polling
        {
            let wait = next_in.unwrap_or(slot.source.interval);
            self.schedule(name, clock::instant_in(jittered(wait)));
        }
    }

    fn schedule(&mut self, name: String, at: Instant) {
        if let Some(slot) = self.slots.get_mut(&name) {
            slot.turn = Turn::Due(at);
            let wall = clock::utc_in(at.saturating_duration_since(Instant::now()));
            self.roster.set_next_poll(&name, Some(wall));
            self.heap.push(Reverse((at, name)));
        }
    }

    /// Brings the slots in line with the roster: new sources are scheduled
    /// within a short spread, removed ones dropped, and changed ones take
    /// their new settings (a shorter interval or a new URL brings the next
    /// poll forward; a poll already running finishes with the old settings).
    fn reconcile(&mut self) {
        let now = Instant::now();
        let sources = self.roster.sources();
        let names: HashSet<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        let removed: Vec<String> = self
            .slots
            .keys()
            .filter(|name| !names.contains(name.as_str()))
            .cloned()
            .collect();
        for name in removed {
            self.roster.set_next_poll(&name, None);
            if let Some(slot) = self.slots.remove(&name)
                && slot.turn == Turn::Polling
            {
                self.removed_while_polling.insert(name);
            }
        }
        for source in sources {
            let name = source.name.clone();
            let spread = (source.interval / 10).min(MAX_START_SPREAD);
            let first = clock::instant_after(now, clock::scaled(spread, rand::random::<f64>()));
            match self.slots.get_mut(&name) {
                None => {
                    let polling = self.removed_while_polling.contains(&name);
                    let turn = if polling {
                        Turn::Polling
                    } else {
                        Turn::Due(first)
                    };
                    self.slots.insert(name.clone(), Slot { source, turn });
                    if !polling {
                        self.schedule(name, first);
                    }
                }
                Some(slot) if slot.source != source => {
                    let old = std::mem::replace(&mut slot.source, Arc::clone(&source));
                    if let Turn::Due(at) = slot.turn {
                        let sooner = if old.url != source.url {
                            first
                        } else {
                            clock::instant_after(now, jittered(source.interval))
                        };
                        if sooner < at {
                            self.schedule(name, sooner);
                        }
                    }
                }
                Some(_) => {}
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
    clock::scaled(interval, 0.9 + 0.2 * rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn source(name: &str, interval: Duration) -> SourceConfig {
        SourceConfig {
            name: name.into(),
            kind: crate::source::SourceKind::Feed,
            url: Url::parse("https://n.example/feed").expect("url"),
            interval,
            rules: None,
            fetch: None,
        }
    }

    struct Harness {
        roster: Arc<Roster>,
        polls: mpsc::Receiver<PollRequest>,
        done: mpsc::UnboundedSender<PollDone>,
        reloads: mpsc::UnboundedSender<()>,
        shutdown: CancellationToken,
        task: tokio::task::JoinHandle<()>,
    }

    fn start(sources: &[SourceConfig], mode: Mode, capacity: usize) -> Harness {
        let roster = Arc::new(Roster::new(sources));
        let (tx, polls) = mpsc::channel(capacity);
        let (done, done_rx) = mpsc::unbounded_channel();
        let (reloads, reload_rx) = mpsc::unbounded_channel();
        let shutdown = CancellationToken::new();
        let scheduler = Scheduler::new(
            Arc::clone(&roster),
            tx,
            done_rx,
            reload_rx,
            shutdown.clone(),
        );
        let task = tokio::spawn(scheduler.run(mode));
        Harness {
            roster,
            polls,
            done,
            reloads,
            shutdown,
            task,
        }
    }

    impl Harness {
        fn done(&self, name: &str) {
            self.done
                .send(PollDone {
                    source: name.into(),
                    next_in: None,
                })
                .expect("done");
        }
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
        let minute = Duration::from_secs(60);
        let mut h = start(&[source("a", minute), source("b", minute)], Mode::Once, 1);
        let mut names = Vec::new();
        while let Some(request) = h.polls.recv().await {
            names.push(request.source.name.clone());
        }
        (&mut h.task).await.expect("scheduler");
        assert_eq!(names, ["a", "b"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_is_not_polled_again_before_its_poll_is_done() {
        let mut h = start(&[source("a", Duration::from_secs(10))], Mode::Continuous, 8);
        let first = h.polls.recv().await.expect("first poll");
        assert!(
            h.roster.next_poll("a").is_none(),
            "no next poll while polling"
        );
        // Far past the interval, but the first poll has not reported done.
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(h.polls.try_recv().is_err(), "no overlapping poll");
        let done_at = Instant::now();
        h.done(&first.source.name);
        tokio::task::yield_now().await;
        assert!(h.roster.next_poll("a").is_some(), "next poll noted");
        h.polls.recv().await.expect("second poll");
        let waited = Instant::now() - done_at;
        assert!(
            waited >= Duration::from_secs(9) && waited <= Duration::from_secs(11),
            "{waited:?}"
        );
        h.shutdown.cancel();
        h.task.await.expect("scheduler stops on shutdown");
    }

    #[tokio::test(start_paused = true)]
    async fn a_reload_starts_added_sources_stops_removed_ones_and_applies_new_intervals() {
        let hour = Duration::from_secs(3600);
        let mut h = start(&[source("a", hour), source("b", hour)], Mode::Continuous, 8);
        let mut first: Vec<String> = Vec::new();
        for _ in 0..2 {
            first.push(
                h.polls
                    .recv()
                    .await
                    .expect("first polls")
                    .source
                    .name
                    .clone(),
            );
        }
        first.sort();
        assert_eq!(first, ["a", "b"]);
        h.done("a");
        h.done("b");
        tokio::time::sleep(Duration::from_secs(1)).await;

        // b removed, c added, a polled every 10 s from now on.
        let reloaded_at = Instant::now();
        h.roster
            .replace(&[source("a", Duration::from_secs(10)), source("c", hour)]);
        h.reloads.send(()).expect("reload");
        let next = h.polls.recv().await.expect("new source polled");
        assert_eq!(
            next.source.name, "c",
            "the added source comes first (start spread)"
        );
        h.done("c");
        let next = h.polls.recv().await.expect("a with its new interval");
        assert_eq!(next.source.name, "a");
        assert_eq!(next.source.interval, Duration::from_secs(10));
        assert!(
            reloaded_at.elapsed() < Duration::from_secs(20),
            "not after the old hour"
        );
        h.done("a");
        // Over the next two hours, b is never polled again.
        let deadline = Instant::now() + 2 * hour;
        while let Ok(Some(request)) = tokio::time::timeout_at(deadline, h.polls.recv()).await {
            assert_ne!(request.source.name, "b", "a removed source is not polled");
            h.done(&request.source.name);
        }
        h.shutdown.cancel();
        h.task.await.expect("scheduler stops on shutdown");
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_removed_and_added_back_during_its_poll_waits_for_that_poll() {
        let minute = Duration::from_secs(60);
        let mut h = start(&[source("a", minute)], Mode::Continuous, 8);
        h.polls.recv().await.expect("first poll");
        h.roster.replace(&[]);
        h.reloads.send(()).expect("reload");
        tokio::task::yield_now().await;
        h.roster.replace(&[source("a", minute)]);
        h.reloads.send(()).expect("reload");
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(h.polls.try_recv().is_err(), "no overlapping poll");
        h.done("a");
        let next = tokio::time::timeout(2 * minute, h.polls.recv()).await;
        assert!(
            matches!(next, Ok(Some(_))),
            "polled again after the old poll"
        );
        h.shutdown.cancel();
        h.task.await.expect("scheduler stops on shutdown");
    }
}
