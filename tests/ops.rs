//! Running Thresher as a service: the telemetry endpoint scraped over real
//! HTTP from the real daemon, `thresher status`, and reload on SIGHUP.

mod common;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::fault::{FaultServer, Reply};
use common::{Format, Site, Workspace, signal, wait_until};
use tokio::io::AsyncBufReadExt;

/// A free port on 127.0.0.1 (bound and released; the daemon binds it next).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A running `thresher run` with its stderr collected.
struct Daemon {
    child: tokio::process::Child,
    log: Arc<Mutex<String>>,
    base: String,
}

impl Daemon {
    /// Starts `thresher run` in `ws` and waits until `/healthz` answers.
    async fn start(ws: &Workspace, port: u16) -> Daemon {
        let mut child = ws
            .command("run")
            .stderr(Stdio::piped())
            .spawn()
            .expect("start thresher run");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&log);
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut log = sink.lock().expect("log");
                log.push_str(&line);
                log.push('\n');
            }
        });
        let daemon = Daemon {
            child,
            log,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while daemon.get("/healthz").await.map(|(code, _)| code) != Some(200) {
            assert!(
                std::time::Instant::now() < deadline,
                "the endpoint never answered; log:\n{}",
                daemon.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        daemon
    }

    fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    /// GETs `path`: status code and body, or `None` when nothing answers.
    async fn get(&self, path: &str) -> Option<(u16, String)> {
        let response = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("client")
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .ok()?;
        let code = response.status().as_u16();
        Some((code, response.text().await.ok()?))
    }

    async fn metrics(&self) -> String {
        let (code, body) = self.get("/metrics").await.expect("/metrics answers");
        assert_eq!(code, 200, "{body}");
        body
    }

    /// The value of the sample line starting with `series` (name and labels).
    async fn sample(&self, series: &str) -> Option<f64> {
        sample(&self.metrics().await, series)
    }

    /// Waits until the metric `series` reaches `value`.
    async fn wait_for_sample(&self, series: &str, value: f64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let text = self.metrics().await;
            if sample(&text, series).is_some_and(|v| v >= value) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{series} never reached {value}:\n{text}\nlog:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the daemon with SIGTERM and waits for it.
    async fn stop(mut self) -> String {
        signal(&self.child, "TERM");
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("daemon stops on SIGTERM")
            .expect("wait");
        assert!(status.success(), "{status}\n{}", self.log());
        // Let the reader task drain the last lines.
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.log()
    }
}

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

fn telemetry(port: u16) -> String {
    format!("\n[telemetry]\nlisten = \"127.0.0.1:{port}\"\n")
}

/// Appends `text` to the workspace's config file.
fn append_config(ws: &Workspace, text: &str) {
    let mut config = std::fs::read_to_string(ws.config_path()).expect("read config");
    config.push_str(text);
    std::fs::write(ws.config_path(), config).expect("write config");
}

/// A config with `sources` and the telemetry endpoint on `port`.
fn configure(ws: &Workspace, sources: &[(&str, String)], interval: &str, port: u16) {
    ws.write_config(sources, interval, "");
    // `[telemetry]` after the `[[sources]]` tables would belong to the last source.
    let config = std::fs::read_to_string(ws.config_path()).expect("read config");
    std::fs::write(ws.config_path(), format!("{}{config}", telemetry(port))).expect("write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_health_endpoints_report_what_the_running_daemon_does() {
    let site = Site::start().await;
    site.publish(Format::Rss, "metrics-1");
    site.publish(Format::Rss, "metrics-2");
    let ws = Workspace::new();
    let port = free_port();
    configure(&ws, &[("news", site.url(Format::Rss.path()))], "1h", port);
    let daemon = Daemon::start(&ws, port).await;

    let (code, body) = daemon.get("/healthz").await.expect("healthz");
    assert_eq!((code, body.as_str()), (200, "ok\n"));

    daemon
        .wait_for_sample(
            "thresher_source_articles_written_total{source=\"news\"}",
            2.0,
        )
        .await;
    let text = daemon.metrics().await;
    for (series, expected) in [
        ("thresher_articles_written_total", 2.0),
        ("thresher_polls_ok_total", 1.0),
        ("thresher_links_accepted_total", 2.0),
        (
            "thresher_source_polls_total{source=\"news\",outcome=\"ok\"}",
            1.0,
        ),
        (
            "thresher_fetch_duration_seconds_count{target=\"feed\"}",
            1.0,
        ),
        (
            "thresher_fetch_duration_seconds_count{target=\"page\"}",
            2.0,
        ),
        ("thresher_clean_duration_seconds_count", 2.0),
        ("thresher_queue_depth{queue=\"jobs\"}", 0.0),
        ("thresher_articles_pending", 0.0),
        ("thresher_sources", 1.0),
    ] {
        assert_eq!(
            sample(&text, series),
            Some(expected),
            "{series} in:\n{text}"
        );
    }
    assert!(
        text.contains("# TYPE thresher_fetch_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains("thresher_fetch_duration_seconds_bucket{le=\"+Inf\",target=\"feed\"} 1")
            || text
                .contains("thresher_fetch_duration_seconds_bucket{target=\"feed\",le=\"+Inf\"} 1"),
        "{text}"
    );

    let (code, body) = daemon.get("/readyz").await.expect("readyz");
    assert_eq!(code, 200, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).expect("readyz JSON");
    assert_eq!(ready["ready"], true);
    let checks: Vec<&str> = ready["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(
        checks.contains(&"state_store") && checks.contains(&"output:directory"),
        "{body}"
    );
    let (code, _) = daemon.get("/nope").await.expect("404");
    assert_eq!(code, 404);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_while_the_output_folder_cannot_be_written() {
    let site = Site::start().await;
    let ws = Workspace::new();
    let port = free_port();
    configure(&ws, &[("news", site.url(Format::Rss.path()))], "1h", port);
    // A file where the output folder should be.
    std::fs::write(ws.output(), b"not a folder").expect("write blocker");
    let daemon = Daemon::start(&ws, port).await;
    let (code, body) = daemon.get("/readyz").await.expect("readyz");
    assert_eq!(code, 503, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).expect("readyz JSON");
    assert_eq!(ready["ready"], false);
    let output = ready["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "output:directory")
        .expect("output check")
        .clone();
    assert_eq!(output["ok"], false, "{body}");
    assert!(
        output["detail"]
            .as_str()
            .is_some_and(|d| d.contains("articles")),
        "the detail names the folder: {body}"
    );
    // Alive all the same: a liveness probe must not restart it for this.
    assert_eq!(daemon.get("/healthz").await.map(|(c, _)| c), Some(200));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_each_source_from_the_daemon_and_then_from_the_state_store() {
    let site = Site::start().await;
    site.publish(Format::Rss, "status-1");
    let ws = Workspace::new();
    let port = free_port();
    configure(
        &ws,
        &[
            ("news", site.url(Format::Rss.path())),
            ("broken", site.url("/raw/missing.xml")),
        ],
        "1h",
        port,
    );
    let daemon = Daemon::start(&ws, port).await;
    daemon
        .wait_for_sample(
            "thresher_source_articles_written_total{source=\"news\"}",
            1.0,
        )
        .await;
    daemon
        .wait_for_sample(
            "thresher_source_failures_total{source=\"broken\",stage=\"feed\",kind=\"http_4xx\"}",
            1.0,
        )
        .await;

    assert_eq!(
        daemon
            .sample("thresher_source_consecutive_failures{source=\"broken\"}")
            .await,
        Some(1.0),
        "the failing source is backing off"
    );
    let (code, body) = daemon.get("/status").await.expect("status");
    assert_eq!(code, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).expect("status JSON");
    let sources = status["sources"].as_array().expect("sources");
    assert_eq!(sources.len(), 2, "{body}");
    let news = &sources[0];
    assert_eq!(news["name"], "news");
    assert!(news["last_success_at"].is_string(), "{body}");
    assert!(news["last_error"].is_null(), "{body}");
    assert!(news["next_poll_at"].is_string(), "{body}");
    assert_eq!(news["since_start"]["articles_written"], 1, "{body}");
    assert_eq!(news["since_start"]["polls_ok"], 1, "{body}");
    assert_eq!(news["pending"], 0, "pending work per source: {body}");
    assert_eq!(status["pending"]["total"], 0, "{body}");
    let broken = &sources[1];
    assert_eq!(broken["name"], "broken");
    assert!(broken["last_success_at"].is_null(), "{body}");
    assert!(
        broken["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("404")),
        "{body}"
    );
    assert_eq!(broken["consecutive_failures"], 1, "{body}");
    assert_eq!(broken["poll_failures"]["http_4xx"], 1, "{body}");
    assert_eq!(status["totals"]["articles_written"], 1, "{body}");

    let output = ws
        .command("status")
        .output()
        .await
        .expect("thresher status");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert_eq!(
        stdout.lines().next(),
        Some(format!("status from the running daemon at http://127.0.0.1:{port}/status").as_str()),
        "the first line names the endpoint read: {stdout}"
    );
    assert!(
        stdout.contains("news") && stdout.contains("404"),
        "{stdout}"
    );

    let output = ws
        .command("status")
        .arg("--json")
        .output()
        .await
        .expect("thresher status --json");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(json["sources"][0]["since_start"]["articles_written"], 1);

    daemon.stop().await;
    // No daemon now: the answer comes from the state store, and says so.
    let output = ws
        .command("status")
        .output()
        .await
        .expect("thresher status");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    let store = ws.dir.path().join("state").join("thresher.redb");
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!(
            "status from the state store at {} (daemon not reachable at http://127.0.0.1:{port}/status: ",
            store.display()
        )),
        "the first line names the store read and why no daemon answered: {stdout}"
    );
    assert!(
        !stderr.contains("error"),
        "one line on stdout says it all: {stderr}"
    );
    assert!(
        stdout.contains("news") && stdout.contains("404"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_starts_an_added_source_and_stops_a_removed_one() {
    let site = Site::start().await;
    site.publish(Format::Rss, "alpha-1");
    site.publish(Format::Atom, "beta-1");
    let ws = Workspace::new();
    let port = free_port();
    let alpha = ("alpha", site.url(Format::Rss.path()));
    let beta = ("beta", site.url(Format::Atom.path()));
    configure(&ws, std::slice::from_ref(&alpha), "1s", port);
    let daemon = Daemon::start(&ws, port).await;
    wait_until(Duration::from_secs(10), "alpha polled twice", || {
        site.hits(Format::Rss.path()) >= 2
    })
    .await;
    assert_eq!(site.hits(Format::Atom.path()), 0);

    configure(&ws, std::slice::from_ref(&beta), "1s", port);
    signal(&daemon.child, "HUP");
    wait_until(
        Duration::from_secs(10),
        "beta polled after the reload",
        || site.hits(Format::Atom.path()) >= 1,
    )
    .await;
    daemon
        .wait_for_sample(
            "thresher_source_articles_written_total{source=\"beta\"}",
            1.0,
        )
        .await;
    // A poll of alpha already under way when the signal came may still land.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let alpha_hits = site.hits(Format::Rss.path());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        site.hits(Format::Rss.path()),
        alpha_hits,
        "the removed source is no longer polled"
    );
    assert!(
        site.hits(Format::Atom.path()) >= 2,
        "beta polled on its interval"
    );
    assert_eq!(daemon.sample("thresher_sources").await, Some(1.0));
    assert_eq!(
        daemon
            .sample("thresher_config_reloads_total{result=\"applied\"}")
            .await,
        Some(1.0)
    );
    let (_, body) = daemon.get("/status").await.expect("status");
    let status: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let names: Vec<&str> = status["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["beta"]);
    let log = daemon.stop().await;
    assert!(log.contains("configuration reloaded"), "{log}");
    assert!(
        log.contains("added=[\"beta\"]") && log.contains("removed=[\"alpha\"]"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_reload_is_rejected_and_the_running_config_stays() {
    let site = Site::start().await;
    site.publish(Format::Rss, "keep-1");
    let ws = Workspace::new();
    let port = free_port();
    configure(&ws, &[("alpha", site.url(Format::Rss.path()))], "1s", port);
    let good = std::fs::read_to_string(ws.config_path()).expect("config");
    let daemon = Daemon::start(&ws, port).await;
    wait_until(Duration::from_secs(10), "alpha polled", || {
        site.hits(Format::Rss.path()) >= 1
    })
    .await;

    // A misspelt key: the whole file is rejected.
    append_config(
        &ws,
        "\n[[sources]]\nname = \"beta\"\nurll = \"http://127.0.0.1:9/\"\n",
    );
    signal(&daemon.child, "HUP");
    daemon
        .wait_for_sample("thresher_config_reloads_total{result=\"rejected\"}", 1.0)
        .await;
    let log = daemon.log();
    let line = log
        .lines()
        .find(|l| l.contains("configuration reload rejected"))
        .unwrap_or_else(|| panic!("no rejection line in:\n{log}"));
    assert!(
        line.contains("the running configuration stays") && line.contains("urll"),
        "the line says why: {line}"
    );
    let before = site.hits(Format::Rss.path());
    wait_until(Duration::from_secs(10), "alpha still polled", || {
        site.hits(Format::Rss.path()) >= before + 2
    })
    .await;
    assert_eq!(daemon.sample("thresher_sources").await, Some(1.0));

    // A good file afterwards is applied as usual.
    std::fs::write(ws.config_path(), good).expect("restore config");
    signal(&daemon.child, "HUP");
    daemon
        .wait_for_sample("thresher_config_reloads_total{result=\"applied\"}", 1.0)
        .await;
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_prints_a_summary_table_and_plain_log_lines_off_a_terminal() {
    let site = Site::start().await;
    site.publish(Format::Rss, "table-1");
    site.publish(Format::Rss, "table-2");
    let ws = Workspace::new();
    ws.write_config(
        &[
            ("news", site.url(Format::Rss.path())),
            ("quiet", site.url(Format::Atom.path())),
        ],
        "1h",
        "",
    );
    let output = ws.once().await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rows = table_rows(&stdout);
    assert_eq!(
        rows[0],
        ["source", "feed", "written", "duplicates", "pending"],
        "{stdout}"
    );
    assert_eq!(rows[1], ["news", "ok", "2", "0", "0"], "{stdout}");
    assert_eq!(rows[2], ["quiet", "ok", "0", "0", "0"], "{stdout}");
    assert_eq!(rows[3], ["total", "2/2", "ok", "2", "0", "0"], "{stdout}");
    assert_eq!(
        rows[4].join(" "),
        "pending: none; NATS outbox: 0",
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("sources polled") && !stderr.contains('\r'),
        "no progress bar when stderr is not a terminal: {stderr}"
    );
    assert!(
        stderr.contains("article written"),
        "plain log lines: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_shows_a_progress_bar_on_a_terminal() {
    // `script` (util-linux) runs the command on a pseudo-terminal.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("`script` not installed: cannot give `thresher once` a terminal; skipped");
        return;
    }
    let site = Site::start().await;
    site.publish(Format::Rss, "bar-1");
    let ws = Workspace::new();
    ws.write_config(&[("news", site.url(Format::Rss.path()))], "1h", "");
    let command = format!(
        "{} once --config {}",
        env!("CARGO_BIN_EXE_thresher"),
        ws.config_path().display()
    );
    let output = tokio::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("RUST_LOG", "thresher=info")
        .output()
        .await
        .expect("run script");
    let terminal = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{terminal}");
    assert!(
        terminal.contains("1/1 sources polled, 1 article written, 0 failed"),
        "the bar counts polls and articles: {terminal}"
    );
    assert!(
        terminal.contains("article written"),
        "log lines above the bar: {terminal}"
    );
    assert_eq!(ws.articles().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_reload_watch_a_changed_config_file_is_applied_without_a_signal() {
    let site = Site::start().await;
    site.publish(Format::Json, "watched-1");
    let ws = Workspace::new();
    let port = free_port();
    let watch = "[reload]\nwatch = true\n";
    configure(&ws, &[("alpha", site.url(Format::Rss.path()))], "20s", port);
    let config = std::fs::read_to_string(ws.config_path()).expect("config");
    std::fs::write(ws.config_path(), format!("{watch}{config}")).expect("write");
    let daemon = Daemon::start(&ws, port).await;
    wait_until(Duration::from_secs(10), "alpha polled", || {
        site.hits(Format::Rss.path()) >= 1
    })
    .await;

    configure(
        &ws,
        &[
            ("alpha", site.url(Format::Rss.path())),
            ("gamma", site.url(Format::Json.path())),
        ],
        "20s",
        port,
    );
    let config = std::fs::read_to_string(ws.config_path()).expect("config");
    std::fs::write(ws.config_path(), format!("{watch}{config}")).expect("write");
    daemon
        .wait_for_sample(
            "thresher_source_articles_written_total{source=\"gamma\"}",
            1.0,
        )
        .await;
    let log = daemon.stop().await;
    assert!(log.contains("config file changed: reloading"), "{log}");
    assert!(log.contains("added=[\"gamma\"]"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_without_a_state_store_says_no_state_found_and_creates_none() {
    let site = Site::start().await;
    site.publish(Format::Rss, "nostate-1");
    let ws = Workspace::new();
    let port = free_port();
    // An endpoint nothing listens on, as when the daemon is down.
    configure(&ws, &[("news", site.url(Format::Rss.path()))], "1h", port);
    let state = ws.dir.path().join("state");
    let store = state.join("thresher.redb");
    for json in [false, true] {
        let mut command = ws.command("status");
        if json {
            command.arg("--json");
        }
        let output = command.output().await.expect("thresher status");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
        assert!(
            stdout.is_empty(),
            "no table (or JSON) of sources nothing is known of: {stdout}"
        );
        assert!(
            stderr.contains(&format!(
                "no state found at {} (daemon not reachable at http://127.0.0.1:{port}/status: ",
                store.display()
            )),
            "{stderr}"
        );
        assert!(!state.exists(), "status created {}", state.display());
    }

    // Without an endpoint the store is read, and the first line says so.
    ws.write_config(&[("news", site.url(Format::Rss.path()))], "1h", "");
    ws.once().await;
    let output = ws
        .command("status")
        .output()
        .await
        .expect("thresher status");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert_eq!(
        stdout.lines().next(),
        Some(
            format!(
                "status from the state store at {} (no [telemetry] listen configured, so no daemon was asked)",
                store.display()
            )
            .as_str()
        ),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_polls_a_failing_source_every_run_without_growing_the_daemons_back_off() {
    let site = Site::start().await;
    let ws = Workspace::new();
    let port = free_port();
    let missing = "/raw/missing.xml";
    configure(&ws, &[("broken", site.url(missing))], "10m", port);
    for run in 1..=3 {
        let output = ws.command("once").output().await.expect("thresher once");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{stdout}{stderr}");
        assert_eq!(site.hits(missing), run, "run {run} polled the source");
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["broken", "failed", "0", "0", "0"],
            "{stdout}"
        );
        assert!(
            lines[2].trim_start().starts_with("error: ") && lines[2].contains("404"),
            "the reason beneath the failed source: {stdout}"
        );
        assert!(
            !stdout.contains("retry in") && !stderr.contains("retry in"),
            "once has no next poll to announce: {stdout}{stderr}"
        );
    }

    // The daemon's first failure waits the interval, not 10m doubled for
    // each of the `once` runs before.
    let daemon = Daemon::start(&ws, port).await;
    wait_until(Duration::from_secs(15), "the daemon's failed poll", || {
        daemon.log().contains("retry in")
    })
    .await;
    let log = daemon.log();
    let line = log
        .lines()
        .find(|l| l.contains("retry in"))
        .unwrap_or_default();
    assert!(line.ends_with("retry in 10m"), "{line}");
    let (_, body) = daemon.get("/status").await.expect("status");
    let status: serde_json::Value = serde_json::from_str(&body).expect("status JSON");
    assert_eq!(
        status["sources"][0]["consecutive_failures"], 4,
        "every failed poll is still counted: {body}"
    );
    daemon.stop().await;
}

/// The whitespace-separated cells of each line of a `once` table.
fn table_rows(stdout: &str) -> Vec<Vec<&str>> {
    stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_counts_a_link_two_feeds_list_as_a_duplicate_of_the_feed_listing_it_second() {
    let site = Site::start().await;
    site.publish(Format::Rss, "shared-1");
    site.publish(Format::Json, "shared-1");
    let ws = Workspace::new();
    // One poll at a time, in configuration order: "first" lists it first.
    ws.write_config(
        &[
            ("first", site.url(Format::Rss.path())),
            ("second", site.url(Format::Json.path())),
        ],
        "1h",
        "feed_concurrency = 1",
    );
    let output = ws.once().await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rows = table_rows(&stdout);
    assert_eq!(rows[1], ["first", "ok", "1", "0", "0"], "{stdout}");
    assert_eq!(rows[2], ["second", "ok", "0", "1", "0"], "{stdout}");
    assert_eq!(rows[3], ["total", "2/2", "ok", "1", "1", "0"], "{stdout}");
    assert_eq!(ws.articles().len(), 1, "one link, one article");

    // The second feed changes and lists the shared link again: a new
    // article, and no new duplicate.
    site.publish(Format::Json, "only-second-1");
    let output = ws.once().await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rows = table_rows(&stdout);
    assert_eq!(
        rows[1],
        ["first", "not", "modified", "0", "0", "0"],
        "{stdout}"
    );
    assert_eq!(rows[2], ["second", "ok", "1", "0", "0"], "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_and_status_show_the_articles_left_pending_and_when_the_next_retry_is_due() {
    let site = Site::start().await;
    site.publish(Format::Rss, "pending-ok-1");
    let busy = FaultServer::start().await;
    let later = busy.url("/a/later");
    // Busy for an hour: the article stays pending past the end of `once`.
    busy.route(
        "/a/later",
        vec![Reply::status(503, &[("retry-after", "3600")])],
    );
    busy.route("/feed.xml", vec![Reply::rss(&[("later", later)])]);
    let ws = Workspace::new();
    ws.write_config(
        &[
            ("news", site.url(Format::Rss.path())),
            ("busy", busy.url("/feed.xml")),
        ],
        "1h",
        "",
    );
    let before = chrono::Utc::now();
    let output = ws.once().await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rows = table_rows(&stdout);
    assert_eq!(rows[1], ["news", "ok", "1", "0", "0"], "{stdout}");
    assert_eq!(rows[2], ["busy", "ok", "0", "0", "1"], "{stdout}");
    assert_eq!(rows[3], ["total", "2/2", "ok", "1", "0", "1"], "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("pending: "))
        .unwrap_or_else(|| panic!("no pending line: {stdout}"));
    assert!(
        line.starts_with(
            "pending: 1 article accepted, not yet delivered (1 waiting for a retry, the next due "
        ) && line.ends_with(" UTC); NATS outbox: 0"),
        "{line}"
    );

    // The same from the state store, in the table and in the JSON.
    let output = ws.command("status").output().await.expect("status");
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{table}");
    assert!(table.lines().any(|l| l == line), "{table}");
    let busy_row = table
        .lines()
        .find(|l| l.starts_with("busy "))
        .unwrap_or_else(|| panic!("no busy row: {table}"));
    assert_eq!(
        busy_row.split_whitespace().last(),
        Some("1"),
        "the pending column: {table}"
    );
    let output = ws
        .command("status")
        .arg("--json")
        .output()
        .await
        .expect("status --json");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["pending"]["total"], 1, "{json}");
    assert_eq!(json["pending"]["retrying"], 1, "{json}");
    assert_eq!(json["sources"][0]["pending"], 0, "{json}");
    assert_eq!(json["sources"][1]["pending"], 1, "{json}");
    let due: chrono::DateTime<chrono::Utc> = json["pending"]["next_retry_at"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("next_retry_at: {json}"));
    assert!(
        due > before + chrono::Duration::minutes(50),
        "the server's hour, not the retry back-off: {due}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_labels_its_times_utc_and_prints_them_in_utc_whatever_the_local_zone() {
    let site = Site::start().await;
    site.publish(Format::Rss, "utc-1");
    let ws = Workspace::new();
    ws.write_config(&[("news", site.url(Format::Rss.path()))], "1h", "");
    ws.once().await;
    let polled = chrono::Utc::now();

    // UTC+14, a POSIX zone needing no tz database: a local time would be
    // half a day off.
    let output = ws
        .command("status")
        .env("TZ", "XYZ-14")
        .output()
        .await
        .expect("status");
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{table}");
    let headings: Vec<&str> = table
        .lines()
        .nth(1)
        .unwrap_or_else(|| panic!("no headings: {table}"))
        .split("  ")
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    assert_eq!(
        headings.get(1..3),
        Some(&["last success (UTC)", "next poll (UTC)"][..]),
        "{table}"
    );
    let row: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with("news "))
        .unwrap_or_else(|| panic!("no news row: {table}"))
        .split_whitespace()
        .collect();
    let shown = chrono::NaiveDateTime::parse_from_str(&row[1..3].join(" "), "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("last success {:?}: {e}\n{table}", &row[1..3]));
    let off = (polled.naive_utc() - shown).num_seconds().abs();
    assert!(
        off < 120,
        "{shown} is the poll's time in UTC ({polled}): {table}"
    );
}
