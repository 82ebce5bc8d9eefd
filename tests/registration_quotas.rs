//! Registration quotas (RFC 7591, RFC 7592): the size of a registration's
//! metadata, and the rate and number of registrations per initial access
//! token (or, under open registration, per server) — on the memory store,
//! and on the SQL store (SQLite in memory and in a file, and PostgreSQL when
//! `PORTCULLIS_TEST_POSTGRES_URL` is set) across restarts and replicas,
//! with concurrent bursts that must not exceed the cap.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
#[cfg(feature = "sql")]
#[macro_use]
mod sql_support;

use std::sync::Arc;
use std::time::Duration;

use common::{ISSUER, Reply, start};
use http::Request;
use portcullis::client::{ClientRegistration, ClientRegistry, MAX_REDIRECT_URI_LEN};
use portcullis::endpoint::DynamicRegistration;
use portcullis::grant::{AuthorizationCodeGrant, ClientCredentialsGrant};
use portcullis::protocol::GrantType;
use portcullis::store::{MemoryStore, TokenStore};
use portcullis::token::ManualClock;
use portcullis::{AuthorizationServer, BuildError};
use serde_json::{Value, json};

/// The initial access token the host hands out.
const IAT: &str = "iat-Qz7Lm2Vx9Rt4Wb6Nc1Hd8Pf3Gs5Jk0Ya";

/// A server on `store` serving the code flow and client credentials, with
/// `registration`, on `clock`.
fn server_on<S>(
    store: S,
    clock: &Arc<ManualClock>,
    registration: DynamicRegistration,
) -> AuthorizationServer
where
    S: ClientRegistry + TokenStore + Clone,
{
    AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store)
        .grant(AuthorizationCodeGrant)
        .grant(ClientCredentialsGrant)
        .clock(clock.clone())
        .dynamic_registration(registration)
        .build()
        .unwrap()
}

/// A memory-store server with `registration`, and its clock.
fn memory_server(registration: DynamicRegistration) -> (AuthorizationServer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(start()));
    (server_on(MemoryStore::new(), &clock, registration), clock)
}

/// Registration protected by [`IAT`], scope at most `read`.
fn protected() -> DynamicRegistration {
    DynamicRegistration::with_initial_access_token(IAT).max_scope("read".parse().unwrap())
}

/// Registers `body` with the initial access token (or none).
async fn register_with(server: &AuthorizationServer, token: Option<&str>, body: &str) -> Reply {
    let mut request =
        Request::post("https://auth.example/register").header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    Reply::from(
        server
            .registration_endpoint(request.body(body.as_bytes().to_vec()).unwrap())
            .await,
    )
}

async fn register(server: &AuthorizationServer, body: &str) -> Reply {
    register_with(server, Some(IAT), body).await
}

/// A small, valid service client's metadata.
fn service(i: usize) -> String {
    format!(r#"{{"grant_types": ["client_credentials"], "client_name": "Service {i}"}}"#)
}

/// Registers and expects `201`.
async fn registered(server: &AuthorizationServer, body: &str) -> Value {
    let reply = register(server, body).await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    reply.json
}

/// `n` redirect URIs on one host, each `len` bytes long.
fn redirect_uris(n: usize, len: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let head = format!("https://app.example/cb{i:03}/");
            format!("{head}{}", "x".repeat(len - head.len()))
        })
        .collect()
}

fn code_client(uris: &[String]) -> String {
    json!({"redirect_uris": uris, "client_name": "Web app"}).to_string()
}

/// `DELETE`, `GET` or `PUT` at a client's configuration endpoint.
async fn configure(
    server: &AuthorizationServer,
    method: &str,
    info: &Value,
    body: Option<Value>,
) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(info["registration_client_uri"].as_str().unwrap())
        .header(
            "authorization",
            format!(
                "Bearer {}",
                info["registration_access_token"].as_str().unwrap()
            ),
        );
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    Reply::from(
        server
            .client_configuration_endpoint(request.body(body).unwrap())
            .await,
    )
}

