//! What the binary tells a user whose configuration or feed is wrong: each
//! message names what is wrong, where, and what to write instead. Every test
//! runs the real `thresher` binary; the one network target is 127.0.0.1.

mod common;

use std::process::Output;

use common::Workspace;

/// The config file for `text` in a fresh workspace, state and output in it.
fn workspace_with(text: &str) -> Workspace {
    let ws = Workspace::new();
    let dirs = format!(
        "[state]\ndir = {:?}\n[output]\ndir = {:?}\n",
        ws.dir.path().join("state"),
        ws.output()
    );
    std::fs::write(ws.config_path(), format!("{dirs}{text}")).expect("write config");
    ws
}

async fn check_config(ws: &Workspace, env: &[(&str, &str)]) -> (Output, String) {
    let mut command = ws.command("check-config");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().await.expect("run check-config");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stderr)
}

const SOURCE: &str = "[[sources]]\nname = \"bbc\"\nurl = \"https://feeds.example.org/news.xml\"\n";

#[tokio::test]
async fn a_bad_css_selector_names_the_source_the_key_the_selector_and_what_is_wrong() {
    let ws = workspace_with(&format!(
        "{SOURCE}[sources.rules]\nremove = [\"aside\", \"div..x[\"]\n"
    ));
    let (output, stderr) = check_config(&ws, &[]).await;
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for needle in [
        "key `sources[0].rules.remove[1]`",
        "source \"bbc\"",
        "invalid CSS selector \"div..x[\"",
        "a '.' must be followed by a class name",
    ] {
        assert!(stderr.contains(needle), "{needle:?} in: {stderr}");
    }
    assert!(!stderr.contains("report this to the developer"), "{stderr}");
    assert!(!stderr.contains("ClassNeedsIdent"), "{stderr}");
}

#[tokio::test]
async fn telemetry_listen_takes_localhost_and_a_bad_value_is_shown_with_an_example() {
    let port = common::free_port();
    let ws = workspace_with(&format!(
        "[telemetry]\nlisten = \"localhost:{port}\"\n{SOURCE}"
    ));
    let (output, stderr) = check_config(&ws, &[]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stderr}");
    // localhost resolves to loopback; its IPv4 address is the one bound.
    assert!(
        stdout.contains(&format!("telemetry:  http://127.0.0.1:{port}/metrics")),
        "{stdout}"
    );

    let ws = workspace_with(&format!("[telemetry]\nlisten = \"localhost\"\n{SOURCE}"));
    let (output, stderr) = check_config(&ws, &[]).await;
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for needle in [
        "key `telemetry.listen`",
        "\"localhost\"",
        "needs a port",
        "\"127.0.0.1:9464\"",
    ] {
        assert!(stderr.contains(needle), "{needle:?} in: {stderr}");
    }
}

#[tokio::test]
async fn a_typo_in_an_environment_override_names_the_variable_not_the_file() {
    let ws = workspace_with(SOURCE);
    let file = ws.config_path().display().to_string();
    let (output, stderr) = check_config(&ws, &[("THRESHER__FECH__RETRIES", "3")]).await;
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("environment variable THRESHER__FECH__RETRIES: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean THRESHER__FETCH__RETRIES?"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(&format!("config {file}: unknown field")),
        "{stderr}"
    );

    // A value of the wrong type is the variable's too.
    let (output, stderr) = check_config(&ws, &[("THRESHER__FETCH__RETRIES", "often")]).await;
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("environment variable THRESHER__FETCH__RETRIES: key `fetch.retries`"),
        "{stderr}"
    );

    // A typo in the file is still the file's, whatever variables are set.
    let ws = workspace_with(&format!("[fetch]\nretrys = 3\n{SOURCE}"));
    let file = ws.config_path().display().to_string();
    let (output, stderr) = check_config(&ws, &[("THRESHER__FETCH__RETRIES", "3")]).await;
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "config {file}: key `fetch`: unknown field `retrys`"
        )),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_duration_without_a_unit_is_shown_how_to_write_it_for_every_duration_key() {
    let keys = [
        ("pipeline", "shutdown_grace"),
        ("pipeline", "retry_backoff"),
        ("fetch", "timeout"),
        ("fetch", "connect_timeout"),
        ("fetch", "read_timeout"),
        ("fetch", "min_host_interval"),
        ("fetch", "max_source_backoff"),
        ("output.nats", "duplicate_window"),
        ("output.nats", "ack_timeout"),
        ("output.nats", "drain_timeout"),
        ("dedup", "retention"),
    ];
    let mut cases: Vec<(String, String)> = keys
        .iter()
        .map(|(table, key)| {
            (
                format!("[{table}]\n{key} = 5\n{SOURCE}"),
                format!("{table}.{key}"),
            )
        })
        .collect();
    cases.push((
        format!("{SOURCE}interval = 5\n"),
        "sources[0].interval".into(),
    ));
    cases.push((
        format!("{SOURCE}[sources.fetch]\ntimeout = 5\n"),
        "sources[0].fetch.timeout".into(),
    ));
    for (text, key) in cases {
        let ws = workspace_with(&text);
        let (output, stderr) = check_config(&ws, &[]).await;
        assert_eq!(output.status.code(), Some(2), "{key}: {stderr}");
        assert!(
            stderr.contains(&format!("key `{key}`: 5 is not a duration")),
            "{key}: {stderr}"
        );
        assert!(stderr.contains("e.g. \"5s\""), "{key}: {stderr}");
    }
    // From the environment, the same words and the variable's name.
    let ws = workspace_with(SOURCE);
    let (output, stderr) = check_config(&ws, &[("THRESHER__PIPELINE__SHUTDOWN_GRACE", "5")]).await;
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("THRESHER__PIPELINE__SHUTDOWN_GRACE") && stderr.contains("e.g. \"5s\""),
        "{stderr}"
    );
}

