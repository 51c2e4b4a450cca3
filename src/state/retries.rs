//! Failed attempts and their retries: the back-off policy, and the pending
//! jobs waiting for their retry time.
//!
//! Jobs waiting for a retry are also listed in `retry_due`, keyed by
//! `(due time, link key)`, so the retry sweep reads only the rows that are
//! due instead of decoding every pending job every few seconds. The index
//! may hold stale rows (a job finished, or rescheduled, after its row was
//! written): the sweep checks each row against the pending job and drops
//! the stale ones, so only adding rows has to be exact.

use std::time::Duration;

use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::links::{LINKS, PENDING, finish};
use super::{QUARANTINE, State, StateError, decode, encode};
use crate::article::ArticleJob;
use crate::clock;

/// `(due time in Unix milliseconds, link key)` of every job waiting for a retry.
pub(super) const RETRY_DUE: TableDefinition<(u64, &str), ()> = TableDefinition::new("retry_due");

/// Key in `meta` set once `retry_due` lists every waiting job (stores
/// written before the index existed are indexed when first opened).
pub(super) const RETRY_INDEXED: &str = "retry_due_indexed";

/// Longest wait before a retry, whatever the back-off or `Retry-After` say.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(6 * 3600);

/// How failed attempts are retried, applied by [`State::retry_later`].
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts after which a failing link is given up.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
}

impl RetryPolicy {
    /// The wait after `failed_attempts` failures: `backoff`, doubled per earlier failure.
    pub fn delay(&self, failed_attempts: u32) -> Duration {
        let doublings = failed_attempts.saturating_sub(1).min(16);
        self.backoff.saturating_mul(1 << doublings)
    }
}

/// What kind of failure a job met, for [`State::retry_later`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Setback {
    /// The attempt itself failed (timeout, 5xx, 429…): counts against
    /// `max_attempts`; waits exactly the server's `retry_after` when it
    /// gave one (at least 1 s), else the back-off.
    Attempt {
        /// The server's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// Our side failed (a sink could not take the article): retried after the
    /// base back-off without using up an attempt, so an outage of ours never
    /// turns into a lost article.
    Postpone,
    /// The host is not taking requests for this long (its politeness
    /// interval, `Retry-After` or robots.txt being unavailable): retried
    /// exactly then, without using up an attempt.
    Wait(Duration),
}

/// What [`State::retry_later`] decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Retry {
    /// The job stays pending and is handed out again at this time.
    At(DateTime<Utc>),
    /// No attempts left: the link is finished as [`Outcome::Failed`].
    GaveUp,
    /// The link was no longer pending (another copy of the job finished it).
    AlreadyFinished,
}

/// A due time as stored in `retry_due`.
fn due_millis(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp_millis()).unwrap_or(0)
}

/// Lists every pending job that waits for a retry in `retry_due`, and moves
/// unreadable pending records to quarantine; run once per store, when it is
/// first opened by a version with the index.
pub(super) fn index_waiting_jobs(txn: &redb::WriteTransaction) -> Result<(), StateError> {
    let mut pending = txn.open_table(PENDING)?;
    let mut due = txn.open_table(RETRY_DUE)?;
    let mut unreadable = Vec::new();
    for entry in pending.iter()? {
        let (key, value) = entry?;
        match decode::<ArticleJob>("pending", key.value(), value.value()) {
            Ok(job) => {
                if let Some(at) = job.retry_at {
                    due.insert((due_millis(at), key.value()), ())?;
                }
            }
            Err(e) => {
                tracing::error!("{e}; moved to the quarantine table");
                unreadable.push(key.value().to_string());
            }
        }
    }
    quarantine(&mut pending, txn, &unreadable)
}

/// Moves the pending records under `keys` to the quarantine table.
pub(super) fn quarantine(
    pending: &mut redb::Table<&str, &[u8]>,
    txn: &redb::WriteTransaction,
    keys: &[String],
) -> Result<(), StateError> {
    if keys.is_empty() {
        return Ok(());
    }
    let mut quarantine = txn.open_table(QUARANTINE)?;
    for key in keys {
        if let Some(bytes) = pending.remove(key.as_str())? {
            let bytes = bytes.value().to_vec();
            quarantine.insert(key.as_str(), bytes.as_slice())?;
        }
    }
    Ok(())
}

