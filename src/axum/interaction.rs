//! The host's part of the authorization endpoint: sign-in and consent.

use std::future::Future;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http::{HeaderName, StatusCode};

use crate::endpoint::{
    Approval, InteractionRequired, LogoutRequest, PendingAuthorization, html_escape,
    secure_page_headers,
};
use crate::protocol::OAuthError;

/// What the host answers a validated authorization request with.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// A page for the resource owner: the sign-in form, the consent form.
    /// To decide on a later request (the form's `POST`), the host keeps the
    /// request with [`AuthorizationServer::defer`](crate::AuthorizationServer::defer)
    /// and puts the handle in the form; the form's handler then decides with
    /// [`approve`](crate::AuthorizationServer::approve) or
    /// [`deny`](crate::AuthorizationServer::deny) itself.
    Page(Response),
    /// The resource owner approved `pending` now, as `approval` reports:
    /// the Router issues the code (RFC 6749 §4.1.2) and redirects with
    /// `state` and `iss` (RFC 9207). For an OpenID Connect request the
    /// approval says when the End-User signed in
    /// ([`AuthorizationServer::approve_with`](crate::AuthorizationServer::approve_with)).
    Approve {
        /// The request approved, as [`Interaction::interact`] received it.
        pending: PendingAuthorization,
        /// Who approved, what, and how they authenticated.
        approval: Approval,
    },
    /// `prompt=none` (OpenID Connect Core 1.0 §3.1.2.1) and the request
    /// cannot go on without a page: the Router redirects with
    /// `login_required`, `consent_required`, `account_selection_required`
    /// or `interaction_required`.
    InteractionRequired(PendingAuthorization, InteractionRequired),
    /// The resource owner refused `pending`: the Router redirects with
    /// `access_denied` (RFC 6749 §4.1.2.1).
    Deny(PendingAuthorization),
}

impl Outcome {
    /// The resource owner `subject` approved the whole requested scope.
    pub fn approve(pending: PendingAuthorization, subject: impl Into<String>) -> Self {
        Outcome::Approve {
            pending,
            approval: Approval::new(subject),
        }
    }

    /// The resource owner approved, as `approval` reports (the scope
    /// granted; for OpenID Connect, when and how they signed in).
    pub fn approve_with(pending: PendingAuthorization, approval: Approval) -> Self {
        Outcome::Approve { pending, approval }
    }

    /// `prompt=none` cannot be honoured: see
    /// [`Outcome::InteractionRequired`].
    pub fn interaction_required(pending: PendingAuthorization, why: InteractionRequired) -> Self {
        Outcome::InteractionRequired(pending, why)
    }

    /// The resource owner refused.
    pub fn deny(pending: PendingAuthorization) -> Self {
        Outcome::Deny(pending)
    }

    /// A page for the resource owner.
    pub fn page(page: impl IntoResponse) -> Self {
        Outcome::Page(page.into_response())
    }
}

