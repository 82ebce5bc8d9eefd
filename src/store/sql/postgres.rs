//! The operations that write several rows, on PostgreSQL: each one
//! statement — one round trip, atomic by itself — whose data-modifying
//! `WITH` clauses do the conditional write and the inserts that depend on it.
//!
//! Why this is correct under READ COMMITTED: the conditional `UPDATE` (say
//! `… SET redeemed_at = $2 WHERE hash = $1 AND redeemed_at IS NULL`) locks
//! the row it changes; a concurrent statement aiming at the same row waits
//! for that lock, then re-evaluates its `WHERE` on the row as committed,
//! finds it redeemed, and changes nothing. The inserts select `FROM` the
//! update's `RETURNING` rows, so they happen exactly when the update did. The
//! final `SELECT` reads the statement's snapshot, taken before any of it:
//! enough to tell a code that exists (replayed, or a race lost) from one that
//! never did.

use std::sync::LazyLock;
use std::time::SystemTime;

use sqlx::Postgres;
use sqlx::postgres::{PgArguments, PgPool};

use super::rows::challenge_columns;
use super::sqlite::not_redeemed;
use super::{backend, insert_error, to_db_time};
use crate::client::ClientId;
use crate::protocol::Scope;
use crate::store::{
    AccessTokenRecord, DeviceRedemption, GrantId, NewGrant, Redemption, RefreshTokenRecord,
    Rotation, StoreError,
};
use crate::token::TokenHash;

type Query<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// A `WITH` clause named `name` inserting a token into `table` from the five
/// parameters starting at `$first` (hash, grant id, scope, issued, expires),
/// once per row of `from` (a `FROM …` clause, or empty for once), and not at
/// all if the hash parameter is null.
fn token_cte(name: &str, table: &str, first: usize, from: &str) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "{name} AS (INSERT INTO {table} (hash, grant_id, scope, issued_at, expires_at) \
         SELECT {}, {}, {}, {}, {} {from} WHERE {} IS NOT NULL)",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
        p(0)
    )
}

/// 24 parameters long, starting at `$first`: the `WITH`
/// clauses inserting a grant and its first secrets, once per row of `from`.
fn new_grant_ctes(first: usize, from: &str) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "grant_row AS (INSERT INTO grants (id, client_id, subject, scope, created_at, \
         expires_at) SELECT {}, {}, {}, {}, {}, {} {from}), {}, {}, \
         code AS (INSERT INTO authorization_codes (hash, grant_id, redirect_uri, \
         redirect_uri_in_request, challenge, challenge_method, issued_at, expires_at) \
         SELECT {}, {}, {}, {}, {}, {}, {}, {} {from} WHERE {} IS NOT NULL)",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        token_cte("access", "access_tokens", first + 6, from),
        token_cte("refresh", "refresh_tokens", first + 11, from),
        p(16),
        p(17),
        p(18),
        p(19),
        p(20),
        p(21),
        p(22),
        p(23),
        p(16),
    )
}

/// A token's five parameters, all null for none.
type TokenParams<'a> = Option<(
    &'a TokenHash,
    &'a GrantId,
    &'a Scope,
    SystemTime,
    SystemTime,
)>;

fn access_params(t: &AccessTokenRecord) -> TokenParams<'_> {
    Some((&t.hash, &t.grant_id, &t.scope, t.issued_at, t.expires_at))
}

fn refresh_params(t: &RefreshTokenRecord) -> TokenParams<'_> {
    Some((&t.hash, &t.grant_id, &t.scope, t.issued_at, t.expires_at))
}

fn bind_token<'q>(query: Query<'q>, token: TokenParams<'q>) -> Query<'q> {
    query
        .bind(token.map(|t| t.0.as_bytes().as_slice()))
        .bind(token.map(|t| t.1.as_bytes().as_slice()))
        .bind(token.map(|t| t.2.as_str()))
        .bind(token.map(|t| to_db_time(t.3)))
        .bind(token.map(|t| to_db_time(t.4)))
}

