//! DPoP at protected resources (RFC 9449 §7, §9): the `BearerValidator`
//! (and so the tower layer) and the UserInfo endpoint accept
//! `Authorization: DPoP` with a proof of the bound key, refuse a bound
//! token presented as a bearer token or with another key's proof, and
//! answer with `WWW-Authenticate: DPoP` challenges.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::dpop::ProofKey;
use common::{Harness, Reply, TestClient, cc_request, harness_with};
use http::{HeaderValue, Request, Response};
use portcullis::AuthorizationServer;
use portcullis::endpoint::Dpop;
use portcullis::oidc::{Claims, OpenIdConnect, StaticClaims};
use portcullis::protocol::{GrantType, Scope};
use portcullis::resource::{BearerValidator, DpopResource, Realm};
use portcullis::token::{Clock, Confirmation};
use url::Url;

const TOKEN_URL: &str = "https://auth.example/token";
const API: &str = "https://api.example/photos";
const USERINFO: &str = "https://auth.example/userinfo";
const NONCE_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn server_dpop() -> Dpop {
    Dpop::new(portcullis::MemoryStore::new())
}

fn harness() -> Harness {
    harness_with(|b| {
        b.dpop(server_dpop())
            .grant(portcullis::grant::AuthorizationCodeGrant)
            .signing_keys(common::signing_keys(&[
                portcullis::jose::Algorithm::Rs256,
                portcullis::jose::Algorithm::Es256,
            ]))
            .openid_connect(OpenIdConnect::new(
                StaticClaims::new().user("alice", Claims::new().with("name", "Alice")),
            ))
    })
}

fn validator(h: &Harness, dpop: Dpop) -> BearerValidator<AuthorizationServer> {
    let clock: Arc<dyn Clock> = h.clock.clone();
    BearerValidator::new(h.server.clone(), Realm::new("photos").unwrap())
        .dpop(DpopResource::new(dpop, Url::parse("https://api.example").unwrap()).clock(clock))
}

/// A DPoP-bound token for `key`, from the client credentials grant.
async fn bound_token(h: &Harness, client: &TestClient, key: &ProofKey) -> String {
    token_with_proof(h, cc_request(client, ""), key).await
}

/// Sends the token request `request` with a proof by `key`: the DPoP-bound
/// access token.
async fn token_with_proof(h: &Harness, mut request: Request<Vec<u8>>, key: &ProofKey) -> String {
    let proof = key.proof("POST", TOKEN_URL, h.clock.now(), None, None);
    request
        .headers_mut()
        .insert("dpop", HeaderValue::from_str(&proof).unwrap());
    let reply = h.post(request).await;
    assert_eq!(reply.json["token_type"], "DPoP", "{:?}", reply.json);
    reply.access_token().to_owned()
}

/// A GET of `url` with `Authorization: <scheme> <token>` and, if given, a
/// `DPoP` proof.
fn get(url: &str, scheme: &str, token: &str, proof: Option<&str>) -> Request<Vec<u8>> {
    let mut builder = Request::get(url).header("authorization", format!("{scheme} {token}"));
    if let Some(proof) = proof {
        builder = builder.header("dpop", proof);
    }
    builder.body(Vec::new()).unwrap()
}

/// What the resource answers: the validator's error as its response, or 200.
async fn photos(validator: &BearerValidator<AuthorizationServer>, r: Request<Vec<u8>>) -> Reply {
    let response = match validator.validate(&r, &Scope::empty()).await {
        Ok(_) => Response::new(b"{}".to_vec()),
        Err(e) => e.into_http(),
    };
    Reply::from(response)
}

