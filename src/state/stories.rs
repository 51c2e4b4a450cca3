//! Remembered stories, as bytes: what a story is and how it is matched
//! belong to [`crate::dedup::memory`]; the store keeps each record under its
//! key with the time it was written, so it can prune by age.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::{LinkLedger, State, StateError};
use crate::clock::unix_seconds;

/// Written stories by key: the time written (u32 Unix seconds,
/// little-endian), then the record [`crate::dedup::memory`] encodes.
pub(super) const STORIES: TableDefinition<u64, &[u8]> = TableDefinition::new("stories");

/// `(seen-at, story key)` of every story, so pruning reads only what it removes.
pub(super) const STORY_TIMES: TableDefinition<(u32, u64), ()> = TableDefinition::new("story_times");

/// What [`State::scan_stories`] calls with each story: its key, the time
/// it was written and its record.
pub type StoryVisitor = Box<dyn FnMut(u64, u32, &[u8]) + Send>;

/// One remembered story as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryRecord {
    /// Its key (see [`crate::dedup::story_key`]).
    pub key: u64,
    /// When it was written, in Unix seconds.
    pub seen: u32,
    /// The record itself, encoded by the story memory.
    pub body: Vec<u8>,
}

/// The time written and the record of a `stories` value; `None` for a value
/// too short to hold its time.
fn split(value: &[u8]) -> Option<(u32, &[u8])> {
    let seen = u32::from_le_bytes(value.get(..4)?.try_into().ok()?);
    Some((seen, value.get(4..)?))
}

/// Stores `story` in the `stories` and `story_times` tables of the
/// caller's transaction (see [`State::complete_all`]).
pub(super) fn put(
    stories: &mut redb::Table<u64, &[u8]>,
    times: &mut redb::Table<(u32, u64), ()>,
    story: &StoryRecord,
) -> Result<(), StateError> {
    let mut value = Vec::with_capacity(4 + story.body.len());
    value.extend_from_slice(&story.seen.to_le_bytes());
    value.extend_from_slice(&story.body);
    stories.insert(story.key, value.as_slice())?;
    times.insert((story.seen, story.key), ())?;
    Ok(())
}

impl State {
    /// The stored stories under `keys`, in that order; keys with no story
    /// (or an unreadable one) are left out.
    pub async fn story_records(&self, keys: Vec<u64>) -> Result<Vec<StoryRecord>, StateError> {
        self.blocking(move |db| {
            let txn = db.begin_read()?;
            let stories = txn.open_table(STORIES)?;
            let mut records = Vec::with_capacity(keys.len());
            for key in keys {
                let Some(value) = stories.get(key)? else {
                    continue;
                };
                if let Some((seen, body)) = split(value.value()) {
                    records.push(StoryRecord {
                        key,
                        seen,
                        body: body.to_vec(),
                    });
                }
            }
            Ok(records)
        })
        .await
    }

    /// Calls `visit` with the key, time written and record of every stored
    /// story, in key order, on the blocking pool (to load an index without
    /// holding every record in memory at once).
    pub async fn scan_stories(&self, mut visit: StoryVisitor) -> Result<(), StateError> {
        self.blocking(move |db| {
            let txn = db.begin_read()?;
            let stories = txn.open_table(STORIES)?;
            for row in stories.iter()? {
                let (key, value) = row?;
                if let Some((seen, body)) = split(value.value()) {
                    visit(key.value(), seen, body);
                }
            }
            Ok(())
        })
        .await
    }

    /// Forgets the stories written before `cutoff`; returns how many.
    pub async fn forget_stories_before(&self, cutoff: DateTime<Utc>) -> Result<usize, StateError> {
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
                        Some(value) => split(value.value()).is_none_or(|(s, _)| s < cutoff),
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
            Ok(removed)
        })
        .await
    }
}

/// Where the story memory ([`crate::dedup::StoryMemory`]) keeps written
/// stories between runs, as records it encodes. A story is put by finishing
/// its link ([`LinkLedger::complete_all`]), so it is remembered exactly when
/// its link is done. [`State`] is the durable default.
pub trait StoryStore: LinkLedger {
    /// The records under `keys`, in that order; keys with none are left out.
    fn story_records(&self, keys: Vec<u64>) -> BoxFuture<'_, Result<Vec<StoryRecord>, StateError>>;

    /// Calls `visit` with every record (to load the index).
    fn scan_stories(&self, visit: StoryVisitor) -> BoxFuture<'_, Result<(), StateError>>;

    /// Forgets the stories written before `cutoff`; returns how many.
    fn forget_stories_before(
        &self,
        cutoff: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<usize, StateError>>;
}

impl StoryStore for State {
    fn story_records(&self, keys: Vec<u64>) -> BoxFuture<'_, Result<Vec<StoryRecord>, StateError>> {
        Box::pin(State::story_records(self, keys))
    }

    fn scan_stories(&self, visit: StoryVisitor) -> BoxFuture<'_, Result<(), StateError>> {
        Box::pin(State::scan_stories(self, visit))
    }

    fn forget_stories_before(
        &self,
        cutoff: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<usize, StateError>> {
        Box::pin(State::forget_stories_before(self, cutoff))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Outcome;

    fn record(key: u64, seen: u32, body: &[u8]) -> StoryRecord {
        StoryRecord {
            key,
            seen,
            body: body.to_vec(),
        }
    }

    async fn remember(state: &State, link: &str, story: StoryRecord) {
        let written = Outcome::Written {
            article_id: link.to_string(),
        };
        state
            .complete_all(vec![(link.to_string(), written, Some(story))])
            .await
            .expect("complete");
    }

    #[tokio::test]
    async fn records_come_back_in_the_order_asked_and_old_ones_are_pruned_unless_rewritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        let now = unix_seconds(Utc::now());
        let old = now - 8 * 24 * 3600;
        remember(&state, "a", record(1, old, b"first")).await;
        remember(&state, "b", record(2, now, b"second")).await;
        // Key 3 written long ago, then again now (a story redone after a crash).
        remember(&state, "c", record(3, old, b"stale")).await;
        remember(&state, "c", record(3, now, b"redone")).await;
        let records = state.story_records(vec![3, 9, 1]).await.expect("read");
        assert_eq!(
            records,
            [record(3, now, b"redone"), record(1, old, b"first")]
        );

        let cutoff = Utc::now() - chrono::Duration::days(7);
        let removed = state.forget_stories_before(cutoff).await.expect("prune");
        assert_eq!(removed, 1, "only the record still old");
        let mut left = Vec::new();
        let (tx, rx) = std::sync::mpsc::channel();
        state
            .scan_stories(Box::new(move |key, _, body| {
                let _ = tx.send((key, body.to_vec()));
            }))
            .await
            .expect("scan");
        left.extend(rx.try_iter());
        assert_eq!(left, [(2, b"second".to_vec()), (3, b"redone".to_vec())]);
    }
}
