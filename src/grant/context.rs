//! What a grant handler is given, and how it issues tokens.
//!
//! [`GrantContext`] is the API an extension grant uses: the authenticated
//! client, the request's parameters and scope, the time, the grant store's
//! lookups ([`Tokens`]), and [`issue`](GrantContext::issue). The built-in
//! grants use the same context; what is particular to each — redeeming a
//! code, rotating a refresh token, polling with a device code — lives in its
//! own file.

use std::fmt;
use std::future::Future;

use crate::erased::BoxFuture;
use std::time::SystemTime;

use super::audience::{Audiences, TargetRefusal};
use super::authorization_details::with_details;
use super::jwt_access_token::{self, AccessTokenClaims};
use super::{RequestError, TokenError};
use crate::client::{AuthenticatedClient, ClientId};
use crate::oidc::{IdTokenRequest, IdentityError, OpenIdProvider};
use crate::protocol::{
    AuthorizationDetails, Params, ResourceSet, Scope, TokenFormat, TokenResponse,
};
use crate::store::redemption::Refusal;
use crate::store::{
    AccessTokenRecord, Actor, FoundRefreshToken, GrantId, GrantRecord, NewGrant, PlannedToken,
    StoreError, Stores, Subject,
};
use crate::token::{
    AccessToken, Confirmation, RefreshToken, TokenHash, TokenKind, TokenLifetimes, mint,
};

/// One token request, as a grant handler sees it.
#[derive(Debug)]
pub struct GrantContext<'a> {
    pub(crate) stores: &'a Stores,
    pub(crate) lifetimes: &'a TokenLifetimes,
    /// Whether the server serves the `refresh_token` grant.
    pub(crate) serves_refresh: bool,
    pub(crate) client: &'a AuthenticatedClient,
    pub(crate) params: &'a Params<'a>,
    pub(crate) requested_scope: Option<&'a Scope>,
    /// The `resource` parameters (RFC 8707), each a resource the server
    /// knows.
    pub(crate) requested_resources: &'a ResourceSet,
    pub(crate) audiences: &'a Audiences,
    pub(crate) issuer: &'a str,
    /// The OpenID Provider, when the server is one.
    pub(crate) openid: Option<&'a OpenIdProvider>,
    pub(crate) now: SystemTime,
    /// The `authorization_details` (RFC 9396 §6), each of a type the
    /// server and the client accept; empty when the request has none.
    pub(crate) requested_details: &'a AuthorizationDetails,
    /// The key the request proved with a DPoP proof (RFC 9449 §5): the
    /// tokens issued are bound to it.
    pub(crate) confirmation: Option<&'a Confirmation>,
    /// Whether a refresh rotates the refresh token.
    pub(crate) refresh_rotation: super::RefreshTokenRotation,
}

