//! The cleaner on hand-written pages, one per failure class seen on sites it
//! was not tuned on (see `tests/pages/`). Quality numbers come from
//! `scripts/eval`; these pin the behaviour of each class.

use thresher::clean::{Cleaned, clean};

fn page(name: &str) -> Cleaned {
    let path = format!("{}/tests/pages/{name}.html", env!("CARGO_MANIFEST_DIR"));
    let html = std::fs::read_to_string(&path).expect("fixture");
    let base = url::Url::parse("https://news.example/story").ok();
    clean(&html, base.as_ref()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn every_section_of_a_guide_whose_sections_sit_in_containers_of_their_own_is_kept() {
    let c = page("multi-section-guide");
    for (topic, steps) in [
        ("kettle", 4),
        ("grinder", 2),
        ("scale", 1),
        ("filter", 2),
        ("timer", 1),
        ("mug", 2),
    ] {
        for step in 1..=steps {
            let needle = format!("explains step {step} in plain terms");
            assert!(
                c.text
                    .contains(&format!("The {topic} section {}", &needle[..])),
                "{topic} step {step} missing:\n{}",
                c.text
            );
        }
        assert!(
            c.text.contains(&format!("Choosing the {topic}")),
            "{topic} heading"
        );
    }
    assert!(!c.text.contains("All rights reserved"), "{}", c.text);
    assert!(!c.text.contains("Guides About"), "{}", c.text);
}

#[test]
fn a_list_of_teasers_beside_the_article_is_not_taken_for_more_of_it() {
    let c = page("article-beside-teaser-list");
    assert_eq!(
        count(&c.text, "The harbour report section explains"),
        6,
        "{}",
        c.text
    );
    assert!(!c.text.contains("A summary of another story"), "{}", c.text);
    assert!(!c.text.contains("Read more"), "{}", c.text);
}

#[test]
fn a_call_to_action_the_template_prints_after_every_section_is_dropped_as_a_copy() {
    let c = page("template-copies-of-a-paragraph");
    assert!(
        count(&c.text, "Want more tips like these") <= 1,
        "{}",
        c.text
    );
    for topic in ["timing", "method", "aftercare"] {
        assert!(
            c.text.contains(&format!("The {topic} section")),
            "{topic}: {}",
            c.text
        );
    }
}

#[test]
fn a_body_printed_again_for_each_screen_size_is_written_once_headings_and_all() {
    let c = page("responsive-copies-of-the-body");
    for line in [
        "Does the location of the house change whether to remodel or move?",
        "Local prices",
        "Where houses sell fast and prices climb",
        "What improvements can be deducted from taxes in most places?",
    ] {
        assert_eq!(count(&c.text, line), 1, "{line}:\n{}", c.text);
    }
    assert!(c.text.contains("three builders"), "{}", c.text);
}

#[test]
fn a_refrain_the_author_repeats_beside_new_text_is_kept_each_time() {
    let c = page("a-refrain-the-author-repeats");
    assert_eq!(count(&c.text, "We will rebuild the pier"), 2, "{}", c.text);
    assert_eq!(
        count(&c.text, "The speech section explains"),
        4,
        "{}",
        c.text
    );
}

#[test]
fn a_part_sent_hidden_by_a_streaming_renderer_is_read_as_the_article() {
    let c = page("react-streamed-segment");
    assert_eq!(
        count(&c.text, "of the streamed post tells its part"),
        5,
        "{}",
        c.text
    );
    assert!(!c.text.contains("A hidden note"), "{}", c.text);
}

/// Pseudo-random bytes, the same every run.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[3]
        })
        .collect()
}

