//! Token exchange (RFC 8693) through the public API: the token endpoint,
//! introspection, revocation, the resource side, on the memory store and
//! the SQL store (SQLite, and PostgreSQL when `PORTCULLIS_TEST_POSTGRES_URL`
//! is set).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{CHALLENGE, Reply, TestClient, VERIFIER, basic, form_encode, start, token_request};
use http::Request;
use portcullis::client::{ClientRegistration, ClientRegistry, SubjectType};
use portcullis::grant::{
    AuthorizationCodeGrant, ClientCredentialsGrant, ExchangeRefusal, RefreshTokenGrant,
    SameClientExchange, TokenExchangeGrant, TokenExchangePolicy, TokenExchangeRequest,
};
use portcullis::jose::{Algorithm, KeySet, SigningKey};
use portcullis::oidc::{Claims, OpenIdConnect, PairwiseKey, StaticClaims};
use portcullis::protocol::{GrantType, Resource, Scope};
use portcullis::resource::{BearerValidator, Realm};
use portcullis::store::{MemoryStore, TokenStore};
use portcullis::token::ManualClock;
use portcullis::{AuthorizationServer, ServerBuilder};
use serde_json::{Value, json};

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
/// A JWT resource for `read`.
const API: &str = "https://api.example/v1";
/// An opaque resource for `write`.
const FILES: &str = "https://files.example";
/// An opaque resource for any scope.
const ANY: &str = "urn:example:any";
const RS_SECRET: &str = "rs-secret_0123456789abcdefghijklmnopqrstuvwxyz";

struct Fx {
    server: AuthorizationServer,
    clock: Arc<ManualClock>,
}

fn builder<S: TokenStore + ClientRegistry + Clone>(
    store: S,
    clock: Arc<ManualClock>,
    exchange: TokenExchangeGrant,
) -> ServerBuilder {
    builder_at("https://auth.example", store, clock, exchange)
}

/// [`builder`]'s server, at `issuer`.
fn builder_at<S: TokenStore + ClientRegistry + Clone>(
    issuer: &str,
    store: S,
    clock: Arc<ManualClock>,
    exchange: TokenExchangeGrant,
) -> ServerBuilder {
    AuthorizationServer::builder(issuer)
        .clients(store.clone())
        .tokens(store)
        .clock(clock)
        .grant(ClientCredentialsGrant)
        .grant(AuthorizationCodeGrant)
        .grant(RefreshTokenGrant)
        .grant(exchange)
        .signing_keys(
            KeySet::new()
                .with_key(SigningKey::generate(Algorithm::Es256).unwrap())
                .unwrap(),
        )
        .resource(
            Resource::new(API)
                .unwrap()
                .scopes("read".parse().unwrap())
                .jwt(),
        )
        .resource(
            Resource::new(FILES)
                .unwrap()
                .scopes("write".parse().unwrap()),
        )
        .resource(Resource::new(ANY).unwrap())
        .introspection_credential("rs", RS_SECRET)
}

fn fx_on<S: TokenStore + ClientRegistry + Clone>(store: S, exchange: TokenExchangeGrant) -> Fx {
    let clock = Arc::new(ManualClock::new(start()));
    Fx {
        server: builder(store, clock.clone(), exchange).build().unwrap(),
        clock,
    }
}

fn memory_fx() -> Fx {
    fx_on(MemoryStore::new(), TokenExchangeGrant::new())
}

/// The server's keys in the OpenID Provider tests: one ES256 key, which
/// signs its ID tokens.
fn provider_keys() -> KeySet {
    KeySet::new()
        .with_key(SigningKey::generate(Algorithm::Es256).unwrap())
        .unwrap()
}

/// [`builder_at`]'s server as an OpenID Provider signing with `keys`, with
/// pairwise subjects on offer, ID tokens living two minutes (access
/// tokens ten); alice and bob are its End-Users.
fn provider_at<S: TokenStore + ClientRegistry + Clone>(
    issuer: &str,
    store: S,
    clock: Arc<ManualClock>,
    exchange: TokenExchangeGrant,
    keys: KeySet,
) -> AuthorizationServer {
    let users = StaticClaims::new()
        .user("alice", Claims::new().with("name", "Alice"))
        .user("bob", Claims::new().with("name", "Bob"));
    builder_at(issuer, store, clock, exchange)
        .signing_keys(keys)
        .openid_connect(
            OpenIdConnect::new(users)
                .id_token_signing_alg(Algorithm::Es256)
                .id_token_lifetime(Duration::from_secs(120))
                .pairwise_subjects(PairwiseKey::new(&[42; 32]).unwrap()),
        )
        .build()
        .unwrap()
}

fn provider_fx_on<S: TokenStore + ClientRegistry + Clone>(store: S) -> Fx {
    let clock = Arc::new(ManualClock::new(start()));
    Fx {
        server: provider_at(
            "https://auth.example",
            store,
            clock.clone(),
            TokenExchangeGrant::new(),
            provider_keys(),
        ),
        clock,
    }
}

impl Fx {
    async fn post(&self, request: Request<Vec<u8>>) -> Reply {
        Reply::from(self.server.token_endpoint(request).await)
    }

    /// A confidential client for the code flow, client credentials and
    /// token exchange, scopes `read write`.
    async fn exchanger(&self) -> TestClient {
        self.client(true).await
    }

