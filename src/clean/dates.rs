//! Publication dates written for readers: "12. Februar 2024", "March 5,
//! 2024", "5 mars 2024", "2024年2月12日", "12.02.2024", and the dates in
//! URL paths (`/2024/02/12/`).
//!
//! Used only when the page's markup (JSON-LD, meta tags, `<time datetime>`)
//! names no date. Month names come from a table of the languages feeds are
//! most often in, and the numeric and CJK forms need no words at all. A day
//! and a year must both sit next to the month, and a date after tomorrow or
//! before the web is no date: a wrong date is worse than none.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};

/// The earliest year a web page's publication date can have.
const FIRST_YEAR: i32 = 1991;

/// Month names and their usual abbreviations (lower case, without a final
/// dot), in English, German, French, Spanish, Italian, Portuguese and Dutch.
/// Abbreviations that are common words in one of them ("set", "out") are
/// left out.
const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("januar", 1),
    ("jänner", 1),
    ("janvier", 1),
    ("janv", 1),
    ("enero", 1),
    ("ene", 1),
    ("gennaio", 1),
    ("gen", 1),
    ("janeiro", 1),
    ("januari", 1),
    ("february", 2),
    ("feb", 2),
    ("febr", 2),
    ("februar", 2),
    ("février", 2),
    ("févr", 2),
    ("fevrier", 2),
    ("febrero", 2),
    ("febbraio", 2),
    ("fevereiro", 2),
    ("fev", 2),
    ("februari", 2),
    ("march", 3),
    ("mar", 3),
    ("märz", 3),
    ("mär", 3),
    ("maerz", 3),
    ("mars", 3),
    ("marzo", 3),
    ("março", 3),
    ("marco", 3),
    ("maart", 3),
    ("mrt", 3),
    ("april", 4),
    ("apr", 4),
    ("avril", 4),
    ("avr", 4),
    ("abril", 4),
    ("abr", 4),
    ("aprile", 4),
    ("may", 5),
    ("mai", 5),
    ("mayo", 5),
    ("maggio", 5),
    ("mag", 5),
    ("maio", 5),
    ("mei", 5),
    ("june", 6),
    ("jun", 6),
    ("juni", 6),
    ("juin", 6),
    ("junio", 6),
    ("giugno", 6),
    ("giu", 6),
    ("junho", 6),
    ("july", 7),
    ("jul", 7),
    ("juli", 7),
    ("juillet", 7),
    ("juil", 7),
    ("julio", 7),
    ("luglio", 7),
    ("lug", 7),
    ("julho", 7),
    ("august", 8),
    ("aug", 8),
    ("août", 8),
    ("aout", 8),
    ("agosto", 8),
    ("ago", 8),
    ("augustus", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("septembre", 9),
    ("septiembre", 9),
    ("setiembre", 9),
    ("settembre", 9),
    ("setembro", 9),
    ("october", 10),
    ("oct", 10),
    ("oktober", 10),
    ("okt", 10),
    ("octobre", 10),
    ("octubre", 10),
    ("ottobre", 10),
    ("ott", 10),
    ("outubro", 10),
    ("november", 11),
    ("nov", 11),
    ("novembre", 11),
    ("noviembre", 11),
    ("novembro", 11),
    ("december", 12),
    ("dec", 12),
    ("dezember", 12),
    ("dez", 12),
    ("décembre", 12),
    ("déc", 12),
    ("decembre", 12),
    ("diciembre", 12),
    ("dic", 12),
    ("dicembre", 12),
    ("dezembro", 12),
];

/// Words that may stand between a day, a month and a year ("5 de marzo de
/// 2024", "the 5th of March").
const FILLER: &[&str] = &["de", "del", "of", "the", "den", "le", "el", "di"];

/// Text scanned for a date, at most (chars).
const MAX_TEXT: usize = 600;

/// The first plausible calendar date written in `text` (midnight UTC), or
/// `None`. `month_first` says how to read an ambiguous `3/4/2024`
/// (month first in US English); `.` and `-` forms are always day first.
pub(crate) fn text_date(text: &str, month_first: bool) -> Option<DateTime<FixedOffset>> {
    let text: String = text.chars().take(MAX_TEXT).collect();
    let lower = text.to_lowercase();
    cjk_date(&lower)
        .or_else(|| named_month_date(&lower))
        .or_else(|| numeric_date(&lower, month_first))
}

