//! The resource server's bearer token validation (RFC 6750), in process and
//! from introspection responses (RFC 7662 §2.2), through the public API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use http::{Method, Request, Response};
use portcullis::AuthorizationServer;
use portcullis::protocol::{IntrospectionResponse, Scope};
use portcullis::resource::{
    BearerErrorKind, BearerRequest, BearerValidator, InvalidRequest, Realm, TokenInfo,
    TokenLocation, TokenSource, TokenSourceError,
};

const BARE: &str = r#"Bearer realm="api""#;
const INVALID_TOKEN: &str = r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid, expired or revoked""#;

fn validator(h: &Harness) -> BearerValidator<AuthorizationServer> {
    BearerValidator::new(h.server.clone(), Realm::new("api").unwrap())
}

fn scope(s: &str) -> Scope {
    if s.is_empty() {
        Scope::empty()
    } else {
        s.parse().unwrap()
    }
}

/// A client_credentials access token with `scope`.
async fn cc_token(h: &Harness, scope: &str) -> String {
    let c = h.cc_client().await;
    let r = h.post(cc_request(&c, &format!("&scope={scope}"))).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.access_token().to_owned()
}

/// A GET to a protected resource with an optional `Authorization` value.
fn get(uri: &str, authorization: Option<&str>) -> Request<Vec<u8>> {
    let mut b = Request::get(uri);
    if let Some(a) = authorization {
        b = b.header("authorization", a);
    }
    b.body(Vec::new()).unwrap()
}

/// A request with a form body carrying `body`.
fn form(method: Method, uri: &str, body: &str) -> Request<Vec<u8>> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

fn challenge(response: &Response<Vec<u8>>) -> &str {
    response.headers()["www-authenticate"].to_str().unwrap()
}

/// Asserts the RFC 6750 §3.1 answer to a request without (usable)
/// credentials: 401, a challenge with the realm and nothing else, no error.
#[track_caller]
fn assert_bare_challenge(response: Response<Vec<u8>>) {
    assert_eq!(response.status(), 401);
    assert_eq!(challenge(&response), BARE);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(
        response.body().is_empty(),
        "no error information in the body"
    );
}

/// Asserts an error with a code: status, code in the challenge and the body,
/// the exact challenge, and the no-store headers.
#[track_caller]
fn assert_error(response: Response<Vec<u8>>, status: u16, code: &str, www_authenticate: &str) {
    assert_eq!(challenge(&response), www_authenticate);
    let reply = Reply::from(response);
    reply.assert_error(status, code);
}

#[tokio::test]
async fn a_valid_token_yields_subject_client_and_scope() {
    // A user's token, from the code flow: it has a subject.
    let h = code_harness();
    let app = h.native_client().await;
    let params = h.code_for(&app, "&scope=read+write").await;
    let r = h.redeem(&app, param(&params, "code").unwrap()).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let token = r.access_token();

    let info = validator(&h)
        .validate(
            &get("/photos", Some(&format!("Bearer {token}"))),
            &scope("read"),
        )
        .await
        .unwrap();
    assert_eq!(info.subject.as_ref().unwrap().as_str(), "alice");
    assert_eq!(info.client_id.as_ref().unwrap().as_str(), app.id);
    assert_eq!(info.scope, scope("read write"));
    assert_eq!(info.issued_at, Some(start()));
    assert_eq!(info.expires_at, Some(start() + Duration::from_secs(600)));
    assert!(info.grant_id.is_some());

    // A service's token: no subject.
    let h = harness();
    let token = cc_token(&h, "read").await;
    let info = validator(&h)
        .validate(&get("/r", Some(&format!("Bearer {token}"))), &scope("read"))
        .await
        .unwrap();
    assert_eq!(info.subject, None);
    assert_eq!(info.scope, scope("read"));
}

