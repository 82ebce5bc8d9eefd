//! Every endpoint the server's configuration enables, as one `axum::Router`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Bytes, HttpBody as _, to_bytes};
use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::{Method, StatusCode};

use super::interaction::{Interaction, LogoutOutcome, Outcome, error_page};
use super::response::Reply;
use crate::AuthorizationServer;
use crate::client::ThrottleSource;
use crate::endpoint::{AuthorizationError, DecisionError, LogoutError};
use crate::grant::RequestError;
use crate::protocol::ErrorResponse;

/// An `axum::Router` serving every endpoint `server` enables, at the paths
/// its metadata advertises; `interaction` is the host's sign-in and consent
/// step of the authorization endpoint, and, on an OpenID Provider, its
/// sign-out at the logout endpoint.
///
/// | path | endpoint | when |
/// |---|---|---|
/// | [`metadata_path`](AuthorizationServer::metadata_path) | metadata (RFC 8414 §3) | always |
/// | `token_endpoint` | token (RFC 6749 §3.2) | always |
/// | `revocation_endpoint` | revocation (RFC 7009) | always |
/// | `introspection_endpoint` | introspection (RFC 7662) | always |
/// | `authorization_endpoint` | authorization (RFC 6749 §3.1) | a grant needs it |
/// | `device_authorization_endpoint` | device authorization (RFC 8628 §3.1) | the device grant is served |
/// | `pushed_authorization_request_endpoint` | pushed authorization requests (RFC 9126 §2) | a grant needs the authorization endpoint |
/// | `registration_endpoint`, and `…/{client_id}` beneath it | registration (RFC 7591), client configuration (RFC 7592) | registration is enabled |
/// | [`openid_configuration_path`](AuthorizationServer::openid_configuration_path) | OpenID Provider configuration (Discovery 1.0 §4) | the server is an OpenID Provider |
/// | `userinfo_endpoint` | UserInfo (OpenID Connect Core 1.0 §5.3) | the server is an OpenID Provider |
/// | `end_session_endpoint` | logout (RP-Initiated Logout 1.0 §2), answered by [`Interaction::end_session`] | the server is an OpenID Provider |
///
/// Each path is the advertised URL's path, so an issuer with a path
/// (`https://auth.example/tenant1`) is served under it, and its metadata at
/// `/.well-known/oauth-authorization-server/tenant1` (RFC 8414 §3.1). Mount
/// the Router at the root of the issuer's host (merge it with the host's
/// own routes; do not `nest` it). Should two endpoints be configured at one
/// path, the first in the table above is served there.
///
/// Every method reaches the library's endpoint, which answers a wrong one
/// with `405` and `Allow` (the authorization and logout endpoints: `GET,
/// POST`), so the Router never answers a `405` or `404` of its own on these
/// paths. Bodies are read up to the server's
/// [`max_body`](AuthorizationServer::max_body); a larger one gets the
/// library's `413` JSON error — at once when its `Content-Length` says so.
/// Responses pass through with every header intact.
///
/// The Router is not a server: it cannot close a connection. The host's
/// server must bound how long a client may take to send a request's head
/// (hyper's `header_read_timeout`, which `axum::serve` does not set), how
/// long it may pause in a body and take over a request (`tower-http`'s
/// `RequestBodyTimeoutLayer` and `TimeoutLayer` around this Router), and how
/// many connections are open at once. The example server
/// (`examples/server/app/serve.rs`) sets all three, and the README's axum
/// section shows how.
///
/// A request's extensions reach the endpoints. Client authentication is
/// throttled per [`ThrottleSource`] (RFC 6819 §5.1.4.2.3): a request that
/// carries none gets one from the peer's address
/// ([`ThrottleSource::from_ip`]) when the Router is served with connection
/// info — `axum::serve(listener,
/// router.into_make_service_with_connect_info::<SocketAddr>())`. A host
/// behind a reverse proxy it trusts inserts its own `ThrottleSource` (the
/// client's address from the proxy) in a layer instead.
pub fn router<I: Interaction>(server: AuthorizationServer, interaction: I) -> Router {
    let metadata = server.metadata();
    let interaction = Arc::new(interaction);
    let mut routes = Routes::default();

    let limit = server.max_body();
    routes.add(server.metadata_path(), {
        let server = server.clone();
        move |request: Request| {
            let server = server.clone();
            async move { Reply(server.metadata_endpoint(request)).into_response() }
        }
    });
    routes.add_buffered(&server, metadata.token_endpoint.path(), |s, r| async move {
        s.token_endpoint(r).await
    });
    if let Some(url) = &metadata.jwks_uri {
        let server = server.clone();
        routes.add(url.path(), move |request: Request| {
            let server = server.clone();
            async move { Reply(server.jwks_endpoint(request)).into_response() }
        });
    }
    if let Some(url) = &metadata.revocation_endpoint {
        routes.add_buffered(&server, url.path(), |s, r| async move {
            s.revocation_endpoint(r).await
        });
    }
    if let Some(url) = &metadata.introspection_endpoint {
        routes.add_buffered(&server, url.path(), |s, r| async move {
            s.introspection_endpoint(r).await
        });
    }
    if let Some(url) = &metadata.authorization_endpoint {
        let server = server.clone();
        let interaction = Arc::clone(&interaction);
        routes.add(url.path(), move |request: Request| {
            let server = server.clone();
            let interaction = Arc::clone(&interaction);
            async move { authorize(&server, &*interaction, request).await }
        });
    }
    if let Some(url) = &metadata.device_authorization_endpoint {
        routes.add_buffered(&server, url.path(), |s, r| async move {
            s.device_authorization_endpoint(r).await
        });
    }
    if let Some(url) = &metadata.pushed.pushed_authorization_request_endpoint {
        routes.add_buffered(&server, url.path(), |s, r| async move {
            s.pushed_authorization_request_endpoint(r).await
        });
    }
    if let Some(url) = &metadata.registration_endpoint {
        routes.add_buffered(&server, url.path(), |s, r| async move {
            s.registration_endpoint(r).await
        });
        // RFC 7592 §2: each client's configuration endpoint is
        // `{registration_endpoint}/{client_id}`; the library reads the
        // client_id from the path's last segment itself.
        let base = escape(url.path().trim_end_matches('/'));
        let path = format!("{base}/{{client_id}}");
        let server = server.clone();
        routes.router = routes.router.route(
            &path,
            any(move |request: Request| {
                let server = server.clone();
                async move {
                    serve_buffered(request, limit, |r| async move {
                        server.client_configuration_endpoint(r).await
                    })
                    .await
                }
            }),
        );
        routes.paths.push(path);
    }
    if let Some(openid) = &metadata.openid {
        // Discovery §4.1: appended to the issuer's path, not inserted.
        routes.add(server.openid_configuration_path(), {
            let server = server.clone();
            move |request: Request| {
                let server = server.clone();
                async move { Reply(server.openid_configuration_endpoint(request)).into_response() }
            }
        });
        routes.add_buffered(
            &server,
            openid.userinfo_endpoint.path(),
            |s, r| async move { s.userinfo_endpoint(r).await },
        );
        let server = server.clone();
        routes.add(
            openid.end_session_endpoint.path(),
            move |request: Request| {
                let server = server.clone();
                let interaction = Arc::clone(&interaction);
                async move { end_session(&server, &*interaction, request).await }
            },
        );
    }
    // Endpoints the configuration leaves off are not routed: a 404, as for
    // any unknown path.
    routes.router
}

