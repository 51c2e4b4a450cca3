//! What the stages' unit tests share: a pipeline over a real state store
//! and directory sink in a temp folder, a small HTTP site on 127.0.0.1 to
//! fetch from, and article pages long enough to clean and fingerprint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::{Context, Pipeline};
use crate::article::{ArticleJob, EntryHints};
use crate::config::Config;

/// A pipeline (not running) and the temp folder holding its store and output.
pub(super) struct Bench {
    /// Holds the state store and the output folder; removed on drop.
    pub(super) dir: tempfile::TempDir,
    /// The configuration file's text.
    text: String,
    /// What the stages share.
    pub(super) ctx: Arc<Context>,
}

/// The stages' context of a pipeline with this configuration.
fn open(text: &str) -> Arc<Context> {
    let config = Config::from_toml(text).expect("valid config");
    let pipeline = Pipeline::new(config, CancellationToken::new()).expect("pipeline");
    pipeline.ctx
}

impl Bench {
    /// A pipeline with its state in `<tmp>/state`, articles in `<tmp>/out`,
    /// fetching from 127.0.0.1 without politeness pauses; `extra` is more
    /// TOML (sections after `[fetch]`, `[[sources]]`).
    pub(super) fn new(extra: &str) -> Self {
        Self::with_output("", extra)
    }

    /// [`Bench::new`] with more `[output]` keys.
    pub(super) fn with_output(output: &str, extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!(
            "[state]\ndir = \"{0}/state\"\n[output]\ndir = \"{0}/out\"\n{output}\n\
             [fetch]\nallow_private_networks = true\nmin_host_interval = \"0s\"\n{extra}\n",
            dir.path().display()
        );
        let ctx = open(&text);
        Self { dir, text, ctx }
    }

    /// The same pipeline started again (the next run over the same store).
    pub(super) fn restart(self) -> Self {
        let Self { dir, text, ctx } = self;
        drop(ctx);
        let ctx = open(&text);
        Self { dir, text, ctx }
    }

    /// The file the directory sink writes for `id` of `source`.
    pub(super) fn written(&self, source: &str, id: &str) -> Option<serde_json::Value> {
        let path = self
            .dir
            .path()
            .join("out")
            .join(source)
            .join(format!("{id}.json"));
        let bytes = std::fs::read(path).ok()?;
        Some(serde_json::from_slice(&bytes).expect("an article file is JSON"))
    }

    /// How many article files `source` has in the output folder.
    pub(super) fn files_of(&self, source: &str) -> usize {
        std::fs::read_dir(self.dir.path().join("out").join(source))
            .map(|entries| entries.count())
            .unwrap_or(0)
    }

    /// A link of `source` accepted into the state store (pending), keyed as
    /// the poll stage keys it.
    pub(super) async fn accepted(&self, source: &str, url: &str) -> ArticleJob {
        let url = Url::parse(url).expect("url");
        let job = ArticleJob {
            key: self.ctx.canon.article_id(&url),
            legacy_key: None,
            undelivered: None,
            feed_url: url.join("/feed.xml").expect("feed url"),
            url,
            source: source.to_string(),
            entry: EntryHints::default(),
            accepted_run: 0,
            failed_attempts: 0,
            retry_at: None,
        };
        let mut accepted = self.ctx.state.accept(vec![job]).await.expect("accept");
        accepted.pop().expect("a new link is accepted")
    }
}

/// One canned answer of a [`Site`].
#[derive(Clone)]
pub(super) struct Answer {
    /// HTTP status code.
    pub(super) status: u16,
    /// Content-Type header.
    pub(super) content_type: &'static str,
    /// ETag header; a request sending it back in If-None-Match gets a 304.
    pub(super) etag: Option<&'static str>,
    /// The body.
    pub(super) body: String,
}

impl Answer {
    /// A 200 answer of this type.
    pub(super) fn ok(content_type: &'static str, body: impl Into<String>) -> Self {
        Self {
            status: 200,
            content_type,
            etag: None,
            body: body.into(),
        }
    }
}

/// An HTTP/1.1 server on 127.0.0.1 answering each path with its canned
/// [`Answer`] (404 for others) and remembering the requests it got.
pub(super) struct Site {
    /// `http://127.0.0.1:<port>`.
    pub(super) base: Url,
    routes: Arc<Mutex<HashMap<String, Answer>>>,
    /// Request lines and headers received, one string per request.
    pub(super) requests: Arc<Mutex<Vec<String>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Site {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Site {
    /// Starts the server with no routes.
    pub(super) async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let routes: Arc<Mutex<HashMap<String, Answer>>> = Arc::default();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let (served, log) = (Arc::clone(&routes), Arc::clone(&requests));
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (routes, log) = (Arc::clone(&served), Arc::clone(&log));
                tokio::spawn(answer(stream, routes, log));
            }
        });
        Self {
            base: Url::parse(&format!("http://127.0.0.1:{port}")).expect("base"),
            routes,
            requests,
            server,
        }
    }

    /// Serves `answer` at `path` from now on.
    pub(super) fn serve(&self, path: &str, answer: Answer) {
        self.routes
            .lock()
            .expect("routes")
            .insert(path.to_string(), answer);
    }

    /// The absolute URL of `path` (which may carry a query).
    pub(super) fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("url")
    }

    /// The requests received for `path`.
    pub(super) fn requests_for(&self, path: &str) -> Vec<String> {
        let line = format!("GET {path} ");
        let requests = self.requests.lock().expect("requests");
        requests
            .iter()
            .filter(|r| r.starts_with(&line))
            .cloned()
            .collect()
    }
}

/// Reads one request and writes its canned answer, then closes.
async fn answer(
    mut stream: tokio::net::TcpStream,
    routes: Arc<Mutex<HashMap<String, Answer>>>,
    log: Arc<Mutex<Vec<String>>>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
    log.lock().expect("log").push(head.clone());
    let found = routes.lock().expect("routes").get(&path).cloned();
    let answer = found.unwrap_or(Answer {
        status: 404,
        content_type: "text/plain",
        etag: None,
        body: "not found".into(),
    });
    let lower = head.to_ascii_lowercase();
    let not_modified = answer.etag.is_some_and(|etag| {
        lower.contains(&format!("if-none-match: {}", etag.to_ascii_lowercase()))
    });
    let (status, body) = if not_modified {
        (304, String::new())
    } else {
        (answer.status, answer.body)
    };
    let etag = answer
        .etag
        .map_or(String::new(), |e| format!("ETag: {e}\r\n"));
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {}\r\nContent-Length: {}\r\n{etag}Connection: close\r\n\r\n{body}",
        answer.content_type,
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// An article page: `title` as headline and a body of `paragraphs` about
/// `topic` (each long enough for the cleaner to keep, together long enough
/// to fingerprint).
pub(super) fn article_page(title: &str, topic: &str, canonical: Option<&str>) -> String {
    let canonical = canonical.map_or(String::new(), |c| {
        format!("<link rel=\"canonical\" href=\"{c}\">")
    });
    let body: String = (1..=6)
        .map(|n| {
            format!(
                "<p>Paragraph {n} about {topic}: the council met on Tuesday evening and \
                 debated the {topic} for three hours before a narrow vote, with residents \
                 of the harbour district watching from a packed public gallery.</p>\n"
            )
        })
        .collect();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title}</title>{canonical}</head><body>\
         <nav><a href=\"/\">Home</a> <a href=\"/news\">News</a></nav>\
         <article><h1>{title}</h1>\n{body}</article>\
         <footer>Copyright The Test Gazette</footer></body></html>"
    )
}
