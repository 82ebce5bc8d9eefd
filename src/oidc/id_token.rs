//! The ID token (OpenID Connect Core 1.0 §2, §3.1.3.6).

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::Digest as _;

use crate::jose::{Algorithm, JwsSigner, SigningError, seconds, sign_json};

/// The claims of an ID token, in the order Core §2 lists them.
#[derive(Serialize)]
pub(crate) struct IdTokenClaims<'a> {
    pub(crate) iss: &'a str,
    pub(crate) sub: &'a str,
    /// The client, alone: so `azp` is never needed (Core §2).
    pub(crate) aud: &'a str,
    pub(crate) exp: i64,
    pub(crate) iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) auth_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) nonce: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) acr: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub(crate) amr: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) at_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sid: Option<&'a str>,
    /// The grant it was issued under, as
    /// [`GrantId`](crate::store::GrantId) displays it: a private claim
    /// (RFC 7519 §4.3) that lets the provider find the grant when the ID
    /// token comes back as an RFC 8693 §3 `subject_token`. Not a secret
    /// (a grant identifier leads to none), and the same for every ID token
    /// of the grant, as `sid` is for the session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) grant_id: Option<&'a str>,
    /// Claims about the End-User the request asked for in the ID token.
    #[serde(flatten)]
    pub(crate) claims: Map<String, Value>,
}

impl IdTokenClaims<'_> {
    /// Times as Core §2 writes them: seconds since the epoch.
    pub(crate) fn times(issued_at: SystemTime, expires_at: SystemTime) -> (i64, i64) {
        (seconds(issued_at), seconds(expires_at))
    }
}

/// `at_hash` (Core §3.1.3.6): the left half of the hash of the access
/// token's ASCII, with the hash of the ID token's `alg` — SHA-256 for
/// ES256, RS256 and PS256; SHA-512 for EdDSA with Ed25519 — base64url.
pub(crate) fn access_token_hash(alg: Algorithm, access_token: &str) -> String {
    let digest: Vec<u8> = match alg {
        Algorithm::EdDsa => sha2::Sha512::digest(access_token.as_bytes()).to_vec(),
        _ => sha2::Sha256::digest(access_token.as_bytes()).to_vec(),
    };
    let half = digest.get(..digest.len() / 2).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(half)
}

/// Signs the ID token: a JWS with the signer's `alg` and `kid` and no
/// `typ` (Core §2 defines none; relying parties reject some values).
pub(crate) async fn sign(
    signer: &dyn JwsSigner,
    claims: &IdTokenClaims<'_>,
) -> Result<String, SigningError> {
    sign_json(signer, None, claims).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_the_digest() {
        // Core §A.3's example access token and at_hash (RS256).
        assert_eq!(
            access_token_hash(
                Algorithm::Rs256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(access_token_hash(Algorithm::EdDsa, "x").len(), 43);
    }
}
