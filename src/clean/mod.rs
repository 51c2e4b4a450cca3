//! Article extraction ("cleaning"): one HTML page in, the main article out.
//!
//! The method is general (no per-site rules): parse with `scraper`, flatten
//! the tree into pre-order arrays (so every traversal is iterative and linear),
//! drop never-content elements (scripts, styles, forms, hidden nodes), score
//! candidate containers readability-style (text length, commas, link density,
//! class/id/role hints), collect the text blocks of the winner while skipping
//! furniture (share bars, bylines, related lists), and fall back to JSON-LD
//! `articleBody` when the DOM yields much less than the page's own metadata.

mod budget;
mod dates;
pub(crate) mod decode;
mod dom;
mod explain;
mod extract;
mod filter;
mod guard;
mod hints;
mod images;
mod jsonld;
mod markdown;
mod metadata;
mod sanitize;
mod stream;
mod verbatim;
mod widen;

use std::collections::HashMap;

use scraper::Html;

pub use self::decode::{decode_html, decode_html_owned};
pub use self::markdown::markdown;

use self::dom::{Dom, NONE};
use self::explain::Log;
use self::extract::{Analysis, Block, Stats};
use self::filter::{
    drop_after_comments, filter_blocks, heading_keys, norm_key, strip_leading, tokens,
};
use self::metadata::Meta;

/// What the cleaner found on one page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cleaned {
    /// The headline, once (never repeated in `text`).
    pub title: Option<String>,
    /// The standfirst / deck, once (never repeated in `text`).
    pub subtitle: Option<String>,
    /// Author names, best source first.
    pub authors: Vec<String>,
    /// Publication time.
    pub published_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Time of the last change the page declares.
    pub updated_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Lead image: the one the page declares, else the first large image of the body.
    pub image: Option<url::Url>,
    /// Figures of the body with their captions, in document order.
    pub images: Vec<Figure>,
    /// Name of the site or publisher.
    pub site_name: Option<String>,
    /// The page's own summary (meta or og description).
    pub description: Option<String>,
    /// The section the article is filed under.
    pub section: Option<String>,
    /// Tags and keywords the page declares.
    pub tags: Vec<String>,
    /// Language tag normalised like "en" or "en-GB".
    pub language: Option<String>,
    /// `<link rel=canonical>` or og:url, resolved against the base URL.
    pub canonical_url: Option<url::Url>,
    /// Body paragraphs separated by one blank line.
    pub text: String,
    /// Sanitised structural HTML of the body.
    pub html: String,
    /// Block decisions, filled only when [`Options::explain`] is set.
    pub explanation: Vec<Decision>,
}

/// An image of the article body, as `images` in the article record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Figure {
    /// Absolute URL of the image (a lazy-loading page's real source).
    pub url: url::Url,
    /// The figure's caption, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// The image's alternative text, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
}

/// Why a page yielded no article.
#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    /// The page has no block of text long enough to be an article; with
    /// [`Options::explain`], the decisions that led there (else empty).
    #[error("no article found: {0}")]
    NoArticle(String, Vec<Decision>),
    /// The page would take more memory to parse than the cleaner's budget.
    #[error("page too large to clean: {0}")]
    OverBudget(String),
}

impl CleanError {
    /// A short name of the failure kind, for counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NoArticle(..) => "no_article",
            Self::OverBudget(_) => "over_budget",
        }
    }
}

/// Fewer tokens than this (and no JSON-LD body) is not an article.
const MIN_TOKENS: usize = 25;
/// A first pass shorter than this (chars) is retried without the unlikely-candidate
/// filter, and the longer of the two wins.
const RETRY_CHARS: usize = 500;
/// A first pass shorter than this (chars) is also retried, and loses only to
/// [`RETRY_GAIN`] times its text.
const SHORT_CHARS: usize = 2000;
/// How many times the first pass's text the retry must find to replace it.
const RETRY_GAIN: usize = 3;
/// JSON-LD body must have at least this many tokens to be trusted.
const LD_MIN_TOKENS: usize = 50;

