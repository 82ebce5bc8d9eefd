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

/// `redirect_uri`, seed `backslash_port`: a registered loopback redirect URI
/// (RFC 8252 §7.3: any port matches) whose path began with `\` — a path
/// separator to URL parsers and browsers — had its path read as the port,
/// so a request naming the same host on any port, without the path,
/// matched it.
#[tokio::test]
async fn a_backslash_path_is_not_part_of_a_loopback_port() {
    use portcullis::client::{ClientProfile, RedirectUri};

    let registered = RedirectUri::new("http://[::1]:80\\80cb", ClientProfile::Native).unwrap();
    assert!(registered.is_loopback());
    assert!(!registered.matches("http://[::1]:36"));
    assert!(!registered.matches("http://[::1]"));
    assert!(registered.matches("http://[::1]:36\\80cb"));
    assert!(registered.matches("http://[::1]\\80cb"));

    // At the authorization endpoint: the request is rejected, never
    // redirected.
    let h = code_harness();
    let client = h
        .register(
            portcullis::client::ClientRegistration::native()
                .redirect_uri("http://127.0.0.1:8080\\cb")
                .grant_type(portcullis::protocol::GrantType::AUTHORIZATION_CODE),
        )
        .await;
    let request = |redirect: &str| {
        format!(
            "response_type=code&client_id={}&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256",
            client.id,
            url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
        )
    };
    let err = h
        .authorize(&request("http://127.0.0.1:1"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, portcullis::endpoint::AuthorizationError::Rejected(_)),
        "{err:?}"
    );
    let pending = h
        .authorize(&request("http://127.0.0.1:1\\cb"))
        .await
        .unwrap();
    assert_eq!(pending.redirect_uri(), "http://127.0.0.1:1\\cb");
}
