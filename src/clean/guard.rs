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
//! - Drop bytes that can never be article text, so the parser does less work:
//!   the insides of `<script>` (except JSON-LD, which the metadata reads),
//!   `<style>`, `<noscript>`, `<textarea>` and `<iframe>`, of `<svg>` and
//!   `<template>` subtrees, the text of comments, and whole `<link>` tags other
//!   than rel=canonical or microdata ones (void, never read). The other elements
//!   stay (empty), and comments stay as `<!---->`, so the parsed tree has the
//!   same shape and the same text nodes as the full page; those subtrees are
//!   all never-content (`dom::is_never_content`), so nothing read as article
//!   text changes.
//!
//! The scanner follows the HTML tokenizer where it matters: quoted attribute
//! values may hold `>`, comments end per spec (`<!-->`, `--!>`), script data
//! honours the `<!--` escape states, and raw-text elements end only at their
//! own end tag. Whenever a subtree's end is unclear (an `<svg>` holding HTML
//! that would break out of it, an unterminated `<template>`), it is kept as is.
//! Every cut is at an ASCII `<` or just past an ASCII `>`, so the output is
//! valid UTF-8, and every search only moves forward (a failed subtree skip
//! turns that kind of skip off for the rest of the page), so time is linear.

use std::borrow::Cow;

