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

use memchr::memmem;

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
    let inside_segment = |at: usize| segments.iter().any(|s| s.whole.contains(&at));
    // (range replaced, replacement) in document order, not overlapping.
    let mut edits: Vec<(std::ops::Range<usize>, &str)> = Vec::new();
    let mut moved = Vec::new();
    for (at, id) in placeholders(html) {
        if inside_segment(at) {
            continue;
        }
        let Some(seg) = segments.iter().position(|s| s.id == id) else {
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

/// Every `<div hidden id="S:n">` whose closing tag can be found.
fn segments(html: &str) -> Vec<Segment<'_>> {
    const START: &[u8] = b"<div hidden id=\"S:";
    let b = html.as_bytes();
    let mut out = Vec::new();
    for start in memmem::find_iter(b, START) {
        let id_from = start + START.len() - 2;
        let Some(quote) = b[id_from..].iter().position(|&c| c == b'"') else {
            continue;
        };
        let id = &html[id_from..id_from + quote];
        if !is_segment_id(id) || b.get(id_from + quote + 1) != Some(&b'>') {
            continue;
        }
        let inner_from = id_from + quote + 2;
        if let Some((inner_end, end)) = element_end(b, inner_from, b"div") {
            out.push(Segment {
                id,
                whole: start..end,
                inner: inner_from..inner_end,
            });
        }
    }
    out
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
    const CALL: &[u8] = b"$RC(\"";
    let b = html.as_bytes();
    memmem::find_iter(b, CALL)
        .filter_map(|at| {
            let rest = html.get(at + CALL.len()..)?;
            let (boundary, rest) = rest.split_once('"')?;
            let rest = rest.strip_prefix(",\"")?;
            let (segment, _) = rest.split_once('"')?;
            (is_segment_id(boundary) && is_segment_id(segment)).then_some((boundary, segment))
        })
        .collect()
}

/// `(position, segment id)` of every `<template id="B:n"></template>`.
fn placeholders(html: &str) -> Vec<(usize, String)> {
    const START: &[u8] = b"<template id=\"B:";
    let b = html.as_bytes();
    let pairs = pairs(html);
    memmem::find_iter(b, START)
        .filter_map(|at| {
            let id_from = at + START.len() - 2;
            let quote = b[id_from..].iter().position(|&c| c == b'"')?;
            let id = &html[id_from..id_from + quote];
            let rest = &b[id_from + quote..];
            (is_segment_id(id) && rest.starts_with(b"\"></template>")).then(|| {
                let paired = pairs.iter().find(|(boundary, _)| *boundary == id);
                let segment = paired.map_or_else(|| format!("S:{}", &id[2..]), |p| p.1.to_owned());
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
        .position(|c| !c.is_ascii_alphanumeric())
        .map_or(b.len(), |n| after + 1 + n);
    let name = &b[after + 1..name_end];
    if name.eq_ignore_ascii_case(b"template") {
        return Some(after);
    }
    let open_end = after + memmem::find(&b[after..], b">")? + 1;
    if b[open_end - 2] == b'/' || is_void(name) {
        return Some(open_end);
    }
    element_end(b, open_end, name).map(|(_, end)| end)
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
    fn a_page_without_segments_or_with_a_broken_one_is_left_alone() {
        assert_eq!(splice("<p>plain</p>"), None);
        let unclosed = "<template id=\"B:0\"></template><div>x</div><div hidden id=\"S:0\"><p>y";
        assert_eq!(splice(unclosed), None);
        let no_placeholder = "<p>a</p><div hidden id=\"S:3\"><p>y</p></div>";
        assert_eq!(splice(no_placeholder), None);
    }
}
