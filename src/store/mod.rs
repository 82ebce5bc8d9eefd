//! Storage: the traits a host implements (or picks an implementation of) and
//! the embedded in-memory store.
//!
//! The traits are `async` and `Send`, written with `impl Future` so an
//! implementation can use plain `async fn`. Each method's documentation states
//! the contract an implementation MUST keep; the server's security rests on
//! them. A store keeps only hashes of secrets:
//! [`TokenHash`](crate::token::TokenHash) is the key of every token.

mod access_token_info;
mod codes;
mod device;
mod devices;
mod exchange;
mod grants;
mod memory;
mod pushed;
mod records;
pub(crate) mod redemption;
#[cfg(feature = "sql")]
mod sql;

/// Defined beside client authentication, its first user (the layers of
/// docs/ARCHITECTURE.md), and kept by the stores.
pub use crate::client::replay::{ReplayCache, ReplayKey};
pub use crate::error::StoreError;
pub use access_token_info::AccessTokenInfo;
pub use codes::AuthorizationCodeStore;
pub(crate) use codes::DynCodeStore;
pub use device::{
    DeviceAuthorizationRecord, DeviceCollection, DeviceDecision, DeviceStatus, PolledDeviceCode,
    SLOW_DOWN_STEP,
};
pub use devices::DeviceAuthorizationStore;
pub(crate) use devices::DynDeviceStore;
pub use exchange::{Actor, TokenExchangeRecord};
pub(crate) use grants::DynGrantStore;
pub use grants::GrantStore;
pub use memory::MemoryStore;
pub use pushed::PushedAuthorizationRecord;
pub use records::{
    AccessTokenRecord, AuthorizationCodeRecord, FoundCode, FoundRefreshToken, GrantId, GrantRecord,
    IdTokenHint, NewCodeGrant, NewGrant, OpenIdGrant, OpenIdRequest, PendingAuthorizationRecord,
    RefreshTokenRecord, ResponseMode, ResponseType, Subject,
};
pub use redemption::{
    CodeRedemption, Decision, PlannedToken, Redemption, RefreshRotation, Rotation,
};
#[cfg(feature = "sql")]
pub use sql::{SqlLimiter, SqlStore};

use crate::client::ClientId;

/// Every store at once: a [`GrantStore`], an [`AuthorizationCodeStore`] and a
/// [`DeviceAuthorizationStore`] in one object, which
/// [`ServerBuilder::tokens`](crate::ServerBuilder::tokens) takes for all
/// three roles. Implemented for every type that is all three, as
/// [`MemoryStore`] and the SQL store are; a host that serves fewer grants
/// implements only the stores they use and gives them one by one
/// ([`ServerBuilder::grant_store`](crate::ServerBuilder::grant_store) and
/// the like).
pub trait TokenStore: GrantStore + AuthorizationCodeStore + DeviceAuthorizationStore {}

impl<T: GrantStore + AuthorizationCodeStore + DeviceAuthorizationStore> TokenStore for T {}

/// The stores the server holds, each behind its object-safe twin: the grant
/// store always, the others when a configured grant or endpoint uses them.
/// When one object plays several roles, the roles share it.
pub(crate) struct Stores {
    pub(crate) grants: std::sync::Arc<dyn DynGrantStore>,
    pub(crate) codes: Option<std::sync::Arc<dyn DynCodeStore>>,
    pub(crate) devices: Option<std::sync::Arc<dyn DynDeviceStore>>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores")
            .field("codes", &self.codes.is_some())
            .field("devices", &self.devices.is_some())
            .finish_non_exhaustive()
    }
}

impl Stores {
    /// Revokes every grant of `client_id` with all that derives from them,
    /// and drops its pending authorization requests and device
    /// authorizations, for the client's deletion; returns how many grants
    /// went. A device authorization approved but not collected must not
    /// outlive the client, or a client registered again under the same
    /// identifier could collect it.
    pub(crate) async fn revoke_client(&self, client_id: &ClientId) -> Result<u64, StoreError> {
        let revoked = self.grants.revoke_client_grants(client_id).await?;
        if let Some(codes) = &self.codes {
            codes.revoke_client_pending(client_id).await?;
        }
        if let Some(devices) = &self.devices {
            devices
                .revoke_client_device_authorizations(client_id)
                .await?;
        }
        Ok(revoked)
    }

    /// The code store, which the server has whenever it serves the code or
    /// implicit grant — the only ways to reach what uses it.
    pub(crate) fn codes(&self) -> Result<&dyn DynCodeStore, StoreError> {
        self.codes
            .as_deref()
            .ok_or_else(|| StoreError::backend("no authorization code store is configured"))
    }

    /// The device store, which the server has whenever it serves the device
    /// grant — the only way to reach what uses it.
    pub(crate) fn devices(&self) -> Result<&dyn DynDeviceStore, StoreError> {
        self.devices
            .as_deref()
            .ok_or_else(|| StoreError::backend("no device authorization store is configured"))
    }
}
