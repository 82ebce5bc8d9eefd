//! DPoP at the server (RFC 9449): the settings
//! ([`ServerBuilder::dpop`](crate::ServerBuilder::dpop)), and the checks a
//! proof passes beyond what it says of itself — single use of its `jti`
//! through the [`ReplayCache`] replicas share (§11.1), and the server's
//! nonce (§8, §9).
//!
//! Nonces are stateless: a nonce is a time slot and an HMAC-SHA-256 of it
//! under a key from the builder, so every replica given the key issues and
//! accepts the same nonces without a store. A proof may carry the nonce of
//! the current slot or the one before; when the slot has moved on, the
//! response carries a fresh `DPoP-Nonce`. This file imports no endpoint: the
//! server object's file names its settings.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Method};
use subtle::ConstantTimeEq as _;
use url::Url;

use crate::client::replay::{DynReplayCache, ReplayCache, ReplayKey};
use crate::jose::Algorithm;
use crate::protocol::{
    DpopError, ErrorResponse, ProofCheck, dpop_header, use_dpop_nonce, verify_proof,
};
use crate::store::StoreError;
use crate::token::Confirmation;

/// The algorithms a DPoP proof may be signed with unless the host says
/// otherwise: every asymmetric one portcullis verifies (RFC 9449 §4.3
/// item 5).
pub const DEFAULT_DPOP_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::Es256,
    Algorithm::Rs256,
    Algorithm::Ps256,
    Algorithm::EdDsa,
];

/// The shortest nonce key accepted: 256 bits.
pub const MIN_DPOP_NONCE_KEY_LEN: usize = 32;

/// Why [`Dpop::require_nonce`] refused its settings (RFC 9449 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopNonceError {
    /// The HMAC key is shorter than [`MIN_DPOP_NONCE_KEY_LEN`] bytes.
    #[error("the DPoP nonce key is shorter than 32 bytes")]
    ShortKey,
    /// The slot is shorter than a second.
    #[error("the DPoP nonce slot is shorter than a second")]
    ShortSlot,
}

/// DPoP (RFC 9449) at the token endpoint and for the server's own protected
/// resources: which proofs are accepted, where their `jti`s are recorded,
/// and whether a server nonce is required. Off unless given to
/// [`ServerBuilder::dpop`](crate::ServerBuilder::dpop).
#[derive(Clone)]
pub struct Dpop {
    replay: Arc<dyn DynReplayCache>,
    algorithms: Vec<Algorithm>,
    max_age: Duration,
    leeway: Duration,
    nonce: Option<NonceKey>,
}

impl fmt::Debug for Dpop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dpop")
            .field("algorithms", &self.algorithms)
            .field("max_age", &self.max_age)
            .field("leeway", &self.leeway)
            .field("nonce", &self.nonce.as_ref().map(|n| n.slot))
            .finish_non_exhaustive()
    }
}

/// The nonce key and the length of a nonce's time slot.
#[derive(Clone)]
struct NonceKey {
    key: hmac::Key,
    slot: Duration,
}

impl Dpop {
    /// DPoP with proofs' `jti`s recorded in `replay` — the
    /// [`MemoryStore`](crate::MemoryStore) for one process, the SQL store
    /// for replicas sharing a database — the
    /// [`DEFAULT_DPOP_ALGORITHMS`], proofs at most 60 seconds old (5
    /// seconds of clock skew allowed), and no nonce.
    pub fn new(replay: impl ReplayCache) -> Self {
        Self {
            replay: Arc::new(replay),
            algorithms: DEFAULT_DPOP_ALGORITHMS.to_vec(),
            max_age: Duration::from_secs(60),
            leeway: Duration::from_secs(5),
            nonce: None,
        }
    }

