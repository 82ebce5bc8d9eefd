//! Pushed authorization requests (RFC 9126) through the public API: the
//! push, the one-time `request_uri` at the authorization endpoint, and every
//! refusal the RFC names.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::*;
use http::Request;
use portcullis::client::ClientRegistration;
use portcullis::endpoint::{AuthorizationError, PendingAuthorization};
use portcullis::protocol::GrantType;

const REDIRECT: &str = "https://app.example/cb";

fn par_harness() -> Harness {
    par_harness_with(|b| b)
}

fn par_harness_with(
    customise: impl FnOnce(portcullis::ServerBuilder) -> portcullis::ServerBuilder,
) -> Harness {
    harness_with(|b| {
        customise(
            b.grant(portcullis::grant::AuthorizationCodeGrant)
                .grant(portcullis::grant::RefreshTokenGrant),
        )
    })
}

/// A confidential web client for the code flow, redirecting to
/// [`REDIRECT`].
async fn web_client(h: &Harness, registration: ClientRegistration) -> TestClient {
    h.register(
        registration
            .redirect_uri(REDIRECT)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .scope("read write".parse().unwrap()),
    )
    .await
}

/// An authorization request's parameters (PKCE S256, `state`), `extra`
/// appended.
fn request_params(extra: &str) -> String {
    format!(
        "response_type=code&scope=read&redirect_uri={}&state=pushed-state\
         &code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        form_encode(REDIRECT)
    )
}

fn par_request(authorization: Option<&str>, body: &str) -> Request<Vec<u8>> {
    let mut b = Request::post("https://auth.example/par")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(a) = authorization {
        b = b.header("authorization", a);
    }
    b.body(body.as_bytes().to_vec()).unwrap()
}

async fn push(h: &Harness, client: &TestClient, body: &str) -> Reply {
    Reply::from(
        h.server
            .pushed_authorization_request_endpoint(par_request(
                Some(&basic(&client.id, &client.secret)),
                body,
            ))
            .await,
    )
}

/// Pushes the standard request for `client`; returns its `request_uri`.
async fn pushed_uri(h: &Harness, client: &TestClient) -> String {
    let reply = push(h, client, &request_params("")).await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    reply.json["request_uri"].as_str().unwrap().to_owned()
}

async fn authorize_with(
    h: &Harness,
    client_id: &str,
    request_uri: &str,
) -> Result<PendingAuthorization, AuthorizationError> {
    h.authorize(&format!(
        "client_id={}&request_uri={}",
        form_encode(client_id),
        form_encode(request_uri)
    ))
    .await
}

#[tokio::test]
async fn a_pushed_request_is_authorized_once_with_its_own_parameters() {
    let h = par_harness();
    let client = web_client(&h, ClientRegistration::web_application()).await;

    let reply = push(&h, &client, &request_params("")).await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    reply.assert_no_store();
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let request_uri = reply.json["request_uri"].as_str().unwrap();
    let secret = request_uri
        .strip_prefix("urn:ietf:params:oauth:request_uri:")
        .expect("an RFC 9126 request_uri");
    assert!(secret.len() >= 22, "at least 128 bits: {secret}");
    assert_eq!(reply.json["expires_in"], 60);

    // The browser carries client_id and request_uri only: the rest is the
    // pushed request's, and other parameters sent alongside are ignored.
    let pending = h
        .authorize(&format!(
            "client_id={}&request_uri={}&scope=write&state=injected",
            client.id,
            form_encode(request_uri)
        ))
        .await
        .unwrap();
    assert_eq!(pending.scope().as_str(), "read");
    let response = h.server.approve(pending, "alice", None).await.unwrap();
    let params = redirect_params(&response);
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(REDIRECT)
    );
    assert_eq!(param(&params, "state"), Some("pushed-state"));
    let code = param(&params, "code").unwrap();
    // RFC 6749 §4.1.3: the pushed request named the redirect URI, so the
    // token request repeats it.
    let tokens = h
        .post(token_request(
            Some(&basic(&client.id, &client.secret)),
            &format!(
                "grant_type=authorization_code&code={code}&code_verifier={VERIFIER}\
                 &redirect_uri={}",
                form_encode(REDIRECT)
            ),
        ))
        .await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.json);
    assert_eq!(tokens.json["scope"], "read");

    // RFC 9126 §4: one-time use.
    assert_rejected(
        authorize_with(&h, &client.id, request_uri).await,
        "invalid_request_uri",
    );
}

