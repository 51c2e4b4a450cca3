//! De-duplication: one story, one article.
//!
//! Two layers. URLs first: every link is reduced to a canonical form
//! (tracking parameters, fragments and ordering noise removed) and the article
//! id is a hash of it, so the same link reached through several feeds, with
//! `utm_*` tags, with or without `www.` or a trailing slash maps to one id; the
//! pipeline asks the state store whether an id was already written before
//! handing an article to the sinks. Then stories: a MinHash [`Signature`] of
//! the cleaned body, looked up in the [`StoryIndex`] of stories remembered
//! within the retention window ([`StoryMemory`]), catches syndicated copies
//! on other sites.

pub mod fingerprint;
pub mod index;
pub mod memory;

pub use fingerprint::{SIGNATURE_LEN, Signature, Thresholds, body_words, title_similarity};
pub use index::{StoryIndex, band_hashes};
pub use memory::{Story, StoryMatch, StoryMemory, story_key};

use sha2::{Digest, Sha256};
use url::Url;

/// Query parameters that only track the reader and never select content.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_ga", "ocid",
    "cmpid", "ncid",
];

/// Canonicalises URLs with the built-in tracking parameters plus the
/// configured `[dedup] tracking_params`.
#[derive(Debug, Clone, Default)]
pub struct UrlCanon {
    /// Extra tracking parameter names, lower-cased.
    extra: Vec<String>,
}

impl UrlCanon {
    /// Strips `extra` query parameters (case-insensitive) besides the built-in ones.
    pub fn new(extra: &[String]) -> Self {
        Self {
            extra: extra.iter().map(|k| k.to_ascii_lowercase()).collect(),
        }
    }

    /// Whether a query key is tracking noise (`utm_*`, the known list, the configured list).
    fn is_tracking_param(&self, key: &str) -> bool {
        let key = key.to_ascii_lowercase();
        key.starts_with("utm_")
            || TRACKING_PARAMS.contains(&key.as_str())
            || self.extra.contains(&key)
    }

    /// Reduces a URL to the form shown as `canonical_url`: no fragment, no
    /// tracking parameters, remaining parameters sorted. Scheme and host are
    /// already lower-cased and default ports dropped by the `url` crate's parser.
    pub fn canonical_url(&self, url: &Url) -> Url {
        let mut canonical = url.clone();
        canonical.set_fragment(None);
        let mut pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(key, _)| !self.is_tracking_param(key))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if pairs.is_empty() {
            canonical.set_query(None);
        } else {
            pairs.sort();
            canonical.query_pairs_mut().clear().extend_pairs(pairs);
        }
        canonical
    }

    /// Stable article id: the first 128 bits of SHA-256 over the identity
    /// key of the canonical URL (see [`identity_key`]), in hex.
    pub fn article_id(&self, url: &Url) -> String {
        let key = identity_key(&self.canonical_url(url));
        let digest = Sha256::digest(key.as_bytes());
        hex::encode(&digest[..16])
    }

    /// The id earlier versions derived from `url` (hashing the canonical URL
    /// itself, `www.` and trailing slash included), when it differs from
    /// [`UrlCanon::article_id`]; lets an upgrade recognise links it finished.
    pub fn legacy_article_id(&self, url: &Url) -> Option<String> {
        let canonical = self.canonical_url(url);
        let legacy = hex::encode(&Sha256::digest(canonical.as_str().as_bytes())[..16]);
        (legacy != self.article_id(url)).then_some(legacy)
    }

    /// See [`identity_url`].
    pub fn identity_url(&self, fetched: &Url, declared_canonical: Option<&Url>) -> Url {
        match declared_canonical {
            Some(declared)
                if same_site(fetched, declared)
                    && matches!(declared.scheme(), "http" | "https")
                    && !is_section_of(declared, fetched) =>
            {
                self.canonical_url(declared)
            }
            _ => self.canonical_url(fetched),
        }
    }
}

/// What an id is hashed from: the canonical URL without a `www.` host prefix
/// and without a trailing slash on a path other than `/`. Kept out of the
/// shown `canonical_url`, which must stay a URL the site answers.
fn identity_key(canonical: &Url) -> String {
    let mut key = canonical.clone();
    if let Some(bare) = canonical.host_str().and_then(|h| h.strip_prefix("www."))
        && !bare.is_empty()
    {
        let _ = key.set_host(Some(bare));
    }
    let path = canonical.path();
    if path.len() > 1 && path.ends_with('/') {
        key.set_path(path.trim_end_matches('/'));
    }
    key.to_string()
}

/// [`UrlCanon::canonical_url`] with the built-in tracking parameters only.
pub fn canonical_url(url: &Url) -> Url {
    UrlCanon::default().canonical_url(url)
}

/// [`UrlCanon::article_id`] with the built-in tracking parameters only.
pub fn article_id(url: &Url) -> String {
    UrlCanon::default().article_id(url)
}

/// Whether two URLs belong to the same site (host equal, ignoring a `www.` prefix).
///
/// A page's `<link rel="canonical">` is trusted only on its own site: a
/// canonical pointing elsewhere is how syndicated copies credit the original,
/// and following it would file the copy under another site's id.
pub fn same_site(a: &Url, b: &Url) -> bool {
    fn bare(url: &Url) -> Option<&str> {
        url.host_str().map(|h| h.strip_prefix("www.").unwrap_or(h))
    }
    bare(a).is_some() && bare(a) == bare(b)
}

