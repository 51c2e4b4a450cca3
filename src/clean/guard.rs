//! Input guard against parser blow-up.
//!
//! html5ever checks "element in scope" by walking its stack of open elements,
//! so thousands of nested unclosed `<div>`s make parsing quadratic (100k of
//! them take tens of seconds). Real pages nest a few hundred levels at most,
//! so opening container tags beyond [`MAX_DEPTH`] are dropped before parsing;
//! their text stays. Pages within the limit are passed through untouched.

use std::borrow::Cow;

/// Container nesting depth beyond which opening tags are dropped.
pub(crate) const MAX_DEPTH: usize = 512;

/// Open formatting elements (b, i, font, a, ...) beyond which opening tags are
/// dropped: html5ever's "Noah's Ark" check scans the whole list of active
/// formatting elements for every new one, which is quadratic too.
const MAX_FORMATTING: usize = 200;

/// What the guard cares about for a tag name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Nesting container that triggers scope walks.
    Counted,
    /// Formatting element, kept in html5ever's list of active formatting elements.
    Formatting,
    /// Element whose content is raw text: tags inside it are not tags.
    Raw,
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
        b"script" | b"style" | b"textarea" | b"title" | b"xmp" | b"iframe" | b"noembed"
        | b"noframes" | b"noscript" => Class::Raw,
        _ => Class::Other,
    }
}

/// One lexical step of the scan; `bool` is true for formatting elements.
enum Tok {
    /// Opening tag of a counted element spanning `start..end`.
    Open(bool, usize, usize),
    /// Closing tag of a counted element.
    Close(bool),
}

/// Scans `html`, calling `f` for each counted open/close tag; linear time.
fn scan(html: &str, mut f: impl FnMut(Tok)) {
    let b = html.as_bytes();
    let n = b.len();
    let mut i = 0;
    while let Some(off) = memchr_lt(&b[i..]) {
        let lt = i + off;
        i = lt + 1;
        if b[i..].starts_with(b"!--") {
            i = find(b, i + 3, b"-->").map_or(n, |p| p + 3);
            continue;
        }
        let closing = b.get(i) == Some(&b'/');
        let name_start = if closing { i + 1 } else { i };
        let mut j = name_start;
        while j < n && b[j].is_ascii_alphanumeric() {
            j += 1;
        }
        if j == name_start {
            continue;
        }
        let name = &b[name_start..j];
        let gt = find(b, j, b">").map_or(n, |p| p + 1);
        let class = classify(name);
        if !closing && class == Class::Raw {
            // Skip to the matching end tag (case-insensitive).
            let mut k = gt;
            loop {
                match find(b, k, b"</") {
                    Some(p) => {
                        let s = p + 2;
                        let e = (s + name.len()).min(n);
                        if b[s..e].eq_ignore_ascii_case(name) {
                            i = e;
                            break;
                        }
                        k = s;
                    }
                    None => {
                        i = n;
                        break;
                    }
                }
            }
            continue;
        }
        let formatting = class == Class::Formatting;
        if formatting || class == Class::Counted {
            if closing {
                f(Tok::Close(formatting));
            } else {
                f(Tok::Open(formatting, lt, gt));
            }
        }
        i = gt;
    }
}

/// Position of the next `<`.
fn memchr_lt(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'<')
}

/// First occurrence of `pat` (non-empty) in `b[from..]`, scanning for its first byte.
fn find(b: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    let (&first, rest) = pat.split_first()?;
    let mut i = from;
    while i < b.len() {
        let off = b[i..].iter().position(|&c| c == first)?;
        let p = i + off;
        if b[p + 1..].starts_with(rest) {
            return Some(p);
        }
        i = p + 1;
    }
    None
}

/// Returns `html` unchanged, or a copy without the opening container tags nested deeper than `max`.
pub(crate) fn limit_nesting(html: &str, max: usize) -> Cow<'_, str> {
    let limit = |formatting: bool| if formatting { MAX_FORMATTING } else { max };
    // depth[0]: containers, depth[1]: formatting elements.
    let mut depth = [0usize; 2];
    let mut too_deep = false;
    scan(html, |t| match t {
        Tok::Open(f, ..) => {
            let d = &mut depth[usize::from(f)];
            *d += 1;
            too_deep |= *d > limit(f);
        }
        Tok::Close(f) => depth[usize::from(f)] = depth[usize::from(f)].saturating_sub(1),
    });
    if !too_deep {
        return Cow::Borrowed(html);
    }
    let mut out = String::with_capacity(html.len());
    let mut last = 0usize;
    let mut depth = [0usize; 2];
    scan(html, |t| match t {
        Tok::Open(f, start, end) => {
            let d = &mut depth[usize::from(f)];
            if *d >= limit(f) {
                // Both ends are ASCII ('<' and just past '>'), so char boundaries.
                if let Some(s) = html.get(last..start) {
                    out.push_str(s);
                }
                last = end;
            } else {
                *d += 1;
            }
        }
        Tok::Close(f) => depth[usize::from(f)] = depth[usize::from(f)].saturating_sub(1),
    });
    if let Some(s) = html.get(last..) {
        out.push_str(s);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_pages_pass_through() {
        let page = "<div><p>a</p><script>'<div><div>'</script></div>";
        assert!(matches!(limit_nesting(page, 2), Cow::Borrowed(_)));
    }

    #[test]
    fn open_formatting_elements_are_capped() {
        let page = "<b>".repeat(MAX_FORMATTING + 5);
        let out = limit_nesting(&page, MAX_DEPTH);
        assert_eq!(out, "<b>".repeat(MAX_FORMATTING));
    }

    #[test]
    fn deep_pages_are_flattened() {
        let page = format!("{}text", "<div class=x>".repeat(10));
        let out = limit_nesting(&page, 3);
        assert_eq!(out, format!("{}text", "<div class=x>".repeat(3)));
    }
}
