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

use sqlx::postgres::{PgArguments, PgPool, PgRow};
use sqlx::{FromRow as _, Postgres, Row as _};

use super::rows::{self, CodeRow, NewGrantRows, PolledRow, RefreshRow, challenge_columns};
use super::statements::{POLL_SET, POLLED_COLUMNS, poll_params};
use super::support::{backend, insert_error, to_db_time};
use crate::client::ClientId;
use crate::protocol::{AuthorizationDetails, CodeVerifier, Scope};
use crate::store::{
    AccessTokenRecord, CodeRedemption, Decision, DeviceCollection, DeviceStatus, GrantId,
    PolledDeviceCode, Redemption, RefreshRotation, RefreshTokenRecord, Rotation, StoreError,
    Subject,
};
use crate::token::{Confirmation, TokenHash};

type Query<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// A `WITH` clause named `name` inserting a token into `table` from the five
/// parameters starting at `$first` (hash, grant id, scope, issued, expires),
/// once per row of `from` (a `FROM …` clause, or empty for once), and not at
/// all if the hash parameter is null.
fn token_cte(name: &str, table: &str, first: usize, cnf: usize, from: &str) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "{name} AS (INSERT INTO {table} (hash, grant_id, scope, issued_at, expires_at, cnf) \
         SELECT {}, {}, {}, {}, {}, ${cnf} {from} WHERE {} IS NOT NULL)",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
        p(0)
    )
}

/// 32 parameters long, starting at `$first`: the `WITH` clauses inserting a
/// grant and its first secrets — tokens, or a code; those absent are bound
/// as nulls and not inserted — once per row of `from`. The access token's
/// audience is the parameter after its five; then the grant's OpenID
/// Connect record and authorization details (RFC 9396), the access and
/// refresh tokens' key bindings, the code's `dpop_jkt`, and last the access
/// token's authorization details.
fn new_grant_ctes(first: usize, from: &str) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "grant_row AS (INSERT INTO grants (id, client_id, subject, scope, resources, \
         created_at, expires_at, openid, authorization_details) \
         SELECT {}, {}, {}, {}, {}, {}, {}, {}, {} {from}), \
         access AS (INSERT INTO access_tokens (hash, grant_id, scope, issued_at, expires_at, \
         audience, cnf, authorization_details) SELECT {}, {}, {}, {}, {}, {}, {}, {} {from} \
         WHERE {} IS NOT NULL), {}, \
         code AS (INSERT INTO authorization_codes (hash, grant_id, redirect_uri, \
         redirect_uri_in_request, challenge, challenge_method, issued_at, expires_at, dpop_jkt) \
         SELECT {}, {}, {}, {}, {}, {}, {}, {}, {} {from} WHERE {} IS NOT NULL)",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6),
        p(26),
        p(27),
        p(7),
        p(8),
        p(9),
        p(10),
        p(11),
        p(12),
        p(28),
        p(31),
        p(7),
        token_cte("refresh", "refresh_tokens", first + 13, first + 29, from),
        p(18),
        p(19),
        p(20),
        p(21),
        p(22),
        p(23),
        p(24),
        p(25),
        p(30),
        p(18),
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

fn bind_new_grant<'q>(query: Query<'q>, new: &NewGrantRows<'q>) -> Query<'q> {
    let grant = new.grant;
    let query = query
        .bind(grant.id.as_bytes().as_slice())
        .bind(grant.client_id.as_str())
        .bind(grant.subject.as_ref().map(|s| s.as_str()))
        .bind(grant.scope.as_str())
        .bind(grant.resources.to_stored())
        .bind(to_db_time(grant.created_at))
        .bind(to_db_time(grant.expires_at));
    let access = new.access_token;
    let query = bind_token(query, access.and_then(access_params))
        .bind(access.map(|t| t.audience.to_stored()));
    let query = bind_token(query, new.refresh_token.and_then(refresh_params));
    let code = new.code;
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
        .bind(grant.openid.as_ref().map(|o| o.to_json()))
        .bind(grant.authorization_details.to_stored())
        .bind(
            access
                .and_then(|t| t.cnf.as_ref())
                .map(Confirmation::to_json),
        )
        .bind(
            new.refresh_token
                .and_then(|t| t.cnf.as_ref())
                .map(Confirmation::to_json),
        )
        .bind(code.and_then(|c| c.dpop_jkt.as_deref()))
        .bind(access.map(|t| t.authorization_details.to_stored()))
}

