//! What a client registered about how its authorization requests must
//! arrive: pushed (RFC 9126 §6, `require_pushed_authorization_requests`).

use super::{Client, ClientRegistration};

/// A client's request policy, stored with the client under the RFC 9126 §6
/// member name; every member defaults, so a client stored without it loads.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct RequestPolicy {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) require_pushed_authorization_requests: bool,
}

/// Request policy (RFC 9126 §6).
impl Client {
    /// Whether the client's authorization requests must be pushed first
    /// (`require_pushed_authorization_requests`, RFC 9126 §6): the
    /// authorization endpoint refuses any other request of this client.
    pub fn require_pushed_authorization_requests(&self) -> bool {
        self.requests.require_pushed_authorization_requests
    }
}

/// Request policy (RFC 9126 §6).
impl ClientRegistration {
    /// Requires the client's authorization requests to be pushed to the
    /// pushed authorization request endpoint first
    /// (`require_pushed_authorization_requests`, RFC 9126 §6).
    pub fn require_pushed_authorization_requests(mut self, required: bool) -> Self {
        self.requests.require_pushed_authorization_requests = required;
        self
    }
}
