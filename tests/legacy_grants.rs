//! The resource owner password credentials grant (RFC 6749 §4.3): off unless
//! both the server and the client enable it, and throttled per user and per
//! client against online guessing (RFC 6819 §4.4.3.6, §5.1.4.2.3).
//!
//! The implicit grant has no token-endpoint side; it is covered with the
//! authorization endpoint.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

use portcullis::client::ClientRegistration;
use portcullis::grant::{PasswordGrant, RefreshTokenGrant, ResourceOwnerVerifier};
use portcullis::protocol::GrantType;
use portcullis::store::{StoreError, Subject};
use portcullis::token::TokenLifetimes;

/// The host's user store: two fixed users.
#[derive(Debug, Clone, Copy)]
struct Users;

impl ResourceOwnerVerifier for Users {
    async fn verify(&self, username: &str, password: &str) -> Result<Option<Subject>, StoreError> {
        let known = [("alice", "wonderland"), ("bob", "builder")];
        Ok(known
            .iter()
            .find(|(u, p)| *u == username && *p == password)
            .map(|(u, _)| Subject::new(&format!("user-{u}"))))
    }
}

/// A server serving the password grant (with the default throttling policy)
/// and the refresh token grant.
fn password_harness() -> Harness {
    harness_with(|b| b.grant(PasswordGrant::new(Users)).grant(RefreshTokenGrant))
}

/// A confidential client registered for the password grant, scope
/// `read write`, and for refresh tokens if `refresh`.
async fn password_client(h: &Harness, refresh: bool) -> TestClient {
    let mut registration = ClientRegistration::web_application()
        .grant_type(GrantType::PASSWORD)
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .scope("read write".parse().unwrap());
    if refresh {
        registration = registration.grant_type(GrantType::REFRESH_TOKEN);
    }
    h.register(registration).await
}

/// A password grant request by `client` (Basic); `creds` is the
/// username/password part of the body, e.g. `&username=alice&password=x`.
fn password_request(client: &TestClient, creds: &str) -> http::Request<Vec<u8>> {
    token_request(
        Some(&basic(&client.id, &client.secret)),
        &format!("grant_type=password{creds}"),
    )
}

fn login(user: &str, password: &str) -> String {
    format!(
        "&username={}&password={}",
        form_encode(user),
        form_encode(password)
    )
}

async fn attempt(h: &Harness, client: &TestClient, user: &str, password: &str) -> Reply {
    h.post(password_request(client, &login(user, password)))
        .await
}

/// A 429 from the password throttle: `invalid_grant`, no-store, and the
/// expected `Retry-After`.
#[track_caller]
fn assert_throttled(r: &Reply, retry_after: &str) {
    r.assert_error(429, "invalid_grant");
    assert_eq!(r.header("retry-after"), Some(retry_after));
    assert!(r.json.get("access_token").is_none());
}

// ---------------------------------------------------------------------------
// Off unless both server and client enable it.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_password_grant_is_off_by_default() {
    // Even a client registered for it gets nothing from a server that does
    // not serve it.
    for h in [harness(), code_harness()] {
        let c = password_client(&h, true).await;
        let r = attempt(&h, &c, "alice", "wonderland").await;
        r.assert_error(400, "unsupported_grant_type");
        assert_eq!(h.store.access_token_count(), 0);
    }
}

#[tokio::test]
async fn a_client_not_registered_for_the_password_grant_is_unauthorized() {
    let h = password_harness();
    let c = h.cc_client().await;
    let r = attempt(&h, &c, "alice", "wonderland").await;
    r.assert_error(400, "unauthorized_client");
    assert_eq!(h.store.access_token_count(), 0);
}

#[tokio::test]
async fn the_client_must_authenticate() {
    let h = password_harness();
    let c = password_client(&h, false).await;
    let r = attempt(&h, &c.with_secret("wrong"), "alice", "wonderland").await;
    r.assert_error(401, "invalid_client");
    let body = format!(
        "grant_type=password&client_id={}{}",
        c.id,
        login("alice", "wonderland")
    );
    h.post(token_request(None, &body))
        .await
        .assert_error(400, "invalid_client");
    assert_eq!(h.store.access_token_count(), 0);
}

// ---------------------------------------------------------------------------
// Success.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn right_credentials_yield_a_token_for_the_user_and_a_refresh_token() {
    let h = password_harness();
    let c = password_client(&h, true).await;
    let r = h
        .post(password_request(
            &c,
            &format!("{}&scope=read", login("alice", "wonderland")),
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.assert_no_store();
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["expires_in"], 600);
    let info = h
        .server
        .access_token_info(r.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.subject.as_ref().unwrap().as_str(), "user-alice");
    assert_eq!(info.client_id.as_str(), c.id);
    assert_eq!(info.scope.to_string(), "read");

    // The refresh token works and keeps the user.
    let refresh = r.json["refresh_token"].as_str().unwrap();
    assert!(refresh.starts_with("pc_rt_"));
    let r2 = h
        .post(token_request(
            Some(&basic(&c.id, &c.secret)),
            &format!("grant_type=refresh_token&refresh_token={refresh}"),
        ))
        .await;
    assert_eq!(r2.status, 200, "{:?}", r2.json);
    let info = h
        .server
        .access_token_info(r2.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.subject.unwrap().as_str(), "user-alice");
    assert_eq!(info.scope.to_string(), "read");
}

