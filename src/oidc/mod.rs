//! OpenID Connect: the OpenID Provider on the OAuth core (OpenID Connect
//! Core 1.0).
//!
//! A server becomes an OpenID Provider with
//! [`ServerBuilder::openid_connect`](crate::ServerBuilder::openid_connect)
//! and an [`OpenIdConnect`] configuration, whose one required part is the
//! host's [`ClaimsSource`]. Then an authorization request whose scope
//! includes `openid` is an authentication request (Core §3.1.2.1): its
//! `nonce`, `prompt`, `max_age`, `claims` and hints are validated and kept
//! with the request; the host learns them from the
//! [`PendingAuthorization`](crate::endpoint::PendingAuthorization) and reports
//! the authentication with an [`Approval`](crate::endpoint::Approval); the
//! code's token response carries an ID token (Core §3.1.3.3), and so does a
//! refresh of the grant (Core §12.2).
//!
//! This module holds what the grants and endpoints share: the claims seam,
//! subject identifiers (public or pairwise, Core §8), the ID token, and the
//! verification of an ID token presented back as a hint.

mod claims;
pub(crate) mod hint;
pub(crate) mod id_token;
mod subject;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

pub use claims::{
    ADDRESS_CLAIMS, Claims, ClaimsDestination, ClaimsError, ClaimsQuery, ClaimsSource,
    EMAIL_CLAIMS, PHONE_CLAIMS, PROFILE_CLAIMS, PROVIDER_CLAIMS, StaticClaims, scope_claims,
};
pub use hint::InvalidHint;
pub use subject::{MIN_PAIRWISE_KEY_LEN, PairwiseKey, WeakPairwiseKey};

use crate::client::{Client, ClientId};
use crate::jose::{Algorithm, KeySet, SigningError};
use crate::protocol::Scope;
use crate::store::{IdTokenHint, OpenIdGrant};
use id_token::IdTokenClaims;

/// The claims the provider states itself in an ID token (Core §2), which
/// `claims_supported` lists by default before the host's claims.
pub const ID_TOKEN_CLAIMS: [&str; 11] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "sid",
    "at_hash",
];

/// How long ID tokens live unless configured: ten minutes. An ID token is
/// read once, on sign-in; it is not a session.
pub const DEFAULT_ID_TOKEN_LIFETIME: Duration = Duration::from_secs(600);

/// The OpenID Provider's configuration, for
/// [`ServerBuilder::openid_connect`](crate::ServerBuilder::openid_connect).
#[must_use]
pub struct OpenIdConnect {
    pub(crate) claims: Arc<dyn ClaimsSource>,
    pub(crate) id_token_alg: Algorithm,
    pub(crate) id_token_lifetime: Duration,
    pub(crate) pairwise: Option<PairwiseKey>,
    pub(crate) claims_supported: Option<Vec<String>>,
    pub(crate) acr_values_supported: Vec<String>,
    pub(crate) scope_claims_in_id_token: bool,
}

impl fmt::Debug for OpenIdConnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenIdConnect")
            .field("id_token_alg", &self.id_token_alg)
            .field("id_token_lifetime", &self.id_token_lifetime)
            .field("pairwise", &self.pairwise.is_some())
            .finish_non_exhaustive()
    }
}

impl OpenIdConnect {
    /// A provider whose End-User claims come from `claims`. ID tokens are
    /// signed RS256 (Core §3.1.3.7: the default a relying party expects)
    /// and live [`DEFAULT_ID_TOKEN_LIFETIME`]; subjects are public.
    pub fn new(claims: impl ClaimsSource) -> Self {
        Self {
            claims: Arc::new(claims),
            id_token_alg: Algorithm::Rs256,
            id_token_lifetime: DEFAULT_ID_TOKEN_LIFETIME,
            pairwise: None,
            claims_supported: None,
            acr_values_supported: Vec::new(),
            scope_claims_in_id_token: false,
        }
    }

    /// The algorithm that signs ID tokens of clients that registered no
    /// `id_token_signed_response_alg`. The server's key set must have an
    /// active key for it.
    pub fn id_token_signing_alg(mut self, algorithm: Algorithm) -> Self {
        self.id_token_alg = algorithm;
        self
    }

