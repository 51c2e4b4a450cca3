//! The HTTP clients: one set per distinct `[fetch]` + `[sources.fetch]`
//! combination, each following no redirect itself and, unless private
//! targets are allowed, resolving through the private-network guard.

use std::collections::HashMap;
use std::sync::Arc;

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::redirect;

use super::FetchError;
use super::guard;
use super::host::HostPolicy;
use crate::config::{Config, FetchConfig};

/// The HTTP clients of one `[fetch]` + `[sources.fetch]` combination and
/// the settings they were built from (sources with equal settings share one).
pub(super) struct Profile {
    /// For article pages, robots.txt, and feeds unless `allow_private_feed`.
    pub(super) client: reqwest::Client,
    /// For feed URLs when only the feed may be on a private network: a
    /// client without the resolver guard.
    pub(super) feed_client: Option<reqwest::Client>,
    /// Configured headers and cookies, sent to the requested URL's host and
    /// (all but credentials) to the hosts it redirects to.
    pub(super) headers: HeaderMap,
    /// The settings the clients were built from.
    pub(super) config: FetchConfig,
}

impl Profile {
    /// Builds the clients of `config`, with its headers and cookies ready to send.
    pub(super) fn new(config: FetchConfig) -> Result<Self, FetchError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            // Validated with the config.
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.insert(name, value);
            }
        }
        if !config.cookies.is_empty() {
            let cookie = config
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                headers.insert(header::COOKIE, value);
            }
        }
        let client = build_client(&config, config.allow_private_networks)?;
        let feed_client = (config.allow_private_feed && !config.allow_private_networks)
            .then(|| build_client(&config, true))
            .transpose()?;
        Ok(Self {
            client,
            feed_client,
            headers,
            config,
        })
    }

    /// Whether the feed itself may be on a private network.
    pub(super) fn private_feed_allowed(&self) -> bool {
        self.config.allow_private_networks || self.config.allow_private_feed
    }

    pub(super) fn host_policy(&self) -> HostPolicy {
        HostPolicy {
            concurrency: self.config.host_concurrency,
            min_interval: self.config.min_host_interval,
        }
    }
}

/// A client that follows no redirect itself (the fetcher follows each hop,
/// so every hop passes the guard and takes its origin's politeness slot);
/// unless `allow_private`, its resolver drops private addresses.
fn build_client(config: &FetchConfig, allow_private: bool) -> Result<reqwest::Client, FetchError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(config.user_agent.clone())
        .timeout(config.timeout)
        .connect_timeout(config.connect_timeout)
        .read_timeout(config.read_timeout)
        .redirect(redirect::Policy::none());
    // Through a proxy, our resolver would only see the proxy's own name
    // (which may well be private); target names are resolved by the proxy.
    if !allow_private && config.proxy.is_none() {
        builder = builder.dns_resolver(Arc::new(guard::PublicOnlyResolver));
    }
    if let Some(proxy) = &config.proxy {
        let proxy = reqwest::Proxy::all(proxy.as_str()).map_err(FetchError::from_reqwest)?;
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(FetchError::from_reqwest)
}

/// The clients of one configuration: the default and each source's own.
pub(super) struct Profiles {
    pub(super) default: Arc<Profile>,
    pub(super) by_source: HashMap<String, Arc<Profile>>,
}

impl Profiles {
    /// Builds the clients from `[fetch]` and each `[sources.fetch]`; sources
    /// with the same effective settings share a client.
    pub(super) fn new(config: &Config) -> Result<Self, FetchError> {
        let default = Arc::new(Profile::new(config.fetch.clone())?);
        let mut shared: Vec<Arc<Profile>> = vec![Arc::clone(&default)];
        let mut by_source = HashMap::new();
        for source in &config.sources {
            let Some(overrides) = &source.fetch else {
                continue;
            };
            let effective = config.fetch.overridden(overrides);
            let profile = match shared.iter().find(|p| p.config == effective) {
                Some(p) => Arc::clone(p),
                None => {
                    let p = Arc::new(Profile::new(effective)?);
                    shared.push(Arc::clone(&p));
                    p
                }
            };
            by_source.insert(source.name.clone(), profile);
        }
        Ok(Self { default, by_source })
    }
}