    async fn client(&self, exchange: bool) -> TestClient {
        let mut registration = ClientRegistration::web_application()
            .redirect_uri("https://app.example/cb")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .scope("read write".parse().unwrap());
        if exchange {
            registration = registration.grant_type(GrantType::TOKEN_EXCHANGE);
        }
        let r = self.server.register_client(registration).await.unwrap();
        TestClient {
            id: r.client.id().to_string(),
            secret: r.secret.unwrap().expose_secret().to_owned(),
        }
    }

    /// `user`'s access token for `client`, by the code flow, with `scope`.
    async fn user_token(&self, client: &TestClient, user: &str, scope: &str) -> String {
        self.user_token_with(client, user, scope, "").await
    }

    /// The same, with `extra` in the authorization request (a `resource`).
    async fn user_token_with(
        &self,
        client: &TestClient,
        user: &str,
        scope: &str,
        extra: &str,
    ) -> String {
        self.code_flow(client, user, scope, extra)
            .await
            .access_token()
            .to_owned()
    }

    /// The token response of `user`'s code flow for `client`, with `scope`
    /// and `extra` in the authorization request.
    async fn code_flow(&self, client: &TestClient, user: &str, scope: &str, extra: &str) -> Reply {
        let query = format!(
            "response_type=code&client_id={}&code_challenge={CHALLENGE}\
             &code_challenge_method=S256&state=s&scope={}{extra}",
            client.id,
            form_encode(scope)
        );
        let request = Request::get(format!("https://auth.example/authorize?{query}"))
            .body(Vec::<u8>::new())
            .unwrap();
        let pending = self.server.authorization_request(&request).await.unwrap();
        let response = self.server.approve(pending, user, None).await.unwrap();
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let code = url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let reply = self
            .post(authenticated(
                client,
                &format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}"),
            ))
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        reply
    }

    /// A confidential relying party for the code flow, client credentials
    /// and token exchange, scopes `openid read write`, with pairwise
    /// subjects (OpenID Connect Core 1.0 §8).
    async fn relying_party(&self) -> TestClient {
        let registration = ClientRegistration::web_application()
            .redirect_uri("https://app.example/cb")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .grant_type(GrantType::TOKEN_EXCHANGE)
            .subject_type(SubjectType::Pairwise)
            .scope("openid read write".parse().unwrap());
        let r = self.server.register_client(registration).await.unwrap();
        TestClient {
            id: r.client.id().to_string(),
            secret: r.secret.unwrap().expose_secret().to_owned(),
        }
    }

    /// `user`'s sign-in at `client` with `scope`: its ID token and access
    /// token.
    async fn sign_in(&self, client: &TestClient, user: &str, scope: &str) -> (String, String) {
        let reply = self.code_flow(client, user, scope, "").await;
        let id_token = reply.json["id_token"].as_str().unwrap().to_owned();
        (id_token, reply.access_token().to_owned())
    }

    /// Exchanges `subject` presented as `subject_type` by `client`, with
    /// `extra`.
    async fn exchange_as(
        &self,
        client: &TestClient,
        subject: &str,
        subject_type: &str,
        extra: &str,
    ) -> Reply {
        self.exchange(
            client,
            &format!(
                "&subject_token={}&subject_token_type={}{extra}",
                form_encode(subject),
                form_encode(subject_type)
            ),
        )
        .await
    }

    /// The client's own token (client credentials).
    async fn client_token(&self, client: &TestClient) -> String {
        let reply = self
            .post(token_request(
                Some(&basic(&client.id, &client.secret)),
                "grant_type=client_credentials&scope=read",
            ))
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        reply.access_token().to_owned()
    }

    /// A token-exchange request by `client` with `body` after the grant type.
    async fn exchange(&self, client: &TestClient, body: &str) -> Reply {
        self.post(authenticated(
            client,
            &format!("grant_type={}{body}", form_encode(EXCHANGE)),
        ))
        .await
    }

    /// Exchanges `subject` (an access token) by `client` with `extra`.
    async fn exchange_token(&self, client: &TestClient, subject: &str, extra: &str) -> Reply {
        self.exchange(
            client,
            &format!(
                "&subject_token={}&subject_token_type={}{extra}",
                form_encode(subject),
                form_encode(ACCESS_TOKEN)
            ),
        )
        .await
    }

    /// The introspection answer for `token`, as the resource server sees it.
    async fn introspect(&self, token: &str) -> Value {
        let request = Request::post("https://auth.example/introspect")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", format!("Bearer {RS_SECRET}"))
            .body(format!("token={}", form_encode(token)).into_bytes())
            .unwrap();
        Reply::from(self.server.introspection_endpoint(request).await).json
    }

    async fn alive(&self, token: &str) -> bool {
        self.server
            .access_token_info(token)
            .await
            .unwrap()
            .is_some()
    }
}

