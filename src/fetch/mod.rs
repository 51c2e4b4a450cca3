//! HTTP fetching: per-source clients with timeouts, a redirect limit and the
//! private-network guard; politeness per origin (concurrency, interval,
//! `Retry-After`, robots.txt with `Crawl-delay`); quick retries with
//! exponential back-off and jitter; a body size cap that counts decompressed
//! bytes (so a gzip bomb costs nothing); conditional GET; decoding to UTF-8.

mod guard;
mod host;
mod reason;
mod robots;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::Utc;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{StatusCode, redirect};
use tracing::{debug, info, warn};
use url::Url;

use self::host::{HostPermit, HostPolicy, Hosts, Refusal, origin};
use self::robots::{RobotsCache, Verdict, agent_token};
use crate::clock;
use crate::config::{Config, FetchConfig};
use crate::state::{HostRecords, RobotsRecord};
use crate::telemetry::metrics::Metrics;

pub use self::guard::is_public;
pub use self::robots::Rules as RobotsRules;

/// At most this many redirects are followed for one request.
pub const MAX_REDIRECTS: usize = 10;
/// Wait imposed on an origin that answers 429/503 without `Retry-After`.
const DEFAULT_BLOCK: Duration = Duration::from_secs(60);
/// Longest `Retry-After` honoured as such; longer ones are clamped.
const MAX_BLOCK: Duration = Duration::from_secs(24 * 3600);
/// First quick-retry back-off; doubled per attempt, with ±50 % jitter.
const RETRY_BASE: Duration = Duration::from_millis(500);
/// Longest quick-retry back-off.
const RETRY_MAX: Duration = Duration::from_secs(10);
/// Origins remembered as restored from the state store before the set is reset.
const MAX_RESTORED: usize = 10_000;

/// Why a fetch failed. The display text is what a user sees in the log.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server answered with an error status.
    #[error("HTTP {status}")]
    Status {
        /// The status code.
        status: StatusCode,
        /// `Retry-After`, when the server sent one.
        retry_after: Option<Duration>,
    },
    /// The body was larger than `fetch.max_body_bytes`.
    #[error("body larger than the {limit}-byte limit (fetch.max_body_bytes)")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The request took too long.
    #[error("timed out ({0})")]
    Timeout(String),
    /// Too many redirects, a loop, or a redirect to something other than http(s).
    #[error("redirect refused: {0}")]
    Redirect(String),
    /// The target is on a private network and `allow_private_networks` is off.
    #[error("refused: {0}")]
    PrivateNetwork(String),
    /// robots.txt disallows the URL for our agent.
    #[error("disallowed by robots.txt")]
    Robots,
    /// robots.txt could not be read, so the site may not be crawled for now.
    #[error("robots.txt unavailable, retry in {}", humantime::format_duration(*.wait))]
    RobotsUnavailable {
        /// Until the next attempt to read it.
        wait: Duration,
    },
    /// The origin is rate-limited (its interval, or a `Retry-After`) for longer than we wait.
    #[error("host busy (politeness limit), retry in {}", humantime::format_duration(*.wait))]
    HostBusy {
        /// Until the origin takes a request.
        wait: Duration,
    },
    /// The body cannot be decoded as its headers say (gzip that is not):
    /// asking again gets the same bytes.
    #[error("cannot decode the response body: {0}")]
    BadBody(String),
    /// Connection refused, reset, DNS failure, TLS error, broken body…
    #[error("{0}")]
    Transport(String),
}

