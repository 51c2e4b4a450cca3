//! Persistent state: what has been seen, what is still to do, and feed validators.
//!
//! Everything lives in one embedded [redb] database (`<state.dir>/thresher.redb`):
//! ACID transactions with fsync on commit, so a crash leaves either the old or
//! the new state, never half of one. The rest of the daemon sees only the small
//! async API of [`State`]; each call runs on the blocking pool because commits
//! wait for the disk.
//!
//! Where another implementation is coming (a JetStream-backed store shared
//! by several replicas), the daemon can hold a small trait instead of
//! [`State`]: [`LinkLedger`] (accept, claim, retry, complete), [`Outbox`],
//! [`HostRecords`] (per-origin politeness) and [`StoryStore`] (the story
//! memory's records). They store and fetch; the policies stay with their
//! callers. [`State`] implements all four.
//!
//! Tables (keys are article ids or source names, values JSON so records can
//! grow), one file per family:
//! - `links`: `links`, the final outcome per link id (written, duplicate,
//!   rejected, failed), and `pending`, the accepted links not yet finished;
//!   `retries` adds `retry_due` (the pending links waiting for a retry, by due
//!   time) and `listings` the sources that listed a link another source's
//!   feed listed first, so each is counted as a duplicate once;
//! - `stories`: `stories`, each written article's source, URL, headline and
//!   body signature, kept for `[dedup] retention` to recognise later copies,
//!   and `story_times`, the same stories by time written, for pruning;
//! - `outbox`: `sink_outbox`, articles accepted for a broker sink and not
//!   yet acknowledged by it, keyed by the sink's name and a sequence number
//!   so each sink drains its own in acceptance order, `sink_outbox_ids`,
//!   (sink, article id) to that number, and `sink_outbox_depths`, each
//!   sink's count (an `outbox` table of an older release is moved there, as
//!   the NATS sink's, when the store opens);
//! - `hosts`: `hosts`, the per-origin politeness record (robots.txt, a
//!   `Retry-After` block);
//! - `learned`: `learned`, per-host template blocks (see [`crate::boilerplate`]);
//! - `feeds`: `feeds`, per-source poll state (HTTP validators, last success,
//!   last error), and `failures`, article failures per source and kind;
//! - `retention`: `touched`, when each `hosts`, `learned` and `feeds` row was
//!   last written, for their retention;
//! - here: `quarantine`, records that could not be decoded (and outbox
//!   entries a broker can never take), kept for inspection, and `meta`, the
//!   run counter (see [`State::run`]) and the next outbox position.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

mod error;
mod feeds;
mod health;
mod hosts;
mod learned;
mod links;
mod listings;
mod outbox;
mod retention;
mod retries;
mod stories;

pub use self::error::StateError;
pub use self::feeds::FeedState;
pub use self::health::Health;
pub use self::hosts::{HostChange, HostRecord, HostRecords, RobotsRecord};
pub use self::links::{
    Accepted, FAILED_LINK_RETRY, LinkLedger, LinkRecord, Outcome, PendingSummary,
};
pub use self::outbox::{Outbox, OutboxEntry, OutboxPut, UNKEYED_OUTBOX_SINK};
pub use self::retention::{Forgotten, IDLE_RETENTION};
pub use self::retries::{MAX_RETRY_DELAY, Retry, RetryPolicy, Setback};
pub use self::stories::{StoryRecord, StoryStore, StoryVisitor};

/// Pending records that could not be decoded, and outbox entries a broker
/// can never take, kept for inspection.
const QUARANTINE: TableDefinition<&str, &[u8]> = TableDefinition::new("quarantine");

/// Counters: the run number and the next outbox position.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Default ceiling of redb's page cache. redb's own default is 1 GiB, which a
/// store with millions of links would slowly fill; the B-tree's interior pages,
/// which every lookup touches, fit in far less (the daemon bench with 1 million
/// remembered stories runs as fast with 16 MiB as with 32).
pub const DEFAULT_CACHE_BYTES: usize = 16 << 20;

/// File name of the database inside `state.dir`.
pub const DB_FILE: &str = "thresher.redb";

/// Handle to the state store; cheap to clone, safe to share between tasks.
#[derive(Clone)]
pub struct State {
    db: Arc<Db>,
    run: u64,
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
        for table in [
            links::LINKS,
            links::PENDING,
            feeds::FEEDS,
            QUARANTINE,
            learned::LEARNED,
            hosts::HOSTS,
        ] {
            txn.open_table(table)?;
        }
        txn.open_table(feeds::FAILURES)?;
        txn.open_table(stories::STORIES)?;
        txn.open_table(stories::STORY_TIMES)?;
        outbox::create_tables(&txn)?;
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
    use std::time::Duration;

    use super::*;
    use crate::article::ArticleJob;
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
    async fn a_second_handle_on_the_same_folder_is_refused_clearly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _first = State::open(dir.path()).expect("open");
        let err = State::open(dir.path()).err().expect("second open fails");
        assert!(err.to_string().contains("in use"), "{err}");
    }
}
