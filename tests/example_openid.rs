//! The example server as an OpenID Provider (`EXAMPLE-SERVER-CONTRACT.md`,
//! version 2, "OpenID Connect"), run in process and driven over real HTTP
//! on loopback: `--user` with claims, the code flow's ID token verified
//! with `jwks_uri`, refresh, `prompt` and `max_age` as a browser meets them,
//! a client registered for ES256 ID tokens — and an independent relying
//! party, the `openidconnect` crate, on an HTTP client of its own (hyper),
//! doing discovery, the code flow with PKCE and a nonce, ID token
//! verification and UserInfo.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod example;

use std::time::{SystemTime, UNIX_EPOCH};

use example::app::clients::APP_ID;
use example::app::options::{Command, Options};
use example::{Browser, Reply, Server, get, post_form, request, start};
use portcullis::endpoint::Endpoint;
use portcullis::jose::{Algorithm, JwkSet, PublicKey, UnverifiedJws};
use serde_json::{Value, json};

/// A user with claims, and a password with a `:` in it.
const ALICE: &str = "alice,email=alice@example.com,name=Alice Liddell:wonder:land";
const ALICE_PASSWORD: &str = "wonder:land";
/// A user in the old form: no claims but the name.
const BOB: &str = "bob:builder";
const REGISTRATION_TOKEN: &str = "iat-Xq3vR8nT2wY6pL9zB4cF7hJ1kM5sD0gA";
/// A redirect URI of the demo app: loopback, any port.
const CALLBACK: &str = "http://127.0.0.1:43117/callback";
/// A `state` that needs escaping everywhere.
const STATE: &str = "st-<&\"'>";
/// A `nonce` that needs encoding: it must come back exactly.
const NONCE: &str = "n-0S6 WzA2Mj+/=&<é>";
/// RFC 7636 Appendix B's PKCE verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The provider: alice (with claims) and bob, and registration on.
async fn provider() -> Server {
    start(&[
        "--user",
        ALICE,
        "--user",
        BOB,
        "--registration-token",
        REGISTRATION_TOKEN,
    ])
    .await
}

/// An authorization request of `client_id` with PKCE and `state`, and
/// `params` (the scope, the nonce, `prompt` …).
fn authorization_url(server: &Server, client_id: &str, params: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", CALLBACK),
        ("state", STATE),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    pairs.extend_from_slice(params);
    let query = example::form(&pairs);
    format!("{}?{query}", server.endpoint(Endpoint::Authorization))
}

/// The demo app's OpenID Connect request for `scope`, with `params` and,
/// unless they have one, [`NONCE`].
fn openid_url(server: &Server, scope: &str, params: &[(&str, &str)]) -> String {
    let mut all = vec![("scope", scope)];
    if !params.iter().any(|(name, _)| *name == "nonce") {
        all.push(("nonce", NONCE));
    }
    all.extend_from_slice(params);
    authorization_url(server, APP_ID, &all)
}

fn title(page: &Reply) -> String {
    let text = page.text();
    let start = text.find("<title>").unwrap() + "<title>".len();
    let end = text.find("</title>").unwrap();
    text[start..end].to_owned()
}

/// Approves on the consent page: the code, after checking the redirect's
/// `state` and `iss`.
async fn approve(server: &Server, browser: &mut Browser, consent: &Reply) -> String {
    assert_eq!(title(consent), "Allow access?", "{}", consent.text());
    let approved = browser.submit(consent, &[("decision", "approve")]).await;
    assert_eq!(approved.status(), 303, "{}", approved.text());
    code_of(server, &approved)
}

/// The code of a redirect to the client, after checking its `state` and
/// `iss`.
fn code_of(server: &Server, redirect: &Reply) -> String {
    assert!(redirect.location().as_str().starts_with(CALLBACK));
    let params = redirect.location_params();
    assert_eq!(params["state"], STATE);
    assert_eq!(params["iss"], server.issuer());
    params
        .get("code")
        .unwrap_or_else(|| panic!("no code: {params:?}"))
        .clone()
}

