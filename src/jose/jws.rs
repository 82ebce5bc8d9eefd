//! JWS Compact Serialization (RFC 7515 §7.1): signing through a
//! [`JwsSigner`], and parsing and verifying, strictly (RFC 8725).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::algorithm::Algorithm;
use super::jwk::{Jwk, JwkError};
use super::public_key::{PublicKey, VerifyError};
use super::signer::{JwsSigner, SigningError};

/// The longest compact JWS [`UnverifiedJws::parse`] reads: 16 KiB, far more
/// than any token, assertion or proof portcullis handles.
pub const MAX_JWS_LEN: usize = 16 * 1024;

/// The shortest HMAC key accepted for HS256: 32 bytes, the hash's size
/// (RFC 7518 §3.2).
pub const MIN_HMAC_KEY_LEN: usize = 32;

/// Why a JWS was refused. None of the variants echo the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwsError {
    /// Longer than [`MAX_JWS_LEN`] (or the caller's limit).
    #[error("the JWS is too long")]
    TooLong,
    /// Not three base64url parts with a JSON object header, or a header
    /// member of the wrong type.
    #[error("malformed JWS: {0}")]
    Malformed(&'static str),
    /// `alg` is `none` or not one portcullis supports.
    #[error("unsupported JWS algorithm")]
    UnsupportedAlgorithm,
    /// `alg` is supported but not allowed here.
    #[error("the JWS algorithm is not allowed here")]
    AlgorithmNotAllowed,
    /// The header has `crit`: portcullis understands no extension, so it
    /// must refuse (RFC 7515 §4.1.11).
    #[error("the JWS has critical header parameters")]
    Critical,
    /// The header's `jwk` is not a usable public key.
    #[error("the header's jwk is not a usable public key: {0}")]
    HeaderKey(JwkError),
    /// No key of the verifier's fits the header's `kid` and `alg`.
    #[error("no key matches the JWS")]
    NoMatchingKey,
    /// The key is not for `alg`.
    #[error("the key is not for the JWS algorithm")]
    WrongKeyForAlgorithm,
    /// The signature does not verify.
    #[error("the JWS signature does not verify")]
    BadSignature,
    /// An HS256 key (a client secret) shorter than [`MIN_HMAC_KEY_LEN`].
    #[error("the HMAC key is too short")]
    WeakHmacKey,
}

impl From<VerifyError> for JwsError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::WrongKeyForAlgorithm => JwsError::WrongKeyForAlgorithm,
            VerifyError::BadSignature => JwsError::BadSignature,
        }
    }
}

/// The protected header of a JWS (RFC 7515 §4.1), as far as portcullis
/// reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwsHeader {
    alg: Algorithm,
    kid: Option<String>,
    typ: Option<String>,
    jwk: Option<Jwk>,
}

impl JwsHeader {
    /// `alg`.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// `kid`, if present.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// `typ`, if present (RFC 7515 §4.1.9).
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// Whether `typ` is `expected`, compared as media types: ignoring ASCII
    /// case, and with or without the `application/` prefix (RFC 7515
    /// §4.1.9, RFC 8725 §3.11).
    pub fn typ_is(&self, expected: &str) -> bool {
        fn bare(media_type: &str) -> &str {
            match media_type.get(..12) {
                Some(prefix) if prefix.eq_ignore_ascii_case("application/") => {
                    media_type.get(12..).unwrap_or_default()
                }
                _ => media_type,
            }
        }
        self.typ
            .as_deref()
            .is_some_and(|typ| bare(typ).eq_ignore_ascii_case(bare(expected)))
    }

    /// The public key in the header (`jwk`, RFC 7515 §4.1.3), already
    /// checked to be a public key. Only DPoP proofs use it (RFC 9449 §4.2);
    /// elsewhere the verifier's own keys are used and it is ignored, as are
    /// `jku` and `x5u`, which portcullis never fetches.
    pub fn jwk(&self) -> Option<&Jwk> {
        self.jwk.as_ref()
    }

    fn parse(json: &[u8]) -> Result<Self, JwsError> {
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|_| JwsError::Malformed("header is not JSON"))?;
        let header = value
            .as_object()
            .ok_or(JwsError::Malformed("header is not a JSON object"))?;
        if header.contains_key("crit") {
            return Err(JwsError::Critical);
        }
        let string = |name: &str| match header.get(name) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(JwsError::Malformed("a header member is not a string")),
        };
        let alg = string("alg")?
            .ok_or(JwsError::Malformed("header has no alg"))?
            .parse()
            .map_err(|_| JwsError::UnsupportedAlgorithm)?;
        let jwk = match header.get("jwk") {
            None => None,
            Some(jwk) => Some(Jwk::from_value(jwk).map_err(JwsError::HeaderKey)?),
        };
        Ok(Self {
            alg,
            kid: string("kid")?,
            typ: string("typ")?,
            jwk,
        })
    }
}

