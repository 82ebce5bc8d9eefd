//! The device authorization grant (RFC 8628), end to end through the public
//! API: the device authorization endpoint, the verification page's lookup and
//! decision, and polling at the token endpoint.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use common::*;
use http::Request;
use portcullis::client::{ClientId, ClientRegistration, ThrottlePolicy};
use portcullis::endpoint::{DecisionError, PendingDeviceAuthorization, UserCodeError};
use portcullis::grant::{DeviceCodeGrant, RefreshTokenGrant};
use portcullis::protocol::{GrantType, Scope};
use portcullis::store::{
    AccessTokenRecord, DeviceAuthorizationRecord, DeviceAuthorizationStore, DeviceCollection,
    DeviceDecision, DeviceStatus, FoundRefreshToken, GrantId, GrantRecord, GrantStore, MemoryStore,
    NewGrant, PlannedToken, PolledDeviceCode, RefreshRotation, Rotation, StoreError,
};
use portcullis::token::{TokenHash, TokenKind, USER_CODE_ALPHABET};
use portcullis::{AuthorizationServer, ServerBuilder};

const DEVICE_GRANT: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code";

/// A server serving the device code and refresh token grants (and client
/// credentials, from the common harness).
fn device_harness() -> Harness {
    device_harness_with(|b| b)
}

