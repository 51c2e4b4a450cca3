//! What the cleaner keeps and drops on whole pages: the headline and standfirst once,
//! comment threads, footers, link lists, copies, JSON-LD bodies, explanations.

use super::*;
use url::Url;

#[test]
fn metadata_ignores_template_and_svg_content() {
    // The input pass drops both whole: what they hold is never read.
    for inert in [
        "<template><title>Template</title></template>",
        "<template><h1>Template</h1></template>",
        "<template><meta name=author content=Tom></template>",
        "<template><script type=application/ld+json>{\"@type\":\"NewsArticle\",\"headline\":\"LD\"}</script></template>",
        "<svg><title>Logo</title></svg>",
        "<svg><a rel=author href=/a><text>Ann</text></a></svg>",
        "<svg><time datetime=2024-05-02>x</time></svg>",
    ] {
        assert_slimming_agrees(&format!("<html><div>{inert}</div>{BODY}</html>"));
    }
}

#[test]
fn seed_example_is_clean() {
    let base = Url::parse("https://www.independent.ie/world-news/x.html").ok();
    let c = clean(SEED, base.as_ref()).expect("article");
    let title = "Putin and Kim set to meet as Russia aims to weigh in on North Korea";
    assert_eq!(c.title.as_deref(), Some(title));
    assert_eq!(
        c.subtitle.as_deref(),
        Some("Kim Jong-un wants to hedge bets after failed US summit")
    );
    assert!(!c.text.contains(title), "title leaked: {}", c.text);
    assert!(!c.text.contains("hedge bets after failed"), "{}", c.text);
    assert!(!c.text.contains("clear: both"));
    assert!(!c.text.contains("Irish Independent"));
    assert!(!c.text.contains("Please enter"));
    assert!(!c.text.contains("By Jane Reporter"));
    let paras: Vec<&str> = c.text.split("\n\n").collect();
    assert_eq!(paras.len(), 4, "{paras:?}");
    assert!(paras[0].starts_with("Vladimir Putin"));
    assert!(paras[3].ends_with("(© Washington Post)"));
    assert_eq!(c.authors, vec!["Jane Reporter".to_string()]);
    assert_eq!(c.language.as_deref(), Some("en-IE"));
    assert_eq!(
        c.canonical_url.as_ref().map(Url::as_str),
        Some("https://www.independent.ie/world-news/putin-kim-38031234.html")
    );
    assert!(c.published_at.is_some());
    assert!(c.html.starts_with("<p>Vladimir Putin"), "{}", c.html);
    assert!(!c.html.contains("class="));
}

#[test]
fn explanation_lists_kept_body_and_removed_junk_with_reasons() {
    let options = Options {
        explain: true,
        ..Options::default()
    };
    let c = clean_with(SEED, None, &options).expect("article");
    let d = &c.explanation;
    let find = |needle: &str| {
        d.iter()
            .find(|d| d.text.contains(needle))
            .unwrap_or_else(|| panic!("no decision about {needle:?}: {d:#?}"))
    };
    let body = find("Vladimir Putin and Kim");
    assert!(body.kept && body.score.is_some_and(|s| s > 0.0), "{body:?}");
    assert!(body.element.ends_with('p'), "{body:?}");
    let comments = find("Please enter your comment");
    assert!(!comments.kept, "{comments:?}");
    let nav = find("Sport");
    assert!(!nav.kept, "{nav:?}");
    let kept = d.iter().filter(|d| d.kept).count();
    assert_eq!(kept, c.text.split("\n\n").count(), "{d:#?}");
    // Without the flag nothing is recorded.
    assert!(clean(SEED, None).expect("article").explanation.is_empty());
}

