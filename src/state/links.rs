//! The link ledger: every accepted link is pending until it is finished
//! with an [`Outcome`] (`links`); retries live in `retries`, the sources
//! listing a link first listed by another in `listings`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::stories::{self, STORIES, STORY_TIMES, StoryRecord};
use super::{Retry, RetryPolicy, Setback, State, StateError, decode, encode, listings, retries};
use crate::article::ArticleJob;
use crate::clock;

/// Final outcome per link id (and per written article id).
pub(super) const LINKS: TableDefinition<&str, &[u8]> = TableDefinition::new("links");

/// Accepted links not yet finished, by link id.
pub(super) const PENDING: TableDefinition<&str, &[u8]> = TableDefinition::new("pending");

/// How the processing of one accepted link ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// An article was delivered to every sink under `article_id`.
    Written {
        /// Id of the written article.
        article_id: String,
    },
    /// The page is an article already delivered under `article_id`.
    Duplicate {
        /// Id of the earlier article.
        article_id: String,
    },
    /// The page is another copy of the story delivered under `article_id`
    /// (a syndicated copy, another URL for the same text).
    NearDuplicate {
        /// Id of the earlier article.
        article_id: String,
    },
    /// The page held no article (or something the cleaner refuses); not retried.
    Rejected {
        /// Why.
        reason: String,
    },
    /// Processing kept failing; given up after the last allowed attempt.
    Failed {
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// Whether the link's article is in the sinks (written now or earlier).
    pub fn is_delivered(&self) -> bool {
        matches!(
            self,
            Self::Written { .. } | Self::Duplicate { .. } | Self::NearDuplicate { .. }
        )
    }
}

/// The stored record of a finished link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkRecord {
    /// The last outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// How many times processing was attempted.
    pub attempts: u32,
    /// When the last attempt ended.
    pub updated_at: DateTime<Utc>,
    /// The source whose feed listed the link first (absent in records
    /// written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// What [`State::accept_listed`] did with one poll's links.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accepted {
    /// The new links, stored as pending.
    pub jobs: Vec<ArticleJob>,
    /// Links another source's feed listed first (pending or delivered for
    /// it), listed by this source for the first time: its duplicates.
    pub listed_first_by_another: u64,
}

/// What the pending links are waiting for ([`State::pending_summary`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSummary {
    /// Accepted links not yet finished.
    pub total: u64,
    /// Of those, articles a sink could not take (disk full, broker refusing).
    pub undelivered: u64,
    /// Of those, links waiting for a retry of their fetch.
    pub retrying: u64,
    /// The error of one undelivered article, to say why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sink_error: Option<String>,
    /// When the first of the `retrying` links is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_retry_at: Option<DateTime<Utc>>,
    /// `total` by source name (shown per source, not in this record's JSON).
    #[serde(skip)]
    pub by_source: std::collections::BTreeMap<String, u64>,
}

impl State {
    /// Stores the jobs whose links are neither pending nor finished, in one
    /// transaction, and returns them stamped with this run's number.
    ///
    /// Once this returns, the accepted jobs are on disk: a crash cannot lose them.
    /// A link whose attempts all failed ([`Outcome::Failed`]) is accepted
    /// again, for a new series of attempts, once [`FAILED_LINK_RETRY`] has
    /// passed since it was given up.
    pub async fn accept(&self, jobs: Vec<ArticleJob>) -> Result<Vec<ArticleJob>, StateError> {
        Ok(self.accept_listed(jobs).await?.jobs)
    }

    /// [`State::accept`] for the links one source's feed lists, also
    /// counting those another source listed first (see `listings`).
    pub async fn accept_listed(&self, jobs: Vec<ArticleJob>) -> Result<Accepted, StateError> {
        let run = self.run;
        self.blocking(move |db| {
            let now = Utc::now();
            let txn = db.begin_write()?;
            let mut accepted = Vec::new();
            let mut listed_first_by_another = 0;
            {
                let links = txn.open_table(LINKS)?;
                let mut pending = txn.open_table(PENDING)?;
                let mut listed = txn.open_table(listings::LISTINGS)?;
                for job in jobs {
                    let key = job.key.as_str();
                    let finished_before_upgrade = match job.legacy_key.as_deref() {
                        Some(legacy) => links.get(legacy)?.is_some(),
                        None => false,
                    };
                    if finished_before_upgrade {
                        continue;
                    }
                    let known = listings::holder(&links, &pending, key, now)?;
                    if let listings::Holder::Known(first) = known {
                        if listings::first_listing_of_anothers_link(
                            &mut listed,
                            key,
                            &job.source,
                            first.as_deref(),
                        )? {
                            listed_first_by_another += 1;
                        }
                        continue;
                    }
                    let job = ArticleJob {
                        accepted_run: run,
                        ..job
                    };
                    let bytes = encode(&job);
                    pending.insert(job.key.as_str(), bytes.as_slice())?;
                    accepted.push(job);
                }
            }
            txn.commit()?;
            Ok(Accepted {
                jobs: accepted,
                listed_first_by_another,
            })
        })
        .await
    }

