//! Authorization server metadata (RFC 8414): the document follows the
//! server's configuration and never advertises what the server does not do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;

use http::Request;
use portcullis::client::{
    AuthMethod, AuthRequest, Client, ClientAuthError, ClientAuthenticator, ClientRegistration,
    PresentedCredentials, SecretAuthenticator,
};
use portcullis::endpoint::{
    DynamicRegistration, Endpoint, METADATA_CACHE_CONTROL, TokenError, WELL_KNOWN_PATH,
};
use portcullis::grant::{
    AuthorizationCodeGrant, GrantContext, GrantHandler, PasswordGrant, ResourceOwnerVerifier,
};
use portcullis::protocol::{GrantType, TokenResponse};
use portcullis::store::{MemoryStore, StoreError, Subject};
use portcullis::{AuthorizationServer, BuildError};
use serde_json::{Value, json};

/// The document as a client fetches it.
fn fetch(h: &Harness) -> Value {
    let response = h
        .server
        .metadata_endpoint(Request::get(h.server.metadata_path()).body(()).unwrap());
    assert_eq!(response.status(), 200);
    serde_json::from_slice(response.body()).unwrap()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

/// Asserts every grant the document lists is served at the token endpoint
/// (or, for `implicit`, at the authorization endpoint), and `others` are not.
async fn grants_are_truthful(h: &Harness, doc: &Value, others: &[&str]) {
    let client = h.cc_client().await;
    for grant in strings(&doc["grant_types_supported"]) {
        if grant == "implicit" {
            continue;
        }
        let reply = h
            .post(token_request(
                Some(&basic(&client.id, &client.secret)),
                &format!("grant_type={}", form_encode(grant)),
            ))
            .await;
        assert_ne!(
            reply.error(),
            "unsupported_grant_type",
            "{grant} is advertised"
        );
    }
    for grant in others {
        assert!(!strings(&doc["grant_types_supported"]).contains(grant));
        let reply = h
            .post(token_request(
                Some(&basic(&client.id, &client.secret)),
                &format!("grant_type={}", form_encode(grant)),
            ))
            .await;
        reply.assert_error(400, "unsupported_grant_type");
    }
}

#[tokio::test]
async fn a_client_credentials_server_advertises_no_authorization_endpoint() {
    let h = harness();
    let doc = fetch(&h);
    assert_eq!(doc["issuer"], "https://auth.example/");
    assert_eq!(doc["token_endpoint"], "https://auth.example/token");
    assert_eq!(doc["grant_types_supported"], json!(["client_credentials"]));
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(doc["revocation_endpoint"], "https://auth.example/revoke");
    assert_eq!(
        doc["revocation_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        doc["introspection_endpoint"],
        "https://auth.example/introspect"
    );
    assert_eq!(
        doc["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    // Nothing interactive is served, so nothing interactive is advertised;
    // members with no values are omitted (RFC 8414 §3.2).
    for absent in [
        "authorization_endpoint",
        "response_types_supported",
        "response_modes_supported",
        "code_challenge_methods_supported",
        "authorization_response_iss_parameter_supported",
        "registration_endpoint",
        "device_authorization_endpoint",
        "scopes_supported",
        "service_documentation",
    ] {
        assert!(doc.get(absent).is_none(), "{absent}: {doc}");
    }
    grants_are_truthful(
        &h,
        &doc,
        &["authorization_code", "refresh_token", "password", DEVICE],
    )
    .await;
    // The authorization endpoint indeed refuses `code`.
    let client = h.native_client_for_code().await;
    let err = h
        .authorize(&format!(
            "response_type=code&client_id={}&code_challenge={CHALLENGE}&code_challenge_method=S256",
            client.id
        ))
        .await
        .unwrap_err();
    assert_eq!(
        err.error().unwrap().code().as_str(),
        "unsupported_response_type"
    );
}

const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

impl Harness {
    /// A client registered for the code flow whether or not it is served.
    async fn native_client_for_code(&self) -> TestClient {
        self.register(
            ClientRegistration::native()
                .redirect_uri("http://127.0.0.1/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE),
        )
        .await
    }
}

#[tokio::test]
async fn a_code_server_advertises_the_authorization_endpoint_pkce_and_iss() {
    let h = code_harness();
    let doc = fetch(&h);
    assert_eq!(
        doc["authorization_endpoint"],
        "https://auth.example/authorize"
    );
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(
        doc["response_modes_supported"],
        json!(["query", "fragment", "form_post"])
    );
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        doc["grant_types_supported"],
        json!(["client_credentials", "authorization_code", "refresh_token"])
    );
    grants_are_truthful(&h, &doc, &["password", "implicit", DEVICE]).await;

    // RFC 8414 §3.3 / RFC 9207: the document's issuer is exactly the `iss`
    // that authorization responses carry.
    let client = h.native_client().await;
    let params = h.code_for(&client, "").await;
    assert_eq!(param(&params, "iss"), doc["issuer"].as_str());
    // `token` is not advertised, and not served.
    let err = h
        .authorize(&format!("response_type=token&client_id={}", client.id))
        .await
        .unwrap_err();
    assert_eq!(
        err.error().unwrap().code().as_str(),
        "unsupported_response_type"
    );
}

#[derive(Debug, Clone, Copy)]
struct NoUsers;

impl ResourceOwnerVerifier for NoUsers {
    async fn verify(&self, _: &str, _: &str) -> Result<Option<Subject>, StoreError> {
        Ok(None)
    }
}

#[tokio::test]
async fn enabled_legacy_grants_are_advertised() {
    let h = harness_with(|b| {
        b.grant(AuthorizationCodeGrant)
            .grant(PasswordGrant::new(NoUsers))
            .enable_implicit_grant()
    });
    let doc = fetch(&h);
    assert_eq!(doc["response_types_supported"], json!(["code", "token"]));
    assert_eq!(
        doc["grant_types_supported"],
        json!([
            "client_credentials",
            "authorization_code",
            "password",
            "implicit"
        ])
    );
    grants_are_truthful(&h, &doc, &["refresh_token", DEVICE]).await;
}

#[tokio::test]
async fn implicit_alone_gets_an_authorization_endpoint_but_no_pkce() {
    let store = MemoryStore::new();
    let server = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store)
        .enable_implicit_grant()
        .build()
        .unwrap();
    let m = server.metadata();
    assert!(m.authorization_endpoint.is_some());
    assert_eq!(m.grant_types_supported, [GrantType::IMPLICIT]);
    assert!(m.code_challenge_methods_supported.is_empty());
}

#[tokio::test]
async fn a_server_without_grants_says_so_rather_than_imply_the_defaults() {
    // An omitted grant_types_supported means authorization_code and implicit
    // (RFC 8414 §2), which this server does not serve.
    let store = MemoryStore::new();
    let server = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store)
        .build()
        .unwrap();
    let doc: Value = serde_json::to_value(server.metadata()).unwrap();
    assert_eq!(doc["grant_types_supported"], json!([]));
    assert!(doc.get("authorization_endpoint").is_none());
}

#[tokio::test]
async fn plain_pkce_is_advertised_only_when_allowed() {
    let h = harness_with(|b| b.grant(AuthorizationCodeGrant).allow_plain_pkce());
    assert_eq!(
        fetch(&h)["code_challenge_methods_supported"],
        json!(["S256", "plain"])
    );
    let h = harness_with(|b| b.grant(AuthorizationCodeGrant));
    assert_eq!(
        fetch(&h)["code_challenge_methods_supported"],
        json!(["S256"])
    );
}

#[tokio::test]
async fn the_registration_endpoint_is_advertised_only_when_enabled() {
    let off = fetch(&harness());
    assert!(off.get("registration_endpoint").is_none());
    let protected = harness_with(|b| {
        b.dynamic_registration(DynamicRegistration::with_initial_access_token(
            "an-initial-access-token-of-32-chars",
        ))
    });
    assert_eq!(
        fetch(&protected)["registration_endpoint"],
        "https://auth.example/register"
    );
    let open = harness_with(|b| b.dynamic_registration(DynamicRegistration::open()));
    assert_eq!(
        fetch(&open)["registration_endpoint"],
        "https://auth.example/register"
    );
}

/// A stand-in for the device grant: only its grant type matters here.
struct Device;

impl GrantHandler for Device {
    fn grant_type(&self) -> GrantType {
        GrantType::DEVICE_CODE
    }

    async fn handle(&self, _: GrantContext<'_>) -> Result<TokenResponse, TokenError> {
        Err(TokenError::InvalidGrant("no device codes here".into()))
    }
}

#[tokio::test]
async fn the_device_endpoint_is_advertised_only_with_the_device_grant() {
    assert_eq!(GrantType::DEVICE_CODE.as_str(), DEVICE);
    let h = harness_with(|b| b.grant(Device));
    let doc = fetch(&h);
    assert_eq!(
        doc["device_authorization_endpoint"],
        "https://auth.example/device_authorization"
    );
    assert!(strings(&doc["grant_types_supported"]).contains(&DEVICE));
    grants_are_truthful(&h, &doc, &["authorization_code"]).await;
    assert!(
        fetch(&harness())
            .get("device_authorization_endpoint")
            .is_none()
    );
}

#[tokio::test]
async fn endpoint_urls_can_be_overridden() {
    let store = MemoryStore::new();
    let server = AuthorizationServer::builder("https://auth.example/tenant1/")
        .clients(store.clone())
        .tokens(store)
        .grant(AuthorizationCodeGrant)
        .grant(Device)
        .dynamic_registration(DynamicRegistration::open())
        .endpoint(Endpoint::Token, "/oauth/token")
        .endpoint(Endpoint::Authorization, "https://login.example/authorize")
        .endpoint(Endpoint::Registration, "/clients/")
        .endpoint(
            Endpoint::DeviceAuthorization,
            "http://127.0.0.1:8080/device",
        )
        .build()
        .unwrap();
    let doc = serde_json::to_value(server.metadata()).unwrap();
    assert_eq!(doc["issuer"], "https://auth.example/tenant1/");
    assert_eq!(
        doc["token_endpoint"],
        "https://auth.example/tenant1/oauth/token"
    );
    assert_eq!(
        doc["authorization_endpoint"],
        "https://login.example/authorize"
    );
    assert_eq!(
        doc["registration_endpoint"],
        "https://auth.example/tenant1/clients/"
    );
    assert_eq!(
        doc["device_authorization_endpoint"],
        "http://127.0.0.1:8080/device"
    );
    // Not overridden: the default path under the issuer.
    assert_eq!(
        doc["revocation_endpoint"],
        "https://auth.example/tenant1/revoke"
    );
    assert_eq!(
        server.endpoint_urls().get(Endpoint::Token).as_str(),
        "https://auth.example/tenant1/oauth/token"
    );
    // RFC 8414 §3.1: the well-known string goes between host and path, and
    // the issuer's terminating `/` is removed.
    assert_eq!(server.metadata_path(), format!("{WELL_KNOWN_PATH}/tenant1"));
    assert_eq!(
        server.metadata_url().as_str(),
        "https://auth.example/.well-known/oauth-authorization-server/tenant1"
    );
}

#[tokio::test]
async fn the_metadata_path_of_a_host_issuer_is_the_bare_well_known_path() {
    assert_eq!(
        harness().server.metadata_path(),
        "/.well-known/oauth-authorization-server"
    );
}

#[tokio::test]
async fn bad_endpoint_urls_fail_the_build() {
    for bad in [
        "token",
        "/token?x=1",
        "/../token",
        "http://tokens.example/token",
        "https://tokens.example/token#f",
        "https://user@tokens.example/token",
    ] {
        let store = MemoryStore::new();
        let err = AuthorizationServer::builder(ISSUER)
            .clients(store.clone())
            .tokens(store)
            .endpoint(Endpoint::Token, bad)
            .build()
            .unwrap_err();
        assert!(
            matches!(
                err,
                BuildError::InvalidEndpointUrl {
                    endpoint: Endpoint::Token,
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
    }
    let store = MemoryStore::new();
    let err = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store)
        .service_documentation("docs.example")
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::InvalidMetadataUrl("service_documentation"));
}

#[tokio::test]
async fn scopes_and_documentation_appear_when_set() {
    let h = harness_with(|b| {
        b.scopes_supported("read write admin".parse().unwrap())
            .service_documentation("https://docs.example/oauth")
            .op_policy_uri("https://auth.example/policy")
            .op_tos_uri("https://auth.example/tos")
    });
    let doc = fetch(&h);
    assert_eq!(doc["scopes_supported"], json!(["admin", "read", "write"]));
    assert_eq!(doc["service_documentation"], "https://docs.example/oauth");
    assert_eq!(doc["op_policy_uri"], "https://auth.example/policy");
    assert_eq!(doc["op_tos_uri"], "https://auth.example/tos");
}

/// An authenticator offering only `client_secret_basic`.
struct BasicOnly;

impl ClientAuthenticator for BasicOnly {
    fn identify(&self, request: &AuthRequest<'_>) -> Result<PresentedCredentials, ClientAuthError> {
        SecretAuthenticator.identify(request)
    }

    fn verify(
        &self,
        presented: &PresentedCredentials,
        client: &Client,
    ) -> Result<(), ClientAuthError> {
        SecretAuthenticator.verify(presented, client)
    }

    fn methods(&self) -> &[AuthMethod] {
        &[AuthMethod::CLIENT_SECRET_BASIC]
    }
}

#[tokio::test]
async fn auth_methods_come_from_the_authenticator() {
    let h = harness_with(|b| b.authenticator(BasicOnly));
    let doc = fetch(&h);
    for member in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ] {
        assert_eq!(doc[member], json!(["client_secret_basic"]), "{member}");
    }
}

#[tokio::test]
async fn the_endpoint_serves_get_and_head_and_refuses_the_rest() {
    let h = code_harness();
    let get = h
        .server
        .metadata_endpoint(Request::get(WELL_KNOWN_PATH).body(()).unwrap());
    assert_eq!(get.headers()["content-type"], "application/json");
    assert_eq!(get.headers()["cache-control"], METADATA_CACHE_CONTROL);
    assert!(METADATA_CACHE_CONTROL.starts_with("public, max-age="));
    assert_eq!(
        get.headers()["content-length"],
        get.body().len().to_string().as_str()
    );
    let typed = serde_json::to_vec(&h.server.metadata()).unwrap();
    assert_eq!(get.body(), &typed);

    let head = h
        .server
        .metadata_endpoint(Request::head(WELL_KNOWN_PATH).body(()).unwrap());
    assert_eq!(head.status(), 200);
    assert!(head.body().is_empty());
    assert_eq!(
        head.headers()["content-length"],
        get.headers()["content-length"]
    );
    assert_eq!(head.headers()["content-type"], "application/json");

    for method in ["POST", "PUT", "DELETE"] {
        let response = h.server.metadata_endpoint(
            Request::builder()
                .method(method)
                .uri(WELL_KNOWN_PATH)
                .body(())
                .unwrap(),
        );
        let reply = Reply::from(response);
        reply.assert_error(405, "invalid_request");
        assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    }
}
