//! The errors of direct requests — the token, device authorization,
//! revocation and introspection endpoints — and their one mapping to the wire
//! (RFC 6749 §5.2).
//!
//! [`RequestError`] holds the refusals every one of those endpoints shares:
//! the request checks, client authentication, storage. Each endpoint's error
//! embeds it ([`TokenError::Request`], and likewise
//! [`RevocationError`](crate::endpoint::RevocationError) and
//! [`IntrospectionError`](crate::endpoint::IntrospectionError)) next to the
//! refusals particular to that endpoint, so a shared refusal reads the same
//! wherever it happens. [`TokenError`] lives here rather than with the token
//! endpoint because grant handlers return it.
//!
//! `error_description` is written for the client's developer and never
//! carries internal detail: a storage failure is a bare `server_error`,
//! reported to the operator through `tracing` instead.

use std::borrow::Cow;

use http::header::HeaderValue;
use http::{Response, StatusCode};

use crate::client::ClientAuthError;
use crate::protocol::{ErrorCode, ErrorResponse, FormError, OAuthError};
use crate::store::StoreError;

/// Why a direct request was refused for a reason every direct endpoint
/// shares: the request checks (RFC 6749 §3.2), client authentication
/// (RFC 6749 §2.3), or storage.
///
/// [`RequestError::to_error_response`] is the single place these become an
/// OAuth error code, status and headers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Not a POST (RFC 6749 §3.2). `405` with `Allow: POST`.
    #[error("the {endpoint} accepts only POST")]
    MethodNotAllowed {
        /// The endpoint, as the description names it: `"token endpoint"`.
        endpoint: &'static str,
    },
    /// The body is not `application/x-www-form-urlencoded` in UTF-8
    /// (RFC 6749 §3.2).
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
        /// The `WWW-Authenticate` challenge to send with a `401`: present
        /// when the client tried the `Authorization` header (RFC 6749
        /// §5.2), and, at the revocation and introspection endpoints, when
        /// the request carried no authentication at all (RFC 7009 §2.1,
        /// RFC 7662 §2.1; RFC 9110 §15.5.2). Without one the failure is a
        /// `400`.
        challenge: Option<HeaderValue>,
    },
    /// Storage failed. Answered with `server_error` and no detail.
    #[error("storage failed")]
    Storage(#[from] StoreError),
}

impl RequestError {
    /// The error as the client sees it: code, description, status, headers.
    pub fn to_error_response(&self) -> ErrorResponse {
        match self {
            Self::MethodNotAllowed { .. } => {
                ErrorResponse::method_not_allowed(self.to_string(), "POST")
            }
            Self::UnsupportedContentType => ErrorResponse::described(
                ErrorCode::INVALID_REQUEST,
                "the request body must be application/x-www-form-urlencoded",
            ),
            Self::BodyTooLarge => ErrorResponse::body_too_large(),
            // RFC 6749 §3.2: parameters MUST NOT be included more than once;
            // the repeated one is named.
            Self::MalformedRequest(FormError::Repeated(name)) => ErrorResponse::described(
                ErrorCode::INVALID_REQUEST,
                format!("parameter {name} is repeated"),
            ),
            Self::MalformedRequest(e) => {
                ErrorResponse::described(ErrorCode::INVALID_REQUEST, e.to_string())
            }
            Self::MissingParameter(name) => ErrorResponse::described(
                ErrorCode::INVALID_REQUEST,
                format!("missing parameter {name}"),
            ),
            Self::ClientAuth { error, challenge } => client_auth_response(error, challenge),
            Self::Storage(_) => ErrorResponse::server_error(),
        }
    }

    /// The storage failure behind this error, if any: the client sees a bare
    /// `server_error`, the operator this.
    pub fn storage_failure(&self) -> Option<&StoreError> {
        match self {
            Self::Storage(e)
            | Self::ClientAuth {
                error: ClientAuthError::Storage(e),
                ..
            } => Some(e),
            _ => None,
        }
    }

