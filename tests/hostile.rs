//! Hostile input against the running daemon: values from servers and from
//! the configuration that once crashed or stalled it. Each test runs the
//! real `thresher` binary against real HTTP servers on 127.0.0.1 and checks
//! that it keeps working beside a healthy source.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::fault::*;
use common::{Workspace, signal, wait_until};

/// Runs `thresher run` until `ready` holds, checks it is still alive, stops
/// it with SIGTERM and returns its log.
async fn run_until(ws: &Workspace, what: &str, mut ready: impl FnMut() -> bool) -> String {
    let log_path = ws.output().with_file_name("run.log");
    let log = std::fs::File::create(&log_path).expect("create log");
    let mut daemon = ws
        .command("run")
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start run");
    wait_until(Duration::from_secs(30), what, &mut ready).await;
    // Give the scheduler time to take the finished polls back.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let still_running = daemon.try_wait().expect("try_wait").is_none();
    let text = || std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(still_running, "the daemon died:\n{}", text());
    signal(&daemon, "TERM");
    let status = daemon.wait().await.expect("wait");
    let log = text();
    assert!(status.success(), "run exits 0 on SIGTERM: {status}\n{log}");
    assert!(
        !log.contains("panicked") && !log.contains("crashed"),
        "no panic, no crashed stage:\n{log}"
    );
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_too_large_for_any_clock_on_a_failing_feed_does_not_crash_the_daemon() {
    let healthy = healthy_site("healthy-retry-after").await;
    let faulty = FaultServer::start().await;
    // u64::MAX seconds overflowed `Instant + Duration` in the scheduler;
    // 10^14 seconds overflowed `DateTime + TimeDelta`.
    faulty.route(
        "/max.xml",
        vec![Reply::status(
            404,
            &[("retry-after", "18446744073709551615")],
        )],
    );
    faulty.route(
        "/large.xml",
        vec![Reply::status(404, &[("retry-after", "100000000000000")])],
    );
    // A 503 blocks its whole origin, so it gets a server of its own.
    let busy = FaultServer::start().await;
    busy.route(
        "/busy.xml",
        vec![Reply::status(503, &[("retry-after", "100000000000000")])],
    );
    let ws = Workspace::new();
    ws.write_config_with_fetch(
        &[
            ("max", faulty.url("/max.xml")),
            ("large", faulty.url("/large.xml")),
            ("busy", busy.url("/busy.xml")),
            ("healthy", healthy.url(common::Format::Rss.path())),
        ],
        "1s",
        "",
        FAST,
    );

    let log = run_until(
        &ws,
        "the healthy article, every faulty poll and a second poll of the 404",
        || {
            ws.articles().len() == 1
            // Retry-After means nothing on a 404: the source is polled again
            // after its own back-off, not a day later.
            && faulty.hits("/max.xml") >= 2
            && faulty.hits("/large.xml") >= 1
            && busy.hits("/busy.xml") >= 1
        },
    )
    .await;
    assert_logged(&log, &["source \"max\"", "HTTP 404"]);
    assert_logged(&log, &["source \"large\"", "HTTP 404"]);
}
