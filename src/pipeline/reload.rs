//! Reloading the configuration into the running pipeline (on SIGHUP).
//!
//! Sources and fetch settings change in place: the HTTP clients are rebuilt
//! (politeness state is kept), the [`Roster`](crate::roster::Roster) is
//! swapped, and the scheduler is told to reconcile. Settings the running
//! pipeline is built around (folders, stage sizes, the telemetry address)
//! keep their values until a restart, and a reload that changes them says so.
//! A configuration that does not load is rejected as a whole.
//!
//! With `[reload] watch = true` the file is also read every
//! [`WATCH_INTERVAL`] and reloaded once a change has stayed put for one
//! interval (so a file caught half-written is not rejected). Reading the
//! content rather than watching inode events also sees a Kubernetes
//! ConfigMap update, which swaps a symlink above the file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::Context;
use crate::config::{Config, ConfigError, ConfigOrigin};
use crate::fetch::FetchError;
use crate::roster::Change;
use crate::telemetry::metrics::ReloadLabels;

/// Why a reload was rejected; the running configuration stays.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The file does not load or validate.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The new fetch settings do not make a working HTTP client.
    #[error("fetch settings: {0}")]
    Client(#[from] FetchError),
    /// Loading the configuration panicked.
    #[error("reload crashed: {0}")]
    Crashed(String),
}

/// Applies a new configuration to the running pipeline.
#[derive(Clone)]
pub struct Reloader {
    ctx: Arc<Context>,
    scheduler: mpsc::UnboundedSender<()>,
}

impl Reloader {
    pub(super) fn new(ctx: Arc<Context>, scheduler: mpsc::UnboundedSender<()>) -> Self {
        Self { ctx, scheduler }
    }

    /// Reads the configuration from `origin` and applies it, logging what
    /// changed, or why nothing did. Reading the file, compiling selectors
    /// and building TLS clients is blocking work: it runs off the runtime.
    pub async fn reload(&self, origin: &ConfigOrigin) -> Result<Change, ReloadError> {
        let (reloader, from) = (self.clone(), origin.clone());
        let result = tokio::task::spawn_blocking(move || {
            Config::load(&from)
                .map_err(ReloadError::from)
                .and_then(|config| reloader.apply(config))
        })
        .await
        .unwrap_or_else(|e| Err(ReloadError::Crashed(e.to_string())));
        let outcome = match &result {
            Ok(change) if change.is_empty() => {
                info!(config = %origin, "configuration reloaded: sources unchanged");
                "applied"
            }
            Ok(change) => {
                info!(
                    config = %origin,
                    added = ?change.added,
                    removed = ?change.removed,
                    changed = ?change.changed,
                    "configuration reloaded"
                );
                "applied"
            }
            Err(e) => {
                error!("configuration reload rejected; the running configuration stays: {e}");
                "rejected"
            }
        };
        self.ctx
            .metrics
            .config_reloads
            .get_or_create(&ReloadLabels { result: outcome })
            .inc();
        result
    }

    /// Reloads whenever the content of the config file changes and then
    /// stays the same for one [`WATCH_INTERVAL`], until `shutdown`.
    pub async fn watch(self, path: PathBuf, shutdown: CancellationToken) {
        let read = |path: &PathBuf| {
            let path = path.clone();
            async move { tokio::fs::read(path).await.ok() }
        };
        let mut applied = read(&path).await;
        let mut last_seen = applied.clone();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(WATCH_INTERVAL) => {}
            }
            // Missing for a moment while an editor or the kubelet replaces it.
            let Some(now) = read(&path).await else {
                continue;
            };
            let settled = last_seen.as_ref() == Some(&now);
            if settled && applied.as_ref() != Some(&now) {
                info!(config = %path.display(), "config file changed: reloading");
                // A rejected file is logged; it is not retried until it changes again.
                let _ = self.reload(&ConfigOrigin::File(path.clone())).await;
                applied = Some(now.clone());
            }
            last_seen = Some(now);
        }
    }

    /// Applies an already validated configuration.
    pub fn apply(&self, config: Config) -> Result<Change, ReloadError> {
        for key in restart_only_changes(&self.ctx.config, &config) {
            warn!(
                "configuration reload: `{key}` changed; the new value takes effect after a restart"
            );
        }
        // First what can fail, so a rejected reload changes nothing.
        self.ctx.fetcher.reconfigure(&config)?;
        let change = self.ctx.roster.replace(&config.sources);
        for name in &change.removed {
            self.ctx.metrics.forget_source(name);
        }
        self.ctx
            .metrics
            .sources
            .set(i64::try_from(self.ctx.roster.len()).unwrap_or(i64::MAX));
        // Fails only once the scheduler has stopped (shutdown): nothing to reschedule then.
        let _ = self.scheduler.send(());
        Ok(change)
    }
}

