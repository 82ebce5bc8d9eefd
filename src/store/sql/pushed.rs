//! Pushed authorization requests (RFC 9126 §2) on SQL: one row per
//! `request_uri` hash, taken once by a single `DELETE … RETURNING`.

use std::time::SystemTime;

use super::rows::token_hash;
use super::support::{from_db_time, insert_error, to_db_time};
use super::{SqlStore, on_pool};
use crate::client::ClientId;
use crate::store::{PushedAuthorizationRecord, StoreError};
use crate::token::TokenHash;

const SAVE: &str = "INSERT INTO pushed_authorizations \
     (hash, client_id, parameters, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";

/// One statement: of concurrent takes, the first deletes the row and gets
/// it back; the others find nothing to delete. A row of another client, or
/// one expired, is not deleted (RFC 9126 §4: bound to its client, used once
/// before it expires).
const TAKE: &str = "DELETE FROM pushed_authorizations \
     WHERE hash = $1 AND client_id = $2 AND expires_at > $3 \
     RETURNING hash, client_id, parameters, created_at, expires_at";

type PushedRow = (Vec<u8>, String, String, i64, i64);

impl SqlStore {
    pub(super) async fn insert_pushed(
        &self,
        pushed: PushedAuthorizationRecord,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(SAVE)
                .bind(pushed.hash.as_bytes().as_slice())
                .bind(pushed.client_id.as_str())
                .bind(pushed.parameters.as_str())
                .bind(to_db_time(pushed.created_at))
                .bind(to_db_time(pushed.expires_at))
                .execute(pool)
                .await
                .map_err(insert_error)?;
        });
        Ok(())
    }

    pub(super) async fn delete_pushed(
        &self,
        hash: &TokenHash,
        client_id: &ClientId,
        now: SystemTime,
    ) -> Result<Option<PushedAuthorizationRecord>, StoreError> {
        let row: Option<PushedRow> = on_pool!(self, pool => {
            sqlx::query_as(TAKE)
                .bind(hash.as_bytes().as_slice())
                .bind(client_id.as_str())
                .bind(to_db_time(now))
                .fetch_optional(pool)
                .await
                .map_err(super::support::backend)?
        });
        row.map(|(hash, client_id, parameters, created, expires)| {
            Ok(PushedAuthorizationRecord {
                hash: token_hash(hash)?,
                client_id: ClientId::new_unchecked(&client_id),
                parameters,
                created_at: from_db_time(created),
                expires_at: from_db_time(expires),
            })
        })
        .transpose()
    }
}
