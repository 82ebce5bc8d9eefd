//! The UserInfo endpoint (OpenID Connect Core 1.0 §5.3): a protected
//! resource of the provider itself, answering an access token with claims
//! about the End-User it was issued for.
//!
//! [`AuthorizationServer::userinfo_endpoint`] takes the `http::Request` and
//! returns the `http::Response`; its rules are there. The claims come from
//! the host's [`ClaimsSource`](crate::oidc::ClaimsSource), asked for the
//! claims of the token's scope values (Core §5.4) and those the `claims`
//! request parameter asked of UserInfo (§5.5).
//!
//! ```
//! use portcullis::grant::AuthorizationCodeGrant;
//! use portcullis::jose::{Algorithm, KeySet, SigningKey};
//! use portcullis::oidc::{Claims, OpenIdConnect, StaticClaims};
//! use portcullis::{AuthorizationServer, MemoryStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let users = StaticClaims::new().user("alice", Claims::new().with("name", "Alice"));
//! let store = MemoryStore::new();
//! let server = AuthorizationServer::builder("https://auth.example")
//!     .clients(store.clone())
//!     .tokens(store)
//!     .grant(AuthorizationCodeGrant)
//!     .signing_keys(KeySet::new().with_key(SigningKey::generate(Algorithm::Rs256)?)?)
//!     .openid_connect(OpenIdConnect::new(users))
//!     .build()?;
//!
//! // Without an access token: 401 and a challenge with no error code
//! // (RFC 6750 §3.1).
//! let request = http::Request::get("https://auth.example/userinfo").body(Vec::new())?;
//! let response = server.userinfo_endpoint(request).await;
//! assert_eq!(response.status(), 401);
//! assert_eq!(
//!     response.headers()["www-authenticate"],
//!     "Bearer realm=\"https://auth.example\""
//! );
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;

use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value};

use super::authorization_server::{AuthorizationServer, ServerInner};
use super::content_type::is_media_type;
use super::dpop::DpopRefusal;
use super::published_urls::Endpoint;
use crate::client::Client;
use crate::jose::{Algorithm, SigningError, sign_json};
use crate::oidc::{IdentityError, OpenIdProvider};
use crate::protocol::{
    BearerChallenge, BearerCredential, DpopError, ErrorCode, ErrorResponse, MAX_TOKEN_LEN,
    OAuthError, Params, Realm, ResourceSet, Scope, bearer_credential, dpop_challenge,
    dpop_credential, empty_response, json_response,
};
use crate::store::StoreError;
use crate::token::Confirmation;

/// The scope an access token needs here (Core §5.3: a token "obtained
/// through OpenID Connect Authentication").
const OPENID: &str = "openid";

/// The form and query parameter that carries a token (RFC 6750 §2.2, §2.3).
const ACCESS_TOKEN: &str = "access_token";

/// Why a UserInfo request was refused, and its one mapping to the wire
/// ([`into_http`](Self::into_http)): Core §5.3.3 answers with RFC 6750 §3's
/// errors.
#[derive(Debug)]
enum Refusal {
    /// Not GET or POST (Core §5.3.1): `405` with `Allow`.
    MethodNotAllowed,
    /// The body is over the server's limit: `413`.
    BodyTooLarge,
    /// No access token, or one only in the URI query, a method not
    /// accepted here (RFC 6750 §2.3): `401` with a challenge and no error
    /// code (§3.1).
    NoToken,
    /// A malformed request: `400 invalid_request` (RFC 6750 §3.1).
    InvalidRequest(&'static str),
    /// Unknown, expired or revoked; for another audience; not speaking for
    /// an End-User; its client or End-User gone: `401 invalid_token`. Which
    /// of these is not said.
    InvalidToken,
    /// No `openid` scope: `403 insufficient_scope`, `scope="openid"`.
    InsufficientScope,
    /// `Authorization: DPoP` with a missing or invalid proof: `401
    /// invalid_dpop_proof` in a `DPoP` challenge (RFC 9449 §7.1).
    InvalidDpopProof(crate::protocol::DpopError),
    /// The proof lacks the server's nonce: `401 use_dpop_nonce` with
    /// `DPoP-Nonce` (RFC 9449 §9).
    UseDpopNonce(String),
    /// The store failed: `500 server_error`, the cause logged.
    Storage(StoreError),
    /// The claims source or the signer failed: `500 server_error`, the
    /// cause logged.
    Identity(IdentityError),
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        Self::Storage(error)
    }
}

impl From<IdentityError> for Refusal {
    fn from(error: IdentityError) -> Self {
        match error {
            // The token outlived its End-User: it speaks for no one now.
            IdentityError::UnknownSubject => Self::InvalidToken,
            e => Self::Identity(e),
        }
    }
}

