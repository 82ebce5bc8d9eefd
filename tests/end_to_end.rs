//! End to end: the example authorization server run in process on a
//! loopback port, driven over real HTTP by the `oauth2` client crate — the
//! ecosystem's standard OAuth client — with the sign-in and consent forms
//! submitted as a browser would: the authorization code flow with PKCE,
//! refresh, client credentials, revocation and the device flow. And the
//! example resource server, validating tokens by introspection.
//!
//! Most servers here have an `https` issuer, as behind a TLS-terminating
//! proxy (see `tests/example/mod.rs`): the `oauth2` crate revokes tokens only
//! at an `https` revocation endpoint, as RFC 7009 §2 says clients must.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod example;

use std::time::Duration;

use example::resource_server;
use example::{Browser, Reply, Server, get, post_form, send, start, start_https};
use oauth2::basic::BasicErrorResponseType;
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, RequestTokenError, Scope,
    StandardDeviceAuthorizationResponse, StandardRevocableToken, TokenResponse,
};
use portcullis::endpoint::Endpoint;
use serde_json::json;

fn read() -> Scope {
    Scope::new("read".to_owned())
}

/// The sign-in page, then the consent page, then approval: the redirect to
/// the client.
async fn approve_in_browser(server: &Server, browser: &mut Browser, authorize_url: &str) -> Reply {
    let (user, password) = server.user();
    let login = browser.get(authorize_url).await;
    assert_eq!(login.status(), 200, "{}", login.text());
    let signed_in = browser.sign_in(&login, &user, &password).await;
    let consent = browser.follow(&signed_in).await;
    assert_eq!(consent.status(), 200, "{}", consent.text());
    assert!(consent.text().contains("<strong>Demo app</strong>"));
    browser.submit(&consent, &[("decision", "approve")]).await
}

#[tokio::test]
async fn authorization_code_with_pkce_then_refresh() {
    let server = start_https(&[]).await;
    let client = server.app_client();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(read())
        .set_pkce_challenge(challenge)
        .url();

    let mut browser = Browser::new();
    let redirect = approve_in_browser(&server, &mut browser, authorize_url.as_str()).await;
    assert_eq!(redirect.status(), 303, "{}", redirect.text());
    let location = redirect.location();
    assert_eq!(
        location.as_str().split('?').next(),
        Some(client.redirect_uri().unwrap().as_str())
    );
    let params = redirect.location_params();
    assert_eq!(params["state"], *state.secret());
    // RFC 9207: the client checks the response came from its server.
    assert_eq!(params["iss"], server.issuer());

    let tokens = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .set_pkce_verifier(verifier)
        .request_async(&send)
        .await
        .unwrap();
    assert_eq!(tokens.token_type().as_ref(), "bearer");
    assert!(tokens.expires_in().is_some());
    let refresh = tokens.refresh_token().unwrap().clone();
    let me = server.me(tokens.access_token().secret()).await;
    assert_eq!(me.status(), 200, "{}", me.text());
    assert_eq!(me.json(), json!({"sub": "demo", "scope": "read"}));

    // The code is spent.
    let replay = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .request_async(&send)
        .await;
    assert!(matches!(replay, Err(RequestTokenError::ServerResponse(_))));

    // Refresh: a new pair; the old refresh token is rotated out.
    let renewed = client
        .exchange_refresh_token(&refresh)
        .request_async(&send)
        .await
        .unwrap();
    let new_refresh = renewed.refresh_token().unwrap();
    assert_ne!(new_refresh.secret(), refresh.secret());
    let me = server.me(renewed.access_token().secret()).await;
    assert_eq!(me.json(), json!({"sub": "demo", "scope": "read"}));

    // Presenting the rotated-out token again is reuse: refused, and the
    // grant is revoked with everything in it (RFC 9700 §4.14.2).
    match client
        .exchange_refresh_token(&refresh)
        .request_async(&send)
        .await
    {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), BasicErrorResponseType::InvalidGrant);
        }
        other => panic!("reuse accepted: {other:?}"),
    }
    assert_eq!(
        server.me(renewed.access_token().secret()).await.status(),
        401
    );
}

#[tokio::test]
async fn client_credentials_then_revocation() {
    let server = start_https(&[]).await;
    let service = server.service_client();
    let token = service
        .exchange_client_credentials()
        .add_scope(read())
        .request_async(&send)
        .await
        .unwrap();
    assert!(token.refresh_token().is_none());
    let access = token.access_token().clone();
    let me = server.me(access.secret()).await;
    assert_eq!(me.status(), 200, "{}", me.text());
    assert_eq!(me.json(), json!({"sub": "demo-service", "scope": "read"}));

    service
        .revoke_token(StandardRevocableToken::AccessToken(access.clone()))
        .unwrap()
        .request_async(&send)
        .await
        .unwrap();
    let me = server.me(access.secret()).await;
    assert_eq!(me.status(), 401);
    assert!(
        me.header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\"")
    );

    // A wrong secret gets nothing.
    let wrong = oauth2::basic::BasicClient::new(oauth2::ClientId::new(
        server.demo().clients.service_id.clone(),
    ))
    .set_client_secret(oauth2::ClientSecret::new("pc_cs_not-the-secret".into()))
    .set_token_uri(oauth2::TokenUrl::new(server.endpoint(Endpoint::Token)).unwrap());
    match wrong
        .exchange_client_credentials()
        .add_scope(read())
        .request_async(&send)
        .await
    {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), BasicErrorResponseType::InvalidClient);
        }
        other => panic!("a wrong secret got {other:?}"),
    }
}