fn device_harness_with(customise: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Harness {
    harness_with(|b| customise(b.grant(DeviceCodeGrant).grant(RefreshTokenGrant)))
}

/// A public native client (a TV app) for the device grant, with refresh
/// tokens, scope `read write`.
async fn tv(h: &Harness) -> TestClient {
    h.register(
        ClientRegistration::native()
            .name("Living-room TV")
            .grant_type(GrantType::DEVICE_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .scope("read write".parse().unwrap()),
    )
    .await
}

/// A confidential client for the device grant (a device with a provisioned
/// secret), with refresh tokens, scope `read write`.
async fn appliance(h: &Harness) -> TestClient {
    h.register(
        ClientRegistration::web_application()
            .grant_type(GrantType::DEVICE_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .scope("read write".parse().unwrap()),
    )
    .await
}

/// A POST to the device authorization endpoint as `client` sends it: Basic
/// for a confidential client, `client_id` in the body for a public one.
fn device_request(client: &TestClient, extra: &str) -> Request<Vec<u8>> {
    let (authorization, body) = if client.secret.is_empty() {
        (None, format!("client_id={}{extra}", client.id))
    } else {
        (
            Some(basic(&client.id, &client.secret)),
            extra.trim_start_matches('&').to_owned(),
        )
    };
    let mut b = Request::post("https://auth.example/device_authorization")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(a) = authorization {
        b = b.header("authorization", a);
    }
    b.body(body.into_bytes()).unwrap()
}

/// A poll of the token endpoint with `device_code`, as `client` sends it.
fn poll_request(client: &TestClient, device_code: &str) -> Request<Vec<u8>> {
    if client.secret.is_empty() {
        token_request(
            None,
            &format!(
                "grant_type={DEVICE_GRANT}&device_code={device_code}&client_id={}",
                client.id
            ),
        )
    } else {
        token_request(
            Some(&basic(&client.id, &client.secret)),
            &format!("grant_type={DEVICE_GRANT}&device_code={device_code}"),
        )
    }
}

/// The device's side: codes from the device authorization endpoint.
struct Device {
    device_code: String,
    user_code: String,
}

impl Harness {
    async fn device_endpoint(&self, request: Request<Vec<u8>>) -> Reply {
        Reply::from(self.server.device_authorization_endpoint(request).await)
    }

    /// Starts a device authorization for `client`; `extra` is appended to the
    /// body.
    async fn start_device(&self, client: &TestClient, extra: &str) -> Device {
        let r = self.device_endpoint(device_request(client, extra)).await;
        assert_eq!(r.status, 200, "{:?}", r.json);
        Device {
            device_code: r.json["device_code"].as_str().unwrap().to_owned(),
            user_code: r.json["user_code"].as_str().unwrap().to_owned(),
        }
    }

    async fn poll(&self, client: &TestClient, device: &Device) -> Reply {
        self.post(poll_request(client, &device.device_code)).await
    }

    /// The verification page's lookup, throttled by the session `s1`.
    async fn lookup(&self, user_code: &str) -> Result<PendingDeviceAuthorization, UserCodeError> {
        self.server
            .pending_device_authorization(user_code, &["session:s1"])
            .await
    }

    /// The user `subject` approves the device showing `user_code`.
    async fn approve(&self, user_code: &str, subject: &str) {
        let pending = self.lookup(user_code).await.unwrap();
        self.server
            .approve_device(pending, subject, None)
            .await
            .unwrap();
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

// ---------------------------------------------------------------------------
// The flow.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn device_flow_end_to_end_with_a_public_client() {
    let h = device_harness();
    let c = tv(&h).await;
    let device = h.start_device(&c, "&scope=read").await;

    // Nobody has decided: pending. The first poll is never too fast.
    h.poll(&c, &device)
        .await
        .assert_error(400, "authorization_pending");
    // Polling again at once is too fast: slow_down (RFC 8628 §3.5).
    h.clock.advance(secs(1));
    let r = h.poll(&c, &device).await;
    r.assert_error(400, "slow_down");
    assert!(
        r.description().contains("10 seconds"),
        "{}",
        r.description()
    );
    // Waiting the new interval (5 + 5 s) is fine again.
    h.clock.advance(secs(10));
    h.poll(&c, &device)
        .await
        .assert_error(400, "authorization_pending");

    // The user types the code on the verification page and approves.
    let typed = device.user_code.to_lowercase().replace('-', "");
    let pending = h.lookup(&typed).await.unwrap();
    assert_eq!(pending.client().name(), Some("Living-room TV"));
    assert_eq!(pending.client().id().as_str(), c.id);
    assert_eq!(pending.scope().to_string(), "read");
    assert_eq!(pending.user_code(), device.user_code);
    assert_eq!(pending.expires_at(), start() + secs(600));
    h.server
        .approve_device(pending, "alice", None)
        .await
        .unwrap();

    // The next poll gets tokens for alice.
    h.clock.advance(secs(10));
    let r = h.poll(&c, &device).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.assert_no_store();
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["scope"], "read");
    let access = r.access_token().to_owned();
    let refresh = r.json["refresh_token"].as_str().unwrap().to_owned();
    let info = h.server.access_token_info(&access).await.unwrap().unwrap();
    assert_eq!(info.subject.unwrap().as_str(), "alice");
    assert_eq!(info.client_id.as_str(), c.id);
    assert_eq!(info.scope.to_string(), "read");

    // The refresh token works, and rotates.
    let r2 = h.post(refresh_request(&c, &refresh, "")).await;
    assert_eq!(r2.status, 200, "{:?}", r2.json);
    let access2 = r2.access_token().to_owned();
    assert!(alive(&h, &access2).await);

    // The device code is spent: a replay is invalid_grant, and revokes the
    // grant with every token issued from it.
    h.clock.advance(secs(10));
    h.poll(&c, &device).await.assert_error(400, "invalid_grant");
    assert!(!alive(&h, &access).await);
    assert!(!alive(&h, &access2).await);
    let refresh2 = r2.json["refresh_token"].as_str().unwrap();
    h.post(refresh_request(&c, refresh2, ""))
        .await
        .assert_error(400, "invalid_grant");
    // And the user code is no longer pending.
    assert!(matches!(
        h.lookup(&device.user_code).await,
        Err(UserCodeError::NotFound)
    ));
}

#[tokio::test]
async fn device_flow_with_a_confidential_client() {
    let h = device_harness();
    let c = appliance(&h).await;
    let device = h.start_device(&c, "").await;

    // The client must authenticate to poll, as at any token request.
    let unauthenticated = token_request(
        None,
        &format!(
            "grant_type={DEVICE_GRANT}&device_code={}&client_id={}",
            device.device_code, c.id
        ),
    );
    h.post(unauthenticated)
        .await
        .assert_error(400, "invalid_client");
    let wrong_secret = poll_request(&c.with_secret("guess"), &device.device_code);
    let r = h.post(wrong_secret).await;
    r.assert_error(401, "invalid_client");
    assert!(r.header("www-authenticate").is_some());

    h.poll(&c, &device)
        .await
        .assert_error(400, "authorization_pending");
    h.approve(&device.user_code, "bob").await;
    let r = h.poll(&c, &device).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert!(r.json["refresh_token"].is_string());
    // Omitted scope: the client's default scope (empty here), so no scope in
    // the response.
    assert!(r.json.get("scope").is_none(), "{:?}", r.json);
    let info = h
        .server
        .access_token_info(r.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.subject.unwrap().as_str(), "bob");
}

#[tokio::test]
async fn a_confidential_client_must_authenticate_at_the_device_endpoint() {
    let h = device_harness();
    let c = appliance(&h).await;
    // Only its client_id: a public client's way, not this client's method.
    let r = h
        .device_endpoint(device_request(
            &TestClient {
                id: c.id.clone(),
                secret: String::new(),
            },
            "",
        ))
        .await;
    r.assert_error(400, "invalid_client");
    let r = h
        .device_endpoint(device_request(&c.with_secret("guess"), ""))
        .await;
    r.assert_error(401, "invalid_client");
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"https://auth.example\"")
    );
    // An unknown client.
    let r = h
        .device_endpoint(device_request(
            &TestClient {
                id: "nobody".into(),
                secret: String::new(),
            },
            "",
        ))
        .await;
    r.assert_error(400, "invalid_client");
}

#[tokio::test]
async fn response_members_and_headers() {
    let h = device_harness();
    let c = tv(&h).await;
    let r = h.device_endpoint(device_request(&c, "&scope=read")).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.assert_no_store();
    assert_eq!(r.header("content-type"), Some("application/json"));

    let device_code = r.json["device_code"].as_str().unwrap();
    assert!(TokenKind::DeviceCode.matches(device_code), "{device_code}");
    assert!(device_code.starts_with("pc_dc_"));
    let user_code = r.json["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    for (i, ch) in user_code.chars().enumerate() {
        if i == 4 {
            assert_eq!(ch, '-');
        } else {
            assert!(USER_CODE_ALPHABET.contains(ch), "{user_code}");
        }
    }
    assert_eq!(r.json["verification_uri"], "https://auth.example/device");
    assert_eq!(
        r.json["verification_uri_complete"],
        format!("https://auth.example/device?user_code={user_code}")
    );
    assert_eq!(r.json["expires_in"], 600);
    assert_eq!(r.json["interval"], 5);
    // Exactly the members of RFC 8628 §3.2.
    assert_eq!(r.json.as_object().unwrap().len(), 6, "{:?}", r.json);

    // Every request gets fresh codes.
    let again = h.device_endpoint(device_request(&c, "&scope=read")).await;
    assert_ne!(again.json["device_code"], r.json["device_code"]);
    assert_ne!(again.json["user_code"], r.json["user_code"]);
}

#[tokio::test]
async fn verification_uri_lifetime_and_interval_are_configurable() {
    let h = device_harness_with(|b| {
        b.device_verification_uri("https://example.com/activate")
            .device_code_lifetime(secs(900))
            .device_polling_interval(secs(8))
    });
    let c = tv(&h).await;
    let r = h.device_endpoint(device_request(&c, "")).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["verification_uri"], "https://example.com/activate");
    let user_code = r.json["user_code"].as_str().unwrap();
    assert_eq!(
        r.json["verification_uri_complete"],
        format!("https://example.com/activate?user_code={user_code}")
    );
    assert_eq!(r.json["expires_in"], 900);
    assert_eq!(r.json["interval"], 8);
    let device = Device {
        device_code: r.json["device_code"].as_str().unwrap().to_owned(),
        user_code: user_code.to_owned(),
    };
    h.poll(&c, &device)
        .await
        .assert_error(400, "authorization_pending");
    // 7 s is under the configured 8 s.
    h.clock.advance(secs(7));
    h.poll(&c, &device).await.assert_error(400, "slow_down");
    // Alive at 899 s, expired at 900 s.
    h.clock.set(start() + secs(899));
    h.poll(&c, &device)
        .await
        .assert_error(400, "authorization_pending");
    h.clock.set(start() + secs(900));
    h.poll(&c, &device).await.assert_error(400, "expired_token");

    for bad in [
        "http://example.com/device",
        "https://example.com/d#x",
        "device",
    ] {
        let built = AuthorizationServer::builder(ISSUER)
            .clients(MemoryStore::new())
            .tokens(MemoryStore::new())
            .device_verification_uri(bad)
            .build();
        assert!(
            matches!(built, Err(portcullis::BuildError::InvalidDeviceFlow(_))),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn lifetimes_past_the_clock_fail_the_build_rather_than_every_request() {
    // A lifetime `SystemTime` cannot add to `now`, or an interval that
    // overflows when rounded up for the response, used to build and then
    // panic on every device authorization request.
    for (lifetime, interval) in [
        (Duration::MAX, secs(5)),
        (secs(600), Duration::MAX),
        (Duration::from_secs(86_400 + 1), secs(5)),
        (secs(600), secs(601)),
    ] {
        let built = AuthorizationServer::builder(ISSUER)
            .clients(MemoryStore::new())
            .tokens(MemoryStore::new())
            .grant(DeviceCodeGrant)
            .device_code_lifetime(lifetime)
            .device_polling_interval(interval)
            .build();
        assert!(
            matches!(built, Err(portcullis::BuildError::InvalidDeviceFlow(_))),
            "{lifetime:?} {interval:?}"
        );
    }
    // The bounds themselves are accepted.
    assert!(
        AuthorizationServer::builder(ISSUER)
            .clients(MemoryStore::new())
            .tokens(MemoryStore::new())
            .grant(DeviceCodeGrant)
            .device_code_lifetime(Duration::from_secs(86_400))
            .device_polling_interval(Duration::from_secs(86_400))
            .build()
            .is_ok()
    );
}

// ---------------------------------------------------------------------------
// Polling (RFC 8628 §3.5).
// ---------------------------------------------------------------------------

#[tokio::test]
async fn each_poll_too_soon_grows_the_interval_by_five_seconds() {
    let h = device_harness();
    let c = tv(&h).await;
    let device = h.start_device(&c, "").await;
    h.poll(&c, &device)
        .await
        .assert_error(400, "authorization_pending");
    // 4 s < 5 s: slow_down, interval now 10 s.
    h.clock.advance(secs(4));
    let r = h.poll(&c, &device).await;
    r.assert_error(400, "slow_down");
    assert!(r.description().contains("10 seconds"));
    // 9 s < 10 s: slow_down again, interval now 15 s ("for this and all
    // subsequent requests").
    h.clock.advance(secs(9));
    let r = h.poll(&c, &device).await;
    r.assert_error(400, "slow_down");
    assert!(r.description().contains("15 seconds"));
    // 14 s < 15 s.
    h.clock.advance(secs(14));
    h.poll(&c, &device).await.assert_error(400, "slow_down");
    // A device that keeps to the grown interval (now 20 s) is fine, and the
    // interval stays where it is.
    for _ in 0..3 {
        h.clock.advance(secs(20));
        h.poll(&c, &device)
            .await
            .assert_error(400, "authorization_pending");
    }
}

#[tokio::test]
async fn approval_is_collected_even_by_an_early_poll() {
    // slow_down is a kind of "still pending" (§3.5): once the user approved,
    // the next poll gets the tokens whenever it comes.
    let h = device_harness();
    let c = tv(&h).await;
    let device = h.start_device(&c, "").await;
    h.poll(&c, &device)
        .await
        .assert_error(400, "authorization_pending");
    h.approve(&device.user_code, "alice").await;
    let r = h.poll(&c, &device).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
}

#[tokio::test]
async fn denial_is_access_denied() {
    let h = device_harness();
    let c = tv(&h).await;
    let device = h.start_device(&c, "").await;
    let pending = h.lookup(&device.user_code).await.unwrap();
    h.server.deny_device(pending).await.unwrap();

    // Whenever the device polls next, and after.
    h.poll(&c, &device).await.assert_error(400, "access_denied");
    h.poll(&c, &device).await.assert_error(400, "access_denied");
    h.clock.advance(secs(30));
    h.poll(&c, &device).await.assert_error(400, "access_denied");
    // Nothing was issued, and the code cannot be approved any more.
    assert_eq!(h.store.access_token_count(), 0);
    assert!(matches!(
        h.lookup(&device.user_code).await,
        Err(UserCodeError::NotFound)
    ));
}

#[tokio::test]
async fn a_decision_is_applied_once() {
    let h = device_harness();
    let c = tv(&h).await;
    let device = h.start_device(&c, "").await;
    // Two tabs of the verification page looked the code up.
    let first = h.lookup(&device.user_code).await.unwrap();
    let second = h.lookup(&device.user_code).await.unwrap();
    h.server.deny_device(first).await.unwrap();
    assert!(matches!(
        h.server.approve_device(second, "mallory", None).await,
        Err(DecisionError::NotPending)
    ));
    h.poll(&c, &device).await.assert_error(400, "access_denied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_decisions_apply_exactly_one() {
    for _ in 0..20 {
        let h = device_harness();
        let c = tv(&h).await;
        let device = h.start_device(&c, "").await;
        let mut lookups = Vec::new();
        for _ in 0..8 {
            lookups.push(h.lookup(&device.user_code).await.unwrap());
        }
        let barrier = Arc::new(tokio::sync::Barrier::new(lookups.len()));
        let mut tasks = Vec::new();
        for (i, pending) in lookups.into_iter().enumerate() {
            let server = h.server.clone();
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                if i % 2 == 0 {
                    server.approve_device(pending, "alice", None).await
                } else {
                    server.deny_device(pending).await
                }
            }));
        }
        let mut decided = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => decided += 1,
                Err(e) => assert!(matches!(e, DecisionError::NotPending), "{e:?}"),
            }
        }
        assert_eq!(decided, 1);
    }
}

