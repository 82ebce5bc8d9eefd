//! The FAPI 2.0 Security Profile (FAPI 2.0 Security Profile, Final, §5.3.2,
//! §5.4.1) through the public API: `ServerBuilder::fapi2_security_profile`,
//! every configuration it refuses at build, every request it refuses, and
//! one whole flow — PAR with `private_key_jwt`, PKCE S256, `dpop_jkt`, a
//! DPoP-bound code exchange, refreshes without rotation, and the token used
//! at a resource. Test names carry the clause.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use common::dpop::ProofKey;
use common::mtls::{TestCert, with_cert};
use common::{CHALLENGE, ISSUER, Reply, VERIFIER, basic, form_encode, param, start};
use http::{HeaderValue, Request};
use portcullis::client::{
    AuthMethod, ClientAssertionSettings, ClientIdMetadataDocuments, ClientRegistration,
    TlsClientAuthSubject,
};
use portcullis::endpoint::{Dpop, DynamicRegistration, Fapi2Conflict, MutualTls};
use portcullis::fetch::{FetchError, FetchLimits, Fetcher};
use portcullis::grant::ResourceOwnerVerifier;
use portcullis::grant::{
    AuthorizationCodeGrant, PasswordGrant, RefreshTokenGrant, RefreshTokenRotation,
};
use portcullis::jose::{Algorithm, JwkSet, KeySet, SigningKey, sign_json};
use portcullis::oidc::{Claims, OpenIdConnect, StaticClaims};
use portcullis::protocol::{GrantType, Resource, Scope};
use portcullis::resource::{BearerValidator, DpopResource, Realm};
use portcullis::store::MemoryStore;
use portcullis::store::{StoreError, Subject};
use portcullis::token::{Clock, Confirmation, ManualClock, TokenLifetimes};
use portcullis::{AuthorizationServer, BuildError, ServerBuilder};
use serde_json::{Value, json};
use url::Url;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const TOKEN_URL: &str = "https://auth.example/token";
const PAR_URL: &str = "https://auth.example/par";
const REDIRECT: &str = "https://client.example/cb";
const API: &str = "https://api.example/photos";

struct Fapi {
    server: AuthorizationServer,
    clock: Arc<ManualClock>,
}

/// A server under the profile with what it needs: the code and refresh
/// grants, a replay cache (`private_key_jwt`), DPoP.
fn fapi_builder(store: &MemoryStore, clock: &Arc<ManualClock>) -> ServerBuilder {
    AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store.clone())
        .clock(clock.clone())
        .grant(AuthorizationCodeGrant)
        .grant(RefreshTokenGrant)
        .replay_cache(store.clone())
        .dpop(Dpop::new(store.clone()))
        .fapi2_security_profile()
}

fn fapi_with(customise: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Fapi {
    let store = MemoryStore::new();
    let clock = Arc::new(ManualClock::new(start()));
    Fapi {
        server: customise(fapi_builder(&store, &clock)).build().unwrap(),
        clock,
    }
}

fn fapi() -> Fapi {
    fapi_with(|b| b)
}

/// What `build` says of the profile's server with `customise` applied.
fn build_with(customise: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Result<(), BuildError> {
    let store = MemoryStore::new();
    let clock = Arc::new(ManualClock::new(start()));
    customise(fapi_builder(&store, &clock)).build().map(|_| ())
}

/// A user store that knows no one.
struct NoUsers;

impl ResourceOwnerVerifier for NoUsers {
    async fn verify(&self, _: &str, _: &str) -> Result<Option<Subject>, StoreError> {
        Ok(None)
    }
}

/// A fetcher that fetches nothing.
#[derive(Debug)]
struct NoFetcher;

impl Fetcher for NoFetcher {
    fn get<'a>(
        &'a self,
        _url: &'a Url,
        _limits: FetchLimits,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<http::Response<Vec<u8>>, FetchError>>
                + Send
                + 'a,
        >,
    > {
        Box::pin(std::future::ready(Err(FetchError::new("offline"))))
    }
}

#[track_caller]
fn assert_conflict(result: Result<(), BuildError>, conflict: Fapi2Conflict, clause: &str) {
    let error = result.expect_err("the profile refuses this configuration");
    assert_eq!(error, BuildError::Fapi2(conflict));
    assert!(error.to_string().contains(clause), "{error}");
}

/// A `private_key_jwt` client of the code flow: its key and id.
struct Client {
    id: String,
    key: SigningKey,
}

fn client_registration(key: &SigningKey) -> ClientRegistration {
    let jwks = JwkSet::from_value(&json!({ "keys": [key.public_jwk()] })).unwrap();
    ClientRegistration::web_application()
        .redirect_uri(REDIRECT)
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .grant_type(GrantType::REFRESH_TOKEN)
        .scope("openid read write".parse().unwrap())
        .auth_method(AuthMethod::PRIVATE_KEY_JWT)
        .jwks(&jwks)
}

impl Fapi {
    async fn client(&self, alg: Algorithm) -> Client {
        let key = SigningKey::generate(alg)
            .unwrap()
            .with_key_id("client-key")
            .unwrap();
        let registered = self
            .server
            .register_client(client_registration(&key))
            .await
            .unwrap();
        Client {
            id: registered.client.id().to_string(),
            key,
        }
    }

    fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// A client assertion of `client` with `aud`, issued `ahead` seconds
    /// in the future.
    async fn assertion_with(&self, client: &Client, aud: Value, ahead: i64) -> String {
        static JTI: AtomicUsize = AtomicUsize::new(0);
        let now = portcullis::jose::seconds(self.now()) + ahead;
        let claims = json!({
            "iss": client.id,
            "sub": client.id,
            "aud": aud,
            "iat": now,
            "exp": now + 60,
            "jti": format!("fapi-jti-{}", JTI.fetch_add(1, Ordering::SeqCst)),
        });
        sign_json(&client.key, None, &claims).await.unwrap()
    }

    /// The form parameters of a good client assertion of `client`.
    async fn auth(&self, client: &Client) -> String {
        self.auth_with(client, json!(ISSUER), 0).await
    }

    async fn auth_with(&self, client: &Client, aud: Value, ahead: i64) -> String {
        format!(
            "client_assertion_type={}&client_assertion={}",
            form_encode(ASSERTION_TYPE),
            self.assertion_with(client, aud, ahead).await
        )
    }

    /// A push of `body` (client authentication included by the caller).
    async fn push(&self, body: &str, proof: Option<String>) -> Reply {
        let mut request = form(PAR_URL, body);
        if let Some(proof) = proof {
            request
                .headers_mut()
                .insert("dpop", HeaderValue::from_str(&proof).unwrap());
        }
        Reply::from(
            self.server
                .pushed_authorization_request_endpoint(request)
                .await,
        )
    }

    /// The parameters of a good code request of `client` (PKCE S256,
    /// `redirect_uri`, `state`, and `scope=read` unless `extra` names a
    /// scope) and `extra`.
    fn code_request(client: &Client, extra: &str) -> String {
        let scope = if extra.contains("&scope=") {
            ""
        } else {
            "&scope=read"
        };
        format!(
            "response_type=code&client_id={}&redirect_uri={}&code_challenge={CHALLENGE}\
             &code_challenge_method=S256&state=xyz{scope}{extra}",
            client.id,
            form_encode(REDIRECT)
        )
    }

    /// Pushes `client`'s code request bound to `key` by `dpop_jkt`,
    /// approves it for alice, and returns the redirect's parameters.
    async fn code_for(
        &self,
        client: &Client,
        key: &ProofKey,
        extra: &str,
    ) -> Vec<(String, String)> {
        let body = format!(
            "{}&{}",
            Self::code_request(client, &format!("&dpop_jkt={}{extra}", key.jkt())),
            self.auth(client).await
        );
        let pushed = self.push(&body, None).await;
        assert_eq!(pushed.status, 201, "{:?}", pushed.json);
        let request_uri = pushed.json["request_uri"].as_str().unwrap();
        let pending = self
            .server
            .authorization_request(
                &Request::get(format!(
                    "https://auth.example/authorize?client_id={}&request_uri={}",
                    client.id,
                    form_encode(request_uri)
                ))
                .body(Vec::<u8>::new())
                .unwrap(),
            )
            .await
            .unwrap();
        let response = self.server.approve(pending, "alice", None).await.unwrap();
        assert_eq!(response.status(), 303);
        common::redirect_params(&response)
    }

    /// A token request with `body`, and a DPoP proof of `key` when given.
    async fn token(&self, body: &str, key: Option<&ProofKey>) -> Reply {
        let mut request = form(TOKEN_URL, body);
        if let Some(key) = key {
            let proof = key.proof("POST", TOKEN_URL, self.now(), None, None);
            request
                .headers_mut()
                .insert("dpop", HeaderValue::from_str(&proof).unwrap());
        }
        Reply::from(self.server.token_endpoint(request).await)
    }

    /// Redeems `code` as `client`, proving `key`.
    async fn redeem(&self, client: &Client, code: &str, key: Option<&ProofKey>) -> Reply {
        let body = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}&{}",
            form_encode(REDIRECT),
            self.auth(client).await
        );
        self.token(&body, key).await
    }

    async fn refresh(&self, client: &Client, refresh_token: &str, key: &ProofKey) -> Reply {
        let body = format!(
            "grant_type=refresh_token&refresh_token={refresh_token}&{}",
            self.auth(client).await
        );
        self.token(&body, Some(key)).await
    }

    /// Tokens for `client` bound to `key`: the code flow's token response.
    async fn tokens(&self, client: &Client, key: &ProofKey) -> Reply {
        let params = self.code_for(client, key, "").await;
        let code = param(&params, "code").unwrap().to_owned();
        let reply = self.redeem(client, &code, Some(key)).await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        reply
    }

    async fn alive(&self, access_token: &str) -> bool {
        self.server
            .access_token_info(access_token)
            .await
            .unwrap()
            .is_some()
    }
}

