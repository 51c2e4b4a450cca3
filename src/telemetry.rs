//! Telemetry: log set-up and the pipeline's counters.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing_subscriber::EnvFilter;

/// How log lines are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Installs the global `tracing` subscriber, writing to stderr.
///
/// The level comes from `RUST_LOG` (default `info` for Thresher, `warn` for
/// libraries, nothing from html5ever, whose parse-error notes are noise here).
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,thresher=info,html5ever=off"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // A second call (tests) keeps the first subscriber; that is fine.
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Counters of what the pipeline did; shared by all stages.
#[derive(Debug, Default)]
pub struct Stats {
    /// Feed polls that succeeded (including 304 Not Modified).
    pub polls_ok: AtomicU64,
    /// Feed polls that failed.
    pub polls_failed: AtomicU64,
    /// New links accepted from feeds.
    pub links_accepted: AtomicU64,
    /// Articles delivered to the sinks.
    pub articles_written: AtomicU64,
    /// Pages recognised as an already delivered article.
    pub duplicates: AtomicU64,
    /// Pages without an article.
    pub rejected: AtomicU64,
    /// Article fetches or writes that failed.
    pub failed: AtomicU64,
    /// Articles acknowledged by the NATS JetStream broker.
    pub published: AtomicU64,
    /// NATS publishes that failed or timed out and will be retried.
    pub publish_retries: AtomicU64,
    /// Gauge: articles in the NATS outbox, accepted but not yet acknowledged.
    pub outbox_depth: AtomicU64,
    /// Gauge: 1 while connected to the NATS broker, else 0.
    pub broker_connected: AtomicU64,
}

/// A point-in-time copy of [`Stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StatsSnapshot {
    /// See [`Stats::polls_ok`].
    pub polls_ok: u64,
    /// See [`Stats::polls_failed`].
    pub polls_failed: u64,
    /// See [`Stats::links_accepted`].
    pub links_accepted: u64,
    /// See [`Stats::articles_written`].
    pub articles_written: u64,
    /// See [`Stats::duplicates`].
    pub duplicates: u64,
    /// See [`Stats::rejected`].
    pub rejected: u64,
    /// See [`Stats::failed`].
    pub failed: u64,
    /// See [`Stats::published`].
    pub published: u64,
    /// See [`Stats::publish_retries`].
    pub publish_retries: u64,
    /// See [`Stats::outbox_depth`].
    pub outbox_depth: u64,
    /// See [`Stats::broker_connected`].
    pub broker_connected: u64,
}

impl Stats {
    /// Adds one to `counter`.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Sets the gauge `gauge` to `value`.
    pub fn set(gauge: &AtomicU64, value: u64) {
        gauge.store(value, Ordering::Relaxed);
    }

    /// Reads all counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            polls_ok: get(&self.polls_ok),
            polls_failed: get(&self.polls_failed),
            links_accepted: get(&self.links_accepted),
            articles_written: get(&self.articles_written),
            duplicates: get(&self.duplicates),
            rejected: get(&self.rejected),
            failed: get(&self.failed),
            published: get(&self.published),
            publish_retries: get(&self.publish_retries),
            outbox_depth: get(&self.outbox_depth),
            broker_connected: get(&self.broker_connected),
        }
    }
}