    /// The algorithms accepted, in the order the metadata lists them
    /// (`dpop_signing_alg_values_supported`, RFC 9449 §5.1). Symmetric ones
    /// are dropped: a proof's key is public (§4.3 item 5).
    pub fn algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.algorithms = algorithms
            .iter()
            .copied()
            .filter(|a| a.is_asymmetric())
            .collect();
        self
    }

    /// How old a proof's `iat` may be, and how far in the future (RFC 9449
    /// §11.1): a short window bounds how long the replay cache keeps a
    /// `jti`.
    pub fn proof_window(mut self, max_age: Duration, leeway: Duration) -> Self {
        self.max_age = max_age;
        self.leeway = leeway;
        self
    }

    /// Requires a server nonce in every proof (RFC 9449 §8): a request
    /// without one, or with one that is too old, gets `use_dpop_nonce`
    /// and a fresh nonce in `DPoP-Nonce`. Nonces change every `slot` and
    /// are accepted for one slot more; they are HMACs under `key` (at least
    /// [`MIN_DPOP_NONCE_KEY_LEN`] random bytes), which every replica must
    /// share. A shorter key, or a slot under a second, is an error: nonces
    /// a host asked for are never silently off.
    pub fn require_nonce(mut self, key: &[u8], slot: Duration) -> Result<Self, DpopNonceError> {
        if key.len() < MIN_DPOP_NONCE_KEY_LEN {
            return Err(DpopNonceError::ShortKey);
        }
        if slot < Duration::from_secs(1) {
            return Err(DpopNonceError::ShortSlot);
        }
        self.nonce = Some(NonceKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            slot,
        });
        Ok(self)
    }

    /// Whether proofs must carry a server nonce.
    pub fn requires_nonce(&self) -> bool {
        self.nonce.is_some()
    }

    /// The algorithms accepted.
    pub fn signing_algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// How far in the future a proof's `iat` may be (the leeway of
    /// [`proof_window`](Self::proof_window)).
    pub fn future_leeway(&self) -> Duration {
        self.leeway
    }

    /// The profile's defaults (FAPI 2.0 §5.3.2.1 item 13, §5.4.1), applied
    /// by the builder to what the host left at the defaults: a proof up to
    /// 10 seconds in the future is accepted, and only PS256, ES256 and
    /// EdDSA proofs.
    pub(crate) fn apply_fapi2_defaults(&mut self) {
        self.leeway = self.leeway.max(Duration::from_secs(10));
        if self.algorithms == DEFAULT_DPOP_ALGORITHMS {
            self.algorithms = crate::jose::FAPI2_ALGORITHMS.to_vec();
        }
    }

    /// The current nonce, if nonces are required: what a host sends in
    /// `DPoP-Nonce` ahead of a request (RFC 9449 §8.2).
    pub fn current_nonce(&self, now: SystemTime) -> Option<String> {
        let nonce = self.nonce.as_ref()?;
        Some(nonce.make(nonce.slot_of(now)))
    }

    /// Deletes expired single uses from the replay cache.
    pub(crate) async fn purge(&self, now: SystemTime) -> Result<u64, StoreError> {
        self.replay.purge_expired_replays(now).await
    }

    /// Checks the request's `DPoP` header, if it has one, for a request
    /// with `method` to `uri` — as the server publishes it, never from the
    /// `Host` header — presenting `access_token` (at a resource) or none
    /// (at the token endpoint): the proof (RFC 9449 §4.3), then its nonce,
    /// then the single use of its `jti`. `Ok(None)` without a header.
    pub async fn check(
        &self,
        headers: &HeaderMap,
        method: &Method,
        uri: &Url,
        access_token: Option<&str>,
        now: SystemTime,
    ) -> Result<Option<ProvenKey>, DpopRefusal> {
        let Some(proof) = dpop_header(headers).map_err(DpopRefusal::Invalid)? else {
            return Ok(None);
        };
        self.check_proof(proof, method, uri, access_token, now)
            .await
            .map(Some)
    }

    /// [`check`](Self::check) on a proof already taken from its header.
    pub async fn check_proof(
        &self,
        proof: &str,
        method: &Method,
        uri: &Url,
        access_token: Option<&str>,
        now: SystemTime,
    ) -> Result<ProvenKey, DpopRefusal> {
        let check = ProofCheck {
            method,
            uri,
            now,
            algorithms: &self.algorithms,
            max_age: self.max_age,
            leeway: self.leeway,
            access_token,
        };
        let verified = verify_proof(proof, &check).map_err(DpopRefusal::Invalid)?;
        let mut fresh_nonce = None;
        if let Some(nonce) = &self.nonce {
            let current = nonce.slot_of(now);
            match verified.nonce.as_deref().and_then(|n| nonce.slot_in(n)) {
                Some(slot) if slot == current => {}
                Some(slot) if slot.checked_add(1) == Some(current) => {
                    fresh_nonce = Some(nonce.make(current));
                }
                _ => return Err(DpopRefusal::UseNonce(nonce.make(current))),
            }
        }
        // §11.1: a proof is used once, for as long as its `iat` is in the
        // window; its key is part of the key, so one client cannot spend
        // another's `jti`.
        let key = ReplayKey::new(ReplayKey::DPOP_PROOF, &[&verified.jkt, &verified.jti]);
        let until = verified.issued_at + self.max_age + self.leeway + self.leeway;
        if !self
            .replay
            .first_use(&key, until, now)
            .await
            .map_err(DpopRefusal::Storage)?
        {
            tracing::warn!(target: "portcullis::security", event = "dpop_proof_replay");
            return Err(DpopRefusal::Invalid(DpopError::Replayed));
        }
        Ok(ProvenKey {
            confirmation: Confirmation::jkt(verified.jkt),
            fresh_nonce,
        })
    }
}

