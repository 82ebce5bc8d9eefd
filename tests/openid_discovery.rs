//! OpenID Connect Discovery 1.0 (§3, §4) through the public API: the
//! provider's configuration document, its members, its path, and that it is
//! the RFC 8414 document of the same server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::signing_keys;
use http::Request;
use portcullis::endpoint::{Endpoint, OPENID_CONFIGURATION_PATH};
use portcullis::grant::{AuthorizationCodeGrant, RefreshTokenGrant};
use portcullis::jose::{Algorithm, SigningKey};
use portcullis::oidc::{OpenIdConnect, PairwiseKey, StaticClaims};
use portcullis::{AuthorizationServer, MemoryStore, ServerBuilder};
use serde_json::{Value, json};

fn builder(issuer: &str) -> ServerBuilder {
    let store = MemoryStore::new();
    AuthorizationServer::builder(issuer)
        .clients(store.clone())
        .tokens(store)
        .grant(AuthorizationCodeGrant)
        .grant(RefreshTokenGrant)
}

fn provider(issuer: &str, config: OpenIdConnect) -> AuthorizationServer {
    builder(issuer)
        .signing_keys(signing_keys(&[Algorithm::Rs256, Algorithm::Es256]))
        .scopes_supported("profile email read".parse().unwrap())
        .openid_connect(config)
        .build()
        .unwrap()
}

fn op() -> AuthorizationServer {
    provider(
        "https://auth.example",
        OpenIdConnect::new(StaticClaims::new()),
    )
}

fn json_of(response: &http::Response<Vec<u8>>) -> Value {
    serde_json::from_slice(response.body()).unwrap()
}

fn get(path: impl AsRef<str>) -> Request<()> {
    Request::get(path.as_ref()).body(()).unwrap()
}

/// The configuration as served, after checking the response's headers.
fn configuration(server: &AuthorizationServer) -> Value {
    let response = server.openid_configuration_endpoint(get(server.openid_configuration_path()));
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    json_of(&response)
}

fn rfc8414(server: &AuthorizationServer) -> Value {
    let response = server.metadata_endpoint(get(server.metadata_path()));
    assert_eq!(response.status(), 200);
    json_of(&response)
}

#[tokio::test]
async fn the_configuration_is_the_servers_rfc8414_document() {
    let server = op();
    let document = configuration(&server);
    // One builder, so the two documents cannot disagree: same issuer, same
    // endpoints, same everything.
    assert_eq!(document, rfc8414(&server));
    assert_eq!(document["issuer"], "https://auth.example");
    assert_eq!(
        document["authorization_endpoint"],
        "https://auth.example/authorize"
    );
    assert_eq!(document["token_endpoint"], "https://auth.example/token");
    assert_eq!(document["jwks_uri"], "https://auth.example/jwks");
    assert_eq!(
        document["userinfo_endpoint"],
        "https://auth.example/userinfo"
    );
    assert_eq!(
        server.openid_configuration().unwrap(),
        server.metadata(),
        "the typed document too"
    );
}

#[tokio::test]
async fn a_provider_publishes_the_members_discovery_asks_for() {
    let server = op();
    let document = configuration(&server);
    assert_eq!(document["subject_types_supported"], json!(["public"]));
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        json!(["ES256", "RS256"])
    );
    assert_eq!(
        document["userinfo_signing_alg_values_supported"],
        json!(["ES256", "RS256"])
    );
    // `openid` first, then the host's list (Discovery §3).
    assert_eq!(
        document["scopes_supported"],
        json!(["openid", "email", "profile", "read"])
    );
    assert_eq!(document["claims_parameter_supported"], true);
    assert_eq!(document["request_parameter_supported"], false);
    // Discovery §3 defaults it to true: it must be said.
    assert_eq!(document["request_uri_parameter_supported"], false);
    assert_eq!(document["claim_types_supported"], json!(["normal"]));
    assert_eq!(
        document["prompt_values_supported"],
        json!(["none", "login", "consent", "select_account", "create"])
    );
    assert_eq!(
        document["display_values_supported"],
        json!(["page", "popup", "touch", "wap"])
    );
    let claims: Vec<&str> = document["claims_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for claim in [
        "sub",
        "iss",
        "auth_time",
        "name",
        "email",
        "email_verified",
        "address",
        "phone_number",
    ] {
        assert!(claims.contains(&claim), "{claim} in {claims:?}");
    }
    assert_eq!(document["response_types_supported"], json!(["code"]));
    assert_eq!(
        document["response_modes_supported"],
        json!(["query", "fragment", "form_post"])
    );
    assert_eq!(
        document["grant_types_supported"],
        json!(["authorization_code", "refresh_token"])
    );
    assert!(document["token_endpoint_auth_methods_supported"].is_array());
    // Not configured, so not published (Discovery §4.2: no empty lists).
    assert!(document.get("acr_values_supported").is_none());
    // RP-Initiated Logout 1.0 §2.1.
    assert_eq!(
        document["end_session_endpoint"],
        "https://auth.example/logout"
    );
}

