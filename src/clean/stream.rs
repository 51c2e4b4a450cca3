//! React's streamed HTML put where the browser puts it.
//!
//! A server-rendered React page that suspends sends its shell first, with a
//! fallback after each `<template id="B:n"></template>` placeholder
//! ("Loading paragraph..."), and the real content later as
//! `<div hidden id="S:n">…</div>` at the end of the body. A script then
//! swaps each segment in for its fallback, so that is what every reader
//! sees. Done here on the markup, before parsing, the article's text sits in
//! its own container again and the fallbacks are gone.
//!
//! Only the exact forms React writes are recognised, and a segment whose end
//! cannot be found is left where it is (the cleaner still reads it there).

use std::collections::HashMap;

use memchr::memmem;

/// How far after its placeholder a fallback must end.
const MAX_FALLBACK_BYTES: usize = 64 * 1024;
/// Segments nested inside segments are placed over this many rounds at most.
const MAX_ROUNDS: usize = 8;

/// The page with every streamed segment moved over its fallback; `None`
/// when the page has no segment that matches a placeholder.
pub(crate) fn splice(html: &str) -> Option<String> {
    // Nearly every page: one scan and nothing to do.
    memmem::find(html.as_bytes(), b"id=\"S:")?;
    let mut page: Option<String> = None;
    for _ in 0..MAX_ROUNDS {
        let current = page.as_deref().unwrap_or(html);
        match splice_once(current) {
            Some(next) => page = Some(next),
            None => break,
        }
    }
    page
}

/// A segment: the whole `<div hidden id="S:n">…</div>` and its content.
struct Segment<'a> {
    id: &'a str,
    whole: std::ops::Range<usize>,
    inner: std::ops::Range<usize>,
}

/// One round: every placeholder outside all segments gets its segment.
fn splice_once(html: &str) -> Option<String> {
    let segments = segments(html);
    if segments.is_empty() {
        return None;
    }
    // Segments in order of their start; the furthest end so far tells
    // whether a position lies inside any of them (they may nest).
    let mut furthest = Vec::with_capacity(segments.len());
    let mut reach = 0;
    for s in &segments {
        reach = reach.max(s.whole.end);
        furthest.push(reach);
    }
    let inside_segment = |at: usize| {
        let before = segments.partition_point(|s| s.whole.start <= at);
        before > 0 && furthest[before - 1] > at
    };
    let mut by_id: HashMap<&str, usize> = segments
        .iter()
        .enumerate()
        .map(|(k, s)| (s.id, k))
        .collect();
    // (range replaced, replacement) in document order, not overlapping.
    let mut edits: Vec<(std::ops::Range<usize>, &str)> = Vec::new();
    let mut moved = Vec::new();
    for (at, id) in placeholders(html) {
        if inside_segment(at) {
            continue;
        }
        // A segment fills one placeholder: a page repeating an id cannot
        // make the text grow.
        let Some(seg) = by_id.remove(id.as_str()) else {
            continue;
        };
        let Some(end) = fallback_end(html, at) else {
            continue;
        };
        edits.push((at..end, &html[segments[seg].inner.clone()]));
        moved.push(seg);
    }
    if edits.is_empty() {
        return None;
    }
    for seg in moved {
        edits.push((segments[seg].whole.clone(), ""));
    }
    edits.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(html.len());
    let mut from = 0;
    for (range, with) in edits {
        if range.start < from {
            // Overlaps an edit already made (malformed nesting): leave it.
            continue;
        }
        out.push_str(&html[from..range.start]);
        out.push_str(with);
        from = range.end;
    }
    out.push_str(&html[from..]);
    Some(out)
}

