//! Configuration: the TOML file users write, with environment overrides.
//!
//! The file is read with the `config` crate (file, then `THRESHER__SECTION__KEY`
//! variables on top) and deserialised into the structs below with
//! `deny_unknown_fields`, so a misspelt key fails at start instead of being
//! silently ignored. Checks serde cannot express (unique names, URL schemes,
//! non-zero durations) run in [`Config::validate`]. Every error names the file
//! (or the `THRESHER__*` variable it comes from) and the key.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

mod css;
pub(crate) mod duration;
mod env;
mod listen;
mod source_name;
mod warnings;

/// The configuration shipped with Thresher, embedded so the binary runs anywhere.
pub const EMBEDDED_DEFAULT: &str = include_str!("../config/thresher.toml");

/// Where the default configuration file lives, relative to the working directory.
pub const DEFAULT_PATH: &str = "config/thresher.toml";

/// Where a configuration came from; shown in every error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOrigin {
    /// A file on disk.
    File(PathBuf),
    /// The copy of `config/thresher.toml` compiled into the binary.
    Embedded,
}

impl ConfigOrigin {
    /// Picks the file named on the command line (or `THRESHER_CONFIG`), else
    /// `config/thresher.toml` when it exists, else the embedded default.
    pub fn resolve(explicit: Option<&Path>) -> Self {
        match explicit {
            Some(path) => Self::File(path.to_path_buf()),
            None if Path::new(DEFAULT_PATH).is_file() => Self::File(PathBuf::from(DEFAULT_PATH)),
            None => Self::Embedded,
        }
    }
}

impl fmt::Display for ConfigOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Embedded => f.write_str("<embedded default config>"),
        }
    }
}

/// A configuration that could not be loaded; the message names file and key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file is missing, unreadable, not TOML, or does not match the schema.
    #[error("config {origin}: {message}")]
    Load {
        /// Where the configuration came from.
        origin: ConfigOrigin,
        /// What the `config` crate or serde reported (it names the key).
        message: String,
    },
    /// A `THRESHER__*` variable names no key or holds a value of the wrong type.
    #[error("environment variable {variable}: {message} (it overrides config {origin})")]
    Environment {
        /// The configuration the variable overrides.
        origin: ConfigOrigin,
        /// The variable, as set.
        variable: String,
        /// What is wrong with it.
        message: String,
    },
    /// The file parsed but a value is not acceptable.
    #[error("config {origin}: key `{key}`: {message}")]
    Invalid {
        /// Where the configuration came from.
        origin: ConfigOrigin,
        /// The offending key, e.g. `sources[2].url`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The embedded state store.
    #[serde(default)]
    pub state: StateConfig,
    /// Where articles are written.
    #[serde(default)]
    pub output: OutputConfig,
    /// HTTP client settings.
    #[serde(default)]
    pub fetch: FetchConfig,
    /// Concurrency and queue sizes of the pipeline stages.
    #[serde(default)]
    pub pipeline: PipelineConfig,
    /// The operations endpoint (metrics, health, status).
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    /// How the running daemon picks up a changed configuration.
    #[serde(default)]
    pub reload: ReloadConfig,
    /// De-duplication of links and stories.
    #[serde(default)]
    pub dedup: DedupConfig,
    /// The feeds to follow.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
}

/// `[reload]`: SIGHUP always reloads; this adds watching the file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReloadConfig {
    /// Also reload when the config file's content changes (checked every
    /// two seconds; a Kubernetes ConfigMap update is picked up this way).
    #[serde(default)]
    pub watch: bool,
}

/// `[telemetry]`: the HTTP endpoint operators and probes talk to.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// Address serving `/metrics`, `/healthz`, `/readyz` and `/status`
    /// (e.g. `127.0.0.1:9464`, or a name that resolves to loopback such as
    /// `localhost:9464`); no endpoint when absent.
    #[serde(default, deserialize_with = "listen::deserialize")]
    pub listen: Option<std::net::SocketAddr>,
}

