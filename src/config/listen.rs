//! `[telemetry] listen`: an IP address and port, or a host name that
//! resolves to loopback only (`localhost:9464`).
//!
//! A name is resolved once, when the configuration loads, and only a name
//! whose every address is loopback is taken: the endpoint has no
//! authentication, so an interface other than loopback must be chosen on
//! purpose, by its address (a name's address may also change under a
//! running daemon, or hold several the daemon cannot all bind). Of a name's
//! loopback addresses the IPv4 one is bound when there is one (clients that
//! try `localhost` reach 127.0.0.1 everywhere; ::1 only where IPv6 is on).

use std::net::{SocketAddr, ToSocketAddrs};

use serde::de::{self, Deserializer};

/// Deserialises `listen`, absent or a string.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let text: Option<String> = serde::Deserialize::deserialize(d)?;
    text.map(|t| parse(&t).map_err(de::Error::custom))
        .transpose()
}

/// The address `text` names; the error shows the value and what to write.
pub fn parse(text: &str) -> Result<SocketAddr, String> {
    let value = text.trim();
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let example = r#"e.g. "127.0.0.1:9464", "localhost:9464" or "0.0.0.0:9464""#;
    let Some((host, port)) = value.rsplit_once(':') else {
        return Err(format!(
            "{value:?} is not an address to listen on: it needs a port, {example}"
        ));
    };
    if port.parse::<u16>().is_err() {
        return Err(format!(
            "{value:?} is not an address to listen on: {port:?} is not a port (0-65535), {example}"
        ));
    }
    if host.is_empty() || host.parse::<std::net::IpAddr>().is_ok() || host.contains(['[', ']']) {
        return Err(format!(
            "{value:?} is not an address to listen on (an IPv6 address is written in brackets, \
             \"[::1]:9464\"), {example}"
        ));
    }
    let addrs: Vec<SocketAddr> = (host, 0)
        .to_socket_addrs()
        .map_err(|e| format!("{value:?}: cannot resolve {host:?} ({e}); {example}"))?
        .collect();
    let port: u16 = port.parse().unwrap_or_default();
    if let Some(other) = addrs.iter().find(|a| !a.ip().is_loopback()) {
        return Err(format!(
            "{value:?}: {host:?} resolves to {}, which is not a loopback address; a name is \
             taken only when it means this machine's loopback: to listen on another interface, \
             write its IP address (\"{}:{port}\", or \"0.0.0.0:{port}\" for every interface)",
            other.ip(),
            other.ip()
        ));
    }
    let chosen = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .ok_or_else(|| format!("{value:?}: {host:?} resolves to no address; {example}"))?;
    Ok(SocketAddr::new(chosen.ip(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_resolves_to_its_loopback_address_and_bad_values_are_shown() {
        let addr = parse("localhost:9464").expect("localhost");
        assert!(addr.ip().is_loopback(), "{addr}");
        assert_eq!(addr.port(), 9464);
        assert_eq!(
            parse("[::1]:80").expect("v6"),
            "[::1]:80".parse::<SocketAddr>().expect("addr")
        );
        for (bad, needle) in [
            ("localhost", "needs a port"),
            ("localhost:http", "\"http\" is not a port"),
            ("::1:80", "brackets"),
            (":80", "not an address"),
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains(needle) && err.contains(bad), "{bad}: {err}");
        }
    }
}
