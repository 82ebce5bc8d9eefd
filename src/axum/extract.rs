//! An extractor for host handlers that take authorization requests
//! themselves.

use axum::extract::{FromRef, FromRequest, Request};
use axum::response::{IntoResponse, Response};

use super::router::buffer;
use crate::AuthorizationServer;
use crate::endpoint::{AuthorizationError, PendingAuthorization};

/// A validated authorization request (RFC 6749 §3.1, §4.1.1), for a host
/// handler that serves the authorization endpoint itself.
///
/// Reads the query (`GET`) or the form body (`POST`, at most the server's
/// [`max_body`](AuthorizationServer::max_body) bytes) and validates it
/// with the [`AuthorizationServer`] in the router's state (through
/// [`FromRef`]). It consumes the body, so it is the handler's last
/// argument.
///
/// The rejection is an [`AuthorizationRejection`]: as a response, the
/// library's redirect to the client, or its plain `400` page when the
/// request cannot be trusted to redirect. Take
/// `Result<AuthorizationRequest, AuthorizationRejection>` to render that page
/// yourself.
#[derive(Debug)]
pub struct AuthorizationRequest(pub PendingAuthorization);

/// Why [`AuthorizationRequest`] was not extracted.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthorizationRejection {
    /// The body was over the limit or unreadable: the library's `413`.
    BodyTooLarge(Response),
    /// The library refused the request.
    Invalid(AuthorizationError),
}

impl IntoResponse for AuthorizationRejection {
    fn into_response(self) -> Response {
        match self {
            AuthorizationRejection::BodyTooLarge(response) => response,
            AuthorizationRejection::Invalid(error) => error.into_response(),
        }
    }
}

impl<S> FromRequest<S> for AuthorizationRequest
where
    AuthorizationServer: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthorizationRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let server = AuthorizationServer::from_ref(state);
        let request = buffer(request, server.max_body())
            .await
            .map_err(AuthorizationRejection::BodyTooLarge)?;
        server
            .authorization_request(&request)
            .await
            .map(AuthorizationRequest)
            .map_err(AuthorizationRejection::Invalid)
    }
}