    /// Renders the error as an HTTP response, for a host that refuses a
    /// request before handing it to an endpoint (a body over its own limit,
    /// say). The endpoints' own errors render theirs.
    pub fn into_http(self) -> Response<Vec<u8>> {
        self.report("direct endpoint");
        self.to_error_response().into_http()
    }

    /// Tells the operator about a storage failure at `endpoint`, if this is
    /// one.
    pub(crate) fn report(&self, endpoint: &str) {
        if let Some(e) = self.storage_failure() {
            e.report(endpoint);
        }
    }
}

/// A failed client authentication as the client sees it.
///
/// Every authentication failure reads the same on the wire — one code, one
/// description — so a caller cannot tell an unknown client from a wrong
/// secret or a wrong method. Malformed requests (two methods, a credential in
/// the URI …) are `invalid_request`; throttling is `429` with `Retry-After`;
/// a storage failure is a bare `server_error`.
fn client_auth_response(e: &ClientAuthError, challenge: &Option<HeaderValue>) -> ErrorResponse {
    let error = ErrorResponse::described;
    match e {
        ClientAuthError::Throttled { retry_after } => error(
            ErrorCode::INVALID_CLIENT,
            "too many failed authentication attempts; retry later",
        )
        .with_status(StatusCode::TOO_MANY_REQUESTS)
        .with_retry_after(*retry_after),
        ClientAuthError::Storage(_) => ErrorResponse::server_error(),
        e if e.is_invalid_request() => {
            ErrorResponse::described(ErrorCode::INVALID_REQUEST, e.to_string())
        }
        _ => {
            let response = error(ErrorCode::INVALID_CLIENT, "client authentication failed");
            // RFC 6749 §5.2: 401 with a challenge naming the schemes the
            // server accepts when there is one to send; otherwise 400.
            match challenge {
                Some(c) => response.with_challenge(c.clone()),
                None => response.with_status(StatusCode::BAD_REQUEST),
            }
        }
    }
}

