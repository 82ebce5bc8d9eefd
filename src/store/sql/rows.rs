//! Rows as the queries return them, and their decoding into records; and
//! the rows a new grant is stored as.
//!
//! Every query selects plain columns into a tuple of portable types (bytes,
//! integers, text, booleans), so the same Rust decodes a SQLite row and a
//! PostgreSQL one. A row that does not decode — a hash of the wrong length, a
//! scope that is not a scope — is a backend error, never a record with
//! guessed fields.

use std::sync::Arc;

use super::support::{from_db_duration, from_db_time, invalid};
use crate::client::ClientId;
use crate::protocol::{AuthorizationDetails, CodeChallenge, ResourceSet, Scope};
use crate::store::{
    AccessTokenRecord, AuthorizationCodeRecord, DeviceAuthorizationRecord, DeviceStatus, FoundCode,
    FoundRefreshToken, GrantId, GrantRecord, NewCodeGrant, NewGrant, OpenIdGrant, OpenIdRequest,
    PendingAuthorizationRecord, RefreshTokenRecord, ResponseMode, ResponseType, StoreError,
    Subject, TokenExchangeRecord,
};
use crate::token::{Confirmation, TokenHash};

/// `g.client_id, g.subject, g.scope, g.resources, g.openid,
/// g.authorization_details, g.created_at, g.expires_at`: the grant's columns, which every token lookup joins in
/// after the token's own.
pub(super) type GrantColumns = (
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
    i64,
    i64,
);

/// An access token joined with its grant: `grant_id, scope, audience,
/// issued_at, expires_at`, then [`GrantColumns`], then `exchange`, `cnf`
/// and the token's `authorization_details` (RFC 9396 §6.2).
pub(super) type AccessRow = (
    Vec<u8>,
    String,
    String,
    i64,
    i64,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
    i64,
    i64,
    Option<String>,
    Option<String>,
    String,
);

/// A refresh token joined with its grant: `grant_id, scope, issued_at,
/// expires_at`, then [`GrantColumns`], then `rotated_at` and `cnf`.
pub(super) type RefreshRow = (
    Vec<u8>,
    String,
    i64,
    i64,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

/// An authorization code joined with its grant: `grant_id, redirect_uri,
/// redirect_uri_in_request, challenge, challenge_method, issued_at,
/// expires_at, redeemed_at`, then [`GrantColumns`], then the code's
/// `dpop_jkt` (RFC 9449 §10).
///
/// Seventeen columns: one more than sqlx decodes into a tuple, so the row
/// is decoded by position in a `FromRow` of its own — the code's columns,
/// the grant's, and `dpop_jkt` — generic over the row type like sqlx's
/// tuples, so SQLite and PostgreSQL share it. Columns after the
/// seventeenth (PostgreSQL's redemption count) are left to the caller.
pub(super) struct CodeRow {
    code: CodeColumns,
    grant: GrantColumns,
    dpop_jkt: Option<String>,
}

/// The code's own columns of a [`CodeRow`], in order.
type CodeColumns = (
    Vec<u8>,
    String,
    bool,
    Option<String>,
    Option<String>,
    i64,
    i64,
    Option<i64>,
);

impl<'r, R> sqlx::FromRow<'r, R> for CodeRow
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(Self {
            code: (
                row.try_get(0)?,
                row.try_get(1)?,
                row.try_get(2)?,
                row.try_get(3)?,
                row.try_get(4)?,
                row.try_get(5)?,
                row.try_get(6)?,
                row.try_get(7)?,
            ),
            grant: (
                row.try_get(8)?,
                row.try_get(9)?,
                row.try_get(10)?,
                row.try_get(11)?,
                row.try_get(12)?,
                row.try_get(13)?,
                row.try_get(14)?,
                row.try_get(15)?,
            ),
            dpop_jkt: row.try_get(16)?,
        })
    }
}

/// The columns of [`PendingRow`], in order.
pub(super) const PENDING_COLUMNS: &str = "hash, client_id, response_type, redirect_uri, \
     redirect_uri_in_request, scope, resources, state, response_mode, challenge, \
     challenge_method, created_at, expires_at, openid, authorization_details, dpop_jkt";

pub(super) type PendingRow = (
    Vec<u8>,
    String,
    String,
    String,
    bool,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
    Option<String>,
    String,
    Option<String>,
);

