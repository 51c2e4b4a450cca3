//! Block filters: what is dropped from the chosen container's blocks
//! (link lists, labels, promotion lines, template copies, the headline and
//! standfirst at the top), and the text keys they compare by.

use std::collections::{HashMap, HashSet};

use super::dom::{Dom, NONE};
use super::explain::Log;
use super::extract::{Block, Kind};

/// A paragraph of at least this many words may be a template's copy (see [`template_copies`]).
const REPEAT_MIN_TOKENS: usize = 12;
/// A block shorter than this many words that repeats the block before it is dropped.
const STUTTER_MAX_WORDS: usize = 8;
/// At most this many words after the comment thread are its furniture.
const AFTER_COMMENTS_MAX_TOKENS: usize = 50;
/// A line of at most this many words can introduce the list after it.
const LEAD_IN_MAX_TOKENS: usize = 12;
/// Leading/trailing blocks of at most this many words without punctuation are labels.
const LABEL_MAX_WORDS: usize = 4;

/// Drops link lists, boilerplate labels, duplicates, the title and trailing headings.
///
/// `trusted` is given for the containers a source's `content` rule names,
/// marking the nodes inside them that the markup itself calls boilerplate
/// (a class, id or role such as share, social, promo, related). The user has
/// said that the container is the article, so its paragraphs are not second-
/// guessed by their shape: one of mostly links (an author card the
/// stylesheet hides, a line of citations), one with a promotional phrase, or
/// a short line at the start or end is kept; overruling those guesses is
/// what such a rule is written for. They still apply where the markup says
/// boilerplate, and to lists and tables (navigation): the user named the
/// article, not the share bar or the "related" links inside it, and would
/// not expect to have to remove those by hand. Whole-text labels
/// ("Advertisement", "Share"), repeats (of the headline, the line before, an
/// earlier paragraph) and headings with nothing after them go everywhere:
/// they are no text of the article. A `remove` rule takes out anything else.
pub(super) fn filter_blocks(
    raw: Vec<Block>,
    title: Option<&str>,
    trusted: Option<&[bool]>,
    log: &mut Log,
    dom: &Dom<'_>,
) -> Vec<Block> {
    // Whether a block's shape may decide that it is not article text.
    let guessed = |b: &Block| match trusted {
        None => true,
        Some(marked) => b.group != NONE || marked.get(b.node).copied().unwrap_or(false),
    };
    // Where the text of the last block kept is (its key is compared only
    // when a short block follows, so it is not computed for every block).
    let mut prev = Prev::Nothing;
    // A list or table is judged as a whole: one linked item or row among
    // prose is a reference, a list of nothing but links is navigation.
    let mut lists: HashMap<usize, (usize, usize)> = HashMap::new();
    for b in raw.iter().filter(|b| b.group != NONE) {
        let e = lists.entry(b.group).or_default();
        e.0 += b.link_len;
        e.1 += b.text.chars().count();
    }
    let mut out: Vec<Block> = Vec::with_capacity(raw.len());
    let copies = template_copies(&raw, dom);
    // Whether the block before this one was kept (so is `out`'s last).
    let mut just_kept = false;
    for b in raw {
        let follows_kept = std::mem::take(&mut just_kept);
        let (links, chars) = match lists.get(&b.group) {
            Some(&(l, c)) if matches!(b.kind, Kind::Li(_) | Kind::Row) => (l, c),
            _ => (b.link_len, b.text.chars().count()),
        };
        let ld = links as f64 / chars.max(1) as f64;
        if ld > 0.5 && guessed(&b) {
            // The line that announces a dropped link list ("Related
            // articles:", "More on this:") goes with it.
            if follows_kept
                && b.group != NONE
                && let Some(intro) = out.pop_if(|last| is_lead_in(last))
            {
                log.push(
                    dom,
                    intro.node,
                    false,
                    "introduces a list of links",
                    None,
                    &intro.text,
                );
                // Still the line the next short block must not repeat.
                prev = Prev::Popped(intro.text);
            }
            log.push(dom, b.node, false, "mostly links", Some(ld), &b.text);
            continue;
        }
        // An empty key: no alphanumeric char (every one lowers to something).
        if !b.text.chars().any(char::is_alphanumeric) {
            continue;
        }
        let dropped = if is_boilerplate(&b.text) {
            Some("boilerplate label")
        } else if guessed(&b) && is_promo(&b.text) {
            Some("promotion or sign-up phrase")
        } else if title.is_some_and(|t| same_key(&b.text, t)) {
            Some("repeats the headline")
        } else {
            None
        };
        if let Some(reason) = dropped {
            log.push(dom, b.node, false, reason, None, &b.text);
            continue;
        }
        // A short line right after an identical one is template stutter (a
        // table header repeated in <tfoot>, a label printed twice). Longer
        // paragraphs are kept as often as the author wrote them: dropping
        // repeats page-wide lost real text on both dev sets.
        let short = b
            .text
            .split_whitespace()
            .nth(STUTTER_MAX_WORDS - 1)
            .is_none();
        let prev_text = match &prev {
            Prev::Nothing => None,
            Prev::Last => out.last().map(|last| last.text.as_str()),
            Prev::Popped(text) => Some(text.as_str()),
        };
        if short && prev_text.is_some_and(|p| same_key(p, &b.text)) {
            log.push(dom, b.node, false, "repeats the line before", None, &b.text);
            continue;
        }
        if copies.contains(&b.node) {
            log.push(
                dom,
                b.node,
                false,
                "a copy of an earlier paragraph",
                None,
                &b.text,
            );
            continue;
        }
        out.push(b);
        prev = Prev::Last;
        just_kept = true;
    }
    // Trailing headings and stray labels ("Editorial", "Share") are page
    // furniture around body text; when there is nothing else, they are the text.
    let furniture = |b: &Block| {
        matches!(b.kind, Kind::H(_)) || (b.kind == Kind::P && guessed(b) && is_label(&b.text))
    };
    if out.iter().all(furniture) {
        return out;
    }
    while let Some(b) = out.pop_if(|b| furniture(b)) {
        log.push(
            dom,
            b.node,
            false,
            "trailing heading or label",
            None,
            &b.text,
        );
    }
    let lead = out
        .iter()
        .take_while(|b| b.kind == Kind::P && guessed(b) && is_label(&b.text))
        .count();
    for b in out.drain(..lead) {
        log.push(dom, b.node, false, "leading label", None, &b.text);
    }
    out
}

