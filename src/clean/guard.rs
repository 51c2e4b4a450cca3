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
//!     than the keys the metadata reads ([`metadata::READ_META`]), and
//!     `<img>` outside `<figure>` and `<picture>` (inside, it stays for the
//!     article's images, with only the attributes read of it);
//!   - a `<nav>` whose content is plainly nested stays as an empty element
//!     (so it still ends an open `<p>`) that notes how many words it held;
//!   - comment text goes (`<!---->` stays: it keeps text nodes apart);
//!   - attributes nothing reads go ([`is_dropped_attr`]);
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

use std::borrow::Cow;

use memchr::{memchr, memchr2, memmem};

use super::{dom, metadata};

/// Container nesting depth beyond which opening tags are dropped.
pub(crate) const MAX_DEPTH: usize = 512;

/// Open formatting elements (b, i, font, a, ...) beyond which opening tags are
/// dropped: html5ever's "Noah's Ark" check scans the whole list of active
/// formatting elements for every new one, which is quadratic too.
const MAX_FORMATTING: usize = 200;

/// Open elements tracked inside one `<svg>`; deeper SVG is kept as is.
const MAX_SVG_DEPTH: usize = 256;

/// What the pass cares about for a tag name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    /// Nesting container that triggers scope walks.
    Counted,
    /// Formatting element, kept in html5ever's list of active formatting elements.
    Formatting,
    /// `<script>`: script data, with its own escape rules.
    Script,
    /// Raw text or RCDATA element whose content is never article text.
    RawDropped,
    /// Raw text or RCDATA element whose content is kept (`<title>` feeds metadata).
    RawKept,
    /// `<svg>`: a foreign subtree, dropped when its end is clear.
    Svg,
    /// `<template>`: inert content, dropped when its end is clear.
    Template,
    /// `<plaintext>`: everything after it is text.
    Plaintext,
    /// `<pre>`/`<listing>`: whitespace inside is content.
    Pre,
    /// Anything else.
    Other,
}

/// Classifies a tag name (ASCII case-insensitive) via a small lower-case copy.
fn classify(name: &[u8]) -> Class {
    let mut buf = [0u8; 10];
    let Some(dst) = lower(name, &mut buf) else {
        return Class::Other;
    };
    match dst {
        b"div" | b"section" | b"article" | b"aside" | b"main" | b"nav" | b"header" | b"footer"
        | b"blockquote" | b"center" | b"figure" | b"fieldset" | b"ul" | b"ol" | b"dl"
        | b"table" | b"details" | b"form" | b"menu" | b"dir" | b"address" | b"hgroup"
        | b"figcaption" | b"summary" | b"dialog" | b"search" => Class::Counted,
        b"a" | b"b" | b"big" | b"code" | b"em" | b"font" | b"i" | b"nobr" | b"s" | b"small"
        | b"strike" | b"strong" | b"tt" | b"u" => Class::Formatting,
        b"script" => Class::Script,
        b"style" | b"noscript" | b"textarea" | b"iframe" => Class::RawDropped,
        b"title" | b"xmp" | b"noembed" | b"noframes" => Class::RawKept,
        b"svg" => Class::Svg,
        b"template" => Class::Template,
        b"plaintext" => Class::Plaintext,
        b"pre" | b"listing" => Class::Pre,
        _ => Class::Other,
    }
}

/// Whitespace as the tokenizer sees it (CR counts: the parser turns it into LF).
fn is_ws(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

/// End of the tag name starting at `from`: the first whitespace, `/` or `>`.
fn name_end(b: &[u8], from: usize) -> usize {
    let rest = b.get(from..).unwrap_or_default();
    from + rest
        .iter()
        .position(|&c| is_ws(c) || c == b'/' || c == b'>')
        .unwrap_or(rest.len())
}

/// Attribute states of the tokenizer that matter for finding a tag's `>`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Attr {
    /// Before an attribute name (also after a quoted value).
    Before,
    /// Inside an attribute name.
    Name,
    /// After an attribute name, before a possible `=`.
    After,
    /// After `=`, before the value.
    Value,
    /// Inside an unquoted value.
    Unquoted,
}

/// Index just past the `>` closing the tag whose name ends at `from`, and
/// whether the tag is self-closing (`/>`); `None` when the page ends inside it.
/// Quotes only quote right after `=`, as in the tokenizer.
///
/// `on_attr(span_start, name_start, name_end, span_end)` is called for each
/// attribute, in order; spans are contiguous and include the whitespace before
/// the attribute, so cutting one leaves a well-formed tag.
fn tag_end(
    b: &[u8],
    from: usize,
    mut on_attr: impl FnMut(usize, usize, usize, usize),
) -> Option<(usize, bool)> {
    let mut state = Attr::Before;
    let mut slash = false;
    // End of the previous attribute (or of the tag name), and the current name.
    let mut span = from;
    let mut name_start = from;
    let mut name_end = from;
    let mut i = from;
    while let Some(&c) = b.get(i) {
        let at = i;
        i += 1;
        match state {
            Attr::Unquoted => {
                if is_ws(c) || c == b'>' {
                    on_attr(span, name_start, name_end, at);
                    span = at;
                    if c == b'>' {
                        return Some((i, false));
                    }
                    state = Attr::Before;
                }
            }
            Attr::Value => match c {
                b'"' | b'\'' => {
                    i += memchr(c, b.get(i..)?)? + 1;
                    on_attr(span, name_start, name_end, i);
                    span = i;
                    state = Attr::Before;
                }
                b'>' => {
                    on_attr(span, name_start, name_end, at);
                    return Some((i, false));
                }
                c if is_ws(c) => {}
                _ => state = Attr::Unquoted,
            },
            Attr::Name => match c {
                b'>' => {
                    on_attr(span, name_start, at, at);
                    return Some((i, false));
                }
                b'/' => {
                    on_attr(span, name_start, at, at);
                    span = at;
                    slash = true;
                    state = Attr::Before;
                }
                b'=' => {
                    name_end = at;
                    state = Attr::Value;
                }
                c if is_ws(c) => {
                    name_end = at;
                    state = Attr::After;
                }
                _ => {}
            },
            Attr::Before | Attr::After => {
                let after = state == Attr::After;
                match c {
                    b'>' => {
                        if after {
                            on_attr(span, name_start, name_end, name_end);
                        }
                        return Some((i, slash));
                    }
                    c if is_ws(c) => slash = false,
                    b'=' if after => {
                        slash = false;
                        state = Attr::Value;
                    }
                    _ => {
                        // `/` or a new name (in the "before" state `=` starts one) ends
                        // a pending name-only attribute.
                        if after {
                            on_attr(span, name_start, name_end, name_end);
                            span = name_end;
                        }
                        slash = c == b'/';
                        state = Attr::Before;
                        if !slash {
                            name_start = at;
                            state = Attr::Name;
                        }
                    }
                }
            }
        }
    }
    None
}

/// Ignores attributes, for [`tag_end`] callers that only need the tag's end.
fn no_attrs(_: usize, _: usize, _: usize, _: usize) {}

/// Void elements that are never content, dropped whole before parsing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Void {
    /// `<link>`: metadata reads rel=canonical; microdata may use itemprop.
    Link,
    /// `<meta>`: metadata reads a few keys ([`metadata::READ_META`]).
    Meta,
    /// `<input>`: closes an open `<select>`, so it stays inside one.
    Input,
    /// `<img>` outside a figure or picture, `<source>`, `<embed>`: nothing reads them.
    Other,
}

impl Void {
    /// True when something after the parse reads this tag (`tag` is all of it).
    fn is_read(self, tag: &[u8]) -> bool {
        let has = |w: &[u8]| contains_ignore_case(tag, w);
        match self {
            Void::Link => has(b"canonical") || has(b"itemprop"),
            Void::Meta => metadata::READ_META.iter().any(|w| has(w.as_bytes())),
            Void::Input | Void::Other => false,
        }
    }
}

