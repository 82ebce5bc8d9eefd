//! JWT client authentication (RFC 7523 §2.2, §3; RFC 7521 §4.2, §8):
//! `private_key_jwt` and `client_secret_jwt` at every endpoint where a
//! client authenticates, and their refusals, through the public API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{ISSUER, Reply, basic, form_encode, start};
use http::Request;
use portcullis::client::{AuthMethod, ClientRegistration, ThrottlePolicy};
use portcullis::endpoint::DynamicRegistration;
use portcullis::fetch::{FetchError, FetchLimits, Fetcher};
use portcullis::grant::{ClientCredentialsGrant, DeviceCodeGrant};
use portcullis::jose::{Algorithm, JwkSet, SigningKey, sign_json};
use portcullis::protocol::GrantType;
use portcullis::store::MemoryStore;
use portcullis::token::ManualClock;
use portcullis::{AuthorizationServer, ServerBuilder};
use serde_json::{Value, json};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const TOKEN_URL: &str = "https://auth.example/token";
const REVOCATION_URL: &str = "https://auth.example/revoke";
const INTROSPECTION_URL: &str = "https://auth.example/introspect";
const DEVICE_URL: &str = "https://auth.example/device_authorization";
const JWKS_URI: &str = "https://client.example/jwks.json";
const SECRET_JWT_KEY: [u8; 32] = [7; 32];

/// A fetcher serving one key set, counting its fetches.
#[derive(Debug, Default)]
struct KeyServer {
    body: Mutex<String>,
    fetches: AtomicUsize,
}

impl KeyServer {
    fn serve(&self, keys: &[&SigningKey]) {
        let keys: Vec<_> = keys.iter().map(|k| k.public_jwk().clone()).collect();
        *self.body.lock().unwrap() = json!({ "keys": keys }).to_string();
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[derive(Debug)]
struct SharedFetcher(Arc<KeyServer>);

impl Fetcher for SharedFetcher {
    fn get<'a>(
        &'a self,
        url: &'a url::Url,
        _limits: FetchLimits,
    ) -> Pin<Box<dyn Future<Output = Result<http::Response<Vec<u8>>, FetchError>> + Send + 'a>>
    {
        self.0.fetches.fetch_add(1, Ordering::SeqCst);
        let response = if url.as_str() == JWKS_URI {
            Ok(http::Response::new(
                self.0.body.lock().unwrap().clone().into_bytes(),
            ))
        } else {
            Err(FetchError::new("unknown URL"))
        };
        Box::pin(std::future::ready(response))
    }
}

struct Harness {
    server: AuthorizationServer,
    clock: Arc<ManualClock>,
    keys: Arc<KeyServer>,
}

/// A server with JWT client authentication on: a memory replay cache, a
/// fetcher, `client_secret_jwt`, the client credentials and device grants,
/// and open dynamic registration; `customise` adds to it.
fn harness_with(customise: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Harness {
    let store = MemoryStore::new();
    let clock = Arc::new(ManualClock::new(start()));
    let keys = Arc::new(KeyServer::default());
    let builder = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store.clone())
        .grant(ClientCredentialsGrant)
        .grant(DeviceCodeGrant)
        .clock(clock.clone())
        .replay_cache(store.clone())
        .fetcher(SharedFetcher(keys.clone()))
        .client_secret_jwt_key(SECRET_JWT_KEY.to_vec())
        .dynamic_registration(DynamicRegistration::open());
    Harness {
        server: customise(builder).build().unwrap(),
        clock,
        keys,
    }
}

fn harness() -> Harness {
    harness_with(|b| b)
}

fn key(alg: Algorithm, kid: &str) -> SigningKey {
    SigningKey::generate(alg).unwrap().with_key_id(kid).unwrap()
}

fn key_set(keys: &[&SigningKey]) -> JwkSet {
    let keys: Vec<_> = keys.iter().map(|k| k.public_jwk().clone()).collect();
    JwkSet::from_value(&json!({ "keys": keys })).unwrap()
}

fn registration(method: AuthMethod) -> ClientRegistration {
    ClientRegistration::web_application()
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .grant_type(GrantType::DEVICE_CODE)
        .scope("read".parse().unwrap())
        .auth_method(method)
}

impl Harness {
    /// Registers a `private_key_jwt` client with `keys` inline.
    async fn client(&self, keys: &[&SigningKey]) -> String {
        self.register(registration(AuthMethod::PRIVATE_KEY_JWT).jwks(&key_set(keys)))
            .await
    }