/// Signs in on `page` as `user`, then approves: the code.
async fn sign_in_and_approve(
    server: &Server,
    browser: &mut Browser,
    page: &Reply,
    user: &str,
    password: &str,
) -> String {
    assert_eq!(title(page), "Sign in", "{}", page.text());
    let signed_in = browser.sign_in(page, user, password).await;
    let consent = browser.follow(&signed_in).await;
    approve(server, browser, &consent).await
}

/// Redeems `code` for `client_id` (public, PKCE): the token response.
async fn redeem(server: &Server, client_id: &str, code: &str) -> Value {
    let reply = post_form(
        &server.endpoint(Endpoint::Token),
        &[],
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", client_id),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    reply.json()
}

/// Redeems `code` for `client_id`: the claims of the response's ID token,
/// [verified](verified) with `alg`.
async fn id_token_of(server: &Server, client_id: &str, code: &str, alg: Algorithm) -> Value {
    let tokens = redeem(server, client_id, code).await;
    verified(server, tokens["id_token"].as_str().unwrap(), alg).await
}

/// The claims of `id_token`, once its signature is verified with a key of
/// `jwks_uri` (from the RFC 8414 document) named by its `kid`, with `alg`
/// and nothing else.
async fn verified(server: &Server, id_token: &str, alg: Algorithm) -> Value {
    let metadata = get(&server.url("/.well-known/oauth-authorization-server"), &[]).await;
    let jwks_uri = metadata.json()["jwks_uri"].as_str().unwrap().to_owned();
    let set = JwkSet::from_json(get(&jwks_uri, &[]).await.text().as_bytes()).unwrap();
    let jws = UnverifiedJws::parse(id_token).unwrap();
    assert_eq!(jws.header().algorithm(), alg);
    let key = set.find(jws.header().kid().unwrap()).unwrap();
    let payload = jws
        .verify(&PublicKey::from_jwk(key).unwrap(), &[alg])
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

/// `GET` the UserInfo endpoint the OpenID configuration names, with
/// `access_token`.
async fn userinfo(server: &Server, access_token: &str) -> Reply {
    let configuration = get(&server.url("/.well-known/openid-configuration"), &[]).await;
    let endpoint = configuration.json()["userinfo_endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {access_token}");
    get(&endpoint, &[("Authorization", &bearer)]).await
}

fn now() -> i64 {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(seconds.as_secs()).unwrap()
}

#[test]
fn the_user_option_adds_claims_and_keeps_its_old_meaning() {
    let parse = |args: &[&str]| Options::parse(args.iter().map(|a| (*a).to_owned()));
    let Ok(Command::Run(options)) = parse(&["--user", "carol:pa:ss", "--user", ALICE]) else {
        panic!("not accepted")
    };
    let carol = &options.users[0];
    // The old form: split at the first `:`, no claims.
    assert_eq!(
        (carol.name.as_str(), carol.password.as_str()),
        ("carol", "pa:ss")
    );
    assert_eq!(
        (carol.email.as_deref(), carol.full_name.as_deref()),
        (None, None)
    );
    let alice = &options.users[1];
    assert_eq!(alice.name, "alice");
    assert_eq!(alice.password, ALICE_PASSWORD);
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert_eq!(alice.full_name.as_deref(), Some("Alice Liddell"));

    match parse(&["--help"]) {
        Ok(Command::Help(help)) => {
            assert!(help.contains("--user <NAME:PASSWORD>"), "{help}");
            assert!(help.contains(",CLAIM=VALUE"), "{help}");
        }
        other => panic!("--help: {other:?}"),
    }
    for (user, error) in [
        ("alice,email=a@b", "NAME:PASSWORD"),
        ("alice,phone=1:pw", "unknown claim \"phone\""),
        ("alice,email:pw", "expected CLAIM=VALUE"),
        ("alice,email=not-an-address:pw", "email= is an address"),
        ("alice,email=a b@example.com:pw", "email= is an address"),
        ("alice,name= :pw", "name= is up to"),
        ("alice,name=A,name=B:pw", "name= is given twice"),
        (",email=a@b:pw", "a name is"),
    ] {
        match parse(&["--user", user]) {
            Err(message) => assert!(message.contains(error), "{user}: {message}"),
            Ok(other) => panic!("{user} accepted: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_openid_configuration_says_what_the_contract_lists() {
    let server = provider().await;
    let issuer = server.issuer();
    let reply = get(&server.url("/.well-known/openid-configuration"), &[]).await;
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let openid = reply.json();
    assert_eq!(openid["issuer"], issuer.as_str());
    let has = |member: &str, value: &str| {
        let values = openid[member].as_array();
        assert!(
            values.is_some_and(|v| v.iter().any(|x| x == value)),
            "{member} has no {value}: {openid}"
        );
    };
    for scope in ["openid", "profile", "email", "read", "write"] {
        has("scopes_supported", scope);
    }
    has("id_token_signing_alg_values_supported", "RS256");
    has("id_token_signing_alg_values_supported", "ES256");
    has("subject_types_supported", "public");
    has("response_types_supported", "code");
    has("token_endpoint_auth_methods_supported", "private_key_jwt");
    has("token_endpoint_auth_signing_alg_values_supported", "ES256");
    has("token_endpoint_auth_signing_alg_values_supported", "RS256");
    for claim in [
        "sub",
        "auth_time",
        "nonce",
        "preferred_username",
        "name",
        "email",
    ] {
        has("claims_supported", claim);
    }
    assert_eq!(openid["client_id_metadata_document_supported"], true);
    assert_eq!(openid["request_uri_parameter_supported"], false);

    // The same server as the RFC 8414 document: issuer and endpoints.
    let oauth = get(&server.url("/.well-known/oauth-authorization-server"), &[])
        .await
        .json();
    for member in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "userinfo_endpoint",
        "registration_endpoint",
    ] {
        assert!(openid[member].is_string(), "{member}: {openid}");
        assert_eq!(openid[member], oauth[member], "{member}");
    }
    // jwks_uri serves the keys; UserInfo wants a token.
    let jwks = get(openid["jwks_uri"].as_str().unwrap(), &[]).await;
    assert_eq!(jwks.status(), 200);
    assert_eq!(
        JwkSet::from_json(jwks.text().as_bytes())
            .unwrap()
            .keys
            .len(),
        2
    );
    let userinfo = get(openid["userinfo_endpoint"].as_str().unwrap(), &[]).await;
    assert_eq!(userinfo.status(), 401);
    assert!(
        userinfo
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    server.stop().await;
}

#[tokio::test]
async fn a_code_flow_with_openid_returns_a_verifiable_id_token_and_refresh_a_new_one() {
    let server = provider().await;
    let started = now();
    let mut browser = Browser::new();
    let login = browser
        .get(&openid_url(&server, "openid profile email read", &[]))
        .await;
    let code = sign_in_and_approve(&server, &mut browser, &login, "alice", ALICE_PASSWORD).await;
    let tokens = redeem(&server, APP_ID, &code).await;
    assert_eq!(tokens["scope"], "email openid profile read");

    // Signed RS256 (the default) with a key of jwks_uri that its kid names.
    let id_token = tokens["id_token"].as_str().unwrap();
    let claims = verified(&server, id_token, Algorithm::Rs256).await;
    assert_eq!(claims["iss"], server.issuer());
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], APP_ID);
    assert_eq!(claims["nonce"], NONCE);
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(iat >= started && iat <= now(), "{claims}");
    assert!(exp > iat, "{claims}");
    // When alice signed in: during this test, no later than the token.
    let auth_time = claims["auth_time"].as_i64().unwrap();
    assert!(auth_time >= started && auth_time <= iat, "{claims}");
    assert_eq!(claims["amr"], json!(["pwd"]));
    let sid = claims["sid"].as_str().unwrap().to_owned();
    assert!(claims["at_hash"].is_string(), "{claims}");
    // The scope's claims are UserInfo's, not the ID token's (Core §5.4).
    assert!(claims.get("email").is_none(), "{claims}");

    // The access token still opens /api/me as alice, and UserInfo answers
    // it with the same `sub` as the ID token and the scope's claims.
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(server.me(access).await.json()["sub"], "alice");
    let info = userinfo(&server, access).await;
    assert_eq!(info.status(), 200, "{}", info.text());
    assert_eq!(info.header("content-type"), Some("application/json"));
    assert_eq!(
        info.json(),
        json!({
            "sub": claims["sub"],
            "preferred_username": "alice",
            "name": "Alice Liddell",
            "email": "alice@example.com",
            "email_verified": true,
        })
    );

    // A refresh: a new ID token for the same sign-in, without the nonce
    // (Core §12.2).
    let refreshed = post_form(
        &server.endpoint(Endpoint::Token),
        &[],
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", APP_ID),
        ],
    )
    .await;
    assert_eq!(refreshed.status(), 200, "{}", refreshed.text());
    let again = refreshed.json()["id_token"].as_str().unwrap().to_owned();
    assert_ne!(again, id_token);
    let renewed = verified(&server, &again, Algorithm::Rs256).await;
    assert_eq!(renewed["iss"], claims["iss"]);
    assert_eq!(renewed["sub"], "alice");
    assert_eq!(renewed["aud"], APP_ID);
    assert_eq!(renewed["auth_time"], auth_time);
    assert_eq!(renewed["sid"], sid.as_str());
    assert!(renewed.get("nonce").is_none(), "{renewed}");

    // Without `openid`, a plain OAuth flow: no ID token, and UserInfo
    // refuses the token (RFC 6750 §3.1).
    let page = browser
        .get(&authorization_url(&server, APP_ID, &[("scope", "read")]))
        .await;
    let code = approve(&server, &mut browser, &page).await;
    let plain = redeem(&server, APP_ID, &code).await;
    assert!(plain.get("id_token").is_none());
    let refused = userinfo(&server, plain["access_token"].as_str().unwrap()).await;
    assert_eq!(refused.status(), 403);
    let challenge = refused.header("www-authenticate").unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    server.stop().await;
}

#[tokio::test]
async fn prompt_none_answers_without_a_page() {
    let server = provider().await;
    let none = [("prompt", "none")];

    // No session: login_required, to the client, with state and iss.
    let mut browser = Browser::new();
    let reply = browser.get(&openid_url(&server, "openid", &none)).await;
    assert_eq!(reply.status(), 303, "{}", reply.text());
    let params = reply.location_params();
    assert_eq!(params["error"], "login_required");
    assert_eq!(params["state"], STATE);
    assert_eq!(params["iss"], server.issuer());
    assert!(!params.contains_key("code"));

    // Signed in, but nothing approved yet in this session: consent_required.
    let login = browser.get(&openid_url(&server, "openid read", &[])).await;
    let signed_in = browser.sign_in(&login, "alice", ALICE_PASSWORD).await;
    let consent = browser.follow(&signed_in).await;
    let reply = browser.get(&openid_url(&server, "openid", &none)).await;
    assert_eq!(reply.status(), 303, "{}", reply.text());
    assert_eq!(reply.location_params()["error"], "consent_required");

    // Approved once: the same client gets a code without a page, within the
    // scope approved, for the same sign-in.
    let code = approve(&server, &mut browser, &consent).await;
    let first = id_token_of(&server, APP_ID, &code, Algorithm::Rs256).await;
    let reply = browser
        .get(&openid_url(
            &server,
            "openid",
            &[("prompt", "none"), ("nonce", "second")],
        ))
        .await;
    assert_eq!(reply.status(), 303, "{}", reply.text());
    let code = code_of(&server, &reply);
    let silent = id_token_of(&server, APP_ID, &code, Algorithm::Rs256).await;
    assert_eq!(silent["nonce"], "second");
    assert_eq!(silent["sub"], "alice");
    assert_eq!(silent["auth_time"], first["auth_time"]);
    assert_eq!(silent["sid"], first["sid"]);

    // A scope beyond what was approved: consent_required again.
    let reply = browser
        .get(&openid_url(&server, "openid email", &none))
        .await;
    assert_eq!(reply.location_params()["error"], "consent_required");

    // An ID token hint naming alice: a code; naming bob, whom this browser
    // is not signed in as: login_required (Core §3.1.2.1).
    let alice_token = first_token(&server, &mut browser).await;
    let hinted = [("prompt", "none"), ("id_token_hint", alice_token.as_str())];
    let reply = browser.get(&openid_url(&server, "openid", &hinted)).await;
    assert!(
        reply.location_params().contains_key("code"),
        "{:?}",
        reply.location_params()
    );
    let mut bobs = Browser::new();
    let login = bobs.get(&openid_url(&server, "openid", &[])).await;
    let code = sign_in_and_approve(&server, &mut bobs, &login, "bob", "builder").await;
    let bob_token = redeem(&server, APP_ID, &code).await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = browser
        .get(&openid_url(
            &server,
            "openid",
            &[("prompt", "none"), ("id_token_hint", &bob_token)],
        ))
        .await;
    assert_eq!(reply.location_params()["error"], "login_required");
    // Interactively, the same request asks to sign in with the other
    // account.
    let page = browser
        .get(&openid_url(
            &server,
            "openid",
            &[("id_token_hint", &bob_token)],
        ))
        .await;
    assert_eq!(title(&page), "Sign in");
    assert!(
        page.text().contains("asks for another account"),
        "{}",
        page.text()
    );

    // Signed out, prompt=none is login_required again.
    let home = browser.get(&server.url("/")).await;
    let signed_out = browser.submit(&home, &[("decision", "sign_out")]).await;
    assert_eq!(signed_out.status(), 200, "{}", signed_out.text());
    let reply = browser.get(&openid_url(&server, "openid", &none)).await;
    assert_eq!(reply.location_params()["error"], "login_required");
    server.stop().await;
}

/// An ID token of the browser's signed-in user for the demo app, got
/// without a page (the app was approved in this session).
async fn first_token(server: &Server, browser: &mut Browser) -> String {
    let reply = browser
        .get(&openid_url(server, "openid", &[("prompt", "none")]))
        .await;
    let tokens = redeem(server, APP_ID, &code_of(server, &reply)).await;
    tokens["id_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn prompt_login_and_max_age_show_the_login_page_to_a_signed_in_browser() {
    let server = provider().await;
    let mut browser = Browser::new();
    let login = browser.get(&openid_url(&server, "openid", &[])).await;
    let code = sign_in_and_approve(&server, &mut browser, &login, "alice", ALICE_PASSWORD).await;
    let first = id_token_of(&server, APP_ID, &code, Algorithm::Rs256).await;

    // Signed in: straight to the consent page — also with a max_age the
    // sign-in satisfies, and with prompt=consent.
    for params in [&[][..], &[("max_age", "3600")], &[("prompt", "consent")]] {
        let page = browser.get(&openid_url(&server, "openid", params)).await;
        assert_eq!(page.status(), 200, "{params:?}: {}", page.text());
        assert_eq!(title(&page), "Allow access?", "{params:?}");
    }

    // prompt=login and max_age=0: the sign-in page, saying why, with the
    // login_hint in the name field (escaped).
    for params in [&[("prompt", "login")][..], &[("max_age", "0")]] {
        let page = browser.get(&openid_url(&server, "openid", params)).await;
        assert_eq!(page.status(), 200, "{params:?}: {}", page.text());
        page.assert_secure_page();
        assert_eq!(title(&page), "Sign in", "{params:?}");
        assert!(
            page.text().contains("asks you to sign in again"),
            "{params:?}"
        );
    }
    let hinted = [("prompt", "login"), ("login_hint", "al\"ice")];
    let page = browser.get(&openid_url(&server, "openid", &hinted)).await;
    assert!(
        page.text()
            .contains(r#"<input name="username" autocomplete="username" value="al&#34;ice""#),
        "{}",
        page.text()
    );

    // Signing in again continues the flow: a new session, its time in the
    // ID token.
    let code = sign_in_and_approve(&server, &mut browser, &page, "alice", ALICE_PASSWORD).await;
    let again = id_token_of(&server, APP_ID, &code, Algorithm::Rs256).await;
    assert_eq!(again["sub"], "alice");
    assert!(again["auth_time"].as_i64() >= first["auth_time"].as_i64());
    assert_ne!(again["sid"], first["sid"]);

    // Another user may sign in on the page prompt=login shows.
    let page = browser
        .get(&openid_url(&server, "openid", &[("prompt", "login")]))
        .await;
    let code = sign_in_and_approve(&server, &mut browser, &page, "bob", "builder").await;
    let bob = id_token_of(&server, APP_ID, &code, Algorithm::Rs256).await;
    assert_eq!(bob["sub"], "bob");
    server.stop().await;
}

/// Registers a public client for the code flow with `metadata` besides:
/// its information.
async fn register(server: &Server, metadata: Value) -> Value {
    let mut body = json!({
        "client_name": "Relying party",
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "openid profile email",
    });
    body.as_object_mut()
        .unwrap()
        .extend(metadata.as_object().unwrap().clone());
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
    reply.json()
}

#[tokio::test]
async fn a_client_registered_for_es256_gets_es256_id_tokens() {
    let server = provider().await;
    let client = register(&server, json!({"id_token_signed_response_alg": "ES256"})).await;
    assert_eq!(client["id_token_signed_response_alg"], "ES256");
    let client_id = client["client_id"].as_str().unwrap();

    let mut browser = Browser::new();
    let params = [("scope", "openid"), ("nonce", NONCE)];
    let login = browser
        .get(&authorization_url(&server, client_id, &params))
        .await;
    let code = sign_in_and_approve(&server, &mut browser, &login, "alice", ALICE_PASSWORD).await;
    let claims = id_token_of(&server, client_id, &code, Algorithm::Es256).await;
    assert_eq!(claims["aud"], client_id);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["nonce"], NONCE);

    // The demo app still gets RS256, and its consent is not this client's.
    let reply = browser
        .get(&openid_url(&server, "openid", &[("prompt", "none")]))
        .await;
    assert_eq!(reply.location_params()["error"], "consent_required");
    let consent = browser.get(&openid_url(&server, "openid", &[])).await;
    let code = approve(&server, &mut browser, &consent).await;
    let claims = id_token_of(&server, APP_ID, &code, Algorithm::Rs256).await;
    assert_eq!(claims["aud"], APP_ID);
    server.stop().await;
}

/// The relying party's HTTP client, for the `openidconnect` crate: hyper's
/// HTTP/1.1 client on a connection of its own per request — not the tests'
/// client the server's other tests use, so the relying party shares no
/// HTTP code with this project. Plain `http` to this machine only.
async fn rp_http(
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, std::io::Error> {
    use http_body_util::{BodyExt as _, Full};
    use hyper::body::Bytes;

    let (mut parts, body) = request.into_parts();
    assert_eq!(parts.uri.scheme_str(), Some("http"), "{}", parts.uri);
    let authority = parts.uri.authority().unwrap().clone();
    assert_eq!(authority.host(), "127.0.0.1", "{}", parts.uri);
    let stream =
        tokio::net::TcpStream::connect((authority.host(), authority.port_u16().unwrap())).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    // HTTP/1.1's origin form, and the Host header.
    parts.uri = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .unwrap();
    parts
        .headers
        .insert(http::header::HOST, authority.as_str().parse().unwrap());
    let request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
    let response = sender
        .send_request(request)
        .await
        .map_err(std::io::Error::other)?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(std::io::Error::other)?;
    Ok(http::Response::from_parts(parts, body.to_bytes().to_vec()))
}

#[tokio::test]
async fn an_independent_relying_party_signs_in_with_the_openidconnect_crate() {
    use openidconnect::core::{
        CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
    };
    use openidconnect::{
        AccessTokenHash, AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce,
        OAuth2TokenResponse as _, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse as _,
    };

    let server = provider().await;
    // Discovery: the OpenID configuration at the issuer, and its JWKS.
    let issuer = IssuerUrl::new(server.issuer()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &rp_http)
        .await
        .unwrap();
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(APP_ID.into()), None)
        .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());

    // The authorization URL, with PKCE and a nonce; a browser signs in and
    // approves.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let mut browser = Browser::new();
    let login = browser.get(url.as_str()).await;
    let signed_in = browser.sign_in(&login, "alice", ALICE_PASSWORD).await;
    let consent = browser.follow(&signed_in).await;
    let approved = browser.submit(&consent, &[("decision", "approve")]).await;
    assert_eq!(approved.status(), 303, "{}", approved.text());
    let params = approved.location_params();
    assert_eq!(params["state"], *state.secret());
    assert_eq!(params["iss"], server.issuer());

    // The code for tokens; the ID token verified by the crate: signature
    // with a key from jwks_uri, iss, aud, expiry, nonce; then at_hash.
    let tokens = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&rp_http)
        .await
        .unwrap();
    let id_token = tokens.id_token().expect("an ID token");
    let id_verifier = client.id_token_verifier();
    let claims = id_token.claims(&id_verifier, &nonce).unwrap();
    assert_eq!(claims.subject().as_str(), "alice");
    assert_eq!(claims.issuer().as_str(), server.issuer());
    assert!(claims.auth_time().is_some());
    let expected_hash = claims.access_token_hash().expect("at_hash");
    let actual_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(*expected_hash, actual_hash);
    // Another nonce is refused by the crate.
    let other = Nonce::new("not-the-nonce".into());
    assert!(id_token.claims(&id_verifier, &other).is_err());

    // UserInfo through the crate: the same subject, the scope's claims.
    let userinfo: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&rp_http)
        .await
        .unwrap();
    assert_eq!(userinfo.subject().as_str(), "alice");
    assert_eq!(
        userinfo.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );
    assert_eq!(userinfo.email_verified(), Some(true));
    assert_eq!(
        userinfo.preferred_username().map(|u| u.as_str()),
        Some("alice")
    );
    let name = userinfo
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str());
    assert_eq!(name, Some("Alice Liddell"));
    server.stop().await;
}