fn form(url: &str, body: &str) -> Request<Vec<u8>> {
    Request::post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

// ---------------------------------------------------------------------------
// The whole flow.

/// PAR with `private_key_jwt` (ES256 and PS256) + PKCE S256 + `dpop_jkt` →
/// code (with `iss`, RFC 9207) → DPoP-bound tokens → refreshes that keep
/// the refresh token → the access token accepted at a resource with its
/// proof, and refused without it.
#[tokio::test]
async fn fapi2_happy_path_par_private_key_jwt_pkce_dpop_refresh_resource() {
    for alg in [Algorithm::Es256, Algorithm::Ps256] {
        let h = fapi();
        let client = h.client(alg).await;
        let key = ProofKey::new();
        let params = h.code_for(&client, &key, "").await;
        // §5.3.2.2 item 7: iss in the authorization response.
        assert_eq!(param(&params, "iss"), Some(ISSUER));
        let code = param(&params, "code").unwrap().to_owned();
        let reply = h.redeem(&client, &code, Some(&key)).await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        assert_eq!(reply.json["token_type"], "DPoP");
        let access = reply.access_token().to_owned();
        let refresh = reply.json["refresh_token"].as_str().unwrap().to_owned();
        let info = h.server.access_token_info(&access).await.unwrap().unwrap();
        assert_eq!(info.cnf, Some(Confirmation::jkt(key.jkt())));

        // §5.3.2.1 item 9: no rotation; the refresh token works again.
        let mut last = access.clone();
        for _ in 0..2 {
            h.clock.advance(Duration::from_secs(5));
            let refreshed = h.refresh(&client, &refresh, &key).await;
            assert_eq!(refreshed.status, 200, "{:?}", refreshed.json);
            assert_eq!(refreshed.json["token_type"], "DPoP");
            assert!(refreshed.json.get("refresh_token").is_none());
            let fresh = refreshed.access_token().to_owned();
            assert_ne!(fresh, last);
            let info = h.server.access_token_info(&fresh).await.unwrap().unwrap();
            assert_eq!(info.cnf, Some(Confirmation::jkt(key.jkt())));
            last = fresh;
        }

        // The resource accepts the token with a proof of its key only.
        let clock: Arc<dyn Clock> = h.clock.clone();
        let validator = BearerValidator::new(h.server.clone(), Realm::new("photos").unwrap()).dpop(
            DpopResource::new(
                Dpop::new(MemoryStore::new()),
                Url::parse("https://api.example").unwrap(),
            )
            .clock(clock),
        );
        let proof = key.proof("GET", API, h.now(), Some(&last), None);
        let request = Request::get(API)
            .header("authorization", format!("DPoP {last}"))
            .header("dpop", proof)
            .body(Vec::<u8>::new())
            .unwrap();
        let info = validator.validate(&request, &Scope::empty()).await.unwrap();
        assert_eq!(info.cnf, Some(Confirmation::jkt(key.jkt())));
        let bearer = Request::get(API)
            .header("authorization", format!("Bearer {last}"))
            .body(Vec::<u8>::new())
            .unwrap();
        assert!(validator.validate(&bearer, &Scope::empty()).await.is_err());
    }
}

// ---------------------------------------------------------------------------
// Build-time conflicts, one per clause.

#[test]
fn fapi2_5_3_2_1_2_password_grant_is_a_build_error() {
    assert_conflict(
        build_with(|b| b.grant(PasswordGrant::new(NoUsers))),
        Fapi2Conflict::PasswordGrant,
        "§5.3.2.1 item 2",
    );
}

#[test]
fn fapi2_5_3_2_1_3_client_id_metadata_documents_are_a_build_error() {
    assert_conflict(
        build_with(|b| {
            b.client_id_metadata_documents(ClientIdMetadataDocuments::new(Arc::new(NoFetcher)))
        }),
        Fapi2Conflict::ClientIdMetadataDocuments,
        "§5.3.2.1 item 3",
    );
}

#[test]
fn fapi2_5_3_2_1_5_no_sender_constraint_is_a_build_error() {
    let store = MemoryStore::new();
    let result = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store.clone())
        .grant(AuthorizationCodeGrant)
        .replay_cache(store.clone())
        .fapi2_security_profile()
        .build()
        .map(|_| ());
    assert_conflict(
        result,
        Fapi2Conflict::NoSenderConstraint,
        "§5.3.2.1 items 4 and 5",
    );
}

