//! What the store keeps: grants and the tokens derived from them.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;

use crate::client::ClientId;
use crate::protocol::Scope;
use crate::token::TokenHash;

/// Identifies a grant: one resource owner's authorization of one client, or a
/// client's own authorization in the client credentials grant. 128 random bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantId([u8; 16]);

impl GrantId {
    /// A fresh random identifier.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A fresh identifier for a grant whose first token has hash
    /// `first_token`: random, except that its last byte is the hash's last
    /// byte. A store that shards by those bytes keeps the grant and its first
    /// token together — one lock to issue both, one to find a token with its
    /// grant. 120 random bits remain; a grant id is an identifier, not a
    /// secret.
    pub fn generate_for(first_token: &TokenHash) -> Self {
        let mut id = Self::generate();
        id.0[15] = first_token.as_bytes()[31];
        id
    }

    /// Wraps an identifier read back from storage.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The identifier, for storage.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GrantId({self})")
    }
}

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

/// The resource owner a grant speaks for, as the host identifies its users.
/// Cloning is cheap.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Subject(Arc<str>);

impl Subject {
    /// A subject identifier.
    pub fn new(id: &str) -> Self {
        Self(Arc::from(id))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Subject({})", self.0)
    }
}

/// A grant (DESIGN: every token belongs to one). Revoking it revokes every
/// token derived from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// The grant's identifier.
    pub id: GrantId,
    /// The client the grant was made to.
    pub client_id: ClientId,
    /// The resource owner; `None` when the client acts on its own behalf
    /// (client credentials, RFC 6749 §4.4).
    pub subject: Option<Subject>,
    /// The scope granted; tokens of this grant carry this scope or less.
    pub scope: Scope,
    /// When the grant was made.
    pub created_at: SystemTime,
    /// When the grant ends, whatever its tokens say: the absolute lifetime.
    pub expires_at: SystemTime,
}

/// An issued access token, kept by the hash of its value (RFC 6819 §5.1.4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenRecord {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// The grant it was issued under.
    pub grant_id: GrantId,
    /// Its scope (within the grant's).
    pub scope: Scope,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// When it stops being valid.
    pub expires_at: SystemTime,
}

/// A new grant and the tokens first issued under it, stored together.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewGrant {
    /// The grant.
    pub grant: GrantRecord,
    /// Its first access token.
    pub access_token: AccessTokenRecord,
}

impl NewGrant {
    /// A grant with its first access token.
    pub fn new(grant: GrantRecord, access_token: AccessTokenRecord) -> Self {
        Self {
            grant,
            access_token,
        }
    }
}
