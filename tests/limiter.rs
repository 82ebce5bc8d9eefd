//! The in-process limiter's memory bound (RFC 6749 §2.3.1, RFC 6819
//! §5.1.4.2.3): under a flood of a million distinct keys it never holds more
//! than its capacity, and a blocked key that keeps being tried stays
//! blocked throughout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::time::{Duration, SystemTime};

use portcullis::client::{Admission, AuthLimiter, MemoryLimiter, ThrottlePolicy};

/// The memory limiter's futures are complete when returned.
fn now_or_never<F: Future>(f: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(f).poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("the memory limiter never waits"),
    }
}

fn admit(limiter: &MemoryLimiter, key: &str, at: SystemTime) -> Admission {
    now_or_never(limiter.admit(key, at)).unwrap()
}

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

const FLOOD: u64 = 1_000_000;

/// A million distinct keys, each failing once (as a guesser trying made-up
/// user names, or a source per IPv6 address, would): the limiter holds at
/// most its capacity, and the attacked key, blocked, is refused throughout.
#[test]
fn a_million_keys_stay_within_the_default_capacity() {
    let policy = ThrottlePolicy::default()
        .with_allowed_failures(0)
        .with_initial_delay(Duration::from_secs(3600))
        .with_max_delay(Duration::from_secs(3600));
    let limiter = MemoryLimiter::new(policy);
    assert_eq!(limiter.capacity(), MemoryLimiter::DEFAULT_CAPACITY);
    assert_eq!(admit(&limiter, "victim", t0()), Admission::Allow);
    let mut most = 0;
    for i in 0..FLOOD {
        // A thousand keys a second, over about seventeen minutes.
        let at = t0() + Duration::from_millis(i + 1);
        admit(&limiter, &format!("flood-{i}"), at);
        if i % 1000 == 0 {
            // The guesser keeps trying the victim: refused every time.
            assert!(
                matches!(admit(&limiter, "victim", at), Admission::Refuse { .. }),
                "the blocked key was forgotten after {i} flood keys"
            );
            most = most.max(limiter.len());
        }
    }
    most = most.max(limiter.len());
    assert!(
        most <= MemoryLimiter::DEFAULT_CAPACITY,
        "{most} keys held, past the capacity"
    );
    assert!(matches!(
        admit(&limiter, "victim", t0() + Duration::from_secs(1800)),
        Admission::Refuse { .. }
    ));
}

/// The same flood against a small capacity, counted after every admission;
/// and the trade-off it bounds memory with: a blocked key no one tries any
/// more is the quietest, and a flood past the capacity forgets it.
#[test]
fn a_flood_past_the_capacity_forgets_only_the_quietest() {
    let policy = ThrottlePolicy::default()
        .with_allowed_failures(0)
        .with_initial_delay(Duration::from_secs(3600))
        .with_max_delay(Duration::from_secs(3600));
    let limiter = MemoryLimiter::new(policy).with_capacity(10_000);
    assert_eq!(admit(&limiter, "tried", t0()), Admission::Allow);
    assert_eq!(admit(&limiter, "left-alone", t0()), Admission::Allow);
    for i in 0..FLOOD / 10 {
        let at = t0() + Duration::from_millis(i + 1);
        admit(&limiter, &format!("flood-{i}"), at);
        assert!(limiter.len() <= 10_000, "{} keys held", limiter.len());
        if i % 100 == 0 {
            assert!(matches!(
                admit(&limiter, "tried", at),
                Admission::Refuse { .. }
            ));
        }
    }
    let later = t0() + Duration::from_secs(1800);
    assert!(matches!(
        admit(&limiter, "tried", later),
        Admission::Refuse { .. }
    ));
    assert_eq!(
        admit(&limiter, "left-alone", later),
        Admission::Allow,
        "a blocked key left alone through a flood past the capacity is forgotten"
    );
}

/// Keys that fail within the allowance are not blocked, and go before
/// blocked ones: a flood of them, however large, never frees a blocked key.
#[test]
fn a_flood_of_keys_within_their_allowance_never_frees_a_blocked_key() {
    let limiter = MemoryLimiter::new(
        ThrottlePolicy::default()
            .with_initial_delay(Duration::from_secs(3600))
            .with_max_delay(Duration::from_secs(3600)),
    )
    .with_capacity(1000);
    for _ in 0..6 {
        assert_eq!(admit(&limiter, "blocked", t0()), Admission::Allow);
    }
    for i in 0..FLOOD / 10 {
        admit(
            &limiter,
            &format!("flood-{i}"),
            t0() + Duration::from_millis(i + 1),
        );
    }
    assert!(limiter.len() <= 1000);
    assert!(matches!(
        admit(&limiter, "blocked", t0() + Duration::from_secs(1800)),
        Admission::Refuse { .. }
    ));
}

/// A key whose attempts all succeeded is forgotten at once; a quiet one
/// within a quarter of the reset period after it fell quiet.
#[test]
fn keys_are_held_only_while_they_matter() {
    let limiter = MemoryLimiter::new(ThrottlePolicy::default());
    for i in 0..100 {
        let key = format!("right-{i}");
        assert_eq!(admit(&limiter, &key, t0()), Admission::Allow);
        now_or_never(limiter.succeeded(&key, t0())).unwrap();
    }
    assert!(limiter.is_empty());
    for i in 0..100 {
        admit(&limiter, &format!("wrong-{i}"), t0());
    }
    assert_eq!(limiter.len(), 100);
    // An hour and a quarter on, the next attempts forget them, shard by shard.
    let later = t0() + Duration::from_secs(3600 + 900);
    for i in 0..100 {
        admit(&limiter, &format!("new-{i}"), later);
    }
    assert_eq!(limiter.len(), 100);
}
