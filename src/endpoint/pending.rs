//! A validated authorization request waiting for the resource owner's
//! decision, as the host holds it, and why a decision fails. Both the
//! authorization endpoint (`authorize`) and its OpenID Connect part
//! (`authentication`) use them.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::client::Client;
use crate::protocol::Scope;
use crate::protocol::openid::{ClaimsRequest, Display, Prompt};
pub use crate::store::ResponseType;
use crate::store::{IdTokenHint, OpenIdRequest, PendingAuthorizationRecord, StoreError};

/// A validated authorization request waiting for the resource owner.
///
/// Only [`AuthorizationServer::authorization_request`](super::AuthorizationServer::authorization_request) and
/// [`AuthorizationServer::pending_authorization`](crate::AuthorizationServer::pending_authorization) make one, so nothing
/// unvalidated can be approved. It is decided once: [`approve`] and [`deny`]
/// take it by value, and one that was [deferred](crate::AuthorizationServer::defer)
/// is also taken from the store, atomically, when decided.
///
/// A request decided while it is still in hand — the user is signed in and
/// the host needs no consent page, say — never touches the store. One whose
/// decision comes on a later request (the consent form's POST) is kept in the
/// store by [`AuthorizationServer::defer`](crate::AuthorizationServer::defer), which gives the handle to put in
/// the form. Hold one in hand only while handling one HTTP request: a stored
/// request expires, and goes with its client when the client is deleted; one
/// in hand is decided as it was validated.
///
/// [`approve`]: crate::AuthorizationServer::approve
/// [`deny`]: crate::AuthorizationServer::deny
pub struct PendingAuthorization {
    /// The handle, once the request is in the store.
    pub(super) handle: Option<String>,
    /// The request; its `hash` is the handle's, and meaningful only once
    /// `handle` is set.
    pub(super) record: PendingAuthorizationRecord,
    pub(super) client: Arc<Client>,
}

impl PendingAuthorization {
    /// The handle of a request kept in the store — to put in the consent form
    /// (a hidden field), and to pass to
    /// [`AuthorizationServer::pending_authorization`](crate::AuthorizationServer::pending_authorization) when the form comes back
    /// — or `None` for one not [deferred](crate::AuthorizationServer::defer).
    /// Unguessable (256 bits); the host's own CSRF protection on the form is
    /// still needed, to bind the decision to the user's session.
    pub fn id(&self) -> Option<&str> {
        self.handle.as_deref()
    }

    /// The client asking, for the consent page (its name, say).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The scope asked for (within the client's allowed scope).
    pub fn scope(&self) -> &Scope {
        &self.record.scope
    }

    /// What the client asked for.
    pub fn response_type(&self) -> ResponseType {
        self.record.response_type
    }

    /// Where the response will go.
    pub fn redirect_uri(&self) -> &str {
        &self.record.redirect_uri
    }

    /// When the request stops accepting a decision.
    pub fn expires_at(&self) -> SystemTime {
        self.record.expires_at
    }
}

/// Rich authorization requests (RFC 9396).
impl PendingAuthorization {
    /// The authorization details asked for (RFC 9396 §2), for the consent
    /// page to show; empty when none were. Each is of a type the server and
    /// the client accept, checked by the type's validator. Approving grants
    /// them all, unchanged: an approval cannot narrow them (deny instead).
    pub fn authorization_details(&self) -> &crate::protocol::AuthorizationDetails {
        &self.record.authorization_details
    }
}

impl fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("client", self.client.id())
            .field("scope", &self.record.scope)
            .field("redirect_uri", &self.record.redirect_uri)
            .field("response_type", &self.record.response_type)
            .field("deferred", &self.handle.is_some())
            .finish_non_exhaustive()
    }
}

/// What an OpenID Connect authentication request asks of the host's
/// sign-in and consent step (Core §3.1.2.1, §3.1.2.3).
impl PendingAuthorization {
    /// The OpenID Connect request, when this is one: the scope includes
    /// `openid` and the server is an OpenID Provider.
    pub fn openid(&self) -> Option<&OpenIdRequest> {
        self.record.openid.as_deref()
    }

    /// `prompt`: empty for a plain OAuth request.
    pub fn prompt(&self) -> Prompt {
        self.openid().map(|o| o.params.prompt).unwrap_or_default()
    }

