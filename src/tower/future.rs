//! The response future of [`BearerService`](super::BearerService).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The boxed work of one request: validation, then the inner service.
type Boxed<ResBody, E> = Pin<Box<dyn Future<Output = Result<http::Response<ResBody>, E>> + Send>>;

/// Response future of [`BearerService`](super::BearerService): validates
/// the request's bearer token, then runs the inner service's call, or
/// resolves to the RFC 6750 refusal.
///
/// Boxed, because the token source's future has no name
/// ([`TokenSource::token_info`](crate::resource::TokenSource::token_info)
/// returns `impl Future`); one allocation per request.
pub struct ResponseFuture<ResBody, E> {
    inner: Boxed<ResBody, E>,
}

impl<ResBody, E> ResponseFuture<ResBody, E> {
    pub(super) fn new(
        future: impl Future<Output = Result<http::Response<ResBody>, E>> + Send + 'static,
    ) -> Self {
        Self {
            inner: Box::pin(future),
        }
    }
}

impl<ResBody, E> Future for ResponseFuture<ResBody, E> {
    type Output = Result<http::Response<ResBody>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<ResBody, E> fmt::Debug for ResponseFuture<ResBody, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
