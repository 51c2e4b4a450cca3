//! `[fetch]` and `[sources.fetch]`: how Thresher talks HTTP, the per-source
//! overrides, and the checks on both (each error names its key under the
//! prefix it was found at, `fetch` or `sources[2].fetch`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::{count_error, duration, range_error};

/// `[fetch]`: how Thresher talks HTTP, and how politely. Every key may be
/// overridden per source in `[sources.fetch]` (see [`FetchOverrides`]).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FetchConfig {
    /// User-Agent sent with every request; name Thresher and a contact URL.
    pub user_agent: String,
    /// Limit on a whole request, body included.
    #[serde(with = "duration")]
    pub timeout: Duration,
    /// Limit on establishing a connection.
    #[serde(with = "duration")]
    pub connect_timeout: Duration,
    /// Longest wait for response headers, and then for each next piece of a
    /// body that is trickling in (the stall timeout).
    #[serde(with = "duration")]
    pub read_timeout: Duration,
    /// Largest body accepted, counted after decompression.
    pub max_body_bytes: u64,
    /// Requests in flight to one host at a time.
    pub host_concurrency: usize,
    /// Least time between the starts of two requests to one host (a larger
    /// robots.txt `Crawl-delay` wins).
    #[serde(with = "duration")]
    pub min_host_interval: Duration,
    /// Requests in flight at a time over all hosts.
    pub max_concurrency: usize,
    /// Permit targets on loopback, private, link-local and unique-local
    /// addresses (refused by default, on every redirect hop and after DNS).
    pub allow_private_networks: bool,
    /// Permit the feed URL itself (and its redirects) on a private network
    /// while article links and robots.txt stay guarded: a feed served from
    /// the LAN cannot send Thresher to 169.254.169.254.
    pub allow_private_feed: bool,
    /// Honour robots.txt (and its `Crawl-delay`) for article pages.
    pub respect_robots_txt: bool,
    /// Quick retries of a request that failed transiently (5xx, reset,
    /// timeout), with exponential back-off and jitter, before giving up on it.
    pub retries: u32,
    /// Longest back-off of a source whose polls keep failing.
    #[serde(with = "duration")]
    pub max_source_backoff: Duration,
    /// Extra request headers.
    pub headers: BTreeMap<String, String>,
    /// Cookies sent with every request (name = value).
    pub cookies: BTreeMap<String, String>,
    /// HTTP(S) proxy for every request, e.g. `http://127.0.0.1:3128`. The
    /// proxy resolves host names itself, so through a proxy the
    /// private-network guard can only check IP literals.
    pub proxy: Option<Url>,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            user_agent: format!(
                "Thresher/{} (+https://github.com/thresher-news/thresher)",
                env!("CARGO_PKG_VERSION")
            ),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(15),
            max_body_bytes: 10_000_000,
            host_concurrency: 2,
            min_host_interval: Duration::from_secs(1),
            max_concurrency: 64,
            allow_private_networks: false,
            allow_private_feed: false,
            respect_robots_txt: true,
            retries: 2,
            max_source_backoff: Duration::from_secs(6 * 3600),
            headers: BTreeMap::new(),
            cookies: BTreeMap::new(),
            proxy: None,
        }
    }
}

/// `[sources.fetch]`: a source's own values for `[fetch]` keys; absent keys
/// keep the global value, and `headers`/`cookies` add to the global ones.
/// `max_concurrency` is global only.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FetchOverrides {
    /// See [`FetchConfig::user_agent`].
    pub user_agent: Option<String>,
    /// See [`FetchConfig::timeout`].
    #[serde(default, with = "duration::option")]
    pub timeout: Option<Duration>,
    /// See [`FetchConfig::connect_timeout`].
    #[serde(default, with = "duration::option")]
    pub connect_timeout: Option<Duration>,
    /// See [`FetchConfig::read_timeout`].
    #[serde(default, with = "duration::option")]
    pub read_timeout: Option<Duration>,
    /// See [`FetchConfig::max_body_bytes`].
    pub max_body_bytes: Option<u64>,
    /// See [`FetchConfig::host_concurrency`].
    pub host_concurrency: Option<usize>,
    /// See [`FetchConfig::min_host_interval`].
    #[serde(default, with = "duration::option")]
    pub min_host_interval: Option<Duration>,
    /// See [`FetchConfig::allow_private_networks`].
    pub allow_private_networks: Option<bool>,
    /// See [`FetchConfig::allow_private_feed`].
    pub allow_private_feed: Option<bool>,
    /// See [`FetchConfig::respect_robots_txt`]: `false` opts this source out.
    pub respect_robots_txt: Option<bool>,
    /// See [`FetchConfig::retries`].
    pub retries: Option<u32>,
    /// See [`FetchConfig::max_source_backoff`].
    #[serde(default, with = "duration::option")]
    pub max_source_backoff: Option<Duration>,
    /// Headers added to (or replacing) the global ones.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Cookies added to (or replacing) the global ones.
    #[serde(default)]
    pub cookies: BTreeMap<String, String>,
    /// See [`FetchConfig::proxy`].
    pub proxy: Option<Url>,
}

