//! The NATS JetStream sink against real `nats-server` processes (one per
//! test, on a free port with its own store) and the real binary: every
//! article arrives once; a broker outage or a SIGKILLed daemon loses nothing
//! and duplicates nothing.
//!
//! Without a `nats-server` to run (see `common::nats_server_binary`) each test
//! says it is skipped and passes; with `THRESHER_REQUIRE_NATS=1` (`.ci/run`)
//! it fails instead. The last test checks both.

mod common;

use std::collections::BTreeSet;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{Format, NatsServer, Site, Workspace, json_files, signal, wait_until};

const STREAM: &str = "THRESHER";

/// Writes a workspace config for `site`'s RSS feed (source `gazette`) with an
/// `[output.nats]` section of `nats` lines pointing at `server`.
fn write_config(ws: &Workspace, site: &Site, server: &NatsServer, interval: &str, nats: &str) {
    ws.write_config(&[("gazette", site.url(Format::Rss.path()))], interval, "");
    let mut text = std::fs::read_to_string(ws.config_path()).expect("read config");
    text.push_str(&format!(
        "\n[output.nats]\nurl = {:?}\nstream = {STREAM:?}\n{nats}\n",
        server.url()
    ));
    std::fs::write(ws.config_path(), text).expect("write config");
}

/// Article ids of the files in the directory output.
fn file_ids(ws: &Workspace) -> BTreeSet<String> {
    ws.articles()
        .iter()
        .map(|p| p.file_stem().expect("stem").to_string_lossy().into_owned())
        .collect()
}

/// Asserts the stream holds exactly one message per id in `expected`.
async fn assert_each_once(server: &NatsServer, expected: &BTreeSet<String>) {
    let messages = server.messages(STREAM).await;
    let ids: Vec<&str> = messages.iter().map(|(id, _, _)| id.as_str()).collect();
    let unique: BTreeSet<String> = ids.iter().map(|s| s.to_string()).collect();
    assert_eq!(ids.len(), unique.len(), "duplicates in the stream: {ids:?}");
    assert_eq!(&unique, expected, "stream ids differ from the articles");
}

