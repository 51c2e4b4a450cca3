//! `thresher clean`: HTML files cleaned into the article JSON the daemon
//! writes (the fields a page alone gives), or the cleaner's decisions.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use tracing::warn;
use url::Url;

use thresher::article::{self, Article, Provenance};
use thresher::config::{Config, ConfigOrigin};
use thresher::plural::count;
use thresher::{clean, dedup};

/// `thresher clean`'s options.
#[derive(Args)]
pub(super) struct CleanArgs {
    /// URL the document was fetched from (resolves relative links, sets `id`).
    #[arg(long)]
    url: Option<Url>,
    /// Write `<DIR>/<file stem>.json` for each input instead of printing.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// With `--out`: each input's own URL, from lines `<file stem><TAB><url>`
    /// (a file not listed uses `--url`, if given).
    #[arg(long, value_name = "FILE", requires = "out", conflicts_with = "url")]
    urls: Option<PathBuf>,
    /// Print which blocks were kept or removed and why, instead of the JSON (one FILE).
    #[arg(long)]
    explain: bool,
    /// Apply the `[sources.rules]` of this source from the configuration.
    #[arg(long, value_name = "NAME")]
    source: Option<String>,
    /// Configuration file for `--source` and, with a URL, `[dedup]
    /// tracking_params` [default: as for `run`].
    #[arg(long, env = "THRESHER_CONFIG")]
    config: Option<PathBuf>,
    /// Also give the article as Markdown (the `markdown` field).
    #[arg(long)]
    markdown: bool,
    /// HTML files to clean; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// The JSON `thresher clean` prints: the article fields a page alone can give.
#[derive(Serialize)]
struct CleanOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<Url>,
    #[serde(skip_serializing_if = "Option::is_none")]
    canonical_url: Option<Url>,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    subtitle: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    published_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<Url>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<clean::Figure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    site_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    section: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    word_count: usize,
    reading_time_minutes: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    text: String,
    html: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    markdown: Option<String>,
}

impl From<Article> for CleanOutput {
    /// The article's fields a page alone gives (no source, feed or fetch time).
    fn from(article: Article) -> Self {
        Self {
            id: Some(article.id),
            url: Some(article.url),
            canonical_url: Some(article.canonical_url),
            title: article.title,
            subtitle: article.subtitle,
            authors: article.authors,
            published_at: article.published_at,
            updated_at: article.updated_at,
            image: article.image,
            images: article.images,
            site_name: article.site_name,
            description: article.description,
            section: article.section,
            tags: article.tags,
            word_count: article.word_count,
            reading_time_minutes: article.reading_time_minutes,
            language: article.language,
            text: article.text,
            html: article.html,
            markdown: article.markdown,
        }
    }
}

impl CleanOutput {
    /// The output of a page whose address is not known: no id and no URL,
    /// the canonical link as the page declares it, and the rest as
    /// [`article::assemble`] gives it for a page no feed listed.
    fn unaddressed(cleaned: clean::Cleaned) -> Self {
        let reading = article::reading(&cleaned.text);
        Self {
            id: None,
            url: None,
            canonical_url: cleaned.canonical_url,
            title: cleaned.title.unwrap_or_default(),
            subtitle: cleaned.subtitle,
            authors: cleaned.authors,
            published_at: cleaned.published_at,
            updated_at: cleaned.updated_at,
            image: cleaned.image,
            images: cleaned.images,
            site_name: cleaned.site_name,
            description: cleaned.description,
            section: cleaned.section,
            tags: cleaned.tags,
            word_count: reading.words,
            reading_time_minutes: reading.minutes,
            language: cleaned.language,
            text: cleaned.text,
            html: cleaned.html,
            markdown: None,
        }
    }
}

/// Cleans one page into what `thresher clean` prints, with the decisions
/// made (for `--explain`). With its URL known, the page is assembled as the
/// daemon assembles it, identified by the configured canonicaliser.
fn clean_one(
    bytes: Vec<u8>,
    url: Option<&Url>,
    canon: &dedup::UrlCanon,
    options: &clean::Options<'_>,
    markdown: bool,
) -> Result<(CleanOutput, Vec<clean::Decision>), clean::CleanError> {
    let html = clean::decode_html_owned(bytes, None);
    let mut cleaned = clean::clean_with(&html, url, options)?;
    let decisions = std::mem::take(&mut cleaned.explanation);
    let markdown = markdown.then(|| clean::markdown(&cleaned.html));
    let mut output = match url {
        Some(url) => {
            let provenance = Provenance::unlisted(url.clone());
            CleanOutput::from(article::assemble(canon, provenance, cleaned))
        }
        None => CleanOutput::unaddressed(cleaned),
    };
    output.markdown = markdown;
    Ok((output, decisions))
}

/// The configuration `clean` follows, when it needs one: for `--source`'s
/// rules, and for `[dedup] tracking_params` when a URL gives the page an id
/// (so the id is the one the daemon writes).
fn clean_config(args: &CleanArgs) -> anyhow::Result<Option<(Config, ConfigOrigin)>> {
    let addressed = args.url.is_some() || args.urls.is_some();
    if args.source.is_none() && !addressed {
        return Ok(None);
    }
    let origin = ConfigOrigin::resolve(args.config.as_deref());
    let config = Config::load(&origin)?;
    Ok(Some((config, origin)))
}

