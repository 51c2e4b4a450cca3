//! Feed recovery: the feed as served, made into XML that `feed-rs` reads.
//!
//! `feed-rs` parses well-formed RSS 0.9x/1.0/2.0 and Atom 1.0. Feeds in the
//! wild are often neither, and a strict parser turns each fault into a
//! refused feed or, worse, a feed with no entries. This pass, in one
//! streaming read with `quick-xml`, rewrites what a mature feed reader
//! accepts into what `feed-rs` understands:
//!
//! - decoding (BOM, HTTP charset, XML declaration, detection) and the
//!   character-level faults of [`super::chars`];
//! - Atom 0.3 (`http://purl.org/atom/ns#`) and Atom without a namespace
//!   become Atom 1.0, their `issued`/`modified` dates `published`/`updated`;
//! - RSS 2.0 in the Userland namespace loses the namespace; an `<rss>`
//!   without a version (or 0.93, 2.01…) reads as 2.0;
//! - an Atom `<link>` whose URL is its text gets it as `href`; an RSS
//!   `<link href="…"/>` gets it as text;
//! - end tags that close nothing are dropped, misnested ones close what they
//!   skip, and what is open at the end (a truncated feed) is closed;
//! - nesting beyond [`MAX_DEPTH`] is flattened.
//!
//! Every repair is noted so the poll can say the feed was recovered.

use std::collections::BTreeSet;

use quick_xml::Reader;
use quick_xml::escape::{escape, unescape};
use quick_xml::events::{BytesStart, Event};

/// Atom 1.0's namespace.
const ATOM: &str = "http://www.w3.org/2005/Atom";
/// Atom 0.3's namespace.
const ATOM_03: &str = "http://purl.org/atom/ns#";
/// Namespaces RSS 2.0 was once published in; `feed-rs` reads RSS 2.0 without one.
const RSS_USERLAND: [&str; 2] = [
    "http://backend.userland.com/rss2",
    "http://backend.userland.com/rss",
];
/// Open elements kept; deeper start tags are dropped (their text stays).
const MAX_DEPTH: usize = 256;

/// What recovery had to repair, for the log.
#[derive(Debug, Default)]
pub(super) struct Repairs(BTreeSet<&'static str>);

impl Repairs {
    /// Records one kind of repair.
    pub(super) fn note(&mut self, what: &'static str) {
        self.0.insert(what);
    }

    /// The kinds of repair made, sorted.
    pub(super) fn list(self) -> Vec<&'static str> {
        self.0.into_iter().collect()
    }
}

/// A feed document made readable.
pub(super) struct Recovered {
    /// Well-formed UTF-8 XML.
    pub xml: String,
    /// Local name of the root element, as written.
    pub root: Option<String>,
    /// `<item>` and `<entry>` elements seen: what the feed lists.
    pub listed: usize,
    /// For each of those, in order, the URL of its widest `media:thumbnail`
    /// (feed-rs keeps a thumbnail only beside a `media:content`).
    pub thumbnails: Vec<Option<String>>,
    /// The kinds of repair made.
    pub repairs: Vec<&'static str>,
}

/// The dialect the root element announced, which decides what a `<link>` is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Atom,
    Rss,
    Other,
}

/// An element whose text is being collected: a `<link>` to rewrite.
struct Capture {
    /// The start tag as it will be written (name and attributes).
    name: String,
    attrs: Vec<(String, String)>,
    /// Its text so far, unescaped.
    text: String,
    /// Elements opened inside it (dropped).
    nested: usize,
}

