//! The revocation endpoint (RFC 7009), observed as a client and a resource
//! server would: statuses, headers, and whether tokens still work afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod lifecycle;

use std::time::Duration;

use common::{Harness, TestClient, alive, basic, cc_request, code_harness, harness_with};
use http::{HeaderMap, Request};
use lifecycle::{Tokens, capture_events, never_issued, post, revocation};
use portcullis::client::ClientAuthError;
use portcullis::endpoint::{RequestError, Revocation, RevocationError, RevocationRequest};
use portcullis::protocol::Params;

/// Asserts the RFC 7009 §2.2 success: `200`, empty body, no-store headers.
#[track_caller]
fn assert_revoked(reply: &common::Reply) {
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json, serde_json::Value::Null, "the body is empty");
    reply.assert_no_store();
}

async fn web_setup() -> (Harness, TestClient, Tokens) {
    let h = code_harness();
    let client = h.web_client().await;
    let tokens = h.tokens_for(&client).await;
    (h, client, tokens)
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_the_whole_grant() {
    let (h, client, tokens) = web_setup().await;
    assert!(alive(&h, &tokens.access).await);

    let reply = h.revoke(revocation(&client, &tokens.refresh, "")).await;
    assert_revoked(&reply);

    // RFC 7009 §2.1: the grant's access tokens die with it …
    assert!(!alive(&h, &tokens.access).await);
    // … and the refresh token no longer refreshes.
    h.refresh(&client, &tokens.refresh)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn revoking_a_refresh_token_kills_every_access_token_of_the_grant() {
    let (h, client, first) = web_setup().await;
    let refreshed = h.refresh(&client, &first.refresh).await;
    let second_access = refreshed.access_token().to_owned();
    let second_refresh = refreshed.json["refresh_token"].as_str().unwrap().to_owned();
    assert!(alive(&h, &first.access).await && alive(&h, &second_access).await);

    assert_revoked(&h.revoke(revocation(&client, &second_refresh, "")).await);
    assert!(!alive(&h, &first.access).await);
    assert!(!alive(&h, &second_access).await);
}

#[tokio::test]
async fn revoking_a_rotated_out_refresh_token_revokes_the_grant() {
    let (h, client, first) = web_setup().await;
    let refreshed = h.refresh(&client, &first.refresh).await;
    let current_access = refreshed.access_token().to_owned();
    let current_refresh = refreshed.json["refresh_token"].as_str().unwrap().to_owned();

    assert_revoked(&h.revoke(revocation(&client, &first.refresh, "")).await);
    assert!(!alive(&h, &current_access).await);
    h.refresh(&client, &current_refresh)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn revoking_an_access_token_revokes_only_that_token() {
    let (h, client, first) = web_setup().await;
    let refreshed = h.refresh(&client, &first.refresh).await;
    let second_access = refreshed.access_token().to_owned();
    let second_refresh = refreshed.json["refresh_token"].as_str().unwrap().to_owned();

    assert_revoked(&h.revoke(revocation(&client, &first.access, "")).await);
    assert!(!alive(&h, &first.access).await);
    // The grant's other access token and its refresh token still work.
    assert!(alive(&h, &second_access).await);
    let reply = h.refresh(&client, &second_refresh).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert!(alive(&h, reply.access_token()).await);
}

#[tokio::test]
async fn after_revoking_an_access_token_the_refresh_token_still_works() {
    let (h, client, tokens) = web_setup().await;
    assert_revoked(&h.revoke(revocation(&client, &tokens.access, "")).await);
    assert!(!alive(&h, &tokens.access).await);
    let reply = h.refresh(&client, &tokens.refresh).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert!(alive(&h, reply.access_token()).await);
}

#[tokio::test]
async fn a_client_credentials_token_can_be_revoked_by_its_client() {
    let h = harness_with(|b| b);
    let client = h.cc_client().await;
    let token = h
        .post(cc_request(&client, ""))
        .await
        .access_token()
        .to_owned();
    assert_revoked(&h.revoke(revocation(&client, &token, "")).await);
    assert!(!alive(&h, &token).await);
}

#[tokio::test]
async fn the_hint_orders_the_lookup_but_a_wrong_hint_still_revokes() {
    // A refresh token announced as an access token (RFC 7009 §2.1: the
    // server MUST extend its search).
    let (h, client, tokens) = web_setup().await;
    let reply = h
        .revoke(revocation(
            &client,
            &tokens.refresh,
            "&token_type_hint=access_token",
        ))
        .await;
    assert_revoked(&reply);
    assert!(!alive(&h, &tokens.access).await);
    h.refresh(&client, &tokens.refresh)
        .await
        .assert_error(400, "invalid_grant");

    // An access token announced as a refresh token.
    let (h, client, tokens) = web_setup().await;
    let reply = h
        .revoke(revocation(
            &client,
            &tokens.access,
            "&token_type_hint=refresh_token",
        ))
        .await;
    assert_revoked(&reply);
    assert!(!alive(&h, &tokens.access).await);
    assert_eq!(h.refresh(&client, &tokens.refresh).await.status, 200);
}

#[tokio::test]
async fn a_matching_hint_revokes() {
    let (h, client, tokens) = web_setup().await;
    let reply = h
        .revoke(revocation(
            &client,
            &tokens.refresh,
            "&token_type_hint=refresh_token",
        ))
        .await;
    assert_revoked(&reply);
    assert!(!alive(&h, &tokens.access).await);
}

#[tokio::test]
async fn an_unknown_hint_value_is_ignored() {
    // RFC 7009 §2.2: "An invalid token type hint value is ignored".
    let (h, client, tokens) = web_setup().await;
    let reply = h
        .revoke(revocation(
            &client,
            &tokens.refresh,
            "&token_type_hint=id_token",
        ))
        .await;
    assert_revoked(&reply);
    assert!(!alive(&h, &tokens.access).await);
}

#[tokio::test]
async fn unknown_malformed_expired_and_revoked_tokens_get_200() {
    // RFC 7009 §2.2: invalid tokens do not cause an error response.
    let (h, client, tokens) = web_setup().await;
    for token in [
        never_issued("pc_at_"),
        never_issued("pc_rt_"),
        "not-a-token".to_owned(),
        "pc_at_short".to_owned(),
    ] {
        assert_revoked(&h.revoke(revocation(&client, &token, "")).await);
    }
    assert!(alive(&h, &tokens.access).await, "nothing else was touched");

    // Already revoked: a second revocation is still a 200.
    assert_revoked(&h.revoke(revocation(&client, &tokens.access, "")).await);
    assert_revoked(&h.revoke(revocation(&client, &tokens.access, "")).await);

    // Expired.
    let cc = h.cc_client().await;
    let token = h.post(cc_request(&cc, "")).await.access_token().to_owned();
    h.clock.advance(Duration::from_secs(601));
    assert!(!alive(&h, &token).await);
    assert_revoked(&h.revoke(revocation(&cc, &token, "")).await);
}

#[tokio::test]
async fn an_authorization_code_is_not_a_revocable_token() {
    let h = code_harness();
    let client = h.native_client().await;
    let params = h.code_for(&client, "").await;
    let code = common::param(&params, "code").unwrap().to_owned();
    assert_revoked(&h.revoke(revocation(&client, &code, "")).await);
    // Revocation knows access and refresh tokens only; the code still works.
    assert_eq!(h.redeem(&client, &code).await.status, 200);
}

#[tokio::test]
async fn another_clients_live_token_is_refused_and_stays_valid() {
    let (h, owner, tokens) = web_setup().await;
    let other = h.web_client().await;

    // RFC 7009 §2.1: the request is refused and the client informed.
    for token in [&tokens.refresh, &tokens.access] {
        let reply = h.revoke(revocation(&other, token, "")).await;
        reply.assert_error(400, "unauthorized_client");
    }
    assert!(alive(&h, &tokens.access).await);
    let reply = h.refresh(&owner, &tokens.refresh).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
}

#[tokio::test]
async fn a_public_client_cannot_revoke_another_clients_token() {
    let h = code_harness();
    let owner = h.native_client().await;
    let tokens = h.tokens_for(&owner).await;
    let other = h.native_client().await;
    let reply = h.revoke(revocation(&other, &tokens.refresh, "")).await;
    reply.assert_error(400, "unauthorized_client");
    assert!(alive(&h, &tokens.access).await);
    assert_eq!(h.refresh(&owner, &tokens.refresh).await.status, 200);
}

#[tokio::test]
async fn another_clients_dead_token_gets_200_and_nothing_changes() {
    let (h, owner, first) = web_setup().await;
    let other = h.web_client().await;
    // A rotated-out refresh token of the owner's is invalid: nothing to
    // refuse, nothing to revoke.
    let refreshed = h.refresh(&owner, &first.refresh).await;
    let current_refresh = refreshed.json["refresh_token"].as_str().unwrap().to_owned();
    assert_revoked(&h.revoke(revocation(&other, &first.refresh, "")).await);
    assert_eq!(h.refresh(&owner, &current_refresh).await.status, 200);

    // An expired access token of the owner's.
    h.clock.advance(Duration::from_secs(601));
    assert!(!alive(&h, &first.access).await);
    assert_revoked(&h.revoke(revocation(&other, &first.access, "")).await);
}

#[tokio::test]
async fn a_public_client_revokes_its_own_tokens() {
    let h = code_harness();
    let client = h.native_client().await;
    let tokens = h.tokens_for(&client).await;
    let reply = h.revoke(revocation(&client, &tokens.refresh, "")).await;
    assert_revoked(&reply);
    assert!(!alive(&h, &tokens.access).await);
    h.refresh(&client, &tokens.refresh)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn a_wrong_secret_is_401_with_a_basic_challenge_and_revokes_nothing() {
    let (h, client, tokens) = web_setup().await;
    let reply = h
        .revoke(revocation(
            &client.with_secret("wrong"),
            &tokens.refresh,
            "",
        ))
        .await;
    reply.assert_error(401, "invalid_client");
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Basic realm=\"https://auth.example\"")
    );
    assert!(alive(&h, &tokens.access).await);
}

#[tokio::test]
async fn client_authentication_is_required() {
    let (h, client, tokens) = web_setup().await;
    // No credentials at all: 401 with the challenge (RFC 7009 §2.1).
    let reply = h
        .revoke(post("/revoke", None, &format!("token={}", tokens.refresh)))
        .await;
    reply.assert_error(401, "invalid_client");
    // A confidential client may not pass as public with its client_id alone.
    let reply = h
        .revoke(post(
            "/revoke",
            None,
            &format!("token={}&client_id={}", tokens.refresh, client.id),
        ))
        .await;
    reply.assert_error(400, "invalid_client");
    // A wrong secret in the body: 400, no challenge (RFC 6749 §5.2).
    let reply = h
        .revoke(post(
            "/revoke",
            None,
            &format!(
                "token={}&client_id={}&client_secret=wrong",
                tokens.refresh, client.id
            ),
        ))
        .await;
    reply.assert_error(400, "invalid_client");
    assert_eq!(reply.header("www-authenticate"), None);
    assert!(alive(&h, &tokens.access).await);
}

#[tokio::test]
async fn a_request_without_any_authentication_is_401_with_a_basic_challenge() {
    // RFC 7009 §2.1: the client includes its authentication (or, public, its
    // client_id); RFC 9110 §15.5.2: a 401 names the schemes that would do.
    let (h, _, tokens) = web_setup().await;
    let reply = h
        .revoke(post("/revoke", None, &format!("token={}", tokens.access)))
        .await;
    reply.assert_error(401, "invalid_client");
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Basic realm=\"https://auth.example\"")
    );
    assert!(alive(&h, &tokens.access).await);

    // The typed layer says the same.
    let headers = HeaderMap::new();
    let params = Params::from_pairs([("token", tokens.access.clone())]);
    let error = h
        .server
        .revoke(RevocationRequest::new(params, &headers))
        .await
        .unwrap_err();
    assert!(matches!(
        &error,
        RevocationError::Request(RequestError::ClientAuth {
            error: ClientAuthError::Missing,
            challenge: Some(_),
        })
    ));
    let response = error.into_http();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"https://auth.example\""
    );
}

