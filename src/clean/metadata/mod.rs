//! Page metadata: title candidates, standfirst candidates, authors, dates,
//! language, canonical URL, lead image, site name, section, tags and the
//! JSON-LD article body.

use chrono::{DateTime, FixedOffset};
use url::Url;

use super::dom::{Dom, attr, collapse_ws};
use super::jsonld::{LdArticle, parse_ld};

mod authors;
mod published;

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
/// An element read for a written date or a byline has at most this many
/// nodes (a dateline, not a container that happens to be called "meta").
const SMALL_ELEMENT_NODES: usize = 24;

/// What the walk over the page collected for the readers of authors and dates.
struct Found<'a> {
    /// `<meta>` keys (lower case) and values, in page order; microdata
    /// dates as `itemprop:datepublished` and `itemprop:datemodified`.
    metas: Vec<(String, &'a str)>,
    /// The article facts in the page's JSON-LD.
    ld: LdArticle,
    /// `<html lang>`.
    html_lang: Option<&'a str>,
    /// Texts of `rel=author` links.
    rel_authors: Vec<String>,
    /// `datetime` of the first `<time>` that has one.
    time_attr: Option<&'a str>,
    /// Where the first headline starts.
    h1_at: Option<usize>,
    /// Where the text after the first headline starts.
    after_h1: Option<usize>,
}

impl Found<'_> {
    /// The first non-empty value of the meta key `k`, whitespace collapsed.
    fn get(&self, k: &str) -> Option<String> {
        self.metas
            .iter()
            .find(|(key, v)| key == k && !v.trim().is_empty())
            .map(|(_, v)| collapse_ws(v))
    }
}

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

    // A page without an `<h1>` shows its headline in some other element:
    // the first short one whose text is the title, less the site's name.
    if h1_at.is_none() {
        let doc_title = m.doc_title.as_deref();
        let og_title = metas.iter().find(|(k, _)| k == "og:title").map(|(_, v)| *v);
        if let Some(at) = titled_element(dom, [og_title, doc_title]) {
            h1_at = Some(at);
            after_h1 = Some(dom.end[at]);
        }
    }
    let found = Found {
        metas,
        ld: parse_ld(&ld_blobs),
        html_lang,
        rel_authors,
        time_attr,
        h1_at,
        after_h1,
    };
    let ld = &found.ld;
    let get = |k: &str| found.get(k);

    m.meta_title = get("og:title")
        .or_else(|| ld.headline.clone())
        .or_else(|| get("twitter:title"));
    m.description = get("og:description")
        .or_else(|| get("description"))
        .or_else(|| ld.description.clone())
        .or_else(|| get("twitter:description"));

    m.authors = authors::authors(dom, &found, base);
    (m.published_at, m.updated_at) = published::dates(dom, &found, base);

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
    let meta_tags = found
        .metas
        .iter()
        .filter(|(k, _)| k == "article:tag")
        .map(|(_, v)| collapse_ws(v));
    m.tags = distinct_tags(meta_tags.chain(ld.keywords.iter().cloned()));

    let lang_candidates = [
        found.html_lang.map(str::to_string),
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
    m.ld_body = found.ld.body;
    m
}

/// Letters and digits of `s`, lower case: headline texts compared.
fn letters(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Headlines shorter than this (letters and digits) are not looked for
/// outside `<h1>`: a short text is found in too many places.
const MIN_HEADLINE_LETTERS: usize = 12;

/// The first short element of the page whose text is one of `titles`, or
/// the start of one that goes on with the site's name ("Headline | Site"):
/// at least half of it, and more than [`MIN_HEADLINE_LETTERS`].
fn titled_element(dom: &Dom<'_>, titles: [Option<&str>; 2]) -> Option<usize> {
    let keys: Vec<String> = titles.into_iter().flatten().map(letters).collect();
    let no_removed: Vec<bool> = Vec::new();
    let mut i = 0;
    while i < dom.len() {
        let Some(e) = dom.elem(i) else {
            i += 1;
            continue;
        };
        if matches!(e.name(), "template" | "svg" | "title" | "head")
            || super::dom::is_never_content(e.name())
        {
            i = dom.end[i].max(i + 1);
            continue;
        }
        if dom.end[i].saturating_sub(i) <= SMALL_ELEMENT_NODES {
            let text = letters(&dom.collapsed_text(i, &no_removed));
            let n = text.chars().count();
            let is_title = n > MIN_HEADLINE_LETTERS
                && keys
                    .iter()
                    .any(|k| k.starts_with(&text) && n * 2 >= k.chars().count());
            if is_title {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

/// ASCII case-insensitive substring test without allocating: it runs on
/// the class and id of every element.
pub(super) fn contains_ci(hay: &str, needle: &str) -> bool {
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

/// What `clean` makes of a page at `url` (`html` its `<html>` tag) with
/// `head` and `body` markup around enough prose to be an article (for tests).
#[cfg(test)]
pub(super) fn clean_test_page(
    html: &str,
    head: &str,
    body: &str,
    url: &str,
) -> Option<crate::clean::Cleaned> {
    let prose = "<p>The council met on Tuesday evening to settle the budget for the \
        coming year, and after a long debate it voted to raise spending on roads.</p>\
        <p>Residents who spoke at the meeting asked for more money for the libraries \
        and the swimming pool, which has been closed since the spring floods.</p>";
    let page = format!(
        "{html}<head>{head}</head><body><article><h1>Budget passed</h1>{body}{prose}\
         </article></body></html>"
    );
    let base = url::Url::parse(url).ok();
    crate::clean::clean(&page, base.as_ref()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_languages() {
        assert_eq!(normalize_lang("en_gb").as_deref(), Some("en-GB"));
        assert_eq!(normalize_lang("EN").as_deref(), Some("en"));
        assert_eq!(normalize_lang("de-DE, en").as_deref(), Some("de-DE"));
        assert_eq!(normalize_lang("zh-Hant-TW").as_deref(), Some("zh"));
        assert_eq!(normalize_lang("12"), None);
    }
}
