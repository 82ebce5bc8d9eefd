//! Client authentication at the endpoints a client calls directly — token,
//! device authorization, revocation, introspection (RFC 6749 §2.3, §3.2.1;
//! RFC 8628 §3.1; RFC 7009 §2.1; RFC 7662 §2.1) — and its one rendering on
//! the wire (RFC 6749 §5.2).
//!
//! Every one of these endpoints authenticates the same way, through
//! [`ServerInner::authentication`], and answers a failure the same way, so a
//! client sees one behaviour whichever endpoint it calls.

use std::time::SystemTime;

use http::StatusCode;
use http::header::{self, HeaderMap, HeaderValue};

use crate::client::{AuthRequest, AuthenticatedClient, ClientAuthError};
use crate::protocol::{ErrorCode, ErrorResponse, Params};
use crate::server::ServerInner;

/// A failed client authentication, with the challenge its `401` needs.
/// Each endpoint's error type has a `ClientAuth { error, challenge }` variant
/// made from this.
#[derive(Debug)]
pub(crate) struct ClientAuthFailure {
    /// Why.
    pub(crate) error: ClientAuthError,
    /// `WWW-Authenticate: Basic realm="<issuer>"` when the client used the
    /// `Authorization` header (RFC 6749 §5.2), else `None`.
    pub(crate) challenge: Option<HeaderValue>,
}

/// Authenticates the client of a direct request from its headers and form
/// parameters: the sequence of [`ServerInner::authentication`] (throttling
/// included), and on failure the `Basic` challenge when the client tried the
/// `Authorization` header.
pub(crate) async fn authenticate_client(
    inner: &ServerInner,
    headers: &HeaderMap,
    params: &Params<'_>,
    now: SystemTime,
) -> Result<AuthenticatedClient, ClientAuthFailure> {
    inner
        .authentication()
        .run(&AuthRequest::new(headers, params), now)
        .await
        .map_err(|error| ClientAuthFailure {
            challenge: headers
                .contains_key(header::AUTHORIZATION)
                .then(|| inner.basic_challenge.clone()),
            error,
        })
}

/// A failed client authentication as the client sees it.
///
/// Every authentication failure reads the same on the wire — one code, one
/// description — so a caller cannot tell an unknown client from a wrong
/// secret or a wrong method. Malformed requests (two methods, a credential in
/// the URI …) are `invalid_request`; throttling is `429` with `Retry-After`;
/// a storage failure is a bare `server_error`.
pub(crate) fn client_auth_response(
    e: &ClientAuthError,
    challenge: &Option<HeaderValue>,
) -> ErrorResponse {
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
            // RFC 6749 §5.2: 401 with a matching challenge when the client used
            // the Authorization header; otherwise 400.
            match challenge {
                Some(c) => response.with_challenge(c.clone()),
                None => response.with_status(StatusCode::BAD_REQUEST),
            }
        }
    }
}
