//! The refresh token grant end to end (RFC 6749 §6): rotation and reuse
//! detection (RFC 9700 §4.14.2), binding to the client, scope, idle and
//! absolute lifetimes, and what is not a refresh token.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;

use std::time::Duration;

use portcullis::client::ClientRegistration;
use portcullis::grant::{AuthorizationCodeGrant, RefreshTokenGrant};
use portcullis::protocol::GrantType;
use portcullis::token::TokenLifetimes;

/// Access and refresh token from one code flow.
struct Tokens {
    access: String,
    refresh: String,
}

/// Runs the code flow for `client` (public or confidential) and returns the
/// tokens.
async fn tokens_for(h: &Harness, client: &TestClient, extra: &str) -> Tokens {
    let params = h.code_for(client, extra).await;
    let code = param(&params, "code").unwrap().to_owned();
    let r = h.redeem_as(client, &code).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    Tokens {
        access: r.access_token().to_owned(),
        refresh: r.json["refresh_token"].as_str().unwrap().to_owned(),
    }
}

async fn refresh(h: &Harness, client: &TestClient, refresh: &str, extra: &str) -> Reply {
    h.post(refresh_request(client, refresh, extra)).await
}

/// A successful refresh: the new pair.
#[track_caller]
fn rotated(r: &Reply) -> Tokens {
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.assert_no_store();
    assert_eq!(r.json["token_type"], "Bearer");
    Tokens {
        access: r.access_token().to_owned(),
        refresh: r.json["refresh_token"].as_str().unwrap().to_owned(),
    }
}

/// A confidential web client for the code flow with refresh tokens.
async fn web_client(h: &Harness) -> TestClient {
    h.register(
        ClientRegistration::web_application()
            .redirect_uri("https://client.example/cb")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .scope("read write".parse().unwrap()),
    )
    .await
}

fn lifetimes_harness(lifetimes: TokenLifetimes) -> Harness {
    harness_with(|b| {
        b.grant(AuthorizationCodeGrant)
            .grant(RefreshTokenGrant)
            .token_lifetimes(lifetimes)
    })
}

// ---------------------------------------------------------------------------
// Rotation and reuse detection.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn every_refresh_rotates_and_reuse_of_any_old_token_revokes_the_grant() {
    let h = code_harness();
    let c = h.native_client().await;
    let first = tokens_for(&h, &c, "&scope=read%20write").await;

    let mut chain = vec![first];
    for _ in 0..3 {
        let next = rotated(&refresh(&h, &c, &chain.last().unwrap().refresh, "").await);
        assert!(next.refresh.starts_with("pc_rt_"));
        assert!(
            chain
                .iter()
                .all(|t| t.refresh != next.refresh && t.access != next.access)
        );
        chain.push(next);
    }
    // Rotation alone kills no access token.
    for t in &chain {
        assert!(alive(&h, &t.access).await);
    }
    let info = h
        .server
        .access_token_info(&chain[3].access)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.client_id.as_str(), c.id);
    assert_eq!(info.subject.unwrap().as_str(), "alice");
    assert_eq!(info.scope.to_string(), "read write");

    // The first, long rotated-out token comes back: the grant is revoked.
    refresh(&h, &c, &chain[0].refresh, "")
        .await
        .assert_error(400, "invalid_grant");
    for t in &chain {
        assert!(
            !alive(&h, &t.access).await,
            "an access token survived reuse"
        );
    }
    // Including the newest refresh token, which had never been used.
    refresh(&h, &c, &chain[3].refresh, "")
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn reuse_of_the_immediately_previous_token_revokes_the_grant() {
    let h = code_harness();
    let c = web_client(&h).await;
    let first = tokens_for(&h, &c, "").await;
    let second = rotated(&refresh(&h, &c, &first.refresh, "").await);

    // Another grant of the same client and user is not affected.
    let bystander = tokens_for(&h, &c, "").await;

    let r = refresh(&h, &c, &first.refresh, "").await;
    r.assert_error(400, "invalid_grant");
    assert_eq!(
        r.json["error_description"],
        "the refresh token was already used"
    );
    assert!(!alive(&h, &first.access).await);
    assert!(!alive(&h, &second.access).await);
    refresh(&h, &c, &second.refresh, "")
        .await
        .assert_error(400, "invalid_grant");

    assert!(alive(&h, &bystander.access).await);
    rotated(&refresh(&h, &c, &bystander.refresh, "").await);
}

