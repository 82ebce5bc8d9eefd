//! The pushed authorization request endpoint (RFC 9126).
//!
//! A client POSTs its authorization request here first, authenticated as at
//! the token endpoint (RFC 9126 §2), and gets back a one-time `request_uri`
//! that lives [`DEFAULT_PUSHED_REQUEST_LIFETIME`] unless configured otherwise
//! (§2.2). The request is validated now, as the authorization endpoint
//! would, so an invalid one is a JSON `400` to the client rather than a
//! redirect (§2.3). The browser then carries only `client_id` and
//! `request_uri` to the authorization endpoint, which takes the stored
//! request once, for the client that pushed it (§4); the parameters come
//! from the store, never from the browser.
//!
//! ```
//! use portcullis::client::{AuthMethod, ClientRegistration};
//! use portcullis::grant::AuthorizationCodeGrant;
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
//!     .grant(AuthorizationCodeGrant)
//!     .build()?;
//! let app = server
//!     .register_client(
//!         ClientRegistration::web_application()
//!             .redirect_uri("https://app.example/cb")
//!             .grant_type(GrantType::AUTHORIZATION_CODE)
//!             .auth_method(AuthMethod::CLIENT_SECRET_POST)
//!             .scope("read".parse()?),
//!     )
//!     .await?;
//! let (id, secret) = (app.client.id().as_str(), app.secret.as_ref().unwrap().expose_secret());
//!
//! // 1. The client pushes its request (RFC 9126 §2.1) …
//! let push = http::Request::post("https://auth.example/par")
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body(format!(
//!         "client_id={id}&client_secret={secret}&response_type=code&scope=read\
//!          &redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s1\
//!          &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
//!     ))?;
//! let pushed = server.pushed_authorization_request_endpoint(push).await;
//! assert_eq!(pushed.status(), 201);
//! let body: serde_json::Value = serde_json::from_slice(pushed.body())?;
//! let request_uri = body["request_uri"].as_str().unwrap();
//! assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
//!
//! // 2. … and sends the browser with `client_id` and `request_uri` only (§4).
//! let query = url::form_urlencoded::Serializer::new(String::new())
//!     .append_pair("client_id", id)
//!     .append_pair("request_uri", request_uri)
//!     .finish();
//! let authorize = http::Request::get(format!("https://auth.example/authorize?{query}"))
//!     .body(Vec::new())?;
//! let pending = server.authorization_request(&authorize).await?;
//! assert_eq!(pending.scope().as_str(), "read");
//!
//! // The request_uri works once.
//! assert!(server.authorization_request(&authorize).await.is_err());
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};

use super::TokenRequest;
use super::authorization_server::AuthorizationServer;
use super::authorize::{AuthorizationError, Origin};
use super::client_auth::authenticate_client;
use super::dpop::DpopRefusal;
use super::published_urls::Endpoint;
use crate::client::{ClientId, EndpointFamily};
use crate::grant::{RequestError, TokenError};
use crate::protocol::{DpopError, ErrorCode, OAuthError, Params};
use crate::store::PushedAuthorizationRecord;
use crate::token::{TokenHash, TokenKind, mint};

/// The prefix of every `request_uri` the endpoint issues (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How long a pushed request's `request_uri` works unless
/// [`ServerBuilder::pushed_authorization_request_lifetime`](crate::ServerBuilder::pushed_authorization_request_lifetime)
/// says otherwise: 60 seconds, enough to send the browser on (RFC 9126 §2.2
/// suggests a short life).
pub const DEFAULT_PUSHED_REQUEST_LIFETIME: Duration = Duration::from_secs(60);

/// The longest lifetime a pushed request may be configured with.
pub const MAX_PUSHED_REQUEST_LIFETIME: Duration = Duration::from_secs(600);

/// Parameters that authenticate the client at the endpoint: not part of the
/// authorization request, so never stored with it.
const CLIENT_CREDENTIALS: [&str; 3] =
    ["client_secret", "client_assertion", "client_assertion_type"];

/// The server's pushed-request settings (RFC 9126 §2.2, §5).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PushedRequestSettings {
    /// How long a `request_uri` works.
    pub(crate) lifetime: Duration,
    /// Every client's authorization requests must be pushed (RFC 9126 §5
    /// `require_pushed_authorization_requests`).
    pub(crate) required: bool,
}

