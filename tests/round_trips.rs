//! A token request costs at most two round trips to the database: the
//! client lookup, and one store operation that finds, checks, consumes and
//! issues (`CodeRedemption`, `RefreshRotation`, `DeviceCollection`). An
//! authorization request decided at once costs two as well: the client
//! lookup, and the grant with its code.
//!
//! Counted on PostgreSQL, where a round trip is a network hop: every
//! statement sqlx executes emits one event with target `sqlx::query`, and a
//! statement on a pooled connection is one round trip (the pool does not ping
//! before use; a statement's first use on a connection also prepares it,
//! which the counted execution includes). SQLite is embedded, so it has no
//! round trips to count. Needs `PORTCULLIS_TEST_POSTGRES_URL`, like the other
//! PostgreSQL tests; without it each test notes the skip and passes.
#![cfg(feature = "sql")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod sql_support;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::Request;
use portcullis::AuthorizationServer;
use portcullis::client::ClientRegistration;
use portcullis::grant::{
    AuthorizationCodeGrant, ClientCredentialsGrant, DeviceCodeGrant, RefreshTokenGrant,
};
use portcullis::protocol::GrantType;
use portcullis::store::SqlStore;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

use common::{
    CHALLENGE, ISSUER, Reply, TestClient, VERIFIER, basic, cc_request, redirect_params,
    refresh_request, token_request,
};
use sql_support::{Backend, TestDb};

thread_local! {
    /// Where this thread's statements are being counted, if anywhere.
    static COUNTER: std::cell::RefCell<Option<Arc<AtomicUsize>>> =
        const { std::cell::RefCell::new(None) };
}

/// Counts the statements sqlx executes on threads that are counting. One
/// global subscriber, installed before any statement runs, so no callsite's
/// interest is cached before it exists.
struct StatementCounter;

