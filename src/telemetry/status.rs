//! The per-source status view: the JSON of `/status` and what `thresher
//! status` prints, whether it came from the running daemon or the state store.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StatsSnapshot;
use crate::config::SourceConfig;
use crate::state::{PendingSummary, State};

/// The whole status document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatusReport {
    /// Thresher's version.
    pub version: String,
    /// When the daemon started; absent when read from the state store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// Process-wide counters since start; absent when read from the state store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totals: Option<StatsSnapshot>,
    /// One entry per configured source, in configuration order.
    pub sources: Vec<SourceStatus>,
    /// What the accepted links not yet finished wait for; absent when the
    /// state store could not tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingSummary>,
    /// Articles in the NATS outbox, accepted but not yet acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbox: Option<u64>,
}

impl StatusReport {
    /// Adds the pending and outbox counts from `state` (logged and left
    /// out when it cannot be read).
    pub async fn with_backlog(mut self, state: &State) -> Self {
        match state.pending_summary().await {
            Ok(pending) => self.pending = Some(pending),
            Err(e) => tracing::warn!("status: cannot count pending articles: {e}"),
        }
        match state.outbox_len().await {
            Ok(outbox) => self.outbox = Some(outbox),
            Err(e) => tracing::warn!("status: cannot count the outbox: {e}"),
        }
        self
    }
}

/// What is known of one source.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceStatus {
    /// The source's name.
    pub name: String,
    /// Its feed URL.
    pub url: String,
    /// Its poll interval in seconds.
    pub interval_seconds: u64,
    /// The last poll, successful or not.
    pub last_poll_at: Option<DateTime<Utc>>,
    /// The last successful poll.
    pub last_success_at: Option<DateTime<Utc>>,
    /// The error of the last poll, when it failed.
    pub last_error: Option<String>,
    /// Failed polls in a row (the source backs off while above 0).
    pub consecutive_failures: u32,
    /// When the next poll is due (absent while a poll runs, or when read from the state store).
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Counts since the daemon started; absent when read from the state store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_start: Option<SourceCounts>,
    /// Failed polls by kind, over the state store's lifetime.
    pub poll_failures: BTreeMap<String, u64>,
    /// Failed articles by kind, over the state store's lifetime.
    pub article_failures: BTreeMap<String, u64>,
}

/// A source's counters since the daemon started.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceCounts {
    /// Successful polls (including 304 Not Modified).
    pub polls_ok: u64,
    /// Failed polls.
    pub polls_failed: u64,
    /// Articles written to the outputs.
    pub articles_written: u64,
    /// Pages not written because their article or story already was
    /// (same article or near-duplicate copy).
    pub duplicates: u64,
}

impl SourceStatus {
    /// A source nothing is known of yet.
    pub fn unpolled(source: &SourceConfig) -> Self {
        Self {
            name: source.name.clone(),
            url: source.url.to_string(),
            interval_seconds: source.interval.as_secs(),
            last_poll_at: None,
            last_success_at: None,
            last_error: None,
            consecutive_failures: 0,
            next_poll_at: None,
            since_start: None,
            poll_failures: BTreeMap::new(),
            article_failures: BTreeMap::new(),
        }
    }

    /// What the state store knows of `source`; a store that cannot be read
    /// leaves the fields empty and logs why.
    pub async fn from_store(state: &State, source: &SourceConfig) -> Self {
        let feed = match state.feed_state(source.name.clone()).await {
            Ok(feed) => feed.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(
                    "status: cannot read the feed state of {:?}: {e}",
                    source.name
                );
                Default::default()
            }
        };
        let article_failures = match state.failure_counts(source.name.clone()).await {
            Ok(counts) => counts,
            Err(e) => {
                tracing::warn!("status: cannot read the failures of {:?}: {e}", source.name);
                BTreeMap::new()
            }
        };
        Self {
            last_poll_at: feed.last_poll_at,
            last_success_at: feed.last_success_at,
            last_error: feed.last_error,
            consecutive_failures: feed.consecutive_failures,
            poll_failures: feed.failures,
            article_failures,
            ..Self::unpolled(source)
        }
    }
}

impl StatusReport {
    /// A fixed-width table for a terminal, one source per line, with the
    /// last error of failing sources beneath them.
    pub fn table(&self) -> String {
        let when = |t: &Option<DateTime<Utc>>| {
            t.map_or_else(
                || "-".to_string(),
                |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
            )
        };
        let width = source_column_width(self.sources.iter().map(|s| s.name.as_str()));
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:width$}  {:<19}  {:<19}  {:>6}  {:>7}  {:>7}  {:>6}",
            "source", "last success", "next poll", "fails", "polls", "written", "dups"
        );
        for s in &self.sources {
            let (polls, written, dups) = s.since_start.map_or_else(
                || ("-".to_string(), "-".to_string(), "-".to_string()),
                |c| {
                    (
                        (c.polls_ok + c.polls_failed).to_string(),
                        c.articles_written.to_string(),
                        c.duplicates.to_string(),
                    )
                },
            );
            let _ = writeln!(
                out,
                "{:width$}  {:<19}  {:<19}  {:>6}  {polls:>7}  {written:>7}  {dups:>6}",
                s.name,
                when(&s.last_success_at),
                when(&s.next_poll_at),
                s.consecutive_failures,
            );
            if let Some(error) = &s.last_error {
                let _ = writeln!(out, "{:width$}  last error: {error}", "");
            }
        }
        if let Some(p) = &self.pending {
            let _ = write!(
                out,
                "pending: {} article(s): {} not taken by a sink, {} waiting for a retry",
                p.total, p.undelivered, p.retrying
            );
            if let Some(outbox) = self.outbox {
                let _ = write!(out, "; NATS outbox: {outbox}");
            }
            let _ = writeln!(out);
            if let Some(error) = &p.last_sink_error {
                let _ = writeln!(out, "last sink error: {error}");
            }
        }
        out
    }
}

/// Width of a table's source-name column: the longest name, at least as wide
/// as its heading `source`.
pub fn source_column_width<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    names
        .map(str::len)
        .chain(["source".len()])
        .max()
        .unwrap_or(0)
}
