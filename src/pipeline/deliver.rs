//! The deliver stage: the exactly-once rules. An article already written,
//! or another copy of a story already written, is recorded where it was seen
//! instead of written again; the rest goes to every sink, and a link is
//! marked done only once every sink has its article.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tracing::{Instrument, error, info, info_span, warn};
use url::Url;

use super::clean::CleanPage;
use super::outcome::{finish, retry_later};
use super::{Context, source_labels};
use crate::article::{Article, ArticleJob};
use crate::boilerplate;
use crate::dedup;
use crate::dedup::Story;
use crate::sink::{Sighting, SightingKind};
use crate::state::{Outcome, Setback};
use crate::telemetry::Stats;

/// How often the deliver stage forgets stories older than `[dedup] retention`.
const STORY_PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Drops articles already delivered and copies of stories already written
/// (recording where they were seen), writes the rest to every sink, and
/// marks each link done only after the sinks have it. Sequential on purpose:
/// the "seen before?" checks and the write must not race, neither for one id
/// nor for two copies of one story.
pub(super) async fn deliver_stage(ctx: Arc<Context>, mut articles: mpsc::Receiver<CleanPage>) {
    let mut last_prune = None;
    while let Some(clean) = articles.recv().await {
        if last_prune.is_none_or(|at: std::time::Instant| at.elapsed() >= STORY_PRUNE_EVERY) {
            forget_old_stories(&ctx).await;
            last_prune = Some(std::time::Instant::now());
        }
        let span = info_span!("deliver", source = %clean.article.source, url = %clean.article.url);
        deliver(&ctx, clean).instrument(span).await;
    }
}

/// The article with an id its page deserves. An id taken from a declared
/// canonical link that names another page makes this page a duplicate of
/// what was written under it only if the bodies agree (or it is that very
/// page): a template with one constant canonical (`/latest`) would
/// otherwise file every later story of the site as a duplicate of the
/// first. Failing that, the page is identified by its own URL.
async fn trusted_identity(
    ctx: &Context,
    mut article: Article,
    signature: Option<&dedup::Signature>,
) -> Article {
    let page = ctx.canon.canonical_url(&article.url);
    let page_id = ctx.canon.article_id(&page);
    if page_id == article.id
        || !matches!(ctx.state.is_delivered(article.id.clone()).await, Ok(true))
    {
        return article;
    }
    let original = ctx.stories.story(article.id.clone()).await.ok().flatten();
    let same_page = original.as_ref().is_some_and(|o| {
        Url::parse(&o.url)
            .is_ok_and(|u| ctx.canon.article_id(&ctx.canon.canonical_url(&u)) == page_id)
    });
    let bodies_agree = match (
        original.as_ref().and_then(|o| o.signature.as_ref()),
        signature,
    ) {
        (Some(theirs), Some(ours)) => theirs.similarity(ours) >= ctx.config.dedup.body_similarity,
        _ => false,
    };
    if same_page || bodies_agree {
        return article;
    }
    warn!(
        canonical = %article.canonical_url,
        "the page's canonical link names an article already written with a different body; \
         identifying this page by its own URL"
    );
    article.id = page_id;
    article.canonical_url = page;
    article
}

/// Forgets stories older than `[dedup] retention`, and origin and source
/// records unused for [`crate::state::IDLE_RETENTION`].
async fn forget_old_stories(ctx: &Context) {
    let retention =
        chrono::Duration::from_std(ctx.config.dedup.retention).unwrap_or(chrono::Duration::MAX);
    let cutoff = Utc::now() - retention;
    match ctx.stories.forget_before(cutoff).await {
        Ok(0) => {}
        Ok(n) => info!(count = n, "forgot stories older than the dedup retention"),
        Err(e) => warn!("cannot forget old stories (tried again in an hour): {e}"),
    }
    let idle_cutoff = crate::clock::utc_before(Utc::now(), crate::state::IDLE_RETENTION);
    match ctx.state.forget_idle_rows(idle_cutoff).await {
        Ok(forgotten) if forgotten.rows > 0 => info!(
            rows = forgotten.rows,
            "forgot origin and source records unused for 30 days"
        ),
        Ok(_) => {}
        Err(e) => {
            warn!("cannot forget idle origin and source records (tried again in an hour): {e}")
        }
    }
}

