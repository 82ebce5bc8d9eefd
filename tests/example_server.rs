//! The example authorization server (`examples/server/`) as its users and
//! scripts see it: the command line, what it prints, the metadata, the
//! sign-in, consent and device pages as a browser sees them (cookies, CSRF,
//! headers, escaping, throttling), the protected resource's refusals,
//! registration, and the secrets kept across a restart. Run in process and
//! driven over real HTTP on loopback.
//!
//! The flows end to end, through the `oauth2` client crate, are in
//! `tests/end_to_end.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod example;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use example::app::options::{Command, Options};
use example::{Browser, DEVICE_GRANT, Reply, Server, app, get, post_form, request, start};
use portcullis::endpoint::Endpoint;
use serde_json::json;

const REGISTRATION_TOKEN: &str = "iat-Xq3vR8nT2wY6pL9zB4cF7hJ1kM5sD0gA";
/// A redirect URI of the demo app: loopback, any port.
const CALLBACK: &str = "http://127.0.0.1:43117/callback";
/// A `state` that needs escaping everywhere.
const STATE: &str = "st-<&\"'>";

fn parse(args: &[&str]) -> Result<Command, String> {
    Options::parse(args.iter().map(|a| (*a).to_owned()))
}

fn run(args: &[&str]) -> Options {
    match parse(args) {
        Ok(Command::Run(options)) => *options,
        other => panic!("{args:?}: {other:?}"),
    }
}

/// The demo app's authorization request URL, with PKCE.
fn authorization_url(server: &Server, client_id: &str) -> String {
    let query = example::form(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", CALLBACK),
        ("scope", "read"),
        ("state", STATE),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
    ]);
    format!("{}?{query}", server.endpoint(Endpoint::Authorization))
}

/// The `Set-Cookie` header of a reply that sets the session cookie: exactly
/// one (a sign-in also sets the known-browser cookie, see
/// [`known_browser_cookie`]).
fn session_cookie(reply: &Reply) -> String {
    let cookies: Vec<&str> = reply
        .headers("set-cookie")
        .into_iter()
        .filter(|c| c.starts_with("session=") || c.starts_with("__Host-session="))
        .collect();
    assert_eq!(cookies.len(), 1, "{:?}", reply.headers("set-cookie"));
    cookies[0].to_owned()
}

/// The `Set-Cookie` header of a reply that sets the known-browser cookie, if
/// any.
fn known_browser_cookie(reply: &Reply) -> Option<String> {
    let mut cookies = reply
        .headers("set-cookie")
        .into_iter()
        .filter(|c| c.starts_with("browser=") || c.starts_with("__Host-browser="));
    let cookie = cookies.next().map(str::to_owned);
    assert!(
        cookies.next().is_none(),
        "{:?}",
        reply.headers("set-cookie")
    );
    cookie
}

/// The attributes of a `Set-Cookie` header, sorted (their order is not
/// the cookie's meaning).
fn attributes(set_cookie: &str) -> Vec<&str> {
    let mut attributes: Vec<&str> = set_cookie.split("; ").skip(1).collect();
    attributes.sort_unstable();
    attributes
}

/// A browser signed in as the demo user, on the consent page of a new
/// authorization request.
async fn consent_page(server: &Server) -> (Browser, Reply) {
    let mut browser = Browser::new();
    let (user, password) = server.user();
    let login = browser
        .get(&authorization_url(server, app::clients::APP_ID))
        .await;
    let signed_in = browser.sign_in(&login, &user, &password).await;
    let consent = browser.follow(&signed_in).await;
    assert_eq!(consent.status(), 200, "{}", consent.text());
    (browser, consent)
}

#[test]
fn the_command_line() {
    let defaults = run(&[]);
    assert_eq!(defaults.addr, "127.0.0.1:8080");
    assert_eq!(defaults.issuer, None);
    assert_eq!(defaults.database, "portcullis-demo.sqlite3");
    assert_eq!(defaults.registration_token, None);
    assert!(defaults.users.is_empty());
    assert_eq!(defaults.scopes, ["read", "write"]);
    match parse(&["--help"]) {
        Ok(Command::Help(help)) => {
            for option in [
                "--addr <HOST:PORT>",
                "--issuer <URL>",
                "--database <PATH>",
                "--registration-token <TOKEN>",
                "--user <NAME:PASSWORD>",
                "--scope <NAME>",
            ] {
                assert!(help.contains(option), "{option} in {help}");
            }
        }
        other => panic!("--help: {other:?}"),
    }

    let options = run(&[
        "--addr=[::1]:9000",
        "--issuer",
        "https://auth.example",
        "--database",
        ":memory:",
        "--registration-token",
        REGISTRATION_TOKEN,
        "--user",
        "alice:pa:ss",
        "--user=bob:secret",
        "--scope",
        "read",
        "--scope",
        "admin",
    ]);
    assert_eq!(options.addr, "[::1]:9000");
    assert_eq!(options.issuer.as_deref(), Some("https://auth.example"));
    assert_eq!(options.database, ":memory:");
    assert_eq!(
        options.registration_token.as_deref(),
        Some(REGISTRATION_TOKEN)
    );
    let users: Vec<(&str, &str)> = options
        .users
        .iter()
        .map(|u| (u.name.as_str(), u.password.as_str()))
        .collect();
    assert_eq!(users, [("alice", "pa:ss"), ("bob", "secret")]);
    assert_eq!(options.scopes, ["read", "admin"]);

    for (args, error) in [
        (&["--bogus", "x"][..], "unexpected argument '--bogus'"),
        (&["--bogus"], "unexpected argument '--bogus'"),
        (&["--addr"], "a value is required for '--addr <HOST:PORT>'"),
        (&["--addr", "8080"], "HOST:PORT"),
        (&["--addr", "localhost:http"], "HOST:PORT"),
        (&["--user", "alice"], "NAME:PASSWORD"),
        (&["--user", ":pw"], "NAME:PASSWORD"),
        (&["--user", "a b:pw"], "a name is"),
        (&["--user", "a:1", "--user", "a:2"], "given twice"),
        (&["--scope", "read write"], "one scope per --scope"),
        (&["--scope", ""], "not a scope token"),
        (&["--database", ""], "--database"),
        (&["serve"], "unexpected argument"),
    ] {
        match parse(args) {
            Err(message) => assert!(message.contains(error), "{args:?}: {message}"),
            Ok(other) => panic!("{args:?} accepted: {other:?}"),
        }
    }
}

#[tokio::test]
async fn prints_listening_on_once_it_accepts_connections_and_stops() {
    let server = start(&[]).await;
    let url = server.running.url.clone();
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(port, 0);
    // The last line, for scripts to wait for.
    assert_eq!(
        server.printed.lines().last(),
        Some(format!("listening on {url}").as_str())
    );
    // The issuer is http://HOST:PORT of --addr, as configured: no `/` added.
    assert_eq!(server.issuer(), url);
    let (user, password) = server.user();
    assert_eq!(user, app::DEMO_USER);
    assert!(
        server
            .printed
            .contains(&format!("demo user:           demo / {password}\n")),
        "{}",
        server.printed
    );
    let secret = &server.demo().clients.service_secret;
    assert!(server.printed.contains(&format!("demo-service / {secret}")));
    assert!(server.printed.contains(&server.demo().introspection_secret));

    let metadata = get(
        &format!("{url}/.well-known/oauth-authorization-server"),
        &[],
    )
    .await;
    assert_eq!(metadata.status(), 200);
    // RFC 8414 §3.3: a client configured with `http://127.0.0.1:PORT`
    // compares the document's issuer with it as a string.
    assert_eq!(metadata.json()["issuer"], url.as_str());
    server.stop().await;
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "nothing listens once stopped"
    );
}

#[tokio::test]
async fn refuses_to_start_on_a_bad_configuration() {
    let occupied = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let taken = occupied.local_addr().unwrap().to_string();
    for (args, error) in [
        (&["--issuer", "http://auth.example"][..], "--issuer"),
        (&["--registration-token", "short"], "--registration-token"),
        (&["--addr", &taken], "cannot listen on"),
    ] {
        let options = example::options(args);
        let mut printed = Vec::new();
        match app::start(options, &mut printed).await {
            Err(e) => assert!(e.to_string().contains(error), "{args:?}: {e}"),
            Ok(_) => panic!("{args:?} started"),
        }
        assert!(printed.is_empty(), "nothing printed before failing");
    }
}

