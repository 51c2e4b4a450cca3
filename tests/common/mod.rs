//! Test support: a real HTTP news site on 127.0.0.1 and helpers to drive the
//! real `thresher` binary against it.

#![allow(dead_code)] // each test file uses a different part of this module

pub mod arrival;
pub mod fault;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::watch;

/// Which format a feed route serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// RSS 2.0 at `/rss.xml`, root-relative links.
    Rss,
    /// Atom at `/feeds/atom.xml`, document-relative links.
    Atom,
    /// JSON Feed at `/feed.json`, absolute links.
    Json,
}

impl Format {
    /// The feed's path on the site.
    pub fn path(self) -> &'static str {
        match self {
            Format::Rss => "/rss.xml",
            Format::Atom => "/feeds/atom.xml",
            Format::Json => "/feed.json",
        }
    }
}

#[derive(Default)]
struct SiteState {
    /// Article slugs listed in each feed.
    feeds: HashMap<Format, Vec<String>>,
    /// Extra raw feed bodies by path (e.g. broken XML).
    raw: HashMap<String, String>,
    /// HTML pages served at `/pages/{name}`.
    pages: HashMap<String, String>,
    /// Requests per path.
    hits: HashMap<String, u32>,
    /// 304 answers given to conditional feed requests.
    not_modified: u32,
}

/// A news site served over real HTTP on 127.0.0.1.
#[derive(Clone)]
pub struct Site {
    pub addr: SocketAddr,
    state: Arc<Mutex<SiteState>>,
    /// While false, requests to `/slow/...` wait.
    gate: watch::Sender<bool>,
}

