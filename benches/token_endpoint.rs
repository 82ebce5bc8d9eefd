//! Token endpoint benchmarks: a client_credentials request from the raw
//! `http::Request` to the `http::Response` — Basic parsing, secret
//! verification, token minting and hashing, storage and JSON.
//!
//! Run with `cargo bench --bench token_endpoint`; see BENCHMARKS.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// criterion's macros generate undocumented public items.
#![allow(missing_docs)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::Request;
use portcullis::AuthorizationServer;
use portcullis::client::{ClientRegistration, ThrottlePolicy};
use portcullis::grant::ClientCredentialsGrant;
use portcullis::protocol::GrantType;
use portcullis::store::MemoryStore;
use portcullis::token::Clock;

/// Drives a future that never suspends (the memory store does no IO) without
/// an executor's overhead. Panics if the future does suspend.
fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the memory store never suspends"),
    }
}

/// A clock that moves forward by a fixed step each time it is read. The
/// token endpoint reads it once per request and tokens live 600 s, so a step
/// of 600 s / N keeps N tokens live in the store: the steady state of a server
/// issuing N tokens per token lifetime, with expired ones being swept.
#[derive(Debug)]
struct SteppingClock {
    reads: AtomicU64,
    step_micros: u64,
}

impl Clock for SteppingClock {
    fn now(&self) -> SystemTime {
        let n = self.reads.fetch_add(1, Ordering::Relaxed);
        SystemTime::UNIX_EPOCH
            + Duration::from_secs(1_800_000_000)
            + Duration::from_micros(n * self.step_micros)
    }
}

const TOKEN_LIFETIME_MICROS: u64 = 600_000_000;

struct Setup {
    server: AuthorizationServer,
    authorization: String,
    wrong_authorization: String,
}

fn setup(policy: ThrottlePolicy, live_tokens: u64) -> Setup {
    let store = MemoryStore::new();
    let server = AuthorizationServer::builder("https://auth.example")
        .clients(store.clone())
        .tokens(store)
        .grant(ClientCredentialsGrant)
        .clock(Arc::new(SteppingClock {
            reads: AtomicU64::new(0),
            step_micros: TOKEN_LIFETIME_MICROS / live_tokens,
        }))
        .throttle_policy(policy)
        .build()
        .unwrap();
    let registered = run(server.register_client(
        ClientRegistration::web_application()
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .scope("read write".parse().unwrap()),
    ))
    .unwrap();
    let id = registered.client.id().to_string();
    let secret = registered.secret.unwrap();
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    Setup {
        authorization: format!("Basic {}", b64(format!("{id}:{}", secret.expose_secret()))),
        wrong_authorization: format!("Basic {}", b64(format!("{id}:pc_cs_wrong"))),
        server,
    }
}

fn request(authorization: &str) -> Request<Vec<u8>> {
    Request::post("https://auth.example/token")
        .header("authorization", authorization)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"grant_type=client_credentials&scope=read".to_vec())
        .unwrap()
}

fn client_credentials(c: &mut Criterion) {
    let mut group = c.benchmark_group("token_endpoint");
    for live in [10_000u64, 100_000] {
        let s = setup(ThrottlePolicy::default(), live);
        // Warm the store to its steady state: more than one token lifetime.
        for _ in 0..live + live / 5 {
            let response = run(s.server.token_endpoint(request(&s.authorization)));
            assert_eq!(response.status(), 200);
        }
        // The headline: each request is built just before the call, as a host's
        // framework hands it over, and only the call is timed (the timer's own
        // cost, some 40 ns, is included); the response is dropped afterwards.
        group.bench_function(
            format!("client_credentials/{}k_live_tokens", live / 1000),
            |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let req = request(&s.authorization);
                        let start = Instant::now();
                        let response = run(s.server.token_endpoint(req));
                        total += start.elapsed();
                        assert_eq!(response.status(), 200);
                    }
                    total
                })
            },
        );
        // Cross-check: criterion's batched mode builds a batch of requests first
        // and keeps every response until the batch ends, so requests are cold
        // and the heap is busier than a server's; it reads higher.
        group.bench_function(
            format!("client_credentials_batched/{}k_live_tokens", live / 1000),
            |b| {
                b.iter_batched(
                    || request(&s.authorization),
                    |req| {
                        let response = run(s.server.token_endpoint(req));
                        assert_eq!(response.status(), 200);
                        response
                    },
                    BatchSize::SmallInput,
                )
            },
        );
        if live == 10_000 {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            group.bench_function(
                "client_credentials_tokio_current_thread/10k_live_tokens",
                |b| {
                    b.iter_batched(
                        || request(&s.authorization),
                        |req| rt.block_on(s.server.token_endpoint(req)),
                        BatchSize::SmallInput,
                    )
                },
            );
            // The host builds the request (from its framework's) before calling
            // the library; measured here, and kept out of the other figures.
            group.bench_function("build_request", |b| {
                b.iter(|| request(black_box(&s.authorization)))
            });
        }
    }

    // A wrong secret: the failure path, with its security event and throttle
    // bookkeeping. The policy never blocks, so every attempt is checked (and
    // recorded) rather than refused unchecked.
    let lenient = setup(
        ThrottlePolicy::default().with_allowed_failures(u32::MAX),
        10_000,
    );
    group.bench_function("invalid_client", |b| {
        b.iter_batched(
            || request(&lenient.wrong_authorization),
            |req| {
                let response = run(lenient.server.token_endpoint(req));
                assert_eq!(response.status(), 401);
                response
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, client_credentials);
criterion_main!(benches);
