//! Brute-force protection for client authentication (RFC 6749 §2.3.1: the
//! server "MUST protect any endpoint utilizing [password authentication]
//! against brute force attacks"; RFC 6819 §5.1.4.2.3, §5.2.3.5).
//!
//! The server asks the [`AuthLimiter`] before it checks a secret, and tells it
//! of every failure. The built-in policy lets a few failures pass, then makes
//! the client wait before each further attempt — a delay that doubles with each
//! failure up to a ceiling. While a client must wait, every attempt is refused
//! without looking at the secret (`429 Too Many Requests` with `Retry-After`),
//! so a guesser learns nothing and gets at most one guess per delay.
//!
//! Failures are forgotten only after a quiet period, never because of a
//! success: otherwise a guesser could slip guesses between a busy client's
//! legitimate requests and never be slowed.
//!
//! Trade-offs, stated plainly:
//!
//! - Throttling is keyed by `client_id` and recorded only for registered
//!   clients, so made-up identifiers cannot fill memory. Someone who knows a
//!   `client_id` (not a secret, RFC 6749 §2.2) can therefore delay that client,
//!   and can tell registered identifiers from others by the `429`.
//! - [`check`](AuthLimiter::check) and [`record_failure`](AuthLimiter::record_failure)
//!   are separate steps, so requests already between the two when a limit is
//!   reached are still verified. With the in-process limiter that window is
//!   the verification itself (a SHA-256 for generated client secrets); a
//!   shared limiter with network round trips should count attempts in `check`
//!   to keep it small. The password grant, whose check is a slow hash of a
//!   low-entropy secret, also lets only one request at a time check a given
//!   user's password ([`PasswordGrant`](crate::grant::PasswordGrant)).
//!
//! A fleet shares one limiter by implementing the trait on a shared store.

use std::collections::HashMap;
use std::fmt;
use std::future::{Future, ready};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use crate::erased::erased_twin;
use crate::error::StoreError;

/// What the limiter says of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Admission {
    /// Go ahead and check the credentials.
    Allow,
    /// Refuse without checking the credentials.
    Refuse {
        /// How long until the next attempt is allowed.
        retry_after: Duration,
    },
}

impl Admission {
    /// The admission of a key blocked until `blocked_until`, at `now`.
    pub(crate) fn until(blocked_until: SystemTime, now: SystemTime) -> Self {
        match blocked_until.duration_since(now) {
            Ok(wait) if !wait.is_zero() => Admission::Refuse { retry_after: wait },
            _ => Admission::Allow,
        }
    }
}

/// Admits or refuses attempts at a secret — atomically, before the secret is
/// checked — and counts them.
///
/// An admitted attempt counts as a failure from the moment it is admitted;
/// [`succeeded`](Self::succeeded) takes the count back when it turns out
/// right. So requests in flight count against the policy before their
/// verification ends, and a burst of concurrent guesses cannot slip past
/// it however slow the verification or the limiter's store.
///
/// # Contracts
///
/// - [`admit`](Self::admit) decides and counts in one atomic step: of any
///   number of concurrent calls for one key, on any replica sharing the
///   limiter, no more are admitted than the policy lets through.
/// - A refused attempt is not counted: a blocked key stays blocked for the
///   time its policy says, however many attempts are refused meanwhile.
/// - `succeeded` uncounts one admitted attempt; the failures before it still
///   count. A success never resets a key: else a guesser could slip guesses
///   between a busy client's legitimate requests and never be slowed.
/// - After either returns, every replica sharing the limiter sees it.
pub trait AuthLimiter: Send + Sync + 'static {
    /// Admits one attempt for `key` at `now`, counting it, or refuses it
    /// without counting it.
    fn admit(
        &self,
        key: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Admission, StoreError>> + Send;

    /// The attempt admitted for `key` succeeded: it no longer counts.
    fn succeeded(
        &self,
        key: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// When to slow down and refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThrottlePolicy {
    /// Failures that cost nothing (a client mistyping its configuration).
    /// Default: 5.
    pub allowed_failures: u32,
    /// The wait after the first failure beyond `allowed_failures`; each further
    /// failure doubles it. Default: 1 second.
    pub initial_delay: Duration,
    /// The longest wait. Default: 5 minutes.
    pub max_delay: Duration,
    /// A key with no failure for this long starts afresh. Default: 1 hour.
    pub reset_after: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            allowed_failures: 5,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            reset_after: Duration::from_secs(3600),
        }
    }
}

