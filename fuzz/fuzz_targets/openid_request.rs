//! OpenID Connect's authentication request parameters (OpenID Connect Core
//! 1.0 §3.1.2.1, §5.5): `OpenIdParams::from_params` on any form, and
//! `ClaimsRequest::parse` on any text.
//!
//! - Never a panic. A refusal's code is `invalid_request`, or — exactly when
//!   `request`, `request_uri` or `registration` is present —
//!   `request_not_supported`, `request_uri_not_supported` or
//!   `registration_not_supported` (Core §3.1.2.6).
//! - What is accepted is within its bounds: a non-empty `nonce` of at most
//!   `MAX_NONCE_LEN` bytes, at most `MAX_LIST_VALUES` locales and ACR
//!   values, `max_age` at most `MAX_MAX_AGE`, `prompt=none` alone, at most
//!   `MAX_REQUESTED_CLAIMS` claims per member.
//! - The stored forms round-trip: a `ClaimsRequest` through its JSON, and
//!   the pending request's `OpenIdRequest` through the store's JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::protocol::Params;
use portcullis::protocol::openid::{
    ClaimsRequest, MAX_LIST_VALUES, MAX_MAX_AGE, MAX_NONCE_LEN, MAX_REQUESTED_CLAIMS, OpenIdParams,
};
use portcullis::store::OpenIdRequest;

fn check_claims(claims: &ClaimsRequest) {
    assert!(claims.userinfo().count() <= MAX_REQUESTED_CLAIMS);
    assert!(claims.id_token().count() <= MAX_REQUESTED_CLAIMS);
    let again = ClaimsRequest::parse(&claims.to_json()).expect("its own JSON parses");
    assert_eq!(&again, claims);
}

fuzz_target!(|input: &[u8]| {
    if let Ok(text) = std::str::from_utf8(input) {
        if let Ok(claims) = ClaimsRequest::parse(text) {
            check_claims(&claims);
        }
    }
    let Ok(params) = Params::parse(input) else {
        return;
    };
    match OpenIdParams::from_params(&params) {
        Ok(p) => {
            assert!(!params.contains("request") && !params.contains("request_uri"));
            assert!(!params.contains("registration"));
            if let Some(nonce) = &p.nonce {
                assert!(!nonce.is_empty() && nonce.len() <= MAX_NONCE_LEN);
            }
            for list in [&p.ui_locales, &p.claims_locales, &p.acr_values] {
                assert!(list.len() <= MAX_LIST_VALUES);
                assert!(list.iter().all(|v| !v.is_empty() && !v.contains(' ')));
            }
            assert!(p.max_age.is_none_or(|age| age <= MAX_MAX_AGE));
            if p.prompt.none() {
                assert!(!p.prompt.login() && !p.prompt.consent() && !p.prompt.select_account());
            }
            if let Some(claims) = &p.claims {
                check_claims(claims);
            }
            let stored = OpenIdRequest::new(p, None);
            let back = OpenIdRequest::from_json(&stored.to_json()).expect("its own JSON reads back");
            assert_eq!(back, stored);
        }
        Err(error) => {
            let code = error.code().as_str();
            let expected = if params.contains("request") {
                "request_not_supported"
            } else if params.contains("request_uri") {
                "request_uri_not_supported"
            } else if params.contains("registration") {
                "registration_not_supported"
            } else {
                "invalid_request"
            };
            assert_eq!(code, expected);
        }
    }
});