#[tokio::test]
async fn no_refresh_token_unless_both_client_and_server_allow_it() {
    // The client is not registered for refresh_token.
    let h = password_harness();
    let c = password_client(&h, false).await;
    let r = attempt(&h, &c, "alice", "wonderland").await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert!(r.json.get("refresh_token").is_none(), "{:?}", r.json);

    // The server does not serve the refresh token grant.
    let h = harness_with(|b| b.grant(PasswordGrant::new(Users)));
    let c = password_client(&h, true).await;
    let r = attempt(&h, &c, "alice", "wonderland").await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert!(r.json.get("refresh_token").is_none(), "{:?}", r.json);
}

#[tokio::test]
async fn scope_beyond_the_clients_is_invalid_scope() {
    let h = password_harness();
    let c = password_client(&h, false).await;
    let r = h
        .post(password_request(
            &c,
            &format!("{}&scope=admin", login("alice", "wonderland")),
        ))
        .await;
    r.assert_error(400, "invalid_scope");
}

// ---------------------------------------------------------------------------
// Failures.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn wrong_or_unknown_credentials_are_invalid_grant() {
    let h = password_harness();
    let c = password_client(&h, false).await;
    let wrong = attempt(&h, &c, "alice", "looking-glass").await;
    wrong.assert_error(400, "invalid_grant");
    // Another user's password, and an unknown user: the same answer, so
    // usernames cannot be enumerated.
    let crossed = attempt(&h, &c, "alice", "builder").await;
    crossed.assert_error(400, "invalid_grant");
    let unknown = attempt(&h, &c, "mallory", "wonderland").await;
    unknown.assert_error(400, "invalid_grant");
    assert_eq!(wrong.description(), unknown.description());
    assert_eq!(h.store.access_token_count(), 0);
}

#[tokio::test]
async fn missing_username_or_password_is_invalid_request() {
    let h = password_harness();
    let c = password_client(&h, false).await;
    for creds in [
        "",
        "&username=alice",
        "&password=wonderland",
        "&username=&password=wonderland",
        "&username=alice&password=",
    ] {
        h.post(password_request(&c, creds))
            .await
            .assert_error(400, "invalid_request");
    }
    // Repeated.
    h.post(password_request(
        &c,
        "&username=alice&username=bob&password=wonderland",
    ))
    .await
    .assert_error(400, "invalid_request");
    // None of these counted as a failed guess.
    assert_eq!(attempt(&h, &c, "alice", "wonderland").await.status, 200);
}

// ---------------------------------------------------------------------------
// Throttling (default policy: 5 failures cost nothing; the 6th imposes a 1 s
// wait, doubling with each further failure).
// ---------------------------------------------------------------------------

#[tokio::test]
async fn failures_for_one_user_are_throttled_even_with_the_right_password() {
    let h = password_harness();
    let c1 = password_client(&h, false).await;
    let c2 = password_client(&h, false).await;

    // Five free failures and the sixth are all checked.
    for _ in 0..6 {
        attempt(&h, &c1, "alice", "guess")
            .await
            .assert_error(400, "invalid_grant");
    }
    // Now alice must wait 1 s — from every client, even with her password,
    // which is not checked.
    assert_throttled(&attempt(&h, &c1, "alice", "wonderland").await, "1");
    assert_throttled(&attempt(&h, &c2, "alice", "wonderland").await, "1");

    // Another user from another client is unaffected.
    assert_eq!(attempt(&h, &c2, "bob", "builder").await.status, 200);
    // From the guessing client, the per-client limit has tripped as well.
    assert_throttled(&attempt(&h, &c1, "bob", "builder").await, "1");

    // After the wait, the right password works again.
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(attempt(&h, &c2, "alice", "wonderland").await.status, 200);

    // A success lifts the wait its own admission set, so alice is not kept
    // waiting by her own sign-in; but it does not wipe the record: the
    // failures before it still count, so the next failure is checked and
    // blocks for 2 s …
    attempt(&h, &c2, "alice", "guess")
        .await
        .assert_error(400, "invalid_grant");
    assert_throttled(&attempt(&h, &c2, "alice", "wonderland").await, "2");
    // … and after it, the next failure waits 4 s.
    h.clock.advance(Duration::from_secs(2));
    attempt(&h, &c2, "alice", "guess")
        .await
        .assert_error(400, "invalid_grant");
    assert_throttled(&attempt(&h, &c2, "alice", "wonderland").await, "4");

    // A quiet hour forgets it.
    h.clock.advance(Duration::from_secs(3600));
    assert_eq!(attempt(&h, &c1, "alice", "wonderland").await.status, 200);
}

