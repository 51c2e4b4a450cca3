//! `[output.nats]`: the NATS sink's settings, their checks, and how they
//! start the sink.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::{NAME, NatsSink};
use crate::config::{count_error, duration, range_error};
use crate::sink::{Registered, Sink, SinkConfig, SinkContext, SinkError};

/// The placeholder in [`NatsConfig::subject`] replaced by the source name.
pub const SOURCE_PLACEHOLDER: &str = "{source}";

/// Environment variable holding the NATS user name (with [`NATS_PASSWORD_ENV`]).
pub const NATS_USER_ENV: &str = "THRESHER_NATS_USER";
/// Environment variable holding the NATS password.
pub const NATS_PASSWORD_ENV: &str = "THRESHER_NATS_PASSWORD";
/// Environment variable holding a NATS authentication token.
pub const NATS_TOKEN_ENV: &str = "THRESHER_NATS_TOKEN";
/// Environment variable holding the path of a NATS `.creds` file (JWT + NKey).
pub const NATS_CREDS_ENV: &str = "THRESHER_NATS_CREDS";

/// `[output.nats]`: publish every article to a NATS JetStream stream.
///
/// Credentials are never read from the file: they come from the
/// `THRESHER_NATS_USER` + `THRESHER_NATS_PASSWORD`, `THRESHER_NATS_TOKEN` or
/// `THRESHER_NATS_CREDS` environment variables (or the URL's `user:pass@`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NatsConfig {
    /// Server URL, e.g. `nats://127.0.0.1:4222` (`tls://` for TLS); several
    /// servers of one cluster may be listed, separated by commas.
    pub url: String,
    /// JetStream stream the articles are stored in; created if missing.
    pub stream: String,
    /// Subject of each article; `{source}` is replaced by the source name
    /// (dots in the name become `_`, so a source is always one token).
    pub subject: String,
    /// How long JetStream remembers a message id to drop a second copy;
    /// set when Thresher creates the stream. Cover the longest broker outage
    /// you want to ride out without a possible duplicate.
    #[serde(with = "duration")]
    pub duplicate_window: Duration,
    /// How long to wait for JetStream to acknowledge a publish before retrying it.
    #[serde(with = "duration")]
    pub ack_timeout: Duration,
    /// Publishes awaiting their acknowledgement at once.
    pub max_in_flight: usize,
    /// Articles the durable outbox holds at most; when full, the pipeline waits.
    pub outbox_capacity: u64,
    /// `thresher once`: how long to wait at the end for the outbox to drain.
    /// Also the longest one article waits for room in a full outbox before it
    /// is postponed (it stays pending and is retried later).
    #[serde(with = "duration")]
    pub drain_timeout: Duration,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".into(),
            stream: "THRESHER".into(),
            subject: "thresher.articles.{source}".into(),
            duplicate_window: Duration::from_secs(2 * 3600),
            ack_timeout: Duration::from_secs(10),
            max_in_flight: 128,
            outbox_capacity: 10_000,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

impl NatsConfig {
    /// The subject an article of `source` is published on.
    pub fn subject_for(&self, source: &str) -> String {
        self.subject
            .replace(SOURCE_PLACEHOLDER, &source.replace('.', "_"))
    }

