//! The interactive flow: a raw authorization request through the resource
//! owner's approval to the code-for-token exchange (PKCE S256, HTTP Basic),
//! and a refresh with rotation; and the same two with a store small enough
//! to stay in the CPU caches (`…_in_cache`), their cost without memory
//! latency.
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

/// 600 ms per clock read: about 250 grants live in the flow, 1,000 tokens in
/// the refresh chain. The store then stays in the CPU caches, so the
/// `…_in_cache` cross-checks give the flow's cost without memory latency.
const IN_CACHE_STEP_MICROS: u64 = 600_000;

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// The flow's three library calls, each timed: validating the authorization
/// request, approving it, exchanging the code.
fn phases(s: &support::CodeSetup) -> ([Duration; 3], http::Response<Vec<u8>>) {
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
}

fn full_flow(s: &support::CodeSetup) -> (Duration, http::Response<Vec<u8>>) {
    let ([validation, approval, exchange], response) = phases(s);
    (validation + approval + exchange, response)
}

/// The full flow as `name`, at the steady state of a clock stepping
/// `step_micros` per read; with `each_phase`, each phase alone as well.
fn code_flow(group: &mut Group<'_>, name: &str, step_micros: u64, each_phase: bool) {
    let s = code_setup(step_micros, Duration::from_secs(600));
    for _ in 0..30_000 {
        full_flow(&s);
    }
    group.bench_function(name, |b| {
        b.iter_custom(|iters| (0..iters).map(|_| full_flow(&s).0).sum::<Duration>())
    });
    if !each_phase {
        return;
    }
    // Where the flow's time goes: each phase alone, from the same flows.
    for (i, phase) in ["authorization_request", "approve", "code_exchange"]
        .into_iter()
        .enumerate()
    {
        group.bench_function(format!("code_flow_phase/{phase}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| phases(&s).0[i]).sum::<Duration>())
        });
    }
}

/// A refresh with rotation as `name`: one long chain whose grant lives 90
/// days of stepped clock; rotated-out refresh tokens are kept 600 s (their
/// idle lifetime) for reuse detection.
fn refresh_rotation(group: &mut Group<'_>, name: &str, step_micros: u64) {
    let s = code_setup(step_micros, Duration::from_secs(90 * 24 * 3600));
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
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| refresh_once(&s, &mut refresh))
                .sum::<Duration>()
        })
    });
}

fn flows(c: &mut Criterion) {
    let mut group = c.benchmark_group("authorization_flow");
    code_flow(&mut group, "code_flow_pkce_basic", STEP_MICROS, true);
    refresh_rotation(&mut group, "refresh_rotation", STEP_MICROS);
    code_flow(
        &mut group,
        "code_flow_pkce_basic_in_cache",
        IN_CACHE_STEP_MICROS,
        false,
    );
    refresh_rotation(
        &mut group,
        "refresh_rotation_in_cache",
        IN_CACHE_STEP_MICROS,
    );
    group.finish();
}

criterion_group!(benches, flows);
criterion_main!(benches);
