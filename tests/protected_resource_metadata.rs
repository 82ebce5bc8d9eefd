//! RFC 9728 protected resource metadata: the document a resource server
//! builds and serves, where it lives (§3.1), the check a client makes of a
//! fetched one (§3.3), and `resource_metadata` in the `WWW-Authenticate`
//! challenges of the validator, the tower layer and the axum extractors
//! (§5.1) — with the discovery a client that knows only the resource's URL
//! starts with.
#![cfg(feature = "axum")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::convert::Infallible;

use axum::body::{Body, to_bytes};
use axum::routing::get;
use common::*;
use http::request::Parts;
use http::{Request, Response, StatusCode};
use portcullis::AuthorizationServer;
use portcullis::axum::{Outcome, RequireScope, ScopeRequirement, protected_resource_metadata};
use portcullis::endpoint::PendingAuthorization;
use portcullis::protocol::{ErrorCode, OAuthError};
use portcullis::resource::{
    BearerChallenge, BearerErrorKind, BearerValidator, ProtectedResourceMetadata, Realm,
    ResourceMetadataUrl, ResourceMismatch, TokenLocation, UnusableMetadata, well_known_url,
};
use portcullis::tower::BearerLayer;
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt as _};

const RESOURCE: &str = "https://api.example/v1/me";
const METADATA_URL: &str = "https://api.example/.well-known/oauth-protected-resource/v1/me";

fn document() -> ProtectedResourceMetadata {
    ProtectedResourceMetadata::builder(RESOURCE)
        .authorization_server(ISSUER)
        .scopes_supported("read".parse().unwrap())
        .build()
        .unwrap()
}

/// The value of `name="…"` in a challenge (our values are never escaped).
fn param<'a>(challenge: &'a str, name: &str) -> Option<&'a str> {
    let start = challenge.find(&format!(" {name}=\""))? + name.len() + 3;
    let rest = &challenge[start..];
    Some(&rest[..rest.find('"')?])
}

// --- the document -----------------------------------------------------------

#[test]
fn the_builder_writes_every_member_of_section_2() {
    let document = ProtectedResourceMetadata::builder(RESOURCE)
        .authorization_server("https://auth.example")
        .authorization_server("https://as2.example/tenant")
        .jwks_uri("https://api.example/jwks.json")
        .scopes_supported("profile email".parse().unwrap())
        .bearer_methods([TokenLocation::AuthorizationHeader, TokenLocation::FormBody])
        .resource_signing_alg_values_supported(["ES256", "RS256"])
        .resource_name("Example API")
        .resource_documentation("https://api.example/docs")
        .resource_policy_uri("https://api.example/policy")
        .resource_tos_uri("https://api.example/tos")
        .tls_client_certificate_bound_access_tokens(true)
        .authorization_details_types_supported(["payment_initiation"])
        .dpop_signing_alg_values_supported(["ES256"])
        .dpop_bound_access_tokens_required(true)
        .member("resource_name#it", json!("La mia API"))
        .build()
        .unwrap();
    let written: serde_json::Value = serde_json::from_slice(&document.to_json()).unwrap();
    assert_eq!(
        written,
        json!({
            "resource": RESOURCE,
            "authorization_servers": ["https://auth.example", "https://as2.example/tenant"],
            "jwks_uri": "https://api.example/jwks.json",
            "scopes_supported": ["email", "profile"],
            "bearer_methods_supported": ["header", "body"],
            "resource_signing_alg_values_supported": ["ES256", "RS256"],
            "resource_name": "Example API",
            "resource_name#it": "La mia API",
            "resource_documentation": "https://api.example/docs",
            "resource_policy_uri": "https://api.example/policy",
            "resource_tos_uri": "https://api.example/tos",
            "tls_client_certificate_bound_access_tokens": true,
            "authorization_details_types_supported": ["payment_initiation"],
            "dpop_signing_alg_values_supported": ["ES256"],
            "dpop_bound_access_tokens_required": true,
        })
    );
    // serde gives the same.
    assert_eq!(serde_json::to_value(&document).unwrap(), written);
}

