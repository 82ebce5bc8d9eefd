//! Redirect URI registration and matching (RFC 6749 §3.1.2; RFC 8252 §7;
//! RFC 9700 §4.1) against `url` as the reference parser.
//!
//! Input: one byte for the client profile, then the URI to register, a
//! newline, and the URI a request names.
//!
//! - A registered URI is kept as given: printable ASCII, at most
//!   `MAX_REDIRECT_URI_LEN` bytes, absolute for `url`, no fragment, no user
//!   information; `https` with a host, or for a native app loopback `http`
//!   on an IP literal or a private-use scheme with a period (RFC 8252 §7.1).
//!   Registering it again gives the same.
//! - `matches` is exact string comparison, except that a registered
//!   loopback URI matches on any non-zero port: a match is the registered
//!   string, or has the same scheme, host, path and query for `url`.
//! - A client with the URI registered resolves a matching request to the
//!   URI named, and refuses a request naming a URI that does not match.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::client::{ClientProfile, ClientRegistration, MAX_REDIRECT_URI_LEN, RedirectUri};
use portcullis::protocol::GrantType;

fn is_loopback_ip(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&which, rest)) = input.split_first() else {
        return;
    };
    let profile = match which % 3 {
        0 => ClientProfile::WebApplication,
        1 => ClientProfile::UserAgentBased,
        _ => ClientProfile::Native,
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (registered, requested) = text.split_once('\n').unwrap_or((text, text));

    let Ok(uri) = RedirectUri::new(registered, profile) else {
        return;
    };
    assert_eq!(uri.as_str(), registered);
    assert!(registered.len() <= MAX_REDIRECT_URI_LEN);
    assert!(registered.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    let parsed = url::Url::parse(registered).expect("a registered URI is absolute");
    assert!(parsed.fragment().is_none());
    assert!(parsed.username().is_empty() && parsed.password().is_none());
    let native = profile == ClientProfile::Native;
    match parsed.scheme() {
        "https" => assert!(parsed.host().is_some()),
        "http" => assert!(
            native && is_loopback_ip(&parsed),
            "http for {profile:?}: {registered}"
        ),
        other => assert!(
            native && other.contains('.'),
            "scheme {other} for {profile:?}"
        ),
    }
    assert_eq!(uri.is_loopback(), parsed.scheme() == "http");
    assert!(RedirectUri::new(registered, profile).is_ok_and(|again| again == uri));

    // Matching.
    assert!(uri.matches(registered));
    let matched = uri.matches(requested);
    if matched && requested != registered {
        assert!(uri.is_loopback(), "{requested:?} matched {registered:?}");
        let asked = url::Url::parse(requested)
            .unwrap_or_else(|e| panic!("{requested:?} matched {registered:?} but is no URL: {e}"));
        assert_eq!(asked.scheme(), "http");
        assert_eq!(
            asked.host(),
            parsed.host(),
            "{requested:?} vs {registered:?}"
        );
        assert_eq!(
            asked.path(),
            parsed.path(),
            "{requested:?} vs {registered:?}"
        );
        assert_eq!(
            asked.query(),
            parsed.query(),
            "{requested:?} vs {registered:?}"
        );
        assert!(
            asked.fragment().is_none() && asked.username().is_empty() && asked.password().is_none()
        );
        assert!(asked.port() != Some(0));
        assert!(requested.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    }

    // Through a client's registration.
    let registration = ClientRegistration::new(profile)
        .redirect_uri(registered)
        .grant_type(GrantType::AUTHORIZATION_CODE);
    if let Ok(client) = registration.register().map(|r| r.client) {
        assert_eq!(client.redirect_uris(), std::slice::from_ref(&uri));
        assert_eq!(client.resolve_redirect_uri(None), Some(registered));
        assert_eq!(
            client.resolve_redirect_uri(Some(requested)),
            matched.then_some(requested)
        );
    }
});
