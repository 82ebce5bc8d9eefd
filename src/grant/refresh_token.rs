//! The refresh token grant (RFC 6749 §6), with rotation and reuse detection
//! (RFC 9700 §4.14.2).

use super::{GrantContext, GrantHandler, TokenError};
use crate::protocol::{GrantType, TokenResponse};
use crate::token::{TokenHash, TokenKind};

/// `grant_type=refresh_token`.
///
/// - The token is bound to its client: another client gets `invalid_grant`.
/// - Every use rotates it: the response carries a new refresh token and the
///   presented one is rotated out by one atomic compare-and-swap. Presenting a
///   rotated-out token again revokes the whole grant (RFC 9700 §4.14.2).
/// - A refresh token expires when unused for the idle lifetime, and with its
///   grant's absolute lifetime, which rotation never extends.
/// - `scope` may narrow the token's scope, never widen it (RFC 6749 §6).
#[derive(Debug, Clone, Copy, Default)]
pub struct RefreshTokenGrant;

fn invalid_grant(why: &'static str) -> TokenError {
    TokenError::InvalidGrant(why.into())
}

impl GrantHandler for RefreshTokenGrant {
    fn grant_type(&self) -> GrantType {
        GrantType::REFRESH_TOKEN
    }

    async fn handle(&self, ctx: GrantContext<'_>) -> Result<TokenResponse, TokenError> {
        let presented = ctx.required_param("refresh_token")?;
        if !TokenKind::RefreshToken.matches(presented) {
            return Err(invalid_grant("invalid refresh token"));
        }
        // The client binding, reuse, expiry and scope are checked by the
        // store as it rotates (`RefreshRotation`), in the same atomic
        // operation.
        ctx.rotate(TokenHash::of(presented)).await
    }
}
