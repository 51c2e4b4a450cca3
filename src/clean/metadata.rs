//! Page metadata: title candidates, standfirst candidates, authors, dates,
//! language, canonical URL, lead image, site name, section, tags and the
//! JSON-LD article body.

use std::collections::VecDeque;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use url::Url;

use super::dates;
use super::dom::{Dom, attr, collapse_ws, is_never_content};
use super::jsonld::parse_ld;

/// Everything read from `<head>`, JSON-LD and a few body elements.
#[derive(Debug, Default)]
pub(crate) struct Meta {
    /// `<title>` text.
    pub doc_title: Option<String>,
    /// og:title / twitter:title / JSON-LD headline.
    pub meta_title: Option<String>,
    /// Texts of the first `<h1>` elements.
    pub h1s: Vec<String>,
    /// Text of an `<h1>` that is only a link to the site's home page: the
    /// site's name as a logo, not a headline.
    pub logo: Option<String>,
    /// og:description / description / JSON-LD description.
    pub description: Option<String>,
    /// Authors in preference order, de-duplicated.
    pub authors: Vec<String>,
    /// Publication date.
    pub published_at: Option<DateTime<FixedOffset>>,
    /// Date of the last change the page declares (never before `published_at`).
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// Lead image the page declares (JSON-LD, og:image, twitter:image).
    pub image: Option<Url>,
    /// Name of the site or publisher.
    pub site_name: Option<String>,
    /// The section the article is filed under.
    pub section: Option<String>,
    /// Tags and keywords, de-duplicated.
    pub tags: Vec<String>,
    /// Normalised language tag.
    pub language: Option<String>,
    /// Canonical URL.
    pub canonical_url: Option<Url>,
    /// Longest JSON-LD `articleBody`.
    pub ld_body: Option<String>,
}

/// Words that name every `<meta>` key [`extract`] reads (lower case; each key
/// contains one). The input pass drops every other `<meta>` before parsing,
/// so a key read below must be covered here.
pub(crate) const READ_META: &[&str] = &[
    "title",
    "description",
    "author",
    "creator",
    "byl",
    "twitter:label",
    "twitter:data",
    "publish",
    "date",
    "created",
    "locale",
    "language",
    "og:url",
    "itemprop",
    "image",
    "site_name",
    "section",
    "tag",
    "modified",
    "updated",
];

/// Tags kept per article, at most.
const MAX_TAGS: usize = 30;

