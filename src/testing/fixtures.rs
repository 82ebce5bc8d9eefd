//! The records the cases store, and the helpers they share.
//!
//! Times are whole seconds near the wall clock: a store must keep at least
//! that precision, and one that compares with its own clock sees realistic
//! values. Hashes are fresh random digests, as the server's are.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::runtime::Handle;
use tokio::sync::Barrier;

use crate::client::{Client, ClientId, ClientRegistration};
use crate::protocol::openid::{ClaimsRequest, OpenIdParams};
use crate::protocol::{
    AuthorizationDetails, CodeChallenge, CodeVerifier, GrantType, Params, ResourceIndicator,
    ResourceSet, Scope,
};
use crate::store::{
    AccessTokenRecord, AuthorizationCodeRecord, AuthorizationCodeStore, CodeRedemption,
    DeviceAuthorizationRecord, DeviceStatus, FoundCode, FoundRefreshToken, GrantId, GrantRecord,
    GrantStore, IdTokenHint, NewCodeGrant, NewGrant, OpenIdGrant, OpenIdRequest,
    PendingAuthorizationRecord, PlannedToken, Redemption, RefreshRotation, RefreshTokenRecord,
    ResponseMode, ResponseType, Rotation, StoreError, Subject,
};
use crate::token::{TokenHash, TokenKind, mint};

/// How many tasks each concurrency case starts at once.
pub(crate) const RACERS: usize = 32;

/// How many times each race is run.
pub(crate) const ROUNDS: usize = 8;

pub(crate) const SECOND: Duration = Duration::from_secs(1);
pub(crate) const MINUTE: Duration = Duration::from_secs(60);
pub(crate) const HOUR: Duration = Duration::from_secs(3600);
pub(crate) const DAY: Duration = Duration::from_secs(86_400);

/// A PKCE S256 challenge (RFC 7636 Appendix B). Also a well-formed
/// verifier, and a well-formed `plain` challenge: a store that confuses the
/// methods accepts one for the other.
pub(crate) const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// The verifier [`CHALLENGE`] was derived from (RFC 7636 Appendix B).
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// A well-formed verifier that answers neither.
pub(crate) const WRONG_VERIFIER: &str = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub(crate) const REDIRECT_URI: &str = "https://client.example/callback";

/// The store's answer, or a panic naming the operation that failed.
pub(crate) fn ok<T>(result: Result<T, StoreError>, operation: &str) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!(
            "{operation} failed with {error:?}; a store must not fail on valid input, \
             nor under contention (retry serialisation failures and busy databases inside)"
        ),
    }
}

