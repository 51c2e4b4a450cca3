//! The article record beyond the text: dates, authors, images, site, section,
//! tags, description and reading figures, each from the page sources it
//! names in the README's schema, and nothing where the page gives no evidence.

mod common;

use common::Workspace;
use common::fault::{FaultServer, Reply, rss_text, run_once};
use thresher::clean::{Cleaned, clean};

/// A body long enough to be an article.
fn body() -> String {
    "<p>The body of the story runs on for a while, long enough to be the article a reader came for, with detail after detail.</p>".repeat(4)
}

/// A page with `head` in its `<head>` and `top` between the headline and the body.
fn page(head: &str, top: &str) -> String {
    format!(
        "<html lang=\"en\"><head><title>T</title>{head}</head><body><article><h1>The story</h1>{top}{}</article>\
         <aside class=\"sidebar\"><span class=\"date\">January 1, 2020</span>\
         <figure><img src=\"/promo.jpg\" width=\"600\"><figcaption>Another story</figcaption></figure></aside></body></html>",
        body()
    )
}

fn cleaned(html: &str) -> Cleaned {
    let base = url::Url::parse("https://news.example/2019/story").ok();
    clean(html, base.as_ref()).expect("an article")
}

fn day(c: &Cleaned) -> Option<String> {
    c.published_at.map(|d| d.format("%Y-%m-%d").to_string())
}

#[test]
fn each_date_markup_the_page_may_use_gives_the_publication_date() {
    let heads = [
        r#"<script type="application/ld+json">{"@type":"NewsArticle","datePublished":"2024-03-05T10:00:00Z"}</script>"#,
        r#"<meta property="article:published_time" content="2024-03-05T10:00:00Z">"#,
        r#"<meta property="og:published_time" content="2024-03-05">"#,
        r#"<meta itemprop="datePublished" content="2024-03-05">"#,
        r#"<meta name="pubdate" content="2024-03-05">"#,
        r#"<meta name="publishdate" content="2024-03-05">"#,
        r#"<meta name="parsely-pub-date" content="2024-03-05T10:00:00Z">"#,
        r#"<meta name="sailthru.date" content="2024-03-05 10:00:00">"#,
        r#"<meta name="dc.date.issued" content="2024-03-05">"#,
        r#"<meta name="dcterms.created" content="2024-03-05">"#,
        r#"<meta name="date" content="2024-03-05">"#,
    ];
    for head in heads {
        assert_eq!(
            day(&cleaned(&page(head, ""))).as_deref(),
            Some("2024-03-05"),
            "{head}"
        );
    }
    let time = r#"<p><time datetime="2024-03-05T10:00:00+01:00">5 March</time></p>"#;
    assert_eq!(
        day(&cleaned(&page("", time))).as_deref(),
        Some("2024-03-05")
    );
}

#[test]
fn a_site_specific_publication_key_dates_the_article_and_the_earliest_of_several_wins() {
    let head = r#"<meta name="published-time" content="2026-03-09T08:45:32Z">
        <meta name="w-published-date" content="2021-02-16"><meta name="publish-end-date" content="2020-01-01">"#;
    assert_eq!(
        day(&cleaned(&page(head, ""))).as_deref(),
        Some("2021-02-16")
    );
    let in_text = r#"<p><span class="publicationTime">2022-11-23T08:10+02:00</span></p>"#;
    assert_eq!(
        day(&cleaned(&page("", in_text))).as_deref(),
        Some("2022-11-23")
    );
}

#[test]
fn json_ld_wins_over_meta_and_both_over_a_sidebar_date_and_the_timezone_is_kept() {
    let head = r#"<script type="application/ld+json">{"@type":"NewsArticle","datePublished":"2024-03-05T10:00:00+02:00"}</script>
        <meta property="article:published_time" content="2023-01-01T00:00:00Z">"#;
    let c = cleaned(&page(head, ""));
    let published = c.published_at.expect("a date");
    assert_eq!(published.to_rfc3339(), "2024-03-05T10:00:00+02:00");
}

