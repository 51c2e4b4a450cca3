//! Per-origin politeness records: robots.txt and a `Retry-After` block.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use redb::{ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::{State, StateError, decode, encode, retention};

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
}

/// A change to an origin's politeness record (see [`HostRecords`]).
pub type HostChange = Box<dyn FnOnce(&mut HostRecord) + Send>;

/// What is remembered of each origin across restarts so the fetcher stays
/// polite: its robots.txt answer and any `Retry-After` block. A cache: a
/// lost record is fetched again. [`State`] is the default.
pub trait HostRecords: Send + Sync {
    /// The record of `origin`, if any.
    fn host_record(&self, origin: String) -> BoxFuture<'_, Result<Option<HostRecord>, StateError>>;

    /// Applies `change` to the record of `origin` in one step, so changes
    /// made at once (a block and a robots.txt answer) both survive.
    fn update_host_record(
        &self,
        origin: String,
        change: HostChange,
    ) -> BoxFuture<'_, Result<(), StateError>>;
}

impl HostRecords for State {
    fn host_record(&self, origin: String) -> BoxFuture<'_, Result<Option<HostRecord>, StateError>> {
        Box::pin(State::host_record(self, origin))
    }

    fn update_host_record(
        &self,
        origin: String,
        change: HostChange,
    ) -> BoxFuture<'_, Result<(), StateError>> {
        Box::pin(State::update_host_record(self, origin, change))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_politeness_record_keeps_every_change_and_an_unreadable_one_starts_afresh() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        let origin = "https://a.example".to_string();
        assert_eq!(state.host_record(origin.clone()).await.expect("read"), None);
        let until = Utc::now();
        state
            .update_host_record(origin.clone(), move |r| r.blocked_until = Some(until))
            .await
            .expect("block");
        let robots = RobotsRecord {
            status: 200,
            body: "User-agent: *".into(),
            fetched_at: until,
        };
        let stored = robots.clone();
        state
            .update_host_record(origin.clone(), move |r| r.robots = Some(stored))
            .await
            .expect("robots");
        let record = state.host_record(origin.clone()).await.expect("read");
        assert_eq!(
            record,
            Some(HostRecord {
                robots: Some(robots),
                blocked_until: Some(until),
            })
        );
        {
            let txn = state.db.begin_write().expect("txn");
            txn.open_table(HOSTS)
                .expect("table")
                .insert(origin.as_str(), b"{not json".as_slice())
                .expect("insert");
            txn.commit().expect("commit");
        }
        state
            .update_host_record(origin.clone(), move |r| r.blocked_until = Some(until))
            .await
            .expect("a lost cache entry is no error");
        let record = state.host_record(origin).await.expect("read");
        assert_eq!(record.and_then(|r| r.robots), None);
    }
}