#[test]
fn members_without_values_are_left_out_and_header_is_the_default_method() {
    let document = ProtectedResourceMetadata::builder("https://api.example")
        .build()
        .unwrap();
    let written: serde_json::Value = serde_json::from_slice(&document.to_json()).unwrap();
    // §3.2: parameters with zero values are omitted; false booleans are the
    // defaults (§2).
    assert_eq!(
        written,
        json!({"resource": "https://api.example", "bearer_methods_supported": ["header"]})
    );
    // An empty list says "no bearer method" (§2), so it is written.
    let none = ProtectedResourceMetadata::builder("https://api.example")
        .bearer_methods([])
        .build()
        .unwrap();
    let written: serde_json::Value = serde_json::from_slice(&none.to_json()).unwrap();
    assert_eq!(written["bearer_methods_supported"], json!([]));
}

#[test]
fn bearer_methods_follow_what_the_validator_accepts() {
    let h = harness();
    let strict = BearerValidator::new(h.server.clone(), Realm::new("api").unwrap());
    assert_eq!(
        strict.accepted_methods(),
        [TokenLocation::AuthorizationHeader]
    );
    let lax = strict
        .clone()
        .accept_form_body()
        .dangerous_accept_uri_query();
    let document = ProtectedResourceMetadata::builder(RESOURCE)
        .bearer_methods(lax.accepted_methods())
        .build()
        .unwrap();
    assert_eq!(
        document.bearer_methods_supported().unwrap(),
        ["header", "body", "query"]
    );
    let document = ProtectedResourceMetadata::builder(RESOURCE)
        .bearer_methods(strict.accepted_methods())
        .build()
        .unwrap();
    assert_eq!(document.bearer_methods_supported().unwrap(), ["header"]);
}

#[test]
fn the_builder_refuses_what_is_not_a_resource_identifier() {
    for (resource, why) in [
        ("", "must be printable ASCII"),
        ("api.example/me", "not an absolute URL"),
        ("/v1/me", "not an absolute URL"),
        ("https://api.example/me#top", "fragment"),
        ("https://api.example/me#", "fragment"),
        ("http://api.example/me", "must be https"),
        ("ftp://api.example/me", "must be https"),
        ("https://user@api.example/me", "user information"),
        ("https://api.example/a b", "printable ASCII"),
        ("https://api.example/\"x", "printable ASCII"),
        ("https://api.example/x\\y", "printable ASCII"),
        ("https://api.example/caf\u{e9}", "printable ASCII"),
        ("https:api.example/me", "must start with https://"),
        ("https:///api.example/me", "must name its host"),
        ("https:////api.example", "must name its host"),
        ("https://api.example/a/../me", "dot segments"),
        ("https://api.example/./me", "dot segments"),
    ] {
        let error = ProtectedResourceMetadata::builder(resource)
            .build()
            .unwrap_err();
        assert_eq!(error.member(), "resource", "{resource:?}");
        assert!(
            error.reason().contains(why),
            "{resource:?}: {} (expected {why:?})",
            error.reason()
        );
        assert!(
            error
                .to_string()
                .starts_with("protected resource metadata: resource: ")
        );
        // A client deriving the URL refuses it alike.
        assert_eq!(well_known_url(resource).unwrap_err(), error);
    }
    // http is for development on loopback only, and a query is allowed
    // (RFC 8707 §2: SHOULD NOT, not MUST NOT).
    for resource in [
        "http://127.0.0.1:8080/api/me",
        "http://localhost:3000/mcp",
        "http://[::1]:8080/mcp",
        "https://api.example/items?tenant=7",
    ] {
        let document = ProtectedResourceMetadata::builder(resource)
            .build()
            .unwrap();
        assert_eq!(document.resource(), resource);
    }
}