/// Per-source CSS rules for the sites where the general method fails.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// The article body: when it matches, only the matched elements are used.
    pub content: Option<scraper::Selector>,
    /// Elements dropped before anything else looks at the page.
    pub remove: Vec<scraper::Selector>,
    /// The headline element: its text becomes the title.
    pub title: Option<scraper::Selector>,
}

/// Signature of the learned-boilerplate test: is this block text site template?
pub type BoilerplateTest<'a> = &'a (dyn Fn(&str) -> bool + Sync);

/// Options for [`clean_with`].
#[derive(Clone, Copy, Default)]
pub struct Options<'a> {
    /// Per-source rules, if the source has any.
    pub rules: Option<&'a Rules>,
    /// Block texts learned to be this host's template; matching blocks are dropped.
    pub is_boilerplate: Option<BoilerplateTest<'a>>,
    /// Record every block decision in [`Cleaned::explanation`].
    pub explain: bool,
}

/// One decision of the cleaner about one block, for `thresher clean --explain`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Decision {
    /// Whether the block is in the output.
    pub kept: bool,
    /// Short CSS-like path of the element, e.g. `body > div.main > p`.
    pub element: String,
    /// Why it was kept or removed: the rule, hint or score that decided.
    pub reason: String,
    /// The score involved, when a score decided.
    pub score: Option<f64>,
    /// The block's text, shortened.
    pub text: String,
}

/// An untrusted HTML page made safe to parse with `scraper` for something
/// other than cleaning (feed discovery): nesting bounded as for cleaning,
/// nothing else cut; `None` when it is over the cleaner's memory budget.
pub(crate) fn prepare_untrusted(html: &str) -> Option<std::borrow::Cow<'_, str>> {
    let keep_all = guard::Slim {
        never_content: false,
        attrs: false,
        whitespace: false,
    };
    let prepared = guard::prepare(html, guard::MAX_DEPTH, keep_all);
    budget::check(&prepared).ok()?;
    Some(prepared)
}

/// Extracts the main article of one HTML document. `base_url` resolves relative links.
pub fn clean(html: &str, base_url: Option<&url::Url>) -> Result<Cleaned, CleanError> {
    clean_with(html, base_url, &Options::default())
}

