//! De-duplication measurements: `cargo bench --bench dedup -- --corpus ../shared/corpus`.
//!
//! 1. Precision and recall of near-duplicate matching on a labelled pair set
//!    built from the corpus pages (never copied into the repository):
//!    positives are syndicated copies made by re-templating a page (its body
//!    in another site's chrome, a reworded headline, a paragraph dropped or
//!    added), each run through the cleaner again; negatives are other pages,
//!    the most similar other page of the corpus (same topic), a follow-up
//!    sharing only the first paragraphs, a live-blog update (same headline,
//!    as much new text again), and a short brief; plus hand-written pairs
//!    about one event. Matching is exactly the daemon's: an LSH band in
//!    common, then the thresholds. Prints the default thresholds' table and a sweep.
//! 2. RAM per story and ns per lookup of the in-memory index at 1 million stories.
//! 3. The state store: cost of remembering a story, of a lookup, and of
//!    loading the index at start.
//!
//! Options: `--corpus DIR` (needs `zyte/` and/or `readability/`),
//! `--stories N` (index size, default 1000000), `--store N` (stories written
//! to the state store, default 3000), `--skip-quality`, `--skip-perf`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use thresher::config::DedupConfig;
use thresher::dedup::{
    Signature, Story, StoryIndex, StoryMemory, Thresholds, band_hashes, body_words,
    fingerprint::words, title_similarity,
};
use thresher::state::{Outcome, State};

struct Args {
    corpus: Option<PathBuf>,
    stories: usize,
    store: usize,
    quality: bool,
    perf: bool,
}

fn args() -> Args {
    let mut args = Args {
        corpus: None,
        stories: 1_000_000,
        store: 3000,
        quality: true,
        perf: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--corpus" => args.corpus = it.next().map(PathBuf::from),
            "--stories" => args.stories = it.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            "--store" => args.store = it.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            "--skip-quality" => args.quality = false,
            "--skip-perf" => args.perf = false,
            _ => {} // cargo passes --bench
        }
    }
    args
}

fn main() {
    let args = args();
    if args.quality {
        match &args.corpus {
            Some(corpus) => quality(corpus),
            None => eprintln!("no --corpus DIR given: skipping precision/recall"),
        }
    }
    if args.perf {
        // A small index first: lookups at a million should cost about the same.
        index_cost(args.stories.min(10_000));
        index_cost(args.stories);
        store_cost(args.store);
    }
}

/// A cleaned page: headline and paragraphs.
#[derive(Clone)]
struct Doc {
    name: String,
    title: String,
    paragraphs: Vec<String>,
}

impl Doc {
    fn text(&self) -> String {
        self.paragraphs.join("\n\n")
    }
}

fn load(corpus: &Path) -> Vec<Doc> {
    let mut docs = Vec::new();
    for set in ["zyte", "readability"] {
        let Ok(entries) = std::fs::read_dir(corpus.join(set)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "html"))
            .collect();
        paths.sort();
        for path in paths {
            let Ok(html) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(cleaned) = thresher::clean::clean(&html, None) else {
                continue;
            };
            let paragraphs: Vec<String> = cleaned
                .text
                .split("\n\n")
                .map(str::to_string)
                .filter(|p| !p.trim().is_empty())
                .collect();
            let title = cleaned.title.unwrap_or_default();
            let doc = Doc {
                name: format!("{set}/{}", path.file_name().unwrap_or_default().display()),
                title,
                paragraphs,
            };
            // Pages too short to fingerprint say nothing about matching, and
            // the corpus holds a few pages twice (the same article in two test
            // fixtures): keep the first, or "other page" pairs would be copies.
            let opening = words(&doc.paragraphs[0..1].concat());
            let twice = docs
                .iter()
                .any(|d: &Doc| words(&d.paragraphs[0]) == opening || d.text() == doc.text());
            if words(&doc.text()).len() >= 150 && doc.paragraphs.len() >= 4 && !twice {
                docs.push(doc);
            }
        }
    }
    docs
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The story in another site's template, cleaned again as the daemon would.
fn retemplate(title: &str, paragraphs: &[String]) -> Option<Doc> {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<p>{}</p>\n", escape(p)))
        .collect();
    let html = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{t} - The Syndicate Herald</title><meta property="og:title" content="{t}">
</head><body>
<header class="masthead"><a href="/">The Syndicate Herald</a>
<nav><a href="/news">News</a> <a href="/business">Business</a> <a href="/opinion">Opinion</a> <a href="/sport">Sport</a></nav></header>
<main><article class="story">
<h1 class="story-title">{t}</h1>
<div class="byline">By Wire Staff · Republished with permission</div>
<div class="story-body">
{body}</div>
</article>
<aside class="most-read"><h2>Most read</h2><ol><li><a href="/x">Markets slide as rates rise</a></li><li><a href="/y">Storm closes coastal roads</a></li></ol></aside>
</main>
<footer><p>© The Syndicate Herald. All rights reserved.</p><a href="/privacy">Privacy</a> <a href="/terms">Terms</a></footer>
</body></html>"#,
        t = escape(title)
    );
    let cleaned = thresher::clean::clean(&html, None).ok()?;
    Some(Doc {
        name: "re-templated".into(),
        title: cleaned.title.unwrap_or_default(),
        paragraphs: cleaned.text.split("\n\n").map(str::to_string).collect(),
    })
}

