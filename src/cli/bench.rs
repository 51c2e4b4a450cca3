//! `thresher bench`: the cleaner measured against scraper's parser alone.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

/// `thresher bench`'s options.
#[derive(Args)]
pub(super) struct BenchArgs {
    /// Folder of `*.html` pages (for example ../shared/corpus/zyte).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Rounds over all pages; the best round counts.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

/// `thresher bench`: prints the cleaner's timings over a folder of pages.
pub(super) fn bench(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let report = thresher::bench::run(&args.dir, args.rounds)
        .with_context(|| format!("cannot benchmark {}", args.dir.display()))?;
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}
