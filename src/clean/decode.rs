//! Decoding fetched bytes to UTF-8: byte-order mark, valid UTF-8, the HTTP
//! `charset`, the document's own label (`<meta charset>` for HTML, the XML
//! declaration for feeds, read in `feed`), then detection with `chardetng`.

/// Decodes an HTML document to UTF-8: byte-order mark; then UTF-8 if the
/// bytes are valid UTF-8 with some non-ASCII in them; then the HTTP `charset`;
/// then `<meta charset>` in the first 1024 bytes; then detection (chardetng).
/// Never fails: undecodable bytes become U+FFFD.
///
/// The UTF-8 check comes before the labels (unlike the WHATWG order) because
/// labels are often stale (servers saying iso-8859-1, pages converted to UTF-8
/// but still declaring gb2312), while text in a legacy encoding that happens
/// to form valid multi-byte UTF-8 sequences practically never occurs.
pub fn decode_html(bytes: &[u8], content_type: Option<&str>) -> String {
    decode(bytes, content_type, meta_charset).0
}

/// [`decode_html`] of bytes the caller gives up: when they are already the
/// text (valid UTF-8 without a byte-order mark, or ASCII in an encoding
/// that reads ASCII as ASCII), they become the `String` without a copy.
pub fn decode_html_owned(bytes: Vec<u8>, content_type: Option<&str>) -> String {
    let encoding = choose(&bytes, content_type, meta_charset);
    let bom = encoding_rs::Encoding::for_bom(&bytes).is_some();
    let as_is = !bom
        && (encoding == encoding_rs::UTF_8 || (encoding.is_ascii_compatible() && bytes.is_ascii()));
    if !as_is {
        return decode(&bytes, content_type, meta_charset).0;
    }
    // Malformed UTF-8 is decoded as `decode_html` does (U+FFFD for each error).
    String::from_utf8(bytes).unwrap_or_else(|e| {
        let (text, _) = encoding_rs::UTF_8.decode_without_bom_handling(e.as_bytes());
        text.into_owned()
    })
}

/// The encoding the bytes are read in, in the order both decoders share,
/// with `own_label` reading the document's own declaration.
fn choose(
    bytes: &[u8],
    content_type: Option<&str>,
    own_label: fn(&[u8]) -> Option<&'static encoding_rs::Encoding>,
) -> &'static encoding_rs::Encoding {
    encoding_rs::Encoding::for_bom(bytes)
        .map(|(encoding, _)| encoding)
        .or_else(|| {
            (!bytes.is_ascii() && std::str::from_utf8(bytes).is_ok()).then_some(encoding_rs::UTF_8)
        })
        .or_else(|| content_type.and_then(charset_param).and_then(label))
        .or_else(|| own_label(bytes))
        .unwrap_or_else(|| detect(bytes))
}

/// The bytes decoded in the encoding [`choose`] picks; also whether
/// malformed bytes were replaced.
pub(crate) fn decode(
    bytes: &[u8],
    content_type: Option<&str>,
    own_label: fn(&[u8]) -> Option<&'static encoding_rs::Encoding>,
) -> (String, bool) {
    let encoding = choose(bytes, content_type, own_label);
    // `decode` strips a BOM and replaces malformed sequences.
    let (text, _, replaced) = encoding.decode(bytes);
    (text.into_owned(), replaced)
}

/// The encoding a label names (UTF-16 read as UTF-8, as WHATWG says for a label readable as ASCII).
pub(crate) fn label(name: &str) -> Option<&'static encoding_rs::Encoding> {
    let encoding = encoding_rs::Encoding::for_label(name.trim().as_bytes())?;
    // A page cannot really be UTF-16 if its meta tag is readable as ASCII; WHATWG maps it to UTF-8.
    if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
        Some(encoding_rs::UTF_8)
    } else {
        Some(encoding)
    }
}

/// The `charset` parameter of a `Content-Type` value.
fn charset_param(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']))
    })
}

