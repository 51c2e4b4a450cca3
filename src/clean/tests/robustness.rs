//! Inputs at the edges (empty, tiny, deep, huge, garbage) give an article or a clear "no article", never a panic.

use super::*;

#[test]
fn empty_and_tiny_inputs_are_no_article() {
    assert!(matches!(clean("", None), Err(CleanError::NoArticle(..))));
    assert!(matches!(
        clean("   \n", None),
        Err(CleanError::NoArticle(..))
    ));
    // A short teaser on a site page (navigation, a paywall prompt) is not an article.
    let teaser = r#"<html><body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<h1>Mayor resigns</h1><p>The mayor resigned on Monday, aides said.</p>
<div class="paywall"><p>Subscribe to keep reading this story and every other.</p><a href="/join">Join now</a></div>
<footer><p>Copyright the Town News, all rights reserved, since 1901.</p></footer></body></html>"#;
    assert!(matches!(
        clean(teaser, None),
        Err(CleanError::NoArticle(..))
    ));
    // A short placeholder in a page that runs scripts stands in for what they render.
    let shell = r#"<html><head><script src="/app.js"></script></head><body><div id="app"><p>Loading the story, please wait.</p></div></body></html>"#;
    assert!(matches!(clean(shell, None), Err(CleanError::NoArticle(..))));
    // Many short labels and no paragraph at all: an index or schedule page, however many words.
    let labels = format!(
        "<html><head><script src=\"/site.js\"></script></head><body>{}</body></html>",
        "<div>Monday at three pm</div><div>Town hall, room two</div>".repeat(20)
    );
    assert!(matches!(
        clean(&labels, None),
        Err(CleanError::NoArticle(..))
    ));
    let script_only = "<html><body><script>render()</script></body></html>";
    assert!(matches!(
        clean(script_only, None),
        Err(CleanError::NoArticle(..))
    ));
}

#[test]
fn bare_short_document_is_its_own_article() {
    let c = clean("<html><body><p>Too short.</p></body></html>", None).expect("bare page");
    assert_eq!(c.text, "Too short.");
    // Text loose in <body>, and a page of nothing but headings.
    let c = clean("<html><body>\n Just a note \n</body></html>", None).expect("loose text");
    assert_eq!(c.text, "Just a note");
    let c = clean(
        "<html><body><h2>Part one</h2><h2>Part two</h2></body></html>",
        None,
    )
    .expect("headings");
    assert_eq!(c.text, "Part one\n\nPart two");
}

#[test]
fn javascript_pseudo_links_are_text() {
    let page = r#"<html><body><a href="javascript:void(0)"><p>First note</p><p>Second note</p></a></body></html>"#;
    let c = clean(page, None).expect("article");
    assert_eq!(c.text, "First note\n\nSecond note");
    assert!(!c.html.contains("javascript"), "{}", c.html);
}

#[test]
fn deep_nesting_does_not_overflow() {
    let n = 100_000;
    let mut page = String::with_capacity(n * 12);
    page.push_str("<html><body>");
    for _ in 0..n {
        page.push_str("<div>");
    }
    page.push_str("<p>Deep text, with commas, placed at the very bottom of a very deep tree of divs, to check for stack use.</p>");
    let _ = clean(&page, None);
    let mut inline = String::from("<html><body><p>");
    for _ in 0..n {
        inline.push_str("<b>");
    }
    inline.push_str("bold text");
    let _ = clean(&inline, None);
    // Distinct formatting elements defeat html5ever's Noah's Ark shortcut.
    let mut formatting = String::from("<p>");
    for i in 0..n {
        formatting.push_str(&format!("<b id={i}>x"));
    }
    formatting.push_str("</p><p>after</p>");
    let _ = clean(&formatting, None);
    let lists = "<li><ul>".repeat(n / 5);
    let _ = clean(&lists, None);
}

#[test]
fn many_siblings_and_giant_text_are_fine() {
    let siblings = "<p>Sibling paragraph, short, with a comma.</p>".repeat(100_000);
    let _ = clean(&siblings, None);
    let giant = format!("<p>{}</p>", "word, ".repeat(500_000));
    let c = clean(&giant, None).expect("giant text is an article");
    assert!(c.text.len() > 1_000_000);
}

#[test]
fn garbage_bytes_do_not_panic() {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let bytes: Vec<u8> = (0..200_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let s = String::from_utf8_lossy(&bytes);
    let _ = clean(&s, None);
    let tags = "<<div<p>></a href=\"</td><table><tr><li>&#0;&#xFFFFFF;<!--".repeat(5_000);
    let _ = clean(&tags, None);
}