#[tokio::test]
async fn device_flow_through_the_verification_page() {
    let server = start_https(&[]).await;
    let client = server.app_client();
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(read())
        .request_async(&send)
        .await
        .unwrap();
    assert_eq!(details.verification_uri().as_str(), server.url("/device"));
    assert_eq!(details.interval(), Duration::from_secs(1));
    let complete = details
        .verification_uri_complete()
        .unwrap()
        .secret()
        .clone();
    let user_code = details.user_code().secret().clone();

    // The device polls while the user approves in a browser.
    let poll = client.exchange_device_access_token(&details).request_async(
        &send,
        tokio::time::sleep,
        Some(Duration::from_secs(30)),
    );
    let approve = async {
        let (user, password) = server.user();
        let mut browser = Browser::new();
        let login = browser.get(&complete).await;
        let signed_in = browser.sign_in(&login, &user, &password).await;
        let form = browser.follow(&signed_in).await;
        // The code is filled in from the link; the user submits it.
        let confirm = browser.submit(&form, &[("user_code", &user_code)]).await;
        assert_eq!(confirm.status(), 200, "{}", confirm.text());
        assert!(
            confirm
                .text()
                .contains(&format!("<strong>{user_code}</strong>"))
        );
        let done = browser.submit(&confirm, &[("decision", "approve")]).await;
        assert_eq!(done.status(), 200, "{}", done.text());
        assert!(done.text().contains("You approved Demo app"));
    };
    let (tokens, ()) = tokio::join!(poll, approve);
    let tokens = tokens.unwrap();
    let access = tokens.access_token().clone();
    let me = server.me(access.secret()).await;
    assert_eq!(me.json(), json!({"sub": "demo", "scope": "read"}));

    // The public client revokes its refresh token: the whole grant goes,
    // the access token with it (RFC 7009 §2.1).
    let refresh = tokens.refresh_token().unwrap().clone();
    client
        .revoke_token(StandardRevocableToken::RefreshToken(refresh))
        .unwrap()
        .request_async(&send)
        .await
        .unwrap();
    assert_eq!(server.me(access.secret()).await.status(), 401);
}

#[tokio::test]
async fn the_resource_server_validates_tokens_by_introspection() {
    let server = start(&[]).await;
    let credential = server.demo().introspection_secret.clone();
    let start_resource = |credential: String| {
        let issuer = server.issuer();
        async move {
            let options = match resource_server::Options::parse(
                [
                    "--addr",
                    "127.0.0.1:0",
                    "--issuer",
                    &issuer,
                    "--credential",
                    &credential,
                ]
                .map(str::to_owned),
            )
            .unwrap()
            {
                resource_server::Command::Run(options) => options,
                resource_server::Command::Help => panic!(),
            };
            let mut printed = Vec::new();
            let running = resource_server::start(options, &mut printed).await.unwrap();
            let printed = String::from_utf8(printed).unwrap();
            assert_eq!(
                printed.lines().last(),
                Some(format!("listening on {}", running.url).as_str())
            );
            running
        }
    };
    let resource = start_resource(credential).await;
    let api = format!("{}{}", resource.url, resource_server::RESOURCE_PATH);
    let bearer = |token: &str| format!("Bearer {token}");

    let service = server.service_client();
    let token = |scope: &'static str| {
        let service = &service;
        async move {
            service
                .exchange_client_credentials()
                .add_scope(Scope::new(scope.to_owned()))
                .request_async(&send)
                .await
                .unwrap()
                .access_token()
                .secret()
                .clone()
        }
    };
    let access = token("read").await;
    let reply = get(&api, &[("Authorization", &bearer(&access))]).await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"sub": "demo-service", "scope": "read"})
    );

    // RFC 6750's refusals, with the resource server's realm.
    let reply = get(&api, &[]).await;
    assert_eq!(reply.status(), 401);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Bearer realm=\"demo-api\"")
    );
    let write_only = token("write").await;
    let reply = get(&api, &[("Authorization", &bearer(&write_only))]).await;
    assert_eq!(reply.status(), 403);

    // Revoked at the authorization server: refused at once.
    let clients = &server.demo().clients;
    let revoked = post_form(
        &server.endpoint(Endpoint::Revocation),
        &[(
            "Authorization",
            &example::basic(&clients.service_id, &clients.service_secret),
        )],
        &[("token", &access)],
    )
    .await;
    assert_eq!(revoked.status(), 200, "{}", revoked.text());
    let reply = get(&api, &[("Authorization", &bearer(&access))]).await;
    assert_eq!(reply.status(), 401);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    resource.stop().await.unwrap();

    // With a credential the authorization server does not know, no token
    // is accepted: the resource server fails closed.
    let impostor = start_resource("not-the-credential-of-any-resource-server".into()).await;
    let api = format!("{}{}", impostor.url, resource_server::RESOURCE_PATH);
    let live = token("read").await;
    let reply = get(&api, &[("Authorization", &bearer(&live))]).await;
    assert_eq!(reply.status(), 500);
    impostor.stop().await.unwrap();
}

