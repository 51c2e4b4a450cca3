//! Remembered stories: each written article's source, URL, headline and
//! body signature, kept for `[dedup] retention` to recognise later copies,
//! with the in-memory [`StoryIndex`] over them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::{State, StateError, encode, unix_seconds};
use crate::dedup::{Signature, StoryIndex, Thresholds, band_hashes, title_similarity};

/// Written stories by [`story_key`]: see [`encode_story`] for the layout.
pub(super) const STORIES: TableDefinition<u64, &[u8]> = TableDefinition::new("stories");

/// `(seen-at, story key)` of every story, so pruning reads only what it removes.
pub(super) const STORY_TIMES: TableDefinition<(u32, u64), ()> = TableDefinition::new("story_times");

/// A written article as remembered for de-duplication.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    /// Article id.
    pub id: String,
    /// Source whose folder holds it.
    pub source: String,
    /// URL it was written from.
    pub url: String,
    /// Headline.
    pub title: String,
    /// When it was written.
    pub seen_at: DateTime<Utc>,
    /// Body fingerprint; `None` for a body too short to fingerprint.
    pub signature: Option<Signature>,
}

/// An earlier story found to be the same as a new article.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryMatch {
    /// The earlier story.
    pub story: Story,
    /// Estimated body similarity (share of shingles in common).
    pub body_similarity: f64,
    /// Headline similarity.
    pub title_similarity: f64,
}

/// The fields of a [`Story`] stored as JSON after its signature.
#[derive(Serialize, Deserialize)]
struct StoryMeta {
    id: String,
    source: String,
    url: String,
    title: String,
}

/// Key of a story in the `stories` table and the index: the first 64 bits of
/// its article id (ids are 128-bit hashes, so two stories sharing a key
/// within a retention window is a one-in-10^7 event at a million stories;
/// the stored id is compared on every match).
pub fn story_key(article_id: &str) -> u64 {
    article_id
        .get(..16)
        .and_then(|prefix| u64::from_str_radix(prefix, 16).ok())
        .unwrap_or_else(|| xxhash_rust::xxh3::xxh3_64(article_id.as_bytes()))
}

