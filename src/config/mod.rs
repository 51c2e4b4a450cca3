//! Configuration: the TOML file users write, with environment overrides.
//!
//! The file is read with the `config` crate (file, then `THRESHER__SECTION__KEY`
//! variables on top) and deserialised into the structs below with
//! `deny_unknown_fields`, so a misspelt key fails at start instead of being
//! silently ignored. Checks serde cannot express (unique names, URL schemes,
//! non-zero durations) run in [`Config::validate`]. Every error names the file
//! (or the `THRESHER__*` variable it comes from) and the key.
//!
//! This file holds the whole `Config`, its small sections, loading and the
//! checks across sections; a section with many keys has its own file
//! (`fetch`, `pipeline`, `dedup`, `sources`) with its struct, defaults and
//! checks; `[output]` lives with the sinks (`sink::output`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

mod css;
mod dedup;
pub(crate) mod duration;
mod env;
mod fetch;
mod listen;
mod pipeline;
mod source_name;
mod sources;
mod warnings;

pub use self::dedup::DedupConfig;
pub use self::fetch::{FetchConfig, FetchOverrides};
pub use self::pipeline::PipelineConfig;
pub use self::sources::{RulesConfig, SourceConfig};

/// The configuration shipped with Thresher, embedded so the binary runs anywhere.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../config/thresher.toml");

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
        sources::validate(&self.sources).map_err(|(key, message)| invalid(key, message))?;
        // Ceilings keep every count far below what tokio's semaphores, the
        // allocator and the thread pool accept, so a value that loads runs.
        if let Some(message) = count_error(self.state.cache_mib as u64, 1, 65_536) {
            return Err(invalid("state.cache_mib".to_string(), message));
        }
        self.pipeline
            .validate()
            .map_err(|(key, message)| invalid(key, message))?;
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

/// Parses `text` as a config file, an error as its message (for tests).
#[cfg(test)]
pub(crate) fn parse_for_test(text: &str) -> Result<Config, String> {
    Config::from_toml(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::parse_for_test as parse;
    use super::*;

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
}