static CREATE_GRANT: LazyLock<String> =
    LazyLock::new(|| format!("WITH {} SELECT 1", new_grant_ctes(1, "")));

/// Stores a grant with its first secrets in one statement.
pub(super) async fn create_grant(pool: &PgPool, new: &NewGrantRows<'_>) -> Result<(), StoreError> {
    bind_new_grant(sqlx::query(&CREATE_GRANT), new)
        .execute(pool)
        .await
        .map_err(insert_error)?;
    Ok(())
}

/// The code with its grant, as `FIND_CODE` selects it, in the statement's
/// snapshot.
const FOUND_CODE: &str = "found AS (SELECT c.grant_id, c.redirect_uri, \
     c.redirect_uri_in_request, c.challenge, c.challenge_method, c.issued_at, c.expires_at, \
     c.redeemed_at, g.client_id, g.subject, g.scope, g.resources, g.openid, \
     g.authorization_details, g.created_at, g.expires_at AS grant_expires_at, c.dpop_jkt \
     FROM authorization_codes c JOIN grants g ON g.id = c.grant_id WHERE c.hash = $1)";

/// Redeems a code as `CodeRedemption::decide` says, in one statement.
///
/// `$1` the code's hash, `$2` now, `$3` the client, `$4` the `redirect_uri`
/// sent (or null), `$5` the `code_verifier` sent (or null) and `$6` the `S256`
/// challenge it answers; the access token's hash and uncapped expiry in `$7`,
/// `$8`, the refresh token's (or nulls) in `$9`, `$10`; the access token's
/// audience in `$11` and its narrower scope (or null) in `$12`; the access
/// and refresh tokens' key bindings (or nulls) in `$13`, `$14`; the DPoP key
/// thumbprint the request proved (or null) in `$15`, which a code bound by
/// `dpop_jkt` must match to be `bound` (RFC 9449 §10); the authorization
/// details the access token carries (RFC 9396 §6.2; null for the grant's)
/// in `$16`.
///
/// `bound`: the code is the client's and its redirect URI and PKCE binding
/// hold. `passes`: also unredeemed, and it and its grant unexpired. Redeeming needs `passes`
/// and a row still unredeemed when the `UPDATE` locks it; a bound code that
/// was redeemed in the snapshot (a replay), or that passed but was redeemed
/// concurrently (a race lost), revokes its grant. The tokens are inserted
/// only if the `UPDATE` matched, under the grant the snapshot shows, capped
/// at its expiry.
///
/// SQL's `=` is not constant-time. For `S256` it compares digests, which
/// leak nothing about the verifier; for `plain` (an opt-in that RFC 9700
/// §2.1.1 discourages) it compares the verifier itself, after the code —
/// a 256-bit secret only its holder has — has been found, so a timing
/// difference inside the database tells nothing to anyone without the code.
const REDEEM_CODE: &str = "WITH found_code, \
     bound AS (SELECT * FROM found WHERE client_id = $3 \
         AND (dpop_jkt IS NULL OR dpop_jkt = $15::text) \
         AND CASE WHEN $4::text IS NULL THEN NOT redirect_uri_in_request \
             ELSE redirect_uri = $4 END \
         AND CASE WHEN challenge IS NULL THEN $5::text IS NULL \
             WHEN challenge_method = 'S256' THEN challenge = $6 \
             ELSE challenge = $5 END), \
     passes AS (SELECT * FROM bound WHERE redeemed_at IS NULL AND expires_at > $2 \
         AND grant_expires_at > $2), \
     redeemed AS (UPDATE authorization_codes SET redeemed_at = $2 \
         WHERE hash = $1 AND redeemed_at IS NULL AND EXISTS (SELECT 1 FROM passes) \
         RETURNING 1), \
     revoked AS (DELETE FROM grants WHERE id IN \
         (SELECT grant_id FROM bound WHERE redeemed_at IS NOT NULL \
          UNION ALL SELECT grant_id FROM passes WHERE NOT EXISTS (SELECT 1 FROM redeemed))), \
     access AS (INSERT INTO access_tokens (hash, grant_id, scope, audience, issued_at, \
         expires_at, cnf, authorization_details) SELECT $7, grant_id, COALESCE($12, scope), \
         $11, $2, LEAST($8, grant_expires_at), $13, \
         COALESCE($16::text, authorization_details) \
         FROM passes WHERE EXISTS (SELECT 1 FROM redeemed)), \
     refresh AS (INSERT INTO refresh_tokens (hash, grant_id, scope, issued_at, expires_at, cnf) \
         SELECT $9, grant_id, scope, $2, LEAST($10, grant_expires_at), $14 FROM passes \
         WHERE $9 IS NOT NULL AND EXISTS (SELECT 1 FROM redeemed)) \
     SELECT grant_id, redirect_uri, redirect_uri_in_request, challenge, challenge_method, \
     issued_at, expires_at, redeemed_at, client_id, subject, scope, resources, openid, \
     authorization_details, created_at, grant_expires_at, dpop_jkt, \
     (SELECT count(*) FROM redeemed) FROM found";

