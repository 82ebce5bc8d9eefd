//! Client authentication at the endpoints a client calls directly — token,
//! device authorization, revocation, introspection (RFC 6749 §2.3, §3.2.1;
//! RFC 8628 §3.1; RFC 7009 §2.1; RFC 7662 §2.1).
//!
//! Every one of these endpoints authenticates the same way, through
//! [`ServerInner::authentication`], and a failure is the same
//! [`RequestError::ClientAuth`], so a client sees one behaviour whichever
//! endpoint it calls.

use std::time::SystemTime;

use http::header::{self, HeaderValue};

use super::authorization_server::ServerInner;
use super::published_urls::Endpoint;
use crate::client::{AuthRequest, AuthenticatedClient, ClientAuthError, EndpointFamily};
use crate::grant::RequestError;

/// Authenticates the client of a direct request from its headers, form
/// parameters and [`ThrottleSource`](crate::client::ThrottleSource): the
/// sequence of [`ServerInner::authentication`] (throttling included, keyed
/// by the endpoint's `family`; a client assertion may name `endpoint`'s URL
/// as its audience, RFC 7523 §3). On failure the `401`'s challenge is:
///
/// - `Basic realm="<issuer>"` when the client tried the `Authorization`
///   header (RFC 6749 §5.2: MUST);
/// - `unauthenticated` when the request carried no authentication at all
///   ([`ClientAuthError::Missing`]): the endpoints that require
///   authentication of every caller answer `401` with the schemes they accept
///   (RFC 7009 §2.1, RFC 7662 §2.1; RFC 9110 §15.5.2), the others pass `None`
///   and answer `400` (RFC 6749 §5.2 makes the `401` a MAY);
/// - otherwise none: the failure is a `400`.
pub(crate) async fn authenticate_client(
    inner: &ServerInner,
    family: EndpointFamily,
    endpoint: Endpoint,
    request: AuthRequest<'_>,
    now: SystemTime,
    unauthenticated: Option<HeaderValue>,
) -> Result<AuthenticatedClient, RequestError> {
    let headers = request.headers();
    inner
        .authentication(family, endpoint)
        .run(&request, now)
        .await
        .and_then(|client| {
            // FAPI 2.0 §5.3.2.1 items 3 and 6, refused as an unsupported
            // method is (RFC 6749 §5.2 `invalid_client`).
            if inner.options.fapi2 && !super::fapi::allows_client(&client) {
                Err(ClientAuthError::MethodNotAllowed)
            } else {
                Ok(client)
            }
        })
        .map_err(|error| {
            // RFC 8705 §2: a certificate that is missing or does not match
            // is a `401`, naming the scheme the endpoint also accepts.
            let certificate = matches!(
                error,
                ClientAuthError::CertificateMissing | ClientAuthError::CertificateMismatch
            );
            let challenge = if headers.contains_key(header::AUTHORIZATION) || certificate {
                Some(inner.basic_challenge.clone())
            } else if matches!(error, ClientAuthError::Missing) {
                unauthenticated
            } else {
                None
            };
            RequestError::ClientAuth { error, challenge }
        })
}
