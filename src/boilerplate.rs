//! Learned site boilerplate: text blocks that recur across different articles
//! of one host are template (a promo line, a membership appeal, a legal note
//! inside the article body), not article.
//!
//! The cleaner's general method cannot know that "Support our journalism…"
//! sits in every article of a site; the daemon can, because it sees many
//! pages per host. For each host it keeps a bounded table of block
//! fingerprints and in how many distinct articles each was seen; a block seen
//! in [`TEMPLATE_MIN_ARTICLES`] or more articles is dropped from later ones.
//! The table lives in the state store (as the bytes of
//! [`HostBlocks::to_bytes`]), so what was learned survives restarts.

use std::collections::HashSet;

use crate::state::{State, StateError};

/// A block is template once it was seen in this many different articles of a host.
pub const TEMPLATE_MIN_ARTICLES: u32 = 3;

/// Most fingerprints remembered per host: template blocks recur in nearly
/// every article, so a short memory (dozens of articles) is enough to learn
/// them, and each update rewrites at most 20 KiB.
pub const MAX_BLOCKS_PER_HOST: usize = 1024;

/// Bytes per block in the stored form: hash, count, last_seen.
const RECORD_BYTES: usize = 8 + 4 + 8;

/// Fingerprint of a block's text: FNV-1a over the lower-cased words, so
/// whitespace and case differences do not matter. Stable across versions
/// (it is stored on disk), unlike `std`'s hasher.
pub fn fingerprint(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for word in text.split_whitespace() {
        for c in word.chars().flat_map(char::to_lowercase) {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        hash = (hash ^ u64::from(b' ')).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// What has been learned about one host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostBlocks {
    /// Articles of this host recorded so far (a logical clock for eviction).
    pub articles: u64,
    /// Block fingerprints with their article counts.
    pub blocks: Vec<BlockCount>,
}

/// One remembered block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockCount {
    /// [`fingerprint`] of the block text.
    pub hash: u64,
    /// Number of distinct articles it was seen in.
    pub count: u32,
    /// Value of [`HostBlocks::articles`] when it was last seen.
    pub last_seen: u64,
}

impl HostBlocks {
    /// The stored form: `articles`, then fixed-size little-endian records.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(8 + self.blocks.len() * RECORD_BYTES);
        bytes.extend_from_slice(&self.articles.to_le_bytes());
        for block in &self.blocks {
            bytes.extend_from_slice(&block.hash.to_le_bytes());
            bytes.extend_from_slice(&block.count.to_le_bytes());
            bytes.extend_from_slice(&block.last_seen.to_le_bytes());
        }
        bytes
    }

    /// Reads the stored form; malformed bytes read as nothing learned yet.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
            Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
        }
        fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
            Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
        }
        let parse = || -> Option<Self> {
            let articles = u64_at(bytes, 0)?;
            let body = bytes.get(8..)?;
            if body.len() % RECORD_BYTES != 0 {
                return None;
            }
            let blocks = body
                .chunks_exact(RECORD_BYTES)
                .map(|r| {
                    Some(BlockCount {
                        hash: u64_at(r, 0)?,
                        count: u32_at(r, 8)?,
                        last_seen: u64_at(r, 12)?,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Self { articles, blocks })
        };
        parse().unwrap_or_default()
    }

    /// Fingerprints of the blocks known to be template.
    pub fn template(&self) -> HashSet<u64> {
        self.blocks
            .iter()
            .filter(|b| b.count >= TEMPLATE_MIN_ARTICLES)
            .map(|b| b.hash)
            .collect()
    }

    /// Records one article's blocks (each counted once per article). Past the
    /// size bound, the blocks seen in fewest articles, then least recently, go first.
    pub fn record(&mut self, article_blocks: &HashSet<u64>) {
        if article_blocks.is_empty() {
            return;
        }
        self.articles += 1;
        let now = self.articles;
        let mut seen = HashSet::with_capacity(article_blocks.len());
        for block in &mut self.blocks {
            if article_blocks.contains(&block.hash) {
                block.count = block.count.saturating_add(1);
                block.last_seen = now;
                seen.insert(block.hash);
            }
        }
        self.blocks.extend(
            article_blocks
                .iter()
                .filter(|h| !seen.contains(h))
                .map(|&hash| BlockCount {
                    hash,
                    count: 1,
                    last_seen: now,
                }),
        );
        if self.blocks.len() > MAX_BLOCKS_PER_HOST {
            self.blocks
                .sort_unstable_by_key(|b| std::cmp::Reverse((b.count, b.last_seen)));
            self.blocks.truncate(MAX_BLOCKS_PER_HOST);
        }
    }
}

/// What has been learned about `host`'s template blocks in `state`.
pub async fn learned(state: &State, host: String) -> Result<HostBlocks, StateError> {
    let stored = state.learned(host).await?;
    Ok(stored
        .map(|bytes| HostBlocks::from_bytes(&bytes))
        .unwrap_or_default())
}

/// Records one article's block fingerprints for `host` in `state`.
pub async fn learn(state: &State, host: String, blocks: HashSet<u64>) -> Result<(), StateError> {
    state
        .update_learned(host, move |stored| {
            let mut host_blocks = stored.map(HostBlocks::from_bytes).unwrap_or_default();
            host_blocks.record(&blocks);
            host_blocks.to_bytes()
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(texts: &[&str]) -> HashSet<u64> {
        texts.iter().map(|t| fingerprint(t)).collect()
    }

    #[test]
    fn fingerprint_ignores_case_and_spacing_but_not_words() {
        assert_eq!(
            fingerprint("Support our  journalism"),
            fingerprint("support our\njournalism")
        );
        assert_ne!(
            fingerprint("support our journalism"),
            fingerprint("support their journalism")
        );
        assert_ne!(fingerprint("ab c"), fingerprint("a bc"));
    }

    #[test]
    fn a_block_becomes_template_in_its_third_article() {
        let mut host = HostBlocks::default();
        let promo = "Become a member today";
        host.record(&blocks(&[promo, "story one"]));
        host.record(&blocks(&[promo, "story two"]));
        assert!(host.template().is_empty());
        host.record(&blocks(&[promo, "story three"]));
        assert_eq!(host.template(), blocks(&[promo]));
    }

    #[test]
    fn the_stored_form_round_trips_and_garbage_reads_as_empty() {
        let mut host = HostBlocks::default();
        host.record(&blocks(&["a", "b"]));
        host.record(&blocks(&["a"]));
        assert_eq!(HostBlocks::from_bytes(&host.to_bytes()), host);
        assert_eq!(HostBlocks::from_bytes(b"short"), HostBlocks::default());
        assert_eq!(HostBlocks::from_bytes(&[0u8; 9]), HostBlocks::default());
    }

    #[test]
    fn the_table_stays_bounded_and_keeps_the_template() {
        let mut host = HostBlocks::default();
        let promo = fingerprint("Become a member today");
        for article in 0..3 * MAX_BLOCKS_PER_HOST as u64 {
            let mut set: HashSet<u64> = (0..8).map(|i| article * 8 + i + 1_000_000).collect();
            set.insert(promo);
            host.record(&set);
            assert!(host.blocks.len() <= MAX_BLOCKS_PER_HOST);
        }
        assert!(host.template().contains(&promo));
    }

    #[tokio::test]
    async fn learned_blocks_accumulate_per_host_and_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let promo = fingerprint("Become a member");
        {
            let state = State::open(dir.path()).expect("open");
            for story in 0..3u64 {
                let blocks = [promo, story].into_iter().collect();
                learn(&state, "a.example".into(), blocks)
                    .await
                    .expect("record");
            }
            let other = learned(&state, "b.example".into()).await.expect("read");
            assert!(other.template().is_empty(), "hosts are separate");
        }
        let state = State::open(dir.path()).expect("reopen");
        let learned = learned(&state, "a.example".into()).await.expect("read");
        assert_eq!(learned.template(), [promo].into_iter().collect());
    }
}