impl Site {
    /// Starts the site on a free port.
    pub async fn start() -> Site {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let (gate, _) = watch::channel(false);
        let site = Site {
            addr,
            state: Arc::new(Mutex::new(SiteState::default())),
            gate,
        };
        let app = Router::new()
            .route("/rss.xml", get(rss))
            .route("/feeds/atom.xml", get(atom))
            .route("/feed.json", get(json_feed))
            .route("/raw/{name}", get(raw))
            .route("/articles/{slug}", get(article))
            .route("/articles/{slug}/", get(article))
            .route("/go/{slug}", get(short_link))
            .route("/pages/{name}", get(page))
            .route("/slow/{slug}", get(slow_article))
            .route("/flaky/{slug}", get(flaky_article))
            .with_state(site.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        site
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Lists `slug` in the feed of `format` (newest first, as feeds do).
    pub fn publish(&self, format: Format, slug: &str) {
        let mut state = self.state.lock().expect("site state");
        state
            .feeds
            .entry(format)
            .or_default()
            .insert(0, slug.to_string());
    }

    /// Serves the HTML `body` at `/pages/{name}`.
    pub fn set_page(&self, name: &str, body: &str) {
        let mut state = self.state.lock().expect("site state");
        state.pages.insert(name.to_string(), body.to_string());
    }

    /// Serves `body` at `/raw/{name}`.
    pub fn set_raw(&self, name: &str, body: &str) {
        let mut state = self.state.lock().expect("site state");
        state.raw.insert(format!("/raw/{name}"), body.to_string());
    }

    /// Lets requests to `/slow/...` complete.
    pub fn open_gate(&self) {
        self.gate.send_replace(true);
    }

    /// How many requests `path` received.
    pub fn hits(&self, path: &str) -> u32 {
        let state = self.state.lock().expect("site state");
        state.hits.get(path).copied().unwrap_or(0)
    }

    /// How many conditional feed requests were answered 304.
    pub fn not_modified(&self) -> u32 {
        self.state.lock().expect("site state").not_modified
    }

    fn hit(&self, path: String) {
        *self
            .state
            .lock()
            .expect("site state")
            .hits
            .entry(path)
            .or_default() += 1;
    }

    fn feed_items(&self, format: Format) -> Vec<String> {
        let state = self.state.lock().expect("site state");
        state.feeds.get(&format).cloned().unwrap_or_default()
    }

    /// Answers 304 when the client's `If-None-Match` matches the feed's current ETag.
    fn conditional(
        &self,
        format: Format,
        headers: &HeaderMap,
        body: String,
        content_type: &str,
    ) -> Response {
        self.hit(format.path().to_string());
        let etag = format!("\"{:x}\"", fnv(body.as_bytes()));
        if headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == etag)
        {
            self.state.lock().expect("site state").not_modified += 1;
            return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
        }
        (
            [
                (header::CONTENT_TYPE, content_type.to_string()),
                (header::ETAG, etag),
            ],
            body,
        )
            .into_response()
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

async fn rss(State(site): State<Site>, headers: HeaderMap) -> Response {
    let items: String = site
        .feed_items(Format::Rss)
        .iter()
        .map(|slug| {
            format!(
                "<item><title>{}</title><link>{}</link><pubDate>Tue, 05 Mar 2024 10:00:00 +0000</pubDate></item>",
                title_of(slug).replace('&', "&amp;"),
                article_path(slug).replace('&', "&amp;")
            )
        })
        .collect();
    let body = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Test RSS</title>\
         <link>{}</link>{items}</channel></rss>",
        site.url("/")
    );
    site.conditional(Format::Rss, &headers, body, "application/rss+xml")
}

async fn atom(State(site): State<Site>, headers: HeaderMap) -> Response {
    let entries: String = site
        .feed_items(Format::Atom)
        .iter()
        .map(|slug| {
            // Document-relative: resolves against /feeds/atom.xml.
            let href = format!("..{}", article_path(slug).replace('&', "&amp;"));
            format!(
                "<entry><title>{}</title><id>urn:test:{}</id><updated>2024-03-05T10:00:00Z</updated>\
                 <link rel=\"alternate\" href=\"{href}\"/><author><name>Atom Author</name></author></entry>",
                title_of(slug).replace('&', "&amp;"),
                slug.replace('&', "&amp;")
            )
        })
        .collect();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">\
         <title>Test Atom</title><id>urn:test</id><updated>2024-03-05T10:00:00Z</updated>{entries}</feed>"
    );
    site.conditional(Format::Atom, &headers, body, "application/atom+xml")
}

async fn json_feed(State(site): State<Site>, headers: HeaderMap) -> Response {
    let items: Vec<serde_json::Value> = site
        .feed_items(Format::Json)
        .iter()
        .map(|slug| {
            serde_json::json!({
                "id": slug,
                "url": site.url(&article_path(slug)),
                "title": title_of(slug),
                "date_published": "2024-03-05T10:00:00Z",
            })
        })
        .collect();
    let body = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Test JSON",
        "items": items,
    })
    .to_string();
    site.conditional(Format::Json, &headers, body, "application/feed+json")
}

async fn raw(State(site): State<Site>, UrlPath(name): UrlPath<String>) -> Response {
    let path = format!("/raw/{name}");
    site.hit(path.clone());
    let body = site
        .state
        .lock()
        .expect("site state")
        .raw
        .get(&path)
        .cloned();
    match body {
        Some(body) => ([(header::CONTENT_TYPE, "application/xml")], body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A short link: redirects to the article.
async fn short_link(State(site): State<Site>, UrlPath(slug): UrlPath<String>) -> Response {
    site.hit(format!("/go/{slug}"));
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("/articles/{slug}"))],
    )
        .into_response()
}

async fn page(State(site): State<Site>, UrlPath(name): UrlPath<String>) -> Response {
    site.hit(format!("/pages/{name}"));
    let body = site
        .state
        .lock()
        .expect("site state")
        .pages
        .get(&name)
        .cloned();
    match body {
        Some(body) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn article(State(site): State<Site>, UrlPath(slug): UrlPath<String>) -> Response {
    site.hit(format!("/articles/{slug}"));
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        article_html(&slug),
    )
        .into_response()
}

async fn slow_article(State(site): State<Site>, UrlPath(slug): UrlPath<String>) -> Response {
    site.hit(format!("/slow/{slug}"));
    let mut gate = site.gate.subscribe();
    let _ = gate.wait_for(|open| *open).await;
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        article_html(&slug),
    )
        .into_response()
}