/// The columns of [`DeviceRow`], in order.
pub(super) const DEVICE_COLUMNS: &str = "device_code_hash, user_code_hash, client_id, scope, \
     created_at, expires_at, poll_interval, last_polled_at, status, subject, granted_scope, \
     grant_id";

pub(super) type DeviceRow = (
    Vec<u8>,
    Vec<u8>,
    String,
    String,
    i64,
    i64,
    i64,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
);

/// A device authorization as a poll leaves it: [`DeviceRow`], then
/// `last_poll_too_fast`.
pub(super) type PolledRow = (
    Vec<u8>,
    Vec<u8>,
    String,
    String,
    i64,
    i64,
    i64,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
    bool,
);

/// A new grant and the first secrets stored with it, in one transaction
/// (SQLite) or one statement (PostgreSQL): its first tokens
/// ([`NewGrant`]), or its authorization code ([`NewCodeGrant`]).
pub(super) struct NewGrantRows<'a> {
    pub(super) grant: &'a GrantRecord,
    pub(super) access_token: Option<&'a AccessTokenRecord>,
    pub(super) refresh_token: Option<&'a RefreshTokenRecord>,
    pub(super) code: Option<&'a AuthorizationCodeRecord>,
}

impl<'a> From<&'a NewGrant> for NewGrantRows<'a> {
    fn from(new: &'a NewGrant) -> Self {
        Self {
            grant: &new.grant,
            access_token: new.access_token.as_ref(),
            refresh_token: new.refresh_token.as_ref(),
            code: None,
        }
    }
}

impl<'a> From<&'a NewCodeGrant> for NewGrantRows<'a> {
    fn from(new: &'a NewCodeGrant) -> Self {
        Self {
            grant: &new.grant,
            access_token: None,
            refresh_token: None,
            code: Some(&new.code),
        }
    }
}

pub(super) fn token_hash(bytes: Vec<u8>) -> Result<TokenHash, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(TokenHash::from_bytes)
        .map_err(|_| invalid("a hash is not 32 bytes"))
}

pub(super) fn grant_id(bytes: Vec<u8>) -> Result<GrantId, StoreError> {
    <[u8; 16]>::try_from(bytes)
        .map(GrantId::from_bytes)
        .map_err(|_| invalid("a grant id is not 16 bytes"))
}

pub(super) fn scope(text: &str) -> Result<Scope, StoreError> {
    if text.is_empty() {
        return Ok(Scope::empty());
    }
    text.parse().map_err(|_| invalid("a scope is not a scope"))
}

fn challenge(
    value: Option<String>,
    method: Option<String>,
) -> Result<Option<CodeChallenge>, StoreError> {
    match (value, method) {
        (None, None) => Ok(None),
        // `plain` is allowed here whatever the server's setting: the server
        // decided when it accepted the challenge.
        (Some(value), Some(method)) => CodeChallenge::parse(&value, Some(&method), true)
            .map(Some)
            .map_err(|_| invalid("a PKCE challenge is not valid")),
        _ => Err(invalid("a PKCE challenge lacks its method")),
    }
}

/// The challenge as stored: its value and its method.
pub(super) fn challenge_columns(
    challenge: Option<&CodeChallenge>,
) -> (Option<&str>, Option<&'static str>) {
    challenge.map_or((None, None), |c| {
        (Some(c.as_str()), Some(c.method().as_str()))
    })
}

/// Authorization details as stored (see `AuthorizationDetails::to_stored`).
pub(super) fn authorization_details(text: &str) -> Result<AuthorizationDetails, StoreError> {
    AuthorizationDetails::from_stored(text)
        .map_err(|_| invalid("authorization details do not decode"))
}

/// A resource set as stored (see `ResourceSet::to_stored`).
pub(super) fn resources(text: &str) -> Result<ResourceSet, StoreError> {
    ResourceSet::from_stored(text).map_err(|_| invalid("a resource set is not one"))
}

