//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3), with
//! PKCE (RFC 7636 §4.5, §4.6).

use super::{GrantContext, GrantHandler};
use crate::endpoint::TokenError;
use crate::protocol::{GrantType, TokenResponse};
use crate::store::{AuthorizationCodeRecord, FoundCode};
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

/// The checks a redemption must pass beyond the code itself (RFC 6749
/// §4.1.3; RFC 7636 §4.6; RFC 9700 §4.8.2).
fn check_binding(
    code: &AuthorizationCodeRecord,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<(), TokenError> {
    match (redirect_uri, code.redirect_uri_in_request) {
        (Some(given), _) if given != &*code.redirect_uri => {
            return Err(invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        (None, true) => {
            return Err(invalid_grant(
                "redirect_uri is required: the authorization request had one",
            ));
        }
        _ => {}
    }
    match (&code.challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            let matches = challenge
                .verify_presented(verifier)
                .map_err(|_| invalid_grant("code_verifier is malformed"))?;
            if !matches {
                return Err(invalid_grant(
                    "code_verifier does not match the code_challenge",
                ));
            }
            Ok(())
        }
        (Some(_), None) => Err(invalid_grant("code_verifier is required")),
        (None, Some(_)) => Err(invalid_grant(
            "code_verifier sent for a code issued without a challenge",
        )),
        (None, None) => Ok(()),
    }
}

impl GrantHandler for AuthorizationCodeGrant {
    fn grant_type(&self) -> GrantType {
        GrantType::AUTHORIZATION_CODE
    }

    async fn handle(&self, ctx: GrantContext<'_>) -> Result<TokenResponse, TokenError> {
        let code = ctx.required_param("code")?;
        let redirect_uri = ctx.param("redirect_uri")?;
        let verifier = ctx.param("code_verifier")?;
        if !TokenKind::AuthorizationCode.matches(code) {
            return Err(invalid_grant("invalid authorization code"));
        }
        let client_id = ctx.client().id();
        let code_hash = TokenHash::of(code);
        let Some(FoundCode {
            code,
            grant,
            redeemed,
        }) = ctx.tokens().find_code(&code_hash).await?
        else {
            return Err(invalid_grant("invalid authorization code"));
        };
        // RFC 6749 §4.1.3: issued to this client. The same answer as an unknown
        // code, so the code's owner is not revealed.
        if grant.client_id != *client_id {
            return Err(invalid_grant("invalid authorization code"));
        }
        let binding = check_binding(&code, redirect_uri, verifier);
        if redeemed {
            // A replay. Revoke only when it passes every check a redemption
            // would, so a leaked code alone cannot revoke a user's tokens.
            if binding.is_ok() {
                ctx.tokens()
                    .revoke_on_replay("authorization_code_replay", client_id, &grant.id)
                    .await?;
            }
            return Err(invalid_grant("invalid authorization code"));
        }
        if code.expires_at <= ctx.now() {
            return Err(invalid_grant("the authorization code expired"));
        }
        binding?;
        ctx.redeem_code(code_hash, &grant).await
    }
}