static REDEEM_CODE_SQL: LazyLock<String> =
    LazyLock::new(|| REDEEM_CODE.replacen("found_code", FOUND_CODE, 1));

pub(super) async fn redeem_code(
    pool: &PgPool,
    hash: &TokenHash,
    redemption: &CodeRedemption,
) -> Result<Redemption, StoreError> {
    let verifier = redemption.code_verifier.as_ref();
    let refresh = redemption.refresh_token.as_ref();
    let row = sqlx::query(&REDEEM_CODE_SQL)
        .bind(hash.as_bytes().as_slice())
        .bind(to_db_time(redemption.now))
        .bind(redemption.client_id.as_str())
        .bind(redemption.redirect_uri.as_deref())
        .bind(verifier.map(CodeVerifier::expose_secret))
        .bind(verifier.map(CodeVerifier::s256_challenge))
        .bind(redemption.access_token.hash.as_bytes().as_slice())
        .bind(to_db_time(redemption.access_token.expires_at))
        .bind(refresh.map(|t| t.hash.as_bytes().as_slice()))
        .bind(refresh.map(|t| to_db_time(t.expires_at)))
        .bind(redemption.access_token.audience.to_stored())
        .bind(redemption.access_scope.as_ref().map(Scope::as_str))
        .bind(
            redemption
                .access_token
                .cnf
                .as_ref()
                .map(Confirmation::to_json),
        )
        .bind(
            refresh
                .and_then(|t| t.cnf.as_ref())
                .map(Confirmation::to_json),
        )
        .bind(
            redemption
                .proven_key
                .as_ref()
                .and_then(Confirmation::jwk_thumbprint),
        )
        .bind(
            redemption
                .access_token
                .authorization_details
                .as_ref()
                .map(AuthorizationDetails::to_stored),
        )
        .fetch_optional(pool)
        .await
        .map_err(insert_error)?;
    let Some(row) = row else {
        return Ok(Redemption::Refused(None));
    };
    let found = rows::code(hash, CodeRow::from_row(&row).map_err(backend)?)?;
    Ok(if changed(&row, 17)? {
        Redemption::Redeemed(found)
    } else {
        match redemption.decide(&found) {
            // Passing every check yet not redeemed: a concurrent redemption
            // won, and the statement revoked the grant.
            Decision::Issue | Decision::RevokeGrant => Redemption::Revoked(found.grant.id),
            Decision::Refuse => Redemption::Refused(Some(found)),
        }
    })
}

