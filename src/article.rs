//! The records that travel through the pipeline: an accepted link ([`ArticleJob`])
//! and the clean article every sink writes ([`Article`], the output contract),
//! built in one place, [`assemble`], for the daemon and `thresher clean` alike.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::clean::Cleaned;
pub use crate::clean::Figure;
use crate::dedup::UrlCanon;

/// Silent reading speed of adults in words per minute, for non-fiction
/// (Brysbaert 2019, a meta-analysis over 190 studies: 238).
const WORDS_PER_MINUTE: usize = 238;
/// The same for Chinese and Japanese, in characters per minute (the same
/// study's figure for those scripts is 158–260 words, about 500 characters).
const CJK_CHARS_PER_MINUTE: usize = 500;

/// A new link found in a feed, accepted for processing.
///
/// It is stored in the state store before anything else happens to it, so an
/// accepted link survives a crash and is processed after the next start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArticleJob {
    /// Id of the link as listed in the feed (see [`crate::dedup::article_id`]).
    pub key: String,
    /// The link from the feed, made absolute.
    pub url: Url,
    /// Name of the source whose feed listed it.
    pub source: String,
    /// The feed URL it was found in.
    pub feed_url: Url,
    /// What the feed said about the entry; used where the page says nothing.
    #[serde(default)]
    pub entry: EntryHints,
    /// Number of the daemon run that last handed it out for processing (set by
    /// the state store; see [`crate::state::State::run`]).
    #[serde(default)]
    pub accepted_run: u64,
    /// Processing attempts that failed so far.
    #[serde(default)]
    pub failed_attempts: u32,
    /// Set while the job waits for a retry: not to be processed before this time.
    #[serde(default)]
    pub retry_at: Option<DateTime<Utc>>,
    /// The id earlier versions gave this link (they kept `www.` and a
    /// trailing slash), when it differs from `key`: a link finished under it
    /// is not accepted again after an upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_key: Option<String>,
    /// Why a sink could not take the article the last time, while it waits
    /// for another go: our failure, retried at the next start at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undelivered: Option<String>,
}

/// Metadata a feed entry carries, kept as fallbacks for the page's own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EntryHints {
    /// Entry title.
    pub title: Option<String>,
    /// Entry publication (or, lacking that, update) time.
    pub published_at: Option<DateTime<FixedOffset>>,
    /// Entry author names.
    #[serde(default)]
    pub authors: Vec<String>,
    /// Entry categories (RSS `<category>`, Atom `category`, JSON Feed `tags`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Entry image (`media:content`, an image enclosure, `media:thumbnail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Url>,
    /// Entry summary as plain text (RSS `description`, Atom `summary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// One clean article: the JSON document every sink writes (schema in README.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    /// Stable id derived from the canonical URL (32 hex characters).
    pub id: String,
    /// The final URL fetched, after redirects.
    pub url: Url,
    /// The canonical URL the id derives from.
    pub canonical_url: Url,
    /// Name of the source that found it.
    pub source: String,
    /// Feed the link was listed in.
    pub feed_url: Url,
    /// Headline (from the page, else from the feed entry; empty if neither has one).
    pub title: String,
    /// Standfirst / dek, when the page has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// Author names, when known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    /// Publication time, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<FixedOffset>>,
    /// Time of the last change, when the page declares one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// Lead image, absolute: the page's, else the feed entry's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Url>,
    /// Figures of the body with their captions, in document order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Figure>,
    /// Name of the site or publisher, when the page gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_name: Option<String>,
    /// The page's own summary (its meta description), else the feed entry's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The section the article is filed under, when the page says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// Tags and keywords of the page, else the feed entry's categories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Words in `text` (each Chinese or Japanese character counts as one; see [`reading`]).
    #[serde(default)]
    pub word_count: usize,
    /// Minutes an adult reads `text` in, rounded up (see [`reading`]).
    #[serde(default)]
    pub reading_time_minutes: u32,
    /// Language tag such as `en` or `en-GB`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Clean plain text: paragraphs separated by one blank line.
    pub text: String,
    /// Sanitised HTML of the same content (structural tags only).
    pub html: String,
    /// The same content as Markdown, when `[output] markdown` is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
    /// When the page was fetched.
    pub fetched_at: DateTime<Utc>,
    /// Other URLs the same story was found at later (syndicated copies, other
    /// links to the same page), oldest first; added by the sinks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_seen_at: Vec<Url>,
}

