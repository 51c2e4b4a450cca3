//! The records that travel through the pipeline: an accepted link ([`ArticleJob`])
//! and the clean article every sink writes ([`Article`], the output contract).

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

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
