//! A real browser through the authorization code flow: headless Chromium,
//! driven over WebDriver by ChromeDriver, logs in on the example server's
//! login page, approves on its consent page, and is redirected to a client's
//! loopback callback with `code`, `state` and `iss` (RFC 6749 §4.1.2,
//! RFC 9207). The request is an OpenID Connect one (`scope=openid read`,
//! a `nonce`): the code is exchanged with PKCE for an access token and an
//! ID token, whose signature (with `jwks_uri`), `nonce` and `sub` are
//! checked.
//!
//! The example server runs in process on a loopback port. Needs Chromium and
//! ChromeDriver (Debian: `chromium`, `chromium-driver`; `.ci/run` installs
//! them); without them the test says so and passes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod example;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const USER: &str = "alice";
const PASSWORD: &str = "correct horse battery staple";

/// Kills a child process when dropped, so a failing test leaves nothing
/// running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal HTTP/1.1 exchange (`Connection: close`), enough for
/// ChromeDriver and the server's JSON endpoints.
fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    // Read the head, then exactly the body its framing says: a server may
    // keep the connection open despite `Connection: close`.
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line);
    }
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let lower = head.to_ascii_lowercase();
    let length = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>().unwrap());
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            reader.read_exact(&mut body).unwrap();
        }
        None if lower.contains("transfer-encoding: chunked") => {
            reader.read_to_end(&mut body).unwrap_or_default();
            body = dechunk(&body);
        }
        None => {
            reader.read_to_end(&mut body).unwrap_or_default();
        }
    }
    (status, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(
            std::str::from_utf8(&data[..line_end])
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .trim(),
            16,
        )
        .unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

fn json_request(method: &str, url: &str, body: &Value) -> Value {
    let body = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(body).unwrap()
    };
    let (status, response) = http(method, url, &[("Content-Type", "application/json")], &body);
    let value: Value = serde_json::from_slice(&response).unwrap_or(Value::Null);
    assert!(status < 300, "{method} {url}: {status} {value}");
    value
}

/// A WebDriver session (W3C WebDriver) with headless Chromium.
struct Browser {
    driver: String,
    session: String,
    _chromedriver: Running,
}

impl Browser {
    fn start(chromium: &Path, chromedriver: &Path) -> Self {
        let port = free_port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let running = Running(child);
        let driver = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "ChromeDriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let created = json_request(
            "POST",
            &format!("{driver}/session"),
            &json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium.to_str().unwrap(),
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--no-first-run"]
                }
            }}}),
        );
        let session = created["value"]["sessionId"].as_str().unwrap().to_owned();
        let browser = Self {
            driver,
            session,
            _chromedriver: running,
        };
        // A click that submits a form returns before the next page has
        // loaded: looking an element up waits up to 30 s for it to appear
        // (W3C WebDriver §9, the implicit wait) instead of failing on the
        // page being left.
        browser.call("POST", "/timeouts", json!({ "implicit": 30_000 }));
        browser
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.driver, self.session);
        json_request(method, &url, &body)["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    fn find(&self, css: &str) -> String {
        let found = self.call(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned()
    }

    fn page(&self) -> String {
        self.call("GET", "/source", Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        );
    }

    fn click(&self, css: &str) {
        let element = self.find(css);
        self.click_element(&element);
    }

    fn click_element(&self, element: &str) {
        self.call("POST", &format!("/element/{element}/click"), json!({}));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let url = format!("{}/session/{}", self.driver, self.session);
        let _ = std::panic::catch_unwind(|| http("DELETE", &url, &[], b""));
    }
}

/// The client's redirect endpoint: answers one request and hands over its
/// request target (path and query).
fn callback_listener() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            if BufReader::new(&stream).read_line(&mut line).is_err() {
                continue;
            }
            let target = line.split(' ').nth(1).unwrap_or_default().to_owned();
            let page = "<!DOCTYPE html><title>client</title><p>callback received</p>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            if target.starts_with("/callback") {
                let _ = tx.send(target);
            }
        }
    });
    (port, rx)
}

