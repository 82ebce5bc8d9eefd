//! The authorization endpoint as a client and a user see it (RFC 6749 §3.1,
//! §4.1.1, §4.1.2, §4.1.2.1, §4.2; RFC 7636; RFC 8252 §7.3; RFC 9207;
//! RFC 9700): which requests are refused without a redirect, which errors go
//! back to the client with `state` and `iss`, redirect URI matching, response
//! modes, the consent decision, PKCE and the opt-in implicit grant.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::*;
use http::header::HeaderValue;
use http::{HeaderMap, Request, Response};
use portcullis::client::ClientRegistration;
use portcullis::endpoint::{
    AuthorizationError, DecisionError, PendingAuthorization, ResponseType, secure_page_headers,
};
use portcullis::grant::AuthorizationCodeGrant;
use portcullis::protocol::{GrantType, Scope};

/// The issuer as the server reports it in `iss` (RFC 9207).
const ISS: &str = "https://auth.example";
/// A confidential web client's redirect URI.
const WEB_CB: &str = "https://client.example/cb";
/// A browser-based client's redirect URI.
const SPA_CB: &str = "https://spa.example/cb";
/// A `state` a client library could well send: spaces, delimiters, percent
/// signs, plus signs and non-ASCII.
const AWKWARD_STATE: &str = "a b&c=d+e%20f/g?h#i;j\"k'l<m> é 漢字 😀";

type Outcome = Result<PendingAuthorization, AuthorizationError>;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// `application/x-www-form-urlencoded` query or body from name/value pairs.
fn q(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", form_encode(n), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A code request for `client` with an S256 challenge, plus `extra`.
fn code_request(client: &TestClient, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    pairs.extend_from_slice(extra);
    q(&pairs)
}

/// A POST to the authorization endpoint with a form body.
async fn authorize_post(h: &Harness, body: &str) -> Outcome {
    let request = Request::post("https://auth.example/authorize")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.as_bytes().to_vec())
        .unwrap();
    h.server.authorization_request(&request).await
}

/// A harness serving the authorization code grant, with `customise` on top.
fn code_harness_with(
    customise: impl FnOnce(portcullis::ServerBuilder) -> portcullis::ServerBuilder,
) -> Harness {
    harness_with(|b| customise(b.grant(AuthorizationCodeGrant)))
}

/// A confidential web client for the code flow, scopes `read write`.
async fn web_client(h: &Harness) -> TestClient {
    h.register(
        ClientRegistration::web_application()
            .redirect_uri(WEB_CB)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .scope("read write".parse().unwrap()),
    )
    .await
}

/// A public browser-based client registered for the implicit grant.
async fn spa_client(h: &Harness) -> TestClient {
    h.register(
        ClientRegistration::user_agent_based()
            .redirect_uri(SPA_CB)
            .grant_type(GrantType::IMPLICIT)
            .scope("read write".parse().unwrap()),
    )
    .await
}

#[track_caller]
fn pending(outcome: Outcome) -> PendingAuthorization {
    match outcome {
        Ok(p) => p,
        Err(e) => panic!("expected a pending authorization, got {e:?}"),
    }
}

/// Keeps `p` in the store for a later decision, as a host showing a consent
/// page does, and returns its handle.
async fn defer(h: &Harness, p: &mut PendingAuthorization) -> String {
    h.server.defer(p).await.unwrap().to_owned()
}

/// What a user sees for a request that must not redirect: asserts it is
/// `Rejected`, that its page is a `400` with no `Location` and the secure
/// page headers; returns the error code and the page text.
#[track_caller]
fn rejected(outcome: Outcome) -> (String, String) {
    let err = match outcome {
        Err(e @ AuthorizationError::Rejected(_)) => e,
        Err(other) => panic!("expected Rejected, got {other:?}"),
        Ok(p) => panic!("expected Rejected, got {p:?}"),
    };
    let code = err.error().unwrap().code().as_str().to_owned();
    let response = err.into_http();
    assert_eq!(response.status(), 400);
    assert!(
        response.headers().get("location").is_none(),
        "a rejected request must never redirect"
    );
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["content-security-policy"], "frame-ancestors 'none'");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    (code, String::from_utf8(response.body().clone()).unwrap())
}

/// Asserts an error sent back to the client by a `303` redirect, with the
/// `error` code, a description and `iss`; returns the response and its
/// parameters.
#[track_caller]
fn redirected(outcome: Outcome, code: &str) -> (Response<Vec<u8>>, Vec<(String, String)>) {
    let err = match outcome {
        Err(e @ AuthorizationError::Redirect { .. }) => e,
        Err(other) => panic!("expected a redirect with {code}, got {other:?}"),
        Ok(p) => panic!("expected a redirect with {code}, got {p:?}"),
    };
    assert_eq!(err.error().unwrap().code().as_str(), code);
    let response = err.into_http();
    assert_see_other(&response);
    let params = redirect_params(&response);
    assert_eq!(param(&params, "error"), Some(code), "{params:?}");
    assert!(param(&params, "error_description").is_some());
    assert_eq!(param(&params, "iss"), Some(ISS));
    assert!(param(&params, "code").is_none() && param(&params, "access_token").is_none());
    (response, params)
}

/// A `303 See Other` that caches nothing and leaks no referrer.
#[track_caller]
fn assert_see_other(response: &Response<Vec<u8>>) {
    assert_eq!(response.status(), 303);
    assert!(response.headers().contains_key("location"));
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
}

fn location(response: &Response<Vec<u8>>) -> url::Url {
    url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap()
}

/// The redirect goes to `base` (scheme, host, port, path and query before the
/// added parameters) and carries its parameters in the query.
#[track_caller]
fn assert_query_redirect_to(response: &Response<Vec<u8>>, base: &str) {
    let raw = response.headers()["location"].to_str().unwrap();
    assert!(
        raw.starts_with(&format!("{base}?")),
        "{raw} does not start with {base}?"
    );
    assert!(location(response).fragment().is_none(), "{raw}");
}

/// The hidden inputs of a form_post page, HTML-unescaped.
fn form_post_fields(body: &str) -> Vec<(String, String)> {
    body.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once("\" value=\"").unwrap();
            let (value, _) = rest.split_once('"').unwrap();
            (unescape(name), unescape(value))
        })
        .collect()
}

/// The form_post page's `action`, HTML-unescaped.
fn form_post_action(body: &str) -> String {
    let (_, rest) = body.split_once("action=\"").unwrap();
    unescape(rest.split_once('"').unwrap().0)
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Redeems `code` for a public client, sending `redirect_uri`.
async fn redeem_with_redirect(h: &Harness, c: &TestClient, code: &str, uri: &str) -> Reply {
    h.post(token_request(
        None,
        &format!(
            "grant_type=authorization_code&code={code}&client_id={}&code_verifier={VERIFIER}&redirect_uri={}",
            c.id,
            form_encode(uri)
        ),
    ))
    .await
}

/// Approves and returns the `code` from the query-mode redirect.
async fn approve_for_code(h: &Harness, p: PendingAuthorization, scope: Option<Scope>) -> String {
    let response = h.server.approve(p, "alice", scope).await.unwrap();
    assert_see_other(&response);
    param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned()
}

// ---------------------------------------------------------------------------
// Requests that must not redirect (RFC 6749 §4.1.2.1, first paragraph)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn unknown_client_is_rejected_not_redirected() {
    let h = code_harness();
    let _registered = h.native_client().await;
    let outcome = h
        .authorize(&q(&[
            ("response_type", "code"),
            ("client_id", "no-such-client"),
            ("redirect_uri", "http://127.0.0.1/cb"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "xyz"),
        ]))
        .await;
    let (code, page) = rejected(outcome);
    assert_eq!(code, "invalid_request");
    assert!(page.contains("unknown client"), "{page}");
}

#[tokio::test]
async fn missing_client_id_is_rejected() {
    let h = code_harness();
    let outcome = h
        .authorize(&q(&[
            ("response_type", "code"),
            ("redirect_uri", "http://127.0.0.1/cb"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "xyz"),
        ]))
        .await;
    assert_eq!(rejected(outcome).0, "invalid_request");
    // An empty client_id counts as omitted (RFC 6749 §3.1).
    let c = h.native_client().await;
    let empty = format!("client_id=&{}", code_request(&c, &[]).replace(&c.id, ""));
    assert_eq!(rejected(h.authorize(&empty).await).0, "invalid_request");
    // So does an empty query.
    assert_eq!(rejected(h.authorize("").await).0, "invalid_request");
}