/// The `[sources.rules]` of `--source`, if given.
fn source_rules(
    args: &CleanArgs,
    config: Option<&(Config, ConfigOrigin)>,
) -> anyhow::Result<Option<clean::Rules>> {
    let (Some(name), Some((config, origin))) = (&args.source, config) else {
        return Ok(None);
    };
    let Some(source) = config.sources.iter().find(|s| &s.name == name) else {
        let names: Vec<_> = config.sources.iter().map(|s| s.name.as_str()).collect();
        bail!(
            "config {origin}: no source named {name:?} (sources: {})",
            names.join(", ")
        );
    };
    let rules = match &source.rules {
        // Validated when the config was loaded.
        Some(rules) => rules
            .compile()
            .map_err(|(field, message)| anyhow::anyhow!("{field}: {message}"))?,
        None => {
            warn!("source {name:?} has no [sources.rules]; cleaning with the general method");
            clean::Rules::default()
        }
    };
    Ok(Some(rules))
}

fn print_explanation(output: &CleanOutput, decisions: &[clean::Decision]) {
    print_decisions(decisions);
    println!();
    println!("title:    {}", output.title);
    if let Some(subtitle) = &output.subtitle {
        println!("subtitle: {subtitle}");
    }
    let paragraphs = output.text.split("\n\n").count();
    let words = output.text.split_whitespace().count();
    println!(
        "text:     {}, {}",
        count(paragraphs, "paragraph", "paragraphs"),
        count(words, "word", "words")
    );
}

/// One line per decision. The element's whole CSS path comes last, as it
/// is (however long), so it can be pasted into `[sources.rules] remove`;
/// the columns before it are as wide as their widest entry, nothing cut.
fn print_decisions(decisions: &[clean::Decision]) {
    let width = |header: &str, cell: fn(&clean::Decision) -> usize| {
        decisions
            .iter()
            .map(cell)
            .chain([header.chars().count()])
            .max()
            .unwrap_or(0)
    };
    let reason_width = width("reason", |d| d.reason.chars().count());
    let text_width = width("text", |d| d.text.chars().count());
    let line = |kept: &str, score: &str, reason: &str, text: &str, element: &str| {
        let row = format!(
            "{kept:<4} {score:>7}  {reason:<reason_width$}  {text:<text_width$}  {element}"
        );
        println!("{}", row.trim_end());
    };
    line("kept", "score", "reason", "text", "element");
    for d in decisions {
        let score = d
            .score
            .map_or_else(|| "-".to_string(), |s| format!("{s:.1}"));
        let kept = if d.kept { "yes" } else { "no" };
        line(kept, &score, &d.reason, &d.text, &d.element);
    }
}

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        Ok(bytes)
    } else {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

/// Reads `--urls`: one `<file stem><TAB><url>` per line; blank lines are skipped.
fn read_url_list(path: &Path) -> anyhow::Result<HashMap<String, Url>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the URL list {}", path.display()))?;
    let mut urls = HashMap::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((stem, url)) = line.split_once('\t') else {
            bail!(
                "{}:{}: expected `<file stem><TAB><url>`",
                path.display(),
                number + 1
            );
        };
        let url = Url::parse(url.trim())
            .with_context(|| format!("{}:{}: invalid URL {url:?}", path.display(), number + 1))?;
        urls.insert(stem.to_string(), url);
    }
    Ok(urls)
}

/// `thresher clean`: each FILE cleaned and printed, or written under `--out`.
pub(super) fn clean_files(args: &CleanArgs) -> anyhow::Result<ExitCode> {
    let config = clean_config(args)?;
    let rules = source_rules(args, config.as_ref())?;
    let canon = config
        .as_ref()
        .map_or_else(dedup::UrlCanon::default, |(config, _)| {
            dedup::UrlCanon::new(&config.dedup.tracking_params)
        });
    let options = clean::Options {
        rules: rules.as_ref(),
        is_boilerplate: None,
        explain: args.explain,
    };
    let Some(out) = &args.out else {
        if args.files.len() != 1 {
            bail!("without --out, `clean` takes exactly one FILE (use --out DIR for several)");
        }
        let bytes = read_input(&args.files[0])?;
        let (output, decisions) =
            match clean_one(bytes, args.url.as_ref(), &canon, &options, args.markdown) {
                // The table is what the user needs when nothing was found.
                Err(clean::CleanError::NoArticle(reason, decisions)) if args.explain => {
                    print_decisions(&decisions);
                    bail!("{}: no article found: {reason}", args.files[0].display());
                }
                result => result.with_context(|| format!("{}", args.files[0].display()))?,
            };
        if args.explain {
            print_explanation(&output, &decisions);
        } else {
            println!("{}", serde_json::to_string_pretty(&output)?);
        }
        return Ok(ExitCode::SUCCESS);
    };
    if args.explain {
        bail!("--explain prints a table for one FILE; it cannot be combined with --out");
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let urls = match &args.urls {
        Some(path) => read_url_list(path)?,
        None => HashMap::new(),
    };
    let mut failed = 0usize;
    for path in &args.files {
        let stem = path
            .file_stem()
            .map_or_else(|| "stdin".into(), |s| s.to_string_lossy().into_owned());
        let url = urls.get(&stem).or(args.url.as_ref());
        let result = read_input(path).and_then(|bytes| {
            let (output, _) = clean_one(bytes, url, &canon, &options, args.markdown)?;
            let target = out.join(format!("{stem}.json"));
            std::fs::write(&target, serde_json::to_vec_pretty(&output)?)
                .with_context(|| format!("cannot write {}", target.display()))
        });
        if let Err(error) = result {
            failed += 1;
            eprintln!("thresher: {}: {error:#}", path.display());
        }
    }
    eprintln!(
        "cleaned {} of {} into {}",
        args.files.len() - failed,
        count(args.files.len(), "file", "files"),
        out.display()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
