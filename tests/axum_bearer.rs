//! The axum extractors of a protected resource behind `BearerLayer`, and
//! what the Router takes from the connection and the configuration: the
//! peer's address as the throttling source, and the server's body limit.
#![cfg(feature = "axum")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode};
use axum::routing::get;
use base64::Engine as _;
use portcullis::axum::{Outcome, RequireScope, ScopeRequirement, Token, router};
use portcullis::client::{ClientRegistration, ClientSecret};
use portcullis::grant::ClientCredentialsGrant;
use portcullis::protocol::GrantType;
use portcullis::resource::{BearerValidator, Realm};
use portcullis::tower::BearerLayer;
use portcullis::{AuthorizationServer, MemoryStore};
use tower::ServiceExt as _;

const ISSUER: &str = "https://auth.example";

struct Write;

impl ScopeRequirement for Write {
    const SCOPE: &'static str = "write";
}

/// A scope rule that is no scope at all: the host's bug.
struct Malformed;

impl ScopeRequirement for Malformed {
    const SCOPE: &'static str = "a\"b";
}

async fn whoami(Token(token): Token) -> String {
    format!("client {}", token.client_id.unwrap())
}

async fn write(RequireScope(token, _): RequireScope<Write>) -> String {
    format!("written with {}", token.scope)
}

async fn malformed(RequireScope(_, _): RequireScope<Malformed>) -> &'static str {
    "unreachable"
}

fn server() -> AuthorizationServer {
    let store = MemoryStore::new();
    AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store)
        .grant(ClientCredentialsGrant)
        .max_body(512)
        .build()
        .unwrap()
}

/// A client with a generated secret, allowed `scope`.
async fn client(server: &AuthorizationServer, scope: &str) -> (String, String) {
    let registered = server
        .register_client(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .scope(scope.parse().unwrap()),
        )
        .await
        .unwrap();
    let secret = registered.secret.unwrap().expose_secret().to_owned();
    (registered.client.id().to_string(), secret)
}

