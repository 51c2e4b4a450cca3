//! Widening the chosen container to the rest of a fragmented article.
//!
//! Container scoring finds the block with the densest prose. Many templates
//! put each section of a long post (a guide, a review, a listicle, a live
//! blog's entries) in a container of its own, several levels below their
//! common ancestor, so the winner is one section and its cousins are out of
//! reach of the sibling merge. Here the selection climbs to an ancestor when
//! what the ancestor adds is itself prose (long blocks, few links) and adds
//! at least half as much again as the selection holds; page template (menus,
//! link lists, teasers' headlines, short labels) fails the first test, and a
//! related-stories box beside a whole article fails the second.
//!
//! Only lengths and link shares are compared, never words, so the rule reads
//! every language alike.

use super::dom::{NONE, is_block};
use super::extract::{Analysis, Stats};

/// A block of at least this many characters with few links is prose.
const PROSE_CHARS: usize = 80;
/// Link share above which a block is navigation, not prose.
const PROSE_MAX_LINK_SHARE: f64 = 0.3;
/// What an ancestor adds must be at least this share prose (by characters).
const ADDED_PROSE_SHARE: f64 = 0.6;
/// And at least this much of the selection's prose again.
const MIN_GAIN: f64 = 0.5;
/// Added prose this many times the chosen is a body, whatever its items look like.
const BODY_GAIN: f64 = 3.0;
/// At least one linked heading per this many added prose blocks marks a teaser list.
const TEASER_RATIO: usize = 3;
/// Ancestors tried above the selection.
const MAX_LEVELS: usize = 8;

/// Prose and total characters of some blocks.
#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    prose: usize,
    all: usize,
    /// Prose blocks.
    paragraphs: usize,
    /// Headings that are links, and blocks opening with one: teasers of other pages.
    linked_headings: usize,
}

impl Measure {
    /// One block of `chars` characters, `links` of them inside links.
    fn block(chars: usize, links: usize, heading: bool, opens_with_link: bool) -> Self {
        let mut m = Self::default();
        let share = links as f64 / chars.max(1) as f64;
        // A heading is neither, unless it is a link: every section has a
        // heading, but only teasers of other pages link theirs away.
        if heading && share <= PROSE_MAX_LINK_SHARE {
            return m;
        }
        m.all = chars;
        if heading {
            m.linked_headings = 1;
        } else if chars >= PROSE_CHARS && share <= PROSE_MAX_LINK_SHARE {
            m.prose = chars;
            m.paragraphs = 1;
            // An item that opens with a link and goes on in prose is a
            // headline with its summary.
            if links > 0 && opens_with_link {
                m.linked_headings = 1;
            }
        }
        m
    }

    fn add(&mut self, other: &Self) {
        self.prose = self.prose.saturating_add(other.prose);
        self.all = self.all.saturating_add(other.all);
        self.paragraphs = self.paragraphs.saturating_add(other.paragraphs);
        self.linked_headings = self.linked_headings.saturating_add(other.linked_headings);
    }
}

