//! The whole daemon under load: `cargo bench --bench daemon -- [OPTIONS]`.
//!
//! Starts a load generator on 127.0.0.1 serving `--feeds` RSS feeds with
//! `--items` articles each, and runs the real `thresher` binary against it
//! with directory output. Article pages are real pages from `--pages DIR`
//! (default `../shared/corpus/zyte`) whose words are swapped per article, so
//! every article is a distinct story (dedup must not merge them) while the
//! page keeps its real size, markup, scripts and template.
//!
//! Two modes:
//! - burst (default): `thresher once` polls every feed once and writes every
//!   article; reports articles/s, feed polls/s, CPU per article, peak and
//!   steady RSS, state-store size per 1,000 articles.
//! - `--soak DURATION`: `thresher run` for that long against feeds that keep
//!   gaining items; prints RSS over time and fails (exit 1) if RSS keeps growing.
//!
//! `THRESHER_BENCH_WRAP="heaptrack -o /tmp/ht"` (or `perf record -g`) runs the
//! daemon under a profiler. `--remembered N` seeds the state store with N delivered articles first, to
//! measure memory with a large history. CPU and peak RSS are the daemon's own
//! (getrusage of the child), not the load generator's.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Command-line options.
#[derive(Debug, Clone)]
struct Options {
    feeds: usize,
    items: usize,
    pages: PathBuf,
    soak: Option<Duration>,
    /// Soak: each feed gains one item this often.
    gain_every: Duration,
    /// Poll interval of every source.
    interval: Duration,
    remembered: u64,
    keep: bool,
}

impl Options {
    fn parse() -> Result<Self, String> {
        let mut options = Options {
            feeds: 10_000,
            items: 2,
            pages: PathBuf::from("../shared/corpus/zyte"),
            soak: None,
            gain_every: Duration::from_secs(100),
            interval: Duration::from_secs(15 * 60),
            remembered: 0,
            keep: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
            let duration = |text: String| {
                humantime::parse_duration(&text).map_err(|e| format!("bad duration {text:?}: {e}"))
            };
            match arg.as_str() {
                "--feeds" => options.feeds = number(&value("--feeds")?)?,
                "--items" => options.items = number(&value("--items")?)?,
                "--pages" => options.pages = PathBuf::from(value("--pages")?),
                "--soak" => options.soak = Some(duration(value("--soak")?)?),
                "--gain-every" => options.gain_every = duration(value("--gain-every")?)?,
                "--interval" => options.interval = duration(value("--interval")?)?,
                "--remembered" => options.remembered = number(&value("--remembered")?)?,
                "--keep" => options.keep = true,
                // `cargo bench` passes this to every bench target.
                "--bench" => {}
                "-h" | "--help" => return Err(USAGE.to_string()),
                other => return Err(format!("unknown option {other:?}\n{USAGE}")),
            }
        }
        if options.feeds == 0 {
            return Err("--feeds must be at least 1".into());
        }
        Ok(options)
    }
}

const USAGE: &str = "usage: cargo bench --bench daemon -- [--feeds N] [--items M] [--pages DIR] \
[--soak DURATION [--gain-every DURATION]] [--interval DURATION] [--remembered N] [--keep]";

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("not a number: {text:?}"))
}

fn main() {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    match run(&options) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(message) => {
            eprintln!("daemon bench: {message}");
            std::process::exit(2);
        }
    }
}

