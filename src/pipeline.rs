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

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, error, info, info_span, warn, warn_span};
use url::Url;

use crate::article::{self, Article, ArticleJob, EntryHints};
use crate::boilerplate;
use crate::clean;
use crate::config::Config;
use crate::dedup;
use crate::dedup::{Story, StoryMemory};
use crate::feed;
use crate::fetch::{self, FetchError, Fetcher, Validators};
use crate::plural::count;
use crate::roster::Roster;
use crate::schedule::{Mode, PollDone, PollRequest, Scheduler};
use crate::sink::{self, Sighting, SightingKind, Sink};
use crate::state::{FeedState, Outcome, Retry, RetryPolicy, Setback, State, StateError};
use crate::telemetry::metrics::{Metrics, SourceLabels};
use crate::telemetry::{self, Stats, StatsSnapshot};

mod observe;
mod reload;

use self::observe::{AbortOnDrop, Observer, Queues};
pub use self::reload::{ReloadError, Reloader, WATCH_INTERVAL};

/// Pending jobs are replayed in batches of this size to keep start-up memory flat.
const REPLAY_BATCH: usize = 256;

/// How often (at most) the continuous daemon looks for failed articles due for a retry.
const RETRY_SWEEP: Duration = Duration::from_secs(15);

/// A poll running this long gives its `feed_concurrency` slot to the next
/// feed (see `feed_stage`).
const SLOW_POLL: Duration = Duration::from_secs(5);

/// Most links one poll accepts (feeds list tens; a runaway one hundreds of
/// thousands, in one state-store transaction).
const MAX_LINKS_PER_POLL: usize = 5_000;

/// Longest article link accepted from a feed: the length RFC 9110 asks
/// every server and client to support.
const MAX_LINK_BYTES: usize = 8_000;

/// Longest wait for a host's politeness slot in `once` mode.
const ONCE_MAX_WAIT: Duration = Duration::from_secs(600);
/// Longest wait for a host's politeness slot in the daemon.
const DAEMON_MAX_WAIT: Duration = Duration::from_secs(5);

/// How often the deliver stage forgets stories older than `[dedup] retention`.
const STORY_PRUNE_EVERY: Duration = Duration::from_secs(3600);

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

/// A clean article on its way to the sinks.
struct CleanPage {
    job: ArticleJob,
    article: Article,
    /// Fingerprint of the body, when near-duplicate matching is on and the
    /// body is long enough.
    signature: Option<dedup::Signature>,
    /// Fingerprints of the page's blocks dropped as learned template; they are
    /// counted again when the article is delivered, to keep what was learned fresh.
    template_hits: HashSet<u64>,
}

/// A fetched article page on its way to the cleaner (still bytes: decoding
/// a large body is CPU work, done on the cleaner's blocking thread).
struct Page {
    job: ArticleJob,
    final_url: Url,
    content_type: Option<String>,
    body: Vec<u8>,
    fetched_at: DateTime<Utc>,
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

/// The earliest retry scheduled since the retry sweep last looked, so a
/// server's `Retry-After: 2` is honoured in 2 s, not at the next sweep.
#[derive(Default)]
struct RetryAlarm {
    earliest: std::sync::Mutex<Option<DateTime<Utc>>>,
    wake: tokio::sync::Notify,
}

impl RetryAlarm {
    /// Notes a retry due `at`.
    fn set(&self, at: DateTime<Utc>) {
        let mut earliest = self.earliest.lock().unwrap_or_else(|e| e.into_inner());
        if earliest.is_none_or(|t| at < t) {
            *earliest = Some(at);
            self.wake.notify_one();
        }
    }

