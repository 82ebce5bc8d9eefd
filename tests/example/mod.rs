//! Running the example servers in process for the tests, and talking to
//! them over real HTTP on loopback: as a browser (a cookie jar, forms
//! submitted from the page), as raw HTTP, and as the `oauth2` client crate's
//! HTTP client.
//!
//! All HTTP goes through [`send`], the resource server example's own
//! minimal HTTP/1.1 client. A server started with [`start_https`] has an
//! `https` issuer, as behind a TLS-terminating reverse proxy: [`send`] plays
//! that proxy, sending `https://127.0.0.1…` requests to the socket in plain
//! HTTP.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../examples/server/app/mod.rs"]
pub mod app;
#[path = "../../examples/resource_server/app/mod.rs"]
pub mod resource_server;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{Request, Response};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, ClientId, ClientSecret, DeviceAuthorizationUrl, EndpointNotSet, EndpointSet,
    RedirectUrl, RevocationUrl, TokenUrl,
};
use portcullis::endpoint::Endpoint;
use serde_json::Value;

pub use resource_server::http1::HttpError;

pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// One HTTP exchange on a fresh connection; `https://` on loopback is sent
/// as plain HTTP (the stand-in for a TLS-terminating proxy). The `oauth2`
/// crate takes this function as its HTTP client.
pub async fn send(request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, HttpError> {
    let (mut parts, body) = request.into_parts();
    if parts.uri.scheme_str() == Some("https") {
        let host = parts.uri.host().unwrap_or_default();
        assert!(
            host == "127.0.0.1" || host == "localhost",
            "https only to this machine: {}",
            parts.uri
        );
        let mut uri = parts.uri.into_parts();
        uri.scheme = Some(http::uri::Scheme::HTTP);
        parts.uri = http::Uri::from_parts(uri).unwrap();
    }
    resource_server::http1::send(Request::from_parts(parts, body)).await
}

/// [`send`] from the loopback address `source` (any of 127.0.0.0/8 is this
/// machine), so the server sees the request come from there: as if from
/// another network. Plain `http://127.0.0.1` only.
pub async fn send_from(
    source: Ipv4Addr,
    request: Request<Vec<u8>>,
) -> Result<Response<Vec<u8>>, HttpError> {
    tokio::time::timeout(Duration::from_secs(30), async {
        let (stream, last) = prepare(source, request).await?;
        finish(stream, last).await
    })
    .await
    .map_err(|_| HttpError::Timeout)?
}

/// Sends `requests` from `source` released at once: each is written, but
/// for its last byte, on a connection of its own, then every last byte is
/// sent together — so the server handles them all concurrently, as an
/// attacker's burst. The responses, in the order of `requests`.
pub async fn send_all_at_once(
    source: Ipv4Addr,
    requests: Vec<Request<Vec<u8>>>,
) -> Vec<Response<Vec<u8>>> {
    tokio::time::timeout(Duration::from_secs(120), async {
        let mut prepared = Vec::new();
        for request in requests {
            prepared.push(prepare(source, request).await.unwrap());
        }
        let mut sent = tokio::task::JoinSet::new();
        for (i, (stream, last)) in prepared.into_iter().enumerate() {
            sent.spawn(async move { (i, finish(stream, last).await.unwrap()) });
        }
        let mut responses: Vec<_> = sent.join_all().await;
        responses.sort_by_key(|(i, _)| *i);
        responses.into_iter().map(|(_, r)| r).collect()
    })
    .await
    .expect("the burst is answered in time")
}

/// Connects from `source` and writes `request` but for its last byte, which
/// it returns.
async fn prepare(
    source: Ipv4Addr,
    request: Request<Vec<u8>>,
) -> Result<(tokio::net::TcpStream, u8), HttpError> {
    use tokio::io::AsyncWriteExt;
    assert!(source.is_loopback(), "loopback only: {source}");
    let uri = request.uri();
    assert_eq!(uri.scheme_str(), Some("http"), "{uri}");
    assert_eq!(uri.host(), Some("127.0.0.1"), "loopback only: {uri}");
    let port = uri.port_u16().unwrap();
    let mut raw = format!(
        "{} {} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        request.method(),
        uri.path_and_query().map_or("/", |p| p.as_str()),
        request.body().len(),
    )
    .into_bytes();
    for (name, value) in request.headers() {
        raw.extend_from_slice(format!("{name}: {}\r\n", value.to_str().unwrap()).as_bytes());
    }
    raw.extend_from_slice(b"\r\n");
    raw.extend_from_slice(request.body());
    let last = raw.pop().unwrap();
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let mut stream = socket
        .connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await?;
    stream.write_all(&raw).await?;
    Ok((stream, last))
}

/// Sends the last byte and reads the response until the server closes.
async fn finish(
    mut stream: tokio::net::TcpStream,
    last: u8,
) -> Result<Response<Vec<u8>>, HttpError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(&[last]).await?;
    let mut raw = Vec::new();
    stream.take(1 << 20).read_to_end(&mut raw).await?;
    resource_server::http1::parse_response(&raw)
}

