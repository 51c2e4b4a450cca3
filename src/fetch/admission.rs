//! What a request waits for and must pass before it goes out: the
//! private-network guard, the origin's `Retry-After` block (kept across
//! restarts in the state store), its politeness slot, and for an article
//! page robots.txt (fetched, cached and stored here).

use std::time::Duration;

use chrono::Utc;
use tracing::{debug, info, warn};
use url::Url;

use super::client::Profile;
use super::host::{HostPermit, origin};
use super::request::Route;
use super::robots::{self, RobotsCache, Verdict, agent_token};
use super::{FetchError, Fetcher, Response, guard};
use crate::clock;
use crate::state::RobotsRecord;

/// Origins remembered as restored from the state store before the set is reset.
const MAX_RESTORED: usize = 10_000;

impl Fetcher {
    /// What every request and every redirect hop passes first: the
    /// private-network guard on the URL, and the origin's stored
    /// `Retry-After` block.
    pub(super) async fn admit(&self, url: &Url, allow_private: bool) -> Result<(), FetchError> {
        if !allow_private {
            guard::check_literal(url).map_err(FetchError::PrivateNetwork)?;
        }
        self.restore(url).await;
        Ok(())
    }

    /// The origin's politeness slot, waited for at most `max_wait`.
    pub(super) async fn slot(
        &self,
        key: &str,
        profile: &Profile,
        max_wait: Duration,
    ) -> Result<HostPermit, FetchError> {
        self.hosts
            .acquire(key, profile.host_policy(), max_wait)
            .await
            .map_err(|busy| FetchError::HostBusy { wait: busy.wait })
    }

    /// Keeps requests away from `key` for `wait` (already set in `hosts`),
    /// also after a restart.
    pub(super) async fn block(&self, key: &str, wait: Duration) {
        info!(
            origin = key,
            "host asked us to wait {}",
            humantime::format_duration(wait)
        );
        let Some(records) = &self.records else { return };
        let until = clock::utc_in(wait);
        let update = records.update_host_record(
            key.to_string(),
            Box::new(move |r| {
                // A shorter Retry-After never shortens a longer block.
                r.blocked_until = Some(r.blocked_until.map_or(until, |t| t.max(until)));
            }),
        );
        if let Err(e) = update.await {
            warn!("cannot store the block of {key}: {e}");
        }
    }

    /// Applies an origin's stored `Retry-After` block once per process.
    /// Marked only after loading, so requests racing the first load load it
    /// too rather than going out before the block is known.
    async fn restore(&self, url: &Url) {
        let key = origin(url);
        let known = self
            .restored
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&key);
        let Some(records) = self.records.as_ref().filter(|_| !known) else {
            return;
        };
        match records.host_record(key.clone()).await {
            Ok(record) => {
                if let Some(wait) = record
                    .and_then(|r| r.blocked_until)
                    .and_then(|until| (until - Utc::now()).to_std().ok())
                {
                    self.hosts.block(&key, wait);
                }
            }
            Err(e) => warn!("cannot read the stored politeness record of {key}: {e}"),
        }
        let mut restored = self.restored.lock().unwrap_or_else(|e| e.into_inner());
        if restored.len() >= MAX_RESTORED {
            // Forgetting only means reading a record again.
            restored.clear();
        }
        restored.insert(key);
    }

    /// What the origin's robots.txt says about `url`, fetching it if needed.
    pub(super) async fn robots_verdict(
        &self,
        profile: &Profile,
        url: &Url,
        max_wait: Duration,
    ) -> Result<Verdict, FetchError> {
        let key = origin(url);
        // Groups in the file are chosen by agent, so rules are cached per agent.
        let agent = agent_token(&profile.config.user_agent);
        let cache_key = format!("{key} {agent}");
        if let Some((verdict, delay)) = self.robots.verdict(&cache_key, url.as_str()) {
            // The origin's politeness record may have been swept while idle.
            self.hosts.set_crawl_delay(&key, delay);
            return Ok(verdict);
        }
        let lock = self.robots.fetch_lock(&key);
        let _fetching = tokio::time::timeout(max_wait, lock.lock())
            .await
            .map_err(|_| FetchError::HostBusy { wait: max_wait })?;
        if let Some((verdict, delay)) = self.robots.verdict(&cache_key, url.as_str()) {
            self.hosts.set_crawl_delay(&key, delay);
            return Ok(verdict);
        }
        // A fresh file read earlier (before a restart, or for another agent).
        let stored = match &self.records {
            Some(records) => records.host_record(key.clone()).await.ok().flatten(),
            None => None,
        };
        if let Some(record) = stored.and_then(|r| r.robots).filter(RobotsCache::is_fresh) {
            let delay = self.robots.insert(&cache_key, &record, agent).await;
            self.hosts.set_crawl_delay(&key, delay);
            return Ok(self
                .robots
                .verdict(&cache_key, url.as_str())
                .map_or(Verdict::Allowed, |(verdict, _)| verdict));
        }
        let mut robots_url = url.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        robots_url.set_fragment(None);
        let route = Route {
            client: &profile.client,
            allow_private: profile.config.allow_private_networks,
        };
        let answer = self
            .follow(
                profile,
                route,
                &robots_url,
                None,
                robots::MAX_ROBOTS_BYTES,
                max_wait,
                "robots",
            )
            .await;
        let (status, body) = match answer {
            Ok(Response::Ok(fetched)) => (200, String::from_utf8_lossy(&fetched.body).into_owned()),
            Ok(Response::NotModified) => (404, String::new()),
            Err(FetchError::Status { status, .. }) => (status.as_u16(), String::new()),
            // A file too large to read whole is treated as absent (no rules).
            Err(FetchError::TooLarge { .. }) => (404, String::new()),
            Err(FetchError::PrivateNetwork(reason)) => {
                return Err(FetchError::PrivateNetwork(reason));
            }
            Err(e) => {
                debug!(%robots_url, "robots.txt unreachable: {e}");
                (0, String::new())
            }
        };
        let record = RobotsRecord {
            status,
            body,
            fetched_at: Utc::now(),
        };
        let delay = self.robots.insert(&cache_key, &record, agent).await;
        self.hosts.set_crawl_delay(&key, delay);
        if let Some(records) = &self.records {
            let update =
                records.update_host_record(key.clone(), Box::new(move |r| r.robots = Some(record)));
            if let Err(e) = update.await {
                warn!("cannot store robots.txt of {key}: {e}");
            }
        }
        Ok(self
            .robots
            .verdict(&cache_key, url.as_str())
            .map_or(Verdict::Allowed, |(verdict, _)| verdict))
    }
}