/// True when the `<script ...>` start tag `tag` runs code: no `type`, or one
/// [`dom::script_type_runs`] accepts.
fn script_runs(tag: &[u8]) -> bool {
    let mut value: Option<&[u8]> = None;
    let on_attr = |_: usize, start: usize, end_name: usize, end: usize| {
        let is_type = tag
            .get(start..end_name)
            .is_some_and(|n| n.eq_ignore_ascii_case(b"type"));
        if is_type && value.is_none() {
            value = tag.get(end_name..end);
        }
    };
    if tag_end(tag, name_end(tag, 1), on_attr).is_none() {
        return true;
    }
    let Some(raw) = value else { return true };
    let t = raw
        .iter()
        .position(|&c| !is_ws(c) && c != b'=' && c != b'"' && c != b'\'')
        .map_or(&[][..], |s| &raw[s..]);
    let t = t
        .iter()
        .rposition(|&c| !is_ws(c) && c != b'"' && c != b'\'' && c != b'>')
        .map_or(&[][..], |e| &t[..=e]);
    // Cut at ASCII quotes and spaces of a `str`, so still UTF-8.
    std::str::from_utf8(t)
        .ok()
        .is_none_or(dom::script_type_runs)
}

/// Which [`Void`] never-content element `name` is, if any.
fn void_never_content(name: &[u8]) -> Option<Void> {
    let mut buf = [0u8; 10];
    match lower(name, &mut buf)? {
        b"link" => Some(Void::Link),
        b"meta" => Some(Void::Meta),
        b"input" => Some(Void::Input),
        b"img" | b"source" | b"embed" => Some(Void::Other),
        _ => None,
    }
}

/// True for tags at which whitespace-only text is insignificant: the block
/// boundaries the cleaner splits text at ([`dom::is_block`]), and `<head>`.
fn is_block_boundary(name: &[u8]) -> bool {
    let mut buf = [0u8; 10];
    lower(name, &mut buf)
        .and_then(|t| std::str::from_utf8(t).ok())
        .is_some_and(|t| t == "head" || dom::is_block(t))
}

/// True when the markup at `lt` (a `<`) is a start tag of a block element
/// the tree builder always makes (so text after it is a new text node).
fn opens_block_element(b: &[u8], lt: usize) -> bool {
    b.get(lt + 1).is_some_and(u8::is_ascii_alphabetic)
        && b.get(lt + 1..name_end(b, lt + 1))
            .is_some_and(|name| is_block_boundary(name) && !may_be_ignored(name))
}

/// Index just past the end tag starting at `at` (from [`raw_end`],
/// [`script_end`], [`svg_end`] or [`template_end`]); the page length when
/// there is none or it never closes.
fn end_tag_end(b: &[u8], at: usize) -> usize {
    if at >= b.len() {
        return b.len();
    }
    tag_end(b, name_end(b, at + 2), no_attrs).map_or(b.len(), |(gt, _)| gt)
}

/// True for `<figure>` and `<picture>`, whose images [`prepare`] keeps.
fn is_frame(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"figure") || name.eq_ignore_ascii_case(b"picture")
}

/// The attributes of an `<img>` that `clean::images` reads: its sources
/// (lazy-loading ones too), `alt` and `width`. The rest go, as
/// [`is_dropped_attr`]'s do elsewhere.
fn is_image_attr(name: &[u8]) -> bool {
    let mut buf = [0u8; 20];
    lower(name, &mut buf).is_some_and(|n| {
        matches!(
            n,
            b"src"
                | b"srcset"
                | b"alt"
                | b"width"
                | b"data-src"
                | b"data-srcset"
                | b"data-lazy-src"
                | b"data-lazy-srcset"
                | b"data-original"
                | b"data-lazy"
                | b"data-url"
                | b"data-hi-res-src"
        )
    })
}

/// Attributes nothing after the parse reads: media, behaviour, `data-*`,
/// ARIA labels (`aria-hidden` and `aria-labelledby` stay: see `dom::is_hidden`), tooltips. They are much of the
/// parser's work, so they go before it runs (not when per-source rules are
/// in use: their selectors may name any attribute). A heuristic that starts
/// reading one of these must take it off this list.
fn is_dropped_attr(name: &[u8]) -> bool {
    let mut buf = [0u8; 16];
    let len = name.len().min(buf.len());
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    let lower = &buf[..len];
    if lower.starts_with(b"data-") || lower.starts_with(b"xmlns") {
        return true;
    }
    if lower.starts_with(b"aria-") {
        // `aria-hidden` hides; `aria-labelledby` marks an accordion's panel.
        return !(lower == b"aria-hidden" || lower == b"aria-labelledby") || name.len() > buf.len();
    }
    if lower.starts_with(b"on") && name.len() > 2 {
        // Event handlers: onclick, onload, onerror, ...
        return true;
    }
    name.len() <= buf.len()
        && matches!(
            lower,
            b"src"
                | b"srcset"
                | b"sizes"
                | b"width"
                | b"height"
                | b"alt"
                | b"title"
                | b"target"
                | b"loading"
                | b"decoding"
                | b"fetchpriority"
                | b"crossorigin"
                | b"integrity"
                | b"referrerpolicy"
                | b"tabindex"
                | b"value"
                | b"placeholder"
                | b"async"
                | b"defer"
                | b"nonce"
        )
}

/// Index just past the end of the comment whose `--` opener starts at `from`
/// (`-->` or `--!>`; `<!-->` and `<!--->` end at once); `None` if unterminated.
fn comment_end(b: &[u8], from: usize) -> Option<usize> {
    let mut k = from;
    loop {
        let p = k + memmem::find(b.get(k..)?, b"--")?;
        match b.get(p + 2) {
            Some(b'>') => return Some(p + 3),
            Some(b'!') if b.get(p + 3) == Some(&b'>') => return Some(p + 4),
            Some(_) => k = p + 1,
            None => return None,
        }
    }
}

/// Index just past the first `>` at or after `from` (bogus comments, doctype).
fn gt_end(b: &[u8], from: usize) -> Option<usize> {
    Some(from + memchr(b'>', b.get(from..)?)? + 1)
}

/// True when `rest` starts with tag name `name` (case-insensitive) and a
/// delimiter (whitespace, `/` or `>`), as raw-text end tags need.
fn names_tag(rest: &[u8], name: &[u8]) -> bool {
    rest.get(..name.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(name))
        && rest
            .get(name.len())
            .is_some_and(|&c| is_ws(c) || c == b'/' || c == b'>')
}

/// Start of the end tag `</name` closing a raw-text element whose content
/// starts at `from`, or the page length when there is none.
fn raw_end(b: &[u8], from: usize, name: &[u8]) -> usize {
    let mut k = from;
    while let Some(off) = b.get(k..).and_then(|r| memmem::find(r, b"</")) {
        let p = k + off;
        if names_tag(b.get(p + 2..).unwrap_or_default(), name) {
            return p;
        }
        k = p + 2;
    }
    b.len()
}

/// Script data states of the tokenizer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ScriptState {
    /// Plain script data.
    Data,
    /// After `<!--`: `</script>` still ends the script, `<script>` nests.
    Escaped,
    /// After `<script>` inside an escaped part: `</script>` only un-nests.
    DoubleEscaped,
}

