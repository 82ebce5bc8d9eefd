//! Races over HTTP: the example authorization server (`examples/server/`)
//! run in process on a SQLite file and on PostgreSQL, and one thing that may
//! happen once — redeeming a code, rotating a refresh token, collecting an
//! approved device code, approving a pending request on the consent page —
//! attempted by [`N`] requests released at once over loopback
//! ([`example::send_all_at_once`]). Exactly one wins. For the code, the
//! refresh token and the device code the losers are replays, and a replay
//! revokes the grant with every token issued from it (RFC 6749 §4.1.2,
//! RFC 6819 §5.2.1.1, RFC 9700 §4.14.2, RFC 8628 §5.4 via the library's
//! device grant), so after the race the winner's tokens are dead too.
//!
//! PostgreSQL runs when `PORTCULLIS_TEST_POSTGRES_URL` is set (each test in a
//! schema of its own, see `tests/sql_support`); otherwise those tests print a
//! note and pass.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod example;
mod sql_support;

use std::net::Ipv4Addr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use example::{Browser, DEVICE_GRANT, Server, app, post_form, send_all_at_once};
use http::Request;
use http::Response;
use portcullis::endpoint::Endpoint;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use sql_support::{Backend, TestDb};

/// How many requests race for the one thing.
const N: usize = 32;
/// A redirect URI of the demo app: loopback, any port (RFC 8252 §7.3).
const CALLBACK: &str = "http://127.0.0.1:43117/callback";

/// The example server on a fresh database of `backend`: a SQLite file in a
/// temporary directory, or a PostgreSQL schema of its own. `None` (with a
/// note printed) for PostgreSQL when no server is configured.
async fn server_on(backend: Backend, test: &str) -> Option<(Server, TestDb)> {
    let db = TestDb::new(backend, test).await?;
    let server = example::start(&["--database", &db.location]).await;
    Some((server, db))
}

/// Stops the server, and checks that its state was in the test's database:
/// the SQLite file, or the PostgreSQL schema.
async fn finish(server: Server, db: TestDb) {
    server.stop().await;
    let contents = db.contents().await.unwrap();
    let needle = app::clients::APP_ID.as_bytes();
    assert!(
        contents.windows(needle.len()).any(|w| w == needle),
        "the demo app is registered in the test's database"
    );
}

/// A fresh PKCE verifier and its S256 challenge (RFC 7636 §4.1, §4.2).
fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The demo app's authorization request for scope `read`.
fn authorization_url(server: &Server, challenge: &str) -> String {
    let query = example::form(&[
        ("response_type", "code"),
        ("client_id", app::clients::APP_ID),
        ("redirect_uri", CALLBACK),
        ("scope", "read"),
        ("state", "race"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]);
    format!("{}?{query}", server.endpoint(Endpoint::Authorization))
}

/// A browser signed in as the demo user, on the consent page of a new
/// authorization request with PKCE challenge `challenge`.
async fn consent_page(server: &Server, challenge: &str) -> (Browser, example::Reply) {
    let mut browser = Browser::new();
    let (user, password) = server.user();
    let login = browser.get(&authorization_url(server, challenge)).await;
    assert_eq!(login.status(), 200, "{}", login.text());
    let signed_in = browser.sign_in(&login, &user, &password).await;
    let consent = browser.follow(&signed_in).await;
    assert_eq!(consent.status(), 200, "{}", consent.text());
    (browser, consent)
}

/// An authorization code for the demo app, approved in a browser, and the
/// PKCE verifier it needs.
async fn approved_code(server: &Server) -> (String, String) {
    let (verifier, challenge) = pkce();
    let (mut browser, consent) = consent_page(server, &challenge).await;
    let redirect = browser.submit(&consent, &[("decision", "approve")]).await;
    assert_eq!(redirect.status(), 303, "{}", redirect.text());
    (redirect.location_params()["code"].clone(), verifier)
}

/// A token request for the demo app (a public client: `client_id` in the
/// body, no secret).
fn token_request(server: &Server, pairs: &[(&str, &str)]) -> Request<Vec<u8>> {
    let mut all = vec![("client_id", app::clients::APP_ID)];
    all.extend_from_slice(pairs);
    Request::post(server.endpoint(Endpoint::Token))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(example::form(&all).into_bytes())
        .unwrap()
}

fn code_request(server: &Server, code: &str, verifier: &str) -> Request<Vec<u8>> {
    token_request(
        server,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ],
    )
}