/// A `<meta charset=…>` or `<meta http-equiv content="…; charset=…">` in the first 1024 bytes.
fn meta_charset(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = &bytes[..bytes.len().min(1024)];
    let lower: Vec<u8> = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(offset) = find(&lower[from..], b"<meta") {
        let start = from + offset;
        let end = find(&lower[start..], b">").map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(pos) = find(tag, b"charset=") {
            let value = &tag[pos + b"charset=".len()..];
            let value: Vec<u8> = value
                .iter()
                .copied()
                .skip_while(|b| *b == b'"' || *b == b'\'' || b.is_ascii_whitespace())
                .take_while(|b| {
                    !matches!(b, b'"' | b'\'' | b';' | b'/' | b'>') && !b.is_ascii_whitespace()
                })
                .collect();
            if let Some(encoding) = std::str::from_utf8(&value).ok().and_then(label) {
                return Some(encoding);
            }
        }
        from = start + 5;
    }
    None
}

/// Where `needle` first occurs in `haystack`.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// UTF-8 when the bytes are valid UTF-8, else chardetng's guess.
fn detect(bytes: &[u8]) -> &'static encoding_rs::Encoding {
    if std::str::from_utf8(bytes).is_ok() {
        return encoding_rs::UTF_8;
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    detector.guess(None, chardetng::Utf8Detection::Allow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owned_decoder_gives_what_the_borrowing_one_gives() {
        let pages: [(&[u8], Option<&str>); 9] = [
            (b"<p>plain ascii</p>", None),
            ("<p>caf\u{e9} \u{65e5}</p>".as_bytes(), None),
            (b"\xEF\xBB\xBF<p>bom</p>", None),
            (b"<p>caf\xe9</p>", Some("text/html; charset=windows-1252")),
            (
                b"<p>bad \xff\xfe utf-8</p>",
                Some("text/html; charset=utf-8"),
            ),
            (
                b"<p>ascii \x1b$B</p>",
                Some("text/html; charset=iso-2022-jp"),
            ),
            (b"<p>ascii</p>", Some("text/html; charset=iso-2022-kr")),
            (b"<meta charset=utf-16><p>x\xe9</p>", None),
            (b"\xFF\xFEa\x00", None),
        ];
        for (bytes, content_type) in pages {
            assert_eq!(
                decode_html_owned(bytes.to_vec(), content_type),
                decode_html(bytes, content_type),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn http_charset_decodes_windows_1252() {
        let bytes = b"<p>caf\xe9 \x93quoted\x94</p>";
        let text = decode_html(bytes, Some("text/html; charset=windows-1252"));
        assert_eq!(text, "<p>café “quoted”</p>");
    }

    #[test]
    fn meta_charset_is_honoured_without_http_charset() {
        let bytes = b"<html><head><meta charset=\"iso-8859-15\"></head><body>\xa4</body>";
        assert!(decode_html(bytes, Some("text/html")).contains('€'));
        let bytes =
            b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">\x93\xfa\x96\x7b";
        assert!(decode_html(bytes, None).contains("日本"));
    }

    #[test]
    fn valid_utf8_wins_over_a_stale_label() {
        let bytes = "<meta charset=\"gb2312\"><p>腾讯新闻 café</p>".as_bytes();
        assert_eq!(
            decode_html(bytes, Some("text/html; charset=iso-8859-1")),
            String::from_utf8_lossy(bytes)
        );
    }

    #[test]
    fn bom_wins_and_is_stripped() {
        let bytes = b"\xef\xbb\xbf<p>\xc3\xa9</p>";
        assert_eq!(
            decode_html(bytes, Some("text/html; charset=iso-8859-1")),
            "<p>é</p>"
        );
    }

    #[test]
    fn invalid_utf8_without_labels_is_detected_or_replaced() {
        let text = decode_html(b"<p>na\xefve caf\xe9 r\xe9sum\xe9 d\xe9j\xe0 vu</p>", None);
        assert!(text.contains("café"), "{text}");
        let text = decode_html(&[0xc3, 0x28, b'a'], Some("text/html; charset=utf-8"));
        assert!(text.ends_with('a'));
    }
}
