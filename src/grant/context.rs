//! What a grant handler is given, and how it issues tokens.

use std::fmt;
use std::future::Future;
use std::time::SystemTime;

use crate::client::{AuthenticatedClient, ClientId};
use crate::grant::{RequestError, TokenError};
use crate::protocol::CodeVerifier;
use crate::protocol::GrantType;
use crate::protocol::{Params, Scope, TokenResponse};
use crate::server::ServerInner;
use crate::store::erased::TokenStoreHandle;
use crate::store::redemption::Refusal;
use crate::store::{
    AccessTokenRecord, CodeRedemption, FoundCode, FoundRefreshToken, GrantId, GrantRecord,
    NewGrant, PlannedToken, Redemption, RefreshRotation, RefreshTokenRecord, Rotation, StoreError,
    Subject,
};
use crate::store::{DeviceCollection, DeviceStatus, PolledDeviceCode};
use crate::token::{AccessToken, RefreshToken, TokenHash, TokenKind, mint};

/// One token request, as a grant handler sees it.
#[derive(Debug)]
pub struct GrantContext<'a> {
    pub(crate) server: &'a ServerInner,
    pub(crate) client: &'a AuthenticatedClient,
    pub(crate) params: &'a Params<'a>,
    pub(crate) requested_scope: Option<&'a Scope>,
    pub(crate) now: SystemTime,
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

    /// The token store's operations a grant needs: redeeming codes, finding
    /// and rotating refresh tokens, revoking grants.
    pub fn tokens(&self) -> Tokens<'a> {
        Tokens(&self.server.tokens)
    }

    /// Whether tokens issued now come with a refresh token: the server serves
    /// the `refresh_token` grant and the client is registered for it.
    pub fn refresh_tokens_allowed(&self) -> bool {
        let refresh = GrantType::REFRESH_TOKEN;
        self.client.client().allows_grant(refresh.as_str()) && self.server.serves(&refresh)
    }

    /// What builds this request's token responses.
    fn responder(&self) -> Responder<'a> {
        Responder {
            now: self.now,
            requested_scope: self.requested_scope,
        }
    }

    /// A new access token with `scope`, and a refresh token with
    /// `refresh_scope` if given, under `grant`; neither outlives the grant.
    ///
    /// `access` is the access token when the caller minted it already (a new
    /// grant's id derives from its hash).
    fn mint_tokens(
        &self,
        grant: &GrantRecord,
        scope: &Scope,
        refresh_scope: Option<&Scope>,
        access: (String, TokenHash),
    ) -> (TokenResponse, AccessTokenRecord, Option<RefreshTokenRecord>) {
        let (token, hash) = access;
        let lifetimes = &self.server.lifetimes;
        let access = PlannedToken::new(hash, self.now + lifetimes.access_token).access_record(
            grant,
            scope.clone(),
            self.now,
        );
        let (refresh_token, refresh) = match refresh_scope {
            Some(refresh_scope) => {
                let (token, hash) = mint(TokenKind::RefreshToken);
                let planned = PlannedToken::new(hash, self.now + lifetimes.refresh_token_idle);
                let record = planned.refresh_record(grant, refresh_scope.clone(), self.now);
                (Some(token), Some(record))
            }
            None => (None, None),
        };
        let response = self
            .responder()
            .response(token, access.expires_at, refresh_token);
        (response, access, refresh)
    }

    /// Redeems the authorization code whose hash is `code_hash` (RFC 6749
    /// §4.1.3), issuing an access token — and a refresh token if
    /// [`refresh_tokens_allowed`](Self::refresh_tokens_allowed) — with its
    /// grant's scope.
    ///
    /// The checks of [`CodeRedemption`] (client, `redirect_uri` and PKCE
    /// binding, replay, expiry), the redemption and the new tokens are one
    /// atomic store operation: one round trip to a database. A replay — or a
    /// race lost to a concurrent redemption — revokes the grant, the winner's
    /// tokens with it (RFC 6819 §5.2.1.1). A request that fails a check gets
    /// `invalid_grant` and leaves the code redeemable.
    pub fn redeem_code(
        &self,
        code_hash: TokenHash,
        redirect_uri: Option<&str>,
        code_verifier: Option<CodeVerifier>,
    ) -> impl Future<Output = Result<TokenResponse, TokenError>> + Send + use<'a> {
        let lifetimes = &self.server.lifetimes;
        let (access_token, access_hash) = mint(TokenKind::AccessToken);
        let refresh = self
            .refresh_tokens_allowed()
            .then(|| mint(TokenKind::RefreshToken));
        let redemption = CodeRedemption::new(
            self.client.id().clone(),
            self.now,
            PlannedToken::new(access_hash, self.now + lifetimes.access_token),
            refresh
                .as_ref()
                .map(|(_, hash)| PlannedToken::new(*hash, self.now + lifetimes.refresh_token_idle)),
        )
        .redirect_uri(redirect_uri)
        .code_verifier(code_verifier);
        let respond = self.responder();
        let tokens = self.tokens();
        async move {
            let invalid = || TokenError::InvalidGrant("invalid authorization code".into());
            match tokens.redeem_code(&code_hash, &redemption).await? {
                Redemption::Redeemed(found) => {
                    let grant = &found.grant;
                    let expires_at = redemption.access_token.expires_under(grant);
                    let response =
                        respond.response(access_token, expires_at, refresh.map(|(token, _)| token));
                    Ok(respond.with_scope_if_differs(response, grant.scope.clone()))
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
    }

    /// Rotates the refresh token whose hash is `old` (RFC 6749 §6, RFC 9700
    /// §4.14.2): a new access token with the requested scope (or the old
    /// token's), and a new refresh token with exactly the old one's scope.
    ///
    /// The checks of [`RefreshRotation`] (client binding, reuse, expiry,
    /// scope), the compare-and-swap and the new tokens are one atomic store
    /// operation: one round trip to a database. A reuse — or a race lost to a
    /// concurrent refresh with the same token — revokes the whole grant.
    pub fn rotate(
        &self,
        old: TokenHash,
    ) -> impl Future<Output = Result<TokenResponse, TokenError>> + Send + use<'a> {
        let lifetimes = &self.server.lifetimes;
        let (access_token, access_hash) = mint(TokenKind::AccessToken);
        let (refresh_token, refresh_hash) = mint(TokenKind::RefreshToken);
        let rotation = RefreshRotation::new(
            self.client.id().clone(),
            self.requested_scope.cloned(),
            self.now,
            PlannedToken::new(refresh_hash, self.now + lifetimes.refresh_token_idle),
            PlannedToken::new(access_hash, self.now + lifetimes.access_token),
        );
        let respond = self.responder();
        let tokens = self.tokens();
        async move {
            match tokens.rotate_refresh_token(&old, &rotation).await? {
                Rotation::Rotated(found) => {
                    let expires_at = rotation.access_token.expires_under(&found.grant);
                    let response = respond.response(access_token, expires_at, Some(refresh_token));
                    let scope = rotation.access_scope(&found.record.scope).clone();
                    Ok(respond.with_scope_if_differs(response, scope))
                }
                Rotation::Revoked(grant_id) => {
                    report_replay("refresh_token_reuse", &rotation.client_id, &grant_id);
                    Err(TokenError::InvalidGrant(
                        "the refresh token was already used".into(),
                    ))
                }
                Rotation::Refused(Some(found)) => Err(match rotation.check(&found) {
                    Err(refusal) => refusal_error(refusal, "refresh token"),
                    Ok(()) => TokenError::InvalidGrant("invalid refresh token".into()),
                }),
                _ => Err(TokenError::InvalidGrant("invalid refresh token".into())),
            }
        }
    }

    /// Issues an access token under a new grant and builds the response.
    ///
    /// The token is minted here, stored only as its hash together with its grant
    /// (one atomic store operation), and its plaintext exists only in the
    /// returned response. `scope` is included in the response when it differs
    /// from the requested scope (RFC 6749 §5.1).
    ///
    /// All the work happens before the future is returned — with the bundled
    /// memory store, the store call too; a host's store is called when the
    /// future is first polled — so the future is small and holds nothing
    /// borrowed from `self`.
    pub fn issue(
        &self,
        issue: Issue,
    ) -> impl Future<Output = Result<TokenResponse, TokenError>> + Send + use<'a> {
        let lifetimes = &self.server.lifetimes;
        let (token, hash) = mint(TokenKind::AccessToken);
        let grant = GrantRecord {
            id: GrantId::generate_for(&hash),
            client_id: self.client.id().clone(),
            subject: issue.subject,
            scope: issue.scope.clone(),
            created_at: self.now,
            // A grant with a refresh token lives its absolute lifetime; one
            // without lives as long as its only token.
            expires_at: self.now
                + if issue.refresh {
                    lifetimes.grant
                } else {
                    lifetimes.access_token
                },
        };
        let refresh_scope = issue.refresh.then_some(&issue.scope);
        let (response, access, refresh) =
            self.mint_tokens(&grant, &issue.scope, refresh_scope, (token, hash));
        let response = self
            .responder()
            .with_scope_if_differs(response, issue.scope);
        let mut new = NewGrant::with_access_token(grant, access);
        if let Some(refresh) = refresh {
            new = new.and_refresh_token(refresh);
        }
        let stored = self.server.tokens.create_grant(new);
        async move {
            stored.await?;
            Ok(response)
        }
    }

    /// Polls with the device code whose hash is `device_code_hash` (RFC 8628
    /// §3.4, §3.5): records the poll and, if the device authorization is
    /// approved, collects it — a new grant for the approving user with the
    /// approved scope, an access token, and a refresh token if
    /// [`refresh_tokens_allowed`](Self::refresh_tokens_allowed) — in one
    /// atomic store operation: one round trip to a database. A poll with an
    /// already redeemed device code is a replay: the store revokes its grant,
    /// and the security event is reported here.
    ///
    /// Returns the poll as the store reports it, with the token response
    /// when this poll collected; `None` when the device code is unknown or
    /// another client's. `scope` is in the response unless both it and the
    /// scope asked for are empty: the client asked at the device
    /// authorization endpoint, not in this request, so it learns here what it
    /// got (RFC 6749 §5.1).
    pub fn poll_device_code(
        &self,
        device_code_hash: TokenHash,
    ) -> impl Future<Output = Result<Option<(PolledDeviceCode, Option<TokenResponse>)>, TokenError>>
    + Send
    + use<'a> {
        let lifetimes = &self.server.lifetimes;
        let refresh = self
            .refresh_tokens_allowed()
            .then(|| mint(TokenKind::RefreshToken));
        let (access_token, access_hash) = mint(TokenKind::AccessToken);
        let collection = DeviceCollection::new(
            GrantId::generate_for(&access_hash),
            // A grant with a refresh token lives its absolute lifetime; one
            // without lives as long as its only token.
            self.now
                + if refresh.is_some() {
                    lifetimes.grant
                } else {
                    lifetimes.access_token
                },
            PlannedToken::new(access_hash, self.now + lifetimes.access_token),
            refresh
                .as_ref()
                .map(|(_, hash)| PlannedToken::new(*hash, self.now + lifetimes.refresh_token_idle)),
        );
        let (client_id, now) = (self.client.id(), self.now);
        let respond = self.responder();
        let tokens = self.tokens();
        async move {
            let Some(polled) = tokens
                .poll_device_code(&device_code_hash, client_id, now, &collection)
                .await?
            else {
                return Ok(None);
            };
            let response = match (&polled.collected, &polled.record.status) {
                (Some(grant), _) => {
                    let expires_at = collection.access_token.expires_under(grant);
                    let response =
                        respond.response(access_token, expires_at, refresh.map(|(token, _)| token));
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
    }
}

/// Builds the token responses of one request.
#[derive(Clone, Copy)]
struct Responder<'a> {
    now: SystemTime,
    requested_scope: Option<&'a Scope>,
}