#[track_caller]
fn assert_description(reply: &Reply, parts: &[&str]) {
    for part in parts {
        assert!(
            reply.description().contains(part),
            "{part:?} missing from {:?}",
            reply.description()
        );
    }
}

// ---------------------------------------------------------------------------
// The size of the metadata.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn redirect_uris_are_bounded_in_number_and_length_by_default() {
    let (server, _) = memory_server(protected());
    let most = DynamicRegistration::DEFAULT_MAX_REDIRECT_URIS;
    let longest = DynamicRegistration::DEFAULT_MAX_REDIRECT_URI_LEN;
    assert_eq!((most, longest), (10, 512));

    // The most, each of the longest, fit the whole document's bound too.
    registered(&server, &code_client(&redirect_uris(most, longest))).await;

    let reply = register(&server, &code_client(&redirect_uris(most + 1, 40))).await;
    reply.assert_error(400, "invalid_redirect_uri");
    assert_description(&reply, &["redirect_uris", "at most 10"]);

    let reply = register(&server, &code_client(&redirect_uris(1, longest + 1))).await;
    reply.assert_error(400, "invalid_redirect_uri");
    assert_description(&reply, &["at most 512 bytes"]);

    // What one token holder stored 10,000 times: 31 redirect URIs of 2000
    // bytes, 62 KB, under the body limit.
    let reply = register(&server, &code_client(&redirect_uris(31, 2000))).await;
    reply.assert_error(400, "invalid_redirect_uri");
}

#[tokio::test]
async fn the_whole_document_is_bounded_and_the_error_names_the_largest_member() {
    let (server, _) = memory_server(protected());
    assert_eq!(DynamicRegistration::DEFAULT_MAX_METADATA_BYTES, 8192);
    // Every member within its own bound, the whole past 8 KiB: ten redirect
    // URIs of 500 bytes and sixteen contacts of 200.
    let contacts: Vec<String> = (0..16)
        .map(|i| format!("{i:02}{}@app.example", "c".repeat(186)))
        .collect();
    let document = json!({
        "redirect_uris": redirect_uris(10, 500),
        "contacts": contacts,
        "client_name": "Big",
    });
    let size = document.to_string().len();
    assert!(size > 8192, "{size}");
    let reply = register(&server, &document.to_string()).await;
    reply.assert_error(400, "invalid_client_metadata");
    assert_description(
        &reply,
        &[
            &format!("{size} bytes"),
            "8192",
            "largest member is redirect_uris",
        ],
    );

    // Unknown members are ignored, not stored, and do not count.
    let padded = json!({
        "grant_types": ["client_credentials"],
        "example_extension": {"keys": ["k".repeat(20_000)]},
    });
    registered(&server, &padded.to_string()).await;

    // A host's own bounds.
    let (strict, _) = memory_server(
        protected()
            .max_metadata_bytes(256)
            .max_redirect_uris(2)
            .max_redirect_uri_len(64),
    );
    let reply = register(&strict, &code_client(&redirect_uris(3, 40))).await;
    reply.assert_error(400, "invalid_redirect_uri");
    assert_description(&reply, &["at most 2"]);
    let reply = register(&strict, &code_client(&redirect_uris(1, 65))).await;
    reply.assert_error(400, "invalid_redirect_uri");
    assert_description(&reply, &["at most 64 bytes"]);
    let reply = register(
        &strict,
        &json!({"grant_types": ["client_credentials"], "client_name": "n".repeat(250)}).to_string(),
    )
    .await;
    reply.assert_error(400, "invalid_client_metadata");
    assert_description(&reply, &["256", "largest member is client_name"]);
    registered(&strict, &code_client(&redirect_uris(2, 64))).await;
}