/// How often a watched config file is read.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// The keys that differ between `running` and `new` but only take effect
/// after a restart.
fn restart_only_changes(running: &Config, new: &Config) -> Vec<&'static str> {
    fn changed(keys: &[(&'static str, bool)]) -> impl Iterator<Item = &'static str> {
        keys.iter()
            .filter_map(|&(key, changed)| changed.then_some(key))
    }
    let (a, b) = (&running.pipeline, &new.pipeline);
    let mut keys: Vec<&'static str> = changed(&[
        ("state.dir", running.state.dir != new.state.dir),
        (
            "state.cache_mib",
            running.state.cache_mib != new.state.cache_mib,
        ),
    ])
    .collect();
    // Each sink names its own keys (the registry in `sink::output`).
    keys.extend(running.output.restart_changes(&new.output));
    keys.extend(changed(&[
        (
            "output.markdown",
            running.output.markdown != new.output.markdown,
        ),
        ("dedup", running.dedup != new.dedup),
        (
            "telemetry.listen",
            running.telemetry.listen != new.telemetry.listen,
        ),
        ("reload.watch", running.reload.watch != new.reload.watch),
        (
            "fetch.max_concurrency",
            running.fetch.max_concurrency != new.fetch.max_concurrency,
        ),
        (
            "pipeline.feed_concurrency",
            a.feed_concurrency != b.feed_concurrency,
        ),
        (
            "pipeline.fetch_concurrency",
            a.fetch_concurrency != b.fetch_concurrency,
        ),
        ("pipeline.clean_workers", a.clean_workers != b.clean_workers),
        (
            "pipeline.queue_capacity",
            a.queue_capacity != b.queue_capacity,
        ),
        (
            "pipeline.shutdown_grace",
            a.shutdown_grace != b.shutdown_grace,
        ),
        (
            "pipeline.max_article_attempts",
            a.max_article_attempts != b.max_article_attempts,
        ),
        ("pipeline.retry_backoff", a.retry_backoff != b.retry_backoff),
    ]));
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "current_thread")]
    async fn a_reload_reads_and_compiles_the_config_without_holding_the_runtime() {
        let dir = tempfile::tempdir().expect("tempdir");
        let folders = format!(
            "[state]\ndir = \"{0}/state\"\n[output]\ndir = \"{0}/out\"\n",
            dir.path().display()
        );
        let config = Config::from_toml(&folders).expect("valid");
        let pipeline =
            crate::pipeline::Pipeline::new(config, CancellationToken::new()).expect("pipeline");
        // Thousands of sources with selectors and their own fetch settings:
        // parsing, compiling and building clients takes a while, and on the
        // one runtime thread it would keep the ticker from running.
        let mut file = folders;
        for n in 0..3000 {
            file.push_str(&format!(
                "[[sources]]\nname = \"s{n}\"\nurl = \"http://127.0.0.1:9/{n}/feed\"\n\
                 [sources.rules]\ncontent = \"div.story-{n} > p, article#a{n}\"\n\
                 remove = [\".promo-{n}\", \"aside.x{n} ~ div\"]\n\
                 [sources.fetch]\ntimeout = \"{}s\"\n",
                n % 7 + 1
            ));
        }
        let path = dir.path().join("thresher.toml");
        std::fs::write(&path, file).expect("write config");
        let ticks = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&ticks);
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(1)).await;
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        let change = pipeline
            .reloader()
            .reload(&ConfigOrigin::File(path))
            .await
            .expect("reload applies");
        let during = ticks.load(Ordering::Relaxed);
        ticker.abort();
        assert_eq!(change.added.len(), 3000);
        assert!(during > 0, "the runtime was held for the whole reload");
    }

    #[test]
    fn restart_only_keys_are_named_and_source_changes_are_not() {
        let base = Config::from_toml(
            "[output]\ndir = \"a\"\n[[sources]]\nname = \"s\"\nurl = \"https://s.example/f\"\n",
        )
        .expect("valid");
        let mut new = base.clone();
        new.sources[0].interval = std::time::Duration::from_secs(60);
        new.fetch.timeout = std::time::Duration::from_secs(3);
        assert!(restart_only_changes(&base, &new).is_empty());
        new.output.dir = "b".into();
        new.pipeline.queue_capacity += 1;
        new.telemetry.listen = Some("127.0.0.1:9464".parse().expect("addr"));
        assert_eq!(
            restart_only_changes(&base, &new),
            ["output.dir", "telemetry.listen", "pipeline.queue_capacity"]
        );
        new.state.cache_mib += 1;
        new.output.nats = Some(crate::sink::NatsConfig::default());
        new.output.markdown = true;
        assert_eq!(
            restart_only_changes(&base, &new),
            [
                "state.cache_mib",
                "output.dir",
                "output.nats",
                "output.markdown",
                "telemetry.listen",
                "pipeline.queue_capacity"
            ]
        );
    }
}