impl FetchError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Status { status, .. } => {
                status.is_server_error()
                    || *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::REQUEST_TIMEOUT
            }
            Self::Timeout(_)
            | Self::Transport(_)
            | Self::HostBusy { .. }
            | Self::RobotsUnavailable { .. } => true,
            Self::TooLarge { .. }
            | Self::Redirect(_)
            | Self::PrivateNetwork(_)
            | Self::Robots
            | Self::BadBody(_) => false,
        }
    }

    /// The least wait before trying again, when the server or politeness says so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            Self::HostBusy { wait } | Self::RobotsUnavailable { wait } => Some(*wait),
            _ => None,
        }
    }

    /// A short name of the failure kind, for counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Status { status, .. } if status.is_server_error() => "http_5xx",
            Self::Status { status, .. } if *status == StatusCode::TOO_MANY_REQUESTS => "http_429",
            Self::Status { .. } => "http_4xx",
            Self::TooLarge { .. } => "too_large",
            Self::Timeout(_) => "timeout",
            Self::Redirect(_) => "redirect",
            Self::PrivateNetwork(_) => "private_network",
            Self::Robots => "robots",
            Self::RobotsUnavailable { .. } => "robots_unavailable",
            Self::HostBusy { .. } => "host_busy",
            Self::BadBody(_) => "bad_body",
            Self::Transport(_) => "transport",
        }
    }

    fn from_reqwest(error: reqwest::Error) -> Self {
        // reqwest's Display is "error sending request for url (…)"; the
        // reason is in its source chain (see `reason`).
        let causes = reason::causes(&error);
        // The guard's resolver names the host and the address itself.
        if let Some(refusal) = causes
            .iter()
            .rev()
            .find(|c| c.contains("private-network address"))
        {
            return Self::PrivateNetwork(refusal.clone());
        }
        if error.is_timeout() {
            return Self::Timeout(reason::timeout_context(&error).to_string());
        }
        let message = reason::describe(&error);
        if error.is_redirect() {
            Self::Redirect(message)
        } else if error.is_decode() {
            Self::BadBody(message)
        } else {
            Self::Transport(message)
        }
    }
}

/// HTTP validators from an earlier response, for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Validators {
    /// `ETag` to send as `If-None-Match`.
    pub etag: Option<String>,
    /// `Last-Modified` to send as `If-Modified-Since`.
    pub last_modified: Option<String>,
}

/// A successful response with its whole body.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL after redirects.
    pub final_url: Url,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body, decompressed.
    pub body: Vec<u8>,
    /// Validators to use for the next conditional GET.
    pub validators: Validators,
}

/// The result of a (possibly conditional) GET.
#[derive(Debug)]
pub enum Response {
    /// `304 Not Modified`: nothing new since the validators were issued.
    NotModified,
    /// A `2xx` response.
    Ok(Fetched),
}

/// The HTTP clients of one `[fetch]` + `[sources.fetch]` combination and
/// the settings they were built from (sources with equal settings share one).
struct Profile {
    /// For article pages, robots.txt, and feeds unless `allow_private_feed`.
    client: reqwest::Client,
    /// For feed URLs when only the feed may be on a private network: a
    /// client without the resolver guard.
    feed_client: Option<reqwest::Client>,
    /// Configured headers and cookies, sent to the requested URL's host and
    /// (all but credentials) to the hosts it redirects to.
    headers: HeaderMap,
    config: FetchConfig,
}

impl Profile {
    fn new(config: FetchConfig) -> Result<Self, FetchError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            // Validated with the config.
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.insert(name, value);
            }
        }
        if !config.cookies.is_empty() {
            let cookie = config
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                headers.insert(header::COOKIE, value);
            }
        }
        let client = build_client(&config, config.allow_private_networks)?;
        let feed_client = (config.allow_private_feed && !config.allow_private_networks)
            .then(|| build_client(&config, true))
            .transpose()?;
        Ok(Self {
            client,
            feed_client,
            headers,
            config,
        })
    }

    /// Whether the feed itself may be on a private network.
    fn private_feed_allowed(&self) -> bool {
        self.config.allow_private_networks || self.config.allow_private_feed
    }

    fn host_policy(&self) -> HostPolicy {
        HostPolicy {
            concurrency: self.config.host_concurrency,
            min_interval: self.config.min_host_interval,
        }
    }
}

/// A client that follows no redirect itself (the fetcher follows each hop,
/// so every hop passes the guard and takes its origin's politeness slot);
/// unless `allow_private`, its resolver drops private addresses.
fn build_client(config: &FetchConfig, allow_private: bool) -> Result<reqwest::Client, FetchError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(config.user_agent.clone())
        .timeout(config.timeout)
        .connect_timeout(config.connect_timeout)
        .read_timeout(config.read_timeout)
        .redirect(redirect::Policy::none());
    // Through a proxy, our resolver would only see the proxy's own name
    // (which may well be private); target names are resolved by the proxy.
    if !allow_private && config.proxy.is_none() {
        builder = builder.dns_resolver(Arc::new(guard::PublicOnlyResolver));
    }
    if let Some(proxy) = &config.proxy {
        let proxy = reqwest::Proxy::all(proxy.as_str()).map_err(FetchError::from_reqwest)?;
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(FetchError::from_reqwest)
}

