//! The example server's SSRF-safe fetcher of client ID metadata documents
//! (`examples/server/app/fetch.rs`): the address filter, and fetches it
//! refuses before connecting. A fetch it makes is in
//! `tests/example_server.rs` (the MCP client with a metadata document).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod example;

use std::net::IpAddr;
use std::time::Duration;

use example::app::fetch::{SafeFetcher, is_public};
use portcullis::fetch::{FetchLimits, Fetcher};
use url::Url;

#[test]
fn special_use_addresses_are_refused() {
    for refused in [
        "10.0.0.1",
        "10.255.255.255",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "127.0.0.1",
        "127.1.2.3",
        "0.0.0.0",
        "0.1.2.3",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.254",
        "192.0.0.8",
        "192.0.2.1",
        "198.51.100.7",
        "203.0.113.9",
        "198.18.0.1",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "fec0::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::127.0.0.1",
        "64:ff9b::a00:1",
        "100::1",
        "2001:db8::1",
        "2001::1",
        "2002:a00:1::1",
        "3fff::1",
    ] {
        let ip: IpAddr = refused.parse().unwrap();
        assert!(!is_public(ip), "{refused} must be refused");
    }
}

#[test]
fn public_addresses_are_allowed() {
    for allowed in [
        "1.1.1.1",
        "8.8.8.8",
        "93.184.216.34",
        "172.32.0.1",
        "100.128.0.1",
        "192.169.0.1",
        "::ffff:8.8.8.8",
        "2606:4700:4700::1111",
        "2a00:1450:4001:80b::200e",
    ] {
        let ip: IpAddr = allowed.parse().unwrap();
        assert!(is_public(ip), "{allowed} must be allowed");
    }
}

async fn fetch_error(fetcher: &SafeFetcher, url: &str) -> String {
    let url = Url::parse(url).unwrap();
    let limits = FetchLimits::new(5 * 1024, Duration::from_secs(5));
    match fetcher.get(&url, limits).await {
        Err(e) => e.to_string(),
        Ok(r) => panic!("{url} was fetched: {}", r.status()),
    }
}

#[tokio::test]
async fn fetches_of_private_addresses_are_refused_before_connecting() {
    let fetcher = SafeFetcher::new(false).unwrap();
    for url in [
        "https://10.0.0.1/client.json",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/client.json",
        "https://[::ffff:127.0.0.1]/client.json",
        "https://[fe80::1]/client.json",
        "https://100.64.0.1/client.json",
    ] {
        let error = fetch_error(&fetcher, url).await;
        assert!(
            error.contains("is a private or special-use address"),
            "{url}: {error}"
        );
    }
    // A name is resolved, and what it resolves to is checked.
    let error = fetch_error(&fetcher, "https://localhost/client.json").await;
    assert!(
        error.contains("is a private or special-use address"),
        "{error}"
    );
    // http is refused, loopback or not, without the development switch.
    for url in [
        "http://127.0.0.1:8080/client.json",
        "http://example.com/client.json",
        "file:///etc/passwd",
    ] {
        let error = fetch_error(&fetcher, url).await;
        assert!(
            error.contains("only https URLs are fetched"),
            "{url}: {error}"
        );
    }
    assert!(
        fetch_error(&fetcher, "https://user:pw@example.com/c.json")
            .await
            .contains("credentials")
    );
}

#[tokio::test]
async fn the_development_switch_allows_loopback_http_only() {
    let fetcher = SafeFetcher::new(true).unwrap();
    // Plain http beyond loopback stays refused.
    for url in [
        "http://10.0.0.1/client.json",
        "http://example.com/client.json",
    ] {
        let error = fetch_error(&fetcher, url).await;
        assert!(
            error.contains("only https URLs are fetched"),
            "{url}: {error}"
        );
    }
    // https still only to public addresses.
    let error = fetch_error(&fetcher, "https://127.0.0.1/client.json").await;
    assert!(
        error.contains("is a private or special-use address"),
        "{error}"
    );
    // Loopback http is allowed: nothing listens on port 1, so the
    // connection (not the rules) fails.
    let error = fetch_error(&fetcher, "http://127.0.0.1:1/client.json").await;
    assert!(!error.contains("private or special-use"), "{error}");
    assert!(!error.contains("only https"), "{error}");
}