#[tokio::test]
async fn expiry_is_expired_token() {
    let h = device_harness();
    let c = tv(&h).await;
    let undecided = h.start_device(&c, "").await;
    let approved = h.start_device(&c, "").await;
    h.approve(&approved.user_code, "alice").await;
    let denied = h.start_device(&c, "").await;
    let pending = h.lookup(&denied.user_code).await.unwrap();
    h.server.deny_device(pending).await.unwrap();

    h.clock.advance(secs(599));
    h.poll(&c, &undecided)
        .await
        .assert_error(400, "authorization_pending");
    h.clock.advance(secs(1));
    // Expiry ends every session, approved but uncollected ones too.
    for device in [&undecided, &approved, &denied] {
        h.poll(&c, device).await.assert_error(400, "expired_token");
    }
    assert_eq!(h.store.access_token_count(), 0);
    // The verification page says so too, and cannot approve it.
    assert!(matches!(
        h.lookup(&undecided.user_code).await,
        Err(UserCodeError::Expired)
    ));
}

#[tokio::test]
async fn a_decision_after_expiry_is_refused() {
    let h = device_harness();
    let c = tv(&h).await;
    let device = h.start_device(&c, "").await;
    let pending = h.lookup(&device.user_code).await.unwrap();
    h.clock.advance(secs(600));
    assert!(matches!(
        h.server.approve_device(pending, "alice", None).await,
        Err(DecisionError::NotPending)
    ));
    h.poll(&c, &device).await.assert_error(400, "expired_token");
}

