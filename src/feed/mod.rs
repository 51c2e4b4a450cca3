//! Feed parsing: RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and JSON Feed, reduced to
//! the entries' absolute article links and their metadata.
//!
//! `feed-rs` parses; `recover` first turns the feed as served (any
//! encoding, stray `&`, HTML entities, old namespaces, links in the other
//! dialect's form, truncation) into XML `feed-rs` reads, and notes what it
//! repaired, after `charset` decoded it to UTF-8. `discover` finds the feed
//! an HTML page advertises.

mod chars;
mod charset;
mod discover;
mod recover;

use chrono::{DateTime, FixedOffset};
use url::Url;

pub use self::discover::discover;

/// Categories kept per entry, at most.
const MAX_CATEGORIES: usize = 30;
/// Characters of an entry's summary kept, at most: a feed that puts the
/// whole article there gives its opening, cut after a sentence.
const MAX_SUMMARY_CHARS: usize = 600;

/// One entry of a feed, reduced to what the pipeline needs.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    /// Absolute link to the article page.
    pub link: Url,
    /// Entry title, if the feed gives one.
    pub title: Option<String>,
    /// Publication time, else update time, if the feed gives one.
    pub published_at: Option<DateTime<FixedOffset>>,
    /// Author names.
    pub authors: Vec<String>,
    /// Category names (terms, else labels), de-duplicated.
    pub categories: Vec<String>,
    /// The entry's image: an image `media:content` or enclosure (the widest
    /// stated), else a `media:thumbnail`, else an Atom image enclosure link.
    pub image: Option<Url>,
    /// The entry's summary (RSS `description`, Atom `summary`, JSON Feed
    /// `summary`) as plain text, at most [`MAX_SUMMARY_CHARS`].
    pub summary: Option<String>,
}

/// A parsed feed.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// The entries with a usable link, in feed order.
    pub entries: Vec<FeedEntry>,
    /// Entries the document lists (`<item>`/`<entry>` elements, JSON items),
    /// with a link or not: more than zero while `entries` is empty means
    /// every entry was lost.
    pub listed: usize,
    /// What had to be repaired before the feed could be read, if anything.
    pub repairs: Vec<&'static str>,
}

/// A feed document that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The bytes are not a feed of any supported format.
    #[error("not a valid RSS, Atom or JSON feed: {0}")]
    Parse(String),
    /// The document is a feed format Thresher does not read.
    #[error("unsupported feed format: {0}")]
    Unsupported(String),
    /// The server sent an HTML page where a feed was expected.
    #[error("the URL serves an HTML page, not a feed")]
    Html {
        /// The feeds the page advertises, in page order.
        advertised: Vec<Url>,
    },
}

