//! Feeds as they are in the wild: one fixture (in `tests/feeds/`) per quirk
//! a mature feed reader accepts, each parsed to its exact links.

use thresher::feed::{FeedError, Parsed, parse};
use url::Url;

fn feed_url() -> Url {
    Url::parse("http://feeds.example/feeds/main.xml").expect("url")
}

fn parsed(body: &[u8]) -> Parsed {
    parse(body, &feed_url(), None).unwrap_or_else(|e| panic!("parses: {e}"))
}

fn links(body: &[u8]) -> Vec<String> {
    parsed(body)
        .entries
        .iter()
        .map(|e| e.link.to_string())
        .collect()
}

#[test]
fn atom_03_feeds_give_their_links_and_dates() {
    let feed = parsed(include_bytes!("feeds/atom03.xml"));
    let links: Vec<&str> = feed.entries.iter().map(|e| e.link.as_str()).collect();
    assert_eq!(
        links,
        [
            "http://blog.example/2024/03/first.html",
            "http://blog.example/2024/03/second.html"
        ]
    );
    assert_eq!(
        feed.entries[0]
            .published_at
            .map(|t| t.to_rfc3339())
            .as_deref(),
        Some("2024-03-05T10:00:00+00:00")
    );
    assert_eq!(feed.entries[0].authors, ["Old Blogger"]);
    assert_eq!(
        links_of("feeds/atom03-no-namespace.xml"),
        ["http://bare.example/one"]
    );
}

fn links_of(fixture: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(fixture);
    links(&std::fs::read(&path).expect("fixture"))
}

#[test]
fn rss_2_in_the_userland_namespace_gives_its_links() {
    assert_eq!(
        links_of("feeds/rss2-userland.xml"),
        [
            "http://userland.example/2003/one",
            "http://userland.example/2003/two"
        ]
    );
    assert_eq!(
        links_of("feeds/rss2-userland-prefixed.xml"),
        ["http://prefixed.example/one"]
    );
}

#[test]
fn an_rss_item_with_an_atom_style_link_gives_its_href() {
    assert_eq!(
        links_of("feeds/rss-atom-style-link.xml"),
        ["http://mixed.example/a", "http://mixed.example/b"]
    );
}

#[test]
fn an_atom_link_with_the_url_as_text_gives_that_url() {
    assert_eq!(
        links_of("feeds/atom-link-as-text.xml"),
        ["http://text.example/a", "http://text.example/b?x=1&y=2"]
    );
}

#[test]
fn an_entry_whose_only_url_is_its_id_gives_the_id() {
    let feed = parsed(include_bytes!("feeds/atom-id-only.xml"));
    let links: Vec<&str> = feed.entries.iter().map(|e| e.link.as_str()).collect();
    assert_eq!(
        links,
        ["http://ids.example/lower", "http://ids.example/upper"]
    );
    // The tag: id is no link; the entry is counted as listed all the same.
    assert_eq!(feed.listed, 3);
}

#[test]
fn a_windows_1252_feed_without_any_label_is_decoded() {
    let feed = parsed(include_bytes!("feeds/rss-windows-1252.xml"));
    let titles: Vec<&str> = feed
        .entries
        .iter()
        .filter_map(|e| e.title.as_deref())
        .collect();
    assert_eq!(titles, ["Été “brûlant” à Paris", "Déjà vu – naïve résumé"]);
    assert_eq!(feed.entries[0].link.as_str(), "http://cp1252.example/ete");
}

#[test]
fn stray_ampersands_entities_and_a_truncated_end_are_recovered() {
    let feed = parsed(include_bytes!("feeds/rss-recoverable.xml"));
    let links: Vec<&str> = feed.entries.iter().map(|e| e.link.as_str()).collect();
    assert_eq!(
        links,
        [
            "http://broken.example/a?x=1&y=2",
            "http://broken.example/b",
            "http://broken.example/c"
        ]
    );
    assert_eq!(feed.entries[0].title.as_deref(), Some("Tom & Jerry’s news"));
    for repair in [
        "a stray '&'",
        "HTML entities",
        "undefined entities",
        "elements left open at the end",
    ] {
        assert!(
            feed.repairs.contains(&repair),
            "{repair}: {:?}",
            feed.repairs
        );
    }
}

