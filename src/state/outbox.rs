//! The outbox: articles accepted for a broker sink and not yet acknowledged
//! by it, keyed by the sink's name and a sequence number. Any number of
//! queue sinks share it: each puts, drains and removes only its own
//! entries, in acceptance order.

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, TableHandle, WriteTransaction};

use super::{META, QUARANTINE, State, StateError};

/// (sink, outbox position) -> (article id, source, message body).
pub(super) const OUTBOX: TableDefinition<(&str, u64), (&str, &str, &[u8])> =
    TableDefinition::new("sink_outbox");

/// (sink, article id) -> its outbox position, so a second put of one article
/// for one sink replaces the first.
pub(super) const OUTBOX_IDS: TableDefinition<(&str, &str), u64> =
    TableDefinition::new("sink_outbox_ids");

/// Sink -> how many entries it has in the outbox (kept with every change,
/// so a put checks the capacity without counting).
pub(super) const OUTBOX_DEPTHS: TableDefinition<&str, u64> =
    TableDefinition::new("sink_outbox_depths");

/// Key in `meta` of the next outbox position (one counter for every sink:
/// positions only order entries, they need not be dense).
pub(super) const OUTBOX_NEXT: &str = "outbox_next";

/// The outbox as releases before the sink key wrote it (NATS was the only
/// queue sink): position -> (article id, source, body).
const UNKEYED_OUTBOX: TableDefinition<u64, (&str, &str, &[u8])> = TableDefinition::new("outbox");

/// Its index: article id -> position.
const UNKEYED_OUTBOX_IDS: TableDefinition<&str, u64> = TableDefinition::new("outbox_ids");

/// The sink every entry of the unkeyed outbox belonged to: NATS was the
/// only queue sink then, and this is its name (`sink::nats` checks).
pub const UNKEYED_OUTBOX_SINK: &str = "nats";

/// An article waiting in the outbox for a broker's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Position in the outbox; a sink's entries drain in this order (acceptance order).
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
    /// Stored (durably); the sink now has `depth` articles in the outbox.
    Stored {
        /// The sink's articles in the outbox after the put.
        depth: u64,
    },
    /// The sink's part of the outbox is at its capacity; nothing was stored.
    Full,
}

/// Creates the outbox tables, and moves the entries of an unkeyed outbox
/// (a store written before the outbox had a sink key) to
/// [`UNKEYED_OUTBOX_SINK`], in the caller's transaction: either the whole
/// outbox moves or, if that transaction does not commit, none of it.
pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), StateError> {
    let mut outbox = txn.open_table(OUTBOX)?;
    let mut ids = txn.open_table(OUTBOX_IDS)?;
    let mut depths = txn.open_table(OUTBOX_DEPTHS)?;
    let unkeyed = txn
        .list_tables()?
        .any(|table| table.name() == UNKEYED_OUTBOX.name());
    if unkeyed {
        let old = txn.open_table(UNKEYED_OUTBOX)?;
        let sink = UNKEYED_OUTBOX_SINK;
        let mut depth = depths.get(sink)?.map_or(0, |v| v.value());
        for row in old.iter()? {
            let (seq, value) = row?;
            let (seq, (article_id, source, payload)) = (seq.value(), value.value());
            if outbox
                .insert((sink, seq), (article_id, source, payload))?
                .is_none()
            {
                depth = depth.saturating_add(1);
            }
            ids.insert((sink, article_id), seq)?;
        }
        if depth > 0 {
            depths.insert(sink, depth)?;
        }
        drop(old);
        txn.delete_table(UNKEYED_OUTBOX)?;
    }
    // Its index goes with it (the entries above carry the same ids).
    if txn
        .list_tables()?
        .any(|table| table.name() == UNKEYED_OUTBOX_IDS.name())
    {
        txn.delete_table(UNKEYED_OUTBOX_IDS)?;
    }
    Ok(())
}

/// The row range of `sink`'s entries.
fn rows_of(sink: &str) -> std::ops::RangeInclusive<(&str, u64)> {
    (sink, 0)..=(sink, u64::MAX)
}

