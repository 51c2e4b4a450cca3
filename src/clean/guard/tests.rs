//! The input pass, case by case.

use super::*;

/// The full pass, as the cleaner runs it.
fn prep(page: &str) -> String {
    prepare(page, MAX_DEPTH, NEVER_CONTENT).into_owned()
}

/// Only the never-content bytes go.
const NEVER_CONTENT: Slim = Slim {
    never_content: true,
    attrs: false,
    whitespace: false,
};

/// Only over-deep tags go.
const NOTHING: Slim = Slim::NONE;

#[test]
fn whitespace_next_to_tags_is_shortened_except_inside_pre() {
    let page = "<div>\n    <p>a  b</p>\n\n    <pre>\n  x\n    <b>y</b>\n</pre>\n   <p>\n    c\n  </p></div>";
    assert_eq!(
        prepare(page, MAX_DEPTH, Slim::ALL),
        "<div><p>a  b</p><pre>\n  x\n    <b>y</b>\n</pre><p>\nc\n</p></div>"
    );
    // Whitespace-only text next to a block boundary goes; between inline
    // elements it separates words and stays. After text and before an end
    // tag it stays too: were that tag a stray one the parser ignores, the
    // whitespace would be all that parts two words in one text node.
    assert_eq!(
        prepare(
            "<ul>\n  <li><b>a</b>\n <i>b</i></li>\n</ul>",
            MAX_DEPTH,
            Slim::ALL
        ),
        "<ul><li><b>a</b>\n<i>b</i></li>\n</ul>"
    );
    assert_eq!(
        prepare(
            "<p>When <!-- -->Mr<!-- --> <!-- -->Trump</p>",
            MAX_DEPTH,
            Slim::ALL
        ),
        "<p>When <!---->Mr<!----> <!---->Trump</p>"
    );
    // Dropped elements are transparent: the block boundary still counts.
    assert_eq!(
        prepare(
            "<div>\n<img src=a>\n<span>x</span></div>",
            MAX_DEPTH,
            Slim::ALL
        ),
        "<div><span>x</span></div>"
    );
    // `<pre/>` still opens a pre element in HTML; an unclosed one keeps the rest.
    let page = "<pre/>\n   <b>x</b>";
    assert_eq!(prepare(page, MAX_DEPTH, Slim::ALL), page);
    let off = Slim {
        whitespace: false,
        ..Slim::ALL
    };
    assert!(matches!(
        prepare("<p>a</p>\n   <p>b</p>", MAX_DEPTH, off),
        Cow::Borrowed(_)
    ));
}

#[test]
fn pages_without_never_content_pass_through() {
    let page = "<!doctype html><div><p>a < b</p><title>x</title></div>";
    assert!(matches!(prepare(page, 2, Slim::ALL), Cow::Borrowed(_)));
    let page = "<div><p>a</p><script>'<div><div>'</script></div>";
    assert!(matches!(prepare(page, 2, NOTHING), Cow::Borrowed(_)));
}

#[test]
fn open_formatting_elements_are_capped() {
    let page = "<b>".repeat(MAX_FORMATTING + 5);
    let out = prepare(&page, MAX_DEPTH, Slim::ALL);
    assert_eq!(out, "<b>".repeat(MAX_FORMATTING));
}

#[test]
fn deep_pages_are_flattened() {
    let page = format!("{}text", "<div class=x>".repeat(10));
    let out = prepare(&page, 3, Slim::ALL);
    assert_eq!(out, format!("{}text", "<div class=x>".repeat(3)));
}

#[test]
fn tags_inside_scripts_do_not_count_as_nesting() {
    let page = "<div><script>'<div><div><div>'</script></div>";
    assert_eq!(prepare(page, 1, NOTHING), page);
}

#[test]
fn scripts_and_styles_go_whole_and_comments_are_emptied() {
    assert_eq!(
        prep("<p>a</p><script src=x.js>var a = 1 < 2;</script><p>b</p>"),
        "<p>a</p><p>b</p>"
    );
    assert_eq!(
        prep("<style media=print>p > a { color: red }</style>x"),
        "x"
    );
    // Comments stay as nodes: they keep the text around them apart.
    assert_eq!(prep("a<!-- note <p>hidden</p> -->b"), "a<!---->b");
    assert_eq!(
        prep("<noscript><img src=x></noscript><textarea>t</textarea>y"),
        "y"
    );
    // In a select, `<textarea>` and `<input>` close it: their tags stay.
    assert_eq!(
        prep("<select><option>o<textarea>t</textarea><input>x</select>"),
        "<select><option>o<textarea></textarea><input>x</select>"
    );
}

