//! Verifying keys: a JWK checked to be a usable public key, and signature
//! verification through aws-lc-rs (RFC 7518 §3).

use std::fmt;

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};

use super::algorithm::Algorithm;
use super::jwk::{Jwk, JwkError, decode_member};

/// The smallest RSA modulus accepted, in bytes: 2048 bits (RFC 7518 §3.3).
const MIN_RSA_MODULUS_BYTES: usize = 256;
/// The largest: 8192 bits, as aws-lc-rs verifies at most.
const MAX_RSA_MODULUS_BYTES: usize = 1024;

/// A public key that verifies JWS signatures: the JWK it came from, checked
/// for type, curve, sizes and encodings.
#[derive(Clone)]
pub struct PublicKey {
    jwk: Jwk,
    material: Material,
    /// The algorithms this key verifies: one (EC, OKP, or a key whose JWK
    /// names its `alg`), or RS256 and PS256 for an RSA key without `alg`.
    algorithms: &'static [Algorithm],
}

#[derive(Clone)]
enum Material {
    /// The uncompressed point, `0x04 || x || y`.
    P256(Vec<u8>),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Ed25519(Vec<u8>),
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kid", &self.jwk.kid)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

/// A signature that does not verify, or a key that cannot verify it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The key is not of the algorithm's kind (an RSA key for ES256, say),
    /// or its JWK names another algorithm (RFC 8725 §3.1).
    #[error("the key is not for this algorithm")]
    WrongKeyForAlgorithm,
    /// The signature does not verify.
    #[error("the signature does not verify")]
    BadSignature,
}

impl PublicKey {
    /// Checks a JWK: an `EC` key on `P-256`, an `RSA` key of 2048 to 8192
    /// bits, or an `OKP` key on `Ed25519`; its members base64url; its
    /// `use`, if given, `sig`; its `alg`, if given, one for its type.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, JwkError> {
        if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(JwkError::Unsupported("a key whose use is not sig"));
        }
        let declared: Option<Algorithm> = match jwk.alg.as_deref() {
            Some(alg) => Some(
                alg.parse()
                    .map_err(|_| JwkError::Unsupported("the key's alg"))?,
            ),
            None => None,
        };
        let (material, algorithms): (Material, &'static [Algorithm]) =
            match (jwk.kty.as_str(), jwk.crv.as_deref()) {
                ("EC", Some("P-256")) => {
                    let x = decode_member(jwk.x.as_deref())?;
                    let y = decode_member(jwk.y.as_deref())?;
                    if x.len() != 32 || y.len() != 32 {
                        return Err(JwkError::Malformed("a P-256 coordinate is 32 bytes"));
                    }
                    let mut point = Vec::with_capacity(65);
                    point.push(0x04);
                    point.extend_from_slice(&x);
                    point.extend_from_slice(&y);
                    (Material::P256(point), &[Algorithm::Es256])
                }
                ("EC", _) => return Err(JwkError::Unsupported("an EC curve other than P-256")),
                ("RSA", _) => {
                    let n = decode_member(jwk.n.as_deref())?;
                    let e = decode_member(jwk.e.as_deref())?;
                    let significant = n.iter().skip_while(|b| **b == 0).count();
                    if significant < MIN_RSA_MODULUS_BYTES {
                        return Err(JwkError::Unsupported("an RSA key under 2048 bits"));
                    }
                    if significant > MAX_RSA_MODULUS_BYTES || e.is_empty() || e.len() > 8 {
                        return Err(JwkError::Unsupported("an RSA key of this size"));
                    }
                    (
                        Material::Rsa { n, e },
                        &[Algorithm::Rs256, Algorithm::Ps256],
                    )
                }
                ("OKP", Some("Ed25519")) => {
                    let x = decode_member(jwk.x.as_deref())?;
                    if x.len() != 32 {
                        return Err(JwkError::Malformed("an Ed25519 key is 32 bytes"));
                    }
                    (Material::Ed25519(x), &[Algorithm::EdDsa])
                }
                ("OKP", _) => return Err(JwkError::Unsupported("an OKP curve other than Ed25519")),
                _ => return Err(JwkError::Unsupported("key type")),
            };
        let algorithms = match declared {
            None => algorithms,
            Some(alg) => match algorithms.iter().position(|a| *a == alg) {
                Some(i) => algorithms.get(i..=i).unwrap_or_default(),
                None => return Err(JwkError::Unsupported("an alg that does not fit the key")),
            },
        };
        Ok(Self {
            jwk: jwk.clone(),
            material,
            algorithms,
        })
    }

    /// The JWK the key came from.
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// The key's `kid`, if it has one.
    pub fn kid(&self) -> Option<&str> {
        self.jwk.kid.as_deref()
    }

    /// The algorithms the key verifies.
    pub fn algorithms(&self) -> &'static [Algorithm] {
        self.algorithms
    }

    /// Verifies `signature` over `message` with `alg`: the key must be for
    /// that algorithm. ECDSA signatures are the JWS form, `r || s`
    /// (RFC 7518 §3.4).
    pub fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyError> {
        if !self.algorithms.contains(&alg) {
            return Err(VerifyError::WrongKeyForAlgorithm);
        }
        let verified =
            match (&self.material, alg) {
                (Material::P256(point), Algorithm::Es256) => {
                    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                        .verify(message, signature)
                }
                (Material::Rsa { n, e }, Algorithm::Rs256) => RsaPublicKeyComponents { n, e }
                    .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, signature),
                (Material::Rsa { n, e }, Algorithm::Ps256) => RsaPublicKeyComponents { n, e }
                    .verify(&signature::RSA_PSS_2048_8192_SHA256, message, signature),
                (Material::Ed25519(x), Algorithm::EdDsa) => {
                    UnparsedPublicKey::new(&signature::ED25519, x).verify(message, signature)
                }
                _ => return Err(VerifyError::WrongKeyForAlgorithm),
            };
        verified.map_err(|_| VerifyError::BadSignature)
    }
}