#[test]
fn fapi2_5_3_2_1_6_no_private_key_jwt_is_a_build_error() {
    let store = MemoryStore::new();
    let result = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store.clone())
        .grant(AuthorizationCodeGrant)
        .dpop(Dpop::new(store.clone()))
        .fapi2_security_profile()
        .build()
        .map(|_| ());
    assert_conflict(
        result,
        Fapi2Conflict::NoClientAuthentication,
        "§5.3.2.1 item 6",
    );
}

#[test]
fn fapi2_5_3_2_1_6_client_secret_jwt_is_a_build_error() {
    assert_conflict(
        build_with(|b| b.client_secret_jwt_key(vec![7u8; 32])),
        Fapi2Conflict::ClientSecretJwt,
        "§5.3.2.1 item 6",
    );
}

#[test]
fn fapi2_5_3_2_1_9_refresh_rotation_is_a_build_error() {
    assert_conflict(
        build_with(|b| b.refresh_token_rotation(RefreshTokenRotation::Always)),
        Fapi2Conflict::RefreshTokenRotation,
        "§5.3.2.1 item 9",
    );
}

#[test]
fn fapi2_5_3_2_1_11_code_lifetime_over_60_seconds_is_a_build_error() {
    let lifetimes = TokenLifetimes::default().with_authorization_code(Duration::from_secs(61));
    assert_conflict(
        build_with(|b| b.token_lifetimes(lifetimes)),
        Fapi2Conflict::CodeLifetime,
        "§5.3.2.1 item 11",
    );
    let sixty = TokenLifetimes::default().with_authorization_code(Duration::from_secs(60));
    assert!(build_with(|b| b.token_lifetimes(sixty)).is_ok());
}

#[test]
fn fapi2_5_3_2_1_13_leeway_over_60_seconds_is_a_build_error() {
    assert_conflict(
        build_with(|b| {
            b.client_assertion_settings(
                ClientAssertionSettings::default().with_leeway(Duration::from_secs(61)),
            )
        }),
        Fapi2Conflict::AssertionClockSkew,
        "§5.3.2.1 item 13",
    );
    assert_conflict(
        build_with(|b| {
            b.dpop(
                Dpop::new(MemoryStore::new())
                    .proof_window(Duration::from_secs(60), Duration::from_secs(61)),
            )
        }),
        Fapi2Conflict::DpopClockSkew,
        "§5.3.2.1 item 13",
    );
}

#[test]
fn fapi2_5_3_2_2_1_implicit_grant_is_a_build_error() {
    assert_conflict(
        build_with(ServerBuilder::enable_implicit_grant),
        Fapi2Conflict::ImplicitGrant,
        "§5.3.2.2 item 1",
    );
}

#[test]
fn fapi2_5_3_2_2_5_plain_or_optional_pkce_is_a_build_error() {
    assert_conflict(
        build_with(ServerBuilder::allow_plain_pkce),
        Fapi2Conflict::PlainPkce,
        "§5.3.2.2 item 5",
    );
    assert_conflict(
        build_with(ServerBuilder::pkce_optional_for_confidential_clients),
        Fapi2Conflict::OptionalPkce,
        "§5.3.2.2 item 5",
    );
}

#[test]
fn fapi2_5_3_2_2_12_pushed_request_lifetime_of_600_seconds_is_a_build_error() {
    assert_conflict(
        build_with(|b| b.pushed_authorization_request_lifetime(Duration::from_secs(600))),
        Fapi2Conflict::PushedRequestLifetime,
        "§5.3.2.2 item 12",
    );
    assert!(
        build_with(|b| b.pushed_authorization_request_lifetime(Duration::from_secs(599))).is_ok()
    );
}

fn openid() -> OpenIdConnect {
    OpenIdConnect::new(StaticClaims::new().user("alice", Claims::new().with("name", "Alice")))
}

fn keys(algorithms: &[Algorithm]) -> KeySet {
    algorithms.iter().fold(KeySet::new(), |set, alg| {
        set.with_key(SigningKey::generate(*alg).unwrap()).unwrap()
    })
}

