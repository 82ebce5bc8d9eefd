//! The protected resource, behind the library's `BearerLayer`: the layer
//! validates the token and answers the RFC 6750 refusals; the handler
//! requires its scope and says who the token speaks for.

use axum::Json;
use axum::response::IntoResponse;
use http::header::{self, HeaderValue};
use portcullis::axum::{RequireScope, ScopeRequirement};

/// `read`: the scope `GET /api/me` requires.
pub struct Read;

impl ScopeRequirement for Read {
    const SCOPE: &'static str = "read";
}

/// `{"sub": …, "scope": …}` — `sub` is the user, or the client for a token
/// it got for itself. Without `read`: `403 insufficient_scope`.
pub async fn me(RequireScope(token, _): RequireScope<Read>) -> impl IntoResponse {
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
