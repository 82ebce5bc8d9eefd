//! [`AuthLimiter`] on SQL: failed authentications counted in the database,
//! so every replica sharing it throttles a key together (RFC 6749 §2.3.1,
//! RFC 6819 §5.1.4.2.3).

use std::fmt;
use std::time::SystemTime;

use super::support::{WritePool as _, backend, from_db_time, to_db_time};
use super::{Pool, on_pool};
use crate::client::{Admission, AuthLimiter, ThrottlePolicy};
use crate::store::StoreError;

/// Makes sure a key has a row, so the row lock below has something to take.
/// A new row counts nothing yet.
const ENSURE_ROW: &str = "INSERT INTO auth_failures \
     (throttle_key, failures, last_failure, blocked_until, forget_at) \
     VALUES ($1, 0, $2, $2, $3) ON CONFLICT (throttle_key) DO NOTHING";

/// A key's counts. SQLite's write transaction (`BEGIN IMMEDIATE`) already
/// holds the database lock; PostgreSQL locks the row.
const READ_SQLITE: &str =
    "SELECT failures, last_failure, blocked_until FROM auth_failures WHERE throttle_key = $1";
const READ_POSTGRES: &str = "SELECT failures, last_failure, blocked_until FROM auth_failures \
     WHERE throttle_key = $1 FOR UPDATE";

/// A key's counts, as decided under the lock.
const WRITE: &str = "UPDATE auth_failures SET failures = $2, last_failure = $3, \
     blocked_until = $4, forget_at = $5 WHERE throttle_key = $1";

/// A key with nothing left to count.
const FORGET: &str = "DELETE FROM auth_failures WHERE throttle_key = $1";

/// An [`AuthLimiter`] that keeps its counts in the [`SqlStore`](super::SqlStore)'s
/// database, with a [`ThrottlePolicy`]: made by
/// [`SqlStore::limiter`](super::SqlStore::limiter).
///
/// Every replica sharing the database sees every failure: a guesser
/// spreading attempts over a fleet is throttled as if it spoke to one
/// server, which the per-process
/// [`MemoryLimiter`](crate::client::MemoryLimiter) cannot do.
///
/// The cost is one short write transaction per admission and per success,
/// which locks the key's row (on SQLite, the database): a client with a
/// generated secret costs nothing until it presents a wrong one; a client
/// with a secret a person chose costs two such transactions per
/// authentication, beside the Argon2id check they guard. Counts of keys
/// quiet for `reset_after` are deleted by
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

/// A key's row: failures, when the last was counted, when its block ends.
type Row = (i64, i64, i64);

impl SqlLimiter {
    /// The statement that reads a key's row under a lock, in this dialect.
    fn read(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => READ_SQLITE,
            Pool::Postgres(_) => READ_POSTGRES,
        }
    }

    /// The failures a row still counts at `now`: none once the key has been
    /// quiet for the policy's reset period.
    fn remembered(&self, row: Row, now: SystemTime) -> u32 {
        let (failures, last_failure, _) = row;
        if self.policy.remembers(from_db_time(last_failure), now) {
            u32::try_from(failures).unwrap_or(u32::MAX)
        } else {
            0
        }
    }
}

impl AuthLimiter for SqlLimiter {
    async fn admit(&self, key: &str, now: SystemTime) -> Result<Admission, StoreError> {
        let forget_at = to_db_time(now.checked_add(self.policy.reset_after).unwrap_or(now));
        let read = self.read();
        // One transaction that locks the key's row: of concurrent admissions
        // on any replica, each sees the count the one before it left.
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(ENSURE_ROW)
                .bind(key)
                .bind(to_db_time(now))
                .bind(forget_at)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            let row: Row = sqlx::query_as(read)
                .bind(key)
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
            let failures = self.remembered(row, now);
            if failures > 0 {
                if let refused @ Admission::Refuse { .. } =
                    Admission::until(from_db_time(row.2), now)
                {
                    tx.commit().await.map_err(backend)?;
                    return Ok(refused);
                }
            }
            let failures = failures.saturating_add(1);
            sqlx::query(WRITE)
                .bind(key)
                .bind(i64::from(failures))
                .bind(to_db_time(now))
                .bind(to_db_time(self.policy.blocked_until(failures, now)))
                .bind(forget_at)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            tx.commit().await.map_err(backend)?;
        });
        Ok(Admission::Allow)
    }

    async fn succeeded(&self, key: &str, now: SystemTime) -> Result<(), StoreError> {
        let read = self.read();
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let row: Option<Row> = sqlx::query_as(read)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
            if let Some(row) = row {
                let failures = self.remembered(row, now).saturating_sub(1);
                if failures == 0 {
                    sqlx::query(FORGET)
                        .bind(key)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                } else {
                    let blocked_until = if self.policy.delay(failures).is_zero() {
                        // Within the failures the policy lets pass: the block
                        // this attempt's admission set goes with its count.
                        row.2.min(to_db_time(now))
                    } else {
                        row.2
                    };
                    sqlx::query(WRITE)
                        .bind(key)
                        .bind(i64::from(failures))
                        .bind(row.1)
                        .bind(blocked_until)
                        .bind(to_db_time(
                            from_db_time(row.1)
                                .checked_add(self.policy.reset_after)
                                .unwrap_or(now),
                        ))
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
            }
            tx.commit().await.map_err(backend)?;
        });
        Ok(())
    }
}
