//! The body HTML the cleaner wrote itself, sanitised without a second parse.
//!
//! [`super::sanitize`] builds the body's HTML from a few tags it writes
//! itself (blocks, lists, figures, inline emphasis, links) with escaped text,
//! then passes it through ammonia, which parses it again with html5ever,
//! filters the tree and serialises it: about a tenth of a whole clean. When
//! that HTML is exactly of the shape the cleaner writes, well nested, in the
//! places the tree builder leaves alone, parsing it gives back the tree it
//! describes, so ammonia's output is known without running it: the same
//! tags, the URL attributes checked (and resolved) as ammonia checks them,
//! text and attributes escaped as html5ever's serialiser escapes them.
//! [`sanitize_known`] writes that output, and gives up (`None`, and
//! ammonia runs) at anything else: a link inside a link, a `<pre>` whose
//! text starts with a line break (the parser drops it), an entity the
//! cleaner never writes, a character the parser would change (NUL, CR).
//! (A table's rows get a `<tbody>` from the parser, which ammonia's
//! allowlist takes out again, so a table comes out as written.) The tests
//! hold it to ammonia's output on generated bodies.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::OnceLock;

use url::Url;

/// One element the cleaner writes, open while its content is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tag {
    /// `<p>`, `<h2>`..`<h6>`, `<li>`, `<blockquote>`, `<pre>`, `<figcaption>`,
    /// `<td>`, `<th>`: inline content inside.
    Text(&'static str),
    /// `<ul>`, `<ol>`: list items (and line breaks between them) inside.
    List(&'static str),
    /// `<table>`: rows (and line breaks between them) inside.
    Table,
    /// `<tr>`: cells inside.
    Row,
    /// `<figure>`: an image and its caption inside.
    Figure,
    /// `<em>`, `<strong>`, `<b>`, `<i>`, `<code>`, `<a>`: inline content inside.
    Inline(&'static str),
}

impl Tag {
    /// The element's name.
    fn name(self) -> &'static str {
        match self {
            Tag::Text(n) | Tag::List(n) | Tag::Inline(n) => n,
            Tag::Table => "table",
            Tag::Row => "tr",
            Tag::Figure => "figure",
        }
    }

    /// Whether text and inline elements may sit directly inside.
    fn holds_inline(self) -> bool {
        matches!(self, Tag::Text(_) | Tag::Inline(_))
    }
}

/// Elements open at once, at most, in HTML the cleaner writes (a block, a
/// list or table wrapper and its item, and inline elements capped at 16).
const MAX_OPEN: usize = 32;

/// The element named `name` as the cleaner writes it, if it writes it.
fn known(name: &str) -> Option<Tag> {
    Some(match name {
        "p" => Tag::Text("p"),
        "h2" => Tag::Text("h2"),
        "h3" => Tag::Text("h3"),
        "h4" => Tag::Text("h4"),
        "h5" => Tag::Text("h5"),
        "h6" => Tag::Text("h6"),
        "li" => Tag::Text("li"),
        "blockquote" => Tag::Text("blockquote"),
        "pre" => Tag::Text("pre"),
        "figcaption" => Tag::Text("figcaption"),
        "td" => Tag::Text("td"),
        "th" => Tag::Text("th"),
        "table" => Tag::Table,
        "tr" => Tag::Row,
        "ul" => Tag::List("ul"),
        "ol" => Tag::List("ol"),
        "figure" => Tag::Figure,
        "em" => Tag::Inline("em"),
        "strong" => Tag::Inline("strong"),
        "b" => Tag::Inline("b"),
        "i" => Tag::Inline("i"),
        "code" => Tag::Inline("code"),
        "a" => Tag::Inline("a"),
        _ => return None,
    })
}

/// The URL schemes ammonia lets through (its defaults, which
/// [`super::sanitize`] keeps).
fn schemes() -> &'static HashSet<&'static str> {
    static SCHEMES: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SCHEMES.get_or_init(|| ammonia::Builder::default().clone_url_schemes())
}

/// What ammonia makes of a URL attribute's value: kept as written when
/// absolute with an allowed scheme, resolved against `base` (or kept, with
/// none) when relative, and `None` (the attribute goes) otherwise.
fn url_value<'v>(value: &'v str, base: Option<&Url>) -> Option<Cow<'v, str>> {
    match Url::parse(value) {
        Ok(url) => schemes()
            .contains(url.scheme())
            .then_some(Cow::Borrowed(value)),
        Err(url::ParseError::RelativeUrlWithoutBase) => match base {
            None => Some(Cow::Borrowed(value)),
            Some(base) => base.join(value).ok().map(|u| Cow::Owned(u.into())),
        },
        Err(_) => None,
    }
}