/// Reads metadata from the flat DOM.
pub(crate) fn extract(dom: &Dom<'_>, base: Option<&Url>) -> Meta {
    let mut m = Meta::default();
    let mut metas: Vec<(String, &str)> = Vec::new();
    let mut canonical: Option<&str> = None;
    let mut ld_blobs: Vec<String> = Vec::new();
    let mut html_lang: Option<&str> = None;
    let mut rel_authors: Vec<String> = Vec::new();
    let mut time_attr: Option<&str> = None;
    let no_removed: Vec<bool> = Vec::new();
    // Where the text after the headline starts, for a date written there.
    let mut after_h1: Option<usize> = None;
    // Where the first headline starts.
    let mut h1_at: Option<usize> = None;

    let mut i = 0;
    while i < dom.len() {
        let Some(e) = dom.elem(i) else {
            i += 1;
            continue;
        };
        // Template content is inert and SVG's `<title>`, `<a>` and `<script>`
        // are not the document's (the input pass drops both unread).
        if matches!(e.name(), "template" | "svg") {
            i = dom.end[i].max(i + 1);
            continue;
        }
        match e.name() {
            "html" if html_lang.is_none() => {
                html_lang = attr(e, "lang").or_else(|| attr(e, "xml:lang"));
            }
            "title" if m.doc_title.is_none() => {
                m.doc_title = non_empty(collapse_ws(&dom.raw_text(i)));
            }
            "meta" => {
                let key = attr(e, "property")
                    .or_else(|| attr(e, "name"))
                    .or_else(|| attr(e, "itemprop"))
                    .or_else(|| attr(e, "http-equiv"));
                if let (Some(k), Some(c)) = (key, attr(e, "content")) {
                    metas.push((k.trim().to_ascii_lowercase(), c));
                }
            }
            "link" => {
                let rel = attr(e, "rel").unwrap_or("").to_ascii_lowercase();
                if canonical.is_none() && rel.split_whitespace().any(|r| r == "canonical") {
                    canonical = attr(e, "href");
                }
            }
            "script" => {
                let is_ld =
                    attr(e, "type").is_some_and(|t| t.to_ascii_lowercase().contains("ld+json"));
                if is_ld && ld_blobs.len() < 16 {
                    ld_blobs.push(dom.raw_text(i));
                }
            }
            "h1" if m.h1s.len() < 5 => {
                let t = dom.collapsed_text(i, &no_removed);
                if t.is_empty() {
                } else if links_home_only(dom, i, &t) {
                    m.logo.get_or_insert(t);
                } else {
                    // The headline is the first `<h1>` with text, as for the title.
                    after_h1.get_or_insert(dom.end[i]);
                    h1_at.get_or_insert(i);
                    m.h1s.push(t);
                }
            }
            "time" if time_attr.is_none() => {
                time_attr = attr(e, "datetime");
            }
            "a" => {
                let rel = attr(e, "rel").unwrap_or("").to_ascii_lowercase();
                if rel.split_whitespace().any(|r| r == "author") && rel_authors.len() < 5 {
                    let t = dom.collapsed_text(i, &no_removed);
                    if !t.is_empty() {
                        rel_authors.push(t);
                    }
                }
            }
            _ => {}
        }
        if let Some(ip) = attr(e, "itemprop") {
            // Microdata dates often sit on <time> or <span content>.
            for (name, key) in [
                ("datePublished", "itemprop:datepublished"),
                ("dateModified", "itemprop:datemodified"),
            ] {
                if ip.eq_ignore_ascii_case(name)
                    && let Some(v) = attr(e, "datetime").or_else(|| attr(e, "content"))
                {
                    metas.push((key.into(), v));
                }
            }
        }
        i += 1;
    }

    let ld = parse_ld(&ld_blobs);
    let get = |k: &str| -> Option<String> {
        metas
            .iter()
            .find(|(key, v)| key == k && !v.trim().is_empty())
            .map(|(_, v)| collapse_ws(v))
    };

    m.meta_title = get("og:title")
        .or_else(|| ld.headline.clone())
        .or_else(|| get("twitter:title"));
    m.description = get("og:description")
        .or_else(|| get("description"))
        .or_else(|| ld.description.clone())
        .or_else(|| get("twitter:description"));

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
    authors.extend(rel_authors);
    m.authors = clean_authors(authors);
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
    if m.authors.is_empty() || m.authors.iter().all(by_publisher) {
        let shown = clean_authors(shown_authors(dom, after_h1));
        let people: Vec<String> = shown.iter().filter(|a| !by_publisher(a)).cloned().collect();
        if !people.is_empty() {
            m.authors = people;
        } else if m.authors.is_empty() {
            m.authors = shown;
        }
    }

    let date_candidates = [
        ld.date_published.clone(),
        get("article:published_time"),
        get("og:published_time"),
        get("itemprop:datepublished"),
        get("datepublished"),
        get("pubdate"),
        get("publishdate"),
        get("publish-date"),
        get("parsely-pub-date"),
        get("sailthru.date"),
        get("dc.date.issued"),
        get("dc.date"),
        get("dcterms.created"),
        get("date"),
        time_attr.map(str::to_string),
        ld.date_created.clone(),
    ];
    // Sites name their own keys ("w-published-date", "publication_date",
    // "article.published"): any key that says it dates the publication.
    // When several disagree the earliest is the first publication (a later
    // one is a re-publication or the time the page was rendered).
    let site_key_date = || {
        metas
            .iter()
            .filter(|(k, _)| is_publication_key(k))
            .filter_map(|(_, v)| parse_date(v))
            .min()
    };
    let month_first = month_first(html_lang);
    m.published_at = date_candidates
        .iter()
        .flatten()
        .find_map(|s| parse_date(s))
        .or_else(site_key_date)
        .or_else(|| ld.page_date_published.as_deref().and_then(parse_date))
        .or_else(|| written_date(dom, h1_at.zip(after_h1), month_first))
        .or_else(|| base.and_then(dates::url_date));
    let modified_candidates = [
        ld.date_modified.clone(),
        get("article:modified_time"),
        get("og:updated_time"),
        get("itemprop:datemodified"),
        get("datemodified"),
        get("last-modified"),
        get("dc.date.modified"),
        get("dcterms.modified"),
    ];
    // A change dated before the publication contradicts it: no evidence.
    m.updated_at = modified_candidates
        .iter()
        .flatten()
        .find_map(|s| parse_date(s))
        .filter(|u| m.published_at.is_none_or(|p| *u >= p));

    let image_candidates = [
        ld.image.clone(),
        get("og:image:secure_url"),
        get("og:image"),
        get("og:image:url"),
        get("twitter:image"),
        get("twitter:image:src"),
    ];
    m.image = image_candidates
        .iter()
        .flatten()
        .find_map(|href| resolve(href.trim(), base));
    m.site_name = get("og:site_name")
        .or_else(|| ld.publisher.clone())
        .or_else(|| ld.website.clone())
        .filter(|n| n.chars().count() <= 100);
    m.section = get("article:section")
        .or_else(|| ld.section.clone())
        .filter(|s| s.chars().count() <= 100);
    let meta_tags = metas
        .iter()
        .filter(|(k, _)| k == "article:tag")
        .map(|(_, v)| collapse_ws(v));
    m.tags = distinct_tags(meta_tags.chain(ld.keywords.iter().cloned()));

    let lang_candidates = [
        html_lang.map(str::to_string),
        get("og:locale"),
        ld.language.clone(),
        get("content-language"),
        get("language"),
    ];
    m.language = lang_candidates
        .iter()
        .flatten()
        .find_map(|s| normalize_lang(s));

    let canon = canonical
        .map(str::to_string)
        .or_else(|| get("og:url"))
        .and_then(|href| resolve(href.trim(), base));
    m.canonical_url = canon;
    m.ld_body = ld.body;
    m
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
        let small = dom.end[i].saturating_sub(i) <= DATE_ELEMENT_NODES;
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

/// A date written for readers, for a page whose markup names none: in the
/// short elements that say they hold one, in document order, then in the
/// text just after the first headline (`headline` is where it starts and
/// ends), then in the few words just before it. A second walk over the
/// page, made only for such pages.
fn written_date(
    dom: &Dom<'_>,
    headline: Option<(usize, usize)>,
    month_first: bool,
) -> Option<DateTime<FixedOffset>> {
    let no_removed: Vec<bool> = Vec::new();
    let mut date_texts: Vec<String> = Vec::new();
    let mut headline_tail = String::new();
    // The last text nodes before the headline (a kicker or hero line).
    let mut recent: VecDeque<&str> = VecDeque::new();
    let mut recent_bytes = 0usize;
    let mut headline_head: Option<String> = None;
    let mut i = 0;
    while i < dom.len() {
        if headline_head.is_none() && headline.is_some_and(|(start, _)| i >= start) {
            headline_head = Some(recent.iter().copied().collect::<Vec<_>>().join(" "));
        }
        let Some(e) = dom.elem(i) else {
            if let Some(t) = dom.text(i).filter(|t| !t.trim().is_empty()) {
                if headline.is_some_and(|(_, end)| i >= end) {
                    if headline_tail.len() < HEADLINE_TAIL_BYTES {
                        headline_tail.push_str(t);
                        headline_tail.push(' ');
                    }
                } else if headline_head.is_none() {
                    recent.push_back(t);
                    recent_bytes = recent_bytes.saturating_add(t.len());
                    while recent_bytes > HEADLINE_HEAD_BYTES
                        && let Some(old) = recent.pop_front()
                    {
                        recent_bytes = recent_bytes.saturating_sub(old.len());
                    }
                }
            }
            i += 1;
            continue;
        };
        if date_texts.len() < MAX_DATE_TEXTS
            && dom.end[i].saturating_sub(i) <= DATE_ELEMENT_NODES
            && (e.name() == "time" || says_date(e))
        {
            let t = dom.collapsed_text(i, &no_removed);
            if !t.is_empty() && t.len() <= 200 {
                date_texts.push(t);
            }
        }
        // As the first walk: template and SVG text is not the page's, nor
        // is the raw text of a script, a style or a `<noscript>`.
        i = if matches!(e.name(), "template" | "svg") || is_never_content(e.name()) {
            dom.end[i].max(i + 1)
        } else {
            i + 1
        };
    }
    date_texts
        .iter()
        .find_map(|t| dates::text_date(t, month_first))
        .or_else(|| dates::text_date(&headline_tail, month_first))
        .or_else(|| dates::text_date(headline_head.as_deref()?, month_first))
}

/// Elements read for a written date, at most.
const MAX_DATE_TEXTS: usize = 16;
/// An element read for a written date has at most this many nodes (a
/// dateline, not a container that happens to be called "meta").
const DATE_ELEMENT_NODES: usize = 24;
/// Text after the headline read for a written date (bytes, about).
const HEADLINE_TAIL_BYTES: usize = 600;
/// Text just before the headline read for a written date, when none
/// follows it (bytes, about): a dateline printed above the headline.
const HEADLINE_HEAD_BYTES: usize = 120;

/// True when the element's class or id says it holds a date ("post-date",
/// "entry-meta", "published", "dateline"); the text must still hold one.
fn says_date(e: &scraper::node::Element) -> bool {
    let says = |v: &str| {
        ["date", "time", "publish", "posted", "meta", "byline"]
            .iter()
            .any(|w| contains_ci(v, w))
    };
    attr(e, "class").is_some_and(says) || attr(e, "id").is_some_and(says)
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

/// ASCII case-insensitive substring test without allocating: it runs on
/// the class and id of every element.
fn contains_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some(&first) = n.first() else {
        return true;
    };
    // Only where the first byte matches (found with memchr) is the rest compared.
    let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    memchr::memchr2_iter(lower, upper, h).any(|at| {
        h.get(at..)
            .and_then(|w| w.get(..n.len()))
            .is_some_and(|w| w.eq_ignore_ascii_case(n))
    })
}

/// True when the heading at `h` (text `text`) is one link to a site's home
/// page (`/`, or a URL with no path): a logo, as blogs print their name.
fn links_home_only(dom: &Dom<'_>, h: usize, text: &str) -> bool {
    let end = dom.end.get(h).copied().unwrap_or(h).min(dom.len());
    let mut links = (h + 1..end).filter(|&j| dom.tag(j) == "a");
    let (Some(a), None) = (links.next(), links.next()) else {
        return false;
    };
    let Some(href) = dom.elem(a).and_then(|e| attr(e, "href")) else {
        return false;
    };
    let path = match href.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |at| &rest[at..]),
        None => href,
    };
    matches!(path.trim(), "/" | "./") && dom.collapsed_text(a, &[]) == text
}

