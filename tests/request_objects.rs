//! Request objects (RFC 9101) through the public API: a `request` signed
//! with a key the client registered, at the authorization endpoint and at
//! the pushed authorization request endpoint (RFC 9126 §3), and every
//! refusal RFC 9101 §6 and §10 call for.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use http::Request;
use portcullis::client::ClientRegistration;
use portcullis::endpoint::{AuthorizationError, PendingAuthorization};
use portcullis::jose::{Algorithm, JwkSet, SigningKey, sign_json};
use portcullis::protocol::GrantType;
use serde_json::{Value, json};

const REDIRECT: &str = "https://app.example/cb";

fn jar_harness_with(
    customise: impl FnOnce(portcullis::ServerBuilder) -> portcullis::ServerBuilder,
) -> Harness {
    harness_with(|b| {
        let store = portcullis::MemoryStore::new();
        customise(
            b.grant(portcullis::grant::AuthorizationCodeGrant)
                .replay_cache(store),
        )
    })
}

fn jar_harness() -> Harness {
    jar_harness_with(|b| b)
}

fn key(alg: Algorithm) -> SigningKey {
    SigningKey::generate(alg)
        .unwrap()
        .with_key_id(&format!("{alg:?}"))
        .unwrap()
}

fn key_set(keys: &[&SigningKey]) -> JwkSet {
    let keys: Vec<_> = keys.iter().map(|k| k.public_jwk().clone()).collect();
    JwkSet::from_value(&json!({ "keys": keys })).unwrap()
}

/// A confidential web client (client_secret_basic) that registered `keys`
/// inline for its request objects.
async fn client_with(
    h: &Harness,
    keys: &[&SigningKey],
    registration: ClientRegistration,
) -> TestClient {
    h.register(
        registration
            .redirect_uri(REDIRECT)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .scope("read write".parse().unwrap())
            .jwks(&key_set(keys)),
    )
    .await
}

/// An ES256 key and a web client that registered it.
async fn es256_client(h: &Harness) -> (SigningKey, TestClient) {
    let es256 = key(Algorithm::Es256);
    let client = client_with(h, &[&es256], ClientRegistration::web_application()).await;
    (es256, client)
}

fn now(h: &Harness) -> i64 {
    portcullis::jose::seconds(portcullis::token::Clock::now(&*h.clock))
}

/// The claims of a good request object of `client`.
fn claims(h: &Harness, client: &TestClient) -> Value {
    static JTI: AtomicUsize = AtomicUsize::new(0);
    let now = now(h);
    json!({
        "iss": client.id,
        "aud": ISSUER,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": format!("ro-{}", JTI.fetch_add(1, Ordering::SeqCst)),
        "client_id": client.id,
        "response_type": "code",
        "scope": "read",
        "redirect_uri": REDIRECT,
        "state": "signed-state",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    })
}