/// A token request by `client`: Basic for a confidential one, `client_id`
/// in the body for a public one.
fn authenticated(client: &TestClient, body: &str) -> Request<Vec<u8>> {
    if client.secret.is_empty() {
        token_request(None, &format!("{body}&client_id={}", client.id))
    } else {
        token_request(Some(&basic(&client.id, &client.secret)), body)
    }
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------
// The cases, each on a fresh server over the store given.

/// Impersonation (RFC 8693 §1.1): a token for a known resource, with the
/// subject's `sub`, restricted to that resource, and the response members
/// of §2.2.1; no refresh token; no `act`.
async fn impersonation_for_a_known_audience(fx: &Fx) {
    let client = fx.exchanger().await;
    let subject = fx.user_token(&client, "alice", "read write").await;
    for target in [
        format!("&audience={}", form_encode(FILES)),
        format!("&resource={}", form_encode(FILES)),
    ] {
        let reply = fx.exchange_token(&client, &subject, &target).await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        reply.assert_no_store();
        assert_eq!(reply.json["issued_token_type"], ACCESS_TOKEN);
        assert_eq!(reply.json["token_type"], "Bearer");
        assert!(reply.json["expires_in"].as_u64().unwrap() > 0);
        assert!(reply.json.get("refresh_token").is_none());
        // The subject's `read write` narrowed to what FILES takes: `write`,
        // which differs from the (absent) request, so it is sent.
        assert_eq!(reply.json["scope"], "write");
        let new = reply.access_token();
        assert_ne!(new, subject);
        let info = fx.introspect(new).await;
        assert_eq!(info["active"], true);
        assert_eq!(info["sub"], "alice");
        assert_eq!(info["aud"], FILES);
        assert_eq!(info["scope"], "write");
        assert_eq!(info["client_id"], client.id.as_str());
        assert!(info.get("act").is_none(), "{info}");
    }
    assert!(fx.alive(&subject).await, "the subject token lives on");
}

/// Scope (RFC 8693 §2.1): narrowed on request; the subject token's when
/// absent; `scope` in the response only when it differs from the request.
async fn scope_is_bounded_by_the_subject_token(fx: &Fx) {
    let client = fx.exchanger().await;
    let subject = fx.user_token(&client, "alice", "read write").await;
    let narrowed = fx
        .exchange_token(
            &client,
            &subject,
            &format!("&scope=read&audience={}", form_encode(ANY)),
        )
        .await;
    assert_eq!(narrowed.status, 200, "{:?}", narrowed.json);
    assert!(
        narrowed.json.get("scope").is_none(),
        "as requested: not sent"
    );
    assert_eq!(
        fx.introspect(narrowed.access_token()).await["scope"],
        "read"
    );

    let same = fx.exchange_token(&client, &subject, "").await;
    assert_eq!(same.status, 200, "{:?}", same.json);
    assert_eq!(
        fx.introspect(same.access_token()).await["scope"],
        "read write"
    );
    assert!(
        fx.introspect(same.access_token())
            .await
            .get("aud")
            .is_none()
    );

    let small = fx.user_token(&client, "alice", "read").await;
    let wider = fx
        .exchange_token(&client, &small, "&scope=read%20write")
        .await;
    wider.assert_error(400, "invalid_scope");
    // A scope the target takes none of is a target the token cannot have.
    let none_applies = fx
        .exchange_token(
            &client,
            &small,
            &format!("&audience={}", form_encode(FILES)),
        )
        .await;
    none_applies.assert_error(400, "invalid_target");
    assert!(fx.alive(&small).await);
}

/// `resource` and `audience` name resources the server knows; anything
/// else is `invalid_target` (RFC 8693 §2.2.2, RFC 8707 §2).
async fn unknown_targets_are_invalid_target(fx: &Fx) {
    let client = fx.exchanger().await;
    let subject = fx.user_token(&client, "alice", "read write").await;
    for extra in [
        "&audience=https%3A%2F%2Funknown.example".to_owned(),
        "&resource=https%3A%2F%2Funknown.example".to_owned(),
        "&audience=not-a-uri".to_owned(),
        format!(
            "&audience={}&audience=urn%3Aexample%3Aother",
            form_encode(ANY)
        ),
    ] {
        let reply = fx.exchange_token(&client, &subject, &extra).await;
        reply.assert_error(400, "invalid_target");
    }
    assert!(fx.alive(&subject).await);
}

/// What RFC 8693 §2.1 requires of the request, and the token types the
/// server does not support, are `invalid_request` (§2.2.2).
async fn malformed_requests_are_invalid_request(fx: &Fx) {
    let client = fx.exchanger().await;
    let subject = fx.user_token(&client, "alice", "read write").await;
    let actor = fx.client_token(&client).await;
    let s = form_encode(&subject);
    let a = form_encode(&actor);
    let at = form_encode(ACCESS_TOKEN);
    for body in [
        format!("&subject_token_type={at}"),
        format!("&subject_token={s}"),
        String::new(),
        format!("&subject_token={s}&subject_token_type={at}&actor_token={a}"),
        format!("&subject_token={s}&subject_token_type={at}&actor_token_type={at}"),
        format!("&subject_token={s}&subject_token_type=access_token"),
        format!("&subject_token={s}&subject_token_type={at}&subject_token_type={at}"),
        format!(
            "&subject_token={s}&subject_token_type={}",
            form_encode("urn:ietf:params:oauth:token-type:id_token")
        ),
        format!(
            "&subject_token={s}&subject_token_type={}",
            form_encode("urn:ietf:params:oauth:token-type:refresh_token")
        ),
        format!(
            "&subject_token={s}&subject_token_type={}",
            form_encode("urn:ietf:params:oauth:token-type:saml2")
        ),
        // An opaque token is no JWT.
        format!("&subject_token={s}&subject_token_type={}", form_encode(JWT)),
        format!(
            "&subject_token={s}&subject_token_type={at}&requested_token_type={}",
            form_encode("urn:ietf:params:oauth:token-type:refresh_token")
        ),
        format!(
            "&subject_token={s}&subject_token_type={at}&actor_token={a}&actor_token_type={}",
            form_encode("urn:ietf:params:oauth:token-type:id_token")
        ),
    ] {
        let reply = fx.exchange(&client, &body).await;
        reply.assert_error(400, "invalid_request");
    }
    // A JWT asked for a target that gets opaque tokens.
    let reply = fx
        .exchange_token(
            &client,
            &subject,
            &format!(
                "&audience={}&requested_token_type={}",
                form_encode(FILES),
                form_encode(JWT)
            ),
        )
        .await;
    reply.assert_error(400, "invalid_target");
    assert!(fx.alive(&subject).await);
}

/// An unknown, expired, revoked or other client's subject token is
/// `invalid_grant`, one answer for all (RFC 6749 §5.2).
async fn dead_or_foreign_subject_tokens_are_invalid_grant(fx: &Fx) {
    let client = fx.exchanger().await;
    let other = fx.exchanger().await;
    let foreign = fx.user_token(&other, "bob", "read").await;
    let unknown = format!("pc_at_{}", "A".repeat(43));
    for subject in [unknown.as_str(), foreign.as_str(), "garbage"] {
        let reply = fx.exchange_token(&client, subject, "").await;
        reply.assert_error(400, "invalid_grant");
        assert_eq!(
            reply.description(),
            "the subject_token is invalid, expired or revoked"
        );
    }
    assert!(
        fx.alive(&foreign).await,
        "a refused exchange leaves it alive"
    );
    // An actor token of another client.
    let subject = fx.user_token(&client, "alice", "read").await;
    let reply = fx
        .exchange_token(
            &client,
            &subject,
            &format!(
                "&actor_token={}&actor_token_type={}",
                form_encode(&foreign),
                form_encode(ACCESS_TOKEN)
            ),
        )
        .await;
    reply.assert_error(400, "invalid_grant");

    let revoked = fx.user_token(&client, "alice", "read").await;
    let info = fx
        .server
        .access_token_info(&revoked)
        .await
        .unwrap()
        .unwrap();
    assert!(fx.server.revoke_grant(&info.grant_id).await.unwrap());
    fx.exchange_token(&client, &revoked, "")
        .await
        .assert_error(400, "invalid_grant");

    fx.clock.advance(Duration::from_secs(24 * 3600));
    fx.exchange_token(&client, &subject, "")
        .await
        .assert_error(400, "invalid_grant");
}

/// A client not registered for the grant type is `unauthorized_client`,
/// even with a token of its own.
async fn unregistered_clients_are_unauthorized(fx: &Fx) {
    let client = fx.client(false).await;
    let subject = fx.user_token(&client, "alice", "read").await;
    let reply = fx.exchange_token(&client, &subject, "").await;
    reply.assert_error(400, "unauthorized_client");
    assert!(fx.alive(&subject).await);
}

/// Delegation (RFC 8693 §1.1, §4.1): `act` names the actor in the JWT
/// access token and in introspection; exchanged again with another actor,
/// the chain nests, current actor outermost.
async fn delegation_carries_act(fx: &Fx) {
    let client = fx.exchanger().await;
    let subject = fx.user_token(&client, "alice", "read write").await;
    let actor = fx.client_token(&client).await;
    let reply = fx
        .exchange_token(
            &client,
            &subject,
            &format!(
                "&audience={}&actor_token={}&actor_token_type={}&requested_token_type={}",
                form_encode(API),
                form_encode(&actor),
                form_encode(ACCESS_TOKEN),
                form_encode(JWT)
            ),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["issued_token_type"], JWT);
    let jwt = reply.access_token().to_owned();
    let c = claims(&jwt);
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["aud"], API);
    assert_eq!(c["scope"], "read");
    assert_eq!(c["client_id"], client.id.as_str());
    assert_eq!(c["act"], json!({"sub": client.id}));
    assert_eq!(fx.introspect(&jwt).await["act"], json!({"sub": client.id}));

    // The delegated token, exchanged by `jwt` type with bob acting.
    let bob = fx.user_token(&client, "bob", "read").await;
    let chained = fx
        .exchange(
            &client,
            &format!(
                "&subject_token={}&subject_token_type={}&actor_token={}&actor_token_type={}&audience={}",
                form_encode(&jwt),
                form_encode(JWT),
                form_encode(&bob),
                form_encode(ACCESS_TOKEN),
                form_encode(ANY)
            ),
        )
        .await;
    assert_eq!(chained.status, 200, "{:?}", chained.json);
    assert_eq!(chained.json["issued_token_type"], ACCESS_TOKEN);
    let info = fx.introspect(chained.access_token()).await;
    assert_eq!(info["sub"], "alice");
    assert_eq!(
        info["act"],
        json!({"sub": "bob", "act": {"sub": client.id}})
    );

    // Impersonation with a delegated token keeps its chain.
    let kept = fx.exchange_token(&client, chained.access_token(), "").await;
    assert_eq!(kept.status, 200, "{:?}", kept.json);
    assert_eq!(
        fx.introspect(kept.access_token()).await["act"],
        json!({"sub": "bob", "act": {"sub": client.id}})
    );
}

