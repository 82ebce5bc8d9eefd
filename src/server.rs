//! The authorization server's builder: everything a server is configured
//! with, checked once in [`build`](ServerBuilder::build). The server object
//! itself lives in the endpoint layer, below this one.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::HeaderValue;
use url::Url;

use crate::client::{
    AuthLimiter, AuthMethod, BlockingRunner, ClientAssertionSettings, ClientAuthenticator,
    ClientIdMetadataDocuments, ClientRegistry, DocumentClients, DynAuthLimiter, DynClientRegistry,
    JwtAuthConfig, MemoryLimiter, SecretAuthenticator, SecurityEvents, ThrottlePolicy,
    default_runner,
};
use crate::endpoint::{
    AuthorizationServer, BuildError, DEFAULT_MAX_BODY, DeviceSettings, DiscoveryConfig,
    DynamicRegistration, Endpoint, IntrospectionPolicy, IntrospectionSettings, Options,
    ServerInner, check_published_url,
};
use crate::endpoint::{
    DEFAULT_REQUEST_OBJECT_ALGORITHMS, MAX_PUSHED_REQUEST_LIFETIME, PushedRequestSettings,
    RequestObjectSettings,
};
use crate::fetch::Fetcher;
use crate::grant::{Audiences, DynGrantHandler, GrantHandler};
use crate::jose::{Algorithm, KeySet};
use crate::oidc::{OpenIdConnect, OpenIdProvider};
use crate::protocol::{GrantType, Resource, Scope, TokenFormat};
use crate::store::{
    AuthorizationCodeStore, DeviceAuthorizationStore, DynCodeStore, DynDeviceStore, DynGrantStore,
    GrantStore, ReplayCache, Stores, TokenStore,
};
use crate::token::{Clock, MAX_LIFETIME, SystemClock, TokenLifetimes};

mod fapi;

/// Builds an [`AuthorizationServer`].
#[must_use]
pub struct ServerBuilder {
    issuer: String,
    clients: Option<Box<dyn DynClientRegistry>>,
    grant_store: Option<Arc<dyn DynGrantStore>>,
    code_store: Option<Arc<dyn DynCodeStore>>,
    device_store: Option<Arc<dyn DynDeviceStore>>,
    authenticator: Arc<dyn ClientAuthenticator>,
    limiter: Box<dyn DynAuthLimiter>,
    runner: Box<dyn BlockingRunner>,
    grants: Vec<(GrantType, Box<dyn DynGrantHandler>)>,
    clock: Arc<dyn Clock>,
    lifetimes: TokenLifetimes,
    max_body: usize,
    options: Options,
    device: DeviceSettings,
    introspection: IntrospectionSettings,
    discovery: DiscoveryConfig,
    registration: Option<DynamicRegistration>,
    jwt: JwtAuthConfig,
    signing: SigningConfig,
    documents: Option<ClientIdMetadataDocuments>,
    openid: Option<OpenIdConnect>,
    pushed: PushedRequestSettings,
    request_objects: RequestObjectSettings,
    detail_types: crate::grant::DetailTypes,
    dpop: Option<crate::endpoint::Dpop>,
    mutual_tls: Option<crate::endpoint::MutualTls>,
    /// [`fapi2_security_profile`](Self::fapi2_security_profile) was called.
    fapi2: bool,
    /// [`refresh_token_rotation`](Self::refresh_token_rotation), if set.
    refresh_rotation: Option<crate::grant::RefreshTokenRotation>,
}

/// What [`ServerBuilder::resource`], [`ServerBuilder::signing_keys`] and
/// [`ServerBuilder::access_token_signing_alg`] collect.
#[derive(Debug, Default)]
struct SigningConfig {
    resources: Vec<Resource>,
    keys: KeySet,
    access_token_alg: Option<Algorithm>,
}

impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("issuer", &self.issuer)
            .field(
                "grants",
                &self.grants.iter().map(|(g, _)| g).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl AuthorizationServer {
    /// Starts building a server for `issuer` (RFC 8414 §2), e.g.
    /// `https://auth.example.com`.
    pub fn builder(issuer: impl Into<String>) -> ServerBuilder {
        ServerBuilder {
            issuer: issuer.into(),
            clients: None,
            grant_store: None,
            code_store: None,
            device_store: None,
            authenticator: Arc::new(SecretAuthenticator),
            limiter: Box::new(MemoryLimiter::default()),
            runner: default_runner(),
            grants: Vec::new(),
            clock: Arc::new(SystemClock),
            lifetimes: TokenLifetimes::default(),
            max_body: DEFAULT_MAX_BODY,
            options: Options::default(),
            device: DeviceSettings::default(),
            introspection: IntrospectionSettings::default(),
            discovery: DiscoveryConfig::default(),
            registration: None,
            jwt: JwtAuthConfig::default(),
            signing: SigningConfig::default(),
            documents: None,
            openid: None,
            pushed: PushedRequestSettings::default(),
            request_objects: RequestObjectSettings::default(),
            detail_types: crate::grant::DetailTypes::default(),
            dpop: None,
            mutual_tls: None,
            fapi2: false,
            refresh_rotation: None,
        }
    }
}

impl ServerBuilder {
    /// Where registered clients are found. Required.
    pub fn clients(mut self, registry: impl ClientRegistry) -> Self {
        self.clients = Some(Box::new(registry));
        self
    }

    /// One store for everything: grants and tokens, authorization codes and
    /// deferred requests, device authorizations — as [`MemoryStore`](crate::MemoryStore)
    /// and the SQL store are. Replaces any store given before.
    pub fn tokens(self, store: impl TokenStore) -> Self {
        let store = Arc::new(store);
        let mut builder = self;
        builder.grant_store = Some(store.clone());
        builder.code_store = Some(store.clone());
        builder.device_store = Some(store);
        builder
    }

    /// Where grants and their access and refresh tokens are kept. Every
    /// server needs one: this, or [`tokens`](Self::tokens).
    pub fn grant_store(mut self, store: impl GrantStore) -> Self {
        self.grant_store = Some(Arc::new(store));
        self
    }

    /// Where authorization codes and deferred authorization requests are
    /// kept: needed when the server serves the authorization code grant or
    /// the implicit grant. Redeeming a code stores tokens under its grant,
    /// so this store must keep its grants where the
    /// [`grant_store`](Self::grant_store) does — a clone of it, or the same
    /// database.
    pub fn code_store(mut self, store: impl AuthorizationCodeStore) -> Self {
        self.code_store = Some(Arc::new(store));
        self
    }

    /// Where device authorizations are kept: needed when the server serves
    /// the device authorization grant (RFC 8628). Collecting one creates its
    /// grant, so this store must keep its grants where the
    /// [`grant_store`](Self::grant_store) does — a clone of it, or the same
    /// database.
    pub fn device_store(mut self, store: impl DeviceAuthorizationStore) -> Self {
        self.device_store = Some(Arc::new(store));
        self
    }

    /// Replaces the built-in [`SecretAuthenticator`].
    pub fn authenticator(mut self, authenticator: impl ClientAuthenticator) -> Self {
        self.authenticator = Arc::new(authenticator);
        self
    }

    /// Replaces the built-in [`MemoryLimiter`] (to share throttling state
    /// across replicas, say).
    ///
    /// What it limits (RFC 6749 §2.3.1, RFC 6819 §5.1.4.2.3):
    ///
    /// - a client whose secret a person chose (imported, stored with
    ///   Argon2id) has every attempt admitted or refused before its secret is
    ///   checked, so no more are checked than the policy allows. Keys are per
    ///   client, and per [`ThrottleSource`](crate::client::ThrottleSource)
    ///   when the host attaches one to the request: then guesses from one
    ///   source cannot lock the client out at another, at the cost of one
    ///   budget per source for an attacker who has many (a botnet). Without
    ///   a source, anyone who knows the `client_id` can exhaust the client's
    ///   budget and keep it refused (RFC 6819 §4.4.1.11);
    /// - a client with a generated secret (256 bits) is never refused its
    ///   right secret; only its wrong ones are counted, and refused once the
    ///   policy says so.
    ///
    /// Keys are per endpoint family (token and device authorization;
    /// revocation; introspection) unless
    /// [`shared_throttle_keys`](Self::shared_throttle_keys) is set.
    pub fn limiter(mut self, limiter: impl AuthLimiter) -> Self {
        self.limiter = Box::new(limiter);
        self
    }

    /// Counts client-authentication failures at the revocation and
    /// introspection endpoints under the same keys as the token endpoint's.
    ///
    /// By default each family has its own keys, so guesses at `/revoke` or
    /// `/introspect` cannot lock a client out of `/token`. Sharing gives a
    /// guesser one budget across all endpoints instead of one per family
    /// (three in all), at the cost of that lockout.
    pub fn shared_throttle_keys(mut self) -> Self {
        self.options.shared_throttle_keys = true;
        self
    }

    /// Where the slow Argon2id checks of imported client secrets run (see
    /// [`BlockingRunner`]). Default: with the `tokio` feature (on with
    /// `sql`), [`TokioRunner`](crate::client::TokioRunner) — tokio's blocking
    /// pool when a runtime is current, as many at once as the machine has
    /// cores; without it, [`InlineRunner`](crate::client::InlineRunner), in
    /// place. A host on another executor passes its own.
    pub fn blocking_runner(mut self, runner: impl BlockingRunner) -> Self {
        self.runner = Box::new(runner);
        self
    }

    /// Uses the built-in [`MemoryLimiter`] with `policy`.
    pub fn throttle_policy(self, policy: ThrottlePolicy) -> Self {
        self.limiter(MemoryLimiter::new(policy))
    }

    /// Serves a grant type at the token endpoint.
    pub fn grant(mut self, handler: impl GrantHandler) -> Self {
        self.grants.push((handler.grant_type(), Box::new(handler)));
        self
    }

    /// The source of time (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Token lifetimes.
    pub fn token_lifetimes(mut self, lifetimes: TokenLifetimes) -> Self {
        self.lifetimes = lifetimes;
        self
    }

    /// The largest request body accepted, in bytes (default
    /// [`DEFAULT_MAX_BODY`]); larger is `413`.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Accepts PKCE `plain` challenges, and authorization requests with a
    /// challenge but no method (which RFC 7636 §4.3 reads as `plain`).
    ///
    /// Insecure: `plain` gives no protection when the authorization request can
    /// be read (RFC 9700 §2.1.1). Only for clients that cannot compute SHA-256.
    pub fn allow_plain_pkce(mut self) -> Self {
        self.options.allow_plain_pkce = true;
        self
    }

    /// Lets confidential clients use the authorization code grant without
    /// PKCE. Weakens protection against code injection (RFC 9700 §4.5); a
    /// `code_verifier` sent for a code issued without a challenge is still
    /// refused.
    pub fn pkce_optional_for_confidential_clients(mut self) -> Self {
        self.options.pkce_optional_for_confidential = true;
        self
    }

    /// Serves the implicit grant (`response_type=token`, RFC 6749 §4.2) to
    /// clients whose registration also enables it.
    ///
    /// Off by default: RFC 9700 §2.1.2 says clients SHOULD NOT use it, and
    /// OAuth 2.1 removes it — the access token travels in the redirect URI,
    /// where browser history, referrers and injected scripts can read it, and
    /// it cannot be sender-constrained. No refresh token is ever issued with it
    /// (RFC 6749 §4.2.2).
    pub fn enable_implicit_grant(mut self) -> Self {
        self.options.implicit = true;
        self
    }

    /// Where the user enters a device's user code (RFC 8628 §3.2
    /// `verification_uri`): the host's verification page, which calls
    /// [`AuthorizationServer::pending_device_authorization`]. Keep it short —
    /// people type it. Default: `{issuer}/device`. Must be `https` (`http`
    /// only on loopback), without a fragment; a query is kept, and
    /// `verification_uri_complete` adds `user_code` to it.
    pub fn device_verification_uri(mut self, uri: impl Into<String>) -> Self {
        self.device.verification_uri = Some(uri.into());
        self
    }

    /// How long device codes and user codes live (RFC 8628 §3.2
    /// `expires_in`). Default: [`DEFAULT_DEVICE_CODE_LIFETIME`](crate::endpoint::DEFAULT_DEVICE_CODE_LIFETIME),
    /// 10 minutes. Longer gives guessers and phishers more time (§5.1, §5.4).
    /// At most [`MAX_DEVICE_CODE_LIFETIME`](crate::endpoint::MAX_DEVICE_CODE_LIFETIME),
    /// a day, and at least the polling interval, or [`build`](Self::build)
    /// fails with [`BuildError::InvalidDeviceFlow`].
    pub fn device_code_lifetime(mut self, lifetime: Duration) -> Self {
        self.device.lifetime = lifetime;
        self
    }

    /// The least time a device must leave between polls (RFC 8628 §3.2
    /// `interval`). Default: [`DEFAULT_POLLING_INTERVAL`](crate::endpoint::DEFAULT_POLLING_INTERVAL),
    /// 5 seconds.
    pub fn device_polling_interval(mut self, interval: Duration) -> Self {
        self.device.interval = interval;
        self
    }

    /// Replaces the limiter of failed user-code lookups on the verification
    /// page (RFC 8628 §5.1) — to share it across replicas, say. It is a
    /// separate instance from the client-authentication limiter. Default: a
    /// [`MemoryLimiter`] with [`default_user_code_policy`](crate::endpoint::default_user_code_policy).
    pub fn user_code_limiter(mut self, limiter: impl AuthLimiter) -> Self {
        self.device.set_limiter(limiter);
        self
    }

    /// Uses the built-in [`MemoryLimiter`] with `policy` for failed
    /// user-code lookups.
    pub fn user_code_throttle_policy(self, policy: ThrottlePolicy) -> Self {
        self.user_code_limiter(MemoryLimiter::new(policy))
    }

    /// Lets a resource server call the introspection endpoint (RFC 7662
    /// §2.1) by presenting `Authorization: Bearer <secret>`; `name` names it
    /// to the [`IntrospectionPolicy`] and in security events.
    ///
    /// Only the secret's SHA-256 is kept, and presented secrets are compared
    /// in constant time. Failed attempts are not throttled (they could only
    /// be counted under one key all resource servers share, which anyone
    /// could then keep blocked: a denial of service against every resource
    /// server), so the secret must have high entropy: at least
    /// [`MIN_RESOURCE_SERVER_SECRET_LEN`](crate::endpoint::MIN_RESOURCE_SERVER_SECRET_LEN)
    /// characters from a CSPRNG, in the `b64token` syntax of RFC 6750 §2.1
    /// (base64 or base64url will do). Names are 1 to 128 visible ASCII
    /// characters; names and secrets are unique. A credential breaking these
    /// rules makes [`build`](Self::build) fail with
    /// [`BuildError::InvalidIntrospectionCredential`].
    pub fn introspection_credential(mut self, name: &str, secret: &str) -> Self {
        self.introspection.add_credential(name, secret);
        self
    }

    /// Replaces the [`DefaultIntrospectionPolicy`](crate::endpoint::DefaultIntrospectionPolicy)
    /// deciding which caller may introspect which token (RFC 7662 §4, §5).
    pub fn introspection_policy(mut self, policy: impl IntrospectionPolicy) -> Self {
        self.introspection.policy = Box::new(policy);
        self
    }

    /// Builds the server.
    pub fn build(mut self) -> Result<AuthorizationServer, BuildError> {
        self.apply_fapi2()?;
        self.options.refresh_rotation = self.resolved_refresh_rotation();
        let stores = self.stores()?;
        if let Some(why) = self.introspection.invalid() {
            return Err(BuildError::InvalidIntrospectionCredential(why));
        }
        let issuer_url = validate_issuer(&self.issuer)?;
        let basic_challenge = HeaderValue::from_str(&format!("Basic realm=\"{}\"", self.issuer))
            .map_err(|_| BuildError::InvalidIssuer("not usable as a realm"))?;
        let device = self.device.build(&issuer_url)?;
        if let Some(which) = self.lifetimes.invalid() {
            return Err(BuildError::InvalidLifetime(which));
        }
        if self.pushed.lifetime.is_zero() || self.pushed.lifetime > MAX_PUSHED_REQUEST_LIFETIME {
            return Err(BuildError::InvalidLifetime("pushed_authorization_request"));
        }
        if self.request_objects.algorithms.is_empty()
            || self
                .request_objects
                .algorithms
                .iter()
                .any(|a| !DEFAULT_REQUEST_OBJECT_ALGORITHMS.contains(a))
        {
            return Err(BuildError::InvalidClientAuthentication(
                "request objects are signed with ES256, RS256, PS256 or EdDSA: at least one, \
                 and no other",
            ));
        }
        for (i, (g, _)) in self.grants.iter().enumerate() {
            if self.grants.iter().skip(i + 1).any(|(h, _)| h == g) {
                return Err(BuildError::DuplicateGrant(g.to_string()));
            }
        }
        let discovery = self.discovery.resolve(&issuer_url)?;
        if let Some(registration) = &self.registration {
            registration.check()?;
        }
        let serves_refresh = self
            .grants
            .iter()
            .any(|(g, _)| *g == GrantType::REFRESH_TOKEN);
        let keys = self.signing.keys.clone();
        let audiences = self.signing.build()?;
        let openid = match self.openid {
            Some(config) => Some(Arc::new(openid_provider(
                config,
                keys,
                self.grants
                    .iter()
                    .any(|(g, _)| *g == GrantType::AUTHORIZATION_CODE),
            )?)),
            None => None,
        };
        let mut options = self.options;
        let mut clients = self.clients.ok_or(BuildError::MissingClients)?;
        if let Some(documents) = self.documents {
            options.client_id_metadata_documents = true;
            clients = Box::new(
                DocumentClients::new(clients, documents, self.clock.clone())
                    .accepting_detail_types(self.detail_types.supported()),
            );
        }
        let fetcher = self.jwt.fetcher.clone();
        let jwt_auth = self
            .jwt
            .build()
            .map_err(BuildError::InvalidClientAuthentication)?;
        let mut auth_methods = self.authenticator.methods().to_vec();
        for method in jwt_auth.iter().flat_map(|jwt| jwt.methods()) {
            if !auth_methods.contains(&method) {
                auth_methods.push(method);
            }
        }
        let mutual_tls = match &self.mutual_tls {
            Some(mtls) => Some(crate::endpoint::MutualTlsConfig {
                aliases: mtls.aliases().map_err(BuildError::InvalidMutualTls)?,
            }),
            None => None,
        };
        if mutual_tls.is_some() {
            for method in [
                crate::client::AuthMethod::TLS_CLIENT_AUTH,
                crate::client::AuthMethod::SELF_SIGNED_TLS_CLIENT_AUTH,
            ] {
                if !auth_methods.contains(&method) {
                    auth_methods.push(method);
                }
            }
        }
        if options.fapi2 {
            // FAPI 2.0 §5.3.2.1 item 6: what the metadata and dynamic
            // registration offer.
            auth_methods.retain(|m| *m == AuthMethod::PRIVATE_KEY_JWT || m.is_mutual_tls());
        }
        Ok(AuthorizationServer {
            inner: Arc::new(ServerInner {
                issuer: self.issuer,
                issuer_url,
                clients,
                stores,
                authenticator: self.authenticator,
                limiter: self.limiter,
                runner: self.runner,
                auth_events: SecurityEvents::default(),
                grants: self.grants,
                serves_refresh,
                clock: self.clock,
                lifetimes: self.lifetimes,
                max_body: self.max_body,
                basic_challenge,
                options,
                device,
                introspection: self.introspection,
                discovery,
                audiences,
                registration: self.registration,
                jwt_auth,
                auth_methods,
                fetcher,
                openid,
                pushed: self.pushed,
                request_objects: self.request_objects,
                detail_types: self.detail_types,
                dpop: self.dpop,
                mutual_tls,
            }),
        })
    }
}

/// DPoP: sender-constrained tokens (RFC 9449).
impl ServerBuilder {
    /// Accepts DPoP proofs (RFC 9449) at the token endpoint: a token
    /// request with a valid proof gets `token_type: DPoP` and tokens bound
    /// to the proof's key (`cnf.jkt`); a public client's refresh tokens are
    /// bound too (§5). The metadata lists
    /// `dpop_signing_alg_values_supported`. Off by default: without it a
    /// `DPoP` header is ignored and every token is a bearer token.
    pub fn dpop(mut self, dpop: crate::endpoint::Dpop) -> Self {
        self.dpop = Some(dpop);
        self
    }
}

/// Mutual TLS: client authentication and certificate-bound tokens (RFC 8705).
impl ServerBuilder {
    /// Accepts mutual-TLS client authentication — `tls_client_auth` (RFC
    /// 8705 §2.1) and `self_signed_tls_client_auth` (§2.2) — at every
    /// endpoint where a client authenticates, and binds the access tokens
    /// of clients registered with `tls_client_certificate_bound_access_tokens`
    /// to their certificate (`cnf.x5t#S256`, §3.1), as
    /// [`MutualTls`](crate::endpoint::MutualTls) describes. The host's TLS
    /// layer hands over each connection's client certificate as a
    /// [`ClientCertificate`](crate::token::ClientCertificate) request
    /// extension. Off by default: without it certificates are ignored and
    /// clients registered for these methods cannot authenticate.
    ///
    /// With [`dpop`](Self::dpop) too, a token request carrying a DPoP proof
    /// gets a DPoP-bound token; one without, of a client registered for
    /// certificate binding, a certificate-bound one. A token carries one
    /// `cnf`.
    pub fn mutual_tls(mut self, mutual_tls: crate::endpoint::MutualTls) -> Self {
        self.mutual_tls = Some(mutual_tls);
        self
    }
}

/// Discovery settings (RFC 8414).
impl ServerBuilder {
    /// Publishes `endpoint` at `url` instead of the issuer joined with
    /// [`Endpoint::default_path`]. `url` is a path (`/oauth/token`), joined to
    /// the issuer's path, or an absolute `https` URL (`http` only on a
    /// loopback host) without query or fragment. A bad value makes
    /// [`build`](Self::build) fail with [`BuildError::InvalidEndpointUrl`].
    pub fn endpoint(mut self, endpoint: Endpoint, url: impl Into<String>) -> Self {
        self.discovery.endpoints.push((endpoint, url.into()));
        self
    }

    /// The scope values to advertise as `scopes_supported` (RFC 8414 §2:
    /// RECOMMENDED). Omitted from the metadata unless set.
    pub fn scopes_supported(mut self, scope: Scope) -> Self {
        self.discovery.scopes_supported = Some(scope);
        self
    }

    /// A page for developers about using this server, and how to register
    /// clients (`service_documentation`). An absolute `http(s)` URL.
    pub fn service_documentation(mut self, url: impl Into<String>) -> Self {
        self.discovery.service_documentation = Some(url.into());
        self
    }

    /// The server's requirements on how clients use its data
    /// (`op_policy_uri`). An absolute `http(s)` URL.
    pub fn op_policy_uri(mut self, url: impl Into<String>) -> Self {
        self.discovery.op_policy_uri = Some(url.into());
        self
    }

    /// The server's terms of service (`op_tos_uri`). An absolute `http(s)`
    /// URL.
    pub fn op_tos_uri(mut self, url: impl Into<String>) -> Self {
        self.discovery.op_tos_uri = Some(url.into());
        self
    }
}

/// Dynamic client registration (RFC 7591, RFC 7592).
impl ServerBuilder {
    /// Enables the registration endpoint and the client configuration
    /// endpoints. Off by default.
    pub fn dynamic_registration(mut self, registration: DynamicRegistration) -> Self {
        self.registration = Some(registration);
        self
    }
}

/// JWT client authentication (RFC 7523 §2.2, §3): `private_key_jwt` and
/// `client_secret_jwt`, described in the [`client` module docs](crate::client).
impl ServerBuilder {
    /// Where the `jti`s of accepted client assertions are recorded, so that
    /// none is accepted twice (RFC 7523 §3 item 7): the
    /// [`MemoryStore`](crate::MemoryStore) for one process, the SQL store
    /// for replicas sharing a database. Turns on `private_key_jwt` at every
    /// endpoint where clients authenticate, and in the metadata and dynamic
    /// registration; off without one.
    pub fn replay_cache(mut self, cache: impl ReplayCache) -> Self {
        self.jwt.replay = Some(Arc::new(cache));
        self
    }

    /// The host's HTTP client, through which clients' `jwks_uri` key sets
    /// are fetched (see [`Fetcher`] for the SSRF care it needs). Without
    /// one, a registration naming a `jwks_uri` is refused and clients
    /// register `jwks` inline. Dynamic registration also fetches a
    /// client's `sector_identifier_uri` through it (OpenID Connect
    /// Registration §5), and refuses that member without one.
    pub fn fetcher(mut self, fetcher: impl Fetcher) -> Self {
        self.jwt.fetcher = Some(Arc::new(fetcher));
        self
    }

    /// What client assertions must satisfy (lifetime, leeway) and how
    /// `jwks_uri` key sets are cached. Default:
    /// [`ClientAssertionSettings::default`]. Values out of range make
    /// [`build`](Self::build) fail with
    /// [`BuildError::InvalidClientAuthentication`].
    pub fn client_assertion_settings(mut self, settings: ClientAssertionSettings) -> Self {
        self.jwt.settings = settings;
        self
    }

    /// Offers `client_secret_jwt`: the secrets of its clients are derived
    /// from `key` (at least
    /// [`MIN_CLIENT_SECRET_JWT_KEY_LEN`](crate::client::MIN_CLIENT_SECRET_JWT_KEY_LEN)
    /// random bytes, kept as secret as a signing key), never stored — see
    /// the [`client` module docs](crate::client). Changing the key changes
    /// every such client's secret. Needs a
    /// [`replay_cache`](Self::replay_cache); a short key or a missing cache
    /// makes [`build`](Self::build) fail with
    /// [`BuildError::InvalidClientAuthentication`].
    pub fn client_secret_jwt_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.jwt.secret_key = Some(key.into());
        self
    }
}

