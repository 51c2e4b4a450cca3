//! The per-source status view: the JSON of `/status` and what `thresher
//! status` prints, whether it came from the running daemon or the state store.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StatsSnapshot;
use crate::config::SourceConfig;
use crate::plural::count;
use crate::state::{FeedState, LinkLedger, Outbox, PendingSummary, State, StateError};

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
    /// Articles in the outbox, accepted but not yet acknowledged (every
    /// queue sink's together; NATS is the only one so far).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbox: Option<u64>,
    /// The same per queue sink, by sink name (`nats`); every sink this
    /// build knows is listed, with 0 when nothing waits for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outboxes: Option<OutboxDepths>,
}

/// Articles waiting in the outbox, by the name of the sink they wait for.
pub type OutboxDepths = BTreeMap<String, u64>;

impl StatusReport {
    /// Adds the pending and outbox counts from `state`, in total and per
    /// source (logged and left out when it cannot be read).
    pub async fn with_backlog<S: LinkLedger + Outbox>(mut self, state: &S) -> Self {
        match state.pending_summary().await {
            Ok(pending) => {
                for source in &mut self.sources {
                    source.pending =
                        Some(pending.by_source.get(&source.name).copied().unwrap_or(0));
                }
                self.pending = Some(pending);
            }
            Err(e) => tracing::warn!("status: cannot count pending articles: {e}"),
        }
        match state.depths().await {
            Ok(mut depths) => {
                self.outbox = Some(depths.values().fold(0u64, |sum, n| sum.saturating_add(*n)));
                for (sink, _) in crate::sink::queue_sinks() {
                    depths.entry(sink.to_string()).or_insert(0);
                }
                self.outboxes = Some(depths);
            }
            Err(e) => tracing::warn!("status: cannot count the outbox: {e}"),
        }
        self
    }

    /// The outbox per queue sink: as reported, or, from a daemon that gave
    /// only the total (one queue sink then), that total as that sink's.
    fn outbox_depths(&self) -> Option<OutboxDepths> {
        if let Some(depths) = &self.outboxes {
            return Some(depths.clone());
        }
        let total = self.outbox?;
        Some(
            crate::sink::queue_sinks()
                .take(1)
                .map(|(sink, _)| (sink.to_string(), total))
                .collect(),
        )
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
    /// This source's accepted links not yet finished (absent when the state
    /// store could not tell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<u64>,
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
            pending: None,
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
        Self::known(source, feed, article_failures)
    }

    /// What the state store knows of `source`, or why it cannot be read
    /// (`check-config` must not pass a store a daemon could not use).
    pub async fn read(state: &State, source: &SourceConfig) -> Result<Self, StateError> {
        let feed = state.feed_state(source.name.clone()).await?;
        let article_failures = state.failure_counts(source.name.clone()).await?;
        Ok(Self::known(
            source,
            feed.unwrap_or_default(),
            article_failures,
        ))
    }

    /// `source` with what is known of its polls and articles.
    fn known(
        source: &SourceConfig,
        feed: FeedState,
        article_failures: BTreeMap<String, u64>,
    ) -> Self {
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

    /// Whether nothing is known of the source's polls.
    pub fn never_polled(&self) -> bool {
        self.last_poll_at.is_none()
            && self.last_success_at.is_none()
            && self.last_error.is_none()
            && self.consecutive_failures == 0
            && self.poll_failures.is_empty()
    }

    /// One line of `check-config`'s source health, the name `width` wide:
    /// the last success, the last error while failing, failures by kind.
    pub fn health_line(&self, width: usize) -> String {
        let name = &self.name;
        if self.never_polled() {
            return format!("  {name:width$}  never polled");
        }
        let success = self
            .last_success_at
            .map_or_else(|| "never".to_string(), |t| t.to_rfc3339());
        let mut line = format!("  {name:width$}  last success {success}");
        if let Some(error) = &self.last_error {
            let _ = write!(
                line,
                "; failing ({} in a row): {error}",
                self.consecutive_failures
            );
        }
        for (what, counts) in [
            ("poll", &self.poll_failures),
            ("article", &self.article_failures),
        ] {
            if !counts.is_empty() {
                let kinds: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
                let _ = write!(line, "; {what} failures: {}", kinds.join(", "));
            }
        }
        line
    }
}

impl StatusReport {
    /// A fixed-width table for a terminal, one source per line (times in
    /// UTC, as the headings say), with the last error of failing sources
    /// beneath them.
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
            "{:width$}  {:<19}  {:<19}  {:>6}  {:>7}  {:>7}  {:>6}  {:>7}",
            "source",
            "last success (UTC)",
            "next poll (UTC)",
            "fails",
            "polls",
            "written",
            "dups",
            "pending"
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
            let pending = s.pending.map_or_else(|| "-".to_string(), |n| n.to_string());
            let _ = writeln!(
                out,
                "{:width$}  {:<19}  {:<19}  {:>6}  {polls:>7}  {written:>7}  {dups:>6}  {pending:>7}",
                s.name,
                when(&s.last_success_at),
                when(&s.next_poll_at),
                s.consecutive_failures,
            );
            if let Some(error) = &s.last_error {
                let _ = writeln!(out, "{:width$}  last error: {error}", "");
            }
        }
        out.push_str(&backlog(
            self.pending.as_ref(),
            self.outbox_depths().as_ref(),
        ));
        out
    }
}

