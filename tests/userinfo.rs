//! The UserInfo endpoint (OpenID Connect Core 1.0 §5.3) through the public
//! API: tokens from a real code flow, presented as RFC 6750 allows; the
//! claims each scope value and the `claims` request release; the `sub`
//! the ID token carries; signed responses; and every refusal with its
//! status, error code and challenge.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use common::{
    CHALLENGE, Harness, ISSUER, Reply, TestClient, cc_request, form_encode, harness_with, param,
    redirect_params, signing_keys,
};
use http::Request;
use portcullis::ServerBuilder;
use portcullis::client::{ClientRegistration, SubjectType};
use portcullis::endpoint::Approval;
use portcullis::grant::{AuthorizationCodeGrant, RefreshTokenGrant};
use portcullis::jose::{Algorithm, KeySet, UnverifiedJws};
use portcullis::oidc::{
    Claims, ClaimsError, ClaimsQuery, ClaimsSource, OpenIdConnect, PairwiseKey, StaticClaims,
};
use portcullis::protocol::{GrantType, Resource};
use serde_json::{Value, json};

const USERINFO: &str = "https://auth.example/userinfo";
const REALM_ONLY: &str = r#"Bearer realm="https://auth.example""#;
const INVALID_TOKEN: &str = r#"Bearer realm="https://auth.example", error="invalid_token", error_description="the access token is invalid, expired or revoked""#;

fn keys() -> KeySet {
    signing_keys(&[Algorithm::Rs256, Algorithm::Es256])
}

fn alice() -> Claims {
    Claims::new()
        .with("name", "Alice Example")
        .with("given_name", "Alice")
        .with("birthdate", "1990-01-01")
        .with("email", "alice@example.com")
        .with("email_verified", true)
        .with("address", json!({"country": "NZ"}))
        .with("phone_number", "+1 555 0100")
        .with("phone_number_verified", false)
        .with("https://example.com/team", "blue")
}

fn provider(b: ServerBuilder, claims: impl ClaimsSource) -> ServerBuilder {
    b.grant(AuthorizationCodeGrant)
        .grant(RefreshTokenGrant)
        .signing_keys(keys())
        .openid_connect(OpenIdConnect::new(claims))
}

fn op() -> Harness {
    harness_with(|b| provider(b, StaticClaims::new().user("alice", alice())))
}

fn relying_party() -> ClientRegistration {
    ClientRegistration::native()
        .redirect_uri("http://127.0.0.1/cb")
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .scope("openid profile email address phone read".parse().unwrap())
}

async fn rp(h: &Harness) -> TestClient {
    h.register(relying_party()).await
}

/// The token response of a code flow for `subject` with `scope` and the
/// extra authorization parameters `extra`.
async fn tokens_for(
    h: &Harness,
    client: &TestClient,
    subject: &str,
    scope: &str,
    extra: &str,
) -> Value {
    let query = format!(
        "response_type=code&client_id={}&code_challenge={CHALLENGE}&code_challenge_method=S256&scope={}{extra}",
        client.id,
        form_encode(scope)
    );
    let pending = h.authorize(&query).await.unwrap();
    let response = h
        .server
        .approve_with(pending, Approval::new(subject))
        .await
        .unwrap();
    let code = param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned();
    let reply = h.redeem_as(client, &code).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json
}