/// Layout of a `stories` value: seen-at (u32 Unix seconds), signature length
/// n (u16), n signature values (u32), then [`StoryMeta`] as JSON; all
/// little-endian. The fixed head lets the index load without parsing JSON.
pub(super) fn encode_story(story: &Story) -> Vec<u8> {
    let values = story.signature.as_ref().map_or(&[][..], |s| &s.0[..]);
    let n = values.len().min(usize::from(u16::MAX));
    let meta = StoryMeta {
        id: story.id.clone(),
        source: story.source.clone(),
        url: story.url.clone(),
        title: story.title.clone(),
    };
    let mut bytes = Vec::with_capacity(6 + 4 * n + 128);
    bytes.extend_from_slice(&unix_seconds(story.seen_at).to_le_bytes());
    bytes.extend_from_slice(&(n as u16).to_le_bytes());
    for value in &values[..n] {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes.extend_from_slice(&encode(&meta));
    bytes
}

/// The fixed head of a `stories` value: seen-at and signature.
fn story_head(bytes: &[u8]) -> Option<(u32, Option<Signature>, &[u8])> {
    let seen = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
    let n = usize::from(u16::from_le_bytes(bytes.get(4..6)?.try_into().ok()?));
    let values = bytes.get(6..6 + 4 * n)?;
    let rest = bytes.get(6 + 4 * n..)?;
    let signature = (n > 0).then(|| Signature::from_bytes(values)).flatten();
    Some((seen, signature, rest))
}

fn decode_story(key: u64, bytes: &[u8]) -> Result<Story, StateError> {
    let corrupt = |source| StateError::Corrupt {
        table: "stories",
        key: format!("{key:016x}"),
        source,
    };
    let (seen, signature, meta) =
        story_head(bytes).ok_or_else(|| corrupt(serde::de::Error::custom("truncated record")))?;
    let meta: StoryMeta = serde_json::from_slice(meta).map_err(corrupt)?;
    Ok(Story {
        id: meta.id,
        source: meta.source,
        url: meta.url,
        title: meta.title,
        seen_at: DateTime::from_timestamp(i64::from(seen), 0).unwrap_or_default(),
        signature,
    })
}

impl State {
    /// The remembered story written under `article_id`, if still within retention.
    pub async fn story(&self, article_id: String) -> Result<Option<Story>, StateError> {
        self.blocking(move |db| {
            let key = story_key(&article_id);
            let txn = db.begin_read()?;
            let stories = txn.open_table(STORIES)?;
            let Some(bytes) = stories.get(key)? else {
                return Ok(None);
            };
            let story = decode_story(key, bytes.value())?;
            Ok((story.id == article_id).then_some(story))
        })
        .await
    }

    /// The earlier story most similar to a body with this `signature` under
    /// `title` that `thresholds` call the same story; never the article
    /// `exclude_id` itself (an article written again after a crash).
    pub async fn find_same_story(
        &self,
        signature: Signature,
        title: String,
        exclude_id: String,
        thresholds: Thresholds,
    ) -> Result<Option<StoryMatch>, StateError> {
        let index = Arc::clone(&self.stories);
        self.blocking(move |db| {
            let candidates = with_index(db, &index, |index| {
                index.candidates(&band_hashes(&signature))
            })?;
            if candidates.is_empty() {
                return Ok(None);
            }
            let txn = db.begin_read()?;
            let stories = txn.open_table(STORIES)?;
            let mut best: Option<StoryMatch> = None;
            for key in candidates {
                let Some(bytes) = stories.get(key)? else {
                    continue;
                };
                let Some((_, Some(earlier), _)) = story_head(bytes.value()) else {
                    continue;
                };
                let body_similarity = signature.similarity(&earlier);
                // Cheap reject before decoding the rest of the record.
                if body_similarity < thresholds.body_with_title.min(thresholds.body) {
                    continue;
                }
                let story = match decode_story(key, bytes.value()) {
                    Ok(story) => story,
                    Err(e) => {
                        tracing::warn!("{e}; skipped");
                        continue;
                    }
                };
                if story.id == exclude_id {
                    continue;
                }
                let title_similarity = title_similarity(&title, &story.title);
                if thresholds.same_story(body_similarity, title_similarity)
                    && best
                        .as_ref()
                        .is_none_or(|b| body_similarity > b.body_similarity)
                {
                    best = Some(StoryMatch {
                        story,
                        body_similarity,
                        title_similarity,
                    });
                }
            }
            Ok(best)
        })
        .await
    }

    /// Forgets stories written before `cutoff` (store and index); returns how many.
    pub async fn forget_stories_before(&self, cutoff: DateTime<Utc>) -> Result<usize, StateError> {
        let index = Arc::clone(&self.stories);
        self.blocking(move |db| {
            let cutoff = unix_seconds(cutoff);
            let txn = db.begin_write()?;
            let removed = {
                let mut stories = txn.open_table(STORIES)?;
                let mut times = txn.open_table(STORY_TIMES)?;
                let expired: Vec<(u32, u64)> = times
                    .range(..(cutoff, 0))?
                    .map(|row| row.map(|(key, _)| key.value()))
                    .collect::<Result<_, _>>()?;
                let mut removed = 0;
                for (seen, key) in expired {
                    times.remove((seen, key))?;
                    // The key may have been written again since (a story
                    // redone after a crash): only an old record goes.
                    let old = match stories.get(key)? {
                        Some(bytes) => story_head(bytes.value()).is_none_or(|(s, ..)| s < cutoff),
                        None => false,
                    };
                    if old {
                        stories.remove(key)?;
                        removed += 1;
                    }
                }
                removed
            };
            txn.commit()?;
            with_index(db, &index, |index| index.forget_before(cutoff))?;
            Ok(removed)
        })
        .await
    }

    /// Stories in the in-memory index, and the heap bytes it holds (loading it if needed).
    pub fn story_index_size(&self) -> Result<(usize, usize), StateError> {
        with_index(&self.db, &self.stories, |index| {
            (index.len(), index.heap_bytes())
        })
    }
}
/// The story index, `None` until first used.
pub(super) type StoryCell = std::sync::Mutex<Option<StoryIndex>>;

/// Locks the story index; a panic elsewhere while holding it cannot leave it
/// half-changed in a way that matters (worst case a story is not found).
pub(super) fn lock(cell: &StoryCell) -> std::sync::MutexGuard<'_, Option<StoryIndex>> {
    cell.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `op` on the story index, loading it from the store on first use.
fn with_index<T>(
    db: &Database,
    cell: &StoryCell,
    op: impl FnOnce(&mut StoryIndex) -> T,
) -> Result<T, StateError> {
    let mut guard = lock(cell);
    let index = match guard.as_mut() {
        Some(index) => index,
        None => guard.insert(load_story_index(db)?),
    };
    Ok(op(index))
}

/// Reads every remembered story's signature into a fresh index.
fn load_story_index(db: &Database) -> Result<StoryIndex, StateError> {
    let mut index = StoryIndex::new();
    let txn = db.begin_read()?;
    let stories = txn.open_table(STORIES)?;
    for row in stories.iter()? {
        let (key, bytes) = row?;
        if let Some((seen, Some(signature), _)) = story_head(bytes.value()) {
            index.insert(key.value(), seen, band_hashes(&signature));
        }
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Outcome;

    fn story(id: &str, title: &str, words: &str, seen_at: DateTime<Utc>) -> Story {
        let words = crate::dedup::fingerprint::words(words);
        Story {
            id: id.to_string(),
            source: "wire".into(),
            url: format!("https://n.example/{id}"),
            title: title.to_string(),
            seen_at,
            signature: Signature::of_words(&words, 10),
        }
    }

    const BODY: &str = "The harbour council voted on Tuesday evening to approve the long debated \
        redevelopment plan ending months of public consultation and heated argument between \
        residents and developers while officials said the new quay would open to ferries next spring";

    const THRESHOLDS: Thresholds = Thresholds {
        body: 0.6,
        body_with_title: 0.4,
        title: 0.6,
    };

    #[tokio::test]
    async fn stories_are_found_by_body_after_reopen_and_forgotten_after_retention() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = Utc::now();
        let old = now - chrono::Duration::days(8);
        let id_new = "aaaaaaaaaaaaaaaa0000000000000000";
        let id_old = "bbbbbbbbbbbbbbbb0000000000000000";
        let other = "The ferry company announced higher fares for the summer season citing fuel \
            costs and a shortage of crew while passenger groups called the rise unfair to islanders";
        {
            let state = State::open(dir.path()).expect("open");
            // Loaded (empty) first, so the stories below go into a live index.
            assert_eq!(state.story_index_size().expect("size").0, 0);
            let written = |id: &str| Outcome::Written {
                article_id: id.to_string(),
            };
            state
                .complete_with_story(
                    "k1".into(),
                    written(id_new),
                    Some(story(id_new, "Plan approved", BODY, now)),
                )
                .await
                .expect("complete");
            state
                .complete_with_story(
                    "k2".into(),
                    written(id_old),
                    Some(story(id_old, "Fares rise", other, old)),
                )
                .await
                .expect("complete");
            assert_eq!(state.story_index_size().expect("size").0, 2);
        }
        let state = State::open(dir.path()).expect("reopen");
        assert_eq!(
            state.story_index_size().expect("size").0,
            2,
            "index loaded from the store"
        );
        let probe = story("c", "Council approves harbour plan", BODY, now);
        let signature = probe.signature.clone().expect("signature");
        let found = state
            .find_same_story(
                signature.clone(),
                probe.title.clone(),
                "c".into(),
                THRESHOLDS,
            )
            .await
            .expect("lookup")
            .expect("found");
        assert_eq!(found.story.id, id_new);
        assert_eq!(found.story.source, "wire");
        assert_eq!(found.body_similarity, 1.0);
        let itself = state
            .find_same_story(signature, probe.title, id_new.into(), THRESHOLDS)
            .await
            .expect("lookup");
        assert_eq!(itself, None, "an article is never a copy of itself");
        assert_eq!(
            state
                .story(id_old.into())
                .await
                .expect("get")
                .map(|s| s.title),
            Some("Fares rise".to_string())
        );

        let removed = state
            .forget_stories_before(now - chrono::Duration::days(7))
            .await
            .expect("prune");
        assert_eq!(removed, 1);
        assert_eq!(state.story_index_size().expect("size").0, 1);
        assert_eq!(state.story(id_old.into()).await.expect("get"), None);
        let other_sig = story("d", "x", other, now).signature.expect("signature");
        assert_eq!(
            state
                .find_same_story(other_sig, "Fares rise".into(), "d".into(), THRESHOLDS)
                .await
                .expect("lookup"),
            None,
            "a forgotten story is not found"
        );
        assert!(state.story(id_new.into()).await.expect("get").is_some());
    }
}
