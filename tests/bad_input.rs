//! Arbitrary input never panics and always gets a well-formed OAuth answer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use http::{HeaderValue, Request};
use portcullis::protocol::{Params, Scope};
use proptest::prelude::*;

/// Every response of the token endpoint is JSON with an `error` from the
/// registered set (or a token), and the no-store headers.
fn assert_well_formed(r: &Reply) {
    r.assert_no_store();
    if r.status == 200 {
        assert!(r.json["access_token"].is_string());
        return;
    }
    let known = [
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    ];
    assert!(known.contains(&r.error()), "unexpected {:?}", r.json);
    assert!(
        [400, 401, 405, 413, 429].contains(&r.status),
        "status {}",
        r.status
    );
    assert_ne!(r.status, 500);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The form parser never panics, and what it returns obeys §3.2: no empty
    /// names or values.
    #[test]
    fn form_parser_total(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(params) = Params::parse(&input) {
            prop_assert!(params.len() <= portcullis::protocol::MAX_PARAMS);
        }
    }

    /// Encoding then parsing gives back the pairs (for non-empty names and
    /// values), and a repeated name is refused by `get`.
    #[test]
    fn form_round_trip(pairs in proptest::collection::vec(("[a-z_]{1,12}", "\\PC{1,24}"), 0..12)) {
        let body = pairs
            .iter()
            .map(|(n, v)| format!("{}={}", form_encode(n), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let params = Params::parse(body.as_bytes()).unwrap();
        for (name, value) in &pairs {
            let count = pairs.iter().filter(|(n, _)| n == name).count();
            if count == 1 {
                prop_assert_eq!(params.get(name).unwrap(), Some(value.as_str()));
            } else {
                prop_assert!(params.get(name).is_err());
                prop_assert_eq!(params.get_all(name).count(), count);
            }
        }
    }

    /// Scope parsing never panics; what parses prints back to an equal set.
    #[test]
    fn scope_parser_total(input in "\\PC{0,64}") {
        if let Ok(scope) = input.parse::<Scope>() {
            prop_assert_eq!(scope.to_string().parse::<Scope>().unwrap(), scope);
        }
    }

    /// Arbitrary bodies and Authorization headers at the token endpoint.
    #[test]
    fn token_endpoint_total(
        body in proptest::collection::vec(any::<u8>(), 0..256),
        auth in proptest::option::of(proptest::collection::vec(32u8..127, 0..96)),
        grant in prop::sample::select(vec!["", "grant_type=client_credentials&", "grant_type=password&"]),
    ) {
        let rt = runtime();
        let h = harness();
        let mut full = grant.as_bytes().to_vec();
        full.extend_from_slice(&body);
        let mut req = Request::post("/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(full)
            .unwrap();
        if let Some(auth) = auth {
            if let Ok(v) = HeaderValue::from_bytes(&auth) {
                req.headers_mut().insert("authorization", v);
            }
        }
        let r = rt.block_on(h.post(req));
        assert_well_formed(&r);
    }

    /// Arbitrary Basic payloads for a real client: never a panic, never a
    /// token unless the secret is right.
    #[test]
    fn basic_payload_total(payload in proptest::collection::vec(any::<u8>(), 0..128)) {
        let rt = runtime();
        let h = harness();
        rt.block_on(async {
            let _client = h.cc_client().await;
            let value = format!("Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &payload));
            let r = h.post(token_request(Some(&value), "grant_type=client_credentials")).await;
            assert_well_formed(&r);
            assert_eq!(r.status, 401);
        });
    }
}
