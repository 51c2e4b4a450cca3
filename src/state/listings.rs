//! Which sources listed a link that another source's feed listed first.
//!
//! A link is accepted once, for the source whose feed listed it first (its
//! pending job and, once finished, its `links` record name that source).
//! When a second source's feed lists it, that source found an article it
//! will not write: a duplicate, counted once, on the first poll that lists
//! it. `listings` remembers `(link key, source)` for each such second
//! listing so that the feed listing the link again in later polls (every
//! changed feed repeats its items) is not counted again. Links listed by one
//! source only, the great majority, add no row.

use chrono::{DateTime, Utc};
use redb::{ReadableTable, TableDefinition};

use super::links::may_try_again;
use super::{LinkRecord, StateError, decode};
use crate::article::ArticleJob;

/// `(link key, source)` of every source that listed a link first listed by another.
pub(super) const LISTINGS: TableDefinition<(&str, &str), ()> = TableDefinition::new("listings");

/// Whether a link listed in a feed is already held, and by which source.
pub(super) enum Holder {
    /// Neither pending nor finished (or given up on long enough ago to be
    /// tried again): the link is accepted.
    New,
    /// Pending or finished: not accepted again. Names the source it was
    /// accepted for when that source has (or will have) its article.
    Known(Option<String>),
}

/// Who holds the link `key` now.
pub(super) fn holder(
    links: &redb::Table<&str, &[u8]>,
    pending: &redb::Table<&str, &[u8]>,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Holder, StateError> {
    if let Some(bytes) = links.get(key)? {
        match decode::<LinkRecord>("links", key, bytes.value()) {
            // A link given up on is given another series of attempts when
            // the feed still lists it a day later.
            Ok(record) if may_try_again(&record, now) => {}
            Ok(record) => {
                let delivered = record.outcome.is_delivered();
                return Ok(Holder::Known(record.source.filter(|_| delivered)));
            }
            // Unreadable: finished all the same, never fetched again.
            Err(_) => return Ok(Holder::Known(None)),
        }
    }
    Ok(match pending.get(key)? {
        Some(bytes) => Holder::Known(
            decode::<ArticleJob>("pending", key, bytes.value())
                .ok()
                .map(|job| job.source),
        ),
        None => Holder::New,
    })
}

/// Whether this listing of the link `key` by `source` is that source's first
/// listing of a link `first` (another source) listed before; the listing is
/// recorded, so it is true once per source and link. `first` is `None` when
/// the link's first source is unknown (a record written before it was kept)
/// or its article did not come to be (not an article, given up on).
pub(super) fn first_listing_of_anothers_link(
    listings: &mut redb::Table<(&str, &str), ()>,
    key: &str,
    source: &str,
    first: Option<&str>,
) -> Result<bool, StateError> {
    if first.is_none_or(|first| first == source) {
        return Ok(false);
    }
    if listings.get((key, source))?.is_some() {
        return Ok(false);
    }
    listings.insert((key, source), ())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::super::tests::job;
    use super::super::{Outcome, State};

    fn from(source: &str, key: &str) -> crate::article::ArticleJob {
        crate::article::ArticleJob {
            source: source.into(),
            ..job(key)
        }
    }

    #[tokio::test]
    async fn a_link_listed_by_a_second_source_counts_once_for_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        let first = state.accept_listed(vec![from("a", "l")]).await.expect("a");
        assert_eq!((first.jobs.len(), first.listed_first_by_another), (1, 0));
        // Pending for "a": "b" lists it second.
        let second = state.accept_listed(vec![from("b", "l")]).await.expect("b");
        assert_eq!((second.jobs.len(), second.listed_first_by_another), (0, 1));
        // Listing it again is not a new duplicate, nor is "a" listing its own link.
        for source in ["b", "a"] {
            let again = state
                .accept_listed(vec![from(source, "l")])
                .await
                .expect("again");
            assert_eq!((again.jobs.len(), again.listed_first_by_another), (0, 0));
        }
        // Written for "a": a third source listing it later counts too.
        state
            .complete(
                "l".into(),
                Outcome::Written {
                    article_id: "l".into(),
                },
            )
            .await
            .expect("complete");
        let third = state.accept_listed(vec![from("c", "l")]).await.expect("c");
        assert_eq!((third.jobs.len(), third.listed_first_by_another), (0, 1));
        let again = state.accept_listed(vec![from("c", "l")]).await.expect("c");
        assert_eq!(again.listed_first_by_another, 0);
    }

    #[tokio::test]
    async fn a_link_that_yielded_no_article_is_no_duplicate_elsewhere() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(dir.path()).expect("open");
        state.accept_listed(vec![from("a", "r")]).await.expect("a");
        state
            .complete(
                "r".into(),
                Outcome::Rejected {
                    reason: "no article".into(),
                },
            )
            .await
            .expect("complete");
        let other = state.accept_listed(vec![from("b", "r")]).await.expect("b");
        assert_eq!((other.jobs.len(), other.listed_first_by_another), (0, 0));
    }
}