impl From<SigningError> for Refusal {
    fn from(error: SigningError) -> Self {
        Self::Identity(IdentityError::Signing(error))
    }
}

impl Refusal {
    /// The response, and with DPoP on (RFC 9449 §7.1) a `DPoP` challenge
    /// beside the `Bearer` one, carrying the error of a DPoP refusal.
    fn into_dpop_http(self, issuer: &str, algorithms: Option<&[Algorithm]>) -> Response<Vec<u8>> {
        let Some(algorithms) = algorithms else {
            return self.into_http(issuer);
        };
        let dpop_error = |code: ErrorCode, why: String| {
            let error = OAuthError::new(code).with_description(why);
            ErrorResponse::new(error.clone())
                .with_status(StatusCode::UNAUTHORIZED)
                .with_challenge(dpop_challenge(Some(&error), algorithms))
        };
        match self {
            Self::InvalidDpopProof(e) => {
                dpop_error(ErrorCode::INVALID_DPOP_PROOF, e.to_string()).into_http()
            }
            Self::UseDpopNonce(nonce) => {
                let mut response = dpop_error(
                    ErrorCode::USE_DPOP_NONCE,
                    "the DPoP proof must carry the server's nonce".to_owned(),
                );
                if let Ok(nonce) = HeaderValue::from_str(&nonce) {
                    response = response.with_dpop_nonce(nonce);
                }
                response.into_http()
            }
            other => {
                let challenge = match other {
                    Self::NoToken => Some(dpop_challenge(None, algorithms)),
                    Self::InvalidToken => {
                        let error = OAuthError::new(ErrorCode::INVALID_TOKEN)
                            .with_description("the access token is invalid, expired or revoked");
                        Some(dpop_challenge(Some(&error), algorithms))
                    }
                    _ => None,
                };
                let mut response = other.into_http(issuer);
                if let Some(challenge) = challenge {
                    response
                        .headers_mut()
                        .append(header::WWW_AUTHENTICATE, challenge);
                }
                response
            }
        }
    }

    /// The response; challenges name the issuer as the realm, as the
    /// server's other bearer-authenticated endpoints do.
    fn into_http(self, issuer: &str) -> Response<Vec<u8>> {
        let challenged = |code: ErrorCode, description: &'static str, scope: Option<Scope>| {
            let error = OAuthError::new(code).with_description(description);
            let mut response = ErrorResponse::new(error.clone());
            if let Ok(realm) = Realm::new(issuer) {
                let challenge = BearerChallenge::new(realm).error(error);
                let challenge = match scope {
                    Some(scope) => challenge.scope(scope),
                    None => challenge,
                };
                response = response.with_challenge(challenge.to_header_value());
            }
            response.into_http()
        };
        match self {
            Self::MethodNotAllowed => ErrorResponse::method_not_allowed(
                "the userinfo endpoint accepts only GET and POST",
                "GET, POST",
            )
            .into_http(),
            Self::BodyTooLarge => ErrorResponse::body_too_large().into_http(),
            Self::NoToken => {
                let mut response = empty_response(StatusCode::UNAUTHORIZED);
                if let Ok(realm) = Realm::new(issuer) {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        BearerChallenge::new(realm).to_header_value(),
                    );
                }
                response
            }
            Self::InvalidRequest(why) => challenged(ErrorCode::INVALID_REQUEST, why, None),
            Self::InvalidToken => challenged(
                ErrorCode::INVALID_TOKEN,
                "the access token is invalid, expired or revoked",
                None,
            ),
            Self::InsufficientScope => challenged(
                ErrorCode::INSUFFICIENT_SCOPE,
                "the access token lacks the openid scope",
                Scope::from_tokens([OPENID]).ok(),
            ),
            Self::Storage(e) => {
                e.report("userinfo endpoint");
                ErrorResponse::server_error().into_http()
            }
            Self::InvalidDpopProof(_) | Self::UseDpopNonce(_) => {
                // Only with DPoP on, which `into_dpop_http` answers.
                challenged(
                    ErrorCode::INVALID_TOKEN,
                    "the access token is invalid, expired or revoked",
                    None,
                )
            }
            Self::Identity(e) => {
                tracing::error!(
                    target: "portcullis",
                    error = %e,
                    source = ?std::error::Error::source(&e),
                    "userinfo endpoint failure",
                );
                ErrorResponse::server_error().into_http()
            }
        }
    }
}