/// Runs the benchmark; `Ok(false)` when a budget or the soak check failed.
fn run(options: &Options) -> Result<bool, String> {
    let pages = Pages::load(&options.pages)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let generator = Arc::new(Generator {
        pages,
        items: options.items,
        gain_every: options.soak.map(|_| options.gain_every),
        started: Instant::now(),
    });
    let addr = runtime.block_on(serve(generator.clone()))?;
    let work = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let config = write_config(work.path(), addr, options)?;
    if options.remembered > 0 {
        runtime.block_on(seed_state(&work.path().join("state"), options.remembered))?;
    }
    println!(
        "load generator on {addr}: {} feeds x {} items, {} page templates ({:.0} KB mean)",
        options.feeds,
        options.items,
        generator.pages.html.len(),
        generator.pages.mean_bytes() / 1e3
    );
    let ok = match options.soak {
        None => burst(work.path(), &config)?,
        Some(duration) => soak(work.path(), &config, duration)?,
    };
    if options.keep {
        let kept = work.keep();
        println!("work folder kept: {}", kept.display());
    }
    drop(runtime);
    Ok(ok)
}

/// `thresher once` over every feed.
fn burst(work: &Path, config: &Path) -> Result<bool, String> {
    let state_before = folder_bytes(&work.join("state"));
    let started = Instant::now();
    let child = daemon(config, "once")?;
    let sampler = RssSampler::start(child.id(), Duration::from_millis(200));
    let (status, usage) = wait(child)?;
    let wall = started.elapsed();
    let sampled = sampler.stop();
    let written = count_files(&work.join("articles"));
    let polls = summary_field(&work.join("daemon.log"), "polls_ok").unwrap_or(0);
    let state_bytes = folder_bytes(&work.join("state"));
    let cpu = usage.cpu;
    println!("thresher once: {status}");
    println!("  wall              {:>10.2} s", wall.as_secs_f64());
    println!("  articles written  {written:>10}");
    println!(
        "  articles/s        {:>10.1}",
        written as f64 / wall.as_secs_f64()
    );
    println!(
        "  feed polls/s      {:>10.1}   ({polls} polls)",
        polls as f64 / wall.as_secs_f64()
    );
    println!(
        "  CPU               {:>10.2} s   ({:.2} ms per article, {:.0} % of one core)",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e3 / written.max(1) as f64,
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
    );
    println!(
        "  peak RSS          {:>10.1} MB",
        sampled.peak_kib as f64 / 1024.0
    );
    println!(
        "  steady RSS        {:>10.1} MB   (median of the second half)",
        steady(&sampled.rss_kib) as f64 / 1024.0
    );
    println!(
        "  state store       {:>10.1} MB   (grew {:.1} KB per 1,000 articles written)",
        state_bytes as f64 / 1024.0 / 1024.0,
        state_bytes.saturating_sub(state_before) as f64 / 1024.0 / (written.max(1) as f64 / 1000.0)
    );
    let peak_mb = sampled.peak_kib as f64 / 1024.0;
    let budget_ok = peak_mb <= 150.0;
    println!(
        "  budget: peak RSS <= 150 MB: {}",
        if budget_ok { "met" } else { "NOT met" }
    );
    Ok(status.success() && budget_ok)
}

/// `thresher run` for `duration`; RSS must level off.
fn soak(work: &Path, config: &Path, duration: Duration) -> Result<bool, String> {
    let child = daemon(config, "run")?;
    let pid = child.id();
    let step = (duration / 30).max(Duration::from_secs(1));
    let sampler = RssSampler::start(pid, step);
    println!("{:>8} {:>10} {:>10}", "time", "RSS MB", "articles");
    let started = Instant::now();
    let mut table = Vec::new();
    while started.elapsed() < duration {
        std::thread::sleep(step.min(duration.saturating_sub(started.elapsed())));
        let rss = memory_kib(pid).map_or(0, |(rss, _)| rss);
        let written = count_files(&work.join("articles"));
        println!(
            "{:>7.0}s {:>10.1} {written:>10}",
            started.elapsed().as_secs_f64(),
            rss as f64 / 1024.0
        );
        table.push(rss);
    }
    // SIGTERM: the daemon's normal stop.
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let (status, usage) = wait(child)?;
    let sampled = sampler.stop();
    let written = count_files(&work.join("articles"));
    println!("thresher run stopped: {status}");
    println!(
        "  {written} articles in {:.0} s, CPU {:.1} s ({:.2} ms per article), peak RSS {:.1} MB",
        duration.as_secs_f64(),
        usage.cpu.as_secs_f64(),
        usage.cpu.as_secs_f64() * 1e3 / written.max(1) as f64,
        sampled.peak_kib as f64 / 1024.0
    );
    // Bounded: the mean of the last fifth may exceed that of the second fifth
    // (after warm-up) by at most 20 %.
    let fifth = table.len() / 5;
    if fifth == 0 {
        println!("  soak too short to judge RSS growth");
        return Ok(status.success());
    }
    let mean = |s: &[u64]| s.iter().sum::<u64>() as f64 / s.len() as f64;
    let early = mean(&table[fifth..2 * fifth]);
    let late = mean(&table[table.len() - fifth..]);
    let growth = late / early.max(1.0) - 1.0;
    let flat = growth <= 0.20;
    println!(
        "  RSS {:.1} MB (after warm-up) -> {:.1} MB (end): {:+.1} %: {}",
        early / 1024.0,
        late / 1024.0,
        growth * 100.0,
        if flat { "flat" } else { "GROWING" }
    );
    Ok(flat)
}

