//! The introspection endpoint (RFC 7662).
//!
//! A resource server that receives an opaque access token asks the
//! authorization server whether it is active, and what it allows. Two
//! layers, as for the token endpoint:
//! [`AuthorizationServer::introspection_endpoint`] takes an `http::Request`
//! and returns an `http::Response`; beneath it,
//! [`AuthorizationServer::introspect`] takes a parsed
//! [`IntrospectionRequest`] and returns an [`IntrospectionResponse`] or an
//! [`IntrospectionError`]. A resource server in another process reads the
//! answer with [`IntrospectionResponse::from_json`].
//!
//! The rules — who may ask, about which tokens, and what the answer holds —
//! are on [`AuthorizationServer::introspect`].
//!
//! # Example
//!
//! ```
//! use base64::Engine as _;
//! use portcullis::client::ClientRegistration;
//! use portcullis::grant::ClientCredentialsGrant;
//! use portcullis::protocol::{GrantType, IntrospectionResponse};
//! use portcullis::store::MemoryStore;
//! use portcullis::AuthorizationServer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The secret a resource server presents; generate it from a CSPRNG.
//! let rs_secret = "x3Jm0qKp9vT2bW8cYn4Ld7Fh1Rs6Gz5Ae0Uk3Ow9Ti2";
//! let store = MemoryStore::new();
//! let server = AuthorizationServer::builder("https://auth.example")
//!     .clients(store.clone())
//!     .tokens(store)
//!     .grant(ClientCredentialsGrant)
//!     .introspection_credential("orders-api", rs_secret)
//!     .build()?;
//!
//! // A client gets a token …
//! let app = server
//!     .register_client(
//!         ClientRegistration::web_application()
//!             .grant_type(GrantType::CLIENT_CREDENTIALS)
//!             .scope("orders:read".parse()?),
//!     )
//!     .await?;
//! let basic = base64::engine::general_purpose::STANDARD.encode(format!(
//!     "{}:{}",
//!     app.client.id(),
//!     app.secret.as_ref().unwrap().expose_secret()
//! ));
//! let request = http::Request::post("https://auth.example/token")
//!     .header("authorization", format!("Basic {basic}"))
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body(b"grant_type=client_credentials&scope=orders%3Aread".to_vec())?;
//! let body: serde_json::Value =
//!     serde_json::from_slice(server.token_endpoint(request).await.body())?;
//! let token = body["access_token"].as_str().unwrap();
//!
//! // … and presents it to the orders API, which asks the server (RFC 7662 §2.1).
//! let request = http::Request::post("https://auth.example/introspect")
//!     .header("authorization", format!("Bearer {rs_secret}"))
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body(format!("token={token}&token_type_hint=access_token").into_bytes())?;
//! let response = server.introspection_endpoint(request).await;
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers()["cache-control"], "no-store");
//!
//! // The orders API reads the answer.
//! let answer = IntrospectionResponse::from_json(response.body())?;
//! assert!(answer.is_active_access_token());
//! assert_eq!(answer.iss.as_deref(), Some("https://auth.example"));
//! assert!(answer.scope.unwrap().contains("orders:read"));
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::time::SystemTime;

use http::header::{HeaderMap, HeaderValue};
use http::{Request, Response};

use super::authorization_server::{AuthorizationServer, ServerInner};
use super::client_auth::authenticate_client;
use super::form_post::FormRequest;
use super::introspection_access::{IntrospectedToken, IntrospectionCaller};
use super::lookup::{Found, find_token, token_params};
use super::published_urls::Endpoint;
use crate::client::{AuthRequest, ClientAuthError, EndpointFamily, Report, ThrottleSource};
use crate::grant::RequestError;
use crate::jose::Audience;
use crate::protocol::server_challenge;
use crate::protocol::{
    BearerCredential, ErrorCode, ErrorResponse, IntrospectionResponse, Params, bearer_credential,
    epoch_secs,
};
use crate::store::{Actor, StoreError};
use crate::token::TokenKind;

/// The longest `Authorization: Bearer` credential read, in bytes.
const MAX_BEARER_LEN: usize = 4096;

