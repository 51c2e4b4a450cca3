//! `[pipeline]`: how many of each stage run at once, the queues between
//! them, shutdown and retries of failed articles.

use std::time::Duration;

use serde::Deserialize;

use super::{count_error, duration, range_error};

/// `[pipeline]`: concurrency of each stage and the size of the queues between them.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Feeds fetched at the same time.
    pub feed_concurrency: usize,
    /// Article pages fetched at the same time.
    pub fetch_concurrency: usize,
    /// Pages cleaned at the same time (each on a blocking thread); 0 = one per CPU.
    pub clean_workers: usize,
    /// Capacity of each channel between stages; bounds memory and applies backpressure.
    pub queue_capacity: usize,
    /// On shutdown, how long in-flight work may take before it is abandoned
    /// (abandoned articles stay pending and are processed after the next start).
    #[serde(with = "duration")]
    pub shutdown_grace: Duration,
    /// Attempts at a failing article (timeouts, 5xx, 429, sink errors) before it is given up.
    pub max_article_attempts: u32,
    /// Wait before retrying a failed article; doubled for each further attempt.
    #[serde(with = "duration")]
    pub retry_backoff: Duration,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            feed_concurrency: 8,
            fetch_concurrency: 16,
            clean_workers: 0,
            queue_capacity: 64,
            shutdown_grace: Duration::from_secs(5),
            max_article_attempts: 6,
            retry_backoff: Duration::from_secs(120),
        }
    }
}

impl PipelineConfig {
    /// Number of clean workers, resolving 0 to the number of CPUs.
    pub fn clean_workers(&self) -> usize {
        if self.clean_workers > 0 {
            self.clean_workers
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        }
    }

    /// Checks ranges; an error names the key. Ceilings keep every count far
    /// below what tokio's semaphores, the allocator and the thread pool
    /// accept, so a value that loads runs.
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        let counts = [
            (
                "pipeline.feed_concurrency",
                self.feed_concurrency as u64,
                1,
                1_024,
            ),
            (
                "pipeline.fetch_concurrency",
                self.fetch_concurrency as u64,
                1,
                1_024,
            ),
            ("pipeline.clean_workers", self.clean_workers as u64, 0, 256),
            (
                "pipeline.queue_capacity",
                self.queue_capacity as u64,
                1,
                100_000,
            ),
            (
                "pipeline.max_article_attempts",
                u64::from(self.max_article_attempts),
                1,
                100,
            ),
        ];
        for (key, value, min, max) in counts {
            if let Some(message) = count_error(value, min, max) {
                return Err((key.to_string(), message));
            }
        }
        let day = Duration::from_secs(24 * 3600);
        let bounded = [
            (
                "pipeline.retry_backoff",
                self.retry_backoff,
                Duration::from_secs(1),
                day,
            ),
            (
                "pipeline.shutdown_grace",
                self.shutdown_grace,
                Duration::ZERO,
                Duration::from_secs(3600),
            ),
        ];
        for (key, value, min, max) in bounded {
            if let Some(message) = range_error(value, min, max) {
                return Err((key.to_string(), message));
            }
        }
        Ok(())
    }
}
