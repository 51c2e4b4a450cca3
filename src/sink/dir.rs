//! The directory sink: one JSON file per article, `<dir>/<source>/<id>.json`.

use std::io::Write;
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use super::{Sink, SinkError};
use crate::article::Article;

/// Writes each article as `<dir>/<source>/<id>.json`, atomically.
pub struct DirectorySink {
    dir: PathBuf,
}

/// Folder under the output dir holding files being written (same filesystem,
/// so the final rename is atomic; one place to sweep after a crash).
const TEMP_DIR: &str = ".tmp";

impl DirectorySink {
    /// A sink writing under `dir`. Temp files left by a crashed run are removed.
    pub fn new(dir: PathBuf) -> Self {
        let sink = Self { dir };
        sink.sweep_temp_files();
        sink
    }

    /// Where an article's file goes.
    pub fn path_for(&self, article: &Article) -> PathBuf {
        self.dir
            .join(&article.source)
            .join(format!("{}.json", article.id))
    }

    fn sweep_temp_files(&self) {
        let Ok(entries) = std::fs::read_dir(self.dir.join(TEMP_DIR)) else {
            return;
        };
        for entry in entries.flatten() {
            if let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!("cannot remove temp file {}: {e}", entry.path().display());
            }
        }
    }
}

impl Sink for DirectorySink {
    fn name(&self) -> &'static str {
        "directory"
    }

    fn write<'a>(&'a self, article: &'a Article) -> BoxFuture<'a, Result<(), SinkError>> {
        let path = self.path_for(article);
        let temp =
            self.dir
                .join(TEMP_DIR)
                .join(format!("{}.{}.tmp", article.id, std::process::id()));
        let json = super::article_json(article);
        Box::pin(async move {
            let json = json.map_err(|e| SinkError::Io {
                path: path.clone(),
                source: std::io::Error::other(e),
            })?;
            tokio::task::spawn_blocking(move || write_atomically(&temp, &path, &json))
                .await
                .map_err(|e| SinkError::Task(e.to_string()))?
        })
    }
}

/// Writes `bytes` to `path` so that readers see the old file or the whole new
/// one, never a part: write `temp`, fsync, rename over `path`, fsync the folder
/// so the rename itself survives a power cut.
fn write_atomically(temp: &Path, path: &Path, bytes: &[u8]) -> Result<(), SinkError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SinkError::Io { path, source }
    };
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder).map_err(io(folder))?;
    if let Some(temp_folder) = temp.parent() {
        std::fs::create_dir_all(temp_folder).map_err(io(temp_folder))?;
    }
    let result = (|| {
        let mut file = std::fs::File::create(temp).map_err(io(temp))?;
        file.write_all(bytes).map_err(io(temp))?;
        file.sync_all().map_err(io(temp))?;
        std::fs::rename(temp, path).map_err(io(path))?;
        std::fs::File::open(folder)
            .and_then(|dir| dir.sync_all())
            .map_err(io(folder))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use url::Url;

    fn article(text: &str) -> Article {
        let url = Url::parse("https://n.example/a").expect("url");
        Article {
            id: "0123456789abcdef0123456789abcdef".into(),
            url: url.clone(),
            canonical_url: url.clone(),
            source: "news".into(),
            feed_url: url,
            title: "T".into(),
            subtitle: None,
            authors: vec![],
            published_at: None,
            language: None,
            text: text.into(),
            html: format!("<p>{text}</p>"),
            fetched_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn writes_source_folder_and_id_file_and_overwrites_in_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sink = DirectorySink::new(dir.path().join("out"));
        sink.write(&article("one")).await.expect("write");
        sink.write(&article("two")).await.expect("rewrite");
        let path = dir
            .path()
            .join("out/news/0123456789abcdef0123456789abcdef.json");
        let written: Article =
            serde_json::from_slice(&std::fs::read(&path).expect("file")).expect("json");
        assert_eq!(written.text, "two");
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("parent"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let temp = std::fs::read_dir(dir.path().join("out/.tmp")).expect("temp folder");
        assert_eq!(temp.count(), 0, "no temp files left");
    }

    #[test]
    fn temp_files_of_a_crashed_run_are_swept_at_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let temp = dir.path().join(".tmp");
        std::fs::create_dir_all(&temp).expect("mkdir");
        std::fs::write(temp.join("abc.123.tmp"), b"half an artic").expect("write");
        let _sink = DirectorySink::new(dir.path().to_path_buf());
        assert_eq!(std::fs::read_dir(&temp).expect("list").count(), 0);
    }

    #[tokio::test]
    async fn unwritable_output_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blocker = dir.path().join("blocker");
        std::fs::write(&blocker, b"a file where a folder should be").expect("write");
        let sink = DirectorySink::new(blocker.clone());
        let err = sink.write(&article("x")).await.unwrap_err();
        assert!(err.to_string().contains("blocker"), "{err}");
    }
}