/// What the output record takes from outside the page: where it was
/// fetched from and when, and where it was listed.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    /// The final URL fetched, after redirects.
    pub url: Url,
    /// When the page was fetched.
    pub fetched_at: DateTime<Utc>,
    /// The source whose feed listed it (empty for a page no feed listed).
    pub source: String,
    /// The feed it was listed in (the page's own URL for a page no feed listed).
    pub feed_url: Url,
    /// What the feed said about the entry, used where the page says nothing.
    pub entry: EntryHints,
}

impl Provenance {
    /// The page of `job`, fetched from `url` (after redirects) at `fetched_at`.
    pub fn of_job(job: ArticleJob, url: Url, fetched_at: DateTime<Utc>) -> Self {
        Self {
            url,
            fetched_at,
            source: job.source,
            feed_url: job.feed_url,
            entry: job.entry,
        }
    }

    /// A page from `url` that no feed listed (`thresher clean --url`), fetched now.
    pub fn unlisted(url: Url) -> Self {
        Self {
            feed_url: url.clone(),
            url,
            fetched_at: Utc::now(),
            source: String::new(),
            entry: EntryHints::default(),
        }
    }
}

/// The output record of a cleaned page: what the page says, with what the
/// feed said where the page says nothing, identified by `canon` (the
/// configured `[dedup] tracking_params`) from the page's URL or its
/// same-site canonical link. `markdown` is left for the caller to add;
/// `also_seen_at` for the sinks.
pub fn assemble(canon: &UrlCanon, provenance: Provenance, cleaned: Cleaned) -> Article {
    let Provenance {
        url,
        fetched_at,
        source,
        feed_url,
        entry,
    } = provenance;
    let canonical_url = canon.identity_url(&url, cleaned.canonical_url.as_ref());
    let reading = reading(&cleaned.text);
    let authors = if cleaned.authors.is_empty() {
        entry.authors
    } else {
        cleaned.authors
    };
    Article {
        id: canon.article_id(&canonical_url),
        url,
        canonical_url,
        source,
        feed_url,
        title: cleaned.title.or(entry.title).unwrap_or_default(),
        subtitle: cleaned.subtitle,
        authors,
        published_at: publication_time(cleaned.published_at, entry.published_at),
        updated_at: cleaned.updated_at,
        image: cleaned.image.or(entry.image),
        images: cleaned.images,
        site_name: cleaned.site_name,
        description: cleaned.description.or(entry.summary),
        section: cleaned.section,
        tags: if cleaned.tags.is_empty() {
            entry.categories
        } else {
            cleaned.tags
        },
        word_count: reading.words,
        reading_time_minutes: reading.minutes,
        language: cleaned.language,
        text: cleaned.text,
        html: cleaned.html,
        markdown: None,
        fetched_at,
        also_seen_at: Vec::new(),
    }
}

/// The publication time of an article: the page's, else the feed entry's.
/// A page that gives only a day (midnight UTC: a date written for readers
/// or in the URL) takes the feed's time when the feed dates the same day.
pub fn publication_time(
    page: Option<DateTime<FixedOffset>>,
    feed: Option<DateTime<FixedOffset>>,
) -> Option<DateTime<FixedOffset>> {
    match (page, feed) {
        (Some(p), Some(f))
            if p.offset().local_minus_utc() == 0
                && p.time() == chrono::NaiveTime::MIN
                && (f.date_naive() == p.date_naive() || f.naive_utc().date() == p.date_naive()) =>
        {
            Some(f)
        }
        (Some(p), _) => Some(p),
        (None, f) => f,
    }
}

/// Words of `text` and how long it takes to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// Words (runs between spaces holding a letter or digit), each Chinese
    /// or Japanese character counted as one.
    pub words: usize,
    /// Minutes to read, rounded up; at least one for any text.
    pub minutes: u32,
}

