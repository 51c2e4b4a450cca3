//! De-duplication through the real binary: one story, one article, across
//! URL variants, feeds, redirects, syndicated copies and restarts.

mod common;

use common::{Format, Site, Workspace, marker_of, story_paragraphs};

/// The story of `slug` as a partner site republishes it: its own template,
/// a reworded headline, the last paragraph of the original trimmed and a
/// credit line added.
fn syndicated_copy(slug: &str, headline: &str) -> String {
    let story: String = story_paragraphs(slug)
        .iter()
        .map(|p| format!("<p>{p}</p>\n"))
        .collect();
    format!(
        r#"<!DOCTYPE html><html lang="en-IE"><head><meta charset="utf-8">
<title>{headline} - Partner Independent</title>
<meta property="og:title" content="{headline}">
<link rel="canonical" href="https://gazette.example/articles/{slug}">
</head><body>
<div id="top-bar"><a href="/">Partner Independent</a> <a href="/subscribe">Subscribe</a> <a href="/login">Log in</a></div>
<ul class="menu"><li><a href="/ireland">Ireland</a></li><li><a href="/world">World</a></li><li><a href="/business">Business</a></li></ul>
<main><div class="content-wrapper">
<h1 class="headline">{headline}</h1>
<span class="author">Jane Reporter, The Test Gazette</span>
<section class="body-text">
<p>The harbour council voted on Tuesday evening to approve the long-debated redevelopment plan, ending months of public consultation and heated argument between residents and developers.</p>
<p>{marker} Officials said the new quay would open to ferries next spring, and that fishing boats would keep their berths during the works.</p>
<p>Opponents, who had gathered more than two thousand signatures, said they would consider an appeal, arguing that the environmental survey was incomplete and rushed.</p>
{story}
<p><em>This article first appeared in The Test Gazette and is republished with permission.</em></p>
</section>
</div>
<div class="newsletter-signup">Get the morning briefing in your inbox</div>
</main>
<div class="footer-links"><a href="/about">About us</a> <a href="/contact">Contact</a> © Partner Independent</div>
</body></html>"#,
        marker = marker_of(slug)
    )
}

/// A hand-written report page in a plain template.
fn report(headline: &str, paragraphs: &[&str]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{headline}</title></head>\
         <body><nav><a href=\"/\">Home</a> <a href=\"/news\">News</a></nav><article><h1>{headline}</h1>\
         <div class=\"story\">{body}</div></article><footer>© Test</footer></body></html>"
    )
}