impl NonceKey {
    fn slot_of(&self, now: SystemTime) -> u64 {
        let secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        secs / self.slot.as_secs().max(1)
    }

    fn tag(&self, slot: u64) -> hmac::Tag {
        let mut message = b"portcullis dpop nonce v1\0".to_vec();
        message.extend_from_slice(&slot.to_be_bytes());
        hmac::sign(&self.key, &message)
    }

    /// The nonce of `slot`: the slot and 128 bits of its HMAC, base64url.
    fn make(&self, slot: u64) -> String {
        let mut bytes = slot.to_be_bytes().to_vec();
        bytes.extend_from_slice(self.tag(slot).as_ref().get(..16).unwrap_or_default());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The slot of `nonce`, if this key made it.
    fn slot_in(&self, nonce: &str) -> Option<u64> {
        let bytes = URL_SAFE_NO_PAD.decode(nonce).ok()?;
        let (slot, mac) = bytes.split_at_checked(8)?;
        let slot = u64::from_be_bytes(slot.try_into().ok()?);
        let expected = self.tag(slot);
        let expected = expected.as_ref().get(..16)?;
        (mac.len() == 16 && bool::from(mac.ct_eq(expected))).then_some(slot)
    }
}

/// A request's proven DPoP key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProvenKey {
    /// The key as a token binding: its `jkt` (RFC 9449 §6.1).
    pub confirmation: Confirmation,
    /// A fresh nonce to send in `DPoP-Nonce`, when the proof's was the
    /// previous slot's (RFC 9449 §8.2).
    pub fresh_nonce: Option<String>,
}

/// Why a DPoP proof was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DpopRefusal {
    /// The proof is invalid: `invalid_dpop_proof` (RFC 9449 §5, §7.1).
    #[error(transparent)]
    Invalid(DpopError),
    /// The proof lacks the server's nonce, or carries an old one:
    /// `use_dpop_nonce`, with this nonce in `DPoP-Nonce` (RFC 9449 §8).
    #[error("a DPoP nonce is required")]
    UseNonce(String),
    /// The replay cache failed.
    #[error("the replay cache failed")]
    Storage(#[source] StoreError),
}

impl DpopRefusal {
    /// The token endpoint's answer: `400` `invalid_dpop_proof`, or `400`
    /// `use_dpop_nonce` with `DPoP-Nonce` (RFC 9449 §5, §8); `server_error`
    /// when storage failed.
    pub fn to_error_response(&self) -> ErrorResponse {
        match self {
            DpopRefusal::Invalid(e) => e.to_error_response(),
            DpopRefusal::UseNonce(nonce) => use_dpop_nonce(nonce),
            DpopRefusal::Storage(_) => ErrorResponse::server_error(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_rotate_and_are_accepted_for_one_slot_more() {
        let key = NonceKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, &[7u8; 32]),
            slot: Duration::from_secs(60),
        };
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(6_000_000);
        let slot = key.slot_of(now);
        let nonce = key.make(slot);
        assert_eq!(key.slot_in(&nonce), Some(slot));
        let other = NonceKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, &[8u8; 32]),
            slot: Duration::from_secs(60),
        };
        assert_eq!(other.slot_in(&nonce), None);
        assert_eq!(key.slot_in("not-a-nonce"), None);
        assert_eq!(key.slot_in(""), None);
    }
}