#[tokio::test]
async fn metadata_advertises_what_is_served() {
    let server = start(&["--registration-token", REGISTRATION_TOKEN]).await;
    let issuer = server.issuer();
    let reply = get(&server.url("/.well-known/oauth-authorization-server"), &[]).await;
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));
    let metadata = reply.json();
    assert_eq!(metadata["issuer"], issuer);
    // The --scope list, and OpenID Connect's scopes, always known.
    assert_eq!(
        metadata["scopes_supported"],
        json!(["openid", "email", "profile", "read", "write"])
    );
    assert_eq!(metadata["response_types_supported"], json!(["code"]));
    assert_eq!(
        metadata["grant_types_supported"],
        json!([
            "authorization_code",
            "refresh_token",
            "client_credentials",
            DEVICE_GRANT,
            "urn:ietf:params:oauth:grant-type:token-exchange"
        ])
    );
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "none",
            "private_key_jwt"
        ])
    );
    assert_eq!(
        metadata["token_endpoint_auth_signing_alg_values_supported"],
        json!(["ES256", "RS256", "PS256", "EdDSA"])
    );
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );

    // Every advertised endpoint is served where advertised, and is the
    // library's endpoint: it answers an empty request with its own error.
    let expected = [
        ("authorization_endpoint", "GET", 400, None),
        ("token_endpoint", "POST", 400, Some("invalid_request")),
        ("revocation_endpoint", "POST", 400, Some("invalid_request")),
        (
            "introspection_endpoint",
            "POST",
            400,
            Some("invalid_request"),
        ),
        (
            "device_authorization_endpoint",
            "POST",
            400,
            Some("invalid_client"),
        ),
        ("registration_endpoint", "POST", 401, Some("invalid_token")),
        // RFC 9126 §2: the client authenticates as at the token endpoint.
        (
            "pushed_authorization_request_endpoint",
            "POST",
            400,
            Some("invalid_client"),
        ),
        // OpenID Connect Core 1.0 §5.3: without a token, a bare challenge.
        ("userinfo_endpoint", "GET", 401, None),
        // RP-Initiated Logout 1.0 §2: no session, no parameters: the
        // "signed out" page.
        ("end_session_endpoint", "GET", 200, None),
    ];
    let advertised: Vec<&str> = metadata
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.ends_with("_endpoint"))
        .map(String::as_str)
        .collect();
    assert_eq!(advertised.len(), expected.len(), "{advertised:?}");
    for (member, method, status, error) in expected {
        let url = metadata[member].as_str().unwrap();
        assert!(url.starts_with(&issuer), "{url}");
        let headers = [("Content-Type", "application/x-www-form-urlencoded")];
        let reply = request(method, url, &headers, "").await;
        assert_eq!(reply.status(), status, "{member} {}", reply.text());
        if let Some(error) = error {
            assert_eq!(reply.json()["error"], error, "{member}");
        }
    }

    // The library answers wrong methods at its endpoints.
    let reply = get(&server.endpoint(Endpoint::Token), &[]).await;
    assert_eq!(reply.status(), 405);
    assert_eq!(reply.header("allow"), Some("POST"));
    assert_eq!(reply.json()["error"], "invalid_request");
}

#[tokio::test]
async fn users_and_scopes_from_the_command_line() {
    let server = start(&[
        "--user",
        "alice:wonderland",
        "--scope",
        "read",
        "--scope",
        "admin",
    ])
    .await;
    assert!(server.printed.contains("users:               alice\n"));
    assert!(!server.printed.contains("demo user"));
    let metadata = get(&server.url("/.well-known/oauth-authorization-server"), &[])
        .await
        .json();
    assert_eq!(
        metadata["scopes_supported"],
        json!(["openid", "admin", "email", "profile", "read"])
    );

    // No demo user; alice signs in.
    let url = authorization_url(&server, app::clients::APP_ID);
    let mut browser = Browser::new();
    let login = browser.get(&url).await;
    let demo_password = "whatever-it-would-be";
    let refused = browser.sign_in(&login, app::DEMO_USER, demo_password).await;
    assert_eq!(refused.status(), 403);
    let signed_in = browser.sign_in(&refused, "alice", "wonderland").await;
    let consent = browser.follow(&signed_in).await;
    assert!(
        consent
            .text()
            .contains("Signed in as <strong>alice</strong>")
    );
    // A scope the server does not know: the client is told (RFC 6749
    // §4.1.2.1), with the state.
    let unknown = url.replace("scope=read", "scope=write");
    let reply = browser.get(&unknown).await;
    assert_eq!(reply.status(), 303, "{}", reply.text());
    assert_eq!(reply.location_params()["error"], "invalid_scope");
    assert_eq!(reply.location_params()["state"], STATE);
}

