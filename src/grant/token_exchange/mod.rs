//! The token-exchange grant (RFC 8693): a client presents a token of this
//! server and gets a new access token for the same resource owner — for
//! another audience, a narrower scope, or with an actor named (delegation).

mod policy;

use std::future::Future;
use std::sync::Arc;

pub use policy::{ExchangeRefusal, SameClientExchange, TokenExchangePolicy, TokenExchangeRequest};
use policy::{INVALID_ACTOR, INVALID_SUBJECT};

use super::{GrantContext, GrantHandler, RequestError, TargetRefusal, TokenError, target_error};
use crate::protocol::{
    ErrorCode, GrantType, OAuthError, ResourceIndicator, ResourceSet, Scope, TokenFormat,
    TokenResponse, TokenType,
};
use crate::store::{AccessTokenInfo, AccessTokenRecord, Actor, GrantRecord, TokenExchangeRecord};
use crate::token::TokenHash;

/// `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693
/// §2): exchanges an access token this server issued (the `subject_token`)
/// for a new access token for the same resource owner.
///
/// - **What is exchanged** (§2.1): `subject_token` with `subject_token_type`
///   `urn:ietf:params:oauth:token-type:access_token` — or `…:jwt` for an
///   RFC 9068 JWT access token of this server. Both are required. Any
///   other type (ID tokens, refresh tokens, SAML assertions, tokens of
///   other issuers) is `invalid_request`. An `actor_token` (with its
///   required `actor_token_type`, the same types) makes the exchange a
///   delegation.
/// - **What is issued**: an access token (`issued_token_type`
///   `…:access_token`, `token_type` `Bearer`); `requested_token_type` may
///   ask for `…:access_token`, or `…:jwt` when the target gets JWT access
///   tokens (else `invalid_target`); any other type is `invalid_request`.
///   No refresh token: the client exchanges again while the subject token
///   lives (§2.2.1 makes it optional).
/// - **Subject** (§2.1): the new token's `sub` is the subject token's.
///   The subject token must be live — an unknown, expired or revoked one,
///   or one of another client under the default policy, is
///   `invalid_grant`.
/// - **Target** (§2.1): `resource` and `audience` both name resources the
///   server knows (RFC 8707); an unknown one is `invalid_target`. With
///   neither, the new token keeps the subject token's audience.
/// - **Scope** (§2.1): the requested scope must be within the subject
///   token's (else `invalid_scope`); absent, it is the subject token's.
///   It is then narrowed to what applies to the target, as for any token.
/// - **Delegation and impersonation** (§1.1, §4.1): with an actor token the
///   new token carries `act` — `{"sub": <actor>}` — with the subject
///   token's own `act`, if it was delegated, nested inside (a chain), in
///   its JWT form and in introspection. Without one, it is impersonation,
///   and the subject token's `act`, if any, is kept.
/// - **Lifetime and revocation**: the new token expires no later than the
///   subject token, and is stored under the subject token's grant, so
///   revoking that grant (or the client, or a refresh reuse) revokes the
///   exchanged token too.
/// - **Policy**: a [`TokenExchangePolicy`] decides who may exchange what;
///   the default, [`SameClientExchange`], requires the subject (and actor)
///   token to have been issued to the requesting client, and lets a public
///   client only narrow an audience-restricted subject token's audience. A client not
///   registered for this grant type gets `unauthorized_client` from the
///   token endpoint before any of this.
///
/// The grant store must implement
/// [`GrantStore::add_access_token`](crate::store::GrantStore::add_access_token),
/// as the memory and SQL stores do.
///
/// ```
/// use portcullis::grant::TokenExchangeGrant;
/// use portcullis::{AuthorizationServer, store::MemoryStore};
///
/// let store = MemoryStore::new();
/// let server = AuthorizationServer::builder("https://auth.example")
///     .clients(store.clone())
///     .tokens(store)
///     .grant(TokenExchangeGrant::new())
///     .build()?;
/// # Ok::<(), portcullis::BuildError>(())
/// ```
#[derive(Clone)]
pub struct TokenExchangeGrant {
    policy: Arc<dyn TokenExchangePolicy>,
}

impl std::fmt::Debug for TokenExchangeGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenExchangeGrant").finish_non_exhaustive()
    }
}

impl Default for TokenExchangeGrant {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenExchangeGrant {
    /// The grant with the default policy, [`SameClientExchange`].
    pub fn new() -> Self {
        Self::with_policy(SameClientExchange)
    }

    /// The grant with the host's policy (RFC 8693 §5: the server decides
    /// which client may exchange which token).
    pub fn with_policy(policy: impl TokenExchangePolicy) -> Self {
        Self {
            policy: Arc::new(policy),
        }
    }
}

impl GrantHandler for TokenExchangeGrant {
    fn grant_type(&self) -> GrantType {
        GrantType::TOKEN_EXCHANGE
    }

