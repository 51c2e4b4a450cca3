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
    let month_first = month_first(found.html_lang);
    let stated = stated_publication(found, month_first);
    let url_day = base.and_then(dates::url_date);
    let published = stated
        .first()
        .map(|&first| with_time(first, &stated))
        .or_else(|| written_date(dom, found.h1_at.zip(found.after_h1), month_first));
    let published = match (published, url_day) {
        (Some(p), Some(u)) => Some(on_url_day(p, u, &stated)),
        (p, u) => p.or(u),
    };
    let ld = &found.ld;
    let read = |s: &str| read_date(s, month_first);
    let modified_candidates = [
        found.get("article:modified_time"),
        found.get("og:updated_time"),
        found.get("itemprop:datemodified"),
        found.get("datemodified"),
        found.get("last-modified"),
        found.get("dc.date.modified"),
        found.get("dcterms.modified"),
    ];
    // A change dated before the publication contradicts it: no evidence.
    let updated = (ld.date_modified.as_deref().and_then(parse_date))
        .or_else(|| modified_candidates.iter().flatten().find_map(|s| read(s)))
        .filter(|u| published.is_none_or(|p| *u >= p));
    (published, updated)
}

/// The publication dates the page's markup states, most trusted first:
/// JSON-LD article `datePublished`, `article:published_time` and the other
/// meta names, microdata, the first `<time datetime>`, JSON-LD
/// `dateCreated`, then a key of the site's own, then a `WebPage` node's
/// `datePublished`. JSON-LD dates must be ISO 8601 as schema.org says: one
/// written for readers there is a template's field, often another date's.
fn stated_publication(found: &Found<'_>, month_first: bool) -> Vec<DateTime<FixedOffset>> {
    let ld = &found.ld;
    let get = |k: &str| found.get(k);
    let read = |s: &str| read_date(s, month_first);
    let from_ld = |v: &Option<String>| v.as_deref().and_then(parse_date);
    let from_meta = [
        get("article:published_time"),
        get("og:published_time"),
        microdata_date(found),
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
        found.time_attr.map(str::to_string),
    ];
    let mut out: Vec<DateTime<FixedOffset>> = Vec::new();
    out.extend(from_ld(&ld.date_published));
    out.extend(from_meta.iter().flatten().filter_map(|s| read(s)));
    out.extend(from_ld(&ld.date_created));
    // Sites name their own keys ("w-published-date", "publication_date",
    // "article.published"): any key that says it dates the publication.
    // When several disagree the earliest is the first publication (a later
    // one is a re-publication or the time the page was rendered).
    let site_key = found
        .metas
        .iter()
        .filter(|(k, _)| is_publication_key(k))
        .filter_map(|(_, v)| read(v))
        .min();
    out.extend(site_key);
    out.extend(from_ld(&ld.page_date_published));
    out
}

/// The microdata `datePublished`, unless the page holds several on
/// different days: then they date a list of teasers, not the page.
fn microdata_date(found: &Found<'_>) -> Option<String> {
    let mut values = found
        .metas
        .iter()
        .filter(|(k, v)| k == "itemprop:datepublished" && !v.trim().is_empty())
        .map(|(_, v)| v.trim());
    let first = values.next()?;
    let day = |v: &str| parse_date(v).map(|d| d.date_naive());
    let one_day = values.all(|v| day(v) == day(first));
    one_day.then(|| first.to_string())
}

/// A day-only date (midnight UTC: written for readers) with the time of a
/// stated date of the same day, when there is one.
fn with_time(
    day: DateTime<FixedOffset>,
    stated: &[DateTime<FixedOffset>],
) -> DateTime<FixedOffset> {
    if !is_day_only(day) {
        return day;
    }
    stated
        .iter()
        .copied()
        .find(|d| !is_day_only(*d) && d.date_naive() == day.date_naive())
        .unwrap_or(day)
}

/// True for a date without a time of day: midnight UTC.
fn is_day_only(d: DateTime<FixedOffset>) -> bool {
    d.offset().local_minus_utc() == 0 && d.time() == chrono::NaiveTime::MIN
}

