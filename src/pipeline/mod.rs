//! The pipeline: stages wired by bounded channels.
//!
//! ```text
//! schedule ─PollRequest─▶ feed ─ArticleJob─▶ fetch ─Page─▶ clean ─Article─▶ deliver (dedup + sinks)
//!     ▲                    │                   ▲
//!     └──────PollDone──────┘      replay of pending jobs after a restart
//! ```
//!
//! Every channel is bounded, so a slow stage slows the ones before it instead
//! of growing a queue. A link is written to the state store as pending the
//! moment the feed stage accepts it and leaves that state only when the sinks
//! have it (or it is known to be a duplicate, no article, or a failed fetch),
//! so a crash anywhere loses nothing: pending links are replayed on start.
//!
//! Shutdown is a cascade: the scheduler stops, closing its channel; each stage
//! finishes when its input closes and then drops its output. Network stages
//! stop taking new work on shutdown; local stages (clean, deliver) drain. What
//! is still running after `pipeline.shutdown_grace` is abandoned: it is still
//! pending in the state store and is processed after the next start.
//!
//! Sources are looked up in the [`Roster`], which a [`Reloader`] swaps on
//! SIGHUP before telling the scheduler to reconcile (`reload`). The telemetry
//! endpoint sees the running pipeline through `observe`.
//!
//! One file per stage, in the order an article passes them: `poll`
//! (feeds to accepted links), `fetch` (links to pages), `clean` (pages
//! to articles), `deliver` (dedup decisions and the sinks). `replay`
//! feeds pending links back in after a restart and when a retry is due;
//! `outcome` records what became of a link; `reload` and `observe` are
//! the running pipeline's configuration reload and telemetry view.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

use crate::article::ArticleJob;
use crate::config::Config;
use crate::dedup::{self, StoryMemory};
use crate::fetch::{FetchError, Fetcher};
use crate::roster::Roster;
use crate::schedule::{Mode, Scheduler};
use crate::sink::{self, Sink};
use crate::state::{State, StateError};
use crate::telemetry::metrics::{Metrics, SourceLabels};
use crate::telemetry::{self, Stats, StatsSnapshot};

mod clean;
mod deliver;
mod fetch;
mod observe;
mod outcome;
mod poll;
mod reload;
mod replay;
#[cfg(test)]
mod testing;

use self::clean::CleanPage;
use self::fetch::Page;
use self::observe::{AbortOnDrop, Observer, Queues};
pub use self::reload::{ReloadError, Reloader, WATCH_INTERVAL};
use self::replay::RetryAlarm;

/// Longest wait for a host's politeness slot in `once` mode.
const ONCE_MAX_WAIT: Duration = Duration::from_secs(600);

/// Longest wait for a host's politeness slot in the daemon.
const DAEMON_MAX_WAIT: Duration = Duration::from_secs(5);

/// Why the pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The state store could not be opened.
    #[error(transparent)]
    State(#[from] StateError),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(#[from] FetchError),
    /// The telemetry endpoint's address could not be bound.
    #[error("cannot listen on {addr} (telemetry.listen): {source}")]
    Listen {
        /// The configured address.
        addr: std::net::SocketAddr,
        /// Why binding failed.
        source: std::io::Error,
    },
    /// A sink could not be set up.
    #[error("output: {0}")]
    Sink(#[from] sink::SinkError),
    /// The state store cannot work again in this process (an I/O error it
    /// does not recover from, a damaged file); the daemon stopped so a
    /// supervisor can restart it.
    #[error(
        "state store failed: {0}; stopped so that a restart reopens it (accepted articles stay pending)"
    )]
    StateFailed(String),
    /// A stage crashed (a bug); the daemon stopped so a supervisor can restart it.
    #[error("pipeline stage crashed: {0}; unfinished articles stay pending for the next start")]
    StageCrashed(String),
}

/// Everything the stages share.
struct Context {
    /// The configuration the daemon started with. Sources and fetch settings
    /// are reloadable and read from `roster` and `fetcher`; the rest of this
    /// stays until a restart.
    config: Config,
    /// The sources being followed, with their compiled rules.
    roster: Arc<Roster>,
    state: State,
    /// The stories written within `[dedup] retention`, for near-duplicates.
    stories: StoryMemory,
    fetcher: Fetcher,
    sinks: Vec<Box<dyn Sink>>,
    /// URL canonicalisation with the configured tracking parameters.
    canon: dedup::UrlCanon,
    stats: Arc<Stats>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    started_at: DateTime<Utc>,
    /// Wakes the retry sweep for a retry due before its next round.
    retry_alarm: RetryAlarm,
}

