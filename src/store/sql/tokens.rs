//! [`TokenStore`] on SQL: the statements both dialects share, and dispatch
//! to the per-backend ones for the operations that insert several rows
//! atomically (`sqlite.rs`: one transaction; `postgres.rs`: one statement).

use std::sync::LazyLock;
use std::time::SystemTime;

use super::rows::{self, AccessRow, CodeRow, DeviceRow, PendingRow, RefreshRow};
use super::{
    Pool, SqlStore, WritePool as _, backend, insert_error, on_pool, postgres, sqlite,
    to_db_duration, to_db_time,
};
use crate::client::ClientId;
use crate::store::{
    AccessTokenRecord, CodeRedemption, DeviceAuthorizationRecord, DeviceCollection, DeviceDecision,
    FoundCode, FoundRefreshToken, GrantId, GrantRecord, NewGrant, PendingAuthorizationRecord,
    PolledDeviceCode, Redemption, RefreshRotation, Rotation, SLOW_DOWN_STEP, StoreError,
    TokenStore,
};
use crate::token::TokenHash;

const FIND_ACCESS_TOKEN: &str = "SELECT a.grant_id, a.scope, a.issued_at, a.expires_at, \
     g.client_id, g.subject, g.scope, g.created_at, g.expires_at \
     FROM access_tokens a JOIN grants g ON g.id = a.grant_id WHERE a.hash = $1";

pub(super) const FIND_REFRESH_TOKEN: &str = "SELECT r.grant_id, r.scope, r.issued_at, r.expires_at, \
     g.client_id, g.subject, g.scope, g.created_at, g.expires_at, r.rotated_at \
     FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id WHERE r.hash = $1";

pub(super) const FIND_CODE: &str = "SELECT c.grant_id, c.redirect_uri, c.redirect_uri_in_request, \
     c.challenge, c.challenge_method, c.issued_at, c.expires_at, c.redeemed_at, \
     g.client_id, g.subject, g.scope, g.created_at, g.expires_at \
     FROM authorization_codes c JOIN grants g ON g.id = c.grant_id WHERE c.hash = $1";

/// Deletes what `purge_expired` deletes, each statement with `$1` = now.
/// Tokens go when they expire, when their grant expires, or when their grant
/// is gone (revoked); codes, grants, pending requests and device
/// authorizations when they expire; a throttle key's failures once it has
/// been quiet long enough to be forgotten. A revoked grant's code is
/// unreachable already (lookups join on the grant) and expires within
/// minutes.
const PURGE: [&str; 7] = [
    "DELETE FROM access_tokens WHERE expires_at <= $1 OR NOT EXISTS \
     (SELECT 1 FROM grants g WHERE g.id = access_tokens.grant_id AND g.expires_at > $1)",
    "DELETE FROM refresh_tokens WHERE expires_at <= $1 OR NOT EXISTS \
     (SELECT 1 FROM grants g WHERE g.id = refresh_tokens.grant_id AND g.expires_at > $1)",
    "DELETE FROM authorization_codes WHERE expires_at <= $1",
    "DELETE FROM grants WHERE expires_at <= $1",
    "DELETE FROM pending_authorizations WHERE expires_at <= $1",
    "DELETE FROM device_authorizations WHERE expires_at <= $1",
    "DELETE FROM auth_failures WHERE forget_at <= $1",
];

/// Stores a device authorization unless a live one holds its user code.
/// A holder whose `expires_at` has passed at the new record's `created_at` is
/// replaced in the same statement (the upsert); a live holder makes the
/// statement change nothing; a duplicate device code hash is a unique
/// violation. Either way the caller answers `Conflict`.
const SAVE_DEVICE: &str = "INSERT INTO device_authorizations (device_code_hash, \
     user_code_hash, client_id, scope, created_at, expires_at, poll_interval, last_polled_at, \
     last_poll_too_fast, status, subject, granted_scope, grant_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, $9, $10, $11, $12) \
     ON CONFLICT (user_code_hash) DO UPDATE SET \
     device_code_hash = excluded.device_code_hash, client_id = excluded.client_id, \
     scope = excluded.scope, created_at = excluded.created_at, \
     expires_at = excluded.expires_at, poll_interval = excluded.poll_interval, \
     last_polled_at = excluded.last_polled_at, last_poll_too_fast = FALSE, \
     status = excluded.status, subject = excluded.subject, \
     granted_scope = excluded.granted_scope, grant_id = excluded.grant_id \
     WHERE device_authorizations.expires_at <= excluded.created_at";

/// Records a decision on a pending, unexpired device authorization
/// (RFC 8628 §3.3): the status check and the write are one statement, so of
/// concurrent decisions exactly one matches.
const DECIDE_DEVICE: &str = "UPDATE device_authorizations \
     SET status = $2, subject = $3, granted_scope = $4 \
     WHERE device_code_hash = $1 AND status = 'pending' AND expires_at > $5";

