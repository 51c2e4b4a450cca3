//! Finding the article container (readability-style scoring) and turning it
//! into a list of text blocks.
//!
//! All traversals run over the flat pre-order arrays of [`Dom`], so they are
//! iterative and linear in the page size.

use super::dom::{
    Dom, NONE, ReadAttrs, collapse_ws_owned, collapsed_len, is_block, is_link, is_never_content,
    len_and_commas,
};
use super::hints::{ClassCache, Hint, class_weight, hint_cached};

/// The structural role of a kept block, used to rebuild HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A paragraph (also anonymous text runs and leaf divs).
    P,
    /// A heading of level 1..=6.
    H(u8),
    /// A list item; `true` when the list is ordered.
    Li(bool),
    /// Preformatted text.
    Pre,
    /// A quotation.
    Quote,
    /// One table row; cells are kept as inline HTML.
    Row,
}

/// One block of article text.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    /// Role of the block.
    pub kind: Kind,
    /// Whitespace-collapsed text.
    pub text: String,
    /// Inline HTML (unsanitised; ammonia runs later).
    pub html: String,
    /// The list/table the block belongs to, `NONE` otherwise.
    pub group: usize,
    /// Position of the block's element in the flat DOM.
    pub node: usize,
    /// Chars of text inside links.
    pub link_len: usize,
}

/// Per-node aggregates, computed bottom-up in one pass.
pub(crate) struct Stats {
    /// Collapsed text length of the subtree.
    pub text: Vec<u32>,
    /// Text length inside `<a>`.
    pub link: Vec<u32>,
    /// Number of commas.
    pub commas: Vec<u32>,
    /// Has a block-level element descendant.
    pub has_block: Vec<bool>,
    /// Inside an `<a>` (a heading wrapped in a link is link text).
    pub in_link: Vec<bool>,
    /// Text length of direct text and inline children (a mixed container's own paragraph).
    pub own: Vec<u32>,
    /// Commas in that own text.
    pub own_commas: Vec<u32>,
}

impl Stats {
    /// Share of the subtree text that sits inside links.
    fn link_density(&self, i: usize) -> f64 {
        let t = self.text[i];
        if t == 0 {
            0.0
        } else {
            f64::from(self.link[i]) / f64::from(t)
        }
    }
}

/// Page-wide analysis shared by both extraction passes.
pub(crate) struct Analysis<'d, 'a> {
    /// The flat document.
    pub dom: &'d Dom<'a>,
    /// Hints per node (default for non-elements).
    pub hints: Vec<Hint>,
    /// Nodes that are never content (scripts, hidden, forms, ...), propagated to descendants.
    pub hard: Vec<bool>,
    /// `<body>` position, or the root.
    pub body: usize,
    /// Collapsed length and comma count of each text node, measured once.
    pub(super) text_len: Vec<(u32, u32)>,
    /// Inside an `<a>`.
    in_link: Vec<bool>,
}

/// Chars of running text around an inline element that make it part of a sentence.
const RUNNING_TEXT_CHARS: u32 = 20;

/// Fraction of body text above which a "junk" wrapper is treated as layout.
const WRAPPER_SHARE: f64 = 0.5;