    async fn register(&self, registration: ClientRegistration) -> String {
        let r = self.server.register_client(registration).await.unwrap();
        r.client.id().to_string()
    }

    fn now(&self) -> i64 {
        let now = portcullis::token::Clock::now(&*self.clock);
        portcullis::jose::seconds(now)
    }

    /// The claims of a good assertion of `client` for `aud`.
    fn claims(&self, client: &str, aud: &str) -> Value {
        static JTI: AtomicUsize = AtomicUsize::new(0);
        let now = self.now();
        json!({
            "iss": client,
            "sub": client,
            "aud": aud,
            "iat": now,
            "exp": now + 60,
            "jti": format!("jti-{}", JTI.fetch_add(1, Ordering::SeqCst)),
        })
    }

    async fn token(&self, body: String) -> Reply {
        Reply::from(self.server.token_endpoint(form(TOKEN_URL, &body)).await)
    }
}

async fn sign(key: &SigningKey, claims: &Value) -> String {
    sign_json(key, None, claims).await.unwrap()
}

/// A compact JWS with the given header, claims and signature bytes.
fn compact(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// An HS256 JWS made with `secret`.
fn hs256(secret: &[u8], claims: &Value) -> String {
    let unsigned = compact(&json!({"alg": "HS256"}), claims, b"");
    let input = unsigned.trim_end_matches('.');
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

fn form(url: &str, body: &str) -> Request<Vec<u8>> {
    Request::post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

fn with_assertion(prefix: &str, assertion: &str) -> String {
    format!(
        "{prefix}client_assertion_type={}&client_assertion={assertion}",
        form_encode(ASSERTION_TYPE)
    )
}

fn cc(assertion: &str) -> String {
    with_assertion("grant_type=client_credentials&", assertion)
}

#[track_caller]
fn assert_refused(reply: &Reply) {
    reply.assert_error(400, "invalid_client");
    assert_eq!(reply.description(), "client authentication failed");
}

#[tokio::test]
async fn private_key_jwt_authenticates_with_every_allowed_algorithm() {
    let h = harness();
    for (alg, kid) in [
        (Algorithm::Es256, "ec"),
        (Algorithm::Rs256, "rsa"),
        (Algorithm::Ps256, "pss"),
        (Algorithm::EdDsa, "ed"),
    ] {
        let k = key(alg, kid);
        let client = h.client(&[&k]).await;
        for aud in [ISSUER, TOKEN_URL] {
            let assertion = sign(&k, &h.claims(&client, aud)).await;
            let reply = h.token(cc(&assertion)).await;
            assert_eq!(reply.status, 200, "{alg:?} aud {aud}: {:?}", reply.json);
            assert_eq!(reply.json["token_type"], "Bearer");
        }
        // An array holding exactly one audience is that audience.
        let mut claims = h.claims(&client, ISSUER);
        claims["aud"] = json!([TOKEN_URL]);
        let reply = h.token(cc(&sign(&k, &claims).await)).await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        // The client_id parameter may name the client too.
        let assertion = sign(&k, &h.claims(&client, ISSUER)).await;
        let body = format!("{}&client_id={client}", cc(&assertion));
        assert_eq!(h.token(body).await.status, 200);
    }
}

#[tokio::test]
async fn private_key_jwt_authenticates_at_revocation_introspection_and_device_authorization() {
    let h = harness();
    let k = key(Algorithm::Es256, "k1");
    let client = h.client(&[&k]).await;
    let token = h
        .token(cc(&sign(&k, &h.claims(&client, ISSUER)).await))
        .await;
    assert_eq!(token.status, 200);
    let access = token.access_token().to_owned();

    for aud in [ISSUER, INTROSPECTION_URL] {
        let body = with_assertion(
            &format!("token={access}&"),
            &sign(&k, &h.claims(&client, aud)).await,
        );
        let reply = Reply::from(
            h.server
                .introspection_endpoint(form(INTROSPECTION_URL, &body))
                .await,
        );
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        assert_eq!(reply.json["active"], true, "aud {aud}");
    }

    for aud in [ISSUER, DEVICE_URL] {
        let body = with_assertion("scope=read&", &sign(&k, &h.claims(&client, aud)).await);
        let reply = Reply::from(
            h.server
                .device_authorization_endpoint(form(DEVICE_URL, &body))
                .await,
        );
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        assert!(reply.json["device_code"].is_string());
    }

    let body = with_assertion(
        &format!("token={access}&"),
        &sign(&k, &h.claims(&client, REVOCATION_URL)).await,
    );
    let reply = Reply::from(
        h.server
            .revocation_endpoint(form(REVOCATION_URL, &body))
            .await,
    );
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert!(h.server.access_token_info(&access).await.unwrap().is_none());
}

#[tokio::test]
async fn an_assertion_for_another_endpoint_is_refused_there() {
    // RFC 7523 §3 item 3: the audience is the issuer or the URL of the
    // endpoint receiving it — not another endpoint of the same server.
    let h = harness();
    let k = key(Algorithm::Es256, "k1");
    let client = h.client(&[&k]).await;
    let for_revocation = sign(&k, &h.claims(&client, REVOCATION_URL)).await;
    assert_refused(&h.token(cc(&for_revocation)).await);
    let for_token = sign(&k, &h.claims(&client, TOKEN_URL)).await;
    let reply = Reply::from(
        h.server
            .revocation_endpoint(form(
                REVOCATION_URL,
                &with_assertion("token=x&", &for_token),
            ))
            .await,
    );
    assert_refused(&reply);
}

#[tokio::test]
async fn a_replayed_jti_is_refused() {
    let h = harness();
    let k = key(Algorithm::Es256, "k1");
    let client = h.client(&[&k]).await;
    let assertion = sign(&k, &h.claims(&client, ISSUER)).await;
    assert_eq!(h.token(cc(&assertion)).await.status, 200);
    assert_refused(&h.token(cc(&assertion)).await);
    // Another assertion with the same jti, even for another endpoint.
    let mut claims = h.claims(&client, TOKEN_URL);
    claims["jti"] = json!("reused");
    assert_eq!(h.token(cc(&sign(&k, &claims).await)).await.status, 200);
    claims["aud"] = json!(ISSUER);
    assert_refused(&h.token(cc(&sign(&k, &claims).await)).await);
    // The same jti from another client is that client's own.
    let other = h.client(&[&k]).await;
    let mut theirs = h.claims(&other, ISSUER);
    theirs["jti"] = json!("reused");
    assert_eq!(h.token(cc(&sign(&k, &theirs).await)).await.status, 200);
}

#[tokio::test]
async fn an_expired_assertion_is_refused() {
    let h = harness();
    let k = key(Algorithm::Es256, "k1");
    let client = h.client(&[&k]).await;
    let assertion = sign(&k, &h.claims(&client, ISSUER)).await;
    // exp is a minute away; the leeway is 30 seconds.
    h.clock.advance(Duration::from_secs(91));
    assert_refused(&h.token(cc(&assertion)).await);
    let mut claims = h.claims(&client, ISSUER);
    claims["exp"] = json!(h.now() - 31);
    claims["iat"] = json!(h.now() - 60);
    assert_refused(&h.token(cc(&sign(&k, &claims).await)).await);
}

#[tokio::test]
async fn an_assertion_living_too_long_or_without_exp_is_refused() {
    let h = harness();
    let k = key(Algorithm::Es256, "k1");
    let client = h.client(&[&k]).await;
    let mut claims = h.claims(&client, ISSUER);
    claims["exp"] = json!(h.now() + 600);
    assert_refused(&h.token(cc(&sign(&k, &claims).await)).await);
    claims["exp"] = json!(h.now() + 300);
    assert_eq!(h.token(cc(&sign(&k, &claims).await)).await.status, 200);
    let mut no_exp = h.claims(&client, ISSUER);
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_refused(&h.token(cc(&sign(&k, &no_exp).await)).await);
}

#[tokio::test]
async fn nbf_iat_and_jti_are_honoured() {
    let h = harness();
    let k = key(Algorithm::Es256, "k1");
    let client = h.client(&[&k]).await;
    let mut early = h.claims(&client, ISSUER);
    early["nbf"] = json!(h.now() + 40);
    assert_refused(&h.token(cc(&sign(&k, &early).await)).await);
    let mut future = h.claims(&client, ISSUER);
    future["iat"] = json!(h.now() + 40);
    assert_refused(&h.token(cc(&sign(&k, &future).await)).await);
    // Within the leeway.
    let mut skewed = h.claims(&client, ISSUER);
    skewed["nbf"] = json!(h.now() + 20);
    assert_eq!(h.token(cc(&sign(&k, &skewed).await)).await.status, 200);
    let mut no_jti = h.claims(&client, ISSUER);
    no_jti.as_object_mut().unwrap().remove("jti");
    assert_refused(&h.token(cc(&sign(&k, &no_jti).await)).await);
}

#[tokio::test]
async fn an_assertion_for_another_audience_is_refused() {
    let h = harness();
    let k = key(Algorithm::Es256, "k1");
    let client = h.client(&[&k]).await;
    for aud in [
        json!("https://other.example"),
        json!("https://auth.example/"),
        json!([ISSUER, "https://other.example"]),
        json!([ISSUER, TOKEN_URL]),
        json!([]),
        json!(null),
    ] {
        let mut claims = h.claims(&client, ISSUER);
        claims["aud"] = aud.clone();
        let reply = h.token(cc(&sign(&k, &claims).await)).await;
        assert_eq!(
            (reply.status, reply.error()),
            (400, "invalid_client"),
            "aud {aud}"
        );
    }
}

#[tokio::test]
async fn an_assertion_signed_with_another_key_is_refused() {
    let h = harness();
    let registered = key(Algorithm::Es256, "k1");
    let client = h.client(&[&registered]).await;
    // Same kid, another key; another kid; no kid at all.
    for impostor in [
        key(Algorithm::Es256, "k1"),
        key(Algorithm::Es256, "k2"),
        key(Algorithm::EdDsa, "k1"),
    ] {
        let assertion = sign(&impostor, &h.claims(&client, ISSUER)).await;
        assert_refused(&h.token(cc(&assertion)).await);
    }
    let impostor = key(Algorithm::Es256, "k1");
    let claims = h.claims(&client, ISSUER);
    let signed = sign(&impostor, &claims).await;
    let signature = signed.rsplit('.').next().unwrap();
    let no_kid = compact(
        &json!({"alg": "ES256"}),
        &claims,
        &URL_SAFE_NO_PAD.decode(signature).unwrap(),
    );
    assert_refused(&h.token(cc(&no_kid)).await);
}

#[tokio::test]
async fn none_and_algorithms_not_allowed_are_refused() {
    let h = harness();
    let k = key(Algorithm::Es256, "k1");
    let ed = key(Algorithm::EdDsa, "k2");
    let client = h.client(&[&k]).await;
    // alg none (RFC 8725 §3.2).
    let none = compact(&json!({"alg": "none"}), &h.claims(&client, ISSUER), b"");
    assert_refused(&h.token(cc(&none)).await);
    // HS256 keyed with the public key's bytes: key confusion (RFC 8725
    // §2.1) — a MAC is never checked against a private_key_jwt client.
    let public = serde_json::to_vec(k.public_jwk()).unwrap();
    let confused = hs256(&public, &h.claims(&client, ISSUER));
    assert_refused(&h.token(cc(&confused)).await);
    // An algorithm outside the allow-list.
    let rs512 = compact(
        &json!({"alg": "RS512", "kid": "k1"}),
        &h.claims(&client, ISSUER),
        b"sig",
    );
    assert_refused(&h.token(cc(&rs512)).await);
    // A client that registered token_endpoint_auth_signing_alg: that one
    // alone, although its other key verifies.
    let pinned = h
        .register(
            registration(AuthMethod::PRIVATE_KEY_JWT)
                .jwks(&key_set(&[&k, &ed]))
                .token_endpoint_auth_signing_alg(Algorithm::Es256),
        )
        .await;
    let by_ed = sign(&ed, &h.claims(&pinned, ISSUER)).await;
    assert_refused(&h.token(cc(&by_ed)).await);
    let by_ec = sign(&k, &h.claims(&pinned, ISSUER)).await;
    assert_eq!(h.token(cc(&by_ec)).await.status, 200);
}

#[tokio::test]
async fn iss_must_equal_sub_and_the_client_id_parameter() {
    let h = harness();
    let k = key(Algorithm::Es256, "k1");
    let client = h.client(&[&k]).await;
    let other = h.client(&[&k]).await;
    let mut claims = h.claims(&client, ISSUER);
    claims["iss"] = json!(other);
    assert_refused(&h.token(cc(&sign(&k, &claims).await)).await);
    claims["iss"] = json!(client);
    claims["sub"] = json!(other);
    assert_refused(&h.token(cc(&sign(&k, &claims).await)).await);
    // The client_id parameter names another client: a malformed request.
    let assertion = sign(&k, &h.claims(&client, ISSUER)).await;
    let reply = h
        .token(format!("{}&client_id={other}", cc(&assertion)))
        .await;
    reply.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn an_assertion_with_another_method_is_two_methods() {
    // RFC 6749 §2.3: one authentication method per request.
    let h = harness();
    let k = key(Algorithm::Es256, "k1");
    let client = h.client(&[&k]).await;
    let assertion = sign(&k, &h.claims(&client, ISSUER)).await;
    let with_basic = Reply::from(
        h.server
            .token_endpoint(
                Request::post(TOKEN_URL)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("authorization", basic(&client, "secret"))
                    .body(cc(&assertion).into_bytes())
                    .unwrap(),
            )
            .await,
    );
    with_basic.assert_error(400, "invalid_request");
    let with_secret = h
        .token(format!("{}&client_secret=secret", cc(&assertion)))
        .await;
    with_secret.assert_error(400, "invalid_request");
    // Half an assertion, or another assertion type, is no authentication.
    let half = h
        .token(format!(
            "grant_type=client_credentials&client_assertion={assertion}"
        ))
        .await;
    assert_refused(&half);
    let saml = h
        .token(format!(
            "grant_type=client_credentials&client_assertion_type={}&client_assertion={assertion}",
            form_encode("urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
        ))
        .await;
    assert_refused(&saml);
    // Neither was consumed: the assertion still works.
    assert_eq!(h.token(cc(&assertion)).await.status, 200);
}

#[tokio::test]
async fn the_registered_method_must_be_the_one_used() {
    let h = harness();
    let k = key(Algorithm::Es256, "k1");
    // A client_secret_basic client (it registered keys too) cannot use an
    // assertion …
    let registered = h
        .server
        .register_client(registration(AuthMethod::CLIENT_SECRET_BASIC).jwks(&key_set(&[&k])))
        .await
        .unwrap();
    let basic_client = registered.client.id().to_string();
    let assertion = sign(&k, &h.claims(&basic_client, ISSUER)).await;
    assert_refused(&h.token(cc(&assertion)).await);
    // … and a private_key_jwt client cannot use a secret, nor none.
    let jwt_client = h.client(&[&k]).await;
    let reply = h
        .token(format!(
            "grant_type=client_credentials&client_id={jwt_client}&client_secret=guess"
        ))
        .await;
    assert_eq!((reply.status, reply.error()), (400, "invalid_client"));
    let reply = h
        .token(format!(
            "grant_type=client_credentials&client_id={jwt_client}"
        ))
        .await;
    assert_eq!((reply.status, reply.error()), (400, "invalid_client"));
    // A private_key_jwt client's HS256 assertion is a method it did not
    // register.
    let mac = hs256(&[1; 32], &h.claims(&jwt_client, ISSUER));
    assert_refused(&h.token(cc(&mac)).await);
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_jwks_uri_at_most_once_per_interval() {
    let h = harness();
    let first = key(Algorithm::Es256, "first");
    let second = key(Algorithm::Es256, "second");
    let third = key(Algorithm::Es256, "third");
    h.keys.serve(&[&first]);
    let client = h
        .register(registration(AuthMethod::PRIVATE_KEY_JWT).jwks_uri(JWKS_URI))
        .await;
    assert_eq!(h.keys.fetches(), 0, "keys are fetched when first needed");

    let ok = sign(&first, &h.claims(&client, ISSUER)).await;
    assert_eq!(h.token(cc(&ok)).await.status, 200);
    let ok = sign(&first, &h.claims(&client, ISSUER)).await;
    assert_eq!(h.token(cc(&ok)).await.status, 200);
    assert_eq!(h.keys.fetches(), 1, "the key set is cached");

    // The client rotates in a new key: an unknown kid within the refresh
    // interval does not fetch again …
    h.keys.serve(&[&first, &second]);
    let rotated = sign(&second, &h.claims(&client, ISSUER)).await;
    assert_refused(&h.token(cc(&rotated)).await);
    assert_eq!(h.keys.fetches(), 1);
    // … after it, it does, once.
    h.clock.advance(Duration::from_secs(61));
    let rotated = sign(&second, &h.claims(&client, ISSUER)).await;
    assert_eq!(h.token(cc(&rotated)).await.status, 200);
    assert_eq!(h.keys.fetches(), 2);
    // Another unknown kid right after: no fetch, refused.
    let unknown = sign(&third, &h.claims(&client, ISSUER)).await;
    assert_refused(&h.token(cc(&unknown)).await);
    assert_eq!(h.keys.fetches(), 2);
    // A key set past its lifetime (5 minutes by default) is fetched again.
    h.clock.advance(Duration::from_secs(301));
    let ok = sign(&first, &h.claims(&client, ISSUER)).await;
    assert_eq!(h.token(cc(&ok)).await.status, 200);
    assert_eq!(h.keys.fetches(), 3);
}

#[tokio::test]
async fn refused_assertions_are_throttled_but_a_right_one_never_is() {
    let h = harness_with(|b| {
        b.throttle_policy(
            ThrottlePolicy::default()
                .with_allowed_failures(2)
                .with_initial_delay(Duration::from_secs(60))
                .with_max_delay(Duration::from_secs(60)),
        )
    });
    let k = key(Algorithm::Es256, "k1");
    let impostor = key(Algorithm::Es256, "k1");
    let client = h.client(&[&k]).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let wrong = sign(&impostor, &h.claims(&client, ISSUER)).await;
        statuses.push(h.token(cc(&wrong)).await.status);
    }
    assert_eq!(statuses, [400, 400, 400, 429]);
    let right = sign(&k, &h.claims(&client, ISSUER)).await;
    assert_eq!(h.token(cc(&right)).await.status, 200);
}

#[tokio::test]
async fn client_secret_jwt_uses_a_derived_secret() {
    let h = harness();
    let registered = h
        .server
        .register_client(registration(AuthMethod::CLIENT_SECRET_JWT))
        .await
        .unwrap();
    let client = registered.client.id().to_string();
    let secret = registered.secret.expect("the derived secret is shown once");
    // Not stored: the client holds no hash of it.
    assert!(registered.client.secret_hash().is_none());
    let assertion = hs256(
        secret.expose_secret().as_bytes(),
        &h.claims(&client, ISSUER),
    );
    let reply = h.token(cc(&assertion)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_refused(&h.token(cc(&assertion)).await);
    // Another secret, and the secret sent as client_secret, fail.
    let wrong = hs256(&[9; 43], &h.claims(&client, ISSUER));
    assert_refused(&h.token(cc(&wrong)).await);
    let posted = h
        .token(format!(
            "grant_type=client_credentials&client_id={client}&client_secret={}",
            secret.expose_secret()
        ))
        .await;
    assert_eq!((posted.status, posted.error()), (400, "invalid_client"));
    // A signature is not what a client_secret_jwt client registered.
    let k = key(Algorithm::Es256, "k1");
    assert_refused(
        &h.token(cc(&sign(&k, &h.claims(&client, ISSUER)).await))
            .await,
    );

    // Another server with another key derives other secrets.
    let other = harness_with(|b| b.client_secret_jwt_key(vec![8; 32]));
    other
        .server
        .register_client(registration(AuthMethod::CLIENT_SECRET_JWT).client_id(&client))
        .await
        .unwrap();
    let assertion = hs256(
        secret.expose_secret().as_bytes(),
        &other.claims(&client, ISSUER),
    );
    assert_refused(&other.token(cc(&assertion)).await);
}

#[tokio::test]
async fn metadata_advertises_the_methods_and_algorithms() {
    let h = harness();
    let m = serde_json::to_value(h.server.metadata()).unwrap();
    for member in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ] {
        let methods = m[member].as_array().unwrap();
        assert!(methods.contains(&json!("private_key_jwt")), "{member}");
        assert!(methods.contains(&json!("client_secret_jwt")), "{member}");
    }
    for member in [
        "token_endpoint_auth_signing_alg_values_supported",
        "revocation_endpoint_auth_signing_alg_values_supported",
        "introspection_endpoint_auth_signing_alg_values_supported",
    ] {
        assert_eq!(
            m[member],
            json!(["ES256", "RS256", "PS256", "EdDSA", "HS256"]),
            "{member}"
        );
    }

    // Without the client_secret_jwt key: private_key_jwt alone, no HS256.
    let store = MemoryStore::new();
    let server = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store.clone())
        .grant(ClientCredentialsGrant)
        .replay_cache(store.clone())
        .build()
        .unwrap();
    let m = serde_json::to_value(server.metadata()).unwrap();
    let methods = m["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&json!("private_key_jwt")));
    assert!(!methods.contains(&json!("client_secret_jwt")));
    assert_eq!(
        m["token_endpoint_auth_signing_alg_values_supported"],
        json!(["ES256", "RS256", "PS256", "EdDSA"])
    );
    assert!(
        server
            .register_client(registration(AuthMethod::CLIENT_SECRET_JWT))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn without_a_replay_cache_jwt_authentication_is_off() {
    let store = MemoryStore::new();
    let server = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store.clone())
        .grant(ClientCredentialsGrant)
        .build()
        .unwrap();
    let m = serde_json::to_value(server.metadata()).unwrap();
    assert!(
        !m["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("private_key_jwt"))
    );
    assert!(
        m.get("token_endpoint_auth_signing_alg_values_supported")
            .is_none()
    );
    // A client_secret_jwt key without a replay cache is a configuration
    // error, not a silent replay hole.
    let built = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store.clone())
        .client_secret_jwt_key(SECRET_JWT_KEY.to_vec())
        .build();
    assert!(matches!(
        built,
        Err(portcullis::BuildError::InvalidClientAuthentication(_))
    ));
    let short = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store.clone())
        .replay_cache(store)
        .client_secret_jwt_key(vec![1; 16])
        .build();
    assert!(short.is_err());
}

/// POSTs a registration document (RFC 7591 §3.1).
async fn register_json(h: &Harness, document: Value) -> Reply {
    let request = Request::post("https://auth.example/register")
        .header("content-type", "application/json")
        .body(document.to_string().into_bytes())
        .unwrap();
    Reply::from(h.server.registration_endpoint(request).await)
}

#[tokio::test]
async fn registration_accepts_private_key_jwt_with_jwks_and_echoes_it() {
    let h = harness();
    let k = key(Algorithm::Es256, "k1");
    let jwks = json!({ "keys": [k.public_jwk()] });
    let reply = register_json(
        &h,
        json!({
            "token_endpoint_auth_method": "private_key_jwt",
            "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"],
            "jwks": jwks,
            "token_endpoint_auth_signing_alg": "ES256",
        }),
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    assert_eq!(reply.json["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(reply.json["jwks"], jwks);
    assert_eq!(reply.json["token_endpoint_auth_signing_alg"], "ES256");
    assert!(reply.json.get("client_secret").is_none());

    // RFC 7592 read echoes them.
    let uri = reply.json["registration_client_uri"].as_str().unwrap();
    let token = reply.json["registration_access_token"].as_str().unwrap();
    let read = Reply::from(
        h.server
            .client_configuration_endpoint(
                Request::get(uri)
                    .header("authorization", format!("Bearer {token}"))
                    .body(Vec::new())
                    .unwrap(),
            )
            .await,
    );
    assert_eq!(read.status, 200, "{:?}", read.json);
    assert_eq!(read.json["jwks"], jwks);

    // And the client authenticates with it, at the device endpoint.
    let client = reply.json["client_id"].as_str().unwrap();
    let body = with_assertion("", &sign(&k, &h.claims(client, DEVICE_URL)).await);
    let device = Reply::from(
        h.server
            .device_authorization_endpoint(form(DEVICE_URL, &body))
            .await,
    );
    assert_eq!(device.status, 200, "{:?}", device.json);

    // jwks_uri, with the server's fetcher.
    let reply = register_json(
        &h,
        json!({
            "token_endpoint_auth_method": "private_key_jwt",
            "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"],
            "jwks_uri": JWKS_URI,
        }),
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    assert_eq!(reply.json["jwks_uri"], JWKS_URI);
}

#[tokio::test]
async fn registration_refusals() {
    let h = harness();
    let k = key(Algorithm::Es256, "k1");
    let jwks = json!({ "keys": [k.public_jwk()] });
    let device = json!(["urn:ietf:params:oauth:grant-type:device_code"]);
    let mut private = serde_json::to_value(k.public_jwk()).unwrap();
    private["d"] = json!("AAAA");
    for (document, why) in [
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": device,
                   "jwks": jwks, "jwks_uri": JWKS_URI}),
            "both jwks and jwks_uri",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": device}),
            "private_key_jwt without keys",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": device,
                   "jwks": {"keys": [private]}}),
            "a private key",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": device,
                   "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}),
            "a symmetric key",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": device,
                   "jwks": jwks, "token_endpoint_auth_signing_alg": "HS256"}),
            "HS256 for private_key_jwt",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": device,
                   "jwks": jwks, "token_endpoint_auth_signing_alg": "none"}),
            "alg none",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": device,
                   "jwks_uri": "http://client.example/jwks"}),
            "a jwks_uri that is not https",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": device,
                   "jwks": "not a key set"}),
            "jwks of the wrong type",
        ),
    ] {
        let reply = register_json(&h, document).await;
        assert_eq!(
            (reply.status, reply.error()),
            (400, "invalid_client_metadata"),
            "{why}: {:?}",
            reply.json
        );
    }

    // A server without a fetcher refuses jwks_uri, and says why.
    let store = MemoryStore::new();
    let server = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store.clone())
        .grant(DeviceCodeGrant)
        .replay_cache(store)
        .dynamic_registration(DynamicRegistration::open())
        .build()
        .unwrap();
    let request = Request::post("https://auth.example/register")
        .header("content-type", "application/json")
        .body(
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": device,
                   "jwks_uri": JWKS_URI})
            .to_string()
            .into_bytes(),
        )
        .unwrap();
    let reply = Reply::from(server.registration_endpoint(request).await);
    reply.assert_error(400, "invalid_client_metadata");
    assert!(reply.description().contains("jwks_uri"), "{:?}", reply.json);
}

