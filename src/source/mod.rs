//! Sources by kind: how the page a source's URL serves becomes the links
//! the pipeline fetches.
//!
//! Every `[[sources]]` entry has a kind (`kind = "feed"` unless it says
//! otherwise). A kind is one file here with a `Reader`: it checks the
//! source settings only it reads, and turns one fetched body into a
//! [`Listing`] of links, or names one other URL to read instead (an HTML
//! page advertising its feed). Fetching, politeness, validators, the
//! per-poll limits and accepting the links stay in `pipeline::poll`, the
//! same for every kind. A new kind is a file, a [`SourceKind`] variant, its
//! arm in `SourceKind::reader` and its place in [`SourceKind::ALL`].

mod feed;

use std::fmt;

use serde::{Deserialize, Deserializer};
use url::Url;

use crate::article::EntryHints;
use crate::config::SourceConfig;

/// What a source's URL serves, and so how its body is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// RSS, Atom or JSON Feed, or an HTML page advertising one (`source::feed`).
    #[default]
    Feed,
}

impl SourceKind {
    /// Every kind, in the order messages list them.
    pub const ALL: [SourceKind; 1] = [SourceKind::Feed];

    /// The reader of this kind: the one place a kind is tied to its file.
    fn reader(self) -> &'static dyn Reader {
        match self {
            Self::Feed => &feed::Feed,
        }
    }

    /// The `kind = "…"` value that selects this kind.
    pub fn name(self) -> &'static str {
        self.reader().name()
    }

    /// The kind `kind = "…"` names.
    pub fn from_name(name: &str) -> Result<Self, UnknownKind> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| UnknownKind(name.to_string()))
    }

    /// Checks the settings of `source` that only this kind reads; an error
    /// names the field (relative to the source) and what is wrong.
    pub fn validate(self, source: &SourceConfig) -> Result<(), (String, String)> {
        self.reader().validate(source)
    }

    /// Reads the page the source's URL serves. CPU work on untrusted bytes:
    /// run it off the async runtime.
    pub fn read(self, page: &Page<'_>) -> Result<Read, ReadError> {
        self.reader().read(page, false)
    }

    /// Reads the page a [`Read::Follow`] named: its listing, never a
    /// further page to follow (one hop, so a page cannot lead the poll on).
    pub fn read_followed(self, page: &Page<'_>) -> Result<Listing, ReadError> {
        read_followed(self.reader(), page)
    }
}

fn read_followed(reader: &dyn Reader, page: &Page<'_>) -> Result<Listing, ReadError> {
    match reader.read(page, true)? {
        Read::Listing(listing) => Ok(listing),
        Read::Follow { url, what } => Err(ReadError::new(
            "followed_twice",
            format!(
                "{url}, the {what} followed from the source's URL, names yet another page to read; only one is followed"
            ),
        )),
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl<'de> Deserialize<'de> for SourceKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::from_name(&name).map_err(serde::de::Error::custom)
    }
}

/// A `kind = "…"` that names no kind Thresher has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown source kind {0:?}; known kinds: {known}", known = known_kinds())]
pub struct UnknownKind(pub String);

/// The known kinds' names, quoted, for messages: `"feed"`.
fn known_kinds() -> String {
    SourceKind::ALL
        .iter()
        .map(|kind| format!("{:?}", kind.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How one kind of source reads a fetched page. One implementation per
/// file in this module.
trait Reader: Sync {
    /// The `kind = "…"` value.
    fn name(&self) -> &'static str;

    /// Checks the source settings only this kind reads (the general ones,
    /// name, URL, interval, rules, fetch, are checked for every kind).
    fn validate(&self, _source: &SourceConfig) -> Result<(), (String, String)> {
        Ok(())
    }

    /// Reads one fetched page: the links it lists, or another URL to read
    /// instead. `followed` is true on the page a [`Read::Follow`] named,
    /// where following again is refused.
    fn read(&self, page: &Page<'_>, followed: bool) -> Result<Read, ReadError>;
}

/// One fetched body of a source.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    /// The body, decompressed, at most `fetch.max_body_bytes`.
    pub body: &'a [u8],
    /// The URL after redirects: relative links resolve against it.
    pub url: &'a Url,
    /// The `Content-Type` header, if any (its `charset` is a clue to the encoding).
    pub content_type: Option<&'a str>,
}

/// What a page gave.
#[derive(Debug)]
pub enum Read {
    /// The links the page lists.
    Listing(Listing),
    /// The page does not list links but names the URL that does.
    Follow {
        /// The URL to fetch and read instead.
        url: Url,
        /// What that URL is, for messages (`advertised feed`).
        what: &'static str,
    },
}

/// The links one page lists.
#[derive(Debug, Default)]
pub struct Listing {
    /// The links with a usable http(s) URL, in page order.
    pub links: Vec<Link>,
    /// Entries the page lists, with a usable link or not: more than zero
    /// while `links` is empty means every entry was lost.
    pub listed: usize,
    /// What had to be repaired before the page could be read, if anything.
    pub repairs: Vec<&'static str>,
}

/// One link a page lists, with what the page says about the article.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// Absolute http(s) URL of the article page.
    pub url: Url,
    /// Title, time, authors and categories the listing gives.
    pub hints: EntryHints,
}

/// A page that could not be read as its source's kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ReadError {
    /// The failure kind, for counters and `status` (`bad_feed`, `not_a_feed`…).
    pub kind: &'static str,
    /// What a user reads in the log.
    pub message: String,
}

impl ReadError {
    /// A failure of kind `kind`.
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_without_a_kind_is_a_feed_and_every_kind_is_found_by_its_name() {
        assert_eq!(SourceKind::default(), SourceKind::Feed);
        for kind in SourceKind::ALL {
            assert_eq!(SourceKind::from_name(kind.name()), Ok(kind));
        }
        assert_eq!(SourceKind::Feed.to_string(), "feed");
    }

    #[test]
    fn an_unknown_kind_is_named_with_the_known_ones() {
        let err = SourceKind::from_name("Feed").expect_err("names are exact");
        assert_eq!(
            err.to_string(),
            "unknown source kind \"Feed\"; known kinds: \"feed\""
        );
    }

    /// A kind whose every page names another to read.
    struct AlwaysFollows;

    impl Reader for AlwaysFollows {
        fn name(&self) -> &'static str {
            "always-follows"
        }

        fn read(&self, page: &Page<'_>, _followed: bool) -> Result<Read, ReadError> {
            let url = page
                .url
                .join("next")
                .map_err(|e| ReadError::new("bad", e.to_string()))?;
            Ok(Read::Follow {
                url,
                what: "next page",
            })
        }
    }

    #[test]
    fn a_followed_page_that_names_another_is_refused_not_followed() {
        let url = Url::parse("https://n.example/list/").expect("url");
        let page = Page {
            body: b"",
            url: &url,
            content_type: None,
        };
        let err = read_followed(&AlwaysFollows, &page).expect_err("one hop only");
        assert_eq!(err.kind, "followed_twice");
        assert!(
            err.message
                .contains("https://n.example/list/next, the next page"),
            "{err}"
        );
    }
}
