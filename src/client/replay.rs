//! Single-use identifiers: the replay cache (RFC 7523 §3 item 7, RFC 7521
//! §8.2), shared by every replica of a server.
//!
//! A JWT client assertion's `jti` may be used once. The server records each
//! one it accepts in a [`ReplayCache`] until the assertion expires, and
//! refuses an assertion whose `jti` is already there. The cache is keyed by
//! an opaque [`ReplayKey`] — a SHA-256 of a purpose and the identifying
//! parts — so one cache can serve other single-use proofs later (a DPoP
//! proof's `jti`, RFC 9449 §11.1) without their keys ever colliding, and
//! holds nothing a reader could reuse.

use std::fmt;
use std::future::Future;
use std::time::SystemTime;

use sha2::{Digest as _, Sha256};

use crate::erased::erased_twin;
use crate::error::StoreError;

/// The key of one single use: SHA-256 over a purpose (a namespace, such as
/// [`ReplayKey::CLIENT_ASSERTION`]) and the parts that identify the use,
/// each prefixed with its length so that no two lists of parts share a key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplayKey([u8; 32]);

impl ReplayKey {
    /// The purpose of a JWT client assertion's `(client_id, jti)` (RFC 7523
    /// §3 item 7).
    pub const CLIENT_ASSERTION: &'static str = "client_assertion";

    /// The purpose of a request object's `(client_id, jti)` (RFC 9101 §10.8
    /// replay).
    pub const REQUEST_OBJECT: &'static str = "request_object";
    /// The purpose of a DPoP proof's `(jkt, jti)`: a proof is used once
    /// (RFC 9449 §11.1).
    pub const DPOP_PROOF: &'static str = "dpop_proof";

    /// The key of `parts` used for `purpose`.
    pub fn new(purpose: &str, parts: &[&str]) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"portcullis replay key v1\0");
        for part in std::iter::once(purpose).chain(parts.iter().copied()) {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        Self(hash.finalize().into())
    }

    /// A key from its 32 bytes, as a store reads it back.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key's 32 bytes, as a store keeps them.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, ..] = self.0;
        write!(f, "ReplayKey({a:02x}{b:02x}{c:02x}{d:02x}…)")
    }
}

/// Where single uses are recorded, shared by every replica of the server:
/// [`MemoryStore`](crate::store::MemoryStore) for one process, the SQL
/// store's database for a fleet. Install one with
/// [`ServerBuilder::replay_cache`](crate::ServerBuilder::replay_cache).
///
/// The `run_replay_cache_conformance` runner of the `testing` feature
/// checks an implementation's contract, races included.
pub trait ReplayCache: Send + Sync + 'static {
    /// Records `key` until `expires_at`, and returns whether this is its
    /// first use: `true` when the key was not recorded, or its record had
    /// expired (at or before `now`); `false` when a live record exists,
    /// which is left as it is.
    ///
    /// MUST be atomic: of any number of concurrent calls with one key, on
    /// any replica, at most one returns `true` while its record lives.
    fn first_use(
        &self,
        key: &ReplayKey,
        expires_at: SystemTime,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes the records that expired at or before `now`, returning how
    /// many went. [`AuthorizationServer::purge_expired`](crate::AuthorizationServer::purge_expired)
    /// calls it.
    fn purge_expired_replays(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

erased_twin! {
    /// The object-safe form of [`ReplayCache`] that the server holds.
    DynReplayCache: ReplayCache<'a> {
        fn first_use(key: &'a ReplayKey, expires_at: SystemTime, now: SystemTime) -> Result<bool, StoreError>;
        fn purge_expired_replays(now: SystemTime) -> Result<u64, StoreError>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_and_unambiguous() {
        let a = ReplayKey::new(ReplayKey::CLIENT_ASSERTION, &["client", "jti"]);
        assert_eq!(
            a,
            ReplayKey::new(ReplayKey::CLIENT_ASSERTION, &["client", "jti"])
        );
        assert_ne!(a, ReplayKey::new("dpop_proof", &["client", "jti"]));
        assert_ne!(
            ReplayKey::new("p", &["ab", "c"]),
            ReplayKey::new("p", &["a", "bc"])
        );
        assert_eq!(ReplayKey::from_bytes(*a.as_bytes()), a);
        assert!(format!("{a:?}").starts_with("ReplayKey("));
    }
}