#[test]
fn a_blog_name_linked_home_in_the_h1_is_not_the_headline() {
    let body = "<p>I have been teaching myself a new way to write programs, and it has changed how I think about the work, the tools and the people I build for.</p>".repeat(3);
    let page = format!(
        r#"<html><head><title>davidbau.com Vibe Coding</title></head><body>
<h1><a href="https://davidbau.com/">davidbau.com</a></h1>
<div class="post"><p>Vibe Coding</p>{body}</div></body></html>"#
    );
    let c = clean(&page, None).expect("the post");
    assert_eq!(c.title.as_deref(), Some("Vibe Coding"));
    // The headline printed again as a plain line is not text.
    assert!(c.text.starts_with("I have been teaching"), "{}", c.text);
    assert_eq!(without_site_name("Blog • Notes", "Blog"), Some("Notes"));
    assert_eq!(without_site_name("Notes - Blog", "blog"), Some("Notes"));
    assert_eq!(without_site_name("Blogger news", "Blog"), None);
    assert_eq!(without_site_name("Blog", "Blog"), None);
}

#[test]
fn a_short_line_after_the_comment_thread_is_not_text() {
    let body = "<p>The council met on Tuesday evening to settle the budget for the coming year, and after a long debate it voted to raise spending on roads and bridges.</p>".repeat(4);
    let page = format!(
        r#"<html><body><div id="content"><h1>Budget passed</h1>{body}
<div id="comments"><h3>Add your comment</h3><p>Ann says: a fine decision by the council, at last.</p></div>
<p>By posting a comment you agree that we store your name and address.</p></div></body></html>"#
    );
    let c = clean(&page, None).expect("the article");
    assert!(c.text.contains("bridges"), "{}", c.text);
    assert!(!c.text.contains("By posting"), "{}", c.text);
    // Where the thread comes first (a comment count by the byline), the article stays.
    let page = format!(
        r##"<html><body><div id="content"><h1>Budget passed</h1>
<div class="comments-count"><a href="#c">Comments</a></div>{body}</div></body></html>"##
    );
    let c = clean(&page, None).expect("the article");
    assert_eq!(c.text.matches("bridges").count(), 4, "{}", c.text);
}