/// Users whose password checks for `alice` wait until the test releases
/// them, as a slow password hash would keep them running.
#[derive(Clone)]
struct SlowUsers {
    checks: Arc<AtomicUsize>,
    release: Arc<Semaphore>,
}

impl ResourceOwnerVerifier for SlowUsers {
    async fn verify(&self, username: &str, password: &str) -> Result<Option<Subject>, StoreError> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        if username == "alice" {
            self.release.acquire().await.unwrap().forget();
        }
        Users.verify(username, password).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_sent_together_get_one_check_per_user() {
    let users = SlowUsers {
        checks: Arc::new(AtomicUsize::new(0)),
        release: Arc::new(Semaphore::new(0)),
    };
    let h = harness_with(|b| b.grant(PasswordGrant::new(users.clone())));
    let c = password_client(&h, false).await;

    // A guess for alice is being checked …
    let server = h.server.clone();
    let request = password_request(&c, &login("alice", "guess"));
    let first = tokio::spawn(async move { Reply::from(server.token_endpoint(request).await) });
    while users.checks.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    // … so every other request for her, sent meanwhile, is refused without a
    // check, however many there are and whatever password they carry.
    let mut others = Vec::new();
    for password in ["guess2", "guess3", "wonderland"].repeat(10) {
        let server = h.server.clone();
        let request = password_request(&c, &login("alice", password));
        others.push(tokio::spawn(async move {
            Reply::from(server.token_endpoint(request).await)
        }));
    }
    for other in others {
        // Refused at once: a request that reached the check would wait for
        // the release, and time out here.
        let reply = tokio::time::timeout(Duration::from_secs(10), other)
            .await
            .expect("a concurrent request for the same user was checked")
            .unwrap();
        assert_throttled(&reply, "1");
    }
    assert_eq!(users.checks.load(Ordering::SeqCst), 1);
    // Another user is not held up.
    assert_eq!(attempt(&h, &c, "bob", "builder").await.status, 200);

    // The first check ends (a failure); alice's next request is checked.
    users.release.add_permits(2);
    first.await.unwrap().assert_error(400, "invalid_grant");
    assert_eq!(attempt(&h, &c, "alice", "wonderland").await.status, 200);
    assert_eq!(users.checks.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn failures_across_many_users_from_one_client_throttle_that_client() {
    // Spraying one password over many usernames (RFC 6819 §4.4.3.6) trips the
    // per-client limit even though no single user has failed twice.
    let h = password_harness();
    let sprayer = password_client(&h, false).await;
    let other = password_client(&h, false).await;

    let mut refused_at = None;
    for i in 0..20 {
        let r = attempt(&h, &sprayer, &format!("user{i}"), "password1").await;
        if r.status == 429 {
            assert_throttled(&r, "1");
            refused_at = Some(i);
            break;
        }
        r.assert_error(400, "invalid_grant");
    }
    assert_eq!(refused_at, Some(6), "the 7th attempt should be refused");

    // Users who never failed are refused from the sprayer …
    assert_throttled(&attempt(&h, &sprayer, "alice", "wonderland").await, "1");
    // … but not from another client.
    assert_eq!(attempt(&h, &other, "alice", "wonderland").await.status, 200);
    // Nor is the sprayer's own client authentication throttled: that is a
    // separate limiter, and its secret was right every time.
    let r = h.post(cc_request(&sprayer, "&scope=read")).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
}

// ---------------------------------------------------------------------------
// Lifetimes.
// ---------------------------------------------------------------------------

// RFC 6749 §5.1: `expires_in` is the lifetime of the access token. The first
// access token of a password grant, like every token minted later under the
// grant, must not outlive the grant's absolute lifetime — nor claim to.
#[tokio::test]
async fn the_first_access_token_does_not_outlive_its_grant() {
    let h = harness_with(|b| {
        b.grant(PasswordGrant::new(Users))
            .grant(RefreshTokenGrant)
            .token_lifetimes(TokenLifetimes::default().with_grant(Duration::from_secs(300)))
    });
    let c = password_client(&h, true).await;
    let r = attempt(&h, &c, "alice", "wonderland").await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let grant_end = start() + Duration::from_secs(300);
    // The token dies with the grant …
    h.clock.set(grant_end);
    assert!(
        h.server
            .access_token_info(r.access_token())
            .await
            .unwrap()
            .is_none()
    );
    h.clock.set(start());
    // … and the client and the resource server are told so.
    assert_eq!(r.json["expires_in"], 300, "{:?}", r.json);
    let info = h
        .server
        .access_token_info(r.access_token())
        .await
        .unwrap()
        .unwrap();
    assert!(info.expires_at <= grant_end, "{:?}", info.expires_at);
}
