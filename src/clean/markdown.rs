//! Markdown output: the sanitised article HTML as CommonMark Markdown.
//!
//! The conversion is htmd's (a port of turndown.js, tables included): it
//! runs on [`super::Cleaned::html`], which holds only the structural tags
//! the sanitiser allows, so there is nothing for it to drop or guess.

use std::sync::LazyLock;

use htmd::HtmlToMarkdown;
use htmd::options::{BulletListMarker, HrStyle, Options};

/// Built once: htmd's converter is shareable across threads with its
/// built-in handlers only, and building it allocates every handler.
static CONVERTER: LazyLock<HtmlToMarkdown> = LazyLock::new(|| {
    HtmlToMarkdown::builder()
        .options(Options {
            bullet_list_marker: BulletListMarker::Dash,
            ul_bullet_spacing: 1,
            ol_number_spacing: 1,
            hr_style: HrStyle::Dashes,
            ..Options::default()
        })
        .build()
});

/// The article HTML `html` (as the cleaner outputs it) rendered as Markdown:
/// `#` headings, `-` bullets, fenced code, inline links.
pub fn markdown(html: &str) -> String {
    match CONVERTER.convert(&code_blocks(html)) {
        Ok(md) => md,
        // Only reading from a string, which cannot fail; the HTML is the
        // closest stand-in should it ever.
        Err(e) => {
            tracing::warn!("markdown: conversion failed, writing the HTML as it is: {e}");
            html.to_string()
        }
    }
}

/// Markdown's code blocks are `<pre><code>`; the cleaner writes a bare
/// `<pre>` (ammonia leaves it no attributes, so the tag is exact), whose
/// content may hold inline `<code>` of its own, which would turn into
/// backticks inside the block.
fn code_blocks(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 32);
    let mut rest = html;
    while let Some(start) = rest.find("<pre>") {
        let (before, from_pre) = rest.split_at(start);
        out.push_str(before);
        let body = &from_pre["<pre>".len()..];
        let (inner, after) = match body.find("</pre>") {
            Some(end) => (&body[..end], &body[end + "</pre>".len()..]),
            None => (body, ""),
        };
        out.push_str("<pre><code>");
        out.push_str(&inner.replace("<code>", "").replace("</code>", ""));
        out.push_str("</code></pre>");
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_links_and_emphasis_become_markdown() {
        let html = "<h2>Vote</h2>\n<p>The council <strong>approved</strong> the \
                    <a href=\"https://example.org/plan\">plan</a>.</p>\n\
                    <ul><li>nine for</li>\n<li>two <em>against</em></li>\n</ul>\
                    <ol><li>first</li>\n<li>second</li>\n</ol>\
                    <blockquote>It is done.</blockquote>\n<pre>let x = 1;</pre>\n";
        let md = markdown(html);
        for part in [
            "## Vote",
            "The council **approved** the [plan](https://example.org/plan).",
            "- nine for\n- two *against*",
            "1. first\n2. second",
            "> It is done.",
            "```\nlet x = 1;\n```",
        ] {
            assert!(md.contains(part), "{part:?} not in:\n{md}");
        }
    }

    #[test]
    fn preformatted_text_with_inline_code_is_one_code_block() {
        let md = markdown("<pre><code>fn main() {}</code>\n  indented</pre>");
        assert_eq!(md, "```\nfn main() {}\n  indented\n```");
    }

    #[test]
    fn markdown_syntax_in_text_is_escaped() {
        let md = markdown("<p>*not emphasis* and # not a heading</p>");
        assert!(md.contains("\\*not emphasis\\*"), "{md}");
    }
}
