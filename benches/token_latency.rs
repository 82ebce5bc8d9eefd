//! Per-request latency of a client_credentials token request, as a
//! distribution: criterion reports means of samples, in which rare slow
//! requests (a shard sweep) are averaged in; this shows them apart.
//!
//! Run with `cargo bench --bench token_latency`; see BENCHMARKS.md. Each
//! request is built just before the call and only the call is timed; the
//! timer's own cost (some 40 ns) is included.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::hint::black_box;
use std::time::Instant;

use support::{request, run, warmed};

const REQUESTS: usize = 1_000_000;

fn main() {
    // `cargo bench` passes `--bench`; a filter argument, if any, is ignored.
    println!("client_credentials token request, {REQUESTS} requests per row, ns");
    println!(
        "{:>12} {:>6} {:>6} {:>6} {:>6} {:>7} {:>8}",
        "live tokens", "mean", "p50", "p90", "p99", "p99.9", "max"
    );
    for live in [10_000u64, 100_000] {
        let s = warmed(live);
        let mut times = Vec::with_capacity(REQUESTS);
        for _ in 0..REQUESTS {
            let req = request(&s.authorization);
            let start = Instant::now();
            let response = run(s.server.token_endpoint(req));
            let elapsed = start.elapsed();
            assert_eq!(response.status(), 200);
            times.push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
            black_box(response);
        }
        let mean = times.iter().sum::<u64>() / times.len() as u64;
        times.sort_unstable();
        let at = |q: f64| times[((times.len() as f64) * q) as usize];
        println!(
            "{:>12} {:>6} {:>6} {:>6} {:>6} {:>7} {:>8}",
            live,
            mean,
            at(0.5),
            at(0.9),
            at(0.99),
            at(0.999),
            times[times.len() - 1]
        );
    }
}
