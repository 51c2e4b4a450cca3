//! The directory sink: one JSON file per article, `<dir>/<source>/<id>.json`.

use std::io::Write;
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use super::{Registered, Sighting, Sink, SinkConfig, SinkContext, SinkError};
use crate::article::Article;

/// The sink's name: in logs and `/readyz` (`output:directory`).
pub const NAME: &str = "directory";

/// The directory sink's settings: `[output] dir`, on while `[output]
/// directory` is true (the default).
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryConfig {
    /// Folder receiving `<source>/<id>.json` files.
    pub dir: PathBuf,
}

impl SinkConfig for DirectoryConfig {
    /// Any folder will do: one that cannot be written is a sink failure
    /// (`/readyz` says so, articles stay pending), not a configuration error.
    fn validate(&self) -> Result<(), (String, String)> {
        Ok(())
    }

    fn describe(&self) -> String {
        format!("output dir: {}", self.dir.display())
    }

    fn build(&self, _ctx: &SinkContext<'_>) -> Result<Box<dyn Sink>, SinkError> {
        Ok(Box::new(DirectorySink::new(self.dir.clone())))
    }
}

/// The directory sink's line in the registry ([`super::SINKS`]).
pub(super) const REGISTERED: Registered = Registered {
    name: NAME,
    key: "output.directory",
    off: "the directory sink is off",
    outbox: None,
    configured: |output| {
        let dir = output.dir.clone();
        output
            .directory
            .then(|| Box::new(DirectoryConfig { dir }) as Box<dyn SinkConfig>)
    },
    changed: |running, new| {
        let mut keys = Vec::new();
        if running.dir != new.dir {
            keys.push("output.dir");
        }
        if running.directory != new.directory {
            keys.push("output.directory");
        }
        keys
    },
};

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
        self.file(&article.source, &article.id)
    }

    fn file(&self, source: &str, id: &str) -> PathBuf {
        self.dir.join(source).join(format!("{id}.json"))
    }

    fn temp_for(&self, id: &str) -> PathBuf {
        self.dir
            .join(TEMP_DIR)
            .join(format!("{id}.{}.tmp", std::process::id()))
    }

    /// Removes temp files a dead process left. Another live Thresher
    /// writing into the same folder keeps its own: each file is named with
    /// its writer's process id (`<id>.<pid>.tmp`).
    fn sweep_temp_files(&self) {
        let Ok(entries) = std::fs::read_dir(self.dir.join(TEMP_DIR)) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if !is_stale_temp(&name.to_string_lossy(), &entry) {
                continue;
            }
            if let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!("cannot remove temp file {}: {e}", entry.path().display());
            }
        }
    }
}

impl Sink for DirectorySink {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Writes the article's file; sightings an earlier copy of the file
    /// recorded (`also_seen_at`) are kept, so writing the same article again
    /// (after a crash, say) never forgets where it was seen.
    fn write<'a>(&'a self, article: &'a Article) -> BoxFuture<'a, Result<(), SinkError>> {
        let path = self.path_for(article);
        let temp = self.temp_for(&article.id);
        let mut article = article.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                keep_sightings(&path, &mut article);
                let json = super::article_json(&article).map_err(|e| SinkError::Io {
                    path: path.clone(),
                    source: std::io::Error::other(e),
                })?;
                write_atomically(&temp, &path, &json)
            })
            .await
            .map_err(|e| SinkError::Task(e.to_string()))?
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        let probe = self
            .dir
            .join(TEMP_DIR)
            .join(format!("readyz.{}.probe", std::process::id()));
        Box::pin(async move {
            tokio::task::spawn_blocking(move || write_probe(&probe))
                .await
                .map_err(|e| SinkError::Task(e.to_string()))?
        })
    }

    /// Adds the sighting's URL to the original file's `also_seen_at`:
    /// read, add, write a temp file, rename over (readers see the old file or
    /// the new one). The deliver stage is sequential, so no two updates race.
    fn duplicate<'a>(&'a self, sighting: &'a Sighting) -> BoxFuture<'a, Result<(), SinkError>> {
        let path = self.file(&sighting.original_source, &sighting.original_id);
        let temp = self.temp_for(&sighting.original_id);
        let url = sighting.url.to_string();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || add_also_seen_at(&temp, &path, &url))
                .await
                .map_err(|e| SinkError::Task(e.to_string()))?
        })
    }
}

