//! `thresher bench DIR`: the cleaner's speed against `scraper`'s parser alone.
//!
//! Both run in the same process, with the same allocator, on the same
//! in-memory pages, one thread, interleaved round by round so machine noise
//! hits both alike; each loop first runs once untimed over all pages, so
//! neither is timed on a cold heap (the first pass of a process maps and
//! faults in the allocator's memory); the best round of each counts. The
//! ratio (clean speed / parse speed) is the number the cleaner issues set a
//! target for (issues 14 and 21: at least 1.0, and 1.2 with the same
//! allocator for both loops). The allocator and its tuning are printed: the
//! ratio depends on them. Each loop's CPU time (of this thread) is
//! printed beside its wall time: on a machine other work shares, it varies
//! far less from run to run.

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
    /// Least CPU time of this thread in a round of `Html::parse_document`, if the OS tells.
    pub parse_cpu: Option<Duration>,
    /// Least CPU time of this thread in a round of the whole clean, if the OS tells.
    pub clean_cpu: Option<Duration>,
    /// Rounds run.
    pub rounds: usize,
    /// Peak resident memory of the process, in KiB, if the OS tells.
    pub peak_rss_kib: Option<u64>,
    /// The allocator both loops ran with, and its tuning.
    pub allocator: String,
}

impl Report {
    /// Clean speed divided by parse speed (1.0 = as fast as parsing alone).
    pub fn ratio(&self) -> f64 {
        self.parse.as_secs_f64() / self.clean.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// The same ratio in CPU time, if the OS tells it.
    pub fn cpu_ratio(&self) -> Option<f64> {
        let (parse, clean) = (self.parse_cpu?, self.clean_cpu?);
        Some(parse.as_secs_f64() / clean.as_secs_f64().max(f64::MIN_POSITIVE))
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
            "{}, {mb:.1} MB, best of {} after a warm-up round, one thread",
            crate::plural::count(self.pages, "page", "pages"),
            crate::plural::count(self.rounds, "round", "rounds")
        )?;
        writeln!(f, "{:>22}: {}", "allocator", self.allocator)?;
        let loops = [
            ("parse only (scraper)", self.parse, self.parse_cpu),
            ("clean", self.clean, self.clean_cpu),
        ];
        for (name, time, cpu) in loops {
            write!(
                f,
                "{name:>22}: {:>8.1} pages/s {:>7.2} MB/s {:>9.1} ms",
                rate(self.pages as f64, time),
                rate(mb, time),
                time.as_secs_f64() * 1e3
            )?;
            match cpu {
                Some(cpu) => writeln!(f, " {:>9.1} ms CPU", cpu.as_secs_f64() * 1e3)?,
                None => writeln!(f)?,
            }
        }
        writeln!(f, "{:>22}: {:.2}x", "clean/parse speed", self.ratio())?;
        if let Some(cpu) = self.cpu_ratio() {
            writeln!(f, "{:>22}: {cpu:.2}x", "clean/parse in CPU")?;
        }
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
    let parse_all = || {
        for page in &pages {
            std::hint::black_box(scraper::Html::parse_document(std::hint::black_box(page)));
        }
    };
    let clean_all = || {
        let mut no_article = 0;
        for page in &pages {
            if std::hint::black_box(clean::clean(std::hint::black_box(page), None)).is_err() {
                no_article += 1;
            }
        }
        no_article
    };
    // The warm-up round of each loop, untimed.
    parse_all();
    let mut no_article = clean_all();
    let mut parse = Duration::MAX;
    let mut clean_best = Duration::MAX;
    let mut parse_cpu: Option<Duration> = None;
    let mut clean_cpu: Option<Duration> = None;
    let least = |best: Option<Duration>, start: Option<Duration>| {
        let spent = thread_cpu()?.checked_sub(start?)?;
        Some(best.map_or(spent, |b| b.min(spent)))
    };
    for _ in 0..rounds {
        let (start, cpu) = (Instant::now(), thread_cpu());
        parse_all();
        parse = parse.min(start.elapsed());
        parse_cpu = least(parse_cpu, cpu);

        let (start, cpu) = (Instant::now(), thread_cpu());
        no_article = clean_all();
        clean_best = clean_best.min(start.elapsed());
        clean_cpu = least(clean_cpu, cpu);
    }
    Ok(Report {
        pages: pages.len(),
        bytes,
        no_article,
        parse,
        clean: clean_best,
        parse_cpu,
        clean_cpu,
        rounds,
        peak_rss_kib: peak_rss_kib(),
        allocator: allocator(),
    })
}

/// The allocator this process uses (the system's: the binary sets no other)
/// and the tuning it was started with, as `thresher bench` prints it.
pub fn allocator() -> String {
    let name = if cfg!(all(target_os = "linux", target_env = "gnu")) {
        "glibc malloc"
    } else {
        "the system allocator"
    };
    // The variables glibc reads at start-up (`thresher bench` itself sets none).
    let tuning: Vec<String> = [
        "MALLOC_ARENA_MAX",
        "MALLOC_MMAP_THRESHOLD_",
        "MALLOC_TRIM_THRESHOLD_",
        "MALLOC_TOP_PAD_",
        "GLIBC_TUNABLES",
    ]
    .iter()
    .filter_map(|k| std::env::var(k).ok().map(|v| format!("{k}={v}")))
    .collect();
    if tuning.is_empty() {
        format!("{name}, defaults")
    } else {
        format!("{name}, {}", tuning.join(" "))
    }
}

/// CPU time this thread has used, if the OS tells.
fn thread_cpu() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given, which
    // lives for the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return None;
    }
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u32::try_from(ts.tv_nsec).ok()?;
    Some(Duration::new(secs, nanos))
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
        assert!(report.to_string().contains(&report.allocator));
        assert!(report.cpu_ratio().is_some_and(|r| r > 0.0));
    }

    #[test]
    fn an_empty_folder_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = run(dir.path(), 1).unwrap_err();
        assert!(err.to_string().contains("no *.html files"), "{err}");
    }
}