impl<'d, 'a> Analysis<'d, 'a> {
    /// Computes hints and the hard-removal mask; `forced[i]` (when present)
    /// removes node `i` and its subtree, as a source's `remove` rules do.
    pub fn new(dom: &'d Dom<'a>, forced: &[bool]) -> Self {
        let n = dom.len();
        let mut hints = vec![Hint::default(); n];
        let mut hard = vec![false; n];
        let mut class_cache = ClassCache::new();
        for i in 0..n {
            let p = dom.parent[i];
            if p != NONE && hard[p] {
                hard[i] = true;
                continue;
            }
            if let Some(e) = dom.elem(i) {
                let never = is_never_content(e.name());
                let attrs = if never {
                    ReadAttrs::default()
                } else {
                    ReadAttrs::of(e)
                };
                hard[i] = never || attrs.hides() || forced.get(i).copied().unwrap_or(false);
                // Removed nodes are skipped before any hint is read.
                if !hard[i] {
                    hints[i] = hint_cached(&attrs, &mut class_cache);
                    // Hover boxes are hidden by the stylesheet: link density
                    // and text are measured without them.
                    hard[i] = hints[i].on_hover
                        && !hints[i].positive
                        && !matches!(e.name(), "html" | "body" | "main" | "article");
                }
            }
        }
        let body = dom.find_tag("body").unwrap_or(0);
        let mut text_len = vec![(0u32, 0u32); n];
        let mut in_link = vec![false; n];
        for i in 0..n {
            let p = dom.parent[i];
            in_link[i] = dom.elem(i).is_some_and(is_link) || (p != NONE && in_link[p]);
            // Script and style text is never measured: it is often most of the bytes.
            if let Some(t) = dom.text(i).filter(|_| !hard[i]) {
                let tt = t.trim();
                if !tt.is_empty() {
                    let (len, c) = len_and_commas(tt);
                    let len = u32::try_from(len).unwrap_or(u32::MAX);
                    text_len[i] = (len, u32::try_from(c).unwrap_or(u32::MAX));
                }
            }
        }
        let mut a = Analysis {
            dom,
            hints,
            hard,
            body,
            text_len,
            in_link,
        };
        // Forms are junk (comment boxes, sign-ups) unless one wraps the whole
        // page, as ASP.NET sites do.
        let st = a.stats(&a.hard);
        let body_text = f64::from(st.text[body].max(1));
        let mut i = 0;
        while i < n {
            if a.dom.tag(i) == "form" && !a.hard[i] {
                if f64::from(st.text[i]) < WRAPPER_SHARE * body_text {
                    for j in i..a.dom.end[i] {
                        a.hard[j] = true;
                    }
                }
                i = a.dom.end[i].max(i + 1);
                continue;
            }
            i += 1;
        }
        a
    }

    /// The hard mask plus every element `drop` selects, propagated to descendants.
    /// Page wrappers (html, body, article, main) are never dropped this way.
    fn mask_with(&self, drop: impl Fn(usize, &str) -> bool) -> Vec<bool> {
        let mut m = self.hard.clone();
        for i in 0..self.dom.len() {
            if m[i] {
                continue;
            }
            let p = self.dom.parent[i];
            let tag = self.dom.tag(i);
            let wrapper = matches!(tag, "html" | "body" | "article" | "main");
            m[i] = (p != NONE && m[p]) || (!wrapper && self.dom.elem(i).is_some() && drop(i, tag));
        }
        m
    }

    /// The pass-1 mask: hard removals plus unlikely candidates (negative hints,
    /// header/footer/aside that are not page wrappers).
    pub fn unlikely_mask(&self, st_hard: &Stats) -> Vec<bool> {
        let body_text = f64::from(st_hard.text[self.body].max(1));
        self.mask_with(|i, tag| {
            let h = self.hints[i];
            let share = f64::from(st_hard.text[i]) / body_text;
            let layout = matches!(tag, "aside" | "footer" | "header");
            let mid_text = self.in_running_text(i, st_hard);
            tag != "a"
                && ((h.negative && (!h.positive || h.comments) && !mid_text)
                    || (layout && share < WRAPPER_SHARE))
        })
    }

    /// The pass-2 mask: hard removals plus comment threads, which are never
    /// the article, and the page's own header, footer and asides (a small
    /// share of the page). The retry is for text that class and id hints cut
    /// (a section named for a jump menu); a page footer's disclaimer is
    /// longer than a short article but never its text.
    ///
    /// Here a footer or aside holding most of the page's text is still left
    /// out when the headline is elsewhere: a short article above a long
    /// legal footer is the article, and only a layout element around the
    /// headline can be the page's wrapper.
    pub fn retry_mask(&self, st_hard: &Stats) -> Vec<bool> {
        let body_text = f64::from(st_hard.text[self.body].max(1));
        let dom = self.dom;
        let headline = self.headline();
        self.mask_with(|i, tag| {
            let layout = matches!(tag, "aside" | "footer" | "header");
            let share = f64::from(st_hard.text[i]) / body_text;
            let beside_headline = headline.is_some_and(|h| !(i < h && h < dom.end[i]));
            self.hints[i].comments || (layout && (share < WRAPPER_SHARE || beside_headline))
        })
    }