/// Rotates a refresh token as `RefreshRotation::decide` says, in one
/// statement, shaped as [`REDEEM_CODE`].
///
/// `$1` the old token's hash, `$2` now, `$3` the client, `$4` the narrower
/// scope asked for (or null); the new refresh token's hash and uncapped
/// expiry in `$5`, `$6`, the new access token's in `$7`, `$8`, and its
/// audience in `$9`; the key the request proved (or null) in `$10`, the new
/// access token's binding (or null) in `$11`, and the authorization details
/// it carries (RFC 9396 §6.2; null for the grant's) in `$12`. The scope
/// check compares scopes as sets of space-separated tokens. A token bound
/// to a key (`cnf`) is the client's only with that key proven, so without
/// it nothing happens, not even reuse detection (RFC 9449 §5); the new
/// refresh token keeps the old one's binding.
const ROTATE: &str = "WITH found AS (SELECT r.grant_id, r.scope, r.issued_at, r.expires_at, \
         g.client_id, g.subject, g.scope AS grant_scope, g.resources, g.openid, \
         g.authorization_details, g.created_at, g.expires_at AS grant_expires_at, r.rotated_at, \
         r.cnf \
         FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id WHERE r.hash = $1), \
     bound AS (SELECT * FROM found WHERE client_id = $3 \
         AND (cnf IS NULL OR cnf = $10::text)), \
     passes AS (SELECT * FROM bound WHERE rotated_at IS NULL AND expires_at > $2 \
         AND grant_expires_at > $2 \
         AND ($4::text IS NULL OR string_to_array($4, ' ') <@ string_to_array(scope, ' '))), \
     rotated AS (UPDATE refresh_tokens SET rotated_at = $2 \
         WHERE hash = $1 AND rotated_at IS NULL AND EXISTS (SELECT 1 FROM passes) \
         RETURNING 1), \
     revoked AS (DELETE FROM grants WHERE id IN \
         (SELECT grant_id FROM bound WHERE rotated_at IS NOT NULL \
          UNION ALL SELECT grant_id FROM passes WHERE NOT EXISTS (SELECT 1 FROM rotated))), \
     new_refresh AS (INSERT INTO refresh_tokens (hash, grant_id, scope, issued_at, expires_at, \
         cnf) SELECT $5, grant_id, scope, $2, LEAST($6, grant_expires_at), cnf FROM passes \
         WHERE EXISTS (SELECT 1 FROM rotated)), \
     new_access AS (INSERT INTO access_tokens (hash, grant_id, scope, audience, issued_at, \
         expires_at, cnf, authorization_details) SELECT $7, grant_id, COALESCE($4, scope), $9, \
         $2, LEAST($8, grant_expires_at), $11, COALESCE($12::text, authorization_details) \
         FROM passes WHERE EXISTS (SELECT 1 FROM rotated)) \
     SELECT grant_id, scope, issued_at, expires_at, client_id, subject, grant_scope, \
     resources, openid, authorization_details, created_at, grant_expires_at, rotated_at, cnf, \
     (SELECT count(*) FROM rotated) FROM found";

pub(super) async fn rotate_refresh_token(
    pool: &PgPool,
    old: &TokenHash,
    rotation: &RefreshRotation,
) -> Result<Rotation, StoreError> {
    let row = sqlx::query(ROTATE)
        .bind(old.as_bytes().as_slice())
        .bind(to_db_time(rotation.now))
        .bind(rotation.client_id.as_str())
        .bind(rotation.scope.as_ref().map(Scope::as_str))
        .bind(rotation.refresh_token.hash.as_bytes().as_slice())
        .bind(to_db_time(rotation.refresh_token.expires_at))
        .bind(rotation.access_token.hash.as_bytes().as_slice())
        .bind(to_db_time(rotation.access_token.expires_at))
        .bind(rotation.access_token.audience.to_stored())
        .bind(rotation.proven_key.as_ref().map(Confirmation::to_json))
        .bind(
            rotation
                .access_token
                .cnf
                .as_ref()
                .map(Confirmation::to_json),
        )
        .bind(
            rotation
                .access_token
                .authorization_details
                .as_ref()
                .map(AuthorizationDetails::to_stored),
        )
        .fetch_optional(pool)
        .await
        .map_err(insert_error)?;
    let Some(row) = row else {
        return Ok(Rotation::Refused(None));
    };
    let found = rows::refresh(old, RefreshRow::from_row(&row).map_err(backend)?)?;
    Ok(if changed(&row, 14)? {
        Rotation::Rotated(found)
    } else {
        match rotation.decide(&found) {
            // Passing every check yet not rotated: a concurrent rotation
            // won, and the statement revoked the grant.
            Decision::Issue | Decision::RevokeGrant => Rotation::Revoked(found.grant.id),
            Decision::Refuse => Rotation::Refused(Some(found)),
        }
    })
}

/// Whether the statement changed the row: the count in column `index`.
fn changed(row: &PgRow, index: usize) -> Result<bool, StoreError> {
    let count: i64 = row.try_get(index).map_err(backend)?;
    Ok(count == 1)
}