/// A compact JWS that has been parsed but not verified: its header, and
/// its payload only through [`verify`](Self::verify) (or, to find the key,
/// [`unverified_payload`](Self::unverified_payload)).
pub struct UnverifiedJws<'a> {
    header: JwsHeader,
    signing_input: &'a [u8],
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl fmt::Debug for UnverifiedJws<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnverifiedJws")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl<'a> UnverifiedJws<'a> {
    /// Parses a compact JWS of at most [`MAX_JWS_LEN`] bytes.
    pub fn parse(compact: &'a str) -> Result<Self, JwsError> {
        Self::parse_with_limit(compact, MAX_JWS_LEN)
    }

    /// Parses a compact JWS of at most `limit` bytes: three parts, each
    /// canonical base64url without padding (RFC 7515 §2, §7.1), the header a
    /// JSON object with a supported `alg` and no `crit`.
    pub fn parse_with_limit(compact: &'a str, limit: usize) -> Result<Self, JwsError> {
        if compact.len() > limit {
            return Err(JwsError::TooLong);
        }
        let mut parts = compact.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Malformed("a compact JWS has three parts"));
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| JwsError::Malformed("a part is not base64url"))
        };
        let header = JwsHeader::parse(&decode(header)?)?;
        let payload_bytes = decode(payload)?;
        let signature = decode(signature)?;
        let signing_input_len = compact.len() - signature_len(compact);
        let signing_input = compact
            .as_bytes()
            .get(..signing_input_len)
            .ok_or(JwsError::Malformed("a compact JWS has three parts"))?;
        Ok(Self {
            header,
            signing_input,
            payload: payload_bytes,
            signature,
        })
    }

    /// The header.
    pub fn header(&self) -> &JwsHeader {
        &self.header
    }

    /// The payload before verification: only to find the key that verifies
    /// it (a client assertion's `iss`, say). Nothing in it may be trusted.
    pub fn unverified_payload(&self) -> &[u8] {
        &self.payload
    }

    fn allowed(&self, allowed: &[Algorithm]) -> Result<(), JwsError> {
        if allowed.contains(&self.header.alg) {
            Ok(())
        } else {
            Err(JwsError::AlgorithmNotAllowed)
        }
    }

    /// Verifies the signature with `key`, with `alg` one of `allowed`, and
    /// returns the payload.
    pub fn verify(self, key: &PublicKey, allowed: &[Algorithm]) -> Result<Vec<u8>, JwsError> {
        self.allowed(allowed)?;
        key.verify(self.header.alg, self.signing_input, &self.signature)?;
        Ok(self.payload)
    }

    /// Verifies the signature with the key of `keys` the header names by
    /// `kid` — or, without a `kid`, with each key for `alg` in turn — with
    /// `alg` one of `allowed`, and returns the payload and the key.
    pub fn verify_with_any<'k>(
        self,
        keys: &'k [PublicKey],
        allowed: &[Algorithm],
    ) -> Result<(Vec<u8>, &'k PublicKey), JwsError> {
        self.allowed(allowed)?;
        let alg = self.header.alg;
        let mut candidates = keys.iter().filter(|key| match self.header.kid() {
            Some(kid) => key.kid() == Some(kid),
            None => key.algorithms().contains(&alg),
        });
        let mut outcome = Err(JwsError::NoMatchingKey);
        for key in candidates.by_ref() {
            match key.verify(alg, self.signing_input, &self.signature) {
                Ok(()) => return Ok((self.payload, key)),
                Err(e) => outcome = Err(e.into()),
            }
        }
        outcome
    }

    /// Verifies an HS256 signature made with a shared secret (a client's
    /// `client_secret_jwt` assertion, RFC 7523 §2.2), in constant time, and
    /// returns the payload.
    pub fn verify_hmac(self, secret: &[u8], allowed: &[Algorithm]) -> Result<Vec<u8>, JwsError> {
        use aws_lc_rs::hmac;
        self.allowed(allowed)?;
        if self.header.alg != Algorithm::Hs256 {
            return Err(JwsError::WrongKeyForAlgorithm);
        }
        if secret.len() < MIN_HMAC_KEY_LEN {
            return Err(JwsError::WeakHmacKey);
        }
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        hmac::verify(&key, self.signing_input, &self.signature)
            .map_err(|_| JwsError::BadSignature)?;
        Ok(self.payload)
    }
}

/// The length of the last part (the signature) and its dot.
fn signature_len(compact: &str) -> usize {
    compact.rfind('.').map_or(0, |dot| compact.len() - dot)
}

/// Signs `payload` (serialized as JSON) with `signer`, with `typ` in the
/// header if given, and returns the compact JWS. The header names the
/// signer's `alg` and `kid` (RFC 7515 §4.1.1, §4.1.4).
pub async fn sign_json(
    signer: &dyn JwsSigner,
    typ: Option<&str>,
    payload: &impl Serialize,
) -> Result<String, SigningError> {
    #[derive(Serialize)]
    struct Header<'h> {
        alg: Algorithm,
        kid: &'h str,
        #[serde(skip_serializing_if = "Option::is_none")]
        typ: Option<&'h str>,
    }
    let header = Header {
        alg: signer.algorithm(),
        kid: signer.key_id(),
        typ,
    };
    let header = serde_json::to_vec(&header).map_err(SigningError::new)?;
    let payload = serde_json::to_vec(payload).map_err(SigningError::new)?;
    let mut compact = URL_SAFE_NO_PAD.encode(header);
    compact.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut compact);
    let signature = signer.sign(compact.as_bytes()).await?;
    compact.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut compact);
    Ok(compact)
}
