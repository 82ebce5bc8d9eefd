//! The example server (`examples/server/`), run in process on a loopback
//! port and driven over real HTTP/1.1 as a client, a browser and a resource
//! server would: every endpoint it advertises, the consent and verification
//! forms, and the protected resource.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[allow(dead_code)]
#[path = "../examples/server/app/mod.rs"]
mod app;

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const REGISTRATION_TOKEN: &str = "iat-Xq3vR8nT2wY6pL9zB4cF7hJ1kM5sD0gA";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The example's router on a loopback port, and what it printed at start.
struct Running {
    addr: SocketAddr,
    demo: app::Demo,
}

/// Starts the example server as `main` does, with the issuer on the bound
/// port; `configure` adjusts the configuration.
async fn start_with(configure: impl FnOnce(&mut app::Config)) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = app::Config::new(format!("http://{addr}"));
    // The shortest interval the library allows, so the device test is quick.
    config.device_polling_interval = Duration::from_secs(1);
    configure(&mut config);
    let demo = app::demo(config).await.unwrap();
    let router = app::router(&demo).unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Running { addr, demo }
}

/// With dynamic registration enabled.
async fn start() -> Running {
    start_with(|c| c.registration_token = Some(REGISTRATION_TOKEN.to_owned())).await
}

/// A response as the client received it.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of the hidden field `name` in an HTML form.
    fn hidden(&self, name: &str) -> String {
        let text = self.text();
        let marker = format!("name=\"{name}\" value=\"");
        let start = text
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} in {text}"))
            + marker.len();
        let end = start + text[start..].find('"').unwrap();
        text[start..end].replace("&amp;", "&")
    }

    /// `name=value` of the cookie the response sets, for a `Cookie` header.
    fn cookie(&self) -> String {
        let set = self.header("set-cookie").expect("a cookie is set");
        set.split(';').next().unwrap().to_owned()
    }

    /// The query parameters of the `Location` header.
    fn location_params(&self) -> Vec<(String, String)> {
        let location = url::Url::parse(self.header("location").expect("a Location")).unwrap();
        location.query_pairs().into_owned().collect()
    }

    /// The page has the headers of a page in the authorization flow.
    fn assert_secure_page(&self) {
        assert_eq!(
            self.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(self.header("x-frame-options"), Some("DENY"));
        assert_eq!(self.header("cache-control"), Some("no-store"));
        assert_eq!(self.header("referrer-policy"), Some("no-referrer"));
        let csp = self.header("content-security-policy").unwrap();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!self.text().contains("<script"), "no scripts on the page");
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

impl Running {
    /// One HTTP/1.1 exchange on a fresh connection.
    async fn send(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        if !body.is_empty() || method != "GET" {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        parse_response(&raw)
    }

    async fn get(&self, target: &str, headers: &[(&str, &str)]) -> Reply {
        self.send("GET", target, headers, b"").await
    }

    /// A form POST, with `headers` besides the content type.
    async fn post_form(&self, target: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        self.send("POST", target, &all, body.as_bytes()).await
    }

    /// The path of an endpoint the metadata advertises.
    async fn endpoint(&self, member: &str) -> String {
        let metadata = self
            .get(&self.demo.server.metadata_path(), &[])
            .await
            .json();
        let url = metadata[member]
            .as_str()
            .unwrap_or_else(|| panic!("{member} is advertised"));
        url::Url::parse(url).unwrap().path().to_owned()
    }

    /// A client credentials token for the demo service.
    async fn service_token(&self, scope: &str) -> String {
        let auth = basic(&self.demo.service_id, &self.demo.service_secret);
        let reply = self
            .post_form(
                &self.endpoint("token_endpoint").await,
                &[("Authorization", &auth)],
                &form(&[("grant_type", "client_credentials"), ("scope", scope)]),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        reply.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// `GET /api/me` with `token`.
    async fn me(&self, token: &str) -> Reply {
        self.get(app::RESOURCE_PATH, &[("Authorization", &bearer(token))])
            .await
    }

    /// The introspection endpoint's answer on `token`, for the demo resource
    /// server.
    async fn introspect(&self, token: &str) -> Value {
        let reply = self
            .post_form(
                &self.endpoint("introspection_endpoint").await,
                &[("Authorization", &bearer(&self.demo.resource_server_secret))],
                &form(&[("token", token)]),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()
    }
}

fn parse_response(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_field = std::str::from_utf8(&rest[..line_end]).unwrap();
        let size = usize::from_str_radix(size_field.split(';').next().unwrap().trim(), 16).unwrap();
        rest = &rest[line_end + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// An authorization request for the demo app with PKCE; returns the query
/// target, the verifier and the state.
fn authorization_request(path: &str, app_id: &str) -> (String, String, String) {
    let verifier = URL_SAFE_NO_PAD.encode([7u8; 32]);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(&verifier));
    let state = "st-<&\"'>".to_owned();
    let query = form(&[
        ("response_type", "code"),
        ("client_id", app_id),
        ("redirect_uri", app::REDIRECT_URI),
        ("scope", "read"),
        ("state", &state),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    (format!("{path}?{query}"), verifier, state)
}

#[tokio::test]
async fn metadata_advertises_what_is_served() {
    let running = start().await;
    let server = &running.demo.server;
    let reply = running.get(&server.metadata_path(), &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));
    let metadata = reply.json();
    assert_eq!(metadata["issuer"], format!("http://{}/", running.addr));
    assert_eq!(
        metadata["grant_types_supported"],
        json!([
            "authorization_code",
            "refresh_token",
            "client_credentials",
            DEVICE_GRANT
        ])
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
        assert!(
            url.starts_with(&format!("http://{}/", running.addr)),
            "{url}"
        );
        let path = url::Url::parse(url).unwrap().path().to_owned();
        let headers = [("Content-Type", "application/x-www-form-urlencoded")];
        let reply = running.send(method, &path, &headers, b"").await;
        assert_eq!(reply.status, status, "{member} {}", reply.text());
        if let Some(error) = error {
            assert_eq!(reply.json()["error"], error, "{member}");
        }
    }

    // The library answers wrong methods at its endpoints.
    let token = running.endpoint("token_endpoint").await;
    let reply = running.get(&token, &[]).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));
    assert_eq!(reply.json()["error"], "invalid_request");
}

#[tokio::test]
async fn registration_is_off_without_a_token() {
    let running = start_with(|_| {}).await;
    let metadata = running
        .get(&running.demo.server.metadata_path(), &[])
        .await
        .json();
    assert!(metadata.get("registration_endpoint").is_none());
    let reply = running
        .send(
            "POST",
            "/register",
            &[("Content-Type", "application/json")],
            b"{}",
        )
        .await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn client_credentials_token_reaches_the_api_until_revoked() {
    let running = start().await;
    let demo = &running.demo;

    // No token: a bare challenge (RFC 6750 §3.1).
    let reply = running.get(app::RESOURCE_PATH, &[]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Bearer realm=\"demo\"")
    );

    let token = running.service_token("read").await;
    let reply = running.me(&token).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(
        reply.json(),
        json!({"sub": demo.service_id, "scope": "read"})
    );

    // A token without `read` is refused with the scope it needs.
    let write_only = running.service_token("write").await;
    let reply = running.me(&write_only).await;
    assert_eq!(reply.status, 403);
    let challenge = reply.header("www-authenticate").unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"read\""), "{challenge}");

    // The resource server introspects it.
    let answer = running.introspect(&token).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], demo.service_id.as_str());
    assert_eq!(answer["scope"], "read");
    assert_eq!(answer["token_type"], "Bearer");
    // Not with a wrong credential.
    let introspection = running.endpoint("introspection_endpoint").await;
    let reply = running
        .post_form(
            &introspection,
            &[(
                "Authorization",
                "Bearer not-the-resource-servers-secret-at-all",
            )],
            &form(&[("token", &token)]),
        )
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["error"], "invalid_token");

    // The client revokes it: the API refuses it at once.
    let reply = running
        .post_form(
            &running.endpoint("revocation_endpoint").await,
            &[(
                "Authorization",
                &basic(&demo.service_id, &demo.service_secret),
            )],
            &form(&[("token", &token)]),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = running.me(&token).await;
    assert_eq!(reply.status, 401);
    let challenge = reply.header("www-authenticate").unwrap();
    assert!(
        challenge.starts_with("Bearer realm=\"demo\", error=\"invalid_token\""),
        "{challenge}"
    );
    assert_eq!(reply.json()["error"], "invalid_token");
    assert_eq!(running.introspect(&token).await, json!({"active": false}));
}

#[tokio::test]
async fn authorization_code_flow_through_the_consent_form() {
    let running = start().await;
    let demo = &running.demo;
    let authorize = running.endpoint("authorization_endpoint").await;
    let token = running.endpoint("token_endpoint").await;
    let (target, verifier, state) = authorization_request(&authorize, &demo.app_id);

    // The browser is shown the consent form.
    let page = running.get(&target, &[]).await;
    assert_eq!(page.status, 200, "{}", page.text());
    page.assert_secure_page();
    assert!(page.text().contains("<strong>Demo app</strong>"));
    assert!(page.text().contains("<code>read</code>"));
    let set_cookie = page.header("set-cookie").unwrap();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let cookie = page.cookie();
    let request = page.hidden("request");
    let csrf = page.hidden("csrf");
    let decision = |username: &str, password: &str, decision: &str| {
        form(&[
            ("request", &request),
            ("csrf", &csrf),
            ("username", username),
            ("password", password),
            ("decision", decision),
        ])
    };
    let password = demo.user_password.as_str();

    // Posted from elsewhere (no cookie): refused, nothing decided.
    let reply = running
        .post_form(
            &authorize,
            &[],
            &decision(app::USER_NAME, password, "approve"),
        )
        .await;
    assert_eq!(reply.status, 403);
    assert!(reply.header("location").is_none());
    // A wrong password: the form again, nothing decided.
    let with_cookie = [("Cookie", cookie.as_str())];
    let reply = running
        .post_form(
            &authorize,
            &with_cookie,
            &decision(app::USER_NAME, "guess", "approve"),
        )
        .await;
    assert_eq!(reply.status, 403);
    reply.assert_secure_page();
    assert!(reply.text().contains("Wrong user name or password"));
    assert!(reply.header("location").is_none());

    // Approved: a 303 to the client with the code, the state and the issuer
    // (RFC 6749 §4.1.2, RFC 9207).
    let reply = running
        .post_form(
            &authorize,
            &with_cookie,
            &decision(app::USER_NAME, password, "approve"),
        )
        .await;
    assert_eq!(reply.status, 303, "{}", reply.text());
    let location = reply.header("location").unwrap();
    assert!(
        location.starts_with("http://127.0.0.1/callback?code="),
        "{location}"
    );
    let params = reply.location_params();
    let code = param(&params, "code").unwrap().to_owned();
    assert_eq!(param(&params, "state"), Some(state.as_str()));
    assert_eq!(
        param(&params, "iss"),
        Some(format!("http://{}/", running.addr).as_str())
    );
    // The same form again decides nothing.
    let reply = running
        .post_form(
            &authorize,
            &with_cookie,
            &decision(app::USER_NAME, password, "approve"),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.header("location").is_none());

    // The app exchanges the code with its PKCE verifier.
    let reply = running
        .post_form(
            &token,
            &[],
            &form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", app::REDIRECT_URI),
                ("client_id", &demo.app_id),
                ("code_verifier", &verifier),
            ]),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let tokens = reply.json();
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let reply = running.me(access).await;
    assert_eq!(
        reply.json(),
        json!({"sub": app::USER_NAME, "scope": "read"})
    );

    // The refresh token gets a new pair, and the old one is spent.
    let refresh_form = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", &demo.app_id),
    ]);
    let reply = running.post_form(&token, &[], &refresh_form).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let renewed = reply.json();
    assert_ne!(renewed["refresh_token"], tokens["refresh_token"]);
    let reply = running.me(renewed["access_token"].as_str().unwrap()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["sub"], app::USER_NAME);
}

