//! Brute-force protection of client authentication under attack (RFC 6749
//! §2.3.1 MUST; RFC 6819 §4.4.1.11, §5.1.4.2.3), through the public API, on
//! the memory store and on the SQL store with its shared limiter (SQLite in
//! memory, and PostgreSQL when `PORTCULLIS_TEST_POSTGRES_URL` is set).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
#[cfg(feature = "sql")]
mod sql_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use http::Request;
use portcullis::client::{
    AuthMethod, AuthRequest, Client, ClientAuthError, ClientAuthenticator, ClientRegistration,
    ClientSecret, PresentedCredentials, SecretAuthenticator, ThrottlePolicy, ThrottleSource,
};
use portcullis::endpoint::{RevocationRequest, TokenRequest};
use portcullis::grant::ClientCredentialsGrant;
use portcullis::protocol::{GrantType, Params};
use portcullis::store::MemoryStore;
use portcullis::token::ManualClock;
use portcullis::{AuthorizationServer, ServerBuilder};

/// The built-in authenticator, counting the secrets it checks.
#[derive(Clone, Default)]
struct Counting {
    inner: SecretAuthenticator,
    checks: Arc<AtomicUsize>,
}

impl ClientAuthenticator for Counting {
    fn identify(&self, request: &AuthRequest<'_>) -> Result<PresentedCredentials, ClientAuthError> {
        self.inner.identify(request)
    }

    fn verify(
        &self,
        presented: &PresentedCredentials,
        client: &Client,
    ) -> Result<(), ClientAuthError> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        self.inner.verify(presented, client)
    }

    fn methods(&self) -> &[AuthMethod] {
        self.inner.methods()
    }
}

/// Which store and limiter a server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Memory,
    #[cfg(feature = "sql")]
    Sql(sql_support::Backend),
}

/// The backends to run on: memory, SQLite in memory, and PostgreSQL when
/// configured.
fn backends() -> Vec<Backend> {
    #[allow(unused_mut)]
    let mut all = vec![Backend::Memory];
    #[cfg(feature = "sql")]
    {
        all.push(Backend::Sql(sql_support::Backend::SqliteMemory));
        all.push(Backend::Sql(sql_support::Backend::Postgres));
    }
    all
}

struct Setup {
    server: AuthorizationServer,
    clock: Arc<ManualClock>,
    checks: Arc<AtomicUsize>,
    #[cfg(feature = "sql")]
    _db: Option<sql_support::TestDb>,
}

/// A server on `backend` with `policy`, counting checked secrets; `None` when
/// the backend is not available here.
async fn setup(
    backend: Backend,
    policy: ThrottlePolicy,
    test: &str,
    customise: impl FnOnce(ServerBuilder) -> ServerBuilder,
) -> Option<Setup> {
    let clock = Arc::new(ManualClock::new(start()));
    let counting = Counting::default();
    let checks = counting.checks.clone();
    let builder = AuthorizationServer::builder(ISSUER)
        .grant(ClientCredentialsGrant)
        .authenticator(counting)
        .clock(clock.clone());
    let _ = test;
    match backend {
        Backend::Memory => {
            let store = MemoryStore::new();
            let builder = builder
                .clients(store.clone())
                .tokens(store)
                .throttle_policy(policy);
            Some(Setup {
                server: customise(builder).build().unwrap(),
                clock,
                checks,
                #[cfg(feature = "sql")]
                _db: None,
            })
        }
        #[cfg(feature = "sql")]
        Backend::Sql(which) => {
            let db = sql_support::TestDb::new(which, test).await?;
            let store = db.open().await;
            let builder = builder
                .clients(store.clone())
                .tokens(store.clone())
                .limiter(store.limiter(policy));
            Some(Setup {
                server: customise(builder).build().unwrap(),
                clock,
                checks,
                _db: Some(db),
            })
        }
    }
}

impl Setup {
    async fn register(&self, registration: ClientRegistration) -> TestClient {
        let r = self.server.register_client(registration).await.unwrap();
        TestClient {
            id: r.client.id().to_string(),
            secret: r
                .secret
                .map(|s| s.expose_secret().to_owned())
                .unwrap_or_default(),
        }
    }