/// The host's sign-in and consent step of the authorization endpoint
/// (RFC 6749 §3.1, §4.1.1).
///
/// The Router calls [`interact`](Self::interact) only with a request the
/// library has validated — client, redirect URI, response type, scope and
/// PKCE, and for OpenID Connect its `prompt`, `max_age`, `claims` and
/// `id_token_hint` — so the host writes pages, never protocol checks.
///
/// For an OpenID Connect request (`pending.openid()` is `Some`), the host
/// signs the End-User in again when
/// [`pending.requires_login`](PendingAuthorization::requires_login) says so
/// (`prompt=login`, `max_age`), approves with
/// [`Outcome::approve_with`] and an [`Approval`] that says when they signed
/// in, and answers `prompt=none` without a page: with
/// [`Outcome::InteractionRequired`] — a page returned for a `prompt=none`
/// request is replaced by an `interaction_required` redirect. A closure
/// `Fn(PendingAuthorization, Parts) -> impl Future<Output = Outcome>` is an
/// `Interaction` too.
///
/// On an OpenID Provider the Router also hands the host each validated
/// logout request, to end its session: [`end_session`](Self::end_session).
///
/// # Security contract
///
/// Approve only for a resource owner the host has authenticated on this
/// request (its session), and only with that owner's consent: a consent
/// form must be protected against CSRF (RFC 6819 §4.4.1.8). Pages the host
/// renders should carry [`secure_page_headers`] against framing
/// (RFC 6819 §4.4.1.9) and escape what the client registered
/// ([`html_escape`]).
pub trait Interaction: Send + Sync + 'static {
    /// Answers a validated authorization request, with `parts` the request's
    /// method, URI, headers (the session cookie) and extensions.
    fn interact(
        &self,
        pending: PendingAuthorization,
        parts: Parts,
    ) -> impl Future<Output = Outcome> + Send;

    /// The page shown when the request cannot be trusted to redirect —
    /// unknown client, missing or unregistered redirect URI: the browser is
    /// sent nowhere (RFC 6749 §4.1.2.1; RFC 6819 §4.2.4). The default is a
    /// plain `400` HTML page with the error's description, escaped, and the
    /// secure page headers.
    fn rejected(&self, error: &OAuthError, parts: &Parts) -> Response {
        let _ = parts;
        let reason = error.description().unwrap_or(error.code().as_str());
        error_page(
            StatusCode::BAD_REQUEST,
            &format!("The authorization request is invalid: {reason}."),
        )
    }

    /// Answers a validated logout request at the OpenID Provider's logout
    /// endpoint (RP-Initiated Logout 1.0 §2), with `parts` the request's
    /// method, URI, headers (the session cookie) and extensions.
    ///
    /// The host ends its own session — the library keeps none — and
    /// SHOULD ask the End-User first; it MUST ask unless the
    /// `id_token_hint` names the End-User signed in
    /// ([`LogoutRequest::is_hinted_subject`]). To ask, return
    /// [`LogoutOutcome::Page`] with a form that re-posts
    /// [`LogoutRequest::resubmit_fields`] to the logout endpoint with the
    /// host's own fields (its answer, its CSRF token), which come back in
    /// [`LogoutRequest::parameter`]. Once the session is ended, return
    /// [`LogoutOutcome::SignedOut`] with the headers that clear it
    /// (`Set-Cookie`): the Router adds them to the redirect to the relying
    /// party, or to the "signed out" page
    /// ([`AuthorizationServer::end_session`](crate::AuthorizationServer::end_session)).
    ///
    /// The default knows no session, so it ends none and says so: a `501`
    /// page that tells the End-User they may still be signed in, without a
    /// redirect, so that no relying party is told the End-User signed out.
    fn end_session(
        &self,
        logout: LogoutRequest,
        parts: Parts,
    ) -> impl Future<Output = LogoutOutcome> + Send {
        let _ = (logout, parts);
        std::future::ready(LogoutOutcome::Page(error_page(
            StatusCode::NOT_IMPLEMENTED,
            "Signing out is not available here: you may still be signed in.",
        )))
    }

    /// The page shown when a logout request is refused — a bad
    /// `id_token_hint`, an unregistered `post_logout_redirect_uri`: the
    /// browser is sent nowhere (RP-Initiated Logout 1.0 §3, §4). The
    /// default is a plain `400` HTML page with the error's description,
    /// escaped, and the secure page headers.
    fn logout_rejected(&self, error: &OAuthError, parts: &Parts) -> Response {
        let _ = parts;
        let reason = error.description().unwrap_or(error.code().as_str());
        error_page(
            StatusCode::BAD_REQUEST,
            &format!("The logout request is invalid: {reason}."),
        )
    }
}

/// What the host answers a validated logout request with
/// ([`Interaction::end_session`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum LogoutOutcome {
    /// A page for the End-User: the question whether to sign out, say.
    /// Nothing is ended and nobody is redirected.
    Page(Response),
    /// The host has ended the End-User's session: the Router answers with
    /// [`AuthorizationServer::end_session`](crate::AuthorizationServer::end_session)
    /// — the redirect to the validated `post_logout_redirect_uri` with
    /// `state`, or the "signed out" page — with `headers` added.
    SignedOut {
        /// The request answered, as [`Interaction::end_session`] received
        /// it.
        logout: LogoutRequest,
        /// Headers added to the response, such as the `Set-Cookie` that
        /// clears the session cookie or a `Clear-Site-Data`.
        headers: HeaderMap,
    },
}

impl LogoutOutcome {
    /// A page for the End-User.
    pub fn page(page: impl IntoResponse) -> Self {
        LogoutOutcome::Page(page.into_response())
    }

    /// The host's session is ended, with nothing to clear in the browser
    /// (a server-side session already deleted, say).
    pub fn signed_out(logout: LogoutRequest) -> Self {
        LogoutOutcome::SignedOut {
            logout,
            headers: HeaderMap::new(),
        }
    }

    /// The host's session is ended; `headers` (a `Set-Cookie` that clears
    /// it) go with the response.
    pub fn signed_out_with<I>(logout: LogoutRequest, headers: I) -> Self
    where
        I: IntoIterator<Item = (HeaderName, HeaderValue)>,
    {
        LogoutOutcome::SignedOut {
            logout,
            headers: headers.into_iter().collect(),
        }
    }
}

impl<F, Fut> Interaction for F
where
    F: Fn(PendingAuthorization, Parts) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send,
{
    fn interact(
        &self,
        pending: PendingAuthorization,
        parts: Parts,
    ) -> impl Future<Output = Outcome> + Send {
        self(pending, parts)
    }
}

/// A minimal HTML page with `message`, escaped, and the secure page headers.
pub(super) fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Authorization error</title>\
         </head><body><p>{}</p></body></html>",
        html_escape(message)
    );
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_page_headers(response.headers_mut());
    response
}
