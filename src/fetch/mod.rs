//! HTTP fetching: per-source clients with timeouts, a redirect limit and the
//! private-network guard; politeness per origin (concurrency, interval,
//! `Retry-After`, robots.txt with `Crawl-delay`); quick retries with
//! exponential back-off and jitter; a body size cap that counts decompressed
//! bytes (so a gzip bomb costs nothing); conditional GET; decoding to UTF-8.
//!
//! This file holds the [`Fetcher`] and what it answers; `client` builds the
//! HTTP clients, `admission` is what a request passes before it goes out
//! (guard, stored blocks, politeness slot, robots.txt), `request` the
//! retries and redirect hops, `send` one hop and its bounded body read,
//! `error` the reasons a fetch fails.

mod admission;
mod client;
mod error;
mod guard;
mod host;
mod reason;
mod request;
mod robots;
mod send;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use url::Url;

use self::client::{Profile, Profiles};
use self::host::Hosts;
use self::request::Route;
use self::robots::{RobotsCache, Verdict};
use crate::config::Config;
use crate::state::HostRecords;
use crate::telemetry::metrics::Metrics;

pub use self::error::FetchError;
pub use self::guard::is_public;
pub use self::robots::Rules as RobotsRules;
pub use self::send::parse_retry_after;

/// At most this many redirects are followed for one request.
pub const MAX_REDIRECTS: usize = 10;

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FetchConfig;

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
}