impl ServerBuilder {
    /// The stores the configured grants and endpoints use, or the first one
    /// missing. Stores given but unused are dropped.
    fn stores(&self) -> Result<Stores, BuildError> {
        let serves = |grant: GrantType| self.grants.iter().any(|(g, _)| *g == grant);
        let grants = self.grant_store.clone().ok_or(BuildError::MissingStore(
            "a grant store (ServerBuilder::grant_store, or ServerBuilder::tokens)",
        ))?;
        let needs_codes = serves(GrantType::AUTHORIZATION_CODE) || self.options.implicit;
        let codes = match (&self.code_store, needs_codes) {
            (Some(codes), true) => Some(codes.clone()),
            (None, true) => {
                return Err(BuildError::MissingStore(
                    "an authorization code store, for the authorization code or implicit grant \
                     (ServerBuilder::code_store, or ServerBuilder::tokens)",
                ));
            }
            (_, false) => None,
        };
        let devices = match (&self.device_store, serves(GrantType::DEVICE_CODE)) {
            (Some(devices), true) => Some(devices.clone()),
            (None, true) => {
                return Err(BuildError::MissingStore(
                    "a device authorization store, for the device authorization grant \
                     (ServerBuilder::device_store, or ServerBuilder::tokens)",
                ));
            }
            (_, false) => None,
        };
        Ok(Stores {
            grants,
            codes,
            devices,
        })
    }
}