    /// How long the sweep may sleep, at most `max`: until the earliest
    /// retry noted, if that comes sooner (it is then forgotten: the sweep
    /// will have taken it).
    fn pause(&self, max: Duration) -> Duration {
        let mut earliest = self.earliest.lock().unwrap_or_else(|e| e.into_inner());
        let Some(at) = *earliest else { return max };
        let until = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        if until <= max {
            *earliest = None;
            // A little past the due time, so the job is due when looked for.
            until + Duration::from_millis(10)
        } else {
            max
        }
    }
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
        let sinks = sink::build(&config, &state, &stats)?;
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
        tasks.spawn(replay_pending(Arc::clone(&ctx), job_tx.clone(), mode));
        // `once` must finish its work, so it waits for polite slots however
        // far away; the daemon hands a far slot back to the retry queue so a
        // worker is not held by one slow host.
        let max_wait = match mode {
            Mode::Once => ONCE_MAX_WAIT,
            Mode::Continuous => DAEMON_MAX_WAIT,
        };
        tasks.spawn(feed_stage(
            Arc::clone(&ctx),
            poll_rx,
            done_tx,
            job_tx,
            max_wait,
            mode,
        ));
        tasks.spawn(fetch_stage(Arc::clone(&ctx), job_rx, page_tx, max_wait));
        tasks.spawn(clean_stage(Arc::clone(&ctx), page_rx, article_tx));
        tasks.spawn(deliver_stage(Arc::clone(&ctx), article_rx));

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

/// Feeds pending jobs back into the fetch stage: first those left by an
/// earlier run, then (in continuous mode, every [`RETRY_SWEEP`] or
/// `pipeline.retry_backoff` if shorter) failed jobs whose retry time has come.
/// Retries do not wait for the feed to list the link again: an unchanged feed
/// answers 304 and lists nothing.
async fn replay_pending(ctx: Arc<Context>, jobs: mpsc::Sender<ArticleJob>, mode: Mode) {
    match ctx.state.release_undelivered().await {
        Ok(0) => {}
        Ok(n) => info!(
            count = n,
            "articles a sink could not take in an earlier run are tried again now"
        ),
        Err(e) => warn!("cannot release undelivered articles (they wait for their retry): {e}"),
    }
    let mut after = None;
    let mut replayed = 0u64;
    loop {
        let batch = match ctx.state.pending_after(after.clone(), REPLAY_BATCH).await {
            Ok(batch) => batch,
            Err(e) => {
                error!("cannot replay pending articles: {e}");
                break;
            }
        };
        let Some(last) = batch.last() else { break };
        after = Some(last.key.clone());
        for job in batch {
            // Jobs accepted by this run are already on their way; jobs waiting
            // for a retry are handed out by the sweep below when due.
            let this_run = job.accepted_run == ctx.state.run();
            if this_run || job.retry_at.is_some() {
                continue;
            }
            if !send_job(&ctx, &jobs, job).await {
                return;
            }
            replayed += 1;
        }
    }
    if replayed > 0 {
        info!(
            count = replayed,
            "replayed articles left pending by an earlier run"
        );
    }
    loop {
        loop {
            let due = match ctx.state.take_due_retries(REPLAY_BATCH).await {
                Ok(due) => due,
                Err(e) => {
                    error!("cannot read articles due for a retry: {e}");
                    break;
                }
            };
            let complete = due.len() < REPLAY_BATCH;
            for job in due {
                debug!(source = %job.source, url = %job.url, attempt = job.failed_attempts + 1, "retrying article");
                if !send_job(&ctx, &jobs, job).await {
                    return;
                }
            }
            if complete {
                break;
            }
        }
        if mode == Mode::Once {
            return;
        }
        let pause = ctx
            .retry_alarm
            .pause(RETRY_SWEEP.min(ctx.config.pipeline.retry_backoff));
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
            // A retry due sooner than the pause was scheduled meanwhile.
            _ = ctx.retry_alarm.wake.notified() => {}
        }
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

async fn feed_stage(
    ctx: Arc<Context>,
    mut polls: mpsc::Receiver<PollRequest>,
    done: mpsc::UnboundedSender<PollDone>,
    jobs: mpsc::Sender<ArticleJob>,
    max_wait: Duration,
    mode: Mode,
) {
    let concurrency = ctx.config.pipeline.feed_concurrency;
    // `feed_concurrency` polls at once; a poll still running after
    // SLOW_POLL moves to a second pool of as many slots and gives its first
    // one back, so feeds that hang or trickle cannot keep healthy ones from
    // being polled for the minutes their timeouts allow.
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let slow_slots = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut running = tokio::task::JoinSet::new();
    loop {
        let request = tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            request = polls.recv() => match request {
                Some(request) => request,
                None => break,
            },
        };
        let slot = tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (ctx, done, jobs) = (Arc::clone(&ctx), done.clone(), jobs.clone());
        let slow_slots = Arc::clone(&slow_slots);
        // At warning level, so the feed URL it carries is shown with every
        // warning of the poll whatever RUST_LOG says (the lines name it only here).
        let span = warn_span!("poll", source = %request.source.name, feed = %request.source.url);
        running.spawn(
            async move {
                let poll = poll_source(&ctx, &request, &jobs, max_wait, mode);
                tokio::pin!(poll);
                let next_in = tokio::select! {
                    next_in = &mut poll => next_in,
                    _ = tokio::time::sleep(SLOW_POLL) => {
                        let slow = slow_slots.try_acquire_owned().ok();
                        if slow.is_some() {
                            debug!("slow poll: its slot goes to the next feed");
                            drop(slot);
                        }
                        let next_in = poll.await;
                        drop(slow);
                        next_in
                    }
                };
                // The scheduler is gone in once mode; nothing to tell then.
                let _ = done.send(PollDone {
                    source: request.source.name.clone(),
                    next_in,
                });
            }
            .instrument(span),
        );
        while let Some(joined) = running.try_join_next() {
            log_crashed_poll(joined);
        }
    }
    // Polls already running finish (or are abandoned with the stage at the
    // shutdown grace).
    while let Some(joined) = running.join_next().await {
        log_crashed_poll(joined);
    }
}

/// A poll that panicked is a bug: said loudly, while the other sources go on.
fn log_crashed_poll(joined: Result<(), tokio::task::JoinError>) {
    if let Err(e) = joined
        && e.is_panic()
    {
        error!("a feed poll crashed: {e}");
    }
}

/// Polls one feed, accepts its new links and passes them on. Returns the
/// time to the next poll when it differs from the interval (backing off).
async fn poll_source(
    ctx: &Context,
    request: &PollRequest,
    jobs: &mpsc::Sender<ArticleJob>,
    max_wait: Duration,
    mode: Mode,
) -> Option<Duration> {
    let source = &request.source;
    let mut feed_state = match ctx.state.feed_state(source.name.clone()).await {
        Ok(state) => state.unwrap_or_default(),
        Err(e) => {
            warn!("cannot read feed state, polling unconditionally: {e}");
            FeedState::default()
        }
    };
    // Validators belong to a URL; a source whose URL changed starts afresh.
    let validators =
        (feed_state.feed_url.as_deref() == Some(source.url.as_str())).then(|| Validators {
            etag: feed_state.etag.clone(),
            last_modified: feed_state.last_modified.clone(),
        });
    let result = fetch_and_accept(ctx, request, validators.as_ref(), max_wait).await;
    let now = Utc::now();
    feed_state.last_poll_at = Some(now);
    match result {
        Ok(Polled {
            validators,
            accepted,
        }) => {
            Stats::inc(&ctx.stats.polls_ok);
            let outcome = if validators.is_some() {
                "ok"
            } else {
                "not_modified"
            };
            ctx.metrics.poll(&source.name, outcome);
            ctx.metrics
                .source_failing
                .get_or_create(&source_labels(&source.name))
                .set(0);
            if let Some(v) = validators {
                feed_state.etag = v.etag;
                feed_state.last_modified = v.last_modified;
                feed_state.feed_url = Some(source.url.to_string());
            }
            if feed_state.consecutive_failures > 0 {
                info!(
                    "source {:?} recovered after {}",
                    source.name,
                    count(
                        feed_state.consecutive_failures,
                        "failed poll",
                        "failed polls"
                    )
                );
            }
            feed_state.last_success_at = Some(now);
            feed_state.last_error = None;
            feed_state.consecutive_failures = 0;
            feed_state.once_failures = 0;
            info!(new_articles = accepted.len(), "feed polled");
            store_feed_state(ctx, &source.name, feed_state).await;
            for job in accepted {
                if !send_job(ctx, jobs, job).await {
                    break;
                }
            }
            None
        }
        Err(failure) if failure.kind == "host_busy" => {
            // The host's politeness slot is far off (other sources share it):
            // not a failure, just poll when the slot comes.
            let wait = failure.retry_after.unwrap_or(Duration::from_secs(1));
            info!(
                "feed host not taking requests yet (politeness or Retry-After); polling in {wait:?}"
            );
            Some(wait)
        }
        Err(failure) => {
            Stats::inc(&ctx.stats.polls_failed);
            ctx.metrics.poll(&source.name, "failed");
            ctx.metrics.failure(&source.name, "feed", failure.kind);
            feed_state.consecutive_failures = feed_state.consecutive_failures.saturating_add(1);
            *feed_state
                .failures
                .entry(failure.kind.to_string())
                .or_default() += 1;
            // The feed URL is in the span (`poll{source feed}`), once.
            let next_in = match mode {
                // `once` polls every source each time it is run and has no
                // next poll to put off: its failure is recorded (status shows
                // it) but must not lengthen a later daemon's back-off.
                Mode::Once => {
                    feed_state.once_failures = feed_state.once_failures.saturating_add(1);
                    warn!(
                        "source {:?}: feed poll failed: {}",
                        source.name, failure.message
                    );
                    None
                }
                Mode::Continuous => {
                    let ceiling = ctx.fetcher.max_source_backoff(&source.name);
                    let next_in =
                        source_backoff(source.interval, backoff_failures(&feed_state), ceiling)
                            .max(failure.retry_after.unwrap_or_default());
                    warn!(
                        "source {:?}: feed poll failed: {}; retry in {}",
                        source.name,
                        failure.message,
                        humantime::format_duration(Duration::from_secs(next_in.as_secs().max(1)))
                    );
                    Some(next_in)
                }
            };
            ctx.metrics
                .source_failing
                .get_or_create(&source_labels(&source.name))
                .set(i64::from(feed_state.consecutive_failures));
            feed_state.last_error = Some(failure.message);
            store_feed_state(ctx, &source.name, feed_state).await;
            next_in
        }
    }
}

/// The metric labels of `source`.
fn source_labels(source: &str) -> SourceLabels {
    SourceLabels {
        source: source.to_string(),
    }
}

/// The failures in a row that count for the daemon's back-off: those of
/// `thresher once` do not, so a few runs of `once` while a site is down do
/// not make a later `run` wait hours before its next try.
fn backoff_failures(feed: &FeedState) -> u32 {
    feed.consecutive_failures.saturating_sub(feed.once_failures)
}

/// The wait after `failures` failed polls in a row: the interval, doubled
/// per further failure, up to `ceiling` (or the interval, if longer).
fn source_backoff(interval: Duration, failures: u32, ceiling: Duration) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    interval
        .saturating_mul(1 << doublings)
        .min(ceiling.max(interval))
}

async fn store_feed_state(ctx: &Context, source: &str, feed_state: FeedState) {
    if let Err(e) = ctx
        .state
        .put_feed_state(source.to_string(), feed_state)
        .await
    {
        warn!("cannot store feed state: {e}");
    }
}

/// What a successful poll produced.
struct Polled {
    /// New validators, or `None` after a 304.
    validators: Option<Validators>,
    /// Links accepted (already stored as pending).
    accepted: Vec<ArticleJob>,
}

/// Why a poll failed.
struct PollFailure {
    /// What a user reads in the log.
    message: String,
    /// The failure kind, for counters.
    kind: &'static str,
    /// The server's or politeness's wait, if any.
    retry_after: Option<Duration>,
}

impl From<FetchError> for PollFailure {
    fn from(e: FetchError) -> Self {
        Self {
            message: e.to_string(),
            kind: e.kind(),
            retry_after: e.retry_after(),
        }
    }
}

impl PollFailure {
    fn other(kind: &'static str, message: String) -> Self {
        Self {
            message,
            kind,
            retry_after: None,
        }
    }
}

async fn fetch_and_accept(
    ctx: &Context,
    request: &PollRequest,
    validators: Option<&Validators>,
    max_wait: Duration,
) -> Result<Polled, PollFailure> {
    let source = &request.source;
    let get = |url: Url, validators: Option<Validators>| async move {
        ctx.fetcher
            .get_feed(&source.name, &url, validators.as_ref(), max_wait)
            .await
    };
    let fetched = match get(source.url.clone(), validators.cloned()).await? {
        fetch::Response::NotModified => {
            debug!("feed not modified");
            return Ok(Polled {
                validators: None,
                accepted: Vec::new(),
            });
        }
        fetch::Response::Ok(fetched) => fetched,
    };
    let validators = fetched.validators.clone();
    let mut parsed = parse_feed(fetched).await;
    if let Err(feed::FeedError::Html { advertised }) = &parsed {
        // A site's home or section page given as the feed: follow the feed it advertises.
        let Some(feed_url) = advertised.first().cloned() else {
            return Err(PollFailure::other(
                "not_a_feed",
                "the URL serves an HTML page that advertises no feed (no <link rel=\"alternate\" type=\"application/rss+xml\">)".into(),
            ));
        };
        debug!(%feed_url, "the URL serves HTML; following its advertised feed");
        parsed = match get(feed_url.clone(), None).await {
            Ok(fetch::Response::Ok(alt)) => parse_feed(alt).await,
            Ok(fetch::Response::NotModified) => Ok(feed::Parsed::default()),
            Err(e) => {
                let mut failure = PollFailure::from(e);
                failure.message = format!("advertised feed {feed_url}: {}", failure.message);
                return Err(failure);
            }
        };
    }
    let parsed = parsed.map_err(|e| {
        let kind = match e {
            feed::FeedError::Unsupported(_) => "unsupported_feed",
            feed::FeedError::Html { .. } => "not_a_feed",
            feed::FeedError::Parse(_) => "bad_feed",
        };
        PollFailure::other(kind, e.to_string())
    })?;
    if !parsed.repairs.is_empty() {
        info!(
            "source {:?}: feed recovered from: {}",
            source.name,
            parsed.repairs.join(", ")
        );
    }
    if parsed.entries.is_empty() && parsed.listed > 0 {
        // Worse than a failure if it passed as one: the source would look
        // healthy while every article is lost.
        return Err(PollFailure::other(
            "no_entries",
            format!(
                "the feed lists {} but none has a usable http(s) link; nothing was accepted",
                count(parsed.listed, "entry", "entries")
            ),
        ));
    }
    let unusable = parsed.listed.saturating_sub(parsed.entries.len());
    if unusable > 0 {
        debug!(unusable, "feed entries without a usable link skipped");
    }
    // No server takes a URL this long (100 KB links were once retried for an
    // hour and logged whole); they are not links to articles.
    let (mut entries, overlong): (Vec<_>, Vec<_>) = parsed
        .entries
        .into_iter()
        .partition(|entry| entry.link.as_str().len() <= MAX_LINK_BYTES);
    if entries.len() > MAX_LINKS_PER_POLL {
        // One transaction per poll: bounded, so one huge feed cannot stall
        // the store for everyone. Entries past the cap come in later polls
        // if the feed still lists them.
        warn!(
            "source {:?}: the feed lists {} entries; the first {MAX_LINKS_PER_POLL} are taken this poll",
            source.name,
            entries.len()
        );
        entries.truncate(MAX_LINKS_PER_POLL);
    }
    if !overlong.is_empty() {
        warn!(
            "source {:?}: {} longer than {MAX_LINK_BYTES} bytes skipped",
            source.name,
            count(overlong.len(), "link", "links")
        );
    }
    let jobs: Vec<ArticleJob> = entries
        .into_iter()
        .map(|entry| ArticleJob {
            key: ctx.canon.article_id(&entry.link),
            legacy_key: ctx.canon.legacy_article_id(&entry.link),
            undelivered: None,
            url: entry.link,
            source: source.name.clone(),
            feed_url: source.url.clone(),
            entry: EntryHints {
                title: entry.title,
                published_at: entry.published_at,
                authors: entry.authors,
                categories: entry.categories,
            },
            accepted_run: 0,
            failed_attempts: 0,
            retry_at: None,
        })
        .collect();
    let accepted = ctx
        .state
        .accept_listed(jobs)
        .await
        .map_err(|e| PollFailure::other("state", e.to_string()))?;
    Stats::add(&ctx.stats.links_accepted, accepted.jobs.len() as u64);
    // The same article as another source's: counted where it was listed
    // second, as a page redirecting to a written article is.
    let listed_elsewhere = accepted.listed_first_by_another;
    if listed_elsewhere > 0 {
        debug!(
            count = listed_elsewhere,
            "links another source's feed listed first: duplicates"
        );
        Stats::add(&ctx.stats.duplicates, listed_elsewhere);
        ctx.metrics
            .duplicates
            .get_or_create(&source_labels(&source.name))
            .inc_by(listed_elsewhere);
    }
    Ok(Polled {
        validators: Some(validators),
        accepted: accepted.jobs,
    })
}

/// Parses a feed (or discovers the feed an HTML page advertises) off the
/// reactor: it is CPU work on an untrusted, possibly large document.
async fn parse_feed(fetched: fetch::Fetched) -> Result<feed::Parsed, feed::FeedError> {
    tokio::task::spawn_blocking(move || {
        feed::parse(
            &fetched.body,
            &fetched.final_url,
            fetched.content_type.as_deref(),
        )
    })
    .await
    .unwrap_or_else(|e| Err(feed::FeedError::Parse(format!("feed parser crashed: {e}"))))
}

async fn fetch_stage(
    ctx: Arc<Context>,
    jobs: mpsc::Receiver<ArticleJob>,
    pages: mpsc::Sender<Page>,
    max_wait: Duration,
) {
    let concurrency = ctx.config.pipeline.fetch_concurrency;
    for_each_concurrent(jobs, concurrency, Some(ctx.shutdown.clone()), |job| {
        let (ctx, pages) = (Arc::clone(&ctx), pages.clone());
        let span = info_span!("article", source = %job.source, url = %job.url);
        async move {
            match fetch_page(&ctx, &job, max_wait).await {
                Ok(fetched) => {
                    let page = Page {
                        job,
                        final_url: fetched.final_url,
                        content_type: fetched.content_type,
                        body: fetched.body,
                        fetched_at: Utc::now(),
                    };
                    // Only fails when the cleaner is gone (abandoned shutdown); the job stays pending.
                    let _ = pages.send(page).await;
                }
                Err(PageError::Fetch(FetchError::HostBusy { wait })) => {
                    // Politeness, not failure: no attempt is used up.
                    let reason = format!("host not taking requests for {wait:?}");
                    retry_later(&ctx, job, reason, Setback::Wait(wait)).await;
                }
                Err(PageError::Fetch(FetchError::RobotsUnavailable { wait })) => {
                    // The page was never asked for: nothing about it failed.
                    // It waits for robots.txt (asked again every 10 min).
                    count_failure(&ctx, &job.source, "robots_unavailable").await;
                    let reason = "robots.txt unavailable".to_string();
                    retry_later(&ctx, job, reason, Setback::Wait(wait)).await;
                }
                Err(e) if e.is_transient() => {
                    count_failure(&ctx, &job.source, e.kind()).await;
                    let setback = Setback::Attempt {
                        retry_after: e.retry_after(),
                    };
                    retry_later(&ctx, job, e.to_string(), setback).await;
                }
                Err(e) => {
                    count_failure(&ctx, &job.source, e.kind()).await;
                    Stats::inc(&ctx.stats.failed);
                    warn!(
                        "source {:?}: article {}: {e}; not retried",
                        job.source, job.url
                    );
                    let reason = e.to_string();
                    finish(&ctx, job.key, Outcome::Rejected { reason }).await;
                }
            }
        }
        .instrument(span)
    })
    .await;
}

/// Why an article page could not be used.
#[derive(Debug, thiserror::Error)]
enum PageError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("not an HTML page (Content-Type {0})")]
    NotHtml(String),
    #[error("server answered 304 Not Modified to an unconditional request")]
    NotModified,
}

