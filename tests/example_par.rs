//! The example server's pushed and signed authorization requests
//! (`EXAMPLE-SERVER-CONTRACT.md`, version 2, "PAR" and "JAR"), run in
//! process and driven over real HTTP on loopback: the metadata, a request
//! pushed and then used once by a browser, a client registered with
//! `require_pushed_authorization_requests`, and ES256 request objects from
//! clients registered with inline `jwks` — at the authorization endpoint
//! and at the PAR endpoint — with a bad signature refused at both.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod example;

use std::time::{SystemTime, UNIX_EPOCH};

use example::{Browser, Reply, Server, basic, get, post_form, request, start};
use portcullis::endpoint::Endpoint;
use portcullis::jose::{Algorithm, SigningKey, sign_json};
use serde_json::{Value, json};

const REGISTRATION_TOKEN: &str = "iat-Xq3vR8nT2wY6pL9zB4cF7hJ1kM5sD0gA";
const CALLBACK: &str = "http://127.0.0.1:43117/callback";
const STATE: &str = "st-<&\"'>";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async fn server() -> Server {
    start(&[
        "--user",
        "alice:wonderland",
        "--registration-token",
        REGISTRATION_TOKEN,
    ])
    .await
}

fn title(page: &Reply) -> String {
    let text = page.text();
    let start = text.find("<title>").unwrap() + "<title>".len();
    let end = text.find("</title>").unwrap();
    text[start..end].to_owned()
}

/// Registers a client for the code flow through RFC 7591 with `metadata`
/// besides: its information.
async fn register(server: &Server, metadata: Value) -> Value {
    let mut body = json!({
        "client_name": "Pushing client",
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "scope": "read",
    });
    body.as_object_mut()
        .unwrap()
        .extend(metadata.as_object().unwrap().clone());
    let reply = request(
        "POST",
        &server.endpoint(Endpoint::Registration),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &format!("Bearer {REGISTRATION_TOKEN}")),
        ],
        body.to_string(),
    )
    .await;
    assert_eq!(reply.status(), 201, "{}", reply.text());
    reply.json()
}

/// The authorization request's parameters (PKCE S256, `state`).
fn request_params(client_id: &str) -> Vec<(&'static str, String)> {
    request_params_to(client_id, CALLBACK)
}

/// The authorization request's parameters, redirecting to `redirect_uri`.
fn request_params_to(client_id: &str, redirect_uri: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".to_owned()),
        ("client_id", client_id.to_owned()),
        ("redirect_uri", redirect_uri.to_owned()),
        ("scope", "read".to_owned()),
        ("state", STATE.to_owned()),
        ("code_challenge", CHALLENGE.to_owned()),
        ("code_challenge_method", "S256".to_owned()),
    ]
}

fn pairs<'a>(params: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    params.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

/// Pushes `params` with `headers`: the reply.
async fn push(server: &Server, headers: &[(&str, &str)], params: &[(&str, &str)]) -> Reply {
    post_form(
        &server.endpoint(Endpoint::PushedAuthorization),
        headers,
        params,
    )
    .await
}

fn authorize_url(server: &Server, params: &[(&str, &str)]) -> String {
    format!(
        "{}?{}",
        server.endpoint(Endpoint::Authorization),
        example::form(params)
    )
}

/// The browser at the authorization endpoint with `client_id` and the
/// `request_uri` of the `pushed` reply.
async fn authorize_pushed(
    server: &Server,
    browser: &mut Browser,
    client_id: &str,
    pushed: &Reply,
) -> Reply {
    let request_uri = pushed.json()["request_uri"].as_str().unwrap().to_owned();
    browser
        .get(&authorize_url(
            server,
            &[("client_id", client_id), ("request_uri", &request_uri)],
        ))
        .await
}

/// Signs in as alice on `page` and approves: the redirect's parameters.
async fn sign_in_and_approve(
    browser: &mut Browser,
    page: &Reply,
) -> std::collections::BTreeMap<String, String> {
    sign_in_and_approve_to(browser, page, CALLBACK).await
}