/// Undoes the cleaner's escaping (`&amp;`, `&lt;`, `&gt;`, `&quot;`) of
/// `s`; `None` for any other `&`, or a character the parser would change.
fn unescape(s: &str) -> Option<Cow<'_, str>> {
    if s.bytes().any(|b| b == 0 || b == b'\r') {
        return None;
    }
    if !s.contains('&') {
        return Some(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(rest.get(..at)?);
        let tail = rest.get(at..)?;
        let (c, len) = [
            ("&amp;", '&'),
            ("&lt;", '<'),
            ("&gt;", '>'),
            ("&quot;", '"'),
        ]
        .into_iter()
        .find(|(e, _)| tail.starts_with(e))
        .map(|(e, c)| (c, e.len()))?;
        out.push(c);
        rest = tail.get(len..)?;
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}

/// Escapes `s` onto `out` as html5ever's serialiser does (ammonia 4.2's
/// html5ever): `&`, no-break space, `<`, `>`, and in attributes `"`.
fn escape(s: &str, attr: bool, out: &mut String) {
    let mut from = 0;
    for (at, c) in s.char_indices() {
        let with = match c {
            '&' => "&amp;",
            '\u{a0}' => "&nbsp;",
            '"' if attr => "&quot;",
            '<' => "&lt;",
            '>' => "&gt;",
            _ => continue,
        };
        out.push_str(s.get(from..at).unwrap_or_default());
        out.push_str(with);
        from = at.saturating_add(c.len_utf8());
    }
    out.push_str(s.get(from..).unwrap_or_default());
}

/// [`escape`] of the [`unescape`] of the text `s` (no `<` in it), in one
/// pass: the cleaner's `&amp;`, `&lt;` and `&gt;` stay, `&quot;` becomes
/// `"`, a no-break space `&nbsp;`, a bare `>` `&gt;`. `None` where
/// [`unescape`] gives up.
fn transcode_text(s: &str, out: &mut String) -> Option<()> {
    let b = s.as_bytes();
    if memchr::memchr2(0, b'\r', b).is_some() {
        return None;
    }
    let mut from = 0;
    // Positions of `&`, `>` and the lead byte of U+00A0 (C2 A0): none is
    // inside an entity the loop steps over, and each is a char boundary.
    for at in memchr::memchr3_iter(b'&', b'>', 0xC2, b) {
        let (with, len) = match b.get(at..)? {
            [b'>', ..] => ("&gt;", 1),
            [0xC2, 0xA0, ..] => ("&nbsp;", 2),
            [0xC2, ..] => continue,
            tail if tail.starts_with(b"&quot;") => ("\"", 6),
            tail => ["&amp;", "&lt;", "&gt;"]
                .into_iter()
                .find(|e| tail.starts_with(e.as_bytes()))
                .map(|e| (e, e.len()))?,
        };
        out.push_str(s.get(from..at)?);
        out.push_str(with);
        from = at.saturating_add(len);
    }
    out.push_str(s.get(from..)?);
    Some(())
}

/// Reads `name="value"` at the start of `s` (after one space); returns the
/// value as written and the rest.
fn attribute<'s>(s: &'s str, name: &str) -> Option<(&'s str, &'s str)> {
    let s = s
        .strip_prefix(' ')?
        .strip_prefix(name)?
        .strip_prefix("=\"")?;
    let end = s.find('"')?;
    Some((s.get(..end)?, s.get(end + 1..)?))
}

