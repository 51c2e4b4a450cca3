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
mod tests {
    use super::*;
    use url::Url;

    /// The seed example's junk, each kind once: headline via <title>/og:title and <h1>,
    /// standfirst in a teaser and the header, an inline ad-slot <style>, a footer
    /// brand block and a comment form.
    const SEED: &str = r#"<!DOCTYPE html><html lang="en-IE"><head>
<title>Putin and Kim set to meet as Russia aims to weigh in on North Korea - Independent.ie</title>
<meta property="og:title" content="Putin and Kim set to meet as Russia aims to weigh in on North Korea">
<meta property="og:description" content="Kim Jong-un wants to hedge bets after failed US summit">
<meta property="article:published_time" content="2019-04-19T02:30:00+00:00">
<meta name="author" content="Jane Reporter">
<link rel="canonical" href="/world-news/putin-kim-38031234.html">
</head><body>
<nav class="site-nav"><ul><li><a href="/">News</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<div class="teaser"><p>Kim Jong-un wants to hedge bets after failed US summit</p></div>
<article>
<header>
<h1>Putin and Kim set to meet as Russia aims to weigh in on North Korea</h1>
<p class="standfirst">Kim Jong-un wants to hedge bets after failed US summit</p>
<div class="byline">By Jane Reporter</div>
</header>
<div class="article-body">
<p>Vladimir Putin and Kim Jong-un may finally be ready to meet for the first time, as Russia seeks to extend its influence and North Korea tries to hedge its bets.</p>
<p>The potential of closer ties between Mr Putin and Mr Kim carries historical resonance, dating back to the countries' Cold War bonds.</p>
<style>#bb-iawr-inarticle- { clear: both; margin: 0 0 15px; }</style>
<div id="bb-iawr-inarticle-" class="ad-slot"></div>
<p>However, Moscow has bigger diplomatic priorities around the world, experts say, and is unlikely to disrupt US-led efforts.</p>
<p>For Mr Putin, a summit would be a chance to show that Russia is a player on the Korean peninsula. (&copy; Washington Post)</p>
</div>
</article>
<div id="comments" class="comments-area"><form class="comment-form"><p>Please enter your comment!</p>
<textarea name="comment"></textarea><p>Please enter your name here</p><input name="author"></form></div>
<footer class="site-footer"><div class="brand">Irish Independent</div></footer>
</body></html>"#;

    /// What the input pass cuts, in every shape it cuts it: scripts between
    /// words, images, SVG, unread metas among read ones, plain and tangled
    /// navigation, whitespace next to blocks and between inline elements.
    const SLIMMED: &str = r#"<!DOCTYPE html><html lang="de"><head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta property="og:title" content="Council approves the new bridge">
<meta name="twitter:card" content="summary">
<meta name="description" content="The vote ends ten years of debate.">
<meta name="parsely-author" content="Ana Writer"><meta name="dc.date" content="2024-05-02">
<meta property="og:locale" content="de_DE"><meta property="og:url" content="https://example.org/bridge">
<script>window.dataLayer = [];</script><style>body { margin: 0 }</style>
<link rel="stylesheet" href="/site.css"><title>Council approves the new bridge | Town News</title>
</head><body>
<nav><ul><li><a href="/">Home</a><li><a href="/politics">Politics</a></ul><svg><path d="M0"/></svg></nav>
<nav><div>Tangled <b>menu</nav><p>Outside the tangled menu there is a line.</p>
<article><h1>Council approves the new bridge</h1>
<p>The council voted <b>nine</b> <i>to</i> <em>two</em> on Tuesday<script>ad()</script> to build the bridge, ending a<!-- --> <!-- -->debate that has run for ten years.</p>
  <figure><picture><source srcset="a.webp"><img src="a.jpg" alt="The river"></picture><figcaption>The river at dusk.</figcaption></figure>
<p>Work starts in spring<img src="px.gif">, the mayor said, and should take <a href="/costs">two years</a> at a cost the council put at forty million.</p>
<select><option>Share<input type="text">on mail</select>
<p>Opponents<!-- --> <!-- -->said the money would be better spent on the ferry, which carries about two thousand people a day.</p>
</article></body></html>"#;

