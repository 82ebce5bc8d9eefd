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

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use portcullis::client::ThrottlePolicy;
use support::{request, run, setup, warmed};

fn client_credentials(c: &mut Criterion) {
    let mut group = c.benchmark_group("token_endpoint");
    for live in [10_000u64, 100_000] {
        let s = warmed(live);
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
