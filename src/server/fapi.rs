//! The FAPI 2.0 Security Profile as one builder call: the profile's
//! defaults, and the check of the whole configuration against it at
//! [`build`](ServerBuilder::build). The rules checked on each request are
//! in `endpoint::fapi`; `docs/FAPI2.md` maps every clause to its rule.

use std::time::Duration;

use super::ServerBuilder;
use crate::endpoint::{BuildError, DEFAULT_REQUEST_OBJECT_ALGORITHMS, Fapi2Conflict};
use crate::grant::RefreshTokenRotation;
use crate::jose::{Algorithm, FAPI2_ALGORITHMS};
use crate::protocol::{GrantType, TokenFormat};

/// The longest an authorization code may live (FAPI 2.0 §5.3.2.1 item 11).
const MAX_CODE_LIFETIME: Duration = Duration::from_secs(60);

/// A pushed request must expire in less than this (FAPI 2.0 §5.3.2.2 item
/// 12).
const PUSHED_REQUEST_LIFETIME_LIMIT: Duration = Duration::from_secs(600);

/// How far in the future a JWT's `iat` or `nbf` must be accepted, and the
/// most it may be (FAPI 2.0 §5.3.2.1 item 13 and its Note 3).
const MIN_FUTURE_LEEWAY: Duration = Duration::from_secs(10);
const MAX_FUTURE_LEEWAY: Duration = Duration::from_secs(60);

/// The FAPI 2.0 Security Profile (FAPI 2.0 Security Profile, Final, §5).
impl ServerBuilder {
    /// Holds the server to the FAPI 2.0 Security Profile's requirements for
    /// authorization servers (§5.3.2, §5.4.1). The order of builder calls
    /// does not matter: [`build`](Self::build) applies the profile's
    /// defaults to every setting left at the library's default, then checks
    /// the whole configuration and fails with [`BuildError::Fapi2`] naming
    /// the clause a setting breaks.
    ///
    /// Defaults applied:
    ///
    /// - pushed authorization requests required (§5.3.2.2 item 3);
    /// - refresh tokens of confidential clients not rotated
    ///   ([`RefreshTokenRotation::PublicClientsOnly`], §5.3.2.1 item 9);
    /// - PS256, ES256 and EdDSA only (§5.4.1 item 1.2) for client
    ///   assertions, request objects and DPoP proofs, and for JWT access
    ///   tokens when no algorithm was chosen;
    /// - a DPoP proof, client assertion or request object up to 10 seconds
    ///   in the future accepted (§5.3.2.1 item 13): a leeway under 10
    ///   seconds is raised to 10;
    /// - authorization codes (60 s) and pushed requests (60 s) keep
    ///   lifetimes the profile allows.
    ///
    /// Refused at build ([`Fapi2Conflict`]): the password grant; the
    /// implicit grant; PKCE `plain` or optional; no DPoP (nor, once
    /// configured, mutual TLS) to sender-constrain tokens; no
    /// `private_key_jwt` (a [`replay_cache`](Self::replay_cache)) or mutual
    /// TLS; `client_secret_jwt`; client ID metadata documents (public
    /// clients); rotating confidential clients' refresh tokens; a code
    /// lifetime over 60 s, a pushed-request lifetime of 600 s or more; a
    /// leeway over 60 s; an ID token, access token, request object or DPoP
    /// algorithm other than PS256, ES256, EdDSA.
    ///
    /// Refused at request time: a client not confidential or not
    /// authenticated with `private_key_jwt` or mutual TLS (`invalid_client`
    /// at every endpoint where clients authenticate); a client assertion
    /// whose `aud` is not the issuer as a string (`invalid_client`); a
    /// token request that would get an unbound access token
    /// (`invalid_dpop_proof`); a pushed request without `redirect_uri`
    /// (`invalid_request`). Dynamic registration and the metadata offer only
    /// the allowed methods and algorithms.
    ///
    /// DPoP nonces (§5.3.2.1 item 10, a "may") are not turned on: a nonce
    /// key must be shared by every replica, which only the host can
    /// provide — call [`Dpop::require_nonce`](crate::endpoint::Dpop::require_nonce).
    /// TLS (§5.3.2.2 item 8, §5.4.2) is the host's.
    pub fn fapi2_security_profile(mut self) -> Self {
        self.fapi2 = true;
        self
    }

    /// Whether refreshes rotate the refresh token: default
    /// [`RefreshTokenRotation::Always`], or under the
    /// [FAPI 2.0 profile](Self::fapi2_security_profile)
    /// [`RefreshTokenRotation::PublicClientsOnly`] (which the profile
    /// requires: `Always` there is [`Fapi2Conflict::RefreshTokenRotation`]).
    /// Public clients' refresh tokens always rotate (RFC 9700 §4.14.2).
    pub fn refresh_token_rotation(mut self, rotation: RefreshTokenRotation) -> Self {
        self.refresh_rotation = Some(rotation);
        self
    }

    /// Whether the server can sender-constrain access tokens (FAPI 2.0
    /// §5.3.2.1 item 5): DPoP (RFC 9449) or mutual TLS, whose
    /// certificate-bound tokens (RFC 8705 §3) the profile gives every client
    /// that comes with a certificate. This is the one place that knows the
    /// mechanisms.
    fn sender_constraint_configured(&self) -> bool {
        self.dpop.is_some() || self.mutual_tls.is_some()
    }