pub(super) fn grant(
    id: GrantId,
    (client_id, subject, scope_text, resources_text, openid, details, created, expires): GrantColumns,
) -> Result<GrantRecord, StoreError> {
    Ok(GrantRecord {
        id,
        client_id: ClientId::new_unchecked(&client_id),
        subject: subject.as_deref().map(Subject::new),
        scope: scope(&scope_text)?,
        resources: resources(&resources_text)?,
        openid: openid
            .map(|json| OpenIdGrant::from_json(&json).map(Arc::new))
            .transpose()
            .map_err(|_| invalid("a grant's OpenID Connect record does not decode"))?,
        authorization_details: authorization_details(&details)?,
        created_at: from_db_time(created),
        expires_at: from_db_time(expires),
    })
}

pub(super) fn access(
    hash: &TokenHash,
    row: AccessRow,
) -> Result<(AccessTokenRecord, GrantRecord), StoreError> {
    let (
        grant_bytes,
        scope_text,
        audience,
        issued,
        expires,
        g0,
        g1,
        g2,
        g3,
        g4,
        g5,
        g6,
        g7,
        exchange,
        cnf_json,
        details,
    ) = row;
    let grant_id = grant_id(grant_bytes)?;
    let exchange = exchange
        .map(|json| TokenExchangeRecord::from_json(&json).map(Arc::new))
        .transpose()
        .map_err(|_| invalid("an access token's exchange record does not decode"))?;
    let token = AccessTokenRecord {
        hash: *hash,
        grant_id,
        scope: scope(&scope_text)?,
        audience: resources(&audience)?,
        issued_at: from_db_time(issued),
        expires_at: from_db_time(expires),
        exchange,
        cnf: cnf(cnf_json)?,
        authorization_details: authorization_details(&details)?,
    };
    Ok((token, grant(grant_id, (g0, g1, g2, g3, g4, g5, g6, g7))?))
}

pub(super) fn refresh(hash: &TokenHash, row: RefreshRow) -> Result<FoundRefreshToken, StoreError> {
    let (
        grant_bytes,
        scope_text,
        issued,
        expires,
        g0,
        g1,
        g2,
        g3,
        g4,
        g5,
        g6,
        g7,
        rotated_at,
        cnf_json,
    ) = row;
    let grant_id = grant_id(grant_bytes)?;
    Ok(FoundRefreshToken {
        record: RefreshTokenRecord {
            hash: *hash,
            grant_id,
            scope: scope(&scope_text)?,
            issued_at: from_db_time(issued),
            expires_at: from_db_time(expires),
            cnf: cnf(cnf_json)?,
        },
        grant: grant(grant_id, (g0, g1, g2, g3, g4, g5, g6, g7))?,
        current: rotated_at.is_none(),
    })
}

/// A token's key binding (RFC 7800 `cnf`, as `Confirmation::to_json`
/// wrote it), or none.
pub(super) fn cnf(json: Option<String>) -> Result<Option<Confirmation>, StoreError> {
    json.map(|json| Confirmation::from_json(&json))
        .transpose()
        .map_err(|_| invalid("a token's cnf does not decode"))
}

pub(super) fn code(hash: &TokenHash, row: CodeRow) -> Result<FoundCode, StoreError> {
    let CodeRow {
        code:
            (
                grant_bytes,
                redirect_uri,
                redirect_uri_in_request,
                challenge_value,
                challenge_method,
                issued,
                expires,
                redeemed_at,
            ),
        grant: grant_columns,
        dpop_jkt,
    } = row;
    let grant_id = grant_id(grant_bytes)?;
    Ok(FoundCode {
        code: AuthorizationCodeRecord {
            hash: *hash,
            grant_id,
            redirect_uri: Arc::from(redirect_uri),
            redirect_uri_in_request,
            challenge: challenge(challenge_value, challenge_method)?,
            issued_at: from_db_time(issued),
            expires_at: from_db_time(expires),
            dpop_jkt: dpop_jkt.map(Arc::from),
        },
        grant: grant(grant_id, grant_columns)?,
        redeemed: redeemed_at.is_some(),
    })
}

pub(super) fn response_type_text(t: ResponseType) -> &'static str {
    match t {
        ResponseType::Code => "code",
        ResponseType::Token => "token",
    }
}

pub(super) fn response_mode_text(m: ResponseMode) -> &'static str {
    match m {
        ResponseMode::Query => "query",
        ResponseMode::Fragment => "fragment",
        ResponseMode::FormPost => "form_post",
    }
}