/// A parsed introspection request: its form parameters and its headers.
///
/// `Debug` shows parameter and header names only: values carry the token and
/// credentials (RFC 6819 §4.6.7).
pub struct IntrospectionRequest<'a>(FormRequest<'a>);

impl<'a> IntrospectionRequest<'a> {
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
    /// (else `405`; RFC 7662 §4 lets the server refuse GET so tokens stay out
    /// of logs), a body of at most `max_body` bytes (else `413`),
    /// `application/x-www-form-urlencoded` in UTF-8, no client credential in
    /// the query string, a well-formed body.
    pub fn from_http<B: AsRef<[u8]>>(
        request: &'a Request<B>,
        max_body: usize,
    ) -> Result<Self, IntrospectionError> {
        Ok(Self(FormRequest::from_http(
            request,
            max_body,
            "introspection endpoint",
        )?))
    }

    /// The form parameters.
    pub fn params(&self) -> &Params<'a> {
        &self.0.params
    }
}

impl fmt::Debug for IntrospectionRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug("IntrospectionRequest", f)
    }
}

/// Why an introspection request was refused. An inactive or unknown token is
/// not an error (RFC 7662 §2.3): it is `{"active":false}`.
///
/// The refusals every direct endpoint shares are a [`RequestError`]
/// ([`IntrospectionError::Request`]). [`IntrospectionError::to_error_response`]
/// is the one place these become an OAuth error code, status and headers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntrospectionError {
    /// A refusal every direct endpoint shares: the request checks, client
    /// authentication (RFC 7662 §2.1, §2.3), storage.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The bearer credential is not one the host configured (RFC 7662 §2.3,
    /// RFC 6750 §3.1). `401 invalid_token` with a `WWW-Authenticate: Bearer`
    /// challenge.
    #[error("invalid resource server credential")]
    InvalidCredential {
        /// The `WWW-Authenticate: Bearer` challenge.
        challenge: HeaderValue,
    },
}

/// Storage failed: [`RequestError::Storage`].
impl From<StoreError> for IntrospectionError {
    fn from(error: StoreError) -> Self {
        Self::Request(RequestError::Storage(error))
    }
}

impl IntrospectionError {
    /// The error as the caller sees it: code, description, status, headers.
    pub fn to_error_response(&self) -> ErrorResponse {
        match self {
            Self::Request(e) => e.to_error_response(),
            Self::InvalidCredential { challenge } => ErrorResponse::described(
                ErrorCode::INVALID_TOKEN,
                "the resource server credential is invalid",
            )
            .with_challenge(challenge.clone()),
        }
    }

    /// Renders the error as an HTTP response.
    pub fn into_http(self) -> Response<Vec<u8>> {
        if let Self::Request(e) = &self {
            e.report("introspection endpoint");
        }
        self.to_error_response().into_http()
    }
}

/// The credential of an `Authorization: Bearer` header: `None` if the
/// request has no single `Authorization` header with the `Bearer` scheme
/// (client authentication then reads the request), `Some(None)` if the
/// credential is malformed.
fn bearer(headers: &HeaderMap) -> Option<Option<&str>> {
    match bearer_credential(headers, MAX_BEARER_LEN) {
        BearerCredential::Absent | BearerCredential::Repeated => None,
        BearerCredential::Malformed => Some(None),
        BearerCredential::Token(credential) => Some(Some(credential)),
    }
}

impl AuthorizationServer {
    /// The introspection endpoint over HTTP (RFC 7662): an `http::Request`
    /// whose body is the whole request body in memory, to the
    /// `http::Response` to send — the JSON introspection response, or an
    /// OAuth error, both with `Cache-Control: no-store` and
    /// `Pragma: no-cache`.
    ///
    /// The rules are on [`introspect`](Self::introspect), which this calls
    /// after [`IntrospectionRequest::from_http`].
    pub async fn introspection_endpoint<B>(&self, request: Request<B>) -> Response<Vec<u8>>
    where
        B: AsRef<[u8]> + Send + Sync,
    {
        let result = match IntrospectionRequest::from_http(&request, self.inner.max_body) {
            Ok(parsed) => self.introspect(parsed).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(response) => response.into_http(),
            Err(e) => e.into_http(),
        }
    }