#[test]
fn the_builder_refuses_bad_members() {
    let cases: Vec<(
        portcullis::resource::ProtectedResourceMetadataBuilder,
        &str,
        &str,
    )> = vec![
        (
            document_builder().authorization_server("https://auth.example?x=1"),
            "authorization_servers",
            "no query or fragment",
        ),
        (
            document_builder().authorization_server("http://auth.example"),
            "authorization_servers",
            "must be https",
        ),
        (
            document_builder().authorization_server("auth.example"),
            "authorization_servers",
            "absolute URL",
        ),
        (
            document_builder().jwks_uri("http://api.example/jwks"),
            "jwks_uri",
            "must be https",
        ),
        (
            document_builder().resource_documentation("docs"),
            "resource_documentation",
            "absolute URL",
        ),
        (
            document_builder().resource_policy_uri("https://u:p@api.example/p"),
            "resource_policy_uri",
            "user information",
        ),
        (
            document_builder().resource_tos_uri("javascript:alert(1)"),
            "resource_tos_uri",
            "must be https",
        ),
        (
            document_builder().resource_signing_alg_values_supported(["ES256", "none"]),
            "resource_signing_alg_values_supported",
            "\"none\"",
        ),
        (
            document_builder().dpop_signing_alg_values_supported(["NONE"]),
            "dpop_signing_alg_values_supported",
            "\"none\"",
        ),
        (
            document_builder().dpop_signing_alg_values_supported(["ES256", "ES256"]),
            "dpop_signing_alg_values_supported",
            "twice",
        ),
        (
            document_builder().authorization_details_types_supported([""]),
            "authorization_details_types_supported",
            "empty",
        ),
        (
            document_builder().resource_name(""),
            "resource_name",
            "empty",
        ),
        (
            document_builder().member("resource", json!("https://evil.example")),
            "resource",
            "its own builder method",
        ),
        (
            document_builder().member("scopes_supported", json!(["admin"])),
            "scopes_supported",
            "its own builder method",
        ),
    ];
    for (builder, member, why) in cases {
        let error = builder.build().unwrap_err();
        assert_eq!(error.member(), member, "{error}");
        assert!(error.reason().contains(why), "{error} (expected {why:?})");
    }
}

fn document_builder() -> portcullis::resource::ProtectedResourceMetadataBuilder {
    ProtectedResourceMetadata::builder(RESOURCE)
}

// --- where it lives (§3.1) ----------------------------------------------------

#[test]
fn the_well_known_string_goes_between_the_host_and_the_path() {
    let prefix = "/.well-known/oauth-protected-resource";
    for (resource, url, path) in [
        // §3.1's two examples.
        (
            "https://resource.example.com",
            "https://resource.example.com/.well-known/oauth-protected-resource",
            prefix.to_owned(),
        ),
        (
            "https://resource.example.com/resource1",
            "https://resource.example.com/.well-known/oauth-protected-resource/resource1",
            format!("{prefix}/resource1"),
        ),
        // A terminating `/` after the host is removed …
        (
            "https://resource.example.com/",
            "https://resource.example.com/.well-known/oauth-protected-resource",
            prefix.to_owned(),
        ),
        (
            "https://resource.example.com/?tenant=1",
            "https://resource.example.com/.well-known/oauth-protected-resource?tenant=1",
            prefix.to_owned(),
        ),
        (
            "https://resource.example.com?tenant=1",
            "https://resource.example.com/.well-known/oauth-protected-resource?tenant=1",
            prefix.to_owned(),
        ),
        // … but a path's own trailing `/` is the path's.
        (
            "https://resource.example.com/v1/",
            "https://resource.example.com/.well-known/oauth-protected-resource/v1/",
            format!("{prefix}/v1/"),
        ),
        // Port and query kept; the query follows the path.
        (
            "http://127.0.0.1:8080/api/me",
            "http://127.0.0.1:8080/.well-known/oauth-protected-resource/api/me",
            format!("{prefix}/api/me"),
        ),
        (
            "https://api.example:8443/a/b?x=1&y=2",
            "https://api.example:8443/.well-known/oauth-protected-resource/a/b?x=1&y=2",
            format!("{prefix}/a/b"),
        ),
        (
            "http://[::1]:3000/mcp",
            "http://[::1]:3000/.well-known/oauth-protected-resource/mcp",
            format!("{prefix}/mcp"),
        ),
        // Percent-encoding stays as written.
        (
            "https://api.example/a%20b",
            "https://api.example/.well-known/oauth-protected-resource/a%20b",
            format!("{prefix}/a%20b"),
        ),
    ] {
        let document = ProtectedResourceMetadata::builder(resource)
            .build()
            .unwrap();
        assert_eq!(document.well_known_url().as_str(), url, "{resource}");
        assert_eq!(document.well_known_path(), path, "{resource}");
        assert_eq!(document.resource_metadata_url().as_str(), url, "{resource}");
        assert_eq!(well_known_url(resource).unwrap().as_str(), url);
    }
}

