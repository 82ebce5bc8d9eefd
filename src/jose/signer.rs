//! The signing seam: what signs the server's JWTs, so that a host can keep
//! its keys in a KMS or HSM.

use std::fmt;
use std::sync::Arc;

use super::algorithm::Algorithm;
use super::jwk::Jwk;
use crate::erased::BoxFuture;

/// A signing key that never leaves whatever holds it: the built-in
/// [`SigningKey`](super::SigningKey), or a host's KMS or HSM client.
///
/// The server asks it for the JWS signature of a signing input (RFC 7515
/// §5.1: `BASE64URL(header) || '.' || BASE64URL(payload)`), already
/// carrying [`key_id`](Self::key_id) and [`algorithm`](Self::algorithm) in
/// its header, and publishes [`public_jwk`](Self::public_jwk) in its JWKS.
/// An ECDSA signature must be in the JWS form, `r || s` of 32 bytes each
/// (RFC 7518 §3.4) — not DER, which most KMS APIs return and a host's
/// implementation must convert.
///
/// ```
/// use portcullis::jose::{Algorithm, Jwk, JwsSigner, SigningError, SigningKey};
///
/// /// A host's signer: here it wraps a software key; a real one calls its KMS.
/// #[derive(Debug)]
/// struct Kms(SigningKey);
///
/// impl JwsSigner for Kms {
///     fn algorithm(&self) -> Algorithm { self.0.algorithm() }
///     fn key_id(&self) -> &str { self.0.key_id() }
///     fn public_jwk(&self) -> &Jwk { self.0.public_jwk() }
///     fn sign<'a>(
///         &'a self,
///         input: &'a [u8],
///     ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, SigningError>> + Send + 'a>> {
///         Box::pin(async move { self.0.sign_now(input) })
///     }
/// }
/// # let _ = Kms(SigningKey::generate(Algorithm::Es256).unwrap());
/// ```
pub trait JwsSigner: fmt::Debug + Send + Sync + 'static {
    /// The algorithm the key signs with; never [`Algorithm::Hs256`].
    fn algorithm(&self) -> Algorithm;

    /// The key's `kid`, unique among the server's keys (it names the key in
    /// every JWT the key signs, RFC 7515 §4.1.4).
    fn key_id(&self) -> &str;

    /// The public key, as published in the JWKS: with the same `kid`, `use`
    /// `sig` and the `alg`.
    fn public_jwk(&self) -> &Jwk;

    /// The signature of `signing_input`.
    fn sign<'a>(&'a self, signing_input: &'a [u8]) -> BoxFuture<'a, Result<Vec<u8>, SigningError>>;
}

impl<T: JwsSigner + ?Sized> JwsSigner for Arc<T> {
    fn algorithm(&self) -> Algorithm {
        (**self).algorithm()
    }
    fn key_id(&self) -> &str {
        (**self).key_id()
    }
    fn public_jwk(&self) -> &Jwk {
        (**self).public_jwk()
    }
    fn sign<'a>(&'a self, signing_input: &'a [u8]) -> BoxFuture<'a, Result<Vec<u8>, SigningError>> {
        (**self).sign(signing_input)
    }
}

/// A signature could not be made: the KMS is unreachable, say. The server
/// answers the request that needed it with `500 server_error` and logs the
/// cause.
#[derive(Debug, thiserror::Error)]
#[error("signing failed: {0}")]
pub struct SigningError(Box<dyn std::error::Error + Send + Sync>);

impl SigningError {
    /// A signing failure with its cause.
    pub fn new(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(cause.into())
    }
}
