//! Helpers for the revocation and introspection tests: clients with refresh
//! tokens from the authorization code flow, and requests to the two
//! endpoints as a client or resource server builds them.
#![allow(dead_code)]

use std::cell::RefCell;
use std::sync::Once;

use http::Request;
use portcullis::client::ClientRegistration;
use portcullis::protocol::GrantType;

use crate::common::{
    Harness, Reply, TestClient, basic, form_encode, param, refresh_request, token_request,
};

/// The secret the test resource server presents at the introspection
/// endpoint.
pub const RS_SECRET: &str = "rs-secret_0123456789abcdefghijklmnopqrstuvwxyz";
pub const RS_NAME: &str = "orders-api";

/// A live access token and the refresh token issued with it.
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

impl Harness {
    /// A confidential web client for the code flow, with refresh tokens and
    /// scopes `read write`.
    pub async fn web_client(&self) -> TestClient {
        self.register(
            ClientRegistration::web_application()
                .redirect_uri("https://app.example/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .grant_type(GrantType::REFRESH_TOKEN)
                .scope("read write".parse().unwrap()),
        )
        .await
    }

    /// Runs the code flow for `client` (confidential or public) as `alice`,
    /// asking for `scope=read`, and returns its tokens.
    pub async fn tokens_for(&self, client: &TestClient) -> Tokens {
        let params = self.code_for(client, "&scope=read").await;
        let code = param(&params, "code").unwrap().to_owned();
        let reply = if client.secret.is_empty() {
            self.redeem(client, &code).await
        } else {
            self.post(token_request(
                Some(&basic(&client.id, &client.secret)),
                &format!(
                    "grant_type=authorization_code&code={code}&code_verifier={}",
                    crate::common::VERIFIER
                ),
            ))
            .await
        };
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        Tokens {
            access: reply.access_token().to_owned(),
            refresh: reply.json["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Refreshes `refresh` as `client`.
    pub async fn refresh(&self, client: &TestClient, refresh: &str) -> Reply {
        self.post(refresh_request(client, refresh, "")).await
    }

    /// Sends a revocation request.
    pub async fn revoke(&self, request: Request<Vec<u8>>) -> Reply {
        Reply::from(self.server.revocation_endpoint(request).await)
    }

    /// Sends an introspection request.
    pub async fn introspect(&self, request: Request<Vec<u8>>) -> (Reply, Vec<u8>) {
        let response = self.server.introspection_endpoint(request).await;
        let body = response.body().clone();
        (Reply::from(response), body)
    }
}

/// A form POST to `path` with an optional `Authorization` header.
pub fn post(path: &str, authorization: Option<&str>, body: &str) -> Request<Vec<u8>> {
    let mut b = Request::post(format!("https://auth.example{path}"))
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(a) = authorization {
        b = b.header("authorization", a);
    }
    b.body(body.as_bytes().to_vec()).unwrap()
}

/// A request `client` sends to `path` about `token`: Basic for a
/// confidential client, `client_id` in the body for a public one; `extra` is
/// appended to the body.
pub fn client_post(path: &str, client: &TestClient, token: &str, extra: &str) -> Request<Vec<u8>> {
    let token = form_encode(token);
    if client.secret.is_empty() {
        post(
            path,
            None,
            &format!("token={token}&client_id={}{extra}", client.id),
        )
    } else {
        post(
            path,
            Some(&basic(&client.id, &client.secret)),
            &format!("token={token}{extra}"),
        )
    }
}

/// A revocation request from `client`.
pub fn revocation(client: &TestClient, token: &str, extra: &str) -> Request<Vec<u8>> {
    client_post("/revoke", client, token, extra)
}

/// An introspection request from `client`.
pub fn client_introspection(client: &TestClient, token: &str, extra: &str) -> Request<Vec<u8>> {
    client_post("/introspect", client, token, extra)
}

/// An introspection request from the resource server presenting `secret`.
pub fn rs_introspection(secret: &str, token: &str, extra: &str) -> Request<Vec<u8>> {
    post(
        "/introspect",
        Some(&format!("Bearer {secret}")),
        &format!("token={}{extra}", form_encode(token)),
    )
}

/// A well-formed token of `prefix`'s kind that was never issued.
pub fn never_issued(prefix: &str) -> String {
    format!("{prefix}{}", "A".repeat(43))
}

/// Collects the `tracing` output emitted while `f` runs on this thread.
///
/// One subscriber serves the whole test process and writes each event to the
/// capture buffer of the thread that emitted it, if that thread is capturing.
/// A subscriber set per test instead (`set_default`) races with the tests
/// running beside it: `tracing` caches whether a call site is enabled when
/// the site is first hit, and a site first hit on a thread with no
/// subscriber can be cached as disabled for every thread, so a capture would
/// sometimes see nothing.
pub async fn capture_events<F: std::future::Future>(f: F) -> (F::Output, String) {
    thread_local! {
        static CAPTURED: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
    }
    struct ThisThread;
    impl std::io::Write for ThisThread {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            CAPTURED.with_borrow_mut(|captured| {
                if let Some(captured) = captured {
                    captured.extend_from_slice(buf);
                }
            });
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        tracing_subscriber::fmt()
            .with_writer(|| ThisThread)
            .with_ansi(false)
            .init();
    });
    CAPTURED.with_borrow_mut(|captured| *captured = Some(Vec::new()));
    let output = f.await;
    let logged = CAPTURED.with_borrow_mut(Option::take).unwrap_or_default();
    (output, String::from_utf8(logged).unwrap())
}