    #[test]
    fn input_slimming_never_changes_the_article() {
        assert_slimming_agrees(SEED);
        assert_slimming_agrees(SLIMMED);
        let c = clean(SLIMMED, None).expect("article");
        assert!(
            c.text.contains("nine to two on Tuesday to build"),
            "{}",
            c.text
        );
        assert!(
            c.text.contains("Work starts in spring, the mayor"),
            "{}",
            c.text
        );
        assert!(c.text.contains("ending a debate"), "{}", c.text);
        assert!(c.text.contains("Opponents said"), "{}", c.text);
        assert_eq!(c.authors, ["Ana Writer"]);
        assert_eq!(c.language.as_deref(), Some("de"));
    }

    /// Two paragraphs of article text, for pages built around a case.
    const BODY: &str = "<p>The council voted on Tuesday, after a long and heated debate, \
        to approve the plan for the new bridge over the river.</p><p>Work starts in spring \
        and should take two years, the mayor said to reporters outside the town hall.</p>";

    /// The article (or the lack of one) is the same with the input pass on
    /// and off (explaining turns its cuts off).
    fn assert_slimming_agrees(page: &str) {
        let full = Options {
            explain: true,
            ..Options::default()
        };
        let fields = |c: Cleaned| {
            (
                c.text,
                c.title,
                c.subtitle,
                c.authors,
                c.published_at,
                c.language,
                c.canonical_url,
            )
        };
        let slim = clean(page, None).map(fields).map_err(|e| e.to_string());
        let whole = clean_with(page, None, &full)
            .map(fields)
            .map_err(|e| e.to_string());
        assert_eq!(slim, whole, "{page}");
    }

    #[test]
    fn navigation_is_kept_where_its_content_would_close_an_ancestor() {
        // The `<input>`, the inner `<button>`, the inner `<a>` close what the
        // `<nav>` sits in, and the `<nav>` with it: what follows is no menu.
        for page in [
            format!("<html><div><select><nav><input>{BODY}</nav></select></div></html>"),
            format!("<html><div><button><nav><button>x</button>{BODY}</nav></button></div></html>"),
            // A stray `</b>` closes nothing: the `<a>` is still open.
            format!(
                "<html><div><p>{BODY}<a href=/x>link</b><nav><a href=/>Home</a></nav>\
                 plain text long enough to count as a paragraph of its own here</div></html>"
            ),
        ] {
            assert_slimming_agrees(&page);
        }
    }

    #[test]
    fn a_pending_formatting_element_reopens_where_it_would_on_the_page() {
        // `</p>` closes the `<a>` but leaves it pending: the next whitespace
        // or inline tag opens it again, and the table goes inside that link.
        for between in [" \n ", "<img src=a>", "<svg><path d=x /></svg>", "<input>"] {
            assert_slimming_agrees(&format!(
                "<p><a href=\"/x\">x</p>{between}<table><tr><td><div><div>{BODY}<div>"
            ));
        }
    }

    #[test]
    fn a_removed_block_breaks_the_line_as_on_the_page() {
        // The text around a dropped block is two lines, with or without the
        // whitespace next to it (which the input pass removes).
        for block in [
            "<nav><a href=/>Home</a></nav>",
            "<div class=share>Share</div>",
        ] {
            assert_slimming_agrees(&format!(
                "<html><body><span>Intro words</span> \n {block}<span>The council voted on \
                 Tuesday, after a long and heated debate, to approve the plan.</span></body></html>"
            ));
        }
    }

    #[test]
    fn a_link_left_open_in_a_template_wraps_what_follows_as_on_the_page() {
        // The cell's marker stays in the list of active formatting elements,
        // so the `<a>` outlives the template and the body text becomes a link.
        assert_slimming_agrees(&format!(
            "<template><a href=/x><table><tr><td><b></template><div>{BODY}</div>"
        ));
    }

    #[test]
    fn a_late_frameset_sees_what_was_cut() {
        // The image makes the parser ignore `<frameset>`; without it, the
        // frameset would replace the body and the article with it.
        for before in ["<img src=a>", "<input>", "<nav><a href=/>Home</a></nav>"] {
            assert_slimming_agrees(&format!("<html><div>{before}</div><frameset>{BODY}</html>"));
        }
    }

    #[test]
    fn metadata_ignores_template_and_svg_content() {
        // The input pass drops both whole: what they hold is never read.
        for inert in [
            "<template><title>Template</title></template>",
            "<template><h1>Template</h1></template>",
            "<template><meta name=author content=Tom></template>",
            "<template><script type=application/ld+json>{\"@type\":\"NewsArticle\",\"headline\":\"LD\"}</script></template>",
            "<svg><title>Logo</title></svg>",
            "<svg><a rel=author href=/a><text>Ann</text></a></svg>",
            "<svg><time datetime=2024-05-02>x</time></svg>",
        ] {
            assert_slimming_agrees(&format!("<html><div>{inert}</div>{BODY}</html>"));
        }
    }