/// Adds to `article` the `also_seen_at` URLs of the file already at `path`
/// (none when there is no file or it cannot be read as an article).
fn keep_sightings(path: &Path, article: &mut Article) {
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    let Ok(earlier) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return;
    };
    let seen = earlier.get("also_seen_at").and_then(|v| v.as_array());
    for url in seen.into_iter().flatten().filter_map(|v| v.as_str()) {
        if let Ok(url) = url::Url::parse(url)
            && !article.also_seen_at.contains(&url)
        {
            article.also_seen_at.push(url);
        }
    }
}

/// Creates and removes `probe`: the output folder takes files.
fn write_probe(probe: &Path) -> Result<(), SinkError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SinkError::Io { path, source }
    };
    if let Some(folder) = probe.parent() {
        std::fs::create_dir_all(folder).map_err(io(folder))?;
    }
    std::fs::write(probe, b"").map_err(io(probe))?;
    std::fs::remove_file(probe).map_err(io(probe))
}

/// Adds `url` to the `also_seen_at` array of the article file at `path`,
/// unless the file already names it. A file that is gone (removed by a
/// user) or is no longer an article (edited, damaged) is left alone, with a
/// log line: there is nothing to add to, and an error would only postpone the
/// copy's link again and again, since retrying cannot mend the file.
fn add_also_seen_at(temp: &Path, path: &Path, url: &str) -> Result<(), SinkError> {
    let io = |source| SinkError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!("{}: gone; sighting at {url} not recorded", path.display());
            return Ok(());
        }
        Err(e) => return Err(io(e)),
    };
    let not_an_article = |why: &str| {
        tracing::warn!(
            "{}: {why}; sighting at {url} not recorded in also_seen_at",
            path.display()
        );
        Ok(())
    };
    // Edited as JSON, not as an `Article`, so fields this version does not
    // know survive the rewrite.
    let mut article: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(article) => article,
        Err(e) => return not_an_article(&format!("not valid JSON ({e})")),
    };
    let Some(fields) = article.as_object_mut() else {
        return not_an_article("not a JSON object");
    };
    let known = |key: &str| fields.get(key).and_then(|v| v.as_str()) == Some(url);
    if known("url") || known("canonical_url") {
        return Ok(());
    }
    let seen = fields
        .entry("also_seen_at")
        .or_insert_with(|| serde_json::Value::Array(Vec::new()));
    let Some(seen) = seen.as_array_mut() else {
        return not_an_article("also_seen_at is not an array");
    };
    if seen.iter().any(|v| v.as_str() == Some(url)) {
        return Ok(());
    }
    seen.push(serde_json::Value::String(url.to_string()));
    let json = serde_json::to_vec_pretty(&article).map_err(|e| io(std::io::Error::other(e)))?;
    write_atomically(temp, path, &json)
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

/// A temp file this process may remove: its writer's process is gone (or
/// is this process, so it was an earlier one with our id), its name carries
/// no process id, or it is a day old (a writer on another host of a shared
/// folder, whose process id means nothing here).
fn is_stale_temp(name: &str, entry: &std::fs::DirEntry) -> bool {
    let day_old = entry
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > std::time::Duration::from_secs(24 * 3600));
    let writer = name
        .strip_suffix(".tmp")
        .and_then(|stem| stem.rsplit_once('.'))
        .and_then(|(_, pid)| pid.parse::<i32>().ok())
        .filter(|pid| *pid > 0);
    match writer {
        None => true,
        Some(pid) if i32::try_from(std::process::id()) == Ok(pid) => true,
        Some(pid) => day_old || !process_alive(pid),
    }
}

