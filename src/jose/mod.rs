//! JOSE: the server's signing keys and their JWKS (RFC 7517), JWS signing
//! and verification (RFC 7515), and JWT claims (RFC 7519).
//!
//! One module owns every signature portcullis makes or checks. The
//! cryptography is aws-lc-rs's (docs/ARCHITECTURE.md says why); this module
//! adds only the JOSE framing — base64url, the header, the allow-lists —
//! and refuses what RFC 8725 says to refuse: `none`, algorithms not on the
//! caller's allow-list, a key used with an algorithm not its own, critical
//! headers, keys fetched from URLs a token names (`jku`, `x5u`).
//!
//! - [`JwsSigner`] is the signing seam: the built-in [`SigningKey`] (ES256,
//!   RS256, PS256, EdDSA), or a host's KMS or HSM.
//! - [`KeySet`] holds the server's keys through their rotation — staged,
//!   active, retired — and makes the JWKS.
//! - [`UnverifiedJws`] parses a compact JWS; its `verify` methods check the
//!   signature with a [`PublicKey`] from a [`JwkSet`], or with a shared
//!   secret for HS256.
//! - [`ClaimsValidation`] checks `iss`, `aud`, `exp`, `nbf`, `iat`.

mod algorithm;
mod jwk;
mod jws;
mod jwt;
mod key_set;
mod public_key;
mod signer;
mod signing_key;

pub use algorithm::{Algorithm, FAPI2_ALGORITHMS, UnsupportedAlgorithm};
pub use jwk::{Jwk, JwkError, JwkSet, MAX_KEYS};
pub use jws::{JwsError, JwsHeader, MAX_JWS_LEN, MIN_HMAC_KEY_LEN, UnverifiedJws, sign_json};
pub use jwt::{Audience, ClaimsError, ClaimsValidation, RegisteredClaims, seconds};
pub use key_set::{KeySet, KeySetError, KeyStatus};
pub use public_key::{PublicKey, VerifyError};
pub use signer::{JwsSigner, SigningError};
pub use signing_key::{KeyError, PrivateKeyDer, SigningKey};

#[cfg(test)]
mod tests;