/// The `WWW-Authenticate` values of a reply.
fn challenges(reply: &Reply) -> Vec<String> {
    reply
        .headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// Asserts a 401 whose `DPoP` challenge carries `error`.
#[track_caller]
fn assert_dpop_refusal(reply: &Reply, error: &str) {
    assert_eq!(reply.status, 401, "{:?}", reply.json);
    assert_eq!(reply.error(), error);
    let dpop = challenges(reply)
        .into_iter()
        .find(|c| c.starts_with("DPoP "))
        .expect("a DPoP challenge");
    assert!(
        dpop.contains(&format!("error=\"{error}\"")) && dpop.contains("algs=\"ES256"),
        "{dpop}"
    );
}

#[tokio::test]
async fn a_bound_token_with_its_proof_is_accepted() {
    let h = harness();
    let client = h.cc_client().await;
    let key = ProofKey::new();
    let token = bound_token(&h, &client, &key).await;
    let v = validator(&h, server_dpop());
    let proof = key.proof("GET", API, h.clock.now(), Some(&token), None);
    let info = v
        .validate(&get(API, "DPoP", &token, Some(&proof)), &Scope::empty())
        .await
        .unwrap();
    assert_eq!(info.cnf, Some(Confirmation::jkt(key.jkt())));
    // The query is not part of htu (§4.3 item 9).
    let proof = key.proof("GET", API, h.clock.now(), Some(&token), None);
    let reply = photos(
        &v,
        get(&format!("{API}?page=2"), "DPoP", &token, Some(&proof)),
    )
    .await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn a_bound_token_presented_as_bearer_is_refused() {
    let h = harness();
    let client = h.cc_client().await;
    let key = ProofKey::new();
    let token = bound_token(&h, &client, &key).await;
    let reply = photos(
        &validator(&h, server_dpop()),
        get(API, "Bearer", &token, None),
    )
    .await;
    assert_dpop_refusal(&reply, "invalid_token");
    // A validator without DPoP refuses it too: the binding is never ignored.
    let plain = BearerValidator::new(h.server.clone(), Realm::new("photos").unwrap());
    let result = plain
        .validate(&get(API, "Bearer", &token, None), &Scope::empty())
        .await;
    assert_eq!(result.unwrap_err().status(), 401);
}

#[tokio::test]
async fn another_keys_proof_is_refused() {
    let h = harness();
    let client = h.cc_client().await;
    let key = ProofKey::new();
    let token = bound_token(&h, &client, &key).await;
    let thief = ProofKey::new();
    let proof = thief.proof("GET", API, h.clock.now(), Some(&token), None);
    let reply = photos(
        &validator(&h, server_dpop()),
        get(API, "DPoP", &token, Some(&proof)),
    )
    .await;
    assert_dpop_refusal(&reply, "invalid_token");
}

#[tokio::test]
async fn a_bad_proof_is_invalid_dpop_proof() {
    let h = harness();
    let client = h.cc_client().await;
    let key = ProofKey::new();
    let token = bound_token(&h, &client, &key).await;
    let v = validator(&h, server_dpop());
    let now = h.clock.now();
    let other_token = bound_token(&h, &client, &key).await;
    let cases = [
        // ath of another token.
        (key.proof("GET", API, now, Some(&other_token), None), "ath"),
        // No ath at all.
        (key.proof("GET", API, now, None, None), "ath"),
        // Another URL, another method.
        (
            key.proof("GET", "https://api.example/other", now, Some(&token), None),
            "another URI",
        ),
        (
            key.proof(
                "GET",
                "https://evil.example/photos",
                now,
                Some(&token),
                None,
            ),
            "another URI",
        ),
        (
            key.proof("POST", API, now, Some(&token), None),
            "another method",
        ),
        // Stale.
        (
            key.proof(
                "GET",
                API,
                now - Duration::from_secs(600),
                Some(&token),
                None,
            ),
            "iat",
        ),
    ];
    for (proof, why) in cases {
        let reply = photos(&v, get(API, "DPoP", &token, Some(&proof))).await;
        assert_dpop_refusal(&reply, "invalid_dpop_proof");
        assert!(reply.description().contains(why), "{}", reply.description());
    }
    // No proof with the DPoP scheme.
    let reply = photos(&v, get(API, "DPoP", &token, None)).await;
    assert_dpop_refusal(&reply, "invalid_dpop_proof");
    // A replayed proof.
    let proof = key.proof("GET", API, now, Some(&token), None);
    assert_eq!(
        photos(&v, get(API, "DPoP", &token, Some(&proof)))
            .await
            .status,
        200
    );
    let reply = photos(&v, get(API, "DPoP", &token, Some(&proof))).await;
    assert_dpop_refusal(&reply, "invalid_dpop_proof");
    assert!(reply.description().contains("already used"));
}

#[tokio::test]
async fn a_bearer_token_presented_as_dpop_is_refused() {
    let h = harness();
    let client = h.cc_client().await;
    let reply = h.post(cc_request(&client, "")).await;
    let token = reply.access_token().to_owned();
    let key = ProofKey::new();
    let proof = key.proof("GET", API, h.clock.now(), Some(&token), None);
    let v = validator(&h, server_dpop());
    let reply = photos(&v, get(API, "DPoP", &token, Some(&proof))).await;
    assert_dpop_refusal(&reply, "invalid_token");
    // As a bearer token it still works.
    assert_eq!(
        photos(&v, get(API, "Bearer", &token, None)).await.status,
        200
    );
}

#[tokio::test]
async fn no_token_gets_both_challenges() {
    let h = harness();
    let v = validator(&h, server_dpop());
    let reply = photos(&v, Request::get(API).body(Vec::new()).unwrap()).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        challenges(&reply),
        vec![
            r#"Bearer realm="photos""#.to_owned(),
            r#"DPoP algs="ES256 RS256 PS256 EdDSA""#.to_owned(),
        ]
    );
}

#[tokio::test]
async fn a_resource_nonce_is_demanded_and_honoured() {
    let h = harness();
    let client = h.cc_client().await;
    let key = ProofKey::new();
    let token = bound_token(&h, &client, &key).await;
    let v = validator(
        &h,
        server_dpop()
            .require_nonce(NONCE_KEY, Duration::from_secs(60))
            .unwrap(),
    );
    let proof = key.proof("GET", API, h.clock.now(), Some(&token), None);
    let reply = photos(&v, get(API, "DPoP", &token, Some(&proof))).await;
    assert_dpop_refusal(&reply, "use_dpop_nonce");
    let nonce = reply.header("dpop-nonce").expect("DPoP-Nonce").to_owned();
    assert_eq!(
        v.dpop_settings().unwrap().current_nonce().as_deref(),
        Some(nonce.as_str())
    );
    let proof = key.proof("GET", API, h.clock.now(), Some(&token), Some(&nonce));
    assert_eq!(
        photos(&v, get(API, "DPoP", &token, Some(&proof)))
            .await
            .status,
        200
    );
}

/// Alice's DPoP-bound access token with `openid`, for `key`.
async fn userinfo_token(h: &Harness, key: &ProofKey) -> String {
    let client = h
        .register(
            portcullis::client::ClientRegistration::native()
                .redirect_uri("http://127.0.0.1/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .scope("openid profile".parse().unwrap()),
        )
        .await;
    let pending = h
        .authorize(&format!(
            "response_type=code&client_id={}&code_challenge={}&code_challenge_method=S256&scope=openid%20profile",
            client.id,
            common::CHALLENGE
        ))
        .await
        .unwrap();
    let response = h.server.approve(pending, "alice", None).await.unwrap();
    let params = common::redirect_params(&response);
    let code = common::param(&params, "code").unwrap();
    let request = common::token_request(
        None,
        &format!(
            "grant_type=authorization_code&code={code}&client_id={}&code_verifier={}",
            client.id,
            common::VERIFIER
        ),
    );
    token_with_proof(h, request, key).await
}

#[tokio::test]
async fn userinfo_accepts_dpop_and_refuses_bearer_or_another_key() {
    let h = harness();
    let key = ProofKey::new();
    let token = userinfo_token(&h, &key).await;
    let call = |request| async { Reply::from(h.server.userinfo_endpoint(request).await) };

    let proof = key.proof("GET", USERINFO, h.clock.now(), Some(&token), None);
    let reply = call(get(USERINFO, "DPoP", &token, Some(&proof))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["sub"], "alice");

    let reply = call(get(USERINFO, "Bearer", &token, None)).await;
    assert_dpop_refusal(&reply, "invalid_token");

    let thief = ProofKey::new();
    let proof = thief.proof("GET", USERINFO, h.clock.now(), Some(&token), None);
    let reply = call(get(USERINFO, "DPoP", &token, Some(&proof))).await;
    assert_dpop_refusal(&reply, "invalid_token");

    let proof = key.proof("GET", API, h.clock.now(), Some(&token), None);
    let reply = call(get(USERINFO, "DPoP", &token, Some(&proof))).await;
    assert_dpop_refusal(&reply, "invalid_dpop_proof");

    let reply = call(get(USERINFO, "DPoP", &token, None)).await;
    assert_dpop_refusal(&reply, "invalid_dpop_proof");

    let reply = call(Request::get(USERINFO).body(Vec::new()).unwrap()).await;
    assert_eq!(reply.status, 401);
    assert!(
        challenges(&reply)
            .iter()
            .any(|c| c.starts_with("DPoP algs=")),
        "{:?}",
        challenges(&reply)
    );
}

#[test]
fn an_introspected_dpop_token_keeps_its_key_or_is_refused() {
    use portcullis::protocol::IntrospectionResponse;
    use portcullis::resource::TokenInfo;
    let now = std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_100);
    let bound = br#"{"active":true,"scope":"read","client_id":"c1","token_type":"DPoP",
        "exp":1800000600,"cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}"#;
    let response = IntrospectionResponse::from_json(bound).unwrap();
    let info = TokenInfo::from_introspection(&response, "https://auth.example", now).unwrap();
    assert_eq!(
        info.cnf,
        Some(Confirmation::jkt(
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        ))
    );
    // RFC 9449 §6.2: a DPoP token without its key cannot be held to it.
    let keyless = br#"{"active":true,"scope":"read","token_type":"DPoP","exp":1800000600}"#;
    let response = IntrospectionResponse::from_json(keyless).unwrap();
    assert!(TokenInfo::from_introspection(&response, "https://auth.example", now).is_none());
}
