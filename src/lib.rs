//! # portcullis
//!
//! An embeddable, secure-by-default OAuth 2.0 authorization server library
//! (RFC 6749), built against the RFC 6819 threat model and the RFC 9700 /
//! OAuth 2.1 security profile.
//!
//! The core is sans-IO: it works on `http` request and response types, stores
//! through async traits the host implements (or the bundled [`MemoryStore`]),
//! and never starts a runtime. Wire it into any HTTP framework.
//!
//! ```text
//!  server      ServerBuilder, the layer above endpoint/: configures the
//!              endpoints, checks the settings, builds the AuthorizationServer
//!
//!  host HTTP stack (axum, actix, hyper …)
//!       │ http::Request<impl AsRef<[u8]>>          ▲ http::Response<Vec<u8>>
//!       ▼                                          │
//!  endpoint/   AuthorizationServer — and, extending it, authorization · token ·
//!       │      device authorization · revocation · introspection · metadata ·
//!       │      registration and client configuration
//!       │  dispatch on grant_type ─► grant/  (GrantHandler per grant,
//!       │                                    GrantContext, TokenError)
//!       │  storage ─► store/  (GrantStore · AuthorizationCodeStore ·
//!       │                      DeviceAuthorizationStore · MemoryStore · SqlStore)
//!       │  authenticate ─► client/  (ClientAuthenticator → AuthenticatedClient,
//!       │                             ClientRegistry, throttled by an AuthLimiter)
//!       │  parse ─► protocol/  (form rules, scopes, Bearer credentials and
//!       │                       challenges, error codes, responses)
//!       ▼  mint and hash tokens ─► token/
//!
//!  resource/   the resource server's side: BearerValidator ─► TokenSource
//!              (the AuthorizationServer in process, or introspection over HTTP)
//! ```
//!
//! Each layer uses only the layers below it (`tests/architecture.rs` checks
//! it): `token`, then `protocol`, `client`, `store`, `grant`, then
//! `endpoint` (the server object and its endpoints), the `server` builder
//! above it, and `resource` on top.
//!
//! ## Quick start: the client credentials grant
//!
//! ```
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
//!
//! // Register a confidential client; its secret is shown this once.
//! let registered = server
//!     .register_client(
//!         ClientRegistration::web_application()
//!             .grant_type(GrantType::CLIENT_CREDENTIALS)
//!             .scope("reports:read".parse()?),
//!     )
//!     .await?;
//! let id = registered.client.id().to_string();
//! let secret = registered.secret.expect("confidential clients get a secret");
//!
//! // What the client sends (RFC 6749 §4.4.2), Basic-authenticated (§2.3.1).
//! use base64::Engine as _;
//! let basic = base64::engine::general_purpose::STANDARD
//!     .encode(format!("{id}:{}", secret.expose_secret()));
//! let request = http::Request::post("/token")
//!     .header("authorization", format!("Basic {basic}"))
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body(b"grant_type=client_credentials&scope=reports%3Aread".to_vec())?;
//!
//! let response = server.token_endpoint(request).await;
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers()["cache-control"], "no-store");
//! let body: serde_json::Value = serde_json::from_slice(response.body())?;
//! assert_eq!(body["token_type"], "Bearer");
//!
//! // The token is live, and carries the scope asked for.
//! let info = server.access_token_info(body["access_token"].as_str().unwrap()).await?;
//! assert_eq!(info.unwrap().scope.to_string(), "reports:read");
//! # Ok(())
//! # }
//! ```
//!
//! ## Where things are
//!
//! - [`protocol`] — pure types: form parameters (RFC 6749 §3.1, §3.2), scopes
//!   (§3.3), grant types, PKCE, error codes and the one mapping of errors to
//!   the wire, and the token, device authorization and introspection
//!   responses.
//! - [`client`] — the client model and registration (§2), the
//!   [`ClientRegistry`](client::ClientRegistry) trait, client authentication
//!   (§2.3) and brute-force throttling.
//! - [`grant`] — the [`GrantHandler`](grant::GrantHandler) trait and the
//!   built-in grants.
//! - [`endpoint`] — every endpoint: an `http::Request` in, an
//!   `http::Response` out, with a typed layer beneath, and their request and
//!   error types. The authorization endpoint
//!   ([`authorization_request`](AuthorizationServer::authorization_request),
//!   [`defer`](AuthorizationServer::defer) for a decision on a later
//!   request, then [`approve`](AuthorizationServer::approve) or
//!   [`deny`](AuthorizationServer::deny); RFC 6749 §4.1), the token endpoint
//!   ([`token_endpoint`](AuthorizationServer::token_endpoint), §3.2), the
//!   device authorization endpoint
//!   ([`device_authorization_endpoint`](AuthorizationServer::device_authorization_endpoint)
//!   and the verification page's
//!   [`pending_device_authorization`](AuthorizationServer::pending_device_authorization);
//!   RFC 8628), revocation
//!   ([`revocation_endpoint`](AuthorizationServer::revocation_endpoint);
//!   RFC 7009), introspection
//!   ([`introspection_endpoint`](AuthorizationServer::introspection_endpoint);
//!   RFC 7662), server metadata
//!   ([`metadata_endpoint`](AuthorizationServer::metadata_endpoint); RFC 8414),
//!   and dynamic registration
//!   ([`registration_endpoint`](AuthorizationServer::registration_endpoint),
//!   [`client_configuration_endpoint`](AuthorizationServer::client_configuration_endpoint);
//!   RFC 7591, RFC 7592).
//! - [`token`] — the opaque token format, hashing, lifetimes, the clock.
//! - [`store`] — the storage traits, split by what uses them:
//!   [`GrantStore`](store::GrantStore) (every server),
//!   [`AuthorizationCodeStore`](store::AuthorizationCodeStore) (the code
//!   grant), [`DeviceAuthorizationStore`](store::DeviceAuthorizationStore)
//!   (the device grant) — and [`MemoryStore`], which is all three.
//! - `axum` (feature `axum`) — the whole server as an `axum::Router`, with
//!   the host's sign-in and consent step as an `Interaction`.
//! - `tower` (feature `tower`) — `BearerLayer`: bearer validation as tower
//!   middleware for resource servers, in any tower stack.
//! - `testing` (feature `testing`) — the conformance suite, one part per
//!   storage trait, that every store implementation runs.
//! - [`resource`] — the resource server's side (RFC 6750): bearer token
//!   extraction, validation in process or through introspection, and the
//!   `WWW-Authenticate` challenge.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

#[cfg(feature = "axum")]
pub mod axum;
pub mod client;
pub mod endpoint;
mod erased;
mod error;
pub mod fetch;
pub mod grant;
pub mod jose;
pub mod oidc;
pub mod protocol;
pub mod resource;
mod secret;
mod server;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token;
#[cfg(feature = "tower")]
pub mod tower;

pub use endpoint::authorization_server::{
    AuthorizationServer, DEFAULT_MAX_BODY, RegisterClientError,
};
pub use endpoint::build_error::BuildError;
pub use server::ServerBuilder;
pub use store::MemoryStore;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