impl PageError {
    /// A short name of the failure kind, for counters.
    fn kind(&self) -> &'static str {
        match self {
            Self::Fetch(e) => e.kind(),
            Self::NotHtml(_) => "not_html",
            Self::NotModified => "http_304",
        }
    }

    fn is_transient(&self) -> bool {
        match self {
            Self::Fetch(e) => e.is_transient(),
            Self::NotHtml(_) => false,
            Self::NotModified => true,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Fetch(e) => e.retry_after(),
            _ => None,
        }
    }
}

async fn fetch_page(
    ctx: &Context,
    job: &ArticleJob,
    max_wait: Duration,
) -> Result<fetch::Fetched, PageError> {
    let fetched = match ctx
        .fetcher
        .get_page(&job.source, &job.url, max_wait)
        .await?
    {
        fetch::Response::Ok(fetched) => fetched,
        fetch::Response::NotModified => return Err(PageError::NotModified),
    };
    if let Some(content_type) = &fetched.content_type {
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let html_like = mime.is_empty()
            || mime == "text/html"
            || mime == "application/xhtml+xml"
            || mime == "text/plain";
        if !html_like {
            return Err(PageError::NotHtml(content_type.clone()));
        }
    }
    Ok(fetched)
}

async fn clean_stage(
    ctx: Arc<Context>,
    pages: mpsc::Receiver<Page>,
    articles: mpsc::Sender<CleanPage>,
) {
    let workers = ctx.config.pipeline.clean_workers();
    // No stop token: cleaning is local and quick, so on shutdown the queue drains.
    for_each_concurrent(pages, workers, None, |page| {
        let (ctx, articles) = (Arc::clone(&ctx), articles.clone());
        let span = info_span!("clean", source = %page.job.source, url = %page.final_url);
        async move {
            let job = page.job.clone();
            match clean_page(&ctx, page).await {
                Ok(clean) => {
                    let _ = articles.send(clean).await;
                }
                Err((kind, reason)) => {
                    Stats::inc(&ctx.stats.rejected);
                    ctx.metrics.failure(&job.source, "article", kind);
                    info!(
                        "source {:?}: article {}: skipped: {reason}",
                        job.source, job.url
                    );
                    finish(&ctx, job.key, Outcome::Rejected { reason }).await;
                }
            }
        }
        .instrument(span)
    })
    .await;
}

