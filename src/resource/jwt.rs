//! Validating RFC 9068 JWT access tokens locally, with the authorization
//! server's JWKS (RFC 9068 §4).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use url::Url;

use super::{TokenInfo, TokenSource, TokenSourceError};
use crate::client::{ClientId, MAX_CLIENT_ID_LEN};
use crate::fetch::{FetchLimits, Fetcher, cache_lifetime};
use crate::jose::{
    Algorithm, Audience, ClaimsValidation, JwkSet, PublicKey, RegisteredClaims, UnverifiedJws,
};
use crate::protocol::Scope;
use crate::store::Subject;
use crate::token::{Clock, SystemClock};

/// How long a fetched JWKS is kept without `Cache-Control`: 5 minutes.
const DEFAULT_JWKS_LIFETIME: Duration = Duration::from_secs(300);
/// The shortest and longest a JWKS is kept, whatever its headers say.
const MIN_JWKS_LIFETIME: Duration = Duration::from_secs(30);
const MAX_JWKS_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// A token naming a `kid` the cached set lacks makes the set be fetched
/// again — at most once in this long, so tokens with made-up `kid`s cannot
/// turn the resource server into a flood of fetches.
pub const JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// The asymmetric algorithms a JWT access token may be signed with.
const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::Es256,
    Algorithm::Rs256,
    Algorithm::Ps256,
    Algorithm::EdDsa,
];

/// The JWKS as last fetched.
#[derive(Default)]
struct Cached {
    keys: Vec<PublicKey>,
    /// When the set must be fetched again.
    stale_at: Option<SystemTime>,
    /// When it was last fetched (or tried), for the refresh rate limit.
    fetched_at: Option<SystemTime>,
}

/// A [`TokenSource`] that validates RFC 9068 JWT access tokens itself,
/// with the authorization server's public keys, fetched from its
/// `jwks_uri` through the host's [`Fetcher`] and cached (RFC 9068 §4):
///
/// - the header's `typ` is `at+jwt` and its `alg` an asymmetric one on the
///   allow-list (never `none` or HS256);
/// - the signature verifies with the JWKS key the `kid` names — a `kid`
///   not in the cached set fetches it again, at most once per
///   [`JWKS_REFRESH_INTERVAL`];
/// - `iss` is the expected issuer, `aud` names this resource, `exp` is in
///   the future (60 s of leeway), `client_id` is present.
///
/// Anything else is `Ok(None)`, answered `401 invalid_token`. A self-contained
/// JWT stays valid until it expires even if its grant is revoked: a resource
/// that must see revocations at once asks the authorization server
/// (introspection) instead, or as well — which is why the server keeps JWT
/// lifetimes short.
pub struct JwtAccessTokenSource {
    issuer: String,
    jwks_uri: Url,
    audience: String,
    fetcher: Arc<dyn Fetcher>,
    clock: Arc<dyn Clock>,
    leeway: Duration,
    cache: Mutex<Cached>,
}

impl fmt::Debug for JwtAccessTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAccessTokenSource")
            .field("issuer", &self.issuer)
            .field("jwks_uri", &self.jwks_uri.as_str())
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// RFC 9068 §2.2's claims, as far as a resource reads them.
#[derive(Deserialize)]
struct AccessTokenClaims {
    #[serde(flatten)]
    registered: RegisteredClaims,
    client_id: Option<String>,
    scope: Option<String>,
    /// The key the token is bound to (RFC 9449 §6.1).
    #[serde(default)]
    cnf: Option<crate::token::Confirmation>,
}