fn basic(id: &str, secret: &str) -> String {
    let pair = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn token_request(authorization: &str, body: String) -> Request<Body> {
    Request::post("/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", authorization)
        .body(Body::from(body))
        .unwrap()
}

async fn access_token(app: &Router, id: &str, secret: &str, scope: &str) -> String {
    let body = format!("grant_type=client_credentials&scope={scope}");
    let response = send(app, token_request(&basic(id, secret), body)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&text(response).await).unwrap();
    json["access_token"].as_str().unwrap().to_owned()
}

async fn send(app: &Router, request: Request<Body>) -> Response<Body> {
    app.clone().oneshot(request).await.unwrap()
}

async fn text(response: Response<Body>) -> String {
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn get_with(path: &str, token: &str) -> Request<Body> {
    Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

/// The Router, a protected API beside it, and a route the layer misses.
fn app(server: &AuthorizationServer) -> Router {
    let validator = BearerValidator::new(server.clone(), Realm::new("photos").unwrap());
    let api = Router::new()
        .route("/whoami", get(whoami))
        .route("/write", get(write))
        .route("/malformed", get(malformed))
        .route_layer(BearerLayer::new(validator));
    let interaction = |pending, _| async move { Outcome::deny(pending) };
    router(server.clone(), interaction)
        .merge(api)
        .route("/unprotected", get(whoami))
}

#[tokio::test]
async fn token_and_require_scope_read_what_the_layer_validated() {
    let server = server();
    let app = app(&server);
    let (id, secret) = client(&server, "read write").await;
    let read = access_token(&app, &id, &secret, "read").await;
    let both = access_token(&app, &id, &secret, "read%20write").await;

    let response = send(&app, get_with("/whoami", &read)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(response).await, format!("client {id}"));

    // Too little scope: 403 with the layer's realm and the scope required
    // (RFC 6750 §3.1); the handler does not run.
    let response = send(&app, get_with("/write", &read)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer realm=\"photos\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"write\""), "{challenge}");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let json: serde_json::Value = serde_json::from_str(&text(response).await).unwrap();
    assert_eq!(json["error"], "insufficient_scope");

    let response = send(&app, get_with("/write", &both)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(response).await, "written with read write");

    // Before the extractors: the layer's own refusals.
    let response = send(&app, get_with("/write", "pc_at_forged")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

#[tokio::test]
async fn without_the_layer_or_with_a_malformed_rule_the_extractors_fail_closed() {
    let server = server();
    let app = app(&server);
    let (id, secret) = client(&server, "read").await;
    let token = access_token(&app, &id, &secret, "read").await;
    // A route the layer does not cover: a 500, never the handler.
    let response = send(&app, get_with("/unprotected", &token)).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!text(response).await.contains(&id));
    let response = send(&app, get_with("/malformed", &token)).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn the_router_reads_bodies_up_to_the_servers_limit() {
    let server = server();
    let app = app(&server);
    let (id, secret) = client(&server, "read").await;
    let padding = "x".repeat(600);
    let body = format!("grant_type=client_credentials&pad={padding}");
    let response = send(&app, token_request(&basic(&id, &secret), body)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let json: serde_json::Value = serde_json::from_str(&text(response).await).unwrap();
    assert_eq!(json["error"], "invalid_request");
    // Within it: served.
    let body = "grant_type=client_credentials".to_owned();
    let response = send(&app, token_request(&basic(&id, &secret), body)).await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// A token request from `peer`, as `axum::serve` with connection info
/// delivers it.
fn from(peer: &str, authorization: &str) -> Request<Body> {
    let mut request = token_request(authorization, "grant_type=client_credentials".into());
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

#[tokio::test]
async fn guesses_at_a_chosen_secret_are_counted_per_peer_address() {
    let server = server();
    let app = app(&server);
    let chosen = "a secret a person chose";
    let registered = server
        .register_client(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .import_secret(ClientSecret::new(chosen)),
        )
        .await
        .unwrap();
    let id = registered.client.id().to_string();
    let (right, wrong) = (basic(&id, chosen), basic(&id, "a guess"));
    // One IPv6 /64 is one source, whichever address in it guesses.
    let attacker = |n: u16| format!("[2001:db8:1:2::{n:x}]:443");
    let mut statuses = Vec::new();
    for n in 0..12 {
        statuses.push(send(&app, from(&attacker(n), &wrong)).await.status());
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // The right secret from the attacker's /64 is refused too ...
    let response = send(&app, from(&attacker(99), &right)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // ... while the client, from its own address, is not locked out.
    let response = send(&app, from("203.0.113.7:5000", &right)).await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// A host behind a proxy it trusts names the source itself: its
/// `ThrottleSource` wins over the peer address (every peer is the proxy), so
/// guesses under one host-named source are counted together, whichever
/// peer they come through.
#[tokio::test]
async fn a_source_the_host_attached_wins_over_the_peer_address() {
    use portcullis::client::ThrottleSource;
    let server = server();
    let app = app(&server);
    let chosen = "another secret a person chose";
    let registered = server
        .register_client(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .import_secret(ClientSecret::new(chosen)),
        )
        .await
        .unwrap();
    let id = registered.client.id().to_string();
    let (right, wrong) = (basic(&id, chosen), basic(&id, "a guess"));
    let via = |peer: u8, source: &str, authorization: &str| {
        let mut request = from(&format!("198.51.100.{peer}:443"), authorization);
        request.extensions_mut().insert(ThrottleSource::new(source));
        request
    };
    // Twelve guesses through twelve different peers, one client behind them.
    let mut statuses = Vec::new();
    for peer in 0..12 {
        statuses.push(send(&app, via(peer, "client-a", &wrong)).await.status());
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Another client behind the same proxy peer is not locked out.
    let response = send(&app, via(0, "client-b", &right)).await;
    assert_eq!(response.status(), StatusCode::OK);
}