/// Decodes and cleans a page on the blocking pool (both are CPU-bound), with
/// the source's rules and the host's learned template, and assembles the
/// article. An error is final for the link: its kind (for counters) and reason.
async fn clean_page(ctx: &Context, page: Page) -> Result<CleanPage, (&'static str, String)> {
    let Page {
        job,
        final_url,
        content_type,
        body,
        fetched_at,
    } = page;
    let host = final_url.host_str().unwrap_or_default().to_string();
    let template = match boilerplate::learned(&ctx.state, host).await {
        Ok(learned) => learned.template(),
        Err(e) => {
            warn!("cannot read learned template, cleaning without it: {e}");
            HashSet::new()
        }
    };
    let rules = ctx.roster.rules(&job.source);
    let base = final_url.clone();
    let entry_title = job.entry.title.clone();
    let dedup_config = &ctx.config.dedup;
    let min_words = dedup_config
        .near_duplicates
        .then_some(dedup_config.min_words);
    let want_markdown = ctx.config.output.markdown;
    let (cleaned, template_hits, signature, took) = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let html = fetch::decode_html(&body, content_type.as_deref());
        let hits = Mutex::new(HashSet::new());
        let is_template = |block: &str| {
            let hash = boilerplate::fingerprint(block);
            let known = template.contains(&hash);
            if known && let Ok(mut hits) = hits.lock() {
                hits.insert(hash);
            }
            known
        };
        let options = clean::Options {
            rules: rules.as_deref(),
            is_boilerplate: (!template.is_empty())
                .then_some(&is_template as clean::BoilerplateTest<'_>),
            explain: false,
        };
        let cleaned = clean::clean_with(&html, Some(&base), &options);
        // The same headline `assemble` picks, so a headline the cleaner left
        // in the body is left out of the fingerprint.
        let signature = match (&cleaned, min_words) {
            (Ok(cleaned), Some(min_words)) => {
                let title = cleaned.title.as_ref().or(entry_title.as_ref());
                let words = dedup::body_words(title.map_or("", String::as_str), &cleaned.text);
                dedup::Signature::of_words(&words, min_words)
            }
            _ => None,
        };
        let markdown = match &cleaned {
            Ok(cleaned) if want_markdown => Some(clean::markdown(&cleaned.html)),
            _ => None,
        };
        (
            cleaned.map(|c| (c, markdown)),
            hits.into_inner().unwrap_or_default(),
            signature,
            started.elapsed(),
        )
    })
    .await
    .map_err(|e| ("crashed", format!("cleaner crashed on this page: {e}")))?;
    ctx.metrics.clean_seconds.observe(took.as_secs_f64());
    let (cleaned, markdown) = cleaned.map_err(|e| (e.kind(), e.to_string()))?;
    let mut article = assemble(&ctx.canon, job.clone(), final_url, fetched_at, cleaned);
    article.markdown = markdown;
    Ok(CleanPage {
        article,
        job,
        signature,
        template_hits,
    })
}

