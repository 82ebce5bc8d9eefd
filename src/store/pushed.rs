//! Pushed authorization requests (RFC 9126 §2): what the pushed
//! authorization request endpoint stores under a one-time `request_uri`,
//! for the authorization endpoint to take once.

use std::time::SystemTime;

use crate::client::ClientId;
use crate::token::TokenHash;

/// A validated authorization request pushed by a client (RFC 9126 §2.1),
/// kept until the client's authorization request names its `request_uri`
/// (RFC 9126 §4) or it expires.
///
/// The `request_uri` is a random secret; the store keeps only its hash
/// (RFC 9126 §7.1; RFC 6819 §5.1.4.1.3). The request is bound to the client
/// that pushed it (RFC 9126 §4: the `client_id` of the authorization request
/// must be the one that pushed it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedAuthorizationRecord {
    /// SHA-256 of the `request_uri`.
    pub hash: TokenHash,
    /// The authenticated client that pushed the request.
    pub client_id: ClientId,
    /// The authorization request's parameters, form-urlencoded, as the
    /// authorization endpoint reads them: those of the request object when
    /// the push carried one (RFC 9101 §5), never client credentials.
    pub parameters: String,
    /// When it was pushed.
    pub created_at: SystemTime,
    /// When its `request_uri` stops working (RFC 9126 §2.2 `expires_in`).
    pub expires_at: SystemTime,
}