impl<'a> GrantContext<'a> {
    /// The authenticated client.
    pub fn client(&self) -> &'a AuthenticatedClient {
        self.client
    }

    /// A single-valued request parameter; a repeated one is `invalid_request`
    /// (RFC 6749 §3.2).
    pub fn param(&self, name: &str) -> Result<Option<&'a str>, TokenError> {
        self.params
            .get(name)
            .map_err(|e| RequestError::MalformedRequest(e).into())
    }

    /// A required single-valued parameter; missing is `invalid_request`.
    pub fn required_param(&self, name: &'static str) -> Result<&'a str, TokenError> {
        self.param(name)?
            .ok_or(RequestError::MissingParameter(name).into())
    }

    /// All request parameters, for extension grants with multi-valued ones.
    pub fn params(&self) -> &'a Params<'a> {
        self.params
    }

    /// The scope the request asked for, already checked to be within the
    /// client's allowed scope; `None` when the request omitted `scope`.
    pub fn requested_scope(&self) -> Option<&'a Scope> {
        self.requested_scope
    }

    /// The requested scope, or the client's default scope when the request
    /// omitted it (RFC 6749 §3.3).
    pub fn scope_or_default(&self) -> Scope {
        self.requested_scope
            .unwrap_or_else(|| self.client.client().default_scope())
            .clone()
    }

    /// The time of this request, from the server's clock.
    pub fn now(&self) -> SystemTime {
        self.now
    }

    /// The key the request proved with a DPoP proof (RFC 9449 §5), to which
    /// the access token [`issue`](Self::issue) makes is bound; `None`
    /// without a proof.
    pub fn confirmation(&self) -> Option<&'a Confirmation> {
        self.confirmation
    }

    /// The binding of a refresh token issued now: the proven key for a
    /// public client (RFC 9449 §5); none for a confidential client, whose
    /// refresh tokens are bound to its authentication.
    pub(crate) fn refresh_confirmation(&self) -> Option<Confirmation> {
        self.confirmation
            .filter(|_| !self.client.is_confidential())
            .cloned()
    }

    /// The resources the request names (`resource`, RFC 8707 §2), each one
    /// the server knows; empty when it names none.
    pub fn requested_resources(&self) -> &'a ResourceSet {
        self.requested_resources
    }

    /// The authorization details the request asks for (RFC 9396 §6), each
    /// of a registered type the client is registered for and accepted by
    /// its validator; empty when it asks for none. [`issue`](Self::issue)
    /// grants them (§6.1).
    pub fn requested_authorization_details(&self) -> &'a AuthorizationDetails {
        self.requested_details
    }

    /// The authorization details an access token issued under an existing
    /// grant carries (RFC 9396 §6.2): the subset this request names —
    /// which the caller has checked to be among the grant's — or `None`
    /// for all of the grant's.
    pub(crate) fn narrowed_details(&self) -> Option<AuthorizationDetails> {
        (!self.requested_details.is_empty()).then(|| self.requested_details.clone())
    }

    /// An access token under the existing `grant` (a code's, a refresh
    /// token's) for the requested resources within the grant's (RFC 8707
    /// §2.2), with `scope` narrowed to what applies to them, expiring with
    /// its lifetime or the grant, whichever is first: its plaintext, its
    /// plan and its scope.
    pub(crate) async fn mint_under(
        &self,
        grant: &GrantRecord,
        scope: &Scope,
    ) -> Result<(String, PlannedToken, Scope), TokenError> {
        let audience = self
            .audiences
            .audience(self.requested_resources, &grant.resources)
            .map_err(target_error)?;
        let scope = self.audiences.token_scope(&audience, scope);
        let minter = self.minter();
        let expires_at = (self.now + minter.lifetime(&audience)).min(grant.expires_at);
        let details = self.narrowed_details();
        let (token, planned) = minter
            .mint(
                grant.subject.as_ref(),
                &scope,
                &audience,
                details.as_ref().unwrap_or(&grant.authorization_details),
                expires_at,
            )
            .await?;
        Ok((token, planned.with_authorization_details(details), scope))
    }

    /// Adds an ID token to `response` (OpenID Connect Core 1.0 §3.1.3.3,
    /// §12.2) when the server is an OpenID Provider, `grant` was made by an
    /// OpenID Connect request, and `scope` — the tokens' — still includes
    /// `openid`. `with_nonce` on the code's response, not on a refresh. If
    /// no ID token can be made, the grant is revoked with the tokens just
    /// stored.
    pub(crate) async fn with_id_token(
        &self,
        response: TokenResponse,
        grant: &GrantRecord,
        scope: &Scope,
        with_nonce: bool,
    ) -> Result<TokenResponse, TokenError> {
        let (Some(provider), Some(openid), Some(subject)) =
            (self.openid, grant.openid.as_deref(), grant.subject.as_ref())
        else {
            return Ok(response);
        };
        if !scope.contains("openid") {
            return Ok(response);
        }
        let grant_id = grant.id.to_string();
        let request = IdTokenRequest {
            issuer: self.issuer,
            client: self.client.client(),
            subject: subject.as_str(),
            grant: openid,
            scope,
            with_nonce,
            access_token: Some(response.access_token().expose_secret()),
            grant_id: Some(&grant_id),
            now: self.now,
        };
        match provider.id_token(request).await {
            Ok(id_token) => Ok(response.with_id_token(id_token)),
            Err(e) => {
                // The tokens are stored, but the client will never see
                // them: they go with their grant, and the client can start
                // again.
                self.tokens().revoke_grant(&grant.id).await?;
                Err(match e {
                    IdentityError::Signing(e) => TokenError::Signing(e),
                    IdentityError::Claims(e) => TokenError::Claims(e),
                    IdentityError::UnknownSubject => {
                        TokenError::InvalidGrant("the end-user no longer exists".into())
                    }
                })
            }
        }
    }

    /// What mints this request's access tokens.
    pub(crate) fn minter(&self) -> Minter<'a> {
        Minter {
            audiences: self.audiences,
            issuer: self.issuer,
            client_id: self.client.id(),
            now: self.now,
            default_lifetime: self.lifetimes.access_token,
            confirmation: self.confirmation,
        }
    }

    /// The grant store's lookups and revocations a grant may need: finding
    /// an access or refresh token presented in the request, revoking a grant.
    pub fn tokens(&self) -> Tokens<'a> {
        Tokens(self.stores)
    }

    /// Whether tokens issued now come with a refresh token: the server serves
    /// the `refresh_token` grant and the client is registered for it.
    pub fn refresh_tokens_allowed(&self) -> bool {
        self.serves_refresh && self.client.client().allows_grant("refresh_token")
    }

    /// What builds this request's token responses.
    pub(crate) fn responder(&self) -> Responder<'a> {
        Responder {
            now: self.now,
            requested_scope: self.requested_scope,
            dpop: self
                .confirmation
                .is_some_and(|c| c.jwk_thumbprint().is_some()),
        }
    }

    /// An access token planned now, to expire after the access-token
    /// lifetime, with the plaintext the response carries.
    pub(crate) fn plan_access_token(&self) -> (String, PlannedToken) {
        let (token, hash) = mint(TokenKind::AccessToken);
        (
            token,
            PlannedToken::new(hash, self.now + self.lifetimes.access_token)
                .with_confirmation(self.confirmation.cloned()),
        )
    }

    /// A refresh token planned now, if
    /// [`refresh_tokens_allowed`](Self::refresh_tokens_allowed), to expire
    /// after the idle lifetime.
    pub(crate) fn plan_refresh_token(&self) -> Option<(String, PlannedToken)> {
        self.refresh_tokens_allowed().then(|| {
            let (token, hash) = mint(TokenKind::RefreshToken);
            let expires = self.now + self.lifetimes.refresh_token_idle;
            let planned =
                PlannedToken::new(hash, expires).with_confirmation(self.refresh_confirmation());
            (token, planned)
        })
    }

    /// When a grant made now ends: a grant with a refresh token lives its
    /// absolute lifetime; one without lives as long as its only token.
    pub(crate) fn grant_expiry(&self, with_refresh: bool) -> SystemTime {
        self.now
            + if with_refresh {
                self.lifetimes.grant
            } else {
                self.lifetimes.access_token
            }
    }

    /// Issues an access token under a new grant and builds the response.
    ///
    /// The token is minted here, stored only as its hash together with its grant
    /// (one atomic store operation), and its plaintext exists only in the
    /// returned response. `scope` is included in the response when it differs
    /// from the requested scope (RFC 6749 §5.1).
    ///
    /// The future holds nothing borrowed from `self`, only what the context
    /// borrows for `'a` (the stores, the server's audiences).
    ///
    /// With `resource` in the request (RFC 8707), the grant is authorized
    /// for those resources and the access token is restricted to them: its
    /// scope narrowed to the scopes that apply to them, and an RFC 9068 JWT
    /// when one of them asks for JWTs. A resource none of whose scopes was
    /// requested is `invalid_target`.
    pub fn issue(
        &self,
        issue: Issue,
    ) -> impl Future<Output = Result<TokenResponse, TokenError>> + Send + use<'a> {
        let resources = self.requested_resources.clone();
        if let Err(refusal) = self.audiences.check(&resources, &issue.scope) {
            return Issuing::Refused(Some(target_error(refusal)));
        }
        let token_scope = self.audiences.token_scope(&resources, &issue.scope);
        let lifetime = self
            .audiences
            .lifetime(&resources, self.lifetimes.access_token);
        let grant_expires_at = if issue.refresh {
            self.now + self.lifetimes.grant
        } else {
            self.now + lifetime
        };
        let expires_at = (self.now + lifetime).min(grant_expires_at);
        let plan = Plan {
            stores: self.stores,
            now: self.now,
            respond: self.responder(),
            client_id: self.client.id().clone(),
            refresh_lifetime: self.lifetimes.refresh_token_idle,
            grant_expires_at,
            token_scope,
            resources,
            details: self.requested_details.clone(),
            issue,
            refresh_cnf: self.refresh_confirmation(),
        };
        if self.audiences.format(&plan.resources) == TokenFormat::Opaque {
            // The common path: minted and handed to the store now, so the
            // future is the store's and the response, nothing more.
            let (token, hash) = mint(TokenKind::AccessToken);
            let planned = PlannedToken::new(hash, expires_at)
                .with_audience(plan.resources.clone())
                .with_confirmation(self.confirmation.cloned());
            let (stored, response) = plan.store(token, planned);
            return Issuing::Storing {
                stored,
                response: Some(response),
            };
        }
        // A JWT is signed first (the host's signer may be remote).
        let minter = self.minter();
        Issuing::Signing(Box::pin(async move {
            let (token, planned) = minter
                .mint(
                    plan.issue.subject.as_ref(),
                    &plan.token_scope,
                    &plan.resources,
                    &plan.details,
                    expires_at,
                )
                .await?;
            let (stored, response) = plan.store(token, planned);
            stored.await?;
            Ok(response)
        }))
    }
}