impl Subscriber for StatementCounter {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.target() == "sqlx::query" {
            Interest::always()
        } else {
            Interest::never()
        }
    }
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "sqlx::query"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if event.metadata().target() == "sqlx::query" {
            COUNTER.with(|counter| {
                if let Some(count) = &*counter.borrow() {
                    count.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// A server on a fresh PostgreSQL schema, serving every grant that reaches
/// the token endpoint with a store call; `None` when no PostgreSQL is set.
async fn server(test: &str) -> Option<(AuthorizationServer, TestDb)> {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(StatementCounter)
            .expect("no other subscriber in this test binary");
    });
    let db = TestDb::new(Backend::Postgres, test).await?;
    let store = SqlStore::postgres(&db.location).await.unwrap();
    let server = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store)
        .grant(ClientCredentialsGrant)
        .grant(AuthorizationCodeGrant)
        .grant(RefreshTokenGrant)
        .grant(DeviceCodeGrant)
        .device_verification_uri("https://auth.example/activate")
        .build()
        .unwrap();
    Some((server, db))
}

/// `request`'s reply and how many statements it executed.
async fn counted(server: &AuthorizationServer, request: Request<Vec<u8>>) -> (Reply, usize) {
    let (reply, statements) = count(server.token_endpoint(request)).await;
    (Reply::from(reply), statements)
}

/// `future`'s output and how many statements it executed.
async fn count<T>(future: impl Future<Output = T>) -> (T, usize) {
    let count = Arc::new(AtomicUsize::new(0));
    let output = with_counter(&count, future).await;
    (output, count.load(Ordering::SeqCst))
}

/// Runs `future` with `count` counting this thread's statements. The tests
/// run on tokio's current-thread runtime, so the store's queries run here.
async fn with_counter<T>(count: &Arc<AtomicUsize>, future: impl Future<Output = T>) -> T {
    COUNTER.with(|counter| *counter.borrow_mut() = Some(count.clone()));
    let output = future.await;
    COUNTER.with(|counter| *counter.borrow_mut() = None);
    output
}

async fn register(server: &AuthorizationServer, registration: ClientRegistration) -> TestClient {
    let r = server.register_client(registration).await.unwrap();
    TestClient {
        id: r.client.id().to_string(),
        secret: r
            .secret
            .map(|s| s.expose_secret().to_owned())
            .unwrap_or_default(),
    }
}

/// A public client for the code flow with refresh tokens.
async fn native(server: &AuthorizationServer) -> TestClient {
    register(
        server,
        ClientRegistration::native()
            .redirect_uri("http://127.0.0.1/cb")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .scope("read write".parse().unwrap()),
    )
    .await
}

/// An authorization request of `client`'s with the RFC 7636 challenge.
fn authorize_request(client: &TestClient) -> Request<Vec<u8>> {
    Request::get(format!(
        "https://auth.example/authorize?response_type=code&client_id={}\
         &code_challenge={CHALLENGE}&code_challenge_method=S256&state=xyz&scope=read%20write",
        client.id
    ))
    .body(Vec::<u8>::new())
    .unwrap()
}

/// A code for `client`, approved by `alice`, bound to the RFC 7636 verifier.
async fn approved_code(server: &AuthorizationServer, client: &TestClient) -> String {
    let pending = server
        .authorization_request(&authorize_request(client))
        .await
        .unwrap();
    let response = server.approve(pending, "alice", None).await.unwrap();
    let params = redirect_params(&response);
    common::param(&params, "code").unwrap().to_owned()
}

fn redeem_request(client: &TestClient, code: &str) -> Request<Vec<u8>> {
    token_request(
        None,
        &format!(
            "grant_type=authorization_code&code={code}&client_id={}&code_verifier={VERIFIER}",
            client.id
        ),
    )
}

/// Exactly two — the client lookup and one store operation. At most two is
/// the contract; fewer would mean the counter missed a statement, since
/// every request here needs both.
fn assert_round_trips(what: &str, round_trips: usize) {
    assert_eq!(
        round_trips, 2,
        "{what} cost {round_trips} round trips to PostgreSQL: the client lookup and \
         one store operation expected"
    );
}

#[tokio::test]
async fn client_credentials_costs_two_round_trips() {
    let Some((server, _db)) = server("client_credentials_costs_two_round_trips").await else {
        return;
    };
    let client = register(
        &server,
        ClientRegistration::web_application()
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .scope("read".parse().unwrap()),
    )
    .await;
    for _ in 0..3 {
        let (reply, round_trips) = counted(&server, cc_request(&client, "")).await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        assert_round_trips("a client credentials request", round_trips);
    }
}

#[tokio::test]
async fn a_code_exchange_and_its_refreshes_cost_two_round_trips_each() {
    let Some((server, _db)) = server("code_exchange_round_trips").await else {
        return;
    };
    let client = native(&server).await;
    let code = approved_code(&server, &client).await;
    let (reply, round_trips) = counted(&server, redeem_request(&client, &code)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_round_trips("a code exchange", round_trips);

    let mut refresh = reply.json["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        let (reply, round_trips) = counted(&server, refresh_request(&client, &refresh, "")).await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        assert_round_trips("a refresh", round_trips);
        refresh = reply.json["refresh_token"].as_str().unwrap().to_owned();
    }
    // Narrowing the scope is checked in the same statement.
    let (reply, round_trips) =
        counted(&server, refresh_request(&client, &refresh, "&scope=read")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_round_trips("a narrowing refresh", round_trips);
    let narrowed = reply.json["access_token"].as_str().unwrap();
    let info = server.access_token_info(narrowed).await.unwrap().unwrap();
    assert_eq!(info.scope.to_string(), "read");
}

#[tokio::test]
async fn a_request_decided_at_once_is_never_stored() {
    let Some((server, _db)) = server("authorization_round_trips").await else {
        return;
    };
    let client = native(&server).await;
    // Validating: the client lookup. Approving at once: the grant with its
    // code, one statement. The request itself is never written.
    let (pending, round_trips) =
        count(server.authorization_request(&authorize_request(&client))).await;
    let pending = pending.unwrap();
    assert_eq!(round_trips, 1, "validating the request");
    let (approved, round_trips) = count(server.approve(pending, "alice", None)).await;
    assert_eq!(approved.unwrap().status(), 303);
    assert_eq!(round_trips, 1, "approving a request in hand");

    // Deferred to a consent form, it is written once; deciding it takes it
    // back (one statement) before the grant is written (another).
    let mut pending = server
        .authorization_request(&authorize_request(&client))
        .await
        .unwrap();
    let (handle, round_trips) = count(server.defer(&mut pending)).await;
    let handle = handle.unwrap().to_owned();
    assert_eq!(round_trips, 1, "deferring the request");
    let resumed = server
        .pending_authorization(&handle)
        .await
        .unwrap()
        .unwrap();
    drop(pending);
    let (approved, round_trips) = count(server.approve(resumed, "alice", None)).await;
    assert_eq!(approved.unwrap().status(), 303);
    assert_eq!(
        round_trips, 2,
        "taking the deferred request, then the grant"
    );
}

#[tokio::test]
async fn a_replay_is_detected_and_revoked_within_two_round_trips() {
    let Some((server, _db)) = server("replay_round_trips").await else {
        return;
    };
    let client = native(&server).await;
    let code = approved_code(&server, &client).await;
    let (first, _) = counted(&server, redeem_request(&client, &code)).await;
    assert_eq!(first.status, 200, "{:?}", first.json);

    let (replay, round_trips) = counted(&server, redeem_request(&client, &code)).await;
    replay.assert_error(400, "invalid_grant");
    assert_round_trips("a replayed code", round_trips);
    let access = first.json["access_token"].as_str().unwrap();
    assert!(
        server.access_token_info(access).await.unwrap().is_none(),
        "the replay must have revoked the first redemption's tokens"
    );

    // A reused refresh token, likewise.
    let code = approved_code(&server, &client).await;
    let (issued, _) = counted(&server, redeem_request(&client, &code)).await;
    let refresh = issued.json["refresh_token"].as_str().unwrap();
    let (rotated, _) = counted(&server, refresh_request(&client, refresh, "")).await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.json);
    let (reuse, round_trips) = counted(&server, refresh_request(&client, refresh, "")).await;
    reuse.assert_error(400, "invalid_grant");
    assert_round_trips("a reused refresh token", round_trips);
    let access = rotated.json["access_token"].as_str().unwrap();
    assert!(
        server.access_token_info(access).await.unwrap().is_none(),
        "the reuse must have revoked the grant"
    );
}

#[tokio::test]
async fn device_polls_cost_two_round_trips() {
    let Some((server, _db)) = server("device_poll_round_trips").await else {
        return;
    };
    let client = register(
        &server,
        ClientRegistration::web_application()
            .grant_type(GrantType::DEVICE_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .scope("read write".parse().unwrap()),
    )
    .await;
    let request = Request::post("https://auth.example/device_authorization")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", basic(&client.id, &client.secret))
        .body(b"scope=read".to_vec())
        .unwrap();
    let started = Reply::from(server.device_authorization_endpoint(request).await);
    assert_eq!(started.status, 200, "{:?}", started.json);
    let device_code = started.json["device_code"].as_str().unwrap();
    let user_code = started.json["user_code"].as_str().unwrap();
    let poll = || {
        token_request(
            Some(&basic(&client.id, &client.secret)),
            &format!(
                "grant_type=urn:ietf:params:oauth:grant-type:device_code\
                 &device_code={device_code}"
            ),
        )
    };

    let (pending, round_trips) = counted(&server, poll()).await;
    pending.assert_error(400, "authorization_pending");
    assert_round_trips("a pending poll", round_trips);

    let decision = server
        .pending_device_authorization(user_code, &["session:s1"])
        .await
        .unwrap();
    server
        .approve_device(decision, "alice", None)
        .await
        .unwrap();
    let (collected, round_trips) = counted(&server, poll()).await;
    assert_eq!(collected.status, 200, "{:?}", collected.json);
    assert_eq!(collected.json["scope"], "read");
    assert_round_trips("the poll that collects an approval", round_trips);

    let (replay, round_trips) = counted(&server, poll()).await;
    replay.assert_error(400, "invalid_grant");
    assert_round_trips("a replayed device code", round_trips);
    let access = collected.json["access_token"].as_str().unwrap();
    assert!(
        server.access_token_info(access).await.unwrap().is_none(),
        "the replay must have revoked the device's grant"
    );
}
