//! The private-network guard: a feed or article link must not make Thresher
//! reach into the network it runs in (cloud metadata endpoints, admin pages on
//! localhost, the office LAN). Targets are checked twice: IP literals in the
//! URL of every hop (reqwest does not resolve those), and every address a host
//! name resolves to (a public name may point at 127.0.0.1).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Whether `ip` is on the public internet (not loopback, private, link-local,
/// unique-local, shared, documentation, multicast or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) forms.
            if let Some(v4) = v6.to_ipv4() {
                return is_public_v4(v4);
            }
            let segments = v6.segments();
            let first = segments[0];
            // IPv4-translated ::ffff:0:a.b.c.d (SIIT) reaches the embedded address.
            if segments[..6] == [0, 0, 0, 0, 0xffff, 0] {
                let [.., hi, lo] = segments;
                let [a, b] = hi.to_be_bytes();
                let [c, d] = lo.to_be_bytes();
                return is_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link local fe80::/10
                || (first & 0xffc0) == 0xfec0 // site local fec0::/10 (deprecated)
                || first == 0x2002 // 6to4, which can embed any IPv4 address
                || (first == 0x2001 && segments[1] == 0x0db8) // documentation
                || (first == 0x2001 && segments[1] == 0) // Teredo, tunnels to any IPv4 host
                || (first == 0x0100 && segments[1..4] == [0, 0, 0]) // discard-only 100::/64
                || (first == 0x0064 && segments[1] == 0xff9b)) // NAT64 to anything
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// Refuses a URL whose host is a non-public IP literal.
pub fn check_literal(url: &Url) -> Result<(), String> {
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    if is_public(ip) {
        Ok(())
    } else {
        Err(refusal(ip))
    }
}

fn refusal(ip: IpAddr) -> String {
    format!(
        "{ip} is a private-network address (loopback, private, link-local or unique-local); \
         set fetch.allow_private_networks = true to permit it"
    )
}

/// A DNS resolver that drops non-public addresses and fails when none is left.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| is_public(a.ip()))
                .collect();
            if public.is_empty() {
                let message = match addrs.first() {
                    Some(addr) => format!("{host} resolves to {}", refusal(addr.ip())),
                    None => format!("{host} has no address"),
                };
                return Err(message.into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "fec0::1",
            "2002:7f00:1::1",
            "192.0.0.8",
            "192.0.0.170",
            "192.88.99.1",
            "2001::5efe:7f00:1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "::ffff:0:127.0.0.1",
            "::ffff:0:a9fe:a9fe",
            "100::1",
        ] {
            let ip: IpAddr = ip.parse().expect("test address");
            assert!(!is_public(ip), "{ip} must not be public");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "192.0.1.1",
            "192.88.98.1",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:0:1.1.1.1",
        ] {
            let ip: IpAddr = ip.parse().expect("test address");
            assert!(is_public(ip), "{ip} is public");
        }
    }

    #[test]
    fn ip_literals_in_urls_are_checked_and_names_pass_to_dns() {
        let url = |s: &str| Url::parse(s).expect("test URL");
        assert!(check_literal(&url("http://127.0.0.1:8080/feed")).is_err());
        assert!(check_literal(&url("http://[::1]/")).is_err());
        assert!(check_literal(&url("http://169.254.169.254/latest/meta-data")).is_err());
        assert!(check_literal(&url("https://1.1.1.1/")).is_ok());
        assert!(check_literal(&url("https://example.org/")).is_ok());
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_loopback_addresses() {
        let result = PublicOnlyResolver
            .resolve("localhost".parse().expect("name"))
            .await;
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("private-network"), "{message}");
    }
}
