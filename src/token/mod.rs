//! Tokens: the opaque format, hashing, lifetimes and the clock.

mod certificate;
mod clock;
mod confirmation;
mod device;
mod opaque;

use std::time::Duration;

pub use certificate::{ClientCertificate, MAX_CLIENT_CERTIFICATE_LEN, canonical_dn};
pub use clock::{Clock, ManualClock, SystemClock};
pub use confirmation::Confirmation;
pub use device::{DeviceCode, USER_CODE_ALPHABET, USER_CODE_LEN, UserCode};
pub(crate) use opaque::is_base64url;

/// Whether `token` has an access token's shape: an opaque one's
/// ([`TokenKind::AccessToken`]), or a compact JWS's — three non-empty
/// base64url parts, at most [`MAX_JWS_LEN`](crate::jose::MAX_JWS_LEN) long —
/// as an RFC 9068 JWT access token has. A cheap filter before a lookup.
pub(crate) fn is_access_token(token: &str) -> bool {
    TokenKind::AccessToken.matches(token)
        || (token.len() <= crate::jose::MAX_JWS_LEN
            && token.split('.').count() == 3
            && token
                .split('.')
                .all(|part| !part.is_empty() && is_base64url(part.as_bytes())))
}
pub(crate) use opaque::mint;
pub use opaque::{AccessToken, RefreshToken, TOKEN_ENTROPY_BYTES, TokenHash, TokenKind};

/// The longest any lifetime may be: ten years. Longer is refused when the
/// server is built, so that no expiry computed from one can overflow the
/// clock.
pub const MAX_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// How long issued tokens, codes and grants live.
///
/// Access tokens are short-lived by default (RFC 9700 §4.10.2): a leaked bearer
/// token is useful only briefly. Authorization codes live 60 seconds (RFC 6749
/// §4.1.2 recommends at most 10 minutes). A refresh token expires when unused
/// for its idle lifetime, and in any case when its grant reaches its absolute
/// lifetime: rotation never extends the grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenLifetimes {
    /// Lifetime of an access token. Default: 10 minutes.
    pub access_token: Duration,
    /// Lifetime of an authorization code. Default: 60 seconds.
    pub authorization_code: Duration,
    /// How long a validated authorization request waits for the resource
    /// owner's decision. Default: 10 minutes.
    pub authorization_request: Duration,
    /// How long a refresh token stays valid unused. Default: 30 days.
    pub refresh_token_idle: Duration,
    /// The absolute lifetime of a grant that has refresh tokens: no refresh
    /// outlives it. Default: 90 days.
    pub grant: Duration,
}

impl TokenLifetimes {
    /// The first lifetime that is zero or over [`MAX_LIFETIME`], by name.
    pub(crate) fn invalid(&self) -> Option<&'static str> {
        [
            ("access_token", self.access_token),
            ("authorization_code", self.authorization_code),
            ("authorization_request", self.authorization_request),
            ("refresh_token_idle", self.refresh_token_idle),
            ("grant", self.grant),
        ]
        .into_iter()
        .find(|(_, d)| d.is_zero() || *d > MAX_LIFETIME)
        .map(|(name, _)| name)
    }

    /// Sets the access token lifetime.
    pub fn with_access_token(mut self, lifetime: Duration) -> Self {
        self.access_token = lifetime;
        self
    }

    /// Sets the authorization code lifetime.
    pub fn with_authorization_code(mut self, lifetime: Duration) -> Self {
        self.authorization_code = lifetime;
        self
    }

    /// Sets how long an authorization request waits for a decision.
    pub fn with_authorization_request(mut self, lifetime: Duration) -> Self {
        self.authorization_request = lifetime;
        self
    }

    /// Sets the refresh token idle lifetime.
    pub fn with_refresh_token_idle(mut self, lifetime: Duration) -> Self {
        self.refresh_token_idle = lifetime;
        self
    }

    /// Sets the absolute grant lifetime.
    pub fn with_grant(mut self, lifetime: Duration) -> Self {
        self.grant = lifetime;
        self
    }
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        Self {
            access_token: Duration::from_secs(600),
            authorization_code: Duration::from_secs(60),
            authorization_request: Duration::from_secs(600),
            refresh_token_idle: Duration::from_secs(30 * 24 * 3600),
            grant: Duration::from_secs(90 * 24 * 3600),
        }
    }
}
