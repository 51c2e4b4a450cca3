//! Input preparation: one linear, tokenizer-level pass over the raw page
//! before `scraper` parses it.
//!
//! The pass does two jobs:
//!
//! - Guard against parser blow-up. html5ever checks "element in scope" by
//!   walking its stack of open elements, so thousands of nested unclosed
//!   `<div>`s make parsing quadratic (100k of them take tens of seconds).
//!   Real pages nest a few hundred levels at most, so opening container tags
//!   beyond [`MAX_DEPTH`] are dropped; their text stays.
//! - Drop bytes that can never be article text, so the parser does less work
//!   (the tokenizer's cost is per tag and per node far more than per byte):
//!   - `<script>` (except JSON-LD, which the metadata reads), `<style>`,
//!     `<noscript>`, `<textarea>` and `<iframe>` go whole, tags included, as do
//!     `<svg>` and `<template>` subtrees whose end is clear;
//!   - void never-content tags go whole: `<source>`, `<embed>`, `<input>`,
//!     `<link>` other than rel=canonical or microdata, and `<meta>` other
//!     than the keys the metadata reads ([`super::metadata::READ_META`]), and
//!     `<img>` outside `<figure>` and `<picture>` (inside, it stays for the
//!     article's images, with only the attributes read of it);
//!   - a `<nav>` whose content is plainly nested stays as an empty element
//!     (so it still ends an open `<p>`) that notes how many words it held;
//!   - comment text goes (`<!---->` stays: it keeps text nodes apart);
//!   - attributes nothing reads go ([`names::is_dropped_attr`]);
//!   - whitespace-only text next to a block boundary goes, and other runs of
//!     whitespace next to tags shrink to one character (outside `<pre>`).
//!
//!   Every cut is of something the cleaner drops or never reads
//!   (`dom::is_never_content`), in a place where the tree builder would not
//!   let it change anything else; what a cut part would have told is kept
//!   (that the page runs scripts, in [`Prepared`]; the words of a
//!   navigation, on the element). Where a cut could move content (a
//!   `<textarea>` or `<input>` inside a `<select>`, a `<nav>` inside an open
//!   formatting element, `<select>` or `<button>`) the tag stays; after SVG
//!   or MathML the pass cannot skip, where raw text and breakouts depend on
//!   tree-builder state it does not model, it cuts nothing more, and a page
//!   with a `<frameset>` is prepared again uncut.
//!
//! The scanner follows the HTML tokenizer where it matters: quoted attribute
//! values may hold `>`, comments end per spec (`<!-->`, `--!>`), script data
//! honours the `<!--` escape states, and raw-text elements end only at their
//! own end tag. Whenever a subtree's end is unclear (an `<svg>` holding HTML
//! that would break out of it, an unterminated `<template>`), it is kept as is.
//! Every cut is at an ASCII `<` or just past an ASCII `>`, so the output is
//! valid UTF-8, and every search only moves forward (a failed subtree skip
//! turns that kind of skip off for the rest of the page, or up to where it
//! looked), so time is linear.

mod lex;
mod names;
mod scan;
mod subtree;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

/// Container nesting depth beyond which opening tags are dropped.
pub(crate) const MAX_DEPTH: usize = 512;

/// Open formatting elements (b, i, font, a, ...) beyond which opening tags are
/// dropped: html5ever's "Noah's Ark" check scans the whole list of active
/// formatting elements for every new one, which is quadratic too.
const MAX_FORMATTING: usize = 200;

/// Open elements tracked inside one `<svg>`; deeper SVG is kept as is.
const MAX_SVG_DEPTH: usize = 256;

/// The output, copied lazily: nothing is allocated until the first cut.
struct Out<'a> {
    /// The input page.
    src: &'a str,
    /// The copy, once something was cut.
    buf: Option<String>,
    /// Input bytes before this index are already in `buf` (or cut).
    done: usize,
}

impl<'a> Out<'a> {
    /// Replaces `src[from..to]` with `with`; both ends are ASCII boundaries.
    fn replace(&mut self, from: usize, to: usize, with: &str) {
        let src = self.src;
        let buf = self
            .buf
            .get_or_insert_with(|| String::with_capacity(src.len()));
        if let Some(s) = src.get(self.done..from) {
            buf.push_str(s);
        }
        buf.push_str(with);
        self.done = self.done.max(to);
    }

    /// The page with all cuts applied.
    fn finish(self) -> Cow<'a, str> {
        match self.buf {
            None => Cow::Borrowed(self.src),
            Some(mut buf) => {
                if let Some(s) = self.src.get(self.done..) {
                    buf.push_str(s);
                }
                Cow::Owned(buf)
            }
        }
    }
}

/// What [`prepare`] drops besides over-deep tags.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slim {
    /// The never-content bytes listed in the module docs.
    pub never_content: bool,
    /// The attributes [`names::is_dropped_attr`] lists.
    pub attrs: bool,
    /// Runs of whitespace next to tags, outside `<pre>`, shortened to their
    /// first character (HTML collapses them anyway; indentation is a large
    /// share of what the tokenizer would otherwise copy into text nodes).
    pub whitespace: bool,
}

impl Slim {
    /// Nothing but over-deep tags goes.
    pub const NONE: Slim = Slim {
        never_content: false,
        attrs: false,
        whitespace: false,
    };

    /// Everything that can go.
    pub const ALL: Slim = Slim {
        never_content: true,
        attrs: true,
        whitespace: true,
    };
}

/// A page ready for the parser, and what the cut parts would have told.
pub(crate) struct Prepared<'a> {
    /// The page to parse (`html` itself when nothing had to go).
    pub html: Cow<'a, str>,
    /// An executable `<script>` was dropped: the page runs scripts.
    pub scripted: bool,
}

/// Attribute an emptied `<nav>` gets: the number of words it held.
pub(crate) const NAV_WORDS_ATTR: &str = "thresher-words";

/// Prepares `html` for parsing in one pass: drops opening container tags
/// nested deeper than `max` (formatting elements beyond [`MAX_FORMATTING`])
/// and what `slim` asks for. Returns `html` itself when nothing had to go.
pub(crate) fn prepare(html: &str, max: usize, slim: Slim) -> Cow<'_, str> {
    prepare_page(html, max, slim).html
}

/// [`prepare`], also reporting what the dropped parts held.
pub(crate) fn prepare_page(html: &str, max: usize, slim: Slim) -> Prepared<'_> {
    scan::Scanner::new(html, max, slim)
        .run()
        .unwrap_or_else(|| prepare_page(html, max, Slim::NONE))
}