    /// The page's first `<h1>`, the headline as layout decisions see it.
    fn headline(&self) -> Option<usize> {
        (0..self.dom.len()).find(|&i| self.dom.tag(i) == "h1")
    }

    /// Where the last comment thread that `mask` removes ends (a node
    /// index), among those ending before node `before`.
    pub fn comments_end(&self, mask: &[bool], before: usize) -> Option<usize> {
        (0..before.min(self.dom.len()))
            .filter(|&i| self.hints[i].comments && mask.get(i).copied().unwrap_or(false))
            .map(|i| self.dom.end[i])
            .filter(|&end| end <= before)
            .max()
    }

    /// Bottom-up text/link/comma aggregates with `removed` subtrees ignored.
    pub fn stats(&self, removed: &[bool]) -> Stats {
        let dom = self.dom;
        let n = dom.len();
        let mut st = Stats {
            text: vec![0; n],
            link: vec![0; n],
            commas: vec![0; n],
            has_block: vec![false; n],
            in_link: Vec::new(),
            own: vec![0; n],
            own_commas: vec![0; n],
        };
        for i in (0..n).rev() {
            if removed[i] {
                continue;
            }
            let (len, commas) = self.text_len[i];
            if len > 0 {
                st.text[i] = st.text[i].saturating_add(len);
                if self.in_link[i] {
                    st.link[i] = st.link[i].saturating_add(len);
                }
                st.commas[i] = commas;
            }
            let p = dom.parent[i];
            if p != NONE {
                st.text[p] = st.text[p].saturating_add(st.text[i]);
                st.link[p] = st.link[p].saturating_add(st.link[i]);
                st.commas[p] = st.commas[p].saturating_add(st.commas[i]);
                let is_elem = dom.elem(i).is_some();
                if st.has_block[i] || (is_elem && is_block(dom.tag(i))) {
                    st.has_block[p] = true;
                } else {
                    st.own[p] = st.own[p].saturating_add(st.text[i]);
                    st.own_commas[p] = st.own_commas[p].saturating_add(st.commas[i]);
                }
            }
        }
        st.in_link = self.in_link.clone();
        st
    }

