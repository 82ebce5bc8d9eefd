//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3), with
//! PKCE (RFC 7636 §4.5, §4.6).

use super::{GrantContext, GrantHandler, TokenError};
use crate::protocol::CodeVerifier;
use crate::protocol::{GrantType, TokenResponse};
use crate::token::{TokenHash, TokenKind};

/// `grant_type=authorization_code`: the client redeems the code the resource
/// owner's approval produced.
///
/// - The code is redeemed, and its tokens stored, in one atomic operation: of
///   concurrent redemptions exactly one gets tokens (RFC 6749 §4.1.2); the
///   others are replays, and revoke the grant — the winner's tokens with it.
///   A request that fails the checks below does not use the code up.
/// - It must have been issued to this client (§4.1.3), not be expired, and
///   come with the same `redirect_uri` if the authorization request had one.
/// - PKCE: the `code_verifier` must match the challenge (RFC 7636 §4.6); a
///   verifier for a code issued without a challenge is refused, since that is
///   a downgrade (RFC 9700 §4.8.2).
/// - A replayed code revokes every token issued from it (RFC 6819 §5.2.1.1,
///   RFC 9700 §4.2.4) — but only when the replaying request passes everything
///   a redemption would: it comes from the code's own client, authenticated,
///   with the right `redirect_uri` and PKCE verifier. Someone holding only a
///   leaked code — even a public client's, whose `client_id` is no secret —
///   cannot use it to revoke a user's tokens.
/// - Refresh tokens are issued when the client is registered for the
///   `refresh_token` grant and the server serves it.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthorizationCodeGrant;

fn invalid_grant(why: &'static str) -> TokenError {
    TokenError::InvalidGrant(why.into())
}

impl GrantHandler for AuthorizationCodeGrant {
    fn grant_type(&self) -> GrantType {
        GrantType::AUTHORIZATION_CODE
    }

    async fn handle(&self, ctx: GrantContext<'_>) -> Result<TokenResponse, TokenError> {
        let code = ctx.required_param("code")?;
        let redirect_uri = ctx.param("redirect_uri")?;
        let verifier = ctx
            .param("code_verifier")?
            .map(CodeVerifier::parse)
            .transpose()
            .map_err(|_| invalid_grant("code_verifier is malformed"))?;
        if !TokenKind::AuthorizationCode.matches(code) {
            return Err(invalid_grant("invalid authorization code"));
        }
        // Everything else — the code's client, its redirect URI and PKCE
        // binding, replay, expiry — is checked by the store as it redeems
        // (`CodeRedemption`), in the same atomic operation.
        ctx.redeem_code(TokenHash::of(code), redirect_uri, verifier)
            .await
    }
}
