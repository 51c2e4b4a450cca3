//! Feed discovery: the feeds an HTML page advertises, for a source whose URL
//! is a site's home or section page rather than its feed.

use url::Url;

/// Feed URLs an HTML page advertises with `<link rel="alternate"
/// type="application/rss+xml|atom+xml|feed+json" href="…">`, in page order.
///
/// The page is untrusted and may be built to make parsing slow (deep
/// nesting) or large: it goes through the cleaner's pre-pass and budget
/// first, and a page over budget advertises nothing. Run it off the async
/// runtime.
pub fn discover(html: &str, page_url: &Url) -> Vec<Url> {
    let Some(prepared) = crate::clean::prepare_untrusted(html) else {
        return Vec::new();
    };
    let doc = scraper::Html::parse_document(&prepared);
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
        let found: Vec<String> = discover(std::str::from_utf8(page).expect("utf-8"), &base)
            .iter()
            .map(Url::to_string)
            .collect();
        assert_eq!(
            found,
            vec!["https://example.org/rss.xml", "https://example.org/atom"]
        );
        assert!(discover("<html></html>", &base).is_empty());
    }

    #[test]
    fn a_page_nested_forty_thousand_deep_still_yields_its_feed() {
        let page = format!(
            "<html><head><link rel=alternate type=application/rss+xml href=/f.xml></head><body>{}</body></html>",
            "<div>".repeat(40_000)
        );
        let base = Url::parse("https://example.org/").expect("url");
        assert_eq!(discover(&page, &base).len(), 1);
    }
}