/// Recovers `text`, an XML feed already decoded to UTF-8.
pub(super) fn recover(text: &str, mut repairs: Repairs) -> Recovered {
    let fixed = super::chars::fix(text, &mut repairs);
    let mut reader = Reader::from_str(&fixed);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    config.check_comments = false;
    let mut pass = Pass {
        out: String::with_capacity(fixed.len() + 128),
        stack: Vec::new(),
        root: None,
        dialect: Dialect::Other,
        atom_prefixes: BTreeSet::new(),
        default_is_atom: false,
        atom_03: false,
        dropped_prefixes: BTreeSet::new(),
        capture: None,
        listed: 0,
        thumbnails: Vec::new(),
        repairs,
    };
    pass.out
        .push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => pass.start(&e, false),
            Ok(Event::Empty(e)) => pass.start(&e, true),
            Ok(Event::End(e)) => pass.end(e.name().as_ref()),
            Ok(Event::Text(t)) => pass.text(&t, false),
            Ok(Event::GeneralRef(r)) => pass.text(&format!("&{};", &*r), false),
            Ok(Event::CData(c)) => pass.text(&c, true),
            // The declaration is rewritten above (the text is UTF-8 now); a
            // DOCTYPE's entities were resolved by `chars`; comments and
            // processing instructions mean nothing to a feed.
            Ok(Event::Decl(_) | Event::DocType(_) | Event::Comment(_) | Event::PI(_)) => {}
            Err(_) => {
                pass.repairs.note("malformed or truncated XML");
                break;
            }
        }
        if pass.root.is_some() && pass.stack.is_empty() && pass.capture.is_none() {
            // The root element ended: anything after it is not the feed.
            break;
        }
    }
    pass.finish_capture();
    if !pass.stack.is_empty() {
        pass.repairs.note("elements left open at the end");
    }
    while let Some(name) = pass.stack.pop() {
        pass.close(&name);
    }
    Recovered {
        xml: pass.out,
        root: pass.root,
        listed: pass.listed,
        thumbnails: pass
            .thumbnails
            .into_iter()
            .map(|t| t.map(|(_, url)| url))
            .collect(),
        repairs: pass.repairs.list(),
    }
}

/// The state of one recovery pass.
struct Pass {
    out: String,
    /// Names (as written) of the open elements.
    stack: Vec<String>,
    root: Option<String>,
    dialect: Dialect,
    /// Prefixes bound to an Atom namespace.
    atom_prefixes: BTreeSet<String>,
    /// Unprefixed elements are Atom (the root is an Atom feed or entry).
    default_is_atom: bool,
    /// The document is Atom 0.3, whose element names differ.
    atom_03: bool,
    /// Prefixes bound to the Userland RSS namespace, stripped from names.
    dropped_prefixes: BTreeSet<String>,
    capture: Option<Capture>,
    listed: usize,
    /// Each item's widest thumbnail so far: its stated width and URL.
    thumbnails: Vec<Option<(u32, String)>>,
    repairs: Repairs,
}

impl Pass {
    fn start(&mut self, e: &BytesStart<'_>, empty: bool) {
        if let Some(capture) = &mut self.capture {
            // Markup inside a link's URL: ignored, its text still counts.
            if !empty {
                capture.nested += 1;
            }
            return;
        }
        let raw_name = e.name().as_ref().to_string();
        let mut attrs = self.attributes(e);
        let is_root = self.root.is_none();
        if is_root {
            self.read_root(&raw_name, &mut attrs);
        }
        let name = self.rename(&raw_name);
        let local = local_name(&name).to_ascii_lowercase();
        if matches!(local.as_str(), "item" | "entry") {
            self.listed += 1;
            self.thumbnails.push(None);
        }
        if local == "thumbnail"
            && let Some(slot) = self.thumbnails.last_mut()
            && let Some((_, url)) = attrs.iter().find(|(k, _)| k == "url")
        {
            let width = attrs
                .iter()
                .find(|(k, _)| k == "width")
                .and_then(|(_, w)| w.trim().parse().ok())
                .unwrap_or(0);
            if slot.as_ref().is_none_or(|(w, _)| width > *w) {
                *slot = Some((width, url.trim().to_string()));
            }
        }
        if self.stack.len() >= MAX_DEPTH {
            self.repairs.note("nesting too deep");
            return;
        }
        if local == "link" && !empty && self.is_link_to_rewrite(&name) {
            self.capture = Some(Capture {
                name,
                attrs,
                text: String::new(),
                nested: 0,
            });
            return;
        }
        if local == "link" && empty && self.dialect == Dialect::Rss && !self.is_atom(&name) {
            // RSS has the URL as text; `<link href="…"/>` is Atom's way.
            if let Some((_, href)) = attrs.iter().find(|(k, _)| k == "href") {
                self.repairs.note("an RSS link given as href");
                let href = href.clone();
                self.write_link_text(&name, &href);
            }
            return;
        }
        self.write_start(&name, &attrs, empty);
        if !empty {
            self.stack.push(name);
        }
    }

    fn end(&mut self, raw_name: &str) {
        if let Some(capture) = &mut self.capture {
            if capture.nested > 0 {
                capture.nested -= 1;
                return;
            }
            let closes_link = local_name(raw_name).eq_ignore_ascii_case("link");
            self.finish_capture();
            if closes_link {
                return;
            }
        }
        let name = self.rename(raw_name);
        let Some(open) = self.stack.iter().rposition(|n| *n == name) else {
            self.repairs.note("end tags that close nothing");
            return;
        };
        if open + 1 < self.stack.len() {
            self.repairs.note("misnested elements");
        }
        while self.stack.len() > open {
            if let Some(name) = self.stack.pop() {
                self.close(&name);
            }
        }
    }