/// A date in a URL path: `/2024/02/12/`, `/2024-02-12-…`, `/2024/october/03/`
/// (a month's name from the table), `/2024-02-12+Title`: a four-digit year,
/// a month and a day as consecutive path words.
pub(crate) fn url_date(url: &url::Url) -> Option<DateTime<FixedOffset>> {
    let path = url.path().to_lowercase();
    let parts: Vec<&str> = path
        .split(|c: char| !c.is_alphanumeric())
        .filter(|s| !s.is_empty())
        .collect();
    parts.windows(3).find_map(|w| {
        let (y, m, d) = (w[0], w[1], w[2]);
        if y.len() != 4 || !(1..=2).contains(&d.len()) {
            return None;
        }
        let month = if (1..=2).contains(&m.len()) {
            m.parse().ok()?
        } else {
            MONTHS.iter().find(|(name, _)| *name == m)?.1
        };
        make(y.parse().ok()?, month, d.parse().ok()?)
    })
}

/// `2024年2月12日` (Chinese, Japanese) and `2024년 2월 12일` (Korean).
fn cjk_date(s: &str) -> Option<DateTime<FixedOffset>> {
    let numbers_before = |marker: char| -> Vec<(usize, u32)> {
        s.match_indices(marker)
            .filter_map(|(at, _)| {
                let head = s[..at].trim_end();
                let digits: String = head
                    .chars()
                    .rev()
                    .take_while(char::is_ascii_digit)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                digits.parse().ok().map(|n| (at, n))
            })
            .collect()
    };
    for (year_mark, month_mark, day_mark) in [('年', '月', '日'), ('년', '월', '일')] {
        let years = numbers_before(year_mark);
        let months = numbers_before(month_mark);
        let days = numbers_before(day_mark);
        for &(ya, y) in &years {
            let Some(&(ma, m)) = months.iter().find(|(at, _)| *at > ya && at - ya <= 8) else {
                continue;
            };
            let Some(&(_, d)) = days.iter().find(|(at, _)| *at > ma && at - ma <= 8) else {
                continue;
            };
            if let Some(date) = make(i32::try_from(y).ok()?, m, d) {
                return Some(date);
            }
        }
    }
    None
}

/// "March 5, 2024", "5 March 2024", "12. Februar 2024", "5 de marzo de 2024".
fn named_month_date(s: &str) -> Option<DateTime<FixedOffset>> {
    let words: Vec<&str> = s
        .split(|c: char| !(c.is_alphanumeric()))
        .filter(|w| !w.is_empty() && !FILLER.contains(w))
        .collect();
    for (k, w) in words.iter().enumerate() {
        let Some(&(_, month)) = MONTHS.iter().find(|(name, _)| name == w) else {
            continue;
        };
        let day_at = |j: usize| words.get(j).and_then(|w| day(w));
        let year_at = |j: usize| words.get(j).and_then(|w| year(w));
        // Month day year ("March 5 2024"), day month year ("5 March 2024").
        let found = match (k.checked_sub(1).and_then(day_at), day_at(k + 1)) {
            (_, Some(d)) if year_at(k + 2).is_some() => year_at(k + 2).map(|y| (y, d)),
            (Some(d), _) => year_at(k + 1).map(|y| (y, d)),
            _ => None,
        };
        if let Some((y, d)) = found
            && let Some(date) = make(y, month, d)
        {
            return Some(date);
        }
    }
    None
}

