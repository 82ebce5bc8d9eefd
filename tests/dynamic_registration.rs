//! Dynamic client registration (RFC 7591) through the registration endpoint.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;

use http::Request;
use portcullis::BuildError;
use portcullis::client::{ClientMetadata, ClientProfile, ClientRegistry, ClientType};
use portcullis::endpoint::{DynamicRegistration, DynamicRegistrationError};
use portcullis::grant::{
    AuthorizationCodeGrant, PasswordGrant, RefreshTokenGrant, ResourceOwnerVerifier,
};
use portcullis::protocol::GrantType;
use portcullis::store::{StoreError, Subject};
use portcullis::token::TokenKind;
use serde_json::{Value, json};

/// The initial access token the host hands out.
const IAT: &str = "iat-Wq3Xv9Lr2Tn8Yb5Kc1Hd7Pf4Gs6Jm0Za";

/// A server serving client credentials, the code flow and refresh tokens,
/// registration protected by [`IAT`], scope at most `read write`.
fn protected() -> Harness {
    harness_with(|b| {
        b.grant(AuthorizationCodeGrant)
            .grant(RefreshTokenGrant)
            .dynamic_registration(
                DynamicRegistration::with_initial_access_token(IAT)
                    .max_scope("read write".parse().unwrap()),
            )
    })
}

fn open_harness() -> Harness {
    harness_with(|b| {
        b.grant(AuthorizationCodeGrant)
            .dynamic_registration(DynamicRegistration::open().max_scope("read".parse().unwrap()))
    })
}

fn registration_request(token: Option<&str>, body: &str) -> Request<Vec<u8>> {
    let mut b =
        Request::post("https://auth.example/register").header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(body.as_bytes().to_vec()).unwrap()
}

impl Harness {
    async fn registration(&self, request: Request<Vec<u8>>) -> Reply {
        Reply::from(self.server.registration_endpoint(request).await)
    }

    /// Registers with the initial access token.
    async fn register_json(&self, body: &str) -> Reply {
        self.registration(registration_request(Some(IAT), body))
            .await
    }

    /// Registers and expects success.
    async fn registered(&self, body: &str) -> Value {
        let reply = self.register_json(body).await;
        assert_eq!(reply.status, 201, "{:?}", reply.json);
        reply.assert_no_store();
        assert_eq!(reply.header("content-type"), Some("application/json"));
        reply.json
    }
}