/// The exchanged token derives from the subject token's grant: revoking
/// the grant kills it, and it never outlives the subject token.
async fn exchanged_tokens_die_with_the_subject_grant(fx: &Fx) {
    let client = fx.exchanger().await;
    let subject = fx.user_token(&client, "alice", "read write").await;
    let reply = fx
        .exchange_token(
            &client,
            &subject,
            &format!("&audience={}", form_encode(ANY)),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let exchanged = reply.access_token().to_owned();
    let subject_info = fx
        .server
        .access_token_info(&subject)
        .await
        .unwrap()
        .unwrap();
    let info = fx
        .server
        .access_token_info(&exchanged)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.grant_id, subject_info.grant_id);
    assert!(info.expires_at <= subject_info.expires_at);
    // Of a client's own token (client credentials) too.
    let own = fx.client_token(&client).await;
    let own_exchanged = fx.exchange_token(&client, &own, "").await;
    assert_eq!(own_exchanged.status, 200, "{:?}", own_exchanged.json);

    assert!(
        fx.server
            .revoke_grant(&subject_info.grant_id)
            .await
            .unwrap()
    );
    assert!(!fx.alive(&subject).await);
    assert!(
        !fx.alive(&exchanged).await,
        "revoking the subject grant revokes the exchanged token"
    );
    assert_eq!(fx.introspect(&exchanged).await, json!({"active": false}));

    let own_info = fx.server.access_token_info(&own).await.unwrap().unwrap();
    assert!(fx.server.revoke_grant(&own_info.grant_id).await.unwrap());
    assert!(!fx.alive(own_exchanged.access_token()).await);
}

