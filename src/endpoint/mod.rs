//! Endpoints: each turns an `http::Request` into an `http::Response`, with a
//! typed layer beneath for hosts that parse HTTP themselves.

mod authorize;
mod client_configuration;
mod metadata;
mod redirect;
mod register;
mod register_error;
mod token;
mod token_error;

pub use authorize::{
    AuthorizationError, DecisionError, MAX_STATE_LEN, PendingAuthorization, ResponseType,
};
pub use redirect::secure_page_headers;
pub(crate) use token::HeaderNames;
pub use token::TokenRequest;
pub use token_error::TokenError;

pub use client_configuration::ClientUpdate;
pub use metadata::{
    AuthorizationServerMetadata, Endpoint, EndpointUrls, METADATA_CACHE_CONTROL, WELL_KNOWN_PATH,
};
pub(crate) use metadata::{Discovery, DiscoveryConfig};
pub use register::{
    ClientInformation, DynamicRegistration, MIN_INITIAL_ACCESS_TOKEN_LEN, RegistrationAccessToken,
};
pub use register_error::DynamicRegistrationError;