#[tokio::test]
async fn sign_in_then_consent_then_the_redirect() {
    let server = start(&[]).await;
    let (user, password) = server.user();
    let mut browser = Browser::new();

    // No session: the sign-in page, naming the client and the scope, and
    // starting a session before login.
    let login = browser
        .get(&authorization_url(&server, app::clients::APP_ID))
        .await;
    assert_eq!(login.status(), 200, "{}", login.text());
    login.assert_secure_page();
    let text = login.text();
    assert!(text.contains("<title>Sign in</title>"), "{text}");
    assert!(text.contains("<strong>Demo app</strong> (client <code>demo-app</code>)"));
    assert!(text.contains("<li><code>read</code></li>"));
    assert!(!login.hidden("csrf").is_empty());
    let before = session_cookie(&login);
    assert!(before.starts_with("session="), "{before}");
    assert_eq!(
        attributes(&before),
        ["HttpOnly", "Max-Age=3600", "Path=/", "SameSite=Lax"]
    );

    // A wrong password: the page again, nothing else.
    let wrong = browser.sign_in(&login, &user, "guess").await;
    assert_eq!(wrong.status(), 403);
    wrong.assert_secure_page();
    assert!(wrong.text().contains("Wrong user name or password"));
    assert!(wrong.header("location").is_none());

    // The same form from a browser without the session: refused (login
    // CSRF).
    let elsewhere = Browser::new().sign_in(&login, &user, &password).await;
    assert_eq!(elsewhere.status(), 403);
    assert!(elsewhere.text().contains("Form not accepted"));
    assert!(elsewhere.header("set-cookie").is_none());

    // Signed in: a new session (a new id), and on to the consent page.
    let signed_in = browser.sign_in(&login, &user, &password).await;
    assert_eq!(signed_in.status(), 303, "{}", signed_in.text());
    let after = session_cookie(&signed_in);
    assert_eq!(
        attributes(&after),
        ["HttpOnly", "Max-Age=28800", "Path=/", "SameSite=Lax"]
    );
    let (id_before, id_after) = (
        before.split(['=', '.']).nth(1).unwrap(),
        after.split(['=', '.']).nth(1).unwrap(),
    );
    assert_ne!(id_before, id_after);
    let consent_url = signed_in.location();
    assert_eq!(consent_url.path(), "/consent");
    let consent = browser.follow(&signed_in).await;
    assert_eq!(consent.status(), 200, "{}", consent.text());
    consent.assert_secure_page();
    let text = consent.text();
    assert!(text.contains(&format!("Signed in as <strong>{user}</strong>")));
    assert!(text.contains("<strong>Demo app</strong>"));
    assert!(text.contains("<li><code>read</code></li>"));
    assert!(text.contains(r#"<button type="submit" name="decision" value="approve">"#));
    assert!(text.contains(r#"<button type="submit" name="decision" value="deny">"#));

    // The consent link works in this browser only: not without a session,
    // not in another browser signed in as the same user.
    assert_eq!(Browser::new().get(consent_url.as_str()).await.status(), 403);
    let mut other = Browser::new();
    let other_login = other
        .get(&authorization_url(&server, app::clients::APP_ID))
        .await;
    other.sign_in(&other_login, &user, &password).await;
    assert_eq!(other.get(consent_url.as_str()).await.status(), 403);
    // A forged decision: refused, nothing decided.
    let (action, _, _) = consent.form();
    let forged = browser
        .post_form(
            &action,
            &[
                ("request", &consent.hidden("request")),
                ("csrf", &login.hidden("csrf")),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(forged.status(), 403);

    // Approved: a 303 to the client with the code, the state and the issuer
    // (RFC 6749 §4.1.2, RFC 9207).
    let approved = browser.submit(&consent, &[("decision", "approve")]).await;
    assert_eq!(approved.status(), 303, "{}", approved.text());
    let location = approved.location();
    assert!(location.as_str().starts_with(CALLBACK), "{location}");
    let params = approved.location_params();
    assert!(params["code"].starts_with("pc_ac_"));
    assert_eq!(params["state"], STATE);
    assert_eq!(params["iss"], server.issuer());
    // The same form again decides nothing.
    let again = browser.submit(&consent, &[("decision", "approve")]).await;
    assert_eq!(again.status(), 400);
    assert!(again.header("location").is_none());

    // The session lasts: the next request goes straight to consent.
    let next = browser
        .get(&authorization_url(&server, app::clients::APP_ID))
        .await;
    assert_eq!(next.status(), 200);
    assert!(next.text().contains("<title>Allow access?</title>"));
    assert!(next.header("set-cookie").is_none());
}

#[tokio::test]
async fn a_denied_request_goes_back_to_the_client_as_access_denied() {
    let server = start(&[]).await;
    let (mut browser, consent) = consent_page(&server).await;
    let denied = browser.submit(&consent, &[("decision", "deny")]).await;
    assert_eq!(denied.status(), 303, "{}", denied.text());
    let params = denied.location_params();
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], STATE);
    assert_eq!(params["iss"], server.issuer());
    assert!(!params.contains_key("code"));

    // An unknown client is never redirected to (RFC 6749 §4.1.2.1).
    let reply = browser
        .get(&format!(
            "{}?response_type=code&client_id=nobody",
            server.endpoint(Endpoint::Authorization)
        ))
        .await;
    assert_eq!(reply.status(), 400);
    assert!(reply.header("location").is_none());
}

#[tokio::test]
async fn the_device_page_needs_a_login_the_code_and_the_form() {
    let server = start(&[]).await;
    let (user, password) = server.user();
    let app_id = &server.demo().clients.app_id;
    let codes = post_form(
        &server.endpoint(Endpoint::DeviceAuthorization),
        &[],
        &[("client_id", app_id), ("scope", "read")],
    )
    .await;
    assert_eq!(codes.status(), 200, "{}", codes.text());
    let codes = codes.json();
    let verification = codes["verification_uri"].as_str().unwrap();
    assert_eq!(verification, server.url("/device"));
    let user_code = codes["user_code"].as_str().unwrap();

    // The link from the device: sign in first, then the code is filled in.
    let mut browser = Browser::new();
    let login = browser
        .get(codes["verification_uri_complete"].as_str().unwrap())
        .await;
    assert!(login.text().contains("Sign in to connect a device"));
    assert_eq!(login.hidden("user_code"), user_code);
    let signed_in = browser.sign_in(&login, &user, &password).await;
    let form = browser.follow(&signed_in).await;
    assert_eq!(form.status(), 200, "{}", form.text());
    form.assert_secure_page();
    assert!(
        form.text()
            .contains(&format!("name=\"user_code\" value=\"{user_code}\""))
    );

    // A wrong code: the form again.
    let wrong = browser.submit(&form, &[("user_code", "BCDF-GHJK")]).await;
    assert_eq!(wrong.status(), 400);
    assert!(wrong.text().contains("not valid"));
    // Without the form's token: refused.
    let forged = browser
        .post_form(verification, &[("user_code", user_code)])
        .await;
    assert_eq!(forged.status(), 403);

    // The code as typed loosely: what the device asks for, and the decision.
    let typed = user_code.to_lowercase().replace('-', "");
    let confirm = browser.submit(&form, &[("user_code", &typed)]).await;
    assert_eq!(confirm.status(), 200, "{}", confirm.text());
    confirm.assert_secure_page();
    let text = confirm.text();
    assert!(text.contains("<strong>Demo app</strong>"));
    assert!(text.contains(&format!("<strong>{user_code}</strong>")));
    assert!(text.contains("<li><code>read</code></li>"));
    // The decision form decides for its code only.
    let forged = browser
        .post_form(
            verification,
            &[
                ("user_code", "BCDF-GHJK"),
                ("csrf", &confirm.hidden("csrf")),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(forged.status(), 400);
    assert!(forged.text().contains("not valid"));

    let denied = browser.submit(&confirm, &[("decision", "deny")]).await;
    assert_eq!(denied.status(), 200, "{}", denied.text());
    assert!(denied.text().contains("You denied Demo app access"));
    let poll = post_form(
        &server.endpoint(Endpoint::Token),
        &[],
        &[
            ("grant_type", DEVICE_GRANT),
            ("device_code", codes["device_code"].as_str().unwrap()),
            ("client_id", app_id),
        ],
    )
    .await;
    assert_eq!(poll.status(), 400);
    assert_eq!(poll.json()["error"], "access_denied");
}

#[tokio::test]
async fn the_protected_resource_refuses_as_rfc_6750_says() {
    let server = start(&[]).await;
    let api = server.url(app::RESOURCE_PATH);

    // No token: no error code (RFC 6750 §3.1), but the scope and the
    // resource's metadata (RFC 9728 §5.1).
    let reply = get(&api, &[]).await;
    assert_eq!(reply.status(), 401);
    let metadata = server.url("/.well-known/oauth-protected-resource/api/me");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(
            format!("Bearer realm=\"demo\", scope=\"read\", resource_metadata=\"{metadata}\"")
                .as_str()
        )
    );
    // An unknown token.
    let reply = server.me("pc_at_not-a-token-this-server-issued").await;
    assert_eq!(reply.status(), 401);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    // A token without `read`: 403 with the scope it needs.
    let clients = &server.demo().clients;
    let reply = post_form(
        &server.endpoint(Endpoint::Token),
        &[(
            "Authorization",
            &example::basic(&clients.service_id, &clients.service_secret),
        )],
        &[("grant_type", "client_credentials"), ("scope", "write")],
    )
    .await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    let reply = server
        .me(reply.json()["access_token"].as_str().unwrap())
        .await;
    assert_eq!(reply.status(), 403);
    let challenge = reply.header("www-authenticate").unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"read\""), "{challenge}");
}

#[tokio::test]
async fn a_client_that_knows_only_the_resource_finds_its_authorization_server() {
    // RFC 9728 §5's discovery, as an MCP client starts it.
    let server = start(&[]).await;
    let resource = server.url(app::RESOURCE_PATH);
    let metadata_url = server.url("/.well-known/oauth-protected-resource/api/me");
    assert_eq!(resource, format!("{}/api/me", server.running.url));

    // 1–2. The resource without a token, and with a bad one: 401, naming
    // the metadata and the scope to ask for.
    for reply in [
        get(&resource, &[]).await,
        server.me("pc_at_not-a-token-this-server-issued").await,
    ] {
        assert_eq!(reply.status(), 401);
        let challenge = reply.header("www-authenticate").unwrap();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        assert!(
            challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")),
            "{challenge}"
        );
        assert!(challenge.contains(" scope=\"read\""), "{challenge}");
    }

    // 3–5. The document, checked against the resource called (§3.3).
    let reply = get(&metadata_url, &[]).await;
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));
    let document = reply.json();
    assert_eq!(document["resource"], resource.as_str());
    assert_eq!(document["authorization_servers"], json!([server.issuer()]));
    assert_eq!(document["bearer_methods_supported"], json!(["header"]));
    assert_eq!(document["scopes_supported"], json!(["read"]));
    // Contract version 2: /api/me takes DPoP-bound tokens (RFC 9449 §7).
    assert_eq!(
        document["dpop_signing_alg_values_supported"],
        json!(["ES256", "RS256", "PS256", "EdDSA"])
    );
    let parsed = portcullis::resource::ProtectedResourceMetadata::parse_for(
        &resource,
        reply.text().as_bytes(),
    )
    .unwrap();
    assert!(
        portcullis::resource::ProtectedResourceMetadata::parse_for(
            &format!("{resource}/"),
            reply.text().as_bytes()
        )
        .is_err()
    );
    // The document is not behind the bearer layer, and answers only GET.
    let reply = post_form(&metadata_url, &[], &[]).await;
    assert_eq!(reply.status(), 405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));

    // 6–7. The authorization server's metadata, from its issuer (RFC 8414
    // §3.1), is this server's.
    let issuer = &parsed.authorization_servers()[0];
    assert_eq!(*issuer, server.issuer());
    let issuer_url = url::Url::parse(issuer).unwrap();
    let as_metadata = format!(
        "{}/.well-known/oauth-authorization-server{}",
        issuer_url.origin().ascii_serialization(),
        issuer_url.path().trim_end_matches('/')
    );
    let reply = get(&as_metadata, &[]).await;
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.json()["issuer"], issuer.as_str());

    // 10–11. A token for `read` from that server opens the resource.
    let clients = &server.demo().clients;
    let reply = post_form(
        reply.json()["token_endpoint"].as_str().unwrap(),
        &[(
            "Authorization",
            &example::basic(&clients.service_id, &clients.service_secret),
        )],
        &[("grant_type", "client_credentials"), ("scope", "read")],
    )
    .await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    let reply = server
        .me(reply.json()["access_token"].as_str().unwrap())
        .await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    assert_eq!(reply.json()["scope"], "read");
}

