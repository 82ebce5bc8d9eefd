//! The demo's one user, with throttled password checks, and the key that
//! signs hidden form fields.
//!
//! A real host has its own accounts, sessions and CSRF protection; this is
//! the least that keeps the demo honest.

use std::time::{Duration, SystemTime};

use portcullis::client::{Admission, AuthLimiter, MemoryLimiter, ThrottlePolicy};
use portcullis::store::StoreError;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The longest user name looked at.
const MAX_NAME_LEN: usize = 64;

/// Why a login failed.
pub(super) enum LoginError {
    /// Unknown user or wrong password; which is not said.
    Wrong,
    /// Too many failures for this user name: try again later.
    Throttled(Duration),
    /// The limiter failed.
    Unavailable(StoreError),
}

/// The demo user and a limiter of failed logins per user name.
pub(super) struct Users {
    name: String,
    /// Only a hash, compared in constant time.
    password_hash: [u8; 32],
    limiter: MemoryLimiter,
}

impl Users {
    pub(super) fn new(name: &str, password: &str) -> Self {
        Self {
            name: name.to_owned(),
            password_hash: Sha256::digest(password).into(),
            limiter: MemoryLimiter::new(ThrottlePolicy::default()),
        }
    }

    /// Checks a user name and password; returns the user's id (the subject of
    /// what they approve).
    pub(super) async fn check(&self, name: &str, password: &str) -> Result<&str, LoginError> {
        // No user has a longer name; refusing it here keeps the limiter's
        // keys small.
        if name.len() > MAX_NAME_LEN {
            return Err(LoginError::Wrong);
        }
        let key = format!("login:{name}");
        let now = SystemTime::now();
        match self.limiter.check(&key, now).await {
            Ok(Admission::Refuse { retry_after }) => {
                return Err(LoginError::Throttled(retry_after));
            }
            Ok(_) => {}
            Err(e) => return Err(LoginError::Unavailable(e)),
        }
        let digest: [u8; 32] = Sha256::digest(password).into();
        let password_ok = bool::from(digest.ct_eq(&self.password_hash));
        if password_ok && name == self.name {
            return Ok(&self.name);
        }
        // Not the name: people type their password there by mistake.
        tracing::warn!(target: "portcullis::security", event = "login_failed");
        match self.limiter.record_failure(&key, now).await {
            Ok(()) => Err(LoginError::Wrong),
            Err(e) => Err(LoginError::Unavailable(e)),
        }
    }
}

/// Signs hidden form fields with HMAC-SHA-256 (RFC 2104) under a key drawn at
/// start, so a form can only decide what the server put in it.
pub(super) struct FormKey([u8; 32]);

impl FormKey {
    pub(super) fn random() -> Self {
        Self(rand::random())
    }

    /// The tag of `parts`, base64url. Each part is length-prefixed, so no two
    /// lists of parts sign the same bytes.
    pub(super) fn sign(&self, parts: &[&str]) -> String {
        let mut inner_pad = [0x36u8; 64];
        let mut outer_pad = [0x5cu8; 64];
        for ((i, o), k) in inner_pad.iter_mut().zip(&mut outer_pad).zip(&self.0) {
            *i ^= k;
            *o ^= k;
        }
        let mut inner = Sha256::new();
        inner.update(inner_pad);
        for part in parts {
            inner.update((part.len() as u64).to_be_bytes());
            inner.update(part);
        }
        let tag = Sha256::new()
            .chain_update(outer_pad)
            .chain_update(inner.finalize())
            .finalize();
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, tag)
    }

    /// Whether `tag` is the tag of `parts`, compared in constant time.
    pub(super) fn verify(&self, parts: &[&str], tag: &str) -> bool {
        let expected = self.sign(parts);
        expected.len() == tag.len() && bool::from(expected.as_bytes().ct_eq(tag.as_bytes()))
    }
}
