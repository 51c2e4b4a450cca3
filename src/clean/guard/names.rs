//! What the input pass knows of tag and attribute names: which elements
//! nest, format, hold raw text or are never content, and which attributes
//! nothing after the parse reads.

use super::super::{dom, metadata};
use super::lex::{contains_ignore_case, is_ws, lower, name_end, tag_end};

/// What the pass cares about for a tag name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Class {
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
pub(super) fn classify(name: &[u8]) -> Class {
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

/// Void elements that are never content, dropped whole before parsing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Void {
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
    pub(super) fn is_read(self, tag: &[u8]) -> bool {
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
pub(super) fn script_runs(tag: &[u8]) -> bool {
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
pub(super) fn void_never_content(name: &[u8]) -> Option<Void> {
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
pub(super) fn is_block_boundary(name: &[u8]) -> bool {
    let mut buf = [0u8; 10];
    lower(name, &mut buf)
        .and_then(|t| std::str::from_utf8(t).ok())
        .is_some_and(|t| t == "head" || dom::is_block(t))
}

/// True when the markup at `lt` (a `<`) is a start tag of a block element
/// the tree builder always makes (so text after it is a new text node).
pub(super) fn opens_block_element(b: &[u8], lt: usize) -> bool {
    b.get(lt + 1).is_some_and(u8::is_ascii_alphabetic)
        && b.get(lt + 1..name_end(b, lt + 1))
            .is_some_and(|name| is_block_boundary(name) && !may_be_ignored(name))
}

/// True for `<figure>` and `<picture>`, whose images [`super::prepare`] keeps.
pub(super) fn is_frame(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"figure") || name.eq_ignore_ascii_case(b"picture")
}

/// The attributes of an `<img>` that `clean::images` reads: its sources
/// (lazy-loading ones too), `alt` and `width`. The rest go, as
/// [`is_dropped_attr`]'s do elsewhere.
pub(super) fn is_image_attr(name: &[u8]) -> bool {
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
pub(super) fn is_dropped_attr(name: &[u8]) -> bool {
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

/// True for HTML start tags that end `<svg>` content early ("breakout" tags
/// of the tree builder's foreign-content rules; `font` counted always).
pub(super) fn breaks_out_of_svg(name: &[u8]) -> bool {
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

/// Index of a formatting element's name (see [`Class::Formatting`]).
pub(super) fn formatting_id(name: &[u8]) -> Option<u8> {
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

/// How a tag inside a [`super::subtree::plain_subtree_end`] scan affects the stack model.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Nested {
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

/// How `name` nests, for [`super::subtree::plain_subtree_end`].
pub(super) fn nested_kind(name: &[u8]) -> Nested {
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

/// Elements `metadata::extract` reads wherever they are.
pub(super) fn reads_metadata(name: &[u8]) -> bool {
    let mut buf = [0u8; 10];
    lower(name, &mut buf)
        .is_some_and(|t| matches!(t, b"title" | b"h1" | b"time" | b"meta" | b"link"))
}

/// True for start tags the tree builder may ignore in the body (stray table
/// parts, document-level tags, a nested form), which then separate nothing.
pub(super) fn may_be_ignored(name: &[u8]) -> bool {
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