/// Like [`clean`], with per-source rules, learned boilerplate and explanations.
pub fn clean_with(
    html: &str,
    base_url: Option<&url::Url>,
    options: &Options<'_>,
) -> Result<Cleaned, CleanError> {
    if html.trim().is_empty() {
        return Err(CleanError::NoArticle(
            "the document is empty".into(),
            Vec::new(),
        ));
    }
    if !looks_like_text(html) {
        return Err(CleanError::NoArticle(
            "the body is not text (binary data, or compressed without saying so)".into(),
            Vec::new(),
        ));
    }
    // Explanations show script bodies (the leak to look for), so they see the
    // whole page; rule selectors may name any attribute, so those are kept.
    let slim = guard::Slim {
        never_content: !options.explain,
        attrs: !options.explain && options.rules.is_none(),
        whitespace: !options.explain,
    };
    // React's streamed segments go where its script puts them.
    let spliced = stream::splice(html);
    let html = spliced.as_deref().unwrap_or(html);
    let prepared = guard::prepare_page(html, guard::MAX_DEPTH, slim);
    budget::check(&prepared.html)?;
    let doc = Html::parse_document(&prepared.html);
    let dom = Dom::build(&doc);
    let rules = options.rules;
    // Built once for all of a source's selectors, and only when it has some.
    let index = rules.map(|_| element_index(&dom));
    let forced = match (rules, &index) {
        (Some(r), Some(index)) => rule_mask(&doc, &dom, index, &r.remove),
        _ => Vec::new(),
    };
    let meta = metadata::extract(&dom, base_url);
    let ruled_title = rules
        .and_then(|r| r.title.as_ref())
        .and_then(|sel| doc.select(sel).next())
        .map(|e| dom::collapse_ws(&e.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let title = ruled_title.or_else(|| choose_title(&meta));
    let an = Analysis::new(&dom, &forced);
    let st_hard = an.stats(&an.hard);
    let mut log = Log::new(options.explain);

    let page = PageFacts {
        title: title.as_deref(),
        explain: options.explain,
        base: base_url,
    };
    let content_roots = rules
        .and_then(|r| r.content.as_ref())
        .zip(index.as_ref())
        .map(|(sel, index)| matched_roots(&doc, &dom, index, sel))
        .filter(|roots| !roots.is_empty());
    if let Some(sel) = rules.and_then(|r| r.content.as_ref())
        && content_roots.is_none()
        && log.is_on()
    {
        // A rule that silently does nothing is what a user trying one needs to see.
        use scraper::selector::ToCss as _;
        let reason = "rule: `content` matched nothing; scored instead";
        log.push_named(
            an.body,
            "[sources.rules] content".into(),
            false,
            reason,
            None,
            &sel.to_css_string(),
        );
    }
    let mask1;
    let mut pass = if let Some(roots) = content_roots {
        // The source's own content selector replaces container scoring.
        mask1 = an.hard.clone();
        let how = Collect {
            strict: false,
            trusted: true,
        };
        let mut pass = Pass::collect(&an, &st_hard, &mask1, roots, how, &page);
        pass.reason = RULED;
        pass.log.removed_subtrees(&an, &mask1, &forced, false);
        pass
    } else {
        // Pass 1 drops unlikely candidates; a short result is retried without that filter.
        mask1 = an.unlikely_mask(&st_hard);
        let st1 = an.stats(&mask1);
        let mut pass = Pass::run(&an, &st1, &mask1, true, &page);
        pass.log.removed_subtrees(&an, &mask1, &forced, false);
        // A short first pass is compared with one that keeps what the class
        // and id hints cut: a section named for a jump menu or a "related"
        // topic may be the article, and then the second pass finds several
        // times the prose.
        let got = text_chars(&pass.blocks);
        if got < SHORT_CHARS {
            let mask2 = an.retry_mask(&st_hard);
            let st2 = an.stats(&mask2);
            let mut alt = Pass::run(&an, &st2, &mask2, false, &page);
            let alt_chars = text_chars(&alt.blocks);
            if (got < RETRY_CHARS && alt_chars > got) || alt_chars > RETRY_GAIN * got {
                tracing::debug!("clean: retry without the unlikely-candidate filter won");
                alt.log.removed_subtrees(&an, &mask2, &forced, true);
                pass = alt;
            }
        }
        pass
    };
    if options.explain {
        for b in pass.outside_blocks(&an, &mask1) {
            log.push(
                &dom,
                b.node,
                false,
                "outside the article container",
                None,
                &b.text,
            );
        }
        log.append(std::mem::take(&mut pass.log));
    }
    let mut blocks = std::mem::take(&mut pass.blocks);
    if let Some(is_template) = options.is_boilerplate {
        blocks.retain(|b| {
            let template = is_template(&b.text);
            if template {
                log.push(&dom, b.node, false, "learned site template", None, &b.text);
            }
            !template
        });
    }

    let subtitle = find_subtitle(
        &an,
        &st_hard,
        &mask1,
        &pass.roots,
        &blocks,
        &meta,
        title.as_deref(),
    );
    let is_deck = |node: usize| {
        let parent = dom.parent[node];
        an.hints[node].standfirst || (parent != NONE && an.hints[parent].standfirst)
    };
    strip_leading(
        &mut blocks,
        title.as_deref(),
        subtitle.as_deref(),
        is_deck,
        &mut log,
        &dom,
    );

    let dom_tokens: usize = blocks.iter().map(|b| tokens(&b.text)).sum();
    let mut ld_paras = meta
        .ld_body
        .as_deref()
        .map(ld_paragraphs)
        .unwrap_or_default();
    let keys = heading_keys(title.as_deref(), subtitle.as_deref());
    let skip = ld_paras
        .iter()
        .take_while(|p| keys.contains(&norm_key(p)))
        .count();
    ld_paras.drain(..skip);
    if let Some(is_template) = options.is_boilerplate {
        ld_paras.retain(|p| !is_template(p));
    }
    let ld_tokens: usize = ld_paras.iter().map(|p| tokens(p)).sum();

    // Use JSON-LD when the DOM gave much less than the page's own metadata
    // says the article is, or too little to be an article at all. A source's
    // content selector is trusted over both.
    let ld_wins = pass.reason != RULED
        && ((ld_tokens >= LD_MIN_TOKENS && dom_tokens * 10 < ld_tokens * 6)
            || (dom_tokens < MIN_TOKENS && ld_tokens >= MIN_TOKENS));
    let (text, html_out) = if ld_wins {
        tracing::debug!(dom_tokens, ld_tokens, "clean: using JSON-LD articleBody");
        if log.is_on() {
            let reason = format!(
                "JSON-LD articleBody used instead ({}; the page gave {dom_tokens})",
                crate::plural::count(ld_tokens, "word", "words")
            );
            for b in &blocks {
                log.push(&dom, b.node, false, reason.as_str(), None, &b.text);
            }
            for p in &ld_paras {
                log.push_named(0, "JSON-LD".into(), true, "articleBody", None, p);
            }
        }
        (
            ld_paras.join("\n\n"),
            sanitize::paragraphs_html(&ld_paras, base_url),
        )
    } else if (dom_tokens < MIN_TOKENS || pass.reason == UNSCORED)
        && !is_bare_document(&an, &prepared, &blocks, dom_tokens)
    {
        let reason = if blocks.is_empty() || pass.reason == UNSCORED {
            "no paragraph of text was found (the page may be rendered by JavaScript, or be an index/landing page)".to_string()
        } else {
            format!(
                "the best candidate has only {} (need {MIN_TOKENS}); the page may be a teaser, paywalled or rendered by JavaScript",
                crate::plural::count(dom_tokens, "word", "words")
            )
        };
        // What was found is shown anyway: that is when the reader needs it.
        for b in &blocks {
            log.push(
                &dom,
                b.node,
                false,
                "too little for an article",
                pass.score,
                &b.text,
            );
        }
        return Err(CleanError::NoArticle(reason, log.finish()));
    } else {
        for b in &blocks {
            log.push(&dom, b.node, true, pass.reason, pass.score, &b.text);
        }
        let text = blocks
            .iter()
            .map(|b| b.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n");
        (text, sanitize::render(&blocks, &pass.figures, base_url))
    };

    Ok(Cleaned {
        title,
        subtitle,
        authors: meta.authors,
        published_at: meta.published_at,
        updated_at: meta.updated_at,
        image: meta.image.or(pass.lead_image),
        images: pass.figures.into_iter().map(|p| p.figure).collect(),
        site_name: meta.site_name,
        description: meta.description,
        section: meta.section,
        tags: meta.tags,
        language: meta.language,
        canonical_url: meta.canonical_url,
        text,
        html: html_out,
        explanation: log.finish(),
    })
}

/// Why blocks were kept when container scoring chose them.
const SCORED: &str = "in the best-scoring container";
/// Why blocks were kept when the winner was one part of a larger article.
const WIDENED: &str = "in an ancestor of the best-scoring container that adds more of its prose";
/// Why blocks were kept when no container scored and the page is a bare document.
const UNSCORED: &str = "the whole of a bare page (no paragraph scored)";
/// Why blocks were kept when a source's content selector chose them.
const RULED: &str = "rule: the `content` selector matched";

/// What every pass over one page needs to know of it.
struct PageFacts<'a> {
    /// The chosen headline (kept blocks repeating it go).
    title: Option<&'a str>,
    /// Whether decisions are recorded.
    explain: bool,
    /// The page's URL, for absolute image sources.
    base: Option<&'a url::Url>,
}

/// How [`Pass::collect`] reads its containers.
#[derive(Clone, Copy)]
struct Collect {
    /// Skip unlikely candidates (negative class/id hints) inside them.
    strict: bool,
    /// The containers are a source's `content` rule's: their paragraphs are
    /// the article (see [`filter_blocks`]).
    trusted: bool,
}

/// One extraction pass: the chosen containers, their blocks and what was dropped.
struct Pass {
    /// Container nodes in document order.
    roots: Vec<usize>,
    /// The kept blocks.
    blocks: Vec<Block>,
    /// The figures inside the containers, in document order.
    figures: Vec<images::Placed>,
    /// The first large image inside the containers.
    lead_image: Option<url::Url>,
    /// Score of the winning container (none for a content rule).
    score: Option<f64>,
    /// Why the blocks were chosen, for explanations.
    reason: &'static str,
    /// Decisions made while filtering (recorded only when explaining).
    log: Log,
    /// Whether unlikely candidates were skipped inside the containers.
    strict: bool,
}

impl Pass {
    /// Scores containers, then collects and filters their blocks.
    fn run(
        an: &Analysis<'_, '_>,
        st: &Stats,
        mask: &[bool],
        strict: bool,
        page: &PageFacts<'_>,
    ) -> Self {
        let (roots, score) = an.containers(st, mask);
        if roots.is_empty() {
            // No paragraph long enough to score: the body is the only
            // container, and only a bare document is an article that way.
            let how = Collect {
                strict,
                trusted: false,
            };
            let mut pass = Self::collect(an, st, mask, vec![an.body], how, page);
            pass.reason = UNSCORED;
            return pass;
        }
        let widened = an.widen(roots.clone(), st, mask, strict);
        let reason = if widened == roots { SCORED } else { WIDENED };
        let how = Collect {
            strict,
            trusted: false,
        };
        let mut pass = Self::collect(an, st, mask, widened, how, page);
        pass.score = Some(score);
        pass.reason = reason;
        pass
    }

    /// Collects and filters the blocks under the given containers.
    fn collect(
        an: &Analysis<'_, '_>,
        st: &Stats,
        mask: &[bool],
        roots: Vec<usize>,
        how: Collect,
        page: &PageFacts<'_>,
    ) -> Self {
        let mut log = Log::new(page.explain);
        let strict = how.strict;
        let blocks = if roots.is_empty() {
            Vec::new()
        } else {
            let raw = an.blocks(&roots, st, mask, strict);
            log.furniture(an, &roots, st, mask, strict);
            let marked = how.trusted.then(|| an.boilerplate_inside(&roots));
            let mut kept = filter_blocks(raw, page.title, marked.as_deref(), &mut log, an.dom);
            if !how.trusted
                && let Some(last) = kept.last()
                && let Some(end) = an.comments_end(mask, last.node)
            {
                drop_after_comments(&mut kept, end, &mut log, an.dom);
            }
            kept
        };
        let figures = images::figures(an, st, mask, &roots, strict, page.base);
        let lead_image = match figures.first() {
            Some(first) => Some(first.figure.url.clone()),
            None => images::lead_image(an.dom, mask, &roots, page.base),
        };
        Self {
            roots,
            blocks,
            figures,
            lead_image,
            score: None,
            reason: SCORED,
            log,
            strict,
        }
    }

    /// Blocks of the page outside this pass's containers (explanations only).
    fn outside_blocks(&self, an: &Analysis<'_, '_>, mask: &[bool]) -> Vec<Block> {
        let st = an.stats(mask);
        let dom = an.dom;
        an.blocks(&[an.body], &st, mask, self.strict)
            .into_iter()
            .filter(|b| {
                !self
                    .roots
                    .iter()
                    .any(|&r| b.node >= r && b.node < dom.end[r])
            })
            .collect()
    }
}

/// Marks the elements `selectors` match, for [`Analysis::new`].
fn rule_mask(
    doc: &Html,
    dom: &Dom<'_>,
    index: &HashMap<usize, usize>,
    selectors: &[scraper::Selector],
) -> Vec<bool> {
    let mut mask = vec![false; dom.len()];
    for sel in selectors {
        for i in selected(doc, index, sel) {
            mask[i] = true;
        }
    }
    mask
}

/// Flat positions of the topmost elements `selector` matches, in document order.
fn matched_roots(
    doc: &Html,
    dom: &Dom<'_>,
    index: &HashMap<usize, usize>,
    selector: &scraper::Selector,
) -> Vec<usize> {
    let mut nodes: Vec<usize> = selected(doc, index, selector).collect();
    nodes.sort_unstable();
    let mut roots: Vec<usize> = Vec::with_capacity(nodes.len());
    for i in nodes {
        // Selected descendants of a selected element are already inside it.
        if roots.last().is_some_and(|&r| i < dom.end[r]) {
            continue;
        }
        roots.push(i);
    }
    roots
}

/// Flat positions of the elements `selector` matches.
fn selected<'a>(
    doc: &'a Html,
    index: &'a HashMap<usize, usize>,
    selector: &'a scraper::Selector,
) -> impl Iterator<Item = usize> + 'a {
    doc.select(selector)
        .filter_map(|e| index.get(&element_key(e.value())).copied())
}