#[tokio::test]
async fn a_denied_request_goes_back_to_the_client_as_access_denied() {
    let running = start().await;
    let authorize = running.endpoint("authorization_endpoint").await;
    let (target, _, state) = authorization_request(&authorize, &running.demo.app_id);
    let page = running.get(&target, &[]).await;
    let cookie = page.cookie();
    // No login is needed to refuse.
    let body = form(&[
        ("request", &page.hidden("request")),
        ("csrf", &page.hidden("csrf")),
        ("decision", "deny"),
    ]);
    let reply = running
        .post_form(&authorize, &[("Cookie", &cookie)], &body)
        .await;
    assert_eq!(reply.status, 303, "{}", reply.text());
    let params = reply.location_params();
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert_eq!(param(&params, "state"), Some(state.as_str()));
    assert!(param(&params, "code").is_none());

    // An unknown client is never redirected to (RFC 6749 §4.1.2.1).
    let reply = running
        .get(
            &format!("{authorize}?response_type=code&client_id=nobody"),
            &[],
        )
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.header("location").is_none());
}

#[tokio::test]
async fn device_flow_through_the_verification_page() {
    let running = start().await;
    let demo = &running.demo;
    let token = running.endpoint("token_endpoint").await;

    // The device asks for codes.
    let reply = running
        .post_form(
            &running.endpoint("device_authorization_endpoint").await,
            &[],
            &form(&[("client_id", &demo.app_id), ("scope", "read")]),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let codes = reply.json();
    assert_eq!(
        codes["verification_uri"],
        demo.server.device_verification_uri().as_str()
    );
    assert_eq!(codes["interval"], 1);
    let user_code = codes["user_code"].as_str().unwrap();
    let device_code = codes["device_code"].as_str().unwrap();
    let poll = form(&[
        ("grant_type", DEVICE_GRANT),
        ("device_code", device_code),
        ("client_id", &demo.app_id),
    ]);
    let reply = running.post_form(&token, &[], &poll).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "authorization_pending");

    // The user opens verification_uri_complete: the code is filled in.
    let complete = url::Url::parse(codes["verification_uri_complete"].as_str().unwrap()).unwrap();
    let verification = complete.path().to_owned();
    let page = running
        .get(
            &format!("{verification}?{}", complete.query().unwrap()),
            &[],
        )
        .await;
    assert_eq!(page.status, 200);
    page.assert_secure_page();
    assert_eq!(page.hidden("user_code"), user_code);

    // Step 1: the code (typed loosely) and a login.
    let step1 = |code: &str, password: &str| {
        form(&[
            ("user_code", code),
            ("username", app::USER_NAME),
            ("password", password),
        ])
    };
    let password = demo.user_password.as_str();
    let reply = running
        .post_form(&verification, &[], &step1(user_code, "guess"))
        .await;
    assert_eq!(reply.status, 403);
    assert!(reply.text().contains("Wrong user name or password"));
    let reply = running
        .post_form(&verification, &[], &step1("BCDF-GHJK", password))
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("not valid"));
    let typed = user_code.to_lowercase().replace('-', "");
    let confirm = running
        .post_form(&verification, &[], &step1(&typed, password))
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.text());
    confirm.assert_secure_page();
    assert!(confirm.text().contains("<strong>Demo app</strong>"));
    assert!(
        confirm
            .text()
            .contains(&format!("<strong>{user_code}</strong>"))
    );

    // Step 2 decides only for the user who logged in.
    let step2 = |username: &str| {
        form(&[
            ("user_code", &confirm.hidden("user_code")),
            ("username", username),
            ("confirm", &confirm.hidden("confirm")),
            ("decision", "approve"),
        ])
    };
    let reply = running
        .post_form(&verification, &[], &step2("someone-else"))
        .await;
    assert_eq!(reply.status, 403);
    let reply = running
        .post_form(&verification, &[], &step2(app::USER_NAME))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.text().contains("You approved Demo app"));

    // The device's next poll, an interval later, collects the tokens.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let reply = running.post_form(&token, &[], &poll).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let tokens = reply.json();
    let reply = running.me(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(
        reply.json(),
        json!({"sub": app::USER_NAME, "scope": "read"})
    );
}