    /// Appends text (`raw` escaped, or CDATA content when `cdata`).
    fn text(&mut self, raw: &str, cdata: bool) {
        if let Some(capture) = &mut self.capture {
            if cdata {
                capture.text.push_str(raw);
            } else {
                capture
                    .text
                    .push_str(&unescape(raw).unwrap_or(std::borrow::Cow::Borrowed(raw)));
            }
            return;
        }
        if self.stack.is_empty() {
            // Text outside the root element is not part of the feed.
            return;
        }
        if cdata {
            // `]]>` cannot occur inside; the content goes back as it came.
            self.out.push_str("<![CDATA[");
            self.out.push_str(raw);
            self.out.push_str("]]>");
        } else {
            self.out.push_str(raw);
        }
    }

    /// Writes the link being captured, its URL moved where the dialect wants it.
    fn finish_capture(&mut self) {
        let Some(Capture {
            name,
            mut attrs,
            text,
            ..
        }) = self.capture.take()
        else {
            return;
        };
        let text = text.trim().to_string();
        let href = attrs
            .iter()
            .find(|(k, _)| k == "href")
            .map(|(_, v)| v.clone());
        if self.is_atom(&name) {
            if href.is_none() && !text.is_empty() {
                self.repairs.note("an Atom link given as text");
                attrs.push(("href".into(), text));
            }
            self.write_start(&name, &attrs, true);
        } else {
            let url = if text.is_empty() { href } else { Some(text) };
            if let Some(url) = url {
                self.write_link_text(&name, &url);
            }
        }
    }

    fn write_link_text(&mut self, name: &str, url: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self.out.push_str(&escape(url));
        self.close(name);
    }

    fn write_start(&mut self, name: &str, attrs: &[(String, String)], empty: bool) {
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            self.out.push_str(&escape(value.as_str()));
            self.out.push('"');
        }
        self.out.push_str(if empty { "/>" } else { ">" });
    }

    fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// The element's attributes, unescaped, namespace declarations mapped;
    /// a malformed or repeated attribute is left out.
    fn attributes(&mut self, e: &BytesStart<'_>) -> Vec<(String, String)> {
        let mut attrs: Vec<(String, String)> = Vec::new();
        for attr in e.html_attributes().with_checks(false) {
            let Ok(attr) = attr else {
                self.repairs.note("malformed attributes");
                continue;
            };
            let key = attr.key.as_ref().to_string();
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .unwrap_or_else(|_| attr.value.to_string());
            if attrs.iter().any(|(k, _)| *k == key) {
                self.repairs.note("repeated attributes");
                continue;
            }
            let prefix = key.strip_prefix("xmlns").and_then(|rest| {
                if rest.is_empty() {
                    Some(String::new())
                } else {
                    rest.strip_prefix(':').map(str::to_string)
                }
            });
            if let Some(prefix) = prefix {
                let uri = value.trim();
                if RSS_USERLAND.contains(&uri) {
                    self.repairs.note("RSS 2.0 in a namespace");
                    self.dropped_prefixes.insert(prefix);
                    continue;
                }
                if uri == ATOM_03 {
                    self.repairs.note("Atom 0.3");
                    self.atom_03 = true;
                    self.atom_prefixes.insert(prefix);
                    attrs.push((key, ATOM.to_string()));
                    continue;
                }
                if uri == ATOM {
                    self.atom_prefixes.insert(prefix);
                }
            }
            attrs.push((key, value));
        }
        attrs
    }

    /// Learns the dialect from the root element and fixes what `feed-rs`
    /// needs there: Atom's namespace, RSS's version.
    fn read_root(&mut self, raw_name: &str, attrs: &mut Vec<(String, String)>) {
        let name = self.rename(raw_name);
        let local = local_name(&name);
        self.root = Some(local.to_string());
        let prefix = prefix_of(&name);
        match local {
            "feed" | "entry" => {
                self.dialect = Dialect::Atom;
                if prefix.is_none() {
                    if !attrs.iter().any(|(k, _)| k == "xmlns") {
                        self.repairs.note("Atom without its namespace");
                        attrs.push(("xmlns".into(), ATOM.into()));
                        self.atom_prefixes.insert(String::new());
                        if attrs
                            .iter()
                            .any(|(k, v)| k == "version" && v.trim() == "0.3")
                        {
                            self.atom_03 = true;
                        }
                    }
                    self.default_is_atom = self.atom_prefixes.contains("");
                }
            }
            "rss" => {
                self.dialect = Dialect::Rss;
                let version = attrs.iter().position(|(k, _)| k == "version");
                let known =
                    version.is_some_and(|at| matches!(attrs[at].1.trim(), "2.0" | "0.91" | "0.92"));
                if !known {
                    self.repairs.note("an RSS version feed-rs does not know");
                    attrs.retain(|(k, _)| k != "version");
                    attrs.push(("version".into(), "2.0".into()));
                }
            }
            "RDF" => self.dialect = Dialect::Rss,
            _ => {}
        }
    }

    /// Whether the element is in an Atom namespace.
    fn is_atom(&self, name: &str) -> bool {
        match prefix_of(name) {
            Some(prefix) => self.atom_prefixes.contains(prefix),
            None => self.default_is_atom,
        }
    }

    /// A `<link>` with content whose URL may need moving: Atom's when it
    /// has no `href`, RSS's inside an item.
    fn is_link_to_rewrite(&self, name: &str) -> bool {
        if self.is_atom(name) {
            return true;
        }
        self.dialect == Dialect::Rss
            && prefix_of(name).is_none()
            && self
                .stack
                .iter()
                .any(|open| local_name(open).eq_ignore_ascii_case("item"))
    }

    /// The element name to write: the Userland prefix stripped, Atom 0.3
    /// names mapped to Atom 1.0's.
    fn rename(&self, raw: &str) -> String {
        let name = match prefix_of(raw) {
            Some(prefix) if self.dropped_prefixes.contains(prefix) => local_name(raw),
            _ => raw,
        };
        if self.atom_03 && self.is_atom(name) {
            let renamed = match local_name(name) {
                "issued" => Some("published"),
                "modified" => Some("updated"),
                "tagline" => Some("subtitle"),
                "copyright" => Some("rights"),
                _ => None,
            };
            if let Some(renamed) = renamed {
                return match prefix_of(name) {
                    Some(prefix) => format!("{prefix}:{renamed}"),
                    None => renamed.to_string(),
                };
            }
        }
        name.to_string()
    }
}

