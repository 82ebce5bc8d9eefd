//! Where a request comes from, as a throttling key: the peer address of its
//! connection.
//!
//! Failed attempts at a password are counted per source as well as per
//! user name (RFC 6819 §5.1.4.2.4), so one guesser is slowed down where it
//! is without the user being locked out everywhere (the abuse RFC 6819
//! §5.1.4.2.3 warns of).
//!
//! Behind a reverse proxy every request comes from the proxy, and all
//! browsers share one source: still safe (one key is only stricter), but a
//! host behind a proxy it trusts would take the client's address from that
//! proxy's `Forwarded` header (RFC 7239) instead. The example trusts no such
//! header: anyone can send one.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;

/// The key of requests whose peer is not known (a router served without
/// connection info): they all share it, which is stricter, never looser.
const UNKNOWN: &str = "unknown";

/// The throttling key of the peer that sent `request`.
pub(super) fn key<B>(request: &http::Request<B>) -> String {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| UNKNOWN.to_owned(), |info| of(info.0.ip()))
}

/// An IPv4 address is one source. An IPv6 host is handed a whole /64 and
/// picks any address in it, so the /64 is one source: keying by the full
/// address would give a guesser 2^64 fresh keys.
fn of(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_source_is_its_64_and_a_mapped_ipv4_is_the_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(of(a), of(b));
        assert_ne!(of(a), of(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(of(mapped), "192.0.2.7");
        let request = http::Request::new(());
        assert_eq!(key(&request), UNKNOWN);
    }
}
