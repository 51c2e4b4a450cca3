//! Story memory: the stories written within `[dedup] retention`, and the
//! decision whether a new article is another copy of one of them.
//!
//! A [`StoryStore`] (the state store) keeps each story as bytes under its
//! key (see [`crate::state::StoryRecord`]); this module owns what the bytes mean, the
//! in-memory [`StoryIndex`] over their signatures (loaded from the store on
//! first use, so commands that only read state do not pay for it) and the
//! matching with its [`Thresholds`].

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Signature, StoryIndex, Thresholds, band_hashes, title_similarity};
use crate::clock::unix_seconds;
use crate::state::{Outcome, StateError, StoryRecord, StoryStore};

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

/// Key of a story in the store and the index: the first 64 bits of its
/// article id (ids are 128-bit hashes, so two stories sharing a key within a
/// retention window is a one-in-10^7 event at a million stories; the stored
/// id is compared on every match).
pub fn story_key(article_id: &str) -> u64 {
    article_id
        .get(..16)
        .and_then(|prefix| u64::from_str_radix(prefix, 16).ok())
        .unwrap_or_else(|| xxhash_rust::xxh3::xxh3_64(article_id.as_bytes()))
}

/// A story as the store keeps it. The record is the signature length n
/// (u16), n signature values (u32), then [`StoryMeta`] as JSON, all
/// little-endian: the fixed head lets the index load without parsing JSON.
pub fn record(story: &Story) -> StoryRecord {
    let values = story.signature.as_ref().map_or(&[][..], |s| &s.0[..]);
    let n = values.len().min(usize::from(u16::MAX));
    let meta = StoryMeta {
        id: story.id.clone(),
        source: story.source.clone(),
        url: story.url.clone(),
        title: story.title.clone(),
    };
    let mut body = Vec::with_capacity(2 + 4 * n + 128);
    body.extend_from_slice(&(n as u16).to_le_bytes());
    for value in &values[..n] {
        body.extend_from_slice(&value.to_le_bytes());
    }
    // Serialising four strings to JSON cannot fail.
    body.extend_from_slice(&serde_json::to_vec(&meta).unwrap_or_default());
    StoryRecord {
        key: story_key(&story.id),
        seen: unix_seconds(story.seen_at),
        body,
    }
}

/// The fixed head of a record: the signature and what follows it.
fn head(body: &[u8]) -> Option<(Option<Signature>, &[u8])> {
    let n = usize::from(u16::from_le_bytes(body.get(..2)?.try_into().ok()?));
    let values = body.get(2..2 + 4 * n)?;
    let rest = body.get(2 + 4 * n..)?;
    let signature = (n > 0).then(|| Signature::from_bytes(values)).flatten();
    Some((signature, rest))
}

/// Reads a [`record`] back.
fn decode(record: &StoryRecord) -> Result<Story, StateError> {
    let corrupt = |source| StateError::Corrupt {
        table: "stories",
        key: format!("{:016x}", record.key),
        source,
    };
    let (signature, meta) =
        head(&record.body).ok_or_else(|| corrupt(serde::de::Error::custom("truncated record")))?;
    let meta: StoryMeta = serde_json::from_slice(meta).map_err(corrupt)?;
    Ok(Story {
        id: meta.id,
        source: meta.source,
        url: meta.url,
        title: meta.title,
        seen_at: DateTime::from_timestamp(i64::from(record.seen), 0).unwrap_or_default(),
        signature,
    })
}

/// The stories remembered for de-duplication: the store's records and the
/// index over them. Cheap to clone; clones share the index.
#[derive(Clone)]
pub struct StoryMemory {
    store: Arc<dyn StoryStore>,
    /// `None` until first used. Held while loading, so a story remembered
    /// meanwhile waits and goes into the loaded index.
    index: Arc<tokio::sync::Mutex<Option<StoryIndex>>>,
}

impl StoryMemory {
    /// The stories remembered in `store`.
    pub fn new(store: Arc<dyn StoryStore>) -> Self {
        Self {
            store,
            index: Arc::default(),
        }
    }

    /// Runs `op` on the index, loading it from the store on first use.
    async fn with_index<T>(&self, op: impl FnOnce(&mut StoryIndex) -> T) -> Result<T, StateError> {
        let mut guard = self.index.lock().await;
        let index = match guard.as_mut() {
            Some(index) => index,
            None => guard.insert(self.load().await?),
        };
        Ok(op(index))
    }

    /// Reads every remembered story's signature into a fresh index.
    async fn load(&self) -> Result<StoryIndex, StateError> {
        let loading = Arc::new(Mutex::new(StoryIndex::new()));
        let into = Arc::clone(&loading);
        self.store
            .scan_stories(Box::new(move |key, seen, body| {
                if let Some((Some(signature), _)) = head(body) {
                    let mut index = into.lock().unwrap_or_else(PoisonError::into_inner);
                    index.insert(key, seen, band_hashes(&signature));
                }
            }))
            .await?;
        let mut index = loading.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(std::mem::take(&mut *index))
    }

    /// Finishes a link as [`crate::state::LinkLedger::complete_all`] does,
    /// and remembers the written `story` in the same transaction.
    pub async fn complete_with_story(
        &self,
        key: String,
        outcome: Outcome,
        story: Option<Story>,
    ) -> Result<(), StateError> {
        self.complete_all(vec![(key, outcome, story)]).await
    }

