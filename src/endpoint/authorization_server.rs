//! The authorization server object: its state, shared by every endpoint,
//! and the methods that are no endpoint of their own. The endpoint files
//! extend it with their methods; [`ServerBuilder`](crate::ServerBuilder)
//! builds it.

use std::fmt;
use std::sync::Arc;

use http::header::HeaderValue;
use url::Url;

use super::device_settings::DeviceFlow;
use super::discovery::Discovery;
use super::introspection_access::IntrospectionSettings;
use super::published_urls::Endpoint;
use super::registration_settings::DynamicRegistration;
use crate::client::{
    AssertionAudiences, AuthMethod, Authentication, BlockingRunner, ClientAuthenticator,
    ClientRegistration, DynAuthLimiter, DynClientRegistry, EndpointFamily, JwtClientAuth,
    Registered, RegistrationError, SecurityEvents,
};
use crate::fetch::Fetcher;
use crate::grant::{Audiences, DynGrantHandler};
use crate::oidc::OpenIdProvider;
use crate::protocol::GrantType;
use crate::store::{AccessTokenInfo, AccessTokenRecord, GrantId, GrantRecord, StoreError, Stores};
use crate::token::{Clock, TokenHash, TokenLifetimes, is_access_token};

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
    /// The resources tokens are issued for (RFC 8707), and the keys that
    /// sign JWTs.
    pub(crate) audiences: Audiences,
    /// Dynamic client registration (RFC 7591), when enabled.
    pub(crate) registration: Option<DynamicRegistration>,
    /// JWT client authentication (RFC 7523), when a replay cache is
    /// configured.
    pub(crate) jwt_auth: Option<JwtClientAuth>,
    /// Every client authentication method accepted: the authenticator's,
    /// then the JWT ones.
    pub(crate) auth_methods: Vec<AuthMethod>,
    /// The host's HTTP client ([`ServerBuilder::fetcher`](crate::ServerBuilder::fetcher)),
    /// for the documents registration fetches.
    pub(crate) fetcher: Option<Arc<dyn Fetcher>>,
    /// The OpenID Provider, when the server is one.
    pub(crate) openid: Option<Arc<OpenIdProvider>>,
    /// Pushed authorization requests (RFC 9126).
    pub(crate) pushed: super::PushedRequestSettings,
    /// Request objects (RFC 9101).
    pub(crate) request_objects: super::RequestObjectSettings,
    /// The authorization details types accepted (RFC 9396).
    pub(crate) detail_types: crate::grant::DetailTypes,
    /// DPoP (RFC 9449), when enabled.
    pub(crate) dpop: Option<super::dpop::Dpop>,
    /// Mutual TLS (RFC 8705), when enabled.
    pub(crate) mutual_tls: Option<super::MutualTlsConfig>,
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
    /// Resolve URL `client_id`s from client ID metadata documents.
    pub(crate) client_id_metadata_documents: bool,
    /// Hold every request to the FAPI 2.0 Security Profile
    /// ([`ServerBuilder::fapi2_security_profile`](crate::ServerBuilder::fapi2_security_profile));
    /// the rules are in `endpoint::fapi`.
    pub(crate) fapi2: bool,
    /// Whether a refresh rotates the refresh token.
    pub(crate) refresh_rotation: crate::grant::RefreshTokenRotation,
}

impl ServerInner {
    /// Whether the token endpoint serves `grant`.
    pub(crate) fn serves(&self, grant: &GrantType) -> bool {
        self.grants.iter().any(|(g, _)| g == grant)
    }

    /// Client authentication at `endpoint`, of `family`.
    pub(crate) fn authentication(
        &self,
        family: EndpointFamily,
        endpoint: Endpoint,
    ) -> Authentication<'_> {
        Authentication {
            jwt: self.jwt_auth.as_ref(),
            audiences: AssertionAudiences {
                issuer: &self.issuer,
                endpoint: self.discovery.endpoints.get(endpoint).as_str(),
            },
            authenticator: &self.authenticator,
            clients: &*self.clients,
            limiter: &*self.limiter,
            runner: &*self.runner,
            events: &self.auth_events,
            family,
            shared_keys: self.options.shared_throttle_keys,
            mutual_tls: self.mutual_tls.is_some(),
        }
    }
}

