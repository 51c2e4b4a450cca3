//! Persistent state: what has been seen, what is still to do, and feed validators.
//!
//! Everything lives in one embedded [redb] database (`<state.dir>/thresher.redb`):
//! ACID transactions with fsync on commit, so a crash leaves either the old or
//! the new state, never half of one. The rest of the daemon sees only the small
//! async API of [`State`]; each call runs on the blocking pool because commits
//! wait for the disk.
//!
//! Tables (keys are article ids or source names, values JSON so records can grow):
//! - `links`: final outcome per link id (written, duplicate, rejected, failed);
//! - `pending`: accepted links not yet finished, including those waiting for a retry;
//! - `feeds`: per-source poll state (HTTP validators, last success, last error);
//! - `retry_due`: the pending links waiting for a retry, by due time (see `retries`);
//! - `quarantine`: pending records that could not be decoded, kept for inspection;
//! - `hosts`: per-origin politeness record (robots.txt, a `Retry-After` block);
//! - `learned`: per-host template blocks (see [`crate::boilerplate`]);
//! - `stories`: each written article's source, URL, headline and body
//!   signature, kept for `[dedup] retention` to recognise later copies; an
//!   in-memory [`StoryIndex`] over it is loaded on first use;
//! - `story_times`: the same stories by time written, for pruning;
//! - `touched`: when each `hosts`, `learned` and `feeds` row was last written,
//!   for their retention (see `retention`);
//! - `meta`: the run counter (see [`State::run`]) and the next outbox position;
//! - `listings`: the sources that listed a link another source's feed listed
//!   first, so each is counted as a duplicate once (see `listings`);
//! - `outbox`: articles accepted for a broker sink and not yet acknowledged by it,
//!   keyed by a sequence number so they drain in acceptance order
//!   (see [`State::outbox_put`]); `outbox_ids` maps article id to that number.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

mod health;
mod listings;
mod retention;
mod retries;

pub use self::health::Health;
pub use self::retention::{Forgotten, IDLE_RETENTION};
pub use self::retries::{MAX_RETRY_DELAY, Retry, RetryPolicy, Setback};

use crate::article::ArticleJob;
use crate::boilerplate::HostBlocks;
use crate::clock;
use crate::dedup::{Signature, StoryIndex, Thresholds, band_hashes, title_similarity};

const LINKS: TableDefinition<&str, &[u8]> = TableDefinition::new("links");
const PENDING: TableDefinition<&str, &[u8]> = TableDefinition::new("pending");
const FEEDS: TableDefinition<&str, &[u8]> = TableDefinition::new("feeds");
const QUARANTINE: TableDefinition<&str, &[u8]> = TableDefinition::new("quarantine");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const LEARNED: TableDefinition<&str, &[u8]> = TableDefinition::new("learned");
const HOSTS: TableDefinition<&str, &[u8]> = TableDefinition::new("hosts");
/// Article failures per `source/kind`.
const FAILURES: TableDefinition<&str, u64> = TableDefinition::new("failures");
/// Written stories by [`story_key`]: see [`encode_story`] for the layout.
const STORIES: TableDefinition<u64, &[u8]> = TableDefinition::new("stories");
/// `(seen-at, story key)` of every story, so pruning reads only what it removes.
const STORY_TIMES: TableDefinition<(u32, u64), ()> = TableDefinition::new("story_times");

/// Default ceiling of redb's page cache. redb's own default is 1 GiB, which a
/// store with millions of links would slowly fill; the B-tree's interior pages,
/// which every lookup touches, fit in far less (the daemon bench with 1 million
/// remembered stories runs as fast with 16 MiB as with 32).
pub const DEFAULT_CACHE_BYTES: usize = 16 << 20;
/// Outbox position -> (article id, source, message body).
const OUTBOX: TableDefinition<u64, (&str, &str, &[u8])> = TableDefinition::new("outbox");
/// Article id -> its outbox position, so a second put of one article replaces the first.
const OUTBOX_IDS: TableDefinition<&str, u64> = TableDefinition::new("outbox_ids");
/// Key in `meta` of the next outbox position.
const OUTBOX_NEXT: &str = "outbox_next";

/// File name of the database inside `state.dir`.
pub const DB_FILE: &str = "thresher.redb";

/// A state-store failure.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The state folder could not be created.
    #[error("state folder {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Another Thresher process (or thread) holds the database.
    #[error(
        "state store {path} is in use by another Thresher process; stop it or use another [state] dir"
    )]
    InUse {
        /// The database file.
        path: PathBuf,
    },
    /// The database could not be opened.
    #[error("state store {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What redb reported.
        source: redb::DatabaseError,
    },
    /// A read or write failed.
    #[error("state store: {0}")]
    Store(#[from] redb::Error),
    /// A record could not be decoded (written by an incompatible version?).
    #[error("state store: record {table}/{key} is unreadable: {source}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// Record key.
        key: String,
        /// Decoder error.
        source: serde_json::Error,
    },
    /// The blocking task running the operation died (a panic inside redb).
    #[error("state store: worker task failed (the file may be damaged): {0}")]
    Task(String),
    /// The database file is damaged or is not a state store.
    #[error(
        "state store {path} is damaged ({what}); move it aside to start with an empty store \
         (the links every feed lists now are fetched again) or restore it from a backup"
    )]
    Damaged {
        /// The database file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
}

/// redb's per-operation errors (opening a transaction or a table, reading,
/// committing) become [`StateError::Store`] through [`redb::Error`], which
/// is where redb names the failures it cannot recover from (see `health`),
/// so `?` works on every redb call.
macro_rules! store_error_from {
    ($($error:ty),*) => {$(
        impl From<$error> for StateError {
            fn from(error: $error) -> Self {
                Self::Store(error.into())
            }
        }
    )*};
}