/// The clients of one configuration: the default and each source's own.
struct Profiles {
    default: Arc<Profile>,
    by_source: HashMap<String, Arc<Profile>>,
}

impl Profiles {
    /// Builds the clients from `[fetch]` and each `[sources.fetch]`; sources
    /// with the same effective settings share a client.
    fn new(config: &Config) -> Result<Self, FetchError> {
        let default = Arc::new(Profile::new(config.fetch.clone())?);
        let mut shared: Vec<Arc<Profile>> = vec![Arc::clone(&default)];
        let mut by_source = HashMap::new();
        for source in &config.sources {
            let Some(overrides) = &source.fetch else {
                continue;
            };
            let effective = config.fetch.overridden(overrides);
            let profile = match shared.iter().find(|p| p.config == effective) {
                Some(p) => Arc::clone(p),
                None => {
                    let p = Arc::new(Profile::new(effective)?);
                    shared.push(Arc::clone(&p));
                    p
                }
            };
            by_source.insert(source.name.clone(), profile);
        }
        Ok(Self { default, by_source })
    }
}

/// Everything that fetches: per-source clients and the politeness state
/// they share.
pub struct Fetcher {
    /// Swapped whole on reload; politeness state below is kept.
    profiles: RwLock<Arc<Profiles>>,
    hosts: Hosts,
    robots: RobotsCache,
    /// Origins whose stored record (robots.txt, block) was already loaded.
    restored: Mutex<HashSet<String>>,
    /// Where politeness records are kept across restarts, if anywhere.
    records: Option<Arc<dyn HostRecords>>,
    metrics: Option<Arc<Metrics>>,
}