#[tokio::test]
async fn purge_drops_expired_device_authorizations() {
    let h = device_harness();
    let c = tv(&h).await;
    let device = h.start_device(&c, "").await;
    h.clock.advance(secs(600));
    assert!(h.server.purge_expired().await.unwrap() >= 1);
    // Gone: the code is now simply unknown.
    h.poll(&c, &device).await.assert_error(400, "invalid_grant");
    assert!(matches!(
        h.lookup(&device.user_code).await,
        Err(UserCodeError::NotFound)
    ));
}

#[tokio::test]
async fn no_refresh_token_unless_the_client_is_registered_for_it() {
    let h = device_harness();
    let c = h
        .register(
            ClientRegistration::native()
                .grant_type(GrantType::DEVICE_CODE)
                .scope("read".parse().unwrap()),
        )
        .await;
    let device = h.start_device(&c, "&scope=read").await;
    h.approve(&device.user_code, "alice").await;
    let r = h.poll(&c, &device).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert!(r.json.get("refresh_token").is_none(), "{:?}", r.json);
    // A grant without a refresh token lives as long as its access token.
    let info = h
        .server
        .access_token_info(r.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.expires_at, start() + secs(600));
}

#[tokio::test]
async fn no_refresh_token_unless_the_server_serves_the_refresh_grant() {
    let h = harness_with(|b| b.grant(DeviceCodeGrant));
    let c = tv(&h).await;
    let device = h.start_device(&c, "").await;
    h.approve(&device.user_code, "alice").await;
    let r = h.poll(&c, &device).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert!(r.json.get("refresh_token").is_none(), "{:?}", r.json);
}

// ---------------------------------------------------------------------------
// Scope.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn scope_must_be_within_the_clients() {
    let h = device_harness();
    let c = tv(&h).await;
    h.device_endpoint(device_request(&c, "&scope=read+admin"))
        .await
        .assert_error(400, "invalid_scope");
    h.device_endpoint(device_request(&c, "&scope=%22quoted%22"))
        .await
        .assert_error(400, "invalid_scope");
}

