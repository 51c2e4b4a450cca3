//! Politeness per host: how many requests may be in flight to one origin, how
//! far apart they start, and whether the origin asked us to stay away
//! (`Retry-After`). One record per origin, shared by feed polls and article
//! fetches of every source, plus one global cap over all origins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

use crate::clock;

/// Origins remembered before idle ones are forgotten (bounds memory when
/// feeds link to ever new hosts).
const MAX_IDLE_ORIGINS: usize = 10_000;
/// Distinct URLs of one origin refused (429/503) in a row before the whole
/// origin is blocked for the `Retry-After`. One refused page names when to
/// ask for that page again; refusals across many pages mean the site.
pub const BLOCK_AFTER_REFUSED_URLS: usize = 3;
/// The pause after a first refusal, doubled per further one, and the
/// longest; the origin's interval is stretched to it while refusals last.
const SLOWDOWN_BASE: Duration = Duration::from_secs(1);
const SLOWDOWN_MAX: Duration = Duration::from_secs(60);

/// The politeness key of a URL: scheme, host and port, as robots.txt is scoped.
pub fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// The limits a request must respect at its origin.
#[derive(Debug, Clone, Copy)]
pub struct HostPolicy {
    /// Requests in flight to the origin at once (fixed by its first request).
    pub concurrency: usize,
    /// Least time between two request starts.
    pub min_interval: Duration,
}

/// Why a request may not start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    /// How long until the origin will take a request.
    pub wait: Duration,
}

/// One origin's state.
struct Origin {
    /// Sized by the first request (a block or crawl delay may create the
    /// origin before any request does).
    slots: OnceLock<Arc<Semaphore>>,
    timing: Mutex<Timing>,
}

#[derive(Default)]
struct Timing {
    /// When the next request may start (a reservation, see `last_start`).
    next_start: Option<Instant>,
    /// When the last request was actually let go: the interval is kept from
    /// here, since a request may go out later than its reserved start.
    last_start: Option<Instant>,
    /// No request before this (the server's `Retry-After`).
    blocked_until: Option<Instant>,
    /// The origin's robots.txt `Crawl-delay`.
    crawl_delay: Option<Duration>,
    /// Refusals (429/503) not yet outweighed by answers: each doubles the
    /// slowdown, each answer takes one back.
    strikes: u32,
    /// Hashes of the distinct URLs refused since the origin last answered freely.
    refused: Vec<u64>,
}

impl Timing {
    /// The extra spacing refusals impose, if any.
    fn slowdown(&self) -> Option<Duration> {
        let doublings = self.strikes.checked_sub(1)?.min(16);
        Some(
            SLOWDOWN_BASE
                .saturating_mul(1 << doublings)
                .min(SLOWDOWN_MAX),
        )
    }
}

/// What a refusal did to its origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The origin slows down; its other URLs are still fetched.
    Slowed,
    /// Many URLs were refused: the whole origin waits for the `Retry-After`.
    Blocked,
}

/// A request's right to run; dropping it frees the slots.
pub struct HostPermit {
    /// Keeps the origin's record alive (and out of eviction) while in use.
    _record: Arc<Origin>,
    _origin: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

/// The politeness state of every origin.
pub struct Hosts {
    origins: Mutex<HashMap<String, Arc<Origin>>>,
    /// Size of the map at which idle origins are next swept: doubled when a
    /// sweep frees too little, so a map of busy origins is not scanned on
    /// every new one.
    sweep_at: std::sync::atomic::AtomicUsize,
    global: Arc<Semaphore>,
}

impl Hosts {
    /// Politeness with at most `max_concurrency` requests in flight overall.
    pub fn new(max_concurrency: usize) -> Self {
        Self {
            origins: Mutex::new(HashMap::new()),
            sweep_at: std::sync::atomic::AtomicUsize::new(MAX_IDLE_ORIGINS),
            global: Arc::new(Semaphore::new(max_concurrency.max(1))),
        }
    }