/// The resource side honours the audience: a token exchanged for FILES is
/// accepted by a validator for FILES and refused by one for API.
async fn the_resource_side_honours_the_audience(fx: &Fx) {
    let client = fx.exchanger().await;
    let subject = fx.user_token(&client, "alice", "read write").await;
    let reply = fx
        .exchange_token(
            &client,
            &subject,
            &format!("&audience={}", form_encode(FILES)),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let call = Request::get("/")
        .header("authorization", format!("Bearer {}", reply.access_token()))
        .body(Vec::new())
        .unwrap();
    let files =
        BearerValidator::new(fx.server.clone(), Realm::new("files").unwrap()).audience(FILES);
    let info = files
        .validate(&call, &"write".parse::<Scope>().unwrap())
        .await
        .unwrap();
    assert_eq!(info.subject.as_ref().map(|s| s.as_str()), Some("alice"));
    let api = BearerValidator::new(fx.server.clone(), Realm::new("api").unwrap()).audience(API);
    let refused = api.validate(&call, &Scope::empty()).await.unwrap_err();
    assert_eq!(refused.status(), 401);
}

/// A public client proves only possession: it may narrow an
/// audience-restricted subject token's audience, never move it to another
/// resource; an unrestricted one it may restrict (default policy).
async fn a_public_client_may_only_narrow_the_audience(fx: &Fx) {
    let r = fx
        .server
        .register_client(
            ClientRegistration::native()
                .redirect_uri("http://127.0.0.1/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .grant_type(GrantType::TOKEN_EXCHANGE)
                .scope("read write".parse().unwrap()),
        )
        .await
        .unwrap();
    let public = TestClient {
        id: r.client.id().to_string(),
        secret: String::new(),
    };
    let files = format!("&resource={}", form_encode(FILES));
    let restricted = fx.user_token_with(&public, "alice", "write", &files).await;
    assert_eq!(fx.introspect(&restricted).await["aud"], FILES);
    let moved = fx
        .exchange_token(
            &public,
            &restricted,
            &format!("&audience={}", form_encode(ANY)),
        )
        .await;
    moved.assert_error(400, "invalid_target");
    // No target: the subject token's audience, kept.
    let kept = fx.exchange_token(&public, &restricted, "").await;
    assert_eq!(kept.status, 200, "{:?}", kept.json);
    assert_eq!(fx.introspect(kept.access_token()).await["aud"], FILES);
    let same = fx.exchange_token(&public, &restricted, &files).await;
    assert_eq!(same.status, 200, "{:?}", same.json);
    let open = fx.user_token(&public, "alice", "read write").await;
    let narrowed = fx
        .exchange_token(&public, &open, &format!("&audience={}", form_encode(ANY)))
        .await;
    assert_eq!(narrowed.status, 200, "{:?}", narrowed.json);
    assert_eq!(fx.introspect(narrowed.access_token()).await["aud"], ANY);
    assert!(fx.alive(&restricted).await);
}

// ---------------------------------------------------------------------------

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(&super::memory_fx()).await;
                }
            )*
        }

        #[cfg(feature = "sql")]
        async fn every_case_on(store: &portcullis::store::SqlStore) {
            $(
                $name(&fx_on(store.clone(), TokenExchangeGrant::new())).await;
            )*
        }
    };
}

cases!(
    impersonation_for_a_known_audience,
    scope_is_bounded_by_the_subject_token,
    unknown_targets_are_invalid_target,
    malformed_requests_are_invalid_request,
    dead_or_foreign_subject_tokens_are_invalid_grant,
    unregistered_clients_are_unauthorized,
    delegation_carries_act,
    exchanged_tokens_die_with_the_subject_grant,
    the_resource_side_honours_the_audience,
    a_public_client_may_only_narrow_the_audience,
);

// ---------------------------------------------------------------------------
// ID tokens as subject and actor tokens (RFC 8693 §3), on an OpenID
// Provider with pairwise subjects.