#[test]
fn fapi2_5_4_1_rs256_anywhere_is_a_build_error() {
    // OpenID Connect's default, RS256.
    assert_conflict(
        build_with(|b| {
            b.signing_keys(keys(&[Algorithm::Rs256, Algorithm::Ps256]))
                .openid_connect(openid())
        }),
        Fapi2Conflict::IdTokenAlgorithm,
        "§5.4.1 item 1.2",
    );
    assert!(
        build_with(|b| {
            b.signing_keys(keys(&[Algorithm::Ps256]))
                .openid_connect(openid().id_token_signing_alg(Algorithm::Ps256))
        })
        .is_ok()
    );
    assert_conflict(
        build_with(|b| {
            b.signing_keys(keys(&[Algorithm::Rs256]))
                .access_token_signing_alg(Algorithm::Rs256)
        }),
        Fapi2Conflict::AccessTokenAlgorithm,
        "§5.4.1 item 1.2",
    );
    // JWT access tokens with only an RS256 key: nothing the profile allows.
    assert_conflict(
        build_with(|b| {
            b.signing_keys(keys(&[Algorithm::Rs256]))
                .resource(Resource::new("https://api.example").unwrap().jwt())
        }),
        Fapi2Conflict::AccessTokenAlgorithm,
        "§5.4.1 item 1.2",
    );
    assert_conflict(
        build_with(|b| b.request_object_signing_algs([Algorithm::Rs256, Algorithm::Es256])),
        Fapi2Conflict::RequestObjectAlgorithm,
        "§5.4.1 item 1.2",
    );
    assert_conflict(
        build_with(|b| {
            b.dpop(Dpop::new(MemoryStore::new()).algorithms(&[Algorithm::Rs256, Algorithm::Es256]))
        }),
        Fapi2Conflict::DpopAlgorithm,
        "§5.4.1 item 1.2",
    );
}

/// The order of the builder calls does not matter: the profile first or
/// last gives the same server, and the same refusal.
#[test]
fn fapi2_profile_is_order_independent() {
    let store = MemoryStore::new();
    let last = AuthorizationServer::builder(ISSUER)
        .fapi2_security_profile()
        .clients(store.clone())
        .tokens(store.clone())
        .grant(AuthorizationCodeGrant)
        .replay_cache(store.clone())
        .dpop(Dpop::new(store.clone()))
        .build()
        .unwrap();
    assert!(last.metadata().pushed.require_pushed_authorization_requests);
    let refused = AuthorizationServer::builder(ISSUER)
        .fapi2_security_profile()
        .clients(store.clone())
        .tokens(store.clone())
        .grant(AuthorizationCodeGrant)
        .replay_cache(store.clone())
        .dpop(Dpop::new(store.clone()))
        .allow_plain_pkce()
        .build()
        .map(|_| ());
    assert_conflict(refused, Fapi2Conflict::PlainPkce, "§5.3.2.2 item 5");
}

// ---------------------------------------------------------------------------
// Metadata (§5.3.2.1 item 1).