/// Waits until the stream holds `count` messages.
async fn wait_for_messages(server: &NatsServer, count: usize, limit: Duration) {
    let start = Instant::now();
    loop {
        let got = server.messages(STREAM).await.len();
        if got >= count {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "timed out waiting for {count} messages in the stream (have {got})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn every_article_arrives_in_the_stream_once_as_the_same_json_as_its_file() {
    if common::skip_without_nats_server() {
        return;
    }
    let site = Site::start().await;
    for slug in ["one", "two", "three"] {
        site.publish(Format::Rss, slug);
    }
    let server = NatsServer::start().await;
    let ws = Workspace::new();
    write_config(&ws, &site, &server, "1h", "subject = \"news.{source}\"");

    let output = ws.once().await;
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("NATS outbox empty"), "{log}");
    let messages = server.messages(STREAM).await;
    assert_eq!(messages.len(), 3, "{log}");
    for (id, subject, payload) in &messages {
        assert_eq!(subject, "news.gazette");
        let file = ws.output().join("gazette").join(format!("{id}.json"));
        let written = std::fs::read(&file).expect("the directory sink has the same article");
        assert_eq!(payload, &written, "same JSON bytes as the file");
    }
    assert_each_once(&server, &file_ids(&ws)).await;

    // A second run publishes only what is new.
    site.publish(Format::Rss, "four");
    ws.once().await;
    assert_eq!(file_ids(&ws).len(), 4);
    assert_each_once(&server, &file_ids(&ws)).await;
}

#[tokio::test]
async fn nats_only_output_writes_no_files() {
    if common::skip_without_nats_server() {
        return;
    }
    let site = Site::start().await;
    site.publish(Format::Rss, "only-nats");
    let server = NatsServer::start().await;
    let ws = Workspace::new();
    write_config(&ws, &site, &server, "1h", "");
    let text = std::fs::read_to_string(ws.config_path()).expect("read");
    std::fs::write(
        ws.config_path(),
        text.replacen("[output]\n", "[output]\ndirectory = false\n", 1),
    )
    .expect("write");

    ws.once().await;
    assert!(json_files(&ws.output()).is_empty(), "no files written");
    let messages = server.messages(STREAM).await;
    assert_eq!(messages.len(), 1);
    let article: serde_json::Value = serde_json::from_slice(&messages[0].2).expect("JSON");
    assert_eq!(article["id"].as_str(), Some(messages[0].0.as_str()));
    assert_eq!(messages[0].1, "thresher.articles.gazette");
}

#[tokio::test]
async fn broker_stopped_mid_run_and_restarted_loses_nothing_and_duplicates_nothing() {
    if common::skip_without_nats_server() {
        return;
    }
    let site = Site::start().await;
    for slug in ["before-1", "before-2", "before-3"] {
        site.publish(Format::Rss, slug);
    }
    let mut server = NatsServer::start().await;
    let ws = Workspace::new();
    write_config(&ws, &site, &server, "1s", "ack_timeout = \"1s\"");
    let mut daemon = ws
        .command("run")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start daemon");

    wait_for_messages(&server, 3, Duration::from_secs(20)).await;
    server.stop();
    for slug in ["during-1", "during-2", "during-3"] {
        site.publish(Format::Rss, slug);
    }
    // Accepted while the broker is down: written to the folder, queued in the outbox.
    wait_until(Duration::from_secs(20), "6 article files", || {
        ws.articles().len() == 6
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.restart().await;
    wait_for_messages(&server, 6, Duration::from_secs(20)).await;
    // Give a late second copy time to show up, then check.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_each_once(&server, &file_ids(&ws)).await;

    signal(&daemon, "TERM");
    let output = tokio::time::timeout(Duration::from_secs(20), async {
        daemon.wait().await.expect("wait");
        let mut stderr = String::new();
        if let Some(mut pipe) = daemon.stderr.take() {
            use tokio::io::AsyncReadExt;
            pipe.read_to_string(&mut stderr).await.expect("read stderr");
        }
        stderr
    })
    .await
    .expect("daemon stops after SIGTERM");
    // Connection changes are logged once each, not once per article or attempt.
    let count = |needle: &str| output.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(count("NATS: disconnected"), 1, "{output}");
    assert_eq!(count("NATS: connected to"), 2, "{output}");
}

#[tokio::test]
async fn daemon_killed_with_articles_in_the_outbox_loses_nothing_and_duplicates_nothing() {
    if common::skip_without_nats_server() {
        return;
    }
    let site = Site::start().await;
    for slug in ["k1", "k2", "k3", "k4", "k5"] {
        site.publish(Format::Rss, slug);
    }
    // The broker is down: articles are accepted into an outbox of 3 that
    // cannot drain, and the pipeline is held back (backpressure).
    let mut server = NatsServer::reserve();
    let ws = Workspace::new();
    write_config(
        &ws,
        &site,
        &server,
        "1s",
        "outbox_capacity = 3\ndrain_timeout = \"1s\"",
    );
    let mut daemon = ws.command("run").spawn().expect("start daemon");
    wait_until(Duration::from_secs(20), "5 article files", || {
        ws.articles().len() == 5
    })
    .await;
    signal(&daemon, "KILL");
    daemon.wait().await.expect("wait");

    let check = ws
        .command("check-config")
        .output()
        .await
        .expect("check-config");
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        report.contains("NATS outbox: 3 articles waiting for the broker"),
        "the outbox is bounded: {report}"
    );

    // The broker comes back. One article is already in the stream, as if it
    // had been published and then the daemon died before recording the ack.
    server.restart().await;
    let ids = file_ids(&ws);
    let stored_early = ids.first().expect("an article").clone();
    let client = async_nats::connect(server.url()).await.expect("connect");
    let js = async_nats::jetstream::new(client);
    js.create_stream(async_nats::jetstream::stream::Config {
        name: STREAM.into(),
        subjects: vec!["thresher.articles.*".into()],
        duplicate_window: Duration::from_secs(7200),
        ..Default::default()
    })
    .await
    .expect("create stream");
    let payload = std::fs::read(
        ws.output()
            .join("gazette")
            .join(format!("{stored_early}.json")),
    )
    .expect("article file");
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(async_nats::header::NATS_MESSAGE_ID, stored_early.as_str());
    js.publish_with_headers("thresher.articles.gazette", headers, payload.into())
        .await
        .expect("publish")
        .await
        .expect("ack");

    write_config(&ws, &site, &server, "1s", "drain_timeout = \"20s\"");
    // The article that found the outbox full was postponed by retry_backoff
    // (1s here); `once` takes retries that are due when it starts.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let output = ws.once().await;
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("NATS outbox empty"), "{log}");
    assert_each_once(&server, &ids).await;
    assert_eq!(ids.len(), 5);
}

/// Runs `thresher once` where articles cannot reach the broker: it must
/// finish, say so and exit 4, not 0.
async fn once_undelivered(ws: &Workspace) -> std::process::Output {
    let output = ws.command("once").output().await.expect("run once");
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(4),
        "undelivered articles: exit 4\n{log}"
    );
    assert!(
        log.contains("not every accepted article reached every output")
            && log.contains("in the NATS outbox"),
        "{log}"
    );
    output
}