#[test]
fn bytes_that_are_not_text_are_no_article_whatever_they_are_labelled() {
    use std::io::Write;
    let article = std::fs::read(format!(
        "{}/tests/pages/multi-section-guide.html",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture");
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&article).expect("gzip");
    let gzipped = gzip.finish().expect("gzip");
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend(noise(20_000));
    for (what, bytes) in [
        ("gzip without Content-Encoding", gzipped),
        ("a PNG", png),
        ("random bytes", noise(50_000)),
    ] {
        let html = thresher::clean::decode_html(&bytes, Some("text/html"));
        match clean(&html, None) {
            Err(e) => assert!(
                e.to_string().contains("the body is not text"),
                "{what}: {e}"
            ),
            Ok(c) => panic!("{what} gave an article: {:?}", c.text.get(..200)),
        }
    }
    // Text in any script is text.
    let greek = "<html><body><article><p>Η ομάδα του λιμανιού ψήφισε χθες το βράδυ \
                 για την ανακαίνιση της προβλήτας, μετά από μήνες συζητήσεων και \
                 διαφωνιών ανάμεσα στους κατοίκους και το δημοτικό συμβούλιο.</p></article></body></html>";
    assert!(clean(greek, None).is_ok());
}

#[test]
fn a_teaser_printed_twice_above_the_body_leaves_the_standfirst_once_in_the_text_and_once_as_subtitle()
 {
    let c = page("double-teaser-above-the-body");
    let standfirst = "The harbour pier, closed since the winter storms, will be rebuilt";
    assert!(
        c.subtitle
            .as_deref()
            .is_some_and(|s| s.starts_with(standfirst)),
        "{:?}",
        c.subtitle
    );
    assert_eq!(count(&c.text, standfirst), 1, "{}", c.text);
    assert!(
        c.text.starts_with(standfirst),
        "where the article has it: {}",
        c.text
    );
    assert_eq!(count(&c.text, "Council votes to rebuild"), 0, "{}", c.text);
    assert_eq!(count(&c.text, "Paragraph 5 of the harbour report"), 1);
}

#[test]
fn authors_come_from_the_byline_meta_too_and_a_name_with_its_role_is_one_author() {
    let paras: String = (1..=5)
        .map(|n| format!("<p>Paragraph {n} of the science report describes the experiment, the team and the results in enough words to be an article.</p>"))
        .collect();
    let html = format!(
        r#"<html><head><title>Mice dream of mazes</title>
        <meta name="byl" content="By Jane Roe">
        <script type="application/ld+json">{{"@type":"NewsArticle","headline":"Mice dream of mazes",
          "author":[{{"@type":"Person","name":"Tim Childers"}},
                    {{"@type":"Person","name":"Tim Childers - Live Science Contributor"}}]}}</script>
        </head><body><article><h1>Mice dream of mazes</h1>{paras}</article></body></html>"#
    );
    let c = clean(&html, None).expect("article");
    assert_eq!(c.authors, ["Tim Childers", "Jane Roe"]);
}

#[test]
fn the_pages_one_headline_is_the_title_over_a_meta_title_written_for_search() {
    let paras: String = (1..=5)
        .map(|n| format!("<p>Paragraph {n} of the programme guide compares the courses, the fees and the time each takes in enough words.</p>"))
        .collect();
    let html = format!(
        r#"<html><head><title>Top Online MBAs | Example Education</title>
        <meta property="og:title" content="Top Online MBAs"></head>
        <body><article><h1>Best Online MBA Programs</h1>{paras}</article></body></html>"#
    );
    let c = clean(&html, None).expect("article");
    assert_eq!(c.title.as_deref(), Some("Best Online MBA Programs"));
    assert!(!c.text.contains("Best Online MBA Programs"), "{}", c.text);
}

#[test]
fn every_entry_of_a_live_blog_is_kept_not_only_the_pinned_summary_and_the_first() {
    let c = page("live-blog");
    for n in 1..=15 {
        assert!(
            c.text.contains(&format!("Update {n}.1:")),
            "entry {n}:\n{}",
            c.text
        );
    }
    assert_eq!(count(&c.text, "Summary point"), 4, "{}", c.text);
    assert!(!c.text.contains("Key event"), "{}", c.text);
}

#[test]
fn a_hover_card_inside_a_paragraph_neither_drops_the_paragraph_nor_joins_its_text() {
    let c = page("hover-card-in-a-paragraph");
    assert!(
        c.text
            .starts_with("The new harbour master, Ana Lima, said on Monday"),
        "{}",
        c.text
    );
    assert!(!c.text.contains("twenty years at sea"), "{}", c.text);
    assert!(!c.text.contains("Follow"), "{}", c.text);
}

#[test]
fn a_collapsed_accordion_panel_is_article_text_while_a_hidden_box_is_not() {
    let steps: String = (1..=4)
        .map(|n| format!(
            r#"<h3><button id="step-{n}-head" aria-expanded="false" aria-controls="step-{n}">Step {n}</button></h3>
               <div id="step-{n}" role="region" aria-labelledby="step-{n}-head" style="display:none">
               <p>Step {n} of the installation takes a few weeks, and the installer explains each permit, visit and check before the work begins.</p></div>"#
        ))
        .collect();
    let html = format!(
        r#"<html><head><title>Installing panels</title></head><body><article><h1>Installing panels</h1>
           <p>An introduction of enough words to make this page an article about the steps of installing panels on a roof.</p>
           {steps}<div style="display:none"><p>A hidden promotional box that no reader is ever shown on this page at all.</p></div>
           </article></body></html>"#
    );
    let c = clean(&html, None).expect("article");
    assert_eq!(
        count(&c.text, "of the installation takes a few weeks"),
        4,
        "{}",
        c.text
    );
    assert!(!c.text.contains("hidden promotional box"), "{}", c.text);
}

#[test]
fn a_blog_post_whose_text_sits_in_an_inline_wrapper_is_found() {
    let c = page("blog-post-in-an-inline-wrapper");
    assert_eq!(
        count(&c.text, "explains one more step of the move"),
        7,
        "{}",
        c.text
    );
    assert!(c.text.contains("Fragile things"), "{}", c.text);
    assert!(!c.text.contains("latest posts and videos"), "{}", c.text);
}

#[test]
fn a_guide_whose_sections_are_named_for_a_jump_menu_is_kept_whole() {
    let c = page("guide-in-jump-sections");
    for i in 1..=5 {
        assert!(
            c.text.contains(&format!("Part {i} of the guide")),
            "{}",
            c.text
        );
    }
    assert_eq!(
        count(&c.text, "describes how the service works"),
        15,
        "{}",
        c.text
    );
}

#[test]
fn a_data_table_framed_as_a_figure_is_text_while_an_image_credit_is_not() {
    let c = page("table-in-a-figure");
    for i in 1..=8 {
        assert!(c.text.contains(&format!("City {i}")), "{}", c.text);
    }
    assert!(c.text.contains("Days on market"), "{}", c.text);
    assert!(!c.text.contains("Image by the desk"), "{}", c.text);
}

#[test]
fn utility_class_names_do_not_mark_article_text_as_page_furniture() {
    let c = page("utility-classes");
    assert_eq!(count(&c.text, "Run "), 6, "{}", c.text);
    assert_eq!(count(&c.text, "Plan note"), 8, "{}", c.text);
    assert!(!c.text.contains("Popular this week"), "{}", c.text);
}

#[test]
fn streamed_parts_saved_without_the_script_replace_their_loading_placeholders_in_order() {
    let c = page("react-placeholders-saved-without-script");
    assert!(!c.text.contains("Loading"), "{}", c.text);
    let one = c.text.find("Streamed part one").expect("part one");
    let shell = c.text.find("Shell paragraph").expect("shell");
    let two = c.text.find("Streamed part two").expect("part two");
    assert!(one < shell && shell < two, "{}", c.text);
}

/// A page with `head` in its `<head>` and `top` between the headline and a
/// body long enough to be an article.
fn dated_page(head: &str, top: &str) -> String {
    let body = "<p>The body of the story runs on for a while, long enough to be the article a reader came for, with detail after detail.</p>".repeat(4);
    format!(
        "<html lang=\"de\"><head><title>T</title>{head}</head><body><article><h1>Die Geschichte</h1>{top}{body}</article>\
         <aside class=\"sidebar\"><span class=\"date\">1. Januar 2020</span></aside></body></html>"
    )
}

fn published(html: &str, url: &str) -> Option<String> {
    let base = url::Url::parse(url).ok();
    let c = clean(html, base.as_ref()).expect("article");
    c.published_at.map(|d| d.format("%Y-%m-%d").to_string())
}

#[test]
fn a_date_written_for_readers_beside_the_headline_is_the_publication_date() {
    let html = dated_page(
        "",
        "<p class=\"byline\">Von Anna Muster · Veröffentlicht am 12. Februar 2024</p>",
    );
    assert_eq!(
        published(&html, "https://news.example/story").as_deref(),
        Some("2024-02-12")
    );
}

#[test]
fn the_date_of_a_web_page_node_in_json_ld_counts_when_no_article_node_has_one() {
    let ld = r#"<script type="application/ld+json">{"@graph":[{"@type":"WebPage","datePublished":"2021-01-27T06:00:00+00:00"}]}</script>"#;
    assert_eq!(
        published(&dated_page(ld, ""), "https://news.example/story").as_deref(),
        Some("2021-01-27")
    );
}

#[test]
fn a_date_in_the_url_path_is_used_when_the_page_has_no_other() {
    let html = dated_page("", "").replace("1. Januar 2020", "");
    assert_eq!(
        published(&html, "https://news.example/2023/07/04/die-geschichte/").as_deref(),
        Some("2023-07-04")
    );
}

#[test]
fn the_markup_date_wins_over_a_written_one_and_a_future_date_is_none() {
    let meta = "<meta property=\"article:published_time\" content=\"2022-05-06T08:00:00+02:00\">";
    let html = dated_page(meta, "<p class=\"date\">3. März 2024</p>");
    assert_eq!(
        published(&html, "https://news.example/story").as_deref(),
        Some("2022-05-06")
    );
    let future = dated_page("", "<p class=\"date\">3. März 2999</p>").replace("1. Januar 2020", "");
    assert_eq!(published(&future, "https://news.example/story"), None);
}

fn authors_of(top: &str) -> Vec<String> {
    let html = dated_page("", top);
    clean(&html, None).expect("article").authors
}

#[test]
fn a_link_to_the_authors_page_names_the_author_when_no_markup_does() {
    assert_eq!(
        authors_of("<div class=\"meta\"><a href=\"/autoren/anna-muster\">Anna Muster</a></div>"),
        ["Anna Muster"]
    );
}

#[test]
fn a_byline_names_the_author_in_any_language_but_a_label_or_a_sentence_does_not() {
    assert_eq!(
        authors_of("<p class=\"byline\">Von Anna Muster</p>"),
        ["Anna Muster"]
    );
    assert_eq!(
        authors_of("<span class=\"author\">Par Jean de la Fontaine</span>"),
        ["Jean de la Fontaine"]
    );
    assert!(authors_of("<span class=\"author-label\">Written by</span>").is_empty());
    assert!(
        authors_of("<p class=\"byline\">this story was updated on 12 March 2024 at noon</p>")
            .is_empty()
    );
}
