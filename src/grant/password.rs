//! The resource owner password credentials grant (RFC 6749 §4.3) — off by
//! default, and discouraged.
//!
//! RFC 9700 §2.4 says it MUST NOT be used, and OAuth 2.1 removes it: the client
//! sees the user's password, the user cannot see what they authorise, and it
//! rules out multi-factor login. It exists here for migrating legacy clients.
//! It runs only when the server registers a [`PasswordGrant`] *and* the
//! client's registration includes the `password` grant type.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use super::{GrantContext, GrantHandler, Issue, TokenError};
use crate::client::{Admission, AuthLimiter, MemoryLimiter, Report, SecurityEvents, loggable};
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
///
/// One user's password is checked by one request at a time: a request for a
/// user whose password is being checked already is refused at once
/// (`429`, `Retry-After: 1`), without a check. Otherwise the limiter, which
/// learns of a failure only once the (deliberately slow) check is over,
/// would let every request sent at the same moment guess — as many guesses
/// as the attacker has connections, each time a delay ends — where the
/// policy allows one. A fleet of replicas serialises per replica.
#[derive(Debug)]
pub struct PasswordGrant<V, L = MemoryLimiter> {
    verifier: V,
    limiter: L,
    /// The user keys whose password a request is checking now.
    checking: Mutex<HashSet<String>>,
    /// Failures and refusals, aggregated so an attack cannot flood the logs.
    events: SecurityEvents,
}

impl<V: ResourceOwnerVerifier> PasswordGrant<V> {
    /// The grant, checking credentials with `verifier`, throttled by a
    /// [`MemoryLimiter`] with the default policy.
    pub fn new(verifier: V) -> Self {
        Self {
            verifier,
            limiter: MemoryLimiter::default(),
            checking: Mutex::default(),
            events: SecurityEvents::default(),
        }
    }
}

impl<V: ResourceOwnerVerifier, L: AuthLimiter> PasswordGrant<V, L> {
    /// The grant with another limiter (shared across replicas, say).
    pub fn with_limiter<M: AuthLimiter>(self, limiter: M) -> PasswordGrant<V, M> {
        PasswordGrant {
            verifier: self.verifier,
            limiter,
            checking: self.checking,
            events: self.events,
        }
    }
}

impl<V, L> PasswordGrant<V, L> {
    /// Reports a refused attempt for `key` (`user:<name>` or
    /// `password-client:<id>`), aggregated.
    fn throttled_event(&self, key: &str, now: std::time::SystemTime) {
        if self.events.note("password_grant_throttled", key, now) == Report::First {
            tracing::warn!(
                target: "portcullis::security",
                event = "password_grant_throttled",
                key = ?loggable(key),
            );
        }
    }
}

fn throttled(retry_after: Duration) -> TokenError {
    TokenError::Throttled { retry_after }
}

/// How long a request refused because the same user's password is being
/// checked is told to wait: about what a slow password hash takes.
const CHECK_IN_PROGRESS_RETRY: Duration = Duration::from_secs(1);

/// A user key marked as being checked; unmarked when dropped, so a request
/// cancelled mid-check (its future dropped) releases the user too.
struct Checking<'a> {
    set: &'a Mutex<HashSet<String>>,
    key: String,
}

impl<'a> Checking<'a> {
    /// Marks `key`, or `None` if a request is checking it already.
    fn start(set: &'a Mutex<HashSet<String>>, key: String) -> Option<Self> {
        let mut checking = set.lock().unwrap_or_else(|p| p.into_inner());
        if !checking.insert(key.clone()) {
            return None;
        }
        Some(Self { set, key })
    }

    fn key(&self) -> &str {
        &self.key
    }
}

impl Drop for Checking<'_> {
    fn drop(&mut self) {
        let mut checking = self.set.lock().unwrap_or_else(|p| p.into_inner());
        checking.remove(&self.key);
    }
}

impl<V: ResourceOwnerVerifier, L: AuthLimiter> GrantHandler for PasswordGrant<V, L> {
    fn grant_type(&self) -> GrantType {
        GrantType::PASSWORD
    }

    async fn handle(&self, ctx: GrantContext<'_>) -> Result<TokenResponse, TokenError> {
        let username = ctx.required_param("username")?;
        let password = ctx.required_param("password")?;
        let now = ctx.now();
        let Some(user) = Checking::start(&self.checking, format!("user:{username}")) else {
            self.throttled_event(&format!("user:{username}"), now);
            return Err(throttled(CHECK_IN_PROGRESS_RETRY));
        };
        let user_key = user.key();
        let client_key = format!("password-client:{}", ctx.client().id());
        // Both keys admit the attempt — counting it — before the slow check,
        // or neither does.
        if let Admission::Refuse { retry_after } = self.limiter.admit(user_key, now).await? {
            self.throttled_event(user_key, now);
            return Err(throttled(retry_after));
        }
        if let Admission::Refuse { retry_after } = self.limiter.admit(&client_key, now).await? {
            self.limiter.succeeded(user_key, now).await?;
            self.throttled_event(&client_key, now);
            return Err(throttled(retry_after));
        }
        let Some(subject) = self.verifier.verify(username, password).await? else {
            if self.events.note("password_grant_failed", user_key, now) == Report::First {
                tracing::warn!(
                    target: "portcullis::security",
                    event = "password_grant_failed",
                    client_id = %ctx.client().id(),
                    key = ?loggable(user_key),
                );
            }
            return Err(TokenError::InvalidGrant(
                "invalid resource owner credentials".into(),
            ));
        };
        self.limiter.succeeded(user_key, now).await?;
        self.limiter.succeeded(&client_key, now).await?;
        let mut issue = Issue::for_subject(subject, ctx.scope_or_default());
        if ctx.refresh_tokens_allowed() {
            issue = issue.with_refresh_token();
        }
        ctx.issue(issue).await
    }
}
