//! The client credentials grant (RFC 6749 §4.4).

use std::future::Future;

use super::{GrantContext, GrantHandler, Issue, TokenError};
use crate::protocol::{GrantType, TokenResponse};

/// `grant_type=client_credentials`: a confidential client obtains an access
/// token for itself (RFC 6749 §4.4).
///
/// - Only confidential clients that authenticated with credentials may use it
///   (§4.4: "MUST only be used by confidential clients"); a public client gets
///   `unauthorized_client`.
/// - The scope is the requested one (already checked against the client's
///   allowed scope), or the client's default scope if `scope` is omitted.
/// - No refresh token is issued (§4.4.3): the client can simply ask again.
///
/// ```
/// use portcullis::grant::ClientCredentialsGrant;
/// use portcullis::{AuthorizationServer, store::MemoryStore};
///
/// let store = MemoryStore::new();
/// let server = AuthorizationServer::builder("https://auth.example")
///     .clients(store.clone())
///     .tokens(store)
///     .grant(ClientCredentialsGrant)
///     .build()?;
/// # Ok::<(), portcullis::BuildError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientCredentialsGrant;

impl GrantHandler for ClientCredentialsGrant {
    fn grant_type(&self) -> GrantType {
        GrantType::CLIENT_CREDENTIALS
    }

    fn handle(
        &self,
        ctx: GrantContext<'_>,
    ) -> impl Future<Output = Result<TokenResponse, TokenError>> + Send {
        let issued = if ctx.client().is_confidential() {
            Ok(ctx.issue(Issue::for_client(ctx.scope_or_default())))
        } else {
            Err(TokenError::UnauthorizedClient(
                "the client_credentials grant is for confidential clients only",
            ))
        };
        async move { issued?.await }
    }
}
