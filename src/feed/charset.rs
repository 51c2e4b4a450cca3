//! Decoding a feed's bytes to UTF-8 as [`crate::clean::decode_html`] does a
//! page's, with the XML declaration's `encoding` as the document's own label.

use crate::clean::decode::{decode, find, label};

/// Decodes an XML document (a feed) to UTF-8 the way [`crate::clean::decode_html`] does
/// an HTML page, with the XML declaration's `encoding` in place of
/// `<meta charset>`. Also says whether bytes were malformed and replaced
/// by U+FFFD: one stray byte must not cost a whole feed.
pub fn decode_xml(bytes: &[u8], content_type: Option<&str>) -> (String, bool) {
    decode(bytes, content_type, declared_encoding)
}

/// The `encoding` of an `<?xml …?>` declaration at the start of the document.
fn declared_encoding(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = &bytes[..bytes.len().min(1024)];
    let start = find(head, b"<?xml")?;
    let end = find(&head[start..], b"?>").map_or(head.len(), |e| start + e);
    let decl = &head[start..end];
    let at = find(decl, b"encoding")? + b"encoding".len();
    let rest = &decl[at..];
    let rest = rest
        .trim_ascii_start()
        .strip_prefix(b"=")?
        .trim_ascii_start();
    let quote = *rest.first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let value = &rest[1..];
    let value = &value[..value.iter().position(|b| *b == quote)?];
    std::str::from_utf8(value).ok().and_then(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_without_any_label_in_windows_1252_is_detected() {
        let bytes = b"<rss><channel><item><title>Caf\xe9 \x93crise\x94 \xe0 Paris, d\xe9j\xe0 vu</title></item></channel></rss>";
        let (text, replaced) = decode_xml(bytes, Some("application/rss+xml"));
        assert!(text.contains("Café “crise” à Paris"), "{text}");
        assert!(!replaced);
    }

    #[test]
    fn the_xml_declaration_names_the_encoding_and_a_stray_byte_is_replaced() {
        let bytes = b"<?xml version='1.0' encoding = 'ISO-8859-15'?><rss>\xa4</rss>";
        assert!(decode_xml(bytes, None).0.contains('€'));
        let bytes = "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss>é\u{fffd}</rss>".as_bytes();
        let mut bytes = bytes.to_vec();
        bytes.push(0xff);
        let (text, replaced) = decode_xml(&bytes, None);
        assert!(replaced && text.contains("é"), "{text}");
    }
}
