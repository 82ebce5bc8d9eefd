//! The authorization server object and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::HeaderValue;
use url::Url;

use crate::client::{
    AuthLimiter, AuthMethod, Authentication, BlockingRunner, ClientAuthenticator,
    ClientRegistration, ClientRegistry, DynAuthLimiter, DynClientRegistry, EndpointFamily,
    MemoryLimiter, Registered, RegistrationError, SecretAuthenticator, SecurityEvents,
    ThrottlePolicy, default_runner,
};
use crate::endpoint::{BuildError, check_published_url};
use crate::endpoint::{DeviceFlow, DeviceSettings};
use crate::endpoint::{Discovery, DiscoveryConfig, DynamicRegistration};
use crate::endpoint::{IntrospectionPolicy, IntrospectionSettings};
use crate::grant::{DynGrantHandler, GrantHandler};
use crate::protocol::GrantType;
use crate::store::AccessTokenInfo;
use crate::store::{
    AuthorizationCodeStore, DeviceAuthorizationStore, DynCodeStore, DynDeviceStore, DynGrantStore,
    GrantId, GrantStore, StoreError, Stores, TokenStore,
};
use crate::token::{Clock, SystemClock, TokenHash, TokenKind, TokenLifetimes};

/// The default limit on a request body: 64 KiB, far above any real token
/// request.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// An OAuth 2.0 authorization server.
///
/// Cheap to clone (one `Arc`), `Send + Sync`, and free of per-request state:
/// clones — or replicas in other processes sharing the same store — serve
/// requests interchangeably. It does no IO of its own and starts no runtime;
/// its endpoint methods are futures any executor can drive.
#[derive(Clone)]
pub struct AuthorizationServer {
    pub(crate) inner: Arc<ServerInner>,
}

pub(crate) struct ServerInner {
    /// The issuer identifier exactly as configured: what the metadata, `iss`
    /// and the realm publish (RFC 8414 §3.3 and RFC 9207 §2.4 compare it as
    /// a string).
    pub(crate) issuer: String,
    /// The issuer parsed, for deriving endpoint URLs and the metadata path.
    pub(crate) issuer_url: Url,
    pub(crate) clients: Box<dyn DynClientRegistry>,
    pub(crate) stores: Stores,
    pub(crate) authenticator: Arc<dyn ClientAuthenticator>,
    pub(crate) limiter: Box<dyn DynAuthLimiter>,
    /// Where imported secrets' slow hashes run.
    pub(crate) runner: Box<dyn BlockingRunner>,
    /// Client-authentication security events, aggregated.
    pub(crate) auth_events: SecurityEvents,
    pub(crate) grants: Vec<(GrantType, Box<dyn DynGrantHandler>)>,
    /// Whether `grants` has the `refresh_token` grant.
    pub(crate) serves_refresh: bool,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) lifetimes: TokenLifetimes,
    pub(crate) max_body: usize,
    /// `Basic realm="<issuer>"`, sent with a 401 (RFC 6749 §5.2).
    pub(crate) basic_challenge: HeaderValue,
    pub(crate) options: Options,
    /// The device authorization grant's settings (RFC 8628).
    pub(crate) device: DeviceFlow,
    /// Who may call the introspection endpoint, about which tokens.
    pub(crate) introspection: IntrospectionSettings,
    /// Endpoint URLs and what else the metadata document says (RFC 8414).
    pub(crate) discovery: Discovery,
    /// Dynamic client registration (RFC 7591), when enabled.
    pub(crate) registration: Option<DynamicRegistration>,
}

/// Switches for behaviour the secure profile leaves off.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    /// Accept `code_challenge_method=plain` (RFC 7636 §4.2).
    pub(crate) allow_plain_pkce: bool,
    /// Let confidential clients omit PKCE.
    pub(crate) pkce_optional_for_confidential: bool,
    /// Serve `response_type=token` (RFC 6749 §4.2) to clients registered for it.
    pub(crate) implicit: bool,
    /// Count client-authentication failures at every endpoint under one key.
    pub(crate) shared_throttle_keys: bool,
}

impl ServerInner {
    /// Whether the token endpoint serves `grant`.
    pub(crate) fn serves(&self, grant: &GrantType) -> bool {
        self.grants.iter().any(|(g, _)| g == grant)
    }

    /// Client authentication at an endpoint of `family`.
    pub(crate) fn authentication(&self, family: EndpointFamily) -> Authentication<'_> {
        Authentication {
            authenticator: &self.authenticator,
            clients: &*self.clients,
            limiter: &*self.limiter,
            runner: &*self.runner,
            events: &self.auth_events,
            family,
            shared_keys: self.options.shared_throttle_keys,
        }
    }
}

