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
//!    an imported secret's slow hash runs on the server's [`BlockingRunner`];
//! 6. a success takes back the admitted attempt's count
//!    ([`AuthLimiter::succeeded`]). A client with a generated secret (256
//!    bits, which no one can guess) is checked first: its right secret
//!    always authenticates, and only a wrong one is counted — and answered
//!    `429` once the limiter refuses it (RFC 6819 §5.1.4.2.3). Failures are
//!    security events, aggregated so that an attack cannot flood the logs.
//!
//! Only this sequence makes an [`AuthenticatedClient`], which every grant
//! handler receives: no grant can run for a client that did not pass it.

mod auth_method;
mod authenticate;
mod blocking;
mod credentials;
mod events;
mod info;
mod metadata;
mod model;
mod quota;
mod redirect_uri;
mod registration;
mod registration_error;
mod registry;
mod secret;
mod source;
mod throttle;

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
pub(crate) use metadata::MetadataLimits;
pub use metadata::{ApplicationType, ClientMetadata};
pub use model::{Client, ClientId, ClientProfile, ClientType};
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
