//! The token endpoint (RFC 6749 §3.2, §5) and the client credentials grant
//! (§4.4), through the public API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::*;
use http::Request;
use portcullis::client::ClientRegistration;
use portcullis::protocol::GrantType;
use portcullis::token::TokenKind;

#[tokio::test]
async fn client_credentials_issues_a_bearer_token() {
    let h = harness();
    let c = h.cc_client().await;
    let r = h.post(cc_request(&c, "&scope=read")).await;

    assert_eq!(r.status, 200, "{:?}", r.json);
    r.assert_no_store();
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["expires_in"], 600);
    // §5.1: scope may be omitted when identical to the request.
    assert!(r.json.get("scope").is_none());
    // §4.4.3: no refresh token.
    assert!(r.json.get("refresh_token").is_none());
    assert!(TokenKind::AccessToken.matches(r.access_token()));

    let info = h
        .server
        .access_token_info(r.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.client_id.as_str(), c.id);
    assert_eq!(info.subject, None);
    assert_eq!(info.scope.to_string(), "read");
    assert_eq!(info.expires_at, start() + Duration::from_secs(600));
}

#[tokio::test]
async fn scope_is_returned_when_it_differs_from_the_request() {
    let h = harness();
    let c = h
        .register(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .scope("read write".parse().unwrap())
                .default_scope("read".parse().unwrap()),
        )
        .await;
    // Omitted scope: the client's default applies (§3.3) and is reported.
    let r = h.post(cc_request(&c, "")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["scope"], "read");
    // Same set in another order: identical scope, so not repeated.
    let r = h.post(cc_request(&c, "&scope=write+read")).await;
    assert_eq!(r.status, 200);
    assert!(r.json.get("scope").is_none());
    let info = h
        .server
        .access_token_info(r.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.scope.to_string(), "read write");
}

#[tokio::test]
async fn no_default_scope_means_a_token_without_scope() {
    let h = harness();
    let c = h.cc_client().await;
    let r = h.post(cc_request(&c, "")).await;
    assert_eq!(r.status, 200);
    assert!(r.json.get("scope").is_none());
    let info = h
        .server
        .access_token_info(r.access_token())
        .await
        .unwrap()
        .unwrap();
    assert!(info.scope.is_empty());
}

#[tokio::test]
async fn scope_beyond_the_client_is_invalid_scope() {
    let h = harness();
    let c = h.cc_client().await;
    h.post(cc_request(&c, "&scope=read+admin"))
        .await
        .assert_error(400, "invalid_scope");
    // Not the §3.3 grammar: a doubled space, a quote.
    h.post(cc_request(&c, "&scope=read++write"))
        .await
        .assert_error(400, "invalid_scope");
    h.post(cc_request(&c, "&scope=%22read%22"))
        .await
        .assert_error(400, "invalid_scope");
}

#[tokio::test]
async fn empty_parameters_are_treated_as_omitted() {
    // §3.2: "Parameters sent without a value MUST be treated as if they were
    // omitted from the request."
    let h = harness();
    let c = h.cc_client().await;
    let r = h.post(cc_request(&c, "&scope=")).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let r = h
        .post(token_request(Some(&basic(&c.id, &c.secret)), "grant_type="))
        .await;
    r.assert_error(400, "invalid_request");
    assert!(r.description().contains("grant_type"));
}

#[tokio::test]
async fn unknown_parameters_are_ignored() {
    let h = harness();
    let c = h.cc_client().await;
    let r = h
        .post(cc_request(&c, "&foo=bar&foo=baz&ui_locales=en"))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
}

#[tokio::test]
async fn repeated_parameters_are_invalid_request() {
    let h = harness();
    let c = h.cc_client().await;
    for body in [
        "grant_type=client_credentials&grant_type=client_credentials",
        "grant_type=client_credentials&scope=read&scope=write",
    ] {
        let r = h
            .post(token_request(Some(&basic(&c.id, &c.secret)), body))
            .await;
        r.assert_error(400, "invalid_request");
        assert!(r.description().contains("repeated"));
    }
}