#[tokio::test]
async fn revocation_and_introspection_without_credentials_are_401_with_a_challenge() {
    // RFC 7009 §2.1 and RFC 7662 §2.1 require the caller to authenticate;
    // RFC 9110 §15.5.2: the 401 names the schemes that would do.
    let server = start(&[]).await;
    let realm = format!("realm=\"{}\"", server.issuer());
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let token = "token=pc_at_not-a-token-this-server-issued";

    let reply = request(
        "POST",
        &server.endpoint(Endpoint::Revocation),
        &headers,
        token,
    )
    .await;
    assert_eq!(reply.status(), 401, "{}", reply.text());
    assert_eq!(reply.json()["error"], "invalid_client");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(&*format!("Basic {realm}"))
    );

    // Clients use Basic, the resource server its bearer credential.
    let reply = request(
        "POST",
        &server.endpoint(Endpoint::Introspection),
        &headers,
        token,
    )
    .await;
    assert_eq!(reply.status(), 401, "{}", reply.text());
    assert_eq!(reply.json()["error"], "invalid_client");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(&*format!("Basic {realm}, Bearer {realm}"))
    );
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let server = start(&[]).await;
    let (mut browser, _) = consent_page(&server).await;
    let home = browser.get(&server.url("/")).await;
    assert_eq!(home.status(), 200);
    home.assert_secure_page();
    assert!(home.text().contains("Signed in as <strong>demo</strong>"));
    // Not without the form's token: a forged answer is refused, and a
    // post with none only asks.
    let logout = server.url("/logout");
    let forged = browser
        .post_form(&logout, &[("decision", "sign_out"), ("csrf", "guess")])
        .await;
    assert_eq!(forged.status(), 403);
    let asked = browser.post_form(&logout, &[]).await;
    assert_eq!(asked.status(), 200);
    assert!(asked.text().contains("<title>Sign out?</title>"));
    assert!(browser.cookie("session").is_some());

    // The home page's button signs out at the logout endpoint: the session
    // cookie is removed, and the library's "signed out" page shown.
    let out = browser.submit(&home, &[("decision", "sign_out")]).await;
    assert_eq!(out.status(), 200, "{}", out.text());
    assert!(out.text().contains("signed out"), "{}", out.text());
    let removal = session_cookie(&out);
    assert!(removal.starts_with("session=;"), "{removal}");
    assert!(attributes(&removal).contains(&"Max-Age=0"), "{removal}");
    assert!(attributes(&removal).contains(&"Path=/"), "{removal}");
    assert_eq!(browser.cookie("session"), None);
    let page = browser
        .get(&authorization_url(&server, app::clients::APP_ID))
        .await;
    assert!(page.text().contains("<title>Sign in</title>"));
}

#[tokio::test]
async fn on_an_https_issuer_the_session_cookie_is_secure() {
    let server = example::start_https(&[]).await;
    assert!(server.issuer().starts_with("https://127.0.0.1:"));
    let mut browser = Browser::new();
    let login = browser
        .get(&authorization_url(&server, app::clients::APP_ID))
        .await;
    assert_eq!(login.status(), 200, "{}", login.text());
    let cookie = session_cookie(&login);
    // `__Host-`: only ever set by this host, over https, for every path.
    assert!(cookie.starts_with("__Host-session="), "{cookie}");
    assert_eq!(
        attributes(&cookie),
        [
            "HttpOnly",
            "Max-Age=3600",
            "Path=/",
            "SameSite=Lax",
            "Secure"
        ]
    );
}

#[tokio::test]
async fn dynamic_registration_with_the_initial_access_token() {
    let server = start(&["--registration-token", REGISTRATION_TOKEN]).await;
    let register = server.endpoint(Endpoint::Registration);
    let metadata =
        r#"{"client_name": "Reports", "grant_types": ["client_credentials"], "scope": "read"}"#;
    let json_type = ("Content-Type", "application/json");

    // Without the initial access token: refused.
    let reply = request("POST", &register, &[json_type], metadata).await;
    assert_eq!(reply.status(), 401);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );

    let auth = format!("Bearer {REGISTRATION_TOKEN}");
    let reply = request(
        "POST",
        &register,
        &[json_type, ("Authorization", &auth)],
        metadata,
    )
    .await;
    assert_eq!(reply.status(), 201, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let info = reply.json();
    let id = info["client_id"].as_str().unwrap();
    let secret = info["client_secret"].as_str().unwrap();
    let configuration = info["registration_client_uri"].as_str().unwrap();
    assert_eq!(configuration, format!("{register}/{id}"));

    // The new client gets tokens the API accepts.
    let reply = post_form(
        &server.endpoint(Endpoint::Token),
        &[("Authorization", &example::basic(id, secret))],
        &[("grant_type", "client_credentials"), ("scope", "read")],
    )
    .await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    let access = reply.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(server.me(&access).await.json()["sub"], id);

    // It reads its configuration (RFC 7592 §2.1), then deletes itself: its
    // token dies with it.
    let rat = format!(
        "Bearer {}",
        info["registration_access_token"].as_str().unwrap()
    );
    let reply = get(configuration, &[("Authorization", &rat)]).await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    let current = reply.json();
    assert_eq!(current["client_name"], "Reports");
    let rat = format!(
        "Bearer {}",
        current["registration_access_token"].as_str().unwrap()
    );
    let reply = request("DELETE", configuration, &[("Authorization", &rat)], "").await;
    assert_eq!(reply.status(), 204);
    assert_eq!(server.me(&access).await.status(), 401);
}

/// `private_key_jwt` (RFC 7523): a client registered through RFC 7591 with
/// inline `jwks` authenticates with signed assertions at the token,
/// introspection and revocation endpoints, each `aud` the issuer or the
/// endpoint; a replayed `jti` and an expired assertion are refused.
#[tokio::test]
async fn a_private_key_jwt_client_registers_its_jwks_and_authenticates_with_assertions() {
    use portcullis::jose::{Algorithm, SigningKey, sign_json};
    let server = start(&["--registration-token", REGISTRATION_TOKEN]).await;
    let key = SigningKey::generate(Algorithm::Es256)
        .unwrap()
        .with_key_id("client-key-1")
        .unwrap();
    let document = json!({
        "client_name": "Signed reports",
        "grant_types": ["client_credentials"],
        "scope": "read",
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [key.public_jwk()]},
    });
    let auth = format!("Bearer {REGISTRATION_TOKEN}");
    let reply = request(
        "POST",
        &server.endpoint(Endpoint::Registration),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
        ],
        document.to_string(),
    )
    .await;
    assert_eq!(reply.status(), 201, "{}", reply.text());
    let info = reply.json();
    assert!(info.get("client_secret").is_none());
    assert_eq!(info["token_endpoint_auth_method"], "private_key_jwt");
    let id = info["client_id"].as_str().unwrap().to_owned();

    let now = portcullis::jose::seconds(std::time::SystemTime::now());
    let jti = std::sync::atomic::AtomicUsize::new(0);
    let assertion = |aud: String, exp: i64| {
        let claims = json!({
            "iss": id, "sub": id, "aud": aud, "iat": now, "exp": exp,
            "jti": format!("jti-{}", jti.fetch_add(1, std::sync::atomic::Ordering::SeqCst)),
        });
        let key = &key;
        async move { sign_json(key, None, &claims).await.unwrap() }
    };
    let assertion_type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    let token_url = server.endpoint(Endpoint::Token);
    let signed = assertion(server.issuer(), now + 60).await;
    let token_form = [
        ("grant_type", "client_credentials"),
        ("scope", "read"),
        ("client_assertion_type", assertion_type),
        ("client_assertion", signed.as_str()),
    ];
    let reply = post_form(&token_url, &[], &token_form).await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    let access = reply.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(server.me(&access).await.json()["sub"], id.as_str());

    // The same assertion again: its jti was used.
    let reply = post_form(&token_url, &[], &token_form).await;
    assert_eq!(reply.status(), 400, "{}", reply.text());
    assert_eq!(reply.json()["error"], "invalid_client");

    // An expired one.
    let expired = assertion(token_url.clone(), now - 120).await;
    let reply = post_form(
        &token_url,
        &[],
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", assertion_type),
            ("client_assertion", expired.as_str()),
        ],
    )
    .await;
    assert_eq!(reply.json()["error"], "invalid_client", "{}", reply.text());

    // Introspection, with the endpoint as the audience.
    let introspect = server.endpoint(Endpoint::Introspection);
    let signed = assertion(introspect.clone(), now + 60).await;
    let reply = post_form(
        &introspect,
        &[],
        &[
            ("token", access.as_str()),
            ("client_assertion_type", assertion_type),
            ("client_assertion", signed.as_str()),
        ],
    )
    .await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    assert_eq!(reply.json()["active"], true);

    // Revocation, with the issuer as the audience.
    let signed = assertion(server.issuer(), now + 60).await;
    let reply = post_form(
        &server.endpoint(Endpoint::Revocation),
        &[],
        &[
            ("token", access.as_str()),
            ("client_assertion_type", assertion_type),
            ("client_assertion", signed.as_str()),
        ],
    )
    .await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    assert_eq!(server.me(&access).await.status(), 401);
}

