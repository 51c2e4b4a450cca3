//! The poll stage: fetches a source's feed (or the feed an HTML page
//! advertises), accepts its new links as pending and passes them on, and
//! keeps the source's poll record (validators, failures, back-off).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tracing::{Instrument, debug, error, info, warn, warn_span};
use url::Url;

use super::{Context, send_job, source_labels};
use crate::article::{ArticleJob, EntryHints};
use crate::feed;
use crate::fetch::{self, FetchError, Validators};
use crate::plural::count;
use crate::schedule::{Mode, PollDone, PollRequest};
use crate::state::FeedState;
use crate::telemetry::Stats;

/// A poll running this long gives its `feed_concurrency` slot to the next
/// feed (see `feed_stage`).
const SLOW_POLL: Duration = Duration::from_secs(5);

/// Most links one poll accepts (feeds list tens; a runaway one hundreds of
/// thousands, in one state-store transaction).
const MAX_LINKS_PER_POLL: usize = 5_000;

/// Longest article link accepted from a feed: the length RFC 9110 asks
/// every server and client to support.
const MAX_LINK_BYTES: usize = 8_000;

/// Polls each source the scheduler asks for, `feed_concurrency` at a time,
/// and tells the scheduler when each poll is done.
pub(super) async fn feed_stage(
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
                image: entry.image,
                summary: entry.summary,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::{Answer, Bench, Site};

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

    /// An RSS feed listing `links`.
    fn rss(links: &[String]) -> String {
        let items: String = links
            .iter()
            .enumerate()
            .map(|(n, link)| {
                let link = link.replace('&', "&amp;");
                format!(
                    "<item><title>Story {n}</title><link>{link}</link><guid>{link}</guid></item>"
                )
            })
            .collect();
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Gazette</title>\
             <link>http://gazette.example/</link><description>News</description>{items}</channel></rss>"
        )
    }

    /// A bench following one source, `news`, at `feed` every ten minutes.
    fn following(feed: &Url, extra: &str) -> Bench {
        Bench::new(&format!(
            "{extra}\n[[sources]]\nname = \"news\"\nurl = \"{feed}\"\ninterval = \"10m\"\n"
        ))
    }

    /// Polls `news` once; the time to the next poll and the jobs passed on.
    async fn poll(bench: &Bench, mode: Mode) -> (Option<Duration>, Vec<ArticleJob>) {
        let source = bench.ctx.roster.source("news").expect("source news");
        let (tx, mut rx) = mpsc::channel(MAX_LINKS_PER_POLL);
        let request = PollRequest { source };
        let next_in = poll_source(&bench.ctx, &request, &tx, Duration::from_secs(5), mode).await;
        drop(tx);
        let mut jobs = Vec::new();
        while let Some(job) = rx.recv().await {
            jobs.push(job);
        }
        (next_in, jobs)
    }

    async fn feed_state(bench: &Bench) -> FeedState {
        let state = bench.ctx.state.feed_state("news".into()).await;
        state.expect("read feed state").expect("a feed state")
    }

    #[tokio::test]
    async fn new_links_are_accepted_once_keyed_without_tracking_parameters() {
        let site = Site::start().await;
        let links = [
            site.url("/news/a?utm_source=rss"),
            site.url("/news/b?ref=feed&page=2"),
            site.url("/news/a"),
        ];
        site.serve(
            "/feed.xml",
            Answer::ok("application/rss+xml", rss(&links.map(|u| u.to_string()))),
        );
        let bench = following(
            &site.url("/feed.xml"),
            "[dedup]\ntracking_params = [\"ref\"]\n",
        );

        let (next_in, jobs) = poll(&bench, Mode::Continuous).await;
        assert_eq!(next_in, None, "a healthy source keeps its interval");
        let keys: Vec<&str> = jobs.iter().map(|j| j.key.as_str()).collect();
        let canon = &bench.ctx.canon;
        let expected = [
            canon.article_id(&site.url("/news/a")),
            canon.article_id(&site.url("/news/b?page=2")),
        ];
        assert_eq!(
            keys, expected,
            "one job per article, the duplicate link dropped"
        );
        assert_eq!(bench.ctx.stats.snapshot().links_accepted, 2);

        let (_, again) = poll(&bench, Mode::Continuous).await;
        assert!(
            again.is_empty(),
            "links already accepted are not accepted again"
        );
    }

    #[tokio::test]
    async fn an_unchanged_feed_is_asked_for_with_its_validators_and_its_304_is_a_success() {
        let site = Site::start().await;
        let feed = Answer {
            etag: Some("\"v1\""),
            ..Answer::ok(
                "application/rss+xml",
                rss(&[site.url("/news/a").to_string()]),
            )
        };
        site.serve("/feed.xml", feed);
        let bench = following(&site.url("/feed.xml"), "");
        let (_, jobs) = poll(&bench, Mode::Continuous).await;
        assert_eq!(jobs.len(), 1);
        assert_eq!(feed_state(&bench).await.etag.as_deref(), Some("\"v1\""));

        let (next_in, jobs) = poll(&bench, Mode::Continuous).await;
        assert_eq!((next_in, jobs.len()), (None, 0));
        let asked = site.requests_for("/feed.xml");
        assert!(
            asked
                .last()
                .is_some_and(|r| r.to_ascii_lowercase().contains("if-none-match: \"v1\"")),
            "{asked:?}"
        );
        let state = feed_state(&bench).await;
        assert_eq!(
            state.etag.as_deref(),
            Some("\"v1\""),
            "validators kept after a 304"
        );
        assert_eq!(bench.ctx.stats.snapshot().polls_ok, 2);
    }

    #[tokio::test]
    async fn validators_of_another_feed_url_are_not_sent() {
        let site = Site::start().await;
        let feed = Answer {
            etag: Some("\"v1\""),
            ..Answer::ok("application/rss+xml", rss(&[]))
        };
        site.serve("/feed.xml", feed);
        let bench = following(&site.url("/feed.xml"), "");
        let old = FeedState {
            etag: Some("\"v1\"".into()),
            feed_url: Some(site.url("/old-feed.xml").to_string()),
            ..FeedState::default()
        };
        bench
            .ctx
            .state
            .put_feed_state("news".into(), old)
            .await
            .expect("store");
        poll(&bench, Mode::Continuous).await;
        let asked = site.requests_for("/feed.xml");
        assert!(
            asked
                .iter()
                .all(|r| !r.to_ascii_lowercase().contains("if-none-match")),
            "{asked:?}"
        );
        assert_eq!(
            feed_state(&bench).await.feed_url,
            Some(site.url("/feed.xml").to_string())
        );
    }

    #[tokio::test]
    async fn a_page_advertising_a_feed_is_polled_through_that_feed() {
        let site = Site::start().await;
        let page = "<html><head><link rel=\"alternate\" type=\"application/rss+xml\" \
                    href=\"/feed.xml\"></head><body>Home</body></html>";
        site.serve("/", Answer::ok("text/html", page));
        site.serve(
            "/feed.xml",
            Answer::ok(
                "application/rss+xml",
                rss(&[site.url("/news/a").to_string()]),
            ),
        );
        let bench = following(&site.url("/"), "");
        let (_, jobs) = poll(&bench, Mode::Continuous).await;
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].url, site.url("/news/a"));
        assert_eq!(
            jobs[0].feed_url,
            site.url("/"),
            "filed under the configured URL"
        );
    }

    #[tokio::test]
    async fn a_failing_source_is_recorded_backs_off_in_the_daemon_and_recovers() {
        let site = Site::start().await;
        site.serve(
            "/",
            Answer::ok("text/html", "<html><body>No feed here</body></html>"),
        );
        let bench = following(&site.url("/"), "");

        let (next_in, jobs) = poll(&bench, Mode::Continuous).await;
        assert!(jobs.is_empty());
        assert_eq!(
            next_in,
            Some(Duration::from_secs(600)),
            "first failure: the interval"
        );
        let (next_in, _) = poll(&bench, Mode::Continuous).await;
        assert_eq!(next_in, Some(Duration::from_secs(1200)), "then doubled");
        let state = feed_state(&bench).await;
        assert_eq!(state.consecutive_failures, 2);
        assert_eq!(state.failures.get("not_a_feed"), Some(&2));
        assert!(
            state
                .last_error
                .is_some_and(|e| e.contains("advertises no feed"))
        );

        // `once` records its failure but has no next poll to put off.
        let (next_in, _) = poll(&bench, Mode::Once).await;
        assert_eq!(next_in, None);
        let state = feed_state(&bench).await;
        assert_eq!((state.consecutive_failures, state.once_failures), (3, 1));

        site.serve("/", Answer::ok("application/rss+xml", rss(&[])));
        let (next_in, _) = poll(&bench, Mode::Continuous).await;
        assert_eq!(next_in, None);
        let state = feed_state(&bench).await;
        assert_eq!((state.consecutive_failures, state.once_failures), (0, 0));
        assert!(state.last_error.is_none() && state.last_success_at.is_some());
        assert_eq!(
            state.failures.get("not_a_feed"),
            Some(&3),
            "the history stays"
        );
    }

    #[tokio::test]
    async fn overlong_links_are_skipped_and_the_rest_accepted() {
        let site = Site::start().await;
        let overlong = site.url(&format!("/news/{}", "x".repeat(MAX_LINK_BYTES)));
        let links = [overlong.to_string(), site.url("/news/a").to_string()];
        site.serve("/feed.xml", Answer::ok("application/rss+xml", rss(&links)));
        let bench = following(&site.url("/feed.xml"), "");
        let (_, jobs) = poll(&bench, Mode::Continuous).await;
        let urls: Vec<&Url> = jobs.iter().map(|j| &j.url).collect();
        assert_eq!(urls, [&site.url("/news/a")]);
    }

    #[tokio::test]
    async fn a_feed_whose_entries_have_no_usable_link_is_a_failure_not_an_empty_success() {
        let site = Site::start().await;
        site.serve(
            "/feed.xml",
            Answer::ok(
                "application/rss+xml",
                rss(&["mailto:desk@gazette.example".into()]),
            ),
        );
        let bench = following(&site.url("/feed.xml"), "");
        let (next_in, jobs) = poll(&bench, Mode::Continuous).await;
        assert!(jobs.is_empty() && next_in.is_some());
        assert_eq!(
            feed_state(&bench).await.failures.get("no_entries"),
            Some(&1)
        );
    }
}
