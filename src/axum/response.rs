//! The library's responses as axum responses, headers intact.

use axum::body::Body;
use axum::response::{IntoResponse, Response};

use crate::endpoint::{
    AuthorizationError, DynamicRegistrationError, IntrospectionError, LogoutError, RevocationError,
};
use crate::grant::{RequestError, TokenError};
use crate::protocol::{
    DeviceAuthorizationResponse, ErrorResponse, IntrospectionResponse, TokenResponse,
};
use crate::resource::BearerError;

/// An `http::Response<Vec<u8>>` from an endpoint method, as an axum
/// response.
///
/// The orphan rule keeps `IntoResponse` off `http::Response<Vec<u8>>`
/// itself; this newtype carries it. The status, every header
/// (`Cache-Control: no-store`, `WWW-Authenticate`, `Allow`, `Retry-After`,
/// the secure page headers) and the body pass through unchanged.
#[derive(Debug)]
pub struct Reply(pub http::Response<Vec<u8>>);

impl From<http::Response<Vec<u8>>> for Reply {
    fn from(response: http::Response<Vec<u8>>) -> Self {
        Reply(response)
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        self.0.map(Body::from)
    }
}

/// `IntoResponse` through each type's own `into_http`, so the answer is the
/// one the library's audited error mapping gives (status, error code,
/// headers).
macro_rules! into_response_via_http {
    ($($ty:ty),* $(,)?) => {$(
        impl IntoResponse for $ty {
            fn into_response(self) -> Response {
                Reply(self.into_http()).into_response()
            }
        }
    )*};
}

into_response_via_http!(
    AuthorizationError,
    LogoutError,
    DynamicRegistrationError,
    IntrospectionError,
    RevocationError,
    RequestError,
    TokenError,
    ErrorResponse,
    TokenResponse,
    DeviceAuthorizationResponse,
    IntrospectionResponse,
    BearerError,
);
