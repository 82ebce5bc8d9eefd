//! Brute-force protection for secrets (RFC 6749 §2.3.1: the server "MUST
//! protect any endpoint utilizing [password authentication] against brute
//! force attacks"; RFC 6819 §5.1.4.2.3, §5.2.3.5).
//!
//! An [`AuthLimiter`] admits or refuses each attempt at a secret atomically,
//! *before* the secret is checked, and counts every admitted attempt as a
//! failure from that moment; an attempt that turns out right is taken back
//! ([`succeeded`](AuthLimiter::succeeded)). So a burst of concurrent guesses
//! cannot slip past the policy while earlier ones are being verified,
//! however slow the verification (an Argon2id hash) or the limiter's store
//! (a database across the network): of any number of concurrent attempts at
//! one key, on any replica sharing the limiter, no more are checked than the
//! policy allows. The [`testing`](crate::testing) module's
//! `run_limiter_conformance` holds a limiter to that, with a thousand
//! concurrent attempts.
//!
//! The built-in [`ThrottlePolicy`] lets a few failures pass, then makes the
//! key wait before each further attempt — a delay that doubles with each
//! failure up to a ceiling. While a key must wait, every attempt is refused
//! without looking at the secret (`429 Too Many Requests` with
//! `Retry-After`), so a guesser learns nothing and gets at most one guess per
//! delay. A refused attempt is not counted: a blocked key is blocked for the
//! time its policy says, not for as long as someone keeps knocking.
//!
//! Failures are forgotten after a quiet period (`reset_after`), never because
//! of a success, which takes back its own attempt only: otherwise a guesser
//! could slip guesses between a busy client's legitimate requests and never
//! be slowed.
//!
//! Trade-offs, stated plainly:
//!
//! - A key that can be blocked is a key someone can block: whoever knows a
//!   `client_id` (not a secret, RFC 6749 §2.2) could keep its client waiting.
//!   Client authentication therefore admits an attempt before verification
//!   only for secrets a person chose (stored with Argon2id), which a guesser
//!   could find; a generated 256-bit secret cannot be guessed, so its right
//!   value always authenticates and the limiter only counts and slows the
//!   wrong ones (RFC 6819 §5.1.4.2.3, §4.4.1.11).
//! - The [`MemoryLimiter`] holds at most a set number of keys. Past it, the
//!   quietest keys are forgotten first — those that cannot matter any more,
//!   then those not blocked, then blocked ones, the longest unseen first — so
//!   a guesser who can present that many distinct keys can make a blocked
//!   key's count forgotten. With keys per client that takes that many
//!   registered clients; with keys per source address it is cheap for
//!   anyone holding an IPv6 prefix, so key sources by network (a /64) rather
//!   than by address.
//!
//! A fleet shares one limiter by implementing the trait on a shared store:
//! [`SqlStore::limiter`](crate::store::SqlStore::limiter) does, with the
//! `sql` feature.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::future::{Future, ready};
use std::hash::BuildHasher as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::erased::erased_twin;
use crate::error::StoreError;

