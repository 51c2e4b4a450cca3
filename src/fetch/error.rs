//! Why a fetch failed, and how a reqwest error is read as one of those
//! reasons (the text a user sees in the log, and whether to try again).

use std::time::Duration;

use reqwest::StatusCode;

use super::reason;

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

    pub(super) fn from_reqwest(error: reqwest::Error) -> Self {
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
