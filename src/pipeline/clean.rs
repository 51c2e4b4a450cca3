//! The clean stage: decodes and cleans each page with its source's rules and
//! its host's learned template, fingerprints the body and assembles the article.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tracing::{Instrument, info, info_span, warn};

use super::fetch::Page;
use super::outcome::finish;
use super::{Context, for_each_concurrent};
use crate::article::{self, Article, ArticleJob, Provenance};
use crate::boilerplate;
use crate::clean;
use crate::dedup;
use crate::state::Outcome;
use crate::telemetry::Stats;

/// A clean article on its way to the sinks.
pub(super) struct CleanPage {
    /// The link it came from.
    pub(super) job: ArticleJob,
    /// The output record.
    pub(super) article: Article,
    /// Fingerprint of the body, when near-duplicate matching is on and the
    /// body is long enough.
    pub(super) signature: Option<dedup::Signature>,
    /// Fingerprints of the page's blocks dropped as learned template; they are
    /// counted again when the article is delivered, to keep what was learned fresh.
    pub(super) template_hits: HashSet<u64>,
}

/// Cleans each page, `clean_workers` at a time (draining on shutdown), and
/// settles the links whose page holds no article.
pub(super) async fn clean_stage(
    ctx: Arc<Context>,
    pages: mpsc::Receiver<Page>,
    articles: mpsc::Sender<CleanPage>,
) {
    let workers = ctx.config.pipeline.clean_workers();
    // No stop token: cleaning is local and quick, so on shutdown the queue drains.
    for_each_concurrent(pages, workers, None, |page| {
        let (ctx, articles) = (Arc::clone(&ctx), articles.clone());
        let span = info_span!("clean", source = %page.job.source, url = %page.final_url);
        async move {
            let job = page.job.clone();
            match clean_page(&ctx, page).await {
                Ok(clean) => {
                    let _ = articles.send(clean).await;
                }
                Err((kind, reason)) => {
                    Stats::inc(&ctx.stats.rejected);
                    ctx.metrics.failure(&job.source, "article", kind);
                    info!(
                        "source {:?}: article {}: skipped: {reason}",
                        job.source, job.url
                    );
                    finish(&ctx, job.key, Outcome::Rejected { reason }).await;
                }
            }
        }
        .instrument(span)
    })
    .await;
}

