//! A flat, pre-order view of a parsed document.
//!
//! Every later step works on plain index arrays instead of the ego_tree
//! pointers: descendants of node `i` are exactly `i + 1..end[i]`, so subtree
//! skips, bottom-up aggregation (reverse index order) and ancestor tests are
//! all iterative and linear, whatever the nesting depth of the input.

use scraper::node::Element;
use scraper::{Html, Node};

/// Marks "no parent" in [`Dom::parent`].
pub(crate) const NONE: usize = usize::MAX;

/// The document as arrays indexed by pre-order position.
pub(crate) struct Dom<'a> {
    /// The scraper node at each position.
    pub nodes: Vec<&'a Node>,
    /// Parent position, `NONE` for the document root.
    pub parent: Vec<usize>,
    /// One past the last descendant of each node.
    pub end: Vec<usize>,
}

impl<'a> Dom<'a> {
    /// Flattens the tree without recursion (an explicit path stack).
    pub fn build(doc: &'a Html) -> Self {
        let mut nodes: Vec<&'a Node> = Vec::new();
        let mut parent: Vec<usize> = Vec::new();
        let mut end: Vec<usize> = Vec::new();
        let root = doc.tree.root();
        nodes.push(root.value());
        parent.push(NONE);
        end.push(0);
        let mut path: Vec<usize> = vec![0];
        let mut cur = root;
        loop {
            if let Some(child) = cur.first_child() {
                let p = path.last().copied().unwrap_or(0);
                nodes.push(child.value());
                parent.push(p);
                end.push(0);
                path.push(nodes.len() - 1);
                cur = child;
                continue;
            }
            // Climb until a next sibling exists, closing finished subtrees.
            loop {
                let Some(idx) = path.pop() else {
                    return Dom { nodes, parent, end };
                };
                end[idx] = nodes.len();
                if path.is_empty() {
                    return Dom { nodes, parent, end };
                }
                if let Some(sib) = cur.next_sibling() {
                    let p = path.last().copied().unwrap_or(0);
                    nodes.push(sib.value());
                    parent.push(p);
                    end.push(0);
                    path.push(nodes.len() - 1);
                    cur = sib;
                    break;
                }
                match cur.parent() {
                    Some(up) => cur = up,
                    None => {
                        // Unreachable for a well-formed tree; close what is left.
                        while let Some(i) = path.pop() {
                            end[i] = nodes.len();
                        }
                        return Dom { nodes, parent, end };
                    }
                }
            }
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The element at `i`, if it is one.
    pub fn elem(&self, i: usize) -> Option<&'a Element> {
        match self.nodes.get(i) {
            Some(Node::Element(e)) => Some(e),
            _ => None,
        }
    }

    /// Lower-case tag name of the element at `i` ("" for non-elements).
    pub fn tag(&self, i: usize) -> &'a str {
        self.elem(i).map(|e| e.name()).unwrap_or("")
    }

    /// Text content of a text node at `i`.
    pub fn text(&self, i: usize) -> Option<&'a str> {
        match self.nodes.get(i) {
            Some(Node::Text(t)) => Some(&t.text),
            _ => None,
        }
    }

    /// First element with this tag, in document order.
    pub fn find_tag(&self, tag: &str) -> Option<usize> {
        (0..self.len()).find(|&i| self.tag(i) == tag)
    }

    /// Raw concatenated text of the subtree at `i` (for small metadata nodes).
    pub fn raw_text(&self, i: usize) -> String {
        let mut s = String::new();
        let stop = self.end.get(i).copied().unwrap_or(i);
        for j in i..stop {
            if let Some(t) = self.text(j) {
                s.push_str(t);
            }
        }
        s
    }

    /// Collapsed (single-spaced, trimmed) text of the subtree at `i`, skipping
    /// removed nodes and never-content elements below `i`.
    pub fn collapsed_text(&self, i: usize, removed: &[bool]) -> String {
        let mut s = String::new();
        let stop = self.end.get(i).copied().unwrap_or(i);
        let mut j = i;
        while j < stop {
            let never = j > i && is_never_content(self.tag(j));
            if never || removed.get(j).copied().unwrap_or(false) {
                j = self.end[j].max(j + 1);
                continue;
            }
            if let Some(t) = self.text(j) {
                s.push_str(t);
                s.push(' ');
            } else if self.tag(j) == "br" {
                s.push(' ');
            }
            j += 1;
        }
        collapse_ws(&s)
    }
}