/// Takes `seq` out of `sink`'s entries, with its index row; returns the
/// removed entry's article id and body, `None` when there was none.
fn take(
    txn: &WriteTransaction,
    sink: &str,
    seq: u64,
) -> Result<Option<(String, Vec<u8>)>, StateError> {
    let mut outbox = txn.open_table(OUTBOX)?;
    let removed = outbox.remove((sink, seq))?;
    let Some(removed) = removed else {
        return Ok(None);
    };
    let (article_id, _, payload) = removed.value();
    let (article_id, payload) = (article_id.to_string(), payload.to_vec());
    drop(removed);
    let mut ids = txn.open_table(OUTBOX_IDS)?;
    // The id may have been queued again under another position.
    if ids
        .get((sink, article_id.as_str()))?
        .is_some_and(|v| v.value() == seq)
    {
        ids.remove((sink, article_id.as_str()))?;
    }
    Ok(Some((article_id, payload)))
}

/// Lowers `sink`'s depth by `removed`; returns the new depth.
fn lower_depth(txn: &WriteTransaction, sink: &str, removed: u64) -> Result<u64, StateError> {
    let mut depths = txn.open_table(OUTBOX_DEPTHS)?;
    let depth = depths
        .get(sink)?
        .map_or(0, |v| v.value())
        .saturating_sub(removed);
    if depth == 0 {
        depths.remove(sink)?;
    } else if removed > 0 {
        depths.insert(sink, depth)?;
    }
    Ok(depth)
}

impl State {
    /// Puts an article into `sink`'s part of the outbox, committed with
    /// fsync before this returns, unless that part already holds `capacity`
    /// articles. An article id already queued for the sink keeps its place
    /// and gets the new body; other sinks' entries are never touched.
    pub async fn outbox_put(
        &self,
        sink: &str,
        article_id: String,
        source: String,
        payload: Vec<u8>,
        capacity: u64,
    ) -> Result<OutboxPut, StateError> {
        let sink = sink.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            let depth = {
                let mut outbox = txn.open_table(OUTBOX)?;
                let mut ids = txn.open_table(OUTBOX_IDS)?;
                let mut depths = txn.open_table(OUTBOX_DEPTHS)?;
                let key = (sink.as_str(), article_id.as_str());
                let depth = depths.get(sink.as_str())?.map_or(0, |v| v.value());
                let queued = ids.get(key)?.map(|seq| seq.value());
                let seq = match queued {
                    Some(seq) => seq,
                    None => {
                        if depth >= capacity {
                            return Ok(OutboxPut::Full);
                        }
                        let mut meta = txn.open_table(META)?;
                        let seq = meta.get(OUTBOX_NEXT)?.map_or(0, |v| v.value());
                        meta.insert(OUTBOX_NEXT, seq.saturating_add(1))?;
                        ids.insert(key, seq)?;
                        seq
                    }
                };
                let replaced = outbox
                    .insert(
                        (sink.as_str(), seq),
                        (article_id.as_str(), source.as_str(), payload.as_slice()),
                    )?
                    .is_some();
                if replaced {
                    depth
                } else {
                    let depth = depth.saturating_add(1);
                    depths.insert(sink.as_str(), depth)?;
                    depth
                }
            };
            txn.commit()?;
            Ok(OutboxPut::Stored { depth })
        })
        .await
    }

    /// The first `limit` entries of `sink`, oldest first.
    pub async fn outbox_batch(
        &self,
        sink: &str,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StateError> {
        let sink = sink.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read()?;
            let outbox = txn.open_table(OUTBOX)?;
            let mut entries = Vec::new();
            for row in outbox.range(rows_of(&sink))?.take(limit) {
                let (key, value) = row?;
                let (article_id, source, payload) = value.value();
                entries.push(OutboxEntry {
                    seq: key.value().1,
                    article_id: article_id.to_string(),
                    source: source.to_string(),
                    payload: payload.to_vec(),
                });
            }
            Ok(entries)
        })
        .await
    }

    /// Removes `sink`'s acknowledged entries (by position), in one durable
    /// transaction; returns how many articles the sink has left.
    pub async fn outbox_remove(&self, sink: &str, seqs: Vec<u64>) -> Result<u64, StateError> {
        let sink = sink.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            let mut removed = 0u64;
            for seq in seqs {
                if take(&txn, &sink, seq)?.is_some() {
                    removed = removed.saturating_add(1);
                }
            }
            let depth = lower_depth(&txn, &sink, removed)?;
            txn.commit()?;
            Ok(depth)
        })
        .await
    }

    /// Moves an entry of `sink` the broker can never take (too large for
    /// it) to the `quarantine` table, under `outbox/<sink>/<article id>`,
    /// for inspection.
    pub async fn outbox_reject(&self, sink: &str, seq: u64) -> Result<(), StateError> {
        let sink = sink.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            if let Some((article_id, payload)) = take(&txn, &sink, seq)? {
                txn.open_table(QUARANTINE)?.insert(
                    format!("outbox/{sink}/{article_id}").as_str(),
                    payload.as_slice(),
                )?;
                lower_depth(&txn, &sink, 1)?;
            }
            txn.commit()?;
            Ok(())
        })
        .await
    }

    /// Number of articles `sink` has in the outbox.
    pub async fn outbox_depth(&self, sink: &str) -> Result<u64, StateError> {
        let sink = sink.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read()?;
            let depths = txn.open_table(OUTBOX_DEPTHS)?;
            Ok(depths.get(sink.as_str())?.map_or(0, |v| v.value()))
        })
        .await
    }

    /// Articles in the outbox per sink, for every sink that has any.
    pub async fn outbox_depths(&self) -> Result<BTreeMap<String, u64>, StateError> {
        self.blocking(move |db| {
            let txn = db.begin_read()?;
            let depths = txn.open_table(OUTBOX_DEPTHS)?;
            let mut all = BTreeMap::new();
            for row in depths.iter()? {
                let (sink, depth) = row?;
                if depth.value() > 0 {
                    all.insert(sink.value().to_string(), depth.value());
                }
            }
            Ok(all)
        })
        .await
    }

    /// Number of articles in the outbox, every sink's together.
    pub async fn outbox_len(&self) -> Result<u64, StateError> {
        let depths = self.outbox_depths().await?;
        Ok(depths.values().fold(0u64, |sum, n| sum.saturating_add(*n)))
    }
}

