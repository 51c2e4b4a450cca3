//! `thresher check-config`: validates the configuration, lists the sources
//! and, when a state store exists and no daemon holds it, their health.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Context;

use thresher::config::{Config, ConfigOrigin};
use thresher::plural::count;
use thresher::sink::queue_sinks;
use thresher::state::{DB_FILE, State, StateError};
use thresher::telemetry::status::SourceStatus;

/// `thresher check-config`: the configuration checked and summarised, the
/// sources listed with what the state store remembers of them.
pub(super) fn check_config(config: &Config, origin: &ConfigOrigin) -> ExitCode {
    println!("config OK: {origin}");
    // Valid, but not what its author expects: said on stderr, exit still 0.
    for warning in config.warnings(origin) {
        eprintln!("thresher: warning: {warning}");
    }
    println!("state dir:  {}", config.state.dir.display());
    for sink in config.output.describe() {
        println!("{sink}");
    }
    match config.telemetry.listen {
        Some(listen) => println!("telemetry:  http://{listen}/metrics, /healthz, /readyz, /status"),
        None => println!("telemetry:  off (set [telemetry] listen)"),
    }
    println!("{}:", count(config.sources.len(), "source", "sources"));
    let width = config
        .sources
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0);
    for source in &config.sources {
        println!(
            "  {:width$}  every {:>6}  {}",
            source.name,
            humantime::format_duration(source.interval).to_string(),
            source.url
        );
    }
    if print_source_health(config, width) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Prints what the state store remembers of each source's polls (last
/// success, last error, failures by kind), when a state store exists and
/// no daemon holds it. False when the store exists but cannot be read
/// (damaged): `check-config` must not pass a daemon that will not start.
fn print_source_health(config: &Config, width: usize) -> bool {
    if !config.state.dir.join(DB_FILE).exists() {
        return true;
    }
    let health = || -> anyhow::Result<(Vec<SourceStatus>, BTreeMap<String, u64>)> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .context("cannot start the async runtime")?;
        runtime.block_on(async {
            let state = State::open(&config.state.dir)?;
            let mut sources = Vec::new();
            for source in &config.sources {
                sources.push(SourceStatus::read(&state, source).await?);
            }
            Ok((sources, state.outbox_depths().await?))
        })
    };
    println!();
    match health() {
        Err(e)
            if matches!(
                e.downcast_ref::<StateError>(),
                Some(StateError::InUse { .. })
            ) =>
        {
            println!("source status: not available ({e:#})");
            true
        }
        Err(e) => {
            eprintln!("thresher: {e:#}");
            false
        }
        Ok((sources, outboxes)) => {
            for (sink, label) in queue_sinks() {
                let waiting = outboxes.get(sink).copied().unwrap_or(0);
                if config.output.is_on(sink) || waiting > 0 {
                    println!(
                        "{label} outbox: {} waiting for the broker",
                        count(waiting, "article", "articles")
                    );
                }
            }
            println!("source status (from {}):", config.state.dir.display());
            for source in sources {
                println!("{}", source.health_line(width));
            }
            true
        }
    }
}