    #[test]
    fn seed_example_is_clean() {
        let base = Url::parse("https://www.independent.ie/world-news/x.html").ok();
        let c = clean(SEED, base.as_ref()).expect("article");
        let title = "Putin and Kim set to meet as Russia aims to weigh in on North Korea";
        assert_eq!(c.title.as_deref(), Some(title));
        assert_eq!(
            c.subtitle.as_deref(),
            Some("Kim Jong-un wants to hedge bets after failed US summit")
        );
        assert!(!c.text.contains(title), "title leaked: {}", c.text);
        assert!(!c.text.contains("hedge bets after failed"), "{}", c.text);
        assert!(!c.text.contains("clear: both"));
        assert!(!c.text.contains("Irish Independent"));
        assert!(!c.text.contains("Please enter"));
        assert!(!c.text.contains("By Jane Reporter"));
        let paras: Vec<&str> = c.text.split("\n\n").collect();
        assert_eq!(paras.len(), 4, "{paras:?}");
        assert!(paras[0].starts_with("Vladimir Putin"));
        assert!(paras[3].ends_with("(© Washington Post)"));
        assert_eq!(c.authors, vec!["Jane Reporter".to_string()]);
        assert_eq!(c.language.as_deref(), Some("en-IE"));
        assert_eq!(
            c.canonical_url.as_ref().map(Url::as_str),
            Some("https://www.independent.ie/world-news/putin-kim-38031234.html")
        );
        assert!(c.published_at.is_some());
        assert!(c.html.starts_with("<p>Vladimir Putin"), "{}", c.html);
        assert!(!c.html.contains("class="));
    }

    /// A page whose promo box sits inside the body and whose real headline
    /// is not the `<h1>` (the site uses it for the section name).
    const RULED: &str = r#"<html><head><title>Local News</title></head><body>
<h1>Local News</h1>
<div class="story">
<h2 class="headline">Library opens late on Thursdays</h2>
<p>The town library will stay open until nine on Thursday evenings from next month, the council said on Monday.</p>
<div class="member-box"><p>Members get early access to every story we publish, and fewer adverts, for just a few pounds a month.</p></div>
<p>Staff said the change followed a survey in which most readers asked for later hours, especially students and shift workers.</p>
</div>
<div class="sidebar-extra"><p>Weather for the week ahead: mild, with showers on Tuesday and a chance of sun, later.</p></div>
</body></html>"#;

    fn rules(content: Option<&str>, remove: &[&str], title: Option<&str>) -> Rules {
        let sel = |s: &str| scraper::Selector::parse(s).expect("test selector");
        Rules {
            content: content.map(sel),
            remove: remove.iter().map(|s| sel(s)).collect(),
            title: title.map(sel),
        }
    }

    #[test]
    fn remove_and_title_rules_override_the_general_method() {
        let plain = clean(RULED, None).expect("article");
        assert!(
            plain.text.contains("Members get early access"),
            "{}",
            plain.text
        );
        let rules = rules(None, &[".member-box"], Some("h2.headline"));
        let options = Options {
            rules: Some(&rules),
            ..Options::default()
        };
        let c = clean_with(RULED, None, &options).expect("article");
        assert!(!c.text.contains("Members get early access"), "{}", c.text);
        assert_eq!(c.title.as_deref(), Some("Library opens late on Thursdays"));
        assert!(!c.text.contains("Library opens late"), "{}", c.text);
        assert!(c.text.starts_with("The town library"), "{}", c.text);
    }

    #[test]
    fn content_rule_selects_the_body_and_falls_back_when_it_matches_nothing() {
        let rules_hit = rules(Some(".sidebar-extra"), &[], None);
        let options = Options {
            rules: Some(&rules_hit),
            ..Options::default()
        };
        let c = clean_with(RULED, None, &options);
        // One short paragraph is below the article minimum even when a rule chose it.
        assert!(matches!(c, Err(CleanError::NoArticle(..))), "{c:?}");
        let rules_story = rules(Some("div.story > p"), &[], None);
        let options = Options {
            rules: Some(&rules_story),
            ..Options::default()
        };
        let c = clean_with(RULED, None, &options).expect("article");
        assert_eq!(c.text.split("\n\n").count(), 2, "{}", c.text);
        assert!(!c.text.contains("Members"), "{}", c.text);
        let rules_miss = rules(Some(".no-such-class"), &[], None);
        let options = Options {
            rules: Some(&rules_miss),
            ..Options::default()
        };
        let c = clean_with(RULED, None, &options).expect("general method");
        assert_eq!(c.text, clean(RULED, None).expect("article").text);
    }