/// Drops the few short lines left after the page's comment thread (the
/// consent line under its form, a "back to top"): the article does not go
/// on below its comments. A long run there is text and stays; so does
/// everything when the thread (a comment count by the byline) comes first.
pub(super) fn drop_after_comments(
    blocks: &mut Vec<Block>,
    comments_end: usize,
    log: &mut Log,
    dom: &Dom<'_>,
) {
    let Some(first) = blocks.iter().position(|b| b.node >= comments_end) else {
        return;
    };
    let words: usize = blocks[first..].iter().map(|b| tokens(&b.text)).sum();
    if first == 0 || words > AFTER_COMMENTS_MAX_TOKENS {
        return;
    }
    for b in blocks.drain(first..) {
        log.push(
            dom,
            b.node,
            false,
            "after the comment thread",
            None,
            &b.text,
        );
    }
}

/// Where [`filter_blocks`] finds the text of the last block it kept.
enum Prev {
    /// No block kept yet.
    Nothing,
    /// The last block of the output.
    Last,
    /// A block kept, then taken out again as a link list's lead-in.
    Popped(String),
}

/// The nodes of long paragraphs that are copies the template made: printed
/// again in another container that holds nothing new (a call to action
/// after every section, a responsive second copy of the body). A repeat
/// beside new text, or in the container of its first copy, is the author's.
fn template_copies(raw: &[Block], dom: &Dom<'_>) -> HashSet<usize> {
    let mut first: HashMap<u64, usize> = HashMap::new();
    let mut repeats = Vec::new();
    // Containers holding a long paragraph seen there first.
    let mut fresh = HashSet::new();
    for b in raw {
        if !has_tokens(&b.text, REPEAT_MIN_TOKENS) {
            continue;
        }
        let parent = dom.parent[b.node];
        // A template prints the same markup, so the same collapsed text.
        let key = xxhash_rust::xxh3::xxh3_64(b.text.as_bytes());
        match first.get(&key) {
            Some(&container) if container != parent => repeats.push((b.node, parent)),
            Some(_) => {}
            None => {
                first.insert(key, parent);
                fresh.insert(parent);
            }
        }
    }
    let mut copies: HashSet<usize> = HashSet::new();
    let mut copy_containers: HashSet<usize> = HashSet::new();
    for (node, parent) in repeats {
        if !fresh.contains(&parent) {
            copies.insert(node);
            copy_containers.insert(parent);
        }
    }
    if copy_containers.is_empty() {
        return copies;
    }
    // In a container that is a copy, the short lines the first copy had
    // too (its headings, a label) are the copy's as well.
    let mut seen: HashSet<u64> = HashSet::new();
    for b in raw {
        let key = xxhash_rust::xxh3::xxh3_64(b.text.as_bytes());
        if !seen.insert(key) && copy_containers.contains(&dom.parent[b.node]) {
            copies.insert(b.node);
        }
    }
    copies
}

