//! Grants at the token endpoint (RFC 6749 §4).
//!
//! A [`GrantHandler`] serves one `grant_type`. The token endpoint does the work
//! every grant shares — method and content type, repeated parameters, client
//! authentication, whether the client may use this grant, whether the requested
//! scope is within the client's — and then hands the handler a
//! [`GrantContext`]. The built-in grants are ordinary handlers; a host adds an
//! extension grant (an absolute-URI `grant_type`, RFC 6749 §4.5) the same way.

mod authorization_code;
mod client_credentials;
mod context;
mod device_code;
mod error;
mod password;
mod refresh_token;

use std::future::Future;

pub use authorization_code::AuthorizationCodeGrant;
pub use client_credentials::ClientCredentialsGrant;
pub use context::{GrantContext, Issue, Tokens};
pub use device_code::DeviceCodeGrant;
pub use error::{RequestError, TokenError};
pub use password::{PasswordGrant, ResourceOwnerVerifier};
pub use refresh_token::RefreshTokenGrant;

use crate::protocol::{GrantType, TokenResponse};
use crate::store::BoxFuture;

/// Serves one `grant_type` at the token endpoint.
///
/// By the time [`handle`](Self::handle) runs, the client has authenticated
/// with the method it registered, it is allowed this grant type, and any
/// requested scope is syntactically valid and within the client's allowed
/// scope. The handler checks what is particular to its grant and issues tokens
/// with [`GrantContext::issue`].
pub trait GrantHandler: Send + Sync + 'static {
    /// The `grant_type` this handler serves.
    fn grant_type(&self) -> GrantType;

    /// Handles one token request.
    fn handle(
        &self,
        ctx: GrantContext<'_>,
    ) -> impl Future<Output = Result<TokenResponse, TokenError>> + Send;
}

/// The object-safe form of [`GrantHandler`] that the server holds.
pub(crate) trait DynGrantHandler: Send + Sync + 'static {
    /// The bundled handler this is, if it is one of the frequent three: the
    /// token endpoint then calls its [`GrantHandler::handle`] directly, its
    /// future inline rather than boxed (as the store handles do, see
    /// [`crate::store::erased`]). Every other handler is called through
    /// [`handle`](Self::handle).
    fn direct(&self) -> Option<Direct<'_>>;
    fn handle<'a>(
        &'a self,
        ctx: GrantContext<'a>,
    ) -> BoxFuture<'a, Result<TokenResponse, TokenError>>;
}

/// A bundled handler, called without boxing its future.
pub(crate) enum Direct<'a> {
    ClientCredentials(&'a ClientCredentialsGrant),
    AuthorizationCode(&'a AuthorizationCodeGrant),
    RefreshToken(&'a RefreshTokenGrant),
}

impl Direct<'_> {
    pub(crate) async fn handle(self, ctx: GrantContext<'_>) -> Result<TokenResponse, TokenError> {
        match self {
            Self::ClientCredentials(g) => GrantHandler::handle(g, ctx).await,
            Self::AuthorizationCode(g) => GrantHandler::handle(g, ctx).await,
            Self::RefreshToken(g) => GrantHandler::handle(g, ctx).await,
        }
    }
}

impl<T: GrantHandler> DynGrantHandler for T {
    fn direct(&self) -> Option<Direct<'_>> {
        let any = self as &dyn std::any::Any;
        if let Some(g) = any.downcast_ref() {
            return Some(Direct::ClientCredentials(g));
        }
        if let Some(g) = any.downcast_ref() {
            return Some(Direct::AuthorizationCode(g));
        }
        any.downcast_ref().map(Direct::RefreshToken)
    }
    fn handle<'a>(
        &'a self,
        ctx: GrantContext<'a>,
    ) -> BoxFuture<'a, Result<TokenResponse, TokenError>> {
        Box::pin(GrantHandler::handle(self, ctx))
    }
}

#[allow(dead_code)]
fn _obj_safe(_: &dyn DynGrantHandler) {}