    fn origins(&self) -> MutexGuard<'_, HashMap<String, Arc<Origin>>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.origins.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn origin(&self, key: &str) -> Arc<Origin> {
        let mut origins = self.origins();
        if let Some(origin) = origins.get(key) {
            return Arc::clone(origin);
        }
        let sweep_at = self.sweep_at.load(std::sync::atomic::Ordering::Relaxed);
        if origins.len() >= sweep_at {
            // Forget origins nobody is using and that have nothing to
            // remember. A crawl delay is not a reason to stay: it only spaces
            // the next start, which has passed, and the robots cache sets it
            // again on the origin's next request.
            let now = Instant::now();
            origins.retain(|_, o| {
                let timing = o.timing.lock().unwrap_or_else(|e| e.into_inner());
                Arc::strong_count(o) > 1
                    || timing.blocked_until.is_some_and(|t| t > now)
                    || timing.next_start.is_some_and(|t| t > now)
                    || timing.strikes > 0
            });
            let next = (origins.len().saturating_mul(2)).max(MAX_IDLE_ORIGINS);
            self.sweep_at
                .store(next, std::sync::atomic::Ordering::Relaxed);
        }
        let origin = Arc::new(Origin {
            slots: OnceLock::new(),
            timing: Mutex::new(Timing::default()),
        });
        origins.insert(key.to_string(), Arc::clone(&origin));
        origin
    }

    /// Waits for a slot at `key` and for its start time. Returns [`Busy`]
    /// instead of waiting when the start time (or the end of a block) is
    /// further away than `max_wait`, so one slow origin does not hold a
    /// worker that others could use.
    pub async fn acquire(
        &self,
        key: &str,
        policy: HostPolicy,
        max_wait: Duration,
    ) -> Result<HostPermit, Busy> {
        let origin = self.origin(key);
        if let Some(wait) = self.blocked_for(key)
            && wait > max_wait
        {
            return Err(Busy { wait });
        }
        let slots = origin
            .slots
            .get_or_init(|| Arc::new(Semaphore::new(policy.concurrency.max(1))));
        // Bounded too: requests already holding the slots may be slow.
        let slot = tokio::time::timeout(max_wait, Arc::clone(slots).acquire_owned())
            .await
            .map_err(|_| Busy { wait: max_wait })?
            .map_err(|_| Busy {
                wait: Duration::from_secs(1),
            })?;
        // Reserve a start time: requests to one origin start at least the
        // interval (or the crawl delay, if longer) apart.
        let (mut start, interval) = {
            let mut timing = origin.timing.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let interval = timing
                .crawl_delay
                .map_or(policy.min_interval, |d| d.max(policy.min_interval))
                .max(timing.slowdown().unwrap_or_default());
            let mut start = timing.next_start.unwrap_or(now).max(now);
            if let Some(blocked) = timing.blocked_until {
                start = start.max(blocked);
            }
            if start.duration_since(now) > max_wait {
                return Err(Busy {
                    wait: start.duration_since(now),
                });
            }
            timing.next_start = Some(clock::instant_after(start, interval));
            (start, interval)
        };
        loop {
            tokio::time::sleep_until(start).await;
            let global = Arc::clone(&self.global)
                .acquire_owned()
                .await
                .map_err(|_| Busy {
                    wait: Duration::from_secs(1),
                })?;
            // The reservation is only a plan: a timer fires late on a busy
            // machine and the global cap can hold a request past its start,
            // so the request before this one may have gone out late. The
            // server sees when requests are sent, so the interval is checked
            // again against that moment, after the last wait and with no
            // await between this check and the request being handed over.
            let too_soon = {
                let mut timing = origin.timing.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let earliest = timing
                    .last_start
                    .map_or(now, |last| clock::instant_after(last, interval));
                if earliest <= now {
                    timing.last_start = Some(now);
                    // Later reservations are spaced from this real start too.
                    let after = clock::instant_after(now, interval);
                    timing.next_start = Some(timing.next_start.map_or(after, |t| t.max(after)));
                    None
                } else {
                    Some((earliest, earliest.duration_since(now)))
                }
            };
            let Some((earliest, wait)) = too_soon else {
                return Ok(HostPermit {
                    _record: origin,
                    _origin: slot,
                    _global: global,
                });
            };
            // Too soon after a late request: wait out the rest of its
            // interval without holding a place under the global cap.
            drop(global);
            if wait > max_wait {
                return Err(Busy { wait });
            }
            start = earliest;
        }
    }