/// `[state]`: the embedded persistent state.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// Folder holding the state database.
    #[serde(default = "default_state_dir")]
    pub dir: PathBuf,
    /// Ceiling of the state store's page cache, in MiB (more: faster lookups
    /// in a very large history; less: a smaller resident set).
    #[serde(default = "default_state_cache_mib")]
    pub cache_mib: usize,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            dir: default_state_dir(),
            cache_mib: default_state_cache_mib(),
        }
    }
}

fn default_state_cache_mib() -> usize {
    crate::state::DEFAULT_CACHE_BYTES >> 20
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("data/state")
}

/// `[output]`: where articles go. It lives with the sinks (`sink::output`),
/// each sink's settings beside its code.
pub use crate::sink::OutputConfig;

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
    fn validate(&self, prefix: &str) -> Result<(), (String, String)> {
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

/// `[pipeline]`: concurrency of each stage and the size of the queues between them.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Feeds fetched at the same time.
    pub feed_concurrency: usize,
    /// Article pages fetched at the same time.
    pub fetch_concurrency: usize,
    /// Pages cleaned at the same time (each on a blocking thread); 0 = one per CPU.
    pub clean_workers: usize,
    /// Capacity of each channel between stages; bounds memory and applies backpressure.
    pub queue_capacity: usize,
    /// On shutdown, how long in-flight work may take before it is abandoned
    /// (abandoned articles stay pending and are processed after the next start).
    #[serde(with = "duration")]
    pub shutdown_grace: Duration,
    /// Attempts at a failing article (timeouts, 5xx, 429, sink errors) before it is given up.
    pub max_article_attempts: u32,
    /// Wait before retrying a failed article; doubled for each further attempt.
    #[serde(with = "duration")]
    pub retry_backoff: Duration,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            feed_concurrency: 8,
            fetch_concurrency: 16,
            clean_workers: 0,
            queue_capacity: 64,
            shutdown_grace: Duration::from_secs(5),
            max_article_attempts: 6,
            retry_backoff: Duration::from_secs(120),
        }
    }
}

/// `[dedup]`: how one story is recognised across URLs, feeds and sites.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// Recognise syndicated copies and other near-duplicate stories by their
    /// body (URL-level de-duplication is always on).
    pub near_duplicates: bool,
    /// How long a story is remembered for near-duplicate matching.
    #[serde(with = "duration")]
    pub retention: Duration,
    /// Estimated share of word 3-shingles two bodies must have in common to be
    /// one story, whatever their headlines (0 to 1).
    pub body_similarity: f64,
    /// Lower share of shingles that is enough when the headlines are alike
    /// too (`title_similarity`).
    pub body_similarity_with_title: f64,
    /// Share of the shorter headline's words the other headline must have for
    /// `body_similarity_with_title` to apply (0 to 1).
    pub title_similarity: f64,
    /// Bodies with fewer words are not fingerprinted: too little text to tell
    /// a copy from a brief.
    pub min_words: usize,
    /// Query parameters stripped from URLs besides `utm_*`, `fbclid`,
    /// `gclid`, `mc_cid`, `mc_eid` and the other built-in ones.
    pub tracking_params: Vec<String>,
}

impl Default for DedupConfig {
    fn default() -> Self {
        Self {
            near_duplicates: true,
            retention: Duration::from_secs(7 * 24 * 3600),
            body_similarity: 0.6,
            body_similarity_with_title: 0.6,
            title_similarity: 0.8,
            min_words: 60,
            tracking_params: Vec::new(),
        }
    }
}

impl DedupConfig {
    /// The similarity thresholds as the matcher takes them.
    pub fn thresholds(&self) -> crate::dedup::Thresholds {
        crate::dedup::Thresholds {
            body: self.body_similarity,
            body_with_title: self.body_similarity_with_title,
            title: self.title_similarity,
        }
    }

