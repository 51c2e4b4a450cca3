//! Tokenizer-level reading of raw markup: tag names and ends, attributes,
//! comments and the ends of raw-text and script content, as the HTML
//! tokenizer finds them.

use memchr::{memchr, memchr2, memmem};

/// Whitespace as the tokenizer sees it (CR counts: the parser turns it into LF).
pub(super) fn is_ws(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

/// End of the tag name starting at `from`: the first whitespace, `/` or `>`.
pub(super) fn name_end(b: &[u8], from: usize) -> usize {
    let rest = b.get(from..).unwrap_or_default();
    from + rest
        .iter()
        .position(|&c| is_ws(c) || c == b'/' || c == b'>')
        .unwrap_or(rest.len())
}

/// Attribute states of the tokenizer that matter for finding a tag's `>`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Attr {
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
pub(super) fn tag_end(
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
pub(super) fn no_attrs(_: usize, _: usize, _: usize, _: usize) {}

/// Index just past the end tag starting at `at` (from [`raw_end`],
/// [`script_end`], [`super::subtree::svg_end`] or [`super::subtree::template_end`]); the page length when
/// there is none or it never closes.
pub(super) fn end_tag_end(b: &[u8], at: usize) -> usize {
    if at >= b.len() {
        return b.len();
    }
    tag_end(b, name_end(b, at + 2), no_attrs).map_or(b.len(), |(gt, _)| gt)
}

/// Index just past the end of the comment whose `--` opener starts at `from`
/// (`-->` or `--!>`; `<!-->` and `<!--->` end at once); `None` if unterminated.
pub(super) fn comment_end(b: &[u8], from: usize) -> Option<usize> {
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
pub(super) fn gt_end(b: &[u8], from: usize) -> Option<usize> {
    Some(from + memchr(b'>', b.get(from..)?)? + 1)
}

/// True when `rest` starts with tag name `name` (case-insensitive) and a
/// delimiter (whitespace, `/` or `>`), as raw-text end tags need.
pub(super) fn names_tag(rest: &[u8], name: &[u8]) -> bool {
    rest.get(..name.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(name))
        && rest
            .get(name.len())
            .is_some_and(|&c| is_ws(c) || c == b'/' || c == b'>')
}

/// Start of the end tag `</name` closing a raw-text element whose content
/// starts at `from`, or the page length when there is none.
pub(super) fn raw_end(b: &[u8], from: usize, name: &[u8]) -> usize {
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
pub(super) enum ScriptState {
    /// Plain script data.
    Data,
    /// After `<!--`: `</script>` still ends the script, `<script>` nests.
    Escaped,
    /// After `<script>` inside an escaped part: `</script>` only un-nests.
    DoubleEscaped,
}

/// Start of the `</script` ending a script whose content starts at `from`,
/// or the page length when there is none.
pub(super) fn script_end(b: &[u8], from: usize) -> usize {
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

/// True when `hay` contains `needle`, ASCII case-insensitively.
pub(super) fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
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
pub(super) fn lower<'b, const N: usize>(name: &[u8], buf: &'b mut [u8; N]) -> Option<&'b [u8]> {
    let dst = buf.get_mut(..name.len())?;
    for (d, s) in dst.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    Some(dst)
}
