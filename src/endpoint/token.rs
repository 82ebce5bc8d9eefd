//! The token endpoint (RFC 6749 §3.2).
//!
//! Two layers: [`AuthorizationServer::token_endpoint`] takes an
//! `http::Request` and returns an `http::Response`; beneath it,
//! [`AuthorizationServer::token`] takes a parsed [`TokenRequest`] and returns a
//! typed [`TokenResponse`] or [`TokenError`], for hosts that do their own HTTP
//! parsing.

use std::fmt;

use http::header::HeaderMap;
use http::{Method, Request, Response};

use super::authorization_server::AuthorizationServer;
use super::client_auth::authenticate_client;
use super::dpop::DpopRefusal;
use super::form_post::FormRequest;
use super::published_urls::Endpoint;
use crate::client::{AuthRequest, EndpointFamily, ThrottleSource};
use crate::grant::{GrantContext, RequestError, TargetRefusal, TokenError, target_error};
use crate::protocol::{DPOP_HEADER, DpopError, Params, ResourceSet, TokenResponse};

/// A parsed token request: its form parameters and its headers.
///
/// `Debug` shows parameter and header names only: values carry client
/// secrets and `Authorization` credentials (RFC 6819 §4.6.7).
pub struct TokenRequest<'a>(FormRequest<'a>);

impl<'a> TokenRequest<'a> {
    /// A request from parameters the host parsed, and the request headers (for
    /// `Authorization`). The host is responsible for the checks
    /// [`from_http`](Self::from_http) does: POST, form content type, no
    /// credentials in the URI.
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

    /// Parses and checks an HTTP request (RFC 6749 §3.2):
    ///
    /// - the method is POST (else `405`);
    /// - the body is at most `max_body` bytes (else `413`);
    /// - the content type is `application/x-www-form-urlencoded`, in UTF-8;
    /// - no client credential is in the query string (§2.3.1);
    /// - the body is well-formed (strictly percent-decoded, UTF-8).
    pub fn from_http<B: AsRef<[u8]>>(
        request: &'a Request<B>,
        max_body: usize,
    ) -> Result<Self, TokenError> {
        Ok(Self(FormRequest::from_http(
            request,
            max_body,
            "token endpoint",
        )?))
    }

    /// The form parameters.
    pub fn params(&self) -> &Params<'a> {
        &self.0.params
    }

    /// The request headers.
    pub fn headers(&self) -> &'a HeaderMap {
        self.0.headers
    }
}

impl fmt::Debug for TokenRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug("TokenRequest", f)
    }
}

impl AuthorizationServer {
    /// The token endpoint over HTTP: an `http::Request` whose body is the whole
    /// request body in memory, to the `http::Response` to send.
    ///
    /// Every outcome is a well-formed OAuth response — success (RFC 6749 §5.1)
    /// or error (§5.2) — with `Cache-Control: no-store` and `Pragma: no-cache`.
    /// The host should cap how much body it reads; requests over
    /// [`ServerBuilder::max_body`](crate::ServerBuilder::max_body) are refused
    /// here as well.
    pub async fn token_endpoint<B>(&self, request: Request<B>) -> Response<Vec<u8>>
    where
        B: AsRef<[u8]> + Send + Sync,
    {
        let result = match TokenRequest::from_http(&request, self.inner.max_body) {
            Ok(parsed) => self.token(parsed).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(response) => response.into_http(),
            Err(e) => e.into_http(),
        }
    }

