//! What `check-config` warns about: a configuration that loads but will not
//! do what its author expects.

use std::net::IpAddr;

use url::Host;

use super::{Config, ConfigOrigin};

impl Config {
    /// Warnings about a valid configuration: no sources, or sources the
    /// private-network guard will refuse. Each names the key to set.
    pub fn warnings(&self, origin: &ConfigOrigin) -> Vec<String> {
        let mut out = Vec::new();
        if self.sources.is_empty() {
            out.push(format!(
                "no [[sources]] in {origin}: nothing will be polled; add a [[sources]] table \
                 with a name and the feed's url"
            ));
        }
        for (i, source) in self.sources.iter().enumerate() {
            let fetch = match &source.fetch {
                Some(overrides) => self.fetch.overridden(overrides),
                None => self.fetch.clone(),
            };
            if fetch.allow_private_networks || fetch.allow_private_feed {
                continue;
            }
            let Some(place) = source.url.host().and_then(|host| private_place(&host)) else {
                continue;
            };
            out.push(format!(
                "source {:?} (sources[{i}]): its feed {} is on {place}, which is refused while \
                 allow_private_networks is off: set allow_private_networks = true in [fetch] \
                 (or in this source's [sources.fetch]; allow_private_feed = true permits the \
                 feed alone)",
                source.name, source.url
            ));
        }
        out
    }
}

/// What kind of private place `host` is, when the guard will refuse it
/// whatever DNS says: a non-public IP literal, or a `localhost` name (RFC
/// 6761 reserves those for loopback). Other names are not resolved here:
/// `check-config` must not depend on DNS (nor slow down with thousands of
/// sources), and the guard checks every resolved address when it fetches.
fn private_place(host: &Host<&str>) -> Option<String> {
    let ip = match host {
        Host::Ipv4(v4) => IpAddr::V4(*v4),
        Host::Ipv6(v6) => IpAddr::V6(*v6),
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let local = name == "localhost" || name.ends_with(".localhost");
            return local.then(|| "a loopback name".to_string());
        }
    };
    if crate::fetch::is_public(ip) {
        return None;
    }
    let kind = match ip {
        IpAddr::V4(v4) if v4.is_loopback() => "a loopback address",
        IpAddr::V6(v6) if v6.is_loopback() => "a loopback address",
        IpAddr::V4(v4) if v4.is_private() => "a private address",
        IpAddr::V4(v4) if v4.is_link_local() => "a link-local address",
        _ => "a non-public address",
    };
    Some(format!("{kind} ({ip})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warnings(text: &str) -> Vec<String> {
        let config = Config::from_toml(text).expect("valid");
        config.warnings(&ConfigOrigin::Embedded)
    }

    #[test]
    fn private_feeds_are_warned_about_unless_allowed_and_public_ones_are_not() {
        let source =
            |name: &str, url: &str| format!("[[sources]]\nname = {name:?}\nurl = {url:?}\n");
        let text = [
            source("lo", "http://127.0.0.1:8080/feed.xml"),
            source("lan", "http://192.168.1.9/feed.xml"),
            source("name", "http://localhost/feed.xml"),
            source("v6", "http://[::1]/feed.xml"),
            source("public", "https://93.184.215.14/feed.xml"),
            source("dns", "https://example.org/feed.xml"),
        ]
        .concat();
        let found = warnings(&text);
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(found[0].contains("\"lo\"") && found[0].contains("a loopback address (127.0.0.1)"));
        assert!(
            found[1].contains("a private address (192.168.1.9)"),
            "{}",
            found[1]
        );
        assert!(found[2].contains("a loopback name"), "{}", found[2]);
        assert!(
            found
                .iter()
                .all(|w| w.contains("allow_private_networks = true"))
        );

        let allowed = format!("[fetch]\nallow_private_networks = true\n{text}");
        assert!(warnings(&allowed).is_empty());
        let per_source = format!(
            "{}[sources.fetch]\nallow_private_feed = true\n",
            source("lo", "http://127.0.0.1/feed.xml")
        );
        assert!(warnings(&per_source).is_empty());
    }

    #[test]
    fn a_config_without_sources_is_warned_about() {
        let found = warnings("");
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("no [[sources]]"), "{}", found[0]);
    }
}