/// A form `POST` from `source` (see [`send_from`]).
pub async fn post_form_from(
    source: Ipv4Addr,
    url: &str,
    headers: &[(&str, &str)],
    pairs: &[(&str, &str)],
) -> Reply {
    let mut builder =
        Request::post(url).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(form(pairs).into_bytes()).unwrap();
    Reply {
        url: url.to_owned(),
        response: send_from(source, request).await.unwrap(),
    }
}

/// A response, and the URL it answered.
#[derive(Debug)]
pub struct Reply {
    pub url: String,
    pub response: Response<Vec<u8>>,
}

impl Reply {
    pub fn status(&self) -> u16 {
        self.response.status().as_u16()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap())
    }

    pub fn headers(&self, name: &str) -> Vec<&str> {
        self.response
            .headers()
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(self.response.body()).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(self.response.body())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The `Location` header.
    pub fn location(&self) -> url::Url {
        let location = self
            .header("location")
            .unwrap_or_else(|| panic!("no Location: {} {}", self.status(), self.text()));
        url::Url::parse(&self.url).unwrap().join(location).unwrap()
    }

    /// The query parameters of the `Location` header.
    pub fn location_params(&self) -> BTreeMap<String, String> {
        self.location().query_pairs().into_owned().collect()
    }

    /// The value of the hidden field `name` in the page's form.
    pub fn hidden(&self, name: &str) -> String {
        let text = self.text();
        let marker = format!("name=\"{name}\" value=\"");
        let start = text
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} in {text}"))
            + marker.len();
        let end = start + text[start..].find('"').unwrap();
        unescape(&text[start..end])
    }

    /// The page is a page of the authorization flow: HTML with the helper's
    /// security headers, a strict content security policy, no scripts.
    pub fn assert_secure_page(&self) {
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
        let text = self.text();
        assert!(text.starts_with("<!DOCTYPE html>"), "{text}");
        assert!(!text.contains("<script"), "no scripts on the page");
    }

    /// The page's form: its action (absolute) and its hidden fields.
    pub fn form(&self) -> (String, Vec<(String, String)>, String) {
        let text = self.text();
        let start = text
            .find("<form method=\"post\"")
            .unwrap_or_else(|| panic!("no form in {text}"));
        let end = start + text[start..].find("</form>").unwrap();
        let form = &text[start..end];
        let action = attribute(form, "action").unwrap();
        let action = url::Url::parse(&self.url)
            .unwrap()
            .join(&action)
            .unwrap()
            .to_string();
        let mut fields = Vec::new();
        let mut rest = form;
        while let Some(at) = rest.find("<input type=\"hidden\"") {
            let tag_end = at + rest[at..].find('>').unwrap();
            let tag = &rest[at..tag_end];
            fields.push((
                attribute(tag, "name").unwrap(),
                attribute(tag, "value").unwrap(),
            ));
            rest = &rest[tag_end..];
        }
        (action, fields, form.to_owned())
    }
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// `Authorization: Basic` for a client (RFC 6749 §2.3.1).
pub fn basic(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", encode(id), encode(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

/// One request, no cookies.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Vec<u8>>,
) -> Reply {
    let mut builder = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = send(builder.body(body.into()).unwrap()).await.unwrap();
    Reply {
        url: url.to_owned(),
        response,
    }
}

