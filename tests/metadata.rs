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
    AuthorizationCodeGrant, DeviceCodeGrant, GrantContext, GrantHandler, PasswordGrant,
    ResourceOwnerVerifier,
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
    assert_eq!(doc["issuer"], "https://auth.example");
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

/// A resource server's introspection credential.
const ORDERS_API: &str = "q2Vx8m1ZkP4tR7yB0nW3sD6fH9jL2cX5vN8bM1aQ4e";

/// A form POST to `path`, with an `Authorization` header if given.
fn form_post(path: &str, authorization: Option<&str>, body: &str) -> Request<Vec<u8>> {
    let mut b = Request::post(format!("https://auth.example{path}"))
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(a) = authorization {
        b = b.header("authorization", a);
    }
    b.body(body.as_bytes().to_vec()).unwrap()
}

/// A client registered for `method`, and how its requests authenticate:
/// the `Authorization` header, and what the body carries.
struct Caller {
    client: TestClient,
    authorization: Option<String>,
    body: String,
}

impl Caller {
    async fn register(h: &Harness, method: &str) -> Caller {
        let registration = if method == "none" {
            ClientRegistration::native().grant_type(GrantType::DEVICE_CODE)
        } else {
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .grant_type(GrantType::DEVICE_CODE)
                .auth_method(AuthMethod::extension(method))
        };
        let client = h.register(registration).await;
        let (authorization, body) = match method {
            "client_secret_basic" => (Some(basic(&client.id, &client.secret)), String::new()),
            "client_secret_post" => (
                None,
                format!(
                    "client_id={}&client_secret={}&",
                    form_encode(&client.id),
                    form_encode(&client.secret)
                ),
            ),
            "none" => (None, format!("client_id={}&", form_encode(&client.id))),
            other => panic!("no test client for {other}"),
        };
        Caller {
            client,
            authorization,
            body,
        }
    }

    /// A request to `path` authenticated this way, with `params` after the
    /// credentials.
    fn post(&self, path: &str, params: &str) -> Request<Vec<u8>> {
        form_post(
            path,
            self.authorization.as_deref(),
            &format!("{}{params}", self.body),
        )
    }

    /// An access token of this client's: client credentials for a
    /// confidential client, the device flow for a public one. Either way the
    /// token endpoint accepts the method.
    async fn access_token(&self, h: &Harness) -> String {
        if self.client.secret.is_empty() {
            let codes = Reply::from(
                h.server
                    .device_authorization_endpoint(self.post("/device_authorization", ""))
                    .await,
            );
            assert_eq!(codes.status, 200, "{:?}", codes.json);
            let user_code = codes.json["user_code"].as_str().unwrap();
            let pending = h
                .server
                .pending_device_authorization(user_code, &["user:alice"])
                .await
                .unwrap();
            h.server
                .approve_device(pending, "alice", None)
                .await
                .unwrap();
            let device_code = codes.json["device_code"].as_str().unwrap();
            let tokens = h
                .post(self.post(
                    "/token",
                    &format!(
                        "grant_type={}&device_code={device_code}",
                        form_encode(DEVICE)
                    ),
                ))
                .await;
            assert_eq!(tokens.status, 200, "{:?}", tokens.json);
            tokens.access_token().to_owned()
        } else {
            let tokens = h
                .post(self.post("/token", "grant_type=client_credentials"))
                .await;
            assert_eq!(tokens.status, 200, "{:?}", tokens.json);
            tokens.access_token().to_owned()
        }
    }
}

/// RFC 8414 §2: each `*_auth_methods_supported` list is a promise. Every
/// method advertised for the token, revocation and introspection endpoints is
/// used there, and the device authorization endpoint, which authenticates
/// clients as the token endpoint does (RFC 8628 §3.1), accepts every token
/// endpoint method.
#[tokio::test]
async fn every_advertised_auth_method_is_accepted_where_it_is_advertised() {
    let h = harness_with(|b| {
        b.grant(DeviceCodeGrant)
            .introspection_credential("orders-api", ORDERS_API)
    });
    let doc = fetch(&h);
    let token_methods = strings(&doc["token_endpoint_auth_methods_supported"]);
    assert_eq!(
        token_methods,
        ["client_secret_basic", "client_secret_post", "none"]
    );
    assert_eq!(
        strings(&doc["revocation_endpoint_auth_methods_supported"]),
        token_methods
    );
    // A public client's `client_id` authenticates nothing, so `none` is not
    // offered for introspection; a resource server's credential is.
    let introspection_methods = strings(&doc["introspection_endpoint_auth_methods_supported"]);
    assert_eq!(
        introspection_methods,
        ["client_secret_basic", "client_secret_post", "Bearer"]
    );

    for method in &token_methods {
        let caller = Caller::register(&h, method).await;
        // Token endpoint (and, for a public client, the device endpoint on the
        // way).
        let token = caller.access_token(&h).await;
        // Device authorization endpoint.
        let codes = Reply::from(
            h.server
                .device_authorization_endpoint(caller.post("/device_authorization", ""))
                .await,
        );
        assert_eq!(codes.status, 200, "{method}: {:?}", codes.json);
        // Introspection endpoint, where advertised: the client learns about its
        // own token.
        if introspection_methods.contains(method) {
            let answer = Reply::from(
                h.server
                    .introspection_endpoint(caller.post("/introspect", &format!("token={token}")))
                    .await,
            );
            assert_eq!(answer.status, 200, "{method}: {:?}", answer.json);
            assert_eq!(answer.json["active"], true, "{method}");
        }
        // Revocation endpoint: the token is gone.
        let revoked = h
            .server
            .revocation_endpoint(caller.post("/revoke", &format!("token={token}")))
            .await;
        assert_eq!(revoked.status(), 200, "{method}");
        assert!(!alive(&h, &token).await, "{method}");
    }

    // `Bearer` at the introspection endpoint: a resource server asks about a
    // live token.
    let client = h.cc_client().await;
    let token = h
        .post(cc_request(&client, ""))
        .await
        .access_token()
        .to_owned();
    let answer = Reply::from(
        h.server
            .introspection_endpoint(form_post(
                "/introspect",
                Some(&format!("Bearer {ORDERS_API}")),
                &format!("token={token}"),
            ))
            .await,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.json);
    assert_eq!(answer.json["active"], true);
}