/// Counts the words of `text` and the minutes to read them. Words are runs
/// between whitespace that hold a letter or digit (so a dash is none and
/// "don't" is one); Chinese and Japanese, written without spaces, count by
/// character. A hand count on purpose: Unicode word segmentation
/// (`unicode-segmentation`) cost 12 % of a whole clean, measured with
/// callgrind on 40 pages, for a figure whose use is an estimate.
pub fn reading(text: &str) -> Reading {
    let (words, cjk) = words_and_cjk(text);
    if words == 0 && cjk == 0 {
        return Reading {
            words: 0,
            minutes: 0,
        };
    }
    // Both scripts' times in one unit (1 / (238 × 500) minute), so the sum
    // is rounded once.
    let units = words
        .saturating_mul(CJK_CHARS_PER_MINUTE)
        .saturating_add(cjk.saturating_mul(WORDS_PER_MINUTE));
    let minutes = units.div_ceil(WORDS_PER_MINUTE * CJK_CHARS_PER_MINUTE);
    Reading {
        words: words.saturating_add(cjk),
        minutes: u32::try_from(minutes.max(1)).unwrap_or(u32::MAX),
    }
}

/// What each byte is to the word count: an ASCII letter or digit (1),
/// ASCII whitespace as `u8::is_ascii_whitespace` says (2), other ASCII (0),
/// or part of a longer character (3).
const BYTE_KIND: [u8; 256] = {
    let mut kinds = [3u8; 256];
    let mut b = 0u8;
    while b < 128 {
        kinds[b as usize] = if b.is_ascii_whitespace() {
            2
        } else if b.is_ascii_alphanumeric() {
            1
        } else {
            0
        };
        b += 1;
    }
    kinds
};

/// Words and CJK characters of `text` (see [`reading`]): ASCII byte by
/// byte through [`BYTE_KIND`] (most text is ASCII), other characters one
/// by one.
fn words_and_cjk(text: &str) -> (usize, usize) {
    let mut words = 0usize;
    let mut cjk = 0usize;
    // Whether the current run holds a letter or digit (not CJK).
    let mut in_word = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match BYTE_KIND[usize::from(b)] {
            0 => i += 1,
            1 => {
                in_word = true;
                i += 1;
            }
            2 => {
                words = words.saturating_add(usize::from(in_word));
                in_word = false;
                i += 1;
            }
            _ => {
                // `i` is on a character boundary: ASCII bytes and whole characters are stepped over.
                let Some(c) = text.get(i..).and_then(|rest| rest.chars().next()) else {
                    break;
                };
                i += c.len_utf8();
                if is_cjk(c) {
                    cjk = cjk.saturating_add(1);
                } else if c.is_whitespace() {
                    words = words.saturating_add(usize::from(in_word));
                    in_word = false;
                } else {
                    // Unicode's letter test is a table search: only when it can change the answer.
                    in_word = in_word || c.is_alphanumeric();
                }
            }
        }
    }
    words = words.saturating_add(usize::from(in_word));
    (words, cjk)
}