#[tokio::test]
async fn fapi2_5_3_2_1_1_metadata_reflects_the_profile() {
    let h = fapi_with(|b| {
        b.signing_keys(keys(&[
            Algorithm::Rs256,
            Algorithm::Ps256,
            Algorithm::Es256,
        ]))
        .openid_connect(openid().id_token_signing_alg(Algorithm::Es256))
    });
    let document = serde_json::to_value(h.server.metadata()).unwrap();
    assert_eq!(document["require_pushed_authorization_requests"], true);
    assert_eq!(document["response_types_supported"], json!(["code"]));
    assert_eq!(
        document["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        document["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(
        document["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt"])
    );
    let fapi = json!(["PS256", "ES256", "EdDSA"]);
    for member in [
        "token_endpoint_auth_signing_alg_values_supported",
        "dpop_signing_alg_values_supported",
    ] {
        assert_eq!(document[member], fapi, "{member}");
    }
    for member in [
        "request_object_signing_alg_values_supported",
        "id_token_signing_alg_values_supported",
    ] {
        let algs = document[member].as_array().unwrap();
        assert!(!algs.is_empty(), "{member}");
        assert!(
            algs.iter()
                .all(|a| ["PS256", "ES256", "EdDSA"].contains(&a.as_str().unwrap())),
            "{member}: {algs:?}"
        );
    }
    assert!(
        document["grant_types_supported"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g != "password" && g != "implicit")
    );
}

// ---------------------------------------------------------------------------
// Request-time rules.

/// §5.3.2.1 items 3 and 6: a `client_secret_basic` client is refused at the
/// token and PAR endpoints with `invalid_client`, as a public client is.
#[tokio::test]
async fn fapi2_5_3_2_1_6_client_secret_and_public_clients_are_invalid_client() {
    let h = fapi();
    let secret_client = h
        .server
        .register_client(
            ClientRegistration::web_application()
                .redirect_uri(REDIRECT)
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .scope("read".parse().unwrap()),
        )
        .await
        .unwrap();
    let id = secret_client.client.id().to_string();
    let secret = secret_client.secret.unwrap().expose_secret().to_owned();
    let mut request = form(
        PAR_URL,
        &format!(
            "response_type=code&redirect_uri={}&code_challenge={CHALLENGE}\
             &code_challenge_method=S256&scope=read",
            form_encode(REDIRECT)
        ),
    );
    request
        .headers_mut()
        .insert("authorization", basic(&id, &secret).parse().unwrap());
    let reply = Reply::from(
        h.server
            .pushed_authorization_request_endpoint(request)
            .await,
    );
    reply.assert_error(401, "invalid_client");
    let key = ProofKey::new();
    let mut request = form(
        TOKEN_URL,
        "grant_type=authorization_code&code=x&code_verifier=y",
    );
    request
        .headers_mut()
        .insert("authorization", basic(&id, &secret).parse().unwrap());
    request.headers_mut().insert(
        "dpop",
        HeaderValue::from_str(&key.proof("POST", TOKEN_URL, h.now(), None, None)).unwrap(),
    );
    Reply::from(h.server.token_endpoint(request).await).assert_error(401, "invalid_client");

    // A public client: client_id only.
    let public = h
        .server
        .register_client(
            ClientRegistration::native()
                .redirect_uri("http://127.0.0.1/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .scope("read".parse().unwrap()),
        )
        .await
        .unwrap();
    let reply = h
        .push(
            &format!(
                "response_type=code&client_id={}&redirect_uri={}&code_challenge={CHALLENGE}\
                 &code_challenge_method=S256&scope=read",
                public.client.id(),
                form_encode("http://127.0.0.1/cb")
            ),
            None,
        )
        .await;
    reply.assert_error(400, "invalid_client");
}

/// §5.3.2.1 item 6: dynamic registration offers only `private_key_jwt`
/// (and mutual TLS): another method is `invalid_client_metadata`.
#[tokio::test]
async fn fapi2_5_3_2_1_6_dynamic_registration_refuses_other_methods() {
    let h = fapi_with(|b| b.dynamic_registration(DynamicRegistration::open()));
    for method in ["client_secret_basic", "client_secret_post", "none"] {
        let request = Request::post("https://auth.example/register")
            .header("content-type", "application/json")
            .body(
                json!({
                    "redirect_uris": [REDIRECT],
                    "token_endpoint_auth_method": method,
                })
                .to_string()
                .into_bytes(),
            )
            .unwrap();
        let reply = Reply::from(h.server.registration_endpoint(request).await);
        assert_eq!(
            (reply.status, reply.error()),
            (400, "invalid_client_metadata"),
            "{method}: {:?}",
            reply.json
        );
    }
}

/// §5.3.2.1 items 4 and 5: a token request without a DPoP proof gets no
/// token: `invalid_dpop_proof` (RFC 9449 §5.2), and the code stays
/// redeemable with a proof.
#[tokio::test]
async fn fapi2_5_3_2_1_4_token_request_without_dpop_proof_is_refused() {
    let h = fapi();
    let client = h.client(Algorithm::Es256).await;
    let key = ProofKey::new();
    let params = h.code_for(&client, &key, "").await;
    let code = param(&params, "code").unwrap().to_owned();
    h.redeem(&client, &code, None)
        .await
        .assert_error(400, "invalid_dpop_proof");
    let reply = h.redeem(&client, &code, Some(&key)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    // A refresh without a proof is refused too.
    let refresh = reply.json["refresh_token"].as_str().unwrap();
    let body = format!(
        "grant_type=refresh_token&refresh_token={refresh}&{}",
        h.auth(&client).await
    );
    h.token(&body, None)
        .await
        .assert_error(400, "invalid_dpop_proof");
}

/// §5.3.2.1 item 8: only the issuer identifier, as a string, in a client
/// assertion's `aud`: an array of it, or the endpoint's URL, is refused.
#[tokio::test]
async fn fapi2_5_3_2_1_8_assertion_aud_must_be_the_issuer_string() {
    let h = fapi();
    let client = h.client(Algorithm::Es256).await;
    for aud in [json!([ISSUER]), json!(PAR_URL)] {
        let body = format!(
            "{}&{}",
            Fapi::code_request(&client, ""),
            h.auth_with(&client, aud.clone(), 0).await
        );
        let reply = h.push(&body, None).await;
        assert_eq!(
            (reply.status, reply.error()),
            (400, "invalid_client"),
            "{aud}"
        );
    }
    let body = format!(
        "{}&{}",
        Fapi::code_request(&client, ""),
        h.auth(&client).await
    );
    assert_eq!(h.push(&body, None).await.status, 201);
}

/// §5.3.2.1 item 9 (and Note 1): refreshes keep the refresh token, may be
/// repeated, and revoking the grant still kills it and every access token.
#[tokio::test]
async fn fapi2_5_3_2_1_9_refresh_without_rotation_dies_with_its_grant() {
    let h = fapi();
    let client = h.client(Algorithm::Es256).await;
    let key = ProofKey::new();
    let reply = h.tokens(&client, &key).await;
    let first = reply.access_token().to_owned();
    let refresh = reply.json["refresh_token"].as_str().unwrap().to_owned();
    let mut issued = vec![first];
    for _ in 0..3 {
        let refreshed = h.refresh(&client, &refresh, &key).await;
        assert_eq!(refreshed.status, 200, "{:?}", refreshed.json);
        assert!(refreshed.json.get("refresh_token").is_none());
        issued.push(refreshed.access_token().to_owned());
    }
    for token in &issued {
        assert!(h.alive(token).await);
    }
    // The checks of a rotation hold without one (RFC 6749 §6): another
    // client cannot use the token, nor can its own client widen the scope;
    // neither refusal costs the grant anything.
    let other = h.client(Algorithm::Es256).await;
    h.refresh(&other, &refresh, &key)
        .await
        .assert_error(400, "invalid_grant");
    let wider = format!(
        "grant_type=refresh_token&refresh_token={refresh}&scope=read%20write&{}",
        h.auth(&client).await
    );
    h.token(&wider, Some(&key))
        .await
        .assert_error(400, "invalid_scope");
    for token in &issued {
        assert!(h.alive(token).await, "a refused refresh revokes nothing");
    }
    // Revoking the refresh token (RFC 7009 §2.1) revokes the grant.
    let body = format!("token={refresh}&{}", h.auth(&client).await);
    let revoked = h
        .server
        .revocation_endpoint(form("https://auth.example/revoke", &body))
        .await;
    assert_eq!(revoked.status(), 200);
    for token in &issued {
        assert!(!h.alive(token).await, "revoked with its grant");
    }
    h.refresh(&client, &refresh, &key)
        .await
        .assert_error(400, "invalid_grant");
}

/// The rotation option on its own: `PublicClientsOnly` outside the profile
/// keeps a confidential client's token, and still rotates a public
/// client's (RFC 9700 §4.14.2).
#[tokio::test]
async fn refresh_token_rotation_public_clients_only_still_rotates_public_clients() {
    let h = common::harness_with(|b| {
        b.grant(AuthorizationCodeGrant)
            .grant(RefreshTokenGrant)
            .refresh_token_rotation(RefreshTokenRotation::PublicClientsOnly)
    });
    let public = h.native_client().await;
    let params = h.code_for(&public, "").await;
    let reply = h.redeem(&public, param(&params, "code").unwrap()).await;
    let refresh = reply.json["refresh_token"].as_str().unwrap().to_owned();
    let rotated = h.post(common::refresh_request(&public, &refresh, "")).await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.json);
    let next = rotated.json["refresh_token"].as_str().unwrap();
    assert_ne!(next, refresh);
    // The old one is now a reuse: refused, and the grant is revoked.
    h.post(common::refresh_request(&public, &refresh, ""))
        .await
        .assert_error(400, "invalid_grant");
    h.post(common::refresh_request(&public, next, ""))
        .await
        .assert_error(400, "invalid_grant");

    let confidential = h
        .register(
            ClientRegistration::web_application()
                .redirect_uri(REDIRECT)
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .grant_type(GrantType::REFRESH_TOKEN)
                .scope("read".parse().unwrap()),
        )
        .await;
    let params = h
        .code_for(
            &confidential,
            &format!("&redirect_uri={}", form_encode(REDIRECT)),
        )
        .await;
    let code = param(&params, "code").unwrap();
    let reply = h
        .post(common::token_request(
            Some(&basic(&confidential.id, &confidential.secret)),
            &format!(
                "grant_type=authorization_code&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
                form_encode(REDIRECT)
            ),
        ))
        .await;
    let refresh = reply.json["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let kept = h
            .post(common::refresh_request(&confidential, &refresh, ""))
            .await;
        assert_eq!(kept.status, 200, "{:?}", kept.json);
        assert!(kept.json.get("refresh_token").is_none());
    }
}

/// §5.3.2.1 item 12: a code bound by `dpop_jkt` is redeemed only with a
/// proof of that key.
#[tokio::test]
async fn fapi2_5_3_2_1_12_dpop_jkt_binds_the_code() {
    let h = fapi();
    let client = h.client(Algorithm::Es256).await;
    let key = ProofKey::new();
    let params = h.code_for(&client, &key, "").await;
    let code = param(&params, "code").unwrap().to_owned();
    let thief = ProofKey::new();
    h.redeem(&client, &code, Some(&thief))
        .await
        .assert_error(400, "invalid_dpop_proof");
    assert_eq!(h.redeem(&client, &code, Some(&key)).await.status, 200);
}

/// §5.3.2.1 item 13: a DPoP proof and a client assertion 10 seconds in the
/// future are accepted; 61 seconds ahead, refused.
#[tokio::test]
async fn fapi2_5_3_2_1_13_jwts_10_seconds_ahead_accepted_61_refused() {
    let h = fapi();
    let client = h.client(Algorithm::Es256).await;
    let key = ProofKey::new();
    let params = h.code_for(&client, &key, "").await;
    let code = param(&params, "code").unwrap().to_owned();
    let body = |auth: String| {
        format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}&{auth}",
            form_encode(REDIRECT)
        )
    };
    let with_proof = |body: &str, ahead: u64| {
        let mut request = form(TOKEN_URL, body);
        let proof = key.proof(
            "POST",
            TOKEN_URL,
            h.now() + Duration::from_secs(ahead),
            None,
            None,
        );
        request
            .headers_mut()
            .insert("dpop", HeaderValue::from_str(&proof).unwrap());
        request
    };
    // Refusals first: the code stays redeemable.
    let late_proof = with_proof(&body(h.auth(&client).await), 61);
    Reply::from(h.server.token_endpoint(late_proof).await).assert_error(400, "invalid_dpop_proof");
    let late_assertion = with_proof(&body(h.auth_with(&client, json!(ISSUER), 61).await), 0);
    Reply::from(h.server.token_endpoint(late_assertion).await).assert_error(400, "invalid_client");
    let early = with_proof(&body(h.auth_with(&client, json!(ISSUER), 10).await), 10);
    let reply = Reply::from(h.server.token_endpoint(early).await);
    assert_eq!(reply.status, 200, "{:?}", reply.json);
}