/// Parses a feed document; relative links resolve against `xml:base`
/// where the feed sets one, else against `feed_url`. `content_type` is the
/// HTTP header, whose `charset` is one clue to the encoding.
///
/// An empty body is an empty feed. Entries without a usable http(s) link
/// are skipped (and counted in [`Parsed::listed`]).
pub fn parse(body: &[u8], feed_url: &Url, content_type: Option<&str>) -> Result<Parsed, FeedError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Parsed::default());
    }
    let (text, replaced) = charset::decode_xml(body, content_type);
    let mut repairs = recover::Repairs::default();
    if replaced {
        repairs.note("bytes invalid in the encoding replaced");
    }
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url.as_str()))
        .build();
    // Thumbnails read beside feed-rs, one per entry, when they line up.
    let reduce_all = |feed: feed_rs::model::Feed, thumbnails: &[Option<String>]| {
        let listed = feed.entries.len();
        let aligned = thumbnails.len() == listed;
        let entries: Vec<FeedEntry> = feed
            .entries
            .into_iter()
            .enumerate()
            .filter_map(|(i, entry)| {
                let mut reduced = reduce(entry, feed_url)?;
                if reduced.image.is_none() && aligned {
                    let thumbnail = thumbnails.get(i).cloned().flatten();
                    reduced.image = thumbnail.and_then(|t| web_url(&t, feed_url));
                }
                Some(reduced)
            })
            .collect();
        (entries, listed)
    };
    if text.trim_start().starts_with('{') {
        let feed = parser
            .parse(text.as_bytes())
            .map_err(|e| FeedError::Parse(e.to_string()))?;
        let (entries, listed) = reduce_all(feed, &[]);
        return Ok(Parsed {
            entries,
            listed,
            repairs: repairs.list(),
        });
    }
    let recovered = recover::recover(&text, repairs);
    match recovered.root.as_deref() {
        None => return Err(FeedError::Parse("no root element".into())),
        // First: a feed's text may well mention `<html>`.
        Some("feed" | "entry" | "rss" | "RDF") => {}
        Some(root)
            if ["html", "head", "body"]
                .iter()
                .any(|tag| root.eq_ignore_ascii_case(tag))
                || looks_like_html(&text) =>
        {
            return Err(FeedError::Html {
                advertised: discover(&text, feed_url),
            });
        }
        Some(root) if root.eq_ignore_ascii_case("channel") => {
            return Err(FeedError::Unsupported(
                "CDF (Microsoft's Channel Definition Format); ask the site for RSS or Atom".into(),
            ));
        }
        Some(root) => {
            return Err(FeedError::Unsupported(format!(
                "the root element is <{root}>, not <rss>, <feed> or <rdf:RDF>"
            )));
        }
    }
    let feed = parser
        .parse(recovered.xml.as_bytes())
        .map_err(|e| FeedError::Parse(e.to_string()))?;
    let (entries, parsed) = reduce_all(feed, &recovered.thumbnails);
    Ok(Parsed {
        entries,
        listed: recovered.listed.max(parsed),
        repairs: recovered.repairs,
    })
}

/// An HTML page whose first element is not `<html>` (tag soup, a missing
/// root): the start of the text says what it is.
fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .chars()
        .take(512)
        .collect::<String>()
        .to_ascii_lowercase();
    head.contains("<!doctype html") || head.contains("<html")
}

fn reduce(entry: feed_rs::model::Entry, feed_url: &Url) -> Option<FeedEntry> {
    let link = article_link(&entry, feed_url)?;
    let image = entry_image(&entry, feed_url);
    let summary = entry
        .summary
        .as_ref()
        .and_then(|t| summary_text(&t.content));
    let title = entry
        .title
        .map(|t| t.content.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|t| !t.is_empty());
    let published_at = entry.published.or(entry.updated).map(|t| t.fixed_offset());
    let authors = entry
        .authors
        .into_iter()
        .filter_map(|p| p.name)
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    let mut categories: Vec<String> = Vec::new();
    for c in entry.categories.into_iter().take(MAX_CATEGORIES) {
        let name = c.label.filter(|l| !l.trim().is_empty()).unwrap_or(c.term);
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        if !name.is_empty() && name.chars().count() <= 100 && !categories.contains(&name) {
            categories.push(name);
        }
    }
    Some(FeedEntry {
        link,
        title,
        published_at,
        authors,
        categories,
        image,
        summary,
    })
}