    /// Checks ranges; an error names the key.
    fn validate(&self) -> Result<(), (String, String)> {
        let key = |name: &str| format!("dedup.{name}");
        let day = Duration::from_secs(24 * 3600);
        if let Some(message) = range_error(self.retention, Duration::from_secs(60), 366 * day) {
            return Err((key("retention"), message));
        }
        for (name, value) in [
            ("body_similarity", self.body_similarity),
            (
                "body_similarity_with_title",
                self.body_similarity_with_title,
            ),
            ("title_similarity", self.title_similarity),
        ] {
            if !(0.05..=1.0).contains(&value) {
                return Err((key(name), format!("{value} is out of range (0.05 to 1)")));
            }
        }
        if self.body_similarity_with_title > self.body_similarity {
            return Err((
                key("body_similarity_with_title"),
                format!(
                    "{} is above body_similarity ({}): the headline can only lower the bar",
                    self.body_similarity_with_title, self.body_similarity
                ),
            ));
        }
        if !(10..=100_000).contains(&self.min_words) {
            return Err((
                key("min_words"),
                format!("{} is out of range (10 to 100000)", self.min_words),
            ));
        }
        for (i, param) in self.tracking_params.iter().enumerate() {
            if param.is_empty() || param.contains(['&', '=', '#', ' ']) {
                return Err((
                    key(&format!("tracking_params[{i}]")),
                    format!("{param:?} is not a query parameter name"),
                ));
            }
        }
        Ok(())
    }
}

impl PipelineConfig {
    /// Number of clean workers, resolving 0 to the number of CPUs.
    pub fn clean_workers(&self) -> usize {
        if self.clean_workers > 0 {
            self.clean_workers
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        }
    }
}

/// `[[sources]]`: one source to follow.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Unique name, used in logs, metrics and the output folder.
    pub name: String,
    /// What `url` serves, and so how it is read (`feed` unless set).
    #[serde(default)]
    pub kind: crate::source::SourceKind,
    /// The URL polled: for a feed, RSS, Atom or JSON Feed, or an HTML page advertising one.
    pub url: Url,
    /// Time between two polls of this feed.
    #[serde(with = "duration", default = "default_interval")]
    pub interval: Duration,
    /// CSS rules for this source's pages, where the general cleaner fails.
    #[serde(default)]
    pub rules: Option<RulesConfig>,
    /// This source's own `[fetch]` values.
    #[serde(default)]
    pub fetch: Option<FetchOverrides>,
}

/// `[sources.rules]`: CSS selectors that override the cleaner for one source.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// The element(s) holding the article body.
    pub content: Option<String>,
    /// Elements to drop before extraction (ads, promos, comment blocks…).
    #[serde(default)]
    pub remove: Vec<String>,
    /// The headline element.
    pub title: Option<String>,
}

impl RulesConfig {
    /// Parses the selectors; an error names the field (`content`, `remove[1]`, `title`).
    pub fn compile(&self) -> Result<crate::clean::Rules, (String, String)> {
        fn parse(field: String, css: &str) -> Result<scraper::Selector, (String, String)> {
            css::parse(css).map_err(|message| (field, message))
        }
        Ok(crate::clean::Rules {
            content: self
                .content
                .as_deref()
                .map(|css| parse("content".into(), css))
                .transpose()?,
            remove: self
                .remove
                .iter()
                .enumerate()
                .map(|(i, css)| parse(format!("remove[{i}]"), css))
                .collect::<Result<_, _>>()?,
            title: self
                .title
                .as_deref()
                .map(|css| parse("title".into(), css))
                .transpose()?,
        })
    }
}

/// Longest allowed poll interval (keeps due-time arithmetic far from overflow).
const MAX_INTERVAL: Duration = Duration::from_secs(366 * 24 * 3600);

fn default_interval() -> Duration {
    Duration::from_secs(15 * 60)
}

impl Config {
    /// Loads the configuration from `origin`, applies `THRESHER__*` overrides and validates it.
    pub fn load(origin: &ConfigOrigin) -> Result<Self, ConfigError> {
        match origin {
            ConfigOrigin::File(path) => Self::load_from(
                config::File::from(path.as_path())
                    .format(config::FileFormat::Toml)
                    .required(true),
                origin,
            ),
            ConfigOrigin::Embedded => Self::load_from(
                config::File::from_str(EMBEDDED_DEFAULT, config::FileFormat::Toml),
                origin,
            ),
        }
    }

