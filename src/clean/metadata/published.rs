//! The article's publication and change dates: which of the dates a page
//! states (JSON-LD, meta keys, `<time datetime>`, a date written for readers,
//! the URL path) are its own.

use std::collections::VecDeque;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use url::Url;

use super::{Found, SMALL_ELEMENT_NODES, contains_ci};
use crate::clean::dates;
use crate::clean::dom::{Dom, attr, is_never_content};

/// The publication date and the date of the last change, if the page states them.
pub(super) fn dates(
    dom: &Dom<'_>,
    found: &Found<'_>,
    base: Option<&Url>,
) -> (Option<DateTime<FixedOffset>>, Option<DateTime<FixedOffset>>) {
    let ld = &found.ld;
    let metas = &found.metas;
    let get = |k: &str| found.get(k);
    let (h1_at, after_h1) = (found.h1_at, found.after_h1);
    let time_attr = found.time_attr;
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
    let month_first = month_first(found.html_lang);
    let published_at = date_candidates
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
    let updated_at = modified_candidates
        .iter()
        .flatten()
        .find_map(|s| parse_date(s))
        .filter(|u| published_at.is_none_or(|p| *u >= p));
    (published_at, updated_at)
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
            && dom.end[i].saturating_sub(i) <= SMALL_ELEMENT_NODES
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
