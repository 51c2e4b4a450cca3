//! Property tests: any input gives an article or a clear "no article found",
//! never a panic, whatever the options.

use proptest::prelude::*;
use thresher::clean::decode_html;
use thresher::clean::{self, CleanError, Options, Rules};

/// Pieces of HTML that stress the parser and the extractor when glued together
/// at random: unclosed and misnested tags, tables, forms, hidden blocks,
/// scripts, entities, JSON-LD, hint-laden classes.
const FRAGMENTS: &[&str] = &[
    "<div>",
    "</div>",
    "<p>",
    "</p>",
    "<article>",
    "</article>",
    "<table><tr><td>",
    "</td></tr></table>",
    "<b><i>",
    "</b>",
    "<ul><li>",
    "</li>",
    "<form>",
    "</form>",
    "<script>var x = '</div>';",
    "</script>",
    "<style>p { clear: both }",
    "</style>",
    "<div hidden>",
    "<div class=\"comment share related\">",
    "<div class=\"article-body content\">",
    "<h1>",
    "</h1>",
    "<title>Headline</title>",
    "<meta property=\"og:title\" content=\"Headline\">",
    "<script type=\"application/ld+json\">{\"@type\":\"NewsArticle\",\"articleBody\":\"",
    "\"}</script>",
    "<!-- comment -->",
    "<![CDATA[",
    "&amp;&lt;&#0;&#x110000;&bogus;",
    "<a href=\"javascript:alert(1)\">",
    "<a href=\"/relative\">",
    "</a>",
    "<svg><text>",
    "</svg>",
    "<noscript>",
    "<template>",
    "</template>",
    "<frameset>",
    "<br>",
    "\u{0}\u{feff}\u{202e}",
    "The council voted on Tuesday, after a long and heated debate, to approve the plan. ",
    "Headline ",
    "日本語の文章です。",
    "<nav><ul><li><a href=\"/\">Home</a>",
    "</ul></nav>",
    "<nav>",
    "</nav>",
    "<img src=\"a.jpg\" alt=\"x\">",
    "<meta name=\"viewport\" content=\"x\">",
    "<meta name=\"author\" content=\"Ana Writer\">",
    "<select><option>",
    "<input type=\"text\">",
    "<textarea>",
    "</select>",
    "<math>",
    " \n ",
    "<pre>",
    "</pre>",
    "<span>",
    "</span>",
    "</template>",
    "</noscript>",
    "</textarea>",
    "</math>",
    "<time datetime=\"2024-05-02\">",
    "<figure>",
    "</figure>",
    "<picture>",
    "</picture>",
    "<figcaption>Caption</figcaption>",
    "<img data-src=\"lazy.jpg\" srcset=\"s.jpg 480w, l.jpg 1200w\" width=\"640\">",
    "<meta property=\"og:image\" content=\"/og.jpg\">",
    "<meta property=\"article:tag\" content=\"Roads\">",
];

fn html_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..200).prop_map(|parts| parts.concat())
}

fn rules() -> Rules {
    let parse = |css| scraper::Selector::parse(css).ok();
    Rules {
        content: parse("div.article-body"),
        remove: [".comment", "table"]
            .into_iter()
            .filter_map(parse)
            .collect(),
        title: parse("h1"),
    }
}

/// A refusal must say why.
fn check(result: Result<clean::Cleaned, CleanError>) {
    match result {
        Ok(cleaned) => {
            assert!(
                !cleaned.text.contains("\n\n\n"),
                "paragraphs separated by one blank line"
            );
            assert!(!cleaned.html.contains("<script"), "{}", cleaned.html);
        }
        Err(CleanError::NoArticle(reason, _) | CleanError::OverBudget(reason)) => {
            assert!(!reason.is_empty())
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let html = decode_html(&bytes, None);
        check(clean::clean(&html, None));
    }

    #[test]
    fn tag_soup_never_panics_with_or_without_options(soup in html_soup(), explain in any::<bool>()) {
        let base = url::Url::parse("https://news.example/a/b").ok();
        check(clean::clean(&soup, base.as_ref()));
        let rules = rules();
        let is_template = |block: &str| block.starts_with("Headline");
        let options = Options { rules: Some(&rules), is_boilerplate: Some(&is_template), explain };
        check(clean::clean_with(&soup, base.as_ref(), &options));
    }

    /// The input pass cuts only what the cleaner would drop anyway: turning
    /// it off (as explaining does) gives the same article.
    #[test]
    fn input_slimming_never_changes_the_article(soup in html_soup()) {
        let slim = clean::clean(&soup, None);
        let options = Options { explain: true, ..Options::default() };
        let whole = clean::clean_with(&soup, None, &options);
        match (slim, whole) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a.text, b.text);
                prop_assert_eq!(a.title, b.title);
                prop_assert_eq!(a.subtitle, b.subtitle);
                prop_assert_eq!(a.authors, b.authors);
                prop_assert_eq!(a.published_at, b.published_at);
                prop_assert_eq!(a.language, b.language);
                prop_assert_eq!(a.canonical_url, b.canonical_url);
                prop_assert_eq!(a.image, b.image);
                prop_assert_eq!(a.images, b.images);
                prop_assert_eq!(a.updated_at, b.updated_at);
                prop_assert_eq!(a.site_name, b.site_name);
                prop_assert_eq!(a.tags, b.tags);
            }
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "slim {:?} vs whole {:?}", a.map(|c| c.text), b.map(|c| c.text)),
        }
    }
}
