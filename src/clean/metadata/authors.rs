//! The article's authors: JSON-LD, meta keys, `rel=author` links, and
//! when those name no one (or only the publisher), the names the page shows
//! in links to author pages and in bylines.

use url::Url;

use super::{Found, SMALL_ELEMENT_NODES, contains_ci};
use crate::clean::dom::{Dom, attr, collapse_ws};

/// The authors the page names, in preference order, de-duplicated.
pub(super) fn authors(dom: &Dom<'_>, found: &Found<'_>, base: Option<&Url>) -> Vec<String> {
    let ld = &found.ld;
    let metas = &found.metas;
    let get = |k: &str| found.get(k);
    let after_h1 = found.after_h1;
    // Authors: JSON-LD first, then meta, then rel=author links.
    let mut authors: Vec<String> = ld.authors.clone();
    for k in [
        "author",
        "article:author",
        "parsely-author",
        "sailthru.author",
        "dc.creator",
        "byl",
    ] {
        if let Some(a) = get(k) {
            authors.push(a);
        }
    }
    // A labelled pair ("twitter:label1" = "Written by", in the page's
    // language, "twitter:data1" = the name), as Yoast writes the byline.
    if authors.is_empty() {
        for n in 1..=4 {
            let says_by = get(&format!("twitter:label{n}")).is_some_and(|label| {
                label.split_whitespace().last().is_some_and(|w| {
                    BY_WORDS
                        .iter()
                        .any(|b| w.trim_end_matches(':').eq_ignore_ascii_case(b))
                })
            });
            if says_by && let Some(name) = get(&format!("twitter:data{n}")) {
                authors.push(name);
                break;
            }
        }
    }
    // A key of the site's own that names the author ("cXenseParse:author").
    if authors.is_empty()
        && let Some((_, v)) = metas.iter().find(|(k, v)| {
            k.contains("author")
                && !k.contains("image")
                && k != "citation_author"
                && !v.trim().is_empty()
        })
    {
        authors.push(collapse_ws(v));
    }
    // Scholarly pages (Highwire Press tags) write "Last, First".
    if authors.is_empty() {
        let cited = metas.iter().filter(|(k, _)| k == "citation_author");
        authors.extend(cited.take(10).map(|(_, v)| match v.split_once(',') {
            Some((last, first)) if !first.contains(',') => collapse_ws(&format!("{first} {last}")),
            _ => collapse_ws(v),
        }));
    }
    authors.extend(found.rel_authors.iter().cloned());
    let mut chosen = clean_authors(authors);
    // The page shows names its markup does not give (or gives only as
    // URLs and handles, or names the publisher as the author): read them
    // off the page. A publisher's name stays when the page shows no other.
    let publishers: Vec<String> = [
        get("og:site_name"),
        ld.publisher.clone(),
        ld.website.clone(),
    ]
    .into_iter()
    .flatten()
    .chain(ld.organisation_authors.iter().cloned())
    .collect();
    let by_publisher = |a: &String| is_publisher_name(a, &publishers, base);
    if chosen.is_empty() || chosen.iter().all(by_publisher) {
        let shown = clean_authors(shown_authors(dom, after_h1));
        let people: Vec<String> = shown.iter().filter(|a| !by_publisher(a)).cloned().collect();
        if !people.is_empty() {
            chosen = people;
        } else if chosen.is_empty() {
            chosen = shown;
        }
    }
    chosen
}

