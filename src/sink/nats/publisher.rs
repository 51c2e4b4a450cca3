//! The NATS sink's publisher task: connects (retrying for as long as it
//! takes), makes sure the stream exists, and drains the sink's entries in
//! the outbox, removing each only once JetStream has acknowledged it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use async_nats::{ConnectOptions, Event, HeaderMap};
use tracing::{debug, error, info, warn};

use super::{NAME, NatsConfig, Shared};
use crate::state::OutboxEntry;
use crate::telemetry::Stats;

/// Longest pause between two publish attempts while the broker fails.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// First pause after a failed publish attempt.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// Connection options: retry forever, log each change of connection state once.
fn connect_options(options: ConnectOptions, shared: &Arc<Shared>) -> ConnectOptions {
    let events = Arc::clone(shared);
    // The last connection error logged, so a broker that stays down is one line, not one per attempt.
    let last_error: Arc<Mutex<Option<String>>> = Arc::default();
    options
        .name("thresher")
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(5))
        .reconnect_delay_callback(|attempt| {
            // 0, 100 ms, 200 ms, 400 ms … capped at 2 s: back soon after an outage.
            let doublings = attempt.saturating_sub(2).min(5) as u32;
            if attempt <= 1 {
                Duration::ZERO
            } else {
                (Duration::from_millis(100) * 2u32.pow(doublings)).min(Duration::from_secs(2))
            }
        })
        .event_callback(move |event| {
            let shared = Arc::clone(&events);
            let last_error = Arc::clone(&last_error);
            async move {
                let url = shared.config.url_for_logs();
                match event {
                    Event::Connected => {
                        if let Ok(mut last) = last_error.lock() {
                            *last = None;
                        }
                        Stats::set(&shared.stats.broker_connected, 1);
                        if !shared.connected.send_replace(true) {
                            info!("NATS: connected to {url}");
                        }
                    }
                    Event::Disconnected | Event::Closed => {
                        Stats::set(&shared.stats.broker_connected, 0);
                        // After close() the client goes away on purpose.
                        if shared.connected.send_replace(false) && !shared.stop.is_cancelled() {
                            warn!(
                                "NATS: disconnected from {url}; reconnecting, articles wait in the outbox"
                            );
                        }
                    }
                    Event::ClientError(e) => {
                        let message = e.to_string();
                        let new = last_error
                            .lock()
                            .map(|mut last| last.replace(message.clone()) != Some(message.clone()))
                            .unwrap_or(true);
                        if new {
                            warn!(
                                "NATS: cannot connect to {url}: {message}; retrying, articles wait in the outbox"
                            );
                        } else {
                            debug!("NATS: connection attempt failed: {message}");
                        }
                    }
                    Event::ServerError(e) => warn!("NATS server {url}: {e}"),
                    Event::LameDuckMode => info!("NATS server {url} is shutting down (lame duck mode)"),
                    other => debug!("NATS: {other}"),
                }
            }
        })
}

