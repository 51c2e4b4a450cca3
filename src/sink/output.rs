//! `[output]` and the registry of sinks: every part of the daemon that
//! needs to know which sinks there are (start-up, configuration checks,
//! reload, `check-config`, status) asks [`SINKS`], so a new sink is its own
//! file, its field here and one line in [`SINKS`].

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

use super::{Sink, SinkConfig, SinkContext, SinkError, dir, nats};
use crate::state::State;
use crate::telemetry::Stats;

/// `[output]`: where articles go: the directory sink, and NATS when `[output.nats]` is present.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Folder receiving `<source>/<id>.json` files.
    #[serde(default = "default_output_dir")]
    pub dir: PathBuf,
    /// Whether the directory sink is on (`false` with `[output.nats]` = NATS only).
    #[serde(default = "default_true")]
    pub directory: bool,
    /// The NATS JetStream sink, on when the section is present.
    #[serde(default)]
    pub nats: Option<nats::NatsConfig>,
    /// Also write each article as Markdown (the `markdown` field).
    #[serde(default)]
    pub markdown: bool,
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self {
            dir: default_output_dir(),
            directory: true,
            nats: None,
            markdown: false,
        }
    }
}

fn default_output_dir() -> PathBuf {
    PathBuf::from("data/articles")
}

fn default_true() -> bool {
    true
}

/// Every sink the daemon knows, in the order an article reaches them. A
/// new sink is one line here (its `REGISTERED`, beside its code).
pub const SINKS: &[Registered] = &[dir::REGISTERED, nats::REGISTERED];

/// One kind of sink, as the registry knows it.
pub struct Registered {
    /// The sink's name: in logs, `/readyz` (`output:<name>`) and its key in
    /// the state store's outbox.
    pub name: &'static str,
    /// The configuration key that turns it on (`output.nats`).
    pub key: &'static str,
    /// How a configuration without it reads, for the "no output left" error
    /// ("there is no [output.nats]").
    pub off: &'static str,
    /// For a sink whose articles wait in the state store's outbox: what
    /// status lines call its part of it (`NATS` → "NATS outbox: 3").
    pub outbox: Option<&'static str>,
    /// Its settings, when `[output]` turns it on.
    pub configured: fn(&OutputConfig) -> Option<Box<dyn SinkConfig>>,
    /// The `[output]` keys of this sink that differ between a running and
    /// a reloaded configuration (they take effect after a restart).
    pub changed: fn(&OutputConfig, &OutputConfig) -> Vec<&'static str>,
}

impl OutputConfig {
    /// The sinks this configuration turns on, in [`SINKS`] order.
    pub fn sinks(&self) -> Vec<(&'static Registered, Box<dyn SinkConfig>)> {
        SINKS
            .iter()
            .filter_map(|sink| (sink.configured)(self).map(|config| (sink, config)))
            .collect()
    }

    /// Whether the sink named `name` is on.
    pub fn is_on(&self, name: &str) -> bool {
        SINKS
            .iter()
            .any(|sink| sink.name == name && (sink.configured)(self).is_some())
    }

    /// Checks each sink that is on, and that one is; an error names the key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let on = self.sinks();
        for (_, config) in &on {
            config.validate()?;
        }
        if on.is_empty() {
            let key = SINKS.first().map_or("output", |sink| sink.key);
            let off: Vec<&str> = SINKS.iter().map(|sink| sink.off).collect();
            return Err((key.into(), format!("no output left: {}", off.join(" and "))));
        }
        Ok(())
    }

    /// The sink keys that differ between `self` (running) and `new`.
    pub fn restart_changes(&self, new: &OutputConfig) -> Vec<&'static str> {
        SINKS
            .iter()
            .flat_map(|sink| (sink.changed)(self, new))
            .collect()
    }

    /// One line per sink that is on, for logs and `check-config`.
    pub fn describe(&self) -> Vec<String> {
        self.sinks()
            .iter()
            .map(|(_, config)| config.describe())
            .collect()
    }
}

