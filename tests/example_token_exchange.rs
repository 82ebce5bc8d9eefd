//! The example server's token exchange (`EXAMPLE-SERVER-CONTRACT.md`,
//! version 2, "Token exchange", RFC 8693), run in process and driven over
//! real HTTP on loopback: clients registered through RFC 7591, a user's
//! token from the code flow in a browser, exchanged for tokens restricted to
//! a known resource, `/api/me` honouring the restriction, and the refusals.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod example;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use example::{Browser, Reply, Server, get, post_form, request, start};
use portcullis::endpoint::Endpoint;
use serde_json::{Value, json};

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const REGISTRATION_TOKEN: &str = "iat-Xq3vR8nT2wY6pL9zB4cF7hJ1kM5sD0gA";
const OTHER: &str = "https://other.example/api";
const CALLBACK: &str = "http://127.0.0.1:43117/callback";
/// A confidential web client's redirect URI (never followed: the code is
/// read from the redirect).
const WEB_CALLBACK: &str = "https://rp.example/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async fn server() -> Server {
    start(&[
        "--user",
        "alice:wonderland",
        "--registration-token",
        REGISTRATION_TOKEN,
        "--resource",
        OTHER,
    ])
    .await
}

/// Registers a public client for the code flow, and for token exchange
/// when `exchange`: its `client_id`.
async fn register(server: &Server, exchange: bool) -> String {
    let mut grants = vec!["authorization_code"];
    if exchange {
        grants.push(EXCHANGE);
    }
    let body = json!({
        "client_name": "Exchanger",
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "none",
        "grant_types": grants,
        "response_types": ["code"],
        "scope": "openid read write",
    });
    let reply = request(
        "POST",
        &server.endpoint(Endpoint::Registration),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &format!("Bearer {REGISTRATION_TOKEN}")),
        ],
        body.to_string(),
    )
    .await;
    assert_eq!(reply.status(), 201, "{}", reply.text());
    reply.json()["client_id"].as_str().unwrap().to_owned()
}

