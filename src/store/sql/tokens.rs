//! The storage traits on SQL: the statements both dialects share
//! (`statements.rs`), and dispatch to the per-backend ones for the
//! operations that write several rows atomically (`sqlite.rs`: one
//! transaction; `postgres.rs`: one statement).

use std::time::SystemTime;

use super::rows::{self, AccessRow, CodeRow, DeviceRow, NewGrantRows, PendingRow, RefreshRow};
use super::statements::{
    ADD_ACCESS_TOKEN, DECIDE_DEVICE, FIND_ACCESS_TOKEN, FIND_CODE, FIND_DEVICE, FIND_GRANT,
    FIND_PENDING, FIND_REFRESH_TOKEN, PURGE_CODES, PURGE_DEVICES, PURGE_GRANTS, SAVE_DEVICE,
    TAKE_PENDING,
};
use super::support::{WritePool as _, backend, insert_error, to_db_duration, to_db_time};
use super::{Pool, SqlStore, on_pool, postgres, sqlite};
use crate::client::ClientId;
use crate::store::{
    AccessTokenRecord, AuthorizationCodeStore, CodeRedemption, DeviceAuthorizationRecord,
    DeviceAuthorizationStore, DeviceCollection, DeviceDecision, FoundCode, FoundRefreshToken,
    GrantId, GrantRecord, GrantStore, NewCodeGrant, NewGrant, PendingAuthorizationRecord,
    PolledDeviceCode, PushedAuthorizationRecord, Redemption, RefreshRotation, Rotation, StoreError,
};
use crate::token::{Confirmation, TokenHash};

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

    /// Stores a grant with its first secrets, atomically: one transaction on
    /// SQLite, one statement on PostgreSQL.
    async fn insert_grant(&self, new: &NewGrantRows<'_>) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut tx = pool.begin_write().await?;
                sqlite::insert_new_grant(&mut tx, new).await?;
                tx.commit().await.map_err(backend)
            }
            Pool::Postgres(pool) => postgres::create_grant(pool, new).await,
        }
    }

    /// Deletes the rows of `client_id` from `table`; returns how many went.
    async fn delete_client_rows(
        &self,
        table: &'static str,
        client_id: &ClientId,
    ) -> Result<u64, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query(&format!("DELETE FROM {table} WHERE client_id = $1"))
                .bind(client_id.as_str())
                .execute(pool)
                .await
                .map_err(backend)?
                .rows_affected()
        }))
    }

    /// Runs the purge `statements`, each with `$1` = `now`, in one
    /// transaction; returns how many rows went.
    async fn purge(&self, statements: &[&str], now: SystemTime) -> Result<u64, StoreError> {
        let now = to_db_time(now);
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut removed = 0;
            for statement in statements {
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
}

impl GrantStore for SqlStore {
    async fn create_grant(&self, new: NewGrant) -> Result<(), StoreError> {
        self.insert_grant(&NewGrantRows::from(&new)).await
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

    async fn find_grant(&self, id: &GrantId) -> Result<Option<GrantRecord>, StoreError> {
        let row: Option<rows::GrantColumns> = on_pool!(self, pool => {
            sqlx::query_as(FIND_GRANT)
                .bind(id.as_bytes().as_slice())
                .fetch_optional(pool)
                .await
                .map_err(backend)?
        });
        row.map(|row| rows::grant(*id, row)).transpose()
    }

    async fn add_access_token(&self, token: AccessTokenRecord) -> Result<bool, StoreError> {
        // One statement: the insert happens only if the grant is there.
        let exchange = token.exchange.as_ref().map(|e| e.to_json());
        let cnf = token.cnf.as_ref().map(Confirmation::to_json);
        let inserted = on_pool!(self, pool => {
            sqlx::query(ADD_ACCESS_TOKEN)
                .bind(token.hash.as_bytes().as_slice())
                .bind(token.grant_id.as_bytes().as_slice())
                .bind(token.scope.as_str())
                .bind(token.audience.to_stored())
                .bind(to_db_time(token.issued_at))
                .bind(to_db_time(token.expires_at))
                .bind(exchange.clone())
                .bind(cnf.clone())
                .bind(token.authorization_details.to_stored())
                .execute(pool)
                .await
                .map_err(insert_error)?
                .rows_affected()
        });
        Ok(inserted > 0)
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
        // One statement: the client's tokens and codes join on its grants to
        // be found, so they go with them.
        self.delete_client_rows("grants", client_id).await
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<u64, StoreError> {
        self.purge(&PURGE_GRANTS, now).await
    }
}

impl AuthorizationCodeStore for SqlStore {
    async fn create_code_grant(&self, new: NewCodeGrant) -> Result<(), StoreError> {
        self.insert_grant(&NewGrantRows::from(&new)).await
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

    async fn save_pending(&self, pending: PendingAuthorizationRecord) -> Result<(), StoreError> {
        let (challenge, method) = rows::challenge_columns(pending.challenge.as_ref());
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO pending_authorizations (hash, client_id, response_type, \
                 redirect_uri, redirect_uri_in_request, scope, resources, state, response_mode, \
                 challenge, challenge_method, created_at, expires_at, openid, \
                 authorization_details, dpop_jkt) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            )
            .bind(pending.hash.as_bytes().as_slice())
            .bind(pending.client_id.as_str())
            .bind(rows::response_type_text(pending.response_type))
            .bind(&*pending.redirect_uri)
            .bind(pending.redirect_uri_in_request)
            .bind(pending.scope.as_str())
            .bind(pending.resources.to_stored())
            .bind(pending.state.as_deref())
            .bind(rows::response_mode_text(pending.response_mode))
            .bind(challenge)
            .bind(method)
            .bind(to_db_time(pending.created_at))
            .bind(to_db_time(pending.expires_at))
            .bind(pending.openid.as_ref().map(|o| o.to_json()))
            .bind(pending.authorization_details.to_stored())
            .bind(pending.dpop_jkt.as_deref())
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

    async fn save_pushed(&self, pushed: PushedAuthorizationRecord) -> Result<(), StoreError> {
        self.insert_pushed(pushed).await
    }

    async fn take_pushed(
        &self,
        hash: &TokenHash,
        client_id: &ClientId,
        now: SystemTime,
    ) -> Result<Option<PushedAuthorizationRecord>, StoreError> {
        self.delete_pushed(hash, client_id, now).await
    }

    async fn revoke_client_pending(&self, client_id: &ClientId) -> Result<u64, StoreError> {
        Ok(self
            .delete_client_rows("pending_authorizations", client_id)
            .await?
            + self
                .delete_client_rows("pushed_authorizations", client_id)
                .await?)
    }

    async fn purge_expired_codes(&self, now: SystemTime) -> Result<u64, StoreError> {
        self.purge(&PURGE_CODES, now).await
    }
}

impl DeviceAuthorizationStore for SqlStore {
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

    async fn revoke_client_device_authorizations(
        &self,
        client_id: &ClientId,
    ) -> Result<u64, StoreError> {
        // Whatever their status: one approved but not collected must not
        // outlive its client.
        self.delete_client_rows("device_authorizations", client_id)
            .await
    }

    async fn purge_expired_device_authorizations(
        &self,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        self.purge(&PURGE_DEVICES, now).await
    }
}
