//! Tokens: the opaque format, hashing, lifetimes and the clock.

mod clock;
mod info;
mod opaque;

use std::time::Duration;

pub use clock::{Clock, ManualClock, SystemClock};
pub use info::AccessTokenInfo;
pub(crate) use opaque::mint;
pub use opaque::{AccessToken, RefreshToken, TOKEN_ENTROPY_BYTES, TokenHash, TokenKind};

/// How long issued tokens live.
///
/// Access tokens are short-lived by default (RFC 9700 §4.10.2 and §2.2.2 of the
/// OAuth 2.1 draft recommend restricting their lifetime): a leaked bearer token is
/// useful only briefly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenLifetimes {
    /// Lifetime of an access token. Default: 10 minutes.
    pub access_token: Duration,
}

impl TokenLifetimes {
    /// Sets the access token lifetime.
    pub fn with_access_token(mut self, lifetime: Duration) -> Self {
        self.access_token = lifetime;
        self
    }
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        Self {
            access_token: Duration::from_secs(600),
        }
    }
}
