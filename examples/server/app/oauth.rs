//! The machine-facing endpoints: each hands the request to the library and
//! sends back its `http::Response` as it is. And the protected resource.

use std::future::Future;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use http::header::{self, HeaderValue};
use portcullis::DEFAULT_MAX_BODY;
use portcullis::client::ThrottleSource;
use portcullis::endpoint::RequestError;

use super::App;

/// The request with its body read into memory — at most
/// [`DEFAULT_MAX_BODY`] bytes, the library's own limit — or the `413` to
/// send.
pub(super) async fn read(request: Request) -> Result<http::Request<Bytes>, Response> {
    let (parts, body) = request.into_parts();
    match to_bytes(body, DEFAULT_MAX_BODY).await {
        Ok(bytes) => Ok(http::Request::from_parts(parts, bytes)),
        // Over the limit, or unreadable: the library's JSON `413`.
        Err(_) => Err(RequestError::BodyTooLarge.into_http().map(Body::from)),
    }
}

/// Reads the body, then answers with `endpoint`. The request carries where
/// it came from (`ThrottleSource`: the peer's IPv4 address or IPv6 /64), so
/// a client whose secret a person chose is throttled per source: a guesser
/// elsewhere cannot lock it out (RFC 6819 §5.1.4.2.3).
async fn serve<F, Fut>(mut request: Request, endpoint: F) -> Response
where
    F: FnOnce(http::Request<Bytes>) -> Fut,
    Fut: Future<Output = http::Response<Vec<u8>>>,
{
    let source = super::source::key(&request);
    request.extensions_mut().insert(ThrottleSource::new(source));
    match read(request).await {
        Ok(request) => endpoint(request).await.map(Body::from),
        Err(too_large) => too_large,
    }
}

/// The metadata document (RFC 8414 §3); no body to read.
pub(super) async fn metadata(State(app): State<App>, request: Request) -> Response {
    app.server.metadata_endpoint(request).map(Body::from)
}

/// The token endpoint (RFC 6749 §3.2).
pub(super) async fn token(State(app): State<App>, request: Request) -> Response {
    serve(request, move |r| async move {
        app.server.token_endpoint(r).await
    })
    .await
}

/// The revocation endpoint (RFC 7009).
pub(super) async fn revoke(State(app): State<App>, request: Request) -> Response {
    serve(request, move |r| async move {
        app.server.revocation_endpoint(r).await
    })
    .await
}

/// The introspection endpoint (RFC 7662).
pub(super) async fn introspect(State(app): State<App>, request: Request) -> Response {
    serve(request, move |r| async move {
        app.server.introspection_endpoint(r).await
    })
    .await
}

/// The device authorization endpoint (RFC 8628 §3.1).
pub(super) async fn device_authorization(State(app): State<App>, request: Request) -> Response {
    serve(request, move |r| async move {
        app.server.device_authorization_endpoint(r).await
    })
    .await
}

/// The registration endpoint (RFC 7591 §3).
pub(super) async fn register(State(app): State<App>, request: Request) -> Response {
    serve(request, move |r| async move {
        app.server.registration_endpoint(r).await
    })
    .await
}

/// A client's configuration endpoint (RFC 7592); the library reads the
/// client id from the path.
pub(super) async fn client_configuration(State(app): State<App>, request: Request) -> Response {
    serve(request, move |r| async move {
        app.server.client_configuration_endpoint(r).await
    })
    .await
}

/// The protected resource: `{"sub": …, "scope": …}` for a live token with
/// the required scope — `sub` is the user, or the client for a token it got
/// for itself — or the RFC 6750 §3 refusal.
pub(super) async fn me(State(app): State<App>, request: Request) -> Response {
    let (parts, _body) = request.into_parts();
    let token = match app.validator.validate(&parts, &app.resource_scope).await {
        Ok(token) => token,
        Err(refusal) => return refusal.into_http().map(Body::from),
    };
    let subject = token.subject.as_ref().map(|s| s.as_str());
    let client = token.client_id.as_ref().map(|c| c.as_str());
    let body = serde_json::json!({
        "sub": subject.or(client),
        "scope": token.scope.as_str(),
    });
    let mut response = Response::new(Body::from(body.to_string()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // RFC 6819 §4.6.6: what a token unlocks stays out of shared caches.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
