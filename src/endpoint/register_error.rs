//! Errors of the registration endpoint (RFC 7591 §3.2.2) and the client
//! configuration endpoint (RFC 7592 §2), and their one mapping to the wire.

use std::time::Duration;

use http::header::HeaderValue;
use http::{Response, StatusCode};

use crate::client::RegistrationError;
use crate::protocol::{ErrorCode, ErrorResponse};
use crate::store::StoreError;

/// Why a registration, or a read, update or deletion of one, failed.
///
/// [`to_error_response`](Self::to_error_response) is the single place these
/// become an error code, status and headers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DynamicRegistrationError {
    /// Dynamic registration is not enabled on this server. `404` with
    /// `invalid_request`: there is no such endpoint.
    #[error("dynamic client registration is not enabled")]
    NotEnabled,
    /// The method is not one the endpoint serves. `405` with `Allow`.
    #[error("method not allowed")]
    MethodNotAllowed {
        /// The methods it does serve, for the `Allow` header.
        allow: &'static str,
    },
    /// The body is not `application/json` (RFC 7591 §3). `400`
    /// `invalid_request`.
    #[error("the request body must be application/json")]
    UnsupportedContentType,
    /// The body exceeds the server's limit. `413`.
    #[error("the request body is too large")]
    BodyTooLarge,
    /// The initial access token (RFC 7591 §3) or registration access token
    /// (RFC 7592 §3) is missing or not valid for this client. `401`
    /// `invalid_token` with a `Bearer` challenge (RFC 6750 §3). The same
    /// answer for an unknown client, a deleted one, and another client's
    /// token.
    #[error("missing or invalid access token")]
    InvalidToken {
        /// The `WWW-Authenticate` challenge.
        challenge: HeaderValue,
    },
    /// The request is malformed in a way the metadata rules do not cover: a
    /// repeated `Authorization` header, or an update whose `client_id`,
    /// `client_secret` or server-issued values do not match (RFC 7592 §2.2).
    /// `400` `invalid_request`.
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// The client metadata were refused: `invalid_redirect_uri` or
    /// `invalid_client_metadata` (RFC 7591 §3.2.2).
    #[error(transparent)]
    Metadata(#[from] RegistrationError),
    /// The registrant registered faster than
    /// [`DynamicRegistration::max_registrations_per_minute`](super::DynamicRegistration::max_registrations_per_minute)
    /// allows. `429 Too Many Requests` with `Retry-After` and
    /// `temporarily_unavailable`: the same request succeeds later.
    #[error("too many registrations; retry later")]
    RateLimited {
        /// How long until the next registration is admitted.
        retry_after: Duration,
    },
    /// The registrant already has
    /// [`DynamicRegistration::max_clients`](super::DynamicRegistration::max_clients)
    /// clients. `403 Forbidden` with `access_denied`: refused until one of
    /// them is deleted.
    #[error("the registrant has its maximum of {max_clients} clients")]
    QuotaExceeded {
        /// The registrant's quota.
        max_clients: u64,
    },
    /// Storage failed. Answered with `server_error` and no detail.
    #[error("storage failed")]
    Storage(#[from] StoreError),
}

impl DynamicRegistrationError {
    /// The error as the client sees it: code, description, status, headers.
    pub fn to_error_response(&self) -> ErrorResponse {
        match self {
            Self::NotEnabled => ErrorResponse::described(
                ErrorCode::INVALID_REQUEST,
                "dynamic client registration is not enabled",
            )
            .with_status(StatusCode::NOT_FOUND),
            Self::MethodNotAllowed { allow } => {
                ErrorResponse::method_not_allowed("method not allowed", allow)
            }
            Self::UnsupportedContentType => ErrorResponse::described(
                ErrorCode::INVALID_REQUEST,
                "the request body must be application/json",
            ),
            Self::BodyTooLarge => ErrorResponse::body_too_large(),
            Self::InvalidToken { challenge } => ErrorResponse::described(
                ErrorCode::INVALID_TOKEN,
                "the access token is missing or invalid",
            )
            .with_challenge(challenge.clone()),
            Self::InvalidRequest(why) => ErrorResponse::described(ErrorCode::INVALID_REQUEST, *why),
            Self::Metadata(RegistrationError::InvalidRedirectUri { reason, .. }) => {
                ErrorResponse::described(ErrorCode::INVALID_REDIRECT_URI, reason.to_string())
            }
            Self::Metadata(RegistrationError::InvalidMetadata(why)) => {
                ErrorResponse::described(ErrorCode::INVALID_CLIENT_METADATA, why.clone())
            }
            Self::Metadata(_) => ErrorResponse::described(
                ErrorCode::INVALID_CLIENT_METADATA,
                "the client metadata are invalid",
            ),
            Self::RateLimited { retry_after } => ErrorResponse::described(
                ErrorCode::TEMPORARILY_UNAVAILABLE,
                "too many registrations with this initial access token (or, under open \
                 registration, on this server); retry after the time Retry-After gives",
            )
            .with_status(StatusCode::TOO_MANY_REQUESTS)
            .with_retry_after(*retry_after),
            Self::QuotaExceeded { max_clients } => ErrorResponse::described(
                ErrorCode::ACCESS_DENIED,
                format!(
                    "this initial access token (or, under open registration, this server) \
                     already has its maximum of {max_clients} registered clients; delete one \
                     (RFC 7592) or ask the operator for a higher limit"
                ),
            )
            .with_status(StatusCode::FORBIDDEN),
            Self::Storage(_) => ErrorResponse::server_error(),
        }
    }

    /// Renders the error as an HTTP response, with `Cache-Control: no-store`.
    pub fn into_http(self) -> Response<Vec<u8>> {
        if let Self::Storage(e) = &self {
            e.report("registration endpoint");
        }
        self.to_error_response().into_http()
    }
}
