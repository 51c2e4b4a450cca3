//! Sinks: where clean articles go.
//!
//! A sink is anything that can durably take an [`Article`]: `write` returns only
//! once the article is safe (on disk, or acknowledged by a broker), because the
//! pipeline marks the article done in the state store right after. A new output
//! (a message queue, a database) is one new module here implementing [`Sink`]
//! and one line in [`build`].

mod dir;

pub use dir::DirectorySink;

use futures::future::BoxFuture;

use crate::article::Article;
use crate::config::Config;

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

/// A sink failure; the article stays pending and is retried after a restart.
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
}

/// Builds every sink the configuration enables.
pub fn build(config: &Config) -> Vec<Box<dyn Sink>> {
    vec![Box::new(DirectorySink::new(config.output.dir.clone()))]
}