#[tokio::test]
async fn purge_expired_removes_expired_jtis() {
    let h = harness();
    let k = key(Algorithm::Es256, "k1");
    let client = h.client(&[&k]).await;
    let assertion = sign(&k, &h.claims(&client, ISSUER)).await;
    assert_eq!(h.token(cc(&assertion)).await.status, 200);
    let kept = h.server.purge_expired().await.unwrap();
    h.clock.advance(Duration::from_secs(120));
    let purged = h.server.purge_expired().await.unwrap();
    assert!(purged > kept, "the expired jti went: {kept} then {purged}");
}

#[tokio::test]
async fn a_client_secret_jwt_client_registers_dynamically_and_keeps_its_secret_across_an_update() {
    let h = harness();
    let device = json!(["urn:ietf:params:oauth:grant-type:device_code"]);
    let reply = register_json(
        &h,
        json!({"token_endpoint_auth_method": "client_secret_jwt", "grant_types": device}),
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    let client = reply.json["client_id"].as_str().unwrap().to_owned();
    let secret = reply.json["client_secret"].as_str().unwrap().to_owned();
    let uri = reply.json["registration_client_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = reply.json["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let authenticate = |aud: &str| {
        let body = with_assertion("", &hs256(secret.as_bytes(), &h.claims(&client, aud)));
        h.server
            .device_authorization_endpoint(form(DEVICE_URL, &body))
    };
    assert_eq!(Reply::from(authenticate(DEVICE_URL).await).status, 200);

    // RFC 7592 §2.2: an update may repeat the client's secret, which must be
    // the derived one; the secret is unchanged by the update.
    let update = |presented: &str| {
        Request::put(uri.as_str())
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(
                json!({"client_id": client, "client_secret": presented,
                       "token_endpoint_auth_method": "client_secret_jwt",
                       "grant_types": device, "client_name": "Renamed"})
                .to_string()
                .into_bytes(),
            )
            .unwrap()
    };
    let wrong = Reply::from(
        h.server
            .client_configuration_endpoint(update("not-the-secret"))
            .await,
    );
    assert_eq!(wrong.status, 400, "{:?}", wrong.json);
    let right = Reply::from(
        h.server
            .client_configuration_endpoint(update(&secret))
            .await,
    );
    assert_eq!(right.status, 200, "{:?}", right.json);
    assert_eq!(right.json["client_name"], "Renamed");
    assert!(right.json.get("client_secret").is_none());
    assert_eq!(Reply::from(authenticate(ISSUER).await).status, 200);
}