impl Default for PushedRequestSettings {
    fn default() -> Self {
        Self {
            lifetime: DEFAULT_PUSHED_REQUEST_LIFETIME,
            required: false,
        }
    }
}

/// The pushed authorization response (RFC 9126 §2.2): the `request_uri` to
/// send the browser with, and how long it works.
///
/// The `request_uri` is a bearer secret for one authorization request:
/// `Debug` redacts it.
#[non_exhaustive]
pub struct PushedAuthorizationResponse {
    request_uri: String,
    expires_in: Duration,
}

impl PushedAuthorizationResponse {
    /// The `request_uri`: [`REQUEST_URI_PREFIX`] and a random secret of 256
    /// bits.
    pub fn request_uri(&self) -> &str {
        &self.request_uri
    }

    /// How long the `request_uri` works.
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// The response as RFC 9126 §2.2 has it: `201 Created` with the JSON
    /// `{"request_uri", "expires_in"}`, `Cache-Control: no-store`.
    pub fn into_http(self) -> Response<Vec<u8>> {
        let body = serde_json::json!({
            "request_uri": self.request_uri,
            "expires_in": self.expires_in.as_secs(),
        });
        crate::protocol::json_response(StatusCode::CREATED, body.to_string().into_bytes())
    }
}

impl fmt::Debug for PushedAuthorizationResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushedAuthorizationResponse")
            .field("request_uri", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

fn invalid_request(description: &'static str) -> TokenError {
    TokenError::OAuth(OAuthError::new(ErrorCode::INVALID_REQUEST).with_description(description))
}

impl AuthorizationServer {
    /// The pushed authorization request endpoint over HTTP (RFC 9126 §2):
    /// an `http::Request` whose body is the whole request body in memory, to
    /// the `http::Response` to send.
    ///
    /// `201` with the [`PushedAuthorizationResponse`], or a JSON error as
    /// the token endpoint gives it (RFC 9126 §2.3): POST only (else `405`),
    /// at most [`max_body`](crate::ServerBuilder::max_body) bytes, a UTF-8
    /// form body, no credentials in the URI, no repeated parameters.
    pub async fn pushed_authorization_request_endpoint<B>(
        &self,
        request: Request<B>,
    ) -> Response<Vec<u8>>
    where
        B: AsRef<[u8]> + Send + Sync,
    {
        if request.method() != Method::POST {
            return TokenError::from(RequestError::MethodNotAllowed {
                endpoint: "pushed authorization request endpoint",
            })
            .into_http();
        }
        let result = match TokenRequest::from_http(&request, self.inner.max_body) {
            Ok(parsed) => self.pushed_authorization_request(parsed).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(response) => response.into_http(),
            Err(e) => e.into_http(),
        }
    }

    /// The pushed authorization request endpoint's logic on a parsed
    /// request (RFC 9126 §2), for hosts that parse HTTP themselves.
    ///
    /// In order: client authentication, exactly as at the token endpoint
    /// (`invalid_client`); no `request_uri` in the push (§2.1,
    /// `invalid_request`); a `client_id`, when sent, is the authenticated
    /// client's (`invalid_request`); then the authorization request is
    /// validated as [`authorization_request`](Self::authorization_request)
    /// validates it, and any error it finds is returned here as a JSON
    /// error with its code (§2.3) instead of a redirect. The request is
    /// stored, without the client's credentials, under a new one-time
    /// `request_uri` bound to the client.
    pub async fn pushed_authorization_request(
        &self,
        request: TokenRequest<'_>,
    ) -> Result<PushedAuthorizationResponse, TokenError> {
        let inner = &*self.inner;
        let now = inner.clock.now();
        let client = authenticate_client(
            inner,
            EndpointFamily::Token,
            Endpoint::PushedAuthorization,
            request.auth_request(),
            now,
            None,
        )
        .await?;
        let params = request.params();
        // RFC 9126 §2.1: the request_uri parameter MUST NOT be provided.
        if params.contains("request_uri") {
            return Err(invalid_request("request_uri must not be pushed"));
        }
        match params.get("client_id") {
            Err(e) => return Err(RequestError::MalformedRequest(e).into()),
            Ok(Some(id)) if id != client.id().as_str() => {
                return Err(invalid_request(
                    "client_id is not the authenticated client's",
                ));
            }
            Ok(_) => {}
        }

        let to_token_error = |e| match e {
            AuthorizationError::Rejected(error) | AuthorizationError::Redirect { error, .. } => {
                TokenError::OAuth(error)
            }
            AuthorizationError::Storage(e) => e.into(),
        };
        // RFC 9126 §3: a request object pushed is verified now, and its
        // parameters are the request (RFC 9101 §5).
        let signed = params.contains("request");
        let form = match params.get("request") {
            Err(e) => return Err(RequestError::MalformedRequest(e).into()),
            Ok(Some(compact)) => self
                .request_object_parameters(compact, client.client())
                .await
                .map_err(to_token_error)?,
            Ok(None) => authorization_parameters(params, client.id()),
        };
        let form = match self.pushed_dpop_key(&request, now).await? {
            Some(jkt) => bind_dpop_jkt(form, &jkt)?,
            None => form,
        };
        let parsed = Params::parse(form.as_bytes()).map_err(RequestError::MalformedRequest)?;
        if inner.options.fapi2 {
            super::fapi::check_pushed_request(&parsed)?;
        }
        // RFC 9126 §2.3: the request is validated now, and errors go to the
        // client in the response, not through a redirect.
        self.validate_authorization(
            &parsed,
            Origin {
                pushed: true,
                signed,
            },
        )
        .await
        .map_err(to_token_error)?;

        let (handle, hash) = mint(TokenKind::PushedRequest);
        let lifetime = inner.pushed.lifetime;
        inner
            .stores
            .codes()?
            .save_pushed(PushedAuthorizationRecord {
                hash,
                client_id: client.id().clone(),
                parameters: form,
                created_at: now,
                expires_at: now + lifetime,
            })
            .await?;
        tracing::info!(
            target: "portcullis::security",
            event = "authorization_request_pushed",
            client_id = %client.id(),
        );
        Ok(PushedAuthorizationResponse {
            request_uri: format!("{REQUEST_URI_PREFIX}{handle}"),
            expires_in: lifetime,
        })
    }

    /// The thumbprint of the key a `DPoP` proof on the push proves (RFC 9449
    /// §10.1), checked as at the token endpoint (§4.3) with the PAR
    /// endpoint's published URL as `htu`; `None` without DPoP configured or
    /// without the header.
    async fn pushed_dpop_key(
        &self,
        request: &TokenRequest<'_>,
        now: std::time::SystemTime,
    ) -> Result<Option<String>, TokenError> {
        let inner = &*self.inner;
        let Some(dpop) = inner.dpop.as_ref() else {
            return Ok(None);
        };
        let url = inner.discovery.endpoints.get(Endpoint::PushedAuthorization);
        match dpop
            .check(request.headers(), &Method::POST, url, None, now)
            .await
        {
            Ok(proven) => {
                Ok(proven.and_then(|p| p.confirmation.jwk_thumbprint().map(str::to_owned)))
            }
            Err(DpopRefusal::Invalid(e)) => Err(TokenError::InvalidDpopProof(e)),
            Err(DpopRefusal::UseNonce(nonce)) => Err(TokenError::UseDpopNonce(nonce)),
            Err(DpopRefusal::Storage(e)) => Err(e.into()),
        }
    }

    /// The parameters of the pushed request `params` names, taken from the
    /// store — or `None` when `params` has no `request_uri` this endpoint
    /// issued (RFC 9126 §4). A `request_uri` of this server's form that is
    /// unknown, used, expired or another client's is rejected
    /// (`invalid_request_uri`), never redirected: nothing trustworthy names
    /// a redirect URI.
    pub(crate) async fn take_pushed_request(
        &self,
        params: &Params<'_>,
    ) -> Result<Option<String>, AuthorizationError> {
        let reject = |code: ErrorCode, description: &'static str| {
            AuthorizationError::Rejected(OAuthError::new(code).with_description(description))
        };
        let uri = params
            .get("request_uri")
            .map_err(|_| reject(ErrorCode::INVALID_REQUEST, "request_uri is repeated"))?;
        // Any other request_uri is left to the rules for it: this server
        // fetches none (OpenID Connect Core §6.2: request_uri_not_supported).
        let Some(handle) = uri.and_then(|u| u.strip_prefix(REQUEST_URI_PREFIX)) else {
            return Ok(None);
        };
        let client_id = params
            .get("client_id")
            .map_err(|_| reject(ErrorCode::INVALID_REQUEST, "client_id is repeated"))?
            .ok_or_else(|| reject(ErrorCode::INVALID_REQUEST, "missing client_id"))?;
        if params.contains("request") {
            return Err(reject(
                ErrorCode::INVALID_REQUEST,
                "request and request_uri are exclusive",
            ));
        }
        let refused = || {
            tracing::warn!(
                target: "portcullis::security",
                event = "pushed_request_refused",
                client_id = ?crate::client::loggable(client_id),
            );
            reject(
                ErrorCode::INVALID_REQUEST_URI,
                "the request_uri is unknown, expired, used, or not this client's",
            )
        };
        if !TokenKind::PushedRequest.matches(handle) {
            return Err(refused());
        }
        let record = self
            .inner
            .stores
            .codes()?
            .take_pushed(
                &TokenHash::of(handle),
                &ClientId::new_unchecked(client_id),
                self.inner.clock.now(),
            )
            .await?
            .ok_or_else(refused)?;
        Ok(Some(record.parameters))
    }
}