/// Publishes the sink's outbox entries until told to stop.
pub(super) async fn run(shared: Arc<Shared>, options: ConnectOptions) {
    let config = &shared.config;
    // `url` may list several servers of a cluster, separated by commas.
    let servers: Vec<&str> = config.url.split(',').map(str::trim).collect();
    let client = match connect_options(options, &shared).connect(servers).await {
        Ok(client) => client,
        Err(e) => {
            // With retry_on_initial_connect only an unusable address fails here,
            // and the configuration check has parsed it already.
            error!(
                "NATS: cannot use {}: {e}; articles stay in the outbox",
                config.url_for_logs()
            );
            return;
        }
    };
    let mut context = jetstream::new(client);
    context.set_timeout(config.ack_timeout);
    let mut connected = shared.connected.subscribe();
    let mut stream_ready = false;
    let mut failure: Option<String> = None;
    let mut backoff = FIRST_BACKOFF;
    let mut said_waiting = false;
    loop {
        if shared.stop.is_cancelled() {
            return;
        }
        if !*connected.borrow_and_update() {
            if !said_waiting {
                // The reason (connection refused…) is logged by the client events.
                said_waiting = true;
                let queued = shared.outbox.depth(NAME).await.unwrap_or(0);
                Stats::set(&shared.stats.outbox_depth, queued);
                debug!(queued, "NATS: waiting for a connection before publishing");
            }
            tokio::select! {
                _ = shared.stop.cancelled() => return,
                _ = connected.changed() => {}
            }
            continue;
        }
        said_waiting = false;
        let attempt = async {
            if !stream_ready {
                ensure_stream(&context, config).await?;
                stream_ready = true;
            }
            publish_some(&shared, &context).await
        };
        let result = tokio::select! {
            _ = shared.stop.cancelled() => return,
            result = attempt => result,
        };
        match result {
            Ok(Published::Nothing) => {
                failure = None;
                backoff = FIRST_BACKOFF;
                tokio::select! {
                    _ = shared.stop.cancelled() => return,
                    _ = shared.queued.notified() => {}
                    // A safety net: look again now and then whatever happened.
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
            }
            Ok(Published::Batch { depth }) => {
                backoff = FIRST_BACKOFF;
                if let Some(failed) = failure.take() {
                    info!(
                        queued = depth,
                        "NATS: publishing again (last failure: {failed})"
                    );
                }
            }
            Err(PublishFailure { message, stream }) => {
                if stream {
                    stream_ready = false;
                }
                if failure.as_deref() != Some(message.as_str()) {
                    warn!("NATS: {message}; retrying (articles wait in the outbox)");
                } else {
                    debug!("NATS: {message}; retrying in {backoff:?}");
                }
                failure = Some(message);
                tokio::select! {
                    _ = shared.stop.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// What one publishing round did.
enum Published {
    /// The outbox was empty.
    Nothing,
    /// A batch was acknowledged (entries the broker can never take were
    /// quarantined); `depth` articles are left.
    Batch { depth: u64 },
}

/// Why a publishing round failed.
#[derive(Debug)]
struct PublishFailure {
    /// What to log.
    message: String,
    /// Whether the stream has to be checked again (missing, or never set up).
    stream: bool,
}

impl PublishFailure {
    fn new(message: String) -> Self {
        Self {
            message,
            stream: false,
        }
    }
}

/// Creates the stream, or checks that an existing one takes our subjects.
async fn ensure_stream(
    context: &jetstream::Context,
    config: &NatsConfig,
) -> Result<(), PublishFailure> {
    let filter = config.subject_filter();
    let wanted = stream::Config {
        name: config.stream.clone(),
        subjects: vec![filter.clone()],
        storage: stream::StorageType::File,
        duplicate_window: config.duplicate_window,
        description: Some("Clean articles published by Thresher".into()),
        ..Default::default()
    };
    let failure = |message: String| PublishFailure {
        message,
        stream: true,
    };
    let stream = context.get_or_create_stream(wanted).await.map_err(|e| {
        failure(format!(
            "cannot create or look up stream {:?}: {e}",
            config.stream
        ))
    })?;
    let info = stream.cached_info();
    let existing = &info.config;
    if !existing.subjects.iter().any(|s| subject_covers(s, &filter)) {
        return Err(failure(format!(
            "stream {:?} exists with subjects {:?}, which do not cover {filter:?}; add that \
             subject to the stream, or change output.nats.stream or output.nats.subject",
            config.stream, existing.subjects
        )));
    }
    if existing.storage != stream::StorageType::File {
        warn!(
            "NATS stream {:?} keeps messages in memory: articles in it are lost if the server restarts",
            config.stream
        );
    }
    if existing.duplicate_window < config.duplicate_window {
        warn!(
            "NATS stream {:?} drops duplicates only within {}, less than output.nats.duplicate_window ({}): \
             an article re-sent after a longer outage may be stored twice",
            config.stream,
            humantime::format_duration(existing.duplicate_window),
            humantime::format_duration(config.duplicate_window)
        );
    }
    info!(
        messages = info.state.messages,
        "NATS: stream {:?} ready for {filter}", config.stream
    );
    Ok(())
}

/// Publishes the oldest outbox entries (up to `max_in_flight` at once),
/// waits for their acknowledgements and removes the acknowledged ones.
async fn publish_some(
    shared: &Shared,
    context: &jetstream::Context,
) -> Result<Published, PublishFailure> {
    let config = &shared.config;
    let state_error = |e| PublishFailure::new(format!("outbox: {e}"));
    let batch = shared
        .outbox
        .batch(NAME, config.max_in_flight)
        .await
        .map_err(state_error)?;
    if batch.is_empty() {
        Stats::set(&shared.stats.outbox_depth, 0);
        return Ok(Published::Nothing);
    }
    let total = batch.len();
    let mut in_flight = Vec::with_capacity(total);
    let mut failure = None;
    for OutboxEntry {
        seq,
        article_id,
        source,
        payload,
    } in batch
    {
        let mut headers = HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, article_id.as_str());
        let subject = config.subject_for(&source);
        let sent = tokio::time::timeout(
            config.ack_timeout,
            context.publish_with_headers(subject, headers, payload.into()),
        )
        .await;
        match sent {
            Ok(Ok(ack)) => in_flight.push((seq, article_id, ack)),
            Ok(Err(e)) if e.kind() == jetstream::context::PublishErrorKind::MaxPayloadExceeded => {
                error!(
                    id = %article_id,
                    "NATS: article {article_id} is larger than the server's max_payload ({e}); \
                     moved from the outbox to the state store's quarantine table, not published"
                );
                Stats::inc(&shared.stats.failed);
                shared.outbox.reject(NAME, seq).await.map_err(state_error)?;
            }
            Ok(Err(e)) => {
                failure = Some(PublishFailure::new(format!("publish failed: {e}")));
                break;
            }
            Err(_) => {
                failure = Some(PublishFailure::new(
                    "publish timed out: the client could not send".into(),
                ));
                break;
            }
        }
    }
    let acks = futures::future::join_all(
        in_flight
            .into_iter()
            .map(|(seq, article_id, ack)| async move { (seq, article_id, ack.await) }),
    )
    .await;
    let mut acked = Vec::with_capacity(acks.len());
    for (seq, article_id, result) in acks {
        match result {
            Ok(ack) => {
                if ack.duplicate {
                    debug!(id = %article_id, "NATS: already in the stream (duplicate dropped by JetStream)");
                }
                acked.push(seq);
            }
            Err(e) => {
                let stream = e.kind() == jetstream::context::PublishErrorKind::StreamNotFound;
                failure.get_or_insert(PublishFailure {
                    message: format!("no acknowledgement: {e}"),
                    stream,
                });
            }
        }
    }
    let published = acked.len() as u64;
    let depth = if acked.is_empty() {
        None
    } else {
        let depth = shared
            .outbox
            .remove(NAME, acked)
            .await
            .map_err(state_error)?;
        Stats::add(&shared.stats.published, published);
        Stats::set(&shared.stats.outbox_depth, depth);
        shared.room.notify_waiters();
        Some(depth)
    };
    match failure {
        Some(failure) => {
            Stats::add(
                &shared.stats.publish_retries,
                (total as u64).saturating_sub(published),
            );
            Err(failure)
        }
        None => Ok(Published::Batch {
            depth: depth.unwrap_or(0),
        }),
    }
}

/// Whether every subject matching `filter` also matches the stream subject
/// `pattern` (NATS wildcards: `*` one token, `>` one or more trailing tokens).
fn subject_covers(pattern: &str, filter: &str) -> bool {
    let mut pattern = pattern.split('.');
    let mut filter = filter.split('.');
    loop {
        match (pattern.next(), filter.next()) {
            (None, None) => return true,
            // `>` matches the rest, and is only valid as the last token.
            (Some(">"), Some(_)) => return pattern.next().is_none(),
            (Some("*"), Some(token)) if token != ">" => {}
            (Some(p), Some(f)) if p == f && p != "*" && p != ">" => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_subjects_cover_the_article_subjects_by_nats_rules() {
        let filter = "thresher.articles.*";
        for pattern in [
            "thresher.articles.*",
            "thresher.>",
            ">",
            "*.articles.*",
            "thresher.*.*",
        ] {
            assert!(subject_covers(pattern, filter), "{pattern}");
        }
        for pattern in [
            "thresher.articles",
            "thresher.articles.bbc",
            "thresher.articles.*.x",
            "other.>",
            "thresher.articles.>.x",
        ] {
            assert!(!subject_covers(pattern, filter), "{pattern}");
        }
        assert!(subject_covers("news.plain", "news.plain"));
        assert!(!subject_covers("news.*", "news.>"));
        assert!(subject_covers("news.>", "news.>"));
    }

    #[test]
    fn a_dotted_source_name_stays_one_subject_token() {
        let config = NatsConfig::default();
        assert_eq!(
            config.subject_for("bbc.world"),
            "thresher.articles.bbc_world"
        );
        assert_eq!(config.subject_filter(), "thresher.articles.*");
        assert!(subject_covers(
            &config.subject_filter(),
            &config.subject_for("bbc.world")
        ));
    }
}