store_error_from!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

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

/// A written article as remembered for de-duplication.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    /// Article id.
    pub id: String,
    /// Source whose folder holds it.
    pub source: String,
    /// URL it was written from.
    pub url: String,
    /// Headline.
    pub title: String,
    /// When it was written.
    pub seen_at: DateTime<Utc>,
    /// Body fingerprint; `None` for a body too short to fingerprint.
    pub signature: Option<Signature>,
}

/// An earlier story found to be the same as a new article.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryMatch {
    /// The earlier story.
    pub story: Story,
    /// Estimated body similarity (share of shingles in common).
    pub body_similarity: f64,
    /// Headline similarity.
    pub title_similarity: f64,
}

/// The fields of a [`Story`] stored as JSON after its signature.
#[derive(Serialize, Deserialize)]
struct StoryMeta {
    id: String,
    source: String,
    url: String,
    title: String,
}

/// Key of a story in the `stories` table and the index: the first 64 bits of
/// its article id (ids are 128-bit hashes, so two stories sharing a key
/// within a retention window is a one-in-10^7 event at a million stories;
/// the stored id is compared on every match).
pub fn story_key(article_id: &str) -> u64 {
    article_id
        .get(..16)
        .and_then(|prefix| u64::from_str_radix(prefix, 16).ok())
        .unwrap_or_else(|| xxhash_rust::xxh3::xxh3_64(article_id.as_bytes()))
}

/// Layout of a `stories` value: seen-at (u32 Unix seconds), signature length
/// n (u16), n signature values (u32), then [`StoryMeta`] as JSON; all
/// little-endian. The fixed head lets the index load without parsing JSON.
fn encode_story(story: &Story) -> Vec<u8> {
    let values = story.signature.as_ref().map_or(&[][..], |s| &s.0[..]);
    let n = values.len().min(usize::from(u16::MAX));
    let meta = StoryMeta {
        id: story.id.clone(),
        source: story.source.clone(),
        url: story.url.clone(),
        title: story.title.clone(),
    };
    let mut bytes = Vec::with_capacity(6 + 4 * n + 128);
    bytes.extend_from_slice(&unix_seconds(story.seen_at).to_le_bytes());
    bytes.extend_from_slice(&(n as u16).to_le_bytes());
    for value in &values[..n] {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes.extend_from_slice(&encode(&meta));
    bytes
}

/// The fixed head of a `stories` value: seen-at and signature.
fn story_head(bytes: &[u8]) -> Option<(u32, Option<Signature>, &[u8])> {
    let seen = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
    let n = usize::from(u16::from_le_bytes(bytes.get(4..6)?.try_into().ok()?));
    let values = bytes.get(6..6 + 4 * n)?;
    let rest = bytes.get(6 + 4 * n..)?;
    let signature = (n > 0).then(|| Signature::from_bytes(values)).flatten();
    Some((seen, signature, rest))
}

fn decode_story(key: u64, bytes: &[u8]) -> Result<Story, StateError> {
    let corrupt = |source| StateError::Corrupt {
        table: "stories",
        key: format!("{key:016x}"),
        source,
    };
    let (seen, signature, meta) =
        story_head(bytes).ok_or_else(|| corrupt(serde::de::Error::custom("truncated record")))?;
    let meta: StoryMeta = serde_json::from_slice(meta).map_err(corrupt)?;
    Ok(Story {
        id: meta.id,
        source: meta.source,
        url: meta.url,
        title: meta.title,
        seen_at: DateTime::from_timestamp(i64::from(seen), 0).unwrap_or_default(),
        signature,
    })
}

/// Seconds since 1970 as stored (u32 lasts until 2106).
fn unix_seconds(at: DateTime<Utc>) -> u32 {
    u32::try_from(at.timestamp().max(0)).unwrap_or(u32::MAX)
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

/// What Thresher remembers about one source's feed between polls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedState {
    /// `ETag` of the last successful response, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// `Last-Modified` of the last successful response, sent back as `If-Modified-Since`.
    pub last_modified: Option<String>,
    /// The feed URL the validators belong to (a changed URL invalidates them).
    pub feed_url: Option<String>,
    /// End of the last poll, successful or not.
    pub last_poll_at: Option<DateTime<Utc>>,
    /// End of the last successful poll.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Error of the last poll, if it failed.
    pub last_error: Option<String>,
    /// Polls that failed in a row (the source backs off while this grows).
    #[serde(default)]
    pub consecutive_failures: u32,
    /// Of `consecutive_failures`, those seen by `thresher once` runs (the
    /// pipeline does not let them lengthen the daemon's back-off).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub once_failures: u32,
    /// Failed polls of this source, by kind (`timeout`, `http_5xx`…); article
    /// failures are counted apart (see [`State::failure_counts`]).
    #[serde(default)]
    pub failures: std::collections::BTreeMap<String, u64>,
}

/// Whether a counter is zero (left out of stored records).
fn is_zero(n: &u32) -> bool {
    *n == 0
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

/// What is remembered about one origin across restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostRecord {
    /// The last robots.txt answer, if fetched.
    pub robots: Option<RobotsRecord>,
    /// No requests before this time (the server's `Retry-After`).
    pub blocked_until: Option<DateTime<Utc>>,
}

/// A fetched robots.txt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RobotsRecord {
    /// HTTP status of the answer; 0 when the server could not be reached.
    pub status: u16,
    /// The file (only for a 2xx answer).
    pub body: String,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
}

