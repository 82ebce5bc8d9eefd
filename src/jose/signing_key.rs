//! The built-in software signing key, through aws-lc-rs.

use std::fmt;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::algorithm::Algorithm;
use super::jwk::Jwk;
use super::signer::{JwsSigner, SigningError};
use crate::erased::BoxFuture;

/// A private key in PKCS#8 DER (RFC 5208), to store wherever the host keeps
/// secrets and load again with [`SigningKey::from_pkcs8`]. Redacted in
/// `Debug`.
pub struct PrivateKeyDer(Vec<u8>);

impl PrivateKeyDer {
    /// The DER bytes. Call it only to store the key.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for PrivateKeyDer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKeyDer([redacted])")
    }
}

/// Why a key could not be generated or loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// HS256 is for verifying clients' assertions, never for the server's
    /// own signatures.
    #[error("the server does not sign with {0}")]
    NotForSigning(Algorithm),
    /// The PKCS#8 document is not a key of the algorithm's kind (or not
    /// PKCS#8, or an RSA key under 2048 bits).
    #[error("the key is not a valid {0} private key")]
    Rejected(Algorithm),
    /// The key id is empty or not printable ASCII.
    #[error("a kid is 1 to 128 printable ASCII characters")]
    InvalidKeyId,
    /// The cryptographic library failed.
    #[error("key generation failed")]
    Generation,
}

enum Pair {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private signing key held in process: ES256 (P-256), RS256 or PS256
/// (RSA), or EdDSA (Ed25519).
///
/// Its `kid` is, unless set, the RFC 7638 thumbprint of its public key, so
/// two keys never share one. It signs synchronously
/// ([`sign_now`](Self::sign_now)) and as a [`JwsSigner`].
pub struct SigningKey {
    algorithm: Algorithm,
    kid: String,
    jwk: Jwk,
    pair: Pair,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random key for `algorithm`: P-256 for ES256, 2048-bit RSA for
    /// RS256 and PS256, Ed25519 for EdDSA.
    pub fn generate(algorithm: Algorithm) -> Result<Self, KeyError> {
        let pair = match algorithm {
            Algorithm::Es256 => Pair::Ec(
                EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| KeyError::Generation)?,
            ),
            Algorithm::Rs256 | Algorithm::Ps256 => {
                Pair::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generation)?)
            }
            Algorithm::EdDsa => {
                Pair::Ed(Ed25519KeyPair::generate().map_err(|_| KeyError::Generation)?)
            }
            Algorithm::Hs256 => return Err(KeyError::NotForSigning(algorithm)),
        };
        Self::from_pair(algorithm, pair)
    }

    /// A key from its PKCS#8 DER document (RFC 5208), as
    /// [`to_pkcs8`](Self::to_pkcs8) writes it or `openssl genpkey` makes it
    /// (PEM is the same DER in base64 between the `-----BEGIN PRIVATE
    /// KEY-----` lines).
    pub fn from_pkcs8(algorithm: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        let rejected = |_| KeyError::Rejected(algorithm);
        let pair = match algorithm {
            Algorithm::Es256 => Pair::Ec(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(rejected)?,
            ),
            Algorithm::Rs256 | Algorithm::Ps256 => {
                Pair::Rsa(RsaKeyPair::from_pkcs8(der).map_err(rejected)?)
            }
            Algorithm::EdDsa => Pair::Ed(Ed25519KeyPair::from_pkcs8(der).map_err(rejected)?),
            Algorithm::Hs256 => return Err(KeyError::NotForSigning(algorithm)),
        };
        Self::from_pair(algorithm, pair)
    }

    fn from_pair(algorithm: Algorithm, pair: Pair) -> Result<Self, KeyError> {
        let b64 = |bytes: &[u8]| Some(URL_SAFE_NO_PAD.encode(bytes));
        let mut jwk = Jwk {
            kty: String::new(),
            kid: None,
            use_: Some("sig".into()),
            alg: Some(algorithm.as_str().into()),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
        };
        match &pair {
            Pair::Ec(ec) => {
                // The uncompressed point: 0x04 || x || y.
                let point = ec.public_key().as_ref();
                let (x, y) = point
                    .get(1..33)
                    .zip(point.get(33..65))
                    .ok_or(KeyError::Rejected(algorithm))?;
                jwk.kty = "EC".into();
                jwk.crv = Some("P-256".into());
                jwk.x = b64(x);
                jwk.y = b64(y);
            }
            Pair::Rsa(rsa) => {
                let public = rsa.public_key();
                jwk.kty = "RSA".into();
                jwk.n = b64(public.modulus().big_endian_without_leading_zero());
                jwk.e = b64(public.exponent().big_endian_without_leading_zero());
            }
            Pair::Ed(ed) => {
                jwk.kty = "OKP".into();
                jwk.crv = Some("Ed25519".into());
                jwk.x = b64(ed.public_key().as_ref());
            }
        }
        let kid = jwk
            .thumbprint()
            .map_err(|_| KeyError::Rejected(algorithm))?;
        jwk.kid = Some(kid.clone());
        Ok(Self {
            algorithm,
            kid,
            jwk,
            pair,
        })
    }

    /// Names the key `kid` instead of its thumbprint: 1 to 128 printable
    /// ASCII characters.
    pub fn with_key_id(mut self, kid: &str) -> Result<Self, KeyError> {
        if kid.is_empty() || kid.len() > 128 || !kid.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(KeyError::InvalidKeyId);
        }
        kid.clone_into(&mut self.kid);
        self.jwk.kid = Some(kid.to_owned());
        Ok(self)
    }

    /// The algorithm the key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key's `kid`.
    pub fn key_id(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (`kid`, `use: sig`, `alg`).
    pub fn public_jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// The private key in PKCS#8 DER, to store and load again.
    pub fn to_pkcs8(&self) -> Result<PrivateKeyDer, KeyError> {
        let der = match &self.pair {
            Pair::Ec(ec) => ec.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
            Pair::Rsa(rsa) => rsa.as_der().map(|d| d.as_ref().to_vec()),
            Pair::Ed(ed) => ed.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
        }
        .map_err(|_| KeyError::Generation)?;
        Ok(PrivateKeyDer(der))
    }

    /// Signs `message` now, in the JWS form of the key's algorithm.
    pub fn sign_now(&self, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        let failed = |_| SigningError::new("the signing operation failed");
        match &self.pair {
            Pair::Ec(ec) => ec
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(failed),
            Pair::Rsa(rsa) => {
                let padding: &'static dyn signature::RsaEncoding = match self.algorithm {
                    Algorithm::Ps256 => &signature::RSA_PSS_SHA256,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut signature = vec![0; rsa.public_modulus_len()];
                rsa.sign(padding, &SystemRandom::new(), message, &mut signature)
                    .map_err(failed)?;
                Ok(signature)
            }
            Pair::Ed(ed) => Ok(ed.sign(message).as_ref().to_vec()),
        }
    }
}

impl JwsSigner for SigningKey {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn key_id(&self) -> &str {
        &self.kid
    }

    fn public_jwk(&self) -> &Jwk {
        &self.jwk
    }

    fn sign<'a>(&'a self, signing_input: &'a [u8]) -> BoxFuture<'a, Result<Vec<u8>, SigningError>> {
        let signature = self.sign_now(signing_input);
        Box::pin(std::future::ready(signature))
    }
}