pub async fn get(url: &str, headers: &[(&str, &str)]) -> Reply {
    request("GET", url, headers, Vec::new()).await
}

/// A form `POST`, with `headers` besides the content type.
pub async fn post_form(url: &str, headers: &[(&str, &str)], pairs: &[(&str, &str)]) -> Reply {
    let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    request("POST", url, &all, form(pairs)).await
}

/// A browser: it keeps cookies, submits forms from the page it was given,
/// and follows redirects when told to.
#[derive(Debug, Default)]
pub struct Browser {
    cookies: BTreeMap<String, String>,
    /// Where its requests come from (see [`send_from`]); the default
    /// loopback address when `None`.
    source: Option<Ipv4Addr>,
}

impl Browser {
    pub fn new() -> Self {
        Self::default()
    }

    /// A browser on another network: its requests come from the loopback
    /// address `source`.
    pub fn from_source(source: Ipv4Addr) -> Self {
        Self {
            source: Some(source),
            ..Self::default()
        }
    }

    /// The `Cookie` header this browser sends.
    pub fn cookie_header(&self) -> String {
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        jar.join("; ")
    }

    /// The cookie `name`, as the browser holds it.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// Puts a cookie in the jar (to replay it elsewhere).
    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_owned(), value.to_owned());
    }

    async fn exchange(&mut self, mut request: Request<Vec<u8>>) -> Reply {
        let url = request.uri().to_string();
        if !self.cookies.is_empty() {
            request.headers_mut().insert(
                header::COOKIE,
                HeaderValue::from_str(&self.cookie_header()).unwrap(),
            );
        }
        let response = match self.source {
            Some(source) => send_from(source, request).await.unwrap(),
            None => send(request).await.unwrap(),
        };
        for set in response.headers().get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Reply { url, response }
    }

    pub async fn get(&mut self, url: &str) -> Reply {
        self.exchange(Request::get(url).body(Vec::new()).unwrap())
            .await
    }

    pub async fn post_form(&mut self, url: &str, pairs: &[(&str, &str)]) -> Reply {
        let request = Request::post(url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(pairs).into_bytes())
            .unwrap();
        self.exchange(request).await
    }

    /// Follows a `303`, as a browser does: `GET` the `Location`.
    pub async fn follow(&mut self, reply: &Reply) -> Reply {
        assert_eq!(reply.status(), 303, "{}", reply.text());
        self.get(reply.location().as_str()).await
    }

    /// Submits the page's form with its hidden fields and `fields` — each of
    /// which the form must have (an input, or a button with that value).
    pub async fn submit(&mut self, page: &Reply, fields: &[(&str, &str)]) -> Reply {
        let (action, hidden, html) = page.form();
        for (name, value) in fields {
            let input = format!("name=\"{name}\"");
            assert!(html.contains(&input), "the form has no {input}: {html}");
            if *name == "decision" {
                let button =
                    format!("<button type=\"submit\" name=\"decision\" value=\"{value}\">");
                assert!(html.contains(&button), "no {button} in {html}");
            }
        }
        let mut pairs: Vec<(&str, &str)> = hidden
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        pairs.extend_from_slice(fields);
        self.post_form(&action, &pairs).await
    }

    /// Signs in on a sign-in page.
    pub async fn sign_in(&mut self, page: &Reply, user: &str, password: &str) -> Reply {
        page.assert_secure_page();
        assert!(page.text().contains("<input name=\"username\""));
        assert!(
            page.text()
                .contains("<input type=\"password\" name=\"password\"")
        );
        self.submit(page, &[("username", user), ("password", password)])
            .await
    }
}

/// An example server running in process, and what it printed.
pub struct Server {
    pub running: app::Running,
    pub printed: String,
}