impl Fetcher {
    /// Builds the clients from `[fetch]` and each `[sources.fetch]`;
    /// `records` keeps politeness records across restarts.
    pub fn new<R: HostRecords + 'static>(
        config: &Config,
        records: Option<R>,
    ) -> Result<Self, FetchError> {
        Ok(Self {
            profiles: RwLock::new(Arc::new(Profiles::new(config)?)),
            hosts: Hosts::new(config.fetch.max_concurrency),
            robots: RobotsCache::default(),
            restored: Mutex::new(HashSet::new()),
            records: records.map(|r| Arc::new(r) as Arc<dyn HostRecords>),
            metrics: None,
        })
    }

    /// Records request times in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Rebuilds the clients from a reloaded configuration; politeness state
    /// (slots, blocks, robots.txt) is kept. `fetch.max_concurrency` and an
    /// origin's `host_concurrency`, fixed by its first request, keep their
    /// values until a restart. On error the old clients stay.
    pub fn reconfigure(&self, config: &Config) -> Result<(), FetchError> {
        let profiles = Arc::new(Profiles::new(config)?);
        *self.profiles.write().unwrap_or_else(|e| e.into_inner()) = profiles;
        Ok(())
    }

    fn profile(&self, source: &str) -> Arc<Profile> {
        let profiles = Arc::clone(&self.profiles.read().unwrap_or_else(|e| e.into_inner()));
        Arc::clone(profiles.by_source.get(source).unwrap_or(&profiles.default))
    }

    /// The `max_source_backoff` of `source`.
    pub fn max_source_backoff(&self, source: &str) -> Duration {
        self.profile(source).config.max_source_backoff
    }

    /// Origins blocked by a `Retry-After`, with the time left.
    pub fn blocked_origins(&self) -> Vec<(String, Duration)> {
        self.hosts.blocked()
    }

    /// GETs a feed for `source`, conditionally when `validators` are given.
    /// Waits at most `max_wait` for each origin's politeness slot.
    pub async fn get_feed(
        &self,
        source: &str,
        url: &Url,
        validators: Option<&Validators>,
        max_wait: Duration,
    ) -> Result<Response, FetchError> {
        let profile = self.profile(source);
        let route = Route {
            client: profile.feed_client.as_ref().unwrap_or(&profile.client),
            allow_private: profile.private_feed_allowed(),
        };
        self.admit(url, route.allow_private).await?;
        self.request(&profile, route, url, validators, max_wait, "feed")
            .await
    }

    /// GETs an article page for `source`, if robots.txt allows it.
    pub async fn get_page(
        &self,
        source: &str,
        url: &Url,
        max_wait: Duration,
    ) -> Result<Response, FetchError> {
        let profile = self.profile(source);
        let route = Route {
            client: &profile.client,
            allow_private: profile.config.allow_private_networks,
        };
        // Before anything goes out, robots.txt included.
        self.admit(url, route.allow_private).await?;
        if profile.config.respect_robots_txt {
            match self.robots_verdict(&profile, url, max_wait).await? {
                Verdict::Allowed => {}
                Verdict::Disallowed => return Err(FetchError::Robots),
                Verdict::Unavailable(wait) => return Err(FetchError::RobotsUnavailable { wait }),
            }
        }
        self.request(&profile, route, url, None, max_wait, "page")
            .await
    }

    /// What every request and every redirect hop passes first: the
    /// private-network guard on the URL, and the origin's stored
    /// `Retry-After` block.
    async fn admit(&self, url: &Url, allow_private: bool) -> Result<(), FetchError> {
        if !allow_private {
            guard::check_literal(url).map_err(FetchError::PrivateNetwork)?;
        }
        self.restore(url).await;
        Ok(())
    }

    /// The origin's politeness slot, waited for at most `max_wait`.
    async fn slot(
        &self,
        key: &str,
        profile: &Profile,
        max_wait: Duration,
    ) -> Result<HostPermit, FetchError> {
        self.hosts
            .acquire(key, profile.host_policy(), max_wait)
            .await
            .map_err(|busy| FetchError::HostBusy { wait: busy.wait })
    }

    /// One admitted request with quick retries of transient failures.
    async fn request(
        &self,
        profile: &Profile,
        route: Route<'_>,
        url: &Url,
        validators: Option<&Validators>,
        max_wait: Duration,
        target: &'static str,
    ) -> Result<Response, FetchError> {
        let mut attempt = 0;
        loop {
            let limit = profile.config.max_body_bytes;
            let result = self
                .follow(profile, route, url, validators, limit, max_wait, target)
                .await;
            match result {
                // The server asked for time for this URL: not a quick retry.
                Err(FetchError::Status {
                    retry_after: Some(_),
                    ..
                }) => return result,
                Err(e) if e.is_transient() && attempt < profile.config.retries => {
                    attempt += 1;
                    let backoff = jittered_backoff(attempt);
                    debug!(%url, attempt, "transient failure ({e}); retrying in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                }
                other => return other,
            }
        }
    }

    /// One GET of `url` and of each redirect after it (at most
    /// `MAX_REDIRECTS`). Every hop passes the guard and takes its own
    /// origin's politeness slot, as a first request would; a 429 or 503
    /// slows the origin that sent it (and blocks it after several refused
    /// URLs, see [`Hosts::refused`]).
    #[allow(clippy::too_many_arguments)]
    async fn follow(
        &self,
        profile: &Profile,
        route: Route<'_>,
        url: &Url,
        validators: Option<&Validators>,
        limit: u64,
        max_wait: Duration,
        target: &'static str,
    ) -> Result<Response, FetchError> {
        let mut hop = url.clone();
        let mut visited: Vec<Url> = Vec::new();
        loop {
            let key = origin(&hop);
            let headers = hop_headers(&profile.headers, validators, hop.host() == url.host());
            let permit = self.slot(&key, profile, max_wait).await?;
            let result = self
                .timed(target, send(route.client, &hop, headers, limit))
                .await;
            drop(permit);
            let next = match result {
                Err(FetchError::Status {
                    status,
                    retry_after,
                }) if status == StatusCode::TOO_MANY_REQUESTS
                    || status == StatusCode::SERVICE_UNAVAILABLE =>
                {
                    // The wait names when to ask for this URL again; the
                    // origin only slows down, unless many URLs were refused.
                    let wait = retry_after.unwrap_or(DEFAULT_BLOCK).min(MAX_BLOCK);
                    if self.hosts.refused(&key, &hop, wait) == Refusal::Blocked {
                        self.block(&key, wait).await;
                    }
                    return Err(FetchError::Status {
                        status,
                        retry_after: Some(wait),
                    });
                }
                Ok(Hop::Done(response)) => {
                    self.hosts.answered(&key);
                    return Ok(response);
                }
                Ok(Hop::Redirect(next)) => {
                    self.hosts.answered(&key);
                    next
                }
                Err(e) => {
                    if matches!(e, FetchError::Status { .. }) {
                        self.hosts.answered(&key);
                    }
                    return Err(e);
                }
            };
            visited.push(hop);
            if visited.len() > MAX_REDIRECTS {
                return Err(FetchError::Redirect(format!(
                    "more than {MAX_REDIRECTS} redirects"
                )));
            }
            if !matches!(next.scheme(), "http" | "https") {
                return Err(FetchError::Redirect(format!(
                    "redirect to non-http URL {next}"
                )));
            }
            if visited.contains(&next) {
                return Err(FetchError::Redirect(format!("redirect loop at {next}")));
            }
            self.admit(&next, route.allow_private).await?;
            hop = next;
        }
    }

    /// Runs one request, recording its time under `target`.
    async fn timed<T>(&self, target: &'static str, request: impl Future<Output = T>) -> T {
        let started = std::time::Instant::now();
        let result = request.await;
        if let Some(metrics) = &self.metrics {
            metrics.fetched(target, started.elapsed());
        }
        result
    }

    /// Keeps requests away from `key` for `wait` (already set in `hosts`),
    /// also after a restart.
    async fn block(&self, key: &str, wait: Duration) {
        info!(
            origin = key,
            "host asked us to wait {}",
            humantime::format_duration(wait)
        );
        let Some(records) = &self.records else { return };
        let until = clock::utc_in(wait);
        let update = records.update_host_record(
            key.to_string(),
            Box::new(move |r| {
                // A shorter Retry-After never shortens a longer block.
                r.blocked_until = Some(r.blocked_until.map_or(until, |t| t.max(until)));
            }),
        );
        if let Err(e) = update.await {
            warn!("cannot store the block of {key}: {e}");
        }
    }

    /// Applies an origin's stored `Retry-After` block once per process.
    /// Marked only after loading, so requests racing the first load load it
    /// too rather than going out before the block is known.
    async fn restore(&self, url: &Url) {
        let key = origin(url);
        let known = self
            .restored
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&key);
        let Some(records) = self.records.as_ref().filter(|_| !known) else {
            return;
        };
        match records.host_record(key.clone()).await {
            Ok(record) => {
                if let Some(wait) = record
                    .and_then(|r| r.blocked_until)
                    .and_then(|until| (until - Utc::now()).to_std().ok())
                {
                    self.hosts.block(&key, wait);
                }
            }
            Err(e) => warn!("cannot read the stored politeness record of {key}: {e}"),
        }
        let mut restored = self.restored.lock().unwrap_or_else(|e| e.into_inner());
        if restored.len() >= MAX_RESTORED {
            // Forgetting only means reading a record again.
            restored.clear();
        }
        restored.insert(key);
    }

    /// What the origin's robots.txt says about `url`, fetching it if needed.
    async fn robots_verdict(
        &self,
        profile: &Profile,
        url: &Url,
        max_wait: Duration,
    ) -> Result<Verdict, FetchError> {
        let key = origin(url);
        // Groups in the file are chosen by agent, so rules are cached per agent.
        let agent = agent_token(&profile.config.user_agent);
        let cache_key = format!("{key} {agent}");
        if let Some((verdict, delay)) = self.robots.verdict(&cache_key, url.as_str()) {
            // The origin's politeness record may have been swept while idle.
            self.hosts.set_crawl_delay(&key, delay);
            return Ok(verdict);
        }
        let lock = self.robots.fetch_lock(&key);
        let _fetching = tokio::time::timeout(max_wait, lock.lock())
            .await
            .map_err(|_| FetchError::HostBusy { wait: max_wait })?;
        if let Some((verdict, delay)) = self.robots.verdict(&cache_key, url.as_str()) {
            self.hosts.set_crawl_delay(&key, delay);
            return Ok(verdict);
        }
        // A fresh file read earlier (before a restart, or for another agent).
        let stored = match &self.records {
            Some(records) => records.host_record(key.clone()).await.ok().flatten(),
            None => None,
        };
        if let Some(record) = stored.and_then(|r| r.robots).filter(RobotsCache::is_fresh) {
            let delay = self.robots.insert(&cache_key, &record, agent).await;
            self.hosts.set_crawl_delay(&key, delay);
            return Ok(self
                .robots
                .verdict(&cache_key, url.as_str())
                .map_or(Verdict::Allowed, |(verdict, _)| verdict));
        }
        let mut robots_url = url.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        robots_url.set_fragment(None);
        let route = Route {
            client: &profile.client,
            allow_private: profile.config.allow_private_networks,
        };
        let answer = self
            .follow(
                profile,
                route,
                &robots_url,
                None,
                robots::MAX_ROBOTS_BYTES,
                max_wait,
                "robots",
            )
            .await;
        let (status, body) = match answer {
            Ok(Response::Ok(fetched)) => (200, String::from_utf8_lossy(&fetched.body).into_owned()),
            Ok(Response::NotModified) => (404, String::new()),
            Err(FetchError::Status { status, .. }) => (status.as_u16(), String::new()),
            // A file too large to read whole is treated as absent (no rules).
            Err(FetchError::TooLarge { .. }) => (404, String::new()),
            Err(FetchError::PrivateNetwork(reason)) => {
                return Err(FetchError::PrivateNetwork(reason));
            }
            Err(e) => {
                debug!(%robots_url, "robots.txt unreachable: {e}");
                (0, String::new())
            }
        };
        let record = RobotsRecord {
            status,
            body,
            fetched_at: Utc::now(),
        };
        let delay = self.robots.insert(&cache_key, &record, agent).await;
        self.hosts.set_crawl_delay(&key, delay);
        if let Some(records) = &self.records {
            let update =
                records.update_host_record(key.clone(), Box::new(move |r| r.robots = Some(record)));
            if let Err(e) = update.await {
                warn!("cannot store robots.txt of {key}: {e}");
            }
        }
        Ok(self
            .robots
            .verdict(&cache_key, url.as_str())
            .map_or(Verdict::Allowed, |(verdict, _)| verdict))
    }
}