fn bind_new_grant<'q>(query: Query<'q>, new: &'q NewGrant) -> Query<'q> {
    let grant = &new.grant;
    let query = query
        .bind(grant.id.as_bytes().as_slice())
        .bind(grant.client_id.as_str())
        .bind(grant.subject.as_ref().map(|s| s.as_str()))
        .bind(grant.scope.as_str())
        .bind(to_db_time(grant.created_at))
        .bind(to_db_time(grant.expires_at));
    let query = bind_token(query, new.access_token.as_ref().and_then(access_params));
    let query = bind_token(query, new.refresh_token.as_ref().and_then(refresh_params));
    let code = new.code.as_ref();
    let (challenge, method) = challenge_columns(code.and_then(|c| c.challenge.as_ref()));
    query
        .bind(code.map(|c| c.hash.as_bytes().as_slice()))
        .bind(code.map(|c| c.grant_id.as_bytes().as_slice()))
        .bind(code.map(|c| &*c.redirect_uri))
        .bind(code.map(|c| c.redirect_uri_in_request))
        .bind(challenge)
        .bind(method)
        .bind(code.map(|c| to_db_time(c.issued_at)))
        .bind(code.map(|c| to_db_time(c.expires_at)))
}

static CREATE_GRANT: LazyLock<String> =
    LazyLock::new(|| format!("WITH {} SELECT 1", new_grant_ctes(1, "")));

pub(super) async fn create_grant(pool: &PgPool, new: &NewGrant) -> Result<(), StoreError> {
    bind_new_grant(sqlx::query(&CREATE_GRANT), new)
        .execute(pool)
        .await
        .map_err(insert_error)?;
    Ok(())
}

/// `$1` the old token's hash, `$2` now; the new refresh token from `$3`, the
/// new access token from `$8`.
static ROTATE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH rotated AS (UPDATE refresh_tokens SET rotated_at = $2 \
         WHERE hash = $1 AND rotated_at IS NULL \
         AND EXISTS (SELECT 1 FROM grants g WHERE g.id = refresh_tokens.grant_id) \
         RETURNING 1), {}, {} \
         SELECT (SELECT count(*) FROM rotated), \
         (SELECT count(*) FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id \
         WHERE t.hash = $1)",
        token_cte("new_refresh", "refresh_tokens", 3, "FROM rotated"),
        token_cte("new_access", "access_tokens", 8, "FROM rotated"),
    )
});

pub(super) async fn rotate_refresh_token(
    pool: &PgPool,
    old: &TokenHash,
    new_refresh: &RefreshTokenRecord,
    new_access: &AccessTokenRecord,
) -> Result<Rotation, StoreError> {
    let query = sqlx::query(&ROTATE)
        .bind(old.as_bytes().as_slice())
        .bind(to_db_time(new_access.issued_at));
    let query = bind_token(query, refresh_params(new_refresh));
    let query = bind_token(query, access_params(new_access));
    let (rotated, known) = outcome(query, pool).await?;
    Ok(if rotated == 1 {
        Rotation::Rotated
    } else if known > 0 {
        Rotation::Reused
    } else {
        Rotation::Unknown
    })
}

/// `$1` the code's hash, `$2` now; the access token from `$3`, the refresh
/// token (or nulls) from `$8`.
static REDEEM_CODE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH redeemed AS (UPDATE authorization_codes SET redeemed_at = $2 \
         WHERE hash = $1 AND redeemed_at IS NULL \
         AND EXISTS (SELECT 1 FROM grants g WHERE g.id = authorization_codes.grant_id) \
         RETURNING 1), {}, {} \
         SELECT (SELECT count(*) FROM redeemed), \
         (SELECT count(*) FROM authorization_codes t JOIN grants g ON g.id = t.grant_id \
         WHERE t.hash = $1)",
        token_cte("access", "access_tokens", 3, "FROM redeemed"),
        token_cte("refresh", "refresh_tokens", 8, "FROM redeemed"),
    )
});

pub(super) async fn redeem_code(
    pool: &PgPool,
    hash: &TokenHash,
    access: &AccessTokenRecord,
    refresh: Option<&RefreshTokenRecord>,
) -> Result<Redemption, StoreError> {
    let query = sqlx::query(&REDEEM_CODE)
        .bind(hash.as_bytes().as_slice())
        .bind(to_db_time(access.issued_at));
    let query = bind_token(query, access_params(access));
    let query = bind_token(query, refresh.and_then(refresh_params));
    let (redeemed, known) = outcome(query, pool).await?;
    Ok(if redeemed == 1 {
        Redemption::Redeemed
    } else if known > 0 {
        Redemption::AlreadyRedeemed
    } else {
        Redemption::Unknown
    })
}