/// The access token of `Authorization: DPoP` (RFC 9449 §7.1), when DPoP is
/// on; `None` otherwise, and for any other scheme.
fn dpop_token<B>(request: &Request<B>, dpop: bool) -> Result<Option<&str>, Refusal> {
    if !dpop {
        return Ok(None);
    }
    match dpop_credential(request.headers(), MAX_TOKEN_LEN) {
        BearerCredential::Absent => Ok(None),
        BearerCredential::Token(token) => Ok(Some(token)),
        BearerCredential::Repeated => Err(Refusal::InvalidRequest(
            "the Authorization header is repeated",
        )),
        BearerCredential::Malformed => Err(Refusal::InvalidRequest(
            "the DPoP credentials are malformed",
        )),
    }
}

/// The access token a request presents (RFC 6750 §2): `Authorization:
/// Bearer`, or `access_token` in a POST's form body (§2.2). The URI query
/// (§2.3) is never accepted — a token there ends up in logs — but it counts
/// as a method, so a request using two is refused (§2: clients MUST NOT).
/// `None`: no token in an accepted place.
#[cfg(test)]
fn presented_token<B: AsRef<[u8]>>(request: &Request<B>) -> Result<Option<Cow<'_, str>>, Refusal> {
    presented_token_with(request, None)
}

/// [`presented_token`], with `dpop` the token of `Authorization: DPoP` if
/// there was one: it counts as the header method.
fn presented_token_with<'r, B: AsRef<[u8]>>(
    request: &'r Request<B>,
    dpop: Option<&'r str>,
) -> Result<Option<Cow<'r, str>>, Refusal> {
    let header = match bearer_credential(request.headers(), MAX_TOKEN_LEN) {
        BearerCredential::Absent => dpop.map(Cow::Borrowed),
        BearerCredential::Token(token) => Some(Cow::Borrowed(token)),
        BearerCredential::Repeated => {
            return Err(Refusal::InvalidRequest(
                "the Authorization header is repeated",
            ));
        }
        BearerCredential::Malformed => {
            return Err(Refusal::InvalidRequest(
                "the Bearer credentials are malformed",
            ));
        }
    };
    // A query that is no form names no parameter of ours.
    let in_query = request.uri().query().is_some_and(|query| {
        Params::parse(query.as_bytes()).is_ok_and(|params| params.contains(ACCESS_TOKEN))
    });
    let body = request.body().as_ref();
    let in_body = if request.method() == Method::POST
        && is_media_type(request.headers(), "application/x-www-form-urlencoded")
    {
        let params = Params::parse(body)
            .map_err(|_| Refusal::InvalidRequest("the form body is malformed"))?;
        match params.get(ACCESS_TOKEN) {
            Err(_) => {
                return Err(Refusal::InvalidRequest(
                    "the access_token parameter is repeated",
                ));
            }
            // RFC 6750 §2.2: the body is ASCII.
            Ok(Some(token)) if token.len() > MAX_TOKEN_LEN || !body.is_ascii() => {
                return Err(Refusal::InvalidRequest(
                    "the access_token parameter is malformed",
                ));
            }
            Ok(token) => token.map(|t| Cow::Owned(t.to_owned())),
        }
    } else {
        None
    };
    let methods =
        usize::from(header.is_some()) + usize::from(in_query) + usize::from(in_body.is_some());
    if methods > 1 {
        return Err(Refusal::InvalidRequest(
            "the access token was sent by more than one method",
        ));
    }
    Ok(header.or(in_body))
}

/// Whether a token with `audience` may be used here. A token without an
/// audience restriction may; one restricted to resources (RFC 8707) only if
/// the issuer or the UserInfo URL is among them, so a token obtained for
/// another resource cannot be replayed at this one (RFC 9700 §4.9.1).
fn audience_allows(inner: &ServerInner, audience: &ResourceSet) -> bool {
    audience.is_empty()
        || audience.contains(&inner.issuer)
        || audience.contains(inner.discovery.endpoints.get(Endpoint::UserInfo).as_str())
}

/// The signed UserInfo response (Core §5.3.2): the claims with `iss` and
/// `aud` (the client), a JWS by the provider's active key of `alg`, with
/// no `typ`, as an ID token.
async fn signed(
    provider: &OpenIdProvider,
    issuer: &str,
    client: &Client,
    alg: Algorithm,
    mut claims: Map<String, Value>,
) -> Result<String, SigningError> {
    let signer = provider
        .keys
        .active(alg)
        .ok_or_else(|| SigningError::new("no active key for the client's userinfo algorithm"))?;
    claims.insert("iss".to_owned(), Value::String(issuer.to_owned()));
    claims.insert(
        "aud".to_owned(),
        Value::String(client.id().as_str().to_owned()),
    );
    sign_json(signer.as_ref(), None, &claims).await
}