/// `RETRY_BASE` doubled per earlier attempt, capped, with ±50 % jitter so
/// that many clients failing together do not retry together.
fn jittered_backoff(attempt: u32) -> Duration {
    let base = RETRY_BASE
        .saturating_mul(1 << attempt.saturating_sub(1).min(8))
        .min(RETRY_MAX);
    clock::scaled(base, 0.5 + rand::random::<f64>())
}

/// How a request chain may go: its client, and whether private targets pass.
#[derive(Clone, Copy)]
struct Route<'a> {
    client: &'a reqwest::Client,
    allow_private: bool,
}

/// What one hop of a request chain answered.
enum Hop {
    /// A final answer (2xx or 304).
    Done(Response),
    /// A redirect to this URL.
    Redirect(Url),
}

/// The headers of one hop: the configured ones (credentials only to the
/// host first asked, as browsers and reqwest do) and the validators of a
/// conditional GET.
fn hop_headers(
    configured: &HeaderMap,
    validators: Option<&Validators>,
    same_host: bool,
) -> HeaderMap {
    let mut headers = configured.clone();
    if !same_host {
        for name in [
            header::COOKIE,
            header::AUTHORIZATION,
            header::PROXY_AUTHORIZATION,
        ] {
            headers.remove(name);
        }
    }
    if let Some(v) = validators {
        if let Some(value) = v
            .etag
            .as_deref()
            .and_then(|s| HeaderValue::from_str(s).ok())
        {
            headers.insert(header::IF_NONE_MATCH, value);
        }
        if let Some(value) = v
            .last_modified
            .as_deref()
            .and_then(|s| HeaderValue::from_str(s).ok())
        {
            headers.insert(header::IF_MODIFIED_SINCE, value);
        }
    }
    headers
}

