//! The refresh token grant (RFC 6749 §6), with rotation and reuse detection
//! (RFC 9700 §4.14.2).

use super::authorization_details::{with_details, within_grant};
use super::context::{refusal_error, report_replay};
use super::{GrantContext, GrantHandler, TokenError};
use crate::protocol::{GrantType, TokenResponse};
use crate::store::redemption::{Refusal, check_refresh_use};
use crate::store::{PlannedToken, RefreshRotation, Rotation};
use crate::token::{TokenHash, TokenKind, mint};

/// When a refresh rotates the refresh token
/// ([`ServerBuilder::refresh_token_rotation`](crate::ServerBuilder::refresh_token_rotation)).
///
/// Rotation with reuse detection (RFC 9700 §4.14.2) is how a leaked refresh
/// token of a public client is noticed. A confidential client's refresh
/// token is bound to its client authentication (RFC 6749 §6), so rotating
/// it adds nothing but a failure mode — a client that loses the response
/// loses its grant — and the FAPI 2.0 Security Profile forbids it
/// (§5.3.2.1 item 9 and its Note 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RefreshTokenRotation {
    /// Every refresh rotates the refresh token (the default).
    #[default]
    Always,
    /// Only public clients' refresh tokens rotate (RFC 9700 §4.14.2 requires
    /// it of them). A confidential client keeps its refresh token: a refresh
    /// returns a new access token and no refresh token (RFC 6749 §6 lets the
    /// server leave the old one in force), and may be repeated. The refresh
    /// token still expires with its idle lifetime (which, unrotated, is no
    /// longer renewed) and its grant's absolute lifetime, and dies with its
    /// grant. The default of the FAPI 2.0 Security Profile.
    PublicClientsOnly,
}

/// `grant_type=refresh_token`.
///
/// - The token is bound to its client: another client gets `invalid_grant`.
/// - Every use rotates it, unless the server keeps confidential clients'
///   tokens ([`RefreshTokenRotation::PublicClientsOnly`]): the response carries a new refresh token and the
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
        if ctx.refresh_rotation == RefreshTokenRotation::PublicClientsOnly
            && ctx.client.is_confidential()
        {
            return refresh_in_place(&ctx, TokenHash::of(presented)).await;
        }
        // The client binding, reuse, expiry and scope are checked by the
        // store as it rotates (`RefreshRotation`), in the same atomic
        // operation.
        rotate(&ctx, TokenHash::of(presented)).await
    }
}