use memchr::{memchr, memchr2, memmem};

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
    let mut buf = [0u8; 12];
    let Some(dst) = buf.get_mut(..name.len()) else {
        return Class::Other;
    };
    for (d, s) in dst.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    match &*dst {
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

/// Attributes nothing after the parse reads: media, behaviour, `data-*`,
/// ARIA labels (`aria-hidden` stays: it hides), tooltips. They are much of the
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
        return name.len() != 11 || lower != b"aria-hidden";
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
    let Some(dst) = buf.get_mut(..name.len()) else {
        return false;
    };
    for (d, s) in dst.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    matches!(
        &*dst,
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

/// Start of the `</template` closing a `<template>` whose content starts at
/// `from`, counting nested templates and skipping raw text and comments;
/// `None` (keep it all) when the page ends first.
fn template_end(b: &[u8], from: usize) -> Option<usize> {
    let mut depth = 1usize;
    let mut k = from;
    loop {
        let p = k + memchr(b'<', b.get(k..)?)?;
        match *b.get(p + 1)? {
            b'!' if b.get(p + 2..)?.starts_with(b"--") => k = comment_end(b, p + 2)?,
            b'!' | b'?' => k = gt_end(b, p + 2)?,
            b'/' if b.get(p + 2)?.is_ascii_alphabetic() => {
                let ne = name_end(b, p + 2);
                if b.get(p + 2..ne)?.eq_ignore_ascii_case(b"template") {
                    depth -= 1;
                    if depth == 0 {
                        return Some(p);
                    }
                }
                k = tag_end(b, ne, no_attrs)?.0;
            }
            c if c.is_ascii_alphabetic() => {
                let ne = name_end(b, p + 1);
                let name = b.get(p + 1..ne)?;
                let gt = tag_end(b, ne, no_attrs)?.0;
                k = match classify(name) {
                    Class::Template => {
                        depth += 1;
                        gt
                    }
                    Class::Script => script_end(b, gt),
                    Class::RawDropped | Class::RawKept => raw_end(b, gt, name),
                    Class::Plaintext => return None,
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
    /// Everything that can go.
    pub const ALL: Slim = Slim {
        never_content: true,
        attrs: true,
        whitespace: true,
    };
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

/// Prepares `html` for parsing in one pass: drops opening container tags
/// nested deeper than `max` (formatting elements beyond [`MAX_FORMATTING`])
/// and what `slim` asks for. Returns `html` itself when nothing had to go.
pub(crate) fn prepare(html: &str, max: usize, slim: Slim) -> Cow<'_, str> {
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
    // Cleared after a failed skip, so no part of the page is scanned twice.
    let drop_never_content = slim.never_content;
    let mut skip_svg = drop_never_content;
    let mut skip_template = drop_never_content;
    // Open `<pre>`/`<listing>` elements: their whitespace is kept.
    let mut pre_depth = 0usize;
    let mut i = 0;
    while let Some(off) = b.get(i..).and_then(|r| memchr(b'<', r)) {
        let lt = i + off;
        if slim.whitespace && pre_depth == 0 && off >= 2 {
            shorten_edge_whitespace(b, i, lt, &mut out);
        }
        let Some(&c) = b.get(lt + 1) else { break };
        match c {
            b'!' => {
                if b.get(lt + 2..).is_some_and(|r| r.starts_with(b"--")) {
                    // An unterminated comment runs to the end, as in a browser.
                    let end = comment_end(b, lt + 2).unwrap_or(n);
                    if drop_never_content && end - lt > 7 {
                        out.replace(lt, end, "<!---->");
                    }
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
                    let class = b.get(lt + 2..ne).map_or(Class::Other, classify);
                    if class == Class::Pre {
                        pre_depth = pre_depth.saturating_sub(1);
                    }
                    if matches!(class, Class::Counted | Class::Formatting) {
                        let d = &mut depth[usize::from(class == Class::Formatting)];
                        *d = d.saturating_sub(1);
                    }
                    i = gt;
                }
                Some(b'>') => i = lt + 3,
                Some(_) => i = gt_end(b, lt + 2).unwrap_or(n),
                None => break,
            },
            c if c.is_ascii_alphabetic() => {
                let ne = name_end(b, lt + 1);
                let name = b.get(lt + 1..ne).unwrap_or_default();
                let class = classify(name);
                let formatting = class == Class::Formatting;
                let counted = formatting || class == Class::Counted;
                let too_deep = counted && depth[usize::from(formatting)] >= limit(formatting);
                // `<link>` is void and never content; metadata reads only
                // rel=canonical (and microdata may use itemprop), so the rest go whole.
                let link = drop_never_content && name.eq_ignore_ascii_case(b"link");
                // A tag dropped whole keeps its attributes until then (no cut inside it).
                let cut_attrs = slim.attrs && !too_deep && !link;
                let on_attr = |span: usize, start: usize, end_name: usize, end: usize| {
                    if cut_attrs && b.get(start..end_name).is_some_and(is_dropped_attr) {
                        out.replace(span, end, "");
                    }
                };
                // The page ends inside the tag: the parser drops it; keep the rest as is.
                let Some((gt, self_closing)) = tag_end(b, ne, on_attr) else {
                    break;
                };
                i = gt;
                if link {
                    let tag = b.get(lt..gt).unwrap_or_default();
                    let read = |w: &[u8]| tag.windows(w.len()).any(|t| t.eq_ignore_ascii_case(w));
                    if !read(b"canonical") && !read(b"itemprop") {
                        out.replace(lt, gt, "");
                    }
                }
                match class {
                    Class::Counted | Class::Formatting => {
                        if too_deep {
                            out.replace(lt, gt, "");
                        } else {
                            depth[usize::from(formatting)] += 1;
                        }
                    }
                    Class::Script => {
                        let end = script_end(b, gt);
                        let tag = b.get(lt..gt).unwrap_or_default();
                        let json_ld = tag.windows(7).any(|w| w.eq_ignore_ascii_case(b"ld+json"));
                        if drop_never_content && !json_ld && end > gt {
                            out.replace(gt, end, "");
                        }
                        i = end;
                    }
                    Class::RawDropped => {
                        let end = raw_end(b, gt, name);
                        if drop_never_content && end > gt {
                            out.replace(gt, end, "");
                        }
                        i = end;
                    }
                    Class::RawKept => i = raw_end(b, gt, name),
                    Class::Svg if skip_svg && !self_closing => match svg_end(b, gt) {
                        Some(end) => {
                            out.replace(gt, end, "");
                            i = end;
                        }
                        None => skip_svg = false,
                    },
                    Class::Template if skip_template => match template_end(b, gt) {
                        Some(end) => {
                            out.replace(gt, end, "");
                            i = end;
                        }
                        None => skip_template = false,
                    },
                    // Everything after `<plaintext>` is text: no more tags to see.
                    Class::Plaintext => break,
                    // `<pre/>` opens one too: HTML ignores the slash here.
                    Class::Pre => pre_depth += 1,
                    _ => {}
                }
            }
            _ => i = lt + 1,
        }
    }
    out.finish()
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
    const NOTHING: Slim = Slim {
        never_content: false,
        attrs: false,
        whitespace: false,
    };

    #[test]
    fn whitespace_next_to_tags_is_shortened_except_inside_pre() {
        let page = "<div>\n    <p>a  b</p>\n\n    <pre>\n  x\n    <b>y</b>\n</pre>\n   <p>\n    c\n  </p></div>";
        assert_eq!(
            prepare(page, MAX_DEPTH, Slim::ALL),
            "<div>\n<p>a  b</p>\n<pre>\n  x\n    <b>y</b>\n</pre>\n<p>\nc\n</p></div>"
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
    fn scripts_styles_and_comments_are_emptied() {
        assert_eq!(
            prep("<p>a</p><script src=x.js>var a = 1 < 2;</script><p>b</p>"),
            "<p>a</p><script src=x.js></script><p>b</p>"
        );
        assert_eq!(
            prep("<style media=print>p > a { color: red }</style>x"),
            "<style media=print></style>x"
        );
        assert_eq!(prep("a<!-- note <p>hidden</p> -->b"), "a<!---->b");
        assert_eq!(
            prep("<noscript><img src=x></noscript><textarea>t</textarea>"),
            "<noscript></noscript><textarea></textarea>"
        );
    }

    #[test]
    fn tag_names_are_case_insensitive() {
        assert_eq!(
            prep("<SCRIPT>alert('<p>')</ScRiPt >after"),
            "<SCRIPT></ScRiPt >after"
        );
        assert_eq!(prep("<Svg><G/></SVG>x"), "<Svg></SVG>x");
    }

    #[test]
    fn script_ends_only_at_a_real_end_tag() {
        // A split end tag in a string is not an end tag.
        assert_eq!(
            prep("<script>var s = '</scr' + 'ipt>'; t = '</scripts>';</script><p>x</p>"),
            "<script></script><p>x</p>"
        );
        // `</script` needs a delimiter after the name.
        assert_eq!(
            prep("<script>a='</scriptx>'</script/>b"),
            "<script></script/>b"
        );
    }

    #[test]
    fn script_escapes_follow_the_tokenizer() {
        // Inside `<!-- <script>`, the first `</script>` does not end the script.
        let page = "<script><!-- document.write('<script>x</script>'); --></script><p>after</p>";
        assert_eq!(prep(page), "<script></script><p>after</p>");
        // `-->` leaves the escape, so a later `<script>` does not nest.
        let page = "<script><!-- a --> '<script>' </script><p>after</p>";
        assert_eq!(prep(page), "<script></script><p>after</p>");
        // `<!-->` opens and closes the escape at once.
        let page = "<script><!--> '<script>' </script><p>after</p>";
        assert_eq!(prep(page), "<script></script><p>after</p>");
    }

    #[test]
    fn unread_links_are_dropped() {
        let page = "<head><link rel=stylesheet href=a.css><LINK REL=Canonical href=/x>\
                    <link itemprop=url href=/y></head><p>t<link rel=icon>";
        assert_eq!(
            prep(page),
            "<head><LINK REL=Canonical href=/x><link itemprop=url href=/y></head><p>t"
        );
    }

    #[test]
    fn json_ld_is_kept() {
        let page =
            r#"<script type="application/LD+JSON">{"headline":"</b>"}</script><script>x</script>"#;
        assert_eq!(
            prep(page),
            r#"<script type="application/LD+JSON">{"headline":"</b>"}</script><script></script>"#
        );
    }

    #[test]
    fn nested_svg_is_dropped_whole() {
        let page = "<p>a</p><svg viewBox='0 0 1 1'><svg><g><path d='M0 0'/></g></svg><title>Logo</title><style>.a{fill:red}</style></svg><p>b</p>";
        assert_eq!(prep(page), "<p>a</p><svg viewBox='0 0 1 1'></svg><p>b</p>");
        // Self-closing svg has no content.
        assert_eq!(prep("<svg/><p>text</p>"), "<svg/><p>text</p>");
        // CDATA and comments inside svg do not end it early.
        let page = "<svg><![CDATA[ </svg> ]]><!-- </svg> --></svg>x";
        assert_eq!(prep(page), "<svg></svg>x");
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
        assert_eq!(prep(page), "<template></template><p>y</p>");
        let page = "<template><p>never closed";
        assert_eq!(prep(page), page);
    }

    #[test]
    fn comments_end_as_in_the_spec() {
        assert_eq!(prep("<!--><script>x</script>"), "<!--><script></script>");
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
            r#"<div title="a > b" data-x='<script>'><script></script>z</div>"#
        );
        // Quotes in a name are just name characters.
        assert_eq!(prep(r#"<a b"c>d</a>"#), r#"<a b"c>d</a>"#);
        // Unquoted values end at whitespace or `>`.
        assert_eq!(
            prep("<a href=x/><script>z</script>"),
            "<a href=x/><script></script>"
        );
    }

    #[test]
    fn text_that_looks_like_markup_is_text() {
        let page = "<p>a < b and c<d, 1 <= 2, </ 3, <?php ?> <!doctype x> <![CDATA[ y ]]></p>";
        assert_eq!(prep(page), page);
    }

    #[test]
    fn unterminated_constructs_are_safe() {
        assert_eq!(prep("<p>a</p><script>var x"), "<p>a</p><script>");
        assert_eq!(prep("<p>a</p><div title=\"x"), "<p>a</p><div title=\"x");
        assert_eq!(prep("<p>a</p><style>p{}</sty"), "<p>a</p><style>");
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
            "<img class=pic><p id=a>t</p>"
        );
        assert_eq!(
            all(r#"<div ARIA-label="m" aria-hidden="true" onClick="f()" style="display:none">"#),
            r#"<div aria-hidden="true" style="display:none">"#
        );
        // Name-only attributes, `=` with spaces, self-closing and odd slashes.
        assert_eq!(
            all("<input hidden async type=text value = 'v' /><a/title=t href=h>"),
            "<input hidden type=text /><a href=h>"
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
                assert!(out.len() <= page.len());
            }
        }
    }
}