    /// Readability-style candidate scoring; returns the container nodes in
    /// document order and the winning container's score.
    pub fn containers(&self, st: &Stats, removed: &[bool]) -> (Vec<usize>, f64) {
        let dom = self.dom;
        let n = dom.len();
        let mut score = vec![0f64; n];
        let mut init = vec![false; n];
        for (i, &gone) in removed.iter().enumerate().take(n) {
            if gone {
                continue;
            }
            let tag = dom.tag(i);
            let para = match tag {
                "p" | "pre" | "td" => true,
                "div" | "section" | "article" | "main" | "blockquote" => !st.has_block[i],
                _ => false,
            };
            // Text loose in a container with block children counts as a
            // paragraph of that container (readability wraps such runs in <p>).
            // An inline element holding blocks (a CMS's `<span>` around the
            // whole post) is such a container too; a link is not.
            let loose = !para && st.has_block[i] && st.own[i] >= 25 && tag != "a";
            let (len, commas, start) = if para {
                (st.text[i], st.commas[i], dom.parent[i])
            } else if loose {
                (st.own[i], st.own_commas[i], i)
            } else {
                continue;
            };
            if len < 25 {
                continue;
            }
            let content = 1.0 + f64::from(commas) + (f64::from(len) / 100.0).min(3.0);
            let mut a = start;
            let mut level = 0usize;
            while a != NONE && level < 5 {
                if dom.elem(a).is_none() {
                    break;
                }
                if !init[a] {
                    init[a] = true;
                    score[a] = base_score(dom.tag(a)) + class_weight(&self.hints[a]);
                }
                let div = match level {
                    0 => 1.0,
                    1 => 2.0,
                    l => (l * 3) as f64,
                };
                score[a] += content / div;
                a = dom.parent[a];
                level += 1;
            }
        }
        // Final scores are damped by link density.
        let mut cands: Vec<(f64, usize)> = Vec::new();
        for i in 0..n {
            if init[i] {
                score[i] *= 1.0 - st.link_density(i);
                cands.push((score[i], i));
            }
        }
        cands.sort_by(|a, b| b.0.total_cmp(&a.0));
        let Some(&(top_score, first)) = cands.first() else {
            return (Vec::new(), 0.0);
        };
        let mut top = first;
        let inside = |anc: usize, j: usize| j > anc && j < dom.end[anc];

        // Several near-equal candidates under one ancestor: the ancestor is the article.
        let alts: Vec<usize> = cands
            .iter()
            .skip(1)
            .take(4)
            .filter(|(s, _)| top_score > 0.0 && s / top_score >= 0.75)
            .map(|&(_, i)| i)
            .collect();
        if alts.len() >= 3 {
            // Not out of the `<article>` that holds the page's headline:
            // near-equal candidates in other articles beside it are teasers
            // of other pages (a live blog's entries sit inside its article).
            let headline = self.headline();
            let mut art = top;
            while art != NONE && dom.tag(art) != "article" {
                art = dom.parent[art];
            }
            let headline_article =
                (art != NONE && headline.is_some_and(|h| inside(art, h))).then_some(art);
            let mut p = dom.parent[top];
            while p != NONE && p != self.body && dom.elem(p).is_some() {
                if headline_article.is_some_and(|art| inside(p, art)) {
                    break;
                }
                if alts.iter().filter(|&&a| inside(p, a)).count() >= 3 {
                    top = p;
                    break;
                }
                p = dom.parent[p];
            }
        }
        if !init[top] {
            init[top] = true;
            score[top] = base_score(dom.tag(top)) + class_weight(&self.hints[top]);
        }

        // A parent scoring higher than its child holds more of the article.
        let mut last = score[top];
        let threshold = last / 3.0;
        let mut p = dom.parent[top];
        while p != NONE && p != self.body && dom.elem(p).is_some() {
            if !init[p] {
                p = dom.parent[p];
                continue;
            }
            if score[p] < threshold {
                break;
            }
            if score[p] > last {
                top = p;
                break;
            }
            last = score[p];
            p = dom.parent[p];
        }

        // An only child says nothing the parent does not.
        loop {
            let p = dom.parent[top];
            if p == NONE || p == self.body || dom.elem(p).is_none() {
                break;
            }
            if self.element_children(p, removed).nth(1).is_some() {
                break;
            }
            top = p;
        }

        // Siblings that look like more of the same article are merged in.
        let p = dom.parent[top];
        let top_score = score[top];
        if p == NONE || dom.elem(p).is_none() {
            return (vec![top], top_score);
        }
        let min_score = (top_score * 0.2).max(10.0);
        let top_class = dom.elem(top).and_then(|e| e.attr("class")).unwrap_or("");
        let mut out = Vec::new();
        for s in self.element_children(p, removed) {
            if s == top {
                out.push(s);
                continue;
            }
            let mut bonus = 0.0;
            let class = dom.elem(s).and_then(|e| e.attr("class")).unwrap_or("");
            let same_class = !top_class.is_empty() && class == top_class;
            if same_class {
                bonus = top_score * 0.2;
            }
            let h = self.hints[s];
            if h.negative && !h.positive {
                continue;
            }
            if init[s] && score[s] + bonus >= min_score {
                out.push(s);
                continue;
            }
            // A section built like the winner whose paragraphs sit deeper than
            // scores propagate is more of the same article when it is mostly text.
            if same_class && !init[s] && st.text[s] > 80 && st.link_density(s) < 0.25 {
                out.push(s);
                continue;
            }
            if matches!(dom.tag(s), "p" | "div") && !st.has_block[s] {
                let len = st.text[s];
                let ld = st.link_density(s);
                if len > 80 && ld < 0.25 {
                    out.push(s);
                } else if len > 0 && len <= 80 && ld == 0.0 {
                    let t = dom.collapsed_text(s, removed);
                    if t.ends_with('.') || t.contains(". ") {
                        out.push(s);
                    }
                }
            }
        }
        (out, top_score)
    }

