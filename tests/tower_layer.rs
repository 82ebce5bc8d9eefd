//! The resource server's tower layer (`portcullis::tower`) in a plain tower
//! stack, without any web framework: the RFC 6750 refusals it answers
//! itself, the token information it hands the inner service, and the inner
//! service's readiness.
#![cfg(feature = "tower")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use common::*;
use http::{Request, Response};
use portcullis::AuthorizationServer;
use portcullis::resource::{BearerValidator, Realm, TokenInfo, TokenSource, TokenSourceError};
use portcullis::tower::BearerLayer;
use tower::{Layer as _, Service, ServiceBuilder, ServiceExt as _};

const BARE: &str = r#"Bearer realm="api""#;

fn validator(h: &Harness) -> BearerValidator<AuthorizationServer> {
    BearerValidator::new(h.server.clone(), Realm::new("api").unwrap())
}

/// A client_credentials access token with `scope`, and its client's id.
async fn cc_token(h: &Harness, scope: &str) -> (String, String) {
    let c = h.cc_client().await;
    let r = h.post(cc_request(&c, &format!("&scope={scope}"))).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    (r.access_token().to_owned(), c.id)
}

fn get(authorization: Option<&str>) -> Request<Vec<u8>> {
    let mut b = Request::get("/resource");
    if let Some(a) = authorization {
        b = b.header("authorization", a);
    }
    b.body(Vec::new()).unwrap()
}

/// The inner service: counts its calls, and answers with what the layer
/// put into the extensions, as `client_id|sub|scope|realm`.
#[derive(Clone, Default)]
struct Inner {
    calls: Arc<AtomicUsize>,
}

