//! Extension grants (RFC 6749 §4.5) through the public `GrantHandler` API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use portcullis::client::ClientRegistration;
use portcullis::endpoint::TokenError;
use portcullis::grant::{GrantContext, GrantHandler, Issue};
use portcullis::protocol::{ErrorCode, GrantType, OAuthError, TokenResponse};
use portcullis::store::Subject;

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Accepts `assertion=good-for-<user>`, refuses anything else with an
/// extension error code.
struct Assertions;

impl GrantHandler for Assertions {
    fn grant_type(&self) -> GrantType {
        GrantType::extension(JWT_BEARER).unwrap()
    }

    async fn handle(&self, ctx: GrantContext<'_>) -> Result<TokenResponse, TokenError> {
        let assertion = ctx.required_param("assertion")?;
        match assertion.strip_prefix("good-for-") {
            Some(user) => {
                ctx.issue(Issue::for_subject(
                    Subject::new(user),
                    ctx.scope_or_default(),
                ))
                .await
            }
            None => Err(OAuthError::new(ErrorCode::INVALID_GRANT)
                .with_description("assertion rejected")
                .into()),
        }
    }
}

fn body(assertion: &str) -> String {
    format!(
        "grant_type={}&assertion={assertion}&scope=read",
        form_encode(JWT_BEARER)
    )
}

async fn setup() -> (Harness, TestClient) {
    let h = harness_with(|b| b.grant(Assertions));
    let c = h
        .register(
            ClientRegistration::web_application()
                .grant_type(GrantType::extension(JWT_BEARER).unwrap())
                .scope("read".parse().unwrap()),
        )
        .await;
    (h, c)
}

#[tokio::test]
async fn an_extension_grant_issues_tokens_like_a_built_in_one() {
    let (h, c) = setup().await;
    let r = h
        .post(token_request(
            Some(&basic(&c.id, &c.secret)),
            &body("good-for-bob"),
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.assert_no_store();
    let info = h
        .server
        .access_token_info(r.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.subject.unwrap().as_str(), "bob");
    assert_eq!(info.client_id.as_str(), c.id);
}

#[tokio::test]
async fn the_shared_checks_run_before_an_extension_grant() {
    let (h, c) = setup().await;
    // Unauthenticated: never reaches the handler.
    h.post(token_request(
        Some(&basic(&c.id, "wrong")),
        &body("good-for-bob"),
    ))
    .await
    .assert_error(401, "invalid_client");
    // A client not registered for the grant type.
    let other = h.cc_client().await;
    h.post(token_request(
        Some(&basic(&other.id, &other.secret)),
        &body("good-for-bob"),
    ))
    .await
    .assert_error(400, "unauthorized_client");
    // Scope beyond the client's.
    let wide = body("good-for-bob").replace("scope=read", "scope=write");
    h.post(token_request(Some(&basic(&c.id, &c.secret)), &wide))
        .await
        .assert_error(400, "invalid_scope");
}

#[tokio::test]
async fn extension_errors_and_missing_parameters() {
    let (h, c) = setup().await;
    let auth = basic(&c.id, &c.secret);
    let r = h.post(token_request(Some(&auth), &body("forged"))).await;
    r.assert_error(400, "invalid_grant");
    assert_eq!(r.description(), "assertion rejected");
    let missing = format!("grant_type={}", form_encode(JWT_BEARER));
    h.post(token_request(Some(&auth), &missing))
        .await
        .assert_error(400, "invalid_request");
}

#[test]
fn extension_grant_types_are_absolute_uris() {
    assert!(GrantType::extension(JWT_BEARER).is_some());
    assert!(GrantType::extension("jwt-bearer").is_none());
    assert!(GrantType::extension("urn:x#frag").is_none());
}