#[tokio::test]
async fn registration_is_off_without_a_token() {
    let server = start(&[]).await;
    let metadata = get(&server.url("/.well-known/oauth-authorization-server"), &[])
        .await
        .json();
    assert!(metadata.get("registration_endpoint").is_none());
    let reply = request(
        "POST",
        &server.url("/register"),
        &[("Content-Type", "application/json")],
        "{}",
    )
    .await;
    assert_eq!(reply.status(), 404);
}

#[tokio::test]
async fn a_self_registered_name_is_escaped_and_marked_on_the_pages() {
    let server = start(&["--registration-token", REGISTRATION_TOKEN]).await;
    let metadata = json!({
        "client_name": "<script>alert(1)</script>",
        "application_type": "native",
        "token_endpoint_auth_method": "none",
        "redirect_uris": [CALLBACK],
        "scope": "read",
    });
    let auth = format!("Bearer {REGISTRATION_TOKEN}");
    let reply = request(
        "POST",
        &server.endpoint(Endpoint::Registration),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
        ],
        metadata.to_string(),
    )
    .await;
    assert_eq!(reply.status(), 201, "{}", reply.text());
    let id = reply.json()["client_id"].as_str().unwrap().to_owned();

    let page = Browser::new().get(&authorization_url(&server, &id)).await;
    assert_eq!(page.status(), 200, "{}", page.text());
    page.assert_secure_page();
    let text = page.text();
    assert!(text.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    assert!(!text.contains("<script>"));
    assert!(text.contains("registered itself"));
}

#[tokio::test]
async fn request_bodies_are_bounded() {
    let server = start(&[]).await;
    let body = vec![b'a'; portcullis::DEFAULT_MAX_BODY + 1];
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    // The library's endpoints: its JSON `invalid_request`.
    for url in [
        server.endpoint(Endpoint::Token),
        server.endpoint(Endpoint::Authorization),
    ] {
        let reply = request("POST", &url, &headers, body.clone()).await;
        assert_eq!(reply.status(), 413, "{url}");
        assert_eq!(reply.json()["error"], "invalid_request");
    }
    // The pages: the same limit, refused before the body is read.
    for url in [
        server.url("/login"),
        server.url("/consent"),
        server.url("/device"),
    ] {
        let reply = request("POST", &url, &headers, body.clone()).await;
        assert_eq!(reply.status(), 413, "{url}");
    }
}

#[tokio::test]
async fn failed_logins_are_throttled() {
    let server = start(&[]).await;
    let (user, password) = server.user();
    let mut browser = Browser::new();
    let mut page = browser.get(&server.url("/login")).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let reply = browser.sign_in(&page, &user, "guess").await;
        statuses.push(reply.status());
        if reply.status() == 429 {
            assert!(reply.header("retry-after").is_some());
            break;
        }
        page = reply;
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(
        statuses.iter().filter(|s| **s == 403).count() >= 5,
        "{statuses:?}"
    );
    // While throttled, even the right password is not checked.
    let reply = browser.sign_in(&page, &user, &password).await;
    assert_eq!(reply.status(), 429);
}

#[tokio::test]
async fn what_the_request_carries_is_escaped_on_the_pages() {
    let server = start(&[]).await;
    let (user, password) = server.user();
    let script = "%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let escaped = "&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;";
    let mut browser = Browser::new();
    let login = browser
        .get(&server.url(&format!("/device?user_code={script}")))
        .await;
    assert_eq!(login.status(), 200);
    login.assert_secure_page();
    assert!(
        login
            .text()
            .contains(&format!("name=\"user_code\" value=\"{escaped}\""))
    );
    let signed_in = browser.sign_in(&login, &user, &password).await;
    let form = browser.follow(&signed_in).await;
    assert_eq!(form.status(), 200);
    assert!(form.text().contains(&format!("value=\"{escaped}\"")));
}

