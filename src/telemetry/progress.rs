//! The progress bar of `thresher once` on a terminal, and the log writer
//! that keeps log lines from tearing it.
//!
//! Off a terminal there is no bar and log lines go to stderr as usual.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Stats;
use crate::plural::count;

/// The bar being shown, if any; log lines are printed above it.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn active() -> Option<ProgressBar> {
    ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// A stderr writer for `tracing`: one event per writer, written in one go
/// above the progress bar when one is shown.
#[derive(Default)]
pub struct LogWriter {
    line: Vec<u8>,
}

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        let line = std::mem::take(&mut self.line);
        let write = || {
            // Nowhere to report a failed write to stderr.
            let _ = std::io::stderr().write_all(&line);
        };
        match active() {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }
}

/// The bar of a `once` run: sources polled out of all, articles written.
pub struct OnceProgress {
    bar: ProgressBar,
    stats: Arc<Stats>,
    ticker: tokio::task::JoinHandle<()>,
}

/// Brings `bar` up to date with `stats`.
fn update(bar: &ProgressBar, stats: &Stats) {
    let now = stats.snapshot();
    bar.set_position(now.polls_ok + now.polls_failed);
    bar.set_message(format!(
        "{} written, {} failed",
        count(now.articles_written, "article", "articles"),
        now.failed
    ));
}

impl OnceProgress {
    /// Shows a bar over `sources` polls fed from `stats`, when stderr is a
    /// terminal; `None` otherwise. Call from within a tokio runtime.
    pub fn start(stats: Arc<Stats>, sources: usize) -> Option<Self> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(
            Some(sources as u64),
            ProgressDrawTarget::stderr_with_hz(10),
        );
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} sources polled, {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
        let (ticking, counted) = (bar.clone(), Arc::clone(&stats));
        let ticker = tokio::spawn(async move {
            loop {
                update(&ticking, &counted);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Some(Self { bar, stats, ticker })
    }

    /// Stops updating and leaves the bar with the final counts on screen.
    pub fn finish(self) {
        self.ticker.abort();
        *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = None;
        update(&self.bar, &self.stats);
        self.bar.finish();
    }
}