/// Combines what the page says with what the feed said into the output record.
fn assemble(
    canon: &dedup::UrlCanon,
    job: ArticleJob,
    final_url: Url,
    fetched_at: DateTime<Utc>,
    cleaned: clean::Cleaned,
) -> Article {
    let canonical_url = canon.identity_url(&final_url, cleaned.canonical_url.as_ref());
    let reading = article::reading(&cleaned.text);
    let authors = if cleaned.authors.is_empty() {
        job.entry.authors
    } else {
        cleaned.authors
    };
    Article {
        id: canon.article_id(&canonical_url),
        url: final_url,
        canonical_url,
        source: job.source,
        feed_url: job.feed_url,
        title: cleaned.title.or(job.entry.title).unwrap_or_default(),
        subtitle: cleaned.subtitle,
        authors,
        published_at: article::publication_time(cleaned.published_at, job.entry.published_at),
        updated_at: cleaned.updated_at,
        image: cleaned.image,
        images: cleaned.images,
        site_name: cleaned.site_name,
        description: cleaned.description,
        section: cleaned.section,
        tags: if cleaned.tags.is_empty() {
            job.entry.categories
        } else {
            cleaned.tags
        },
        word_count: reading.words,
        reading_time_minutes: reading.minutes,
        language: cleaned.language,
        text: cleaned.text,
        html: cleaned.html,
        markdown: None,
        fetched_at,
        also_seen_at: Vec::new(),
    }
}