    #[test]
    fn learned_template_blocks_are_dropped() {
        let promo = "Members get early access to every story we publish, and fewer adverts, for just a few pounds a month.";
        let is_template = |block: &str| block == promo;
        let options = Options {
            is_boilerplate: Some(&is_template),
            ..Options::default()
        };
        let c = clean_with(RULED, None, &options).expect("article");
        assert!(!c.text.contains("Members get"), "{}", c.text);
        assert!(c.text.contains("The town library"));
        assert!(c.text.contains("Staff said"));
    }

    #[test]
    fn explanation_lists_kept_body_and_removed_junk_with_reasons() {
        let options = Options {
            explain: true,
            ..Options::default()
        };
        let c = clean_with(SEED, None, &options).expect("article");
        let d = &c.explanation;
        let find = |needle: &str| {
            d.iter()
                .find(|d| d.text.contains(needle))
                .unwrap_or_else(|| panic!("no decision about {needle:?}: {d:#?}"))
        };
        let body = find("Vladimir Putin and Kim");
        assert!(body.kept && body.score.is_some_and(|s| s > 0.0), "{body:?}");
        assert!(body.element.ends_with('p'), "{body:?}");
        let comments = find("Please enter your comment");
        assert!(!comments.kept, "{comments:?}");
        let nav = find("Sport");
        assert!(!nav.kept, "{nav:?}");
        let kept = d.iter().filter(|d| d.kept).count();
        assert_eq!(kept, c.text.split("\n\n").count(), "{d:#?}");
        // Without the flag nothing is recorded.
        assert!(clean(SEED, None).expect("article").explanation.is_empty());
    }

    #[test]
    fn a_blog_name_linked_home_in_the_h1_is_not_the_headline() {
        let body = "<p>I have been teaching myself a new way to write programs, and it has changed how I think about the work, the tools and the people I build for.</p>".repeat(3);
        let page = format!(
            r#"<html><head><title>davidbau.com Vibe Coding</title></head><body>
<h1><a href="https://davidbau.com/">davidbau.com</a></h1>
<div class="post"><p>Vibe Coding</p>{body}</div></body></html>"#
        );
        let c = clean(&page, None).expect("the post");
        assert_eq!(c.title.as_deref(), Some("Vibe Coding"));
        // The headline printed again as a plain line is not text.
        assert!(c.text.starts_with("I have been teaching"), "{}", c.text);
        assert_eq!(without_site_name("Blog • Notes", "Blog"), Some("Notes"));
        assert_eq!(without_site_name("Notes - Blog", "blog"), Some("Notes"));
        assert_eq!(without_site_name("Blogger news", "Blog"), None);
        assert_eq!(without_site_name("Blog", "Blog"), None);
    }

    #[test]
    fn a_short_line_after_the_comment_thread_is_not_text() {
        let body = "<p>The council met on Tuesday evening to settle the budget for the coming year, and after a long debate it voted to raise spending on roads and bridges.</p>".repeat(4);
        let page = format!(
            r#"<html><body><div id="content"><h1>Budget passed</h1>{body}
<div id="comments"><h3>Add your comment</h3><p>Ann says: a fine decision by the council, at last.</p></div>
<p>By posting a comment you agree that we store your name and address.</p></div></body></html>"#
        );
        let c = clean(&page, None).expect("the article");
        assert!(c.text.contains("bridges"), "{}", c.text);
        assert!(!c.text.contains("By posting"), "{}", c.text);
        // Where the thread comes first (a comment count by the byline), the article stays.
        let page = format!(
            r##"<html><body><div id="content"><h1>Budget passed</h1>
<div class="comments-count"><a href="#c">Comments</a></div>{body}</div></body></html>"##
        );
        let c = clean(&page, None).expect("the article");
        assert_eq!(c.text.matches("bridges").count(), 4, "{}", c.text);
    }

