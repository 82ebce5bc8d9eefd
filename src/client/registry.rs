//! Where registered clients live.

use std::future::Future;
use std::sync::Arc;

use super::{Client, RegistrationQuota};
use crate::erased::erased_twin;
use crate::error::StoreError;
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

    /// Stores a newly registered client under `quota`'s registrant if fewer
    /// than [`max_clients`](RegistrationQuota::max_clients) clients are
    /// stored under it, as one atomic operation, and returns whether it did.
    /// Dynamic registration (RFC 7591) stores its clients this way, so that
    /// one initial access token cannot fill the database.
    ///
    /// - The count and the insert are atomic: of any number of concurrent
    ///   calls for one registrant, on any replica sharing the store, no more
    ///   succeed than leave `max_clients` clients under it. A SQL store takes
    ///   a lock per registrant (PostgreSQL: a transaction-scoped advisory
    ///   lock; SQLite: its write lock), counts, and inserts, in one
    ///   transaction.
    /// - The registrant is kept with the client: an
    ///   [`update_client`](Self::update_client) leaves it as it was, and
    ///   [`delete_client`](Self::delete_client) frees the client's place.
    /// - Registrants are independent; clients inserted with
    ///   [`insert_client`](Self::insert_client) count against none.
    /// - A `client_id` already present is [`StoreError::Conflict`], as for
    ///   `insert_client`, and counts against nothing.
    fn insert_client_within_quota(
        &self,
        client: Client,
        quota: &RegistrationQuota,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

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
    /// Its grants and tokens live in the
    /// [`GrantStore`](crate::store::GrantStore); the server revokes them with
    /// [`GrantStore::revoke_client_grants`](crate::store::GrantStore::revoke_client_grants)
    /// once the client is gone, and drops its pending requests and device
    /// authorizations from the stores that keep them.
    fn delete_client(
        &self,
        client_id: &str,
        expected_token: Option<&TokenHash>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

erased_twin! {
    /// The object-safe form of [`ClientRegistry`] that the server holds.
    DynClientRegistry: ClientRegistry<'a> {
        fn find_client(client_id: &'a str) -> Result<Option<Arc<Client>>, StoreError>;
        fn insert_client(client: Client) -> Result<(), StoreError>;
        fn insert_client_within_quota(client: Client, quota: &'a RegistrationQuota)
            -> Result<bool, StoreError>;
        fn update_client(client: Client, expected_token: Option<&'a TokenHash>)
            -> Result<bool, StoreError>;
        fn delete_client(client_id: &'a str, expected_token: Option<&'a TokenHash>)
            -> Result<bool, StoreError>;
    }
}
