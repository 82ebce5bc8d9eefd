//! The [`AuthLimiter`] contracts (RFC 6749 §2.3.1, RFC 6819 §5.1.4.2.3):
//! atomic admission under a thousand concurrent attempts, refusals not
//! counted, successes taken back one at a time, independent keys, a fresh
//! start after a quiet period, and replicas sharing counts.
//!
//! Each case takes two limiters made with [`limiter_policy`] on one fresh
//! storage, as two replicas of a server would open it (for an in-process
//! limiter, two clones of one), and uses keys of its own.

use std::time::Duration;

use crate::client::{Admission, AuthLimiter, ThrottlePolicy};
use crate::testing::fixtures::{HOUR, Racer, SECOND, now, ok, race};

/// The policy every limiter case is run with: three failures free,
/// then 10 seconds doubling up to 80, and a fresh start after an hour.
pub fn limiter_policy() -> ThrottlePolicy {
    ThrottlePolicy::default()
        .with_allowed_failures(ALLOWED)
        .with_initial_delay(10 * SECOND)
        .with_max_delay(80 * SECOND)
        .with_reset_after(HOUR)
}

/// The failures [`limiter_policy`] lets pass.
const ALLOWED: u32 = 3;

/// Attempts admitted from a fresh key before it is blocked: the free ones,
/// and the one that sets the first block.
const ADMITTED: usize = ALLOWED as usize + 1;

/// Concurrent attempts released at once against one key.
pub const LIMITER_RACERS: usize = 1000;

fn refused(secs: u64) -> Admission {
    Admission::Refuse {
        retry_after: Duration::from_secs(secs),
    }
}

async fn admit<L: AuthLimiter>(limiter: &L, key: &str, at: std::time::SystemTime) -> Admission {
    ok(limiter.admit(key, at).await, "admit")
}

async fn succeeded<L: AuthLimiter>(limiter: &L, key: &str, at: std::time::SystemTime) {
    ok(limiter.succeeded(key, at).await, "succeeded");
}

/// `racers` attempts at `key` at `at`, released at once, alternating between
/// the two replicas.
async fn burst<S: AuthLimiter + Clone>(
    (a, b): &(S, S),
    key: &str,
    at: std::time::SystemTime,
    racers: usize,
) -> Vec<Admission> {
    let tasks = (0..racers)
        .map(|i| {
            let limiter = if i % 2 == 0 { a.clone() } else { b.clone() };
            let key = key.to_owned();
            Box::pin(async move { ok(limiter.admit(&key, at).await, "admit") }) as Racer<Admission>
        })
        .collect();
    race(tasks).await
}

fn allowed(results: &[Admission]) -> usize {
    results.iter().filter(|r| **r == Admission::Allow).count()
}

/// Of a thousand concurrent attempts at one key, on two replicas, exactly
/// the policy's allowance and the one that sets the first block are
/// admitted; every other is refused until that block ends. Once it ends,
/// of another burst exactly one is admitted.
pub async fn concurrent_admissions_admit_the_allowance_and_one<S: AuthLimiter + Clone>(
    replicas: (S, S),
) {
    let t = now();
    let results = burst(&replicas, "burst", t, LIMITER_RACERS).await;
    assert_eq!(
        allowed(&results),
        ADMITTED,
        "admit let {} of {LIMITER_RACERS} concurrent attempts through, the policy {ADMITTED}: \
         admit must decide and count in one atomic step",
        allowed(&results)
    );
    for result in results.iter().filter(|r| **r != Admission::Allow) {
        assert_eq!(
            *result,
            refused(10),
            "a refused attempt must name the wait of the block that refused it"
        );
    }
    let results = burst(&replicas, "burst", t + 10 * SECOND, LIMITER_RACERS / 10).await;
    assert_eq!(
        allowed(&results),
        1,
        "once a block ends, one attempt is admitted and sets the next: admit let {} through",
        allowed(&results)
    );
}