/// Maps each element (by address: `scraper` and [`Dom`] share the nodes) to its flat position.
fn element_index(dom: &Dom<'_>) -> HashMap<usize, usize> {
    (0..dom.len())
        .filter_map(|i| dom.elem(i).map(|e| (element_key(e), i)))
        .collect()
}

/// Identity of an element within one parsed document.
fn element_key(e: &scraper::node::Element) -> usize {
    std::ptr::from_ref(e) as usize
}

/// Splits a JSON-LD `articleBody` into paragraphs; some sites put HTML in it.
fn ld_paragraphs(body: &str) -> Vec<String> {
    let looks_html = body.contains("</") || body.contains("<br") || body.contains("<p>");
    if !looks_html {
        return body
            .lines()
            .map(dom::collapse_ws)
            .filter(|l| !l.is_empty())
            .collect();
    }
    let input = guard::prepare(body, guard::MAX_DEPTH, guard::Slim::ALL);
    let frag = Html::parse_fragment(&input);
    let fdom = Dom::build(&frag);
    let an = Analysis::new(&fdom, &[]);
    let st = an.stats(&an.hard);
    an.blocks(&[0], &st, &an.hard, false)
        .into_iter()
        .map(|b| b.text)
        .collect()
}

/// Share of a short page's visible text the kept blocks must hold for it to be a bare document.
const BARE_SHARE: f64 = 0.9;