    /// `url` with any `user:password@` replaced by `***@`, for logs.
    pub fn url_for_logs(&self) -> String {
        self.url
            .split(',')
            .map(|server| {
                let server = server.trim();
                let rest = server.find("://").map_or(0, |i| i + 3);
                match server[rest..].rfind('@') {
                    Some(at) => format!("{}***{}", &server[..rest], &server[rest + at..]),
                    None => server.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The subject filter covering every article subject (`{source}` as `*`).
    pub fn subject_filter(&self) -> String {
        self.subject.replace(SOURCE_PLACEHOLDER, "*")
    }
}

impl SinkConfig for NatsConfig {
    /// Checks names, subject syntax and ranges; errors name the key under `output.nats`.
    fn validate(&self) -> Result<(), (String, String)> {
        let key = |name: &str| format!("output.nats.{name}");
        for server in self.url.split(',') {
            let parsed = server.trim().parse::<async_nats::ServerAddr>();
            if parsed.is_err() || parsed.is_ok_and(|addr| addr.host().is_empty()) {
                return Err((
                    key("url"),
                    format!("{server:?} is not a NATS server URL (nats://host:port)"),
                ));
            }
        }
        let bad_stream_char =
            |c: char| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\');
        if self.stream.is_empty()
            || self.stream.len() > 255
            || self.stream.chars().any(bad_stream_char)
        {
            return Err((
                key("stream"),
                format!(
                    "{:?} is not a JetStream stream name (1-255 characters, no spaces, '.', '*', '>', '/' or '\\')",
                    self.stream
                ),
            ));
        }
        check_subject(&self.subject).map_err(|message| (key("subject"), message))?;
        let counts = [
            ("max_in_flight", self.max_in_flight as u64, 1, 10_000),
            ("outbox_capacity", self.outbox_capacity, 1, 10_000_000),
        ];
        for (name, value, min, max) in counts {
            if let Some(message) = count_error(value, min, max) {
                return Err((key(name), message));
            }
        }
        let day = Duration::from_secs(24 * 3600);
        let bounded = [
            (
                "duplicate_window",
                self.duplicate_window,
                Duration::from_secs(1),
                30 * day,
            ),
            (
                "ack_timeout",
                self.ack_timeout,
                Duration::from_millis(10),
                Duration::from_secs(600),
            ),
            (
                "drain_timeout",
                self.drain_timeout,
                Duration::ZERO,
                Duration::from_secs(3600),
            ),
        ];
        for (name, value, min, max) in bounded {
            if let Some(message) = range_error(value, min, max) {
                return Err((key(name), message));
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "output nats: {} stream {} subject {}",
            self.url_for_logs(),
            self.stream,
            self.subject
        )
    }

    fn build(&self, ctx: &SinkContext<'_>) -> Result<Box<dyn Sink>, SinkError> {
        Ok(Box::new(NatsSink::start(
            self.clone(),
            Arc::new(ctx.state.clone()),
            Arc::clone(ctx.stats),
        )?))
    }
}

/// The NATS sink's line in the registry ([`crate::sink::SINKS`]).
pub(in crate::sink) const REGISTERED: Registered = Registered {
    name: NAME,
    key: "output.nats",
    off: "there is no [output.nats]",
    outbox: Some("NATS"),
    configured: |output| {
        let nats = output.nats.clone()?;
        Some(Box::new(nats))
    },
    changed: |running, new| {
        if running.nats == new.nats {
            Vec::new()
        } else {
            vec!["output.nats"]
        }
    },
};

/// A publish subject: dot-separated non-empty tokens, no wildcards or spaces,
/// `{source}` only as a whole token.
fn check_subject(subject: &str) -> Result<(), String> {
    let problem = if subject.is_empty() {
        Some("must not be empty")
    } else if subject.chars().any(char::is_whitespace) {
        Some("must not contain spaces")
    } else {
        subject.split('.').find_map(|token| {
            if token.is_empty() {
                Some("has an empty token (two dots in a row, or a dot at an end)")
            } else if token.contains(['*', '>']) {
                Some("must not contain the wildcards '*' or '>'")
            } else if token != SOURCE_PLACEHOLDER && token.contains(['{', '}']) {
                Some("may use {source} only as a whole token, e.g. thresher.articles.{source}")
            } else {
                None
            }
        })
    };
    match problem {
        Some(problem) => Err(format!("subject {subject:?} {problem}")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ConfigOrigin, parse_for_test as parse};

    #[test]
    fn nats_output_has_defaults_and_sits_beside_the_directory() {
        let config = parse("[output.nats]\nstream = \"NEWS\"\n").expect("valid");
        assert!(config.output.directory, "directory stays on");
        let nats = config.output.nats.expect("nats on");
        assert_eq!(nats.url, "nats://127.0.0.1:4222");
        assert_eq!(nats.stream, "NEWS");
        assert_eq!(nats.subject_for("bbc"), "thresher.articles.bbc");
        assert_eq!(nats.duplicate_window, Duration::from_secs(7200));
        let secret = NatsConfig {
            url: "nats://me:s3cret@a.example:4222, tls://b.example".into(),
            ..NatsConfig::default()
        };
        assert_eq!(
            secret.url_for_logs(),
            "nats://***@a.example:4222,tls://b.example"
        );
        let embedded = Config::load(&ConfigOrigin::Embedded).expect("embedded");
        assert_eq!(embedded.output.nats, None, "the default needs no server");
        let only = parse("[output]\ndirectory = false\n[output.nats]\n").expect("valid");
        assert!(!only.output.directory);
    }

    #[test]
    fn bad_nats_settings_are_rejected_with_their_key() {
        for (body, key) in [
            ("subject = \"a..b\"", "output.nats.subject"),
            ("subject = \"a.*\"", "output.nats.subject"),
            ("subject = \"a.x{source}\"", "output.nats.subject"),
            ("subject = \"a b\"", "output.nats.subject"),
            ("stream = \"a.b\"", "output.nats.stream"),
            ("stream = \"\"", "output.nats.stream"),
            ("url = \"nats://\"", "output.nats.url"),
            ("outbox_capacity = 0", "output.nats.outbox_capacity"),
            ("max_in_flight = 0", "output.nats.max_in_flight"),
            ("duplicate_window = \"0s\"", "output.nats.duplicate_window"),
            ("ack_timeout = \"1h\"", "output.nats.ack_timeout"),
        ] {
            let err = parse(&format!("[output.nats]\n{body}\n")).unwrap_err();
            assert!(err.contains(key), "{body}: {err}");
        }
        let err = parse("[output.nats]\npassword = \"x\"\n").unwrap_err();
        assert!(
            err.contains("password"),
            "credentials are not file keys: {err}"
        );
    }
}
