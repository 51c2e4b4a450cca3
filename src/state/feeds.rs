//! Per-source poll state (HTTP validators, last success, last error) and
//! per-source article failure counts.

use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::{State, StateError, encode, retention};

/// Per-source poll state, by source name.
pub(super) const FEEDS: TableDefinition<&str, &[u8]> = TableDefinition::new("feeds");

/// Article failures per `source/kind`.
pub(super) const FAILURES: TableDefinition<&str, u64> = TableDefinition::new("failures");

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

impl State {
    /// The remembered poll state of a source.
    pub async fn feed_state(&self, source: String) -> Result<Option<FeedState>, StateError> {
        self.get(FEEDS, "feeds", source).await
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
}
#[cfg(test)]
mod tests {
    use super::*;

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
}