/// The routes being built, and their paths, so that none is added twice
/// (axum refuses a second handler for a path).
#[derive(Default)]
struct Routes {
    router: Router,
    paths: Vec<String>,
}

impl Routes {
    /// Routes every method on `path` to `handler`, unless `path` is taken.
    fn add<H, Fut>(&mut self, path: impl AsRef<str>, handler: H)
    where
        H: Fn(Request) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        let path = escape(path.as_ref());
        if self.paths.contains(&path) {
            return;
        }
        // An endpoint path may be any plain path the builder accepts,
        // including a segment that starts with `:` or `*`; it is literal.
        let router = std::mem::take(&mut self.router).without_v07_checks();
        self.router = router.route(&path, any(handler));
        self.paths.push(path);
    }

    /// Routes `path` to an endpoint that needs the body in memory.
    fn add_buffered<E, Fut>(&mut self, server: &AuthorizationServer, path: &str, endpoint: E)
    where
        E: Fn(AuthorizationServer, http::Request<Bytes>) -> Fut + Copy + Send + Sync + 'static,
        Fut: Future<Output = http::Response<Vec<u8>>> + Send + 'static,
    {
        let server = server.clone();
        self.add(path, move |request: Request| {
            let server = server.clone();
            let limit = server.max_body();
            async move { serve_buffered(request, limit, |r| endpoint(server, r)).await }
        });
    }
}

/// `path` as an axum route that matches it literally: braces are doubled,
/// as axum's route syntax escapes them.
fn escape(path: &str) -> String {
    path.replace('{', "{{").replace('}', "}}")
}

/// The request with its body read into memory — at most `limit` bytes — and
/// its [`ThrottleSource`], or the library's `413`: at once for a body
/// declared larger (`Content-Length`, RFC 9110 §8.6), which is not waited
/// for.
pub(super) async fn buffer(
    request: Request,
    limit: usize,
) -> Result<http::Request<Bytes>, Response> {
    let (mut parts, body) = request.into_parts();
    attach_source(&mut parts.extensions);
    // The header itself: a layer around the Router may wrap the body and
    // hide its length (`tower-http`'s body timeout does).
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
        .unwrap_or(0)
        .max(body.size_hint().lower());
    if declared > u64::try_from(limit).unwrap_or(u64::MAX) {
        return Err(Reply(RequestError::BodyTooLarge.into_http()).into_response());
    }
    match to_bytes(body, limit).await {
        Ok(bytes) => Ok(http::Request::from_parts(parts, bytes)),
        // Over the limit, or unreadable: no endpoint sees a partial body.
        Err(_) => Err(Reply(RequestError::BodyTooLarge.into_http()).into_response()),
    }
}