/// Answers 503 with `Retry-After` to the first request, then the article.
async fn flaky_article(State(site): State<Site>, UrlPath(slug): UrlPath<String>) -> Response {
    let path = format!("/flaky/{slug}");
    site.hit(path.clone());
    if site.hits(&path) == 1 {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "busy",
        )
            .into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        article_html(&slug),
    )
        .into_response()
}

/// Where an article lives: slugs starting with `slow-` are served by the gated
/// route, `flaky-` by the one that fails once; an item starting with `/` is
/// listed as that path (query and fragment included).
pub fn article_path(slug: &str) -> String {
    if slug.starts_with('/') {
        slug.to_string()
    } else if slug.starts_with("slow-") {
        format!("/slow/{slug}")
    } else if slug.starts_with("flaky-") {
        format!("/flaky/{slug}")
    } else {
        format!("/articles/{slug}")
    }
}

/// The headline of the article `slug`.
pub fn title_of(slug: &str) -> String {
    format!("Harbour council approves plan {slug}")
}

/// A sentence that appears only in the body of article `slug`.
pub fn marker_of(slug: &str) -> String {
    format!("The unique finding of report {slug} surprised the committee members.")
}

/// Paragraphs of text only article `slug` has (seeded by the slug), so
/// that every test story is a different story to near-duplicate matching.
pub fn story_paragraphs(slug: &str) -> Vec<String> {
    const WORDS: &[&str] = &[
        "council",
        "budget",
        "river",
        "school",
        "minister",
        "station",
        "market",
        "harvest",
        "tenants",
        "bridge",
        "union",
        "museum",
        "hospital",
        "court",
        "police",
        "festival",
        "drought",
        "airport",
        "factory",
        "library",
        "mayor",
        "teachers",
        "farmers",
        "ferry",
        "election",
        "storm",
        "rents",
        "tram",
        "shipyard",
        "orchestra",
        "clinic",
        "stadium",
        "reported",
        "announced",
        "delayed",
        "approved",
        "rejected",
        "warned",
        "promised",
        "questioned",
        "welcomed",
        "criticised",
        "opened",
        "closed",
        "expanded",
        "cut",
        "on",
        "after",
        "before",
        "despite",
        "while",
        "because",
        "with",
        "without",
        "over",
        "under",
        "new",
        "old",
        "local",
        "regional",
        "national",
        "late",
        "early",
        "costly",
    ];
    let mut state = fnv(slug.as_bytes());
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..3)
        .map(|_| {
            let words: Vec<&str> = (0..90)
                .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
                .collect();
            let mut paragraph = words.join(" ");
            paragraph[..1].make_ascii_uppercase();
            paragraph.push('.');
            paragraph
        })
        .collect()
}

/// A membership appeal that the site puts inside every article body whose
/// slug starts with `promo-`: only learning across pages can tell it is template.
pub const PROMO: &str = "Independent journalism needs your support: become a member of the Test Gazette today and read without limits.";

/// A sponsor note inside the body of articles whose slug starts with `sponsored-`;
/// it reads like article text, so only a per-source rule can remove it.
pub const SPONSOR_NOTE: &str = "This report was produced with the support of the Harbour Trust Foundation, which had no say over its content.";

