//! The cleaner as a whole, on hand-written pages; one file per concern.
//! Tests of one step sit beside that step (`filter`, `widen`, `guard`, ...).

use super::*;

mod robustness;
mod rules;
mod slimming;
mod text;

/// The seed example's junk, each kind once: headline via <title>/og:title and <h1>,
/// standfirst in a teaser and the header, an inline ad-slot <style>, a footer
/// brand block and a comment form.
const SEED: &str = r#"<!DOCTYPE html><html lang="en-IE"><head>
<title>Putin and Kim set to meet as Russia aims to weigh in on North Korea - Independent.ie</title>
<meta property="og:title" content="Putin and Kim set to meet as Russia aims to weigh in on North Korea">
<meta property="og:description" content="Kim Jong-un wants to hedge bets after failed US summit">
<meta property="article:published_time" content="2019-04-19T02:30:00+00:00">
<meta name="author" content="Jane Reporter">
<link rel="canonical" href="/world-news/putin-kim-38031234.html">
</head><body>
<nav class="site-nav"><ul><li><a href="/">News</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<div class="teaser"><p>Kim Jong-un wants to hedge bets after failed US summit</p></div>
<article>
<header>
<h1>Putin and Kim set to meet as Russia aims to weigh in on North Korea</h1>
<p class="standfirst">Kim Jong-un wants to hedge bets after failed US summit</p>
<div class="byline">By Jane Reporter</div>
</header>
<div class="article-body">
<p>Vladimir Putin and Kim Jong-un may finally be ready to meet for the first time, as Russia seeks to extend its influence and North Korea tries to hedge its bets.</p>
<p>The potential of closer ties between Mr Putin and Mr Kim carries historical resonance, dating back to the countries' Cold War bonds.</p>
<style>#bb-iawr-inarticle- { clear: both; margin: 0 0 15px; }</style>
<div id="bb-iawr-inarticle-" class="ad-slot"></div>
<p>However, Moscow has bigger diplomatic priorities around the world, experts say, and is unlikely to disrupt US-led efforts.</p>
<p>For Mr Putin, a summit would be a chance to show that Russia is a player on the Korean peninsula. (&copy; Washington Post)</p>
</div>
</article>
<div id="comments" class="comments-area"><form class="comment-form"><p>Please enter your comment!</p>
<textarea name="comment"></textarea><p>Please enter your name here</p><input name="author"></form></div>
<footer class="site-footer"><div class="brand">Irish Independent</div></footer>
</body></html>"#;

/// Two paragraphs of article text, for pages built around a case.
const BODY: &str = "<p>The council voted on Tuesday, after a long and heated debate, \
    to approve the plan for the new bridge over the river.</p><p>Work starts in spring \
    and should take two years, the mayor said to reporters outside the town hall.</p>";

/// The article (or the lack of one) is the same with the input pass on
/// and off (explaining turns its cuts off).
fn assert_slimming_agrees(page: &str) {
    let full = Options {
        explain: true,
        ..Options::default()
    };
    let fields = |c: Cleaned| {
        (
            c.text,
            c.title,
            c.subtitle,
            c.authors,
            c.published_at,
            c.language,
            c.canonical_url,
        )
    };
    let slim = clean(page, None).map(fields).map_err(|e| e.to_string());
    let whole = clean_with(page, None, &full)
        .map(fields)
        .map_err(|e| e.to_string());
    assert_eq!(slim, whole, "{page}");
}
