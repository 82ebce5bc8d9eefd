//! Why a registration, or a client read back from a store, was refused.

use std::borrow::Cow;

use super::{RedirectUriError, SecretHashError};

/// Why a registration (or a stored client) was refused.
///
/// The variants map onto RFC 7591 §3.2.2's `invalid_redirect_uri` and
/// `invalid_client_metadata`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// A redirect URI is not acceptable for this client.
    #[error("invalid redirect URI {uri:?}: {reason}")]
    InvalidRedirectUri {
        /// The URI as given.
        uri: String,
        /// What is wrong with it.
        reason: RedirectUriError,
    },
    /// The other metadata are inconsistent or malformed.
    #[error("invalid client metadata: {0}")]
    InvalidMetadata(Cow<'static, str>),
    /// The imported secret could not be hashed, or a stored hash not read.
    #[error(transparent)]
    Secret(#[from] SecretHashError),
}
