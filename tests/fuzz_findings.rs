//! Regression tests for what the fuzz targets (`fuzz/`, docs/FUZZING.md)
//! found, through the public API. Each input is also in the target's seeds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use http::Request;
use portcullis::AuthorizationServer;
use portcullis::resource::{BearerErrorKind, BearerValidator, InvalidRequest, Realm};

fn validator(h: &Harness) -> BearerValidator<AuthorizationServer> {
    BearerValidator::new(h.server.clone(), Realm::new("api").unwrap())
}

fn with_authorization(value: &str) -> Request<Vec<u8>> {
    Request::get("/r")
        .header("authorization", value)
        .body(Vec::new())
        .unwrap()
}

/// `bearer_header`, seed `tab`: RFC 6750 §2.1 is `"Bearer" 1*SP b64token`.
/// A tab after the first space was skipped like a space, so a header outside
/// the grammar was read as a token (a tab right after the scheme was refused
/// already).
#[tokio::test]
async fn a_tab_between_scheme_and_token_is_malformed() {
    let h = harness();
    let token = {
        let c = h.cc_client().await;
        let r = h.post(cc_request(&c, "&scope=read")).await;
        assert_eq!(r.status, 200, "{:?}", r.json);
        r.access_token().to_owned()
    };
    let v = validator(&h);
    for value in [
        format!("Bearer \t{token}"),
        format!("Bearer  \t {token}"),
        format!("Bearer\t{token}"),
    ] {
        let err = v.extract(&with_authorization(&value)).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                BearerErrorKind::InvalidRequest(InvalidRequest::MalformedCredentials)
            ),
            "{value:?}: {:?}",
            err.kind()
        );
        assert_eq!(err.status(), 400);
    }
    // Spaces, any number, and whitespace around the field value are fine.
    for value in [
        format!("Bearer {token}"),
        format!("bearer   {token}"),
        format!("\tBearer {token} \t"),
    ] {
        let request = with_authorization(&value);
        let found = v.extract(&request).unwrap();
        assert_eq!(found.expose_secret(), token);
    }
}
