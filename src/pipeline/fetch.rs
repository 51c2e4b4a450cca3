//! The fetch stage: gets each accepted link's page, politely, and sends
//! HTML on to the cleaner; what cannot be fetched now is queued for a retry.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tracing::{Instrument, info_span, warn};
use url::Url;

use super::outcome::{count_failure, finish, retry_later};
use super::{Context, for_each_concurrent};
use crate::article::ArticleJob;
use crate::fetch::{self, FetchError};
use crate::state::{Outcome, Setback};
use crate::telemetry::Stats;

/// A fetched article page on its way to the cleaner (still bytes: decoding
/// a large body is CPU work, done on the cleaner's blocking thread).
pub(super) struct Page {
    /// The link it was fetched for.
    pub(super) job: ArticleJob,
    /// Where the fetch ended, after redirects.
    pub(super) final_url: Url,
    /// The declared Content-Type, if any.
    pub(super) content_type: Option<String>,
    /// The body as received.
    pub(super) body: Vec<u8>,
    /// When the fetch finished.
    pub(super) fetched_at: DateTime<Utc>,
}

/// Fetches each job's page, `fetch_concurrency` at a time (until shutdown),
/// and settles the jobs whose page cannot be had now or ever.
pub(super) async fn fetch_stage(
    ctx: Arc<Context>,
    jobs: mpsc::Receiver<ArticleJob>,
    pages: mpsc::Sender<Page>,
    max_wait: Duration,
) {
    let concurrency = ctx.config.pipeline.fetch_concurrency;
    for_each_concurrent(jobs, concurrency, Some(ctx.shutdown.clone()), |job| {
        let (ctx, pages) = (Arc::clone(&ctx), pages.clone());
        let span = info_span!("article", source = %job.source, url = %job.url);
        async move {
            match fetch_page(&ctx, &job, max_wait).await {
                Ok(fetched) => {
                    let page = Page {
                        job,
                        final_url: fetched.final_url,
                        content_type: fetched.content_type,
                        body: fetched.body,
                        fetched_at: Utc::now(),
                    };
                    // Only fails when the cleaner is gone (abandoned shutdown); the job stays pending.
                    let _ = pages.send(page).await;
                }
                Err(PageError::Fetch(FetchError::HostBusy { wait })) => {
                    // Politeness, not failure: no attempt is used up.
                    let reason = format!("host not taking requests for {wait:?}");
                    retry_later(&ctx, job, reason, Setback::Wait(wait)).await;
                }
                Err(PageError::Fetch(FetchError::RobotsUnavailable { wait })) => {
                    // The page was never asked for: nothing about it failed.
                    // It waits for robots.txt (asked again every 10 min).
                    count_failure(&ctx, &job.source, "robots_unavailable").await;
                    let reason = "robots.txt unavailable".to_string();
                    retry_later(&ctx, job, reason, Setback::Wait(wait)).await;
                }
                Err(e) if e.is_transient() => {
                    count_failure(&ctx, &job.source, e.kind()).await;
                    let setback = Setback::Attempt {
                        retry_after: e.retry_after(),
                    };
                    retry_later(&ctx, job, e.to_string(), setback).await;
                }
                Err(e) => {
                    count_failure(&ctx, &job.source, e.kind()).await;
                    Stats::inc(&ctx.stats.failed);
                    warn!(
                        "source {:?}: article {}: {e}; not retried",
                        job.source, job.url
                    );
                    let reason = e.to_string();
                    finish(&ctx, job.key, Outcome::Rejected { reason }).await;
                }
            }
        }
        .instrument(span)
    })
    .await;
}

/// Why an article page could not be used.
#[derive(Debug, thiserror::Error)]
enum PageError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("not an HTML page (Content-Type {0})")]
    NotHtml(String),
    #[error("server answered 304 Not Modified to an unconditional request")]
    NotModified,
}

