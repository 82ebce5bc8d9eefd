//! Clients: registration, the registry, and client authentication
//! (RFC 6749 §2).
//!
//! # Client authentication (RFC 6749 §2.3, §3.2.1)
//!
//! The server authenticates a client in a fixed sequence that no authenticator
//! can skip:
//!
//! 1. the [`ClientAuthenticator`] reads which client the request claims to be
//!    and how it proves it ([`ClientAuthenticator::identify`], no IO);
//! 2. the client is looked up; an unknown identifier is checked against a
//!    decoy, so it costs what a wrong secret costs, and is never tracked;
//! 3. for a client whose secret a person chose (an imported secret, stored
//!    with Argon2id), the [`AuthLimiter`] admits the attempt — counting it —
//!    or refuses it (`429`), atomically, before the secret is checked; the key
//!    is the client in this endpoint family, and the request's
//!    [`ThrottleSource`] when the host attached one;
//! 4. the method used must be the one the client registered (§2.3.2) — so a
//!    public client can never pass as confidential, nor a confidential client
//!    skip its secret;
//! 5. the authenticator verifies the credentials ([`ClientAuthenticator::verify`]);
//!    an imported secret's slow hash runs on the server's [`BlockingRunner`].
//!    A JWT client assertion (RFC 7523, below) is verified by the server
//!    instead, in an async step: its keys may need fetching and its `jti`
//!    recording;
//! 6. a success takes back the admitted attempt's count
//!    ([`AuthLimiter::succeeded`]). A client with a generated secret (256
//!    bits, which no one can guess) is checked first: its right secret
//!    always authenticates, and only a wrong one is counted — and answered
//!    `429` once the limiter refuses it (RFC 6819 §5.1.4.2.3). Failures are
//!    security events, aggregated so that an attack cannot flood the logs.
//!
//! Only this sequence makes an [`AuthenticatedClient`], which every grant
//! handler receives: no grant can run for a client that did not pass it.
//!
//! # JWT client authentication (RFC 7523 §2.2, §3; RFC 7521 §4.2)
//!
//! `private_key_jwt` and `client_secret_jwt` are built in, on when the
//! server has a [`ReplayCache`](crate::store::ReplayCache)
//! ([`ServerBuilder::replay_cache`](crate::ServerBuilder::replay_cache)), at
//! every endpoint where a client authenticates (token, device
//! authorization, revocation, introspection). They fit the sequence above:
//!
//! - step 1: a request with `client_assertion_type` or `client_assertion`
//!   is read by the server, not the [`ClientAuthenticator`]. The type must
//!   be `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`; the
//!   assertion's unverified `sub` names the client and must equal its
//!   `iss` (and the `client_id` parameter, if sent); an assertion with the
//!   `Authorization` header or a `client_secret` is two methods
//!   (`invalid_request`). Its algorithm gives the method: HS256 is
//!   `client_secret_jwt`, the others (ES256, RS256, PS256, EdDSA)
//!   `private_key_jwt`;
//! - step 4: that method must be the client's registered one — so a
//!   signature is never checked with a secret, nor a MAC with a public key;
//! - step 5, async: the signature (with the client's
//!   `token_endpoint_auth_signing_alg` alone, if it registered one) against
//!   its registered `jwks`, or its `jwks_uri` fetched through the host's
//!   [`Fetcher`](crate::fetch::Fetcher) and cached
//!   ([`ClientAssertionSettings`]: refetched for an unknown `kid` at most
//!   once per refresh interval); then the claims: `aud` a single value, the
//!   issuer or the receiving endpoint's URL; `exp` required, not passed and
//!   at most [`ClientAssertionSettings::max_lifetime`] away; `nbf` and `iat`
//!   not in the future, within the leeway; `jti` required; and last the
//!   `jti`, recorded in the replay cache until the assertion expires — a
//!   second use is refused;
//! - step 6: a refused assertion is counted and throttled as a wrong
//!   generated secret is: keys cannot be guessed, so a right assertion is
//!   never refused by the limiter.
//!
//! A refused assertion is `invalid_client` with the same description as any
//! other authentication failure — `400`, as for `client_secret_post`: no HTTP
//! authentication scheme carries an assertion, so there is no challenge to
//! send with a `401` (RFC 6749 §5.2) — and nothing of the assertion is
//! echoed. Two methods, or a `client_id` naming another client, are
//! `invalid_request`.
//!
//! `client_secret_jwt` needs the secret in the clear to check a MAC, and
//! portcullis stores secrets only as hashes. So the secret of a
//! `client_secret_jwt` client is derived, never stored:
//! `base64url(HMAC-SHA256(server_key, "portcullis client_secret_jwt v1" ‖
//! len(client_id) ‖ client_id ‖ salt))`, with a 128-bit salt kept in the
//! client's registration and a key only the host holds
//! ([`ServerBuilder::client_secret_jwt_key`](crate::ServerBuilder::client_secret_jwt_key)).
//! The server recomputes it to verify; a copy of the database alone reveals
//! no secret. Whoever holds the key can derive every such secret, and
//! changing the key changes them all. Without a key the method is neither
//! offered nor advertised.