/// 50 tasks refresh with one token at once, released together. Returns the
/// winners' tokens and the original pair, after checking that every loser got
/// `invalid_grant`.
async fn race_one_refresh_token(h: &Harness, c: &TestClient) -> (Vec<Tokens>, Tokens) {
    const TASKS: usize = 50;
    let original = tokens_for(h, c, "").await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(TASKS));
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let server = h.server.clone();
        let request = refresh_request(c, &original.refresh, "");
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            Reply::from(server.token_endpoint(request).await)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == 200 {
            winners.push(rotated(&r));
        } else {
            r.assert_error(400, "invalid_grant");
        }
    }
    (winners, original)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_with_one_token_yield_one_success_and_revoke_the_grant() {
    // `GrantContext::rotate`: of concurrent rotations of one token exactly one
    // wins the compare-and-swap (`GrantStore::rotate_refresh_token`); each
    // loser presents a token that is no longer current, which is
    // indistinguishable from reuse, so the grant is revoked (RFC 9700
    // §4.14.2) — the winner's fresh tokens included.
    //
    // Repeated, because the race this guards against was rare: the memory
    // store once flipped the token to rotated-out before storing the new
    // tokens, so a loser could revoke the grant in between and leave no
    // winner at all (about one race in a thousand).
    for round in 0..200 {
        let h = code_harness();
        let c = h.native_client().await;
        let (winners, original) = race_one_refresh_token(&h, &c).await;
        assert_eq!(
            winners.len(),
            1,
            "round {round}: {} refreshes succeeded",
            winners.len()
        );
        let winner = &winners[0];
        assert!(!alive(&h, &original.access).await);
        assert!(
            !alive(&h, &winner.access).await,
            "the grant survived the race"
        );
        refresh(&h, &c, &winner.refresh, "")
            .await
            .assert_error(400, "invalid_grant");
    }
}

// ---------------------------------------------------------------------------
// Binding to the client (RFC 6749 §6).
// ---------------------------------------------------------------------------

#[tokio::test]
async fn another_client_cannot_use_the_token_and_cannot_revoke_the_grant() {
    let h = code_harness();
    let owner = h.native_client().await;
    let public_other = h.native_client().await;
    let confidential_other = web_client(&h).await;
    let first = tokens_for(&h, &owner, "").await;

    for other in [&public_other, &confidential_other] {
        let r = refresh(&h, other, &first.refresh, "").await;
        r.assert_error(400, "invalid_grant");
        assert!(r.json.get("access_token").is_none());
    }
    // Nothing was rotated or revoked: the owner refreshes with the same token.
    assert!(alive(&h, &first.access).await);
    let second = rotated(&refresh(&h, &owner, &first.refresh, "").await);

    // Presenting a rotated-out token from another client is not "reuse" by
    // the owner either: the grant stays.
    for other in [&public_other, &confidential_other] {
        refresh(&h, other, &first.refresh, "")
            .await
            .assert_error(400, "invalid_grant");
    }
    assert!(alive(&h, &second.access).await);
    rotated(&refresh(&h, &owner, &second.refresh, "").await);
}

#[tokio::test]
async fn a_confidential_client_must_authenticate_to_refresh() {
    let h = code_harness();
    let c = web_client(&h).await;
    let t = tokens_for(&h, &c, "").await;
    let anonymous = TestClient {
        id: c.id.clone(),
        secret: String::new(),
    };
    refresh(&h, &anonymous, &t.refresh, "")
        .await
        .assert_error(400, "invalid_client");
    refresh(&h, &c.with_secret("wrong"), &t.refresh, "")
        .await
        .assert_error(401, "invalid_client");
    // Still current.
    rotated(&refresh(&h, &c, &t.refresh, "").await);
}

// ---------------------------------------------------------------------------
// Scope (RFC 6749 §6).
// ---------------------------------------------------------------------------