fn refresh_request(server: &Server, refresh_token: &str) -> Request<Vec<u8>> {
    token_request(
        server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
}

fn json(response: &Response<Vec<u8>>) -> Value {
    serde_json::from_slice(response.body()).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {} {}",
            response.status(),
            String::from_utf8_lossy(response.body())
        )
    })
}

/// Of the token responses, exactly one is 200 and every other is `400
/// invalid_grant` (RFC 6749 §5.2); the winner's token response.
fn one_token_winner(responses: &[Response<Vec<u8>>]) -> Value {
    let mut winners = Vec::new();
    for response in responses {
        match response.status().as_u16() {
            200 => winners.push(json(response)),
            400 => assert_eq!(json(response)["error"], "invalid_grant"),
            other => panic!(
                "{other}: {}",
                String::from_utf8_lossy(response.body()).into_owned()
            ),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one winner of {}",
        responses.len()
    );
    winners.pop().unwrap()
}

/// Whether the server's introspection endpoint says `token` is active, asked
/// as the demo resource server.
async fn active(server: &Server, token: &str) -> bool {
    let credential = format!("Bearer {}", server.demo().introspection_secret);
    let reply = post_form(
        &server.endpoint(Endpoint::Introspection),
        &[("Authorization", &credential)],
        &[("token", token)],
    )
    .await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    reply.json()["active"].as_bool().unwrap()
}

/// The winner's tokens are revoked: `/api/me` refuses the access token, and
/// introspection calls both it and the refresh token inactive.
async fn assert_revoked(server: &Server, tokens: &Value) {
    let access = tokens["access_token"].as_str().unwrap();
    let me = server.me(access).await;
    assert_eq!(me.status(), 401, "{}", me.text());
    assert!(
        me.header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    assert!(!active(server, access).await);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert!(!active(server, refresh).await);
}

/// [`N`] redemptions of one code at once: one token response, and the
/// replays revoke it.
async fn code_redemption(backend: Backend, test: &str) {
    let Some((server, db)) = server_on(backend, test).await else {
        return;
    };
    let (code, verifier) = approved_code(&server).await;
    let requests = (0..N)
        .map(|_| code_request(&server, &code, &verifier))
        .collect();
    let responses = send_all_at_once(Ipv4Addr::LOCALHOST, requests).await;
    let tokens = one_token_winner(&responses);
    assert_revoked(&server, &tokens).await;
    // And the code stays spent.
    let again = send_all_at_once(
        Ipv4Addr::LOCALHOST,
        vec![code_request(&server, &code, &verifier)],
    )
    .await;
    assert_eq!(json(&again[0])["error"], "invalid_grant");
    finish(server, db).await;
}

/// [`N`] rotations of one refresh token at once: one new pair, and the
/// reuse revokes the grant — the new pair and the access token from the
/// code included.
async fn refresh_rotation(backend: Backend, test: &str) {
    let Some((server, db)) = server_on(backend, test).await else {
        return;
    };
    let (code, verifier) = approved_code(&server).await;
    let reply = example::send(code_request(&server, &code, &verifier))
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let first = json(&reply);
    let refresh = first["refresh_token"].as_str().unwrap();
    assert_eq!(
        server
            .me(first["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );

    let requests = (0..N).map(|_| refresh_request(&server, refresh)).collect();
    let responses = send_all_at_once(Ipv4Addr::LOCALHOST, requests).await;
    let tokens = one_token_winner(&responses);
    assert_ne!(tokens["refresh_token"], first["refresh_token"]);
    assert_revoked(&server, &tokens).await;
    assert_revoked(&server, &first).await;
    finish(server, db).await;
}

/// [`N`] polls with one approved device code at once: one token response,
/// and the replays revoke it.
async fn device_collection(backend: Backend, test: &str) {
    let Some((server, db)) = server_on(backend, test).await else {
        return;
    };
    let codes = post_form(
        &server.endpoint(Endpoint::DeviceAuthorization),
        &[],
        &[("client_id", app::clients::APP_ID), ("scope", "read")],
    )
    .await;
    assert_eq!(codes.status(), 200, "{}", codes.text());
    let codes = codes.json();
    let user_code = codes["user_code"].as_str().unwrap();
    let device_code = codes["device_code"].as_str().unwrap();

    let (user, password) = server.user();
    let mut browser = Browser::new();
    let login = browser
        .get(codes["verification_uri_complete"].as_str().unwrap())
        .await;
    let signed_in = browser.sign_in(&login, &user, &password).await;
    let form = browser.follow(&signed_in).await;
    let confirm = browser.submit(&form, &[("user_code", user_code)]).await;
    assert_eq!(confirm.status(), 200, "{}", confirm.text());
    let done = browser.submit(&confirm, &[("decision", "approve")]).await;
    assert_eq!(done.status(), 200, "{}", done.text());

    let requests = (0..N)
        .map(|_| {
            token_request(
                &server,
                &[("grant_type", DEVICE_GRANT), ("device_code", device_code)],
            )
        })
        .collect();
    let responses = send_all_at_once(Ipv4Addr::LOCALHOST, requests).await;
    let tokens = one_token_winner(&responses);
    assert_revoked(&server, &tokens).await;
    finish(server, db).await;
}

/// [`N`] approvals of one pending request at once, from the signed-in
/// browser's consent form: one redirect with a code, every other answer a
/// refusal that sends the browser nowhere; the one code works.
async fn consent_approval(backend: Backend, test: &str) {
    let Some((server, db)) = server_on(backend, test).await else {
        return;
    };
    let (verifier, challenge) = pkce();
    let (browser, consent) = consent_page(&server, &challenge).await;
    let (action, hidden, _) = consent.form();
    let mut pairs: Vec<(&str, &str)> = hidden
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    pairs.push(("decision", "approve"));
    let body = example::form(&pairs).into_bytes();
    let cookie = browser.cookie_header();
    let requests = (0..N)
        .map(|_| {
            Request::post(action.as_str())
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cookie", cookie.as_str())
                .body(body.clone())
                .unwrap()
        })
        .collect();
    let responses = send_all_at_once(Ipv4Addr::LOCALHOST, requests).await;

    let mut codes = Vec::new();
    for response in &responses {
        let text = String::from_utf8_lossy(response.body()).into_owned();
        match response.status().as_u16() {
            303 => {
                let location = response.headers()["location"].to_str().unwrap();
                let location = url::Url::parse(location).unwrap();
                assert!(location.as_str().starts_with(CALLBACK), "{location}");
                let params: std::collections::BTreeMap<_, _> =
                    location.query_pairs().into_owned().collect();
                assert_eq!(params["state"], "race");
                codes.push(params["code"].clone());
            }
            // Refused: a page, and no redirect to the client.
            400..=499 => assert!(response.headers().get("location").is_none(), "{text}"),
            other => panic!("{other}: {text}"),
        }
    }
    assert_eq!(codes.len(), 1, "exactly one approval of {N}");
    let reply = example::send(code_request(&server, &codes[0], &verifier))
        .await
        .unwrap();
    assert_eq!(
        reply.status(),
        200,
        "{}",
        String::from_utf8_lossy(reply.body())
    );
    let tokens = json(&reply);
    let me = server.me(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(me.status(), 200, "{}", me.text());
    assert_eq!(me.json()["sub"], app::DEMO_USER);
    finish(server, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_of_one_code_over_http_on_sqlite() {
    code_redemption(Backend::SqliteFile, "code redemption").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_of_one_code_over_http_on_postgres() {
    code_redemption(Backend::Postgres, "code redemption").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotations_of_one_refresh_token_over_http_on_sqlite() {
    refresh_rotation(Backend::SqliteFile, "refresh rotation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotations_of_one_refresh_token_over_http_on_postgres() {
    refresh_rotation(Backend::Postgres, "refresh rotation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_collections_of_one_device_code_over_http_on_sqlite() {
    device_collection(Backend::SqliteFile, "device collection").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_collections_of_one_device_code_over_http_on_postgres() {
    device_collection(Backend::Postgres, "device collection").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_approvals_of_one_consent_over_http_on_sqlite() {
    consent_approval(Backend::SqliteFile, "consent approval").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_approvals_of_one_consent_over_http_on_postgres() {
    consent_approval(Backend::Postgres, "consent approval").await;
}