    /// The introspection endpoint's logic on a parsed request (RFC 7662 §2).
    ///
    /// In order: `token` present (else `invalid_request`); the caller
    /// authenticated; the token looked up, hinted type first; whether it is
    /// active; whether the [policy](super::IntrospectionPolicy) lets the
    /// caller know.
    ///
    /// # Who may ask, about what
    ///
    /// The caller must authenticate (RFC 7662 §2.1, against token scanning):
    ///
    /// - a **resource server** presents `Authorization: Bearer <secret>`, a
    ///   credential the host configured with
    ///   [`ServerBuilder::introspection_credential`](crate::ServerBuilder::introspection_credential).
    ///   The server keeps only its SHA-256 and compares in constant time. A wrong
    ///   or unknown credential is `401 invalid_token` with a
    ///   `WWW-Authenticate: Bearer` challenge (RFC 6750 §3). Failures are
    ///   **not throttled**, deliberately: a bearer secret names no resource
    ///   server until it is verified, so failures could only be counted under
    ///   one key that every resource server shares, and anyone who can reach
    ///   the endpoint could keep that key blocked — a denial of service
    ///   against every resource server at once. What defeats guessing instead
    ///   is entropy, as for tokens: the secrets are at least
    ///   [`MIN_RESOURCE_SERVER_SECRET_LEN`](super::MIN_RESOURCE_SERVER_SECRET_LEN)
    ///   characters from a CSPRNG (32 random bytes, 256 bits, in base64 are
    ///   44), far beyond what any rate of guessing reaches (RFC 6819
    ///   §5.1.4.2.2). Failures are `resource_server_authentication_failed`
    ///   security events, aggregated like the others;
    /// - a **client** authenticates as at the token endpoint (same sequence,
    ///   `401` with a `Basic` challenge), with throttling keys of the
    ///   introspection family: failures here do not count against the token
    ///   endpoint unless
    ///   [`ServerBuilder::shared_throttle_keys`](crate::ServerBuilder::shared_throttle_keys)
    ///   is set.
    ///
    /// A request with neither is `401 invalid_client` with a challenge naming
    /// both schemes — `Basic`, and `Bearer` when resource-server credentials
    /// are configured (RFC 7662 §2.1, RFC 9110 §15.5.2).
    ///
    /// An [`IntrospectionPolicy`](super::IntrospectionPolicy) then decides
    /// whether the caller may learn about the token (RFC 7662 §4, §5). By
    /// default ([`DefaultIntrospectionPolicy`](super::DefaultIntrospectionPolicy))
    /// a resource server may introspect every token, and a confidential
    /// client only the tokens issued to itself. A refusal is answered
    /// `{"active":false}`, exactly as an unknown token is.
    ///
    /// # The answer
    ///
    /// An active token gets `active`, `scope` (if not empty), `client_id`,
    /// `sub` (if the grant speaks for a resource owner), `exp`, `iat`, `iss`, and
    /// `token_type: "Bearer"` for an access token. Refresh tokens can be
    /// introspected too; they carry no `token_type`, since that member is the
    /// access token type of RFC 6749 §5.1. There is no `aud`: tokens have no
    /// audience. Anything else — unknown, malformed, expired, revoked, or a
    /// rotated-out refresh token — is `{"active":false}` and nothing more
    /// (RFC 7662 §2.2). `token_type_hint` orders the lookup, as at the
    /// revocation endpoint. Every response carries `Cache-Control: no-store`.
    pub async fn introspect(
        &self,
        request: IntrospectionRequest<'_>,
    ) -> Result<IntrospectionResponse, IntrospectionError> {
        let inner = &*self.inner;
        let (token, hint) =
            token_params(&request.0.params).map_err(RequestError::MalformedRequest)?;
        let token = token.ok_or(RequestError::MissingParameter("token"))?;

        let now = inner.clock.now();
        let caller = self.introspection_caller(&request, now).await?;

        let found = match find_token(&*inner.stores.grants, token, hint).await? {
            Some(found) if found.is_active(now) => found,
            _ => return Ok(IntrospectionResponse::inactive()),
        };
        let token = introspected(found);
        if !inner.introspection.policy.allows(&caller, &token) {
            tracing::info!(
                target: "portcullis::security",
                event = "introspection_denied",
                caller = %CallerName(&caller),
                client_id = %token.client_id,
                grant_id = %token.grant_id,
            );
            return Ok(IntrospectionResponse::inactive());
        }
        Ok(IntrospectionResponse {
            active: true,
            scope: (!token.scope.is_empty()).then_some(token.scope),
            client_id: Some(token.client_id.as_str().to_owned()),
            sub: token.subject.map(|s| s.as_str().to_owned()),
            exp: Some(epoch_secs(token.expires_at)),
            iat: Some(epoch_secs(token.issued_at)),
            // RFC 9449 §6.2: a DPoP-bound access token is of type `DPoP`.
            token_type: (token.kind == TokenKind::AccessToken).then(|| {
                match token.cnf.as_ref().and_then(|c| c.jwk_thumbprint()) {
                    Some(_) => "DPoP".to_owned(),
                    None => "Bearer".to_owned(),
                }
            }),
            iss: Some(inner.issuer.as_str().to_owned()),
            nbf: None,
            act: token.act.as_ref().map(Actor::to_json_value),
            aud: (!token.audience.is_empty()).then(|| {
                Audience::of(
                    token
                        .audience
                        .iter()
                        .map(|r| r.as_str().to_owned())
                        .collect(),
                )
            }),
            authorization_details: (!token.authorization_details.is_empty())
                .then(|| token.authorization_details.to_json()),
            cnf: token.cnf,
        })
    }