/// What the limiter says of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Admission {
    /// Go ahead and check the credentials: the attempt is counted.
    Allow,
    /// Refuse without checking the credentials: the attempt is not counted.
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
/// `portcullis::testing::run_limiter_conformance` (feature `testing`) checks
/// each of these against an implementation.
///
/// - [`admit`](Self::admit) decides and counts in one atomic step: of any
///   number of concurrent calls for one key, on any replica sharing the
///   limiter, no more are admitted than the policy lets through.
/// - A refused attempt is not counted: a blocked key stays blocked for the
///   time its policy says, however many attempts are refused meanwhile.
/// - `succeeded` uncounts one admitted attempt and lifts the block that
///   attempt's admission set, so a right secret never leaves its holder
///   waiting; only a right secret can lift a block. The failures before it
///   still count, so the next failure blocks again. A success never resets a
///   key: else a guesser could slip guesses
///   between a busy client's legitimate requests and never be slowed.
/// - Keys are independent, and a key quiet for the policy's reset period
///   starts afresh.
/// - After either returns, every replica sharing the limiter sees it.
pub trait AuthLimiter: Send + Sync + 'static {
    /// Admits one attempt for `key` at `now`, counting it, or refuses it
    /// without counting it.
    fn admit(
        &self,
        key: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Admission, StoreError>> + Send;

    /// The attempt admitted for `key` succeeded: it no longer counts, and
    /// the block its admission set is lifted.
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
    /// The longest wait. Default: 5 minutes. A wait is never longer than a
    /// century, whatever this says.
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
    /// Within the allowance it waits for nothing — not even until `now`: a
    /// concurrent attempt whose clock read a moment earlier must not find a
    /// block there. A policy's delay is the host's to choose; one past what
    /// the clock can represent blocks for as long as it can, rather than
    /// panicking.
    pub(crate) fn blocked_until(&self, failures: u32, now: SystemTime) -> SystemTime {
        let delay = self.delay(failures);
        if delay.is_zero() {
            return SystemTime::UNIX_EPOCH;
        }
        now.checked_add(delay).unwrap_or(now)
    }

    /// The wait imposed after `failures` failures: none within
    /// `allowed_failures`, then `initial_delay` doubled for each failure
    /// beyond the first over, up to the ceiling. The SQL limiter states the
    /// same function in SQL, from [`ceiling`](Self::ceiling) and
    /// [`doublings_to_ceiling`](Self::doublings_to_ceiling).
    pub(crate) fn delay(&self, failures: u32) -> Duration {
        let over = failures.saturating_sub(self.allowed_failures);
        if over == 0 {
            return Duration::ZERO;
        }
        let doublings = over - 1;
        if doublings >= self.doublings_to_ceiling() {
            return self.ceiling();
        }
        // Below the ceiling by construction, so below a century: no overflow.
        Duration::from_nanos(self.initial_nanos() << doublings)
    }

    /// The longest wait: `max_delay`, at most a century; none if there is
    /// no initial delay to double.
    pub(crate) fn ceiling(&self) -> Duration {
        if self.initial_delay.is_zero() {
            return Duration::ZERO;
        }
        self.max_delay.min(MAX_BLOCK)
    }

    /// `initial_delay` in nanoseconds, at most a century's.
    pub(crate) fn initial_nanos(&self) -> u64 {
        duration_nanos(self.initial_delay.min(MAX_BLOCK))
    }

    /// The doublings of `initial_delay` that reach the ceiling: the least
    /// `k` with `initial_delay · 2^k ≥ ceiling`, and at most 62, so that
    /// every wait below the ceiling is computed within an `i64` of
    /// nanoseconds.
    pub(crate) fn doublings_to_ceiling(&self) -> u32 {
        let (initial, ceiling) = (self.initial_nanos(), duration_nanos(self.ceiling()));
        (0..62)
            .find(|&k| u128::from(initial) << k >= u128::from(ceiling))
            .unwrap_or(62)
    }
}

/// A duration of at most a century, in nanoseconds.
fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The longest wait whatever the policy says: a century, which is forever
/// for a server and keeps every time the limiters compute within an `i64` of
/// nanoseconds since 1970 until the year 2170.
const MAX_BLOCK: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Shards of the memory limiter, each under a lock of its own.
const SHARDS: usize = 8;

/// A full shard makes room for this fraction of its capacity at once, so
/// the pass that finds the quietest keys is paid once per so many new keys.
const EVICTION_BATCH_DIVISOR: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: SystemTime,
    blocked_until: SystemTime,
    /// The last attempt, admitted or refused: how recently the key mattered,
    /// for eviction only (a refused attempt does not count as a failure).
    last_seen: SystemTime,
}

impl Entry {
    /// A key's state after an admitted attempt, its `failures`-th, at `now`.
    fn admitted(failures: u32, now: SystemTime, policy: &ThrottlePolicy) -> Self {
        Self {
            failures,
            last_failure: now,
            blocked_until: policy.blocked_until(failures, now),
            last_seen: now,
        }
    }