#[tokio::test]
async fn updates_are_held_to_the_same_bounds() {
    let (server, _) = memory_server(protected());
    let info = registered(&server, &code_client(&redirect_uris(1, 40))).await;
    let client_id = info["client_id"].clone();
    let update = |uris: Vec<String>| json!({"client_id": client_id, "redirect_uris": uris});

    let reply = configure(&server, "PUT", &info, Some(update(redirect_uris(11, 40)))).await;
    reply.assert_error(400, "invalid_redirect_uri");
    assert_description(&reply, &["at most 10"]);
    let reply = configure(&server, "PUT", &info, Some(update(redirect_uris(1, 513)))).await;
    reply.assert_error(400, "invalid_redirect_uri");
    let mut big = update(redirect_uris(10, 500));
    big["contacts"] = json!(
        (0..16)
            .map(|i| format!("{i:02}{}", "c".repeat(200)))
            .collect::<Vec<_>>()
    );
    let reply = configure(&server, "PUT", &info, Some(big)).await;
    reply.assert_error(400, "invalid_client_metadata");
    assert_description(&reply, &["8192"]);

    // A refused update changes nothing; the token presented still works.
    let reply = configure(&server, "PUT", &info, Some(update(redirect_uris(2, 40)))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["redirect_uris"], json!(redirect_uris(2, 40)));
}

#[tokio::test]
async fn limits_out_of_range_fail_the_build() {
    let build = |registration: DynamicRegistration| {
        AuthorizationServer::builder(ISSUER)
            .clients(MemoryStore::new())
            .tokens(MemoryStore::new())
            .dynamic_registration(registration)
            .build()
            .err()
    };
    for (registration, setting) in [
        (protected().max_metadata_bytes(0), "max_metadata_bytes"),
        (
            protected().max_redirect_uris(portcullis::client::MAX_REDIRECT_URIS + 1),
            "max_redirect_uris",
        ),
        (protected().max_redirect_uri_len(0), "max_redirect_uri_len"),
        (
            protected().max_redirect_uri_len(MAX_REDIRECT_URI_LEN + 1),
            "max_redirect_uri_len",
        ),
        (protected().max_clients(0), "max_clients"),
        (
            DynamicRegistration::open().max_registrations_per_minute(0),
            "max_registrations_per_minute",
        ),
    ] {
        match build(registration) {
            Some(BuildError::InvalidRegistrationLimit(why)) => {
                assert!(why.contains(setting), "{setting}: {why}");
            }
            other => panic!("{setting}: {other:?}"),
        }
    }
    assert!(build(protected().max_redirect_uris(0).max_clients(1)).is_none());
}

// ---------------------------------------------------------------------------
// The rate.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn registrations_past_the_rate_get_429_with_retry_after() {
    assert_eq!(DynamicRegistration::DEFAULT_REGISTRATIONS_PER_MINUTE, 20);
    let (server, clock) = memory_server(protected().max_registrations_per_minute(3));
    for i in 0..3 {
        registered(&server, &service(i)).await;
    }
    let reply = register(&server, &service(3)).await;
    reply.assert_error(429, "temporarily_unavailable");
    assert_eq!(reply.header("retry-after"), Some("20"));
    assert!(reply.json.get("client_id").is_none());
    assert_description(&reply, &["too many registrations"]);

    // Bad metadata is refused as such, and is not counted.
    register(&server, r#"{"grant_types": ["password"]}"#)
        .await
        .assert_error(400, "invalid_client_metadata");

    // One every 60 / 3 seconds after the burst.
    clock.advance(Duration::from_secs(19));
    register(&server, &service(4))
        .await
        .assert_error(429, "temporarily_unavailable");
    clock.advance(Duration::from_secs(1));
    registered(&server, &service(5)).await;
    register(&server, &service(6))
        .await
        .assert_error(429, "temporarily_unavailable");
    // A quiet minute restores the burst.
    clock.advance(Duration::from_secs(80));
    for i in 7..10 {
        registered(&server, &service(i)).await;
    }
    register(&server, &service(10))
        .await
        .assert_error(429, "temporarily_unavailable");
}