    /// Authenticates the caller: a resource server's bearer credential, or
    /// else a client.
    async fn introspection_caller(
        &self,
        request: &IntrospectionRequest<'_>,
        now: SystemTime,
    ) -> Result<IntrospectionCaller, IntrospectionError> {
        let inner = &*self.inner;
        let Some(presented) = bearer(request.0.headers) else {
            let unauthenticated = Some(unauthenticated_challenge(inner));
            return Ok(IntrospectionCaller::Client(
                authenticate_client(
                    inner,
                    EndpointFamily::Introspection,
                    Endpoint::Introspection,
                    request.auth_request(),
                    now,
                    unauthenticated,
                )
                .await?,
            ));
        };
        // A bearer credential and client credentials in one request are two
        // methods (RFC 6749 §2.3).
        if ["client_id", "client_secret", "client_assertion"]
            .iter()
            .any(|p| request.0.params.contains(p))
        {
            return Err(RequestError::ClientAuth {
                error: ClientAuthError::MultipleMethods,
                challenge: None,
            }
            .into());
        }
        // Not throttled: a bearer secret names no resource server until it
        // is verified, so failures could only be counted under one key, and
        // anyone reaching the endpoint could then keep every resource server
        // refused. The secrets' entropy (`MIN_RESOURCE_SERVER_SECRET_LEN`
        // characters from a CSPRNG) is what defeats guessing, as for tokens.
        if let Some(server) = presented.and_then(|p| inner.introspection.verify(p)) {
            return Ok(IntrospectionCaller::ResourceServer(server));
        }
        // One key for all: the event has nothing else to tell them apart.
        if inner
            .auth_events
            .note("resource_server_authentication_failed", "", now)
            == Report::First
        {
            tracing::warn!(
                target: "portcullis::security",
                event = "resource_server_authentication_failed",
            );
        }
        Err(IntrospectionError::InvalidCredential {
            challenge: server_challenge(inner.issuer.as_str(), true),
        })
    }
}