impl Analysis<'_, '_> {
    /// The chosen containers, or one ancestor of theirs that holds more of
    /// the same article (see the module comment). `roots` share a parent.
    pub fn widen(
        &self,
        roots: Vec<usize>,
        st: &Stats,
        removed: &[bool],
        strict: bool,
    ) -> Vec<usize> {
        let dom = self.dom;
        let Some(&first) = roots.first() else {
            return roots;
        };
        let parent = dom.parent[first];
        if parent == NONE || first == self.body {
            return roots;
        }
        let mut chosen = Measure::default();
        for &r in &roots {
            if let Some(m) = self.subtree_measures(r, st, removed, strict).first() {
                chosen.add(m);
            }
        }
        if chosen.prose == 0 {
            return roots;
        }
        // Most pages end here: the text outside the chosen containers could
        // not add half as much prose again, so no ancestor can win.
        let roots_text: u64 = roots.iter().map(|&r| u64::from(st.text[r])).sum();
        let outside = u64::from(st.text[self.body]).saturating_sub(roots_text);
        if (outside as f64) < MIN_GAIN * chosen.prose as f64 && !self.has_kin(parent, &roots, st) {
            return roots;
        }
        let body = self.body;
        let measures = self.subtree_measures(body, st, removed, strict);
        let mut best = None;
        // The roots' parent first: the sibling merge may have left some out.
        let mut a = parent;
        for _ in 0..MAX_LEVELS {
            if a == NONE || a == self.body || dom.elem(a).is_none() || removed[a] {
                break;
            }
            let wider = measures[a - body];
            let added_prose = wider.prose.saturating_sub(chosen.prose);
            let added_all = wider.all.saturating_sub(chosen.all);
            let added_paragraphs = wider.paragraphs.saturating_sub(chosen.paragraphs);
            let added_teasers = wider.linked_headings.saturating_sub(chosen.linked_headings);
            // Items that dwarf the chosen text are the body of a listicle
            // and the chosen text its introduction; teasers beside an
            // article are a fraction of it.
            let dwarfs = added_prose as f64 >= BODY_GAIN * chosen.prose as f64;
            // Other `<article>`s beside the chosen one: a list of other pages.
            if !dwarfs && self.other_articles(a, &roots, removed) >= 2 {
                break;
            }
            if added_all > 0 {
                let share = added_prose as f64 / added_all as f64;
                // A linked headline over every few summaries: a list of other pages.
                let teasers = !dwarfs
                    && added_teasers >= 2
                    && added_teasers.saturating_mul(TEASER_RATIO) >= added_paragraphs;
                if teasers {
                    break;
                }
                if share < ADDED_PROSE_SHARE {
                    // Past a lot of template the ancestors only gather more;
                    // a caption or a button beside the chosen text is no
                    // reason to stop looking.
                    let template = added_all.saturating_sub(added_prose);
                    if template as f64 >= MIN_GAIN * chosen.all as f64 {
                        break;
                    }
                } else if added_prose as f64 >= MIN_GAIN * chosen.prose as f64
                    || (a == parent && self.kin_prose(parent, &roots, &measures) * 2 >= added_prose)
                {
                    // Or, at the roots' own parent, when most of what it adds
                    // sits in siblings cut like the roots (a site builder's
                    // blocks, one per section): the same article, however
                    // little of it is left.
                    best = Some(a);
                }
            }
            a = dom.parent[a];
        }
        match best {
            Some(a) => vec![a],
            None => roots,
        }
    }

    /// The [`Measure`] of `root` and of every subtree in it (indexed from
    /// `root`), as if its blocks were collected: each text node counts for
    /// its nearest block element, and what the block walk would skip
    /// (furniture, removed subtrees) is left out. Linear passes over the
    /// flat DOM, no text built.
    fn subtree_measures(
        &self,
        root: usize,
        st: &Stats,
        removed: &[bool],
        strict: bool,
    ) -> Vec<Measure> {
        let dom = self.dom;
        let (start, stop) = (root, dom.end[root].min(dom.len()));
        let len = stop.saturating_sub(start);
        let mut measures = vec![Measure::default(); len];
        let mut gone = vec![false; len];
        let mut owner = vec![NONE; len];
        let mut chars = vec![0usize; len];
        let mut links = vec![0usize; len];
        // Whether the block's first text is inside a link (`None`: no text yet).
        let mut opens_with_link: Vec<Option<bool>> = vec![None; len];
        for (i, &cut) in removed.iter().enumerate().take(stop).skip(start) {
            let j = i - start;
            let p = dom.parent[i];
            let inside = i != start && p != NONE && p >= start;
            let is_elem = dom.elem(i).is_some();
            gone[j] = (inside && gone[p - start])
                || cut
                || (is_elem && i != start && self.skip_inside(i, st, strict));
            if gone[j] {
                continue;
            }
            owner[j] = if is_elem && is_block(dom.tag(i)) {
                i
            } else if inside {
                owner[p - start]
            } else {
                NONE
            };
            let text = self.text_len[i].0 as usize;
            let b = owner[j];
            if b != NONE && text > 0 && dom.text(i).is_some() {
                let b = b - start;
                let in_link = st.in_link.get(i).copied().unwrap_or(false);
                chars[b] = chars[b].saturating_add(text);
                if in_link {
                    links[b] = links[b].saturating_add(text);
                }
                opens_with_link[b].get_or_insert(in_link);
            }
        }
        for i in (start..stop).rev() {
            let j = i - start;
            if gone[j] {
                continue;
            }
            if chars[j] > 0 {
                let heading = matches!(dom.tag(i), "h1" | "h2" | "h3" | "h4" | "h5" | "h6");
                let own = Measure::block(
                    chars[j],
                    links[j],
                    heading,
                    opens_with_link[j].unwrap_or(false),
                );
                measures[j].add(&own);
            }
            let p = dom.parent[i];
            if i != start && p != NONE && p >= start {
                let m = measures[j];
                measures[p - start].add(&m);
            }
        }
        measures
    }