    /// The token endpoint's logic on a parsed request.
    ///
    /// In order: `grant_type` present and served (else `invalid_request` /
    /// `unsupported_grant_type`); client authentication (§3.2.1); the client may
    /// use this grant (`unauthorized_client`); `scope`, if present, is valid and
    /// within the client's allowed scope (`invalid_scope`); then the grant's
    /// handler.
    pub async fn token(&self, request: TokenRequest<'_>) -> Result<TokenResponse, TokenError> {
        let inner = &*self.inner;
        let params = &request.0.params;
        let grant_type = params
            .get("grant_type")
            .map_err(RequestError::MalformedRequest)?
            .ok_or(RequestError::MissingParameter("grant_type"))?;
        let handler = inner
            .grants
            .iter()
            .find(|(g, _)| g.as_str() == grant_type)
            .map(|(_, h)| h)
            .ok_or(TokenError::UnsupportedGrantType)?;

        let now = inner.clock.now();
        let client = authenticate_client(
            inner,
            EndpointFamily::Token,
            Endpoint::Token,
            request.auth_request(),
            now,
            None,
        )
        .await?;

        if !client.client().allows_grant(grant_type) {
            return Err(TokenError::UnauthorizedClient(
                "the client is not registered for this grant type",
            ));
        }

        let requested_scope = params
            .get("scope")
            .map_err(RequestError::MalformedRequest)?
            .map(|raw| client.client().requested_scope(raw))
            .transpose()
            .map_err(TokenError::InvalidScope)?;

        // RFC 8707 §2: each `resource` an absolute URI the server knows.
        let requested_resources =
            ResourceSet::from_params(params).map_err(|_| target_error(TargetRefusal::Malformed))?;
        // RFC 9396 §6: authorization details, held to the rules of the
        // authorization endpoint's (§5).
        let requested_details = match params
            .get("authorization_details")
            .map_err(RequestError::MalformedRequest)?
        {
            None => crate::protocol::AuthorizationDetails::empty(),
            Some(raw) => inner
                .detail_types
                .check(raw, client.client())
                .map_err(crate::grant::details_error)?,
        };
        if requested_resources.iter().any(|r| {
            !inner
                .audiences
                .resources()
                .iter()
                .any(|k| k.indicator() == r)
        }) {
            return Err(target_error(TargetRefusal::Unknown));
        }

        // RFC 9449 §5: a proof binds the tokens to its key. Without DPoP
        // configured, or without the header, nothing more is done.
        let proven = match &inner.dpop {
            Some(dpop) if request.headers().contains_key(DPOP_HEADER) => {
                let url = inner.discovery.endpoints.get(Endpoint::Token);
                match dpop
                    .check(request.headers(), &Method::POST, url, None, now)
                    .await
                {
                    Ok(proven) => proven,
                    Err(DpopRefusal::Invalid(e)) => return Err(TokenError::InvalidDpopProof(e)),
                    Err(DpopRefusal::UseNonce(nonce)) => {
                        return Err(TokenError::UseDpopNonce(nonce));
                    }
                    Err(DpopRefusal::Storage(e)) => return Err(e.into()),
                }
            }
            _ => None,
        };
        // RFC 9449 §5.2: a client registered with
        // `dpop_bound_access_tokens` gets no token without a proof.
        if proven.is_none() && client.client().dpop_bound_access_tokens() {
            return Err(TokenError::InvalidDpopProof(DpopError::Missing));
        }
        // RFC 8705 §3.1: a client registered with
        // `tls_client_certificate_bound_access_tokens` gets tokens bound to
        // the certificate of its connection, and none without one; under
        // the FAPI 2.0 profile (§5.3.2.1 items 4, 5) so does any client that
        // comes with a certificate to a server offering mutual TLS. A DPoP
        // proof, when sent, binds them instead: a token has one `cnf`.
        let bind_certificate = client.client().tls_client_certificate_bound_access_tokens()
            || (inner.options.fapi2
                && inner.mutual_tls.is_some()
                && request.certificate().is_some());
        let certificate_bound = match proven {
            None if bind_certificate => Some(certificate_binding(
                inner.mutual_tls.is_some(),
                request.certificate(),
            )?),
            _ => None,
        };
        let confirmation = proven
            .as_ref()
            .map(|p| &p.confirmation)
            .or(certificate_bound.as_ref());
        // FAPI 2.0 §5.3.2.1 item 4: only sender-constrained access tokens.
        if inner.options.fapi2 && confirmation.is_none() {
            return Err(super::fapi::unconstrained_token_request(inner));
        }

        let ctx = GrantContext {
            stores: &inner.stores,
            lifetimes: &inner.lifetimes,
            serves_refresh: inner.serves_refresh,
            client: &client,
            params,
            requested_scope: requested_scope.as_ref(),
            requested_resources: &requested_resources,
            audiences: &inner.audiences,
            issuer: &inner.issuer,
            openid: inner.openid.as_deref(),
            now,
            requested_details: &requested_details,
            confirmation,
            refresh_rotation: inner.options.refresh_rotation,
        };
        let response = handler.handle(ctx).await?;
        Ok(match proven.and_then(|p| p.fresh_nonce) {
            Some(nonce) => match http::HeaderValue::from_str(&nonce) {
                Ok(value) => response.with_dpop_nonce(value),
                Err(_) => response,
            },
            None => response,
        })
    }
}

/// The certificate binding of a token request of a client registered for
/// certificate-bound tokens (RFC 8705 §3.1): `invalid_request` when the
/// server does not offer mutual TLS or the request came without a client
/// certificate.
fn certificate_binding(
    offered: bool,
    certificate: Option<&crate::token::ClientCertificate>,
) -> Result<crate::token::Confirmation, TokenError> {
    let refuse = |description| {
        TokenError::OAuth(
            crate::protocol::OAuthError::new(crate::protocol::ErrorCode::INVALID_REQUEST)
                .with_description(description),
        )
    };
    if !offered {
        return Err(refuse(
            "the client's tokens are certificate-bound, which this server does not offer",
        ));
    }
    certificate
        .map(crate::token::ClientCertificate::confirmation)
        .ok_or_else(|| {
            refuse("the client's tokens are certificate-bound: a client certificate is required")
        })
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
        let params = Params::parse(b"client_secret=hunter2&grant_type=x").unwrap();
        let shown = format!("{:?}", TokenRequest::new(params, &headers));
        assert!(shown.contains("authorization") && shown.contains("client_secret"));
        assert!(
            !shown.contains("c2VjcmV0") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
