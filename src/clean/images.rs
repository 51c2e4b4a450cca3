//! The article's images: the figures inside the chosen containers (with
//! their captions, for `images` and for `<figure>` in `html`), and the first
//! framed image of the body as the lead image of a page that declares none.

use url::Url;

use super::Figure;
use super::dom::{Dom, NONE, attr, collapse_ws};
use super::extract::{Analysis, Stats};
use super::metadata::resolve;

/// Figures kept per article, at most.
const MAX_FIGURES: usize = 50;
/// Width (CSS pixels) below which a stated image is an icon, an avatar or a
/// pixel rather than an article's lead.
const LEAD_MIN_WIDTH: u32 = 300;
/// Attributes lazy-loading scripts keep the real source in, most specific first.
const LAZY_SOURCES: &[&str] = &[
    "data-src",
    "data-lazy-src",
    "data-original",
    "data-lazy",
    "data-url",
    "data-hi-res-src",
];
/// Attributes holding a `srcset`, the lazy one first.
const SRCSETS: &[&str] = &["data-srcset", "data-lazy-srcset", "srcset"];

/// A figure of the article and where it stands in the document.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    /// Flat position of the `<figure>` element.
    pub node: usize,
    /// What the article record says of it.
    pub figure: Figure,
}

/// The figures under `roots` that extraction walks past as furniture (and
/// the lead figure between the headline and the first root): not removed
/// by `mask`, not inside an element the walk skips (an aside, a "related"
/// box), each with its image and caption.
pub(crate) fn figures(
    an: &Analysis<'_, '_>,
    st: &Stats,
    mask: &[bool],
    roots: &[usize],
    strict: bool,
    base: Option<&Url>,
) -> Vec<Placed> {
    let dom = an.dom;
    let mut out = Vec::new();
    // The lead photo often stands between the headline and the body's
    // container, outside it: the first figure there is the article's.
    if let Some(&first) = roots.first()
        && let Some(h1) = (0..first).rev().find(|&j| dom.tag(j) == "h1")
    {
        let gap = dom.end[h1]..first;
        walk(an, st, mask, strict, base, gap, NONE, 1, &mut out);
    }
    for &root in roots {
        let body = root..dom.end[root];
        walk(
            an,
            st,
            mask,
            strict,
            base,
            body,
            root,
            MAX_FIGURES,
            &mut out,
        );
    }
    out
}

/// Collects the figures in `range` (pre-order positions) until `out` holds
/// `limit` more, skipping removed parts and furniture other than the
/// figures (except at `container`, a chosen root, which is never furniture).
#[allow(clippy::too_many_arguments)]
fn walk(
    an: &Analysis<'_, '_>,
    st: &Stats,
    mask: &[bool],
    strict: bool,
    base: Option<&Url>,
    range: std::ops::Range<usize>,
    container: usize,
    limit: usize,
    out: &mut Vec<Placed>,
) {
    let dom = an.dom;
    let goal = out.len().saturating_add(limit).min(MAX_FIGURES);
    let mut i = range.start;
    while i < range.end && out.len() < goal {
        let next = dom.end[i].max(i + 1);
        if mask.get(i).copied().unwrap_or(false) {
            i = next;
            continue;
        }
        let Some(e) = dom.elem(i) else {
            i += 1;
            continue;
        };
        // A figure that holds the range's end holds the body: not a figure of it.
        if e.name() == "figure" && next <= range.end {
            out.extend(figure(dom, i, mask, base).map(|figure| Placed { node: i, figure }));
            i = next;
        } else if i != container && an.skip_inside(i, st, strict) {
            i = next;
        } else {
            i += 1;
        }
    }
}

/// The image and caption of the `<figure>` at `at`; none without an image.
fn figure(dom: &Dom<'_>, at: usize, mask: &[bool], base: Option<&Url>) -> Option<Figure> {
    let inside = at + 1..dom.end[at];
    let (img, url) = inside
        .clone()
        .filter(|&j| dom.tag(j) == "img")
        .find_map(|j| Some((j, image_url(dom, j, base)?)))?;
    let caption = inside
        .clone()
        .find(|&j| dom.tag(j) == "figcaption")
        .map(|j| dom.collapsed_text(j, mask))
        .filter(|c| !c.is_empty());
    let alt = dom
        .elem(img)
        .and_then(|e| attr(e, "alt"))
        .map(collapse_ws)
        .filter(|a| !a.is_empty());
    Some(Figure { url, caption, alt })
}

