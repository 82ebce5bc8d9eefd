//! The statements both dialects share: the lookups, which one statement
//! does on either backend, and the parts of the operations that the dialect
//! modules build on.

use std::sync::LazyLock;
use std::time::SystemTime;

use super::rows;
use super::support::{to_db_duration, to_db_time};
use crate::client::ClientId;
use crate::store::SLOW_DOWN_STEP;
use crate::token::TokenHash;

pub(super) const FIND_ACCESS_TOKEN: &str = "SELECT a.grant_id, a.scope, a.audience, \
     a.issued_at, a.expires_at, g.client_id, g.subject, g.scope, g.resources, g.openid, \
     g.authorization_details, g.created_at, g.expires_at, a.exchange, a.cnf, \
     a.authorization_details \
     FROM access_tokens a JOIN grants g ON g.id = a.grant_id WHERE a.hash = $1";

/// Stores an access token under its grant only while the grant exists
/// ([`GrantStore::add_access_token`](crate::store::GrantStore::add_access_token)).
pub(super) const ADD_ACCESS_TOKEN: &str = "INSERT INTO access_tokens \
     (hash, grant_id, scope, audience, issued_at, expires_at, exchange, cnf, \
     authorization_details) \
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE EXISTS (SELECT 1 FROM grants WHERE id = $2)";

/// A grant by its identifier
/// ([`GrantStore::find_grant`](crate::store::GrantStore::find_grant)).
pub(super) const FIND_GRANT: &str = "SELECT g.client_id, g.subject, g.scope, g.resources, \
     g.openid, g.authorization_details, g.created_at, g.expires_at \
     FROM grants g WHERE g.id = $1";

pub(super) const FIND_REFRESH_TOKEN: &str = "SELECT r.grant_id, r.scope, r.issued_at, r.expires_at, \
     g.client_id, g.subject, g.scope, g.resources, g.openid, g.authorization_details, g.created_at, \
     g.expires_at, r.rotated_at, r.cnf \
     FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id WHERE r.hash = $1";

pub(super) const FIND_CODE: &str = "SELECT c.grant_id, c.redirect_uri, c.redirect_uri_in_request, \
     c.challenge, c.challenge_method, c.issued_at, c.expires_at, c.redeemed_at, \
     g.client_id, g.subject, g.scope, g.resources, g.openid, g.authorization_details, g.created_at, \
     g.expires_at, c.dpop_jkt \
     FROM authorization_codes c JOIN grants g ON g.id = c.grant_id WHERE c.hash = $1";

/// Deletes what
/// [`GrantStore::purge_expired`](crate::store::GrantStore::purge_expired)
/// deletes, in one transaction, each statement with `$1` = now. Tokens go
/// when they expire, when their grant expires, or when their grant is gone
/// (revoked); grants when they expire; and a throttle key's failures once it
/// has been quiet long enough to be forgotten: the
/// [`SqlLimiter`](super::SqlLimiter) counts them in this database, and the
/// server's purge is where they go.
pub(super) const PURGE_GRANTS: [&str; 4] = [
    "DELETE FROM access_tokens WHERE expires_at <= $1 OR NOT EXISTS \
     (SELECT 1 FROM grants g WHERE g.id = access_tokens.grant_id AND g.expires_at > $1)",
    "DELETE FROM refresh_tokens WHERE expires_at <= $1 OR NOT EXISTS \
     (SELECT 1 FROM grants g WHERE g.id = refresh_tokens.grant_id AND g.expires_at > $1)",
    "DELETE FROM grants WHERE expires_at <= $1",
    "DELETE FROM auth_failures WHERE forget_at <= $1",
];

/// Deletes what
/// [`AuthorizationCodeStore::purge_expired_codes`](crate::store::AuthorizationCodeStore::purge_expired_codes)
/// deletes, in one transaction, each statement with `$1` = now: codes when they expire or
/// when their grant is gone (revoked, or purged as expired), pending
/// and pushed requests when they expire. A code whose grant expired but is not purged
/// yet stays: it is still found, with its expired grant, until that purge.
pub(super) const PURGE_CODES: [&str; 3] = [
    "DELETE FROM authorization_codes WHERE expires_at <= $1 OR NOT EXISTS \
     (SELECT 1 FROM grants g WHERE g.id = authorization_codes.grant_id)",
    "DELETE FROM pending_authorizations WHERE expires_at <= $1",
    "DELETE FROM pushed_authorizations WHERE expires_at <= $1",
];

/// Deletes what
/// [`DeviceAuthorizationStore::purge_expired_device_authorizations`](crate::store::DeviceAuthorizationStore::purge_expired_device_authorizations)
/// deletes, with `$1` = now. A redeemed one's grant is the grants' business.
pub(super) const PURGE_DEVICES: [&str; 1] =
    ["DELETE FROM device_authorizations WHERE expires_at <= $1"];

/// Stores a device authorization unless a live one holds its user code.
/// A holder whose `expires_at` has passed at the new record's `created_at` is
/// replaced in the same statement (the upsert); a live holder makes the
/// statement change nothing; a duplicate device code hash is a unique
/// violation. Either way the caller answers `Conflict`.
pub(super) const SAVE_DEVICE: &str = "INSERT INTO device_authorizations (device_code_hash, \
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
pub(super) const DECIDE_DEVICE: &str = "UPDATE device_authorizations \
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

/// The columns of a [`PolledRow`](rows::PolledRow), in order.
pub(super) const POLLED_COLUMNS: &str = "device_code_hash, user_code_hash, client_id, scope, \
     created_at, expires_at, poll_interval, last_polled_at, status, subject, granted_scope, \
     grant_id, last_poll_too_fast";

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

pub(super) static FIND_PENDING: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM pending_authorizations WHERE hash = $1",
        rows::PENDING_COLUMNS
    )
});

/// One statement: of concurrent takes, the first deletes the row and gets
/// it back; the others find nothing to delete.
pub(super) static TAKE_PENDING: LazyLock<String> = LazyLock::new(|| {
    format!(
        "DELETE FROM pending_authorizations WHERE hash = $1 RETURNING {}",
        rows::PENDING_COLUMNS
    )
});

pub(super) static FIND_DEVICE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM device_authorizations WHERE user_code_hash = $1",
        rows::DEVICE_COLUMNS
    )
});
