//! [`AuthLimiter`] on SQL: attempts counted in the database, so every
//! replica sharing it throttles a key together (RFC 6749 §2.3.1,
//! RFC 6819 §5.1.4.2.3).

use std::fmt;
use std::time::{Duration, SystemTime};

use super::support::{backend, from_db_time, to_db_time};
use super::{Pool, on_pool};
use crate::client::{Admission, AuthLimiter, ThrottlePolicy};
use crate::store::StoreError;

/// Admits one attempt, in one statement, or changes nothing.
///
/// A key without a row gets one counting this attempt; `$4` is when its
/// block (if the policy sets one at the first failure) ends. A key with a
/// row is updated under the row's lock — the database decides from the
/// row's current values, so concurrent admissions on any replica each see
/// the count the one before left:
///
/// - blocked (not quiet, failures counted, the block not over): the `WHERE`
///   leaves the row unchanged and nothing is returned — refused, uncounted;
/// - quiet past the policy's reset period (`forget_at`, the last failure
///   plus `reset_after`, has passed): the count restarts at 1;
/// - otherwise the count goes up by one, and the new block is the
///   policy's delay for it ([`ThrottlePolicy::delay`], stated in SQL): none
///   within `$5` allowed failures (`$9`, the epoch: no block that a
///   concurrent attempt whose clock read a moment earlier could meet), then
///   `$6` nanoseconds doubled per further failure, and `$7` (the ceiling)
///   from `$8` doublings on. Below `$8`
///   doublings the product is below the ceiling, so it stays within an
///   `i64`.
const ADMIT: &str = "INSERT INTO auth_failures \
     (throttle_key, failures, last_failure, blocked_until, forget_at) \
     VALUES ($1, 1, $2, $4, $3) \
     ON CONFLICT (throttle_key) DO UPDATE SET \
     failures = CASE WHEN auth_failures.forget_at <= $2 THEN 1 \
         ELSE auth_failures.failures + 1 END, \
     last_failure = $2, \
     blocked_until = CASE WHEN auth_failures.forget_at <= $2 THEN $4 \
         WHEN auth_failures.failures + 1 <= $5 THEN $9 \
         WHEN auth_failures.failures - $5 >= $8 THEN $2 + $7 \
         ELSE $2 + $6 * (CAST(1 AS BIGINT) << CAST(auth_failures.failures - $5 AS INTEGER)) END, \
     forget_at = $3 \
     WHERE auth_failures.forget_at <= $2 OR auth_failures.failures <= 0 \
         OR auth_failures.blocked_until <= $2 \
     RETURNING failures";

/// When a refused key's block ends.
const BLOCKED_UNTIL: &str = "SELECT blocked_until FROM auth_failures WHERE throttle_key = $1";

/// A success whose key has nothing else to count: its only failure, or
/// failures quiet past the reset period.
const FORGET_LAST: &str = "DELETE FROM auth_failures \
     WHERE throttle_key = $1 AND (failures <= 1 OR forget_at <= $2)";

/// A success taken back from a key that still counts others: the block
/// this attempt's admission set goes with its count (to `$3`, no block at
/// all — not `$2`, where a concurrent attempt whose clock read a moment
/// earlier would find one).
const UNCOUNT: &str = "UPDATE auth_failures SET failures = failures - 1, \
     blocked_until = $3 \
     WHERE throttle_key = $1 AND failures >= 1 AND forget_at > $2 \
     RETURNING failures";

/// A key whose count a concurrent success brought to zero.
const FORGET_ZERO: &str = "DELETE FROM auth_failures WHERE throttle_key = $1 AND failures <= 0";

/// How many times a refused admission looks for the block that refused it
/// before settling for the policy's initial delay: the block can end, by a
/// success or a purge, between the refusal and the look.
const REFUSAL_LOOKS: usize = 3;