#[tokio::test]
async fn state_survives_a_restart() {
    const REGISTRATION_TOKEN: &str = "iat-Xq3vR8nT2wY6pL9zB4cF7hJ1kM5sD0gA";
    let dir = std::env::temp_dir().join(format!("portcullis-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = dir.join("demo.sqlite3");
    let database = database.to_str().unwrap();
    // The same address both times, so the issuer is the same.
    let addr = format!("127.0.0.1:{}", example::free_port());
    let args = [
        "--addr",
        &addr,
        "--database",
        database,
        "--registration-token",
        REGISTRATION_TOKEN,
    ];

    let server = start(&args).await;
    let service_secret = server.demo().clients.service_secret.clone();
    let service_token = server
        .service_client()
        .exchange_client_credentials()
        .add_scope(read())
        .request_async(&send)
        .await
        .unwrap();
    // A user's tokens, through the browser.
    let client = server.app_client();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(read())
        .set_pkce_challenge(challenge)
        .url();
    let mut browser = Browser::new();
    let redirect = approve_in_browser(&server, &mut browser, url.as_str()).await;
    let user_tokens = client
        .exchange_code(AuthorizationCode::new(
            redirect.location_params()["code"].clone(),
        ))
        .set_pkce_verifier(verifier)
        .request_async(&send)
        .await
        .unwrap();
    // A dynamically registered client.
    let registered = example::request(
        "POST",
        &server.endpoint(Endpoint::Registration),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &format!("Bearer {REGISTRATION_TOKEN}")),
        ],
        r#"{"client_name": "Reports", "grant_types": ["client_credentials"], "scope": "read"}"#,
    )
    .await
    .json();
    // A device waiting for its user.
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(read())
        .request_async(&send)
        .await
        .unwrap();
    server.stop().await;

    let server = start(&args).await;
    // The demo service's secret is the same, and said to be.
    assert_eq!(server.demo().clients.service_secret, service_secret);
    assert!(!server.demo().clients.service_secret_new);
    assert!(
        server
            .printed
            .contains(&format!("demo-service / {service_secret}  "))
    );
    // Tokens issued before work, and the refresh token refreshes.
    for token in [service_token.access_token(), user_tokens.access_token()] {
        assert_eq!(server.me(token.secret()).await.status(), 200);
    }
    let client = server.app_client();
    let renewed = client
        .exchange_refresh_token(user_tokens.refresh_token().unwrap())
        .request_async(&send)
        .await
        .unwrap();
    assert_eq!(
        server.me(renewed.access_token().secret()).await.status(),
        200
    );
    // The registered client still authenticates.
    let reply = post_form(
        &server.endpoint(Endpoint::Token),
        &[(
            "Authorization",
            &example::basic(
                registered["client_id"].as_str().unwrap(),
                registered["client_secret"].as_str().unwrap(),
            ),
        )],
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    // The browser is still signed in, and approves the waiting device.
    let complete = details.verification_uri_complete().unwrap().secret();
    let form = browser.get(complete).await;
    assert!(form.text().contains("Signed in as"), "{}", form.text());
    let confirm = browser
        .submit(&form, &[("user_code", details.user_code().secret())])
        .await;
    let done = browser.submit(&confirm, &[("decision", "approve")]).await;
    assert_eq!(done.status(), 200, "{}", done.text());
    let tokens = client
        .exchange_device_access_token(&details)
        .request_async(&send, tokio::time::sleep, Some(Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(
        server.me(tokens.access_token().secret()).await.status(),
        200
    );
    server.stop().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_resource_servers_command_line() {
    let parse =
        |args: &[&str]| resource_server::Options::parse(args.iter().map(|a| (*a).to_owned()));
    match parse(&["--credential", "s3cret"]).unwrap() {
        resource_server::Command::Run(options) => {
            assert_eq!(options.addr, "127.0.0.1:8081");
            assert_eq!(options.issuer, "http://127.0.0.1:8080");
            assert_eq!(options.scope, "read");
            assert_eq!(options.credential, "s3cret");
        }
        resource_server::Command::Help => panic!(),
    }
    assert!(parse(&[]).unwrap_err().contains("--credential is required"));
    assert!(
        parse(&["--bogus"])
            .unwrap_err()
            .contains("unknown option --bogus")
    );
    assert!(matches!(
        parse(&["--help"]),
        Ok(resource_server::Command::Help)
    ));
}
