//! The `thresher` command line: `run`, `once`, `clean`, `check-config`.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use url::Url;

use thresher::article::{self, Article, Provenance};
use thresher::config::{Config, ConfigOrigin};
use thresher::pipeline::{Pipeline, Reloader};
use thresher::plural::{count, word};
use thresher::schedule::Mode;
use thresher::telemetry::progress::OnceProgress;
use thresher::telemetry::{self, LogFormat, StatsSnapshot};
use thresher::telemetry::{status_from, summary};
use thresher::{clean, dedup};

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

#[derive(Subcommand)]
enum Command {
    /// Run the daemon until SIGINT or SIGTERM.
    Run(ConfigArgs),
    /// Poll every source once, process every new article, then exit.
    Once(ConfigArgs),
    /// Clean HTML files and print (or write) the article JSON.
    Clean(CleanArgs),
    /// Validate the configuration and list the sources.
    CheckConfig(ConfigArgs),
    /// Show each source's status: asks the running daemon (`[telemetry]
    /// listen`), else reads the state store.
    Status(StatusArgs),
    /// Measure the cleaner against scraper's parser alone on a folder of HTML pages.
    Bench(BenchArgs),
}

#[derive(Args)]
struct BenchArgs {
    /// Folder of `*.html` pages (for example ../shared/corpus/zyte).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Rounds over all pages; the best round counts.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

#[derive(Args)]
struct StatusArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Print the status document as JSON (as served at `/status`).
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ConfigArgs {
    /// Configuration file [default: config/thresher.toml, else the embedded default].
    #[arg(long, env = "THRESHER_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Args)]
struct CleanArgs {
    /// URL the document was fetched from (resolves relative links, sets `id`).
    #[arg(long)]
    url: Option<Url>,
    /// Write `<DIR>/<file stem>.json` for each input instead of printing.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// With `--out`: each input's own URL, from lines `<file stem><TAB><url>`
    /// (a file not listed uses `--url`, if given).
    #[arg(long, value_name = "FILE", requires = "out", conflicts_with = "url")]
    urls: Option<PathBuf>,
    /// Print which blocks were kept or removed and why, instead of the JSON (one FILE).
    #[arg(long)]
    explain: bool,
    /// Apply the `[sources.rules]` of this source from the configuration.
    #[arg(long, value_name = "NAME")]
    source: Option<String>,
    /// Configuration file for `--source` and, with a URL, `[dedup]
    /// tracking_params` [default: as for `run`].
    #[arg(long, env = "THRESHER_CONFIG")]
    config: Option<PathBuf>,
    /// Also give the article as Markdown (the `markdown` field).
    #[arg(long)]
    markdown: bool,
    /// HTML files to clean; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
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

/// Exit code of `once` when it completed but some feed polls failed.
const EXIT_SOME_SOURCES_FAILED: u8 = 3;
/// `once`: accepted articles did not reach every output (they stay pending).
const EXIT_UNDELIVERED: u8 = 4;

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init_logging(cli.log_format);
    if matches!(cli.command, Command::Run(_) | Command::Once(_)) {
        tune_malloc_for_a_long_run();
    } else {
        die_quietly_on_closed_pipe();
    }
    let result = match cli.command {
        Command::Run(args) => load_config(&args)
            .and_then(|(config, origin)| daemon(config, &origin, Mode::Continuous)),
        Command::Once(args) => {
            load_config(&args).and_then(|(config, origin)| daemon(config, &origin, Mode::Once))
        }
        Command::CheckConfig(args) => {
            load_config(&args).map(|(config, origin)| check_config(&config, &origin))
        }
        Command::Status(args) => {
            load_config(&args.config).and_then(|(config, _)| status(&config, args.json))
        }
        Command::Clean(args) => clean_files(&args),
        Command::Bench(args) => bench(&args),
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

/// Runs the pipeline (`run` or `once`).
fn daemon(config: Config, origin: &ConfigOrigin, mode: Mode) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        info!(
            version = env!("CARGO_PKG_VERSION"),
            config = %origin,
            sources = config.sources.len(),
            state = %config.state.dir.display(),
            output = %if config.output.directory {
                config.output.dir.display().to_string()
            } else {
                "off".to_string()
            },
            nats = config
                .output
                .nats
                .as_ref()
                .map_or_else(|| "off".to_string(), |n| n.url_for_logs()),
            "thresher starting"
        );
        if config.sources.is_empty() {
            warn!("no [[sources]] configured: nothing to poll");
        }
        let source_names: Vec<String> = config.sources.iter().map(|s| s.name.clone()).collect();
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
            Mode::Once => Some(state.pending_summary().await),
            Mode::Continuous => None,
        };
        if let Some(pending) = &pending {
            let pending = pending.as_ref().ok();
            let table = summary::once_table(&metrics, &state, &source_names, &stats, pending);
            print!("{}", table.await);
        }
        info!("thresher stopped");
        if let Some(pending) = pending
            && !shutdown.is_cancelled()
        {
            let pending = match pending {
                Ok(pending) => pending,
                Err(e) => {
                    eprintln!("thresher: cannot count the articles left pending: {e}");
                    return Ok(ExitCode::from(EXIT_UNDELIVERED));
                }
            };
            if let Some(message) = undelivered_message(&pending, stats.outbox_depth) {
                eprintln!("thresher: {message}");
                return Ok(ExitCode::from(EXIT_UNDELIVERED));
            }
            if pending.retrying > 0 {
                let due = pending.next_retry_at.map_or(String::new(), |at| {
                    format!(" (the first is due {})", at.format("%Y-%m-%d %H:%M:%S UTC"))
                });
                eprintln!(
                    "thresher: {} for a retry their server asked for or a transient failure \
                     needs; a later run fetches {}{due}",
                    count(pending.retrying, "article waits", "articles wait"),
                    word(pending.retrying, "it", "them")
                );
            }
        }
        if mode == Mode::Once && stats.polls_failed > 0 && !shutdown.is_cancelled() {
            eprintln!(
                "thresher: {} of {} failed (see the log above)",
                stats.polls_failed,
                count(
                    stats.polls_failed + stats.polls_ok,
                    "feed poll",
                    "feed polls"
                )
            );
            return Ok(ExitCode::from(EXIT_SOME_SOURCES_FAILED));
        }
        Ok(ExitCode::SUCCESS)
    });
    // A cleaner thread still busy with an abandoned page must not hold up the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

/// What `once` says when accepted articles did not reach every output:
/// a sink refused them (they stay pending) or the NATS outbox still holds them.
fn undelivered_message(pending: &thresher::state::PendingSummary, outbox: u64) -> Option<String> {
    if pending.undelivered == 0 && outbox == 0 {
        return None;
    }
    let mut parts = Vec::new();
    if pending.undelivered > 0 {
        let why = pending
            .last_sink_error
            .as_deref()
            .map_or(String::new(), |e| format!(" (last error: {e})"));
        parts.push(format!(
            "{} a sink could not take{why}",
            count(pending.undelivered, "article", "articles")
        ));
    }
    if outbox > 0 {
        parts.push(format!(
            "{} in the NATS outbox, not yet acknowledged by the broker",
            count(outbox, "article", "articles")
        ));
    }
    Some(format!(
        "not every accepted article reached every output: {}; they are kept and \
         delivered by the next run (`thresher status` shows the counts)",
        parts.join("; ")
    ))
}

/// SIGINT and SIGTERM listeners, registered as soon as they are created.
struct Signals {
    interrupt: Option<tokio::signal::unix::Signal>,
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
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

fn check_config(config: &Config, origin: &ConfigOrigin) -> ExitCode {
    println!("config OK: {origin}");
    // Valid, but not what its author expects: said on stderr, exit still 0.
    for warning in config.warnings(origin) {
        eprintln!("thresher: warning: {warning}");
    }
    println!("state dir:  {}", config.state.dir.display());
    if config.output.directory {
        println!("output dir: {}", config.output.dir.display());
    }
    if let Some(nats) = &config.output.nats {
        println!(
            "output nats: {} stream {} subject {}",
            nats.url_for_logs(),
            nats.stream,
            nats.subject
        );
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
    if !config.state.dir.join(thresher::state::DB_FILE).exists() {
        return true;
    }
    type Health = (
        String,
        Option<thresher::state::FeedState>,
        std::collections::BTreeMap<String, u64>,
    );
    let health = || -> anyhow::Result<(Vec<Health>, u64)> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .context("cannot start the async runtime")?;
        runtime.block_on(async {
            let state = thresher::state::State::open(&config.state.dir)?;
            let mut out = Vec::new();
            for source in &config.sources {
                let feed = state.feed_state(source.name.clone()).await?;
                let articles = state.failure_counts(source.name.clone()).await?;
                out.push((source.name.clone(), feed, articles));
            }
            Ok((out, state.outbox_len().await?))
        })
    };
    println!();
    match health() {
        Err(e)
            if matches!(
                e.downcast_ref::<thresher::state::StateError>(),
                Some(thresher::state::StateError::InUse { .. })
            ) =>
        {
            println!("source status: not available ({e:#})");
            true
        }
        Err(e) => {
            eprintln!("thresher: {e:#}");
            false
        }
        Ok((rows, outbox)) => {
            if config.output.nats.is_some() || outbox > 0 {
                println!(
                    "NATS outbox: {} waiting for the broker",
                    count(outbox, "article", "articles")
                );
            }
            println!("source status (from {}):", config.state.dir.display());
            for (name, feed, article_failures) in rows {
                let Some(feed) = feed else {
                    println!("  {name:width$}  never polled");
                    continue;
                };
                let success = feed
                    .last_success_at
                    .map_or_else(|| "never".to_string(), |t| t.to_rfc3339());
                let mut line = format!("  {name:width$}  last success {success}");
                if let Some(error) = &feed.last_error {
                    line.push_str(&format!(
                        "; failing ({} in a row): {error}",
                        feed.consecutive_failures
                    ));
                }
                for (what, counts) in [("poll", &feed.failures), ("article", &article_failures)] {
                    if !counts.is_empty() {
                        let kinds: Vec<String> =
                            counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
                        line.push_str(&format!("; {what} failures: {}", kinds.join(", ")));
                    }
                }
                println!("{line}");
            }
            true
        }
    }
}

/// `thresher status`: the running daemon's `/status`, else the state store;
/// the first line (on stderr with `--json`) says which.
fn status(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
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

/// The JSON `thresher clean` prints: the article fields a page alone can give.
#[derive(Serialize)]
struct CleanOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<Url>,
    #[serde(skip_serializing_if = "Option::is_none")]
    canonical_url: Option<Url>,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    subtitle: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    published_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<Url>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<clean::Figure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    site_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    section: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    word_count: usize,
    reading_time_minutes: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    text: String,
    html: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    markdown: Option<String>,
}

impl From<Article> for CleanOutput {
    /// The article's fields a page alone gives (no source, feed or fetch time).
    fn from(article: Article) -> Self {
        Self {
            id: Some(article.id),
            url: Some(article.url),
            canonical_url: Some(article.canonical_url),
            title: article.title,
            subtitle: article.subtitle,
            authors: article.authors,
            published_at: article.published_at,
            updated_at: article.updated_at,
            image: article.image,
            images: article.images,
            site_name: article.site_name,
            description: article.description,
            section: article.section,
            tags: article.tags,
            word_count: article.word_count,
            reading_time_minutes: article.reading_time_minutes,
            language: article.language,
            text: article.text,
            html: article.html,
            markdown: article.markdown,
        }
    }
}

impl CleanOutput {
    /// The output of a page whose address is not known: no id and no URL,
    /// the canonical link as the page declares it, and the rest as
    /// [`article::assemble`] gives it for a page no feed listed.
    fn unaddressed(cleaned: clean::Cleaned) -> Self {
        let reading = article::reading(&cleaned.text);
        Self {
            id: None,
            url: None,
            canonical_url: cleaned.canonical_url,
            title: cleaned.title.unwrap_or_default(),
            subtitle: cleaned.subtitle,
            authors: cleaned.authors,
            published_at: cleaned.published_at,
            updated_at: cleaned.updated_at,
            image: cleaned.image,
            images: cleaned.images,
            site_name: cleaned.site_name,
            description: cleaned.description,
            section: cleaned.section,
            tags: cleaned.tags,
            word_count: reading.words,
            reading_time_minutes: reading.minutes,
            language: cleaned.language,
            text: cleaned.text,
            html: cleaned.html,
            markdown: None,
        }
    }
}

/// Cleans one page into what `thresher clean` prints, with the decisions
/// made (for `--explain`). With its URL known, the page is assembled as the
/// daemon assembles it, identified by the configured canonicaliser.
fn clean_one(
    bytes: &[u8],
    url: Option<&Url>,
    canon: &dedup::UrlCanon,
    options: &clean::Options<'_>,
    markdown: bool,
) -> Result<(CleanOutput, Vec<clean::Decision>), clean::CleanError> {
    let html = clean::decode_html(bytes, None);
    let mut cleaned = clean::clean_with(&html, url, options)?;
    let decisions = std::mem::take(&mut cleaned.explanation);
    let markdown = markdown.then(|| clean::markdown(&cleaned.html));
    let mut output = match url {
        Some(url) => {
            let provenance = Provenance::unlisted(url.clone());
            CleanOutput::from(article::assemble(canon, provenance, cleaned))
        }
        None => CleanOutput::unaddressed(cleaned),
    };
    output.markdown = markdown;
    Ok((output, decisions))
}

/// The configuration `clean` follows, when it needs one: for `--source`'s
/// rules, and for `[dedup] tracking_params` when a URL gives the page an id
/// (so the id is the one the daemon writes).
fn clean_config(args: &CleanArgs) -> anyhow::Result<Option<(Config, ConfigOrigin)>> {
    let addressed = args.url.is_some() || args.urls.is_some();
    if args.source.is_none() && !addressed {
        return Ok(None);
    }
    let origin = ConfigOrigin::resolve(args.config.as_deref());
    let config = Config::load(&origin)?;
    Ok(Some((config, origin)))
}

/// The `[sources.rules]` of `--source`, if given.
fn source_rules(
    args: &CleanArgs,
    config: Option<&(Config, ConfigOrigin)>,
) -> anyhow::Result<Option<clean::Rules>> {
    let (Some(name), Some((config, origin))) = (&args.source, config) else {
        return Ok(None);
    };
    let Some(source) = config.sources.iter().find(|s| &s.name == name) else {
        let names: Vec<_> = config.sources.iter().map(|s| s.name.as_str()).collect();
        bail!(
            "config {origin}: no source named {name:?} (sources: {})",
            names.join(", ")
        );
    };
    let rules = match &source.rules {
        // Validated when the config was loaded.
        Some(rules) => rules
            .compile()
            .map_err(|(field, message)| anyhow::anyhow!("{field}: {message}"))?,
        None => {
            warn!("source {name:?} has no [sources.rules]; cleaning with the general method");
            clean::Rules::default()
        }
    };
    Ok(Some(rules))
}

fn print_explanation(output: &CleanOutput, decisions: &[clean::Decision]) {
    print_decisions(decisions);
    println!();
    println!("title:    {}", output.title);
    if let Some(subtitle) = &output.subtitle {
        println!("subtitle: {subtitle}");
    }
    let paragraphs = output.text.split("\n\n").count();
    let words = output.text.split_whitespace().count();
    println!(
        "text:     {}, {}",
        count(paragraphs, "paragraph", "paragraphs"),
        count(words, "word", "words")
    );
}

/// One line per decision. The element's whole CSS path comes last, as it
/// is (however long), so it can be pasted into `[sources.rules] remove`;
/// the columns before it are as wide as their widest entry, nothing cut.
fn print_decisions(decisions: &[clean::Decision]) {
    let width = |header: &str, cell: fn(&clean::Decision) -> usize| {
        decisions
            .iter()
            .map(cell)
            .chain([header.chars().count()])
            .max()
            .unwrap_or(0)
    };
    let reason_width = width("reason", |d| d.reason.chars().count());
    let text_width = width("text", |d| d.text.chars().count());
    let line = |kept: &str, score: &str, reason: &str, text: &str, element: &str| {
        let row = format!(
            "{kept:<4} {score:>7}  {reason:<reason_width$}  {text:<text_width$}  {element}"
        );
        println!("{}", row.trim_end());
    };
    line("kept", "score", "reason", "text", "element");
    for d in decisions {
        let score = d
            .score
            .map_or_else(|| "-".to_string(), |s| format!("{s:.1}"));
        let kept = if d.kept { "yes" } else { "no" };
        line(kept, &score, &d.reason, &d.text, &d.element);
    }
}

fn bench(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let report = thresher::bench::run(&args.dir, args.rounds)
        .with_context(|| format!("cannot benchmark {}", args.dir.display()))?;
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        Ok(bytes)
    } else {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

/// Reads `--urls`: one `<file stem><TAB><url>` per line; blank lines are skipped.
fn read_url_list(path: &Path) -> anyhow::Result<HashMap<String, Url>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the URL list {}", path.display()))?;
    let mut urls = HashMap::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((stem, url)) = line.split_once('\t') else {
            bail!(
                "{}:{}: expected `<file stem><TAB><url>`",
                path.display(),
                number + 1
            );
        };
        let url = Url::parse(url.trim())
            .with_context(|| format!("{}:{}: invalid URL {url:?}", path.display(), number + 1))?;
        urls.insert(stem.to_string(), url);
    }
    Ok(urls)
}

fn clean_files(args: &CleanArgs) -> anyhow::Result<ExitCode> {
    let config = clean_config(args)?;
    let rules = source_rules(args, config.as_ref())?;
    let canon = config
        .as_ref()
        .map_or_else(dedup::UrlCanon::default, |(config, _)| {
            dedup::UrlCanon::new(&config.dedup.tracking_params)
        });
    let options = clean::Options {
        rules: rules.as_ref(),
        is_boilerplate: None,
        explain: args.explain,
    };
    let Some(out) = &args.out else {
        if args.files.len() != 1 {
            bail!("without --out, `clean` takes exactly one FILE (use --out DIR for several)");
        }
        let bytes = read_input(&args.files[0])?;
        let (output, decisions) =
            match clean_one(&bytes, args.url.as_ref(), &canon, &options, args.markdown) {
                // The table is what the user needs when nothing was found.
                Err(clean::CleanError::NoArticle(reason, decisions)) if args.explain => {
                    print_decisions(&decisions);
                    bail!("{}: no article found: {reason}", args.files[0].display());
                }
                result => result.with_context(|| format!("{}", args.files[0].display()))?,
            };
        if args.explain {
            print_explanation(&output, &decisions);
        } else {
            println!("{}", serde_json::to_string_pretty(&output)?);
        }
        return Ok(ExitCode::SUCCESS);
    };
    if args.explain {
        bail!("--explain prints a table for one FILE; it cannot be combined with --out");
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let urls = match &args.urls {
        Some(path) => read_url_list(path)?,
        None => HashMap::new(),
    };
    let mut failed = 0usize;
    for path in &args.files {
        let stem = path
            .file_stem()
            .map_or_else(|| "stdin".into(), |s| s.to_string_lossy().into_owned());
        let url = urls.get(&stem).or(args.url.as_ref());
        let result = read_input(path).and_then(|bytes| {
            let (output, _) = clean_one(&bytes, url, &canon, &options, args.markdown)?;
            let target = out.join(format!("{stem}.json"));
            std::fs::write(&target, serde_json::to_vec_pretty(&output)?)
                .with_context(|| format!("cannot write {}", target.display()))
        });
        if let Err(error) = result {
            failed += 1;
            eprintln!("thresher: {}: {error:#}", path.display());
        }
    }
    eprintln!(
        "cleaned {} of {} into {}",
        args.files.len() - failed,
        count(args.files.len(), "file", "files"),
        out.display()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
