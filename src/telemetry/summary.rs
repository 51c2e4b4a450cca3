//! The table `thresher once` prints at the end: each source's poll,
//! articles and work left pending, why a failed poll failed, the totals,
//! then what the pending articles wait for.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::StatsSnapshot;
use super::metrics::Metrics;
use super::status::{OutboxDepths, backlog, source_column_width};
use crate::plural::count;
use crate::state::{PendingSummary, State};

/// The table for `sources` (in configuration order) from this run's
/// `metrics` and `totals` and what is left `pending` (`None` when the state
/// store could not tell) and in the outbox; the reason of each failed poll
/// is read from `state`, where the poll recorded it.
pub async fn once_table(
    metrics: &Metrics,
    state: &State,
    sources: &[String],
    totals: &StatsSnapshot,
    pending: Option<&PendingSummary>,
    outboxes: Option<&OutboxDepths>,
) -> String {
    let mut errors = BTreeMap::new();
    for name in sources {
        if metrics.poll_count(name, "failed") == 0 {
            continue;
        }
        // The log said it too; the table is read after it has scrolled away.
        let error = match state.feed_state(name.clone()).await {
            Ok(feed) => feed.and_then(|f| f.last_error),
            Err(e) => Some(format!(
                "(cannot read the reason from the state store: {e})"
            )),
        };
        if let Some(error) = error {
            errors.insert(name.as_str(), error);
        }
    }
    let width = source_column_width(sources.iter().map(String::as_str));
    let mut out = String::new();
    let left = |name: Option<&str>| -> String {
        match (pending, name) {
            (None, _) => "-".to_string(),
            (Some(p), None) => p.total.to_string(),
            (Some(p), Some(name)) => p.by_source.get(name).copied().unwrap_or(0).to_string(),
        }
    };
    let _ = writeln!(
        out,
        "{:width$}  {:<12}  {:>7}  {:>10}  {:>7}",
        "source", "feed", "written", "duplicates", "pending"
    );
    for name in sources {
        let poll = ["failed", "not_modified", "ok"]
            .into_iter()
            .find(|outcome| metrics.poll_count(name, outcome) > 0)
            .map_or("not polled", |outcome| match outcome {
                "not_modified" => "not modified",
                other => other,
            });
        let _ = writeln!(
            out,
            "{name:width$}  {poll:<12}  {:>7}  {:>10}  {:>7}",
            Metrics::source_count(&metrics.articles_written, name),
            Metrics::source_count(&metrics.duplicates, name),
            left(Some(name)),
        );
        // No retry time: `once` polls every source each time it runs.
        if let Some(error) = errors.get(name.as_str()) {
            let _ = writeln!(out, "{:width$}  error: {error}", "");
        }
    }
    let _ = writeln!(
        out,
        "{:width$}  {:<12}  {:>7}  {:>10}  {:>7}",
        "total",
        format!(
            "{}/{} ok",
            totals.polls_ok,
            totals.polls_ok + totals.polls_failed
        ),
        totals.articles_written,
        // Per source, near-duplicate copies count as duplicates too.
        totals.duplicates + totals.near_duplicates,
        left(None),
    );
    if totals.rejected + totals.failed > 0 {
        let _ = writeln!(
            out,
            "{} without an article, {} (see the log)",
            count(totals.rejected, "page", "pages"),
            count(totals.failed, "article failure", "article failures")
        );
    }
    out.push_str(&backlog(pending, outboxes));
    out
}