/// Signs in and approves a request redirecting to `redirect_uri`.
async fn sign_in_and_approve_to(
    browser: &mut Browser,
    page: &Reply,
    redirect_uri: &str,
) -> std::collections::BTreeMap<String, String> {
    assert_eq!(title(page), "Sign in", "{}", page.text());
    let signed_in = browser.sign_in(page, "alice", "wonderland").await;
    let consent = browser.follow(&signed_in).await;
    assert_eq!(title(&consent), "Allow access?", "{}", consent.text());
    let approved = browser.submit(&consent, &[("decision", "approve")]).await;
    assert_eq!(approved.status(), 303, "{}", approved.text());
    assert!(approved.location().as_str().starts_with(redirect_uri));
    approved.location_params()
}

/// Redeems `code` for the public client `client_id`.
async fn redeem(server: &Server, client_id: &str, code: &str) -> Reply {
    post_form(
        &server.endpoint(Endpoint::Token),
        &[],
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", client_id),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

/// A request object of `client_id` for `server`, signed with `key`.
async fn request_object(
    server: &Server,
    client_id: &str,
    redirect_uri: &str,
    key: &SigningKey,
    jti: &str,
) -> String {
    let mut claims = json!({
        "iss": client_id,
        "aud": server.issuer(),
        "iat": now(),
        "exp": now() + 300,
        "jti": jti,
    });
    for (name, value) in request_params_to(client_id, redirect_uri) {
        claims[name] = json!(value);
    }
    sign_json(key, Some("oauth-authz-req+jwt"), &claims)
        .await
        .unwrap()
}

fn es256_key() -> SigningKey {
    SigningKey::generate(Algorithm::Es256)
        .unwrap()
        .with_key_id("rp-es256")
        .unwrap()
}

fn jwks(key: &SigningKey) -> Value {
    json!({ "keys": [key.public_jwk()] })
}

#[tokio::test]
async fn the_metadata_advertises_par_and_request_objects() {
    let server = server().await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let metadata = get(&server.url(path), &[]).await.json();
        assert_eq!(
            metadata["pushed_authorization_request_endpoint"],
            server.endpoint(Endpoint::PushedAuthorization),
            "{path}"
        );
        let algs = metadata["request_object_signing_alg_values_supported"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}: {metadata}"));
        assert!(algs.contains(&json!("ES256")), "{path}");
        assert!(!algs.contains(&json!("none")), "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_pushed_request_is_used_once_by_the_browser() {
    let server = server().await;
    let client = register(&server, json!({})).await;
    let client_id = client["client_id"].as_str().unwrap();

    let params = request_params(client_id);
    let pushed = push(&server, &[], &pairs(&params)).await;
    assert_eq!(pushed.status(), 201, "{}", pushed.text());
    assert_eq!(pushed.header("cache-control"), Some("no-store"));
    let body = pushed.json();
    let request_uri = body["request_uri"].as_str().unwrap();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    assert!(body["expires_in"].as_u64().unwrap() > 0);

    let url = authorize_url(
        &server,
        &[("client_id", client_id), ("request_uri", request_uri)],
    );
    let mut browser = Browser::new();
    let page = browser.get(&url).await;
    let redirect = sign_in_and_approve(&mut browser, &page).await;
    assert_eq!(redirect["state"], STATE);
    assert_eq!(redirect["iss"], server.issuer());
    let tokens = redeem(&server, client_id, &redirect["code"]).await;
    assert_eq!(tokens.status(), 200, "{}", tokens.text());

    // Once only.
    let again = browser.get(&url).await;
    assert_eq!(again.status(), 400, "{}", again.text());
    assert!(again.header("location").is_none());

    // A push carrying request_uri, and invalid parameters, are JSON 400s.
    let mut with_uri = pairs(&params);
    with_uri.push(("request_uri", request_uri));
    let refused = push(&server, &[], &with_uri).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.json()["error"], "invalid_request");
    let mut bad_redirect = pairs(&params);
    bad_redirect.retain(|(n, _)| *n != "redirect_uri");
    bad_redirect.push(("redirect_uri", "https://evil.example/cb"));
    let refused = push(&server, &[], &bad_redirect).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.json()["error"], "invalid_request");
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_requires_par_is_refused_without_it() {
    let server = server().await;
    let client = register(
        &server,
        json!({ "require_pushed_authorization_requests": true }),
    )
    .await;
    assert_eq!(client["require_pushed_authorization_requests"], true);
    let client_id = client["client_id"].as_str().unwrap();
    let params = request_params(client_id);

    let mut browser = Browser::new();
    let plain = browser.get(&authorize_url(&server, &pairs(&params))).await;
    assert_eq!(plain.status(), 400, "{}", plain.text());
    assert!(plain.header("location").is_none());

    let pushed = push(&server, &[], &pairs(&params)).await;
    assert_eq!(pushed.status(), 201, "{}", pushed.text());
    let page = authorize_pushed(&server, &mut browser, client_id, &pushed).await;
    let redirect = sign_in_and_approve(&mut browser, &page).await;
    assert_eq!(redirect["state"], STATE);
    server.stop().await;
}

#[tokio::test]
async fn an_es256_request_object_is_accepted_at_both_endpoints_whatever_the_auth_method() {
    let server = server().await;
    let key = es256_key();
    // A public client and a confidential one, both with inline jwks.
    let public = register(&server, json!({ "jwks": jwks(&key) })).await;
    const WEB_CALLBACK: &str = "https://rp.example/callback";
    let confidential = register(
        &server,
        json!({
            "jwks": jwks(&key),
            "token_endpoint_auth_method": "client_secret_basic",
            "redirect_uris": [WEB_CALLBACK],
        }),
    )
    .await;

    for (client, callback) in [(&public, CALLBACK), (&confidential, WEB_CALLBACK)] {
        let client_id = client["client_id"].as_str().unwrap();
        let secret = client["client_secret"].as_str();
        let auth = secret.map(|s| basic(client_id, s));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();

        // By value at the authorization endpoint, client_id outside too.
        let object = request_object(
            &server,
            client_id,
            callback,
            &key,
            &format!("{client_id}-1"),
        )
        .await;
        let mut browser = Browser::new();
        let page = browser
            .get(&authorize_url(
                &server,
                &[("client_id", client_id), ("request", &object)],
            ))
            .await;
        let redirect = sign_in_and_approve_to(&mut browser, &page, callback).await;
        assert_eq!(redirect["state"], STATE);

        // Pushed to the PAR endpoint.
        let object = request_object(
            &server,
            client_id,
            callback,
            &key,
            &format!("{client_id}-2"),
        )
        .await;
        let pushed = push(
            &server,
            &headers,
            &[("client_id", client_id), ("request", &object)],
        )
        .await;
        assert_eq!(pushed.status(), 201, "{}", pushed.text());
        let page = authorize_pushed(&server, &mut browser, client_id, &pushed).await;
        assert_eq!(title(&page), "Allow access?", "{}", page.text());

        // Signed with a key the client did not register: refused at both.
        let stranger = es256_key();
        let forged = request_object(
            &server,
            client_id,
            callback,
            &stranger,
            &format!("{client_id}-3"),
        )
        .await;
        let refused = browser
            .get(&authorize_url(
                &server,
                &[("client_id", client_id), ("request", &forged)],
            ))
            .await;
        assert_eq!(refused.status(), 400, "{}", refused.text());
        assert!(refused.header("location").is_none());
        let refused = push(
            &server,
            &headers,
            &[("client_id", client_id), ("request", &forged)],
        )
        .await;
        assert_eq!(refused.status(), 400, "{}", refused.text());
        assert_eq!(refused.json()["error"], "invalid_request_object");
    }
    server.stop().await;
}