    /// Non-removed element children of `p`.
    fn element_children<'s>(
        &'s self,
        p: usize,
        removed: &'s [bool],
    ) -> impl Iterator<Item = usize> + 's {
        let dom = self.dom;
        let stop = dom.end[p];
        let mut j = p + 1;
        std::iter::from_fn(move || {
            while j < stop {
                let cur = j;
                j = dom.end[cur].max(cur + 1);
                if !removed[cur] && dom.elem(cur).is_some() {
                    return Some(cur);
                }
            }
            None
        })
    }

    /// An inline element with more of its parent's running text around it is
    /// part of a sentence (a formula, a term), whatever its class says; text
    /// marked for screen readers only stays hidden.
    fn in_running_text(&self, i: usize, st: &Stats) -> bool {
        let p = self.dom.parent[i];
        !self.hints[i].reader_only
            && !is_block(self.dom.tag(i))
            && !st.has_block[i]
            && p != NONE
            && st.own[p] > st.text[i].saturating_add(RUNNING_TEXT_CHARS)
    }

    /// Marks the nodes inside `roots` (not the roots themselves, which a
    /// source's rule named) that sit in an element whose class, id or role
    /// says boilerplate.
    pub fn boilerplate_inside(&self, roots: &[usize]) -> Vec<bool> {
        let dom = self.dom;
        let mut marked = vec![false; dom.len()];
        for &root in roots {
            for i in root + 1..dom.end[root].min(dom.len()) {
                let p = dom.parent[i];
                let h = self.hints[i];
                marked[i] = (p != NONE && p != root && marked[p]) || (h.negative && !h.positive);
            }
        }
        marked
    }

    /// True when an element inside the container is page furniture rather than text.
    pub fn skip_inside(&self, i: usize, st: &Stats, strict: bool) -> bool {
        let tag = self.dom.tag(i);
        if tag == "figure" {
            // A figure is an image or a video with its credits, unless it is
            // how the page frames a data table or a code listing (WordPress's
            // table block): then it is text, and only its caption goes.
            return !(i + 1..self.dom.end[i]).any(|j| matches!(self.dom.tag(j), "table" | "pre"));
        }
        if matches!(
            tag,
            "aside" | "footer" | "header" | "figcaption" | "nav" | "form" | "time"
        ) {
            return true;
        }
        let h = self.hints[i];
        if strict && h.negative && !h.positive && !self.in_running_text(i, st) {
            return true;
        }
        h.furniture && !h.positive && st.text[i] < 300
    }

    /// Collects text blocks under the container nodes.
    pub fn blocks(
        &self,
        roots: &[usize],
        st: &Stats,
        removed: &[bool],
        strict: bool,
    ) -> Vec<Block> {
        let mut out = Vec::new();
        for &r in roots {
            self.walk(r, st, removed, strict, &mut out);
        }
        out
    }

    /// Walks one container in document order, emitting leaf blocks and
    /// wrapping loose inline text in anonymous paragraphs (split at `<br>`).
    fn walk(&self, root: usize, st: &Stats, removed: &[bool], strict: bool, out: &mut Vec<Block>) {
        let dom = self.dom;
        let stop = dom.end[root];
        let mut run = Run::default();
        // Open containers: (end, group, ordered list?)
        let mut open: Vec<(usize, usize, bool)> = Vec::new();
        let mut i = root;
        while i < stop {
            while open.last().is_some_and(|&(e, _, _)| i >= e) {
                open.pop();
                self.flush(&mut run, out);
            }
            let group = open.last().map(|&(_, g, _)| g).unwrap_or(NONE);
            let ordered = open.last().map(|&(_, _, o)| o).unwrap_or(false);
            let next = dom.end[i].max(i + 1);
            if removed[i] {
                // A removed block still breaks the line: text on either side
                // of it is not one paragraph.
                if is_block(dom.tag(i)) {
                    self.flush(&mut run, out);
                }
                i = next;
                continue;
            }
            if let Some(t) = dom.text(i) {
                run.push_text(t, st.in_link[i]);
                if run.node == NONE {
                    run.node = i;
                }
                i += 1;
                continue;
            }
            let Some(e) = dom.elem(i) else {
                // A document/fragment root is descended into; comments are skipped.
                i = if i == root { i + 1 } else { next };
                continue;
            };
            let tag = e.name();
            if i != root && self.skip_inside(i, st, strict) {
                self.flush(&mut run, out);
                i = next;
                continue;
            }
            if tag == "br" || tag == "hr" {
                self.flush(&mut run, out);
                i = next;
                continue;
            }
            if tag == "tr" && self.row_is_leaf(i, st, removed) {
                self.flush(&mut run, out);
                let mut row = Run {
                    node: i,
                    ..Run::default()
                };
                for c in self.element_children(i, removed) {
                    let ctag = if dom.tag(c) == "th" { "th" } else { "td" };
                    row.html.push('<');
                    row.html.push_str(ctag);
                    row.html.push('>');
                    self.inline(c + 1, dom.end[c], removed, &mut row);
                    row.html.push_str("</");
                    row.html.push_str(ctag);
                    row.html.push('>');
                    row.text.push(' ');
                }
                let table = self.enclosing(i, "table");
                self.emit(row, Kind::Row, table, out);
                i = next;
                continue;
            }
            let block_tag = is_block(tag);
            if block_tag && !st.has_block[i] && i != root {
                self.flush(&mut run, out);
                let kind = match tag {
                    "h1" => Kind::H(1),
                    "h2" => Kind::H(2),
                    "h3" => Kind::H(3),
                    "h4" => Kind::H(4),
                    "h5" => Kind::H(5),
                    "h6" => Kind::H(6),
                    "li" => Kind::Li(ordered),
                    "pre" => Kind::Pre,
                    "blockquote" => Kind::Quote,
                    _ => Kind::P,
                };
                let mut b = Run {
                    node: i,
                    all_link: st.in_link[i],
                    ..Run::default()
                };
                self.inline(i + 1, dom.end[i], removed, &mut b);
                let g = if matches!(kind, Kind::Li(_)) {
                    group
                } else {
                    NONE
                };
                self.emit(b, kind, g, out);
                i = next;
                continue;
            }
            if block_tag || st.has_block[i] || i == root {
                self.flush(&mut run, out);
                let (g, o) = match tag {
                    "ul" => (i, false),
                    "ol" => (i, true),
                    _ => (group, ordered),
                };
                open.push((dom.end[i], g, o));
                i += 1;
                continue;
            }
            // Inline element: part of the current run.
            if run.node == NONE {
                run.node = i;
            }
            self.inline(i, next, removed, &mut run);
            i = next;
        }
        self.flush(&mut run, out);
    }

    /// A row whose cells hold only inline content becomes one block.
    fn row_is_leaf(&self, tr: usize, st: &Stats, removed: &[bool]) -> bool {
        self.element_children(tr, removed)
            .all(|c| matches!(self.dom.tag(c), "td" | "th") && !st.has_block[c])
    }

    /// The nearest ancestor with `tag` within a few levels (groups rows into tables).
    fn enclosing(&self, mut i: usize, tag: &str) -> usize {
        let mut steps = 0;
        while i != NONE && steps < 8 {
            if self.dom.tag(i) == tag {
                return i;
            }
            i = self.dom.parent[i];
            steps += 1;
        }
        NONE
    }

    /// Emits the pending inline run as an anonymous paragraph.
    fn flush(&self, run: &mut Run, out: &mut Vec<Block>) {
        let r = std::mem::take(run);
        if r.node != NONE {
            self.emit(r, Kind::P, NONE, out);
        }
    }

    /// Turns a finished run into a block unless it holds no text.
    fn emit(&self, r: Run, kind: Kind, group: usize, out: &mut Vec<Block>) {
        let text = collapse_ws_owned(r.text);
        if text.is_empty() {
            return;
        }
        out.push(Block {
            kind,
            text,
            html: r.html,
            group,
            node: r.node,
            link_len: r.link_len,
        });
    }

    /// Appends the inline content of `start..stop` to `run` (text and allowed inline tags).
    fn inline(&self, start: usize, stop: usize, removed: &[bool], run: &mut Run) {
        let dom = self.dom;
        // (end, closing tag, is link)
        let mut open: Vec<(usize, &'static str, bool)> = Vec::new();
        let mut links = 0usize;
        let mut j = start;
        while j < stop {
            while open.last().is_some_and(|&(e, _, _)| j >= e) {
                if let Some((_, t, l)) = open.pop() {
                    run.close(t);
                    if l {
                        links = links.saturating_sub(1);
                    }
                }
            }
            let next = dom.end[j].max(j + 1);
            if removed[j] {
                // A removed block still parts the words on either side of it.
                if is_block(dom.tag(j)) {
                    run.text.push(' ');
                }
                j = next;
                continue;
            }
            if let Some(t) = dom.text(j) {
                run.push_text(t, links > 0);
                j += 1;
                continue;
            }
            let Some(e) = dom.elem(j) else {
                j = next;
                continue;
            };
            let tag = e.name();
            if tag == "br" {
                run.html.push_str("<br>");
                run.text.push(' ');
                j = next;
                continue;
            }
            let (emit, is_link): (Option<&'static str>, bool) = match tag {
                "a" if is_link(e) => (Some("a"), true),
                "em" => (Some("em"), false),
                "strong" => (Some("strong"), false),
                "b" => (Some("b"), false),
                "i" => (Some("i"), false),
                "code" => (Some("code"), false),
                _ => (None, false),
            };
            if is_link {
                links += 1;
            }
            // Depth cap keeps the emitted HTML shallow whatever the input nesting.
            match emit {
                Some(t) if open.len() < 16 => {
                    run.html.push('<');
                    run.html.push_str(t);
                    if t == "a"
                        && let Some(href) = e.attr("href")
                    {
                        run.html.push_str(" href=\"");
                        escape_into(href.trim(), &mut run.html);
                        run.html.push('"');
                    }
                    run.html.push('>');
                    open.push((next, t, is_link));
                }
                _ => {
                    if is_link {
                        open.push((next, "", true));
                    } else if is_block(tag) {
                        run.text.push(' ');
                    }
                }
            }
            j += 1;
        }
        while let Some((_, t, _)) = open.pop() {
            run.close(t);
        }
    }
}