#[tokio::test]
async fn a_public_client_pushes_with_its_client_id() {
    let h = par_harness();
    let client = h.native_client().await;
    let body = format!(
        "client_id={}&response_type=code&redirect_uri={}&code_challenge={CHALLENGE}\
         &code_challenge_method=S256",
        client.id,
        form_encode("http://127.0.0.1/cb")
    );
    let reply = Reply::from(
        h.server
            .pushed_authorization_request_endpoint(par_request(None, &body))
            .await,
    );
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    let uri = reply.json["request_uri"].as_str().unwrap();
    assert!(authorize_with(&h, &client.id, uri).await.is_ok());
}

#[tokio::test]
async fn an_expired_request_uri_is_refused() {
    let h = par_harness();
    let client = web_client(&h, ClientRegistration::web_application()).await;
    let uri = pushed_uri(&h, &client).await;
    h.clock.advance(Duration::from_secs(60));
    assert_rejected(
        authorize_with(&h, &client.id, &uri).await,
        "invalid_request_uri",
    );
}

#[tokio::test]
async fn the_lifetime_is_configurable_and_bounded() {
    let h = par_harness_with(|b| b.pushed_authorization_request_lifetime(Duration::from_secs(10)));
    let client = web_client(&h, ClientRegistration::web_application()).await;
    let reply = push(&h, &client, &request_params("")).await;
    assert_eq!(reply.json["expires_in"], 10);
    let uri = reply.json["request_uri"].as_str().unwrap().to_owned();
    h.clock.advance(Duration::from_secs(9));
    assert!(authorize_with(&h, &client.id, &uri).await.is_ok());

    for bad in [Duration::ZERO, Duration::from_secs(601)] {
        let built = portcullis::AuthorizationServer::builder(ISSUER)
            .clients(portcullis::MemoryStore::new())
            .tokens(portcullis::MemoryStore::new())
            .grant(portcullis::grant::AuthorizationCodeGrant)
            .pushed_authorization_request_lifetime(bad)
            .build();
        assert!(
            matches!(
                built,
                Err(portcullis::BuildError::InvalidLifetime(
                    "pushed_authorization_request"
                ))
            ),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn another_client_cannot_use_a_request_uri_and_leaves_it_intact() {
    let h = par_harness();
    let owner = web_client(&h, ClientRegistration::web_application()).await;
    let thief = web_client(&h, ClientRegistration::web_application()).await;
    let uri = pushed_uri(&h, &owner).await;
    assert_rejected(
        authorize_with(&h, &thief.id, &uri).await,
        "invalid_request_uri",
    );
    // A forged or unknown request_uri of this server's form is refused too.
    assert_rejected(
        authorize_with(
            &h,
            &owner.id,
            "urn:ietf:params:oauth:request_uri:pc_pr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .await,
        "invalid_request_uri",
    );
    assert_rejected(
        authorize_with(&h, &owner.id, "urn:ietf:params:oauth:request_uri:short").await,
        "invalid_request_uri",
    );
    // The refusal did not consume it.
    let pending = authorize_with(&h, &owner.id, &uri).await.unwrap();
    assert_eq!(pending.client().id().as_str(), owner.id);
}

#[tokio::test]
async fn a_request_uri_needs_client_id_and_excludes_request() {
    let h = par_harness();
    let client = web_client(&h, ClientRegistration::web_application()).await;
    let uri = pushed_uri(&h, &client).await;
    assert_rejected(
        h.authorize(&format!("request_uri={}", form_encode(&uri)))
            .await,
        "invalid_request",
    );
    assert_rejected(
        h.authorize(&format!(
            "client_id={}&request_uri={}&request=eyJhbGciOiJub25lIn0.e30.",
            client.id,
            form_encode(&uri)
        ))
        .await,
        "invalid_request",
    );
    assert!(authorize_with(&h, &client.id, &uri).await.is_ok());
}

#[tokio::test]
async fn an_unauthenticated_or_wrongly_authenticated_push_is_refused() {
    let h = par_harness();
    let client = web_client(&h, ClientRegistration::web_application()).await;

    // A confidential client that sends only its client_id.
    let reply = Reply::from(
        h.server
            .pushed_authorization_request_endpoint(par_request(
                None,
                &format!("client_id={}&{}", client.id, request_params("")),
            ))
            .await,
    );
    assert_eq!(reply.error(), "invalid_client", "{:?}", reply.json);
    assert!(reply.json.get("request_uri").is_none());

    // A wrong secret.
    let reply = push(&h, &client.with_secret("wrong"), &request_params("")).await;
    reply.assert_error(401, "invalid_client");

    // Nothing at all.
    let reply = Reply::from(
        h.server
            .pushed_authorization_request_endpoint(par_request(None, &request_params("")))
            .await,
    );
    assert_eq!(reply.error(), "invalid_client", "{:?}", reply.json);

    // Credentials in the query string.
    let request = Request::post(format!(
        "https://auth.example/par?client_secret={}",
        client.secret
    ))
    .header("content-type", "application/x-www-form-urlencoded")
    .header("authorization", basic(&client.id, &client.secret))
    .body(request_params("").into_bytes())
    .unwrap();
    let reply = Reply::from(
        h.server
            .pushed_authorization_request_endpoint(request)
            .await,
    );
    reply.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn a_push_carrying_request_uri_is_refused() {
    let h = par_harness();
    let client = web_client(&h, ClientRegistration::web_application()).await;
    let earlier = pushed_uri(&h, &client).await;
    let reply = push(
        &h,
        &client,
        &request_params(&format!("&request_uri={}", form_encode(&earlier))),
    )
    .await;
    reply.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn invalid_parameters_are_json_errors_at_push_time() {
    let h = par_harness();
    let client = web_client(&h, ClientRegistration::web_application()).await;
    let pkce = format!("&code_challenge={CHALLENGE}&code_challenge_method=S256");
    let redirect = format!("&redirect_uri={}", form_encode(REDIRECT));
    let cases = [
        // Not a registered redirect URI: never redirected to.
        (
            format!(
                "response_type=code&redirect_uri={}{pkce}",
                form_encode("https://evil.example/cb")
            ),
            "invalid_request",
        ),
        // No PKCE.
        (format!("response_type=code{redirect}"), "invalid_request"),
        // PKCE plain.
        (
            format!(
                "response_type=code{redirect}&code_challenge={CHALLENGE}&code_challenge_method=plain"
            ),
            "invalid_request",
        ),
        // A scope beyond the client's.
        (
            format!("response_type=code&scope=admin{redirect}{pkce}"),
            "invalid_scope",
        ),
        (
            format!("response_type=token{redirect}{pkce}"),
            "unsupported_response_type",
        ),
        (format!("{redirect}{pkce}"), "invalid_request"),
        (
            format!("response_type=code&resource=https%3A%2F%2Funknown.example{redirect}{pkce}"),
            "invalid_target",
        ),
        // A repeated parameter.
        (
            format!("response_type=code&scope=read&scope=write{redirect}{pkce}"),
            "invalid_request",
        ),
    ];
    for (body, code) in cases {
        let reply = push(&h, &client, &body).await;
        reply.assert_error(400, code);
        assert!(reply.header("location").is_none(), "{body}");
    }
}

#[tokio::test]
async fn client_id_in_the_push_must_be_the_authenticated_clients() {
    let h = par_harness();
    let client = web_client(&h, ClientRegistration::web_application()).await;
    let other = web_client(&h, ClientRegistration::web_application()).await;
    let reply = push(
        &h,
        &client,
        &request_params(&format!("&client_id={}", other.id)),
    )
    .await;
    reply.assert_error(400, "invalid_request");
    // The same client_id is fine.
    let reply = push(
        &h,
        &client,
        &request_params(&format!("&client_id={}", client.id)),
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
}

#[tokio::test]
async fn the_endpoint_takes_only_post() {
    let h = par_harness();
    let request = Request::get("https://auth.example/par")
        .body(Vec::<u8>::new())
        .unwrap();
    let response = h
        .server
        .pushed_authorization_request_endpoint(request)
        .await;
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn a_server_that_requires_par_refuses_plain_requests() {
    let h = par_harness_with(|b| b.require_pushed_authorization_requests());
    let client = web_client(&h, ClientRegistration::web_application()).await;
    let plain = format!("client_id={}&{}", client.id, request_params(""));
    assert_rejected(h.authorize(&plain).await, "invalid_request");

    let uri = pushed_uri(&h, &client).await;
    assert!(authorize_with(&h, &client.id, &uri).await.is_ok());

    let metadata = serde_json::to_value(h.server.metadata()).unwrap();
    assert_eq!(metadata["require_pushed_authorization_requests"], true);
    assert_eq!(
        metadata["pushed_authorization_request_endpoint"],
        "https://auth.example/par"
    );
}

#[tokio::test]
async fn a_client_that_requires_par_is_refused_plain_requests() {
    let h = par_harness();
    let strict = web_client(
        &h,
        ClientRegistration::web_application().require_pushed_authorization_requests(true),
    )
    .await;
    let relaxed = web_client(&h, ClientRegistration::web_application()).await;
    assert_rejected(
        h.authorize(&format!("client_id={}&{}", strict.id, request_params("")))
            .await,
        "invalid_request",
    );
    assert!(
        h.authorize(&format!("client_id={}&{}", relaxed.id, request_params("")))
            .await
            .is_ok()
    );
    let uri = pushed_uri(&h, &strict).await;
    assert!(authorize_with(&h, &strict.id, &uri).await.is_ok());

    let metadata = serde_json::to_value(h.server.metadata()).unwrap();
    assert!(
        metadata
            .get("require_pushed_authorization_requests")
            .is_none()
    );
}

#[tokio::test]
async fn the_client_policy_round_trips_through_registration_metadata() {
    let h = par_harness();
    let registered = h
        .server
        .register_client(
            ClientRegistration::web_application()
                .redirect_uri(REDIRECT)
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .require_pushed_authorization_requests(true),
        )
        .await
        .unwrap();
    assert!(registered.client.require_pushed_authorization_requests());
    let metadata = portcullis::client::ClientMetadata::of(&registered.client);
    assert_eq!(metadata.require_pushed_authorization_requests, Some(true));
    let json = serde_json::to_value(&registered.client).unwrap();
    assert_eq!(json["require_pushed_authorization_requests"], true);
    let back: portcullis::client::Client = serde_json::from_value(json).unwrap();
    assert!(back.require_pushed_authorization_requests());
}

#[tokio::test]
async fn a_deleted_clients_pushed_requests_go_with_it() {
    let h = par_harness();
    let client = web_client(&h, ClientRegistration::web_application()).await;
    let uri = pushed_uri(&h, &client).await;
    assert!(h.server.delete_client(&client.id).await.unwrap());
    // RFC 9126 §7.4: the request is checked against the client as it is
    // when the browser comes — here, gone, and its pushed requests with it.
    assert_rejected(
        authorize_with(&h, &client.id, &uri).await,
        "invalid_request_uri",
    );
}