/// The first image under `roots` (outside removed parts) that may lead the
/// article: framed as content (in a `<figure>` or `<picture>`, the only
/// images the input pass keeps) and not stated narrower than [`LEAD_MIN_WIDTH`].
pub(crate) fn lead_image(
    dom: &Dom<'_>,
    mask: &[bool],
    roots: &[usize],
    base: Option<&Url>,
) -> Option<Url> {
    for &root in roots {
        let stop = dom.end[root];
        let mut i = root;
        while i < stop {
            if mask.get(i).copied().unwrap_or(false) {
                i = dom.end[i].max(i + 1);
                continue;
            }
            if dom.tag(i) == "img"
                && !is_narrow(dom, i)
                && is_framed(dom, i, root)
                && let Some(url) = image_url(dom, i, base)
            {
                return Some(url);
            }
            i += 1;
        }
    }
    None
}

/// True when the image at `img` sits in a `<figure>` or `<picture>` at or
/// under `root`. The input pass keeps no other image, but with it off
/// (explaining) every image is parsed, and the lead must not change.
fn is_framed(dom: &Dom<'_>, img: usize, root: usize) -> bool {
    let mut p = dom.parent[img];
    while p != NONE && p >= root {
        if matches!(dom.tag(p), "figure" | "picture") {
            return true;
        }
        p = dom.parent[p];
    }
    false
}

/// True for an image whose `width` says it is an icon, an avatar or a pixel.
fn is_narrow(dom: &Dom<'_>, img: usize) -> bool {
    dom.elem(img)
        .and_then(|e| attr(e, "width"))
        .and_then(pixels)
        .is_some_and(|w| w < LEAD_MIN_WIDTH)
}

/// The real source of the `<img>` at `img`, absolute: a lazy-loading
/// attribute's, else the widest `srcset` candidate, else `src`.
fn image_url(dom: &Dom<'_>, img: usize, base: Option<&Url>) -> Option<Url> {
    let e = dom.elem(img)?;
    let lazy = LAZY_SOURCES.iter().filter_map(|a| attr(e, a));
    let srcset = SRCSETS
        .iter()
        .filter_map(|a| attr(e, a))
        .filter_map(|s| widest(s).map(|(_, url)| url));
    lazy.chain(srcset)
        .chain(attr(e, "src"))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .find_map(|s| resolve(s, base))
}

/// The widest candidate of a `srcset` ("a.jpg 480w, b.jpg 960w", or "2x"
/// densities, counted as 1000 px per x), with its width. A `data:`
/// placeholder (whose commas are not separators) has none.
fn widest(srcset: &str) -> Option<(u32, &str)> {
    if srcset.trim_start().starts_with("data:") {
        return None;
    }
    srcset
        .split(',')
        .filter_map(|candidate| {
            let mut parts = candidate.split_whitespace();
            let url = parts.next()?;
            let size = parts.next().unwrap_or("1x");
            let width = if let Some(w) = size.strip_suffix('w') {
                w.parse::<u32>().ok()?
            } else {
                let x: f32 = size.strip_suffix('x')?.parse().ok()?;
                // Saturating float-to-int cast: a huge density is just "large".
                (x * 1000.0) as u32
            };
            Some((width, url))
        })
        .max_by_key(|(w, _)| *w)
}

/// A `width` attribute's pixels ("640", "640px"); none for percentages.
fn pixels(v: &str) -> Option<u32> {
    let v = v.trim();
    v.strip_suffix("px").unwrap_or(v).trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_widest_srcset_candidate_wins_and_densities_count() {
        assert_eq!(
            widest("a.jpg 480w, b.jpg 960w, c.jpg 320w"),
            Some((960, "b.jpg"))
        );
        assert_eq!(widest("a.jpg, b.jpg 2x"), Some((2000, "b.jpg")));
        assert_eq!(widest(""), None);
        assert_eq!(widest("data:image/gif;base64,R0lGODlh 1x"), None);
        assert_eq!(pixels("640px"), Some(640));
        assert_eq!(pixels("100%"), None);
    }
}
