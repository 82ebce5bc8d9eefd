//! The host's part of the authorization endpoint: sign-in and consent.

use std::future::Future;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{self, HeaderValue};
use http::request::Parts;

use crate::endpoint::{
    Approval, InteractionRequired, PendingAuthorization, html_escape, secure_page_headers,
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
