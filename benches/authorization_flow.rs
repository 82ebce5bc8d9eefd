//! The interactive flow: a raw authorization request through the resource
//! owner's approval to the code-for-token exchange (PKCE S256, HTTP Basic),
//! and a refresh with rotation.
//!
//! Run with `cargo bench --bench authorization_flow`; see BENCHMARKS.md. Only
//! library calls are timed; building requests and reading responses — the
//! browser's and the client's work — are not.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(missing_docs)]

mod support;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use support::{code_from, code_setup, json_member, run};

/// 6 ms per clock read; the full flow reads the clock four times, so about
/// 25,000 grants (and their codes and tokens) are live; the refresh chain
/// reads it once, so about 100,000 access tokens and refresh tokens are.
const STEP_MICROS: u64 = 6_000;

fn flows(c: &mut Criterion) {
    let mut group = c.benchmark_group("authorization_flow");

    let s = code_setup(STEP_MICROS, Duration::from_secs(600));
    // The flow's three library calls, each timed: validating the
    // authorization request, approving it, exchanging the code.
    let phases = |s: &support::CodeSetup| {
        let request = s.authorize_request();
        let t0 = Instant::now();
        let pending = run(s.server.authorization_request(&request)).unwrap();
        let t1 = Instant::now();
        let redirect = run(s.server.approve(pending, "alice", None)).unwrap();
        let t2 = Instant::now();
        let token_request = s.code_request(&code_from(&redirect));
        let t3 = Instant::now();
        let response = run(s.server.token_endpoint(token_request));
        let t4 = Instant::now();
        assert_eq!(response.status(), 200);
        ([t1 - t0, t2 - t1, t4 - t3], response)
    };
    let full_flow = |s: &support::CodeSetup| {
        let ([validation, approval, exchange], response) = phases(s);
        (validation + approval + exchange, response)
    };
    for _ in 0..30_000 {
        full_flow(&s);
    }
    group.bench_function("code_flow_pkce_basic", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| full_flow(&s).0).sum::<Duration>())
    });
    // Where the flow's time goes: each phase alone, from the same flows.
    for (i, name) in ["authorization_request", "approve", "code_exchange"]
        .into_iter()
        .enumerate()
    {
        group.bench_function(format!("code_flow_phase/{name}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| phases(&s).0[i]).sum::<Duration>())
        });
    }

    // One long chain: its grant lives 90 days of stepped clock; rotated-out
    // refresh tokens are kept 600 s (their idle lifetime) for reuse detection.
    let s = code_setup(STEP_MICROS, Duration::from_secs(90 * 24 * 3600));
    let first = full_flow(&s).1;
    let mut refresh = json_member(&first, "refresh_token");
    let refresh_once = |s: &support::CodeSetup, refresh: &mut String| {
        let request = s.refresh_request(refresh);
        let start = Instant::now();
        let response = run(s.server.token_endpoint(request));
        let elapsed = start.elapsed();
        assert_eq!(response.status(), 200);
        *refresh = json_member(&response, "refresh_token");
        elapsed
    };
    for _ in 0..120_000 {
        refresh_once(&s, &mut refresh);
    }
    group.bench_function("refresh_rotation", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| refresh_once(&s, &mut refresh))
                .sum::<Duration>()
        })
    });
    group.finish();
}

criterion_group!(benches, flows);
criterion_main!(benches);