/// True for Han ideographs and kana, the scripts written without spaces
/// between words (Korean has them, so its words count as words).
fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x3040..=0x30FF // Hiragana, Katakana
        | 0x3400..=0x4DBF // CJK Extension A
        | 0x4E00..=0x9FFF // CJK Unified Ideographs
        | 0xF900..=0xFAFF // CJK Compatibility Ideographs
        | 0x20000..=0x2FA1F) // Extensions B–F, Compatibility Supplement
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn the_page_says_first_and_the_feed_entry_fills_what_it_does_not() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).ok();
        let entry = EntryHints {
            title: Some("Feed title".into()),
            published_at: at("2024-03-05T10:30:00Z"),
            authors: vec!["Feed Author".into()],
            categories: vec!["feed-tag".into()],
            image: Some(url("https://n.example/feed.jpg")),
            summary: Some("What the feed says.".into()),
        };
        let provenance = Provenance {
            entry,
            ..Provenance::unlisted(url("https://n.example/a"))
        };
        let canon = UrlCanon::default();
        let silent = Cleaned {
            text: "Two words.".into(),
            ..Cleaned::default()
        };
        let article = assemble(&canon, provenance.clone(), silent.clone());
        assert_eq!(article.title, "Feed title");
        assert_eq!(article.authors, ["Feed Author"]);
        assert_eq!(article.tags, ["feed-tag"]);
        assert_eq!(article.published_at, at("2024-03-05T10:30:00Z"));
        assert_eq!(article.image, Some(url("https://n.example/feed.jpg")));
        assert_eq!(article.description.as_deref(), Some("What the feed says."));
        assert_eq!((article.word_count, article.reading_time_minutes), (2, 1));

        let speaking = Cleaned {
            title: Some("Page title".into()),
            authors: vec!["Page Author".into()],
            tags: vec!["page-tag".into()],
            published_at: at("2024-03-04T08:00:00+01:00"),
            image: Some(url("https://n.example/page.jpg")),
            description: Some("What the page says.".into()),
            ..silent
        };
        let article = assemble(&canon, provenance, speaking);
        assert_eq!(article.title, "Page title");
        assert_eq!(article.authors, ["Page Author"]);
        assert_eq!(article.tags, ["page-tag"]);
        assert_eq!(article.published_at, at("2024-03-04T08:00:00+01:00"));
        assert_eq!(article.image, Some(url("https://n.example/page.jpg")));
        assert_eq!(article.description.as_deref(), Some("What the page says."));
    }

    #[test]
    fn the_id_comes_from_the_configured_canonicaliser_and_a_same_site_canonical() {
        let fetched = url("https://www.n.example/a?ref=rss&utm_source=x");
        let plain = UrlCanon::default();
        let configured = UrlCanon::new(&["ref".to_string()]);
        let id = |canon: &UrlCanon, cleaned: Cleaned| {
            assemble(canon, Provenance::unlisted(fetched.clone()), cleaned)
        };
        let article = id(&configured, Cleaned::default());
        assert_eq!(article.canonical_url, url("https://www.n.example/a"));
        assert_eq!(
            article.id,
            configured.article_id(&url("https://n.example/a"))
        );
        assert_eq!(article.url, fetched, "the URL fetched is kept as it was");
        assert_ne!(
            id(&plain, Cleaned::default()).id,
            article.id,
            "`ref` kept without the setting"
        );

        let declared = Cleaned {
            canonical_url: Some(url("https://n.example/story-a")),
            ..Cleaned::default()
        };
        assert_eq!(
            id(&configured, declared).canonical_url,
            url("https://n.example/story-a")
        );
        let elsewhere = Cleaned {
            canonical_url: Some(url("https://wire.example/story-a")),
            ..Cleaned::default()
        };
        assert_eq!(
            id(&configured, elsewhere).canonical_url,
            url("https://www.n.example/a"),
            "another site's canonical is not trusted"
        );
    }

    #[test]
    fn a_day_only_page_date_takes_the_feeds_time_of_the_same_day() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).ok();
        let day = at("2024-03-05T00:00:00Z");
        let feed = at("2024-03-05T10:30:00+01:00");
        assert_eq!(publication_time(day, feed), feed);
        // Another day in the feed: the page is trusted.
        assert_eq!(publication_time(day, at("2024-03-07T10:30:00Z")), day);
        // A page with a time of its own keeps it.
        let precise = at("2024-03-05T09:00:00+01:00");
        assert_eq!(publication_time(precise, feed), precise);
        assert_eq!(publication_time(None, feed), feed);
    }

    #[test]
    fn words_are_runs_with_a_letter_or_digit_and_cjk_counts_by_character() {
        let words = |t: &str| reading(t).words;
        assert_eq!(words("Don't stop — it's 3.5 km, said O'Neil."), 7);
        assert_eq!(words("東京で会議 Tokyo"), 6);
        assert_eq!(words("서울에서 회의가"), 2);
        assert_eq!(words(" — "), 0);
    }

    #[test]
    fn ascii_runs_and_other_characters_count_as_one_text() {
        let words = |t: &str| reading(t).words;
        assert_eq!(
            words("it\u{2019}s a\u{a0}b \u{e9}t\u{e9} \u{2014} x\u{3000}y"),
            6
        );
        assert_eq!(words(" a  b\t\nc\x0Bd\x0C"), 3);
        assert_eq!(words("日本\u{2019}s"), 3);
    }

    #[test]
    fn reading_time_rounds_up_and_is_zero_only_for_no_text() {
        let minutes = |t: &str| reading(t).minutes;
        assert_eq!(minutes(""), 0);
        assert_eq!(minutes("One word."), 1);
        assert_eq!(minutes(&"word ".repeat(238)), 1);
        assert_eq!(minutes(&"word ".repeat(239)), 2);
        assert_eq!(minutes(&"字".repeat(1000)), 2);
    }
}
