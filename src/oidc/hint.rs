//! Verifying an ID token the provider issued, presented back to it: the
//! authorization request's `id_token_hint` (OpenID Connect Core 1.0
//! §3.1.2.1) and the logout request's (RP-Initiated Logout 1.0 §2).

use std::time::SystemTime;

use serde::Deserialize;

use crate::jose::{Algorithm, KeySet, UnverifiedJws};
use crate::store::IdTokenHint;

/// Why an `id_token_hint` was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidHint {
    /// Not a JWS signed by one of the provider's keys.
    #[error("id_token_hint is not an ID token signed by this provider")]
    Signature,
    /// Issued by another provider, or to another client than the one
    /// asking.
    #[error("id_token_hint was not issued by this provider to this client")]
    Audience,
}

#[derive(Deserialize)]
struct HintClaims {
    iss: String,
    sub: String,
    aud: Aud,
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    grant_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Aud {
    One(String),
    Many(Vec<String>),
}

/// The subject and session an ID token of this provider names, and the
/// client it was issued to (its only `aud`).
pub(crate) struct VerifiedHint {
    pub(crate) hint: IdTokenHint,
    pub(crate) audience: Vec<String>,
    /// `exp`, in seconds since the epoch; `None` if absent.
    pub(crate) expires_at: Option<i64>,
    /// The grant the ID token was issued under (its `grant_id` claim), as
    /// [`GrantId`](crate::store::GrantId) displays it.
    pub(crate) grant_id: Option<String>,
    /// Whether the JWS header names a `typ`: an ID token of this provider
    /// has none (see [`id_token::sign`](super::id_token::sign)), so a typed
    /// JWS — an RFC 9068 access token, a logout token — is something else.
    pub(crate) typed: bool,
}

/// Verifies `raw` as an ID token `issuer` signed with a key of `keys`
/// (published now, so a key retired since still verifies). Expiry is not
/// checked: Core §3.1.2.1 allows an expired ID token as a hint.
pub(crate) fn verify(
    raw: &str,
    issuer: &str,
    keys: &KeySet,
    now: SystemTime,
) -> Result<VerifiedHint, InvalidHint> {
    let jws = UnverifiedJws::parse(raw).map_err(|_| InvalidHint::Signature)?;
    let typed = jws.header().typ().is_some();
    let public = keys.jwks(now).public_keys();
    let allowed: Vec<Algorithm> = Algorithm::ALL
        .into_iter()
        .filter(|a| a.is_asymmetric())
        .collect();
    let (payload, _) = jws
        .verify_with_any(&public, &allowed)
        .map_err(|_| InvalidHint::Signature)?;
    let claims: HintClaims =
        serde_json::from_slice(&payload).map_err(|_| InvalidHint::Signature)?;
    if claims.iss != issuer {
        return Err(InvalidHint::Audience);
    }
    let audience = match claims.aud {
        Aud::One(one) => vec![one],
        Aud::Many(many) => many,
    };
    Ok(VerifiedHint {
        hint: IdTokenHint::new(claims.sub, claims.sid),
        audience,
        expires_at: claims.exp,
        grant_id: claims.grant_id,
        typed,
    })
}
