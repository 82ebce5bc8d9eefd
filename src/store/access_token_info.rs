//! What the server knows about a live access token: read from the store's
//! access-token and grant records, so it lives beside them.

use std::time::SystemTime;

use super::{GrantId, Subject};
use crate::client::ClientId;
use crate::protocol::{ResourceSet, Scope};

/// A live access token, as found by
/// [`AuthorizationServer::access_token_info`](crate::AuthorizationServer::access_token_info).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessTokenInfo {
    /// The client the token was issued to.
    pub client_id: ClientId,
    /// The resource owner; `None` for a client acting on its own behalf.
    pub subject: Option<Subject>,
    /// The token's scope.
    pub scope: Scope,
    /// The resources the token is for (RFC 8707); empty when unrestricted.
    pub audience: ResourceSet,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// When it expires.
    pub expires_at: SystemTime,
    /// The grant it belongs to; revoking the grant kills the token.
    pub grant_id: GrantId,
    /// The key the token is bound to (RFC 7800 §3.1; RFC 9449 §6): a
    /// request presenting it must prove that key. `None` for a bearer
    /// token.
    pub cnf: Option<crate::token::Confirmation>,
}