#[tokio::test]
async fn scope_may_be_narrowed_but_not_widened() {
    let h = code_harness();
    let c = h.native_client().await;
    let t = tokens_for(&h, &c, "&scope=read%20write").await;

    // Narrowed: the new access token has the narrower scope. It is the scope
    // requested, so the response may omit it (RFC 6749 §5.1).
    let r = refresh(&h, &c, &t.refresh, "&scope=read").await;
    let narrow = rotated(&r);
    assert!(r.json.get("scope").is_none_or(|s| s == "read"));
    let info = h
        .server
        .access_token_info(&narrow.access)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.scope.to_string(), "read");

    // Widening beyond the grant (but within the client's scope).
    let h = code_harness();
    let c = h.native_client().await;
    let t = tokens_for(&h, &c, "&scope=read").await;
    refresh(&h, &c, &t.refresh, "&scope=read%20write")
        .await
        .assert_error(400, "invalid_scope");
    refresh(&h, &c, &t.refresh, "&scope=write")
        .await
        .assert_error(400, "invalid_scope");
    // Beyond the client's scope altogether.
    refresh(&h, &c, &t.refresh, "&scope=admin")
        .await
        .assert_error(400, "invalid_scope");
    // A refused widening neither rotates nor revokes.
    assert!(alive(&h, &t.access).await);
    let r = refresh(&h, &c, &t.refresh, "").await;
    let next = rotated(&r);
    let info = h
        .server
        .access_token_info(&next.access)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.scope.to_string(), "read");
}

// RFC 6749 §6: "If a new refresh token is issued, the refresh token scope
// MUST be identical to that of the refresh token included by the client in
// the request", and an omitted `scope` "is treated as equal to the scope
// originally granted by the resource owner": narrowing one access token must
// not shrink the grant.
#[tokio::test]
async fn narrowing_one_refresh_does_not_narrow_the_refresh_token() {
    let h = code_harness();
    let c = h.native_client().await;
    let t = tokens_for(&h, &c, "&scope=read%20write").await;
    let narrow = rotated(&refresh(&h, &c, &t.refresh, "&scope=read").await);

    // Omitted scope: the originally granted scope.
    let r = refresh(&h, &c, &narrow.refresh, "").await;
    let back = rotated(&r);
    let info = h
        .server
        .access_token_info(&back.access)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.scope.to_string(), "read write");

    // And the original scope may be asked for explicitly.
    let narrow = rotated(&refresh(&h, &c, &back.refresh, "&scope=read").await);
    let r = refresh(&h, &c, &narrow.refresh, "&scope=read%20write").await;
    assert_eq!(r.status, 200, "{:?}", r.json);
}

// ---------------------------------------------------------------------------
// Lifetimes.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn an_unused_refresh_token_expires_after_the_idle_lifetime() {
    let h = lifetimes_harness(
        TokenLifetimes::default().with_refresh_token_idle(Duration::from_secs(3600)),
    );
    let c = h.native_client().await;
    let t = tokens_for(&h, &c, "").await;

    // Used within the idle lifetime: fine, and the new token gets a fresh
    // idle period.
    h.clock.advance(Duration::from_secs(3599));
    let next = rotated(&refresh(&h, &c, &t.refresh, "").await);
    h.clock.advance(Duration::from_secs(3599));
    let next = rotated(&refresh(&h, &c, &next.refresh, "").await);

    h.clock.advance(Duration::from_secs(3601));
    refresh(&h, &c, &next.refresh, "")
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn rotation_never_extends_the_grant() {
    // Idle 3600 s, absolute 7200 s: refreshing every 3000 s keeps each token
    // within its idle lifetime, but the third refresh, at 9000 s, is past the
    // grant's end.
    let h = lifetimes_harness(
        TokenLifetimes::default()
            .with_refresh_token_idle(Duration::from_secs(3600))
            .with_grant(Duration::from_secs(7200)),
    );
    let c = h.native_client().await;
    let mut t = tokens_for(&h, &c, "").await;
    for _ in 0..2 {
        h.clock.advance(Duration::from_secs(3000));
        t = rotated(&refresh(&h, &c, &t.refresh, "").await);
    }
    h.clock.advance(Duration::from_secs(3000));
    refresh(&h, &c, &t.refresh, "")
        .await
        .assert_error(400, "invalid_grant");
    assert!(!alive(&h, &t.access).await);
}

