//! Where registered clients live.

use std::future::Future;
use std::sync::Arc;

use super::Client;
use crate::store::{BoxFuture, StoreError};

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
}

/// The object-safe form of [`ClientRegistry`] that the server holds.
pub(crate) trait DynClientRegistry: Send + Sync + 'static {
    fn find_client<'a>(
        &'a self,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Client>>, StoreError>>;
    fn insert_client(&self, client: Client) -> BoxFuture<'_, Result<(), StoreError>>;
}

impl<T: ClientRegistry> DynClientRegistry for T {
    fn find_client<'a>(
        &'a self,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Client>>, StoreError>> {
        Box::pin(ClientRegistry::find_client(self, client_id))
    }
    fn insert_client(&self, client: Client) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(ClientRegistry::insert_client(self, client))
    }
}

#[allow(dead_code)]
fn _obj_safe(_: &dyn DynClientRegistry) {}