/// Drops articles already delivered and copies of stories already written
/// (recording where they were seen), writes the rest to every sink, and
/// marks each link done only after the sinks have it. Sequential on purpose:
/// the "seen before?" checks and the write must not race, neither for one id
/// nor for two copies of one story.
async fn deliver_stage(ctx: Arc<Context>, mut articles: mpsc::Receiver<CleanPage>) {
    let mut last_prune = None;
    while let Some(clean) = articles.recv().await {
        if last_prune.is_none_or(|at: std::time::Instant| at.elapsed() >= STORY_PRUNE_EVERY) {
            forget_old_stories(&ctx).await;
            last_prune = Some(std::time::Instant::now());
        }
        let span = info_span!("deliver", source = %clean.article.source, url = %clean.article.url);
        deliver(&ctx, clean).instrument(span).await;
    }
}

/// The article with an id its page deserves. An id taken from a declared
/// canonical link that names another page makes this page a duplicate of
/// what was written under it only if the bodies agree (or it is that very
/// page): a template with one constant canonical (`/latest`) would
/// otherwise file every later story of the site as a duplicate of the
/// first. Failing that, the page is identified by its own URL.
async fn trusted_identity(
    ctx: &Context,
    mut article: Article,
    signature: Option<&dedup::Signature>,
) -> Article {
    let page = ctx.canon.canonical_url(&article.url);
    let page_id = ctx.canon.article_id(&page);
    if page_id == article.id
        || !matches!(ctx.state.is_delivered(article.id.clone()).await, Ok(true))
    {
        return article;
    }
    let original = ctx.stories.story(article.id.clone()).await.ok().flatten();
    let same_page = original.as_ref().is_some_and(|o| {
        Url::parse(&o.url)
            .is_ok_and(|u| ctx.canon.article_id(&ctx.canon.canonical_url(&u)) == page_id)
    });
    let bodies_agree = match (
        original.as_ref().and_then(|o| o.signature.as_ref()),
        signature,
    ) {
        (Some(theirs), Some(ours)) => theirs.similarity(ours) >= ctx.config.dedup.body_similarity,
        _ => false,
    };
    if same_page || bodies_agree {
        return article;
    }
    warn!(
        canonical = %article.canonical_url,
        "the page's canonical link names an article already written with a different body; \
         identifying this page by its own URL"
    );
    article.id = page_id;
    article.canonical_url = page;
    article
}