/// One GET with `headers`, following no redirect; reads the body up to `limit` bytes.
async fn send(
    client: &reqwest::Client,
    url: &Url,
    headers: HeaderMap,
    limit: u64,
) -> Result<Hop, FetchError> {
    let mut response = client
        .get(url.clone())
        .headers(headers)
        .send()
        .await
        .map_err(FetchError::from_reqwest)?;
    let status = response.status();
    if status == StatusCode::NOT_MODIFIED {
        return Ok(Hop::Done(Response::NotModified));
    }
    if status.is_redirection() {
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        return match location.as_deref().map(|l| url.join(l.trim())) {
            Some(Ok(next)) => Ok(Hop::Redirect(next)),
            Some(Err(e)) => Err(FetchError::Redirect(format!(
                "{status} to {:?}, which is not a URL ({e})",
                location.unwrap_or_default()
            ))),
            None => Err(FetchError::Redirect(format!(
                "{status} without a Location header"
            ))),
        };
    }
    if !status.is_success() {
        // Retry-After means something only on 429 and 503 (RFC 9110 §10.2.3);
        // on a 404 it is noise and must not postpone the source for a day.
        let retry_after = (status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::SERVICE_UNAVAILABLE)
            .then(|| response.headers().get(header::RETRY_AFTER))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        return Err(FetchError::Status {
            status,
            retry_after,
        });
    }
    let header_text = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header_text(header::CONTENT_TYPE);
    let validators = Validators {
        etag: header_text(header::ETAG),
        last_modified: header_text(header::LAST_MODIFIED),
    };
    let final_url = response.url().clone();
    if response.content_length().is_some_and(|len| len > limit) {
        return Err(FetchError::TooLarge { limit });
    }
    // Read chunk by chunk: the limit applies to decompressed bytes as they arrive.
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(FetchError::from_reqwest)? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(FetchError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Hop::Done(Response::Ok(Fetched {
        final_url,
        content_type,
        body,
        validators,
    })))
}

