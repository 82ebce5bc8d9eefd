//! [`ReplayCache`] on SQL: single uses recorded in the database, so every
//! replica sharing it refuses a replay (RFC 7523 §3 item 7).

use std::time::SystemTime;

use super::support::{backend, to_db_time};
use super::{SqlStore, on_pool};
use crate::store::{ReplayCache, ReplayKey, StoreError};

/// Records a use in one statement: a new key is inserted; a key whose
/// record expired (`expires_at <= $3`) takes the new expiry; a live one is
/// left as it is, and nothing is returned. Under PostgreSQL's READ
/// COMMITTED a racing insert waits for the first, then re-checks the
/// `WHERE` on the row it committed, so exactly one of them returns a row;
/// SQLite's write lock serialises them.
const FIRST_USE: &str = "INSERT INTO replay_keys (key_hash, expires_at) VALUES ($1, $2) \
     ON CONFLICT (key_hash) DO UPDATE SET expires_at = $2 \
     WHERE replay_keys.expires_at <= $3 \
     RETURNING expires_at";

const PURGE: &str = "DELETE FROM replay_keys WHERE expires_at <= $1";

/// One statement, one round trip, per use; expired records stay until
/// [`purge_expired_replays`](ReplayCache::purge_expired_replays) (called by
/// [`AuthorizationServer::purge_expired`](crate::AuthorizationServer::purge_expired)).
impl ReplayCache for SqlStore {
    async fn first_use(
        &self,
        key: &ReplayKey,
        expires_at: SystemTime,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let recorded: Option<i64> = on_pool!(self, pool => {
            sqlx::query_scalar(FIRST_USE)
                .bind(key.as_bytes().as_slice())
                .bind(to_db_time(expires_at))
                .bind(to_db_time(now))
                .fetch_optional(pool)
                .await
                .map_err(backend)?
        });
        Ok(recorded.is_some())
    }

    async fn purge_expired_replays(&self, now: SystemTime) -> Result<u64, StoreError> {
        let purged = on_pool!(self, pool => {
            sqlx::query(PURGE)
                .bind(to_db_time(now))
                .execute(pool)
                .await
                .map_err(backend)?
                .rows_affected()
        });
        Ok(purged)
    }
}
