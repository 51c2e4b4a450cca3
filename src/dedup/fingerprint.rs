//! Story fingerprints: MinHash signatures of a body's word 3-shingles, and
//! the similarity rule that decides whether two stories are one.
//!
//! The signature estimates the Jaccard similarity of two bodies' shingle sets:
//! the share of positions where two signatures agree. Shingles of three words
//! keep word order, so two reports of one event written apart (same names,
//! other sentences) share few shingles, while a syndicated copy (same text in
//! another template, a paragraph trimmed or added) shares most.

use xxhash_rust::xxh3::xxh3_64;

/// MinHash values per signature (stored in the state store; 512 bytes).
pub const SIGNATURE_LEN: usize = 128;

/// Words per shingle.
const SHINGLE_WORDS: usize = 3;

/// A MinHash signature of a body: the least hash of its shingles under each
/// of [`SIGNATURE_LEN`] hash functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature(pub Vec<u32>);

/// The hash functions: multiply-shift over the shingle's 64-bit hash, with
/// odd multipliers drawn from a fixed SplitMix64 sequence, so signatures
/// stored by one version compare with those of the next.
const PERMUTATIONS: [(u64, u64); SIGNATURE_LEN] = permutations();

const fn splitmix64(state: u64) -> (u64, u64) {
    let state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (state, z ^ (z >> 31))
}

const fn permutations() -> [(u64, u64); SIGNATURE_LEN] {
    let mut out = [(0, 0); SIGNATURE_LEN];
    let mut state = 0x7468_7265_7368_6572; // "thresher"
    let mut i = 0;
    while i < SIGNATURE_LEN {
        let (s, a) = splitmix64(state);
        let (s, b) = splitmix64(s);
        state = s;
        out[i] = (a | 1, b);
        i += 1;
    }
    out
}

/// Lower-cased words of `text` (letters and digits; everything else separates).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The words of a body that count for its fingerprint: every paragraph but
/// one that only repeats the headline (the cleaner drops those; this keeps a
/// page it missed from looking different from its copies).
pub fn body_words(title: &str, text: &str) -> Vec<String> {
    let title = words(title);
    text.split("\n\n")
        .map(words)
        .filter(|paragraph| title.is_empty() || *paragraph != title)
        .flatten()
        .collect()
}

impl Signature {
    /// The signature of a body given as words, or `None` when it has fewer
    /// than `min_words` (too little text to tell a copy from a brief).
    pub fn of_words(words: &[String], min_words: usize) -> Option<Self> {
        if words.len() < min_words.max(SHINGLE_WORDS) {
            return None;
        }
        let mut mins = vec![u32::MAX; SIGNATURE_LEN];
        let mut shingle = String::new();
        for window in words.windows(SHINGLE_WORDS) {
            shingle.clear();
            for word in window {
                shingle.push_str(word);
                shingle.push(' ');
            }
            let hash = xxh3_64(shingle.as_bytes());
            for (min, (a, b)) in mins.iter_mut().zip(PERMUTATIONS) {
                let value = (a.wrapping_mul(hash).wrapping_add(b) >> 32) as u32;
                *min = (*min).min(value);
            }
        }
        Some(Self(mins))
    }

    /// Estimated Jaccard similarity of the two bodies' shingle sets (0 to 1).
    pub fn similarity(&self, other: &Signature) -> f64 {
        let len = self.0.len().min(other.0.len());
        if len == 0 {
            return 0.0;
        }
        let same = self.0.iter().zip(&other.0).filter(|(a, b)| a == b).count();
        same as f64 / len as f64
    }

    /// Little-endian bytes, for the state store.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// Reads [`Signature::to_bytes`]; `None` for a length that is not whole values.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if !bytes.len().is_multiple_of(4) {
            return None;
        }
        Some(Self(
            bytes
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ))
    }
}

/// Headline similarity: shared words over the shorter headline's words
/// (words of one or two letters ignored), so a headline reworded around the
/// same names still scores high and two headlines sharing a name do not.
pub fn title_similarity(a: &str, b: &str) -> f64 {
    let set = |s: &str| -> std::collections::HashSet<String> {
        words(s)
            .into_iter()
            .filter(|w| w.chars().count() > 2)
            .collect()
    };
    let (a, b) = (set(a), set(b));
    let shorter = a.len().min(b.len());
    if shorter == 0 {
        return 0.0;
    }
    a.intersection(&b).count() as f64 / shorter as f64
}