/// Where articles accepted for a broker wait for its acknowledgement: per
/// sink, in acceptance order, each article at most once per sink. One
/// outbox serves every queue sink; a sink only sees its own entries.
/// [`State`] is the durable default.
pub trait Outbox: Send + Sync {
    /// Puts an article in for `sink` (durably) unless `capacity` articles
    /// already wait for it; an article already queued for `sink` keeps its
    /// place and gets the new `payload`.
    fn put<'a>(
        &'a self,
        sink: &'a str,
        article_id: String,
        source: String,
        payload: Vec<u8>,
        capacity: u64,
    ) -> BoxFuture<'a, Result<OutboxPut, StateError>>;

    /// The first `limit` entries of `sink`, oldest first.
    fn batch<'a>(
        &'a self,
        sink: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<OutboxEntry>, StateError>>;

    /// Removes `sink`'s acknowledged entries; returns how many it has left.
    fn remove<'a>(
        &'a self,
        sink: &'a str,
        seqs: Vec<u64>,
    ) -> BoxFuture<'a, Result<u64, StateError>>;

    /// Sets aside an entry of `sink` the broker can never take, for inspection.
    fn reject<'a>(&'a self, sink: &'a str, seq: u64) -> BoxFuture<'a, Result<(), StateError>>;

    /// How many articles wait for `sink`.
    fn depth<'a>(&'a self, sink: &'a str) -> BoxFuture<'a, Result<u64, StateError>>;

    /// How many articles wait, per sink that has any.
    fn depths(&self) -> BoxFuture<'_, Result<BTreeMap<String, u64>, StateError>>;
}

