//! `[[sources]]` and `[sources.rules]`: the sources to follow, and the
//! checks on each (path-safe unique names, http(s) URLs, its kind's own
//! keys, its CSS rules, its interval).

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::{FetchOverrides, css, duration};

/// `[[sources]]`: one source to follow.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Unique name, used in logs, metrics and the output folder.
    pub name: String,
    /// What `url` serves, and so how it is read (`feed` unless set).
    #[serde(default)]
    pub kind: crate::source::SourceKind,
    /// The URL polled: for a feed, RSS, Atom or JSON Feed, or an HTML page advertising one.
    pub url: Url,
    /// Time between two polls of this feed.
    #[serde(with = "duration", default = "default_interval")]
    pub interval: Duration,
    /// CSS rules for this source's pages, where the general cleaner fails.
    #[serde(default)]
    pub rules: Option<RulesConfig>,
    /// This source's own `[fetch]` values.
    #[serde(default)]
    pub fetch: Option<FetchOverrides>,
}

/// `[sources.rules]`: CSS selectors that override the cleaner for one source.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// The element(s) holding the article body.
    pub content: Option<String>,
    /// Elements to drop before extraction (ads, promos, comment blocks…).
    #[serde(default)]
    pub remove: Vec<String>,
    /// The headline element.
    pub title: Option<String>,
}

impl RulesConfig {
    /// Parses the selectors; an error names the field (`content`, `remove[1]`, `title`).
    pub fn compile(&self) -> Result<crate::clean::Rules, (String, String)> {
        fn parse(field: String, css: &str) -> Result<scraper::Selector, (String, String)> {
            css::parse(css).map_err(|message| (field, message))
        }
        Ok(crate::clean::Rules {
            content: self
                .content
                .as_deref()
                .map(|css| parse("content".into(), css))
                .transpose()?,
            remove: self
                .remove
                .iter()
                .enumerate()
                .map(|(i, css)| parse(format!("remove[{i}]"), css))
                .collect::<Result<_, _>>()?,
            title: self
                .title
                .as_deref()
                .map(|css| parse("title".into(), css))
                .transpose()?,
        })
    }
}

/// Longest allowed poll interval (keeps due-time arithmetic far from overflow).
const MAX_INTERVAL: Duration = Duration::from_secs(366 * 24 * 3600);

fn default_interval() -> Duration {
    Duration::from_secs(15 * 60)
}

/// Checks what serde cannot about the sources, in file order: path-safe
/// unique names, http(s) URLs, the keys only their kind reads, their CSS
/// rules and intervals. An error names the key (`sources[2].url`).
pub(super) fn validate(sources: &[SourceConfig]) -> Result<(), (String, String)> {
    let mut first_index: HashMap<&str, usize> = HashMap::new();
    for (i, source) in sources.iter().enumerate() {
        let key = |field: &str| format!("sources[{i}].{field}");
        if let Err(message) = check_source_name(&source.name) {
            return Err((key("name"), message));
        }
        if let Some(first) = first_index.insert(&source.name, i) {
            return Err((
                key("name"),
                format!(
                    "duplicate source name {:?} (already used by sources[{first}])",
                    source.name
                ),
            ));
        }
        if !matches!(source.url.scheme(), "http" | "https") {
            return Err((
                key("url"),
                format!(
                    "{} is not an http or https URL (source {:?})",
                    source.url, source.name
                ),
            ));
        }
        if let Err((field, message)) = source.kind.validate(source) {
            return Err((key(&field), format!("source {:?}: {message}", source.name)));
        }
        if let Some(Err((field, message))) = source.rules.as_ref().map(RulesConfig::compile) {
            return Err((
                key(&format!("rules.{field}")),
                format!("source {:?}: {message}", source.name),
            ));
        }
        if source.interval < Duration::from_secs(1) || source.interval > MAX_INTERVAL {
            return Err((
                key("interval"),
                format!(
                    "interval must be between 1s and 1year (source {:?})",
                    source.name
                ),
            ));
        }
    }
    Ok(())
}