impl FetchConfig {
    /// This configuration with a source's overrides applied.
    pub fn overridden(&self, o: &FetchOverrides) -> FetchConfig {
        let mut headers = self.headers.clone();
        headers.extend(o.headers.clone());
        let mut cookies = self.cookies.clone();
        cookies.extend(o.cookies.clone());
        FetchConfig {
            user_agent: o
                .user_agent
                .clone()
                .unwrap_or_else(|| self.user_agent.clone()),
            timeout: o.timeout.unwrap_or(self.timeout),
            connect_timeout: o.connect_timeout.unwrap_or(self.connect_timeout),
            read_timeout: o.read_timeout.unwrap_or(self.read_timeout),
            max_body_bytes: o.max_body_bytes.unwrap_or(self.max_body_bytes),
            host_concurrency: o.host_concurrency.unwrap_or(self.host_concurrency),
            min_host_interval: o.min_host_interval.unwrap_or(self.min_host_interval),
            max_concurrency: self.max_concurrency,
            allow_private_networks: o
                .allow_private_networks
                .unwrap_or(self.allow_private_networks),
            allow_private_feed: o.allow_private_feed.unwrap_or(self.allow_private_feed),
            respect_robots_txt: o.respect_robots_txt.unwrap_or(self.respect_robots_txt),
            retries: o.retries.unwrap_or(self.retries),
            max_source_backoff: o.max_source_backoff.unwrap_or(self.max_source_backoff),
            headers,
            cookies,
            proxy: o.proxy.clone().or_else(|| self.proxy.clone()),
        }
    }

    /// Checks ranges and header syntax; an error names the key under `prefix`
    /// (`fetch` or `sources[2].fetch`).
    pub(super) fn validate(&self, prefix: &str) -> Result<(), (String, String)> {
        let key = |name: &str| format!("{prefix}.{name}");
        let counts = [
            ("max_body_bytes", self.max_body_bytes, 1_000, 100_000_000),
            ("host_concurrency", self.host_concurrency as u64, 1, 64),
            ("max_concurrency", self.max_concurrency as u64, 1, 4_096),
            ("retries", u64::from(self.retries), 0, 10),
        ];
        for (name, value, min, max) in counts {
            if let Some(message) = count_error(value, min, max) {
                return Err((key(name), message));
            }
        }
        let day = Duration::from_secs(24 * 3600);
        let bounded = [
            ("timeout", self.timeout, Duration::from_millis(1), day),
            (
                "connect_timeout",
                self.connect_timeout,
                Duration::from_millis(1),
                day,
            ),
            (
                "read_timeout",
                self.read_timeout,
                Duration::from_millis(1),
                day,
            ),
            (
                "min_host_interval",
                self.min_host_interval,
                Duration::ZERO,
                Duration::from_secs(3600),
            ),
            (
                "max_source_backoff",
                self.max_source_backoff,
                Duration::from_secs(1),
                7 * day,
            ),
        ];
        for (name, value, min, max) in bounded {
            if let Some(message) = range_error(value, min, max) {
                return Err((key(name), message));
            }
        }
        if self.user_agent.trim().is_empty()
            || reqwest::header::HeaderValue::from_str(&self.user_agent).is_err()
        {
            return Err((key("user_agent"), "must be a non-empty header value".into()));
        }
        for (name, value) in &self.headers {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err((
                    key("headers"),
                    format!("{name:?} is not a valid header name"),
                ));
            }
            if reqwest::header::HeaderValue::from_str(value).is_err() {
                return Err((
                    key("headers"),
                    format!("the value of {name:?} is not a valid header value"),
                ));
            }
        }
        for (name, value) in &self.cookies {
            let bad = |s: &str| s.is_empty() || s.contains([';', '=', ',', ' ', '\n', '\r', '"']);
            if bad(name) || value.contains([';', '\n', '\r']) {
                return Err((
                    key("cookies"),
                    format!("cookie {name:?} has a name or value that cannot be sent"),
                ));
            }
        }
        if let Some(proxy) = &self.proxy
            && !matches!(proxy.scheme(), "http" | "https")
        {
            return Err((key("proxy"), format!("{proxy} is not an http or https URL")));
        }
        Ok(())
    }
}