    fn handle(
        &self,
        ctx: GrantContext<'_>,
    ) -> impl Future<Output = Result<TokenResponse, TokenError>> + Send {
        let policy = Arc::clone(&self.policy);
        async move { exchange(&ctx, &*policy).await }
    }
}

/// `invalid_request`, described.
fn invalid_request(why: &'static str) -> TokenError {
    OAuthError::new(ErrorCode::INVALID_REQUEST)
        .with_description(why)
        .into()
}

/// A presented token and its type, both required together (RFC 8693
/// §2.1); `None` when neither is present.
fn presented<'a>(
    ctx: &GrantContext<'a>,
    token: &'static str,
    token_type: &'static str,
) -> Result<Option<&'a str>, TokenError> {
    match (ctx.param(token)?, ctx.param(token_type)?) {
        (None, None) => Ok(None),
        (Some(value), Some(kind)) => {
            // Only this server's access tokens, opaque or RFC 9068 JWTs.
            let supported = match TokenType::parse(kind) {
                Some(t) if t == TokenType::ACCESS_TOKEN => true,
                Some(t) if t == TokenType::JWT => value.split('.').count() == 3,
                Some(_) => false,
                None => return Err(invalid_request("the token type is not a URI")),
            };
            if supported {
                Ok(Some(value))
            } else {
                Err(invalid_request(
                    "the token type is not supported: only access tokens of this server",
                ))
            }
        }
        (None, Some(_)) => Err(RequestError::MissingParameter(token).into()),
        (Some(_), None) => Err(RequestError::MissingParameter(token_type).into()),
    }
}

/// A live access token of this server: its record and grant.
async fn live(
    ctx: &GrantContext<'_>,
    token: &str,
    unknown: &'static str,
) -> Result<(AccessTokenRecord, GrantRecord), TokenError> {
    let found = ctx
        .tokens()
        .find_access_token(&TokenHash::of(token))
        .await?;
    match found {
        Some((record, grant)) if record.expires_at > ctx.now && grant.expires_at > ctx.now => {
            Ok((record, grant))
        }
        _ => Err(TokenError::InvalidGrant(unknown.into())),
    }
}

/// A token bound to a key (RFC 7800 `cnf`; a DPoP key, RFC 9449 §6) is
/// its holder's only with that key proven: the request's own DPoP proof
/// must be of that key, or a stolen bound token could be traded for a
/// token without the binding. Refused as an unknown token is (§2.2.2).
fn held(
    ctx: &GrantContext<'_>,
    token: &AccessTokenRecord,
    refused: &'static str,
) -> Result<(), TokenError> {
    match &token.cnf {
        Some(bound) if ctx.confirmation != Some(bound) => {
            Err(TokenError::InvalidGrant(refused.into()))
        }
        _ => Ok(()),
    }
}

/// The new token's audience: the `resource` (checked by the endpoint) and
/// `audience` parameters, each a resource the server knows (RFC 8693 §2.1,
/// RFC 8707); the subject token's when both are absent.
fn target(ctx: &GrantContext<'_>, subject: &AccessTokenRecord) -> Result<ResourceSet, TokenError> {
    let mut all: Vec<ResourceIndicator> = ctx.requested_resources.iter().cloned().collect();
    for value in ctx.params.get_all("audience") {
        let indicator =
            ResourceIndicator::new(value).map_err(|_| target_error(TargetRefusal::Unknown))?;
        if !ctx
            .audiences
            .resources()
            .iter()
            .any(|r| r.indicator() == &indicator)
        {
            return Err(target_error(TargetRefusal::Unknown));
        }
        all.push(indicator);
    }
    if all.is_empty() {
        return Ok(subject.audience.clone());
    }
    if all.len() > crate::protocol::MAX_RESOURCES_PER_REQUEST {
        return Err(target_error(TargetRefusal::Malformed));
    }
    Ok(ResourceSet::new(all))
}