#[tokio::test]
async fn once_with_the_broker_down_says_how_many_articles_stay_queued_and_the_next_run_sends_them()
{
    if common::skip_without_nats_server() {
        return;
    }
    let site = Site::start().await;
    site.publish(Format::Rss, "q1");
    site.publish(Format::Rss, "q2");
    let mut server = NatsServer::reserve();
    let ws = Workspace::new();
    write_config(&ws, &site, &server, "1h", "drain_timeout = \"1s\"");

    let output = once_undelivered(&ws).await;
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("2 articles stay in the NATS outbox"), "{log}");

    server.restart().await;
    write_config(&ws, &site, &server, "1h", "drain_timeout = \"20s\"");
    ws.once().await;
    assert_each_once(&server, &file_ids(&ws)).await;
}

#[tokio::test]
async fn an_existing_stream_without_our_subjects_is_reported_and_nothing_is_published() {
    if common::skip_without_nats_server() {
        return;
    }
    let site = Site::start().await;
    site.publish(Format::Rss, "mismatch");
    let server = NatsServer::start().await;
    let client = async_nats::connect(server.url()).await.expect("connect");
    let js = async_nats::jetstream::new(client);
    js.create_stream(async_nats::jetstream::stream::Config {
        name: STREAM.into(),
        subjects: vec!["other.>".into()],
        ..Default::default()
    })
    .await
    .expect("create stream");
    let ws = Workspace::new();
    write_config(&ws, &site, &server, "1h", "drain_timeout = \"1s\"");

    let output = once_undelivered(&ws).await;
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("which do not cover \"thresher.articles.*\""),
        "{log}"
    );
    assert!(log.contains("1 article stays in the NATS outbox"), "{log}");
    assert!(server.messages(STREAM).await.is_empty());
}

#[tokio::test]
async fn credentials_come_from_the_environment() {
    if common::skip_without_nats_server() {
        return;
    }
    let site = Site::start().await;
    site.publish(Format::Rss, "secret");
    let server = NatsServer::start_with_auth("thresher", "s3cret-pass").await;
    let ws = Workspace::new();
    write_config(&ws, &site, &server, "1h", "drain_timeout = \"1s\"");

    // Without credentials the server refuses; the article waits, and the
    // password never appears in the log.
    let output = once_undelivered(&ws).await;
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("NATS: cannot connect"), "{log}");
    assert!(log.contains("1 article stays in the NATS outbox"), "{log}");

    // A half-given pair is a clear start-up error.
    let half = ws
        .command("once")
        .env("THRESHER_NATS_USER", "thresher")
        .output()
        .await
        .expect("run");
    assert!(!half.status.success());
    assert!(
        String::from_utf8_lossy(&half.stderr).contains("THRESHER_NATS_PASSWORD"),
        "{}",
        String::from_utf8_lossy(&half.stderr)
    );

    write_config(&ws, &site, &server, "1h", "drain_timeout = \"20s\"");
    let output = ws
        .command("once")
        .env("THRESHER_NATS_USER", "thresher")
        .env("THRESHER_NATS_PASSWORD", "s3cret-pass")
        .output()
        .await
        .expect("run");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    assert!(!log.contains("s3cret-pass"), "{log}");
    assert_each_once(&server, &file_ids(&ws)).await;
}

