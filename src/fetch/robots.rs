//! robots.txt: parsed with `texting_robots` (tested against Google's and
//! the RFC 9309 corpora), cached per origin in memory and in the state store.
//!
//! Answers follow RFC 9309: a 2xx file is obeyed; 4xx means no rules; a 5xx
//! answer or an unreachable server means "do not crawl for now", retried
//! after [`UNREACHABLE_TTL`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use texting_robots::Robot;

use crate::state::RobotsRecord;

/// How long a fetched robots.txt is trusted.
pub const ROBOTS_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long "server unreachable" is remembered before asking again.
pub const UNREACHABLE_TTL: Duration = Duration::from_secs(10 * 60);
/// Largest robots.txt read (RFC 9309 asks for at least 500 KiB).
pub const MAX_ROBOTS_BYTES: u64 = 512 * 1024;
/// Longest `Crawl-delay` honoured; larger values are clamped (a hostile or
/// mistaken file must not park a host for days).
pub const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);
/// Origins cached in memory before the cache is emptied.
const MAX_CACHED: usize = 10_000;

/// What robots.txt says about one URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Fetch it.
    Allowed,
    /// The file disallows it.
    Disallowed,
    /// robots.txt could not be read; ask again after this long.
    Unavailable(Duration),
}

/// The rules of one origin.
pub enum Rules {
    /// No file, or a 4xx answer: everything is allowed.
    AllowAll,
    /// The server failed (5xx) or could not be reached.
    Unreachable,
    /// A parsed file.
    Parsed(Box<Robot>),
}

impl Rules {
    /// Builds the rules from a stored answer, for the agent token `agent`.
    pub fn from_record(record: &RobotsRecord, agent: &str) -> Self {
        match record.status {
            200..=299 => match Robot::new(agent, record.body.as_bytes()) {
                Ok(robot) => Self::Parsed(Box::new(robot)),
                // An unparseable file says nothing we can obey.
                Err(_) => Self::AllowAll,
            },
            400..=499 => Self::AllowAll,
            _ => Self::Unreachable,
        }
    }

    /// How long an answer with this status is trusted.
    fn ttl(status: u16) -> Duration {
        if (200..=299).contains(&status) || (400..=499).contains(&status) {
            ROBOTS_TTL
        } else {
            UNREACHABLE_TTL
        }
    }

    /// The file's `Crawl-delay` for our agent, clamped.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            Self::Parsed(robot) => robot
                .delay
                .filter(|d| d.is_finite() && *d > 0.0)
                // Clamp before converting: a huge value would not fit a Duration.
                .map(|d| Duration::from_secs_f32(d.min(MAX_CRAWL_DELAY.as_secs_f32()))),
            _ => None,
        }
    }
}

/// A cached answer.
#[derive(Clone)]
struct Entry {
    rules: Arc<Rules>,
    fetched_at: DateTime<Utc>,
    /// How long the answer is trusted ([`Rules::ttl`] of its status).
    ttl: Duration,
    /// The rules' `Crawl-delay` for the agent.
    crawl_delay: Option<Duration>,
}

/// Whether an answer fetched at `fetched_at` and trusted for `ttl` still holds at `now`.
fn fresh(fetched_at: DateTime<Utc>, ttl: Duration, now: DateTime<Utc>) -> bool {
    now.signed_duration_since(fetched_at)
        .to_std()
        .is_ok_and(|age| age < ttl)
}

impl Entry {
    fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        fresh(self.fetched_at, self.ttl, now)
    }

    fn verdict(&self, url: &str, now: DateTime<Utc>) -> Verdict {
        match &*self.rules {
            Rules::AllowAll => Verdict::Allowed,
            Rules::Unreachable => {
                let age = now
                    .signed_duration_since(self.fetched_at)
                    .to_std()
                    .unwrap_or_default();
                Verdict::Unavailable(self.ttl.saturating_sub(age).max(Duration::from_secs(1)))
            }
            Rules::Parsed(robot) => {
                if robot.allowed(url) {
                    Verdict::Allowed
                } else {
                    Verdict::Disallowed
                }
            }
        }
    }
}

/// The in-memory cache of robots.txt rules per origin.
#[derive(Default)]
pub struct RobotsCache {
    entries: Mutex<HashMap<String, Entry>>,
    /// One fetch per origin at a time: others wait for its answer.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl RobotsCache {
    /// The cached verdict for `url` at `origin`, with the file's crawl
    /// delay, if the cache is fresh.
    pub fn verdict(&self, origin: &str, url: &str) -> Option<(Verdict, Option<Duration>)> {
        let now = Utc::now();
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(origin).filter(|e| e.is_fresh(now))?;
        Some((entry.verdict(url, now), entry.crawl_delay))
    }

