//! The revocation endpoint (RFC 7009).
//!
//! A client tells the server it no longer needs a token — at logout, say, or
//! when a user unlinks an app — so that a token leaked from the client stops
//! working at once (RFC 6819 §4.6.x, RFC 9700 §4.14). Two layers, as for the
//! token endpoint: [`AuthorizationServer::revocation_endpoint`] takes an
//! `http::Request` and returns an `http::Response`; beneath it,
//! [`AuthorizationServer::revoke`] takes a parsed [`RevocationRequest`] and
//! returns a [`Revocation`] or a [`RevocationError`].
//!
//! The rules — what is revoked, what another client's token gets, how the
//! hint is used — are on [`AuthorizationServer::revoke`].
//!
//! # Example
//!
//! ```
//! use base64::Engine as _;
//! use portcullis::client::ClientRegistration;
//! use portcullis::grant::ClientCredentialsGrant;
//! use portcullis::protocol::GrantType;
//! use portcullis::store::MemoryStore;
//! use portcullis::AuthorizationServer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new();
//! let server = AuthorizationServer::builder("https://auth.example")
//!     .clients(store.clone())
//!     .tokens(store)
//!     .grant(ClientCredentialsGrant)
//!     .build()?;
//! let registered = server
//!     .register_client(
//!         ClientRegistration::web_application().grant_type(GrantType::CLIENT_CREDENTIALS),
//!     )
//!     .await?;
//! let basic = format!(
//!     "Basic {}",
//!     base64::engine::general_purpose::STANDARD.encode(format!(
//!         "{}:{}",
//!         registered.client.id(),
//!         registered.secret.as_ref().unwrap().expose_secret()
//!     ))
//! );
//! let post = |path: &str, body: String| {
//!     http::Request::post(format!("https://auth.example{path}"))
//!         .header("authorization", &basic)
//!         .header("content-type", "application/x-www-form-urlencoded")
//!         .body(body.into_bytes())
//! };
//!
//! let response = server
//!     .token_endpoint(post("/token", "grant_type=client_credentials".into())?)
//!     .await;
//! let body: serde_json::Value = serde_json::from_slice(response.body())?;
//! let token = body["access_token"].as_str().unwrap();
//!
//! // The client revokes its token (RFC 7009 §2.1) …
//! let response = server
//!     .revocation_endpoint(post("/revoke", format!("token={token}"))?)
//!     .await;
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers()["cache-control"], "no-store");
//! // … and it no longer works.
//! assert!(server.access_token_info(token).await?.is_none());
//!
//! // Revoking it again, or revoking nonsense, is still a 200 (RFC 7009 §2.2).
//! let again = server
//!     .revocation_endpoint(post("/revoke", format!("token={token}"))?)
//!     .await;
//! assert_eq!(again.status(), 200);
//! # Ok(())
//! # }
//! ```

use std::fmt;

use http::header::HeaderMap;
use http::{Request, Response, StatusCode};

use super::authorization_server::AuthorizationServer;
use super::client_auth::authenticate_client;
use super::form_post::FormRequest;
use super::lookup::{Found, find_token, token_params};
use super::published_urls::Endpoint;
use crate::client::{AuthRequest, EndpointFamily, ThrottleSource};
use crate::grant::RequestError;
use crate::protocol::{ErrorCode, ErrorResponse, Params, empty_response};
use crate::store::StoreError;

/// A parsed revocation request: its form parameters and its headers.
///
/// `Debug` shows parameter and header names only: values carry the token and
/// client credentials (RFC 6819 §4.6.7).
pub struct RevocationRequest<'a>(FormRequest<'a>);

impl<'a> RevocationRequest<'a> {
    /// A request from parameters the host parsed, and the request headers
    /// (for `Authorization`). The host is responsible for the checks
    /// [`from_http`](Self::from_http) does.
    pub fn new(params: Params<'a>, headers: &'a HeaderMap) -> Self {
        Self(FormRequest::new(params, headers))
    }

    /// With where the request comes from, as the host names it (the peer
    /// address, an mTLS identity): a client whose secret can be guessed is
    /// then throttled per source, so guesses from elsewhere do not lock it
    /// out ([`ThrottleSource`]). [`from_http`](Self::from_http) takes it
    /// from the request's extensions.
    pub fn with_source(mut self, source: ThrottleSource) -> Self {
        self.0.source = Some(source);
        self
    }

    /// Where the request comes from, if the host said.
    pub fn source(&self) -> Option<&ThrottleSource> {
        self.0.source.as_ref()
    }

    /// With the client certificate of the request's mutual-TLS connection
    /// (RFC 8705 §2), for `tls_client_auth`, `self_signed_tls_client_auth`
    /// and certificate-bound tokens. [`from_http`](Self::from_http) takes
    /// it from the request's extensions.
    pub fn with_certificate(mut self, certificate: crate::token::ClientCertificate) -> Self {
        self.0.certificate = Some(certificate);
        self
    }