mod assertion;
mod auth_method;
mod authenticate;
mod blocking;
mod credentials;
mod events;
mod info;
mod jwt_auth;
mod metadata;
mod metadata_document;
mod model;
mod mtls;
mod openid;
mod quota;
mod redirect_uri;
mod registration;
mod registration_error;
mod registry;
pub(crate) mod replay;
mod requests;
mod secret;
mod source;
mod throttle;

pub use assertion::{ClientAssertion, JWT_BEARER_ASSERTION_TYPE, MAX_CLIENT_ASSERTION_LEN};
pub use auth_method::AuthMethod;
pub use authenticate::{
    AuthenticatedClient, ClientAuthError, ClientAuthenticator, SecretAuthenticator,
};
pub(crate) use authenticate::{Authentication, EndpointFamily};
#[cfg(feature = "tokio")]
pub use blocking::TokioRunner;
pub(crate) use blocking::default_runner;
pub use blocking::{BlockingFuture, BlockingJob, BlockingRunner, InlineRunner};
pub use credentials::{AuthRequest, PresentedCredentials};
pub(crate) use events::{Report, SecurityEvents, loggable};
pub(crate) use info::unix_seconds;
pub use info::{ClientInfo, MAX_CONTACTS, MAX_METADATA_STRING_LEN};
pub(crate) use jwt_auth::{AssertionAudiences, JwtAuthConfig, JwtClientAuth};
pub use jwt_auth::{
    CLIENT_SECRET_JWT_ALGORITHMS, ClientAssertionSettings, MAX_JTI_LEN,
    MIN_CLIENT_SECRET_JWT_KEY_LEN, PRIVATE_KEY_JWT_ALGORITHMS,
};
pub(crate) use metadata::MetadataLimits;
pub use metadata::{ApplicationType, ClientMetadata};
pub(crate) use metadata_document::DocumentClients;
pub use metadata_document::{ClientIdMetadataDocuments, DEFAULT_MAX_DOCUMENT_BYTES};
pub(crate) use model::SecretSalt;
pub use model::{Client, ClientId, ClientKeys, ClientProfile, ClientType};
pub use mtls::{MAX_TLS_CLIENT_AUTH_VALUE_LEN, TlsClientAuthSubject};
pub(crate) use openid::verify_sector_identifier;
pub use openid::{
    MAX_ACR_VALUE_LEN, MAX_DEFAULT_ACR_VALUES, MAX_DEFAULT_MAX_AGE, OPENID_SIGNING_ALGORITHMS,
    SubjectType,
};
pub use quota::RegistrationQuota;
pub use redirect_uri::{MAX_REDIRECT_URI_LEN, RedirectUri, RedirectUriError};
pub use registration::{
    ClientRegistration, MAX_CLIENT_ID_LEN, MAX_CLIENT_NAME_LEN, MAX_REDIRECT_URIS, Registered,
};
pub use registration_error::RegistrationError;
pub use registry::ClientRegistry;
pub(crate) use registry::DynClientRegistry;
pub use secret::{ClientSecret, MIN_IMPORTED_SECRET_LEN, SecretHash, SecretHashError};
pub use source::ThrottleSource;
pub(crate) use throttle::DynAuthLimiter;
pub use throttle::{Admission, AuthLimiter, MemoryLimiter, ThrottlePolicy};
