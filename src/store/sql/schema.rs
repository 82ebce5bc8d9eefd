//! The schema, created and migrated by the store itself when it opens.
//!
//! `schema_version` holds one row: the version the tables are at. Opening a
//! store runs, in one transaction, every migration past that version, then
//! records the new one. The transaction holds a lock for its whole length —
//! SQLite's write lock (`BEGIN IMMEDIATE`), a PostgreSQL advisory lock — so
//! replicas opening one database at once take turns: the first migrates, the
//! others find the work done. PostgreSQL's DDL is transactional, so a failed
//! migration leaves the database as it was.

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

use super::support::{WritePool as _, backend};
use crate::store::StoreError;

/// The version this build's tables are at.
const LATEST: i64 = 10;

/// The tables, in SQLite's dialect; [`postgres`] derives PostgreSQL's.
///
/// Times are nanoseconds since the Unix epoch (exact, and compared as
/// integers in both dialects); hashes are the 32 bytes of SHA-256; grant
/// identifiers their 16 bytes; scopes their canonical string. Tokens and
/// codes name their grant without a foreign key: lookups join on `grants`,
/// so deleting a grant's row revokes everything derived from it at once, and
/// the purges delete the orphans. Only the indexes operations need:
/// each token request touches primary keys alone.
const V1: &str = "
CREATE TABLE clients (
    client_id TEXT NOT NULL PRIMARY KEY,
    registration_token_hash BLOB,
    client TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE grants (
    id BLOB NOT NULL PRIMARY KEY,
    client_id TEXT NOT NULL,
    subject TEXT,
    scope TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX grants_by_client ON grants (client_id);

CREATE TABLE access_tokens (
    hash BLOB NOT NULL PRIMARY KEY,
    grant_id BLOB NOT NULL,
    scope TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE refresh_tokens (
    hash BLOB NOT NULL PRIMARY KEY,
    grant_id BLOB NOT NULL,
    scope TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER
) WITHOUT ROWID;

CREATE TABLE authorization_codes (
    hash BLOB NOT NULL PRIMARY KEY,
    grant_id BLOB NOT NULL,
    redirect_uri TEXT NOT NULL,
    redirect_uri_in_request BOOLEAN NOT NULL,
    challenge TEXT,
    challenge_method TEXT,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    redeemed_at INTEGER
) WITHOUT ROWID;

CREATE TABLE pending_authorizations (
    hash BLOB NOT NULL PRIMARY KEY,
    client_id TEXT NOT NULL,
    response_type TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    redirect_uri_in_request BOOLEAN NOT NULL,
    scope TEXT NOT NULL,
    state TEXT,
    response_mode TEXT NOT NULL,
    challenge TEXT,
    challenge_method TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX pending_authorizations_by_client ON pending_authorizations (client_id);

CREATE TABLE device_authorizations (
    device_code_hash BLOB NOT NULL PRIMARY KEY,
    user_code_hash BLOB NOT NULL UNIQUE,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    poll_interval INTEGER NOT NULL,
    last_polled_at INTEGER,
    last_poll_too_fast BOOLEAN NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
    subject TEXT,
    granted_scope TEXT,
    grant_id BLOB
) WITHOUT ROWID;
";

/// Version 2: failed authentications, counted per throttle key
/// (`SqlLimiter`). `forget_at` is when the key's count may be deleted.
const V2: &str = "
CREATE TABLE auth_failures (
    throttle_key TEXT NOT NULL PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL,
    forget_at INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Version 3: the registrant a dynamically registered client counts against
/// (`ClientRegistry::insert_client_within_quota`): the 32-byte fingerprint
/// of its initial access token, or open registration's; `NULL` for clients
/// counted against none (those stored before, and those an administrator
/// registers).
const V3: &str = "
ALTER TABLE clients ADD COLUMN registrant BLOB;
CREATE INDEX clients_by_registrant ON clients (registrant);
";

/// Version 4: resource indicators (RFC 8707). A grant's authorized
/// resources, an access token's audience and a pending request's resources,
/// each the identifiers joined by single spaces; `''` for none (every row
/// stored before).
const V4: &str = "
ALTER TABLE grants ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE access_tokens ADD COLUMN audience TEXT NOT NULL DEFAULT '';
ALTER TABLE pending_authorizations ADD COLUMN resources TEXT NOT NULL DEFAULT '';
";

/// Version 5: single uses (`ReplayCache`): the 32-byte `ReplayKey` of
/// each — a hash of its purpose and parts, such as a client assertion's
/// `(client_id, jti)` — and when its record may be deleted. The primary key
/// makes recording a use atomic across replicas.
const V5: &str = "
CREATE TABLE replay_keys (
    key_hash BLOB NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX replay_keys_by_expiry ON replay_keys (expires_at);
";

/// Version 6: OpenID Connect. What a grant made by an OpenID Connect
/// request keeps for its ID tokens (`OpenIdGrant`) and what a pending
/// request asked for (`OpenIdRequest`), each as JSON; `NULL` for every other
/// grant and request.
const V6: &str = "
ALTER TABLE grants ADD COLUMN openid TEXT;
ALTER TABLE pending_authorizations ADD COLUMN openid TEXT;
";

/// Pushed authorization requests (RFC 9126 §2): the request's parameters
/// under the hash of its one-time `request_uri`, bound to the client that
/// pushed it.
const V7: &str = "
CREATE TABLE pushed_authorizations (
    hash BLOB NOT NULL PRIMARY KEY,
    client_id TEXT NOT NULL,
    parameters TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX pushed_authorizations_by_client ON pushed_authorizations (client_id);
CREATE INDEX pushed_authorizations_by_expiry ON pushed_authorizations (expires_at);
";

/// Token exchange (RFC 8693): what an access token issued by the exchange
/// keeps — the client it was issued to and its actor (`act`, §4.1) — as
/// JSON (`TokenExchangeRecord`); `NULL` for every other access token.
const V8: &str = "
ALTER TABLE access_tokens ADD COLUMN exchange TEXT;
";

/// Version 9: sender-constrained tokens (RFC 9449 DPoP; RFC 8705 later).
/// The key an access token is bound to, and a public client's refresh
/// token's, as the RFC 7800 `cnf` object in JSON (`Confirmation`); `NULL`
/// for a bearer token (every row stored before).
///
/// And `dpop_jkt` (RFC 9449 §10): the DPoP key thumbprint an authorization
/// request named, kept with the pending request and its code; `NULL` when
/// none was named.
const V9: &str = "
ALTER TABLE access_tokens ADD COLUMN cnf TEXT;
ALTER TABLE refresh_tokens ADD COLUMN cnf TEXT;
ALTER TABLE pending_authorizations ADD COLUMN dpop_jkt TEXT;
ALTER TABLE authorization_codes ADD COLUMN dpop_jkt TEXT;
";

/// Version 10: rich authorization requests (RFC 9396 §2): a grant's, a
/// pending request's and an access token's authorization details (the
/// token's the subset its token request named, §6.2), the JSON array as
/// text; `''` for none (every row stored before).
const V10: &str = "
ALTER TABLE grants ADD COLUMN authorization_details TEXT NOT NULL DEFAULT '';
ALTER TABLE pending_authorizations ADD COLUMN authorization_details TEXT NOT NULL DEFAULT '';
ALTER TABLE access_tokens ADD COLUMN authorization_details TEXT NOT NULL DEFAULT '';
";

/// The migrations, in order: the schema at version `n` is the first `n`.
const MIGRATIONS: [&str; 10] = [V1, V2, V3, V4, V5, V6, V7, V8, V9, V10];

/// PostgreSQL's spelling of SQLite DDL: the column types, and no rowid
/// clause.
fn postgres(ddl: &str) -> String {
    ddl.replace("BLOB", "BYTEA")
        .replace("INTEGER", "BIGINT")
        .replace(" WITHOUT ROWID", "")
}

/// The statements of a migration, one by one: PostgreSQL prepares one
/// statement at a time. (No statement here has a `;` inside it.)
fn statements(ddl: &str) -> impl Iterator<Item = &str> {
    ddl.split(';').map(str::trim).filter(|s| !s.is_empty())
}

/// The key of the advisory lock that serialises migrations on PostgreSQL:
/// the ASCII of "portcull".
const MIGRATION_LOCK: i64 = 0x706f_7274_6375_6c6c;

/// The migrations past `current`, or an error if the database is newer than
/// this build.
fn pending(current: Option<i64>) -> Result<&'static [&'static str], StoreError> {
    let current = current.unwrap_or(0);
    if current > LATEST {
        return Err(StoreError::backend(format!(
            "the database schema is at version {current}, newer than this \
             portcullis knows ({LATEST}); upgrade portcullis"
        )));
    }
    let done = usize::try_from(current).unwrap_or(0);
    Ok(MIGRATIONS.get(done..).unwrap_or(&[]))
}

pub(super) async fn migrate_sqlite(pool: &SqlitePool) -> Result<(), StoreError> {
    let mut tx = pool.begin_write().await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    let current: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM schema_version")
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
    let todo = pending(current)?;
    if todo.is_empty() {
        return tx.commit().await.map_err(backend);
    }
    for statement in todo.iter().flat_map(|ddl| statements(ddl)) {
        sqlx::query(statement)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
    }
    sqlx::query("DELETE FROM schema_version")
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
        .bind(LATEST)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    tx.commit().await.map_err(backend)
}

pub(super) async fn migrate_postgres(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin_write().await?;
    // Held until the transaction ends: a second replica opening the database
    // waits here, then finds the version recorded and nothing to do.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    let current: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM schema_version")
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
    let todo = pending(current)?;
    if todo.is_empty() {
        return tx.commit().await.map_err(backend);
    }
    for ddl in todo.iter().map(|ddl| postgres(ddl)) {
        for statement in statements(&ddl) {
            sqlx::query(statement)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
    }
    sqlx::query("DELETE FROM schema_version")
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
        .bind(LATEST)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    tx.commit().await.map_err(backend)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_ddl_has_no_sqlite_types() {
        let pg = postgres(V1);
        for word in ["BLOB", "INTEGER", "ROWID"] {
            assert!(!pg.contains(word), "{word} left in {pg}");
        }
        assert!(pg.contains("hash BYTEA NOT NULL PRIMARY KEY"));
        assert!(pg.contains("expires_at BIGINT NOT NULL"));
    }

    #[test]
    fn pending_migrations_follow_the_version() {
        assert_eq!(pending(None).unwrap().len(), MIGRATIONS.len());
        assert_eq!(pending(Some(0)).unwrap().len(), MIGRATIONS.len());
        assert!(pending(Some(LATEST)).unwrap().is_empty());
        assert!(pending(Some(LATEST + 1)).is_err());
    }
}