/// Alice's access token for `client_id` with `scope`, by the code flow in a
/// browser (signed in once per browser).
async fn user_token(
    server: &Server,
    browser: &mut Browser,
    client_id: &str,
    scope: &str,
) -> String {
    user_tokens(server, browser, client_id, scope).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The whole token response of Alice's code flow for `client_id` with
/// `scope` (an ID token in it when `scope` has `openid`).
async fn user_tokens(
    server: &Server,
    browser: &mut Browser,
    client_id: &str,
    scope: &str,
) -> Value {
    let query = example::form(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", CALLBACK),
        ("state", "s"),
        ("scope", scope),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let mut page = browser
        .get(&format!(
            "{}?{query}",
            server.endpoint(Endpoint::Authorization)
        ))
        .await;
    if page.text().contains("name=\"password\"") {
        let signed_in = browser.sign_in(&page, "alice", "wonderland").await;
        page = browser.follow(&signed_in).await;
    }
    let approved = browser.submit(&page, &[("decision", "approve")]).await;
    assert_eq!(approved.status(), 303, "{}", approved.text());
    let code = approved.location_params()["code"].clone();
    let reply = post_form(
        &server.endpoint(Endpoint::Token),
        &[],
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", client_id),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    reply.json()
}

/// A token-exchange request by the public client `client_id`.
async fn exchange(
    server: &Server,
    client_id: &str,
    subject: &str,
    extra: &[(&str, &str)],
) -> Reply {
    exchange_as(server, client_id, subject, ACCESS_TOKEN, extra).await
}

/// The same, the subject token presented as `subject_type`.
async fn exchange_as(
    server: &Server,
    client_id: &str,
    subject: &str,
    subject_type: &str,
    extra: &[(&str, &str)],
) -> Reply {
    let mut pairs = vec![
        ("grant_type", EXCHANGE),
        ("client_id", client_id),
        ("subject_token", subject),
        ("subject_token_type", subject_type),
    ];
    pairs.extend_from_slice(extra);
    post_form(&server.endpoint(Endpoint::Token), &[], &pairs).await
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn assert_error(reply: &Reply, code: &str) {
    assert_eq!(reply.status(), 400, "{}", reply.text());
    assert_eq!(reply.json()["error"], code, "{}", reply.text());
}

#[tokio::test]
async fn a_client_exchanges_its_token_for_a_known_resource() {
    let server = server().await;
    let me = server.url(example::app::RESOURCE_PATH);
    for document in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let metadata = get(&server.url(document), &[]).await.json();
        let grants = metadata["grant_types_supported"].as_array().unwrap();
        assert!(grants.contains(&json!(EXCHANGE)), "{document}: {metadata}");
    }

    let client = register(&server, true).await;
    let mut browser = Browser::new();
    let subject = user_token(&server, &mut browser, &client, "read write").await;

    // `resource` and `audience` take the same identifiers.
    for target in ["resource", "audience"] {
        let reply = exchange(
            &server,
            &client,
            &subject,
            &[(target, &me), ("scope", "read")],
        )
        .await;
        assert_eq!(reply.status(), 200, "{}", reply.text());
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        let body = reply.json();
        assert_eq!(body["issued_token_type"], ACCESS_TOKEN);
        assert_eq!(body["token_type"], "Bearer");
        assert!(body["expires_in"].as_u64().unwrap() > 0);
        assert!(body.get("refresh_token").is_none());
        let token = body["access_token"].as_str().unwrap();
        let c = claims(token);
        assert_eq!(c["sub"], "alice");
        assert_eq!(c["aud"], me.as_str());
        assert_eq!(c["scope"], "read");
        assert_eq!(c["client_id"], client.as_str());
        let answer = server.me(token).await;
        assert_eq!(answer.status(), 200, "{}", answer.text());
        assert_eq!(answer.json()["sub"], "alice");
    }

    // Restricted to another resource: /api/me refuses it.
    let other = exchange(&server, &client, &subject, &[("audience", OTHER)]).await;
    assert_eq!(other.status(), 200, "{}", other.text());
    let token = other.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&token)["aud"], OTHER);
    assert_eq!(claims(&token)["sub"], "alice");
    assert_eq!(server.me(&token).await.status(), 401);

    // Within the subject token's scope only; known targets only.
    let narrow = user_token(&server, &mut browser, &client, "read").await;
    assert_error(
        &exchange(
            &server,
            &client,
            &narrow,
            &[("resource", &me), ("scope", "read write")],
        )
        .await,
        "invalid_scope",
    );
    assert_error(
        &exchange(
            &server,
            &client,
            &narrow,
            &[("resource", "https://unknown.example/")],
        )
        .await,
        "invalid_target",
    );
    assert_error(
        &exchange(
            &server,
            &client,
            &narrow,
            &[("audience", "https://unknown.example/")],
        )
        .await,
        "invalid_target",
    );

    // Another client registered for the grant cannot exchange this one's
    // token; a client not registered for it gets unauthorized_client.
    let thief = register(&server, true).await;
    assert_error(
        &exchange(&server, &thief, &subject, &[("resource", &me)]).await,
        "invalid_grant",
    );
    let outsider = register(&server, false).await;
    let own = user_token(&server, &mut browser, &outsider, "read").await;
    for token in [&own, &subject] {
        assert_error(
            &exchange(&server, &outsider, token, &[("resource", &me)]).await,
            "unauthorized_client",
        );
    }
    // Refused exchanges leave the tokens working.
    assert_eq!(server.me(&subject).await.status(), 200);
    server.stop().await;
}

/// A token-exchange request by the confidential client `by` (its id and
/// secret, `client_secret_post`).
async fn exchange_confidential(
    server: &Server,
    by: &(String, String),
    subject: &str,
    subject_type: &str,
    extra: &[(&str, &str)],
) -> Reply {
    let mut pairs = vec![
        ("grant_type", EXCHANGE),
        ("client_id", by.0.as_str()),
        ("client_secret", by.1.as_str()),
        ("subject_token", subject),
        ("subject_token_type", subject_type),
    ];
    pairs.extend_from_slice(extra);
    post_form(&server.endpoint(Endpoint::Token), &[], &pairs).await
}

/// Registers a confidential client (`client_secret_post`) for the code
/// flow and token exchange: its `client_id` and `client_secret`.
async fn register_confidential(server: &Server) -> (String, String) {
    let body = json!({
        "client_name": "Confidential exchanger",
        "redirect_uris": [WEB_CALLBACK],
        "token_endpoint_auth_method": "client_secret_post",
        "grant_types": ["authorization_code", EXCHANGE],
        "response_types": ["code"],
        "scope": "openid read write",
    });
    let reply = request(
        "POST",
        &server.endpoint(Endpoint::Registration),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &format!("Bearer {REGISTRATION_TOKEN}")),
        ],
        body.to_string(),
    )
    .await;
    assert_eq!(reply.status(), 201, "{}", reply.text());
    let json = reply.json();
    (
        json["client_id"].as_str().unwrap().to_owned(),
        json["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// RFC 8693 §3: the example server is an OpenID Provider, and an ID token
/// it issued to a confidential client is a subject token too — for Alice,
/// within the scope of the grant behind it. Another client presenting it,
/// or the ID token declared as an access token, is `invalid_grant`; a
/// public client presenting its own is `unauthorized_client`.
#[tokio::test]
async fn a_client_exchanges_its_id_token() {
    let server = server().await;
    let me = server.url(example::app::RESOURCE_PATH);
    let (client, secret) = register_confidential(&server).await;
    let mut browser = Browser::new();
    let query = example::form(&[
        ("response_type", "code"),
        ("client_id", &client),
        ("redirect_uri", WEB_CALLBACK),
        ("state", "s"),
        ("scope", "openid read"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let page = browser
        .get(&format!(
            "{}?{query}",
            server.endpoint(Endpoint::Authorization)
        ))
        .await;
    let signed_in = browser.sign_in(&page, "alice", "wonderland").await;
    let page = browser.follow(&signed_in).await;
    let approved = browser.submit(&page, &[("decision", "approve")]).await;
    assert_eq!(approved.status(), 303, "{}", approved.text());
    let code = approved.location_params()["code"].clone();
    let tokens = post_form(
        &server.endpoint(Endpoint::Token),
        &[],
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &client),
            ("client_secret", &secret),
            ("redirect_uri", WEB_CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(tokens.status(), 200, "{}", tokens.text());
    let id_token = tokens.json()["id_token"].as_str().unwrap().to_owned();
    let owner = (client.clone(), secret.clone());
    let reply =
        exchange_confidential(&server, &owner, &id_token, ID_TOKEN, &[("resource", &me)]).await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    assert_eq!(reply.json()["issued_token_type"], ACCESS_TOKEN);
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    let c = claims(&token);
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["aud"], me.as_str());
    assert_eq!(c["client_id"], client.as_str());
    assert!(c["exp"].as_i64().unwrap() <= claims(&id_token)["exp"].as_i64().unwrap());
    assert_eq!(server.me(&token).await.status(), 200);

    assert_error(
        &exchange_confidential(
            &server,
            &owner,
            &id_token,
            ID_TOKEN,
            &[("resource", &me), ("scope", "write")],
        )
        .await,
        "invalid_scope",
    );
    assert_error(
        &exchange_confidential(
            &server,
            &owner,
            &id_token,
            ACCESS_TOKEN,
            &[("resource", &me)],
        )
        .await,
        "invalid_grant",
    );
    let thief = register_confidential(&server).await;
    assert_error(
        &exchange_confidential(&server, &thief, &id_token, ID_TOKEN, &[("resource", &me)]).await,
        "invalid_grant",
    );
    // A public client's own ID token: refused by the default policy.
    let public = register(&server, true).await;
    let theirs = user_tokens(&server, &mut browser, &public, "openid read").await;
    assert_error(
        &exchange_as(
            &server,
            &public,
            theirs["id_token"].as_str().unwrap(),
            ID_TOKEN,
            &[("resource", &me)],
        )
        .await,
        "unauthorized_client",
    );
    server.stop().await;
}