#[test]
fn a_page_whose_only_dates_are_in_the_future_or_malformed_has_no_date() {
    for head in [
        r#"<meta property="article:published_time" content="2999-01-01T00:00:00Z">"#,
        r#"<meta property="article:published_time" content="2024-13-45">"#,
        r#"<meta property="article:published_time" content="soon">"#,
    ] {
        // Neither the sidebar's date nor a date in the URL is the article's
        // here: the page's URL has none and the sidebar is not by the headline.
        let html = page(head, "").replace("January 1, 2020", "");
        let c = clean(
            &html,
            url::Url::parse("https://news.example/story").ok().as_ref(),
        )
        .expect("an article");
        assert_eq!(c.published_at, None, "{head}");
    }
}

#[test]
fn a_date_in_the_raw_text_of_a_noscript_after_the_headline_is_no_date() {
    // Found by the slimming property test: the parser keeps a `<noscript>`'s
    // content as text, which is not the page's.
    let html = "<h1>\0\u{feff}\u{202e}<h1>The council voted on Tuesday, after a long and heated debate, to approve the plan. <noscript><time datetime=\"2024-05-02\"><div>";
    // With the input pass off (as explaining runs), the parser sees it.
    let options = thresher::clean::Options {
        explain: true,
        ..thresher::clean::Options::default()
    };
    let c = thresher::clean::clean_with(html, None, &options).expect("an article");
    assert_eq!(c.published_at, None);
}

#[test]
fn a_modified_date_is_the_update_time_unless_it_is_before_the_publication() {
    let head = r#"<meta property="article:published_time" content="2024-03-05T10:00:00Z">
        <meta property="article:modified_time" content="2024-03-06T08:30:00+01:00">"#;
    let c = cleaned(&page(head, ""));
    assert_eq!(
        c.updated_at.map(|d| d.to_rfc3339()).as_deref(),
        Some("2024-03-06T08:30:00+01:00")
    );
    let earlier = head.replace("2024-03-06", "2024-03-01");
    assert_eq!(cleaned(&page(&earlier, "")).updated_at, None);
    let ld = r#"<script type="application/ld+json">{"@type":"BlogPosting","datePublished":"2024-03-05","dateModified":"2024-04-01T12:00:00Z"}</script>"#;
    assert!(cleaned(&page(ld, "")).updated_at.is_some());
}

#[test]
fn several_authors_come_from_json_ld_lists_and_from_by_and_bylines_in_any_language() {
    let ld = r#"<script type="application/ld+json">{"@type":"NewsArticle","author":[{"@type":"Person","name":"Ann Lee"},{"@type":"Person","name":"Bo Kim"}]}</script>"#;
    assert_eq!(cleaned(&page(ld, "")).authors, ["Ann Lee", "Bo Kim"]);
    let byline =
        |text: &str| cleaned(&page("", &format!("<p class=\"byline\">{text}</p>"))).authors;
    assert_eq!(byline("By Ann Lee and Bo Kim"), ["Ann Lee", "Bo Kim"]);
    assert_eq!(
        byline("Von Anna Muster, Max Mann und Eva Klein"),
        ["Anna Muster", "Max Mann", "Eva Klein"]
    );
    assert_eq!(
        byline("Por Ana García y Luis Pérez"),
        ["Ana García", "Luis Pérez"]
    );
    // Without an "and", what follows a comma is a role or an outlet.
    assert_eq!(byline("By Ann Lee, Reuters"), ["Ann Lee"]);
    // One part that is no name makes the byline no evidence at all.
    assert!(byline("By Ann Lee and the rest of the newsroom").is_empty());
    let role = r#"<meta name="author" content="Ann Lee - Science Editor">"#;
    assert_eq!(cleaned(&page(role, "")).authors, ["Ann Lee"]);
}