#[test]
fn only_metas_the_metadata_reads_stay() {
    // Every key `metadata::extract` looks up, as name, property or itemprop.
    for key in [
        "og:title",
        "twitter:title",
        "og:description",
        "description",
        "twitter:description",
        "author",
        "article:author",
        "parsely-author",
        "sailthru.author",
        "dc.creator",
        "article:published_time",
        "og:published_time",
        "datePublished",
        "pubdate",
        "publishdate",
        "publish-date",
        "parsely-pub-date",
        "sailthru.date",
        "dc.date.issued",
        "dc.date",
        "dcterms.created",
        "date",
        "og:locale",
        "language",
        "og:url",
    ] {
        let page = format!("<meta name=\"{key}\" content=\"x\">");
        assert_eq!(prep(&page), page);
    }
    let page = "<meta http-equiv=Content-Language content=de><meta itemprop=name content=x>";
    assert_eq!(prep(page), page);
    let page =
        "<meta charset=utf-8><meta name=viewport content=x><META property=fb:app_id content=1>";
    assert_eq!(prep(page), "");
    // Inside SVG the pass could not skip, `<meta>` and `<img>` break out: they stay.
    let page = "<svg><p>x</p><meta name=viewport><img src=a></svg>";
    assert_eq!(prep(page), page);
}

#[test]
fn dropped_scripts_are_reported_only_when_they_run() {
    let ran = |page: &str| prepare_page(page, MAX_DEPTH, NEVER_CONTENT).scripted;
    assert!(ran("<script src=app.js></script>"));
    assert!(ran("<script type='text/javascript'>x()</script>"));
    assert!(ran("<script type=module>x()</script>"));
    assert!(ran("<script type=\"\">x()</script>"));
    assert!(!ran("<script type=\"text/template\"><p>x</p></script>"));
    assert!(!ran("<script type=application/json>{}</script>"));
    assert!(!ran("<p>no scripts</p>"));
}

#[test]
fn plain_navigation_is_emptied_and_notes_its_words() {
    let page = "<nav class=menu><ul><li><a href=/>Home</a><li><a href=/w>World news</a></ul>\
                <svg><path d=x /></svg><script>'</nav>'</script></nav><p>x</p>";
    let out = prepare_page(page, MAX_DEPTH, NEVER_CONTENT);
    assert_eq!(out.html, "<nav class=menu thresher-words=3></nav><p>x</p>");
    // Its script runs: the page says so though the script is gone.
    assert!(out.scripted);
    let page = "<nav><script type=text/template><a>x</a></script></nav>";
    let out = prepare_page(page, MAX_DEPTH, NEVER_CONTENT);
    assert_eq!(out.html, "<nav thresher-words=0></nav>");
    assert!(!out.scripted);
    // Anything that could end it elsewhere or move content keeps it whole.
    for (kept, text) in [
        ("<nav><div>unclosed</nav><p>x</p>", "unclosed"),
        ("<nav><form><input></form>search</nav>", "search"),
        ("<nav><table><tr><td>a</td></tr></table></nav>", "<td>a"),
        ("<nav></div>stray</nav>", "stray"),
        ("<nav><b>x</i></nav>", "<b>x"),
        ("<nav>never closed", "never closed"),
        // What the metadata reads stays where it is.
        ("<nav><h1>Site</h1></nav>", "<h1>Site"),
        ("<nav><title>T</title></nav>", "<title>T"),
        ("<nav><a rel=author href=/a>Ann</a></nav>", "Ann"),
        ("<nav><span itemprop=datePublished>N</span></nav>", "N"),
    ] {
        let out = prep(kept);
        assert!(out.contains(text), "{kept} -> {out}");
        assert!(!out.contains(NAV_WORDS_ATTR), "{kept} -> {out}");
    }
    // Inside an open formatting element, an `<a>` in the menu would close it.
    let page = "<a href=/x><nav><a href=/>Home</a></nav>";
    assert_eq!(prep(page), page);
}

#[test]
fn tag_names_are_case_insensitive() {
    assert_eq!(prep("<SCRIPT>alert('<p>')</ScRiPt >after"), "after");
    assert_eq!(prep("<Svg><G/></SVG>x"), "x");
}

