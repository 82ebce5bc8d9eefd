//! Bearer token validation as [tower](https://docs.rs/tower) middleware, for
//! resource servers in any tower stack — hyper, tonic, axum (feature
//! `tower`).
//!
//! [`BearerLayer`] wraps a service in a [`BearerService`], which for each
//! request:
//!
//! 1. validates the access token with a
//!    [`BearerValidator`](crate::resource::BearerValidator) — in process with
//!    the [`AuthorizationServer`](crate::AuthorizationServer) as its
//!    [`TokenSource`](crate::resource::TokenSource), or through the host's
//!    own source calling an introspection endpoint (RFC 7662) — and checks
//!    the scope the layer requires ([`BearerLayer::require_scope`]; none by
//!    default);
//! 2. on success, inserts the token's
//!    [`TokenInfo`](crate::resource::TokenInfo) into the request's
//!    extensions, with the validator's [`Realm`](crate::resource::Realm)
//!    (for a finer refusal downstream,
//!    [`BearerError::new(kind, realm)`](crate::resource::BearerError::new)),
//!    and calls the inner service;
//! 3. otherwise answers itself, with
//!    [`BearerError::into_http`](crate::resource::BearerError::into_http)'s
//!    response (RFC 6750 §3): `401` and a `WWW-Authenticate: Bearer`
//!    challenge for a missing, unknown, expired or revoked token, `400
//!    invalid_request` for malformed credentials, `403 insufficient_scope`
//!    for too little scope, `500` if the token source fails. The inner
//!    service never sees a refused request.
//!
//! # What it asks of the stack
//!
//! - **Response bodies**: refusals are made as `http::Response<Vec<u8>>` and
//!   converted with `ResBody: From<Vec<u8>>`, which hyper's
//!   `http_body_util::Full<Bytes>`, axum's `Body` and `Vec<u8>` itself
//!   implement. For another body type, map the inner service's responses
//!   to one of these first (tower-http's `MapResponseBody`, or
//!   `tower::ServiceExt::map_response`).
//! - **Readiness**: [`poll_ready`](tower_service::Service::poll_ready) is the
//!   inner service's; `call` moves the readied inner service into the
//!   response future and keeps a clone for the next request, as tower
//!   advises for middleware that awaits before calling. So the inner
//!   service must be `Clone` (wrap a service that is not in
//!   `tower::buffer::Buffer`), and `Send + 'static`, as its future.
//! - **Where tokens are read**: the request head only — the
//!   `Authorization: Bearer` header (RFC 6750 §2.1), and the URI query if
//!   the validator was built with
//!   [`dangerous_accept_uri_query`](crate::resource::BearerValidator::dangerous_accept_uri_query).
//!   The body is streamed to the inner service unread, so a token in a form
//!   body (§2.2) is not seen even with
//!   [`accept_form_body`](crate::resource::BearerValidator::accept_form_body);
//!   such a request gets the bare challenge.
//! - **Errors**: the layer adds none; the inner service's pass through.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use http::{Request, Response, StatusCode};
//! use portcullis::client::ClientRegistration;
//! use portcullis::grant::ClientCredentialsGrant;
//! use portcullis::protocol::GrantType;
//! use portcullis::resource::{BearerValidator, Realm, TokenInfo};
//! use portcullis::store::MemoryStore;
//! use portcullis::tower::BearerLayer;
//! use portcullis::AuthorizationServer;
//! use tower::{ServiceBuilder, ServiceExt as _};
//!
//! /// The protected resource: it runs only for a valid token, and reads
//! /// what the token grants from the extensions.
//! async fn photos(request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, Infallible> {
//!     let owner = request
//!         .extensions()
//!         .get::<TokenInfo>()
//!         .and_then(|token| token.client_id.as_ref())
//!         .map_or_else(String::new, ToString::to_string);
//!     Ok(Response::new(format!("photos of {owner}").into_bytes()))
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
//!
//! // The resource server, in the authorization server's process.
//! let validator = BearerValidator::new(server.clone(), Realm::new("photos")?);
//! let service = ServiceBuilder::new()
//!     .layer(BearerLayer::new(validator).require_scope("photos:read".parse()?))
//!     .service_fn(photos);
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
//! // … and presents it (RFC 6750 §2.1): the resource answers.
//! let request = Request::get("/photos")
//!     .header("authorization", format!("Bearer {token}"))
//!     .body(Vec::new())?;
//! let response = service.clone().oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! assert_eq!(response.body(), format!("photos of {}", client.client.id()).as_bytes());
//!
//! // Without a token, the layer answers: 401 and a challenge (RFC 6750 §3.1).
//! let response = service.oneshot(Request::get("/photos").body(Vec::new())?).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="photos""#);
//! # Ok(())
//! # }
//! ```

mod future;
mod layer;

pub use future::ResponseFuture;
pub use layer::{BearerLayer, BearerService};