impl ServerInner {
    /// The live access token `token` with its grant, in one lookup: issued
    /// by this server, not expired, and its grant neither expired nor
    /// revoked (a revoked grant's tokens are not found). The grant record
    /// carries what an OpenID Connect request asked for
    /// ([`GrantRecord::openid`]), which the UserInfo endpoint needs.
    pub(crate) async fn live_access_token(
        &self,
        token: &str,
    ) -> Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError> {
        if !is_access_token(token) {
            return Ok(None);
        }
        let hash = TokenHash::of(token);
        let Some((record, grant)) = self.stores.grants.find_access_token(&hash).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        if record.expires_at <= now || grant.expires_at <= now {
            return Ok(None);
        }
        Ok(Some((record, grant)))
    }

    /// Refuses a `jwks_uri` the server could not fetch (RFC 7591 §2): it has
    /// no [`Fetcher`](crate::fetch::Fetcher), or no JWT client
    /// authentication to use the keys for.
    pub(crate) fn check_client_keys(
        &self,
        registration: &ClientRegistration,
    ) -> Result<(), RegistrationError> {
        let can_fetch = self.jwt_auth.as_ref().is_some_and(JwtClientAuth::can_fetch);
        if registration.names_jwks_uri() && !can_fetch {
            return Err(RegistrationError::InvalidMetadata(
                "jwks_uri cannot be used here: this server does not fetch client keys; \
                 register jwks instead"
                    .into(),
            ));
        }
        Ok(())
    }

    /// A `client_secret_jwt` client's secret, derived (see the
    /// [`client` module docs](crate::client)), to show this once; such a
    /// client is refused when the server has no key to derive it with.
    pub(crate) fn with_derived_secret(
        &self,
        mut registered: Registered,
    ) -> Result<Registered, RegistrationError> {
        if *registered.client.auth_method() == AuthMethod::CLIENT_SECRET_JWT {
            let secret = self
                .jwt_auth
                .as_ref()
                .and_then(|jwt| jwt.derived_secret(&registered.client))
                .ok_or_else(|| {
                    RegistrationError::InvalidMetadata(
                        "client_secret_jwt is not offered by this server".into(),
                    )
                })?;
            registered.secret = Some(secret);
        }
        Ok(registered)
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

impl AuthorizationServer {
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

    /// The largest request body an endpoint reads, in bytes
    /// ([`ServerBuilder::max_body`](crate::ServerBuilder::max_body);
    /// [`DEFAULT_MAX_BODY`](crate::DEFAULT_MAX_BODY) unless set). An HTTP
    /// adapter reads bodies up to this and answers a larger one with
    /// [`RequestError::BodyTooLarge`](crate::grant::RequestError::BodyTooLarge).
    pub fn max_body(&self) -> usize {
        self.inner.max_body
    }

    /// The grant types served at the token endpoint.
    pub fn grant_types(&self) -> impl Iterator<Item = &GrantType> {
        self.inner.grants.iter().map(|(g, _)| g)
    }

    /// The client authentication methods the token endpoint accepts: the
    /// authenticator's, and `private_key_jwt` (and `client_secret_jwt`) when
    /// JWT client authentication is on.
    pub fn token_endpoint_auth_methods(&self) -> &[AuthMethod] {
        &self.inner.auth_methods
    }

    /// Validates a registration, stores the client, and returns it with its
    /// secret (shown this once).
    pub async fn register_client(
        &self,
        registration: ClientRegistration,
    ) -> Result<Registered, RegisterClientError> {
        self.inner.check_client_keys(&registration)?;
        let registered = self.inner.with_derived_secret(registration.register()?)?;
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
        let Some((record, grant)) = self.inner.live_access_token(token).await? else {
            return Ok(None);
        };
        Ok(Some(AccessTokenInfo::of(record, grant)))
    }

    /// Revokes a grant and every token derived from it. Returns whether the
    /// grant existed.
    pub async fn revoke_grant(&self, id: &GrantId) -> Result<bool, StoreError> {
        let existed = self.inner.stores.grants.revoke_grant(id).await?;
        tracing::info!(target: "portcullis::security", event = "grant_revoked", grant_id = %id, existed);
        Ok(existed)
    }

    /// Deletes expired grants, tokens, codes, pending requests and device
    /// authorizations from the stores, and expired single uses from the
    /// replay cache; returns how many went.
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
        if let Some(jwt) = &self.inner.jwt_auth {
            purged += jwt.purge(now).await?;
        }
        if let Some(dpop) = &self.inner.dpop {
            purged += dpop.purge(now).await?;
        }
        Ok(purged)
    }
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
