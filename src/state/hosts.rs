//! Per-origin politeness records (robots.txt, a `Retry-After` block) and
//! per-host learned template blocks.

use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::{State, StateError, decode, encode, retention};
use crate::boilerplate::HostBlocks;

/// Per-host template blocks (see [`crate::boilerplate`]).
pub(super) const LEARNED: TableDefinition<&str, &[u8]> = TableDefinition::new("learned");

/// Per-origin politeness record, by origin.
pub(super) const HOSTS: TableDefinition<&str, &[u8]> = TableDefinition::new("hosts");

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

impl State {
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
}
#[cfg(test)]
mod tests {
    use super::*;

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
}
