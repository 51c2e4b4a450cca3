//! Faults at the far end: the real `thresher` binary against a real HTTP
//! server on 127.0.0.1 that fails the way real sites do (error statuses,
//! stalls, resets, bombs, redirect loops, legacy encodings, broken feeds,
//! robots.txt, private addresses). Every test has a healthy source on another
//! server beside the faulty one, and checks that its article is still written.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::fault::*;
use common::{Format, Workspace, article_html, marker_of};

/// A raw TCP server that answers `/robots.txt` with 404 and resets every
/// other connection once the request line has arrived (closing a socket with
/// unread data makes the kernel send RST). Returns its address and the
/// request lines it saw.
async fn start_resetter() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local addr");
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                // Byte by byte, so that the headers stay unread in the kernel.
                let mut line = Vec::new();
                let mut byte = [0u8; 1];
                while !line.ends_with(b"\r\n") {
                    match stream.read(&mut byte).await {
                        Ok(1) => line.push(byte[0]),
                        _ => return,
                    }
                }
                let line = String::from_utf8_lossy(&line).trim().to_string();
                let robots = line.starts_with("GET /robots.txt ");
                log.lock().expect("resetter log").push(line);
                if robots {
                    let mut rest = Vec::new();
                    while !rest.ends_with(b"\r\n\r\n") && !rest.ends_with(b"\n\n") {
                        match stream.read(&mut byte).await {
                            Ok(1) => rest.push(byte[0]),
                            _ => return,
                        }
                    }
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        )
                        .await;
                }
                // Dropped with the request headers unread: RST.
            });
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_answering_500_once_is_delivered_by_the_quick_retry_of_the_same_once() {
    let healthy = healthy_site("healthy-500").await;
    let faulty = FaultServer::start().await;
    let url = faulty.url("/a/flaky-500");
    faulty.route("/feed.xml", vec![Reply::rss(&[("flaky-500", url.clone())])]);
    faulty.route(
        "/a/flaky-500",
        vec![Reply::status(500, &[]), Reply::article("flaky-500")],
    );
    let ws = Workspace::new();
    config(&ws, faulty.url("/feed.xml"), &healthy, "", FAST);

    let (output, log, _) = run_once(&ws).await;

    assert_exit(&output, 0, &log);
    assert_eq!(faulty.hits("/a/flaky-500"), 2, "one 500, one retry\n{log}");
    assert_written(&ws, &url, "flaky-500", &log);
    assert_healthy(&ws, &healthy, "healthy-500", &log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_retry_after_keeps_the_host_untouched_until_then_and_a_later_once_delivers() {
    let healthy = healthy_site("healthy-429").await;
    let faulty = FaultServer::start().await;
    let limited = faulty.url("/a/limited");
    let other = faulty.url("/a/other");
    // `limited` is listed (and, with one fetch at a time, fetched) before `other`.
    faulty.route(
        "/feed.xml",
        vec![Reply::rss(&[
            ("limited", limited.clone()),
            ("other", other.clone()),
        ])],
    );
    faulty.route(
        "/a/limited",
        vec![
            Reply::status(429, &[("retry-after", "1")]),
            Reply::article("limited"),
        ],
    );
    faulty.route("/a/other", vec![Reply::article("other")]);
    let ws = Workspace::new();
    config(
        &ws,
        faulty.url("/feed.xml"),
        &healthy,
        "fetch_concurrency = 1",
        FAST,
    );

    let (output, log, _) = run_once(&ws).await;

    assert_exit(&output, 0, &log);
    assert_eq!(
        faulty.hits("/a/limited"),
        1,
        "a 429 is not retried at once\n{log}"
    );
    assert_not_written(&ws, &limited, &log);
    // `once` waits for the host's Retry-After rather than skipping its other article…
    assert_written(&ws, &other, "other", &log);
    assert_healthy(&ws, &healthy, "healthy-429", &log);
    // …and nothing reached the host before the Retry-After had elapsed.
    let requests = faulty.requests();
    let limited_at = requests
        .iter()
        .find(|(p, _)| p == "/a/limited")
        .map(|(_, at)| *at)
        .expect("limited requested");
    let later: Vec<_> = requests.iter().filter(|(_, at)| *at > limited_at).collect();
    assert!(!later.is_empty(), "other was fetched after the 429");
    for (path, at) in later {
        let gap = at.duration_since(limited_at);
        assert!(
            gap >= Duration::from_secs(1),
            "{path} requested {gap:?} after the 429 with Retry-After: 1\n{log}"
        );
    }

    // Past the Retry-After, the next `once` retries the article and writes it.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (output, log, _) = run_once(&ws).await;
    assert_exit(&output, 0, &log);
    assert_eq!(faulty.hits("/a/limited"), 2, "{log}");
    assert_written(&ws, &limited, "limited", &log);
    assert_eq!(faulty.hits("/a/other"), 1, "other not fetched again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_answering_503_is_logged_and_exits_3_while_the_healthy_source_delivers() {
    let healthy = healthy_site("healthy-503").await;
    let faulty = FaultServer::start().await;
    faulty.route("/feed.xml", vec![Reply::status(503, &[])]);
    let ws = Workspace::new();
    config(&ws, faulty.url("/feed.xml"), &healthy, "", FAST);

    let (output, log, _) = run_once(&ws).await;

    assert_exit(&output, 3, &log);
    assert_logged(&log, &["source \"faulty\"", "503"]);
    // A 503 blocks the host: no quick retry of the feed.
    assert_eq!(faulty.hits("/feed.xml"), 1, "{log}");
    assert_healthy(&ws, &healthy, "healthy-503", &log);
    assert_eq!(ws.articles().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_connection_and_headers_that_never_come_are_skipped_within_bounded_time() {
    let healthy = healthy_site("healthy-hang").await;
    let faulty = FaultServer::start().await;
    let (resetter, reset_log) = start_resetter().await;
    let hanging = faulty.url("/a/hanging");
    let reset = format!("http://{resetter}/a/reset");
    faulty.route(
        "/feed.xml",
        vec![Reply::rss(&[
            ("hanging", hanging.clone()),
            ("reset", reset.clone()),
        ])],
    );
    faulty.route("/a/hanging", vec![Reply::Hang(Duration::from_secs(30))]);
    let ws = Workspace::new();
    config(&ws, faulty.url("/feed.xml"), &healthy, "", FAST);

    let (output, log, elapsed) = run_once(&ws).await;

    assert_exit(&output, 0, &log);
    assert!(
        elapsed < Duration::from_secs(15),
        "once took {elapsed:?}\n{log}"
    );
    assert_not_written(&ws, &hanging, &log);
    assert_not_written(&ws, &reset, &log);
    assert_healthy(&ws, &healthy, "healthy-hang", &log);
    // Both are transient: tried once more (retries = 1), then left for a later retry.
    assert_eq!(faulty.hits("/a/hanging"), 2, "{log}");
    assert_logged(&log, &[&hanging, "timed out"]);
    let reset_requests = reset_log
        .lock()
        .expect("resetter log")
        .iter()
        .filter(|l| l.starts_with("GET /a/reset "))
        .count();
    assert_eq!(reset_requests, 2, "{log}");
    assert_logged(&log, &[&reset, "attempts failed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stalls_past_the_read_timeout_is_skipped_as_a_timeout() {
    let healthy = healthy_site("healthy-drip").await;
    let faulty = FaultServer::start().await;
    let dripping = faulty.url("/a/dripping");
    faulty.route(
        "/feed.xml",
        vec![Reply::rss(&[("dripping", dripping.clone())])],
    );
    let page = article_html("dripping");
    faulty.route(
        "/a/dripping",
        vec![Reply::Drip {
            head: page.as_bytes()[..page.len() / 2].to_vec(),
            stall: Duration::from_secs(10),
        }],
    );
    let ws = Workspace::new();
    config(&ws, faulty.url("/feed.xml"), &healthy, "", FAST);

    let (output, log, elapsed) = run_once(&ws).await;

    assert_exit(&output, 0, &log);
    assert!(
        elapsed < Duration::from_secs(15),
        "once took {elapsed:?}\n{log}"
    );
    assert_not_written(&ws, &dripping, &log);
    assert_logged(&log, &[&dripping, "timed out"]);
    assert_eq!(faulty.hits("/a/dripping"), 2, "retried once\n{log}");
    assert_healthy(&ws, &healthy, "healthy-drip", &log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_bomb_is_cut_off_at_the_decompressed_size_limit() {
    use std::io::Write as _;
    let healthy = healthy_site("healthy-bomb").await;
    let faulty = FaultServer::start().await;
    // 100 MB of spaces after an HTML head: about 100 KB gzipped.
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(b"<!DOCTYPE html><html><head><title>Bomb</title></head><body><p>")
        .expect("gzip");
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..100 {
        gzip.write_all(&spaces).expect("gzip");
    }
    let bomb = gzip.finish().expect("gzip");
    assert!(
        bomb.len() < 1_000_000,
        "the bomb itself is small: {}",
        bomb.len()
    );
    let url = faulty.url("/a/bomb");
    faulty.route("/feed.xml", vec![Reply::rss(&[("bomb", url.clone())])]);
    faulty.route(
        "/a/bomb",
        vec![Reply::full(
            200,
            &[
                ("content-type", "text/html; charset=utf-8"),
                ("content-encoding", "gzip"),
            ],
            bomb,
        )],
    );
    let ws = Workspace::new();
    config(
        &ws,
        faulty.url("/feed.xml"),
        &healthy,
        "",
        "max_body_bytes = 1_000_000",
    );

    let (output, log, _) = run_once(&ws).await;

    assert_exit(&output, 0, &log);
    assert_not_written(&ws, &url, &log);
    assert_logged(&log, &[&url, "1000000-byte limit", "not retried"]);
    assert_eq!(faulty.hits("/a/bomb"), 1);
    assert_healthy(&ws, &healthy, "healthy-bomb", &log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mb_streamed_page_is_skipped_at_the_default_10_mb_cap_without_reading_it_all() {
    let healthy = healthy_site("healthy-big").await;
    let faulty = FaultServer::start().await;
    let url = faulty.url("/a/huge");
    faulty.route("/feed.xml", vec![Reply::rss(&[("huge", url.clone())])]);
    faulty.route("/a/huge", vec![Reply::Endless { total: 50_000_000 }]);
    let ws = Workspace::new();
    config(&ws, faulty.url("/feed.xml"), &healthy, "", "");

    let (output, log, elapsed) = run_once(&ws).await;

    assert_exit(&output, 0, &log);
    assert!(
        elapsed < Duration::from_secs(20),
        "once took {elapsed:?}\n{log}"
    );
    assert_not_written(&ws, &url, &log);
    assert_logged(&log, &[&url, "10000000-byte limit"]);
    assert_eq!(faulty.hits("/a/huge"), 1, "too large is not retried");
    let streamed = faulty.streamed();
    assert!(
        streamed < 30_000_000,
        "the reader stopped near the cap, not at the end: {streamed} bytes sent"
    );
    assert_healthy(&ws, &healthy, "healthy-big", &log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_loops_and_redirects_to_file_urls_are_refused() {
    let healthy = healthy_site("healthy-redirect").await;
    let faulty = FaultServer::start().await;
    let looping = faulty.url("/loop/a");
    let to_file = faulty.url("/go/passwd");
    faulty.route(
        "/feed.xml",
        vec![Reply::rss(&[
            ("loop", looping.clone()),
            ("passwd", to_file.clone()),
        ])],
    );
    faulty.route("/loop/a", vec![Reply::redirect("/loop/b")]);
    faulty.route("/loop/b", vec![Reply::redirect(&faulty.url("/loop/a"))]);
    faulty.route("/go/passwd", vec![Reply::redirect("file:///etc/passwd")]);
    let ws = Workspace::new();
    config(&ws, faulty.url("/feed.xml"), &healthy, "", FAST);

    let (output, log, _) = run_once(&ws).await;

    assert_exit(&output, 0, &log);
    assert_not_written(&ws, &looping, &log);
    assert_not_written(&ws, &to_file, &log);
    assert_logged(&log, &[&looping, "redirect", "not retried"]);
    assert_logged(&log, &[&to_file, "redirect", "not retried"]);
    assert_eq!(faulty.hits("/loop/a"), 1, "{log}");
    assert_eq!(faulty.hits("/loop/b"), 1, "{log}");
    assert_healthy(&ws, &healthy, "healthy-redirect", &log);
    assert_eq!(ws.articles().len(), 1);
}

/// An article page whose body holds `paragraph`, with `meta` in place of the
/// UTF-8 `<meta charset>`.
fn page_with(slug: &str, meta: &str, paragraph: &str) -> String {
    let page = article_html(slug).replacen("<meta charset=\"utf-8\">", meta, 1);
    let marker = marker_of(slug);
    page.replacen(&marker, &format!("{marker} {paragraph}"), 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_1252_by_header_and_shift_jis_by_meta_are_decoded_to_unicode() {
    let healthy = healthy_site("healthy-enc").await;
    let faulty = FaultServer::start().await;
    let latin = "The café’s owner said “we will reopen” — prices stay at €4.";
    let japanese = "港湾委員会は再開発計画を承認した。新しい岸壁は来春に開業する。";
    let cp1252_page = page_with("cp1252", "", latin);
    let (cp1252, _, lossy) = encoding_rs::WINDOWS_1252.encode(&cp1252_page);
    assert!(!lossy);
    // Shift_JIS has no ©: the page's footer says (c) instead.
    let sjis_page = page_with("sjis", "<meta charset=\"Shift_JIS\">", japanese).replace('©', "(c)");
    let (sjis, _, lossy) = encoding_rs::SHIFT_JIS.encode(&sjis_page);
    assert!(!lossy);
    assert!(std::str::from_utf8(&cp1252).is_err() && std::str::from_utf8(&sjis).is_err());
    let cp1252_url = faulty.url("/a/cp1252");
    let sjis_url = faulty.url("/a/sjis");
    faulty.route(
        "/feed.xml",
        vec![Reply::rss(&[
            ("cp1252", cp1252_url.clone()),
            ("sjis", sjis_url.clone()),
        ])],
    );
    faulty.route(
        "/a/cp1252",
        vec![Reply::full(
            200,
            &[("content-type", "text/html; charset=windows-1252")],
            cp1252.into_owned(),
        )],
    );
    faulty.route(
        "/a/sjis",
        vec![Reply::full(
            200,
            &[("content-type", "text/html")],
            sjis.into_owned(),
        )],
    );
    let ws = Workspace::new();
    config(&ws, faulty.url("/feed.xml"), &healthy, "", FAST);

    let (output, log, _) = run_once(&ws).await;

    assert_exit(&output, 0, &log);
    for (url, slug, text) in [
        (&cp1252_url, "cp1252", latin),
        (&sjis_url, "sjis", japanese),
    ] {
        assert_written(&ws, url, slug, &log);
        let article = written(&ws, url).expect("written");
        let body = article["text"].as_str().expect("text");
        assert!(body.contains(text), "{slug}: {text:?} not in {body:?}");
        assert!(
            !body.contains('\u{fffd}'),
            "{slug}: replacement characters in {body:?}"
        );
    }
    assert_healthy(&ws, &healthy, "healthy-enc", &log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_feed_keeps_its_complete_items_and_says_it_was_recovered() {
    let healthy = healthy_site("healthy-trunc").await;
    let faulty = FaultServer::start().await;
    let first = faulty.url("/a/first");
    let full = rss_text(&[
        ("first", first.clone()),
        ("second", faulty.url("/a/second")),
    ]);
    // Cut in the middle of the second item.
    let cut = full
        .find("<item><title>Harbour council approves plan second")
        .expect("second item")
        + 30;
    faulty.route(
        "/feed.xml",
        vec![Reply::full(
            200,
            &[("content-type", "application/rss+xml")],
            &full[..cut],
        )],
    );
    faulty.route("/a/first", vec![Reply::article("first")]);
    let ws = Workspace::new();
    config(&ws, faulty.url("/feed.xml"), &healthy, "", FAST);

    let (output, log, _) = run_once(&ws).await;

    // What a browser would show of the cut feed is read: the first item.
    assert_exit(&output, 0, &log);
    assert_logged(
        &log,
        &["source \"faulty\"", "feed recovered from", "left open"],
    );
    assert_written(&ws, &first, "first", &log);
    assert_eq!(faulty.hits("/a/second"), 0, "the cut item has no link yet");
    assert_healthy(&ws, &healthy, "healthy-trunc", &log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_whose_entries_all_lack_a_link_is_a_failed_poll_not_a_healthy_one() {
    let healthy = healthy_site("healthy-nolinks").await;
    let faulty = FaultServer::start().await;
    let items = "<item><title>One</title><guid isPermaLink=\"false\">tag:x,1</guid></item>\
                 <item><title>Two</title><description>no link at all</description></item>";
    faulty.route(
        "/feed.xml",
        vec![Reply::full(
            200,
            &[("content-type", "application/rss+xml")],
            format!("<rss version=\"2.0\"><channel><title>T</title>{items}</channel></rss>"),
        )],
    );
    let ws = Workspace::new();
    config(&ws, faulty.url("/feed.xml"), &healthy, "", FAST);

    let (output, log, _) = run_once(&ws).await;

    assert_exit(&output, 3, &log);
    assert_logged(
        &log,
        &["source \"faulty\"", "lists 2 entries but none has a usable"],
    );
    assert_healthy(&ws, &healthy, "healthy-nolinks", &log);
    let status = check_config_output(&ws).await;
    assert!(
        status.contains("failing (1 in a row)") && status.contains("poll failures: no_entries 1"),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_page_given_as_feed_is_followed_to_the_feed_it_advertises() {
    let healthy = healthy_site("healthy-disc").await;
    let faulty = FaultServer::start().await;
    let url = faulty.url("/a/discovered");
    faulty.route(
        "/news",
        vec![Reply::html(
            "<!DOCTYPE html><html><head><title>News</title>\
             <link rel=\"alternate\" type=\"application/rss+xml\" title=\"RSS\" href=\"/real.xml\">\
             </head><body><h1>Latest news</h1></body></html>",
        )],
    );
    faulty.route(
        "/real.xml",
        vec![Reply::rss(&[("discovered", url.clone())])],
    );
    faulty.route("/a/discovered", vec![Reply::article("discovered")]);
    let ws = Workspace::new();
    config(&ws, faulty.url("/news"), &healthy, "", FAST);

    let (output, log, _) = run_once(&ws).await;

    assert_exit(&output, 0, &log);
    assert_eq!(faulty.hits("/real.xml"), 1, "{log}");
    assert_written(&ws, &url, "discovered", &log);
    let article = written(&ws, &url).expect("written");
    assert_eq!(
        article["feed_url"].as_str(),
        Some(faulty.url("/news").as_str())
    );
    assert_healthy(&ws, &healthy, "healthy-disc", &log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_txt_disallow_is_obeyed_unless_the_source_opts_out() {
    let healthy = healthy_site("healthy-robots").await;
    let faulty = FaultServer::start().await;
    let private = faulty.url("/private/secret");
    let open = faulty.url("/articles/open");
    faulty.route(
        "/robots.txt",
        vec![Reply::full(
            200,
            &[("content-type", "text/plain")],
            "User-agent: *\nDisallow: /private/\n",
        )],
    );
    faulty.route(
        "/feed.xml",
        vec![Reply::rss(&[
            ("secret", private.clone()),
            ("open", open.clone()),
        ])],
    );
    faulty.route("/private/secret", vec![Reply::article("secret")]);
    faulty.route("/articles/open", vec![Reply::article("open")]);

    let ws = Workspace::new();
    config(&ws, faulty.url("/feed.xml"), &healthy, "", FAST);
    let (output, log, _) = run_once(&ws).await;
    assert_exit(&output, 0, &log);
    assert_eq!(faulty.hits("/private/secret"), 0, "{log}");
    assert_not_written(&ws, &private, &log);
    assert_logged(&log, &[&private, "robots"]);
    assert_written(&ws, &open, "open", &log);
    assert_healthy(&ws, &healthy, "healthy-robots", &log);
    // The refusal is counted per source and kind where operators look.
    let status = check_config_output(&ws).await;
    assert!(status.contains("article failures: robots 1"), "{status}");

    // The same source with `respect_robots_txt = false` fetches it.
    let ws = Workspace::new();
    config(&ws, faulty.url("/feed.xml"), &healthy, "", FAST);
    add_to_source(&ws, "faulty", "fetch = { respect_robots_txt = false }");
    let (output, log, _) = run_once(&ws).await;
    assert_exit(&output, 0, &log);
    assert_eq!(faulty.hits("/private/secret"), 1, "{log}");
    assert_written(&ws, &private, "secret", &log);
    assert_written(&ws, &open, "open", &log);
    assert_healthy(&ws, &healthy, "healthy-robots", &log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_private_network_guard_refuses_loopback_feeds_by_address_and_by_name() {
    let healthy = healthy_site("healthy-guard").await;
    let faulty = FaultServer::start().await;
    faulty.route(
        "/feed.xml",
        vec![Reply::rss(&[("guarded", faulty.url("/a/guarded"))])],
    );
    faulty.route("/a/guarded", vec![Reply::article("guarded")]);
    let ws = Workspace::new();
    let by_name = format!("http://localhost:{}/feed.xml", faulty.addr.port());
    ws.write_config_with_fetch(
        &[
            ("guarded", faulty.url("/feed.xml")),
            ("guarded-dns", by_name),
            ("healthy", healthy.url(Format::Rss.path())),
        ],
        "10m",
        "",
        FAST,
    );
    // The guard's default: no private networks, except for the healthy source.
    let text = std::fs::read_to_string(ws.config_path()).expect("read config");
    assert!(text.contains("allow_private_networks = true\n"));
    std::fs::write(
        ws.config_path(),
        text.replacen("allow_private_networks = true\n", "", 1),
    )
    .expect("write config");
    add_to_source(&ws, "healthy", "fetch = { allow_private_networks = true }");

    let (output, log, _) = run_once(&ws).await;

    assert_exit(&output, 3, &log);
    assert_logged(&log, &["source \"guarded\":", "private-network"]);
    assert_logged(&log, &["source \"guarded-dns\":", "private-network"]);
    assert!(
        faulty.requests().is_empty(),
        "nothing reached the guarded server"
    );
    assert_healthy(&ws, &healthy, "healthy-guard", &log);
    assert_eq!(ws.articles().len(), 1, "only the healthy article");
}