/// Now, to the whole second.
pub(crate) fn now() -> SystemTime {
    let seconds = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

pub(crate) fn scope(scope: &str) -> Scope {
    scope.parse().unwrap()
}

/// A fresh random hash, as of a minted token.
pub(crate) fn hash() -> TokenHash {
    mint(TokenKind::AccessToken).1
}

/// A confidential client with a secret and a full registration.
pub(crate) fn web_client(id: &str) -> Client {
    ClientRegistration::web_application()
        .client_id(id)
        .name("Conformance client")
        .redirect_uri(REDIRECT_URI)
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .grant_type(GrantType::REFRESH_TOKEN)
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .grant_type(GrantType::DEVICE_CODE)
        .scope(scope("read write admin"))
        .default_scope(scope("read"))
        .register()
        .unwrap()
        .client
}

/// A public client managed with a registration access token (RFC 7592).
pub(crate) fn managed_client(id: &str, token: TokenHash, name: &str) -> Client {
    ClientRegistration::native()
        .client_id(id)
        .name(name)
        .redirect_uri("com.example.app:/callback")
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .scope(scope("read"))
        .registration_access(token, 1_800_000_000)
        .register()
        .unwrap()
        .client
}

/// A client identifier for grants, codes and device authorizations to name.
/// The client is never registered: grant, code and device stores run without
/// a client registry (a host may keep its clients elsewhere), so a store must
/// not require the clients its records name to exist.
pub(crate) fn client_id(id: &str) -> ClientId {
    ClientId::new_unchecked(id)
}

/// A grant to `client` made at `at`, for a user, living a day, with a fresh
/// random id, as the server's.
pub(crate) fn grant(client: &ClientId, at: SystemTime) -> GrantRecord {
    GrantRecord {
        id: GrantId::generate(),
        client_id: client.clone(),
        subject: Some(Subject::new("alice")),
        scope: scope("read write"),
        resources: resources(&[API, "urn:example:other"]),
        authorization_details: AuthorizationDetails::empty(),
        openid: None,
        created_at: at,
        expires_at: at + DAY,
    }
}

/// Authorization details (RFC 9396) with the common fields, nested
/// objects, numbers and text that needs escaping.
pub(crate) fn authorization_details() -> AuthorizationDetails {
    AuthorizationDetails::parse(
        r#"[{"type":"payment_initiation","actions":["initiate","status"],
            "locations":["https://bank.example/payments"],"identifier":"pay-1",
            "instructedAmount":{"currency":"EUR","amount":"123.50"},
            "creditorName":"Merchant A \"ü\" & Co","priority":2},
           {"type":"account_information","datatypes":["balances"],"privileges":[]}]"#,
    )
    .unwrap()
}

/// The resource most fixtures' grants and tokens are for.
pub(crate) const API: &str = "https://api.example/v1";

/// A set of resource indicators.
pub(crate) fn resources(all: &[&str]) -> ResourceSet {
    ResourceSet::new(all.iter().map(|r| ResourceIndicator::new(r).unwrap()))
}

/// An access token of `grant` with hash `hash`, issued at `at`, living ten
/// minutes (never past its grant).
pub(crate) fn access_with(
    grant: &GrantRecord,
    hash: TokenHash,
    at: SystemTime,
) -> AccessTokenRecord {
    AccessTokenRecord {
        hash,
        grant_id: grant.id,
        scope: scope("read"),
        audience: resources(&[API]),
        issued_at: at,
        expires_at: (at + 10 * MINUTE).min(grant.expires_at),
        exchange: None,
        cnf: None,
        authorization_details: AuthorizationDetails::empty(),
    }
}

/// A fresh refresh token of `grant`, issued at `at`, living a few hours.
pub(crate) fn refresh(grant: &GrantRecord, at: SystemTime) -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash: hash(),
        grant_id: grant.id,
        scope: scope("read write"),
        issued_at: at,
        expires_at: (at + 6 * HOUR).min(grant.expires_at),
        cnf: None,
    }
}

/// An authorization code of `grant` with hash `hash`, issued at `at`, living
/// a minute, sent to [`REDIRECT_URI`] named in the authorization request,
/// with the S256 challenge [`CHALLENGE`].
pub(crate) fn code_with(
    grant: &GrantRecord,
    hash: TokenHash,
    at: SystemTime,
) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        hash,
        grant_id: grant.id,
        redirect_uri: Arc::from(REDIRECT_URI),
        redirect_uri_in_request: true,
        challenge: Some(CodeChallenge::parse(CHALLENGE, Some("S256"), false).unwrap()),
        issued_at: at,
        expires_at: at + MINUTE,
        dpop_jkt: None,
    }
}

/// A grant and the first secrets stored with it.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub(crate) grant: GrantRecord,
    pub(crate) access: Option<AccessTokenRecord>,
    pub(crate) refresh: Option<RefreshTokenRecord>,
    pub(crate) code: Option<AuthorizationCodeRecord>,
}

impl Issued {
    /// A grant with an access token (client credentials, implicit).
    pub(crate) fn access(client: &ClientId, at: SystemTime) -> Self {
        let grant = grant(client, at);
        Self {
            access: Some(access_with(&grant, hash(), at)),
            refresh: None,
            code: None,
            grant,
        }
    }