impl ThrottlePolicy {
    /// Sets [`allowed_failures`](Self::allowed_failures).
    pub fn with_allowed_failures(mut self, n: u32) -> Self {
        self.allowed_failures = n;
        self
    }

    /// Sets [`initial_delay`](Self::initial_delay).
    pub fn with_initial_delay(mut self, d: Duration) -> Self {
        self.initial_delay = d;
        self
    }

    /// Sets [`max_delay`](Self::max_delay).
    pub fn with_max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// Sets [`reset_after`](Self::reset_after).
    pub fn with_reset_after(mut self, d: Duration) -> Self {
        self.reset_after = d;
        self
    }

    /// Whether a key whose last failure was at `last_failure` still counts
    /// its failures at `now` (it has not been quiet for `reset_after`).
    pub(crate) fn remembers(&self, last_failure: SystemTime, now: SystemTime) -> bool {
        now.duration_since(last_failure)
            .map_or(true, |quiet| quiet < self.reset_after)
    }

    /// Until when a key with `failures` failures, the last at `now`, waits.
    /// A policy's delay is the host's to choose; one past what the clock can
    /// represent blocks for as long as it can, rather than panicking.
    pub(crate) fn blocked_until(&self, failures: u32, now: SystemTime) -> SystemTime {
        now.checked_add(self.delay(failures))
            .unwrap_or(now + MAX_BLOCK)
    }

    /// The wait imposed after `failures` failures.
    pub(crate) fn delay(&self, failures: u32) -> Duration {
        let over = failures.saturating_sub(self.allowed_failures);
        if over == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(over - 1).unwrap_or(u32::MAX);
        self.initial_delay
            .checked_mul(factor)
            .map_or(self.max_delay, |d| d.min(self.max_delay))
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: SystemTime,
    blocked_until: SystemTime,
}

/// How long a key stays blocked when its policy's delay is past what the clock
/// can represent: a century.
const MAX_BLOCK: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The most keys one shard tracks before it forgets quiet ones.
const SHARD_SOFT_LIMIT: usize = 4096;
const SHARDS: usize = 8;

/// An in-process [`AuthLimiter`] with a [`ThrottlePolicy`].
pub struct MemoryLimiter {
    policy: ThrottlePolicy,
    shards: [Mutex<HashMap<String, Entry>>; SHARDS],
    /// Keys held, across shards: while none is, a check has nothing to look
    /// up and takes no lock (the usual state of a server no one is guessing
    /// at). Keys leave when a check finds them quiet past the policy's reset
    /// period, or when a full shard forgets its quiet ones.
    tracked: AtomicUsize,
}

impl MemoryLimiter {
    /// A limiter with `policy`.
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
            tracked: AtomicUsize::new(0),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    fn shard(&self, key: &str) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // FNV-1a: a stable spread of keys over shards; the maps themselves use
        // SipHash, since keys come from requests.
        let mut h: u32 = 0x811c_9dc5;
        for b in key.bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        let index = h as usize % SHARDS;
        let lock = self.shards.get(index).unwrap_or(&self.shards[0]);
        lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh(&self, entry: &Entry, now: SystemTime) -> bool {
        self.policy.remembers(entry.last_failure, now)
    }
}

impl Default for MemoryLimiter {
    fn default() -> Self {
        Self::new(ThrottlePolicy::default())
    }
}

impl fmt::Debug for MemoryLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLimiter")
            .field("policy", &self.policy)
            .finish()
    }
}

