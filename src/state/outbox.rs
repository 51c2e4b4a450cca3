//! The outbox: articles accepted for a broker sink and not yet acknowledged
//! by it, keyed by a sequence number so they drain in acceptance order.

use futures::future::BoxFuture;
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::{META, QUARANTINE, State, StateError};

/// Outbox position -> (article id, source, message body).
pub(super) const OUTBOX: TableDefinition<u64, (&str, &str, &[u8])> = TableDefinition::new("outbox");

/// Article id -> its outbox position, so a second put of one article replaces the first.
pub(super) const OUTBOX_IDS: TableDefinition<&str, u64> = TableDefinition::new("outbox_ids");

/// Key in `meta` of the next outbox position.
pub(super) const OUTBOX_NEXT: &str = "outbox_next";

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

impl State {
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
}
/// Where articles accepted for a broker wait for its acknowledgement, in
/// acceptance order, each article at most once. [`State`] is the durable default.
pub trait Outbox: Send + Sync {
    /// Puts an article in (durably) unless `capacity` articles already wait;
    /// an article already in keeps its place and gets the new `payload`.
    fn put(
        &self,
        article_id: String,
        source: String,
        payload: Vec<u8>,
        capacity: u64,
    ) -> BoxFuture<'_, Result<OutboxPut, StateError>>;

    /// The first `limit` entries, oldest first.
    fn batch(&self, limit: usize) -> BoxFuture<'_, Result<Vec<OutboxEntry>, StateError>>;

    /// Removes acknowledged entries; returns how many articles are left.
    fn remove(&self, seqs: Vec<u64>) -> BoxFuture<'_, Result<u64, StateError>>;

    /// Sets aside an entry the broker can never take, for inspection.
    fn reject(&self, seq: u64) -> BoxFuture<'_, Result<(), StateError>>;

    /// How many articles wait.
    fn depth(&self) -> BoxFuture<'_, Result<u64, StateError>>;
}

impl Outbox for State {
    fn put(
        &self,
        article_id: String,
        source: String,
        payload: Vec<u8>,
        capacity: u64,
    ) -> BoxFuture<'_, Result<OutboxPut, StateError>> {
        Box::pin(self.outbox_put(article_id, source, payload, capacity))
    }

    fn batch(&self, limit: usize) -> BoxFuture<'_, Result<Vec<OutboxEntry>, StateError>> {
        Box::pin(self.outbox_batch(limit))
    }

    fn remove(&self, seqs: Vec<u64>) -> BoxFuture<'_, Result<u64, StateError>> {
        Box::pin(self.outbox_remove(seqs))
    }

    fn reject(&self, seq: u64) -> BoxFuture<'_, Result<(), StateError>> {
        Box::pin(self.outbox_reject(seq))
    }

    fn depth(&self) -> BoxFuture<'_, Result<u64, StateError>> {
        Box::pin(self.outbox_len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