    /// A grant whose only secret is its access token, which has the grant's
    /// scope and lifetime (client credentials, as the server issues it).
    pub(crate) fn single_access(client: &ClientId, at: SystemTime) -> Self {
        let mut grant = grant(client, at);
        grant.subject = None;
        grant.expires_at = at + 10 * MINUTE;
        let mut access = access_with(&grant, hash(), at);
        access.scope = grant.scope.clone();
        Self {
            access: Some(access),
            refresh: None,
            code: None,
            grant,
        }
    }

    /// A grant with an access token and a refresh token (password).
    pub(crate) fn access_and_refresh(client: &ClientId, at: SystemTime) -> Self {
        let mut issued = Self::access(client, at);
        issued.refresh = Some(refresh(&issued.grant, at));
        issued
    }

    /// A grant with its authorization code.
    pub(crate) fn code(client: &ClientId, at: SystemTime) -> Self {
        let grant = grant(client, at);
        Self {
            code: Some(code_with(&grant, hash(), at)),
            access: None,
            refresh: None,
            grant,
        }
    }

    /// The same, with its code changed by `change` (before it is stored).
    pub(crate) fn with_code(mut self, change: impl FnOnce(&mut AuthorizationCodeRecord)) -> Self {
        if let Some(code) = self.code.as_mut() {
            change(code);
        }
        self
    }

    /// The code with its grant, as `find_code` must return it, `redeemed` or
    /// not.
    pub(crate) fn found_code(&self, redeemed: bool) -> FoundCode {
        FoundCode {
            code: self.code.clone().unwrap(),
            grant: self.grant.clone(),
            redeemed,
        }
    }

    /// The grant with its tokens, for `create_grant`.
    pub(crate) fn new_grant(&self) -> NewGrant {
        NewGrant {
            grant: self.grant.clone(),
            access_token: self.access.clone(),
            refresh_token: self.refresh.clone(),
        }
    }

    /// The grant with its code, for `create_code_grant`.
    pub(crate) fn new_code_grant(&self) -> NewCodeGrant {
        NewCodeGrant::new(self.grant.clone(), self.code.clone().unwrap())
    }

    pub(crate) fn access_hash(&self) -> TokenHash {
        self.access.as_ref().unwrap().hash
    }

    pub(crate) fn refresh_hash(&self) -> TokenHash {
        self.refresh.as_ref().unwrap().hash
    }

    pub(crate) fn code_hash(&self) -> TokenHash {
        self.code.as_ref().unwrap().hash
    }

    /// Stores a grant with its tokens with `create_grant`.
    pub(crate) async fn create<S: GrantStore>(self, store: &S) -> Self {
        assert!(
            self.code.is_none(),
            "a grant with a code is stored with create_code"
        );
        let issued = self.identified_by(store);
        ok(store.create_grant(issued.new_grant()).await, "create_grant");
        issued
    }

    /// Stores a grant with its code with `create_code_grant`.
    pub(crate) async fn create_code<S: AuthorizationCodeStore>(self, store: &S) -> Self {
        let issued = self.identified_by(store);
        ok(
            store.create_code_grant(issued.new_code_grant()).await,
            "create_code_grant",
        );
        issued
    }

    /// The same, its grant identified as the server identifies a new grant:
    /// by the store's [`GrantStore::grant_id_for`] its first secret — the
    /// code, or else the access token.
    fn identified_by<S: GrantStore>(mut self, store: &S) -> Self {
        let first = match (&self.code, &self.access) {
            (Some(code), _) => code.hash,
            (None, Some(access)) => access.hash,
            (None, None) => return self,
        };
        let id = store.grant_id_for(&first);
        self.grant.id = id;
        for token in self.access.iter_mut() {
            token.grant_id = id;
        }
        for token in self.refresh.iter_mut() {
            token.grant_id = id;
        }
        for code in self.code.iter_mut() {
            code.grant_id = id;
        }
        self
    }
}