#[test]
fn a_comment_body_is_a_comment_though_its_class_says_body() {
    // Movable Type: `comments-head` and `comments-body` beside the post;
    // "body" must not make a comment thread article text.
    let body = "<p>The council met on Tuesday evening to settle the budget for the coming year, and after a long debate it voted to raise spending on roads and bridges.</p>".repeat(4);
    let comments: String = [
        "I disagree with every part of this decision and I think the council should have waited for the audit to finish first.",
        "Roads in my street have not been repaired for ten years, so any extra money is welcome, whatever the audit says later.",
        "The bridge on the river road is closed again this winter; I hope this budget finally pays for a new one and not more studies.",
    ]
    .iter()
    .map(|c| format!(r#"<div class="comments-body"><p>{c}</p><span>Posted by: a reader</span></div>"#))
    .collect();
    let page = format!(
        r#"<html><body><div id="container"><div class="blog"><h1>Budget passed</h1><div class="blogbody">{body}</div>
<div class="comments-head">Comments</div>{comments}</div></div></body></html>"#
    );
    let c = clean(&page, None).expect("the article");
    assert_eq!(c.text.matches("bridges").count(), 4, "{}", c.text);
    assert!(!c.text.contains("audit"), "{}", c.text);
}

#[test]
fn a_short_article_wins_over_a_longer_legal_footer() {
    // The first pass (footer cut by its id) is short, so a retry runs
    // without the class and id hints; the page footer, longer than the
    // article and away from the headline, must still stay out.
    let legal = "This material is general information only and is not advice; consult a qualified adviser before you act on it, because every case differs. ".repeat(12);
    let page = format!(
        r#"<html><body><header><a href="/">Home</a> <a href="/about">About</a></header>
<main><section><h1>Best practices for vehicle rentals</h1>
<p>A good risk management programme screens every driver before the keys change hands, and checks the car too.</p>
<p>Key topics in the guide:</p><ul><li>Procedures at the rental counter</li><li>Steps for hired vehicles</li><li>Reporting losses</li></ul>
</section></main>
<footer id="page-footer"><section><div><p>{legal}</p><p>Products named here are for information only.</p></div></section></footer>
</body></html>"#
    );
    let c = clean(&page, None).expect("the short article");
    assert!(c.text.contains("screens every driver"), "{}", c.text);
    assert!(!c.text.contains("qualified adviser"), "{}", c.text);
}

#[test]
fn json_ld_body_is_used_when_dom_is_thin() {
    let page = r#"<html><head><title>Site</title>
<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
 {"@type":"WebPage","name":"Site"},
 {"@type":["NewsArticle"],"headline":"Rates rise again","inLanguage":"en_gb",
  "author":[{"@type":"Person","name":"Ann Lee"},{"@type":"Person","name":"Bo Chan"}],
  "datePublished":"2024-03-01T10:00:00+01:00",
  "articleBody":"The central bank raised rates for the third time this year, citing stubborn inflation in services and wages.\nEconomists had expected the move, although several said the pace of increases would now slow as growth weakens across the region and households feel the squeeze on their budgets."}
]}</script></head>
<body><div id="app"><p>Loading the article, please wait.</p></div></body></html>"#;
    let c = clean(page, None).expect("article from JSON-LD");
    assert_eq!(c.title.as_deref(), Some("Rates rise again"));
    assert_eq!(
        c.authors,
        vec!["Ann Lee".to_string(), "Bo Chan".to_string()]
    );
    assert_eq!(c.language.as_deref(), Some("en-GB"));
    assert_eq!(
        c.published_at.map(|d| d.to_rfc3339()).as_deref(),
        Some("2024-03-01T10:00:00+01:00")
    );
    assert!(c.text.starts_with("The central bank raised rates"));
    assert_eq!(c.text.split("\n\n").count(), 2);
    assert!(!c.text.contains("Loading"));
}

#[test]
fn html_in_json_ld_body_is_turned_into_text() {
    let page = r#"<html><head><script type="application/ld+json">{"@type":"BlogPosting",
"headline":"Notes","articleBody":"<p>First paragraph of the post, which talks about several things at length.</p><p>Second paragraph &amp; more words, so that the body is long enough to count as an article.</p>"}
</script></head><body><div id="root"></div></body></html>"#;
    let c = clean(page, None).expect("article");
    assert!(!c.text.contains("<p>"), "{}", c.text);
    assert_eq!(c.text.split("\n\n").count(), 2, "{}", c.text);
    assert!(c.text.contains("& more words"));
}

#[test]
fn headline_repeated_as_first_paragraph_is_dropped() {
    let page = r#"<html><head><title>Bridge reopens after repairs | Town News</title></head><body>
<h1>Bridge reopens after repairs</h1>
<div class="story-body"><p>Bridge reopens after repairs</p>
<p>The old stone bridge over the river reopened on Monday, after eight months of repairs that cost the council far more than planned.</p>
<p>Residents, who had faced a long detour, welcomed the news, although some said the new surface was already showing cracks.</p>
</div></body></html>"#;
    let c = clean(page, None).expect("article");
    assert_eq!(c.title.as_deref(), Some("Bridge reopens after repairs"));
    assert!(c.text.starts_with("The old stone bridge"), "{}", c.text);
    assert!(!c.text.contains("Bridge reopens"));
}

