//! The server's signing keys and their rotation: a new key is published
//! before it signs, and a retired one stays published until the last token
//! it signed has expired.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use super::algorithm::Algorithm;
use super::jwk::JwkSet;
use super::signer::JwsSigner;

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyStatus {
    /// Published in the JWKS, not yet signing: verifiers that cache the
    /// JWKS learn it before the first token it signs reaches them.
    Staged,
    /// Signing everything of its algorithm, and published.
    Active,
    /// No longer signing; published until the time given, when the last
    /// token it signed has expired.
    Retired {
        /// When it leaves the JWKS.
        until: SystemTime,
    },
}

/// A refused change to a [`KeySet`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeySetError {
    /// Another key has this `kid`.
    #[error("a key with kid {0:?} is already in the set")]
    DuplicateKid(String),
    /// No key has this `kid`.
    #[error("no key with kid {0:?}")]
    UnknownKid(String),
    /// Only a staged key can be activated.
    #[error("the key {0:?} is not staged")]
    NotStaged(String),
    /// The key is active: activate its successor first.
    #[error("the key {0:?} is active")]
    Active(String),
    /// HS256 keys are never the server's.
    #[error("the server does not sign with {0}")]
    NotForSigning(Algorithm),
}

struct Entry {
    signer: Arc<dyn JwsSigner>,
    status: KeyStatus,
}

/// The server's signing keys: at most one active key per algorithm, staged
/// keys waiting to take over, and retired keys kept published until what
/// they signed has expired. Shared by the server's clones; every change is
/// one atomic step.
///
/// # Rotating a key without downtime
///
/// 1. [`stage`](Self::stage) the new key. It is in the JWKS from now on,
///    but signs nothing.
/// 2. Wait until every verifier has fetched the JWKS again: at least the
///    JWKS's cache lifetime (the server's `jwks_uri` answers with
///    `max-age` [`JWKS_MAX_AGE`](crate::endpoint::JWKS_MAX_AGE)). On
///    several replicas, stage the key on each before any activates it.
/// 3. [`activate`](Self::activate) it (through
///    [`AuthorizationServer::rotate_signing_key`](crate::AuthorizationServer::rotate_signing_key),
///    which keeps the old key as long as the longest-lived token it may
///    have signed). The old key of the same algorithm is retired: still in
///    the JWKS, signing nothing.
/// 4. Once its time has passed, the retired key leaves the JWKS by itself
///    ([`jwks`](Self::jwks) omits it; [`purge`](Self::purge) drops it).
#[derive(Clone)]
pub struct KeySet {
    entries: Arc<RwLock<Vec<Entry>>>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_list()
            .entries(
                entries
                    .iter()
                    .map(|e| (e.signer.key_id().to_owned(), e.signer.algorithm(), e.status)),
            )
            .finish()
    }
}

impl Default for KeySet {
    fn default() -> Self {
        Self::new()
    }
}

impl KeySet {
    /// An empty key set: the server signs nothing.
    pub fn new() -> Self {
        Self {
            entries: Arc::new(RwLock::new(Vec::new())),
        }
    }

    /// Adds `signer` as the active key of its algorithm, replacing nothing:
    /// for the keys a server starts with. A key of an algorithm that
    /// already has an active one is staged instead.
    pub fn with_key(self, signer: impl JwsSigner) -> Result<Self, KeySetError> {
        let algorithm = signer.algorithm();
        let status = if self.active(algorithm).is_some() {
            KeyStatus::Staged
        } else {
            KeyStatus::Active
        };
        self.insert(Arc::new(signer), status)?;
        Ok(self)
    }

    /// Publishes `signer` without signing with it (step 1 of a rotation).
    pub fn stage(&self, signer: impl JwsSigner) -> Result<(), KeySetError> {
        self.insert(Arc::new(signer), KeyStatus::Staged)
    }

    fn insert(&self, signer: Arc<dyn JwsSigner>, status: KeyStatus) -> Result<(), KeySetError> {
        if !signer.algorithm().is_asymmetric() {
            return Err(KeySetError::NotForSigning(signer.algorithm()));
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.iter().any(|e| e.signer.key_id() == signer.key_id()) {
            return Err(KeySetError::DuplicateKid(signer.key_id().to_owned()));
        }
        entries.push(Entry { signer, status });
        Ok(())
    }

    /// Makes the staged key `kid` the active key of its algorithm (step 3);
    /// the key it replaces, if any, is retired until `retain_until`.
    /// Returns the retired key's `kid`.
    pub fn activate(
        &self,
        kid: &str,
        retain_until: SystemTime,
    ) -> Result<Option<String>, KeySetError> {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let staged = entries
            .iter()
            .find(|e| e.signer.key_id() == kid)
            .ok_or_else(|| KeySetError::UnknownKid(kid.to_owned()))?;
        if staged.status != KeyStatus::Staged {
            return Err(KeySetError::NotStaged(kid.to_owned()));
        }
        let algorithm = staged.signer.algorithm();
        let mut retired = None;
        for entry in entries.iter_mut() {
            if entry.signer.key_id() == kid {
                entry.status = KeyStatus::Active;
            } else if entry.status == KeyStatus::Active && entry.signer.algorithm() == algorithm {
                entry.status = KeyStatus::Retired {
                    until: retain_until,
                };
                retired = Some(entry.signer.key_id().to_owned());
            }
        }
        Ok(retired)
    }

    /// Removes a staged or retired key at once (a compromised one, say:
    /// tokens it signed stop verifying where the JWKS is fetched again).
    /// An active key must be replaced first.
    pub fn remove(&self, kid: &str) -> Result<(), KeySetError> {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let position = entries
            .iter()
            .position(|e| e.signer.key_id() == kid)
            .ok_or_else(|| KeySetError::UnknownKid(kid.to_owned()))?;
        if entries
            .get(position)
            .is_some_and(|e| e.status == KeyStatus::Active)
        {
            return Err(KeySetError::Active(kid.to_owned()));
        }
        entries.remove(position);
        Ok(())
    }

    /// Drops the retired keys whose time has passed; returns how many.
    pub fn purge(&self, now: SystemTime) -> usize {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let before = entries.len();
        entries.retain(|e| !expired(e.status, now));
        before - entries.len()
    }

    /// The active key of `algorithm`.
    pub fn active(&self, algorithm: Algorithm) -> Option<Arc<dyn JwsSigner>> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries
            .iter()
            .find(|e| e.status == KeyStatus::Active && e.signer.algorithm() == algorithm)
            .map(|e| Arc::clone(&e.signer))
    }

    /// The algorithms with an active key, in [`Algorithm::ALL`]'s order.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(|alg| self.active(*alg).is_some())
            .collect()
    }

    /// Each key's `kid`, algorithm and status.
    pub fn keys(&self) -> Vec<(String, Algorithm, KeyStatus)> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries
            .iter()
            .map(|e| (e.signer.key_id().to_owned(), e.signer.algorithm(), e.status))
            .collect()
    }

    /// The JWKS at `now` (RFC 7517 §5): staged, active, and retired keys
    /// whose time has not passed.
    pub fn jwks(&self, now: SystemTime) -> JwkSet {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        JwkSet {
            keys: entries
                .iter()
                .filter(|e| !expired(e.status, now))
                .map(|e| e.signer.public_jwk().clone())
                .collect(),
        }
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}

fn expired(status: KeyStatus, now: SystemTime) -> bool {
    matches!(status, KeyStatus::Retired { until } if until <= now)
}
