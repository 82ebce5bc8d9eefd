//! The example server's DPoP (contract Version 2, "DPoP"), over HTTP: a
//! token request with a proof gets `token_type: DPoP` and tokens bound to
//! the key (`cnf.jkt`, in the JWT and in introspection); `/api/me` and
//! UserInfo take `Authorization: DPoP` with a proof and refuse a bound
//! token as Bearer or with another key's proof; the three metadata
//! documents list `dpop_signing_alg_values_supported` with ES256.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod example;
#[path = "common/dpop.rs"]
mod proofs;

use std::time::SystemTime;

use example::app::clients::APP_ID;
use example::{Browser, Reply, Server, get, post_form, request, start};
use portcullis::endpoint::Endpoint;
use proofs::{ProofKey, jwt_claims};
use serde_json::{Value, json};

const ALICE: &str = "alice:wonder:land";
const ALICE_PASSWORD: &str = "wonder:land";
const CALLBACK: &str = "http://127.0.0.1:43117/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A form POST to the token endpoint with `DPoP: proof` and `headers`.
async fn token_request(
    server: &Server,
    key: &ProofKey,
    headers: &[(&str, &str)],
    pairs: &[(&str, &str)],
) -> Reply {
    let endpoint = server.endpoint(Endpoint::Token);
    let proof = key.proof("POST", &endpoint, SystemTime::now(), None, None);
    let mut all = vec![("DPoP", proof.as_str())];
    all.extend_from_slice(headers);
    post_form(&endpoint, &all, pairs).await
}

/// The service client's DPoP-bound token for /api/me.
async fn service_token(server: &Server, key: &ProofKey) -> Reply {
    let clients = &server.demo().clients;
    let service = example::basic(&clients.service_id, &clients.service_secret);
    let me = server.url(example::app::RESOURCE_PATH);
    token_request(
        server,
        key,
        &[("Authorization", &service)],
        &[
            ("grant_type", "client_credentials"),
            ("scope", "read"),
            ("resource", &me),
        ],
    )
    .await
}

/// A request to `url` with `Authorization: <scheme> <token>` and, if given,
/// a proof by `key` for `url`.
async fn call(url: &str, scheme: &str, token: &str, key: Option<&ProofKey>) -> Reply {
    let authorization = format!("{scheme} {token}");
    let proof = key.map(|k| k.proof("GET", url, SystemTime::now(), Some(token), None));
    let mut headers = vec![("Authorization", authorization.as_str())];
    if let Some(proof) = &proof {
        headers.push(("DPoP", proof));
    }
    get(url, &headers).await
}

/// The `WWW-Authenticate` challenge of the `DPoP` scheme.
fn dpop_challenge(reply: &Reply) -> String {
    reply
        .headers("www-authenticate")
        .into_iter()
        .find(|c| c.starts_with("DPoP"))
        .unwrap_or_else(|| panic!("no DPoP challenge: {:?}", reply.headers("www-authenticate")))
        .to_owned()
}

#[tokio::test]
async fn a_proof_binds_the_token_and_api_me_holds_it_to_the_key() {
    let server = start(&[]).await;
    let key = ProofKey::new();
    let reply = service_token(&server, &key).await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    let tokens = reply.json();
    assert_eq!(tokens["token_type"], "DPoP");
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    // An RFC 9068 JWT for /api/me, with the key's thumbprint.
    assert_eq!(jwt_claims(&token)["cnf"], json!({"jkt": key.jkt()}));

    // Introspection says DPoP and gives the thumbprint (RFC 9449 §6.2).
    let clients = &server.demo().clients;
    let service = example::basic(&clients.service_id, &clients.service_secret);
    let introspected = post_form(
        &server.endpoint(Endpoint::Introspection),
        &[("Authorization", &service)],
        &[("token", &token)],
    )
    .await
    .json();
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["token_type"], "DPoP");
    assert_eq!(introspected["cnf"], json!({"jkt": key.jkt()}));

    let me = server.url(example::app::RESOURCE_PATH);
    let ok = call(&me, "DPoP", &token, Some(&key)).await;
    assert_eq!(ok.status(), 200, "{}", ok.text());
    assert_eq!(ok.json()["sub"], clients.service_id.as_str());

    // As a bearer token: refused, with a DPoP challenge naming the error.
    let bearer = call(&me, "Bearer", &token, None).await;
    assert_eq!(bearer.status(), 401);
    assert!(dpop_challenge(&bearer).contains("error=\"invalid_token\""));
    // With another key's proof: refused.
    let thief = ProofKey::new();
    let stolen = call(&me, "DPoP", &token, Some(&thief)).await;
    assert_eq!(stolen.status(), 401);
    assert!(dpop_challenge(&stolen).contains("error=\"invalid_token\""));
    // Without a proof: invalid_dpop_proof.
    let bare = call(&me, "DPoP", &token, None).await;
    assert_eq!(bare.status(), 401);
    assert!(dpop_challenge(&bare).contains("error=\"invalid_dpop_proof\""));
    // A proof made for another URL: invalid_dpop_proof.
    let proof = key.proof(
        "GET",
        &server.url("/api/other"),
        SystemTime::now(),
        Some(&token),
        None,
    );
    let authorization = format!("DPoP {token}");
    let elsewhere = get(&me, &[("Authorization", &authorization), ("DPoP", &proof)]).await;
    assert_eq!(elsewhere.status(), 401);
    assert!(dpop_challenge(&elsewhere).contains("error=\"invalid_dpop_proof\""));
    server.stop().await;
}