/// The issuer parsed, when it is a URL the server may publish as it was
/// given. It is published verbatim, so it must already be in the form the
/// URL parser writes (lower-case scheme and host, no default port, no
/// whitespace or dot segments): then the endpoint URLs derived from it start
/// with it. The one allowance is the `/` a host-only URL's path is written
/// as, which the identifier may leave out (`https://auth.example`).
fn validate_issuer(issuer: &str) -> Result<Url, BuildError> {
    let url = Url::parse(issuer).map_err(|_| BuildError::InvalidIssuer("not an absolute URL"))?;
    let written = url.as_str();
    if written != issuer && written.strip_suffix('/') != Some(issuer) {
        return Err(BuildError::InvalidIssuer(
            "not in normal form (lower-case scheme and host, no default port, no dot segments)",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(BuildError::InvalidIssuer(
            "must not have a query or fragment",
        ));
    }
    check_published_url(&url).map_err(BuildError::InvalidIssuer)?;
    Ok(url)
}

/// OpenID Connect.
impl ServerBuilder {
    /// Makes the server an OpenID Provider (OpenID Connect Core 1.0): an
    /// authorization request whose scope includes `openid` is an
    /// authentication request, and its code's token response carries an ID
    /// token signed with a key of [`signing_keys`](Self::signing_keys). See
    /// [`crate::oidc`].
    ///
    /// [`build`](Self::build) fails with
    /// [`BuildError::InvalidOpenIdConnect`] unless the server serves the
    /// authorization code grant and its key set has an active key for the
    /// ID token algorithm.
    pub fn openid_connect(mut self, config: OpenIdConnect) -> Self {
        self.openid = Some(config);
        self
    }
}

/// The OpenID Provider `config` describes, checked.
fn openid_provider(
    config: OpenIdConnect,
    keys: KeySet,
    serves_code: bool,
) -> Result<OpenIdProvider, BuildError> {
    if !serves_code {
        return Err(BuildError::InvalidOpenIdConnect(
            "ID tokens need the authorization code grant",
        ));
    }
    if !config.id_token_alg.is_asymmetric() || keys.active(config.id_token_alg).is_none() {
        return Err(BuildError::InvalidOpenIdConnect(
            "the key set has no active key for the ID token algorithm",
        ));
    }
    if config.id_token_lifetime.is_zero() || config.id_token_lifetime > MAX_LIFETIME {
        return Err(BuildError::InvalidOpenIdConnect(
            "the ID token lifetime is zero or too long",
        ));
    }
    Ok(config.into_provider(keys))
}

/// Signed tokens and audiences: keys (RFC 7517), resources (RFC 8707) and
/// JWT access tokens (RFC 9068).
impl ServerBuilder {
    /// The server's signing keys: the JWKS it publishes at `jwks_uri`, and
    /// the keys that sign its JWTs. The set is shared with the server, so a
    /// key staged or activated on it later
    /// ([`AuthorizationServer::rotate_signing_key`]) takes effect at once.
    pub fn signing_keys(mut self, keys: KeySet) -> Self {
        self.signing.keys = keys;
        self
    }

    /// A protected resource the server issues audience-restricted tokens
    /// for (RFC 8707): a `resource` parameter naming it is accepted, one
    /// naming any other is `invalid_target`.
    pub fn resource(mut self, resource: Resource) -> Self {
        self.signing.resources.push(resource);
        self
    }

    /// The algorithm that signs JWT access tokens. Default: the first of
    /// ES256, RS256, PS256 and EdDSA the key set has an active key for.
    pub fn access_token_signing_alg(mut self, algorithm: Algorithm) -> Self {
        self.signing.access_token_alg = Some(algorithm);
        self
    }
}

impl SigningConfig {
    fn build(self) -> Result<Audiences, BuildError> {
        let mut ids: Vec<&str> = self
            .resources
            .iter()
            .map(|r| r.indicator().as_str())
            .collect();
        ids.sort_unstable();
        if ids.windows(2).any(|pair| pair.first() == pair.last()) {
            return Err(BuildError::InvalidResource(
                "two resources share an identifier",
            ));
        }
        if self
            .resources
            .iter()
            .filter_map(Resource::lifetime)
            .any(|d| d.is_zero() || d > MAX_LIFETIME)
        {
            return Err(BuildError::InvalidResource(
                "an access-token lifetime is zero or too long",
            ));
        }
        let alg = match self.access_token_alg {
            Some(alg) if self.keys.active(alg).is_none() => {
                return Err(BuildError::MissingSigningKey(alg.as_str()));
            }
            Some(alg) => Some(alg),
            None => [
                Algorithm::Es256,
                Algorithm::Rs256,
                Algorithm::Ps256,
                Algorithm::EdDsa,
            ]
            .into_iter()
            .find(|alg| self.keys.active(*alg).is_some()),
        };
        let wants_jwt = self
            .resources
            .iter()
            .any(|r| r.token_format() == TokenFormat::Jwt);
        if wants_jwt && alg.is_none() {
            return Err(BuildError::MissingSigningKey(
                "the key set has no active key",
            ));
        }
        Ok(Audiences::new(self.resources, self.keys, alg))
    }
}

/// Client ID Metadata Documents
/// (draft-ietf-oauth-client-id-metadata-document-01).
impl ServerBuilder {
    /// Resolves a `client_id` that is an `https` URL by fetching the client
    /// metadata document it names, through the host's fetcher, in front of
    /// the registry given to [`clients`](Self::clients) (which keeps every
    /// other identifier, and any client registered under a URL). The
    /// metadata then advertises `client_id_metadata_document_supported`.
    /// The rules are on [`ClientIdMetadataDocuments`]' module,
    /// [`client`](crate::client).
    pub fn client_id_metadata_documents(mut self, documents: ClientIdMetadataDocuments) -> Self {
        self.documents = Some(documents);
        self
    }
}

/// Pushed authorization requests (RFC 9126).
impl ServerBuilder {
    /// How long a pushed request's `request_uri` works (RFC 9126 §2.2
    /// `expires_in`): default
    /// [`DEFAULT_PUSHED_REQUEST_LIFETIME`](crate::endpoint::DEFAULT_PUSHED_REQUEST_LIFETIME)
    /// (60 s); zero or more than [`MAX_PUSHED_REQUEST_LIFETIME`] is
    /// [`BuildError::InvalidLifetime`].
    pub fn pushed_authorization_request_lifetime(mut self, lifetime: Duration) -> Self {
        self.pushed.lifetime = lifetime;
        self
    }

    /// Requires every client's authorization requests to be pushed first
    /// (RFC 9126 §5 `require_pushed_authorization_requests`, published in the
    /// metadata): the authorization endpoint refuses any other request. A
    /// single client can be held to it with
    /// [`ClientRegistration::require_pushed_authorization_requests`](crate::client::ClientRegistration::require_pushed_authorization_requests).
    pub fn require_pushed_authorization_requests(mut self) -> Self {
        self.pushed.required = true;
        self
    }
}

/// Request objects (RFC 9101).
impl ServerBuilder {
    /// Requires every authorization request to be a signed request object
    /// (RFC 9101 §10.5 `require_signed_request_object`, published in the
    /// metadata), sent by value or pushed (RFC 9126). A single client can be
    /// held to it with
    /// [`ClientRegistration::require_signed_request_object`](crate::client::ClientRegistration::require_signed_request_object).
    /// Request objects need
    /// [`replay_cache`](Self::replay_cache).
    pub fn require_signed_request_object(mut self) -> Self {
        self.request_objects.required = true;
        self
    }

    /// The algorithms request objects may be signed with (RFC 9101 §10.5
    /// `request_object_signing_alg_values_supported`): default
    /// [`DEFAULT_REQUEST_OBJECT_ALGORITHMS`], and never anything else — no
    /// `none`, no HS256 (a request object is verified with the client's
    /// registered public keys). An empty list, or one with another
    /// algorithm, is [`BuildError::InvalidClientAuthentication`].
    pub fn request_object_signing_algs(
        mut self,
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Self {
        self.request_objects.algorithms = algorithms.into_iter().collect();
        self
    }
}

/// Rich authorization requests (RFC 9396).
impl ServerBuilder {
    /// Accepts authorization details (RFC 9396 §2) of type `type_name`,
    /// each object checked by `validator` — a
    /// [`AuthorizationDetailValidator`](crate::grant::AuthorizationDetailValidator)
    /// or a closure `Fn(&AuthorizationDetail) -> Result<(), &'static str>` —
    /// and published in `authorization_details_types_supported` (§10.1).
    /// Only clients registered for the type
    /// ([`ClientRegistration::authorization_details_types`](crate::client::ClientRegistration::authorization_details_types))
    /// may ask for it. Registering a type again replaces its validator.
    pub fn authorization_details_type(
        mut self,
        type_name: impl Into<String>,
        validator: impl crate::grant::AuthorizationDetailValidator,
    ) -> Self {
        self.detail_types
            .register(type_name.into(), Arc::new(validator));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_rules() {
        assert!(validate_issuer("https://auth.example").is_ok());
        assert!(validate_issuer("https://auth.example/tenant1").is_ok());
        assert!(validate_issuer("http://127.0.0.1:8080").is_ok());
        assert!(validate_issuer("http://localhost:8080").is_ok());
        assert!(validate_issuer("http://auth.example").is_err());
        assert!(validate_issuer("https://auth.example?x=1").is_err());
        assert!(validate_issuer("https://auth.example#x").is_err());
        assert!(validate_issuer("https://u@auth.example").is_err());
        assert!(validate_issuer("auth.example").is_err());
        // Published verbatim, so only the form the URL parser writes, less
        // the root path's `/`.
        assert!(validate_issuer("https://auth.example/").is_ok());
        assert!(validate_issuer("https://auth.example/tenant1/").is_ok());
        assert!(validate_issuer("http://[::1]:8080").is_ok());
        for unnormalised in [
            "HTTPS://auth.example",
            "https://Auth.Example",
            "https://auth.example:443",
            "https://auth.example/a/../b",
            " https://auth.example",
            "https://auth.example/ten ant",
        ] {
            assert_eq!(
                validate_issuer(unnormalised).map(|_| ()),
                Err(BuildError::InvalidIssuer(
                    "not in normal form (lower-case scheme and host, no default port, no dot segments)"
                )),
                "{unnormalised:?}"
            );
        }
    }
}
