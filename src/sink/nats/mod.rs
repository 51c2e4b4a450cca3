//! The NATS JetStream sink: a durable outbox in the state store, drained by
//! a publisher task.
//!
//! `write` puts the article into the outbox (an fsynced redb commit) and
//! returns: the article is then as safe as a written file, whether or not the
//! broker is up. The publisher takes the oldest entries, publishes each with
//! `Nats-Msg-Id` = article id, waits for JetStream's acknowledgement and only
//! then removes it from the outbox. A crash between publish and removal
//! publishes the article again after the next start; JetStream drops that
//! second copy because it has seen the message id within the stream's
//! duplicate window. A full outbox makes `write` wait (backpressure).

mod config;
mod publisher;

pub(super) use config::REGISTERED;
pub use config::{
    NATS_CREDS_ENV, NATS_PASSWORD_ENV, NATS_TOKEN_ENV, NATS_USER_ENV, NatsConfig,
    SOURCE_PLACEHOLDER,
};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::ConnectOptions;
use futures::future::BoxFuture;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::{Sink, SinkError};
use crate::article::Article;
use crate::clock;
use crate::plural::{count, word};
use crate::state::{Outbox, OutboxPut};
use crate::telemetry::Stats;

/// The sink's name: in logs, `/readyz` (`output:nats`) and its key in the
/// state store's outbox (the key a store from before the sink key has its
/// entries moved to, [`crate::state::UNKEYED_OUTBOX_SINK`]).
pub const NAME: &str = "nats";

/// How often a write waiting for room in a full outbox looks again (the
/// publisher also wakes it at once when it removes articles).
const ROOM_POLL: Duration = Duration::from_millis(500);

/// Publishes articles to a JetStream stream through the state store's outbox.
pub struct NatsSink {
    shared: Arc<Shared>,
    publisher: Mutex<Option<JoinHandle<()>>>,
}

/// What the sink and its publisher task share.
struct Shared {
    config: NatsConfig,
    outbox: Arc<dyn Outbox>,
    stats: Arc<Stats>,
    /// Wakes the publisher when an article is queued.
    queued: Notify,
    /// Wakes writers waiting for room after the publisher removed articles.
    room: Notify,
    /// Tells the publisher to stop.
    stop: CancellationToken,
    /// Whether the client is connected to the broker (set by its events).
    connected: watch::Sender<bool>,
    /// Whether the outbox was found full since the last successful put.
    full: AtomicBool,
}

impl NatsSink {
    /// Starts the sink: the client connects in the background (retrying for
    /// as long as it takes) and the publisher starts draining whatever an
    /// earlier run left in the outbox. Fails only on unusable credentials.
    /// Must be called inside a Tokio runtime.
    pub fn start(
        config: NatsConfig,
        outbox: Arc<dyn Outbox>,
        stats: Arc<Stats>,
    ) -> Result<Self, SinkError> {
        let options = credentials(ConnectOptions::new())?;
        let (connected, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            config,
            outbox,
            stats,
            queued: Notify::new(),
            room: Notify::new(),
            stop: CancellationToken::new(),
            connected,
            full: AtomicBool::new(false),
        });
        info!(
            url = %shared.config.url_for_logs(),
            stream = %shared.config.stream,
            subject = %shared.config.subject,
            "NATS sink: publishing articles through the outbox"
        );
        let publisher = tokio::spawn(publisher::run(Arc::clone(&shared), options));
        Ok(Self {
            shared,
            publisher: Mutex::new(Some(publisher)),
        })
    }

    /// Whether the client is connected to the broker right now.
    pub fn is_connected(&self) -> bool {
        *self.shared.connected.borrow()
    }
}

impl Sink for NatsSink {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Ready while connected; articles accepted meanwhile wait in the outbox.
    fn check(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        let connected = self.is_connected();
        Box::pin(async move {
            if connected {
                Ok(())
            } else {
                Err(SinkError::Unreachable(format!(
                    "NATS broker {} not connected; articles wait in the outbox",
                    self.shared.config.url_for_logs()
                )))
            }
        })
    }