/// Author names as given, made into names: a "By" dropped, a role after
/// a dash or bar cut, leading or trailing punctuation trimmed; URLs,
/// over-long values and values without a letter are no names; at most ten,
/// without case-insensitive repeats.
fn clean_authors(raw: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in raw {
        let a = collapse_ws(&a);
        let a = a
            .strip_prefix("By ")
            .or_else(|| a.strip_prefix("by "))
            .unwrap_or(&a)
            .to_string();
        let looks_url = a.starts_with("http://") || a.starts_with("https://") || a.contains('/');
        if a.is_empty() || looks_url || a.chars().count() > 100 || out.len() >= 10 {
            continue;
        }
        // "Name - Role at Site" is the name; the role is not an author.
        let cut = [" - ", " – ", " — ", " | "]
            .iter()
            .filter_map(|sep| a.find(sep))
            .min();
        let a = match cut {
            Some(at) if !a[..at].trim().is_empty() => a[..at].trim(),
            _ => a.as_str(),
        };
        let a = a
            .trim_matches(|c: char| {
                c.is_whitespace() || matches!(c, ',' | ';' | ':' | '|' | '-' | '·')
            })
            .to_string();
        if !a.chars().any(char::is_alphabetic) {
            continue;
        }
        if !out.iter().any(|x| x.eq_ignore_ascii_case(&a)) {
            out.push(a);
        }
    }
    out
}

/// True when an author name is the site itself: its name, its publisher's,
/// an organisation the markup types as such, or its domain ("Rapid7" on
/// www.rapid7.com), compared on letters and digits only.
fn is_publisher_name(author: &str, publishers: &[String], base: Option<&Url>) -> bool {
    let key = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let name = key(author);
    if name.is_empty() {
        return false;
    }
    if publishers.iter().any(|p| key(p) == name) {
        return true;
    }
    // Every label of the host but the top-level one ("news.clemson.edu":
    // news, clemson), and the host without its dots.
    let host = base.and_then(Url::host_str).unwrap_or("");
    let labels: Vec<&str> = host.split('.').collect();
    let inner = labels.len().saturating_sub(1);
    labels.iter().take(inner).any(|l| key(l) == name)
        || (labels.len() > 1 && key(host.trim_start_matches("www.")) == name)
}

/// Names the page shows without marking them up, for a page whose markup
/// names no author (or only the publisher): the text of links to an
/// author's page, else short bylines. A second walk over the page, made
/// only for such pages, so the class tests stay off the common path.
fn shown_authors(dom: &Dom<'_>, after_h1: Option<usize>) -> Vec<String> {
    let no_removed: Vec<bool> = Vec::new();
    let mut linked: Vec<String> = Vec::new();
    let mut bylines: Vec<String> = Vec::new();
    // "By Ann Lee" just under the headline, in an element that says nothing.
    let mut under_headline: Vec<String> = Vec::new();
    let mut i = 0;
    while i < dom.len() {
        let Some(e) = dom.elem(i) else {
            i += 1;
            continue;
        };
        let small = dom.end[i].saturating_sub(i) <= SMALL_ELEMENT_NODES;
        // schema.org microdata says outright that this is the author, so
        // a desk's name ("Ask the Doctors") is taken as written.
        let microdata = attr(e, "itemprop").is_some_and(|p| p.eq_ignore_ascii_case("author"));
        if bylines.len() < 3 && small && (microdata || says_author(e)) {
            let text = dom.collapsed_text(i, &no_removed);
            let names = byline_names(&text).or_else(|| {
                let name = words_after_by(&text).join(" ");
                (microdata && !name.is_empty() && name.chars().count() <= 60).then(|| vec![name])
            });
            bylines.extend(names.into_iter().flatten());
        }
        if under_headline.is_empty()
            && small
            && after_h1.is_some_and(|end| (end..end + HEADLINE_BYLINE_NODES).contains(&i))
            && let Some(names) = headline_byline(&dom.collapsed_text(i, &no_removed))
        {
            under_headline = names;
        }
        // As the first walk: no link inside inert template or SVG content.
        if matches!(e.name(), "template" | "svg") {
            i = dom.end[i].max(i + 1);
            continue;
        }
        let rel_author = attr(e, "rel").is_some_and(|rel| {
            rel.to_ascii_lowercase()
                .split_whitespace()
                .any(|r| r == "author")
        });
        if e.name() == "a"
            && !rel_author
            && linked.len() < 3
            && attr(e, "href").is_some_and(links_to_author_page)
            && !credits_another_role(dom, i)
            && let Some(names) = byline_names(&dom.collapsed_text(i, &no_removed))
        {
            linked.extend(names);
        }
        i += 1;
    }
    if !linked.is_empty() {
        linked
    } else if !bylines.is_empty() {
        bylines
    } else {
        under_headline
    }
}

