//! OpenID Connect RP-Initiated Logout 1.0 through the public API: the
//! logout request's validation (§2), the post-logout redirect only to a
//! registered URI of an identified client (§3), refusals that never
//! redirect (§4), the endpoint in the metadata (§2.1), and the axum
//! Router's seam for the host's session.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{CHALLENGE, Harness, ISSUER, TestClient, form_encode, harness_with, param};
use http::{Request, Response};
use portcullis::client::ClientRegistration;
use portcullis::endpoint::{Approval, Endpoint, LogoutError, LogoutRequest};
use portcullis::grant::{AuthorizationCodeGrant, RefreshTokenGrant};
use portcullis::jose::{Algorithm, KeySet, SigningKey};
use portcullis::oidc::{Claims, OpenIdConnect, StaticClaims};
use portcullis::protocol::GrantType;
use portcullis::store::MemoryStore;
use portcullis::token::ManualClock;
use portcullis::{AuthorizationServer, ServerBuilder};

/// Where the relying party wants the End-User after logout: registered
/// with a query, which the redirect keeps.
const LOGGED_OUT: &str = "https://rp.example/logged-out?from=op";

fn keys() -> KeySet {
    KeySet::new()
        .with_key(SigningKey::generate(Algorithm::Es256).unwrap())
        .unwrap()
}

fn provider(b: ServerBuilder, keys: KeySet) -> ServerBuilder {
    b.grant(AuthorizationCodeGrant)
        .grant(RefreshTokenGrant)
        .signing_keys(keys)
        .openid_connect(
            OpenIdConnect::new(StaticClaims::new().user("alice", Claims::new()))
                .id_token_signing_alg(Algorithm::Es256),
        )
}

fn op() -> Harness {
    op_with(keys())
}

fn op_with(keys: KeySet) -> Harness {
    harness_with(|b| provider(b, keys))
}

/// An OpenID Provider at `issuer` signing with `keys`.
fn server_at(issuer: &str, keys: KeySet) -> AuthorizationServer {
    let store = MemoryStore::new();
    let builder = AuthorizationServer::builder(issuer)
        .clients(store.clone())
        .tokens(store)
        .clock(Arc::new(ManualClock::new(common::start())));
    provider(builder, keys).build().unwrap()
}

/// A relying party (a native app, for the code flow without a secret) with
/// `LOGGED_OUT` and a loopback URI registered for after logout.
fn rp_registration() -> ClientRegistration {
    ClientRegistration::native()
        .redirect_uri("http://127.0.0.1/cb")
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .scope("openid".parse().unwrap())
        .post_logout_redirect_uri(LOGGED_OUT)
        .post_logout_redirect_uri("http://127.0.0.1:8080/bye")
}

async fn rp(h: &Harness) -> TestClient {
    h.register(rp_registration()).await
}

