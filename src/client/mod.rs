//! Clients: registration, the registry, and client authentication
//! (RFC 6749 §2).

mod auth_method;
mod authenticate;
mod credentials;
mod model;
mod redirect_uri;
mod registration;
mod registry;
mod secret;
mod throttle;

pub use auth_method::AuthMethod;
pub(crate) use authenticate::Authentication;
pub use authenticate::{
    AuthenticatedClient, ClientAuthError, ClientAuthenticator, SecretAuthenticator,
};
pub use credentials::{AuthRequest, PresentedCredentials};
pub use model::{Client, ClientId, ClientProfile, ClientType};
pub use redirect_uri::{MAX_REDIRECT_URI_LEN, RedirectUri, RedirectUriError};
pub use registration::{
    ClientRegistration, MAX_CLIENT_ID_LEN, MAX_CLIENT_NAME_LEN, Registered, RegistrationError,
};
pub use registry::ClientRegistry;
pub(crate) use registry::DynClientRegistry;
pub use secret::{ClientSecret, MIN_IMPORTED_SECRET_LEN, SecretHash, SecretHashError};
pub(crate) use throttle::DynAuthLimiter;
pub use throttle::{Admission, AuthLimiter, MemoryLimiter, ThrottlePolicy};
