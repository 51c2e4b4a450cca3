//! Prometheus metrics: one registry, every name prefixed `thresher_`.
//!
//! Process-wide counters come from [`Stats`] (exported field by field, so a
//! new `Stats` entry is a new metric with nothing else to change); per-source
//! counters, histograms and gauges live here as labelled families. Gauges that
//! describe a current level (queue depths, host blocks) are refreshed by the
//! daemon just before each scrape (see [`super::server::Observed`]).

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use super::{StatKind, Stats};

/// Labels of a per-source counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    /// The source's name.
    pub source: String,
}

/// Labels of `thresher_source_polls_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PollLabels {
    /// The source's name.
    pub source: String,
    /// `ok`, `not_modified` or `failed`.
    pub outcome: &'static str,
}

/// Labels of `thresher_source_failures_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    /// The source's name.
    pub source: String,
    /// `feed` (a poll) or `article` (a page fetch, clean or write).
    pub stage: &'static str,
    /// The failure kind, e.g. `timeout`, `http_5xx`, `bad_feed`.
    pub kind: &'static str,
}

/// Labels of `thresher_fetch_duration_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FetchLabels {
    /// `feed`, `page` or `robots`.
    pub target: &'static str,
}

/// Labels of `thresher_queue_depth`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    /// The channel: `polls`, `jobs`, `pages` or `articles`.
    pub queue: &'static str,
}

/// Labels of `thresher_host_blocked_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OriginLabels {
    /// Scheme, host and port.
    pub origin: String,
}

/// Labels of `thresher_config_reloads_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    /// `applied` or `rejected`.
    pub result: &'static str,
}

/// Every metric of the daemon. Cheap to update from any stage.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Feed polls by source and outcome.
    pub polls: Family<PollLabels, Counter>,
    /// Articles written, by source.
    pub articles_written: Family<SourceLabels, Counter>,
    /// Pages not written because their article or story already was
    /// (same article, or a near-duplicate copy), and links another source's
    /// feed listed first, by source.
    pub duplicates: Family<SourceLabels, Counter>,
    /// Failures by source, stage and kind.
    pub failures: Family<FailureLabels, Counter>,
    /// Failed feed polls in a row per source (the source backs off while > 0).
    pub source_failing: Family<SourceLabels, Gauge>,
    /// HTTP request time (headers and body), by target.
    pub fetch_seconds: Family<FetchLabels, Histogram>,
    /// Time to decode and clean one page.
    pub clean_seconds: Histogram,
    /// Items waiting in each channel between stages.
    pub queue_depth: Family<QueueLabels, Gauge>,
    /// Remaining `Retry-After` block of each blocked origin.
    pub host_blocked_seconds: Family<OriginLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// Links accepted but not yet finished (in the state store).
    pub articles_pending: Gauge,
    /// Sources in the running configuration.
    pub sources: Gauge,
    /// Configuration reloads by result.
    pub config_reloads: Family<ReloadLabels, Counter>,
}