impl Inner {
    fn service(
        &self,
    ) -> impl Service<
        Request<Vec<u8>>,
        Response = Response<Vec<u8>>,
        Error = Infallible,
        Future: Send,
    > + Clone
    + Send
    + use<> {
        let calls = self.calls.clone();
        tower::service_fn(move |request: Request<Vec<u8>>| {
            calls.fetch_add(1, Ordering::SeqCst);
            let seen = match request.extensions().get::<TokenInfo>() {
                Some(info) => format!(
                    "{}|{}|{}|{}",
                    info.client_id
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    info.subject.as_ref().map(|s| s.as_str()).unwrap_or("-"),
                    info.scope,
                    request
                        .extensions()
                        .get::<Realm>()
                        .map_or("no realm", |r| r.as_str())
                ),
                None => "no token info".to_owned(),
            };
            async move { Ok::<_, Infallible>(Response::new(seen.into_bytes())) }
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

fn challenge(response: &Response<Vec<u8>>) -> &str {
    response.headers()["www-authenticate"].to_str().unwrap()
}

fn error_code(response: &Response<Vec<u8>>) -> String {
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    body["error"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_request_without_a_token_gets_a_bare_challenge() {
    let h = harness();
    let inner = Inner::default();
    let service = BearerLayer::new(validator(&h)).layer(inner.service());
    let response = service.oneshot(get(None)).await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(challenge(&response), BARE);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.body().is_empty(), "no error code (RFC 6750 §3.1)");
    assert_eq!(
        inner.calls(),
        0,
        "a refused request never reaches the resource"
    );
}

#[tokio::test]
async fn another_scheme_is_no_token() {
    let h = harness();
    let inner = Inner::default();
    let service = BearerLayer::new(validator(&h)).layer(inner.service());
    let response = service
        .oneshot(get(Some("Basic YWxpY2U6c2VjcmV0")))
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(challenge(&response), BARE);
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn malformed_credentials_are_invalid_request() {
    let h = harness();
    let inner = Inner::default();
    let service = BearerLayer::new(validator(&h)).layer(inner.service());
    let malformed: [&[u8]; 4] = [
        b"Bearer",
        b"Bearer two words",
        b"Bearer to@ken",
        b"Bearer \xff\xfe",
    ];
    for malformed in malformed {
        let mut request = get(None);
        request.headers_mut().insert(
            "authorization",
            http::HeaderValue::from_bytes(malformed).unwrap(),
        );
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(
            response.status(),
            400,
            "{}",
            String::from_utf8_lossy(malformed)
        );
        assert!(
            challenge(&response).starts_with(r#"Bearer realm="api", error="invalid_request""#),
            "{}",
            challenge(&response)
        );
        assert_eq!(error_code(&response), "invalid_request");
    }
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn an_unknown_token_is_invalid_token() {
    let h = harness();
    let (token, _) = cc_token(&h, "read").await;
    let inner = Inner::default();
    let service = BearerLayer::new(validator(&h)).layer(inner.service());
    // A forged token, and a live one with a character changed.
    let mut altered = token.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    for wrong in ["pc_at_forged", altered.as_str()] {
        let response = service
            .clone()
            .oneshot(get(Some(&format!("Bearer {wrong}"))))
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        assert!(
            challenge(&response).starts_with(r#"Bearer realm="api", error="invalid_token""#),
            "{}",
            challenge(&response)
        );
        assert_eq!(error_code(&response), "invalid_token");
    }
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn a_revoked_token_is_refused() {
    let h = harness();
    let (token, _) = cc_token(&h, "read").await;
    let inner = Inner::default();
    let service = BearerLayer::new(validator(&h)).layer(inner.service());
    let bearer = format!("Bearer {token}");
    let response = service.clone().oneshot(get(Some(&bearer))).await.unwrap();
    assert_eq!(response.status(), 200);
    let info = h.server.access_token_info(&token).await.unwrap().unwrap();
    h.server.revoke_grant(&info.grant_id).await.unwrap();
    let response = service.oneshot(get(Some(&bearer))).await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(&response), "invalid_token");
    assert_eq!(inner.calls(), 1);
}

#[tokio::test]
async fn too_little_scope_is_insufficient_scope() {
    let h = harness();
    let (token, _) = cc_token(&h, "read").await;
    let inner = Inner::default();
    let service = ServiceBuilder::new()
        .layer(BearerLayer::new(validator(&h)).require_scope("read write".parse().unwrap()))
        .service(inner.service());
    let response = service
        .oneshot(get(Some(&format!("Bearer {token}"))))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let challenge = challenge(&response);
    assert!(
        challenge.starts_with(r#"Bearer realm="api", error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(
        challenge.ends_with(r#"scope="read write""#),
        "the challenge names the scope required: {challenge}"
    );
    assert_eq!(error_code(&response), "insufficient_scope");
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn a_valid_token_reaches_the_resource_with_its_information() {
    let h = harness();
    let (token, client_id) = cc_token(&h, "read write").await;
    let inner = Inner::default();
    let service = ServiceBuilder::new()
        .layer(BearerLayer::new(validator(&h)).require_scope("read".parse().unwrap()))
        .service(inner.service());
    let response = service
        .oneshot(get(Some(&format!("Bearer {token}"))))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Client credentials: the client acts for itself, no subject (RFC 6749
    // §4.4); the token's whole scope, not only the scope required.
    assert_eq!(
        String::from_utf8(response.into_body()).unwrap(),
        format!("{client_id}|-|read write|api")
    );
    assert_eq!(inner.calls(), 1);
}

#[tokio::test]
async fn without_a_required_scope_any_live_token_passes() {
    let h = harness();
    let layer = BearerLayer::new(validator(&h));
    assert!(layer.required_scope().is_empty());
    let (token, client_id) = cc_token(&h, "write").await;
    let inner = Inner::default();
    let response = layer
        .layer(inner.service())
        .oneshot(get(Some(&format!("Bearer {token}"))))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.body(),
        format!("{client_id}|-|write|api").as_bytes()
    );
}

/// A source that cannot answer: a store or network failure.
struct Down;

impl TokenSource for Down {
    async fn token_info(&self, _: &str) -> Result<Option<TokenInfo>, TokenSourceError> {
        Err(TokenSourceError::new(std::io::Error::other("unreachable")))
    }
}

#[tokio::test]
async fn a_failed_source_is_a_server_error_without_a_challenge() {
    let inner = Inner::default();
    let service = BearerLayer::new(BearerValidator::new(Down, Realm::new("api").unwrap()))
        .layer(inner.service());
    let response = service
        .oneshot(get(Some("Bearer pc_at_whatever")))
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert!(response.headers().get("www-authenticate").is_none());
    assert_eq!(error_code(&response), "server_error");
    assert!(!String::from_utf8_lossy(response.body()).contains("unreachable"));
    assert_eq!(inner.calls(), 0);
}

/// An inner service that is ready only when told, and refuses (500) a call
/// on an instance that `poll_ready` did not ready — as tower's contract
/// allows a real one (a connection pool, a rate limit) to do.
struct Gate {
    open: Arc<AtomicUsize>,
    readied: bool,
}

/// A clone is a new handle, not yet readied (as a `tower::buffer::Buffer`'s
/// clone is).
impl Clone for Gate {
    fn clone(&self) -> Self {
        Gate {
            open: self.open.clone(),
            readied: false,
        }
    }
}

impl Service<Request<Vec<u8>>> for Gate {
    type Response = Response<Vec<u8>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Vec<u8>>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        if self.open.load(Ordering::SeqCst) == 0 {
            return Poll::Pending;
        }
        self.readied = true;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<Vec<u8>>) -> Self::Future {
        let status = if std::mem::take(&mut self.readied) {
            200
        } else {
            500
        };
        Box::pin(async move {
            let mut response = Response::new(Vec::new());
            *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
            Ok(response)
        })
    }
}

#[tokio::test]
async fn the_inner_services_readiness_is_respected() {
    let h = harness();
    let (token, _) = cc_token(&h, "read").await;
    let open = Arc::new(AtomicUsize::new(0));
    let mut service = BearerLayer::new(validator(&h)).layer(Gate {
        open: open.clone(),
        readied: false,
    });
    let mut cx = Context::from_waker(Waker::noop());
    assert!(
        service.poll_ready(&mut cx).is_pending(),
        "not ready while the inner service is not"
    );
    open.store(1, Ordering::SeqCst);
    assert!(matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))));
    // The call, after validation's await, reaches the instance that was
    // readied.
    let response = service
        .call(get(Some(&format!("Bearer {token}"))))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}
