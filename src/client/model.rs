//! The registered client (RFC 6749 §2).

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use super::info::from_unix_seconds;
use super::openid::OpenIdMetadata;
use super::registration::ClientParts;
use super::registration_error::RegistrationError;
use super::{AuthMethod, ClientInfo, RedirectUri, SecretHash};
use crate::jose::{Algorithm, JwkSet};
use crate::protocol::{GrantType, Scope};
use crate::token::TokenHash;

/// Client type (RFC 6749 §2.1): whether the client can keep a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    /// Can keep its credentials confidential, e.g. a web application's server.
    Confidential,
    /// Cannot: its code and anything in it are in the user's hands.
    Public,
}

/// Client profile (RFC 6749 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientProfile {
    /// A confidential client running on a web server (also the profile of a
    /// service using the client credentials grant).
    WebApplication,
    /// A public client whose code runs in the user's browser.
    UserAgentBased,
    /// A public client installed on the user's device (RFC 8252).
    Native,
}

impl ClientProfile {
    /// The client type RFC 6749 §2.1 gives this profile. RFC 8252 §8.5 requires
    /// native apps to be treated as public even if they were issued a secret.
    pub fn client_type(self) -> ClientType {
        match self {
            ClientProfile::WebApplication => ClientType::Confidential,
            ClientProfile::UserAgentBased | ClientProfile::Native => ClientType::Public,
        }
    }
}

/// A client identifier (RFC 6749 §2.2). Not a secret.
///
/// Identifiers the server generates are 22 characters: 128 random bits in
/// unpadded base64url. Identifiers a host assigns are 1 to
/// [`MAX_CLIENT_ID_LEN`](super::MAX_CLIENT_ID_LEN) visible ASCII characters.
/// Cloning is cheap.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(Arc<str>);

impl ClientId {
    pub(crate) fn new_unchecked(id: &str) -> Self {
        Self(Arc::from(id))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for ClientId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({})", self.0)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for ClientId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A registered client.
///
/// Made only by [`ClientRegistration::register`](super::ClientRegistration::register)
/// or by deserialising a stored client, and both validate every rule of
/// RFC 6749 §2, so a `Client` in hand is always consistent: a public client has
/// no secret and authenticates with `none`; a confidential one has a secret-based
/// or extension method; redirect URIs suit the profile.
///
/// It serialises (with `serde`) to a JSON object a store can keep as it is; the
/// secret appears only as its hash.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "ClientParts", into = "ClientParts")]
pub struct Client {
    pub(super) id: ClientId,
    pub(super) profile: ClientProfile,
    pub(super) name: Option<String>,
    pub(super) redirect_uris: Vec<RedirectUri>,
    pub(super) grant_types: Vec<GrantType>,
    pub(super) scope: Scope,
    pub(super) default_scope: Scope,
    pub(super) auth_method: AuthMethod,
    pub(super) secret: Option<SecretHash>,
    pub(super) info: ClientInfo,
    pub(super) registration_token: Option<TokenHash>,
    pub(super) issued_at: Option<u64>,
    pub(super) keys: Option<ClientKeys>,
    pub(super) signing_alg: Option<Algorithm>,
    pub(super) secret_salt: Option<SecretSalt>,
    pub(super) openid: OpenIdMetadata,
    pub(super) requests: super::requests::RequestPolicy,
    /// `dpop_bound_access_tokens` (RFC 9449 §5.2).
    pub(super) dpop_bound_access_tokens: bool,
    /// RFC 8705 §2.1.2, §3.4 metadata.
    pub(crate) mtls: super::mtls::MutualTlsMetadata,
}

/// The public keys a client registered (RFC 7591 §2): its assertions
/// (`private_key_jwt`, RFC 7523) are verified with them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientKeys {
    /// `jwks`: the keys themselves, a JWK Set of public keys.
    Jwks(JwkSet),
    /// `jwks_uri`: where the client publishes them, fetched through the
    /// host's [`Fetcher`](crate::fetch::Fetcher) and cached.
    JwksUri(url::Url),
}

/// The per-client salt of a `client_secret_jwt` client's derived secret
/// (see [`ServerBuilder::client_secret_jwt_key`](crate::ServerBuilder::client_secret_jwt_key)):
/// 16 random bytes, not secret on their own.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct SecretSalt(pub(crate) [u8; 16]);

impl Client {
    /// The client identifier.
    pub fn id(&self) -> &ClientId {
        &self.id
    }

    /// The client type, which follows from the profile.
    pub fn client_type(&self) -> ClientType {
        self.profile.client_type()
    }

    /// The client profile.
    pub fn profile(&self) -> ClientProfile {
        self.profile
    }

    /// The human-readable name, if registered.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The registered redirect URIs.
    pub fn redirect_uris(&self) -> &[RedirectUri] {
        &self.redirect_uris
    }

    /// The redirect URI a request designates (RFC 6749 §3.1.2.3): the requested
    /// one if it matches a registered one, or the only registered one when the
    /// request names none. `None` when the request cannot be trusted to
    /// redirect.
    pub fn resolve_redirect_uri<'a>(&'a self, requested: Option<&'a str>) -> Option<&'a str> {
        match (requested, self.redirect_uris.as_slice()) {
            (Some(asked), registered) => {
                registered.iter().any(|r| r.matches(asked)).then_some(asked)
            }
            (None, [only]) => Some(only.as_str()),
            (None, _) => None,
        }
    }

