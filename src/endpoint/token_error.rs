//! Token endpoint errors and their one mapping to the wire (RFC 6749 §5.2).

use std::borrow::Cow;

use http::header::HeaderValue;
use http::{Response, StatusCode};

use super::client_auth::{ClientAuthFailure, client_auth_response};
use super::form_post::{malformed, missing, unsupported_content_type};
use crate::client::ClientAuthError;
use crate::protocol::{ErrorCode, ErrorResponse, FormError, OAuthError};
use crate::store::StoreError;

/// Why a token request failed.
///
/// [`TokenError::to_error_response`] is the single place these become an OAuth
/// error code, status and headers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a POST (RFC 6749 §3.2). `405` with `Allow: POST`.
    #[error("the token endpoint accepts only POST")]
    MethodNotAllowed,
    /// The body is not `application/x-www-form-urlencoded` (RFC 6749 §3.2).
    #[error("the request body must be application/x-www-form-urlencoded")]
    UnsupportedContentType,
    /// The body exceeds the configured limit. `413`.
    #[error("the request body is too large")]
    BodyTooLarge,
    /// The form is malformed or repeats a parameter (RFC 6749 §3.2).
    #[error("malformed request: {0}")]
    MalformedRequest(FormError),
    /// A required parameter is missing.
    #[error("missing parameter `{0}`")]
    MissingParameter(&'static str),
    /// Client authentication failed (RFC 6749 §2.3, §5.2).
    #[error("client authentication failed: {error}")]
    ClientAuth {
        /// Why.
        error: ClientAuthError,
        /// The `WWW-Authenticate` challenge to send with a `401`, present when
        /// the client tried the `Authorization` header (RFC 6749 §5.2).
        challenge: Option<HeaderValue>,
    },
    /// No handler for this `grant_type`.
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    /// The client may not use this grant.
    #[error("unauthorized client: {0}")]
    UnauthorizedClient(&'static str),
    /// The requested scope is malformed or exceeds what the client may get.
    #[error("invalid scope: {0}")]
    InvalidScope(&'static str),
    /// The presented grant (code, refresh token, …) is invalid.
    #[error("invalid grant: {0}")]
    InvalidGrant(Cow<'static, str>),
    /// Too many failed attempts at a grant's own credentials (the password
    /// grant's user passwords, say). `429` with `Retry-After`.
    #[error("too many failed attempts")]
    Throttled {
        /// How long to wait.
        retry_after: std::time::Duration,
    },
    /// Any other OAuth error, from an extension grant.
    #[error("{0}")]
    OAuth(OAuthError),
    /// Storage failed. Answered with `server_error` and no detail.
    #[error("storage failed")]
    Storage(#[from] StoreError),
}

impl From<OAuthError> for TokenError {
    fn from(error: OAuthError) -> Self {
        Self::OAuth(error)
    }
}

/// A failed client authentication at the token endpoint.
impl From<ClientAuthFailure> for TokenError {
    fn from(failure: ClientAuthFailure) -> Self {
        Self::ClientAuth {
            error: failure.error,
            challenge: failure.challenge,
        }
    }
}

impl TokenError {
    /// The error as the client sees it: code, description, status, headers.
    pub fn to_error_response(&self) -> ErrorResponse {
        match self {
            TokenError::MethodNotAllowed => {
                ErrorResponse::method_not_allowed("the token endpoint accepts only POST", "POST")
            }
            TokenError::UnsupportedContentType => unsupported_content_type(),
            TokenError::BodyTooLarge => ErrorResponse::body_too_large(),
            TokenError::MalformedRequest(e) => malformed(e),
            TokenError::MissingParameter(name) => missing(name),
            TokenError::ClientAuth {
                error: e,
                challenge,
            } => client_auth_response(e, challenge),
            TokenError::UnsupportedGrantType => ErrorResponse::described(
                ErrorCode::UNSUPPORTED_GRANT_TYPE,
                "the grant type is not supported by this server",
            ),
            TokenError::UnauthorizedClient(why) => {
                ErrorResponse::described(ErrorCode::UNAUTHORIZED_CLIENT, *why)
            }
            TokenError::InvalidScope(why) => {
                ErrorResponse::described(ErrorCode::INVALID_SCOPE, *why)
            }
            TokenError::InvalidGrant(why) => {
                ErrorResponse::described(ErrorCode::INVALID_GRANT, why.clone())
            }
            TokenError::Throttled { retry_after } => ErrorResponse::described(
                ErrorCode::INVALID_GRANT,
                "too many failed attempts; retry later",
            )
            .with_status(StatusCode::TOO_MANY_REQUESTS)
            .with_retry_after(*retry_after),
            TokenError::OAuth(e) => ErrorResponse::new(e.clone()),
            TokenError::Storage(_) => ErrorResponse::server_error(),
        }
    }

    /// Renders the error as an HTTP response.
    pub fn into_http(self) -> Response<Vec<u8>> {
        let storage = match &self {
            TokenError::Storage(e)
            | TokenError::ClientAuth {
                error: ClientAuthError::Storage(e),
                ..
            } => Some(e),
            _ => None,
        };
        if let Some(e) = storage {
            e.report("token endpoint");
        }
        self.to_error_response().into_http()
    }
}