#[tokio::test]
async fn check_config_warns_when_there_are_no_sources() {
    let ws = workspace_with("");
    let (output, stderr) = check_config(&ws, &[]).await;
    assert!(output.status.success(), "a warning, not an error: {stderr}");
    assert!(
        stderr.contains("thresher: warning: no [[sources]] in "),
        "{stderr}"
    );
    assert!(stderr.contains("nothing will be polled"), "{stderr}");
}

#[tokio::test]
async fn check_config_warns_that_private_sources_will_be_refused_naming_the_key() {
    let sources = "[[sources]]\nname = \"lan\"\nurl = \"http://127.0.0.1:8080/feed.xml\"\n\
                   [[sources]]\nname = \"home\"\nurl = \"http://localhost/feed.xml\"\n";
    let ws = workspace_with(&format!("{SOURCE}{sources}"));
    let (output, stderr) = check_config(&ws, &[]).await;
    assert!(output.status.success(), "a warning, not an error: {stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("thresher: warning: "))
        .collect();
    assert_eq!(warnings.len(), 2, "{stderr}");
    assert!(
        warnings[0].contains("source \"lan\"")
            && warnings[0].contains("loopback address (127.0.0.1)")
            && warnings[0].contains("set allow_private_networks = true in [fetch]"),
        "{stderr}"
    );
    assert!(warnings[1].contains("source \"home\""), "{stderr}");

    // Set the key, and the warning goes.
    let ws = workspace_with(&format!(
        "[fetch]\nallow_private_networks = true\n{SOURCE}{sources}"
    ));
    let (output, stderr) = check_config(&ws, &[]).await;
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[tokio::test]
async fn an_unreachable_feed_is_logged_with_its_url_once_and_one_reason() {
    // Nothing listens on this port: the connection is refused.
    let url = format!("http://127.0.0.1:{}/feed.xml", common::free_port());
    let ws = workspace_with(&format!(
        "[fetch]\nallow_private_networks = true\nretries = 0\n\
         [[sources]]\nname = \"down\"\nurl = {url:?}\n"
    ));
    for filter in ["thresher=debug", "warn"] {
        let output = ws
            .command("once")
            .env("RUST_LOG", filter)
            .output()
            .await
            .expect("run once");
        let log = String::from_utf8_lossy(&output.stderr);
        let line = log
            .lines()
            .find(|l| l.contains("WARN") && l.contains("source \"down\""))
            .unwrap_or_else(|| panic!("a warning about the feed ({filter}):\n{log}"));
        assert_eq!(line.matches(&url).count(), 1, "{filter}: {line}");
        assert!(
            line.contains("feed poll failed: cannot connect: Connection refused"),
            "{filter}: {line}"
        );
        for label in ["error sending request", "client error", "tcp connect error"] {
            assert!(!line.contains(label), "{filter}: {line}");
        }
    }
}