/// The claims of an ID token, its signature checked against the JWKS.
fn id_token_claims(h: &Harness, id_token: &str) -> Value {
    let jws = UnverifiedJws::parse(id_token).unwrap();
    let (payload, _) = jws
        .verify_with_any(
            &h.server.jwks().public_keys(),
            &[Algorithm::Rs256, Algorithm::Es256],
        )
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

/// Alice's access token for `scope`.
async fn token(h: &Harness, client: &TestClient, scope: &str) -> String {
    let body = tokens_for(h, client, "alice", scope, "").await;
    body["access_token"].as_str().unwrap().to_owned()
}

async fn call(h: &Harness, request: Request<Vec<u8>>) -> Reply {
    Reply::from(h.server.userinfo_endpoint(request).await)
}

fn get(token: &str) -> Request<Vec<u8>> {
    Request::get(USERINFO)
        .header("authorization", format!("Bearer {token}"))
        .body(Vec::new())
        .unwrap()
}

fn post_form(authorization: Option<&str>, uri: &str, body: &str) -> Request<Vec<u8>> {
    let mut b = Request::post(uri).header("content-type", "application/x-www-form-urlencoded");
    if let Some(a) = authorization {
        b = b.header("authorization", a);
    }
    b.body(body.as_bytes().to_vec()).unwrap()
}

/// Asserts a `401` without an error code: the challenge names only the
/// realm (RFC 6750 §3.1).
#[track_caller]
fn assert_unauthenticated(reply: &Reply) {
    assert_eq!(reply.status, 401, "{:?}", reply.json);
    assert_eq!(reply.header("www-authenticate"), Some(REALM_ONLY));
    assert_eq!(reply.json, Value::Null, "no error code, so no error body");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

/// Asserts `401 invalid_token` with its challenge.
#[track_caller]
fn assert_invalid_token(reply: &Reply) {
    reply.assert_error(401, "invalid_token");
    assert_eq!(reply.header("www-authenticate"), Some(INVALID_TOKEN));
}

#[tokio::test]
async fn get_with_the_header_answers_sub_and_the_claims_of_the_scope() {
    let h = op();
    let client = rp(&h).await;
    let body = tokens_for(&h, &client, "alice", "openid profile email", "").await;
    let reply = call(&h, get(body["access_token"].as_str().unwrap())).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.assert_no_store();
    assert_eq!(
        reply.json,
        json!({
            "sub": "alice",
            "name": "Alice Example",
            "given_name": "Alice",
            "birthdate": "1990-01-01",
            "email": "alice@example.com",
            "email_verified": true,
        })
    );

    // Core §5.3.2: the `sub` is the ID token's, which the client checks.
    let id_claims = id_token_claims(&h, body["id_token"].as_str().unwrap());
    assert_eq!(reply.json["sub"], id_claims["sub"]);
}

#[tokio::test]
async fn a_pairwise_client_gets_the_pairwise_sub_of_its_id_tokens() {
    let h = harness_with(|b| {
        b.grant(AuthorizationCodeGrant)
            .signing_keys(keys())
            .openid_connect(
                OpenIdConnect::new(StaticClaims::new().user("alice", alice()))
                    .pairwise_subjects(PairwiseKey::new(&[9; 32]).unwrap()),
            )
    });
    let client = h
        .register(
            ClientRegistration::web_application()
                .redirect_uri("https://rp.example/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .subject_type(SubjectType::Pairwise)
                .scope("openid email".parse().unwrap()),
        )
        .await;
    let body = tokens_for(&h, &client, "alice", "openid email", "").await;
    let reply = call(&h, get(body["access_token"].as_str().unwrap())).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    let id_claims = id_token_claims(&h, body["id_token"].as_str().unwrap());
    assert_ne!(id_claims["sub"], "alice");
    assert_eq!(reply.json["sub"], id_claims["sub"]);
    // The source was asked about the local End-User.
    assert_eq!(reply.json["email"], "alice@example.com");
}

#[tokio::test]
async fn post_with_the_header_or_a_form_body_answers_as_get_does() {
    let h = op();
    let client = rp(&h).await;
    let token = token(&h, &client, "openid email").await;
    let by_get = call(&h, get(&token)).await;
    assert_eq!(by_get.status, 200);

    let header = format!("Bearer {token}");
    let by_post_header = call(&h, post_form(Some(&header), USERINFO, "")).await;
    let by_post_body = call(
        &h,
        post_form(None, USERINFO, &format!("access_token={token}")),
    )
    .await;
    for reply in [&by_post_header, &by_post_body] {
        assert_eq!(reply.status, 200, "{}", reply.json);
        assert_eq!(reply.json, by_get.json);
        reply.assert_no_store();
    }
    assert_eq!(by_get.json["email"], "alice@example.com");
}

#[tokio::test]
async fn each_scope_value_releases_its_standard_claims() {
    let h = op();
    let client = rp(&h).await;
    let cases: [(&str, Value); 5] = [
        ("openid", json!({"sub": "alice"})),
        (
            "openid profile",
            json!({"sub": "alice", "name": "Alice Example", "given_name": "Alice", "birthdate": "1990-01-01"}),
        ),
        (
            "openid email",
            json!({"sub": "alice", "email": "alice@example.com", "email_verified": true}),
        ),
        (
            "openid address",
            json!({"sub": "alice", "address": {"country": "NZ"}}),
        ),
        (
            "openid phone",
            json!({"sub": "alice", "phone_number": "+1 555 0100", "phone_number_verified": false}),
        ),
    ];
    for (scope, expected) in cases {
        let token = token(&h, &client, scope).await;
        let reply = call(&h, get(&token)).await;
        assert_eq!(reply.status, 200, "{scope}: {}", reply.json);
        assert_eq!(reply.json, expected, "{scope}");
    }
}

#[tokio::test]
async fn the_claims_request_asks_userinfo_for_named_claims() {
    let h = op();
    let client = rp(&h).await;
    let claims = form_encode(
        r#"{"userinfo":{"phone_number":{"essential":true},"https://example.com/team":null,"sub":null},"id_token":{"email":null}}"#,
    );
    let body = tokens_for(&h, &client, "alice", "openid", &format!("&claims={claims}")).await;
    let reply = call(&h, get(body["access_token"].as_str().unwrap())).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(
        reply.json,
        json!({"sub": "alice", "phone_number": "+1 555 0100", "https://example.com/team": "blue"}),
        "what was asked of UserInfo, not what was asked of the ID token"
    );
}

#[tokio::test]
async fn a_request_without_a_token_is_401_with_a_bare_challenge() {
    let h = op();
    let client = rp(&h).await;
    let token = token(&h, &client, "openid").await;

    let bare = Request::get(USERINFO).body(Vec::new()).unwrap();
    assert_unauthenticated(&call(&h, bare).await);
    let basic = Request::get(USERINFO)
        .header("authorization", "Basic YTpi")
        .body(Vec::new())
        .unwrap();
    assert_unauthenticated(&call(&h, basic).await);
    // RFC 6750 §2.3: the query is never a place for the token here.
    let in_query = Request::get(format!("{USERINFO}?access_token={token}"))
        .body(Vec::new())
        .unwrap();
    assert_unauthenticated(&call(&h, in_query).await);
    // A GET's body is not read, nor a POST body that is not a form.
    let get_body = Request::get(USERINFO)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("access_token={token}").into_bytes())
        .unwrap();
    assert_unauthenticated(&call(&h, get_body).await);
    let json_body = Request::post(USERINFO)
        .header("content-type", "application/json")
        .body(format!("access_token={token}").into_bytes())
        .unwrap();
    assert_unauthenticated(&call(&h, json_body).await);
}

#[tokio::test]
async fn two_methods_or_malformed_credentials_are_invalid_request() {
    let h = op();
    let client = rp(&h).await;
    let token = token(&h, &client, "openid").await;
    let header = format!("Bearer {token}");
    let both_header_and_query = Request::get(format!("{USERINFO}?access_token={token}"))
        .header("authorization", &header)
        .body(Vec::new())
        .unwrap();
    let cases = [
        both_header_and_query,
        post_form(Some(&header), USERINFO, &format!("access_token={token}")),
        post_form(
            None,
            &format!("{USERINFO}?access_token={token}"),
            &format!("access_token={token}"),
        ),
        post_form(
            None,
            USERINFO,
            &format!("access_token={token}&access_token={token}"),
        ),
        post_form(None, USERINFO, "access_token=%zz"),
        Request::get(USERINFO)
            .header("authorization", "Bearer two words")
            .body(Vec::new())
            .unwrap(),
        Request::get(USERINFO)
            .header("authorization", &header)
            .header("authorization", &header)
            .body(Vec::new())
            .unwrap(),
    ];
    for request in cases {
        let shown = format!("{} {:?}", request.uri(), request.body().len());
        let reply = call(&h, request).await;
        reply.assert_error(400, "invalid_request");
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge
                .starts_with(r#"Bearer realm="https://auth.example", error="invalid_request""#),
            "{shown}: {challenge}"
        );
    }
}

#[tokio::test]
async fn unknown_refresh_expired_and_revoked_tokens_are_invalid_token() {
    let h = op();
    let client = h
        .register(relying_party().grant_type(GrantType::REFRESH_TOKEN))
        .await;
    let body = tokens_for(&h, &client, "alice", "openid", "").await;
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(call(&h, get(access)).await.status, 200);

    for unknown in [
        "pc_at_unknown0000000000000000000000000000000000",
        "x.y.z",
        "abc",
    ] {
        assert_invalid_token(&call(&h, get(unknown)).await);
    }
    // A refresh token is no access token.
    assert_invalid_token(&call(&h, get(body["refresh_token"].as_str().unwrap())).await);

    // Revoked through the revocation endpoint, as the client would.
    let revoke = post_form(
        None,
        "https://auth.example/revoke",
        &format!("token={access}&client_id={}", client.id),
    );
    assert_eq!(h.server.revocation_endpoint(revoke).await.status(), 200);
    assert_invalid_token(&call(&h, get(access)).await);

    // Expired.
    let fresh = token(&h, &client, "openid").await;
    assert_eq!(call(&h, get(&fresh)).await.status, 200);
    h.clock.advance(Duration::from_secs(3600));
    assert_invalid_token(&call(&h, get(&fresh)).await);
}

#[tokio::test]
async fn a_revoked_grant_takes_its_tokens_userinfo_with_it() {
    let h = op();
    let client = rp(&h).await;
    let token = token(&h, &client, "openid").await;
    let info = h.server.access_token_info(&token).await.unwrap().unwrap();
    assert!(h.server.revoke_grant(&info.grant_id).await.unwrap());
    assert_invalid_token(&call(&h, get(&token)).await);
}

#[tokio::test]
async fn a_token_without_openid_is_403_insufficient_scope() {
    let h = op();
    let client = rp(&h).await;
    let token = token(&h, &client, "read email").await;
    let reply = call(&h, get(&token)).await;
    reply.assert_error(403, "insufficient_scope");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(
            r#"Bearer realm="https://auth.example", error="insufficient_scope", error_description="the access token lacks the openid scope", scope="openid""#
        )
    );
}

#[tokio::test]
async fn a_token_for_an_end_user_is_needed() {
    // A client acting on its own behalf (the harness serves client
    // credentials) has no End-User to describe.
    let h = op();
    let service = h
        .register(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .scope("openid".parse().unwrap()),
        )
        .await;
    let reply = h.post(cc_request(&service, "&scope=openid")).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_invalid_token(&call(&h, get(reply.access_token())).await);
}

#[tokio::test]
async fn a_token_restricted_to_another_resource_is_invalid_token() {
    let h = harness_with(|b| {
        provider(b, StaticClaims::new().user("alice", alice()))
            .resource(Resource::new("https://api.example").unwrap())
            .resource(Resource::new(USERINFO).unwrap())
    });
    let client = rp(&h).await;
    let elsewhere = tokens_for(
        &h,
        &client,
        "alice",
        "openid",
        "&resource=https%3A%2F%2Fapi.example",
    )
    .await;
    assert_invalid_token(&call(&h, get(elsewhere["access_token"].as_str().unwrap())).await);

    // A token whose audience includes the UserInfo URL is accepted.
    let here = tokens_for(
        &h,
        &client,
        "alice",
        "openid email",
        &format!(
            "&resource=https%3A%2F%2Fapi.example&resource={}",
            form_encode(USERINFO)
        ),
    )
    .await;
    let reply = call(&h, get(here["access_token"].as_str().unwrap())).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(reply.json["email"], "alice@example.com");
}

#[tokio::test]
async fn an_end_user_the_claims_source_no_longer_knows_is_invalid_token() {
    let h = op();
    let client = rp(&h).await;
    // Bob approved, but the source does not know him: the ID token needed
    // no claims, so the tokens were issued; UserInfo asks and learns.
    let body = tokens_for(&h, &client, "bob", "openid profile", "").await;
    assert_invalid_token(&call(&h, get(body["access_token"].as_str().unwrap())).await);
}

/// A claims source that always fails.
struct Broken;

impl ClaimsSource for Broken {
    fn claims<'a>(
        &'a self,
        _query: ClaimsQuery<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Claims>, ClaimsError>> + Send + 'a>> {
        Box::pin(async { Err(ClaimsError::new("directory unreachable at ldap://10.0.0.7")) })
    }
}