/// An article waiting in the outbox for a broker's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Position in the outbox; entries drain in this order (acceptance order).
    pub seq: u64,
    /// The article id (the broker's deduplication key).
    pub article_id: String,
    /// Name of the article's source (picks the subject).
    pub source: String,
    /// The message body: the article JSON.
    pub payload: Vec<u8>,
}

/// What [`State::outbox_put`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxPut {
    /// Stored (durably); the outbox now holds `depth` articles.
    Stored {
        /// Articles in the outbox after the put.
        depth: u64,
    },
    /// The outbox is at its capacity; nothing was stored.
    Full,
}

/// Handle to the state store; cheap to clone, safe to share between tasks.
#[derive(Clone)]
pub struct State {
    db: Arc<Db>,
    run: u64,
    /// Remembered stories by signature band; mirrors the `stories` table.
    /// Loaded on first use, so commands that only read state do not pay for it.
    stories: Arc<StoryCell>,
    /// Whether operations succeed; read by `/readyz` and the pipeline.
    health: Arc<Health>,
}

impl State {
    /// Opens (creating if needed) the state store in `dir`, with the default cache.
    pub fn open(dir: &Path) -> Result<Self, StateError> {
        Self::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// Opens the state store with a page cache of at most `cache_bytes`.
    ///
    /// A damaged file is an error naming it and what to do, never a panic,
    /// and an empty file is not silently taken for a new store.
    pub fn open_with_cache(dir: &Path, cache_bytes: usize) -> Result<Self, StateError> {
        std::fs::create_dir_all(dir).map_err(|source| StateError::Folder {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        if std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() == 0) {
            return Err(StateError::Damaged {
                path,
                what: "the file is empty".into(),
            });
        }
        let damaged = |what: String| StateError::Damaged {
            path: path.clone(),
            what,
        };
        // redb may panic on a corrupted file (an unreachable branch in its
        // B-tree code): that is a damaged file too.
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Self::open_file(&path, cache_bytes)
        }));
        match opened {
            Ok(Err(StateError::Open {
                source: redb::DatabaseError::Storage(redb::StorageError::Corrupted(what)),
                ..
            }))
            | Ok(Err(StateError::Store(redb::Error::Corrupted(what)))) => Err(damaged(what)),
            Ok(Err(StateError::Open { source, .. }))
                if source.to_string().contains("Not a redb database") =>
            {
                Err(damaged("it is not a redb database".into()))
            }
            Ok(result) => result,
            Err(panic) => Err(damaged(panic_message(panic.as_ref()))),
        }
    }

    fn open_file(path: &Path, cache_bytes: usize) -> Result<Self, StateError> {
        let path = path.to_path_buf();
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(&path)
            .map_err(|source| match source {
                redb::DatabaseError::DatabaseAlreadyOpen => {
                    StateError::InUse { path: path.clone() }
                }
                source => StateError::Open {
                    path: path.clone(),
                    source,
                },
            })?;
        // Wrapped at once: if the set-up below panics inside redb, the
        // unwind drops the database, and redb's close then panics again on
        // its poisoned locks; `Db` catches that, where a bare `Database`
        // would abort the process (found by fuzzing).
        let db = Db(std::mem::ManuallyDrop::new(db));
        // Create the tables once so readers never meet a missing table, and
        // count this run.
        let txn = db.begin_write()?;
        for table in [LINKS, PENDING, FEEDS, QUARANTINE, LEARNED, HOSTS] {
            txn.open_table(table)?;
        }
        txn.open_table(FAILURES)?;
        txn.open_table(STORIES)?;
        txn.open_table(STORY_TIMES)?;
        txn.open_table(OUTBOX)?;
        txn.open_table(OUTBOX_IDS)?;
        txn.open_table(listings::LISTINGS)?;
        txn.open_table(retries::RETRY_DUE)?;
        txn.open_table(retention::TOUCHED)?;
        let indexed = txn.open_table(META)?.get(retries::RETRY_INDEXED)?.is_some();
        if !indexed {
            retries::index_waiting_jobs(&txn)?;
        }
        let run = {
            let mut meta = txn.open_table(META)?;
            meta.insert(retries::RETRY_INDEXED, 1)?;
            let previous = meta.get("runs")?.map_or(0, |v| v.value());
            let run = previous.saturating_add(1);
            meta.insert("runs", run)?;
            run
        };
        txn.commit()?;
        Ok(Self {
            db: Arc::new(db),
            run,
            stories: Arc::new(StoryCell::default()),
            health: Arc::new(Health::default()),
        })
    }

    /// Whether the store's operations succeed.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// This run's number: one more than the last process that opened the store.
    ///
    /// Jobs carry the run that handed them out, so start-up replay can tell
    /// "left over by an earlier run" from "already on its way in this one"
    /// without trusting the wall clock.
    pub fn run(&self) -> u64 {
        self.run
    }

    /// Runs `op` on the blocking pool: redb calls block on disk I/O.
    async fn blocking<T, F>(&self, op: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StateError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        let result = tokio::task::spawn_blocking(move || op(&db))
            .await
            .map_err(|e| match e.try_into_panic() {
                Ok(panic) => StateError::Task(panic_message(panic.as_ref())),
                Err(e) => StateError::Task(e.to_string()),
            })
            .and_then(|result| result);
        self.health.record(&result);
        result
    }

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

    /// Like [`State::complete`], and remembers the written `story` in the
    /// same transaction, so a story is remembered exactly when its link is done.
    pub async fn complete_with_story(
        &self,
        key: String,
        outcome: Outcome,
        story: Option<Story>,
    ) -> Result<(), StateError> {
        self.complete_all(vec![(key, outcome, story)]).await
    }

    /// [`State::complete_with_story`] for many links in one transaction (one disk sync).
    pub async fn complete_all(
        &self,
        finished: Vec<(String, Outcome, Option<Story>)>,
    ) -> Result<(), StateError> {
        let index = Arc::clone(&self.stories);
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
                        let (key, bytes) = (story_key(&story.id), encode_story(story));
                        stories.insert(key, bytes.as_slice())?;
                        times.insert((unix_seconds(story.seen_at), key), ())?;
                    }
                }
            }
            txn.commit()?;
            // Not loaded yet: loading reads the stories just committed.
            if let Some(index) = lock(&index).as_mut() {
                for (_, _, story) in &finished {
                    if let Some(Story {
                        id,
                        seen_at,
                        signature: Some(signature),
                        ..
                    }) = story
                    {
                        index.insert(
                            story_key(id),
                            unix_seconds(*seen_at),
                            band_hashes(signature),
                        );
                    }
                }
            }
            Ok(())
        })
        .await
    }

    /// The remembered story written under `article_id`, if still within retention.
    pub async fn story(&self, article_id: String) -> Result<Option<Story>, StateError> {
        self.blocking(move |db| {
            let key = story_key(&article_id);
            let txn = db.begin_read()?;
            let stories = txn.open_table(STORIES)?;
            let Some(bytes) = stories.get(key)? else {
                return Ok(None);
            };
            let story = decode_story(key, bytes.value())?;
            Ok((story.id == article_id).then_some(story))
        })
        .await
    }

    /// The earlier story most similar to a body with this `signature` under
    /// `title` that `thresholds` call the same story; never the article
    /// `exclude_id` itself (an article written again after a crash).
    pub async fn find_same_story(
        &self,
        signature: Signature,
        title: String,
        exclude_id: String,
        thresholds: Thresholds,
    ) -> Result<Option<StoryMatch>, StateError> {
        let index = Arc::clone(&self.stories);
        self.blocking(move |db| {
            let candidates = with_index(db, &index, |index| {
                index.candidates(&band_hashes(&signature))
            })?;
            if candidates.is_empty() {
                return Ok(None);
            }
            let txn = db.begin_read()?;
            let stories = txn.open_table(STORIES)?;
            let mut best: Option<StoryMatch> = None;
            for key in candidates {
                let Some(bytes) = stories.get(key)? else {
                    continue;
                };
                let Some((_, Some(earlier), _)) = story_head(bytes.value()) else {
                    continue;
                };
                let body_similarity = signature.similarity(&earlier);
                // Cheap reject before decoding the rest of the record.
                if body_similarity < thresholds.body_with_title.min(thresholds.body) {
                    continue;
                }
                let story = match decode_story(key, bytes.value()) {
                    Ok(story) => story,
                    Err(e) => {
                        tracing::warn!("{e}; skipped");
                        continue;
                    }
                };
                if story.id == exclude_id {
                    continue;
                }
                let title_similarity = title_similarity(&title, &story.title);
                if thresholds.same_story(body_similarity, title_similarity)
                    && best
                        .as_ref()
                        .is_none_or(|b| body_similarity > b.body_similarity)
                {
                    best = Some(StoryMatch {
                        story,
                        body_similarity,
                        title_similarity,
                    });
                }
            }
            Ok(best)
        })
        .await
    }

    /// Forgets stories written before `cutoff` (store and index); returns how many.
    pub async fn forget_stories_before(&self, cutoff: DateTime<Utc>) -> Result<usize, StateError> {
        let index = Arc::clone(&self.stories);
        self.blocking(move |db| {
            let cutoff = unix_seconds(cutoff);
            let txn = db.begin_write()?;
            let removed = {
                let mut stories = txn.open_table(STORIES)?;
                let mut times = txn.open_table(STORY_TIMES)?;
                let expired: Vec<(u32, u64)> = times
                    .range(..(cutoff, 0))?
                    .map(|row| row.map(|(key, _)| key.value()))
                    .collect::<Result<_, _>>()?;
                let mut removed = 0;
                for (seen, key) in expired {
                    times.remove((seen, key))?;
                    // The key may have been written again since (a story
                    // redone after a crash): only an old record goes.
                    let old = match stories.get(key)? {
                        Some(bytes) => story_head(bytes.value()).is_none_or(|(s, ..)| s < cutoff),
                        None => false,
                    };
                    if old {
                        stories.remove(key)?;
                        removed += 1;
                    }
                }
                removed
            };
            txn.commit()?;
            with_index(db, &index, |index| index.forget_before(cutoff))?;
            Ok(removed)
        })
        .await
    }

    /// Stories in the in-memory index, and the heap bytes it holds (loading it if needed).
    pub fn story_index_size(&self) -> Result<(usize, usize), StateError> {
        with_index(&self.db, &self.stories, |index| {
            (index.len(), index.heap_bytes())
        })
    }

    /// Number of rows in `table`.
    async fn count<K, V>(&self, table: TableDefinition<'static, K, V>) -> Result<u64, StateError>
    where
        K: redb::Key + Send + 'static,
        V: redb::Value + Send + 'static,
    {
        self.blocking(move |db| {
            let txn = db.begin_read()?;
            let rows = txn.open_table(table)?;
            Ok(rows.len()?)
        })
        .await
    }

    /// Reads and decodes one record of `table` (named `label` in errors).
    async fn get<T>(
        &self,
        table: TableDefinition<'static, &'static str, &'static [u8]>,
        label: &'static str,
        key: String,
    ) -> Result<Option<T>, StateError>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.blocking(move |db| {
            let txn = db.begin_read()?;
            let records = txn.open_table(table)?;
            match records.get(key.as_str())? {
                Some(bytes) => Ok(Some(decode(label, &key, bytes.value())?)),
                None => Ok(None),
            }
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

    /// The remembered poll state of a source.
    pub async fn feed_state(&self, source: String) -> Result<Option<FeedState>, StateError> {
        self.get(FEEDS, "feeds", source).await
    }

    /// What has been learned about `host`'s template blocks.
    pub async fn host_blocks(&self, host: String) -> Result<HostBlocks, StateError> {
        self.blocking(move |db| {
            let txn = db.begin_read()?;
            let learned = txn.open_table(LEARNED)?;
            let bytes = learned.get(host.as_str())?;
            Ok(bytes
                .map(|b| HostBlocks::from_bytes(b.value()))
                .unwrap_or_default())
        })
        .await
    }

    /// Records one article's block fingerprints for `host`.
    ///
    /// Committed without fsync: learned template is a hint, and losing the
    /// last few updates in a power cut costs nothing but a little relearning;
    /// the next durable commit makes them permanent.
    pub async fn record_host_blocks(
        &self,
        host: String,
        blocks: std::collections::HashSet<u64>,
    ) -> Result<(), StateError> {
        self.blocking(move |db| {
            let mut txn = db.begin_write()?;
            // Falls back to a durable commit where redb refuses (never in our mode).
            let _ = txn.set_durability(redb::Durability::None);
            {
                let mut learned = txn.open_table(LEARNED)?;
                let mut host_blocks = learned
                    .get(host.as_str())?
                    .map(|b| HostBlocks::from_bytes(b.value()))
                    .unwrap_or_default();
                host_blocks.record(&blocks);
                let bytes = host_blocks.to_bytes();
                learned.insert(host.as_str(), bytes.as_slice())?;
            }
            retention::touch(&txn, "learned", &host)?;
            txn.commit()?;
            Ok(())
        })
        .await
    }

    /// The remembered politeness record of an origin (robots.txt, blocks).
    pub async fn host_record(&self, origin: String) -> Result<Option<HostRecord>, StateError> {
        self.get(HOSTS, "hosts", origin).await
    }

    /// Changes the politeness record of an origin in one transaction (so a
    /// block and a robots.txt answer stored at once both survive). Not
    /// fsynced: it is a cache that is fetched again if lost.
    pub async fn update_host_record<F>(&self, origin: String, change: F) -> Result<(), StateError>
    where
        F: FnOnce(&mut HostRecord) + Send + 'static,
    {
        self.blocking(move |db| {
            let mut txn = db.begin_write()?;
            let _ = txn.set_durability(redb::Durability::None);
            {
                let mut hosts = txn.open_table(HOSTS)?;
                let mut record: HostRecord = match hosts.get(origin.as_str())? {
                    // An unreadable record is a lost cache entry, not an error.
                    Some(bytes) => decode("hosts", &origin, bytes.value()).unwrap_or_default(),
                    None => HostRecord::default(),
                };
                change(&mut record);
                let bytes = encode(&record);
                hosts.insert(origin.as_str(), bytes.as_slice())?;
            }
            retention::touch(&txn, "hosts", &origin)?;
            txn.commit()?;
            Ok(())
        })
        .await
    }

    /// Counts one failed article of `source` under `kind` (`timeout`,
    /// `http_5xx`, `robots`…), in one transaction so concurrent counts add up.
    /// Not fsynced: these are statistics.
    pub async fn count_failure(
        &self,
        source: String,
        kind: &'static str,
    ) -> Result<(), StateError> {
        self.blocking(move |db| {
            let mut txn = db.begin_write()?;
            let _ = txn.set_durability(redb::Durability::None);
            {
                let mut failures = txn.open_table(FAILURES)?;
                let key = format!("{source}/{kind}");
                let count = failures.get(key.as_str())?.map_or(0, |v| v.value());
                failures.insert(key.as_str(), count.saturating_add(1))?;
            }
            txn.commit()?;
            Ok(())
        })
        .await
    }

    /// Failed articles of `source` by kind.
    pub async fn failure_counts(
        &self,
        source: String,
    ) -> Result<std::collections::BTreeMap<String, u64>, StateError> {
        self.blocking(move |db| {
            let txn = db.begin_read()?;
            let failures = txn.open_table(FAILURES)?;
            // Source names cannot contain '/', and '0' sorts right after it: a prefix range.
            let (from, to) = (format!("{source}/"), format!("{source}0"));
            let mut counts = std::collections::BTreeMap::new();
            for row in failures.range(from.as_str()..to.as_str())? {
                let (key, value) = row?;
                if let Some(kind) = key.value().strip_prefix(from.as_str()) {
                    counts.insert(kind.to_string(), value.value());
                }
            }
            Ok(counts)
        })
        .await
    }

    /// Puts an article into the outbox, committed with fsync before this
    /// returns, unless the outbox already holds `capacity` articles. An
    /// article id already in the outbox keeps its place and gets the new body.
    pub async fn outbox_put(
        &self,
        article_id: String,
        source: String,
        payload: Vec<u8>,
        capacity: u64,
    ) -> Result<OutboxPut, StateError> {
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            let depth = {
                let mut outbox = txn.open_table(OUTBOX)?;
                let mut ids = txn.open_table(OUTBOX_IDS)?;
                let queued = ids.get(article_id.as_str())?.map(|seq| seq.value());
                let seq = match queued {
                    Some(seq) => seq,
                    None => {
                        if outbox.len()? >= capacity {
                            return Ok(OutboxPut::Full);
                        }
                        let mut meta = txn.open_table(META)?;
                        let seq = meta.get(OUTBOX_NEXT)?.map_or(0, |v| v.value());
                        meta.insert(OUTBOX_NEXT, seq.saturating_add(1))?;
                        ids.insert(article_id.as_str(), seq)?;
                        seq
                    }
                };
                outbox.insert(
                    seq,
                    (article_id.as_str(), source.as_str(), payload.as_slice()),
                )?;
                outbox.len()?
            };
            txn.commit()?;
            Ok(OutboxPut::Stored { depth })
        })
        .await
    }

    /// The first `limit` outbox entries, oldest first.
    pub async fn outbox_batch(&self, limit: usize) -> Result<Vec<OutboxEntry>, StateError> {
        self.blocking(move |db| {
            let txn = db.begin_read()?;
            let outbox = txn.open_table(OUTBOX)?;
            let mut entries = Vec::new();
            for row in outbox.iter()?.take(limit) {
                let (seq, value) = row?;
                let (article_id, source, payload) = value.value();
                entries.push(OutboxEntry {
                    seq: seq.value(),
                    article_id: article_id.to_string(),
                    source: source.to_string(),
                    payload: payload.to_vec(),
                });
            }
            Ok(entries)
        })
        .await
    }

    /// Removes acknowledged entries (by position), in one durable
    /// transaction; returns the articles left in the outbox.
    pub async fn outbox_remove(&self, seqs: Vec<u64>) -> Result<u64, StateError> {
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            let depth = {
                let mut outbox = txn.open_table(OUTBOX)?;
                let mut ids = txn.open_table(OUTBOX_IDS)?;
                for seq in seqs {
                    let removed = outbox.remove(seq)?;
                    let Some(removed) = removed else { continue };
                    let article_id = removed.value().0.to_string();
                    drop(removed);
                    // The id may have been queued again under another position.
                    let indexed = ids.get(article_id.as_str())?.map(|v| v.value());
                    if indexed == Some(seq) {
                        ids.remove(article_id.as_str())?;
                    }
                }
                outbox.len()?
            };
            txn.commit()?;
            Ok(depth)
        })
        .await
    }

    /// Moves an outbox entry the broker can never take (too large for it)
    /// to the `quarantine` table, under `outbox/<article id>`, for inspection.
    pub async fn outbox_reject(&self, seq: u64) -> Result<(), StateError> {
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            {
                let mut outbox = txn.open_table(OUTBOX)?;
                let mut ids = txn.open_table(OUTBOX_IDS)?;
                let mut quarantine = txn.open_table(QUARANTINE)?;
                let removed = outbox.remove(seq)?;
                if let Some(removed) = removed {
                    let (article_id, _, payload) = removed.value();
                    let (article_id, payload) = (article_id.to_string(), payload.to_vec());
                    drop(removed);
                    quarantine
                        .insert(format!("outbox/{article_id}").as_str(), payload.as_slice())?;
                    if ids
                        .get(article_id.as_str())?
                        .is_some_and(|v| v.value() == seq)
                    {
                        ids.remove(article_id.as_str())?;
                    }
                }
            }
            txn.commit()?;
            Ok(())
        })
        .await
    }

    /// Number of articles in the outbox.
    pub async fn outbox_len(&self) -> Result<u64, StateError> {
        self.count(OUTBOX).await
    }

    /// Stores the poll state of a source.
    pub async fn put_feed_state(&self, source: String, feed: FeedState) -> Result<(), StateError> {
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            {
                let mut feeds = txn.open_table(FEEDS)?;
                let bytes = encode(&feed);
                feeds.insert(source.as_str(), bytes.as_slice())?;
            }
            retention::touch(&txn, "feeds", &source)?;
            txn.commit()?;
            Ok(())
        })
        .await
    }
}