    /// Where the key stands for eviction, least worth keeping first: keys
    /// not blocked before blocked ones (forgetting a blocked key hands its
    /// guesser a fresh allowance), then the longest unseen.
    fn rank(&self, now: SystemTime) -> (bool, SystemTime) {
        (self.blocked_until > now, self.last_seen)
    }
}

/// One shard's keys, and when it next forgets the quiet ones.
#[derive(Debug)]
struct Shard {
    keys: HashMap<String, Entry>,
    capacity: usize,
    next_sweep: Option<SystemTime>,
}

impl Shard {
    /// Forgets the keys quiet past the policy's reset period, at most once
    /// per quarter of that period: a pass over the shard paid by the
    /// admissions of that quarter.
    fn sweep(&mut self, now: SystemTime, policy: &ThrottlePolicy) {
        if self.next_sweep.is_some_and(|next| now < next) {
            return;
        }
        self.keys
            .retain(|_, e| policy.remembers(e.last_failure, now));
        self.next_sweep = now.checked_add(policy.reset_after / 4);
    }

    /// Makes room for one more key: forgets the keys that cannot matter any
    /// more, then, if the shard is still full, a batch of the quietest.
    fn make_room(&mut self, now: SystemTime, policy: &ThrottlePolicy) {
        self.keys
            .retain(|_, e| policy.remembers(e.last_failure, now));
        if self.keys.len() < self.capacity {
            return;
        }
        let excess = self.keys.len() + 1 - self.capacity;
        let batch = (self.capacity / EVICTION_BATCH_DIVISOR)
            .max(excess)
            .min(self.keys.len());
        let Some(last) = batch.checked_sub(1) else {
            return;
        };
        let mut ranks: Vec<_> = self.keys.values().map(|e| e.rank(now)).collect();
        let (_, &mut threshold, _) = ranks.select_nth_unstable(last);
        // Exactly `batch` keys go: all those ranked below the threshold, and
        // as many of those at it as make up the batch.
        let below = ranks.iter().filter(|r| **r < threshold).count();
        let mut ties = batch - below;
        self.keys.retain(|_, e| {
            let rank = e.rank(now);
            if rank < threshold {
                false
            } else if rank == threshold && ties > 0 {
                ties -= 1;
                false
            } else {
                true
            }
        });
    }
}

/// An in-process [`AuthLimiter`] with a [`ThrottlePolicy`]; clones share
/// their counts.
///
/// Each admission takes one of eight locks (keys are spread over them by a
/// keyed hash) for a map lookup and write; nothing awaits.
///
/// Its memory is bounded: it holds at most [`capacity`](Self::capacity) keys
/// ([`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) unless set with
/// [`with_capacity`](Self::with_capacity)), each a few dozen bytes beside
/// the key itself. A key is held only as long as it can matter: forgotten
/// when its attempts all succeeded, and within a quarter of `reset_after`
/// after it fell quiet. When a new key finds its shard full, the shard
/// forgets the quietest sixteenth of its keys at once (those quiet past
/// `reset_after` first, then those not blocked, then blocked ones, the
/// longest unseen first), so no admission scans the keys except one in so
/// many. A guesser able to present more distinct keys than the capacity can
/// thereby make a blocked key forgotten, unless it keeps being tried. With
/// keys per client that takes that many registered clients; with keys per
/// source address it is cheap for anyone holding an IPv6 prefix, so key
/// sources by network (a /64) rather than by address.
#[derive(Clone)]
pub struct MemoryLimiter {
    policy: ThrottlePolicy,
    capacity: usize,
    shards: Arc<[Mutex<Shard>; SHARDS]>,
    /// Spreads keys over shards. Keyed per limiter, so no one can choose
    /// keys that crowd into one shard and make its quietest keys forgotten
    /// with an eighth of the keys the capacity asks for.
    spread: RandomState,
}

