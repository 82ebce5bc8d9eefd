//! Where registered clients live.

use std::future::Future;
use std::sync::Arc;

use super::Client;
use crate::store::erased::direct_or_boxed;
use crate::store::{BoxFuture, MemoryStore, StoreError};
use crate::token::TokenHash;

/// Finds and stores registered clients (RFC 6749 §2).
///
/// # Contracts
///
/// - `client_id` is unique: [`insert_client`](Self::insert_client) of an
///   identifier already present MUST fail with [`StoreError::Conflict`] and
///   leave the stored client unchanged.
/// - A stored client is returned as it was inserted. Stores that persist
///   clients should serialise [`Client`] with `serde`: deserialising
///   re-validates every registration rule, so a tampered row cannot yield an
///   inconsistent client.
pub trait ClientRegistry: Send + Sync + 'static {
    /// The client with this identifier, if registered.
    fn find_client(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<Arc<Client>>, StoreError>> + Send;

    /// Stores a newly registered client.
    fn insert_client(&self, client: Client) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces the stored client that has `client.id()` with `client`, as
    /// one atomic operation, and returns whether it did.
    ///
    /// When `expected_token` is `Some`, the replacement is a compare-and-swap
    /// on the registration access token (RFC 7592 §3): it happens only if the
    /// stored client's
    /// [`registration_access_token_hash`](Client::registration_access_token_hash)
    /// equals `expected_token`. Of any number of concurrent updates presenting
    /// one token, exactly one MUST succeed; the others return `false` and
    /// change nothing. An unknown client is `false`. A SQL store does this in
    /// one statement: `UPDATE clients SET … WHERE client_id = $1 AND
    /// registration_token_hash = $2`.
    fn update_client(
        &self,
        client: Client,
        expected_token: Option<&TokenHash>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes the client with this identifier, as one atomic operation, and
    /// returns whether it did. Afterwards [`find_client`](Self::find_client)
    /// MUST return `None` for it, on every replica sharing the store, so the
    /// client can no longer authenticate.
    ///
    /// `expected_token` is the same compare-and-swap condition as for
    /// [`update_client`](Self::update_client): with `Some`, the client is
    /// removed only if its registration access token hash equals it.
    ///
    /// Its grants and tokens live in the [`TokenStore`](crate::store::TokenStore);
    /// the server revokes them with
    /// [`TokenStore::revoke_client_grants`](crate::store::TokenStore::revoke_client_grants)
    /// once the client is gone.
    fn delete_client(
        &self,
        client_id: &str,
        expected_token: Option<&TokenHash>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The object-safe form of [`ClientRegistry`] that the server holds.
pub(crate) trait DynClientRegistry: Send + Sync + 'static {
    /// The bundled memory store, if this is one (see [`crate::store::erased`]).
    fn direct(&self) -> Option<&MemoryStore>;
    fn find_client<'a>(
        &'a self,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Client>>, StoreError>>;
    fn insert_client(&self, client: Client) -> BoxFuture<'_, Result<(), StoreError>>;
    fn update_client<'a>(
        &'a self,
        client: Client,
        expected_token: Option<&'a TokenHash>,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    fn delete_client<'a>(
        &'a self,
        client_id: &'a str,
        expected_token: Option<&'a TokenHash>,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
}

impl<T: ClientRegistry> DynClientRegistry for T {
    fn direct(&self) -> Option<&MemoryStore> {
        (self as &dyn std::any::Any).downcast_ref()
    }
    fn find_client<'a>(
        &'a self,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Client>>, StoreError>> {
        Box::pin(ClientRegistry::find_client(self, client_id))
    }
    fn insert_client(&self, client: Client) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(ClientRegistry::insert_client(self, client))
    }
    fn update_client<'a>(
        &'a self,
        client: Client,
        expected_token: Option<&'a TokenHash>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(ClientRegistry::update_client(self, client, expected_token))
    }
    fn delete_client<'a>(
        &'a self,
        client_id: &'a str,
        expected_token: Option<&'a TokenHash>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(ClientRegistry::delete_client(
            self,
            client_id,
            expected_token,
        ))
    }
}

#[allow(dead_code)]
fn _obj_safe(_: &dyn DynClientRegistry) {}

direct_or_boxed! {
    /// The server's client registry.
    ClientRegistryHandle: DynClientRegistry, ClientRegistry {
        fn find_client(&self, client_id: &str) -> Result<Option<Arc<Client>>, StoreError>;
        fn insert_client(&self, client: Client) -> Result<(), StoreError>;
        fn update_client(&self, client: Client, expected_token: Option<&TokenHash>)
            -> Result<bool, StoreError>;
        fn delete_client(&self, client_id: &str, expected_token: Option<&TokenHash>)
            -> Result<bool, StoreError>;
    }
}