/// Start of the `</script` ending a script whose content starts at `from`,
/// or the page length when there is none.
fn script_end(b: &[u8], from: usize) -> usize {
    let n = b.len();
    let mut state = ScriptState::Data;
    let mut k = from;
    loop {
        let Some(rest) = b.get(k..) else { return n };
        let found = if state == ScriptState::Data {
            memchr(b'<', rest)
        } else {
            memchr2(b'<', b'-', rest)
        };
        let Some(off) = found else { return n };
        let p = k + off;
        let after = b.get(p + 1..).unwrap_or_default();
        if b[p] == b'-' {
            // `-->` (any run of dashes then `>`) leaves both escaped states.
            if after.starts_with(b"->") {
                state = ScriptState::Data;
                k = p + 3;
            } else {
                k = p + 1;
            }
            continue;
        }
        if after.first() == Some(&b'/') && names_tag(&after[1..], b"script") {
            if state != ScriptState::DoubleEscaped {
                return p;
            }
            state = ScriptState::Escaped;
            k = p + 8;
            continue;
        }
        if state == ScriptState::Data && after.starts_with(b"!--") {
            state = ScriptState::Escaped;
            // The opener's own dashes can close it again (`<!-->`).
            k = p + 2;
            continue;
        }
        if state == ScriptState::Escaped && names_tag(after, b"script") {
            state = ScriptState::DoubleEscaped;
            k = p + 7;
            continue;
        }
        k = p + 1;
    }
}

/// True for HTML start tags that end `<svg>` content early ("breakout" tags
/// of the tree builder's foreign-content rules; `font` counted always).
fn breaks_out_of_svg(name: &[u8]) -> bool {
    let mut buf = [0u8; 10];
    let Some(dst) = lower(name, &mut buf) else {
        return false;
    };
    matches!(
        dst,
        b"b" | b"big"
            | b"blockquote"
            | b"body"
            | b"br"
            | b"center"
            | b"code"
            | b"dd"
            | b"div"
            | b"dl"
            | b"dt"
            | b"em"
            | b"embed"
            | b"h1"
            | b"h2"
            | b"h3"
            | b"h4"
            | b"h5"
            | b"h6"
            | b"head"
            | b"hr"
            | b"i"
            | b"img"
            | b"li"
            | b"listing"
            | b"menu"
            | b"meta"
            | b"nobr"
            | b"ol"
            | b"p"
            | b"pre"
            | b"ruby"
            | b"s"
            | b"small"
            | b"span"
            | b"strong"
            | b"strike"
            | b"sub"
            | b"sup"
            | b"table"
            | b"tt"
            | b"u"
            | b"ul"
            | b"var"
            | b"font"
    )
}

/// Start of the `</svg` closing an `<svg>` whose content starts at `from`, if
/// the content is plain well-nested SVG. `None` (keep it all) for anything the
/// tree builder would treat otherwise: HTML breakout tags, HTML integration
/// points with markup inside, mismatched end tags, unterminated constructs.
fn svg_end(b: &[u8], from: usize) -> Option<usize> {
    // Open elements inside the svg (their names), the svg itself first.
    let mut open: Vec<&[u8]> = vec![b"svg"];
    // Inside <title>, <desc> or <foreignObject>, where HTML rules apply.
    let mut integration = false;
    let mut k = from;
    loop {
        let p = k + memchr(b'<', b.get(k..)?)?;
        match *b.get(p + 1)? {
            b'!' => {
                let rest = b.get(p + 2..)?;
                k = if rest.starts_with(b"--") {
                    comment_end(b, p + 2)?
                } else if rest.starts_with(b"[CDATA[") {
                    p + memmem::find(rest, b"]]>")? + 5
                } else {
                    gt_end(b, p + 2)?
                };
            }
            b'?' => k = gt_end(b, p + 2)?,
            b'/' => {
                if !b.get(p + 2)?.is_ascii_alphabetic() {
                    return None;
                }
                let ne = name_end(b, p + 2);
                let name = b.get(p + 2..ne)?;
                // Pop to the matching open element, as foreign content does.
                let at = open.iter().rposition(|o| o.eq_ignore_ascii_case(name))?;
                open.truncate(at);
                if open.is_empty() {
                    return Some(p);
                }
                integration = false;
                k = tag_end(b, ne, no_attrs)?.0;
            }
            c if c.is_ascii_alphabetic() => {
                let ne = name_end(b, p + 1);
                let name = b.get(p + 1..ne)?;
                if integration
                    || breaks_out_of_svg(name)
                    || name.eq_ignore_ascii_case(b"foreignObject")
                {
                    return None;
                }
                let (gt, self_closing) = tag_end(b, ne, no_attrs)?;
                if !self_closing {
                    if open.len() >= MAX_SVG_DEPTH {
                        return None;
                    }
                    integration =
                        name.eq_ignore_ascii_case(b"title") || name.eq_ignore_ascii_case(b"desc");
                    open.push(name);
                }
                k = gt;
            }
            _ => k = p + 1,
        }
    }
}

/// True when `hay` contains `needle`, ASCII case-insensitively.
fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    // Only where the first byte matches (found by memchr) is the rest compared.
    let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let mut k = 0;
    while let Some(off) = hay.get(k..).and_then(|rest| memchr2(lo, up, rest)) {
        let at = k + off;
        if hay
            .get(at..at + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
        {
            return true;
        }
        k = at + 1;
    }
    false
}

/// Lower-case copy of a short tag name in `buf`; `None` when it does not fit.
fn lower<'b, const N: usize>(name: &[u8], buf: &'b mut [u8; N]) -> Option<&'b [u8]> {
    let dst = buf.get_mut(..name.len())?;
    for (d, s) in dst.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    Some(dst)
}

/// Index of a formatting element's name (see [`Class::Formatting`]).
fn formatting_id(name: &[u8]) -> Option<u8> {
    const NAMES: [&[u8]; 14] = [
        b"a", b"b", b"big", b"code", b"em", b"font", b"i", b"nobr", b"s", b"small", b"strike",
        b"strong", b"tt", b"u",
    ];
    let mut buf = [0u8; 10];
    let lower = lower(name, &mut buf)?;
    NAMES
        .iter()
        .position(|n| *n == lower)
        .and_then(|i| u8::try_from(i).ok())
}

/// How a tag inside a [`plain_subtree_end`] scan affects the stack model.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nested {
    /// Void: never open.
    Void,
    /// Closed by the parser when an ancestor's end tag arrives.
    OptionalEnd,
    /// Changes the tree builder's state beyond the subtree (forms, tables,
    /// document-level tags, foreign content): the scan gives up.
    Unsafe,
    /// Anything else: open until its own end tag.
    Plain,
}

/// How `name` nests, for [`plain_subtree_end`].
fn nested_kind(name: &[u8]) -> Nested {
    let mut buf = [0u8; 10];
    let Some(lower) = lower(name, &mut buf) else {
        return Nested::Plain;
    };
    match lower {
        b"area" | b"base" | b"basefont" | b"bgsound" | b"br" | b"col" | b"embed" | b"hr"
        | b"img" | b"image" | b"input" | b"keygen" | b"link" | b"meta" | b"param" | b"source"
        | b"track" | b"wbr" => Nested::Void,
        b"li" | b"p" | b"dt" | b"dd" | b"option" | b"optgroup" | b"rb" | b"rp" | b"rt" | b"rtc" => {
            Nested::OptionalEnd
        }
        b"form" | b"table" | b"caption" | b"colgroup" | b"tbody" | b"thead" | b"tfoot" | b"tr"
        | b"td" | b"th" | b"html" | b"head" | b"body" | b"frameset" | b"frame" | b"math"
        | b"plaintext" => Nested::Unsafe,
        _ => Nested::Plain,
    }
}

/// A subtree [`plain_subtree_end`] found safe to empty.
struct Subtree {
    /// Start of its end tag.
    end: usize,
    /// Words of text inside, as the cleaner counts them.
    words: usize,
    /// It holds a script that runs.
    scripted: bool,
    /// The formatting elements in it, one bit per [`formatting_id`].
    formatting: u16,
}

