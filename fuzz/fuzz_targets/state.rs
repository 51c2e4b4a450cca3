//! The state store opened on an arbitrary (mutated) file, then read and
//! written: every failure must be an error, never a panic out of the API.
#![no_main]

use libfuzzer_sys::fuzz_target;
use thresher::state::{DB_FILE, State};

fuzz_target!(|bytes: &[u8]| {
    // libFuzzer's hook aborts on every panic, caught or not; the store
    // catches redb's panics on purpose, and one that escapes still aborts
    // (libfuzzer-sys catches the unwind at the target's edge).
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let Ok(dir) = tempfile::tempdir() else { return };
    if std::fs::write(dir.path().join(DB_FILE), bytes).is_err() {
        return;
    }
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        return;
    };
    runtime.block_on(async {
        if let Ok(state) = State::open(dir.path()) {
            let _ = state.pending_count().await;
            let _ = state.pending_summary().await;
            let _ = state.outbox_len().await;
            let _ = state.take_due_retries(10).await;
        }
    });
});