    /// [`resolve_redirect_uri`](Self::resolve_redirect_uri), sharing the
    /// registered URI's allocation when the request names it exactly (or not
    /// at all).
    pub(crate) fn resolve_redirect_uri_shared(&self, requested: Option<&str>) -> Option<Arc<str>> {
        let resolved = self.resolve_redirect_uri(requested)?;
        // A loopback redirect on another port (RFC 8252 §7.3) is not a
        // registered string: it gets an allocation of its own.
        Some(
            self.redirect_uris
                .iter()
                .find(|r| r.as_str() == resolved)
                .map_or_else(|| Arc::from(resolved), RedirectUri::shared),
        )
    }

    /// The grant types the client may use.
    pub fn grant_types(&self) -> &[GrantType] {
        &self.grant_types
    }

    /// Whether the client may use `grant_type`.
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g.as_str() == grant_type)
    }

    /// The scope the client may be granted.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The scope granted when a request omits `scope` (RFC 6749 §3.3).
    pub fn default_scope(&self) -> &Scope {
        &self.default_scope
    }

    /// The scope a request's `scope` parameter asks for (RFC 6749 §3.3): it
    /// must parse, and lie within [`scope`](Self::scope). The error is the
    /// `invalid_scope` description to send; the authorization, token and
    /// device authorization endpoints all check a request this way.
    pub(crate) fn requested_scope(&self, raw: &str) -> Result<Scope, &'static str> {
        let scope: Scope = raw.parse().map_err(|_| "scope is malformed")?;
        if !scope.is_subset(&self.scope) {
            return Err("the requested scope exceeds what the client may be granted");
        }
        Ok(scope)
    }

    /// The token endpoint authentication method, the one way this client may
    /// authenticate (RFC 6749 §2.3.2).
    pub fn auth_method(&self) -> &AuthMethod {
        &self.auth_method
    }

    /// The public keys the client registered (`jwks` or `jwks_uri`,
    /// RFC 7591 §2), if any.
    pub fn keys(&self) -> Option<&ClientKeys> {
        self.keys.as_ref()
    }

    /// The one algorithm the client's assertions may use
    /// (`token_endpoint_auth_signing_alg`, RFC 7591 §2), if it registered
    /// one.
    pub fn token_endpoint_auth_signing_alg(&self) -> Option<Algorithm> {
        self.signing_alg
    }

    /// The salt of a `client_secret_jwt` client's derived secret.
    /// Whether the client always uses DPoP (`dpop_bound_access_tokens`, RFC
    /// 9449 §5.2): its token requests without a proof are refused.
    pub fn dpop_bound_access_tokens(&self) -> bool {
        self.dpop_bound_access_tokens
    }

    pub(crate) fn secret_salt(&self) -> Option<&SecretSalt> {
        self.secret_salt.as_ref()
    }

    /// The stored hash of the client secret, if the client has one.
    pub fn secret_hash(&self) -> Option<&SecretHash> {
        self.secret.as_ref()
    }

    /// What the client says about itself: pages, logo, contacts, software
    /// (RFC 7591 §2). Self-asserted; never a basis for trust.
    pub fn info(&self) -> &ClientInfo {
        &self.info
    }

    /// The hash of the registration access token that manages this client
    /// (RFC 7592 §3); `None` unless it was registered dynamically.
    pub fn registration_access_token_hash(&self) -> Option<&TokenHash> {
        self.registration_token.as_ref()
    }

    /// When the client identifier was issued (RFC 7591 §3.2.1
    /// `client_id_issued_at`), for dynamically registered clients.
    pub fn issued_at(&self) -> Option<SystemTime> {
        // Validation refuses a time `SystemTime` cannot hold.
        self.issued_at.and_then(from_unix_seconds)
    }

    /// The same client managed by a new registration access token: rotating
    /// the token changes nothing that registration validated.
    pub(crate) fn with_registration_token(&self, token: TokenHash) -> Self {
        let mut client = self.clone();
        client.registration_token = Some(token);
        client
    }

    /// The same client with every redirect URI matched by exact string
    /// comparison, a loopback one included: a client ID metadata document's
    /// redirect URIs are compared exactly, port included
    /// (draft-ietf-oauth-client-id-metadata-document-01 §4.5).
    pub(crate) fn with_exact_redirect_uris(mut self) -> Self {
        self.redirect_uris = self
            .redirect_uris
            .into_iter()
            .map(RedirectUri::exact)
            .collect();
        self
    }

    /// When the client identifier was issued, in seconds since the epoch.
    pub(crate) fn issued_at_seconds(&self) -> Option<u64> {
        self.issued_at
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("profile", &self.profile)
            .field("name", &self.name)
            .field("redirect_uris", &self.redirect_uris)
            .field("grant_types", &self.grant_types)
            .field("scope", &self.scope)
            .field("auth_method", &self.auth_method)
            .field("has_secret", &self.secret.is_some())
            .field("keys", &self.keys)
            .field("signing_alg", &self.signing_alg)
            .field("openid", &self.openid)
            .field("requests", &self.requests)
            .finish()
    }
}

impl TryFrom<ClientParts> for Client {
    type Error = RegistrationError;

    fn try_from(parts: ClientParts) -> Result<Self, Self::Error> {
        parts.validate()
    }
}
