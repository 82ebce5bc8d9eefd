//! [`AuthLimiter`] on SQL: failed authentications counted in the database,
//! so every replica sharing it throttles a key together (RFC 6749 §2.3.1,
//! RFC 6819 §5.1.4.2.3).

use std::fmt;
use std::time::SystemTime;

use super::support::{backend, from_db_time, to_db_time};
use super::{Pool, on_pool};
use crate::client::{Admission, AuthLimiter, ThrottlePolicy};
use crate::store::StoreError;

/// Counts a failure: one more for a key whose failures are still
/// remembered (its last one after `$4`), a fresh count of one otherwise.
/// `$2` is now and `$3` when the key may be forgotten; a key starting afresh
/// is not blocked until the caller says so (its `blocked_until` becomes now).
const COUNT_FAILURE: &str = "INSERT INTO auth_failures \
     (throttle_key, failures, last_failure, blocked_until, forget_at) \
     VALUES ($1, 1, $2, $2, $3) \
     ON CONFLICT (throttle_key) DO UPDATE SET \
     failures = CASE WHEN auth_failures.last_failure > $4 \
         THEN auth_failures.failures + 1 ELSE 1 END, \
     blocked_until = CASE WHEN auth_failures.last_failure > $4 \
         THEN auth_failures.blocked_until ELSE $2 END, \
     last_failure = CASE WHEN auth_failures.last_failure > $2 \
         THEN auth_failures.last_failure ELSE $2 END, \
     forget_at = $3 \
     RETURNING failures";

/// Moves a key's block forward to `$2`, never back: of two failures
/// recorded at once, the longer block stands whichever statement comes last.
const BLOCK: &str = "UPDATE auth_failures SET blocked_until = \
     CASE WHEN blocked_until < $2 THEN $2 ELSE blocked_until END \
     WHERE throttle_key = $1";

/// An [`AuthLimiter`] that keeps its counts in the [`SqlStore`](super::SqlStore)'s
/// database, with a [`ThrottlePolicy`]: made by
/// [`SqlStore::limiter`](super::SqlStore::limiter).
///
/// Every replica sharing the database sees every failure: a guesser
/// spreading attempts over a fleet is throttled as if it spoke to one
/// server, which the per-process
/// [`MemoryLimiter`](crate::client::MemoryLimiter) cannot do.
///
/// The cost is a round trip: a check reads one row, so every request that
/// authenticates a client costs one more — three round trips for a token
/// request on PostgreSQL instead of two. A failure costs two more (count,
/// then block). Counts of keys quiet for `reset_after` are deleted by
/// [`purge_expired`](crate::AuthorizationServer::purge_expired).
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

impl AuthLimiter for SqlLimiter {
    async fn check(&self, key: &str, now: SystemTime) -> Result<Admission, StoreError> {
        let row: Option<(i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT last_failure, blocked_until FROM auth_failures WHERE throttle_key = $1",
            )
            .bind(key)
            .fetch_optional(pool)
            .await
            .map_err(backend)?
        });
        Ok(match row {
            Some((last_failure, blocked_until))
                if self.policy.remembers(from_db_time(last_failure), now) =>
            {
                Admission::until(from_db_time(blocked_until), now)
            }
            _ => Admission::Allow,
        })
    }

    async fn record_failure(&self, key: &str, now: SystemTime) -> Result<(), StoreError> {
        let forget_at = now.checked_add(self.policy.reset_after).unwrap_or(now);
        let remembered_since = now.checked_sub(self.policy.reset_after);
        let failures: i64 = on_pool!(self, pool => {
            sqlx::query_scalar(COUNT_FAILURE)
                .bind(key)
                .bind(to_db_time(now))
                .bind(to_db_time(forget_at))
                .bind(remembered_since.map_or(i64::MIN, to_db_time))
                .fetch_one(pool)
                .await
                .map_err(backend)?
        });
        let failures = u32::try_from(failures).unwrap_or(u32::MAX);
        let blocked_until = self.policy.blocked_until(failures, now);
        if blocked_until > now {
            on_pool!(self, pool => {
                sqlx::query(BLOCK)
                    .bind(key)
                    .bind(to_db_time(blocked_until))
                    .execute(pool)
                    .await
                    .map_err(backend)?;
            });
        }
        Ok(())
    }
}