#[tokio::test]
async fn the_default_rate_stops_a_flood_of_registrations() {
    let (server, _) = memory_server(protected().max_clients(10_000));
    let mut created = 0;
    let mut throttled = 0;
    for i in 0..100 {
        match register(&server, &service(i)).await.status {
            201 => created += 1,
            429 => throttled += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!((created, throttled), (20, 80));
}

// ---------------------------------------------------------------------------
// The number of clients.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_number_of_clients_is_capped_and_a_deletion_frees_a_place() {
    assert_eq!(DynamicRegistration::DEFAULT_MAX_CLIENTS, 1000);
    let (server, _) = memory_server(protected().max_clients(3).max_registrations_per_minute(5));
    // Clients an administrator registers count against no token.
    server
        .register_client(
            ClientRegistration::web_application().grant_type(GrantType::CLIENT_CREDENTIALS),
        )
        .await
        .unwrap();
    let mut infos = Vec::new();
    for i in 0..3 {
        infos.push(registered(&server, &service(i)).await);
    }
    for i in 3..5 {
        let reply = register(&server, &service(i)).await;
        reply.assert_error(403, "access_denied");
        assert!(reply.json.get("client_id").is_none());
        assert_description(&reply, &["maximum of 3 registered clients", "delete one"]);
    }

    // An update keeps the client's place.
    let update = json!({"client_id": infos[0]["client_id"], "grant_types": ["client_credentials"], "client_name": "Renamed"});
    let updated = configure(&server, "PUT", &infos[0], Some(update)).await;
    assert_eq!(updated.status, 200, "{:?}", updated.json);
    register(&server, &service(5))
        .await
        .assert_error(403, "access_denied");

    // Deleting one (RFC 7592 §2.3) frees its place. The refusals above were
    // not counted against the rate: 3 + 1 registrations fit 5 a minute.
    assert_eq!(
        configure(&server, "DELETE", &infos[1], None).await.status,
        204
    );
    registered(&server, &service(6)).await;
    register(&server, &service(7))
        .await
        .assert_error(403, "access_denied");
    // So does an administrator's deletion.
    let id = infos[2]["client_id"].as_str().unwrap();
    assert!(server.delete_client(id).await.unwrap());
    registered(&server, &service(8)).await;
}

#[tokio::test]
async fn open_registration_is_capped_for_the_whole_server() {
    let (server, _) = memory_server(
        DynamicRegistration::open()
            .max_scope("read".parse().unwrap())
            .max_clients(2),
    );
    let native =
        r#"{"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none"}"#;
    for _ in 0..2 {
        assert_eq!(register_with(&server, None, native).await.status, 201);
    }
    register_with(&server, None, native)
        .await
        .assert_error(403, "access_denied");
}

/// Fires `n` registrations at once, spread over `servers`, and counts the
/// answers by status.
async fn burst(servers: &[AuthorizationServer], n: usize) -> (usize, usize) {
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let server = servers[i % servers.len()].clone();
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                register(&server, &service(i)).await
            })
        })
        .collect();
    let (mut created, mut refused) = (0, 0);
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status {
            201 => created += 1,
            403 => {
                reply.assert_error(403, "access_denied");
                refused += 1;
            }
            other => panic!("{other}: {:?}", reply.json),
        }
    }
    (created, refused)
}