    /// The client certificate of the request's connection, if the host
    /// handed one over.
    pub fn certificate(&self) -> Option<&crate::token::ClientCertificate> {
        self.0.certificate.as_ref()
    }

    /// What client authentication reads of the request.
    pub(crate) fn auth_request(&self) -> AuthRequest<'_> {
        self.0.auth_request()
    }

    /// Parses and checks an HTTP request, as the token endpoint does: POST
    /// (else `405`), a body of at most `max_body` bytes (else `413`),
    /// `application/x-www-form-urlencoded` in UTF-8, no client credential in
    /// the query string, a well-formed body.
    pub fn from_http<B: AsRef<[u8]>>(
        request: &'a Request<B>,
        max_body: usize,
    ) -> Result<Self, RevocationError> {
        Ok(Self(FormRequest::from_http(
            request,
            max_body,
            "revocation endpoint",
        )?))
    }

    /// The form parameters.
    pub fn params(&self) -> &Params<'a> {
        &self.0.params
    }
}

impl fmt::Debug for RevocationRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug("RevocationRequest", f)
    }
}

/// What a successful revocation request did. On the wire every one of these
/// is the same `200` (RFC 7009 §2.2); the distinction is for the host's logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revocation {
    /// A refresh token of the client's: its grant is revoked, with every
    /// token issued under it.
    Grant,
    /// An access token of the client's: that token alone is revoked.
    AccessToken,
    /// Nothing to revoke: the token is unknown, malformed, already revoked,
    /// or an invalid token of another client.
    Nothing,
}

/// Why a revocation request was refused.
///
/// The refusals every direct endpoint shares are a [`RequestError`]
/// ([`RevocationError::Request`]). [`RevocationError::to_error_response`] is
/// the one place these become an OAuth error code, status and headers
/// (RFC 7009 §2.2.1, RFC 6749 §5.2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// A refusal every direct endpoint shares: the request checks, client
    /// authentication (RFC 7009 §2.1), storage.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The token is live and was issued to another client (RFC 7009 §2.1:
    /// "the request is refused"). `400 unauthorized_client`; nothing was
    /// revoked.
    #[error("the token was issued to another client")]
    TokenOfAnotherClient,
}

/// Storage failed: [`RequestError::Storage`].
impl From<StoreError> for RevocationError {
    fn from(error: StoreError) -> Self {
        Self::Request(RequestError::Storage(error))
    }
}

impl RevocationError {
    /// The error as the client sees it: code, description, status, headers.
    pub fn to_error_response(&self) -> ErrorResponse {
        match self {
            Self::Request(e) => e.to_error_response(),
            Self::TokenOfAnotherClient => ErrorResponse::described(
                ErrorCode::UNAUTHORIZED_CLIENT,
                "the token was not issued to this client",
            ),
        }
    }

    /// Renders the error as an HTTP response.
    pub fn into_http(self) -> Response<Vec<u8>> {
        if let Self::Request(e) = &self {
            e.report("revocation endpoint");
        }
        self.to_error_response().into_http()
    }
}

impl AuthorizationServer {
    /// The revocation endpoint over HTTP (RFC 7009): an `http::Request` whose
    /// body is the whole request body in memory, to the `http::Response` to
    /// send — a `200` with an empty body, or an OAuth error (RFC 6749 §5.2),
    /// both with `Cache-Control: no-store` and `Pragma: no-cache`.
    ///
    /// The rules are on [`revoke`](Self::revoke), which this calls after
    /// [`RevocationRequest::from_http`].
    pub async fn revocation_endpoint<B>(&self, request: Request<B>) -> Response<Vec<u8>>
    where
        B: AsRef<[u8]> + Send + Sync,
    {
        let result = match RevocationRequest::from_http(&request, self.inner.max_body) {
            Ok(parsed) => self.revoke(parsed).await,
            Err(e) => Err(e),
        };
        match result {
            // RFC 7009 §2.2: the client ignores the body.
            Ok(_) => empty_response(StatusCode::OK),
            Err(e) => e.into_http(),
        }
    }

