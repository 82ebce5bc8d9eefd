//! The consent page and its decision (RFC 6749 §4.1.1–§4.1.2).
//!
//! The page shows the client, the scope asked and where the answer goes;
//! its form carries the pending request's handle and the session's CSRF
//! token (RFC 6819 §4.4.1.8). The library turns the decision into the
//! `303` to the client, with `code` (or `error`), `state` and `iss`.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use portcullis::axum::Reply;
use portcullis::endpoint::{DecisionError, PendingAuthorization};
use serde::Deserialize;

use super::form::Form;
use super::login::{Next, login_page};
use super::openid::approval;
use super::pages::{self, AccessRequest, Consent, form_not_accepted, not_pending, server_error};
use super::session::Session;
use super::{App, AppState};

/// The consent page for `pending`, kept under `handle`.
pub fn consent_page(
    app: &AppState,
    session: &Session,
    pending: &PendingAuthorization,
    handle: &str,
) -> Response {
    let page = Consent {
        notice: None,
        user: session.user().unwrap_or_default(),
        request: AccessRequest::new(pending.client(), pending.scope()),
        redirect_uri: pending.redirect_uri(),
        action: &app.paths.consent,
        handle,
        csrf: session.csrf(),
    };
    pages::render(StatusCode::OK, &page)
}

/// `?request=HANDLE`, where sign-in sends the browser.
#[derive(Deserialize)]
pub struct ViewQuery {
    #[serde(default)]
    request: String,
}

/// `GET`: the consent page, after sign-in, for the browser that signed in
/// for this request.
pub async fn view(
    State(app): State<App>,
    headers: HeaderMap,
    Query(query): Query<ViewQuery>,
) -> Response {
    let session = app.sessions.read(&app.sessions.jar(&headers));
    let Some(session) = session.filter(|s| s.user().is_some() && s.signed_in_for(&query.request))
    else {
        return form_not_accepted();
    };
    match app.server.pending_authorization(&query.request).await {
        Ok(Some(pending)) => consent_page(&app, &session, &pending, &query.request),
        Ok(None) => not_pending(),
        Err(e) => server_error(&e),
    }
}

/// The consent form.
#[derive(Deserialize)]
pub struct DecisionForm {
    request: String,
    csrf: String,
    decision: String,
}

/// `POST`: the user's decision. An approval reports the session's sign-in
/// (for the ID token) and is remembered in the session, for the client's
/// `prompt=none` requests (see `openid`).
pub async fn decide(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Response {
    let jar = app.sessions.jar(&headers);
    // Only the signed-in user, from a form this site gave their browser.
    let Some((approval, session)) = app
        .sessions
        .read(&jar)
        .filter(|s| s.check_csrf(&form.csrf))
        .and_then(|s| Some((approval(&s)?, s)))
    else {
        return form_not_accepted();
    };
    let pending = match app.server.pending_authorization(&form.request).await {
        Ok(Some(pending)) => pending,
        Ok(None) => return not_pending(),
        Err(e) => return server_error(&e),
    };
    let client = pending.client().id().as_str().to_owned();
    let scope = pending.scope().clone();
    let approve = match form.decision.as_str() {
        "approve" => true,
        "deny" => false,
        _ => return pages::message(StatusCode::BAD_REQUEST, "Bad request", "Approve or deny."),
    };
    let decided = if approve {
        app.server.approve_with(pending, approval).await
    } else {
        app.server.deny(pending).await
    };
    match decided {
        Ok(redirect) if approve => {
            let jar = app.sessions.remember_consent(jar, session, &client, &scope);
            (jar, Reply(redirect)).into_response()
        }
        Ok(redirect) => Reply(redirect).into_response(),
        // Only one decision wins: a second (another tab, a replay) finds
        // the request no longer pending.
        Err(DecisionError::NotPending) => not_pending(),
        // The sign-in no longer satisfies the request (OpenID Connect Core
        // 1.0 §3.1.2.1), which stays pending: sign in again for it.
        Err(
            DecisionError::LoginRequired
            | DecisionError::AuthenticationTimeRequired
            | DecisionError::SubjectMismatch,
        ) => {
            let next = Next::Consent(form.request);
            let notice = Some("Sign in again to continue.");
            login_page(&app, &session, &next, notice, StatusCode::OK).await
        }
        Err(e) => server_error(&e),
    }
}