#[tokio::test]
async fn repeated_client_id_is_rejected_even_with_equal_values() {
    let h = code_harness();
    let c = h.native_client().await;
    let query = format!("{}&client_id={}", code_request(&c, &[("state", "s")]), c.id);
    let (code, page) = rejected(h.authorize(&query).await);
    assert_eq!(code, "invalid_request");
    assert!(page.contains("client_id"), "{page}");
}

#[tokio::test]
async fn repeated_redirect_uri_is_rejected() {
    let h = code_harness();
    let c = h.native_client().await;
    let query = code_request(
        &c,
        &[
            ("redirect_uri", "http://127.0.0.1/cb"),
            ("redirect_uri", "http://127.0.0.1/cb"),
            ("state", "s"),
        ],
    );
    let (code, page) = rejected(h.authorize(&query).await);
    assert_eq!(code, "invalid_request");
    assert!(page.contains("redirect_uri"), "{page}");
}

#[tokio::test]
async fn missing_redirect_uri_with_several_registered_is_rejected() {
    let h = code_harness();
    let c = h
        .register(
            ClientRegistration::web_application()
                .redirect_uri(WEB_CB)
                .redirect_uri("https://client.example/other")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .scope("read".parse().unwrap()),
        )
        .await;
    let (code, page) = rejected(h.authorize(&code_request(&c, &[("state", "s")])).await);
    assert_eq!(code, "invalid_request");
    assert!(page.contains("redirect_uri"), "{page}");

    // Naming either registered URI works, and the response goes there.
    for uri in [WEB_CB, "https://client.example/other"] {
        let p = pending(
            h.authorize(&code_request(&c, &[("redirect_uri", uri)]))
                .await,
        );
        assert_eq!(p.redirect_uri(), uri);
        let response = h.server.approve(p, "alice", None).await.unwrap();
        assert_query_redirect_to(&response, uri);
    }
}

#[tokio::test]
async fn unregistered_redirect_uri_is_rejected() {
    let h = code_harness();
    let c = web_client(&h).await;
    for uri in [
        "https://attacker.example/cb",
        "https://client.example/cb/",
        "https://client.example/cb/../cb",
        "https://client.example/cb?x=1",
        "https://client.example/cb#frag",
        "https://client.example/CB",
        "https://CLIENT.example/cb",
        "https://client.example:443/cb",
        "https://client.example:8443/cb",
        "http://client.example/cb",
        "https://client.example.attacker.example/cb",
        "https://client.example/cbx",
        "https://client.example",
        "https://user@client.example/cb",
        "/cb",
        "not a uri",
    ] {
        let outcome = h
            .authorize(&code_request(&c, &[("redirect_uri", uri), ("state", "s")]))
            .await;
        let (code, page) = rejected(outcome);
        assert_eq!(code, "invalid_request", "{uri}");
        assert!(page.contains("redirect_uri"), "{uri}: {page}");
        assert!(!page.contains(uri), "the page must not echo {uri}");
    }
}

#[tokio::test]
async fn malformed_query_is_rejected() {
    let h = code_harness();
    let c = h.native_client().await;
    let good = code_request(&c, &[("state", "s")]);
    for bad in [
        format!("{good}&scope=%zz"),
        format!("{good}&scope=%4"),
        format!("{good}&scope=%ff%fe"),
        format!("{good}&state=%C3%28"),
    ] {
        let (code, _) = rejected(h.authorize(&bad).await);
        assert_eq!(code, "invalid_request", "{bad}");
    }
    // More than the parameter limit.
    let many = (0..70)
        .map(|i| format!("x{i}=1"))
        .collect::<Vec<_>>()
        .join("&");
    let (code, _) = rejected(h.authorize(&format!("{good}&{many}")).await);
    assert_eq!(code, "invalid_request");
}

#[tokio::test]
async fn oversized_request_is_rejected() {
    let h = code_harness_with(|b| b.max_body(512));
    let c = h.native_client().await;
    let state = "s".repeat(600);
    let (code, page) = rejected(h.authorize(&code_request(&c, &[("state", &state)])).await);
    assert_eq!(code, "invalid_request");
    assert!(page.contains("too large"), "{page}");
    let (code, _) = rejected(authorize_post(&h, &code_request(&c, &[("state", &state)])).await);
    assert_eq!(code, "invalid_request");
}

#[tokio::test]
async fn rejected_page_does_not_echo_input() {
    let h = code_harness();
    let script = "<script>alert(1)</script>";
    let (_, page) = rejected(
        h.authorize(&q(&[
            ("response_type", "code"),
            ("client_id", script),
            ("redirect_uri", script),
            ("state", script),
        ]))
        .await,
    );
    assert!(!page.contains('<') && !page.contains("script"), "{page}");
}

#[tokio::test]
async fn client_and_redirect_uri_are_checked_before_anything_that_redirects() {
    let h = code_harness();
    let c = h.native_client().await;
    let multi = h
        .register(
            ClientRegistration::web_application()
                .redirect_uri(WEB_CB)
                .redirect_uri("https://client.example/other")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .scope("read".parse().unwrap()),
        )
        .await;

    // Unknown client, with every later check failing too.
    for bad_rest in [
        vec![("response_type", "bogus")],
        vec![("response_type", "code"), ("scope", "admin")],
        vec![("response_type", "code"), ("response_mode", "bogus")],
        vec![("response_type", "token")],
        vec![],
    ] {
        let mut pairs = vec![
            ("client_id", "unknown"),
            ("redirect_uri", "http://127.0.0.1/cb"),
            ("state", "xyz"),
        ];
        pairs.extend(bad_rest);
        assert_eq!(rejected(h.authorize(&q(&pairs)).await).0, "invalid_request");
    }

    // A known client with a bad redirect_uri: still no redirect, whatever else
    // is wrong (including PKCE and repeated parameters).
    for extra in [
        vec![("response_type", "bogus")],
        vec![("response_type", "code"), ("scope", "admin")],
        vec![
            ("response_type", "code"),
            ("scope", "read"),
            ("scope", "write"),
        ],
        vec![("response_type", "code")],
        vec![],
    ] {
        let mut pairs = vec![
            ("client_id", c.id.as_str()),
            ("redirect_uri", "https://attacker.example/cb"),
            ("state", "xyz"),
        ];
        pairs.extend(extra);
        assert_eq!(rejected(h.authorize(&q(&pairs)).await).0, "invalid_request");
    }

    // Several URIs registered, none named, bad response type: not redirected
    // either, since the server cannot know where.
    let query = q(&[
        ("response_type", "bogus"),
        ("client_id", multi.id.as_str()),
        ("state", "xyz"),
    ]);
    assert_eq!(rejected(h.authorize(&query).await).0, "invalid_request");
}

// ---------------------------------------------------------------------------
// Errors that go back to the client (RFC 6749 §4.1.2.1)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn missing_response_type_redirects_invalid_request() {
    let h = code_harness();
    let c = h.native_client().await;
    let query = q(&[
        ("client_id", c.id.as_str()),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("state", "xyz"),
    ]);
    let (response, params) = redirected(h.authorize(&query).await, "invalid_request");
    assert_query_redirect_to(&response, "http://127.0.0.1/cb");
    assert_eq!(param(&params, "state"), Some("xyz"));
}

#[tokio::test]
async fn unsupported_response_types_redirect() {
    let h = code_harness();
    let c = h.native_client().await;
    for rt in [
        "token",
        "id_token",
        "code token",
        "CODE",
        "Code",
        "code ",
        "none",
    ] {
        let query = q(&[
            ("response_type", rt),
            ("client_id", c.id.as_str()),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "xyz"),
        ]);
        let (response, params) = redirected(h.authorize(&query).await, "unsupported_response_type");
        assert_query_redirect_to(&response, "http://127.0.0.1/cb");
        assert_eq!(param(&params, "state"), Some("xyz"), "{rt}");
    }
}

#[tokio::test]
async fn client_not_registered_for_the_code_grant_is_unauthorized_client() {
    let h = code_harness();
    // A confidential client with a redirect URI but only client_credentials.
    let c = h
        .register(
            ClientRegistration::web_application()
                .redirect_uri(WEB_CB)
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .scope("read".parse().unwrap()),
        )
        .await;
    let (response, params) = redirected(
        h.authorize(&code_request(&c, &[("state", "xyz")])).await,
        "unauthorized_client",
    );
    assert_query_redirect_to(&response, WEB_CB);
    assert_eq!(param(&params, "state"), Some("xyz"));
}

