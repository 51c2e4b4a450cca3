//! The character-level half of feed recovery: what makes XML ill-formed
//! before any tag is read. Browsers and mature feed readers accept all of
//! these; a strict XML parser refuses the whole feed for one of them.
//!
//! - a stray `&` (`?a=1&b=2` in a link) becomes `&amp;`;
//! - an HTML entity (`&nbsp;`, `&eacute;`, declared by no DTD the parser
//!   reads) becomes a character reference; an unknown one is dropped;
//! - a character reference to a C1 control (`&#150;`, cp1252 written as a
//!   number) becomes the character cp1252 means, as HTML does; one to a
//!   character XML forbids is dropped;
//! - a `<` that cannot start markup (`a < b`) becomes `&lt;`;
//! - control characters XML forbids are dropped.
//!
//! CDATA sections, comments, processing instructions and the DOCTYPE pass
//! untouched. One forward pass, linear in the document.

use std::borrow::Cow;

use super::recover::Repairs;

/// The longest entity or character reference looked for, `;` included.
const MAX_REFERENCE: usize = 40;

/// `text` with the character-level faults above repaired, each noted in `repairs`.
pub(super) fn fix<'a>(text: &'a str, repairs: &mut Repairs) -> Cow<'a, str> {
    let b = text.as_bytes();
    let mut out = Out {
        src: text,
        buf: None,
        done: 0,
    };
    // Inside a tag, the quote that opened the current attribute value.
    let mut in_tag = false;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if in_tag {
            match (c, quote) {
                (b'"' | b'\'', None) => quote = Some(c),
                (q, Some(open)) if q == open => quote = None,
                (b'>', None) => in_tag = false,
                (b'&', Some(_)) => {
                    i = reference(b, i, &mut out, repairs);
                    continue;
                }
                (b'<', Some(_)) => {
                    out.replace(i, 1, "&lt;");
                    repairs.note("'<' in an attribute value");
                }
                _ => {}
            }
            i = control(b, i, &mut out, repairs);
            continue;
        }
        match c {
            b'<' => {
                let rest = &b[i..];
                let skip_to = |end: &[u8], from: usize| {
                    memchr::memmem::find(&b[i + from..], end)
                        .map_or(b.len(), |at| i + from + at + end.len())
                };
                if rest.starts_with(b"<![CDATA[") {
                    i = skip_to(b"]]>", 9);
                } else if rest.starts_with(b"<!--") {
                    i = skip_to(b"-->", 4);
                } else if rest.starts_with(b"<?") {
                    i = skip_to(b"?>", 2);
                } else if rest.starts_with(b"<!") {
                    // A DOCTYPE, with an internal subset in brackets when it has one.
                    let close = memchr::memchr(b'>', rest).unwrap_or(rest.len());
                    i = if rest[..close].contains(&b'[') {
                        skip_to(b"]>", 2)
                    } else {
                        i + close + 1
                    };
                } else if rest.get(1).is_some_and(|n| {
                    n.is_ascii_alphabetic() || matches!(n, b'_' | b':' | b'/') || *n >= 0x80
                }) {
                    in_tag = true;
                    i += 1;
                } else {
                    out.replace(i, 1, "&lt;");
                    repairs.note("a bare '<' in text");
                    i += 1;
                }
            }
            b'&' => i = reference(b, i, &mut out, repairs),
            _ => i = control(b, i, &mut out, repairs),
        }
    }
    out.finish()
}

/// Handles the byte at `i` as plain text: drops it (and notes it) when it
/// starts a character XML forbids. Returns the next index.
fn control(b: &[u8], i: usize, out: &mut Out<'_>, repairs: &mut Repairs) -> usize {
    let c = b[i];
    if c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r') {
        out.replace(i, 1, "");
        repairs.note("control characters");
        return i + 1;
    }
    // U+FFFE and U+FFFF (EF BF BE, EF BF BF) are not XML characters either.
    if c == 0xEF && b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF)) {
        out.replace(i, 3, "");
        repairs.note("control characters");
        return i + 3;
    }
    i + 1
}

