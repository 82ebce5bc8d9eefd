//! How the server holds the host's storage and limiter: behind object-safe
//! twins of their traits, whose futures are boxed — except the bundled
//! in-memory implementations, which it calls directly.
//!
//! A [`MemoryStore`](super::MemoryStore) or
//! [`MemoryLimiter`](crate::client::MemoryLimiter) operation completes in
//! nanoseconds, so a heap allocation per call would be a measurable share of
//! a token request; a database's round trip dwarfs one. Which path a call
//! takes is decided by a type check, and both paths run the same trait
//! method: a host's store is held and called exactly as before.

/// A handle over `Box<dyn $dyn>` with one async method per operation, each
/// calling the bundled type's trait method without boxing when the handle
/// holds one (the twin's `direct`), and the boxed twin otherwise.
macro_rules! direct_or_boxed {
    (
        $(#[$meta:meta])*
        $handle:ident: $dyn:ident, $trait:ident {
            $( fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $out:ty; )*
        }
    ) => {
        $(#[$meta])*
        pub(crate) struct $handle(Box<dyn $dyn>);

        impl $handle {
            pub(crate) fn new(inner: Box<dyn $dyn>) -> Self {
                Self(inner)
            }

            $(
                pub(crate) async fn $name(&self $(, $arg: $ty)*) -> $out {
                    match self.0.direct() {
                        Some(direct) => $trait::$name(direct $(, $arg)*).await,
                        None => self.0.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

pub(crate) use direct_or_boxed;

use std::future::Future;
use std::time::SystemTime;

use super::{
    AccessTokenRecord, CodeRedemption, DeviceAuthorizationRecord, DeviceCollection, DeviceDecision,
    DynTokenStore, FoundCode, FoundRefreshToken, GrantId, GrantRecord, NewGrant,
    PendingAuthorizationRecord, PolledDeviceCode, Redemption, RefreshRotation, Rotation,
    StoreError, TokenStore,
};
use crate::client::ClientId;
use crate::token::TokenHash;

direct_or_boxed! {
    /// The server's token store.
    TokenStoreHandle: DynTokenStore, TokenStore {
        fn find_access_token(&self, hash: &TokenHash)
            -> Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError>;
        fn find_refresh_token(&self, hash: &TokenHash)
            -> Result<Option<FoundRefreshToken>, StoreError>;
        fn rotate_refresh_token(&self, old: &TokenHash, rotation: &RefreshRotation)
            -> Result<Rotation, StoreError>;
        fn find_code(&self, hash: &TokenHash) -> Result<Option<FoundCode>, StoreError>;
        fn redeem_code(&self, hash: &TokenHash, redemption: &CodeRedemption)
            -> Result<Redemption, StoreError>;
        fn revoke_grant(&self, id: &GrantId) -> Result<bool, StoreError>;
        fn revoke_access_token(&self, hash: &TokenHash) -> Result<bool, StoreError>;
        fn revoke_client_grants(&self, client_id: &ClientId) -> Result<u64, StoreError>;
        fn find_pending(&self, hash: &TokenHash)
            -> Result<Option<PendingAuthorizationRecord>, StoreError>;
        fn take_pending(&self, hash: &TokenHash)
            -> Result<Option<PendingAuthorizationRecord>, StoreError>;
        fn purge_expired(&self, now: SystemTime) -> Result<u64, StoreError>;
        fn save_device_authorization(&self, record: DeviceAuthorizationRecord)
            -> Result<(), StoreError>;
        fn find_device_authorization(&self, user_code_hash: &TokenHash)
            -> Result<Option<DeviceAuthorizationRecord>, StoreError>;
        fn decide_device_authorization(
            &self,
            device_code_hash: &TokenHash,
            decision: DeviceDecision,
            now: SystemTime
        ) -> Result<bool, StoreError>;
        fn poll_device_code(
            &self,
            device_code_hash: &TokenHash,
            client_id: &ClientId,
            now: SystemTime,
            collection: &DeviceCollection
        ) -> Result<Option<PolledDeviceCode>, StoreError>;
    }
}

/// The operations that take a record by value. Each hands the record to the
/// store when called, rather than when its future is first polled (as an
/// `async fn` would): the bundled memory store does its work then and its
/// future holds only the result, so the record is not carried in the
/// caller's future. A grant handler's future that held a `NewGrant` (416
/// bytes) twice was over 3 KiB — an allocation past the allocator's
/// per-thread cache on every request. A host's store returns a boxed future
/// that runs when polled, as before. The match over the two futures is
/// written out in each method on purpose: an `async fn` helper taking the
/// call as a parameter keeps that parameter beside the future it awaits,
/// which made the token endpoint's future 144 bytes larger and a client
/// credentials request about 110 instructions dearer.
impl TokenStoreHandle {
    pub(crate) fn create_grant(
        &self,
        new: NewGrant,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + '_ {
        let call = match self.0.direct() {
            Some(direct) => Ok(TokenStore::create_grant(direct, new)),
            None => Err(self.0.create_grant(new)),
        };
        async move {
            match call {
                Ok(direct) => direct.await,
                Err(boxed) => boxed.await,
            }
        }
    }

    pub(crate) fn save_pending(
        &self,
        pending: PendingAuthorizationRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + '_ {
        let call = match self.0.direct() {
            Some(direct) => Ok(TokenStore::save_pending(direct, pending)),
            None => Err(self.0.save_pending(pending)),
        };
        async move {
            match call {
                Ok(direct) => direct.await,
                Err(boxed) => boxed.await,
            }
        }
    }

    /// The bundled memory store, when the server holds one: for lookups it
    /// answers better than the trait can (see
    /// [`MemoryStore::access_token_info`](super::MemoryStore)).
    pub(crate) fn memory(&self) -> Option<&super::MemoryStore> {
        self.0.direct()
    }
}