    async fn generated_client(&self) -> TestClient {
        self.register(
            ClientRegistration::web_application().grant_type(GrantType::CLIENT_CREDENTIALS),
        )
        .await
    }

    async fn imported_client(&self, secret: &str) -> TestClient {
        self.register(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .import_secret(ClientSecret::new(secret)),
        )
        .await
        .with_secret(secret)
    }

    async fn post(&self, request: Request<Vec<u8>>) -> Reply {
        Reply::from(self.server.token_endpoint(request).await)
    }
}

/// A client-credentials request from `source`.
fn from(source: &str, client: &TestClient) -> Request<Vec<u8>> {
    let mut request = cc_request(client, "");
    request.extensions_mut().insert(ThrottleSource::new(source));
    request
}

const SECRET: &str = "a secret a person chose";
const GUESS: &str = "a guess at that secret";

fn policy(allowed: u32) -> ThrottlePolicy {
    ThrottlePolicy::default()
        .with_allowed_failures(allowed)
        .with_initial_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(60))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_guesses_check_no_more_secrets_than_the_policy_allows() {
    for backend in backends() {
        let Some(s) = setup(backend, policy(5), "thousand_guesses", |b| b).await else {
            continue;
        };
        let client = s.imported_client(SECRET).await;
        let server = Arc::new(s.server.clone());
        let wrong = client.with_secret(GUESS);
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let (server, request) = (server.clone(), cc_request(&wrong, ""));
                tokio::spawn(async move { Reply::from(server.token_endpoint(request).await) })
            })
            .collect();
        let (mut checked, mut refused) = (0, 0);
        for task in tasks {
            let reply = task.await.unwrap();
            match reply.status {
                401 => checked += 1,
                429 => refused += 1,
                other => panic!("{backend:?}: {other} {:?}", reply.json),
            }
        }
        // Five free failures, and the sixth, which sets the block.
        assert_eq!(checked, 6, "{backend:?}: {checked} guesses checked");
        assert_eq!(refused, 994, "{backend:?}");
        assert_eq!(s.checks.load(Ordering::SeqCst), 6, "{backend:?}");
        // The blocked client's own secret is refused unchecked, too: it is
        // one a person chose, and so guessable.
        s.post(cc_request(&client, ""))
            .await
            .assert_error(429, "invalid_client");
        assert_eq!(s.checks.load(Ordering::SeqCst), 6, "{backend:?}");
        s.clock.advance(Duration::from_secs(1));
        assert_eq!(s.post(cc_request(&client, "")).await.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_generated_secret_succeeds_on_every_request_under_a_sustained_attack() {
    for backend in backends() {
        let Some(s) = setup(backend, policy(3), "sustained_attack", |b| b).await else {
            continue;
        };
        let client = s.generated_client().await;
        let wrong = client.with_secret("pc_cs_guess");
        let server = Arc::new(s.server.clone());
        let mut refused = 0;
        for _round in 0..20 {
            // A burst of guesses, and the client's own request among them.
            let guesses: Vec<_> = (0..25)
                .map(|_| {
                    let (server, request) = (server.clone(), cc_request(&wrong, ""));
                    tokio::spawn(async move { Reply::from(server.token_endpoint(request).await) })
                })
                .collect();
            let legit = s.post(cc_request(&client, "")).await;
            assert_eq!(legit.status, 200, "{backend:?}: {:?}", legit.json);
            for guess in guesses {
                let reply = guess.await.unwrap();
                assert_eq!(reply.error(), "invalid_client");
                refused += usize::from(reply.status == 429);
            }
            // One guess every few seconds keeps the key blocked; the client
            // is never refused.
            s.clock.advance(Duration::from_secs(5));
            let legit = s.post(cc_request(&client, "")).await;
            assert_eq!(legit.status, 200, "{backend:?}: {:?}", legit.json);
        }
        assert!(
            refused > 400,
            "{backend:?}: only {refused} of 500 guesses refused"
        );
    }
}

#[tokio::test]
async fn an_imported_secret_is_throttled_per_source() {
    for backend in backends() {
        let Some(s) = setup(backend, policy(2), "per_source", |b| b).await else {
            continue;
        };
        let client = s.imported_client(SECRET).await;
        let wrong = client.with_secret(GUESS);
        let (attacker, home) = ("198.51.100.66", "203.0.113.7");
        for _ in 0..3 {
            s.post(from(attacker, &wrong))
                .await
                .assert_error(401, "invalid_client");
        }
        // The attacker's source is blocked, the right secret included …
        s.post(from(attacker, &wrong))
            .await
            .assert_error(429, "invalid_client");
        s.post(from(attacker, &client))
            .await
            .assert_error(429, "invalid_client");
        // … while the client, from its own source, is not.
        assert_eq!(s.post(from(home, &client)).await.status, 200, "{backend:?}");
        s.post(from(home, &wrong))
            .await
            .assert_error(401, "invalid_client");

        // The typed layer carries the source too.
        let headers = cc_request(&client, "").headers().clone();
        let params = Params::parse(b"grant_type=client_credentials").unwrap();
        let blocked = s
            .server
            .token(
                TokenRequest::new(params.clone(), &headers)
                    .with_source(ThrottleSource::new(attacker)),
            )
            .await;
        assert!(blocked.is_err(), "{backend:?}");
        let ok = s
            .server
            .token(TokenRequest::new(params, &headers).with_source(ThrottleSource::new(home)))
            .await;
        assert!(ok.is_ok(), "{backend:?}");

        // Without a source the budget is the client's: guesses with no
        // source lock out requests with no source, not the sourced ones.
        for _ in 0..3 {
            s.post(cc_request(&wrong, "")).await;
        }
        s.post(cc_request(&client, ""))
            .await
            .assert_error(429, "invalid_client");
        assert_eq!(s.post(from(home, &client)).await.status, 200, "{backend:?}");
    }
}

#[tokio::test]
async fn a_generated_secret_is_not_keyed_per_source() {
    // Its guesses are slowed per client wherever they come from; its right
    // secret is never refused.
    let s = setup(Backend::Memory, policy(2), "generated_per_source", |b| b)
        .await
        .unwrap();
    let client = s.generated_client().await;
    let wrong = client.with_secret("pc_cs_guess");
    for source in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        s.post(from(source, &wrong))
            .await
            .assert_error(401, "invalid_client");
    }
    s.post(from("198.51.100.4", &wrong))
        .await
        .assert_error(429, "invalid_client");
    assert_eq!(s.post(from("198.51.100.4", &client)).await.status, 200);
}