impl MemoryLimiter {
    /// The keys a limiter holds unless told otherwise: at most some
    /// 15 MB with keys of a few dozen bytes.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A limiter with `policy`, holding at most [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY)
    /// keys.
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            capacity: Self::DEFAULT_CAPACITY,
            shards: shards(Self::DEFAULT_CAPACITY),
            spread: RandomState::new(),
        }
    }

    /// This limiter, empty, holding at most `capacity` keys — at least 8,
    /// one per shard.
    pub fn with_capacity(self, capacity: usize) -> Self {
        let capacity = capacity.max(SHARDS);
        Self {
            capacity,
            shards: shards(capacity),
            ..self
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// The most keys this limiter holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The keys held now: those with failures counted that still matter,
    /// and quiet ones not forgotten yet.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).keys.len()).sum()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, Shard> {
        let index = usize::try_from(self.spread.hash_one(key) % SHARDS as u64).unwrap_or(0);
        let shards: &[Mutex<Shard>; SHARDS] = &self.shards;
        lock(shards.get(index).unwrap_or(&shards[0]))
    }
}

/// A lock whose holder panicked still guards consistent entries: each
/// update is a single map operation.
fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(|p| p.into_inner())
}

/// Empty shards sharing `capacity` exactly.
fn shards(capacity: usize) -> Arc<[Mutex<Shard>; SHARDS]> {
    Arc::new(std::array::from_fn(|i| {
        let share = capacity / SHARDS + usize::from(i < capacity % SHARDS);
        Mutex::new(Shard {
            keys: HashMap::new(),
            capacity: share,
            next_sweep: None,
        })
    }))
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
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

// In-memory work is done when called; the returned futures are complete.
impl AuthLimiter for MemoryLimiter {
    fn admit(
        &self,
        key: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Admission, StoreError>> + Send {
        let policy = &self.policy;
        let mut shard = self.shard(key);
        shard.sweep(now, policy);
        if let Some(entry) = shard.keys.get_mut(key) {
            let failures = if policy.remembers(entry.last_failure, now) {
                if let refused @ Admission::Refuse { .. } =
                    Admission::until(entry.blocked_until, now)
                {
                    entry.last_seen = entry.last_seen.max(now);
                    return ready(Ok(refused));
                }
                entry.failures.saturating_add(1)
            } else {
                1
            };
            *entry = Entry::admitted(failures, now, policy);
            return ready(Ok(Admission::Allow));
        }
        if shard.keys.len() >= shard.capacity {
            shard.make_room(now, policy);
        }
        shard
            .keys
            .insert(key.to_owned(), Entry::admitted(1, now, policy));
        ready(Ok(Admission::Allow))
    }

    fn succeeded(
        &self,
        key: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let mut shard = self.shard(key);
        if let Some(entry) = shard.keys.get_mut(key) {
            entry.failures = entry.failures.saturating_sub(1);
            if entry.failures == 0 || !self.policy.remembers(entry.last_failure, now) {
                // Nothing left to count: forgotten at once.
                shard.keys.remove(key);
            } else {
                // The block this attempt's admission set goes with its count:
                // a right secret never leaves its holder waiting. Failures
                // before it still count, so the next failure blocks again.
                // Only a right secret lifts a block, so a guesser cannot.
                entry.blocked_until = SystemTime::UNIX_EPOCH;
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
    use std::sync::atomic::{AtomicUsize, Ordering};

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
        // The last doubling below the ceiling, and the first that reaches it.
        assert_eq!(p.delay(14), Duration::from_secs(256));
        assert_eq!(p.delay(15), Duration::from_secs(300));
        assert_eq!(p.delay(100), Duration::from_secs(300));
        assert_eq!(p.delay(u32::MAX), Duration::from_secs(300));
        // A ceiling past a century is a century; a tiny initial delay still
        // doubles exactly up to the ceiling.
        let huge = p
            .with_initial_delay(Duration::MAX)
            .with_max_delay(Duration::MAX);
        assert_eq!(huge.delay(6), MAX_BLOCK);
        let tiny = p
            .with_initial_delay(Duration::from_nanos(1))
            .with_max_delay(Duration::MAX);
        assert_eq!(tiny.delay(6 + 40), Duration::from_nanos(1 << 40));
        assert_eq!(tiny.delay(6 + 61), Duration::from_nanos(1 << 61));
        assert_eq!(tiny.delay(6 + 62), MAX_BLOCK);
        assert_eq!(tiny.delay(u32::MAX), MAX_BLOCK);
        let zero = p.with_initial_delay(Duration::ZERO);
        assert_eq!(zero.delay(u32::MAX), Duration::ZERO);
        assert_eq!(zero.delay(7), Duration::ZERO);
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
        assert!(!limiter.shard("ok").keys.contains_key("ok"));
    }

    #[test]
    fn concurrent_admissions_let_through_no_more_than_the_policy() {
        let limiter = std::sync::Arc::new(MemoryLimiter::new(
            ThrottlePolicy::default().with_allowed_failures(5),
        ));
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
    fn quiet_keys_are_forgotten_within_a_quarter_of_the_reset_period() {
        let limiter = MemoryLimiter::new(ThrottlePolicy::default().with_allowed_failures(0));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for i in 0..1000 {
            admit(&limiter, &format!("quiet{i}"), t0);
        }
        assert_eq!(limiter.len(), 1000);
        // Some time on, the keys still count...
        let later = t0 + Duration::from_secs(1800);
        for i in 0..64 {
            admit(&limiter, &format!("new{i}"), later);
        }
        assert_eq!(limiter.len(), 1064);
        // ...and once quiet for the reset period, every shard that admits an
        // attempt forgets them.
        let much_later = t0 + Duration::from_secs(3600 + 900);
        for i in 0..64 {
            admit(&limiter, &format!("newer{i}"), much_later);
        }
        assert_eq!(limiter.len(), 128);
        // The keys that still matter kept their counts: a second failure.
        assert_eq!(admit(&limiter, "new7", much_later), Admission::Allow);
        assert_eq!(
            admit(&limiter, "new7", much_later),
            Admission::Refuse {
                retry_after: Duration::from_secs(2)
            }
        );
    }

    #[test]
    fn a_full_limiter_forgets_the_quietest_keys_in_batches() {
        let policy = ThrottlePolicy::default()
            .with_allowed_failures(0)
            .with_initial_delay(Duration::from_secs(3600))
            .with_max_delay(Duration::from_secs(3600))
            .with_reset_after(Duration::from_secs(86_400));
        let limiter = MemoryLimiter::new(policy).with_capacity(800);
        assert_eq!(limiter.capacity(), 800);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(admit(&limiter, "target", t0), Admission::Allow);
        for i in 0..10_000u64 {
            let at = t0 + Duration::from_millis(i + 1);
            admit(&limiter, &format!("flood{i}"), at);
            if i % 50 == 0 {
                // Being tried keeps the target among the keys that matter.
                assert!(matches!(
                    admit(&limiter, "target", at),
                    Admission::Refuse { .. }
                ));
            }
            assert!(limiter.len() <= 800);
        }
        // A blocked key left alone is the quietest, and goes.
        assert_eq!(admit(&limiter, "left-alone", t0), Admission::Allow);
        for i in 0..200u64 {
            admit(
                &limiter,
                &format!("more{i}"),
                t0 + Duration::from_secs(60 + i),
            );
        }
        assert_eq!(
            admit(&limiter, "left-alone", t0 + Duration::from_secs(2000)),
            Admission::Allow
        );
        assert!(matches!(
            admit(&limiter, "target", t0 + Duration::from_secs(2000)),
            Admission::Refuse { .. }
        ));
    }

    #[test]
    fn keys_not_blocked_are_forgotten_before_blocked_ones() {
        // Flood keys each fail once, within the allowance: they are not
        // blocked, so a blocked key outlives any number of them.
        let policy = ThrottlePolicy::default()
            .with_allowed_failures(0)
            .with_initial_delay(Duration::from_secs(3600));
        let limiter = MemoryLimiter::new(policy).with_capacity(64);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(admit(&limiter, "target", t0), Admission::Allow);
        let lenient = MemoryLimiter {
            policy: ThrottlePolicy::default(),
            ..limiter.clone()
        };
        for i in 0..5000u64 {
            admit(
                &lenient,
                &format!("flood{i}"),
                t0 + Duration::from_millis(i + 1),
            );
        }
        assert!(limiter.len() <= 64);
        assert!(matches!(
            admit(&limiter, "target", t0 + Duration::from_secs(60)),
            Admission::Refuse { .. }
        ));
    }

    #[test]
    fn a_tiny_capacity_still_holds_a_key_per_shard() {
        let limiter = MemoryLimiter::default().with_capacity(1);
        assert_eq!(limiter.capacity(), SHARDS);
    }

    /// Keys of `limiter`'s first shard, in a fixed order.
    fn keys_of_shard_zero(limiter: &MemoryLimiter, n: usize) -> Vec<String> {
        (0..)
            .map(|i| format!("key{i}"))
            .filter(|k| limiter.spread.hash_one(k.as_str()) % SHARDS as u64 == 0)
            .take(n)
            .collect()
    }

    /// Fills shard 0 of a limiter holding 64 keys a shard (a batch of 4) with
    /// keys seen at `times`, then admits one more at `now`: the positions in
    /// `times` of the keys left.
    #[allow(clippy::indexing_slicing)]
    fn evict_once(times: &[SystemTime], now: SystemTime) -> Vec<usize> {
        let limiter = MemoryLimiter::new(ThrottlePolicy::default()).with_capacity(8 * 64);
        let keys = keys_of_shard_zero(&limiter, times.len() + 1);
        for (key, &at) in keys.iter().zip(times) {
            assert_eq!(admit(&limiter, key, at), Admission::Allow);
        }
        assert_eq!(limiter.shard(&keys[0]).keys.len(), 64);
        admit(&limiter, &keys[times.len()], now);
        let shard = limiter.shard(&keys[0]);
        assert_eq!(shard.keys.len(), 64 - 4 + 1);
        (0..times.len())
            .filter(|&i| shard.keys.contains_key(&keys[i]))
            .collect()
    }

    #[test]
    #[allow(clippy::indexing_slicing)]
    fn a_full_shard_forgets_exactly_a_batch_of_the_quietest() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let ms = |i: u64| t0 + Duration::from_millis(i);
        let later = t0 + Duration::from_secs(60);
        // A sixteenth of the shard's 64 keys goes: the four seen longest ago.
        let distinct: Vec<_> = (0..64).map(ms).collect();
        assert_eq!(evict_once(&distinct, later), (4..64).collect::<Vec<_>>());
        // Keys seen at the same moment: still exactly four go.
        assert_eq!(evict_once(&[t0; 64], later).len(), 60);
        // One key quieter than 63 tied ones: it goes, and three of the tied.
        let mut one_quieter = vec![ms(1); 64];
        one_quieter[0] = t0;
        let left = evict_once(&one_quieter, later);
        assert_eq!(left.len(), 60);
        assert!(!left.contains(&0));
    }

    #[test]
    #[allow(clippy::indexing_slicing)]
    fn a_full_shard_that_can_forget_a_quiet_key_forgets_nothing_else() {
        let limiter = MemoryLimiter::new(ThrottlePolicy::default()).with_capacity(8 * 64);
        let keys = keys_of_shard_zero(&limiter, 65);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        admit(&limiter, &keys[0], t0);
        let later = t0 + Duration::from_secs(3000);
        for key in &keys[1..64] {
            admit(&limiter, key, later);
        }
        // The first key is quiet past the reset period before the next sweep
        // is due: the full shard forgets it, which makes the room needed.
        admit(&limiter, &keys[64], t0 + Duration::from_secs(3700));
        let shard = limiter.shard(&keys[0]);
        assert!(!shard.keys.contains_key(&keys[0]));
        assert!(keys[1..].iter().all(|k| shard.keys.contains_key(k)));
    }

    #[test]
    #[allow(clippy::indexing_slicing)]
    fn a_block_that_ends_now_does_not_keep_a_key() {
        // The oldest key's block ends exactly when the shard makes room: it
        // is no longer blocked, so it goes first, before keys not blocked
        // but seen since.
        let strict = MemoryLimiter::new(ThrottlePolicy::default().with_allowed_failures(0))
            .with_capacity(8 * 64);
        let lenient = MemoryLimiter {
            policy: ThrottlePolicy::default(),
            ..strict.clone()
        };
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let keys = keys_of_shard_zero(&strict, 65);
        assert_eq!(admit(&strict, &keys[0], t0), Admission::Allow);
        for (i, key) in (1u64..).zip(&keys[1..64]) {
            admit(&lenient, key, t0 + Duration::from_millis(i));
        }
        let block_ends = t0 + Duration::from_secs(1);
        admit(&lenient, &keys[64], block_ends);
        assert!(!strict.shard(&keys[0]).keys.contains_key(&keys[0]));
        assert_eq!(strict.shard(&keys[0]).keys.len(), 61);
    }

    #[test]
    #[allow(clippy::indexing_slicing)]
    fn a_sweep_due_now_forgets_keys_quiet_for_the_whole_period() {
        let limiter = MemoryLimiter::new(ThrottlePolicy::default());
        let keys = keys_of_shard_zero(&limiter, 3);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let hour = Duration::from_secs(3600);
        admit(&limiter, &keys[0], t0);
        // Sweeps at t0 + 45 min, so the next is due at t0 + 1 h...
        admit(&limiter, &keys[1], t0 + hour * 3 / 4);
        assert!(limiter.shard(&keys[0]).keys.contains_key(&keys[0]));
        // ...when the first key has been quiet for exactly the reset period.
        admit(&limiter, &keys[2], t0 + hour);
        assert!(!limiter.shard(&keys[0]).keys.contains_key(&keys[0]));
        assert_eq!(limiter.len(), 2);
    }

    #[test]
    fn a_limiter_well_within_its_capacity_forgets_nothing() {
        // Keys spread over the shards: 400 keys in a limiter of 800 fill no
        // shard (each holds 100, and gets 50 on average).
        let limiter = MemoryLimiter::new(ThrottlePolicy::default()).with_capacity(800);
        assert!(limiter.is_empty());
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for i in 0..400u64 {
            admit(&limiter, &format!("k{i}"), t0 + Duration::from_millis(i));
        }
        assert_eq!(limiter.len(), 400);
        assert!(!limiter.is_empty());
    }

    #[test]
    fn the_shards_share_the_capacity_exactly() {
        for capacity in SHARDS..=4 * SHARDS + 1 {
            let limiter = MemoryLimiter::default().with_capacity(capacity);
            let shares: Vec<usize> = limiter.shards.iter().map(|s| lock(s).capacity).collect();
            assert_eq!(shares.iter().sum::<usize>(), capacity);
            let (min, max) = (shares.iter().min(), shares.iter().max());
            assert!(max.unwrap() - min.unwrap() <= 1, "{shares:?}");
        }
    }

    #[test]
    fn the_limiter_shows_its_policy_and_capacity() {
        let policy = ThrottlePolicy::default().with_allowed_failures(3);
        let limiter = MemoryLimiter::new(policy).with_capacity(100);
        assert_eq!(limiter.policy(), &policy);
        let debug = format!("{limiter:?}");
        assert!(debug.contains("MemoryLimiter"), "{debug}");
        assert!(debug.contains("allowed_failures: 3"), "{debug}");
        assert!(debug.contains("capacity: 100"), "{debug}");
    }

    #[test]
    fn quiet_period_resets() {
        let limiter = MemoryLimiter::new(ThrottlePolicy::default().with_allowed_failures(0));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(admit(&limiter, "c", t0), Admission::Allow);
        assert!(matches!(admit(&limiter, "c", t0), Admission::Refuse { .. }));
        // Exactly the reset period of quiet: the count starts afresh, at one.
        let much_later = t0 + Duration::from_secs(3600);
        assert_eq!(admit(&limiter, "c", much_later), Admission::Allow);
        assert_eq!(
            admit(&limiter, "c", much_later),
            Admission::Refuse {
                retry_after: Duration::from_secs(1)
            }
        );
    }
}
