//! Whole-daemon behaviour: the real `thresher` binary against a real HTTP site on 127.0.0.1.

mod common;

use std::time::{Duration, Instant};

use common::{
    Format, PROMO, SPONSOR_NOTE, Site, Workspace, marker_of, signal, title_of, wait_until,
};

fn sources(site: &Site, formats: &[(&'static str, Format)]) -> Vec<(&'static str, String)> {
    formats
        .iter()
        .map(|(name, f)| (*name, site.url(f.path())))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_writes_one_clean_article_per_item_from_rss_atom_and_json_feeds() {
    let site = Site::start().await;
    for (format, slugs) in [
        (Format::Rss, ["rss-1", "rss-2"]),
        (Format::Atom, ["atom-1", "atom-2"]),
        (Format::Json, ["json-1", "json-2"]),
    ] {
        for slug in slugs {
            site.publish(format, slug);
        }
    }
    let ws = Workspace::new();
    let feeds = [
        ("rss", Format::Rss),
        ("atom", Format::Atom),
        ("json", Format::Json),
    ];
    ws.write_config(&sources(&site, &feeds), "10m", "");

    ws.once().await;

    let files = ws.articles();
    assert_eq!(files.len(), 6, "one file per feed item: {files:?}");
    for (path, article) in files.iter().zip(ws.article_values()) {
        let source = article["source"].as_str().expect("source");
        let id = article["id"].as_str().expect("id");
        assert_eq!(id.len(), 32);
        assert_eq!(
            path.file_stem().and_then(|s| s.to_str()),
            Some(id),
            "file named by id"
        );
        assert_eq!(
            path.parent()
                .and_then(|p| p.file_name())
                .and_then(|s| s.to_str()),
            Some(source),
            "file in its source's folder"
        );
        let url = article["url"].as_str().expect("url");
        let slug = url.rsplit('/').next().expect("slug");
        assert!(slug.starts_with(source), "{url} belongs to source {source}");
        assert_eq!(
            url,
            site.url(&format!("/articles/{slug}")),
            "relative links resolved"
        );
        let (_, format) = feeds
            .iter()
            .find(|(n, _)| *n == source)
            .expect("known source");
        assert_eq!(
            article["feed_url"].as_str(),
            Some(site.url(format.path()).as_str())
        );
        assert_eq!(article["title"].as_str(), Some(title_of(slug).as_str()));
        assert!(article.get("markdown").is_none(), "Markdown is opt-in");
        let text = article["text"].as_str().expect("text");
        assert!(text.contains(&marker_of(slug)), "body kept: {text}");
        assert!(
            !text.contains(&title_of(slug)),
            "headline not repeated in text: {text}"
        );
        assert!(
            !text.contains("\n\n\n"),
            "paragraphs separated by one blank line"
        );
        assert!(article["html"].as_str().expect("html").contains("<p>"));
        let fetched_at = article["fetched_at"].as_str().expect("fetched_at");
        assert!(
            chrono::DateTime::parse_from_rfc3339(fetched_at).is_ok(),
            "{fetched_at}"
        );
        assert!(
            article["published_at"].as_str().is_some(),
            "published_at known"
        );
    }
    for slug in ["rss-1", "rss-2", "atom-1", "atom-2", "json-1", "json-2"] {
        assert_eq!(
            site.hits(&format!("/articles/{slug}")),
            1,
            "{slug} fetched once"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn articles_carry_no_junk_from_the_page_template() {
    let site = Site::start().await;
    site.publish(Format::Rss, "junk-1");
    let ws = Workspace::new();
    ws.write_config(&sources(&site, &[("rss", Format::Rss)]), "10m", "");
    ws.once().await;
    let articles = ws.article_values();
    assert_eq!(articles.len(), 1);
    let text = articles[0]["text"].as_str().expect("text");
    for junk in [
        "clear: both",
        "Please enter your comment",
        "Please enter your name",
        "Share on Facebook",
        "All rights reserved",
        "Related stories",
        "window.dataLayer",
        "font-family",
        "Weather",
    ] {
        assert!(
            !text.contains(junk),
            "junk {junk:?} leaked into text: {text}"
        );
    }
    let standfirst = "Councillors backed the harbour plan after a long debate.";
    assert!(
        text.matches(standfirst).count() <= 1,
        "standfirst at most once: {text}"
    );
    let html = articles[0]["html"].as_str().expect("html");
    assert!(
        !html.contains("<script") && !html.contains("<style") && !html.contains("class="),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_markdown_adds_the_article_as_markdown() {
    let site = Site::start().await;
    site.publish(Format::Rss, "md-1");
    let ws = Workspace::new();
    ws.write_config(&sources(&site, &[("rss", Format::Rss)]), "10m", "");
    let config = std::fs::read_to_string(ws.config_path()).expect("read config");
    let config = config.replace("[output]\n", "[output]\nmarkdown = true\n");
    std::fs::write(ws.config_path(), config).expect("write config");

    ws.once().await;

    let articles = ws.article_values();
    assert_eq!(articles.len(), 1);
    let markdown = articles[0]["markdown"].as_str().expect("markdown field");
    let text = articles[0]["text"].as_str().expect("text");
    // The same paragraphs as the text, in Markdown and without HTML.
    for paragraph in text.split("\n\n") {
        assert!(
            markdown.contains(paragraph),
            "{paragraph:?} not in {markdown}"
        );
    }
    assert!(markdown.contains(&marker_of("md-1")));
    assert!(!markdown.contains("<p>"), "{markdown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_once_writes_nothing_new_and_polls_conditionally() {
    let site = Site::start().await;
    site.publish(Format::Rss, "again-1");
    site.publish(Format::Rss, "again-2");
    let ws = Workspace::new();
    ws.write_config(&sources(&site, &[("rss", Format::Rss)]), "10m", "");
    ws.once().await;
    let first: Vec<_> = ws
        .articles()
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect();
    assert_eq!(first.len(), 2);

    ws.once().await;

    let second: Vec<_> = ws
        .articles()
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect();
    assert_eq!(first, second, "no file added or rewritten");
    assert_eq!(
        site.hits("/articles/again-1"),
        1,
        "article not fetched again"
    );
    assert_eq!(site.hits(Format::Rss.path()), 2);
    assert_eq!(
        site.not_modified(),
        1,
        "second poll was a conditional GET answered 304"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_that_gains_an_item_yields_exactly_one_new_file() {
    let site = Site::start().await;
    site.publish(Format::Atom, "gain-1");
    let ws = Workspace::new();
    ws.write_config(&sources(&site, &[("atom", Format::Atom)]), "10m", "");
    ws.once().await;
    let before = ws.articles();
    assert_eq!(before.len(), 1);

    site.publish(Format::Atom, "gain-2");
    ws.once().await;

    let after = ws.articles();
    assert_eq!(after.len(), 2);
    let new: Vec<_> = after.iter().filter(|p| !before.contains(p)).collect();
    assert_eq!(new.len(), 1);
    let article: serde_json::Value =
        serde_json::from_slice(&std::fs::read(new[0]).expect("read")).expect("json");
    assert_eq!(article["title"].as_str(), Some(title_of("gain-2").as_str()));
    assert_eq!(site.hits("/articles/gain-1"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_run_does_not_duplicate_and_keeps_polling() {
    let site = Site::start().await;
    site.publish(Format::Json, "restart-1");
    site.publish(Format::Json, "restart-2");
    let ws = Workspace::new();
    ws.write_config(&sources(&site, &[("json", Format::Json)]), "1s", "");

    let mut daemon = ws.command("run").spawn().expect("start run");
    wait_until(Duration::from_secs(20), "two articles", || {
        ws.articles().len() == 2
    })
    .await;
    signal(&daemon, "TERM");
    let status = daemon.wait().await.expect("wait");
    assert!(status.success(), "run exits 0 on SIGTERM: {status}");
    let first_run: Vec<_> = ws
        .articles()
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect();

    let mut daemon = ws.command("run").spawn().expect("restart run");
    site.publish(Format::Json, "restart-3");
    wait_until(Duration::from_secs(20), "the new article", || {
        ws.articles().len() == 3
    })
    .await;
    // Let the 1 s interval poll the feed a few more times.
    let polls = site.hits(Format::Json.path());
    wait_until(Duration::from_secs(20), "three more polls", || {
        site.hits(Format::Json.path()) >= polls + 3
    })
    .await;
    signal(&daemon, "TERM");
    assert!(daemon.wait().await.expect("wait").success());

    assert_eq!(
        ws.articles().len(),
        3,
        "nothing duplicated across the restart"
    );
    let files: Vec<_> = ws
        .articles()
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect();
    let rewritten = first_run.iter().filter(|f| !files.contains(f)).count();
    assert_eq!(
        rewritten, 0,
        "articles of the first run were not written again"
    );
    for slug in ["restart-1", "restart-2", "restart-3"] {
        assert_eq!(
            site.hits(&format!("/articles/{slug}")),
            1,
            "{slug} fetched once"
        );
    }
}

/// Starts `run` against a feed listing one article whose request hangs, and
/// returns once that request is in flight.
async fn run_with_article_in_flight(slug: &str) -> (Site, Workspace, tokio::process::Child) {
    let site = Site::start().await;
    site.publish(Format::Rss, slug);
    let ws = Workspace::new();
    ws.write_config(&sources(&site, &[("rss", Format::Rss)]), "10m", "");
    let daemon = ws.command("run").spawn().expect("start run");
    let path = format!("/slow/{slug}");
    wait_until(Duration::from_secs(20), "the article request", || {
        site.hits(&path) == 1
    })
    .await;
    (site, ws, daemon)
}

/// Lets the hanging article through and runs `once` against an empty feed, so
/// only the state store can remember the article; asserts it is written.
async fn assert_written_after_restart(site: &Site, ws: &Workspace, slug: &str) {
    assert!(ws.articles().is_empty());
    site.open_gate();
    let empty_site = Site::start().await;
    ws.write_config(&sources(&empty_site, &[("rss", Format::Rss)]), "10m", "");
    ws.once().await;
    let articles = ws.article_values();
    assert_eq!(
        articles.len(),
        1,
        "the accepted article is written after restart"
    );
    assert_eq!(articles[0]["title"].as_str(), Some(title_of(slug).as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_zero_promptly_and_abandoned_work_is_done_after_restart() {
    let (site, ws, mut daemon) = run_with_article_in_flight("slow-term").await;
    let asked = Instant::now();
    signal(&daemon, "TERM");
    let status = tokio::time::timeout(Duration::from_secs(15), daemon.wait())
        .await
        .expect("daemon exits within 15 s of SIGTERM")
        .expect("wait");
    assert!(status.success(), "exit 0: {status}");
    // shutdown_grace is 3 s in the test config; allow generous scheduling slack.
    assert!(
        asked.elapsed() < Duration::from_secs(12),
        "took {:?}",
        asked.elapsed()
    );
    assert_written_after_restart(&site, &ws, "slow-term").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_accepted_before_a_crash_is_written_after_it() {
    let (site, ws, mut daemon) = run_with_article_in_flight("slow-crash").await;
    signal(&daemon, "KILL");
    let _ = daemon.wait().await;
    assert_written_after_restart(&site, &ws, "slow-crash").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_article_failure_is_retried_without_the_feed_relisting_it() {
    let site = Site::start().await;
    site.publish(Format::Rss, "flaky-1");
    let ws = Workspace::new();
    // A 10-minute interval: the feed is polled once, so only the retry sweep can recover.
    ws.write_config(&sources(&site, &[("rss", Format::Rss)]), "10m", "");
    let mut daemon = ws.command("run").spawn().expect("start run");
    wait_until(Duration::from_secs(20), "the retried article", || {
        ws.articles().len() == 1
    })
    .await;
    signal(&daemon, "TERM");
    assert!(daemon.wait().await.expect("wait").success());
    assert_eq!(site.hits("/flaky/flaky-1"), 2, "one failure, one success");
    assert_eq!(site.hits(Format::Rss.path()), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sink_is_retried_without_using_up_attempts() {
    let site = Site::start().await;
    site.publish(Format::Rss, "sink-1");
    let ws = Workspace::new();
    ws.write_config(
        &sources(&site, &[("rss", Format::Rss)]),
        "10m",
        "max_article_attempts = 2",
    );
    // A file where the source's output folder should be: every write fails.
    std::fs::create_dir_all(ws.output()).expect("mkdir");
    let blocker = ws.output().join("rss");
    std::fs::write(&blocker, b"not a folder").expect("write blocker");

    let mut daemon = ws.command("run").spawn().expect("start run");
    // Each retry fetches the page again; wait for more failures than attempts allowed.
    wait_until(Duration::from_secs(30), "three failed writes", || {
        site.hits("/articles/sink-1") >= 3
    })
    .await;
    std::fs::remove_file(&blocker).expect("remove blocker");
    wait_until(Duration::from_secs(20), "the article", || {
        ws.articles().len() == 1
    })
    .await;
    signal(&daemon, "TERM");
    assert!(daemon.wait().await.expect("wait").success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_feed_is_logged_and_healthy_sources_still_deliver() {
    let site = Site::start().await;
    site.set_raw(
        "broken.xml",
        "<?xml version=\"1.0\"?>this is no feed at all",
    );
    site.publish(Format::Rss, "healthy-1");
    let ws = Workspace::new();
    ws.write_config(
        &[
            ("broken", site.url("/raw/broken.xml")),
            ("healthy", site.url(Format::Rss.path())),
        ],
        "10m",
        "",
    );
    let output = ws.command("once").output().await.expect("run once");
    assert_eq!(
        output.status.code(),
        Some(3),
        "once reports that some sources failed"
    );
    assert_eq!(ws.articles().len(), 1);
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("source \"broken\"") && log.contains("not a valid RSS, Atom or JSON feed"),
        "clear log line: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_overrides_the_output_dir() {
    let site = Site::start().await;
    site.publish(Format::Rss, "env-1");
    let ws = Workspace::new();
    ws.write_config(&sources(&site, &[("rss", Format::Rss)]), "10m", "");
    let elsewhere = ws.dir.path().join("elsewhere");
    let status = ws
        .command("once")
        .env("THRESHER__OUTPUT__DIR", &elsewhere)
        .status()
        .await
        .expect("run");
    assert!(status.success());
    assert!(ws.articles().is_empty());
    assert_eq!(common::json_files(&elsewhere).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_overrides_keep_strings_as_written_and_name_the_variable_on_error() {
    let ws = Workspace::new();
    ws.write_config(&[("a", "http://127.0.0.1:9/a.xml".into())], "5m", "");
    let output = ws
        .command("check-config")
        .env("THRESHER__OUTPUT__DIR", "007")
        .env("THRESHER__PIPELINE__FETCH_CONCURRENCY", "3")
        .env("THRESHER__FETCH__TIMEOUT", "5s")
        .output()
        .await
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("output dir: 007\n"), "{stdout}");

    let output = ws
        .command("check-config")
        .env("THRESHER__PIPELINE__QUEUE_CAPACITY", "0")
        .output()
        .await
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("THRESHER__PIPELINE__QUEUE_CAPACITY"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_config_fails_with_a_message_naming_file_and_key() {
    let ws = Workspace::new();
    let cases = [
        (
            "[[sources]]\nname = \"a\"\nurl = \"http://127.0.0.1:9/f\"\n[[sources]]\nname = \"a\"\nurl = \"http://127.0.0.1:9/g\"\n",
            "sources[1].name",
        ),
        ("[output]\ndirectory = \"x\"\n", "directory"),
        (
            "[[sources]]\nname = \"a\"\nurl = \"http://127.0.0.1:9/f\"\ninterval = \"often\"\n",
            "sources[0].interval",
        ),
        (
            "[[sources]]\nname = \"a\"\nurl = \"127.0.0.1/feed\"\n",
            "sources[0].url",
        ),
    ];
    for (text, key) in cases {
        std::fs::write(ws.config_path(), text).expect("write config");
        for verb in ["once", "check-config", "run"] {
            let output = ws.command(verb).output().await.expect("run");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{verb}: {stderr}");
            assert!(
                stderr.contains(key),
                "{verb}: message names key {key}: {stderr}"
            );
            assert!(
                stderr.contains(&ws.config_path().display().to_string()),
                "{verb}: message names the file: {stderr}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_lists_the_sources() {
    let ws = Workspace::new();
    ws.write_config(
        &[
            ("alpha", "http://127.0.0.1:9/a.xml".into()),
            ("beta", "http://127.0.0.1:9/b.xml".into()),
        ],
        "5m",
        "",
    );
    let output = ws.command("check-config").output().await.expect("run");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("2 sources:"), "{stdout}");
    assert!(
        stdout.contains("alpha") && stdout.contains("http://127.0.0.1:9/b.xml"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_prints_one_article_and_writes_many_with_out() {
    let ws = Workspace::new();
    let page_a = ws.dir.path().join("page-a.html");
    let page_b = ws.dir.path().join("page-b.html");
    std::fs::write(&page_a, common::article_html("cli-a")).expect("write");
    std::fs::write(&page_b, common::article_html("cli-b")).expect("write");

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_thresher"))
        .args(["clean", "--url", "http://127.0.0.1/news/cli-a"])
        .arg(&page_a)
        .output()
        .await
        .expect("run clean");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let article: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(article["title"].as_str(), Some(title_of("cli-a").as_str()));
    assert!(
        article["text"]
            .as_str()
            .expect("text")
            .contains(&marker_of("cli-a"))
    );
    assert_eq!(article["id"].as_str().map(str::len), Some(32));
    assert!(article.get("markdown").is_none());
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_thresher"))
        .args(["clean", "--markdown"])
        .arg(&page_a)
        .output()
        .await
        .expect("run clean --markdown");
    let article: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    let markdown = article["markdown"]
        .as_str()
        .expect("markdown with --markdown");
    assert!(markdown.contains(&marker_of("cli-a")), "{markdown}");

    let out = ws.dir.path().join("out");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_thresher"))
        .arg("clean")
        .arg("--out")
        .arg(&out)
        .args([&page_a, &page_b])
        .output()
        .await
        .expect("run clean --out");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("cleaned 2 of 2 files into "), "{stderr}");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_thresher"))
        .arg("clean")
        .arg("--out")
        .arg(&out)
        .arg(&page_a)
        .output()
        .await
        .expect("run clean --out");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cleaned 1 of 1 file into "),
        "one file is one file: {stderr}"
    );
    for stem in ["page-a", "page-b"] {
        let bytes = std::fs::read(out.join(format!("{stem}.json"))).expect("written");
        let article: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert!(article["text"].as_str().is_some_and(|t| !t.is_empty()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_without_url_prints_the_pages_own_canonical_url_but_no_id_or_url() {
    let ws = Workspace::new();
    let clean = |name: &str, head: &str, args: &[&str]| {
        let page = ws.dir.path().join(name);
        let html = common::article_html("cli-canonical").replacen(
            "<meta charset=\"utf-8\">",
            &format!("<meta charset=\"utf-8\">{head}"),
            1,
        );
        std::fs::write(&page, html).expect("write page");
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_thresher"))
            .arg("clean")
            .args(args)
            .arg(&page)
            .output()
            .expect("run clean");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("JSON on stdout")
    };
    let link =
        r#"<link rel="canonical" href="https://news.example.org/2024/03/harbour?utm_source=feed">"#;

    // Without --url: the page's canonical link, as it is (nothing to
    // compare its site with, so nothing is stripped), and no id or url.
    let article = clean("linked.html", link, &[]);
    assert_eq!(
        article["canonical_url"].as_str(),
        Some("https://news.example.org/2024/03/harbour?utm_source=feed"),
        "{article}"
    );
    assert!(
        article.get("id").is_none() && article.get("url").is_none(),
        "{article}"
    );
    // og:url when there is no canonical link.
    let og = r#"<meta property="og:url" content="https://news.example.org/og">"#;
    let article = clean("og.html", og, &[]);
    assert_eq!(
        article["canonical_url"].as_str(),
        Some("https://news.example.org/og")
    );
    // Neither, or a relative one: left out.
    let article = clean("none.html", "", &[]);
    assert!(article.get("canonical_url").is_none(), "{article}");
    let relative = r#"<link rel="canonical" href="/2024/03/harbour">"#;
    let article = clean("relative.html", relative, &[]);
    assert!(article.get("canonical_url").is_none(), "{article}");

    // With --url on the same site: canonicalised, and the id derives from it.
    let article = clean(
        "linked.html",
        link,
        &["--url", "https://news.example.org/go/123"],
    );
    assert_eq!(
        article["canonical_url"].as_str(),
        Some("https://news.example.org/2024/03/harbour"),
        "{article}"
    );
    assert_eq!(
        article["url"].as_str(),
        Some("https://news.example.org/go/123")
    );
    assert_eq!(article["id"].as_str().map(str::len), Some(32));
}

#[test]
fn clean_piped_into_a_reader_that_went_away_ends_quietly() {
    let ws = Workspace::new();
    let page = ws.dir.path().join("page.html");
    std::fs::write(&page, common::article_html("cli-pipe")).expect("write");
    // A pipe whose reading end is already closed, as after `| head -1` exits.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_thresher"))
        .arg("clean")
        .arg(&page)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run clean");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boilerplate_learned_from_three_pages_of_a_host_is_dropped_from_the_next() {
    let site = Site::start().await;
    for slug in ["promo-1", "promo-2", "promo-3"] {
        site.publish(Format::Rss, slug);
    }
    let ws = Workspace::new();
    ws.write_config(&sources(&site, &[("rss", Format::Rss)]), "10m", "");
    ws.once().await;
    let first = ws.article_values();
    assert_eq!(first.len(), 3);
    // Nothing to learn from yet: the general method keeps the appeal.
    for article in &first {
        assert!(
            article["text"].as_str().is_some_and(|t| t.contains(PROMO)),
            "{article}"
        );
    }

    site.publish(Format::Rss, "promo-4");
    ws.once().await;
    let fourth = ws
        .article_values()
        .into_iter()
        .find(|a| a["url"].as_str().is_some_and(|u| u.ends_with("promo-4")))
        .expect("fourth article written");
    let text = fourth["text"].as_str().expect("text");
    assert!(!text.contains(PROMO), "learned template dropped: {text}");
    assert!(
        !fourth["html"]
            .as_str()
            .expect("html")
            .contains("become a member")
    );
    assert!(
        text.contains(&marker_of("promo-4")),
        "article text kept: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_rule_removes_what_the_general_method_keeps() {
    let site = Site::start().await;
    site.publish(Format::Rss, "sponsored-1");
    site.publish(Format::Atom, "sponsored-2");
    let ws = Workspace::new();
    ws.write_config(
        &sources(&site, &[("plain", Format::Rss), ("ruled", Format::Atom)]),
        "10m",
        "",
    );
    let config = std::fs::read_to_string(ws.config_path()).expect("read config");
    let ruled = config.replacen(
        "name = \"ruled\"",
        "name = \"ruled\"\nrules = { remove = [\".x-note\"], content = \"div.article-body\" }",
        1,
    );
    std::fs::write(ws.config_path(), ruled).expect("write config");
    ws.once().await;
    let articles = ws.article_values();
    assert_eq!(articles.len(), 2);
    for article in &articles {
        let text = article["text"].as_str().expect("text");
        let slug = article["url"]
            .as_str()
            .and_then(|u| u.rsplit('/').next())
            .expect("slug");
        assert!(text.contains(&marker_of(slug)), "{text}");
        match article["source"].as_str() {
            Some("plain") => assert!(
                text.contains(SPONSOR_NOTE),
                "general method keeps it: {text}"
            ),
            Some("ruled") => assert!(!text.contains(SPONSOR_NOTE), "rule removes it: {text}"),
            other => panic!("unexpected source {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_explain_shows_why_blocks_were_kept_or_removed_including_source_rules() {
    let ws = Workspace::new();
    let page = ws.dir.path().join("page.html");
    std::fs::write(&page, common::article_html("sponsored-x")).expect("write");
    ws.write_config(
        &[("ruled", "http://127.0.0.1:9/feed.xml".into())],
        "10m",
        "",
    );
    let config = std::fs::read_to_string(ws.config_path()).expect("read config");
    let ruled = config.replacen(
        "name = \"ruled\"",
        "name = \"ruled\"\nrules = { remove = [\".x-note\"] }",
        1,
    );
    std::fs::write(ws.config_path(), ruled).expect("write config");

    let explain = |with_rules: bool| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_thresher"));
        command.args(["clean", "--explain"]);
        if with_rules {
            command
                .args(["--source", "ruled", "--config"])
                .arg(ws.config_path());
        }
        command.arg(&page).output()
    };
    let line_with = |stdout: &str, needle: &str| -> String {
        stdout
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{stdout}"))
            .to_string()
    };

    let output = explain(false).await.expect("run clean --explain");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "{stdout}");
    let body = line_with(&stdout, "The harbour council voted");
    assert!(body.starts_with("yes"), "{body}");
    assert!(
        line_with(&stdout, "Leave a Reply").starts_with("no"),
        "{stdout}"
    );
    assert!(
        line_with(&stdout, "Share on Facebook").starts_with("no"),
        "{stdout}"
    );
    // The general method keeps the sponsor note...
    assert!(
        line_with(&stdout, "Harbour Trust").starts_with("yes"),
        "{stdout}"
    );

    // ...and the source's rule removes it, saying so.
    let output = explain(true).await.expect("run clean --explain --source");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let note = line_with(&stdout, "Harbour Trust");
    assert!(note.starts_with("no") && note.contains("rule"), "{note}");
    assert!(line_with(&stdout, "The harbour council voted").starts_with("yes"));
}

/// A story whose first paragraph holds an author card the stylesheet shows
/// on hover (its class is no hover name the cleaner knows), so the general
/// method drops that paragraph as mostly links; a share bar sits in the body.
const CARD_PAGE: &str = r#"<!DOCTYPE html><html lang="en"><head><title>The pier will reopen in spring</title></head>
<body><h1>The pier will reopen in spring</h1><div class="story-body"><p>The new harbour master, <span class="person"><a href="/people/ana-lima">Ana Lima</a><span class="person__card"><a href="/people/ana-lima">Ana Lima</a> <a href="/people/ana-lima/articles">Harbour master of Port Example since 2024, after twenty years at sea as a ferry captain and pilot</a> <a href="/follow">Follow</a></span></span>, said on Monday that the pier would reopen.</p>
<div class="share-bar"><a href="/s/fb">Share on Facebook</a> <a href="/s/x">Share on X</a></div>
<p>Paragraph 2 of the harbour story covers the repairs, the cost and the opinions of the ferry crews in enough words to count.</p>
<p>Paragraph 3 of the harbour story covers the repairs, the cost and the opinions of the ferry crews in enough words to count.</p></div></body></html>"#;

/// `thresher clean` of `page` with the `[sources.rules]` of source "harbour"
/// written as `rules` (none when empty); returns the article's text.
async fn clean_text_with_rules(ws: &Workspace, page: &std::path::Path, rules: &str) -> String {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_thresher"));
    command.arg("clean");
    if !rules.is_empty() {
        let config = ws.dir.path().join("rules.toml");
        let text = format!(
            "[[sources]]\nname = \"harbour\"\nurl = \"https://harbour.example/feed.xml\"\n[sources.rules]\n{rules}\n"
        );
        std::fs::write(&config, text).expect("write config");
        command
            .args(["--source", "harbour", "--config"])
            .arg(config);
    }
    let output = command.arg(page).output().await.expect("run clean");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let article: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    article["text"].as_str().expect("text").to_string()
}

#[tokio::test]
async fn a_content_rule_keeps_its_first_paragraph_though_the_scorer_would_drop_it() {
    let ws = Workspace::new();
    let page = ws.dir.path().join("card.html");
    std::fs::write(&page, CARD_PAGE).expect("write");

    // The general method judges the paragraph by its links and drops it.
    let text = clean_text_with_rules(&ws, &page, "").await;
    assert!(text.starts_with("Paragraph 2"), "{text}");

    // A content rule names the article: its paragraphs are kept, the share
    // bar (boilerplate by its class) still goes.
    let text = clean_text_with_rules(&ws, &page, r#"content = "div.story-body""#).await;
    assert!(
        text.starts_with("The new harbour master, Ana Lima"),
        "{text}"
    );
    assert!(text.contains("Paragraph 3"), "{text}");
    assert!(!text.contains("Share on"), "{text}");

    // With the card removed by a rule, the sentence reads as on the page.
    let rules = "content = \"div.story-body\"\nremove = [\".person__card\"]";
    let text = clean_text_with_rules(&ws, &page, rules).await;
    assert!(
        text.starts_with(
            "The new harbour master, Ana Lima, said on Monday that the pier would reopen.\n\n"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn clean_explain_prints_whole_paths_and_reasons_and_a_content_rule_that_matched_nothing() {
    let ws = Workspace::new();
    let page = ws.dir.path().join("deep.html");
    let para = "<p>The council met on Monday, and the harbour plan was discussed at length, with figures, names and dates.</p>";
    std::fs::write(
        &page,
        format!(
            r#"<html><body><div class="site"><div class="main"><div class="column"><article class="story">
               <div class="story-body">{para}{para}<div class="share-tools"><a href="/s">Share on Facebook</a></div></div>
               </article></div></div></div></body></html>"#
        ),
    )
    .expect("write");
    let config = ws.dir.path().join("rules.toml");
    let explain = |content: &'static str| {
        std::fs::write(
            &config,
            format!(
                "[[sources]]\nname = \"deep\"\nurl = \"https://deep.example/feed.xml\"\n[sources.rules]\ncontent = {content:?}\n"
            ),
        )
        .expect("write config");
        tokio::process::Command::new(env!("CARGO_BIN_EXE_thresher"))
            .args(["clean", "--explain", "--source", "deep", "--config"])
            .arg(&config)
            .arg(&page)
            .output()
    };
    let output = explain("div.story-body")
        .await
        .expect("run clean --explain");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.contains("Share on Facebook"))
        .unwrap_or_else(|| panic!("the share bar is listed:\n{stdout}"));
    // The whole path from <body>, as a selector that finds the element.
    let path = "body > div.site > div.main > div.column > article.story > div.story-body > div.share-tools";
    assert!(line.starts_with("no") && line.ends_with(path), "{line}");
    let html = std::fs::read_to_string(&page).expect("read");
    let selector = scraper::Selector::parse(path).expect("a selector");
    assert_eq!(
        scraper::Html::parse_document(&html)
            .select(&selector)
            .count(),
        1
    );
    // Reasons are printed whole.
    assert!(
        stdout.contains("rule: the `content` selector matched"),
        "{stdout}"
    );

    let output = explain("div.story-text")
        .await
        .expect("run clean --explain");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let line = stdout
        .lines()
        .find(|l| l.contains("[sources.rules] content"))
        .unwrap_or_else(|| panic!("the rule is listed:\n{stdout}"));
    assert!(
        line.contains("matched nothing") && line.contains("div.story-text"),
        "{line}"
    );
}

#[tokio::test]
async fn clean_explain_prints_the_table_with_pasteable_paths_when_no_article_is_found() {
    let ws = Workspace::new();
    let page = ws.dir.path().join("teaser.html");
    std::fs::write(
        &page,
        // A script renders the rest, so this is no bare document.
        r#"<html><body><div class="md:w-1/2 teaser-wrap"><section class="[&_p]:mb-2 deck">
           <p class="lead">Only a short teaser line here.</p></section></div>
           <script>render()</script></body></html>"#,
    )
    .expect("write");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_thresher"))
        .args(["clean", "--explain"])
        .arg(&page)
        .output()
        .await
        .expect("run clean --explain");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!output.status.success(), "{stdout}");
    assert!(stderr.contains("no article found"), "{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.contains("Only a short teaser line"))
        .unwrap_or_else(|| panic!("the block is listed:\n{stdout}"));
    assert!(line.starts_with("no"), "{line}");
    // The whole path, escaped so it parses as a selector that finds the block.
    let path = r"div.md\:w-1\/2 > section.\[\&_p\]\:mb-2 > p.lead";
    assert!(line.contains(path), "{line}");
    let selector = scraper::Selector::parse(path).expect("a selector");
    let doc = scraper::Html::parse_document(&std::fs::read_to_string(&page).expect("read"));
    assert_eq!(doc.select(&selector).count(), 1);
}