/// Removes leading blocks that repeat the title or subtitle.
///
/// A copy of the standfirst is dropped only where the page marks it as one
/// (a deck above the body); a plain first paragraph that the site also
/// used as its standfirst is where the article has it, and stays.
pub(super) fn strip_leading(
    blocks: &mut Vec<Block>,
    title: Option<&str>,
    subtitle: Option<&str>,
    is_deck: impl Fn(usize) -> bool,
    log: &mut Log,
    dom: &Dom<'_>,
) {
    let title_keys = heading_keys(title, None);
    let subtitle_key = subtitle.map(norm_key).filter(|k| !k.is_empty());
    if title_keys.is_empty() && subtitle_key.is_none() {
        return;
    }
    let mut idx = 0;
    let mut checked = 0;
    while idx < blocks.len() && checked < 4 {
        let key = norm_key(&blocks[idx].text);
        let repeats = title_keys.contains(&key)
            || (subtitle_key.as_ref() == Some(&key) && is_deck(blocks[idx].node));
        if repeats {
            let b = blocks.remove(idx);
            log.push(
                dom,
                b.node,
                false,
                "repeats the headline or standfirst",
                None,
                &b.text,
            );
        } else {
            idx += 1;
        }
        checked += 1;
    }
}

/// Comparison keys of the title and subtitle, which must not open the text.
pub(super) fn heading_keys(title: Option<&str>, subtitle: Option<&str>) -> Vec<String> {
    [title, subtitle]
        .into_iter()
        .flatten()
        .map(norm_key)
        .filter(|k| !k.is_empty())
        .collect()
}

/// Labels that are never article text on their own.
fn is_boilerplate(text: &str) -> bool {
    const LABELS: &[&str] = &[
        "advertisement",
        "advertisements",
        "advertising",
        "sponsored",
        "sponsoredcontent",
        "storycontinuesbelowadvertisement",
        "continuereadingbelowadvertisement",
        "continuereadingthemainstory",
        "readmore",
        "continuereading",
        "sharethis",
        "sharethisarticle",
        "shareonfacebook",
        "shareontwitter",
        "skiptocontent",
        "skiptomaincontent",
        "pleaseenteryourcomment",
        "pleaseenteryournamehere",
        "leaveareply",
        "leaveacomment",
        "relatedarticles",
        "mostpopular",
        "comments",
        "share",
        "tweet",
        "email",
        "print",
    ];
    // The labels are ASCII and the longest has 33 chars: the key is built
    // on the stack, and given up once it cannot be one.
    let mut buf = [0u8; 40];
    let mut len = 0;
    let mut push = |c: char| {
        let slot = buf.get_mut(len).filter(|_| c.is_ascii());
        slot.map(|b| {
            *b = c as u8;
            len += 1;
        })
    };
    for c in text.chars() {
        let pushed = if c.is_ascii() {
            if !c.is_ascii_alphanumeric() {
                continue;
            }
            push(c.to_ascii_lowercase())
        } else if c.is_alphanumeric() {
            c.to_lowercase().try_for_each(&mut push)
        } else {
            continue;
        };
        if pushed.is_none() {
            return false;
        }
    }
    let key = buf.get(..len).unwrap_or_default();
    LABELS.iter().any(|l| l.as_bytes() == key)
}

/// A few words without sentence punctuation: a label, not a paragraph.
/// A short line that leads into what follows: a paragraph ending with a
/// colon or with no sentence punctuation, or a heading ending with a colon.
fn is_lead_in(b: &Block) -> bool {
    let colon = b.text.ends_with([':', '：']);
    let open = !b
        .text
        .ends_with(['.', '!', '?', '"', '”', ')', '。', '！', '？']);
    tokens(&b.text) <= LEAD_IN_MAX_TOKENS
        && match b.kind {
            Kind::P => colon || open,
            // A section heading over links stays; "More on this:" does not.
            Kind::H(_) => colon,
            _ => false,
        }
}

fn is_label(text: &str) -> bool {
    text.split_whitespace().nth(LABEL_MAX_WORDS).is_none()
        && !text.ends_with(['.', '!', '?', '"', '”', ')', '。', '！', '？', ':'])
}

/// Short paragraphs that are publisher promotion, not reporting.
fn is_promo(text: &str) -> bool {
    const PHRASES: &[&str] = &[
        "all rights reserved",
        "sign up for",
        "subscribe to",
        "newsletter",
        "follow us on",
        "click here",
        "please enter your",
        "your email address will not be published",
        "comments are closed",
    ];
    if text.len() > 240 {
        return false;
    }
    // ASCII text is lowered on the stack: same answer, no allocation.
    let mut buf = [0u8; 240];
    if text.is_ascii()
        && let Some(lower) = buf.get_mut(..text.len())
    {
        lower.copy_from_slice(text.as_bytes());
        lower.make_ascii_lowercase();
        if let Ok(lower) = std::str::from_utf8(lower) {
            return PHRASES.iter().any(|p| lower.contains(p));
        }
    }
    let lower = text.to_lowercase();
    PHRASES.iter().any(|p| lower.contains(p))
}

