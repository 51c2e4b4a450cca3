//! Sinks: where clean articles go.
//!
//! A sink is anything that can durably take an [`Article`]: `write` returns only
//! once the article is safe (on disk, or in a durable outbox a broker sink
//! drains), because the pipeline marks the article done in the state store
//! right after. Each sink, as Vector has them, is a settings struct
//! implementing [`SinkConfig`] (`validate`, `build`) beside the [`Sink`] it
//! builds, in its own module; [`SINKS`] lists them. A new output (Redis
//! Streams, AMQP, Kafka) is one new module here, its `[output.<name>]`
//! field in [`OutputConfig`] and its line in [`SINKS`]; a broker sink puts
//! articles in the state store's shared outbox under its own name, as
//! [`NatsSink`] does.

mod dir;
mod nats;
mod output;

pub use dir::{DirectoryConfig, DirectorySink};
pub use nats::{
    NATS_CREDS_ENV, NATS_PASSWORD_ENV, NATS_TOKEN_ENV, NATS_USER_ENV, NatsConfig, NatsSink,
    SOURCE_PLACEHOLDER,
};
pub use output::{OutputConfig, Registered, SINKS, build, outbox_label, queue_sinks};

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::article::Article;
use crate::state::{State, StateError};
use crate::telemetry::Stats;

/// A later sighting of a story already written: another page with the same
/// story (a syndicated copy) or another link to the same article.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sighting {
    /// Id of the article written earlier.
    pub original_id: String,
    /// Source the earlier article was written under.
    pub original_source: String,
    /// Where the story was seen now.
    pub url: url::Url,
    /// Source whose feed listed it now.
    pub source: String,
    /// Headline of the copy.
    pub title: String,
    /// Why it counts as the same story.
    pub kind: SightingKind,
    /// Estimated body similarity to the original (1 for the same page).
    pub body_similarity: f64,
}

/// How a [`Sighting`] was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SightingKind {
    /// A link that resolved to an article already written (redirect, canonical URL).
    SameArticle,
    /// Another page whose body is a near copy of the article's.
    NearDuplicate,
}

/// A sink failure; the article stays pending and is retried later.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Writing to the output folder failed.
    #[error("output {path}: {source}")]
    Io {
        /// The file or folder involved.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The sink's worker task died.
    #[error("sink task failed: {0}")]
    Task(String),
    /// The article could not be serialised.
    #[error("cannot serialise article: {0}")]
    Json(#[from] serde_json::Error),
    /// The outbox could not be read or written.
    #[error("outbox: {0}")]
    State(#[from] StateError),
    /// The outbox stayed full for the whole wait; the article is retried later.
    #[error(
        "the outbox is full ({} waiting for the broker) and no room came within {}",
        crate::plural::count(*.capacity, "article", "articles"),
        humantime::format_duration(*.waited)
    )]
    OutboxFull {
        /// The configured capacity.
        capacity: u64,
        /// How long the write waited for room.
        waited: Duration,
    },
    /// The sink cannot start (credentials missing or unreadable).
    #[error("{0}")]
    Setup(String),
    /// The destination cannot be reached now (reported by `/readyz`).
    #[error("{0}")]
    Unreachable(String),
}

/// A destination for clean articles.
pub trait Sink: Send + Sync {
    /// Short name for logs, e.g. `directory`.
    fn name(&self) -> &'static str;

    /// Stores one article durably; idempotent for the same article id.
    fn write<'a>(&'a self, article: &'a Article) -> BoxFuture<'a, Result<(), SinkError>>;

    /// Whether the sink can take articles now (for `/readyz`): a folder is
    /// writable, a broker connected. Should answer within a second or two.
    fn check(&self) -> BoxFuture<'_, Result<(), SinkError>>;

    /// Records that an article written earlier was seen again (a `duplicate`
    /// event for a queue, an `also_seen_at` entry for files); idempotent for
    /// the same sighting. Sinks without a use for it keep this no-op.
    fn duplicate<'a>(&'a self, _sighting: &'a Sighting) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async { Ok(()) })
    }

    /// Called once at shutdown: waits up to `limit` (`None`: the sink's own
    /// configured limit) for accepted articles still on their way (an
    /// outbox) to be delivered, then stops background work. Returns how many
    /// articles stay queued for the next start.
    fn close(&self, limit: Option<Duration>) -> BoxFuture<'_, u64> {
        let _ = limit;
        Box::pin(async { 0 })
    }
}

/// The bytes every sink writes for an article: its pretty-printed JSON.
pub fn article_json(article: &Article) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec_pretty(article)
}

/// A sink's settings, as `[output]` gives them: checked once when the
/// configuration loads, and turned into a running [`Sink`] at start.
pub trait SinkConfig: Send + Sync {
    /// Checks what serde cannot; an error names the key (`output.nats.stream`)
    /// and says what is wrong with it.
    fn validate(&self) -> Result<(), (String, String)>;

    /// Where the sink sends articles, one line for `check-config` and the
    /// start-up log (`output dir: data/articles`).
    fn describe(&self) -> String;

    /// Starts the sink (inside the Tokio runtime: a broker sink starts its
    /// publisher here). Fails only when it cannot start at all.
    fn build(&self, ctx: &SinkContext<'_>) -> Result<Box<dyn Sink>, SinkError>;
}

/// What a sink may use when it is built.
pub struct SinkContext<'a> {
    /// The state store; a queue sink keeps its outbox there, under its name.
    pub state: &'a State,
    /// Process-wide counters.
    pub stats: &'a Arc<Stats>,
}
