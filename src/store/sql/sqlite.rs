//! The operations that write several rows, on SQLite: each one transaction
//! begun `IMMEDIATE`, so it holds the database's write lock from its first
//! statement and concurrent ones run one after another. The first statement
//! is the conditional write that decides the race (`UPDATE … WHERE
//! redeemed_at IS NULL`); the inserts follow only if it matched.

use std::sync::LazyLock;
use std::time::SystemTime;

use sqlx::SqliteConnection;
use sqlx::sqlite::SqlitePool;

use super::rows::{self, CodeRow, NewGrantRows, PolledRow, RefreshRow, challenge_columns};
use super::statements::{FIND_CODE, FIND_REFRESH_TOKEN, POLL_SET, POLLED_COLUMNS, poll_params};
use super::support::{WritePool as _, backend, insert_error, to_db_time};
use crate::client::ClientId;
use crate::store::{
    AccessTokenRecord, CodeRedemption, Decision, DeviceCollection, DeviceStatus, GrantId,
    PolledDeviceCode, Redemption, RefreshRotation, RefreshTokenRecord, Rotation, StoreError,
};
use crate::token::{Confirmation, TokenHash};

/// Records a poll, inside the transaction that then collects an approval
/// or revokes a replayed grant.
static POLL_DEVICE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE device_authorizations SET {POLL_SET} \
         WHERE device_code_hash = $1 AND client_id = $2 RETURNING {POLLED_COLUMNS}"
    )
});

