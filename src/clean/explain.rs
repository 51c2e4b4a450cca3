//! The record behind `thresher clean --explain`: every block the cleaner
//! kept or removed, with the rule, hint or score that decided.
//!
//! Recording costs nothing when explanations are off: every method returns
//! at once, so the cleaner calls them unconditionally.

use super::Decision;
use super::dom::{Dom, NONE, is_hidden, is_never_content};
use super::extract::{Analysis, Stats};

/// Longest block text shown in a decision, in characters.
const TEXT_CHARS: usize = 70;

/// Decisions collected during one clean, each with the node it is about
/// (document order is restored at the end).
#[derive(Default)]
pub(crate) struct Log {
    on: bool,
    entries: Vec<(usize, Decision)>,
}

impl Log {
    /// A log that records only when `on`.
    pub fn new(on: bool) -> Self {
        Self {
            on,
            entries: Vec::new(),
        }
    }

    /// Whether decisions are being recorded.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Records one decision about the element (or text run) at `node`.
    pub fn push(
        &mut self,
        dom: &Dom<'_>,
        node: usize,
        kept: bool,
        reason: impl Into<String>,
        score: Option<f64>,
        text: &str,
    ) {
        if !self.on {
            return;
        }
        self.push_named(node, element_path(dom, node), kept, reason, score, text);
    }

    /// Records one decision about something that is not a page element
    /// (such as the JSON-LD body), listed where `node` is.
    pub fn push_named(
        &mut self,
        node: usize,
        element: String,
        kept: bool,
        reason: impl Into<String>,
        score: Option<f64>,
        text: &str,
    ) {
        if !self.on {
            return;
        }
        let decision = Decision {
            kept,
            element,
            reason: reason.into(),
            score,
            text: shorten(text),
        };
        self.entries.push((node, decision));
    }

    /// Moves another log's entries into this one.
    pub fn append(&mut self, other: Log) {
        self.entries.extend(other.entries);
    }

    /// Records the topmost removed subtrees of `mask` inside `<body>` that
    /// hold text, with the reason each was removed; `retry` when `mask` is
    /// the retry pass's (which keeps what class and id hints cut).
    pub fn removed_subtrees(
        &mut self,
        an: &Analysis<'_, '_>,
        mask: &[bool],
        forced: &[bool],
        retry: bool,
    ) {
        if !self.on {
            return;
        }
        let dom = an.dom;
        let stop = dom.end.get(an.body).copied().unwrap_or(0).min(dom.len());
        let mut i = an.body + 1;
        while i < stop {
            if !mask[i] {
                i += 1;
                continue;
            }
            let next = dom.end[i].max(i + 1);
            if dom.elem(i).is_some() {
                // Script and style bodies are shown raw (they are the leak to
                // look for); elsewhere only the text a reader would see.
                let text = if an.hard[i] {
                    dom.raw_text(i)
                } else {
                    dom.collapsed_text(i, &an.hard)
                };
                if text.trim().is_empty() {
                    if !an.hard[i] {
                        // Its text may sit in a never-content descendant
                        // (a comment form inside a comment section): look inside.
                        i += 1;
                        continue;
                    }
                } else {
                    let reason = mask_reason(an, i, forced, retry);
                    self.push(dom, i, false, reason, None, &text);
                }
            }
            i = next;
        }
    }

    /// Records the furniture (figures, share bars, bylines, ...) skipped
    /// inside the chosen containers.
    pub fn furniture(
        &mut self,
        an: &Analysis<'_, '_>,
        roots: &[usize],
        st: &Stats,
        mask: &[bool],
        strict: bool,
    ) {
        if !self.on {
            return;
        }
        let dom = an.dom;
        for &root in roots {
            let mut i = root + 1;
            while i < dom.end[root] {
                let next = dom.end[i].max(i + 1);
                if mask[i] {
                    i = next;
                    continue;
                }
                if dom.elem(i).is_some() && an.skip_inside(i, st, strict) {
                    let text = dom.collapsed_text(i, mask);
                    if !text.is_empty() {
                        let reason = format!("furniture inside the article <{}>", dom.tag(i));
                        self.push(dom, i, false, reason, None, &text);
                    }
                    i = next;
                    continue;
                }
                i += 1;
            }
        }
    }