/// An ID token this provider issued to the client is a subject token: the
/// new token is the End-User's as the server knows them (`sub` the local
/// identifier, not the pairwise one the ID token carries), of the grant
/// behind the ID token, with a scope within that grant's, and it expires
/// no later than the ID token.
async fn an_id_token_is_a_subject_token(fx: &Fx) {
    let client = fx.relying_party().await;
    let (id_token, access) = fx.sign_in(&client, "alice", "openid read write").await;
    let presented = claims(&id_token);
    assert_ne!(presented["sub"], "alice", "pairwise in the ID token");

    let reply = fx
        .exchange_as(
            &client,
            &id_token,
            ID_TOKEN,
            &format!("&audience={}", form_encode(FILES)),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["issued_token_type"], ACCESS_TOKEN);
    assert_eq!(reply.json["token_type"], "Bearer");
    assert!(reply.json.get("refresh_token").is_none());
    let exchanged = reply.access_token().to_owned();
    let info = fx.introspect(&exchanged).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["sub"], "alice");
    assert_eq!(info["scope"], "write");
    assert_eq!(info["aud"], FILES);
    assert_eq!(info["client_id"], client.id.as_str());
    assert!(info["exp"].as_i64().unwrap() <= presented["exp"].as_i64().unwrap());
    let grant = fx.server.access_token_info(&access).await.unwrap().unwrap();
    let new = fx
        .server
        .access_token_info(&exchanged)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        new.grant_id, grant.grant_id,
        "stored under the ID token's grant"
    );

    // A narrower scope; one beyond the grant's is `invalid_scope`.
    let reply = fx
        .exchange_as(
            &client,
            &id_token,
            ID_TOKEN,
            &format!("&scope=read&audience={}", form_encode(ANY)),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(fx.introspect(reply.access_token()).await["scope"], "read");
    let (narrow_id_token, _) = fx.sign_in(&client, "bob", "openid read").await;
    fx.exchange_as(&client, &narrow_id_token, ID_TOKEN, "&scope=write")
        .await
        .assert_error(400, "invalid_scope");
    let reply = fx
        .exchange_as(&client, &narrow_id_token, ID_TOKEN, "")
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let info = fx.introspect(reply.access_token()).await;
    assert_eq!(info["sub"], "bob");
    assert_eq!(info["scope"], "openid read", "the grant's scope, no more");
}

/// An ID token that is not a live one of this provider for this client is
/// `invalid_grant`, as an unknown access token is: another client's, one
/// with a broken signature, one whose grant was revoked, an expired one;
/// and a token of one type declared as the other (RFC 8693 §2.2.2).
async fn refused_id_tokens_are_invalid_grant(fx: &Fx) {
    let client = fx.relying_party().await;
    let other = fx.relying_party().await;
    let (id_token, access) = fx.sign_in(&client, "alice", "openid read write").await;
    let (foreign, _) = fx.sign_in(&other, "alice", "openid read").await;
    let mut parts: Vec<String> = id_token.split('.').map(str::to_owned).collect();
    let first = if parts[2].starts_with('A') { "B" } else { "A" };
    parts[2].replace_range(..1, first);
    let forged = parts.join(".");
    // The payload of another ID token under this one's signature.
    let spliced = format!(
        "{}.{}.{}",
        id_token.split('.').next().unwrap(),
        foreign.split('.').nth(1).unwrap(),
        id_token.split('.').nth(2).unwrap()
    );
    for (subject, kind) in [
        (foreign.as_str(), ID_TOKEN),
        (forged.as_str(), ID_TOKEN),
        (spliced.as_str(), ID_TOKEN),
        ("garbage", ID_TOKEN),
        // Type confusion, both ways.
        (id_token.as_str(), ACCESS_TOKEN),
        (id_token.as_str(), JWT),
        (access.as_str(), ID_TOKEN),
    ] {
        let reply = fx.exchange_as(&client, subject, kind, "").await;
        reply.assert_error(400, "invalid_grant");
        assert_eq!(
            reply.description(),
            "the subject_token is invalid, expired or revoked"
        );
    }
    // An RFC 9068 JWT access token of this server is no ID token.
    let jwt = fx
        .exchange_token(&client, &access, &format!("&audience={}", form_encode(API)))
        .await;
    assert_eq!(jwt.status, 200, "{:?}", jwt.json);
    assert_eq!(jwt.access_token().split('.').count(), 3);
    fx.exchange_as(&client, jwt.access_token(), ID_TOKEN, "")
        .await
        .assert_error(400, "invalid_grant");
    // An ID token is no actor token of the access-token type either.
    fx.exchange_token(
        &client,
        &access,
        &format!(
            "&actor_token={}&actor_token_type={}",
            form_encode(&id_token),
            form_encode(ACCESS_TOKEN)
        ),
    )
    .await
    .assert_error(400, "invalid_grant");

    // Its grant revoked, the ID token is no longer a subject token.
    let (revoked, revoked_access) = fx.sign_in(&client, "bob", "openid read").await;
    let info = fx
        .server
        .access_token_info(&revoked_access)
        .await
        .unwrap()
        .unwrap();
    assert!(fx.server.revoke_grant(&info.grant_id).await.unwrap());
    fx.exchange_as(&client, &revoked, ID_TOKEN, "")
        .await
        .assert_error(400, "invalid_grant");

    // Expired (two minutes), while its grant and access token live on.
    fx.clock.advance(Duration::from_secs(121));
    assert!(fx.alive(&access).await);
    fx.exchange_as(&client, &id_token, ID_TOKEN, "")
        .await
        .assert_error(400, "invalid_grant");
}