/// `u` resolved against the feed's URL, when it is http(s).
fn web_url(u: &str, feed_url: &Url) -> Option<Url> {
    feed_url
        .join(u.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// The entry's image (see [`FeedEntry::image`]) as feed-rs gives it.
fn entry_image(entry: &feed_rs::model::Entry, feed_url: &Url) -> Option<Url> {
    let web = |u: &str| web_url(u, feed_url);
    let is_image_type = |t: &str| t.trim().to_ascii_lowercase().starts_with("image/");
    // Feeds often leave out the type of an image's `media:content`: its file name says it.
    let named_as_image = |u: &str| {
        let path = u
            .split(['?', '#'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        [".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif"]
            .iter()
            .any(|ext| path.ends_with(ext))
    };
    let mut best: Option<(u32, Url)> = None;
    for content in entry.media.iter().flat_map(|m| m.content.iter()) {
        let Some(url) = content.url.as_ref().map(url::Url::as_str) else {
            continue;
        };
        let image = match &content.content_type {
            Some(t) => is_image_type(t.as_str()),
            None => named_as_image(url),
        };
        let width = content.width.unwrap_or(0);
        if image
            && best.as_ref().is_none_or(|(w, _)| width > *w)
            && let Some(url) = web(url)
        {
            best = Some((width, url));
        }
    }
    if let Some((_, url)) = best {
        return Some(url);
    }
    let thumbnails = entry.media.iter().flat_map(|m| m.thumbnails.iter());
    let widest = thumbnails
        .filter_map(|t| Some((t.image.width.unwrap_or(0), web(&t.image.uri)?)))
        .fold(None, |best: Option<(u32, Url)>, (w, u)| match best {
            Some((bw, _)) if bw >= w => best,
            _ => Some((w, u)),
        });
    if let Some((_, url)) = widest {
        return Some(url);
    }
    entry
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("enclosure"))
        .filter(|l| l.media_type.as_deref().is_some_and(is_image_type))
        .find_map(|l| web(&l.href))
}

/// An entry's summary as plain text: markup and entities read as HTML,
/// whitespace collapsed; a long one cut after its last sentence within
/// [`MAX_SUMMARY_CHARS`] (else at a word, with an ellipsis). `None` when empty.
fn summary_text(raw: &str) -> Option<String> {
    let fragment = scraper::Html::parse_fragment(raw);
    let mut text = String::new();
    for node in fragment.root_element().descendants() {
        let Some(t) = node.value().as_text() else {
            continue;
        };
        let in_code = node
            .parent()
            .and_then(|p| p.value().as_element())
            .is_some_and(|e| matches!(e.name(), "script" | "style" | "noscript" | "template"));
        if !in_code {
            text.push_str(t);
            text.push(' ');
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return None;
    }
    if text.chars().count() <= MAX_SUMMARY_CHARS {
        return Some(text);
    }
    let head: String = text.chars().take(MAX_SUMMARY_CHARS).collect();
    // A full stop ends a sentence before a space; CJK stops need none.
    let sentence = head
        .char_indices()
        .rev()
        .find(|&(i, c)| {
            matches!(c, '。' | '！' | '？')
                || (matches!(c, '.' | '!' | '?')
                    && head[i + c.len_utf8()..].starts_with(char::is_whitespace))
        })
        .map(|(i, c)| i + c.len_utf8());
    match sentence {
        Some(end) if end >= MAX_SUMMARY_CHARS / 3 => Some(head[..end].to_string()),
        _ => {
            let cut = head.rfind(char::is_whitespace).unwrap_or(head.len());
            Some(format!("{}…", head[..cut].trim_end()))
        }
    }
}

/// The entry's article link: the `alternate` (or unlabelled) link, else a
/// permalink-looking id (RSS `<guid isPermaLink>` ends up there).
fn article_link(entry: &feed_rs::model::Entry, feed_url: &Url) -> Option<Url> {
    let resolve = |href: &str| {
        feed_url
            .join(href.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
    };
    let is_alternate = |rel: &Option<String>| rel.as_deref().is_none_or(|r| r == "alternate");
    entry
        .links
        .iter()
        .filter(|l| is_alternate(&l.rel))
        .chain(entry.links.iter())
        .find_map(|l| resolve(&l.href))
        .or_else(|| {
            // An id that is an absolute http(s) URL (`HTTP://` too) is the
            // entry's permalink when it has no link.
            let id = entry.id.trim();
            let scheme = id.split_once("://").map(|(scheme, _)| scheme);
            scheme
                .is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"))
                .then(|| Url::parse(id).ok())
                .flatten()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_url() -> Url {
        Url::parse("https://news.example/feeds/main.xml").expect("url")
    }

    #[test]
    fn rss2_links_resolve_and_metadata_is_kept() {
        let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
            <item><title> First   story </title><link>/2024/first.html</link>
              <pubDate>Tue, 05 Mar 2024 10:00:00 +0000</pubDate><author>ann@news.example (Ann)</author></item>
            <item><title>No link</title><guid isPermaLink="true">https://news.example/guid-link</guid></item>
            <item><title>Nothing usable</title><guid isPermaLink="false">tag:1</guid></item>
            </channel></rss>"#;
        let entries = parse(rss, &feed_url(), None).expect("parses").entries;
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[0].link.as_str(),
            "https://news.example/2024/first.html"
        );
        assert_eq!(entries[0].title.as_deref(), Some("First story"));
        assert!(entries[0].published_at.is_some());
        assert_eq!(entries[1].link.as_str(), "https://news.example/guid-link");
    }

    #[test]
    fn an_entrys_image_comes_from_media_content_enclosures_or_thumbnails() {
        let rss = |item: &str| {
            format!(
                r#"<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
                <channel><title>T</title><item><title>A</title><link>https://news.example/a</link>{item}</item></channel></rss>"#
            )
        };
        let image = |item: &str| {
            let entries = parse(rss(item).as_bytes(), &feed_url(), None)
                .expect("parses")
                .entries;
            entries[0].image.as_ref().map(|u| u.to_string())
        };
        // The widest image content wins; audio is no image.
        let contents = r#"<media:content url="https://cdn.example/small.jpg" width="150"/>
            <media:content url="https://cdn.example/big.jpg" width="1200" type="image/jpeg"/>
            <media:content url="https://cdn.example/clip.mp3" type="audio/mpeg" width="2000"/>"#;
        assert_eq!(
            image(contents).as_deref(),
            Some("https://cdn.example/big.jpg")
        );
        let enclosure =
            r#"<enclosure url="https://cdn.example/e.png" type="image/png" length="1"/>"#;
        assert_eq!(
            image(enclosure).as_deref(),
            Some("https://cdn.example/e.png")
        );
        let podcast =
            r#"<enclosure url="https://cdn.example/e.mp3" type="audio/mpeg" length="1"/>"#;
        assert_eq!(image(podcast), None);
        let thumbnail = r#"<media:thumbnail url="https://cdn.example/t.jpg" width="320"/>"#;
        assert_eq!(
            image(thumbnail).as_deref(),
            Some("https://cdn.example/t.jpg")
        );
        assert_eq!(image(""), None);
        // Atom: an enclosure link of an image type.
        let atom = br#"<?xml version="1.0" encoding="utf-8"?>
            <feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:t</id><updated>2024-03-05T10:00:00Z</updated>
            <entry><title>A</title><id>urn:a</id><updated>2024-03-05T10:00:00Z</updated>
              <link rel="alternate" href="https://news.example/a"/>
              <link rel="enclosure" type="image/webp" href="/img/a.webp"/></entry></feed>"#;
        let entries = parse(atom, &feed_url(), None).expect("parses").entries;
        assert_eq!(
            entries[0].image.as_ref().map(Url::as_str),
            Some("https://news.example/img/a.webp")
        );
    }

    #[test]
    fn an_entrys_summary_is_plain_text_and_a_whole_article_there_is_cut_after_a_sentence() {
        let summary = |raw: &str| summary_text(raw);
        assert_eq!(
            summary("<p>The council <b>agreed</b> a budget &amp; a plan.</p><script>x()</script>")
                .as_deref(),
            Some("The council agreed a budget & a plan.")
        );
        assert_eq!(summary("  <p> </p> "), None);
        let long = "The council met on Tuesday. ".repeat(40);
        let cut = summary(&long).expect("a summary");
        assert!(cut.chars().count() <= MAX_SUMMARY_CHARS, "{cut}");
        assert!(cut.ends_with("Tuesday."), "{cut}");
        let cjk = "市议会周二开会。".repeat(100);
        let cut = summary(&cjk).expect("a summary");
        assert!(
            cut.ends_with('。') && cut.chars().count() <= MAX_SUMMARY_CHARS,
            "{cut}"
        );
        let one_sentence = "word ".repeat(200);
        let cut = summary(&one_sentence).expect("a summary");
        assert!(cut.ends_with("word…"), "{cut}");
        let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
            <item><title>A</title><link>https://news.example/a</link>
            <description>&lt;p&gt;The council agreed a budget.&lt;/p&gt;</description></item></channel></rss>"#;
        let entries = parse(rss, &feed_url(), None).expect("parses").entries;
        assert_eq!(
            entries[0].summary.as_deref(),
            Some("The council agreed a budget.")
        );
    }

    #[test]
    fn rss1_rdf_is_parsed() {
        let rdf = br#"<?xml version="1.0"?>
            <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
            <channel rdf:about="https://news.example/"><title>T</title><link>https://news.example/</link></channel>
            <item rdf:about="https://news.example/a"><title>A</title><link>https://news.example/a</link></item>
            </rdf:RDF>"#;
        let entries = parse(rdf, &feed_url(), None).expect("parses").entries;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].link.as_str(), "https://news.example/a");
    }

    #[test]
    fn atom_prefers_the_alternate_link_and_resolves_xml_base() {
        let atom = br#"<?xml version="1.0" encoding="utf-8"?>
            <feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:t</id><updated>2024-03-05T10:00:00Z</updated>
            <entry><title>A</title><id>urn:a</id><updated>2024-03-05T10:00:00Z</updated>
              <link rel="edit" href="/edit/a"/><link rel="alternate" href="stories/a.html"/>
              <author><name>Bea</name></author></entry>
            </feed>"#;
        let entries = parse(atom, &feed_url(), None).expect("parses").entries;
        assert_eq!(
            entries[0].link.as_str(),
            "https://news.example/feeds/stories/a.html"
        );
        assert_eq!(entries[0].authors, vec!["Bea".to_string()]);
    }

    #[test]
    fn json_feed_is_parsed() {
        let json = br#"{"version":"https://jsonfeed.org/version/1.1","title":"T",
            "items":[{"id":"1","url":"https://news.example/j/1","title":"J","date_published":"2024-03-05T10:00:00Z"}]}"#;
        let entries = parse(json, &feed_url(), None).expect("parses").entries;
        assert_eq!(entries[0].link.as_str(), "https://news.example/j/1");
        assert_eq!(entries[0].title.as_deref(), Some("J"));
    }

    #[test]
    fn empty_body_is_an_empty_feed_and_garbage_an_error() {
        let empty = parse(b"  \n", &feed_url(), None).expect("empty ok");
        assert!(empty.entries.is_empty() && empty.listed == 0);
        assert!(matches!(
            parse(b"\x00\xff garbage {", &feed_url(), None),
            Err(FeedError::Parse(_))
        ));
        let err = parse(
            b"<!DOCTYPE html><html><body>hi</body></html>",
            &feed_url(),
            None,
        )
        .expect_err("html");
        assert!(matches!(err, FeedError::Html { .. }), "{err}");
    }

    #[test]
    fn a_truncated_feed_keeps_the_entries_before_the_cut() {
        let truncated = b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>\
            <item><title>A</title><link>https://news.example/a</link></item><item><title>cut";
        let parsed = parse(truncated, &feed_url(), None).expect("recovered");
        let links: Vec<&str> = parsed.entries.iter().map(|e| e.link.as_str()).collect();
        assert_eq!(links, ["https://news.example/a"]);
        assert_eq!(parsed.listed, 2);
        assert!(
            parsed.repairs.contains(&"elements left open at the end"),
            "{:?}",
            parsed.repairs
        );
    }

    #[test]
    fn cdf_and_unknown_roots_are_named_as_unsupported() {
        let cdf = b"<?xml version=\"1.0\"?><CHANNEL HREF=\"http://x/\"><ITEM HREF=\"http://x/a\"/></CHANNEL>";
        let err = parse(cdf, &feed_url(), None).expect_err("cdf");
        assert!(
            err.to_string().contains("unsupported feed format: CDF"),
            "{err}"
        );
        let err = parse(b"<opml><head/></opml>", &feed_url(), None).expect_err("opml");
        assert!(err.to_string().contains("<opml>"), "{err}");
        let soup = parse(
            b"<head><title>News</title></head><body>hi</body>",
            &feed_url(),
            None,
        );
        assert!(matches!(soup, Err(FeedError::Html { .. })));
    }
}