/// Rotates the refresh token whose hash is `old` (RFC 6749 §6, RFC 9700
/// §4.14.2): a new access token with the requested scope (or the old
/// token's), and a new refresh token with exactly the old one's scope.
///
/// The checks of [`RefreshRotation`] (client binding, reuse, expiry,
/// scope), the compare-and-swap and the new tokens are one atomic store
/// operation: one round trip to a database. A reuse — or a race lost to a
/// concurrent refresh with the same token — revokes the whole grant.
async fn rotate(ctx: &GrantContext<'_>, old: TokenHash) -> Result<TokenResponse, TokenError> {
    // With resource indicators (RFC 8707 §2.2) the access token depends on
    // the resources the grant was authorized for, read first: they never
    // change once granted. Only a server with resources pays for the read.
    // A token that is not this client's, is rotated out (a reuse, which the
    // rotation must see to revoke the grant), or is asked to widen its
    // scope is left to the rotation to refuse.
    let found = if ctx.audiences.any() {
        ctx.stores
            .grants
            .find_refresh_token(&old)
            .await?
            .filter(|found| {
                found.grant.client_id == *ctx.client.id()
                    && found.current
                    && ctx
                        .requested_scope
                        .is_none_or(|s| s.is_subset(&found.record.scope))
            })
    } else {
        None
    };
    // RFC 9396 §6.2: details asked for here must be among the grant's,
    // checked before the token is rotated; a token the rotation will
    // refuse is left to it.
    if !ctx.requested_details.is_empty() {
        let granted = match &found {
            Some(found) => Some(found.grant.authorization_details.clone()),
            None => ctx
                .stores
                .grants
                .find_refresh_token(&old)
                .await?
                .filter(|found| found.grant.client_id == *ctx.client.id() && found.current)
                .map(|found| found.grant.authorization_details),
        };
        if let Some(granted) = granted {
            within_grant(ctx.requested_details, &granted)?;
        }
    }
    let (access_token, access, scope) = match &found {
        Some(found) => {
            let asked = ctx.requested_scope.unwrap_or(&found.record.scope);
            let (token, planned, scope) = ctx.mint_under(&found.grant, asked).await?;
            let narrower = (scope != found.record.scope).then_some(scope);
            (token, planned, narrower)
        }
        None => {
            let (token, planned) = ctx.plan_access_token();
            let planned = planned.with_authorization_details(ctx.narrowed_details());
            (token, planned, ctx.requested_scope.cloned())
        }
    };
    // Rotation always issues a refresh token: the client holds one already.
    let (refresh_token, refresh_hash) = mint(TokenKind::RefreshToken);
    let refresh = PlannedToken::new(refresh_hash, ctx.now + ctx.lifetimes.refresh_token_idle);
    let rotation = RefreshRotation::new(ctx.client.id().clone(), scope, ctx.now, refresh, access)
        .with_proven_key(ctx.confirmation.cloned());
    let respond = ctx.responder();
    match ctx
        .stores
        .grants
        .rotate_refresh_token(&old, &rotation)
        .await?
    {
        Rotation::Rotated(found) => {
            let expires_at = rotation.access_token.expires_under(&found.grant);
            let response = respond.response(access_token, expires_at, Some(refresh_token));
            let scope = rotation.access_scope(&found.record.scope).clone();
            let response = respond.with_scope_if_differs(response, scope);
            // RFC 9396 §7: a refresh keeps the grant's details; its access
            // token carries them, or the subset the request named (§6.2).
            let details = rotation
                .access_token
                .authorization_details_under(&found.grant);
            let response = with_details(response, details);
            // OpenID Connect Core 1.0 §12.2: a fresh ID token, without the
            // nonce, while the refreshed scope keeps `openid`.
            let refreshed = ctx.requested_scope.unwrap_or(&found.record.scope);
            ctx.with_id_token(response, &found.grant, refreshed, false)
                .await
        }
        Rotation::Revoked(grant_id) => {
            report_replay("refresh_token_reuse", &rotation.client_id, &grant_id);
            Err(invalid_grant("the refresh token was already used"))
        }
        Rotation::Refused(Some(found)) => Err(match rotation.check(&found) {
            // RFC 8705 §4: a refresh token bound to a certificate, used over
            // a connection without it, is a grant the client cannot use.
            Err(crate::store::redemption::Refusal::WrongKey)
                if matches!(
                    found.record.cnf,
                    Some(crate::token::Confirmation::CertificateThumbprint(_))
                ) =>
            {
                TokenError::InvalidGrant(
                    "the refresh token is bound to another client certificate".into(),
                )
            }
            Err(refusal) => refusal_error(refusal, "refresh token"),
            Ok(()) => invalid_grant("invalid refresh token"),
        }),
        _ => Err(invalid_grant("invalid refresh token")),
    }
}

/// A refresh that keeps the refresh token (RFC 6749 §6; FAPI 2.0 §5.3.2.1
/// item 9): the checks of a rotation — this client's, its key binding,
/// current, unexpired, no wider scope — then one access token added to the
/// live grant by [`GrantStore::add_access_token`](crate::store::GrantStore::add_access_token),
/// atomically with respect to the grant's revocation, and no refresh token
/// in the response.
async fn refresh_in_place(
    ctx: &GrantContext<'_>,
    hash: TokenHash,
) -> Result<TokenResponse, TokenError> {
    let Some(found) = ctx.stores.grants.find_refresh_token(&hash).await? else {
        return Err(invalid_grant("invalid refresh token"));
    };
    // The same checks, in the same order, as a rotation's; a token that is
    // not current was rotated out before the server stopped rotating, and
    // presenting it is a reuse (RFC 9700 §4.14.2).
    match check_refresh_use(
        ctx.client.id(),
        ctx.requested_scope,
        ctx.now,
        ctx.confirmation,
        &found,
    ) {
        Ok(()) => {}
        Err(Refusal::Replayed) => {
            ctx.stores.grants.revoke_grant(&found.grant.id).await?;
            report_replay("refresh_token_reuse", ctx.client.id(), &found.grant.id);
            return Err(invalid_grant("the refresh token was already used"));
        }
        Err(refusal) => return Err(refusal_error(refusal, "refresh token")),
    }
    if !ctx.requested_details.is_empty() {
        within_grant(ctx.requested_details, &found.grant.authorization_details)?;
    }
    let asked = ctx.requested_scope.unwrap_or(&found.record.scope);
    let (access_token, planned, scope) = ctx.mint_under(&found.grant, asked).await?;
    let record = planned.access_record(&found.grant, scope.clone(), ctx.now);
    let expires_at = record.expires_at;
    let details = record.authorization_details.clone();
    if !ctx.stores.grants.add_access_token(record).await? {
        // Revoked between the lookup and now.
        return Err(invalid_grant("invalid refresh token"));
    }
    let respond = ctx.responder();
    let response = respond.response(access_token, expires_at, None);
    let response = respond.with_scope_if_differs(response, scope);
    let response = with_details(response, &details);
    ctx.with_id_token(response, &found.grant, asked, false)
        .await
}