/// A grant with a history: a first access and refresh token — issued with
/// the grant ([`of_tokens`](Self::of_tokens)) or for its redeemed code
/// ([`create`](Self::create)) — then the refresh token rotated once.
#[derive(Debug, Clone)]
pub(crate) struct Lineage {
    pub(crate) issued: Issued,
    pub(crate) first_access: AccessTokenRecord,
    pub(crate) first_refresh: RefreshTokenRecord,
    pub(crate) access: AccessTokenRecord,
    pub(crate) refresh: RefreshTokenRecord,
}

impl Lineage {
    /// A grant made with its code, the code redeemed, the refresh token
    /// rotated once.
    pub(crate) async fn create<S: AuthorizationCodeStore>(
        store: &S,
        client: &ClientId,
        at: SystemTime,
    ) -> Self {
        let issued = Issued::code(client, at).create_code(store).await;
        let grant = &issued.grant;
        let redemption = redemption(client, at);
        let first_access = expected_access(&redemption.access_token, grant, &grant.scope, at);
        let first_refresh = expected_refresh(
            redemption.refresh_token.as_ref().unwrap(),
            grant,
            &grant.scope,
            at,
        );
        let redeemed = redeem(store, &issued.code_hash(), &redemption).await;
        assert!(
            matches!(redeemed, Redemption::Redeemed(_)),
            "redeem_code of a fresh code, with every check passing, must be Redeemed; \
             got {redeemed:?}"
        );
        Self::rotated(store, issued, first_access, first_refresh, client, at).await
    }

    /// A grant made with an access and a refresh token, the refresh token
    /// rotated once: no code, so a [`GrantStore`] alone holds it.
    pub(crate) async fn of_tokens<S: GrantStore>(
        store: &S,
        client: &ClientId,
        at: SystemTime,
    ) -> Self {
        let mut issued = Issued::access_and_refresh(client, at);
        // The tokens a redemption would issue: the grant's scope.
        if let Some(access) = issued.access.as_mut() {
            access.scope = issued.grant.scope.clone();
        }
        let issued = issued.create(store).await;
        let first_access = issued.access.clone().unwrap();
        let first_refresh = issued.refresh.clone().unwrap();
        Self::rotated(store, issued, first_access, first_refresh, client, at).await
    }

    async fn rotated<S: GrantStore>(
        store: &S,
        issued: Issued,
        first_access: AccessTokenRecord,
        first_refresh: RefreshTokenRecord,
        client: &ClientId,
        at: SystemTime,
    ) -> Self {
        let grant = &issued.grant;
        let later = at + MINUTE;
        let rotation = rotation(client, later);
        let access = expected_access(&rotation.access_token, grant, &grant.scope, later);
        let refresh = expected_refresh(&rotation.refresh_token, grant, &grant.scope, later);
        let rotated = rotate(store, &first_refresh.hash, &rotation).await;
        assert!(
            matches!(rotated, Rotation::Rotated(_)),
            "rotate_refresh_token of a current token, with every check passing, must be \
             Rotated; got {rotated:?}"
        );
        Self {
            issued,
            first_access,
            first_refresh,
            access,
            refresh,
        }
    }

    /// Whether any token of the grant is found by any lookup.
    pub(crate) async fn anything_found<S: GrantStore>(&self, store: &S) -> bool {
        access_found(store, &self.first_access.hash).await
            || access_found(store, &self.access.hash).await
            || refresh_found(store, &self.first_refresh.hash)
                .await
                .is_some()
            || refresh_found(store, &self.refresh.hash).await.is_some()
    }

    /// Whether anything of the grant, its code or a token, is found.
    pub(crate) async fn anything_or_code_found<S: AuthorizationCodeStore>(
        &self,
        store: &S,
    ) -> bool {
        code_found(store, &self.issued.code_hash()).await || self.anything_found(store).await
    }

