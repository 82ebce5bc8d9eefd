//! Why a server could not be built: the one error of
//! [`ServerBuilder::build`](crate::ServerBuilder::build), which the endpoints'
//! settings return when they are checked.

use super::published_urls::Endpoint;

/// Why a server could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The issuer is not an `https` URL without query or fragment (RFC 8414 §2);
    /// `http` is accepted only for loopback hosts, for development. It is
    /// published exactly as given, so it must be in the form the URL parser
    /// writes (lower-case scheme and host, no default port), except that a
    /// host-only issuer may omit the root path's `/`.
    #[error("invalid issuer: {0}")]
    InvalidIssuer(&'static str),
    /// No client registry was given.
    #[error("a client registry is required (ServerBuilder::clients)")]
    MissingClients,
    /// A store that the configured grants and endpoints use was not given:
    /// the grant store always, the authorization code store for the
    /// authorization code grant or the implicit grant, the device
    /// authorization store for the device grant. The message names it and
    /// the builder method that gives it.
    #[error("{0} is required")]
    MissingStore(&'static str),
    /// Two handlers for one grant type.
    #[error("grant type {0} has two handlers")]
    DuplicateGrant(String),
    /// The device flow's settings are invalid: the verification URI is not
    /// an `https` URL (`http` only on loopback) without fragment, or a
    /// lifetime or interval is under a second, the lifetime is over a day, or
    /// the interval is longer than the lifetime.
    #[error("invalid device flow settings: {0}")]
    InvalidDeviceFlow(&'static str),
    /// Two resources with one identifier, or a resource's own access-token
    /// lifetime zero or over [`MAX_LIFETIME`](crate::token::MAX_LIFETIME).
    #[error("invalid resource: {0}")]
    InvalidResource(&'static str),
    /// A resource asks for JWT access tokens, or the builder names an
    /// algorithm for them, and the key set has no active key of that
    /// algorithm (or none at all).
    #[error("no active signing key for JWT access tokens ({0})")]
    MissingSigningKey(&'static str),
    /// The OpenID Connect configuration cannot work: no active signing key
    /// for its ID token algorithm, no authorization code grant to carry
    /// ID tokens, or an ID token lifetime that is zero or too long.
    #[error("invalid OpenID Connect configuration: {0}")]
    InvalidOpenIdConnect(&'static str),
    /// A token lifetime is zero or longer than
    /// [`MAX_LIFETIME`](crate::token::MAX_LIFETIME).
    #[error("invalid token lifetime: {0}")]
    InvalidLifetime(&'static str),
    /// A resource-server credential for the introspection endpoint is
    /// invalid (see [`ServerBuilder::introspection_credential`](crate::ServerBuilder::introspection_credential)).
    #[error("invalid introspection credential: {0}")]
    InvalidIntrospectionCredential(&'static str),
    /// An endpoint URL given to [`ServerBuilder::endpoint`](crate::ServerBuilder::endpoint) is unusable.
    #[error("invalid URL for the {endpoint:?} endpoint: {reason}")]
    InvalidEndpointUrl {
        /// Which endpoint.
        endpoint: Endpoint,
        /// What is wrong.
        reason: &'static str,
    },
    /// The mutual-TLS settings are unusable (see
    /// [`MutualTls::endpoint_alias`](crate::endpoint::MutualTls::endpoint_alias)).
    #[error("invalid mutual TLS settings: {0}")]
    InvalidMutualTls(&'static str),
    /// A metadata URL (`service_documentation`, `op_policy_uri`, `op_tos_uri`)
    /// is not an absolute `http(s)` URL.
    #[error("{0} must be an absolute http(s) URL")]
    InvalidMetadataUrl(&'static str),
    /// The initial access token for dynamic registration is shorter than
    /// [`MIN_INITIAL_ACCESS_TOKEN_LEN`](crate::endpoint::MIN_INITIAL_ACCESS_TOKEN_LEN).
    #[error("the initial access token is too short to resist guessing")]
    WeakInitialAccessToken,
    /// The initial access token for dynamic registration is not in the
    /// `b64token` syntax of RFC 6750 §2.1, so no client could send it in an
    /// `Authorization: Bearer` header.
    #[error("the initial access token is not a bearer token (RFC 6750 b64token)")]
    MalformedInitialAccessToken,
    /// A dynamic registration limit is out of range: no registration could
    /// pass it (a zero), or it exceeds what every client is held to. The
    /// message names the setting of
    /// [`DynamicRegistration`](crate::endpoint::DynamicRegistration).
    #[error("invalid dynamic registration limit: {0}")]
    InvalidRegistrationLimit(&'static str),
    /// JWT client authentication is misconfigured
    /// ([`ServerBuilder::replay_cache`](crate::ServerBuilder::replay_cache)
    /// and the settings around it).
    #[error("invalid JWT client authentication settings: {0}")]
    InvalidClientAuthentication(&'static str),
    /// A setting conflicts with the FAPI 2.0 Security Profile
    /// ([`ServerBuilder::fapi2_security_profile`](crate::ServerBuilder::fapi2_security_profile)).
    #[error("the configuration breaks the FAPI 2.0 Security Profile: {0}")]
    Fapi2(#[from] Fapi2Conflict),
}

/// A setting [`ServerBuilder::build`](crate::ServerBuilder::build) found
/// at odds with the FAPI 2.0 Security Profile
/// ([`ServerBuilder::fapi2_security_profile`](crate::ServerBuilder::fapi2_security_profile)).
/// Each names the clause of FAPI 2.0 Security Profile, Final it breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Fapi2Conflict {
    /// The password grant is served.
    #[error("FAPI 2.0 §5.3.2.1 item 2: the resource owner password credentials grant is served")]
    PasswordGrant,
    /// No client authentication the profile allows is configured: neither
    /// `private_key_jwt` (a [`replay_cache`](crate::ServerBuilder::replay_cache))
    /// nor mutual TLS.
    #[error(
        "FAPI 2.0 §5.3.2.1 item 6: no private_key_jwt (ServerBuilder::replay_cache) or mutual TLS \
         client authentication is configured"
    )]
    NoClientAuthentication,
    /// `client_secret_jwt` is offered.
    #[error("FAPI 2.0 §5.3.2.1 item 6: client_secret_jwt is offered")]
    ClientSecretJwt,
    /// Client ID metadata documents are resolved: their clients are public.
    #[error("FAPI 2.0 §5.3.2.1 item 3: client ID metadata documents make public clients")]
    ClientIdMetadataDocuments,
    /// No way to sender-constrain access tokens is configured.
    #[error(
        "FAPI 2.0 §5.3.2.1 items 4 and 5: no sender-constraining mechanism (DPoP or mutual TLS) \
         is configured"
    )]
    NoSenderConstraint,
    /// Confidential clients' refresh tokens rotate.
    #[error("FAPI 2.0 §5.3.2.1 item 9: refresh tokens rotate for confidential clients")]
    RefreshTokenRotation,
    /// Authorization codes live longer than 60 seconds.
    #[error("FAPI 2.0 §5.3.2.1 item 11: authorization codes live longer than 60 seconds")]
    CodeLifetime,
    /// DPoP proofs may be more than 60 seconds in the future.
    #[error("FAPI 2.0 §5.3.2.1 item 13: a DPoP proof's iat may be more than 60 seconds ahead")]
    DpopClockSkew,
    /// Client assertions and request objects may be more than 60 seconds
    /// in the future.
    #[error(
        "FAPI 2.0 §5.3.2.1 item 13: a client assertion's or request object's iat or nbf may be \
         more than 60 seconds ahead"
    )]
    AssertionClockSkew,
    /// The implicit grant is enabled.
    #[error("FAPI 2.0 §5.3.2.2 item 1: the implicit grant is enabled (response_type must be code)")]
    ImplicitGrant,
    /// PKCE `plain` is accepted.
    #[error("FAPI 2.0 §5.3.2.2 item 5: PKCE plain is accepted (S256 only)")]
    PlainPkce,
    /// Confidential clients may omit PKCE.
    #[error("FAPI 2.0 §5.3.2.2 item 5: PKCE is optional for confidential clients")]
    OptionalPkce,
    /// A pushed request's `request_uri` lives 600 seconds or longer.
    #[error("FAPI 2.0 §5.3.2.2 item 12: pushed requests live 600 seconds or longer")]
    PushedRequestLifetime,
    /// ID tokens are signed with an algorithm other than PS256, ES256 or
    /// EdDSA.
    #[error("FAPI 2.0 §5.4.1 item 1.2: ID tokens are not signed with PS256, ES256 or EdDSA")]
    IdTokenAlgorithm,
    /// JWT access tokens are signed with another algorithm.
    #[error("FAPI 2.0 §5.4.1 item 1.2: access tokens are not signed with PS256, ES256 or EdDSA")]
    AccessTokenAlgorithm,
    /// Request objects may be signed with another algorithm.
    #[error("FAPI 2.0 §5.4.1 item 1.2: request objects may be signed with RS256")]
    RequestObjectAlgorithm,
    /// DPoP proofs may be signed with another algorithm.
    #[error("FAPI 2.0 §5.4.1 item 1.2: DPoP proofs may be signed with RS256")]
    DpopAlgorithm,
}