#[tokio::test]
async fn daemon_killed_while_publishing_loses_nothing_and_duplicates_nothing() {
    if common::skip_without_nats_server() {
        return;
    }
    let site = Site::start().await;
    let slugs: Vec<String> = (0..30).map(|i| format!("live-{i}")).collect();
    for slug in &slugs {
        site.publish(Format::Rss, slug);
    }
    let server = NatsServer::start().await;
    let ws = Workspace::new();
    // Killed mid-run, as soon as the first article is in the stream: the
    // others are in the stream, in the outbox or still pending. (An article
    // acknowledged but not yet removed from the outbox, the narrowest window,
    // is set up deterministically in the test above.)
    write_config(&ws, &site, &server, "1s", "max_in_flight = 1");
    let mut daemon = ws.command("run").spawn().expect("start daemon");
    wait_for_messages(&server, 1, Duration::from_secs(20)).await;
    signal(&daemon, "KILL");
    daemon.wait().await.expect("wait");

    write_config(&ws, &site, &server, "1h", "drain_timeout = \"20s\"");
    let output = ws.once().await;
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("NATS outbox empty"), "{log}");
    let ids = file_ids(&ws);
    assert_eq!(ids.len(), 30, "{log}");
    assert_each_once(&server, &ids).await;
}

/// The test below, which the runs it starts leave out.
const SKIP_CHECK: &str =
    "without_a_nats_server_every_nats_test_says_it_skipped_and_fails_when_required";

/// Runs this test binary again, every test but the one below, where no
/// `nats-server` can be found (`THRESHER_NATS_SERVER` names a file that is
/// not there), with `THRESHER_REQUIRE_NATS` set to `require` (unset for
/// `None`). Returns the output, its stdout and the number libtest's `test
/// result:` line gives for `what` (`passed`, `failed`).
fn rerun_without_nats_server(require: Option<&str>, what: &str) -> (Output, String, usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = std::process::Command::new(std::env::current_exe().expect("test binary"));
    command
        .args(["--skip", SKIP_CHECK])
        .env(common::NATS_SERVER, dir.path().join("nats-server"))
        .env_remove(common::REQUIRE_NATS);
    if let Some(value) = require {
        command.env(common::REQUIRE_NATS, value);
    }
    let output = command.output().expect("run the NATS tests again");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let count = stdout
        .lines()
        .find_map(|l| l.strip_prefix("test result: "))
        .and_then(|l| {
            // "ok. 8 passed; 0 failed; 0 ignored; …"
            l.split(';').find_map(|part| {
                let mut words = part.split_whitespace().rev();
                (words.next() == Some(what)).then(|| words.next()?.parse().ok())?
            })
        })
        .unwrap_or_else(|| panic!("no `{what}` count in:\n{stdout}"));
    (output, stdout, count)
}

#[test]
fn without_a_nats_server_every_nats_test_says_it_skipped_and_fails_when_required() {
    // A developer without nats-server: every test says why it did not run.
    let (output, stdout, passed) = rerun_without_nats_server(None, "passed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(passed >= 8, "the NATS tests ran: {stdout}");
    let skipped: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(": skipped: "))
        .collect();
    assert_eq!(
        skipped.len(),
        passed,
        "each test says it skipped:\n{stderr}"
    );
    for line in &skipped {
        assert!(
            line.contains("THRESHER_NATS_SERVER: cannot run")
                && line.contains(".ci/run installs it"),
            "{line}"
        );
    }
    assert!(
        skipped
            .iter()
            .any(|l| l.starts_with("nats_only_output_writes_no_files: ")),
        "the line names the test: {stderr}"
    );
    // Anything but 1 does not require it.
    let (output, stdout, _) = rerun_without_nats_server(Some("0"), "passed");
    assert!(output.status.success(), "{stdout}");

    // CI (`.ci/run` sets THRESHER_REQUIRE_NATS=1): the same tests fail.
    let (output, stdout, failed) = rerun_without_nats_server(Some("1"), "failed");
    assert!(!output.status.success(), "{stdout}");
    assert_eq!(failed, passed, "every NATS test fails: {stdout}");
    assert!(
        stdout.contains("THRESHER_REQUIRE_NATS=1, but THRESHER_NATS_SERVER: cannot run"),
        "{stdout}"
    );
}