impl JwtAccessTokenSource {
    /// Tokens of `issuer` (compared exactly) for the resource `audience`,
    /// verified with the keys at `jwks_uri`, fetched with `fetcher`.
    pub fn new(
        issuer: impl Into<String>,
        jwks_uri: Url,
        audience: impl Into<String>,
        fetcher: impl Fetcher,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            jwks_uri,
            audience: audience.into(),
            fetcher: Arc::new(fetcher),
            clock: Arc::new(SystemClock),
            leeway: Duration::from_secs(60),
            cache: Mutex::new(Cached::default()),
        }
    }

    /// Reads the time from `clock` (tests move a `ManualClock`).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat`. Default: 60 s.
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The cached keys, if the set is fresh and has `kid` (or any key, for
    /// a token without one).
    fn cached(&self, kid: Option<&str>, now: SystemTime) -> Option<Vec<PublicKey>> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = cache.stale_at.is_some_and(|stale| stale > now);
        let has = match kid {
            Some(kid) => cache.keys.iter().any(|k| k.kid() == Some(kid)),
            None => !cache.keys.is_empty(),
        };
        (fresh && has).then(|| cache.keys.clone())
    }

    /// Fetches the JWKS unless it was fetched within
    /// [`JWKS_REFRESH_INTERVAL`]; returns the keys now cached.
    async fn refresh(&self, now: SystemTime) -> Result<Vec<PublicKey>, TokenSourceError> {
        {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            let recent = cache
                .fetched_at
                .is_some_and(|at| now < at + JWKS_REFRESH_INTERVAL);
            if recent {
                // Fetched (or tried) a moment ago: what is cached is all
                // there is until the interval passes.
                return if cache.keys.is_empty() {
                    Err(TokenSourceError::new(
                        "the JWKS could not be fetched recently",
                    ))
                } else {
                    Ok(cache.keys.clone())
                };
            }
            cache.fetched_at = Some(now);
        }
        let response = self
            .fetcher
            .get(&self.jwks_uri, FetchLimits::default())
            .await
            .map_err(TokenSourceError::new)?;
        if !response.status().is_success() {
            return Err(TokenSourceError::new(format!(
                "the JWKS answered {}",
                response.status()
            )));
        }
        let set = JwkSet::from_json(response.body()).map_err(TokenSourceError::new)?;
        // Keys this resource cannot use (another type, an encryption key)
        // are skipped, as RFC 7517 §5 says.
        let keys = set.public_keys();
        let lifetime = cache_lifetime(
            response.headers(),
            DEFAULT_JWKS_LIFETIME,
            MIN_JWKS_LIFETIME,
            MAX_JWKS_LIFETIME,
        );
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.keys.clone_from(&keys);
        cache.stale_at = Some(now + lifetime);
        Ok(keys)
    }

    /// Verifies `token` and reads its claims; `None` for anything not a
    /// valid JWT access token for this resource.
    async fn validate(&self, token: &str) -> Result<Option<TokenInfo>, TokenSourceError> {
        let Ok(jws) = UnverifiedJws::parse(token) else {
            return Ok(None);
        };
        // RFC 9068 §4: the type must be explicit, so that no other JWT of
        // the issuer's (an ID token, say) passes as an access token.
        if !jws.header().typ_is("at+jwt") || !ALGORITHMS.contains(&jws.header().algorithm()) {
            return Ok(None);
        }
        let now = self.clock.now();
        let kid = jws.header().kid().map(str::to_owned);
        let keys = match self.cached(kid.as_deref(), now) {
            Some(keys) => keys,
            None => self.refresh(now).await?,
        };
        let Ok((payload, _)) = jws.verify_with_any(&keys, &ALGORITHMS) else {
            return Ok(None);
        };
        let Ok(claims) = serde_json::from_slice::<AccessTokenClaims>(&payload) else {
            return Ok(None);
        };
        let validation = ClaimsValidation::new()
            .issuer(self.issuer.clone())
            .audience(self.audience.clone())
            .leeway(self.leeway)
            .require("sub")
            .require("iat");
        if validation.check(&claims.registered, now).is_err() {
            return Ok(None);
        }
        let client_id = match claims.client_id.as_deref() {
            Some(id)
                if !id.is_empty()
                    && id.len() <= MAX_CLIENT_ID_LEN
                    && id.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                ClientId::new_unchecked(id)
            }
            _ => return Ok(None),
        };
        let scope = match claims.scope.as_deref().map(str::parse::<Scope>) {
            None => Scope::empty(),
            Some(Ok(scope)) => scope,
            Some(Err(_)) => return Ok(None),
        };
        let at = |secs: Option<i64>| {
            secs.and_then(|s| u64::try_from(s).ok())
                .and_then(|s| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(s)))
        };
        let registered = claims.registered;
        let mut info = TokenInfo::new(scope);
        info.cnf = claims.cnf;
        // `sub` is the user, or the client itself (RFC 9068 §2.2).
        info.subject = registered
            .sub
            .as_deref()
            .filter(|sub| *sub != client_id.as_str())
            .map(Subject::new);
        info.client_id = Some(client_id);
        info.issued_at = at(registered.iat);
        info.expires_at = at(registered.exp);
        info.audience = registered
            .aud
            .as_ref()
            .map(Audience::values)
            .unwrap_or_default()
            .to_vec();
        Ok(Some(info))
    }
}

impl TokenSource for JwtAccessTokenSource {
    async fn token_info(&self, token: &str) -> Result<Option<TokenInfo>, TokenSourceError> {
        self.validate(token).await
    }
}