#[tokio::test]
async fn missing_or_unknown_grant_type() {
    let h = harness();
    let c = h.cc_client().await;
    let auth = basic(&c.id, &c.secret);
    h.post(token_request(Some(&auth), "scope=read"))
        .await
        .assert_error(400, "invalid_request");
    for g in [
        "password",
        "authorization_code",
        "urn:example:unknown",
        "CLIENT_CREDENTIALS",
    ] {
        h.post(token_request(
            Some(&auth),
            &format!("grant_type={}", form_encode(g)),
        ))
        .await
        .assert_error(400, "unsupported_grant_type");
    }
}

#[tokio::test]
async fn a_client_not_registered_for_the_grant_is_unauthorized() {
    let h = harness();
    let c = h
        .register(
            ClientRegistration::web_application()
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .redirect_uri("https://client.example/cb"),
        )
        .await;
    h.post(cc_request(&c, ""))
        .await
        .assert_error(400, "unauthorized_client");
}

#[tokio::test]
async fn only_post_is_accepted() {
    let h = harness();
    for method in ["GET", "PUT", "DELETE", "HEAD", "OPTIONS"] {
        let req = Request::builder()
            .method(method)
            .uri("https://auth.example/token?grant_type=client_credentials")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Vec::new())
            .unwrap();
        let r = h.post(req).await;
        r.assert_error(405, "invalid_request");
        assert_eq!(r.header("allow"), Some("POST"));
    }
}

#[tokio::test]
async fn only_form_bodies_are_accepted() {
    let h = harness();
    let c = h.cc_client().await;
    for ct in [
        Some("application/json"),
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
        Some("application/x-www-form-urlencoded; charset=iso-8859-1"),
        None,
    ] {
        let mut b = Request::post("/token").header("authorization", basic(&c.id, &c.secret));
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        let r = h
            .post(b.body(b"grant_type=client_credentials".to_vec()).unwrap())
            .await;
        r.assert_error(400, "invalid_request");
    }
    // Parameters and case in the media type are fine.
    let req = Request::post("/token")
        .header("authorization", basic(&c.id, &c.secret))
        .header(
            "content-type",
            "Application/X-WWW-Form-URLEncoded; Charset=UTF-8",
        )
        .body(b"grant_type=client_credentials".to_vec())
        .unwrap();
    assert_eq!(h.post(req).await.status, 200);
}

#[tokio::test]
async fn a_huge_body_is_refused_before_parsing() {
    let h = harness();
    let c = h.cc_client().await;
    let huge = format!(
        "grant_type=client_credentials&pad={}",
        "a".repeat(2 * 1024 * 1024)
    );
    let r = h
        .post(token_request(Some(&basic(&c.id, &c.secret)), &huge))
        .await;
    r.assert_error(413, "invalid_request");

    let small = harness_with(|b| b.max_body(64));
    let c = small.cc_client().await;
    let r = small
        .post(cc_request(&c, &format!("&pad={}", "a".repeat(64))))
        .await;
    r.assert_error(413, "invalid_request");
}

#[tokio::test]
async fn malformed_bodies_are_invalid_request() {
    let h = harness();
    let c = h.cc_client().await;
    let auth = basic(&c.id, &c.secret);
    for body in [
        &b"grant_type=client_credentials&scope=%zz"[..],
        b"grant_type=client_credentials&scope=%E2%82",
        b"grant_type=client_credentials&scope=\xff\xfe",
        b"grant_type=%",
    ] {
        let req = Request::post("/token")
            .header("authorization", auth.as_str())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_vec())
            .unwrap();
        h.post(req).await.assert_error(400, "invalid_request");
    }
}

#[tokio::test]
async fn tokens_expire_with_the_clock() {
    let h = harness();
    let c = h.cc_client().await;
    let r = h.post(cc_request(&c, "")).await;
    let token = r.access_token().to_owned();
    h.clock.advance(Duration::from_secs(599));
    assert!(h.server.access_token_info(&token).await.unwrap().is_some());
    h.clock.advance(Duration::from_secs(1));
    assert!(h.server.access_token_info(&token).await.unwrap().is_none());
    // Purging drops it from the store.
    assert_eq!(h.store.access_token_count(), 1);
    assert!(h.server.purge_expired().await.unwrap() >= 1);
    assert_eq!(h.store.access_token_count(), 0);
}

