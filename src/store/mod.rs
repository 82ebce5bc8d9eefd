//! Storage: the traits a host implements (or picks an implementation of) and
//! the embedded in-memory store.
//!
//! The traits are `async` and `Send`, written with `impl Future` so an
//! implementation can use plain `async fn`. Each method's documentation states
//! the contract an implementation MUST keep; the server's security rests on
//! them. A store keeps only hashes of secrets: [`TokenHash`] is the key of
//! every token.

mod access_token_info;
mod device;
pub(crate) mod erased;
mod memory;
mod records;
pub(crate) mod redemption;
#[cfg(feature = "sql")]
mod sql;

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

pub use access_token_info::AccessTokenInfo;
pub use device::{
    DeviceAuthorizationRecord, DeviceCollection, DeviceDecision, DeviceStatus, PolledDeviceCode,
    SLOW_DOWN_STEP,
};
pub use memory::MemoryStore;
pub use records::{
    AccessTokenRecord, AuthorizationCodeRecord, FoundCode, FoundRefreshToken, GrantId, GrantRecord,
    NewGrant, PendingAuthorizationRecord, RefreshTokenRecord, ResponseMode, ResponseType, Subject,
};
pub use redemption::{
    CodeRedemption, Decision, PlannedToken, Redemption, RefreshRotation, Rotation,
};
#[cfg(feature = "sql")]
pub use sql::{SqlLimiter, SqlStore};

use crate::client::ClientId;
use crate::token::TokenHash;

/// A boxed, sendable future: what the server stores erased trait objects as.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A storage failure.
///
/// Every endpoint answers any of these with `server_error` and no detail;
/// the cause goes to the host's `tracing` subscriber.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A record with the same key exists (a duplicate `client_id`, say).
    #[error("a record with this key already exists")]
    Conflict,
    /// The backend failed.
    #[error("storage backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps a backend's error.
    pub fn backend(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Backend(error.into())
    }

    /// Tells the operator why `endpoint` failed (target `portcullis`), while
    /// the client sees a bare `server_error`.
    pub(crate) fn report(&self, endpoint: &str) {
        tracing::error!(
            target: "portcullis",
            error = %self,
            source = ?std::error::Error::source(self),
            "{endpoint} storage failure",
        );
    }
}

