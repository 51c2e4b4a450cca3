//! `kind = "feed"`, the default: the URL serves RSS, Atom or JSON Feed
//! (parsed by [`crate::feed`]), or an HTML page (a site's home or section
//! page) that advertises one with `<link rel="alternate">`, which is then
//! followed.

use super::{Link, Listing, Page, Read, ReadError, Reader};
use crate::article::EntryHints;
use crate::feed::{self, FeedError, Parsed};

/// The feed reader.
pub(super) struct Feed;

impl Reader for Feed {
    fn name(&self) -> &'static str {
        "feed"
    }

    fn read(&self, page: &Page<'_>, followed: bool) -> Result<Read, ReadError> {
        match feed::parse(page.body, page.url, page.content_type) {
            Ok(parsed) => Ok(Read::Listing(listing(parsed))),
            // A site's home or section page given as the feed: follow the
            // first feed it advertises (on a followed page, it is an error).
            Err(FeedError::Html { advertised }) if !followed => match advertised.into_iter().next()
            {
                Some(url) => Ok(Read::Follow {
                    url,
                    what: "advertised feed",
                }),
                None => Err(ReadError::new(
                    "not_a_feed",
                    "the URL serves an HTML page that advertises no feed (no <link rel=\"alternate\" type=\"application/rss+xml\">)",
                )),
            },
            Err(e) => Err(ReadError::new(failure_kind(&e), e.to_string())),
        }
    }
}

/// The counter a feed that cannot be read is counted under.
fn failure_kind(e: &FeedError) -> &'static str {
    match e {
        FeedError::Unsupported(_) => "unsupported_feed",
        FeedError::Html { .. } => "not_a_feed",
        FeedError::Parse(_) => "bad_feed",
    }
}

fn listing(parsed: Parsed) -> Listing {
    Listing {
        links: parsed
            .entries
            .into_iter()
            .map(|entry| Link {
                url: entry.link,
                hints: EntryHints {
                    title: entry.title,
                    published_at: entry.published_at,
                    authors: entry.authors,
                    categories: entry.categories,
                    image: entry.image,
                    summary: entry.summary,
                },
            })
            .collect(),
        listed: parsed.listed,
        repairs: parsed.repairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceKind;
    use url::Url;

    fn read(body: &str, followed: bool) -> Result<Read, ReadError> {
        let url = Url::parse("https://news.example/section/").expect("url");
        let page = Page {
            body: body.as_bytes(),
            url: &url,
            content_type: Some("text/html; charset=utf-8"),
        };
        Feed.read(&page, followed)
    }

    const HOME: &str = "<html><head>\
        <link rel=\"alternate\" type=\"application/atom+xml\" href=\"/atom.xml\">\
        <link rel=\"alternate\" type=\"application/rss+xml\" href=\"/rss.xml\">\
        </head><body>Home</body></html>";

    #[test]
    fn a_feed_lists_its_entries_with_their_hints() {
        let rss = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title>\
            <item><title>First</title><link>/a</link><category>Local</category>\
            <pubDate>Tue, 05 Mar 2024 10:00:00 +0000</pubDate></item>\
            <item><title>No link</title></item></channel></rss>";
        let Ok(Read::Listing(listing)) = read(rss, false) else {
            panic!("a listing");
        };
        assert_eq!(listing.listed, 2, "the entry without a link is counted");
        assert_eq!(listing.links.len(), 1);
        let link = &listing.links[0];
        assert_eq!(link.url.as_str(), "https://news.example/a");
        assert_eq!(link.hints.title.as_deref(), Some("First"));
        assert_eq!(link.hints.categories, ["Local"]);
        assert!(link.hints.published_at.is_some());
    }

    #[test]
    fn an_html_page_is_followed_to_the_first_feed_it_advertises() {
        let Ok(Read::Follow { url, what }) = read(HOME, false) else {
            panic!("a follow");
        };
        assert_eq!(url.as_str(), "https://news.example/atom.xml");
        assert_eq!(what, "advertised feed");
    }

    #[test]
    fn an_html_page_advertising_nothing_is_not_a_feed() {
        let err = read("<html><body>No feed</body></html>", false).expect_err("no feed");
        assert_eq!(err.kind, "not_a_feed");
        assert!(err.message.contains("advertises no feed"), "{err}");
    }

    #[test]
    fn html_where_the_advertised_feed_should_be_is_not_followed_again() {
        let url = Url::parse("https://news.example/rss.xml").expect("url");
        let page = Page {
            body: HOME.as_bytes(),
            url: &url,
            content_type: None,
        };
        let err = SourceKind::Feed
            .read_followed(&page)
            .expect_err("html again");
        assert_eq!(err.kind, "not_a_feed");
        assert_eq!(err.message, "the URL serves an HTML page, not a feed");
    }

    #[test]
    fn unreadable_feeds_are_counted_by_what_is_wrong() {
        let kind = |body: &str| read(body, false).map(drop).map_err(|e| e.kind);
        assert_eq!(kind("\u{0}garbage {"), Err("bad_feed"));
        assert_eq!(kind("<opml><head/></opml>"), Err("unsupported_feed"));
        assert_eq!(kind(" \n"), Ok(()), "an empty body is an empty feed");
    }
}