/// Every `<div hidden id="S:n">` whose closing tag can be found, in order
/// of their start: one pass over the page's `<div` and `</div` tags, so a
/// page of a million unclosed segments costs one scan, not a million.
fn segments(html: &str) -> Vec<Segment<'_>> {
    const START: &[u8] = b"<div hidden id=\"S:";
    let b = html.as_bytes();
    // Open divs: the segment each one starts, if any (id, start, inner start).
    let mut open: Vec<Option<(&str, usize, usize)>> = Vec::new();
    let mut out = Vec::new();
    for lt in memchr::memchr_iter(b'<', b) {
        if tag_is(b, lt + 1, b"div") {
            let segment = b[lt..].starts_with(START).then(|| {
                let id_from = lt + START.len() - 2;
                let quote = id_end(b, id_from)?;
                let id = html.get(id_from..quote)?;
                (is_segment_id(id) && b.get(quote + 1) == Some(&b'>')).then_some((
                    id,
                    lt,
                    quote + 2,
                ))
            });
            open.push(segment.flatten());
        } else if b.get(lt + 1) == Some(&b'/')
            && tag_is(b, lt + 2, b"div")
            // Every end tag closes the innermost open div, segment or not.
            && let Some(Some((id, start, inner))) = open.pop()
            && let Some(gt) = memchr::memchr(b'>', &b[lt..])
        {
            out.push(Segment {
                id,
                whole: start..lt + gt + 1,
                inner: inner..lt,
            });
        }
    }
    out.sort_by_key(|s| s.whole.start);
    out
}

/// Whether the tag name at `at` is `name` (ASCII case-insensitive, then a
/// space, `>` or `/`).
fn tag_is(b: &[u8], at: usize, name: &[u8]) -> bool {
    b.get(at..at + name.len())
        .is_some_and(|n| n.eq_ignore_ascii_case(name))
        && b.get(at + name.len())
            .is_some_and(|&c| c == b'>' || c == b'/' || c.is_ascii_whitespace())
}

/// The closing quote of an id starting at `from`, looked for only as far
/// as an id can be long.
fn id_end(b: &[u8], from: usize) -> Option<usize> {
    let window = b.get(from..b.len().min(from + 16))?;
    memchr::memchr(b'"', window).map(|q| from + q)
}

/// `S:` or `B:` followed by React's base-16 or base-36 counter.
fn is_segment_id(id: &str) -> bool {
    id.get(2..).is_some_and(|n| {
        !n.is_empty() && n.len() <= 12 && n.bytes().all(|c| c.is_ascii_alphanumeric())
    })
}

/// The segment each placeholder receives, from the page's own
/// `$RC("B:n","S:m")` calls; a page saved without its scripts pairs them by
/// number, which is how React counts them in the common case.
fn pairs(html: &str) -> Vec<(&str, &str)> {
    const CALL: &[u8] = b"$RC(\"B:";
    let b = html.as_bytes();
    memmem::find_iter(b, CALL)
        .filter_map(|at| {
            let from = at + CALL.len() - 2;
            let quote = id_end(b, from)?;
            let boundary = html.get(from..quote)?;
            let from = quote + 3;
            if b.get(quote..from) != Some(&b"\",\""[..]) {
                return None;
            }
            let segment = html.get(from..id_end(b, from)?)?;
            (is_segment_id(boundary) && is_segment_id(segment)).then_some((boundary, segment))
        })
        .collect()
}

/// `(position, segment id)` of every `<template id="B:n"></template>`.
fn placeholders(html: &str) -> Vec<(usize, String)> {
    const START: &[u8] = b"<template id=\"B:";
    let b = html.as_bytes();
    let pairs: HashMap<&str, &str> = pairs(html).into_iter().collect();
    memmem::find_iter(b, START)
        .filter_map(|at| {
            let id_from = at + START.len() - 2;
            let quote = id_end(b, id_from)?;
            let id = html.get(id_from..quote)?;
            let rest = &b[quote..];
            (is_segment_id(id) && rest.starts_with(b"\"></template>")).then(|| {
                let segment = pairs
                    .get(id)
                    .map_or_else(|| format!("S:{}", &id[2..]), |s| (*s).to_owned());
                (at, segment)
            })
        })
        .collect()
}

/// End of the placeholder at `at` and of the fallback element right after
/// it (React replaces both); just the placeholder when no element follows.
fn fallback_end(html: &str, at: usize) -> Option<usize> {
    let b = html.as_bytes();
    let after = at + memmem::find(&b[at..], b"</template>")? + "</template>".len();
    if b.get(after) != Some(&b'<') || !b.get(after + 1).is_some_and(u8::is_ascii_alphabetic) {
        return Some(after);
    }
    let name_end = b[after + 1..]
        .iter()
        .take(16)
        .position(|c| !c.is_ascii_alphanumeric())
        .map_or(b.len(), |n| after + 1 + n);
    if name_end == b.len() {
        return Some(after);
    }
    let name = &b[after + 1..name_end];
    if name.eq_ignore_ascii_case(b"template") {
        return Some(after);
    }
    let open_end = after + memchr::memchr(b'>', &b[after..])? + 1;
    if b[open_end - 2] == b'/' || is_void(name) {
        return Some(open_end);
    }
    // A fallback is a small skeleton; one not closed soon is not one.
    let window = &b[..b.len().min(open_end.saturating_add(MAX_FALLBACK_BYTES))];
    element_end(window, open_end, name).map(|(_, end)| end)
}