/// Where the relying party of the logout tests wants the browser after
/// logout: registered exactly.
const SIGNED_OUT: &str = "http://127.0.0.1:43117/signed-out";

#[tokio::test]
async fn rp_initiated_logout_asks_then_ends_the_session_and_redirects() {
    let server = provider().await;
    let client = register(
        &server,
        json!({"post_logout_redirect_uris": [SIGNED_OUT], "client_name": "Reports"}),
    )
    .await;
    let client_id = client["client_id"].as_str().unwrap();
    let logout = get(&server.url("/.well-known/openid-configuration"), &[])
        .await
        .json()["end_session_endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut browser = Browser::new();
    let params = [("scope", "openid"), ("nonce", NONCE)];
    let login = browser
        .get(&authorization_url(&server, client_id, &params))
        .await;
    let code = sign_in_and_approve(&server, &mut browser, &login, "alice", ALICE_PASSWORD).await;
    let id_token = redeem(&server, client_id, &code).await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let request = format!(
        "{logout}?{}",
        example::form(&[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", SIGNED_OUT),
            ("state", STATE),
        ])
    );

    // A post-logout URI the client did not register: refused, sent nowhere,
    // still signed in.
    let elsewhere = request.replace("signed-out", "signed-out%2F");
    let refused = browser.get(&elsewhere).await;
    assert_eq!(refused.status(), 400, "{}", refused.text());
    assert!(refused.header("location").is_none());

    // The question first: the client named, the request kept in the form.
    let asked = browser.get(&request).await;
    assert_eq!(asked.status(), 200, "{}", asked.text());
    asked.assert_secure_page();
    assert_eq!(title(&asked), "Sign out?");
    let text = asked.text();
    assert!(
        text.contains("Signed in as <strong>alice</strong>"),
        "{text}"
    );
    assert!(text.contains("<strong>Reports</strong>"), "{text}");
    assert!(asked.header("location").is_none());

    // "Stay signed in": nothing ends, nobody is redirected; the client's
    // prompt=none still gets a code.
    let silently = authorization_url(
        &server,
        client_id,
        &[("scope", "openid"), ("prompt", "none")],
    );
    let stayed = browser.submit(&asked, &[("decision", "stay")]).await;
    assert_eq!(stayed.status(), 200, "{}", stayed.text());
    assert!(stayed.header("location").is_none());
    let reply = browser.get(&silently).await;
    code_of(&server, &reply);

    // Signing out: the session cookie removed, then the registered URI
    // with the state (RP-Initiated Logout 1.0 §3).
    let out = browser.submit(&asked, &[("decision", "sign_out")]).await;
    assert_eq!(out.status(), 303, "{}", out.text());
    let location = out.location();
    assert_eq!(
        location.as_str().split('?').next(),
        Some(SIGNED_OUT),
        "{location}"
    );
    assert_eq!(out.location_params()["state"], STATE);
    assert!(browser.cookie("session").is_none());
    let reply = browser.get(&silently).await;
    assert_eq!(reply.location_params()["error"], "login_required");

    // Without a session there is nothing to end or ask: straight back.
    let again = browser.get(&request).await;
    assert_eq!(again.status(), 303, "{}", again.text());
    assert!(again.location().as_str().starts_with(SIGNED_OUT));
    server.stop().await;
}