#[tokio::test]
async fn invalid_scope_redirects() {
    let h = code_harness();
    let c = h.native_client().await;
    for scope in [
        "admin",
        "read admin",
        "read write admin",
        "Read",
        "read  write",
        " read",
        "read ",
        "read\"",
        "re\\ad",
        "é",
    ] {
        let (response, params) = redirected(
            h.authorize(&code_request(&c, &[("scope", scope), ("state", "xyz")]))
                .await,
            "invalid_scope",
        );
        assert_query_redirect_to(&response, "http://127.0.0.1/cb");
        assert_eq!(param(&params, "state"), Some("xyz"), "{scope:?}");
    }
    // Within the allowed scope, in any order: accepted, canonicalised.
    let p = pending(
        h.authorize(&code_request(&c, &[("scope", "write read")]))
            .await,
    );
    assert_eq!(p.scope().as_str(), "read write");
}

#[tokio::test]
async fn omitted_scope_gets_the_clients_default_scope() {
    let h = code_harness();
    let c = h
        .register(
            ClientRegistration::native()
                .redirect_uri("http://127.0.0.1/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .scope("read write".parse().unwrap())
                .default_scope("read".parse().unwrap()),
        )
        .await;
    let p = pending(h.authorize(&code_request(&c, &[])).await);
    assert_eq!(p.scope().as_str(), "read");
    let code = approve_for_code(&h, p, None).await;
    let r = h.redeem(&c, &code).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let info = h
        .server
        .access_token_info(r.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.scope.as_str(), "read");

    // Without a registered default, an omitted scope is the empty scope.
    let bare = h.native_client().await;
    let p = pending(h.authorize(&code_request(&bare, &[])).await);
    assert!(p.scope().is_empty());
}

#[tokio::test]
async fn repeated_parameters_redirect_invalid_request() {
    let h = code_harness();
    let c = h.native_client().await;
    let base = q(&[("client_id", c.id.as_str())]);
    for repeated in [
        "response_type=code&response_type=code&code_challenge=C&code_challenge_method=S256&state=xyz",
        "response_type=code&scope=read&scope=read&code_challenge=C&code_challenge_method=S256&state=xyz",
        "response_type=code&code_challenge=C&code_challenge=C&code_challenge_method=S256&state=xyz",
        "response_type=code&code_challenge=C&code_challenge_method=S256&code_challenge_method=S256&state=xyz",
        "response_type=code&response_mode=query&response_mode=query&code_challenge=C&code_challenge_method=S256&state=xyz",
    ] {
        let query = format!(
            "{base}&{}",
            repeated.replace("=C&", &format!("={CHALLENGE}&"))
        );
        let (_, params) = redirected(h.authorize(&query).await, "invalid_request");
        assert_eq!(param(&params, "state"), Some("xyz"), "{repeated}");
    }
    // A repeated state: which one to echo is unknowable, so none is.
    let query = format!("{}&state=a&state=b", code_request(&c, &[]));
    let (_, params) = redirected(h.authorize(&query).await, "invalid_request");
    assert_eq!(param(&params, "state"), None);
}

#[tokio::test]
async fn unsupported_response_mode_redirects_invalid_request() {
    let h = code_harness();
    let c = h.native_client().await;
    for mode in ["web_message", "Query", "jwt", "query.jwt"] {
        let (response, params) = redirected(
            h.authorize(&code_request(
                &c,
                &[("response_mode", mode), ("state", "xyz")],
            ))
            .await,
            "invalid_request",
        );
        assert_query_redirect_to(&response, "http://127.0.0.1/cb");
        assert_eq!(param(&params, "state"), Some("xyz"));
    }
}

#[tokio::test]
async fn state_up_to_1024_bytes_is_accepted_and_longer_refused() {
    let h = code_harness();
    let c = h.native_client().await;
    // 1024 bytes exactly (multi-byte characters count in bytes).
    let max = format!("{}{}", "é".repeat(500), "s".repeat(24));
    assert_eq!(max.len(), 1024);
    let p = pending(h.authorize(&code_request(&c, &[("state", &max)])).await);
    let response = h.server.approve(p, "alice", None).await.unwrap();
    assert_eq!(
        param(&redirect_params(&response), "state"),
        Some(max.as_str())
    );

    let long = format!("{max}x");
    let (_, params) = redirected(
        h.authorize(&code_request(&c, &[("state", &long)])).await,
        "invalid_request",
    );
    // The over-long value is not reflected.
    assert_eq!(param(&params, "state"), None);
}

#[tokio::test]
async fn redirect_errors_echo_state_exactly() {
    let h = code_harness();
    let c = h.native_client().await;
    let (_, params) = redirected(
        h.authorize(&code_request(
            &c,
            &[("scope", "admin"), ("state", AWKWARD_STATE)],
        ))
        .await,
        "invalid_scope",
    );
    assert_eq!(param(&params, "state"), Some(AWKWARD_STATE));
    // Exactly one state, one iss, one error.
    for name in ["state", "iss", "error"] {
        assert_eq!(
            params.iter().filter(|(n, _)| n == name).count(),
            1,
            "{name}"
        );
    }
}

#[tokio::test]
async fn redirect_error_without_state_has_no_state() {
    let h = code_harness();
    let c = h.native_client().await;
    let (_, params) = redirected(
        h.authorize(&code_request(&c, &[("scope", "admin")])).await,
        "invalid_scope",
    );
    assert_eq!(param(&params, "state"), None);
    // An empty state counts as omitted (RFC 6749 §3.1).
    let (_, params) = redirected(
        h.authorize(&code_request(&c, &[("scope", "admin"), ("state", "")]))
            .await,
        "invalid_scope",
    );
    assert_eq!(param(&params, "state"), None);
}

#[tokio::test]
async fn redirects_keep_the_registered_query() {
    let h = code_harness();
    let uri = "https://client.example/cb?tenant=a%20b&x=1";
    let c = h
        .register(
            ClientRegistration::web_application()
                .redirect_uri(uri)
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .scope("read".parse().unwrap()),
        )
        .await;
    let (response, params) = redirected(
        h.authorize(&code_request(&c, &[("scope", "admin"), ("state", "s")]))
            .await,
        "invalid_scope",
    );
    let raw = response.headers()["location"].to_str().unwrap();
    assert!(raw.starts_with(&format!("{uri}&")), "{raw}");
    assert_eq!(param(&params, "tenant"), Some("a b"));
    assert_eq!(param(&params, "x"), Some("1"));

    let p = pending(
        h.authorize(&code_request(&c, &[("redirect_uri", uri), ("state", "s")]))
            .await,
    );
    let response = h.server.approve(p, "alice", None).await.unwrap();
    let raw = response.headers()["location"].to_str().unwrap();
    assert!(raw.starts_with(&format!("{uri}&code=")), "{raw}");
    let params = redirect_params(&response);
    assert_eq!(param(&params, "tenant"), Some("a b"));
    assert_eq!(param(&params, "state"), Some("s"));
}

// ---------------------------------------------------------------------------
// Redirect URIs (RFC 6749 §3.1.2; RFC 8252 §7.3)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn loopback_redirect_matches_any_port() {
    let h = code_harness();
    let c = h.native_client().await; // registered http://127.0.0.1/cb
    for uri in [
        "http://127.0.0.1:51234/cb",
        "http://127.0.0.1:1/cb",
        "http://127.0.0.1:65535/cb",
        "http://127.0.0.1/cb",
    ] {
        let p = pending(
            h.authorize(&code_request(&c, &[("redirect_uri", uri), ("state", "s")]))
                .await,
        );
        assert_eq!(p.redirect_uri(), uri);
        let response = h.server.approve(p, "alice", None).await.unwrap();
        assert_query_redirect_to(&response, uri);
        let code = param(&redirect_params(&response), "code")
            .unwrap()
            .to_owned();
        let r = redeem_with_redirect(&h, &c, &code, uri).await;
        assert_eq!(r.status, 200, "{uri}: {:?}", r.json);
    }

    // The code is bound to the port that was used.
    let uri = "http://127.0.0.1:51234/cb";
    let p = pending(
        h.authorize(&code_request(&c, &[("redirect_uri", uri)]))
            .await,
    );
    let code = approve_for_code(&h, p, None).await;
    redeem_with_redirect(&h, &c, &code, "http://127.0.0.1:4444/cb")
        .await
        .assert_error(400, "invalid_grant");

    // The request named a redirect_uri, so the token request must too.
    let p = pending(
        h.authorize(&code_request(&c, &[("redirect_uri", uri)]))
            .await,
    );
    let code = approve_for_code(&h, p, None).await;
    h.redeem(&c, &code).await.assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn loopback_ipv6_matches_any_port() {
    let h = code_harness();
    let c = h
        .register(
            ClientRegistration::native()
                .redirect_uri("http://[::1]/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .scope("read".parse().unwrap()),
        )
        .await;
    let uri = "http://[::1]:8765/cb";
    let p = pending(
        h.authorize(&code_request(&c, &[("redirect_uri", uri)]))
            .await,
    );
    let response = h.server.approve(p, "alice", None).await.unwrap();
    assert_query_redirect_to(&response, uri);

    for other in [
        "http://127.0.0.1:8765/cb",
        "http://[::2]:8765/cb",
        "http://[::1]:8765/cb2",
    ] {
        let outcome = h
            .authorize(&code_request(&c, &[("redirect_uri", other)]))
            .await;
        assert_eq!(rejected(outcome).0, "invalid_request", "{other}");
    }
}

#[tokio::test]
async fn loopback_port_does_not_relax_anything_else() {
    let h = code_harness();
    let c = h.native_client().await; // registered http://127.0.0.1/cb
    for uri in [
        "http://127.0.0.1:51234/cb2",
        "http://127.0.0.1:51234/",
        "http://127.0.0.1:51234/cb/",
        "http://127.0.0.1:51234/cb?x=1",
        "http://127.0.0.1:51234/cb#f",
        "http://localhost:51234/cb",
        "http://localhost/cb",
        "https://127.0.0.1:51234/cb",
        "https://127.0.0.1/cb",
        "http://127.0.0.2:51234/cb",
        "http://[::1]:51234/cb",
        "http://u@127.0.0.1:51234/cb",
        "http://u:p@127.0.0.1:51234/cb",
        "http://127.0.0.1.attacker.example:51234/cb",
        "http://attacker.example:51234/cb",
    ] {
        let outcome = h
            .authorize(&code_request(&c, &[("redirect_uri", uri), ("state", "s")]))
            .await;
        assert_eq!(rejected(outcome).0, "invalid_request", "{uri}");
    }
}

#[tokio::test]
async fn only_loopback_redirects_get_port_flexibility() {
    let h = code_harness();
    // A web client's https redirect: the port must match exactly.
    let web = h
        .register(
            ClientRegistration::web_application()
                .redirect_uri("https://client.example:8443/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE),
        )
        .await;
    for uri in [
        "https://client.example:8444/cb",
        "https://client.example/cb",
    ] {
        let outcome = h
            .authorize(&code_request(&web, &[("redirect_uri", uri)]))
            .await;
        assert_eq!(rejected(outcome).0, "invalid_request", "{uri}");
    }
    pending(
        h.authorize(&code_request(
            &web,
            &[("redirect_uri", "https://client.example:8443/cb")],
        ))
        .await,
    );

    // A native app's https or private-use redirect: exact too.
    let app = h
        .register(
            ClientRegistration::native()
                .redirect_uri("com.example.app:/oauth2redirect")
                .redirect_uri("https://app.example/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE),
        )
        .await;
    for uri in [
        "com.example.app:/oauth2redirect/x",
        "com.example.app://oauth2redirect",
        "https://app.example:8443/cb",
    ] {
        let outcome = h
            .authorize(&code_request(&app, &[("redirect_uri", uri)]))
            .await;
        assert_eq!(rejected(outcome).0, "invalid_request", "{uri}");
    }
    let p = pending(
        h.authorize(&code_request(
            &app,
            &[
                ("redirect_uri", "com.example.app:/oauth2redirect"),
                ("state", "s"),
            ],
        ))
        .await,
    );
    let response = h.server.approve(p, "alice", None).await.unwrap();
    assert_see_other(&response);
    let raw = response.headers()["location"].to_str().unwrap();
    assert!(
        raw.starts_with("com.example.app:/oauth2redirect?code="),
        "{raw}"
    );
}

#[tokio::test]
async fn the_only_registered_redirect_uri_is_the_default() {
    let h = code_harness();
    let c = h.native_client().await;
    let p = pending(h.authorize(&code_request(&c, &[("state", "s")])).await);
    assert_eq!(p.redirect_uri(), "http://127.0.0.1/cb");
    let response = h.server.approve(p, "alice", None).await.unwrap();
    assert_query_redirect_to(&response, "http://127.0.0.1/cb");
    // The request had no redirect_uri, so the token request needs none.
    let code = param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned();
    let r = h.redeem(&c, &code).await;
    assert_eq!(r.status, 200, "{:?}", r.json);

    // An empty redirect_uri is an omitted one.
    let p = pending(
        h.authorize(&code_request(&c, &[("redirect_uri", "")]))
            .await,
    );
    assert_eq!(p.redirect_uri(), "http://127.0.0.1/cb");

    // Errors go to the default too.
    let (response, _) = redirected(
        h.authorize(&code_request(&c, &[("scope", "admin")])).await,
        "invalid_scope",
    );
    assert_query_redirect_to(&response, "http://127.0.0.1/cb");
}

// ---------------------------------------------------------------------------
// POST authorization requests (RFC 6749 §3.1)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn post_form_authorization_request() {
    let h = code_harness();
    let c = h.native_client().await;
    let body = code_request(
        &c,
        &[
            ("redirect_uri", "http://127.0.0.1:9000/cb"),
            ("scope", "read"),
            ("state", AWKWARD_STATE),
        ],
    );
    let p = pending(authorize_post(&h, &body).await);
    assert_eq!(p.client().id().as_str(), c.id);
    assert_eq!(p.scope().as_str(), "read");
    assert_eq!(p.redirect_uri(), "http://127.0.0.1:9000/cb");
    let response = h.server.approve(p, "alice", None).await.unwrap();
    assert_query_redirect_to(&response, "http://127.0.0.1:9000/cb");
    let params = redirect_params(&response);
    assert_eq!(param(&params, "state"), Some(AWKWARD_STATE));
    assert_eq!(param(&params, "iss"), Some(ISS));
    let code = param(&params, "code").unwrap();
    let r = redeem_with_redirect(&h, &c, code, "http://127.0.0.1:9000/cb").await;
    assert_eq!(r.status, 200, "{:?}", r.json);
}

#[tokio::test]
async fn post_requests_follow_the_same_rules() {
    let h = code_harness();
    let c = h.native_client().await;
    // Unknown client: rejected.
    let body = q(&[
        ("response_type", "code"),
        ("client_id", "nope"),
        ("state", "s"),
    ]);
    assert_eq!(
        rejected(authorize_post(&h, &body).await).0,
        "invalid_request"
    );
    // Unregistered redirect URI: rejected.
    let body = code_request(&c, &[("redirect_uri", "https://attacker.example/cb")]);
    assert_eq!(
        rejected(authorize_post(&h, &body).await).0,
        "invalid_request"
    );
    // Malformed body: rejected.
    assert_eq!(
        rejected(authorize_post(&h, &format!("{}&x=%zz", code_request(&c, &[]))).await).0,
        "invalid_request"
    );
    // Bad scope: redirected with state and iss.
    let body = code_request(&c, &[("scope", "admin"), ("state", "s")]);
    let (_, params) = redirected(authorize_post(&h, &body).await, "invalid_scope");
    assert_eq!(param(&params, "state"), Some("s"));
    // Repeated parameter: redirected.
    let body = format!("{}&scope=read&scope=write", code_request(&c, &[]));
    redirected(authorize_post(&h, &body).await, "invalid_request");
}

// ---------------------------------------------------------------------------
// Response modes
// ---------------------------------------------------------------------------

#[tokio::test]
async fn fragment_response_mode_for_code() {
    let h = code_harness();
    let c = h.native_client().await;
    let p = pending(
        h.authorize(&code_request(
            &c,
            &[("response_mode", "fragment"), ("state", AWKWARD_STATE)],
        ))
        .await,
    );
    let response = h.server.approve(p, "alice", None).await.unwrap();
    assert_see_other(&response);
    let url = location(&response);
    assert_eq!(url.query(), None);
    assert!(url.fragment().is_some());
    assert_eq!(
        &url.as_str()[..url.as_str().find('#').unwrap()],
        "http://127.0.0.1/cb"
    );
    let params = redirect_params(&response);
    assert_eq!(param(&params, "state"), Some(AWKWARD_STATE));
    assert_eq!(param(&params, "iss"), Some(ISS));
    let code = param(&params, "code").unwrap();
    assert_eq!(h.redeem(&c, code).await.status, 200);

    // Errors after the mode is known use it too.
    let (response, _) = redirected(
        h.authorize(&code_request(
            &c,
            &[("response_mode", "fragment"), ("scope", "admin")],
        ))
        .await,
        "invalid_scope",
    );
    assert!(location(&response).fragment().is_some());
    assert_eq!(location(&response).query(), None);
}

#[tokio::test]
async fn form_post_response_mode_escapes_everything() {
    let h = code_harness();
    let uri = "https://client.example/cb?a=1&b=2";
    let c = h
        .register(
            ClientRegistration::web_application()
                .redirect_uri(uri)
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .scope("read".parse().unwrap()),
        )
        .await;
    let state = "\"><script>alert(1)</script><img src=x onerror=alert(2)>&amp;'";
    let p = pending(
        h.authorize(&code_request(
            &c,
            &[("response_mode", "form_post"), ("state", state)],
        ))
        .await,
    );
    let response = h.server.approve(p, "alice", None).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("location").is_none());
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'sha256-"), "{csp}");

    let body = String::from_utf8(response.body().clone()).unwrap();
    // No raw user input: the only script is the auto-submit.
    assert!(!body.contains("<script>alert"), "{body}");
    assert!(!body.contains("<img"), "{body}");
    assert_eq!(body.matches("<script>").count(), 1);
    assert!(body.contains("&quot;&gt;&lt;script&gt;"), "{body}");
    assert!(body.contains("method=\"post\""));
    assert_eq!(form_post_action(&body), uri);

    let fields = form_post_fields(&body);
    assert_eq!(param(&fields, "state"), Some(state));
    assert_eq!(param(&fields, "iss"), Some(ISS));
    let code = param(&fields, "code").unwrap();
    assert!(code.starts_with("pc_ac_"));
    // The code is good at the token endpoint.
    let r = h
        .post(token_request(
            Some(&basic(&c.id, &c.secret)),
            &format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}"),
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
}

#[tokio::test]
async fn form_post_carries_errors_and_denials() {
    let h = code_harness();
    let c = h.native_client().await;
    let err = h
        .authorize(&code_request(
            &c,
            &[
                ("response_mode", "form_post"),
                ("scope", "admin"),
                ("state", "<s>"),
            ],
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthorizationError::Redirect { .. }));
    assert_eq!(err.error().unwrap().code().as_str(), "invalid_scope");
    let response = err.into_http();
    assert_eq!(response.status(), 200);
    let body = String::from_utf8(response.body().clone()).unwrap();
    assert_eq!(form_post_action(&body), "http://127.0.0.1/cb");
    let fields = form_post_fields(&body);
    assert_eq!(param(&fields, "error"), Some("invalid_scope"));
    assert_eq!(param(&fields, "state"), Some("<s>"));
    assert_eq!(param(&fields, "iss"), Some(ISS));
    assert!(!body.contains("<s>"));

    let p = pending(
        h.authorize(&code_request(
            &c,
            &[("response_mode", "form_post"), ("state", "xyz")],
        ))
        .await,
    );
    let response = h.server.deny(p).await.unwrap();
    assert_eq!(response.status(), 200);
    let fields = form_post_fields(std::str::from_utf8(response.body()).unwrap());
    assert_eq!(param(&fields, "error"), Some("access_denied"));
    assert_eq!(param(&fields, "state"), Some("xyz"));
    assert_eq!(param(&fields, "iss"), Some(ISS));
    assert_eq!(param(&fields, "code"), None);
}

#[tokio::test]
async fn explicit_query_response_mode_for_code() {
    let h = code_harness();
    let c = h.native_client().await;
    let p = pending(
        h.authorize(&code_request(&c, &[("response_mode", "query")]))
            .await,
    );
    let response = h.server.approve(p, "alice", None).await.unwrap();
    assert_query_redirect_to(&response, "http://127.0.0.1/cb");
}

// ---------------------------------------------------------------------------
// The decision
// ---------------------------------------------------------------------------

#[tokio::test]
async fn approve_delivers_code_state_and_iss() {
    let h = code_harness();
    let c = h.native_client().await;
    let p = pending(
        h.authorize(&code_request(
            &c,
            &[("scope", "read write"), ("state", AWKWARD_STATE)],
        ))
        .await,
    );
    let response = h.server.approve(p, "alice", None).await.unwrap();
    assert_see_other(&response);
    assert!(response.body().is_empty());
    assert_query_redirect_to(&response, "http://127.0.0.1/cb");
    let params = redirect_params(&response);
    let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["code", "state", "iss"]);
    assert_eq!(param(&params, "state"), Some(AWKWARD_STATE));
    assert_eq!(param(&params, "iss"), Some(ISS));
    let code = param(&params, "code").unwrap();
    assert!(code.starts_with("pc_ac_"), "{code}");

    let r = h.redeem(&c, code).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let info = h
        .server
        .access_token_info(r.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.subject.unwrap().as_str(), "alice");
    assert_eq!(info.client_id.as_str(), c.id);
    assert_eq!(info.scope.as_str(), "read write");
}

#[tokio::test]
async fn approve_with_a_narrower_scope() {
    let h = code_harness();
    let c = h.native_client().await;
    let p = pending(
        h.authorize(&code_request(&c, &[("scope", "read write")]))
            .await,
    );
    let code = approve_for_code(&h, p, Some("read".parse().unwrap())).await;
    let r = h.redeem(&c, &code).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let info = h
        .server
        .access_token_info(r.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.scope.as_str(), "read");

    // Granting nothing at all is a narrowing too.
    let p = pending(
        h.authorize(&code_request(&c, &[("scope", "read write")]))
            .await,
    );
    let code = approve_for_code(&h, p, Some(Scope::empty())).await;
    let r = h.redeem(&c, &code).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let info = h
        .server
        .access_token_info(r.access_token())
        .await
        .unwrap()
        .unwrap();
    assert!(info.scope.is_empty());
}

#[tokio::test]
async fn approve_with_a_scope_not_requested_is_refused() {
    let h = code_harness();
    let c = h.native_client().await;
    for granted in ["read write", "write", "admin"] {
        let mut p = pending(h.authorize(&code_request(&c, &[("scope", "read")])).await);
        let id = defer(&h, &mut p).await;
        let result = h
            .server
            .approve(p, "alice", Some(granted.parse().unwrap()))
            .await;
        assert!(
            matches!(result, Err(DecisionError::ScopeNotRequested)),
            "{granted}: {result:?}"
        );
        // The refused decision changed nothing: the request is still
        // pending, and the host can decide it properly.
        let again = h.server.pending_authorization(&id).await.unwrap().unwrap();
        let decided = h.server.approve(again, "alice", None).await.unwrap();
        assert_see_other(&decided);
        assert!(h.server.pending_authorization(&id).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn approve_twice_is_refused() {
    let h = code_harness();
    let c = h.native_client().await;
    let mut p = pending(h.authorize(&code_request(&c, &[("state", "s")])).await);
    let id = defer(&h, &mut p).await;
    let again = h.server.pending_authorization(&id).await.unwrap().unwrap();
    let first = h.server.approve(p, "alice", None).await.unwrap();
    assert_see_other(&first);
    let second = h.server.approve(again, "mallory", None).await;
    assert!(
        matches!(second, Err(DecisionError::NotPending)),
        "{second:?}"
    );
}

#[tokio::test]
async fn a_deferred_request_decided_in_hand_is_taken_from_the_store() {
    let h = code_harness();
    let c = h.native_client().await;
    let mut p = pending(h.authorize(&code_request(&c, &[("state", "s")])).await);
    let id = defer(&h, &mut p).await;
    let resumed = h.server.pending_authorization(&id).await.unwrap().unwrap();
    // The host still holds the request it deferred, and decides it.
    let response = h.server.approve(p, "alice", None).await.unwrap();
    assert_see_other(&response);
    assert_eq!(param(&redirect_params(&response), "state"), Some("s"));
    // The stored request went with that decision: the consent form's copy
    // can no longer be decided.
    assert!(h.server.pending_authorization(&id).await.unwrap().is_none());
    let second = h.server.deny(resumed).await;
    assert!(
        matches!(second, Err(DecisionError::NotPending)),
        "{second:?}"
    );
}

#[tokio::test]
async fn concurrent_decisions_apply_once() {
    let h = code_harness();
    let c = h.native_client().await;
    for _ in 0..20 {
        let mut p = pending(h.authorize(&code_request(&c, &[])).await);
        let id = defer(&h, &mut p).await;
        let a = h.server.pending_authorization(&id).await.unwrap().unwrap();
        let b = h.server.pending_authorization(&id).await.unwrap().unwrap();
        let (s1, s2, s3) = (h.server.clone(), h.server.clone(), h.server.clone());
        let (r1, r2, r3) = tokio::join!(
            tokio::spawn(async move { s1.approve(p, "alice", None).await.is_ok() }),
            tokio::spawn(async move { s2.approve(a, "alice", None).await.is_ok() }),
            tokio::spawn(async move { s3.deny(b).await.is_ok() }),
        );
        let wins = [r1.unwrap(), r2.unwrap(), r3.unwrap()]
            .iter()
            .filter(|ok| **ok)
            .count();
        assert_eq!(wins, 1);
    }
}

#[tokio::test]
async fn deny_sends_access_denied_with_state_and_iss() {
    let h = code_harness();
    let c = h.native_client().await;
    let mut p = pending(
        h.authorize(&code_request(
            &c,
            &[
                ("redirect_uri", "http://127.0.0.1:7777/cb"),
                ("state", AWKWARD_STATE),
            ],
        ))
        .await,
    );
    let id = defer(&h, &mut p).await;
    let again = h.server.pending_authorization(&id).await.unwrap().unwrap();
    let response = h.server.deny(p).await.unwrap();
    assert_see_other(&response);
    assert_query_redirect_to(&response, "http://127.0.0.1:7777/cb");
    let params = redirect_params(&response);
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert!(param(&params, "error_description").is_some());
    assert_eq!(param(&params, "state"), Some(AWKWARD_STATE));
    assert_eq!(param(&params, "iss"), Some(ISS));
    assert_eq!(param(&params, "code"), None);

    // A denied request cannot then be approved, or denied again.
    let approve = h.server.approve(again, "alice", None).await;
    assert!(
        matches!(approve, Err(DecisionError::NotPending)),
        "{approve:?}"
    );
    let mut p = pending(h.authorize(&code_request(&c, &[])).await);
    let id = defer(&h, &mut p).await;
    let again = h.server.pending_authorization(&id).await.unwrap().unwrap();
    h.server.deny(p).await.unwrap();
    assert!(matches!(
        h.server.deny(again).await,
        Err(DecisionError::NotPending)
    ));
}

#[tokio::test]
async fn deny_without_state_has_no_state() {
    let h = code_harness();
    let c = h.native_client().await;
    let p = pending(h.authorize(&code_request(&c, &[])).await);
    let params = redirect_params(&h.server.deny(p).await.unwrap());
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert_eq!(param(&params, "state"), None);
    assert_eq!(param(&params, "iss"), Some(ISS));
}

#[tokio::test]
async fn expired_pending_request_cannot_be_decided() {
    let h = code_harness();
    let c = h.native_client().await;
    let mut p = pending(h.authorize(&code_request(&c, &[("state", "s")])).await);
    assert_eq!(p.expires_at(), start() + Duration::from_secs(600));
    let id = defer(&h, &mut p).await;

    h.clock.advance(Duration::from_secs(599));
    assert!(h.server.pending_authorization(&id).await.unwrap().is_some());

    h.clock.advance(Duration::from_secs(2)); // 601 s
    assert!(h.server.pending_authorization(&id).await.unwrap().is_none());
    let result = h.server.approve(p, "alice", None).await;
    assert!(
        matches!(result, Err(DecisionError::NotPending)),
        "{result:?}"
    );

    // Nor can one still in hand.
    let p = pending(h.authorize(&code_request(&c, &[])).await);
    h.clock.advance(Duration::from_secs(601));
    let result = h.server.deny(p).await;
    assert!(
        matches!(result, Err(DecisionError::NotPending)),
        "{result:?}"
    );
}

#[tokio::test]
async fn expiry_is_exactly_ten_minutes() {
    let h = code_harness();
    let c = h.native_client().await;
    let mut p = pending(h.authorize(&code_request(&c, &[])).await);
    let id = defer(&h, &mut p).await;
    h.clock.advance(Duration::from_secs(600));
    assert!(h.server.pending_authorization(&id).await.unwrap().is_none());
    assert!(matches!(
        h.server.approve(p, "alice", None).await,
        Err(DecisionError::NotPending)
    ));
}

#[tokio::test]
async fn pending_authorization_round_trip() {
    let h = code_harness();
    let c = h.native_client().await;
    let mut p = pending(
        h.authorize(&code_request(
            &c,
            &[
                ("scope", "write"),
                ("redirect_uri", "http://127.0.0.1:3000/cb"),
                ("state", "s"),
                ("response_mode", "fragment"),
            ],
        ))
        .await,
    );
    // Nothing is stored, and there is no handle, until the request is
    // deferred; deferring again keeps the handle.
    assert_eq!(p.id(), None);
    let id = defer(&h, &mut p).await;
    assert_eq!(p.id(), Some(id.as_str()));
    assert_eq!(defer(&h, &mut p).await, id);
    assert!(id.starts_with("pc_ar_"), "{id}");
    assert!(id.len() >= 6 + 43);
    assert_eq!(p.client().id().as_str(), c.id);
    assert_eq!(p.scope().as_str(), "write");
    assert_eq!(p.response_type(), ResponseType::Code);
    assert_eq!(p.redirect_uri(), "http://127.0.0.1:3000/cb");
    assert_eq!(p.expires_at(), start() + Duration::from_secs(600));
    // Debug output names no handle.
    assert!(!format!("{p:?}").contains(&id));

    let back = h.server.pending_authorization(&id).await.unwrap().unwrap();
    assert_eq!(back.id(), p.id());
    assert_eq!(back.client().id(), p.client().id());
    assert_eq!(back.scope(), p.scope());
    assert_eq!(back.response_type(), p.response_type());
    assert_eq!(back.redirect_uri(), p.redirect_uri());
    assert_eq!(back.expires_at(), p.expires_at());

    // Looking it up does not consume it; the reloaded one is as good; its
    // state and response mode came from the store.
    assert!(h.server.pending_authorization(&id).await.unwrap().is_some());
    drop(p);
    let response = h.server.approve(back, "alice", None).await.unwrap();
    let params = redirect_params(&response);
    assert!(location(&response).fragment().is_some());
    assert_eq!(param(&params, "state"), Some("s"));

    // Every request gets its own handle.
    let mut a = pending(h.authorize(&code_request(&c, &[])).await);
    let mut b = pending(h.authorize(&code_request(&c, &[])).await);
    assert_ne!(defer(&h, &mut a).await, defer(&h, &mut b).await);
}

#[tokio::test]
async fn pending_authorization_unknown_ids_are_none() {
    let h = code_harness();
    let c = h.native_client().await;
    let mut p = pending(h.authorize(&code_request(&c, &[])).await);
    let id = defer(&h, &mut p).await;
    let mut tampered = id.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let code_like = id.replacen("pc_ar_", "pc_ac_", 1);
    for unknown in [
        "",
        "pc_ar_",
        "garbage",
        "pc_ar_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        tampered.as_str(),
        code_like.as_str(),
        &id[..id.len() - 1],
        &format!("{id}x"),
        &format!(" {id}"),
        "pc_ar_\u{0}\u{1}<script>",
    ] {
        assert!(
            h.server
                .pending_authorization(unknown)
                .await
                .unwrap()
                .is_none(),
            "{unknown:?}"
        );
    }
    // Once decided, the id is gone.
    assert!(h.server.pending_authorization(&id).await.unwrap().is_some());
    h.server.approve(p, "alice", None).await.unwrap();
    assert!(h.server.pending_authorization(&id).await.unwrap().is_none());
}

// ---------------------------------------------------------------------------
// PKCE (RFC 7636; RFC 9700 §2.1.1)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn pkce_s256_is_accepted_and_checked_at_redemption() {
    let h = code_harness();
    let c = h.native_client().await;
    let p = pending(h.authorize(&code_request(&c, &[])).await);
    let code = approve_for_code(&h, p, None).await;
    // Wrong verifier.
    let wrong = VERIFIER.replace('d', "e");
    h.post(token_request(
        None,
        &format!(
            "grant_type=authorization_code&code={code}&client_id={}&code_verifier={wrong}",
            c.id
        ),
    ))
    .await
    .assert_error(400, "invalid_grant");

    let p = pending(h.authorize(&code_request(&c, &[])).await);
    let code = approve_for_code(&h, p, None).await;
    // No verifier.
    h.post(token_request(
        None,
        &format!(
            "grant_type=authorization_code&code={code}&client_id={}",
            c.id
        ),
    ))
    .await
    .assert_error(400, "invalid_grant");

    let p = pending(h.authorize(&code_request(&c, &[])).await);
    let code = approve_for_code(&h, p, None).await;
    assert_eq!(h.redeem(&c, &code).await.status, 200);
}

#[tokio::test]
async fn pkce_plain_is_refused_by_default() {
    let h = code_harness();
    let c = h.native_client().await;
    for method in [Some("plain"), None] {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", c.id.as_str()),
            ("code_challenge", VERIFIER),
            ("state", "xyz"),
        ];
        pairs.extend(method.map(|m| ("code_challenge_method", m)));
        let (_, params) = redirected(h.authorize(&q(&pairs)).await, "invalid_request");
        assert_eq!(param(&params, "state"), Some("xyz"));
        assert!(
            param(&params, "error_description")
                .unwrap()
                .contains("S256"),
            "{params:?}"
        );
    }
}

#[tokio::test]
async fn pkce_plain_is_allowed_with_the_opt_in() {
    let h = harness_with(|b| b.grant(AuthorizationCodeGrant).allow_plain_pkce());
    let c = h.native_client().await;
    for method in [Some("plain"), None] {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", c.id.as_str()),
            ("code_challenge", VERIFIER),
        ];
        pairs.extend(method.map(|m| ("code_challenge_method", m)));
        let p = pending(h.authorize(&q(&pairs)).await);
        let code = approve_for_code(&h, p, None).await;
        let r = h.redeem(&c, &code).await;
        assert_eq!(r.status, 200, "{method:?}: {:?}", r.json);
    }
    // The verifier must equal the plain challenge.
    let p = pending(
        h.authorize(&q(&[
            ("response_type", "code"),
            ("client_id", c.id.as_str()),
            ("code_challenge", VERIFIER),
            ("code_challenge_method", "plain"),
        ]))
        .await,
    );
    let code = approve_for_code(&h, p, None).await;
    let other = format!("{VERIFIER}x");
    h.post(token_request(
        None,
        &format!(
            "grant_type=authorization_code&code={code}&client_id={}&code_verifier={other}",
            c.id
        ),
    ))
    .await
    .assert_error(400, "invalid_grant");
    // S256 still works.
    let p = pending(h.authorize(&code_request(&c, &[])).await);
    let code = approve_for_code(&h, p, None).await;
    assert_eq!(h.redeem(&c, &code).await.status, 200);
    // A plain challenge must still look like a verifier (43 to 128 unreserved).
    let short = &VERIFIER[..42];
    redirected(
        h.authorize(&q(&[
            ("response_type", "code"),
            ("client_id", c.id.as_str()),
            ("code_challenge", short),
            ("code_challenge_method", "plain"),
        ]))
        .await,
        "invalid_request",
    );
}

#[tokio::test]
async fn pkce_malformed_challenge_or_method_is_refused() {
    let h = code_harness();
    let c = h.native_client().await;
    let padded = format!("{}=", &CHALLENGE[..42]);
    let too_long = format!("{CHALLENGE}A");
    let plus = CHALLENGE.replace('-', "+");
    let slash = CHALLENGE.replace('-', "/");
    for (challenge, method) in [
        (&CHALLENGE[..42], "S256"),
        (too_long.as_str(), "S256"),
        (padded.as_str(), "S256"),
        (plus.as_str(), "S256"),
        (slash.as_str(), "S256"),
        (CHALLENGE, "s256"),
        (CHALLENGE, "SHA256"),
        (CHALLENGE, "S512"),
    ] {
        let (_, params) = redirected(
            h.authorize(&q(&[
                ("response_type", "code"),
                ("client_id", c.id.as_str()),
                ("code_challenge", challenge),
                ("code_challenge_method", method),
                ("state", "xyz"),
            ]))
            .await,
            "invalid_request",
        );
        assert_eq!(param(&params, "state"), Some("xyz"), "{challenge} {method}");
    }
}

#[tokio::test]
async fn pkce_is_required_for_public_clients_even_with_the_confidential_opt_in() {
    for h in [
        code_harness(),
        harness_with(|b| {
            b.grant(AuthorizationCodeGrant)
                .pkce_optional_for_confidential_clients()
        }),
    ] {
        let c = h.native_client().await;
        let query = q(&[
            ("response_type", "code"),
            ("client_id", c.id.as_str()),
            ("state", "xyz"),
        ]);
        let (_, params) = redirected(h.authorize(&query).await, "invalid_request");
        assert_eq!(param(&params, "state"), Some("xyz"));
        // A method without a challenge is no better.
        let query = format!("{query}&code_challenge_method=S256");
        redirected(h.authorize(&query).await, "invalid_request");
    }
}

#[tokio::test]
async fn pkce_is_required_for_confidential_clients_by_default() {
    let h = code_harness();
    let c = web_client(&h).await;
    let query = q(&[
        ("response_type", "code"),
        ("client_id", c.id.as_str()),
        ("state", "xyz"),
    ]);
    let (response, params) = redirected(h.authorize(&query).await, "invalid_request");
    assert_query_redirect_to(&response, WEB_CB);
    assert_eq!(param(&params, "state"), Some("xyz"));
}

#[tokio::test]
async fn pkce_is_optional_for_confidential_clients_with_the_opt_in() {
    let h = harness_with(|b| {
        b.grant(AuthorizationCodeGrant)
            .pkce_optional_for_confidential_clients()
    });
    let c = web_client(&h).await;
    let query = q(&[
        ("response_type", "code"),
        ("client_id", c.id.as_str()),
        ("state", "xyz"),
    ]);
    let p = pending(h.authorize(&query).await);
    let code = approve_for_code(&h, p, None).await;
    let r = h
        .post(token_request(
            Some(&basic(&c.id, &c.secret)),
            &format!("grant_type=authorization_code&code={code}"),
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);

    // A verifier for a code issued without a challenge is a downgrade attempt.
    let p = pending(h.authorize(&query).await);
    let code = approve_for_code(&h, p, None).await;
    h.post(token_request(
        Some(&basic(&c.id, &c.secret)),
        &format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}"),
    ))
    .await
    .assert_error(400, "invalid_grant");

    // A challenge, if sent, is still validated and enforced.
    let p = pending(h.authorize(&code_request(&c, &[])).await);
    let code = approve_for_code(&h, p, None).await;
    h.post(token_request(
        Some(&basic(&c.id, &c.secret)),
        &format!("grant_type=authorization_code&code={code}"),
    ))
    .await
    .assert_error(400, "invalid_grant");
    redirected(
        h.authorize(&q(&[
            ("response_type", "code"),
            ("client_id", c.id.as_str()),
            ("code_challenge", VERIFIER),
            ("code_challenge_method", "plain"),
        ]))
        .await,
        "invalid_request",
    );
}

// ---------------------------------------------------------------------------
// The implicit grant (RFC 6749 §4.2), opt-in
// ---------------------------------------------------------------------------

fn implicit_harness() -> Harness {
    harness_with(|b| {
        b.grant(AuthorizationCodeGrant)
            .grant(portcullis::grant::RefreshTokenGrant)
            .enable_implicit_grant()
    })
}

fn token_request_query(client: &TestClient, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("response_type", "token"),
        ("client_id", client.id.as_str()),
    ];
    pairs.extend_from_slice(extra);
    q(&pairs)
}

#[tokio::test]
async fn implicit_is_unsupported_without_the_server_opt_in() {
    let h = code_harness();
    let c = spa_client(&h).await;
    let (response, params) = redirected(
        h.authorize(&token_request_query(&c, &[("state", "xyz")]))
            .await,
        "unsupported_response_type",
    );
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(SPA_CB)
    );
    assert_eq!(param(&params, "state"), Some("xyz"));
}

