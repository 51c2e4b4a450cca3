//! Feed parsing: RSS 0.9x/1.0/2.0, Atom and JSON Feed, via the `feed-rs` crate,
//! reduced to the entries' absolute article links and their metadata.

use chrono::{DateTime, FixedOffset};
use url::Url;

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
}

/// A feed document that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The bytes are not a feed of any supported format.
    #[error("not a valid RSS, Atom or JSON feed: {0}")]
    Parse(String),
    /// The server sent an HTML page where a feed was expected.
    #[error("the URL serves an HTML page, not a feed")]
    Html,
}

/// Parses a feed document; relative links resolve against `feed_url`.
///
/// An empty body is an empty feed. Entries without a usable http(s) link are skipped.
pub fn parse(body: &[u8], feed_url: &Url) -> Result<Vec<FeedEntry>, FeedError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url.as_str()))
        .build();
    let feed = parser.parse(body).map_err(|error| {
        if looks_like_html(body) {
            FeedError::Html
        } else {
            FeedError::Parse(error.to_string())
        }
    })?;
    Ok(feed
        .entries
        .into_iter()
        .filter_map(|entry| reduce(entry, feed_url))
        .collect())
}

/// Feed URLs an HTML page advertises with `<link rel="alternate"
/// type="application/rss+xml|atom+xml|feed+json" href="…">`, in page order.
pub fn discover(html: &[u8], page_url: &Url) -> Vec<Url> {
    let text = String::from_utf8_lossy(html);
    let doc = scraper::Html::parse_document(&text);
    let Ok(links) = scraper::Selector::parse("link[rel][href][type]") else {
        return Vec::new();
    };
    let mut found: Vec<Url> = Vec::new();
    for link in doc.select(&links) {
        let e = link.value();
        let rel = e.attr("rel").unwrap_or_default().to_ascii_lowercase();
        let kind = e
            .attr("type")
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let is_feed = matches!(
            kind.as_str(),
            "application/rss+xml"
                | "application/atom+xml"
                | "application/feed+json"
                | "application/json"
        );
        if !rel.split_whitespace().any(|r| r == "alternate") || !is_feed {
            continue;
        }
        let Some(url) = e.attr("href").and_then(|h| page_url.join(h.trim()).ok()) else {
            continue;
        };
        if matches!(url.scheme(), "http" | "https") && !found.contains(&url) {
            found.push(url);
        }
    }
    found
}

fn reduce(entry: feed_rs::model::Entry, feed_url: &Url) -> Option<FeedEntry> {
    let link = article_link(&entry, feed_url)?;
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
    Some(FeedEntry {
        link,
        title,
        published_at,
        authors,
    })
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
            let id = entry.id.trim();
            (id.starts_with("http://") || id.starts_with("https://"))
                .then(|| resolve(id))
                .flatten()
        })
}

fn looks_like_html(body: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    head.contains("<!doctype html") || head.contains("<html")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_advertised_by_an_html_page_are_discovered() {
        let page = br#"<html><head>
<link rel="stylesheet" type="text/css" href="/s.css">
<link rel="alternate" type="application/rss+xml" title="News" href="/rss.xml">
<link rel="alternate" type="application/atom+xml" href="https://example.org/atom">
<link rel="alternate" hreflang="fr" href="/fr/">
</head><body></body></html>"#;
        let base = Url::parse("https://example.org/news/").expect("url");
        let found: Vec<String> = discover(page, &base).iter().map(Url::to_string).collect();
        assert_eq!(
            found,
            vec!["https://example.org/rss.xml", "https://example.org/atom"]
        );
        assert!(discover(b"<html></html>", &base).is_empty());
    }

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
        let entries = parse(rss, &feed_url()).expect("parses");
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
    fn rss1_rdf_is_parsed() {
        let rdf = br#"<?xml version="1.0"?>
            <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
            <channel rdf:about="https://news.example/"><title>T</title><link>https://news.example/</link></channel>
            <item rdf:about="https://news.example/a"><title>A</title><link>https://news.example/a</link></item>
            </rdf:RDF>"#;
        let entries = parse(rdf, &feed_url()).expect("parses");
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
        let entries = parse(atom, &feed_url()).expect("parses");
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
        let entries = parse(json, &feed_url()).expect("parses");
        assert_eq!(entries[0].link.as_str(), "https://news.example/j/1");
        assert_eq!(entries[0].title.as_deref(), Some("J"));
    }

    #[test]
    fn empty_body_is_an_empty_feed_and_broken_xml_an_error() {
        assert!(parse(b"  \n", &feed_url()).expect("empty ok").is_empty());
        let truncated = b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item><title>cut";
        assert!(matches!(
            parse(truncated, &feed_url()),
            Err(FeedError::Parse(_))
        ));
        assert!(matches!(
            parse(b"\x00\xff garbage {", &feed_url()),
            Err(FeedError::Parse(_))
        ));
        let err = parse(b"<!DOCTYPE html><html><body>hi</body></html>", &feed_url()).unwrap_err();
        assert!(matches!(err, FeedError::Html), "{err}");
    }
}
