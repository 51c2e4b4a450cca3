//! Structural HTML for the kept blocks, sanitised as ammonia does (by
//! ammonia itself when the HTML is not of the shape [`super::verbatim`] knows).

use std::collections::HashSet;

use ammonia::{Builder, UrlRelative};
use url::Url;

use super::Figure;
use super::extract::{Block, Kind, escape_into};
use super::images::Placed;

/// Tags allowed in [`super::Cleaned::html`].
const ALLOWED: &[&str] = &[
    "p",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "blockquote",
    "pre",
    "code",
    "em",
    "strong",
    "b",
    "i",
    "a",
    "br",
    "table",
    "tr",
    "td",
    "th",
    "figure",
    "figcaption",
    "img",
];

/// Builds the block HTML, with the figures where they stand among the
/// blocks, and sanitises it (allowlist, resolved URLs, no attributes but a
/// link's `href` and an image's `src` and `alt`).
pub(crate) fn render(blocks: &[Block], figures: &[Placed], base: Option<&Url>) -> String {
    sanitize(&raw_html(blocks, figures), base)
}

/// The block HTML [`render`] sanitises, as the cleaner writes it.
pub(crate) fn raw_html(blocks: &[Block], figures: &[Placed]) -> String {
    let mut raw = String::new();
    // The wrapper (ul/ol/table) currently open and the group it belongs to.
    let mut open: Option<(&str, usize)> = None;
    let mut figures = figures.iter().peekable();
    let close = |raw: &mut String, open: &mut Option<(&str, usize)>| {
        if let Some((w, _)) = open.take() {
            raw.push_str("</");
            raw.push_str(w);
            raw.push('>');
        }
    };
    for b in blocks {
        while let Some(f) = figures.next_if(|f| f.node < b.node) {
            close(&mut raw, &mut open);
            figure_html(&f.figure, &mut raw);
        }
        let wrap = match b.kind {
            Kind::Li(false) => Some("ul"),
            Kind::Li(true) => Some("ol"),
            Kind::Row => Some("table"),
            _ => None,
        };
        let want = wrap.map(|w| (w, b.group));
        if open != want {
            if let Some((w, _)) = open {
                raw.push_str("</");
                raw.push_str(w);
                raw.push('>');
            }
            if let Some((w, _)) = want {
                raw.push('<');
                raw.push_str(w);
                raw.push('>');
            }
            open = want;
        }
        let tag = match b.kind {
            Kind::P => "p",
            Kind::H(1) | Kind::H(2) => "h2",
            Kind::H(3) => "h3",
            Kind::H(4) => "h4",
            Kind::H(5) => "h5",
            Kind::H(_) => "h6",
            Kind::Li(_) => "li",
            Kind::Pre => "pre",
            Kind::Quote => "blockquote",
            Kind::Row => "tr",
        };
        raw.push('<');
        raw.push_str(tag);
        raw.push('>');
        raw.push_str(&b.html);
        raw.push_str("</");
        raw.push_str(tag);
        raw.push_str(">\n");
    }
    close(&mut raw, &mut open);
    for f in figures {
        figure_html(&f.figure, &mut raw);
    }
    raw
}

/// `<figure><img src alt><figcaption>…</figcaption></figure>` for one figure.
fn figure_html(f: &Figure, raw: &mut String) {
    raw.push_str("<figure><img src=\"");
    escape_into(f.url.as_str(), raw);
    raw.push('"');
    if let Some(alt) = &f.alt {
        raw.push_str(" alt=\"");
        escape_into(alt, raw);
        raw.push('"');
    }
    raw.push('>');
    if let Some(caption) = &f.caption {
        raw.push_str("<figcaption>");
        escape_into(caption, raw);
        raw.push_str("</figcaption>");
    }
    raw.push_str("</figure>\n");
}

/// Wraps plain paragraphs (e.g. a JSON-LD body) as sanitised `<p>` HTML.
pub(crate) fn paragraphs_html(paras: &[String], base: Option<&Url>) -> String {
    let mut raw = String::new();
    for p in paras {
        raw.push_str("<p>");
        escape_into(p, &mut raw);
        raw.push_str("</p>\n");
    }
    sanitize(&raw, base)
}

/// What ammonia makes of `raw` (see [`ammonia_clean`]), written directly
/// when `raw` is as the cleaner writes it.
fn sanitize(raw: &str, base: Option<&Url>) -> String {
    super::verbatim::sanitize_known(raw, base).unwrap_or_else(|| ammonia_clean(raw, base))
}

/// Runs ammonia with the small allowlist; hrefs are resolved against `base`.
pub(crate) fn ammonia_clean(raw: &str, base: Option<&Url>) -> String {
    let tags: HashSet<&str> = ALLOWED.iter().copied().collect();
    let mut b = Builder::empty();
    b.tags(tags)
        .add_tag_attributes("a", ["href"])
        .add_tag_attributes("img", ["src", "alt"])
        .link_rel(None);
    match base {
        Some(u) => b.url_relative(UrlRelative::RewriteWithBase(u.clone())),
        None => b.url_relative(UrlRelative::PassThrough),
    };
    b.clean(raw).to_string()
}