/// The lines that say what work is left: accepted articles not yet
/// delivered, what they wait for and when the next retry is due, each
/// queue sink's part of the outbox (every sink this build knows, then any
/// other the store holds entries for), and why a sink refused, if one did.
pub fn backlog(pending: Option<&PendingSummary>, outboxes: Option<&OutboxDepths>) -> String {
    let mut out = String::from("pending: ");
    match pending {
        None => out.push_str("unknown (the state store could not be read)"),
        Some(p) if p.total == 0 => out.push_str("none"),
        Some(p) => {
            let mut parts = Vec::new();
            if p.undelivered > 0 {
                parts.push(format!("{} not taken by a sink", p.undelivered));
            }
            if p.retrying > 0 {
                let mut part = format!("{} waiting for a retry", p.retrying);
                if let Some(at) = p.next_retry_at {
                    let _ = write!(
                        part,
                        ", the next due {}",
                        at.format("%Y-%m-%d %H:%M:%S UTC")
                    );
                }
                parts.push(part);
            }
            // Neither: queued, in flight, or left by an interrupted run.
            let waiting = p.total.saturating_sub(p.undelivered + p.retrying);
            if waiting > 0 {
                parts.push(format!("{waiting} waiting to be processed"));
            }
            let _ = write!(
                out,
                "{} accepted, not yet delivered ({})",
                count(p.total, "article", "articles"),
                parts.join(", ")
            );
        }
    }
    if let Some(outboxes) = outboxes {
        let known: Vec<&str> = crate::sink::queue_sinks().map(|(sink, _)| sink).collect();
        for sink in &known {
            let waiting = outboxes.get(*sink).copied().unwrap_or(0);
            let _ = write!(
                out,
                "; {} outbox: {waiting}",
                crate::sink::outbox_label(sink)
            );
        }
        for (sink, waiting) in outboxes {
            if !known.contains(&sink.as_str()) {
                let _ = write!(out, "; {sink} outbox: {waiting}");
            }
        }
    }
    out.push('\n');
    if let Some(error) = pending.and_then(|p| p.last_sink_error.as_ref()) {
        let _ = writeln!(out, "last sink error: {error}");
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> SourceConfig {
        let config = crate::config::Config::from_toml(
            "[output]\ndir = \"out\"\n[[sources]]\nname = \"news\"\nurl = \"https://n.example/feed\"\n",
        )
        .expect("valid");
        config.sources[0].clone()
    }

    #[test]
    fn a_source_nothing_is_stored_of_was_never_polled() {
        let status = SourceStatus::known(&source(), FeedState::default(), BTreeMap::new());
        assert_eq!(status.health_line(6), "  news    never polled");
    }

    #[test]
    fn a_failing_source_shows_its_last_success_error_and_failures_by_kind() {
        let at = DateTime::parse_from_rfc3339("2024-03-05T10:00:00Z").expect("time");
        let feed = FeedState {
            last_poll_at: Some(at.to_utc()),
            last_success_at: Some(at.to_utc()),
            last_error: Some("HTTP 503".into()),
            consecutive_failures: 2,
            failures: BTreeMap::from([("http_5xx".to_string(), 2), ("timeout".to_string(), 1)]),
            ..FeedState::default()
        };
        let articles = BTreeMap::from([("not_html".to_string(), 4)]);
        let status = SourceStatus::known(&source(), feed, articles);
        assert_eq!(
            status.health_line(4),
            "  news  last success 2024-03-05T10:00:00+00:00; failing (2 in a row): HTTP 503; \
             poll failures: http_5xx 2, timeout 1; article failures: not_html 4"
        );
        let failing_from_the_start = SourceStatus {
            last_success_at: None,
            ..status
        };
        assert!(
            failing_from_the_start
                .health_line(4)
                .starts_with("  news  last success never; failing")
        );
    }

    fn empty_report() -> StatusReport {
        StatusReport {
            version: "test".into(),
            started_at: None,
            totals: None,
            sources: Vec::new(),
            pending: None,
            outbox: None,
            outboxes: None,
        }
    }

    /// The `pending:` line of `report`'s table.
    fn pending_line(report: &StatusReport) -> String {
        let table = report.table();
        table
            .lines()
            .find(|l| l.starts_with("pending: "))
            .unwrap_or_else(|| panic!("no pending line: {table}"))
            .to_string()
    }

    #[tokio::test]
    async fn the_outbox_is_shown_per_queue_sink_each_known_one_even_when_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        let report = empty_report().with_backlog(&state).await;
        assert_eq!(report.outbox, Some(0));
        assert_eq!(
            report.outboxes,
            Some(BTreeMap::from([("nats".to_string(), 0)]))
        );
        assert_eq!(pending_line(&report), "pending: none; NATS outbox: 0");
        for (sink, id) in [("nats", "a"), ("nats", "b"), ("kafka", "a")] {
            state
                .outbox_put(sink, id.into(), "s".into(), b"{}".to_vec(), 10)
                .await
                .expect("put");
        }
        let report = empty_report().with_backlog(&state).await;
        assert_eq!(report.outbox, Some(3), "the total, every sink's");
        assert_eq!(
            pending_line(&report),
            "pending: none; NATS outbox: 2; kafka outbox: 1",
            "a sink this build does not know is shown by its name"
        );
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(json["outbox"], 3);
        assert_eq!(json["outboxes"]["nats"], 2);
    }

    #[test]
    fn a_status_with_only_the_outbox_total_shows_it_as_the_queue_sinks() {
        // What a daemon from before the per-sink counts answers.
        let report: StatusReport = serde_json::from_str(
            r#"{"version": "old", "sources": [], "pending": null, "outbox": 4}"#,
        )
        .expect("old status");
        assert_eq!(report.outboxes, None);
        assert_eq!(
            pending_line(&report),
            "pending: unknown (the state store could not be read); NATS outbox: 4"
        );
        let without: StatusReport =
            serde_json::from_str(r#"{"version": "old", "sources": []}"#).expect("status");
        assert!(!pending_line(&without).contains("outbox"));
    }
}
