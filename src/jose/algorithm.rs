//! JWS algorithms (RFC 7518 §3, RFC 8037 §3.1): the ones portcullis signs
//! and verifies with, and nothing else.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A JWS `alg` (RFC 7515 §4.1.1) portcullis signs or verifies with.
///
/// `none` is not one: an unsecured JWS is never accepted (RFC 8725 §3.1),
/// and neither is any algorithm not listed here. Every verification also
/// takes an allow-list, and checks that the key is of the algorithm's kind,
/// so a public key is never used as an HMAC secret (RFC 8725 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA with P-256 and SHA-256 (RFC 7518 §3.4).
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3); OpenID Connect's
    /// default for ID tokens.
    Rs256,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256 (RFC 7518 §3.5).
    Ps256,
    /// EdDSA with Ed25519 (RFC 8037 §3.1).
    EdDsa,
    /// HMAC with SHA-256 (RFC 7518 §3.2): only for verifying what a client
    /// signed with its own secret (`client_secret_jwt`, RFC 7523); the
    /// server never signs with it.
    Hs256,
}

/// The algorithms the FAPI 2.0 Security Profile allows for every JWT a
/// server creates or processes (FAPI 2.0 §5.4.1 item 1.2): PS256, ES256 and
/// EdDSA with Ed25519 — never `none`, RS256 or HS256.
pub const FAPI2_ALGORITHMS: [Algorithm; 3] = [Algorithm::Ps256, Algorithm::Es256, Algorithm::EdDsa];

impl Algorithm {
    /// Every algorithm, in the order metadata lists them.
    pub const ALL: [Algorithm; 5] = [
        Algorithm::Es256,
        Algorithm::Rs256,
        Algorithm::Ps256,
        Algorithm::EdDsa,
        Algorithm::Hs256,
    ];

    /// The registered name (RFC 7518 §7.1.2), e.g. `ES256`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::Rs256 => "RS256",
            Algorithm::Ps256 => "PS256",
            Algorithm::EdDsa => "EdDSA",
            Algorithm::Hs256 => "HS256",
        }
    }

    /// Whether the algorithm uses a key pair (everything but HMAC).
    pub const fn is_asymmetric(self) -> bool {
        !matches!(self, Algorithm::Hs256)
    }
}

/// An `alg` portcullis does not support (or `none`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported JWS algorithm")]
pub struct UnsupportedAlgorithm;

impl FromStr for Algorithm {
    type Err = UnsupportedAlgorithm;

    /// The algorithm of a registered name; names are case-sensitive
    /// (RFC 7515 §4.1.1).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|alg| alg.as_str() == name)
            .ok_or(UnsupportedAlgorithm)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Algorithm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Algorithm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(deserializer)?;
        name.parse()
            .map_err(|_| serde::de::Error::custom("unsupported JWS algorithm"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_none_is_refused() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.as_str().parse::<Algorithm>(), Ok(alg));
            assert_eq!(alg.to_string(), alg.as_str());
        }
        for bad in ["none", "None", "es256", "HS512", "", "RS256 "] {
            assert_eq!(bad.parse::<Algorithm>(), Err(UnsupportedAlgorithm), "{bad}");
        }
        assert!(!Algorithm::Hs256.is_asymmetric());
        assert!(Algorithm::Es256.is_asymmetric());
    }
}