/// Repairs the reference starting with the `&` at `i`; returns the index after it.
fn reference(b: &[u8], i: usize, out: &mut Out<'_>, repairs: &mut Repairs) -> usize {
    let window = &b[i + 1..b.len().min(i + 1 + MAX_REFERENCE)];
    let Some(semi) = window.iter().position(|&c| c == b';') else {
        out.replace(i, 1, "&amp;");
        repairs.note("a stray '&'");
        return i + 1;
    };
    let body = &window[..semi];
    let end = i + 1 + semi + 1;
    if let Some(number) = body.strip_prefix(b"#") {
        let code = match number.first() {
            Some(b'x' | b'X') => parse_radix(&number[1..], 16),
            _ => parse_radix(number, 10),
        };
        let Some(code) = code else {
            out.replace(i, 1, "&amp;");
            repairs.note("a stray '&'");
            return i + 1;
        };
        match resolve_code(code) {
            Some(c) if u32::from(c) == code => {}
            Some(c) => {
                out.replace(i, end - i, &format!("&#x{:X};", u32::from(c)));
                repairs.note("a cp1252 character reference");
            }
            None => {
                out.replace(i, end - i, "");
                repairs.note("a reference to a character XML forbids");
            }
        }
        return end;
    }
    if body.is_empty() || !body.iter().all(u8::is_ascii_alphanumeric) {
        out.replace(i, 1, "&amp;");
        repairs.note("a stray '&'");
        return i + 1;
    }
    if matches!(body, b"amp" | b"lt" | b"gt" | b"quot" | b"apos") {
        return end;
    }
    // Only ASCII alphanumerics, so the slice is a str.
    let name = std::str::from_utf8(&b[i + 1..end]).unwrap_or_default();
    match web_atoms::NAMED_ENTITIES.get(name) {
        Some(&(first, second)) => {
            let mut numeric = format!("&#x{first:X};");
            if second != 0 {
                numeric.push_str(&format!("&#x{second:X};"));
            }
            out.replace(i, end - i, &numeric);
            repairs.note("HTML entities");
        }
        None => {
            out.replace(i, end - i, "");
            repairs.note("undefined entities");
        }
    }
    end
}

/// The digits of a character reference as a number, if they are one.
fn parse_radix(digits: &[u8], radix: u32) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, radix).ok()
}

/// The character a reference to `code` stands for: itself when XML allows
/// it, the cp1252 character for a C1 control (as HTML reads it), else none.
fn resolve_code(code: u32) -> Option<char> {
    if (0x80..=0x9F).contains(&code) {
        let byte = [u8::try_from(code).ok()?];
        let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&byte);
        return text.chars().next().filter(|c| u32::from(*c) != code);
    }
    let c = char::from_u32(code)?;
    let allowed = matches!(code, 0x9 | 0xA | 0xD)
        || (0x20..=0xD7FF).contains(&code)
        || (0xE000..=0xFFFD).contains(&code)
        || (0x10000..=0x10FFFF).contains(&code);
    allowed.then_some(c)
}

/// Output built lazily: borrowed until the first repair.
struct Out<'a> {
    src: &'a str,
    buf: Option<String>,
    done: usize,
}

impl<'a> Out<'a> {
    /// Replaces `len` bytes at `at` (at or after everything replaced so far) with `with`.
    fn replace(&mut self, at: usize, len: usize, with: &str) {
        let buf = self
            .buf
            .get_or_insert_with(|| String::with_capacity(self.src.len() + 64));
        buf.push_str(&self.src[self.done..at]);
        buf.push_str(with);
        self.done = at + len;
    }

    fn finish(self) -> Cow<'a, str> {
        match self.buf {
            None => Cow::Borrowed(self.src),
            Some(mut buf) => {
                buf.push_str(&self.src[self.done..]);
                Cow::Owned(buf)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(text: &str) -> (String, Vec<&'static str>) {
        let mut repairs = Repairs::default();
        let out = fix(text, &mut repairs).into_owned();
        (out, repairs.list())
    }

    #[test]
    fn well_formed_xml_is_returned_as_it_is() {
        let text = "<?xml version=\"1.0\"?><rss a='x&amp;y'><t>&lt;b&gt; &#233; &#x1F600;</t><![CDATA[a & b < c]]><!-- & --></rss>";
        let mut repairs = Repairs::default();
        assert!(matches!(fix(text, &mut repairs), Cow::Borrowed(_)));
        assert!(repairs.list().is_empty());
    }

    #[test]
    fn stray_ampersands_are_escaped_in_text_and_attributes() {
        let (out, repairs) = fixed("<link href=\"/a?x=1&y=2\">/b?x=1&y=2 & c</link>");
        assert_eq!(
            out,
            "<link href=\"/a?x=1&amp;y=2\">/b?x=1&amp;y=2 &amp; c</link>"
        );
        assert_eq!(repairs, ["a stray '&'"]);
    }

    #[test]
    fn html_entities_become_references_and_unknown_ones_go() {
        let (out, _) = fixed("<t>a&nbsp;b&eacute;&bogus;c&#150;d&#0;</t>");
        assert_eq!(out, "<t>a&#xA0;b&#xE9;c&#x2013;d</t>");
    }

    #[test]
    fn a_bare_less_than_and_control_characters_are_repaired() {
        let (out, _) = fixed("<t>1 < 2\u{1}\u{FFFE}</t>");
        assert_eq!(out, "<t>1 &lt; 2</t>");
    }
}
