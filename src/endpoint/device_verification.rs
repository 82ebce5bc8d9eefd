//! The verification page of the device flow (RFC 8628 §3.3): what the host
//! calls when a logged-in user enters a user code and decides.
//!
//! Two steps, like the authorization endpoint's:
//!
//! 1. [`AuthorizationServer::pending_device_authorization`] looks the code up
//!    and returns a [`PendingDeviceAuthorization`] — the client, its name, the
//!    scope — for the host to show, or a [`UserCodeError`].
//! 2. [`approve_device`](AuthorizationServer::approve_device) or
//!    [`deny_device`](AuthorizationServer::deny_device) applies the user's
//!    decision, atomically and once, in the store; the device learns of it at
//!    its next poll.
//!
//! A `PendingDeviceAuthorization` can only be made by step 1, so the host
//! cannot decide on a code it did not look up, and what is approved — client,
//! scope — comes from the store, not from the page.
//!
//! Guessing user codes, and how throttling answers it, is discussed on
//! [`AuthorizationServer::pending_device_authorization`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::DecisionError;
use super::authorization_server::AuthorizationServer;
use crate::client::{Admission, Client, Report};
use crate::protocol::Scope;
use crate::store::{DeviceAuthorizationRecord, DeviceDecision, DeviceStatus, StoreError, Subject};
use crate::token::UserCode;

/// A device authorization waiting for the user's decision, found by its user
/// code.
///
/// Only [`AuthorizationServer::pending_device_authorization`] makes one.
pub struct PendingDeviceAuthorization {
    record: DeviceAuthorizationRecord,
    client: Arc<Client>,
    user_code: UserCode,
}

impl PendingDeviceAuthorization {
    /// The client asking, for the page: its name, its profile.
    ///
    /// RFC 8628 §5.4: tell the user they are authorizing a device, name it,
    /// and have them confirm it is in their hands.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The scope asked for (within the client's allowed scope).
    pub fn scope(&self) -> &Scope {
        &self.record.scope
    }

    /// The user code, normalised (`XXXX-XXXX`), for the user to compare with
    /// the one on the device — especially when they arrived by
    /// `verification_uri_complete` and typed nothing (RFC 8628 §3.3.1, §5.4).
    pub fn user_code(&self) -> &str {
        self.user_code.expose_secret()
    }

    /// When the codes expire, and the decision with them.
    pub fn expires_at(&self) -> SystemTime {
        self.record.expires_at
    }
}

impl fmt::Debug for PendingDeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingDeviceAuthorization")
            .field("client", self.client.id())
            .field("scope", &self.record.scope)
            .finish_non_exhaustive()
    }
}

/// Why a user code did not lead to a pending device authorization.
///
/// What to show the user: for [`NotFound`](Self::NotFound) and
/// [`Expired`](Self::Expired), "check the code, or start again on the
/// device"; for [`Throttled`](Self::Throttled), "too many attempts, try again
/// in …".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UserCodeError {
    /// No device authorization waits for a decision under this code: it is
    /// malformed, unknown, or already decided.
    #[error("no pending device authorization has this user code")]
    NotFound,
    /// The code was right but has expired.
    #[error("the user code has expired")]
    Expired,
    /// Too many failed lookups for one of the throttle keys; the lookup was
    /// not made.
    #[error("too many failed attempts")]
    Throttled {
        /// How long until the next attempt is allowed.
        retry_after: Duration,
    },
    /// No throttle key was given: lookups are never unthrottled.
    #[error("a throttle key is required")]
    NoThrottleKey,
    /// The store or the limiter failed.
    #[error("storage failed")]
    Storage(#[from] StoreError),
}

/// The limiter key of a host's throttle key, in a namespace of its own in case
/// the host shares one limiter backend between concerns.
fn limiter_key(key: &str) -> String {
    format!("user_code:{key}")
}

