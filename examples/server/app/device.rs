//! The device flow's verification page (RFC 8628 §3.3), for a logged-in
//! user, in two steps:
//!
//! 1. the user enters the code shown on the device (filled in from
//!    `verification_uri_complete`, RFC 8628 §3.3.1, but still to be
//!    submitted by the user);
//! 2. the page shows which client asks for what (RFC 8628 §5.4: the user
//!    must see what they authorize), and the user approves or denies.
//!
//! Without a login the browser signs in first and comes back with the code.
//! Both forms carry CSRF tokens bound to the session (the second also to the
//! code). Code lookups are throttled per user by the library (RFC 8628 §5.1).

use axum::extract::{Request, State};
use axum::response::Response;
use http::StatusCode;
use portcullis::endpoint::{DecisionError, PendingDeviceAuthorization, UserCodeError};
use portcullis::protocol::Params;

use super::html::{
    access_request, escape, field, hidden, message, notice, page, server_error, too_many_attempts,
};
use super::login::{Next, form_not_accepted, login_page};
use super::oauth::read;
use super::session::Session;
use super::{App, AppState};

/// `GET`: the code form, or the sign-in page first.
pub(super) async fn show(State(app): State<App>, request: Request) -> Response {
    let query = request.uri().query().unwrap_or_default();
    let params = Params::parse(query.as_bytes()).ok();
    let code = params.as_ref().map_or("", |p| field(p, "user_code"));
    let session = app.sessions.read_or_start(request.headers());
    if session.user().is_none() {
        let next = Next::Device(code.to_owned());
        return login_page(&app, &session, &next, None, StatusCode::OK).await;
    }
    code_form(&app, &session, code, None, StatusCode::OK)
}

/// `POST`: step 1 (the code) or step 2 (the decision).
pub(super) async fn submit(State(app): State<App>, request: Request) -> Response {
    let request = match read(request).await {
        Ok(request) => request,
        Err(too_large) => return too_large,
    };
    let Ok(form) = Params::parse(request.body()) else {
        return message(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The form is malformed.",
        );
    };
    let session = app.sessions.read(request.headers());
    let Some(session) = session.filter(|s| s.user().is_some()) else {
        return form_not_accepted();
    };
    if form.contains("decision") {
        decide(&app, &session, &form).await
    } else {
        look_up(&app, &session, &form).await
    }
}

/// Step 1: finds the device authorization.
async fn look_up(app: &AppState, session: &Session, form: &Params<'_>) -> Response {
    if !app
        .sessions
        .check_csrf(session, &["device-code"], field(form, "csrf"))
    {
        return form_not_accepted();
    }
    let code = field(form, "user_code");
    let user = session.user().unwrap_or_default();
    // Failed lookups are throttled by the user's name: guessing codes needs
    // an account, and each account gets few guesses.
    match app.server.pending_device_authorization(code, &[user]).await {
        Ok(pending) => confirmation(app, session, &pending),
        Err(error) => code_error(app, session, code, error),
    }
}

/// Step 2: applies the decision.
async fn decide(app: &AppState, session: &Session, form: &Params<'_>) -> Response {
    let code = field(form, "user_code");
    if !app
        .sessions
        .check_csrf(session, &["device", code], field(form, "csrf"))
    {
        return form_not_accepted();
    }
    let user = session.user().unwrap_or_default();
    let pending = match app.server.pending_device_authorization(code, &[user]).await {
        Ok(pending) => pending,
        Err(error) => return code_error(app, session, code, error),
    };
    let client = pending
        .client()
        .name()
        .unwrap_or("the application")
        .to_owned();
    let (decided, outcome) = match field(form, "decision") {
        "approve" => (
            app.server.approve_device(pending, user, None).await,
            format!("You approved {client}. Return to your device: it continues by itself."),
        ),
        "deny" => (
            app.server.deny_device(pending).await,
            format!("You denied {client} access. You can close this page."),
        ),
        _ => return message(StatusCode::BAD_REQUEST, "Bad request", "Approve or deny."),
    };
    match decided {
        Ok(()) => message(StatusCode::OK, "Done", &outcome),
        Err(DecisionError::NotPending) => code_error(app, session, code, UserCodeError::Expired),
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
    let body = format!(
        "{notice}<p>Signed in as <strong>{user}</strong>.</p>\
         <p>Enter the code your device shows. Only enter a code from a \
         device in front of you: someone else may have sent it to you.</p>\
         <form method=\"post\" action=\"{action}\"><p><label>Code <input \
         name=\"user_code\" value=\"{code}\" autocomplete=\"off\" \
         autocapitalize=\"characters\" required></label></p>{csrf}\
         <p><button type=\"submit\">Continue</button></p></form>",
        notice = notice(error),
        user = escape(session.user().unwrap_or_default()),
        action = escape(&app.paths.device),
        code = escape(code),
        csrf = hidden("csrf", &app.sessions.csrf(session, &["device-code"])),
    );
    page(status, "Connect a device", &body)
}

/// Step 2's form: what the device asks for, and the decision.
fn confirmation(
    app: &AppState,
    session: &Session,
    pending: &PendingDeviceAuthorization,
) -> Response {
    let code = pending.user_code();
    let csrf = app.sessions.csrf(session, &["device", code]);
    let body = format!(
        "{request}<p>Check that your device shows <strong>{shown}</strong>. If you \
         did not start this on a device of yours, deny.</p>\
         <form method=\"post\" action=\"{action}\">{code}{csrf}\
         <p><button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></p></form>",
        request = access_request(pending.client(), pending.scope()),
        shown = escape(code),
        action = escape(&app.paths.device),
        code = hidden("user_code", code),
        csrf = hidden("csrf", &csrf),
    );
    page(StatusCode::OK, "Connect a device", &body)
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
