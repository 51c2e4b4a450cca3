//! `thresher once`'s end: the per-source table and the exit code that says
//! whether everything accepted was delivered and every feed answered.

use std::process::ExitCode;

use thresher::plural::{count, word};
use thresher::state::{PendingSummary, State, StateError};
use thresher::telemetry::StatsSnapshot;
use thresher::telemetry::metrics::Metrics;
use thresher::telemetry::summary;

/// Exit code of `once` when it completed but some feed polls failed.
const EXIT_SOME_SOURCES_FAILED: u8 = 3;
/// `once`: accepted articles did not reach every output (they stay pending).
const EXIT_UNDELIVERED: u8 = 4;

/// Prints `once`'s table of what each source did; returns what is left
/// pending, for the exit code.
pub(super) async fn print_table(
    metrics: &Metrics,
    state: &State,
    sources: &[String],
    stats: &StatsSnapshot,
) -> Result<PendingSummary, StateError> {
    let pending = state.pending_summary().await;
    let table = summary::once_table(metrics, state, sources, stats, pending.as_ref().ok());
    print!("{}", table.await);
    pending
}

/// The exit code of a `once` that ran to its end, saying on stderr what it
/// left undone: articles not delivered, articles waiting for a retry,
/// failed feed polls.
pub(super) fn exit_code(
    pending: Result<PendingSummary, StateError>,
    stats: &StatsSnapshot,
) -> ExitCode {
    let pending = match pending {
        Ok(pending) => pending,
        Err(e) => {
            eprintln!("thresher: cannot count the articles left pending: {e}");
            return ExitCode::from(EXIT_UNDELIVERED);
        }
    };
    if let Some(message) = undelivered_message(&pending, stats.outbox_depth) {
        eprintln!("thresher: {message}");
        return ExitCode::from(EXIT_UNDELIVERED);
    }
    if pending.retrying > 0 {
        let due = pending.next_retry_at.map_or(String::new(), |at| {
            format!(" (the first is due {})", at.format("%Y-%m-%d %H:%M:%S UTC"))
        });
        eprintln!(
            "thresher: {} for a retry their server asked for or a transient failure \
             needs; a later run fetches {}{due}",
            count(pending.retrying, "article waits", "articles wait"),
            word(pending.retrying, "it", "them")
        );
    }
    if stats.polls_failed > 0 {
        eprintln!(
            "thresher: {} of {} failed (see the log above)",
            stats.polls_failed,
            count(
                stats.polls_failed + stats.polls_ok,
                "feed poll",
                "feed polls"
            )
        );
        return ExitCode::from(EXIT_SOME_SOURCES_FAILED);
    }
    ExitCode::SUCCESS
}

/// What `once` says when accepted articles did not reach every output:
/// a sink refused them (they stay pending) or the NATS outbox still holds them.
fn undelivered_message(pending: &PendingSummary, outbox: u64) -> Option<String> {
    if pending.undelivered == 0 && outbox == 0 {
        return None;
    }
    let mut parts = Vec::new();
    if pending.undelivered > 0 {
        let why = pending
            .last_sink_error
            .as_deref()
            .map_or(String::new(), |e| format!(" (last error: {e})"));
        parts.push(format!(
            "{} a sink could not take{why}",
            count(pending.undelivered, "article", "articles")
        ));
    }
    if outbox > 0 {
        parts.push(format!(
            "{} in the NATS outbox, not yet acknowledged by the broker",
            count(outbox, "article", "articles")
        ));
    }
    Some(format!(
        "not every accepted article reached every output: {}; they are kept and \
         delivered by the next run (`thresher status` shows the counts)",
        parts.join("; ")
    ))
}