#[tokio::test]
async fn a_bad_proof_at_the_token_endpoint_is_invalid_dpop_proof() {
    let server = start(&[]).await;
    let clients = &server.demo().clients;
    let service = example::basic(&clients.service_id, &clients.service_secret);
    let key = ProofKey::new();
    // A proof for another URL than the published token endpoint.
    let proof = key.proof(
        "POST",
        &server.url("/elsewhere"),
        SystemTime::now(),
        None,
        None,
    );
    let reply = request(
        "POST",
        &server.endpoint(Endpoint::Token),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &service),
            ("DPoP", &proof),
        ],
        b"grant_type=client_credentials&scope=read".to_vec(),
    )
    .await;
    assert_eq!(reply.status(), 400, "{}", reply.text());
    assert_eq!(reply.json()["error"], "invalid_dpop_proof");
    server.stop().await;
}

#[tokio::test]
async fn the_metadata_documents_list_the_proof_algorithms() {
    let server = start(&[]).await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
        "/.well-known/oauth-protected-resource/api/me",
    ] {
        let document = get(&server.url(path), &[]).await.json();
        let algs = document["dpop_signing_alg_values_supported"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}: {document}"));
        assert!(algs.contains(&json!("ES256")), "{path}: {document}");
    }
    server.stop().await;
}

#[tokio::test]
async fn userinfo_and_refresh_hold_the_public_clients_tokens_to_the_key() {
    let server = start(&["--user", ALICE]).await;
    let mut browser = Browser::new();
    let query = example::form(&[
        ("response_type", "code"),
        ("client_id", APP_ID),
        ("redirect_uri", CALLBACK),
        ("state", "s"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("scope", "openid profile read"),
        ("nonce", "n"),
    ]);
    let login = browser
        .get(&format!(
            "{}?{query}",
            server.endpoint(Endpoint::Authorization)
        ))
        .await;
    let signed_in = browser.sign_in(&login, "alice", ALICE_PASSWORD).await;
    let consent = browser.follow(&signed_in).await;
    let approved = browser.submit(&consent, &[("decision", "approve")]).await;
    assert_eq!(approved.status(), 303, "{}", approved.text());
    let code = approved.location_params()["code"].clone();

    let key = ProofKey::new();
    let reply = token_request(
        &server,
        &key,
        &[],
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", APP_ID),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    let tokens: Value = reply.json();
    assert_eq!(tokens["token_type"], "DPoP");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let userinfo = server.endpoint(Endpoint::UserInfo);
    let ok = call(&userinfo, "DPoP", &access, Some(&key)).await;
    assert_eq!(ok.status(), 200, "{}", ok.text());
    assert_eq!(ok.json()["sub"], "alice");
    let bearer = call(&userinfo, "Bearer", &access, None).await;
    assert_eq!(bearer.status(), 401);
    assert!(dpop_challenge(&bearer).contains("error=\"invalid_token\""));
    let thief = ProofKey::new();
    let stolen = call(&userinfo, "DPoP", &access, Some(&thief)).await;
    assert_eq!(stolen.status(), 401);

    // The public client's refresh token is bound too (RFC 9449 §5).
    let refresh_with = |key: &ProofKey| {
        let key_proof = key.proof(
            "POST",
            &server.endpoint(Endpoint::Token),
            SystemTime::now(),
            None,
            None,
        );
        let refresh = refresh.clone();
        let endpoint = server.endpoint(Endpoint::Token);
        async move {
            post_form(
                &endpoint,
                &[("DPoP", &key_proof)],
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &refresh),
                    ("client_id", APP_ID),
                ],
            )
            .await
        }
    };
    let stolen = refresh_with(&thief).await;
    assert_eq!(stolen.status(), 400, "{}", stolen.text());
    assert_eq!(stolen.json()["error"], "invalid_dpop_proof");
    let refreshed = refresh_with(&key).await;
    assert_eq!(refreshed.status(), 200, "{}", refreshed.text());
    assert_eq!(refreshed.json()["token_type"], "DPoP");
    server.stop().await;
}