impl State {
    /// Records a failure. The job stays pending and becomes due again after a
    /// back-off (see [`State::take_due_retries`]), unless it has no attempts
    /// left, in which case the link is finished as [`Outcome::Failed`].
    ///
    /// A [`Setback::Wait`] (the host is busy) is committed without fsync: it
    /// happens on every request that meets a politeness interval, and losing
    /// it in a power cut only means the job is replayed at start-up.
    ///
    /// [`Outcome::Failed`]: super::Outcome::Failed
    pub async fn retry_later(
        &self,
        job: ArticleJob,
        reason: String,
        policy: RetryPolicy,
        setback: Setback,
    ) -> Result<Retry, StateError> {
        self.blocking(move |db| {
            let now = Utc::now();
            let mut txn = db.begin_write()?;
            if matches!(setback, Setback::Wait(_)) {
                // Falls back to a durable commit where redb refuses (never in our mode).
                let _ = txn.set_durability(redb::Durability::None);
            }
            let decision = {
                let mut links = txn.open_table(LINKS)?;
                let mut pending = txn.open_table(PENDING)?;
                let failed_attempts = match setback {
                    Setback::Attempt { .. } => job.failed_attempts.saturating_add(1),
                    Setback::Postpone | Setback::Wait(_) => job.failed_attempts,
                };
                if pending.get(job.key.as_str())?.is_none() {
                    Retry::AlreadyFinished
                } else if failed_attempts >= policy.max_attempts {
                    pending.remove(job.key.as_str())?;
                    let outcome = super::Outcome::Failed { reason };
                    let source = Some(job.source.clone());
                    finish(&mut links, &job.key, outcome, failed_attempts, source)?;
                    Retry::GaveUp
                } else {
                    let delay = match setback {
                        // Politeness, or the server's own time for this URL:
                        // exactly as long as it asks, not our back-off on top.
                        Setback::Wait(wait)
                        | Setback::Attempt {
                            retry_after: Some(wait),
                        } => wait.max(Duration::from_secs(1)),
                        _ => policy.delay(failed_attempts.max(1)),
                    }
                    .min(MAX_RETRY_DELAY);
                    let at = clock::utc_after(now, delay);
                    let undelivered = matches!(setback, Setback::Postpone).then_some(reason);
                    let job = ArticleJob {
                        failed_attempts,
                        retry_at: Some(at),
                        undelivered,
                        ..job
                    };
                    let bytes = encode(&job);
                    pending.insert(job.key.as_str(), bytes.as_slice())?;
                    txn.open_table(RETRY_DUE)?
                        .insert((due_millis(at), job.key.as_str()), ())?;
                    Retry::At(at)
                }
            };
            txn.commit()?;
            Ok(decision)
        })
        .await
    }

