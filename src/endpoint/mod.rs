//! Endpoints: each turns an `http::Request` into an `http::Response`, with a
//! typed layer beneath for hosts that parse HTTP themselves.

mod authorize;
mod client_auth;
mod client_configuration;
mod content_type;
mod device;
mod device_verification;
mod form_post;
mod introspect;
mod introspection_access;
mod lookup;
mod metadata;
mod redirect;
mod register;
mod register_error;
mod revoke;
mod token;

/// The errors of direct requests live with the grants, which return
/// [`TokenError`]; they are re-exported here beside the endpoints that answer
/// them.
pub use crate::grant::{RequestError, TokenError};
pub use authorize::{
    AuthorizationError, DecisionError, MAX_STATE_LEN, PendingAuthorization, ResponseType,
};
pub(crate) use device::DeviceFlow;
pub(crate) use device::DeviceSettings;
pub use device::{
    DEFAULT_DEVICE_CODE_LIFETIME, DEFAULT_POLLING_INTERVAL, MAX_DEVICE_CODE_LIFETIME,
    default_user_code_policy,
};
pub use device_verification::{PendingDeviceAuthorization, UserCodeError};
pub use introspect::{IntrospectionError, IntrospectionRequest};
pub(crate) use introspection_access::IntrospectionSettings;
pub use introspection_access::{
    DefaultIntrospectionPolicy, IntrospectedToken, IntrospectionCaller, IntrospectionPolicy,
    MAX_RESOURCE_SERVER_NAME_LEN, MIN_RESOURCE_SERVER_SECRET_LEN, ResourceServer,
};
pub use redirect::{html_escape, secure_page_headers};
pub use revoke::{Revocation, RevocationError, RevocationRequest};
pub use token::TokenRequest;

pub use client_configuration::ClientUpdate;
pub use metadata::{
    AuthorizationServerMetadata, Endpoint, EndpointUrls, METADATA_CACHE_CONTROL, WELL_KNOWN_PATH,
};
pub(crate) use metadata::{Discovery, DiscoveryConfig};
pub use register::{
    ClientInformation, DynamicRegistration, MIN_INITIAL_ACCESS_TOKEN_LEN, RegistrationAccessToken,
};
pub use register_error::DynamicRegistrationError;
