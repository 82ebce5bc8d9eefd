//! A protected resource's metadata document (RFC 9728) as an
//! `axum::Router`.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::response::IntoResponse;
use axum::routing::any;

use super::response::Reply;
use crate::resource::ProtectedResourceMetadata;

/// An `axum::Router` serving `document` at its
/// [`well_known_path`](ProtectedResourceMetadata::well_known_path) (RFC 9728
/// §3.1), with [`ProtectedResourceMetadata::endpoint`]: `200` and the JSON
/// document to `GET` and `HEAD`, `405` with `Allow: GET, HEAD` to any other
/// method, `404` when the resource identifier has a query the request does
/// not repeat.
///
/// Merge it into the resource server's Router, at the root of the
/// resource's host (do not `nest` it), beside the protected routes whose
/// [`BearerLayer`](crate::tower::BearerLayer) names the same document in its
/// challenges
/// ([`BearerValidator::resource_metadata`](crate::resource::BearerValidator::resource_metadata)).
/// One Router per resource: several merge side by side.
///
/// ```
/// use axum::routing::get;
/// use portcullis::axum::protected_resource_metadata;
/// use portcullis::resource::ProtectedResourceMetadata;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let document = ProtectedResourceMetadata::builder("https://api.example/mcp")
///     .authorization_server("https://auth.example")
///     .scopes_supported("mcp:tools".parse()?)
///     .build()?;
/// // Served at /.well-known/oauth-protected-resource/mcp.
/// let app: axum::Router = axum::Router::new()
///     .route("/mcp", get(|| async { "tools" }))
///     .merge(protected_resource_metadata(document));
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
pub fn protected_resource_metadata<S>(document: ProtectedResourceMetadata) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let path = document.well_known_path().to_owned();
    let document = Arc::new(document);
    Router::new().route(
        &path,
        any(move |request: Request| {
            let document = Arc::clone(&document);
            async move { Reply(document.endpoint(&request)).into_response() }
        }),
    )
}