/// Whether a process with this id exists (signal 0 checks without sending).
fn process_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks the target; no memory is involved.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
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
            updated_at: None,
            image: None,
            images: vec![],
            site_name: None,
            description: None,
            section: None,
            tags: vec![],
            word_count: 0,
            reading_time_minutes: 0,
            language: None,
            text: text.into(),
            html: format!("<p>{text}</p>"),
            markdown: None,
            fetched_at: Utc::now(),
            also_seen_at: vec![],
        }
    }

    fn sighting(url: &str) -> Sighting {
        Sighting {
            original_id: "0123456789abcdef0123456789abcdef".into(),
            original_source: "news".into(),
            url: Url::parse(url).expect("url"),
            source: "wire".into(),
            title: "T, reworded".into(),
            kind: crate::sink::SightingKind::NearDuplicate,
            body_similarity: 0.9,
        }
    }

    #[tokio::test]
    async fn sightings_are_added_once_each_to_the_original_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sink = DirectorySink::new(dir.path().join("out"));
        let original = article("one");
        sink.write(&original).await.expect("write");
        for url in [
            "https://copy.example/1",
            "https://copy.example/2",
            "https://copy.example/1",
            "https://n.example/a",
        ] {
            sink.duplicate(&sighting(url)).await.expect("sighting");
        }
        let path = sink.path_for(&original);
        let written: Article =
            serde_json::from_slice(&std::fs::read(&path).expect("file")).expect("json");
        let seen: Vec<&str> = written.also_seen_at.iter().map(Url::as_str).collect();
        assert_eq!(seen, ["https://copy.example/1", "https://copy.example/2"]);
        assert_eq!(written.text, "one", "the rest is kept");
        let temp = std::fs::read_dir(dir.path().join("out/.tmp")).expect("temp folder");
        assert_eq!(temp.count(), 0, "no temp files left");
        // A file without sightings does not carry the field at all.
        let plain = serde_json::to_value(article("x")).expect("json");
        assert!(plain.get("also_seen_at").is_none());
    }

    #[tokio::test]
    async fn a_sighting_of_a_file_that_is_not_an_article_is_skipped_not_an_error() {
        // An edited or damaged original cannot take the sighting, and never
        // will: an error would postpone the copy's link for ever.
        let dir = tempfile::tempdir().expect("tempdir");
        let sink = DirectorySink::new(dir.path().to_path_buf());
        let path = sink.path_for(&article("x"));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        for content in [&b"{ half a file"[..], b"[1, 2]", b"{\"also_seen_at\": 3}"] {
            std::fs::write(&path, content).expect("write");
            sink.duplicate(&sighting("https://copy.example/1"))
                .await
                .expect("skipped");
            assert_eq!(
                std::fs::read(&path).expect("file"),
                content,
                "left as it was"
            );
        }
    }

    #[tokio::test]
    async fn a_sighting_of_a_removed_file_is_not_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sink = DirectorySink::new(dir.path().to_path_buf());
        sink.duplicate(&sighting("https://copy.example/1"))
            .await
            .expect("nothing to update");
        assert!(!sink.path_for(&article("x")).exists());
    }

    #[tokio::test]
    async fn writing_an_article_again_keeps_where_it_was_seen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sink = DirectorySink::new(dir.path().join("out"));
        sink.write(&article("one")).await.expect("write");
        sink.duplicate(&sighting("https://copy.example/1"))
            .await
            .expect("sighting");
        // The same article processed again, e.g. after a crash before its outcome was stored.
        sink.write(&article("one, again")).await.expect("rewrite");
        let written: Article =
            serde_json::from_slice(&std::fs::read(sink.path_for(&article("x"))).expect("file"))
                .expect("json");
        assert_eq!(written.text, "one, again");
        assert_eq!(
            written.also_seen_at,
            vec![Url::parse("https://copy.example/1").expect("url")]
        );
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
        // A process that has ended (and been reaped) wrote this one.
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let dead = child.id();
        child.wait().expect("wait");
        std::fs::write(temp.join(format!("abc.{dead}.tmp")), b"half an artic").expect("write");
        let _sink = DirectorySink::new(dir.path().to_path_buf());
        assert_eq!(std::fs::read_dir(&temp).expect("list").count(), 0);
    }

    #[test]
    fn temp_files_of_another_live_writer_are_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let temp = dir.path().join(".tmp");
        std::fs::create_dir_all(&temp).expect("mkdir");
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn");
        let live = temp.join(format!("abc.{}.tmp", child.id()));
        std::fs::write(&live, b"being written").expect("write");
        let _sink = DirectorySink::new(dir.path().to_path_buf());
        let kept = live.exists();
        let _ = child.kill();
        let _ = child.wait();
        assert!(kept, "another live process's temp file is kept");
    }

    #[tokio::test]
    async fn unwritable_output_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blocker = dir.path().join("blocker");
        std::fs::write(&blocker, b"a file where a folder should be").expect("write");
        let sink = DirectorySink::new(blocker.clone());
        let err = sink.write(&article("x")).await.unwrap_err();
        assert!(err.to_string().contains("blocker"), "{err}");
        let err = sink.check().await.unwrap_err();
        assert!(err.to_string().contains("blocker"), "{err}");
    }

    #[tokio::test]
    async fn check_passes_on_a_writable_folder_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sink = DirectorySink::new(dir.path().join("out"));
        sink.check().await.expect("writable");
        let temp = std::fs::read_dir(dir.path().join("out/.tmp")).expect("temp folder");
        assert_eq!(temp.count(), 0, "probe removed");
    }
}