/// When two stories count as one (`[dedup]` thresholds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Body similarity at or above which two stories are one, whatever the headlines.
    pub body: f64,
    /// Lower body similarity that is enough when the headlines are alike too.
    pub body_with_title: f64,
    /// Headline similarity that makes `body_with_title` apply.
    pub title: f64,
}

impl Thresholds {
    /// Whether bodies this similar, under headlines this similar, are one story.
    pub fn same_story(&self, body_similarity: f64, title_similarity: f64) -> bool {
        body_similarity >= self.body
            || (body_similarity >= self.body_with_title && title_similarity >= self.title)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORY: &str = "The harbour council voted on Tuesday evening to approve the long-debated \
        redevelopment plan, ending months of public consultation and heated argument between \
        residents and developers.\n\nOfficials said the new quay would open to ferries next \
        spring, and that fishing boats would keep their berths during the works.\n\nOpponents, \
        who had gathered more than two thousand signatures, said they would consider an appeal, \
        arguing that the environmental survey was incomplete and rushed.\n\nThe council leader, \
        speaking after the vote, said the decision balanced the needs of the town's economy with \
        the concerns of those living closest to the water.";

    fn sig(text: &str) -> Signature {
        Signature::of_words(&words(text), 10).expect("long enough")
    }

    #[test]
    fn identical_bodies_match_fully_and_case_and_punctuation_do_not_matter() {
        let loud = STORY.to_uppercase().replace(',', " ;");
        assert_eq!(sig(STORY).similarity(&sig(&loud)), 1.0);
    }

    #[test]
    fn a_trimmed_copy_stays_similar_and_another_story_does_not() {
        let trimmed: Vec<&str> = STORY.split("\n\n").take(3).collect();
        let trimmed = sig(&trimmed.join("\n\n"));
        let full = sig(STORY);
        assert!(
            full.similarity(&trimmed) > 0.6,
            "{}",
            full.similarity(&trimmed)
        );
        let other = sig(
            "The harbour council rejected a bid on Tuesday to delay the redevelopment, as \
             residents gathered outside the town hall and developers warned of rising costs for \
             the quay and for the ferries that will use it.",
        );
        assert!(full.similarity(&other) < 0.1, "{}", full.similarity(&other));
    }

    #[test]
    fn short_bodies_get_no_signature() {
        assert_eq!(Signature::of_words(&words("Three short words"), 40), None);
        assert!(Signature::of_words(&words(STORY), 40).is_some());
    }

    #[test]
    fn a_paragraph_repeating_the_headline_is_not_part_of_the_body() {
        let title = "Harbour council approves plan";
        let with_headline = format!("Harbour Council approves plan!\n\n{STORY}");
        assert_eq!(body_words(title, &with_headline), body_words(title, STORY));
    }

    #[test]
    fn signatures_are_stable_and_round_trip_as_bytes() {
        let s = sig(STORY);
        assert_eq!(Signature::from_bytes(&s.to_bytes()), Some(s.clone()));
        assert_eq!(Signature::from_bytes(&[1, 2, 3]), None);
        // Signatures live in the state store across versions: pin a few values.
        let pinned = sig("one two three four five six seven eight nine ten");
        assert_eq!(pinned.0[..3], [43_725_792, 65_623_125, 281_877_776]);
        assert_eq!(s.0.len(), SIGNATURE_LEN);
    }

    #[test]
    fn headline_similarity_ignores_short_words_and_order() {
        let a = "Council approves the harbour plan";
        let b = "Harbour plan approved by council after long debate";
        assert!(title_similarity(a, b) >= 0.6, "{}", title_similarity(a, b));
        assert!(title_similarity(a, "Ferry fares to rise in spring") < 0.3);
        assert_eq!(title_similarity("", a), 0.0);
    }

    #[test]
    fn thresholds_combine_body_and_headline() {
        let t = Thresholds {
            body: 0.8,
            body_with_title: 0.5,
            title: 0.6,
        };
        assert!(t.same_story(0.85, 0.0));
        assert!(t.same_story(0.55, 0.7));
        assert!(!t.same_story(0.55, 0.4));
        assert!(!t.same_story(0.3, 1.0));
    }
}