async fn sign(key: &SigningKey, claims: &Value) -> String {
    sign_json(key, Some("oauth-authz-req+jwt"), claims)
        .await
        .unwrap()
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

async fn authorize_object(
    h: &Harness,
    client_id: &str,
    object: &str,
) -> Result<PendingAuthorization, AuthorizationError> {
    h.authorize(&format!(
        "client_id={}&request={object}",
        form_encode(client_id)
    ))
    .await
}

/// Asserts the request object `object` refused at the authorization
/// endpoint with `invalid_request_object`, never redirected.
async fn assert_object_refused(h: &Harness, client_id: &str, object: &str) {
    assert_rejected(
        authorize_object(h, client_id, object).await,
        "invalid_request_object",
    );
}

async fn push(h: &Harness, client: &TestClient, body: &str) -> Reply {
    let request = Request::post("https://auth.example/par")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", basic(&client.id, &client.secret))
        .body(body.as_bytes().to_vec())
        .unwrap();
    Reply::from(
        h.server
            .pushed_authorization_request_endpoint(request)
            .await,
    )
}

#[tokio::test]
async fn a_signed_request_object_is_the_request() {
    let h = jar_harness();
    let (es256, client) = es256_client(&h).await;
    let object = sign(&es256, &claims(&h, &client)).await;

    // RFC 9101 §5: parameters outside the object are ignored.
    let pending = h
        .authorize(&format!(
            "client_id={}&request={object}&scope=write&state=outside&response_type=code",
            client.id
        ))
        .await
        .unwrap();
    assert_eq!(pending.scope().as_str(), "read");
    let response = h.server.approve(pending, "alice", None).await.unwrap();
    let params = redirect_params(&response);
    assert_eq!(param(&params, "state"), Some("signed-state"));
    assert!(param(&params, "code").is_some());
}

#[tokio::test]
async fn an_rs256_object_and_a_typeless_one_are_accepted_too() {
    let h = jar_harness();
    let rs256 = key(Algorithm::Rs256);
    let client = client_with(&h, &[&rs256], ClientRegistration::web_application()).await;
    let object = sign_json(&rs256, None, &claims(&h, &client)).await.unwrap();
    assert!(authorize_object(&h, &client.id, &object).await.is_ok());
}

#[tokio::test]
async fn a_signed_request_object_is_accepted_at_the_par_endpoint() {
    let h = jar_harness();
    let (es256, client) = es256_client(&h).await;
    let object = sign(&es256, &claims(&h, &client)).await;
    let reply = push(
        &h,
        &client,
        &format!("client_id={}&request={object}", client.id),
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    let uri = reply.json["request_uri"].as_str().unwrap();
    let pending = h
        .authorize(&format!(
            "client_id={}&request_uri={}",
            client.id,
            form_encode(uri)
        ))
        .await
        .unwrap();
    let response = h.server.approve(pending, "alice", None).await.unwrap();
    assert_eq!(
        param(&redirect_params(&response), "state"),
        Some("signed-state")
    );
}

#[tokio::test]
async fn bad_signatures_and_algorithms_are_refused() {
    let h = jar_harness();
    let (es256, client) = es256_client(&h).await;
    let good = claims(&h, &client);

    // Signed with a key the client did not register.
    let stranger = key(Algorithm::Es256);
    let object = sign(&stranger, &good).await;
    assert_object_refused(&h, &client.id, &object).await;

    // A registered key's signature over other claims.
    let signed = sign(&es256, &good).await;
    let mut parts = signed.split('.');
    let (header, _, signature) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
    let mut forged = good.clone();
    forged["scope"] = json!("write");
    let tampered = format!(
        "{header}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(forged.to_string())
    );
    assert_object_refused(&h, &client.id, &tampered).await;

    // alg none (RFC 9101 §10.8; RFC 8725 §3.1).
    let none = compact(&json!({"alg": "none"}), &good, b"");
    assert_object_refused(&h, &client.id, &none).await;

    // HS256 with the client's secret: not an algorithm request objects use.
    let unsigned = compact(&json!({"alg": "HS256"}), &good, b"");
    let input = unsigned.trim_end_matches('.');
    let hmac = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, client.secret.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&hmac, input.as_bytes());
    let hs256 = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
    assert_object_refused(&h, &client.id, &hs256).await;

    // Not a JWS at all.
    assert_rejected(
        authorize_object(&h, &client.id, "not.a-jws").await,
        "invalid_request_object",
    );

    // Typed as another kind of JWT.
    let typed = sign_json(&es256, Some("at+jwt"), &good).await.unwrap();
    assert_object_refused(&h, &client.id, &typed).await;

    // At the PAR endpoint, the refusal is a JSON error.
    let reply = push(
        &h,
        &client,
        &format!("client_id={}&request={none}", client.id),
    )
    .await;
    reply.assert_error(400, "invalid_request_object");
}

#[tokio::test]
async fn the_claims_are_checked() {
    let h = jar_harness();
    let (es256, client) = es256_client(&h).await;
    let other = client_with(&h, &[&es256], ClientRegistration::web_application()).await;
    let now = now(&h);
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "wrong aud",
            Box::new(|c| c["aud"] = json!("https://other.example")),
        ),
        (
            "no aud",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("aud");
            }),
        ),
        ("wrong iss", Box::new(|c| c["iss"] = json!("someone-else"))),
        (
            "no iss",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("iss");
            }),
        ),
        ("expired", Box::new(move |c| c["exp"] = json!(now - 120))),
        (
            "no exp",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
        ),
        (
            "not yet valid",
            Box::new(move |c| c["nbf"] = json!(now + 600)),
        ),
        (
            "lives too long",
            Box::new(move |c| c["exp"] = json!(now + 7200)),
        ),
        ("client_id inside differs", {
            let other = other.id.clone();
            Box::new(move |c| c["client_id"] = json!(other))
        }),
        (
            "nested request_uri",
            Box::new(|c| c["request_uri"] = json!("https://client.example/ro.jwt")),
        ),
        ("empty jti", Box::new(|c| c["jti"] = json!(""))),
    ];
    for (why, change) in cases {
        let mut bad = claims(&h, &client);
        change(&mut bad);
        let object = sign(&es256, &bad).await;
        match authorize_object(&h, &client.id, &object).await {
            Err(AuthorizationError::Rejected(e)) => {
                assert_eq!(e.code().as_str(), "invalid_request_object", "{why}: {e:?}")
            }
            other => panic!("{why}: expected invalid_request_object, got {other:?}"),
        }
        let reply = push(
            &h,
            &client,
            &format!("client_id={}&request={object}", client.id),
        )
        .await;
        assert_eq!(
            (reply.status, reply.error()),
            (400, "invalid_request_object"),
            "{why}: {:?}",
            reply.json
        );
    }
}