/// Runs a statement ending in `SELECT <rows changed>, <rows known>`.
async fn outcome(query: Query<'_>, pool: &PgPool) -> Result<(i64, i64), StoreError> {
    use sqlx::Row as _;
    let row = query.fetch_one(pool).await.map_err(insert_error)?;
    Ok((
        row.try_get(0).map_err(backend)?,
        row.try_get(1).map_err(backend)?,
    ))
}

pub(super) async fn revoke_client_grants(
    pool: &PgPool,
    client_id: &ClientId,
) -> Result<u64, StoreError> {
    // The count is the main statement's: the grants.
    let revoked = sqlx::query(
        "WITH pending AS (DELETE FROM pending_authorizations WHERE client_id = $1), \
         devices AS (DELETE FROM device_authorizations WHERE client_id = $1) \
         DELETE FROM grants WHERE client_id = $1",
    )
    .bind(client_id.as_str())
    .execute(pool)
    .await
    .map_err(backend)?
    .rows_affected();
    Ok(revoked)
}

/// `$1` the device code's hash, `$2` the new grant's id; the grant and its
/// secrets from `$3`.
static REDEEM_DEVICE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH redeemed AS (UPDATE device_authorizations \
         SET status = 'redeemed', grant_id = $2 \
         WHERE device_code_hash = $1 AND status = 'approved' RETURNING 1), {} \
         SELECT (SELECT count(*) FROM redeemed), d.status, d.grant_id \
         FROM device_authorizations d WHERE d.device_code_hash = $1",
        new_grant_ctes(3, "FROM redeemed"),
    )
});

pub(super) async fn redeem_device_code(
    pool: &PgPool,
    device_code_hash: &TokenHash,
    new: &NewGrant,
) -> Result<DeviceRedemption, StoreError> {
    use sqlx::Row as _;
    let query = sqlx::query(&REDEEM_DEVICE)
        .bind(device_code_hash.as_bytes().as_slice())
        .bind(new.grant.id.as_bytes().as_slice());
    let row = bind_new_grant(query, new)
        .fetch_optional(pool)
        .await
        .map_err(insert_error)?;
    let row: Option<(i64, String, Option<Vec<u8>>)> = row
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .transpose()
        .map_err(backend)?;
    match row {
        Some((1, _, _)) => Ok(DeviceRedemption::Redeemed),
        // The snapshot showed it approved, yet the update matched nothing: a
        // concurrent redemption won and committed meanwhile. A new statement
        // sees the winner's grant.
        Some((_, status, _)) if status == "approved" => {
            let row: Option<(String, Option<Vec<u8>>)> = sqlx::query_as(
                "SELECT status, grant_id FROM device_authorizations \
                 WHERE device_code_hash = $1",
            )
            .bind(device_code_hash.as_bytes().as_slice())
            .fetch_optional(pool)
            .await
            .map_err(backend)?;
            not_redeemed(row)
        }
        Some((_, status, grant)) => not_redeemed(Some((status, grant))),
        None => Ok(DeviceRedemption::Unknown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many parameters [`new_grant_ctes`] takes.
    const NEW_GRANT_PARAMS: usize = 24;

    /// The highest `$n` in `sql`.
    fn last_param(sql: &str) -> usize {
        sql.split('$')
            .skip(1)
            .filter_map(|s| {
                let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn statements_number_their_parameters_as_bound() {
        // Each statement binds exactly its highest parameter's count of values.
        assert_eq!(last_param(&new_grant_ctes(1, "")), NEW_GRANT_PARAMS);
        assert_eq!(last_param(&CREATE_GRANT), NEW_GRANT_PARAMS);
        assert_eq!(last_param(&ROTATE), 2 + 5 + 5);
        assert_eq!(last_param(&REDEEM_CODE), 2 + 5 + 5);
        assert_eq!(last_param(&REDEEM_DEVICE), 2 + NEW_GRANT_PARAMS);
    }
}