impl AuthorizationServer {
    /// Looks up the device authorization for the user code a user entered on
    /// the verification page (RFC 8628 §3.3), for the host to show before the
    /// user decides. Does not consume it.
    ///
    /// `user_code` is normalised first (RFC 8628 §6.1): case does not matter,
    /// dashes and white space are dropped. `throttle_keys` are the keys the
    /// host throttles guessing by — the logged-in user's id, the session, the
    /// client IP; at least one. They are written as they are into the
    /// `user_code_lookup_failed` and `user_code_lookup_throttled` security
    /// events, so pass identifiers, never secrets: a session's identifier in
    /// the host's store, not the session cookie's value. If any key is over
    /// its budget the answer is [`UserCodeError::Throttled`] and no lookup is
    /// made; every other failure is recorded against every key.
    ///
    /// # Guessing user codes (RFC 8628 §5.1, §6.1)
    ///
    /// User codes are typed by people, so they are short: 8 letters from 20,
    /// 20⁸ ≈ 2^34.6 codes. Someone who guesses a live code can approve the
    /// device with *their* account (the device then acts for the attacker; its
    /// owner may not notice). On their own 34.6 bits are guessable, so the rest
    /// of the defence is rate: every failed lookup (unknown, malformed, expired
    /// or already decided code) is recorded against each throttle key the host
    /// passes — the user's account or session, the client IP — in a limiter of
    /// its own ([`ServerBuilder::user_code_limiter`](crate::ServerBuilder::user_code_limiter)),
    /// and a key over its budget is refused without a lookup. With the default
    /// [policy](crate::endpoint::default_user_code_policy) one key gets about 20 guesses
    /// in an hour; with `n` live codes each guess succeeds with probability
    /// `n / 20⁸`, so even 10,000 live codes leave one key about 1 chance in
    /// 130,000 per hour. Codes live 10 minutes by default.
    ///
    /// What per-key throttling cannot stop is many keys: an attacker with many
    /// accounts or addresses gets a budget for each. A host facing that should
    /// require login before the code is entered (so the key is an account), watch
    /// the `user_code_lookup_failed` security events for a rate of failures
    /// across keys, and keep codes short-lived. A longer code is the other lever;
    /// it costs the user typing.
    pub async fn pending_device_authorization(
        &self,
        user_code: &str,
        throttle_keys: &[&str],
    ) -> Result<PendingDeviceAuthorization, UserCodeError> {
        if throttle_keys.is_empty() {
            return Err(UserCodeError::NoThrottleKey);
        }
        let inner = &*self.inner;
        let limiter = &inner.device.limiter;
        let now = inner.clock.now();
        let keys: Vec<String> = throttle_keys.iter().map(|k| limiter_key(k)).collect();
        // Events are aggregated per set of keys (RFC 8628 §5.1: a guesser
        // fails many times; one line per key and minute says as much).
        let event_key = keys.join("\n");
        // Every key admits the lookup — counting it — before it is made, or
        // none does.
        let mut wait = None::<Duration>;
        let mut admitted = Vec::with_capacity(keys.len());
        for key in &keys {
            match limiter.admit(key, now).await? {
                Admission::Allow => admitted.push(key),
                Admission::Refuse { retry_after } => {
                    wait = Some(wait.map_or(retry_after, |w| w.max(retry_after)));
                }
            }
        }
        if let Some(retry_after) = wait {
            for key in admitted {
                limiter.succeeded(key, now).await?;
            }
            if inner
                .device
                .events
                .note("user_code_lookup_throttled", &event_key, now)
                == Report::First
            {
                tracing::warn!(
                    target: "portcullis::security",
                    event = "user_code_lookup_throttled",
                    keys = ?throttle_keys,
                    retry_after_secs = retry_after.as_secs(),
                );
            }
            return Err(UserCodeError::Throttled { retry_after });
        }

        match self.find_pending_device(user_code, now).await? {
            Ok(pending) => {
                for key in &keys {
                    limiter.succeeded(key, now).await?;
                }
                Ok(pending)
            }
            Err(error) => {
                if inner
                    .device
                    .events
                    .note("user_code_lookup_failed", &event_key, now)
                    == Report::First
                {
                    tracing::warn!(
                        target: "portcullis::security",
                        event = "user_code_lookup_failed",
                        keys = ?throttle_keys,
                        reason = %error,
                    );
                }
                Err(error)
            }
        }
    }

    /// The lookup itself; the outer `Err` is a storage failure, the inner one
    /// a failed lookup to record.
    async fn find_pending_device(
        &self,
        user_code: &str,
        now: SystemTime,
    ) -> Result<Result<PendingDeviceAuthorization, UserCodeError>, StoreError> {
        let Some(user_code) = UserCode::parse(user_code) else {
            return Ok(Err(UserCodeError::NotFound));
        };
        let inner = &*self.inner;
        let Some(record) = inner
            .stores
            .devices()?
            .find_device_authorization(&user_code.hash())
            .await?
        else {
            return Ok(Err(UserCodeError::NotFound));
        };
        if record.status != DeviceStatus::Pending {
            return Ok(Err(UserCodeError::NotFound));
        }
        if record.expires_at <= now {
            return Ok(Err(UserCodeError::Expired));
        }
        let Some(client) = inner.clients.find_client(record.client_id.as_str()).await? else {
            return Ok(Err(UserCodeError::NotFound));
        };
        Ok(Ok(PendingDeviceAuthorization {
            record,
            client,
            user_code,
        }))
    }

    /// The user approved: the device authorization is granted to `subject`
    /// with `scope` (`None`: the scope asked for), and the device's next poll
    /// collects the tokens.
    ///
    /// `scope` may narrow what was asked, never widen it
    /// ([`DecisionError::ScopeNotRequested`], checked before anything
    /// changes, so the user can still decide). The decision is applied once,
    /// atomically: if the authorization was decided meanwhile, or expired, the
    /// answer is [`DecisionError::NotPending`].
    pub async fn approve_device(
        &self,
        pending: PendingDeviceAuthorization,
        subject: &str,
        scope: Option<Scope>,
    ) -> Result<(), DecisionError> {
        let scope = scope.unwrap_or_else(|| pending.record.scope.clone());
        if !scope.is_subset(&pending.record.scope) {
            return Err(DecisionError::ScopeNotRequested);
        }
        let decision = DeviceDecision::Approve {
            subject: Subject::new(subject),
            scope,
        };
        self.decide_device(&pending, decision, "device_authorization_approved")
            .await
    }

    /// The user refused: the device's next poll gets `access_denied`
    /// (RFC 8628 §3.5). Applied once, like
    /// [`approve_device`](Self::approve_device).
    pub async fn deny_device(
        &self,
        pending: PendingDeviceAuthorization,
    ) -> Result<(), DecisionError> {
        self.decide_device(
            &pending,
            DeviceDecision::Deny,
            "device_authorization_denied",
        )
        .await
    }

    async fn decide_device(
        &self,
        pending: &PendingDeviceAuthorization,
        decision: DeviceDecision,
        event: &'static str,
    ) -> Result<(), DecisionError> {
        let inner = &*self.inner;
        let decided = inner
            .stores
            .devices()?
            .decide_device_authorization(
                &pending.record.device_code_hash,
                decision,
                inner.clock.now(),
            )
            .await?;
        if !decided {
            return Err(DecisionError::NotPending);
        }
        tracing::info!(
            target: "portcullis::security",
            event,
            client_id = %pending.record.client_id,
        );
        Ok(())
    }
}