/// Whitespace-collapsed, trimmed copy of `s`.
pub(crate) fn collapse_ws(s: &str) -> String {
    if s.is_ascii() {
        return collapse_ascii_ws(s.as_bytes().to_vec());
    }
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// [`collapse_ws`] of `s`, reusing its buffer.
pub(crate) fn collapse_ws_owned(s: String) -> String {
    if s.is_ascii() {
        collapse_ascii_ws(s.into_bytes())
    } else {
        collapse_ws(&s)
    }
}

/// [`collapse_ws`] of ASCII text, in place: each run of whitespace
/// (`char::is_whitespace` on ASCII: 9..=13 and space) between words becomes
/// one space, none at the ends.
fn collapse_ascii_ws(mut b: Vec<u8>) -> String {
    let mut w = 0;
    let mut gap = false;
    for r in 0..b.len() {
        let c = b[r];
        if matches!(c, 9..=13 | b' ') {
            gap = w > 0;
            continue;
        }
        if gap {
            b[w] = b' ';
            w += 1;
            gap = false;
        }
        b[w] = c;
        w += 1;
    }
    b.truncate(w);
    // Only ASCII bytes were moved, so this never fails.
    String::from_utf8(b).unwrap_or_default()
}

/// Length in chars of `s` once whitespace is collapsed (leading/trailing runs count as one).
pub(crate) fn collapsed_len(s: &str) -> usize {
    if s.is_ascii() {
        // Same count without decoding; `char::is_whitespace` on ASCII is 9..=13 and space.
        let mut n = 0;
        let mut in_ws = false;
        for &b in s.as_bytes() {
            let ws = matches!(b, 9..=13 | b' ');
            n += usize::from(!ws || !in_ws);
            in_ws = ws;
        }
        return n;
    }
    let mut n = 0;
    let mut in_ws = false;
    for c in s.chars() {
        if c.is_whitespace() {
            if !in_ws {
                n += 1;
                in_ws = true;
            }
        } else {
            n += 1;
            in_ws = false;
        }
    }
    n
}

/// [`collapsed_len`] of `s` and its commas (ASCII ones, and the CJK `，`
/// and `、`), in one pass over ASCII text.
pub(crate) fn len_and_commas(s: &str) -> (usize, usize) {
    if !s.is_ascii() {
        let c = s.bytes().filter(|&b| b == b',').count()
            + s.chars().filter(|&c| matches!(c, '，' | '、')).count();
        return (collapsed_len(s), c);
    }
    let mut n = 0;
    let mut commas = 0;
    let mut in_ws = false;
    for &b in s.as_bytes() {
        let ws = matches!(b, 9..=13 | b' ');
        n += usize::from(!ws || !in_ws);
        commas += usize::from(b == b',');
        in_ws = ws;
    }
    (n, commas)
}

/// True for an `<a>` that navigates somewhere: a `javascript:` pseudo-link is
/// a script hook, so its text is ordinary text (as in Readability).
pub(crate) fn is_link(e: &Element) -> bool {
    e.name() == "a"
        && !e.attr("href").is_some_and(|h| {
            h.trim_start()
                .get(..11)
                .is_some_and(|p| p.eq_ignore_ascii_case("javascript:"))
        })
}

/// Elements whose content is never article text.
pub(crate) fn is_never_content(tag: &str) -> bool {
    matches!(
        tag,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "svg"
            | "annotation"
            | "annotation-xml"
            | "iframe"
            | "button"
            | "input"
            | "select"
            | "textarea"
            | "option"
            | "object"
            | "embed"
            | "canvas"
            | "audio"
            | "video"
            | "dialog"
            | "head"
            | "link"
            | "meta"
            | "title"
            | "nav"
            | "label"
            | "picture"
            | "img"
            | "source"
            | "map"
    )
}

/// Block-level tags: they end an inline run of text.
pub(crate) fn is_block(tag: &str) -> bool {
    matches!(
        tag,
        "p" | "div"
            | "section"
            | "article"
            | "main"
            | "aside"
            | "header"
            | "footer"
            | "nav"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "ul"
            | "ol"
            | "li"
            | "dl"
            | "dt"
            | "dd"
            | "blockquote"
            | "pre"
            | "table"
            | "thead"
            | "tbody"
            | "tfoot"
            | "tr"
            | "td"
            | "th"
            | "figure"
            | "figcaption"
            | "form"
            | "fieldset"
            | "address"
            | "hr"
            | "center"
            | "details"
            | "summary"
            | "body"
            | "html"
    )
}

/// True when the inline `style` hides the element.
pub(crate) fn style_hides(style: &str) -> bool {
    // Cheap pre-check: most inline styles mention neither value.
    let lower = style.to_ascii_lowercase();
    if !lower.contains("none") && !lower.contains("hidden") {
        return false;
    }
    let compact: String = style
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(|c| c.to_lowercase())
        .collect();
    compact.contains("display:none") || compact.contains("visibility:hidden")
}

/// True when a `<script>` with this `type` value runs code: an empty one, or
/// a JavaScript or module one (the others are data blocks: JSON, templates).
pub(crate) fn script_type_runs(t: &str) -> bool {
    let t = t.trim().to_ascii_lowercase();
    t.is_empty() || t.contains("javascript") || t.contains("ecmascript") || t == "module"
}

/// True for elements hidden from readers by attributes.
pub(crate) fn is_hidden(e: &Element) -> bool {
    ReadAttrs::of(e).hides()
}

/// The attributes the analysis reads of every element, found in one pass
/// over them (each the first of its name, as [`attr`] gives).
#[derive(Default, Clone, Copy)]
pub(crate) struct ReadAttrs<'e> {
    /// `class`.
    pub class: Option<&'e str>,
    /// `id`.
    pub id: Option<&'e str>,
    /// `itemprop`.
    pub itemprop: Option<&'e str>,
    /// `role`.
    pub role: Option<&'e str>,
    /// `hidden`.
    pub hidden: Option<&'e str>,
    /// `aria-hidden`.
    pub aria_hidden: Option<&'e str>,
    /// `aria-labelledby`.
    pub aria_labelledby: Option<&'e str>,
    /// `style`.
    pub style: Option<&'e str>,
}

