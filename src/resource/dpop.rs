//! DPoP at a protected resource (RFC 9449 §7): `Authorization: DPoP` with
//! a proof of the key the token is bound to.

use std::fmt;
use std::sync::Arc;

use url::Url;

use super::{BearerErrorKind, BearerRequest};
use crate::endpoint::{Dpop, DpopRefusal};
use crate::jose::Algorithm;
use crate::protocol::DpopError;
use crate::token::{Clock, Confirmation, SystemClock};

/// How a [`BearerValidator`](super::BearerValidator) checks DPoP proofs
/// (RFC 9449 §7.1), given to it with
/// [`dpop`](super::BearerValidator::dpop): the proof settings — algorithms,
/// window, nonce, the replay cache replicas share — and the resource's
/// public origin.
///
/// A proof's `htu` is compared with the origin joined with the request's
/// path, never with the `Host` header, which the client controls.
#[derive(Clone)]
pub struct DpopResource {
    dpop: Dpop,
    origin: Url,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for DpopResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopResource")
            .field("dpop", &self.dpop)
            .field("origin", &self.origin.as_str())
            .finish_non_exhaustive()
    }
}

impl DpopResource {
    /// Proofs checked with `dpop`, for requests to `origin` (the resource's
    /// public scheme, host and port, such as `https://api.example`) on the
    /// system clock.
    pub fn new(dpop: Dpop, origin: Url) -> Self {
        Self {
            dpop,
            origin,
            clock: Arc::new(SystemClock),
        }
    }

    /// The clock proofs' `iat` and nonces are checked against.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The algorithms a proof may use, for the `DPoP` challenge's `algs`
    /// and the resource's metadata (`dpop_signing_alg_values_supported`,
    /// RFC 9728 §2).
    pub fn signing_algorithms(&self) -> &[Algorithm] {
        self.dpop.signing_algorithms()
    }

    /// The current nonce, when nonces are required (RFC 9449 §9).
    pub fn current_nonce(&self) -> Option<String> {
        self.dpop.current_nonce(self.clock.now())
    }

    /// The key the request's proof proves for `token` (RFC 9449 §7.1): a
    /// proof for the request's method and URL, with `ath` the token's hash.
    pub(crate) async fn prove(
        &self,
        request: &BearerRequest<'_>,
        token: &str,
    ) -> Result<Confirmation, BearerErrorKind> {
        let mut htu = self.origin.clone();
        htu.set_path(request.uri().path());
        htu.set_query(None);
        let checked = self
            .dpop
            .check(
                request.headers(),
                request.method(),
                &htu,
                Some(token),
                self.clock.now(),
            )
            .await;
        match checked {
            Ok(Some(proven)) => Ok(proven.confirmation),
            Ok(None) => Err(BearerErrorKind::InvalidDpopProof(DpopError::Missing)),
            Err(DpopRefusal::Invalid(e)) => Err(BearerErrorKind::InvalidDpopProof(e)),
            Err(DpopRefusal::UseNonce(nonce)) => Err(BearerErrorKind::UseDpopNonce(nonce)),
            Err(DpopRefusal::Storage(e)) => Err(BearerErrorKind::Unavailable(
                super::TokenSourceError::new(e),
            )),
        }
    }
}