    /// Whether every token of the grant is found as it should be: both
    /// access tokens, the first refresh token rotated out and the second
    /// current.
    pub(crate) async fn all_found<S: GrantStore>(&self, store: &S) -> bool {
        let grant = &self.issued.grant;
        let first_access = ok(
            store.find_access_token(&self.first_access.hash).await,
            "find_access_token",
        );
        let access = ok(
            store.find_access_token(&self.access.hash).await,
            "find_access_token",
        );
        first_access == Some((self.first_access.clone(), grant.clone()))
            && access == Some((self.access.clone(), grant.clone()))
            && refresh_found(store, &self.first_refresh.hash)
                .await
                .is_some_and(|r| !r.current && r.record == self.first_refresh)
            && refresh_found(store, &self.refresh.hash)
                .await
                .is_some_and(|r| r.current && r.record == self.refresh)
    }

    /// Whether everything of the grant is found as it should be: the code
    /// redeemed, and every token as [`all_found`](Self::all_found) says.
    pub(crate) async fn all_and_code_found<S: AuthorizationCodeStore>(&self, store: &S) -> bool {
        let code = ok(store.find_code(&self.issued.code_hash()).await, "find_code");
        code.is_some_and(|c| c.redeemed && c.grant == self.issued.grant)
            && self.all_found(store).await
    }
}

/// A PKCE verifier.
pub(crate) fn verifier(value: &str) -> CodeVerifier {
    CodeVerifier::parse(value).unwrap()
}

/// A token to issue at `at`, living `lifetime` (before the grant's cap).
pub(crate) fn planned(at: SystemTime, lifetime: Duration) -> PlannedToken {
    PlannedToken::new(hash(), at + lifetime)
}

/// A redemption by `client` at `at` that a code made by [`code_with`] passes:
/// its redirect URI, the verifier [`VERIFIER`]; planning an access token
/// living ten minutes and a refresh token living six hours.
pub(crate) fn redemption(client: &ClientId, at: SystemTime) -> CodeRedemption {
    CodeRedemption::new(
        client.clone(),
        at,
        planned(at, 10 * MINUTE),
        Some(planned(at, 6 * HOUR)),
    )
    .redirect_uri(Some(REDIRECT_URI))
    .code_verifier(Some(verifier(VERIFIER)))
}

/// A rotation by `client` at `at`, not narrowing the scope, planning a refresh
/// token living six hours and an access token living ten minutes.
pub(crate) fn rotation(client: &ClientId, at: SystemTime) -> RefreshRotation {
    RefreshRotation::new(
        client.clone(),
        None,
        at,
        planned(at, 6 * HOUR),
        planned(at, 10 * MINUTE),
    )
}

/// The access token a redemption or rotation at `at` must store for
/// `planned` under `grant`, with `scope`: expiring as planned, but never
/// after the grant.
pub(crate) fn expected_access(
    planned: &PlannedToken,
    grant: &GrantRecord,
    scope: &Scope,
    at: SystemTime,
) -> AccessTokenRecord {
    AccessTokenRecord {
        hash: planned.hash,
        grant_id: grant.id,
        scope: scope.clone(),
        audience: planned.audience.clone(),
        issued_at: at,
        expires_at: planned.expires_at.min(grant.expires_at),
        exchange: None,
        cnf: planned.cnf.clone(),
        authorization_details: planned.authorization_details_under(grant).clone(),
    }
}

/// The refresh token a redemption or rotation at `at` must store for
/// `planned`, as [`expected_access`].
pub(crate) fn expected_refresh(
    planned: &PlannedToken,
    grant: &GrantRecord,
    scope: &Scope,
    at: SystemTime,
) -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash: planned.hash,
        grant_id: grant.id,
        scope: scope.clone(),
        issued_at: at,
        expires_at: planned.expires_at.min(grant.expires_at),
        cnf: planned.cnf.clone(),
    }
}