// --- a client's side (§3.3) ---------------------------------------------------

#[test]
fn a_parsed_document_keeps_members_it_does_not_know() {
    let body = json!({
        "resource": RESOURCE,
        "authorization_servers": ["https://as1.example.com", "https://as2.example.net"],
        "bearer_methods_supported": ["header", "body"],
        "scopes_supported": ["profile", "email", "phone"],
        "resource_documentation": "https://resource.example.com/resource_documentation.html",
        "resource_name#fr": "Mon API",
        "signed_metadata": "eyJhbGciOiJFUzI1NiJ9.e30.sig",
        "x_vendor": {"nested": [1, 2, 3]},
        "dpop_bound_access_tokens_required": true,
    });
    let bytes = serde_json::to_vec(&body).unwrap();
    let document = ProtectedResourceMetadata::parse_for(RESOURCE, &bytes).unwrap();
    assert_eq!(
        document.authorization_servers(),
        ["https://as1.example.com", "https://as2.example.net"]
    );
    assert_eq!(document.scopes_supported(), ["profile", "email", "phone"]);
    assert_eq!(
        document.bearer_methods_supported().unwrap(),
        ["header", "body"]
    );
    assert!(document.dpop_bound_access_tokens_required());
    assert!(!document.tls_client_certificate_bound_access_tokens());
    assert_eq!(document.resource_name(), None);
    assert_eq!(document.other_members()["resource_name#fr"], "Mon API");
    assert_eq!(
        document.other_members()["x_vendor"],
        json!({"nested": [1, 2, 3]})
    );
    assert_eq!(document.other_members().len(), 3);
    // Written back as it came.
    assert_eq!(serde_json::to_value(&document).unwrap(), body);
    // And its location derived from its resource.
    assert_eq!(document.well_known_url().as_str(), METADATA_URL);
}

#[test]
fn a_client_refuses_another_resources_document() {
    let bytes = document().to_json();
    for claimed in [
        "https://evil.example/v1/me",
        "https://api.example/v1/me/",
        "https://API.example/v1/me",
        "https://api.example/v1/Me",
        "https://api.example:443/v1/me",
    ] {
        // §3.3 and §6: identical code points, no normalisation.
        let error = ProtectedResourceMetadata::parse_for(claimed, &bytes).unwrap_err();
        assert_eq!(
            error,
            UnusableMetadata::Mismatch(ResourceMismatch {
                expected: claimed.to_owned(),
                found: RESOURCE.to_owned(),
            })
        );
        assert!(error.to_string().contains("RFC 9728 §3.3"), "{error}");
    }
    let parsed: ProtectedResourceMetadata = serde_json::from_slice(&bytes).unwrap();
    assert!(parsed.check_resource(RESOURCE).is_ok());
    assert!(parsed.check_resource("https://api.example/v1").is_err());
}

#[test]
fn a_client_refuses_a_malformed_document() {
    for body in [
        &b"not json"[..],
        b"[]",
        b"{}",
        br#"{"resource": 7}"#,
        br#"{"resource": "https://api.example/v1/me#x"}"#,
        br#"{"resource": "http://api.example/v1/me"}"#,
        br#"{"resource": "https://api.example/v1/me", "scopes_supported": "read"}"#,
        br#"{"resource": "https://api.example/v1/me", "dpop_bound_access_tokens_required": "yes"}"#,
    ] {
        let error = ProtectedResourceMetadata::parse_for(RESOURCE, body).unwrap_err();
        assert!(
            matches!(error, UnusableMetadata::Malformed(_)),
            "{}: {error:?}",
            String::from_utf8_lossy(body)
        );
    }
}