#[test]
fn script_ends_only_at_a_real_end_tag() {
    // A split end tag in a string is not an end tag.
    assert_eq!(
        prep("<script>var s = '</scr' + 'ipt>'; t = '</scripts>';</script><p>x</p>"),
        "<p>x</p>"
    );
    // `</script` needs a delimiter after the name.
    assert_eq!(prep("<script>a='</scriptx>'</script/>b"), "b");
}

#[test]
fn script_escapes_follow_the_tokenizer() {
    // Inside `<!-- <script>`, the first `</script>` does not end the script.
    let page = "<script><!-- document.write('<script>x</script>'); --></script><p>after</p>";
    assert_eq!(prep(page), "<p>after</p>");
    // `-->` leaves the escape, so a later `<script>` does not nest.
    let page = "<script><!-- a --> '<script>' </script><p>after</p>";
    assert_eq!(prep(page), "<p>after</p>");
    // `<!-->` opens and closes the escape at once.
    let page = "<script><!--> '<script>' </script><p>after</p>";
    assert_eq!(prep(page), "<p>after</p>");
}

#[test]
fn unread_links_are_dropped() {
    let page = "<head><link rel=stylesheet href=a.css><LINK REL=Canonical href=/x>\
                <link itemprop=url href=/y></head><p>t<link rel=icon>";
    assert_eq!(
        prep(page),
        "<head><LINK REL=Canonical href=/x><link itemprop=url href=/y></head><p>t<!---->"
    );
}

#[test]
fn json_ld_is_kept() {
    let page =
        r#"<script type="application/LD+JSON">{"headline":"</b>"}</script><script>x</script>"#;
    assert_eq!(
        prep(page),
        r#"<script type="application/LD+JSON">{"headline":"</b>"}</script>"#
    );
}

#[test]
fn nested_svg_is_dropped_whole() {
    let page = "<p>a</p><svg viewBox='0 0 1 1'><svg><g><path d='M0 0'/></g></svg><title>Logo</title><style>.a{fill:red}</style></svg><p>b</p>";
    assert_eq!(prep(page), "<p>a</p><p>b</p>");
    // Self-closing svg has no content.
    assert_eq!(prep("<svg/><p>text</p>"), "<p>text</p>");
    // CDATA and comments inside svg do not end it early.
    let page = "<svg><![CDATA[ </svg> ]]><!-- </svg> --></svg>x";
    assert_eq!(prep(page), "x");
}

#[test]
fn svg_with_html_inside_is_kept() {
    // <p> breaks out of svg content: its text is on the page.
    let page = "<svg><g><p>Visible text</p></g></svg>";
    assert_eq!(prep(page), page);
    let page = "<svg><foreignObject><div>text</div></foreignObject></svg>";
    assert_eq!(prep(page), page);
    // Unterminated svg: kept, and later svgs are not rescanned.
    let page = "<svg><g>".repeat(3);
    assert_eq!(prep(&page), page);
}

#[test]
fn templates_nest() {
    let page =
        "<template><template><p>x</p></template><script>'</template>'</script></template><p>y</p>";
    assert_eq!(prep(page), "<p>y</p>");
    let page = "<template><p>never closed";
    assert_eq!(prep(page), page);
    // In SVG `<style>` is no raw text: the first `</template>` ends it. The
    // end is unclear to the pass, so from there it cuts nothing.
    let page = "<template><svg><style></template></style><title>T</title></template>";
    assert_eq!(prep(page), page);
}

#[test]
fn comments_end_as_in_the_spec() {
    assert_eq!(prep("<!--><script>x</script>"), "<!-->");
    assert_eq!(prep("<!---><p>a</p>"), "<!---><p>a</p>");
    assert_eq!(prep("<!-- a --!><p>b</p>"), "<!----><p>b</p>");
    // A comment containing a script hides it.
    assert_eq!(
        prep("<!-- <script>x</script> --><p>c</p>"),
        "<!----><p>c</p>"
    );
    // Unterminated: the rest is a comment, in a browser too.
    assert_eq!(prep("<p>a</p><!-- <p>b</p>"), "<p>a</p><!---->");
}