/// Why a token request failed.
///
/// The refusals every direct endpoint shares are a [`RequestError`]
/// ([`TokenError::Request`]); the others are the token endpoint's and its
/// grants'. [`TokenError::to_error_response`] is the single place these
/// become an OAuth error code, status and headers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// A refusal every direct endpoint shares: the request checks, client
    /// authentication, storage.
    #[error(transparent)]
    Request(#[from] RequestError),
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
    /// A `resource` that is malformed, unknown, or outside the grant
    /// (RFC 8707 §2): `invalid_target`.
    #[error("invalid target: {0}")]
    InvalidTarget(&'static str),
    /// A JWT access token could not be signed (the host's KMS failed, say):
    /// `server_error`, the cause logged.
    #[error("signing failed")]
    Signing(#[source] crate::jose::SigningError),
    /// The host's claims source failed while an ID token was made:
    /// `server_error`, the cause logged.
    #[error("the claims source failed")]
    Claims(#[source] crate::oidc::ClaimsError),
    /// Any other OAuth error, from an extension grant.
    #[error("{0}")]
    OAuth(OAuthError),
    /// The DPoP proof is invalid, or the token it would be bound to needs
    /// another key: `invalid_dpop_proof` (RFC 9449 §5).
    #[error("invalid DPoP proof: {0}")]
    InvalidDpopProof(crate::protocol::DpopError),
    /// The DPoP proof lacks the server's current nonce: `use_dpop_nonce`
    /// with this nonce in `DPoP-Nonce` (RFC 9449 §8).
    #[error("a DPoP nonce is required")]
    UseDpopNonce(String),
}

impl From<OAuthError> for TokenError {
    fn from(error: OAuthError) -> Self {
        Self::OAuth(error)
    }
}

/// Storage failed: [`RequestError::Storage`].
impl From<StoreError> for TokenError {
    fn from(error: StoreError) -> Self {
        Self::Request(RequestError::Storage(error))
    }
}

impl TokenError {
    /// The error as the client sees it: code, description, status, headers.
    pub fn to_error_response(&self) -> ErrorResponse {
        match self {
            TokenError::Request(e) => e.to_error_response(),
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
            TokenError::InvalidTarget(why) => {
                ErrorResponse::described(ErrorCode::INVALID_TARGET, *why)
            }
            TokenError::Signing(_) | TokenError::Claims(_) => ErrorResponse::server_error(),
            TokenError::OAuth(e) => ErrorResponse::new(e.clone()),
            TokenError::InvalidDpopProof(e) => e.to_error_response(),
            TokenError::UseDpopNonce(nonce) => crate::protocol::use_dpop_nonce(nonce),
        }
    }

    /// Renders the error as an HTTP response.
    pub fn into_http(self) -> Response<Vec<u8>> {
        if let TokenError::Request(e) = &self {
            e.report("token endpoint");
        }
        if let TokenError::Signing(e) = &self {
            tracing::error!(error = %e, "token endpoint: signing a token failed");
        }
        if let TokenError::Claims(e) = &self {
            tracing::error!(error = %e, "token endpoint: the claims source failed");
        }
        self.to_error_response().into_http()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn wire(e: RequestError) -> (StatusCode, String, Option<String>) {
        let r = e.to_error_response();
        (
            r.status(),
            r.error().code().as_str().to_owned(),
            r.error().description().map(str::to_owned),
        )
    }

    #[test]
    fn request_errors_map_to_the_wire() {
        let r = RequestError::MethodNotAllowed {
            endpoint: "revocation endpoint",
        }
        .to_error_response()
        .into_http();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers()["allow"], "POST");
        assert!(String::from_utf8_lossy(r.body()).contains("the revocation endpoint accepts"));

        let (status, code, _) = wire(RequestError::BodyTooLarge);
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request")
        );
        let (_, code, description) = wire(RequestError::MalformedRequest(FormError::Repeated(
            "token".into(),
        )));
        assert_eq!(code, "invalid_request");
        assert_eq!(description.as_deref(), Some("parameter token is repeated"));
        let (_, _, description) = wire(RequestError::MissingParameter("token"));
        assert_eq!(description.as_deref(), Some("missing parameter token"));
    }

    #[test]
    fn client_authentication_failures_read_alike() {
        let challenge = HeaderValue::from_static("Basic realm=\"https://auth.example/\"");
        for error in [
            ClientAuthError::UnknownClient,
            ClientAuthError::InvalidSecret,
            ClientAuthError::MethodMismatch,
            ClientAuthError::Missing,
        ] {
            let r = RequestError::ClientAuth {
                error,
                challenge: Some(challenge.clone()),
            }
            .to_error_response();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(r.error().code(), &ErrorCode::INVALID_CLIENT);
            assert_eq!(
                r.error().description(),
                Some("client authentication failed")
            );
            assert_eq!(r.challenge(), Some(&challenge));
        }
        let (status, code, _) = wire(RequestError::ClientAuth {
            error: ClientAuthError::Missing,
            challenge: None,
        });
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_client")
        );
        let (status, code, _) = wire(RequestError::ClientAuth {
            error: ClientAuthError::MultipleMethods,
            challenge: Some(challenge),
        });
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_request")
        );
        let r = RequestError::ClientAuth {
            error: ClientAuthError::Throttled {
                retry_after: Duration::from_secs(3),
            },
            challenge: None,
        }
        .to_error_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.retry_after(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn storage_failures_say_nothing() {
        for e in [
            RequestError::Storage(StoreError::backend("disk on fire")),
            RequestError::ClientAuth {
                error: ClientAuthError::Storage(StoreError::backend("disk on fire")),
                challenge: None,
            },
        ] {
            assert!(e.storage_failure().is_some());
            let r = TokenError::from(e).into_http();
            assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(r.body(), br#"{"error":"server_error"}"#);
        }
    }
}