#[tokio::test]
async fn access_tokens_never_outlive_the_grant() {
    // Access tokens live 600 s, the grant 7200 s: one issued 300 s before the
    // grant ends says so in `expires_in` and dies with the grant.
    let h = lifetimes_harness(
        TokenLifetimes::default()
            .with_refresh_token_idle(Duration::from_secs(3600))
            .with_grant(Duration::from_secs(7200)),
    );
    let grant_end = start() + Duration::from_secs(7200);
    let c = h.native_client().await;
    let mut t = tokens_for(&h, &c, "").await;
    for at in [3000, 6000] {
        h.clock.set(start() + Duration::from_secs(at));
        let r = refresh(&h, &c, &t.refresh, "").await;
        t = rotated(&r);
        assert_eq!(r.json["expires_in"], 600);
    }
    h.clock.set(start() + Duration::from_secs(6900));
    let r = refresh(&h, &c, &t.refresh, "").await;
    let last = rotated(&r);
    assert_eq!(r.json["expires_in"], 300, "{:?}", r.json);
    let info = h
        .server
        .access_token_info(&last.access)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.expires_at, grant_end);

    h.clock.set(grant_end - Duration::from_secs(1));
    assert!(alive(&h, &last.access).await);
    h.clock.set(grant_end);
    assert!(!alive(&h, &last.access).await);
    refresh(&h, &c, &last.refresh, "")
        .await
        .assert_error(400, "invalid_grant");
}

// ---------------------------------------------------------------------------
// What is, and is not, a refresh token.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn client_credentials_never_yields_a_refresh_token() {
    // RFC 6749 §4.4.3: "A refresh token SHOULD NOT be included" — even for a
    // client registered for refresh_token on a server that serves it.
    let h = code_harness();
    let c = h
        .register(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .grant_type(GrantType::REFRESH_TOKEN)
                .scope("read write".parse().unwrap()),
        )
        .await;
    let r = h.post(cc_request(&c, "&scope=read")).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert!(r.json.get("refresh_token").is_none(), "{:?}", r.json);
}

#[tokio::test]
async fn a_refresh_token_is_not_an_access_token_and_vice_versa() {
    let h = code_harness();
    let c = h.native_client().await;
    let t = tokens_for(&h, &c, "").await;

    assert!(
        h.server
            .access_token_info(&t.refresh)
            .await
            .unwrap()
            .is_none()
    );
    // The same random body under the access token prefix is not a token
    // either.
    let disguised = t.refresh.replacen("pc_rt_", "pc_at_", 1);
    assert!(
        h.server
            .access_token_info(&disguised)
            .await
            .unwrap()
            .is_none()
    );

    // An access token as refresh_token; also disguised with the refresh prefix.
    refresh(&h, &c, &t.access, "")
        .await
        .assert_error(400, "invalid_grant");
    let disguised = t.access.replacen("pc_at_", "pc_rt_", 1);
    refresh(&h, &c, &disguised, "")
        .await
        .assert_error(400, "invalid_grant");

    // None of that counted as reuse: the grant is intact.
    assert!(alive(&h, &t.access).await);
    rotated(&refresh(&h, &c, &t.refresh, "").await);
}

#[tokio::test]
async fn malformed_or_missing_refresh_tokens() {
    let h = code_harness();
    let c = h.native_client().await;
    let t = tokens_for(&h, &c, "").await;
    for bad in [
        "x".to_owned(),
        "pc_rt_".to_owned(),
        format!("{}A", t.refresh),
        t.refresh[..t.refresh.len() - 1].to_owned(),
        format!("pc_rt_{}", "A".repeat(43)),
    ] {
        refresh(&h, &c, &bad, "")
            .await
            .assert_error(400, "invalid_grant");
    }
    let body = format!("grant_type=refresh_token&client_id={}", c.id);
    h.post(token_request(None, &body))
        .await
        .assert_error(400, "invalid_request");
    let body = format!("grant_type=refresh_token&refresh_token=&client_id={}", c.id);
    h.post(token_request(None, &body))
        .await
        .assert_error(400, "invalid_request");
    rotated(&refresh(&h, &c, &t.refresh, "").await);
}

#[tokio::test]
async fn the_refresh_grant_is_refused_when_not_served_or_not_registered() {
    // Served, but this client is not registered for it.
    let h = code_harness();
    let c = h.cc_client().await;
    let token = format!("pc_rt_{}", "A".repeat(43));
    refresh(&h, &c, &token, "")
        .await
        .assert_error(400, "unauthorized_client");

    // Not served at all.
    let h = harness_with(|b| b.grant(AuthorizationCodeGrant));
    let c = h.native_client().await;
    refresh(&h, &c, &token, "")
        .await
        .assert_error(400, "unsupported_grant_type");
}