/// A realistic article page with the junk of the seed example: headline in
/// `<title>`, `og:title` and `<h1>`; a teaser repeating the standfirst; an
/// ad slot's inline `<style>` mid-body; navigation, share bar, publisher
/// footer and a comment form.
pub fn article_html(slug: &str) -> String {
    let title = title_of(slug);
    let marker = marker_of(slug);
    let story: String = story_paragraphs(slug)
        .iter()
        .map(|p| format!("<p>{p}</p>\n"))
        .collect();
    let extra = if slug.starts_with("promo-") {
        format!("<p>{PROMO}</p>")
    } else if slug.starts_with("sponsored-") {
        format!("<p class=\"x-note\">{SPONSOR_NOTE}</p>")
    } else {
        String::new()
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} | The Test Gazette</title>
<meta property="og:title" content="{title}">
<meta name="description" content="Councillors backed the harbour plan after a long debate.">
<meta name="author" content="Jane Reporter">
<meta property="article:published_time" content="2024-03-05T09:30:00Z">
<style>body {{ font-family: serif; }}</style>
<script>window.dataLayer = [];</script>
</head><body>
<nav class="site-nav"><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a> <a href="/weather">Weather</a></nav>
<div class="teaser">Councillors backed the harbour plan after a long debate.</div>
<article>
<header><h1>{title}</h1><p class="standfirst">Councillors backed the harbour plan after a long debate.</p>
<p class="byline">By <a rel="author" href="/people/jane">Jane Reporter</a> <time datetime="2024-03-05T09:30:00Z">5 March 2024</time></p></header>
<div class="share-bar"><a href="https://share.example/fb">Share on Facebook</a> <a href="https://share.example/tw">Share on Twitter</a></div>
<div class="article-body">
<p>The harbour council voted on Tuesday evening to approve the long-debated redevelopment plan, ending months of public consultation and heated argument between residents and developers.</p>
<p>{marker} Officials said the new quay would open to ferries next spring, and that fishing boats would keep their berths during the works.</p>
<div class="ad-slot"><style>#ad-inarticle-1 {{ clear: both; margin: 0 0 15px; }}</style><div id="ad-inarticle-1">Advertisement</div></div>
<p>Opponents, who had gathered more than two thousand signatures, said they would consider an appeal, arguing that the environmental survey was incomplete and rushed.</p>
<p>The council leader, speaking after the vote, said the decision balanced the needs of the town's economy with the concerns of those living closest to the water.</p>
{story}
{extra}
</div>
</article>
<aside class="related"><h3>Related stories</h3><ul><li><a href="/a">Bridge closed for repairs</a></li><li><a href="/b">Ferry fares to rise</a></li></ul></aside>
<footer class="site-footer"><p>The Test Gazette</p><p>© 2024 Test Gazette Media. All rights reserved.</p></footer>
<div id="comments"><form class="comment-form"><p>Leave a Reply</p><textarea placeholder="Please enter your comment!"></textarea><input placeholder="Please enter your name here"></form></div>
</body></html>"#
    )
}

