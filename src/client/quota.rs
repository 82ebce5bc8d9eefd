//! Registration quotas: how many dynamically registered clients one
//! registrant may keep (RFC 7591 §3, §5 — the server decides whom it lets
//! register, and how much).

use crate::token::TokenHash;

/// A bound on the clients stored under one registrant: an initial access
/// token's fingerprint, or open registration's (see
/// [`DynamicRegistration::max_clients`](crate::endpoint::DynamicRegistration::max_clients)).
///
/// [`ClientRegistry::insert_client_within_quota`](super::ClientRegistry::insert_client_within_quota)
/// stores a client under [`registrant`](Self::registrant) only while fewer
/// than [`max_clients`](Self::max_clients) clients are stored under it. A
/// client deleted (RFC 7592 §2.3, or by an administrator) frees its place;
/// an update (RFC 7592 §2.2) keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationQuota {
    registrant: TokenHash,
    max_clients: u64,
}

impl RegistrationQuota {
    /// At most `max_clients` clients under `registrant`.
    pub fn new(registrant: TokenHash, max_clients: u64) -> Self {
        Self {
            registrant,
            max_clients,
        }
    }

    /// Whose clients count: a 32-byte fingerprint, stored with each client
    /// registered under it.
    pub fn registrant(&self) -> &TokenHash {
        &self.registrant
    }

    /// The most clients stored under the registrant at once.
    pub fn max_clients(&self) -> u64 {
        self.max_clients
    }
}