    /// Up to `limit` pending jobs with keys after `after`, in key order (for
    /// replay at start-up); unreadable records met are moved to `quarantine`.
    pub async fn pending_after(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<ArticleJob>, StateError> {
        self.blocking(move |db| {
            let txn = db.begin_read()?;
            let pending = txn.open_table(PENDING)?;
            let range = match &after {
                Some(after) => pending.range::<&str>((
                    std::ops::Bound::Excluded(after.as_str()),
                    std::ops::Bound::Unbounded,
                )),
                None => pending.range::<&str>(..),
            }?;
            let mut jobs = Vec::new();
            let mut unreadable = Vec::new();
            for entry in range.take(limit) {
                let (key, value) = entry?;
                // An unreadable record must not block the others.
                match decode("pending", key.value(), value.value()) {
                    Ok(job) => jobs.push(job),
                    Err(e) => {
                        tracing::error!("{e}; moved to the quarantine table");
                        unreadable.push(key.value().to_string());
                    }
                }
            }
            drop(pending);
            drop(txn);
            if !unreadable.is_empty() {
                let txn = db.begin_write()?;
                {
                    let mut pending = txn.open_table(PENDING)?;
                    retries::quarantine(&mut pending, &txn, &unreadable)?;
                }
                txn.commit()?;
            }
            Ok(jobs)
        })
        .await
    }

    /// What the accepted links not yet finished are waiting for.
    pub async fn pending_summary(&self) -> Result<PendingSummary, StateError> {
        self.blocking(move |db| {
            let txn = db.begin_read()?;
            let pending = txn.open_table(PENDING)?;
            let mut summary = PendingSummary::default();
            for entry in pending.iter()? {
                let (key, value) = entry?;
                summary.total += 1;
                let Ok(job) = decode::<ArticleJob>("pending", key.value(), value.value()) else {
                    continue;
                };
                *summary.by_source.entry(job.source).or_default() += 1;
                if job.undelivered.is_some() {
                    summary.undelivered += 1;
                    if summary.last_sink_error.is_none() {
                        summary.last_sink_error = job.undelivered;
                    }
                } else if let Some(at) = job.retry_at {
                    summary.retrying += 1;
                    summary.next_retry_at = Some(summary.next_retry_at.map_or(at, |t| t.min(at)));
                }
            }
            Ok(summary)
        })
        .await
    }

    /// Makes the links a sink could not take due now: the sink's outage was
    /// ours, so a new run tries them at once rather than after the back-off.
    /// Returns how many there were.
    pub async fn release_undelivered(&self) -> Result<u64, StateError> {
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            let mut released = 0;
            {
                let mut pending = txn.open_table(PENDING)?;
                let mut due = Vec::new();
                for entry in pending.iter()? {
                    let (key, value) = entry?;
                    if let Ok(job) = decode::<ArticleJob>("pending", key.value(), value.value())
                        && job.undelivered.is_some()
                        && job.retry_at.is_some()
                    {
                        due.push(job);
                    }
                }
                for job in due {
                    let job = ArticleJob {
                        retry_at: None,
                        ..job
                    };
                    pending.insert(job.key.as_str(), encode(&job).as_slice())?;
                    released += 1;
                }
            }
            txn.commit()?;
            Ok(released)
        })
        .await
    }

    /// Number of accepted links not yet finished.
    pub async fn pending_count(&self) -> Result<u64, StateError> {
        self.count(PENDING).await
    }

    /// Finishes a pending link: removes it from `pending` and stores its outcome.
    ///
    /// A written article is also recorded under its own id, so the same page
    /// reached through another link is recognised as already delivered.
    pub async fn complete(&self, key: String, outcome: Outcome) -> Result<(), StateError> {
        self.complete_all(vec![(key, outcome, None)]).await
    }

    /// Finishes many links in one transaction (one disk sync), remembering
    /// the story of each written one in the same transaction, so a story is
    /// remembered exactly when its link is done (see [`crate::dedup::memory`]).
    pub async fn complete_all(
        &self,
        finished: Vec<(String, Outcome, Option<StoryRecord>)>,
    ) -> Result<(), StateError> {
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            {
                let mut links = txn.open_table(LINKS)?;
                let mut pending = txn.open_table(PENDING)?;
                let mut stories = txn.open_table(STORIES)?;
                let mut times = txn.open_table(STORY_TIMES)?;
                for (key, outcome, story) in &finished {
                    let job = match pending.remove(key.as_str())? {
                        Some(bytes) => decode::<ArticleJob>("pending", key, bytes.value()).ok(),
                        None => None,
                    };
                    let before = match links.get(key.as_str())? {
                        Some(bytes) => decode::<LinkRecord>("links", key, bytes.value()).ok(),
                        None => None,
                    };
                    // Never downgrade a delivered link (a second copy of the job may finish later).
                    let delivered = before.as_ref().is_some_and(|r| r.outcome.is_delivered());
                    if !delivered || outcome.is_delivered() {
                        let failed_attempts = job.as_ref().map_or(0, |j| j.failed_attempts);
                        let source = job.map(|j| j.source).or(before.and_then(|r| r.source));
                        finish(
                            &mut links,
                            key,
                            outcome.clone(),
                            failed_attempts.saturating_add(1),
                            source,
                        )?;
                    }
                    if let Some(story) = story {
                        stories::put(&mut stories, &mut times, story)?;
                    }
                }
            }
            txn.commit()?;
            Ok(())
        })
        .await
    }

    /// Whether an article with this id has already been delivered.
    pub async fn is_delivered(&self, article_id: String) -> Result<bool, StateError> {
        let record = self.link(article_id).await?;
        Ok(record.is_some_and(|r| r.outcome.is_delivered()))
    }

    /// The stored outcome of a link, if it has finished.
    pub async fn link(&self, key: String) -> Result<Option<LinkRecord>, StateError> {
        self.get(LINKS, "links", key).await
    }
}
/// Writes the final record of a link (and, for a written article, of its id).
pub(super) fn finish(
    links: &mut redb::Table<&str, &[u8]>,
    key: &str,
    outcome: Outcome,
    attempts: u32,
    source: Option<String>,
) -> Result<(), StateError> {
    let also_as = match &outcome {
        Outcome::Written { article_id } if article_id != key => Some(article_id.clone()),
        _ => None,
    };
    let record = LinkRecord {
        outcome,
        attempts,
        updated_at: Utc::now(),
        source,
    };
    let bytes = encode(&record);
    links.insert(key, bytes.as_slice())?;
    if let Some(article_id) = also_as {
        links.insert(article_id.as_str(), bytes.as_slice())?;
    }
    Ok(())
}