/// Article page bodies and the vocabulary their words are swapped with.
struct Pages {
    html: Vec<String>,
    vocabulary: Vec<String>,
}

impl Pages {
    fn load(dir: &Path) -> Result<Self, String> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            format!(
                "pages folder {}: {e} (give one with --pages DIR)",
                dir.display()
            )
        })?;
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "html"))
            .collect();
        paths.sort();
        let html: Vec<String> = paths
            .iter()
            .filter_map(|p| std::fs::read(p).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .collect();
        if html.is_empty() {
            return Err(format!("no .html pages in {}", dir.display()));
        }
        let mut words = HashSet::new();
        for page in &html {
            for_each_text_word(page, |word| {
                words.insert(word.to_lowercase());
            });
        }
        let mut vocabulary: Vec<String> = words.into_iter().collect();
        vocabulary.sort();
        Ok(Self { html, vocabulary })
    }

    fn mean_bytes(&self) -> f64 {
        self.html.iter().map(String::len).sum::<usize>() as f64 / self.html.len() as f64
    }

    /// Page `index` with every word of text (and of JSON-LD strings) replaced
    /// through a mapping keyed by `seed`: same markup, different story.
    fn disguised(&self, index: usize, seed: u64) -> String {
        let page = &self.html[index % self.html.len()];
        let mut out = String::with_capacity(page.len());
        let mut last = 0;
        for_each_text_word_span(page, |start, end| {
            out.push_str(&page[last..start]);
            let word = &page[start..end];
            let pick = &self.vocabulary[(mix(seed, word) % self.vocabulary.len() as u64) as usize];
            if word.chars().next().is_some_and(char::is_uppercase) {
                let mut chars = pick.chars();
                if let Some(first) = chars.next() {
                    out.push(first.to_ascii_uppercase());
                    out.push_str(chars.as_str());
                }
            } else {
                out.push_str(pick);
            }
            last = end;
        });
        out.push_str(&page[last..]);
        out
    }
}

