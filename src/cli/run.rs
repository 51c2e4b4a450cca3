//! `thresher run` and `thresher once`: the daemon's start-up, signal
//! handling and reload on SIGHUP (`once` adds its report, see `once`).

use std::process::ExitCode;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::once;
use thresher::config::{Config, ConfigOrigin};
use thresher::pipeline::{Pipeline, Reloader};
use thresher::schedule::Mode;
use thresher::sink::queue_sinks;
use thresher::telemetry::StatsSnapshot;
use thresher::telemetry::progress::OnceProgress;

/// Runs the pipeline (`run` or `once`).
pub(super) fn daemon(
    config: Config,
    origin: &ConfigOrigin,
    mode: Mode,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        info!(
            version = env!("CARGO_PKG_VERSION"),
            config = %origin,
            sources = config.sources.len(),
            state = %config.state.dir.display(),
            outputs = %config.output.describe().join("; "),
            "thresher starting"
        );
        if config.sources.is_empty() {
            warn!("no [[sources]] configured: nothing to poll");
        }
        let source_names: Vec<String> = config.sources.iter().map(|s| s.name.clone()).collect();
        let queue_sinks: Vec<&str> = queue_sinks()
            .map(|(sink, _)| sink)
            .filter(|sink| config.output.is_on(sink))
            .collect();
        let watch = config.reload.watch;
        // Handlers first: a SIGTERM while the state store opens must still end in a clean exit.
        let signals = Signals::install();
        // Installed before the pipeline too: SIGHUP's default action ends the process.
        let hangups = (mode == Mode::Continuous).then(install_hangup).flatten();
        tokio::spawn(stop_on_signal(signals, shutdown.clone()));
        let pipeline =
            Pipeline::new(config, shutdown.clone()).context("cannot start the pipeline")?;
        if let Some(hangups) = hangups {
            tokio::spawn(reload_on_hangup(
                hangups,
                pipeline.reloader(),
                origin.clone(),
            ));
        }
        match (mode, watch, origin) {
            (Mode::Continuous, true, ConfigOrigin::File(path)) => {
                tokio::spawn(pipeline.reloader().watch(path.clone(), shutdown.clone()));
            }
            (Mode::Continuous, true, ConfigOrigin::Embedded) => {
                warn!("reload.watch: the embedded configuration has no file to watch");
            }
            _ => {}
        }
        let progress = (mode == Mode::Once)
            .then(|| OnceProgress::start(pipeline.stats(), source_names.len()))
            .flatten();
        let metrics = pipeline.metrics();
        let state = pipeline.state();
        let result = pipeline.run(mode).await;
        if let Some(progress) = progress {
            progress.finish();
        }
        let stats = result?;
        print_summary(&stats);
        let pending = match mode {
            Mode::Once => {
                Some(once::print_table(&metrics, &state, &source_names, &stats, &queue_sinks).await)
            }
            Mode::Continuous => None,
        };
        info!("thresher stopped");
        Ok(match pending {
            // After a signal, what is left is expected: said by the log, not the exit code.
            Some(pending) if !shutdown.is_cancelled() => once::exit_code(pending, &stats),
            _ => ExitCode::SUCCESS,
        })
    });
    // A cleaner thread still busy with an abandoned page must not hold up the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

/// SIGINT and SIGTERM listeners, registered as soon as they are created.
struct Signals {
    /// SIGINT, when it could be installed.
    interrupt: Option<tokio::signal::unix::Signal>,
    /// SIGTERM, when it could be installed.
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Registers both listeners (a failure is logged: stop with SIGKILL then).
    fn install() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        if let Err(e) = interrupt.as_ref().and(terminate.as_ref()) {
            warn!("cannot install signal handlers ({e}); stop Thresher with SIGKILL");
        }
        Self {
            interrupt: interrupt.ok(),
            terminate: terminate.ok(),
        }
    }

    /// Waits for the next SIGINT or SIGTERM (forever if neither could be installed).
    async fn recv(&mut self) {
        async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
            match signal {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = next(&mut self.interrupt) => {}
            _ = next(&mut self.terminate) => {}
        }
    }
}

/// The SIGHUP listener, or `None` (logged) when it cannot be installed.
fn install_hangup() -> Option<tokio::signal::unix::Signal> {
    use tokio::signal::unix::{SignalKind, signal};
    signal(SignalKind::hangup())
        .inspect_err(|e| warn!("cannot install the SIGHUP handler ({e}); reload needs a restart"))
        .ok()
}

/// Reloads the configuration on every SIGHUP; a rejected one is logged by
/// the reloader and changes nothing.
async fn reload_on_hangup(
    mut hangups: tokio::signal::unix::Signal,
    reloader: Reloader,
    origin: ConfigOrigin,
) {
    while hangups.recv().await.is_some() {
        info!(config = %origin, "SIGHUP: reloading the configuration");
        let _ = reloader.reload(&origin).await;
    }
}

/// Cancels `shutdown` on the first SIGINT or SIGTERM; a second one exits at once.
async fn stop_on_signal(mut signals: Signals, shutdown: CancellationToken) {
    signals.recv().await;
    info!("shutting down: no new polls; finishing in-flight work (a second signal exits at once)");
    shutdown.cancel();
    signals.recv().await;
    warn!("second signal: exiting now; unfinished articles stay pending for the next start");
    std::process::exit(130);
}

/// Logs the run's counters.
fn print_summary(stats: &StatsSnapshot) {
    info!(
        polls_ok = stats.polls_ok,
        polls_failed = stats.polls_failed,
        new_links = stats.links_accepted,
        written = stats.articles_written,
        duplicates = stats.duplicates,
        near_duplicates = stats.near_duplicates,
        skipped = stats.rejected,
        failed = stats.failed,
        published = stats.published,
        publish_retries = stats.publish_retries,
        outbox = stats.outbox_depth,
        "summary"
    );
}
