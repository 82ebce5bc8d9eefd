//! JWT client authentication (RFC 7523 §2.2, §3; RFC 7521 §4.2, §5.2):
//! `private_key_jwt` and `client_secret_jwt`, built into the server's
//! authentication sequence.
//!
//! Verifying an assertion needs IO that the synchronous
//! [`ClientAuthenticator::verify`](super::ClientAuthenticator::verify)
//! cannot do — the client's keys from its `jwks_uri`, and the replay
//! cache — so it is a step of the sequence itself (the
//! [`client` module docs](super), step 5), run in place of the
//! authenticator's check when the request carries an assertion.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::replay::{DynReplayCache, ReplayKey};
use super::{
    AuthMethod, Client, ClientAuthError, ClientId, ClientKeys, ClientSecret, PresentedCredentials,
};
use crate::fetch::{FetchLimits, Fetcher, cache_lifetime};
use crate::jose::{
    Algorithm, Audience, ClaimsError, ClaimsValidation, FAPI2_ALGORITHMS, JwkSet, JwsError,
    PublicKey, RegisteredClaims, UnverifiedJws,
};

/// The algorithms a `private_key_jwt` assertion may be signed with
/// (RFC 8725 §3.1: an allow-list; never `none`, never HS256 with a public
/// key).
pub const PRIVATE_KEY_JWT_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::Es256,
    Algorithm::Rs256,
    Algorithm::Ps256,
    Algorithm::EdDsa,
];

/// The one algorithm of a `client_secret_jwt` assertion.
pub const CLIENT_SECRET_JWT_ALGORITHMS: [Algorithm; 1] = [Algorithm::Hs256];

/// The longest `jti` accepted, in bytes.
pub const MAX_JTI_LEN: usize = 256;

/// The shortest key accepted by
/// [`ServerBuilder::client_secret_jwt_key`](crate::ServerBuilder::client_secret_jwt_key):
/// 32 bytes.
pub const MIN_CLIENT_SECRET_JWT_KEY_LEN: usize = 32;

/// How many clients' fetched key sets are cached at once.
const MAX_CACHED_KEY_SETS: usize = 4096;