#[tokio::test]
async fn a_failing_claims_source_is_a_bare_server_error() {
    let h = harness_with(|b| provider(b, Broken));
    let client = rp(&h).await;
    let token = token(&h, &client, "openid email").await;
    let reply = call(&h, get(&token)).await;
    reply.assert_error(500, "server_error");
    assert!(reply.json.get("error_description").is_none());
    assert!(reply.header("www-authenticate").is_none());
}

#[tokio::test]
async fn a_client_that_registered_a_signing_algorithm_gets_a_signed_jwt() {
    let h = op();
    let client = h
        .register(relying_party().userinfo_signed_response_alg(Algorithm::Es256))
        .await;
    let token = token(&h, &client, "openid email").await;
    let response = h.server.userinfo_endpoint(get(&token)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/jwt");
    assert_eq!(response.headers()["cache-control"], "no-store");

    let jwt = std::str::from_utf8(response.body()).unwrap();
    let jws = UnverifiedJws::parse(jwt).unwrap();
    assert_eq!(jws.header().algorithm(), Algorithm::Es256);
    assert!(jws.header().kid().is_some());
    let (payload, _) = jws
        .verify_with_any(&h.server.jwks().public_keys(), &[Algorithm::Es256])
        .unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        claims,
        json!({
            "iss": ISSUER,
            "aud": client.id,
            "sub": "alice",
            "email": "alice@example.com",
            "email_verified": true,
        })
    );
}

