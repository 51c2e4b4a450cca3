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
}

/// Builds every sink the configuration enables.
pub fn build(config: &Config) -> Vec<Box<dyn Sink>> {
    vec![Box::new(DirectorySink::new(config.output.dir.clone()))]
}