#[tokio::test]
async fn implicit_needs_the_client_registered_for_it() {
    let h = implicit_harness();
    let c = h
        .register(
            ClientRegistration::user_agent_based()
                .redirect_uri(SPA_CB)
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .scope("read".parse().unwrap()),
        )
        .await;
    let (response, params) = redirected(
        h.authorize(&token_request_query(&c, &[("state", "xyz")]))
            .await,
        "unauthorized_client",
    );
    // RFC 6749 §4.2.2.1: implicit errors go in the fragment.
    assert!(location(&response).fragment().is_some());
    assert_eq!(location(&response).query(), None);
    assert_eq!(param(&params, "state"), Some("xyz"));

    // And the implicit client cannot use the code flow.
    let spa = spa_client(&h).await;
    redirected(
        h.authorize(&code_request(&spa, &[])).await,
        "unauthorized_client",
    );
}

#[tokio::test]
async fn implicit_delivers_the_token_in_the_fragment() {
    let h = implicit_harness();
    // Registered for refresh tokens too: still none with the implicit grant.
    let c = h
        .register(
            ClientRegistration::user_agent_based()
                .redirect_uri(SPA_CB)
                .grant_type(GrantType::IMPLICIT)
                .grant_type(GrantType::REFRESH_TOKEN)
                .scope("read write".parse().unwrap()),
        )
        .await;
    let p = pending(
        h.authorize(&token_request_query(
            &c,
            &[("scope", "read write"), ("state", AWKWARD_STATE)],
        ))
        .await,
    );
    assert_eq!(p.response_type(), ResponseType::Token);
    let response = h.server.approve(p, "alice", None).await.unwrap();
    assert_see_other(&response);
    let url = location(&response);
    assert_eq!(url.query(), None, "a token must never be in the query");
    let raw = url.as_str();
    assert_eq!(&raw[..raw.find('#').unwrap()], SPA_CB);
    let params = redirect_params(&response);
    let token = param(&params, "access_token").unwrap();
    assert!(token.starts_with("pc_at_"));
    assert_eq!(param(&params, "token_type"), Some("Bearer"));
    assert_eq!(param(&params, "expires_in"), Some("600"));
    assert_eq!(param(&params, "state"), Some(AWKWARD_STATE));
    assert_eq!(param(&params, "iss"), Some(ISS));
    assert_eq!(param(&params, "refresh_token"), None);
    assert_eq!(param(&params, "code"), None);
    // Same scope as requested: `scope` may be left out (RFC 6749 §4.2.2).
    assert_eq!(param(&params, "scope"), None);

    let info = h.server.access_token_info(token).await.unwrap().unwrap();
    assert_eq!(info.subject.unwrap().as_str(), "alice");
    assert_eq!(info.client_id.as_str(), c.id);
    assert_eq!(info.scope.as_str(), "read write");
    assert_eq!(info.expires_at, start() + Duration::from_secs(600));
}