impl AuthorizationServer {
    /// The UserInfo endpoint over HTTP (OpenID Connect Core 1.0 §5.3): an
    /// `http::Request` whose body is the whole request body in memory, to
    /// the `http::Response` to send. Mount it at the URL the metadata
    /// publishes as `userinfo_endpoint`
    /// ([`Endpoint::UserInfo`](super::Endpoint::UserInfo), `/userinfo`
    /// unless configured).
    ///
    /// # The request
    ///
    /// `GET` or `POST` (Core §5.3.1; another method is `405` with `Allow:
    /// GET, POST`). The access token comes as `Authorization: Bearer`, or
    /// on a `POST` as `access_token` in an
    /// `application/x-www-form-urlencoded` body (RFC 6750 §2.1, §2.2) —
    /// never in the URI query (§2.3), and never by two methods at once
    /// (`400 invalid_request`).
    ///
    /// # Which tokens
    ///
    /// A live access token issued by this server whose scope includes
    /// `openid`, for an End-User (a grant with a subject). Refusals are RFC
    /// 6750 §3's, with the issuer as the realm:
    ///
    /// | request | status | `WWW-Authenticate: Bearer realm="…"` with |
    /// |---|---|---|
    /// | no token (or one only in the query) | 401 | nothing more (§3.1) |
    /// | malformed, two methods | 400 | `error="invalid_request"` |
    /// | unknown, expired, revoked, not an access token | 401 | `error="invalid_token"` |
    /// | restricted to another audience | 401 | `error="invalid_token"` |
    /// | no `openid` scope | 403 | `error="insufficient_scope"`, `scope="openid"` |
    ///
    /// **Audience.** A token without an audience restriction is accepted. A
    /// token restricted to resources (RFC 8707) is accepted only when the
    /// issuer identifier or the UserInfo URL is among them; a token obtained
    /// for another resource is `invalid_token` here, as at any resource
    /// that checks its audience (RFC 9700 §4.9.1).
    ///
    /// A token whose client no longer exists, or whose End-User the
    /// [`ClaimsSource`](crate::oidc::ClaimsSource) no longer knows, is
    /// `invalid_token` too. A failing store or claims source is `500
    /// server_error`; the cause is logged, never sent.
    ///
    /// # The answer
    ///
    /// The claims of the token's scope values (`profile`, `email`,
    /// `address`, `phone`; Core §5.4) and those the authentication
    /// request's `claims` parameter asked of UserInfo (§5.5), as the host's
    /// source releases them, and always `sub` — the same the client's ID
    /// tokens carry (public or pairwise, Core §8). As a JSON object
    /// (`application/json`), or, when the client registered
    /// `userinfo_signed_response_alg`, as a JWT signed with the server's
    /// active key of that algorithm with `iss` and `aud` (the client) added
    /// (`application/jwt`, Core §5.3.2). Always `Cache-Control: no-store`.
    ///
    /// A server that is not an OpenID Provider has no UserInfo endpoint:
    /// `404`.
    pub async fn userinfo_endpoint<B>(&self, request: Request<B>) -> Response<Vec<u8>>
    where
        B: AsRef<[u8]> + Send + Sync,
    {
        let inner = &*self.inner;
        let Some(provider) = inner.openid.as_deref() else {
            let mut response = Response::new(Vec::new());
            *response.status_mut() = StatusCode::NOT_FOUND;
            return response;
        };
        match userinfo(inner, provider, &request).await {
            Ok(response) => response,
            Err(refusal) => refusal.into_dpop_http(
                &inner.issuer,
                inner.dpop.as_ref().map(|d| d.signing_algorithms()),
            ),
        }
    }
}