/// What [`GrantContext::issue`] stores once its access token is minted.
struct Plan<'a> {
    stores: &'a Stores,
    now: SystemTime,
    respond: Responder<'a>,
    client_id: ClientId,
    refresh_lifetime: std::time::Duration,
    grant_expires_at: SystemTime,
    token_scope: Scope,
    resources: ResourceSet,
    details: AuthorizationDetails,
    issue: Issue,
    /// A public client's refresh token's binding (RFC 9449 §5).
    refresh_cnf: Option<Confirmation>,
}

impl<'a> Plan<'a> {
    /// The new grant with `access_token` (and a refresh token if asked),
    /// handed to the store; returns the store's future and the response.
    fn store(
        self,
        access_token: String,
        planned: PlannedToken,
    ) -> (BoxFuture<'a, Result<(), StoreError>>, TokenResponse) {
        let Plan {
            stores,
            now,
            respond,
            client_id,
            refresh_lifetime,
            grant_expires_at,
            token_scope,
            resources,
            details,
            issue,
            refresh_cnf,
        } = self;
        let grant = GrantRecord {
            id: stores.grants.grant_id_for(&planned.hash),
            client_id,
            subject: issue.subject,
            scope: issue.scope.clone(),
            resources,
            authorization_details: details,
            openid: None,
            created_at: now,
            expires_at: grant_expires_at,
        };
        let access = planned.access_record(&grant, token_scope.clone(), now);
        let refresh = issue.refresh.then(|| {
            let (token, hash) = mint(TokenKind::RefreshToken);
            let planned =
                PlannedToken::new(hash, now + refresh_lifetime).with_confirmation(refresh_cnf);
            (token, planned.refresh_record(&grant, issue.scope, now))
        });
        let (refresh_token, refresh) = refresh.unzip();
        let response = respond.response(access_token, access.expires_at, refresh_token);
        let response = respond.with_scope_if_differs(response, token_scope);
        let response = with_details(response, &grant.authorization_details);
        let mut new = NewGrant::with_access_token(grant, access);
        if let Some(refresh) = refresh {
            new = new.and_refresh_token(refresh);
        }
        (stores.grants.create_grant(new), response)
    }
}

