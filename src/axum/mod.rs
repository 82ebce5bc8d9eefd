//! The whole authorization server as an [`axum::Router`] (feature `axum`).
//!
//! A thin adapter over the `http`-typed core: [`router`] routes every
//! endpoint the server's configuration enables to its endpoint method, at the
//! paths its metadata advertises (RFC 8414 §2, §3.1); the host brings only
//! its sign-in and consent step, as an [`Interaction`]. [`Reply`] and
//! `IntoResponse` for the library's response and error types let a host's
//! own handlers return them; the [`AuthorizationRequest`] extractor hands a
//! host handler a validated authorization request.
//!
//! For protected resources, [`BearerLayer`](crate::tower::BearerLayer)
//! validates each request's token, and the [`Token`] and [`RequireScope`]
//! extractors hand it to the handlers, with a scope rule per handler;
//! [`protected_resource_metadata`] serves a resource's RFC 9728 document.
//!
//! ```
//! use axum::http::request::Parts;
//! use portcullis::axum::{Outcome, router};
//! use portcullis::endpoint::PendingAuthorization;
//! use portcullis::grant::{AuthorizationCodeGrant, ClientCredentialsGrant};
//! use portcullis::{AuthorizationServer, MemoryStore};
//!
//! /// The host's sign-in and consent. Here: whoever the (host-authenticated)
//! /// session says, approving at once; a real host shows its pages.
//! async fn consent(pending: PendingAuthorization, parts: Parts) -> Outcome {
//!     match parts.headers.get("x-signed-in-user").and_then(|v| v.to_str().ok()) {
//!         Some(user) => Outcome::approve(pending, user),
//!         None => Outcome::page("Please sign in."),
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new();
//! let server = AuthorizationServer::builder("https://auth.example")
//!     .clients(store.clone())
//!     .tokens(store)
//!     .grant(AuthorizationCodeGrant)
//!     .grant(ClientCredentialsGrant)
//!     .build()?;
//!
//! // Metadata, authorization, token, revocation and introspection, at the
//! // advertised paths; merge in the host's own routes.
//! let app: axum::Router = router(server, consent)
//!     .route("/", axum::routing::get(|| async { "Hello" }));
//! # let _ = app;
//! // axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```

mod bearer;
mod extract;
mod interaction;
mod resource_metadata;
mod response;
mod router;

pub use bearer::{RequireScope, ScopeRequirement, Token, TokenRejection};
pub use extract::{AuthorizationRejection, AuthorizationRequest};
pub use interaction::{Interaction, LogoutOutcome, Outcome};
pub use resource_metadata::protected_resource_metadata;
pub use response::Reply;
pub use router::router;