// In-memory work is done when called; the returned futures are complete.
impl AuthLimiter for MemoryLimiter {
    fn admit(
        &self,
        key: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Admission, StoreError>> + Send {
        let mut shard = self.shard(key);
        let failures = match shard.get(key) {
            Some(entry) if self.fresh(entry, now) => {
                if let Admission::Refuse { retry_after } =
                    Admission::until(entry.blocked_until, now)
                {
                    return ready(Ok(Admission::Refuse { retry_after }));
                }
                entry.failures.saturating_add(1)
            }
            _ => 1,
        };
        if shard.len() >= SHARD_SOFT_LIMIT && !shard.contains_key(key) {
            let before = shard.len();
            shard.retain(|_, e| self.fresh(e, now));
            self.tracked
                .fetch_sub(before - shard.len(), Ordering::Release);
        }
        let entry = Entry {
            failures,
            last_failure: now,
            blocked_until: self.policy.blocked_until(failures, now),
        };
        if shard.insert(key.to_owned(), entry).is_none() {
            self.tracked.fetch_add(1, Ordering::Release);
        }
        ready(Ok(Admission::Allow))
    }

    fn succeeded(
        &self,
        key: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let mut shard = self.shard(key);
        if let Some(entry) = shard.get_mut(key) {
            entry.failures = entry.failures.saturating_sub(1);
            if entry.failures == 0 {
                shard.remove(key);
                self.tracked.fetch_sub(1, Ordering::Release);
            } else if self.policy.delay(entry.failures).is_zero() {
                // Within the failures the policy lets pass: the block this
                // attempt's admission set goes with its count.
                entry.blocked_until = entry.blocked_until.min(now);
            }
        }
        ready(Ok(()))
    }
}

erased_twin! {
    /// The object-safe form of [`AuthLimiter`] that the server holds.
    DynAuthLimiter: AuthLimiter<'a> {
        fn admit(key: &'a str, now: SystemTime) -> Result<Admission, StoreError>;
        fn succeeded(key: &'a str, now: SystemTime) -> Result<(), StoreError>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(f: F) -> F::Output {
        // The memory limiter never awaits anything, so one poll completes it.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => unreachable!("memory limiter is synchronous"),
        }
    }

    #[test]
    fn delays_double_up_to_the_ceiling() {
        let p = ThrottlePolicy::default();
        assert_eq!(p.delay(5), Duration::ZERO);
        assert_eq!(p.delay(6), Duration::from_secs(1));
        assert_eq!(p.delay(7), Duration::from_secs(2));
        assert_eq!(p.delay(10), Duration::from_secs(16));
        assert_eq!(p.delay(100), Duration::from_secs(300));
        assert_eq!(p.delay(u32::MAX), Duration::from_secs(300));
    }

    fn admit(limiter: &MemoryLimiter, key: &str, at: SystemTime) -> Admission {
        block_on(AuthLimiter::admit(limiter, key, at)).unwrap()
    }

    #[test]
    fn refuses_while_blocked_then_allows_one_attempt() {
        let limiter = MemoryLimiter::new(ThrottlePolicy::default().with_allowed_failures(2));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        // Two free attempts, and a third that is checked but sets a block.
        for _ in 0..3 {
            assert_eq!(admit(&limiter, "c", t0), Admission::Allow);
        }
        assert_eq!(
            admit(&limiter, "c", t0),
            Admission::Refuse {
                retry_after: Duration::from_secs(1)
            }
        );
        assert_eq!(admit(&limiter, "other", t0), Admission::Allow);
        let later = t0 + Duration::from_secs(1);
        assert_eq!(admit(&limiter, "c", later), Admission::Allow);
        // That attempt counted: the next wait doubles.
        assert_eq!(
            admit(&limiter, "c", later),
            Admission::Refuse {
                retry_after: Duration::from_secs(2)
            }
        );
    }

    #[test]
    fn a_refused_attempt_does_not_count() {
        let limiter = MemoryLimiter::new(ThrottlePolicy::default().with_allowed_failures(0));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(admit(&limiter, "c", t0), Admission::Allow);
        for _ in 0..100 {
            assert!(matches!(admit(&limiter, "c", t0), Admission::Refuse { .. }));
        }
        // Still the first block (one second), not one grown by the refusals.
        let later = t0 + Duration::from_secs(1);
        assert_eq!(admit(&limiter, "c", later), Admission::Allow);
    }

    #[test]
    fn a_success_uncounts_its_own_attempt_only() {
        let limiter = MemoryLimiter::new(ThrottlePolicy::default().with_allowed_failures(2));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        // Two failures, then an attempt that succeeds: it does not count...
        assert_eq!(admit(&limiter, "c", t0), Admission::Allow);
        assert_eq!(admit(&limiter, "c", t0), Admission::Allow);
        assert_eq!(admit(&limiter, "c", t0), Admission::Allow);
        block_on(AuthLimiter::succeeded(&limiter, "c", t0)).unwrap();
        // ...so the next is still free, but the two failures still count:
        // the one after is the third failure, which blocks.
        assert_eq!(admit(&limiter, "c", t0), Admission::Allow);
        assert!(matches!(admit(&limiter, "c", t0), Admission::Refuse { .. }));
        // A key whose every attempt succeeded is forgotten.
        assert_eq!(admit(&limiter, "ok", t0), Admission::Allow);
        block_on(AuthLimiter::succeeded(&limiter, "ok", t0)).unwrap();
        assert!(!limiter.shard("ok").contains_key("ok"));
    }

    #[test]
    fn concurrent_admissions_let_through_no_more_than_the_policy() {
        let limiter =
            std::sync::Arc::new(MemoryLimiter::new(ThrottlePolicy::default().with_allowed_failures(5)));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let admitted = std::sync::Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (limiter, admitted) = (limiter.clone(), admitted.clone());
                std::thread::spawn(move || {
                    for _ in 0..125 {
                        if admit(&limiter, "c", t0) == Admission::Allow {
                            admitted.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        // Five free attempts and the sixth, which sets the block.
        assert_eq!(admitted.load(Ordering::SeqCst), 6);
    }

    #[test]
    fn forgetting_quiet_keys_keeps_the_blocked_ones_counted() {
        let limiter = MemoryLimiter::new(ThrottlePolicy::default().with_allowed_failures(0));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let tracked = |l: &MemoryLimiter| l.tracked.load(Ordering::Acquire);
        for i in 0..SHARDS * SHARD_SOFT_LIMIT {
            admit(&limiter, &format!("quiet{i}"), t0);
        }
        assert_eq!(tracked(&limiter), SHARDS * SHARD_SOFT_LIMIT);
        // An hour on, every shard that takes a new key forgets its quiet ones.
        let later = t0 + Duration::from_secs(3601);
        for i in 0..64 {
            admit(&limiter, &format!("new{i}"), later);
        }
        let held: usize = limiter.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert_eq!(tracked(&limiter), held);
        assert!(held < SHARDS * SHARD_SOFT_LIMIT, "{held} keys held");
        assert!(matches!(
            admit(&limiter, "new7", later),
            Admission::Refuse { .. }
        ));
        assert_eq!(admit(&limiter, "unknown", later), Admission::Allow);
    }

    #[test]
    fn quiet_period_resets() {
        let limiter = MemoryLimiter::new(ThrottlePolicy::default().with_allowed_failures(0));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(admit(&limiter, "c", t0), Admission::Allow);
        assert!(matches!(admit(&limiter, "c", t0), Admission::Refuse { .. }));
        // An hour of quiet: the count starts afresh, at one.
        let much_later = t0 + Duration::from_secs(3601);
        assert_eq!(admit(&limiter, "c", much_later), Admission::Allow);
        assert_eq!(
            admit(&limiter, "c", much_later),
            Admission::Refuse {
                retry_after: Duration::from_secs(1)
            }
        );
    }
}