fn as_client(info: &Value) -> TestClient {
    TestClient {
        id: info["client_id"].as_str().unwrap().to_owned(),
        secret: info["client_secret"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

const WEB_APP: &str = r#"{
    "redirect_uris": ["https://app.example/cb"],
    "grant_types": ["authorization_code", "refresh_token"],
    "client_name": "Example App",
    "scope": "read",
    "client_uri": "https://app.example/",
    "logo_uri": "https://app.example/logo.png",
    "tos_uri": "https://app.example/tos",
    "policy_uri": "https://app.example/privacy",
    "contacts": ["ops@app.example"],
    "software_id": "4NRB1-0XZABZI9E6-5SM3R",
    "software_version": "2.1"
}"#;

#[tokio::test]
async fn disabled_registration_is_not_found() {
    let h = harness();
    let reply = h
        .registration(registration_request(Some(IAT), WEB_APP))
        .await;
    reply.assert_error(404, "invalid_request");
}

#[tokio::test]
async fn registration_returns_the_full_client_information() {
    let h = protected();
    let info = h.registered(WEB_APP).await;
    let id = info["client_id"].as_str().unwrap();
    assert_eq!(id.len(), 22);
    let secret = info["client_secret"].as_str().unwrap();
    assert!(TokenKind::ClientSecret.matches(secret));
    assert_eq!(info["client_secret_expires_at"], 0);
    let now = start()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(info["client_id_issued_at"], now);
    assert!(
        TokenKind::RegistrationAccessToken
            .matches(info["registration_access_token"].as_str().unwrap())
    );
    assert_eq!(
        info["registration_client_uri"],
        format!("https://auth.example/register/{id}")
    );
    // Every registered metadata value comes back (RFC 7591 §3.2.1),
    // including those the server provisioned.
    for (member, value) in [
        ("redirect_uris", json!(["https://app.example/cb"])),
        (
            "grant_types",
            json!(["authorization_code", "refresh_token"]),
        ),
        ("response_types", json!(["code"])),
        ("token_endpoint_auth_method", json!("client_secret_basic")),
        ("application_type", json!("web")),
        ("client_name", json!("Example App")),
        ("scope", json!("read")),
        ("client_uri", json!("https://app.example/")),
        ("logo_uri", json!("https://app.example/logo.png")),
        ("tos_uri", json!("https://app.example/tos")),
        ("policy_uri", json!("https://app.example/privacy")),
        ("contacts", json!(["ops@app.example"])),
        ("software_id", json!("4NRB1-0XZABZI9E6-5SM3R")),
        ("software_version", json!("2.1")),
    ] {
        assert_eq!(info[member], value, "{member}");
    }
    // The store keeps the client with hashes only.
    let stored = h.store.find_client(id).await.unwrap().unwrap();
    assert_eq!(stored.profile(), ClientProfile::WebApplication);
    assert_eq!(stored.name(), Some("Example App"));
    assert_eq!(stored.info().software_id(), Some("4NRB1-0XZABZI9E6-5SM3R"));
    assert!(stored.registration_access_token_hash().is_some());
    let json = serde_json::to_string(&*stored).unwrap();
    assert!(!json.contains(secret));
    assert!(!json.contains(info["registration_access_token"].as_str().unwrap()));
}

#[tokio::test]
async fn a_registered_client_gets_tokens_with_the_returned_credentials() {
    let h = protected();
    // A service: client credentials, authenticated with the returned secret.
    let service = as_client(
        &h.registered(r#"{"grant_types": ["client_credentials"], "scope": "read write"}"#)
            .await,
    );
    let reply = h.post(cc_request(&service, "&scope=read")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert!(alive(&h, reply.access_token()).await);
    // A web app: the code flow, redeemed with Basic and the PKCE verifier.
    let app = as_client(&h.registered(WEB_APP).await);
    let code = h.code_for(&app, "").await;
    let code = param(&code, "code").unwrap().to_owned();
    let reply = h
        .post(token_request(
            Some(&basic(&app.id, &app.secret)),
            &format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}"),
        ))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert!(reply.json["refresh_token"].is_string());
    // A public native app: `none`, loopback redirect, PKCE.
    let native = as_client(
        &h.registered(
            r#"{"application_type": "native", "redirect_uris": ["http://127.0.0.1/cb"]}"#,
        )
        .await,
    );
    assert!(native.secret.is_empty());
    let code = h
        .code_for(&native, "&redirect_uri=http://127.0.0.1:50123/cb")
        .await;
    let reply = h
        .post(token_request(
            None,
            &format!(
                "grant_type=authorization_code&code={}&client_id={}&redirect_uri={}&code_verifier={VERIFIER}",
                param(&code, "code").unwrap(),
                native.id,
                form_encode("http://127.0.0.1:50123/cb")
            ),
        ))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
}

#[tokio::test]
async fn the_secret_is_unique_and_never_shown_for_public_clients() {
    let h = protected();
    let a = h.registered(WEB_APP).await;
    let b = h.registered(WEB_APP).await;
    assert_ne!(a["client_id"], b["client_id"]);
    assert_ne!(a["client_secret"], b["client_secret"]);
    assert_ne!(
        a["registration_access_token"],
        b["registration_access_token"]
    );
    let public = h
        .registered(r#"{"redirect_uris": ["https://spa.example/cb"], "token_endpoint_auth_method": "none"}"#)
        .await;
    assert!(public.get("client_secret").is_none());
    assert!(public.get("client_secret_expires_at").is_none());
    let stored = h
        .store
        .find_client(public["client_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.profile(), ClientProfile::UserAgentBased);
    assert_eq!(stored.client_type(), ClientType::Public);
}

#[tokio::test]
async fn defaults_follow_rfc_7591() {
    let h = protected();
    let info = h
        .registered(r#"{"redirect_uris": ["https://app.example/cb"]}"#)
        .await;
    assert_eq!(info["grant_types"], json!(["authorization_code"]));
    assert_eq!(info["response_types"], json!(["code"]));
    assert_eq!(info["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(info["application_type"], "web");
    // An omitted scope registers the configured maximum.
    assert_eq!(info["scope"], "read write");
    // A service need not send an empty response_types; it gets one back, so
    // the omitted member is not read as the default `code`.
    let service = h
        .registered(r#"{"grant_types": ["client_credentials"]}"#)
        .await;
    assert_eq!(service["response_types"], json!([]));
    // A native app defaults to `none`.
    let native = h
        .registered(r#"{"application_type": "native", "redirect_uris": ["com.example.app:/cb"]}"#)
        .await;
    assert_eq!(native["token_endpoint_auth_method"], "none");
}

#[tokio::test]
async fn the_initial_access_token_is_required() {
    let h = protected();
    let missing = h.registration(registration_request(None, WEB_APP)).await;
    missing.assert_error(401, "invalid_token");
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Bearer realm=\"https://auth.example\"")
    );
    for wrong in [&IAT[1..], "pc_ra_Wq3Xv9Lr2Tn8Yb5Kc1Hd7Pf4Gs6Jm0Za", "x"] {
        let reply = h
            .registration(registration_request(Some(wrong), WEB_APP))
            .await;
        reply.assert_error(401, "invalid_token");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"https://auth.example\", error=\"invalid_token\"")
        );
    }
    // Another scheme is no bearer token.
    let basic_auth = Request::post("/register")
        .header("content-type", "application/json")
        .header("authorization", basic("x", IAT))
        .body(WEB_APP.as_bytes().to_vec())
        .unwrap();
    h.registration(basic_auth)
        .await
        .assert_error(401, "invalid_token");
    // Two Authorization headers are malformed.
    let two = Request::post("/register")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {IAT}"))
        .header("authorization", format!("Bearer {IAT}"))
        .body(WEB_APP.as_bytes().to_vec())
        .unwrap();
    h.registration(two)
        .await
        .assert_error(400, "invalid_request");
    // The token is checked before the body: a bad body without it is 401.
    h.registration(registration_request(None, "not json"))
        .await
        .assert_error(401, "invalid_token");
    assert_eq!(h.registered(WEB_APP).await["client_name"], "Example App");
}

#[tokio::test]
async fn a_short_initial_access_token_fails_the_build() {
    let store = portcullis::MemoryStore::new();
    let err = portcullis::AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store)
        .dynamic_registration(DynamicRegistration::with_initial_access_token("letmein"))
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::WeakInitialAccessToken);
}

#[tokio::test]
async fn an_initial_access_token_no_client_could_send_fails_the_build() {
    let store = portcullis::MemoryStore::new();
    let err = portcullis::AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store)
        .dynamic_registration(DynamicRegistration::with_initial_access_token(
            "an initial access token with spaces",
        ))
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::MalformedInitialAccessToken);
}

#[tokio::test]
async fn malformed_bearer_credentials_are_a_wrong_token() {
    // RFC 6750 §2.1, read as at every other endpoint: `Bearer` with no
    // b64token after it is a credential presented and refused.
    let h = protected();
    for credentials in [
        "Bearer",
        "Bearer ",
        "Bearer a,b",
        &format!("Bearer {IAT} x"),
    ] {
        let request = Request::post("/register")
            .header("content-type", "application/json")
            .header("authorization", credentials)
            .body(WEB_APP.as_bytes().to_vec())
            .unwrap();
        let reply = h.registration(request).await;
        reply.assert_error(401, "invalid_token");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"https://auth.example\", error=\"invalid_token\""),
            "{credentials:?}"
        );
    }
}

#[tokio::test]
async fn open_registration_needs_no_token_but_no_client_credentials() {
    let h = open_harness();
    let reply = h
        .registration(registration_request(
            None,
            r#"{"redirect_uris": ["https://app.example/cb"]}"#,
        ))
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    // A bearer token, even a nonsense one, changes nothing.
    let reply = h
        .registration(registration_request(
            Some("whatever"),
            r#"{"redirect_uris": ["https://app.example/cb"]}"#,
        ))
        .await;
    assert_eq!(reply.status, 201);
    // Anyone registering a client_credentials client would get tokens.
    let reply = h
        .registration(registration_request(
            None,
            r#"{"grant_types": ["client_credentials"]}"#,
        ))
        .await;
    reply.assert_error(400, "invalid_client_metadata");
    let h = harness_with(|b| {
        b.dynamic_registration(
            DynamicRegistration::open().allow_grant_type(GrantType::CLIENT_CREDENTIALS),
        )
    });
    let reply = h
        .registration(registration_request(
            None,
            r#"{"grant_types": ["client_credentials"]}"#,
        ))
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
}

#[derive(Debug, Clone, Copy)]
struct NoUsers;

impl ResourceOwnerVerifier for NoUsers {
    async fn verify(&self, _: &str, _: &str) -> Result<Option<Subject>, StoreError> {
        Ok(None)
    }
}

#[tokio::test]
async fn only_served_and_allowed_grants_can_be_registered() {
    let h = protected();
    for grant in [
        "password",
        "implicit",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        let body = format!(
            r#"{{"grant_types": ["{grant}"], "redirect_uris": ["https://app.example/cb"]}}"#
        );
        let reply = h.register_json(&body).await;
        reply.assert_error(400, "invalid_client_metadata");
        assert!(
            reply.description().contains("not available"),
            "{grant}: {}",
            reply.description()
        );
    }
    h.register_json(r#"{"grant_types": ["nonsense"]}"#)
        .await
        .assert_error(400, "invalid_client_metadata");

    // Served legacy grants still need the registration's explicit allowance.
    let legacy = |allow: bool| {
        harness_with(move |b| {
            let mut registration = DynamicRegistration::with_initial_access_token(IAT);
            if allow {
                registration = registration
                    .allow_grant_type(GrantType::IMPLICIT)
                    .allow_grant_type(GrantType::PASSWORD);
            }
            b.grant(PasswordGrant::new(NoUsers))
                .enable_implicit_grant()
                .dynamic_registration(registration)
        })
    };
    let implicit = r#"{"grant_types": ["implicit"], "response_types": ["token"], "redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "none"}"#;
    let password = r#"{"grant_types": ["password"]}"#;
    let h = legacy(false);
    h.register_json(implicit)
        .await
        .assert_error(400, "invalid_client_metadata");
    h.register_json(password)
        .await
        .assert_error(400, "invalid_client_metadata");
    let h = legacy(true);
    assert_eq!(
        h.registered(implicit).await["response_types"],
        json!(["token"])
    );
    assert_eq!(
        h.registered(password).await["grant_types"],
        json!(["password"])
    );
    // Allowed but not served: still refused.
    let h = harness_with(|b| {
        b.dynamic_registration(
            DynamicRegistration::with_initial_access_token(IAT)
                .allow_grant_type(GrantType::IMPLICIT),
        )
    });
    h.register_json(implicit)
        .await
        .assert_error(400, "invalid_client_metadata");
}

#[tokio::test]
async fn metadata_errors_have_the_rfc_7591_codes() {
    let h = protected();
    let cases = [
        // Redirect URIs: the same rules as admin registration.
        (
            r#"{"redirect_uris": ["http://app.example/cb"]}"#,
            "invalid_redirect_uri",
        ),
        (
            r#"{"redirect_uris": ["https://app.example/cb#frag"]}"#,
            "invalid_redirect_uri",
        ),
        (r#"{"redirect_uris": ["/cb"]}"#, "invalid_redirect_uri"),
        (
            r#"{"redirect_uris": ["http://127.0.0.1/cb"]}"#,
            "invalid_redirect_uri",
        ),
        (
            r#"{"redirect_uris": ["myapp:/cb"], "application_type": "native"}"#,
            "invalid_redirect_uri",
        ),
        // Redirect-based grants need a redirect URI.
        (
            r#"{"grant_types": ["authorization_code"]}"#,
            "invalid_client_metadata",
        ),
        // RFC 7591 §2.1 consistency.
        (
            r#"{"grant_types": ["authorization_code"], "response_types": ["token"], "redirect_uris": ["https://app.example/cb"]}"#,
            "invalid_client_metadata",
        ),
        (
            r#"{"grant_types": ["client_credentials"], "response_types": ["code"]}"#,
            "invalid_client_metadata",
        ),
        (
            r#"{"response_types": ["code id_token"], "redirect_uris": ["https://app.example/cb"]}"#,
            "invalid_client_metadata",
        ),
        // Scope beyond the maximum, or malformed.
        (
            r#"{"grant_types": ["client_credentials"], "scope": "read admin"}"#,
            "invalid_client_metadata",
        ),
        (
            r#"{"grant_types": ["client_credentials"], "scope": "read  write"}"#,
            "invalid_client_metadata",
        ),
        // Authentication methods the server does not have.
        (
            r#"{"grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt"}"#,
            "invalid_client_metadata",
        ),
        // Native apps are public.
        (
            r#"{"application_type": "native", "token_endpoint_auth_method": "client_secret_basic", "redirect_uris": ["http://127.0.0.1/cb"]}"#,
            "invalid_client_metadata",
        ),
        (
            r#"{"application_type": "desktop", "grant_types": ["client_credentials"]}"#,
            "invalid_client_metadata",
        ),
        // Public clients cannot use client_credentials (RFC 6749 §4.4): the shared rule.
        (
            r#"{"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}"#,
            "invalid_client_metadata",
        ),
        // Display URLs: https, on a redirect URI's host (RFC 7591 §5).
        (
            r#"{"redirect_uris": ["https://app.example/cb"], "logo_uri": "https://evil.example/logo.png"}"#,
            "invalid_client_metadata",
        ),
        (
            r#"{"redirect_uris": ["https://app.example/cb"], "policy_uri": "http://app.example/p"}"#,
            "invalid_client_metadata",
        ),
        (
            r#"{"grant_types": ["client_credentials"], "client_uri": "javascript:alert(1)"}"#,
            "invalid_client_metadata",
        ),
        (
            r#"{"grant_types": ["client_credentials"], "contacts": ["a\nb"]}"#,
            "invalid_client_metadata",
        ),
        (
            r#"{"grant_types": ["client_credentials"], "client_name": "x\u0000y"}"#,
            "invalid_client_metadata",
        ),
        // Malformed documents.
        ("not json", "invalid_client_metadata"),
        ("[]", "invalid_client_metadata"),
        (
            r#"{"redirect_uris": "https://app.example/cb"}"#,
            "invalid_client_metadata",
        ),
        (
            r#"{"grant_types": ["client_credentials"], "scope": 5}"#,
            "invalid_client_metadata",
        ),
        (
            r#"{"grant_types": ["client_credentials"], "client_name": "a", "client_name": "b"}"#,
            "invalid_client_metadata",
        ),
    ];
    for (body, code) in cases {
        let reply = h.register_json(body).await;
        assert_eq!(
            (reply.status, reply.error()),
            (400, code),
            "{body}: {:?}",
            reply.json
        );
        reply.assert_error(400, code);
    }
}

#[tokio::test]
async fn redirect_uris_are_bounded_in_number() {
    let uris = |n: usize| {
        (0..n)
            .map(|i| format!("\"https://app.example/cb{i}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    // The registration's own bound (tests/registration_quotas.rs has more),
    // at most the one every client is held to.
    let most = portcullis::client::MAX_REDIRECT_URIS;
    let h = harness_with(move |b| {
        b.grant(AuthorizationCodeGrant).dynamic_registration(
            DynamicRegistration::with_initial_access_token(IAT)
                .max_redirect_uris(most)
                .max_metadata_bytes(most * 64),
        )
    });
    h.registered(&format!(r#"{{"redirect_uris": [{}]}}"#, uris(most)))
        .await;
    let reply = h
        .register_json(&format!(r#"{{"redirect_uris": [{}]}}"#, uris(most + 1)))
        .await;
    reply.assert_error(400, "invalid_redirect_uri");
    assert!(
        reply.description().contains(&format!("at most {most}")),
        "{}",
        reply.description()
    );
}

#[tokio::test]
async fn a_display_url_on_the_redirect_host_is_accepted_and_native_apps_need_only_https() {
    let h = protected();
    h.registered(
        r#"{"redirect_uris": ["https://app.example/cb"], "logo_uri": "https://app.example/l.png"}"#,
    )
    .await;
    h.registered(
        r#"{"application_type": "native", "redirect_uris": ["http://127.0.0.1/cb"], "client_uri": "https://app.example/"}"#,
    )
    .await;
}

#[tokio::test]
async fn unknown_members_and_client_chosen_identifiers_are_ignored() {
    let h = protected();
    let info = h
        .registered(
            r#"{"redirect_uris": ["https://app.example/cb"], "client_name#ja-Jpan-JP": "x",
                "software_statement": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
                "example_extension_parameter": {"nested": [1, 2]},
                "client_id": "chosen-by-me", "client_secret": "also-mine"}"#,
        )
        .await;
    assert_ne!(info["client_id"], "chosen-by-me");
    assert_ne!(info["client_secret"], "also-mine");
    // (`jwks_uri` is a known member now: tests/jwt_client_auth.rs.)
    for member in [
        "software_statement",
        "example_extension_parameter",
        "client_name#ja-Jpan-JP",
    ] {
        assert!(info.get(member).is_none(), "{member}");
    }
    assert!(h.store.find_client("chosen-by-me").await.unwrap().is_none());
}

#[tokio::test]
async fn the_request_must_be_a_json_post_within_the_size_limit() {
    let h = protected();
    let get = Request::get("/register")
        .header("authorization", format!("Bearer {IAT}"))
        .body(Vec::new())
        .unwrap();
    let reply = h.registration(get).await;
    reply.assert_error(405, "invalid_request");
    assert_eq!(reply.header("allow"), Some("POST"));
    for content_type in [
        None,
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
    ] {
        let mut b = Request::post("/register").header("authorization", format!("Bearer {IAT}"));
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        let reply = h
            .registration(b.body(WEB_APP.as_bytes().to_vec()).unwrap())
            .await;
        reply.assert_error(400, "invalid_request");
    }
    let charset = Request::post("/register")
        .header("authorization", format!("Bearer {IAT}"))
        .header("content-type", "application/json; charset=utf-8")
        .body(WEB_APP.as_bytes().to_vec())
        .unwrap();
    assert_eq!(h.registration(charset).await.status, 201);
    let huge = format!(
        r#"{{"client_name": "{}"}}"#,
        "x".repeat(portcullis::DEFAULT_MAX_BODY)
    );
    h.register_json(&huge)
        .await
        .assert_error(413, "invalid_request");
}

#[tokio::test]
async fn the_consent_page_can_show_what_the_client_says_about_itself() {
    let h = protected();
    let app = as_client(&h.registered(WEB_APP).await);
    let pending = h
        .authorize(&format!(
            "response_type=code&client_id={}&code_challenge={CHALLENGE}&code_challenge_method=S256",
            app.id
        ))
        .await
        .unwrap();
    let client = pending.client();
    assert_eq!(client.name(), Some("Example App"));
    assert_eq!(
        client.info().logo_uri().map(|u| u.as_str()),
        Some("https://app.example/logo.png")
    );
    // The host can tell a dynamically registered client apart.
    assert!(client.registration_access_token_hash().is_some());
}

#[tokio::test]
async fn the_typed_layer_applies_the_same_rules() {
    let h = protected();
    let mut metadata = ClientMetadata::default();
    metadata.grant_types = Some(vec!["client_credentials".into()]);
    metadata.scope = Some("read".into());
    let info = h.server.register_with_metadata(&metadata).await.unwrap();
    assert_eq!(info.client().scope().as_str(), "read");
    assert!(info.client_secret().is_some());
    assert!(!format!("{info:?}").contains(info.client_secret().unwrap().expose_secret()));
    metadata.scope = Some("admin".into());
    let err = h
        .server
        .register_with_metadata(&metadata)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DynamicRegistrationError::Metadata(_)),
        "{err:?}"
    );
    let off = harness();
    assert!(matches!(
        off.server
            .register_with_metadata(&metadata)
            .await
            .unwrap_err(),
        DynamicRegistrationError::NotEnabled
    ));
}

#[tokio::test]
async fn a_stored_issue_time_beyond_the_clock_is_refused_not_a_panic() {
    let h = protected();
    let info = h.registered(WEB_APP).await;
    let client = h
        .store
        .find_client(info["client_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(client.issued_at(), Some(start()));
    // A client read back from a host's store revalidates; an issue time no
    // `SystemTime` can hold is refused there, rather than panic later in
    // `Client::issued_at` on the consent page.
    let mut stored = serde_json::to_value(&*client).unwrap();
    stored["client_id_issued_at"] = json!(u64::MAX);
    assert!(serde_json::from_value::<portcullis::client::Client>(stored).is_err());
}

/// How command-line tools, desktop apps and MCP clients register (RFC 7591
/// has no `application_type`): public, with only a loopback redirect.
const NATIVE_APP: &str = r#"{
    "redirect_uris": ["http://127.0.0.1:33418/callback"],
    "token_endpoint_auth_method": "none",
    "grant_types": ["authorization_code", "refresh_token"]
}"#;

#[tokio::test]
async fn a_public_client_with_only_loopback_redirects_registers_as_a_native_app() {
    let h = protected();
    let info = h.registered(NATIVE_APP).await;
    // RFC 8252 §8.4: registered as a public native app, and told so.
    assert_eq!(info["application_type"], "native");
    assert_eq!(info["token_endpoint_auth_method"], "none");
    assert!(info.get("client_secret").is_none(), "{info}");
    assert_eq!(
        info["redirect_uris"],
        json!(["http://127.0.0.1:33418/callback"])
    );
    let client = as_client(&info);

    // RFC 8252 §7.3: the app listens on whatever port it got this time.
    let redirect_uri = "http://127.0.0.1:51004/callback";
    let pending = h
        .authorize(&format!(
            "response_type=code&client_id={}&redirect_uri={}&code_challenge={CHALLENGE}\
             &code_challenge_method=S256&state=xyz&scope=read",
            client.id,
            form_encode(redirect_uri)
        ))
        .await
        .unwrap();
    let response = h.server.approve(pending, "alice", None).await.unwrap();
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(&format!("{redirect_uri}?")),
        "{location}"
    );
    let params = redirect_params(&response);
    assert_eq!(param(&params, "state"), Some("xyz"));
    let code = param(&params, "code").unwrap();

    let reply = h
        .post(token_request(
            None,
            &format!(
                "grant_type=authorization_code&code={code}&client_id={}\
                 &redirect_uri={}&code_verifier={VERIFIER}",
                client.id,
                form_encode(redirect_uri)
            ),
        ))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert!(alive(&h, reply.access_token()).await);
    let refresh = reply.json["refresh_token"].as_str().unwrap();
    let reply = h.post(refresh_request(&client, refresh, "")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
}

#[tokio::test]
async fn loopback_redirects_stay_refused_for_web_clients() {
    let h = protected();
    for document in [
        // A web client's https redirect beside a loopback one: not a native
        // app (OpenID Connect Registration §2), so the loopback one is
        // refused as for any web client.
        r#"{"redirect_uris": ["https://app.example/cb", "http://127.0.0.1/cb"], "token_endpoint_auth_method": "none"}"#,
        // A client that says it is a web client is taken at its word.
        r#"{"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none", "application_type": "web"}"#,
        // A confidential client is not a native app (RFC 8252 §8.5).
        r#"{"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "client_secret_basic"}"#,
    ] {
        let reply = h.register_json(document).await;
        reply.assert_error(400, "invalid_redirect_uri");
    }
    // A private-use scheme with no https beside it is a native app's too.
    let info = h
        .registered(r#"{"redirect_uris": ["com.example.app:/oauth"], "token_endpoint_auth_method": "none"}"#)
        .await;
    assert_eq!(info["application_type"], "native");
}