#[tokio::test]
async fn failed_authentication_is_throttled() {
    let h = harness_with(|b| {
        b.throttle_policy(
            portcullis::client::ThrottlePolicy::default()
                .with_allowed_failures(2)
                .with_initial_delay(Duration::from_secs(1))
                .with_max_delay(Duration::from_secs(60)),
        )
    });
    let client = h.cc_client().await;
    let token = h
        .post(cc_request(&client, ""))
        .await
        .access_token()
        .to_owned();
    let wrong = client.with_secret("wrong");
    for _ in 0..3 {
        h.revoke(revocation(&wrong, &token, ""))
            .await
            .assert_error(401, "invalid_client");
    }
    // Blocked: further guesses are refused without being checked …
    let reply = h.revoke(revocation(&wrong, &token, "")).await;
    reply.assert_error(429, "invalid_client");
    assert!(reply.header("retry-after").is_some());
    assert!(alive(&h, &token).await);
    // … and did not count against the token endpoint (a family of its own),
    // where a guess is still checked.
    h.post(cc_request(&wrong, ""))
        .await
        .assert_error(401, "invalid_client");
    // The client's generated secret is never refused.
    assert_revoked(&h.revoke(revocation(&client, &token, "")).await);
    assert!(!alive(&h, &token).await);
}