/// Parses `Retry-After`: delay seconds, or an HTTP date (a date in the past
/// means now). The result is clamped to `MAX_BLOCK` here, where the value
/// enters, so no deadline computed from it can overflow; digits too many for
/// a `u64` are a wait as long as that too.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds).min(MAX_BLOCK));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO).min(MAX_BLOCK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nothing_is_sent_to_a_private_address_not_even_robots_txt() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let config = Config {
            state: Default::default(),
            output: Default::default(),
            fetch: FetchConfig::default(),
            pipeline: Default::default(),
            telemetry: Default::default(),
            reload: Default::default(),
            dedup: Default::default(),
            sources: Vec::new(),
        };
        assert!(!config.fetch.allow_private_networks);
        let fetcher = Fetcher::new(&config, None::<crate::state::State>).expect("fetcher");
        let url = Url::parse(&format!("http://127.0.0.1:{port}/article")).expect("url");
        let wait = Duration::from_secs(1);
        let page = fetcher.get_page("any", &url, wait).await;
        assert!(
            matches!(page, Err(FetchError::PrivateNetwork(_))),
            "{page:?}"
        );
        let feed = fetcher.get_feed("any", &url, None, wait).await;
        assert!(
            matches!(feed, Err(FetchError::PrivateNetwork(_))),
            "{feed:?}"
        );
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(
            accepted.is_err(),
            "a connection reached the private address"
        );
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(90))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let wait = parse_retry_after(&later).expect("HTTP date");
        assert!(
            wait > Duration::from_secs(80) && wait <= Duration::from_secs(90),
            "{wait:?}"
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-5"), None);
    }

    #[test]
    fn retry_after_beyond_a_day_is_clamped_where_it_is_parsed() {
        for huge in [
            "18446744073709551615",
            "100000000000000",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_retry_after(huge), Some(MAX_BLOCK), "{huge}");
        }
        let far = "Fri, 31 Dec 9999 23:59:59 GMT";
        assert_eq!(parse_retry_after(far), Some(MAX_BLOCK));
    }
}