/// The options a test server starts with: `args` after a free loopback
/// port, an in-memory database and a one-second device polling interval.
pub fn options(args: &[&str]) -> app::options::Options {
    let mut all: Vec<String> = Vec::new();
    if !args.contains(&"--addr") {
        all.extend(["--addr".to_owned(), "127.0.0.1:0".to_owned()]);
    }
    if !args.contains(&"--database") {
        all.extend(["--database".to_owned(), ":memory:".to_owned()]);
    }
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let app::options::Command::Run(mut options) = app::options::Options::parse(all).unwrap() else {
        panic!("not a run")
    };
    // The shortest interval the library allows, so device tests are quick.
    options.device_polling_interval = Duration::from_secs(1);
    // Argon2id at its least cost: the tests sign in thousands of times, and
    // test the throttling, not the hash's cost.
    options.password_cost = argon2::Params::new(8, 1, 1, None).unwrap();
    *options
}

/// Starts the example authorization server with `args` (see [`options`]).
pub async fn start(args: &[&str]) -> Server {
    start_with(options(args)).await
}

/// Starts it with `https://127.0.0.1:PORT` as its issuer, as behind a
/// TLS-terminating proxy.
pub async fn start_https(args: &[&str]) -> Server {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let issuer = format!("https://127.0.0.1:{port}");
    let mut all = vec!["--addr", &addr, "--issuer", &issuer];
    all.extend_from_slice(args);
    start(&all).await
}

pub async fn start_with(options: app::options::Options) -> Server {
    let mut printed = Vec::new();
    let running = app::start(options, &mut printed).await.unwrap();
    Server {
        running,
        printed: String::from_utf8(printed).unwrap(),
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The public demo client as the `oauth2` crate sees it.
pub type AppClient =
    BasicClient<EndpointSet, EndpointSet, EndpointNotSet, EndpointSet, EndpointSet>;

impl Server {
    pub fn demo(&self) -> &app::Demo {
        &self.running.demo
    }

    /// The issuer, exactly as the server publishes it.
    pub fn issuer(&self) -> String {
        self.demo().server.issuer().to_string()
    }

    /// The absolute URL of `path` on this server, per its issuer.
    pub fn url(&self, path: &str) -> String {
        self.demo()
            .server
            .issuer_url()
            .join(path)
            .unwrap()
            .to_string()
    }

    pub fn endpoint(&self, endpoint: Endpoint) -> String {
        self.demo().server.endpoint_urls().get(endpoint).to_string()
    }

    /// The first user's name and password.
    pub fn user(&self) -> (String, String) {
        let user = &self.demo().users[0];
        (user.name.clone(), user.password.clone())
    }

    /// The public demo client, with every endpoint the `oauth2` crate uses.
    pub fn app_client(&self) -> AppClient {
        BasicClient::new(ClientId::new(self.demo().clients.app_id.clone()))
            .set_auth_uri(AuthUrl::new(self.endpoint(Endpoint::Authorization)).unwrap())
            .set_token_uri(TokenUrl::new(self.endpoint(Endpoint::Token)).unwrap())
            .set_device_authorization_url(
                DeviceAuthorizationUrl::new(self.endpoint(Endpoint::DeviceAuthorization)).unwrap(),
            )
            .set_revocation_url(RevocationUrl::new(self.endpoint(Endpoint::Revocation)).unwrap())
            // A loopback redirect: any port matches (RFC 8252 §7.3).
            .set_redirect_uri(RedirectUrl::new("http://127.0.0.1:43117/callback".into()).unwrap())
    }

    /// The confidential demo client.
    pub fn service_client(
        &self,
    ) -> BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet, EndpointSet> {
        let clients = &self.demo().clients;
        BasicClient::new(ClientId::new(clients.service_id.clone()))
            .set_client_secret(ClientSecret::new(clients.service_secret.clone()))
            .set_token_uri(TokenUrl::new(self.endpoint(Endpoint::Token)).unwrap())
            .set_revocation_url(RevocationUrl::new(self.endpoint(Endpoint::Revocation)).unwrap())
    }

    /// `GET /api/me` with `token`.
    pub async fn me(&self, token: &str) -> Reply {
        get(
            &self.url(app::RESOURCE_PATH),
            &[("Authorization", &format!("Bearer {token}"))],
        )
        .await
    }

    pub async fn stop(self) {
        self.running.stop().await.unwrap();
    }
}