#[tokio::test]
async fn parts_and_requests_are_both_accepted() {
    let h = harness();
    let token = cc_token(&h, "read").await;
    let v = validator(&h);
    let request = get("/r", Some(&format!("Bearer {token}")));
    let (parts, _) = request.into_parts();
    assert!(v.validate(&parts, &scope("read")).await.is_ok());
    assert!(
        v.validate(BearerRequest::from_parts(&parts), &scope(""))
            .await
            .is_ok()
    );
    let none = v.validate(&get("/r", None), &scope("")).await.unwrap_err();
    assert!(matches!(none.kind(), BearerErrorKind::Missing));
}

#[tokio::test]
async fn the_scheme_is_case_insensitive() {
    let h = harness();
    let token = cc_token(&h, "read").await;
    let v = validator(&h);
    for header in [
        format!("Bearer {token}"),
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("bEaReR {token}"),
        // `1*SP` between scheme and token.
        format!("Bearer   {token}"),
    ] {
        let request = get("/r", Some(&header));
        let found = v.extract(&request).unwrap();
        assert_eq!(found.location(), TokenLocation::AuthorizationHeader);
        assert_eq!(found.expose_secret(), token);
        assert!(
            v.validate(&request, &scope("read")).await.is_ok(),
            "{header}"
        );
    }
}

#[tokio::test]
async fn malformed_bearer_credentials_are_invalid_request() {
    let h = harness();
    let token = cc_token(&h, "read").await;
    let v = validator(&h);
    let expected = r#"Bearer realm="api", error="invalid_request", error_description="the Bearer credentials are malformed""#;
    for header in [
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        format!("Bearer {token} extra"),
        format!("Bearer {token},"),
        format!("Bearer\t{token}"),
        format!("Bearer \"{token}\""),
        format!("Bearer ={token}"),
        format!("Bearer {}", "a".repeat(5000)),
    ] {
        let e = v
            .validate(&get("/r", Some(&header)), &scope(""))
            .await
            .unwrap_err();
        assert!(
            matches!(
                e.kind(),
                BearerErrorKind::InvalidRequest(InvalidRequest::MalformedCredentials)
            ),
            "{header}: {e:?}"
        );
        assert_error(e.into_http(), 400, "invalid_request", expected);
    }
}

#[tokio::test]
async fn b64token_characters_reach_the_source() {
    // Every b64token character is syntax-valid, so these are well-formed
    // requests with unknown tokens: 401 invalid_token, not 400.
    let h = harness();
    let v = validator(&h);
    for token in ["mF_9.B5f-4.1JqM", "a+b/c~d==", "pc_at_x"] {
        let e = v
            .validate(&get("/r", Some(&format!("Bearer {token}"))), &scope(""))
            .await
            .unwrap_err();
        assert_error(e.into_http(), 401, "invalid_token", INVALID_TOKEN);
    }
}

#[tokio::test]
async fn no_credentials_get_a_challenge_without_an_error() {
    let h = harness();
    let v = validator(&h);
    let e = v
        .validate(&get("/r", None), &scope("read"))
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), BearerErrorKind::Missing));
    assert_eq!(e.status(), 401);
    assert!(e.oauth_error().is_none());
    assert_bare_challenge(e.into_http());
}

#[tokio::test]
async fn another_authentication_scheme_gets_a_bare_challenge() {
    // RFC 6750 §3.1: "attempted using an unsupported authentication method".
    let h = harness();
    let v = validator(&h);
    for header in ["Basic dXNlcjpwYXNz", "DPoP abc", "Bearerabc"] {
        let e = v
            .validate(&get("/r", Some(header)), &scope(""))
            .await
            .unwrap_err();
        assert!(matches!(e.kind(), BearerErrorKind::Missing), "{header}");
        assert_bare_challenge(e.into_http());
    }
}

#[tokio::test]
async fn repeated_authorization_headers_are_invalid_request() {
    let h = harness();
    let token = cc_token(&h, "read").await;
    let bearer = format!("Bearer {token}");
    let request = Request::get("/r")
        .header("authorization", bearer.as_str())
        .header("authorization", bearer.as_str())
        .body(Vec::<u8>::new())
        .unwrap();
    let e = validator(&h)
        .validate(&request, &scope(""))
        .await
        .unwrap_err();
    assert_error(
        e.into_http(),
        400,
        "invalid_request",
        r#"Bearer realm="api", error="invalid_request", error_description="the Authorization header is repeated""#,
    );
}

