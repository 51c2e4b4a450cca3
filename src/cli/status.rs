//! `thresher status`: each source's status, from the running daemon or the state store.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::ConfigArgs;
use thresher::config::Config;
use thresher::telemetry::status_from;

/// `thresher status`'s options.
#[derive(Args)]
pub(super) struct StatusArgs {
    #[command(flatten)]
    pub(super) config: ConfigArgs,
    /// Print the status document as JSON (as served at `/status`).
    #[arg(long)]
    pub(super) json: bool,
}

/// `thresher status`: the running daemon's `/status`, else the state store;
/// the first line (on stderr with `--json`) says which.
pub(super) fn status(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (report, from) = runtime.block_on(status_from::read_status(config))?;
    if json {
        eprintln!("{from}");
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{from}");
        print!("{}", report.table());
    }
    Ok(ExitCode::SUCCESS)
}