/// Delivers one article (or records it as a duplicate or a copy) and settles its link.
async fn deliver(ctx: &Context, clean: CleanPage) {
    let CleanPage {
        job,
        article,
        signature,
        template_hits,
    } = clean;
    let article = trusted_identity(ctx, article, signature.as_ref()).await;
    match ctx.state.is_delivered(article.id.clone()).await {
        Ok(true) => {
            info!(id = %article.id, "duplicate of an article already written");
            // Where the link differs from the article's own URL (a redirect,
            // a canonical link), the article learns it was seen there too.
            let original = match ctx.stories.story(article.id.clone()).await {
                Ok(original) => original,
                Err(e) => {
                    warn!("cannot read the original article's record: {e}");
                    None
                }
            };
            let job = match original {
                Some(original) => {
                    let kind = SightingKind::SameArticle;
                    let sighting = sighting(ctx, &job, &article, &original, kind, 1.0);
                    let Some(job) = note_sighting(ctx, job, &sighting).await else {
                        return;
                    };
                    job
                }
                None => job,
            };
            // Counted once recorded: a postponed sighting comes back here.
            Stats::inc(&ctx.stats.duplicates);
            count_source_duplicate(ctx, &article.source);
            let outcome = Outcome::Duplicate {
                article_id: article.id,
            };
            finish(ctx, job.key, outcome).await;
            return;
        }
        Ok(false) => {}
        Err(e) => {
            // Without the answer, writing is safe: sinks are idempotent per id.
            warn!("cannot check for duplicates: {e}");
        }
    }
    if let Some(signature) = &signature {
        let found = ctx
            .stories
            .find_same_story(
                signature.clone(),
                article.title.clone(),
                article.id.clone(),
                ctx.config.dedup.thresholds(),
            )
            .await;
        match found {
            Ok(Some(found)) => {
                info!(
                    id = %article.id,
                    original = %found.story.id,
                    original_url = %found.story.url,
                    body_similarity = found.body_similarity,
                    title_similarity = found.title_similarity,
                    "another copy of a story already written; recorded as seen there"
                );
                let sighting = sighting(
                    ctx,
                    &job,
                    &article,
                    &found.story,
                    SightingKind::NearDuplicate,
                    found.body_similarity,
                );
                let Some(job) = note_sighting(ctx, job, &sighting).await else {
                    return;
                };
                Stats::inc(&ctx.stats.near_duplicates);
                // Per source, a copy is a duplicate like any other page not written.
                count_source_duplicate(ctx, &article.source);
                let outcome = Outcome::NearDuplicate {
                    article_id: found.story.id,
                };
                finish(ctx, job.key, outcome).await;
                return;
            }
            Ok(None) => {}
            // Writing a possible copy beats losing an article.
            Err(e) => warn!("cannot look for copies of this story, writing it: {e}"),
        }
    }
    for sink in &ctx.sinks {
        if let Err(e) = sink.write(&article).await {
            // Our failure, not the site's: retry without using up an attempt.
            ctx.metrics.failure(&job.source, "article", "sink");
            let reason = format!("{} sink: {e}", sink.name());
            retry_later(ctx, job, reason, Setback::Postpone).await;
            return;
        }
    }
    Stats::inc(&ctx.stats.articles_written);
    ctx.metrics
        .articles_written
        .get_or_create(&source_labels(&article.source))
        .inc();
    info!(id = %article.id, title = %article.title, "article written");
    learn_template(ctx, &article, template_hits).await;
    let story = Story {
        id: article.id.clone(),
        source: article.source.clone(),
        url: article.url.to_string(),
        title: article.title.clone(),
        seen_at: Utc::now(),
        signature,
    };
    let outcome = Outcome::Written {
        article_id: article.id,
    };
    if let Err(e) = ctx
        .stories
        .complete_with_story(job.key, outcome, Some(story))
        .await
    {
        error!("cannot record article outcome (it will be processed again): {e}");
    }
}

