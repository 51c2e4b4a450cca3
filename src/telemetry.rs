//! Telemetry: log set-up, the pipeline's counters, the Prometheus metrics
//! built on them, and the HTTP endpoint serving metrics, health and status.

pub mod metrics;
pub mod progress;
pub mod server;
pub mod status;
pub mod status_from;
pub mod summary;

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
        // Line by line, above `thresher once`'s progress bar when one is shown.
        .with_writer(progress::LogWriter::default);
    // A second call (tests) keeps the first subscriber; that is fine.
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Whether a [`Stats`] field counts events or reports a current level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatKind {
    /// Only ever goes up; exported as `thresher_<name>_total`.
    Counter,
    /// Goes up and down (a depth, a connection state); exported as `thresher_<name>`.
    Gauge,
}

/// One [`Stats`] field as the metrics exporter sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatMetric {
    /// The field name, which is also the metric name after `thresher_`.
    pub name: &'static str,
    /// The help text: the field's doc comment.
    pub help: &'static str,
    /// Counter or gauge.
    pub kind: StatKind,
    /// The current value.
    pub value: u64,
}

/// Declares [`Stats`], [`StatsSnapshot`] and their export as metrics from one
/// list, so a new counter or gauge is one entry here: its doc comment becomes
/// the field's documentation and the metric's help text.
macro_rules! stats {
    ($( $(#[doc = $doc:literal])+ $kind:ident $name:ident; )+) => {
        /// Counters of what the pipeline did; shared by all stages.
        #[derive(Debug, Default)]
        pub struct Stats {
            $( $(#[doc = $doc])+ pub $name: AtomicU64, )+
        }

        /// A point-in-time copy of [`Stats`].
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub struct StatsSnapshot {
            $( $(#[doc = $doc])+ pub $name: u64, )+
        }

        impl Stats {
            /// Reads all counters.
            pub fn snapshot(&self) -> StatsSnapshot {
                StatsSnapshot {
                    $( $name: self.$name.load(Ordering::Relaxed), )+
                }
            }

            /// Every field with its metric name, help text, kind and value.
            pub fn metrics(&self) -> Vec<StatMetric> {
                vec![
                    $( StatMetric {
                        name: stringify!($name),
                        help: concat!($($doc),+),
                        kind: StatKind::$kind,
                        value: self.$name.load(Ordering::Relaxed),
                    }, )+
                ]
            }
        }
    };
}

stats! {
    /// Feed polls that succeeded (including 304 Not Modified).
    Counter polls_ok;
    /// Feed polls that failed.
    Counter polls_failed;
    /// New links accepted from feeds.
    Counter links_accepted;
    /// Articles delivered to the sinks.
    Counter articles_written;
    /// Pages recognised as an already delivered article (same canonical URL),
    /// and links another source's feed listed first.
    Counter duplicates;
    /// Pages recognised as another copy of a delivered story (similar body).
    Counter near_duplicates;
    /// Pages without an article.
    Counter rejected;
    /// Article fetches or writes that failed.
    Counter failed;
    /// Articles acknowledged by the NATS JetStream broker.
    Counter published;
    /// NATS publishes that failed or timed out and will be retried.
    Counter publish_retries;
    /// Articles in the NATS outbox, accepted but not yet acknowledged.
    Gauge outbox_depth;
    /// 1 while connected to the NATS broker, else 0.
    Gauge broker_connected;
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
}
