//! `[dedup]`: how one story is recognised across URLs, feeds and sites.

use std::time::Duration;

use serde::Deserialize;

use super::{duration, range_error};

/// `[dedup]`: how one story is recognised across URLs, feeds and sites.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// Recognise syndicated copies and other near-duplicate stories by their
    /// body (URL-level de-duplication is always on).
    pub near_duplicates: bool,
    /// How long a story is remembered for near-duplicate matching.
    #[serde(with = "duration")]
    pub retention: Duration,
    /// Estimated share of word 3-shingles two bodies must have in common to be
    /// one story, whatever their headlines (0 to 1).
    pub body_similarity: f64,
    /// Lower share of shingles that is enough when the headlines are alike
    /// too (`title_similarity`).
    pub body_similarity_with_title: f64,
    /// Share of the shorter headline's words the other headline must have for
    /// `body_similarity_with_title` to apply (0 to 1).
    pub title_similarity: f64,
    /// Bodies with fewer words are not fingerprinted: too little text to tell
    /// a copy from a brief.
    pub min_words: usize,
    /// Query parameters stripped from URLs besides `utm_*`, `fbclid`,
    /// `gclid`, `mc_cid`, `mc_eid` and the other built-in ones.
    pub tracking_params: Vec<String>,
}

impl Default for DedupConfig {
    fn default() -> Self {
        Self {
            near_duplicates: true,
            retention: Duration::from_secs(7 * 24 * 3600),
            body_similarity: 0.6,
            body_similarity_with_title: 0.6,
            title_similarity: 0.8,
            min_words: 60,
            tracking_params: Vec::new(),
        }
    }
}

impl DedupConfig {
    /// The similarity thresholds as the matcher takes them.
    pub fn thresholds(&self) -> crate::dedup::Thresholds {
        crate::dedup::Thresholds {
            body: self.body_similarity,
            body_with_title: self.body_similarity_with_title,
            title: self.title_similarity,
        }
    }

    /// Checks ranges; an error names the key.
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        let key = |name: &str| format!("dedup.{name}");
        let day = Duration::from_secs(24 * 3600);
        if let Some(message) = range_error(self.retention, Duration::from_secs(60), 366 * day) {
            return Err((key("retention"), message));
        }
        for (name, value) in [
            ("body_similarity", self.body_similarity),
            (
                "body_similarity_with_title",
                self.body_similarity_with_title,
            ),
            ("title_similarity", self.title_similarity),
        ] {
            if !(0.05..=1.0).contains(&value) {
                return Err((key(name), format!("{value} is out of range (0.05 to 1)")));
            }
        }
        if self.body_similarity_with_title > self.body_similarity {
            return Err((
                key("body_similarity_with_title"),
                format!(
                    "{} is above body_similarity ({}): the headline can only lower the bar",
                    self.body_similarity_with_title, self.body_similarity
                ),
            ));
        }
        if !(10..=100_000).contains(&self.min_words) {
            return Err((
                key("min_words"),
                format!("{} is out of range (10 to 100000)", self.min_words),
            ));
        }
        for (i, param) in self.tracking_params.iter().enumerate() {
            if param.is_empty() || param.contains(['&', '=', '#', ' ']) {
                return Err((
                    key(&format!("tracking_params[{i}]")),
                    format!("{param:?} is not a query parameter name"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::DedupConfig;
    use crate::config::parse_for_test as parse;

    #[test]
    fn dedup_keys_parse_and_bad_values_are_named() {
        let config = parse(
            "[dedup]\nretention = \"2d\"\nbody_similarity = 0.7\ntracking_params = [\"ref\"]\nnear_duplicates = false\n",
        )
        .expect("valid");
        assert_eq!(config.dedup.retention, Duration::from_secs(2 * 24 * 3600));
        assert_eq!(config.dedup.body_similarity, 0.7);
        assert_eq!(config.dedup.tracking_params, ["ref"]);
        assert!(!config.dedup.near_duplicates);
        assert_eq!(parse("").expect("valid").dedup, DedupConfig::default());
        for (text, key) in [
            ("retention = \"0s\"", "dedup.retention"),
            ("body_similarity = 1.5", "dedup.body_similarity"),
            ("title_similarity = 0", "dedup.title_similarity"),
            (
                "body_similarity_with_title = 0.9",
                "dedup.body_similarity_with_title",
            ),
            ("min_words = 1", "dedup.min_words"),
            ("tracking_params = [\"a=b\"]", "dedup.tracking_params[0]"),
            ("threshold = 0.5", "threshold"),
        ] {
            let err = parse(&format!("[dedup]\n{text}\n")).unwrap_err();
            assert!(err.contains(key), "{text}: {err}");
        }
    }
}
