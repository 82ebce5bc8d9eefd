//! The code grant's storage: authorization codes, and authorization requests
//! deferred to a later request (RFC 6749 §4.1).

use std::future::Future;
use std::time::SystemTime;

use super::{
    CodeRedemption, FoundCode, GrantStore, NewCodeGrant, PendingAuthorizationRecord,
    PushedAuthorizationRecord, Redemption, StoreError,
};
use crate::client::ClientId;
use crate::erased::erased_twin;
use crate::token::TokenHash;

/// Where authorization codes and deferred authorization requests live: what
/// the authorization endpoint and the authorization code grant need.
///
/// A code belongs to a grant, and redeeming it stores tokens under that
/// grant, atomically; so this store is a [`GrantStore`] too, and the server
/// uses one object in both roles (a clone of the one given as its grant
/// store, or the same store given once with
/// [`ServerBuilder::tokens`](crate::ServerBuilder::tokens)).
///
/// # Contracts
///
/// - Records are keyed by [`TokenHash`]; the plaintext of a code or handle
///   never reaches the store (RFC 6819 §5.1.4.1.3).
/// - A code is live only while its grant is
///   ([`GrantStore::revoke_grant`]).
/// - Each method is one atomic operation. Redeeming a code and taking a
///   pending request are the ones the concurrency tests hammer.
pub trait AuthorizationCodeStore: GrantStore {
    /// Stores a new grant together with its authorization code, atomically:
    /// both become visible or neither does.
    fn create_code_grant(
        &self,
        new: NewCodeGrant,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

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
    /// - [`Decision::Issue`](super::Decision::Issue): the code is marked redeemed and the tokens of
    ///   [`CodeRedemption::tokens`] are stored ([`Redemption::Redeemed`]).
    ///   Of any number of concurrent redemptions of one code exactly one gets
    ///   this (RFC 6749 §4.1.2); the others find it redeemed.
    /// - [`Decision::RevokeGrant`](super::Decision::RevokeGrant): a replay; the grant is revoked as by
    ///   [`revoke_grant`](super::GrantStore::revoke_grant) and nothing is stored
    ///   ([`Redemption::Revoked`]).
    /// - [`Decision::Refuse`](super::Decision::Refuse): nothing changes, and the code stays
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

    /// Stores a pushed authorization request (RFC 9126 §2) under the hash of
    /// its `request_uri`.
    fn save_pushed(
        &self,
        pushed: PushedAuthorizationRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes and returns the pushed request with this `request_uri` hash
    /// when it was pushed by `client_id` and expires after `now`, in one
    /// atomic operation: of concurrent calls exactly one gets it, so a
    /// `request_uri` is used once (RFC 9126 §4). A request pushed by another
    /// client MUST be left in place (a `request_uri` is bound to its client),
    /// and an expired one MUST NOT be returned; both give `None`.
    fn take_pushed(
        &self,
        hash: &TokenHash,
        client_id: &ClientId,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<PushedAuthorizationRecord>, StoreError>> + Send;

    /// Drops every pending authorization request of `client_id`, and every
    /// request it pushed, for the client's deletion; returns how many went.
    /// After this returns, none that existed when the call began is found by
    /// any lookup.
    fn revoke_client_pending(
        &self,
        client_id: &ClientId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes codes, pending requests and pushed requests that expired
    /// before `now`, and
    /// codes whose grant is gone; returns how many went.
    fn purge_expired_codes(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

erased_twin! {
    /// The object-safe form of [`AuthorizationCodeStore`] that the server
    /// holds.
    DynCodeStore: AuthorizationCodeStore<'a> {
        fn create_code_grant(new: NewCodeGrant) -> Result<(), StoreError>;
        fn find_code(hash: &'a TokenHash) -> Result<Option<FoundCode>, StoreError>;
        fn redeem_code(hash: &'a TokenHash, redemption: &'a CodeRedemption)
            -> Result<Redemption, StoreError>;
        fn save_pending(pending: PendingAuthorizationRecord) -> Result<(), StoreError>;
        fn find_pending(hash: &'a TokenHash)
            -> Result<Option<PendingAuthorizationRecord>, StoreError>;
        fn take_pending(hash: &'a TokenHash)
            -> Result<Option<PendingAuthorizationRecord>, StoreError>;
        fn save_pushed(pushed: PushedAuthorizationRecord) -> Result<(), StoreError>;
        fn take_pushed(hash: &'a TokenHash, client_id: &'a ClientId, now: SystemTime)
            -> Result<Option<PushedAuthorizationRecord>, StoreError>;
        fn revoke_client_pending(client_id: &'a ClientId) -> Result<u64, StoreError>;
        fn purge_expired_codes(now: SystemTime) -> Result<u64, StoreError>;
    }
}