/// True for a short page that is nothing but its text: no script (whose
/// short visible text would be a placeholder for what it renders), and the
/// kept blocks hold nearly all the visible text of the body (so no site
/// chrome, navigation or paywall prompt surrounds a teaser). Such a page is
/// an article however short it is; a teaser on a real site never is.
fn is_bare_document(
    an: &Analysis<'_, '_>,
    prepared: &guard::Prepared<'_>,
    blocks: &[Block],
    kept_tokens: usize,
) -> bool {
    if blocks.is_empty() {
        return false;
    }
    let dom = an.dom;
    // The input pass drops scripts (and says so) and empties navigation (and
    // notes its words on the element).
    if prepared.scripted || runs_scripts(dom) {
        return false;
    }
    // Visible text counts navigation, buttons and forms too, unlike the hard mask.
    let mut visible = 0;
    let stop = dom.end[an.body];
    let mut i = an.body;
    while i < stop {
        let Some(e) = dom.elem(i) else {
            visible += dom.text(i).map_or(0, tokens);
            i += 1;
            continue;
        };
        let invisible = matches!(
            e.name(),
            "script"
                | "style"
                | "noscript"
                | "template"
                | "head"
                | "title"
                | "textarea"
                | "iframe"
                | "svg"
        ) || dom::is_hidden(e);
        if invisible {
            i = dom.end[i].max(i + 1);
            continue;
        }
        if e.name() == "nav" {
            let noted = dom::attr(e, guard::NAV_WORDS_ATTR).and_then(|w| w.parse::<usize>().ok());
            visible += noted.unwrap_or(0);
        }
        i += 1;
    }
    kept_tokens as f64 >= BARE_SHARE * visible as f64
}

