//! Storage: the traits a host implements (or picks an implementation of) and
//! the embedded in-memory store.
//!
//! The traits are `async` and `Send`, written with `impl Future` so an
//! implementation can use plain `async fn`. Each method's documentation states
//! the contract an implementation MUST keep; the server's security rests on
//! them. A store keeps only hashes of secrets: [`TokenHash`] is the key of
//! every token.

mod memory;
mod records;

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

pub use memory::MemoryStore;
pub use records::{AccessTokenRecord, GrantId, GrantRecord, NewGrant, Subject};

use crate::token::TokenHash;

/// A boxed, sendable future: what the server stores erased trait objects as.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A storage failure.
///
/// The token endpoint answers any of these with `server_error` and no detail;
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
}

/// Where grants and tokens live.
///
/// # Contracts
///
/// - Records are keyed by [`TokenHash`]; the plaintext of a token never reaches
///   the store (RFC 6819 §5.1.4.1.3).
/// - Every token belongs to a grant, and a token is live only while its grant
///   is: [`revoke_grant`](Self::revoke_grant) kills every token derived from the
///   grant, at once, for every replica sharing the store.
/// - Each method is one atomic operation — a SQL store does each in one
///   statement or one transaction.
pub trait TokenStore: Send + Sync + 'static {
    /// Stores a new grant together with its first tokens, atomically: either all
    /// become visible or none does.
    fn create_grant(&self, new: NewGrant) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The access token with this hash and its grant, or `None` if the token
    /// was never issued, or it or its grant has been revoked. Expiry is checked
    /// by the caller, so an expired but not yet purged token may be returned.
    fn find_access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError>> + Send;

    /// Revokes a grant and everything derived from it. Returns whether the grant
    /// existed. After this returns, no token of the grant is found by any lookup.
    fn revoke_grant(&self, id: &GrantId) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes grants and tokens that expired before `now`; returns how many
    /// records went. Hosts call it periodically; stores may also purge on their
    /// own.
    fn purge_expired(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// The object-safe form of [`TokenStore`] that the server holds.
pub(crate) trait DynTokenStore: Send + Sync + 'static {
    fn create_grant(&self, new: NewGrant) -> BoxFuture<'_, Result<(), StoreError>>;
    fn find_access_token<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError>>;
    fn revoke_grant<'a>(&'a self, id: &'a GrantId) -> BoxFuture<'a, Result<bool, StoreError>>;
    fn purge_expired(&self, now: SystemTime) -> BoxFuture<'_, Result<u64, StoreError>>;
}

impl<T: TokenStore> DynTokenStore for T {
    fn create_grant(&self, new: NewGrant) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(TokenStore::create_grant(self, new))
    }
    fn find_access_token<'a>(
        &'a self,
        hash: &'a TokenHash,
    ) -> BoxFuture<'a, Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError>> {
        Box::pin(TokenStore::find_access_token(self, hash))
    }
    fn revoke_grant<'a>(&'a self, id: &'a GrantId) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(TokenStore::revoke_grant(self, id))
    }
    fn purge_expired(&self, now: SystemTime) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(TokenStore::purge_expired(self, now))
    }
}

/// Compile-time check that the erased trait stays object-safe.
#[allow(dead_code)]
fn _obj_safe(_: &dyn DynTokenStore) {}