/// `redeem_code`'s answer.
pub(crate) async fn redeem<S: AuthorizationCodeStore>(
    store: &S,
    code: &TokenHash,
    redemption: &CodeRedemption,
) -> Redemption {
    ok(store.redeem_code(code, redemption).await, "redeem_code")
}

/// `rotate_refresh_token`'s answer.
pub(crate) async fn rotate<S: GrantStore>(
    store: &S,
    old: &TokenHash,
    rotation: &RefreshRotation,
) -> Rotation {
    ok(
        store.rotate_refresh_token(old, rotation).await,
        "rotate_refresh_token",
    )
}

/// Whether any of the tokens a redemption planned is found.
pub(crate) async fn redemption_stored<S: GrantStore>(
    store: &S,
    redemption: &CodeRedemption,
) -> bool {
    access_found(store, &redemption.access_token.hash).await
        || match &redemption.refresh_token {
            Some(planned) => refresh_found(store, &planned.hash).await.is_some(),
            None => false,
        }
}

/// Whether any of the tokens a rotation planned is found.
pub(crate) async fn rotation_stored<S: GrantStore>(store: &S, rotation: &RefreshRotation) -> bool {
    access_found(store, &rotation.access_token.hash).await
        || refresh_found(store, &rotation.refresh_token.hash)
            .await
            .is_some()
}

/// What an OpenID Connect grant keeps, every field set, with values a
/// store's encoding could trip on.
pub(crate) fn openid_grant() -> OpenIdGrant {
    OpenIdGrant {
        nonce: Some("n-0S6_WzA2Mj \"ü\" '".to_owned()),
        auth_time: Some(1_800_000_000),
        acr: Some("urn:example:loa:2".to_owned()),
        amr: vec!["pwd".to_owned(), "otp".to_owned()],
        session_id: Some("sid-1".to_owned()),
        claims: Some(
            ClaimsRequest::parse(
                r#"{"id_token":{"email":{"essential":true}},"userinfo":{"name#de":null}}"#,
            )
            .unwrap(),
        ),
        claims_locales: vec!["de-CH".to_owned(), "en".to_owned()],
    }
}

/// What an OpenID Connect request keeps with its pending request, every
/// parameter set.
pub(crate) fn openid_request() -> OpenIdRequest {
    let params = Params::parse(
        b"nonce=n%27%22&prompt=login%20consent&max_age=0&display=popup&ui_locales=fr%20en\
          &claims_locales=de&login_hint=a%40b.example&acr_values=urn%3A1%20urn%3A2\
          &claims=%7B%22userinfo%22%3A%7B%22email%22%3Anull%7D%7D",
    )
    .unwrap();
    OpenIdRequest::new(
        OpenIdParams::from_params(&params).unwrap(),
        Some(IdTokenHint::new("pairwise-sub", Some("sid-9".to_owned()))),
    )
}

/// A pending authorization request of `client`, made at `at`, with every
/// optional field set.
pub(crate) fn pending(client: &ClientId, at: SystemTime) -> PendingAuthorizationRecord {
    PendingAuthorizationRecord {
        hash: hash(),
        client_id: client.clone(),
        response_type: ResponseType::Code,
        redirect_uri: Arc::from(REDIRECT_URI),
        redirect_uri_in_request: true,
        scope: scope("read write"),
        resources: resources(&[API, "urn:example:other"]),
        authorization_details: authorization_details(),
        openid: Some(Arc::new(openid_request())),
        state: Some("xyz ünïcödé &=".to_owned()),
        response_mode: ResponseMode::FormPost,
        challenge: Some(CodeChallenge::parse(CHALLENGE, Some("S256"), false).unwrap()),
        created_at: at,
        expires_at: at + 10 * MINUTE,
        dpop_jkt: None,
    }
}