#[tokio::test]
async fn bearer_is_advertised_for_introspection_only_with_resource_server_credentials() {
    let doc = fetch(&harness());
    assert!(!strings(&doc["introspection_endpoint_auth_methods_supported"]).contains(&"Bearer"));
    // Without credentials, every bearer credential is refused.
    let reply = Reply::from(
        harness()
            .server
            .introspection_endpoint(form_post(
                "/introspect",
                Some(&format!("Bearer {ORDERS_API}")),
                "token=pc_at_x",
            ))
            .await,
    );
    reply.assert_error(401, "invalid_token");
}

/// What a client does with the document it fetched for `configured` (RFC
/// 8414 §3.3): the `issuer` must be identical to the issuer it was
/// configured with, as a string. The `oauth2` crate has no discovery, so the
/// comparison is written out here as a client writes it.
fn client_accepts_metadata(configured: &str, doc: &Value) -> bool {
    doc["issuer"].as_str() == Some(configured)
}

#[tokio::test]
async fn the_issuer_is_published_exactly_as_configured() {
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    for (issuer, well_known, token_endpoint) in [
        (
            "https://auth.example",
            "/.well-known/oauth-authorization-server",
            "https://auth.example/token",
        ),
        (
            "https://auth.example/tenant1",
            "/.well-known/oauth-authorization-server/tenant1",
            "https://auth.example/tenant1/token",
        ),
    ] {
        let store = MemoryStore::new();
        let server = AuthorizationServer::builder(issuer)
            .clients(store.clone())
            .tokens(store)
            .grant(AuthorizationCodeGrant)
            .grant(portcullis::grant::ClientCredentialsGrant)
            .build()
            .unwrap();
        assert_eq!(server.issuer(), issuer);

        // RFC 8414 §3.1, §3.3: the document is where the client looks for
        // it, and names the issuer the client was configured with.
        assert_eq!(server.metadata_path(), well_known);
        let response = server.metadata_endpoint(Request::get(well_known).body(()).unwrap());
        let doc: Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(doc["issuer"], issuer);
        assert!(client_accepts_metadata(issuer, &doc), "{doc}");
        // The endpoints are derived from it as before.
        assert_eq!(doc["token_endpoint"], token_endpoint);
        assert_eq!(doc["authorization_endpoint"], format!("{issuer}/authorize"));

        // RFC 9207 §2.4: the authorization response's `iss`, compared by
        // the client as a string with the issuer it sent the request to.
        let client = server
            .register_client(
                ClientRegistration::native()
                    .redirect_uri("http://127.0.0.1/cb")
                    .grant_type(GrantType::AUTHORIZATION_CODE),
            )
            .await
            .unwrap();
        let request = Request::get(format!(
            "{}?response_type=code&client_id={}&code_challenge={CHALLENGE}\
             &code_challenge_method=S256&state=s",
            doc["authorization_endpoint"].as_str().unwrap(),
            client.client.id().as_str()
        ))
        .body(Vec::<u8>::new())
        .unwrap();
        let pending = server.authorization_request(&request).await.unwrap();
        let redirect = server.approve(pending, "alice", None).await.unwrap();
        let params = redirect_params(&redirect);
        assert_eq!(param(&params, "iss"), Some(issuer));

        // RFC 6749 §5.2: the Basic challenge names the issuer as its realm.
        let reply = server
            .token_endpoint(token_request(
                Some(&basic("nobody", "wrong")),
                "grant_type=client_credentials",
            ))
            .await;
        assert_eq!(reply.status(), 401);
        assert_eq!(
            reply.headers()["www-authenticate"],
            format!("Basic realm=\"{issuer}\"").as_str()
        );
    }
}

#[test]
fn an_issuer_not_in_normal_form_fails_the_build() {
    for issuer in [
        "https://Auth.Example",
        "https://auth.example:443",
        " https://auth.example",
    ] {
        let store = MemoryStore::new();
        let built = AuthorizationServer::builder(issuer)
            .clients(store.clone())
            .tokens(store)
            .build();
        assert!(
            matches!(built, Err(BuildError::InvalidIssuer(_))),
            "{issuer:?}"
        );
    }
}
