//! The in-memory index of remembered stories: MinHash LSH bands in compact
//! sorted vectors.
//!
//! A story's signature is cut into [`BANDS`] bands of [`ROWS`] values; two
//! stories whose bodies are similar agree on a whole band with high
//! probability (1 - (1 - J^ROWS)^BANDS for Jaccard similarity J), unrelated
//! ones almost never. Each band is one sorted `Vec<u64>` of
//! `band hash << 32 | slot` (8 bytes per story per band), looked up through a
//! bucket directory and a short binary search; a slot names the story's key in the state store and when it was
//! seen. The full signature stays on disk and is read only for the few
//! candidates a lookup finds. Per story: `BANDS * 8 + 12` bytes of RAM, plus
//! a quarter byte of bucket directory per band.

use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::fingerprint::{SIGNATURE_LEN, Signature};

/// Bands per signature.
pub const BANDS: usize = 6;
/// Signature values per band.
pub const ROWS: usize = 2;

const _: () = assert!(BANDS * ROWS <= SIGNATURE_LEN);

/// New entries are kept in a small sorted tail and merged into the main
/// vector when it reaches this size: an insert moves at most this many
/// entries, and the merge's cost is shared by as many inserts.
const TAIL_MAX: usize = 4096;

/// The band hashes of a signature.
pub fn band_hashes(signature: &Signature) -> [u32; BANDS] {
    let mut out = [0; BANDS];
    for (band, hash) in out.iter_mut().enumerate() {
        let rows = signature
            .0
            .get(band * ROWS..(band + 1) * ROWS)
            .unwrap_or(&[]);
        let mut bytes = [0u8; ROWS * 4];
        for (chunk, value) in bytes.chunks_exact_mut(4).zip(rows) {
            chunk.copy_from_slice(&value.to_le_bytes());
        }
        *hash = xxh3_64_with_seed(&bytes, band as u64) as u32;
    }
    out
}

/// One band: sorted `hash << 32 | slot` entries.
#[derive(Debug, Default)]
struct Band {
    main: Vec<u64>,
    tail: Vec<u64>,
    /// Where each bucket of `main` starts, a bucket being the top
    /// `dir_bits` bits of the hash (about 16 entries each, plus one end
    /// entry): a lookup reads one directory entry and one short run instead
    /// of binary-searching megabytes (a cache miss per step).
    dir: Vec<u32>,
    dir_bits: u32,
}

impl Band {
    fn insert(&mut self, entry: u64) {
        let at = self.tail.partition_point(|&e| e < entry);
        self.tail.insert(at, entry);
        if self.tail.len() >= TAIL_MAX {
            let mut merged = Vec::with_capacity(self.main.len() + self.tail.len());
            let (mut a, mut b) = (self.main.iter().peekable(), self.tail.iter().peekable());
            while let (Some(&&x), Some(&&y)) = (a.peek(), b.peek()) {
                if x <= y {
                    merged.push(x);
                    a.next();
                } else {
                    merged.push(y);
                    b.next();
                }
            }
            merged.extend(a);
            merged.extend(b);
            self.main = merged;
            self.tail.clear();
            self.index_main();
        }
    }

    /// The bucket of an entry.
    fn bucket(&self, entry: u64) -> usize {
        if self.dir_bits == 0 {
            0
        } else {
            (entry >> (64 - self.dir_bits)) as usize
        }
    }

    /// Rebuilds the directory of `main`.
    fn index_main(&mut self) {
        let n = self.main.len();
        // ~16 entries per bucket: 0.25 bytes per story.
        self.dir_bits = (usize::BITS - n.leading_zeros()).saturating_sub(4).min(24);
        let buckets = 1usize << self.dir_bits;
        let mut dir = Vec::with_capacity(buckets + 1);
        let mut at = 0;
        for bucket in 0..buckets {
            while at < n && self.bucket(self.main[at]) < bucket {
                at += 1;
            }
            dir.push(at as u32);
        }
        dir.push(n as u32);
        self.dir = dir;
    }

    /// Slots whose band hash is `hash`.
    fn slots(&self, hash: u32, out: &mut Vec<u32>) {
        let low = u64::from(hash) << 32;
        let bucket = self.bucket(low);
        let run = match (self.dir.get(bucket), self.dir.get(bucket + 1)) {
            (Some(&start), Some(&end)) => self
                .main
                .get(start as usize..end as usize)
                .unwrap_or_default(),
            _ => &self.main[..],
        };
        for entries in [run, &self.tail[..]] {
            let start = entries.partition_point(|&e| e < low);
            out.extend(
                entries[start..]
                    .iter()
                    .take_while(|&&e| e >> 32 == u64::from(hash))
                    .map(|&e| e as u32),
            );
        }
    }

    fn heap_bytes(&self) -> usize {
        (self.main.capacity() + self.tail.capacity()) * 8 + self.dir.capacity() * 4
    }
}

/// Remembered stories, found by signature.
#[derive(Debug, Default)]
pub struct StoryIndex {
    /// Slot -> the story's key in the state store.
    keys: Vec<u64>,
    /// Slot -> when the story was seen (Unix seconds).
    seen: Vec<u32>,
    bands: [Band; BANDS],
}