/// §5.3.2.2 items 2 to 4: authorization requests not pushed are refused;
/// a push without client authentication is refused.
#[tokio::test]
async fn fapi2_5_3_2_2_3_unpushed_requests_and_unauthenticated_pushes_are_refused() {
    let h = fapi();
    let client = h.client(Algorithm::Es256).await;
    let result = h
        .server
        .authorization_request(
            &Request::get(format!(
                "https://auth.example/authorize?{}",
                Fapi::code_request(&client, "")
            ))
            .body(Vec::<u8>::new())
            .unwrap(),
        )
        .await;
    common::assert_rejected(result, "invalid_request");
    let reply = h.push(&Fapi::code_request(&client, ""), None).await;
    assert_eq!((reply.status, reply.error()), (400, "invalid_client"));
}

/// §5.3.2.2 item 5: PKCE S256 is required; `plain` or none is refused at
/// the push.
#[tokio::test]
async fn fapi2_5_3_2_2_5_pkce_s256_required_at_push() {
    let h = fapi();
    let client = h.client(Algorithm::Es256).await;
    let auth = h.auth(&client).await;
    let without = format!(
        "response_type=code&client_id={}&redirect_uri={}&scope=read&{auth}",
        client.id,
        form_encode(REDIRECT)
    );
    h.push(&without, None)
        .await
        .assert_error(400, "invalid_request");
    let auth = h.auth(&client).await;
    let plain = format!(
        "response_type=code&client_id={}&redirect_uri={}&scope=read&code_challenge={CHALLENGE}\
         &code_challenge_method=plain&{auth}",
        client.id,
        form_encode(REDIRECT)
    );
    h.push(&plain, None)
        .await
        .assert_error(400, "invalid_request");
}

/// §5.3.2.2 item 6: `redirect_uri` is required in a pushed request.
#[tokio::test]
async fn fapi2_5_3_2_2_6_push_without_redirect_uri_is_invalid_request() {
    let h = fapi();
    let client = h.client(Algorithm::Es256).await;
    let body = format!(
        "response_type=code&client_id={}&code_challenge={CHALLENGE}&code_challenge_method=S256\
         &scope=read&{}",
        client.id,
        h.auth(&client).await
    );
    let reply = h.push(&body, None).await;
    reply.assert_error(400, "invalid_request");
    assert!(
        reply.description().contains("redirect_uri"),
        "{:?}",
        reply.json
    );
}

/// §5.3.2.2 item 8: an `http` redirect URI is refused for a (confidential)
/// web client — at registration, and so never reached at the push.
#[tokio::test]
async fn fapi2_5_3_2_2_8_http_redirect_uri_is_refused() {
    let h = fapi();
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let registered = h
        .server
        .register_client(client_registration(&key).redirect_uri("http://client.example/cb"))
        .await;
    assert!(
        registered.is_err(),
        "http redirect URIs cannot be registered"
    );
    let client = h.client(Algorithm::Es256).await;
    let body = format!(
        "response_type=code&client_id={}&redirect_uri={}&code_challenge={CHALLENGE}\
         &code_challenge_method=S256&scope=read&{}",
        client.id,
        form_encode("http://client.example/cb"),
        h.auth(&client).await
    );
    h.push(&body, None)
        .await
        .assert_error(400, "invalid_request");
}

/// §5.3.2.2 items 9 to 11: a code works once (its replay revokes the
/// tokens), and the front channel redirects with 303, never 307.
#[tokio::test]
async fn fapi2_5_3_2_2_9_code_single_use_and_303_redirect() {
    let h = fapi();
    let client = h.client(Algorithm::Es256).await;
    let key = ProofKey::new();
    // `code_for` asserts the 303.
    let params = h.code_for(&client, &key, "").await;
    let code = param(&params, "code").unwrap().to_owned();
    let reply = h.redeem(&client, &code, Some(&key)).await;
    assert_eq!(reply.status, 200);
    let token = reply.access_token().to_owned();
    h.redeem(&client, &code, Some(&key))
        .await
        .assert_error(400, "invalid_grant");
    assert!(!h.alive(&token).await, "a replayed code revokes its tokens");
}