/// How long a link given up on waits before a feed that still lists it
/// starts a new series of attempts.
pub const FAILED_LINK_RETRY: Duration = Duration::from_secs(24 * 3600);

/// Whether a finished link may be accepted again: it failed, long enough ago.
pub(super) fn may_try_again(record: &LinkRecord, now: DateTime<Utc>) -> bool {
    matches!(record.outcome, Outcome::Failed { .. })
        && clock::utc_after(record.updated_at, FAILED_LINK_RETRY) <= now
}

/// The link ledger: every link a feed lists is accepted once, stays pending
/// (claimed for work, or waiting for a retry) until it is finished with an
/// [`Outcome`], and is never accepted again after that (a given-up link
/// aside). The policies (retry back-off, duplicate rules) are the caller's;
/// the ledger applies them atomically. [`State`] is the durable default.
pub trait LinkLedger: Send + Sync {
    /// Stores the jobs whose links are neither pending nor finished, stamped
    /// with this run, and counts those another source listed first.
    fn accept_listed(&self, jobs: Vec<ArticleJob>) -> BoxFuture<'_, Result<Accepted, StateError>>;

    /// Up to `limit` pending jobs with keys after `after`, in key order (replay).
    fn pending_after(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ArticleJob>, StateError>>;

    /// Claims up to `limit` pending jobs whose retry time has come.
    fn take_due_retries(&self, limit: usize) -> BoxFuture<'_, Result<Vec<ArticleJob>, StateError>>;

    /// Records a failed attempt: the job waits for a retry, or is given up on.
    fn retry_later(
        &self,
        job: ArticleJob,
        reason: String,
        policy: RetryPolicy,
        setback: Setback,
    ) -> BoxFuture<'_, Result<Retry, StateError>>;

    /// Finishes links in one commit, remembering the story of each written
    /// one in that same commit.
    fn complete_all(
        &self,
        finished: Vec<(String, Outcome, Option<StoryRecord>)>,
    ) -> BoxFuture<'_, Result<(), StateError>>;

    /// The stored outcome of a finished link (or written article id).
    fn link(&self, key: String) -> BoxFuture<'_, Result<Option<LinkRecord>, StateError>>;

    /// What the pending links are waiting for.
    fn pending_summary(&self) -> BoxFuture<'_, Result<PendingSummary, StateError>>;
}

impl LinkLedger for State {
    fn accept_listed(&self, jobs: Vec<ArticleJob>) -> BoxFuture<'_, Result<Accepted, StateError>> {
        Box::pin(State::accept_listed(self, jobs))
    }

