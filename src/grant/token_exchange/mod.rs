//! The token-exchange grant (RFC 8693): a client presents a token of this
//! server and gets a new access token for the same resource owner — for
//! another audience, a narrower scope, or with an actor named (delegation).

mod policy;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub use policy::{ExchangeRefusal, SameClientExchange, TokenExchangePolicy, TokenExchangeRequest};
use policy::{INVALID_ACTOR, INVALID_SUBJECT};

use super::authorization_details::{with_details, within_grant};
use super::{GrantContext, GrantHandler, RequestError, TargetRefusal, TokenError, target_error};
use crate::protocol::{
    ErrorCode, GrantType, OAuthError, ResourceIndicator, ResourceSet, Scope, TokenFormat,
    TokenResponse, TokenType,
};
use crate::store::{
    AccessTokenInfo, AccessTokenRecord, Actor, GrantId, GrantRecord, TokenExchangeRecord,
};
use crate::token::TokenHash;

/// `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693
/// §2): exchanges an access token or an ID token this server issued (the
/// `subject_token`) for a new access token for the same resource owner.
///
/// - **What is exchanged** (§2.1, §3): `subject_token` with
///   `subject_token_type` `urn:ietf:params:oauth:token-type:access_token`
///   — or `…:jwt` for an RFC 9068 JWT access token of this server — or,
///   when the server is an OpenID Provider, `…:id_token` for an ID token
///   it issued. Both are required. Any other type (refresh tokens, SAML
///   assertions, tokens of other issuers, ID tokens on a server that is
///   no OpenID Provider) is `invalid_request`. A token of one accepted type
///   declared as another (an ID token as `…:access_token`, an access token
///   as `…:id_token`) is not found as such: `invalid_grant`. An
///   `actor_token` (with its required `actor_token_type`, the same types)
///   makes the exchange a delegation.
/// - **ID tokens** (§3; OpenID Connect Core 1.0 §2): accepted when signed
///   with a key the server publishes (a retired one included), untyped
///   (an RFC 9068 `at+jwt` is not one), `iss` the issuer, not expired, and
///   naming in its `grant_id` claim a live OpenID Connect grant made to
///   the client its `aud` names; when that client is the one asking, the
///   `sub` must be the one the server gives it for the grant's End-User.
///   Else `invalid_grant`. A pairwise `sub` (Core §8.1) cannot be mapped
///   back, so the new token's subject is the grant's End-User as the server
///   knows them. The ID token stands for a token of its grant's scope,
///   resources and authorization details, expiring with the ID token: the
///   new token's scope is within the grant's, it expires no later than
///   the ID token, and it is stored under the grant. Whose ID token a
///   client may present is the policy's decision: under
///   [`SameClientExchange`], only one issued to itself, and only a
///   confidential client.
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
/// - **Authorization details** (RFC 9396 §6.2, §7): the new token carries
///   the subject token's, or the subset of them the request's
///   `authorization_details` names — naming any the subject token does not
///   carry is `invalid_authorization_details` — and the response returns
///   them.
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

/// A presented token (RFC 8693 §2.1): its value and its declared type —
/// `…:access_token`, `…:jwt` or `…:id_token`.
struct Presented<'a> {
    value: &'a str,
    kind: TokenType,
}

/// A presented token and its type, both required together (RFC 8693
/// §2.1); `None` when neither is present. An ID token (§3) is accepted
/// only from an OpenID Provider.
fn presented<'a>(
    ctx: &GrantContext<'a>,
    token: &'static str,
    token_type: &'static str,
) -> Result<Option<Presented<'a>>, TokenError> {
    match (ctx.param(token)?, ctx.param(token_type)?) {
        (None, None) => Ok(None),
        (Some(value), Some(kind)) => {
            // Only this server's access tokens, opaque or RFC 9068 JWTs,
            // and its ID tokens.
            let kind = match TokenType::parse(kind) {
                Some(t) if t == TokenType::ACCESS_TOKEN => Some(t),
                Some(t) if t == TokenType::JWT => {
                    (value.split('.').count() == 3).then_some(TokenType::JWT)
                }
                Some(t) if t == TokenType::ID_TOKEN => ctx.openid.map(|_| TokenType::ID_TOKEN),
                Some(_) => None,
                None => return Err(invalid_request("the token type is not a URI")),
            };
            match kind {
                Some(kind) => Ok(Some(Presented { value, kind })),
                None => Err(invalid_request(
                    "the token type is not supported: only access tokens and ID tokens of this server",
                )),
            }
        }
        (None, Some(_)) => Err(RequestError::MissingParameter(token).into()),
        (Some(_), None) => Err(RequestError::MissingParameter(token_type).into()),
    }
}

/// The token a presented one stands for, and its grant: a live access
/// token of this server (held by this request, if bound), or — for an ID
/// token — what [`id_token_subject`] makes of it. A token of one type
/// declared as the other is not found as such: `invalid_grant` (§2.2.2).
async fn resolve(
    ctx: &GrantContext<'_>,
    presented: &Presented<'_>,
    refused: &'static str,
) -> Result<(AccessTokenRecord, GrantRecord), TokenError> {
    if presented.kind == TokenType::ID_TOKEN {
        return id_token_subject(ctx, presented.value, refused).await;
    }
    let (record, grant) = live(ctx, presented.value, refused).await?;
    held(ctx, &record, refused)?;
    Ok((record, grant))
}