/// True for a link to an author's page on the same site or any other.
fn links_to_author_page(href: &str) -> bool {
    let path = href.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // The author segment must be followed by the author's own one.
    segments
        .windows(2)
        .any(|w| AUTHOR_PATHS.iter().any(|a| w[0].eq_ignore_ascii_case(a)))
}

/// True when the element's class or id says it is a byline or an author's name.
fn says_author(e: &scraper::node::Element) -> bool {
    let says = |v: &str| {
        (contains_ci(v, "author") || contains_ci(v, "byline"))
            && !["bio", "avatar", "image", "img", "photo", "desc"]
                .iter()
                .any(|w| contains_ci(v, w))
    };
    attr(e, "class").is_some_and(says) || attr(e, "id").is_some_and(says)
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

/// Whether `3/4/2024` on this page is March 4 (US English, or no language
/// given) rather than 3 April.
fn month_first(lang: Option<&str>) -> bool {
    let Some(lang) = lang.map(str::to_ascii_lowercase) else {
        return true;
    };
    lang == "en" || lang.starts_with("en-us")
}

/// True for a meta key (lower case) that says it holds the publication
/// date: it names publishing (or an issue) and is no change, expiry or
/// other event's date.
fn is_publication_key(key: &str) -> bool {
    let names = [
        "publish",
        "publication",
        "pubdate",
        "pub_date",
        "pub-date",
        "issued",
    ]
    .iter()
    .any(|w| key.contains(w));
    let other = ["modif", "updat", "expir", "revis", "end", "start", "event"]
        .iter()
        .any(|w| key.contains(w));
    names && !other
}

/// Tags in order, without empties, over-long values or case-insensitive repeats.
pub(crate) fn distinct_tags(tags: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = collapse_ws(&t);
        if t.is_empty() || t.chars().count() > 100 || out.len() >= MAX_TAGS {
            continue;
        }
        if !out.iter().any(|x| x.to_lowercase() == t.to_lowercase()) {
            out.push(t);
        }
    }
    out
}

