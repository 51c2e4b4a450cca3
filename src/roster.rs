//! The roster: the sources the daemon is following right now.
//!
//! Every stage looks a source's settings up here by name, and a reload swaps
//! the whole list at once, so no stage ever sees half of a new configuration.
//! The scheduler also notes here when each source is next polled, for the
//! status view.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use crate::clean::Rules;
use crate::config::SourceConfig;

/// One configured source with its compiled rules.
#[derive(Debug)]
struct Entry {
    config: Arc<SourceConfig>,
    rules: Option<Arc<Rules>>,
}

/// What a [`Roster::replace`] changed, by source name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Change {
    /// Sources that were not configured before.
    pub added: Vec<String>,
    /// Sources no longer configured.
    pub removed: Vec<String>,
    /// Sources whose settings differ.
    pub changed: Vec<String>,
}

impl Change {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

#[derive(Debug, Default)]
struct Lineup {
    /// In configuration order.
    order: Vec<String>,
    entries: HashMap<String, Entry>,
}

/// The live set of sources, swapped whole on reload.
#[derive(Debug, Default)]
pub struct Roster {
    lineup: RwLock<Arc<Lineup>>,
    next_polls: RwLock<HashMap<String, DateTime<Utc>>>,
}

impl Roster {
    /// A roster of `sources` (already validated, so their rules compile).
    pub fn new(sources: &[SourceConfig]) -> Self {
        let roster = Self::default();
        roster.replace(sources);
        roster
    }

    fn lineup(&self) -> Arc<Lineup> {
        // A panic while holding the lock cannot leave a half-swapped lineup.
        Arc::clone(&self.lineup.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Every source, in configuration order.
    pub fn sources(&self) -> Vec<Arc<SourceConfig>> {
        let lineup = self.lineup();
        lineup
            .order
            .iter()
            .filter_map(|name| lineup.entries.get(name))
            .map(|e| Arc::clone(&e.config))
            .collect()
    }

    /// The current settings of `name`, if it is configured.
    pub fn source(&self, name: &str) -> Option<Arc<SourceConfig>> {
        self.lineup()
            .entries
            .get(name)
            .map(|e| Arc::clone(&e.config))
    }

    /// The compiled `[sources.rules]` of `name`, if it has any.
    pub fn rules(&self, name: &str) -> Option<Arc<Rules>> {
        self.lineup().entries.get(name)?.rules.clone()
    }

    /// Number of sources.
    pub fn len(&self) -> usize {
        self.lineup().order.len()
    }

    /// Whether no source is configured.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes `sources` the roster and says what changed.
    pub fn replace(&self, sources: &[SourceConfig]) -> Change {
        let old = self.lineup();
        let mut change = Change::default();
        let mut lineup = Lineup::default();
        for source in sources {
            match old.entries.get(&source.name) {
                None => change.added.push(source.name.clone()),
                Some(entry) if *entry.config != *source => change.changed.push(source.name.clone()),
                Some(_) => {}
            }
            // Validated with the config, so compiling cannot fail here.
            let rules = source
                .rules
                .as_ref()
                .and_then(|r| r.compile().ok())
                .map(Arc::new);
            lineup.order.push(source.name.clone());
            lineup.entries.insert(
                source.name.clone(),
                Entry {
                    config: Arc::new(source.clone()),
                    rules,
                },
            );
        }
        change.removed = old
            .order
            .iter()
            .filter(|name| !lineup.entries.contains_key(*name))
            .cloned()
            .collect();
        *self.lineup.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(lineup);
        let mut next_polls = self.next_polls.write().unwrap_or_else(|e| e.into_inner());
        for name in &change.removed {
            next_polls.remove(name);
        }
        change
    }

    /// Notes when `name` is next polled (`None` while its poll runs).
    pub fn set_next_poll(&self, name: &str, at: Option<DateTime<Utc>>) {
        let mut next_polls = self.next_polls.write().unwrap_or_else(|e| e.into_inner());
        match at {
            Some(at) => next_polls.insert(name.to_string(), at),
            None => next_polls.remove(name),
        };
    }

    /// When `name` is next polled, if it is waiting for its turn.
    pub fn next_poll(&self, name: &str) -> Option<DateTime<Utc>> {
        self.next_polls
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn source(name: &str, interval: u64) -> SourceConfig {
        SourceConfig {
            name: name.into(),
            kind: crate::source::SourceKind::Feed,
            url: url::Url::parse("https://n.example/feed").expect("url"),
            interval: Duration::from_secs(interval),
            rules: None,
            fetch: None,
        }
    }

    #[test]
    fn replace_reports_added_removed_and_changed_sources_in_order() {
        let roster = Roster::new(&[source("a", 60), source("b", 60), source("c", 60)]);
        roster.set_next_poll("c", Some(Utc::now()));
        let change = roster.replace(&[source("d", 60), source("b", 30), source("a", 60)]);
        assert_eq!(change.added, ["d"]);
        assert_eq!(change.removed, ["c"]);
        assert_eq!(change.changed, ["b"]);
        let names: Vec<_> = roster.sources().iter().map(|s| s.name.clone()).collect();
        assert_eq!(names, ["d", "b", "a"]);
        assert_eq!(
            roster.source("b").map(|s| s.interval),
            Some(Duration::from_secs(30))
        );
        assert!(roster.source("c").is_none());
        assert!(
            roster.next_poll("c").is_none(),
            "a removed source has no next poll"
        );
        assert!(
            roster
                .replace(
                    &roster
                        .sources()
                        .iter()
                        .map(|s| (**s).clone())
                        .collect::<Vec<_>>()
                )
                .is_empty()
        );
    }
}