/// Forgets stories older than `[dedup] retention`, and origin and source
/// records unused for [`crate::state::IDLE_RETENTION`].
async fn forget_old_stories(ctx: &Context) {
    let retention =
        chrono::Duration::from_std(ctx.config.dedup.retention).unwrap_or(chrono::Duration::MAX);
    let cutoff = Utc::now() - retention;
    match ctx.stories.forget_before(cutoff).await {
        Ok(0) => {}
        Ok(n) => info!(count = n, "forgot stories older than the dedup retention"),
        Err(e) => warn!("cannot forget old stories (tried again in an hour): {e}"),
    }
    let idle_cutoff = crate::clock::utc_before(Utc::now(), crate::state::IDLE_RETENTION);
    match ctx.state.forget_idle_rows(idle_cutoff).await {
        Ok(forgotten) if forgotten.rows > 0 => info!(
            rows = forgotten.rows,
            "forgot origin and source records unused for 30 days"
        ),
        Ok(_) => {}
        Err(e) => {
            warn!("cannot forget idle origin and source records (tried again in an hour): {e}")
        }
    }
}

async fn deliver(ctx: &Context, clean: CleanPage) {
    let CleanPage {
        job,
        article,
        signature,
        template_hits,
    } = clean;
    let article = trusted_identity(ctx, article, signature.as_ref()).await;
    match ctx.state.is_delivered(article.id.clone()).await {
        Ok(true) => {
            info!(id = %article.id, "duplicate of an article already written");
            // Where the link differs from the article's own URL (a redirect,
            // a canonical link), the article learns it was seen there too.
            let original = match ctx.stories.story(article.id.clone()).await {
                Ok(original) => original,
                Err(e) => {
                    warn!("cannot read the original article's record: {e}");
                    None
                }
            };
            let job = match original {
                Some(original) => {
                    let kind = SightingKind::SameArticle;
                    let sighting = sighting(ctx, &job, &article, &original, kind, 1.0);
                    let Some(job) = note_sighting(ctx, job, &sighting).await else {
                        return;
                    };
                    job
                }
                None => job,
            };
            // Counted once recorded: a postponed sighting comes back here.
            Stats::inc(&ctx.stats.duplicates);
            count_source_duplicate(ctx, &article.source);
            let outcome = Outcome::Duplicate {
                article_id: article.id,
            };
            finish(ctx, job.key, outcome).await;
            return;
        }
        Ok(false) => {}
        Err(e) => {
            // Without the answer, writing is safe: sinks are idempotent per id.
            warn!("cannot check for duplicates: {e}");
        }
    }
    if let Some(signature) = &signature {
        let found = ctx
            .stories
            .find_same_story(
                signature.clone(),
                article.title.clone(),
                article.id.clone(),
                ctx.config.dedup.thresholds(),
            )
            .await;
        match found {
            Ok(Some(found)) => {
                info!(
                    id = %article.id,
                    original = %found.story.id,
                    original_url = %found.story.url,
                    body_similarity = found.body_similarity,
                    title_similarity = found.title_similarity,
                    "another copy of a story already written; recorded as seen there"
                );
                let sighting = sighting(
                    ctx,
                    &job,
                    &article,
                    &found.story,
                    SightingKind::NearDuplicate,
                    found.body_similarity,
                );
                let Some(job) = note_sighting(ctx, job, &sighting).await else {
                    return;
                };
                Stats::inc(&ctx.stats.near_duplicates);
                // Per source, a copy is a duplicate like any other page not written.
                count_source_duplicate(ctx, &article.source);
                let outcome = Outcome::NearDuplicate {
                    article_id: found.story.id,
                };
                finish(ctx, job.key, outcome).await;
                return;
            }
            Ok(None) => {}
            // Writing a possible copy beats losing an article.
            Err(e) => warn!("cannot look for copies of this story, writing it: {e}"),
        }
    }
    for sink in &ctx.sinks {
        if let Err(e) = sink.write(&article).await {
            // Our failure, not the site's: retry without using up an attempt.
            ctx.metrics.failure(&job.source, "article", "sink");
            let reason = format!("{} sink: {e}", sink.name());
            retry_later(ctx, job, reason, Setback::Postpone).await;
            return;
        }
    }
    Stats::inc(&ctx.stats.articles_written);
    ctx.metrics
        .articles_written
        .get_or_create(&source_labels(&article.source))
        .inc();
    info!(id = %article.id, title = %article.title, "article written");
    learn_template(ctx, &article, template_hits).await;
    let story = Story {
        id: article.id.clone(),
        source: article.source.clone(),
        url: article.url.to_string(),
        title: article.title.clone(),
        seen_at: Utc::now(),
        signature,
    };
    let outcome = Outcome::Written {
        article_id: article.id,
    };
    if let Err(e) = ctx
        .stories
        .complete_with_story(job.key, outcome, Some(story))
        .await
    {
        error!("cannot record article outcome (it will be processed again): {e}");
    }
}

/// The sighting of `original` at the page of `article`, whose address is
/// given without tracking parameters or fragment.
fn sighting(
    ctx: &Context,
    job: &ArticleJob,
    article: &Article,
    original: &Story,
    kind: SightingKind,
    body_similarity: f64,
) -> Sighting {
    Sighting {
        original_id: original.id.clone(),
        original_source: original.source.clone(),
        url: ctx.canon.canonical_url(&article.url),
        source: job.source.clone(),
        title: article.title.clone(),
        kind,
        body_similarity,
    }
}