    /// The decisions in document order.
    pub fn finish(mut self) -> Vec<Decision> {
        self.entries.sort_by_key(|&(node, _)| node);
        self.entries.into_iter().map(|(_, d)| d).collect()
    }
}

/// Why node `i` is in a removal mask.
fn mask_reason(an: &Analysis<'_, '_>, i: usize, forced: &[bool], retry: bool) -> String {
    let dom = an.dom;
    let tag = dom.tag(i);
    if forced.get(i).copied().unwrap_or(false) {
        return "rule: a `remove` selector matched".into();
    }
    if dom.elem(i).is_some_and(is_hidden) {
        return "hidden element".into();
    }
    if is_never_content(tag) {
        return format!("never content <{tag}>");
    }
    if an.hard[i] {
        return "form (comment box or sign-up)".into();
    }
    let hint = an.hints[i];
    if hint.comments {
        return "comment thread".into();
    }
    // The retry pass keeps what class and id hints cut: only the page's
    // own header, footer and asides stay out there.
    if hint.negative && !retry {
        return "unlikely: class/id/role hint".into();
    }
    format!("unlikely: page <{tag}>")
}

/// The element's whole CSS selector path, such as `body > div.main >
/// div.article-body > p` or, from the nearest ancestor with an id,
/// `div#story > p`: each step is the tag and its first class, escaped, so
/// the path can be pasted into `[sources.rules] remove` as it is printed.
/// It names where the element sits in the site's template, not which of its
/// siblings it is, so the same path finds it on the site's other pages.
pub(crate) fn element_path(dom: &Dom<'_>, node: usize) -> String {
    let mut parts = Vec::new();
    let mut i = node;
    while i != NONE {
        if let Some(e) = dom.elem(i) {
            let name = e.name();
            if name == "html" {
                break;
            }
            if name == "body" {
                // Anchored at the body, so the path does not also match deeper.
                parts.push("body".to_string());
                break;
            }
            let mut part = name.to_string();
            if let Some(id) = e.id() {
                part.push('#');
                push_css_ident(id, &mut part);
                parts.push(part);
                // An id names one element: the path needs nothing above it.
                break;
            } else if let Some(class) = e.classes().next() {
                part.push('.');
                push_css_ident(class, &mut part);
            }
            parts.push(part);
        }
        i = dom.parent.get(i).copied().unwrap_or(NONE);
    }
    if parts.is_empty() {
        return "(text)".into();
    }
    parts.reverse();
    parts.join(" > ")
}

/// Appends `ident` escaped as a CSS identifier, so a path can be pasted into
/// a selector whatever the class names hold (`md:mb-2`, `[&_h3]`, `2col`).
fn push_css_ident(ident: &str, out: &mut String) {
    for (n, c) in ident.chars().enumerate() {
        let plain = c.is_ascii_alphanumeric() || c == '-' || c == '_' || !c.is_ascii();
        if n == 0 && c.is_ascii_digit() {
            // A leading digit is written as a code point escape.
            out.push_str(&format!("\\{:x} ", u32::from(c)));
        } else if plain {
            out.push(c);
        } else {
            out.push('\\');
            out.push(c);
        }
    }
}

/// The first characters of a block, on one line.
fn shorten(text: &str) -> String {
    let collapsed = super::dom::collapse_ws(text);
    let mut out: String = collapsed.chars().take(TEXT_CHARS).collect();
    if collapsed.chars().nth(TEXT_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::{Html, Selector};

    #[test]
    fn element_paths_are_selectors_that_find_the_element_whatever_its_class_names() {
        let html = r#"<html><body><div class="[&_h3]:mb-2 x"><section class="md:w-1/2">
            <p class="2col lead">one</p></section></div>
            <div id="7up.main"><p>two</p></div></body></html>"#;
        let doc = Html::parse_document(html);
        let dom = Dom::build(&doc);
        for text in ["one", "two"] {
            let node = (0..dom.len())
                .find(|&i| {
                    dom.tag(i) == "p" && dom.collapsed_text(i, &vec![false; dom.len()]) == text
                })
                .expect("paragraph");
            let path = element_path(&dom, node);
            let selector = Selector::parse(&path).unwrap_or_else(|e| panic!("{path}: {e:?}"));
            let found: Vec<String> = doc.select(&selector).map(|e| e.text().collect()).collect();
            assert_eq!(found, [text], "{path}");
        }
    }
}
