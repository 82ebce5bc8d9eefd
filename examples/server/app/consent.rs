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

/// `POST`: the user's decision.
pub async fn decide(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Response {
    let session = app.sessions.read(&app.sessions.jar(&headers));
    // Only the signed-in user, from a form this site gave their browser.
    let Some(user) = session
        .as_ref()
        .filter(|s| s.check_csrf(&form.csrf))
        .and_then(Session::user)
    else {
        return form_not_accepted();
    };
    let pending = match app.server.pending_authorization(&form.request).await {
        Ok(Some(pending)) => pending,
        Ok(None) => return not_pending(),
        Err(e) => return server_error(&e),
    };
    let decided = match form.decision.as_str() {
        "approve" => app.server.approve(pending, user, None).await,
        "deny" => app.server.deny(pending).await,
        _ => return pages::message(StatusCode::BAD_REQUEST, "Bad request", "Approve or deny."),
    };
    match decided {
        // Only one decision wins: a second (another tab, a replay) finds
        // the request no longer pending.
        Ok(redirect) => Reply(redirect).into_response(),
        Err(DecisionError::NotPending) => not_pending(),
        Err(e) => server_error(&e),
    }
}