    /// The refresh rotation the server runs with.
    pub(super) fn resolved_refresh_rotation(&self) -> RefreshTokenRotation {
        match self.refresh_rotation {
            Some(rotation) => rotation,
            None if self.fapi2 => RefreshTokenRotation::PublicClientsOnly,
            None => RefreshTokenRotation::Always,
        }
    }

    /// Applies the profile's defaults and checks the configuration against
    /// it, when the profile is on (see
    /// [`fapi2_security_profile`](Self::fapi2_security_profile)).
    pub(super) fn apply_fapi2(&mut self) -> Result<(), BuildError> {
        if !self.fapi2 {
            return Ok(());
        }
        let serves = |grant: GrantType| self.grants.iter().any(|(g, _)| *g == grant);
        if serves(GrantType::PASSWORD) {
            return Err(Fapi2Conflict::PasswordGrant.into());
        }
        if self.jwt.replay.is_none() {
            // Mutual TLS: the server's own (`mutual_tls`), or a host
            // authenticator's.
            if self.mutual_tls.is_none()
                && !self
                    .authenticator
                    .methods()
                    .iter()
                    .any(|m| m.is_mutual_tls())
            {
                return Err(Fapi2Conflict::NoClientAuthentication.into());
            }
        }
        if self.jwt.secret_key.is_some() {
            return Err(Fapi2Conflict::ClientSecretJwt.into());
        }
        if self.documents.is_some() {
            return Err(Fapi2Conflict::ClientIdMetadataDocuments.into());
        }
        if !self.sender_constraint_configured() {
            return Err(Fapi2Conflict::NoSenderConstraint.into());
        }
        if self.resolved_refresh_rotation() == RefreshTokenRotation::Always {
            return Err(Fapi2Conflict::RefreshTokenRotation.into());
        }
        if self.lifetimes.authorization_code > MAX_CODE_LIFETIME {
            return Err(Fapi2Conflict::CodeLifetime.into());
        }
        if self.options.implicit {
            return Err(Fapi2Conflict::ImplicitGrant.into());
        }
        if self.options.allow_plain_pkce {
            return Err(Fapi2Conflict::PlainPkce.into());
        }
        if self.options.pkce_optional_for_confidential {
            return Err(Fapi2Conflict::OptionalPkce.into());
        }
        if self.pushed.lifetime >= PUSHED_REQUEST_LIFETIME_LIMIT {
            return Err(Fapi2Conflict::PushedRequestLifetime.into());
        }
        self.apply_clock_skew()?;
        self.apply_algorithms()?;
        self.pushed.required = true;
        self.options.fapi2 = true;
        self.jwt.fapi2 = true;
        Ok(())
    }

    /// §5.3.2.1 item 13: 10 s ahead accepted, never more than 60 s.
    fn apply_clock_skew(&mut self) -> Result<(), BuildError> {
        let assertions = &mut self.jwt.settings.leeway;
        if *assertions > MAX_FUTURE_LEEWAY {
            return Err(Fapi2Conflict::AssertionClockSkew.into());
        }
        *assertions = (*assertions).max(MIN_FUTURE_LEEWAY);
        if let Some(dpop) = &mut self.dpop {
            if dpop.future_leeway() > MAX_FUTURE_LEEWAY {
                return Err(Fapi2Conflict::DpopClockSkew.into());
            }
            dpop.apply_fapi2_defaults();
        }
        Ok(())
    }

    /// §5.4.1 item 1.2: PS256, ES256, EdDSA — defaults narrowed, explicit
    /// choices checked.
    fn apply_algorithms(&mut self) -> Result<(), BuildError> {
        let allowed = |alg: &Algorithm| FAPI2_ALGORITHMS.contains(alg);
        if let Some(openid) = &self.openid {
            if !allowed(&openid.id_token_alg) {
                return Err(Fapi2Conflict::IdTokenAlgorithm.into());
            }
        }
        match self.signing.access_token_alg {
            Some(alg) if !allowed(&alg) => {
                return Err(Fapi2Conflict::AccessTokenAlgorithm.into());
            }
            Some(_) => {}
            None => {
                let keys = &self.signing.keys;
                self.signing.access_token_alg =
                    [Algorithm::Es256, Algorithm::Ps256, Algorithm::EdDsa]
                        .into_iter()
                        .find(|alg| keys.active(*alg).is_some());
                let wants_jwt = self
                    .signing
                    .resources
                    .iter()
                    .any(|r| r.token_format() == TokenFormat::Jwt);
                if self.signing.access_token_alg.is_none() && wants_jwt {
                    return Err(Fapi2Conflict::AccessTokenAlgorithm.into());
                }
            }
        }
        let objects = &mut self.request_objects.algorithms;
        if *objects == DEFAULT_REQUEST_OBJECT_ALGORITHMS {
            objects.retain(allowed);
        } else if !objects.iter().all(allowed) {
            return Err(Fapi2Conflict::RequestObjectAlgorithm.into());
        }
        if let Some(dpop) = &self.dpop {
            // The defaults were narrowed with the leeway; what is left
            // was the host's choice.
            if !dpop.signing_algorithms().iter().all(allowed) {
                return Err(Fapi2Conflict::DpopAlgorithm.into());
            }
        }
        Ok(())
    }
}