    /// Parses a configuration held in a string (for tests and tools).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let origin = ConfigOrigin::File(PathBuf::from("<string>"));
        Self::load_from(
            config::File::from_str(text, config::FileFormat::Toml),
            &origin,
        )
    }

    fn load_from<S>(file: S, origin: &ConfigOrigin) -> Result<Self, ConfigError>
    where
        S: config::Source + Send + Sync + 'static,
    {
        let read = |vars: env::Vars| -> Result<Config, config::ConfigError> {
            config::Config::builder()
                .add_source(vec![file.clone_into_box()])
                .add_source(env::source(vars))
                .build()?
                .try_deserialize()
        };
        let config = read(None).map_err(|error| {
            let message = tidy_message(&error.to_string(), origin);
            match env::culprit(&error, |vars| read(vars).map(drop)) {
                Some(variable) => ConfigError::Environment {
                    origin: origin.clone(),
                    message: env::message(&variable, &message),
                    variable,
                },
                None => ConfigError::Load {
                    origin: origin.clone(),
                    message: source_name::with_source_name(message, file.clone_into_box()),
                },
            }
        })?;
        config.validate(origin)?;
        Ok(config)
    }

    /// Checks what serde cannot: unique and path-safe names, http(s) URLs, sane numbers.
    pub fn validate(&self, origin: &ConfigOrigin) -> Result<(), ConfigError> {
        let invalid = |key: String, message: String| {
            // A value set through the environment is not in the file: say so.
            let variable = format!("THRESHER__{}", key.replace('.', "__").to_ascii_uppercase());
            let message = if std::env::var_os(&variable).is_some() {
                format!("{message} (value from environment variable {variable})")
            } else {
                message
            };
            ConfigError::Invalid {
                origin: origin.clone(),
                key,
                message,
            }
        };
        let mut first_index: HashMap<&str, usize> = HashMap::new();
        for (i, source) in self.sources.iter().enumerate() {
            let key = |field: &str| format!("sources[{i}].{field}");
            if let Err(message) = check_source_name(&source.name) {
                return Err(invalid(key("name"), message));
            }
            if let Some(first) = first_index.insert(&source.name, i) {
                return Err(invalid(
                    key("name"),
                    format!(
                        "duplicate source name {:?} (already used by sources[{first}])",
                        source.name
                    ),
                ));
            }
            if !matches!(source.url.scheme(), "http" | "https") {
                return Err(invalid(
                    key("url"),
                    format!(
                        "{} is not an http or https URL (source {:?})",
                        source.url, source.name
                    ),
                ));
            }
            if let Err((field, message)) = source.kind.validate(source) {
                return Err(invalid(
                    key(&field),
                    format!("source {:?}: {message}", source.name),
                ));
            }
            if let Some(Err((field, message))) = source.rules.as_ref().map(RulesConfig::compile) {
                return Err(invalid(
                    key(&format!("rules.{field}")),
                    format!("source {:?}: {message}", source.name),
                ));
            }
            if source.interval < Duration::from_secs(1) || source.interval > MAX_INTERVAL {
                return Err(invalid(
                    key("interval"),
                    format!(
                        "interval must be between 1s and 1year (source {:?})",
                        source.name
                    ),
                ));
            }
        }
        // Ceilings keep every count far below what tokio's semaphores, the
        // allocator and the thread pool accept, so a value that loads runs.
        let pipeline = &self.pipeline;
        let counts = [
            ("state.cache_mib", self.state.cache_mib as u64, 1, 65_536),
            (
                "pipeline.feed_concurrency",
                pipeline.feed_concurrency as u64,
                1,
                1_024,
            ),
            (
                "pipeline.fetch_concurrency",
                pipeline.fetch_concurrency as u64,
                1,
                1_024,
            ),
            (
                "pipeline.clean_workers",
                pipeline.clean_workers as u64,
                0,
                256,
            ),
            (
                "pipeline.queue_capacity",
                pipeline.queue_capacity as u64,
                1,
                100_000,
            ),
            (
                "pipeline.max_article_attempts",
                u64::from(pipeline.max_article_attempts),
                1,
                100,
            ),
        ];
        for (key, value, min, max) in counts {
            if let Some(message) = count_error(value, min, max) {
                return Err(invalid(key.to_string(), message));
            }
        }
        let day = Duration::from_secs(24 * 3600);
        let bounded = [
            (
                "pipeline.retry_backoff",
                self.pipeline.retry_backoff,
                Duration::from_secs(1),
                day,
            ),
            (
                "pipeline.shutdown_grace",
                self.pipeline.shutdown_grace,
                Duration::ZERO,
                Duration::from_secs(3600),
            ),
        ];
        for (key, value, min, max) in bounded {
            if let Some(message) = range_error(value, min, max) {
                return Err(invalid(key.to_string(), message));
            }
        }
        self.output
            .validate()
            .map_err(|(key, message)| invalid(key, message))?;
        self.fetch
            .validate("fetch")
            .map_err(|(key, message)| invalid(key, message))?;
        self.dedup
            .validate()
            .map_err(|(key, message)| invalid(key, message))?;
        for (i, source) in self.sources.iter().enumerate() {
            if let Some(overrides) = &source.fetch {
                self.fetch
                    .overridden(overrides)
                    .validate(&format!("sources[{i}].fetch"))
                    .map_err(|(key, message)| invalid(key, message))?;
            }
        }
        Ok(())
    }
}