pub(super) async fn insert_access(
    conn: &mut SqliteConnection,
    token: &AccessTokenRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO access_tokens (hash, grant_id, scope, audience, issued_at, expires_at, \
         cnf, authorization_details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(token.hash.as_bytes().as_slice())
    .bind(token.grant_id.as_bytes().as_slice())
    .bind(token.scope.as_str())
    .bind(token.audience.to_stored())
    .bind(to_db_time(token.issued_at))
    .bind(to_db_time(token.expires_at))
    .bind(token.cnf.as_ref().map(Confirmation::to_json))
    .bind(token.authorization_details.to_stored())
    .execute(conn)
    .await
    .map_err(insert_error)?;
    Ok(())
}

pub(super) async fn insert_refresh(
    conn: &mut SqliteConnection,
    token: &RefreshTokenRecord,
) -> Result<(), StoreError> {
    // A rotated-out mark defaults to null.
    sqlx::query(
        "INSERT INTO refresh_tokens (hash, grant_id, scope, issued_at, expires_at, cnf) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token.hash.as_bytes().as_slice())
    .bind(token.grant_id.as_bytes().as_slice())
    .bind(token.scope.as_str())
    .bind(to_db_time(token.issued_at))
    .bind(to_db_time(token.expires_at))
    .bind(token.cnf.as_ref().map(Confirmation::to_json))
    .execute(conn)
    .await
    .map_err(insert_error)?;
    Ok(())
}

/// Inserts a grant with its first secrets, inside the caller's transaction.
pub(super) async fn insert_new_grant(
    conn: &mut SqliteConnection,
    new: &NewGrantRows<'_>,
) -> Result<(), StoreError> {
    let grant = new.grant;
    sqlx::query(
        "INSERT INTO grants (id, client_id, subject, scope, resources, created_at, expires_at, \
         openid, authorization_details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(grant.id.as_bytes().as_slice())
    .bind(grant.client_id.as_str())
    .bind(grant.subject.as_ref().map(|s| s.as_str()))
    .bind(grant.scope.as_str())
    .bind(grant.resources.to_stored())
    .bind(to_db_time(grant.created_at))
    .bind(to_db_time(grant.expires_at))
    .bind(grant.openid.as_ref().map(|o| o.to_json()))
    .bind(grant.authorization_details.to_stored())
    .execute(&mut *conn)
    .await
    .map_err(insert_error)?;
    if let Some(token) = new.access_token {
        insert_access(conn, token).await?;
    }
    if let Some(token) = new.refresh_token {
        insert_refresh(conn, token).await?;
    }
    if let Some(code) = new.code {
        let (challenge, method) = challenge_columns(code.challenge.as_ref());
        sqlx::query(
            "INSERT INTO authorization_codes (hash, grant_id, redirect_uri, \
             redirect_uri_in_request, challenge, challenge_method, issued_at, expires_at, \
             dpop_jkt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(code.hash.as_bytes().as_slice())
        .bind(code.grant_id.as_bytes().as_slice())
        .bind(&*code.redirect_uri)
        .bind(code.redirect_uri_in_request)
        .bind(challenge)
        .bind(method)
        .bind(to_db_time(code.issued_at))
        .bind(to_db_time(code.expires_at))
        .bind(code.dpop_jkt.as_deref())
        .execute(conn)
        .await
        .map_err(insert_error)?;
    }
    Ok(())
}

pub(super) async fn rotate_refresh_token(
    pool: &SqlitePool,
    old: &TokenHash,
    rotation: &RefreshRotation,
) -> Result<Rotation, StoreError> {
    let mut tx = pool.begin_write().await?;
    let row: Option<RefreshRow> = sqlx::query_as(FIND_REFRESH_TOKEN)
        .bind(old.as_bytes().as_slice())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
    let Some(found) = row.map(|row| rows::refresh(old, row)).transpose()? else {
        return Ok(Rotation::Refused(None));
    };
    let outcome = match rotation.decide(&found) {
        Decision::Issue => {
            sqlx::query("UPDATE refresh_tokens SET rotated_at = $2 WHERE hash = $1")
                .bind(old.as_bytes().as_slice())
                .bind(to_db_time(rotation.now))
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            let (refresh, access) = rotation.tokens(&found);
            insert_refresh(&mut tx, &refresh).await?;
            insert_access(&mut tx, &access).await?;
            Rotation::Rotated(found)
        }
        Decision::RevokeGrant => {
            revoke_grant(&mut tx, &found.grant.id).await?;
            Rotation::Revoked(found.grant.id)
        }
        Decision::Refuse => Rotation::Refused(Some(found)),
    };
    tx.commit().await.map_err(backend)?;
    Ok(outcome)
}

pub(super) async fn redeem_code(
    pool: &SqlitePool,
    hash: &TokenHash,
    redemption: &CodeRedemption,
) -> Result<Redemption, StoreError> {
    let mut tx = pool.begin_write().await?;
    let row: Option<CodeRow> = sqlx::query_as(FIND_CODE)
        .bind(hash.as_bytes().as_slice())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
    let Some(found) = row.map(|row| rows::code(hash, row)).transpose()? else {
        return Ok(Redemption::Refused(None));
    };
    let outcome = match redemption.decide(&found) {
        Decision::Issue => {
            sqlx::query("UPDATE authorization_codes SET redeemed_at = $2 WHERE hash = $1")
                .bind(hash.as_bytes().as_slice())
                .bind(to_db_time(redemption.now))
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            let (access, refresh) = redemption.tokens(&found.grant);
            insert_access(&mut tx, &access).await?;
            if let Some(refresh) = refresh {
                insert_refresh(&mut tx, &refresh).await?;
            }
            Redemption::Redeemed(found)
        }
        Decision::RevokeGrant => {
            revoke_grant(&mut tx, &found.grant.id).await?;
            Redemption::Revoked(found.grant.id)
        }
        Decision::Refuse => Redemption::Refused(Some(found)),
    };
    tx.commit().await.map_err(backend)?;
    Ok(outcome)
}

/// Revokes a grant inside the caller's transaction (see
/// `GrantStore::revoke_grant`).
async fn revoke_grant(conn: &mut SqliteConnection, id: &GrantId) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM grants WHERE id = $1")
        .bind(id.as_bytes().as_slice())
        .execute(conn)
        .await
        .map_err(backend)?;
    Ok(())
}

pub(super) async fn poll_device_code(
    pool: &SqlitePool,
    device_code_hash: &TokenHash,
    client_id: &ClientId,
    now: SystemTime,
    collection: &DeviceCollection,
) -> Result<Option<PolledDeviceCode>, StoreError> {
    let mut tx = pool.begin_write().await?;
    let (p1, p2, p3, p4, p5) = poll_params(device_code_hash, client_id, now);
    let row: Option<PolledRow> = sqlx::query_as(&POLL_DEVICE)
        .bind(p1)
        .bind(p2)
        .bind(p3)
        .bind(p4)
        .bind(p5)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (mut record, too_fast) = rows::polled(row)?;
    let mut collected = None;
    match &record.status {
        DeviceStatus::Approved { subject, scope } if record.expires_at > now => {
            let new = collection.new_grant(&record, subject, scope, now);
            sqlx::query(
                "UPDATE device_authorizations SET status = 'redeemed', grant_id = $2 \
                 WHERE device_code_hash = $1",
            )
            .bind(device_code_hash.as_bytes().as_slice())
            .bind(new.grant.id.as_bytes().as_slice())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            insert_new_grant(&mut tx, &NewGrantRows::from(&new)).await?;
            record.status = DeviceStatus::Redeemed {
                grant_id: new.grant.id,
            };
            collected = Some(new.grant);
        }
        DeviceStatus::Redeemed { grant_id } => revoke_grant(&mut tx, grant_id).await?,
        _ => {}
    }
    tx.commit().await.map_err(backend)?;
    Ok(Some(PolledDeviceCode::new(record, too_fast, collected)))
}