#[tokio::test]
async fn omitted_scope_gets_the_clients_default_scope() {
    let h = device_harness();
    let c = h
        .register(
            ClientRegistration::native()
                .grant_type(GrantType::DEVICE_CODE)
                .scope("read write".parse().unwrap())
                .default_scope("read".parse().unwrap()),
        )
        .await;
    let device = h.start_device(&c, "").await;
    let pending = h.lookup(&device.user_code).await.unwrap();
    assert_eq!(pending.scope().to_string(), "read");
    h.server
        .approve_device(pending, "alice", None)
        .await
        .unwrap();
    let r = h.poll(&c, &device).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    // The client asked for no scope: the response says what it got.
    assert_eq!(r.json["scope"], "read");
}

#[tokio::test]
async fn approval_may_narrow_the_scope_but_not_widen_it() {
    let h = device_harness();
    let c = tv(&h).await;
    let device = h.start_device(&c, "&scope=read+write").await;

    // Wider than asked: refused, and the authorization is still pending.
    let pending = h.lookup(&device.user_code).await.unwrap();
    let wider = "read write admin".parse().unwrap();
    assert!(matches!(
        h.server.approve_device(pending, "alice", Some(wider)).await,
        Err(DecisionError::ScopeNotRequested)
    ));
    let pending = h.lookup(&device.user_code).await.unwrap();
    h.server
        .approve_device(pending, "alice", Some("read".parse().unwrap()))
        .await
        .unwrap();
    let r = h.poll(&c, &device).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    // RFC 6749 §5.1: scope differs from the request, so it is in the response.
    assert_eq!(r.json["scope"], "read");
    let info = h
        .server
        .access_token_info(r.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.scope.to_string(), "read");
}

// ---------------------------------------------------------------------------
// User codes (RFC 8628 §5.1, §6.1).
// ---------------------------------------------------------------------------

#[tokio::test]
async fn user_codes_are_normalised() {
    let h = device_harness();
    let c = tv(&h).await;
    let device = h.start_device(&c, "").await;
    let code = device.user_code.clone();
    let spellings = [
        code.clone(),
        code.to_lowercase(),
        code.replace('-', ""),
        code.to_lowercase().replace('-', ""),
        format!(" {} ", code.replace('-', " ")),
    ];
    for spelling in &spellings {
        let pending = h.lookup(spelling).await.unwrap();
        // Shown normalised, to compare with the device's screen.
        assert_eq!(pending.user_code(), code, "{spelling:?}");
    }
}

#[tokio::test]
async fn unknown_or_malformed_user_codes_are_not_found() {
    let h = device_harness();
    let c = tv(&h).await;
    let device = h.start_device(&c, "").await;
    let other = if device.user_code.starts_with('B') {
        "CCCC-CCCC"
    } else {
        "BBBB-BBBB"
    };
    let wrong_letter = format!("{}A", &device.user_code[..8]); // A vowel.
    for input in [other, "", "WDJB-MJH", "1234-5678", wrong_letter.as_str()] {
        assert!(
            matches!(h.lookup(input).await, Err(UserCodeError::NotFound)),
            "{input:?}"
        );
    }
    // The device code is no user code.
    assert!(matches!(
        h.lookup(&device.device_code).await,
        Err(UserCodeError::NotFound)
    ));
}

#[tokio::test]
async fn failed_lookups_are_throttled_per_key() {
    let h = device_harness_with(|b| {
        b.user_code_throttle_policy(
            ThrottlePolicy::default()
                .with_allowed_failures(3)
                .with_initial_delay(secs(2))
                .with_max_delay(secs(60)),
        )
    });
    let c = tv(&h).await;
    let device = h.start_device(&c, "").await;
    let wrong = if device.user_code.starts_with('B') {
        "CCCC-CCCC"
    } else {
        "BBBB-BBBB"
    };
    let lookup = |code: &'static str, keys: &'static [&'static str]| {
        let server = h.server.clone();
        async move { server.pending_device_authorization(code, keys).await }
    };
    // Three free failures, then the fourth blocks the key for 2 s.
    for _ in 0..4 {
        assert!(matches!(
            lookup(wrong, &["ip:203.0.113.9"]).await,
            Err(UserCodeError::NotFound)
        ));
    }
    // Now even the right code is refused for that key, unchecked.
    let right = h
        .server
        .pending_device_authorization(&device.user_code, &["ip:203.0.113.9"])
        .await;
    match right {
        Err(UserCodeError::Throttled { retry_after }) => assert_eq!(retry_after, secs(2)),
        other => panic!("{other:?}"),
    }
    // A request carrying the blocked key among others is refused too.
    assert!(matches!(
        h.server
            .pending_device_authorization(&device.user_code, &["user:7", "ip:203.0.113.9"])
            .await,
        Err(UserCodeError::Throttled { .. })
    ));
    // Another key is not affected.
    h.server
        .pending_device_authorization(&device.user_code, &["ip:198.51.100.1"])
        .await
        .unwrap();
    // After the wait, one more attempt; failing it doubles the wait.
    h.clock.advance(secs(2));
    assert!(matches!(
        lookup(wrong, &["ip:203.0.113.9"]).await,
        Err(UserCodeError::NotFound)
    ));
    assert!(matches!(
        lookup(wrong, &["ip:203.0.113.9"]).await,
        Err(UserCodeError::Throttled { retry_after }) if retry_after == secs(4)
    ));
    h.clock.advance(secs(4));
    h.server
        .pending_device_authorization(&device.user_code, &["ip:203.0.113.9"])
        .await
        .unwrap();
    // Lookups are never unthrottled.
    assert!(matches!(
        h.server
            .pending_device_authorization(&device.user_code, &[])
            .await,
        Err(UserCodeError::NoThrottleKey)
    ));
}

