//! The `thresher` command line: `run`, `once`, `clean`, `check-config`,
//! `status` and `bench`, one file per verb (`run` and `once` share the
//! daemon's start-up in `run`; `once` adds its report and exit codes).

mod bench;
mod check;
mod clean;
mod once;
mod run;
mod status;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use thresher::config::{Config, ConfigOrigin};
use thresher::schedule::Mode;
use thresher::telemetry::{self, LogFormat};

/// Turns news feeds into clean articles.
#[derive(Parser)]
#[command(name = "thresher", version, about)]
struct Cli {
    /// Log line format (logs go to stderr).
    #[arg(
        long,
        value_enum,
        default_value = "human",
        env = "THRESHER_LOG_FORMAT",
        global = true
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The verbs.
#[derive(Subcommand)]
enum Command {
    /// Run the daemon until SIGINT or SIGTERM.
    Run(ConfigArgs),
    /// Poll every source once, process every new article, then exit.
    Once(ConfigArgs),
    /// Clean HTML files and print (or write) the article JSON.
    Clean(clean::CleanArgs),
    /// Validate the configuration and list the sources.
    CheckConfig(ConfigArgs),
    /// Show each source's status: asks the running daemon (`[telemetry]
    /// listen`), else reads the state store.
    Status(status::StatusArgs),
    /// Measure the cleaner against scraper's parser alone on a folder of HTML pages.
    Bench(bench::BenchArgs),
}

/// The option every verb that reads the configuration takes.
#[derive(Args)]
struct ConfigArgs {
    /// Configuration file [default: config/thresher.toml, else the embedded default].
    #[arg(long, env = "THRESHER_CONFIG")]
    config: Option<PathBuf>,
}

/// Keeps the daemon's resident memory close to its live heap under glibc.
///
/// Measured with `cargo bench --bench daemon` (10,000 feeds, 1 million
/// remembered stories): 133 MB of live heap at peak but 261 MB resident,
/// because glibc gives each thread that allocates its own arena (up to 8 per
/// core) and, after the first large page body is freed, raises its mmap
/// threshold so later bodies come from those arenas and fragment them. Two
/// arenas and a fixed 128 KiB threshold (large buffers mapped and returned to
/// the system whole) brought that to 140 MB (with the 16 MiB state cache), at
/// the price of about 1 ms more CPU per article in page faults and malloc
/// (a 1 MiB threshold: 0.5–1 ms less, but 150 MB). A `MALLOC_ARENA_MAX` or
/// `MALLOC_MMAP_THRESHOLD_` set by the operator wins.
fn tune_malloc_for_a_long_run() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            // SAFETY: mallopt only changes allocator tuning; called at
            // start-up before other threads exist.
            unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            // SAFETY: as above.
            unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024) };
        }
    }
}

/// Lets a printing command end quietly when its reader goes away
/// (`thresher clean page.html | head`), as Unix filters do, instead of
/// panicking in `println!`. Not for the daemon verbs: they keep Rust's
/// default of ignoring SIGPIPE, so a closed socket is an error, not an exit.
fn die_quietly_on_closed_pipe() {
    // SAFETY: called at start-up before any other thread exists; setting the
    // default disposition of SIGPIPE has no other effect on this process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Exit code for an invalid configuration or command line.
const EXIT_USAGE: u8 = 2;

/// Parses the command line, runs the verb and turns its result into the exit code.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init_logging(cli.log_format);
    if matches!(cli.command, Command::Run(_) | Command::Once(_)) {
        tune_malloc_for_a_long_run();
    } else {
        die_quietly_on_closed_pipe();
    }
    let result = match cli.command {
        Command::Run(args) => load_config(&args)
            .and_then(|(config, origin)| run::daemon(config, &origin, Mode::Continuous)),
        Command::Once(args) => {
            load_config(&args).and_then(|(config, origin)| run::daemon(config, &origin, Mode::Once))
        }
        Command::CheckConfig(args) => {
            load_config(&args).map(|(config, origin)| check::check_config(&config, &origin))
        }
        Command::Status(args) => {
            load_config(&args.config).and_then(|(config, _)| status::status(&config, args.json))
        }
        Command::Clean(args) => clean::clean_files(&args),
        Command::Bench(args) => bench::bench(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("thresher: error: {}", describe(&error));
            if error
                .downcast_ref::<thresher::config::ConfigError>()
                .is_some()
            {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The error and its causes on one line, skipping causes the message already quotes.
fn describe(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
    }
    message
}

fn load_config(args: &ConfigArgs) -> anyhow::Result<(Config, ConfigOrigin)> {
    let origin = ConfigOrigin::resolve(args.config.as_deref());
    let config = Config::load(&origin)?;
    Ok((config, origin))
}