    #[test]
    fn a_comment_body_is_a_comment_though_its_class_says_body() {
        // Movable Type: `comments-head` and `comments-body` beside the post;
        // "body" must not make a comment thread article text.
        let body = "<p>The council met on Tuesday evening to settle the budget for the coming year, and after a long debate it voted to raise spending on roads and bridges.</p>".repeat(4);
        let comments: String = [
            "I disagree with every part of this decision and I think the council should have waited for the audit to finish first.",
            "Roads in my street have not been repaired for ten years, so any extra money is welcome, whatever the audit says later.",
            "The bridge on the river road is closed again this winter; I hope this budget finally pays for a new one and not more studies.",
        ]
        .iter()
        .map(|c| format!(r#"<div class="comments-body"><p>{c}</p><span>Posted by: a reader</span></div>"#))
        .collect();
        let page = format!(
            r#"<html><body><div id="container"><div class="blog"><h1>Budget passed</h1><div class="blogbody">{body}</div>
<div class="comments-head">Comments</div>{comments}</div></div></body></html>"#
        );
        let c = clean(&page, None).expect("the article");
        assert_eq!(c.text.matches("bridges").count(), 4, "{}", c.text);
        assert!(!c.text.contains("audit"), "{}", c.text);
    }

    #[test]
    fn a_short_article_wins_over_a_longer_legal_footer() {
        // The first pass (footer cut by its id) is short, so a retry runs
        // without the class and id hints; the page footer, longer than the
        // article and away from the headline, must still stay out.
        let legal = "This material is general information only and is not advice; consult a qualified adviser before you act on it, because every case differs. ".repeat(12);
        let page = format!(
            r#"<html><body><header><a href="/">Home</a> <a href="/about">About</a></header>
<main><section><h1>Best practices for vehicle rentals</h1>
<p>A good risk management programme screens every driver before the keys change hands, and checks the car too.</p>
<p>Key topics in the guide:</p><ul><li>Procedures at the rental counter</li><li>Steps for hired vehicles</li><li>Reporting losses</li></ul>
</section></main>
<footer id="page-footer"><section><div><p>{legal}</p><p>Products named here are for information only.</p></div></section></footer>
</body></html>"#
        );
        let c = clean(&page, None).expect("the short article");
        assert!(c.text.contains("screens every driver"), "{}", c.text);
        assert!(!c.text.contains("qualified adviser"), "{}", c.text);
    }

    #[test]
    fn json_ld_body_is_used_when_dom_is_thin() {
        let page = r#"<html><head><title>Site</title>
<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
 {"@type":"WebPage","name":"Site"},
 {"@type":["NewsArticle"],"headline":"Rates rise again","inLanguage":"en_gb",
  "author":[{"@type":"Person","name":"Ann Lee"},{"@type":"Person","name":"Bo Chan"}],
  "datePublished":"2024-03-01T10:00:00+01:00",
  "articleBody":"The central bank raised rates for the third time this year, citing stubborn inflation in services and wages.\nEconomists had expected the move, although several said the pace of increases would now slow as growth weakens across the region and households feel the squeeze on their budgets."}
]}</script></head>
<body><div id="app"><p>Loading the article, please wait.</p></div></body></html>"#;
        let c = clean(page, None).expect("article from JSON-LD");
        assert_eq!(c.title.as_deref(), Some("Rates rise again"));
        assert_eq!(
            c.authors,
            vec!["Ann Lee".to_string(), "Bo Chan".to_string()]
        );
        assert_eq!(c.language.as_deref(), Some("en-GB"));
        assert_eq!(
            c.published_at.map(|d| d.to_rfc3339()).as_deref(),
            Some("2024-03-01T10:00:00+01:00")
        );
        assert!(c.text.starts_with("The central bank raised rates"));
        assert_eq!(c.text.split("\n\n").count(), 2);
        assert!(!c.text.contains("Loading"));
    }