/// The same with every optional field empty and the other variants.
pub(crate) fn bare_pending(client: &ClientId, at: SystemTime) -> PendingAuthorizationRecord {
    PendingAuthorizationRecord {
        hash: hash(),
        client_id: client.clone(),
        response_type: ResponseType::Token,
        redirect_uri: Arc::from(REDIRECT_URI),
        redirect_uri_in_request: false,
        scope: Scope::empty(),
        resources: ResourceSet::empty(),
        authorization_details: AuthorizationDetails::empty(),
        openid: None,
        state: None,
        response_mode: ResponseMode::Fragment,
        challenge: None,
        created_at: at,
        expires_at: at + 10 * MINUTE,
        dpop_jkt: None,
    }
}

/// A pending device authorization of `client`, made at `at`, living ten
/// minutes, polled every 5 s.
pub(crate) fn device(client: &ClientId, at: SystemTime) -> DeviceAuthorizationRecord {
    DeviceAuthorizationRecord {
        device_code_hash: hash(),
        user_code_hash: hash(),
        client_id: client.clone(),
        scope: scope("read write"),
        created_at: at,
        expires_at: at + 10 * MINUTE,
        interval: Duration::from_secs(5),
        last_polled_at: None,
        status: DeviceStatus::Pending,
    }
}

/// Asserts that `find_access_token` returns `issued`'s access token and its
/// grant exactly as `create_grant` stored them.
pub(crate) async fn assert_access_as_stored<S: GrantStore>(store: &S, issued: &Issued) {
    assert_eq!(
        ok(
            store.find_access_token(&issued.access_hash()).await,
            "find_access_token"
        ),
        Some((issued.access.clone().unwrap(), issued.grant.clone())),
        "find_access_token must return the access token and its grant exactly as \
         create_grant stored them"
    );
}

/// Whether the access token is found.
pub(crate) async fn access_found<S: GrantStore>(store: &S, hash: &TokenHash) -> bool {
    ok(store.find_access_token(hash).await, "find_access_token").is_some()
}

/// The refresh token as found.
pub(crate) async fn refresh_found<S: GrantStore>(
    store: &S,
    hash: &TokenHash,
) -> Option<FoundRefreshToken> {
    ok(store.find_refresh_token(hash).await, "find_refresh_token")
}

/// Whether the code is found.
pub(crate) async fn code_found<S: AuthorizationCodeStore>(store: &S, hash: &TokenHash) -> bool {
    ok(store.find_code(hash).await, "find_code").is_some()
}

/// A task for [`race`].
pub(crate) type Racer<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Runs `tasks` on the runtime's worker threads, all released at once, and
/// returns their outputs in order. A task's panic is the caller's.
pub(crate) async fn race<T: Send + 'static>(tasks: Vec<Racer<T>>) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(tasks.len()));
    let released = Arc::new(AtomicUsize::new(0));
    // Tasks wake from the barrier one after another, microseconds apart; the
    // first one on each worker thread waits (briefly, so a busy runtime
    // cannot stall) for the others, so they enter the store together.
    let workers = Handle::current().metrics().num_workers().min(tasks.len());
    let handles: Vec<_> = tasks
        .into_iter()
        .map(|task| {
            let (barrier, released) = (barrier.clone(), released.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                released.fetch_add(1, Ordering::SeqCst);
                let deadline = Instant::now() + Duration::from_micros(200);
                while released.load(Ordering::SeqCst) < workers && Instant::now() < deadline {
                    std::hint::spin_loop();
                }
                task.await
            })
        })
        .collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        match handle.await {
            Ok(output) => outputs.push(output),
            Err(error) => match error.try_into_panic() {
                Ok(payload) => std::panic::resume_unwind(payload),
                Err(error) => panic!("a racing task did not finish: {error}"),
            },
        }
    }
    outputs
}