/// Decodes and cleans a page on the blocking pool (both are CPU-bound), with
/// the source's rules and the host's learned template, and assembles the
/// article. An error is final for the link: its kind (for counters) and reason.
pub(super) async fn clean_page(
    ctx: &Context,
    page: Page,
) -> Result<CleanPage, (&'static str, String)> {
    let Page {
        job,
        final_url,
        content_type,
        body,
        fetched_at,
    } = page;
    let host = final_url.host_str().unwrap_or_default().to_string();
    let template = match boilerplate::learned(&ctx.state, host).await {
        Ok(learned) => learned.template(),
        Err(e) => {
            warn!("cannot read learned template, cleaning without it: {e}");
            HashSet::new()
        }
    };
    let rules = ctx.roster.rules(&job.source);
    let base = final_url.clone();
    let entry_title = job.entry.title.clone();
    let dedup_config = &ctx.config.dedup;
    let min_words = dedup_config
        .near_duplicates
        .then_some(dedup_config.min_words);
    let want_markdown = ctx.config.output.markdown;
    let (cleaned, template_hits, signature, took) = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let html = clean::decode_html_owned(body, content_type.as_deref());
        let hits = Mutex::new(HashSet::new());
        let is_template = |block: &str| {
            let hash = boilerplate::fingerprint(block);
            let known = template.contains(&hash);
            if known && let Ok(mut hits) = hits.lock() {
                hits.insert(hash);
            }
            known
        };
        let options = clean::Options {
            rules: rules.as_deref(),
            is_boilerplate: (!template.is_empty())
                .then_some(&is_template as clean::BoilerplateTest<'_>),
            explain: false,
        };
        let cleaned = clean::clean_with(&html, Some(&base), &options);
        // The same headline `assemble` picks, so a headline the cleaner left
        // in the body is left out of the fingerprint.
        let signature = match (&cleaned, min_words) {
            (Ok(cleaned), Some(min_words)) => {
                let title = cleaned.title.as_ref().or(entry_title.as_ref());
                let words = dedup::body_words(title.map_or("", String::as_str), &cleaned.text);
                dedup::Signature::of_words(&words, min_words)
            }
            _ => None,
        };
        let markdown = match &cleaned {
            Ok(cleaned) if want_markdown => Some(clean::markdown(&cleaned.html)),
            _ => None,
        };
        (
            cleaned.map(|c| (c, markdown)),
            hits.into_inner().unwrap_or_default(),
            signature,
            started.elapsed(),
        )
    })
    .await
    .map_err(|e| ("crashed", format!("cleaner crashed on this page: {e}")))?;
    ctx.metrics.clean_seconds.observe(took.as_secs_f64());
    let (cleaned, markdown) = cleaned.map_err(|e| (e.kind(), e.to_string()))?;
    let provenance = Provenance::of_job(job.clone(), final_url, fetched_at);
    let mut article = article::assemble(&ctx.canon, provenance, cleaned);
    article.markdown = markdown;
    Ok(CleanPage {
        article,
        job,
        signature,
        template_hits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::{Bench, article_page};
    use chrono::Utc;

    /// A paragraph every page of the site carries (a standing note).
    const NOTE: &str = "The harbour district lies on the eastern side of the town and has been \
                        home to fishing families for three centuries, the history society says.";

    /// A page of `url` as fetched for a newly accepted link.
    async fn page(bench: &Bench, url: &str, html: String) -> Page {
        let job = bench.accepted("gazette", url).await;
        Page {
            final_url: job.url.clone(),
            job,
            content_type: Some("text/html".into()),
            body: html.into_bytes(),
            fetched_at: Utc::now(),
        }
    }

    /// The article of `page`.
    async fn cleaned(bench: &Bench, page: Page) -> CleanPage {
        match clean_page(&bench.ctx, page).await {
            Ok(clean) => clean,
            Err((kind, reason)) => panic!("not an article ({kind}): {reason}"),
        }
    }

    fn with_note(html: String) -> String {
        html.replace("</article>", &format!("<p>{NOTE}</p></article>"))
    }

    #[tokio::test]
    async fn a_block_learned_as_the_hosts_template_is_dropped_and_reported() {
        let bench = Bench::new("");
        let note = boilerplate::fingerprint(NOTE);
        let fresh = page(
            &bench,
            "https://gazette.example/1",
            with_note(article_page("One", "ferries", None)),
        )
        .await;
        let clean = cleaned(&bench, fresh).await;
        assert!(
            clean.article.text.contains(NOTE),
            "kept while nothing is learned"
        );
        for _ in 0..boilerplate::TEMPLATE_MIN_ARTICLES {
            let blocks = HashSet::from([note]);
            boilerplate::learn(&bench.ctx.state, "gazette.example".into(), blocks)
                .await
                .expect("learn");
        }
        let later = page(
            &bench,
            "https://gazette.example/2",
            with_note(article_page("Two", "bridges", None)),
        )
        .await;
        let clean = cleaned(&bench, later).await;
        assert!(!clean.article.text.contains(NOTE), "{}", clean.article.text);
        assert_eq!(clean.template_hits, HashSet::from([note]));
    }

    #[tokio::test]
    async fn a_long_enough_body_is_fingerprinted_a_short_one_is_not() {
        let bench = Bench::new("[dedup]\nmin_words = 100\n");
        let long = page(
            &bench,
            "https://gazette.example/long",
            article_page("Long", "harbour plan", None),
        )
        .await;
        let clean = cleaned(&bench, long).await;
        assert!(clean.signature.is_some());
        let bench = Bench::new("[dedup]\nmin_words = 10000\n");
        let short = page(
            &bench,
            "https://gazette.example/long",
            article_page("Long", "harbour plan", None),
        )
        .await;
        let clean = cleaned(&bench, short).await;
        assert!(clean.signature.is_none(), "too short to compare");
    }

    #[tokio::test]
    async fn markdown_is_made_only_when_configured() {
        let html = article_page("Harbour", "harbour plan", None);
        let bench = Bench::new("");
        let plain = page(&bench, "https://gazette.example/a", html.clone()).await;
        let clean = cleaned(&bench, plain).await;
        assert_eq!(clean.article.markdown, None);
        let bench = Bench::with_output("markdown = true", "");
        let wanted = page(&bench, "https://gazette.example/a", html).await;
        let clean = cleaned(&bench, wanted).await;
        let markdown = clean.article.markdown.expect("markdown");
        assert!(
            markdown.contains("Paragraph 1 about harbour plan"),
            "{markdown}"
        );
    }

    #[tokio::test]
    async fn a_page_without_an_article_is_rejected_for_good() {
        let bench = Bench::new("");
        let empty = page(
            &bench,
            "https://gazette.example/empty",
            "<html><body><nav>Home</nav></body></html>".into(),
        )
        .await;
        let key = empty.job.key.clone();
        let (page_tx, page_rx) = mpsc::channel(1);
        let (article_tx, mut article_rx) = mpsc::channel(1);
        page_tx.send(empty).await.expect("queue page");
        drop(page_tx);
        clean_stage(Arc::clone(&bench.ctx), page_rx, article_tx).await;
        assert!(article_rx.recv().await.is_none(), "nothing passed on");
        let link = bench.ctx.state.link(key).await.expect("read link");
        assert!(matches!(
            link.map(|l| l.outcome),
            Some(Outcome::Rejected { .. })
        ));
        assert_eq!(bench.ctx.stats.snapshot().rejected, 1);
    }
}