    fn pending_after(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ArticleJob>, StateError>> {
        Box::pin(State::pending_after(self, after, limit))
    }

    fn take_due_retries(&self, limit: usize) -> BoxFuture<'_, Result<Vec<ArticleJob>, StateError>> {
        Box::pin(State::take_due_retries(self, limit))
    }

    fn retry_later(
        &self,
        job: ArticleJob,
        reason: String,
        policy: RetryPolicy,
        setback: Setback,
    ) -> BoxFuture<'_, Result<Retry, StateError>> {
        Box::pin(State::retry_later(self, job, reason, policy, setback))
    }

    fn complete_all(
        &self,
        finished: Vec<(String, Outcome, Option<StoryRecord>)>,
    ) -> BoxFuture<'_, Result<(), StateError>> {
        Box::pin(State::complete_all(self, finished))
    }

    fn link(&self, key: String) -> BoxFuture<'_, Result<Option<LinkRecord>, StateError>> {
        Box::pin(State::link(self, key))
    }

    fn pending_summary(&self) -> BoxFuture<'_, Result<PendingSummary, StateError>> {
        Box::pin(State::pending_summary(self))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::tests::{ATTEMPT, RETRY, job, keys};
    use super::*;
    use crate::state::{Retry, RetryPolicy};

    #[tokio::test]
    async fn accepted_links_are_not_accepted_twice_and_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let state = State::open(dir.path()).expect("open");
            let first = state
                .accept(vec![job("a"), job("b")])
                .await
                .expect("accept");
            assert_eq!(keys(&first), ["a", "b"]);
            let again = state
                .accept(vec![job("a"), job("c"), job("c")])
                .await
                .expect("accept");
            assert_eq!(keys(&again), ["c"]);
        }
        let state = State::open(dir.path()).expect("reopen");
        assert_eq!(state.run(), 2, "runs are counted");
        let pending = state.pending_after(None, 10).await.expect("pending");
        assert_eq!(keys(&pending), ["a", "b", "c"]);
        assert!(
            pending.iter().all(|j| j.accepted_run == 1),
            "stamped by the first run"
        );
        let rest = state
            .pending_after(Some("a".into()), 1)
            .await
            .expect("pending");
        assert_eq!(keys(&rest), ["b"]);
    }

    #[tokio::test]
    async fn a_link_finished_under_its_pre_upgrade_id_is_not_accepted_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        state.accept(vec![job("old")]).await.expect("accept");
        let written = Outcome::Written {
            article_id: "old".into(),
        };
        state
            .complete("old".into(), written)
            .await
            .expect("complete");
        let renamed = ArticleJob {
            legacy_key: Some("old".into()),
            undelivered: None,
            ..job("new")
        };
        assert!(
            state
                .accept(vec![renamed])
                .await
                .expect("accept")
                .is_empty()
        );
        assert_eq!(
            keys(&state.accept(vec![job("new")]).await.expect("accept")),
            ["new"]
        );
    }

    #[tokio::test]
    async fn finished_links_are_never_accepted_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        state
            .accept(vec![job("w"), job("r")])
            .await
            .expect("accept");
        let written = Outcome::Written {
            article_id: "x".into(),
        };
        state.complete("w".into(), written).await.expect("complete");
        let rejected = Outcome::Rejected {
            reason: "no article".into(),
        };
        state
            .complete("r".into(), rejected)
            .await
            .expect("complete");
        assert_eq!(state.pending_count().await.expect("count"), 0);
        assert!(state.is_delivered("w".into()).await.expect("lookup"));
        assert!(
            state.is_delivered("x".into()).await.expect("lookup"),
            "also under its own id"
        );
        assert!(!state.is_delivered("r".into()).await.expect("lookup"));
        let again = state
            .accept(vec![job("w"), job("r"), job("x")])
            .await
            .expect("accept");
        assert!(again.is_empty(), "{again:?}");
    }

    #[tokio::test]
    async fn a_link_given_up_on_is_tried_again_a_day_later_if_still_listed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        let accepted = state.accept(vec![job("g")]).await.expect("accept");
        let once = RetryPolicy {
            max_attempts: 1,
            backoff: Duration::from_secs(1),
        };
        let decision = state
            .retry_later(accepted[0].clone(), "HTTP 503".into(), once, ATTEMPT)
            .await
            .expect("retry");
        assert_eq!(decision, Retry::GaveUp);
        assert!(
            state
                .accept(vec![job("g")])
                .await
                .expect("accept")
                .is_empty(),
            "not again within the day"
        );
        // The give-up a little over a day ago.
        let db = Arc::clone(&state.db);
        let record = LinkRecord {
            outcome: Outcome::Failed {
                reason: "HTTP 503".into(),
            },
            attempts: 1,
            updated_at: Utc::now() - chrono::Duration::hours(25),
            source: None,
        };
        let txn = db.begin_write().expect("write");
        txn.open_table(LINKS)
            .expect("links")
            .insert("g", encode(&record).as_slice())
            .expect("insert");
        txn.commit().expect("commit");
        let again = state.accept(vec![job("g")]).await.expect("accept");
        assert_eq!(keys(&again), ["g"]);
        assert_eq!(again[0].failed_attempts, 0, "a new series of attempts");
        // A link written is never accepted again.
        state
            .complete(
                "g".into(),
                Outcome::Written {
                    article_id: "g".into(),
                },
            )
            .await
            .expect("complete");
        assert!(
            state
                .accept(vec![job("g")])
                .await
                .expect("accept")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_finished_link_is_neither_retried_nor_downgraded_by_a_late_copy() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        let job = state
            .accept(vec![job("d")])
            .await
            .expect("accept")
            .remove(0);
        let written = Outcome::Written {
            article_id: "d".into(),
        };
        state
            .complete("d".into(), written.clone())
            .await
            .expect("complete");
        let late = state
            .retry_later(job, "timeout".into(), RETRY, ATTEMPT)
            .await
            .expect("retry");
        assert_eq!(late, Retry::AlreadyFinished);
        let rejected = Outcome::Rejected {
            reason: "late copy".into(),
        };
        state
            .complete("d".into(), rejected)
            .await
            .expect("complete");
        let record = state.link("d".into()).await.expect("link").expect("record");
        assert_eq!(record.outcome, written);
        assert_eq!(state.pending_count().await.expect("count"), 0);
    }

    #[tokio::test]
    async fn an_unreadable_pending_record_is_quarantined_without_blocking_the_rest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        let good = state
            .accept(vec![job("b")])
            .await
            .expect("accept")
            .remove(0);
        {
            let txn = state.db.begin_write().expect("txn");
            {
                let mut pending = txn.open_table(PENDING).expect("table");
                pending
                    .insert("a", b"{not json".as_slice())
                    .expect("insert");
            }
            txn.commit().expect("commit");
        }
        let replay = state.pending_after(None, 10).await.expect("replay goes on");
        assert_eq!(keys(&replay), ["b"]);
        state
            .retry_later(good, "HTTP 500".into(), RETRY, ATTEMPT)
            .await
            .expect("retry");
        let due = state.take_due_retries(10).await.expect("sweep goes on");
        assert_eq!(keys(&due), ["b"]);
        assert_eq!(
            state.pending_count().await.expect("count"),
            1,
            "bad record moved out"
        );
    }
}