/// The content of a block element starting at `from` (its start tag named
/// `name`), if it is plainly nested: every element opened inside is closed
/// inside (elements with optional end tags aside), and nothing inside
/// changes the tree builder's state beyond it (forms, tables, foreign content
/// that breaks out, misnested or stray end tags). Then the parser ends the
/// element exactly there, and its content can go without moving anything
/// else. Content the metadata reads (`<title>`, `<h1>`, `<time>`, `<meta>`,
/// `<link>`, JSON-LD, a microdata date, author links) keeps it whole too.
/// `looked` is raised to where the scan got, so a caller need not scan that
/// part again after a `None`.
fn plain_subtree_end(html: &str, from: usize, name: &[u8], looked: &mut usize) -> Option<Subtree> {
    let b = html.as_bytes();
    let mut open: Vec<&[u8]> = Vec::new();
    let mut words = 0;
    let mut scripted = false;
    let mut formatting = 0u16;
    let mut k = from;
    loop {
        *looked = (*looked).max(k);
        let p = k + memchr(b'<', b.get(k..)?)?;
        // Cuts are at ASCII `<` and `>`, so `k..p` is on char boundaries.
        words += html.get(k..p).map_or(0, super::tokens);
        match *b.get(p + 1)? {
            b'!' if b.get(p + 2..)?.starts_with(b"--") => k = comment_end(b, p + 2)?,
            b'!' | b'?' => k = gt_end(b, p + 2)?,
            b'/' if b.get(p + 2)?.is_ascii_alphabetic() => {
                let ne = name_end(b, p + 2);
                let end = b.get(p + 2..ne)?;
                loop {
                    match open.last() {
                        None if end.eq_ignore_ascii_case(name) => {
                            return Some(Subtree {
                                end: p,
                                words,
                                scripted,
                                formatting,
                            });
                        }
                        None => return None,
                        Some(top) if top.eq_ignore_ascii_case(end) => {
                            open.pop();
                            break;
                        }
                        Some(top) if nested_kind(top) == Nested::OptionalEnd => {
                            open.pop();
                        }
                        Some(_) => return None,
                    }
                }
                k = tag_end(b, ne, no_attrs)?.0;
            }
            b'/' => k = gt_end(b, p + 2)?,
            c if c.is_ascii_alphabetic() => {
                let ne = name_end(b, p + 1);
                let inner = b.get(p + 1..ne)?;
                let (gt, self_closing) = tag_end(b, ne, no_attrs)?;
                let tag = b.get(p..gt)?;
                let has = |w: &[u8]| contains_ignore_case(tag, w);
                if has(b"datepublished") || has(b"author") || reads_metadata(inner) {
                    return None;
                }
                k = gt;
                match classify(inner) {
                    Class::Script if has(b"ld+json") => return None,
                    Class::Script => {
                        scripted |= script_runs(tag);
                        k = end_tag_end(b, script_end(b, gt));
                    }
                    Class::RawDropped | Class::RawKept => k = end_tag_end(b, raw_end(b, gt, inner)),
                    Class::Svg if !self_closing => k = end_tag_end(b, svg_end(b, gt)?),
                    Class::Svg => {}
                    Class::Template => k = end_tag_end(b, template_end(b, gt)?),
                    _ => match nested_kind(inner) {
                        Nested::Void => {}
                        Nested::Unsafe => return None,
                        Nested::OptionalEnd | Nested::Plain => {
                            if open.len() >= MAX_SVG_DEPTH {
                                return None;
                            }
                            if let Some(id) = formatting_id(inner) {
                                formatting |= 1 << id;
                            }
                            open.push(inner);
                        }
                    },
                }
                // Raw text running to the end of the page: the element never closes.
                if k >= b.len() {
                    return None;
                }
            }
            _ => k = p + 1,
        }
    }
}

/// Elements `metadata::extract` reads wherever they are.
fn reads_metadata(name: &[u8]) -> bool {
    let mut buf = [0u8; 10];
    lower(name, &mut buf)
        .is_some_and(|t| matches!(t, b"title" | b"h1" | b"time" | b"meta" | b"link"))
}

/// Start of the `</template` closing a `<template>` whose content starts at
/// `from`, counting nested templates and skipping raw text and comments;
/// `None` (keep it all) when the page ends first, SVG/MathML inside makes
/// the raw-text rules uncertain, or a formatting element is left open in it.
fn template_end(b: &[u8], from: usize) -> Option<usize> {
    let mut depth = 1usize;
    // Formatting elements opened inside and not closed yet: one left open at
    // the end can outlive the template in the parser's list of active
    // formatting elements (a table cell inside leaves its marker behind) and
    // wrap the page after it.
    let mut formatting: Vec<u8> = Vec::new();
    let mut k = from;
    loop {
        let p = k + memchr(b'<', b.get(k..)?)?;
        match *b.get(p + 1)? {
            b'!' if b.get(p + 2..)?.starts_with(b"--") => k = comment_end(b, p + 2)?,
            b'!' | b'?' => k = gt_end(b, p + 2)?,
            b'/' if b.get(p + 2)?.is_ascii_alphabetic() => {
                let ne = name_end(b, p + 2);
                let name = b.get(p + 2..ne)?;
                if name.eq_ignore_ascii_case(b"template") {
                    depth -= 1;
                    if depth == 0 {
                        return formatting.is_empty().then_some(p);
                    }
                } else if let Some(id) = formatting_id(name)
                    && let Some(at) = formatting.iter().rposition(|&f| f == id)
                {
                    formatting.remove(at);
                }
                k = tag_end(b, ne, no_attrs)?.0;
            }
            c if c.is_ascii_alphabetic() => {
                let ne = name_end(b, p + 1);
                let name = b.get(p + 1..ne)?;
                let (gt, self_closing) = tag_end(b, ne, no_attrs)?;
                if let Some(id) = formatting_id(name) {
                    if formatting.len() >= MAX_FORMATTING {
                        return None;
                    }
                    formatting.push(id);
                }
                k = match classify(name) {
                    Class::Template => {
                        depth += 1;
                        gt
                    }
                    Class::Script => script_end(b, gt),
                    Class::RawDropped | Class::RawKept => raw_end(b, gt, name),
                    Class::Plaintext => return None,
                    // In foreign content `<style>` and the like are not raw
                    // text, and an HTML end tag there can close the template.
                    Class::Svg if !self_closing => return None,
                    _ if name.eq_ignore_ascii_case(b"math") && !self_closing => return None,
                    _ => gt,
                };
            }
            _ => k = p + 1,
        }
    }
}

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
    /// The attributes [`is_dropped_attr`] lists.
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

/// Cuts the element `b[from..to]`. Right after text a `<!---->` stays in its
/// place, so that text cannot run on into text after it: they stay separate
/// text nodes as on the page (the cleaner counts words per node, and the tag
/// that follows may be one the parser ignores). Returns whether a text node
/// is still open.
fn cut_element(out: &mut Out<'_>, from: usize, to: usize, text_before: bool) -> bool {
    out.replace(from, to, if text_before { "<!---->" } else { "" });
    false
}

/// True for start tags the tree builder may ignore in the body (stray table
/// parts, document-level tags, a nested form), which then separate nothing.
fn may_be_ignored(name: &[u8]) -> bool {
    let mut buf = [0u8; 10];
    lower(name, &mut buf).is_none_or(|t| {
        matches!(
            t,
            b"caption"
                | b"col"
                | b"colgroup"
                | b"frame"
                | b"frameset"
                | b"head"
                | b"html"
                | b"body"
                | b"tbody"
                | b"td"
                | b"tfoot"
                | b"th"
                | b"thead"
                | b"tr"
                | b"form"
                | b"option"
                | b"optgroup"
                | b"select"
                | b"input"
                | b"textarea"
                | b"keygen"
        )
    })
}

