//! DPoP proofs (RFC 9449 §4): reading the `DPoP` header and checking a
//! proof JWT against the request it came with.
//!
//! This module is pure: it checks what the proof itself says (§4.3 items
//! 1–9, 11 and 12). Whether its `jti` was seen before (item 11's replay
//! half) and whether its `nonce` is one the server issued (item 10) need
//! state and a key, and are the caller's: the token endpoint and the
//! resource server do them after [`verify_proof`] succeeds.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Method};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use url::Url;

use super::error::{ErrorCode, ErrorResponse, OAuthError};
use crate::jose::{Algorithm, JwsError, PublicKey, UnverifiedJws};

/// The `DPoP` request header (RFC 9449 §4.1).
pub const DPOP_HEADER: &str = "dpop";

/// The `DPoP-Nonce` response header (RFC 9449 §8.1).
pub const DPOP_NONCE_HEADER: &str = "dpop-nonce";

/// The proof JWT's `typ` (RFC 9449 §4.2).
pub const DPOP_JWT_TYP: &str = "dpop+jwt";

/// The longest DPoP proof accepted: a proof carries one public key (an RSA
/// one is the largest) and a few short claims.
pub const MAX_PROOF_LEN: usize = 8 * 1024;

/// Why a DPoP proof was refused (RFC 9449 §4.3). Each is
/// `invalid_dpop_proof` on the wire; the description never echoes the
/// proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// More than one `DPoP` header (§4.3 item 1).
    #[error("more than one DPoP header")]
    MultipleHeaders,
    /// Not a well-formed JWT, or a claim of the wrong type (§4.3 item 2).
    #[error("the DPoP proof is malformed")]
    Malformed,
    /// `typ` is not `dpop+jwt` (§4.3 item 4).
    #[error("the DPoP proof's typ is not dpop+jwt")]
    WrongType,
    /// `alg` is `none`, symmetric, or not on the server's list (§4.3
    /// item 5).
    #[error("the DPoP proof's algorithm is not accepted")]
    Algorithm,
    /// The header has no `jwk`, or it is not a usable public key: a private
    /// key, an unsupported type, a key for another algorithm (§4.3 item 7).
    #[error("the DPoP proof's jwk is not an accepted public key")]
    Key,
    /// The signature does not verify with the header's `jwk` (§4.3 item 6).
    #[error("the DPoP proof's signature does not verify")]
    Signature,
    /// `jti`, `htm`, `htu` or `iat` is missing (§4.3 item 3).
    #[error("the DPoP proof lacks a required claim")]
    MissingClaim,
    /// `htm` is not the request's method (§4.3 item 8).
    #[error("the DPoP proof is for another method")]
    Method,
    /// `htu` is not the request's URI (§4.3 item 9).
    #[error("the DPoP proof is for another URI")]
    Uri,
    /// `iat` is too old, or in the future (§4.3 item 11, §11.1).
    #[error("the DPoP proof's iat is outside the accepted window")]
    Stale,
    /// `ath` is missing or is not the hash of the access token presented
    /// (§4.3 item 12).
    #[error("the DPoP proof's ath does not match the access token")]
    AccessTokenHash,
    /// The proof was used before (§11.1).
    #[error("the DPoP proof was already used")]
    Replayed,
    /// The proof's key is not the one the token is bound to (§4.3 item 13,
    /// §5).
    #[error("the DPoP proof's key is not the one the token is bound to")]
    WrongKey,
    /// A pushed authorization request's proof is of another key than the
    /// `dpop_jkt` it names (RFC 9449 §10.1).
    #[error("the DPoP proof's key is not the one dpop_jkt names")]
    JktMismatch,
    /// `Authorization: DPoP` without a `DPoP` proof header (§7.1).
    #[error("the request has no DPoP proof")]
    Missing,
}

impl DpopError {
    /// The answer at the token endpoint: `400` `invalid_dpop_proof` (RFC
    /// 9449 §5), described without echoing the proof.
    pub fn to_error_response(&self) -> ErrorResponse {
        ErrorResponse::new(
            OAuthError::new(ErrorCode::INVALID_DPOP_PROOF).with_description(self.to_string()),
        )
    }
}