fn mix(seed: u64, word: &str) -> u64 {
    // FNV-1a over the lower-cased word, then the seed: cheap and stable.
    let mut hash = 0xcbf2_9ce4_8422_2325_u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for byte in word.to_lowercase().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn for_each_text_word(page: &str, mut f: impl FnMut(&str)) {
    for_each_text_word_span(page, |start, end| f(&page[start..end]));
}

/// Calls `f` with the byte span of every ASCII word (3+ letters) in text
/// content: outside tags, outside `<script>`/`<style>` except JSON-LD string
/// values, never inside character references.
fn for_each_text_word_span(page: &str, mut f: impl FnMut(usize, usize)) {
    let bytes = page.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => {
                let tag_end = memchr_from(bytes, b'>', i).unwrap_or(bytes.len());
                let tag = page[i..tag_end].to_ascii_lowercase();
                i = tag_end + 1;
                for raw in ["script", "style"] {
                    if tag.starts_with(&format!("<{raw}")) {
                        let close = format!("</{raw}");
                        let end = find_ci(page, &close, i).unwrap_or(bytes.len());
                        if tag.contains("ld+json") {
                            json_string_words(page, i, end, &mut f);
                        }
                        i = end;
                    }
                }
            }
            b'&' => {
                // Skip a character reference such as `&amp;` or `&#8217;`.
                let stop = (i + 12).min(bytes.len());
                i = (i + 1..stop)
                    .find(|&j| bytes[j] == b';' || bytes[j].is_ascii_whitespace())
                    .map_or(i + 1, |j| j + 1);
            }
            b => {
                let end = word_end(page, i, bytes.len());
                if end == i {
                    i += utf8_len(b);
                    continue;
                }
                if page[i..end].chars().count() >= 3 {
                    f(i, end);
                }
                i = end;
            }
        }
    }
}

/// Words inside JSON string values longer than 60 bytes (article bodies,
/// descriptions; not keys, types or short names) between `start` and `end`.
fn json_string_words(page: &str, start: usize, end: usize, f: &mut impl FnMut(usize, usize)) {
    let bytes = page.as_bytes();
    let mut i = start;
    while i < end {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let open = i + 1;
        let mut j = open;
        while j < end && bytes[j] != b'"' {
            j += if bytes[j] == b'\\' { 2 } else { 1 };
        }
        let close = j.min(end);
        if close - open > 60 {
            let mut k = open;
            while k < close {
                let end = word_end(page, k, close);
                if bytes[k] == b'\\' {
                    k += 2;
                } else if end > k {
                    if page[k..end].chars().count() >= 3 {
                        f(k, end);
                    }
                    k = end;
                } else {
                    k += utf8_len(bytes[k]);
                }
            }
        }
        i = close + 1;
    }
}

/// End of the run of letters (any script) starting at `start`, before `limit`.
fn word_end(page: &str, start: usize, limit: usize) -> usize {
    let Some(rest) = page.get(start..limit) else {
        return start;
    };
    rest.char_indices()
        .find(|(_, c)| !c.is_alphabetic())
        .map_or(limit, |(offset, _)| start + offset)
}

/// Length of the UTF-8 sequence a leading byte starts.
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}

fn memchr_from(bytes: &[u8], needle: u8, from: usize) -> Option<usize> {
    bytes[from..]
        .iter()
        .position(|&b| b == needle)
        .map(|p| p + from)
}

fn find_ci(page: &str, needle: &str, from: usize) -> Option<usize> {
    let hay = page.as_bytes();
    let needle = needle.as_bytes();
    (from..hay.len().saturating_sub(needle.len() - 1))
        .find(|&i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// The load generator's content.
struct Generator {
    pages: Pages,
    items: usize,
    /// Soak mode: every feed gains one item this often.
    gain_every: Option<Duration>,
    started: Instant,
}

impl Generator {
    /// Items feed `feed` lists now.
    fn item_count(&self) -> usize {
        match self.gain_every {
            None => self.items,
            Some(every) => {
                let gained = self.started.elapsed().as_secs_f64() / every.as_secs_f64();
                self.items + gained as usize
            }
        }
    }
}

async fn serve(generator: Arc<Generator>) -> Result<SocketAddr, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind 127.0.0.1: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("local addr: {e}"))?;
    let app = Router::new()
        .route("/feed/{feed}", get(feed))
        .route("/a/{feed}/{item}", get(article))
        .with_state(generator);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("load generator stopped: {e}");
        }
    });
    Ok(addr)
}