async fn exchange(
    ctx: &GrantContext<'_>,
    policy: &dyn TokenExchangePolicy,
) -> Result<TokenResponse, TokenError> {
    // RFC 8693 §2.1: the subject token and its type are required; an actor
    // token comes with its type, and neither without the other.
    let subject_token = presented(ctx, "subject_token", "subject_token_type")?
        .ok_or(RequestError::MissingParameter("subject_token"))?;
    let actor_token = presented(ctx, "actor_token", "actor_token_type")?;
    let requested_type = match ctx.param("requested_token_type")? {
        None => TokenType::ACCESS_TOKEN,
        Some(raw) => match TokenType::parse(raw) {
            Some(t) if t == TokenType::ACCESS_TOKEN || t == TokenType::JWT => t,
            _ => {
                return Err(invalid_request(
                    "requested_token_type is not supported: only access tokens are issued",
                ));
            }
        },
    };

    let (subject, grant) = live(ctx, subject_token, INVALID_SUBJECT).await?;
    held(ctx, &subject, INVALID_SUBJECT)?;
    let actor = match actor_token {
        Some(token) => {
            let (record, grant) = live(ctx, token, INVALID_ACTOR).await?;
            held(ctx, &record, INVALID_ACTOR)?;
            Some((record, grant))
        }
        None => None,
    };

    let audience = target(ctx, &subject)?;
    if requested_type == TokenType::JWT && ctx.audiences.format(&audience) != TokenFormat::Jwt {
        return Err(TokenError::InvalidTarget(
            "the target does not accept JWT access tokens",
        ));
    }
    // §2.1: never more than the subject token grants.
    let scope = match ctx.requested_scope {
        Some(requested) if !requested.is_subset(&subject.scope) => {
            return Err(TokenError::InvalidScope(
                "the requested scope exceeds the subject token's",
            ));
        }
        Some(requested) => requested.clone(),
        None => subject.scope.clone(),
    };
    ctx.audiences
        .check(&audience, &scope)
        .map_err(target_error)?;
    let scope: Scope = ctx.audiences.token_scope(&audience, &scope);

    let subject_info = AccessTokenInfo::of(subject.clone(), grant.clone());
    let actor_info = actor.map(|(record, grant)| AccessTokenInfo::of(record, grant));
    policy
        .allows(&TokenExchangeRequest {
            client: ctx.client,
            subject: &subject_info,
            actor: actor_info.as_ref(),
            audience: &audience,
            scope: &scope,
            requested_token_type: &requested_type,
        })
        .map_err(|refusal| match refusal {
            ExchangeRefusal::UnauthorizedClient(why) => TokenError::UnauthorizedClient(why),
            ExchangeRefusal::InvalidGrant(why) => TokenError::InvalidGrant(why),
            ExchangeRefusal::AccessDenied(why) => OAuthError::new(ErrorCode::ACCESS_DENIED)
                .with_description(why)
                .into(),
            ExchangeRefusal::InvalidTarget(why) => TokenError::InvalidTarget(why),
        })?;

    // §4.1: the current actor outermost, the subject token's chain inside;
    // impersonation keeps the subject token's chain as it is.
    let prior = subject_info.act.clone();
    let act = match &actor_info {
        Some(actor) => Some(Actor::new(actor_name(actor), prior)),
        None => prior,
    };

    let minter = ctx.minter();
    // Never outliving the token it was exchanged for.
    let expires_at = (ctx.now + minter.lifetime(&audience))
        .min(subject.expires_at)
        .min(grant.expires_at);
    let (token, planned) = minter
        .mint_acting(
            grant.subject.as_ref(),
            &scope,
            &audience,
            // RFC 9396 §9.1: the details the subject token carries — its
            // grant's, or the subset its token request named (§6.2), never
            // more — which introspection reports too.
            &subject.authorization_details,
            expires_at,
            act.as_ref(),
        )
        .await?;
    let planned = planned.with_authorization_details(Some(subject.authorization_details.clone()));
    let mut record = planned.access_record(&grant, scope.clone(), ctx.now);
    record.exchange = Some(Arc::new(TokenExchangeRecord::new(
        ctx.client.id().clone(),
        act,
    )));
    let expires_at = record.expires_at;
    if !ctx.stores.grants.add_access_token(record).await? {
        // Revoked between the lookup and now.
        return Err(TokenError::InvalidGrant(INVALID_SUBJECT.into()));
    }
    tracing::info!(
        target: "portcullis::security",
        event = "token_exchanged",
        client_id = %ctx.client.id(),
        grant_id = %grant.id,
        delegated = actor_info.is_some(),
    );
    let respond = ctx.responder();
    let response = respond.response(token, expires_at, None);
    let issued_type = if ctx.audiences.format(&audience) == TokenFormat::Jwt
        && requested_type == TokenType::JWT
    {
        TokenType::JWT
    } else {
        TokenType::ACCESS_TOKEN
    };
    // §2.2.1: `issued_token_type` is required; `scope` when it differs
    // from the request's.
    Ok(respond.with_scope_if_differs(response, scope).with_extra(
        "issued_token_type",
        serde_json::Value::String(issued_type.as_str().to_owned()),
    ))
}

/// The name an actor goes by in `act` (RFC 8693 §4.1): its resource owner,
/// or its client when it acts for itself.
fn actor_name(actor: &AccessTokenInfo) -> String {
    actor.subject.as_ref().map_or_else(
        || actor.client_id.as_str().to_owned(),
        |s| s.as_str().to_owned(),
    )
}