/// `400` `use_dpop_nonce` with `nonce` in `DPoP-Nonce` (RFC 9449 §8): the
/// token endpoint's answer to a proof without the server's current nonce.
pub fn use_dpop_nonce(nonce: &str) -> ErrorResponse {
    let response = ErrorResponse::new(
        OAuthError::new(ErrorCode::USE_DPOP_NONCE)
            .with_description("the DPoP proof must carry the server's nonce"),
    );
    match http::HeaderValue::from_str(nonce) {
        Ok(value) => response.with_dpop_nonce(value),
        Err(_) => response,
    }
}

/// The `WWW-Authenticate: DPoP` challenge of a protected resource (RFC 9449
/// §7.1): the algorithms it accepts, and the error when there is one. The
/// error's description is one of portcullis's fixed strings, checked to
/// need no escaping; one that would is left out.
pub fn dpop_challenge(error: Option<&OAuthError>, algorithms: &[Algorithm]) -> http::HeaderValue {
    let mut challenge = String::from("DPoP");
    let mut params = Vec::new();
    if let Some(error) = error {
        params.push(format!("error=\"{}\"", error.code().as_str()));
        if let Some(description) = error.description().filter(|d| {
            d.bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        }) {
            params.push(format!("error_description=\"{description}\""));
        }
    }
    let algs: Vec<&str> = algorithms.iter().map(|a| a.as_str()).collect();
    if !algs.is_empty() {
        params.push(format!("algs=\"{}\"", algs.join(" ")));
    }
    if !params.is_empty() {
        challenge.push(' ');
        challenge.push_str(&params.join(", "));
    }
    // Visible ASCII only, as built.
    http::HeaderValue::from_str(&challenge).unwrap_or(http::HeaderValue::from_static("DPoP"))
}

/// The one `DPoP` header of a request, if any; two or more are refused
/// (RFC 9449 §4.3 item 1). A header that is not visible ASCII is
/// [`Malformed`](DpopError::Malformed).
pub fn dpop_header(headers: &HeaderMap) -> Result<Option<&str>, DpopError> {
    let mut values = headers.get_all(DPOP_HEADER).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(DpopError::MultipleHeaders);
    }
    first.to_str().map(Some).map_err(|_| DpopError::Malformed)
}

/// What a proof is checked against: the request and the server's policy.
#[derive(Debug, Clone, Copy)]
pub struct ProofCheck<'a> {
    /// The request's method.
    pub method: &'a Method,
    /// The request's URI, as the server publishes it (never from the `Host`
    /// header); its query and fragment are ignored.
    pub uri: &'a Url,
    /// The time of the request.
    pub now: SystemTime,
    /// The algorithms accepted, all asymmetric.
    pub algorithms: &'a [Algorithm],
    /// How old `iat` may be.
    pub max_age: Duration,
    /// How far `iat` may be in the future (clock skew).
    pub leeway: Duration,
    /// The access token the request presents with the proof, whose hash
    /// `ath` must be; `None` at the token endpoint.
    pub access_token: Option<&'a str>,
}

/// A proof that passed [`verify_proof`]: what the caller still needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedProof {
    /// The RFC 7638 thumbprint of the proof's key (RFC 9449 §6.1).
    pub jkt: String,
    /// The proof's `jti`, for the replay check.
    pub jti: String,
    /// The proof's `iat`.
    pub issued_at: SystemTime,
    /// The proof's `nonce`, if it has one.
    pub nonce: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<serde_json::Number>,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// Checks a DPoP proof JWT against `check` (RFC 9449 §4.3): one JWS with