    /// Claims up to `limit` pending jobs whose retry time has come: clears
    /// their `retry_at` and stamps this run so no one else hands them out.
    /// Reads only the due rows of `retry_due`; an undecodable pending record
    /// met on the way is moved to `quarantine`.
    pub async fn take_due_retries(&self, limit: usize) -> Result<Vec<ArticleJob>, StateError> {
        let run = self.run;
        self.blocking(move |db| {
            let now = Utc::now();
            let up_to = due_millis(now);
            // Look first with a read transaction: usually nothing is due, and
            // a write transaction would block accepts and commit for nothing.
            let rows: Vec<(u64, String)> = {
                let txn = db.begin_read()?;
                let due = txn.open_table(RETRY_DUE)?;
                let mut rows = Vec::new();
                for entry in due.range::<(u64, &str)>(..)? {
                    let (key, _) = entry?;
                    let (at, link) = key.value();
                    if at > up_to || rows.len() >= limit {
                        break;
                    }
                    rows.push((at, link.to_string()));
                }
                rows
            };
            if rows.is_empty() {
                return Ok(Vec::new());
            }
            // Claim inside the write transaction, against the job as stored now.
            let txn = db.begin_write()?;
            let mut claimed = Vec::with_capacity(rows.len());
            {
                let mut pending = txn.open_table(PENDING)?;
                let mut due = txn.open_table(RETRY_DUE)?;
                let mut unreadable = Vec::new();
                for (at, key) in &rows {
                    due.remove((*at, key.as_str()))?;
                    let current = match pending.get(key.as_str())? {
                        Some(bytes) => match decode::<ArticleJob>("pending", key, bytes.value()) {
                            Ok(job) => Some(job),
                            Err(e) => {
                                tracing::error!("{e}; moved to the quarantine table");
                                unreadable.push(key.clone());
                                None
                            }
                        },
                        None => None,
                    };
                    // Not due (rescheduled later: its newer row stays) or gone: a stale row.
                    let Some(mut job) = current.filter(|j| j.retry_at.is_some_and(|at| at <= now))
                    else {
                        continue;
                    };
                    job.retry_at = None;
                    job.accepted_run = run;
                    let bytes = encode(&job);
                    pending.insert(job.key.as_str(), bytes.as_slice())?;
                    claimed.push(job);
                }
                quarantine(&mut pending, &txn, &unreadable)?;
            }
            txn.commit()?;
            Ok(claimed)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ATTEMPT, RETRY, job, keys};
    use super::*;
    use crate::state::Outcome;

    const SLOW: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        backoff: Duration::from_secs(3600),
    };

    fn index_rows(state: &State) -> Vec<String> {
        let txn = state.db.begin_read().expect("txn");
        let due = txn.open_table(RETRY_DUE).expect("table");
        due.iter()
            .expect("iter")
            .map(|row| row.expect("row").0.value().1.to_string())
            .collect()
    }

    #[tokio::test]
    async fn the_sweep_reads_only_due_rows_and_drops_those_of_finished_jobs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        let jobs = state
            .accept(vec![job("a"), job("b"), job("c")])
            .await
            .expect("accept");
        let [a, b, c] = <[ArticleJob; 3]>::try_from(jobs).expect("three");
        state
            .retry_later(a, "HTTP 503".into(), SLOW, ATTEMPT)
            .await
            .expect("retry a");
        state
            .retry_later(b, "HTTP 503".into(), RETRY, ATTEMPT)
            .await
            .expect("retry b");
        state
            .complete("b".into(), Outcome::Rejected { reason: "x".into() })
            .await
            .expect("b finished while it waited");
        state
            .retry_later(c, "HTTP 503".into(), RETRY, ATTEMPT)
            .await
            .expect("retry c");
        // A record the sweep would choke on, waiting for nothing: a sweep
        // that decoded every pending row would meet it.
        {
            let txn = state.db.begin_write().expect("txn");
            txn.open_table(PENDING)
                .expect("table")
                .insert("z", b"{not json".as_slice())
                .expect("insert");
            txn.commit().expect("commit");
        }

        let due = state.take_due_retries(10).await.expect("sweep");
        assert_eq!(keys(&due), ["c"]);
        assert_eq!(index_rows(&state), ["a"], "stale and claimed rows are gone");
        assert_eq!(
            state.pending_count().await.expect("count"),
            3,
            "a, c and the unreadable row, which the sweep never read"
        );
        assert!(state.take_due_retries(10).await.expect("sweep").is_empty());
    }