/// The publication date `chosen`, checked against the day in the page's URL
/// (`/2024/02/12/`), which the site set when it first published the page,
/// in its own time zone. A stated date on the URL's day is taken; a time
/// that is that day somewhere on Earth (UTC-12 to UTC+14) stays, as the
/// instant it is; any other date gives way to the URL's day.
fn on_url_day(
    chosen: DateTime<FixedOffset>,
    url_day: DateTime<FixedOffset>,
    stated: &[DateTime<FixedOffset>],
) -> DateTime<FixedOffset> {
    let day = url_day.date_naive();
    if chosen.date_naive() == day {
        return chosen;
    }
    if let Some(on_day) = stated.iter().copied().find(|d| d.date_naive() == day) {
        return on_day;
    }
    let earliest = url_day.checked_sub_signed(chrono::TimeDelta::hours(14));
    let latest = url_day.checked_add_signed(chrono::TimeDelta::hours(24 + 12));
    let that_day = earliest
        .zip(latest)
        .is_some_and(|(e, l)| e <= chosen && chosen < l);
    if !is_day_only(chosen) && that_day {
        chosen
    } else {
        url_day
    }
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

/// A date stated in markup: the machine formats ([`parse_date`]), else one
/// written for readers ("July 17, 2025", "13/11/2025 09:21"), as some
/// sites fill their date keys.
fn read_date(raw: &str, month_first: bool) -> Option<DateTime<FixedOffset>> {
    parse_date(raw).or_else(|| {
        // A key's "03-09-2026" is in the page's order, as "03/09/2026" is:
        // the day-first reading of dashes is for dates written in text.
        let numeric = raw.trim().bytes().all(|b| b.is_ascii_digit() || b == b'-');
        let raw = if numeric {
            raw.replace('-', "/")
        } else {
            raw.to_string()
        };
        dates::text_date(&raw, month_first)
    })
}

/// Parses a date and rejects placeholder values such as "0001-01-01" and
/// dates after tomorrow (a scheduled event, an expiry, a typo).
fn parse_date(raw: &str) -> Option<DateTime<FixedOffset>> {
    parse_date_any(raw).filter(|d| dates::plausible(d.date_naive()))
}

/// Parses the date formats seen in meta tags and JSON-LD; naive times are taken as UTC.
fn parse_date_any(raw: &str) -> Option<DateTime<FixedOffset>> {
    // Some templates print the JSON string with its quotes: "\"2025-12-17T13:22:47Z\"".
    let s = raw.trim().trim_matches('"').trim();
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

    /// The publication time `clean` finds on a page at `url` with `head`
    /// and `body` markup around enough prose to be an article.
    fn published(head: &str, body: &str, url: &str) -> Option<String> {
        super::super::clean_test_page("<html lang=en>", head, body, url)?
            .published_at
            .map(|d| d.to_rfc3339())
    }

    /// The day of [`published`].
    fn day(head: &str, body: &str, url: &str) -> Option<String> {
        published(head, body, url).map(|d| d[..10].to_string())
    }

    const URL: &str = "https://x.test/news/budget-passed";

    #[test]
    fn a_date_in_the_url_path_dates_a_page_whose_markup_has_none() {
        let url = "https://x.test/2024/03/05/budget-passed/";
        assert_eq!(day("", "", url).as_deref(), Some("2024-03-05"));
        assert_eq!(day("", "", URL), None);
    }

    #[test]
    fn a_key_filled_with_a_date_for_readers_is_read_in_the_pages_order() {
        let head = r#"<meta name="published" content="July 17, 2025">"#;
        assert_eq!(day(head, "", URL).as_deref(), Some("2025-07-17"));
        // "03-09-2026" on an English page is March 9, as "03/09/2026" is.
        let head = r#"<meta property="article:published_time" content="03-09-2026">"#;
        assert_eq!(day(head, "", URL).as_deref(), Some("2026-03-09"));
        // Quoted JSON in the value still dates the page, with its time.
        let head = r#"<meta property="article:published_time" content='"2025-12-17T13:22:47Z"'>"#;
        assert_eq!(
            published(head, "", URL).as_deref(),
            Some("2025-12-17T13:22:47+00:00")
        );
    }

    #[test]
    fn json_ld_dates_must_be_machine_dates() {
        // schema.org asks for ISO 8601; a template's "Jun 24, 2025" there is
        // not trusted over the date the page shows.
        let head = r#"<script type="application/ld+json">{"@type":"Article","datePublished":"Jun 24, 2025"}</script>"#;
        let shown = r#"<div class="text__date">August 25, 2024</div>"#;
        assert_eq!(day(head, shown, URL).as_deref(), Some("2024-08-25"));
    }

    #[test]
    fn the_day_in_the_url_decides_between_the_stated_dates() {
        // The UTC meta is the next day; the page's own `<time>` is on the URL's day.
        let head =
            r#"<meta property="article:published_time" content="2025-12-19T03:05:00+00:00">"#;
        let time = r#"<p><time datetime="2025-12-18T19:05:00-08:00">December 18, 2025</time></p>"#;
        let url = "https://x.test/2025/12/18/budget-passed";
        assert_eq!(
            published(head, time, url).as_deref(),
            Some("2025-12-18T19:05:00-08:00")
        );
        // A time that is the URL's day in some time zone stays as it is; a
        // day-only date or a time on another day gives way to the URL's day.
        let url = "https://x.test/2019/11/18/budget-passed";
        let meta = |v: &str| format!(r#"<meta property="article:published_time" content="{v}">"#);
        assert_eq!(
            published(&meta("2019-11-19T07:03:25Z"), "", url).as_deref(),
            Some("2019-11-19T07:03:25+00:00")
        );
        assert_eq!(
            day(&meta("2019-11-19"), "", url).as_deref(),
            Some("2019-11-18")
        );
        assert_eq!(
            day(&meta("2019-10-13T07:03:25Z"), "", url).as_deref(),
            Some("2019-11-18")
        );
        // A written date read the wrong way round gives way to the URL's day.
        let shown = r#"<p class="date">03/10/2023</p>"#;
        let url = "https://x.test/blog/2023/october/03/budget-passed";
        assert_eq!(day("", shown, url).as_deref(), Some("2023-10-03"));
    }

    #[test]
    fn a_page_without_an_h1_has_its_date_under_the_element_that_shows_the_title() {
        let prose = "<p>The council met on Tuesday evening to settle the budget for the \
            coming year, and after a long debate it voted to raise spending on roads.</p>\
            <p>Residents who spoke at the meeting asked for more money for the libraries \
            and the swimming pool, which has been closed since the spring floods.</p>";
        let page = |headline: &str| {
            format!(
                "<html lang=en><head><title>Budget passed after a long night | Courier</title></head>\
                 <body><div><p class=\"x\">{headline}</p><p class=\"y\">Feb 16, 2026</p></div>\
                 <article>{prose}</article></body></html>"
            )
        };
        let day = |html: String| {
            crate::clean::clean(&html, None)
                .ok()
                .and_then(|c| c.published_at)
                .map(|d| d.format("%Y-%m-%d").to_string())
        };
        assert_eq!(
            day(page("Budget passed after a long night")).as_deref(),
            Some("2026-02-16")
        );
        // A line that is not the title anchors nothing.
        assert_eq!(day(page("Our newsletter")), None);
    }

    #[test]
    fn microdata_dates_of_a_list_of_teasers_are_not_the_pages() {
        let teasers = r#"<ul><li><span itemprop="datePublished" content="2026-03-13T12:00:00Z"></span>A</li>
            <li><span itemprop="datePublished" content="2026-03-10T09:00:00Z"></span>B</li></ul>"#;
        let head = r#"<meta name="date" content="March 27, 2025">"#;
        assert_eq!(day(head, teasers, URL).as_deref(), Some("2025-03-27"));
        // One microdata date (or several on its day) is the page's.
        let own = r#"<span itemprop="datePublished" content="2026-03-13T12:00:00Z"></span>"#;
        assert_eq!(day(head, own, URL).as_deref(), Some("2026-03-13"));
    }

    #[test]
    fn a_day_written_for_readers_takes_the_time_of_a_stated_date_that_day() {
        let head = r#"<meta name="date" content="Jul 18, 2025">
            <script type="application/ld+json">{"@type":"WebPage","datePublished":"2025-07-18T13:13:29+00:00"}</script>"#;
        assert_eq!(
            published(head, "", URL).as_deref(),
            Some("2025-07-18T13:13:29+00:00")
        );
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