impl StoryIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stories in the index.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the index holds no story.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds a story under `key`, seen at `seen` (Unix seconds).
    pub fn insert(&mut self, key: u64, seen: u32, bands: [u32; BANDS]) {
        let Ok(slot) = u32::try_from(self.keys.len()) else {
            return; // 4 billion stories: beyond any retention window.
        };
        // Grow by an eighth, not the default doubling: at a million stories
        // doubling could leave 12 bytes per story unused.
        if self.keys.len() == self.keys.capacity() {
            let more = (self.keys.len() / 8).max(1024);
            self.keys.reserve_exact(more);
            self.seen.reserve_exact(more);
        }
        self.keys.push(key);
        self.seen.push(seen);
        for (band, hash) in self.bands.iter_mut().zip(bands) {
            band.insert(u64::from(hash) << 32 | u64::from(slot));
        }
    }

    /// Keys of the stories sharing at least one band with `bands`, each once.
    pub fn candidates(&self, bands: &[u32; BANDS]) -> Vec<u64> {
        let mut slots = Vec::new();
        for (band, &hash) in self.bands.iter().zip(bands) {
            band.slots(hash, &mut slots);
        }
        slots.sort_unstable();
        slots.dedup();
        slots
            .into_iter()
            .filter_map(|slot| self.keys.get(slot as usize).copied())
            .collect()
    }

    /// Forgets the stories seen before `cutoff` (Unix seconds); returns how many.
    ///
    /// Rebuilds the vectors in one pass: slots are renumbered in order, so
    /// every band stays sorted without sorting again.
    pub fn forget_before(&mut self, cutoff: u32) -> usize {
        let mut renumber = Vec::with_capacity(self.keys.len());
        let mut next = 0u32;
        for &seen in &self.seen {
            if seen >= cutoff {
                renumber.push(Some(next));
                next += 1;
            } else {
                renumber.push(None);
            }
        }
        let removed = self.keys.len() - next as usize;
        if removed == 0 {
            return 0;
        }
        let keep = |i: &usize| renumber[*i].is_some();
        self.keys = (0..self.keys.len())
            .filter(keep)
            .map(|i| self.keys[i])
            .collect();
        self.seen = (0..self.seen.len())
            .filter(keep)
            .map(|i| self.seen[i])
            .collect();
        for band in &mut self.bands {
            for entries in [&mut band.main, &mut band.tail] {
                let kept: Vec<u64> = entries
                    .iter()
                    .filter_map(|&e| {
                        let slot = renumber.get(e as u32 as usize).copied().flatten()?;
                        Some((e >> 32) << 32 | u64::from(slot))
                    })
                    .collect();
                *entries = kept;
            }
            band.index_main();
        }
        removed
    }

    /// Heap memory held by the index, in bytes (capacity, not just length).
    pub fn heap_bytes(&self) -> usize {
        self.keys.capacity() * 8
            + self.seen.capacity() * 4
            + self.bands.iter().map(Band::heap_bytes).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signature(seed: u32) -> Signature {
        Signature(
            (0..SIGNATURE_LEN as u32)
                .map(|i| seed.wrapping_mul(2_654_435_761).wrapping_add(i))
                .collect(),
        )
    }

    #[test]
    fn a_story_is_found_by_a_signature_sharing_one_band_only() {
        let mut index = StoryIndex::new();
        index.insert(7, 100, band_hashes(&signature(1)));
        index.insert(8, 100, band_hashes(&signature(2)));
        let mut probe = signature(99);
        probe.0[..ROWS].copy_from_slice(&signature(1).0[..ROWS]);
        assert_eq!(index.candidates(&band_hashes(&probe)), vec![7]);
        assert!(index.candidates(&band_hashes(&signature(3))).is_empty());
    }

    #[test]
    fn lookups_see_both_the_merged_vector_and_the_tail() {
        let mut index = StoryIndex::new();
        let n = TAIL_MAX as u32 + 10;
        for i in 0..n {
            index.insert(u64::from(i), 1, band_hashes(&signature(i)));
        }
        assert!(!index.bands[0].main.is_empty() && !index.bands[0].tail.is_empty());
        for i in [0, 1, TAIL_MAX as u32 - 1, n - 1] {
            assert!(
                index
                    .candidates(&band_hashes(&signature(i)))
                    .contains(&u64::from(i)),
                "{i}"
            );
        }
    }

    #[test]
    fn forgetting_old_stories_keeps_the_rest_findable() {
        let mut index = StoryIndex::new();
        let n = TAIL_MAX as u32 * 2 + 3;
        for i in 0..n {
            index.insert(u64::from(i), i % 3, band_hashes(&signature(i)));
        }
        let removed = index.forget_before(1);
        assert_eq!(removed, (0..n).filter(|i| i % 3 == 0).count());
        assert_eq!(index.len(), n as usize - removed);
        for i in 0..n {
            let found = index
                .candidates(&band_hashes(&signature(i)))
                .contains(&u64::from(i));
            assert_eq!(found, i % 3 != 0, "{i}");
        }
        for band in &index.bands {
            assert!(band.main.is_sorted() && band.tail.is_sorted());
        }
        assert_eq!(index.forget_before(1), 0);
    }
}