/// Records a poll at `$3` by client `$2` (RFC 8628 §3.5). Every `SET`
/// expression reads the row as it was before this statement, and concurrent
/// polls of one row take turns on its lock (PostgreSQL re-evaluates the
/// expressions on the version it locks), so each poll sees the one before.
/// `$4` is the largest interval that can still grow by `$5` without
/// overflowing.
pub(super) const POLL_SET: &str = "last_poll_too_fast = (last_polled_at IS NOT NULL \
         AND ($3 < last_polled_at OR $3 - last_polled_at < poll_interval)), \
     poll_interval = CASE WHEN last_polled_at IS NOT NULL \
         AND ($3 < last_polled_at OR $3 - last_polled_at < poll_interval) \
         AND poll_interval <= $4 \
         THEN poll_interval + $5 ELSE poll_interval END, \
     last_polled_at = CASE WHEN last_polled_at IS NULL OR last_polled_at < $3 \
         THEN $3 ELSE last_polled_at END";

/// The columns of a [`PolledRow`], in order.
pub(super) const POLLED_COLUMNS: &str = "device_code_hash, user_code_hash, client_id, scope, \
     created_at, expires_at, poll_interval, last_polled_at, status, subject, granted_scope, \
     grant_id, last_poll_too_fast";

/// Records a poll (SQLite, inside the transaction that then collects an
/// approval or revokes a replayed grant).
pub(super) static POLL_DEVICE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE device_authorizations SET {POLL_SET} \
         WHERE device_code_hash = $1 AND client_id = $2 RETURNING {POLLED_COLUMNS}"
    )
});

/// The parameters `$1` to `$5` of [`POLL_SET`] and the statements using it.
pub(super) fn poll_params<'a>(
    device_code_hash: &'a TokenHash,
    client_id: &'a ClientId,
    now: SystemTime,
) -> (&'a [u8], &'a str, i64, i64, i64) {
    let step = to_db_duration(SLOW_DOWN_STEP);
    (
        device_code_hash.as_bytes().as_slice(),
        client_id.as_str(),
        to_db_time(now),
        i64::MAX - step,
        step,
    )
}

static FIND_PENDING: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM pending_authorizations WHERE hash = $1",
        rows::PENDING_COLUMNS
    )
});

/// One statement: of concurrent takes, the first deletes the row and gets
/// it back; the others find nothing to delete.
static TAKE_PENDING: LazyLock<String> = LazyLock::new(|| {
    format!(
        "DELETE FROM pending_authorizations WHERE hash = $1 RETURNING {}",
        rows::PENDING_COLUMNS
    )
});

static FIND_DEVICE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM device_authorizations WHERE user_code_hash = $1",
        rows::DEVICE_COLUMNS
    )
});

impl SqlStore {
    /// The row `sql` returns for `hash`, its one parameter, if any.
    async fn fetch_by_hash<R>(&self, sql: &str, hash: &TokenHash) -> Result<Option<R>, StoreError>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(hash.as_bytes().as_slice())
                .fetch_optional(pool)
                .await
                .map_err(backend)?
        }))
    }
}

