//! The `axum` feature: the whole server as a Router, driven as a host's
//! HTTP stack would drive it.
#![cfg(feature = "axum")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::request::Parts;
use axum::http::{Request, Response, StatusCode};
use base64::Engine as _;
use portcullis::axum::{Outcome, router};
use portcullis::client::ClientRegistration;
use portcullis::endpoint::{DynamicRegistration, PendingAuthorization};
use portcullis::grant::{AuthorizationCodeGrant, ClientCredentialsGrant};
use portcullis::protocol::GrantType;
use portcullis::{AuthorizationServer, DEFAULT_MAX_BODY, MemoryStore, ServerBuilder};
use tower::ServiceExt as _;

const REDIRECT: &str = "http://127.0.0.1/callback";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn builder(issuer: &str) -> ServerBuilder {
    let store = MemoryStore::new();
    AuthorizationServer::builder(issuer)
        .clients(store.clone())
        .tokens(store)
        .grant(AuthorizationCodeGrant)
        .grant(ClientCredentialsGrant)
}

/// The host's interaction in these tests: the user named by a header
/// approves, and anyone else gets the sign-in page.
async fn approve_signed_in(pending: PendingAuthorization, parts: Parts) -> Outcome {
    match parts.headers.get("x-user").and_then(|v| v.to_str().ok()) {
        Some(user) => Outcome::approve(pending, user),
        None => Outcome::page((StatusCode::OK, "sign in")),
    }
}

async fn send(app: &Router, request: Request<Body>) -> Response<Body> {
    app.clone().oneshot(request).await.unwrap()
}

async fn body(response: Response<Body>) -> String {
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn json_of(response: Response<Body>) -> serde_json::Value {
    serde_json::from_str(&body(response).await).unwrap()
}

/// A request with no body and no headers.
fn bare(method: &str, uri: impl AsRef<str>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri.as_ref())
        .body(Body::empty())
        .unwrap()
}

/// A confidential client-credentials client and its Basic credentials.
async fn service_client(server: &AuthorizationServer) -> String {
    let registered = server
        .register_client(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .scope("reports:read".parse().unwrap()),
        )
        .await
        .unwrap();
    let id = registered.client.id().to_string();
    let secret = registered.secret.unwrap();
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{id}:{}", secret.expose_secret()));
    format!("Basic {basic}")
}