/// A headline rewritten the way a second desk does: a word dropped in three,
/// a kicker added.
fn reword(title: &str) -> String {
    let kept: Vec<&str> = title
        .split_whitespace()
        .enumerate()
        .filter(|(i, _)| i % 3 != 1)
        .map(|(_, w)| w)
        .collect();
    format!("{}: what we know", kept.join(" "))
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
enum Kind {
    CopyRetemplated,
    CopyParagraphDropped,
    CopyParagraphAdded,
    OtherPage,
    SameTopicPage,
    FollowUp,
    LiveBlogUpdate,
    ShortBrief,
    SameEventHandWritten,
    CopyHandWritten,
}

impl Kind {
    fn positive(self) -> bool {
        matches!(
            self,
            Kind::CopyRetemplated
                | Kind::CopyParagraphDropped
                | Kind::CopyParagraphAdded
                | Kind::CopyHandWritten
        )
    }
}

/// One labelled pair, reduced to what the matcher sees.
struct Pair {
    kind: Kind,
    /// The pages the pair was made from.
    names: String,
    /// Whether the two share an LSH band (only then is the pair compared).
    candidate: bool,
    body: f64,
    title: f64,
}

fn measure(kind: Kind, a: &Doc, b: &Doc, min_words: usize) -> Pair {
    let sig = |d: &Doc| Signature::of_words(&body_words(&d.title, &d.text()), min_words);
    let (sa, sb) = (sig(a), sig(b));
    match (sa, sb) {
        (Some(sa), Some(sb)) => {
            let (ba, bb) = (band_hashes(&sa), band_hashes(&sb));
            Pair {
                kind,
                names: format!("{} ~ {}", a.name, b.name),
                candidate: ba.iter().zip(&bb).any(|(x, y)| x == y),
                body: sa.similarity(&sb),
                title: title_similarity(&a.title, &b.title),
            }
        }
        // A body too short to fingerprint is never matched.
        _ => Pair {
            kind,
            names: format!("{} ~ {}", a.name, b.name),
            candidate: false,
            body: 0.0,
            title: 0.0,
        },
    }
}

fn word_set(doc: &Doc) -> HashSet<String> {
    words(&doc.text())
        .into_iter()
        .filter(|w| w.len() > 3)
        .collect()
}

fn hand_written() -> Vec<(Kind, Doc, Doc)> {
    let doc = |title: &str, text: &str| Doc {
        name: "hand".into(),
        title: title.into(),
        paragraphs: text.split("\n\n").map(str::to_string).collect(),
    };
    let wire = doc(
        "Harbour council approves redevelopment plan",
        "The harbour council voted on Tuesday evening to approve the long-debated redevelopment plan, ending months of public consultation and heated argument between residents and developers.\n\n\
         Officials said the new quay would open to ferries next spring, and that fishing boats would keep their berths during the works, which are expected to cost 40 million euros.\n\n\
         Opponents, who had gathered more than two thousand signatures, said they would consider an appeal, arguing that the environmental survey was incomplete and rushed.\n\n\
         The council leader, Maria Keane, speaking after the vote, said the decision balanced the needs of the town's economy with the concerns of those living closest to the water.",
    );
    let copy = doc(
        "Councillors back harbour overhaul after months of rows",
        "The harbour council voted on Tuesday evening to approve the long-debated redevelopment plan, ending months of public consultation and heated argument between residents and developers.\n\n\
         Officials said the new quay would open to ferries next spring, and that fishing boats would keep their berths during the works, which are expected to cost 40 million euros.\n\n\
         Opponents, who had gathered more than two thousand signatures, said they would consider an appeal, arguing that the environmental survey was incomplete and rushed.\n\n\
         This article first appeared in the Harbour Gazette and is republished here with permission.",
    );
    let same_event = doc(
        "Harbour council approves redevelopment plan",
        "Councillors in the harbour town gave the go-ahead on Tuesday to a contested plan to rebuild the quay, after a debate that ran late into the evening.\n\n\
         Maria Keane, who leads the council, told reporters the 40 million euro project would bring ferries back to the town and protect jobs on the water.\n\n\
         Residents who oppose the scheme handed in a petition with more than two thousand names last month and say they are now weighing a legal challenge.\n\n\
         Fishing crews, whose boats will stay in the harbour during construction, were split on the decision, with some welcoming the investment and others fearing disruption.",
    );
    vec![
        (Kind::CopyHandWritten, wire.clone(), copy),
        (Kind::SameEventHandWritten, wire, same_event),
    ]
}

fn pairs(docs: &[Doc], min_words: usize) -> Vec<Pair> {
    let mut out = Vec::new();
    let sets: Vec<HashSet<String>> = docs.iter().map(word_set).collect();
    for (i, a) in docs.iter().enumerate() {
        let other = &docs[(i * 7 + 3 + usize::from((i * 7 + 3) % docs.len() == i)) % docs.len()];
        let p = &a.paragraphs;
        if let Some(copy) = retemplate(&reword(&a.title), p) {
            out.push(measure(Kind::CopyRetemplated, a, &copy, min_words));
        }
        // A middle paragraph trimmed by the second desk.
        let mut dropped = p.clone();
        dropped.remove(p.len() / 2);
        if let Some(copy) = retemplate(&reword(&a.title), &dropped) {
            out.push(measure(Kind::CopyParagraphDropped, a, &copy, min_words));
        }
        let mut added = p.clone();
        added.push(
            "This story was first published by our partners and is republished with \
             permission; additional reporting by our regional desk."
                .into(),
        );
        added.insert(1, other.paragraphs[0].clone());
        if let Some(copy) = retemplate(&reword(&a.title), &added) {
            out.push(measure(Kind::CopyParagraphAdded, a, &copy, min_words));
        }
        for k in [1, 5, 11] {
            let j = (i + k) % docs.len();
            if j != i {
                out.push(measure(Kind::OtherPage, a, &docs[j], min_words));
            }
        }
        // The most similar other page by vocabulary: the nearest thing to
        // "another report on the same subject" the corpus has.
        let nearest = (0..docs.len()).filter(|&j| j != i).max_by(|&x, &y| {
            let jac = |j: usize| {
                let inter = sets[i].intersection(&sets[j]).count() as f64;
                inter / (sets[i].len() + sets[j].len()) as f64
            };
            jac(x).total_cmp(&jac(y))
        });
        if let Some(j) = nearest {
            out.push(measure(Kind::SameTopicPage, a, &docs[j], min_words));
        }
        // Follow-up: the first two paragraphs recapped, then new reporting.
        let mut follow = p[..2].to_vec();
        follow.extend(other.paragraphs.iter().cloned());
        let follow = Doc {
            name: String::new(),
            title: format!("Update: {}", a.title),
            paragraphs: follow,
        };
        out.push(measure(Kind::FollowUp, a, &follow, min_words));
        // Live blog: same headline, as much new text again on top.
        let mut live: Vec<String> = Vec::new();
        let mut next = i;
        while words(&live.join(" ")).len() < words(&a.text()).len() {
            next = (next + 1) % docs.len();
            if next == i {
                break;
            }
            live.extend(docs[next].paragraphs.iter().cloned());
        }
        live.extend(p.iter().cloned());
        let live = Doc {
            name: String::new(),
            title: a.title.clone(),
            paragraphs: live,
        };
        out.push(measure(Kind::LiveBlogUpdate, a, &live, min_words));
        // A brief: the opening quarter (at least `min_words` words), under
        // the same headline.
        let all = words(&a.text());
        let brief = Doc {
            name: String::new(),
            title: a.title.clone(),
            paragraphs: vec![all[..(all.len() / 4).max(min_words)].join(" ")],
        };
        out.push(measure(Kind::ShortBrief, a, &brief, min_words));
    }
    for (kind, a, b) in hand_written() {
        out.push(measure(kind, &a, &b, 20));
    }
    out
}

fn predicted(pair: &Pair, t: &Thresholds) -> bool {
    pair.candidate && t.same_story(pair.body, pair.title)
}

fn scores(pairs: &[Pair], t: &Thresholds) -> (f64, f64, usize, usize) {
    let (mut tp, mut fp, mut fneg) = (0, 0, 0);
    for pair in pairs {
        match (predicted(pair, t), pair.kind.positive()) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fneg += 1,
            _ => {}
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fneg).max(1) as f64;
    (precision, recall, fp, fneg)
}

fn quality(corpus: &Path) {
    let started = Instant::now();
    let docs = load(corpus);
    if docs.len() < 3 {
        eprintln!("{}: too few usable pages", corpus.display());
        return;
    }
    let defaults = DedupConfig::default();
    let pairs = pairs(&docs, defaults.min_words);
    let t = defaults.thresholds();
    println!(
        "== near-duplicate matching: {} pages, {} labelled pairs ({:.1}s to build)",
        docs.len(),
        pairs.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "defaults: body_similarity {} | body_similarity_with_title {} with title_similarity {} | min_words {}",
        t.body, t.body_with_title, t.title, defaults.min_words
    );
    let mut kinds: Vec<Kind> = pairs.iter().map(|p| p.kind).collect();
    kinds.sort();
    kinds.dedup();
    println!(
        "{:<22} {:>5} {:>8} {:>9} {:>7} {:>7} {:>7}",
        "pair kind", "pairs", "label", "matched", "body p5", "median", "p95"
    );
    for kind in kinds {
        let of: Vec<&Pair> = pairs.iter().filter(|p| p.kind == kind).collect();
        let matched = of.iter().filter(|p| predicted(p, &t)).count();
        let mut bodies: Vec<f64> = of.iter().map(|p| p.body).collect();
        bodies.sort_by(f64::total_cmp);
        let q = |f: f64| bodies[((bodies.len() - 1) as f64 * f).round() as usize];
        println!(
            "{:<22} {:>5} {:>8} {:>9} {:>7.2} {:>7.2} {:>7.2}",
            format!("{kind:?}"),
            of.len(),
            if kind.positive() { "same" } else { "distinct" },
            matched,
            q(0.05),
            q(0.5),
            q(0.95)
        );
    }
    let (precision, recall, fp, fneg) = scores(&pairs, &t);
    println!(
        "defaults: precision {precision:.3}  recall {recall:.3}  (false merges {fp}, missed copies {fneg})"
    );
    for pair in pairs
        .iter()
        .filter(|p| predicted(p, &t) != p.kind.positive())
    {
        println!(
            "  wrong: {:?} body {:.2} title {:.2} band in common {} ({})",
            pair.kind, pair.body, pair.title, pair.candidate, pair.names
        );
    }
    println!("sweep (body_similarity / body_similarity_with_title / title_similarity):");
    println!(
        "{:>6} {:>6} {:>6} {:>10} {:>8} {:>4} {:>4}",
        "body", "b+t", "title", "precision", "recall", "fp", "fn"
    );
    for body in [0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8] {
        for (with_title, title) in [(body, 1.0), (0.4, 0.6), (0.5, 0.5), (0.5, 0.8)] {
            if with_title > body {
                continue;
            }
            let t = Thresholds {
                body,
                body_with_title: with_title,
                title,
            };
            let (p, r, fp, fneg) = scores(&pairs, &t);
            println!(
                "{body:>6.2} {with_title:>6.2} {title:>6.2} {p:>10.3} {r:>8.3} {fp:>4} {fneg:>4}"
            );
        }
    }
}

/// A pseudo-random signature (SplitMix64), standing in for an unrelated story.
fn random_signature(seed: u64) -> Signature {
    let mut state = seed;
    Signature(
        (0..thresher::dedup::fingerprint::SIGNATURE_LEN)
            .map(|_| {
                state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                (z ^ (z >> 31)) as u32
            })
            .collect(),
    )
}

fn index_cost(stories: usize) {
    println!("== in-memory index at {stories} stories");
    let bands: Vec<[u32; 6]> = (0..stories as u64)
        .map(|i| band_hashes(&random_signature(i)))
        .collect();
    let started = Instant::now();
    let mut index = StoryIndex::new();
    for (i, b) in bands.iter().enumerate() {
        index.insert(i as u64, 1_700_000_000, *b);
    }
    let insert = started.elapsed();
    println!(
        "insert: {:.0} ns/story ({:.2}s total)",
        insert.as_nanos() as f64 / stories as f64,
        insert.as_secs_f64()
    );
    let bytes = index.heap_bytes();
    println!(
        "RAM: {:.1} MB, {:.1} bytes/story (target <= 64)",
        bytes as f64 / 1e6,
        bytes as f64 / stories as f64
    );
    // Best of three rounds: the machine is shared, and noise only adds time.
    let probes = 200_000u64;
    let (mut miss, mut hit) = (f64::MAX, f64::MAX);
    let mut found = 0usize;
    for _ in 0..3 {
        let started = Instant::now();
        for i in 0..probes {
            found += index
                .candidates(&band_hashes(&random_signature(u64::MAX - i)))
                .len();
        }
        miss = miss.min(started.elapsed().as_nanos() as f64 / probes as f64);
        let started = Instant::now();
        for i in 0..probes {
            let key = (i * 7919) % stories as u64;
            found += index.candidates(&bands[key as usize]).len();
        }
        hit = hit.min(started.elapsed().as_nanos() as f64 / probes as f64);
    }
    println!(
        "lookup (band hashes + candidates), best of 3: new story {miss:.0} ns, remembered story {hit:.0} ns ({found} candidates)"
    );
    let started = Instant::now();
    let removed = index.forget_before(1_700_000_001);
    println!(
        "prune all: {removed} stories in {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
}

fn store_cost(count: usize) {
    println!("== state store with {count} remembered stories");
    let Ok(runtime) = tokio::runtime::Runtime::new() else {
        eprintln!("no tokio runtime");
        return;
    };
    let Ok(dir) = tempfile::tempdir() else {
        eprintln!("no temp dir");
        return;
    };
    let t = DedupConfig::default().thresholds();
    runtime.block_on(async {
        let Ok(state) = State::open(dir.path()) else {
            eprintln!("cannot open state store");
            return;
        };
        let state = StoryMemory::new(std::sync::Arc::new(state));
        let started = Instant::now();
        for i in 0..count as u64 {
            // Hash-like ids, as the daemon's are (the store is keyed by their first 64 bits).
            let id = format!("{:08x}{:024x}", random_signature(i).0[0], i);
            let story = Story {
                id: id.clone(),
                source: "bench".into(),
                url: format!("https://n.example/{i}"),
                title: format!("Story number {i}"),
                seen_at: chrono::Utc::now(),
                signature: Some(random_signature(i)),
            };
            let outcome = Outcome::Written { article_id: id };
            if let Err(e) = state
                .complete_with_story(format!("k{i}"), outcome, Some(story))
                .await
            {
                eprintln!("store failed: {e}");
                return;
            }
        }
        let write = started.elapsed();
        println!(
            "remember a story (with the link's outcome, one durable commit): {:.2} ms",
            write.as_secs_f64() * 1e3 / count as f64
        );
        let probes = 2000u64;
        let started = Instant::now();
        let mut hits = 0;
        for i in 0..probes {
            let sig = random_signature(i % count as u64);
            if let Ok(Some(_)) = state
                .find_same_story(sig, "Story".into(), String::new(), t)
                .await
            {
                hits += 1;
            }
        }
        let lookup = started.elapsed();
        let started = Instant::now();
        for i in 0..probes {
            let _ = state
                .find_same_story(random_signature(u64::MAX - i), "x".into(), String::new(), t)
                .await;
        }
        let miss = started.elapsed();
        println!(
            "find_same_story: {:.1} µs for a copy ({hits}/{probes} found), {:.1} µs for a new story",
            lookup.as_secs_f64() * 1e6 / probes as f64,
            miss.as_secs_f64() * 1e6 / probes as f64
        );
        let size = std::fs::metadata(dir.path().join(thresher::state::DB_FILE))
            .map(|m| m.len())
            .unwrap_or(0);
        println!(
            "disk: {:.0} bytes/story (whole database file)",
            size as f64 / count as f64
        );
        drop(state);
        let started = Instant::now();
        match State::open(dir.path()) {
            Ok(state) => {
                let state = StoryMemory::new(std::sync::Arc::new(state));
                // The index loads on first use.
                let loaded = state.index_size().await.map_or(0, |(n, _)| n);
                println!(
                    "open + load index: {:.1} µs/story ({loaded} stories)",
                    started.elapsed().as_secs_f64() * 1e6 / count as f64,
                );
                let started = Instant::now();
                let kept = state
                    .forget_before(chrono::Utc::now() - chrono::Duration::days(7))
                    .await;
                let nothing = started.elapsed();
                let started = Instant::now();
                let gone = state
                    .forget_before(chrono::Utc::now() + chrono::Duration::seconds(2))
                    .await;
                println!(
                    "prune: {:.2} ms when nothing is due ({kept:?} removed), {:.1} µs/story removed ({gone:?})",
                    nothing.as_secs_f64() * 1e3,
                    started.elapsed().as_secs_f64() * 1e6 / count as f64
                );
            }
            Err(e) => eprintln!("reopen failed: {e}"),
        }
    });
}
