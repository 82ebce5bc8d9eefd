//! The plain-hyper host (`examples/hyper_server.rs`), run in process on
//! loopback and driven over real HTTP: a client gets a token from the token
//! endpoint and calls the resource the bearer layer protects. No web
//! framework: the core's `http` API and `portcullis::tower` suffice.
#![cfg(feature = "tower")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../examples/hyper_server.rs"]
#[allow(dead_code)]
mod example;

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{Request, Response};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use portcullis::client::ClientRegistration;
use portcullis::protocol::GrantType;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};

/// The example serving on an ephemeral loopback port, with one registered
/// client credentials client.
struct Running {
    addr: SocketAddr,
    client_id: String,
    secret: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start() -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = example::authorization_server(&format!("http://{addr}")).unwrap();
    let client = server
        .register_client(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .scope(example::RESOURCE_SCOPE.parse().unwrap()),
        )
        .await
        .unwrap();
    let task = tokio::spawn(async move {
        if let Err(e) = example::serve(listener, server).await {
            panic!("the server stopped: {e}");
        }
    });
    Running {
        addr,
        client_id: client.client.id().to_string(),
        secret: client.secret.unwrap().expose_secret().to_owned(),
        task,
    }
}

/// One exchange on a fresh connection, bounded in time.
async fn send(addr: SocketAddr, request: Request<Full<Bytes>>) -> Response<Bytes> {
    tokio::time::timeout(Duration::from_secs(30), async {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let response = sender.send_request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        Response::from_parts(parts, body.collect().await.unwrap().to_bytes())
    })
    .await
    .expect("the server answers in time")
}

fn json(response: &Response<Bytes>) -> Value {
    serde_json::from_slice(response.body()).unwrap()
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn token_request(&self, secret: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
        let basic = STANDARD.encode(format!("{}:{secret}", self.client_id));
        Request::post(self.url(example::TOKEN_PATH))
            .header("host", self.addr.to_string())
            .header("authorization", format!("Basic {basic}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(body.into()))
            .unwrap()
    }

    async fn token(&self) -> String {
        let response = send(
            self.addr,
            self.token_request(
                &self.secret,
                "grant_type=client_credentials&scope=profile%3Aread",
            ),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body = json(&response);
        assert_eq!(body["token_type"], "Bearer");
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn resource(&self, authorization: Option<&str>) -> Response<Bytes> {
        let mut request =
            Request::get(self.url(example::RESOURCE_PATH)).header("host", self.addr.to_string());
        if let Some(a) = authorization {
            request = request.header("authorization", a);
        }
        send(self.addr, request.body(Full::default()).unwrap()).await
    }
}

#[tokio::test]
async fn a_client_gets_a_token_and_calls_the_resource() {
    let running = start().await;
    let token = running.token().await;

    let response = running.resource(Some(&format!("Bearer {token}"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = json(&response);
    assert_eq!(body["client_id"], running.client_id.as_str());
    assert_eq!(body["sub"], Value::Null);
    assert_eq!(body["scope"], example::RESOURCE_SCOPE);
}

#[tokio::test]
async fn the_resource_refuses_requests_without_a_live_token() {
    let running = start().await;

    let response = running.resource(None).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer realm="api""#
    );

    let response = running.resource(Some("Bearer pc_at_forged")).await;
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with(r#"Bearer realm="api", error="invalid_token""#)
    );
    assert_eq!(json(&response)["error"], "invalid_token");
}

#[tokio::test]
async fn the_token_endpoint_answers_as_the_core_does() {
    let running = start().await;

    // A wrong secret: the core's 401 invalid_client, with its challenge
    // (RFC 6749 §5.2), passed through intact.
    let response = send(
        running.addr,
        running.token_request("wrong", "grant_type=client_credentials"),
    )
    .await;
    assert_eq!(response.status(), 401);
    assert_eq!(json(&response)["error"], "invalid_client");
    assert!(response.headers().contains_key("www-authenticate"));
    assert_eq!(response.headers()["cache-control"], "no-store");

    // A body past the limit is not buffered.
    let huge = vec![b'a'; portcullis::DEFAULT_MAX_BODY + 1];
    let response = send(running.addr, running.token_request(&running.secret, huge)).await;
    assert_eq!(response.status(), 413);

    // Only POST.
    let request = Request::get(running.url(example::TOKEN_PATH))
        .header("host", running.addr.to_string())
        .body(Full::default())
        .unwrap();
    let response = send(running.addr, request).await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
}
