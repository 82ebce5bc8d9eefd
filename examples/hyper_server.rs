//! The token endpoint and a protected resource on plain hyper 1.x — no web
//! framework — through the core's `http` API and the `tower` feature's
//! [`BearerLayer`].
//!
//! ```text
//! cargo run --example hyper_server --features tower     # prints a client
//! curl -s -u CLIENT_ID:SECRET -d grant_type=client_credentials \
//!     -d scope=profile:read http://127.0.0.1:8082/token
//! curl -s -H 'Authorization: Bearer ACCESS_TOKEN' http://127.0.0.1:8082/api/me
//! ```
//!
//! Everything a host writes is here: read the body with a limit, call the
//! endpoint, send its response as it is. `tests/hyper_server.rs` runs
//! [`serve`] on loopback and drives it over HTTP.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use portcullis::client::{ClientRegistration, ThrottleSource};
use portcullis::grant::ClientCredentialsGrant;
use portcullis::protocol::GrantType;
use portcullis::resource::{BearerValidator, Realm, TokenInfo};
use portcullis::store::MemoryStore;
use portcullis::tower::BearerLayer;
use portcullis::{AuthorizationServer, DEFAULT_MAX_BODY};
use tokio::net::TcpListener;
use tower::{Service, ServiceBuilder, ServiceExt as _};

/// The response body: the core's bytes, as hyper sends them.
type Body = Full<Bytes>;

/// The path of the token endpoint (RFC 6749 §3.2).
pub const TOKEN_PATH: &str = "/token";
/// The path of the protected resource.
pub const RESOURCE_PATH: &str = "/api/me";
/// The scope the resource requires.
pub const RESOURCE_SCOPE: &str = "profile:read";

/// An authorization server for `issuer` on a memory store, serving the
/// client credentials grant (RFC 6749 §4.4).
pub fn authorization_server(issuer: &str) -> Result<AuthorizationServer, portcullis::BuildError> {
    let store = MemoryStore::new();
    AuthorizationServer::builder(issuer)
        .clients(store.clone())
        .tokens(store)
        .grant(ClientCredentialsGrant)
        .build()
}

/// The application: `POST /token`, and `GET /api/me` behind the bearer
/// layer; one service, cloned for each connection.
pub fn app(
    server: AuthorizationServer,
) -> Result<
    impl Service<Request<Incoming>, Response = Response<Body>, Error = Infallible, Future: Send>
    + Clone
    + Send
    + 'static,
    Box<dyn std::error::Error + Send + Sync>,
> {
    // The resource server runs in the authorization server's process, so it
    // looks tokens up directly; elsewhere the source would call the
    // introspection endpoint (RFC 7662).
    let validator = BearerValidator::new(server.clone(), Realm::new("api")?);
    let protected = ServiceBuilder::new()
        .layer(BearerLayer::new(validator).require_scope(RESOURCE_SCOPE.parse()?))
        .service_fn(me);
    Ok(tower::service_fn(move |request: Request<Incoming>| {
        let server = server.clone();
        let protected = protected.clone();
        async move {
            let response = match (request.method(), request.uri().path()) {
                (&Method::POST, TOKEN_PATH) => token(&server, request).await,
                // `oneshot` waits for the layer's (and so the resource's)
                // readiness before calling it.
                (&Method::GET, RESOURCE_PATH) => protected.oneshot(request).await?,
                (_, TOKEN_PATH) => not_allowed("POST"),
                (_, RESOURCE_PATH) => not_allowed("GET"),
                _ => status(StatusCode::NOT_FOUND),
            };
            Ok::<_, Infallible>(response)
        }
    }))
}

/// The token endpoint: the body read up to the limit the server enforces,
/// then the core's answer sent as it is — status, `Cache-Control:
/// no-store`, `WWW-Authenticate` and all (RFC 6749 §5.1, §5.2).
async fn token(server: &AuthorizationServer, request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    // A client cannot make the host buffer more than the endpoint accepts.
    let Ok(collected) = Limited::new(body, DEFAULT_MAX_BODY).collect().await else {
        return status(StatusCode::PAYLOAD_TOO_LARGE);
    };
    let request = Request::from_parts(parts, collected.to_bytes());
    server.token_endpoint(request).await.map(Body::from)
}

/// The protected resource: it runs only for a request whose token the layer
/// validated, and reads what the token grants from the extensions.
async fn me(request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let Some(token) = request.extensions().get::<TokenInfo>() else {
        // Unreachable behind the layer; refuse rather than serve unchecked.
        return Ok(status(StatusCode::INTERNAL_SERVER_ERROR));
    };
    let body = serde_json::json!({
        "client_id": token.client_id.as_ref().map(ToString::to_string),
        "sub": token.subject.as_ref().map(|s| s.as_str()),
        "scope": token.scope.to_string(),
    });
    let mut response = Response::new(Body::from(body.to_string()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // RFC 6819 §4.6.6: a token holder's data stays out of shared caches.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// An empty response with `status`.
fn status(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::default());
    *response.status_mut() = status;
    response
}

/// 405, naming the one method the path serves (RFC 9110 §15.5.6).
fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// Serves `server` on `listener` until the task is dropped: HTTP/1.1, one
/// task per connection.
pub async fn serve(
    listener: TcpListener,
    server: AuthorizationServer,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let app = app(server)?;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: wait rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(with_source(app.clone(), peer));
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                // A client that never finishes its headers does not hold a
                // connection forever.
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
}

/// `app` with each request's peer address as its [`ThrottleSource`]: wrong
/// client secrets are then counted per client and address, so someone
/// elsewhere cannot lock a client out.
fn with_source<S>(
    app: S,
    peer: SocketAddr,
) -> impl Service<Request<Incoming>, Response = Response<Body>, Error = Infallible, Future: Send>
+ Clone
+ Send
+ 'static
where
    S: Service<Request<Incoming>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    let source = ThrottleSource::new(peer.ip().to_string());
    app.map_request(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(source.clone());
        request
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let listener = TcpListener::bind("127.0.0.1:8082").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let server = authorization_server(&url)?;
    let client = server
        .register_client(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .scope(RESOURCE_SCOPE.parse()?),
        )
        .await?;
    println!("serving {url}");
    println!("client_id:     {}", client.client.id());
    if let Some(secret) = &client.secret {
        // Shown this once; a real host hands it to the client's operator.
        println!("client_secret: {}", secret.expose_secret());
    }
    tokio::select! {
        result = serve(listener, server) => result,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