/// The message for a count outside `min..=max`, if it is.
pub(crate) fn count_error(value: u64, min: u64, max: u64) -> Option<String> {
    (value < min || value > max).then(|| format!("{value} is out of range ({min} to {max})"))
}

/// The message for a duration outside `min..=max`, if it is.
pub(crate) fn range_error(value: Duration, min: Duration, max: Duration) -> Option<String> {
    (value < min || value > max).then(|| {
        format!(
            "{} is out of range ({} to {})",
            humantime::format_duration(value),
            humantime::format_duration(min),
            humantime::format_duration(max)
        )
    })
}

/// Makes the `config` crate's messages read well: it writes key paths as
/// `sources[0]url` (we want `sources[0].url`), ends with "for key `k`" (put
/// first, as in our own messages, so a long explanation does not hide it)
/// and sometimes appends the file name, which our own prefix already gives.
fn tidy_message(message: &str, origin: &ConfigOrigin) -> String {
    let mut tidy = String::with_capacity(message.len() + 8);
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        tidy.push(c);
        if c == ']' && chars.peek().is_some_and(|n| n.is_ascii_alphabetic()) {
            tidy.push('.');
        }
    }
    let suffix = format!(" in {origin}");
    let tidy = tidy.trim_end();
    let tidy = tidy.strip_suffix(&suffix).unwrap_or(tidy);
    let (body, place) = match tidy.strip_suffix(" in the environment") {
        Some(body) => (body, " in the environment"),
        None => (tidy, ""),
    };
    match body.rsplit_once(" for key `") {
        Some((what, key)) if key.ends_with('`') && !key[..key.len() - 1].contains('`') => {
            format!("key `{key}: {what}{place}")
        }
        _ => tidy.to_string(),
    }
}

