//! Grants at the token endpoint (RFC 6749 §4).
//!
//! A [`GrantHandler`] serves one `grant_type`. The token endpoint does the work
//! every grant shares — method and content type, repeated parameters, client
//! authentication, whether the client may use this grant, whether the requested
//! scope is within the client's — and then hands the handler a
//! [`GrantContext`]. The built-in grants are ordinary handlers; a host adds an
//! extension grant (an absolute-URI `grant_type`, RFC 6749 §4.5) the same way.

mod audience;
mod authorization_code;
mod authorization_details;
mod client_credentials;
mod context;
mod device_code;
mod error;
mod jwt_access_token;
mod password;
mod refresh_token;
mod token_exchange;

use std::future::Future;

pub use audience::DEFAULT_JWT_LIFETIME;
pub(crate) use audience::{Audiences, TargetRefusal};
pub use authorization_code::AuthorizationCodeGrant;
pub use authorization_details::AuthorizationDetailValidator;
pub(crate) use authorization_details::{DetailTypes, details_error};
pub use client_credentials::ClientCredentialsGrant;
pub(crate) use context::target_error;
pub use context::{GrantContext, Issue, Tokens};
pub use device_code::DeviceCodeGrant;
pub use error::{RequestError, TokenError};
pub use password::{PasswordGrant, ResourceOwnerVerifier};
pub use refresh_token::{RefreshTokenGrant, RefreshTokenRotation};
pub use token_exchange::{
    ExchangeRefusal, SameClientExchange, TokenExchangeGrant, TokenExchangePolicy,
    TokenExchangeRequest,
};

use crate::erased::erased_twin;
use crate::protocol::{GrantType, TokenResponse};

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

erased_twin! {
    /// The object-safe form of [`GrantHandler`] that the server holds.
    DynGrantHandler: GrantHandler<'a> {
        fn handle(ctx: GrantContext<'a>) -> Result<TokenResponse, TokenError>;
    }
}