async fn feed(
    State(generator): State<Arc<Generator>>,
    UrlPath(feed): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(feed) = feed.trim_end_matches(".xml").parse::<u64>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let count = generator.item_count();
    let etag = format!("\"{count}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut xml = String::with_capacity(300 + count * 160);
    xml.push_str("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>");
    xml.push_str(&format!(
        "<title>Feed {feed}</title><link>/</link><description>load</description>"
    ));
    // Newest first, at most 50 listed, like real feeds.
    for item in (count.saturating_sub(50)..count).rev() {
        xml.push_str(&format!(
            "<item><title>Story {feed}-{item}</title><link>/a/{feed}/{item}</link>\
             <guid>/a/{feed}/{item}</guid></item>"
        ));
    }
    xml.push_str("</channel></rss>");
    (
        [
            (header::CONTENT_TYPE, "application/rss+xml"),
            (header::ETAG, etag.as_str()),
        ],
        xml,
    )
        .into_response()
}

async fn article(
    State(generator): State<Arc<Generator>>,
    UrlPath((feed, item)): UrlPath<(u64, u64)>,
) -> Response {
    let seed = (feed << 32) | item;
    let index = (feed.wrapping_mul(7919).wrapping_add(item)) as usize;
    let body = tokio::task::spawn_blocking(move || generator.pages.disguised(index, seed)).await;
    match body {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn write_config(work: &Path, addr: SocketAddr, options: &Options) -> Result<PathBuf, String> {
    let mut toml = format!(
        "[state]\ndir = {state:?}\n\n[output]\ndir = {out:?}\n\n\
         [fetch]\nallow_private_networks = true\nmin_host_interval = \"0s\"\n\
         host_concurrency = 32\n\n",
        state = work.join("state"),
        out = work.join("articles"),
    );
    let interval = humantime::format_duration(options.interval).to_string();
    for feed in 0..options.feeds {
        toml.push_str(&format!(
            "[[sources]]\nname = \"feed-{feed}\"\nurl = \"http://{addr}/feed/{feed}.xml\"\n\
             interval = \"{interval}\"\n\n"
        ));
    }
    let path = work.join("thresher.toml");
    std::fs::write(&path, toml).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Fills the state store with `count` delivered articles and their story
/// fingerprints (random ones: only their number matters here), as a
/// long-running daemon's history would.
async fn seed_state(dir: &Path, count: u64) -> Result<(), String> {
    use thresher::article::{ArticleJob, EntryHints};
    use thresher::dedup::{SIGNATURE_LEN, Signature, Story, StoryMemory};
    use thresher::state::{Outcome, State};
    let mut random = 0x2545_f491_4f6c_dd1d_u64;
    let mut next_random = move || {
        // xorshift64: fast, and good enough for made-up fingerprints.
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        random as u32
    };
    let started = Instant::now();
    let state = State::open(dir).map_err(|e| e.to_string())?;
    let stories = StoryMemory::new(Arc::new(state.clone()));
    let feed_url = url::Url::parse("http://127.0.0.1/history.xml").map_err(|e| e.to_string())?;
    const BATCH: u64 = 10_000;
    for batch in 0..count.div_ceil(BATCH) {
        let jobs: Vec<ArticleJob> = (batch * BATCH..((batch + 1) * BATCH).min(count))
            .filter_map(|n| {
                let url = url::Url::parse(&format!("http://history.example/{n}")).ok()?;
                Some(ArticleJob {
                    key: thresher::dedup::article_id(&url),
                    url,
                    source: "history".into(),
                    feed_url: feed_url.clone(),
                    entry: EntryHints::default(),
                    legacy_key: None,
                    undelivered: None,
                    accepted_run: 0,
                    failed_attempts: 0,
                    retry_at: None,
                })
            })
            .collect();
        let accepted = state.accept(jobs).await.map_err(|e| e.to_string())?;
        let finished = accepted
            .into_iter()
            .map(|job| {
                let story = Story {
                    id: job.key.clone(),
                    source: job.source.clone(),
                    url: job.url.to_string(),
                    title: format!("Story {}", job.url.path()),
                    seen_at: chrono::Utc::now(),
                    signature: Some(Signature(
                        (0..SIGNATURE_LEN).map(|_| next_random()).collect(),
                    )),
                };
                let article_id = job.key.clone();
                (job.key, Outcome::Written { article_id }, Some(story))
            })
            .collect();
        stories
            .complete_all(finished)
            .await
            .map_err(|e| e.to_string())?;
    }
    println!(
        "seeded the state store with {count} delivered articles in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn daemon(config: &Path, verb: &str) -> Result<Child, String> {
    let log_path = config.with_file_name("daemon.log");
    let log = std::fs::File::create(&log_path).map_err(|e| format!("daemon log: {e}"))?;
    // THRESHER_BENCH_WRAP="perf record -g -o /tmp/perf.data" (or heaptrack, valgrind ...)
    // runs the daemon under a profiler.
    let wrap = std::env::var("THRESHER_BENCH_WRAP").unwrap_or_default();
    let mut words = wrap.split_whitespace();
    let mut command = match words.next() {
        Some(program) => {
            let mut command = Command::new(program);
            command.args(words).arg(env!("CARGO_BIN_EXE_thresher"));
            command
        }
        None => Command::new(env!("CARGO_BIN_EXE_thresher")),
    };
    command
        .args([verb, "--config"])
        .arg(config)
        .env("RUST_LOG", "warn,thresher=info,html5ever=off")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start thresher: {e}"))
}

/// CPU time of a finished child.
struct Usage {
    cpu: Duration,
}

fn wait(child: Child) -> Result<(std::process::ExitStatus, Usage), String> {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data, zero is a valid value; wait4 fills it for
    // our own child, whose pid we own and have not waited for yet.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if waited != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    // The Child handle must not wait again (its pid may be reused).
    std::mem::forget(child);
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    use std::os::unix::process::ExitStatusExt;
    Ok((
        std::process::ExitStatus::from_raw(status),
        Usage {
            cpu: time(usage.ru_utime) + time(usage.ru_stime),
        },
    ))
}

/// Samples a process's resident memory in the background.
struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Sampled>,
}

impl RssSampler {
    fn start(pid: u32, every: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut sampled = Sampled::default();
            let mut next = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                let Some((rss, hwm)) = memory_kib(pid) else {
                    break;
                };
                sampled.peak_kib = sampled.peak_kib.max(hwm);
                if Instant::now() >= next {
                    sampled.rss_kib.push(rss);
                    next += every;
                }
                // The high-water mark is read often so the last one before exit is recent.
                std::thread::sleep(Duration::from_millis(20));
            }
            sampled
        });
        Self { stop, thread }
    }

    fn stop(self) -> Sampled {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// What [`RssSampler`] saw.
#[derive(Debug, Default)]
struct Sampled {
    /// Resident memory at each sampling step, KiB.
    rss_kib: Vec<u64>,
    /// Highest `VmHWM` seen, KiB. (Not getrusage: a child's `ru_maxrss` on
    /// Linux can include the parent's memory at fork time.)
    peak_kib: u64,
}

/// `(VmRSS, VmHWM)` of a live process, KiB.
fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Median of the second half of the samples.
fn steady(samples: &[u64]) -> u64 {
    let mut tail: Vec<u64> = samples[samples.len() / 2..].to_vec();
    tail.sort_unstable();
    tail.get(tail.len() / 2).copied().unwrap_or(0)
}

fn count_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_name() != ".tmp")
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => count_files(&e.path()),
            Ok(_) => 1,
            Err(_) => 0,
        })
        .sum()
}

fn folder_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => folder_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// A number from the daemon's closing `summary` log line, e.g. `polls_ok=10000`.
fn summary_field(log: &Path, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().rev().find(|l| l.contains("summary"))?;
    let start = line.find(&format!("{field}="))? + field.len() + 1;
    let digits: String = line[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}