#[test]
fn repeated_paragraphs_are_kept_but_repeated_short_rows_are_not() {
    let para = "<p>The chorus comes back, word for word, because the poem repeats it on purpose, twice.</p>";
    let page = format!(
        r#"<html><body><article>{para}<p>A verse sits between the two choruses, with its own words, and its own commas.</p>{para}
<table><thead><tr><th>Name</th><th>Score</th></tr></thead><tbody><tr><td>Ann</td><td>3</td></tr></tbody>
<tfoot><tr><th>Name</th><th>Score</th></tr></tfoot></table>
<table><thead><tr><th>Name</th><th>Score</th></tr></thead><tbody><tr><td>Bo</td><td>5</td></tr></tbody></table>{para}{para}</article></body></html>"#
    );
    let c = clean(&page, None).expect("article");
    assert_eq!(
        c.text.matches("The chorus comes back").count(),
        4,
        "{}",
        c.text
    );
    // Table two's header right after table one's footer row is the same line twice.
    assert_eq!(c.text.matches("Name Score").count(), 2, "{}", c.text);
}

#[test]
fn embedded_photo_gallery_is_not_the_article() {
    let slide = "<li><h2>Slide</h2><p>A caption that describes the photo at length, with commas, names, places, and dates.</p></li>";
    let page = format!(
        r#"<html><body><article><div class="text"><p>The story opens here, with its first paragraph, and its own commas.</p>
{}<div class="photo-gallery"><ul>{}</ul></div>
<p>The story ends here, after the gallery, with a last paragraph of its own.</p></div></article></body></html>"#,
        "<p>The story goes on, in another paragraph, that is also long enough to count.</p>"
            .repeat(6),
        slide.repeat(12)
    );
    let c = clean(&page, None).expect("article");
    assert!(c.text.starts_with("The story opens"), "{}", c.text);
    assert!(c.text.contains("The story ends"), "{}", c.text);
    assert!(!c.text.contains("A caption"), "{}", c.text);
}

#[test]
fn inline_formula_in_a_sentence_is_kept_but_reader_only_text_is_not() {
    let formula = r#"<span class="FormulaMenu_Attached"><math><mi>E</mi> <mo>=</mo> <mi>m</mi><annotation encoding="application/x-tex">E=m</annotation></math></span>"#;
    let page = format!(
        r#"<html><body><article><p>Energy, as the physicist wrote, is {formula} in units where the constant is one, which is a neat, short, and famous result.</p>
<p>The second paragraph explains the result in more words, with commas, and a link<span class="sr-only"> opens in a new window</span>, to a source.</p>
<p>{}</p></article></body></html>"#,
        "A third paragraph adds more words, so that the page is long enough, and has commas. "
            .repeat(6)
    );
    let c = clean(&page, None).expect("article");
    assert!(c.text.contains("is E = m in units"), "{}", c.text);
    assert!(!c.text.contains("E=m"), "{}", c.text);
    assert!(!c.text.contains("new window"), "{}", c.text);
}

#[test]
fn deeply_nested_section_like_the_winner_is_merged() {
    let para = |t: &str| {
        format!("<p>{t}, a paragraph with enough words, commas, clauses, and detail to score.</p>")
    };
    let deep = format!(
        "<div><div><div><div><div><div>{}{}</div></div></div></div></div></div>",
        para("Deep one"),
        para("Deep two")
    );
    let page = format!(
        r#"<html><body><div class="page"><div class="section">{}</div><figure>Photo</figure><div class="section">{deep}</div></div></body></html>"#,
        (1..=8)
            .map(|i| para(&format!("Shallow {i}")))
            .collect::<String>()
    );
    let c = clean(&page, None).expect("article");
    assert!(c.text.starts_with("Shallow 1"), "{}", c.text);
    assert!(c.text.contains("Deep two"), "{}", c.text);
    assert!(!c.text.contains("Photo"), "{}", c.text);
}