/// The future [`GrantContext::issue`] returns: a refusal, the store's
/// future with the response it will give, or — for a JWT — the signing
/// and then the store, boxed.
enum Issuing<'a> {
    Refused(Option<TokenError>),
    Storing {
        stored: BoxFuture<'a, Result<(), StoreError>>,
        response: Option<TokenResponse>,
    },
    Signing(BoxFuture<'a, Result<TokenResponse, TokenError>>),
}

impl Future for Issuing<'_> {
    type Output = Result<TokenResponse, TokenError>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        use std::task::Poll;
        // Every variant is `Unpin` (its futures are boxed).
        match self.get_mut() {
            Issuing::Refused(error) => Poll::Ready(Err(error.take().unwrap_or(
                TokenError::Request(RequestError::Storage(StoreError::backend(
                    "a token request's future was polled after it finished",
                ))),
            ))),
            Issuing::Storing { stored, response } => match stored.as_mut().poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Err(e)) => Poll::Ready(Err(e.into())),
                Poll::Ready(Ok(())) => Poll::Ready(response.take().ok_or(TokenError::Request(
                    RequestError::Storage(StoreError::backend(
                        "a token request's future was polled after it finished",
                    )),
                ))),
            },
            Issuing::Signing(signing) => signing.as_mut().poll(cx),
        }
    }
}

/// `invalid_target`, described.
pub(crate) fn target_error(refusal: TargetRefusal) -> TokenError {
    TokenError::InvalidTarget(refusal.description())
}

/// Mints the access tokens of one request: opaque, or RFC 9068 JWTs for an
/// audience that asks for them.
#[derive(Clone, Copy)]
pub(crate) struct Minter<'a> {
    pub(crate) audiences: &'a Audiences,
    issuer: &'a str,
    client_id: &'a ClientId,
    now: SystemTime,
    default_lifetime: std::time::Duration,
    confirmation: Option<&'a Confirmation>,
}