/// True when the page has a script that runs (not a data block, not inert in
/// a template, not inside SVG, which the input pass drops unread).
fn runs_scripts(dom: &Dom<'_>) -> bool {
    let mut i = 0;
    while i < dom.len() {
        match dom.elem(i) {
            Some(e) if matches!(e.name(), "template" | "svg") => {
                i = dom.end[i].max(i + 1);
                continue;
            }
            Some(e) if e.name() == "script" => {
                let runs = dom::attr(e, "type").is_none_or(dom::script_type_runs);
                if runs {
                    return true;
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// Bytes of a document's start that [`looks_like_text`] reads: binary data
/// is binary from its first bytes (a PNG or gzip header, noise).
const SNIFF_BYTES: usize = 4096;
/// Share of undecodable or control characters above which a body is binary.
const MAX_BINARY_SHARE: f64 = 0.02;

/// False for bytes that are not text whatever their label: an image, a gzip
/// body served without `Content-Encoding`, random data. Decoded, those are
/// full of replacement and control characters, which text in any language
/// almost never holds. Counted on the UTF-8 bytes: C0 controls are single
/// bytes, C1 controls `C2 80..9F`, U+FFFD `EF BF BD`.
fn looks_like_text(html: &str) -> bool {
    let bytes = html.as_bytes();
    let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
    let mut odd = 0usize;
    for (i, &b) in head.iter().enumerate() {
        let control = b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c);
        let c1 = b == 0xC2 && head.get(i + 1).is_some_and(|n| (0x80..=0x9F).contains(n));
        let replacement = b == 0xEF && head.get(i + 1..i + 3) == Some(&[0xBF, 0xBD][..]);
        if control || c1 || replacement || b == 0x7F {
            odd += 1;
        }
    }
    let chars = head.iter().filter(|&&b| (b & 0xC0) != 0x80).count();
    (odd as f64) <= MAX_BINARY_SHARE * chars as f64
}

/// Total text bytes of the blocks.
fn text_chars(blocks: &[Block]) -> usize {
    blocks.iter().map(|b| b.text.len()).sum()
}

/// Picks the headline: an `<h1>` confirmed by the meta title, else the meta title,
/// else `<title>` without its site suffix, else the first `<h1>`.
fn choose_title(m: &Meta) -> Option<String> {
    let metas: Vec<String> = [m.meta_title.as_deref(), m.doc_title.as_deref()]
        .into_iter()
        .flatten()
        .map(norm_key)
        .collect();
    for h in &m.h1s {
        let k = norm_key(h);
        if k.len() >= 4 && metas.iter().any(|t| t.contains(&k)) {
            return Some(h.clone());
        }
    }
    // The page's one headline is what it shows the reader; a meta title
    // that names it differently is written for search results.
    if let [h] = m.h1s.as_slice()
        && h.split_whitespace().nth(1).is_some()
        && h.split_whitespace().nth(30).is_none()
    {
        return Some(h.clone());
    }
    // A one- or two-word og:title is usually the site name, not the headline.
    let meta_ok = |t: &String| t.split_whitespace().nth(2).is_some() || m.doc_title.is_none();
    if let Some(t) = m.meta_title.as_ref().filter(|t| meta_ok(t)) {
        return Some(strip_site_suffix(t));
    }
    if let Some(t) = &m.doc_title {
        let names = [m.logo.as_deref(), m.site_name.as_deref()];
        let t = names
            .into_iter()
            .flatten()
            .find_map(|name| without_site_name(t, name))
            .unwrap_or(t);
        return Some(strip_site_suffix(t));
    }
    m.h1s.first().cloned()
}

/// The title without the site's name before or after it ("davidbau.com
/// Vibe Coding"), when something is left.
fn without_site_name<'t>(title: &'t str, name: &str) -> Option<&'t str> {
    let seps = |c: char| c.is_whitespace() || "|-–—:·•»".contains(c);
    let n = name.len();
    let rest =
        if title.len() > n && title.is_char_boundary(n) && title[..n].eq_ignore_ascii_case(name) {
            &title[n..]
        } else {
            let at = title.len().checked_sub(n)?;
            if at == 0 || !title.is_char_boundary(at) || !title[at..].eq_ignore_ascii_case(name) {
                return None;
            }
            &title[..at]
        };
    // The name must stand apart from the headline's own words.
    if !rest.starts_with(seps) && !rest.ends_with(seps) {
        return None;
    }
    let rest = rest.trim_matches(seps);
    (!rest.is_empty()).then_some(rest)
}

/// "Headline | Site" → "Headline" when the remaining part still reads like a headline.
fn strip_site_suffix(t: &str) -> String {
    for sep in [" | ", " - ", " – ", " — ", " :: ", " · ", " • ", " » "] {
        if let Some(pos) = t.rfind(sep) {
            let head = t[..pos].trim();
            if head.split_whitespace().count() >= 3 {
                return head.to_string();
            }
        }
    }
    t.trim().to_string()
}

/// Finds the standfirst: an element hinted as one (standfirst, dek, subtitle, ...)
/// before or at the start of the body, else an element before the body whose text
/// is the page's meta description.
fn find_subtitle(
    an: &Analysis<'_, '_>,
    st: &Stats,
    mask: &[bool],
    roots: &[usize],
    blocks: &[Block],
    meta: &Meta,
    title: Option<&str>,
) -> Option<String> {
    let dom = an.dom;
    let first = blocks.first().map(|b| b.node).unwrap_or(NONE);
    if first == NONE {
        return None;
    }
    let head_nodes: Vec<usize> = blocks.iter().take(3).map(|b| b.node).collect();
    let title_key = title.map(norm_key).unwrap_or_default();
    let is_candidate_pos = |j: usize| head_nodes.contains(&j) || dom.end[j] <= first;
    // A standfirst follows the headline: start looking after the <h1> that
    // carries the title (no such <h1>, no hinted standfirst).
    let limit = head_nodes.last().copied().unwrap_or(first).max(first);
    let h1 = (an.body..limit.min(dom.len())).find(|&j| {
        dom.tag(j) == "h1"
            && !title_key.is_empty()
            && norm_key(&dom.collapsed_text(j, mask)) == title_key
    });
    let mut j = h1.map(|h| dom.end[h]).unwrap_or(NONE);
    let stop = dom.len().min(dom.end[an.body].max(an.body + 1));
    while j < stop {
        let h = an.hints[j];
        let skip = matches!(dom.tag(j), "figure" | "figcaption" | "ul" | "ol" | "table")
            || (h.furniture && !h.standfirst);
        if mask[j] || skip {
            j = dom.end[j].max(j + 1);
            continue;
        }
        if j > first && !head_nodes.contains(&j) && j > head_nodes.last().copied().unwrap_or(first)
        {
            break;
        }
        let len = st.text[j];
        let linked = st.in_link.get(j).copied().unwrap_or(false) || st.link[j] * 3 > len;
        if h.standfirst && !linked && (20..=600).contains(&len) && is_candidate_pos(j) {
            let t = dom.collapsed_text(j, mask);
            let byline = t.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("by "));
            if norm_key(&t) != title_key && !t.is_empty() && !byline {
                return Some(t);
            }
        }
        j += 1;
    }
    // Fallback: the meta description shown as a block before the body.
    let desc = meta.description.as_deref()?;
    let dkey = norm_key(desc);
    if dkey.len() < 20 {
        return None;
    }
    let dlen = desc.chars().count() as u32;
    // A first block that is a container of its own (a teaser merged in beside
    // the article) may be the standfirst; a first paragraph inside the
    // article body that the site copied into its description is not.
    let lone_root = roots.contains(&first);
    let mut j = an.body;
    let mut compared = 0;
    while j <= first && compared < 200 {
        if mask[j] {
            j = dom.end[j].max(j + 1);
            continue;
        }
        let len = st.text[j];
        if dom.elem(j).is_some()
            && !st.has_block[j]
            && len + 8 >= dlen
            && len <= dlen + 8
            && (dom.end[j] <= first || (j == first && lone_root))
        {
            compared += 1;
            let t = dom.collapsed_text(j, mask);
            if norm_key(&t) == dkey && dkey != title_key {
                return Some(t);
            }
        }
        j += 1;
    }
    None
}

#[cfg(test)]
mod tests;