    #[test]
    fn html_in_json_ld_body_is_turned_into_text() {
        let page = r#"<html><head><script type="application/ld+json">{"@type":"BlogPosting",
"headline":"Notes","articleBody":"<p>First paragraph of the post, which talks about several things at length.</p><p>Second paragraph &amp; more words, so that the body is long enough to count as an article.</p>"}
</script></head><body><div id="root"></div></body></html>"#;
        let c = clean(page, None).expect("article");
        assert!(!c.text.contains("<p>"), "{}", c.text);
        assert_eq!(c.text.split("\n\n").count(), 2, "{}", c.text);
        assert!(c.text.contains("& more words"));
    }

    #[test]
    fn headline_repeated_as_first_paragraph_is_dropped() {
        let page = r#"<html><head><title>Bridge reopens after repairs | Town News</title></head><body>
<h1>Bridge reopens after repairs</h1>
<div class="story-body"><p>Bridge reopens after repairs</p>
<p>The old stone bridge over the river reopened on Monday, after eight months of repairs that cost the council far more than planned.</p>
<p>Residents, who had faced a long detour, welcomed the news, although some said the new surface was already showing cracks.</p>
</div></body></html>"#;
        let c = clean(page, None).expect("article");
        assert_eq!(c.title.as_deref(), Some("Bridge reopens after repairs"));
        assert!(c.text.starts_with("The old stone bridge"), "{}", c.text);
        assert!(!c.text.contains("Bridge reopens"));
    }

    #[test]
    fn repeated_paragraphs_are_kept_but_repeated_short_rows_are_not() {
        let para = "<p>The chorus comes back, word for word, because the poem repeats it on purpose, twice.</p>";
        let page = format!(
            r#"<html><body><article>{para}<p>A verse sits between the two choruses, with its own words, and its own commas.</p>{para}
<table><thead><tr><th>Name</th><th>Score</th></tr></thead><tbody><tr><td>Ann</td><td>3</td></tr></tbody>
<tfoot><tr><th>Name</th><th>Score</th></tr></tfoot></table>
<table><thead><tr><th>Name</th><th>Score</th></tr></thead><tbody><tr><td>Bo</td><td>5</td></tr></tbody></table>{para}{para}</article></body></html>"#
        );
        let c = clean(&page, None).expect("article");
        assert_eq!(
            c.text.matches("The chorus comes back").count(),
            4,
            "{}",
            c.text
        );
        // Table two's header right after table one's footer row is the same line twice.
        assert_eq!(c.text.matches("Name Score").count(), 2, "{}", c.text);
    }

    #[test]
    fn embedded_photo_gallery_is_not_the_article() {
        let slide = "<li><h2>Slide</h2><p>A caption that describes the photo at length, with commas, names, places, and dates.</p></li>";
        let page = format!(
            r#"<html><body><article><div class="text"><p>The story opens here, with its first paragraph, and its own commas.</p>
{}<div class="photo-gallery"><ul>{}</ul></div>
<p>The story ends here, after the gallery, with a last paragraph of its own.</p></div></article></body></html>"#,
            "<p>The story goes on, in another paragraph, that is also long enough to count.</p>"
                .repeat(6),
            slide.repeat(12)
        );
        let c = clean(&page, None).expect("article");
        assert!(c.text.starts_with("The story opens"), "{}", c.text);
        assert!(c.text.contains("The story ends"), "{}", c.text);
        assert!(!c.text.contains("A caption"), "{}", c.text);
    }

    #[test]
    fn inline_formula_in_a_sentence_is_kept_but_reader_only_text_is_not() {
        let formula = r#"<span class="FormulaMenu_Attached"><math><mi>E</mi> <mo>=</mo> <mi>m</mi><annotation encoding="application/x-tex">E=m</annotation></math></span>"#;
        let page = format!(
            r#"<html><body><article><p>Energy, as the physicist wrote, is {formula} in units where the constant is one, which is a neat, short, and famous result.</p>
<p>The second paragraph explains the result in more words, with commas, and a link<span class="sr-only"> opens in a new window</span>, to a source.</p>
<p>{}</p></article></body></html>"#,
            "A third paragraph adds more words, so that the page is long enough, and has commas. "
                .repeat(6)
        );
        let c = clean(&page, None).expect("article");
        assert!(c.text.contains("is E = m in units"), "{}", c.text);
        assert!(!c.text.contains("E=m"), "{}", c.text);
        assert!(!c.text.contains("new window"), "{}", c.text);
    }

    #[test]
    fn deeply_nested_section_like_the_winner_is_merged() {
        let para = |t: &str| {
            format!(
                "<p>{t}, a paragraph with enough words, commas, clauses, and detail to score.</p>"
            )
        };
        let deep = format!(
            "<div><div><div><div><div><div>{}{}</div></div></div></div></div></div>",
            para("Deep one"),
            para("Deep two")
        );
        let page = format!(
            r#"<html><body><div class="page"><div class="section">{}</div><figure>Photo</figure><div class="section">{deep}</div></div></body></html>"#,
            (1..=8)
                .map(|i| para(&format!("Shallow {i}")))
                .collect::<String>()
        );
        let c = clean(&page, None).expect("article");
        assert!(c.text.starts_with("Shallow 1"), "{}", c.text);
        assert!(c.text.contains("Deep two"), "{}", c.text);
        assert!(!c.text.contains("Photo"), "{}", c.text);
    }

    #[test]
    fn link_lists_are_judged_as_a_whole() {
        let page = r#"<html><body><article>
<p>The release brings many changes, listed below, with the people who made them, and links to the bugs.</p>
<ul><li>The printing dialog now supports page ranges, which users had asked for, for years.</li>
<li><a href="/bug/1">Bug 1: fix the crash on start</a></li>
<li>Search engines can now be removed from the bar, one by one, in the settings page.</li></ul>
<p>More paragraphs follow the list, so that the article is long enough, with commas, and detail.</p>
<table><tr><td>Year</td><td>What changed in the browser</td></tr><tr><td>2019</td><td><a href="/v1">Version one</a></td></tr>
<tr><td>2020</td><td>Tabs can be grouped, named, coloured, and closed together</td></tr></table>
<p>A closing paragraph ends the article, after the table, with a few more words of its own.</p>
<ul class="more"><li><a href="/a">Another story</a></li><li><a href="/b">Yet another story</a></li><li><a href="/c">A third story</a></li></ul>
</article></body></html>"#;
        let c = clean(page, None).expect("article");
        assert!(c.text.contains("Bug 1: fix the crash"), "{}", c.text);
        assert!(c.text.contains("2019 Version one"), "{}", c.text);
        assert!(!c.text.contains("Another story"), "{}", c.text);
    }

    #[test]
    fn relative_links_are_resolved_and_markup_sanitised() {
        let page = r#"<html><body><article><p style="color:red" class="x">A long enough first paragraph, with a <a href="/about" onclick="evil()">link</a> and <em>emphasis</em>, to count as text here.</p>
<p>Another paragraph follows, with more words, so that the article is clearly long enough to be kept by the cleaner.</p>
<script>document.write('junk')</script></article></body></html>"#;
        let base = Url::parse("https://example.com/news/item").ok();
        let c = clean(page, base.as_ref()).expect("article");
        assert!(
            c.html
                .contains(r#"<a href="https://example.com/about">link</a>"#),
            "{}",
            c.html
        );
        assert!(c.html.contains("<em>emphasis</em>"));
        assert!(!c.html.contains("style") && !c.html.contains("onclick"));
        assert!(!c.text.contains("document.write"));
    }

    #[test]
    fn hidden_and_share_blocks_are_dropped() {
        let page = r##"<html><body><div class="post-content">
<p>First real paragraph of the story, long enough, with commas, clauses, and detail.</p>
<div style="display: none">Hidden promo text that must not appear anywhere at all.</div>
<div class="share-bar"><a href="#">Share on Facebook</a> <a href="#">Share on Twitter</a></div>
<p aria-hidden="true">Screen-reader junk that is hidden from readers of the page.</p>
<p>Second real paragraph of the story, also long enough, with commas, clauses, and detail.</p>
</div></body></html>"##;
        let c = clean(page, None).expect("article");
        assert!(!c.text.contains("Hidden promo"));
        assert!(!c.text.contains("Share on"));
        assert!(!c.text.contains("Screen-reader"));
        assert_eq!(c.text.split("\n\n").count(), 2, "{}", c.text);
    }

    #[test]
    fn short_post_with_long_comment_thread_keeps_post_only() {
        let comment = "<li class=\"comment\"><p>I disagree with this, strongly, and here is a long reason why it is so, with more words.</p></li>";
        let page = format!(
            r#"<html><body><div class="entry-content"><p>Our short post announces the new open thread, where readers can ask anything, about any topic, at all.</p>
<p>Please keep the discussion civil, and remember that staff read every question, even if they cannot answer them all.</p></div>
<ol class="commentlist">{}</ol></body></html>"#,
            comment.repeat(30)
        );
        let c = clean(&page, None).expect("article");
        assert!(c.text.starts_with("Our short post"));
        assert!(!c.text.contains("I disagree"), "{}", c.text);
    }

    #[test]
    fn page_wrapping_form_is_layout_not_junk() {
        let page = r#"<html><body><form id="aspnetForm" action="/page.aspx"><div id="content">
<p>This old site wraps its whole page in a form element, as ASP.NET pages used to, and the article lives inside it.</p>
<p>The cleaner must keep such text, because the form is only layout here, not a comment box or a sign-up form.</p>
</div></form></body></html>"#;
        let c = clean(page, None).expect("article");
        assert!(c.text.starts_with("This old site"));
    }

    #[test]
    fn empty_and_tiny_inputs_are_no_article() {
        assert!(matches!(clean("", None), Err(CleanError::NoArticle(..))));
        assert!(matches!(
            clean("   \n", None),
            Err(CleanError::NoArticle(..))
        ));
        // A short teaser on a site page (navigation, a paywall prompt) is not an article.
        let teaser = r#"<html><body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<h1>Mayor resigns</h1><p>The mayor resigned on Monday, aides said.</p>
<div class="paywall"><p>Subscribe to keep reading this story and every other.</p><a href="/join">Join now</a></div>
<footer><p>Copyright the Town News, all rights reserved, since 1901.</p></footer></body></html>"#;
        assert!(matches!(
            clean(teaser, None),
            Err(CleanError::NoArticle(..))
        ));
        // A short placeholder in a page that runs scripts stands in for what they render.
        let shell = r#"<html><head><script src="/app.js"></script></head><body><div id="app"><p>Loading the story, please wait.</p></div></body></html>"#;
        assert!(matches!(clean(shell, None), Err(CleanError::NoArticle(..))));
        // Many short labels and no paragraph at all: an index or schedule page, however many words.
        let labels = format!(
            "<html><head><script src=\"/site.js\"></script></head><body>{}</body></html>",
            "<div>Monday at three pm</div><div>Town hall, room two</div>".repeat(20)
        );
        assert!(matches!(
            clean(&labels, None),
            Err(CleanError::NoArticle(..))
        ));
        let script_only = "<html><body><script>render()</script></body></html>";
        assert!(matches!(
            clean(script_only, None),
            Err(CleanError::NoArticle(..))
        ));
    }

    #[test]
    fn bare_short_document_is_its_own_article() {
        let c = clean("<html><body><p>Too short.</p></body></html>", None).expect("bare page");
        assert_eq!(c.text, "Too short.");
        // Text loose in <body>, and a page of nothing but headings.
        let c = clean("<html><body>\n Just a note \n</body></html>", None).expect("loose text");
        assert_eq!(c.text, "Just a note");
        let c = clean(
            "<html><body><h2>Part one</h2><h2>Part two</h2></body></html>",
            None,
        )
        .expect("headings");
        assert_eq!(c.text, "Part one\n\nPart two");
    }

    #[test]
    fn javascript_pseudo_links_are_text() {
        let page = r#"<html><body><a href="javascript:void(0)"><p>First note</p><p>Second note</p></a></body></html>"#;
        let c = clean(page, None).expect("article");
        assert_eq!(c.text, "First note\n\nSecond note");
        assert!(!c.html.contains("javascript"), "{}", c.html);
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let n = 100_000;
        let mut page = String::with_capacity(n * 12);
        page.push_str("<html><body>");
        for _ in 0..n {
            page.push_str("<div>");
        }
        page.push_str("<p>Deep text, with commas, placed at the very bottom of a very deep tree of divs, to check for stack use.</p>");
        let _ = clean(&page, None);
        let mut inline = String::from("<html><body><p>");
        for _ in 0..n {
            inline.push_str("<b>");
        }
        inline.push_str("bold text");
        let _ = clean(&inline, None);
        // Distinct formatting elements defeat html5ever's Noah's Ark shortcut.
        let mut formatting = String::from("<p>");
        for i in 0..n {
            formatting.push_str(&format!("<b id={i}>x"));
        }
        formatting.push_str("</p><p>after</p>");
        let _ = clean(&formatting, None);
        let lists = "<li><ul>".repeat(n / 5);
        let _ = clean(&lists, None);
    }

    #[test]
    fn many_siblings_and_giant_text_are_fine() {
        let siblings = "<p>Sibling paragraph, short, with a comma.</p>".repeat(100_000);
        let _ = clean(&siblings, None);
        let giant = format!("<p>{}</p>", "word, ".repeat(500_000));
        let c = clean(&giant, None).expect("giant text is an article");
        assert!(c.text.len() > 1_000_000);
    }

    #[test]
    fn garbage_bytes_do_not_panic() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let bytes: Vec<u8> = (0..200_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        let s = String::from_utf8_lossy(&bytes);
        let _ = clean(&s, None);
        let tags = "<<div<p>></a href=\"</td><table><tr><li>&#0;&#xFFFFFF;<!--".repeat(5_000);
        let _ = clean(&tags, None);
    }
}