fn local_name(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, local)| local)
}

fn prefix_of(name: &str) -> Option<&str> {
    name.split_once(':').map(|(prefix, _)| prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Recovered {
        recover(text, Repairs::default())
    }

    #[test]
    fn atom_03_is_rewritten_to_atom_10() {
        let r = run(
            "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><entry><issued>2024-01-01T00:00:00Z</issued></entry></feed>",
        );
        assert!(
            r.xml.contains("xmlns=\"http://www.w3.org/2005/Atom\""),
            "{}",
            r.xml
        );
        assert!(r.xml.contains("<published>2024"), "{}", r.xml);
        assert_eq!(r.listed, 1);
        assert!(r.repairs.contains(&"Atom 0.3"));
    }

    #[test]
    fn truncated_and_misnested_feeds_are_closed() {
        let r =
            run("<rss version=\"2.0\"><channel><item><title>a</b></title><link>http://x/1</link>");
        assert!(r.xml.ends_with("</item></channel></rss>"), "{}", r.xml);
        assert!(r.repairs.contains(&"elements left open at the end"));
        assert!(r.repairs.contains(&"end tags that close nothing"));
    }

    #[test]
    fn link_urls_move_to_where_each_dialect_wants_them() {
        let r = run("<rss><channel><item><link href=\"http://x/1\"/></item></channel></rss>");
        assert!(r.xml.contains("<link>http://x/1</link>"), "{}", r.xml);
        assert!(r.xml.contains("version=\"2.0\""), "{}", r.xml);
        let r = run(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><link>http://x/?a=1&amp;b=2</link></entry></feed>",
        );
        assert!(
            r.xml.contains("<link href=\"http://x/?a=1&amp;b=2\"/>"),
            "{}",
            r.xml
        );
    }

    #[test]
    fn deep_nesting_is_flattened() {
        let text = format!("<rss><channel>{}</channel></rss>", "<div>".repeat(50_000));
        let r = run(&text);
        assert!(r.repairs.contains(&"nesting too deep"));
        assert!(r.xml.len() < 20_000, "{} bytes", r.xml.len());
    }
}