/// Shortens the whitespace at both ends of the text `b[from..to]` (the
/// indentation around tags) to its first character; the text between stays.
fn shorten_edge_whitespace(b: &[u8], from: usize, to: usize, out: &mut Out<'_>) {
    let Some(text) = b.get(from..to) else {
        return;
    };
    let lead = text.iter().take_while(|&&c| is_ws(c)).count();
    if lead >= 2 {
        out.replace(from + 1, from + lead, "");
    }
    if lead == text.len() {
        return;
    }
    let trail = text.iter().rev().take_while(|&&c| is_ws(c)).count();
    if trail >= 2 {
        out.replace(to - trail + 1, to, "");
    }
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
    let b = html.as_bytes();
    let n = b.len();
    let limit = |formatting: bool| if formatting { MAX_FORMATTING } else { max };
    let mut out = Out {
        src: html,
        buf: None,
        done: 0,
    };
    // depth[0]: containers, depth[1]: formatting elements.
    let mut depth = [0usize; 2];
    // After SVG or MathML the pass cannot skip, which elements are raw text
    // and which tags break out of foreign content depends on tree-builder
    // state it does not model: from there on it cuts nothing (but over-deep
    // tags), so the parser sees the rest of the page as it is.
    // (A failed SVG or template skip is such a place, so no part of the page
    // is scanned twice.)
    let mut slim = slim;
    let never_content = slim.never_content;
    // Open `<pre>`/`<listing>` elements: their whitespace is kept.
    let mut pre_depth = 0usize;
    // Open `<figure>`/`<picture>` elements: an image in one may be the
    // article's (`clean::images`), so it stays; every other `<img>` goes.
    let mut framed = 0usize;
    // Inside a `<select>`, `<input>` would close it: there it stays.
    let mut in_select = false;
    // Inside a `<button>`, another one closes it (and all opened since).
    let mut in_button = false;
    // Formatting elements that may still be in the parser's list of active
    // formatting elements, by [`formatting_id`]: an end tag takes out the
    // last of its name, a stray one nothing. `None` once there were too many
    // to follow. A `<nav>` holding one of these names may close one.
    let mut open_formatting: Option<Vec<u8>> = Some(Vec::new());
    // A block or end tag came while a formatting element was open, and no
    // text since: the parser may have closed that element but keep it
    // pending in its list, to open it again at the next text or inline tag
    // (whitespace, `<img>`, `<svg>` included). Those then stay, so it
    // reopens where it would on the page.
    let mut pending_formatting = false;
    // The last tag kept surely starts a block (a block start tag the parser
    // never ignores, or `</p>`): whitespace-only text after it is never
    // rendered, and nothing after the parse reads it. (A block end tag may
    // be a stray one the parser ignores, and then the whitespace after it
    // may be all that parts two words of one line.)
    let mut after_block = false;
    // The last thing kept was text: an element cut between it and more text
    // leaves a `<!---->`, so the two stay separate text nodes as on the page.
    let mut text_open = false;
    let mut scripted = false;
    // A `<nav>` before this point sits inside one whose skip already failed.
    let mut nav_looked = 0usize;
    let mut i = 0;
    while let Some(off) = b.get(i..).and_then(|r| memchr(b'<', r)) {
        let lt = i + off;
        let text = b.get(i..lt).unwrap_or_default();
        let blank = text.iter().all(|&c| is_ws(c));
        if !blank {
            // Whitespace running on into the next text changes no word.
            text_open = true;
            after_block = false;
            // Text reopens any pending formatting element, here on the page
            // as in the slimmed copy.
            pending_formatting = false;
        }
        if slim.whitespace && pre_depth == 0 && off >= 1 {
            if !blank {
                if off >= 2 {
                    shorten_edge_whitespace(b, i, lt, &mut out);
                }
            } else if !pending_formatting
                && (after_block || depth[0] < max && opens_block_element(b, lt))
            {
                out.replace(i, lt, "");
            } else if off >= 2 {
                shorten_edge_whitespace(b, i, lt, &mut out);
            }
        }
        let Some(&c) = b.get(lt + 1) else { break };
        match c {
            b'!' => {
                if b.get(lt + 2..).is_some_and(|r| r.starts_with(b"--")) {
                    // An unterminated comment runs to the end, as in a browser.
                    let end = comment_end(b, lt + 2).unwrap_or(n);
                    if slim.never_content && end - lt > 7 {
                        out.replace(lt, end, "<!---->");
                    }
                    // A comment node ends the text node (end tags may not: the
                    // parser ignores stray ones, nor may doctypes).
                    text_open = false;
                    i = end;
                } else {
                    // Doctype, CDATA outside SVG, bogus comment: up to the first `>`.
                    i = gt_end(b, lt + 2).unwrap_or(n);
                }
            }
            b'?' => i = gt_end(b, lt + 2).unwrap_or(n),
            b'/' => match b.get(lt + 2) {
                Some(c) if c.is_ascii_alphabetic() => {
                    let ne = name_end(b, lt + 2);
                    let Some((gt, _)) = tag_end(b, ne, no_attrs) else {
                        break;
                    };
                    let name = b.get(lt + 2..ne).unwrap_or_default();
                    let class = classify(name);
                    if class == Class::Pre {
                        pre_depth = pre_depth.saturating_sub(1);
                    }
                    if is_frame(name) {
                        framed = framed.saturating_sub(1);
                    }
                    if matches!(class, Class::Counted | Class::Formatting) {
                        let d = &mut depth[usize::from(class == Class::Formatting)];
                        *d = d.saturating_sub(1);
                    }
                    if name.eq_ignore_ascii_case(b"select") {
                        in_select = false;
                    } else if name.eq_ignore_ascii_case(b"button") {
                        in_button = false;
                    }
                    let list = open_formatting.as_mut();
                    if let (Some(list), Some(id)) = (list, formatting_id(name))
                        && let Some(at) = list.iter().rposition(|&f| f == id)
                    {
                        list.remove(at);
                    }
                    let none_open = open_formatting.as_ref().is_some_and(Vec::is_empty);
                    pending_formatting =
                        !none_open && (pending_formatting || formatting_id(name).is_none());
                    // `</p>` and `</br>` always make (or close) an element; other
                    // end tags may be stray ones the parser ignores.
                    let p = name.eq_ignore_ascii_case(b"p");
                    if p || name.eq_ignore_ascii_case(b"br") {
                        text_open = false;
                    }
                    after_block = p;
                    i = gt;
                }
                Some(b'>') => i = lt + 3,
                Some(_) => i = gt_end(b, lt + 2).unwrap_or(n),
                None => break,
            },
            c if c.is_ascii_alphabetic() => {
                let ne = name_end(b, lt + 1);
                let name = b.get(lt + 1..ne).unwrap_or_default();
                // `<frameset>` replaces the body unless something before it
                // (an image, an input, text in a menu) set the parser's
                // frameset-ok flag, which the cut parts may have done: the
                // page is passed again with nothing but over-deep tags cut.
                if never_content && out.buf.is_some() && name.eq_ignore_ascii_case(b"frameset") {
                    return prepare_page(html, max, Slim::NONE);
                }
                let class = classify(name);
                let formatting = class == Class::Formatting;
                let counted = formatting || class == Class::Counted;
                let too_deep = counted && depth[usize::from(formatting)] >= limit(formatting);
                // An image keeps only what `clean::images` reads of it.
                let img = name.eq_ignore_ascii_case(b"img");
                // Void never-content tags go whole (`<link>` and `<meta>` unless
                // metadata reads them); so may the raw-text, SVG and template ones.
                let void = if slim.never_content {
                    void_never_content(name).filter(|v| {
                        // `<link>` and `<meta>` go to the head, reopening nothing.
                        (*v != Void::Input || !in_select)
                            && (!pending_formatting || matches!(v, Void::Link | Void::Meta))
                            && !(img && framed > 0)
                    })
                } else {
                    None
                };
                let whole = void.is_some()
                    || slim.never_content
                        && matches!(
                            class,
                            Class::Script | Class::RawDropped | Class::Svg | Class::Template
                        );
                // A tag that may go whole keeps its attributes until then (no cut inside it).
                let cut_attrs = slim.attrs && !too_deep && !whole;
                let on_attr = |span: usize, start: usize, end_name: usize, end: usize| {
                    let drop = |n: &[u8]| {
                        if img {
                            !is_image_attr(n)
                        } else {
                            is_dropped_attr(n)
                        }
                    };
                    if cut_attrs && b.get(start..end_name).is_some_and(drop) {
                        out.replace(span, end, "");
                    }
                };
                // The page ends inside the tag: the parser drops it; keep the rest as is.
                let Some((gt, self_closing)) = tag_end(b, ne, on_attr) else {
                    break;
                };
                i = gt;
                if !self_closing && is_frame(name) {
                    framed = framed.saturating_add(1);
                }
                if let Some(kind) = void {
                    let tag = b.get(lt..gt).unwrap_or_default();
                    if !kind.is_read(tag) {
                        text_open = cut_element(&mut out, lt, gt, text_open);
                        continue;
                    }
                }
                let kept_before = after_block;
                after_block = is_block_boundary(name) && !may_be_ignored(name);
                // A block start may close a `<p>` and the formatting inside it.
                let none_open = open_formatting.as_ref().is_some_and(Vec::is_empty);
                pending_formatting |= !none_open && is_block_boundary(name);
                // Set when the element goes whole, up to here.
                let mut cut_to = None;
                match class {
                    Class::Counted | Class::Formatting => {
                        if too_deep {
                            out.replace(lt, gt, "");
                            after_block = kept_before;
                        } else {
                            depth[usize::from(formatting)] += 1;
                            if let (true, Some(list)) = (formatting, open_formatting.as_mut()) {
                                match formatting_id(name) {
                                    Some(id) if list.len() < MAX_FORMATTING => list.push(id),
                                    _ => open_formatting = None,
                                }
                            }
                        }
                        // A `<nav>` is never content: it stays, empty, when its end
                        // is plain. Not when the menu holds a formatting element
                        // like one still open (an `<a>` in it would close an open
                        // `<a>`), nor inside a `<select>` or `<button>`, which an
                        // `<input>`, `<select>` or `<button>` in it would close,
                        // and the `<nav>` with it.
                        let nav = name.eq_ignore_ascii_case(b"nav");
                        let nav = nav && gt >= nav_looked && !in_select && !in_button;
                        if nav && slim.never_content && !too_deep && open_formatting.is_some() {
                            let plain = plain_subtree_end(html, gt, name, &mut nav_looked);
                            // Only an element of the same name in the menu can
                            // close an open formatting element (an `<a>` closes
                            // an `<a>`; a fourth like one evicts the first).
                            let clashes = |nav: &Subtree| {
                                open_formatting.as_ref().is_none_or(|list| {
                                    list.iter().any(|&f| nav.formatting & 1 << f != 0)
                                })
                            };
                            if let Some(nav) = plain.filter(|nav| !clashes(nav)) {
                                // The words stay on the element: whether they are
                                // visible depends on its ancestors.
                                let mark = format!(" {NAV_WORDS_ATTR}={}>", nav.words);
                                out.replace(gt - 1, nav.end, &mark);
                                scripted |= nav.scripted;
                                i = nav.end;
                            }
                        }
                    }
                    Class::Script => {
                        let end = script_end(b, gt);
                        let tag = b.get(lt..gt).unwrap_or_default();
                        let json_ld = contains_ignore_case(tag, b"ld+json");
                        i = end;
                        if slim.never_content && !json_ld {
                            scripted |= script_runs(tag);
                            cut_to = Some(end_tag_end(b, end));
                        }
                    }
                    Class::RawDropped => {
                        let end = raw_end(b, gt, name);
                        i = end;
                        // In a select the tag stays, emptied: under the older
                        // select parsing rules a `<textarea>` closes the select.
                        if slim.never_content && in_select {
                            out.replace(gt, end, "");
                        } else if slim.never_content {
                            cut_to = Some(end_tag_end(b, end));
                        }
                    }
                    Class::RawKept => i = raw_end(b, gt, name),
                    Class::Svg if slim.never_content && !self_closing => match svg_end(b, gt) {
                        // The tags stay while a formatting element may be pending.
                        Some(end) if pending_formatting => {
                            out.replace(gt, end, "");
                            i = end;
                        }
                        Some(end) => cut_to = Some(end_tag_end(b, end)),
                        None => {
                            slim = Slim::NONE;
                        }
                    },
                    Class::Svg if slim.never_content && self_closing && !pending_formatting => {
                        cut_to = Some(gt);
                    }
                    Class::Template if slim.never_content => match template_end(b, gt) {
                        Some(end) => cut_to = Some(end_tag_end(b, end)),
                        // Unterminated, or holding foreign content: where it
                        // ends, and what is inert, is not clear.
                        None => {
                            slim = Slim::NONE;
                        }
                    },
                    // Everything after `<plaintext>` is text: no more tags to see.
                    Class::Plaintext => break,
                    // `<pre/>` opens one too: HTML ignores the slash here.
                    Class::Pre => pre_depth += 1,
                    _ => {
                        if name.eq_ignore_ascii_case(b"select") {
                            in_select = true;
                        } else if name.eq_ignore_ascii_case(b"button") {
                            in_button = true;
                        } else if name.eq_ignore_ascii_case(b"math") && !self_closing {
                            slim = Slim::NONE;
                        }
                    }
                }
                if let Some(stop) = cut_to {
                    i = stop;
                    after_block = kept_before;
                    text_open = cut_element(&mut out, lt, stop, text_open);
                } else if !too_deep && !may_be_ignored(name) {
                    // A start tag that makes an element ends the text node.
                    text_open = false;
                }
            }
            _ => {
                // A `<` that opens nothing is text.
                text_open = true;
                i = lt + 1;
            }
        }
    }
    Prepared {
        html: out.finish(),
        scripted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full pass, as the cleaner runs it.
    fn prep(page: &str) -> String {
        prepare(page, MAX_DEPTH, NEVER_CONTENT).into_owned()
    }

    /// Only the never-content bytes go.
    const NEVER_CONTENT: Slim = Slim {
        never_content: true,
        attrs: false,
        whitespace: false,
    };

    /// Only over-deep tags go.
    const NOTHING: Slim = Slim::NONE;

    #[test]
    fn whitespace_next_to_tags_is_shortened_except_inside_pre() {
        let page = "<div>\n    <p>a  b</p>\n\n    <pre>\n  x\n    <b>y</b>\n</pre>\n   <p>\n    c\n  </p></div>";
        assert_eq!(
            prepare(page, MAX_DEPTH, Slim::ALL),
            "<div><p>a  b</p><pre>\n  x\n    <b>y</b>\n</pre><p>\nc\n</p></div>"
        );
        // Whitespace-only text next to a block boundary goes; between inline
        // elements it separates words and stays. After text and before an end
        // tag it stays too: were that tag a stray one the parser ignores, the
        // whitespace would be all that parts two words in one text node.
        assert_eq!(
            prepare(
                "<ul>\n  <li><b>a</b>\n <i>b</i></li>\n</ul>",
                MAX_DEPTH,
                Slim::ALL
            ),
            "<ul><li><b>a</b>\n<i>b</i></li>\n</ul>"
        );
        assert_eq!(
            prepare(
                "<p>When <!-- -->Mr<!-- --> <!-- -->Trump</p>",
                MAX_DEPTH,
                Slim::ALL
            ),
            "<p>When <!---->Mr<!----> <!---->Trump</p>"
        );
        // Dropped elements are transparent: the block boundary still counts.
        assert_eq!(
            prepare(
                "<div>\n<img src=a>\n<span>x</span></div>",
                MAX_DEPTH,
                Slim::ALL
            ),
            "<div><span>x</span></div>"
        );
        // `<pre/>` still opens a pre element in HTML; an unclosed one keeps the rest.
        let page = "<pre/>\n   <b>x</b>";
        assert_eq!(prepare(page, MAX_DEPTH, Slim::ALL), page);
        let off = Slim {
            whitespace: false,
            ..Slim::ALL
        };
        assert!(matches!(
            prepare("<p>a</p>\n   <p>b</p>", MAX_DEPTH, off),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn pages_without_never_content_pass_through() {
        let page = "<!doctype html><div><p>a < b</p><title>x</title></div>";
        assert!(matches!(prepare(page, 2, Slim::ALL), Cow::Borrowed(_)));
        let page = "<div><p>a</p><script>'<div><div>'</script></div>";
        assert!(matches!(prepare(page, 2, NOTHING), Cow::Borrowed(_)));
    }

    #[test]
    fn open_formatting_elements_are_capped() {
        let page = "<b>".repeat(MAX_FORMATTING + 5);
        let out = prepare(&page, MAX_DEPTH, Slim::ALL);
        assert_eq!(out, "<b>".repeat(MAX_FORMATTING));
    }

    #[test]
    fn deep_pages_are_flattened() {
        let page = format!("{}text", "<div class=x>".repeat(10));
        let out = prepare(&page, 3, Slim::ALL);
        assert_eq!(out, format!("{}text", "<div class=x>".repeat(3)));
    }

    #[test]
    fn tags_inside_scripts_do_not_count_as_nesting() {
        let page = "<div><script>'<div><div><div>'</script></div>";
        assert_eq!(prepare(page, 1, NOTHING), page);
    }

    #[test]
    fn scripts_and_styles_go_whole_and_comments_are_emptied() {
        assert_eq!(
            prep("<p>a</p><script src=x.js>var a = 1 < 2;</script><p>b</p>"),
            "<p>a</p><p>b</p>"
        );
        assert_eq!(
            prep("<style media=print>p > a { color: red }</style>x"),
            "x"
        );
        // Comments stay as nodes: they keep the text around them apart.
        assert_eq!(prep("a<!-- note <p>hidden</p> -->b"), "a<!---->b");
        assert_eq!(
            prep("<noscript><img src=x></noscript><textarea>t</textarea>y"),
            "y"
        );
        // In a select, `<textarea>` and `<input>` close it: their tags stay.
        assert_eq!(
            prep("<select><option>o<textarea>t</textarea><input>x</select>"),
            "<select><option>o<textarea></textarea><input>x</select>"
        );
    }

    #[test]
    fn only_metas_the_metadata_reads_stay() {
        // Every key `metadata::extract` looks up, as name, property or itemprop.
        for key in [
            "og:title",
            "twitter:title",
            "og:description",
            "description",
            "twitter:description",
            "author",
            "article:author",
            "parsely-author",
            "sailthru.author",
            "dc.creator",
            "article:published_time",
            "og:published_time",
            "datePublished",
            "pubdate",
            "publishdate",
            "publish-date",
            "parsely-pub-date",
            "sailthru.date",
            "dc.date.issued",
            "dc.date",
            "dcterms.created",
            "date",
            "og:locale",
            "language",
            "og:url",
        ] {
            let page = format!("<meta name=\"{key}\" content=\"x\">");
            assert_eq!(prep(&page), page);
        }
        let page = "<meta http-equiv=Content-Language content=de><meta itemprop=name content=x>";
        assert_eq!(prep(page), page);
        let page =
            "<meta charset=utf-8><meta name=viewport content=x><META property=fb:app_id content=1>";
        assert_eq!(prep(page), "");
        // Inside SVG the pass could not skip, `<meta>` and `<img>` break out: they stay.
        let page = "<svg><p>x</p><meta name=viewport><img src=a></svg>";
        assert_eq!(prep(page), page);
    }

    #[test]
    fn dropped_scripts_are_reported_only_when_they_run() {
        let ran = |page: &str| prepare_page(page, MAX_DEPTH, NEVER_CONTENT).scripted;
        assert!(ran("<script src=app.js></script>"));
        assert!(ran("<script type='text/javascript'>x()</script>"));
        assert!(ran("<script type=module>x()</script>"));
        assert!(ran("<script type=\"\">x()</script>"));
        assert!(!ran("<script type=\"text/template\"><p>x</p></script>"));
        assert!(!ran("<script type=application/json>{}</script>"));
        assert!(!ran("<p>no scripts</p>"));
    }

    #[test]
    fn plain_navigation_is_emptied_and_notes_its_words() {
        let page = "<nav class=menu><ul><li><a href=/>Home</a><li><a href=/w>World news</a></ul>\
                    <svg><path d=x /></svg><script>'</nav>'</script></nav><p>x</p>";
        let out = prepare_page(page, MAX_DEPTH, NEVER_CONTENT);
        assert_eq!(out.html, "<nav class=menu thresher-words=3></nav><p>x</p>");
        // Its script runs: the page says so though the script is gone.
        assert!(out.scripted);
        let page = "<nav><script type=text/template><a>x</a></script></nav>";
        let out = prepare_page(page, MAX_DEPTH, NEVER_CONTENT);
        assert_eq!(out.html, "<nav thresher-words=0></nav>");
        assert!(!out.scripted);
        // Anything that could end it elsewhere or move content keeps it whole.
        for (kept, text) in [
            ("<nav><div>unclosed</nav><p>x</p>", "unclosed"),
            ("<nav><form><input></form>search</nav>", "search"),
            ("<nav><table><tr><td>a</td></tr></table></nav>", "<td>a"),
            ("<nav></div>stray</nav>", "stray"),
            ("<nav><b>x</i></nav>", "<b>x"),
            ("<nav>never closed", "never closed"),
            // What the metadata reads stays where it is.
            ("<nav><h1>Site</h1></nav>", "<h1>Site"),
            ("<nav><title>T</title></nav>", "<title>T"),
            ("<nav><a rel=author href=/a>Ann</a></nav>", "Ann"),
            ("<nav><span itemprop=datePublished>N</span></nav>", "N"),
        ] {
            let out = prep(kept);
            assert!(out.contains(text), "{kept} -> {out}");
            assert!(!out.contains(NAV_WORDS_ATTR), "{kept} -> {out}");
        }
        // Inside an open formatting element, an `<a>` in the menu would close it.
        let page = "<a href=/x><nav><a href=/>Home</a></nav>";
        assert_eq!(prep(page), page);
    }

    #[test]
    fn tag_names_are_case_insensitive() {
        assert_eq!(prep("<SCRIPT>alert('<p>')</ScRiPt >after"), "after");
        assert_eq!(prep("<Svg><G/></SVG>x"), "x");
    }

    #[test]
    fn script_ends_only_at_a_real_end_tag() {
        // A split end tag in a string is not an end tag.
        assert_eq!(
            prep("<script>var s = '</scr' + 'ipt>'; t = '</scripts>';</script><p>x</p>"),
            "<p>x</p>"
        );
        // `</script` needs a delimiter after the name.
        assert_eq!(prep("<script>a='</scriptx>'</script/>b"), "b");
    }

    #[test]
    fn script_escapes_follow_the_tokenizer() {
        // Inside `<!-- <script>`, the first `</script>` does not end the script.
        let page = "<script><!-- document.write('<script>x</script>'); --></script><p>after</p>";
        assert_eq!(prep(page), "<p>after</p>");
        // `-->` leaves the escape, so a later `<script>` does not nest.
        let page = "<script><!-- a --> '<script>' </script><p>after</p>";
        assert_eq!(prep(page), "<p>after</p>");
        // `<!-->` opens and closes the escape at once.
        let page = "<script><!--> '<script>' </script><p>after</p>";
        assert_eq!(prep(page), "<p>after</p>");
    }

    #[test]
    fn unread_links_are_dropped() {
        let page = "<head><link rel=stylesheet href=a.css><LINK REL=Canonical href=/x>\
                    <link itemprop=url href=/y></head><p>t<link rel=icon>";
        assert_eq!(
            prep(page),
            "<head><LINK REL=Canonical href=/x><link itemprop=url href=/y></head><p>t<!---->"
        );
    }

    #[test]
    fn json_ld_is_kept() {
        let page =
            r#"<script type="application/LD+JSON">{"headline":"</b>"}</script><script>x</script>"#;
        assert_eq!(
            prep(page),
            r#"<script type="application/LD+JSON">{"headline":"</b>"}</script>"#
        );
    }

    #[test]
    fn nested_svg_is_dropped_whole() {
        let page = "<p>a</p><svg viewBox='0 0 1 1'><svg><g><path d='M0 0'/></g></svg><title>Logo</title><style>.a{fill:red}</style></svg><p>b</p>";
        assert_eq!(prep(page), "<p>a</p><p>b</p>");
        // Self-closing svg has no content.
        assert_eq!(prep("<svg/><p>text</p>"), "<p>text</p>");
        // CDATA and comments inside svg do not end it early.
        let page = "<svg><![CDATA[ </svg> ]]><!-- </svg> --></svg>x";
        assert_eq!(prep(page), "x");
    }

    #[test]
    fn svg_with_html_inside_is_kept() {
        // <p> breaks out of svg content: its text is on the page.
        let page = "<svg><g><p>Visible text</p></g></svg>";
        assert_eq!(prep(page), page);
        let page = "<svg><foreignObject><div>text</div></foreignObject></svg>";
        assert_eq!(prep(page), page);
        // Unterminated svg: kept, and later svgs are not rescanned.
        let page = "<svg><g>".repeat(3);
        assert_eq!(prep(&page), page);
    }

    #[test]
    fn templates_nest() {
        let page = "<template><template><p>x</p></template><script>'</template>'</script></template><p>y</p>";
        assert_eq!(prep(page), "<p>y</p>");
        let page = "<template><p>never closed";
        assert_eq!(prep(page), page);
        // In SVG `<style>` is no raw text: the first `</template>` ends it. The
        // end is unclear to the pass, so from there it cuts nothing.
        let page = "<template><svg><style></template></style><title>T</title></template>";
        assert_eq!(prep(page), page);
    }

    #[test]
    fn comments_end_as_in_the_spec() {
        assert_eq!(prep("<!--><script>x</script>"), "<!-->");
        assert_eq!(prep("<!---><p>a</p>"), "<!---><p>a</p>");
        assert_eq!(prep("<!-- a --!><p>b</p>"), "<!----><p>b</p>");
        // A comment containing a script hides it.
        assert_eq!(
            prep("<!-- <script>x</script> --><p>c</p>"),
            "<!----><p>c</p>"
        );
        // Unterminated: the rest is a comment, in a browser too.
        assert_eq!(prep("<p>a</p><!-- <p>b</p>"), "<p>a</p><!---->");
    }

    #[test]
    fn quoted_gt_in_attributes_does_not_end_the_tag() {
        let page = r#"<div title="a > b" data-x='<script>'><script>y</script>z</div>"#;
        assert_eq!(
            prep(page),
            r#"<div title="a > b" data-x='<script>'>z</div>"#
        );
        // Quotes in a name are just name characters.
        assert_eq!(prep(r#"<a b"c>d</a>"#), r#"<a b"c>d</a>"#);
        // Unquoted values end at whitespace or `>`.
        assert_eq!(prep("<a href=x/><script>z</script>"), "<a href=x/>");
    }

    #[test]
    fn text_that_looks_like_markup_is_text() {
        let page = "<p>a < b and c<d, 1 <= 2, </ 3, <?php ?> <!doctype x> <![CDATA[ y ]]></p>";
        assert_eq!(prep(page), page);
    }

    #[test]
    fn unterminated_constructs_are_safe() {
        assert_eq!(prep("<p>a</p><script>var x"), "<p>a</p>");
        assert_eq!(prep("<p>a</p><div title=\"x"), "<p>a</p><div title=\"x");
        assert_eq!(prep("<p>a</p><style>p{}</sty"), "<p>a</p>");
        assert_eq!(prep("<"), "<");
        assert_eq!(prep("</"), "</");
        assert_eq!(
            prep("<plaintext><script>x</script>"),
            "<plaintext><script>x</script>"
        );
    }

    #[test]
    fn unread_attributes_are_dropped() {
        let all = |p: &str| prepare(p, MAX_DEPTH, Slim::ALL).into_owned();
        assert_eq!(
            all(
                r#"<img src="a.jpg" srcset='a 1x, b 2x' alt=x class=pic><p data-x="1>2" id=a>t</p>"#
            ),
            "<p id=a>t</p>"
        );
        assert_eq!(
            all(r#"<div ARIA-label="m" aria-hidden="true" onClick="f()" style="display:none">"#),
            r#"<div aria-hidden="true" style="display:none">"#
        );
        // Name-only attributes, `=` with spaces, self-closing and odd slashes.
        assert_eq!(
            all("<button hidden async type=text value = 'v' /><a/title=t href=h>"),
            "<button hidden type=text /><a href=h>"
        );
        assert_eq!(all("<br data-x/>"), "<br/>");
        assert_eq!(all("<a data-x=1/>"), "<a>");
        // Attributes of a tag dropped for depth are not cut separately.
        assert_eq!(
            prepare("<div data-x=1><div data-y=2 class=c>x", 1, Slim::ALL),
            "<div>x"
        );
        // Rules may select on anything: nothing dropped then.
        let page = "<p data-x=1>t</p>";
        assert_eq!(prepare(page, MAX_DEPTH, NEVER_CONTENT), page);
    }

    #[test]
    fn failed_skips_are_not_retried() {
        // Each of these would be quadratic if every opener rescanned to the end.
        let n = 50_000;
        for unit in [
            "<svg><g>",
            "<template>",
            "<svg><p>",
            "<script><!--<script>",
            "<!--",
        ] {
            let page = unit.repeat(n);
            let start = std::time::Instant::now();
            let _ = prepare(&page, MAX_DEPTH, Slim::ALL);
            assert!(start.elapsed().as_secs() < 5, "{unit}");
        }
    }

    #[test]
    fn output_stays_utf8_and_never_panics() {
        let pieces = [
            "<nav>",
            "</nav>",
            "<meta name=x>",
            "<select>",
            "<input>",
            "</p>",
            "<math>",
            "<",
            ">",
            "</",
            "<!--",
            "-->",
            "<script>",
            "</script>",
            "<svg>",
            "</svg>",
            "é",
            "日本",
            "\"",
            "'",
            "=",
            "<![CDATA[",
            "]]>",
            "<template>",
            "</template>",
            "<b>",
            "<div ",
            "/",
            "-",
            "!",
            "<style>",
            "\u{0}",
            " data-x",
            " src=",
            " class=",
            " é=",
            "<img",
            "<div>",
        ];
        let mut x: u32 = 12345;
        for _ in 0..2000 {
            let mut page = String::new();
            for _ in 0..30 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                page.push_str(pieces[x as usize % pieces.len()]);
            }
            for slim in [Slim::ALL, NEVER_CONTENT, NOTHING] {
                let out = prepare(&page, 4, slim);
                // A cut right after text leaves `<!---->` (7 bytes) for at least `<img>`.
                assert!(out.len() <= page.len() * 7 / 5, "{page:?} -> {out:?}");
            }
        }
    }
}