/// A burst's quota: a cap of 7, and a rate the burst cannot reach.
fn burst_registration() -> DynamicRegistration {
    protected()
        .max_clients(7)
        .max_registrations_per_minute(1000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_concurrent_burst_never_exceeds_the_cap() {
    for _ in 0..4 {
        let (server, _) = memory_server(burst_registration());
        assert_eq!(burst(std::slice::from_ref(&server), 48).await, (7, 41));
        register(&server, &service(99))
            .await
            .assert_error(403, "access_denied");
    }
}

// ---------------------------------------------------------------------------
// The SQL store: the count lives in the database.
// ---------------------------------------------------------------------------

#[cfg(feature = "sql")]
mod sql {
    use super::sql_support::{Backend, TestDb};
    use super::*;

    on_every_backend!(
        the_cap_holds_across_a_restart_and_replicas,
        a_concurrent_burst_on_two_replicas_never_exceeds_the_cap,
        replicas_share_the_rate_through_the_sql_limiter,
    );

    /// Two replicas on `db`: separate stores (connection pools) on a file
    /// or PostgreSQL; one store, cloned, for SQLite in memory, which only
    /// its own pool sees.
    async fn replicas(db: &TestDb) -> (portcullis::store::SqlStore, portcullis::store::SqlStore) {
        let first = db.open().await;
        let second = match db.backend {
            Backend::SqliteMemory => first.clone(),
            _ => db.open().await,
        };
        (first, second)
    }

    async fn the_cap_holds_across_a_restart_and_replicas(db: &TestDb) {
        let clock = Arc::new(ManualClock::new(start()));
        let (first, second) = replicas(db).await;
        let a = server_on(first.clone(), &clock, protected().max_clients(3));
        let b = server_on(second, &clock, protected().max_clients(3));
        let info = registered(&a, &service(0)).await;
        registered(&b, &service(1)).await;
        registered(&a, &service(2)).await;
        for server in [&a, &b] {
            let reply = register(server, &service(3)).await;
            reply.assert_error(403, "access_denied");
            assert_description(&reply, &["maximum of 3"]);
        }
        // A deletion on one replica frees a place on the other.
        assert_eq!(configure(&a, "DELETE", &info, None).await.status, 204);
        registered(&b, &service(4)).await;
        register(&a, &service(5))
            .await
            .assert_error(403, "access_denied");

        // A restart: a new store and server on the same database.
        if db.backend != Backend::SqliteMemory {
            drop((a, b));
            first.close().await;
            let restarted = server_on(db.open().await, &clock, protected().max_clients(3));
            register(&restarted, &service(6))
                .await
                .assert_error(403, "access_denied");
            let raised = server_on(db.open().await, &clock, protected().max_clients(4));
            registered(&raised, &service(7)).await;
        }
    }

    async fn a_concurrent_burst_on_two_replicas_never_exceeds_the_cap(db: &TestDb) {
        let clock = Arc::new(ManualClock::new(start()));
        let (first, second) = replicas(db).await;
        let servers = [
            server_on(first, &clock, burst_registration()),
            server_on(second, &clock, burst_registration()),
        ];
        assert_eq!(burst(&servers, 48).await, (7, 41));
        for server in &servers {
            register(server, &service(99))
                .await
                .assert_error(403, "access_denied");
        }
    }

    async fn replicas_share_the_rate_through_the_sql_limiter(db: &TestDb) {
        let clock = Arc::new(ManualClock::new(start()));
        let (first, second) = replicas(db).await;
        let with_shared_limiter = |store: &portcullis::store::SqlStore| {
            protected().registration_limiter(store.limiter(DynamicRegistration::rate_policy(2)))
        };
        let a = server_on(first.clone(), &clock, with_shared_limiter(&first));
        let b = server_on(second.clone(), &clock, with_shared_limiter(&second));
        registered(&a, &service(0)).await;
        registered(&b, &service(1)).await;
        for server in [&a, &b] {
            let reply = register(server, &service(2)).await;
            reply.assert_error(429, "temporarily_unavailable");
            assert_eq!(reply.header("retry-after"), Some("30"));
        }
        clock.advance(Duration::from_secs(30));
        registered(&b, &service(3)).await;
        register(&a, &service(4))
            .await
            .assert_error(429, "temporarily_unavailable");
    }
}