    fn write<'a>(&'a self, article: &'a Article) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let shared = &self.shared;
            let payload = super::article_json(article)?;
            let capacity = shared.config.outbox_capacity;
            let deadline = clock::instant_in(shared.config.drain_timeout);
            loop {
                // Registered before the put, so a removal in between is not missed.
                let room = shared.room.notified();
                let put = shared
                    .outbox
                    .put(
                        NAME,
                        article.id.clone(),
                        article.source.clone(),
                        payload.clone(),
                        capacity,
                    )
                    .await?;
                match put {
                    OutboxPut::Stored { depth } => {
                        shared.full.store(false, Ordering::Relaxed);
                        Stats::set(&shared.stats.outbox_depth, depth);
                        shared.queued.notify_one();
                        return Ok(());
                    }
                    OutboxPut::Full => {
                        Stats::set(&shared.stats.outbox_depth, capacity);
                        // Once per time the outbox fills up, not once per article.
                        if !shared.full.swap(true, Ordering::Relaxed) {
                            warn!(
                                "NATS outbox full ({} waiting for the broker); \
                                 the pipeline waits for room",
                                count(capacity, "article", "articles")
                            );
                        }
                        if Instant::now() >= deadline {
                            return Err(SinkError::OutboxFull {
                                capacity,
                                waited: shared.config.drain_timeout,
                            });
                        }
                        tokio::select! {
                            _ = room => {}
                            _ = tokio::time::sleep(ROOM_POLL) => {}
                            _ = tokio::time::sleep_until(deadline) => {}
                        }
                    }
                }
            }
        })
    }

    fn close(&self, limit: Option<Duration>) -> BoxFuture<'_, u64> {
        Box::pin(async move {
            let shared = &self.shared;
            let limit = limit.unwrap_or(shared.config.drain_timeout);
            let deadline = clock::instant_in(limit);
            let mut left = shared.outbox.depth(NAME).await.unwrap_or(0);
            if left > 0 {
                info!(
                    queued = left,
                    "waiting up to {} for the NATS outbox to drain",
                    humantime::format_duration(limit)
                );
            }
            while left > 0 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50).min(limit)).await;
                left = shared.outbox.depth(NAME).await.unwrap_or(left);
            }
            shared.stop.cancel();
            let handle = self.publisher.lock().ok().and_then(|mut h| h.take());
            if let Some(handle) = handle
                && let Err(e) = handle.await
                && e.is_panic()
            {
                error!("NATS publisher task crashed: {e}");
            }
            let left = shared.outbox.depth(NAME).await.unwrap_or(left);
            Stats::set(&shared.stats.outbox_depth, left);
            if left > 0 {
                warn!(
                    queued = left,
                    "{} in the NATS outbox (the broker did not acknowledge {} in time); \
                     {} published after the next start",
                    count(left, "article stays", "articles stay"),
                    word(left, "it", "them"),
                    word(left, "it is", "they are")
                );
            } else {
                info!("NATS outbox empty: every accepted article is in the stream");
            }
            left
        })
    }
}

/// Adds the credentials named by the `THRESHER_NATS_*` environment variables.
fn credentials(mut options: ConnectOptions) -> Result<ConnectOptions, SinkError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (var(NATS_USER_ENV), var(NATS_PASSWORD_ENV)) {
        (Some(user), Some(password)) => options = options.user_and_password(user, password),
        (None, None) => {}
        _ => {
            return Err(SinkError::Setup(format!(
                "NATS credentials: set both {NATS_USER_ENV} and {NATS_PASSWORD_ENV}, or neither"
            )));
        }
    }
    if let Some(token) = var(NATS_TOKEN_ENV) {
        options = options.token(token);
    }
    if let Some(path) = var(NATS_CREDS_ENV) {
        let creds = std::fs::read_to_string(&path).map_err(|e| {
            SinkError::Setup(format!(
                "NATS credentials file {path} (from {NATS_CREDS_ENV}): {e}"
            ))
        })?;
        options = options.credentials(&creds).map_err(|e| {
            SinkError::Setup(format!(
                "NATS credentials file {path} (from {NATS_CREDS_ENV}): {e}"
            ))
        })?;
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_nats_sink_drains_what_an_outbox_from_before_the_sink_key_holds() {
        assert_eq!(super::NAME, crate::state::UNKEYED_OUTBOX_SINK);
    }
}