impl Responder<'_> {
    /// A bearer token response (RFC 6749 §5.1) for an access token expiring
    /// at `expires_at`, with a refresh token if given.
    fn response(
        self,
        access_token: String,
        expires_at: SystemTime,
        refresh_token: Option<String>,
    ) -> TokenResponse {
        let lifetime = expires_at.duration_since(self.now).unwrap_or_default();
        let response =
            TokenResponse::bearer(AccessToken::new(access_token)).with_expires_in(lifetime);
        match refresh_token {
            Some(token) => response.with_refresh_token(RefreshToken::new(token)),
            None => response,
        }
    }

    /// `scope` goes in the response when it differs from the request's
    /// (RFC 6749 §5.1).
    fn with_scope_if_differs(self, response: TokenResponse, scope: Scope) -> TokenResponse {
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
fn report_replay(event: &'static str, client_id: &ClientId, grant_id: &GrantId) {
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
fn refusal_error(refusal: Refusal, what: &'static str) -> TokenError {
    let why: &'static str = match (refusal, what) {
        (Refusal::ScopeWidened, _) => {
            return TokenError::InvalidScope("a refresh cannot widen the scope");
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

/// The token store, as grant handlers use it.
#[derive(Clone, Copy)]
pub struct Tokens<'a>(&'a TokenStoreHandle);

impl fmt::Debug for Tokens<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tokens")
    }
}

impl<'a> Tokens<'a> {
    /// The authorization code, its grant, and whether it was redeemed.
    pub async fn find_code(&self, hash: &TokenHash) -> Result<Option<FoundCode>, StoreError> {
        self.0.find_code(hash).await
    }

    /// The refresh token, its grant, and whether it is still current.
    pub async fn find_refresh_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<FoundRefreshToken>, StoreError> {
        self.0.find_refresh_token(hash).await
    }

    /// Redeems an authorization code (see
    /// [`TokenStore::redeem_code`](crate::store::TokenStore::redeem_code)).
    pub async fn redeem_code(
        &self,
        hash: &TokenHash,
        redemption: &CodeRedemption,
    ) -> Result<Redemption, StoreError> {
        self.0.redeem_code(hash, redemption).await
    }

    /// Rotates a refresh token (see
    /// [`TokenStore::rotate_refresh_token`](crate::store::TokenStore::rotate_refresh_token)).
    pub async fn rotate_refresh_token(
        &self,
        old: &TokenHash,
        rotation: &RefreshRotation,
    ) -> Result<Rotation, StoreError> {
        self.0.rotate_refresh_token(old, rotation).await
    }

    /// The response to a replayed code or reused refresh token (RFC 6819
    /// §5.2.1.1, RFC 9700 §4.14.2): a security event named `event`, then the
    /// grant revoked with everything derived from it.
    pub async fn revoke_on_replay(
        &self,
        event: &'static str,
        client_id: &ClientId,
        grant_id: &GrantId,
    ) -> Result<bool, StoreError> {
        report_replay(event, client_id, grant_id);
        self.0.revoke_grant(grant_id).await
    }

    /// Revokes a grant and everything derived from it.
    pub async fn revoke_grant(&self, id: &GrantId) -> Result<bool, StoreError> {
        tracing::info!(target: "portcullis::security", event = "grant_revoked", grant_id = %id);
        self.0.revoke_grant(id).await
    }

    /// Records a poll with a device code (see
    /// [`TokenStore::poll_device_code`](crate::store::TokenStore::poll_device_code)).
    pub async fn poll_device_code(
        &self,
        device_code_hash: &TokenHash,
        client_id: &ClientId,
        now: SystemTime,
        collection: &DeviceCollection,
    ) -> Result<Option<PolledDeviceCode>, StoreError> {
        self.0
            .poll_device_code(device_code_hash, client_id, now, collection)
            .await
    }
}