/// The URL an article is identified by: the page's own canonical URL when it is
/// on the same site as the fetched URL and names a page rather than a section,
/// else the fetched URL (built-in tracking parameters only; see [`UrlCanon`]).
pub fn identity_url(fetched: &Url, declared_canonical: Option<&Url>) -> Url {
    UrlCanon::default().identity_url(fetched, declared_canonical)
}

/// Whether `declared` is the home page or a folder above `fetched` (`/`,
/// `/news/` for `/news/story-1`): a CMS template bug or a paywall page, and
/// trusting it would file every article of the site under one id.
fn is_section_of(declared: &Url, fetched: &Url) -> bool {
    let (declared, fetched) = (declared.path(), fetched.path());
    declared.len() < fetched.len() && declared.ends_with('/') && fetched.starts_with(declared)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    #[test]
    fn tracking_parameters_and_fragments_do_not_change_the_id() {
        let plain = url("https://news.example/a/story?id=7");
        let tagged = url("HTTPS://News.Example:443/a/story?utm_source=x&id=7&fbclid=abc#comments");
        assert_eq!(article_id(&plain), article_id(&tagged));
        assert_eq!(
            canonical_url(&tagged).as_str(),
            "https://news.example/a/story?id=7"
        );
    }

    #[test]
    fn query_order_does_not_change_the_id_but_content_params_do() {
        assert_eq!(
            article_id(&url("https://n.example/s?b=2&a=1")),
            article_id(&url("https://n.example/s?a=1&b=2"))
        );
        assert_ne!(
            article_id(&url("https://n.example/s?id=1")),
            article_id(&url("https://n.example/s?id=2"))
        );
    }

    #[test]
    fn id_is_32_hex_chars() {
        let id = article_id(&url("https://n.example/"));
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn canonical_link_is_used_only_on_the_same_site() {
        let fetched = url("https://www.paper.example/2024/story?utm_medium=rss");
        let own = url("https://paper.example/2024/story");
        let foreign = url("https://other.example/original");
        assert_eq!(identity_url(&fetched, Some(&own)), own);
        assert_eq!(
            identity_url(&fetched, Some(&foreign)).as_str(),
            "https://www.paper.example/2024/story"
        );
        assert_eq!(
            identity_url(&fetched, None).as_str(),
            "https://www.paper.example/2024/story"
        );
    }

    #[test]
    fn a_canonical_pointing_at_the_home_page_or_a_section_is_ignored() {
        let fetched = url("https://paper.example/news/2024/story-1");
        for section in ["https://paper.example/", "https://paper.example/news/"] {
            assert_eq!(
                identity_url(&fetched, Some(&url(section))),
                fetched,
                "{section}"
            );
        }
        let moved = url("https://paper.example/news/2024/story-1-updated");
        assert_eq!(identity_url(&fetched, Some(&moved)), moved);
    }

    #[test]
    fn every_variant_of_one_link_has_one_id() {
        let plain = article_id(&url("https://paper.example/news/story?id=7"));
        for variant in [
            "https://www.paper.example/news/story?id=7",
            "https://paper.example/news/story/?id=7",
            "https://PAPER.example:443/news/story?id=7#top",
            "https://paper.example/news/story?utm_source=rss&utm_medium=feed&id=7",
            "https://paper.example/news/story?id=7&fbclid=x&gclid=y&mc_cid=z&mc_eid=w",
        ] {
            assert_eq!(article_id(&url(variant)), plain, "{variant}");
        }
        assert_eq!(
            article_id(&url("http://paper.example:80/a")),
            article_id(&url("http://paper.example/a"))
        );
        assert_ne!(
            article_id(&url("https://paper.example/news/other?id=7")),
            plain
        );
    }

    #[test]
    fn www_and_trailing_slash_are_ignored_for_the_id_but_kept_in_the_shown_url() {
        let fetched = url("https://www.paper.example/story/");
        assert_eq!(canonical_url(&fetched), fetched);
        assert_eq!(
            article_id(&fetched),
            article_id(&url("https://paper.example/story"))
        );
        assert_ne!(
            article_id(&url("https://paper.example/")),
            article_id(&url("https://paper.example/story")),
            "the root path keeps its slash"
        );
    }

    #[test]
    fn the_pre_upgrade_id_is_known_only_where_it_differs() {
        let canon = UrlCanon::default();
        let www = url("https://www.paper.example/story");
        let legacy = canon.legacy_article_id(&www).expect("differs");
        assert_eq!(
            legacy,
            hex::encode(&Sha256::digest(b"https://www.paper.example/story")[..16])
        );
        assert_eq!(
            canon.legacy_article_id(&url("https://paper.example/story")),
            None
        );
    }

    #[test]
    fn configured_tracking_parameters_are_stripped_too() {
        let canon = UrlCanon::new(&["Ref".to_string(), "src".to_string()]);
        let tagged = url("https://n.example/s?ref=home&id=1&SRC=tw");
        assert_eq!(
            canon.canonical_url(&tagged).as_str(),
            "https://n.example/s?id=1"
        );
        assert_eq!(
            canon.article_id(&tagged),
            canon.article_id(&url("https://n.example/s?id=1"))
        );
        assert_ne!(
            article_id(&tagged),
            article_id(&url("https://n.example/s?id=1")),
            "not stripped without the setting"
        );
    }
}
