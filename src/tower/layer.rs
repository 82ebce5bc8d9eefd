//! [`BearerLayer`] and the [`BearerService`] it wraps services in.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::ResponseFuture;
use crate::protocol::Scope;
use crate::resource::{BearerValidator, TokenSource};

/// A [`Layer`] that puts bearer token validation (RFC 6750) in front of a
/// service: see the [module docs](super).
///
/// Cheap to clone (the validator is shared); it does not need the token
/// source to be `Clone`.
pub struct BearerLayer<S> {
    validator: Arc<BearerValidator<S>>,
    required: Arc<Scope>,
}

impl<S: TokenSource> BearerLayer<S> {
    /// A layer validating each request's token with `validator`, requiring
    /// no particular scope: any active access token passes.
    pub fn new(validator: BearerValidator<S>) -> Self {
        Self {
            validator: Arc::new(validator),
            required: Arc::new(Scope::empty()),
        }
    }

    /// Requires every scope token of `scope` (RFC 6749 §3.3): a token
    /// granting less is refused with `403 insufficient_scope` naming
    /// `scope` (RFC 6750 §3.1). When the validator names its resource
    /// metadata ([`BearerValidator::resource_metadata`], RFC 9728 §5.1),
    /// every refusal's challenge names `scope` too, the `401`s included, so
    /// a client without a token learns what to ask for.
    pub fn require_scope(mut self, scope: Scope) -> Self {
        self.required = Arc::new(scope);
        self
    }

    /// The validator.
    pub fn validator(&self) -> &BearerValidator<S> {
        &self.validator
    }

    /// The scope every request's token must grant; empty for none.
    pub fn required_scope(&self) -> &Scope {
        &self.required
    }
}

impl<S> Clone for BearerLayer<S> {
    fn clone(&self) -> Self {
        Self {
            validator: Arc::clone(&self.validator),
            required: Arc::clone(&self.required),
        }
    }
}

impl<S: TokenSource> fmt::Debug for BearerLayer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerLayer")
            .field("realm", self.validator.realm())
            .field("required_scope", &self.required)
            .finish_non_exhaustive()
    }
}

impl<Inner, S> Layer<Inner> for BearerLayer<S> {
    type Service = BearerService<Inner, S>;

    fn layer(&self, inner: Inner) -> Self::Service {
        BearerService {
            inner,
            validator: Arc::clone(&self.validator),
            required: Arc::clone(&self.required),
        }
    }
}

/// A service that validates each request's bearer token before handing it,
/// with the token's [`TokenInfo`](crate::resource::TokenInfo) and the
/// validator's [`Realm`](crate::resource::Realm) (and
/// [`ResourceMetadataUrl`](crate::resource::ResourceMetadataUrl), if it names
/// one) in its extensions, to the inner service; made by [`BearerLayer`].
pub struct BearerService<Inner, S> {
    inner: Inner,
    validator: Arc<BearerValidator<S>>,
    required: Arc<Scope>,
}

impl<Inner: Clone, S> Clone for BearerService<Inner, S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            validator: Arc::clone(&self.validator),
            required: Arc::clone(&self.required),
        }
    }
}

impl<Inner: fmt::Debug, S: TokenSource> fmt::Debug for BearerService<Inner, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerService")
            .field("inner", &self.inner)
            .field("realm", self.validator.realm())
            .field("required_scope", &self.required)
            .finish_non_exhaustive()
    }
}

impl<Inner, S> BearerService<Inner, S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &Inner {
        &self.inner
    }

    /// The wrapped service, by value.
    pub fn into_inner(self) -> Inner {
        self.inner
    }
}

impl<Inner, S, ReqBody, ResBody> Service<Request<ReqBody>> for BearerService<Inner, S>
where
    Inner: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    Inner::Future: Send + 'static,
    S: TokenSource + 'static,
    ReqBody: Send + 'static,
    ResBody: From<Vec<u8>> + 'static,
{
    type Response = Response<ResBody>;
    type Error = Inner::Error;
    type Future = ResponseFuture<ResBody, Inner::Error>;

    /// Ready when the inner service is: a refused request never reaches it,
    /// but which requests will be refused is not known yet.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The service `poll_ready` readied goes into the future, and a clone
        // takes its place for the next `poll_ready` (tower's guidance for a
        // service called after an await): calling the clone instead would
        // skip its readiness.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let validator = Arc::clone(&self.validator);
        let required = Arc::clone(&self.required);
        ResponseFuture::new(async move {
            // The head only: the body stays unread for the inner service
            // (so a token in a form body, RFC 6750 §2.2, is not seen).
            let (mut parts, body) = request.into_parts();
            match validator.validate(&parts, &required).await {
                Ok(info) => {
                    parts.extensions.insert(info);
                    // So a finer check downstream (a handler's own scope
                    // rule) can refuse with the same challenge:
                    // `BearerError::new(kind, realm)`, with the resource
                    // metadata URL (RFC 9728 §5.1) if the validator names
                    // one.
                    parts.extensions.insert(validator.realm().clone());
                    if let Some(url) = validator.resource_metadata_url() {
                        parts.extensions.insert(url.clone());
                    }
                    inner.call(Request::from_parts(parts, body)).await
                }
                // RFC 6750 §3: the refusal, challenge and all, is the
                // answer; the inner service never sees the request.
                Err(refusal) => Ok(refusal.into_http().map(ResBody::from)),
            }
        })
    }
}
