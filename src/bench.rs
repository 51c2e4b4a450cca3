//! `thresher bench DIR`: the cleaner's speed against `scraper`'s parser alone.
//!
//! Both run in the same process, on the same in-memory pages, one thread,
//! interleaved round by round so machine noise hits both alike; the best
//! round of each counts. The ratio (clean speed / parse speed) is the number
//! the cleaner issue sets a target for: at least 1.0.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::clean;

/// Results of one benchmark run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Pages read.
    pub pages: usize,
    /// Total size of the pages after decoding, in bytes.
    pub bytes: usize,
    /// Pages for which the cleaner found no article.
    pub no_article: usize,
    /// Best round of `Html::parse_document` over all pages.
    pub parse: Duration,
    /// Best round of the whole clean over all pages.
    pub clean: Duration,
    /// Rounds run.
    pub rounds: usize,
    /// Peak resident memory of the process, in KiB, if the OS tells.
    pub peak_rss_kib: Option<u64>,
}

impl Report {
    /// Clean speed divided by parse speed (1.0 = as fast as parsing alone).
    pub fn ratio(&self) -> f64 {
        self.parse.as_secs_f64() / self.clean.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

fn rate(count: f64, time: Duration) -> f64 {
    count / time.as_secs_f64().max(f64::MIN_POSITIVE)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mb = self.bytes as f64 / 1e6;
        writeln!(
            f,
            "{}, {mb:.1} MB, best of {}, one thread",
            crate::plural::count(self.pages, "page", "pages"),
            crate::plural::count(self.rounds, "round", "rounds")
        )?;
        for (name, time) in [("parse only (scraper)", self.parse), ("clean", self.clean)] {
            writeln!(
                f,
                "{name:>22}: {:>8.1} pages/s {:>7.2} MB/s {:>9.1} ms",
                rate(self.pages as f64, time),
                rate(mb, time),
                time.as_secs_f64() * 1e3
            )?;
        }
        writeln!(f, "{:>22}: {:.2}x", "clean/parse speed", self.ratio())?;
        writeln!(f, "{:>22}: {}", "no article found", self.no_article)?;
        match self.peak_rss_kib {
            Some(kib) => write!(f, "{:>22}: {:.1} MB", "peak RSS", kib as f64 / 1024.0),
            None => write!(f, "{:>22}: unknown", "peak RSS"),
        }
    }
}

/// Benchmarks every `*.html` file in `dir` over `rounds` rounds.
pub fn run(dir: &Path, rounds: usize) -> std::io::Result<Report> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "html" || e == "htm"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no *.html files in {}", dir.display()),
        ));
    }
    let pages: Vec<String> = paths
        .iter()
        .map(|p| std::fs::read(p).map(|bytes| clean::decode_html(&bytes, None)))
        .collect::<Result<_, _>>()?;
    let bytes = pages.iter().map(String::len).sum();
    let rounds = rounds.max(1);
    let mut parse = Duration::MAX;
    let mut clean_best = Duration::MAX;
    let mut no_article = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        for page in &pages {
            std::hint::black_box(scraper::Html::parse_document(std::hint::black_box(page)));
        }
        parse = parse.min(start.elapsed());

        let start = Instant::now();
        no_article = 0;
        for page in &pages {
            if std::hint::black_box(clean::clean(std::hint::black_box(page), None)).is_err() {
                no_article += 1;
            }
        }
        clean_best = clean_best.min(start.elapsed());
    }
    Ok(Report {
        pages: pages.len(),
        bytes,
        no_article,
        parse,
        clean: clean_best,
        rounds,
        peak_rss_kib: peak_rss_kib(),
    })
}

/// `VmHWM` from `/proc/self/status` (Linux), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_reports_every_page_and_a_positive_ratio() {
        let dir = tempfile::tempdir().expect("tempdir");
        let body = "<p>A paragraph with enough words to count as the body of a short article, \
                    repeated so the cleaner is satisfied that this is real text.</p>"
            .repeat(5);
        std::fs::write(
            dir.path().join("a.html"),
            format!("<html><body><article><h1>T</h1>{body}</article></body></html>"),
        )
        .expect("write");
        std::fs::write(
            dir.path().join("b.html"),
            "<html><body><nav>menu</nav></body></html>",
        )
        .expect("write");
        std::fs::write(dir.path().join("notes.txt"), "ignored").expect("write");
        let report = run(dir.path(), 2).expect("bench");
        assert_eq!(report.pages, 2);
        assert_eq!(report.no_article, 1);
        assert!(report.ratio() > 0.0);
        assert!(report.to_string().contains("clean/parse speed"));
    }

    #[test]
    fn an_empty_folder_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = run(dir.path(), 1).unwrap_err();
        assert!(err.to_string().contains("no *.html files"), "{err}");
    }
}