#[test]
fn quoted_gt_in_attributes_does_not_end_the_tag() {
    let page = r#"<div title="a > b" data-x='<script>'><script>y</script>z</div>"#;
    assert_eq!(
        prep(page),
        r#"<div title="a > b" data-x='<script>'>z</div>"#
    );
    // Quotes in a name are just name characters.
    assert_eq!(prep(r#"<a b"c>d</a>"#), r#"<a b"c>d</a>"#);
    // Unquoted values end at whitespace or `>`.
    assert_eq!(prep("<a href=x/><script>z</script>"), "<a href=x/>");
}

#[test]
fn text_that_looks_like_markup_is_text() {
    let page = "<p>a < b and c<d, 1 <= 2, </ 3, <?php ?> <!doctype x> <![CDATA[ y ]]></p>";
    assert_eq!(prep(page), page);
}

#[test]
fn unterminated_constructs_are_safe() {
    assert_eq!(prep("<p>a</p><script>var x"), "<p>a</p>");
    assert_eq!(prep("<p>a</p><div title=\"x"), "<p>a</p><div title=\"x");
    assert_eq!(prep("<p>a</p><style>p{}</sty"), "<p>a</p>");
    assert_eq!(prep("<"), "<");
    assert_eq!(prep("</"), "</");
    assert_eq!(
        prep("<plaintext><script>x</script>"),
        "<plaintext><script>x</script>"
    );
}

#[test]
fn unread_attributes_are_dropped() {
    let all = |p: &str| prepare(p, MAX_DEPTH, Slim::ALL).into_owned();
    assert_eq!(
        all(r#"<img src="a.jpg" srcset='a 1x, b 2x' alt=x class=pic><p data-x="1>2" id=a>t</p>"#),
        "<p id=a>t</p>"
    );
    assert_eq!(
        all(r#"<div ARIA-label="m" aria-hidden="true" onClick="f()" style="display:none">"#),
        r#"<div aria-hidden="true" style="display:none">"#
    );
    // Name-only attributes, `=` with spaces, self-closing and odd slashes.
    assert_eq!(
        all("<button hidden async type=text value = 'v' /><a/title=t href=h>"),
        "<button hidden type=text /><a href=h>"
    );
    assert_eq!(all("<br data-x/>"), "<br/>");
    assert_eq!(all("<a data-x=1/>"), "<a>");
    // Attributes of a tag dropped for depth are not cut separately.
    assert_eq!(
        prepare("<div data-x=1><div data-y=2 class=c>x", 1, Slim::ALL),
        "<div>x"
    );
    // Rules may select on anything: nothing dropped then.
    let page = "<p data-x=1>t</p>";
    assert_eq!(prepare(page, MAX_DEPTH, NEVER_CONTENT), page);
}

#[test]
fn failed_skips_are_not_retried() {
    // Each of these would be quadratic if every opener rescanned to the end.
    let n = 50_000;
    for unit in [
        "<svg><g>",
        "<template>",
        "<svg><p>",
        "<script><!--<script>",
        "<!--",
    ] {
        let page = unit.repeat(n);
        let start = std::time::Instant::now();
        let _ = prepare(&page, MAX_DEPTH, Slim::ALL);
        assert!(start.elapsed().as_secs() < 5, "{unit}");
    }
}

#[test]
fn output_stays_utf8_and_never_panics() {
    let pieces = [
        "<nav>",
        "</nav>",
        "<meta name=x>",
        "<select>",
        "<input>",
        "</p>",
        "<math>",
        "<",
        ">",
        "</",
        "<!--",
        "-->",
        "<script>",
        "</script>",
        "<svg>",
        "</svg>",
        "é",
        "日本",
        "\"",
        "'",
        "=",
        "<![CDATA[",
        "]]>",
        "<template>",
        "</template>",
        "<b>",
        "<div ",
        "/",
        "-",
        "!",
        "<style>",
        "\u{0}",
        " data-x",
        " src=",
        " class=",
        " é=",
        "<img",
        "<div>",
    ];
    let mut x: u32 = 12345;
    for _ in 0..2000 {
        let mut page = String::new();
        for _ in 0..30 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            page.push_str(pieces[x as usize % pieces.len()]);
        }
        for slim in [Slim::ALL, NEVER_CONTENT, NOTHING] {
            let out = prepare(&page, 4, slim);
            // A cut right after text leaves `<!---->` (7 bytes) for at least `<img>`.
            assert!(out.len() <= page.len() * 7 / 5, "{page:?} -> {out:?}");
        }
    }
}