/// The challenge of a request that carried no authentication at all: RFC
/// 7662 §2.1 requires some, so it is a `401` naming every scheme a caller may
/// use (RFC 9110 §15.5.2, §11.6.1) — `Basic` for clients, and `Bearer` for
/// resource servers when the host configured any, without an error code since
/// no bearer credential was presented (RFC 6750 §3.1).
fn unauthenticated_challenge(inner: &ServerInner) -> HeaderValue {
    let basic = &inner.basic_challenge;
    if !inner.introspection.has_resource_servers() {
        return basic.clone();
    }
    let bearer = server_challenge(inner.issuer.as_str(), false);
    let both = [basic.as_bytes(), b", ", bearer.as_bytes()].concat();
    // Two valid challenges joined by a comma are a valid field value.
    HeaderValue::from_bytes(&both).unwrap_or_else(|_| basic.clone())
}

/// What the policy and the response are built from.
fn introspected(found: Found) -> IntrospectedToken {
    // An access token carries its own authorization details (RFC 9396
    // §6.2, §9.2), a refresh token its grant's (§7).
    let (kind, scope, audience, issued_at, expires_at, grant, exchange, cnf, details) = match found
    {
        Found::Access(record, grant) => (
            TokenKind::AccessToken,
            record.scope,
            record.audience,
            record.issued_at,
            record.expires_at,
            grant,
            record.exchange,
            record.cnf,
            record.authorization_details,
        ),
        Found::Refresh(found) => {
            let details = found.grant.authorization_details.clone();
            (
                TokenKind::RefreshToken,
                found.record.scope,
                found.grant.resources.clone(),
                found.record.issued_at,
                found.record.expires_at,
                found.grant,
                None,
                found.record.cnf,
                details,
            )
        }
    };
    // An exchanged token was issued to the client that asked for it (RFC
    // 8693 §2.1), which the host's policy may let differ from the grant's.
    let (client_id, act) = match exchange {
        Some(exchange) => (exchange.client_id.clone(), exchange.act.clone()),
        None => (grant.client_id, None),
    };
    IntrospectedToken {
        kind,
        client_id,
        act,
        subject: grant.subject,
        scope,
        audience,
        issued_at,
        // Nothing outlives its grant.
        expires_at: expires_at.min(grant.expires_at),
        grant_id: grant.id,
        authorization_details: details,
        cnf,
    }
}

/// A caller as it appears in security events.
struct CallerName<'a>(&'a IntrospectionCaller);

impl fmt::Display for CallerName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IntrospectionCaller::Client(c) => write!(f, "client {}", c.id()),
            IntrospectionCaller::ResourceServer(rs) => write!(f, "resource server {}", rs.name()),
        }
    }
}

/// The endpoint futures can be spawned on a multi-threaded runtime.
#[allow(dead_code)]
fn _assert_send() {
    fn send<T: Send>(_: T) {}
    let server: Option<AuthorizationServer> = None;
    if let Some(server) = server {
        send(async move {
            server
                .introspection_endpoint(Request::new(Vec::<u8>::new()))
                .await;
            server
                .revocation_endpoint(Request::new(Vec::<u8>::new()))
                .await
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header;

    fn headers(authorization: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for a in authorization {
            h.append(header::AUTHORIZATION, HeaderValue::from_str(a).unwrap());
        }
        h
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer(&headers(&["Bearer abc"])), Some(Some("abc")));
        assert_eq!(bearer(&headers(&["bEaReR  abc=="])), Some(Some("abc==")));
        assert_eq!(bearer(&headers(&["Bearer"])), Some(None));
        assert_eq!(bearer(&headers(&["Bearer a b"])), Some(None));
        let long = format!("Bearer {}", "a".repeat(MAX_BEARER_LEN + 1));
        assert_eq!(bearer(&headers(&[&long])), Some(None));
        assert_eq!(bearer(&headers(&["Basic abc"])), None);
        assert_eq!(bearer(&headers(&[])), None);
        assert_eq!(bearer(&headers(&["Bearer a", "Bearer a"])), None);
    }

    #[test]
    fn debug_shows_no_credentials() {
        let h = headers(&["Bearer s3cr3t-credential"]);
        let params = Params::parse(b"token=pc_at_hunter2").unwrap();
        let shown = format!("{:?}", IntrospectionRequest::new(params, &h));
        assert!(shown.contains("authorization") && shown.contains("token"));
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