impl Minter<'_> {
    /// How long a token for `audience` lives.
    pub(crate) fn lifetime(&self, audience: &ResourceSet) -> std::time::Duration {
        self.audiences.lifetime(audience, self.default_lifetime)
    }

    /// An access token for `audience` with `scope` (and `authorization_details`,
    /// RFC 9396 §9.1, in a JWT), expiring at
    /// `expires_at` (already capped by its grant's expiry, so that a JWT's
    /// `exp` is the stored record's): its plaintext and its plan. A JWT is
    /// stored by its hash too, so it introspects and revokes like an opaque
    /// token.
    pub(crate) async fn mint(
        &self,
        subject: Option<&Subject>,
        scope: &Scope,
        audience: &ResourceSet,
        authorization_details: &AuthorizationDetails,
        expires_at: SystemTime,
    ) -> Result<(String, PlannedToken), TokenError> {
        self.mint_acting(
            subject,
            scope,
            audience,
            authorization_details,
            expires_at,
            None,
        )
        .await
    }

    /// [`mint`](Self::mint), for a token whose JWT form carries `act`
    /// (RFC 8693 §4.1) when it is issued by delegation.
    pub(crate) async fn mint_acting(
        &self,
        subject: Option<&Subject>,
        scope: &Scope,
        audience: &ResourceSet,
        authorization_details: &AuthorizationDetails,
        expires_at: SystemTime,
        act: Option<&Actor>,
    ) -> Result<(String, PlannedToken), TokenError> {
        let (token, hash) = match self.audiences.format(audience) {
            TokenFormat::Jwt => {
                // The builder refuses JWT resources without a signing key;
                // a key removed since is a server error.
                let signer = self
                    .audiences
                    .access_token_alg()
                    .and_then(|alg| self.audiences.keys().active(alg))
                    .ok_or_else(|| {
                        TokenError::Signing(crate::jose::SigningError::new(
                            "no active key for JWT access tokens",
                        ))
                    })?;
                let claims = AccessTokenClaims {
                    issuer: self.issuer,
                    client_id: self.client_id,
                    subject,
                    audience,
                    scope,
                    issued_at: self.now,
                    expires_at,
                    authorization_details,
                    act,
                    cnf: self.confirmation,
                };
                let jwt = jwt_access_token::sign(signer.as_ref(), claims)
                    .await
                    .map_err(TokenError::Signing)?;
                let hash = TokenHash::of(&jwt);
                (jwt, hash)
            }
            _ => mint(TokenKind::AccessToken),
        };
        let planned = PlannedToken::new(hash, expires_at)
            .with_audience(audience.clone())
            .with_confirmation(self.confirmation.cloned());
        Ok((token, planned))
    }
}

/// Builds the token responses of one request.
#[derive(Clone, Copy)]
pub(crate) struct Responder<'a> {
    now: SystemTime,
    requested_scope: Option<&'a Scope>,
    /// Whether the access token is DPoP-bound (`token_type: DPoP`, RFC
    /// 9449 §5).
    dpop: bool,
}

impl Responder<'_> {
    /// A token response (RFC 6749 §5.1; RFC 9449 §5 when bound) for an access token expiring
    /// at `expires_at`, with a refresh token if given.
    pub(crate) fn response(
        self,
        access_token: String,
        expires_at: SystemTime,
        refresh_token: Option<String>,
    ) -> TokenResponse {
        let lifetime = expires_at.duration_since(self.now).unwrap_or_default();
        let access_token = AccessToken::new(access_token);
        let response = if self.dpop {
            TokenResponse::dpop(access_token)
        } else {
            TokenResponse::bearer(access_token)
        }
        .with_expires_in(lifetime);
        match refresh_token {
            Some(token) => response.with_refresh_token(RefreshToken::new(token)),
            None => response,
        }
    }

    /// `scope` goes in the response when it differs from the request's
    /// (RFC 6749 §5.1).
    pub(crate) fn with_scope_if_differs(
        self,
        response: TokenResponse,
        scope: Scope,
    ) -> TokenResponse {
        let differs = match self.requested_scope {
            Some(requested) => *requested != scope,
            None => !scope.is_empty(),
        };
        if differs {
            response.with_scope(scope)
        } else {
            response
        }
    }
}