#[tokio::test]
async fn the_secrets_file_keeps_keys_and_the_demo_password_across_a_restart() {
    let dir = std::env::temp_dir().join(format!(
        "portcullis-example-{}-{}",
        std::process::id(),
        line!()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let database = dir.join("demo.sqlite3");
    let database = database.to_str().unwrap();

    let server = start(&["--database", database]).await;
    let (_, password) = server.user();
    let introspection = server.demo().introspection_secret.clone();
    let (mut browser, _) = consent_page(&server).await;
    server.stop().await;

    let keys = dir.join("demo.sqlite3.keys");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&keys).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    }
    let text = std::fs::read_to_string(&keys).unwrap();
    assert!(text.contains(&format!("demo_password = {password}\n")));

    let server = start(&["--database", database]).await;
    assert_eq!(server.user().1, password);
    assert_eq!(server.demo().introspection_secret, introspection);
    // The session cookie is still good: straight to the consent page.
    let page = browser
        .get(&authorization_url(&server, app::clients::APP_ID))
        .await;
    assert!(
        page.text().contains("<title>Allow access?</title>"),
        "{}",
        page.text()
    );
    server.stop().await;

    // In memory, nothing is written and every start is new.
    let first = start(&[]).await;
    let second = start(&[]).await;
    assert_ne!(first.user().1, second.user().1);
    assert!(first.printed.contains("database:            in memory"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_native_app_registers_without_application_type_and_signs_in_on_any_port() {
    let server = start(&["--registration-token", REGISTRATION_TOKEN]).await;
    let auth = format!("Bearer {REGISTRATION_TOKEN}");
    // As command-line tools and MCP clients register (RFC 7591 has no
    // application_type): public, a loopback redirect.
    let reply = request(
        "POST",
        &server.endpoint(Endpoint::Registration),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
        ],
        r#"{"redirect_uris": ["http://127.0.0.1:33418/callback"],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "client_name": "CLI"}"#,
    )
    .await;
    assert_eq!(reply.status(), 201, "{}", reply.text());
    let info = reply.json();
    assert_eq!(info["application_type"], "native");
    assert!(info.get("client_secret").is_none());
    let id = info["client_id"].as_str().unwrap();

    // RFC 8252 §7.3: this time the app listens on another port.
    let mut browser = Browser::new();
    let (user, password) = server.user();
    let login = browser.get(&authorization_url(&server, id)).await;
    assert_eq!(login.status(), 200, "{}", login.text());
    let signed_in = browser.sign_in(&login, &user, &password).await;
    let consent = browser.follow(&signed_in).await;
    assert_eq!(consent.status(), 200, "{}", consent.text());
    let approved = browser.submit(&consent, &[("decision", "approve")]).await;
    assert_eq!(approved.status(), 303, "{}", approved.text());
    assert!(approved.location().as_str().starts_with(CALLBACK));
    let params = approved.location_params();
    assert_eq!(params["iss"], server.issuer());

    let reply = post_form(
        &server.endpoint(Endpoint::Token),
        &[],
        &[
            ("grant_type", "authorization_code"),
            ("code", &params["code"]),
            ("client_id", id),
            ("redirect_uri", CALLBACK),
            (
                "code_verifier",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            ),
        ],
    )
    .await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    let access = reply.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(server.me(&access).await.status(), 200);
}

// Brute force over HTTP (RFC 6749 §2.3.1; RFC 6819 §5.1.4.2.3, §5.1.4.2.4):
// bursts released at once are throttled to the policy, and the rightful
// client or user is never locked out by them.

/// A user of the brute-force tests, and the password.
const ALICE: &str = "alice";
const ALICE_PASSWORD: &str = "correct-horse-battery-staple";
/// The default policy's free failures, and the one that sets the block.
const ADMITTED_FAILURES: usize = 5 + 1;

fn alice() -> String {
    format!("{ALICE}:{ALICE_PASSWORD}")
}

/// Another network: requests from `127.0.c.d` (see `example::send_from`).
fn network(c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, c, d)
}

/// A form `POST` of `pairs` to `url` with the `Cookie` header `cookie`.
fn form_request(url: &str, cookie: &str, pairs: &[(&str, &str)]) -> http::Request<Vec<u8>> {
    http::Request::post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(example::form(pairs).into_bytes())
        .unwrap()
}

/// The sign-in form of `page` filled in for `user` and `password`.
fn sign_in_form(page: &Reply, user: &str, password: &str) -> (String, Vec<(String, String)>) {
    let (action, mut fields, _) = page.form();
    fields.push(("username".to_owned(), user.to_owned()));
    fields.push(("password".to_owned(), password.to_owned()));
    (action, fields)
}

fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// Signs `browser` in as alice on a fresh sign-in page; the reply.
async fn alice_signs_in(server: &Server, browser: &mut Browser) -> Reply {
    let page = browser.get(&server.url("/login")).await;
    browser.sign_in(&page, ALICE, ALICE_PASSWORD).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_wrong_client_secrets_is_throttled_and_never_locks_out_the_client() {
    let server = start(&[]).await;
    let clients = &server.demo().clients;
    let token = server.endpoint(Endpoint::Token);
    let request = |secret: &str| {
        http::Request::post(&token)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", example::basic(&clients.service_id, secret))
            .body(b"grant_type=client_credentials".to_vec())
            .unwrap()
    };
    // 200 wrong secrets and, among them, 20 requests with the right one, all
    // released at once from one source.
    let mut requests = Vec::new();
    let mut rightful = Vec::new();
    for i in 0..220 {
        if i % 11 == 5 {
            rightful.push(i);
            requests.push(request(&clients.service_secret));
        } else {
            requests.push(request(&format!("wrong-{i}")));
        }
    }
    let replies = example::send_all_at_once(network(0, 1), requests).await;
    let (mut unauthorized, mut throttled) = (0, 0);
    for (i, reply) in replies.iter().enumerate() {
        let body: serde_json::Value = serde_json::from_slice(reply.body()).unwrap();
        if rightful.contains(&i) {
            // The generated secret cannot be guessed: refusing it would only
            // hand the guesser a denial of service.
            assert_eq!(reply.status(), 200, "{body}");
            assert!(body["access_token"].is_string(), "{body}");
            continue;
        }
        match reply.status().as_u16() {
            401 => unauthorized += 1,
            429 => {
                throttled += 1;
                let retry_after = reply.headers().get("retry-after").unwrap();
                assert!(retry_after.to_str().unwrap().parse::<u64>().unwrap() >= 1);
            }
            other => panic!("{other}: {body}"),
        }
        assert_eq!(body["error"], "invalid_client", "{body}");
    }
    // No more wrong secrets checked than the policy lets through.
    assert!(
        (1..=ADMITTED_FAILURES).contains(&unauthorized),
        "{unauthorized} answered 401"
    );
    assert_eq!(unauthorized + throttled, 200);
    // After the burst, with guesses still coming, the right secret works
    // every time.
    for i in 0..10 {
        let guess = example::send_from(network(0, 1), request(&format!("again-{i}")))
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(guess.body()).unwrap();
        assert_eq!(body["error"], "invalid_client", "{body}");
        let reply = example::send_from(network(0, 1), request(&clients.service_secret))
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
    }
}

#[tokio::test]
async fn a_sign_in_makes_the_browser_known_for_that_user_through_sign_out() {
    let server = start(&["--user", &alice()]).await;
    let mut browser = Browser::new();
    let signed_in = alice_signs_in(&server, &mut browser).await;
    assert_eq!(signed_in.status(), 303, "{}", signed_in.text());
    let cookie = known_browser_cookie(&signed_in).unwrap();
    assert!(cookie.starts_with("browser="), "{cookie}");
    // Thirty days; only for this site's own forms; never for scripts.
    assert_eq!(
        attributes(&cookie),
        ["HttpOnly", "Max-Age=2592000", "Path=/", "SameSite=Strict"]
    );
    // A failed sign-in makes nothing known.
    let mut other = Browser::new();
    let page = other.get(&server.url("/login")).await;
    let wrong = other.sign_in(&page, ALICE, "guess").await;
    assert_eq!(wrong.status(), 403);
    assert_eq!(known_browser_cookie(&wrong), None);
    // Signing out ends the session, not the browser's being known.
    let home = browser.follow(&signed_in).await;
    let out = browser.submit(&home, &[("decision", "sign_out")]).await;
    assert_eq!(out.status(), 200);
    assert_eq!(known_browser_cookie(&out), None);
    assert_eq!(browser.cookie("session"), None);
    assert!(browser.cookie("browser").is_some());

    // On an https issuer: `__Host-` and `Secure`, like the session cookie.
    let server = example::start_https(&["--user", &alice()]).await;
    let mut browser = Browser::new();
    let signed_in = alice_signs_in(&server, &mut browser).await;
    assert_eq!(signed_in.status(), 303, "{}", signed_in.text());
    let cookie = known_browser_cookie(&signed_in).unwrap();
    assert!(cookie.starts_with("__Host-browser="), "{cookie}");
    assert_eq!(
        attributes(&cookie),
        [
            "HttpOnly",
            "Max-Age=2592000",
            "Path=/",
            "SameSite=Strict",
            "Secure"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guessing_burst_is_throttled_at_its_source_and_alice_still_signs_in() {
    let server = start(&["--user", &alice()]).await;
    // Alice signs in from her browser once, then signs out.
    let mut laptop = Browser::new();
    let signed_in = alice_signs_in(&server, &mut laptop).await;
    assert_eq!(signed_in.status(), 303, "{}", signed_in.text());
    let home = laptop.follow(&signed_in).await;
    let signed_out = laptop.submit(&home, &[("decision", "sign_out")]).await;
    assert_eq!(signed_out.status(), 200);

    // A guesser on another network: 100 passwords released at once.
    let there = network(0, 2);
    let mut guesser = Browser::from_source(there);
    let page = guesser.get(&server.url("/login")).await;
    let cookie = guesser.cookie_header();
    let requests = (0..100)
        .map(|i| {
            let (action, fields) = sign_in_form(&page, ALICE, &format!("guess-{i}"));
            form_request(&action, &cookie, &pairs(&fields))
        })
        .collect();
    let replies = example::send_all_at_once(there, requests).await;
    let (mut wrong, mut throttled) = (0, 0);
    for reply in &replies {
        let text = String::from_utf8_lossy(reply.body());
        match reply.status().as_u16() {
            403 => {
                assert!(text.contains("Wrong user name or password"), "{text}");
                wrong += 1;
            }
            429 => {
                assert!(reply.headers().contains_key("retry-after"), "{text}");
                throttled += 1;
            }
            other => panic!("{other}: {text}"),
        }
    }
    assert!((1..=ADMITTED_FAILURES).contains(&wrong), "{wrong} checked");
    assert_eq!(wrong + throttled, 100);
    // Throttled there: even the right password is not checked.
    assert_eq!(
        guesser.sign_in(&page, ALICE, ALICE_PASSWORD).await.status(),
        429
    );

    // Alice's browser signs in...
    assert_eq!(alice_signs_in(&server, &mut laptop).await.status(), 303);
    // ...and so does a browser of hers she never used, on another network:
    // one network's burst does not lock her name.
    let mut phone = Browser::from_source(network(0, 3));
    assert_eq!(alice_signs_in(&server, &mut phone).await.status(), 303);
}

#[tokio::test]
async fn guesses_from_many_networks_slow_the_name_but_never_refuse_alices_browser() {
    let server = start(&["--user", &alice()]).await;
    let mut laptop = Browser::new();
    assert_eq!(alice_signs_in(&server, &mut laptop).await.status(), 303);

    // Forty networks, each within its own allowance.
    let mut statuses = BTreeMap::new();
    for d in 1..=40 {
        let mut guesser = Browser::from_source(network(1, d));
        let mut page = guesser.get(&server.url("/login")).await;
        for i in 0..ADMITTED_FAILURES {
            let reply = guesser
                .sign_in(&page, ALICE, &format!("guess-{d}-{i}"))
                .await;
            *statuses.entry(reply.status()).or_insert(0) += 1;
            if reply.status() == 403 {
                page = reply;
            }
        }
    }
    // Together they are slowed down: each network is within its own
    // allowance, so what refuses them is the name's count.
    assert!(statuses.get(&429).is_some_and(|n| *n > 0), "{statuses:?}");
    // Alice's browser is not refused for their guesses.
    let signed_in = alice_signs_in(&server, &mut laptop).await;
    assert_eq!(signed_in.status(), 303, "{}", signed_in.text());
    let home = laptop.follow(&signed_in).await;
    assert!(home.text().contains("Signed in as <strong>alice</strong>"));
    // Its own wrong passwords still count, against it alone.
    let mut page = laptop.get(&server.url("/login")).await;
    let mut own = Vec::new();
    for _ in 0..10 {
        let reply = laptop.sign_in(&page, ALICE, "typo").await;
        own.push(reply.status());
        if reply.status() == 429 {
            break;
        }
        page = reply;
    }
    assert_eq!(own.iter().filter(|s| **s == 403).count(), ADMITTED_FAILURES);
    assert_eq!(own.last(), Some(&429), "{own:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_made_up_names_leave_the_server_answering_and_users_signing_in() {
    let server = start(&["--user", &alice()]).await;
    let mut browser = Browser::new();
    let page = browser.get(&server.url("/login")).await;
    let cookie = browser.cookie_header();
    // Two thousand networks, five made-up names each: within each network's
    // allowance, so every attempt reaches the password check. Ten networks
    // at a time, each sending its five one after the other.
    let source = |n: usize| Ipv4Addr::new(127, 1, (n / 250) as u8, (1 + n % 250) as u8);
    let mut statuses = BTreeMap::new();
    let flood = async {
        let networks: Vec<usize> = (0..2_000).collect();
        for batch in networks.chunks(10) {
            let mut sent = tokio::task::JoinSet::new();
            for &n in batch {
                let requests: Vec<_> = (0..5)
                    .map(|k| {
                        let name = format!("made-up-{}", n * 5 + k);
                        let (action, fields) = sign_in_form(&page, &name, "guess");
                        form_request(&action, &cookie, &pairs(&fields))
                    })
                    .collect();
                sent.spawn(async move {
                    let mut statuses = Vec::new();
                    for request in requests {
                        let reply = example::send_from(source(n), request).await.unwrap();
                        statuses.push(reply.status().as_u16());
                    }
                    statuses
                });
            }
            for status in sent.join_all().await.into_iter().flatten() {
                *statuses.entry(status).or_insert(0) += 1;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(600), flood)
        .await
        .expect("the flood is answered in time");
    assert_eq!(statuses, BTreeMap::from([(403, 10_000)]));

    // The server still answers at once, and alice signs in.
    let answered = tokio::time::timeout(
        Duration::from_secs(5),
        alice_signs_in(&server, &mut browser),
    )
    .await
    .expect("answered promptly");
    assert_eq!(answered.status(), 303, "{}", answered.text());
    // The flood's networks are still counted: one more failure each is
    // checked (it sets the block), the next is refused.
    for expected in [403, 429] {
        let (action, fields) = sign_in_form(&page, "made-up-again", "guess");
        let reply = example::send_from(source(0), form_request(&action, &cookie, &pairs(&fields)))
            .await
            .unwrap();
        assert_eq!(reply.status(), expected);
    }
}

/// Connections that send nothing, or a request head a byte at a time, are
/// closed once the header-read timeout passes, while other clients are
/// served throughout (the slowloris attack).
#[tokio::test]
async fn idle_and_slow_connections_are_closed_and_others_served() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut options = example::options(&[]);
    options.header_read_timeout = Duration::from_secs(1);
    let server = example::start_with(options).await;
    let addr = server.running.url.trim_start_matches("http://").to_owned();
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = b"GET /.well-known/oauth-authorization-server HTTP/1.1\r\nHost: x\r\n";
    let started = std::time::Instant::now();
    let mut closed_at = None;
    for byte in head.iter().cycle().take(200) {
        if slow.write_all(&[*byte]).await.is_err() {
            closed_at = Some(started.elapsed());
            break;
        }
        // Meanwhile, a legitimate client is answered.
        if started.elapsed() < Duration::from_millis(500) {
            let metadata = get(&server.url("/.well-known/oauth-authorization-server"), &[]).await;
            assert_eq!(metadata.status(), 200);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let closed_at = closed_at.expect("the slow connection was never closed");
    assert!(closed_at < Duration::from_secs(4), "{closed_at:?}");
    for mut stream in idle {
        let mut buffer = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await;
        // Closed: end of stream (maybe after a `408`), or reset.
        match read.expect("an idle connection was left open") {
            Ok(0) | Err(_) => {}
            Ok(n) => assert!(
                String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 408"),
                "{}",
                String::from_utf8_lossy(&buffer[..n])
            ),
        }
    }
    let metadata = get(&server.url("/.well-known/oauth-authorization-server"), &[]).await;
    assert_eq!(metadata.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn audience_restricted_jwts_work_at_their_resource_only() {
    // Contract version 2: /api/me is a resource; `resource` yields an RFC
    // 9068 JWT for it, verifiable with jwks_uri; a token for another
    // resource, or a revoked JWT, is refused; an unknown resource is
    // invalid_target.
    let other = "https://reports.example/api";
    let server = start(&["--resource", other]).await;
    let me = server.url(app::RESOURCE_PATH);
    let clients = &server.demo().clients;
    let service = example::basic(&clients.service_id, &clients.service_secret);
    let token_for = |resource: &str| {
        let resource = resource.to_owned();
        let service = service.clone();
        let endpoint = server.endpoint(Endpoint::Token);
        async move {
            post_form(
                &endpoint,
                &[("Authorization", &service)],
                &[
                    ("grant_type", "client_credentials"),
                    ("scope", "read"),
                    ("resource", &resource),
                ],
            )
            .await
        }
    };

    let metadata = get(&server.url("/.well-known/oauth-authorization-server"), &[]).await;
    let jwks_uri = metadata.json()["jwks_uri"].as_str().unwrap().to_owned();
    let jwks = get(&jwks_uri, &[]).await;
    assert_eq!(jwks.status(), 200);
    let set = portcullis::jose::JwkSet::from_json(jwks.text().as_bytes()).unwrap();
    assert_eq!(set.keys.len(), 2, "an ES256 and an RS256 key");

    let reply = token_for(&me).await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    let jwt = reply.json()["access_token"].as_str().unwrap().to_owned();
    let parsed = portcullis::jose::UnverifiedJws::parse(&jwt).unwrap();
    assert!(parsed.header().typ_is("at+jwt"));
    let key = set.find(parsed.header().kid().unwrap()).unwrap();
    let payload = parsed
        .verify(
            &portcullis::jose::PublicKey::from_jwk(key).unwrap(),
            &[portcullis::jose::Algorithm::Es256],
        )
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(claims["aud"], me.as_str());
    assert_eq!(claims["iss"], server.issuer());
    let reply = server.me(&jwt).await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    assert_eq!(reply.json()["sub"], clients.service_id.as_str());

    // Introspection reports the audience.
    let introspected = post_form(
        &server.endpoint(Endpoint::Introspection),
        &[("Authorization", &service)],
        &[("token", &jwt)],
    )
    .await;
    assert_eq!(introspected.json()["aud"], me.as_str());

    // A token for the other resource is refused at /api/me.
    let reply = token_for(other).await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    let elsewhere = reply.json()["access_token"].as_str().unwrap().to_owned();
    let reply = server.me(&elsewhere).await;
    assert_eq!(reply.status(), 401);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\"")
    );

    // An unknown resource is invalid_target.
    let reply = token_for("https://unknown.example/").await;
    assert_eq!(reply.status(), 400);
    assert_eq!(reply.json()["error"], "invalid_target");

    // Revoked, the JWT no longer opens /api/me.
    let reply = post_form(
        &server.endpoint(Endpoint::Revocation),
        &[("Authorization", &service)],
        &[("token", &jwt)],
    )
    .await;
    assert_eq!(reply.status(), 200);
    assert_eq!(server.me(&jwt).await.status(), 401);
    server.stop().await;
}

/// A public client's code redeemed at the token endpoint the metadata
/// names, for `resource` (RFC 8707): the access token, a JWT whose
/// audience is that resource, and its claims.
async fn redeem_for_resource(
    metadata: &serde_json::Value,
    code: &str,
    redirect: &str,
    client_id: &str,
    verifier: &str,
    resource: &str,
) -> (String, serde_json::Value) {
    let tokens = post_form(
        metadata["token_endpoint"].as_str().unwrap(),
        &[],
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("client_id", client_id),
            ("code_verifier", verifier),
            ("resource", resource),
        ],
    )
    .await;
    assert_eq!(tokens.status(), 200, "{}", tokens.text());
    let access = tokens.json()["access_token"].as_str().unwrap().to_owned();
    let jwt = portcullis::jose::UnverifiedJws::parse(&access).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(jwt.unverified_payload()).unwrap();
    assert_eq!(claims["aud"], resource);
    (access, claims)
}

#[tokio::test]
async fn an_mcp_client_discovers_registers_and_calls_the_resource() {
    // What an MCP client does from nothing but the resource's URL: the 401,
    // the RFC 9728 document, the RFC 8414 metadata, RFC 7591 registration
    // as a native public client, the code flow with PKCE and `resource`
    // through the browser forms, the token with `resource`, and the call.
    let registration_token = "initial-access-token-0123456789abcdef";
    let server = start(&["--registration-token", registration_token]).await;
    let resource = server.url(app::RESOURCE_PATH);

    let challenge = get(&resource, &[]).await;
    assert_eq!(challenge.status(), 401);
    let challenge = challenge.header("www-authenticate").unwrap().to_owned();
    let metadata_url = challenge
        .split("resource_metadata=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let document = get(&metadata_url, &[]).await.json();
    assert_eq!(document["resource"], resource.as_str());
    let issuer = document["authorization_servers"][0].as_str().unwrap();
    let metadata = get(
        &format!("{issuer}/.well-known/oauth-authorization-server"),
        &[],
    )
    .await
    .json();
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert!(metadata["jwks_uri"].is_string());

    // Registration as MCP clients send it: no application_type.
    let redirect = "http://127.0.0.1:33418/callback";
    let registered = example::request(
        "POST",
        metadata["registration_endpoint"].as_str().unwrap(),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &format!("Bearer {registration_token}")),
        ],
        json!({
            "client_name": "MCP inspector",
            "redirect_uris": [redirect],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "scope": "read"
        })
        .to_string(),
    )
    .await;
    assert_eq!(registered.status(), 201, "{}", registered.text());
    let client_id = registered.json()["client_id"].as_str().unwrap().to_owned();

    // The browser: sign in, consent, back to the loopback redirect.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let query = example::form(&[
        ("response_type", "code"),
        ("client_id", &client_id),
        ("redirect_uri", redirect),
        ("scope", "read"),
        ("state", STATE),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
        ("resource", &resource),
    ]);
    let mut browser = Browser::new();
    let (user, password) = server.user();
    let login = browser
        .get(&format!(
            "{}?{query}",
            metadata["authorization_endpoint"].as_str().unwrap()
        ))
        .await;
    let signed_in = browser.sign_in(&login, &user, &password).await;
    let consent = browser.follow(&signed_in).await;
    assert_eq!(consent.status(), 200, "{}", consent.text());
    let approved = browser.submit(&consent, &[("decision", "approve")]).await;
    assert_eq!(approved.status(), 303, "{}", approved.text());
    let params = approved.location_params();
    assert_eq!(params["state"], STATE);
    assert_eq!(params["iss"], issuer);

    let (access, claims) = redeem_for_resource(
        &metadata,
        &params["code"],
        redirect,
        &client_id,
        verifier,
        &resource,
    )
    .await;
    assert_eq!(claims["sub"], user.as_str());
    let reply = server.me(&access).await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    assert_eq!(reply.json()["sub"], user.as_str());
    server.stop().await;
}

#[tokio::test]
async fn an_mcp_client_with_a_client_id_metadata_document_calls_the_resource() {
    // The same discovery and flow, with no registration: the client's
    // identifier is the URL of its metadata document
    // (draft-ietf-oauth-client-id-metadata-document-01), here served on
    // loopback http, which --allow-loopback-client-metadata permits.
    let documents = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!(
        "http://127.0.0.1:{}",
        documents.local_addr().unwrap().port()
    );
    let client_id = format!("{base}/oauth/client.json");
    let impostor_id = format!("{base}/oauth/impostor.json");
    let redirect = "http://127.0.0.1:33418/callback";
    let document = json!({
        "client_id": client_id,
        "client_name": "MCP client with a metadata document",
        "redirect_uris": [redirect],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "scope": "read"
    });
    // Served at another URL, a document naming the first client.
    let impostor = document.clone();
    let routes = axum::Router::new()
        .route(
            "/oauth/client.json",
            axum::routing::get(move || async move { axum::Json(document) }),
        )
        .route(
            "/oauth/impostor.json",
            axum::routing::get(move || async move { axum::Json(impostor) }),
        );
    let document_server = tokio::spawn(async move { axum::serve(documents, routes).await });

    let server = start(&["--allow-loopback-client-metadata"]).await;
    let resource = server.url(app::RESOURCE_PATH);
    let challenge = get(&resource, &[]).await;
    assert_eq!(challenge.status(), 401);
    let challenge = challenge.header("www-authenticate").unwrap().to_owned();
    let metadata_url = challenge
        .split("resource_metadata=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let resource_metadata = get(&metadata_url, &[]).await.json();
    let issuer = resource_metadata["authorization_servers"][0]
        .as_str()
        .unwrap();
    let metadata = get(
        &format!("{issuer}/.well-known/oauth-authorization-server"),
        &[],
    )
    .await
    .json();
    assert_eq!(metadata["client_id_metadata_document_supported"], true);
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    let authorization_endpoint = metadata["authorization_endpoint"].as_str().unwrap();

    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let query = |client_id: &str| {
        example::form(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect),
            ("scope", "read"),
            ("state", STATE),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
            ("resource", &resource),
        ])
    };
    let mut browser = Browser::new();

    // A document whose client_id is not its URL: the unknown-client page,
    // never a redirect.
    let refused = browser
        .get(&format!("{authorization_endpoint}?{}", query(&impostor_id)))
        .await;
    assert_eq!(refused.status(), 400, "{}", refused.text());
    assert!(refused.header("location").is_none());

    let (user, password) = server.user();
    let login = browser
        .get(&format!("{authorization_endpoint}?{}", query(&client_id)))
        .await;
    assert_eq!(login.status(), 200, "{}", login.text());
    let signed_in = browser.sign_in(&login, &user, &password).await;
    let consent = browser.follow(&signed_in).await;
    assert_eq!(consent.status(), 200, "{}", consent.text());
    assert!(
        consent
            .text()
            .contains("MCP client with a metadata document"),
        "{}",
        consent.text()
    );
    assert!(consent.text().contains(&client_id));
    assert!(consent.text().contains("its name is not verified"));
    let approved = browser.submit(&consent, &[("decision", "approve")]).await;
    assert_eq!(approved.status(), 303, "{}", approved.text());
    assert!(
        approved
            .header("location")
            .unwrap()
            .starts_with(&format!("{redirect}?"))
    );
    let params = approved.location_params();
    assert_eq!(params["state"], STATE);
    assert_eq!(params["iss"], issuer);

    let (access, claims) = redeem_for_resource(
        &metadata,
        &params["code"],
        redirect,
        &client_id,
        verifier,
        &resource,
    )
    .await;
    assert_eq!(claims["client_id"], client_id.as_str());
    let reply = server.me(&access).await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    assert_eq!(reply.json()["sub"], user.as_str());
    server.stop().await;

    // Without the development switch, a loopback http document is not
    // fetched: the same request is the unknown-client page.
    let strict = start(&[]).await;
    let refused = Browser::new()
        .get(&format!(
            "{}?{}",
            strict.endpoint(Endpoint::Authorization),
            query(&client_id)
        ))
        .await;
    assert_eq!(refused.status(), 400, "{}", refused.text());
    assert!(refused.header("location").is_none());
    strict.stop().await;
    document_server.abort();
}