#[tokio::test]
async fn implicit_reports_a_narrowed_scope() {
    let h = implicit_harness();
    let c = spa_client(&h).await;
    let p = pending(
        h.authorize(&token_request_query(&c, &[("scope", "read write")]))
            .await,
    );
    let response = h
        .server
        .approve(p, "alice", Some("read".parse().unwrap()))
        .await
        .unwrap();
    let params = redirect_params(&response);
    // RFC 6749 §4.2.2: scope is REQUIRED when it differs from the request.
    assert_eq!(param(&params, "scope"), Some("read"));
    let info = h
        .server
        .access_token_info(param(&params, "access_token").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.scope.as_str(), "read");
}

#[tokio::test]
async fn implicit_refuses_the_query_response_mode() {
    let h = implicit_harness();
    let c = spa_client(&h).await;
    let (response, params) = redirected(
        h.authorize(&token_request_query(
            &c,
            &[("response_mode", "query"), ("state", "xyz")],
        ))
        .await,
        "invalid_request",
    );
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(SPA_CB)
    );
    assert_eq!(param(&params, "state"), Some("xyz"));

    // form_post is fine for a token.
    let p = pending(
        h.authorize(&token_request_query(&c, &[("response_mode", "form_post")]))
            .await,
    );
    let response = h.server.approve(p, "alice", None).await.unwrap();
    assert_eq!(response.status(), 200);
    let fields = form_post_fields(std::str::from_utf8(response.body()).unwrap());
    assert!(
        param(&fields, "access_token")
            .unwrap()
            .starts_with("pc_at_")
    );
    assert_eq!(param(&fields, "refresh_token"), None);
}