#[test]
fn authors_from_site_keys_scholarly_tags_contributor_links_and_bylines_behind_a_url_author() {
    let authors = |head: &str, top: &str| cleaned(&page(head, top)).authors;
    assert_eq!(
        authors(
            r#"<meta name="cXenseParse:author" content="Sergio Martínez | The Newsroom">"#,
            ""
        ),
        ["Sergio Martínez"]
    );
    assert_eq!(
        authors(
            r#"<meta name="citation_author" content="Roy, Aniruddha"><meta name="citation_author" content="Patel, Jyoti">"#,
            ""
        ),
        ["Aniruddha Roy", "Jyoti Patel"]
    );
    assert_eq!(
        authors(
            "",
            r#"<p>Text by <a href="/contributors/moses-kim-and-kate-shokurova">Moses Kim and Kate Shokurova</a></p>"#
        ),
        ["Moses Kim", "Kate Shokurova"]
    );
    // Markup that names the author only by a URL is no name: the byline is read.
    assert_eq!(
        authors(
            r#"<meta name="author" content="https://news.example/people/emily">"#,
            r#"<span class="post-meta-author">By Emily Norwood</span>"#
        ),
        ["Emily Norwood"]
    );
    // Punctuation left over from a template is no part of a name, and a value without a letter is none.
    assert_eq!(
        authors(r#"<meta name="author" content=", USA TODAY">"#, ""),
        ["USA TODAY"]
    );
    assert!(authors(r#"<meta name="author" content="262588213843476">"#, "").is_empty());
}

#[test]
fn the_lead_image_comes_from_json_ld_then_og_then_twitter_resolved_to_absolute() {
    let ld = r#"<script type="application/ld+json">{"@type":"NewsArticle","image":{"@type":"ImageObject","url":"/ld.jpg"}}</script>"#;
    let og = r#"<meta property="og:image" content="/og.jpg">"#;
    let tw = r#"<meta name="twitter:image" content="https://cdn.example/tw.jpg">"#;
    let image = |head: &str| cleaned(&page(head, "")).image.map(|u| u.to_string());
    assert_eq!(
        image(&format!("{ld}{og}{tw}")).as_deref(),
        Some("https://news.example/ld.jpg")
    );
    assert_eq!(
        image(&format!("{og}{tw}")).as_deref(),
        Some("https://news.example/og.jpg")
    );
    assert_eq!(image(tw).as_deref(), Some("https://cdn.example/tw.jpg"));
}

#[test]
fn figures_of_the_body_are_images_with_captions_and_lazy_sources_are_read() {
    let lead = r#"<figure><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/lead.jpg" alt="The river"><figcaption>The river at dusk.</figcaption></figure>"#;
    let inline = r#"<figure><picture><img src="/small.jpg" srcset="/w480.jpg 480w, /w1200.jpg 1200w"></picture></figure>"#;
    let html = page("", lead).replace("</article>", &format!("{inline}</article>"));
    let c = cleaned(&html);
    let urls: Vec<String> = c.images.iter().map(|f| f.url.to_string()).collect();
    // The sidebar's promotional figure is not the article's.
    assert_eq!(
        urls,
        [
            "https://news.example/lead.jpg",
            "https://news.example/w1200.jpg"
        ]
    );
    assert_eq!(c.images[0].caption.as_deref(), Some("The river at dusk."));
    assert_eq!(c.images[0].alt.as_deref(), Some("The river"));
    // With no image declared, the first figure leads.
    assert_eq!(
        c.image.as_ref().map(url::Url::as_str),
        Some("https://news.example/lead.jpg")
    );
    // The figures stand in the HTML where they stood on the page; the text has no caption.
    let lead_at = c
        .html
        .find("<figure><img src=\"https://news.example/lead.jpg\"");
    let body_at = c.html.find("<p>The body");
    assert!(lead_at.is_some() && lead_at < body_at, "{}", c.html);
    assert!(
        c.html
            .contains("<figcaption>The river at dusk.</figcaption>"),
        "{}",
        c.html
    );
    assert!(!c.text.contains("The river at dusk"), "{}", c.text);
}

#[test]
fn a_page_without_images_has_no_image_and_no_figures() {
    let c = cleaned(&page("", "").replace("<figure><img src=\"/promo.jpg\" width=\"600\"><figcaption>Another story</figcaption></figure>", ""));
    assert_eq!(c.image, None);
    assert!(c.images.is_empty());
    assert!(!c.html.contains("<img"), "{}", c.html);
}

#[test]
fn site_name_section_tags_and_description_come_from_meta_and_json_ld() {
    let head = r#"<meta property="og:site_name" content="The Courier">
        <meta property="article:section" content="Politics">
        <meta property="article:tag" content="Budget"><meta property="article:tag" content="Roads">
        <meta name="description" content="The council agreed a budget.">
        <script type="application/ld+json">{"@type":"NewsArticle","keywords":"budget, council"}</script>"#;
    let c = cleaned(&page(head, ""));
    assert_eq!(c.site_name.as_deref(), Some("The Courier"));
    assert_eq!(c.section.as_deref(), Some("Politics"));
    assert_eq!(c.tags, ["Budget", "Roads", "council"]);
    assert_eq!(
        c.description.as_deref(),
        Some("The council agreed a budget.")
    );
    let ld = r#"<script type="application/ld+json">{"@type":"NewsArticle","articleSection":["World"],"publisher":{"@type":"Organization","name":"Courier Media"}}</script>"#;
    let c = cleaned(&page(ld, ""));
    assert_eq!(c.site_name.as_deref(), Some("Courier Media"));
    assert_eq!(c.section.as_deref(), Some("World"));
}

/// An RSS feed of one item with two categories.
fn feed_with_categories(link: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>C</title><link>http://c.invalid/</link>\
         <item><title>The story</title><link>{link}</link><category>Local</category><category>Roads</category>\
         <pubDate>Tue, 05 Mar 2024 10:00:00 +0000</pubDate></item></channel></rss>"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_written_record_carries_the_new_fields_and_feed_categories_when_the_page_has_no_tags() {
    let server = FaultServer::start().await;
    let link = server.url("/a/story");
    server.route(
        "/feed.xml",
        vec![Reply::full(
            200,
            &[("content-type", "application/rss+xml")],
            feed_with_categories(&link),
        )],
    );
    let head = r#"<meta property="og:image" content="/lead.jpg"><meta property="og:site_name" content="The Courier">"#;
    server.route("/a/story", vec![Reply::html(page(head, ""))]);
    let ws = Workspace::new();
    ws.write_config(&[("courier", server.url("/feed.xml"))], "10m", "");

    let (output, log, _) = run_once(&ws).await;

    assert!(output.status.success(), "{log}");
    let articles = ws.article_values();
    assert_eq!(articles.len(), 1, "{log}");
    let a = &articles[0];
    assert_eq!(a["tags"], serde_json::json!(["Local", "Roads"]), "{a}");
    assert_eq!(a["image"], server.url("/lead.jpg"), "{a}");
    assert_eq!(a["site_name"], "The Courier", "{a}");
    let words = a["text"].as_str().expect("text").split_whitespace().count();
    assert_eq!(a["word_count"], words, "{a}");
    assert_eq!(a["reading_time_minutes"], 1, "{a}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_entrys_image_and_summary_fill_a_page_that_has_neither() {
    let server = FaultServer::start().await;
    let bare = server.url("/a/bare");
    let dressed = server.url("/a/dressed");
    let item = |link: &str, n: u32| {
        format!(
            "<item><title>Story {n}</title><link>{link}</link>\
             <description>&lt;p&gt;What the feed says of story {n}.&lt;/p&gt;</description>\
             <media:thumbnail url=\"https://cdn.example/thumb{n}.jpg\" width=\"320\"/></item>"
        )
    };
    let feed = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\">\
         <channel><title>C</title><link>http://c.invalid/</link>{}{}</channel></rss>",
        item(&bare, 1),
        item(&dressed, 2)
    );
    server.route(
        "/feed.xml",
        vec![Reply::full(
            200,
            &[("content-type", "application/rss+xml")],
            feed,
        )],
    );
    // No image, no description, no figure: the sidebar's promotional figure is not the article's.
    server.route("/a/bare", vec![Reply::html(page("", ""))]);
    let head = r#"<meta property="og:image" content="/lead.jpg"><meta name="description" content="What the page says.">"#;
    // Another story, or the two would be one story found twice.
    let other = "<p>Harbour works start in spring, the port authority said, and ships will berth further out until autumn.</p>"
        .repeat(4);
    let dressed_page = page(head, "").replace(&body(), &other);
    server.route("/a/dressed", vec![Reply::html(dressed_page)]);
    let ws = Workspace::new();
    ws.write_config(&[("courier", server.url("/feed.xml"))], "10m", "");

    let (output, log, _) = run_once(&ws).await;

    assert!(output.status.success(), "{log}");
    let articles = ws.article_values();
    assert_eq!(articles.len(), 2, "{log}");
    let by_url = |url: &str| {
        articles
            .iter()
            .find(|a| a["url"] == url)
            .unwrap_or_else(|| panic!("{url} written: {log}"))
    };
    let a = by_url(&bare);
    assert_eq!(a["image"], "https://cdn.example/thumb1.jpg", "{a}");
    assert_eq!(a["description"], "What the feed says of story 1.", "{a}");
    let a = by_url(&dressed);
    assert_eq!(a["image"], server.url("/lead.jpg"), "{a}");
    assert_eq!(a["description"], "What the page says.", "{a}");
}

/// `thresher clean` on the page the daemon fetched.
async fn clean_by_hand(ws: &Workspace, page: &str, args: &[&str]) -> serde_json::Value {
    let file = ws.dir.path().join("page.html");
    std::fs::write(&file, page).expect("write page");
    let output = ws
        .command("clean")
        .args(args)
        .arg(&file)
        .output()
        .await
        .expect("run clean");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thresher_clean_with_the_url_gives_the_id_and_fields_the_daemon_wrote() {
    let server = FaultServer::start().await;
    // `ref` tracks the reader on this site: configured as a tracking parameter.
    let link = server.url("/articles/same-id?ref=rss");
    let feed = rss_text(&[("same-id", link.clone())]);
    server.route(
        "/feed.xml",
        vec![Reply::full(
            200,
            &[("content-type", "application/rss+xml")],
            feed,
        )],
    );
    let page = common::article_html("same-id");
    server.route("/articles/same-id", vec![Reply::html(page.clone())]);
    let ws = Workspace::new();
    let sources = [("courier", server.url("/feed.xml"))];
    ws.write_config_with_dedup(&sources, "tracking_params = [\"ref\"]");

    let (output, log, _) = run_once(&ws).await;
    assert!(output.status.success(), "{log}");
    let written = ws.article_values();
    let [written] = written.as_slice() else {
        panic!("one article: {log}")
    };
    let by_hand = clean_by_hand(&ws, &page, &["--url", &link]).await;

    assert_eq!(by_hand["id"], written["id"], "{by_hand}\n{written}");
    assert_eq!(by_hand["canonical_url"], server.url("/articles/same-id"));
    // Every field `clean` prints is the daemon's; the daemon adds where it found the page.
    let by_hand = by_hand.as_object().expect("an object");
    for (field, value) in by_hand {
        assert_eq!(&written[field], value, "{field}");
    }
    let mut only_written: Vec<&str> = written
        .as_object()
        .expect("an object")
        .keys()
        .filter(|k| !by_hand.contains_key(*k))
        .map(String::as_str)
        .collect();
    only_written.sort_unstable();
    assert_eq!(only_written, ["feed_url", "fetched_at", "source"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thresher_clean_without_a_url_gives_the_same_fields_but_no_address() {
    let ws = Workspace::new();
    ws.write_config(&[], "10m", "");
    let head = r#"<meta name="author" content="Jane Reporter"><meta property="og:site_name" content="The Courier">
<meta property="article:published_time" content="2024-03-05T09:30:00Z"><meta name="keywords" content="harbour, council">
<meta name="description" content="The council voted."><meta property="og:image" content="https://gazette.example/lead.jpg">"#;
    // Absolute addresses only: the URL also resolves relative links, which is not what this compares.
    let page = page(
        head,
        "<p class=\"standfirst\">A standfirst for the story.</p>",
    );
    let url = "https://gazette.example/articles/no-address";
    let addressed = clean_by_hand(&ws, &page, &["--url", url]).await;
    let unaddressed = clean_by_hand(&ws, &page, &[]).await;
    let mut addressed = addressed.as_object().expect("an object").clone();
    for field in ["id", "url", "canonical_url"] {
        assert!(addressed.remove(field).is_some(), "{field}");
    }
    assert_eq!(serde_json::Value::Object(addressed), unaddressed);
}
