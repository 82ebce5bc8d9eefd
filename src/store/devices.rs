//! The device authorization grant's storage (RFC 8628).

use std::future::Future;
use std::time::SystemTime;

use super::{
    DeviceAuthorizationRecord, DeviceCollection, DeviceDecision, GrantStore, PolledDeviceCode,
    StoreError,
};
use crate::client::ClientId;
use crate::erased::erased_twin;
use crate::token::TokenHash;

/// Where device authorizations live: what the device authorization endpoint,
/// the verification page and the device code grant need (RFC 8628).
///
/// Collecting an approved device authorization creates its grant,
/// atomically; so this store is a [`GrantStore`] too, and the server uses
/// one object in both roles.
///
/// # Contracts
///
/// Each method is one atomic operation; deciding and polling are the ones
/// the concurrency tests hammer. Only hashes of device codes and user codes
/// reach the store.
pub trait DeviceAuthorizationStore: GrantStore {
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
    /// authorization with this device code hash is [`DeviceStatus::Pending`](super::DeviceStatus::Pending)
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
    /// [`SLOW_DOWN_STEP`](super::SLOW_DOWN_STEP). Either way `last_polled_at` becomes `now` (unless
    /// it is later already), whatever the status. Then, by status:
    ///
    /// - [`DeviceStatus::Approved`](super::DeviceStatus::Approved), expiring after `now`: the poll redeems
    ///   it — the status becomes [`DeviceStatus::Redeemed`](super::DeviceStatus::Redeemed) with
    ///   `collection.grant_id`, and
    ///   [`collection.new_grant`](DeviceCollection::new_grant) is stored as
    ///   by [`create_grant`](super::GrantStore::create_grant) — and
    ///   [`PolledDeviceCode::collected`] is that grant.
    /// - [`DeviceStatus::Redeemed`](super::DeviceStatus::Redeemed): a replay (or a race lost to a
    ///   concurrent poll); the poll revokes that grant as by
    ///   [`revoke_grant`](super::GrantStore::revoke_grant).
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

    /// Drops every device authorization of `client_id`, whatever its status,
    /// for the client's deletion; returns how many went. After this returns,
    /// none that existed when the call began is found by any lookup: one
    /// approved but not yet collected must not outlive the client, or a
    /// client registered again under the same identifier could collect it.
    fn revoke_client_device_authorizations(
        &self,
        client_id: &ClientId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes device authorizations that expired before `now`; returns how
    /// many went.
    fn purge_expired_device_authorizations(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

erased_twin! {
    /// The object-safe form of [`DeviceAuthorizationStore`] that the server
    /// holds.
    DynDeviceStore: DeviceAuthorizationStore<'a> {
        fn save_device_authorization(record: DeviceAuthorizationRecord)
            -> Result<(), StoreError>;
        fn find_device_authorization(user_code_hash: &'a TokenHash)
            -> Result<Option<DeviceAuthorizationRecord>, StoreError>;
        fn decide_device_authorization(
            device_code_hash: &'a TokenHash,
            decision: DeviceDecision,
            now: SystemTime,
        ) -> Result<bool, StoreError>;
        fn poll_device_code(
            device_code_hash: &'a TokenHash,
            client_id: &'a ClientId,
            now: SystemTime,
            collection: &'a DeviceCollection,
        ) -> Result<Option<PolledDeviceCode>, StoreError>;
        fn revoke_client_device_authorizations(client_id: &'a ClientId) -> Result<u64, StoreError>;
        fn purge_expired_device_authorizations(now: SystemTime) -> Result<u64, StoreError>;
    }
}
