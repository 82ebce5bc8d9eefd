//! The refresh token grant (RFC 6749 §6), with rotation and reuse detection
//! (RFC 9700 §4.14.2).

use super::{GrantContext, GrantHandler};
use crate::endpoint::TokenError;
use crate::protocol::{GrantType, TokenResponse};
use crate::store::FoundRefreshToken;
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
        let found = ctx
            .tokens()
            .find_refresh_token(&TokenHash::of(presented))
            .await?;
        let Some(FoundRefreshToken {
            record,
            grant,
            current,
        }) = found
        else {
            return Err(invalid_grant("invalid refresh token"));
        };
        let client_id = ctx.client().id();
        if grant.client_id != *client_id {
            return Err(invalid_grant("invalid refresh token"));
        }
        if !current {
            ctx.tokens()
                .revoke_on_replay("refresh_token_reuse", client_id, &grant.id)
                .await?;
            return Err(invalid_grant("the refresh token was already used"));
        }
        let now = ctx.now();
        if record.expires_at <= now || grant.expires_at <= now {
            return Err(invalid_grant("the refresh token expired"));
        }
        let scope = match ctx.requested_scope() {
            Some(requested) if !requested.is_subset(&record.scope) => {
                return Err(TokenError::InvalidScope("a refresh cannot widen the scope"));
            }
            Some(requested) => requested.clone(),
            None => record.scope.clone(),
        };
        ctx.rotate(&record, &grant, scope).await
    }
}