    /// The children of `parent` other than `roots` that have the tag and
    /// `class` of the first root: a site builder's other blocks.
    fn kin<'s>(&'s self, parent: usize, roots: &'s [usize]) -> impl Iterator<Item = usize> + 's {
        let dom = self.dom;
        let class = |i: usize| dom.elem(i).and_then(|e| e.attr("class"));
        let first = roots.first().copied();
        let shape = first.and_then(class);
        let mut j = parent.saturating_add(1);
        std::iter::from_fn(move || {
            let (first, shape) = (first?, shape?);
            while j < dom.end[parent] {
                let i = j;
                j = dom.end[i].max(i + 1);
                if !roots.contains(&i) && dom.tag(i) == dom.tag(first) && class(i) == Some(shape) {
                    return Some(i);
                }
            }
            None
        })
    }

    /// Whether some kin of `roots` (see [`Self::kin`]) holds text.
    fn has_kin(&self, parent: usize, roots: &[usize], st: &Stats) -> bool {
        self.kin(parent, roots).any(|i| st.text[i] > 0)
    }

    /// The prose in the kin of `roots` (`measures` indexed from the body).
    fn kin_prose(&self, parent: usize, roots: &[usize], measures: &[Measure]) -> usize {
        self.kin(parent, roots)
            .filter_map(|i| i.checked_sub(self.body).and_then(|k| measures.get(k)))
            .fold(0usize, |sum, m| sum.saturating_add(m.prose))
    }

    /// The `<article>` elements in `a` that neither hold nor sit inside the
    /// chosen `roots` (an author card, a list of teasers).
    fn other_articles(&self, a: usize, roots: &[usize], removed: &[bool]) -> usize {
        let dom = self.dom;
        let related = |j: usize| {
            roots
                .iter()
                .any(|&r| (j <= r && r < dom.end[j]) || (r <= j && j < dom.end[r]))
        };
        let mut count = 0usize;
        let mut j = a.saturating_add(1);
        while j < dom.end[a] {
            if removed[j] {
                j = dom.end[j].max(j + 1);
                continue;
            }
            if dom.tag(j) == "article" && !related(j) {
                count = count.saturating_add(1);
                // Nested ones count once.
                j = dom.end[j].max(j + 1);
                continue;
            }
            j += 1;
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use scraper::Html;

    use super::super::dom::Dom;
    use super::super::extract::Analysis;

    /// What `widen` makes of the first four children of `div#col` in `html`,
    /// with those four and the column's node.
    fn widen_first_four(html: &str) -> (Vec<usize>, Vec<usize>, usize) {
        let doc = Html::parse_document(html);
        let dom = Dom::build(&doc);
        let an = Analysis::new(&dom, &[]);
        let st = an.stats(&an.hard);
        let col = (0..dom.len())
            .find(|&i| dom.elem(i).and_then(|e| e.attr("id")) == Some("col"))
            .expect("the column");
        let blocks: Vec<usize> = (0..dom.len())
            .filter(|&i| dom.parent[i] == col && dom.elem(i).is_some())
            .collect();
        let roots = blocks[..4].to_vec();
        (an.widen(roots.clone(), &st, &an.hard, false), roots, col)
    }

    #[test]
    fn short_sections_in_blocks_cut_like_the_chosen_ones_widen_to_their_column() {
        let long = "<p>This paragraph walks through the work in detail, with the tools, the timing and what to watch for, so that a reader can follow it at home.</p>".repeat(3);
        let short = "<p>Check the seal once more before you close the lid for the night, then label the jar.</p>";
        let mut col = String::new();
        for _ in 0..4 {
            col.push_str(&format!(r#"<div class="block text">{long}</div>"#));
        }
        for _ in 0..3 {
            col.push_str(&format!(r#"<div class="block text">{short}</div>"#));
        }
        let html = format!(
            r#"<html><body><nav><a href="/">Home</a></nav><div id="col">{col}</div></body></html>"#
        );
        // The four long blocks chosen: what the three short ones add is
        // far less than half as much again, but they are cut the same way.
        let (widened, _, col) = widen_first_four(&html);
        assert_eq!(widened, vec![col]);
        // A box of another shape adding as little stays out.
        let html = html.replacen(
            r#"<div class="block text"><p>Check"#,
            r#"<div class="promo-box"><p>Check"#,
            3,
        );
        let (widened, roots, _) = widen_first_four(&html);
        assert_eq!(widened, roots);
    }
}