    /// The revocation endpoint's logic on a parsed request (RFC 7009 §2).
    ///
    /// In order: `token` present (else `invalid_request`); client
    /// authentication; the token looked up, hinted type first; then the
    /// revocation, if the token is the client's.
    ///
    /// # What is revoked
    ///
    /// - **A refresh token revokes its whole grant**: the refresh token, every
    ///   access token issued under the grant, and any later rotation of it
    ///   (RFC 7009 §2.1: the server SHOULD also invalidate the access tokens of
    ///   the same grant). This holds for a rotated-out refresh token of the
    ///   client's too: the token endpoint would revoke the grant for presenting
    ///   it, and the client asking means it wants the grant gone.
    /// - **An access token revokes that token only**: the grant, its refresh
    ///   token and its other access tokens keep working (RFC 7009 §2.1 leaves this
    ///   to the server: it MAY revoke the refresh token as well). A client logging
    ///   out revokes its refresh token, which takes everything with it; revoking
    ///   just an access token is how a client drops one token it no longer
    ///   trusts, without making the user sign in again.
    /// - **An unknown, malformed, expired or already revoked token** is answered
    ///   `200` and nothing changes (RFC 7009 §2.2): the client's purpose is
    ///   achieved, and it could do nothing with an error.
    /// - **A live token issued to another client** is never revoked. The request
    ///   is refused with `400 unauthorized_client`, as RFC 7009 §2.1 says ("the
    ///   request is refused and the client is informed of the error"). A `200`
    ///   would tell the client a token is dead while it still works, so a client
    ///   that mixes up its identities would log a user out only in appearance.
    ///   The answer reveals only that the token is live, which whoever holds it
    ///   can learn anyway by using it; an expired or rotated-out token of another
    ///   client is answered `200`, since it is invalid and revoking it would
    ///   change nothing.
    ///
    /// `token_type_hint` (`access_token` or `refresh_token`) orders the lookup
    /// but is not trusted: a token not found under the hinted type is looked for
    /// under the other, and an unknown hint value is ignored. Token prefixes
    /// (`pc_at_`, `pc_rt_`) rule out impossible lookups.
    ///
    /// The client authenticates as at the token endpoint — the same sequence
    /// and `401` with a `WWW-Authenticate: Basic` challenge — with throttling
    /// keys of its own family, so wrong secrets here cannot lock the client
    /// out of the token endpoint (unless
    /// [`ServerBuilder::shared_throttle_keys`](crate::ServerBuilder::shared_throttle_keys)). A public
    /// client identifies itself with `client_id` and may revoke its own tokens.
    /// A request with no client authentication at all is `401 invalid_client`
    /// with the `Basic` challenge too (RFC 7009 §2.1, RFC 9110 §15.5.2).
    /// Every response carries `Cache-Control: no-store` and `Pragma: no-cache`;
    /// every revocation is a security event (`grant_revoked` or `token_revoked`
    /// on the target `portcullis::security`).
    pub async fn revoke(
        &self,
        request: RevocationRequest<'_>,
    ) -> Result<Revocation, RevocationError> {
        let inner = &*self.inner;
        let params = &request.0.params;
        let (token, hint) = token_params(params).map_err(RequestError::MalformedRequest)?;
        let token = token.ok_or(RequestError::MissingParameter("token"))?;

        let now = inner.clock.now();
        // RFC 7009 §2.1: every client authenticates, or at least identifies
        // itself; a request with neither is told how (RFC 9110 §15.5.2).
        let unauthenticated = Some(inner.basic_challenge.clone());
        let client = authenticate_client(
            inner,
            EndpointFamily::Revocation,
            Endpoint::Revocation,
            request.auth_request(),
            now,
            unauthenticated,
        )
        .await?;

        let Some(found) = find_token(&*inner.stores.grants, token, hint).await? else {
            return Ok(Revocation::Nothing);
        };
        let grant_id = found.grant().id;
        if found.client_id() != client.id() {
            if !found.is_active(now) {
                return Ok(Revocation::Nothing);
            }
            tracing::warn!(
                target: "portcullis::security",
                event = "revocation_refused",
                reason = "token of another client",
                client_id = %client.id(),
                grant_id = %grant_id,
            );
            return Err(RevocationError::TokenOfAnotherClient);
        }

        match found {
            Found::Refresh(_) => {
                let existed = inner.stores.grants.revoke_grant(&grant_id).await?;
                tracing::info!(
                    target: "portcullis::security",
                    event = "grant_revoked",
                    via = "revocation_endpoint",
                    client_id = %client.id(),
                    grant_id = %grant_id,
                    existed,
                );
                Ok(Revocation::Grant)
            }
            Found::Access(record, _) => {
                let existed = inner
                    .stores
                    .grants
                    .revoke_access_token(&record.hash)
                    .await?;
                tracing::info!(
                    target: "portcullis::security",
                    event = "token_revoked",
                    token_type = "access_token",
                    via = "revocation_endpoint",
                    client_id = %client.id(),
                    grant_id = %grant_id,
                    existed,
                );
                Ok(Revocation::AccessToken)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http::header;

    #[test]
    fn debug_shows_no_credentials() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic c2VjcmV0OnNlY3JldA=="),
        );
        let params = Params::parse(b"token=pc_rt_hunter2").unwrap();
        let shown = format!("{:?}", RevocationRequest::new(params, &headers));
        assert!(shown.contains("authorization") && shown.contains("token"));
        assert!(
            !shown.contains("c2VjcmV0") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    #[test]
    fn errors_map_to_the_wire() {
        let r = RevocationError::TokenOfAnotherClient.to_error_response();
        assert_eq!(
            (r.status(), r.error().code()),
            (StatusCode::BAD_REQUEST, &ErrorCode::UNAUTHORIZED_CLIENT)
        );
        let r = RevocationError::from(RequestError::MethodNotAllowed {
            endpoint: "revocation endpoint",
        })
        .into_http();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers()["allow"], "POST");
        let r = RevocationError::from(StoreError::backend("disk on fire")).into_http();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!String::from_utf8_lossy(r.body()).contains("fire"));
    }
}