#[tokio::test]
async fn other_methods_and_oversized_bodies_are_refused() {
    let h = op();
    let client = rp(&h).await;
    let token = token(&h, &client, "openid").await;
    for method in ["PUT", "DELETE", "HEAD", "PATCH"] {
        let request = Request::builder()
            .method(method)
            .uri(USERINFO)
            .header("authorization", format!("Bearer {token}"))
            .body(Vec::new())
            .unwrap();
        let reply = call(&h, request).await;
        reply.assert_error(405, "invalid_request");
        assert_eq!(reply.header("allow"), Some("GET, POST"), "{method}");
    }
    let huge = format!(
        "access_token={token}&pad={}",
        "a".repeat(h.server.max_body())
    );
    let reply = call(&h, post_form(None, USERINFO, &huge)).await;
    assert_eq!(reply.status, 413);
}

#[tokio::test]
async fn a_server_that_is_not_a_provider_has_no_userinfo_endpoint() {
    let h = common::code_harness();
    let client = h
        .register(
            ClientRegistration::native()
                .redirect_uri("http://127.0.0.1/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .scope("openid".parse().unwrap()),
        )
        .await;
    let token = token(&h, &client, "openid").await;
    let response = h.server.userinfo_endpoint(get(&token)).await;
    assert_eq!(response.status(), 404);
    // The token itself is fine: it is the endpoint that is missing.
    assert!(common::alive(&h, &token).await);
}