/// A token exchanged for an ID token is stored under the ID token's grant:
/// revoking the grant kills it.
async fn an_id_token_exchange_dies_with_its_grant(fx: &Fx) {
    let client = fx.relying_party().await;
    let (id_token, access) = fx.sign_in(&client, "alice", "openid read write").await;
    let reply = fx.exchange_as(&client, &id_token, ID_TOKEN, "").await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let exchanged = reply.access_token().to_owned();
    assert!(fx.alive(&exchanged).await);
    let info = fx.server.access_token_info(&access).await.unwrap().unwrap();
    assert!(fx.server.revoke_grant(&info.grant_id).await.unwrap());
    assert!(!fx.alive(&exchanged).await, "revoked with the grant");
    assert_eq!(fx.introspect(&exchanged).await, json!({"active": false}));
}

/// An ID token as the actor token (delegation): `act` names the End-User
/// as the server knows them.
async fn an_id_token_may_be_the_actor_token(fx: &Fx) {
    let client = fx.relying_party().await;
    let own = fx.client_token(&client).await;
    let (id_token, _) = fx.sign_in(&client, "alice", "openid read").await;
    let reply = fx
        .exchange_token(
            &client,
            &own,
            &format!(
                "&actor_token={}&actor_token_type={}",
                form_encode(&id_token),
                form_encode(ID_TOKEN)
            ),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(
        fx.introspect(reply.access_token()).await["act"],
        json!({"sub": "alice"})
    );
    let (foreign, _) = fx
        .sign_in(&fx.relying_party().await, "bob", "openid read")
        .await;
    fx.exchange_token(
        &client,
        &own,
        &format!(
            "&actor_token={}&actor_token_type={}",
            form_encode(&foreign),
            form_encode(ID_TOKEN)
        ),
    )
    .await
    .assert_error(400, "invalid_grant");
}

/// A public client proves only that it knows its `client_id`, and ID
/// tokens travel the front channel: under the default policy it may not
/// present one, its own included, as the subject or the actor token
/// (`unauthorized_client`); its access tokens it may still exchange.
async fn a_public_client_may_not_exchange_id_tokens(fx: &Fx) {
    let r = fx
        .server
        .register_client(
            ClientRegistration::native()
                .redirect_uri("http://127.0.0.1/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .grant_type(GrantType::TOKEN_EXCHANGE)
                .scope("openid read".parse().unwrap()),
        )
        .await
        .unwrap();
    let public = TestClient {
        id: r.client.id().to_string(),
        secret: String::new(),
    };
    let (id_token, access) = fx.sign_in(&public, "alice", "openid read").await;
    fx.exchange_as(&public, &id_token, ID_TOKEN, "")
        .await
        .assert_error(400, "unauthorized_client");
    fx.exchange_token(
        &public,
        &access,
        &format!(
            "&actor_token={}&actor_token_type={}",
            form_encode(&id_token),
            form_encode(ID_TOKEN)
        ),
    )
    .await
    .assert_error(400, "unauthorized_client");
    let reply = fx.exchange_token(&public, &access, "").await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
}

macro_rules! provider_cases {
    ($($name:ident),* $(,)?) => {
        mod provider {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(&super::provider_fx_on(super::MemoryStore::new())).await;
                }
            )*
        }

        #[cfg(feature = "sql")]
        async fn every_provider_case_on(store: &portcullis::store::SqlStore) {
            $(
                $name(&provider_fx_on(store.clone())).await;
            )*
        }
    };
}

provider_cases!(
    an_id_token_is_a_subject_token,
    refused_id_tokens_are_invalid_grant,
    an_id_token_exchange_dies_with_its_grant,
    an_id_token_may_be_the_actor_token,
    a_public_client_may_not_exchange_id_tokens,
);

/// An ID token of another issuer is `invalid_grant`, even signed with this
/// server's keys and naming a grant in its store.
#[tokio::test]
async fn an_id_token_of_another_issuer_is_invalid_grant() {
    let store = MemoryStore::new();
    let clock = Arc::new(ManualClock::new(start()));
    let keys = provider_keys();
    let at = |issuer: &str| {
        provider_at(
            issuer,
            store.clone(),
            clock.clone(),
            TokenExchangeGrant::new(),
            keys.clone(),
        )
    };
    let fx = Fx {
        server: at("https://auth.example"),
        clock: clock.clone(),
    };
    let elsewhere = Fx {
        server: at("https://other.example"),
        clock: clock.clone(),
    };
    let client = fx.relying_party().await;
    let (theirs, _) = elsewhere.sign_in(&client, "alice", "openid read").await;
    assert_eq!(claims(&theirs)["iss"], "https://other.example");
    fx.exchange_as(&client, &theirs, ID_TOKEN, "")
        .await
        .assert_error(400, "invalid_grant");
    let (ours, _) = fx.sign_in(&client, "alice", "openid read").await;
    assert_eq!(
        fx.exchange_as(&client, &ours, ID_TOKEN, "").await.status,
        200
    );
}

/// A server that is no OpenID Provider does not take ID tokens at all:
/// `invalid_request`, as for any unsupported type.
#[tokio::test]
async fn without_openid_connect_id_tokens_are_unsupported() {
    let fx = memory_fx();
    let client = fx.exchanger().await;
    fx.exchange_as(&client, "a.b.c", ID_TOKEN, "")
        .await
        .assert_error(400, "invalid_request");
}

/// The policy learns the type a subject token was presented as: this one
/// refuses ID tokens.
struct AccessTokensOnly;

impl TokenExchangePolicy for AccessTokensOnly {
    fn allows(&self, request: &TokenExchangeRequest<'_>) -> Result<(), ExchangeRefusal> {
        if request.subject_token_type.as_str() == ID_TOKEN {
            return Err(ExchangeRefusal::AccessDenied(
                "ID tokens are not exchanged here",
            ));
        }
        SameClientExchange.allows(request)
    }
}