/// The assembled daemon, ready to run.
pub struct Pipeline {
    ctx: Arc<Context>,
    /// Tells the scheduler that the roster changed.
    reload_tx: mpsc::UnboundedSender<()>,
    reload_rx: mpsc::UnboundedReceiver<()>,
    /// The telemetry endpoint's socket, bound at start.
    listener: Option<std::net::TcpListener>,
}

impl Pipeline {
    /// Opens the state store, binds the telemetry endpoint (if configured),
    /// builds the HTTP clients and the sinks.
    pub fn new(config: Config, shutdown: CancellationToken) -> Result<Self, PipelineError> {
        let state = State::open_with_cache(&config.state.dir, config.state.cache_mib << 20)?;
        let canon = dedup::UrlCanon::new(&config.dedup.tracking_params);
        let listener = config
            .telemetry
            .listen
            .map(|addr| {
                telemetry::server::bind(addr)
                    .map_err(|source| PipelineError::Listen { addr, source })
            })
            .transpose()?;
        let stats = Arc::new(Stats::default());
        let metrics = Arc::new(Metrics::new(Arc::clone(&stats)));
        let fetcher =
            Fetcher::new(&config, Some(state.clone()))?.with_metrics(Arc::clone(&metrics));
        let sinks = sink::build(&config.output, &state, &stats)?;
        let roster = Arc::new(Roster::new(&config.sources));
        metrics.sources.set(roster.len() as i64);
        let (reload_tx, reload_rx) = mpsc::unbounded_channel();
        Ok(Self {
            ctx: Arc::new(Context {
                config,
                roster,
                stories: StoryMemory::new(Arc::new(state.clone())),
                state,
                fetcher,
                sinks,
                canon,
                stats,
                metrics,
                shutdown,
                started_at: Utc::now(),
                retry_alarm: RetryAlarm::default(),
            }),
            reload_tx,
            reload_rx,
            listener,
        })
    }