    /// `max_age`, in seconds.
    pub fn max_age(&self) -> Option<u64> {
        self.openid().and_then(|o| o.params.max_age)
    }

    /// `login_hint`: who the client thinks is signing in (to prefill the
    /// sign-in form, never to skip it).
    pub fn login_hint(&self) -> Option<&str> {
        self.openid().and_then(|o| o.params.login_hint.as_deref())
    }

    /// What a valid `id_token_hint` said: the `sub` the client knows the
    /// End-User by. Approving another End-User fails with
    /// [`DecisionError::SubjectMismatch`].
    pub fn id_token_hint(&self) -> Option<&IdTokenHint> {
        self.openid().and_then(|o| o.hint.as_ref())
    }

    /// `ui_locales`, preferred first.
    pub fn ui_locales(&self) -> &[String] {
        self.openid().map_or(&[], |o| &o.params.ui_locales)
    }

    /// `acr_values`, preferred first.
    pub fn acr_values(&self) -> &[String] {
        self.openid().map_or(&[], |o| &o.params.acr_values)
    }

    /// `display`.
    pub fn display(&self) -> Option<Display> {
        self.openid().and_then(|o| o.params.display)
    }

    /// The `claims` request parameter (Core §5.5): what the consent page may
    /// want to show.
    pub fn claims_request(&self) -> Option<&ClaimsRequest> {
        self.openid().and_then(|o| o.params.claims.as_ref())
    }

    /// Whether the End-User, last signed in at `authenticated_at` (their
    /// session's sign-in; `None` if unknown), must sign in again on this
    /// request: `prompt=login`, or a sign-in more than `max_age` seconds
    /// before the request (Core §3.1.2.1). A sign-in made after the request
    /// always satisfies it, so a host that checks this, shows its sign-in
    /// page, and approves with the new sign-in time passes the same check
    /// in [`approve_with`](crate::AuthorizationServer::approve_with).
    pub fn requires_login(&self, authenticated_at: Option<SystemTime>) -> bool {
        let Some(request) = self.openid() else {
            return false;
        };
        match authenticated_at {
            Some(at) => stale(request, self.record.created_at, at),
            None => request.params.prompt.login() || request.params.max_age.is_some(),
        }
    }
}

/// Whether a sign-in at `authenticated_at` is too old for `request`, made
/// at `requested_at` (Core §3.1.2.1): `prompt=login` wants one after the
/// request; `max_age` one at most that many seconds before it. Measured
/// from the request, not the decision, so the time the End-User spends on
/// the consent page does not count against them; any sign-in after the
/// request satisfies both.
pub(super) fn stale(
    request: &OpenIdRequest,
    requested_at: SystemTime,
    authenticated_at: SystemTime,
) -> bool {
    let params = &request.params;
    if params.prompt.login() && authenticated_at < requested_at {
        return true;
    }
    params
        .max_age
        .is_some_and(|max_age| authenticated_at + Duration::from_secs(max_age) < requested_at)
}

/// Why a decision could not be applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecisionError {
    /// The request was already decided, or expired, or never existed.
    #[error("the authorization request is no longer pending")]
    NotPending,
    /// The scope granted is not within the scope asked for.
    #[error("the granted scope exceeds the requested scope")]
    ScopeNotRequested,
    /// An OpenID Connect request needs to know when the End-User
    /// authenticated — it has `max_age` or `prompt=login`, the client
    /// registered `require_auth_time`, or `auth_time` is an essential claim
    /// — and the approval did not say
    /// ([`Approval::authenticated_at`](super::Approval::authenticated_at)).
    /// The request is still pending.
    #[error("the approval does not say when the end-user authenticated")]
    AuthenticationTimeRequired,
    /// The End-User's sign-in is older than the request allows
    /// (`prompt=login`, `max_age`; OpenID Connect Core 1.0 §3.1.2.1): sign
    /// them in again and approve with the new time. The request is still
    /// pending.
    #[error("the end-user must sign in again")]
    LoginRequired,
    /// The approving End-User is not the one the request's `id_token_hint`
    /// names. The request is still pending.
    #[error("the end-user is not the one id_token_hint names")]
    SubjectMismatch,
    /// The store failed.
    #[error("storage failed")]
    Storage(#[from] StoreError),
}
