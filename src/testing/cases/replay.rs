//! The [`ReplayCache`] contracts (RFC 7523 §3 item 7, RFC 7521 §8.2): a
//! key's first use is recorded and every later one refused while the
//! record lives; concurrent first uses, on two replicas, record exactly
//! one; keys are independent; an expired record lets the key be used
//! again; purging deletes only expired records.
//!
//! Each case takes two caches on one fresh storage, as two replicas of a
//! server would open it (for an in-process cache, two clones of one), and
//! uses keys of its own.

use crate::store::{ReplayCache, ReplayKey};
use crate::testing::fixtures::{MINUTE, Racer, SECOND, now, ok, race};

/// Concurrent first uses of one key, released at once.
pub const REPLAY_RACERS: usize = 64;

fn key(name: &str) -> ReplayKey {
    ReplayKey::new(ReplayKey::CLIENT_ASSERTION, &["conformance-client", name])
}

/// The first use of a key is `true`; every later one, on either replica,
/// is `false` while its record lives.
pub async fn a_key_is_used_once<S: ReplayCache + Clone>((a, b): (S, S)) {
    let t = now();
    let k = key("once");
    assert!(
        ok(a.first_use(&k, t + 5 * MINUTE, t).await, "first_use"),
        "first_use of a new key must be true"
    );
    assert!(
        !ok(
            a.first_use(&k, t + 5 * MINUTE, t + SECOND).await,
            "first_use"
        ),
        "a second use of a live key must be false"
    );
    assert!(
        !ok(
            b.first_use(&k, t + 5 * MINUTE, t + 2 * SECOND).await,
            "first_use"
        ),
        "a use on another replica must see the record"
    );
}

/// Of [`REPLAY_RACERS`] simultaneous first uses of one key, alternating
/// between two replicas, exactly one is `true`.
pub async fn concurrent_first_uses_record_one<S: ReplayCache + Clone>((a, b): (S, S)) {
    let t = now();
    let k = key("race");
    let tasks = (0..REPLAY_RACERS)
        .map(|i| {
            let cache = if i % 2 == 0 { a.clone() } else { b.clone() };
            Box::pin(async move { ok(cache.first_use(&k, t + MINUTE, t).await, "first_use") })
                as Racer<bool>
        })
        .collect();
    let firsts = race(tasks).await.into_iter().filter(|f| *f).count();
    assert_eq!(
        firsts, 1,
        "of {REPLAY_RACERS} concurrent first uses of one key, exactly one must be true"
    );
}

/// Keys are independent: using one does not use another, nor the same
/// parts under another purpose.
pub async fn replay_keys_are_independent<S: ReplayCache + Clone>((a, _): (S, S)) {
    let t = now();
    assert!(ok(
        a.first_use(&key("one"), t + MINUTE, t).await,
        "first_use"
    ));
    assert!(
        ok(a.first_use(&key("two"), t + MINUTE, t).await, "first_use"),
        "another key must have its own first use"
    );
    let other_purpose = ReplayKey::new("dpop_proof", &["conformance-client", "one"]);
    assert!(
        ok(
            a.first_use(&other_purpose, t + MINUTE, t).await,
            "first_use"
        ),
        "the same parts under another purpose must be another key"
    );
}

/// A record lives until its expiry: refused just before it, a first use
/// again at it.
pub async fn an_expired_record_frees_its_key<S: ReplayCache + Clone>((a, b): (S, S)) {
    let t = now();
    let k = key("expiring");
    assert!(ok(a.first_use(&k, t + MINUTE, t).await, "first_use"));
    assert!(
        !ok(
            b.first_use(&k, t + 2 * MINUTE, t + MINUTE - SECOND).await,
            "first_use"
        ),
        "a record must live until its expiry"
    );
    assert!(
        ok(
            b.first_use(&k, t + 3 * MINUTE, t + MINUTE).await,
            "first_use"
        ),
        "a record expired at `now` must let its key be used again"
    );
    assert!(
        !ok(
            a.first_use(&k, t + 3 * MINUTE, t + 2 * MINUTE).await,
            "first_use"
        ),
        "the renewed record must have the new expiry"
    );
}

/// Purging deletes the expired records, counting them, and keeps the live
/// ones.
pub async fn purge_expired_replays_removes_only_the_dead<S: ReplayCache + Clone>((a, _): (S, S)) {
    let t = now();
    assert!(ok(
        a.first_use(&key("dead"), t + MINUTE, t).await,
        "first_use"
    ));
    assert!(ok(
        a.first_use(&key("live"), t + 10 * MINUTE, t).await,
        "first_use"
    ));
    let purged = ok(
        a.purge_expired_replays(t + 2 * MINUTE).await,
        "purge_expired_replays",
    );
    assert_eq!(purged, 1, "exactly the expired record must be purged");
    assert!(
        !ok(
            a.first_use(&key("live"), t + 10 * MINUTE, t + 3 * MINUTE)
                .await,
            "first_use"
        ),
        "a live record must survive a purge"
    );
}