    /// The counters, for progress reports while the pipeline runs.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.ctx.stats)
    }

    /// The state store, for what is left pending after a run.
    pub fn state(&self) -> State {
        self.ctx.state.clone()
    }

    /// The metrics registry, for the per-source summary after a run.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.ctx.metrics)
    }

    /// A handle that applies a new configuration to the running pipeline.
    pub fn reloader(&self) -> Reloader {
        Reloader::new(Arc::clone(&self.ctx), self.reload_tx.clone())
    }

    /// Runs until every source was polled once and its articles processed
    /// ([`Mode::Once`]) or until shutdown ([`Mode::Continuous`]). A crashed
    /// stage stops the whole pipeline: running on without it would poll
    /// feeds and never deliver.
    pub async fn run(self, mode: Mode) -> Result<StatsSnapshot, PipelineError> {
        let Self {
            ctx,
            reload_tx,
            reload_rx,
            listener,
        } = self;
        // Reloaders keep their own sender; this one is not needed.
        drop(reload_tx);
        let capacity = ctx.config.pipeline.queue_capacity;
        let (poll_tx, poll_rx) = mpsc::channel(capacity);
        // Unbounded but small: at most one message per source, as a source has at most one poll in flight.
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let (job_tx, job_rx) = mpsc::channel(capacity);
        // Pages and articles can be megabytes each: queue only a few per cleaner.
        let heavy_capacity = capacity.min(2 * ctx.config.pipeline.clean_workers());
        let (page_tx, page_rx) = mpsc::channel(heavy_capacity);
        let (article_tx, article_rx) = mpsc::channel::<CleanPage>(heavy_capacity);

        let queues = Queues {
            polls: poll_tx.downgrade(),
            jobs: job_tx.downgrade(),
            pages: page_tx.downgrade(),
            articles: article_tx.downgrade(),
        };
        // Outside the stage set: the endpoint answers until the stages are done.
        let endpoint = listener.map(|listener| {
            let observed = Arc::new(Observer {
                ctx: Arc::clone(&ctx),
                queues,
            });
            tokio::spawn(telemetry::server::serve(listener, observed))
        });
        let _stop_endpoint = endpoint.map(AbortOnDrop);

        let scheduler = Scheduler::new(
            Arc::clone(&ctx.roster),
            poll_tx,
            done_rx,
            reload_rx,
            ctx.shutdown.clone(),
        );

        let mut tasks = JoinSet::new();
        tasks.spawn(scheduler.run(mode));
        // Not one of the stages: `once` ends when they do, whatever this waits for.
        let store_watch = tokio::spawn(stop_when_the_store_fails(Arc::clone(&ctx)));
        tasks.spawn(replay::replay_pending(
            Arc::clone(&ctx),
            job_tx.clone(),
            mode,
        ));
        // `once` must finish its work, so it waits for polite slots however
        // far away; the daemon hands a far slot back to the retry queue so a
        // worker is not held by one slow host.
        let max_wait = match mode {
            Mode::Once => ONCE_MAX_WAIT,
            Mode::Continuous => DAEMON_MAX_WAIT,
        };
        tasks.spawn(poll::feed_stage(
            Arc::clone(&ctx),
            poll_rx,
            done_tx,
            job_tx,
            max_wait,
            mode,
        ));
        tasks.spawn(fetch::fetch_stage(
            Arc::clone(&ctx),
            job_rx,
            page_tx,
            max_wait,
        ));
        tasks.spawn(clean::clean_stage(Arc::clone(&ctx), page_rx, article_tx));
        tasks.spawn(deliver::deliver_stage(Arc::clone(&ctx), article_rx));

        let grace = ctx.config.pipeline.shutdown_grace;
        let deadline = async {
            ctx.shutdown.cancelled().await;
            tokio::time::sleep(grace).await;
        };
        tokio::pin!(deadline);
        let mut crash = None;
        loop {
            tokio::select! {
                joined = tasks.join_next() => match joined {
                    None => break,
                    Some(Err(e)) if e.is_panic() => {
                        error!("pipeline stage crashed: {e}; shutting down");
                        crash.get_or_insert(e.to_string());
                        ctx.shutdown.cancel();
                    }
                    Some(_) => {}
                },
                _ = &mut deadline => {
                    warn!(
                        "in-flight work still running {}s after shutdown; abandoning it \
                         (it stays pending and is processed after the next start)",
                        grace.as_secs_f32()
                    );
                    tasks.shutdown().await;
                    break;
                }
            }
        }
        // `once` that ran to its end waits for broker sinks to deliver what
        // they accepted (each sink's own limit); after a signal or a crash the
        // shutdown grace bounds that wait. What is left stays queued.
        let limit = (mode == Mode::Continuous || ctx.shutdown.is_cancelled()).then_some(grace);
        for sink in &ctx.sinks {
            sink.close(limit).await;
        }
        store_watch.abort();
        if let Some(failure) = ctx.state.health().fatal() {
            return Err(PipelineError::StateFailed(failure));
        }
        match crash {
            Some(message) => Err(PipelineError::StageCrashed(message)),
            None => Ok(ctx.stats.snapshot()),
        }
    }
}

/// Stops the daemon when the state store cannot work again in this process:
/// running on would only fail every poll while looking alive.
async fn stop_when_the_store_fails(ctx: Arc<Context>) {
    tokio::select! {
        _ = ctx.shutdown.cancelled() => {}
        failure = ctx.state.health().fatal_failure() => {
            error!("state store failed: {failure}; stopping so that a restart reopens it");
            ctx.shutdown.cancel();
        }
    }
}

/// Runs `handle` on every item of `rx`, `concurrency` at a time. With `stop`
/// set, stops taking items once it is cancelled (items left in the channel stay
/// pending in the state store).
async fn for_each_concurrent<T, F, Fut>(
    mut rx: mpsc::Receiver<T>,
    concurrency: usize,
    stop: Option<CancellationToken>,
    handle: F,
) where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = ()>,
{
    let items = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    match stop {
        Some(token) => {
            items
                .take_until(token.cancelled_owned())
                .for_each_concurrent(concurrency, handle)
                .await
        }
        None => items.for_each_concurrent(concurrency, handle).await,
    }
}

/// Sends a job downstream, giving up on shutdown (the job stays pending in the
/// state store). Returns false when nothing more should be sent.
async fn send_job(ctx: &Context, jobs: &mpsc::Sender<ArticleJob>, job: ArticleJob) -> bool {
    tokio::select! {
        _ = ctx.shutdown.cancelled() => false,
        sent = jobs.send(job) => sent.is_ok(),
    }
}

/// The metric labels of `source`.
fn source_labels(source: &str) -> SourceLabels {
    SourceLabels {
        source: source.to_string(),
    }
}
