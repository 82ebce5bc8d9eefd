//! The device flow's verification page (RFC 8628 §3.3), for a signed-in
//! user, in two steps:
//!
//! 1. the user enters the code shown on the device (filled in from
//!    `verification_uri_complete`, RFC 8628 §3.3.1, but still to be
//!    submitted by the user);
//! 2. the page shows which client asks for what (RFC 8628 §5.4: the user
//!    must see what they authorize), and the user approves or denies.
//!
//! Without a login the browser signs in first and comes back with the code.
//! Both forms carry the session's CSRF token. Code lookups are throttled
//! per user by the library (RFC 8628 §5.1): guessing codes needs an
//! account, and each account gets few guesses.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use portcullis::endpoint::{DecisionError, PendingDeviceAuthorization, UserCodeError};
use serde::Deserialize;

use super::form::Form;
use super::login::{Next, login_page};
use super::pages::{
    self, AccessRequest, DeviceCode, DeviceConfirm, form_not_accepted, server_error,
    too_many_attempts,
};
use super::session::Session;
use super::{App, AppState};

/// The code, from `verification_uri_complete` or the form.
#[derive(Deserialize)]
pub struct CodeQuery {
    #[serde(default)]
    user_code: String,
}

/// `GET`: the code form, or the sign-in page first.
pub async fn show(
    State(app): State<App>,
    headers: HeaderMap,
    Query(query): Query<CodeQuery>,
) -> Response {
    let (jar, session) = app.sessions.read_or_start(app.sessions.jar(&headers));
    let page = if session.user().is_none() {
        let next = Next::Device(query.user_code);
        login_page(&app, &session, &next, None, StatusCode::OK).await
    } else {
        code_form(&app, &session, &query.user_code, None, StatusCode::OK)
    };
    (jar, page).into_response()
}

/// Step 1's form (the code) or step 2's (the decision, too).
#[derive(Deserialize)]
pub struct DeviceForm {
    #[serde(default)]
    user_code: String,
    #[serde(default)]
    csrf: String,
    decision: Option<String>,
}

/// `POST`: step 1 (the code) or step 2 (the decision).
pub async fn submit(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<DeviceForm>,
) -> Response {
    let session = app.sessions.read(&app.sessions.jar(&headers));
    let Some((session, user)) = session
        .as_ref()
        .filter(|s| s.check_csrf(&form.csrf))
        .and_then(|s| Some((s, s.user()?)))
    else {
        return form_not_accepted();
    };
    let code = form.user_code.as_str();
    // Failed lookups are throttled by the user's name.
    let pending = match app.server.pending_device_authorization(code, &[user]).await {
        Ok(pending) => pending,
        Err(error) => return code_error(&app, session, code, error),
    };
    let Some(decision) = form.decision.as_deref() else {
        return confirmation(&app, session, &pending);
    };
    let client = pending
        .client()
        .name()
        .unwrap_or("the application")
        .to_owned();
    let (decided, outcome) = match decision {
        "approve" => (
            app.server.approve_device(pending, user, None).await,
            format!("You approved {client}. Return to your device: it continues by itself."),
        ),
        "deny" => (
            app.server.deny_device(pending).await,
            format!("You denied {client} access. You can close this page."),
        ),
        _ => return pages::message(StatusCode::BAD_REQUEST, "Bad request", "Approve or deny."),
    };
    match decided {
        Ok(()) => pages::message(StatusCode::OK, "Done", &outcome),
        Err(DecisionError::NotPending) => code_error(&app, session, code, UserCodeError::Expired),
        Err(e) => server_error(&e),
    }
}

/// Step 1's form.
fn code_form(
    app: &AppState,
    session: &Session,
    code: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let page = DeviceCode {
        notice: error,
        user: session.user().unwrap_or_default(),
        action: &app.paths.device,
        user_code: code,
        csrf: session.csrf(),
    };
    pages::render(status, &page)
}

/// Step 2's form: what the device asks for, and the decision.
fn confirmation(
    app: &AppState,
    session: &Session,
    pending: &PendingDeviceAuthorization,
) -> Response {
    let page = DeviceConfirm {
        notice: None,
        request: AccessRequest::new(pending.client(), pending.scope()),
        action: &app.paths.device,
        user_code: pending.user_code(),
        csrf: session.csrf(),
    };
    pages::render(StatusCode::OK, &page)
}

/// A failed lookup: the code form again, or the throttle's answer.
fn code_error(app: &AppState, session: &Session, code: &str, error: UserCodeError) -> Response {
    match error {
        UserCodeError::NotFound | UserCodeError::Expired => code_form(
            app,
            session,
            code,
            Some("That code is not valid, or has expired. Check the code on your device."),
            StatusCode::BAD_REQUEST,
        ),
        UserCodeError::Throttled { retry_after } => too_many_attempts(retry_after),
        error => server_error(&error),
    }
}