    #[tokio::test]
    async fn a_job_rescheduled_later_is_handed_out_at_its_new_time_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        let accepted = state.accept(vec![job("a")]).await.expect("accept");
        let first = state
            .retry_later(accepted[0].clone(), "HTTP 503".into(), RETRY, ATTEMPT)
            .await
            .expect("retry");
        assert!(matches!(first, Retry::At(_)));
        // Before the sweep, the host turns out busy for an hour.
        state
            .retry_later(
                accepted[0].clone(),
                "host busy".into(),
                RETRY,
                Setback::Wait(Duration::from_secs(3600)),
            )
            .await
            .expect("wait");
        assert!(
            state.take_due_retries(10).await.expect("sweep").is_empty(),
            "the earlier row is stale"
        );
        assert_eq!(index_rows(&state), ["a"], "the later row stays");
    }

    #[tokio::test]
    async fn a_store_written_before_the_index_has_its_waiting_jobs_indexed_when_opened() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let state = State::open(dir.path()).expect("open");
            let accepted = state
                .accept(vec![job("a"), job("b")])
                .await
                .expect("accept");
            state
                .retry_later(accepted[0].clone(), "HTTP 503".into(), RETRY, ATTEMPT)
                .await
                .expect("retry");
            // What an earlier version left: no index, no flag.
            let txn = state.db.begin_write().expect("txn");
            txn.delete_table(RETRY_DUE).expect("drop index");
            txn.open_table(super::super::META)
                .expect("meta")
                .remove(RETRY_INDEXED)
                .expect("flag");
            txn.commit().expect("commit");
        }
        let state = State::open(dir.path()).expect("reopen");
        assert_eq!(index_rows(&state), ["a"]);
        let due = state.take_due_retries(10).await.expect("sweep");
        assert_eq!(keys(&due), ["a"]);
    }

    #[tokio::test]
    async fn failed_jobs_wait_for_their_retry_time_then_give_up_at_the_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        let accepted = state.accept(vec![job("f")]).await.expect("accept");
        let slow = RetryPolicy {
            max_attempts: 3,
            backoff: Duration::from_secs(3600),
        };
        let decision = state
            .retry_later(accepted[0].clone(), "HTTP 503".into(), slow, ATTEMPT)
            .await
            .expect("retry");
        assert!(matches!(decision, Retry::At(at) if at > Utc::now()));
        assert!(
            state.take_due_retries(10).await.expect("due").is_empty(),
            "not due yet"
        );
        assert!(
            state
                .accept(vec![job("f")])
                .await
                .expect("accept")
                .is_empty(),
            "still pending"
        );

        // Same job, no back-off: due at once, claimed exactly once.
        let pending = state.pending_after(None, 10).await.expect("pending");
        state
            .retry_later(pending[0].clone(), "HTTP 503".into(), RETRY, ATTEMPT)
            .await
            .expect("retry");
        let due = state.take_due_retries(10).await.expect("due");
        assert_eq!(keys(&due), ["f"]);
        assert_eq!(due[0].failed_attempts, 2);
        assert!(
            state.take_due_retries(10).await.expect("due").is_empty(),
            "claimed once"
        );

        let decision = state
            .retry_later(due[0].clone(), "HTTP 503".into(), RETRY, ATTEMPT)
            .await
            .expect("retry");
        assert_eq!(decision, Retry::GaveUp);
        assert_eq!(state.pending_count().await.expect("count"), 0);
        let record = state.link("f".into()).await.expect("link").expect("record");
        assert_eq!(record.attempts, 3);
        assert!(matches!(record.outcome, Outcome::Failed { .. }));
    }

    #[tokio::test]
    async fn postponed_jobs_never_run_out_of_attempts_and_retry_after_is_honoured() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        let mut job = state
            .accept(vec![job("p")])
            .await
            .expect("accept")
            .remove(0);
        let policy = RetryPolicy {
            max_attempts: 1,
            backoff: Duration::ZERO,
        };
        for _ in 0..5 {
            let decision = state
                .retry_later(job.clone(), "disk full".into(), policy, Setback::Postpone)
                .await
                .expect("postpone");
            assert!(matches!(decision, Retry::At(_)), "{decision:?}");
            job = state.take_due_retries(10).await.expect("due").remove(0);
            assert_eq!(job.failed_attempts, 0);
        }
        let patient = RetryPolicy {
            max_attempts: 5,
            backoff: Duration::ZERO,
        };
        let asked = Setback::Attempt {
            retry_after: Some(Duration::from_secs(120)),
        };
        let Retry::At(at) = state
            .retry_later(job, "HTTP 429".into(), patient, asked)
            .await
            .expect("retry")
        else {
            panic!("expected a retry time");
        };
        assert!(at >= Utc::now() + chrono::Duration::seconds(110), "{at}");
    }

    #[test]
    fn retry_delay_doubles() {
        let policy = RetryPolicy {
            max_attempts: 5,
            backoff: Duration::from_secs(60),
        };
        assert_eq!(policy.delay(1), Duration::from_secs(60));
        assert_eq!(policy.delay(3), Duration::from_secs(240));
        assert!(policy.delay(u32::MAX) >= Duration::from_secs(60));
    }
}