/// The sinks whose articles wait in the state store's outbox, with what
/// status lines call their part of it.
pub fn queue_sinks() -> impl Iterator<Item = (&'static str, &'static str)> {
    SINKS
        .iter()
        .filter_map(|sink| sink.outbox.map(|label| (sink.name, label)))
}

/// What status lines call the outbox part of the sink named `name` (the
/// name itself for a sink this build does not know).
pub fn outbox_label(name: &str) -> &str {
    SINKS
        .iter()
        .find(|sink| sink.name == name)
        .and_then(|sink| sink.outbox)
        .unwrap_or(name)
}

/// Builds every sink the configuration turns on (broker sinks start their
/// background publishers, so this runs inside the Tokio runtime).
pub fn build(
    output: &OutputConfig,
    state: &State,
    stats: &Arc<Stats>,
) -> Result<Vec<Box<dyn Sink>>, SinkError> {
    let ctx = SinkContext { state, stats };
    output
        .sinks()
        .iter()
        .map(|(_, config)| config.build(&ctx))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn every_registered_sink_has_its_own_name_and_key() {
        let mut names: Vec<_> = SINKS.iter().map(|s| s.name).collect();
        let mut keys: Vec<_> = SINKS.iter().map(|s| s.key).collect();
        names.sort_unstable();
        names.dedup();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(names.len(), SINKS.len(), "names are outbox keys: unique");
        assert_eq!(keys.len(), SINKS.len());
        assert!(SINKS.iter().all(|s| s.key.starts_with("output.")));
    }

    #[test]
    fn a_configuration_with_every_sink_off_is_rejected_naming_each() {
        let err = Config::from_toml("[output]\ndirectory = false\n")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains("output.directory"), "{err}");
        assert!(
            err.contains("no output left: the directory sink is off and there is no [output.nats]"),
            "{err}"
        );
        let only_nats = Config::from_toml("[output]\ndirectory = false\n[output.nats]\n")
            .expect("NATS alone is an output");
        let on: Vec<_> = only_nats
            .output
            .sinks()
            .iter()
            .map(|(s, _)| s.name)
            .collect();
        assert_eq!(on, ["nats"]);
        assert!(only_nats.output.is_on("nats") && !only_nats.output.is_on("directory"));
    }

    #[test]
    fn the_sinks_that_are_on_describe_themselves_in_registry_order() {
        let config = Config::from_toml(
            "[output]\ndir = \"out\"\n[output.nats]\nurl = \"nats://me:pw@127.0.0.1:4222\"\n",
        )
        .expect("valid");
        assert_eq!(
            config.output.describe(),
            [
                "output dir: out",
                "output nats: nats://***@127.0.0.1:4222 stream THRESHER subject thresher.articles.{source}"
            ]
        );
        assert_eq!(
            Config::from_toml("").expect("valid").output.describe(),
            ["output dir: data/articles"]
        );
    }

    #[test]
    fn a_reload_names_each_changed_sink_key() {
        let running = OutputConfig::default();
        let mut new = running.clone();
        assert!(running.restart_changes(&new).is_empty());
        new.markdown = true;
        assert!(
            running.restart_changes(&new).is_empty(),
            "markdown is not a sink's key"
        );
        new.dir = "elsewhere".into();
        new.nats = Some(nats::NatsConfig::default());
        assert_eq!(running.restart_changes(&new), ["output.dir", "output.nats"]);
        new.directory = false;
        assert_eq!(
            running.restart_changes(&new),
            ["output.dir", "output.directory", "output.nats"]
        );
    }

    #[test]
    fn queue_sinks_name_their_part_of_the_outbox() {
        assert_eq!(queue_sinks().collect::<Vec<_>>(), [("nats", "NATS")]);
        assert_eq!(outbox_label("nats"), "NATS");
        assert_eq!(outbox_label("kafka"), "kafka");
    }
}
