//! Per-host learned template blocks, as bytes: what they mean and how an
//! article updates them belong to [`crate::boilerplate`].

use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::{State, StateError, retention};

/// Per-host template blocks, by host, encoded by [`crate::boilerplate`].
pub(super) const LEARNED: TableDefinition<&str, &[u8]> = TableDefinition::new("learned");

impl State {
    /// What has been learned about `host`, as stored.
    pub async fn learned(&self, host: String) -> Result<Option<Vec<u8>>, StateError> {
        self.blocking(move |db| {
            let txn = db.begin_read()?;
            let learned = txn.open_table(LEARNED)?;
            Ok(learned.get(host.as_str())?.map(|b| b.value().to_vec()))
        })
        .await
    }

    /// Replaces what has been learned about `host` by `change` of it (the
    /// stored bytes, if any), in one transaction so concurrent updates add up.
    ///
    /// Committed without fsync: learned template is a hint, and losing the
    /// last few updates in a power cut costs nothing but a little relearning;
    /// the next durable commit makes them permanent.
    pub async fn update_learned<F>(&self, host: String, change: F) -> Result<(), StateError>
    where
        F: FnOnce(Option<&[u8]>) -> Vec<u8> + Send + 'static,
    {
        self.blocking(move |db| {
            let mut txn = db.begin_write()?;
            // Falls back to a durable commit where redb refuses (never in our mode).
            let _ = txn.set_durability(redb::Durability::None);
            {
                let mut learned = txn.open_table(LEARNED)?;
                let bytes = {
                    let stored = learned.get(host.as_str())?;
                    change(stored.as_ref().map(|b| b.value()))
                };
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
    async fn learned_bytes_are_kept_per_host_and_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let state = State::open(dir.path()).expect("open");
            for _ in 0..3 {
                state
                    .update_learned("a.example".into(), |stored| {
                        let mut bytes = stored.unwrap_or_default().to_vec();
                        bytes.push(1);
                        bytes
                    })
                    .await
                    .expect("update");
            }
            let other = state.learned("b.example".into()).await.expect("read");
            assert_eq!(other, None, "hosts are separate");
        }
        let state = State::open(dir.path()).expect("reopen");
        let learned = state.learned("a.example".into()).await.expect("read");
        assert_eq!(learned, Some(vec![1, 1, 1]));
    }
}