    /// [`StoryMemory::complete_with_story`] for many links in one transaction.
    pub async fn complete_all(
        &self,
        finished: Vec<(String, Outcome, Option<Story>)>,
    ) -> Result<(), StateError> {
        let mut indexed = Vec::new();
        let finished = finished
            .into_iter()
            .map(|(key, outcome, story)| {
                let record = story.as_ref().map(record);
                if let (Some(story), Some(record)) = (&story, &record)
                    && let Some(signature) = &story.signature
                {
                    indexed.push((record.key, record.seen, band_hashes(signature)));
                }
                (key, outcome, record)
            })
            .collect();
        self.store.complete_all(finished).await?;
        // Not loaded yet: loading reads the stories just committed.
        if let Some(index) = self.index.lock().await.as_mut() {
            for (key, seen, bands) in indexed {
                index.insert(key, seen, bands);
            }
        }
        Ok(())
    }

    /// The remembered story written under `article_id`, if still within retention.
    pub async fn story(&self, article_id: String) -> Result<Option<Story>, StateError> {
        let key = story_key(&article_id);
        let Some(record) = self.store.story_records(vec![key]).await?.pop() else {
            return Ok(None);
        };
        let story = decode(&record)?;
        Ok((story.id == article_id).then_some(story))
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
        let candidates = self
            .with_index(|index| index.candidates(&band_hashes(&signature)))
            .await?;
        if candidates.is_empty() {
            return Ok(None);
        }
        let records = self.store.story_records(candidates).await?;
        let mut best: Option<StoryMatch> = None;
        for record in &records {
            let Some((Some(earlier), _)) = head(&record.body) else {
                continue;
            };
            let body_similarity = signature.similarity(&earlier);
            // Cheap reject before decoding the rest of the record.
            if body_similarity < thresholds.body_with_title.min(thresholds.body) {
                continue;
            }
            let story = match decode(record) {
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
    }

    /// Forgets stories written before `cutoff` (store and index); returns how many.
    pub async fn forget_before(&self, cutoff: DateTime<Utc>) -> Result<usize, StateError> {
        let removed = self.store.forget_stories_before(cutoff).await?;
        let cutoff = unix_seconds(cutoff);
        self.with_index(|index| index.forget_before(cutoff)).await?;
        Ok(removed)
    }

    /// Stories in the index, and the heap bytes it holds (loading it if needed).
    pub async fn index_size(&self) -> Result<(usize, usize), StateError> {
        self.with_index(|index| (index.len(), index.heap_bytes()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::State;

    fn story(id: &str, title: &str, words: &str, seen_at: DateTime<Utc>) -> Story {
        let words = super::super::fingerprint::words(words);
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

    #[test]
    fn a_record_reads_back_as_the_story_to_the_second() {
        let seen = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let written = story(
            "aaaaaaaaaaaaaaaa0000000000000000",
            "Plan approved",
            BODY,
            seen,
        );
        let record = record(&written);
        assert_eq!(record.key, 0xaaaa_aaaa_aaaa_aaaa);
        assert_eq!(decode(&record).expect("decode"), written);
        let truncated = StoryRecord {
            body: record.body[..5].to_vec(),
            ..record
        };
        assert!(decode(&truncated).is_err());
    }

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
            let memory = StoryMemory::new(Arc::new(State::open(dir.path()).expect("open")));
            // Loaded (empty) first, so the stories below go into a live index.
            assert_eq!(memory.index_size().await.expect("size").0, 0);
            let written = |id: &str| Outcome::Written {
                article_id: id.to_string(),
            };
            memory
                .complete_with_story(
                    "k1".into(),
                    written(id_new),
                    Some(story(id_new, "Plan approved", BODY, now)),
                )
                .await
                .expect("complete");
            memory
                .complete_with_story(
                    "k2".into(),
                    written(id_old),
                    Some(story(id_old, "Fares rise", other, old)),
                )
                .await
                .expect("complete");
            assert_eq!(memory.index_size().await.expect("size").0, 2);
        }
        let memory = StoryMemory::new(Arc::new(State::open(dir.path()).expect("reopen")));
        assert_eq!(
            memory.index_size().await.expect("size").0,
            2,
            "index loaded from the store"
        );
        let probe = story("c", "Council approves harbour plan", BODY, now);
        let signature = probe.signature.clone().expect("signature");
        let found = memory
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
        let itself = memory
            .find_same_story(signature, probe.title, id_new.into(), THRESHOLDS)
            .await
            .expect("lookup");
        assert_eq!(itself, None, "an article is never a copy of itself");
        assert_eq!(
            memory
                .story(id_old.into())
                .await
                .expect("get")
                .map(|s| s.title),
            Some("Fares rise".to_string())
        );

        let removed = memory
            .forget_before(now - chrono::Duration::days(7))
            .await
            .expect("prune");
        assert_eq!(removed, 1);
        assert_eq!(memory.index_size().await.expect("size").0, 1);
        assert_eq!(memory.story(id_old.into()).await.expect("get"), None);
        let other_sig = story("d", "x", other, now).signature.expect("signature");
        assert_eq!(
            memory
                .find_same_story(other_sig, "Fares rise".into(), "d".into(), THRESHOLDS)
                .await
                .expect("lookup"),
            None,
            "a forgotten story is not found"
        );
        assert!(memory.story(id_new.into()).await.expect("get").is_some());
    }
}