/// An [`AuthLimiter`] that keeps its counts in the [`SqlStore`](super::SqlStore)'s
/// database, with a [`ThrottlePolicy`]: made by
/// [`SqlStore::limiter`](super::SqlStore::limiter).
///
/// Every replica sharing the database sees every attempt: a guesser
/// spreading attempts over a fleet is throttled as if it spoke to one
/// server, which the per-process
/// [`MemoryLimiter`](crate::client::MemoryLimiter) cannot do. Admission is
/// atomic in the database: of any number of concurrent attempts at one key,
/// on any replica, no more are admitted than the policy allows (the
/// `run_limiter_conformance` suite checks it on SQLite and PostgreSQL).
///
/// # Cost
///
/// - An admitted attempt is one statement, one round trip: an
///   `INSERT … ON CONFLICT DO UPDATE … RETURNING` that decides from the
///   key's row under its lock (on SQLite, the database's write lock) and
///   writes the new count.
/// - A refused attempt is that statement, which changes nothing, and one
///   read of when the block ends, for `Retry-After`.
/// - A success is one `DELETE` when it was the key's only counted attempt,
///   as it usually is; else an `UPDATE` too (and a `DELETE` when a
///   concurrent success brought the count to zero).
///
/// Client authentication calls the limiter for every attempt of a client
/// whose secret a person chose (an admission, and a success when right),
/// beside the Argon2id check it guards; for a client with a generated
/// secret, only for a wrong secret. Counts of keys quiet for `reset_after`
/// are deleted by
/// [`purge_expired`](crate::AuthorizationServer::purge_expired); the table
/// holds a row per key tried since.
#[derive(Clone)]
pub struct SqlLimiter {
    pool: Pool,
    policy: ThrottlePolicy,
}

impl super::SqlStore {
    /// A limiter on this store's database with `policy`; install it with
    /// [`ServerBuilder::limiter`](crate::ServerBuilder::limiter). See
    /// [`SqlLimiter`] for what it costs.
    pub fn limiter(&self, policy: ThrottlePolicy) -> SqlLimiter {
        SqlLimiter {
            pool: self.pool.clone(),
            policy,
        }
    }
}

impl fmt::Debug for SqlLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlLimiter")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Nanoseconds as the database holds them.
fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl SqlLimiter {
    /// One try at admitting: `Some(Allow)` when counted, `Some(Refuse)`
    /// when refused by a block still in place, `None` when refused by a
    /// block that ended before it could be read.
    async fn try_admit(&self, key: &str, now: SystemTime) -> Result<Option<Admission>, StoreError> {
        let policy = &self.policy;
        // Times past the clock's range saturate: a key never quiet.
        let forget_at = now
            .checked_add(policy.reset_after)
            .map_or(i64::MAX, to_db_time);
        let first_block = to_db_time(policy.blocked_until(1, now));
        on_pool!(self, pool => {
            let admitted: Option<i64> = sqlx::query_scalar(ADMIT)
                .bind(key)
                .bind(to_db_time(now))
                .bind(forget_at)
                .bind(first_block)
                .bind(i64::from(policy.allowed_failures))
                .bind(i64::try_from(policy.initial_nanos()).unwrap_or(i64::MAX))
                .bind(nanos(policy.ceiling()))
                .bind(i64::from(policy.doublings_to_ceiling()))
                .bind(to_db_time(SystemTime::UNIX_EPOCH))
                .fetch_optional(pool)
                .await
                .map_err(backend)?;
            if admitted.is_some() {
                return Ok(Some(Admission::Allow));
            }
            let blocked_until: Option<i64> = sqlx::query_scalar(BLOCKED_UNTIL)
                .bind(key)
                .fetch_optional(pool)
                .await
                .map_err(backend)?;
            Ok(match blocked_until.map(|t| Admission::until(from_db_time(t), now)) {
                Some(refused @ Admission::Refuse { .. }) => Some(refused),
                _ => None,
            })
        })
    }
}

impl AuthLimiter for SqlLimiter {
    async fn admit(&self, key: &str, now: SystemTime) -> Result<Admission, StoreError> {
        for _ in 0..REFUSAL_LOOKS {
            if let Some(admission) = self.try_admit(key, now).await? {
                return Ok(admission);
            }
        }
        // Refused each time by blocks that kept ending: refuse again, for
        // as long as a first block lasts (never for nothing).
        Ok(Admission::Refuse {
            retry_after: self.policy.initial_delay.max(Duration::from_secs(1)),
        })
    }

    async fn succeeded(&self, key: &str, now: SystemTime) -> Result<(), StoreError> {
        let at = to_db_time(now);
        on_pool!(self, pool => {
            let forgotten = sqlx::query(FORGET_LAST)
                .bind(key)
                .bind(at)
                .execute(pool)
                .await
                .map_err(backend)?
                .rows_affected();
            if forgotten > 0 {
                return Ok(());
            }
            let left: Option<i64> = sqlx::query_scalar(UNCOUNT)
                .bind(key)
                .bind(at)
                .bind(to_db_time(SystemTime::UNIX_EPOCH))
                .fetch_optional(pool)
                .await
                .map_err(backend)?;
            if left.is_some_and(|n| n <= 0) {
                sqlx::query(FORGET_ZERO)
                    .bind(key)
                    .execute(pool)
                    .await
                    .map_err(backend)?;
            }
            Ok(())
        })
    }
}