#[tokio::test]
async fn a_policy_may_refuse_id_tokens() {
    let clock = Arc::new(ManualClock::new(start()));
    let fx = Fx {
        server: provider_at(
            "https://auth.example",
            MemoryStore::new(),
            clock.clone(),
            TokenExchangeGrant::with_policy(AccessTokensOnly),
            provider_keys(),
        ),
        clock,
    };
    let client = fx.relying_party().await;
    let (id_token, access) = fx.sign_in(&client, "alice", "openid read").await;
    fx.exchange_as(&client, &id_token, ID_TOKEN, "")
        .await
        .assert_error(400, "access_denied");
    assert_eq!(fx.exchange_token(&client, &access, "").await.status, 200);
}

#[cfg(feature = "sql")]
#[macro_use]
mod sql_support;

#[cfg(feature = "sql")]
#[tokio::test]
async fn every_case_on_the_sql_store() {
    use sql_support::{Backend, TestDb};
    for backend in [Backend::SqliteMemory, Backend::Postgres] {
        let Some(db) = TestDb::new(backend, "token_exchange").await else {
            continue;
        };
        let store = db.open().await;
        every_case_on(&store).await;
        every_provider_case_on(&store).await;
    }
}

/// A host policy: partners may exchange any client's token, for `ANY`
/// only; one client is refused outright.
struct PartnerPolicy {
    partner: String,
    banned: String,
}

impl TokenExchangePolicy for PartnerPolicy {
    fn allows(&self, request: &TokenExchangeRequest<'_>) -> Result<(), ExchangeRefusal> {
        let id = request.client.id().as_str();
        if id == self.banned {
            return Err(ExchangeRefusal::UnauthorizedClient("not a partner"));
        }
        if id == self.partner {
            return if request.audience.iter().all(|r| r.as_str() == ANY)
                && !request.audience.is_empty()
            {
                Ok(())
            } else {
                Err(ExchangeRefusal::AccessDenied(
                    "partners exchange for ANY only",
                ))
            };
        }
        if &request.subject.client_id == request.client.id() {
            Ok(())
        } else {
            Err(ExchangeRefusal::InvalidGrant("not yours".into()))
        }
    }
}

/// The host's policy decides, its refusals mapped to their error codes; a
/// token another client exchanged is that client's (introspection,
/// revocation), and still dies with the subject grant.
#[tokio::test]
async fn a_host_policy_decides_who_exchanges_what() {
    let store = MemoryStore::new();
    let clock = Arc::new(ManualClock::new(start()));
    // Client ids are assigned at registration: register first, then build
    // the server whose policy names them, over the same store.
    let first = fx_on(store.clone(), TokenExchangeGrant::new());
    let owner = first.exchanger().await;
    let partner = first.exchanger().await;
    let banned = first.exchanger().await;
    let policy = PartnerPolicy {
        partner: partner.id.clone(),
        banned: banned.id.clone(),
    };
    let fx = Fx {
        server: builder(
            store,
            clock.clone(),
            TokenExchangeGrant::with_policy(policy),
        )
        .build()
        .unwrap(),
        clock,
    };
    let subject = fx.user_token(&owner, "alice", "read write").await;

    fx.exchange_token(&banned, &subject, "")
        .await
        .assert_error(400, "unauthorized_client");
    fx.exchange_token(
        &partner,
        &subject,
        &format!("&audience={}", form_encode(FILES)),
    )
    .await
    .assert_error(400, "access_denied");
    let reply = fx
        .exchange_token(
            &partner,
            &subject,
            &format!("&audience={}", form_encode(ANY)),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let exchanged = reply.access_token().to_owned();
    let info = fx.introspect(&exchanged).await;
    assert_eq!(info["client_id"], partner.id.as_str());
    assert_eq!(info["sub"], "alice");

    // The owner cannot revoke the partner's token; the partner can.
    let revoke = |client: &TestClient, token: &str| {
        Request::post("https://auth.example/revoke")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", basic(&client.id, &client.secret))
            .body(format!("token={}", form_encode(token)).into_bytes())
            .unwrap()
    };
    let _ = fx
        .server
        .revocation_endpoint(revoke(&owner, &exchanged))
        .await;
    assert!(
        fx.alive(&exchanged).await,
        "only the token's client may revoke it"
    );
    let again = fx
        .exchange_token(
            &partner,
            &subject,
            &format!("&audience={}", form_encode(ANY)),
        )
        .await;
    let second = again.access_token().to_owned();
    let response = fx
        .server
        .revocation_endpoint(revoke(&partner, &exchanged))
        .await;
    assert_eq!(response.status(), 200);
    assert!(!fx.alive(&exchanged).await);
    assert!(
        fx.alive(&subject).await,
        "revoking the exchanged token spares the subject"
    );

    let subject_info = fx
        .server
        .access_token_info(&subject)
        .await
        .unwrap()
        .unwrap();
    assert!(
        fx.server
            .revoke_grant(&subject_info.grant_id)
            .await
            .unwrap()
    );
    assert!(!fx.alive(&second).await);
}

/// Both discovery documents advertise the grant type (RFC 8414 §2).
#[tokio::test]
async fn the_grant_type_is_advertised() {
    let fx = memory_fx();
    let metadata = serde_json::to_value(fx.server.metadata()).unwrap();
    let grants = metadata["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&json!(EXCHANGE)), "{metadata}");
}