#[tokio::test]
async fn configured_choices_show_in_the_document() {
    let server = provider(
        "https://auth.example",
        OpenIdConnect::new(StaticClaims::new())
            .pairwise_subjects(PairwiseKey::new(&[7; 32]).unwrap())
            .acr_values_supported(["urn:example:loa:1", "urn:example:loa:2"])
            .claims_supported(["sub", "email"]),
    );
    let document = configuration(&server);
    assert_eq!(
        document["subject_types_supported"],
        json!(["public", "pairwise"])
    );
    assert_eq!(
        document["acr_values_supported"],
        json!(["urn:example:loa:1", "urn:example:loa:2"])
    );
    assert_eq!(document["claims_supported"], json!(["sub", "email"]));

    // A UserInfo endpoint moved by the builder is published where it is.
    let moved = builder("https://auth.example")
        .signing_keys(signing_keys(&[Algorithm::Rs256]))
        .endpoint(Endpoint::UserInfo, "/oidc/me")
        .openid_connect(OpenIdConnect::new(StaticClaims::new()))
        .build()
        .unwrap();
    let document = configuration(&moved);
    assert_eq!(
        document["userinfo_endpoint"],
        "https://auth.example/oidc/me"
    );
    assert_eq!(
        moved.endpoint_urls().get(Endpoint::UserInfo).as_str(),
        "https://auth.example/oidc/me"
    );
    assert_eq!(Endpoint::UserInfo.metadata_name(), "userinfo_endpoint");
}

#[tokio::test]
async fn signing_algorithms_are_those_with_an_active_key() {
    let es_only = builder("https://auth.example")
        .signing_keys(signing_keys(&[Algorithm::Es256]))
        .openid_connect(
            OpenIdConnect::new(StaticClaims::new()).id_token_signing_alg(Algorithm::Es256),
        )
        .build()
        .unwrap();
    // A staged key signs nothing yet, so its algorithm is not offered.
    es_only
        .signing_keys()
        .stage(SigningKey::generate(Algorithm::Rs256).unwrap())
        .unwrap();
    let document = configuration(&es_only);
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        json!(["ES256"])
    );
    assert_eq!(
        document["userinfo_signing_alg_values_supported"],
        json!(["ES256"])
    );
}

#[tokio::test]
async fn openid_is_listed_once_when_the_host_lists_it_too() {
    let server = builder("https://auth.example")
        .signing_keys(signing_keys(&[Algorithm::Rs256]))
        .scopes_supported("email openid".parse().unwrap())
        .openid_connect(OpenIdConnect::new(StaticClaims::new()))
        .build()
        .unwrap();
    assert_eq!(
        configuration(&server)["scopes_supported"],
        json!(["openid", "email"])
    );
}

#[tokio::test]
async fn the_path_is_appended_to_the_issuer() {
    // Discovery §4.1: appended, where RFC 8414 §3.1 inserts.
    for (issuer, path) in [
        ("https://auth.example", "/.well-known/openid-configuration"),
        ("https://auth.example/", "/.well-known/openid-configuration"),
        (
            "https://auth.example/tenant1",
            "/tenant1/.well-known/openid-configuration",
        ),
        (
            "https://auth.example/tenant1/",
            "/tenant1/.well-known/openid-configuration",
        ),
    ] {
        let server = provider(issuer, OpenIdConnect::new(StaticClaims::new()));
        assert_eq!(server.openid_configuration_path(), path, "{issuer}");
        assert_eq!(
            server.openid_configuration_url().as_str(),
            format!("https://auth.example{path}")
        );
        assert!(path.ends_with(OPENID_CONFIGURATION_PATH));
        // Discovery §4.3: the issuer is exactly the one the path came from.
        assert_eq!(configuration(&server)["issuer"], issuer);
    }
    let tenant = provider(
        "https://auth.example/tenant1",
        OpenIdConnect::new(StaticClaims::new()),
    );
    assert_eq!(
        tenant.metadata_path(),
        "/.well-known/oauth-authorization-server/tenant1"
    );
    assert_eq!(
        configuration(&tenant)["userinfo_endpoint"],
        "https://auth.example/tenant1/userinfo"
    );
}

#[tokio::test]
async fn head_is_answered_and_other_methods_refused() {
    let server = op();
    let head = Request::head(server.openid_configuration_path())
        .body(())
        .unwrap();
    let response = server.openid_configuration_endpoint(head);
    assert_eq!(response.status(), 200);
    assert!(response.body().is_empty());
    assert_ne!(response.headers()["content-length"], "0");

    let post = Request::post(server.openid_configuration_path())
        .body(())
        .unwrap();
    let response = server.openid_configuration_endpoint(post);
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    assert_eq!(json_of(&response)["error"], "invalid_request");
}

#[tokio::test]
async fn a_server_that_is_not_a_provider_has_no_configuration() {
    let server = builder("https://auth.example")
        .signing_keys(signing_keys(&[Algorithm::Rs256]))
        .scopes_supported("read".parse().unwrap())
        .build()
        .unwrap();
    let response = server.openid_configuration_endpoint(get(server.openid_configuration_path()));
    assert_eq!(response.status(), 404);
    assert!(server.openid_configuration().is_none());
    assert!(server.metadata().openid.is_none());

    // Its RFC 8414 document says nothing of OpenID Connect.
    let document = rfc8414(&server);
    assert_eq!(document["scopes_supported"], json!(["read"]));
    for member in [
        "userinfo_endpoint",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
        "userinfo_signing_alg_values_supported",
        "claims_supported",
        "claims_parameter_supported",
        "request_parameter_supported",
        "request_uri_parameter_supported",
        "prompt_values_supported",
        "display_values_supported",
        "claim_types_supported",
        "acr_values_supported",
    ] {
        assert!(document.get(member).is_none(), "{member}");
    }
    assert_eq!(document["jwks_uri"], "https://auth.example/jwks");
}