#[tokio::test]
async fn client_id_outside_is_required_and_must_match() {
    let h = jar_harness();
    let (es256, client) = es256_client(&h).await;
    let other = client_with(&h, &[&es256], ClientRegistration::web_application()).await;
    let object = sign(&es256, &claims(&h, &client)).await;
    assert_rejected(
        h.authorize(&format!("request={object}")).await,
        "invalid_request",
    );
    // Sent as another client (whose key happens to be the same): the
    // object's iss and client_id are not that client's.
    assert_object_refused(&h, &other.id, &object).await;
    // And pushed by another client.
    let reply = push(&h, &other, &format!("request={object}")).await;
    reply.assert_error(400, "invalid_request_object");
}

#[tokio::test]
async fn a_request_object_with_a_jti_is_used_once() {
    let h = jar_harness();
    let (es256, client) = es256_client(&h).await;
    let object = sign(&es256, &claims(&h, &client)).await;
    assert!(authorize_object(&h, &client.id, &object).await.is_ok());
    assert_object_refused(&h, &client.id, &object).await;
}

#[tokio::test]
async fn a_client_registered_algorithm_is_the_only_one() {
    let h = jar_harness();
    let es256 = key(Algorithm::Es256);
    let rs256 = key(Algorithm::Rs256);
    let client = client_with(
        &h,
        &[&es256, &rs256],
        ClientRegistration::web_application().request_object_signing_alg(Algorithm::Rs256),
    )
    .await;
    let object = sign(&es256, &claims(&h, &client)).await;
    assert_object_refused(&h, &client.id, &object).await;
    let object = sign(&rs256, &claims(&h, &client)).await;
    assert!(authorize_object(&h, &client.id, &object).await.is_ok());

    // HS256 cannot be registered (and `none` is no Algorithm at all).
    for alg in [Algorithm::Hs256] {
        let refused = h
            .server
            .register_client(
                ClientRegistration::web_application()
                    .redirect_uri(REDIRECT)
                    .grant_type(GrantType::AUTHORIZATION_CODE)
                    .jwks(&key_set(&[&es256]))
                    .request_object_signing_alg(alg),
            )
            .await;
        let error = refused.unwrap_err().to_string();
        assert!(
            error.contains("request_object_signing_alg"),
            "{alg:?}: {error}"
        );
    }
}

#[tokio::test]
async fn a_server_that_requires_signed_request_objects_refuses_plain_requests() {
    let h = jar_harness_with(|b| b.require_signed_request_object());
    let (es256, client) = es256_client(&h).await;
    let plain = format!(
        "client_id={}&response_type=code&redirect_uri={}&code_challenge={CHALLENGE}\
         &code_challenge_method=S256",
        client.id,
        form_encode(REDIRECT)
    );
    assert_rejected(h.authorize(&plain).await, "invalid_request");
    // A plain push is refused too, as a JSON error.
    push(&h, &client, &plain)
        .await
        .assert_error(400, "invalid_request");

    let object = sign(&es256, &claims(&h, &client)).await;
    assert!(authorize_object(&h, &client.id, &object).await.is_ok());
    let object = sign(&es256, &claims(&h, &client)).await;
    let reply = push(&h, &client, &format!("request={object}")).await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);

    let metadata = serde_json::to_value(h.server.metadata()).unwrap();
    assert_eq!(metadata["require_signed_request_object"], true);
    let algs = metadata["request_object_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.contains(&json!("ES256")));
    assert!(!algs.contains(&json!("none")) && !algs.contains(&json!("HS256")));
}

#[tokio::test]
async fn a_client_that_requires_signed_request_objects_is_refused_plain_requests() {
    let h = jar_harness();
    let es256 = key(Algorithm::Es256);
    let strict = client_with(
        &h,
        &[&es256],
        ClientRegistration::web_application().require_signed_request_object(true),
    )
    .await;
    let relaxed = client_with(&h, &[&es256], ClientRegistration::web_application()).await;
    let plain = |id: &str| {
        format!(
            "client_id={id}&response_type=code&redirect_uri={}&code_challenge={CHALLENGE}\
             &code_challenge_method=S256",
            form_encode(REDIRECT)
        )
    };
    assert_rejected(h.authorize(&plain(&strict.id)).await, "invalid_request");
    assert!(h.authorize(&plain(&relaxed.id)).await.is_ok());
    let object = sign(&es256, &claims(&h, &strict)).await;
    assert!(authorize_object(&h, &strict.id, &object).await.is_ok());

    let metadata = serde_json::to_value(h.server.metadata()).unwrap();
    assert!(metadata.get("require_signed_request_object").is_none());
}