/// Readability's prior for a candidate container by tag.
fn base_score(tag: &str) -> f64 {
    match tag {
        "div" | "article" | "main" => 5.0,
        "pre" | "td" | "blockquote" => 3.0,
        "address" | "ol" | "ul" | "dl" | "dd" | "dt" | "li" | "form" => -3.0,
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "th" => -5.0,
        _ => 0.0,
    }
}

/// Text and HTML being accumulated for one block.
struct Run {
    text: String,
    html: String,
    link_len: usize,
    node: usize,
    /// The whole block sits inside a link.
    all_link: bool,
}

impl Default for Run {
    fn default() -> Self {
        Run {
            text: String::new(),
            html: String::new(),
            link_len: 0,
            node: NONE,
            all_link: false,
        }
    }
}

impl Run {
    /// Appends text (escaped into the HTML), counting link text.
    fn push_text(&mut self, t: &str, in_link: bool) {
        self.text.push_str(t);
        escape_into(t, &mut self.html);
        if in_link || self.all_link {
            self.link_len += collapsed_len(t.trim());
        }
    }

    /// Closes an emitted inline tag (`""` for suppressed ones).
    fn close(&mut self, tag: &str) {
        if !tag.is_empty() {
            self.html.push_str("</");
            self.html.push_str(tag);
            self.html.push('>');
        }
    }
}

/// HTML-escapes `s` onto `out`.
pub(crate) fn escape_into(s: &str, out: &mut String) {
    // Runs between the special (ASCII) bytes are copied whole: those bytes
    // are char boundaries, so every slice is valid UTF-8.
    let mut from = 0;
    for (at, b) in s.bytes().enumerate() {
        let with = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => continue,
        };
        out.push_str(s.get(from..at).unwrap_or_default());
        out.push_str(with);
        from = at + 1;
    }
    out.push_str(s.get(from..).unwrap_or_default());
}
