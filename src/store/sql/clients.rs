//! Registered clients: one row each, the client in its `serde` form.
//!
//! The registration access token's hash is kept in a column of its own too,
//! so that the compare-and-swap of RFC 7592 is one conditional statement,
//! and so is the registrant a dynamically registered client counts against
//! (`registrant`), so that a registration quota is one indexed count.

use std::sync::Arc;

use super::support::{WritePool as _, backend, insert_error, invalid};
use super::{Pool, SqlStore, on_pool};
use crate::client::{Client, ClientRegistry, RegistrationQuota};
use crate::store::StoreError;
use crate::token::TokenHash;

fn serialise(client: &Client) -> Result<String, StoreError> {
    serde_json::to_string(client).map_err(StoreError::backend)
}

/// The PostgreSQL advisory lock of a registrant: the first eight bytes of
/// its fingerprint. Two registrants sharing them only take turns.
fn registrant_lock(quota: &RegistrationQuota) -> i64 {
    let [a, b, c, d, e, f, g, h, ..] = *quota.registrant().as_bytes();
    i64::from_be_bytes([a, b, c, d, e, f, g, h])
}

fn token_column(client: &Client) -> Option<&[u8]> {
    client
        .registration_access_token_hash()
        .map(|h| h.as_bytes().as_slice())
}

impl ClientRegistry for SqlStore {
    async fn find_client(&self, client_id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        let row: Option<String> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT client FROM clients WHERE client_id = $1")
                .bind(client_id)
                .fetch_optional(pool)
                .await
                .map_err(backend)?
        });
        // Deserialising validates every registration rule again, so a row
        // changed by hand cannot yield an inconsistent client.
        row.map(|json| {
            serde_json::from_str::<Client>(&json)
                .map(Arc::new)
                .map_err(|_| invalid("a stored client is not a valid registration"))
        })
        .transpose()
    }

    async fn insert_client(&self, client: Client) -> Result<(), StoreError> {
        let json = serialise(&client)?;
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO clients (client_id, registration_token_hash, client) \
                 VALUES ($1, $2, $3)",
            )
            .bind(client.id().as_str())
            .bind(token_column(&client))
            .bind(&json)
            .execute(pool)
            .await
            .map_err(insert_error)?;
        });
        Ok(())
    }

    async fn insert_client_within_quota(
        &self,
        client: Client,
        quota: &RegistrationQuota,
    ) -> Result<bool, StoreError> {
        let json = serialise(&client)?;
        let registrant = quota.registrant().as_bytes().as_slice();
        let max = i64::try_from(quota.max_clients()).unwrap_or(i64::MAX);
        // One transaction holding a lock per registrant while it counts and
        // inserts: SQLite's write lock (`BEGIN IMMEDIATE`), or on PostgreSQL
        // an advisory lock on the registrant, released at commit. Under READ
        // COMMITTED each statement reads what was committed before it, so
        // the count after the lock sees every insert of the holders before.
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if let Pool::Postgres(_) = &self.pool {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(registrant_lock(quota))
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
            let count: i64 =
                sqlx::query_scalar("SELECT count(*) FROM clients WHERE registrant = $1")
                    .bind(registrant)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(backend)?;
            if count >= max {
                tx.rollback().await.map_err(backend)?;
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO clients (client_id, registration_token_hash, client, registrant) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(client.id().as_str())
            .bind(token_column(&client))
            .bind(&json)
            .bind(registrant)
            .execute(&mut *tx)
            .await
            .map_err(insert_error)?;
            tx.commit().await.map_err(backend)?;
        });
        Ok(true)
    }

    async fn update_client(
        &self,
        client: Client,
        expected_token: Option<&TokenHash>,
    ) -> Result<bool, StoreError> {
        let json = serialise(&client)?;
        let expected = expected_token.map(|h| h.as_bytes().as_slice());
        // The condition and the write in one statement: of concurrent updates
        // presenting one token, the first to lock the row changes the token
        // and the others' re-checked condition fails (RFC 7592 §2.2).
        let result = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE clients SET registration_token_hash = $2, client = $3 \
                 WHERE client_id = $1 AND ($4 IS NULL OR registration_token_hash = $4)",
            )
            .bind(client.id().as_str())
            .bind(token_column(&client))
            .bind(&json)
            .bind(expected)
            .execute(pool)
            .await
            .map_err(backend)?
            .rows_affected()
        });
        Ok(result == 1)
    }

    async fn delete_client(
        &self,
        client_id: &str,
        expected_token: Option<&TokenHash>,
    ) -> Result<bool, StoreError> {
        let expected = expected_token.map(|h| h.as_bytes().as_slice());
        let deleted = on_pool!(self, pool => {
            sqlx::query(
                "DELETE FROM clients \
                 WHERE client_id = $1 AND ($2 IS NULL OR registration_token_hash = $2)",
            )
            .bind(client_id)
            .bind(expected)
            .execute(pool)
            .await
            .map_err(backend)?
            .rows_affected()
        });
        Ok(deleted == 1)
    }
}