#[tokio::test]
async fn a_token_in_the_query_is_refused_by_default() {
    let h = harness();
    let token = cc_token(&h, "read").await;
    let e = validator(&h)
        .validate(&get(&format!("/r?access_token={token}"), None), &scope(""))
        .await
        .unwrap_err();
    assert!(matches!(
        e.kind(),
        BearerErrorKind::MethodNotAccepted(TokenLocation::UriQuery)
    ));
    assert_bare_challenge(e.into_http());
    // The token itself is fine: only the method was refused.
    assert!(alive(&h, &token).await);
}

#[tokio::test]
async fn a_token_in_the_query_is_accepted_when_enabled() {
    let h = harness();
    let token = cc_token(&h, "read").await;
    let v = validator(&h).dangerous_accept_uri_query();
    let request = get(&format!("/r?p=q&access_token={token}&x=y"), None);
    assert_eq!(
        v.extract(&request).unwrap().location(),
        TokenLocation::UriQuery
    );
    let info = v.validate(&request, &scope("read")).await.unwrap();
    assert_eq!(info.scope, scope("read"));

    // Unknown tokens are invalid_token there too.
    let e = v
        .validate(&get("/r?access_token=nope", None), &scope(""))
        .await
        .unwrap_err();
    assert_error(e.into_http(), 401, "invalid_token", INVALID_TOKEN);
    // §3.1: a repeated parameter is invalid_request.
    let e = v
        .validate(
            &get(
                &format!("/r?access_token={token}&access_token={token}"),
                None,
            ),
            &scope(""),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        e.kind(),
        BearerErrorKind::InvalidRequest(InvalidRequest::RepeatedParameter)
    ));
    assert_eq!(e.into_http().status(), 400);
    // A malformed query is invalid_request.
    let e = v
        .validate(&get("/r?access_token=%zz", None), &scope(""))
        .await
        .unwrap_err();
    assert!(matches!(
        e.kind(),
        BearerErrorKind::InvalidRequest(InvalidRequest::MalformedForm)
    ));
    // The header still works.
    assert!(
        v.validate(&get("/r?p=q", Some(&format!("Bearer {token}"))), &scope(""))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_token_in_the_body_is_refused_by_default() {
    let h = harness();
    let token = cc_token(&h, "read").await;
    let e = validator(&h)
        .validate(
            &form(Method::POST, "/r", &format!("access_token={token}")),
            &scope(""),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        e.kind(),
        BearerErrorKind::MethodNotAccepted(TokenLocation::FormBody)
    ));
    assert_bare_challenge(e.into_http());
}

