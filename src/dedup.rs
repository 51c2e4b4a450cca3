//! De-duplication: one story, one article.
//!
//! This first layer works on URLs: every link is reduced to a canonical form
//! (tracking parameters, fragments and ordering noise removed) and the article
//! id is a hash of it, so the same link reached through several feeds or with
//! `utm_*` tags maps to one id. The pipeline asks the state store whether an id
//! was already written before handing an article to the sinks.

use sha2::{Digest, Sha256};
use url::Url;

/// Query parameters that only track the reader and never select content.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_ga", "ocid",
    "cmpid", "ncid",
];

/// Returns `true` for query keys that are tracking noise (`utm_*` and the known list).
fn is_tracking_param(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("utm_") || TRACKING_PARAMS.contains(&key.as_str())
}

/// Reduces a URL to the form used for identity: no fragment, no tracking
/// parameters, remaining parameters sorted. Scheme and host are already
/// lower-cased and default ports dropped by the `url` crate's parser.
pub fn canonical_url(url: &Url) -> Url {
    let mut canonical = url.clone();
    canonical.set_fragment(None);
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| !is_tracking_param(key))
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

/// Stable article id: the first 128 bits of SHA-256 over the canonical URL, in hex.
pub fn article_id(url: &Url) -> String {
    let digest = Sha256::digest(canonical_url(url).as_str().as_bytes());
    hex::encode(&digest[..16])
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
/// else the fetched URL.
pub fn identity_url(fetched: &Url, declared_canonical: Option<&Url>) -> Url {
    match declared_canonical {
        Some(declared)
            if same_site(fetched, declared)
                && matches!(declared.scheme(), "http" | "https")
                && !is_section_of(declared, fetched) =>
        {
            canonical_url(declared)
        }
        _ => canonical_url(fetched),
    }
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
}