/// Refused attempts are not counted: however many are refused, the block
/// ends when the policy says, one attempt is then admitted, and the next
/// wait is the one its count earns.
pub async fn refused_attempts_are_not_counted<S: AuthLimiter + Clone>((a, b): (S, S)) {
    let t = now();
    for _ in 0..ADMITTED {
        assert_eq!(admit(&a, "refused", t).await, Admission::Allow);
    }
    for i in 0..100 {
        assert_eq!(
            admit(if i % 2 == 0 { &a } else { &b }, "refused", t + SECOND).await,
            refused(9),
            "a blocked key is refused, with the time left of its block"
        );
    }
    assert_eq!(
        admit(&b, "refused", t + 10 * SECOND).await,
        Admission::Allow,
        "refused attempts must not count: the block ends when the policy says"
    );
    assert_eq!(
        admit(&a, "refused", t + 10 * SECOND).await,
        refused(20),
        "the attempt admitted after a block counts, and doubles the wait"
    );
}

/// Each admitted failure past the allowance doubles the wait, up to the
/// ceiling.
pub async fn waits_double_up_to_the_ceiling<S: AuthLimiter + Clone>((a, _): (S, S)) {
    let t = now();
    for _ in 0..ADMITTED {
        assert_eq!(admit(&a, "doubling", t).await, Admission::Allow);
    }
    let mut at = t;
    for wait in [10, 20, 40, 80, 80, 80] {
        assert_eq!(admit(&a, "doubling", at).await, refused(wait));
        at += Duration::from_secs(wait);
        assert_eq!(admit(&a, "doubling", at).await, Admission::Allow);
    }
}

/// A success takes back its own attempt, and only it: the block that
/// attempt set goes with it — a right secret never leaves its holder
/// waiting — but the failures before it still count, so the next failure
/// blocks again.
pub async fn a_success_uncounts_its_own_attempt_only<S: AuthLimiter + Clone>((a, b): (S, S)) {
    let t = now();
    for _ in 0..ADMITTED {
        assert_eq!(admit(&a, "success", t).await, Admission::Allow);
    }
    // The last admitted attempt, which set the block, was right.
    succeeded(&b, "success", t).await;
    assert_eq!(
        admit(&a, "success", t).await,
        Admission::Allow,
        "a success within the allowance takes back its attempt and the block it set"
    );
    assert_eq!(
        admit(&a, "success", t).await,
        refused(10),
        "a success takes back one attempt only: the failures before it still count"
    );
    assert_eq!(
        admit(&a, "success", t + 10 * SECOND).await,
        Admission::Allow
    );
    succeeded(&b, "success", t + 10 * SECOND).await;
    assert_eq!(
        admit(&a, "success", t + 10 * SECOND).await,
        Admission::Allow,
        "past the allowance too, a success lifts the block its own admission set"
    );
    assert!(
        matches!(
            admit(&a, "success", t + 10 * SECOND).await,
            Admission::Refuse { .. }
        ),
        "and the failures before it still count: the next failure blocks again"
    );
}

/// A key whose every admitted attempt succeeds counts nothing: it is never
/// refused, and starts with its whole allowance.
pub async fn a_key_whose_attempts_all_succeed_is_never_refused<S: AuthLimiter + Clone>(
    (a, b): (S, S),
) {
    let t = now();
    for i in 0..50 {
        assert_eq!(
            admit(&a, "always-right", t).await,
            Admission::Allow,
            "attempt {i} refused though every attempt before it succeeded"
        );
        succeeded(&b, "always-right", t).await;
    }
    for _ in 0..ADMITTED {
        assert_eq!(admit(&b, "always-right", t).await, Admission::Allow);
    }
    assert_eq!(admit(&a, "always-right", t).await, refused(10));
}