/// An ID token of this provider presented as a subject or actor token
/// (RFC 8693 §3 `…:token-type:id_token`), as the token it stands for:
///
/// - it must be a JWS signed with a key this server publishes (a retired
///   one included, as for `id_token_hint`), untyped as this provider's ID
///   tokens are — an RFC 9068 access token (`typ: at+jwt`) is not one —,
///   with `iss` the issuer and `exp` still ahead;
/// - its `grant_id` claim names the grant it was issued under, which must
///   still be live and be an OpenID Connect grant of an End-User, made to
///   the client the ID token's `aud` names; when that client is the one
///   asking, the ID token's `sub` must be the one it gets for the grant's
///   End-User (public or pairwise, OpenID Connect Core 1.0 §8).
///
/// A pairwise `sub` cannot be mapped back to the End-User; the grant can,
/// so the new token's subject is the grant's. The token it stands for has
/// the grant's scope, resources and authorization details and the ID
/// token's expiry; it is not stored. Anything else is `invalid_grant`.
async fn id_token_subject(
    ctx: &GrantContext<'_>,
    raw: &str,
    refused: &'static str,
) -> Result<(AccessTokenRecord, GrantRecord), TokenError> {
    let refuse = || TokenError::InvalidGrant(refused.into());
    let provider = ctx.openid.ok_or_else(refuse)?;
    let verified = provider
        .verify_id_token(raw, ctx.issuer, ctx.now)
        .map_err(|_| refuse())?;
    if verified.typed {
        return Err(refuse());
    }
    let expires_at = verified
        .expires_at
        .and_then(|exp| u64::try_from(exp).ok())
        .and_then(|exp| UNIX_EPOCH.checked_add(Duration::from_secs(exp)))
        .filter(|exp| *exp > ctx.now)
        .ok_or_else(refuse)?;
    let grant_id = verified
        .grant_id
        .as_deref()
        .and_then(parse_grant_id)
        .ok_or_else(refuse)?;
    let grant = ctx
        .stores
        .grants
        .find_grant(&grant_id)
        .await?
        .filter(|g| g.expires_at > ctx.now && g.openid.is_some())
        .ok_or_else(refuse)?;
    let local = grant.subject.as_ref().ok_or_else(refuse)?;
    if !verified
        .audience
        .iter()
        .any(|a| a == grant.client_id.as_str())
    {
        return Err(refuse());
    }
    if &grant.client_id == ctx.client.id()
        && provider.subject_for(ctx.client.client(), local.as_str()) != verified.hint.subject
    {
        return Err(refuse());
    }
    let record = AccessTokenRecord {
        hash: TokenHash::of(raw),
        grant_id,
        scope: grant.scope.clone(),
        audience: grant.resources.clone(),
        issued_at: ctx.now,
        expires_at,
        exchange: None,
        cnf: None,
        authorization_details: grant.authorization_details.clone(),
    };
    Ok((record, grant))
}

/// A grant identifier as an ID token's `grant_id` carries it: base64url
/// of its 16 bytes, as [`GrantId`] displays it.
fn parse_grant_id(text: &str) -> Option<GrantId> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let bytes: [u8; 16] = bytes.try_into().ok()?;
    Some(GrantId::from_bytes(bytes))
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

    let (subject, grant) = resolve(ctx, &subject_token, INVALID_SUBJECT).await?;
    let actor = match &actor_token {
        Some(token) => Some(resolve(ctx, token, INVALID_ACTOR).await?),
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
    // RFC 9396 §6.2, as for a refresh: the details asked for must all be
    // among the subject token's, and the new token carries exactly those;
    // absent, it carries the subject token's.
    within_grant(ctx.requested_details, &subject.authorization_details)?;
    let details = ctx
        .narrowed_details()
        .unwrap_or_else(|| subject.authorization_details.clone());

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
            subject_token_type: &subject_token.kind,
            actor_token_type: actor_token.as_ref().map(|a| &a.kind),
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
            // grant's, or the subset its token request named (§6.2) — or
            // the subset of those this request names, never more; which
            // introspection reports too.
            &details,
            expires_at,
            act.as_ref(),
        )
        .await?;
    let planned = planned.with_authorization_details(Some(details.clone()));
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
    // from the request's. RFC 9396 §7: the details the token carries.
    let response = respond.with_scope_if_differs(response, scope).with_extra(
        "issued_token_type",
        serde_json::Value::String(issued_type.as_str().to_owned()),
    );
    Ok(with_details(response, &details))
}

/// The name an actor goes by in `act` (RFC 8693 §4.1): its resource owner,
/// or its client when it acts for itself.
fn actor_name(actor: &AccessTokenInfo) -> String {
    actor.subject.as_ref().map_or_else(
        || actor.client_id.as_str().to_owned(),
        |s| s.as_str().to_owned(),
    )
}
