//! The host's seam for token exchange (RFC 8693 §1, §5): who may exchange
//! which token, for what.

use std::borrow::Cow;

use crate::client::AuthenticatedClient;
use crate::protocol::{ResourceSet, Scope, TokenType};
use crate::store::AccessTokenInfo;

/// One token-exchange request, as the policy sees it: checked already for
/// everything RFC 8693 §2 requires — the subject (and actor) token live
/// tokens of this server, the target known, the scope within the subject
/// token's.
#[derive(Debug)]
#[non_exhaustive]
pub struct TokenExchangeRequest<'a> {
    /// The authenticated client asking.
    pub client: &'a AuthenticatedClient,
    /// The subject token (`subject_token`, RFC 8693 §2.1): what it grants.
    pub subject: &'a AccessTokenInfo,
    /// The actor token (`actor_token`, §2.1), for delegation; `None` for
    /// impersonation.
    pub actor: Option<&'a AccessTokenInfo>,
    /// The new token's audience (`resource` and `audience`, §2.1); the
    /// subject token's when the request named none.
    pub audience: &'a ResourceSet,
    /// The new token's scope, within the subject token's (§2.1).
    pub scope: &'a Scope,
    /// The type of token asked for (`requested_token_type`, §2.1).
    pub requested_token_type: &'a TokenType,
    /// The type the subject token was presented as (`subject_token_type`,
    /// §2.1): `…:access_token`, `…:jwt`, or `…:id_token` (§3) — for an ID
    /// token, [`subject`](Self::subject) describes the grant it was issued
    /// under (its scope, resources, client and End-User) with the ID
    /// token's expiry.
    pub subject_token_type: &'a TokenType,
    /// The type the actor token was presented as (`actor_token_type`), if
    /// there is one.
    pub actor_token_type: Option<&'a TokenType>,
}

/// Why a token exchange is refused: the error the client gets (RFC 8693
/// §2.2.2, RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExchangeRefusal {
    /// `unauthorized_client`: this client may not exchange tokens like this.
    UnauthorizedClient(&'static str),
    /// `invalid_grant`: the subject or actor token is not one this client
    /// may present.
    InvalidGrant(Cow<'static, str>),
    /// `access_denied`: the exchange is refused by policy.
    AccessDenied(&'static str),
    /// `invalid_target`: the client may not have a token for this target
    /// (RFC 8693 §2.2.2).
    InvalidTarget(&'static str),
}

/// Decides whether a token exchange (RFC 8693) may happen: the
/// authorization server's own policy, which RFC 8693 §1 and §2.2.2 leave
/// to it (a token unacceptable by policy is refused). Pure and synchronous:
/// it decides from what the request carries, and does no IO.
///
/// The default, [`SameClientExchange`], lets a client exchange only tokens
/// issued to itself.
pub trait TokenExchangePolicy: Send + Sync + 'static {
    /// `Ok(())` to allow the exchange; the refusal to answer otherwise.
    fn allows(&self, request: &TokenExchangeRequest<'_>) -> Result<(), ExchangeRefusal>;
}

/// The default policy: the subject token, and the actor token if there is
/// one, must have been issued to the requesting client; another client's
/// token is `invalid_grant`, as an unknown one is, so its owner is not
/// revealed.
///
/// So a client can narrow its own tokens (audience, scope, lifetime) and
/// act for its user at another resource, but a token that leaked to
/// another client cannot be laundered into a new one (RFC 8693 §5).
///
/// A public client proves nothing but possession of the token, so for it
/// the exchange may only narrow: when the subject token is restricted to
/// an audience (RFC 8707), the new token's audience must be within it
/// (`invalid_target` otherwise). Else whoever found a public client's token
/// for one resource could turn it into a token for another, undoing the
/// audience restriction (RFC 9700 §4.10.2).
///
/// For the same reason a public client may not present an ID token (RFC
/// 8693 §3) as the subject or actor token (`unauthorized_client`): ID
/// tokens are handed to the browser and sent back through it (as
/// `id_token_hint`), and a found one would otherwise be worth a token of
/// its grant's whole scope to anyone who knows the public `client_id`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SameClientExchange;

impl TokenExchangePolicy for SameClientExchange {
    fn allows(&self, request: &TokenExchangeRequest<'_>) -> Result<(), ExchangeRefusal> {
        let own = request.client.id();
        if &request.subject.client_id != own {
            return Err(ExchangeRefusal::InvalidGrant(INVALID_SUBJECT.into()));
        }
        if request.actor.is_some_and(|a| &a.client_id != own) {
            return Err(ExchangeRefusal::InvalidGrant(INVALID_ACTOR.into()));
        }
        // An ID token travels further than an access token (the front
        // channel, `id_token_hint` in logout URLs): from a client that
        // proves only possession of its `client_id`, it would be a bearer
        // credential for the grant's whole scope.
        let id_token = TokenType::ID_TOKEN;
        if !request.client.is_confidential()
            && (request.subject_token_type == &id_token
                || request.actor_token_type == Some(&id_token))
        {
            return Err(ExchangeRefusal::UnauthorizedClient(
                "a public client may not exchange ID tokens",
            ));
        }
        let restricted = &request.subject.audience;
        if !request.client.is_confidential()
            && !restricted.is_empty()
            && (request.audience.is_empty() || !request.audience.is_subset(restricted))
        {
            return Err(ExchangeRefusal::InvalidTarget(
                "a public client may only narrow the subject token's audience",
            ));
        }
        Ok(())
    }
}

/// The answer to a subject token that is unknown, expired, revoked or
/// refused by the default policy.
pub(super) const INVALID_SUBJECT: &str = "the subject_token is invalid, expired or revoked";

/// The same for the actor token.
pub(super) const INVALID_ACTOR: &str = "the actor_token is invalid, expired or revoked";

#[allow(dead_code)]
fn _obj_safe(_: &dyn TokenExchangePolicy) {}