/// Concurrent successes each take back exactly one attempt: after a burst
/// of attempts that all turn out right, the key counts nothing.
pub async fn concurrent_successes_uncount_exactly<S: AuthLimiter + Clone>((a, b): (S, S)) {
    let t = now();
    let tasks = (0..64)
        .map(|i| {
            let limiter = if i % 2 == 0 { a.clone() } else { b.clone() };
            Box::pin(async move {
                let admission = ok(limiter.admit("all-right", t).await, "admit");
                if admission == Admission::Allow {
                    ok(limiter.succeeded("all-right", t).await, "succeeded");
                }
                admission
            }) as Racer<Admission>
        })
        .collect();
    let results = race(tasks).await;
    assert!(allowed(&results) >= 1);
    for _ in 0..ADMITTED {
        assert_eq!(
            admit(&a, "all-right", t).await,
            Admission::Allow,
            "every admitted attempt succeeded, so none may count"
        );
    }
    assert_eq!(admit(&b, "all-right", t).await, refused(10));
}

/// Keys are independent: blocking one leaves another its whole allowance,
/// in sequence and under concurrent bursts at both.
pub async fn limiter_keys_are_independent<S: AuthLimiter + Clone>(replicas: (S, S)) {
    let t = now();
    let (a, b) = &replicas;
    for _ in 0..ADMITTED {
        assert_eq!(admit(a, "one", t).await, Admission::Allow);
    }
    assert_eq!(admit(b, "one", t).await, refused(10));
    for _ in 0..ADMITTED {
        assert_eq!(
            admit(b, "two", t).await,
            Admission::Allow,
            "another key's block must not touch this one"
        );
    }
    // One burst at two keys, interleaved.
    let tasks = (0..200)
        .map(|i| {
            let limiter = if i % 4 < 2 { a.clone() } else { b.clone() };
            let key = if i % 2 == 0 { "three" } else { "four" };
            Box::pin(async move { (key, ok(limiter.admit(key, t).await, "admit")) })
                as Racer<(&'static str, Admission)>
        })
        .collect();
    let results = race(tasks).await;
    for key in ["three", "four"] {
        let of_key: Vec<_> = results
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, r)| *r)
            .collect();
        assert_eq!(
            allowed(&of_key),
            ADMITTED,
            "concurrent bursts at two keys: each key admits its own allowance and one"
        );
    }
}

/// A key quiet for the policy's reset period starts afresh; one quiet for
/// less still counts its failures.
pub async fn a_quiet_key_starts_afresh<S: AuthLimiter + Clone>((a, b): (S, S)) {
    let t = now();
    for _ in 0..ADMITTED {
        assert_eq!(admit(&a, "quiet", t).await, Admission::Allow);
    }
    let almost = t + HOUR - SECOND;
    assert_eq!(admit(&b, "quiet", almost).await, Admission::Allow);
    assert_eq!(
        admit(&a, "quiet", almost).await,
        refused(20),
        "a key quiet for less than the reset period still counts its failures"
    );
    let quiet = almost + HOUR;
    for _ in 0..ADMITTED {
        assert_eq!(
            admit(&b, "quiet", quiet).await,
            Admission::Allow,
            "a key quiet for the reset period starts with its whole allowance"
        );
    }
    assert_eq!(admit(&a, "quiet", quiet).await, refused(10));
}

/// Two limiters on one storage, as two replicas, share counts: attempts
/// and successes on one are seen by the other at once.
pub async fn replicas_share_counts<S: AuthLimiter + Clone>((a, b): (S, S)) {
    let t = now();
    assert_eq!(admit(&a, "shared", t).await, Admission::Allow);
    assert_eq!(admit(&b, "shared", t).await, Admission::Allow);
    assert_eq!(admit(&a, "shared", t).await, Admission::Allow);
    succeeded(&b, "shared", t).await;
    assert_eq!(admit(&b, "shared", t).await, Admission::Allow);
    assert_eq!(
        admit(&a, "shared", t).await,
        Admission::Allow,
        "the fourth attempt counted on either replica sets the block"
    );
    assert_eq!(
        admit(&b, "shared", t).await,
        refused(10),
        "a block set on one replica must refuse on the other"
    );
    assert_eq!(admit(&a, "shared", t).await, refused(10));
}
