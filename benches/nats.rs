//! NATS sink benchmark against a private `nats-server` (JetStream, file
//! storage, on a free 127.0.0.1 port):
//!
//! 1. throughput: `--count` article-sized articles written through
//!    `NatsSink::write` one after another, as the deliver stage does
//!    (fsynced outbox put each), until JetStream has acknowledged them all;
//! 2. outage: the broker is stopped for `--outage` seconds while articles keep
//!    arriving at `--rate` per second into the outbox, then started again;
//!    reports the time from the restart until the outbox is empty.
//!
//! At the end the stream must hold every article exactly once.
//!
//! `cargo bench --bench nats` (defaults: 2000 articles, 60 s outage at 50/s);
//! `cargo bench --bench nats -- --outage 5 --count 500` for a quick run.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;
use url::Url;

use thresher::article::Article;
use thresher::sink::{NatsConfig, NatsSink, Sink};
use thresher::state::State;
use thresher::telemetry::Stats;

struct Args {
    count: usize,
    outage: u64,
    rate: u64,
    text_kb: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        count: 2000,
        outage: 60,
        rate: 50,
        text_kb: 6,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match flag.as_str() {
            "--count" => args.count = value("--count") as usize,
            "--outage" => args.outage = value("--outage"),
            "--rate" => args.rate = value("--rate"),
            "--text-kb" => args.text_kb = value("--text-kb") as usize,
            // `cargo bench` passes --bench; ignore what is not ours.
            _ => {}
        }
    }
    args
}

/// An article of about `text_kb` KiB of text (and as much HTML), like a long news story.
fn article(n: usize, text_kb: usize) -> Article {
    let url = Url::parse(&format!("https://news.example/story/{n}")).expect("url");
    let sentence = "The harbour council voted on Tuesday evening to approve the long-debated \
                    redevelopment plan, ending months of public consultation. ";
    let paragraph = sentence.repeat(4);
    let paragraphs = (text_kb * 1024) / paragraph.len() + 1;
    let text = vec![paragraph.trim_end(); paragraphs].join("\n\n");
    let html = text
        .split("\n\n")
        .map(|p| format!("<p>{p}</p>"))
        .collect::<String>();
    Article {
        id: format!("{n:032x}"),
        url: url.clone(),
        canonical_url: url.clone(),
        source: "bench".into(),
        feed_url: Url::parse("https://news.example/rss.xml").expect("url"),
        title: format!("Harbour council approves plan {n}"),
        subtitle: Some("Councillors backed the plan after a long debate.".into()),
        authors: vec!["Jane Reporter".into()],
        published_at: None,
        updated_at: None,
        image: Some(Url::parse("https://news.example/lead.jpg").expect("url")),
        images: Vec::new(),
        site_name: Some("News Example".into()),
        description: Some("Councillors backed the plan after a long debate.".into()),
        section: Some("Local".into()),
        tags: vec!["council".into(), "harbour".into()],
        word_count: thresher::article::reading(&text).words,
        reading_time_minutes: thresher::article::reading(&text).minutes,
        language: Some("en".into()),
        text,
        html,
        fetched_at: Utc::now(),
        markdown: None,
        also_seen_at: Vec::new(),
    }
}

async fn wait_for(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    start.elapsed()
}

fn main() {
    let args = parse_args();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    let mut server = common::NatsServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let state = State::open(dir.path()).expect("state");
    let stats = Arc::new(Stats::default());
    let config = NatsConfig {
        url: server.url(),
        ..NatsConfig::default()
    };
    let sink = NatsSink::start(config, Arc::new(state.clone()), Arc::clone(&stats)).expect("sink");
    wait_for("the connection", Duration::from_secs(10), async || {
        sink.is_connected()
    })
    .await;
    let size = thresher::sink::article_json(&article(0, args.text_kb))
        .expect("json")
        .len();
    println!(
        "nats-server {} (JetStream, file storage); article JSON {:.1} KiB",
        server.url(),
        size as f64 / 1024.0
    );

    // 1. Throughput with acks.
    let articles: Vec<Article> = (0..args.count).map(|n| article(n, args.text_kb)).collect();
    let start = Instant::now();
    for a in &articles {
        sink.write(a).await.expect("write");
    }
    let accepted = start.elapsed();
    wait_for("all acks", Duration::from_secs(600), async || {
        stats.published.load(Ordering::Relaxed) >= args.count as u64
            && state.outbox_len().await.unwrap_or(1) == 0
    })
    .await;
    let published = start.elapsed();
    println!(
        "throughput: {} articles accepted into the outbox in {:.2}s ({:.0}/s); \
         all acknowledged by JetStream after {:.2}s: {:.0} articles/s, {:.1} MiB/s",
        args.count,
        accepted.as_secs_f64(),
        args.count as f64 / accepted.as_secs_f64(),
        published.as_secs_f64(),
        args.count as f64 / published.as_secs_f64(),
        (args.count * size) as f64 / published.as_secs_f64() / (1024.0 * 1024.0)
    );

    // 2. Outage: the broker is down while articles keep coming.
    server.stop();
    let outage = Duration::from_secs(args.outage);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate.max(1) as f64));
    let began = Instant::now();
    let mut n = args.count;
    while began.elapsed() < outage {
        tick.tick().await;
        sink.write(&article(n, args.text_kb)).await.expect("write");
        n += 1;
    }
    let queued = state.outbox_len().await.expect("len");
    let retries = stats.publish_retries.load(Ordering::Relaxed);
    server.restart().await;
    let restarted = Instant::now();
    let connected = wait_for("the reconnect", Duration::from_secs(30), async || {
        sink.is_connected()
    })
    .await;
    wait_for(
        "the outbox to drain",
        Duration::from_secs(600),
        async || state.outbox_len().await.unwrap_or(1) == 0,
    )
    .await;
    let drained = restarted.elapsed();
    println!(
        "outage: broker down {}s while {} articles arrived ({}/s), {} in the outbox \
         ({retries} failed publishes); after the restart: reconnected in {:.2}s, \
         outbox empty after {:.2}s ({:.0} articles/s)",
        args.outage,
        n - args.count,
        args.rate,
        queued,
        connected.as_secs_f64(),
        drained.as_secs_f64(),
        queued as f64 / (drained - connected).as_secs_f64().max(1e-6)
    );

    // Nothing lost, nothing twice.
    let messages = server.messages("THRESHER").await;
    let unique: std::collections::HashSet<_> = messages.iter().map(|m| m.0.clone()).collect();
    println!(
        "stream: {} messages, {} distinct ids, {} articles written",
        messages.len(),
        unique.len(),
        n
    );
    assert_eq!(messages.len(), n, "every article once");
    assert_eq!(unique.len(), n, "no duplicates");
    sink.close(Some(Duration::from_secs(1))).await;
}