/// "12.02.2024", "2024-02-12", "2/12/2024".
fn numeric_date(s: &str, month_first: bool) -> Option<DateTime<FixedOffset>> {
    for token in s.split(|c: char| c.is_whitespace() || matches!(c, ',' | '(' | ')' | '|')) {
        let token = token.trim_matches(|c: char| !c.is_ascii_digit());
        let sep = if token.contains('.') {
            '.'
        } else if token.contains('/') {
            '/'
        } else if token.contains('-') {
            '-'
        } else {
            continue;
        };
        // At most three parts, so a time's negative offset stays in the day's.
        let parts: Vec<&str> = token.splitn(3, sep).collect();
        let [a, b, c] = parts[..] else {
            continue;
        };
        // An ISO 8601 time may follow a year-first day: "2022-11-23T08:10+02:00".
        let c = match c.find(['t', 'T']) {
            Some(at) if a.len() == 4 && (1..=2).contains(&at) => &c[..at],
            _ => c,
        };
        let num = |p: &str| p.parse::<u32>().ok();
        let (Some(x), Some(y), Some(z)) = (num(a), num(b), num(c)) else {
            continue;
        };
        let date = if a.len() == 4 {
            // Year first is always year-month-day.
            make(i32::try_from(x).ok()?, y, z)
        } else if c.len() == 4 {
            let year = i32::try_from(z).ok()?;
            // Slashes put the month first in US English, and wherever the
            // second number cannot be a month.
            let (month, day) = if sep == '/' && x <= 12 && (month_first || y > 12) {
                (x, y)
            } else {
                (y, x)
            };
            make(year, month, day)
        } else {
            None
        };
        if date.is_some() {
            return date;
        }
    }
    None
}