/// The security event of a replayed code or reused refresh token, whose
/// grant the store has revoked (RFC 6819 §5.2.1.1, RFC 9700 §4.14.2).
pub(crate) fn report_replay(event: &'static str, client_id: &ClientId, grant_id: &GrantId) {
    tracing::warn!(
        target: "portcullis::security",
        event,
        client_id = %client_id,
        grant_id = %grant_id,
    );
    tracing::info!(target: "portcullis::security", event = "grant_revoked", grant_id = %grant_id);
}

/// The answer to a refused redemption or rotation of a `what` ("authorization
/// code", "refresh token"). Another client's code or token gets the answer
/// an unknown one gets, so its owner is not revealed (RFC 6749 §4.1.3).
pub(crate) fn refusal_error(refusal: Refusal, what: &'static str) -> TokenError {
    let why: &'static str = match (refusal, what) {
        (Refusal::ScopeWidened, _) => {
            return TokenError::InvalidScope("a refresh cannot widen the scope");
        }
        (Refusal::WrongKey, _) => {
            // RFC 9449 §10: a code bound by `dpop_jkt`, or a bound refresh
            // token, without its key.
            return TokenError::InvalidDpopProof(crate::protocol::DpopError::WrongKey);
        }
        (Refusal::RedirectUriMismatch, _) => {
            "redirect_uri does not match the authorization request"
        }
        (Refusal::RedirectUriMissing, _) => {
            "redirect_uri is required: the authorization request had one"
        }
        (Refusal::VerifierMissing, _) => "code_verifier is required",
        (Refusal::VerifierMismatch, _) => "code_verifier does not match the code_challenge",
        (Refusal::VerifierUnexpected, _) => {
            "code_verifier sent for a code issued without a challenge"
        }
        (Refusal::Expired, "refresh token") => "the refresh token expired",
        (Refusal::Expired, _) => "the authorization code expired",
        (Refusal::Replayed, "refresh token") => "the refresh token was already used",
        (Refusal::OtherClient, "refresh token") => "invalid refresh token",
        (Refusal::OtherClient | Refusal::Replayed, _) => "invalid authorization code",
    };
    TokenError::InvalidGrant(why.into())
}

/// What to issue under a new grant.
#[derive(Debug, Clone)]
#[must_use]
pub struct Issue {
    subject: Option<Subject>,
    scope: Scope,
    refresh: bool,
}

impl Issue {
    /// Tokens for the client acting on its own behalf (RFC 6749 §4.4).
    pub fn for_client(scope: Scope) -> Self {
        Self {
            subject: None,
            scope,
            refresh: false,
        }
    }

    /// Tokens for a resource owner's authorization of the client.
    pub fn for_subject(subject: Subject, scope: Scope) -> Self {
        Self {
            subject: Some(subject),
            scope,
            refresh: false,
        }
    }

    /// Also issue a refresh token (callers check
    /// [`GrantContext::refresh_tokens_allowed`]).
    pub fn with_refresh_token(mut self) -> Self {
        self.refresh = true;
        self
    }
}

/// The grant store, as grant handlers use it.
#[derive(Clone, Copy)]
pub struct Tokens<'a>(&'a Stores);

impl fmt::Debug for Tokens<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tokens")
    }
}

impl Tokens<'_> {
    /// The access token with this hash and its grant (see
    /// [`GrantStore::find_access_token`](crate::store::GrantStore::find_access_token));
    /// expiry is the caller's to check.
    pub async fn find_access_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError> {
        self.0.grants.find_access_token(hash).await
    }

    /// The refresh token, its grant, and whether it is still current.
    pub async fn find_refresh_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<FoundRefreshToken>, StoreError> {
        self.0.grants.find_refresh_token(hash).await
    }

    /// The response to a replayed credential of an extension grant (RFC
    /// 6819 §5.2.1.1, RFC 9700 §4.14.2): a security event named `event`,
    /// then the grant revoked with everything derived from it.
    pub async fn revoke_on_replay(
        &self,
        event: &'static str,
        client_id: &ClientId,
        grant_id: &GrantId,
    ) -> Result<bool, StoreError> {
        report_replay(event, client_id, grant_id);
        self.0.grants.revoke_grant(grant_id).await
    }

    /// Revokes a grant and everything derived from it.
    pub async fn revoke_grant(&self, id: &GrantId) -> Result<bool, StoreError> {
        tracing::info!(target: "portcullis::security", event = "grant_revoked", grant_id = %id);
        self.0.grants.revoke_grant(id).await
    }
}