/// Writes ` name="value"` for a URL attribute, as ammonia leaves it (or nothing).
fn url_attribute(name: &str, raw: &str, base: Option<&Url>, out: &mut String) -> Option<()> {
    let value = unescape(raw)?;
    if let Some(value) = url_value(&value, base) {
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        escape(&value, true, out);
        out.push('"');
    }
    Some(())
}

/// Ammonia's output for `raw`, when `raw` is HTML exactly as
/// [`super::sanitize`] writes it; `None` for anything else.
pub(super) fn sanitize_known(raw: &str, base: Option<&Url>) -> Option<String> {
    let mut out = String::with_capacity(raw.len() + raw.len() / 8);
    let mut open: Vec<Tag> = Vec::new();
    let mut rest = raw;
    while !rest.is_empty() {
        let top = open.last().copied();
        let Some(tag) = rest.strip_prefix('<') else {
            let end = memchr::memchr(b'<', rest.as_bytes()).unwrap_or(rest.len());
            let text = rest.get(..end)?;
            rest = rest.get(end..)?;
            if top.is_some_and(Tag::holds_inline) {
                transcode_text(text, &mut out)?;
            } else if matches!(top, None | Some(Tag::List(_) | Tag::Table))
                && text.bytes().all(|b| b == b'\n')
            {
                // The line breaks between blocks, list items and rows.
                out.push_str(text);
            } else {
                return None;
            }
            continue;
        };
        if let Some(end) = tag.strip_prefix('/') {
            let close = end.find('>')?;
            let name = end.get(..close)?;
            if top.map(Tag::name) != Some(name) {
                return None;
            }
            open.pop();
            out.push_str("</");
            out.push_str(name);
            out.push('>');
            rest = end.get(close + 1..)?;
            continue;
        }
        let name_len = tag.bytes().take_while(u8::is_ascii_alphanumeric).count();
        let name = tag.get(..name_len)?;
        let after = tag.get(name_len..)?;
        match name {
            "br" if top.is_some_and(Tag::holds_inline) => {
                rest = after.strip_prefix('>')?;
                out.push_str("<br>");
            }
            "img" if top == Some(Tag::Figure) => {
                let (src, after) = attribute(after, "src")?;
                out.push_str("<img");
                url_attribute("src", src, base, &mut out)?;
                let after = match attribute(after, "alt") {
                    Some((alt, after)) => {
                        out.push_str(" alt=\"");
                        escape(&unescape(alt)?, true, &mut out);
                        out.push('"');
                        after
                    }
                    None => after,
                };
                rest = after.strip_prefix('>')?;
                out.push('>');
            }
            _ => {
                let t = known(name)?;
                // The cleaner nests a few levels; deeper is not its shape
                // (and each check below stays cheap).
                if open.len() >= MAX_OPEN {
                    return None;
                }
                let fits = match t {
                    // Blocks stand at the top; a list item in a list; a caption in a figure.
                    Tag::Text("li") => matches!(top, Some(Tag::List(_))),
                    Tag::Text("figcaption") => top == Some(Tag::Figure),
                    Tag::Text("td" | "th") => top == Some(Tag::Row),
                    Tag::Row => top == Some(Tag::Table),
                    // The parser drops a line break just after `<pre>`.
                    Tag::Text("pre") => top.is_none() && !after.starts_with(">\n"),
                    Tag::Text(_) | Tag::List(_) | Tag::Table | Tag::Figure => top.is_none(),
                    // A link in a link is moved by the parser (adoption agency);
                    // three alike in a row meet its "Noah's Ark" limit.
                    Tag::Inline(n) => {
                        top.is_some_and(Tag::holds_inline)
                            && (n != "a" || !open.contains(&t))
                            && open.iter().filter(|&&o| o == t).count() < 2
                    }
                };
                if !fits {
                    return None;
                }
                out.push('<');
                out.push_str(name);
                let after = if name == "a" {
                    match attribute(after, "href") {
                        Some((href, after)) => {
                            url_attribute("href", href, base, &mut out)?;
                            after
                        }
                        None => after,
                    }
                } else {
                    after
                };
                rest = after.strip_prefix('>')?;
                out.push('>');
                open.push(t);
            }
        }
    }
    open.is_empty().then_some(out)
}

#[cfg(test)]
mod tests;