/// A day of the month, allowing ordinal endings ("5th", "1er", "3.").
fn day(w: &str) -> Option<u32> {
    let digits: String = w.chars().take_while(char::is_ascii_digit).collect();
    let rest = &w[digits.len()..];
    if digits.is_empty()
        || digits.len() > 2
        || !matches!(rest, "" | "st" | "nd" | "rd" | "th" | "er" | "º" | "o")
    {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

/// A four-digit year.
fn year(w: &str) -> Option<i32> {
    (w.len() == 4 && w.bytes().all(|b| b.is_ascii_digit()))
        .then(|| w.parse().ok())
        .flatten()
}

/// True for a day a published page can carry: from [`FIRST_YEAR`] to
/// tomorrow (a day ahead, for time zones east of the reader's clock).
pub(crate) fn plausible(date: NaiveDate) -> bool {
    let tomorrow = Utc::now().date_naive().succ_opt();
    date.year() >= FIRST_YEAR && tomorrow.is_some_and(|t| date <= t)
}

/// Midnight UTC of a real calendar day between [`FIRST_YEAR`] and tomorrow.
fn make(y: i32, m: u32, d: u32) -> Option<DateTime<FixedOffset>> {
    let date = NaiveDate::from_ymd_opt(y, m, d).filter(|d| plausible(*d))?;
    date.and_hms_opt(0, 0, 0)?
        .and_local_timezone(FixedOffset::east_opt(0)?)
        .single()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day_of(text: &str) -> Option<String> {
        text_date(text, false).map(|d| d.format("%Y-%m-%d").to_string())
    }

    /// The publication day `clean` finds on a page with `head` and `body`.
    fn page_day(head: &str, body: &str) -> Option<String> {
        let prose = "<p>The council met on Tuesday evening to settle the budget for the \
            coming year, and after a long debate it voted to raise spending on roads.</p>\
            <p>Residents who spoke at the meeting asked for more money for the libraries \
            and the swimming pool, which has been closed since the spring floods.</p>";
        let page = format!("<html><head>{head}</head><body>{body}{prose}</body></html>");
        crate::clean::clean(&page, None)
            .ok()?
            .published_at
            .map(|d| d.format("%Y-%m-%d").to_string())
    }

    #[test]
    fn a_dateline_printed_just_above_the_headline_is_the_date() {
        let hero = r#"<nav><a href="/">Home</a> <a href="/blog">Blog</a></nav>
<div class="hero"><div class="k">Published</div><div class="v">October 14, 2025</div>
<h1>Budget passed after a long night</h1></div>"#;
        assert_eq!(page_day("", hero).as_deref(), Some("2025-10-14"));
        // A date far above the headline (a ticker, an event box) is not its date.
        let far = format!(
            "<div class=\"v\">October 14, 2025</div><div>{}</div><h1>Budget passed</h1>",
            "Menu items and more links for the reader to follow. ".repeat(6)
        );
        assert_eq!(page_day("", &far), None);
    }

    #[test]
    fn a_blog_posting_inside_a_blog_node_gives_its_date() {
        let ld = r#"<script type="application/ld+json">{"@context":"https://schema.org",
"@type":"Blog","name":"AppAddict","blogPost":[{"@type":"BlogPosting",
"headline":"Budget passed","datePublished":"2025-12-19T20:20:42Z"}]}</script>"#;
        assert_eq!(
            page_day(ld, "<h1>Budget passed</h1>").as_deref(),
            Some("2025-12-19")
        );
    }

    #[test]
    fn dates_written_with_month_names_are_read_in_several_languages() {
        for (text, want) in [
            ("Published March 5, 2024 at 10:00", "2024-03-05"),
            ("By Jane Doe | 5th March 2024", "2024-03-05"),
            (
                "Veröffentlicht am 12. Februar 2024, 14:03 Uhr",
                "2024-02-12",
            ),
            ("Publié le 1er août 2023", "2023-08-01"),
            ("Publicado el 5 de marzo de 2024", "2024-03-05"),
            ("pubblicato il 7 settembre 2022", "2022-09-07"),
            ("Gepubliceerd op 3 mei 2021", "2021-05-03"),
            ("FEBRUARY 12, 2024", "2024-02-12"),
            ("Sept. 9, 2020", "2020-09-09"),
        ] {
            assert_eq!(day_of(text).as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn an_iso_date_with_its_time_is_read_in_text() {
        assert_eq!(
            day_of("2022-11-23T08:10+02:00 ").as_deref(),
            Some("2022-11-23")
        );
        assert_eq!(
            day_of("am 2022-11-23T08:10:00-05:00").as_deref(),
            Some("2022-11-23")
        );
        assert_eq!(day_of("version 1.2.3.4"), None);
    }

    #[test]
    fn numeric_and_cjk_dates_are_read_without_words() {
        assert_eq!(
            day_of("Stand: 12.02.2024 11:30").as_deref(),
            Some("2024-02-12")
        );
        assert_eq!(day_of("2024-02-12").as_deref(), Some("2024-02-12"));
        assert_eq!(
            day_of("发布于 2024年2月12日").as_deref(),
            Some("2024-02-12")
        );
        assert_eq!(
            day_of("2024년 2월 12일 입력").as_deref(),
            Some("2024-02-12")
        );
        assert_eq!(
            text_date("3/4/2024", true).map(|d| d.month()),
            Some(3),
            "US order"
        );
        assert_eq!(text_date("3/4/2024", false).map(|d| d.month()), Some(4));
        assert_eq!(text_date("3/25/2024", false).map(|d| d.month()), Some(3));
    }

    #[test]
    fn no_day_no_date_and_the_future_or_the_impossible_is_no_date() {
        assert_eq!(day_of("March 2024"), None);
        assert_eq!(day_of("May I have 5 minutes in 2024?"), None);
        assert_eq!(day_of("31. Februar 2024"), None);
        assert_eq!(day_of("March 5, 2999"), None);
        assert_eq!(day_of("5 March 1890"), None);
        assert_eq!(day_of("Call 555-1234 today"), None);
    }

    #[test]
    fn dates_in_url_paths_are_read() {
        let url = |s: &str| url::Url::parse(s).expect("url");
        let got = |s: &str| url_date(&url(s)).map(|d| d.format("%Y-%m-%d").to_string());
        assert_eq!(
            got("https://x.example/2024/02/12/a-story/").as_deref(),
            Some("2024-02-12")
        );
        assert_eq!(
            got("https://x.example/news/2024-2-5-a-story").as_deref(),
            Some("2024-02-05")
        );
        assert_eq!(
            got("https://x.example/blog/2023/october/03/a-story/").as_deref(),
            Some("2023-10-03")
        );
        assert_eq!(
            got("https://x.example/articles/2025-12-15+Why+and+how").as_deref(),
            Some("2025-12-15")
        );
        assert_eq!(got("https://x.example/2024/02/a-story"), None);
        assert_eq!(got("https://x.example/2024/may/be-a-story"), None);
        assert_eq!(got("https://x.example/p/1234/56/78"), None);
    }
}