/// `None` for an empty string.
pub(crate) fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

/// Resolves `href` against `base`; only http(s) results are kept.
pub(crate) fn resolve(href: &str, base: Option<&Url>) -> Option<Url> {
    if href.is_empty() {
        return None;
    }
    let u = match base {
        Some(b) => b.join(href).ok()?,
        None => Url::parse(href).ok()?,
    };
    matches!(u.scheme(), "http" | "https").then_some(u)
}

/// Normalises "en_gb", "EN-us", "en" into "en-GB", "en-US", "en".
pub(crate) fn normalize_lang(raw: &str) -> Option<String> {
    let first = raw.split([',', ';', ' ']).find(|s| !s.is_empty())?;
    let mut parts = first.split(['-', '_']);
    let primary = parts.next()?.to_ascii_lowercase();
    if !(2..=3).contains(&primary.len()) || !primary.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    match parts.next() {
        Some(region) if region.len() == 2 && region.chars().all(|c| c.is_ascii_alphabetic()) => {
            Some(format!("{primary}-{}", region.to_ascii_uppercase()))
        }
        _ => Some(primary),
    }
}

/// Parses a date and rejects placeholder values such as "0001-01-01" and
/// dates after tomorrow (a scheduled event, an expiry, a typo).
pub(crate) fn parse_date(raw: &str) -> Option<DateTime<FixedOffset>> {
    parse_date_any(raw).filter(|d| dates::plausible(d.date_naive()))
}

