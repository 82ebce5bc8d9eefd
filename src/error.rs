//! The error every layer shares: a storage failure.
//!
//! It lives at the bottom of the crate, below both the client registry and
//! the token stores, which fail the same way; its public home is
//! [`store::StoreError`](crate::store::StoreError).

/// A storage failure.
///
/// Every endpoint answers any of these with `server_error` and no detail;
/// the cause goes to the host's `tracing` subscriber.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A record with the same key exists (a duplicate `client_id`, say).
    #[error("a record with this key already exists")]
    Conflict,
    /// The backend failed.
    #[error("storage backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps a backend's error.
    pub fn backend(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Backend(error.into())
    }

    /// Tells the operator why `endpoint` failed (target `portcullis`), while
    /// the client sees a bare `server_error`.
    pub(crate) fn report(&self, endpoint: &str) {
        tracing::error!(
            target: "portcullis",
            error = %self,
            source = ?std::error::Error::source(self),
            "{endpoint} storage failure",
        );
    }
}