#[tokio::test]
async fn dynamic_registration_with_the_initial_access_token() {
    let running = start().await;
    let register = running.endpoint("registration_endpoint").await;
    let metadata =
        br#"{"client_name": "Reports", "grant_types": ["client_credentials"], "scope": "read"}"#;
    let json_type = ("Content-Type", "application/json");

    // Without the initial access token: refused.
    let reply = running
        .send("POST", &register, &[json_type], metadata)
        .await;
    assert_eq!(reply.status, 401);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );

    let auth = bearer(REGISTRATION_TOKEN);
    let reply = running
        .send(
            "POST",
            &register,
            &[json_type, ("Authorization", &auth)],
            metadata,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let info = reply.json();
    let id = info["client_id"].as_str().unwrap();
    let secret = info["client_secret"].as_str().unwrap();
    let configuration = url::Url::parse(info["registration_client_uri"].as_str().unwrap()).unwrap();
    assert_eq!(configuration.path(), format!("{register}/{id}"));

    // The new client gets tokens the API accepts.
    let reply = running
        .post_form(
            &running.endpoint("token_endpoint").await,
            &[("Authorization", &basic(id, secret))],
            &form(&[("grant_type", "client_credentials"), ("scope", "read")]),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let access = reply.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(running.me(&access).await.json()["sub"], id);

    // It reads its configuration (RFC 7592 §2.1), then deletes itself: its
    // token dies with it.
    let rat = bearer(info["registration_access_token"].as_str().unwrap());
    let reply = running
        .get(configuration.path(), &[("Authorization", &rat)])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let current = reply.json();
    assert_eq!(current["client_name"], "Reports");
    assert!(current.get("client_secret").is_none());
    let rat = bearer(current["registration_access_token"].as_str().unwrap());
    let reply = running
        .send(
            "DELETE",
            configuration.path(),
            &[("Authorization", &rat)],
            b"",
        )
        .await;
    assert_eq!(reply.status, 204);
    assert_eq!(running.me(&access).await.status, 401);
}

#[tokio::test]
async fn a_self_registered_name_is_escaped_and_marked_on_the_consent_page() {
    let running = start().await;
    let register = running.endpoint("registration_endpoint").await;
    let metadata = json!({
        "client_name": "<script>alert(1)</script>",
        "application_type": "native",
        "token_endpoint_auth_method": "none",
        "redirect_uris": [app::REDIRECT_URI],
        "scope": "read",
    });
    let auth = bearer(REGISTRATION_TOKEN);
    let reply = running
        .send(
            "POST",
            &register,
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &auth),
            ],
            metadata.to_string().as_bytes(),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let id = reply.json()["client_id"].as_str().unwrap().to_owned();

    let authorize = running.endpoint("authorization_endpoint").await;
    let (target, _, _) = authorization_request(&authorize, &id);
    let page = running.get(&target, &[]).await;
    assert_eq!(page.status, 200, "{}", page.text());
    page.assert_secure_page();
    assert!(
        page.text()
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    assert!(page.text().contains("registered itself"));
}

#[tokio::test]
async fn request_bodies_are_bounded() {
    let running = start().await;
    let token = running.endpoint("token_endpoint").await;
    let body = vec![b'a'; portcullis::DEFAULT_MAX_BODY + 1];
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let reply = running.send("POST", &token, &headers, &body).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json()["error"], "invalid_request");
    let authorize = running.endpoint("authorization_endpoint").await;
    let reply = running.send("POST", &authorize, &headers, &body).await;
    assert_eq!(reply.status, 413);
}