/// Records a poll and, in the same statement, collects an approval or
/// revokes a replayed grant (see
/// `DeviceAuthorizationStore::poll_device_code`).
///
/// `$1` to `$5` as [`POLL_SET`]; `$6` the new grant's id and `$7` its
/// expiry; the access token's hash and uncapped expiry in `$8`, `$9`, the
/// refresh token's (or nulls) in `$10`, `$11`; their key bindings (or
/// nulls) in `$12`, `$13`. The `SET` expressions read the
/// row as it was: an approved, unexpired authorization becomes redeemed under
/// `$6`, and the grant and tokens are inserted from the returned row — the
/// approving user and the approved scope. A row returned redeemed under
/// another grant was redeemed before this poll: that grant is deleted.
static POLL_DEVICE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH polled AS (UPDATE device_authorizations SET {POLL_SET}, \
             status = CASE WHEN status = 'approved' AND expires_at > $3 \
                 THEN 'redeemed' ELSE status END, \
             grant_id = CASE WHEN status = 'approved' AND expires_at > $3 \
                 THEN $6 ELSE grant_id END \
             WHERE device_code_hash = $1 AND client_id = $2 RETURNING {POLLED_COLUMNS}), \
         collected AS (SELECT client_id, subject, granted_scope FROM polled \
             WHERE status = 'redeemed' AND grant_id = $6), \
         grant_row AS (INSERT INTO grants (id, client_id, subject, scope, created_at, \
             expires_at) SELECT $6, client_id, subject, granted_scope, $3, $7 FROM collected), \
         access AS (INSERT INTO access_tokens (hash, grant_id, scope, issued_at, expires_at, \
             cnf) SELECT $8, $6, granted_scope, $3, LEAST($9, $7), $12 FROM collected), \
         refresh AS (INSERT INTO refresh_tokens (hash, grant_id, scope, issued_at, expires_at, \
             cnf) SELECT $10, $6, granted_scope, $3, LEAST($11, $7), $13 FROM collected \
             WHERE $10 IS NOT NULL), \
         revoked AS (DELETE FROM grants WHERE id IN (SELECT grant_id FROM polled \
             WHERE status = 'redeemed' AND grant_id <> $6)) \
         SELECT {POLLED_COLUMNS} FROM polled"
    )
});

pub(super) async fn poll_device_code(
    pool: &PgPool,
    device_code_hash: &TokenHash,
    client_id: &ClientId,
    now: SystemTime,
    collection: &DeviceCollection,
) -> Result<Option<PolledDeviceCode>, StoreError> {
    let (p1, p2, p3, p4, p5) = poll_params(device_code_hash, client_id, now);
    let refresh = collection.refresh_token.as_ref();
    let row: Option<PolledRow> = sqlx::query_as(&POLL_DEVICE)
        .bind(p1)
        .bind(p2)
        .bind(p3)
        .bind(p4)
        .bind(p5)
        .bind(collection.grant_id.as_bytes().as_slice())
        .bind(to_db_time(collection.grant_expires_at))
        .bind(collection.access_token.hash.as_bytes().as_slice())
        .bind(to_db_time(collection.access_token.expires_at))
        .bind(refresh.map(|t| t.hash.as_bytes().as_slice()))
        .bind(refresh.map(|t| to_db_time(t.expires_at)))
        .bind(
            collection
                .access_token
                .cnf
                .as_ref()
                .map(Confirmation::to_json),
        )
        .bind(
            refresh
                .and_then(|t| t.cnf.as_ref())
                .map(Confirmation::to_json),
        )
        .fetch_optional(pool)
        .await
        .map_err(insert_error)?;
    let Some(row) = row else {
        return Ok(None);
    };
    // The approval's user and scope, which the redeemed status no longer
    // carries.
    let approval = (row.9.clone(), row.10.clone());
    let (record, too_fast) = rows::polled(row)?;
    let collected = match (&record.status, approval) {
        (DeviceStatus::Redeemed { grant_id }, (Some(subject), Some(scope)))
            if *grant_id == collection.grant_id =>
        {
            let (subject, scope) = (Subject::new(&subject), rows::scope(&scope)?);
            Some(collection.grant(&record, &subject, &scope, now))
        }
        _ => None,
    };
    Ok(Some(PolledDeviceCode::new(record, too_fast, collected)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many parameters [`new_grant_ctes`] takes.
    const NEW_GRANT_PARAMS: usize = 32;

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
        assert_eq!(last_param(ROTATE), 12);
        assert_eq!(last_param(&REDEEM_CODE_SQL), 16);
        assert_eq!(last_param(&POLL_DEVICE), 13);
    }
}