/// The sighting of `original` at the page of `article`, whose address is
/// given without tracking parameters or fragment.
fn sighting(
    ctx: &Context,
    job: &ArticleJob,
    article: &Article,
    original: &Story,
    kind: SightingKind,
    body_similarity: f64,
) -> Sighting {
    Sighting {
        original_id: original.id.clone(),
        original_source: original.source.clone(),
        url: ctx.canon.canonical_url(&article.url),
        source: job.source.clone(),
        title: article.title.clone(),
        kind,
        body_similarity,
    }
}

/// Counts a page not written because its story was, in the source's metrics.
fn count_source_duplicate(ctx: &Context, source: &str) {
    ctx.metrics
        .duplicates
        .get_or_create(&source_labels(source))
        .inc();
}

/// Records a sighting with every sink and hands the job back; if a sink
/// failed, the job is postponed instead (our failure: no attempt used up).
async fn note_sighting(ctx: &Context, job: ArticleJob, sighting: &Sighting) -> Option<ArticleJob> {
    if record_sighting(ctx, sighting).await {
        return Some(job);
    }
    let reason = "sink could not record a sighting".to_string();
    retry_later(ctx, job, reason, Setback::Postpone).await;
    None
}

/// Tells every sink about a sighting; false if one failed (logged).
async fn record_sighting(ctx: &Context, sighting: &Sighting) -> bool {
    for sink in &ctx.sinks {
        if let Err(e) = sink.duplicate(sighting).await {
            warn!(
                "{} sink: cannot record that article {} was seen at {}: {e}",
                sink.name(),
                sighting.original_id,
                sighting.url
            );
            return false;
        }
    }
    true
}