/// The pushed request `form` bound to the DPoP key `jkt` its push proved
/// (RFC 9449 §10.1): as if it named the key in `dpop_jkt`, so the code is
/// redeemed only with a proof of that key. A `dpop_jkt` of another key is
/// refused.
fn bind_dpop_jkt(mut form: String, jkt: &str) -> Result<String, TokenError> {
    let named = Params::parse(form.as_bytes())
        .map_err(RequestError::MalformedRequest)?
        .get("dpop_jkt")
        .map_err(RequestError::MalformedRequest)?
        .map(|named| named == jkt);
    match named {
        Some(true) => {}
        Some(false) => return Err(TokenError::InvalidDpopProof(DpopError::JktMismatch)),
        None => {
            // A thumbprint is base64url: nothing to encode.
            if !form.is_empty() {
                form.push('&');
            }
            form.push_str("dpop_jkt=");
            form.push_str(jkt);
        }
    }
    Ok(form)
}

/// The authorization request a push carries, form-urlencoded: every
/// parameter but the client's credentials, with the authenticated client's
/// `client_id` (a client authenticating with HTTP Basic need not repeat it).
fn authorization_parameters(params: &Params<'_>, client_id: &ClientId) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("client_id", client_id.as_str());
    for (name, value) in params.iter() {
        if name != "client_id" && !CLIENT_CREDENTIALS.contains(&name) {
            form.append_pair(name, value);
        }
    }
    form.finish()
}

/// Compile-time check: the endpoint's future can be spawned on a
/// multi-threaded runtime.
#[allow(dead_code)]
fn _assert_send(server: AuthorizationServer) {
    fn send<T: Send>(_: T) {}
    send(async move {
        server
            .pushed_authorization_request_endpoint(Request::new(Vec::<u8>::new()))
            .await
    });
}