    /// How long ID tokens live.
    pub fn id_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.id_token_lifetime = lifetime;
        self
    }

    /// Offers pairwise subject identifiers (Core §8.1) to clients that
    /// register `subject_type: pairwise`, derived with `key`.
    pub fn pairwise_subjects(mut self, key: PairwiseKey) -> Self {
        self.pairwise = Some(key);
        self
    }

    /// The claims the discovery document lists as `claims_supported`.
    /// Default: the ID token's own claims ([`ID_TOKEN_CLAIMS`]) and the
    /// standard claims of the scope values `profile`, `email`, `address`
    /// and `phone`.
    pub fn claims_supported<I, S>(mut self, claims: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.claims_supported = Some(claims.into_iter().map(Into::into).collect());
        self
    }

    /// The authentication context classes the host can satisfy, listed as
    /// `acr_values_supported` (Discovery §3).
    pub fn acr_values_supported<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.acr_values_supported = values.into_iter().map(Into::into).collect();
        self
    }

    /// Also puts the claims of the scope values (`profile`, `email`, …) in
    /// the ID token. By default they are only at the UserInfo endpoint, as
    /// Core §5.4 says for a response that issues an access token; the
    /// `claims` request parameter can still ask for any of them in the ID
    /// token.
    pub fn scope_claims_in_id_token(mut self) -> Self {
        self.scope_claims_in_id_token = true;
        self
    }

    /// The provider, with the server's keys and issuer.
    pub(crate) fn into_provider(self, keys: KeySet) -> OpenIdProvider {
        let claims_supported = self.claims_supported.clone().unwrap_or_else(|| {
            ID_TOKEN_CLAIMS
                .into_iter()
                .chain(PROFILE_CLAIMS)
                .chain(EMAIL_CLAIMS)
                .chain(ADDRESS_CLAIMS)
                .chain(PHONE_CLAIMS)
                .map(str::to_owned)
                .collect()
        });
        OpenIdProvider {
            claims_supported,
            config: self,
            keys,
        }
    }
}

/// Why an ID token or a UserInfo answer could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum IdentityError {
    /// The signer failed, or has no key for the algorithm.
    #[error("signing failed")]
    Signing(#[from] SigningError),
    /// The host's claims source failed.
    #[error("the claims source failed")]
    Claims(#[from] ClaimsError),
    /// The claims source no longer knows the subject.
    #[error("the subject is unknown")]
    UnknownSubject,
}

/// The built provider: its configuration with the server's keys.
pub(crate) struct OpenIdProvider {
    pub(crate) config: OpenIdConnect,
    pub(crate) claims_supported: Vec<String>,
    pub(crate) keys: KeySet,
}

impl fmt::Debug for OpenIdProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenIdProvider")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What one ID token says, beyond what the provider knows itself.
pub(crate) struct IdTokenRequest<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) client: &'a Client,
    /// The End-User as the host knows them.
    pub(crate) subject: &'a str,
    pub(crate) grant: &'a OpenIdGrant,
    pub(crate) scope: &'a Scope,
    /// Whether to include the grant's `nonce`: on the code's token
    /// response, not on a refresh (Core §12.2).
    pub(crate) with_nonce: bool,
    /// The access token issued with it, for `at_hash`.
    pub(crate) access_token: Option<&'a str>,
    /// The grant it is issued under (`grant_id`), displayed.
    pub(crate) grant_id: Option<&'a str>,
    pub(crate) now: SystemTime,
}

impl OpenIdProvider {
    /// The `sub` `client` knows the End-User `local` by: public, or
    /// pairwise in the client's sector (Core §8).
    pub(crate) fn subject_for(&self, client: &Client, local: &str) -> String {
        match (subject::pairwise_sector(client), &self.config.pairwise) {
            (Some(sector), Some(key)) => key.subject(sector, local),
            _ => local.to_owned(),
        }
    }

    /// The algorithm of `client`'s ID tokens: the one it registered
    /// (`id_token_signed_response_alg`, Registration §2), or the
    /// provider's.
    pub(crate) fn id_token_alg(&self, client: &Client) -> Algorithm {
        client
            .id_token_signed_response_alg()
            .unwrap_or(self.config.id_token_alg)
    }

    /// Verifies an `id_token_hint` from `client_id`: an ID token this
    /// provider signed, issued to that client.
    pub(crate) fn verify_hint(
        &self,
        raw: &str,
        issuer: &str,
        client_id: &ClientId,
        now: SystemTime,
    ) -> Result<IdTokenHint, InvalidHint> {
        let verified = hint::verify(raw, issuer, &self.keys, now)?;
        if verified.audience.iter().any(|a| a == client_id.as_str()) {
            Ok(verified.hint)
        } else {
            Err(InvalidHint::Audience)
        }
    }