/// Lower-case alphanumerics only: compares texts regardless of punctuation and spacing.
pub(super) fn norm_key(s: &str) -> String {
    let mut key = String::with_capacity(s.len());
    for c in s.chars() {
        // ASCII (most text) skips the Unicode tables; same answers.
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                key.push(c.to_ascii_lowercase());
            }
        } else if c.is_alphanumeric() {
            key.extend(c.to_lowercase());
        }
    }
    key
}

/// The chars of [`norm_key`], one at a time.
fn norm_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .filter(|c| {
            if c.is_ascii() {
                c.is_ascii_alphanumeric()
            } else {
                c.is_alphanumeric()
            }
        })
        .flat_map(char::to_lowercase)
}

/// True when `a` and `b` have the same [`norm_key`], stopping at the first difference.
fn same_key(a: &str, b: &str) -> bool {
    norm_chars(a).eq(norm_chars(b))
}

/// Whether `s` has at least `n` [`tokens`], reading no further than needed.
fn has_tokens(s: &str, n: usize) -> bool {
    count_tokens(s, n) >= n
}

/// Words, counting each CJK/Thai-style character as one (as the scorer does).
pub(super) fn tokens(s: &str) -> usize {
    if s.is_ascii() {
        // Every word is one token: count the bytes that start one
        // (branch-free, so the compiler can vectorise it).
        let ws = |c: u8| matches!(c, b'\t'..=b'\r' | b' ');
        let b = s.as_bytes();
        let first = usize::from(b.first().is_some_and(|&c| !ws(c)));
        return first
            + b.windows(2)
                .map(|w| usize::from(ws(w[0]) & !ws(w[1])))
                .sum::<usize>();
    }
    count_tokens(s, usize::MAX)
}

/// [`tokens`] of `s`, stopping once `enough` are counted: one pass over the
/// chars, a word being a run of non-whitespace worth its spaceless-script
/// characters, or one when it has none.
fn count_tokens(s: &str, enough: usize) -> usize {
    let mut n = 0usize;
    // Inside a word, and its spaceless-script characters so far.
    let mut in_word = false;
    let mut spaceless = 0usize;
    for c in s.chars() {
        // ASCII skips the Unicode tables; `char::is_whitespace` there is 9..=13 and space.
        let ws = if c.is_ascii() {
            matches!(c, '\t'..='\r' | ' ')
        } else {
            c.is_whitespace()
        };
        if ws {
            if in_word {
                n = n.saturating_add(spaceless.max(1));
                if n >= enough {
                    return n;
                }
            }
            in_word = false;
            spaceless = 0;
        } else {
            in_word = true;
            if !c.is_ascii() && is_spaceless_script(c) {
                spaceless += 1;
            }
        }
    }
    if in_word {
        n = n.saturating_add(spaceless.max(1));
    }
    n
}

/// Scripts written without spaces (CJK, Thai, ...), counted per character.
fn is_spaceless_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF | 0x1000..=0x109F | 0x1780..=0x17FF | 0x3040..=0x30FF
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xAC00..=0xD7AF)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Texts covering ASCII, Unicode whitespace and case, and spaceless scripts.
    const TEXTS: &[&str] = &[
        "",
        " ",
        "Share this",
        "share  THIS!",
        " a  b\t\n\x0B\x0Cc\r ",
        "Ünïcode\u{a0}text",
        "ÜNÏCODE TEXT",
        "日本語のテキスト です",
        "İstanbul",
        "Kelvin \u{212A}",
    ];

    #[test]
    fn ascii_word_counts_match_the_general_count() {
        for s in TEXTS {
            assert_eq!(tokens(s), count_tokens(s, usize::MAX), "{s:?}");
            for n in 0..6 {
                assert_eq!(has_tokens(s, n + 1), tokens(s) > n, "{s:?} {n}");
            }
        }
        assert_eq!(tokens("a b\x0Bc"), 3);
        assert_eq!(tokens("日本 語"), 3);
    }

    #[test]
    fn key_comparisons_agree_with_whole_keys() {
        for a in TEXTS {
            assert_eq!(norm_key(a), norm_chars(a).collect::<String>(), "{a:?}");
            for b in TEXTS {
                assert_eq!(same_key(a, b), norm_key(a) == norm_key(b), "{a:?} {b:?}");
            }
        }
        assert!(is_boilerplate("Share this"));
        assert!(!is_boilerplate(&"share ".repeat(20)));
    }

    #[test]
    fn promotion_phrases_are_found_in_any_case() {
        assert!(is_promo("Sign Up For our daily briefing"));
        assert!(is_promo("Ünïcode: sign up for it"));
        assert!(!is_promo("A plain sentence about the news."));
    }
}