/// The story index, `None` until first used.
type StoryCell = std::sync::Mutex<Option<StoryIndex>>;

/// Locks the story index; a panic elsewhere while holding it cannot leave it
/// half-changed in a way that matters (worst case a story is not found).
fn lock(cell: &StoryCell) -> std::sync::MutexGuard<'_, Option<StoryIndex>> {
    cell.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `op` on the story index, loading it from the store on first use.
fn with_index<T>(
    db: &Database,
    cell: &StoryCell,
    op: impl FnOnce(&mut StoryIndex) -> T,
) -> Result<T, StateError> {
    let mut guard = lock(cell);
    let index = match guard.as_mut() {
        Some(index) => index,
        None => guard.insert(load_story_index(db)?),
    };
    Ok(op(index))
}

/// Reads every remembered story's signature into a fresh index.
fn load_story_index(db: &Database) -> Result<StoryIndex, StateError> {
    let mut index = StoryIndex::new();
    let txn = db.begin_read()?;
    let stories = txn.open_table(STORIES)?;
    for row in stories.iter()? {
        let (key, bytes) = row?;
        if let Some((seen, Some(signature), _)) = story_head(bytes.value()) {
            index.insert(key.value(), seen, band_hashes(&signature));
        }
    }
    Ok(index)
}

