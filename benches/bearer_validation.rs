//! A resource server in the authorization server's process validating bearer
//! tokens (RFC 6750): from a request's head (`http::request::Parts`) with
//! `Authorization: Bearer …` to the validated `TokenInfo` — header parsing,
//! the token's shape check, SHA-256, the `MemoryStore` lookup of the token
//! (whose entry carries what validation needs of its grant), expiry and
//! revocation, and the scope check.
//!
//! One million live tokens are in the store, issued through the token
//! endpoint (client credentials, so each has its own grant); each iteration
//! presents a token drawn at random from them, so the store lookups miss the
//! CPU caches as they would in production. Also printed: the store's memory
//! per live token (resident set growth while issuing them, divided by their
//! number).
//!
//! Run with `cargo bench --bench bearer_validation`; see BENCHMARKS.md.
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
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use http::request::Parts;
use portcullis::AuthorizationServer;
use portcullis::client::ClientRegistration;
use portcullis::grant::ClientCredentialsGrant;
use portcullis::protocol::{GrantType, Scope};
use portcullis::resource::{BearerValidator, Realm};
use portcullis::store::MemoryStore;
use portcullis::token::ManualClock;
use support::{request, run};

const LIVE: usize = 1_000_000;
/// `pc_at_` and 43 characters of base64url.
const TOKEN_LEN: usize = 49;
/// Requests built ahead of each timed batch.
const BATCH: usize = 256;

/// The resident set size, from `/proc/self/status`.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// SplitMix64: a fast, deterministic choice of tokens.
struct Picker(u64);

impl Picker {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % below as u64) as usize
    }
}

struct Population {
    server: AuthorizationServer,
    validator: BearerValidator<AuthorizationServer>,
    tokens: Vec<[u8; TOKEN_LEN]>,
}

impl Population {
    fn token(&self, i: usize) -> &str {
        std::str::from_utf8(&self.tokens[i]).unwrap()
    }

    /// The head of a request presenting token `i`, as a framework hands it
    /// to middleware.
    fn parts(&self, i: usize) -> Parts {
        let mut header = String::with_capacity(7 + TOKEN_LEN);
        header.push_str("Bearer ");
        header.push_str(self.token(i));
        http::Request::get("https://api.example/photos")
            .header("authorization", header)
            .body(())
            .unwrap()
            .into_parts()
            .0
    }
}

/// A server whose store holds `LIVE` live access tokens (the clock does not
/// move, so none expires), and a validator over it. Prints the store's memory
/// per token.
fn populate() -> Population {
    let store = MemoryStore::new();
    let clock = Arc::new(ManualClock::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    ));
    let server = AuthorizationServer::builder("https://auth.example")
        .clients(store.clone())
        .tokens(store.clone())
        .grant(ClientCredentialsGrant)
        .clock(clock)
        .build()
        .unwrap();
    let registered = run(server.register_client(
        ClientRegistration::web_application()
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .scope("read write".parse().unwrap()),
    ))
    .unwrap();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            registered.client.id(),
            registered.secret.unwrap().expose_secret()
        ))
    );
    // Written through now, so its pages are resident before the measurement.
    let mut tokens = vec![[b'x'; TOKEN_LEN]; LIVE];

    let before = rss_bytes();
    for slot in &mut tokens {
        let response = run(server.token_endpoint(request(&basic)));
        assert_eq!(response.status(), 200);
        let body = response.body();
        let start = body
            .windows(16)
            .position(|w| w == b"\"access_token\":\"")
            .unwrap()
            + 16;
        slot.copy_from_slice(&body[start..start + TOKEN_LEN]);
    }
    let after = rss_bytes();
    assert_eq!(store.access_token_count(), LIVE);
    println!(
        "memory store: {LIVE} live access tokens ({} grants); resident set grew {:.1} MiB: {} bytes per live token (with its grant)",
        store.grant_count(),
        (after - before) as f64 / (1024.0 * 1024.0),
        (after - before) / LIVE as u64,
    );

    let validator = BearerValidator::new(server.clone(), Realm::new("api").unwrap());
    Population {
        server,
        validator,
        tokens,
    }
}

fn bearer_validation(c: &mut Criterion) {
    let p = populate();
    let required: Scope = "read".parse().unwrap();
    let mut group = c.benchmark_group("bearer_validation");

    // The headline: a batch of request heads for random tokens is built (not
    // timed), then validating the batch is timed; one timer pair per batch
    // keeps the timer's own cost out. The heads are in cache, as a request
    // just parsed is; the store's entries for them are not.
    let mut pick = Picker(1);
    group.bench_function("validate/1m_live_tokens_random", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                let n = left.min(BATCH);
                let batch: Vec<Parts> = (0..n).map(|_| p.parts(pick.next(LIVE))).collect();
                let start = Instant::now();
                for parts in &batch {
                    let info = run(p.validator.validate(parts, &required));
                    black_box(info.unwrap());
                }
                total += start.elapsed();
                left -= n;
            }
            total
        })
    });

    // Cross-check: the same with the token lookup alone
    // (`AuthorizationServer::access_token_info`), so the validator's own
    // share — header parsing, scope check — is the difference.
    group.bench_function("access_token_info/1m_live_tokens_random", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                let n = left.min(BATCH);
                let batch: Vec<usize> = (0..n).map(|_| pick.next(LIVE)).collect();
                // Touch the tokens, as the request parsing above does.
                for &i in &batch {
                    black_box(p.token(i));
                }
                let start = Instant::now();
                for &i in &batch {
                    black_box(
                        run(p.server.access_token_info(p.token(i)))
                            .unwrap()
                            .unwrap(),
                    );
                }
                total += start.elapsed();
                left -= n;
            }
            total
        })
    });

    // Cross-check: one token over and over, so its store entries stay in
    // cache: the cost without memory latency.
    let hot = p.parts(12_345);
    group.bench_function("validate/1m_live_tokens_same_token", |b| {
        b.iter(|| run(p.validator.validate(black_box(&hot), &required)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bearer_validation);
criterion_main!(benches);