#[tokio::test]
async fn failures_count_against_every_key_and_the_default_policy_applies() {
    let h = device_harness();
    let c = tv(&h).await;
    let device = h.start_device(&c, "").await;
    // Default: 5 free failures, then a wait of 1 s.
    for _ in 0..6 {
        assert!(matches!(
            h.server
                .pending_device_authorization("BBBB-BBBA", &["user:7", "ip:203.0.113.9"])
                .await,
            Err(UserCodeError::NotFound)
        ));
    }
    for key in ["user:7", "ip:203.0.113.9"] {
        assert!(
            matches!(
                h.server
                    .pending_device_authorization(&device.user_code, &[key])
                    .await,
                Err(UserCodeError::Throttled { retry_after }) if retry_after == secs(1)
            ),
            "{key}"
        );
    }
}

#[tokio::test]
async fn the_user_code_limiter_has_its_own_policy() {
    // Client authentication throttles at the first failure here; user-code
    // lookups keep their default of 5 free failures.
    let h = device_harness_with(|b| {
        b.throttle_policy(ThrottlePolicy::default().with_allowed_failures(0))
    });
    let c = tv(&h).await;
    let device = h.start_device(&c, "").await;
    for _ in 0..5 {
        assert!(matches!(
            h.lookup("BBBB-BBBA").await,
            Err(UserCodeError::NotFound)
        ));
    }
    h.lookup(&device.user_code).await.unwrap();

    // And the reverse: user-code lookups throttle at the first failure, and a
    // client's failed authentication still has the default's free failures.
    let h = device_harness_with(|b| {
        b.user_code_throttle_policy(ThrottlePolicy::default().with_allowed_failures(0))
    });
    let c = appliance(&h).await;
    let device = h.start_device(&c, "").await;
    for _ in 0..3 {
        h.post(poll_request(&c.with_secret("guess"), &device.device_code))
            .await
            .assert_error(401, "invalid_client");
    }
    h.poll(&c, &device)
        .await
        .assert_error(400, "authorization_pending");
    assert!(matches!(
        h.lookup("BBBB-BBBA").await,
        Err(UserCodeError::NotFound)
    ));
    assert!(matches!(
        h.lookup(&device.user_code).await,
        Err(UserCodeError::Throttled { .. })
    ));
}

// ---------------------------------------------------------------------------
// Binding and checks.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn another_clients_device_code_is_invalid_grant() {
    let h = device_harness();
    let owner = tv(&h).await;
    let other = tv(&h).await;
    let device = h.start_device(&owner, "").await;

    // Before approval: invalid_grant, and the owner's polling is untouched
    // (no slow_down from the other client's poll).
    h.post(poll_request(&other, &device.device_code))
        .await
        .assert_error(400, "invalid_grant");
    h.poll(&owner, &device)
        .await
        .assert_error(400, "authorization_pending");

    // After approval: still nothing for the other client …
    h.approve(&device.user_code, "alice").await;
    h.clock.advance(secs(5));
    h.post(poll_request(&other, &device.device_code))
        .await
        .assert_error(400, "invalid_grant");
    let r = h.poll(&owner, &device).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    // … and after redemption its "replay" revokes nothing.
    h.post(poll_request(&other, &device.device_code))
        .await
        .assert_error(400, "invalid_grant");
    assert!(alive(&h, r.access_token()).await);
}

#[tokio::test]
async fn a_client_not_registered_for_the_device_grant_is_unauthorized() {
    let h = device_harness();
    let cc = h.cc_client().await;
    h.device_endpoint(device_request(&cc, ""))
        .await
        .assert_error(400, "unauthorized_client");
    // Nor may it poll.
    let fake = format!("pc_dc_{}", "A".repeat(43));
    h.post(poll_request(&cc, &fake))
        .await
        .assert_error(400, "unauthorized_client");
}

#[tokio::test]
async fn a_server_without_the_device_grant_has_no_device_endpoint() {
    let h = harness();
    let c = tv(&h).await;
    h.device_endpoint(device_request(&c, ""))
        .await
        .assert_error(400, "unsupported_grant_type");
}

#[tokio::test]
async fn malformed_or_unknown_device_codes() {
    let h = device_harness();
    let c = tv(&h).await;
    let device = h.start_device(&c, "").await;
    // Missing.
    h.post(token_request(
        None,
        &format!("grant_type={DEVICE_GRANT}&client_id={}", c.id),
    ))
    .await
    .assert_error(400, "invalid_request");
    // Repeated.
    let code = &device.device_code;
    h.post(token_request(
        None,
        &format!(
            "grant_type={DEVICE_GRANT}&client_id={}&device_code={code}&device_code={code}",
            c.id
        ),
    ))
    .await
    .assert_error(400, "invalid_request");
    // Not a device code: the user code, an access token, a made-up one.
    let access = h.post(cc_request(&h.cc_client().await, "")).await;
    let made_up = format!("pc_dc_{}", "A".repeat(43));
    for code in [
        device.user_code.as_str(),
        access.access_token(),
        made_up.as_str(),
        "pc_dc_short",
    ] {
        h.post(poll_request(&c, code))
            .await
            .assert_error(400, "invalid_grant");
    }
    // None of that touched the real one.
    h.poll(&c, &device)
        .await
        .assert_error(400, "authorization_pending");
}

