//! The resource server's side of bearer tokens (RFC 6750): finding the token
//! in a request, validating it, and answering with the right challenge.
//!
//! A [`BearerValidator`] takes a request's parts — `&http::request::Parts`,
//! or `&http::Request<B>` with its body — and the scope the resource requires,
//! and returns the token's [`TokenInfo`] or a [`BearerError`] whose
//! [`into_http`](BearerError::into_http) is the response to send, with its
//! `WWW-Authenticate: Bearer` challenge (§3). It asks a [`TokenSource`] what a
//! token grants:
//!
//! - in the authorization server's process (or sharing its store), the
//!   [`AuthorizationServer`](crate::AuthorizationServer) itself, which looks
//!   the token up by hash and checks its kind, expiry and grant;
//! - elsewhere, the host's own source calling an introspection endpoint
//!   (RFC 7662) over HTTP, reading the answer with
//!   [`TokenInfo::from_introspection`]. The
//!   library does no IO.
//!
//! Secure by default: only `Authorization: Bearer` is accepted. The form body
//! (§2.2) is an opt-in, the URI query (§2.3) a `dangerous_` one. The token
//! never appears in `Debug` output, logs or error descriptions.
//!
//! # Example: a protected resource handler
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use portcullis::client::ClientRegistration;
//! use portcullis::grant::ClientCredentialsGrant;
//! use portcullis::protocol::{GrantType, Scope};
//! use portcullis::resource::{BearerValidator, Realm};
//! use portcullis::store::MemoryStore;
//! use portcullis::AuthorizationServer;
//!
//! /// The host's handler for `GET /photos`: any framework, the same calls.
//! async fn photos(
//!     validator: &BearerValidator<AuthorizationServer>,
//!     request: Request<Vec<u8>>,
//! ) -> Response<Vec<u8>> {
//!     let required: Scope = "photos:read".parse().expect("a valid scope");
//!     match validator.validate(&request, &required).await {
//!         Ok(token) => {
//!             let owner = token.subject.as_ref().map_or("a service", |s| s.as_str());
//!             let mut response = Response::new(format!("photos of {owner}").into_bytes());
//!             // RFC 6819 §4.6.6: authenticated content stays out of shared caches.
//!             response.headers_mut().insert("cache-control", "private".parse().unwrap());
//!             response
//!         }
//!         Err(refusal) => refusal.into_http(),
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new();
//! let server = AuthorizationServer::builder("https://auth.example")
//!     .clients(store.clone())
//!     .tokens(store)
//!     .grant(ClientCredentialsGrant)
//!     .build()?;
//! let validator = BearerValidator::new(server.clone(), Realm::new("photos")?);
//!
//! // A service gets a token (RFC 6749 §4.4) …
//! let client = server
//!     .register_client(
//!         ClientRegistration::web_application()
//!             .grant_type(GrantType::CLIENT_CREDENTIALS)
//!             .scope("photos:read".parse()?),
//!     )
//!     .await?;
//! use base64::Engine as _;
//! let basic = base64::engine::general_purpose::STANDARD.encode(format!(
//!     "{}:{}",
//!     client.client.id(),
//!     client.secret.unwrap().expose_secret()
//! ));
//! let token_request = Request::post("/token")
//!     .header("authorization", format!("Basic {basic}"))
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body(b"grant_type=client_credentials&scope=photos%3Aread".to_vec())?;
//! let body: serde_json::Value =
//!     serde_json::from_slice(server.token_endpoint(token_request).await.body())?;
//! let token = body["access_token"].as_str().unwrap();
//!
//! // … and presents it (RFC 6750 §2.1).
//! let request = Request::get("/photos")
//!     .header("authorization", format!("Bearer {token}"))
//!     .body(Vec::new())?;
//! let response = photos(&validator, request).await;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! // Without a token: 401 and a bare challenge (RFC 6750 §3.1).
//! let response = photos(&validator, Request::get("/photos").body(Vec::new())?).await;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="photos""#);
//!
//! // With a token that is not live: 401 invalid_token.
//! let request = Request::get("/photos")
//!     .header("authorization", "Bearer pc_at_forged")
//!     .body(Vec::new())?;
//! let response = photos(&validator, request).await;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert!(response.headers()["www-authenticate"]
//!     .to_str()?
//!     .starts_with(r#"Bearer realm="photos", error="invalid_token""#));
//! # Ok(())
//! # }
//! ```
//!
//! In middleware that has only the request head, pass `&parts`
//! (`validator.validate(&parts, &required)`); to accept a form body too, pass
//! [`BearerRequest::from_parts(&parts).with_body(&bytes)`](BearerRequest::with_body).

mod bearer;
mod dpop;
mod error;
mod introspection;
mod jwt;
mod metadata;
mod source;
mod validator;

pub use crate::protocol::MAX_TOKEN_LEN;
pub use crate::protocol::{
    BearerChallenge, InvalidMetadataUrl, InvalidRealm, Realm, ResourceMetadataUrl,
};
pub use bearer::{BearerRequest, BearerToken, TokenLocation};
pub use dpop::DpopResource;
pub use error::{BearerError, BearerErrorKind, InvalidRequest};
pub use jwt::{JWKS_REFRESH_INTERVAL, JwtAccessTokenSource};
pub use metadata::{
    InvalidResourceMetadata, ProtectedResourceMetadata, ProtectedResourceMetadataBuilder,
    RESOURCE_METADATA_CACHE_CONTROL, ResourceMismatch, UnusableMetadata, WELL_KNOWN_PREFIX,
    well_known_url,
};
pub use source::{TokenInfo, TokenSource, TokenSourceError};
pub use validator::BearerValidator;