#[tokio::test]
async fn implicit_errors_and_denials_use_the_fragment() {
    let h = implicit_harness();
    let c = spa_client(&h).await;
    let (response, params) = redirected(
        h.authorize(&token_request_query(
            &c,
            &[("scope", "admin"), ("state", "xyz")],
        ))
        .await,
        "invalid_scope",
    );
    assert!(location(&response).fragment().is_some());
    assert_eq!(location(&response).query(), None);
    assert_eq!(param(&params, "state"), Some("xyz"));

    let p = pending(
        h.authorize(&token_request_query(&c, &[("state", "xyz")]))
            .await,
    );
    let response = h.server.deny(p).await.unwrap();
    assert_see_other(&response);
    assert!(location(&response).fragment().is_some());
    assert_eq!(location(&response).query(), None);
    let params = redirect_params(&response);
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert_eq!(param(&params, "state"), Some("xyz"));
    assert_eq!(param(&params, "iss"), Some(ISS));
}

#[tokio::test]
async fn implicit_ignores_pkce_parameters() {
    let h = implicit_harness();
    let c = spa_client(&h).await;
    // No challenge needed; a challenge sent is not an error.
    pending(h.authorize(&token_request_query(&c, &[])).await);
    pending(
        h.authorize(&token_request_query(
            &c,
            &[
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await,
    );
}

// RFC 6749 §4.2.2.1: an implicit request's errors go in the fragment, even
// those found before response_type is checked.
#[tokio::test]
async fn implicit_unsupported_response_mode_error_uses_the_fragment() {
    let h = implicit_harness();
    let c = spa_client(&h).await;
    let (response, params) = redirected(
        h.authorize(&token_request_query(
            &c,
            &[("response_mode", "web_message"), ("state", "xyz")],
        ))
        .await,
        "invalid_request",
    );
    assert_eq!(param(&params, "state"), Some("xyz"));
    assert_eq!(location(&response).query(), None);
    assert!(location(&response).fragment().is_some());
}

// ---------------------------------------------------------------------------
// Page headers
// ---------------------------------------------------------------------------

#[test]
fn secure_page_headers_lock_down_a_page() {
    let mut headers = HeaderMap::new();
    secure_page_headers(&mut headers);
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["content-security-policy"], "frame-ancestors 'none'");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");

    // Weaker values a host set are overridden; a host's own CSP is kept.
    let mut headers = HeaderMap::new();
    headers.insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
    headers.insert(
        "cache-control",
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("unsafe-url"));
    let csp = "default-src 'self'; frame-ancestors 'none'";
    headers.insert("content-security-policy", HeaderValue::from_static(csp));
    secure_page_headers(&mut headers);
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["content-security-policy"], csp);
    assert_eq!(headers.get_all("x-frame-options").iter().count(), 1);
}

// ---------------------------------------------------------------------------
// Suspected bugs
// ---------------------------------------------------------------------------

// RFC 6749 §4.1.2.1: a server that does not serve the authorization_code
// grant answers response_type=code with unsupported_response_type.
#[tokio::test]
async fn code_response_type_needs_the_code_grant_served() {
    let h = harness(); // client_credentials only
    let c = h.native_client().await;
    let outcome = h.authorize(&code_request(&c, &[("state", "xyz")])).await;
    let (_, params) = redirected(outcome, "unsupported_response_type");
    assert_eq!(param(&params, "state"), Some("xyz"));
}

// RFC 6749 §3.1.2: a redirect URI is an absolute URI, so printable ASCII;
// registration refuses anything else, and no redirect lacks a Location.
#[tokio::test]
async fn redirect_uri_with_non_uri_characters_never_yields_a_bad_location() {
    let h = code_harness();
    for uri in [
        "https://client.example/café",
        "https://client.example/a\u{1}b",
    ] {
        let registered = h
            .server
            .register_client(
                ClientRegistration::web_application()
                    .redirect_uri(uri)
                    .grant_type(GrantType::AUTHORIZATION_CODE),
            )
            .await;
        // Refusing the registration is one acceptable fix.
        let Ok(registered) = registered else { continue };
        let c = TestClient {
            id: registered.client.id().to_string(),
            secret: String::new(),
        };
        let p = pending(h.authorize(&code_request(&c, &[("state", "s")])).await);
        let response = h.server.approve(p, "alice", None).await.unwrap();
        assert_eq!(response.status(), 303);
        let location = response
            .headers()
            .get("location")
            .unwrap_or_else(|| panic!("{uri:?}: a 303 must say where to go"));
        let location = location
            .to_str()
            .unwrap_or_else(|_| panic!("{uri:?}: Location is not an ASCII URI: {location:?}"));
        url::Url::parse(location).unwrap();
    }
}

// RFC 8252 §7.3, RFC 9700 §4.1.3: for loopback redirects only the port may
// vary; the rest is compared character for character, not after normalising.
#[tokio::test]
async fn loopback_matching_varies_only_the_port() {
    let h = code_harness();
    let c = h.native_client().await; // registered http://127.0.0.1/cb
    for uri in [
        "http://127.1:5000/cb",
        "http://0x7f.0.0.1:5000/cb",
        "HTTP://127.0.0.1:5000/cb",
        "http://127.0.0.1:5000/x/../cb",
        "http://127.0.0.1:5000/./cb",
        "http://127.0.0.1:5000\\cb",
    ] {
        let outcome = h
            .authorize(&code_request(&c, &[("redirect_uri", uri)]))
            .await;
        assert!(
            matches!(outcome, Err(AuthorizationError::Rejected(_))),
            "{uri} should not match http://127.0.0.1/cb: {outcome:?}"
        );
    }
}