/// §5.3.2.2 item 12: `expires_in` under 600 seconds.
#[tokio::test]
async fn fapi2_5_3_2_2_12_par_expires_in_under_600_seconds() {
    let h = fapi();
    let client = h.client(Algorithm::Es256).await;
    let body = format!(
        "{}&{}",
        Fapi::code_request(&client, ""),
        h.auth(&client).await
    );
    let reply = h.push(&body, None).await;
    assert_eq!(reply.status, 201);
    let expires_in = reply.json["expires_in"].as_u64().unwrap();
    assert!(expires_in > 0 && expires_in < 600, "{expires_in}");
}

/// §5.3.2.2 item 14: an OpenID Connect `nonce` of 64 characters is
/// accepted, and comes back in the ID token.
#[tokio::test]
async fn fapi2_5_3_2_2_14_nonce_of_64_characters_accepted() {
    let h = fapi_with(|b| {
        b.signing_keys(keys(&[Algorithm::Ps256]))
            .openid_connect(openid().id_token_signing_alg(Algorithm::Ps256))
    });
    let client = h.client(Algorithm::Ps256).await;
    let key = ProofKey::new();
    let nonce = "n".repeat(64);
    let params = h
        .code_for(
            &client,
            &key,
            &format!("&scope=openid%20read&nonce={nonce}"),
        )
        .await;
    let code = param(&params, "code").unwrap().to_owned();
    let reply = h.redeem(&client, &code, Some(&key)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let id_token = reply.json["id_token"].as_str().unwrap();
    let header = common::dpop::jwt_claims(&format!("x.{}", id_token.split('.').next().unwrap()));
    assert_eq!(header["alg"], "PS256");
    assert_eq!(common::dpop::jwt_claims(id_token)["nonce"], nonce);
}

/// §5.4.1 item 1.2: a client assertion signed with RS256 (accepted outside
/// the profile) is refused.
#[tokio::test]
async fn fapi2_5_4_1_rs256_client_assertion_is_invalid_client() {
    let h = fapi();
    let client = h.client(Algorithm::Rs256).await;
    let body = format!(
        "{}&{}",
        Fapi::code_request(&client, ""),
        h.auth(&client).await
    );
    h.push(&body, None)
        .await
        .assert_error(400, "invalid_client");
}

/// A request object of `client`, `ahead` seconds in the future, with
/// `redirect_uri` when `with_redirect_uri`.
async fn request_object(h: &Fapi, client: &Client, ahead: i64, with_redirect_uri: bool) -> String {
    static JTI: AtomicUsize = AtomicUsize::new(0);
    let now = portcullis::jose::seconds(h.now()) + ahead;
    let mut claims = json!({
        "iss": client.id,
        "aud": ISSUER,
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": format!("fapi-ro-{}", JTI.fetch_add(1, Ordering::SeqCst)),
        "client_id": client.id,
        "response_type": "code",
        "scope": "read",
        "state": "signed-state",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    });
    if with_redirect_uri {
        claims["redirect_uri"] = json!(REDIRECT);
    }
    sign_json(&client.key, Some("oauth-authz-req+jwt"), &claims)
        .await
        .unwrap()
}

/// §5.3.2.1 item 13 for request objects, and §5.3.2.2 item 6 inside one:
/// a pushed request object 10 s ahead is accepted, 61 s ahead refused, and
/// one without `redirect_uri` is `invalid_request`.
#[tokio::test]
async fn fapi2_5_3_2_1_13_request_objects_10_seconds_ahead_accepted_61_refused() {
    let h = fapi();
    let client = h.client(Algorithm::Es256).await;
    let push =
        |object: String, auth: String| format!("client_id={}&request={object}&{auth}", client.id);
    let early = push(
        request_object(&h, &client, 10, true).await,
        h.auth(&client).await,
    );
    let reply = h.push(&early, None).await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    let late = push(
        request_object(&h, &client, 61, true).await,
        h.auth(&client).await,
    );
    let reply = h.push(&late, None).await;
    assert_eq!(reply.status, 400, "{:?}", reply.json);
    assert_eq!(reply.error(), "invalid_request_object");
    let without = push(
        request_object(&h, &client, 0, false).await,
        h.auth(&client).await,
    );
    let reply = h.push(&without, None).await;
    reply.assert_error(400, "invalid_request");
    assert!(
        reply.description().contains("redirect_uri"),
        "{:?}",
        reply.json
    );
}

/// §5.3.2.1 item 9 on the SQL store (SQLite): the non-rotating refresh adds
/// its access token to the live grant there too, bound to the proof's key,
/// and revoking the grant kills them all.
#[cfg(feature = "sql")]
#[tokio::test]
async fn fapi2_5_3_2_1_9_refresh_without_rotation_on_the_sql_store() {
    let memory = MemoryStore::new();
    let sql = portcullis::store::SqlStore::sqlite(":memory:")
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let h = Fapi {
        server: fapi_builder(&memory, &clock).tokens(sql).build().unwrap(),
        clock,
    };
    let client = h.client(Algorithm::Es256).await;
    let key = ProofKey::new();
    let reply = h.tokens(&client, &key).await;
    let refresh = reply.json["refresh_token"].as_str().unwrap().to_owned();
    let mut issued = vec![reply.access_token().to_owned()];
    for _ in 0..2 {
        let refreshed = h.refresh(&client, &refresh, &key).await;
        assert_eq!(refreshed.status, 200, "{:?}", refreshed.json);
        assert!(refreshed.json.get("refresh_token").is_none());
        let token = refreshed.access_token().to_owned();
        let info = h.server.access_token_info(&token).await.unwrap().unwrap();
        assert_eq!(info.cnf, Some(Confirmation::jkt(key.jkt())));
        issued.push(token);
    }
    let grant = h
        .server
        .access_token_info(&issued[0])
        .await
        .unwrap()
        .unwrap()
        .grant_id;
    assert!(h.server.revoke_grant(&grant).await.unwrap());
    for token in &issued {
        assert!(!h.alive(token).await);
    }
    h.refresh(&client, &refresh, &key)
        .await
        .assert_error(400, "invalid_grant");
}

// ---------------------------------------------------------------------------
// Mutual TLS (RFC 8705) as the profile's client authentication and sender
// constraint (§5.3.2.1 items 5 and 6).

/// A profile server with mutual TLS and no DPoP: the sender constraint is
/// the client certificate.
fn mtls_fapi() -> Fapi {
    let store = MemoryStore::new();
    let clock = Arc::new(ManualClock::new(start()));
    let server = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store.clone())
        .clock(clock.clone())
        .grant(AuthorizationCodeGrant)
        .grant(RefreshTokenGrant)
        .mutual_tls(MutualTls::new())
        .fapi2_security_profile()
        .build()
        .unwrap();
    Fapi { server, clock }
}