#[tokio::test]
async fn request_checks_match_the_token_endpoint() {
    let h = device_harness();
    let c = tv(&h).await;
    let body = format!("client_id={}", c.id);

    let get = Request::get(format!("https://auth.example/device_authorization?{body}"))
        .body(Vec::new())
        .unwrap();
    let r = h.device_endpoint(get).await;
    r.assert_error(405, "invalid_request");
    assert_eq!(r.header("allow"), Some("POST"));

    let json = Request::post("https://auth.example/device_authorization")
        .header("content-type", "application/json")
        .body(body.clone().into_bytes())
        .unwrap();
    h.device_endpoint(json)
        .await
        .assert_error(400, "invalid_request");

    let secret_in_query =
        Request::post("https://auth.example/device_authorization?client_secret=x")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone().into_bytes())
            .unwrap();
    h.device_endpoint(secret_in_query)
        .await
        .assert_error(400, "invalid_request");

    h.device_endpoint(device_request(&c, "&scope=read&scope=write"))
        .await
        .assert_error(400, "invalid_request");

    let huge = Request::post("https://auth.example/device_authorization")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("{body}&pad={}", "x".repeat(70_000)).into_bytes())
        .unwrap();
    h.device_endpoint(huge)
        .await
        .assert_error(413, "invalid_request");

    let bad_encoding = Request::post("https://auth.example/device_authorization")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"client_id=%zz".to_vec())
        .unwrap();
    h.device_endpoint(bad_encoding)
        .await
        .assert_error(400, "invalid_request");

    // Empty values count as omitted, unknown parameters are ignored
    // (RFC 8628 §3.1).
    let r = h
        .device_endpoint(device_request(&c, "&scope=&unknown=1"))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
}

// ---------------------------------------------------------------------------
// Concurrency.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_polls_after_approval_yield_exactly_one_token_response() {
    // `DeviceAuthorizationStore::poll_device_code` collects an approval and stores the
    // tokens in one atomic step, so of 50 simultaneous polls exactly one gets
    // tokens. The
    // others present a redeemed device code — replays — so the grant is
    // revoked and the winner's tokens with it (see `DeviceCodeGrant`).
    const TASKS: usize = 50;
    for _ in 0..10 {
        let h = device_harness();
        let c = tv(&h).await;
        let device = h.start_device(&c, "").await;
        h.approve(&device.user_code, "alice").await;
        let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
        let mut tasks = Vec::new();
        for _ in 0..TASKS {
            let server = h.server.clone();
            let request = poll_request(&c, &device.device_code);
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                Reply::from(server.token_endpoint(request).await)
            }));
        }
        let mut ok = Vec::new();
        for t in tasks {
            let r = t.await.unwrap();
            if r.status == 200 {
                ok.push(r);
            } else {
                r.assert_error(400, "invalid_grant");
            }
        }
        assert_eq!(ok.len(), 1, "{} polls got tokens", ok.len());
        assert_eq!(h.store.access_token_count(), 1);
        assert!(!alive(&h, ok[0].access_token()).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pending_polls_are_serialised() {
    // Of simultaneous polls while pending, the first is pending and the rest
    // too fast: the store serialises them.
    let h = device_harness();
    let c = tv(&h).await;
    let device = h.start_device(&c, "").await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let server = h.server.clone();
        let request = poll_request(&c, &device.device_code);
        tasks.push(tokio::spawn(async move {
            Reply::from(server.token_endpoint(request).await)
        }));
    }
    let mut pending = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.error() {
            "authorization_pending" => pending += 1,
            "slow_down" => {}
            other => panic!("{other}"),
        }
    }
    assert_eq!(pending, 1);
}

// ---------------------------------------------------------------------------
// User-code uniqueness (RFC 8628 §3.2: "unique").
// ---------------------------------------------------------------------------

fn record(user_code: &str, created_at: SystemTime) -> DeviceAuthorizationRecord {
    DeviceAuthorizationRecord {
        device_code_hash: TokenHash::of(&format!("pc_dc_{user_code}{created_at:?}")),
        user_code_hash: TokenHash::of(user_code),
        client_id: client_id(),
        scope: Scope::empty(),
        created_at,
        expires_at: created_at + secs(600),
        interval: secs(5),
        last_polled_at: None,
        status: DeviceStatus::Pending,
    }
}

/// `ClientId` has no public constructor; take one from a registration.
fn client_id() -> ClientId {
    ClientRegistration::native()
        .client_id("tv")
        .grant_type(GrantType::DEVICE_CODE)
        .register()
        .unwrap()
        .client
        .id()
        .clone()
}