/// Nodes after the headline searched for a byline that says nothing of
/// itself in its markup.
const HEADLINE_BYLINE_NODES: usize = 60;

/// The names of a short line that begins with a "By"-word ("By Ann Lee",
/// "Von A und B", "by: Ziyi Xu"), for a line no markup calls a byline:
/// without the word, a short line under a headline is as often a
/// standfirst or a label as a name.
fn headline_byline(text: &str) -> Option<Vec<String>> {
    let first = text.split_whitespace().next()?;
    let by = BY_WORDS
        .iter()
        .any(|b| first.trim_end_matches(':').eq_ignore_ascii_case(b));
    (by && text.chars().count() <= 80)
        .then(|| byline_names(text))
        .flatten()
}

/// Path segments of an author's page ("/authors/jane-doe", "/autor/…").
const AUTHOR_PATHS: &[&str] = &[
    "author",
    "authors",
    "autor",
    "autoren",
    "auteur",
    "auteurs",
    "autore",
    "autori",
    "writer",
    "writers",
    "byline",
    "contributor",
    "contributors",
    "columnist",
    "columnists",
];

/// Words that introduce a name in a byline ("By", "Von", "Par", "Por", "Di", "Door", "Av").
const BY_WORDS: &[&str] = &[
    "by", "von", "par", "por", "di", "door", "av", "af", "от", "作者",
];

/// Lower-case particles inside names ("Ludwig van Beethoven", "da Silva").
const NAME_PARTICLES: &[&str] = &[
    "de", "van", "von", "der", "den", "da", "di", "du", "la", "le", "bin", "al", "y", "e", "dos",
];

/// True for a link to an author's page on the same site or any other.
fn links_to_author_page(href: &str) -> bool {
    let path = href.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // The author segment must be followed by the author's own one.
    segments
        .windows(2)
        .any(|w| AUTHOR_PATHS.iter().any(|a| w[0].eq_ignore_ascii_case(a)))
}

/// True when the element's class or id says it is a byline or an author's
/// name, and not a reviewer's or an expert's credit beside the byline.
fn says_author(e: &scraper::node::Element) -> bool {
    let says = |v: &str| {
        (contains_ci(v, "author") || contains_ci(v, "byline"))
            && ![
                "bio", "avatar", "image", "img", "photo", "desc", "review", "expert",
            ]
            .iter()
            .any(|w| contains_ci(v, w))
    };
    attr(e, "class").is_some_and(says) || attr(e, "id").is_some_and(says)
}

/// Words that credit someone other than a writer just before their name
/// ("Reviewed by", "Fact checked by", "Photos:", "Geprüft von", "Revisado
/// por", "Relu par"), lower case.
const OTHER_ROLES: &[&str] = &[
    "review",
    "edited",
    "fact",
    "checked",
    "photo",
    "illustrat",
    "medically",
    "geprüft",
    "redigiert",
    "revisado",
    "revisada",
    "relu",
    "révisé",
    "vérifié",
    "rivisto",
    "revisionato",
    "revisto",
    "gecontroleerd",
    "granskad",
];

/// Ancestors of an author link whose class or id is read for a role.
const ROLE_ANCESTORS: usize = 3;
/// Bytes of text before an author link read for a role word.
const ROLE_TEXT_BYTES: usize = 40;

/// True when the author link at `a` credits a reviewer, an editor or a
/// photographer: an ancestor close by says so in its class or id
/// ("reviewer", "expert"), or the words just before it do ("Reviewed by").
fn credits_another_role(dom: &Dom<'_>, a: usize) -> bool {
    let says = |v: &str| contains_ci(v, "review") || contains_ci(v, "expert");
    let mut p = dom.parent[a];
    for _ in 0..ROLE_ANCESTORS {
        let Some(e) = dom.elem(p) else {
            break;
        };
        if attr(e, "class").is_some_and(says) || attr(e, "id").is_some_and(says) {
            return true;
        }
        p = dom.parent[p];
    }
    // The text between the parent's start, or the link before, and this one.
    let parent = dom.parent[a];
    let from = (parent.saturating_add(1)..a)
        .rev()
        .find(|&j| dom.tag(j) == "a" && dom.end[j] <= a)
        .map_or(parent.saturating_add(1), |j| dom.end[j]);
    let before: String = (from..a).filter_map(|j| dom.text(j)).collect();
    let before = before.to_lowercase();
    let mut start = before.len().saturating_sub(ROLE_TEXT_BYTES);
    while !before.is_char_boundary(start) {
        start += 1;
    }
    OTHER_ROLES.iter().any(|w| before[start..].contains(w))
}