/// Source names become folder names and log fields: keep them short and plain.
fn check_source_name(name: &str) -> Result<(), String> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() {
        Err("source name must not be empty".to_string())
    } else if name.len() > 64 {
        Err(format!("source name {name:?} is longer than 64 characters"))
    } else if name.starts_with('.') || !name.chars().all(plain) {
        Err(format!(
            "source name {name:?} may only contain ASCII letters, digits, '-', '_' and '.', \
             and must not start with '.'"
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse_for_test as parse;

    #[test]
    fn duplicate_source_names_are_rejected() {
        let err = parse(
            r#"
            [[sources]]
            name = "a"
            url = "https://a.example/feed"
            [[sources]]
            name = "a"
            url = "https://b.example/feed"
            "#,
        )
        .unwrap_err();
        assert!(err.contains("sources[1].name"), "{err}");
        assert!(err.contains("duplicate"), "{err}");
    }

    #[test]
    fn bad_url_and_bad_duration_are_rejected() {
        let err = parse("[[sources]]\nname = \"a\"\nurl = \"not a url\"\n").unwrap_err();
        assert!(err.contains("url"), "{err}");
        let err = parse("[[sources]]\nname = \"a\"\nurl = \"ftp://a.example/\"\n").unwrap_err();
        assert!(err.contains("sources[0].url"), "{err}");
        let err = parse(
            "[[sources]]\nname = \"a\"\nurl = \"https://a.example/\"\ninterval = \"ten minutes\"\n",
        )
        .unwrap_err();
        assert!(err.contains("interval"), "{err}");
    }

    #[test]
    fn a_source_is_a_feed_unless_its_kind_says_otherwise() {
        let config = parse(
            "[[sources]]\nname = \"a\"\nurl = \"https://a.example/\"\n\
             [[sources]]\nname = \"b\"\nkind = \"feed\"\nurl = \"https://b.example/\"\n",
        )
        .expect("valid");
        let kinds: Vec<_> = config.sources.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [crate::source::SourceKind::Feed; 2]);
    }

    #[test]
    fn an_unknown_source_kind_is_named_with_its_source_and_the_known_kinds() {
        let err = parse(
            "[[sources]]\nname = \"a\"\nurl = \"https://a.example/\"\n\
             [[sources]]\nname = \"maps\"\nkind = \"sitemap\"\nurl = \"https://m.example/\"\n",
        )
        .unwrap_err();
        assert!(err.contains("key `sources[1].kind`"), "{err}");
        assert!(err.contains("source \"maps\""), "{err}");
        assert!(
            err.contains("unknown source kind \"sitemap\"; known kinds: \"feed\""),
            "{err}"
        );
    }

    #[test]
    fn source_rules_are_parsed_and_bad_selectors_named() {
        let config = parse(
            r#"
            [[sources]]
            name = "a"
            url = "https://a.example/feed"
            [sources.rules]
            content = "div.story-body"
            remove = [".promo", "aside.related"]
            title = "h1.headline"
            "#,
        )
        .expect("valid");
        let rules = config.sources[0]
            .rules
            .as_ref()
            .expect("rules")
            .compile()
            .expect("compiles");
        assert!(rules.content.is_some() && rules.title.is_some());
        assert_eq!(rules.remove.len(), 2);
        let err = parse(
            "[[sources]]\nname = \"a\"\nurl = \"https://a.example/\"\n[sources.rules]\nremove = [\"p\", \"div[\"]\n",
        )
        .unwrap_err();
        assert!(err.contains("sources[0].rules.remove[1]"), "{err}");
        assert!(err.contains("div["), "{err}");
    }

    #[test]
    fn unsafe_source_names_are_rejected() {
        for name in ["", "../etc", "a/b", ".hidden", "with space"] {
            let text = format!("[[sources]]\nname = {name:?}\nurl = \"https://a.example/\"\n");
            let err = parse(&text).unwrap_err();
            assert!(err.contains("sources[0].name"), "{name}: {err}");
        }
    }
}