/// What client assertions must satisfy, and how clients' `jwks_uri` key
/// sets are cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientAssertionSettings {
    /// The longest an assertion may live: its `exp` at most this far after
    /// now (and after its `iat`). RFC 7523 §3 lets the server limit how far
    /// in the future `exp` may be. Default: 5 minutes; at most an hour.
    pub max_lifetime: Duration,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`. Default: 30 seconds;
    /// at most 5 minutes.
    pub leeway: Duration,
    /// How long a fetched key set is used when its response says nothing
    /// of caching. Default: 5 minutes.
    pub jwks_cache_default: Duration,
    /// The least a fetched key set is cached, whatever its `Cache-Control`
    /// says; also the least time between two fetches of one client's
    /// `jwks_uri`, even for an assertion whose `kid` is unknown.
    /// Default: 1 minute.
    pub jwks_refresh_interval: Duration,
    /// The most a fetched key set is cached. Default: 1 day.
    pub jwks_cache_max: Duration,
}

impl Default for ClientAssertionSettings {
    fn default() -> Self {
        Self {
            max_lifetime: Duration::from_secs(300),
            leeway: Duration::from_secs(30),
            jwks_cache_default: Duration::from_secs(300),
            jwks_refresh_interval: Duration::from_secs(60),
            jwks_cache_max: Duration::from_secs(86_400),
        }
    }
}

impl ClientAssertionSettings {
    /// With `max_lifetime`.
    pub fn with_max_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// With `leeway`.
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// With `jwks_refresh_interval`.
    pub fn with_jwks_refresh_interval(mut self, interval: Duration) -> Self {
        self.jwks_refresh_interval = interval;
        self
    }

    /// With `jwks_cache_default` and `jwks_cache_max`.
    pub fn with_jwks_cache(mut self, default: Duration, max: Duration) -> Self {
        self.jwks_cache_default = default;
        self.jwks_cache_max = max;
        self
    }

    /// Why these settings are unusable, if they are.
    fn invalid(&self) -> Option<&'static str> {
        if self.max_lifetime.is_zero() || self.max_lifetime > Duration::from_secs(3600) {
            return Some("the assertion lifetime must be between 1 second and 1 hour");
        }
        if self.leeway > Duration::from_secs(300) {
            return Some("the assertion leeway must be at most 5 minutes");
        }
        if self.jwks_refresh_interval.is_zero() || self.jwks_cache_max < self.jwks_refresh_interval
        {
            return Some("the jwks_uri refresh interval must be positive and within the cache's");
        }
        None
    }
}

/// What the builder collects for JWT client authentication.
#[derive(Default)]
pub(crate) struct JwtAuthConfig {
    pub(crate) replay: Option<Arc<dyn DynReplayCache>>,
    pub(crate) fetcher: Option<Arc<dyn Fetcher>>,
    pub(crate) settings: ClientAssertionSettings,
    pub(crate) secret_key: Option<Vec<u8>>,
    /// Under the FAPI 2.0 Security Profile: assertions signed with PS256,
    /// ES256 or EdDSA only (§5.4.1), naming the issuer alone, as a string,
    /// in `aud` (§5.3.2.1 item 8).
    pub(crate) fapi2: bool,
}

impl JwtAuthConfig {
    /// The server's JWT client authentication: `None` without a replay
    /// cache (no assertion can be accepted safely without one).
    pub(crate) fn build(self) -> Result<Option<JwtClientAuth>, &'static str> {
        if let Some(why) = self.settings.invalid() {
            return Err(why);
        }
        let secret_key = match self.secret_key {
            Some(key) if key.len() < MIN_CLIENT_SECRET_JWT_KEY_LEN => {
                return Err("the client_secret_jwt key must be at least 32 bytes");
            }
            Some(key) => Some(hmac::Key::new(hmac::HMAC_SHA256, &key)),
            None => None,
        };
        let Some(replay) = self.replay else {
            if secret_key.is_some() {
                return Err("client_secret_jwt needs a replay cache (ServerBuilder::replay_cache)");
            }
            return Ok(None);
        };
        Ok(Some(JwtClientAuth {
            replay,
            settings: self.settings,
            secret_key,
            fapi2: self.fapi2,
            keys: KeySets {
                fetcher: self.fetcher,
                settings: self.settings,
                cached: Mutex::default(),
            },
        }))
    }
}

/// JWT client authentication, as the server holds it.
pub(crate) struct JwtClientAuth {
    replay: Arc<dyn DynReplayCache>,
    settings: ClientAssertionSettings,
    /// The key `client_secret_jwt` secrets derive from; `None` when that
    /// method is off.
    secret_key: Option<hmac::Key>,
    keys: KeySets,
    /// The FAPI 2.0 rules of [`JwtAuthConfig::fapi2`].
    fapi2: bool,
}

impl fmt::Debug for JwtClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtClientAuth")
            .field("settings", &self.settings)
            .field("client_secret_jwt", &self.secret_key.is_some())
            .field("fetcher", &self.keys.fetcher.is_some())
            .finish_non_exhaustive()
    }
}

/// The audiences an assertion may name (RFC 7523 §3 item 3): the issuer
/// identifier, and the URL of the endpoint that receives it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AssertionAudiences<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) endpoint: &'a str,
}

impl JwtClientAuth {
    /// The methods offered: `private_key_jwt`, and `client_secret_jwt`
    /// when the server has a key to derive its secrets from.
    pub(crate) fn methods(&self) -> Vec<AuthMethod> {
        let mut methods = vec![AuthMethod::PRIVATE_KEY_JWT];
        if self.secret_key.is_some() {
            methods.push(AuthMethod::CLIENT_SECRET_JWT);
        }
        methods
    }

    /// The algorithms a `private_key_jwt` assertion may be signed with:
    /// [`PRIVATE_KEY_JWT_ALGORITHMS`], or under the FAPI 2.0 Security
    /// Profile only [`FAPI2_ALGORITHMS`] (§5.4.1 item 1.2).
    fn private_key_algorithms(&self) -> &'static [Algorithm] {
        if self.fapi2 {
            &FAPI2_ALGORITHMS
        } else {
            &PRIVATE_KEY_JWT_ALGORITHMS
        }
    }

    /// The algorithms offered (RFC 8414
    /// `token_endpoint_auth_signing_alg_values_supported`).
    pub(crate) fn algorithms(&self) -> Vec<Algorithm> {
        let mut algorithms = self.private_key_algorithms().to_vec();
        if self.secret_key.is_some() {
            algorithms.extend(CLIENT_SECRET_JWT_ALGORITHMS);
        }
        algorithms
    }

    /// Whether a client may register a `jwks_uri`: the server has a
    /// fetcher to read it with.
    pub(crate) fn can_fetch(&self) -> bool {
        self.keys.fetcher.is_some()
    }

    /// The secret of a `client_secret_jwt` client: base64url of
    /// HMAC-SHA256 under the server's key of the client id (length-prefixed)
    /// and the client's salt. `None` when the method is off or the client
    /// does not use it.
    pub(crate) fn derived_secret(&self, client: &Client) -> Option<ClientSecret> {
        let key = self.secret_key.as_ref()?;
        let salt = client.secret_salt()?;
        let id = client.id().as_str();
        let mut context = hmac::Context::with_key(key);
        context.update(b"portcullis client_secret_jwt v1\0");
        context.update(&(id.len() as u64).to_be_bytes());
        context.update(id.as_bytes());
        context.update(&salt.0);
        Some(ClientSecret::new(
            URL_SAFE_NO_PAD.encode(context.sign().as_ref()),
        ))
    }

    /// `client`'s registered public keys: inline, or fetched from its
    /// `jwks_uri` and cached (`refresh`: an unknown key, fetched again at
    /// most once per refresh interval). A self-signed client certificate
    /// (RFC 8705 §2.2) is matched against them.
    pub(crate) async fn client_keys(
        &self,
        client: &Client,
        now: SystemTime,
        refresh: bool,
    ) -> Result<Arc<[PublicKey]>, ClientAuthError> {
        self.keys.resolve(client, now, refresh).await
    }

    /// Verifies `presented`'s assertion for `client`, whose registered
    /// method the server has checked is `presented.method` (RFC 7523 §3):
    ///
    /// 1. the signature, with an allowed algorithm — the client's
    ///    `token_endpoint_auth_signing_alg` alone if it registered one —
    ///    and its registered keys, or for `client_secret_jwt` its derived
    ///    secret;
    /// 2. `iss` and `sub` both the client id; `aud` one value, the issuer or
    ///    the endpoint's URL; `exp` present, not passed, and at most
    ///    `max_lifetime` away; `nbf` and `iat` not in the future; `jti`
    ///    present;
    /// 3. the `jti` not used before by this client, recorded in the replay
    ///    cache until the assertion expires.
    pub(crate) async fn verify(
        &self,
        presented: &PresentedCredentials,
        client: &Client,
        audiences: AssertionAudiences<'_>,
        now: SystemTime,
    ) -> Result<(), ClientAuthError> {
        let assertion = presented
            .assertion
            .as_ref()
            .ok_or(ClientAuthError::MalformedCredentials)?;
        let payload = self
            .verify_signature(assertion.expose(), &presented.method, client, now)
            .await?;
        let claims: RegisteredClaims = serde_json::from_slice(&payload)
            .map_err(|_| ClientAuthError::InvalidAssertion("the claims are malformed"))?;
        self.check_claims(&claims, client.id(), audiences, now)?;
        let (Some(jti), Some(exp)) = (&claims.jti, claims.exp) else {
            return Err(ClientAuthError::InvalidAssertion("jti or exp is missing"));
        };
        let key = ReplayKey::new(ReplayKey::CLIENT_ASSERTION, &[client.id().as_str(), jti]);
        // Kept until no clock within the leeway would still accept it.
        let keep_until = u64::try_from(exp)
            .ok()
            .and_then(|exp| UNIX_EPOCH.checked_add(Duration::from_secs(exp)))
            .and_then(|exp| exp.checked_add(self.settings.leeway))
            .unwrap_or(now + self.settings.max_lifetime + self.settings.leeway);
        if self.replay.first_use(&key, keep_until, now).await? {
            Ok(())
        } else {
            Err(ClientAuthError::ReplayedAssertion)
        }
    }

    /// The verified payload of `compact`.
    async fn verify_signature(
        &self,
        compact: &str,
        method: &AuthMethod,
        client: &Client,
        now: SystemTime,
    ) -> Result<Vec<u8>, ClientAuthError> {
        let parse = || {
            UnverifiedJws::parse(compact)
                .map_err(|_| ClientAuthError::InvalidAssertion("not a compact JWS"))
        };
        if *method == AuthMethod::CLIENT_SECRET_JWT {
            let secret = self
                .derived_secret(client)
                .ok_or(ClientAuthError::InvalidAssertion(
                    "client_secret_jwt is not offered",
                ))?;
            return parse()?
                .verify_hmac(
                    secret.expose_secret().as_bytes(),
                    &allowed(&CLIENT_SECRET_JWT_ALGORITHMS, client),
                )
                .map_err(signature_error);
        }
        if *method != AuthMethod::PRIVATE_KEY_JWT {
            return Err(ClientAuthError::UnsupportedScheme);
        }
        let allowed = allowed(self.private_key_algorithms(), client);
        self.verify_with_client_keys(compact, client, &allowed, now)
            .await
    }

    /// The verified payload of `compact`, signed with one of `allowed` by
    /// a key `client` registered — inline, or at its `jwks_uri`, fetched
    /// and cached. Client assertions (RFC 7523) and request objects
    /// (RFC 9101 §6.2) are both verified here.
    pub(crate) async fn verify_with_client_keys(
        &self,
        compact: &str,
        client: &Client,
        allowed: &[Algorithm],
        now: SystemTime,
    ) -> Result<Vec<u8>, ClientAuthError> {
        let parse = || {
            UnverifiedJws::parse(compact)
                .map_err(|_| ClientAuthError::InvalidAssertion("not a compact JWS"))
        };
        let keys = self.keys.resolve(client, now, false).await?;
        match parse()?.verify_with_any(&keys, allowed) {
            Ok((payload, _)) => Ok(payload),
            // An unknown key may be a new one: a key set fetched from the
            // client's jwks_uri is fetched again, at most once per refresh
            // interval.
            Err(JwsError::NoMatchingKey)
                if matches!(client.keys(), Some(ClientKeys::JwksUri(_))) =>
            {
                let keys = self.keys.resolve(client, now, true).await?;
                parse()?
                    .verify_with_any(&keys, allowed)
                    .map(|(payload, _)| payload)
                    .map_err(signature_error)
            }
            Err(e) => Err(signature_error(e)),
        }
    }

    fn check_claims(
        &self,
        claims: &RegisteredClaims,
        client_id: &ClientId,
        audiences: AssertionAudiences<'_>,
        now: SystemTime,
    ) -> Result<(), ClientAuthError> {
        let id = client_id.as_str();
        if claims.iss.as_deref() != Some(id) || claims.sub.as_deref() != Some(id) {
            return Err(ClientAuthError::InvalidAssertion(
                "iss and sub must both be the client_id",
            ));
        }
        // One audience, exactly the issuer or this endpoint's URL: an
        // assertion naming several could be replayed at any of them
        // (draft-ietf-oauth-rfc7523bis).
        let audience = match claims.aud.as_ref().map(|a| a.values()) {
            Some([one]) => one.as_str(),
            Some(_) => {
                return Err(ClientAuthError::InvalidAssertion(
                    "aud must be a single value",
                ));
            }
            None => return Err(ClientAuthError::InvalidAssertion("aud is missing")),
        };
        // FAPI 2.0 §5.3.2.1 item 8: only the issuer identifier, and only as
        // a string — not a one-element array, not the endpoint's URL.
        if self.fapi2 && !matches!(&claims.aud, Some(Audience::One(one)) if one == audiences.issuer)
        {
            return Err(ClientAuthError::InvalidAssertion(
                "aud must be the issuer identifier, as a string",
            ));
        }
        if audience != audiences.issuer && audience != audiences.endpoint {
            return Err(ClientAuthError::InvalidAssertion(
                "aud is neither the issuer nor this endpoint",
            ));
        }
        if claims
            .jti
            .as_deref()
            .is_some_and(|j| j.is_empty() || j.len() > MAX_JTI_LEN)
        {
            return Err(ClientAuthError::InvalidAssertion(
                "jti is empty or too long",
            ));
        }
        ClaimsValidation::new()
            .leeway(self.settings.leeway)
            .max_lifetime(self.settings.max_lifetime)
            .require("jti")
            .check(claims, now)
            .map_err(|e| {
                ClientAuthError::InvalidAssertion(match e {
                    ClaimsError::Missing("jti") => "jti is missing",
                    ClaimsError::Missing(_) => "exp is missing",
                    ClaimsError::Expired => "the assertion has expired",
                    ClaimsError::NotYetValid => "the assertion is not valid yet",
                    _ => "the assertion's lifetime is too long or it was issued in the future",
                })
            })
    }

    /// Records the single use of `key` until `keep_until` (extended by the
    /// leeway): `false` when it was used before.
    pub(crate) async fn first_use(
        &self,
        key: &ReplayKey,
        keep_until: SystemTime,
        now: SystemTime,
    ) -> Result<bool, crate::error::StoreError> {
        self.replay
            .first_use(key, keep_until + self.settings.leeway, now)
            .await
    }

    /// The clock skew tolerated on a JWT's times.
    pub(crate) fn leeway(&self) -> Duration {
        self.settings.leeway
    }

    /// Deletes expired records of the replay cache.
    pub(crate) async fn purge(&self, now: SystemTime) -> Result<u64, crate::error::StoreError> {
        self.replay.purge_expired_replays(now).await
    }
}

/// The allowed algorithms of `base` for `client`: only its registered
/// `token_endpoint_auth_signing_alg` when it has one.
fn allowed(base: &[Algorithm], client: &Client) -> Vec<Algorithm> {
    match client.token_endpoint_auth_signing_alg() {
        Some(alg) => base.iter().copied().filter(|a| *a == alg).collect(),
        None => base.to_vec(),
    }
}

fn signature_error(e: JwsError) -> ClientAuthError {
    ClientAuthError::InvalidAssertion(match e {
        JwsError::AlgorithmNotAllowed | JwsError::UnsupportedAlgorithm => {
            "the algorithm is not allowed"
        }
        JwsError::NoMatchingKey => "no registered key matches",
        _ => "the signature does not verify",
    })
}

/// Clients' key sets: registered inline, or fetched from their `jwks_uri`
/// and cached per client.
struct KeySets {
    fetcher: Option<Arc<dyn Fetcher>>,
    settings: ClientAssertionSettings,
    cached: Mutex<HashMap<ClientId, Fetched>>,
}

/// A client's key set as last fetched.
struct Fetched {
    uri: url::Url,
    keys: Arc<[PublicKey]>,
    /// Until when the keys are used without fetching again.
    fresh_until: SystemTime,
    /// The last fetch (or attempt): no other before the refresh interval.
    fetched_at: SystemTime,
}

/// The usable signature keys of a key set; others are ignored.
fn public_keys(set: &JwkSet) -> Arc<[PublicKey]> {
    set.public_keys().into()
}

impl KeySets {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientId, Fetched>> {
        self.cached.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `client`'s keys at `now`. A `jwks_uri` is fetched when its cached
    /// set is stale or, with `refresh` (an unknown key), whenever the last
    /// fetch is older than the refresh interval; never more often. A failed
    /// fetch keeps the keys fetched before, if any.
    async fn resolve(
        &self,
        client: &Client,
        now: SystemTime,
        refresh: bool,
    ) -> Result<Arc<[PublicKey]>, ClientAuthError> {
        let uri = match client.keys() {
            Some(ClientKeys::Jwks(set)) => return Ok(public_keys(set)),
            Some(ClientKeys::JwksUri(uri)) => uri,
            None => return Err(ClientAuthError::InvalidAssertion("the client has no keys")),
        };
        let interval = self.settings.jwks_refresh_interval;
        let previous = {
            let cached = self.lock();
            match cached.get(client.id()).filter(|f| f.uri == *uri) {
                Some(f) if !refresh && f.fresh_until > now => return Ok(f.keys.clone()),
                Some(f) if f.fetched_at + interval > now => return Ok(f.keys.clone()),
                Some(f) => Some(f.keys.clone()),
                None => None,
            }
        };
        let fetched = self.fetch(uri).await;
        let (keys, fresh_until) = match fetched {
            Ok((keys, lifetime)) => (keys, now + lifetime),
            Err(reason) => {
                tracing::warn!(
                    target: "portcullis::security",
                    event = "client_jwks_fetch_failed",
                    client_id = ?super::loggable(client.id().as_str()),
                    reason,
                );
                (previous.unwrap_or_else(|| Arc::from(Vec::new())), now)
            }
        };
        let mut cached = self.lock();
        if cached.len() >= MAX_CACHED_KEY_SETS && !cached.contains_key(client.id()) {
            cached.retain(|_, f| f.fresh_until > now);
            if cached.len() >= MAX_CACHED_KEY_SETS {
                cached.clear();
            }
        }
        cached.insert(
            client.id().clone(),
            Fetched {
                uri: uri.clone(),
                keys: keys.clone(),
                fresh_until,
                fetched_at: now,
            },
        );
        Ok(keys)
    }

    /// Fetches a key set: its usable keys, and how long to cache them.
    async fn fetch(&self, uri: &url::Url) -> Result<(Arc<[PublicKey]>, Duration), &'static str> {
        let fetcher = self.fetcher.as_ref().ok_or("the server has no fetcher")?;
        let response = fetcher
            .get(uri, FetchLimits::default())
            .await
            .map_err(|_| "the fetch failed")?;
        if response.status() != http::StatusCode::OK {
            return Err("the response was not 200");
        }
        let set = JwkSet::from_json(response.body()).map_err(|_| "not a JWK Set of public keys")?;
        let s = &self.settings;
        let lifetime = cache_lifetime(
            response.headers(),
            s.jwks_cache_default,
            s.jwks_refresh_interval,
            s.jwks_cache_max,
        );
        Ok((public_keys(&set), lifetime))
    }
}