#[test]
fn one_invalid_byte_does_not_cost_the_feed() {
    let mut body = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>\
        <item><title>caf\xc3\xa9 "
        .to_vec();
    body.push(0xff);
    body.extend_from_slice(b"</title><link>http://bytes.example/a</link></item></channel></rss>");
    let feed = parsed(&body);
    assert_eq!(feed.entries.len(), 1);
    assert!(
        feed.entries[0]
            .title
            .as_deref()
            .is_some_and(|t| t.starts_with("café"))
    );
    assert!(!feed.repairs.is_empty());
}

#[test]
fn relative_links_resolve_against_xml_base_then_the_feed_url() {
    assert_eq!(
        links_of("feeds/relative-links.xml"),
        [
            "http://base.example/news/2024/one.html",
            "http://other.example/blog/two.html"
        ]
    );
    assert_eq!(
        links_of("feeds/rss-relative.xml"),
        [
            "http://feeds.example/2024/a.html",
            "http://feeds.example/feeds/b.html"
        ]
    );
}

#[test]
fn cdf_is_refused_as_an_unsupported_format() {
    let err = parse(include_bytes!("feeds/cdf.xml"), &feed_url(), None).expect_err("cdf");
    assert!(matches!(err, FeedError::Unsupported(_)), "{err}");
    assert!(
        err.to_string().contains("Channel Definition Format"),
        "{err}"
    );
}

#[test]
fn well_formed_feeds_need_no_repair() {
    for fixture in ["feeds/rss-relative.xml", "feeds/atom-id-only.xml"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join(fixture);
        let feed = parsed(&std::fs::read(&path).expect("fixture"));
        assert!(feed.repairs.is_empty(), "{fixture}: {:?}", feed.repairs);
    }
}

mod arbitrary {
    use super::*;
    use proptest::prelude::*;

    /// Pieces of feeds, valid and broken, joined at random.
    const FRAGMENTS: &[&str] = &[
        "<?xml version=\"1.0\" encoding=\"windows-1252\"?>",
        "<rss version=\"2.0\">",
        "<rss xmlns=\"http://backend.userland.com/rss2\">",
        "<feed xmlns=\"http://purl.org/atom/ns#\">",
        "<feed>",
        "<channel>",
        "<item>",
        "</item>",
        "<entry>",
        "</entry>",
        "<link>http://x.example/a?b=1&c=2</link>",
        "<link href=\"/rel\"/>",
        "<link>",
        "</link>",
        "<id>HTTP://x.example/id</id>",
        "<title>a &nbsp; &bogus; &#150; &#0; < b</title>",
        "<![CDATA[ & < ]]>",
        "<!-- & -->",
        "<!DOCTYPE rss [<!ENTITY e \"x\">]>",
        "</channel>",
        "</rss>",
        "</feed>",
        "\u{1}\u{FFFE}",
        "&",
        "<",
        "\"'>",
        "{\"version\":\"https://jsonfeed.org/version/1\",\"items\":[",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_feed_soup_never_panics(parts in prop::collection::vec(prop::sample::select(FRAGMENTS), 0..60)) {
            let body = parts.concat();
            if let Ok(feed) = parse(body.as_bytes(), &feed_url(), None) {
                prop_assert!(feed.entries.iter().all(|e| matches!(e.link.scheme(), "http" | "https")));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse(&bytes, &feed_url(), Some("text/xml; charset=utf-8"));
        }
    }
}

#[test]
fn a_feed_whose_first_item_quotes_html_is_still_a_feed() {
    let body = b"<rss version=\"2.0\"><channel><title>T</title><item><title>A</title>\
        <description><![CDATA[<html><body><p>quoted page</p></body></html>]]></description>\
        <link>http://quote.example/a</link></item></channel></rss>";
    assert_eq!(links(body), ["http://quote.example/a"]);
}
