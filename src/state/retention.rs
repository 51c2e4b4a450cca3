//! Retention of the per-origin and per-source tables (`hosts`, `learned`,
//! `feeds`): a row nobody has written for [`IDLE_RETENTION`] is forgotten.
//!
//! Those rows are caches and hints (robots.txt, politeness blocks, learned
//! template, a source's validators and health), written whenever they are
//! used, so a row that is idle for a month belongs to a site no feed links
//! to any more or to a source that left the config. Each write stamps the
//! row in `touched`; the hourly sweep reads only that table.

use std::time::Duration;

use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::feeds::FEEDS;
use super::hosts::HOSTS;
use super::learned::LEARNED;
use super::{State, StateError};
use crate::clock::unix_seconds;

/// `(table, key)` -> when the row was last written (Unix seconds).
pub(super) const TOUCHED: TableDefinition<(&str, &str), u32> = TableDefinition::new("touched");

/// How long a `hosts`, `learned` or `feeds` row is kept without a write.
pub const IDLE_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// The tables under retention, by the name `touched` knows them by.
const RETAINED: [(&str, TableDefinition<&str, &[u8]>); 3] =
    [("hosts", HOSTS), ("learned", LEARNED), ("feeds", FEEDS)];

/// Stamps `table`/`key` as written now, inside the caller's transaction.
pub(super) fn touch(
    txn: &redb::WriteTransaction,
    table: &'static str,
    key: &str,
) -> Result<(), StateError> {
    txn.open_table(TOUCHED)?
        .insert((table, key), unix_seconds(Utc::now()))?;
    Ok(())
}

/// What one sweep of [`State::forget_idle_rows`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Forgotten {
    /// Rows of `hosts`, `learned` and `feeds` removed.
    pub rows: u64,
}

impl State {
    /// Forgets the `hosts`, `learned` and `feeds` rows last written before
    /// `cutoff`. Rows from before `touched` existed are stamped now, so they
    /// get the full retention from the first sweep.
    pub async fn forget_idle_rows(&self, cutoff: DateTime<Utc>) -> Result<Forgotten, StateError> {
        let cutoff = unix_seconds(cutoff);
        self.blocking(move |db| {
            // Read first: usually nothing is idle, and a write would sync for nothing.
            let (idle, unstamped) = {
                let txn = db.begin_read()?;
                let touched = txn.open_table(TOUCHED)?;
                let mut idle = Vec::new();
                for row in touched.iter()? {
                    let (key, at) = row?;
                    if at.value() < cutoff {
                        let (table, key) = key.value();
                        idle.push((table.to_string(), key.to_string()));
                    }
                }
                let mut unstamped = Vec::new();
                for (name, table) in RETAINED {
                    let table = txn.open_table(table)?;
                    for row in table.iter()? {
                        let (key, _) = row?;
                        if touched.get((name, key.value()))?.is_none() {
                            unstamped.push((name, key.value().to_string()));
                        }
                    }
                }
                (idle, unstamped)
            };
            if idle.is_empty() && unstamped.is_empty() {
                return Ok(Forgotten::default());
            }
            let mut txn = db.begin_write()?;
            // Caches and hints only: losing a sweep in a power cut loses nothing.
            let _ = txn.set_durability(redb::Durability::None);
            let mut forgotten = Forgotten::default();
            {
                let mut touched = txn.open_table(TOUCHED)?;
                for (name, key) in &idle {
                    // Written again since the read? Then it stays.
                    let still_idle = touched
                        .get((name.as_str(), key.as_str()))?
                        .is_some_and(|at| at.value() < cutoff);
                    if !still_idle {
                        continue;
                    }
                    touched.remove((name.as_str(), key.as_str()))?;
                    if let Some((_, table)) = RETAINED.iter().find(|(n, _)| n == name) {
                        let mut table = txn.open_table(*table)?;
                        if table.remove(key.as_str())?.is_some() {
                            forgotten.rows = forgotten.rows.saturating_add(1);
                        }
                    }
                }
                let now = unix_seconds(Utc::now());
                for (name, key) in &unstamped {
                    touched.insert((*name, key.as_str()), now)?;
                }
            }
            txn.commit()?;
            Ok(forgotten)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::FeedState;

    #[tokio::test]
    async fn rows_unwritten_past_the_retention_are_forgotten_and_used_ones_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        state
            .put_feed_state("gone".into(), FeedState::default())
            .await
            .expect("feed");
        state
            .update_host_record("http://gone.example".into(), |r| r.blocked_until = None)
            .await
            .expect("host");
        state
            .update_learned("gone.example".into(), |_| vec![1, 2])
            .await
            .expect("learned");

        // Nothing is older than an hour ago.
        let hour_ago = Utc::now() - chrono::Duration::hours(1);
        let kept = state.forget_idle_rows(hour_ago).await.expect("sweep");
        assert_eq!(kept.rows, 0);

        // A cutoff past those writes (stamps are whole seconds), then one
        // source is polled again.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let later = Utc::now();
        state
            .put_feed_state("polled".into(), FeedState::default())
            .await
            .expect("feed");
        let swept = state.forget_idle_rows(later).await.expect("sweep");
        assert_eq!(swept.rows, 3);
        assert!(
            state
                .feed_state("gone".into())
                .await
                .expect("read")
                .is_none()
        );
        assert!(
            state
                .host_record("http://gone.example".into())
                .await
                .expect("read")
                .is_none()
        );
        assert!(
            state
                .learned("gone.example".into())
                .await
                .expect("read")
                .is_none()
        );
        assert!(
            state
                .feed_state("polled".into())
                .await
                .expect("read")
                .is_some(),
            "written after the cutoff"
        );
    }

    #[tokio::test]
    async fn rows_from_before_retention_existed_get_the_full_retention() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        state
            .put_feed_state("old".into(), FeedState::default())
            .await
            .expect("feed");
        {
            // What an earlier version left: the row, no stamp.
            let txn = state.db.begin_write().expect("txn");
            txn.open_table(TOUCHED)
                .expect("table")
                .remove(("feeds", "old"))
                .expect("unstamp");
            txn.commit().expect("commit");
        }
        let future = Utc::now() + chrono::Duration::days(1);
        let first = state.forget_idle_rows(future).await.expect("sweep");
        assert_eq!(first.rows, 0, "stamped, not forgotten");
        assert!(
            state
                .feed_state("old".into())
                .await
                .expect("read")
                .is_some()
        );
        let second = state.forget_idle_rows(future).await.expect("sweep");
        assert_eq!(second.rows, 1);
    }
}