impl<'e> ReadAttrs<'e> {
    /// Reads them off `e`.
    pub fn of(e: &'e Element) -> Self {
        let mut a = ReadAttrs::default();
        for (k, v) in e.attrs() {
            let slot = match k {
                "class" => &mut a.class,
                "id" => &mut a.id,
                "itemprop" => &mut a.itemprop,
                "role" => &mut a.role,
                "hidden" => &mut a.hidden,
                "aria-hidden" => &mut a.aria_hidden,
                "aria-labelledby" => &mut a.aria_labelledby,
                "style" => &mut a.style,
                _ => continue,
            };
            slot.get_or_insert(v);
        }
        a
    }

    /// True when these attributes hide the element from readers.
    pub fn hides(&self) -> bool {
        let hidden = (self.hidden.is_some() && !self.id.is_some_and(is_streamed_segment))
            || self
                .aria_hidden
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
            || self.style.is_some_and(style_hides);
        // A collapsed accordion panel (WAI-ARIA: a region labelled by its
        // header button) is text the reader opens, not hidden junk.
        hidden && !(self.role == Some("region") && self.aria_labelledby.is_some())
    }
}

/// React's streaming renderer sends a suspended part of the page as
/// `<div hidden id="S:0">` after the shell, and a script moves it into place
/// at once: it is what every reader sees, not hidden content. (`clean::stream`
/// moves it first; one it could not place is still read where it is.)
fn is_streamed_segment(id: &str) -> bool {
    id.strip_prefix("S:")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Value of attribute `name` (lower-case) on `e`, like `Element::attr`.
///
/// `Element::attr` interns `name` (a perfect-hash lookup) and binary-searches
/// with string comparisons on every call; elements carry a handful of
/// attributes, so a linear scan over their names is several times cheaper.
pub(crate) fn attr<'e>(e: &'e Element, name: &str) -> Option<&'e str> {
    e.attrs().find(|&(k, _)| k == name).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The decoding definition `collapsed_len` must agree with.
    fn slow_len(s: &str) -> usize {
        let mut n = 0;
        let mut in_ws = false;
        for c in s.chars() {
            let ws = c.is_whitespace();
            n += usize::from(!ws || !in_ws);
            in_ws = ws;
        }
        n
    }

    #[test]
    fn collapse_ws_ascii_fast_path_matches_split_whitespace() {
        for s in [
            "",
            "   ",
            "a",
            " a  b\t\n\x0B\x0Cc\r ",
            "\x0Bx\x0B",
            "a\u{a0}b  c",
            "日本 語 ",
        ] {
            let slow = s.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(collapse_ws(s), slow, "{s:?}");
            assert_eq!(collapse_ws_owned(s.to_string()), slow, "{s:?}");
        }
    }

    #[test]
    fn one_pass_length_and_commas_match_separate_counts() {
        for s in ["", "a, b,, c", " x \x0B, y ", "日本，語、x, y"] {
            let commas = s
                .chars()
                .filter(|&c| matches!(c, ',' | '，' | '、'))
                .count();
            assert_eq!(len_and_commas(s), (collapsed_len(s), commas), "{s:?}");
        }
    }

    #[test]
    fn collapsed_len_ascii_fast_path_matches_chars() {
        for s in [
            "",
            " ",
            "a",
            " a  b\t\n\x0B\x0Cc\r ",
            "a\u{a0}b",
            "é  ü",
            "日本 語",
            "\x0B",
        ] {
            assert_eq!(collapsed_len(s), slow_len(s), "{s:?}");
        }
    }
}