#[tokio::test]
async fn lifetime_is_configurable() {
    let h = harness_with(|b| {
        b.token_lifetimes(
            portcullis::token::TokenLifetimes::default().with_access_token(Duration::from_secs(60)),
        )
    });
    let c = h.cc_client().await;
    let r = h.post(cc_request(&c, "")).await;
    assert_eq!(r.json["expires_in"], 60);
}

#[test]
fn lifetimes_the_clock_cannot_hold_fail_the_build() {
    use portcullis::token::{MAX_LIFETIME, TokenLifetimes};
    use portcullis::{AuthorizationServer, BuildError, MemoryStore};
    let build = |lifetimes: TokenLifetimes| {
        let store = MemoryStore::new();
        AuthorizationServer::builder("https://auth.example")
            .clients(store.clone())
            .tokens(store)
            .token_lifetimes(lifetimes)
            .build()
    };
    let defaults = TokenLifetimes::default();
    for (lifetimes, which) in [
        (defaults.with_access_token(Duration::MAX), "access_token"),
        (defaults.with_access_token(Duration::ZERO), "access_token"),
        (
            defaults.with_grant(MAX_LIFETIME + Duration::from_secs(1)),
            "grant",
        ),
        (
            defaults.with_refresh_token_idle(Duration::MAX),
            "refresh_token_idle",
        ),
        (
            defaults.with_authorization_code(Duration::ZERO),
            "authorization_code",
        ),
    ] {
        match build(lifetimes) {
            Err(BuildError::InvalidLifetime(named)) => assert_eq!(named, which),
            other => panic!("{which}: {other:?}"),
        }
    }
    assert!(build(defaults.with_grant(MAX_LIFETIME)).is_ok());
}

#[tokio::test]
async fn a_throttle_delay_past_the_clock_blocks_instead_of_panicking() {
    let h = harness_with(|b| {
        b.throttle_policy(
            portcullis::client::ThrottlePolicy::default()
                .with_allowed_failures(0)
                .with_initial_delay(Duration::MAX)
                .with_max_delay(Duration::MAX),
        )
    });
    let c = h.cc_client().await;
    let wrong = c.with_secret("pc_cs_wrong");
    assert_eq!(h.post(cc_request(&wrong, "")).await.status, 401);
    let refused = h.post(cc_request(&wrong, "")).await;
    assert_eq!(refused.status, 429);
    assert!(refused.headers.contains_key("retry-after"));
    // A generated secret is never refused, however long the block.
    assert_eq!(h.post(cc_request(&c, "")).await.status, 200);
}

#[tokio::test]
async fn revoking_the_grant_kills_its_token() {
    let h = harness();
    let c = h.cc_client().await;
    let a = h.post(cc_request(&c, "")).await.access_token().to_owned();
    let b = h.post(cc_request(&c, "")).await.access_token().to_owned();
    let grant = h
        .server
        .access_token_info(&a)
        .await
        .unwrap()
        .unwrap()
        .grant_id;
    assert!(h.server.revoke_grant(&grant).await.unwrap());
    assert!(h.server.access_token_info(&a).await.unwrap().is_none());
    // Each client_credentials token is its own grant: the other lives on.
    assert!(h.server.access_token_info(&b).await.unwrap().is_some());
    assert!(!h.server.revoke_grant(&grant).await.unwrap());
}

#[tokio::test]
async fn token_lookup_refuses_what_is_not_a_live_access_token() {
    let h = harness();
    let c = h.cc_client().await;
    let token = h.post(cc_request(&c, "")).await.access_token().to_owned();
    for not_live in [
        String::new(),
        "garbage".to_owned(),
        token.replacen("pc_at_", "pc_rt_", 1),
        format!("{token}x"),
        // Right shape, never issued.
        format!("pc_at_{}", "A".repeat(43)),
        c.secret.clone(),
    ] {
        assert!(
            h.server
                .access_token_info(&not_live)
                .await
                .unwrap()
                .is_none(),
            "{not_live}"
        );
    }
}

#[tokio::test]
async fn query_string_parameters_are_not_read() {
    // The token endpoint reads the body; a grant_type in the URI does not count.
    let h = harness();
    let c = h.cc_client().await;
    let req = Request::post("/token?grant_type=client_credentials")
        .header("authorization", basic(&c.id, &c.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Vec::new())
        .unwrap();
    h.post(req).await.assert_error(400, "invalid_request");
}