#[tokio::test]
async fn request_object_algorithms_are_an_asymmetric_allow_list() {
    for algs in [vec![Algorithm::Hs256], vec![]] {
        let built = portcullis::AuthorizationServer::builder(ISSUER)
            .clients(portcullis::MemoryStore::new())
            .tokens(portcullis::MemoryStore::new())
            .grant(portcullis::grant::AuthorizationCodeGrant)
            .request_object_signing_algs(algs.clone())
            .build();
        assert!(built.is_err(), "{algs:?}");
    }
    // Narrowed to ES256: an RS256 object is refused.
    let h = jar_harness_with(|b| b.request_object_signing_algs([Algorithm::Es256]));
    let rs256 = key(Algorithm::Rs256);
    let client = client_with(&h, &[&rs256], ClientRegistration::web_application()).await;
    let object = sign(&rs256, &claims(&h, &client)).await;
    assert_object_refused(&h, &client.id, &object).await;
}

#[tokio::test]
async fn a_server_without_a_replay_cache_does_not_read_request_objects() {
    let h = code_harness();
    let (es256, client) = es256_client(&h).await;
    let object = sign(&es256, &claims(&h, &client)).await;
    let reply = push(&h, &client, &format!("request={object}")).await;
    reply.assert_error(400, "request_not_supported");
    let metadata = serde_json::to_value(h.server.metadata()).unwrap();
    assert!(
        metadata
            .get("request_object_signing_alg_values_supported")
            .is_none()
    );
}

#[tokio::test]
async fn the_client_metadata_round_trips() {
    let h = jar_harness();
    let es256 = key(Algorithm::Es256);
    let registered = h
        .server
        .register_client(
            ClientRegistration::web_application()
                .redirect_uri(REDIRECT)
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .jwks(&key_set(&[&es256]))
                .require_signed_request_object(true)
                .request_object_signing_alg(Algorithm::Es256),
        )
        .await
        .unwrap();
    let metadata = portcullis::client::ClientMetadata::of(&registered.client);
    assert_eq!(metadata.require_signed_request_object, Some(true));
    assert_eq!(
        metadata.request_object_signing_alg.as_deref(),
        Some("ES256")
    );
    let json = serde_json::to_value(&registered.client).unwrap();
    let back: portcullis::client::Client = serde_json::from_value(json).unwrap();
    assert_eq!(back, registered.client);

    // Expiry is measured on the server's clock.
    let client = client_with(&h, &[&es256], ClientRegistration::web_application()).await;
    let object = sign(&es256, &claims(&h, &client)).await;
    h.clock.advance(Duration::from_secs(300 + 61));
    assert_object_refused(&h, &client.id, &object).await;
}

/// OpenID Connect Core §6.1, §16.7, §16.20: an authentication request can
/// travel signed, and the signed `nonce` and `max_age` are the ones the ID
/// token answers to; the same parameters outside the object are ignored.
#[tokio::test]
async fn an_openid_authentication_request_travels_signed() {
    use portcullis::oidc::{Claims, OpenIdConnect, StaticClaims};

    let h = jar_harness_with(|b| {
        b.signing_keys(signing_keys(&[Algorithm::Rs256]))
            .openid_connect(OpenIdConnect::new(
                StaticClaims::new().user("alice", Claims::new().with("name", "Alice")),
            ))
    });
    let es256 = key(Algorithm::Es256);
    let client = h
        .register(
            ClientRegistration::web_application()
                .redirect_uri(REDIRECT)
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .scope("openid read".parse().unwrap())
                .jwks(&key_set(&[&es256])),
        )
        .await;
    let mut signed = claims(&h, &client);
    signed["scope"] = json!("openid read");
    signed["nonce"] = json!("signed-nonce");
    signed["max_age"] = json!(300);
    let object = sign(&es256, &signed).await;

    let pending = h
        .authorize(&format!(
            "client_id={}&request={object}&nonce=outside&scope=openid",
            client.id
        ))
        .await
        .unwrap();
    assert_eq!(
        pending.openid().unwrap().params.nonce.as_deref(),
        Some("signed-nonce")
    );
    assert_eq!(pending.scope().as_str(), "openid read");
    assert_eq!(pending.max_age(), Some(300));
    let approval = portcullis::endpoint::Approval::new("alice")
        .authenticated_at(portcullis::token::Clock::now(&*h.clock));
    let response = h.server.approve_with(pending, approval).await.unwrap();
    let params = redirect_params(&response);
    let code = param(&params, "code").unwrap().to_owned();

    let reply = h
        .post(token_request(
            Some(&basic(&client.id, &client.secret)),
            &format!(
                "grant_type=authorization_code&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
                form_encode(REDIRECT)
            ),
        ))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let id_token = reply.json["id_token"].as_str().unwrap();
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["nonce"], "signed-nonce");
    assert_eq!(claims["aud"], client.id.as_str());
    assert!(
        claims["auth_time"].is_number(),
        "max_age asks for auth_time"
    );
}
