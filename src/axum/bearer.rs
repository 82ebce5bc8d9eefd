//! Extractors for the handlers of a protected resource behind
//! [`BearerLayer`](crate::tower::BearerLayer): the validated token, and a
//! scope rule per handler (RFC 6750 §3.1).

use std::fmt;
use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::protocol::Scope;
use crate::resource::{BearerError, BearerErrorKind, Realm, ResourceMetadataUrl, TokenInfo};

/// The access token of a request that [`BearerLayer`](crate::tower::BearerLayer)
/// validated: its [`TokenInfo`] (client, subject, scope, expiry).
///
/// ```
/// use portcullis::axum::Token;
///
/// async fn me(Token(token): Token) -> String {
///     format!("hello, {:?}", token.subject)
/// }
/// ```
///
/// The layer puts the token in the request's extensions; this reads it.
/// On a route the layer does not cover there is none, and the extractor
/// fails closed with a `500` (and an error in the log): a route meant to be
/// protected that is not is the host's bug, never a way in.
#[derive(Debug, Clone)]
pub struct Token(pub TokenInfo);

/// Why [`Token`] or [`RequireScope`] refused a request.
#[derive(Debug)]
#[non_exhaustive]
pub enum TokenRejection {
    /// The token lacks scope the handler requires: `403
    /// insufficient_scope` with the `WWW-Authenticate: Bearer` challenge
    /// naming the required scope (RFC 6750 §3.1).
    Refused(BearerError),
    /// No [`BearerLayer`](crate::tower::BearerLayer) validated this request:
    /// `500`.
    NotValidated,
    /// A [`ScopeRequirement`]'s scope is not a valid scope: `500`.
    InvalidRequirement(&'static str),
}

impl fmt::Display for TokenRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenRejection::Refused(error) => error.fmt(f),
            TokenRejection::NotValidated => f.write_str(
                "no access token was validated for this route: put it behind a BearerLayer",
            ),
            TokenRejection::InvalidRequirement(scope) => {
                write!(f, "the required scope {scope:?} is not a valid scope")
            }
        }
    }
}

impl std::error::Error for TokenRejection {}

impl IntoResponse for TokenRejection {
    fn into_response(self) -> Response {
        match self {
            TokenRejection::Refused(error) => error.into_response(),
            misconfigured => {
                tracing::error!(error = %misconfigured, "protected resource misconfigured");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Token {
    type Rejection = TokenRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        validated(parts).map(|(token, _)| Token(token.clone()))
    }
}

/// The token and realm the layer left in `parts`.
fn validated(parts: &Parts) -> Result<(&TokenInfo, &Realm), TokenRejection> {
    let token = parts.extensions.get::<TokenInfo>();
    let realm = parts.extensions.get::<Realm>();
    token.zip(realm).ok_or(TokenRejection::NotValidated)
}

/// A scope a handler requires, named as a type for [`RequireScope`].
///
/// ```
/// use portcullis::axum::{RequireScope, ScopeRequirement};
///
/// /// `photos:write`.
/// struct WritePhotos;
///
/// impl ScopeRequirement for WritePhotos {
///     const SCOPE: &'static str = "photos:write";
/// }
///
/// async fn upload(RequireScope(token, ..): RequireScope<WritePhotos>) -> &'static str {
///     "stored"
/// }
/// ```
pub trait ScopeRequirement: Send + Sync + 'static {
    /// The scope tokens required, space-separated (RFC 6749 §3.3): the
    /// token must carry every one.
    const SCOPE: &'static str;
}

/// The access token of a request that [`BearerLayer`](crate::tower::BearerLayer)
/// validated, provided it carries the scope `R` names; otherwise `403
/// insufficient_scope` with the layer's realm and `scope="…"` in the
/// challenge (RFC 6750 §3.1) — and the layer's `resource_metadata` (RFC 9728
/// §5.1), if its validator names one — the inner handler never running.
///
/// For a layer that guards many routes with a common scope
/// ([`BearerLayer::require_scope`](crate::tower::BearerLayer::require_scope)),
/// this adds each handler's own.
pub struct RequireScope<R: ScopeRequirement>(pub TokenInfo, pub PhantomData<R>);

impl<R: ScopeRequirement> fmt::Debug for RequireScope<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RequireScope")
            .field(&self.0)
            .field(&R::SCOPE)
            .finish()
    }
}

impl<R: ScopeRequirement, S: Send + Sync> FromRequestParts<S> for RequireScope<R> {
    type Rejection = TokenRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (token, realm) = validated(parts)?;
        let required: Scope = R::SCOPE
            .parse()
            .map_err(|_| TokenRejection::InvalidRequirement(R::SCOPE))?;
        if !required.is_subset(&token.scope) {
            let kind = BearerErrorKind::InsufficientScope { required };
            let mut refusal = BearerError::new(kind, realm.clone());
            // RFC 9728 §5.1: the layer's metadata URL, in this challenge too.
            if let Some(url) = parts.extensions.get::<ResourceMetadataUrl>() {
                refusal = refusal.with_resource_metadata(url.clone());
            }
            return Err(TokenRejection::Refused(refusal));
        }
        Ok(RequireScope(token.clone(), PhantomData))
    }
}
