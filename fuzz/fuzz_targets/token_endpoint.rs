//! The token endpoint (RFC 6749 §3.2, §4, §5, §6; RFC 8628 §3.4) on a memory
//! store populated afresh for every input: four clients, and on demand live
//! codes, refresh tokens, device codes (see `Fixture::value`).
//!
//! Input: a request in the text format of the crate's docs.
//!
//! - Never 5xx; every response is JSON with `Cache-Control: no-store` and
//!   `Pragma: no-cache` (§5.1).
//! - An error has an `error` from the §5.2 (and RFC 8628 §3.5) set, an
//!   `error_description` in the §5.2 character set, no secret of the
//!   request in it; `401` only for `invalid_client`, with
//!   `WWW-Authenticate`, and always when credentials came in the
//!   `Authorization` header; `429` with `Retry-After`; `405` with `Allow`.
//! - A success is a Bearer token, live, of the client that authenticated,
//!   within the scope requested. A code or a device code is redeemed once
//!   and a refresh token used once: replaying the request fails with
//!   `invalid_grant`, and a replayed code or refresh token revokes what it
//!   was used for (§4.1.2, RFC 9700 §4.14.2).
//! - `Debug` of the parsed request shows none of the request's secrets.
#![no_main]

use base64::Engine as _;
use http::Request;
use libfuzzer_sys::fuzz_target;
use portcullis::DEFAULT_MAX_BODY;
use portcullis::endpoint::TokenRequest;
use portcullis::protocol::{Params, Scope};
use portcullis_fuzz::{Fixture, TOKEN_ERRORS, block_on, check_error_body, parse_request};

/// The client a request claims to be: the Basic user name, else the body's
/// `client_id`.
fn claimed_client(request: &Request<Vec<u8>>) -> Option<String> {
    let basic = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().get(6..).map(str::trim))
        .and_then(|b| {
            let engine = base64::engine::GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                base64::engine::GeneralPurposeConfig::new()
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
            );
            engine.decode(b).ok()
        })
        .and_then(|bytes| {
            let colon = bytes.iter().position(|b| *b == b':')?;
            let id: String = form_urlencoded::parse(&[b"i=", &bytes[..colon]].concat())
                .next()
                .map(|(_, v)| v.into_owned())?;
            Some(id)
        });
    basic.or_else(|| {
        Params::parse(request.body())
            .ok()?
            .get("client_id")
            .ok()?
            .map(str::to_owned)
    })
}

fn body_param(request: &Request<Vec<u8>>, name: &str) -> Option<String> {
    Params::parse(request.body())
        .ok()?
        .get(name)
        .ok()?
        .map(str::to_owned)
}

fn clone(request: &Request<Vec<u8>>) -> Request<Vec<u8>> {
    let mut copy = Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy
}

fuzz_target!(|input: &[u8]| {
    let mut fixture = Fixture::new(|b| b);
    let substituted = fixture.substitute(input);
    let Some(request) = parse_request(&substituted) else {
        return;
    };
    let secrets = fixture.secrets();
    let server = fixture.server.clone();

    // `Debug` of the parsed request: names, never values.
    if let Ok(parsed) = TokenRequest::from_http(&request, DEFAULT_MAX_BODY) {
        let shown = format!("{parsed:?}");
        let names: String = form_urlencoded::parse(request.body())
            .map(|(n, _)| n.into_owned())
            .chain(request.headers().keys().map(|k| k.as_str().to_owned()))
            .collect();
        for s in &secrets {
            if !names.contains(s.as_str()) {
                assert!(!shown.contains(s.as_str()), "a secret in {shown}");
            }
        }
    }

    let response = block_on(server.token_endpoint(clone(&request)));
    let status = response.status();
    assert!(
        !status.is_server_error(),
        "{status}: {:?}",
        String::from_utf8_lossy(response.body())
    );
    let headers = response.headers();
    assert_eq!(
        headers.get("cache-control").map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    assert_eq!(
        headers.get("pragma").map(|v| v.as_bytes()),
        Some(&b"no-cache"[..])
    );
    assert!(
        headers
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json")),
        "content type {:?}",
        headers.get("content-type")
    );

    if status.is_success() {
        assert_eq!(status, 200);
        let json: serde_json::Value = serde_json::from_slice(response.body()).expect("JSON");
        assert_eq!(json["token_type"], "Bearer");
        assert!(json["expires_in"].as_u64().is_some_and(|s| s > 0));
        let access = json["access_token"].as_str().expect("an access token");
        let info = block_on(server.access_token_info(access))
            .expect("the store works")
            .expect("the access token is live");
        let claimed = claimed_client(&request).expect("a client authenticated");
        assert_eq!(info.client_id.as_str(), claimed, "token for another client");
        if let Some(requested) = body_param(&request, "scope") {
            let requested: Scope = requested.parse().expect("a granted scope parses");
            assert!(
                info.scope.is_subset(&requested),
                "scope {} beyond {requested}",
                info.scope
            );
        }
        let allowed: Scope = "read write admin".parse().expect("scope");
        assert!(info.scope.is_subset(&allowed));
        if let Some(scope) = json.get("scope") {
            let shown: Scope = scope
                .as_str()
                .expect("scope is a string")
                .parse()
                .expect("scope");
            assert!(
                shown == info.scope,
                "scope {shown} reported, {} granted",
                info.scope
            );
        }

        let grant_type = body_param(&request, "grant_type").unwrap_or_default();
        if matches!(
            grant_type.as_str(),
            "authorization_code" | "refresh_token" | "urn:ietf:params:oauth:grant-type:device_code"
        ) {
            let replay = block_on(server.token_endpoint(clone(&request)));
            assert_eq!(
                replay.status(),
                400,
                "{grant_type} replayed: {:?}",
                String::from_utf8_lossy(replay.body())
            );
            let code = check_error_body(&replay, &TOKEN_ERRORS, &secrets);
            assert_eq!(code, "invalid_grant", "{grant_type} replayed");
            if grant_type != "urn:ietf:params:oauth:grant-type:device_code" {
                let after = block_on(server.access_token_info(access)).expect("the store works");
                assert!(after.is_none(), "{grant_type} replay left its tokens alive");
            }
        }
        return;
    }

    let code = check_error_body(&response, &TOKEN_ERRORS, &secrets);
    match status.as_u16() {
        400 | 413 => {}
        401 => {
            assert_eq!(code, "invalid_client");
            assert!(headers.contains_key("www-authenticate"));
        }
        405 => assert!(headers.contains_key("allow")),
        429 => assert!(headers.contains_key("retry-after")),
        other => panic!("status {other} ({code})"),
    }
    // §5.2: a client that tried to authenticate with the `Authorization`
    // header gets 401.
    let one_authorization = request.headers().get_all("authorization").iter().count() == 1;
    if code == "invalid_client" && one_authorization {
        assert_eq!(status, 401, "invalid_client after header authentication");
    }
});