impl PageError {
    /// A short name of the failure kind, for counters.
    fn kind(&self) -> &'static str {
        match self {
            Self::Fetch(e) => e.kind(),
            Self::NotHtml(_) => "not_html",
            Self::NotModified => "http_304",
        }
    }

    fn is_transient(&self) -> bool {
        match self {
            Self::Fetch(e) => e.is_transient(),
            Self::NotHtml(_) => false,
            Self::NotModified => true,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Fetch(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// Fetches a job's page; anything but HTML (or plain text) is refused.
async fn fetch_page(
    ctx: &Context,
    job: &ArticleJob,
    max_wait: Duration,
) -> Result<fetch::Fetched, PageError> {
    let fetched = match ctx
        .fetcher
        .get_page(&job.source, &job.url, max_wait)
        .await?
    {
        fetch::Response::Ok(fetched) => fetched,
        fetch::Response::NotModified => return Err(PageError::NotModified),
    };
    if let Some(content_type) = &fetched.content_type {
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let html_like = mime.is_empty()
            || mime == "text/html"
            || mime == "application/xhtml+xml"
            || mime == "text/plain";
        if !html_like {
            return Err(PageError::NotHtml(content_type.clone()));
        }
    }
    Ok(fetched)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::{Answer, Bench, Site, article_page};

    /// Runs the fetch stage over `jobs`; the pages it passed on.
    async fn fetched(bench: &Bench, jobs: Vec<ArticleJob>) -> Vec<Page> {
        let (job_tx, job_rx) = mpsc::channel(jobs.len().max(1));
        let (page_tx, mut page_rx) = mpsc::channel(jobs.len().max(1));
        for job in jobs {
            job_tx.send(job).await.expect("queue job");
        }
        drop(job_tx);
        let ctx = Arc::clone(&bench.ctx);
        fetch_stage(ctx, job_rx, page_tx, Duration::from_secs(5)).await;
        let mut pages = Vec::new();
        while let Some(page) = page_rx.recv().await {
            pages.push(page);
        }
        pages
    }

    async fn outcome(bench: &Bench, key: &str) -> Option<Outcome> {
        let link = bench
            .ctx
            .state
            .link(key.to_string())
            .await
            .expect("read link");
        link.map(|record| record.outcome)
    }

    #[tokio::test]
    async fn html_and_plain_text_pages_go_on_to_the_cleaner() {
        let site = Site::start().await;
        site.serve(
            "/a",
            Answer::ok("text/html; charset=utf-8", article_page("A", "a", None)),
        );
        site.serve(
            "/b",
            Answer::ok("application/xhtml+xml", article_page("B", "b", None)),
        );
        site.serve("/c", Answer::ok("text/plain", "Plain words."));
        let bench = Bench::new("");
        let mut jobs = Vec::new();
        for path in ["/a", "/b", "/c"] {
            jobs.push(bench.accepted("news", site.url(path).as_str()).await);
        }
        let mut pages: Vec<String> = fetched(&bench, jobs)
            .await
            .iter()
            .map(|p| p.final_url.path().to_string())
            .collect();
        pages.sort();
        assert_eq!(pages, ["/a", "/b", "/c"]);
        assert_eq!(
            bench.ctx.state.pending_count().await.expect("count"),
            3,
            "still pending"
        );
    }

    #[tokio::test]
    async fn a_page_that_is_not_html_is_rejected_for_good() {
        let site = Site::start().await;
        site.serve("/report.pdf", Answer::ok("application/pdf", "%PDF-1.7"));
        let bench = Bench::new("");
        let job = bench
            .accepted("news", site.url("/report.pdf").as_str())
            .await;
        let key = job.key.clone();
        assert!(fetched(&bench, vec![job]).await.is_empty());
        let Some(Outcome::Rejected { reason }) = outcome(&bench, &key).await else {
            panic!("rejected");
        };
        assert!(reason.contains("not an HTML page"), "{reason}");
        let counts = bench
            .ctx
            .state
            .failure_counts("news".into())
            .await
            .expect("counts");
        assert_eq!(counts.get("not_html"), Some(&1));
    }

    #[tokio::test]
    async fn a_missing_page_is_final_and_a_server_error_is_retried_using_an_attempt() {
        let site = Site::start().await;
        let down = Answer {
            status: 503,
            ..Answer::ok("text/html", "busy")
        };
        site.serve("/down", down);
        let bench = Bench::new("retries = 0\n");
        let gone = bench.accepted("news", site.url("/gone").as_str()).await;
        let down = bench.accepted("news", site.url("/down").as_str()).await;
        let (gone_key, down_key) = (gone.key.clone(), down.key.clone());
        assert!(fetched(&bench, vec![gone, down]).await.is_empty());

        assert!(matches!(
            outcome(&bench, &gone_key).await,
            Some(Outcome::Rejected { .. })
        ));
        assert_eq!(outcome(&bench, &down_key).await, None, "still pending");
        let pending = bench
            .ctx
            .state
            .pending_after(None, 10)
            .await
            .expect("pending");
        let [job] = pending.as_slice() else {
            panic!("one pending job: {pending:?}")
        };
        assert_eq!(
            (job.key.as_str(), job.failed_attempts),
            (down_key.as_str(), 1)
        );
        assert!(job.retry_at.is_some());
        assert_eq!(bench.ctx.stats.snapshot().failed, 2);
    }

    #[test]
    fn only_a_304_to_an_unconditional_request_is_worth_another_try() {
        assert!(PageError::NotModified.is_transient());
        assert!(!PageError::NotHtml("image/png".into()).is_transient());
        assert_eq!(PageError::NotModified.kind(), "http_304");
        assert_eq!(PageError::NotHtml("image/png".into()).kind(), "not_html");
    }
}
