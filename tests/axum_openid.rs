//! OpenID Connect through the axum Router: the host's `Interaction` sees the
//! authentication request, answers `prompt=none` without a page, reports
//! the sign-in with an `Approval`, and the token endpoint returns the ID
//! token.
#![cfg(feature = "axum")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::request::Parts;
use axum::http::{Request, Response, StatusCode};
use portcullis::axum::{Outcome, router};
use portcullis::client::ClientRegistration;
use portcullis::endpoint::{Approval, InteractionRequired, PendingAuthorization};
use portcullis::grant::AuthorizationCodeGrant;
use portcullis::jose::{Algorithm, KeySet, SigningKey, UnverifiedJws};
use portcullis::oidc::{OpenIdConnect, StaticClaims};
use portcullis::protocol::GrantType;
use portcullis::{AuthorizationServer, MemoryStore};
use tower::ServiceExt as _;

const ISSUER: &str = "https://op.example";
const REDIRECT: &str = "http://127.0.0.1/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// When the test's users signed in.
fn signed_in_at() -> SystemTime {
    SystemTime::now() - Duration::from_secs(3600)
}

/// A host whose signed-in user is named by a header, signed in an hour ago;
/// without one it would show its sign-in page — or, for `prompt=none`,
/// says `login_required`, unless the header `x-careless` asks it to show
/// the page anyway.
async fn host(pending: PendingAuthorization, parts: Parts) -> Outcome {
    let user = parts.headers.get("x-user").and_then(|v| v.to_str().ok());
    let careless = parts.headers.contains_key("x-careless");
    match user {
        Some(user) if !pending.requires_login(Some(signed_in_at())) => Outcome::approve_with(
            pending,
            Approval::new(user)
                .authenticated_at(signed_in_at())
                .amr(["pwd"]),
        ),
        _ if pending.prompt().none() && !careless => {
            Outcome::interaction_required(pending, InteractionRequired::Login)
        }
        _ => Outcome::page((StatusCode::OK, "sign in")),
    }
}

async fn app() -> (Router, String) {
    let store = MemoryStore::new();
    let keys = KeySet::new()
        .with_key(SigningKey::generate(Algorithm::Es256).unwrap())
        .unwrap();
    let server = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store)
        .grant(AuthorizationCodeGrant)
        .signing_keys(keys)
        .openid_connect(
            OpenIdConnect::new(StaticClaims::new()).id_token_signing_alg(Algorithm::Es256),
        )
        .build()
        .unwrap();
    let client_id = server
        .register_client(
            ClientRegistration::native()
                .redirect_uri(REDIRECT)
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .scope("openid".parse().unwrap()),
        )
        .await
        .unwrap()
        .client
        .id()
        .to_string();
    (router(server, host), client_id)
}

fn authorize(client_id: &str, extra: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id={client_id}&scope=openid&state=s1\
         &code_challenge={CHALLENGE}&code_challenge_method=S256{extra}"
    )
}

async fn send(app: &Router, uri: &str, user: Option<&str>, careless: bool) -> Response<Body> {
    let mut request = Request::get(uri);
    if let Some(user) = user {
        request = request.header("x-user", user);
    }
    if careless {
        request = request.header("x-careless", "1");
    }
    app.clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

fn redirect(response: &Response<Body>) -> Vec<(String, String)> {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(REDIRECT));
    location.query_pairs().into_owned().collect()
}

fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let (app, client_id) = app().await;
    let pairs = redirect(&send(&app, &authorize(&client_id, "&prompt=none"), None, false).await);
    assert_eq!(get(&pairs, "error"), Some("login_required"));
    assert_eq!(get(&pairs, "state"), Some("s1"));
    assert_eq!(get(&pairs, "iss"), Some(ISSUER));
}

#[tokio::test]
async fn a_page_for_prompt_none_becomes_interaction_required() {
    let (app, client_id) = app().await;
    let response = send(&app, &authorize(&client_id, "&prompt=none"), None, true).await;
    let pairs = redirect(&response);
    assert_eq!(get(&pairs, "error"), Some("interaction_required"));
    assert_eq!(get(&pairs, "state"), Some("s1"));
    let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    assert!(!String::from_utf8_lossy(&body).contains("sign in"));
    // Without prompt=none the host's page is sent.
    let response = send(&app, &authorize(&client_id, ""), None, true).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_session_older_than_max_age_gets_the_sign_in_page() {
    let (app, client_id) = app().await;
    // Alice signed in an hour ago: too long for max_age=60, and before
    // the request for prompt=login.
    for extra in ["&max_age=60", "&prompt=login"] {
        let response = send(&app, &authorize(&client_id, extra), Some("alice"), false).await;
        assert_eq!(response.status(), StatusCode::OK, "{extra}");
    }
    let response = send(
        &app,
        &authorize(&client_id, "&max_age=7200"),
        Some("alice"),
        false,
    )
    .await;
    assert!(get(&redirect(&response), "code").is_some());
}

#[tokio::test]
async fn the_approval_reaches_the_id_token() {
    let (app, client_id) = app().await;
    let response = send(
        &app,
        &authorize(&client_id, "&nonce=xyz"),
        Some("alice"),
        false,
    )
    .await;
    let pairs = redirect(&response);
    let code = get(&pairs, "code").unwrap();
    let token = app
        .clone()
        .oneshot(
            Request::post("/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "grant_type=authorization_code&code={code}&client_id={client_id}\
                     &redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&code_verifier={VERIFIER}"
                )))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);
    let body: serde_json::Value =
        serde_json::from_slice(&to_bytes(token.into_body(), usize::MAX).await.unwrap()).unwrap();
    let id_token = body["id_token"].as_str().unwrap();
    let payload: serde_json::Value =
        serde_json::from_slice(UnverifiedJws::parse(id_token).unwrap().unverified_payload())
            .unwrap();
    assert_eq!(payload["sub"], "alice");
    assert_eq!(payload["nonce"], "xyz");
    assert_eq!(payload["amr"], serde_json::json!(["pwd"]));
    let auth_time = signed_in_at()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(payload["auth_time"].as_u64().unwrap().abs_diff(auth_time) <= 5);
}

#[tokio::test]
async fn prompt_none_with_a_session_gets_a_code_without_a_page() {
    let (app, client_id) = app().await;
    let response = send(
        &app,
        &authorize(&client_id, "&prompt=none"),
        Some("alice"),
        false,
    )
    .await;
    let pairs = redirect(&response);
    assert!(get(&pairs, "code").is_some());
    assert!(get(&pairs, "error").is_none());
    assert_eq!(get(&pairs, "state"), Some("s1"));
}