/// HTML elements without an end tag.
fn is_void(name: &[u8]) -> bool {
    [
        &b"br"[..],
        b"img",
        b"hr",
        b"input",
        b"meta",
        b"link",
        b"source",
        b"wbr",
    ]
    .iter()
    .any(|v| name.eq_ignore_ascii_case(v))
}

/// From just inside an element `name` at `from`: the start and end of its
/// matching end tag, counting nested elements of the same name.
fn element_end(b: &[u8], from: usize, name: &[u8]) -> Option<(usize, usize)> {
    let mut depth = 1usize;
    let mut i = from;
    while let Some(lt) = memchr::memchr(b'<', b.get(i..)?) {
        let at = i + lt;
        let closing = b.get(at + 1) == Some(&b'/');
        let name_at = at + 1 + usize::from(closing);
        let matches = b
            .get(name_at..name_at + name.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
            && b.get(name_at + name.len())
                .is_some_and(|&c| c == b'>' || c == b'/' || c.is_ascii_whitespace());
        i = at + 1;
        if !matches {
            continue;
        }
        if closing {
            depth -= 1;
            if depth == 0 {
                let end = at + memchr::memchr(b'>', &b[at..])? + 1;
                return Some((at, end));
            }
        } else {
            depth += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_replaces_its_fallback_and_leaves_the_end_of_the_body() {
        let page = "<main><h1>T</h1><template id=\"B:0\"></template><div>Loading...</div>\
                    <p>shell</p></main><div hidden id=\"S:0\"><div><p>Real text.</p></div></div>";
        assert_eq!(
            splice(page).as_deref(),
            Some("<main><h1>T</h1><div><p>Real text.</p></div><p>shell</p></main>")
        );
    }

    #[test]
    fn the_pages_own_calls_say_which_segment_fills_which_placeholder() {
        let page = "<main><template id=\"B:0\"></template><i>…</i><template id=\"B:1\"></template></main>\
                    <div hidden id=\"S:1f\"><p>first</p></div><div hidden id=\"S:0\"><p>second</p></div>\
                    <script>$RC(\"B:0\",\"S:1f\");$RC(\"B:1\",\"S:0\")</script>";
        assert_eq!(
            splice(page).as_deref(),
            Some(
                "<main><p>first</p><p>second</p></main><script>$RC(\"B:0\",\"S:1f\");$RC(\"B:1\",\"S:0\")</script>"
            )
        );
    }

    #[test]
    fn a_segment_inside_a_segment_is_placed_too() {
        let page = "<main><template id=\"B:0\"></template><i>…</i></main>\
                    <div hidden id=\"S:0\"><p>a</p><template id=\"B:1\"></template><b>…</b></div>\
                    <div hidden id=\"S:1\"><p>b</p></div>";
        assert_eq!(
            splice(page).as_deref(),
            Some("<main><p>a</p><p>b</p></main>")
        );
    }

    #[test]
    fn a_segment_fills_one_placeholder_however_often_its_id_is_repeated() {
        let page = format!(
            "<main>{}</main><div hidden id=\"S:0\"><p>once</p></div>",
            "<template id=\"B:0\"></template><i>…</i>".repeat(1000)
        );
        let out = splice(&page).expect("spliced");
        assert_eq!(out.matches("once").count(), 1);
    }

    #[test]
    fn many_unclosed_segments_are_one_linear_scan() {
        // None of them closes, so nothing moves (and the page is scanned once).
        let page = "<div hidden id=\"S:1\"><template id=\"B:1\"></template><div>".repeat(200_000);
        assert_eq!(splice(&page), None);
    }

    #[test]
    fn a_page_without_segments_or_with_a_broken_one_is_left_alone() {
        assert_eq!(splice("<p>plain</p>"), None);
        let unclosed = "<template id=\"B:0\"></template><div>x</div><div hidden id=\"S:0\"><p>y";
        assert_eq!(splice(unclosed), None);
        let no_placeholder = "<p>a</p><div hidden id=\"S:3\"><p>y</p></div>";
        assert_eq!(splice(no_placeholder), None);
    }
}