    /// How long `key` is still blocked by a `Retry-After`, if it is.
    pub fn blocked_for(&self, key: &str) -> Option<Duration> {
        let origin = self.origins().get(key).cloned()?;
        let timing = origin.timing.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        timing
            .blocked_until
            .filter(|&t| t > now)
            .map(|t| t.duration_since(now))
    }

    /// Every origin still blocked by a `Retry-After`, with the time left.
    pub fn blocked(&self) -> Vec<(String, Duration)> {
        let now = Instant::now();
        self.origins()
            .iter()
            .filter_map(|(key, origin)| {
                let timing = origin.timing.lock().unwrap_or_else(|e| e.into_inner());
                let until = timing.blocked_until.filter(|&t| t > now)?;
                Some((key.clone(), until.duration_since(now)))
            })
            .collect()
    }

    /// Keeps every request away from `key` for `wait` (a 429/503 answer).
    pub fn block(&self, key: &str, wait: Duration) {
        let origin = self.origin(key);
        let mut timing = origin.timing.lock().unwrap_or_else(|e| e.into_inner());
        let until = clock::instant_in(wait);
        timing.blocked_until = Some(timing.blocked_until.map_or(until, |t| t.max(until)));
    }

    /// Records a 429/503 from `key` for `url` with the server's (clamped)
    /// `wait`. The origin pauses for the shorter of `wait` and its slowdown
    /// (1 s, doubling per refusal in a row, at most 60 s) and keeps that
    /// longer interval while refusals last; once
    /// [`BLOCK_AFTER_REFUSED_URLS`] different URLs were refused, the whole
    /// origin is blocked for `wait`, as large crawlers do.
    pub fn refused(&self, key: &str, url: &Url, wait: Duration) -> Refusal {
        let origin = self.origin(key);
        let mut timing = origin.timing.lock().unwrap_or_else(|e| e.into_inner());
        timing.strikes = timing.strikes.saturating_add(1);
        let hash = xxhash_rust::xxh3::xxh3_64(url.as_str().as_bytes());
        if !timing.refused.contains(&hash) {
            timing.refused.push(hash);
        }
        if timing.refused.len() >= BLOCK_AFTER_REFUSED_URLS {
            let until = clock::instant_in(wait);
            timing.blocked_until = Some(timing.blocked_until.map_or(until, |t| t.max(until)));
            return Refusal::Blocked;
        }
        let pause = wait.min(timing.slowdown().unwrap_or(SLOWDOWN_BASE));
        let resume = clock::instant_in(pause);
        timing.next_start = Some(timing.next_start.map_or(resume, |t| t.max(resume)));
        Refusal::Slowed
    }

    /// Records an answer from `key` that was not a refusal: one strike of
    /// slowdown is taken back; with none left the refused URLs are forgotten.
    pub fn answered(&self, key: &str) {
        let Some(origin) = self.origins().get(key).cloned() else {
            return;
        };
        let mut timing = origin.timing.lock().unwrap_or_else(|e| e.into_inner());
        timing.strikes = timing.strikes.saturating_sub(1);
        if timing.strikes == 0 {
            timing.refused.clear();
        }
    }

