//! The request policy: quick retries of transient failures with jittered
//! back-off, and redirects followed hop by hop, each hop guarded and
//! waiting for its own origin's politeness slot; a 429 or 503 slows (and
//! may block) the origin that sent it.

use std::future::Future;
use std::time::Duration;

use reqwest::StatusCode;
use tracing::debug;
use url::Url;

use super::client::Profile;
use super::host::{Refusal, origin};
use super::send::{Hop, MAX_BLOCK, hop_headers, send};
use super::{FetchError, Fetcher, MAX_REDIRECTS, Response, Validators};
use crate::clock;

/// Wait imposed on an origin that answers 429/503 without `Retry-After`.
const DEFAULT_BLOCK: Duration = Duration::from_secs(60);
/// First quick-retry back-off; doubled per attempt, with ±50 % jitter.
const RETRY_BASE: Duration = Duration::from_millis(500);
/// Longest quick-retry back-off.
const RETRY_MAX: Duration = Duration::from_secs(10);

impl Fetcher {
    /// One admitted request with quick retries of transient failures.
    pub(super) async fn request(
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
    /// URLs, see [`Hosts::refused`](super::host::Hosts::refused)).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn follow(
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
pub(super) struct Route<'a> {
    pub(super) client: &'a reqwest::Client,
    pub(super) allow_private: bool,
}
