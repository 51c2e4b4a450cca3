//! Subtrees the input pass may drop or empty whole, when their end is
//! clear: `<svg>`, `<template>`, and plainly nested blocks (`<nav>`).

use memchr::{memchr, memmem};

use super::lex::{
    comment_end, contains_ignore_case, end_tag_end, gt_end, name_end, no_attrs, raw_end,
    script_end, tag_end,
};
use super::names::{
    Class, Nested, breaks_out_of_svg, classify, formatting_id, nested_kind, reads_metadata,
    script_runs,
};
use super::{MAX_FORMATTING, MAX_SVG_DEPTH};

/// Start of the `</svg` closing an `<svg>` whose content starts at `from`, if
/// the content is plain well-nested SVG. `None` (keep it all) for anything the
/// tree builder would treat otherwise: HTML breakout tags, HTML integration
/// points with markup inside, mismatched end tags, unterminated constructs.
pub(super) fn svg_end(b: &[u8], from: usize) -> Option<usize> {
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

/// A subtree [`plain_subtree_end`] found safe to empty.
pub(super) struct Subtree {
    /// Start of its end tag.
    pub(super) end: usize,
    /// Words of text inside, as the cleaner counts them.
    pub(super) words: usize,
    /// It holds a script that runs.
    pub(super) scripted: bool,
    /// The formatting elements in it, one bit per [`formatting_id`].
    pub(super) formatting: u16,
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
pub(super) fn plain_subtree_end(
    html: &str,
    from: usize,
    name: &[u8],
    looked: &mut usize,
) -> Option<Subtree> {
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
        words += html.get(k..p).map_or(0, super::super::tokens);
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

/// Start of the `</template` closing a `<template>` whose content starts at
/// `from`, counting nested templates and skipping raw text and comments;
/// `None` (keep it all) when the page ends first, SVG/MathML inside makes
/// the raw-text rules uncertain, or a formatting element is left open in it.
pub(super) fn template_end(b: &[u8], from: usize) -> Option<usize> {
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