/// Where grants, tokens, codes and pending authorization requests live.
///
/// # Contracts
///
/// - Records are keyed by [`TokenHash`]; the plaintext of a token, code or
///   handle never reaches the store (RFC 6819 §5.1.4.1.3).
/// - Every token and code belongs to a grant, and is live only while its grant
///   is: [`revoke_grant`](Self::revoke_grant) kills everything derived from the
///   grant, at once, for every replica sharing the store.
/// - Each method is one atomic operation — a SQL store does each in one
///   statement or one transaction. Consuming a code, rotating a refresh token
///   and taking a pending request are the ones concurrency tests hammer.
pub trait TokenStore: Send + Sync + 'static {
    /// Stores a new grant together with its first secrets, atomically: either
    /// all become visible or none does.
    fn create_grant(&self, new: NewGrant) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The access token with this hash and its grant, or `None` if the token
    /// was never issued, or it or its grant has been revoked. Expiry is checked
    /// by the caller, so an expired but not yet purged token may be returned.
    fn find_access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError>> + Send;

    /// The refresh token with this hash and its grant, and whether it is still
    /// current (not rotated out); `None` if unknown or its grant is gone.
    fn find_refresh_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<FoundRefreshToken>, StoreError>> + Send;

    /// Rotates the refresh token `old` as `rotation` asks, in one atomic
    /// operation: finds it with its grant, and does what
    /// [`RefreshRotation::decide`] says of them —
    ///
    /// - [`Decision::Issue`]: `old` is rotated out and the tokens of
    ///   [`RefreshRotation::tokens`] are stored ([`Rotation::Rotated`]). Of
    ///   any number of concurrent rotations of one token exactly one gets
    ///   this; the others find it rotated out.
    /// - [`Decision::RevokeGrant`]: a reuse; the grant is revoked as by
    ///   [`revoke_grant`](Self::revoke_grant) and nothing is stored
    ///   ([`Rotation::Revoked`]).
    /// - [`Decision::Refuse`]: nothing changes ([`Rotation::Refused`] with
    ///   what was found; `None` for an unknown token or one whose grant is
    ///   gone).
    ///
    /// A rotated-out token MUST stay findable as such until it would have
    /// expired unrotated, so that its reuse is detected for as long as it
    /// could have worked (RFC 9700 §4.14.2). A store that does this in one SQL
    /// statement, deciding in SQL, must reach the same decisions; a store
    /// that reads and then writes calls `decide` inside one transaction that
    /// locks the token's row.
    fn rotate_refresh_token(
        &self,
        old: &TokenHash,
        rotation: &RefreshRotation,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send;

    /// The authorization code with this hash, its grant, and whether it has
    /// been redeemed; `None` if unknown or its grant is gone. A redeemed code
    /// MUST stay findable until it expires, so a replay is recognised (RFC 6819
    /// §5.2.1.1).
    fn find_code(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<FoundCode>, StoreError>> + Send;

    /// Redeems the authorization code `hash` as `redemption` asks, in one
    /// atomic operation: finds it with its grant, and does what
    /// [`CodeRedemption::decide`] says of them —
    ///
    /// - [`Decision::Issue`]: the code is marked redeemed and the tokens of
    ///   [`CodeRedemption::tokens`] are stored ([`Redemption::Redeemed`]).
    ///   Of any number of concurrent redemptions of one code exactly one gets
    ///   this (RFC 6749 §4.1.2); the others find it redeemed.
    /// - [`Decision::RevokeGrant`]: a replay; the grant is revoked as by
    ///   [`revoke_grant`](Self::revoke_grant) and nothing is stored
    ///   ([`Redemption::Revoked`]).
    /// - [`Decision::Refuse`]: nothing changes, and the code stays
    ///   redeemable ([`Redemption::Refused`] with what was found; `None` for
    ///   an unknown code or one whose grant is gone).
    ///
    /// A SQL store does this in one statement (deciding in SQL, and reaching
    /// the same decisions) or in one transaction that locks the code's row
    /// before calling `decide`.
    fn redeem_code(
        &self,
        hash: &TokenHash,
        redemption: &CodeRedemption,
    ) -> impl Future<Output = Result<Redemption, StoreError>> + Send;

    /// Revokes a grant and everything derived from it. Returns whether the grant
    /// existed. After this returns, no token, code or refresh token of the
    /// grant is found by any lookup.
    fn revoke_grant(&self, id: &GrantId) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes one access token, and nothing else: its grant, the grant's
    /// other access tokens, its refresh token and its code stay as they are
    /// (RFC 7009 §2.1 lets revoking an access token leave the refresh token
    /// alone). Returns whether a token with this hash was held — `false` for
    /// an unknown or already revoked one, which changes nothing.
    ///
    /// After this returns, [`find_access_token`](Self::find_access_token)
    /// for `hash` returns `None` on every replica sharing the store. A SQL
    /// store does it in one statement: `DELETE FROM access_tokens WHERE hash
    /// = $1` (or an `UPDATE` setting a revocation mark that lookups honour).
    fn revoke_access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes every grant made to `client_id`, and so everything derived
    /// from them — codes, access and refresh tokens — and drops the client's
    /// pending authorization requests and device authorizations. Returns how
    /// many grants went.
    ///
    /// After this returns, no token, code, refresh token, pending request or
    /// device authorization of the client that existed when the call began is
    /// found by any lookup: a device code approved but not yet collected must
    /// not outlive the client, or a client registered again under the same
    /// identifier could collect it.
    /// The server calls it after removing the client
    /// ([`ClientRegistry::delete_client`](crate::client::ClientRegistry::delete_client)),
    /// so no new grant can be made for it; a grant created concurrently by a
    /// request that authenticated just before the removal may survive. A SQL
    /// store does this in one statement: `DELETE FROM grants WHERE client_id =
    /// $1` (tokens referencing the grant go with it, or are unreachable
    /// without it).
    fn revoke_client_grants(
        &self,
        client_id: &ClientId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Stores a pending authorization request.
    fn save_pending(
        &self,
        pending: PendingAuthorizationRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The pending request with this handle hash, without consuming it.
    fn find_pending(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<PendingAuthorizationRecord>, StoreError>> + Send;

    /// Removes and returns the pending request, atomically: of concurrent
    /// calls exactly one gets it, so a request is decided once.
    fn take_pending(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<PendingAuthorizationRecord>, StoreError>> + Send;

    /// Deletes records that expired before `now`, and tokens whose grant is
    /// gone; returns how many went. Hosts call it periodically; stores may also
    /// purge on their own.
    fn purge_expired(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Stores a new device authorization (RFC 8628 §3.2).
    ///
    /// User codes are short, so two can collide. If a device authorization
    /// that has not expired at `record.created_at` has the same
    /// `user_code_hash` (or the same `device_code_hash`), nothing is stored
    /// and the answer is [`StoreError::Conflict`]; the server then retries
    /// with a fresh code. An expired one with the same user code may be
    /// replaced. A SQL store keeps a unique index on `user_code_hash` and, in
    /// the same transaction, first deletes an expired holder of the hash.
    fn save_device_authorization(
        &self,
        record: DeviceAuthorizationRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The device authorization with this user code hash, whatever its status
    /// and even if expired; `None` if unknown (or purged). Changes nothing.
    fn find_device_authorization(
        &self,
        user_code_hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<DeviceAuthorizationRecord>, StoreError>> + Send;

    /// Records a user's decision, atomically and once. If the device
    /// authorization with this device code hash is [`DeviceStatus::Pending`]
    /// and expires after `now`, its status becomes `Approved` or `Denied` and
    /// the answer is `true`; otherwise nothing changes and the answer is
    /// `false`. Of concurrent decisions exactly one succeeds. A SQL store does
    /// this in one `UPDATE … SET status = … WHERE device_code_hash = $1 AND
    /// status = 'pending' AND expires_at > $now`.
    fn decide_device_authorization(
        &self,
        device_code_hash: &TokenHash,
        decision: DeviceDecision,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records a poll of the token endpoint by `client_id` at `now` (RFC 8628
    /// §3.4, §3.5) and, if the device authorization is approved, collects
    /// it — atomically — and returns the device authorization as the poll
    /// left it.
    ///
    /// The poll is too fast if the previous one (`last_polled_at`) was less
    /// than `interval` before `now`; then `interval` grows by
    /// [`SLOW_DOWN_STEP`]. Either way `last_polled_at` becomes `now` (unless
    /// it is later already), whatever the status. Then, by status:
    ///
    /// - [`DeviceStatus::Approved`], expiring after `now`: the poll redeems
    ///   it — the status becomes [`DeviceStatus::Redeemed`] with
    ///   `collection.grant_id`, and
    ///   [`collection.new_grant`](DeviceCollection::new_grant) is stored as
    ///   by [`create_grant`](Self::create_grant) — and
    ///   [`PolledDeviceCode::collected`] is that grant.
    /// - [`DeviceStatus::Redeemed`]: a replay (or a race lost to a
    ///   concurrent poll); the poll revokes that grant as by
    ///   [`revoke_grant`](Self::revoke_grant).
    /// - otherwise nothing more changes.
    ///
    /// Concurrent polls are serialised: each sees the one before it, so of
    /// two polls within one interval the second is too fast, and of
    /// concurrent polls after approval exactly one collects. A redeemed
    /// device authorization MUST stay findable until it expires, so a replay
    /// is recognised. If the device code is unknown, or was issued to another
    /// client, nothing changes and the answer is `None`. A SQL store does
    /// this in one `UPDATE … WHERE device_code_hash = $1 AND client_id = $2
    /// RETURNING …` whose data-modifying `WITH` clauses insert the grant or
    /// delete the replayed one, or in one transaction.
    fn poll_device_code(
        &self,
        device_code_hash: &TokenHash,
        client_id: &ClientId,
        now: SystemTime,
        collection: &DeviceCollection,
    ) -> impl Future<Output = Result<Option<PolledDeviceCode>, StoreError>> + Send;
}

/// The object-safe form of [`TokenStore`] that the server holds.
pub(crate) trait DynTokenStore: Send + Sync + 'static {
    /// The bundled memory store, if this is one (see [`erased`]).
    fn direct(&self) -> Option<&MemoryStore>;
    fn create_grant(&self, new: NewGrant) -> BoxFuture<'_, Result<(), StoreError>>;
    fn find_access_token<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError>>;
    fn find_refresh_token<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<FoundRefreshToken>, StoreError>>;
    fn rotate_refresh_token<'a>(
        &'a self,
        old: &'a TokenHash,
        rotation: &'a RefreshRotation,
    ) -> BoxFuture<'a, Result<Rotation, StoreError>>;
    fn find_code<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<FoundCode>, StoreError>>;
    fn redeem_code<'a>(
        &'a self,
        hash: &'a TokenHash,
        redemption: &'a CodeRedemption,
    ) -> BoxFuture<'a, Result<Redemption, StoreError>>;
    fn revoke_grant<'a>(&'a self, id: &'a GrantId) -> BoxFuture<'a, Result<bool, StoreError>>;
    fn revoke_access_token<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    fn revoke_client_grants<'a>(
        &'a self,
        client_id: &'a ClientId,
    ) -> BoxFuture<'a, Result<u64, StoreError>>;
    fn save_pending(
        &self,
        pending: PendingAuthorizationRecord,
    ) -> BoxFuture<'_, Result<(), StoreError>>;
    fn find_pending<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<PendingAuthorizationRecord>, StoreError>>;
    fn take_pending<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<PendingAuthorizationRecord>, StoreError>>;
    fn purge_expired(&self, now: SystemTime) -> BoxFuture<'_, Result<u64, StoreError>>;
    fn save_device_authorization(
        &self,
        record: DeviceAuthorizationRecord,
    ) -> BoxFuture<'_, Result<(), StoreError>>;
    fn find_device_authorization<'a>(
        &'a self,
        user_code_hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<DeviceAuthorizationRecord>, StoreError>>;
    fn decide_device_authorization<'a>(
        &'a self,
        device_code_hash: &'a TokenHash,
        decision: DeviceDecision,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    fn poll_device_code<'a>(
        &'a self,
        device_code_hash: &'a TokenHash,
        client_id: &'a ClientId,
        now: SystemTime,
        collection: &'a DeviceCollection,
    ) -> BoxFuture<'a, Result<Option<PolledDeviceCode>, StoreError>>;
}

impl<T: TokenStore> DynTokenStore for T {
    fn direct(&self) -> Option<&MemoryStore> {
        (self as &dyn std::any::Any).downcast_ref()
    }
    fn create_grant(&self, new: NewGrant) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(TokenStore::create_grant(self, new))
    }
    fn find_access_token<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError>> {
        Box::pin(TokenStore::find_access_token(self, hash))
    }
    fn find_refresh_token<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<FoundRefreshToken>, StoreError>> {
        Box::pin(TokenStore::find_refresh_token(self, hash))
    }
    fn rotate_refresh_token<'a>(
        &'a self,
        old: &'a TokenHash,
        rotation: &'a RefreshRotation,
    ) -> BoxFuture<'a, Result<Rotation, StoreError>> {
        Box::pin(TokenStore::rotate_refresh_token(self, old, rotation))
    }
    fn find_code<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<FoundCode>, StoreError>> {
        Box::pin(TokenStore::find_code(self, hash))
    }
    fn redeem_code<'a>(
        &'a self,
        hash: &'a TokenHash,
        redemption: &'a CodeRedemption,
    ) -> BoxFuture<'a, Result<Redemption, StoreError>> {
        Box::pin(TokenStore::redeem_code(self, hash, redemption))
    }
    fn revoke_grant<'a>(&'a self, id: &'a GrantId) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(TokenStore::revoke_grant(self, id))
    }
    fn revoke_access_token<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(TokenStore::revoke_access_token(self, hash))
    }
    fn revoke_client_grants<'a>(
        &'a self,
        client_id: &'a ClientId,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(TokenStore::revoke_client_grants(self, client_id))
    }
    fn save_pending(
        &self,
        pending: PendingAuthorizationRecord,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(TokenStore::save_pending(self, pending))
    }
    fn find_pending<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<PendingAuthorizationRecord>, StoreError>> {
        Box::pin(TokenStore::find_pending(self, hash))
    }
    fn take_pending<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<PendingAuthorizationRecord>, StoreError>> {
        Box::pin(TokenStore::take_pending(self, hash))
    }
    fn purge_expired(&self, now: SystemTime) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(TokenStore::purge_expired(self, now))
    }
    fn save_device_authorization(
        &self,
        record: DeviceAuthorizationRecord,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(TokenStore::save_device_authorization(self, record))
    }
    fn find_device_authorization<'a>(
        &'a self,
        user_code_hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<DeviceAuthorizationRecord>, StoreError>> {
        Box::pin(TokenStore::find_device_authorization(self, user_code_hash))
    }
    fn decide_device_authorization<'a>(
        &'a self,
        device_code_hash: &'a TokenHash,
        decision: DeviceDecision,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(TokenStore::decide_device_authorization(
            self,
            device_code_hash,
            decision,
            now,
        ))
    }
    fn poll_device_code<'a>(
        &'a self,
        device_code_hash: &'a TokenHash,
        client_id: &'a ClientId,
        now: SystemTime,
        collection: &'a DeviceCollection,
    ) -> BoxFuture<'a, Result<Option<PolledDeviceCode>, StoreError>> {
        Box::pin(TokenStore::poll_device_code(
            self,
            device_code_hash,
            client_id,
            now,
            collection,
        ))
    }
}

/// Compile-time check that the erased trait stays object-safe.
#[allow(dead_code)]
fn _obj_safe(_: &dyn DynTokenStore) {}