#[tokio::test]
async fn only_post_is_accepted() {
    let (h, client, tokens) = web_setup().await;
    let request = Request::get(format!(
        "https://auth.example/revoke?token={}",
        tokens.refresh
    ))
    .header("authorization", basic(&client.id, &client.secret))
    .body(Vec::new())
    .unwrap();
    let reply = h.revoke(request).await;
    reply.assert_error(405, "invalid_request");
    assert_eq!(reply.header("allow"), Some("POST"));
    assert!(alive(&h, &tokens.access).await);
}

#[tokio::test]
async fn malformed_requests_are_invalid_request_and_revoke_nothing() {
    let (h, client, tokens) = web_setup().await;
    let auth = basic(&client.id, &client.secret);
    let refresh = &tokens.refresh;

    // Missing token.
    h.revoke(post(
        "/revoke",
        Some(&auth),
        "token_type_hint=refresh_token",
    ))
    .await
    .assert_error(400, "invalid_request");
    // Repeated token, repeated hint (RFC 6749 §3.2).
    h.revoke(post(
        "/revoke",
        Some(&auth),
        &format!("token={refresh}&token={refresh}"),
    ))
    .await
    .assert_error(400, "invalid_request");
    h.revoke(post(
        "/revoke",
        Some(&auth),
        &format!("token={refresh}&token_type_hint=refresh_token&token_type_hint=access_token"),
    ))
    .await
    .assert_error(400, "invalid_request");
    // Not a form.
    let json = Request::post("https://auth.example/revoke")
        .header("authorization", &auth)
        .header("content-type", "application/json")
        .body(format!("{{\"token\":\"{refresh}\"}}").into_bytes())
        .unwrap();
    h.revoke(json).await.assert_error(400, "invalid_request");
    // Malformed percent-encoding.
    h.revoke(post("/revoke", Some(&auth), "token=%zz"))
        .await
        .assert_error(400, "invalid_request");
    // A client secret in the query string (RFC 6749 §2.3.1).
    let request = Request::post(format!(
        "https://auth.example/revoke?client_secret={}",
        client.secret
    ))
    .header("content-type", "application/x-www-form-urlencoded")
    .body(format!("token={refresh}&client_id={}", client.id).into_bytes())
    .unwrap();
    h.revoke(request).await.assert_error(400, "invalid_request");

    assert!(alive(&h, &tokens.access).await);
    assert_eq!(h.refresh(&client, refresh).await.status, 200);
}

