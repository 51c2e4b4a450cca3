//! `thresher once`'s end: the per-source table and the exit code that says
//! whether everything accepted was delivered and every feed answered.

use std::process::ExitCode;

use thresher::plural::{count, word};
use thresher::sink::outbox_label;
use thresher::state::{PendingSummary, State, StateError};
use thresher::telemetry::StatsSnapshot;
use thresher::telemetry::metrics::Metrics;
use thresher::telemetry::status::OutboxDepths;
use thresher::telemetry::summary;

/// Exit code of `once` when it completed but some feed polls failed.
const EXIT_SOME_SOURCES_FAILED: u8 = 3;
/// `once`: accepted articles did not reach every output (they stay pending).
const EXIT_UNDELIVERED: u8 = 4;

/// What `once` left undone: the accepted links not yet finished, and the
/// articles still waiting in the outbox for each queue sink that ran.
pub(super) struct Left {
    /// The pending links.
    pending: PendingSummary,
    /// The outbox, per queue sink that ran.
    outboxes: OutboxDepths,
}

/// Prints `once`'s table of what each source did; returns what is left
/// pending, for the exit code. `queue_sinks` are the queue sinks that ran:
/// their outbox is read from the store now that they have closed.
pub(super) async fn print_table(
    metrics: &Metrics,
    state: &State,
    sources: &[String],
    stats: &StatsSnapshot,
    queue_sinks: &[&str],
) -> Result<Left, StateError> {
    let pending = state.pending_summary().await;
    let outboxes = outbox_left(state, queue_sinks).await;
    let table = summary::once_table(
        metrics,
        state,
        sources,
        stats,
        pending.as_ref().ok(),
        outboxes.as_ref().ok(),
    );
    print!("{}", table.await);
    Ok(Left {
        pending: pending?,
        outboxes: outboxes?,
    })
}

/// The outbox of each of `queue_sinks`.
async fn outbox_left(state: &State, queue_sinks: &[&str]) -> Result<OutboxDepths, StateError> {
    let mut left = OutboxDepths::new();
    for sink in queue_sinks {
        left.insert(sink.to_string(), state.outbox_depth(sink).await?);
    }
    Ok(left)
}

/// The exit code of a `once` that ran to its end, saying on stderr what it
/// left undone: articles not delivered, articles waiting for a retry,
/// failed feed polls.
pub(super) fn exit_code(left: Result<Left, StateError>, stats: &StatsSnapshot) -> ExitCode {
    let Left { pending, outboxes } = match left {
        Ok(left) => left,
        Err(e) => {
            eprintln!("thresher: cannot count the articles left pending: {e}");
            return ExitCode::from(EXIT_UNDELIVERED);
        }
    };
    if let Some(message) = undelivered_message(&pending, &outboxes) {
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
/// a sink refused them (they stay pending) or a queue sink's part of the
/// outbox still holds them.
fn undelivered_message(pending: &PendingSummary, outboxes: &OutboxDepths) -> Option<String> {
    if pending.undelivered == 0 && outboxes.values().all(|n| *n == 0) {
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
    for (sink, waiting) in outboxes.iter().filter(|(_, n)| **n > 0) {
        parts.push(format!(
            "{} in the {} outbox, not yet acknowledged by the broker",
            count(*waiting, "article", "articles"),
            outbox_label(sink)
        ));
    }
    Some(format!(
        "not every accepted article reached every output: {}; they are kept and \
         delivered by the next run (`thresher status` shows the counts)",
        parts.join("; ")
    ))
}