    /// Verifies an ID token presented as a token-exchange `subject_token`
    /// or `actor_token` (RFC 8693 §3): signed by this provider with a key
    /// it publishes (a retired one included), `iss` the issuer. Expiry,
    /// audience and the grant are the caller's to check.
    pub(crate) fn verify_id_token(
        &self,
        raw: &str,
        issuer: &str,
        now: SystemTime,
    ) -> Result<hint::VerifiedHint, InvalidHint> {
        hint::verify(raw, issuer, &self.keys, now)
    }

    /// Verifies an `id_token_hint` presented without a client (logout):
    /// the hint and the client it was issued to.
    pub(crate) fn verify_any_hint(
        &self,
        raw: &str,
        issuer: &str,
        now: SystemTime,
    ) -> Result<(IdTokenHint, Vec<String>), InvalidHint> {
        let verified = hint::verify(raw, issuer, &self.keys, now)?;
        Ok((verified.hint, verified.audience))
    }

    /// The End-User's claims that `wanted` names, from the host.
    async fn claims(
        &self,
        client: &Client,
        subject: &str,
        wanted: Vec<&str>,
        locales: &[String],
        destination: ClaimsDestination,
    ) -> Result<Map<String, Value>, IdentityError> {
        if wanted.is_empty() {
            return Ok(Map::new());
        }
        let query = ClaimsQuery {
            subject,
            client_id: client.id(),
            names: wanted.clone(),
            locales,
            destination,
        };
        let claims = self
            .config
            .claims
            .claims(query)
            .await?
            .ok_or(IdentityError::UnknownSubject)?;
        Ok(claims.release(|name| wanted.contains(&name)))
    }

    /// A signed ID token (Core §2, §3.1.3.6).
    pub(crate) async fn id_token(
        &self,
        request: IdTokenRequest<'_>,
    ) -> Result<String, IdentityError> {
        let grant = request.grant;
        let mut wanted: Vec<&str> = grant
            .claims
            .iter()
            .flat_map(|c| c.id_token().map(|(name, _)| name))
            .filter(|name| !PROVIDER_CLAIMS.contains(name))
            .collect();
        if self.config.scope_claims_in_id_token {
            // Each `&'static str` shortened to the vector's lifetime.
            wanted.extend(scope_claims(request.scope).map(|name| -> &str { name }));
        }
        wanted.sort_unstable();
        wanted.dedup();
        let claims = self
            .claims(
                request.client,
                request.subject,
                wanted,
                &grant.claims_locales,
                ClaimsDestination::IdToken,
            )
            .await?;
        let alg = self.id_token_alg(request.client);
        let signer = self
            .keys
            .active(alg)
            .ok_or_else(|| SigningError::new("no active key for ID tokens"))?;
        let sub = self.subject_for(request.client, request.subject);
        let (iat, exp) =
            IdTokenClaims::times(request.now, request.now + self.config.id_token_lifetime);
        let token = IdTokenClaims {
            iss: request.issuer,
            sub: &sub,
            aud: request.client.id().as_str(),
            exp,
            iat,
            auth_time: grant.auth_time,
            nonce: grant.nonce.as_deref().filter(|_| request.with_nonce),
            acr: grant.acr.as_deref(),
            amr: &grant.amr,
            at_hash: request
                .access_token
                .map(|token| id_token::access_token_hash(alg, token)),
            sid: grant.session_id.as_deref(),
            grant_id: request.grant_id,
            claims,
        };
        Ok(id_token::sign(signer.as_ref(), &token).await?)
    }

    /// The UserInfo claims (Core §5.3.2): `sub`, the claims of the scope
    /// values (§5.4) and those the `claims` request asks of UserInfo
    /// (§5.5).
    pub(crate) async fn userinfo(
        &self,
        client: &Client,
        subject: &str,
        grant: Option<&OpenIdGrant>,
        scope: &Scope,
    ) -> Result<Map<String, Value>, IdentityError> {
        let mut wanted: Vec<&str> = scope_claims(scope).map(|name| -> &str { name }).collect();
        if let Some(claims) = grant.and_then(|g| g.claims.as_ref()) {
            wanted.extend(
                claims
                    .userinfo()
                    .map(|(name, _)| name)
                    .filter(|name| !PROVIDER_CLAIMS.contains(name)),
            );
        }
        wanted.sort_unstable();
        wanted.dedup();
        let locales = grant.map_or(&[][..], |g| &g.claims_locales[..]);
        let mut claims = self
            .claims(
                client,
                subject,
                wanted,
                locales,
                ClaimsDestination::UserInfo,
            )
            .await?;
        claims.insert(
            "sub".to_owned(),
            Value::String(self.subject_for(client, subject)),
        );
        Ok(claims)
    }
}
