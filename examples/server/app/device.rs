//! The device flow's verification page (RFC 8628 §3.3), in two steps:
//!
//! 1. the user enters the code shown on the device, and logs in;
//! 2. the page shows which client asks for what (RFC 8628 §5.4: the user
//!    must see what they authorize), and the user approves or denies.
//!
//! The second form carries the user name and the code with a tag signed over
//! both, so it needs neither a session nor the password again, and decides
//! only for the user who logged in. Code lookups are throttled per user by the
//! library (RFC 8628 §5.1); logins by [`Users`](super::login::Users).

use axum::extract::{Request, State};
use axum::response::Response;
use http::StatusCode;
use portcullis::endpoint::{DecisionError, PendingDeviceAuthorization, UserCodeError};
use portcullis::protocol::Params;

use super::html::{
    LOGIN_FIELDS, access_request, escape, field, hidden, message, notice, page, server_error,
    too_many_attempts,
};
use super::login::LoginError;
use super::oauth::read;
use super::{App, AppState};

/// `GET`: the code form, filled in from `verification_uri_complete`'s
/// `user_code` (RFC 8628 §3.3.1) — still to be confirmed by the user.
pub(super) async fn show(State(app): State<App>, request: Request) -> Response {
    let query = request.uri().query().unwrap_or_default();
    let params = Params::parse(query.as_bytes()).ok();
    let code = params.as_ref().map_or("", |p| field(p, "user_code"));
    code_form(&app, code, None, StatusCode::OK)
}

/// `POST`: step 1 (code and login) or step 2 (the decision).
pub(super) async fn submit(State(app): State<App>, request: Request) -> Response {
    let request = match read(request).await {
        Ok(request) => request,
        Err(too_large) => return too_large,
    };
    match Params::parse(request.body()) {
        Ok(form) if form.contains("confirm") => decide(&app, &form).await,
        Ok(form) => look_up(&app, &form).await,
        Err(_) => message(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The form is malformed.",
        ),
    }
}

/// Step 1: logs the user in and finds the device authorization.
async fn look_up(app: &AppState, form: &Params<'_>) -> Response {
    let code = field(form, "user_code");
    let login = app
        .users
        .check(field(form, "username"), field(form, "password"));
    let user = match login.await {
        Ok(user) => user,
        Err(LoginError::Wrong) => {
            let error = Some("Wrong user name or password.");
            return code_form(app, code, error, StatusCode::FORBIDDEN);
        }
        Err(LoginError::Throttled(wait)) => return too_many_attempts(wait),
        Err(LoginError::Unavailable(e)) => return server_error(&e),
    };
    // Failed lookups are throttled by the user's name: guessing codes needs
    // an account, and each account gets few guesses.
    match app.server.pending_device_authorization(code, &[user]).await {
        Ok(pending) => confirmation(app, &pending, user),
        Err(error) => code_error(app, code, error),
    }
}

/// Step 2: applies the decision of the user step 1 logged in.
async fn decide(app: &AppState, form: &Params<'_>) -> Response {
    let (code, user) = (field(form, "user_code"), field(form, "username"));
    if !app
        .forms
        .verify(&["device", user, code], field(form, "confirm"))
    {
        return message(
            StatusCode::FORBIDDEN,
            "Form not accepted",
            "This form was not sent from this site. Enter the code again.",
        );
    }
    let pending = match app.server.pending_device_authorization(code, &[user]).await {
        Ok(pending) => pending,
        Err(error) => return code_error(app, code, error),
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
        Err(DecisionError::NotPending) => code_error(app, code, UserCodeError::Expired),
        Err(e) => server_error(&e),
    }
}

/// Step 1's form.
fn code_form(app: &AppState, code: &str, error: Option<&str>, status: StatusCode) -> Response {
    let body = format!(
        "{notice}<p>Enter the code your device shows. Only enter a code from a \
         device in front of you: someone else may have sent it to you.</p>\
         <form method=\"post\" action=\"{action}\"><p><label>Code <input \
         name=\"user_code\" value=\"{code}\" autocomplete=\"off\" \
         autocapitalize=\"characters\" required></label></p>{LOGIN_FIELDS}\
         <p><button>Continue</button></p></form>",
        notice = notice(error),
        action = escape(&app.verification_path),
        code = escape(code),
    );
    page(status, "Connect a device", &body)
}

/// Step 2's form: what the device asks for, and the decision.
fn confirmation(app: &AppState, pending: &PendingDeviceAuthorization, user: &str) -> Response {
    let code = pending.user_code();
    let confirm = app.forms.sign(&["device", user, code]);
    let body = format!(
        "{request}<p>Check that your device shows <strong>{shown}</strong>. If you \
         did not start this on a device of yours, deny.</p>\
         <form method=\"post\" action=\"{action}\">{code}{user}{confirm}\
         <p><button name=\"decision\" value=\"approve\">Approve</button> \
         <button name=\"decision\" value=\"deny\">Deny</button></p></form>",
        request = access_request(pending.client(), pending.scope()),
        shown = escape(code),
        action = escape(&app.verification_path),
        code = hidden("user_code", code),
        user = hidden("username", user),
        confirm = hidden("confirm", &confirm),
    );
    page(StatusCode::OK, "Connect a device", &body)
}

/// A failed lookup: the code form again, or the throttle's answer.
fn code_error(app: &AppState, code: &str, error: UserCodeError) -> Response {
    match error {
        UserCodeError::NotFound | UserCodeError::Expired => code_form(
            app,
            code,
            Some("That code is not valid, or has expired. Check the code on your device."),
            StatusCode::BAD_REQUEST,
        ),
        UserCodeError::Throttled { retry_after } => too_many_attempts(retry_after),
        error => server_error(&error),
    }
}