/// The words of `text` without a leading "By"-word ("By", "Von:", "Par").
fn words_after_by(text: &str) -> Vec<&str> {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    if words.first().is_some_and(|w| {
        BY_WORDS
            .iter()
            .any(|b| w.trim_end_matches(':').eq_ignore_ascii_case(b))
    }) {
        words.remove(0);
    }
    words
}

/// Words joining two names in a byline ("By A and B", "Von A und B", "Par A et B").
const AND_WORDS: &[&str] = &["and", "und", "et", "y", "e", "en", "og", "och", "и", "&"];

/// The names of a byline of one or more people ("By Ann Lee and Bo Kim",
/// "Von A, B und C"): each part must be a name, or none is taken.
fn byline_names(text: &str) -> Option<Vec<String>> {
    let words = words_after_by(text);
    // Commas list names only in a list that ends in "and"; otherwise what
    // follows the first one is a role or an outlet ("Ann Lee, Reuters").
    let listed = words
        .iter()
        .any(|w| AND_WORDS.iter().any(|a| w.eq_ignore_ascii_case(a)));
    let mut names = Vec::new();
    let mut part: Vec<&str> = Vec::new();
    for w in words {
        let is_and = AND_WORDS.iter().any(|a| w.eq_ignore_ascii_case(a));
        let (word, comma) = match w.strip_suffix(',') {
            Some(rest) => (rest, true),
            None => (w, false),
        };
        if is_and {
            names.push(person_name(&part.join(" "))?);
            part.clear();
            continue;
        }
        part.push(word);
        if comma {
            names.push(person_name(&part.join(" "))?);
            part.clear();
            if !listed {
                break;
            }
        }
    }
    if !part.is_empty() {
        names.push(person_name(&part.join(" "))?);
    }
    (!names.is_empty() && names.len() <= 5).then_some(names)
}

/// `text` as a person's (or a desk's) name: a leading "By"-word removed,
/// one to five words, capitalised where the script has capitals, no digits.
fn person_name(text: &str) -> Option<String> {
    let words = words_after_by(text);
    let name = words.join(" ");
    let last_is_by = words
        .last()
        .is_some_and(|w| BY_WORDS.iter().any(|b| w.eq_ignore_ascii_case(b)));
    let plain = !name
        .chars()
        .any(|c| c.is_ascii_digit() || matches!(c, '@' | ':' | '|' | '©'));
    let capitalised = words.iter().all(|w| {
        let first = w.chars().next();
        NAME_PARTICLES.contains(w) || first.is_some_and(|c| !c.is_lowercase())
    });
    ((1..=5).contains(&words.len())
        && name.chars().count() <= 60
        && plain
        && capitalised
        && !last_is_by)
        .then_some(name)
}

#[cfg(test)]
mod tests {
    use super::super::clean_test_page;

    /// A page of `head` and `byline` markup around enough prose to be an article.
    fn authors_of(head: &str, byline: &str, url: &str) -> Vec<String> {
        clean_test_page("<html>", head, byline, url)
            .map(|c| c.authors)
            .unwrap_or_default()
    }