/// The peer's address as the request's [`ThrottleSource`], unless the host
/// attached one (from a proxy it trusts) or the Router is served without
/// connection info.
fn attach_source(extensions: &mut http::Extensions) {
    if extensions.get::<ThrottleSource>().is_some() {
        return;
    }
    if let Some(ConnectInfo(peer)) = extensions.get::<ConnectInfo<SocketAddr>>() {
        let source = ThrottleSource::from_ip(peer.ip());
        extensions.insert(source);
    }
}

/// Reads the body, then answers with `endpoint`'s response.
async fn serve_buffered<E, Fut>(request: Request, limit: usize, endpoint: E) -> Response
where
    E: FnOnce(http::Request<Bytes>) -> Fut,
    Fut: Future<Output = http::Response<Vec<u8>>>,
{
    match buffer(request, limit).await {
        Ok(request) => Reply(endpoint(request).await).into_response(),
        Err(too_large) => too_large,
    }
}

/// The authorization endpoint (RFC 6749 §3.1): `GET` with a query or `POST`
/// with a form; validated by the library, then the host's interaction.
async fn authorize<I: Interaction>(
    server: &AuthorizationServer,
    interaction: &I,
    request: Request,
) -> Response {
    if request.method() != Method::GET && request.method() != Method::POST {
        return Reply(
            ErrorResponse::method_not_allowed(
                "the authorization endpoint accepts only GET and POST",
                "GET, POST",
            )
            .into_http(),
        )
        .into_response();
    }
    let request = match buffer(request, server.max_body()).await {
        Ok(request) => request,
        Err(too_large) => return too_large,
    };
    let pending = server.authorization_request(&request).await;
    let (parts, _) = request.into_parts();
    match pending {
        Ok(pending) => {
            // OpenID Connect Core 1.0 §3.1.2.1: `prompt=none` shows no page,
            // whatever the host answers.
            let silent = pending
                .prompt()
                .none()
                .then(|| server.interaction_required_response(&pending));
            match (interaction.interact(pending, parts).await, silent) {
                (Outcome::Page(_), Some(refusal)) => Reply(refusal).into_response(),
                (outcome, _) => decide(server, outcome).await,
            }
        }
        // Nothing about the request can be trusted to redirect to: the
        // host's page, and the browser goes nowhere (RFC 6749 §4.1.2.1).
        Err(AuthorizationError::Rejected(error)) => interaction.rejected(&error, &parts),
        // The redirect carrying the error to the client, or a 500.
        Err(other) => other.into_response(),
    }
}

/// The logout endpoint (RP-Initiated Logout 1.0 §2): `GET` with a query
/// or `POST` with a form; validated by the library, then the host's
/// [`Interaction::end_session`].
async fn end_session<I: Interaction>(
    server: &AuthorizationServer,
    interaction: &I,
    request: Request,
) -> Response {
    let request = match buffer(request, server.max_body()).await {
        Ok(request) => request,
        Err(too_large) => return too_large,
    };
    let logout = server.end_session_request(&request).await;
    let (parts, _) = request.into_parts();
    match logout {
        Ok(logout) => match interaction.end_session(logout, parts).await {
            LogoutOutcome::Page(page) => page,
            LogoutOutcome::SignedOut { logout, headers } => {
                let mut response = Reply(server.end_session(logout)).into_response();
                for (name, value) in &headers {
                    response.headers_mut().append(name, value.clone());
                }
                response
            }
        },
        // Never redirected (§3, §4): the host's page.
        Err(LogoutError::Rejected(error)) => interaction.logout_rejected(&error, &parts),
        Err(other) => other.into_response(),
    }
}

/// Applies the host's outcome.
async fn decide(server: &AuthorizationServer, outcome: Outcome) -> Response {
    let decided = match outcome {
        Outcome::Page(page) => return page,
        Outcome::Approve { pending, approval } => server.approve_with(pending, approval).await,
        Outcome::InteractionRequired(pending, why) => {
            server.interaction_required(pending, why).await
        }
        Outcome::Deny(pending) => server.deny(pending).await,
    };
    decision_response(decided)
}

fn decision_response(decided: Result<http::Response<Vec<u8>>, DecisionError>) -> Response {
    match decided {
        Ok(redirect) => Reply(redirect).into_response(),
        Err(DecisionError::NotPending) => error_page(
            StatusCode::BAD_REQUEST,
            "The authorization request is no longer pending.",
        ),
        Err(DecisionError::Storage(e)) => AuthorizationError::Storage(e).into_response(),
        // A scope wider than asked is the host's error, not the user's.
        Err(_) => error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server could not handle the request.",
        ),
    }
}