/// An ID token for `alice` in the session `sid-1`, issued to `client` by
/// `server` through the code flow.
async fn id_token_from(server: &AuthorizationServer, client: &str) -> String {
    let request = Request::get(format!(
        "{}/authorize?response_type=code&client_id={client}&code_challenge={CHALLENGE}\
         &code_challenge_method=S256&scope=openid",
        server.issuer()
    ))
    .body(Vec::new())
    .unwrap();
    let pending = server.authorization_request(&request).await.unwrap();
    let approval = Approval::new("alice").session_id("sid-1");
    let redirect = server.approve_with(pending, approval).await.unwrap();
    let code = param(&common::redirect_params(&redirect), "code")
        .unwrap()
        .to_owned();
    let redeemed = server
        .token_endpoint(common::token_request(
            None,
            &format!(
                "grant_type=authorization_code&code={code}&client_id={client}&code_verifier={}",
                common::VERIFIER
            ),
        ))
        .await;
    assert_eq!(redeemed.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(redeemed.body()).unwrap();
    body["id_token"].as_str().unwrap().to_owned()
}

async fn id_token(h: &Harness, client: &TestClient) -> String {
    id_token_from(&h.server, &client.id).await
}

/// A provider, its relying party, and an ID token the party got for
/// `alice`.
async fn hinted() -> (Harness, TestClient, String) {
    let h = op();
    let client = rp(&h).await;
    let hint = id_token(&h, &client).await;
    (h, client, hint)
}

/// The logout query that names the End-User with `hint` and asks to come
/// back to `LOGGED_OUT` with `state=s`.
fn back_with_state(hint: &str) -> String {
    query(&[
        ("id_token_hint", hint),
        ("post_logout_redirect_uri", LOGGED_OUT),
        ("state", "s"),
    ])
}

/// A GET to the logout endpoint with these (already encoded) parameters.
fn get(query: &str) -> Request<Vec<u8>> {
    Request::get(format!("{ISSUER}/logout?{query}"))
        .body(Vec::new())
        .unwrap()
}

/// `name=value&…`, each value form-encoded.
fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| format!("{n}={}", form_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn ask(h: &Harness, pairs: &[(&str, &str)]) -> Result<LogoutRequest, LogoutError> {
    h.server.end_session_request(&get(&query(pairs))).await
}

fn location(response: &Response<Vec<u8>>) -> Option<&str> {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap())
}

fn text(response: &Response<Vec<u8>>) -> &str {
    std::str::from_utf8(response.body()).unwrap()
}

/// Asserts a refusal: `invalid_request` with `description`, and the page
/// that shows it is a `400` with the secure page headers and no redirect.
#[track_caller]
fn assert_refused(result: Result<LogoutRequest, LogoutError>, description: &str) {
    let error = match result {
        Err(e @ LogoutError::Rejected(_)) => e,
        other => panic!("expected a rejection, got {other:?}"),
    };
    let oauth = error.error().unwrap();
    assert_eq!(oauth.code().as_str(), "invalid_request");
    assert_eq!(oauth.description(), Some(description));
    let page = error.into_http();
    assert_eq!(page.status(), 400);
    assert!(location(&page).is_none());
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(text(&page).contains(description), "{}", text(&page));
}

#[tokio::test]
async fn a_valid_hint_and_a_registered_uri_redirect_back_with_state() {
    let (h, client, hint) = hinted().await;
    let logout = ask(
        &h,
        &[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", LOGGED_OUT),
            ("state", "af0 ifj&sld=kj"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(logout.client().unwrap().id().as_str(), client.id);
    assert!(logout.redirects());
    assert_eq!(logout.post_logout_redirect_uri(), Some(LOGGED_OUT));
    let hinted = logout.id_token_hint().unwrap();
    assert_eq!(hinted.subject, "alice");
    assert_eq!(hinted.session_id.as_deref(), Some("sid-1"));
    assert!(logout.is_hinted_subject("alice"));
    assert!(!logout.is_hinted_subject("bob"));

    let response = h.server.end_session(logout);
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        Some("https://rp.example/logged-out?from=op&state=af0+ifj%26sld%3Dkj")
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
}

#[tokio::test]
async fn without_state_the_redirect_is_the_registered_uri_exactly() {
    let (h, _, hint) = hinted().await;
    let logout = ask(
        &h,
        &[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", "http://127.0.0.1:8080/bye"),
        ],
    )
    .await
    .unwrap();
    let response = h.server.end_session(logout);
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), Some("http://127.0.0.1:8080/bye"));
}

#[tokio::test]
async fn near_misses_of_a_registered_uri_are_refused_and_never_redirected() {
    let (h, client, hint) = hinted().await;
    for near_miss in [
        "https://rp.example/logged-out?from=op/",
        "https://rp.example/logged-out/?from=op",
        "https://rp.example/logged-out",
        "https://rp.example/logged-out?from=op&x=1",
        "https://RP.example/logged-out?from=op",
        "https://rp.example/Logged-out?from=op",
        "https://rp.example:443/logged-out?from=op",
        "https://rp.example:8443/logged-out?from=op",
        "http://rp.example/logged-out?from=op",
        "https://rp.example.evil.example/logged-out?from=op",
        "https://evil.example/",
        // No loopback port relaxation after logout.
        "http://127.0.0.1:8081/bye",
        "http://127.0.0.1/bye",
        "http://localhost:8080/bye",
        // The client's authorization redirect URI is not a logout one.
        "http://127.0.0.1/cb",
    ] {
        for pairs in [
            &[
                ("id_token_hint", hint.as_str()),
                ("post_logout_redirect_uri", near_miss),
                ("state", "s"),
            ][..],
            &[
                ("client_id", client.id.as_str()),
                ("post_logout_redirect_uri", near_miss),
            ][..],
        ] {
            let refused = ask(&h, pairs).await;
            assert!(refused.is_err(), "{near_miss} was accepted");
            assert_refused(
                refused,
                "post_logout_redirect_uri is not registered for the client",
            );
        }
    }
}

#[tokio::test]
async fn the_rejection_page_does_not_echo_the_uri() {
    let h = op();
    let client = rp(&h).await;
    let evil = "https://evil.example/<script>alert(1)</script>";
    let error = ask(
        &h,
        &[
            ("client_id", &client.id),
            ("post_logout_redirect_uri", evil),
        ],
    )
    .await
    .unwrap_err();
    let page = error.into_http();
    assert!(!text(&page).contains("evil.example"));
    assert!(!text(&page).contains("<script>"));
}

#[tokio::test]
async fn a_redirect_without_an_identified_client_is_refused() {
    let h = op();
    rp(&h).await;
    assert_refused(
        ask(
            &h,
            &[("post_logout_redirect_uri", LOGGED_OUT), ("state", "s")],
        )
        .await,
        "post_logout_redirect_uri needs client_id or id_token_hint",
    );
}

#[tokio::test]
async fn client_id_alone_identifies_the_client_for_its_registered_uris() {
    let h = op();
    let client = rp(&h).await;
    let logout = ask(
        &h,
        &[
            ("client_id", &client.id),
            ("post_logout_redirect_uri", LOGGED_OUT),
            ("state", "s1"),
        ],
    )
    .await
    .unwrap();
    assert!(logout.id_token_hint().is_none());
    assert!(
        !logout.is_hinted_subject("alice"),
        "no hint confirms anyone"
    );
    let response = h.server.end_session(logout);
    assert_eq!(
        location(&response),
        Some("https://rp.example/logged-out?from=op&state=s1")
    );

    assert_refused(ask(&h, &[("client_id", "nobody")]).await, "unknown client");
}

#[tokio::test]
async fn a_hint_signed_by_another_key_is_refused() {
    let h = op();
    let client = rp(&h).await;
    // The same issuer and client, but another key set.
    let forger = server_at(ISSUER, keys());
    let registered = forger
        .register_client(rp_registration().client_id(client.id.clone()))
        .await
        .unwrap();
    assert_eq!(registered.client.id().as_str(), client.id);
    let forged = id_token_from(&forger, &client.id).await;
    for pairs in [
        &[("id_token_hint", forged.as_str())][..],
        &[
            ("id_token_hint", forged.as_str()),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ][..],
    ] {
        assert_refused(
            ask(&h, pairs).await,
            "id_token_hint is not an ID token issued by this provider",
        );
    }
    // Not a JWS at all.
    assert_refused(
        ask(&h, &[("id_token_hint", "not.a.jwt")]).await,
        "id_token_hint is not an ID token issued by this provider",
    );
}

#[tokio::test]
async fn a_hint_from_another_issuer_is_refused() {
    let shared = keys();
    let h = op_with(shared.clone());
    let client = rp(&h).await;
    // Signed with this provider's very key, but by another issuer.
    let other = server_at("https://other.example", shared);
    other
        .register_client(rp_registration().client_id(client.id.clone()))
        .await
        .unwrap();
    let foreign = id_token_from(&other, &client.id).await;
    assert_refused(
        ask(
            &h,
            &[
                ("id_token_hint", &foreign),
                ("post_logout_redirect_uri", LOGGED_OUT),
            ],
        )
        .await,
        "id_token_hint is not an ID token issued by this provider",
    );
    // The same key's token from this issuer passes.
    let own = id_token(&h, &client).await;
    assert!(ask(&h, &[("id_token_hint", &own)]).await.is_ok());
}

#[tokio::test]
async fn client_id_must_be_the_client_the_hint_was_issued_to() {
    let h = op();
    let client = rp(&h).await;
    let other = rp(&h).await;
    let hint = id_token(&h, &client).await;
    assert_refused(
        ask(
            &h,
            &[
                ("id_token_hint", &hint),
                ("client_id", &other.id),
                ("post_logout_redirect_uri", LOGGED_OUT),
            ],
        )
        .await,
        "client_id is not the client id_token_hint was issued to",
    );
    let agreeing = ask(
        &h,
        &[
            ("id_token_hint", &hint),
            ("client_id", &client.id),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ],
    )
    .await
    .unwrap();
    assert!(agreeing.redirects());
}

#[tokio::test]
async fn no_parameters_get_the_signed_out_page() {
    let h = op();
    let logout = h.server.end_session_request(&get("")).await.unwrap();
    assert!(logout.client().is_none());
    assert!(logout.id_token_hint().is_none());
    assert!(!logout.redirects());
    let page = h.server.end_session(logout);
    assert_eq!(page.status(), 200);
    assert!(location(&page).is_none());
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(
        page.headers()["content-security-policy"],
        "frame-ancestors 'none'"
    );
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(text(&page).contains("You are signed out."));

    // A hint alone, or `state` without a URI to carry it, still shows the
    // page.
    let client = rp(&h).await;
    let hint = id_token(&h, &client).await;
    let logout = ask(&h, &[("id_token_hint", &hint), ("state", "s")])
        .await
        .unwrap();
    assert!(!logout.redirects());
    assert_eq!(h.server.end_session(logout).status(), 200);
}

#[tokio::test]
async fn an_expired_id_token_is_accepted_as_a_hint() {
    let (h, _, hint) = hinted().await;
    // ID tokens live ten minutes; this one is a day old.
    h.clock.advance(Duration::from_secs(24 * 60 * 60));
    let logout = ask(
        &h,
        &[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ],
    )
    .await
    .unwrap();
    assert!(logout.is_hinted_subject("alice"));
    assert_eq!(h.server.end_session(logout).status(), 303);
}

#[tokio::test]
async fn a_post_form_is_a_logout_request_too() {
    let (h, _, hint) = hinted().await;
    let body = query(&[
        ("id_token_hint", &hint),
        ("post_logout_redirect_uri", LOGGED_OUT),
        ("state", "posted"),
    ]);
    let request = Request::post(format!("{ISSUER}/logout"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.into_bytes())
        .unwrap();
    let logout = h.server.end_session_request(&request).await.unwrap();
    assert_eq!(
        location(&h.server.end_session(logout)),
        Some("https://rp.example/logged-out?from=op&state=posted")
    );

    // A POST reads its body, not its query.
    let request = Request::post(format!(
        "{ISSUER}/logout?{}",
        query(&[("post_logout_redirect_uri", "https://evil.example/")])
    ))
    .body(Vec::new())
    .unwrap();
    let logout = h.server.end_session_request(&request).await.unwrap();
    assert!(!logout.redirects());
}

#[tokio::test]
async fn repeated_and_oversized_parameters_are_refused() {
    let (h, client, hint) = hinted().await;
    for name in [
        "id_token_hint",
        "post_logout_redirect_uri",
        "state",
        "client_id",
        "logout_hint",
        "ui_locales",
    ] {
        let value = match name {
            "id_token_hint" => hint.as_str(),
            "post_logout_redirect_uri" => LOGGED_OUT,
            "client_id" => client.id.as_str(),
            "ui_locales" => "en",
            _ => "x",
        };
        assert_refused(
            ask(
                &h,
                &[("id_token_hint", &hint), (name, value), (name, value)],
            )
            .await,
            "a parameter is repeated",
        );
    }
    let long_state = "s".repeat(1025);
    assert_refused(
        ask(
            &h,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", LOGGED_OUT),
                ("state", &long_state),
            ],
        )
        .await,
        "state is too long",
    );
    let long_hint = "h".repeat(2049);
    assert_refused(
        ask(&h, &[("logout_hint", &long_hint)]).await,
        "logout_hint is empty or too long",
    );
    assert_refused(
        ask(&h, &[("id_token_hint", &long_hint)]).await,
        "id_token_hint is empty or too long",
    );
    assert_refused(
        ask(&h, &[("ui_locales", "en <script>")]).await,
        "ui_locales is malformed",
    );
    let huge = format!("state={}", "s".repeat(h.server.max_body()));
    let request = Request::post(format!("{ISSUER}/logout"))
        .body(huge.into_bytes())
        .unwrap();
    assert_refused(
        h.server.end_session_request(&request).await,
        "the request is too large",
    );
    // A state of exactly the limit is carried back.
    let state = "s".repeat(1024);
    let logout = ask(
        &h,
        &[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", LOGGED_OUT),
            ("state", &state),
        ],
    )
    .await
    .unwrap();
    let response = h.server.end_session(logout);
    assert!(location(&response).unwrap().ends_with(&state));
}

#[tokio::test]
async fn other_methods_get_405_with_allow() {
    let h = op();
    for method in ["PUT", "DELETE", "HEAD", "PATCH"] {
        let request = Request::builder()
            .method(method)
            .uri(format!("{ISSUER}/logout"))
            .body(Vec::new())
            .unwrap();
        let error = h.server.end_session_request(&request).await.unwrap_err();
        assert!(matches!(error, LogoutError::MethodNotAllowed), "{method}");
        let response = error.into_http();
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()["allow"], "GET, POST");
    }
}

#[tokio::test]
async fn a_server_that_is_no_provider_has_no_logout_endpoint() {
    let h = common::code_harness();
    let error = h.server.end_session_request(&get("")).await.unwrap_err();
    assert!(matches!(error, LogoutError::NotProvider));
    assert!(error.error().is_none());
    assert_eq!(error.into_http().status(), 404);
    assert!(h.server.metadata().openid.is_none());
    let document = serde_json::to_value(h.server.metadata()).unwrap();
    assert!(document.get("end_session_endpoint").is_none());
}

#[tokio::test]
async fn the_metadata_advertises_the_logout_endpoint() {
    let h = op();
    let document = serde_json::to_value(h.server.metadata()).unwrap();
    assert_eq!(
        document["end_session_endpoint"],
        "https://auth.example/logout"
    );
    // The OpenID Provider configuration (Discovery §4) says the same.
    let configuration = h.server.openid_configuration_endpoint(
        Request::get(h.server.openid_configuration_path())
            .body(())
            .unwrap(),
    );
    let configuration: serde_json::Value = serde_json::from_slice(configuration.body()).unwrap();
    assert_eq!(
        configuration["end_session_endpoint"],
        "https://auth.example/logout"
    );
    assert_eq!(Endpoint::EndSession.default_path(), "/logout");
    assert_eq!(Endpoint::EndSession.metadata_name(), "end_session_endpoint");

    let moved =
        harness_with(|b| provider(b, keys()).endpoint(Endpoint::EndSession, "/oidc/end-session"));
    let document = serde_json::to_value(moved.server.metadata()).unwrap();
    assert_eq!(
        document["end_session_endpoint"],
        "https://auth.example/oidc/end-session"
    );
    assert_eq!(
        moved
            .server
            .endpoint_urls()
            .get(Endpoint::EndSession)
            .as_str(),
        "https://auth.example/oidc/end-session"
    );
}

#[tokio::test]
async fn the_host_learns_the_hints_and_can_re_post_the_request() {
    let (h, client, hint) = hinted().await;
    let pairs = [
        ("id_token_hint", hint.as_str()),
        ("logout_hint", "alice@example.com"),
        ("client_id", client.id.as_str()),
        ("post_logout_redirect_uri", LOGGED_OUT),
        ("state", "s 1"),
        ("ui_locales", "fr-CA fr en"),
    ];
    let mut sent = query(&pairs);
    sent.push_str("&csrf=t0ken&confirm=yes&dup=1&dup=2");
    let logout = h.server.end_session_request(&get(&sent)).await.unwrap();
    assert_eq!(logout.logout_hint(), Some("alice@example.com"));
    assert_eq!(logout.ui_locales(), ["fr-CA", "fr", "en"]);
    assert_eq!(logout.parameter("csrf"), Some("t0ken"));
    assert_eq!(logout.parameter("confirm"), Some("yes"));
    assert_eq!(logout.parameter("dup"), None, "repeated: not one value");
    assert_eq!(logout.parameter("missing"), None);
    let fields: Vec<(&str, &str)> = logout.resubmit_fields().collect();
    assert_eq!(fields, pairs);
    let debug = format!("{logout:?}");
    assert!(
        !debug.contains(&hint) && !debug.contains("alice"),
        "{debug}"
    );

    // The re-posted fields make the same request again.
    let body = query(&fields);
    let request = Request::post(format!("{ISSUER}/logout"))
        .body(body.into_bytes())
        .unwrap();
    let again = h.server.end_session_request(&request).await.unwrap();
    assert_eq!(
        location(&h.server.end_session(again)),
        Some("https://rp.example/logged-out?from=op&state=s+1")
    );
}

#[cfg(feature = "axum")]
mod router {
    //! The axum Router's logout route and the host's `end_session`.

    use super::*;

    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::http::request::Parts;
    use http::header::{HeaderValue, SET_COOKIE};
    use portcullis::axum::{Interaction, LogoutOutcome, Outcome, router};
    use portcullis::endpoint::{PendingAuthorization, html_escape};
    use tower::ServiceExt as _;

    async fn consent(pending: PendingAuthorization, _: Parts) -> Outcome {
        Outcome::approve(pending, "alice")
    }

    /// A host whose session is the cookie `session=alice`: it signs out
    /// at once when the hint names the End-User signed in, asks otherwise,
    /// and clears the cookie when it signs out.
    struct Host;

    impl Interaction for Host {
        async fn interact(&self, pending: PendingAuthorization, parts: Parts) -> Outcome {
            consent(pending, parts).await
        }

        async fn end_session(&self, logout: LogoutRequest, parts: Parts) -> LogoutOutcome {
            let signed_in = parts
                .headers
                .get("cookie")
                .and_then(|c| c.to_str().ok()?.strip_prefix("session="));
            let clear = [(
                SET_COOKIE,
                HeaderValue::from_static("session=; Max-Age=0; Secure; HttpOnly"),
            )];
            match signed_in {
                None => LogoutOutcome::signed_out(logout),
                Some(user)
                    if logout.is_hinted_subject(user)
                        || logout.parameter("confirm") == Some("yes") =>
                {
                    LogoutOutcome::signed_out_with(logout, clear)
                }
                Some(_) => {
                    let mut form = String::from("<form method=\"post\" action=\"/logout\">");
                    for (name, value) in logout.resubmit_fields() {
                        form.push_str(&format!(
                            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                            html_escape(value)
                        ));
                    }
                    form.push_str(
                        "<button name=\"confirm\" value=\"yes\">Sign out</button></form>",
                    );
                    LogoutOutcome::page(axum::response::Html(form))
                }
            }
        }
    }

    async fn send(app: &Router, request: http::Request<Body>) -> http::Response<Body> {
        app.clone().oneshot(request).await.unwrap()
    }

    async fn body(response: http::Response<Body>) -> String {
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn logout_get(query: &str, cookie: Option<&str>) -> http::Request<Body> {
        let mut request = http::Request::get(format!("/logout?{query}"));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn the_default_end_session_signs_nobody_out_and_says_so() {
        let (h, _, hint) = hinted().await;
        let app = router(h.server.clone(), consent);
        let response = send(
            &app,
            logout_get(&back_with_state(&hint), Some("session=alice")),
        )
        .await;
        assert_eq!(response.status(), 501);
        assert!(response.headers().get("location").is_none());
        assert!(response.headers().get("set-cookie").is_none());
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        assert!(body(response).await.contains("you may still be signed in"));
    }

    #[tokio::test]
    async fn a_host_signs_out_the_hinted_user_and_clears_its_cookie() {
        let (h, _, hint) = hinted().await;
        let app = router(h.server.clone(), Host);
        let q = back_with_state(&hint);
        let response = send(&app, logout_get(&q, Some("session=alice"))).await;
        assert_eq!(response.status(), 303);
        assert_eq!(
            response.headers()["location"],
            "https://rp.example/logged-out?from=op&state=s"
        );
        assert_eq!(
            response.headers()["set-cookie"],
            "session=; Max-Age=0; Secure; HttpOnly"
        );
        assert_eq!(response.headers()["cache-control"], "no-store");

        // Nobody signed in: nothing to clear, and the signed-out page.
        let response = send(&app, logout_get("", None)).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("set-cookie").is_none());
        assert!(body(response).await.contains("You are signed out."));
    }

    #[tokio::test]
    async fn a_host_asks_another_user_and_signs_out_on_the_confirmation() {
        let (h, _, hint) = hinted().await;
        let app = router(h.server.clone(), Host);
        let q = back_with_state(&hint);
        // Bob is signed in; the hint names alice: ask.
        let response = send(&app, logout_get(&q, Some("session=bob"))).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("set-cookie").is_none());
        let page = body(response).await;
        assert!(page.contains("name=\"post_logout_redirect_uri\""), "{page}");

        // The form's POST: the same fields and the answer.
        let mut form = q.clone();
        form.push_str("&confirm=yes");
        let request = http::Request::post("/logout")
            .header("cookie", "session=bob")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        let response = send(&app, request).await;
        assert_eq!(response.status(), 303);
        assert_eq!(
            response.headers()["location"],
            "https://rp.example/logged-out?from=op&state=s"
        );
        assert!(response.headers().get("set-cookie").is_some());
    }

    #[tokio::test]
    async fn a_refused_logout_is_a_page_and_no_redirect() {
        let h = op();
        let client = rp(&h).await;
        let app = router(h.server.clone(), Host);
        let q = query(&[
            ("client_id", &client.id),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ]);
        let response = send(&app, logout_get(&q, Some("session=alice"))).await;
        assert_eq!(response.status(), 400);
        assert!(response.headers().get("location").is_none());
        assert!(response.headers().get("set-cookie").is_none());
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        let page = body(response).await;
        assert!(page.contains("The logout request is invalid"), "{page}");
        assert!(!page.contains("evil.example"));

        let response = send(
            &app,
            http::Request::put("/logout").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()["allow"], "GET, POST");
    }

    #[tokio::test]
    async fn a_server_that_is_no_provider_routes_no_logout() {
        let h = common::code_harness();
        let app = router(h.server.clone(), consent);
        let response = send(&app, logout_get("", None)).await;
        assert_eq!(response.status(), 404);
    }
}