impl Metrics {
    /// A registry with every metric, exporting `stats` too.
    pub fn new(stats: Arc<Stats>) -> Self {
        let mut registry = Registry::with_prefix("thresher");
        let polls = Family::default();
        let articles_written = Family::default();
        let duplicates = Family::default();
        let failures = Family::default();
        let source_failing = Family::default();
        // 5 ms to ~80 s: a local page and a feed on a slow host both land in a bucket.
        let fetch_seconds = Family::<FetchLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.005, 2.0, 15))) as fn() -> Histogram,
        );
        // 0.5 ms to ~4 s.
        let clean_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        let queue_depth = Family::default();
        let host_blocked_seconds = Family::default();
        let articles_pending = Gauge::default();
        let sources = Gauge::default();
        let config_reloads = Family::default();

        registry.register(
            "build",
            "Thresher version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        registry.register(
            "source_polls",
            "Feed polls by source and outcome (ok, not_modified, failed)",
            polls.clone(),
        );
        registry.register(
            "source_articles_written",
            "Articles written to the outputs, by source",
            articles_written.clone(),
        );
        registry.register(
            "source_duplicates",
            "Pages not written because their article or story already was (same article, near-duplicate copy, or a link another source listed first), by source",
            duplicates.clone(),
        );
        registry.register(
            "source_failures",
            "Failures by source, stage (feed or article) and kind",
            failures.clone(),
        );
        registry.register(
            "source_consecutive_failures",
            "Failed feed polls in a row; above 0 the source is backing off",
            source_failing.clone(),
        );
        registry.register_with_unit(
            "fetch_duration",
            "HTTP request time, headers and body, by target (feed, page, robots)",
            Unit::Seconds,
            fetch_seconds.clone(),
        );
        registry.register_with_unit(
            "clean_duration",
            "Time to decode and clean one article page",
            Unit::Seconds,
            clean_seconds.clone(),
        );
        registry.register(
            "queue_depth",
            "Items waiting in the channel between two pipeline stages",
            queue_depth.clone(),
        );
        registry.register_with_unit(
            "host_blocked",
            "Remaining wait an origin imposed with Retry-After (429/503)",
            Unit::Seconds,
            host_blocked_seconds.clone(),
        );
        registry.register(
            "articles_pending",
            "Links accepted from feeds and not yet finished (state store)",
            articles_pending.clone(),
        );
        registry.register(
            "sources",
            "Sources in the running configuration",
            sources.clone(),
        );
        registry.register(
            "config_reloads",
            "Configuration reloads by result (applied, rejected)",
            config_reloads.clone(),
        );
        registry.register_collector(Box::new(StatsCollector(stats)));
        Self {
            registry,
            polls,
            articles_written,
            duplicates,
            failures,
            source_failing,
            fetch_seconds,
            clean_seconds,
            queue_depth,
            host_blocked_seconds,
            articles_pending,
            sources,
            config_reloads,
        }
    }

    /// Counts a feed poll of `source` with `outcome` (`ok`, `not_modified`, `failed`).
    pub fn poll(&self, source: &str, outcome: &'static str) {
        self.polls
            .get_or_create(&PollLabels {
                source: source.to_string(),
                outcome,
            })
            .inc();
    }

    /// Counts a failure of `source` at `stage` (`feed` or `article`).
    pub fn failure(&self, source: &str, stage: &'static str, kind: &'static str) {
        self.failures
            .get_or_create(&FailureLabels {
                source: source.to_string(),
                stage,
                kind,
            })
            .inc();
    }

    /// Records the time of one HTTP request to `target`.
    pub fn fetched(&self, target: &'static str, took: Duration) {
        self.fetch_seconds
            .get_or_create(&FetchLabels { target })
            .observe(took.as_secs_f64());
    }

    /// A per-source counter's value (0 when never counted).
    pub fn source_count(family: &Family<SourceLabels, Counter>, source: &str) -> u64 {
        family
            .get(&SourceLabels {
                source: source.to_string(),
            })
            .map_or(0, |c| c.get())
    }

    /// Polls of `source` with `outcome` since start.
    pub fn poll_count(&self, source: &str, outcome: &'static str) -> u64 {
        self.polls
            .get(&PollLabels {
                source: source.to_string(),
                outcome,
            })
            .map_or(0, |c| c.get())
    }

    /// Forgets the per-source series of a source that is no longer configured.
    pub fn forget_source(&self, source: &str) {
        let labels = SourceLabels {
            source: source.to_string(),
        };
        self.articles_written.remove(&labels);
        self.duplicates.remove(&labels);
        self.source_failing.remove(&labels);
        for outcome in POLL_OUTCOMES {
            self.polls.remove(&PollLabels {
                source: source.to_string(),
                outcome,
            });
        }
    }

    /// The whole registry in the Prometheus text format (version 0.0.4).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Every outcome label of `thresher_source_polls_total`.
pub const POLL_OUTCOMES: [&str; 3] = ["ok", "not_modified", "failed"];

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Exports every [`Stats`] field at scrape time.
#[derive(Debug)]
struct StatsCollector(Arc<Stats>);

impl Collector for StatsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for stat in self.0.metrics() {
            let help = stat.help.trim();
            match stat.kind {
                StatKind::Counter => {
                    let counter = ConstCounter::new(stat.value);
                    let metric =
                        encoder.encode_descriptor(stat.name, help, None, counter.metric_type())?;
                    counter.encode(metric)?;
                }
                StatKind::Gauge => {
                    let gauge = ConstGauge::new(i64::try_from(stat.value).unwrap_or(i64::MAX));
                    let metric =
                        encoder.encode_descriptor(stat.name, help, None, gauge.metric_type())?;
                    gauge.encode(metric)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_fields_and_families_are_exported_with_the_prefix() {
        let stats = Arc::new(Stats::default());
        Stats::add(&stats.articles_written, 3);
        let metrics = Metrics::new(Arc::clone(&stats));
        metrics.poll("news", "ok");
        metrics
            .articles_written
            .get_or_create(&SourceLabels {
                source: "news".into(),
            })
            .inc();
        metrics.fetched("feed", Duration::from_millis(20));
        let text = metrics.encode().expect("encode");
        assert!(
            text.contains("thresher_articles_written_total 3\n"),
            "{text}"
        );
        assert!(
            text.contains("thresher_source_polls_total{source=\"news\",outcome=\"ok\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("thresher_source_articles_written_total{source=\"news\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("thresher_fetch_duration_seconds_count{target=\"feed\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("# HELP thresher_polls_ok_total Feed polls that succeeded"),
            "help text from the Stats doc comment: {text}"
        );
        assert!(text.contains("thresher_build_info{version=\""), "{text}");
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.starts_with("thresher_"), "unprefixed: {line}");
        }
    }

    #[test]
    fn a_removed_source_loses_its_series() {
        let metrics = Metrics::new(Arc::new(Stats::default()));
        metrics.poll("gone", "ok");
        assert_eq!(metrics.poll_count("gone", "ok"), 1);
        metrics.forget_source("gone");
        assert_eq!(metrics.poll_count("gone", "ok"), 0);
        let text = metrics.encode().expect("encode");
        assert!(!text.contains("gone"), "{text}");
    }
}