fn form(uri: &str, basic: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header("authorization", basic)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

async fn access_token(app: &Router, path: &str, basic: &str) -> String {
    let response = send(app, form(path, basic, "grant_type=client_credentials")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let json: serde_json::Value = json_of(response).await;
    json["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn metadata_is_served_at_the_well_known_path_with_its_cache_control() {
    let server = builder("https://auth.example").build().unwrap();
    let app = router(server, approve_signed_in);
    let response = send(&app, bare("GET", "/.well-known/oauth-authorization-server")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc: serde_json::Value = json_of(response).await;
    assert_eq!(doc["token_endpoint"], "https://auth.example/token");
}

#[tokio::test]
async fn a_client_credentials_token_is_issued_with_no_store() {
    let server = builder("https://auth.example").build().unwrap();
    let basic = service_client(&server).await;
    let app = router(server, approve_signed_in);
    let response = send(
        &app,
        form("/token", &basic, "grant_type=client_credentials"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let json: serde_json::Value = json_of(response).await;
    assert_eq!(json["token_type"], "Bearer");
}

#[tokio::test]
async fn a_wrong_method_is_the_librarys_405_with_allow() {
    let server = builder("https://auth.example").build().unwrap();
    let app = router(server, approve_signed_in);
    let response = send(&app, bare("GET", "/token")).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");

    let response = send(&app, bare("DELETE", "/authorize")).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, POST");

    let response = send(
        &app,
        bare("POST", "/.well-known/oauth-authorization-server"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let server = builder("https://auth.example").build().unwrap();
    let basic = service_client(&server).await;
    let app = router(server, approve_signed_in);
    let huge = format!(
        "grant_type=client_credentials&x={}",
        "a".repeat(DEFAULT_MAX_BODY)
    );
    let response = send(&app, form("/token", &basic, &huge)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let json: serde_json::Value = json_of(response).await;
    assert_eq!(json["error"], "invalid_request");
}

#[tokio::test]
async fn a_path_issuer_is_served_under_its_path() {
    let server = builder("https://auth.example/tenant1").build().unwrap();
    let basic = service_client(&server).await;
    let app = router(server, approve_signed_in);
    let response = send(
        &app,
        bare("GET", "/.well-known/oauth-authorization-server/tenant1"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc: serde_json::Value = json_of(response).await;
    assert_eq!(doc["issuer"], "https://auth.example/tenant1");
    assert_eq!(doc["token_endpoint"], "https://auth.example/tenant1/token");

    access_token(&app, "/tenant1/token", &basic).await;
    let response = send(
        &app,
        form("/token", &basic, "grant_type=client_credentials"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn native_app(server: &AuthorizationServer) -> String {
    server
        .register_client(
            ClientRegistration::native()
                .redirect_uri(REDIRECT)
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .scope("photos:read".parse().unwrap()),
        )
        .await
        .unwrap()
        .client
        .id()
        .to_string()
}

fn authorize_uri(client_id: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id={client_id}\
         &redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&scope=photos%3Aread&state=n0nce\
         &code_challenge={CHALLENGE}&code_challenge_method=S256"
    )
}

#[tokio::test]
async fn the_interaction_approves_and_the_router_redirects_with_code_state_and_iss() {
    let server = builder("https://auth.example").build().unwrap();
    let client_id = native_app(&server).await;
    let app = router(server, approve_signed_in);
    let response = send(
        &app,
        Request::get(authorize_uri(&client_id))
            .header("x-user", "alice")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(REDIRECT));
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert!(pairs.iter().any(|(k, v)| k == "code" && !v.is_empty()));
    assert!(pairs.iter().any(|(k, v)| k == "state" && v == "n0nce"));
    assert!(
        pairs
            .iter()
            .any(|(k, v)| k == "iss" && v == "https://auth.example")
    );
}

#[tokio::test]
async fn the_interactions_page_is_sent_as_it_is() {
    let server = builder("https://auth.example").build().unwrap();
    let client_id = native_app(&server).await;
    let app = router(server, approve_signed_in);
    let response = send(&app, bare("GET", authorize_uri(&client_id))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, "sign in");
}

#[tokio::test]
async fn the_interaction_can_deny() {
    let server = builder("https://auth.example").build().unwrap();
    let client_id = native_app(&server).await;
    let app = router(
        server,
        |pending, _parts| async move { Outcome::deny(pending) },
    );
    let response = send(&app, bare("GET", authorize_uri(&client_id))).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(REDIRECT));
    assert!(location.contains("error=access_denied"));
}

#[tokio::test]
async fn an_unknown_client_gets_the_error_page_and_no_redirect() {
    let server = builder("https://auth.example").build().unwrap();
    let app = router(server, approve_signed_in);
    let response = send(
        &app,
        Request::get(authorize_uri("no-such-client"))
            .header("x-user", "alice")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = body(response).await;
    assert!(page.contains("invalid"), "{page}");
}

#[tokio::test]
async fn a_redirectable_error_is_the_librarys_redirect() {
    let server = builder("https://auth.example").build().unwrap();
    let client_id = native_app(&server).await;
    let app = router(server, approve_signed_in);
    // No PKCE: refused, on the client's redirect URI (RFC 6749 §4.1.2.1).
    let uri = format!(
        "/authorize?response_type=code&client_id={client_id}\
         &redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&state=s1"
    );
    let response = send(
        &app,
        Request::get(uri)
            .header("x-user", "alice")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(REDIRECT));
    assert!(location.contains("error=invalid_request"));
    assert!(!location.contains("code="));
}

#[tokio::test]
async fn revocation_and_introspection_are_wired() {
    let server = builder("https://auth.example").build().unwrap();
    let basic = service_client(&server).await;
    let app = router(server, approve_signed_in);
    let token = access_token(&app, "/token", &basic).await;

    let response = send(&app, form("/introspect", &basic, &format!("token={token}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let json: serde_json::Value = json_of(response).await;
    assert_eq!(json["active"], true);

    let response = send(&app, form("/revoke", &basic, &format!("token={token}"))).await;
    assert_eq!(response.status(), StatusCode::OK);

    let response = send(&app, form("/introspect", &basic, &format!("token={token}"))).await;
    let json: serde_json::Value = json_of(response).await;
    assert_eq!(json["active"], false);
}

#[tokio::test]
async fn registration_is_served_only_when_enabled() {
    let server = builder("https://auth.example").build().unwrap();
    let app = router(server, approve_signed_in);
    let response = send(
        &app,
        Request::post("/register")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"grant_types": ["client_credentials"]}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let server = builder("https://auth.example")
        .dynamic_registration(
            DynamicRegistration::open().allow_grant_type(GrantType::CLIENT_CREDENTIALS),
        )
        .build()
        .unwrap();
    let app = router(server, approve_signed_in);
    let response = send(
        &app,
        Request::post("/register")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"grant_types": ["client_credentials"]}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let info: serde_json::Value = json_of(response).await;
    assert_eq!(
        info["registration_client_uri"],
        format!(
            "https://auth.example/register/{}",
            info["client_id"].as_str().unwrap()
        )
    );

    // The client configuration endpoint beneath it (RFC 7592).
    let path = format!("/register/{}", info["client_id"].as_str().unwrap());
    let token = info["registration_access_token"].as_str().unwrap();
    let response = send(
        &app,
        Request::get(&path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let response = send(&app, bare("POST", &path)).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, PUT, DELETE");
}

/// A host's interaction with its own error page.
struct BrandedPages;

impl portcullis::axum::Interaction for BrandedPages {
    async fn interact(&self, pending: PendingAuthorization, _parts: Parts) -> Outcome {
        Outcome::approve(pending, "alice")
    }

    fn rejected(
        &self,
        error: &portcullis::protocol::OAuthError,
        _parts: &Parts,
    ) -> axum::response::Response {
        use axum::response::IntoResponse as _;
        (
            StatusCode::BAD_REQUEST,
            format!("branded: {}", error.code().as_str()),
        )
            .into_response()
    }
}

#[tokio::test]
async fn the_host_can_render_its_own_error_page() {
    let server = builder("https://auth.example").build().unwrap();
    let app = router(server, BrandedPages);
    let response = send(&app, bare("GET", authorize_uri("no-such-client"))).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert_eq!(body(response).await, "branded: invalid_request");
}

#[tokio::test]
async fn a_host_handler_extracts_a_validated_authorization_request() {
    use axum::extract::State;
    use portcullis::axum::{AuthorizationRequest, Reply};

    async fn authorize(
        State(server): State<AuthorizationServer>,
        AuthorizationRequest(pending): AuthorizationRequest,
    ) -> Reply {
        Reply(server.approve(pending, "bob", None).await.unwrap())
    }

    let server = builder("https://auth.example").build().unwrap();
    let client_id = native_app(&server).await;
    let app = Router::new()
        .route("/authorize", axum::routing::get(authorize))
        .with_state(server);

    let response = send(&app, bare("GET", authorize_uri(&client_id))).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .contains("code=")
    );

    // A request that cannot redirect is rejected with the library's page.
    let response = send(&app, bare("GET", authorize_uri("no-such-client"))).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn a_provider_serves_its_configuration_and_userinfo_under_the_issuer_path() {
    use portcullis::jose::{Algorithm, KeySet, SigningKey};
    use portcullis::oidc::{OpenIdConnect, StaticClaims};

    let key = SigningKey::generate(Algorithm::Rs256).unwrap();
    let server = builder("https://auth.example/tenant1")
        .signing_keys(KeySet::new().with_key(key).unwrap())
        .openid_connect(OpenIdConnect::new(StaticClaims::new()))
        .build()
        .unwrap();
    let app = router(server, approve_signed_in);
    // Discovery §4.1: appended to the issuer's path.
    let response = send(
        &app,
        bare("GET", "/tenant1/.well-known/openid-configuration"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc = json_of(response).await;
    assert_eq!(
        doc["userinfo_endpoint"],
        "https://auth.example/tenant1/userinfo"
    );

    for method in ["GET", "POST"] {
        let response = send(&app, bare(method, "/tenant1/userinfo")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method}");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"https://auth.example/tenant1\""
        );
    }
    // The body reaches the endpoint: a token in it is read, and refused.
    let post = Request::post("/tenant1/userinfo")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("access_token=pc_at_unknown"))
        .unwrap();
    let response = send(&app, post).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(response).await["error"], "invalid_token");

    // A server that is no provider routes neither.
    let app = router(
        builder("https://auth.example").build().unwrap(),
        approve_signed_in,
    );
    for path in ["/.well-known/openid-configuration", "/userinfo"] {
        let response = send(&app, bare("GET", path)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