#[tokio::test]
async fn a_token_in_a_form_body_is_accepted_when_enabled_as_rfc_6750_2_2_allows() {
    let h = harness();
    let token = cc_token(&h, "read").await;
    let v = validator(&h).accept_form_body();
    let body = format!("a=1&access_token={token}&b=2");

    for method in [Method::POST, Method::PUT, Method::PATCH] {
        let request = form(method.clone(), "/r", &body);
        assert_eq!(
            v.extract(&request).unwrap().location(),
            TokenLocation::FormBody
        );
        assert!(
            v.validate(&request, &scope("read")).await.is_ok(),
            "{method}"
        );
    }
    // From the request head plus the body the host read.
    let (parts, bytes) = form(Method::POST, "/r", &body).into_parts();
    assert!(
        v.validate(
            BearerRequest::from_parts(&parts).with_body(&bytes),
            &scope("read")
        )
        .await
        .is_ok()
    );
    // Without the body, nothing is found.
    let e = v.validate(&parts, &scope("")).await.unwrap_err();
    assert!(matches!(e.kind(), BearerErrorKind::Missing));
    // Content-Type parameters are allowed; the media type is case-insensitive.
    let request = Request::post("/r")
        .header(
            "content-type",
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
        )
        .body(body.clone().into_bytes())
        .unwrap();
    assert!(v.validate(&request, &scope("read")).await.is_ok());

    // Never with GET (nor another method without body semantics): the body is
    // not read, so there is no token.
    for method in [Method::GET, Method::HEAD, Method::DELETE] {
        let e = v
            .validate(&form(method.clone(), "/r", &body), &scope(""))
            .await
            .unwrap_err();
        assert!(matches!(e.kind(), BearerErrorKind::Missing), "{method}");
    }
    // Only a single-part form body: not JSON, not multipart.
    for content_type in [
        "application/json",
        "multipart/form-data; boundary=x",
        "text/plain",
    ] {
        let request = Request::post("/r")
            .header("content-type", content_type)
            .body(body.clone().into_bytes())
            .unwrap();
        let e = v.validate(&request, &scope("")).await.unwrap_err();
        assert!(
            matches!(e.kind(), BearerErrorKind::Missing),
            "{content_type}"
        );
    }
    // ASCII only.
    let e = v
        .validate(
            &form(
                Method::POST,
                "/r",
                &format!("note=\u{e9}&access_token={token}"),
            ),
            &scope(""),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        e.kind(),
        BearerErrorKind::InvalidRequest(InvalidRequest::BodyNotAscii)
    ));
    assert_eq!(e.into_http().status(), 400);
    // A repeated parameter is invalid_request.
    let e = v
        .validate(
            &form(
                Method::POST,
                "/r",
                &format!("access_token={token}&access_token={token}"),
            ),
            &scope(""),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        e.kind(),
        BearerErrorKind::InvalidRequest(InvalidRequest::RepeatedParameter)
    ));
}

