//! Client secrets and how they are stored (RFC 6749 §2.3.1, RFC 6819 §5.1.4.1.3).
//!
//! A secret the server generates carries 256 bits of entropy, so a single
//! SHA-256 protects it at rest as well as any slow hash could, and verifying it
//! costs well under a microsecond. A secret chosen by a person (imported from
//! another system) has little entropy and is stored with Argon2id instead.

use std::fmt;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use sha2::{Digest as _, Sha256};

use crate::secret::secret_type;
use crate::token::{TokenKind, mint};

secret_type! {
    /// A client secret (RFC 6749 §2.3.1).
    ///
    /// A generated secret is returned once, at registration; the server keeps only
    /// its [`SecretHash`].
    ClientSecret
}

/// The shortest secret [`SecretHash::argon2id`] accepts.
pub const MIN_IMPORTED_SECRET_LEN: usize = 8;

/// Why a secret could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretHashError {
    /// The secret is shorter than [`MIN_IMPORTED_SECRET_LEN`].
    #[error("an imported client secret must be at least {MIN_IMPORTED_SECRET_LEN} characters")]
    TooShort,
    /// The stored form is neither `sha256:<hex>` nor an Argon2id PHC string.
    #[error("unrecognised stored secret hash")]
    Unrecognised,
    /// Argon2 failed.
    #[error("argon2 failed")]
    Argon2,
}

/// How a client secret is kept at rest.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretHash {
    /// SHA-256 of a server-generated, 256-bit secret.
    Sha256([u8; 32]),
    /// An Argon2id PHC string, for a secret chosen by a person.
    Argon2id(String),
}

impl SecretHash {
    /// The hash of a secret the server generated.
    pub fn sha256(secret: &ClientSecret) -> Self {
        Self::Sha256(Sha256::digest(secret.expose_secret().as_bytes()).into())
    }

    /// The Argon2id hash of a secret chosen by a person (OWASP-recommended
    /// parameters: 19 MiB, 2 passes, 1 lane).
    pub fn argon2id(secret: &ClientSecret) -> Result<Self, SecretHashError> {
        if secret.expose_secret().chars().count() < MIN_IMPORTED_SECRET_LEN {
            return Err(SecretHashError::TooShort);
        }
        let mut salt = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|_| SecretHashError::Argon2)?;
        let phc = Argon2::default()
            .hash_password(secret.expose_secret().as_bytes(), &salt)
            .map_err(|_| SecretHashError::Argon2)?;
        Ok(Self::Argon2id(phc.to_string()))
    }

    /// Whether `presented` is the secret. Constant-time in the secret's content.
    pub fn verify(&self, presented: &str) -> bool {
        match self {
            SecretHash::Sha256(stored) => {
                let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
                crate::secret::digests_equal(&digest, stored)
            }
            SecretHash::Argon2id(phc) => PasswordHash::new(phc).is_ok_and(|hash| {
                Argon2::default()
                    .verify_password(presented.as_bytes(), &hash)
                    .is_ok()
            }),
        }
    }

    /// The stored form: `sha256:<64 hex digits>` or an Argon2id PHC string.
    pub fn to_stored(&self) -> String {
        match self {
            SecretHash::Sha256(digest) => {
                let mut s = String::with_capacity(7 + 64);
                s.push_str("sha256:");
                for b in digest {
                    s.push_str(&format!("{b:02x}"));
                }
                s
            }
            SecretHash::Argon2id(phc) => phc.clone(),
        }
    }

    /// Parses the stored form written by [`SecretHash::to_stored`].
    pub fn from_stored(stored: &str) -> Result<Self, SecretHashError> {
        if let Some(hex) = stored.strip_prefix("sha256:") {
            let bytes = hex.as_bytes();
            if bytes.len() != 64 {
                return Err(SecretHashError::Unrecognised);
            }
            let mut digest = [0u8; 32];
            for (out, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
                let s = std::str::from_utf8(pair).map_err(|_| SecretHashError::Unrecognised)?;
                *out = u8::from_str_radix(s, 16).map_err(|_| SecretHashError::Unrecognised)?;
            }
            return Ok(Self::Sha256(digest));
        }
        match PasswordHash::new(stored) {
            Ok(hash) if hash.algorithm.as_str() == "argon2id" => {
                Ok(Self::Argon2id(stored.to_owned()))
            }
            _ => Err(SecretHashError::Unrecognised),
        }
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretHash::Sha256(_) => f.write_str("SecretHash::Sha256(..)"),
            SecretHash::Argon2id(_) => f.write_str("SecretHash::Argon2id(..)"),
        }
    }
}

/// Generates a 256-bit client secret and its SHA-256 hash.
pub(crate) fn generate() -> (ClientSecret, SecretHash) {
    let (secret, _) = mint(TokenKind::ClientSecret);
    let secret = ClientSecret::new(secret);
    let hash = SecretHash::sha256(&secret);
    (secret, hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secret_verifies() {
        let (secret, hash) = generate();
        assert!(hash.verify(secret.expose_secret()));
        assert!(!hash.verify("wrong"));
        assert!(TokenKind::ClientSecret.matches(secret.expose_secret()));
    }

    #[test]
    fn argon2id_secret_verifies_and_round_trips() {
        let secret = ClientSecret::new("correct horse battery staple");
        let hash = SecretHash::argon2id(&secret).unwrap();
        assert!(hash.verify("correct horse battery staple"));
        assert!(!hash.verify("correct horse battery stapl"));
        let restored = SecretHash::from_stored(&hash.to_stored()).unwrap();
        assert!(restored.verify("correct horse battery staple"));
    }

    #[test]
    fn short_imported_secret_is_refused() {
        assert_eq!(
            SecretHash::argon2id(&ClientSecret::new("short")),
            Err(SecretHashError::TooShort)
        );
        // The minimum itself is long enough.
        let eight = "a".repeat(MIN_IMPORTED_SECRET_LEN);
        let hash = SecretHash::argon2id(&ClientSecret::new(eight.as_str())).unwrap();
        assert!(hash.verify(&eight));
    }

    #[test]
    fn only_argon2id_phc_strings_are_read_back() {
        // Well-formed PHC strings, alike but for the algorithm.
        let params = "$v=19$m=16,t=2,p=1$c29tZXNhbHQ$QUFBQUFBQUFBQUFBQUFBQQ";
        assert!(SecretHash::from_stored(&format!("$argon2id{params}")).is_ok());
        for other in ["argon2i", "argon2d"] {
            assert_eq!(
                SecretHash::from_stored(&format!("${other}{params}")),
                Err(SecretHashError::Unrecognised),
                "{other}"
            );
        }
    }

    #[test]
    fn sha256_round_trips_and_bad_forms_are_refused() {
        let (secret, hash) = generate();
        let restored = SecretHash::from_stored(&hash.to_stored()).unwrap();
        assert!(restored.verify(secret.expose_secret()));
        for bad in [
            "sha256:zz",
            "sha256:",
            "md5:abc",
            "$argon2i$v=19$m=16,t=2,p=1$c29tZXNhbHQ$aGFzaA",
        ] {
            assert!(SecretHash::from_stored(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let (secret, hash) = generate();
        assert_eq!(format!("{secret:?}"), "ClientSecret([redacted])");
        assert_eq!(format!("{hash:?}"), "SecretHash::Sha256(..)");
    }
}