/// Parses the date formats seen in meta tags and JSON-LD; naive times are taken as UTC.
fn parse_date_any(raw: &str) -> Option<DateTime<FixedOffset>> {
    let s = raw.trim();
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d);
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d);
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S %z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, f) {
            return Some(d);
        }
    }
    let utc = FixedOffset::east_opt(0)?;
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
            return n.and_local_timezone(utc).single();
        }
    }
    let head = s.get(..10).unwrap_or(s);
    for f in ["%Y-%m-%d", "%Y/%m/%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(head, f) {
            return d.and_hms_opt(0, 0, 0)?.and_local_timezone(utc).single();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of `head` and `byline` markup around enough prose to be an article.
    fn authors_of(head: &str, byline: &str, url: &str) -> Vec<String> {
        let prose = "<p>The council met on Tuesday evening to settle the budget for the \
            coming year, and after a long debate it voted to raise spending on roads.</p>\
            <p>Residents who spoke at the meeting asked for more money for the libraries \
            and the swimming pool, which has been closed since the spring floods.</p>";
        let page = format!(
            "<html><head>{head}</head><body><article><h1>Budget passed</h1>{byline}{prose}\
             </article></body></html>"
        );
        let base = Url::parse(url).ok();
        crate::clean::clean(&page, base.as_ref())
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

    #[test]
    fn normalises_languages() {
        assert_eq!(normalize_lang("en_gb").as_deref(), Some("en-GB"));
        assert_eq!(normalize_lang("EN").as_deref(), Some("en"));
        assert_eq!(normalize_lang("de-DE, en").as_deref(), Some("de-DE"));
        assert_eq!(normalize_lang("zh-Hant-TW").as_deref(), Some("zh"));
        assert_eq!(normalize_lang("12"), None);
    }

    #[test]
    fn keys_that_date_the_publication_are_told_from_other_dates() {
        for key in [
            "w-published-date",
            "publication_date",
            "article.published",
            "pub_date",
        ] {
            assert!(is_publication_key(key), "{key}");
        }
        for key in [
            "publish-end-date",
            "last-updated",
            "modified",
            "og:description",
        ] {
            assert!(!is_publication_key(key), "{key}");
        }
    }

    #[test]
    fn parses_dates() {
        assert!(parse_date("2019-11-19T10:00:00Z").is_some());
        assert!(parse_date("2019-11-19T10:00:00+0100").is_some());
        assert!(parse_date("2019-11-19 10:00:00").is_some());
        assert!(parse_date("2019-11-19").is_some());
        assert!(parse_date("Tue, 19 Nov 2019 10:00:00 GMT").is_some());
        assert!(parse_date("yesterday").is_none());
        assert!(parse_date("0001-01-01T00:00:00Z").is_none());
    }
}