    #[test]
    fn a_json_ld_author_given_by_reference_is_looked_up() {
        let head = r##"<script type="application/ld+json">{"@graph":[
            {"@type":"NewsArticle","headline":"Budget passed","author":{"@id":"https://x.test/#/person/1"}},
            {"@type":"Person","@id":"https://x.test/#/person/1","name":"Ann Lee"}]}</script>"##;
        assert_eq!(authors_of(head, "", "https://x.test/a"), ["Ann Lee"]);
    }

    #[test]
    fn the_publisher_named_as_author_gives_way_to_the_byline_the_page_shows() {
        // The site's name, an Organization author, and the domain are all the publisher.
        let byline = r#"<div class="post-author-name">Bo Kim</div>"#;
        for (head, url) in [
            (
                r#"<meta property="og:site_name" content="The Courier">
                <meta name="author" content="The Courier">"#,
                "https://x.test/a",
            ),
            (
                r#"<script type="application/ld+json">{"@type":"BlogPosting",
                "author":{"@type":"Organization","name":"Acme Media"}}</script>"#,
                "https://x.test/a",
            ),
            (
                r#"<meta name="author" content="Rapid7">"#,
                "https://www.rapid7.com/blog/a",
            ),
        ] {
            assert_eq!(authors_of(head, byline, url), ["Bo Kim"], "{head}");
        }
        // With no other name shown, the publisher stays the author.
        let head = r#"<meta property="og:site_name" content="The Courier">
            <meta name="author" content="The Courier">"#;
        assert_eq!(authors_of(head, "", "https://x.test/a"), ["The Courier"]);
    }

    #[test]
    fn a_line_under_the_headline_that_begins_with_a_by_word_is_a_byline() {
        for (line, want) in [
            ("<p>By Ann Lee</p>", vec!["Ann Lee"]),
            (
                "<p>Von Anna Schmidt und Jörg Weber</p>",
                vec!["Anna Schmidt", "Jörg Weber"],
            ),
            ("<p>par Claire Dubois</p>", vec!["Claire Dubois"]),
            ("<p>by: <span>Ziyi Xu</span></p>", vec!["Ziyi Xu"]),
        ] {
            assert_eq!(authors_of("", line, "https://x.test/a"), want, "{line}");
        }
        // Without the word a short line is no byline (a label, a standfirst).
        assert!(authors_of("", "<p>Local News</p>", "https://x.test/a").is_empty());
    }

    #[test]
    fn reviewers_and_experts_credited_beside_the_byline_are_not_authors() {
        let url = "https://x.test/a";
        let reviewed = r#"<div>By <a href="/author/ann-lee">Ann Lee</a>. Reviewed by
            <a href="/author/bo-kim">Bo Kim, DVM</a></div>"#;
        assert_eq!(authors_of("", reviewed, url), ["Ann Lee"]);
        let german = r#"<div>Von <a href="/autor/anna-schmidt">Anna Schmidt</a>, geprüft von
            <a href="/autor/jorg-weber">Jörg Weber</a></div>"#;
        assert_eq!(authors_of("", german, url), ["Anna Schmidt"]);
        let expert = r#"<span><a href="/author/ann-lee">Ann Lee</a></span> &amp;
            <span class="author-meta-container expert"><a href="/author/bo-kim">Bo Kim</a></span>"#;
        assert_eq!(authors_of("", expert, url), ["Ann Lee"]);
        // Two writers stay two writers.
        let two = r#"<div>By <a href="/author/ann-lee">Ann Lee</a> and
            <a href="/author/bo-kim">Bo Kim</a></div>"#;
        assert_eq!(authors_of("", two, url), ["Ann Lee", "Bo Kim"]);
    }

    #[test]
    fn microdata_and_labelled_meta_pairs_name_the_author() {
        let microdata = r#"<span itemprop="author" itemscope itemtype="http://schema.org/Person">
            <span itemprop="name">Ask the Doctors</span></span>"#;
        assert_eq!(
            authors_of("", microdata, "https://x.test/a"),
            ["Ask the Doctors"]
        );
        let pair = r#"<meta name="twitter:label1" content="Geschrieben von">
            <meta name="twitter:data1" content="Anna Schmidt">
            <meta name="twitter:label2" content="Lesezeit"><meta name="twitter:data2" content="3 Minuten">"#;
        assert_eq!(authors_of(pair, "", "https://x.test/a"), ["Anna Schmidt"]);
    }
}