    /// Records the origin's robots.txt `Crawl-delay`.
    pub fn set_crawl_delay(&self, key: &str, delay: Option<Duration>) {
        let origin = self.origin(key);
        let mut timing = origin.timing.lock().unwrap_or_else(|e| e.into_inner());
        timing.crawl_delay = delay;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOREVER: Duration = Duration::from_secs(3600);

    fn policy(concurrency: usize, ms: u64) -> HostPolicy {
        HostPolicy {
            concurrency,
            min_interval: Duration::from_millis(ms),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn requests_to_one_origin_start_an_interval_apart() {
        let hosts = Hosts::new(8);
        let t0 = Instant::now();
        let a = hosts.acquire("http://a", policy(4, 1000), FOREVER).await;
        let b = hosts.acquire("http://a", policy(4, 1000), FOREVER).await;
        assert!(a.is_ok() && b.is_ok());
        assert!(Instant::now() - t0 >= Duration::from_millis(1000));
        // Another origin is not held back.
        let t1 = Instant::now();
        let _c = hosts.acquire("http://b", policy(4, 1000), FOREVER).await;
        assert!(Instant::now() - t1 < Duration::from_millis(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_far_start_or_a_block_is_reported_instead_of_waited_for() {
        let hosts = Hosts::new(8);
        let limit = Duration::from_secs(5);
        let _a = hosts.acquire("http://a", policy(4, 10_000), limit).await;
        let busy = hosts.acquire("http://a", policy(4, 10_000), limit).await;
        assert!(matches!(busy, Err(Busy { wait }) if wait > Duration::from_secs(9)));
        hosts.block("http://b", Duration::from_secs(60));
        let busy = hosts.acquire("http://b", policy(4, 0), limit).await;
        assert!(matches!(busy, Err(Busy { wait }) if wait > Duration::from_secs(59)));
        assert!(hosts.blocked_for("http://b").is_some());
        let blocked = hosts.blocked();
        assert_eq!(blocked.len(), 1);
        assert_eq!(blocked[0].0, "http://b");
        assert!(hosts.blocked_for("http://a").is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_per_origin_is_bounded() {
        let hosts = Arc::new(Hosts::new(8));
        let first = hosts.acquire("http://a", policy(1, 0), FOREVER).await;
        assert!(first.is_ok());
        let second = {
            let hosts = Arc::clone(&hosts);
            tokio::spawn(async move {
                hosts
                    .acquire("http://a", policy(1, 0), FOREVER)
                    .await
                    .is_ok()
            })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!second.is_finished(), "a second request waits for the slot");
        drop(first);
        assert!(second.await.unwrap_or(false));
    }

    #[tokio::test(start_paused = true)]
    async fn one_refused_page_slows_its_origin_and_many_block_it() {
        let hosts = Hosts::new(8);
        let hour = Duration::from_secs(3600);
        let url = |path: &str| Url::parse(&format!("http://a{path}")).expect("url");
        let t0 = Instant::now();
        assert_eq!(hosts.refused("http://a", &url("/1"), hour), Refusal::Slowed);
        // The origin pauses 1 s, not an hour, and then takes requests 1 s apart.
        let _b = hosts.acquire("http://a", policy(4, 0), FOREVER).await;
        assert!(Instant::now() - t0 >= Duration::from_secs(1));
        assert!(Instant::now() - t0 < Duration::from_secs(2));
        assert!(hosts.blocked_for("http://a").is_none());
        // The same page again escalates the slowdown but does not block.
        assert_eq!(hosts.refused("http://a", &url("/1"), hour), Refusal::Slowed);
        assert_eq!(hosts.refused("http://a", &url("/2"), hour), Refusal::Slowed);
        assert_eq!(
            hosts.refused("http://a", &url("/3"), hour),
            Refusal::Blocked
        );
        assert!(
            hosts
                .blocked_for("http://a")
                .is_some_and(|w| w > hour - Duration::from_secs(1))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn answers_take_the_slowdown_back() {
        let hosts = Hosts::new(8);
        let url = Url::parse("http://a/1").expect("url");
        hosts.refused("http://a", &url, Duration::from_secs(60));
        hosts.refused("http://a", &url, Duration::from_secs(60));
        hosts.answered("http://a");
        hosts.answered("http://a");
        let _first = hosts.acquire("http://a", policy(4, 0), FOREVER).await;
        let t0 = Instant::now();
        let _second = hosts.acquire("http://a", policy(4, 0), FOREVER).await;
        assert!(
            Instant::now() - t0 < Duration::from_millis(10),
            "no slowdown left"
        );
    }

    #[test]
    fn a_map_of_origins_that_cannot_be_forgotten_is_swept_ever_less_often() {
        let hosts = Hosts::new(8);
        for n in 0..=MAX_IDLE_ORIGINS {
            // A block is remembered, so none of these can be forgotten.
            hosts.block(&format!("http://h{n}"), FOREVER);
        }
        let after_first = hosts.sweep_at.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            after_first > MAX_IDLE_ORIGINS * 2 - 2,
            "next sweep at {after_first}"
        );
        hosts.set_crawl_delay("http://one-more", None);
        assert_eq!(
            hosts.sweep_at.load(std::sync::atomic::Ordering::Relaxed),
            after_first
        );
    }

    #[test]
    fn idle_origins_with_a_crawl_delay_are_forgotten_past_the_sweep_size() {
        let hosts = Hosts::new(8);
        for n in 0..=MAX_IDLE_ORIGINS {
            hosts.set_crawl_delay(&format!("http://h{n}"), Some(Duration::from_secs(1)));
        }
        assert!(
            hosts.origins().len() < 10,
            "{} origins kept",
            hosts.origins().len()
        );
    }

    /// A request to `a` that is let go only when `held` (a permit of another
    /// origin taking the single place under the global cap) is dropped at
    /// `release`: it goes out late. Returns when it went out.
    async fn late_request(
        hosts: &Arc<Hosts>,
        held: HostPermit,
        release: Duration,
        policy: HostPolicy,
    ) -> Instant {
        let task = {
            let hosts = Arc::clone(hosts);
            tokio::spawn(async move {
                let permit = hosts.acquire("http://a", policy, FOREVER).await;
                assert!(permit.is_ok());
                Instant::now()
            })
        };
        tokio::time::sleep(release).await;
        drop(held);
        task.await.unwrap_or_else(|e| panic!("late request: {e}"))
    }

    #[tokio::test(start_paused = true)]
    async fn the_interval_counts_from_a_late_start_not_from_its_reservation() {
        let hosts = Arc::new(Hosts::new(1));
        let t0 = Instant::now();
        let held = hosts.acquire("http://b", policy(1, 0), FOREVER).await;
        let held = held.unwrap_or_else(|_| panic!("first request to b"));
        // Reserved for t0, sent at t0 + 60 ms.
        let late = late_request(&hosts, held, Duration::from_millis(60), policy(1, 100)).await;
        assert!(late - t0 >= Duration::from_millis(60));
        // Reserved for t0 + 100 ms, which would be 40 ms after the late one.
        let _next = hosts.acquire("http://a", policy(1, 100), FOREVER).await;
        assert!(Instant::now() - late >= Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_reserved_before_an_earlier_one_went_out_late_waits_for_it() {
        let hosts = Arc::new(Hosts::new(1));
        let held = hosts.acquire("http://b", policy(1, 0), FOREVER).await;
        let held = held.unwrap_or_else(|_| panic!("first request to b"));
        // Two requests to `a` at once: the first reserves t0 and the second
        // t0 + 100 ms, before the first goes out late at t0 + 60 ms.
        let second = {
            let hosts = Arc::clone(&hosts);
            tokio::spawn(async move {
                tokio::task::yield_now().await;
                let permit = hosts.acquire("http://a", policy(2, 100), FOREVER).await;
                assert!(permit.is_ok());
                Instant::now()
            })
        };
        let late = late_request(&hosts, held, Duration::from_millis(60), policy(2, 100)).await;
        let second = second
            .await
            .unwrap_or_else(|e| panic!("second request: {e}"));
        assert!(
            second - late >= Duration::from_millis(100),
            "{:?}",
            second - late
        );
    }

    #[tokio::test(start_paused = true)]
    async fn crawl_delay_stretches_the_interval() {
        let hosts = Hosts::new(8);
        hosts.set_crawl_delay("http://a", Some(Duration::from_secs(5)));
        let t0 = Instant::now();
        let _a = hosts.acquire("http://a", policy(2, 100), FOREVER).await;
        let _b = hosts.acquire("http://a", policy(2, 100), FOREVER).await;
        assert!(Instant::now() - t0 >= Duration::from_secs(5));
    }
}
