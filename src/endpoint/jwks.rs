//! The JWKS endpoint (RFC 7517 §5; RFC 8414 `jwks_uri`): the public keys
//! that verify every JWT the server signs, and key rotation.

use std::time::Duration;

use http::header::HeaderValue;
use http::{Request, Response};

use super::authorization_server::AuthorizationServer;
use crate::jose::{JwkSet, KeySet, KeySetError};
use crate::protocol::published_document;

/// How long verifiers may cache the JWKS: 5 minutes. A key is staged at
/// least this long before it signs ([`KeySet`]'s rotation procedure).
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(300);

/// Clock skew allowed for on top of a retired key's last token's lifetime.
const RETENTION_LEEWAY: Duration = Duration::from_secs(60);

impl AuthorizationServer {
    /// The JWKS now: the staged, active and still-needed retired keys of
    /// [`signing_keys`](Self::signing_keys).
    pub fn jwks(&self) -> JwkSet {
        self.inner.audiences.keys().jwks(self.inner.clock.now())
    }

    /// The server's signing keys, shared with the server: a key staged on
    /// them is published at once.
    pub fn signing_keys(&self) -> &KeySet {
        self.inner.audiences.keys()
    }

    /// Activates the staged key `kid` (step 3 of the rotation in
    /// [`KeySet`]'s documentation): it signs from now on, and the key of
    /// its algorithm it replaces stays published as long as a token it
    /// signed may live — the longest access-token lifetime of the server
    /// and its resources, plus a minute for clocks. Returns the retired
    /// key's `kid`.
    pub fn rotate_signing_key(&self, kid: &str) -> Result<Option<String>, KeySetError> {
        let inner = &*self.inner;
        let longest = inner
            .audiences
            .resources()
            .iter()
            .filter_map(|r| r.lifetime())
            .chain([inner.lifetimes.access_token])
            .max()
            .unwrap_or(inner.lifetimes.access_token);
        let until = inner.clock.now() + longest + RETENTION_LEEWAY;
        let retired = inner.audiences.keys().activate(kid, until)?;
        tracing::info!(
            target: "portcullis::security",
            event = "signing_key_rotated",
            kid,
            retired = retired.as_deref().unwrap_or(""),
        );
        Ok(retired)
    }

    /// The JWKS endpoint (RFC 7517 §5), at `jwks_uri`.
    ///
    /// `GET` (or `HEAD`) gets `200` with the key set as
    /// `application/jwk-set+json` and `Cache-Control: public, max-age=`
    /// [`JWKS_MAX_AGE`]; any other method gets `405` with `Allow: GET,
    /// HEAD`. Only public keys are ever in it.
    pub fn jwks_endpoint<B>(&self, request: Request<B>) -> Response<Vec<u8>> {
        published_document(
            request.method(),
            "the JWKS endpoint accepts only GET",
            || self.jwks().to_json().into_bytes(),
            "application/jwk-set+json",
            HeaderValue::from_str(&format!("public, max-age={}", JWKS_MAX_AGE.as_secs()))
                .unwrap_or(HeaderValue::from_static("no-cache")),
        )
    }
}
