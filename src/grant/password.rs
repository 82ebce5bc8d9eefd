//! The resource owner password credentials grant (RFC 6749 §4.3) — off by
//! default, and discouraged.
//!
//! RFC 9700 §2.4 says it MUST NOT be used, and OAuth 2.1 removes it: the client
//! sees the user's password, the user cannot see what they authorise, and it
//! rules out multi-factor login. It exists here for migrating legacy clients.
//! It runs only when the server registers a [`PasswordGrant`] *and* the
//! client's registration includes the `password` grant type.

use std::future::Future;

use super::{GrantContext, GrantHandler, Issue};
use crate::client::{Admission, AuthLimiter, MemoryLimiter};
use crate::endpoint::TokenError;
use crate::protocol::{GrantType, TokenResponse};
use crate::store::{StoreError, Subject};

/// Checks a resource owner's credentials: the host's user store.
pub trait ResourceOwnerVerifier: Send + Sync + 'static {
    /// The subject the credentials belong to, or `None` if they are wrong.
    /// MUST compare passwords in constant time against a slow hash.
    fn verify(
        &self,
        username: &str,
        password: &str,
    ) -> impl Future<Output = Result<Option<Subject>, StoreError>> + Send;
}

/// `grant_type=password` (RFC 6749 §4.3), with failed attempts throttled both
/// per user and per client (RFC 6819 §4.4.3.6, §5.1.4.2.3).
#[derive(Debug)]
pub struct PasswordGrant<V, L = MemoryLimiter> {
    verifier: V,
    limiter: L,
}

impl<V: ResourceOwnerVerifier> PasswordGrant<V> {
    /// The grant, checking credentials with `verifier`, throttled by a
    /// [`MemoryLimiter`] with the default policy.
    pub fn new(verifier: V) -> Self {
        Self {
            verifier,
            limiter: MemoryLimiter::default(),
        }
    }
}

impl<V: ResourceOwnerVerifier, L: AuthLimiter> PasswordGrant<V, L> {
    /// The grant with another limiter (shared across replicas, say).
    pub fn with_limiter<M: AuthLimiter>(self, limiter: M) -> PasswordGrant<V, M> {
        PasswordGrant {
            verifier: self.verifier,
            limiter,
        }
    }
}

fn throttled(retry_after: std::time::Duration) -> TokenError {
    TokenError::Throttled { retry_after }
}

impl<V: ResourceOwnerVerifier, L: AuthLimiter> GrantHandler for PasswordGrant<V, L> {
    fn grant_type(&self) -> GrantType {
        GrantType::PASSWORD
    }

    async fn handle(&self, ctx: GrantContext<'_>) -> Result<TokenResponse, TokenError> {
        let username = ctx.required_param("username")?;
        let password = ctx.required_param("password")?;
        let now = ctx.now();
        let user_key = format!("user:{username}");
        let client_key = format!("password-client:{}", ctx.client().id());
        for key in [&user_key, &client_key] {
            if let Admission::Refuse { retry_after } = self.limiter.check(key, now).await? {
                tracing::warn!(target: "portcullis::security", event = "password_grant_throttled", key = ?key);
                return Err(throttled(retry_after));
            }
        }
        let Some(subject) = self.verifier.verify(username, password).await? else {
            tracing::warn!(
                target: "portcullis::security",
                event = "password_grant_failed",
                client_id = %ctx.client().id(),
            );
            self.limiter.record_failure(&user_key, now).await?;
            self.limiter.record_failure(&client_key, now).await?;
            return Err(TokenError::InvalidGrant(
                "invalid resource owner credentials".into(),
            ));
        };
        let mut issue = Issue::for_subject(subject, ctx.scope_or_default());
        if ctx.refresh_tokens_allowed() {
            issue = issue.with_refresh_token();
        }
        ctx.issue(issue).await
    }
}