/// Counts a page not written because its story was, in the source's metrics.
fn count_source_duplicate(ctx: &Context, source: &str) {
    ctx.metrics
        .duplicates
        .get_or_create(&source_labels(source))
        .inc();
}

/// Records a sighting with every sink and hands the job back; if a sink
/// failed, the job is postponed instead (our failure: no attempt used up).
async fn note_sighting(ctx: &Context, job: ArticleJob, sighting: &Sighting) -> Option<ArticleJob> {
    if record_sighting(ctx, sighting).await {
        return Some(job);
    }
    let reason = "sink could not record a sighting".to_string();
    retry_later(ctx, job, reason, Setback::Postpone).await;
    None
}

/// Tells every sink about a sighting; false if one failed (logged).
async fn record_sighting(ctx: &Context, sighting: &Sighting) -> bool {
    for sink in &ctx.sinks {
        if let Err(e) = sink.duplicate(sighting).await {
            warn!(
                "{} sink: cannot record that article {} was seen at {}: {e}",
                sink.name(),
                sighting.original_id,
                sighting.url
            );
            return false;
        }
    }
    true
}

/// Counts the blocks of a delivered article for its host's learned template.
/// Only delivered articles count: a page fetched again under another URL must
/// not make its own paragraphs look like template.
async fn learn_template(ctx: &Context, article: &Article, template_hits: HashSet<u64>) {
    let Some(host) = article.url.host_str() else {
        return;
    };
    let mut blocks = template_hits;
    blocks.extend(article.text.split("\n\n").map(boilerplate::fingerprint));
    if let Err(e) = boilerplate::learn(&ctx.state, host.to_string(), blocks).await {
        warn!("cannot record learned template for {host}: {e}");
    }
}

/// Schedules a failed job for another attempt, or gives it up at the limit.
async fn retry_later(ctx: &Context, job: ArticleJob, reason: String, setback: Setback) {
    let policy = RetryPolicy {
        max_attempts: ctx.config.pipeline.max_article_attempts,
        backoff: ctx.config.pipeline.retry_backoff,
    };
    let (source, url) = (job.source.clone(), job.url.clone());
    let attempt = match setback {
        Setback::Attempt { .. } => job.failed_attempts + 1,
        Setback::Postpone => job.failed_attempts,
        Setback::Wait(_) => {
            // Waiting for a polite slot is routine, not a failure worth a warning.
            debug!("article {url}: {reason}; queued until the host takes requests");
            match ctx.state.retry_later(job, reason, policy, setback).await {
                Ok(Retry::At(at)) => ctx.retry_alarm.set(at),
                Ok(_) => {}
                Err(e) => error!(
                    "source {source:?}: article {url}: cannot queue it (it stays pending): {e}"
                ),
            }
            return;
        }
    };
    Stats::inc(&ctx.stats.failed);
    match ctx
        .state
        .retry_later(job, reason.clone(), policy, setback)
        .await
    {
        Ok(Retry::At(at)) => {
            ctx.retry_alarm.set(at);
            warn!(
                "source {source:?}: article {url}: {reason}; {attempt} of {} failed, retry at {}",
                count(policy.max_attempts, "attempt", "attempts"),
                at.format("%H:%M:%S UTC")
            )
        }
        Ok(Retry::GaveUp) => {
            warn!(
                "source {source:?}: article {url}: {reason}; giving up after {}",
                count(attempt, "attempt", "attempts")
            )
        }
        Ok(Retry::AlreadyFinished) => {
            debug!(
                "source {source:?}: article {url}: {reason}; already finished by another attempt"
            )
        }
        Err(e) => error!(
            "source {source:?}: article {url}: {reason}; cannot record the failure \
             (the article stays pending for the next start): {e}"
        ),
    }
}

/// Counts a failed article for `check-config` and the metrics; a failure to
/// count is only logged.
async fn count_failure(ctx: &Context, source: &str, kind: &'static str) {
    ctx.metrics.failure(source, "article", kind);
    if let Err(e) = ctx.state.count_failure(source.to_string(), kind).await {
        debug!("cannot count a failure: {e}");
    }
}

/// Records a link's outcome; a failure here only means it is processed again later.
async fn finish(ctx: &Context, key: String, outcome: Outcome) {
    if let Err(e) = ctx.state.complete(key, outcome).await {
        error!("cannot record article outcome (it will be processed again): {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_source_backs_off_up_to_the_ceiling() {
        let (interval, ceiling) = (Duration::from_secs(600), Duration::from_secs(3600));
        let waits: Vec<u64> = (1..=5)
            .map(|n| source_backoff(interval, n, ceiling).as_secs())
            .collect();
        assert_eq!(waits, vec![600, 1200, 2400, 3600, 3600]);
        // A ceiling below the interval never polls more often than configured.
        assert_eq!(
            source_backoff(interval, 3, Duration::from_secs(60)),
            interval
        );
        assert_eq!(
            source_backoff(interval, u32::MAX, ceiling),
            ceiling,
            "no overflow"
        );
    }

    #[test]
    fn failures_seen_by_once_do_not_count_for_the_daemons_back_off() {
        let feed = |consecutive_failures, once_failures| FeedState {
            consecutive_failures,
            once_failures,
            ..FeedState::default()
        };
        // Three offline `once` runs, then the daemon's first failure.
        assert_eq!(backoff_failures(&feed(4, 3)), 1);
        // The daemon's own failures before and after a `once` still compound.
        assert_eq!(backoff_failures(&feed(3, 1)), 2);
        // A record written before `once_failures` existed.
        assert_eq!(backoff_failures(&feed(3, 0)), 3);
    }
}
