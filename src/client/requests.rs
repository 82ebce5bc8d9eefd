//! What a client registered about how its authorization requests must
//! arrive: pushed (RFC 9126 §6, `require_pushed_authorization_requests`),
//! as signed request objects (RFC 9101 §10.5
//! `require_signed_request_object`), and signed with which algorithm
//! (`request_object_signing_alg`, RFC 9101 §10.5; OpenID Connect
//! Registration §2).

use super::jwt_auth::PRIVATE_KEY_JWT_ALGORITHMS;
use super::registration_error::RegistrationError;
use super::{Client, ClientRegistration};
use crate::jose::Algorithm;

/// A client's request policy, stored with the client under the RFC 9126 §6
/// and RFC 9101 §10.5 member names; every member defaults, so a client
/// stored without them loads.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct RequestPolicy {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) require_pushed_authorization_requests: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) require_signed_request_object: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) request_object_signing_alg: Option<Algorithm>,
    /// The authorization details types the client uses (RFC 9396 §10).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) authorization_details_types: Vec<String>,
}

impl RequestPolicy {
    /// The algorithm, if registered, is one a request object may be signed
    /// with: asymmetric (RFC 8725 §3.1; never `none`, and not HS256, which
    /// would need the client's secret in plaintext).
    pub(crate) fn validate(&self) -> Result<(), RegistrationError> {
        match self.request_object_signing_alg {
            Some(alg) if !PRIVATE_KEY_JWT_ALGORITHMS.contains(&alg) => {
                Err(RegistrationError::InvalidMetadata(
                    "request_object_signing_alg must be one of ES256, RS256, PS256, EdDSA".into(),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// Request policy (RFC 9126 §6, RFC 9101 §10.5).
impl Client {
    /// Whether the client's authorization requests must be pushed first
    /// (`require_pushed_authorization_requests`, RFC 9126 §6): the
    /// authorization endpoint refuses any other request of this client.
    pub fn require_pushed_authorization_requests(&self) -> bool {
        self.requests.require_pushed_authorization_requests
    }

    /// Whether the client's authorization requests must be signed request
    /// objects (`require_signed_request_object`, RFC 9101 §10.5).
    pub fn require_signed_request_object(&self) -> bool {
        self.requests.require_signed_request_object
    }

    /// The one algorithm the client's request objects may be signed with
    /// (`request_object_signing_alg`), if it registered one.
    pub fn request_object_signing_alg(&self) -> Option<Algorithm> {
        self.requests.request_object_signing_alg
    }
}

/// Request policy (RFC 9126 §6, RFC 9101 §10.5).
impl ClientRegistration {
    /// Requires the client's authorization requests to be pushed to the
    /// pushed authorization request endpoint first
    /// (`require_pushed_authorization_requests`, RFC 9126 §6).
    pub fn require_pushed_authorization_requests(mut self, required: bool) -> Self {
        self.requests.require_pushed_authorization_requests = required;
        self
    }

    /// Requires the client's authorization requests to be signed request
    /// objects (`require_signed_request_object`, RFC 9101 §10.5).
    pub fn require_signed_request_object(mut self, required: bool) -> Self {
        self.requests.require_signed_request_object = required;
        self
    }

    /// The one algorithm the client's request objects may be signed with
    /// (`request_object_signing_alg`): ES256, RS256, PS256 or EdDSA, or
    /// registration fails with
    /// [`RegistrationError::InvalidMetadata`].
    pub fn request_object_signing_alg(mut self, algorithm: Algorithm) -> Self {
        self.requests.request_object_signing_alg = Some(algorithm);
        self
    }
}

/// Rich authorization requests (RFC 9396 §10).
impl Client {
    /// The authorization details types the client may ask for
    /// (`authorization_details_types`, RFC 9396 §10); an object of any other
    /// type is `invalid_authorization_details`. Empty: none.
    pub fn authorization_details_types(&self) -> &[String] {
        &self.requests.authorization_details_types
    }
}

/// Rich authorization requests (RFC 9396 §10).
impl ClientRegistration {
    /// The authorization details types the client may ask for
    /// (`authorization_details_types`, RFC 9396 §10), each one the server
    /// registered with
    /// [`ServerBuilder::authorization_details_type`](crate::ServerBuilder::authorization_details_type).
    pub fn authorization_details_types<S: Into<String>>(
        mut self,
        types: impl IntoIterator<Item = S>,
    ) -> Self {
        self.requests.authorization_details_types = types.into_iter().map(Into::into).collect();
        self
    }
}