// --- serving it (§3.2) ---------------------------------------------------------

#[test]
fn the_endpoint_answers_get_and_head_with_the_document() {
    let document = document();
    let response = document.endpoint(&Request::get(METADATA_URL).body(()).unwrap());
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let length: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(length, response.body().len());
    assert_eq!(response.body(), &document.to_json());
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(response.body()).unwrap(),
        json!({
            "resource": RESOURCE,
            "authorization_servers": [ISSUER],
            "scopes_supported": ["read"],
            "bearer_methods_supported": ["header"],
        })
    );

    let head = document.endpoint(&Request::head(METADATA_URL).body(()).unwrap());
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.body().is_empty());
    assert_eq!(
        head.headers()["content-length"],
        length.to_string().as_str()
    );

    for method in ["POST", "PUT", "DELETE"] {
        let request = Request::builder()
            .method(method)
            .uri(METADATA_URL)
            .body(())
            .unwrap();
        let response = document.endpoint(&request);
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        assert_eq!(response.headers()["allow"], "GET, HEAD");
    }
}

#[test]
fn a_resource_with_a_query_is_served_only_with_that_query() {
    let document = ProtectedResourceMetadata::builder("https://api.example/items?tenant=7")
        .build()
        .unwrap();
    let path = document.well_known_path();
    assert_eq!(path, "/.well-known/oauth-protected-resource/items");
    let ask = |uri: &str| document.endpoint(&Request::get(uri).body(()).unwrap());
    assert_eq!(ask(&format!("{path}?tenant=7")).status(), StatusCode::OK);
    assert_eq!(
        ask(&format!("{path}?tenant=8")).status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(ask(path).status(), StatusCode::NOT_FOUND);
}

// --- the challenge (§5.1) ------------------------------------------------------

#[test]
fn the_challenge_names_the_metadata_url_in_quotes_it_cannot_leave() {
    let url: ResourceMetadataUrl = METADATA_URL.parse().unwrap();
    let challenge = BearerChallenge::new(Realm::new("api").unwrap())
        .error(
            OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("No access token was provided in this request"),
        )
        .resource_metadata(url.clone());
    // RFC 9728 §5.1's example, with a realm.
    assert_eq!(
        challenge.to_header_value(),
        format!(
            "Bearer realm=\"api\", error=\"invalid_request\", \
             error_description=\"No access token was provided in this request\", \
             resource_metadata=\"{METADATA_URL}\""
        )
        .as_str()
    );
    assert_eq!(challenge.metadata_url(), Some(&url));
    // A URL that would leave its quotes, or is not one, is refused.
    for bad in [
        "https://api.example/x\", scope=\"admin",
        "https://api.example/x\\",
        "https://api.example/a b",
        "https://api.example/x#f",
        "/.well-known/oauth-protected-resource",
        "javascript:alert(1)",
    ] {
        assert!(bad.parse::<ResourceMetadataUrl>().is_err(), "{bad:?}");
    }
}

async fn token(h: &Harness, scope: &str) -> String {
    let client = h.cc_client().await;
    let reply = h
        .post(cc_request(&client, &format!("&scope={scope}")))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    reply.access_token().to_owned()
}

fn request(authorization: Option<&str>) -> Request<Vec<u8>> {
    let mut builder = Request::get("/v1/me");
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    builder.body(Vec::new()).unwrap()
}

fn challenge_of(response: &Response<Vec<u8>>) -> String {
    response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn without_a_metadata_url_the_challenges_are_as_before() {
    let h = harness();
    let validator = BearerValidator::new(h.server.clone(), Realm::new("api").unwrap());
    let read = "read".parse().unwrap();
    let error = validator.validate(&request(None), &read).await.unwrap_err();
    assert_eq!(error.resource_metadata(), None);
    assert_eq!(challenge_of(&error.into_http()), r#"Bearer realm="api""#);
    let error = validator
        .validate(&request(Some("Bearer pc_at_forged")), &read)
        .await
        .unwrap_err();
    assert_eq!(
        challenge_of(&error.into_http()),
        r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid, expired or revoked""#
    );
}

#[tokio::test]
async fn with_a_metadata_url_every_challenge_names_it_and_the_required_scope() {
    let h = harness();
    let document = document();
    let validator = BearerValidator::new(h.server.clone(), Realm::new("api").unwrap())
        .resource_metadata(document.resource_metadata_url().clone());
    assert_eq!(
        validator.resource_metadata_url().unwrap().as_str(),
        METADATA_URL
    );
    let read = "read".parse().unwrap();
    let suffix = format!(r#", scope="read", resource_metadata="{METADATA_URL}""#);

    // No token: 401, no error code (RFC 6750 §3.1), but where to go and
    // what to ask for (RFC 9728 §5.1).
    let response = validator
        .validate(&request(None), &read)
        .await
        .unwrap_err()
        .into_http();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge_of(&response),
        format!(r#"Bearer realm="api"{suffix}"#)
    );
    assert_eq!(response.headers()["cache-control"], "no-store");

    // An unknown token: 401 invalid_token.
    let response = validator
        .validate(&request(Some("Bearer pc_at_forged")), &read)
        .await
        .unwrap_err()
        .into_http();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = challenge_of(&response);
    assert!(
        challenge.starts_with(r#"Bearer realm="api", error="invalid_token""#),
        "{challenge}"
    );
    assert!(challenge.ends_with(&suffix), "{challenge}");

    // Malformed credentials: 400 invalid_request, as RFC 9728 §5.1's example.
    let response = validator
        .validate(&request(Some("Bearer a b")), &read)
        .await
        .unwrap_err()
        .into_http();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(challenge_of(&response).ends_with(&suffix));

    // Too little scope: 403 naming the scope once.
    let write_only = token(&h, "write").await;
    let response = validator
        .validate(&request(Some(&format!("Bearer {write_only}"))), &read)
        .await
        .unwrap_err()
        .into_http();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = challenge_of(&response);
    assert!(challenge.contains(r#"error="insufficient_scope""#));
    assert_eq!(challenge.matches("scope=\"").count(), 1, "{challenge}");
    assert!(challenge.ends_with(&suffix), "{challenge}");

    // Requiring nothing names no scope.
    let response = validator
        .validate(&request(None), &portcullis::protocol::Scope::empty())
        .await
        .unwrap_err()
        .into_http();
    assert_eq!(
        challenge_of(&response),
        format!(r#"Bearer realm="api", resource_metadata="{METADATA_URL}""#)
    );

    // A host's own refusal through the validator names the URL too.
    let error = validator.error(BearerErrorKind::InvalidToken);
    assert_eq!(error.resource_metadata().unwrap().as_str(), METADATA_URL);

    // And a good token passes.
    let both = token(&h, "read").await;
    let info = validator
        .validate(&request(Some(&format!("Bearer {both}"))), &read)
        .await
        .unwrap();
    assert!(info.scope.contains("read"));
}

#[tokio::test]
async fn the_bearer_layer_names_the_metadata_url_and_its_scope_in_its_401s() {
    let h = harness();
    let document = document();
    let validator = BearerValidator::new(h.server.clone(), Realm::new("api").unwrap())
        .resource_metadata(document.resource_metadata_url().clone());
    let service = ServiceBuilder::new()
        .layer(BearerLayer::new(validator).require_scope("read".parse().unwrap()))
        .service_fn(|_: Request<Vec<u8>>| async {
            Ok::<_, Infallible>(Response::new(b"me".to_vec()))
        });

    let response = service.clone().oneshot(request(None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = challenge_of(&response);
    assert_eq!(param(&challenge, "resource_metadata"), Some(METADATA_URL));
    assert_eq!(param(&challenge, "scope"), Some("read"));
    assert_eq!(param(&challenge, "error"), None);

    let response = service
        .clone()
        .oneshot(request(Some("Bearer pc_at_forged")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = challenge_of(&response);
    assert_eq!(param(&challenge, "error"), Some("invalid_token"));
    assert_eq!(param(&challenge, "resource_metadata"), Some(METADATA_URL));
    assert_eq!(param(&challenge, "scope"), Some("read"));

    let write_only = token(&h, "write").await;
    let response = service
        .clone()
        .oneshot(request(Some(&format!("Bearer {write_only}"))))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = challenge_of(&response);
    assert_eq!(param(&challenge, "error"), Some("insufficient_scope"));
    assert_eq!(param(&challenge, "resource_metadata"), Some(METADATA_URL));

    let read = token(&h, "read").await;
    let response = service
        .oneshot(request(Some(&format!("Bearer {read}"))))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), b"me");
}

// --- axum, and the discovery it enables ----------------------------------------

struct Write;

impl ScopeRequirement for Write {
    const SCOPE: &'static str = "write";
}

async fn write(RequireScope(_, _): RequireScope<Write>) -> &'static str {
    "written"
}

fn app(server: &AuthorizationServer) -> axum::Router {
    let document = document();
    let validator = BearerValidator::new(server.clone(), Realm::new("api").unwrap())
        .resource_metadata(document.resource_metadata_url().clone());
    axum::Router::new()
        .route("/v1/me", get(|| async { "me" }).post(write))
        .route_layer(BearerLayer::new(validator).require_scope("read".parse().unwrap()))
        .merge(protected_resource_metadata(document))
        .merge(portcullis::axum::router(server.clone(), no_consent))
}

/// The authorization endpoint's interaction; these tests never reach it.
async fn no_consent(_: PendingAuthorization, _: Parts) -> Outcome {
    Outcome::page("not signed in")
}

async fn send(app: &axum::Router, request: Request<Body>) -> Response<Vec<u8>> {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap();
    Response::from_parts(parts, bytes.to_vec())
}

#[tokio::test]
async fn the_axum_route_serves_the_document_and_a_client_finds_the_issuer() {
    let h = harness();
    let app = app(&h.server);

    // 1–2: the resource, without a token: 401 naming the document.
    let response = send(&app, Request::get("/v1/me").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = challenge_of(&response);
    let url = param(&challenge, "resource_metadata").unwrap();
    assert_eq!(url, METADATA_URL);

    // 3–5: the document, checked against the resource the client called.
    let path = url::Url::parse(url).unwrap().path().to_owned();
    let response = send(&app, Request::get(&path).body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let document = ProtectedResourceMetadata::parse_for(RESOURCE, response.body()).unwrap();
    assert_eq!(document.scopes_supported(), ["read"]);

    // 6–7: the authorization server's metadata (RFC 8414 §3.1).
    let issuer = &document.authorization_servers()[0];
    assert_eq!(issuer, ISSUER);
    let as_metadata = url::Url::parse(issuer)
        .unwrap()
        .join("/.well-known/oauth-authorization-server")
        .unwrap();
    let response = send(
        &app,
        Request::get(as_metadata.path())
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let metadata: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(metadata["issuer"], ISSUER);

    // The document's route answers other methods itself.
    let response = send(&app, Request::post(&path).body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    let response = send(&app, Request::head(&path).body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().is_empty());
}

#[tokio::test]
async fn a_handlers_own_scope_refusal_names_the_metadata_url_too() {
    let h = harness();
    let app = app(&h.server);
    let read = token(&h, "read").await;
    let response = send(
        &app,
        Request::post("/v1/me")
            .header("authorization", format!("Bearer {read}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = challenge_of(&response);
    assert_eq!(param(&challenge, "error"), Some("insufficient_scope"));
    assert_eq!(param(&challenge, "scope"), Some("write"));
    assert_eq!(param(&challenge, "resource_metadata"), Some(METADATA_URL));

    let both = token(&h, "read%20write").await;
    let response = send(
        &app,
        Request::post("/v1/me")
            .header("authorization", format!("Bearer {both}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), b"written");
}
