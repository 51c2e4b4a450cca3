//! Where `thresher status` gets its answer: the running daemon's `/status`,
//! else the state store. An admin shell and the service can disagree on
//! both (another `--config`, an override the shell does not have), so the
//! answer always names the endpoint or the store file it came from, and a
//! store that does not exist is said to be missing, never shown as a table
//! of sources nothing is known of.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::status::{SourceStatus, StatusReport};
use crate::config::Config;
use crate::state::{DB_FILE, State, StateError};

/// How long `thresher status` waits for the daemon's answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a status report came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusFrom {
    /// The running daemon answered at this `/status` URL.
    Daemon {
        /// The URL asked.
        url: String,
    },
    /// Read from the state store file at `path`.
    Store {
        /// The database file read.
        path: PathBuf,
        /// Why no daemon answered instead.
        daemon: NoDaemon,
    },
}

/// Why the answer did not come from a running daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoDaemon {
    /// The configuration has no `[telemetry] listen`, so there is no endpoint to ask.
    NotConfigured,
    /// Nothing usable answered at `url`.
    Unreachable {
        /// The URL asked.
        url: String,
        /// What went wrong, in a few words.
        reason: String,
    },
}

impl fmt::Display for NoDaemon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotConfigured => {
                write!(
                    f,
                    "no [telemetry] listen configured, so no daemon was asked"
                )
            }
            Self::Unreachable { url, reason } => {
                write!(f, "daemon not reachable at {url}: {reason}")
            }
        }
    }
}

impl fmt::Display for StatusFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Daemon { url } => write!(f, "status from the running daemon at {url}"),
            Self::Store { path, daemon } => write!(
                f,
                "status from the state store at {} ({daemon})",
                path.display()
            ),
        }
    }
}

/// Why `thresher status` has no report to show.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// Neither a daemon answered nor does a state store exist where the
    /// configuration points: most often another config than the daemon's.
    #[error(
        "no state found at {} ({daemon}); is this the configuration the daemon runs with? \
         `thresher check-config` shows its state dir",
        path.display()
    )]
    NoState {
        /// The database file looked for.
        path: PathBuf,
        /// Why no daemon answered.
        daemon: NoDaemon,
    },
    /// The store exists but cannot be read (a daemon holds it, or it is damaged).
    #[error("{daemon}, and the state store at {} cannot be read: {source}", path.display())]
    Store {
        /// The database file.
        path: PathBuf,
        /// Why no daemon answered.
        daemon: NoDaemon,
        /// What the store said.
        source: StateError,
    },
}

/// What went wrong asking the daemon.
#[derive(Debug, thiserror::Error)]
enum AskError {
    /// The request failed; the innermost cause says what happened without
    /// repeating the URL, which the caller already prints.
    #[error("{}", root_cause(.0))]
    Request(#[from] reqwest::Error),
    /// Something answered, but not with a status.
    #[error("it answered HTTP {0}")]
    Status(u16),
    /// Something answered 200 with another document.
    #[error("the answer is not a Thresher status document ({0})")]
    NotStatus(serde_json::Error),
}

/// The last error in `error`'s chain of sources.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// The status report of the daemon `config` describes: asked of its
/// endpoint when `[telemetry] listen` is set, else (or when nothing
/// answers) read from its state store, which is never created here.
pub async fn read_status(config: &Config) -> Result<(StatusReport, StatusFrom), StatusError> {
    let daemon = match config.telemetry.listen {
        None => NoDaemon::NotConfigured,
        Some(listen) => {
            let url = status_url(listen);
            match ask(&url).await {
                Ok(report) => return Ok((report, StatusFrom::Daemon { url })),
                Err(e) => NoDaemon::Unreachable {
                    url,
                    reason: e.to_string(),
                },
            }
        }
    };
    let path = config.state.dir.join(DB_FILE);
    // Opening would create an empty store: a status read must leave no trace,
    // and an empty store would hide that this is the wrong folder.
    if !path.is_file() {
        return Err(StatusError::NoState { path, daemon });
    }
    match from_store(config).await {
        Ok(report) => Ok((report, StatusFrom::Store { path, daemon })),
        Err(source) => Err(StatusError::Store {
            path,
            daemon,
            source,
        }),
    }
}

/// The `/status` URL of a daemon listening on `listen` (an unspecified
/// address such as 0.0.0.0 is reached through loopback).
pub fn status_url(listen: SocketAddr) -> String {
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{addr}/status")
}

async fn ask(url: &str) -> Result<StatusReport, AskError> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(ASK_TIMEOUT)
        .build()?;
    let response = client.get(url).send().await?;
    if !response.status().is_success() {
        return Err(AskError::Status(response.status().as_u16()));
    }
    let body = response.bytes().await?;
    serde_json::from_slice(&body).map_err(AskError::NotStatus)
}

async fn from_store(config: &Config) -> Result<StatusReport, StateError> {
    let state = State::open(&config.state.dir)?;
    let mut sources = Vec::new();
    for source in &config.sources {
        sources.push(SourceStatus::from_store(&state, source).await);
    }
    Ok(StatusReport {
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: None,
        totals: None,
        sources,
        pending: None,
        outbox: None,
        outboxes: None,
    }
    .with_backlog(&state)
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_listen_address_is_asked_through_loopback() {
        let url = |listen: &str| status_url(listen.parse().expect("address"));
        assert_eq!(url("0.0.0.0:9464"), "http://127.0.0.1:9464/status");
        assert_eq!(url("[::]:9464"), "http://[::1]:9464/status");
        assert_eq!(url("10.0.0.5:80"), "http://10.0.0.5:80/status");
    }

    #[test]
    fn the_provenance_line_names_the_store_and_why_no_daemon_answered() {
        let from = StatusFrom::Store {
            path: PathBuf::from("/var/lib/thresher/state/thresher.redb"),
            daemon: NoDaemon::Unreachable {
                url: "http://127.0.0.1:9464/status".into(),
                reason: "Connection refused (os error 111)".into(),
            },
        };
        assert_eq!(
            from.to_string(),
            "status from the state store at /var/lib/thresher/state/thresher.redb \
             (daemon not reachable at http://127.0.0.1:9464/status: Connection refused (os error 111))"
        );
    }
}