impl Outbox for State {
    fn put<'a>(
        &'a self,
        sink: &'a str,
        article_id: String,
        source: String,
        payload: Vec<u8>,
        capacity: u64,
    ) -> BoxFuture<'a, Result<OutboxPut, StateError>> {
        Box::pin(self.outbox_put(sink, article_id, source, payload, capacity))
    }

    fn batch<'a>(
        &'a self,
        sink: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<OutboxEntry>, StateError>> {
        Box::pin(self.outbox_batch(sink, limit))
    }

    fn remove<'a>(
        &'a self,
        sink: &'a str,
        seqs: Vec<u64>,
    ) -> BoxFuture<'a, Result<u64, StateError>> {
        Box::pin(self.outbox_remove(sink, seqs))
    }

    fn reject<'a>(&'a self, sink: &'a str, seq: u64) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(self.outbox_reject(sink, seq))
    }

    fn depth<'a>(&'a self, sink: &'a str) -> BoxFuture<'a, Result<u64, StateError>> {
        Box::pin(self.outbox_depth(sink))
    }

    fn depths(&self) -> BoxFuture<'_, Result<BTreeMap<String, u64>, StateError>> {
        Box::pin(self.outbox_depths())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::DB_FILE;

    /// Ids of `sink`'s entries, oldest first.
    async fn ids_of(state: &State, sink: &str) -> Vec<String> {
        state
            .outbox_batch(sink, 100)
            .await
            .expect("batch")
            .into_iter()
            .map(|e| e.article_id)
            .collect()
    }

    #[tokio::test]
    async fn outbox_drains_in_acceptance_order_and_survives_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let state = State::open(dir.path()).expect("open");
            for (i, id) in ["c", "a", "b"].into_iter().enumerate() {
                let put = state
                    .outbox_put("q", id.into(), "s".into(), id.as_bytes().to_vec(), 10)
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
        let batch = state.outbox_batch("q", 2).await.expect("batch");
        let ids: Vec<_> = batch.iter().map(|e| e.article_id.as_str()).collect();
        assert_eq!(ids, ["c", "a"], "oldest first, not id order");
        assert_eq!(batch[0].payload, b"c");
        assert_eq!(batch[0].source, "s");
        let left = state
            .outbox_remove("q", batch.iter().map(|e| e.seq).collect())
            .await
            .expect("remove");
        assert_eq!(left, 1);
        // A new article goes after the ones already queued, even after removals.
        state
            .outbox_put("q", "z".into(), "s".into(), b"z".to_vec(), 10)
            .await
            .expect("put");
        assert_eq!(ids_of(&state, "q").await, ["b", "z"]);
        assert_eq!(state.outbox_len().await.expect("len"), 2);
        assert_eq!(state.outbox_depth("q").await.expect("depth"), 2);
    }

    #[tokio::test]
    async fn a_full_outbox_refuses_new_articles_but_replaces_queued_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        let put = |id: &'static str, body: &'static [u8]| {
            let state = state.clone();
            async move {
                state
                    .outbox_put("q", id.into(), "s".into(), body.to_vec(), 2)
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
        let batch = state.outbox_batch("q", 10).await.expect("batch");
        assert_eq!(batch.len(), 2);
        assert_eq!(
            (batch[0].article_id.as_str(), batch[0].payload.as_slice()),
            ("a", &b"2"[..])
        );
        state
            .outbox_remove("q", vec![batch[0].seq])
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
                .outbox_remove("q", vec![batch[0].seq, 999])
                .await
                .expect("remove"),
            2
        );
        // A removed id can be queued again (a re-delivered article).
        state
            .outbox_remove("q", vec![batch[1].seq])
            .await
            .expect("remove");
        assert_eq!(put("a", b"3").await, OutboxPut::Stored { depth: 2 });
    }

    #[tokio::test]
    async fn two_queue_sinks_share_the_outbox_without_touching_each_others_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        let put = |sink: &'static str, id: &'static str, body: &'static [u8]| {
            let state = state.clone();
            async move {
                state
                    .outbox_put(sink, id.into(), "s".into(), body.to_vec(), 2)
                    .await
                    .expect("put")
            }
        };
        // The same article for both: two entries, one each.
        assert_eq!(
            put("nats", "a", b"n1").await,
            OutboxPut::Stored { depth: 1 }
        );
        assert_eq!(
            put("redis", "a", b"r1").await,
            OutboxPut::Stored { depth: 1 }
        );
        assert_eq!(
            put("nats", "b", b"n1").await,
            OutboxPut::Stored { depth: 2 }
        );
        // A full sink does not fill the other's part.
        assert_eq!(put("nats", "c", b"n1").await, OutboxPut::Full);
        assert_eq!(
            put("redis", "c", b"r1").await,
            OutboxPut::Stored { depth: 2 }
        );
        // Replacing one sink's copy leaves the other's body alone.
        assert_eq!(
            put("nats", "a", b"n2").await,
            OutboxPut::Stored { depth: 2 }
        );
        let nats = state.outbox_batch("nats", 10).await.expect("batch");
        let redis = state.outbox_batch("redis", 10).await.expect("batch");
        let bodies = |batch: &[OutboxEntry]| {
            batch
                .iter()
                .map(|e| (e.article_id.clone(), e.payload.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            bodies(&nats),
            [
                ("a".to_string(), b"n2".to_vec()),
                ("b".into(), b"n1".to_vec())
            ]
        );
        assert_eq!(
            bodies(&redis),
            [
                ("a".to_string(), b"r1".to_vec()),
                ("c".into(), b"r1".to_vec())
            ]
        );
        // One sink removing (or rejecting) by position never takes the
        // other's entries, even when it names their positions.
        let redis_seqs: Vec<u64> = redis.iter().map(|e| e.seq).collect();
        assert_eq!(
            state
                .outbox_remove("nats", redis_seqs.clone())
                .await
                .expect("remove"),
            2
        );
        state
            .outbox_reject("nats", redis_seqs[0])
            .await
            .expect("reject");
        assert_eq!(ids_of(&state, "redis").await, ["a", "c"]);
        assert_eq!(
            state
                .outbox_remove("nats", vec![nats[0].seq])
                .await
                .expect("remove"),
            1
        );
        assert_eq!(ids_of(&state, "nats").await, ["b"]);
        assert_eq!(ids_of(&state, "redis").await, ["a", "c"]);
        // A removed article queued again for one sink is not confused with
        // the other's copy still waiting.
        assert_eq!(
            put("nats", "a", b"n3").await,
            OutboxPut::Stored { depth: 2 }
        );
        state
            .outbox_reject("redis", redis[0].seq)
            .await
            .expect("reject");
        assert_eq!(ids_of(&state, "nats").await, ["b", "a"]);
        assert_eq!(ids_of(&state, "redis").await, ["c"]);
        assert_eq!(
            state.outbox_depths().await.expect("depths"),
            BTreeMap::from([("nats".to_string(), 2), ("redis".to_string(), 1)])
        );
        assert_eq!(state.outbox_len().await.expect("len"), 3);
        drop(state);
        let state = State::open(dir.path()).expect("reopen");
        assert_eq!(ids_of(&state, "nats").await, ["b", "a"]);
        assert_eq!(ids_of(&state, "redis").await, ["c"]);
        assert_eq!(state.outbox_depth("redis").await.expect("depth"), 1);
    }

    #[tokio::test]
    async fn a_rejected_entry_is_quarantined_under_its_sink() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        state
            .outbox_put("nats", "big".into(), "s".into(), b"huge".to_vec(), 5)
            .await
            .expect("put");
        let seq = state.outbox_batch("nats", 1).await.expect("batch")[0].seq;
        state.outbox_reject("nats", seq).await.expect("reject");
        assert_eq!(state.outbox_depth("nats").await.expect("depth"), 0);
        assert!(state.outbox_depths().await.expect("depths").is_empty());
        let quarantined = state
            .blocking(|db| {
                let txn = db.begin_read()?;
                let table = txn.open_table(QUARANTINE)?;
                Ok(table.get("outbox/nats/big")?.map(|v| v.value().to_vec()))
            })
            .await
            .expect("read");
        assert_eq!(quarantined.as_deref(), Some(&b"huge"[..]));
    }

    /// Writes a store as the release before the sink key left it: tables
    /// `outbox` and `outbox_ids`, positions from `meta`'s `outbox_next`.
    fn write_unkeyed_store(dir: &std::path::Path, entries: &[(u64, &str, &str, &[u8])]) {
        let db = redb::Database::create(dir.join(DB_FILE)).expect("create");
        let txn = db.begin_write().expect("write");
        {
            let mut outbox = txn.open_table(UNKEYED_OUTBOX).expect("outbox");
            let mut ids = txn.open_table(UNKEYED_OUTBOX_IDS).expect("ids");
            for (seq, id, source, payload) in entries {
                outbox
                    .insert(*seq, (*id, *source, *payload))
                    .expect("insert");
                ids.insert(*id, *seq).expect("insert");
            }
            let next = entries.iter().map(|e| e.0 + 1).max().unwrap_or(0);
            let mut meta = txn.open_table(META).expect("meta");
            meta.insert(OUTBOX_NEXT, next).expect("insert");
            meta.insert("runs", 4).expect("insert");
        }
        txn.commit().expect("commit");
    }

    #[tokio::test]
    async fn an_outbox_written_before_the_sink_key_drains_as_the_nats_sinks() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_unkeyed_store(
            dir.path(),
            &[
                (7, "late", "s2", b"L"),
                (3, "first", "s1", b"F"),
                (5, "mid", "s1", b"M"),
            ],
        );
        let state = State::open(dir.path()).expect("open the old store");
        assert_eq!(state.run(), 5, "the rest of the store is as it was");
        let batch = state
            .outbox_batch(UNKEYED_OUTBOX_SINK, 10)
            .await
            .expect("batch");
        let got: Vec<_> = batch
            .iter()
            .map(|e| {
                (
                    e.seq,
                    e.article_id.as_str(),
                    e.source.as_str(),
                    e.payload.as_slice(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (3, "first", "s1", &b"F"[..]),
                (5, "mid", "s1", &b"M"[..]),
                (7, "late", "s2", &b"L"[..])
            ],
            "every entry, in acceptance order, under the NATS sink"
        );
        assert_eq!(state.outbox_depth("nats").await.expect("depth"), 3);
        let old_tables_left = state
            .blocking(|db| {
                let txn = db.begin_read()?;
                let names: Vec<String> = txn
                    .list_tables()?
                    .map(|t| t.name().to_string())
                    .filter(|n| n == "outbox" || n == "outbox_ids")
                    .collect();
                Ok(names)
            })
            .await
            .expect("list");
        assert!(old_tables_left.is_empty(), "{old_tables_left:?}");
        // The index came along: the same article is replaced, not added.
        assert_eq!(
            state
                .outbox_put("nats", "mid".into(), "s1".into(), b"M2".to_vec(), 10)
                .await
                .expect("put"),
            OutboxPut::Stored { depth: 3 }
        );
        // New articles go after the old ones.
        state
            .outbox_put("nats", "new".into(), "s1".into(), b"N".to_vec(), 10)
            .await
            .expect("put");
        assert_eq!(
            ids_of(&state, "nats").await,
            ["first", "mid", "late", "new"]
        );
        assert_eq!(
            state.outbox_batch("nats", 10).await.expect("batch")[3].seq,
            8
        );
        // Drained, it stays drained across a reopen (the move is done once).
        let seqs = state
            .outbox_batch("nats", 10)
            .await
            .expect("batch")
            .into_iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(state.outbox_remove("nats", seqs).await.expect("remove"), 0);
        drop(state);
        let state = State::open(dir.path()).expect("reopen");
        assert_eq!(state.outbox_len().await.expect("len"), 0);
        assert!(ids_of(&state, "nats").await.is_empty());
    }

    #[tokio::test]
    async fn an_empty_outbox_written_before_the_sink_key_opens_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_unkeyed_store(dir.path(), &[]);
        let state = State::open(dir.path()).expect("open the old store");
        assert_eq!(state.outbox_len().await.expect("len"), 0);
        assert!(state.outbox_depths().await.expect("depths").is_empty());
        state
            .outbox_put("nats", "a".into(), "s".into(), b"A".to_vec(), 10)
            .await
            .expect("put");
        assert_eq!(ids_of(&state, "nats").await, ["a"]);
    }
}
