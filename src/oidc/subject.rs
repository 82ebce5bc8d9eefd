//! Subject identifiers (OpenID Connect Core 1.0 §8): public, or pairwise
//! per sector.

use std::fmt;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::client::{Client, SubjectType};

/// The shortest pairwise key accepted, in bytes.
pub const MIN_PAIRWISE_KEY_LEN: usize = 32;

/// The secret that derives pairwise subject identifiers (Core §8.1): the
/// same End-User gets one `sub` per sector, stable for as long as the key
/// is, and two sectors' identifiers cannot be linked without it.
///
/// Keep it as long-lived as the users: a new key gives every End-User new
/// pairwise identifiers, which relying parties see as new accounts.
#[derive(Clone)]
pub struct PairwiseKey(hmac::Key);

/// A pairwise key shorter than [`MIN_PAIRWISE_KEY_LEN`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a pairwise subject key must be at least 32 bytes")]
pub struct WeakPairwiseKey;

impl PairwiseKey {
    /// A key from `secret`, at least [`MIN_PAIRWISE_KEY_LEN`] random bytes.
    pub fn new(secret: &[u8]) -> Result<Self, WeakPairwiseKey> {
        if secret.len() < MIN_PAIRWISE_KEY_LEN {
            return Err(WeakPairwiseKey);
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, secret)))
    }

    /// The pairwise identifier of `subject` in `sector`: HMAC-SHA-256 over
    /// the sector, a zero byte and the local identifier, base64url (43
    /// characters). The zero byte keeps (`a.example`, `b`) and
    /// (`a.exampleb`, ``) apart; a host name has none.
    pub fn subject(&self, sector: &str, subject: &str) -> String {
        let mut context = hmac::Context::with_key(&self.0);
        context.update(sector.as_bytes());
        context.update(&[0]);
        context.update(subject.as_bytes());
        URL_SAFE_NO_PAD.encode(context.sign().as_ref())
    }
}

impl fmt::Debug for PairwiseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PairwiseKey(..)")
    }
}

/// The sector a client's pairwise identifiers are computed for, or `None`
/// for a client that gets public identifiers: the host of its
/// `sector_identifier_uri` or of its redirect URIs (Core §8.1). A pairwise
/// client without one — a native app on loopback redirects, whose host
/// every app shares — is a sector of its own, by its `client_id`: its
/// identifiers are still unlinkable to any other client's.
pub(crate) fn pairwise_sector(client: &Client) -> Option<&str> {
    (client.subject_type() == SubjectType::Pairwise)
        .then(|| client.sector_identifier().unwrap_or(client.id().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_identifiers_are_stable_per_sector_and_unlinkable_across() {
        let key = PairwiseKey::new(&[7; 32]).unwrap();
        let a = key.subject("rp-a.example", "alice");
        assert_eq!(a, key.subject("rp-a.example", "alice"));
        assert_eq!(a.len(), 43);
        assert_ne!(a, key.subject("rp-b.example", "alice"));
        assert_ne!(a, key.subject("rp-a.example", "bob"));
        assert_ne!(key.subject("a.example", "b"), key.subject("a.exampleb", ""));
        let other = PairwiseKey::new(&[8; 32]).unwrap();
        assert_ne!(a, other.subject("rp-a.example", "alice"));
        assert_eq!(PairwiseKey::new(&[0; 31]).unwrap_err(), WeakPairwiseKey);
        assert_eq!(format!("{key:?}"), "PairwiseKey(..)");
    }
}