fn urls_of(article: &serde_json::Value) -> Vec<String> {
    let mut urls = vec![article["url"].as_str().expect("url").to_string()];
    if let Some(seen) = article["also_seen_at"].as_array() {
        urls.extend(
            seen.iter()
                .map(|u| u.as_str().expect("url string").to_string()),
        );
    }
    urls.sort();
    urls
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_article_reached_through_url_variants_feeds_and_a_short_link_is_written_once() {
    let site = Site::start().await;
    site.publish(
        Format::Rss,
        "/articles/same-1?utm_source=rss&utm_medium=feed&fbclid=abc",
    );
    site.publish(Format::Rss, "/go/same-1");
    site.publish(Format::Atom, "/articles/same-1/");
    site.publish(Format::Atom, "/articles/same-1#comments");
    site.publish(Format::Json, "/articles/same-1?gclid=x&mc_cid=y&mc_eid=z");
    let ws = Workspace::new();
    let sources = vec![
        ("rss", site.url(Format::Rss.path())),
        ("atom", site.url(Format::Atom.path())),
        ("json", site.url(Format::Json.path())),
    ];
    ws.write_config(&sources, "10m", "");

    ws.once().await;

    let articles = ws.article_values();
    assert_eq!(articles.len(), 1, "{:?}", ws.articles());
    let text = articles[0]["text"].as_str().expect("text");
    assert!(text.contains(&marker_of("same-1")), "{text}");
    assert!(
        articles[0].get("also_seen_at").is_none(),
        "every variant is the article's own page: {}",
        articles[0]
    );
    assert_eq!(site.hits("/go/same-1"), 1, "the short link was followed");
    let page_fetches = site.hits("/articles/same-1") + site.hits("/articles/same-1/");
    assert!(
        (1..=2).contains(&page_fetches),
        "variants are one link; only the short link may fetch the page again: {page_fetches}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_syndicated_copy_with_a_reworded_headline_is_one_file_listing_both_urls() {
    let site = Site::start().await;
    site.publish(Format::Rss, "wire-story");
    site.set_page(
        "copy",
        &syndicated_copy("wire-story", "Town's quay overhaul gets green light"),
    );
    site.publish(Format::Atom, "/pages/copy");
    let ws = Workspace::new();
    let sources = vec![
        ("gazette", site.url(Format::Rss.path())),
        ("partner", site.url(Format::Atom.path())),
    ];
    ws.write_config(&sources, "10m", "");

    let output = ws.once().await;

    let articles = ws.article_values();
    assert_eq!(articles.len(), 1, "{:?}", ws.articles());
    assert_eq!(
        urls_of(&articles[0]),
        vec![site.url("/articles/wire-story"), site.url("/pages/copy")],
        "the file lists where the story was seen"
    );
    assert!(
        stderr(&output).contains("near_duplicates=1"),
        "counted: {}",
        stderr(&output)
    );
    // The summary table accounts for both pages: whichever came second is
    // a duplicate of its source, not missing.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    for (row, source) in rows[1..3].iter().zip(["gazette", "partner"]) {
        assert_eq!(row[..2], [source, "ok"], "{stdout}");
        let mut counts = [row[2], row[3]];
        counts.sort();
        assert_eq!(counts, ["0", "1"], "written or duplicate: {stdout}");
    }
    assert_eq!(rows[3], ["total", "2/2", "ok", "1", "1", "0"], "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_found_after_a_restart_is_still_recognised() {
    let site = Site::start().await;
    site.publish(Format::Rss, "restart-story");
    let ws = Workspace::new();
    let sources = vec![
        ("gazette", site.url(Format::Rss.path())),
        ("partner", site.url(Format::Atom.path())),
    ];
    ws.write_config(&sources, "10m", "");
    ws.once().await;
    let before = ws.article_values();
    assert_eq!(before.len(), 1);
    assert!(before[0].get("also_seen_at").is_none(), "no sightings yet");

    site.set_page(
        "later-copy",
        &syndicated_copy(
            "restart-story",
            "Harbour scheme cleared after marathon meeting",
        ),
    );
    site.publish(
        Format::Atom,
        "/pages/later-copy?utm_source=partner&utm_medium=rss",
    );
    ws.once().await;

    let after = ws.article_values();
    assert_eq!(after.len(), 1, "{:?}", ws.articles());
    assert_eq!(
        after[0]["also_seen_at"],
        serde_json::json!([site.url("/pages/later-copy")]),
        "listed without its tracking parameters"
    );
    assert_eq!(after[0]["text"], before[0]["text"], "the original is kept");
    assert_eq!(site.hits("/pages/later-copy"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_reports_of_the_same_event_are_two_articles() {
    let site = Site::start().await;
    site.set_page(
        "report-a",
        &report(
            "Harbour council approves redevelopment plan",
            &[
                "The harbour council voted on Tuesday evening to approve the long-debated redevelopment plan, ending months of public consultation and heated argument between residents and developers.",
                "Officials said the new quay would open to ferries next spring, and that fishing boats would keep their berths during the works, which are expected to cost 40 million euros.",
                "Opponents, who had gathered more than two thousand signatures, said they would consider an appeal, arguing that the environmental survey was incomplete and rushed.",
                "The council leader, Maria Keane, speaking after the vote, said the decision balanced the needs of the town's economy with the concerns of those living closest to the water.",
            ],
        ),
    );
    site.set_page(
        "report-b",
        &report(
            "Harbour council approves redevelopment plan",
            &[
                "Councillors in the harbour town gave the go-ahead on Tuesday to a contested plan to rebuild the quay, after a debate that ran late into the evening.",
                "Maria Keane, who leads the council, told reporters the 40 million euro project would bring ferries back to the town and protect jobs on the water.",
                "Residents who oppose the scheme handed in a petition with more than two thousand names last month and say they are now weighing a legal challenge.",
                "Fishing crews, whose boats will stay in the harbour during construction, were split on the decision, with some welcoming the investment and others fearing disruption.",
            ],
        ),
    );
    site.publish(Format::Rss, "/pages/report-a");
    site.publish(Format::Atom, "/pages/report-b");
    let ws = Workspace::new();
    let sources = vec![
        ("one", site.url(Format::Rss.path())),
        ("two", site.url(Format::Atom.path())),
    ];
    ws.write_config_with_dedup(&sources, "min_words = 40");

    ws.once().await;

    let articles = ws.article_values();
    assert_eq!(articles.len(), 2, "{:?}", ws.articles());
    for article in &articles {
        assert!(article.get("also_seen_at").is_none(), "{article}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headline_repeated_in_the_body_is_in_the_text_nowhere_and_copies_still_match() {
    let site = Site::start().await;
    let headline = "Harbour council approves plan echo-story";
    let story: String = story_paragraphs("echo-story")
        .iter()
        .map(|p| format!("<p>{p}</p>"))
        .collect();
    let page = format!(
        "<!DOCTYPE html><html><head><title>{headline}</title></head><body><article>\
         <h1>{headline}</h1><div class=\"body\"><p><strong>{headline}</strong></p>\
         <p>{}</p>{story}<h2>{headline}</h2><p>The council leader said the decision balanced the needs of the town.</p></div>\
         </article></body></html>",
        marker_of("echo-story")
    );
    site.set_page("echo", &page);
    site.publish(Format::Rss, "/pages/echo");
    let ws = Workspace::new();
    let sources = vec![
        ("one", site.url(Format::Rss.path())),
        ("two", site.url(Format::Atom.path())),
    ];
    ws.write_config(&sources, "10m", "");
    ws.once().await;

    let articles = ws.article_values();
    assert_eq!(articles.len(), 1);
    assert_eq!(articles[0]["title"].as_str(), Some(headline));
    let text = articles[0]["text"].as_str().expect("text");
    assert_eq!(text.matches(headline).count(), 0, "{text}");

    // The same story without the repeats, under another headline: the
    // fingerprint agrees with the cleaner about what the body is.
    let copy = format!(
        "<!DOCTYPE html><html><head><title>Quay plan backed</title></head><body><main>\
         <h1>Quay plan backed</h1><section><p>{}</p>{story}\
         <p>The council leader said the decision balanced the needs of the town.</p></section></main></body></html>",
        marker_of("echo-story")
    );
    site.set_page("echo-copy", &copy);
    site.publish(Format::Atom, "/pages/echo-copy");
    ws.once().await;
    let articles = ws.article_values();
    assert_eq!(articles.len(), 1, "{:?}", ws.articles());
    assert_eq!(
        articles[0]["also_seen_at"],
        serde_json::json!([site.url("/pages/echo-copy")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_near_duplicates_off_a_copy_is_its_own_article() {
    let site = Site::start().await;
    site.publish(Format::Rss, "off-story");
    site.set_page(
        "off-copy",
        &syndicated_copy("off-story", "Quay plan cleared"),
    );
    site.publish(Format::Atom, "/pages/off-copy");
    let ws = Workspace::new();
    let sources = vec![
        ("gazette", site.url(Format::Rss.path())),
        ("partner", site.url(Format::Atom.path())),
    ];
    ws.write_config_with_dedup(&sources, "near_duplicates = false");

    ws.once().await;

    assert_eq!(ws.articles().len(), 2, "{:?}", ws.articles());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_with_one_constant_canonical_link_does_not_swallow_the_sites_later_stories() {
    let site = Site::start().await;
    let stories: [(&str, &str, [&str; 3]); 3] = [
        (
            "bridge",
            "Old bridge to close for a year of repairs",
            [
                "The old stone bridge across the river will close to traffic from next month while engineers replace its crumbling arches and strengthen the foundations.",
                "Buses will be diverted through the industrial estate, adding about fifteen minutes to journeys into the town centre at peak times, the operator said.",
                "Shopkeepers on the far bank fear a drop in trade and have asked the council for a temporary footbridge to keep customers coming across the water.",
            ],
        ),
        (
            "library",
            "Library extends opening hours after petition",
            [
                "The central library will open until nine in the evening on weekdays from March, after more than three thousand residents signed a petition asking for longer hours.",
                "Students preparing for exams had complained that the reading rooms closed too early, leaving them nowhere quiet to study after school or work.",
                "The extra hours will be paid for by a grant from a local trust and staffed by two new librarians and a rota of trained volunteers.",
            ],
        ),
        (
            "festival",
            "Summer festival moves to the harbour front",
            [
                "Organisers of the summer music festival have moved this year's event to the harbour front, saying the park could no longer hold the growing crowds safely.",
                "Three stages will stand along the quay, and ferries will run late into the night so that visitors from the islands can get home after the last act.",
                "Neighbours of the old site welcomed the change, while traders near the harbour are preparing for their busiest weekend of the year.",
            ],
        ),
    ];
    let canonical = site.url("/latest");
    for (slug, headline, paragraphs) in &stories {
        let page = report(headline, paragraphs).replacen(
            "<head>",
            &format!("<head><link rel=\"canonical\" href=\"{canonical}\">"),
            1,
        );
        site.set_page(slug, &page);
        site.publish(Format::Rss, &format!("/pages/{slug}"));
    }
    let ws = Workspace::new();
    ws.write_config_with_dedup(&[("site", site.url(Format::Rss.path()))], "min_words = 20");

    let output = ws.once().await;

    let articles = ws.article_values();
    let mut titles: Vec<&str> = articles
        .iter()
        .filter_map(|a| a["title"].as_str())
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        [
            "Library extends opening hours after petition",
            "Old bridge to close for a year of repairs",
            "Summer festival moves to the harbour front"
        ],
        "{}",
        stderr(&output)
    );
    // The first one keeps the declared canonical; the others their own URL.
    assert!(
        articles
            .iter()
            .any(|a| a["canonical_url"].as_str() == Some(canonical.as_str()))
    );
    assert!(!stderr(&output).contains("duplicate of an article already written"));
}
