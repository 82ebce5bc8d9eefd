//! The authorization endpoint (RFC 6749 §3.1, §4.1): the library validates
//! the request and keeps it; this page shows the client and the scope, and
//! takes the user's name, password and decision.
//!
//! The form carries the pending request's handle and a token signed over it,
//! which must come back both as a form field and as a `SameSite=Strict`
//! cookie: a form posted from another site, or replayed in another browser,
//! decides nothing (RFC 6819 §4.4.1.8). A host with login sessions binds the
//! token to the session instead.

use std::time::SystemTime;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use http::StatusCode;
use http::header::{self, HeaderMap, HeaderValue};
use portcullis::endpoint::{DecisionError, PendingAuthorization};
use portcullis::protocol::Params;

use super::html::{
    LOGIN_FIELDS, access_request, escape, field, hidden, message, notice, page, server_error,
    too_many_attempts,
};
use super::login::LoginError;
use super::oauth::read;
use super::{App, AppState};

/// The cookie that must match the form's `csrf` field.
const CSRF_COOKIE: &str = "consent_csrf";

/// `GET`: an authorization request.
pub(super) async fn show(State(app): State<App>, request: Request) -> Response {
    match read(request).await {
        Ok(request) => start(&app, &request).await,
        Err(too_large) => too_large,
    }
}

/// `POST`: the consent form coming back, or an authorization request sent
/// as a form (RFC 6749 §3.1 allows `POST`).
pub(super) async fn submit(State(app): State<App>, request: Request) -> Response {
    let request = match read(request).await {
        Ok(request) => request,
        Err(too_large) => return too_large,
    };
    match Params::parse(request.body()) {
        Ok(form) if form.contains("request") => decide(&app, &form, request.headers()).await,
        _ => start(&app, &request).await,
    }
}

/// Validates and stores the request, and shows the form; or answers with the
/// library's error: a redirect to the client, or — when the client or the
/// redirect URI cannot be trusted — a `400` page that sends the browser
/// nowhere (RFC 6749 §4.1.2.1).
async fn start(app: &AppState, request: &http::Request<Bytes>) -> Response {
    match app.server.authorization_request(request).await {
        Ok(pending) => consent_form(app, &pending, None, StatusCode::OK),
        Err(error) => error.into_http().map(Body::from),
    }
}

/// Applies the decision: `deny` as it is, `approve` for a user who logs in.
async fn decide(app: &AppState, form: &Params<'_>, headers: &HeaderMap) -> Response {
    let handle = field(form, "request");
    let bound = ["consent", handle];
    let from_this_browser = app.forms.verify(&bound, field(form, "csrf"))
        && cookie(headers, CSRF_COOKIE).is_some_and(|c| app.forms.verify(&bound, c));
    if !from_this_browser {
        return message(
            StatusCode::FORBIDDEN,
            "Form not accepted",
            "This form was not sent from this site. Start again from the application.",
        );
    }
    let pending = match app.server.pending_authorization(handle).await {
        Ok(Some(pending)) => pending,
        Ok(None) => return not_pending(),
        Err(e) => return server_error(&e),
    };
    let decided = match field(form, "decision") {
        "deny" => app.server.deny(pending).await,
        "approve" => {
            let login = app
                .users
                .check(field(form, "username"), field(form, "password"));
            match login.await {
                Ok(user) => app.server.approve(pending, user, None).await,
                Err(LoginError::Wrong) => {
                    let error = Some("Wrong user name or password.");
                    return consent_form(app, &pending, error, StatusCode::FORBIDDEN);
                }
                Err(LoginError::Throttled(wait)) => return too_many_attempts(wait),
                Err(LoginError::Unavailable(e)) => return server_error(&e),
            }
        }
        _ => return message(StatusCode::BAD_REQUEST, "Bad request", "Approve or deny."),
    };
    match decided {
        // The `303` to the client's redirect URI, with `code` (or `error`),
        // `state` and `iss`.
        Ok(redirect) => redirect.map(Body::from),
        Err(DecisionError::NotPending) => not_pending(),
        Err(e) => server_error(&e),
    }
}

/// The consent form, and the cookie that goes with it.
fn consent_form(
    app: &AppState,
    pending: &PendingAuthorization,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let csrf = app.forms.sign(&["consent", pending.id()]);
    let body = format!(
        "{notice}{request_text}<p>Your answer goes to <code>{redirect}</code>.</p>\
         <form method=\"post\" action=\"{action}\">{request}{csrf_field}{LOGIN_FIELDS}\
         <p><button name=\"decision\" value=\"approve\">Approve</button> \
         <button name=\"decision\" value=\"deny\" formnovalidate>Deny</button></p></form>",
        notice = notice(error),
        request_text = access_request(pending.client(), pending.scope()),
        redirect = escape(pending.redirect_uri()),
        action = escape(&app.authorize_path),
        request = hidden("request", pending.id()),
        csrf_field = hidden("csrf", &csrf),
    );
    let mut response = page(status, "Sign in to continue", &body);
    let lifetime = pending
        .expires_at()
        .duration_since(SystemTime::now())
        .map_or(0, |d| d.as_secs());
    let secure = if app.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{CSRF_COOKIE}={csrf}; Path={}; Max-Age={lifetime}; HttpOnly; SameSite=Strict{secure}",
        app.authorize_path
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn not_pending() -> Response {
    message(
        StatusCode::BAD_REQUEST,
        "Request expired",
        "This authorization request was already answered, or has expired. \
         Start again from the application.",
    )
}

/// The value of the cookie `name`.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (n, v) = pair.trim().split_once('=')?;
            (n == name).then_some(v)
        })
}