    /// Caches an answer, parsed off the async runtime (a 512 KiB file is
    /// CPU work); returns its crawl delay.
    pub async fn insert(
        &self,
        origin: &str,
        record: &RobotsRecord,
        agent: &str,
    ) -> Option<Duration> {
        let (owned, agent_owned) = (record.clone(), agent.to_string());
        let rules = tokio::task::spawn_blocking(move || Rules::from_record(&owned, &agent_owned))
            .await
            // The parser panicked: a file we cannot read says nothing to obey.
            .unwrap_or(Rules::AllowAll);
        let delay = rules.crawl_delay();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_CACHED {
            entries.clear();
        }
        entries.insert(
            origin.to_string(),
            Entry {
                rules: Arc::new(rules),
                fetched_at: record.fetched_at,
                ttl: Rules::ttl(record.status),
                crawl_delay: delay,
            },
        );
        delay
    }

    /// Whether a stored record is still fresh enough to use.
    pub fn is_fresh(record: &RobotsRecord) -> bool {
        fresh(record.fetched_at, Rules::ttl(record.status), Utc::now())
    }

    /// The lock that serialises fetching `origin`'s robots.txt.
    pub fn fetch_lock(&self, origin: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut fetching = self.fetching.lock().unwrap_or_else(|e| e.into_inner());
        if fetching.len() >= MAX_CACHED {
            fetching.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        Arc::clone(fetching.entry(origin.to_string()).or_default())
    }
}

/// The product token robots.txt groups are matched against: the User-Agent
/// up to the first `/` or space ("Thresher/0.1 (+…)" → "Thresher").
pub fn agent_token(user_agent: &str) -> &str {
    user_agent
        .split(['/', ' '])
        .next()
        .filter(|t| !t.is_empty())
        .unwrap_or("Thresher")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: u16, body: &str) -> RobotsRecord {
        RobotsRecord {
            status,
            body: body.to_string(),
            fetched_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn a_file_is_obeyed_for_our_agent_with_its_crawl_delay() {
        let cache = RobotsCache::default();
        let body = "User-agent: *\nDisallow: /\n\nUser-agent: Thresher\nDisallow: /private/\nCrawl-delay: 2\n";
        let delay = cache
            .insert("http://a", &record(200, body), "Thresher")
            .await;
        assert_eq!(delay, Some(Duration::from_secs(2)));
        let verdict = |path: &str| {
            cache
                .verdict("http://a", &format!("http://a{path}"))
                .map(|(v, _)| v)
        };
        assert_eq!(verdict("/news/1"), Some(Verdict::Allowed));
        assert_eq!(verdict("/private/x"), Some(Verdict::Disallowed));
        assert_eq!(cache.verdict("http://b", "http://b/"), None);
    }

    #[tokio::test]
    async fn missing_files_allow_and_server_errors_postpone() {
        let cache = RobotsCache::default();
        cache.insert("http://a", &record(404, ""), "Thresher").await;
        assert_eq!(
            cache.verdict("http://a", "http://a/x"),
            Some((Verdict::Allowed, None))
        );
        cache.insert("http://b", &record(503, ""), "Thresher").await;
        assert!(matches!(
            cache.verdict("http://b", "http://b/x"),
            Some((Verdict::Unavailable(_), None))
        ));
    }

    #[tokio::test]
    async fn absurd_crawl_delays_are_clamped() {
        let cache = RobotsCache::default();
        for value in [
            "86400",
            "1e30",
            "99999999999999999999999",
            "inf",
            "NaN",
            "-5",
        ] {
            let body = format!("User-agent: *\nCrawl-delay: {value}\n");
            let delay = cache
                .insert("http://a", &record(200, &body), "Thresher")
                .await;
            assert!(
                delay.is_none_or(|d| d <= MAX_CRAWL_DELAY),
                "{value}: {delay:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_cached_verdict_carries_the_crawl_delay_to_set_again_on_a_swept_origin() {
        let cache = RobotsCache::default();
        let body = "User-agent: *\nCrawl-delay: 7\n";
        cache
            .insert("http://a", &record(200, body), "Thresher")
            .await;
        assert_eq!(
            cache.verdict("http://a", "http://a/x"),
            Some((Verdict::Allowed, Some(Duration::from_secs(7))))
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_large_file_is_parsed_without_holding_the_runtime() {
        // One runtime thread: a parse on it would keep the ticker from
        // running until the parse is over.
        let ticks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&ticks);
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(1)).await;
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
        let mut body = String::new();
        let mut n = 0;
        while body.len() < MAX_ROBOTS_BYTES as usize - 64 {
            body.push_str(&format!(
                "User-agent: bot{n}\nDisallow: /private/{n}/*.html$\n"
            ));
            n += 1;
        }
        let cache = RobotsCache::default();
        cache
            .insert("http://a", &record(200, &body), "Thresher")
            .await;
        let during = ticks.load(std::sync::atomic::Ordering::Relaxed);
        ticker.abort();
        assert!(during > 0, "the runtime was held for the whole parse");
    }

    #[test]
    fn the_agent_token_is_the_product_name() {
        assert_eq!(agent_token("Thresher/0.1 (+https://x)"), "Thresher");
        assert_eq!(agent_token("MyBot"), "MyBot");
        assert_eq!(agent_token(""), "Thresher");
    }
}
