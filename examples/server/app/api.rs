//! The protected resource, behind the library's `BearerLayer`: the layer
//! validates the token, requires `read` and answers the RFC 6750 refusals,
//! naming the resource's RFC 9728 metadata document and the scope in each
//! challenge; the handler says who the token speaks for. The document
//! itself is served beside it.

use axum::Json;
use axum::response::IntoResponse;
use http::header::{self, HeaderValue};
use portcullis::AuthorizationServer;
use portcullis::axum::Token;
use portcullis::jose::Algorithm;
use portcullis::resource::ProtectedResourceMetadata;

/// The scope `GET /api/me` requires.
pub const READ: &str = "read";

/// The resource's RFC 9728 document: the resource is `/api/me` on the
/// issuer's scheme, host and port (whatever the issuer's path), its
/// authorization server this one, its scope `read`, its tokens taken in the
/// `Authorization` header only (as `Bearer`, or as `DPoP` with a proof
/// signed with one of `dpop_algorithms`, RFC 9449 §7). Served at
/// `/.well-known/oauth-protected-resource/api/me`.
pub fn metadata(
    server: &AuthorizationServer,
    path: &str,
    dpop_algorithms: &[Algorithm],
) -> Result<ProtectedResourceMetadata, Box<dyn std::error::Error>> {
    let origin = server.issuer_url().origin().ascii_serialization();
    Ok(
        ProtectedResourceMetadata::builder(format!("{origin}{path}"))
            .authorization_server(server.issuer())
            .scopes_supported(READ.parse()?)
            .resource_name("portcullis example API")
            .dpop_signing_alg_values_supported(dpop_algorithms.iter().map(|a| a.as_str()))
            .build()?,
    )
}

/// `{"sub": …, "scope": …}` — `sub` is the user, or the client for a token
/// it got for itself. The layer has checked the token carries `read`.
pub async fn me(Token(token): Token) -> impl IntoResponse {
    let subject = token.subject.as_ref().map(|s| s.as_str());
    let client = token.client_id.as_ref().map(|c| c.as_str());
    let body = serde_json::json!({
        "sub": subject.or(client),
        "scope": token.scope.as_str(),
    });
    // RFC 6819 §4.6.6: what a token unlocks stays out of shared caches.
    let no_store = [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))];
    (no_store, Json(body))
}