/// Source names become folder names and log fields: keep them short and plain.
fn check_source_name(name: &str) -> Result<(), String> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() {
        Err("source name must not be empty".to_string())
    } else if name.len() > 64 {
        Err(format!("source name {name:?} is longer than 64 characters"))
    } else if name.starts_with('.') || !name.chars().all(plain) {
        Err(format!(
            "source name {name:?} may only contain ASCII letters, digits, '-', '_' and '.', \
             and must not start with '.'"
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::from_toml(text).map_err(|e| e.to_string())
    }

    #[test]
    fn embedded_default_is_valid() {
        let config = Config::load(&ConfigOrigin::Embedded).expect("embedded config loads");
        assert!(!config.sources.is_empty());
        assert_eq!(config.output.dir, PathBuf::from("data/articles"));
    }

    #[test]
    fn issue_example_keys_work_as_written() {
        let config = parse(
            r#"
            [state]
            dir = "s"
            [output]
            dir = "o"
            [[sources]]
            name = "example"
            url  = "https://example.org/feed.xml"
            interval = "10m"
            "#,
        )
        .expect("valid");
        assert_eq!(config.state.dir, PathBuf::from("s"));
        assert_eq!(config.output.dir, PathBuf::from("o"));
        assert_eq!(config.sources[0].interval, Duration::from_secs(600));
        assert_eq!(
            config.sources[0].url.as_str(),
            "https://example.org/feed.xml"
        );
    }

    #[test]
    fn unknown_key_is_rejected_with_its_name() {
        let err = parse("[output]\ndirr = \"x\"\n").unwrap_err();
        assert!(err.contains("dirr"), "{err}");
    }

    #[test]
    fn duplicate_source_names_are_rejected() {
        let err = parse(
            r#"
            [[sources]]
            name = "a"
            url = "https://a.example/feed"
            [[sources]]
            name = "a"
            url = "https://b.example/feed"
            "#,
        )
        .unwrap_err();
        assert!(err.contains("sources[1].name"), "{err}");
        assert!(err.contains("duplicate"), "{err}");
    }

    #[test]
    fn bad_url_and_bad_duration_are_rejected() {
        let err = parse("[[sources]]\nname = \"a\"\nurl = \"not a url\"\n").unwrap_err();
        assert!(err.contains("url"), "{err}");
        let err = parse("[[sources]]\nname = \"a\"\nurl = \"ftp://a.example/\"\n").unwrap_err();
        assert!(err.contains("sources[0].url"), "{err}");
        let err = parse(
            "[[sources]]\nname = \"a\"\nurl = \"https://a.example/\"\ninterval = \"ten minutes\"\n",
        )
        .unwrap_err();
        assert!(err.contains("interval"), "{err}");
    }

    #[test]
    fn a_source_is_a_feed_unless_its_kind_says_otherwise() {
        let config = parse(
            "[[sources]]\nname = \"a\"\nurl = \"https://a.example/\"\n\
             [[sources]]\nname = \"b\"\nkind = \"feed\"\nurl = \"https://b.example/\"\n",
        )
        .expect("valid");
        let kinds: Vec<_> = config.sources.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [crate::source::SourceKind::Feed; 2]);
    }

    #[test]
    fn an_unknown_source_kind_is_named_with_its_source_and_the_known_kinds() {
        let err = parse(
            "[[sources]]\nname = \"a\"\nurl = \"https://a.example/\"\n\
             [[sources]]\nname = \"maps\"\nkind = \"sitemap\"\nurl = \"https://m.example/\"\n",
        )
        .unwrap_err();
        assert!(err.contains("key `sources[1].kind`"), "{err}");
        assert!(err.contains("source \"maps\""), "{err}");
        assert!(
            err.contains("unknown source kind \"sitemap\"; known kinds: \"feed\""),
            "{err}"
        );
    }

    #[test]
    fn source_rules_are_parsed_and_bad_selectors_named() {
        let config = parse(
            r#"
            [[sources]]
            name = "a"
            url = "https://a.example/feed"
            [sources.rules]
            content = "div.story-body"
            remove = [".promo", "aside.related"]
            title = "h1.headline"
            "#,
        )
        .expect("valid");
        let rules = config.sources[0]
            .rules
            .as_ref()
            .expect("rules")
            .compile()
            .expect("compiles");
        assert!(rules.content.is_some() && rules.title.is_some());
        assert_eq!(rules.remove.len(), 2);
        let err = parse(
            "[[sources]]\nname = \"a\"\nurl = \"https://a.example/\"\n[sources.rules]\nremove = [\"p\", \"div[\"]\n",
        )
        .unwrap_err();
        assert!(err.contains("sources[0].rules.remove[1]"), "{err}");
        assert!(err.contains("div["), "{err}");
    }

    #[test]
    fn telemetry_listen_is_off_by_default_and_named_when_invalid() {
        assert_eq!(parse("").expect("valid").telemetry.listen, None);
        let config = parse("[telemetry]\nlisten = \"127.0.0.1:9464\"\n").expect("valid");
        assert_eq!(
            config.telemetry.listen,
            Some("127.0.0.1:9464".parse().expect("addr"))
        );
        let err = parse("[telemetry]\nlisten = \"localhost\"\n").unwrap_err();
        assert!(err.contains("telemetry.listen"), "{err}");
        let err = parse("[telemetry]\nlisen = \"127.0.0.1:1\"\n").unwrap_err();
        assert!(err.contains("lisen"), "{err}");
    }

    #[test]
    fn every_number_outside_its_range_is_rejected_with_its_key() {
        let huge = "9223372036854775807";
        for (table, key, bad) in [
            ("state", "cache_mib", "0"),
            ("pipeline", "feed_concurrency", huge),
            ("pipeline", "fetch_concurrency", "0"),
            ("pipeline", "clean_workers", huge),
            ("pipeline", "queue_capacity", huge),
            ("pipeline", "max_article_attempts", "101"),
            ("fetch", "max_body_bytes", huge),
            ("fetch", "max_body_bytes", "10"),
            ("fetch", "host_concurrency", huge),
            ("fetch", "max_concurrency", huge),
            ("fetch", "retries", "11"),
            ("output.nats", "max_in_flight", huge),
            ("output.nats", "outbox_capacity", "0"),
        ] {
            let err = parse(&format!("[{table}]\n{key} = {bad}\n")).unwrap_err();
            assert!(err.contains(&format!("{table}.{key}")), "{key}: {err}");
            assert!(err.contains("out of range"), "{key}: {err}");
        }
        let err = parse(&format!(
            "[[sources]]\nname = \"a\"\nurl = \"http://127.0.0.1/\"\n[sources.fetch]\nhost_concurrency = {huge}\n"
        ))
        .unwrap_err();
        assert!(err.contains("sources[0].fetch.host_concurrency"), "{err}");
        // The largest value of each range loads.
        parse("[pipeline]\nqueue_capacity = 100000\n[fetch]\nmax_concurrency = 4096\n").unwrap();
    }

    #[test]
    fn unsafe_source_names_are_rejected() {
        for name in ["", "../etc", "a/b", ".hidden", "with space"] {
            let text = format!("[[sources]]\nname = {name:?}\nurl = \"https://a.example/\"\n");
            let err = parse(&text).unwrap_err();
            assert!(err.contains("sources[0].name"), "{name}: {err}");
        }
    }

    #[test]
    fn dedup_keys_parse_and_bad_values_are_named() {
        let config = parse(
            "[dedup]\nretention = \"2d\"\nbody_similarity = 0.7\ntracking_params = [\"ref\"]\nnear_duplicates = false\n",
        )
        .expect("valid");
        assert_eq!(config.dedup.retention, Duration::from_secs(2 * 24 * 3600));
        assert_eq!(config.dedup.body_similarity, 0.7);
        assert_eq!(config.dedup.tracking_params, ["ref"]);
        assert!(!config.dedup.near_duplicates);
        assert_eq!(parse("").expect("valid").dedup, DedupConfig::default());
        for (text, key) in [
            ("retention = \"0s\"", "dedup.retention"),
            ("body_similarity = 1.5", "dedup.body_similarity"),
            ("title_similarity = 0", "dedup.title_similarity"),
            (
                "body_similarity_with_title = 0.9",
                "dedup.body_similarity_with_title",
            ),
            ("min_words = 1", "dedup.min_words"),
            ("tracking_params = [\"a=b\"]", "dedup.tracking_params[0]"),
            ("threshold = 0.5", "threshold"),
        ] {
            let err = parse(&format!("[dedup]\n{text}\n")).unwrap_err();
            assert!(err.contains(key), "{text}: {err}");
        }
    }
}
