//! The device authorization grant at the token endpoint (RFC 8628 §3.4,
//! §3.5).

use std::borrow::Cow;

use super::context::report_replay;
use super::{GrantContext, GrantHandler, TokenError};
use crate::protocol::{ErrorCode, GrantType, OAuthError, TokenResponse};
use crate::store::{DeviceCollection, DeviceStatus, PolledDeviceCode};
use crate::token::{TokenHash, TokenKind};

/// `grant_type=urn:ietf:params:oauth:grant-type:device_code`: the device
/// polls with the device code from the device authorization endpoint
/// ([`AuthorizationServer::device_authorization_endpoint`](crate::AuthorizationServer::device_authorization_endpoint))
/// until the user has decided on the verification page.
///
/// Every poll is recorded, and answered (RFC 8628 §3.5):
///
/// - `authorization_pending` while no user has decided;
/// - `slow_down` when it came sooner than the interval after the previous
///   poll — and from then on the interval is 5 seconds longer. The first
///   poll is never too fast: the interval is measured between polls, not
///   from the device authorization response;
/// - `expired_token` once the device code has expired;
/// - `access_denied` after the user denied;
/// - after the user approved, one token response: an access token for the
///   user with the approved scope, and a refresh token when the client is
///   registered for the `refresh_token` grant and the server serves it.
///
/// The device code is bound to its client: another client gets
/// `invalid_grant`, the answer for an unknown code, and changes nothing.
///
/// Redemption is one atomic store operation, so of concurrent polls after
/// approval exactly one gets tokens. Any later poll with the redeemed code by
/// its client — a concurrent loser, a retry, or someone else holding the
/// device code and the client's credentials — is a replay: like a replayed
/// authorization code (RFC 6819 §5.2.1.1, RFC 9700 §4.2.4) it revokes the
/// grant and every token issued from it, and gets `invalid_grant`. Two
/// parties holding one device code is exactly what a replay shows, and the
/// server cannot tell which one is the device; the user authorizes again.
///
/// ```
/// use portcullis::grant::{DeviceCodeGrant, RefreshTokenGrant};
/// use portcullis::{AuthorizationServer, store::MemoryStore};
///
/// let store = MemoryStore::new();
/// let server = AuthorizationServer::builder("https://auth.example")
///     .clients(store.clone())
///     .tokens(store)
///     .grant(DeviceCodeGrant)
///     .grant(RefreshTokenGrant)
///     .device_verification_uri("https://auth.example/activate")
///     .build()?;
/// # Ok::<(), portcullis::BuildError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DeviceCodeGrant;

fn invalid_grant() -> TokenError {
    TokenError::InvalidGrant("invalid device code".into())
}

fn oauth(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> TokenError {
    TokenError::OAuth(OAuthError::new(code).with_description(description))
}

impl GrantHandler for DeviceCodeGrant {
    fn grant_type(&self) -> GrantType {
        GrantType::DEVICE_CODE
    }

    async fn handle(&self, ctx: GrantContext<'_>) -> Result<TokenResponse, TokenError> {
        let device_code = ctx.required_param("device_code")?;
        if !TokenKind::DeviceCode.matches(device_code) {
            return Err(invalid_grant());
        }
        // The device authorization request carries no `resource`, so its
        // grant has no audience to narrow (a known limit).
        if !ctx.requested_resources().is_empty() {
            return Err(super::context::target_error(
                super::TargetRefusal::Unsupported,
            ));
        }
        let now = ctx.now();
        // Recording the poll, collecting an approval and revoking a replayed
        // grant are one atomic store operation.
        let polled = poll(&ctx, TokenHash::of(device_code)).await?;
        // Unknown, or another client's: the same answer, so the code's owner
        // is not revealed.
        let Some((
            PolledDeviceCode {
                record, too_fast, ..
            },
            response,
        )) = polled
        else {
            return Err(invalid_grant());
        };
        if let Some(response) = response {
            return Ok(response);
        }
        match &record.status {
            // A replay: the store revoked the grant.
            DeviceStatus::Redeemed { .. } => Err(invalid_grant()),
            _ if record.expires_at <= now => Err(oauth(
                ErrorCode::EXPIRED_TOKEN,
                "the device code expired; start again",
            )),
            DeviceStatus::Denied => Err(oauth(
                ErrorCode::ACCESS_DENIED,
                "the user denied the request",
            )),
            DeviceStatus::Pending if too_fast => {
                let interval =
                    record.interval.as_secs() + u64::from(record.interval.subsec_nanos() > 0);
                Err(oauth(
                    ErrorCode::SLOW_DOWN,
                    format!("polling too fast; wait {interval} seconds between requests"),
                ))
            }
            DeviceStatus::Pending => Err(oauth(
                ErrorCode::AUTHORIZATION_PENDING,
                "the user has not yet decided",
            )),
            // Approved but not collected: only an expired approval, answered
            // above; a store that left one uncollected gets the safe answer.
            _ => Err(invalid_grant()),
        }
    }
}

/// Polls with the device code whose hash is `device_code_hash` (RFC 8628
/// §3.4, §3.5): records the poll and, if the device authorization is
/// approved, collects it — a new grant for the approving user with the
/// approved scope, an access token, and a refresh token if
/// [`refresh_tokens_allowed`](GrantContext::refresh_tokens_allowed) — in one
/// atomic store operation: one round trip to a database. A poll with an
/// already redeemed device code is a replay: the store revokes its grant,
/// and the security event is reported here.
///
/// Returns the poll as the store reports it, with the token response when
/// this poll collected; `None` when the device code is unknown or another
/// client's. `scope` is in the response unless both it and the scope asked
/// for are empty: the client asked at the device authorization endpoint, not
/// in this request, so it learns here what it got (RFC 6749 §5.1).
async fn poll(
    ctx: &GrantContext<'_>,
    device_code_hash: TokenHash,
) -> Result<Option<(PolledDeviceCode, Option<TokenResponse>)>, TokenError> {
    // The server is built with a device store whenever it serves this grant.
    let Some(devices) = ctx.stores.devices.as_deref() else {
        return Err(TokenError::UnsupportedGrantType);
    };
    let (access_token, access) = ctx.plan_access_token();
    let (refresh_token, refresh) = ctx.plan_refresh_token().unzip();
    let collection = DeviceCollection::new(
        ctx.stores.grants.grant_id_for(&access.hash),
        ctx.grant_expiry(refresh.is_some()),
        access,
        refresh,
    );
    let client_id = ctx.client.id();
    let respond = ctx.responder();
    let Some(polled) = devices
        .poll_device_code(&device_code_hash, client_id, ctx.now, &collection)
        .await?
    else {
        return Ok(None);
    };
    let response = match (&polled.collected, &polled.record.status) {
        (Some(grant), _) => {
            let expires_at = collection.access_token.expires_under(grant);
            let response = respond.response(access_token, expires_at, refresh_token);
            Some(
                if grant.scope.is_empty() && polled.record.scope.is_empty() {
                    response
                } else {
                    response.with_scope(grant.scope.clone())
                },
            )
        }
        (None, DeviceStatus::Redeemed { grant_id }) => {
            report_replay("device_code_replay", client_id, grant_id);
            None
        }
        _ => None,
    };
    Ok(Some((polled, response)))
}