#[tokio::test]
async fn two_methods_in_one_request_are_invalid_request() {
    let h = harness();
    let token = cc_token(&h, "read").await;
    let bearer = format!("Bearer {token}");
    let expected = r#"Bearer realm="api", error="invalid_request", error_description="the access token was sent by more than one method""#;
    let strict = validator(&h);
    let lenient = validator(&h)
        .accept_form_body()
        .dangerous_accept_uri_query();

    let header_and_query = get(&format!("/r?access_token={token}"), Some(&bearer));
    let mut header_and_body = form(Method::POST, "/r", &format!("access_token={token}"));
    header_and_body
        .headers_mut()
        .insert("authorization", bearer.parse().unwrap());
    let query_and_body = form(
        Method::POST,
        &format!("/r?access_token={token}"),
        &format!("access_token={token}"),
    );
    for v in [&strict, &lenient] {
        for request in [&header_and_query, &header_and_body, &query_and_body] {
            let e = v.validate(request, &scope("")).await.unwrap_err();
            assert!(
                matches!(
                    e.kind(),
                    BearerErrorKind::InvalidRequest(InvalidRequest::MultipleMethods)
                ),
                "{e:?}"
            );
            assert_error(e.into_http(), 400, "invalid_request", expected);
        }
    }
    // A non-form body with an `access_token` member is the resource's own
    // content, not a second method.
    let request = Request::post("/r")
        .header("authorization", bearer.as_str())
        .header("content-type", "application/json")
        .body(format!(r#"{{"access_token":"{token}"}}"#).into_bytes())
        .unwrap();
    assert!(lenient.validate(&request, &scope("read")).await.is_ok());
}

#[tokio::test]
async fn an_expired_token_is_invalid_token() {
    let h = harness();
    let token = cc_token(&h, "read").await;
    let v = validator(&h);
    let request = get("/r", Some(&format!("Bearer {token}")));
    h.clock.advance(Duration::from_secs(599));
    assert!(v.validate(&request, &scope("read")).await.is_ok());
    h.clock.advance(Duration::from_secs(1));
    let e = v.validate(&request, &scope("read")).await.unwrap_err();
    assert!(matches!(e.kind(), BearerErrorKind::InvalidToken));
    assert_error(e.into_http(), 401, "invalid_token", INVALID_TOKEN);
}

#[tokio::test]
async fn a_revoked_token_is_invalid_token() {
    let h = harness();
    let token = cc_token(&h, "read").await;
    let v = validator(&h);
    let request = get("/r", Some(&format!("Bearer {token}")));
    let info = v.validate(&request, &scope("")).await.unwrap();
    assert!(
        h.server
            .revoke_grant(&info.grant_id.unwrap())
            .await
            .unwrap()
    );
    let e = v.validate(&request, &scope("")).await.unwrap_err();
    assert_error(e.into_http(), 401, "invalid_token", INVALID_TOKEN);
}

#[tokio::test]
async fn unknown_and_malformed_tokens_are_invalid_token() {
    let h = harness();
    let token = cc_token(&h, "read").await;
    let c = h.cc_client().await;
    let v = validator(&h);
    for not_live in [
        format!("pc_at_{}", "A".repeat(43)),
        token.replacen("pc_at_", "pc_rt_", 1),
        format!("{token}x"),
        token[..token.len() - 1].to_owned(),
        c.secret.clone(),
        "garbage".to_owned(),
    ] {
        let e = v
            .validate(&get("/r", Some(&format!("Bearer {not_live}"))), &scope(""))
            .await
            .unwrap_err();
        assert!(
            matches!(e.kind(), BearerErrorKind::InvalidToken),
            "{not_live}"
        );
        let response = e.into_http();
        assert_eq!(challenge(&response), INVALID_TOKEN);
        // The token is never echoed.
        let text = format!("{:?}{:?}", response.headers(), response.body());
        assert!(!text.contains(&not_live), "{text}");
    }
}

#[tokio::test]
async fn a_refresh_token_presented_as_a_bearer_token_is_invalid_token() {
    let h = code_harness();
    let app = h.native_client().await;
    let params = h.code_for(&app, "&scope=read").await;
    let r = h.redeem(&app, param(&params, "code").unwrap()).await;
    let refresh = r.json["refresh_token"].as_str().unwrap();
    let v = validator(&h);
    let e = v
        .validate(&get("/r", Some(&format!("Bearer {refresh}"))), &scope(""))
        .await
        .unwrap_err();
    assert_error(e.into_http(), 401, "invalid_token", INVALID_TOKEN);
    // The access token of the same response works.
    let access = r.access_token();
    assert!(
        v.validate(
            &get("/r", Some(&format!("Bearer {access}"))),
            &scope("read")
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn insufficient_scope_is_403_with_the_required_scope() {
    let h = harness();
    let token = cc_token(&h, "read").await;
    let v = validator(&h);
    let request = get("/r", Some(&format!("Bearer {token}")));
    // Every required scope token must be granted.
    for ok in ["", "read"] {
        assert!(v.validate(&request, &scope(ok)).await.is_ok(), "{ok}");
    }
    for (required, attribute) in [("write", "write"), ("write read", "read write")] {
        let e = v.validate(&request, &scope(required)).await.unwrap_err();
        match e.kind() {
            BearerErrorKind::InsufficientScope { required: r } => {
                assert_eq!(*r, scope(required))
            }
            other => panic!("{other:?}"),
        }
        assert_error(
            e.into_http(),
            403,
            "insufficient_scope",
            &format!(
                r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the scope this resource requires", scope="{attribute}""#
            ),
        );
    }
}

#[tokio::test]
async fn the_realm_is_configurable_and_escaped() {
    let h = harness();
    let v = BearerValidator::new(
        h.server.clone(),
        Realm::new(r#"the "photos" API \ v2"#).unwrap(),
    );
    let response = v
        .validate(&get("/r", None), &scope(""))
        .await
        .unwrap_err()
        .into_http();
    assert_eq!(
        challenge(&response),
        r#"Bearer realm="the \"photos\" API \\ v2""#
    );
    assert!(Realm::new("line\nbreak").is_err());
    assert!(Realm::new("").is_err());
}

/// A source that always fails, as a broken store or unreachable
/// introspection endpoint would.
struct Broken;

impl TokenSource for Broken {
    async fn token_info(&self, _: &str) -> Result<Option<TokenInfo>, TokenSourceError> {
        Err(TokenSourceError::new(std::io::Error::other(
            "connection refused by 10.0.0.7",
        )))
    }
}

#[tokio::test]
async fn a_failing_source_is_a_500_without_detail() {
    let v = BearerValidator::new(Broken, Realm::new("api").unwrap());
    let e = v
        .validate(&get("/r", Some("Bearer abc")), &scope(""))
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), BearerErrorKind::Unavailable(_)));
    let response = e.into_http();
    assert!(response.headers().get("www-authenticate").is_none());
    let reply = Reply::from(response);
    reply.assert_error(500, "server_error");
    assert_eq!(reply.description(), "");
}

// --- Introspection responses (RFC 7662 §2.2) --------------------------------

const ISSUER_URL: &str = "https://auth.example/";

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn introspect(json: &str, now: u64) -> Option<TokenInfo> {
    let response = IntrospectionResponse::from_json(json.as_bytes()).unwrap();
    TokenInfo::from_introspection(&response, ISSUER_URL, at(now))
}

#[test]
fn an_active_introspection_response_gives_token_info() {
    let info = introspect(
        r#"{"active":true,"client_id":"l238j323ds-23ij4","username":"jdoe",
            "scope":"read write dolphin","sub":"Z5O3upPC88QrAjx00dis",
            "aud":"https://protected.example.net/resource","iss":"https://auth.example/",
            "exp":1419356238,"iat":1419350238,"token_type":"bearer",
            "extension_field":"twenty-seven"}"#,
        1_419_350_300,
    )
    .unwrap();
    assert_eq!(info.client_id.unwrap().as_str(), "l238j323ds-23ij4");
    assert_eq!(info.subject.unwrap().as_str(), "Z5O3upPC88QrAjx00dis");
    assert_eq!(info.scope, scope("dolphin read write"));
    assert_eq!(info.expires_at, Some(at(1_419_356_238)));
    assert_eq!(info.issued_at, Some(at(1_419_350_238)));
    assert_eq!(info.grant_id, None);
    // Beyond `active`, only `token_type: Bearer` is required: an absent `iss`
    // is accepted.
    let info = introspect(r#"{"active":true,"token_type":"Bearer"}"#, 0).unwrap();
    assert_eq!(info.scope, Scope::empty());
    assert_eq!(info.client_id, None);
}

#[test]
fn inactive_introspection_responses_give_nothing() {
    let now = 1_800_000_000;
    for (why, json) in [
        ("inactive", r#"{"active":false}"#),
        (
            "inactive despite members",
            r#"{"active":false,"scope":"read","exp":1900000000}"#,
        ),
        (
            "another issuer",
            r#"{"active":true,"token_type":"Bearer","iss":"https://evil.example/"}"#,
        ),
        (
            "issuer not normalised alike",
            r#"{"active":true,"token_type":"Bearer","iss":"https://auth.example"}"#,
        ),
        (
            "expired",
            r#"{"active":true,"token_type":"Bearer","exp":1800000000}"#,
        ),
        (
            "not yet valid",
            r#"{"active":true,"token_type":"Bearer","nbf":1800000001}"#,
        ),
        (
            "no token_type, as portcullis answers for a refresh token",
            r#"{"active":true,"scope":"read"}"#,
        ),
        (
            "a client_id no client has",
            r#"{"active":true,"token_type":"Bearer","client_id":"has space"}"#,
        ),
        (
            "a refresh token",
            r#"{"active":true,"token_type":"refresh_token"}"#,
        ),
        (
            "another token type",
            r#"{"active":true,"token_type":"DPoP"}"#,
        ),
    ] {
        assert!(introspect(json, now).is_none(), "{why}");
    }
    assert!(
        introspect(
            r#"{"active":true,"token_type":"Bearer","exp":1800000001}"#,
            now
        )
        .is_some()
    );
}

#[test]
fn malformed_introspection_responses_are_errors() {
    for json in [
        "",
        "not json",
        "[]",
        r#"{"active":true"#,
        r#"{}"#,
        r#"{"active":"true"}"#,
        r#"{"active":1}"#,
        r#"{"active":true,"scope":"a  b"}"#,
        r#"{"active":true,"scope":["read"]}"#,
        r#"{"active":true,"exp":"tomorrow"}"#,
        r#"{"active":true,"exp":-5}"#,
        r#"{"active":true,"sub":42}"#,
        r#"{"active":true,"iss":true}"#,
    ] {
        assert!(
            IntrospectionResponse::from_json(json.as_bytes()).is_err(),
            "{json}"
        );
    }
}

#[test]
fn introspection_times_beyond_the_clock_are_refused_not_a_panic() {
    // `exp`, `iat` or `nbf` past what the platform's clock can represent:
    // the body is malformed, as any other value the resource server cannot
    // read (fail closed), never a panic.
    for member in ["exp", "iat", "nbf"] {
        let json = format!(
            r#"{{"active":true,"token_type":"Bearer","scope":"read","{member}":18446744073709551615}}"#
        );
        assert!(
            IntrospectionResponse::from_json(json.as_bytes()).is_err(),
            "{member}"
        );
    }
    // A response the host filled in itself is refused too.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut response =
        IntrospectionResponse::from_json(br#"{"active":true,"token_type":"Bearer"}"#).unwrap();
    assert!(TokenInfo::from_introspection(&response, ISSUER_URL, now).is_some());
    response.exp = Some(u64::MAX);
    assert_eq!(response.expires_at(), None);
    assert!(TokenInfo::from_introspection(&response, ISSUER_URL, now).is_none());
    response.exp = None;
    response.nbf = Some(u64::MAX);
    assert!(TokenInfo::from_introspection(&response, ISSUER_URL, now).is_none());
}

/// A resource server that asks its authorization server over HTTP: the host
/// makes the call; here the answers are canned.
struct Introspector {
    now: SystemTime,
}

impl TokenSource for Introspector {
    async fn token_info(&self, token: &str) -> Result<Option<TokenInfo>, TokenSourceError> {
        let body: &[u8] = match token {
            "good" => br#"{"active":true,"token_type":"Bearer","scope":"read","client_id":"c","sub":"alice","iss":"https://auth.example/","exp":1800000600}"#,
            "foreign" => br#"{"active":true,"token_type":"Bearer","scope":"read","iss":"https://other.example/"}"#,
            "garbled" => b"<html>502 Bad Gateway</html>",
            _ => br#"{"active":false}"#,
        };
        let response = IntrospectionResponse::from_json(body).map_err(TokenSourceError::new)?;
        Ok(TokenInfo::from_introspection(
            &response, ISSUER_URL, self.now,
        ))
    }
}

#[tokio::test]
async fn a_validator_over_introspection() {
    let v = BearerValidator::new(
        Introspector {
            now: at(1_800_000_000),
        },
        Realm::new("api").unwrap(),
    );
    let info = v
        .validate(&get("/r", Some("Bearer good")), &scope("read"))
        .await
        .unwrap();
    assert_eq!(info.subject.unwrap().as_str(), "alice");
    for (token, status) in [("foreign", 401), ("revoked", 401), ("garbled", 500)] {
        let e = v
            .validate(&get("/r", Some(&format!("Bearer {token}"))), &scope(""))
            .await
            .unwrap_err();
        assert_eq!(e.into_http().status(), status, "{token}");
    }
    let e = v
        .validate(&get("/r", Some("Bearer good")), &scope("write"))
        .await
        .unwrap_err();
    assert_eq!(e.into_http().status(), 403);
}
