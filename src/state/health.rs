//! Whether the state store works. Every operation reports its result here:
//! a failing store makes `/readyz` fail, and a store that cannot recover in
//! this process (redb's "previous I/O error", a corrupted page, a panic
//! inside redb) is *fatal*: the daemon exits non-zero so its supervisor
//! restarts it, and the next start either reopens the store cleanly or
//! says, naming the file, that it is damaged.

use std::sync::{Mutex, OnceLock};

use tokio::sync::Notify;

use super::StateError;

/// The store's health, shared by every clone of a [`super::State`].
#[derive(Default)]
pub struct Health {
    /// The error of the last failed operation, cleared by the next success.
    failing: Mutex<Option<String>>,
    /// Set once the store cannot work again in this process.
    fatal: OnceLock<String>,
    fatal_set: Notify,
}

impl Health {
    /// Records the result of one operation.
    pub(super) fn record<T>(&self, result: &Result<T, StateError>) {
        let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(_) => *failing = None,
            Err(error) if counts_as_store_failure(error) => {
                *failing = Some(error.to_string());
                if is_fatal(error) && self.fatal.set(error.to_string()).is_ok() {
                    self.fatal_set.notify_waiters();
                    self.fatal_set.notify_one();
                }
            }
            // An unreadable record or a full outbox is not the store failing.
            Err(_) => {}
        }
    }

    /// Why the store is failing, if its last operation failed.
    pub fn failing(&self) -> Option<String> {
        if let Some(fatal) = self.fatal.get() {
            return Some(fatal.clone());
        }
        self.failing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Why the store cannot work again in this process, if it cannot.
    pub fn fatal(&self) -> Option<String> {
        self.fatal.get().cloned()
    }

    /// Waits until the store is found unable to work again; returns why.
    pub async fn fatal_failure(&self) -> String {
        loop {
            let notified = self.fatal_set.notified();
            if let Some(fatal) = self.fatal.get() {
                return fatal.clone();
            }
            notified.await;
        }
    }
}

fn counts_as_store_failure(error: &StateError) -> bool {
    matches!(
        error,
        StateError::Store(_) | StateError::Task(_) | StateError::Damaged { .. }
    )
}

/// Failures redb does not recover from without reopening the file.
fn is_fatal(error: &StateError) -> bool {
    match error {
        StateError::Store(e) => matches!(
            e,
            redb::Error::PreviousIo | redb::Error::Corrupted(_) | redb::Error::LockPoisoned(_)
        ),
        // The operation panicked inside redb: its in-memory state is suspect.
        StateError::Task(_) | StateError::Damaged { .. } => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_reported_until_the_next_success_and_a_fatal_one_for_good() {
        let health = Health::default();
        let io = StateError::Store(redb::Error::Io(std::io::Error::other("no space left")));
        health.record::<()>(&Err(io));
        assert!(
            health
                .failing()
                .is_some_and(|e| e.contains("no space left"))
        );
        assert!(health.fatal().is_none());
        health.record(&Ok(()));
        assert!(health.failing().is_none());
        health.record::<()>(&Err(StateError::Store(redb::Error::PreviousIo)));
        health.record(&Ok(()));
        assert!(health.fatal().is_some());
        assert!(health.failing().is_some(), "a fatal failure stays");
    }
}