#[test]
fn link_lists_are_judged_as_a_whole() {
    let page = r#"<html><body><article>
<p>The release brings many changes, listed below, with the people who made them, and links to the bugs.</p>
<ul><li>The printing dialog now supports page ranges, which users had asked for, for years.</li>
<li><a href="/bug/1">Bug 1: fix the crash on start</a></li>
<li>Search engines can now be removed from the bar, one by one, in the settings page.</li></ul>
<p>More paragraphs follow the list, so that the article is long enough, with commas, and detail.</p>
<table><tr><td>Year</td><td>What changed in the browser</td></tr><tr><td>2019</td><td><a href="/v1">Version one</a></td></tr>
<tr><td>2020</td><td>Tabs can be grouped, named, coloured, and closed together</td></tr></table>
<p>A closing paragraph ends the article, after the table, with a few more words of its own.</p>
<ul class="more"><li><a href="/a">Another story</a></li><li><a href="/b">Yet another story</a></li><li><a href="/c">A third story</a></li></ul>
</article></body></html>"#;
    let c = clean(page, None).expect("article");
    assert!(c.text.contains("Bug 1: fix the crash"), "{}", c.text);
    assert!(c.text.contains("2019 Version one"), "{}", c.text);
    assert!(!c.text.contains("Another story"), "{}", c.text);
}

#[test]
fn relative_links_are_resolved_and_markup_sanitised() {
    let page = r#"<html><body><article><p style="color:red" class="x">A long enough first paragraph, with a <a href="/about" onclick="evil()">link</a> and <em>emphasis</em>, to count as text here.</p>
<p>Another paragraph follows, with more words, so that the article is clearly long enough to be kept by the cleaner.</p>
<script>document.write('junk')</script></article></body></html>"#;
    let base = Url::parse("https://example.com/news/item").ok();
    let c = clean(page, base.as_ref()).expect("article");
    assert!(
        c.html
            .contains(r#"<a href="https://example.com/about">link</a>"#),
        "{}",
        c.html
    );
    assert!(c.html.contains("<em>emphasis</em>"));
    assert!(!c.html.contains("style") && !c.html.contains("onclick"));
    assert!(!c.text.contains("document.write"));
}

#[test]
fn hidden_and_share_blocks_are_dropped() {
    let page = r##"<html><body><div class="post-content">
<p>First real paragraph of the story, long enough, with commas, clauses, and detail.</p>
<div style="display: none">Hidden promo text that must not appear anywhere at all.</div>
<div class="share-bar"><a href="#">Share on Facebook</a> <a href="#">Share on Twitter</a></div>
<p aria-hidden="true">Screen-reader junk that is hidden from readers of the page.</p>
<p>Second real paragraph of the story, also long enough, with commas, clauses, and detail.</p>
</div></body></html>"##;
    let c = clean(page, None).expect("article");
    assert!(!c.text.contains("Hidden promo"));
    assert!(!c.text.contains("Share on"));
    assert!(!c.text.contains("Screen-reader"));
    assert_eq!(c.text.split("\n\n").count(), 2, "{}", c.text);
}

#[test]
fn short_post_with_long_comment_thread_keeps_post_only() {
    let comment = "<li class=\"comment\"><p>I disagree with this, strongly, and here is a long reason why it is so, with more words.</p></li>";
    let page = format!(
        r#"<html><body><div class="entry-content"><p>Our short post announces the new open thread, where readers can ask anything, about any topic, at all.</p>
<p>Please keep the discussion civil, and remember that staff read every question, even if they cannot answer them all.</p></div>
<ol class="commentlist">{}</ol></body></html>"#,
        comment.repeat(30)
    );
    let c = clean(&page, None).expect("article");
    assert!(c.text.starts_with("Our short post"));
    assert!(!c.text.contains("I disagree"), "{}", c.text);
}

#[test]
fn page_wrapping_form_is_layout_not_junk() {
    let page = r#"<html><body><form id="aspnetForm" action="/page.aspx"><div id="content">
<p>This old site wraps its whole page in a form element, as ASP.NET pages used to, and the article lives inside it.</p>
<p>The cleaner must keep such text, because the form is only layout here, not a comment box or a sign-up form.</p>
</div></form></body></html>"#;
    let c = clean(page, None).expect("article");
    assert!(c.text.starts_with("This old site"));
}