/// §5.3.2.1 items 4–6 with mutual TLS: a `tls_client_auth` client that did
/// not register `tls_client_certificate_bound_access_tokens` pushes, is
/// authorized and redeems its code with its certificate alone, and its
/// tokens are bound to the certificate all the same (`cnf.x5t#S256`,
/// `Bearer`); a resource takes the access token only over a connection
/// with that certificate; a refresh keeps the binding and the refresh
/// token; without the certificate the client cannot authenticate.
#[tokio::test]
async fn fapi2_5_3_2_1_5_mutual_tls_authenticates_and_binds_every_token() {
    let h = mtls_fapi();
    let cert = TestCert::named("fapi.client.example");
    let registered = h
        .server
        .register_client(
            ClientRegistration::web_application()
                .redirect_uri(REDIRECT)
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .grant_type(GrantType::REFRESH_TOKEN)
                .scope("read".parse().unwrap())
                .auth_method(AuthMethod::TLS_CLIENT_AUTH)
                .tls_client_auth_subject(TlsClientAuthSubject::SubjectDn(
                    "CN=fapi.client.example".into(),
                )),
        )
        .await
        .unwrap();
    let id = registered.client.id().to_string();
    assert!(
        !registered
            .client
            .tls_client_certificate_bound_access_tokens()
    );
    let over_tls = |request: Request<Vec<u8>>| with_cert(request, cert.verified());

    // The push: client_id and the certificate authenticate it.
    let body = format!(
        "response_type=code&client_id={id}&redirect_uri={}&code_challenge={CHALLENGE}\
         &code_challenge_method=S256&state=xyz&scope=read",
        form_encode(REDIRECT)
    );
    let unauthenticated = Reply::from(
        h.server
            .pushed_authorization_request_endpoint(form(PAR_URL, &body))
            .await,
    );
    assert_eq!(unauthenticated.json["error"], "invalid_client");
    let pushed = Reply::from(
        h.server
            .pushed_authorization_request_endpoint(over_tls(form(PAR_URL, &body)))
            .await,
    );
    assert_eq!(pushed.status, 201, "{:?}", pushed.json);
    let request_uri = pushed.json["request_uri"].as_str().unwrap();
    let pending = h
        .server
        .authorization_request(
            &Request::get(format!(
                "https://auth.example/authorize?client_id={id}&request_uri={}",
                form_encode(request_uri)
            ))
            .body(Vec::<u8>::new())
            .unwrap(),
        )
        .await
        .unwrap();
    let response = h.server.approve(pending, "alice", None).await.unwrap();
    let params = common::redirect_params(&response);
    let code = param(&params, "code").unwrap().to_owned();

    let redeem = format!(
        "grant_type=authorization_code&code={code}&client_id={id}&redirect_uri={}\
         &code_verifier={VERIFIER}",
        form_encode(REDIRECT)
    );
    let refused = Reply::from(h.server.token_endpoint(form(TOKEN_URL, &redeem)).await);
    assert_eq!(
        refused.json["error"], "invalid_client",
        "{:?}",
        refused.json
    );
    let reply = Reply::from(
        h.server
            .token_endpoint(over_tls(form(TOKEN_URL, &redeem)))
            .await,
    );
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["token_type"], "Bearer");
    let access = reply.json["access_token"].as_str().unwrap().to_owned();
    let refresh = reply.json["refresh_token"].as_str().unwrap().to_owned();
    let info = h.server.access_token_info(&access).await.unwrap().unwrap();
    assert_eq!(info.cnf, Some(Confirmation::x5t_s256(cert.x5t_s256())));

    // The resource: only over a connection with the same certificate.
    let validator = BearerValidator::new(h.server.clone(), Realm::new("api").unwrap());
    let call = |certificate: Option<portcullis::token::ClientCertificate>| {
        let request = Request::get(API)
            .header("authorization", format!("Bearer {access}"))
            .body(Vec::<u8>::new())
            .unwrap();
        match certificate {
            Some(c) => with_cert(request, c),
            None => request,
        }
    };
    let read: Scope = "read".parse().unwrap();
    assert!(
        validator
            .validate(&call(Some(cert.verified())), &read)
            .await
            .is_ok()
    );
    assert!(validator.validate(&call(None), &read).await.is_err());
    let other = TestCert::named("fapi.client.example");
    assert!(
        validator
            .validate(&call(Some(other.verified())), &read)
            .await
            .is_err()
    );

    // A refresh keeps the refresh token (§5.3.2.1 item 9) and the binding.
    let refreshed = Reply::from(
        h.server
            .token_endpoint(over_tls(form(
                TOKEN_URL,
                &format!("grant_type=refresh_token&refresh_token={refresh}&client_id={id}"),
            )))
            .await,
    );
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.json);
    assert!(
        refreshed.json.get("refresh_token").is_none(),
        "{:?}",
        refreshed.json
    );
    let renewed = refreshed.json["access_token"].as_str().unwrap();
    let info = h.server.access_token_info(renewed).await.unwrap().unwrap();
    assert_eq!(info.cnf, Some(Confirmation::x5t_s256(cert.x5t_s256())));
}

/// §5.3.2.1 item 5: mutual TLS alone is a sender-constraint mechanism the
/// profile accepts, and the metadata offers its methods and bound tokens.
#[tokio::test]
async fn fapi2_5_3_2_1_5_mutual_tls_is_a_sender_constraint() {
    let h = mtls_fapi();
    let metadata = serde_json::to_value(h.server.metadata()).unwrap();
    let methods = metadata["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&json!("tls_client_auth")), "{metadata}");
    assert!(methods.contains(&json!("self_signed_tls_client_auth")));
    assert!(!methods.contains(&json!("client_secret_basic")));
    assert_eq!(metadata["tls_client_certificate_bound_access_tokens"], true);
}