fn revocation(client: &TestClient) -> Request<Vec<u8>> {
    Request::post(format!("{ISSUER}/revoke"))
        .header("authorization", basic(&client.id, &client.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"token=pc_at_unknown".to_vec())
        .unwrap()
}

#[tokio::test]
async fn failures_at_revocation_do_not_lock_out_the_token_endpoint() {
    let s = setup(Backend::Memory, policy(2), "families", |b| b)
        .await
        .unwrap();
    let client = s.imported_client(SECRET).await;
    let wrong = client.with_secret(GUESS);
    for _ in 0..3 {
        let reply = Reply::from(s.server.revocation_endpoint(revocation(&wrong)).await);
        reply.assert_error(401, "invalid_client");
    }
    let reply = Reply::from(s.server.revocation_endpoint(revocation(&client)).await);
    reply.assert_error(429, "invalid_client");
    // The token endpoint (and the device authorization endpoint, in the same
    // family) has its own keys.
    assert_eq!(s.post(cc_request(&client, "")).await.status, 200);
    // The typed layer is the same endpoint.
    let headers = revocation(&client).headers().clone();
    let refused = s
        .server
        .revoke(RevocationRequest::new(
            Params::parse(b"token=pc_at_unknown").unwrap(),
            &headers,
        ))
        .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn shared_throttle_keys_count_every_endpoint_together() {
    let s = setup(Backend::Memory, policy(2), "shared_families", |b| {
        b.shared_throttle_keys()
    })
    .await
    .unwrap();
    let client = s.imported_client(SECRET).await;
    let wrong = client.with_secret(GUESS);
    for _ in 0..3 {
        let reply = Reply::from(s.server.revocation_endpoint(revocation(&wrong)).await);
        reply.assert_error(401, "invalid_client");
    }
    s.post(cc_request(&client, ""))
        .await
        .assert_error(429, "invalid_client");
}

/// An authenticator whose checks of imported secrets (Argon2id) hold until
/// the test opens the gate, as a slow hash would keep them running; it
/// records how many were running at once.
#[cfg(feature = "tokio")]
#[derive(Clone)]
struct Gated {
    inner: SecretAuthenticator,
    gate: Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
    running: Arc<AtomicUsize>,
    most_at_once: Arc<AtomicUsize>,
    started: Arc<AtomicUsize>,
}

#[cfg(feature = "tokio")]
impl ClientAuthenticator for Gated {
    fn identify(&self, request: &AuthRequest<'_>) -> Result<PresentedCredentials, ClientAuthError> {
        self.inner.identify(request)
    }

    fn verify(
        &self,
        presented: &PresentedCredentials,
        client: &Client,
    ) -> Result<(), ClientAuthError> {
        if matches!(
            client.secret_hash(),
            Some(portcullis::client::SecretHash::Argon2id(_))
        ) {
            self.started.fetch_add(1, Ordering::SeqCst);
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_at_once.fetch_max(now, Ordering::SeqCst);
            let (lock, opened) = &*self.gate;
            let mut open = lock.lock().unwrap();
            // A deadlock guard only: were the check run on the runtime's
            // only thread, the gate could never be opened, and the test
            // fails below instead of hanging.
            while !*open {
                let (guard, timeout) = opened.wait_timeout(open, Duration::from_secs(20)).unwrap();
                open = guard;
                if timeout.timed_out() {
                    break;
                }
            }
            drop(open);
            self.running.fetch_sub(1, Ordering::SeqCst);
        }
        self.inner.verify(presented, client)
    }

    fn methods(&self) -> &[AuthMethod] {
        self.inner.methods()
    }
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "current_thread")]
async fn slow_hashes_do_not_block_the_runtime() {
    use portcullis::client::TokioRunner;

    let gated = Gated {
        inner: SecretAuthenticator,
        gate: Arc::default(),
        running: Arc::default(),
        most_at_once: Arc::default(),
        started: Arc::default(),
    };
    let store = MemoryStore::new();
    let server = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store)
        .grant(ClientCredentialsGrant)
        .authenticator(gated.clone())
        .blocking_runner(TokioRunner::new(2))
        .clock(Arc::new(ManualClock::new(start())))
        .build()
        .unwrap();
    let register = |registration: ClientRegistration| {
        let server = server.clone();
        async move {
            let r = server.register_client(registration).await.unwrap();
            TestClient {
                id: r.client.id().to_string(),
                secret: r
                    .secret
                    .map(|s| s.expose_secret().to_owned())
                    .unwrap_or_default(),
            }
        }
    };
    let mut imported = Vec::new();
    for _ in 0..6 {
        let c = register(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .import_secret(ClientSecret::new(SECRET)),
        )
        .await;
        imported.push(c.with_secret(SECRET));
    }
    let fast =
        register(ClientRegistration::web_application().grant_type(GrantType::CLIENT_CREDENTIALS))
            .await;

    // A burst of imported-secret checks, on the runtime's only thread.
    let slow: Vec<_> = imported
        .iter()
        .map(|c| {
            let (server, request) = (server.clone(), cc_request(c, ""));
            tokio::spawn(async move { server.token_endpoint(request).await.status() })
        })
        .collect();
    // Let them start.
    while gated.started.load(Ordering::SeqCst) < 2 {
        tokio::task::yield_now().await;
    }
    // The runtime still answers another request while they hold.
    let reply = Reply::from(server.token_endpoint(cc_request(&fast, "")).await);
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let in_flight = slow.iter().filter(|t| !t.is_finished()).count();
    assert_eq!(
        in_flight, 6,
        "the slow checks finished before the fast request"
    );
    // No more than the runner's bound ran at once; the others waited.
    assert!(gated.started.load(Ordering::SeqCst) <= 2);

    let (lock, opened) = &*gated.gate;
    *lock.lock().unwrap() = true;
    opened.notify_all();
    for task in slow {
        assert_eq!(task.await.unwrap(), 200);
    }
    assert_eq!(gated.started.load(Ordering::SeqCst), 6);
    assert!(gated.most_at_once.load(Ordering::SeqCst) <= 2);
}