impl TokenStore for SqlStore {
    async fn create_grant(&self, new: NewGrant) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut tx = pool.begin_write().await?;
                sqlite::insert_new_grant(&mut tx, &new).await?;
                tx.commit().await.map_err(backend)
            }
            Pool::Postgres(pool) => postgres::create_grant(pool, &new).await,
        }
    }

    async fn find_access_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError> {
        let row: Option<AccessRow> = self.fetch_by_hash(FIND_ACCESS_TOKEN, hash).await?;
        row.map(|row| rows::access(hash, row)).transpose()
    }

    async fn find_refresh_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<FoundRefreshToken>, StoreError> {
        let row: Option<RefreshRow> = self.fetch_by_hash(FIND_REFRESH_TOKEN, hash).await?;
        row.map(|row| rows::refresh(hash, row)).transpose()
    }

    async fn rotate_refresh_token(
        &self,
        old: &TokenHash,
        rotation: &RefreshRotation,
    ) -> Result<Rotation, StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlite::rotate_refresh_token(pool, old, rotation).await,
            Pool::Postgres(pool) => postgres::rotate_refresh_token(pool, old, rotation).await,
        }
    }

    async fn find_code(&self, hash: &TokenHash) -> Result<Option<FoundCode>, StoreError> {
        let row: Option<CodeRow> = self.fetch_by_hash(FIND_CODE, hash).await?;
        row.map(|row| rows::code(hash, row)).transpose()
    }

    async fn redeem_code(
        &self,
        hash: &TokenHash,
        redemption: &CodeRedemption,
    ) -> Result<Redemption, StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlite::redeem_code(pool, hash, redemption).await,
            Pool::Postgres(pool) => postgres::redeem_code(pool, hash, redemption).await,
        }
    }

    async fn revoke_grant(&self, id: &GrantId) -> Result<bool, StoreError> {
        // One row: every token, code and refresh token of the grant joins on
        // it to be found, so all of them go with it, on every replica.
        let deleted = on_pool!(self, pool => {
            sqlx::query("DELETE FROM grants WHERE id = $1")
                .bind(id.as_bytes().as_slice())
                .execute(pool)
                .await
                .map_err(backend)?
                .rows_affected()
        });
        Ok(deleted > 0)
    }

    async fn revoke_access_token(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let deleted = on_pool!(self, pool => {
            sqlx::query("DELETE FROM access_tokens WHERE hash = $1")
                .bind(hash.as_bytes().as_slice())
                .execute(pool)
                .await
                .map_err(backend)?
                .rows_affected()
        });
        Ok(deleted > 0)
    }

    async fn revoke_client_grants(&self, client_id: &ClientId) -> Result<u64, StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlite::revoke_client_grants(pool, client_id).await,
            Pool::Postgres(pool) => postgres::revoke_client_grants(pool, client_id).await,
        }
    }

    async fn save_pending(&self, pending: PendingAuthorizationRecord) -> Result<(), StoreError> {
        let (challenge, method) = rows::challenge_columns(pending.challenge.as_ref());
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO pending_authorizations (hash, client_id, response_type, \
                 redirect_uri, redirect_uri_in_request, scope, state, response_mode, challenge, \
                 challenge_method, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(pending.hash.as_bytes().as_slice())
            .bind(pending.client_id.as_str())
            .bind(rows::response_type_text(pending.response_type))
            .bind(&*pending.redirect_uri)
            .bind(pending.redirect_uri_in_request)
            .bind(pending.scope.as_str())
            .bind(pending.state.as_deref())
            .bind(rows::response_mode_text(pending.response_mode))
            .bind(challenge)
            .bind(method)
            .bind(to_db_time(pending.created_at))
            .bind(to_db_time(pending.expires_at))
            .execute(pool)
            .await
            .map_err(insert_error)?;
        });
        Ok(())
    }

    async fn find_pending(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<PendingAuthorizationRecord>, StoreError> {
        let row: Option<PendingRow> = self.fetch_by_hash(&FIND_PENDING, hash).await?;
        row.map(rows::pending).transpose()
    }

    async fn take_pending(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<PendingAuthorizationRecord>, StoreError> {
        let row: Option<PendingRow> = self.fetch_by_hash(&TAKE_PENDING, hash).await?;
        row.map(rows::pending).transpose()
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<u64, StoreError> {
        let now = to_db_time(now);
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut removed = 0;
            for statement in PURGE {
                removed += sqlx::query(statement)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?
                    .rows_affected();
            }
            tx.commit().await.map_err(backend)?;
            Ok(removed)
        })
    }

    async fn save_device_authorization(
        &self,
        record: DeviceAuthorizationRecord,
    ) -> Result<(), StoreError> {
        let (status, subject, granted_scope, grant_id) = rows::status_columns(&record.status);
        let stored = on_pool!(self, pool => {
            sqlx::query(SAVE_DEVICE)
                .bind(record.device_code_hash.as_bytes().as_slice())
                .bind(record.user_code_hash.as_bytes().as_slice())
                .bind(record.client_id.as_str())
                .bind(record.scope.as_str())
                .bind(to_db_time(record.created_at))
                .bind(to_db_time(record.expires_at))
                .bind(to_db_duration(record.interval))
                .bind(record.last_polled_at.map(to_db_time))
                .bind(status)
                .bind(subject)
                .bind(granted_scope)
                .bind(grant_id)
                .execute(pool)
                .await
                .map_err(insert_error)?
                .rows_affected()
        });
        if stored == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn find_device_authorization(
        &self,
        user_code_hash: &TokenHash,
    ) -> Result<Option<DeviceAuthorizationRecord>, StoreError> {
        let row: Option<DeviceRow> = self.fetch_by_hash(&FIND_DEVICE, user_code_hash).await?;
        row.map(rows::device).transpose()
    }

    async fn decide_device_authorization(
        &self,
        device_code_hash: &TokenHash,
        decision: DeviceDecision,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let (status, subject, granted_scope) = match &decision {
            DeviceDecision::Approve { subject, scope } => {
                ("approved", Some(subject.as_str()), Some(scope.as_str()))
            }
            DeviceDecision::Deny => ("denied", None, None),
        };
        let decided = on_pool!(self, pool => {
            sqlx::query(DECIDE_DEVICE)
                .bind(device_code_hash.as_bytes().as_slice())
                .bind(status)
                .bind(subject)
                .bind(granted_scope)
                .bind(to_db_time(now))
                .execute(pool)
                .await
                .map_err(backend)?
                .rows_affected()
        });
        Ok(decided == 1)
    }

    async fn poll_device_code(
        &self,
        device_code_hash: &TokenHash,
        client_id: &ClientId,
        now: SystemTime,
        collection: &DeviceCollection,
    ) -> Result<Option<PolledDeviceCode>, StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                sqlite::poll_device_code(pool, device_code_hash, client_id, now, collection).await
            }
            Pool::Postgres(pool) => {
                postgres::poll_device_code(pool, device_code_hash, client_id, now, collection).await
            }
        }
    }
}