#[tokio::test]
async fn failed_logins_are_throttled() {
    let running = start().await;
    let verification = running
        .demo
        .server
        .device_verification_uri()
        .path()
        .to_owned();
    let login = |password: &str| {
        form(&[
            ("user_code", "BCDF-GHJK"),
            ("username", app::USER_NAME),
            ("password", password),
        ])
    };
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let reply = running.post_form(&verification, &[], &login("guess")).await;
        statuses.push(reply.status);
        if reply.status == 429 {
            assert!(reply.header("retry-after").is_some());
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(
        statuses.iter().filter(|s| **s == 403).count() >= 5,
        "{statuses:?}"
    );
    // While throttled, even the right password is not checked.
    let reply = running
        .post_form(&verification, &[], &login(&running.demo.user_password))
        .await;
    assert_eq!(reply.status, 429);
}

#[tokio::test]
async fn what_the_request_carries_is_escaped_on_the_pages() {
    let running = start().await;
    let verification = running
        .demo
        .server
        .device_verification_uri()
        .path()
        .to_owned();
    let page = running
        .get(
            &format!("{verification}?user_code=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
            &[],
        )
        .await;
    assert_eq!(page.status, 200);
    page.assert_secure_page();
    assert!(
        page.text()
            .contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\"")
    );
}