/// Counts the blocks of a delivered article for its host's learned template.
/// Only delivered articles count: a page fetched again under another URL must
/// not make its own paragraphs look like template.
async fn learn_template(ctx: &Context, article: &Article, template_hits: HashSet<u64>) {
    let Some(host) = article.url.host_str() else {
        return;
    };
    let mut blocks = template_hits;
    blocks.extend(article.text.split("\n\n").map(boilerplate::fingerprint));
    if let Err(e) = boilerplate::learn(&ctx.state, host.to_string(), blocks).await {
        warn!("cannot record learned template for {host}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::clean::clean_page;
    use crate::pipeline::fetch::Page;
    use crate::pipeline::testing::{Bench, article_page};

    /// The link `url` of `source`, accepted, fetched as `html` from `url` and cleaned.
    async fn cleaned(bench: &Bench, source: &str, url: &str, html: String) -> CleanPage {
        let job = bench.accepted(source, url).await;
        clean_job(bench, job, html).await
    }

    /// `job`'s page, fetched as `html` from its URL, cleaned.
    async fn clean_job(bench: &Bench, job: ArticleJob, html: String) -> CleanPage {
        let page = Page {
            final_url: job.url.clone(),
            job,
            content_type: Some("text/html; charset=utf-8".into()),
            body: html.into_bytes(),
            fetched_at: Utc::now(),
        };
        match clean_page(&bench.ctx, page).await {
            Ok(clean) => clean,
            Err((kind, reason)) => panic!("not an article ({kind}): {reason}"),
        }
    }

    /// The stored outcome of `key`; `None` while it is pending.
    async fn outcome(bench: &Bench, key: &str) -> Option<Outcome> {
        let link = bench
            .ctx
            .state
            .link(key.to_string())
            .await
            .expect("read link");
        link.map(|record| record.outcome)
    }

    fn seen_at(file: &serde_json::Value) -> Vec<&str> {
        file["also_seen_at"]
            .as_array()
            .map(|urls| urls.iter().filter_map(|u| u.as_str()).collect())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn an_article_is_written_once_and_its_link_finished_as_written() {
        let bench = Bench::new("");
        let url = "https://gazette.example/news/harbour";
        let clean = cleaned(
            &bench,
            "gazette",
            url,
            article_page("Harbour", "harbour plan", None),
        )
        .await;
        let (key, id) = (clean.job.key.clone(), clean.article.id.clone());
        deliver(&bench.ctx, clean).await;

        let file = bench.written("gazette", &id).expect("the article file");
        assert_eq!(file["url"], url);
        assert_eq!(bench.files_of("gazette"), 1);
        assert_eq!(
            outcome(&bench, &key).await,
            Some(Outcome::Written {
                article_id: id.clone()
            })
        );
        let story = bench.ctx.stories.story(id).await.expect("read story");
        assert!(
            story.is_some_and(|s| s.signature.is_some()),
            "remembered with its fingerprint"
        );
        assert_eq!(bench.ctx.state.pending_count().await.expect("count"), 0);
    }

    #[tokio::test]
    async fn another_link_to_a_written_article_is_recorded_where_it_was_seen_not_written_again() {
        let bench = Bench::new("");
        let original = "https://gazette.example/news/harbour";
        let html = article_page("Harbour", "harbour plan", Some(original));
        let first = cleaned(&bench, "gazette", original, html.clone()).await;
        let id = first.article.id.clone();
        deliver(&bench.ctx, first).await;

        // The same page under another address, naming the first as canonical.
        let alias = "https://gazette.example/amp/harbour";
        let second = cleaned(&bench, "wire", alias, html).await;
        let key = second.job.key.clone();
        assert_eq!(second.article.id, id, "identified by its canonical link");
        deliver(&bench.ctx, second).await;

        assert_eq!(
            outcome(&bench, &key).await,
            Some(Outcome::Duplicate {
                article_id: id.clone()
            })
        );
        let file = bench.written("gazette", &id).expect("the original file");
        assert_eq!(seen_at(&file), [alias]);
        assert_eq!((bench.files_of("gazette"), bench.files_of("wire")), (1, 0));
        assert_eq!(bench.ctx.stats.snapshot().duplicates, 1);
    }

    #[tokio::test]
    async fn a_copy_of_a_written_story_on_another_site_is_a_near_duplicate() {
        let bench = Bench::new("");
        let original = "https://gazette.example/news/harbour";
        let first = cleaned(
            &bench,
            "gazette",
            original,
            article_page("Harbour", "harbour plan", None),
        )
        .await;
        let id = first.article.id.clone();
        deliver(&bench.ctx, first).await;

        let copy = "https://syndicate.example/2024/harbour-plan";
        let html = article_page("Harbour plan backed", "harbour plan", None);
        let second = cleaned(&bench, "syndicate", copy, html).await;
        let key = second.job.key.clone();
        assert_ne!(second.article.id, id, "another site's address, another id");
        deliver(&bench.ctx, second).await;

        assert_eq!(
            outcome(&bench, &key).await,
            Some(Outcome::NearDuplicate {
                article_id: id.clone()
            })
        );
        let file = bench.written("gazette", &id).expect("the original file");
        assert_eq!(seen_at(&file), [copy]);
        assert_eq!(bench.files_of("syndicate"), 0);
        assert_eq!(bench.ctx.stats.snapshot().near_duplicates, 1);
    }

    #[tokio::test]
    async fn with_near_duplicates_off_a_copy_on_another_site_is_written() {
        let bench = Bench::new("[dedup]\nnear_duplicates = false\n");
        let first = cleaned(
            &bench,
            "gazette",
            "https://gazette.example/news/harbour",
            article_page("Harbour", "harbour plan", None),
        )
        .await;
        assert!(first.signature.is_none(), "no fingerprint taken");
        deliver(&bench.ctx, first).await;
        let copy = "https://syndicate.example/2024/harbour-plan";
        let second = cleaned(
            &bench,
            "syndicate",
            copy,
            article_page("Harbour", "harbour plan", None),
        )
        .await;
        let (key, id) = (second.job.key.clone(), second.article.id.clone());
        deliver(&bench.ctx, second).await;
        assert_eq!(
            outcome(&bench, &key).await,
            Some(Outcome::Written { article_id: id })
        );
        assert_eq!(bench.files_of("syndicate"), 1);
    }

    #[tokio::test]
    async fn a_canonical_link_naming_a_written_article_with_another_body_is_not_trusted() {
        let bench = Bench::new("");
        let latest = "https://gazette.example/latest";
        let first = cleaned(
            &bench,
            "gazette",
            latest,
            article_page("Harbour", "harbour plan", Some(latest)),
        )
        .await;
        let first_id = first.article.id.clone();
        deliver(&bench.ctx, first).await;

        // A template bug: every story's canonical link names `/latest`.
        let url = "https://gazette.example/news/bridge";
        let html = article_page(
            "Bridge",
            "bridge repairs and the new ferry timetable",
            Some(latest),
        );
        let second = cleaned(&bench, "gazette", url, html).await;
        let key = second.job.key.clone();
        assert_eq!(
            second.article.id, first_id,
            "the page claims the written id"
        );
        deliver(&bench.ctx, second).await;

        let own_id = bench.ctx.canon.article_id(&Url::parse(url).expect("url"));
        assert_eq!(
            outcome(&bench, &key).await,
            Some(Outcome::Written {
                article_id: own_id.clone()
            })
        );
        let file = bench
            .written("gazette", &own_id)
            .expect("written under its own URL");
        assert_eq!(file["canonical_url"], url);
        assert_eq!(bench.files_of("gazette"), 2);
    }

    #[tokio::test]
    async fn an_article_no_sink_could_take_stays_pending_without_using_an_attempt_then_is_written_once()
     {
        let bench = Bench::new("");
        // A file where the source's folder should be: the sink cannot write.
        let folder = bench.dir.path().join("out").join("gazette");
        std::fs::create_dir_all(bench.dir.path().join("out")).expect("mkdir");
        std::fs::write(&folder, b"in the way").expect("write blocker");
        let url = "https://gazette.example/news/harbour";
        let html = article_page("Harbour", "harbour plan", None);
        let clean = cleaned(&bench, "gazette", url, html.clone()).await;
        let (key, id) = (clean.job.key.clone(), clean.article.id.clone());
        deliver(&bench.ctx, clean).await;

        assert_eq!(outcome(&bench, &key).await, None, "still pending");
        let pending = bench
            .ctx
            .state
            .pending_after(None, 10)
            .await
            .expect("pending");
        let [job] = pending.as_slice() else {
            panic!("one pending job: {pending:?}")
        };
        assert_eq!(job.failed_attempts, 0, "our failure uses up no attempt");
        assert!(
            job.retry_at.is_some() && job.undelivered.is_some(),
            "{job:?}"
        );
        assert!(
            !bench
                .ctx
                .state
                .is_delivered(id.clone())
                .await
                .expect("read")
        );
        assert!(
            bench
                .ctx
                .stories
                .story(id.clone())
                .await
                .expect("read")
                .is_none()
        );

        // The folder is back: the next attempt writes it, once.
        std::fs::remove_file(&folder).expect("remove blocker");
        let again = clean_job(&bench, job.clone(), html).await;
        deliver(&bench.ctx, again).await;
        assert_eq!(
            outcome(&bench, &key).await,
            Some(Outcome::Written { article_id: id })
        );
        assert_eq!(bench.files_of("gazette"), 1);
    }
}