#[tokio::test]
async fn the_token_in_the_query_string_is_not_read() {
    let (h, client, tokens) = web_setup().await;
    let request = Request::post(format!(
        "https://auth.example/revoke?token={}",
        tokens.access
    ))
    .header("authorization", basic(&client.id, &client.secret))
    .header("content-type", "application/x-www-form-urlencoded")
    .body(Vec::new())
    .unwrap();
    h.revoke(request).await.assert_error(400, "invalid_request");
    assert!(alive(&h, &tokens.access).await);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let h = harness_with(|b| b.max_body(256));
    let client = h.cc_client().await;
    let token = h
        .post(cc_request(&client, ""))
        .await
        .access_token()
        .to_owned();
    let padding = "x".repeat(300);
    let reply = h
        .revoke(revocation(&client, &token, &format!("&padding={padding}")))
        .await;
    reply.assert_error(413, "invalid_request");
    assert!(alive(&h, &token).await);
}

#[tokio::test]
async fn the_typed_layer_reports_what_was_revoked() {
    let (h, client, tokens) = web_setup().await;
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        basic(&client.id, &client.secret).parse().unwrap(),
    );
    let revoke = |token: &str| {
        let params = Params::from_pairs([("token", token.to_owned())]);
        h.server.revoke(RevocationRequest::new(params, &headers))
    };
    assert_eq!(
        revoke(&never_issued("pc_at_")).await.unwrap(),
        Revocation::Nothing
    );
    assert_eq!(
        revoke(&tokens.access).await.unwrap(),
        Revocation::AccessToken
    );
    assert_eq!(revoke(&tokens.refresh).await.unwrap(), Revocation::Grant);

    let other = h.web_client().await;
    let theirs = h.tokens_for(&other).await;
    assert!(matches!(
        revoke(&theirs.access).await,
        Err(RevocationError::TokenOfAnotherClient)
    ));
    let params = Params::default();
    assert!(matches!(
        h.server
            .revoke(RevocationRequest::new(params, &headers))
            .await,
        Err(RevocationError::Request(RequestError::MissingParameter(
            "token"
        )))
    ));
}

