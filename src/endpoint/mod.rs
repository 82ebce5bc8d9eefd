//! Endpoints: each turns an `http::Request` into an `http::Response`, with a
//! typed layer beneath for hosts that parse HTTP themselves.

mod authentication;
pub(crate) mod authorization_server;
mod authorize;
pub(crate) mod build_error;
mod client_auth;
mod client_configuration;
mod content_type;
mod device;
mod device_settings;
mod device_verification;
mod discovery;
mod dpop;
mod end_session;
pub(crate) mod fapi;
mod form_post;
mod introspect;
mod introspection_access;
mod jwks;
mod lookup;
mod metadata;
mod mutual_tls;
mod openid_configuration;
mod pending;
mod published_urls;
mod pushed_authorization;
mod redirect;
mod register;
mod register_error;
mod registration_settings;
mod request_object;
mod revoke;
mod token;
mod userinfo;

/// The errors of direct requests live with the grants, which return
/// [`TokenError`]; they are re-exported here beside the endpoints that answer
/// them.
pub use crate::grant::{RequestError, TokenError};
pub use authentication::{Approval, InteractionRequired};
pub(crate) use authorization_server::{
    AuthorizationServer, DEFAULT_MAX_BODY, Options, ServerInner,
};
pub use authorize::{AuthorizationError, MAX_STATE_LEN};
pub(crate) use device_settings::DeviceSettings;
pub use device_settings::{
    DEFAULT_DEVICE_CODE_LIFETIME, DEFAULT_POLLING_INTERVAL, MAX_DEVICE_CODE_LIFETIME,
    default_user_code_policy,
};
pub use device_verification::{PendingDeviceAuthorization, UserCodeError};
pub use dpop::{
    DEFAULT_DPOP_ALGORITHMS, Dpop, DpopNonceError, DpopRefusal, MIN_DPOP_NONCE_KEY_LEN, ProvenKey,
};
pub use end_session::{LogoutError, LogoutRequest};
pub use introspect::{IntrospectionError, IntrospectionRequest};
pub(crate) use introspection_access::IntrospectionSettings;
pub use introspection_access::{
    DefaultIntrospectionPolicy, IntrospectedToken, IntrospectionCaller, IntrospectionPolicy,
    MAX_RESOURCE_SERVER_NAME_LEN, MIN_RESOURCE_SERVER_SECRET_LEN, ResourceServer,
};
pub use mutual_tls::MutualTls;
pub(crate) use mutual_tls::MutualTlsConfig;
pub use pending::{DecisionError, PendingAuthorization, ResponseType};
pub(crate) use pushed_authorization::PushedRequestSettings;
pub use pushed_authorization::{
    DEFAULT_PUSHED_REQUEST_LIFETIME, MAX_PUSHED_REQUEST_LIFETIME, PushedAuthorizationResponse,
    REQUEST_URI_PREFIX,
};
pub use redirect::{html_escape, secure_page_headers};
pub(crate) use request_object::RequestObjectSettings;
pub use request_object::{
    DEFAULT_REQUEST_OBJECT_ALGORITHMS, MAX_REQUEST_OBJECT_LIFETIME, REQUEST_OBJECT_TYPE,
};
pub use revoke::{Revocation, RevocationError, RevocationRequest};
pub use token::TokenRequest;

pub(crate) use build_error::BuildError;
pub use build_error::Fapi2Conflict;
pub use client_configuration::ClientUpdate;
pub(crate) use discovery::DiscoveryConfig;
pub use jwks::JWKS_MAX_AGE;
pub use metadata::{
    AuthorizationServerMetadata, METADATA_CACHE_CONTROL, OpenIdProviderMetadata, WELL_KNOWN_PATH,
};
pub use metadata::{MutualTlsMetadata, PushedAuthorizationMetadata, RequestObjectMetadata};
pub use openid_configuration::OPENID_CONFIGURATION_PATH;
pub(crate) use published_urls::check_published_url;
pub use published_urls::{Endpoint, EndpointUrls};
pub use register::{ClientInformation, RegistrationAccessToken};
pub use register_error::DynamicRegistrationError;
pub use registration_settings::{DynamicRegistration, MIN_INITIAL_ACCESS_TOKEN_LEN};
