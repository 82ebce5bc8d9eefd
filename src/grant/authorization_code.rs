//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3), with
//! PKCE (RFC 7636 §4.5, §4.6).

use super::authorization_details::{with_details, within_grant};
use super::context::{refusal_error, report_replay};
use super::{GrantContext, GrantHandler, TokenError};
use crate::protocol::CodeVerifier;
use crate::protocol::{GrantType, TokenResponse};
use crate::store::{CodeRedemption, Redemption};
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
        redeem(&ctx, TokenHash::of(code), redirect_uri, verifier).await
    }
}

/// Redeems the authorization code whose hash is `code_hash` (RFC 6749
/// §4.1.3), issuing an access token — and a refresh token if
/// [`refresh_tokens_allowed`](GrantContext::refresh_tokens_allowed) — with
/// its grant's scope.
///
/// The checks of [`CodeRedemption`] (client, `redirect_uri` and PKCE
/// binding, replay, expiry), the redemption and the new tokens are one
/// atomic store operation: one round trip to a database. A replay — or a
/// race lost to a concurrent redemption — revokes the grant, the winner's
/// tokens with it (RFC 6819 §5.2.1.1). A request that fails a check gets
/// `invalid_grant` and leaves the code redeemable.
async fn redeem(
    ctx: &GrantContext<'_>,
    code_hash: TokenHash,
    redirect_uri: Option<&str>,
    code_verifier: Option<CodeVerifier>,
) -> Result<TokenResponse, TokenError> {
    // The server is built with a code store whenever it serves this grant.
    let Some(codes) = ctx.stores.codes.as_deref() else {
        return Err(TokenError::UnsupportedGrantType);
    };
    // With resource indicators (RFC 8707 §2.2) the access token depends on
    // the resources the grant was authorized for: its audience, scope,
    // format and lifetime. They never change once granted, so one read
    // before the atomic redemption tells them; only a server with
    // resources pays for it. A code that is not this client's is left to
    // the redemption to refuse, telling nothing about it, and a redeemed
    // one to the redemption to treat as the replay it is.
    let found = if ctx.audiences.any() {
        codes
            .find_code(&code_hash)
            .await?
            .filter(|found| found.grant.client_id == *ctx.client.id() && !found.redeemed)
    } else {
        None
    };
    // RFC 9396 §6.2: details asked for here must be among the grant's,
    // checked before the code is spent; a code the redemption will refuse
    // is left to it.
    if !ctx.requested_details.is_empty() {
        let found = match &found {
            Some(found) => Some(found.grant.authorization_details.clone()),
            None => codes
                .find_code(&code_hash)
                .await?
                .filter(|found| found.grant.client_id == *ctx.client.id() && !found.redeemed)
                .map(|found| found.grant.authorization_details),
        };
        if let Some(granted) = found {
            within_grant(ctx.requested_details, &granted)?;
        }
    }
    let (access_token, access, access_scope) = match &found {
        Some(found) => {
            let grant = &found.grant;
            let (token, planned, scope) = ctx.mint_under(grant, &grant.scope).await?;
            let narrower = (scope != grant.scope).then_some(scope);
            (token, planned, narrower)
        }
        None => {
            let (token, planned) = ctx.plan_access_token();
            let planned = planned.with_authorization_details(ctx.narrowed_details());
            (token, planned, None)
        }
    };
    let (refresh_token, refresh) = ctx.plan_refresh_token().unzip();
    let redemption = CodeRedemption::new(ctx.client.id().clone(), ctx.now, access, refresh)
        .redirect_uri(redirect_uri)
        .code_verifier(code_verifier)
        .access_scope(access_scope)
        .with_proven_key(ctx.confirmation.cloned());
    let respond = ctx.responder();
    let invalid = || invalid_grant("invalid authorization code");
    match codes.redeem_code(&code_hash, &redemption).await? {
        Redemption::Redeemed(found) => {
            let grant = &found.grant;
            let expires_at = redemption.access_token.expires_under(grant);
            let response = respond.response(access_token, expires_at, refresh_token);
            let scope = redemption.access_scope.as_ref().unwrap_or(&grant.scope);
            let response = respond.with_scope_if_differs(response, scope.clone());
            // RFC 9396 §7: what the token carries — the grant's details, or
            // the subset the request named (§6.2).
            let details = redemption.access_token.authorization_details_under(grant);
            let response = with_details(response, details);
            // The ID token answers the authentication the grant records,
            // whatever audience narrowed the access token's scope to.
            ctx.with_id_token(response, grant, &grant.scope, true).await
        }
        Redemption::Revoked(grant_id) => {
            report_replay(
                "authorization_code_replay",
                &redemption.client_id,
                &grant_id,
            );
            Err(invalid())
        }
        Redemption::Refused(Some(found)) => Err(match redemption.check(&found) {
            Err(refusal) => refusal_error(refusal, "authorization code"),
            Ok(()) => invalid(),
        }),
        _ => Err(invalid()),
    }
}
