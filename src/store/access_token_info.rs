//! What the server knows about a live access token: read from the store's
//! access-token and grant records, so it lives beside them.

use std::time::SystemTime;

use super::{AccessTokenRecord, Actor, GrantId, GrantRecord, Subject};
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
    /// For a token issued by delegation (RFC 8693 §4.1): its actor, the
    /// `act` claim.
    pub act: Option<Actor>,
    /// The key the token is bound to (RFC 7800 §3.1; RFC 9449 §6): a
    /// request presenting it must prove that key. `None` for a bearer
    /// token.
    pub cnf: Option<crate::token::Confirmation>,
}

impl AccessTokenInfo {
    /// What `record`, found with its `grant`, grants. An exchanged token
    /// (RFC 8693) is its requester's and carries its actor.
    pub(crate) fn of(record: AccessTokenRecord, grant: GrantRecord) -> Self {
        let (client_id, act) = match record.exchange {
            Some(exchange) => (exchange.client_id.clone(), exchange.act.clone()),
            None => (grant.client_id, None),
        };
        Self {
            client_id,
            subject: grant.subject,
            scope: record.scope,
            audience: record.audience,
            issued_at: record.issued_at,
            expires_at: record.expires_at,
            grant_id: grant.id,
            act,
            cnf: record.cnf,
        }
    }
}
