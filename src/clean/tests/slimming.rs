//! The input pass (`guard`) never changes the article: each way it cuts
//! markup, checked against the clean without it.

use super::*;

/// What the input pass cuts, in every shape it cuts it: scripts between
/// words, images, SVG, unread metas among read ones, plain and tangled
/// navigation, whitespace next to blocks and between inline elements.
const SLIMMED: &str = r#"<!DOCTYPE html><html lang="de"><head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta property="og:title" content="Council approves the new bridge">
<meta name="twitter:card" content="summary">
<meta name="description" content="The vote ends ten years of debate.">
<meta name="parsely-author" content="Ana Writer"><meta name="dc.date" content="2024-05-02">
<meta property="og:locale" content="de_DE"><meta property="og:url" content="https://example.org/bridge">
<script>window.dataLayer = [];</script><style>body { margin: 0 }</style>
<link rel="stylesheet" href="/site.css"><title>Council approves the new bridge | Town News</title>
</head><body>
<nav><ul><li><a href="/">Home</a><li><a href="/politics">Politics</a></ul><svg><path d="M0"/></svg></nav>
<nav><div>Tangled <b>menu</nav><p>Outside the tangled menu there is a line.</p>
<article><h1>Council approves the new bridge</h1>
<p>The council voted <b>nine</b> <i>to</i> <em>two</em> on Tuesday<script>ad()</script> to build the bridge, ending a<!-- --> <!-- -->debate that has run for ten years.</p>
  <figure><picture><source srcset="a.webp"><img src="a.jpg" alt="The river"></picture><figcaption>The river at dusk.</figcaption></figure>
<p>Work starts in spring<img src="px.gif">, the mayor said, and should take <a href="/costs">two years</a> at a cost the council put at forty million.</p>
<select><option>Share<input type="text">on mail</select>
<p>Opponents<!-- --> <!-- -->said the money would be better spent on the ferry, which carries about two thousand people a day.</p>
</article></body></html>"#;

#[test]
fn input_slimming_never_changes_the_article() {
    assert_slimming_agrees(SEED);
    assert_slimming_agrees(SLIMMED);
    let c = clean(SLIMMED, None).expect("article");
    assert!(
        c.text.contains("nine to two on Tuesday to build"),
        "{}",
        c.text
    );
    assert!(
        c.text.contains("Work starts in spring, the mayor"),
        "{}",
        c.text
    );
    assert!(c.text.contains("ending a debate"), "{}", c.text);
    assert!(c.text.contains("Opponents said"), "{}", c.text);
    assert_eq!(c.authors, ["Ana Writer"]);
    assert_eq!(c.language.as_deref(), Some("de"));
}

#[test]
fn navigation_is_kept_where_its_content_would_close_an_ancestor() {
    // The `<input>`, the inner `<button>`, the inner `<a>` close what the
    // `<nav>` sits in, and the `<nav>` with it: what follows is no menu.
    for page in [
        format!("<html><div><select><nav><input>{BODY}</nav></select></div></html>"),
        format!("<html><div><button><nav><button>x</button>{BODY}</nav></button></div></html>"),
        // A stray `</b>` closes nothing: the `<a>` is still open.
        format!(
            "<html><div><p>{BODY}<a href=/x>link</b><nav><a href=/>Home</a></nav>\
             plain text long enough to count as a paragraph of its own here</div></html>"
        ),
    ] {
        assert_slimming_agrees(&page);
    }
}

#[test]
fn a_pending_formatting_element_reopens_where_it_would_on_the_page() {
    // `</p>` closes the `<a>` but leaves it pending: the next whitespace
    // or inline tag opens it again, and the table goes inside that link.
    for between in [" \n ", "<img src=a>", "<svg><path d=x /></svg>", "<input>"] {
        assert_slimming_agrees(&format!(
            "<p><a href=\"/x\">x</p>{between}<table><tr><td><div><div>{BODY}<div>"
        ));
    }
}

#[test]
fn a_removed_block_breaks_the_line_as_on_the_page() {
    // The text around a dropped block is two lines, with or without the
    // whitespace next to it (which the input pass removes).
    for block in [
        "<nav><a href=/>Home</a></nav>",
        "<div class=share>Share</div>",
    ] {
        assert_slimming_agrees(&format!(
            "<html><body><span>Intro words</span> \n {block}<span>The council voted on \
             Tuesday, after a long and heated debate, to approve the plan.</span></body></html>"
        ));
    }
}

#[test]
fn a_link_left_open_in_a_template_wraps_what_follows_as_on_the_page() {
    // The cell's marker stays in the list of active formatting elements,
    // so the `<a>` outlives the template and the body text becomes a link.
    assert_slimming_agrees(&format!(
        "<template><a href=/x><table><tr><td><b></template><div>{BODY}</div>"
    ));
}

#[test]
fn a_late_frameset_sees_what_was_cut() {
    // The image makes the parser ignore `<frameset>`; without it, the
    // frameset would replace the body and the article with it.
    for before in ["<img src=a>", "<input>", "<nav><a href=/>Home</a></nav>"] {
        assert_slimming_agrees(&format!("<html><div>{before}</div><frameset>{BODY}</html>"));
    }
}