/// A temporary folder with a config file, state and output folders.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    /// An empty workspace.
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Path of the config file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("thresher.toml")
    }

    /// Output folder.
    pub fn output(&self) -> PathBuf {
        self.dir.path().join("articles")
    }

    /// Writes a config with these `(name, url)` sources polled every
    /// `interval`; `pipeline` holds extra `key = value` lines for `[pipeline]`.
    pub fn write_config(&self, sources: &[(&str, String)], interval: &str, pipeline: &str) {
        self.write_config_with_fetch(sources, interval, pipeline, "");
    }

    /// Like [`Workspace::write_config`], with extra `key = value` lines for
    /// `[fetch]`. The test servers live on 127.0.0.1, so private networks are
    /// allowed, and one host serves everything, so its politeness interval is 0.
    pub fn write_config_with_fetch(
        &self,
        sources: &[(&str, String)],
        interval: &str,
        pipeline: &str,
        fetch: &str,
    ) {
        let mut text = format!(
            "[state]\ndir = {:?}\n\n[output]\ndir = {:?}\n\n\
             [pipeline]\nshutdown_grace = \"3s\"\nretry_backoff = \"1s\"\n{pipeline}\n\n\
             [fetch]\nallow_private_networks = true\nmin_host_interval = \"0s\"\n\
             host_concurrency = 8\n{fetch}\n",
            self.dir.path().join("state"),
            self.output()
        );
        for (name, url) in sources {
            text.push_str(&format!(
                "\n[[sources]]\nname = {name:?}\nurl = {url:?}\ninterval = {interval:?}\n"
            ));
        }
        std::fs::write(self.config_path(), text).expect("write config");
    }

    /// Like [`Workspace::write_config`] (polled every 10 minutes), with
    /// `dedup` holding `key = value` lines for `[dedup]`.
    pub fn write_config_with_dedup(&self, sources: &[(&str, String)], dedup: &str) {
        self.write_config(sources, "10m", "");
        let mut text = std::fs::read_to_string(self.config_path()).expect("read config");
        text.push_str(&format!("\n[dedup]\n{dedup}\n"));
        std::fs::write(self.config_path(), text).expect("write config");
    }

    /// A `thresher` command with `--config` pointing at this workspace.
    pub fn command(&self, verb: &str) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_thresher"));
        command
            .arg(verb)
            .arg("--config")
            .arg(self.config_path())
            .env("RUST_LOG", "thresher=debug")
            .kill_on_drop(true);
        command
    }

    /// Runs `thresher once` to completion.
    pub async fn once(&self) -> Output {
        let output = self
            .command("once")
            .output()
            .await
            .expect("run thresher once");
        assert!(
            output.status.success(),
            "thresher once failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Every article file written so far, sorted.
    pub fn articles(&self) -> Vec<PathBuf> {
        json_files(&self.output())
    }

    /// The article files parsed as JSON.
    pub fn article_values(&self) -> Vec<serde_json::Value> {
        self.articles()
            .iter()
            .map(|p| {
                serde_json::from_slice(&std::fs::read(p).expect("read article"))
                    .expect("article is JSON")
            })
            .collect()
    }
}

/// All `*.json` files under `dir`, recursively, sorted.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Waits until `condition` holds, checking every 50 ms; panics after `limit`.
pub async fn wait_until(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `signal` (e.g. "TERM", "KILL") to a child process.
pub fn signal(child: &tokio::process::Child, signal: &str) {
    let pid = child.id().expect("child still running");
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Set to `1` (`.ci/run` does): a test that needs `nats-server` fails when
/// none can run, instead of skipping.
pub const REQUIRE_NATS: &str = "THRESHER_REQUIRE_NATS";

/// The `nats-server` binary to run, instead of looking on `PATH` and in
/// `/usr/sbin`.
pub const NATS_SERVER: &str = "THRESHER_NATS_SERVER";

/// The `nats-server` the NATS tests run: `$THRESHER_NATS_SERVER` when set,
/// else the first on `PATH`, else `/usr/sbin/nats-server` (where Debian's
/// package puts it, outside a normal user's `PATH`); the first that answers
/// `--version`. `Err` says why none can run. Looked for once per process.
pub fn nats_server_binary() -> Result<PathBuf, String> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND.get_or_init(find_nats_server).clone()
}

fn find_nats_server() -> Result<PathBuf, String> {
    let run = |binary: &Path| -> Result<(), String> {
        match std::process::Command::new(binary)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .output()
        {
            Ok(output) if output.status.success() => Ok(()),
            Ok(output) => Err(format!(
                "`{} --version` failed ({})",
                binary.display(),
                output.status
            )),
            Err(e) => Err(format!("cannot run {}: {e}", binary.display())),
        }
    };
    if let Some(binary) = std::env::var_os(NATS_SERVER).filter(|v| !v.is_empty()) {
        let binary = PathBuf::from(binary);
        return run(&binary)
            .map(|()| binary)
            .map_err(|e| format!("{NATS_SERVER}: {e}"));
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut failures = Vec::new();
    for dir in on_path
        .iter()
        .map(PathBuf::as_path)
        .chain([Path::new("/usr/sbin")])
    {
        let binary = dir.join("nats-server");
        if !binary.is_file() {
            continue;
        }
        match run(&binary) {
            Ok(()) => return Ok(binary),
            Err(e) => failures.push(e),
        }
    }
    if failures.is_empty() {
        Err("nats-server not found on PATH or in /usr/sbin".to_string())
    } else {
        Err(failures.join("; "))
    }
}

/// Call first in a test that needs `nats-server`; the test returns at once
/// when this is true. True when no `nats-server` can run here, after saying
/// so on stderr (written past the test harness's capture, so it shows in a
/// plain `cargo test`). With `THRESHER_REQUIRE_NATS=1`, as `.ci/run` sets,
/// it panics instead: a NATS test that did not run cannot pass in CI.
pub fn skip_without_nats_server() -> bool {
    let Err(why) = nats_server_binary() else {
        return false;
    };
    let test = std::thread::current()
        .name()
        .unwrap_or("a NATS test")
        .to_string();
    let hint =
        ".ci/run installs it (apt-get install nats-server), or point THRESHER_NATS_SERVER at one";
    if std::env::var(REQUIRE_NATS).is_ok_and(|v| v == "1") {
        panic!("{test}: {REQUIRE_NATS}=1, but {why}; {hint}");
    }
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{test}: skipped: {why}; {hint}");
    true
}

/// A private `nats-server` with JetStream on a free 127.0.0.1 port, storing
/// in a temporary folder; it can be stopped and started again on the same
/// port and store. Killed when dropped.
pub struct NatsServer {
    /// The port it listens on.
    pub port: u16,
    store: tempfile::TempDir,
    child: Option<std::process::Child>,
    /// `(user, password)` the server requires, if any.
    auth: Option<(String, String)>,
}

impl NatsServer {
    /// Starts a server and waits until it takes connections.
    pub async fn start() -> NatsServer {
        let mut server = NatsServer::reserve();
        server.restart().await;
        server
    }

    /// Starts a server that requires this user and password.
    pub async fn start_with_auth(user: &str, password: &str) -> NatsServer {
        let mut server = NatsServer::reserve();
        server.auth = Some((user.to_string(), password.to_string()));
        server.restart().await;
        server
    }

    /// A client connection (with the server's credentials, if it has any).
    pub async fn client(&self) -> Result<async_nats::Client, async_nats::ConnectError> {
        let mut options = async_nats::ConnectOptions::new();
        if let Some((user, password)) = &self.auth {
            options = options.user_and_password(user.clone(), password.clone());
        }
        options.connect(self.url()).await
    }

    /// A port nothing listens on (yet): for a broker that is down from the start.
    pub fn reserve() -> NatsServer {
        NatsServer {
            port: free_port(),
            store: tempfile::tempdir().expect("tempdir"),
            child: None,
            auth: None,
        }
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again), same port and store, and waits until it
    /// takes connections.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "server already running");
        let binary = nats_server_binary()
            .unwrap_or_else(|why| panic!("cannot start nats-server: {why} (see DEVELOPERS.md)"));
        let mut command = std::process::Command::new(binary);
        let port = self.port.to_string();
        command
            .args(["-a", "127.0.0.1", "-p", &port, "-js", "-sd"])
            .arg(self.store.path());
        if let Some((user, password)) = &self.auth {
            command.args(["--user", user, "--pass", password]);
        }
        let child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let start = Instant::now();
        loop {
            // Ready when JetStream answers its API (any answer will do).
            if let Ok(client) = self.client().await
                && client.request("$JS.API.INFO", "".into()).await.is_ok()
            {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "nats-server did not come up on port {}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the server gracefully (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }

    /// Every message of `stream` as (Nats-Msg-Id, subject, payload), in stream order.
    pub async fn messages(&self, stream: &str) -> Vec<(String, String, Vec<u8>)> {
        let client = self.client().await.expect("connect");
        let js = async_nats::jetstream::new(client);
        let Ok(mut stream) = js.get_stream(stream).await else {
            return Vec::new();
        };
        let state = stream.info().await.expect("stream info").state.clone();
        let mut messages = Vec::new();
        if state.messages == 0 {
            return messages;
        }
        for seq in state.first_sequence..=state.last_sequence {
            let Ok(message) = stream.get_raw_message(seq).await else {
                continue;
            };
            let id = message
                .headers
                .get(async_nats::header::NATS_MESSAGE_ID)
                .map(|v| v.as_str().to_string())
                .unwrap_or_default();
            messages.push((id, message.subject.to_string(), message.payload.to_vec()));
        }
        messages
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}