/// Writes the final record of a link (and, for a written article, of its id).
fn finish(
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
fn may_try_again(record: &LinkRecord, now: DateTime<Utc>) -> bool {
    matches!(record.outcome, Outcome::Failed { .. })
        && clock::utc_after(record.updated_at, FAILED_LINK_RETRY) <= now
}

/// The open database. Closing a damaged file can panic inside redb (an
/// assertion in its allocator bitmap, found by fuzzing): that panic is
/// caught and logged here, so dropping the store never takes the process
/// down after its work is done.
struct Db(std::mem::ManuallyDrop<Database>);

impl std::ops::Deref for Db {
    type Target = Database;

    fn deref(&self) -> &Database {
        &self.0
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        // SAFETY: `self.0` is taken exactly once, here, and never used after.
        let db = unsafe { std::mem::ManuallyDrop::take(&mut self.0) };
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(db))).is_err() {
            tracing::error!(
                "state store: closing the database failed inside redb; the file may be damaged"
            );
        }
    }
}

/// The text of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic inside the store".into())
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain structs to JSON cannot fail (no maps with non-string keys).
    serde_json::to_vec(value).unwrap_or_default()
}

fn decode<T: DeserializeOwned>(
    table: &'static str,
    key: &str,
    bytes: &[u8],
) -> Result<T, StateError> {
    serde_json::from_slice(bytes).map_err(|source| StateError::Corrupt {
        table,
        key: key.to_string(),
        source,
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::article::EntryHints;
    use url::Url;

    pub(super) fn job(key: &str) -> ArticleJob {
        ArticleJob {
            key: key.to_string(),
            url: Url::parse(&format!("https://n.example/{key}")).expect("url"),
            source: "s".into(),
            feed_url: Url::parse("https://n.example/feed").expect("url"),
            entry: EntryHints::default(),
            accepted_run: 0,
            failed_attempts: 0,
            retry_at: None,
            legacy_key: None,
            undelivered: None,
        }
    }

    pub(super) fn keys(jobs: &[ArticleJob]) -> Vec<&str> {
        jobs.iter().map(|j| j.key.as_str()).collect()
    }

    pub(super) const ATTEMPT: Setback = Setback::Attempt { retry_after: None };

    pub(super) const RETRY: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        backoff: Duration::ZERO,
    };

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
    async fn a_store_whose_close_panics_inside_redb_is_dropped_without_a_panic() {
        // Found by `scripts/fuzz state`: opening and reading work, closing
        // panics in redb's allocator bitmap.
        let dir = tempfile::tempdir().expect("tempdir");
        let found = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz/state-close-panics.redb"
        );
        std::fs::copy(found, dir.path().join(DB_FILE)).expect("copy");
        if let Ok(state) = State::open(dir.path()) {
            let _ = state.pending_count().await;
            let _ = state.take_due_retries(10).await;
            drop(state);
        }
    }

    #[test]
    fn a_store_whose_set_up_panics_inside_redb_is_refused_as_damaged_without_an_abort() {
        // Found by `scripts/fuzz state`: an assertion fails while the tables
        // are created, and redb's close on the unwind panics again (an
        // abort, before the database was wrapped at once).
        let dir = tempfile::tempdir().expect("tempdir");
        let found = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz/state-set-up-panics.redb"
        );
        std::fs::copy(found, dir.path().join(DB_FILE)).expect("copy");
        let opened = State::open(dir.path());
        assert!(
            matches!(opened, Err(StateError::Damaged { .. })),
            "{:?}",
            opened.err()
        );
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

    #[tokio::test]
    async fn a_second_handle_on_the_same_folder_is_refused_clearly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _first = State::open(dir.path()).expect("open");
        let err = State::open(dir.path()).err().expect("second open fails");
        assert!(err.to_string().contains("in use"), "{err}");
    }

    #[tokio::test]
    async fn learned_blocks_accumulate_per_host_and_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let promo = crate::boilerplate::fingerprint("Become a member");
        {
            let state = State::open(dir.path()).expect("open");
            for story in 0..3u64 {
                let blocks = [promo, story].into_iter().collect();
                state
                    .record_host_blocks("a.example".into(), blocks)
                    .await
                    .expect("record");
            }
            let other = state.host_blocks("b.example".into()).await.expect("read");
            assert!(other.template().is_empty(), "hosts are separate");
        }
        let state = State::open(dir.path()).expect("reopen");
        let learned = state.host_blocks("a.example".into()).await.expect("read");
        assert_eq!(learned.template(), [promo].into_iter().collect());
    }

    #[tokio::test]
    async fn failure_counts_add_up_per_source_and_kind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        for (source, kind) in [
            ("a", "timeout"),
            ("a", "timeout"),
            ("a", "robots"),
            ("a.b", "timeout"),
            ("ab", "x"),
        ] {
            state
                .count_failure(source.into(), kind)
                .await
                .expect("count");
        }
        let counts = state.failure_counts("a".into()).await.expect("read");
        assert_eq!(counts.get("timeout"), Some(&2));
        assert_eq!(counts.get("robots"), Some(&1));
        assert_eq!(counts.len(), 2);
    }

    #[tokio::test]
    async fn outbox_drains_in_acceptance_order_and_survives_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let state = State::open(dir.path()).expect("open");
            for (i, id) in ["c", "a", "b"].into_iter().enumerate() {
                let put = state
                    .outbox_put(id.into(), "s".into(), id.as_bytes().to_vec(), 10)
                    .await
                    .expect("put");
                assert_eq!(
                    put,
                    OutboxPut::Stored {
                        depth: i as u64 + 1
                    }
                );
            }
        }
        let state = State::open(dir.path()).expect("reopen");
        let batch = state.outbox_batch(2).await.expect("batch");
        let ids: Vec<_> = batch.iter().map(|e| e.article_id.as_str()).collect();
        assert_eq!(ids, ["c", "a"], "oldest first, not id order");
        assert_eq!(batch[0].payload, b"c");
        assert_eq!(batch[0].source, "s");
        let left = state
            .outbox_remove(batch.iter().map(|e| e.seq).collect())
            .await
            .expect("remove");
        assert_eq!(left, 1);
        // A new article goes after the ones already queued, even after removals.
        state
            .outbox_put("z".into(), "s".into(), b"z".to_vec(), 10)
            .await
            .expect("put");
        let ids: Vec<_> = state
            .outbox_batch(10)
            .await
            .expect("batch")
            .into_iter()
            .map(|e| e.article_id)
            .collect();
        assert_eq!(ids, ["b", "z"]);
        assert_eq!(state.outbox_len().await.expect("len"), 2);
    }

    #[tokio::test]
    async fn a_full_outbox_refuses_new_articles_but_replaces_queued_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        let put = |id: &'static str, body: &'static [u8]| {
            let state = state.clone();
            async move {
                state
                    .outbox_put(id.into(), "s".into(), body.to_vec(), 2)
                    .await
                    .expect("put")
            }
        };
        assert_eq!(put("a", b"1").await, OutboxPut::Stored { depth: 1 });
        assert_eq!(put("b", b"1").await, OutboxPut::Stored { depth: 2 });
        assert_eq!(put("c", b"1").await, OutboxPut::Full);
        assert_eq!(
            put("a", b"2").await,
            OutboxPut::Stored { depth: 2 },
            "same id: replaced in place"
        );
        let batch = state.outbox_batch(10).await.expect("batch");
        assert_eq!(batch.len(), 2);
        assert_eq!(
            (batch[0].article_id.as_str(), batch[0].payload.as_slice()),
            ("a", &b"2"[..])
        );
        state
            .outbox_remove(vec![batch[0].seq])
            .await
            .expect("remove");
        assert_eq!(
            put("c", b"1").await,
            OutboxPut::Stored { depth: 2 },
            "room again"
        );
        // Removing an unknown or already removed position is harmless.
        assert_eq!(
            state
                .outbox_remove(vec![batch[0].seq, 999])
                .await
                .expect("remove"),
            2
        );
        // A removed id can be queued again (a re-delivered article).
        state
            .outbox_remove(vec![batch[1].seq])
            .await
            .expect("remove");
        assert_eq!(put("a", b"3").await, OutboxPut::Stored { depth: 2 });
    }

    #[tokio::test]
    async fn feed_state_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        assert_eq!(state.feed_state("s".into()).await.expect("get"), None);
        let feed = FeedState {
            etag: Some("\"v1\"".into()),
            ..FeedState::default()
        };
        state
            .put_feed_state("s".into(), feed.clone())
            .await
            .expect("put");
        assert_eq!(state.feed_state("s".into()).await.expect("get"), Some(feed));
    }

    fn story(id: &str, title: &str, words: &str, seen_at: DateTime<Utc>) -> Story {
        let words = crate::dedup::fingerprint::words(words);
        Story {
            id: id.to_string(),
            source: "wire".into(),
            url: format!("https://n.example/{id}"),
            title: title.to_string(),
            seen_at,
            signature: Signature::of_words(&words, 10),
        }
    }

    const BODY: &str = "The harbour council voted on Tuesday evening to approve the long debated \
        redevelopment plan ending months of public consultation and heated argument between \
        residents and developers while officials said the new quay would open to ferries next spring";

    const THRESHOLDS: Thresholds = Thresholds {
        body: 0.6,
        body_with_title: 0.4,
        title: 0.6,
    };

    #[tokio::test]
    async fn stories_are_found_by_body_after_reopen_and_forgotten_after_retention() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = Utc::now();
        let old = now - chrono::Duration::days(8);
        let id_new = "aaaaaaaaaaaaaaaa0000000000000000";
        let id_old = "bbbbbbbbbbbbbbbb0000000000000000";
        let other = "The ferry company announced higher fares for the summer season citing fuel \
            costs and a shortage of crew while passenger groups called the rise unfair to islanders";
        {
            let state = State::open(dir.path()).expect("open");
            // Loaded (empty) first, so the stories below go into a live index.
            assert_eq!(state.story_index_size().expect("size").0, 0);
            let written = |id: &str| Outcome::Written {
                article_id: id.to_string(),
            };
            state
                .complete_with_story(
                    "k1".into(),
                    written(id_new),
                    Some(story(id_new, "Plan approved", BODY, now)),
                )
                .await
                .expect("complete");
            state
                .complete_with_story(
                    "k2".into(),
                    written(id_old),
                    Some(story(id_old, "Fares rise", other, old)),
                )
                .await
                .expect("complete");
            assert_eq!(state.story_index_size().expect("size").0, 2);
        }
        let state = State::open(dir.path()).expect("reopen");
        assert_eq!(
            state.story_index_size().expect("size").0,
            2,
            "index loaded from the store"
        );
        let probe = story("c", "Council approves harbour plan", BODY, now);
        let signature = probe.signature.clone().expect("signature");
        let found = state
            .find_same_story(
                signature.clone(),
                probe.title.clone(),
                "c".into(),
                THRESHOLDS,
            )
            .await
            .expect("lookup")
            .expect("found");
        assert_eq!(found.story.id, id_new);
        assert_eq!(found.story.source, "wire");
        assert_eq!(found.body_similarity, 1.0);
        let itself = state
            .find_same_story(signature, probe.title, id_new.into(), THRESHOLDS)
            .await
            .expect("lookup");
        assert_eq!(itself, None, "an article is never a copy of itself");
        assert_eq!(
            state
                .story(id_old.into())
                .await
                .expect("get")
                .map(|s| s.title),
            Some("Fares rise".to_string())
        );

        let removed = state
            .forget_stories_before(now - chrono::Duration::days(7))
            .await
            .expect("prune");
        assert_eq!(removed, 1);
        assert_eq!(state.story_index_size().expect("size").0, 1);
        assert_eq!(state.story(id_old.into()).await.expect("get"), None);
        let other_sig = story("d", "x", other, now).signature.expect("signature");
        assert_eq!(
            state
                .find_same_story(other_sig, "Fares rise".into(), "d".into(), THRESHOLDS)
                .await
                .expect("lookup"),
            None,
            "a forgotten story is not found"
        );
        assert!(state.story(id_new.into()).await.expect("get").is_some());
    }
}