/// The endpoint's rules, in order: method, body size, the token found, live,
/// for this audience, with `openid`, for an End-User of a known client;
/// then the claims.
async fn userinfo<B: AsRef<[u8]>>(
    inner: &ServerInner,
    provider: &OpenIdProvider,
    request: &Request<B>,
) -> Result<Response<Vec<u8>>, Refusal> {
    if request.method() != Method::GET && request.method() != Method::POST {
        return Err(Refusal::MethodNotAllowed);
    }
    if request.body().as_ref().len() > inner.max_body {
        return Err(Refusal::BodyTooLarge);
    }
    let dpop = dpop_token(request, inner.dpop.is_some())?;
    let token = presented_token_with(request, dpop)?.ok_or(Refusal::NoToken)?;
    // RFC 9449 §7.1: `Authorization: DPoP` comes with a proof of the key
    // for this method and URL, whose `ath` is the token's hash.
    let proven = match (&inner.dpop, dpop) {
        (Some(settings), Some(_)) => {
            let url = inner.discovery.endpoints.get(Endpoint::UserInfo);
            let now = inner.clock.now();
            match settings
                .check(request.headers(), request.method(), url, Some(&token), now)
                .await
            {
                Ok(Some(proven)) => Some(proven.confirmation),
                Ok(None) => return Err(Refusal::InvalidDpopProof(DpopError::Missing)),
                Err(DpopRefusal::Invalid(e)) => return Err(Refusal::InvalidDpopProof(e)),
                Err(DpopRefusal::UseNonce(nonce)) => return Err(Refusal::UseDpopNonce(nonce)),
                Err(DpopRefusal::Storage(e)) => return Err(Refusal::Storage(e)),
            }
        }
        _ => None,
    };
    let (record, grant) = inner
        .live_access_token(&token)
        .await?
        .ok_or(Refusal::InvalidToken)?;
    // A bound token only with its key; a bearer token only as one (RFC
    // 9449 §7.2).
    // A certificate-bound one only over a connection with its certificate
    // (RFC 8705 §3).
    let certificate = request
        .extensions()
        .get::<crate::token::ClientCertificate>();
    if !Confirmation::binding_holds_with(record.cnf.as_ref(), proven.as_ref(), certificate) {
        tracing::info!(target: "portcullis::security", event = "dpop_binding_refused");
        return Err(Refusal::InvalidToken);
    }
    if !audience_allows(inner, &record.audience) {
        return Err(Refusal::InvalidToken);
    }
    if !record.scope.contains(OPENID) {
        return Err(Refusal::InsufficientScope);
    }
    let subject = grant.subject.as_ref().ok_or(Refusal::InvalidToken)?;
    let client = inner
        .clients
        .find_client(grant.client_id.as_str())
        .await?
        .ok_or(Refusal::InvalidToken)?;
    let claims = provider
        .userinfo(
            &client,
            subject.as_str(),
            grant.openid.as_deref(),
            &record.scope,
        )
        .await?;
    let Some(alg) = client.userinfo_signed_response_alg() else {
        // A map of JSON values always serialises.
        let body = serde_json::to_vec(&claims).unwrap_or_default();
        return Ok(json_response(StatusCode::OK, body));
    };
    let jwt = signed(provider, &inner.issuer, &client, alg, claims).await?;
    let mut response = json_response(StatusCode::OK, jwt.into_bytes());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwt"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> Request<Vec<u8>> {
        let mut b = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            b = b.header(*name, *value);
        }
        b.body(body.as_bytes().to_vec()).unwrap()
    }

    const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

    fn found(r: &Request<Vec<u8>>) -> Result<Option<String>, &'static str> {
        match presented_token(r) {
            Ok(token) => Ok(token.map(Cow::into_owned)),
            Err(Refusal::InvalidRequest(why)) => Err(why),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_token_comes_from_the_header_or_a_post_form_body() {
        let auth = ("authorization", "Bearer abc");
        assert_eq!(
            found(&request("GET", "/u", &[auth], "")),
            Ok(Some("abc".into()))
        );
        assert_eq!(
            found(&request("POST", "/u", &[FORM], "access_token=abc")),
            Ok(Some("abc".into()))
        );
        // The query is not a place for tokens; a GET's body is not read.
        assert_eq!(
            found(&request("GET", "/u?access_token=abc", &[], "")),
            Ok(None)
        );
        assert_eq!(
            found(&request("GET", "/u", &[FORM], "access_token=abc")),
            Ok(None)
        );
        // A body of another type is not a form.
        let json = ("content-type", "application/json");
        assert_eq!(
            found(&request("POST", "/u", &[json], "access_token=abc")),
            Ok(None)
        );
    }

    #[test]
    fn two_methods_or_a_malformed_token_are_invalid_requests() {
        let auth = ("authorization", "Bearer abc");
        for r in [
            request("GET", "/u?access_token=abc", &[auth], ""),
            request("POST", "/u", &[auth, FORM], "access_token=abc"),
            request("POST", "/u?access_token=abc", &[FORM], "access_token=abc"),
            request("POST", "/u", &[FORM], "access_token=a&access_token=b"),
            request("POST", "/u", &[FORM], "access_token=%zz"),
            request("GET", "/u", &[("authorization", "Bearer a b")], ""),
            request("GET", "/u", &[auth, auth], ""),
        ] {
            assert!(found(&r).is_err(), "{:?} {:?}", r.uri(), r.headers());
        }
    }
}