pub(super) fn pending(row: PendingRow) -> Result<PendingAuthorizationRecord, StoreError> {
    let (
        hash,
        client_id,
        response_type,
        redirect_uri,
        redirect_uri_in_request,
        scope_text,
        resources_text,
        state,
        response_mode,
        challenge_value,
        challenge_method,
        created,
        expires,
        openid,
        details,
        dpop_jkt,
    ) = row;
    Ok(PendingAuthorizationRecord {
        hash: token_hash(hash)?,
        client_id: ClientId::new_unchecked(&client_id),
        response_type: match response_type.as_str() {
            "code" => ResponseType::Code,
            "token" => ResponseType::Token,
            _ => return Err(invalid("unknown response type")),
        },
        redirect_uri: Arc::from(redirect_uri),
        redirect_uri_in_request,
        scope: scope(&scope_text)?,
        resources: resources(&resources_text)?,
        openid: openid
            .map(|json| OpenIdRequest::from_json(&json).map(Arc::new))
            .transpose()
            .map_err(|_| invalid("a pending request's OpenID Connect parameters do not decode"))?,
        authorization_details: authorization_details(&details)?,
        state,
        response_mode: match response_mode.as_str() {
            "query" => ResponseMode::Query,
            "fragment" => ResponseMode::Fragment,
            "form_post" => ResponseMode::FormPost,
            _ => return Err(invalid("unknown response mode")),
        },
        challenge: challenge(challenge_value, challenge_method)?,
        created_at: from_db_time(created),
        expires_at: from_db_time(expires),
        dpop_jkt: dpop_jkt.map(Arc::from),
    })
}

/// A device authorization's status as stored: `status`, `subject`,
/// `granted_scope`, `grant_id`.
pub(super) fn status_columns(
    status: &DeviceStatus,
) -> (&'static str, Option<&str>, Option<&str>, Option<&[u8]>) {
    match status {
        DeviceStatus::Pending => ("pending", None, None, None),
        DeviceStatus::Approved { subject, scope } => (
            "approved",
            Some(subject.as_str()),
            Some(scope.as_str()),
            None,
        ),
        DeviceStatus::Denied => ("denied", None, None, None),
        DeviceStatus::Redeemed { grant_id } => {
            ("redeemed", None, None, Some(grant_id.as_bytes().as_slice()))
        }
    }
}

pub(super) fn device_status(
    status: &str,
    subject: Option<String>,
    granted_scope: Option<String>,
    grant: Option<Vec<u8>>,
) -> Result<DeviceStatus, StoreError> {
    Ok(match status {
        "pending" => DeviceStatus::Pending,
        "approved" => DeviceStatus::Approved {
            subject: Subject::new(
                subject
                    .as_deref()
                    .ok_or_else(|| invalid("an approval lacks its subject"))?,
            ),
            scope: scope(
                granted_scope
                    .as_deref()
                    .ok_or_else(|| invalid("an approval lacks its scope"))?,
            )?,
        },
        "denied" => DeviceStatus::Denied,
        "redeemed" => DeviceStatus::Redeemed {
            grant_id: grant_id(grant.ok_or_else(|| invalid("a redemption lacks its grant"))?)?,
        },
        _ => return Err(invalid("unknown device authorization status")),
    })
}

pub(super) fn device(row: DeviceRow) -> Result<DeviceAuthorizationRecord, StoreError> {
    let (
        device_code_hash,
        user_code_hash,
        client_id,
        scope_text,
        created,
        expires,
        interval,
        last_polled_at,
        status,
        subject,
        granted_scope,
        grant,
    ) = row;
    Ok(DeviceAuthorizationRecord {
        device_code_hash: token_hash(device_code_hash)?,
        user_code_hash: token_hash(user_code_hash)?,
        client_id: ClientId::new_unchecked(&client_id),
        scope: scope(&scope_text)?,
        created_at: from_db_time(created),
        expires_at: from_db_time(expires),
        interval: from_db_duration(interval),
        last_polled_at: last_polled_at.map(from_db_time),
        status: device_status(&status, subject, granted_scope, grant)?,
    })
}

/// A polled device authorization and whether the poll was too fast.
pub(super) fn polled(row: PolledRow) -> Result<(DeviceAuthorizationRecord, bool), StoreError> {
    let (d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11, too_fast) = row;
    Ok((
        device((d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11))?,
        too_fast,
    ))
}
