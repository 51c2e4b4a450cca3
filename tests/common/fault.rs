//! A scripted HTTP server on 127.0.0.1 that fails the way real sites do
//! (error statuses, stalls, trickles, endless bodies, redirects), and helpers
//! that run the real `thresher` binary against it beside a healthy site.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::serve::Listener;

use super::arrival::{Arrival, StampingListener};
use super::{Format, Site, Workspace, article_html, marker_of, title_of};

/// `[fetch]` lines that keep a stalled request short: a whole request may
/// take 3 s, a stall 1 s, and a transient failure is retried once.
pub const FAST: &str =
    "timeout = \"3s\"\nconnect_timeout = \"1s\"\nread_timeout = \"1s\"\nretries = 1";

/// What the fault server answers to one request.
#[derive(Clone)]
pub enum Reply {
    /// A complete response.
    Full {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// Sends nothing, not even the headers, for this long; then an empty 200.
    Hang(Duration),
    /// Sends the headers and `head` at once, then stalls for `stall` before
    /// the rest of the page.
    Drip { head: Vec<u8>, stall: Duration },
    /// Streams `total` bytes of HTML without a `Content-Length`.
    Endless { total: u64 },
}

impl Reply {
    pub fn full(status: u16, headers: &[(&'static str, &str)], body: impl Into<Vec<u8>>) -> Reply {
        Reply::Full {
            status,
            headers: headers.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            body: body.into(),
        }
    }

    /// A UTF-8 HTML page.
    pub fn html(body: impl Into<Vec<u8>>) -> Reply {
        Reply::full(200, &[("content-type", "text/html; charset=utf-8")], body)
    }

    /// The article page of `slug`.
    pub fn article(slug: &str) -> Reply {
        Reply::html(article_html(slug))
    }

    /// An error status with a short body.
    pub fn status(status: u16, headers: &[(&'static str, &str)]) -> Reply {
        Reply::full(status, headers, "error")
    }

    /// A `302 Found` to `location`.
    pub fn redirect(location: &str) -> Reply {
        Reply::full(302, &[("location", location)], "")
    }

    /// An RSS feed listing `(slug, url)` items.
    pub fn rss(items: &[(&str, String)]) -> Reply {
        Reply::full(
            200,
            &[("content-type", "application/rss+xml")],
            rss_text(items),
        )
    }
}

/// RSS 2.0 listing `(slug, url)` items, titled as [`title_of`] says.
pub fn rss_text(items: &[(&str, String)]) -> String {
    let items: String = items
        .iter()
        .map(|(slug, url)| {
            format!(
                "<item><title>{}</title><link>{url}</link>\
                 <pubDate>Tue, 05 Mar 2024 10:00:00 +0000</pubDate></item>",
                title_of(slug)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Faulty</title>\
         <link>http://faulty.invalid/</link>{items}</channel></rss>"
    )
}

#[derive(Default)]
struct Faults {
    /// Scripted replies per path: the n-th request gets the n-th reply, the last repeats.
    routes: HashMap<String, Vec<Reply>>,
    /// Every request: path and arrival time (when the kernel received it).
    requests: Vec<(String, Instant)>,
}

/// An HTTP server on 127.0.0.1 whose every path answers as scripted.
#[derive(Clone)]
pub struct FaultServer {
    pub addr: SocketAddr,
    faults: Arc<Mutex<Faults>>,
    /// Bytes produced so far by [`Reply::Endless`] bodies.
    streamed: Arc<AtomicU64>,
}

impl FaultServer {
    pub async fn start() -> FaultServer {
        let listener = StampingListener::bind().await;
        let server = FaultServer {
            addr: Listener::local_addr(&listener).expect("local addr"),
            faults: Arc::default(),
            streamed: Arc::default(),
        };
        let app = Router::new()
            .fallback(answer)
            .with_state(server.clone())
            .into_make_service_with_connect_info::<Arrival>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Answers requests to `path` with `replies` in turn; the last one repeats.
    pub fn route(&self, path: &str, replies: Vec<Reply>) {
        assert!(!replies.is_empty());
        self.lock().routes.insert(path.to_string(), replies);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.faults.lock().expect("fault server state")
    }

    /// How many requests `path` received.
    pub fn hits(&self, path: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|(p, _)| p == path)
            .count()
    }

    /// Every request so far, in the order they were handled, each with
    /// when it arrived (see [`Arrival`]; sort by it to compare arrivals).
    pub fn requests(&self) -> Vec<(String, Instant)> {
        self.lock().requests.clone()
    }

    pub fn streamed(&self) -> u64 {
        self.streamed.load(Ordering::SeqCst)
    }
}

async fn answer(
    State(server): State<FaultServer>,
    ConnectInfo(arrival): ConnectInfo<Arrival>,
    uri: Uri,
) -> Response {
    let path = uri.path().to_string();
    let arrived = arrival.take();
    let reply = {
        let mut faults = server.lock();
        let earlier = faults.requests.iter().filter(|(p, _)| *p == path).count();
        faults.requests.push((path.clone(), arrived));
        faults
            .routes
            .get(&path)
            .map(|replies| replies[earlier.min(replies.len() - 1)].clone())
    };
    let Some(reply) = reply else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let mut response = Response::builder().status(status);
            for (name, value) in headers {
                response = response.header(name, value);
            }
            response.body(Body::from(body)).expect("response")
        }
        Reply::Hang(wait) => {
            tokio::time::sleep(wait).await;
            StatusCode::OK.into_response()
        }
        Reply::Drip { head, stall } => {
            let head = Bytes::from(head);
            let chunks = futures::stream::unfold(0u8, move |step| {
                let head = head.clone();
                async move {
                    match step {
                        0 => Some((Ok::<_, std::io::Error>(head), 1)),
                        1 => {
                            tokio::time::sleep(stall).await;
                            Some((Ok(Bytes::from_static(b"</body></html>")), 2))
                        }
                        _ => None,
                    }
                }
            });
            html_stream(Body::from_stream(chunks))
        }
        Reply::Endless { total } => {
            let streamed = Arc::clone(&server.streamed);
            let chunk = Bytes::from("<p>filler text of an endless page</p>\n".repeat(1700));
            let chunks = futures::stream::unfold(0u64, move |sent| {
                let (chunk, streamed) = (chunk.clone(), Arc::clone(&streamed));
                async move {
                    if sent >= total {
                        return None;
                    }
                    let len = chunk.len() as u64;
                    streamed.fetch_add(len, Ordering::SeqCst);
                    Some((Ok::<_, std::io::Error>(chunk), sent + len))
                }
            });
            html_stream(Body::from_stream(chunks))
        }
    }
}

fn html_stream(body: Body) -> Response {
    Response::builder()
        .header("content-type", "text/html; charset=utf-8")
        .body(body)
        .expect("response")
}

/// A healthy site whose RSS feed lists the article `slug`.
pub async fn healthy_site(slug: &str) -> Site {
    let site = Site::start().await;
    site.publish(Format::Rss, slug);
    site
}

/// What `thresher check-config` prints for the workspace (with source status).
pub async fn check_config_output(ws: &Workspace) -> String {
    let output = ws
        .command("check-config")
        .output()
        .await
        .expect("run check-config");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `thresher once`; returns its output, its stderr and how long it took.
pub async fn run_once(ws: &Workspace) -> (Output, String, Duration) {
    let start = Instant::now();
    let output = ws
        .command("once")
        .output()
        .await
        .expect("run thresher once");
    let elapsed = start.elapsed();
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, log, elapsed)
}

/// The URLs of the articles written so far.
pub fn written_urls(ws: &Workspace) -> Vec<String> {
    ws.article_values()
        .iter()
        .filter_map(|a| a["url"].as_str().map(str::to_string))
        .collect()
}

/// The article written from `url`, if any.
pub fn written(ws: &Workspace, url: &str) -> Option<serde_json::Value> {
    ws.article_values()
        .into_iter()
        .find(|a| a["url"].as_str() == Some(url))
}

/// Asserts that the article of `slug` at `url` was written with its body.
pub fn assert_written(ws: &Workspace, url: &str, slug: &str, log: &str) {
    let article = written(ws, url)
        .unwrap_or_else(|| panic!("{url} not written; written: {:?}\n{log}", written_urls(ws)));
    let text = article["text"].as_str().expect("text");
    assert!(
        text.contains(&marker_of(slug)),
        "body of {url} kept: {text}"
    );
}

pub fn assert_not_written(ws: &Workspace, url: &str, log: &str) {
    assert!(
        written(ws, url).is_none(),
        "{url} must not be written\n{log}"
    );
}

/// Asserts that the healthy site's article `slug` was written.
pub fn assert_healthy(ws: &Workspace, site: &Site, slug: &str, log: &str) {
    assert_written(ws, &site.url(&format!("/articles/{slug}")), slug, log);
}

/// Asserts that some log line contains every one of `needles`.
pub fn assert_logged(log: &str, needles: &[&str]) {
    assert!(
        log.lines()
            .any(|line| needles.iter().all(|n| line.contains(n))),
        "no log line contains all of {needles:?}:\n{log}"
    );
}

pub fn assert_exit(output: &Output, code: i32, log: &str) {
    assert_eq!(output.status.code(), Some(code), "exit code\n{log}");
}

/// Writes a config for a faulty and a healthy source.
pub fn config(ws: &Workspace, faulty: String, healthy: &Site, pipeline: &str, fetch: &str) {
    ws.write_config_with_fetch(
        &[
            ("faulty", faulty),
            ("healthy", healthy.url(Format::Rss.path())),
        ],
        "10m",
        pipeline,
        fetch,
    );
}

/// Adds `line` to the table of the source named `name` in the config file.
pub fn add_to_source(ws: &Workspace, name: &str, line: &str) {
    let text = std::fs::read_to_string(ws.config_path()).expect("read config");
    let anchor = format!("name = {name:?}\n");
    assert!(text.contains(&anchor), "no source {name} in\n{text}");
    let text = text.replacen(&anchor, &format!("{anchor}{line}\n"), 1);
    std::fs::write(ws.config_path(), text).expect("write config");
}