impl fmt::Debug for ServerInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("issuer", &self.issuer.as_str())
            .field(
                "grants",
                &self.grants.iter().map(|(g, _)| g).collect::<Vec<_>>(),
            )
            .field("lifetimes", &self.lifetimes)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// Why [`AuthorizationServer::register_client`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterClientError {
    /// The registration is invalid.
    #[error(transparent)]
    Invalid(#[from] RegistrationError),
    /// The registry failed, or the `client_id` is taken ([`StoreError::Conflict`]).
    #[error(transparent)]
    Storage(#[from] StoreError),
}

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
    pub(crate) discovery: DiscoveryConfig,
    pub(crate) registration: Option<DynamicRegistration>,
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
        }
    }

    /// The issuer identifier (RFC 8414 §2), exactly as given to
    /// [`builder`](Self::builder): what the metadata's `issuer`, the `iss`
    /// authorization response parameter (RFC 9207) and the Basic realm
    /// carry. Clients compare it as a string (RFC 8414 §3.3), so no `/` is
    /// added to a host-only issuer.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The issuer parsed as a URL, for deriving URLs on its origin. Not the
    /// identifier to publish or compare: a host-only issuer's URL is written
    /// with a trailing `/` (`https://auth.example/`); use
    /// [`issuer`](Self::issuer) for that.
    pub fn issuer_url(&self) -> &Url {
        &self.inner.issuer_url
    }

    /// The grant types served at the token endpoint.
    pub fn grant_types(&self) -> impl Iterator<Item = &GrantType> {
        self.inner.grants.iter().map(|(g, _)| g)
    }

    /// The client authentication methods the token endpoint accepts.
    pub fn token_endpoint_auth_methods(&self) -> &[AuthMethod] {
        self.inner.authenticator.methods()
    }

    /// Validates a registration, stores the client, and returns it with its
    /// secret (shown this once).
    pub async fn register_client(
        &self,
        registration: ClientRegistration,
    ) -> Result<Registered, RegisterClientError> {
        let registered = registration.register()?;
        self.inner
            .clients
            .insert_client(registered.client.clone())
            .await?;
        tracing::info!(
            target: "portcullis::security",
            event = "client_registered",
            client_id = %registered.client.id(),
        );
        Ok(registered)
    }

    /// The live access token `token`, if it is one: issued by this server, not
    /// expired, and its grant not revoked. Anything else — a malformed string, a
    /// refresh token, an expired or revoked token — is `None`.
    pub async fn access_token_info(
        &self,
        token: &str,
    ) -> Result<Option<AccessTokenInfo>, StoreError> {
        if !TokenKind::AccessToken.matches(token) {
            return Ok(None);
        }
        let hash = TokenHash::of(token);
        let Some((record, grant)) = self.inner.stores.grants.find_access_token(&hash).await? else {
            return Ok(None);
        };
        let now = self.inner.clock.now();
        if record.expires_at <= now || grant.expires_at <= now {
            return Ok(None);
        }
        Ok(Some(AccessTokenInfo {
            client_id: grant.client_id,
            subject: grant.subject,
            scope: record.scope,
            issued_at: record.issued_at,
            expires_at: record.expires_at,
            grant_id: grant.id,
        }))
    }

    /// Revokes a grant and every token derived from it. Returns whether the
    /// grant existed.
    pub async fn revoke_grant(&self, id: &GrantId) -> Result<bool, StoreError> {
        let existed = self.inner.stores.grants.revoke_grant(id).await?;
        tracing::info!(target: "portcullis::security", event = "grant_revoked", grant_id = %id, existed);
        Ok(existed)
    }

    /// Deletes expired grants, tokens, codes, pending requests and device
    /// authorizations from the stores; returns how many went.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        let now = self.inner.clock.now();
        let stores = &self.inner.stores;
        let mut purged = stores.grants.purge_expired(now).await?;
        if let Some(codes) = &stores.codes {
            purged += codes.purge_expired_codes(now).await?;
        }
        if let Some(devices) = &stores.devices {
            purged += devices.purge_expired_device_authorizations(now).await?;
        }
        Ok(purged)
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
    pub fn build(self) -> Result<AuthorizationServer, BuildError> {
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
        Ok(AuthorizationServer {
            inner: Arc::new(ServerInner {
                issuer: self.issuer,
                issuer_url,
                clients: self.clients.ok_or(BuildError::MissingClients)?,
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
                options: self.options,
                device,
                introspection: self.introspection,
                discovery,
                registration: self.registration,
            }),
        })
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

/// Compile-time guarantees: the server can be shared across threads and
/// tasks, and its endpoint futures can be spawned on a multi-threaded runtime.
#[allow(dead_code)]
fn _assert_send_sync() {
    fn send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    fn send<T: Send>(_: T) {}
    send_sync_clone::<AuthorizationServer>();
    let server: Option<AuthorizationServer> = None;
    if let Some(server) = server {
        send(async move {
            let request = http::Request::new(Vec::<u8>::new());
            server.token_endpoint(request).await
        });
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