#[tokio::test]
async fn revocations_are_security_events_without_the_token() {
    let (h, client, tokens) = web_setup().await;
    let (reply, logged) = capture_events(h.revoke(revocation(&client, &tokens.access, ""))).await;
    assert_revoked(&reply);
    assert!(logged.contains("token_revoked"), "{logged}");
    assert!(logged.contains(&client.id), "{logged}");
    assert!(!logged.contains(&tokens.access), "{logged}");

    let (reply, logged) = capture_events(h.revoke(revocation(&client, &tokens.refresh, ""))).await;
    assert_revoked(&reply);
    assert!(logged.contains("grant_revoked"), "{logged}");
    assert!(!logged.contains(&tokens.refresh), "{logged}");
    assert!(!logged.contains(&client.secret), "{logged}");
}

#[tokio::test]
async fn two_authentication_methods_are_invalid_request() {
    // RFC 6749 §2.3: one method per request.
    let (h, client, tokens) = web_setup().await;
    let reply = h
        .revoke(post(
            "/revoke",
            Some(&basic(&client.id, &client.secret)),
            &format!("token={}&client_secret={}", tokens.refresh, client.secret),
        ))
        .await;
    reply.assert_error(400, "invalid_request");
    assert!(alive(&h, &tokens.access).await);
}

/// A request parsed from HTTP keeps its form parameters and the source the
/// host attached (the throttling key), as a host's own handler reads them.
#[test]
fn a_parsed_request_keeps_its_form_and_its_source() {
    use portcullis::client::ThrottleSource;
    let mut request = Request::post("https://as.example/revoke")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"token=pc_at_abc&token_type_hint=access_token".to_vec())
        .unwrap();
    request
        .extensions_mut()
        .insert(ThrottleSource::new("203.0.113.7"));
    let parsed = RevocationRequest::from_http(&request, portcullis::DEFAULT_MAX_BODY).unwrap();
    assert_eq!(parsed.params().get("token").unwrap(), Some("pc_at_abc"));
    assert_eq!(
        parsed.params().get("token_type_hint").unwrap(),
        Some("access_token")
    );
    assert_eq!(
        parsed.source().map(ThrottleSource::as_str),
        Some("203.0.113.7")
    );
    // Without one attached, none.
    let bare = Request::post("https://as.example/revoke")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"token=x".to_vec())
        .unwrap();
    let parsed = RevocationRequest::from_http(&bare, portcullis::DEFAULT_MAX_BODY).unwrap();
    assert!(parsed.source().is_none());
}