/// `typ: dpop+jwt`, an allowed asymmetric `alg`, a public `jwk` that
/// verifies the signature; `jti`, `htm` (the method), `htu` (the URI,
/// normalised, without query and fragment) and `iat` (within the window);
/// `ath` when an access token is presented. The replay and nonce checks are
/// the caller's.
pub fn verify_proof(proof: &str, check: &ProofCheck<'_>) -> Result<VerifiedProof, DpopError> {
    let jws = UnverifiedJws::parse_with_limit(proof, MAX_PROOF_LEN).map_err(|e| match e {
        // `none` and algorithms portcullis does not know are refused when
        // the header is read.
        JwsError::UnsupportedAlgorithm => DpopError::Algorithm,
        JwsError::HeaderKey(_) => DpopError::Key,
        _ => DpopError::Malformed,
    })?;
    let header = jws.header();
    if !header.typ_is(DPOP_JWT_TYP) {
        return Err(DpopError::WrongType);
    }
    let alg = header.algorithm();
    if !alg.is_asymmetric() || !check.algorithms.contains(&alg) {
        return Err(DpopError::Algorithm);
    }
    let jwk = header.jwk().ok_or(DpopError::Key)?;
    let key = PublicKey::from_jwk(jwk).map_err(|_| DpopError::Key)?;
    let jkt = jwk.thumbprint().map_err(|_| DpopError::Key)?;
    let payload = jws.verify(&key, &[alg]).map_err(|e| match e {
        JwsError::WrongKeyForAlgorithm => DpopError::Key,
        _ => DpopError::Signature,
    })?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| DpopError::Malformed)?;
    let (Some(jti), Some(htm), Some(htu), Some(iat)) =
        (claims.jti, claims.htm, claims.htu, claims.iat)
    else {
        return Err(DpopError::MissingClaim);
    };
    if jti.is_empty() || jti.len() > 256 {
        return Err(DpopError::Malformed);
    }
    // RFC 9449 §4.3 item 8: the method, compared exactly (RFC 9110 §9.1:
    // methods are case-sensitive).
    if htm != check.method.as_str() {
        return Err(DpopError::Method);
    }
    if !same_uri(&htu, check.uri) {
        return Err(DpopError::Uri);
    }
    let issued_at = iat_time(&iat).ok_or(DpopError::Malformed)?;
    let too_old = check.now.checked_sub(check.max_age + check.leeway);
    if too_old.is_some_and(|limit| issued_at < limit) || issued_at > check.now + check.leeway {
        return Err(DpopError::Stale);
    }
    if let Some(token) = check.access_token {
        let expected = access_token_hash(token);
        match claims.ath {
            Some(ath) if subtle_eq(&ath, &expected) => {}
            _ => return Err(DpopError::AccessTokenHash),
        }
    }
    Ok(VerifiedProof {
        jkt,
        jti,
        issued_at,
        nonce: claims.nonce,
    })
}

/// `ath`: the base64url SHA-256 of the access token's ASCII (RFC 9449
/// §4.2).
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

fn subtle_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// `iat` as a time: a non-negative number of seconds (fractions allowed,
/// RFC 7519 §2 NumericDate).
fn iat_time(iat: &serde_json::Number) -> Option<SystemTime> {
    let seconds = iat.as_f64()?;
    if !(0.0..=1e11).contains(&seconds) {
        return None;
    }
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs_f64(seconds))
}

/// Whether `htu` names `uri`, both without query and fragment, after the
/// syntax- and scheme-based normalisation of RFC 3986 §6.2.2 and §6.2.3
/// that URL parsing does: scheme and host in lower case, the default port
/// dropped, dot segments removed, an empty path as `/` (RFC 9449 §4.3
/// item 9).
fn same_uri(htu: &str, uri: &Url) -> bool {
    let Ok(htu) = Url::parse(htu) else {
        return false;
    };
    htu.scheme() == uri.scheme()
        && htu.host_str() == uri.host_str()
        && htu.port_or_known_default() == uri.port_or_known_default()
        && htu.path() == uri.path()
        && htu.username().is_empty()
        && htu.password().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_compare_normalised_without_query_or_fragment() {
        let uri = Url::parse("https://server.example.com/token").unwrap();
        for same in [
            "https://server.example.com/token",
            "HTTPS://Server.Example.COM:443/token",
            "https://server.example.com/a/../token?x=1#frag",
        ] {
            assert!(same_uri(same, &uri), "{same}");
        }
        for other in [
            "http://server.example.com/token",
            "https://server.example.com:8443/token",
            "https://other.example.com/token",
            "https://server.example.com/token/",
            "https://user@server.example.com/token",
            "/token",
        ] {
            assert!(!same_uri(other, &uri), "{other}");
        }
    }

    #[test]
    fn two_headers_are_refused() {
        let mut headers = HeaderMap::new();
        assert_eq!(dpop_header(&headers), Ok(None));
        headers.append(DPOP_HEADER, http::HeaderValue::from_static("a.b.c"));
        assert_eq!(dpop_header(&headers), Ok(Some("a.b.c")));
        headers.append(DPOP_HEADER, http::HeaderValue::from_static("d.e.f"));
        assert_eq!(dpop_header(&headers), Err(DpopError::MultipleHeaders));
    }

    #[test]
    fn ath_is_the_rfc_example() {
        // RFC 9449 §7.1, the example access token and its `ath`.
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }
}