#[tokio::test]
async fn the_memory_store_keeps_user_codes_unique_among_live_authorizations() {
    let store = MemoryStore::new();
    let t0 = start();
    store
        .save_device_authorization(record("BCDFGHJK", t0))
        .await
        .unwrap();
    // Same user code while the first is live: a conflict, nothing stored.
    let clash = record("BCDFGHJK", t0 + secs(1));
    let clash_hash = clash.device_code_hash;
    let collection = DeviceCollection::new(
        GrantId::generate(),
        t0 + secs(3600),
        PlannedToken::new(TokenHash::of("access"), t0 + secs(600)),
        None,
    );
    assert!(matches!(
        store.save_device_authorization(clash).await,
        Err(StoreError::Conflict)
    ));
    assert!(
        store
            .poll_device_code(&clash_hash, &client_id(), t0 + secs(1), &collection)
            .await
            .unwrap()
            .is_none()
    );
    // Once the first has expired, the code may be reused.
    let later = record("BCDFGHJK", t0 + secs(600));
    let later_hash = later.device_code_hash;
    store.save_device_authorization(later).await.unwrap();
    let found = store
        .find_device_authorization(&TokenHash::of("BCDFGHJK"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.device_code_hash, later_hash);
}

/// A store that answers the first `conflicts` saves of a device authorization
/// with a user-code clash, and otherwise is a [`MemoryStore`]. It is a grant
/// store and a device store, and nothing else: a server of the device grant
/// needs no authorization code store.
#[derive(Clone)]
struct CollidingStore {
    inner: MemoryStore,
    conflicts: Arc<AtomicUsize>,
    saves: Arc<AtomicUsize>,
}

impl GrantStore for CollidingStore {
    async fn create_grant(&self, new: NewGrant) -> Result<(), StoreError> {
        self.inner.create_grant(new).await
    }
    async fn find_access_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError> {
        self.inner.find_access_token(hash).await
    }
    async fn find_refresh_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<FoundRefreshToken>, StoreError> {
        self.inner.find_refresh_token(hash).await
    }
    async fn rotate_refresh_token(
        &self,
        old: &TokenHash,
        rotation: &RefreshRotation,
    ) -> Result<Rotation, StoreError> {
        self.inner.rotate_refresh_token(old, rotation).await
    }
    async fn revoke_grant(&self, id: &GrantId) -> Result<bool, StoreError> {
        self.inner.revoke_grant(id).await
    }
    async fn revoke_access_token(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        self.inner.revoke_access_token(hash).await
    }
    async fn revoke_client_grants(&self, client_id: &ClientId) -> Result<u64, StoreError> {
        self.inner.revoke_client_grants(client_id).await
    }
    async fn purge_expired(&self, now: SystemTime) -> Result<u64, StoreError> {
        GrantStore::purge_expired(&self.inner, now).await
    }
}

impl DeviceAuthorizationStore for CollidingStore {
    async fn save_device_authorization(
        &self,
        record: DeviceAuthorizationRecord,
    ) -> Result<(), StoreError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        let left = self.conflicts.load(Ordering::SeqCst);
        if left > 0 {
            self.conflicts.store(left - 1, Ordering::SeqCst);
            return Err(StoreError::Conflict);
        }
        self.inner.save_device_authorization(record).await
    }
    async fn find_device_authorization(
        &self,
        user_code_hash: &TokenHash,
    ) -> Result<Option<DeviceAuthorizationRecord>, StoreError> {
        self.inner.find_device_authorization(user_code_hash).await
    }
    async fn decide_device_authorization(
        &self,
        device_code_hash: &TokenHash,
        decision: DeviceDecision,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        self.inner
            .decide_device_authorization(device_code_hash, decision, now)
            .await
    }
    async fn poll_device_code(
        &self,
        device_code_hash: &TokenHash,
        client_id: &ClientId,
        now: SystemTime,
        collection: &DeviceCollection,
    ) -> Result<Option<PolledDeviceCode>, StoreError> {
        self.inner
            .poll_device_code(device_code_hash, client_id, now, collection)
            .await
    }
    async fn revoke_client_device_authorizations(
        &self,
        client_id: &ClientId,
    ) -> Result<u64, StoreError> {
        self.inner
            .revoke_client_device_authorizations(client_id)
            .await
    }
    async fn purge_expired_device_authorizations(
        &self,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        self.inner.purge_expired_device_authorizations(now).await
    }
}

async fn colliding_server(conflicts: usize) -> (AuthorizationServer, TestClient, Arc<AtomicUsize>) {
    let clients = MemoryStore::new();
    let saves = Arc::new(AtomicUsize::new(0));
    let store = CollidingStore {
        inner: MemoryStore::new(),
        conflicts: Arc::new(AtomicUsize::new(conflicts)),
        saves: saves.clone(),
    };
    let server = AuthorizationServer::builder(ISSUER)
        .clients(clients)
        .grant_store(store.clone())
        .device_store(store)
        .grant(DeviceCodeGrant)
        .build()
        .unwrap();
    let registered = server
        .register_client(
            ClientRegistration::native()
                .grant_type(GrantType::DEVICE_CODE)
                .scope("read".parse().unwrap()),
        )
        .await
        .unwrap();
    let client = TestClient {
        id: registered.client.id().to_string(),
        secret: String::new(),
    };
    (server, client, saves)
}

#[tokio::test]
async fn a_user_code_collision_draws_a_fresh_code() {
    let (server, c, saves) = colliding_server(3).await;
    let r = Reply::from(
        server
            .device_authorization_endpoint(device_request(&c, ""))
            .await,
    );
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(saves.load(Ordering::SeqCst), 4);
    // The code the client got is the one stored.
    let user_code = r.json["user_code"].as_str().unwrap();
    server
        .pending_device_authorization(user_code, &["k"])
        .await
        .unwrap();
}

#[tokio::test]
async fn endless_collisions_are_a_server_error_not_a_loop() {
    let (server, c, saves) = colliding_server(usize::MAX).await;
    let r = Reply::from(
        server
            .device_authorization_endpoint(device_request(&c, ""))
            .await,
    );
    r.assert_error(500, "server_error");
    assert!(r.json.get("error_description").is_none());
    assert_eq!(saves.load(Ordering::SeqCst), 8);
}