fn query_param(target: &str, name: &str) -> Option<String> {
    let query = target.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_signs_in_approves_and_the_client_gets_code_state_iss_and_an_id_token() {
    let (Some(chromium), Some(chromedriver)) =
        (find_on_path("chromium"), find_on_path("chromedriver"))
    else {
        eprintln!(
            "SKIPPED: no Chromium installed (Debian packages `chromium` and `chromium-driver`); \
             the browser test did not run"
        );
        return;
    };
    let server = example::start(&["--user", &format!("{USER}:{PASSWORD}")]).await;
    let issuer = server.issuer();
    let authorization_endpoint = server.endpoint(portcullis::endpoint::Endpoint::Authorization);
    let token_endpoint = server.endpoint(portcullis::endpoint::Endpoint::Token);
    let jwks_uri = server.endpoint(portcullis::endpoint::Endpoint::Jwks);
    let me = server.url(example::app::RESOURCE_PATH);
    let client_id = server.demo().clients.app_id.clone();

    // The browser runs on a blocking thread; the server keeps the runtime's
    // workers.
    tokio::task::spawn_blocking(move || {
        browse(
            &chromium,
            &chromedriver,
            &Flow {
                issuer,
                authorization_endpoint,
                token_endpoint,
                jwks_uri,
                me,
                client_id,
            },
        )
    })
    .await
    .unwrap();
    server.stop().await;
}

struct Flow {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    me: String,
    client_id: String,
}

fn browse(chromium: &Path, chromedriver: &Path, flow: &Flow) {
    // The demo app is a native app with a loopback redirect: any port
    // matches (RFC 8252 §7.3), so the test's own listener is its callback.
    let (callback_port, callbacks) = callback_listener();
    let redirect_uri = format!("http://127.0.0.1:{callback_port}/callback");
    let encoded_redirect =
        url::form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect::<String>();
    let verifier = URL_SAFE_NO_PAD.encode(rand_bytes());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let state = URL_SAFE_NO_PAD.encode(rand_bytes());
    let nonce = URL_SAFE_NO_PAD.encode(rand_bytes());
    let authorize = format!(
        "{}?response_type=code&client_id={}&redirect_uri={encoded_redirect}&scope=openid%20read\
         &state={state}&nonce={nonce}&code_challenge={challenge}&code_challenge_method=S256",
        flow.authorization_endpoint, flow.client_id,
    );

    let browser = Browser::start(chromium, chromedriver);
    browser.goto(&authorize);
    // The sign-in page: inputs `username` and `password`.
    browser.type_into("input[name=username]", USER);
    browser.type_into("input[name=password]", PASSWORD);
    browser.click("form [type=submit]");
    // The consent page has the approve button (waited for: the sign-in
    // form's submission is still loading when the click returns), names the
    // client and the scope asked.
    let approve = browser.find("button[name=decision][value=approve]");
    let consent = browser.page();
    assert!(consent.contains("Demo app"), "{consent}");
    assert!(consent.contains("read"), "{consent}");
    assert!(consent.contains("openid"), "{consent}");
    browser.click_element(&approve);

    let target = callbacks
        .recv_timeout(Duration::from_secs(30))
        .expect("the browser reached the client's callback");
    assert_eq!(
        query_param(&target, "state").as_deref(),
        Some(state.as_str())
    );
    assert_eq!(
        query_param(&target, "iss").as_deref(),
        Some(flow.issuer.as_str())
    );
    let code = query_param(&target, "code").expect("a code");

    // The client redeems the code with its PKCE verifier …
    let form = format!(
        "grant_type=authorization_code&code={code}&client_id={}&code_verifier={verifier}\
         &redirect_uri={encoded_redirect}",
        flow.client_id
    );
    let (status, body) = http(
        "POST",
        &flow.token_endpoint,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let tokens: Value = serde_json::from_slice(&body).unwrap();
    let access = tokens["access_token"].as_str().unwrap();

    // … with an ID token (OpenID Connect Core 1.0 §3.1.3.3) signed by a key
    // of jwks_uri, for this client, carrying the nonce and the user.
    let claims = verify_id_token(flow, tokens["id_token"].as_str().expect("an ID token"));
    assert_eq!(claims["nonce"], nonce.as_str());
    assert_eq!(claims["sub"], USER);
    assert_eq!(claims["aud"], flow.client_id.as_str());
    assert_eq!(claims["iss"], flow.issuer.as_str());

    // … and the token opens the protected resource as the user.
    let (status, body) = http(
        "GET",
        &flow.me,
        &[("Authorization", &format!("Bearer {access}"))],
        b"",
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let me: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(me["sub"], USER);
}

/// The claims of `id_token`, once verified with the key of `jwks_uri` its
/// `kid` names (RS256, the server's default for ID tokens).
fn verify_id_token(flow: &Flow, id_token: &str) -> Value {
    use portcullis::jose::{Algorithm, JwkSet, PublicKey, UnverifiedJws};
    let (status, jwks) = http("GET", &flow.jwks_uri, &[], b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&jwks));
    let set = JwkSet::from_json(&jwks).unwrap();
    let jws = UnverifiedJws::parse(id_token).unwrap();
    let key = set.find(jws.header().kid().unwrap()).unwrap();
    let payload = jws
        .verify(&PublicKey::from_jwk(key).unwrap(), &[Algorithm::Rs256])
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

fn rand_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    bytes
}
